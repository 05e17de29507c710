#include "server.h"

#include <httplib.h>
#include <simdjson.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include <array>
#include <cinttypes>
#include <map>
#include <random>
#include <algorithm>
#include <deque>
#include <unordered_map>

#include "doppel/format.h"
#include "doppel/language.h"
#include "doppel/policy.h"
#include "doppel/session.h"
#include "doppel/streams.h"
#include "doppel/tokenizer.h"

namespace doppel {

namespace {

using Clock = std::chrono::steady_clock;

// The one place where a Status becomes an HTTP status.
int HttpStatusFor(const Status& s) {
  switch (s.code()) {
    case Status::Code::kOk: return 200;
    case Status::Code::kInvalidArgument: return 400;
    case Status::Code::kNotFound: return 404;
    case Status::Code::kResourceExhausted: return 413;
    case Status::Code::kUnavailable:
    case Status::Code::kIOError: return 503;
    default: return 500;
  }
}

std::string_view HttpCodeName(int status) {
  switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 408: return "request_timeout";
    case 413: return "payload_too_large";
    case 414: return "uri_too_long";
    case 415: return "unsupported_media_type";
    case 501: return "not_implemented";
    case 503: return "unavailable";
    default: return status >= 500 ? "internal" : "error";
  }
}

void SetError(httplib::Response& res, int status, std::string_view message, bool retry = false) {
  std::string body = "{\"code\":";
  AppendJsonString(&body, HttpCodeName(status));
  body += ",\"message\":";
  AppendJsonString(&body, message);  // any byte a path held is shown as U+FFFD
  body += "}";
  res.status = status;
  res.set_content(body, "application/json");
  // Busy workers, a check past its time limit, no free session pass: a client may try again in
  // a second (RFC 9110, 10.2.3). An index that cannot be read is not worth a retry.
  if (retry) res.set_header("Retry-After", "1");
}

void SetError(httplib::Response& res, const Status& s) {
  SetError(res, HttpStatusFor(s), s.message(), s.code() == Status::Code::kUnavailable);
}

// Sends the response, then closes the connection: after a request whose body was not read to
// its end, what follows on the connection cannot be told from another request. httplib keeps a
// connection open whatever a handler's "Connection: close" says, but closes it when a content
// provider fails: this one writes the whole body first.
void CloseAfterResponse(const httplib::Request& req, httplib::Response& res) {
  // (Said by the request's header, which httplib reads when it writes the response's: a
  // response's own "Connection: close" went out beside its "Keep-Alive".)
  auto& headers = const_cast<httplib::Request&>(req).headers;
  headers.erase("Connection");
  headers.emplace("Connection", "close");
  auto body = std::make_shared<const std::string>(std::move(res.body));
  res.body.clear();
  const std::string type = res.get_header_value("Content-Type");
  res.headers.erase("Content-Type");  // set again with the provider
  res.set_content_provider(body->size(), type, [body](size_t offset, size_t length, httplib::DataSink& sink) {
    sink.write(body->data() + offset, length);
    return false;  // the connection ends here
  });
}

// Whether `path` is a session's, /v1/sessions/ and 1-64 hex digits (with `append`, then /append),
// as its routes' patterns take it.
bool SessionPath(std::string_view path, bool append) {
  constexpr std::string_view kPrefix = "/v1/sessions/", kAppend = "/append";
  if (path.substr(0, kPrefix.size()) != kPrefix) return false;
  path.remove_prefix(kPrefix.size());
  if (append) {
    if (path.size() < kAppend.size() || path.substr(path.size() - kAppend.size()) != kAppend) return false;
    path.remove_suffix(kAppend.size());
  }
  return !path.empty() && path.size() <= 64 &&
         std::all_of(path.begin(), path.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The method a path's route takes ("POST", "DELETE" or "GET"), or null for no route.
const char* MethodOf(std::string_view path) {
  if (path == "/v1/check" || path == "/v1/sessions" || SessionPath(path, true)) return "POST";
  if (SessionPath(path, false)) return "DELETE";
  if (path == "/healthz" || path == "/metrics") return "GET";
  return nullptr;
}

// Whether a route reads the body of a request with this method and path (the POST routes).
bool ReadsBody(const httplib::Request& req) {
  const char* method = MethodOf(req.path);
  return req.method == "POST" && method != nullptr && std::string_view(method) == "POST";
}

// A JSON error for a status httplib set itself, or one of routing (404 with no handler for the
// method and path: 405 with Allow when the path takes another method). The connection closes:
// the request may have a body no handler read.
void SetRouteError(const httplib::Request& req, httplib::Response& res) {
  std::string message;
  const char* allow = MethodOf(req.path);
  if (res.status == 404 && allow != nullptr) {
    res.status = 405;
    res.set_header("Allow", allow);
  }
  switch (res.status) {
    case 404:
      message = req.path.rfind("/v1/sessions/", 0) == 0
                    ? "no session at " + req.path + " (a session's id is the hex digits POST /v1/sessions gave)"
                    : "no route " + req.method + " " + req.path;
      break;
    case 405: message = req.path + " takes " + allow + ", not " + req.method; break;
    case 413: message = "the request body is larger than the server's limit"; break;
    case 414: message = "the request's path is longer than the server reads"; break;
    case 400: message = "the request could not be read (its request line or headers are malformed or too long)"; break;
    default: message = "the request could not be served"; break;
  }
  SetError(res, res.status, message);
  CloseAfterResponse(req, res);
}

// Reads a request body through httplib's content reader, so that one limit holds however the
// body comes: with a length, chunked, or compressed (counted once decompressed), and whatever
// its content type (httplib caps the form-encoded bodies it reads itself at 8 KB, and curl -d
// sends that type). The body is always read to its end, what is over the limit thrown away (a
// length over the limit is skipped by httplib itself, as payload_max_length): bytes left unread
// would be taken for the connection's next request.
bool ReadBody(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
              size_t limit, Clock::time_point deadline, std::string* body) {
  body->clear();
  // The framing first (RFC 9112, section 6): a body is read only by the length it declares,
  // a length that is not one or two lengths that differ refuse it (a proxy might read another
  // request there), and a request with neither a length nor chunks has no body.
  auto refuse = [&](int status, const std::string& why) {
    SetError(res, status, why);
    CloseAfterResponse(req, res);  // the body, unread, cannot be told from what follows
    return false;
  };
  const size_t lengths = req.get_header_value_count("Content-Length");
  std::string length;
  for (size_t i = 0; i < lengths; ++i) {
    const std::string v = req.get_header_value("Content-Length", i);
    if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos) {
      return refuse(400, "Content-Length \"" + v + "\" is not a number of bytes");
    }
    if (i > 0 && v != length) return refuse(400, "the request gives two Content-Length values, " + length + " and " + v);
    length = v;
  }
  if (lengths == 0 && !req.has_header("Transfer-Encoding")) return true;  // no body
  // A declared length over the limit is refused before a byte of it is waited for.
  if (!length.empty() && std::stoull(length) > limit) {  // (at most 19 digits: no overflow)
    return refuse(413, "the request body is larger than the server's limit of " + std::to_string(limit) + " bytes");
  }
  if (req.has_header("Content-Encoding")) {
    const std::string enc = req.get_header_value("Content-Encoding");
    if (enc != "gzip" && enc != "deflate" && enc != "identity") {
      return refuse(415, "Content-Encoding \"" + enc + "\" is not read: send the body as is, or as gzip or deflate");
    }
  }
  bool over = false, late = false;
  auto take = [&](const char* data, size_t n) {
    // A body that arrives slower than a check may take holds a connection thread: cut off.
    if (Clock::now() > deadline) {
      late = true;
      return false;
    }
    if (over || n > limit - body->size()) {
      over = true;
      body->clear();
      return true;  // read on, keep nothing
    }
    body->append(data, n);
    return true;
  };
  bool ok;
  if (req.is_multipart_form_data()) {
    ok = reader([](const httplib::MultipartFormData&) { return true; }, [](const char*, size_t) { return true; });
    if (ok) {
      SetError(res, 415, "multipart bodies are not read: send the request as one JSON object");
      return false;
    }
  } else {
    ok = reader(take);
  }
  if (ok && !over) return true;
  // A read that failed once the time limit had passed: the body stopped arriving.
  if (late || (!ok && !over && Clock::now() >= deadline)) {
    SetError(res, 408, "the request body did not arrive within the server's time limit for a body");
    CloseAfterResponse(req, res);
  } else if (over || res.status == 413) {
    SetError(res, 413, "the request body is larger than the server's limit of " + std::to_string(limit) + " bytes");
  } else {
    SetError(res, 400, "the request body could not be read (cut short, or its chunks or compression are malformed)");
    CloseAfterResponse(req, res);
  }
  return false;
}

// The connection thread's JSON parser, for one request. A parser grown for a large body is let
// go when the request ends: each of the connection threads keeping the parser of the largest
// body it had read (8 MB bodies, valid or not) held gigabytes that were never used again.
class RequestParser {
 public:
  RequestParser() : parser_(ThreadParser()) {}
  ~RequestParser() {
    if (parser_.capacity() > kKeptCapacity) parser_ = simdjson::dom::parser();
  }
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;
  simdjson::dom::parser* get() { return &parser_; }

 private:
  static constexpr size_t kKeptCapacity = size_t{1} << 20;
  static simdjson::dom::parser& ThreadParser() {
    thread_local simdjson::dom::parser parser;
    return parser;
  }
  simdjson::dom::parser& parser_;
};

std::string NoSession(const std::string& id) { return "no session " + id + " (closed or expired)"; }

constexpr const char* kNoRequestPolicy =
    "this server does not take a request's policy (serve --no-request-policy): leave \"policy\" out";

// Routes as metric labels (a fixed set: paths carry session ids).
enum Route : size_t { kCheck, kSessionOpen, kSessionAppend, kSessionClose, kHealth, kMetrics, kOther, kRoutes };
constexpr std::array<const char*, kRoutes> kRouteNames = {
    "check", "session_open", "session_append", "session_close", "healthz", "metrics", "other"};
constexpr std::array<int, 14> kStatuses = {200, 201, 400, 401, 404, 405, 408, 413, 414, 415, 500, 501, 503, 0};  // 0: other
// Check latency buckets, seconds (Prometheus `le` bounds).
constexpr std::array<double, 13> kBuckets = {0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                             0.05, 0.1, 0.25, 0.5, 1, 2.5};

size_t StatusSlot(int status) {
  for (size_t i = 0; i + 1 < kStatuses.size(); ++i) {
    if (kStatuses[i] == status) return i;
  }
  return kStatuses.size() - 1;
}

struct Metrics {
  std::array<std::array<std::atomic<uint64_t>, kStatuses.size()>, kRoutes> requests{};
  std::array<std::atomic<uint64_t>, kBuckets.size() + 1> check_buckets{};  // last: +Inf
  std::atomic<uint64_t> check_count{0};
  std::atomic<uint64_t> check_micros{0};
  std::array<std::atomic<uint64_t>, 4> verdicts{};
  std::atomic<uint64_t> refresh_errors{0};
  std::atomic<uint64_t> index_damage_errors{0};  // checks that met a damaged record or table
  std::atomic<int64_t> checks_in_progress{0};  // admitted or waiting for a worker
  std::atomic<uint64_t> sessions_expired{0};

  // A check's time, whether it ended in a verdict or in an error (past its time limit, a
  // damaged index): the slowest checks are the ones that time out.
  void ObserveDuration(uint64_t micros) {
    const double s = micros / 1e6;
    size_t b = 0;
    while (b < kBuckets.size() && s > kBuckets[b]) ++b;
    ++check_buckets[b];
    ++check_count;
    check_micros += micros;
  }
  void ObserveCheck(uint64_t micros, Action action) {
    ObserveDuration(micros);
    ++verdicts[static_cast<size_t>(action)];
  }
};

Route RouteOf(const httplib::Request& req) {
  const std::string& p = req.path;
  if (p == "/v1/check") return kCheck;
  if (p == "/v1/sessions") return kSessionOpen;
  if (p.rfind("/v1/sessions/", 0) == 0) {
    return p.size() > 7 && p.compare(p.size() - 7, 7, "/append") == 0 ? kSessionAppend : kSessionClose;
  }
  if (p == "/healthz") return kHealth;
  if (p == "/metrics") return kMetrics;
  return kOther;
}

// Constant-time comparison, so response timing does not reveal the token.
bool SameSecret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    diff |= static_cast<unsigned char>((i < a.size() ? a[i] : 0) ^ (i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

}  // namespace

Status DecodeCheckBody(const std::string& body, const FilterOptions& base, bool need_text,
                       simdjson::dom::parser* parser, CheckBody* f) {
  simdjson::dom::element root;
  if (body.empty() && !need_text) return Status::OK();
  thread_local std::string scratch;
  scratch.clear();
  if (auto err = ParseJson(parser, body, &root, &scratch); err) {
    // (simdjson checks UTF-8 before the grammar; a bad escape's place is the grammar's.)
    std::string what = DescribeJsonError(body, simdjson::error_message(err));
    if (err == simdjson::UTF8_ERROR) {
      if (Status u = ValidateUtf8(body); !u.ok()) what = u.message() + " of the body";
    }
    return Status::InvalidArgument("request body is not valid JSON (" + what + ")");
  }
  simdjson::dom::object obj;
  if (root.get_object().get(obj)) return Status::InvalidArgument("request body must be a JSON object");
  // ParseJson reads a number past 64 bits or a double's range as a string of its digits (an id
  // keeps its name so): a text, language or kind so spelled was a number, refused as one.
  const bool numbers_as_strings = !scratch.empty();
  auto was_number = [&](std::string_view v) {
    if (!numbers_as_strings || v.empty()) return false;
    const size_t digits = v[0] == '-' ? 1 : 0;
    if (digits >= v.size() || !std::isdigit(static_cast<unsigned char>(v[digits])) ||
        v.find_first_not_of("0123456789.eE+-") != std::string_view::npos) {
      return false;
    }
    // The body holds it as a value outside quotes (`: 1e999,`), not only as a string.
    auto is_blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    for (size_t at = body.find(v); at != std::string::npos; at = body.find(v, at + 1)) {
      size_t before = at, after = at + v.size();
      while (before > 0 && is_blank(body[before - 1])) --before;
      while (after < body.size() && is_blank(body[after])) ++after;
      if (before > 0 && (body[before - 1] == ':' || body[before - 1] == ',' || body[before - 1] == '[') &&
          (after == body.size() || body[after] == ',' || body[after] == '}' || body[after] == ']')) {
        return true;
      }
    }
    return false;
  };
  std::string_view kind_name;
  std::vector<std::string_view> seen;  // a field given twice is ambiguous: which one counts?
  for (auto field : obj) {
    const std::string_view key = field.key;
    const std::string_view name = key == "lang" ? "language" : key;
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
      return Status::InvalidArgument("field \"" + std::string(key) + "\" is given twice" +
                                     (name == "language" ? " (\"lang\" and \"language\" are one field)" : ""));
    }
    seen.push_back(name);
    // An optional field given as null is not given (as many serializers write an unset one);
    // "text" must be there.
    if (field.value.is_null() && (key == "id" || name == "language" || key == "kind" || key == "policy")) {
      continue;
    }
    if (key == "text") {
      if (field.value.get_string().get(f->text) || was_number(f->text)) {
        // A structured answer given as JSON: its JSON text, minified, is the answer.
        if (!field.value.is_object() && !field.value.is_array()) {
          return Status::InvalidArgument("\"text\" must be a string, or a JSON object or array (a structured answer)");
        }
        f->text_json = simdjson::minify(field.value);
        f->text = f->text_json;
      }
      f->has_text = true;
    } else if (key == "id") {
      f->has_id = true;
      std::string_view id;
      if (!field.value.get_string().get(id)) {
        f->id.assign(id);
      } else if (field.value.is_number()) {
        f->id = simdjson::minify(field.value);
      } else {
        return Status::InvalidArgument("\"id\" must be a string or a number");
      }
    } else if (key == "language" || key == "lang") {
      std::string_view lang;
      if (field.value.get_string().get(lang) || was_number(lang)) {
        return Status::InvalidArgument("\"language\" must be a string");
      }
      if (lang.size() > 64 || std::any_of(lang.begin(), lang.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; })) {
        return Status::InvalidArgument("\"language\" must be a language name (at most 64 bytes, no control characters)");
      }
      // A name without a grammar here reads the answer with the generic code lexer, taken at its
      // word, with its comments for markers; an unknown name, guessed too (as the CLI's --lang).
      const Language* l = LookupLanguage(lang);
      f->has_language = true;
      f->language = l ? l->name : std::string(lang);
      if (!lang.empty()) f->kind = Kind::kCode;
    } else if (key == "kind") {
      if (field.value.get_string().get(kind_name) || (kind_name != "text" && kind_name != "code")) {
        return Status::InvalidArgument("\"kind\" must be \"text\" or \"code\"");
      }
      f->has_kind = true;
    } else if (key == "policy") {
      if (!field.value.is_object()) return Status::InvalidArgument("\"policy\" must be an object");
      FilterOptions o = base;
      DOPPEL_RETURN_IF_ERROR(ApplyPolicyJson(simdjson::minify(field.value), "request", &o));
      f->policy = std::move(o);
    } else {
      return Status::InvalidArgument("unknown field \"" + std::string(key) + "\"");
    }
  }
  if (f->has_kind) {
    if (kind_name == "text" && f->kind == Kind::kCode) {
      return Status::InvalidArgument("\"kind\": \"text\" conflicts with \"language\"");
    }
    f->kind = kind_name == "code" ? Kind::kCode : Kind::kText;
  }
  if (need_text && !f->has_text) return Status::InvalidArgument("\"text\" is missing");
  return Status::OK();
}

namespace {

// A check's error on the answer itself (a NUL byte, invalid UTF-8 an escape made) names it:
// its offsets are of the text as decoded from the body's JSON string, not of the body.
Status AnswerError(const Status& s) {
  return s.code() == Status::Code::kInvalidArgument ? s.WithContext("\"text\" (offsets in the decoded string)") : s;
}

uint64_t MicrosSince(Clock::time_point start) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
}

void AppendElapsed(std::string* body, Clock::time_point start) {
  body->pop_back();  // the verdict object's closing brace
  *body += ",\"elapsed_us\":" +
           std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count()) +
           "}";
}

// 128 bits from the kernel's random source: an id is the only key to a session (its text and
// verdicts), so one must not be told from the ids seen before (a seeded generator's output is).
std::string NewSessionId() {
  uint64_t words[2] = {0, 0};
  size_t got = 0;
  while (got < sizeof words) {
    const ssize_t n = ::getrandom(reinterpret_cast<char*>(words) + got, sizeof words - got, 0);
    if (n > 0) {
      got += static_cast<size_t>(n);
    } else if (n < 0 && errno != EINTR) {
      // (No kernel source: std::random_device reads the same one, and throws if it cannot.)
      std::random_device device;
      for (uint64_t& w : words) w = (uint64_t{device()} << 32) ^ device();
      break;
    }
  }
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016" PRIx64 "%016" PRIx64, words[0], words[1]);
  return buf;
}

struct SessionEntry {
  std::mutex mu;  // one request at a time per session
  std::unique_ptr<Session> session;
  Clock::time_point last_used;  // the end of its last request (under mu)
  bool closed = false;          // ended (deleted or expired) while a request held it (under mu)
};

// Starts of requests, per connection thread, for the access log (a thread serves one request
// at a time, from the pre-routing handler to the logger).
thread_local Clock::time_point request_start;

}  // namespace

namespace {

// Admission to the check workers, first come first served: a released slot goes to the longest
// waiting request. (std::counting_semaphore is not fair; under load some requests waited 100x
// the median.) A request that is not admitted by its deadline leaves the queue.
class FifoLimiter {
 public:
  explicit FifoLimiter(size_t slots) : free_(slots) {}

  bool Acquire(Clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    if (free_ > 0 && queue_.empty()) {
      --free_;
      return true;
    }
    Waiter w;
    queue_.push_back(&w);
    while (!w.granted) {
      if (w.cv.wait_until(lock, deadline) == std::cv_status::timeout && !w.granted) {
        queue_.erase(std::find(queue_.begin(), queue_.end(), &w));
        return false;
      }
    }
    return true;
  }

  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.empty()) {
      ++free_;
      return;
    }
    Waiter* w = queue_.front();  // the slot passes directly to the oldest waiter
    queue_.pop_front();
    w->granted = true;
    w->cv.notify_one();
  }

 private:
  struct Waiter {
    std::condition_variable cv;
    bool granted = false;
  };
  std::mutex mu_;
  size_t free_;
  std::deque<Waiter*> queue_;
};

// Holds one of the check workers for a request, or fails when none frees up before the deadline;
// counts the request in `in_progress` meanwhile.
class WorkerSlot {
 public:
  WorkerSlot(FifoLimiter* limiter, std::atomic<int64_t>* in_progress, Clock::time_point deadline)
      : limiter_(limiter), in_progress_(in_progress) {
    ++*in_progress_;
    held_ = limiter->Acquire(deadline);
  }
  ~WorkerSlot() {
    if (held_) limiter_->Release();
    --*in_progress_;
  }
  bool held() const { return held_; }

 private:
  FifoLimiter* limiter_;
  std::atomic<int64_t>* in_progress_;
  bool held_ = false;
};

const Status kBusy = Status::Unavailable("no check worker became free within the request timeout");

}  // namespace

struct Server::State {
  Metrics metrics;
  FifoLimiter workers{1};
  size_t worker_count = 1;
  std::mutex sessions_mu;
  std::unordered_map<std::string, std::shared_ptr<SessionEntry>> sessions;
  std::atomic<bool> in_run{false};
  // The first damage a check met in the index (a Corruption status): /healthz reports it from
  // then on, so a load balancer takes this instance out while its index is repaired.
  std::mutex damage_mu;
  std::string damage;
  // The last catch-up with the index writer, when it failed (the directory now holds another
  // index, a file unreadable), and how many in a row have: from kStaleRefreshes on, /healthz
  // reports it until a catch-up succeeds (one failure may pass with the writer's next step).
  static constexpr int kStaleRefreshes = 3;
  std::string refresh_error;  // guarded by damage_mu
  int refresh_failures = 0;   // guarded by damage_mu

  explicit State(size_t n) : workers(n), worker_count(n) {}

  size_t ExpireSessions(Clock::time_point now, std::chrono::seconds ttl) {
    std::lock_guard<std::mutex> lock(sessions_mu);
    size_t n = 0;
    for (auto it = sessions.begin(); it != sessions.end();) {
      // A session a request holds is not idle; one that expires is marked so, for a request
      // that found it just before.
      SessionEntry& e = *it->second;
      bool expired = false;
      if (e.mu.try_lock()) {
        expired = now - e.last_used > ttl;
        e.closed |= expired;
        e.mu.unlock();
      }
      if (expired) {
        it = sessions.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    metrics.sessions_expired += n;
    return n;
  }
  void NoteFailure(const Status& s) {
    if (s.code() != Status::Code::kCorruption) return;
    ++metrics.index_damage_errors;
    std::lock_guard<std::mutex> lock(damage_mu);
    if (damage.empty()) damage = s.message();
  }
  std::shared_ptr<SessionEntry> FindSession(const std::string& id) {
    std::lock_guard<std::mutex> lock(sessions_mu);
    auto it = sessions.find(id);
    return it == sessions.end() ? nullptr : it->second;
  }
};


Server::Server(std::shared_ptr<Filter> filter, ServerOptions options)
    : filter_(std::move(filter)), options_(std::move(options)), http_(std::make_unique<httplib::Server>()) {
  if (options_.workers == 0) options_.workers = std::max(1u, std::thread::hardware_concurrency());
  if (options_.connection_threads == 0) options_.connection_threads = 1;
  state_ = std::make_unique<State>(options_.workers);
  // SO_REUSEADDR only: a restart binds while old connections linger in TIME_WAIT, but a port
  // another server listens on is refused (httplib's default, SO_REUSEPORT, lets a second server
  // bind it too and the kernel splits the connections between them).
  http_->set_socket_options([this](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listen_fd_ = sock;
  });
  Routes();
}

Server::~Server() {
  Stop();
  if (refresher_.joinable()) refresher_.join();
}

Status Server::Bind() {
  // (The system's reason, when the library's last call left one: "Address already in use".)
  auto why = [] {
    return errno == EADDRINUSE || errno == EACCES || errno == EADDRNOTAVAIL ? std::string(": ") + std::strerror(errno)
                                                                             : std::string();
  };
  errno = 0;
  if (options_.port == 0) {
    port_ = http_->bind_to_any_port(options_.host);
    if (port_ <= 0) return Status::Unavailable("cannot bind to " + options_.host + why());
  } else {
    if (!http_->bind_to_port(options_.host, options_.port)) {
      return Status::Unavailable("cannot bind to " + options_.host + ":" + std::to_string(options_.port) + why());
    }
    port_ = options_.port;
  }
  // httplib listens with a backlog of 5: a burst of clients connecting at once overflowed it and
  // had their connections reset. Listening again on the same socket sets the kernel's maximum.
  if (listen_fd_ >= 0 && ::listen(listen_fd_, SOMAXCONN) != 0) {
    return Status::Unavailable("cannot listen on " + options_.host + ":" + std::to_string(port_) + ": " +
                               std::strerror(errno));
  }
  return Status::OK();
}

Status Server::Run() {
  state_->in_run = true;
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (stopping_) return Status::OK();
  }
  if (options_.refresh_interval.count() > 0 || options_.session_ttl.count() > 0) {
    refresher_ = std::thread([this] { RefreshLoop(); });
  }
  const bool ok = http_->listen_after_bind();
  state_->in_run = false;
  Stop();
  if (refresher_.joinable()) refresher_.join();
  return ok ? Status::OK() : Status::Unavailable("the listening socket failed");
}

void Server::Stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  // Run may be between its stop check and listening: wait until it listens, then stop it.
  for (int i = 0; i < 5000 && state_->in_run && !http_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  http_->stop();
}

void Server::RefreshLoop() {
  const auto tick = options_.refresh_interval.count() > 0 ? options_.refresh_interval
                                                          : std::chrono::milliseconds(1000);
  Status last_error;
  std::unique_lock<std::mutex> lock(stop_mu_);
  while (!stopping_) {
    stop_cv_.wait_for(lock, tick);
    if (stopping_) break;
    lock.unlock();
    if (options_.refresh_interval.count() > 0) {
      Status s = filter_->index().Refresh();
      {
        std::lock_guard<std::mutex> health(state_->damage_mu);
        state_->refresh_error = s.ok() ? std::string() : s.ToString();
        state_->refresh_failures = s.ok() ? 0 : state_->refresh_failures + 1;
      }
      if (!s.ok()) {
        ++state_->metrics.refresh_errors;
        if (s.ToString() != last_error.ToString()) {
          std::fprintf(stderr, "doppel-filter: index refresh failed (still serving the last state): %s\n",
                       s.ToString().c_str());
        }
      }
      last_error = s;
    }
    state_->ExpireSessions(Clock::now(), options_.session_ttl);
    lock.lock();
  }
}

void Server::Routes() {
  httplib::Server& http = *http_;
  State* st = state_.get();
  const ServerOptions& opt = options_;

  http.new_task_queue = [n = opt.connection_threads] { return new httplib::ThreadPool(n); };
  http.set_payload_max_length(opt.max_body_bytes);
  http.set_keep_alive_max_count(100000);
  // Responses are written as headers then body; without TCP_NODELAY, Nagle's algorithm holds the
  // body until the client's delayed ACK (~40 ms per request on Linux).
  http.set_tcp_nodelay(true);
  // A read waits as long as a body may take, and a little more: a body that stops arriving gets
  // its 408 (ReadBody) once that time has passed, where a wait of the check's time limit gave
  // up first and the body was a 400 (cut short). (At least a second: headers are read so too.)
  http.set_read_timeout(std::max(opt.body_timeout, std::chrono::milliseconds(1000)) + std::chrono::milliseconds(200));
  http.set_write_timeout(std::chrono::duration_cast<std::chrono::seconds>(opt.request_timeout).count() + 1);

  http.set_pre_routing_handler([&opt](const httplib::Request& req, httplib::Response& res) {
    request_start = Clock::now();
    // Ranges are not served: httplib would cut a check's verdict (or an error) to a Range header
    // into a 206. (The request is httplib's own, not const: it is handed on as const.)
    const_cast<httplib::Request&>(req).ranges.clear();
    res.set_header("Accept-Ranges", "none");  // (httplib would say "bytes" to a HEAD)
    // Content-coding names are case-insensitive (RFC 9110 8.4.1); httplib decodes only
    // lower-case ones.
    for (auto [it, end] = const_cast<httplib::Request&>(req).headers.equal_range("Content-Encoding"); it != end; ++it) {
      for (char& c : it->second) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    // GET and DELETE take no body, and their routes read none: one sent would be taken for the
    // next request. (httplib writes no body for HEAD, so a HEAD's connection cannot be closed
    // this way.)
    if ((req.method == "GET" || req.method == "DELETE") &&
        (req.has_header("Transfer-Encoding") ||
         (req.has_header("Content-Length") && req.get_header_value("Content-Length") != "0"))) {
      SetError(res, 400, req.method + " takes no request body");
      CloseAfterResponse(req, res);
      return httplib::Server::HandlerResponse::Handled;
    }
    // A body's framing: chunked, or a Content-Length. Another transfer coding is not read (RFC
    // 9112 6.1: 501), and both a length and a coding are two framings a proxy in front may
    // take differently (a request smuggled in the body): 400. The body is not read, so the
    // connection closes. (httplib itself would read an unknown coding's body to the end of
    // the connection, and the client would wait for the body time limit.)
    if (const size_t codings = req.get_header_value_count("Transfer-Encoding"); codings > 0) {
      if (req.has_header("Content-Length")) {
        SetError(res, 400, "the request gives both Content-Length and Transfer-Encoding; send one");
        CloseAfterResponse(req, res);
        return httplib::Server::HandlerResponse::Handled;
      }
      if (codings > 1) {
        SetError(res, 400, "the request gives Transfer-Encoding more than once; send it once");
        CloseAfterResponse(req, res);
        return httplib::Server::HandlerResponse::Handled;
      }
      std::string coding = req.get_header_value("Transfer-Encoding");
      coding.erase(0, coding.find_first_not_of(" \t"));
      coding.erase(coding.find_last_not_of(" \t") + 1);
      if (strcasecmp(coding.c_str(), "chunked") != 0) {
        SetError(res, 501, "Transfer-Encoding \"" + req.get_header_value("Transfer-Encoding") +
                               "\" is not read here: send the body with Content-Length or \"chunked\"");
        CloseAfterResponse(req, res);
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    if (!opt.token.empty() && req.path.rfind("/v1/", 0) == 0) {
      const std::string auth = req.get_header_value("Authorization");
      const std::string_view prefix = "Bearer ";  // the scheme's name is case-insensitive (RFC 9110)
      if (auth.size() <= prefix.size() || strncasecmp(auth.c_str(), prefix.data(), prefix.size()) != 0 ||
          !SameSecret(std::string_view(auth).substr(prefix.size()), opt.token)) {
        res.set_header("WWW-Authenticate", "Bearer");
        SetError(res, 401, auth.empty() ? "this server requires \"Authorization: Bearer <token>\""
                                        : "the bearer token is not valid");
        CloseAfterResponse(req, res);  // its body was not read
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    // A request with neither a length nor chunks, by a method and to a path no route reads a
    // body for: answered now (404, or 405 naming the methods the path takes). httplib would
    // read a body to the end of the connection, which the client holds open for its answer.
    // (One with a length or chunks is read first, so a client still sending it gets its
    // answer, not a broken pipe.)
    if ((req.method == "POST" || req.method == "PUT" || req.method == "PATCH") && !ReadsBody(req) &&
        !req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) {
      res.status = 404;
      SetRouteError(req, res);
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  // Fills in a JSON error body for statuses httplib sets itself (404 unknown route, 413 body
  // over the limit, 400 unreadable request), leaving the handlers' own error bodies alone.
  http.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty() || res.content_provider_) return httplib::Server::HandlerResponse::Unhandled;  // a handler's
    SetRouteError(req, res);
    return httplib::Server::HandlerResponse::Handled;
  }));

  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unexpected error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::bad_alloc&) {
      what = "out of memory";
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    SetError(res, 500, what);
  });

  http.set_logger([st, &opt](const httplib::Request& req, const httplib::Response& res) {
    ++st->metrics.requests[RouteOf(req)][StatusSlot(res.status)];
    if (opt.access_log == nullptr) return;
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - request_start).count();
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char when[32];
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const std::string action = res.get_header_value("X-Doppel-Action");
    // The path as the client sent it, decoded: bytes under 0x21 and over 0x7E (a %0A, a %00)
    // are written as %XX again, so one request is one whole line of the log.
    std::string path;
    for (const char ch : req.path) {
      const auto c = static_cast<unsigned char>(ch);
      if (c > 0x20 && c < 0x7F && c != '%') {
        path.push_back(ch);
      } else {
        char hex[4];
        std::snprintf(hex, sizeof hex, "%%%02X", c);
        path += hex;
      }
    }
    std::fprintf(opt.access_log, "%s %s %s %s %d %zu %lldus%s%s\n", when, req.remote_addr.c_str(),
                 req.method.c_str(), path.c_str(), res.status, res.body.empty() ? res.content_length_ : res.body.size(),
                 static_cast<long long>(micros), action.empty() ? "" : " action=", action.c_str());
  });

  // Runs one check (of a request or a session) on a worker, and records it.
  auto observe = [st](Clock::time_point start, const Verdict& v, httplib::Response& res) {
    st->metrics.ObserveCheck(MicrosSince(start), v.action);
    res.set_header("X-Doppel-Action", std::string(ActionName(v.action)));
  };

  http.Post("/v1/check", [this, st, observe](const httplib::Request& req, httplib::Response& res,
                                       const httplib::ContentReader& content) {
    std::string body_in;
    if (!ReadBody(req, res, content, options_.max_body_bytes, request_start + options_.body_timeout, &body_in)) return;
    const Clock::time_point start = Clock::now();
    RequestParser parser;
    CheckBody f;
    if (Status s = DecodeCheckBody(body_in, filter_->options(), true, parser.get(), &f); !s.ok()) {
      return SetError(res, s);
    }
    if (f.policy && !options_.request_policy) return SetError(res, 400, kNoRequestPolicy);
    WorkerSlot slot(&st->workers, &st->metrics.checks_in_progress, start + options_.request_timeout);
    if (!slot.held()) return SetError(res, kBusy);
    CheckRequest cr;
    cr.kind = f.kind;
    cr.language = f.language;
    cr.options = f.policy ? &*f.policy : nullptr;
    cr.deadline = start + options_.request_timeout;
    auto v = filter_->Check(f.text, cr);
    if (!v.ok()) {
      st->metrics.ObserveDuration(MicrosSince(start));
      st->NoteFailure(v.status());
      return SetError(res, AnswerError(v.status()));
    }
    v->id = f.id;
    observe(start, *v, res);
    std::string body;
    AppendVerdictJson(*v, true, &body);
    AppendElapsed(&body, start);
    res.set_content(body, "application/json");
  });

  http.Post("/v1/sessions", [this, st](const httplib::Request& req, httplib::Response& res,
                                       const httplib::ContentReader& content) {
    std::string body_in;
    if (!ReadBody(req, res, content, options_.max_body_bytes, request_start + options_.body_timeout, &body_in)) return;
    RequestParser parser;
    CheckBody f;
    if (Status s = DecodeCheckBody(body_in, filter_->options(), false, parser.get(), &f); !s.ok()) {
      return SetError(res, s);
    }
    if (f.policy && !options_.request_policy) return SetError(res, 400, kNoRequestPolicy);
    if (f.has_text) return SetError(res, 400, "send the text with POST /v1/sessions/{id}/append");
    if (f.has_id) return SetError(res, 400, "a session's id is the server's to choose: the \"id\" of this request's answer");
    SessionOptions so;
    so.kind = f.kind;
    so.language = f.language;
    so.options = std::move(f.policy);
    so.max_bytes = options_.max_session_bytes;
    so.check_every_bytes = options_.session_check_every_bytes;
    auto entry = std::make_shared<SessionEntry>();
    entry->session = std::make_unique<Session>(*filter_, std::move(so));
    entry->last_used = Clock::now();
    st->ExpireSessions(entry->last_used, options_.session_ttl);
    std::string id = NewSessionId();
    {
      std::lock_guard<std::mutex> lock(st->sessions_mu);
      if (st->sessions.size() >= options_.max_sessions) {
        return SetError(res, 503,
                        "too many open sessions (" + std::to_string(options_.max_sessions) +
                            "); close finished ones with DELETE /v1/sessions/{id}",
                        /*retry=*/true);
      }
      st->sessions.emplace(id, entry);
    }
    std::string body = "{\"id\":";
    AppendJsonString(&body, id);
    body += ",\"expires_after_s\":" + std::to_string(options_.session_ttl.count()) + "}";
    res.status = 201;
    res.set_content(body, "application/json");
  });

  // The session's verdict as JSON, with its streaming state.
  auto session_body = [](const SessionUpdate& u, const std::string& id, Clock::time_point start) {
    std::string body;
    Verdict v = u.verdict;
    v.id = id;
    AppendVerdictJson(v, true, &body);
    body.pop_back();
    body += ",\"checked\":" + std::string(u.checked ? "true" : "false") +
            ",\"checked_bytes\":" + std::to_string(u.checked_bytes) +
            ",\"total_bytes\":" + std::to_string(u.total_bytes) +
            ",\"flagged\":" + std::string(u.flagged ? "true" : "false") + ",\"flagged_at\":" +
            (u.flagged ? std::to_string(u.flagged_at) : std::string("null")) + "}";
    AppendElapsed(&body, start);
    return body;
  };

  http.Post(R"(/v1/sessions/([0-9a-f]{1,64})/append)",
            [this, st, observe, session_body](const httplib::Request& req, httplib::Response& res,
                                              const httplib::ContentReader& content) {
    std::string body_in;
    if (!ReadBody(req, res, content, options_.max_body_bytes, request_start + options_.body_timeout, &body_in)) return;
    const Clock::time_point start = Clock::now();
    const std::string id = req.matches[1];
    RequestParser parser;
    CheckBody f;
    if (Status s = DecodeCheckBody(body_in, filter_->options(), true, parser.get(), &f); !s.ok()) {
      return SetError(res, s);
    }
    if (f.policy || f.has_language || f.has_kind || f.has_id) {
      return SetError(res, 400, "an append takes only \"text\": language, kind and policy are set when the session is "
                                "opened, and its id is in the path");
    }
    auto entry = st->FindSession(id);
    if (!entry) return SetError(res, 404, NoSession(id));
    std::lock_guard<std::mutex> lock(entry->mu);
    if (entry->closed) return SetError(res, 404, NoSession(id));
    WorkerSlot slot(&st->workers, &st->metrics.checks_in_progress, start + options_.request_timeout);
    if (!slot.held()) return SetError(res, kBusy);
    auto u = entry->session->Append(f.text, start + options_.request_timeout);
    entry->last_used = Clock::now();  // idle from the end of its request, not its start
    if (!u.ok()) {
      st->metrics.ObserveDuration(MicrosSince(start));
      st->NoteFailure(u.status());
      return SetError(res, AnswerError(u.status()));
    }
    if (u->checked) observe(start, u->verdict, res);
    res.set_content(session_body(*u, id, start), "application/json");
  });

  http.Delete(R"(/v1/sessions/([0-9a-f]{1,64}))",
              [this, st, observe, session_body](const httplib::Request& req, httplib::Response& res,
                                              const httplib::ContentReader& content) {
    std::string body_in;
    if (!ReadBody(req, res, content, options_.max_body_bytes, request_start + options_.body_timeout, &body_in)) return;
    const Clock::time_point start = Clock::now();
    const std::string id = req.matches[1];
    auto entry = st->FindSession(id);
    if (!entry) return SetError(res, 404, NoSession(id));
    std::lock_guard<std::mutex> lock(entry->mu);
    if (entry->closed) return SetError(res, 404, NoSession(id));
    // The session ends only with its final verdict: one refused as busy or past the time limit
    // (503, Retry-After) can be asked for again.
    WorkerSlot slot(&st->workers, &st->metrics.checks_in_progress, start + options_.request_timeout);
    if (!slot.held()) return SetError(res, kBusy);
    auto u = entry->session->Finish(start + options_.request_timeout);
    entry->last_used = Clock::now();
    if (!u.ok()) {
      st->metrics.ObserveDuration(MicrosSince(start));
      st->NoteFailure(u.status());
      return SetError(res, AnswerError(u.status()));
    }
    entry->closed = true;
    {
      std::lock_guard<std::mutex> map_lock(st->sessions_mu);
      if (auto it = st->sessions.find(id); it != st->sessions.end() && it->second == entry) st->sessions.erase(it);
    }
    observe(start, u->verdict, res);
    res.set_content(session_body(*u, id, start), "application/json");
  });

  http.Get("/healthz", [this, st](const httplib::Request&, httplib::Response& res) {
    auto stats = filter_->index().Stats();
    if (!stats.ok()) return SetError(res, 503, "index unavailable: " + stats.status().ToString());
    {
      std::lock_guard<std::mutex> lock(st->damage_mu);
      if (!st->damage.empty()) {
        return SetError(res, 503, "index damaged (run doppel-index verify, then restart): " + st->damage);
      }
      if (st->refresh_failures >= State::kStaleRefreshes) {
        return SetError(res, 503, "serving an older state of the index: " + st->refresh_error);
      }
    }
    std::string body = "{\"status\":\"ok\",\"documents\":" + std::to_string(stats->documents) +
                       ",\"workers\":" + std::to_string(st->worker_count) + "}";
    res.set_content(body, "application/json");
  });

  http.Get("/metrics", [this, st](const httplib::Request&, httplib::Response& res) {
    const Metrics& m = st->metrics;
    std::string out;
    out += "# HELP doppel_http_requests_total HTTP requests by route and status.\n"
           "# TYPE doppel_http_requests_total counter\n";
    for (size_t r = 0; r < kRoutes; ++r) {
      for (size_t s = 0; s < kStatuses.size(); ++s) {
        const uint64_t n = m.requests[r][s];
        if (n == 0) continue;
        out += std::string("doppel_http_requests_total{route=\"") + kRouteNames[r] + "\",status=\"" +
               (kStatuses[s] ? std::to_string(kStatuses[s]) : std::string("other")) + "\"} " +
               std::to_string(n) + "\n";
      }
    }
    out += "# HELP doppel_check_duration_seconds Time to check an answer (request parsing to verdict, or to the error "
           "that ended the check).\n"
           "# TYPE doppel_check_duration_seconds histogram\n";
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= kBuckets.size(); ++b) {
      cumulative += m.check_buckets[b];
      std::string le = "+Inf";
      if (b < kBuckets.size()) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%g", kBuckets[b]);
        le = buf;
      }
      out += "doppel_check_duration_seconds_bucket{le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
    }
    char sum[64];
    std::snprintf(sum, sizeof sum, "%.6f", m.check_micros.load() / 1e6);
    out += std::string("doppel_check_duration_seconds_sum ") + sum + "\n";
    out += "doppel_check_duration_seconds_count " + std::to_string(m.check_count.load()) + "\n";
    out += "# HELP doppel_verdicts_total Verdicts by action.\n# TYPE doppel_verdicts_total counter\n";
    for (Action a : {Action::kAllow, Action::kAnnotate, Action::kRedact, Action::kBlock}) {
      out += "doppel_verdicts_total{action=\"" + std::string(ActionName(a)) + "\"} " +
             std::to_string(m.verdicts[static_cast<size_t>(a)].load()) + "\n";
    }
    size_t open = 0;
    {
      std::lock_guard<std::mutex> lock(st->sessions_mu);
      open = st->sessions.size();
    }
    out += "# HELP doppel_sessions_open Streaming sessions open.\n# TYPE doppel_sessions_open gauge\n"
           "doppel_sessions_open " + std::to_string(open) + "\n";
    out += "# HELP doppel_sessions_expired_total Sessions closed for inactivity.\n"
           "# TYPE doppel_sessions_expired_total counter\n"
           "doppel_sessions_expired_total " + std::to_string(m.sessions_expired.load()) + "\n";
    out += "# HELP doppel_index_refresh_errors_total Failed catch-ups with the index writer.\n"
           "# TYPE doppel_index_refresh_errors_total counter\n"
           "doppel_index_refresh_errors_total " + std::to_string(m.refresh_errors.load()) + "\n";
    out += "# HELP doppel_index_damage_errors_total Checks that met a damaged record or table of the index.\n"
           "# TYPE doppel_index_damage_errors_total counter\n"
           "doppel_index_damage_errors_total " + std::to_string(m.index_damage_errors.load()) + "\n";
    out += "# HELP doppel_checks_in_progress Checks running or waiting for a worker.\n"
           "# TYPE doppel_checks_in_progress gauge\n"
           "doppel_checks_in_progress " + std::to_string(m.checks_in_progress.load()) + "\n";
    out += "# HELP doppel_check_workers Checks that may run at once.\n# TYPE doppel_check_workers gauge\n"
           "doppel_check_workers " + std::to_string(st->worker_count) + "\n";
    // The index's caches (omitted when its statistics cannot be read: /healthz says so).
    if (auto stats = filter_->index().Stats(); stats.ok()) {
      out += "# HELP doppel_index_block_cache_bytes Bytes in the index's block cache.\n"
             "# TYPE doppel_index_block_cache_bytes gauge\n"
             "doppel_index_block_cache_bytes " + std::to_string(stats->block_cache_used) + "\n";
      out += "# HELP doppel_posting_cache_lookups_total Code fingerprint lookups answered by the decoded "
             "posting cache (hit) or read from the index (miss).\n"
             "# TYPE doppel_posting_cache_lookups_total counter\n"
             "doppel_posting_cache_lookups_total{result=\"hit\"} " + std::to_string(stats->posting_cache_hits) + "\n"
             "doppel_posting_cache_lookups_total{result=\"miss\"} " + std::to_string(stats->posting_cache_misses) + "\n";
      out += "# HELP doppel_posting_cache_ids Posting ids' worth of the decoded posting cache in use.\n"
             "# TYPE doppel_posting_cache_ids gauge\n"
             "doppel_posting_cache_ids " + std::to_string(stats->posting_cache_used) + "\n";
    }
    {
      const TokenCacheStats tc = filter_->token_cache_stats();
      out += "# HELP doppel_token_cache_lookups_total Candidate documents whose tokens the token cache held "
             "(hit) or that were read from the index (miss).\n"
             "# TYPE doppel_token_cache_lookups_total counter\n"
             "doppel_token_cache_lookups_total{result=\"hit\"} " + std::to_string(tc.hits) + "\n"
             "doppel_token_cache_lookups_total{result=\"miss\"} " + std::to_string(tc.misses) + "\n";
      out += "# HELP doppel_token_cache_read_in_place_total Of the misses, large code documents read in place: only "
             "their part near the answer decoded, and not cached.\n"
             "# TYPE doppel_token_cache_read_in_place_total counter\n"
             "doppel_token_cache_read_in_place_total " + std::to_string(tc.read_in_place) + "\n";
      out += "# HELP doppel_token_cache_streams_reused_total Large code documents' stored streams taken again "
             "from where an earlier code block of the same answer read them.\n"
             "# TYPE doppel_token_cache_streams_reused_total counter\n"
             "doppel_token_cache_streams_reused_total " + std::to_string(tc.streams_reused) + "\n";
      out += "# HELP doppel_token_cache_tokens Tokens the token cache holds.\n"
             "# TYPE doppel_token_cache_tokens gauge\n"
             "doppel_token_cache_tokens " + std::to_string(tc.tokens) + "\n";
      out += "# HELP doppel_token_cache_capacity_tokens The token cache's budget (--token-cache-tokens).\n"
             "# TYPE doppel_token_cache_capacity_tokens gauge\n"
             "doppel_token_cache_capacity_tokens " + std::to_string(tc.capacity_tokens) + "\n";
    }
    res.set_content(out, "text/plain; version=0.0.4");
  });
}

}  // namespace doppel
