// Session: checks an answer while it is being generated. Each Append adds a chunk and returns
// the verdict on the answer so far, so a code assistant can stop generating as soon as the
// answer reproduces protected content, knowing at which offset it did.
//
// A session re-checks the accumulated answer when the new text completes a line or after
// `check_every_bytes` more bytes (not on every token: a check reads the whole answer); in long
// answers checks are spaced by a share of the length (a new line after 1/64 of it, otherwise
// 1/16), so streaming costs a bounded multiple of one check of the whole answer. Finish checks
// it whole. Chunks may split a UTF-8 character; the incomplete tail waits for the
// next chunk. Thread-safety: one thread at a time per session; many sessions may share a Filter.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "doppel/filter.h"

namespace doppel {

struct SessionOptions {
  // How the answer is read (see CheckRequest): Markdown by default, or code in `language`.
  Kind kind = Kind::kText;
  std::string language;
  // Policy for this session; unset uses the filter's options.
  std::optional<FilterOptions> options;
  // The answer may grow to this many bytes; a longer one fails with ResourceExhausted.
  size_t max_bytes = size_t{1} << 20;
  // Re-check when this many bytes arrived since the last check, even without a newline.
  size_t check_every_bytes = 256;
};

struct SessionUpdate {
  Verdict verdict;             // on the first `checked_bytes` bytes of the answer
  size_t checked_bytes = 0;    // the answer's length at the last check
  size_t total_bytes = 0;      // bytes appended so far
  bool checked = false;        // this Append ran a check (else `verdict` is the previous one)
  // Set once the answer first reached redact or block (after the policy's mapping); stays set.
  bool flagged = false;
  // The length in bytes of the shortest prefix of the answer found to flag: at a line end (or
  // within a long line, every check_every_bytes) between the last check that did not flag and
  // the one that did, found by bisection. Generation should stop there; text before it passed.
  size_t flagged_at = 0;
};

class Session {
 public:
  Session(const Filter& filter, SessionOptions options);

  // Adds `chunk` and returns the state. Errors: InvalidArgument for invalid UTF-8 (offset in
  // the whole answer), ResourceExhausted past max_bytes (the chunk is not added), and the
  // filter's errors. `deadline` bounds the check as in CheckRequest.
  // An error leaves the session as it was before the call (the chunk not kept): a refused chunk,
  // or a check past `deadline` (Unavailable), may be sent again.
  Result<SessionUpdate> Append(std::string_view chunk,
                               std::chrono::steady_clock::time_point deadline =
                                   std::chrono::steady_clock::time_point::max());
  // Checks the whole answer (an incomplete UTF-8 character at its end is an error).
  Result<SessionUpdate> Finish(std::chrono::steady_clock::time_point deadline =
                                   std::chrono::steady_clock::time_point::max());

  const std::string& text() const { return text_; }
  const SessionOptions& options() const { return options_; }

 private:
  Result<SessionUpdate> CheckPrefix(size_t end, std::chrono::steady_clock::time_point deadline);

  const Filter& filter_;
  SessionOptions options_;
  std::string text_;
  size_t valid_ = 0;  // text_[0, valid_) is validated UTF-8 ending on a character boundary
  SessionUpdate last_;
};

}  // namespace doppel
