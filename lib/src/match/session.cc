#include "doppel/session.h"

#include <algorithm>
#include <vector>

#include "doppel/tokenizer.h"

namespace doppel {

namespace {

// Length of the longest prefix of `s` that does not end inside a UTF-8 sequence: a chunk
// boundary may fall between the bytes of one character.
size_t CompletePrefix(std::string_view s) {
  size_t i = s.size();
  size_t back = 0;
  while (i > 0 && back < 4 && (static_cast<unsigned char>(s[i - 1]) & 0xC0) == 0x80) {
    --i;
    ++back;
  }
  if (i == 0) return s.size();
  const unsigned char lead = static_cast<unsigned char>(s[i - 1]);
  size_t need = 1;
  if ((lead & 0xE0) == 0xC0) need = 2;
  else if ((lead & 0xF0) == 0xE0) need = 3;
  else if ((lead & 0xF8) == 0xF0) need = 4;
  // A lead byte whose sequence is not complete yet: hold it (and its continuation bytes) back.
  return need > 1 && back + 1 < need ? i - 1 : s.size();
}

}  // namespace

Session::Session(const Filter& filter, SessionOptions options)
    : filter_(filter), options_(std::move(options)) {}

Result<SessionUpdate> Session::CheckPrefix(size_t end,
                                           std::chrono::steady_clock::time_point deadline) {
  CheckRequest request;
  request.kind = options_.kind;
  request.language = options_.language;
  request.options = options_.options ? &*options_.options : nullptr;
  request.deadline = deadline;
  DOPPEL_ASSIGN_OR_RETURN(Verdict v, filter_.Check(std::string_view(text_).substr(0, end), request));
  const size_t passed = last_.checked_bytes;  // the last check before this one did not flag
  last_.verdict = std::move(v);
  last_.checked_bytes = end;
  last_.checked = true;
  if (!last_.flagged && Flagging(last_.verdict.action)) {
    last_.flagged = true;
    last_.flagged_at = end;
    // Checks are spaced, so the answer may have crossed the threshold well before `end`: find
    // the shortest prefix that flags among the ends of the lines (and, within a long line, of
    // each check_every_bytes) that arrived since the last check, by bisection (a few checks,
    // once per session). A probe past the deadline keeps `end`.
    std::vector<size_t> cuts;
    for (size_t at = passed; at < end;) {
      const size_t nl = text_.find('\n', at);
      size_t next = std::min(nl == std::string::npos ? end : nl + 1, end);
      if (next - at > options_.check_every_bytes) {
        next = at + std::max<size_t>(options_.check_every_bytes, 1);
        while (next < end && (static_cast<unsigned char>(text_[next]) & 0xC0) == 0x80) ++next;
      }
      if (next < end) cuts.push_back(next);
      at = next;
    }
    size_t lo = 0, hi = cuts.size();  // cuts[hi] (or end) flags; the first lo cuts do not
    while (lo < hi) {
      const size_t mid = lo + (hi - lo) / 2;
      Result<Verdict> probe = filter_.Check(std::string_view(text_).substr(0, cuts[mid]), request);
      if (!probe.ok()) break;
      if (Flagging(probe->action)) hi = mid;
      else lo = mid + 1;
    }
    if (hi < cuts.size()) last_.flagged_at = cuts[hi];
  }
  return last_;
}

Result<SessionUpdate> Session::Append(std::string_view chunk,
                                      std::chrono::steady_clock::time_point deadline) {
  if (text_.size() + chunk.size() > options_.max_bytes) {
    return Status::ResourceExhausted("the answer would exceed the session limit of " +
                                     std::to_string(options_.max_bytes) + " bytes");
  }
  DOPPEL_RETURN_IF_ERROR(RefuseNul(chunk, text_.size()));  // refused, not kept
  const size_t before = text_.size(), valid_before = valid_;
  text_.append(chunk);
  const size_t end = CompletePrefix(text_);
  // Validate what arrived since the last complete character; offsets name the whole answer.
  if (Status s = ValidateUtf8(std::string_view(text_).substr(valid_, end - valid_)); !s.ok()) {
    text_.resize(before);  // the bad chunk is not kept: the session stays usable
    return Status::InvalidArgument("answer bytes from offset " + std::to_string(valid_) + ": " +
                                   s.message());
  }
  valid_ = end;
  const bool checked_before = last_.checked;
  last_.checked = false;
  last_.total_bytes = text_.size();
  const size_t fresh = end - last_.checked_bytes;
  if (fresh == 0) return last_;
  const bool new_line =
      std::string_view(text_).substr(last_.checked_bytes, fresh).find('\n') != std::string_view::npos;
  // Each check reads the whole answer, so checks are spaced in proportion to its length (a new
  // line after 1/64 of it, else after max(check_every_bytes, 1/16 of it)): the answer grows
  // geometrically between checks, and streaming it costs a bounded multiple of checking it once
  // (about 65x at most), not the square of its length: 200 KB appended line by line (2,500
  // appends) runs fewer than 400 checks (tests/server_test.cc).
  const bool line_due = new_line && fresh >= end / 64;
  if (!line_due && fresh < std::max(options_.check_every_bytes, end / 16)) return last_;
  auto update = CheckPrefix(end, deadline);
  if (!update.ok()) {  // not checked (past the deadline): the chunk is not kept, so a retry appends it once
    text_.resize(before);
    valid_ = valid_before;
    last_.checked = checked_before;
    last_.total_bytes = before;
  }
  return update;
}

Result<SessionUpdate> Session::Finish(std::chrono::steady_clock::time_point deadline) {
  if (Status s = ValidateUtf8(text_); !s.ok()) return s;
  return CheckPrefix(text_.size(), deadline);  // total_bytes was set by the last Append
}

}  // namespace doppel
