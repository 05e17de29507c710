#include "doppel/verdict.h"

#include <algorithm>
#include <utility>

#include "doppel/format.h"
#include "doppel/tokenizer.h"

namespace doppel {

std::string_view ActionName(Action a) {
  switch (a) {
    case Action::kAllow: return "allow";
    case Action::kAnnotate: return "annotate";
    case Action::kRedact: return "redact";
    case Action::kBlock: return "block";
  }
  return "allow";
}

namespace {
void AppendRange(const TextRange& r, std::string* out) {
  *out += "{\"start\":" + std::to_string(r.start) + ",\"end\":" + std::to_string(r.end) +
          ",\"lines\":[" + std::to_string(r.first_line) + "," + std::to_string(r.last_line) + "]}";
}
}  // namespace

size_t CountPassages(const std::vector<Span>& spans) {
  return CountPassages(spans, [](const Span&) { return true; });
}

size_t CountPassages(const std::vector<Span>& spans, const std::function<bool(const Span&)>& take) {
  std::vector<std::pair<uint32_t, uint32_t>> ranges;
  ranges.reserve(spans.size());
  for (const Span& s : spans) {
    if (take(s)) ranges.emplace_back(s.query.start, s.query.end);
  }
  std::sort(ranges.begin(), ranges.end());
  return static_cast<size_t>(std::unique(ranges.begin(), ranges.end()) - ranges.begin());
}

void AppendVerdictJson(const Verdict& v, bool with_output, std::string* out) {
  *out += "{\"id\":";
  AppendJsonString(out, v.id);
  *out += ",\"action\":\"";
  *out += ActionName(v.action);
  *out += "\",\"severity\":\"";
  *out += ActionName(v.severity);
  *out += "\",\"score\":";
  AppendJsonNumber(out, v.score);
  *out += ",\"jaccard\":";
  AppendJsonNumber(out, v.jaccard);
  *out += ",\"query_tokens\":" + std::to_string(v.query_tokens);
  *out += ",\"spans\":[";
  for (size_t i = 0; i < v.spans.size(); ++i) {
    const Span& s = v.spans[i];
    if (i) out->push_back(',');
    *out += "{\"query\":";
    AppendRange(s.query, out);
    if (!s.json_pointer.empty()) {
      // In a string of a JSON answer: where the string is, and the span's lines in it.
      out->pop_back();
      *out += ",\"json\":{\"pointer\":[";
      for (size_t k = 0; k < s.json_pointer.size(); ++k) {
        if (k) out->push_back(',');
        AppendJsonString(out, s.json_pointer[k]);
      }
      *out += "],\"lines\":[" + std::to_string(s.json_first_line) + "," + std::to_string(s.json_last_line) + "]}}";
    }
    *out += ",\"source\":{\"name\":";
    AppendJsonString(out, s.source_name);
    // A name that is not UTF-8 (a file's) is written with U+FFFD for its bad bytes, so two such
    // names may read alike: its bytes follow as base64, to find the file by.
    if (!ValidateUtf8(s.source_name).ok()) {
      *out += ",\"name_base64\":\"";
      AppendBase64(out, s.source_name);
      out->push_back('"');
    }
    *out += ",\"start\":" + std::to_string(s.source.start) +
            ",\"end\":" + std::to_string(s.source.end) + ",\"lines\":[" +
            std::to_string(s.source.first_line) + "," + std::to_string(s.source.last_line) + "]";
    *out += ",\"metadata\":";  // {} when the document was given none
    *out += s.source_metadata.empty() ? std::string_view("{}") : std::string_view(s.source_metadata);
    *out += "},\"matched_tokens\":" + std::to_string(s.matched_tokens);
    *out += ",\"score\":";
    AppendJsonNumber(out, s.score);
    *out += ",\"kind\":\"";
    *out += KindName(s.kind);
    out->push_back('"');
    if (s.kind == Kind::kCode) {
      *out += ",\"language\":";
      AppendJsonString(out, s.language);
      *out += ",\"renaming\":";
      AppendJsonNumber(out, s.renaming);
    } else {
      *out += ",\"renaming\":null";  // prose has no names to rename
    }
    if (!s.counts) *out += ",\"counts\":false";  // (only resembles its source: reported, left in place)
    out->push_back('}');
  }
  *out += "],\"reason\":";
  AppendJsonString(out, v.reason);
  if (with_output) {
    *out += ",\"output\":";
    AppendJsonString(out, v.output);
  }
  out->push_back('}');
}

}  // namespace doppel
