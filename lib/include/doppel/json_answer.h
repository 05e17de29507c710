// Reading an answer that is one JSON value (a model's structured output, a tool call, a chat
// message list) as what its strings hold.
//
// Such an answer holds its code in escaped strings: `{"code": "def f(x):\n    return x"}` is
// one line of prose as written, with `\n` and `\"` as parts of its words. ReadJsonAnswer decodes
// its strings into a Markdown reading: a string whose object names its language (a member
// "language" or "lang", or a file name in "path", "file_path", "filename" … whose extension is
// a language's) becomes a block fenced in that language; one under a key that holds code
// ("code", "source_code", "snippet" …) a block without a tag; any other with a blank in it
// (a message's "content", an "explanation") is Markdown as written, so its fences, <pre> blocks
// and bare code are read as in any answer. A string that is itself one JSON object or array (a
// tool call's "arguments") is read the same way, in turn (to kMaxJsonNesting levels). Strings
// without a blank (ids, names, enum values) are left out. Every byte of the reading maps back to
// the answer (a decoded escape, `\n` or `\\\"` two levels down, maps whole), so spans land on the
// answer's bytes, and a redaction can be written back into the string it lies in, escaped as
// often as the string is nested, which keeps the answer valid JSON.
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "doppel/markdown.h"

namespace doppel {

// How many JSON values inside strings are read, the answer's own included.
inline constexpr int kMaxJsonNesting = 4;
// The most strings (and containers) one JSON value may keep for its reading: a larger one is
// read as written only (a string is kept when it has a blank or an escape in it, or may name
// its object's language).
inline constexpr size_t kMaxJsonStrings = 1 << 16;

struct JsonAnswer {
  // The reading (`map.code`), Markdown, and the way back to the answer's offsets.
  StrippedCode map;
  // The answer is one JSON value; false: a Markdown answer whose JSON values were read
  // in place.
  bool whole = true;
  // The strings read, in the reading's order: their decoded text is map.code[begin, end), and
  // it was escaped `escapes` times in the answer (1 for a string of the answer's own JSON, 2 for
  // one inside a string of it, ...). Fences and blank lines the reading puts between them belong
  // to none. Of an answer not `whole`, the Markdown around its JSON values is parts too, as it
  // is (`escapes` 0, no `pointer`), without the line breaks it ends in (a redaction running from
  // it into a block's string leaves them, so the block's opening fence stays on its own line).
  struct Part {
    uint32_t begin = 0, end = 0;
    int escapes = 1;
    // Where the string is: a JSON Pointer (RFC 6901) per level, the answer's first ("/messages/0/
    // content"; "" for the answer itself a string), then one in the JSON each string holds.
    std::vector<std::string> pointer;
  };
  // The part holding byte `at` of the reading, or null.
  const Part* PartAt(uint32_t at) const;
  std::vector<Part> parts;
};

// The reading of `answer` when it is one JSON object or array (blanks around it allowed; RFC
// 8259, strictly: a control character in a string, a trailing comma or text after the value
// make it none), or the start of one cut short at the end of the text (an answer still being
// streamed, or stopped at its length limit: read as far as it goes, a string to its last whole
// escape), with a string to read. Or a Markdown answer holding such values (a tool call shown in
// an answer): in a fenced block tagged `json`, `jsonc` or `json5` or untagged (in a list item or
// a quote, read without the container's prefix), read in its place fence lines and all; or on
// lines of their own outside fences, from a line that opens the value (after blanks) to one that
// ends it (blanks after it) or to the answer's end, read in their place. The rest of the answer
// is kept as it is. std::nullopt otherwise. Containers nested deeper than 256, or more than kMaxJsonStrings
// strings kept, make it none too.
std::optional<JsonAnswer> ReadJsonAnswer(std::string_view answer);

// A replacement of the reading's bytes [begin, end) by `text`, as the answer's: the bytes of the
// answer they were decoded from, and `text` escaped as the string it lies in was. A replacement
// running over several strings replaces in each its part, `text` in the first. Replacements
// must not overlap; the answer is edited back to front.
struct ReadingEdit {
  uint32_t begin = 0, end = 0;
  std::string text;
};
std::string ApplyToAnswer(const JsonAnswer& reading, std::string_view answer, std::vector<ReadingEdit> edits);

}  // namespace doppel
