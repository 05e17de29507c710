// libFuzzer target: the Markdown splitter, and the bare-code split after it. Invariants:
// segments are inside the answer, in order, do not overlap, and their lines do not decrease; a
// block's code stripped of its container maps back to the same bytes of the answer, or, in an
// HTML block, each decoded character reference to a reference (`&` to `;`) in the block. The
// bare-code split covers exactly the bytes the Markdown split does, and each of its segments
// starts on the line it names. A patch's files (ReadDiff), both sides, map back to the same
// bytes and lines of the answer, within the file's bytes. Whether a text reads as output or prose does not change when it
// is doubled or its lines end in CRLF.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "doppel/markdown.h"

using namespace doppel;

namespace {

// The bytes the segments cover, after checking the invariants every split keeps.
size_t CheckSplit(std::string_view text, const std::vector<Segment>& segments) {
  uint32_t end = 0, line = 1;
  size_t covered = 0;
  for (const Segment& s : segments) {
    if (s.begin > s.end || s.end > text.size() || s.begin < end || s.line < line) std::abort();
    // A contained block's code maps back into the block, byte for byte; an HTML block's decoded
    // references map to references, whole.
    const StrippedCode c = StripContainer(text, s);
    if (c.code.size() > s.end - s.begin) std::abort();
    for (uint32_t x = 0; x < c.code.size(); ++x) {
      const uint32_t at = c.ToAnswer(x, false), to = c.ToAnswer(x + 1, true);
      if (at < s.begin || at >= s.end) std::abort();
      if (text[at] == c.code[x] && to == at + 1) continue;
      if (!s.html || text[at] != '&' || to <= at + 1 || to > s.end || text[to - 1] != ';') std::abort();
    }
    // A patch's files map back into the block byte for byte, each line of a file's code to the
    // answer's line `line` + its index.
    for (const DiffFile& f : ReadDiff(text, s)) {
      if (f.begin > f.end || f.begin < s.begin || f.end > s.end) std::abort();
      for (const StrippedCode* side : {&f.code, &f.old_code}) {
        const std::string& code = side->code;
        uint32_t last = 0, code_line = f.line;
        for (uint32_t x = 0; x < code.size(); ++x) {
          const uint32_t at = side->ToAnswer(x, false);
          if (at < f.begin || at >= f.end || at < last || text[at] != code[x]) std::abort();
          const auto before = text.substr(0, at);
          if (code_line != 1 + std::count(before.begin(), before.end(), '\n')) std::abort();
          code_line += code[x] == '\n';
          last = at;
        }
      }
    }
    covered += s.end - s.begin;
    end = s.end;
    line = s.line;
  }
  return covered;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::vector<Segment> markdown = SplitMarkdown(text);
  const size_t covered = CheckSplit(text, markdown);
  const std::vector<Segment> bare = SplitBareCode(text, markdown);
  if (CheckSplit(text, bare) != covered) std::abort();
  for (const Segment& s : bare) {
    if (!s.bare) continue;
    const auto before = text.substr(0, s.begin);
    if (s.line != 1 + std::count(before.begin(), before.end(), '\n')) std::abort();
    if (s.begin > 0 && text[s.begin - 1] != '\n') std::abort();  // a run starts a line
  }
  // Output or prose is read line by line: the text twice over (a blank line between) reads as
  // the text does, and so does the text with CRLF line ends.
  const bool output = ReadsAsOutputOrProse(text);
  if (ReadsAsOutputOrProse(std::string(text) + "\n\n" + std::string(text)) != output) std::abort();
  std::string crlf;
  for (const char c : text) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  if (ReadsAsOutputOrProse(crlf) != output) std::abort();
  return 0;
}
