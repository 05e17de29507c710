// Splitting an answer written in Markdown into prose and fenced code blocks.
//
// Generated answers mix prose with fenced code (``` or ~~~, three or more, optionally indented
// by up to three spaces, with an info string whose first word names the language). Each block is
// checked with its own normalization; all offsets stay those of the whole answer. A fence that is
// never closed (an answer still being streamed) runs to the end of the text.
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "doppel/document.h"

namespace doppel {

struct Segment {
  Kind kind = Kind::kText;
  std::string language;  // the fence's info word, lower-cased ("" for prose or no tag)
  uint32_t begin = 0;    // byte range of the content in the whole answer (fence lines excluded)
  uint32_t end = 0;
  uint32_t line = 1;     // 1-based line of `begin`
};

// Segments in order; together with the fence lines they cover the whole text. Empty segments
// are omitted.
std::vector<Segment> SplitMarkdown(std::string_view text);

}  // namespace doppel
