// libFuzzer target: the Markdown splitter. Invariants: segments are inside the answer, in
// order, do not overlap, and their lines do not decrease; a block's code stripped of its
// container maps back to the same bytes of the answer.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "doppel/markdown.h"

using namespace doppel;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  uint32_t end = 0, line = 1;
  for (const Segment& s : SplitMarkdown(text)) {
    if (s.begin > s.end || s.end > text.size() || s.begin < end || s.line < line) std::abort();
    // A contained block's code maps back into the block, byte for byte.
    const StrippedCode c = StripContainer(text, s);
    if (c.code.size() > s.end - s.begin) std::abort();
    for (uint32_t x = 0; x < c.code.size(); ++x) {
      const uint32_t at = c.ToAnswer(x, false);
      if (at < s.begin || at >= s.end || text[at] != c.code[x] || c.ToAnswer(x + 1, true) != at + 1) std::abort();
    }
    end = s.end;
    line = s.line;
  }
  return 0;
}
