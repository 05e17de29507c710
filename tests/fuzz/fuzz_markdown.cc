// libFuzzer target: the Markdown splitter. Invariants: segments are inside the answer, in
// order, do not overlap, and their lines do not decrease.
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
    end = s.end;
    line = s.line;
  }
  return 0;
}
