// doppel-filter: checks generated answers against a doppel index. Parses flags, calls lib/,
// prints verdicts, maps errors to exit codes in one place.
#include <simdjson.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "doppel/filter.h"
#include "doppel/format.h"
#include "doppel/language.h"

namespace {

using namespace doppel;

constexpr const char* kExitCodes =
    "Exit codes: 0 every answer allowed (allow or annotate); 1 at least one answer redacted or "
    "blocked; 2 error (bad input, missing, corrupt or incompatible index). A block is a "
    "result, not an error.";

int Fail(const Status& s) {
  std::fprintf(stderr, "doppel-filter: error: %s\n", s.ToString().c_str());
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
  if (!in) return Status::NotFound(path + ": cannot open");
  ss << in.rdbuf();
  return ss.str();
}

// A verdict for people: action, reason and each span with its source lines.
void PrintText(const Verdict& v, std::string_view text) {
  std::printf("%-10s %-8s score %.2f  %s\n", v.id.c_str(), std::string(ActionName(v.action)).c_str(),
              v.score, v.reason.c_str());
  for (const auto& s : v.spans) {
    std::string excerpt(text.substr(s.query.start, std::min<uint32_t>(s.query.end - s.query.start, 70)));
    for (char& c : excerpt) if (c == '\n') c = ' ';
    std::string code;
    if (s.kind == Kind::kCode) {
      char buf[96];
      std::snprintf(buf, sizeof buf, ", %s code, renaming %.2f", s.language.empty() ? "generic" : s.language.c_str(),
                    s.renaming);
      code = buf;
    }
    std::printf("    answer bytes %u-%u (lines %u-%u) ~ %s bytes %u-%u (lines %u-%u), %u tokens matched, %.0f%%%s\n"
                "      \"%s%s\"\n",
                s.query.start, s.query.end, s.query.first_line, s.query.last_line,
                s.source_name.c_str(), s.source.start, s.source.end, s.source.first_line,
                s.source.last_line, s.matched_tokens, s.score * 100, code.c_str(), excerpt.c_str(),
                s.query.end - s.query.start > 70 ? "..." : "");
  }
}

struct Flags {
  std::string index, input = "-", id, format = "json", lang;
  bool jsonl = false, with_output = false;
  FilterOptions options;
};

bool Emit(const Flags& f, Verdict& v, std::string_view text) {
  if (f.format == "text") {
    PrintText(v, text);
  } else {
    std::string line;
    AppendVerdictJson(v, f.with_output, &line);
    line += "\n";
    std::fwrite(line.data(), 1, line.size(), stdout);
  }
  return v.action == Action::kRedact || v.action == Action::kBlock;
}

int RunCheck(const Flags& f) {
  auto filter = Filter::Open(f.index, f.options);
  if (!filter.ok()) return Fail(filter.status());
  auto data = ReadAll(f.input);
  if (!data.ok()) return Fail(data.status());
  const std::string name = f.input == "-" ? "<stdin>" : f.input;
  if (!f.jsonl) {
    // --lang, or a code file's extension, reads the whole input as code; otherwise Markdown.
    const Language* l = !f.lang.empty() ? LookupLanguage(f.lang) : LanguageForPath(f.input);
    const bool code = !f.lang.empty() || l != nullptr;
    auto v = (*filter)->Check(*data, code ? Kind::kCode : Kind::kText, l ? l->name : f.lang);
    if (!v.ok()) return Fail(v.status().WithContext(name));
    v->id = f.id.empty() ? name : f.id;
    return Emit(f, *v, *data) ? 1 : 0;
  }
  // JSON Lines: one verdict line per input line, in order. A bad line gets an error line (so
  // outputs stay aligned with inputs), a message on stderr, and exit code 2 at the end.
  bool flagged = false, failed = false;
  simdjson::dom::parser parser;
  std::string_view rest = *data;
  size_t line_no = 0;
  while (!rest.empty()) {
    ++line_no;
    const size_t nl = rest.find('\n');
    std::string line(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = name + ":" + std::to_string(line_no);
    auto error_line = [&](const Status& s) {
      failed = true;
      std::fprintf(stderr, "doppel-filter: error: %s: %s\n", where.c_str(), s.ToString().c_str());
      std::string out = "{\"line\":" + std::to_string(line_no) + ",\"error\":{\"code\":\"" +
                        std::string(s.CodeName()) + "\",\"message\":";
      AppendJsonString(&out, where + ": " + s.message());
      out += "}}\n";
      std::fwrite(out.data(), 1, out.size(), stdout);
    };
    simdjson::dom::element root;
    std::string_view text, id;
    if (auto err = parser.parse(line).get(root); err) {
      error_line(Status::InvalidArgument(std::string("malformed JSON (") + simdjson::error_message(err) + ")"));
      continue;
    }
    if (root["text"].get_string().get(text)) {
      error_line(Status::InvalidArgument("\"text\" missing or not a string"));
      continue;
    }
    std::string id_str;
    if (!root["id"].get_string().get(id)) {
      id_str.assign(id);
    } else if (root["id"].is_number()) {
      id_str = simdjson::minify(root["id"]);
    } else {
      id_str = where;
    }
    std::string_view lang;
    const bool has_lang = !root["lang"].get_string().get(lang) || !root["language"].get_string().get(lang);
    const Language* l = has_lang ? LookupLanguage(lang) : nullptr;
    auto v = l ? (*filter)->Check(text, Kind::kCode, l->name) : (*filter)->Check(text);
    if (!v.ok()) {
      if (v.status().code() != Status::Code::kInvalidArgument &&
          v.status().code() != Status::Code::kResourceExhausted) {
        return Fail(v.status().WithContext(where));  // the index failed: stop
      }
      error_line(v.status());
      continue;
    }
    v->id = id_str;
    flagged |= Emit(f, *v, text);
  }
  std::fflush(stdout);
  if (failed) return 2;
  return flagged ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"doppel-filter: check generated answers against a doppel index."};
  app.footer(kExitCodes);
  app.require_subcommand(1);
  Flags f;
  auto* check = app.add_subcommand("check", "Check one answer (FILE or - for stdin), or a JSONL stream with --jsonl");
  check->add_option("--index", f.index, "Index directory")->required();
  check->add_option("input", f.input, "Answer file, or - for standard input")->capture_default_str();
  check->add_flag("--jsonl", f.jsonl, "Input is JSON Lines of {\"id\": ..., \"text\": ...}; one verdict line each");
  check->add_option("--id", f.id, "Id echoed in the verdict (single answers)");
  check->add_option("--lang", f.lang,
                    "Read the whole answer as code in this language (name, fence tag or extension; "
                    "unknown names use the generic code lexer). Default: Markdown, with fenced code "
                    "blocks read in their fence's language; a code file's extension also selects code");
  check->add_option("--format", f.format, "json (one object per answer) or text (for people)")
      ->check(CLI::IsMember({"json", "text"}))->capture_default_str();
  check->add_flag("--output", f.with_output, "Include the answer as the user should see it (redacted or blocked)");
  auto& t = f.options.text;
  check->add_option("--min-span-tokens", t.min_span_tokens, "Shortest reported prose span, in tokens")->capture_default_str();
  check->add_option("--redact-tokens", t.redact_tokens, "Prose tokens from one source that make an answer redacted")->capture_default_str();
  check->add_option("--redact-containment", t.redact_containment, "Share of the answer that makes it redacted")->capture_default_str();
  check->add_option("--block-containment", t.block_containment, "Share of the answer that makes it blocked")->capture_default_str();
  auto& c = f.options.code;
  check->add_option("--code-min-span-tokens", c.min_span_tokens, "Shortest reported code span, in tokens")->capture_default_str();
  check->add_option("--code-redact-tokens", c.redact_tokens, "Code tokens from one source that make an answer redacted")->capture_default_str();
  check->add_option("--min-renaming", f.options.min_renaming,
                    "Code spans whose names are a consistent renaming for less than this share only annotate")
      ->capture_default_str();
  check->add_option("--min-renaming-evidence", f.options.min_renaming_evidence,
                    "Code spans need this many repeated-name occurrences to redact or block")
      ->capture_default_str();
  check->add_option("--max-df", f.options.max_document_frequency, "Fingerprints in more documents are boilerplate")->capture_default_str();
  check->add_option("--max-candidates", f.options.max_candidates, "Candidates aligned per answer")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (*check) return RunCheck(f);
  return 2;
}
