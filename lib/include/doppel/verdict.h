// Verdict: the decision for one checked answer, and the spans that justify it.
// One schema serves the CLI (`doppel-filter check`) and the HTTP API; fields may be added, none
// renamed. Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "doppel/document.h"

namespace doppel {

enum class Action : uint8_t {
  kAllow = 0,     // nothing similar enough to mention
  kAnnotate = 1,  // allowed, with the sources it resembles
  kRedact = 2,    // each offending span replaced by a marker
  kBlock = 3,     // the whole answer replaced by the block message
};

std::string_view ActionName(Action a);

// Redact or block: the answer reproduces protected content (generation should stop, a gate fails).
inline bool Flagging(Action a) { return a == Action::kRedact || a == Action::kBlock; }

// A byte range, half-open, with the 1-based inclusive lines it touches.
struct TextRange {
  uint32_t start = 0;
  uint32_t end = 0;
  uint32_t first_line = 0;
  uint32_t last_line = 0;
};

struct Span {
  TextRange query;              // in the checked answer
  std::string source_name;      // the protected document's name
  uint32_t source_id = 0;
  TextRange source;             // in the protected document's original text
  std::string source_metadata;  // its metadata (JSON object) or ""
  uint32_t matched_tokens = 0;  // query tokens inside shared k-grams of this span
  uint32_t query_tokens = 0;    // query tokens the span covers
  double score = 0;             // matched_tokens / query_tokens
  Kind kind = Kind::kText;      // prose or code (the part of the answer it is in)
  std::string language;         // code: the language the span was read as ("" if generic)
  // Code: share of identifier occurrences consistent with the best one-to-one renaming between
  // the answer's names and the source's over the span (1 = a consistent renaming or identical
  // names); -1 for prose or spans without identifiers.
  double renaming = -1;
  // Code: the aligned identifier pairs whose names differ (a renamed name), as byte ranges of the
  // answer and of the source, in answer order. Not part of the JSON verdict; the scan report
  // marks them.
  struct RenamedName {
    uint32_t query_begin, query_end, source_begin, source_end;
  };
  std::vector<RenamedName> renamed;
  // Code: the runs of the answer's tokens aligned with the source's (byte ranges of the answer,
  // in order): the span may hold tokens that are not, new code between two copied stretches.
  // Not part of the JSON verdict; redaction replaces what lies between the headers of blocks a
  // passage opens only where it was aligned.
  std::vector<std::pair<uint32_t, uint32_t>> aligned;
  // The span reproduces protected content: it counts toward redact and block, and a redacted
  // answer has it replaced. False for code that only resembles its source (names not a
  // consistent renaming, literals that differ, a short shape other protected files share): it
  // is reported, and left in place. In the JSON verdict as "counts": false when false.
  bool counts = true;
  // A span of an answer that is one JSON value, found in its strings (FilterOptions::
  // json_strings): where the string it starts in is, as JSON Pointers (RFC 6901), the answer's
  // first and then one for each string holding JSON it is in ("/tool_calls/0/function/arguments",
  // "/content"), and its lines in that string as decoded (`query` is in the answer's bytes and
  // lines, where a string is one line). Empty otherwise. In the JSON verdict as
  // "query": {..., "json": {"pointer": [...], "lines": [first, last]}}.
  std::vector<std::string> json_pointer;
  uint32_t json_first_line = 0, json_last_line = 0;
};

struct Verdict {
  std::string id;               // the caller's id for the answer, echoed back
  Action action = Action::kAllow;
  // What the thresholds found, before the policy mapped it to `action` (FilterOptions::actions).
  Action severity = Action::kAllow;
  // Share of the answer's tokens inside reported spans (0..1).
  double score = 0;
  // Highest MinHash Jaccard estimate against a candidate, for whole-answer near copies.
  double jaccard = 0;
  // Ordered by query.start, then source_id. A passage that several sources hold equally well
  // (the same answer tokens, the same matched tokens times renaming) has a span for each of them
  // among the aligned candidates (FilterOptions::max_candidates).
  std::vector<Span> spans;
  std::string reason;           // one sentence a person can read
  std::string output;           // the answer as the user should see it
  uint32_t query_tokens = 0;
  // The check stopped at its first flagging span (CheckRequest::stop_when_flagged).
  bool partial = false;
};

// Appends the verdict as one JSON object (no newline). `with_output` adds the "output" field.
void AppendVerdictJson(const Verdict& v, bool with_output, std::string* out);

// The passages `spans` report: their distinct answer ranges (spans of equally good sources of
// one passage share a range).
size_t CountPassages(const std::vector<Span>& spans);
// ... of the spans `take` holds true of.
size_t CountPassages(const std::vector<Span>& spans, const std::function<bool(const Span&)>& take);

}  // namespace doppel
