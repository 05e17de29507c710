// doppel-filter: checks generated answers against a doppel index. Parses flags, calls lib/,
// prints verdicts, maps errors to exit codes in one place.
#include <simdjson.h>

#include <pthread.h>
#include <unistd.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "doppel/allocator.h"
#include "doppel/executor.h"
#include "doppel/filter.h"
#include "doppel/format.h"
#include "doppel/language.h"
#include "doppel/policy.h"
#include "doppel/scan.h"
#include "doppel/streams.h"
#include "server.h"

namespace {

using namespace doppel;

constexpr const char* kExitCodes =
    "Exit codes: 0 every answer allowed (allow or annotate); 1 at least one answer redacted or "
    "blocked; 2 error (bad input, missing, corrupt or incompatible index). A block is a "
    "result, not an error. serve: 0 after SIGTERM/SIGINT (requests in flight finish), 2 when "
    "it cannot start. scan: 0 done, 1 more documents flagged than --fail-on (or some unreadable), 2 error.";

int Fail(const Status& s) {
  std::fprintf(stderr, "doppel-filter: error: %s\n", ForTerminal(s.ToString()).c_str());
  return 2;
}

Result<std::string> ReadAll(const std::string& path) {
  std::ostringstream ss;
  if (path == "-") {
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Status::InvalidArgument(path + ": is a directory, not an answer file (use scan for corpora)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return CannotOpen(path, errno);
  ss << in.rdbuf();
  return ss.str();
}

// One answer, from a file or "-" (stdin), read up to `max_bytes`: a larger one is refused
// before it is held in memory. A NUL byte makes it binary, as for the indexer.
// Errors name the input (`name`: the path, or <stdin>).
Result<std::string> ReadAnswer(const std::string& path, const std::string& name, uint64_t max_bytes) {
  std::error_code ec;
  if (path != "-" && std::filesystem::is_directory(path, ec)) {
    return Status::InvalidArgument(path + ": is a directory, not an answer file (use scan for corpora)");
  }
  auto opened = OpenSource(path);  // its errors name the path
  if (!opened.ok()) return opened.status();
  auto src = std::move(*opened);
  std::string out;
  char buf[1 << 16];
  for (;;) {
    auto read = src->Read(buf, sizeof buf);
    if (!read.ok()) return read.status().WithContext(name);
    const size_t n = *read;
    if (n == 0) break;
    if (out.size() + n > max_bytes) {
      return Status::ResourceExhausted(name + ": answer of more than " + std::to_string(max_bytes) +
                                       " bytes (--max-answer-bytes)");
    }
    DOPPEL_RETURN_IF_ERROR(RefuseNul(std::string_view(buf, n), out.size()).WithContext(name));
    out.append(buf, n);
  }
  return out;
}

// A span's first bytes as one line of a report: each run of blanks and line breaks one space
// (a block's indentation, a list item's), up to `max_bytes` and ended at a character's end,
// with "..." when more of it is left. (The answer is valid UTF-8: it was checked.)
std::string ExcerptOf(std::string_view span, size_t max_bytes = 70) {
  std::string out;
  size_t i = 0;
  while (i < span.size()) {
    const unsigned char c = static_cast<unsigned char>(span[i]);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      if (!out.empty() && out.back() != ' ') out += ' ';
      ++i;
      continue;
    }
    const size_t n = std::max<size_t>(Utf8CharLength(span, i), 1);
    if (out.size() + n > max_bytes) break;
    out.append(span.substr(i, n));
    i += n;
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  if (i < span.size()) out += "...";
  return out;
}

// The verdict for people: action, reason and each span with its source lines; with
// `with_output`, followed by the answer as the user should see it, between two rules.
void PrintText(const Verdict& v, std::string_view text, bool with_output) {
  std::printf("%-10s %-8s score %.2f  %s\n", v.id.c_str(), std::string(ActionName(v.action)).c_str(),
              v.score, v.reason.c_str());
  for (const auto& s : v.spans) {
    const std::string excerpt = ExcerptOf(text.substr(s.query.start, s.query.end - s.query.start));
    std::string code;
    if (s.kind == Kind::kCode) {
      char buf[96];
      std::snprintf(buf, sizeof buf, ", %s code, renaming %.2f", s.language.empty() ? "generic" : s.language.c_str(),
                    s.renaming);
      code = buf;
    }
    // A span in a string of a JSON answer: the string's place and the span's lines in it.
    std::string in_string;
    for (const std::string& pointer : s.json_pointer) in_string += (in_string.empty() ? "; in string " : " then ") + pointer;
    if (!in_string.empty()) {
      in_string += ", its lines " + std::to_string(s.json_first_line) + "-" + std::to_string(s.json_last_line);
    }
    std::printf("    answer bytes %u-%u (lines %u-%u%s) ~ %s bytes %u-%u (lines %u-%u), %u tokens matched, %.0f%%%s\n"
                "      \"%s\"\n",
                s.query.start, s.query.end, s.query.first_line, s.query.last_line, in_string.c_str(),
                s.source_name.c_str(), s.source.start, s.source.end, s.source.first_line,
                s.source.last_line, s.matched_tokens, s.score * 100, code.c_str(), excerpt.c_str());
  }
  if (with_output) {
    std::printf("--- output ---\n%s%s--- end of output ---\n", v.output.c_str(),
                v.output.empty() || v.output.back() == '\n' ? "" : "\n");
  }
}

struct Flags {
  std::string index, input = "-", id, format = "json", lang, text_field = "text", id_field = "id", path_field, policy;
  std::string common_index;  // IndexOptions::common_code
  std::vector<std::string> actions;  // --action SEVERITY=ACTION
  bool jsonl = false, with_output = false;
  uint64_t max_answer_bytes = uint64_t{16} << 20;
  FilterOptions options;
  // --token-cache-tokens when given (FilterOptions::token_cache_tokens; scan has its own default).
  std::optional<uint64_t> token_cache_tokens;
  // --code-window-tokens when given (FilterOptions::code_window_tokens; scan has its own default).
  std::optional<uint32_t> code_window_tokens;
};

// `line_no`: the input line a --jsonl verdict answers (0: none), its "line" before the verdict's
// fields, as an error line's is.
bool Emit(const Flags& f, Verdict& v, std::string_view text, size_t line_no = 0) {
  if (f.format == "text") {
    PrintText(v, text, f.with_output);
  } else {
    std::string line;
    if (line_no > 0) line = "{\"line\":" + std::to_string(line_no) + ",";
    AppendVerdictJson(v, f.with_output, &line);
    if (line_no > 0) line.erase(line.find(",{") + 1, 1);  // (the verdict's own opening brace)
    line += "\n";
    std::fwrite(line.data(), 1, line.size(), stdout);
  }
  return Flagging(v.action);
}

// An index without documents allows everything: say so, since a gate on it passes every input
// (an index whose build was stopped, or whose documents were all removed).
void WarnIfEmpty(const Filter& filter, const std::string& dir) {
  auto stats = filter.index().Stats();
  if (stats.ok() && stats->documents == 0) {
    std::fprintf(stderr, "doppel-filter: warning: the index %s holds no documents: everything is allowed\n",
                 dir.c_str());
  }
}

// The flag that sets a policy key (AddThresholdFlags): the key's words joined by '-', but for
// those named otherwise.
std::string FlagOfPolicyKey(std::string_view key) {
  static const std::pair<std::string_view, std::string_view> kNamed[] = {
      {"text.min_span_tokens", "--min-span-tokens"},           {"text.redact_tokens", "--redact-tokens"},
      {"text.redact_containment", "--redact-containment"},     {"text.block_containment", "--block-containment"},
      {"code.min_span_tokens", "--code-min-span-tokens"},      {"code.redact_tokens", "--code-redact-tokens"},
      {"max_document_frequency", "--max-df"}};
  for (const auto& [k, flag] : kNamed) {
    if (k == key) return std::string(flag);
  }
  std::string flag = "--" + std::string(key);
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

// The flags' settings, with the policy file's keys over them (--policy, as serve reads it).
Result<FilterOptions> OptionsOf(const Flags& f) {
  FilterOptions o = f.options;
  DOPPEL_RETURN_IF_ERROR(CheckPolicyRanges(o, FlagOfPolicyKey));
  for (const std::string& a : f.actions) {
    const size_t eq = a.find('=');
    auto severity = ParseAction(a.substr(0, std::min(eq, a.size())));
    auto action = eq == std::string::npos ? severity : ParseAction(a.substr(eq + 1));
    if (eq == std::string::npos || !severity.ok() || !action.ok()) {
      return Status::InvalidArgument("--action " + a +
                                     ": expected SEVERITY=ACTION, each one of allow, annotate, redact, block");
    }
    o.actions[static_cast<size_t>(*severity)] = *action;
  }
  for (const auto& [flag, text] : {std::pair<const char*, const std::string*>{"--redact-marker", &o.redact_marker},
                                   {"--annotate-message", &o.annotate_message}}) {
    if (text->find_first_of("\r\n") != std::string::npos) {
      return Status::InvalidArgument(std::string(flag) + " must be one line (it becomes a comment in code)");
    }
  }
  if (f.token_cache_tokens) o.token_cache_tokens = *f.token_cache_tokens;
  if (f.code_window_tokens) o.code_window_tokens = *f.code_window_tokens;
  if (f.policy.empty()) return o;
  return LoadPolicyFile(f.policy, o);
}

// The id of a JSON line that could not be checked: its `id_field` when the line is a JSON object
// that has one as a string or number, else "".
std::string JsonLineId(std::string_view line, const std::string& id_field, simdjson::dom::parser* parser) {
  simdjson::dom::element root;
  simdjson::dom::object obj;
  std::string scratch;
  if (ParseJson(parser, line, &root, &scratch) || root.get_object().get(obj)) return "";
  simdjson::dom::element id;
  if (obj[id_field].get(id)) return "";
  std::string_view text;
  if (!id.get_string().get(text)) return std::string(text);
  return id.is_number() ? simdjson::minify(id) : "";
}

int RunCheck(const Flags& f) {
  auto options = OptionsOf(f);
  if (!options.ok()) return Fail(options.status());
  IndexOptions io;
  io.cache_text_postings = !f.jsonl;  // a stream of answers reads each text posting block about once, as a scan
  io.map_files = true;                // a short-lived reader: opening is most of one answer's check
  io.common_code = f.common_index;
  auto filter = Filter::Open(f.index, *options, io);
  if (!filter.ok()) return Fail(filter.status());
  WarnIfEmpty(**filter, f.index);
  const std::string name = f.input == "-" ? "<stdin>" : f.input;
  if (!f.jsonl) {
    auto data = ReadAnswer(f.input, name, f.max_answer_bytes);
    if (!data.ok()) return Fail(data.status());
    // --lang, or a code file's extension, reads the whole input as code; otherwise Markdown.
    const Language* l = !f.lang.empty() ? LookupLanguage(f.lang) : LanguageForPath(f.input);
    const bool code = !f.lang.empty() || l != nullptr;
    auto v = (*filter)->Check(*data, code ? Kind::kCode : Kind::kText, l ? l->name : f.lang);
    if (!v.ok()) return Fail(v.status().WithContext(name));
    v->id = f.id.empty() ? name : f.id;
    return Emit(f, *v, *data) ? 1 : 0;
  }
  // JSON Lines, streamed: one verdict line per input line that is not blank, in order, each
  // with its "line". A bad or over-long line gets an error line (so outputs stay aligned with
  // inputs), a message on stderr, and exit code 2 at the end.
  if (!f.id.empty()) {
    return Fail(Status::InvalidArgument("--id names a single answer; with --jsonl the ids come from --id-field"));
  }
  if (f.input != "-" && std::filesystem::is_directory(f.input)) {
    return Fail(Status::InvalidArgument(f.input + ": is a directory, not a JSON Lines file"));
  }
  auto src = OpenSource(f.input);
  if (!src.ok()) return Fail(src.status());
  LineReader lines(std::move(*src), f.max_answer_bytes, "--max-answer-bytes");
  ReaderOptions reader_options;
  reader_options.text_field = f.text_field;
  reader_options.id_field = f.id_field;
  reader_options.path_field = f.path_field;
  bool flagged = false, failed = false;
  simdjson::dom::parser parser, kind_parser;
  std::string line;
  for (size_t line_no = 1;; ++line_no) {
    const std::string where = name + ":" + std::to_string(line_no);
    // An error line names the answer's id as its verdict line would, when the line gave one.
    auto error_line = [&](const Status& s, const std::string& id = "") {
      failed = true;
      std::fprintf(stderr, "doppel-filter: error: %s: %s\n", where.c_str(), s.ToString().c_str());
      std::string out = "{\"line\":" + std::to_string(line_no);
      if (!id.empty()) {
        out += ",\"id\":";
        AppendJsonString(&out, id);
      }
      out += ",\"error\":{\"code\":\"" + std::string(s.CodeName()) + "\",\"message\":";
      AppendJsonString(&out, where + ": " + s.message());
      out += "}}\n";
      std::fwrite(out.data(), 1, out.size(), stdout);
    };
    auto more = lines.Next(&line);
    if (!more.ok()) {
      if (more.status().code() != Status::Code::kResourceExhausted) return Fail(more.status().WithContext(where));
      error_line(more.status());
      continue;
    }
    if (!*more) break;
    if (line_no == 1) {
      if (Status s = RefuseCompressedStart(line, name); !s.ok()) return Fail(s);
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    // A line reads as build and scan read it: its "lang" (a known language) or "kind": "code"
    // makes it code; --lang is the language of lines that name none.
    Document d;
    if (Status ps = ParseJsonLineDocument(line, reader_options, where, &parser, &d); !ps.ok()) {
      error_line(ps, JsonLineId(line, f.id_field, &kind_parser));
      continue;
    }
    auto names_kind = [&] {  // the line says what it is ("lang", "language" or "kind")
      simdjson::dom::element r;
      std::string scratch;
      if (ParseJson(&kind_parser, line, &r, &scratch)) return false;
      for (const char* key : {"lang", "language", "kind"}) {
        if (r[key].error() == simdjson::SUCCESS) return true;
      }
      return false;
    };
    if (!f.lang.empty() && d.kind == Kind::kText && !names_kind()) {
      const Language* l = LookupLanguage(f.lang);
      d.kind = Kind::kCode;
      d.language = l ? l->name : f.lang;
    }
    auto v = (*filter)->Check(d.text, d.kind, d.language);
    const std::string& id_str = d.name;
    const std::string_view text = d.text;
    if (!v.ok()) {
      if (v.status().code() != Status::Code::kInvalidArgument &&
          v.status().code() != Status::Code::kResourceExhausted) {
        return Fail(v.status().WithContext(where));  // the index failed: stop
      }
      error_line(v.status(), id_str == where ? "" : id_str);
      continue;
    }
    v->id = id_str;
    flagged |= Emit(f, *v, text, line_no);
  }
  std::fflush(stdout);
  if (failed) return 2;
  return flagged ? 1 : 0;
}

struct ServeFlags {
  std::string listen = "127.0.0.1:8080", token_file;
  bool quiet = false;
  int64_t timeout_ms = 5000, body_timeout_ms = 10000, session_ttl_s = 300, refresh_ms = 1000;
  ServerOptions server;
};

Status ParseListen(const std::string& listen, ServerOptions* o) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::InvalidArgument("--listen " + listen + ": expected HOST:PORT (e.g. 127.0.0.1:8080)");
  }
  o->host = listen.substr(0, colon);
  // An IPv6 address in brackets, as in a URL ("[::1]:8080"), is the address without them.
  if (o->host.size() > 2 && o->host.front() == '[' && o->host.back() == ']') o->host = o->host.substr(1, o->host.size() - 2);
  const std::string port = listen.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) > 65535) {
    return Status::InvalidArgument("--listen " + listen + ": port must be 0..65535");
  }
  o->port = std::stoi(port);
  return Status::OK();
}

int RunServe(const Flags& f, ServeFlags& sf) {
  auto policy = OptionsOf(f);
  if (!policy.ok()) return Fail(policy.status());
  FilterOptions options = std::move(*policy);
  ServerOptions& so = sf.server;
  if (Status s = ParseListen(sf.listen, &so); !s.ok()) return Fail(s);
  if (!sf.token_file.empty()) {
    auto token = ReadAll(sf.token_file);
    if (!token.ok()) return Fail(token.status());
    std::string t = *token;
    while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
    while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.erase(t.begin());
    if (t.empty()) return Fail(Status::InvalidArgument(sf.token_file + ": the token file is empty"));
    so.token = t;
  }
  so.request_timeout = std::chrono::milliseconds(sf.timeout_ms);
  so.body_timeout = std::chrono::milliseconds(sf.body_timeout_ms);
  so.session_ttl = std::chrono::seconds(sf.session_ttl_s);
  so.refresh_interval = std::chrono::milliseconds(sf.refresh_ms);
  so.access_log = sf.quiet ? nullptr : stderr;
  if (so.access_log) std::setvbuf(stderr, nullptr, _IOLBF, 0);

  // SIGTERM, SIGINT and SIGHUP (a closed terminal, or a supervisor's reload: the index is
  // reopened by a restart) are taken by one thread (blocked everywhere else, before any thread
  // starts), which stops the server: requests in flight finish, then Run returns.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  IndexOptions io;
  io.follow_writer = so.refresh_interval.count() > 0;
  io.common_code = f.common_index;
  auto filter = Filter::Open(f.index, options, io);
  if (!filter.ok()) return Fail(filter.status());
  Server server(std::shared_ptr<Filter>(std::move(*filter)), so);
  if (Status s = server.Bind(); !s.ok()) return Fail(s);
  const bool v6 = so.host.find(':') != std::string::npos;  // (a URL puts an IPv6 address in brackets)
  std::fprintf(stderr, "doppel-filter: serving %s on http://%s%s%s:%d\n", f.index.c_str(), v6 ? "[" : "",
               so.host.c_str(), v6 ? "]" : "",
               server.port());
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::fprintf(stderr, "doppel-filter: %s: finishing requests in flight\n",
                 sig == SIGINT ? "SIGINT" : sig == SIGHUP ? "SIGHUP" : "SIGTERM");
    server.Stop();
  });
  Status s = server.Run();
  pthread_kill(waiter.native_handle(), SIGTERM);  // wakes the waiter when Run ended by itself
  waiter.join();
  if (!s.ok()) return Fail(s);
  std::fprintf(stderr, "doppel-filter: stopped\n");
  return 0;
}

struct ScanFlags {
  std::string report, on_error = "skip", text_field = "text", id_field = "id", path_field;
  std::vector<std::string> inputs;
  int64_t fail_on = -1;
  int threads = 0;
  size_t report_documents = 500;
  uint64_t max_document_bytes = uint64_t{64} << 20;
  bool quiet = false, lexer_first = false, parse_all = false, lossy_utf8 = false;
  std::string stage = "all";  // one task (what executors run)
  uint32_t rank = 0, world = 1;
};

// Scan as Slurm jobs: an array of check tasks, then the report task after them.
int RunScanOnSlurm(int argc, char** argv, const ScanFlags& sf, const ExecutorOptions& x) {
  SlurmJobs jobs(x, std::filesystem::absolute(sf.report + "/.tasks/slurm").string(), argc, argv, {"--fail-on"});
  if (Status s = jobs.Prepare(); !s.ok()) return Fail(s);
  const std::string world = std::to_string(x.tasks);
  auto check = jobs.Submit("scan-check", x.tasks, "", false,
                           "--quiet --stage check --world " + world + " --rank \"$SLURM_ARRAY_TASK_ID\"");
  if (!check.ok()) return Fail(check.status());
  // The report task decides the exit code (--fail-on) and prints the summary into its log.
  auto report = jobs.Submit("scan-report", 0, *check, !x.no_wait, "--stage report --world " + world);
  if (!report.ok()) return Fail(report.status().WithContext("the Slurm job " + *check + " (logs in " + jobs.logs() + ")"));
  std::error_code ec;
  if (!x.no_wait && !std::filesystem::exists(sf.report + "/report.html", ec)) {
    return Fail(Status::Internal("the Slurm jobs " + *check + " and " + *report + " ended without a report; the "
                                 "failed task's log in " + jobs.logs() + " says why"));
  }
  if (!sf.quiet || x.no_wait) {
    std::fprintf(stderr, "doppel-filter: scan %s as Slurm jobs %s (check, %s tasks) and %s (report); logs in %s\n",
                 x.no_wait ? "submitted" : "ran", check->c_str(), world.c_str(), report->c_str(), jobs.logs().c_str());
  }
  if (x.no_wait) return 0;
  // The report's verdict on --fail-on, as a local run gives it (flagged, or unreadable documents).
  std::ifstream in(sf.report + "/summary.json");
  std::string summary((std::istreambuf_iterator<char>(in)), {});
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  uint64_t flagged = 0, errors = 0;
  if (parser.parse(summary).get(root) || root["flagged"].get_uint64().get(flagged) ||
      root["errors"].get_uint64().get(errors)) {
    return Fail(Status::Corruption(sf.report + "/summary.json: unreadable"));
  }
  return sf.fail_on >= 0 && (flagged > static_cast<uint64_t>(sf.fail_on) || errors > 0) ? 1 : 0;
}

int RunScan(int argc, char** argv, const Flags& f, const ScanFlags& sf, const ExecutorOptions& x) {
  if (x.tasks == 0) return Fail(Status::InvalidArgument("--tasks must be at least 1"));
  if (x.executor == "slurm") {
    if (sf.stage != "all") return Fail(Status::InvalidArgument("--stage is for the tasks an executor runs"));
    return RunScanOnSlurm(argc, argv, sf, x);
  }
  // (A scan refused before it starts leaves no earlier scan's report to be read as its own.)
  auto refuse = [&](const Status& s) {
    if (sf.stage != "check") RemoveEarlierReport(sf.report);
    return Fail(s);
  };
  auto options = OptionsOf(f);
  if (!options.ok()) return refuse(options.status());
  IndexOptions io = ScanIndexOptions();
  io.common_code = f.common_index;
  FilterOptions scan_options = ScanFilterOptions(*options);
  if (f.token_cache_tokens) scan_options.token_cache_tokens = *f.token_cache_tokens;
  if (f.code_window_tokens) scan_options.code_window_tokens = *f.code_window_tokens;
  auto filter = Filter::Open(f.index, scan_options, io);
  if (!filter.ok()) return refuse(filter.status());
  WarnIfEmpty(**filter, f.index);
  ScanOptions o;
  o.stage = sf.stage == "check" ? ScanOptions::Stage::kCheck
            : sf.stage == "report" ? ScanOptions::Stage::kReport : ScanOptions::Stage::kAll;
  o.rank = sf.rank;
  o.world = sf.world;
  o.reader.text_field = sf.text_field;
  o.reader.id_field = sf.id_field;
  o.reader.path_field = sf.path_field;
  o.reader.max_document_bytes = sf.max_document_bytes;
  o.reader.lossy_utf8 = sf.lossy_utf8;
  o.threads = sf.threads;
  o.fail_on_error = sf.on_error == "fail";
  o.report_documents = sf.report_documents;
  o.lexer_first = !sf.parse_all;
  const bool tty = isatty(2) && !sf.quiet;
  o.on_error = [&](const Status& s) {
    // With --on-error fail the scan stops with this error, which is said once, as it ends.
    if (o.fail_on_error) return;
    std::fprintf(stderr, "%sdoppel-filter: skipped: %s\n", tty ? "\r\033[K" : "", ForTerminal(s.message()).c_str());
  };
  const auto t0 = std::chrono::steady_clock::now();
  if (tty) {
    o.on_progress = [t0](uint64_t docs, uint64_t bytes, uint64_t flagged) {
      const double s = std::max(1e-3, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      std::fprintf(stderr, "\r\033[K%llu documents  %.1f MB  %.1f MB/s  %llu flagged",
                   static_cast<unsigned long long>(docs), bytes / 1e6, bytes / 1e6 / s,
                   static_cast<unsigned long long>(flagged));
      std::fflush(stderr);
    };
  }
  ScanSummary sum;
  Status s;
  if (o.stage == ScanOptions::Stage::kAll && x.tasks > 1) {
    // The local executor runs the tasks one after another, each on every core.
    o.world = x.tasks;
    o.one_command = true;
    o.stage = ScanOptions::Stage::kCheck;
    for (uint32_t r = 0; r < x.tasks && s.ok(); ++r) {
      o.rank = r;
      s = Scan(**filter, sf.inputs, sf.report, o, &sum);
    }
    o.stage = ScanOptions::Stage::kReport;
    if (s.ok()) s = Scan(**filter, sf.inputs, sf.report, o, &sum);
  } else {
    s = Scan(**filter, sf.inputs, sf.report, o, &sum);
  }
  if (tty) std::fprintf(stderr, "\r\033[K");
  if (!s.ok()) return Fail(s);
  if (o.stage == ScanOptions::Stage::kCheck) {
    if (!sf.quiet && sum.resumed) {
      std::fprintf(stderr, "doppel-filter: scan check task %u of %u: done before with these inputs\n", o.rank, o.world);
    } else if (!sf.quiet) {
      std::fprintf(stderr, "doppel-filter: scan check task %u of %u: %llu documents, %llu flagged\n", o.rank, o.world,
                   static_cast<unsigned long long>(sum.documents), static_cast<unsigned long long>(sum.flagged));
    }
    return 0;
  }
  if (!sf.quiet) {
    std::fprintf(stderr,
                 "doppel-filter: scanned %llu documents (%.1f MB) in %.2f s: %llu flagged, %llu lines in matched "
                 "passages, %llu unreadable; report in %s/report.html\n",
                 static_cast<unsigned long long>(sum.documents), sum.bytes / 1e6, sum.seconds,
                 static_cast<unsigned long long>(sum.flagged), static_cast<unsigned long long>(sum.lines_covered),
                 static_cast<unsigned long long>(sum.errors), sf.report.c_str());
  }
  if (sf.fail_on >= 0 && sum.flagged > static_cast<uint64_t>(sf.fail_on)) {
    std::fprintf(stderr, "doppel-filter: %llu documents flagged, more than --fail-on %lld\n",
                 static_cast<unsigned long long>(sum.flagged), static_cast<long long>(sf.fail_on));
    return 1;
  }
  // A gate that could not read part of what it was given has not passed it.
  if (sf.fail_on >= 0 && sum.errors > 0) {
    std::fprintf(stderr, "doppel-filter: %llu documents could not be checked (listed in %s/errors.jsonl)\n",
                 static_cast<unsigned long long>(sum.errors), sf.report.c_str());
    return 1;
  }
  return 0;
}

void AddThresholdFlags(CLI::App* cmd, Flags& f) {
  cmd->add_option("--policy", f.policy, "Policy file (JSON, as serve reads it; its keys override the flags)");
  auto& t = f.options.text;
  cmd->add_option("--min-span-tokens", t.min_span_tokens, "Shortest reported prose span, in tokens")->capture_default_str();
  cmd->add_option("--redact-tokens", t.redact_tokens, "Prose tokens from one source that make an answer redacted")->capture_default_str();
  cmd->add_option("--redact-containment", t.redact_containment, "Share of the answer that makes it redacted")->capture_default_str();
  cmd->add_option("--block-containment", t.block_containment, "Share of the answer that makes it blocked")->capture_default_str();
  auto& c = f.options.code;
  cmd->add_option("--code-min-span-tokens", c.min_span_tokens, "Shortest reported code span, in tokens")->capture_default_str();
  cmd->add_option("--code-redact-tokens", c.redact_tokens, "Code tokens from one source that make an answer redacted")->capture_default_str();
  cmd->add_option("--min-renaming", f.options.min_renaming,
                  "Code spans whose names are a consistent renaming for less than this share only annotate")
      ->capture_default_str();
  cmd->add_option("--min-renaming-evidence", f.options.min_renaming_evidence,
                  "Code spans need this many repeated-name occurrences to redact or block")
      ->capture_default_str();
  cmd->add_option("--min-literal-agreement", f.options.min_literal_agreement,
                  "Code spans whose aligned literals agree for less than this share only annotate (0: off)")
      ->capture_default_str();
  cmd->add_option("--code-evidence-df", f.options.code_evidence_df,
                  "A code token counts fully toward --code-redact-tokens when at most this many protected "
                  "documents share its fingerprint, less when more (0: every token counts)")
      ->capture_default_str();
  cmd->add_option("--code-whole-share", f.options.code_whole_share,
                  "A code span covering this share of its block is a whole function copied: its tokens weigh "
                  "by --code-whole-df instead (0: off)")
      ->capture_default_str();
  cmd->add_option("--code-whole-blocks", f.options.code_whole_blocks,
                  "A code span that is whole blocks at the answer's outer level (a function copied into new "
                  "code) weighs as a whole block too (more embedded copies redacted, more idioms flagged)")
      ->capture_default_str();
  cmd->add_option("--prose-in-code", f.options.prose_in_code,
                  "Also read the words of code's comments, docstrings and string literals as prose, to find "
                  "protected prose put in code")
      ->capture_default_str();
  cmd->add_option("--bare-code", f.options.bare_code,
                  "Read runs of lines that look like code outside fences (pasted between sentences, indented in a "
                  "list item) as code in an untagged fence")
      ->capture_default_str();
  cmd->add_option("--json-strings", f.options.json_strings,
                  "Also read an answer that is one JSON value (structured output, a tool call), or holds one in a "
                  "fence or on lines of its own, as what its strings hold: code beside a language or file name, "
                  "or under a key such as \"code\", as code")
      ->capture_default_str();
  cmd->add_option("--diff-code", f.options.diff_code,
                  "Read a fenced patch (unified diff or apply_patch) as its files' new sides: context and added "
                  "lines without their column, in the language of each file's name")
      ->capture_default_str();
  cmd->add_option("--code-whole-blocks-min-tokens", f.options.code_whole_blocks_min_tokens,
                  "With --code-whole-blocks, a span that is whole blocks needs this many matched tokens to weigh "
                  "as a whole block")
      ->capture_default_str();
  cmd->add_option("--code-whole-df", f.options.code_whole_df,
                  "A whole-block code span's token counts fully when at most this many protected documents "
                  "share its fingerprint (0: every token counts)")
      ->capture_default_str();
  cmd->add_option("--code-whole-min-tokens", f.options.code_whole_min_tokens,
                  "A whole code block shorter than --code-min-span-tokens is reported from this many matched "
                  "tokens (0: never), and counts only with --code-rare-items rare items")
      ->capture_default_str();
  cmd->add_option("--code-whole-joint-df", f.options.code_whole_joint_df,
                  "A whole code block whose fingerprints at most this many protected documents hold all "
                  "together weighs every matched token fully, under the span minimum too (0: off)")
      ->capture_default_str();
  cmd->add_option("--code-rare-items", f.options.code_rare_items,
                  "A code span holding this many names, strings and comments of its source that few protected "
                  "documents use (--code-name-df; a comment is one item per 8 words) weighs every matched token "
                  "fully (0: off)")
      ->capture_default_str();
  cmd->add_option("--code-name-df", f.options.code_name_df,
                  "A name, string or comment is a rare item when at most this many protected code documents use it")
      ->capture_default_str();
  cmd->add_option("--code-literal-bytes", f.options.code_literal_bytes,
                  "Strings shorter than this many bytes (quotes included) are no rare items")
      ->capture_default_str();
  cmd->add_option("--code-verbatim-names", f.options.code_verbatim_names,
                  "A whole code block copied with at least this many distinct names, none renamed, needs one "
                  "rare item instead of --code-rare-items (0: off)")
      ->capture_default_str();
  cmd->add_option("--min-renaming-short", f.options.min_renaming_short,
                  "The --min-renaming of code spans shorter than --short-span-tokens")
      ->capture_default_str();
  cmd->add_option("--short-span-tokens", f.options.short_span_tokens,
                  "Code spans of fewer matched tokens need --min-renaming-short")
      ->capture_default_str();
  cmd->add_option("--common-index", f.common_index,
                  "Index of common code that is not protected (other projects, everyday idioms): shapes the protected "
                  "code shares with it weigh as boilerplate; its documents are never reported. Same parameters as --index");
  cmd->add_option("--max-df", f.options.max_document_frequency, "Fingerprints in more documents are boilerplate")->capture_default_str();
  cmd->add_option("--max-candidates", f.options.max_candidates, "Candidates aligned per answer")->capture_default_str();
  cmd->add_option_function<uint64_t>(
      "--token-cache-tokens", [&f](const uint64_t& n) { f.token_cache_tokens = n; },
      "Tokens of candidate documents kept decoded between checks, about 40 bytes each (default 4194304, "
      "scan 2097152; under 16: none). A server on a large code index answers faster when its candidates fit (README)")
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 40));
  cmd->add_option_function<uint32_t>(
      "--code-window-tokens", [&f](const uint32_t& n) { f.code_window_tokens = n; },
      "A stored code document of this many tokens or more that the token cache does not hold is read in place: only "
      "the spans aligned with the answer are decoded, and it is not cached (default 4096, scan 0; 0: every candidate "
      "decoded whole and cached). The verdicts are the same");
  cmd->add_option("--redact-marker", f.options.redact_marker, "Text put in place of a redacted passage ({source}: its name)")->capture_default_str();
  cmd->add_option("--block-message", f.options.block_message, "Text put in place of a blocked answer")->capture_default_str();
  cmd->add_option("--annotate-message", f.options.annotate_message,
                  "Note added after an annotated answer ({sources}: the sources, with license and url; empty: none)")
      ->capture_default_str();
  // One value an occurrence: `--action block=redact answer.md` leaves the answer to the command.
  cmd->add_option("--action", f.actions,
                  "SEVERITY=ACTION: the action taken at a severity (e.g. redact=block, block=redact); repeatable")
      ->allow_extra_args(false);
}

}  // namespace

int main(int argc, char** argv) {
  // A file written past the size limit (ulimit -f) fails its write (EFBIG, "File too large"),
  // which the command reports with the file's name and exit 2, keeping what was stored, instead
  // of SIGXFSZ ending the process with no word.
  signal(SIGXFSZ, SIG_IGN);
  doppel::KeepCheckMemory();  // checks allocate and free megabytes each (doppel/allocator.h; under glibc)
  CLI::App app{"doppel-filter: check generated answers against a doppel index."};
  app.footer(kExitCodes);
  app.require_subcommand(1);
  Flags f;
  auto* check = app.add_subcommand("check", "Check one answer (FILE or - for stdin), or a JSONL stream with --jsonl");
  check->add_option("--index", f.index, "Index directory")->required();
  check->add_option("input", f.input, "Answer file, or - for standard input")->capture_default_str();
  check->add_flag("--jsonl", f.jsonl, "Input is JSON Lines of {\"id\": ..., \"text\": ...}; one verdict line each");
  check->add_option("--id", f.id, "Id echoed in the verdict (single answers)");
  check->add_option("--text-field", f.text_field, "With --jsonl: the field holding the answer")->capture_default_str();
  check->add_option("--id-field", f.id_field, "With --jsonl: the field echoed as the verdict's id")->capture_default_str();
  check->add_option("--path-field", f.path_field,
                    "With --jsonl: the field holding each answer's file path; an answer without a lang is code when a file of that name would be (a grammar's extension)");
  check->add_option("--max-answer-bytes", f.max_answer_bytes,
                    "Largest answer (or JSONL line) checked; a check's peak memory is 22-28 bytes per byte of prose, up to about 165 per byte of dense code")
      ->capture_default_str();
  check->add_option("--lang", f.lang,
                    "Read the whole answer as code in this language (name, fence tag or extension; "
                    "unknown names use the generic code lexer). Default: Markdown, with fenced code "
                    "blocks read in their fence's language; a code file's extension also selects code");
  check->add_option("--format", f.format, "json (one object per answer) or text (for people)")
      ->check(CLI::IsMember({"json", "text"}))->capture_default_str();
  check->add_flag("--output", f.with_output, "Include the answer as the user should see it (annotated, redacted or blocked)");
  AddThresholdFlags(check, f);

  ServeFlags sf;
  auto* serve = app.add_subcommand("serve", "Serve checks over HTTP (JSON API; see README)");
  serve->footer("Exit codes: 0 after SIGTERM/SIGINT (requests in flight finish); 2 when it cannot start.");
  serve->add_option("--index", f.index, "Index directory (opened read-only; updates become visible live)")->required();
  serve->add_option("--listen", sf.listen, "HOST:PORT to listen on (port 0: any free port)")->capture_default_str();
  serve->add_option("--token-file", sf.token_file, "File holding a bearer token required on /v1/ routes");
  serve->add_option("--workers", sf.server.workers, "Checks run at once (0: one per core)")->capture_default_str();
  serve->add_option("--connection-threads", sf.server.connection_threads,
                    "Threads serving connections (each open keep-alive connection holds one)")->capture_default_str();
  serve->add_option("--max-body-bytes", sf.server.max_body_bytes, "Largest request body (413 beyond)")->capture_default_str();
  serve->add_option("--request-timeout-ms", sf.timeout_ms, "A check not done by then gets 503")
      ->check(CLI::Range(int64_t{1}, int64_t{3600000}))->capture_default_str();
  serve->add_option("--body-timeout-ms", sf.body_timeout_ms,
                    "A request body not all arrived by then gets 408 and its connection is closed")
      ->check(CLI::Range(int64_t{1}, int64_t{3600000}))->capture_default_str();
  serve->add_option("--max-sessions", sf.server.max_sessions, "Streaming sessions open at once (503 beyond)")->capture_default_str();
  serve->add_option("--max-session-bytes", sf.server.max_session_bytes, "Largest streamed answer (413 beyond)")->capture_default_str();
  serve->add_option("--session-ttl-s", sf.session_ttl_s, "Sessions without an append for this long are closed")
      ->check(CLI::Range(int64_t{1}, int64_t{86400}))->capture_default_str();
  serve->add_option("--refresh-ms", sf.refresh_ms, "How often to pick up index updates (0: never)")
      ->check(CLI::Range(int64_t{0}, int64_t{3600000}))->capture_default_str();
  serve->add_flag("--quiet", sf.quiet, "No access log on stderr");
  serve->add_flag("--no-request-policy{false}", sf.server.request_policy,
                  "Refuse (400) a request's \"policy\": only the server's thresholds and actions apply");
  AddThresholdFlags(serve, f);

  ScanFlags scf;
  ExecutorOptions x;
  auto* scan = app.add_subcommand("scan", "Scan a corpus or codebase and write a report (results.jsonl, summary.json, report.html)");
  scan->footer("Exit codes: 0 done; 1 with --fail-on N: more than N documents flagged, or some could not be checked "
               "(errors.jsonl); 2 error (bad input with --on-error fail, missing, corrupt or incompatible index).");
  scan->add_option("--index", f.index, "Index directory")->required();
  scan->add_option("--report", scf.report, "Report directory (created if missing)")->required();
  scan->add_option("inputs", scf.inputs, "Files, directories (code by extension) and JSON Lines (.jsonl, .gz, .zst)")->required();
  scan->add_option("--fail-on", scf.fail_on,
                   "Exit 1 when more than N documents are flagged, or any could not be checked (for CI gates)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 62));  // (NonNegativeNumber names a 300-digit maximum)
  scan->add_option("--threads", scf.threads, "Worker threads (0 = all cores)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 16));
  scan->add_option("--on-error", scf.on_error, "Unreadable documents: 'skip' reports them and goes on, 'fail' stops")
      ->check(CLI::IsMember({"fail", "skip"}))->capture_default_str();
  scan->add_option("--text-field", scf.text_field, "JSONL field holding the text")->capture_default_str();
  scan->add_option("--id-field", scf.id_field, "JSONL field holding the document name")->capture_default_str();
  scan->add_option("--path-field", scf.path_field, kPathFieldHelp);
  scan->add_option("--max-document-bytes", scf.max_document_bytes,
                   "Larger documents are not checked (each is an error of its own, in errors.jsonl)")
      ->capture_default_str();
  scan->add_flag("--lossy-utf8", scf.lossy_utf8,
                 "Read bytes that are not UTF-8 (a Latin-1 file) as '?', one for one, so the document is checked "
                 "(by default it is an error of its own, in errors.jsonl)");
  scan->add_option("--report-documents", scf.report_documents, "Flagged documents shown in report.html (most overlap first)")
      ->capture_default_str();
  scan->add_flag("--quiet", scf.quiet, "No progress line or summary");
  scan->add_flag("--parse-all", scf.parse_all,
                 "Parse every code file (by default code is read by a lexer first, and only files that check flags are "
                 "parsed and checked again: about twice as fast, and it can miss a file the lexer's tokens do not flag)");
  // The default since the lexer agreed with the parse on every flagged answer of the benchmarks
  // (bench/README.md); still accepted.
  scan->add_flag("--lexer-first", scf.lexer_first, "The default (kept for scripts that name it)")
      ->group("")
      ->excludes("--parse-all");
  scan->add_option("--executor", x.executor, "local (this process) or slurm (sbatch array jobs; see README)")
      ->capture_default_str()->check(CLI::IsMember({"local", "slurm"}));
  scan->add_option("--tasks", x.tasks, "Check tasks the documents are split into")->capture_default_str();
  scan->add_option("--partition", x.partition, "slurm: partition");
  scan->add_option("--time", x.time_limit, "slurm: time limit of each task (e.g. 2:00:00)");
  scan->add_option("--mem", x.mem, "slurm: memory of each task (e.g. 8G)");
  scan->add_option("--cpus-per-task", x.cpus_per_task, "slurm: CPUs of each task");
  scan->add_flag("--no-wait", x.no_wait, "slurm: submit and return without waiting for the jobs");
  scan->add_option("--stage", scf.stage, "Run one task: check or report (what executors call)")
      ->capture_default_str()->check(CLI::IsMember({"all", "check", "report"}));
  scan->add_option("--rank", scf.rank, "The check task's rank")->capture_default_str();
  scan->add_option("--world", scf.world, "The number of check tasks")->capture_default_str();
  AddThresholdFlags(scan, f);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::fprintf(stderr, "%s: error: %s\nRun with --help for more information.\n", "doppel-filter", e.what());
    return 2;
  }
  if (f.index.empty()) {
    std::fprintf(stderr, "doppel-filter: error: --index is empty: name the index directory\n");
    return 2;
  }
  for (const Status& s : {CheckPathField(f.path_field, f.text_field), CheckPathField(scf.path_field, scf.text_field)}) {
    if (!s.ok()) {
      std::fprintf(stderr, "doppel-filter: error: %s\n", s.message().c_str());
      return 2;
    }
  }
  if (*check && !f.path_field.empty() && !f.jsonl) {
    std::fprintf(stderr, "doppel-filter: error: --path-field reads JSON lines: give --jsonl, or --lang for one answer\n");
    return 2;
  }
  if (*check) return RunCheck(f);
  if (*serve) return RunServe(f, sf);
  if (*scan) return RunScan(argc, argv, f, scf, x);
  return 2;
}
