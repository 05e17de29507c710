// Filter: checks generated answers against an index and returns a Verdict.
//
// Check finds candidates through the winnowed fingerprints (passage containment) and the LSH
// bands (whole-answer near copies), aligns the best candidates against the answer token by
// token (seeds on the same diagonal, chained across small gaps from edits) and turns the spans
// into an action with the thresholds of FilterOptions.
//
// Thread-safety: Check may be called from many threads at once on one Filter.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "doppel/document.h"
#include "doppel/index.h"
#include "doppel/options.h"
#include "doppel/status.h"
#include "doppel/verdict.h"

namespace doppel {

class TokenCache;

// The version of the detection rules: what Check makes of the same tokens and index. A change
// that can alter a verdict changes it, so a scan resumed by another build does not reuse parts
// checked by the old rules (scan's part keys include it, with the index manifest's tokenizer
// and grammar versions).
// v2: equal chains in seed order; v3: every span has renaming and metadata, annotated output;
// v4: candidates tied at the cut ranked by rare spellings, name anchors, verbatim whole blocks;
// v5: a fenced block its tag's grammar does not read cleanly is read again in the language its
// candidates lead to, and as prose when mostly unread; v6: the words of code's comments,
// docstrings and strings are read as prose (FilterOptions::prose_in_code); v7: code outside
// fences is read as code (FilterOptions::bare_code); v8: an answer that is one JSON value is
// read too as what its strings hold (FilterOptions::json_strings); v9: so is a JSON value in an
// untagged fence or on lines of its own outside fences, and a fenced patch is read as its files'
// new sides (FilterOptions::diff_code); v10: a fence tagged with a family's smaller language is
// read again in a larger one its candidates lead to, and an aligned chain cut at a gap reports
// each of its runs that counts (two copies in a row), not only its longest; v11: a span ending in
// a literal over several lines ends on its last line.
inline constexpr std::string_view kMatcherVersion = "match-v11";

// What a verdict depends on besides the index and the answer, as text, for keying results a
// later run may reuse: kMatcherVersion, this build's tokenizer and grammar versions, and the
// settings of `options` that verdicts depend on (thresholds, renaming and evidence rules,
// candidate search, actions). A setting added to FilterOptions that changes verdicts belongs in
// it.
std::string VerdictKey(const FilterOptions& options);

// How to read and judge one answer.
struct CheckRequest {
  // kText: Markdown (prose, and fenced code blocks in their fence's language), or one JSON value
  // whose strings hold such text or code (FilterOptions::json_strings). kCode: the whole
  // answer is code in `language` (a name, fence tag or extension; generic when unknown).
  Kind kind = Kind::kText;
  std::string_view language;
  // Thresholds, actions and messages for this call (a per-request policy); null uses the
  // filter's own. Candidate and cache settings of the filter apply either way.
  const FilterOptions* options = nullptr;
  // A check still running at this time stops with Unavailable (a service's per-request
  // timeout). The check looks at the clock between candidates, so it may overrun by one
  // alignment.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  // Code is read by the first-pass lexer (NewCodeLexer in doppel/code_tokenizer.h) instead of
  // its grammar's parser: several times cheaper, and its tokens differ from the parse's here and
  // there, so spans can differ (lexer_first below is how a caller uses it).
  bool lexed_code = false;
  // A first pass whose flagged answers are checked again in full: the check of a code answer
  // may stop at the first span that alone makes it redact (a consistent copy with the evidence
  // it needs), returning that span with severity kRedact and `partial` set (its score is that
  // span's share of the answer, its output the answer unchanged). Its other spans, and whether
  // it would block, are not known.
  bool stop_when_flagged = false;
  // Two passes: the answer is first checked with its code lexed (and a whole-code answer
  // stopped at its first flagging span), and checked again, parsed, only when that redacts or
  // blocks; the verdict of a flagged answer is always the parse's, and most answers are never
  // parsed. An answer the lexer's tokens do not flag stays with that first verdict (allowed or
  // annotated, with the lexer's spans), so it can miss a copy the parse would flag: over the
  // code quality suite's 3,850 queries, and over the 4,409 files of the scan benchmark, the
  // two agree on every flagged answer (bench/README.md). The scan's default for code; for a
  // Markdown answer only its fenced code is lexed, and its prose is read twice when flagged.
  bool lexer_first = false;
  // kText: the language of a code block without a tag (a fence without one, an indented block,
  // bare code); empty: guessed. Filter::Check sets it when it reads an answer sent as code in a
  // language again as Markdown (the answer held a fenced block).
  std::string_view fence_language;
};

// What a filter's token cache (FilterOptions::token_cache_tokens) holds: its capacity as
// made (the budget split over its shards, so a budget under 16 tokens is none), the tokens and
// documents it keeps now, and its lookups since the filter was opened: a hit spares reading and
// decoding a candidate's tokens from the index. Of the misses, `read_in_place` were large code
// documents read in place, only their part near the answer decoded (FilterOptions::
// code_window_tokens), and not cached. `streams_reused` counts the times such a document's
// stored stream was taken from where an earlier code block of the same answer had read it,
// without reading the index again.
struct TokenCacheStats {
  uint64_t capacity_tokens = 0, tokens = 0, documents = 0, hits = 0, misses = 0, read_in_place = 0;
  uint64_t streams_reused = 0;
};

class Filter {
 public:
  ~Filter();
  // Opens the index in `dir` read-only: a strict snapshot, or with `follow_writer` one that
  // index().Refresh() brings up to date with a running writer (after a strict open has checked
  // the directory). Errors as Index::Open.
  static Result<std::unique_ptr<Filter>> Open(const std::string& dir, const FilterOptions& options,
                                              bool follow_writer = false);
  // The same with the index's open options (read_only is implied), for example a scan's
  // cache_text_postings = false.
  static Result<std::unique_ptr<Filter>> Open(const std::string& dir, const FilterOptions& options,
                                              const IndexOptions& index_options);
  // Wraps an index that is already open (the filter shares it).
  static std::unique_ptr<Filter> FromIndex(std::shared_ptr<Index> index,
                                           const FilterOptions& options);

  // Checks one answer. As kText (the default) the answer is Markdown: prose is read as text
  // and each fenced code block as code in the fence's language (the generic code lexer when the
  // tag is unknown or missing); spans are in offsets and lines of the whole answer. As kCode the
  // whole answer is code in `language` (a name, fence tag or extension; generic when unknown).
  // Fails with InvalidArgument on invalid UTF-8 (naming the byte offset) and with the index's
  // error when a read fails; never throws.
  Result<Verdict> Check(std::string_view text, Kind kind = Kind::kText,
                        std::string_view language = "") const;
  // The same, with a per-call policy and deadline (Unavailable when the deadline passes).
  Result<Verdict> Check(std::string_view text, const CheckRequest& request) const;

  const FilterOptions& options() const { return options_; }
  Index& index() const { return *index_; }
  // The token cache's contents and lookups since the filter was opened (a server's /metrics).
  TokenCacheStats token_cache_stats() const;

 private:
  Filter(std::shared_ptr<Index> index, const FilterOptions& options);
  std::shared_ptr<Index> index_;
  FilterOptions options_;
  DocumentSketcher sketcher_;
  std::unique_ptr<TokenCache> token_cache_;  // tokens of recently aligned documents
};

}  // namespace doppel
