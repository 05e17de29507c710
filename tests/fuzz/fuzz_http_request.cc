// libFuzzer target: whole HTTP requests, as raw bytes, sent to a real doppel service on
// 127.0.0.1 (an in-process Server over a small index made at start-up). Each input is written
// on a fresh connection, which is then half-closed; the service must answer with an HTTP
// response or close the connection, and never crash (ASan and UBSan watch its threads too).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include "doppel/filter.h"
#include "doppel/index.h"
#include "doppel/sketch.h"
#include "server.h"

using namespace doppel;

namespace {

int g_port = 0;

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "fuzz_http_request: %s\n", why.c_str());
  std::abort();
}

// Sends `request` on a new connection and returns what came back before the server closed.
std::string Exchange(const std::string& request) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(g_port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = -1;
  // Thousands of connections a second leave the service's closed ones in TIME_WAIT, which can
  // take every local port for a while: wait for one (bounded) rather than call that a failure.
  for (int attempt = 0;; ++attempt) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) Die("socket failed");
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) break;
    const int err = errno;
    ::close(fd);
    // EINTR: a signal of libFuzzer's own (its timers) cut the call short; try again.
    if ((err != EADDRNOTAVAIL && err != EINTR) || attempt == 1200) Die(std::string("connect failed: ") + std::strerror(err));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  timeval tv{10, 0};  // a service that neither answers nor closes within 10 s is a failure
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the service may close early on a bad request
    sent += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string reply;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) Die("no answer and no close within 10 s");
      break;  // reset by the service
    }
    reply.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return reply;
}

void Start() {
  char tmpl[] = "/tmp/doppel-fuzz-http-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) Die("mkdtemp failed");
  const std::string dir = std::string(tmpl) + "/index";
  {
    IndexOptions io;
    io.create_if_missing = true;
    auto index = Index::Open(dir, io);
    if (!index.ok()) Die(index.status().ToString());
    DocumentSketcher sketcher((*index)->params());
    std::vector<SketchedDocument> batch(2);
    Document prose;
    prose.name = prose.origin = "prose.txt";
    prose.text = "the quick brown fox jumps over the lazy dog while the cat watches from the warm windowsill";
    Document code;
    code.name = code.origin = "lib/sum.py";
    code.kind = Kind::kCode;
    code.language = "python";
    code.text = "def total(values):\n    result = 0\n    for v in values:\n        result += v\n    return result\n";
    if (!sketcher.Sketch(std::move(prose), &batch[0]).ok() || !sketcher.Sketch(std::move(code), &batch[1]).ok()) {
      Die("sketch failed");
    }
    WriteSummary ws;
    if (!(*index)->Write(&batch, &ws).ok()) Die("write failed");
  }
  auto filter = Filter::Open(dir, FilterOptions());
  if (!filter.ok()) Die(filter.status().ToString());
  ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.workers = 1;
  o.connection_threads = 4;
  o.max_body_bytes = 1 << 16;
  o.max_session_bytes = 1 << 16;
  o.max_sessions = 8;
  o.refresh_interval = std::chrono::milliseconds(0);
  o.access_log = nullptr;
  static Server* server = new Server(std::shared_ptr<Filter>(std::move(*filter)), o);  // lives until exit
  if (!server->Bind().ok()) Die("bind failed");
  g_port = server->port();
  std::thread([] { (void)server->Run(); }).detach();
  static std::string scratch = tmpl;
  std::atexit([] { std::filesystem::remove_all(scratch); });
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  Start();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string reply = Exchange(std::string(reinterpret_cast<const char*>(data), size));
  if (!reply.empty() && reply.rfind("HTTP/1.1 ", 0) != 0) Die("reply is not HTTP: " + reply.substr(0, 80));
  return 0;
}
