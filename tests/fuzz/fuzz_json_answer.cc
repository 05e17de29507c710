// libFuzzer target: reading an answer that is one JSON value, or a Markdown answer's JSON
// blocks, in its strings (ReadJsonAnswer), and writing edits back (ApplyToAnswer). Invariants:
// each string read maps back into the answer in order, a byte copied through to the same byte
// and a decoded escape to a `\` that starts it; and when simdjson accepts the answer, it accepts
// it again after the middle third of every string read is replaced by a text holding a quote, a
// backslash, a line break and a control character (escaped as often as its string is nested),
// and the strings read again hold that text; a Markdown answer's JSON values, so edited, are
// read again, as many strings, holding it. (The edits fall between whole characters, as a
// redaction's lines and tokens do.)
#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "doppel/json_answer.h"

using namespace doppel;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto r = ReadJsonAnswer(text);
  if (!r) return 0;
  const std::string& code = r->map.code;
  std::vector<ReadingEdit> edits;
  const std::string inserted = "<\"\\\n\x01>";
  for (const JsonAnswer::Part& p : r->parts) {
    // (A part of a Markdown answer around its JSON blocks is as it is: no escapes, no pointer.)
    if (p.begin >= p.end || p.end > code.size() || p.escapes < 0 || (p.escapes == 0) != p.pointer.empty()) std::abort();
    if (p.escapes == 0 && r->whole) std::abort();
    uint32_t last = 0;
    for (uint32_t x = p.begin; x < p.end; ++x) {
      const uint32_t at = r->map.ToAnswer(x, false), to = r->map.ToAnswer(x + 1, true);
      if (at < last || to <= at || to > text.size()) std::abort();
      if (to == at + 1 ? text[at] != code[x] : text[at] != '\\') std::abort();
      last = at;
    }
    // (Of a Markdown answer, only its JSON values' strings are edited: edits escaped into them
    // leave its lines as they are, so the same values are read again.)
    if (p.escapes == 0) continue;
    // (At whole characters, as a redaction's lines and tokens are.)
    const uint32_t third = (p.end - p.begin) / 3;
    auto whole = [&](uint32_t x) {
      while (x < p.end && (static_cast<unsigned char>(code[x]) & 0xC0) == 0x80) ++x;
      return x;
    };
    const uint32_t b = whole(p.begin + third), e = whole(p.end - third);
    if (b < e) edits.push_back({b, e, inserted});
  }
  const std::string edited = ApplyToAnswer(*r, text, edits);
  if (!r->whole) {
    const auto again = ReadJsonAnswer(edited);
    auto strings = [](const JsonAnswer& a) {
      return std::count_if(a.parts.begin(), a.parts.end(), [](const JsonAnswer::Part& p) { return p.escapes > 0; });
    };
    if (!again || strings(*again) != strings(*r)) std::abort();
    if (!edits.empty() && again->map.code.find(inserted) == std::string::npos) std::abort();
    return 0;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(std::string(text)).get(root) != simdjson::SUCCESS) return 0;
  if (parser.parse(edited).get(root) != simdjson::SUCCESS) std::abort();
  const auto again = ReadJsonAnswer(edited);
  if (!edits.empty() && (!again || again->map.code.find(inserted) == std::string::npos)) std::abort();
  return 0;
}
