// Status and Result<T>: how every fallible doppel call reports failure.
//
// A Status is cheap to copy when OK (no allocation) and carries a code and a message otherwise.
// The library never prints, aborts or exits; front-ends map a Status to an exit code or an HTTP
// status in exactly one place. Thread-safety: values, no shared state.
#pragma once

#include <cassert>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace doppel {

class Status {
 public:
  enum class Code : unsigned char {
    kOk = 0,
    kInvalidArgument,   // bad input from the caller: malformed text, JSON, flags
    kNotFound,          // a named thing does not exist
    kCorruption,        // stored bytes fail validation
    kIOError,           // the operating system or RocksDB failed
    kIncompatible,      // an index built with other parameters or versions
    kResourceExhausted, // an input or request exceeds a documented limit
    kUnavailable,       // try again later (index busy, server shutting down)
    kInternal,          // a bug: an invariant did not hold
  };

  Status() = default;
  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string_view m) { return Status(Code::kInvalidArgument, m); }
  static Status NotFound(std::string_view m) { return Status(Code::kNotFound, m); }
  static Status Corruption(std::string_view m) { return Status(Code::kCorruption, m); }
  static Status IOError(std::string_view m) { return Status(Code::kIOError, m); }
  static Status Incompatible(std::string_view m) { return Status(Code::kIncompatible, m); }
  static Status ResourceExhausted(std::string_view m) {
    return Status(Code::kResourceExhausted, m);
  }
  static Status Unavailable(std::string_view m) { return Status(Code::kUnavailable, m); }
  static Status Internal(std::string_view m) { return Status(Code::kInternal, m); }

  bool ok() const { return state_ == nullptr; }
  Code code() const { return state_ ? state_->code : Code::kOk; }
  const std::string& message() const;
  // "InvalidArgument: <message>" or "OK".
  std::string ToString() const;
  // Short stable name of the code, as used in JSON error bodies ("invalid_argument", ...).
  std::string_view CodeName() const;

  // Returns a copy whose message is prefixed with `context` and ": ".
  Status WithContext(std::string_view context) const;
  // Returns a status of the same code with `message` instead (OK stays OK).
  Status WithMessage(std::string_view message) const { return ok() ? *this : Status(code(), message); }

 private:
  struct State {
    Code code;
    std::string message;
  };
  Status(Code code, std::string_view message)
      : state_(std::make_shared<const State>(State{code, std::string(message)})) {}
  std::shared_ptr<const State> state_;
};

// Either a value or a non-OK Status.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok() && "Result built from an OK status");
  }
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<Status, T> v_;
};

#define DOPPEL_RETURN_IF_ERROR(expr)      \
  do {                                    \
    ::doppel::Status _st = (expr);        \
    if (!_st.ok()) return _st;            \
  } while (0)

#define DOPPEL_CONCAT_INNER(a, b) a##b
#define DOPPEL_CONCAT(a, b) DOPPEL_CONCAT_INNER(a, b)
#define DOPPEL_ASSIGN_OR_RETURN(lhs, expr)                          \
  auto DOPPEL_CONCAT(_res_, __LINE__) = (expr);                     \
  if (!DOPPEL_CONCAT(_res_, __LINE__).ok())                         \
    return DOPPEL_CONCAT(_res_, __LINE__).status();                 \
  lhs = std::move(DOPPEL_CONCAT(_res_, __LINE__)).value()

}  // namespace doppel
