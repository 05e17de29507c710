// The HTTP service (filter/server.h) as a client sees it: a real server on 127.0.0.1 (in-process,
// or the real `doppel-filter serve` binary) driven by a real HTTP client; and the library's
// streaming sessions and policies that it is built on.
#include <httplib.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/wait.h>
#include <tree_sitter/api.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <random>
#include <thread>
#include <tuple>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "doppel/filter.h"
#include "doppel/format.h"
#include "doppel/index.h"
#include "doppel/language.h"
#include "doppel/policy.h"
#include "doppel/session.h"
#include "index/codec.h"
#include "rocks_util.h"
#include "server.h"
#include "test_util.h"

using namespace doppel;
using doppel_test::Contains;
using doppel_test::MakeDoc;
using doppel_test::TempDir;

namespace {

const std::string kLicenses = "/usr/share/common-licenses";
const char* kApacheMeta = R"({"url":"https://www.apache.org/licenses/LICENSE-2.0","license":"Apache-2.0"})";

// A protected Python module; the answer below copies `merge_intervals` with every name changed.
const char* kProtectedPython = R"(import bisect


def merge_intervals(intervals, tolerance):
    ordered = sorted(intervals, key=lambda pair: pair[0])
    merged = []
    for start, stop in ordered:
        if merged and start <= merged[-1][1] + tolerance:
            previous_start, previous_stop = merged[-1]
            merged[-1] = (previous_start, max(previous_stop, stop))
        else:
            merged.append((start, stop))
    total = 0
    for start, stop in merged:
        total += stop - start
    return merged, total


def locate_bucket(boundaries, value):
    position = bisect.bisect_right(boundaries, value)
    if position == 0 or position == len(boundaries):
        raise ValueError("value outside every bucket")
    return position - 1
)";

const char* kAnswerPython = R"(import json


def load_config(path):
    with open(path) as handle:
        return json.load(handle)


def union_ranges(spans, slack):
    arranged = sorted(spans, key=lambda item: item[0])
    out = []
    for lo, hi in arranged:
        if out and lo <= out[-1][1] + slack:
            first_lo, first_hi = out[-1]
            out[-1] = (first_lo, max(first_hi, hi))
        else:
            out.append((lo, hi))
    covered = 0
    for lo, hi in out:
        covered += hi - lo
    return out, covered


if __name__ == "__main__":
    print(union_ranges(load_config("ranges.json"), 2))
)";

// Novel prose, about 120 words.
const char* kNovel =
    "Our team replaced the old wooden benches in the reading room last spring. The new ones "
    "are oak, a little lower, with a rail along the back that children like to climb. We "
    "also moved the atlas stand near the window so the maps get daylight, and we put a small "
    "lamp on the desk by the door for the evening volunteers. Visitors have asked for more "
    "power sockets, which the council promised for next year, and for a quiet corner away "
    "from the photocopier. The quiet corner is easy: we will turn the shelves of old "
    "periodicals sideways and make a nook with two chairs and a rug. Suggestions for the "
    "periodicals themselves are welcome at the front desk.";

std::string Slurp(const std::string& path) { return doppel_test::ReadFile(path); }

// Index: three license texts (Apache with metadata) and the Python module.
void BuildServiceIndex(const std::string& dir) {
  IndexOptions io;
  io.create_if_missing = true;
  auto index = Index::Open(dir, io);
  REQUIRE(index.ok());
  Document py = MakeDoc("lib/intervals.py", kProtectedPython, R"({"repository":"example/intervals","license":"MIT"})");
  py.kind = Kind::kCode;
  py.language = "python";
  auto docs = doppel_test::SketchAll(
      (*index)->params(), {MakeDoc("licenses/Apache-2.0", Slurp(kLicenses + "/Apache-2.0"), kApacheMeta),
                           MakeDoc("licenses/MPL-2.0", Slurp(kLicenses + "/MPL-2.0")),
                           MakeDoc("licenses/GPL-3", Slurp(kLicenses + "/GPL-3")), std::move(py)});
  WriteSummary ws;
  REQUIRE((*index)->Write(&docs, &ws).ok());
  REQUIRE(ws.added == 4);
}

// A server on 127.0.0.1 and a free port, serving until the object goes away.
class TestServer {
 public:
  TestServer(const std::string& dir, ServerOptions o, FilterOptions fo = {}) {
    auto f = Filter::Open(dir, fo, /*follow_writer=*/o.refresh_interval.count() > 0);
    INFO(f.status().ToString());
    REQUIRE(f.ok());
    o.host = "127.0.0.1";
    o.port = 0;
    if (o.access_log == stderr) o.access_log = nullptr;  // a test's own log file is kept
    server_ = std::make_unique<Server>(std::shared_ptr<Filter>(std::move(*f)), o);
    REQUIRE(server_->Bind().ok());
    thread_ = std::thread([this] { run_status_ = server_->Run(); });
  }
  ~TestServer() {
    server_->Stop();
    thread_.join();
  }
  httplib::Client Client(const std::string& token = "") const {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(30, 0);
    if (!token.empty()) c.set_bearer_token_auth(token.c_str());
    return c;
  }
  int port() const { return server_->port(); }

 private:
  std::unique_ptr<Server> server_;
  std::thread thread_;
  Status run_status_;
};

// The value of one series (`name{labels}`) in a /metrics body; -1 when it is missing.
int64_t MetricValue(const std::string& body, const std::string& series) {
  const size_t at = body.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return static_cast<int64_t>(std::stoll(body.substr(at + series.size() + 2)));
}

std::string Body(std::initializer_list<std::pair<std::string, std::string>> strings,
                 const std::string& extra = "") {
  std::string b = "{";
  for (const auto& [k, v] : strings) {
    if (b.size() > 1) b += ",";
    AppendJsonString(&b, k);
    b += ":";
    AppendJsonString(&b, v);
  }
  if (!extra.empty()) b += (b.size() > 1 ? "," : "") + extra;
  return b + "}";
}

struct Json {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  explicit Json(const std::string& body) {
    INFO(body);
    REQUIRE(!parser.parse(body).get(root));
  }
  std::string Str(const char* key) const { return std::string(root[key].get_string().value()); }
  int64_t Int(const char* key) const { return root[key].get_int64().value(); }
  bool Bool(const char* key) const { return root[key].get_bool().value(); }
};

httplib::Result PostJson(httplib::Client& c, const std::string& path, const std::string& body) {
  return c.Post(path.c_str(), body, "application/json");
}

// The action /v1/check gives `text`, asked again every 50 ms (at most 100 times) while it is
// `while_action`: a service following its index's writer sees a write within a few refreshes.
std::string ActionOnceNot(httplib::Client& c, const std::string& text, const std::string& while_action) {
  std::string now;
  for (int i = 0; i < 100; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto r = PostJson(c, "/v1/check", Body({{"text", text}}));
    REQUIRE(r);
    REQUIRE(r->status == 200);
    now = Json(r->body).Str("action");
    if (now != while_action) break;
  }
  return now;
}

int64_t HealthDocuments(httplib::Client& c) {
  auto h = c.Get("/healthz");
  REQUIRE(h);
  return Json(h->body).Int("documents");
}

// Expects status `code` with a JSON error body {code, message} whose message contains `needle`.
void ExpectError(const httplib::Result& r, int code, const std::string& needle) {
  REQUIRE(r);
  INFO(r->body);
  CHECK(r->status == code);
  // The 503s these tests expect pass (no free session, past the time limit): worth a retry.
  CHECK(r->get_header_value("Retry-After") == (code == 503 ? "1" : ""));
  Json j(r->body);
  CHECK(!j.Str("code").empty());
  CHECK(Contains(j.Str("message"), needle));
}

bool ParsesCleanly(const TSLanguage* lang, const std::string& code) {
  TSParser* p = ts_parser_new();
  REQUIRE(ts_parser_set_language(p, lang));
  TSTree* t = ts_parser_parse_string(p, nullptr, code.data(), static_cast<uint32_t>(code.size()));
  const bool ok = t != nullptr && !ts_node_has_error(ts_tree_root_node(t));
  if (t) ts_tree_delete(t);
  ts_parser_delete(p);
  return ok;
}

// A socket connected to 127.0.0.1:port.
int ConnectLocal(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

// Sends `raw` on one connection to 127.0.0.1:port and returns all the server writes back until
// it closes (at most 10 s).
std::string RawExchange(int port, const std::string& raw) {
  const int fd = ConnectLocal(port);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (size_t sent = 0; sent < raw.size();) {
    const ssize_t n = ::send(fd, raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string got;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) got.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return got;
}

// Python's own parser (Debian's python3) reads `code` without a syntax error.
bool PythonParses(const std::string& path, const std::string& code) {
  doppel_test::WriteFile(path, code);
  const auto r = doppel_test::Run("/usr/bin/python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read())' " + doppel_test::Quote(path));
  INFO(r.err);
  return r.exit_code == 0;
}

// Whether the C compiler (`cpp`: the C++ one) reads `code`, written to `path`, without an error.
// tree-sitter's C grammars end a macro's body at a comment inside it (`/* ... */ \`), where
// compilers read a blank.
bool CompilerParses(const std::string& path, const std::string& code, bool cpp) {
  doppel_test::WriteFile(path, code);
  const auto r = doppel_test::Run(std::string(cpp ? "c++ -x c++" : "cc -x c") + " -fsyntax-only -w " + doppel_test::Quote(path));
  INFO(r.err);
  return r.exit_code == 0;
}

// A filter over a new index in `dir` that holds `protected_text` as code in `language`, named `name`.
std::unique_ptr<Filter> OpenCodeIndex(const TempDir& dir, const std::string& name,
                                      const std::string& protected_text, const std::string& language) {
  {
    IndexOptions io;
    io.create_if_missing = true;
    auto index = Index::Open(dir / "index", io);
    REQUIRE(index.ok());
    Document d = MakeDoc(name, protected_text);
    d.kind = Kind::kCode;
    d.language = language;
    auto docs = doppel_test::SketchAll((*index)->params(), {std::move(d)});
    WriteSummary ws;
    REQUIRE((*index)->Write(&docs, &ws).ok());
  }
  auto f = Filter::Open(dir / "index", FilterOptions());
  REQUIRE(f.ok());
  return std::move(*f);
}

// The verdict of `filter` on `answer`, code in `language`.
Result<Verdict> CheckCode(const Filter& filter, const std::string& answer, const std::string& language) {
  CheckRequest req;
  req.kind = Kind::kCode;
  req.language = language;
  return filter.Check(answer, req);
}

std::string Paragraph(const std::string& license, size_t begin_line, size_t lines) {
  const auto all = doppel_test::Lines(Slurp(kLicenses + "/" + license));
  std::string out;
  for (size_t i = begin_line; i < begin_line + lines && i < all.size(); ++i) out += all[i] + "\n";
  return out;
}

}  // namespace

TEST_CASE("serve: check round trips allow, annotate with metadata, and block", "[serve]") {
  TempDir dir;
  BuildServiceIndex(dir / "index");
  TestServer srv(dir / "index", ServerOptions{});
  auto c = srv.Client();

  auto r = PostJson(c, "/v1/check", Body({{"text", kNovel}, {"id", "n1"}}));
  REQUIRE(r);
  REQUIRE(r->status == 200);
  {
    Json j(r->body);
    CHECK(j.Str("id") == "n1");
    CHECK(j.Str("action") == "allow");
    CHECK(j.Str("output") == kNovel);
    CHECK(j.root["spans"].get_array().size() == 0);
    CHECK(j.Int("elapsed_us") >= 0);
    CHECK(r->get_header_value("X-Doppel-Action") == "allow");
  }

  // The whole Apache license: blocked, replaced by the block message, attributed.
  r = PostJson(c, "/v1/check", Body({{"text", Slurp(kLicenses + "/Apache-2.0")}}));
  REQUIRE(r);
  REQUIRE(r->status == 200);  // a block is a verdict, not an error
  {
    Json j(r->body);
    CHECK(j.Str("action") == "block");
    CHECK(j.Str("output") == FilterOptions().block_message);
    auto span = j.root["spans"].at(0);
    CHECK(std::string(span["source"]["name"].get_string().value()) == "licenses/Apache-2.0");
    CHECK(std::string(span["source"]["metadata"]["license"].get_string().value()) == "Apache-2.0");
  }

  // A sentence or two quoted in new prose: annotated with the source and its metadata, and the
  // output is the answer followed by a note naming the source, its license and address.
  const std::string quote = "You must give any other recipients of the Work or Derivative Works a copy of this License";
  const std::string answer = std::string(kNovel) + " " + quote + ". That is all.";
  r = PostJson(c, "/v1/check", Body({{"text", answer}}, R"("policy":{"text":{"redact_tokens":100}})"));
  REQUIRE(r);
  REQUIRE(r->status == 200);
  {
    Json j(r->body);
    CHECK(j.Str("action") == "annotate");
    CHECK(j.Str("output") == answer +
                                 "\n\n[note: this answer resembles licenses/Apache-2.0 (license: Apache-2.0, "
                                 "https://www.apache.org/licenses/LICENSE-2.0)]\n");
    // An empty note leaves the answer as it was.
    auto plain = PostJson(c, "/v1/check", Body({{"text", answer}},
                                              R"("policy":{"text":{"redact_tokens":100},"annotate_message":""})"));
    REQUIRE(plain);
    CHECK(Json(plain->body).Str("output") == answer);
    auto span = j.root["spans"].at(0);
    CHECK(std::string(span["source"]["metadata"]["url"].get_string().value()) ==
          "https://www.apache.org/licenses/LICENSE-2.0");
    const int64_t start = span["query"]["start"].get_int64().value();
    CHECK(start >= static_cast<int64_t>(answer.find(quote)) - 1);
  }
}

TEST_CASE("serve: code past tree-sitter's parse stack limit is checked and the server answers on", "[serve]") {
  // 25,000 unclosed Ruby blocks and 36,000 `a = ` in a row: tree-sitter 0.20.7's error recovery
  // freed memory it does not own on either, and the server died with the request.
  TempDir dir;
  BuildServiceIndex(dir / "index");
  ServerOptions o;
  o.request_timeout = std::chrono::milliseconds(60000);  // sanitizers parse ten times slower
  TestServer srv(dir / "index", o);
  auto c = srv.Client();
  c.set_read_timeout(90, 0);
  std::string ruby = "def f\n", js;
  for (int i = 0; i < 25000; ++i) ruby += "  x.y do\n";
  for (int i = 0; i < 36000; ++i) js += "a = ";
  for (const auto& [lang, text] : std::vector<std::pair<std::string, std::string>>{{"ruby", ruby}, {"javascript", js}}) {
    auto r = PostJson(c, "/v1/check", Body({{"text", text}, {"language", lang}}));
    REQUIRE(r);
    INFO(r->body.substr(0, 300));
    CHECK(r->status == 200);
    CHECK(Json(r->body).Str("action") == "allow");
  }
  auto r = PostJson(c, "/v1/check", Body({{"text", kNovel}}));
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("serve: a structured answer, as a JSON string or object, is read in its strings", "[serve]") {
  TempDir dir;
  BuildServiceIndex(dir / "index");
  TestServer srv(dir / "index", ServerOptions{});
  auto c = srv.Client();
  // A chat message whose tool call writes the renamed copy to a file: its arguments are JSON in
  // a string, so the code is escaped twice.
  std::string args = R"({"path": "ranges.py", "content": )";
  AppendJsonString(&args, kAnswerPython);
  args += "}";
  std::string message = R"({"role": "assistant", "content": "Saving the helper.", "tool_calls": [{"id": "call_1", )"
                        R"("type": "function", "function": {"name": "write_file", "arguments": )";
  AppendJsonString(&message, args);
  message += "}}]}";
  // Sent as the answer's text, and as a JSON object in "text" (read as its JSON text, minified).
  for (const std::string& body : {Body({{"id", "tool"}, {"text", message}}), R"({"id": "tool", "text": )" + message + "}"}) {
    auto r = PostJson(c, "/v1/check", body);
    REQUIRE(r);
    INFO(r->body);
    REQUIRE(r->status == 200);
    Json j(r->body);
    CHECK(j.Str("action") == "redact");
    auto span = j.root["spans"].at(0);
    CHECK(std::string(span["source"]["name"].get_string().value()) == "lib/intervals.py");
    CHECK(std::string(span["query"]["json"]["pointer"].at(0).get_string().value()) == "/tool_calls/0/function/arguments");
    CHECK(std::string(span["query"]["json"]["pointer"].at(1).get_string().value()) == "/content");
    CHECK(span["query"]["json"]["lines"].at(0).get_int64().value() >= 8);  // from `def union_ranges`
    // The output is the message, still JSON, the file's content redacted in its string.
    simdjson::dom::parser parser, inner_parser;
    simdjson::dom::element out, inner;
    REQUIRE(parser.parse(j.Str("output")).get(out) == simdjson::SUCCESS);
    std::string_view text;
    REQUIRE(out.at_pointer("/tool_calls/0/function/arguments").get(text) == simdjson::SUCCESS);
    REQUIRE(inner_parser.parse(std::string(text)).get(inner) == simdjson::SUCCESS);
    REQUIRE(inner.at_pointer("/content").get(text) == simdjson::SUCCESS);
    CHECK(Contains(std::string(text), "# [redacted: similar to lib/intervals.py]"));
    CHECK(!Contains(std::string(text), "covered += hi - lo"));
    CHECK(Contains(std::string(text), "def load_config(path):"));
    REQUIRE(out.at_pointer("/content").get(text) == simdjson::SUCCESS);
    CHECK(text == "Saving the helper.");
  }
  ExpectError(PostJson(c, "/v1/check", R"({"text": true})"), 400, "a JSON object or array");
}

TEST_CASE("serve: a renamed code copy is redacted and the redacted code still parses", "[serve]") {
  TempDir dir;
  BuildServiceIndex(dir / "index");
  TestServer srv(dir / "index", ServerOptions{});
  auto c = srv.Client();
  REQUIRE(ParsesCleanly(LanguageByName("python")->grammar, kAnswerPython));

  auto r = PostJson(c, "/v1/check", Body({{"text", kAnswerPython}, {"language", "python"}}));
  REQUIRE(r);
  REQUIRE(r->status == 200);
  Json j(r->body);
  INFO(r->body);
  CHECK(j.Str("action") == "redact");
  auto span = j.root["spans"].at(0);
  CHECK(std::string(span["source"]["name"].get_string().value()) == "lib/intervals.py");
  CHECK(std::string(span["source"]["metadata"]["repository"].get_string().value()) == "example/intervals");
  CHECK(span["renaming"].get_double().value() >= 0.9);
  const std::string output = j.Str("output");
  CHECK(Contains(output, "# [redacted: similar to lib/intervals.py]"));
  CHECK(!Contains(output, "covered += hi - lo"));
  CHECK(Contains(output, "def load_config(path):"));  // the new code around it is kept
  CHECK(ParsesCleanly(LanguageByName("python")->grammar, output));

  // The copy as the only method of a class, decorated: the class keeps a statement (`pass`)
  // and the decorator goes with the code it decorated, so the output still parses; also under
  // a header with a comment after its colon, and one over two lines.
  for (const std::string header : {"class Ranges:\n", "class Ranges:  # helpers: ranges\n",
                                   "class Ranges(object,\n             metaclass=type):\n"}) {
    INFO(header);
    const auto lines = doppel_test::Lines(kAnswerPython);
    std::string cls = "import json\n\n\n" + header + "    @staticmethod\n";
    for (size_t l = 8; l <= 20; ++l) cls += "    " + lines[l] + "\n";  // def union_ranges ... return
    cls += "\n\nclass Other:\n"
           "    def __init__(self, name, limit):\n"
           "        self.name = name\n"
           "        self.limit = limit\n"
           "        self.seen = {}\n"
           "\n"
           "    def note(self, key, amount):\n"
           "        for _ in range(amount):\n"
           "            self.seen.setdefault(key, []).append(self.name)\n"
           "        return len(self.seen[key]) <= self.limit\n"
           "\n"
           "    def report(self):\n"
           "        return sorted(self.seen.items(), key=lambda kv: (-kv[1], kv[0]))\n";
    REQUIRE(ParsesCleanly(LanguageByName("python")->grammar, cls));
    auto rc = PostJson(c, "/v1/check", Body({{"text", cls}, {"language", "python"}}));
    REQUIRE(rc);
    Json jc(rc->body);
    INFO(rc->body);
    CHECK(jc.Str("action") == "redact");
    const std::string out = jc.Str("output");
    CHECK(Contains(out, "# [redacted: similar to lib/intervals.py]"));
    CHECK(!Contains(out, "@staticmethod"));
    CHECK(Contains(out, "class Other:"));
    CHECK(ParsesCleanly(LanguageByName("python")->grammar, out));
    CHECK(PythonParses(dir / "redacted.py", out));  // tree-sitter takes an empty block; Python does not
    CHECK(PythonParses(dir / "answer.py", cls));
  }

  // The same code in a Markdown answer: the fenced block is read as Python, offsets are the
  // answer's, and the marker is a Python comment inside the fence.
  const std::string md = "Here is a helper:\n\n```python\n" + std::string(kAnswerPython) + "```\n\nHope it helps.\n";
  r = PostJson(c, "/v1/check", Body({{"text", md}}));
  REQUIRE(r);
  Json m(r->body);
  CHECK(m.Str("action") == "redact");
  CHECK(m.root["spans"].at(0)["query"]["lines"].at(0).get_int64().value() >= 4);
  CHECK(Contains(m.Str("output"), "# [redacted: similar to lib/intervals.py]"));
  CHECK(Contains(m.Str("output"), "Hope it helps."));
  // In CRLF, the marker line ends in CRLF too.
  std::string crlf;
  for (const char ch : md) crlf += ch == '\n' ? std::string("\r\n") : std::string(1, ch);
  r = PostJson(c, "/v1/check", Body({{"text", crlf}}));
  REQUIRE(r);
  const std::string crlf_out = Json(r->body).Str("output");
  CHECK(Contains(crlf_out, "# [redacted: similar to lib/intervals.py]\r\n"));
  for (size_t at = crlf_out.find('\n'); at != std::string::npos; at = crlf_out.find('\n', at + 1)) {
    CHECK((at > 0 && crlf_out[at - 1] == '\r'));
  }

  // The second check looked the same code fingerprints up again: the decoded posting cache
  // answered them, as /metrics counts.
  auto metrics = c.Get("/metrics");
  REQUIRE(metrics);
  auto value = [&](const std::string& series) { return MetricValue(metrics->body, series); };
  INFO(metrics->body);
  const int64_t hits = value("doppel_posting_cache_lookups_total{result=\"hit\"}");
  const int64_t misses = value("doppel_posting_cache_lookups_total{result=\"miss\"}");
  CHECK(misses > 0);
  CHECK(hits >= misses);
  CHECK(value("doppel_posting_cache_ids") > 0);
  CHECK(value("doppel_index_block_cache_bytes") > 0);
}

// tests/data/redaction/LANG[-CASE]: a protected file (a case may use its language's), an answer
// with one of its functions renamed and reformatted between new functions, the lines of the copy
// that must go (copied.txt) and lines of the new code that must stay (kept.txt).
TEST_CASE("redaction: a renamed copy between new functions is replaced and the code still parses in every language",
          "[serve]") {
  const std::string data = std::string(DOPPEL_TEST_DATA) + "/redaction";
  size_t languages = 0;
  for (const auto& e : std::filesystem::directory_iterator(data)) {
    // A directory is named after its language (and what the case is, after a '-').
    const std::string case_name = e.path().filename().string();
    const std::string lang_name = case_name.substr(0, case_name.find('-'));
    INFO(case_name);
    const Language* lang = LookupLanguage(lang_name);
    REQUIRE(lang != nullptr);
    std::string protected_path, answer_path;
    // A case without its own protected file uses the case its name extends ("c-if-else": c-if's),
    // else its language's.
    const std::string base_case = case_name.substr(0, case_name.rfind('-'));
    for (const auto& dir : {e.path(), e.path().parent_path() / base_case, e.path().parent_path() / lang_name}) {
      if (!std::filesystem::is_directory(dir)) continue;  // a case of its own, no language's files
      for (const auto& f : std::filesystem::directory_iterator(dir)) {
        const std::string stem = f.path().stem().string();
        if (stem == "protected" && protected_path.empty()) protected_path = f.path().string();
        if (stem == "answer" && answer_path.empty()) answer_path = f.path().string();
      }
    }
    const std::string answer = doppel_test::ReadFile(answer_path);
    REQUIRE(ParsesCleanly(lang->grammar, answer));
    TempDir dir;
    auto f = OpenCodeIndex(dir, "protected/" + lang_name, doppel_test::ReadFile(protected_path), lang->name);
    auto v = CheckCode(*f, answer, lang->name);
    REQUIRE(v.ok());
    INFO(v->reason << "\n" << v->output);
    CHECK(v->action == Action::kRedact);
    // (In JSX, among an element's children, the marker is `{/* ... */}`; it is `; //` before a
    // line that begins with `(` in JavaScript's family.)
    // (Inside a C macro's lines, `/* ... */ \`.)
    const std::string macro_marker = "/* [redacted: similar to protected/" + lang_name + "] */ \\";
    CHECK((Contains(v->output, lang->line_comment + " [redacted: similar to protected/" + lang_name + "]") ||
           Contains(v->output, "{/* [redacted: similar to protected/" + lang_name + "] */}") ||
           (!lang->macro_definitions.empty() && Contains(v->output, macro_marker))));
    if (!lang->macro_definitions.empty() && Contains(v->output, macro_marker)) {
      CHECK(CompilerParses(dir / ("redacted." + lang_name), v->output, lang->name == "cpp"));
    } else {
      CHECK(ParsesCleanly(lang->grammar, v->output));
    }
    for (const std::string& line : doppel_test::Lines(doppel_test::ReadFile(e.path() / "copied.txt"))) {
      if (!line.empty()) CHECK_FALSE(Contains(v->output, line));
    }
    for (const std::string& line : doppel_test::Lines(doppel_test::ReadFile(e.path() / "kept.txt"))) {
      if (!line.empty()) CHECK(Contains(v->output, line));
    }
    if (lang->name == "python") {
      // Python's own parser too: tree-sitter's reads a block left indented under the marker.
      CHECK(PythonParses(dir / "redacted.py", v->output));
      // In a fence without a tag, the block is found read as Python and redacted as Python code:
      // the same lines go, and what stays in the fence parses.
      CheckRequest md;
      auto u = f->Check("Here it is:\n\n```\n" + answer + "```\n", md);
      REQUIRE(u.ok());
      INFO(u->output);
      CHECK(u->action == Action::kRedact);
      const size_t open = u->output.find("```\n"), close = u->output.rfind("```");
      REQUIRE(open != std::string::npos);
      REQUIRE(close > open);
      const std::string fenced = u->output.substr(open + 4, close - open - 4);
      CHECK(Contains(fenced, "# [redacted: similar to protected/" + lang_name + "]"));
      CHECK(ParsesCleanly(lang->grammar, fenced));
      for (const std::string& line : doppel_test::Lines(doppel_test::ReadFile(e.path() / "copied.txt"))) {
        if (!line.empty()) CHECK_FALSE(Contains(fenced, line));
      }
      for (const std::string& line : doppel_test::Lines(doppel_test::ReadFile(e.path() / "kept.txt"))) {
        if (!line.empty()) CHECK(Contains(fenced, line));
      }
    }
    ++languages;
  }
  // Nine languages; C whose new functions begin or end as the source's do, whose copy is
  // matched into the header of a new function with its `{` on the next line (c-allman: the
  // header stays with its block), and whose copy's span begins at its name, below its return
  // type (c-gnu: the return type goes with it), or whose copy ends with an `if (...)` whose
  // statement, without braces, is new (c-if: the statement goes too, not left to run
  // unconditionally, and with its else: c-if-else); JavaScript without semicolons whose copy sits
  // under new imports (javascript-imports: they stay); Rust whose copy has new attributes
  // above it (rust-attribute: they go with it); Java whose copy is matched from inside the new method before
  // it (java-tail) or into the header of the one after (java-head); Python whose copy is matched
  // into the header of the next function (python-head), whose body must not be left under the
  // marker, whose copy ends inside a `try` of the function whose `finally` clause is new
  // (python-clauses: the function goes whole, not a `finally` alone), and whose copy is a long
  // signature alone (python-header: its function goes whole, not its body left indented), and
  // whose span begins at the `)` ending a new line above the copy (python-edge: that line stays),
  // and whose copy has new decorators above it, one over several lines (python-decorator: they
  // go with it, not left to decorate the next function; python-decorator-hanging: one whose
  // arguments hang under its first, and one with a bracket in a string); Go whose copy begins with a new
  // function's header and ends with an `if` whose block is new, both too long to take in
  // (go-long: both headers stay, the lines between them go), whose copy begins with a `case`
  // label whose clause goes on with new statements (go-case: the label stays with them), and
  // whose function's signature alone is matched, its body new and too long to take in
  // (go-header: the signature stays over its body; the other copy goes); C++ whose copy begins
  // inside a constructor's initializer list (cpp-init-list: the constructor goes whole, not its
  // first items left ending in `,`), or ends inside it, the later items and the body new
  // (cpp-init-list-head: the same), also with the first item on the constructor's line under a
  // namespace's `{` (cpp-init-list-namespace); TSX whose copy ends inside a JSX element (tsx-jsx:
  // the element goes whole, and a marker among an element's children is `{/* */}`, not a `//`
  // the page would show as text), and whose copy is a whole element in an expression
  // (tsx-jsx-expression: `cond && (` ... `)` keeps an empty fragment holding the marker), whose
  // copy is a `{...}` child (tsx-jsx-child: `{/* */}` too), or begins inside a multi-line
  // opening tag (tsx-jsx-tag: the tag's `>` pairs with its `</`), or whose copied hooks stand
  // above its copied element, now among new sibling elements (tsx-hooks: both replaced, each
  // balanced alone, the new sibling kept); JavaScript without semicolons
  // whose copy stands before a line that begins with `(` (javascript-asi: the marker begins
  // with `;`, or `Date.now()` would run on into a call of the `(async () => ...)` after it; and
  // javascript-asi-arrow: the copy an arrow function in a `const`, which the grammar reads as
  // called by that line);
  // Python whose copied `if` header, with an `else`, stands over a long new body
  // (python-if-header: the header stays, not its body left indented under the marker); Rust
  // whose copied match arms follow a new one, the span taking that arm's `),` (rust-match: the
  // new arm stays, neither taken for the copy's first line nor for a statement's head); C whose
  // copy is the middle of a multi-line macro (c-macro: the marker ends in `\` as the lines it
  // replaces did, in a block comment, so the macro's new lines after it stay its own); Python
  // with two functions copied one after the other, the first without its last line
  // (python-two-copies: both go; the alignment chained them and only the longer was reported);
  // C and Python whose copy is a function's header and first statements, its body going on with
  // new code under the header of a copied loop, too long to take in (c-partial, python-partial:
  // the headers stay, the copied statements between them go, not the header alone, which left
  // C's body at the outer level, nor a line of the new code); Python and C whose copied
  // signature on one line holds more tokens than its copied first statements
  // (python-long-header, c-long-header: the statements go, the signature stays over the new
  // body), and Python whose copied signature runs over several lines (python-signature: it stays
  // whole, its copied first statements go, not its parameter lines); Python whose copied
  // `if`/`elif` chain, one `elif` continued with a backslash, ends at an `else:` whose body is
  // new (python-else: the clauses' heads stay, their bodies go with a `pass`, no `else` left
  // without its `if`), and Go whose copied head ends at a label over a `for` whose new body
  // names it (go-label: the label stays), and Go whose copy ends inside a condition over several
  // lines without brackets (go-condition: the condition's lines stay whole with the new body),
  // and Rust whose copied lines end with `?;` (rust-try: they go; `?` before a `;` ends the
  // statement, it does not go on to the next line).
  CHECK(languages == 51);
}

TEST_CASE("redaction: a passage that can be neither balanced nor given up as a header is still replaced", "[serve]") {
  // A one-line function copied as an array's first item, beside a second copy: its line opens
  // the array, too long to take in, and is no block's header, so it is replaced as matched (not
  // left in the output beside the other copy's marker).
  const std::string crc =
      "function (table, crc, bytes, start, end) { let c = crc ^ 0xffffffff; for (let i = start; i < end; i++) { "
      "c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8); } if (c < 0) { c += 4294967296; } return (c ^ 0xffffffff) >>> 0; }";
  const std::string table =
      "function buildCrcTable(polynomial) {\n"
      "  const table = new Uint32Array(256);\n"
      "  for (let n = 0; n < 256; n++) {\n"
      "    let c = n;\n"
      "    for (let k = 0; k < 8; k++) {\n"
      "      c = c & 1 ? polynomial ^ (c >>> 1) : c >>> 1;\n"
      "    }\n"
      "    table[n] = c >>> 0;\n"
      "  }\n"
      "  return table;\n"
      "}\n";
  std::string items;
  for (int i = 0; i < 12; ++i) {
    items += "  function step" + std::to_string(i) + "(value) {\n    return describe(value, " + std::to_string(i * 7) +
             ", \"step\" + String(value).padStart(" + std::to_string(i + 2) + "));\n  },\n";
  }
  const std::string answer = "const steps = [crcUpdate = " + crc + ",\n" + items + "];\n\n" + table;
  TempDir dir;
  auto f = OpenCodeIndex(dir, "protected/js", "function crc32Update" + crc.substr(8) + "\n\n" + table, "javascript");
  auto v = CheckCode(*f, answer, "javascript");
  REQUIRE(v.ok());
  INFO(v->output);
  REQUIRE(v->action == Action::kRedact);
  REQUIRE(v->spans.size() == 2);
  CHECK_FALSE(Contains(v->output, "4294967296"));
  CHECK_FALSE(Contains(v->output, "polynomial ^"));
  CHECK(Contains(v->output, "function step11(value)"));
}

TEST_CASE("redaction: JSX in a quoted block is not read from the answer's bytes, whose `> ` would garble it",
          "[serve]") {
  // tsx-jsx-expression's answer in a block quote: its code is read without the quote's prefixes,
  // so its JSX is not parsed from the answer (a `{/* */}` written there from a garbled tree was
  // `cond && ({})`); its markers are the language's comments, as for any quoted block.
  const std::string data = std::string(DOPPEL_TEST_DATA) + "/redaction";
  std::string quoted = "Here it is:\n\n> ```tsx\n";
  for (const std::string& line : doppel_test::Lines(doppel_test::ReadFile(data + "/tsx-jsx-expression/answer.tsx"))) {
    quoted += "> " + line + "\n";
  }
  quoted += "> ```\n";
  TempDir dir;
  auto f = OpenCodeIndex(dir, "protected/tsx", doppel_test::ReadFile(data + "/tsx-jsx/protected.tsx"), "tsx");
  auto v = f->Check(quoted, CheckRequest());
  REQUIRE(v.ok());
  INFO(v->output);
  REQUIRE(v->action == Action::kRedact);
  CHECK(Contains(v->output, ">       // [redacted: similar to protected/tsx]"));
  CHECK_FALSE(Contains(v->output, "{/*"));
  CHECK_FALSE(Contains(v->output, "<li key={i}"));
}

TEST_CASE("redaction: JavaScript in a list item is parsed where it stands, its code only indented", "[serve]") {
  // javascript-asi's and tsx-jsx-expression's answers as a list item's fenced blocks: their
  // markers are those of the blocks alone (`; //`, `<>{/* */}</>`), and what stays parses once
  // the item's indentation is taken off.
  const std::string data = std::string(DOPPEL_TEST_DATA) + "/redaction";
  for (const auto& [name, lang, marker] :
       {std::tuple<std::string, std::string, std::string>{"javascript-asi", "javascript", "; // [redacted: similar to protected/javascript]"},
        {"tsx-jsx-expression", "tsx", "<>{/* [redacted: similar to protected/tsx] */}</>"}}) {
    INFO(name);
    const std::string base = name.substr(0, name.rfind('-'));
    const std::string protected_file = data + "/" + (name == "javascript-asi" ? name + "/protected.js" : base + "/protected.tsx");
    std::string item = "1. Here it is:\n\n   ```" + lang + "\n";
    const auto lines = doppel_test::Lines(doppel_test::ReadFile(data + "/" + name + "/answer." + (lang == "tsx" ? "tsx" : "js")));
    for (const std::string& line : lines) item += (line.empty() ? "" : "   ") + line + "\n";
    item += "   ```\n";
    TempDir dir;
    auto f = OpenCodeIndex(dir, "protected/" + lang, doppel_test::ReadFile(protected_file), lang);
    auto v = f->Check(item, CheckRequest());
    REQUIRE(v.ok());
    INFO(v->output);
    REQUIRE(v->action == Action::kRedact);
    CHECK(Contains(v->output, "   " + marker));
    const size_t open = v->output.find("```" + lang + "\n"), close = v->output.rfind("   ```");
    REQUIRE(open != std::string::npos);
    REQUIRE(close > open);
    std::string code;
    for (const std::string& line : doppel_test::Lines(v->output.substr(open + lang.size() + 4, close - open - lang.size() - 4))) {
      code += (line.size() >= 3 ? line.substr(3) : line) + "\n";
    }
    CHECK(ParsesCleanly(LookupLanguage(lang)->grammar, code));
  }
}

TEST_CASE("redaction: an answer whose only passage is a signature over a long new body still has it replaced",
          "[serve]") {
  // go-header's answer without its second copy: the signature alone, whose passage would be
  // given up beside another, is all there is to redact, so it is replaced as matched.
  const std::string data = std::string(DOPPEL_TEST_DATA) + "/redaction/go-header";
  std::string answer = doppel_test::ReadFile(data + "/answer.go");
  answer.erase(answer.find("\n// Find returns"));
  TempDir dir;
  auto f = OpenCodeIndex(dir, "protected/go", doppel_test::ReadFile(data + "/protected.go"), "go");
  auto v = CheckCode(*f, answer, "go");
  REQUIRE(v.ok());
  INFO(v->output);
  REQUIRE(v->action == Action::kRedact);
  REQUIRE(v->spans.size() == 1);
  CHECK(Contains(v->output, "// [redacted: similar to protected/go]"));
  CHECK_FALSE(Contains(v->output, "func (l *Ledger) Combine("));
  CHECK(Contains(v->output, "combined := []Entry{}"));
}

TEST_CASE("redaction: a fenced block of a language without a grammar is redacted in its own comment syntax",
          "[serve]") {
  CHECK(CommentSyntaxFor("python").open == "#");
  CHECK(CommentSyntaxFor("Go").open == "//");
  CHECK(CommentSyntaxFor("BASH").open == "#");
  CHECK(CommentSyntaxFor(".sql").open == "--");
  CHECK((CommentSyntaxFor("css").open == "/*" && CommentSyntaxFor("css").close == "*/"));
  CHECK(CommentSyntaxFor("html").close == "-->");
  CHECK(CommentSyntaxFor("no-such-language").open == "//");
  CHECK(CommentSyntaxFor("").open == "//");
  CHECK(CommentText({"#", ""}, "from a\nb\r\x7f") == "# from a b  ");
  CHECK(CommentText({"/*", "*/"}, "a*/b*/*/") == "/* a* /b* / * / */");
  CHECK(CommentText({"(*", "*)"}, "f(*)") == "(* f( * ) *)");
  CHECK(CommentText({"<!--", "-->"}, "a--->b<!--") == "<!-- a- - ->b< !- - -->");
  CHECK(CommentText({"{/*", "*/}"}, "a*/b*/}") == "{/* a* /b* /} */}");  // JSX
  const std::string shell =
      "deploy_release() {\n"
      "  local release_dir=\"$DEPLOY_ROOT/releases/$(date +%Y%m%d%H%M%S)\"\n"
      "  mkdir -p \"$release_dir\"\n"
      "  tar -xzf \"$ARTIFACT\" -C \"$release_dir\" --strip-components=1\n"
      "  for hook in \"$release_dir\"/hooks/pre-*.sh; do\n"
      "    [ -x \"$hook\" ] && \"$hook\" \"$release_dir\" || { echo \"hook failed: $hook\" >&2; return 3; }\n"
      "  done\n"
      "  ln -sfn \"$release_dir\" \"$DEPLOY_ROOT/current.tmp\"\n"
      "  mv -T \"$DEPLOY_ROOT/current.tmp\" \"$DEPLOY_ROOT/current\"\n"
      "  systemctl reload \"$SERVICE_NAME\" && prune_releases \"$DEPLOY_ROOT/releases\" \"$KEEP_RELEASES\"\n"
      "}\n";
  const std::string sql =
      "SELECT c.region, date_trunc('month', o.placed_at) AS month,\n"
      "       count(DISTINCT o.customer_id) AS buyers, sum(l.quantity * l.unit_price) AS revenue\n"
      "FROM orders o\n"
      "JOIN customers c ON c.id = o.customer_id\n"
      "JOIN order_lines l ON l.order_id = o.id\n"
      "WHERE o.status NOT IN ('cancelled', 'refunded') AND o.placed_at >= now() - interval '13 months'\n"
      "GROUP BY c.region, date_trunc('month', o.placed_at)\n"
      "HAVING sum(l.quantity * l.unit_price) > 1000\n"
      "ORDER BY c.region, month;\n";
  const std::string css =
      ".release-board__column {\n"
      "  display: grid; grid-template-columns: repeat(auto-fill, minmax(14rem, 1fr));\n"
      "  gap: 0.75rem 1.25rem; padding: calc(var(--board-gutter) * 1.5) var(--board-gutter);\n"
      "  border-inline-start: 3px solid color-mix(in srgb, var(--accent) 60%, transparent);\n"
      "}\n"
      ".release-board__card[data-state=\"blocked\"] > .release-board__title::after {\n"
      "  content: \"blocked\"; margin-inline-start: auto; font: 600 0.7rem/1 var(--mono-font);\n"
      "  text-transform: uppercase; letter-spacing: 0.08em; color: var(--danger-ink);\n"
      "}\n"
      "@media (prefers-reduced-motion: no-preference) {\n"
      "  .release-board__card { transition: transform 160ms ease-out, box-shadow 160ms ease-out; }\n"
      "  .release-board__card:hover { transform: translateY(-2px); box-shadow: 0 6px 18px rgb(0 0 0 / 0.12); }\n"
      "}\n";
  TempDir dir;
  {
    IndexOptions io;
    io.create_if_missing = true;
    auto index = Index::Open(dir / "index", io);
    REQUIRE(index.ok());
    std::vector<Document> docs;
    // A name holding a block comment's end, which must not end the marker's comment.
    for (const auto& [name, text] : {std::pair{"protected/deploy.sh", shell}, std::pair{"protected/report.sql", sql},
                                     std::pair{"protected/theme*/board.css", css}}) {
      Document d = MakeDoc(name, text);
      d.kind = Kind::kCode;  // no grammar: the generic lexer reads them
      docs.push_back(std::move(d));
    }
    auto sketched = doppel_test::SketchAll((*index)->params(), std::move(docs));
    WriteSummary ws;
    REQUIRE((*index)->Write(&sketched, &ws).ok());
  }
  // Copies make most of these answers: redacted (or annotated) rather than blocked.
  FilterOptions o;
  o.code.block_containment = o.text.block_containment = 2;
  auto f = Filter::Open(dir / "index", o);
  REQUIRE(f.ok());
  const std::string answer = "Deploy with:\n\n```bash\nset -euo pipefail\n" + shell +
                             "deploy_release\n```\n\nand report with:\n\n```sql\n" + sql + "```\n";
  auto v = (*f)->Check(answer, CheckRequest{});
  REQUIRE(v.ok());
  INFO(v->reason << "\n" << v->output);
  CHECK(v->action == Action::kRedact);
  CHECK(Contains(v->output, "\n# [redacted: similar to protected/deploy.sh]\n"));
  CHECK(Contains(v->output, "\n-- [redacted: similar to protected/report.sql]\n"));
  CHECK_FALSE(Contains(v->output, "// [redacted"));
  CHECK_FALSE(Contains(v->output, "systemctl reload"));
  CHECK_FALSE(Contains(v->output, "JOIN order_lines"));
  CHECK(Contains(v->output, "set -euo pipefail\n"));  // the new lines stay
  CHECK(Contains(v->output, "\ndeploy_release\n```"));
  // A block comment closes after the marker, and the name's "*/" does not close it before.
  v = (*f)->Check("Style the board:\n\n```css\n" + css + "```\n", CheckRequest{});
  REQUIRE(v.ok());
  INFO(v->output);
  CHECK(v->action == Action::kRedact);
  CHECK(Contains(v->output, "\n/* [redacted: similar to protected/theme* /board.css] */\n```"));
  CHECK_FALSE(Contains(v->output, "grid-template-columns"));
  // A note on a whole answer in such a language is a comment of it too.
  FilterOptions annotate = o;
  annotate.actions[static_cast<size_t>(Action::kRedact)] = Action::kAnnotate;
  annotate.annotate_message = "from {sources}";
  auto fa = Filter::Open(dir / "index", annotate);
  REQUIRE(fa.ok());
  CheckRequest req;
  req.kind = Kind::kCode;
  req.language = "sql";
  v = (*fa)->Check(sql, req);
  REQUIRE(v.ok());
  CHECK(v->action == Action::kAnnotate);
  CHECK(v->output == sql + "-- from protected/report.sql\n");
  // So is one the server is sent with its language's name: the name is kept, not dropped for
  // having no grammar here.
  TestServer srv(dir / "index", ServerOptions{}, annotate);
  auto c = srv.Client();
  for (const char* key : {"language", "lang"}) {
    auto r = PostJson(c, "/v1/check", Body({{"text", sql}, {key, "SQL"}}));
    REQUIRE(r);
    REQUIRE(r->status == 200);
    INFO(r->body);
    CHECK(Json(r->body).Str("action") == "annotate");
    CHECK(Json(r->body).Str("output") == sql + "-- from protected/report.sql\n");
  }
}

TEST_CASE("annotation: code gets its note as one comment line that still parses", "[serve]") {
  TempDir dir;
  {
    IndexOptions io;
    io.create_if_missing = true;
    auto index = Index::Open(dir / "index", io);
    REQUIRE(index.ok());
    // Metadata with a line break, which must not end the comment.
    Document py = MakeDoc("lib/intervals.py", kProtectedPython,
                          R"({"license":"MIT\r\nimport os","url":"https://example.org/intervals"})");
    py.kind = Kind::kCode;
    py.language = "python";
    auto docs = doppel_test::SketchAll((*index)->params(), {std::move(py)});
    WriteSummary ws;
    REQUIRE((*index)->Write(&docs, &ws).ok());
  }
  FilterOptions o;
  o.actions[static_cast<size_t>(Action::kRedact)] = Action::kAnnotate;  // annotate what would be redacted
  o.annotate_message = "# {sources} / {sources}";
  auto f = Filter::Open(dir / "index", o);
  REQUIRE(f.ok());
  CheckRequest req;
  req.kind = Kind::kCode;
  req.language = "python";
  auto v = (*f)->Check(kAnswerPython, req);
  REQUIRE(v.ok());
  INFO(v->output);
  CHECK(v->action == Action::kAnnotate);
  const std::string note = "lib/intervals.py (license: MIT  import os, https://example.org/intervals)";
  CHECK(v->output == std::string(kAnswerPython) + "# # " + note + " / " + note + "\n");
  CHECK(ParsesCleanly(LanguageByName("python")->grammar, v->output));
}

TEST_CASE("serve: a streaming session flags at the append that crosses the threshold", "[serve]") {
  TempDir dir;
  BuildServiceIndex(dir / "index");
  TestServer srv(dir / "index", ServerOptions{});
  auto c = srv.Client();

  auto r = PostJson(c, "/v1/sessions", "{}");
  REQUIRE(r);
  REQUIRE(r->status == 201);
  const std::string id = Json(r->body).Str("id");
  const std::string path = "/v1/sessions/" + id + "/append";

  // Novel prose, word by word: never flagged.
  std::string sent;
  for (const auto& w : doppel_test::Lines(std::string(kNovel).substr(0, 300) + "\n")) {
    sent += w + "\n";
    r = PostJson(c, path, Body({{"text", w + "\n"}}));
    REQUIRE(r);
    REQUIRE(r->status == 200);
    CHECK_FALSE(Json(r->body).Bool("flagged"));
  }
  // Then the MPL, line by line: flagged once enough of it arrived (the text threshold is 30
  // tokens from one source), at that append's length, and flagged stays set.
  const auto mpl = doppel_test::Lines(Paragraph("MPL-2.0", 20, 30));
  size_t mpl_words = 0, flagged_append = 0, flagged_at = 0;
  for (size_t i = 0; i < mpl.size(); ++i) {
    const std::string line = mpl[i] + "\n";
    sent += line;
    std::istringstream words(mpl[i]);
    std::string w;
    while (words >> w) ++mpl_words;
    r = PostJson(c, path, Body({{"text", line}}));
    REQUIRE(r);
    REQUIRE(r->status == 200);
    Json j(r->body);
    CHECK(j.Int("total_bytes") == static_cast<int64_t>(sent.size()));
    if (j.Bool("flagged")) {
      if (flagged_append == 0) {
        flagged_append = i + 1;
        flagged_at = static_cast<size_t>(j.Int("flagged_at"));
        CHECK(flagged_at == sent.size());
        CHECK(mpl_words >= 20);  // not before the copied passage is long enough to count
        CHECK(mpl_words <= 60);  // nor long after
        CHECK((j.Str("action") == "redact" || j.Str("action") == "block"));
      }
      CHECK(static_cast<size_t>(j.Int("flagged_at")) == flagged_at);
    } else {
      CHECK(flagged_append == 0);
    }
  }
  CHECK(flagged_append > 0);

  // Closing returns the verdict on the whole answer; the session is gone afterwards.
  r = c.Delete(("/v1/sessions/" + id).c_str());
  REQUIRE(r);
  REQUIRE(r->status == 200);
  Json done(r->body);
  CHECK(done.Int("checked_bytes") == static_cast<int64_t>(sent.size()));
  CHECK(done.Bool("flagged"));
  ExpectError(PostJson(c, path, Body({{"text", "more"}})), 404, "no session");
  ExpectError(c.Delete(("/v1/sessions/" + id).c_str()), 404, "no session");
}

TEST_CASE("session: chunks may split UTF-8 characters, bad bytes are refused and not kept", "[serve]") {
  TempDir dir;
  BuildServiceIndex(dir / "index");
  auto f = Filter::Open(dir / "index", FilterOptions());
  REQUIRE(f.ok());
  SessionOptions so;
  so.check_every_bytes = 1;
  Session s(**f, so);
  const std::string text = "Caf\xC3\xA9 cr\xC3\xA8me \xE2\x82\xAC 5\n";
  for (char ch : text) {  // one byte at a time
    auto u = s.Append(std::string_view(&ch, 1));
    INFO(u.status().ToString());
    REQUIRE(u.ok());
    CHECK(u->verdict.action == Action::kAllow);
  }
  CHECK(s.text() == text);
  auto bad = s.Append("\xFF\xFE");
  REQUIRE(!bad.ok());
  CHECK(bad.status().code() == Status::Code::kInvalidArgument);
  CHECK(Contains(bad.status().message(), "offset " + std::to_string(text.size())));
  CHECK(s.text() == text);
  // A check past its deadline keeps nothing of the chunk: sent again, it is in the answer once.
  auto late = s.Append("A second line of the answer.\n", std::chrono::steady_clock::now() - std::chrono::seconds(1));
  REQUIRE(!late.ok());
  CHECK(late.status().code() == Status::Code::kUnavailable);
  CHECK(s.text() == text);
  auto again = s.Append("A second line of the answer.\n");
  REQUIRE(again.ok());
  CHECK(again->checked);
  CHECK(again->total_bytes == text.size() + 29);
  CHECK(s.text() == text + "A second line of the answer.\n");
  // An answer cut inside a character is an error only at the end.
  REQUIRE(s.Append("\xE2\x82").ok());
  auto fin = s.Finish();
  REQUIRE(!fin.ok());
  CHECK(fin.status().code() == Status::Code::kInvalidArgument);

  SessionOptions small;
  small.max_bytes = 16;
  Session limited(**f, small);
  REQUIRE(limited.Append("0123456789").ok());
  auto over = limited.Append("0123456789");
  REQUIRE(!over.ok());
  CHECK(over.status().code() == Status::Code::kResourceExhausted);
  CHECK(limited.text() == "0123456789");
}

TEST_CASE("session: streaming a long answer line by line runs a bounded number of checks", "[serve]") {
  TempDir dir;
  BuildServiceIndex(dir / "index");
  auto f = Filter::Open(dir / "index", FilterOptions());
  REQUIRE(f.ok());
  Session s(**f, SessionOptions{});
  std::mt19937_64 rng(5);
  size_t appends = 0, checks = 0;
  std::string answer;
  while (answer.size() < 200'000) {
    const std::string line = doppel_test::RandomWords(rng, 12) + "\n";
    answer += line;
    auto u = s.Append(line);
    REQUIRE(u.ok());
    ++appends;
    checks += u->checked;
    CHECK(u->checked_bytes <= answer.size());
    CHECK(answer.size() - u->checked_bytes <= answer.size() / 16 + 256);  // never far behind
  }
  CHECK(appends > 2000);
  CHECK(checks < 400);  // not one per line: the answer grows by a share between checks
  auto fin = s.Finish();
  REQUIRE(fin.ok());
  CHECK(fin->checked_bytes == answer.size());
  CHECK(fin->verdict.action == Action::kAllow);
}

TEST_CASE("session: a copy that arrives in one chunk is flagged at the line that crossed the threshold", "[serve]") {
  TempDir dir;
  BuildServiceIndex(dir / "index");
  auto f = Filter::Open(dir / "index", FilterOptions());
  REQUIRE(f.ok());
  std::string novel;
  for (const auto& w : doppel_test::Lines(std::string(kNovel).substr(0, 300) + "\n")) novel += w + "\n";
  const std::string mpl = Paragraph("MPL-2.0", 20, 30);
  const std::string answer = novel + mpl + novel;
  Session s(**f, SessionOptions{});
  auto u = s.Append(answer);
  REQUIRE(u.ok());
  REQUIRE(u->checked);
  REQUIRE(u->flagged);
  INFO("flagged_at " << u->flagged_at << " of " << answer.size() << ", the copy is [" << novel.size() << ", "
                     << novel.size() + mpl.size() << ")");
  // Inside the copy (not the chunk's end), at a line's end: the prefix to it flags, the one
  // a line shorter does not.
  CHECK(u->flagged_at > novel.size());
  CHECK(u->flagged_at < novel.size() + mpl.size());
  CHECK(answer[u->flagged_at - 1] == '\n');
  auto flags = [&](size_t end) {
    auto v = (*f)->Check(std::string_view(answer).substr(0, end), CheckRequest{});
    REQUIRE(v.ok());
    return v->action == Action::kRedact || v->action == Action::kBlock;
  };
  CHECK(flags(u->flagged_at));
  const size_t line_before = answer.rfind('\n', u->flagged_at - 2) + 1;
  CHECK_FALSE(flags(line_before));
  // The verdict is still the whole chunk's, and the offset stays as later text arrives.
  CHECK(u->checked_bytes == answer.size());
  const size_t at = u->flagged_at;
  auto more = s.Append(novel);
  REQUIRE(more.ok());
  CHECK(more->flagged_at == at);
}

TEST_CASE("serve: an idle session expires while one in use stays open", "[serve]") {
  TempDir dir;
  BuildServiceIndex(dir / "index");
  ServerOptions so;
  so.session_ttl = std::chrono::seconds(2);
  so.refresh_interval = std::chrono::milliseconds(100);
  TestServer srv(dir / "index", so);
  auto c = srv.Client();
  auto open = [&] {
    auto r = PostJson(c, "/v1/sessions", "{}");
    REQUIRE(r);
    REQUIRE(r->status == 201);
    Json j(r->body);
    CHECK(j.Int("expires_after_s") == 2);
    return j.Str("id");
  };
  const std::string idle = open(), busy = open();
  // The busy session gets a line every 100 ms (far within its 2 s) until the idle one is gone
  // (at most 15 s).
  bool expired = false;
  for (int i = 0; i < 150 && !expired; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto r = PostJson(c, "/v1/sessions/" + busy + "/append", Body({{"text", "still writing\n"}}));
    REQUIRE(r);
    REQUIRE(r->status == 200);
    auto probe = c.Get("/metrics");
    REQUIRE(probe);
    const std::string series = "\ndoppel_sessions_expired_total ";
    const size_t at = probe->body.find(series);
    REQUIRE(at != std::string::npos);
    const int64_t n = std::stoll(probe->body.substr(at + series.size()));
    CHECK(n <= 1);  // the busy one never
    expired = n >= 1;
  }
  REQUIRE(expired);
  ExpectError(PostJson(c, "/v1/sessions/" + idle + "/append", Body({{"text", "late\n"}})), 404, "no session");
  auto r = c.Delete(("/v1/sessions/" + busy).c_str());
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(Json(r->body).Int("total_bytes") > 0);
}

TEST_CASE("serve: what follows a body the server did not read is never taken for a request", "[serve]") {
  // A refused body (a length that is not one, an encoding not read) or a request no route
  // takes is answered, and the connection then closed: the bytes after it, here a request of
  // their own sent in the same write, are never served.
  TempDir dir;
  BuildServiceIndex(dir / "index");
  TestServer srv(dir / "index", ServerOptions{});
  const std::string next = "GET /v1/smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  const std::string length = std::to_string(next.size());
  for (const auto& [head, status] : std::vector<std::pair<std::string, std::string>>{
           {"POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Encoding: br\r\nContent-Length: " + length, "415"},
           {"POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1x", "400"},
           {"POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nContent-Length: " + length, "400"},
           {"PUT /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + length, "405"},
           {"POST /v1/nothing HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + length, "404"}}) {
    const std::string replies = RawExchange(srv.port(), head + "\r\n\r\n" + next);
    INFO(head << "\n" << replies);
    CHECK(replies.rfind("HTTP/1.1 " + status, 0) == 0);
    CHECK(replies.find("HTTP/1.1 ", 1) == std::string::npos);  // one response, then the end
    CHECK(Contains(replies, "Connection: close"));
    CHECK(!Contains(replies, "Keep-Alive"));  // (not both)
    CHECK(Contains(replies, "\"code\":"));
    CHECK(!Contains(replies, "smuggled"));
  }
  // A GET or DELETE with a body: 400, and closed.
  for (const std::string method : {"GET /healthz", "DELETE /v1/sessions/0123abcd"}) {
    const std::string replies = RawExchange(srv.port(), method + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + length +
                                                            "\r\n\r\n" + next);
    INFO(replies);
    CHECK(replies.rfind("HTTP/1.1 400", 0) == 0);
    CHECK(Contains(replies, "takes no request body"));
    CHECK(replies.find("HTTP/1.1 ", 1) == std::string::npos);
  }
  // A request refused for its token: its body unread, the connection is closed too.
  {
    ServerOptions guarded;
    guarded.token = "s3cret-token-value";
    TestServer locked(dir / "index", guarded);
    const std::string replies = RawExchange(locked.port(), "POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " +
                                                               length + "\r\n\r\n" + next);
    INFO(replies);
    CHECK(replies.rfind("HTTP/1.1 401", 0) == 0);
    CHECK(replies.find("HTTP/1.1 ", 1) == std::string::npos);
  }
  // A good request keeps its connection.
  auto c = srv.Client();
  c.set_keep_alive(true);
  for (int i = 0; i < 3; ++i) {
    auto r = PostJson(c, "/v1/check", Body({{"text", "a few words of new text"}}));
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->get_header_value("Connection") != "close");
  }
}

TEST_CASE("serve: a Range header is not served, and a language must be a name", "[serve]") {
  TempDir dir;
  BuildServiceIndex(dir / "index");
  TestServer srv(dir / "index", ServerOptions{});
  auto c = srv.Client();
  const httplib::Headers range = {{"Range", "bytes=0-5"}};
  auto r = c.Post("/v1/check", range, Body({{"text", "a few words of new text"}}), "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(Json(r->body).Str("action") == "allow");  // the whole verdict, not 6 bytes of it
  r = c.Post("/v1/check", range, R"({"text": 1})", "application/json");
  REQUIRE(r);
  INFO(r->body);
  CHECK(r->status == 400);
  CHECK(Json(r->body).Str("message") == "\"text\" must be a string, or a JSON object or array (a structured answer)");
  ExpectError(PostJson(c, "/v1/check", R"({"text": "x = 1", "language": "py\u0000"})"), 400, "must be a language name");
  ExpectError(PostJson(c, "/v1/check", Body({{"text", "x = 1"}, {"language", std::string(100, 'p')}})), 400,
              "must be a language name");
  ExpectError(c.Get("/v1/" + std::string(100 * 1024, 'a')), 414, "path is longer than the server reads");
}

TEST_CASE("serve: a body slower than the body time limit is cut off with 408", "[serve]") {
  TempDir dir;
  BuildServiceIndex(dir / "index");
  ServerOptions o;
  o.body_timeout = std::chrono::milliseconds(1000);
  TestServer srv(dir / "index", o);
  const int fd = ConnectLocal(srv.port());
  const std::string head = "POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{";
  REQUIRE(::send(fd, head.data(), head.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(head.size()));
  // One byte every 200 ms (no read waits long), for at most 8 s.
  std::string reply;
  for (int i = 0; i < 40 && reply.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ::send(fd, " ", 1, MSG_NOSIGNAL);
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) reply.assign(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  INFO(reply);
  CHECK(reply.rfind("HTTP/1.1 408", 0) == 0);
  CHECK(Contains(reply, "did not arrive within the server's time limit for a body"));
}

TEST_CASE("serve: a body that stops arriving is a 408 at the body time limit, a length over the limit a 413 at once",
          "[serve]") {
  TempDir dir;
  BuildServiceIndex(dir / "index");
  ServerOptions o;
  o.body_timeout = std::chrono::milliseconds(1000);
  o.request_timeout = std::chrono::milliseconds(8000);
  TestServer srv(dir / "index", o);
  // Sends `request` and nothing more; the first reply within `wait_ms` (polled every 100 ms).
  auto reply_to = [&](const std::string& request, int wait_ms) {
    const int fd = ConnectLocal(srv.port());
    REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size()));
    std::string reply;
    for (int waited = 0; waited < wait_ms && reply.empty(); waited += 100) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      char buf[4096];
      const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) reply.assign(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return reply;
  };
  // Four bytes of a body of 40, then nothing. The socket's wait was the check's time limit (9 s
  // here), after which the body was a 400, "cut short".
  std::string reply = reply_to("POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 40\r\n\r\n{\"te", 5000);
  INFO(reply);
  CHECK(reply.rfind("HTTP/1.1 408", 0) == 0);
  CHECK(Contains(reply, "did not arrive within the server's time limit for a body"));
  // A declared length over the limit is refused before its body is waited for.
  reply = reply_to("POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 99999999999\r\n\r\n", 800);
  CHECK(reply.rfind("HTTP/1.1 413", 0) == 0);
  CHECK(Contains(reply, "larger than the server's limit"));
}

TEST_CASE("serve: the listening socket's backlog is the system's, not 5", "[serve]") {
  // A burst of clients connecting at once overflowed a backlog of 5 (their connections reset).
  TempDir dir;
  BuildServiceIndex(dir / "index");
  TestServer srv(dir / "index", ServerOptions{});
  int backlog = -1;
  for (int fd = 3; fd < 4096 && backlog < 0; ++fd) {
    int listening = 0;
    socklen_t len = sizeof listening;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening == 0) continue;
    sockaddr_in a{};
    socklen_t alen = sizeof a;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &alen) != 0 || a.sin_family != AF_INET ||
        ntohs(a.sin_port) != srv.port()) {
      continue;
    }
    tcp_info info{};
    socklen_t ilen = sizeof info;
    REQUIRE(::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &ilen) == 0);
    backlog = static_cast<int>(info.tcpi_sacked);  // a listening socket's maximum backlog
  }
  CHECK(backlog >= 128);
}

TEST_CASE("serve: every error status has a JSON body", "[serve]") {
  TempDir dir;
  BuildServiceIndex(dir / "index");
  ServerOptions o;
  o.max_body_bytes = 64 * 1024;
  o.max_sessions = 1;
  o.max_session_bytes = 1000;
  TestServer srv(dir / "index", o);
  auto c = srv.Client();

  ExpectError(PostJson(c, "/v1/check", "{not json"), 400, "not valid JSON");
  ExpectError(PostJson(c, "/v1/check", R"({"text": "a", "text": "b"})"), 400, "field \"text\" is given twice");
  ExpectError(PostJson(c, "/v1/check", R"({"text": "a", "lang": "c", "language": "go"})"), 400,
              "\"lang\" and \"language\" are one field");
  ExpectError(PostJson(c, "/v1/check", "{\"text\": \"a\",\n \"language\": py}"), 400,
              "not valid JSON (at byte 27 (line 2, column 14): expected a JSON value, found 'p')");
  ExpectError(PostJson(c, "/v1/check", "[1,2]"), 400, "JSON object");
  ExpectError(PostJson(c, "/v1/check", "{}"), 400, "\"text\" is missing");
  ExpectError(PostJson(c, "/v1/check", R"({"text": 5})"), 400, "\"text\" must be a string");
  // So is a number past a double's range or 64 bits, which the JSON reader keeps as its digits
  // (for ids); a string of digits beside such an id is a text.
  ExpectError(PostJson(c, "/v1/check", R"({"text": 1e999})"), 400, "\"text\" must be a string");
  ExpectError(PostJson(c, "/v1/check", R"({"text": 123456789012345678901234567890})"), 400, "\"text\" must be a string");
  ExpectError(PostJson(c, "/v1/check", R"({"text": "a", "language": 1e999})"), 400, "\"language\" must be a string");
  ExpectError(PostJson(c, "/v1/check", R"({"text": 1e999, "id": "1e999"})"), 400, "\"text\" must be a string");
  for (const std::string text : {R"("42")", R"("\u0034\u0032")", R"("4\u0032")"}) {
    auto digits = PostJson(c, "/v1/check", R"({"id": 123456789012345678901234567890, "text": )" + text + "}");
    REQUIRE(digits);
    CHECK(digits->status == 200);
  }
  ExpectError(PostJson(c, "/v1/check", R"({"text": "a", "colour": "red"})"), 400, "unknown field \"colour\"");
  // Optional fields given as null are not given (serializers write unset ones so); the text
  // must be there.
  auto nulls = PostJson(c, "/v1/check", R"({"text": "a", "id": null, "language": null, "kind": null, "policy": null})");
  REQUIRE(nulls);
  CHECK(nulls->status == 200);
  ExpectError(PostJson(c, "/v1/check", R"({"text": null})"), 400, "\"text\" must be a string");
  ExpectError(PostJson(c, "/v1/check", R"({"text": "a", "colour": null})"), 400, "unknown field \"colour\"");
  ExpectError(PostJson(c, "/v1/check", "{\"text\": \"caf\xC3 ok\"}"), 400, "invalid UTF-8 at byte offset 13");
  ExpectError(PostJson(c, "/v1/check", R"({"text": "a \ud800 b"})"), 400, "lone surrogate");
  ExpectError(PostJson(c, "/v1/check", R"({"text": "nul \u0000 here"})"), 400,
              "\"text\" (offsets in the decoded string): NUL byte at offset 4");
  ExpectError(PostJson(c, "/v1/check", R"({"text": "a", "policy": {"text": {"redact_tokens": -3}}})"), 400,
              "text.redact_tokens");
  ExpectError(PostJson(c, "/v1/check", R"({"text": "a", "policy": {"actions": {"redact": "explode"}}})"), 400,
              "unknown action");
  ExpectError(PostJson(c, "/v1/check", R"({"text": "a", "kind": "text", "language": "go"})"), 400, "conflicts");
  ExpectError(c.Get("/v1/nothing"), 404, "no route");
  ExpectError(c.Get("/v1/check"), 405, "takes POST");
  ExpectError(c.Get("/v1/sessions/0123abcd"), 405, "takes DELETE");
  ExpectError(PostJson(c, "/v1/sessions/0123abcd/append", Body({{"text", "x"}})), 404, "no session");
  // An id that is no session's id at all is said to be one, not an unknown route.
  ExpectError(PostJson(c, "/v1/sessions/doesnotexist/append", Body({{"text", "x"}})), 404,
              "no session at /v1/sessions/doesnotexist/append");
  ExpectError(PostJson(c, "/v1/check", Body({{"text", std::string(70 * 1024, 'a')}})), 413, "limit of 65536 bytes");
  // The limit holds however the body comes: chunked (no length up front), or gzip-compressed
  // (counted once decompressed: 70 KB from a few hundred bytes).
  {
    const std::string big = Body({{"text", std::string(70 * 1024, 'a')}});
    httplib::Client chunked("127.0.0.1", srv.port());
    ExpectError(chunked.Post("/v1/check",
                             [&big](size_t offset, httplib::DataSink& sink) {
                               const size_t n = std::min<size_t>(4096, big.size() - offset);
                               sink.write(big.data() + offset, n);
                               if (offset + n == big.size()) sink.done();
                               return true;
                             },
                             "application/json"),
                413, "limit of 65536 bytes");
    httplib::Client gz("127.0.0.1", srv.port());
    gz.set_compress(true);
    ExpectError(gz.Post("/v1/check", big, "application/json"), 413, "limit of 65536 bytes");
    // The refused body is read to its end: the rest of the body is never taken for requests
    // (their answers would be 400s and 414s on the same connection).
    std::string raw = "POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n";
    for (size_t at = 0; at < big.size(); at += 1000) {
      const std::string chunk = big.substr(at, 1000);
      char size[16];
      std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
      raw += size + chunk + "\r\n";
    }
    raw += "0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    const std::string replies = RawExchange(srv.port(), raw);
    INFO(replies.substr(0, 2000));
    size_t responses = 0;
    for (size_t at = replies.find("HTTP/1.1 "); at != std::string::npos; at = replies.find("HTTP/1.1 ", at + 1)) ++responses;
    CHECK(responses >= 1);
    CHECK(responses <= 2);
    CHECK(replies.rfind("HTTP/1.1 413", 0) == 0);
    CHECK(!Contains(replies, "HTTP/1.1 400"));
    CHECK(!Contains(replies, "HTTP/1.1 414"));
    // The body's framing: a length that is not one, two lengths that differ, or an encoding
    // the server does not read are refused by name; neither a length nor chunks is no body.
    auto raw_post = [&](const std::string& path, const std::string& headers, const std::string& body) {
      return RawExchange(srv.port(), "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
                                         headers + "\r\n" + body);
    };
    std::string reply = raw_post("/v1/check", "Content-Length: 12abc\r\n", R"({"text":"x"})");
    CHECK(reply.rfind("HTTP/1.1 400", 0) == 0);
    CHECK(Contains(reply, "Content-Length \\\"12abc\\\" is not a number of bytes"));
    reply = raw_post("/v1/check", "Content-Length: 12\r\nContent-Length: 13\r\n", R"({"text":"x"})");
    CHECK(reply.rfind("HTTP/1.1 400", 0) == 0);
    CHECK(Contains(reply, "two Content-Length values, 12 and 13"));
    reply = raw_post("/v1/check", "Content-Length: 12\r\nContent-Encoding: zstd\r\n", R"({"text":"x"})");
    CHECK(reply.rfind("HTTP/1.1 415", 0) == 0);
    CHECK(Contains(reply, "Content-Encoding \\\"zstd\\\" is not read"));
    reply = raw_post("/v1/check", "", "");
    CHECK(reply.rfind("HTTP/1.1 400", 0) == 0);  // an empty body is not JSON (not "cut short")
    CHECK(Contains(reply, "not valid JSON"));
    // A transfer coding other than chunked is not read (501), and a length beside a coding is
    // two framings (400): both said at once, not after the body's time limit.
    reply = raw_post("/v1/check", "Transfer-Encoding: gzip, chunked\r\n", "c\r\n{\"text\":\"x\"}\r\n0\r\n\r\n");
    CHECK(reply.rfind("HTTP/1.1 501", 0) == 0);
    CHECK(Contains(reply, "Transfer-Encoding \\\"gzip, chunked\\\" is not read here"));
    reply = raw_post("/v1/check", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "c\r\n{\"text\":\"x\"}\r\n0\r\n\r\n");
    CHECK(reply.rfind("HTTP/1.1 400", 0) == 0);
    CHECK(Contains(reply, "both Content-Length and Transfer-Encoding"));
    // A POST with neither a length nor chunks to a path that takes another method, or none:
    // answered at once (405, 404). (httplib read such a body to the connection's end.)
    reply = raw_post("/healthz", "", "");
    CHECK(reply.rfind("HTTP/1.1 405", 0) == 0);
    CHECK(Contains(reply, "Allow: GET"));
    reply = RawExchange(srv.port(), "PATCH /v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    CHECK(reply.rfind("HTTP/1.1 405", 0) == 0);
    CHECK(Contains(reply, "Allow: POST"));
    reply = RawExchange(srv.port(), "POST /v1/nothing HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    CHECK(reply.rfind("HTTP/1.1 404", 0) == 0);
    // A content coding's name in capitals is the same coding (RFC 9110).
    TempDir gz_dir;
    doppel_test::WriteFile(gz_dir / "body.json", R"({"text":"a few words of new text"})");
    REQUIRE(doppel_test::Run("gzip -n " + doppel_test::Quote(gz_dir / "body.json")).exit_code == 0);
    const std::string packed = Slurp(gz_dir / "body.json.gz");
    reply = raw_post("/v1/check", "Content-Encoding: GZIP\r\nContent-Length: " + std::to_string(packed.size()) + "\r\n", packed);
    CHECK(reply.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(Contains(reply, "\"action\":\"allow\""));
    // A multipart body (curl -F) is refused with 415, not a server error.
    httplib::MultipartFormDataItems form = {{"text", "some words", "", ""}};
    ExpectError(c.Post("/v1/check", form), 415, "multipart");
  }
  // A body under the limit is read whatever its content type (curl -d sends form-encoded), and
  // a path with bytes that are not UTF-8 still gets a JSON (UTF-8) error body.
  {
    std::string answer;
    std::mt19937_64 rng(3);
    while (answer.size() < 20 * 1024) answer += doppel_test::RandomWords(rng, 50) + "\n";
    auto r = c.Post("/v1/check", Body({{"text", answer}}), "application/x-www-form-urlencoded");
    REQUIRE(r);
    INFO(r->body);
    CHECK(r->status == 200);
    ExpectError(c.Get("/v1/a%FFb"), 404, "no route");
  }

  auto r = PostJson(c, "/v1/sessions", "{}");
  REQUIRE(r);
  REQUIRE(r->status == 201);
  const std::string id = Json(r->body).Str("id");
  {
    // The access log line (which counts the request) is written after the response is sent.
    const std::string line = "doppel_http_requests_total{route=\"session_open\",status=\"201\"} 1\n";
    std::string body;
    for (int i = 0; i < 200 && !Contains(body, line); ++i) {
      if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      auto m = c.Get("/metrics");
      REQUIRE(m);
      body = m->body;
    }
    INFO(body);
    CHECK(Contains(body, line));
  }
  ExpectError(PostJson(c, "/v1/sessions", "{}"), 503, "too many open sessions");
  ExpectError(PostJson(c, "/v1/sessions/" + id + "/append", Body({{"text", std::string(1200, 'b')}})), 413,
              "session limit");
  ExpectError(PostJson(c, "/v1/sessions/" + id + "/append", Body({{"text", "x"}}, R"("language":"go")")), 400,
              "when the session is opened");
  // An append takes its text alone: a field it would ignore (an id, an empty language, the
  // default kind) is refused too, as unknown fields are.
  for (const std::string other : {R"("id":"mine")", R"("language":"")", R"("kind":"text")"}) {
    ExpectError(PostJson(c, "/v1/sessions/" + id + "/append", Body({{"text", "x"}}, other)), 400, "an append takes only");
  }
  ExpectError(PostJson(c, "/v1/sessions", R"({"id":"my-session"})"), 400, "a session's id is the server's to choose");
  ExpectError(PostJson(c, "/v1/sessions/" + id + "/append", R"({"text": "a\u0000"})"), 400, "NUL byte at offset 1");
  r = PostJson(c, "/v1/sessions/" + id + "/append", Body({{"text", "still usable\n"}}));
  REQUIRE(r);
  CHECK(r->status == 200);

  // One request is one line of the access log, whatever bytes its path decodes to.
  {
    const std::string log_path = dir / "access.log";
    std::FILE* log = std::fopen(log_path.c_str(), "w");
    REQUIRE(log != nullptr);
    {
      ServerOptions logged;
      logged.access_log = log;
      TestServer srv(dir / "index", logged);
      auto lc = srv.Client();
      auto forged = lc.Get("/x%0A2026-12-03T00:00:00Z%20127.0.0.1%20POST%20/v1/check%20200%00hidden");
      REQUIRE(forged);
      CHECK(forged->status == 404);
      auto health = lc.Get("/healthz");
      REQUIRE(health);
    }  // the server has stopped: every line is written
    std::fclose(log);
    const auto lines = doppel_test::Lines(doppel_test::ReadFile(log_path));
    INFO(doppel_test::ReadFile(log_path));
    REQUIRE(lines.size() == 2);
    // (In either order: a request's line is written after its reply, by the thread that served
    // it, so the next request's line can come first.)
    auto logged_once = [&](const std::string& entry) {
      return std::count_if(lines.begin(), lines.end(), [&](const std::string& l) { return Contains(l, entry); }) == 1;
    };
    CHECK(logged_once(" GET /x%0A2026-12-03T00:00:00Z%20127.0.0.1%20POST%20/v1/check%20200%00hidden 404 "));
    CHECK(logged_once(" GET /healthz 200 "));
  }

  // A check still running at its deadline: 503 (a 1 ms limit and a large answer with
  // candidates, so the check reaches the deadline test between candidates).
  ServerOptions hurried;
  hurried.request_timeout = std::chrono::milliseconds(1);
  TestServer slow(dir / "index", hurried);
  auto sc = slow.Client();
  std::string big;
  while (big.size() < 3'000'000) big += Slurp(kLicenses + "/GPL-3");
  ExpectError(PostJson(sc, "/v1/check", Body({{"text", big}})), 503, "time limit");
  // So is a long answer that matches nothing (no candidate to align): its reading and lookups
  // alone take past the limit.
  std::mt19937_64 rng(11);
  std::string novel;
  while (novel.size() < 2'000'000) novel += doppel_test::RandomWords(rng, 50) + "\n";
  ExpectError(PostJson(sc, "/v1/check", Body({{"text", novel}})), 503, "time limit");
  // Both are in the latency histogram (the slowest checks are the ones that time out), and in
  // no verdict's count.
  auto slow_metrics = sc.Get("/metrics");
  REQUIRE(slow_metrics);
  CHECK(Contains(slow_metrics->body, "doppel_check_duration_seconds_count 2\n"));
  CHECK(Contains(slow_metrics->body, "doppel_verdicts_total{action=\"block\"} 0\n"));
  // A long code block is cut in its parse, not read to its end first. tree-sitter reads 7 MB of
  // Python in 2-3 s here, and instrumented in under 4 s on a fast machine (a 4 s limit then
  // passed after the parse, in the lookups: "the check ran past its time limit"). The limits
  // below lie well inside the parse on any machine; one that passes before the parse begins (a
  // loaded machine: the body's JSON, the answer's split and the lexer's first pass take 300 ms
  // there) is met before its first window, "while reading" the block, not after it.
  ServerOptions parse_limit;
#if defined(__SANITIZE_ADDRESS__)
  parse_limit.request_timeout = std::chrono::milliseconds(1000);
#else
  parse_limit.request_timeout = std::chrono::milliseconds(300);
#endif
  TestServer parsing(dir / "index", parse_limit);
  std::string code = "```python\n";
  for (int i = 0; code.size() < 7'000'000; ++i) code += "total_" + std::to_string(i) + " = (count + 1) * limit\n";
  code += "```\n";
  auto pc = parsing.Client();
  ExpectError(PostJson(pc, "/v1/check", Body({{"text", code}})), 503, "the time limit passed while ");
  // A session's final verdict refused past the limit ends nothing: asked again, the session is
  // still there (503 again, not 404).
  ServerOptions hurried_sessions = hurried;
  hurried_sessions.session_check_every_bytes = size_t{1} << 30;  // appends of one line run no check
  TestServer slow_sessions(dir / "index", hurried_sessions);
  auto ssc = slow_sessions.Client();
  auto opened = PostJson(ssc, "/v1/sessions", "{}");
  REQUIRE(opened);
  REQUIRE(opened->status == 201);
  const std::string sid = Json(opened->body).Str("id");
  std::string line = novel.substr(0, 900'000);
  std::replace(line.begin(), line.end(), '\n', ' ');
  auto appended = PostJson(ssc, "/v1/sessions/" + sid + "/append", Body({{"text", line}}));
  REQUIRE(appended);
  INFO(appended->body);
  REQUIRE(appended->status == 200);
  ExpectError(ssc.Delete("/v1/sessions/" + sid), 503, "time limit");
  ExpectError(ssc.Delete("/v1/sessions/" + sid), 503, "time limit");
}

TEST_CASE("serve: a port another server listens on is refused", "[serve]") {
  TempDir dir;
  BuildServiceIndex(dir / "index");
  TestServer first(dir / "index", ServerOptions{});
  auto f = Filter::Open(dir / "index", FilterOptions{});
  REQUIRE(f.ok());
  ServerOptions o;
  o.host = "127.0.0.1";
  o.port = first.port();
  o.access_log = nullptr;
  Server second(std::shared_ptr<Filter>(std::move(*f)), o);
  const Status s = second.Bind();
  CHECK(s.code() == Status::Code::kUnavailable);
  CHECK(s.message().find(std::to_string(first.port())) != std::string::npos);
  auto r = first.Client().Get("/healthz");
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("serve: a corrupt stored document is a 500 naming it, other checks go on, and /healthz reports the damage", "[serve]") {
  TempDir dir;
  BuildServiceIndex(dir / "index");
  uint32_t id = 0;
  {
    auto index = Index::Open(dir / "index", IndexOptions());
    REQUIRE(index.ok());
    auto found = (*index)->FindName("licenses/Apache-2.0");
    REQUIRE(found.ok());
    REQUIRE(found->has_value());
    id = **found;
  }
  doppel_test::RawPut(dir / "index", "content", codec::IdKey(id), "garbage");
  TestServer srv(dir / "index", ServerOptions{});
  auto c = srv.Client();
  // The damage is not known until a check reads the record.
  auto h = c.Get("/healthz");
  REQUIRE(h);
  CHECK(h->status == 200);
  ExpectError(PostJson(c, "/v1/check", Body({{"text", Paragraph("Apache-2.0", 60, 20)}})), 500,
              "licenses/Apache-2.0");
  auto r = PostJson(c, "/v1/check", Body({{"text", Paragraph("MPL-2.0", 40, 30)}}));
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(Json(r->body).Str("action") == "block");
  // From then on the instance says it is unhealthy, naming what it met.
  h = c.Get("/healthz");
  REQUIRE(h);
  CHECK(h->status == 503);
  CHECK(Json(h->body).Str("code") == "unavailable");
  CHECK(Contains(Json(h->body).Str("message"), "index damaged"));
  CHECK(Contains(Json(h->body).Str("message"), "licenses/Apache-2.0"));
  CHECK(!h->has_header("Retry-After"));  // not worth a retry: the index needs repair
  auto m = c.Get("/metrics");
  REQUIRE(m);
  CHECK(Contains(m->body, "\ndoppel_index_damage_errors_total 1\n"));
}

TEST_CASE("serve: a bearer token is required on /v1/ routes when configured", "[serve]") {
  TempDir dir;
  BuildServiceIndex(dir / "index");
  ServerOptions o;
  o.token = "s3cret-token";
  TestServer srv(dir / "index", o);
  auto anonymous = srv.Client();
  auto r = PostJson(anonymous, "/v1/check", Body({{"text", kNovel}}));
  ExpectError(r, 401, "Authorization: Bearer");
  CHECK(r->get_header_value("WWW-Authenticate") == "Bearer");
  auto wrong = srv.Client("s3cret-tokem");
  ExpectError(PostJson(wrong, "/v1/check", Body({{"text", kNovel}})), 401, "not valid");
  ExpectError(PostJson(wrong, "/v1/sessions", "{}"), 401, "not valid");
  auto right = srv.Client("s3cret-token");
  r = PostJson(right, "/v1/check", Body({{"text", kNovel}}));
  REQUIRE(r);
  CHECK(r->status == 200);
  // The scheme's name is case-insensitive; the token is not.
  httplib::Client lower("127.0.0.1", srv.port());
  lower.set_default_headers({{"Authorization", "bearer s3cret-token"}});
  r = PostJson(lower, "/v1/check", Body({{"text", kNovel}}));
  REQUIRE(r);
  CHECK(r->status == 200);
  httplib::Client upper_token("127.0.0.1", srv.port());
  upper_token.set_default_headers({{"Authorization", "Bearer S3CRET-TOKEN"}});
  ExpectError(PostJson(upper_token, "/v1/check", Body({{"text", kNovel}})), 401, "not valid");
  // Health and metrics stay open for probes and scrapers.
  r = anonymous.Get("/healthz");
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("serve: policies map severities, change messages, and apply per request", "[serve]") {
  TempDir dir;
  BuildServiceIndex(dir / "index");
  const std::string policy_path = dir / "policy.json";
  doppel_test::WriteFile(policy_path, R"({
    "actions": {"redact": "block"},
    "block_message": "Sorry, this answer was withheld.",
    "redact_marker": "<<removed: {source}>>"
  })");
  auto policy = LoadPolicyFile(policy_path, FilterOptions());
  INFO(policy.status().ToString());
  REQUIRE(policy.ok());
  TestServer srv(dir / "index", ServerOptions{}, *policy);
  auto c = srv.Client();

  // Would be redacted (a renamed copy inside new code); the policy blocks it instead.
  auto r = PostJson(c, "/v1/check", Body({{"text", kAnswerPython}, {"language", "py"}}));
  REQUIRE(r);
  Json j(r->body);
  CHECK(j.Str("action") == "block");
  CHECK(j.Str("severity") == "redact");
  CHECK(j.Str("output") == "Sorry, this answer was withheld.");
  CHECK(Contains(j.Str("reason"), "policy"));

  // A request's own policy goes over the server's.
  r = PostJson(c, "/v1/check", Body({{"text", kAnswerPython}, {"language", "py"}},
                                   R"("policy":{"actions":{"redact":"redact"}})"));
  REQUIRE(r);
  Json k(r->body);
  CHECK(k.Str("action") == "redact");
  CHECK(Contains(k.Str("output"), "# <<removed: lib/intervals.py>>"));

  // Policy files are validated with the key named.
  doppel_test::WriteFile(policy_path, R"({"text": {"redact_containment": 1.5}})");
  auto bad = LoadPolicyFile(policy_path, FilterOptions());
  REQUIRE(!bad.ok());
  CHECK(Contains(bad.status().message(), "text.redact_containment"));
  CHECK(Contains(bad.status().message(), policy_path));
  doppel_test::WriteFile(policy_path, R"({"thresholds": {}})");
  CHECK(Contains(LoadPolicyFile(policy_path, FilterOptions()).status().message(), "unknown key"));
  // A key given twice, at any depth, is refused by name: in a file and in a request.
  doppel_test::WriteFile(policy_path, R"({"actions": {"redact": "block", "redact": "allow"}})");
  CHECK(Contains(LoadPolicyFile(policy_path, FilterOptions()).status().message(),
                 "policy key \"actions.redact\" is given twice"));
  ExpectError(PostJson(c, "/v1/check", Body({{"text", kAnswerPython}, {"language", "py"}},
                                            R"("policy":{"code":{"redact_tokens":5,"redact_tokens":500}})")),
              400, "policy key \"code.redact_tokens\" is given twice");
  // A server that does not let callers change its policy refuses a request's, and a session's.
  ServerOptions fixed;
  fixed.request_policy = false;
  TestServer strict(dir / "index", fixed);
  auto sc = strict.Client();
  ExpectError(PostJson(sc, "/v1/check", Body({{"text", kAnswerPython}}, R"("policy":{"actions":{"block":"allow"}})")),
              400, "does not take a request's policy");
  ExpectError(PostJson(sc, "/v1/sessions", R"({"policy":{"actions":{"block":"allow"}}})"), 400,
              "does not take a request's policy");
  auto plain = PostJson(sc, "/v1/check", Body({{"text", kAnswerPython}}));
  REQUIRE(plain);
  CHECK(plain->status == 200);
}

TEST_CASE("serve: concurrent clients get the same verdicts as one client", "[serve]") {
  TempDir dir;
  BuildServiceIndex(dir / "index");
  ServerOptions o;
  o.workers = 2;
  TestServer srv(dir / "index", o);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {kNovel, "allow"},
      {Paragraph("GPL-3", 0, 60), "block"},
      {std::string(kNovel) + "\n\n" + Paragraph("MPL-2.0", 40, 12), "redact"},
  };
  std::atomic<int> ok{0}, wrong{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&, t] {
      auto c = srv.Client();
      for (int i = 0; i < 15; ++i) {
        const auto& [text, action] = cases[(t + i) % cases.size()];
        auto r = PostJson(c, "/v1/check", Body({{"text", text}}));
        simdjson::dom::parser p;
        simdjson::dom::element e;
        std::string_view got;
        if (r && r->status == 200 && !p.parse(r->body).get(e) && !e["action"].get_string().get(got) &&
            got == action) {
          ++ok;
        } else {
          ++wrong;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  CHECK(wrong == 0);
  CHECK(ok == 8 * 15);

  auto c = srv.Client();
  // Requests are counted once their response is written, which may be just after the client
  // has read it: wait (bounded) for the last ones.
  std::string metrics;
  for (int i = 0; i < 100; ++i) {
    auto m = c.Get("/metrics");
    REQUIRE(m);
    REQUIRE(m->status == 200);
    metrics = m->body;
    if (Contains(metrics, "doppel_http_requests_total{route=\"check\",status=\"200\"} 120")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(Contains(metrics, "doppel_http_requests_total{route=\"check\",status=\"200\"} 120"));
  CHECK(Contains(metrics, "doppel_check_duration_seconds_count 120"));
  CHECK(Contains(metrics, "doppel_verdicts_total{action=\"block\"} 40"));
  CHECK(Contains(metrics, "doppel_check_duration_seconds_bucket{le=\"+Inf\"} 120"));
  auto h = c.Get("/healthz");
  REQUIRE(h);
  CHECK(Json(h->body).Int("documents") == 4);
}

TEST_CASE("serve: documents added while the service runs become visible without a restart", "[serve]") {
  TempDir dir;
  BuildServiceIndex(dir / "index");
  ServerOptions o;
  o.refresh_interval = std::chrono::milliseconds(100);
  TestServer srv(dir / "index", o);
  auto c = srv.Client();
  REQUIRE(ActionOnceNot(c, kNovel, "") == "allow");  // (asked once: no action is "")
  doppel_test::WriteFile(dir / "notes.txt", kNovel);
  auto add = doppel_test::Run(std::string(DOPPEL_INDEX_BIN) + " add --index " + doppel_test::Quote(dir / "index") +
                              " " + doppel_test::Quote(dir / "notes.txt"));
  INFO(add.err);
  REQUIRE(add.exit_code == 0);
  CHECK(ActionOnceNot(c, kNovel, "allow") == "block");
  CHECK(HealthDocuments(c) == 5);
}

TEST_CASE("serve: a document removed while the service runs stops matching once the writer flushed it away",
          "[serve]") {
  // The service reads the writer's log as it grows: the document below reaches it from there.
  // Its removal is flushed into a table file at once, so the service, which kept what it had
  // read from the log, must not go on answering from that.
  TempDir dir;
  BuildServiceIndex(dir / "index");
  ServerOptions o;
  o.refresh_interval = std::chrono::milliseconds(100);
  TestServer srv(dir / "index", o);
  auto c = srv.Client();
  REQUIRE(ActionOnceNot(c, kNovel, "") == "allow");
  auto writer = Index::Open(dir / "index", IndexOptions{});
  REQUIRE(writer.ok());
  auto batch = doppel_test::SketchAll((*writer)->params(), {MakeDoc("notes.txt", kNovel)});
  WriteSummary ws;
  REQUIRE((*writer)->Write(&batch, &ws).ok());
  REQUIRE(ActionOnceNot(c, kNovel, "allow") == "block");
  CHECK(HealthDocuments(c) == 5);
  uint64_t removed = 0, missing = 0;
  REQUIRE((*writer)->Remove(std::vector<std::string>{"notes.txt"}, &removed, &missing).ok());
  REQUIRE(removed == 1);
  REQUIRE((*writer)->Flush().ok());
  CHECK(ActionOnceNot(c, kNovel, "block") == "allow");
  CHECK(HealthDocuments(c) == 4);
}

TEST_CASE("serve: an index directory replaced by another index is a refresh error, /healthz says so, and checks go on",
          "[serve]") {
  TempDir dir;
  BuildServiceIndex(dir / "index");
  ServerOptions o;
  o.refresh_interval = std::chrono::milliseconds(20);
  TestServer srv(dir / "index", o);
  auto c = srv.Client();
  auto refresh_errors = [&] {
    auto m = c.Get("/metrics");
    REQUIRE(m);
    const std::string needle = "\ndoppel_index_refresh_errors_total ";
    const size_t at = m->body.find(needle);
    REQUIRE(at != std::string::npos);
    return std::stoll(m->body.substr(at + needle.size()));
  };
  REQUIRE(refresh_errors() == 0);
  // Removed and built again at the same path (twice: removal while catching up was a crash).
  for (int round = 0; round < 2; ++round) {
    std::filesystem::remove_all(dir / "index");
    doppel_test::WriteFile(dir / "notes.txt", kNovel);
    auto build = doppel_test::Run(std::string(DOPPEL_INDEX_BIN) + " build --quiet --index " +
                                  doppel_test::Quote(dir / "index") + " " + doppel_test::Quote(dir / "notes.txt"));
    INFO(build.err);
    REQUIRE(build.exit_code == 0);
  }
  long long errors = 0;
  for (int i = 0; i < 100 && (errors = refresh_errors()) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(errors > 0);
  // /healthz says a restart is needed once the catch-ups keep failing.
  int status = 0;
  std::string message;
  for (int i = 0; i < 100 && status != 503; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto h = c.Get("/healthz");
    REQUIRE(h);
    status = h->status;
    message = Json(h->body).Str("message");
  }
  CHECK(status == 503);
  CHECK(Contains(message, "now holds another index"));
  CHECK(Contains(message, "restart to serve it"));
  // Still the index it opened: the Apache text still blocked.
  auto r = PostJson(c, "/v1/check", Body({{"text", Slurp(kLicenses + "/Apache-2.0")}}));
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(Json(r->body).Str("action") == "block");
}

TEST_CASE("serve: while a writer replaces, adds and removes documents, every check answers with whole documents",
          "[serve][concurrency]") {
  TempDir dir;
  BuildServiceIndex(dir / "index");
  ServerOptions o;
  o.workers = 2;
  o.refresh_interval = std::chrono::milliseconds(10);
  TestServer srv(dir / "index", o);
  constexpr int kRounds = 60;
  std::vector<std::string> versions, extras;  // texts of live/doc version i and of live/extra-i
  std::mt19937_64 words(99);
  for (int i = 0; i < kRounds; ++i) {
    versions.push_back(doppel_test::RandomWords(words, 150));
    extras.push_back(doppel_test::RandomWords(words, 150));
  }
  std::atomic<int> round{-1};
  std::atomic<bool> done{false};
  std::vector<std::string> problems;
  std::mutex problems_mu;
  auto problem = [&](std::string what) {
    std::lock_guard<std::mutex> lock(problems_mu);
    if (problems.size() < 10) problems.push_back(std::move(what));
  };
  std::atomic<int> answered{0}, flagged_live{0};
  std::atomic<int> seen_round{-1};  // the latest round whose own text a check saw flagged
  // Catch2 assertions are for the test's own thread: the others report problems.
  std::thread writer([&] {
    auto index = Index::Open(dir / "index", IndexOptions{});
    for (int i = 0; i < kRounds && index.ok(); ++i) {
      // live/doc is replaced by each version; live/extra-i added, live/extra-(i-1) removed.
      auto batch = doppel_test::SketchAll((*index)->params(), {MakeDoc("live/doc", versions[i]),
                                                               MakeDoc("live/extra-" + std::to_string(i), extras[i])});
      WriteSummary ws;
      Status s = (*index)->Write(&batch, &ws);
      uint64_t removed = 0, missing = 0;
      if (s.ok() && i > 0) {
        s = (*index)->Remove(std::vector<std::string>{"live/extra-" + std::to_string(i - 1)}, &removed, &missing);
      }
      if (!s.ok()) {
        problem("writer: " + s.ToString());
        break;
      }
      round = i;
      // Each round stays live until the clients have answered a few checks and one of them saw
      // this round's write (at most 2 s a round), so the counts below depend neither on how fast
      // this machine checks (sanitizers, load) nor on when the service's refresh falls.
      const auto round_end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      std::this_thread::sleep_for(std::chrono::milliseconds(15));
      while ((answered.load() < 3 * (i + 1) || seen_round.load() < i) &&
             std::chrono::steady_clock::now() < round_end) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
    if (!index.ok()) problem("writer: " + index.status().ToString());
    done = true;
  });
  std::vector<std::thread> clients;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      auto c = srv.Client();
      std::mt19937_64 rng(t);
      for (int n = 0; n < 2000 && !done && std::chrono::steady_clock::now() < deadline; ++n) {
        const int r = round.load();
        // Half the churning checks ask for the current round's text, half for any earlier one.
        const int pick = r <= 0 ? 0 : (rng() % 2 ? r : static_cast<int>(rng() % (r + 1)));
        std::string text, expect_source, expect_action;
        switch (n % 4) {
          case 0: text = Paragraph("GPL-3", 0, 60), expect_action = "block"; break;
          case 1: text = kNovel, expect_action = "allow"; break;
          case 2: text = versions[pick], expect_source = "live/doc"; break;
          default: text = extras[pick], expect_source = "live/extra-" + std::to_string(pick); break;
        }
        auto res = PostJson(c, "/v1/check", Body({{"text", text}}));
        if (!res || res->status != 200) {
          problem("status " + (res ? std::to_string(res->status) + " " + res->body : std::string("none")));
          continue;
        }
        ++answered;
        simdjson::dom::parser p;
        simdjson::dom::element e;
        std::string_view action, source;
        if (p.parse(res->body).get(e) || e["action"].get_string().get(action)) {
          problem("bad body " + res->body);
          continue;
        }
        if (!expect_action.empty() && action != expect_action) problem("expected " + expect_action + ": " + res->body);
        if (expect_source.empty() || action == "allow") continue;
        // A flagged churning text names its own document, never another version's or a removed one's.
        for (simdjson::dom::element span : e["spans"].get_array()) {
          if (span["source"]["name"].get_string().get(source) || source != expect_source) {
            problem("expected source " + expect_source + ": " + res->body);
          }
        }
        ++flagged_live;
        for (int seen = seen_round.load(); seen < pick && !seen_round.compare_exchange_weak(seen, pick);) {
        }
      }
    });
  }
  writer.join();
  for (auto& th : clients) th.join();
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  INFO(all << answered << " answered, " << flagged_live << " flagged a churning document");
  CHECK(problems.empty());
  CHECK(answered > 100);
  CHECK(flagged_live > 0);  // the service saw writes as they happened
  // And it catches up with the last one (bounded wait).
  auto c = srv.Client();
  std::string last;
  for (int i = 0; i < 100; ++i) {
    auto res = PostJson(c, "/v1/check", Body({{"text", versions.back()}}));
    REQUIRE(res);
    last = res->body;
    if (Contains(last, "\"name\":\"live/doc\"")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(Contains(last, "\"name\":\"live/doc\""));
  auto h = c.Get("/healthz");
  REQUIRE(h);
  CHECK(h->status == 200);
}

// Starts `doppel-filter serve --index INDEX --listen 127.0.0.1:0 ARGS...` with its stderr in
// `log`, and waits (at most 30 s, a bound for a loaded machine, not a goal) for the port it
// prints once bound; 0 if it printed none (if it exited, its wait status is in `*exited`).
int StartServeBinary(const std::string& index, const std::vector<std::string>& args, const std::string& log,
                     pid_t* pid, int* exited = nullptr) {
  std::vector<std::string> argv = {DOPPEL_FILTER_BIN, "serve", "--index", index, "--listen", "127.0.0.1:0"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  *pid = ::fork();
  REQUIRE(*pid >= 0);
  if (*pid == 0) {
    std::freopen(log.c_str(), "w", stderr);
    ::execv(DOPPEL_FILTER_BIN, cargv.data());
    ::_exit(127);
  }
  for (int i = 0; i < 1200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    const std::string s = doppel_test::ReadFile(log);
    const size_t at = s.find("http://127.0.0.1:");
    if (at != std::string::npos && s.find('\n', at) != std::string::npos) return std::stoi(s.substr(at + 17));
    int wstatus = 0;
    if (::waitpid(*pid, &wstatus, WNOHANG) == *pid) {
      if (exited) *exited = wstatus;
      return 0;
    }
  }
  ::kill(*pid, SIGKILL);  // no port after 30 s: not left running
  int wstatus = 0;
  ::waitpid(*pid, &wstatus, 0);
  return 0;
}

TEST_CASE("serve: the binary reads its token file and policy flags", "[serve]") {
  TempDir dir;
  BuildServiceIndex(dir / "index");
  doppel_test::WriteFile(dir / "token", "  s3cret-token\n");
  doppel_test::WriteFile(dir / "policy.json", R"({"block_message": "[withheld]", "text": {"redact_tokens": 100}})");
  pid_t pid = 0;
  const int port = StartServeBinary(dir / "index",
                                    {"--token-file", dir / "token", "--policy", dir / "policy.json", "--action",
                                     "annotate=block", "--quiet"},
                                    dir / "serve.log", &pid);
  INFO(doppel_test::ReadFile(dir / "serve.log"));
  REQUIRE(port > 0);
  httplib::Client anon("127.0.0.1", port);
  auto r = anon.Get("/healthz");
  REQUIRE(r);
  CHECK(r->status == 200);  // open without the token
  ExpectError(PostJson(anon, "/v1/check", Body({{"text", kNovel}})), 401, "token");
  httplib::Client c("127.0.0.1", port);
  c.set_bearer_token_auth("s3cret-token");  // the file's surrounding whitespace is not the token's
  r = PostJson(c, "/v1/check", Body({{"text", kNovel}}));
  REQUIRE(r);
  CHECK(r->status == 200);
  // A short quote (annotate under the policy's redact_tokens) is blocked by --action, with the
  // policy file's message.
  const std::string answer = std::string(kNovel) +
                             " You must give any other recipients of the Work or Derivative Works a copy of this "
                             "License. That is all.";
  r = PostJson(c, "/v1/check", Body({{"text", answer}}));
  REQUIRE(r);
  INFO(r->body);
  CHECK(Json(r->body).Str("severity") == "annotate");
  CHECK(Json(r->body).Str("action") == "block");
  CHECK(Json(r->body).Str("output") == "[withheld]");
  // SIGHUP (a closed terminal, a supervisor's reload) stops it as SIGTERM does: exit 0.
  REQUIRE(::kill(pid, SIGHUP) == 0);
  int wstatus = 0;
  REQUIRE(::waitpid(pid, &wstatus, 0) == pid);
  CHECK((WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0));
  CHECK(Contains(doppel_test::ReadFile(dir / "serve.log"), "SIGHUP: finishing requests in flight"));

  // An empty token file, a bad --action and a policy file with an unknown key are refused at start.
  doppel_test::WriteFile(dir / "empty", "\n");
  doppel_test::WriteFile(dir / "typo.json", R"({"block_mesage": "x"})");
  for (const auto& [args, needle] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--token-file", dir / "empty"}, "token file is empty"},
           {{"--action", "redact-block"}, "--action redact-block"},
           {{"--action", "redact=hide"}, "--action redact=hide"},
           {{"--policy", dir / "typo.json"}, "block_mesage"}}) {
    INFO(needle);
    wstatus = -1;
    CHECK(StartServeBinary(dir / "index", args, dir / "refused.log", &pid, &wstatus) == 0);
    REQUIRE(wstatus != -1);
    CHECK((WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0));
    CHECK(Contains(doppel_test::ReadFile(dir / "refused.log"), needle));
  }
}

TEST_CASE("serve: the binary finishes requests in flight on SIGTERM, then exits 0", "[serve]") {
  TempDir dir;
  BuildServiceIndex(dir / "index");
  const std::string log = dir / "serve.log";
  pid_t pid = 0;
  const int port = StartServeBinary(dir / "index", {"--request-timeout-ms", "60000"}, log, &pid);
  REQUIRE(port > 0);
  // A slow request (a few MB to check), and SIGTERM while it runs.
  std::string big;
  while (big.size() < 7'500'000) big += Slurp(kLicenses + "/GPL-3") + kNovel;
  const std::string body = Body({{"text", big}});
  std::atomic<int> status{0};
  std::string action;
  std::chrono::steady_clock::time_point answered;
  std::thread client([&] {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60, 0);
    auto r = PostJson(c, "/v1/check", body);
    if (r) {
      status = r->status;
      simdjson::dom::parser p;
      simdjson::dom::element e;
      std::string_view a;
      if (!p.parse(r->body).get(e) && !e["action"].get_string().get(a)) action = a;
    } else {
      status = -1;
    }
    answered = std::chrono::steady_clock::now();
  });
  // The signal comes once the check is under way (the metrics count it), bounded in time.
  httplib::Client probe("127.0.0.1", port);
  bool running = false;
  for (int i = 0; i < 2000 && !running; ++i) {
    auto m = probe.Get("/metrics");
    running = m && Contains(m->body, "doppel_checks_in_progress 1");
    if (!running) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  CHECK(running);
  const auto signalled = std::chrono::steady_clock::now();
  REQUIRE(::kill(pid, SIGTERM) == 0);
  client.join();
  CHECK(answered > signalled);  // the request was in flight when the signal came
  int wstatus = 0;
  REQUIRE(::waitpid(pid, &wstatus, 0) == pid);
  INFO(doppel_test::ReadFile(log));
  CHECK(status == 200);
  CHECK(action == "block");
  REQUIRE(WIFEXITED(wstatus));
  CHECK(WEXITSTATUS(wstatus) == 0);
  const std::string out = doppel_test::ReadFile(log);
  CHECK(out.find("POST /v1/check 200") < out.find("doppel-filter: stopped"));
  // Nothing listens any more.
  httplib::Client after("127.0.0.1", port);
  after.set_connection_timeout(1, 0);
  CHECK(!after.Get("/healthz"));
}

TEST_CASE("embedding: the README's example builds, runs and is the README's text", "[serve]") {
  const std::string example = doppel_test::ReadFile(std::string(DOPPEL_SOURCE_DIR) + "/tests/embed_example.cc");
  const std::string readme = doppel_test::ReadFile(std::string(DOPPEL_SOURCE_DIR) + "/README.md");
  const std::string code = example.substr(example.find("#include <cstdio>"));
  CHECK(Contains(readme, code));

  TempDir dir;
  BuildServiceIndex(dir / "index");
  const std::string answer = std::string(kNovel) + "\n\n" + Paragraph("MPL-2.0", 40, 12) + "\nThanks.\n";
  doppel_test::WriteFile(dir / "answer.txt", answer);
  auto r = doppel_test::Run(std::string(DOPPEL_EMBED_EXAMPLE_BIN) + " " + doppel_test::Quote(dir / "index") +
                            " < " + doppel_test::Quote(dir / "answer.txt"));
  INFO(r.out + r.err);
  CHECK(r.exit_code == 1);
  CHECK(Contains(r.out, "action block (severity redact)"));
  CHECK(Contains(r.out, "resemble licenses/MPL-2.0"));
  CHECK(Contains(r.out, "streaming: flagged at byte"));
  r = doppel_test::Run(std::string(DOPPEL_EMBED_EXAMPLE_BIN) + " " + doppel_test::Quote(dir / "missing") + " < /dev/null");
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "missing"));
}

TEST_CASE("serve: --token-cache-tokens sizes the token cache that /metrics reports", "[serve]") {
  // Without a cache, the server also reads every code source in place (--code-window-tokens 1):
  // the verdicts stay the same and /metrics counts the reads.
  TempDir dir;
  BuildServiceIndex(dir / "index");
  const std::string body = Body({{"text", kAnswerPython}, {"language", "python"}});
  // A verdict's body without its timing.
  auto verdict = [](std::string b) {
    const size_t at = b.find(",\"elapsed_us\":");
    return at == std::string::npos ? b : b.substr(0, at);
  };
  std::string verdict_cached;
  for (const char* tokens : {"1000000", "0"}) {
    INFO("--token-cache-tokens " << tokens);
    pid_t pid = 0;
    std::vector<std::string> args = {"--token-cache-tokens", tokens, "--quiet"};
    if (std::string(tokens) == "0") args.insert(args.end(), {"--code-window-tokens", "1"});
    const int port = StartServeBinary(dir / "index", args, dir / "serve.log", &pid);
    INFO(doppel_test::ReadFile(dir / "serve.log"));
    REQUIRE(port > 0);
    httplib::Client c("127.0.0.1", port);
    std::string first;
    for (int i = 0; i < 2; ++i) {  // the same answer twice: its source is a candidate twice
      auto r = PostJson(c, "/v1/check", body);
      REQUIRE(r);
      REQUIRE(r->status == 200);
      CHECK(Json(r->body).Str("action") != "allow");
      if (i == 0) first = verdict(r->body);
      CHECK(verdict(r->body) == first);
    }
    auto metrics = c.Get("/metrics");
    REQUIRE(metrics);
    INFO(metrics->body);
    auto value = [&](const std::string& series) { return MetricValue(metrics->body, series); };
    const int64_t hits = value("doppel_token_cache_lookups_total{result=\"hit\"}");
    const int64_t misses = value("doppel_token_cache_lookups_total{result=\"miss\"}");
    if (std::string(tokens) == "0") {
      CHECK(value("doppel_token_cache_capacity_tokens") == 0);
      CHECK(value("doppel_token_cache_tokens") == 0);
      CHECK(hits == 0);
      CHECK(misses >= 2);  // read from the index for each check
      CHECK(value("doppel_token_cache_read_in_place_total") >= 2);
      CHECK(value("doppel_token_cache_read_in_place_total") <= misses);
      // The same answer twice, in two requests: a stream is taken again only within one answer.
      CHECK(value("doppel_token_cache_streams_reused_total") == 0);
      CHECK(first == verdict_cached);  // the same verdicts without the cache
    } else {
      CHECK(value("doppel_token_cache_capacity_tokens") == 1000000);
      CHECK(value("doppel_token_cache_tokens") > 0);
      CHECK(misses >= 1);
      CHECK(hits >= 1);  // the second check found its source's tokens kept
      CHECK(value("doppel_token_cache_read_in_place_total") == 0);  // small sources: decoded whole
      verdict_cached = first;
    }
    REQUIRE(::kill(pid, SIGTERM) == 0);
    int wstatus = 0;
    REQUIRE(::waitpid(pid, &wstatus, 0) == pid);
    CHECK((WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0));
  }
}
