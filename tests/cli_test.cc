// End-to-end tests of the command-line tools doppel-index and doppel-filter: the real binaries,
// their output, and their exit codes.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cctype>
#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

#include "doppel/format.h"
#include "doppel/index.h"
#include "doppel/options.h"
#include "doppel/tokenizer.h"
#include "test_util.h"

using doppel_test::CommandResult;
using doppel_test::Describe;
using doppel_test::Contains;
using doppel_test::Lines;
using doppel_test::Quote;
using doppel_test::Run;
using doppel_test::TempDir;
using doppel_test::WriteFile;

namespace {

const std::string kIndexBin = DOPPEL_INDEX_BIN;
const std::string kFilterBin = DOPPEL_FILTER_BIN;
const std::string kLicenses = "/usr/share/common-licenses";
const std::string kAnswers = std::string(DOPPEL_SOURCE_DIR) + "/data/demo/answers";
const std::string kAnswersJsonl = std::string(DOPPEL_SOURCE_DIR) + "/data/demo/answers.jsonl";

CommandResult Index(const std::string& args) { return Run(Quote(kIndexBin) + " " + args); }
CommandResult Filter(const std::string& args) { return Run(Quote(kFilterBin) + " " + args); }

// Builds an index of the license directory in `dir`.
void BuildLicenses(const std::string& dir) {
  const CommandResult r = Index("build --index " + Quote(dir) + " " + kLicenses);
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
}

// The unsigned number after "key": in a JSON text, or -1.
long long JsonNumber(const std::string& json, const std::string& key) {
  const std::string needle = "\"" + key + "\":";
  const size_t at = json.find(needle);
  if (at == std::string::npos) return -1;
  size_t i = at + needle.size();
  if (i >= json.size() || !std::isdigit(static_cast<unsigned char>(json[i]))) return -1;
  long long v = 0;
  for (; i < json.size() && std::isdigit(static_cast<unsigned char>(json[i])); ++i) {
    v = v * 10 + (json[i] - '0');
  }
  return v;
}

// Every string value that follows `prefix` (which ends just before the opening quote) in a JSON
// text; the values tested here hold no escaped quotes.
std::vector<std::string> StringsAfter(const std::string& json, const std::string& prefix) {
  std::vector<std::string> out;
  size_t at = 0;
  while ((at = json.find(prefix + "\"", at)) != std::string::npos) {
    const size_t b = at + prefix.size() + 1;
    const size_t e = json.find('"', b);
    if (e == std::string::npos) break;
    out.push_back(json.substr(b, e - b));
    at = e;
  }
  return out;
}

// The "name" of every span source in a verdict line.
std::vector<std::string> SourceNames(const std::string& json) {
  return StringsAfter(json, "\"source\":{\"name\":");
}

bool AnyNameContains(const std::vector<std::string>& names, const std::string& part) {
  for (const auto& n : names) {
    if (Contains(n, part)) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("cli: doppel-index build indexes the license directory", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  const CommandResult r = Index("build --index " + Quote(dir) + " " + kLicenses);
  INFO(Describe(r));
  CHECK(r.exit_code == 0);
  CHECK(Contains(r.err, "added"));
  const CommandResult stats = Index("stats --index " + Quote(dir));
  INFO(Describe(stats));
  REQUIRE(stats.exit_code == 0);
  const long long n = JsonNumber(stats.out, "documents");
  CHECK(n > 0);
  // The three symbolic links (GPL, LGPL, GFDL) are not indexed a second time.
  size_t regular = 0;
  for (const auto& e : std::filesystem::directory_iterator(kLicenses)) {
    regular += e.is_regular_file() && !e.is_symlink();
  }
  CHECK(n == static_cast<long long>(regular));
  CHECK(Contains(r.err, std::to_string(n) + " added"));
  CHECK(JsonNumber(stats.out, "deleted") == 0);
  CHECK(JsonNumber(stats.out, "shingle_size") == doppel::SketchParams{}.shingle_size);
}

TEST_CASE("cli: a file size limit (ulimit -f) is an error naming the file, and loses nothing stored", "[cli]") {
  // SIGXFSZ ended the process with no word (exit 153); the write now fails with EFBIG.
  TempDir tmp;
  const std::string dir = tmp / "idx";
  auto limited = [](const std::string& cmd) { return Run("bash -c " + Quote("ulimit -f 20; exec " + cmd)); };
  const CommandResult fresh = limited(Quote(kIndexBin) + " build --index " + Quote(dir) + " " + kLicenses);
  INFO(Describe(fresh));
  CHECK(fresh.exit_code == 2);
  CHECK(Contains(fresh.err, "File too large"));
  CHECK(Contains(fresh.err, dir + "/"));
  CHECK_FALSE(std::filesystem::exists(dir));  // a build that was creating its index removes it
  REQUIRE(Index("build --quiet --index " + Quote(dir) + " " + kLicenses + "/Apache-2.0").exit_code == 0);
  const CommandResult add = limited(Quote(kIndexBin) + " add --index " + Quote(dir) + " " + kLicenses);
  INFO(Describe(add));
  CHECK(add.exit_code == 2);
  CHECK(Contains(add.err, "File too large"));
  const CommandResult verify = Index("verify --index " + Quote(dir));
  INFO(Describe(verify));
  CHECK(verify.exit_code == 0);
  CHECK(JsonNumber(Index("stats --index " + Quote(dir)).out, "documents") == 1);
}

TEST_CASE("cli: another index inside a tree indexed is passed over, not read as documents", "[cli]") {
  TempDir tmp;
  const std::string tree = tmp / "tree";
  std::filesystem::create_directories(tree + "/docs");
  WriteFile(tree + "/docs/notes.txt", "Our own notes on the lighthouse keeper's log, written this spring.\n");
  BuildLicenses(tree + "/old-index");  // an older build left in the tree: LOG, OPTIONS, ...
  const std::string dir = tmp / "idx";
  const CommandResult r = Index("build --index " + Quote(dir) + " " + Quote(tree));
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  CHECK(Contains(r.err, "1 added"));
  CHECK(Contains(r.err, "1 index folders passed over"));
  CHECK(JsonNumber(Index("stats --index " + Quote(dir)).out, "documents") == 1);
}

TEST_CASE("cli: building again reports every document unchanged", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildLicenses(dir);
  const long long n = JsonNumber(Index("stats --index " + Quote(dir)).out, "documents");
  REQUIRE(n > 0);
  const CommandResult again = Index("build --index " + Quote(dir) + " " + kLicenses);
  INFO(Describe(again));
  CHECK(again.exit_code == 0);
  CHECK(Contains(again.err, " 0 added"));
  CHECK(Contains(again.err, std::to_string(n) + " unchanged"));
  CHECK(JsonNumber(Index("stats --index " + Quote(dir)).out, "documents") == n);
}

TEST_CASE("cli: check flags the verbatim GPL-3 answer", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildLicenses(dir);
  const CommandResult r =
      Filter("check --index " + Quote(dir) + " " + Quote(kAnswers + "/01-verbatim-gpl3.txt"));
  INFO(Describe(r));
  CHECK(r.exit_code == 1);
  CHECK((Contains(r.out, "\"action\":\"block\"") || Contains(r.out, "\"action\":\"redact\"")));
  CHECK(AnyNameContains(SourceNames(r.out), "GPL"));
  CHECK(Lines(r.out).size() == 1);
  CHECK(Contains(r.out, "\"id\":\"" + kAnswers + "/01-verbatim-gpl3.txt\""));
}

TEST_CASE("cli: --action takes one value, so the answer may follow it", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildLicenses(dir);
  const std::string answer = Quote(kAnswers + "/01-verbatim-gpl3.txt");
  for (const std::string flags : {"--action block=redact", "--action=block=redact",
                                  "--action block=redact --action redact=redact"}) {
    const CommandResult r = Filter("check --index " + Quote(dir) + " " + flags + " " + answer);
    INFO(flags << "\n" << Describe(r));
    CHECK(r.exit_code == 1);
    CHECK(Contains(r.out, "\"action\":\"redact\",\"severity\":\"block\""));
  }
}

TEST_CASE("cli: check allows an original answer", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildLicenses(dir);
  const CommandResult r = Filter("check --index " + Quote(dir) + " --id mine " +
                                 Quote(kAnswers + "/04-original.txt"));
  INFO(Describe(r));
  CHECK(r.exit_code == 0);
  CHECK(Contains(r.out, "\"action\":\"allow\""));
  CHECK(Contains(r.out, "\"spans\":[]"));
  CHECK(Contains(r.out, "\"id\":\"mine\""));
}

TEST_CASE("cli: check reads an answer from standard input", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildLicenses(dir);
  const CommandResult r = Filter("check --index " + Quote(dir) + " - < " +
                                 Quote(kAnswers + "/03-embedded-mpl.txt") + " --output");
  INFO(Describe(r));
  CHECK(r.exit_code == 1);
  CHECK(Contains(r.out, "\"id\":\"<stdin>\""));
  CHECK(AnyNameContains(SourceNames(r.out), "MPL-2.0"));
  CHECK(Contains(r.out, "\"output\":"));
  CHECK(Contains(r.out, "[redacted: similar to"));
}

TEST_CASE("cli: --format text prints a verdict for people", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildLicenses(dir);
  const CommandResult r = Filter("check --index " + Quote(dir) + " --format text " +
                                 Quote(kAnswers + "/03-embedded-mpl.txt"));
  INFO(Describe(r));
  CHECK(r.exit_code == 1);
  CHECK(Contains(r.out, "redact"));
  CHECK(Contains(r.out, "answer bytes"));
  CHECK(Contains(r.out, "MPL-2.0"));
  CHECK_FALSE(Contains(r.out, "--- output ---"));
  // With --output, the answer as the user should see it follows.
  const CommandResult o = Filter("check --index " + Quote(dir) + " --format text --output " +
                                 Quote(kAnswers + "/03-embedded-mpl.txt"));
  INFO(Describe(o));
  CHECK(o.exit_code == 1);
  CHECK(Contains(o.out, "--- output ---\n"));
  CHECK(Contains(o.out, "[redacted: similar to /usr/share/common-licenses/MPL-2.0]"));
  CHECK(Contains(o.out, "--- end of output ---\n"));
}

TEST_CASE("cli: --format text shows a span's first words on one line, whole characters only", "[cli]") {
  // Two-byte letters after a one-byte word: an excerpt cut at a fixed byte count would end in
  // the middle of a letter. Indented lines: their blanks are one space each.
  std::string doc;
  for (int i = 0; i < 40; ++i) {
    doc += "a \u0441\u043b\u043e\u0432\u043e" + std::to_string(i) + " \u0438\u0441\u0442\u043e\u0440\u0438\u044f" +
           (i % 4 == 3 ? "\n\t    " : " ");
  }
  TempDir tmp;
  WriteFile(tmp / "story.txt", doc);
  const CommandResult b = Index("build --index " + Quote(tmp / "idx") + " " + Quote(tmp / "story.txt"));
  INFO(Describe(b));
  REQUIRE(b.exit_code == 0);
  const CommandResult r = Filter("check --index " + Quote(tmp / "idx") + " --format text " + Quote(tmp / "story.txt"));
  INFO(Describe(r));
  CHECK(r.exit_code == 1);
  const std::vector<std::string> lines = doppel_test::Lines(r.out);
  REQUIRE(lines.size() >= 3);
  const std::string& excerpt = lines[2];
  CHECK(excerpt.rfind("      \"a \u0441\u043b\u043e\u0432\u043e0 ", 0) == 0);
  CHECK(doppel_test::EndsWith(excerpt, "...\""));
  CHECK(doppel::ValidateUtf8(excerpt).ok());
  CHECK_FALSE(Contains(excerpt.substr(6), "  "));
  CHECK_FALSE(Contains(excerpt, "\t"));
  CHECK(excerpt.size() <= 6 + 2 + 70 + 3);
  CHECK(excerpt.size() >= 6 + 2 + 68 + 3);
}

TEST_CASE("cli: --jsonl prints one verdict line per answer in input order", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildLicenses(dir);
  const CommandResult r = Filter("check --index " + Quote(dir) + " --jsonl " + Quote(kAnswersJsonl));
  INFO(Describe(r));
  CHECK(r.exit_code == 1);
  const auto out_lines = Lines(r.out);
  REQUIRE(out_lines.size() == 8);
  // The ids of the input, in order.
  const std::string input = doppel_test::ReadFile(kAnswersJsonl);
  std::vector<std::string> ids;
  for (const auto& line : Lines(input)) {
    const auto found = StringsAfter(line, "{\"id\": ");
    REQUIRE(found.size() == 1);
    ids.push_back(found[0]);
  }
  REQUIRE(ids.size() == 8);
  for (size_t i = 0; i < ids.size(); ++i) {
    INFO("line " << i + 1);
    CHECK(out_lines[i].rfind("{\"line\":" + std::to_string(i + 1) + ",\"id\":\"" + ids[i] + "\"", 0) == 0);
  }
  // A blank line gets no verdict; each verdict names its line, so they still line up.
  WriteFile(tmp / "gaps.jsonl", Lines(input)[0] + "\n\n  \n" + Lines(input)[3] + "\n");
  const CommandResult gaps = Filter("check --index " + Quote(dir) + " --jsonl " + Quote(tmp / "gaps.jsonl"));
  const auto gap_lines = Lines(gaps.out);
  REQUIRE(gap_lines.size() == 2);
  CHECK(gap_lines[0].rfind("{\"line\":1,\"id\":\"" + ids[0] + "\"", 0) == 0);
  CHECK(gap_lines[1].rfind("{\"line\":4,\"id\":\"" + ids[3] + "\"", 0) == 0);
  // The originals are allowed, the copies flagged.
  CHECK(Contains(out_lines[0], "\"action\":\"block\""));
  CHECK(Contains(out_lines[3], "\"action\":\"allow\""));
  CHECK(Contains(out_lines[4], "\"action\":\"allow\""));
  CHECK(Contains(out_lines[6], "\"action\":\"allow\""));
  // The program that prints a license passage: redacted, the passage its printing lines (9-13)
  // read as prose.
  CHECK(Contains(out_lines[7], "\"action\":\"redact\""));
  CHECK(Contains(out_lines[7], "\"lines\":[9,13]},\"source\":{\"name\":\"/usr/share/common-licenses/GPL-3\""));
  CHECK(Contains(out_lines[7], "\"kind\":\"text\""));
  // With --output: the printing lines give way to one marker (`pass`, so the function keeps a
  // body), and the rest of the program stays.
  const CommandResult program = Filter("check --index " + Quote(dir) + " --output " +
                                       Quote(kAnswers + "/08-code-prints-gpl3.txt"));
  INFO(Describe(program));
  CHECK(program.exit_code == 1);
  CHECK(Contains(program.out, "def print_notice():\\n    pass  # [redacted: similar to /usr/share/common-licenses/GPL-3]"));
  CHECK(Contains(program.out, "total += os.path.getsize(path)"));
  CHECK_FALSE(Contains(program.out, "freedom to share and change the works"));
}

TEST_CASE("cli: --jsonl lines are read as build and scan read them (lang and kind and the field flags)", "[cli]") {
  TempDir tmp;
  const std::string scanner = std::string(DOPPEL_GRAMMARS_SRC) + "/tree-sitter-python/src/scanner.c";
  const CommandResult b = Index("build --quiet --index " + Quote(tmp / "idx") + " " + Quote(scanner));
  INFO(Describe(b));
  REQUIRE(b.exit_code == 0);
  // The scanner with its names changed, as prose would never match it.
  std::string copy = doppel_test::ReadFile(scanner);
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"lexer", "lx"}, {"scanner", "state"}, {"valid_symbols", "ok"}}) {
    for (size_t at = 0; (at = copy.find(from, at)) != std::string::npos; at += to.size()) copy.replace(at, from.size(), to);
  }
  auto line = [&](const std::string& fields, const std::string& field = "text") {
    std::string l = "{" + fields + "\"" + field + "\":";
    doppel::AppendJsonString(&l, copy);
    return l + "}\n";
  };
  WriteFile(tmp / "a.jsonl", line("\"id\":\"with-lang\",\"lang\":\"c\",") + line("\"id\":\"plain\",") +
                                 line("\"id\":\"kind\",\"kind\":\"code\",\"lang\":\"h\",") +
                                 line("\"id\":\"prose\",\"lang\":\"en\","));
  CommandResult r = Filter("check --index " + Quote(tmp / "idx") + " --jsonl " + Quote(tmp / "a.jsonl"));
  INFO(Describe(r));
  auto out = Lines(r.out);
  REQUIRE(out.size() == 4);
  // A span from the answer's first byte: the whole file found, not only its indented blocks.
  const std::string from_start = "\"query\":{\"start\":0,";
  CHECK(Contains(out[0], "\"id\":\"with-lang\",\"action\":\"block\""));
  CHECK(Contains(out[0], from_start));
  // Markdown: its lines read as code (bare code), so the whole file is found; without that
  // reading, only its indented code blocks (the function bodies after a blank line) are code,
  // most of the file but not its first lines.
  CHECK(Contains(out[1], "\"id\":\"plain\",\"action\":\"block\""));
  CHECK(Contains(out[1], from_start));
  CHECK(Contains(out[2], "\"id\":\"kind\",\"action\":\"block\""));
  r = Filter("check --index " + Quote(tmp / "idx") + " --bare-code false --jsonl " + Quote(tmp / "a.jsonl"));
  out = Lines(r.out);
  REQUIRE(out.size() == 4);
  CHECK(Contains(out[1], "\"id\":\"plain\",\"action\":\"block\""));
  CHECK_FALSE(Contains(out[1], from_start));
  // --lang: the language of lines that name none ("lang": "en" is prose; read here without bare
  // code, so that only its indented blocks are code).
  r = Filter("check --index " + Quote(tmp / "idx") + " --bare-code false --jsonl --lang c " + Quote(tmp / "a.jsonl"));
  out = Lines(r.out);
  REQUIRE(out.size() == 4);
  CHECK(Contains(out[1], "\"id\":\"plain\",\"action\":\"block\""));
  CHECK(Contains(out[1], from_start));
  CHECK(Contains(out[3], "\"id\":\"prose\",\"action\":\"block\""));
  CHECK_FALSE(Contains(out[3], from_start));
  // Other fields for the text and the id.
  WriteFile(tmp / "b.jsonl", line("\"key\":\"k1\",\"lang\":\"c\",", "body"));
  r = Filter("check --index " + Quote(tmp / "idx") + " --jsonl --text-field body --id-field key " + Quote(tmp / "b.jsonl"));
  INFO(Describe(r));
  CHECK(Contains(r.out, "\"id\":\"k1\",\"action\":\"block\""));
  CHECK(Filter("check --index " + Quote(tmp / "idx") + " --jsonl --id x " + Quote(tmp / "b.jsonl")).exit_code == 2);
}

TEST_CASE("cli: check and scan apply a policy file as serve does", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildLicenses(dir);
  const std::string answer = kAnswers + "/01-verbatim-gpl3.txt";
  REQUIRE(Filter("check --index " + Quote(dir) + " " + Quote(answer)).exit_code == 1);
  WriteFile(tmp / "policy.json", R"({"actions": {"redact": "annotate", "block": "annotate"}})");
  const CommandResult r = Filter("check --index " + Quote(dir) + " --policy " + Quote(tmp / "policy.json") + " " + Quote(answer));
  INFO(Describe(r));
  CHECK(r.exit_code == 0);
  CHECK(Contains(r.out, "\"action\":\"annotate\",\"severity\":\"block\""));
  const CommandResult scan = Filter("scan --quiet --index " + Quote(dir) + " --report " + Quote(tmp / "rep") +
                                    " --policy " + Quote(tmp / "policy.json") + " --fail-on 0 " + Quote(kAnswers));
  INFO(Describe(scan));
  CHECK(scan.exit_code == 0);
  CHECK(Contains(doppel_test::ReadFile(tmp / "rep/summary.json"), "\"flagged\":0"));
  WriteFile(tmp / "bad.json", R"({"actions": {"block": "explode"}})");
  const CommandResult bad = Filter("check --index " + Quote(dir) + " --policy " + Quote(tmp / "bad.json") + " " + Quote(answer));
  CHECK(bad.exit_code == 2);
  CHECK(Contains(bad.err, "explode"));
  const CommandResult folder = Filter("check --index " + Quote(dir) + " --policy " + Quote(tmp.path().string()) + " " + Quote(answer));
  CHECK(folder.exit_code == 2);
  CHECK(Contains(folder.err, "a policy file is a JSON file, not a directory"));
}

TEST_CASE("cli: a malformed JSONL line gets an error line and exit code 2", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildLicenses(dir);
  const std::string input = tmp / "answers.jsonl";
  WriteFile(input,
            "{\"id\":\"first\",\"text\":\"An original sentence about the weather today.\"}\n"
            "{\"id\":\"second\",\"text\":\"unterminated\n"
            "{\"id\":7,\"text\":\"Another harmless sentence about gardening.\"}\n"
            "{\"id\":\"fourth\",\"lang\":7,\"text\":\"A line whose language is a number.\"}\n"
            "{\"text\":\"Invalid \xff UTF-8\",\"id\":8}\n"
            "{\"id\":\"sixth\",\"text\":\"Its answer holds a NUL: \\u0000.\"}\n"
            "{\"id\":\"sev\\u0000enth\",\"text\":\"Its id holds a NUL.\"}\n");
  const CommandResult r = Filter("check --index " + Quote(dir) + " --jsonl " + Quote(input));
  INFO(Describe(r));
  CHECK(r.exit_code == 2);
  const auto lines = Lines(r.out);
  REQUIRE(lines.size() == 7);
  CHECK(Contains(lines[6], "{\"line\":7,"));
  CHECK(Contains(lines[6], "field \\\"id\\\": NUL byte at offset 3"));
  CHECK_FALSE(Contains(lines[1], "\"id\""));  // not JSON: no id to name
  // An error line names the id the line gave, as a verdict line would.
  CHECK(Contains(lines[3], "{\"line\":4,\"id\":\"fourth\",\"error\""));
  CHECK(Contains(lines[4], "\"line\":5,"));  // invalid UTF-8: simdjson reads none of it
  CHECK(Contains(lines[5], "{\"line\":6,\"id\":\"sixth\",\"error\""));
  CHECK(Contains(lines[0], "\"id\":\"first\""));
  CHECK(Contains(lines[0], "\"action\":\"allow\""));
  CHECK(Contains(lines[1], "\"line\":2"));
  CHECK(Contains(lines[1], "\"error\""));
  CHECK(Contains(lines[2], "\"id\":\"7\""));
  CHECK(Contains(lines[2], "\"action\":\"allow\""));
  CHECK(Contains(r.err, "answers.jsonl:2"));
}

TEST_CASE("cli: an answer with invalid UTF-8 is exit code 2 naming the byte offset", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildLicenses(dir);
  const std::string answer = tmp / "bad.txt";
  WriteFile(answer, "Perfectly fine words, then \xff\xfe garbage.");
  const CommandResult r = Filter("check --index " + Quote(dir) + " " + Quote(answer));
  INFO(Describe(r));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "byte offset 27"));
  CHECK(Contains(r.err, "bad.txt"));
  CHECK(r.out.empty());
}

TEST_CASE("cli: a binary answer and one over --max-answer-bytes are exit code 2 naming the input", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildLicenses(dir);
  const std::string nul = tmp / "zeros.bin";
  WriteFile(nul, "Some words first." + std::string(4096, '\0'));
  CommandResult r = Filter("check --index " + Quote(dir) + " " + Quote(nul));
  INFO(Describe(r));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "zeros.bin"));
  CHECK(Contains(r.err, "NUL byte at offset 17"));
  CHECK(r.out.empty());
  const std::string big = tmp / "big.txt";
  WriteFile(big, doppel_test::ReadFile(kLicenses + "/GPL-3"));  // 35 KB
  r = Filter("check --index " + Quote(dir) + " --max-answer-bytes 10000 " + Quote(big));
  INFO(Describe(r));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "big.txt"));
  CHECK(Contains(r.err, "more than 10000 bytes"));
  // From standard input too, and within the limit it is checked.
  r = doppel_test::Run(Quote(kFilterBin) + " check --index " + Quote(dir) + " --max-answer-bytes 10000 - < " + Quote(big));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "<stdin>"));
  r = Filter("check --index " + Quote(dir) + " --max-answer-bytes 100000 " + Quote(big));
  CHECK(r.exit_code == 1);
  CHECK(Contains(r.out, "\"action\":\"block\""));
}

TEST_CASE("cli: --jsonl streams its input: an over-long line gets an error line and the next ones are checked",
          "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildLicenses(dir);
  std::string huge = "{\"id\":\"huge\",\"text\":\"";
  for (int i = 0; i < 50000; ++i) huge += "word ";
  huge += "\"}\n";
  const std::string input = tmp / "answers.jsonl";
  WriteFile(input, "{\"id\":\"a\",\"text\":\"An original sentence about the weather.\"}\n" + huge +
                       "{\"id\":\"b\",\"text\":\"Another harmless sentence about gardening.\"}\n");
  const CommandResult r = Filter("check --index " + Quote(dir) + " --jsonl --max-answer-bytes 100000 " + Quote(input));
  INFO(Describe(r));
  CHECK(r.exit_code == 2);
  const auto lines = Lines(r.out);
  REQUIRE(lines.size() == 3);
  CHECK(Contains(lines[0], "\"id\":\"a\""));
  CHECK(Contains(lines[1], "\"line\":2"));
  CHECK(Contains(lines[1], "resource_exhausted"));
  CHECK(Contains(lines[1], "limit of 100000 bytes (--max-answer-bytes)"));
  CHECK(Contains(lines[2], "\"id\":\"b\""));
  CHECK(Contains(r.err, "answers.jsonl:2"));
}

TEST_CASE("cli: deeply nested code is checked without exhausting the stack", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildLicenses(dir);
  const std::string py = tmp / "deep.py", c = tmp / "deep.c", md = tmp / "deep.md";
  WriteFile(py, "def f():\n    return " + std::string(50000, '(') + "1" + std::string(50000, ')') + "\n");
  WriteFile(c, "int main() { " + std::string(100000, '{') + std::string(100000, '}') + " }\n");
  WriteFile(md, std::string(20000, '>') + " quoted\n\n" + std::string(5000, '-') + "\n```js\n" +
                    std::string(30000, '[') + "\n```\n");
  for (const std::string& f : {py, c, md}) {
    const CommandResult r = Filter("check --index " + Quote(dir) + " " + Quote(f));
    INFO(f << ": " << Describe(r));
    CHECK(r.exit_code == 0);
    CHECK(Contains(r.out, "\"action\":\"allow\""));
  }
}

TEST_CASE("cli: unclosed blocks past tree-sitter's parse stack limit are checked, not crashed on", "[cli]") {
  // 25,000 unclosed Ruby blocks took tree-sitter 0.20.7's error recovery past 65,536 stack
  // entries, where it frees memory it does not own: the check died (exit 139).
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildLicenses(dir);
  const std::string rb = tmp / "deep.rb";
  std::string text = "def f\n";
  for (int i = 0; i < 25000; ++i) text += "  x.y do\n";
  WriteFile(rb, text);
  const CommandResult r = Filter("check --index " + Quote(dir) + " " + Quote(rb));
  INFO(Describe(r));
  CHECK(r.exit_code == 0);
  CHECK(Contains(r.out, "\"action\":\"allow\""));
}

TEST_CASE("cli: a missing index is exit code 2 naming the directory", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "no-index-here";
  const CommandResult check =
      Filter("check --index " + Quote(dir) + " " + Quote(kAnswers + "/04-original.txt"));
  INFO(Describe(check));
  CHECK(check.exit_code == 2);
  CHECK(Contains(check.err, dir));
  const CommandResult stats = Index("stats --index " + Quote(dir));
  CHECK(stats.exit_code == 2);
  CHECK(Contains(stats.err, dir));
  CHECK(Index("verify --index " + Quote(dir)).exit_code == 2);
  CHECK(Index("remove --index " + Quote(dir) + " x").exit_code == 2);
  CHECK_FALSE(std::filesystem::exists(dir));
  // An empty --index is said to be empty (it aborted the program where a path was made of it).
  for (const std::string cmd :
       {"build --index '' x", "build --shards 2 --index '' x", "add --index '' x", "remove --index '' x", "compact --index ''"}) {
    const CommandResult r = Index(cmd);
    INFO(cmd << ": " << Describe(r));
    CHECK(r.exit_code == 2);
    CHECK(Contains(r.err, "--index is empty"));
  }
  CHECK(Contains(Filter("check --index '' x").err, "--index is empty"));
}

TEST_CASE("cli: an index the user may not reach is said so, not called missing", "[cli]") {
  TempDir tmp;
  const std::string locked = tmp / "locked", idx = locked + "/idx";
  std::filesystem::create_directories(locked);
  REQUIRE(Index("build --quiet --index " + Quote(idx) + " " + kLicenses + "/GPL-3").exit_code == 0);
  // A directory without permissions (root reaches every directory: as root, the tools run
  // without capabilities, so its permissions hold for them too).
  std::filesystem::permissions(locked, std::filesystem::perms::none);
  const std::string as_other = ::geteuid() == 0 ? "setpriv --bounding-set=-all -- " : "";
  const CommandResult check = doppel_test::Run(as_other + Quote(kFilterBin) + " check --index " + Quote(idx) + " " +
                                               kLicenses + "/GPL-3");
  const CommandResult build = doppel_test::Run(as_other + Quote(kIndexBin) + " build --index " + Quote(locked + "/new") +
                                               " " + kLicenses + "/GPL-3");
  std::filesystem::permissions(locked, std::filesystem::perms::owner_all);
  INFO(Describe(check));
  CHECK(check.exit_code == 2);
  CHECK(Contains(check.err, idx + ": cannot look for an index there: Permission denied"));
  CHECK_FALSE(Contains(check.err, "no doppel index"));
  INFO(Describe(build));
  CHECK(build.exit_code == 2);
  CHECK(Contains(build.err, "Permission denied"));
  CHECK_FALSE(std::filesystem::exists(locked + "/new"));
}

TEST_CASE("cli: doppel-index add on a missing index is exit code 2", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "missing";
  const CommandResult r = Index("add --index " + Quote(dir) + " " + kLicenses + "/GPL-3");
  INFO(Describe(r));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, dir));
  CHECK_FALSE(std::filesystem::exists(dir));  // add never creates an index
}

TEST_CASE("cli: build into a directory of other files is refused and leaves them alone", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "notes";
  std::filesystem::create_directories(dir);
  doppel_test::WriteFile(dir + "/todo.txt", "keep me");
  const CommandResult r = Index("build --index " + Quote(dir) + " " + kLicenses + "/GPL-3");
  INFO(Describe(r));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, dir));
  CHECK(Contains(r.err, "not empty"));
  CHECK(doppel_test::ReadFile(dir + "/todo.txt") == "keep me");
  CHECK(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()) == 1);
  CHECK_FALSE(std::filesystem::exists(dir + ".creating"));
  // An empty directory is fine.
  std::filesystem::create_directories(tmp / "empty");
  const CommandResult ok = Index("build --quiet --index " + Quote(tmp / "empty") + " " + kLicenses + "/GPL-3");
  INFO(Describe(ok));
  CHECK(ok.exit_code == 0);
}

TEST_CASE("cli: an index inside a directory it is built from is not read into itself", "[cli]") {
  TempDir tmp;
  const std::string corpus = tmp / "corpus";
  std::filesystem::create_directories(corpus);
  doppel_test::WriteFile(corpus + "/gpl.txt", doppel_test::ReadFile(kLicenses + "/GPL-3"));
  const CommandResult built = Index("build --index " + Quote(corpus + "/idx") + " " + Quote(corpus));
  INFO(Describe(built));
  REQUIRE(built.exit_code == 0);
  CHECK(Contains(built.err, "1 documents"));
  // Added again (the index's files exist now): still only the license.
  const CommandResult added = Index("add --index " + Quote(corpus + "/idx") + " " + Quote(corpus));
  INFO(Describe(added));
  REQUIRE(added.exit_code == 0);
  CHECK(Contains(added.err, "1 documents"));
  CHECK(Contains(added.err, "0 added, 0 replaced, 1 unchanged"));
  const CommandResult stats = Index("stats --index " + Quote(corpus + "/idx"));
  CHECK(Contains(stats.out, "\"documents\":1,"));
}

TEST_CASE("cli: build reads JSON Lines from a named pipe and refuses another pipe by name", "[cli]") {
  TempDir tmp;
  const std::string fifo = tmp / "stream.jsonl";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const std::string lines = tmp / "lines.jsonl";
  WriteFile(lines, "{\"id\":\"a\",\"text\":\"first streamed document\"}\n{\"id\":\"b\",\"text\":\"second one\"}\n");
  CommandResult r = doppel_test::Run("{ timeout 30 cat " + Quote(lines) + " > " + Quote(fifo) + " & " + Quote(kIndexBin) +
                                     " build --index " + Quote(tmp / "idx") + " " + Quote(fifo) + "; }");
  INFO(Describe(r));
  CHECK(r.exit_code == 0);
  CHECK(Contains(r.err, "2 added"));
  // Process substitution names /dev/fd/N: not a JSON Lines name, so an error rather than nothing.
  r = doppel_test::Run("bash -c " + Quote(Quote(kIndexBin) + " build --index " + Quote(tmp / "idx2") + " <(cat " +
                                          Quote(lines) + ")"));
  INFO(Describe(r));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "/dev/fd/"));
  CHECK(Contains(r.err, "not a regular file"));
}

TEST_CASE("cli: only the same build completes an index whose build was killed", "[cli]") {
  TempDir tmp;
  const std::string fifo = tmp / "stream.jsonl", idx = tmp / "idx";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const std::string lines = tmp / "lines.jsonl";
  WriteFile(lines, "{\"id\":\"a\",\"text\":\"first streamed document\"}\n");
  // A build that reads a pipe whose writer has not closed it waits there: killed then, its
  // index is marked unfinished. (Bounded: the writer stops after 20 s, the wait for the mark
  // after 10 s.)
  CommandResult r = doppel_test::Run(
      "{ (cat " + Quote(lines) + "; exec sleep 20) > " + Quote(fifo) + " & w=$!; " + Quote(kIndexBin) + " build --quiet --index " +
      Quote(idx) + " " + Quote(fifo) + " & b=$!; for i in $(seq 1 200); do [ -e " + Quote(idx + "/BUILD-UNFINISHED") +
      " ] && break; sleep 0.05; done; kill -9 $b; kill $w; wait; }");
  INFO(Describe(r));
  REQUIRE(std::filesystem::exists(idx + "/BUILD-UNFINISHED"));
  // Another build there is refused, and the mark stays: checks still refuse the index.
  r = Index("build --index " + Quote(idx) + " " + kLicenses + "/GPL-3");
  INFO(Describe(r));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "unfinished build of other inputs"));
  CHECK(Contains(r.err, fifo));
  CHECK(std::filesystem::exists(idx + "/BUILD-UNFINISHED"));
  CHECK(Filter("check --index " + Quote(idx) + " " + kLicenses + "/GPL-3").exit_code == 2);
  // The same build (its input named from another directory) completes it.
  r = doppel_test::Run("{ cd " + Quote(tmp.path().string()) + " && timeout 30 cat " + Quote(lines) +
                       " > stream.jsonl & cd " + Quote(tmp.path().string()) + " && " + Quote(kIndexBin) +
                       " build --quiet --index idx ./stream.jsonl; }");
  INFO(Describe(r));
  CHECK(r.exit_code == 0);
  CHECK_FALSE(std::filesystem::exists(idx + "/BUILD-UNFINISHED"));
}

TEST_CASE("cli: build --shards builds a sharded index task by task that answers as one index", "[cli]") {
  TempDir tmp;
  const std::string one = tmp / "one", sharded = tmp / "sharded";
  REQUIRE(Index("build --quiet --index " + Quote(one) + " " + kLicenses).exit_code == 0);
  CommandResult r = Index("build --shards 3 --index " + Quote(sharded) + " " + kLicenses);
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  for (int s = 0; s < 3; ++s) CHECK(Contains(r.err, "shard " + std::to_string(s) + ": "));
  auto digest = [](const std::string& dir) {
    const CommandResult v = Index("verify --digest --index " + Quote(dir));
    INFO(Describe(v));
    REQUIRE(v.exit_code == 0);
    return v.out.substr(v.out.find("digest="));
  };
  CHECK(digest(sharded) == digest(one));
  const std::string answer = kAnswers + "/01-verbatim-gpl3.txt";
  auto verdict = [&](const std::string& dir) {
    const CommandResult c = Filter("check --index " + Quote(dir) + " " + Quote(answer));
    return c.out.substr(0, c.out.find("\"elapsed_us\""));
  };
  CHECK(verdict(sharded) == verdict(one));
  CHECK(Contains(verdict(sharded), "\"action\":\"block\""));
  // Each task left a marker: a rerun with the same inputs skips them all.
  r = Index("build --shards 3 --index " + Quote(sharded) + " " + kLicenses);
  CHECK(r.exit_code == 0);
  CHECK(Contains(r.err, "shard 2: done before with these inputs"));
  // One task alone (what an executor runs), and a shard count that does not match.
  r = Index("build --shards 3 --rank 1 --index " + Quote(tmp / "partial") + " " + kLicenses);
  CHECK(r.exit_code == 0);
  r = Index("verify --index " + Quote(tmp / "partial"));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "shard 0 of 3 is missing"));
  r = Index("build --shards 4 --index " + Quote(sharded) + " " + kLicenses);
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "3 shards"));
  // Merged into one index by ingesting sorted table files.
  r = Index("merge --index " + Quote(sharded) + " --output " + Quote(tmp / "merged"));
  INFO(Describe(r));
  CHECK(r.exit_code == 0);
  CHECK(digest(tmp / "merged") == digest(one));
  CHECK(verdict(tmp / "merged") == verdict(one));
  r = Index("merge --index " + Quote(one) + " --output " + Quote(tmp / "m2"));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "not a sharded index"));
  // A sharded build that fails before any shard is done leaves no SHARDS file to shape the
  // next build into that directory.
  doppel_test::WriteFile(tmp / "bad.jsonl", "{\"id\":\"a\",\"text\":\"one two three four\"}\n{\"id\":\n");
  r = Index("build --shards 2 --index " + Quote(tmp / "failed") + " " + Quote(tmp / "bad.jsonl"));
  INFO(Describe(r));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "bad.jsonl:2"));
  CHECK_FALSE(std::filesystem::exists(tmp / "failed"));
  r = Index("build --quiet --shards 3 --index " + Quote(tmp / "failed") + " " + kLicenses);
  CHECK(r.exit_code == 0);
  // A shard is written through its sharded index, never named itself (a document added there
  // was in no shard its name leads to, so no removal through the index found it).
  for (const std::string cmd : {"add", "remove", "compact"}) {
    r = Index(cmd + " --index " + Quote(sharded + "/shard-0") + (cmd == "compact" ? "" : " " + kLicenses + "/MIT"));
    INFO(Describe(r));
    CHECK(r.exit_code == 2);
    CHECK(Contains(r.err, "is shard 0 of the sharded index"));
  }
  CHECK(digest(sharded) == digest(one));
}

TEST_CASE("cli: add into an index whose build did not finish stores and says the index is still refused", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildLicenses(dir);
  WriteFile(dir + "/" + doppel::kUnfinishedBuildFile, "");  // as a killed build leaves it
  WriteFile(tmp / "note.txt", "A note about the harbour's tides and the ferries that leave at dawn each day.\n");
  const CommandResult add = Index("add --index " + Quote(dir) + " " + Quote(tmp / "note.txt"));
  INFO(Describe(add));
  CHECK(add.exit_code == 1);
  CHECK(Contains(add.err, "1 added"));
  CHECK(Contains(add.err, "the build that created this index did not finish"));
  CHECK(Filter("check --index " + Quote(dir) + " " + Quote(tmp / "note.txt")).exit_code == 2);
  // Every document rejected into a new index: said, as an empty input is.
  WriteFile(tmp / "bad.jsonl", "{\"id\":\"a\"}\n");
  const CommandResult none = Index("build --on-error skip --index " + Quote(tmp / "empty") + " " + Quote(tmp / "bad.jsonl"));
  INFO(Describe(none));
  CHECK(none.exit_code == 1);
  CHECK(Contains(none.err, "every document was rejected; the new index is empty"));
}

TEST_CASE("cli: add and remove change what check reports", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildLicenses(dir);
  const std::string gpl_answer = Quote(kAnswers + "/01-verbatim-gpl3.txt");
  const CommandResult before = Filter("check --index " + Quote(dir) + " " + gpl_answer);
  REQUIRE(AnyNameContains(SourceNames(before.out), "GPL-3"));
  const long long n = JsonNumber(Index("stats --index " + Quote(dir)).out, "documents");

  // (Named twice: one document, removed once.)
  const CommandResult rm = Index("remove --index " + Quote(dir) + " " + kLicenses + "/GPL-3 " + kLicenses + "/GPL-3");
  INFO(Describe(rm));
  CHECK(rm.exit_code == 0);
  CHECK(Contains(rm.err, "removed 1 documents; 0 names not in the index"));
  // A name the index does not hold (a typo) is not a silent success.
  const CommandResult typo = Index("remove --index " + Quote(dir) + " " + kLicenses + "/GPL-33");
  CHECK(typo.exit_code == 1);
  CHECK(Contains(typo.err, "1 names not in the index"));
  const CommandResult stats = Index("stats --index " + Quote(dir));
  CHECK(JsonNumber(stats.out, "documents") == n - 1);
  CHECK(JsonNumber(stats.out, "deleted") == 1);
  const CommandResult after = Filter("check --index " + Quote(dir) + " " + gpl_answer);
  INFO(Describe(after));
  CHECK(after.exit_code != 2);
  CHECK_FALSE(AnyNameContains(SourceNames(after.out), "GPL-3"));

  // Adding it back makes it findable again, under the same name.
  const CommandResult add = Index("add --index " + Quote(dir) + " " + kLicenses + "/GPL-3");
  INFO(Describe(add));
  CHECK(add.exit_code == 0);
  CHECK(Contains(add.err, "1 added"));
  const CommandResult again = Filter("check --index " + Quote(dir) + " " + gpl_answer);
  CHECK(again.exit_code == 1);
  CHECK(AnyNameContains(SourceNames(again.out), "GPL-3"));
}

TEST_CASE("cli: --common-index makes a shape that common code shares boilerplate in check and scan", "[cli]") {
  TempDir tmp;
  // One protected Go file, and sixty files of common code that hold its helper's shape.
  auto helper = [](const std::string& n) { return "package p\n\n" + doppel_test::GoLoadHelper(n); };
  for (const char* d : {"protected", "common", "answer"}) std::filesystem::create_directories(tmp / d);
  WriteFile(tmp / "protected/load.go", helper("0"));
  for (int i = 1; i <= 60; ++i) WriteFile(tmp / ("common/c" + std::to_string(i) + ".go"), helper(std::to_string(i)));
  WriteFile(tmp / "answer/answer.go", helper("99"));
  for (const char* which : {"protected", "common"}) {
    const CommandResult b = Index(std::string("build --index ") + Quote(tmp / (std::string(which) + "-idx")) + " " +
                                  Quote(tmp / which));
    INFO(Describe(b));
    REQUIRE(b.exit_code == 0);
  }
  const std::string index = " --index " + Quote(tmp / "protected-idx") + " ";
  const std::string common = " --common-index " + Quote(tmp / "common-idx") + " ";
  const std::string answer = Quote(tmp / "answer/answer.go");

  const CommandResult alone = Filter("check" + index + answer);
  INFO(Describe(alone));
  CHECK(alone.exit_code == 1);  // redacted or blocked: a copy of the one protected file
  const CommandResult beside = Filter("check" + index + common + answer);
  INFO(Describe(beside));
  CHECK(beside.exit_code == 0);
  CHECK(Contains(beside.out, "\"action\":\"annotate\""));
  for (const std::string& name : SourceNames(beside.out)) CHECK(Contains(name, "protected/load.go"));

  const CommandResult scan_alone = Filter("scan --quiet" + index + "--report " + Quote(tmp / "r1") + " " + Quote(tmp / "answer"));
  const CommandResult scan_beside =
      Filter("scan --quiet" + index + common + "--report " + Quote(tmp / "r2") + " " + Quote(tmp / "answer"));
  INFO(Describe(scan_alone) << Describe(scan_beside));
  REQUIRE(scan_alone.exit_code == 0);
  REQUIRE(scan_beside.exit_code == 0);
  CHECK(JsonNumber(doppel_test::ReadFile(tmp / "r1/summary.json"), "flagged") == 1);
  CHECK(JsonNumber(doppel_test::ReadFile(tmp / "r2/summary.json"), "flagged") == 0);
  CHECK(Contains(doppel_test::ReadFile(tmp / "r2/summary.json"), "\"common_index\":"));  // the report says so
  CHECK(!Contains(doppel_test::ReadFile(tmp / "r1/summary.json"), "\"common_index\":"));

  // A missing common index is exit code 2 naming it.
  const CommandResult missing = Filter("check" + index + " --common-index " + Quote(tmp / "nowhere") + " " + answer);
  CHECK(missing.exit_code == 2);
  CHECK(Contains(missing.err, "common-code index"));
  CHECK(Contains(missing.err, "nowhere"));
}

TEST_CASE("cli: --help of each tool exits 0 and explains the exit codes", "[cli]") {
  for (const std::string& bin : {kIndexBin, kFilterBin}) {
    INFO(bin);
    const CommandResult r = Run(Quote(bin) + " --help");
    CHECK(r.exit_code == 0);
    CHECK(Contains(r.out + r.err, "Exit codes"));
  }
}

TEST_CASE("cli: bad arguments are exit code 2", "[cli]") {
  CHECK(Index("").exit_code == 2);  // a subcommand is required
  CHECK(Index("build --no-such-flag x").exit_code == 2);
  CHECK(Filter("check").exit_code == 2);  // --index is required
  CHECK(Filter("check --index x --format yaml -").exit_code == 2);
}

TEST_CASE("cli: filter flags are held to the policy file's ranges, naming the flag", "[cli]") {
  // A flag out of range would switch detection off (no candidate aligned) or make a verdict
  // undefined (a NaN share): refused before the index is opened, as the same policy key is.
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildLicenses(dir);
  const std::string answer = Quote(kLicenses + "/GPL-3");
  for (const auto& [flag, value, range] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"--max-candidates", "0", "between 1 and 256"},       {"--max-candidates", "257", "between 1 and 256"},
           {"--max-df", "0", "between 1 and 1073741824"},        {"--block-containment", "nan", "between 0 and 1"},
           {"--redact-containment", "2", "between 0 and 1"},     {"--min-renaming", "1.5", "between 0 and 1"},
           {"--min-span-tokens", "0", "between 1 and 1048576"},  {"--code-whole-share", "-0.5", "between 0 and 1"}}) {
    for (const std::string& command : {std::string("check"), "scan --report " + Quote(tmp / "report")}) {
      const CommandResult r = Filter(command + " --index " + Quote(dir) + " " + flag + " " + value + " " + answer);
      INFO(command << " " << flag << " " << value << "\n" << Describe(r));
      CHECK(r.exit_code == 2);
      CHECK(Contains(r.err, flag + " must be " + range));
      CHECK(r.out.empty());
    }
  }
  // In range they work, and a policy file says the same of its key.
  CHECK(Filter("check --index " + Quote(dir) + " --max-candidates 256 --block-containment 1 " + answer).exit_code == 1);
  WriteFile(tmp / "policy.json", R"({"max_candidates": 0})");
  const CommandResult p = Filter("check --index " + Quote(dir) + " --policy " + Quote(tmp / "policy.json") + " " + answer);
  CHECK(p.exit_code == 2);
  CHECK(Contains(p.err, "policy key \"max_candidates\": must be between 1 and 256"));
}

TEST_CASE("cli: verify prints ok and compact keeps the index valid", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildLicenses(dir);
  const CommandResult v = Index("verify --index " + Quote(dir));
  INFO(Describe(v));
  CHECK(v.exit_code == 0);
  CHECK(v.out.rfind("ok", 0) == 0);
  CHECK(Contains(v.out, "deleted_refs_pending_compaction=0"));
  REQUIRE(Index("remove --index " + Quote(dir) + " " + kLicenses + "/BSD").exit_code == 0);
  // The removed document's ids stay in the stored lists until compaction, and verify counts them.
  const CommandResult removed = Index("verify --index " + Quote(dir));
  INFO(Describe(removed));
  CHECK(removed.exit_code == 0);
  CHECK_FALSE(Contains(removed.out, "deleted_refs_pending_compaction=0"));
  const CommandResult c = Index("compact --index " + Quote(dir));
  INFO(Describe(c));
  CHECK(c.exit_code == 0);
  const CommandResult v2 = Index("verify --index " + Quote(dir));
  CHECK(v2.exit_code == 0);
  CHECK(v2.out.rfind("ok", 0) == 0);
  CHECK(Contains(v2.out, "deleted_refs_pending_compaction=0"));
}

TEST_CASE("cli: a build refused for its parameters leaves nothing that later commands call corrupt", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  for (const std::string& flags : {std::string("--posting-cap 0"), std::string("--posting-cap 5000000"),
                                   std::string("--window 2000000"), std::string("--gram-size 0"),
                                   std::string("--shards 2 --rank 5"), std::string("--shards 2 --posting-cap 0"),
                                   std::string("--rank 1"), std::string("--shards 0")}) {
    const CommandResult r = Index("build --index " + Quote(dir) + " " + flags + " " + kLicenses + "/BSD");
    INFO(flags << "\n" << Describe(r));
    CHECK(r.exit_code == 2);
    CHECK_FALSE(r.err.empty());
    CHECK_FALSE(std::filesystem::exists(std::filesystem::path(dir) / "CURRENT"));
    CHECK_FALSE(std::filesystem::exists(std::filesystem::path(dir) / "SHARDS"));
    if (flags == "--posting-cap 0") CHECK(Contains(r.err, "posting_cap 0 is not between 1 and 1000000"));
    if (flags == "--rank 1") CHECK(Contains(r.err, "--rank needs --shards"));
  }
  // The same directory then takes a good build.
  const CommandResult good = Index("build --index " + Quote(dir) + " " + kLicenses + "/BSD");
  INFO(Describe(good));
  CHECK(good.exit_code == 0);
  CHECK(Index("stats --index " + Quote(dir)).exit_code == 0);
}

TEST_CASE("cli: building with another shingle size on an existing index names both values",
          "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildLicenses(dir);
  const uint32_t built = doppel::SketchParams{}.shingle_size;  // the index has the defaults
  const uint32_t other = built == 4 ? 6 : 4;
  const CommandResult r = Index("build --index " + Quote(dir) + " --shingle-size " +
                                std::to_string(other) + " " + kLicenses + "/GPL-3");
  INFO(Describe(r));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "shingle_size"));
  CHECK(Contains(r.err, "index " + std::to_string(built)));
  CHECK(Contains(r.err, "requested " + std::to_string(other)));
  // The index is untouched.
  CHECK(Index("verify --index " + Quote(dir)).exit_code == 0);
}

TEST_CASE("cli: into an existing index only the sketch flags given are compared with its own", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  const CommandResult made = Index("build --quiet --index " + Quote(dir) +
                                   " --shingle-size 7 --bands 32 --rows 4 --gram-size 5 --window 10 " + kLicenses +
                                   "/GPL-3");
  INFO(Describe(made));
  REQUIRE(made.exit_code == 0);
  // Flags that agree with the index, given alone, are fine: the others are the index's values.
  for (const std::string flags : {"--shingle-size 7", "--gram-size 5 --window 10", "--bands 32 --rows 4"}) {
    const CommandResult r = Index("build --quiet --index " + Quote(dir) + " " + flags + " " + kLicenses + "/MPL-2.0");
    INFO(flags << "\n" << Describe(r));
    CHECK(r.exit_code == 0);
  }
  // One that differs is refused, naming only itself.
  const CommandResult r = Index("build --quiet --index " + Quote(dir) + " --window 12 " + kLicenses + "/GPL-2");
  INFO(Describe(r));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "window: index 10, requested 12"));
  CHECK_FALSE(Contains(r.err, "bands"));
  CHECK_FALSE(Contains(r.err, "shingle_size"));
  const CommandResult v = Index("verify --index " + Quote(dir));
  CHECK(Contains(v.out, "ok documents=2 "));
}

TEST_CASE("cli: a file keeps its name however its path is spelled, and remove names what it did not find", "[cli]") {
  TempDir tmp;
  std::filesystem::create_directories(tmp / "corpus/sub");
  WriteFile(tmp / "corpus/a.txt", "The lighthouse keeper counted the ships that passed the rocks at night.\n");
  WriteFile(tmp / "corpus/sub/b.txt", "A second document about owls that hunt over the fields at dusk.\n");
  const std::string in = "cd " + Quote(tmp.path().string()) + " && " + Quote(kIndexBin) + " ";
  const CommandResult build = Run(in + "build --index idx corpus");
  INFO(Describe(build));
  REQUIRE(build.exit_code == 0);
  for (const std::string spelling : {"./corpus", "corpus/", "corpus//", "corpus/sub/../"}) {
    const CommandResult again = Run(in + "add --index idx " + Quote(spelling));
    INFO(spelling << "\n" << Describe(again));
    CHECK(again.exit_code == 0);
    CHECK(Contains(again.err, "2 unchanged"));
  }
  CHECK(JsonNumber(Run(in + "stats --index idx").out, "documents") == 2);
  const CommandResult rm = Run(in + "remove --index idx ./corpus/sub/b.txt corpus/nope.txt");
  INFO(Describe(rm));
  CHECK(rm.exit_code == 1);
  CHECK(Contains(rm.err, "not in the index: corpus/nope.txt"));
  CHECK(Contains(rm.err, "removed 1 documents; 1 names not in the index"));
  CHECK(JsonNumber(Run(in + "stats --index idx").out, "documents") == 1);
  // A file deleted since it was added is removed by a path spelled otherwise too.
  REQUIRE(Run(in + "add --index idx corpus").exit_code == 0);
  std::filesystem::remove(tmp / "corpus/sub/b.txt");
  const CommandResult gone = Run(in + "remove --index idx ./corpus//sub/b.txt");
  INFO(Describe(gone));
  CHECK(gone.exit_code == 0);
  CHECK(Contains(gone.err, "./corpus//sub/b.txt is the document corpus/sub/b.txt"));
  CHECK(JsonNumber(Run(in + "stats --index idx").out, "documents") == 1);
  // An id is not a path: "docs/" does not remove the document "docs".
  WriteFile(tmp / "ids.jsonl", "{\"id\":\"docs\",\"text\":\"Notes on the harbour's tides and the times the ferries leave.\"}\n");
  REQUIRE(Run(in + "add --index idx ids.jsonl").exit_code == 0);
  const CommandResult id = Run(in + "remove --index idx docs/");
  INFO(Describe(id));
  CHECK(id.exit_code == 1);
  CHECK(Contains(id.err, "not in the index: docs/"));
  CHECK(JsonNumber(Run(in + "stats --index idx").out, "documents") == 2);
}

TEST_CASE("cli: compressed JSON Lines not named .gz or .zst are one clear error, not one per line", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildLicenses(dir);
  WriteFile(tmp / "a.jsonl", "{\"id\":\"a\",\"text\":\"first answer\"}\n{\"id\":\"b\",\"text\":\"second answer\"}\n");
  REQUIRE(Run("gzip -c " + Quote(tmp / "a.jsonl") + " > " + Quote(tmp / "packed.jsonl")).exit_code == 0);
  const CommandResult check = Run("gzip -c " + Quote(tmp / "a.jsonl") + " | " + Quote(kFilterBin) + " check --index " +
                                  Quote(dir) + " --jsonl -");
  INFO(Describe(check));
  CHECK(check.exit_code == 2);
  CHECK(Contains(check.err, "the input is gzip-compressed"));
  CHECK(!Contains(check.err, "UTF-8"));
  const CommandResult build = Index("build --index " + Quote(tmp / "idx2") + " " + Quote(tmp / "packed.jsonl"));
  INFO(Describe(build));
  CHECK(build.exit_code == 2);
  CHECK(Contains(build.err, "packed.jsonl: the input is gzip-compressed: name the file .gz"));
}

TEST_CASE("cli: a sharded index changed by add or remove is built again as a plain one is", "[cli]") {
  // The same commands on a plain and a sharded index give the same documents: a build after
  // add and remove puts back what they changed in both.
  TempDir tmp;
  std::filesystem::create_directories(tmp / "prot");
  std::filesystem::create_directories(tmp / "new");
  for (const char* name : {"GPL-3", "Apache-2.0", "MPL-2.0"}) {
    WriteFile(tmp / ("prot/" + std::string(name)), doppel_test::ReadFile(kLicenses + "/" + name));
  }
  WriteFile(tmp / "new/BSD", doppel_test::ReadFile(kLicenses + "/BSD"));
  std::vector<std::string> digests;
  for (const std::string& shards : {std::string(""), std::string("--shards 3 ")}) {
    const std::string idx = Quote(tmp / (shards.empty() ? "plain" : "sharded"));
    REQUIRE(Index("build " + shards + "--index " + idx + " " + Quote(tmp / "prot")).exit_code == 0);
    REQUIRE(Index("add --index " + idx + " " + Quote(tmp / "new")).exit_code == 0);
    REQUIRE(Index("remove --index " + idx + " " + Quote(tmp / "prot/GPL-3")).exit_code == 0);
    const CommandResult again = Index("build " + shards + "--index " + idx + " " + Quote(tmp / "prot"));
    INFO(Describe(again));
    REQUIRE(again.exit_code == 0);
    CHECK(JsonNumber(Index("stats --index " + idx).out, "documents") == 4);
    const std::string verify = Index("verify --digest --index " + idx).out;
    const size_t at = verify.find("digest=");
    REQUIRE(at != std::string::npos);
    digests.push_back(verify.substr(at, verify.find_first_of(" \n", at) - at));
  }
  CHECK(digests[0] == digests[1]);  // (posting list counts differ: a sharded key is one list a shard)
}

TEST_CASE("cli: a sharded build reports each malformed line once, not once a shard", "[cli]") {
  TempDir tmp;
  WriteFile(tmp / "b.jsonl", "{\"id\":\"a\",\"text\":\"alpha beta gamma delta epsilon\"}\n{bad\n"
                             "{\"id\":\"b\",\"text\":\"second document words\"}\nnot json\n"
                             "{\"id\":\"c\",\"text\":\"the third one with words\"}\n");
  const CommandResult r = Index("build --shards 3 --on-error skip --index " + Quote(tmp / "idx") + " " + Quote(tmp / "b.jsonl"));
  INFO(Describe(r));
  CHECK(r.exit_code == 1);
  size_t reports = 0;
  for (size_t at = r.err.find("skipped: "); at != std::string::npos; at = r.err.find("skipped: ", at + 1)) ++reports;
  CHECK(reports == 2);
  CHECK(Contains(r.err, "b.jsonl:2"));
  CHECK(Contains(r.err, "b.jsonl:4"));
  CHECK(JsonNumber(Index("stats --index " + Quote(tmp / "idx")).out, "documents") == 3);
  // Without skipping, the build fails at the first one.
  const CommandResult stop = Index("build --shards 3 --index " + Quote(tmp / "idx2") + " " + Quote(tmp / "b.jsonl"));
  CHECK(stop.exit_code == 2);
  CHECK(Contains(stop.err, "b.jsonl:2"));
}

TEST_CASE("cli: a file of only blanks is skipped in a directory as an empty file, and refused when named", "[cli]") {
  TempDir tmp;
  std::filesystem::create_directories(tmp / "repo/pkg");
  WriteFile(tmp / "repo/pkg/__init__.py", "\n");
  WriteFile(tmp / "repo/pkg/blank.txt", " \t\r\n\f\n");
  WriteFile(tmp / "repo/pkg/main.py", "def main(argv):\n    return sum(len(a) for a in argv if not a.startswith('-'))\n");
  const CommandResult build = Index("build --index " + Quote(tmp / "idx") + " " + Quote(tmp / "repo"));
  INFO(Describe(build));
  CHECK(build.exit_code == 0);
  CHECK(Contains(build.err, "1 added"));
  CHECK(Contains(build.err, "skipped 0 binary and 2 empty files"));
  const CommandResult named = Index("add --index " + Quote(tmp / "idx") + " " + Quote(tmp / "repo/pkg/__init__.py"));
  INFO(Describe(named));
  CHECK(named.exit_code == 2);
  CHECK(Contains(named.err, "__init__.py: empty file (only blanks)"));
}

TEST_CASE("cli: a JSON line with empty text is refused and does not replace the document of its name", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  WriteFile(tmp / "a.jsonl", "{\"id\":\"a\",\"text\":\"The lighthouse keeper counted the ships that passed the rocks at night.\"}\n");
  REQUIRE(Index("build --index " + Quote(dir) + " " + Quote(tmp / "a.jsonl")).exit_code == 0);
  WriteFile(tmp / "answer.txt", "The lighthouse keeper counted the ships that passed the rocks at night.\n");
  const CommandResult before = Filter("check --index " + Quote(dir) + " " + Quote(tmp / "answer.txt"));
  REQUIRE(before.exit_code == 1);  // flagged
  for (const std::string& text : {std::string(""), std::string(" \\n\\t ")}) {
    WriteFile(tmp / "empty.jsonl", "{\"id\":\"a\",\"text\":\"" + text + "\"}\n");
    const CommandResult add = Index("add --index " + Quote(dir) + " " + Quote(tmp / "empty.jsonl"));
    INFO(Describe(add));
    CHECK(add.exit_code == 2);
    CHECK(Contains(add.err, "empty.jsonl:1"));
    CHECK(Contains(add.err, "has no text"));
    const CommandResult after = Filter("check --index " + Quote(dir) + " " + Quote(tmp / "answer.txt"));
    CHECK(after.exit_code == 1);  // the document is still there
    CHECK(after.out == before.out);
  }
}

TEST_CASE("cli: a bad JSONL document is skipped with --on-error skip and the rest indexed",
          "[cli]") {
  TempDir tmp;
  const std::string corpus = tmp / "corpus.jsonl";
  WriteFile(corpus,
            "{\"id\":\"one\",\"text\":\"The first document talks about rivers and bridges.\"}\n"
            "{\"id\":\"two\",\"text\":\"Invalid bytes \xff\xfe in the middle.\"}\n"
            "{\"id\":\"three\",\"text\":\"The third document talks about owls at night.\"}\n");
  const std::string dir = tmp / "idx";
  const CommandResult r =
      Index("build --index " + Quote(dir) + " --on-error skip " + Quote(corpus));
  INFO(Describe(r));
  CHECK(r.exit_code == 1);
  CHECK(Contains(r.err, "corpus.jsonl:2"));
  CHECK(Contains(r.err, "invalid UTF-8 at byte offset 34"));  // of the line
  CHECK(Contains(r.err, "1 rejected"));
  const CommandResult stats = Index("stats --index " + Quote(dir));
  CHECK(JsonNumber(stats.out, "documents") == 2);
  // Without --on-error skip the build stops, and says what reads such a file.
  const CommandResult stopped = Index("build --index " + Quote(tmp / "idx-stopped") + " " + Quote(corpus));
  INFO(Describe(stopped));
  CHECK(stopped.exit_code == 2);
  CHECK(Contains(stopped.err, "--lossy-utf8 reads each stray byte as '?'"));
  // With --lossy-utf8 its bad bytes are read as '?' and it is indexed with the others.
  const CommandResult lossy = Index("build --quiet --lossy-utf8 --index " + Quote(tmp / "idx-lossy") + " " + Quote(corpus));
  INFO(Describe(lossy));
  CHECK(lossy.exit_code == 0);
  CHECK(JsonNumber(Index("stats --index " + Quote(tmp / "idx-lossy")).out, "documents") == 3);
  // In a JSON line such a byte is read as the Latin-1 character it would be: two ids that
  // differ by one stay two documents.
  WriteFile(tmp / "latin1.jsonl", "{\"id\": \"caf\xe9\", \"text\": \"the first of two notes on coffee\"}\n"
                                  "{\"id\": \"caf\xe8\", \"text\": \"the second of two notes on coffee\"}\n");
  const CommandResult ids = Index("build --quiet --lossy-utf8 --index " + Quote(tmp / "idx-ids") + " " + Quote(tmp / "latin1.jsonl"));
  CHECK(ids.exit_code == 0);
  CHECK(JsonNumber(Index("stats --index " + Quote(tmp / "idx-ids")).out, "documents") == 2);

  // Without skipping, the build stops at the bad document with exit code 2 and removes the
  // index it was creating: no partial index is left for checks to take as the protected set.
  const std::string dir2 = tmp / "idx2";
  const CommandResult stop = Index("build --index " + Quote(dir2) + " " + Quote(corpus));
  INFO(Describe(stop));
  CHECK(stop.exit_code == 2);
  CHECK(Contains(stop.err, "corpus.jsonl:2"));
  CHECK(Contains(stop.err, "removed the index"));
  CHECK(!std::filesystem::exists(dir2));
  const CommandResult gone = Filter("check --index " + Quote(dir2) + " " + Quote(corpus));
  CHECK(gone.exit_code == 2);

  // Into an existing index, what came before the bad document stays, and so does the index.
  const std::string good = tmp / "good.jsonl";
  WriteFile(good, "{\"id\":\"zero\",\"text\":\"A document about lighthouses and their keepers at sea.\"}\n");
  const std::string dir3 = tmp / "idx3";
  REQUIRE(Index("build --index " + Quote(dir3) + " " + Quote(good)).exit_code == 0);
  const CommandResult add = Index("add --index " + Quote(dir3) + " " + Quote(corpus));
  CHECK(add.exit_code == 2);
  CHECK(JsonNumber(Index("stats --index " + Quote(dir3)).out, "documents") == 2);

  // A missing input or bad --metadata stops a build before it creates anything.
  const std::string dir4 = tmp / "idx4";
  for (const std::string& inputs : {Quote(tmp / "no-such-dir"), "--metadata notjson " + Quote(good)}) {
    CHECK(Index("build --index " + Quote(dir4) + " " + inputs).exit_code == 2);
    CHECK(!std::filesystem::exists(dir4));
  }

  // An empty index (every document rejected) is kept, and checks warn that it allows everything.
  const std::string bad = tmp / "bad.jsonl";
  WriteFile(bad, "{\"id\":\"two\",\"text\":\"Invalid bytes \xff\xfe in the middle.\"}\n");
  const std::string dir5 = tmp / "idx5";
  CHECK(Index("build --index " + Quote(dir5) + " --on-error skip " + Quote(bad)).exit_code == 1);
  const CommandResult warned = Filter("check --index " + Quote(dir5) + " " + Quote(good));
  CHECK(warned.exit_code == 0);
  CHECK(Contains(warned.err, "holds no documents"));

  // Inputs that hold no document at all (an empty JSONL, a directory of only empty or binary
  // files) are said and exit 1, for a new index and an existing one alike.
  const std::string none = tmp / "none";
  std::filesystem::create_directories(none);
  WriteFile(none + "/empty.jsonl", "");
  WriteFile(none + "/blob.bin", std::string("\x7f" "ELF\0\0\x01\x02", 8));
  const CommandResult nothing = Index("build --index " + Quote(tmp / "idx6") + " " + Quote(none));
  INFO(Describe(nothing));
  CHECK(nothing.exit_code == 1);
  CHECK(Contains(nothing.err, "the inputs held no documents"));
  CHECK(Contains(nothing.err, "checks against it allow everything"));
  const CommandResult nothing_sharded = Index("build --shards 2 --index " + Quote(tmp / "idx7") + " " + Quote(none));
  INFO(Describe(nothing_sharded));
  CHECK(nothing_sharded.exit_code == 1);
  CHECK(Contains(nothing_sharded.err, "the inputs held no documents; the 2 shards are empty"));
  const CommandResult nothing_added = Index("add --index " + Quote(dir3) + " " + Quote(none));
  INFO(Describe(nothing_added));
  CHECK(nothing_added.exit_code == 1);
  CHECK(Contains(nothing_added.err, "the index is unchanged"));
  CHECK(JsonNumber(Index("stats --index " + Quote(dir3)).out, "documents") == 2);
}

TEST_CASE("cli: a name given to two documents in one build is an error but one input read twice is not", "[cli]") {
  TempDir tmp;
  // Shards that number their ids each from 1: the second "1" would replace the first silently.
  WriteFile(tmp / "s1.jsonl",
            "{\"id\":\"1\",\"text\":\"The first shard's first document talks about rivers and bridges.\"}\n"
            "{\"id\":\"2\",\"text\":\"The first shard's second document talks about owls at night.\"}\n");
  WriteFile(tmp / "s2.jsonl",
            "{\"id\":\"1\",\"text\":\"The second shard's first document talks about lighthouses.\"}\n");
  const CommandResult stop = Index("build --index " + Quote(tmp / "idx") + " " + Quote(tmp / "s1.jsonl") + " " +
                                   Quote(tmp / "s2.jsonl"));
  INFO(Describe(stop));
  CHECK(stop.exit_code == 2);
  CHECK(Contains(stop.err, "s2.jsonl:1"));
  CHECK(Contains(stop.err, "given to another document earlier in this run"));
  const CommandResult skip = Index("build --index " + Quote(tmp / "idx2") + " --on-error skip " +
                                   Quote(tmp / "s1.jsonl") + " " + Quote(tmp / "s2.jsonl"));
  INFO(Describe(skip));
  CHECK(skip.exit_code == 1);
  CHECK(JsonNumber(Index("stats --index " + Quote(tmp / "idx2")).out, "documents") == 2);

  // The same file twice, or a directory and a file in it: the same documents, read twice.
  std::filesystem::create_directories(tmp / "dir");
  WriteFile(tmp / "dir/a.txt", "A plain text document about the migration of cranes over the marshes.\n");
  // Files named again are read once; the same documents in another file are read and skipped.
  std::filesystem::copy_file(tmp / "s1.jsonl", tmp / "s1-copy.jsonl");
  const CommandResult twice = Index("build --index " + Quote(tmp / "idx3") + " " + Quote(tmp / "dir") + " " +
                                    Quote(tmp / "dir/a.txt") + " " + Quote(tmp / "s1.jsonl") + " " +
                                    Quote(tmp / "s1.jsonl") + " " + Quote(tmp / "s1-copy.jsonl"));
  INFO(Describe(twice));
  CHECK(twice.exit_code == 0);
  CHECK(Contains(twice.err, "2 files named again"));
  CHECK(Contains(twice.err, "2 documents read twice"));
  CHECK(JsonNumber(Index("stats --index " + Quote(tmp / "idx3")).out, "documents") == 3);
}

TEST_CASE("cli: build of JSONL keeps ids and metadata for the verdicts", "[cli]") {
  TempDir tmp;
  const std::string gpl = doppel_test::ReadFile(kLicenses + "/GPL-3");
  const size_t at = gpl.find("Some devices are designed");
  REQUIRE(at != std::string::npos);
  std::string para = gpl.substr(at, gpl.find("\n\n", at) - at);
  for (char& c : para) {
    if (c == '\n') c = ' ';
  }
  const std::string corpus = tmp / "corpus.jsonl";
  WriteFile(corpus, "{\"id\":\"gpl3-devices\",\"text\":\"" + para +
                        "\",\"license\":\"GPL-3.0-or-later\",\"url\":\"https://gnu.org\"}\n");
  const std::string dir = tmp / "idx";
  const CommandResult b = Index("build --index " + Quote(dir) + " " + Quote(corpus));
  INFO(Describe(b));
  REQUIRE(b.exit_code == 0);
  const CommandResult r =
      Filter("check --index " + Quote(dir) + " " + Quote(kAnswers + "/01-verbatim-gpl3.txt"));
  INFO(Describe(r));
  CHECK(r.exit_code == 1);
  CHECK(AnyNameContains(SourceNames(r.out), "gpl3-devices"));
  CHECK(Contains(r.out, "\"metadata\":{\"license\":\"GPL-3.0-or-later\",\"url\":\"https://gnu.org\"}"));
}

TEST_CASE("cli: --metadata is stored with file documents and reported with their matches", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  CommandResult b = Index("build --index " + Quote(dir) + " --metadata " +
                          Quote(R"({ "repository": "https://example.org/licenses", "license": "various" })") +
                          " " + Quote(kLicenses + "/GPL-3"));
  INFO(Describe(b));
  REQUIRE(b.exit_code == 0);
  const CommandResult r =
      Filter("check --index " + Quote(dir) + " " + Quote(kAnswers + "/01-verbatim-gpl3.txt"));
  INFO(Describe(r));
  CHECK(r.exit_code == 1);
  CHECK(Contains(r.out, R"("metadata":{"repository":"https://example.org/licenses","license":"various"})"));
  // Not a JSON object: refused before anything is written.
  b = Index("add --index " + Quote(dir) + " --metadata '[1]' " + Quote(kLicenses + "/MPL-2.0"));
  CHECK(b.exit_code == 2);
  CHECK(Contains(b.err, "must be a JSON object"));
}

// doppel-filter reads the answer with std::ifstream, which opens a directory without error and
// then reads nothing, so `check DIR` judges an empty answer: "allow" with exit code 0, where the
// documented exit codes call for 2 (bad input).
TEST_CASE("cli: checking a directory instead of an answer file is an error", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildLicenses(dir);
  const CommandResult r = Filter("check --index " + Quote(dir) + " " + Quote(kAnswers));
  INFO(Describe(r));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, kAnswers));
}

// Documents added to a bulk-built index were taken for the remains of a killed bulk load by the
// next writable open (compact, add, remove) and removed.
TEST_CASE("cli: documents added after a build survive the next writable opens", "[cli]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  REQUIRE(Index("build --quiet --index " + Quote(dir) + " " + Quote(kLicenses + "/GPL-3")).exit_code == 0);
  REQUIRE(Index("add --quiet --index " + Quote(dir) + " " + Quote(kLicenses + "/Apache-2.0")).exit_code == 0);
  REQUIRE(Index("add --quiet --index " + Quote(dir) + " " + Quote(kLicenses + "/MPL-2.0")).exit_code == 0);
  REQUIRE(Index("compact --index " + Quote(dir)).exit_code == 0);
  const CommandResult st = Index("stats --index " + Quote(dir));
  INFO(Describe(st));
  CHECK(JsonNumber(st.out, "documents") == 3);
  CHECK(JsonNumber(st.out, "deleted") == 0);
  const CommandResult r = Filter("check --index " + Quote(dir) + " " + Quote(kLicenses + "/Apache-2.0"));
  CHECK(r.exit_code == 1);
  CHECK(Contains(r.out, "Apache-2.0"));
  const CommandResult v = Index("verify --index " + Quote(dir));
  CHECK(v.exit_code == 0);
}

TEST_CASE("cli: --token-cache-tokens leaves the verdicts as they are and refuses bad values", "[cli]") {
  TempDir tmp;
  for (const char* d : {"protected", "answers"}) std::filesystem::create_directories(tmp / d);
  for (int i = 0; i < 3; ++i) {
    WriteFile(tmp / ("protected/load" + std::to_string(i) + ".go"),
              "package p\n\n" + doppel_test::GoLoadHelper(std::to_string(i)));
  }
  const CommandResult b = Index("build --index " + Quote(tmp / "idx") + " " + Quote(tmp / "protected"));
  INFO(Describe(b));
  REQUIRE(b.exit_code == 0);
  // Each protected file's copy, twice over: the second check of each finds its source cached
  // (or, with a cache of 0 tokens, reads it from the index again).
  std::string jsonl;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 3; ++i) {
      jsonl += "{\"id\": \"a" + std::to_string(round) + std::to_string(i) + "\", \"lang\": \"go\", \"text\": ";
      doppel::AppendJsonString(&jsonl, "package p\n\n" + doppel_test::GoLoadHelper(std::to_string(i)));
      jsonl += "}\n";
    }
  }
  WriteFile(tmp / "answers.jsonl", jsonl);
  const std::string check = "check --index " + Quote(tmp / "idx") + " --jsonl " + Quote(tmp / "answers.jsonl");
  const CommandResult by_default = Filter(check);
  INFO(Describe(by_default));
  REQUIRE(by_default.exit_code == 1);
  REQUIRE(Lines(by_default.out).size() == 6);
  for (const auto& line : Lines(by_default.out)) CHECK(!SourceNames(line).empty());
  for (const char* tokens : {"0", "4096", "100000000"}) {  // none, some of them, all
    const CommandResult sized = Filter(check + " --token-cache-tokens " + tokens);
    INFO(tokens << "\n" << Describe(sized));
    CHECK(sized.exit_code == 1);
    CHECK(sized.out == by_default.out);
  }
  const CommandResult scan =
      Filter("scan --quiet --index " + Quote(tmp / "idx") + " --token-cache-tokens 0 --report " + Quote(tmp / "r") +
             " " + Quote(tmp / "answers.jsonl"));
  INFO(Describe(scan));
  CHECK(scan.exit_code == 0);
  CHECK(JsonNumber(doppel_test::ReadFile(tmp / "r/summary.json"), "flagged") == 6);
  for (const char* bad : {"-1", "lots", ""}) {
    const CommandResult r = Filter(check + " --token-cache-tokens '" + bad + "'");
    INFO(Describe(r));
    CHECK(r.exit_code == 2);
    CHECK(Contains(r.err, "--token-cache-tokens"));
  }
}
