// Server: the HTTP front-end of the filter (`doppel-filter serve`), JSON in and out.
//
//   POST   /v1/check                    {text, language?, kind?, id?, policy?} -> verdict
//   POST   /v1/sessions                 {language?, kind?, policy?}  -> {id}
//   POST   /v1/sessions/{id}/append     {text}  -> the verdict so far (+ flagged, flagged_at)
//   DELETE /v1/sessions/{id}            -> the verdict on the whole answer; the session ends
//   GET    /healthz                     -> {status, documents}
//   GET    /metrics                     -> Prometheus text format
//
// A verdict, even `block`, is 200. Errors are {code, message} with 400 (bad JSON, fields,
// UTF-8 or policy), 401 (missing or wrong bearer token), 404 (unknown route or session), 413
// (body or session over its limit), 503 (check past its deadline, too many sessions, the
// index unavailable) or 500 (anything else). Statuses are chosen in one function.
//
// Connections are served by a pool of I/O threads (a keep-alive connection holds a thread while
// it is open); at most `workers` checks run at once, which is the CPU-bound part, so the pool of
// checks is sized to the cores and idle connections cost no CPU. The index is opened read-only
// and refreshed every `refresh_interval`, so documents `doppel-index add`s or removes become
// visible without a restart. Stop() lets requests in flight finish.
//
// Thread-safety: Run blocks on one thread; Stop may be called from any thread (a signal
// handler thread, a test).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "doppel/filter.h"
#include "doppel/status.h"

namespace httplib {
class Server;
}
namespace simdjson::dom {
class parser;
}

namespace doppel {

// The fields of a /v1/check or /v1/sessions body: {text, id?, language? (or lang), kind?,
// policy?}. `text` points into the parser's buffer. Unknown fields, wrong types and bad policies
// are InvalidArgument naming the field.
struct CheckBody {
  std::string_view text;  // in the body, or in text_json
  // "text" given as a JSON object or array (a structured answer): its JSON text, minified.
  std::string text_json;
  bool has_text = false;
  // Which of the other fields the body gave (a session's routes take fewer than a check).
  bool has_id = false, has_language = false, has_kind = false;
  std::string id;
  Kind kind = Kind::kText;
  std::string language;
  std::optional<FilterOptions> policy;  // `base` with the request's policy applied
};
Status DecodeCheckBody(const std::string& body, const FilterOptions& base, bool need_text,
                       simdjson::dom::parser* parser, CheckBody* out);

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port (see Server::port())
  // Checks running at once; default: the number of cores.
  size_t workers = 0;
  // Threads serving connections (each open keep-alive connection holds one).
  size_t connection_threads = 64;
  // Largest request body; larger ones get 413 before they are parsed.
  size_t max_body_bytes = size_t{8} << 20;
  // A request whose check is not done by then (including the wait for a worker) gets 503.
  std::chrono::milliseconds request_timeout{5000};
  // A request body not all arrived by then (from the request's headers) gets 408 and the
  // connection is closed: a client trickling its body would hold a connection thread forever.
  std::chrono::milliseconds body_timeout{10000};
  // Streaming sessions: at most this many open (503 beyond), each answer at most
  // max_session_bytes (413 beyond), closed after session_ttl without an append.
  size_t max_sessions = 256;
  size_t max_session_bytes = size_t{1} << 20;
  std::chrono::seconds session_ttl{300};
  // Re-checked after this many bytes without a newline (see SessionOptions).
  size_t session_check_every_bytes = 256;
  // Whether a request's `policy` may change the server's for that request (thresholds and
  // actions alike, relaxing them too). Off, a request giving one gets 400: for callers that are
  // not trusted with the policy.
  bool request_policy = true;
  // Required "Authorization: Bearer <token>" on /v1/ routes; empty: no authentication.
  std::string token;
  // How often the read-only index catches up with its writer; 0 disables.
  std::chrono::milliseconds refresh_interval{1000};
  // One line per request (method, path, status, bytes, microseconds, action); null: none.
  std::FILE* access_log = stderr;
};

class Server {
 public:
  Server(std::shared_ptr<Filter> filter, ServerOptions options);
  ~Server();

  // Binds the listening socket. Errors: Unavailable when the address cannot be bound.
  Status Bind();
  // The bound port (after Bind).
  int port() const { return port_; }
  // Serves until Stop; requests in flight are finished before it returns.
  Status Run();
  void Stop();

 private:
  struct State;
  void Routes();
  void RefreshLoop();

  std::shared_ptr<Filter> filter_;
  ServerOptions options_;
  std::unique_ptr<httplib::Server> http_;
  std::unique_ptr<State> state_;
  int port_ = 0;
  int listen_fd_ = -1;  // the listening socket, once made
  std::thread refresher_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
};

}  // namespace doppel
