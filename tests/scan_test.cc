// `doppel-filter scan` end to end: a real index of real code and licenses on this machine, a
// small "repository" holding copies, and the HTML report opened in headless Chromium.
#include <catch2/catch.hpp>
#include <filesystem>
#include <random>
#include <regex>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doppel/format.h"
#include "test_util.h"

using doppel_test::CommandResult;
using doppel_test::Describe;
using doppel_test::Contains;
using doppel_test::Quote;
using doppel_test::ReadFile;
using doppel_test::TempDir;
using doppel_test::WriteFile;
namespace fs = std::filesystem;

namespace {

const std::string kIndexBin = DOPPEL_INDEX_BIN;
const std::string kFilterBin = DOPPEL_FILTER_BIN;
const std::string kScanner = std::string(DOPPEL_GRAMMARS_SRC) + "/tree-sitter-python/src/scanner.c";

// Renames identifiers of C code with whole-word replacements.
std::string Rename(std::string code) {
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"lexer", "lx"}, {"scanner", "state"}, {"valid_symbols", "ok_syms"}, {"indent_length", "width"}}) {
    code = std::regex_replace(code, std::regex("\\b" + from + "\\b"), to);
  }
  return code;
}

// An index of the licenses and the Python grammar's scanner; a repository with a verbatim
// license, part of another, a renamed copy of the scanner, new text and a binary file.
struct Fixture {
  TempDir tmp;
  std::string index = tmp / "idx", repo = tmp / "repo", report = tmp / "report";
  Fixture() {
    const CommandResult b = doppel_test::Run(Quote(kIndexBin) + " build --quiet --index " + Quote(index) + " " +
                                             Quote(kScanner) + " /usr/share/common-licenses");
    INFO(Describe(b));
    REQUIRE(b.exit_code == 0);
    fs::create_directories(repo + "/src");
    fs::create_directories(repo + "/docs");
    WriteFile(repo + "/LICENSE", ReadFile("/usr/share/common-licenses/Apache-2.0"));
    WriteFile(repo + "/docs/terms.md", "# Terms\n\nWe wrote these ourselves.\n\n" +
                                           ReadFile("/usr/share/common-licenses/MPL-2.0").substr(2000, 2500) + "\n");
    WriteFile(repo + "/src/indent.c", Rename(ReadFile(kScanner)));
    WriteFile(repo + "/docs/notes.txt",
              "Meeting notes: the new bench in the hallway needs a second coat of varnish before the "
              "opening, and the sign above the door is still crooked. Nobody has claimed the umbrella.\n");
    WriteFile(repo + "/logo.bin", std::string("\x89PNG\0\0\0", 7));
  }
  CommandResult Scan(const std::string& extra = "") const {
    return doppel_test::Run(Quote(kFilterBin) + " scan --index " + Quote(index) + " --report " + Quote(report) +
                            " " + extra + " " + Quote(repo));
  }
};

}  // namespace

TEST_CASE("scan: a repository's copies are reported with sources, lines and renamed names", "[scan]") {
  Fixture fx;
  const CommandResult r = fx.Scan();
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  const auto results = doppel_test::Lines(ReadFile(fx.report + "/results.jsonl"));
  REQUIRE(results.size() == 3);
  // In input order (sorted paths), each with its source.
  CHECK(Contains(results[0], "\"id\":\"" + fx.repo + "/LICENSE\""));
  CHECK(Contains(results[0], "common-licenses/Apache-2.0"));
  CHECK(Contains(results[1], "docs/terms.md"));
  CHECK(Contains(results[1], "common-licenses/MPL-2.0"));
  CHECK(Contains(results[2], "src/indent.c"));
  CHECK(Contains(results[2], "tree-sitter-python/src/scanner.c"));
  CHECK(Contains(results[2], "\"kind\":\"code\",\"language\":\"c\""));
  const std::string summary = ReadFile(fx.report + "/summary.json");
  CHECK(Contains(summary, "\"documents\":4,\"flagged\":3"));  // the binary file is skipped
  CHECK(Contains(summary, "\"c\":{\"documents\":1,\"flagged\":1"));
  CHECK(Contains(summary, "\"text\":{\"documents\":3,\"flagged\":2"));
  CHECK(Contains(summary, "\"top_sources\":[{\"name\":"));
  const std::string html = ReadFile(fx.report + "/report.html");
  CHECK(Contains(html, "<mark class=\"renamed\" title=\"source: lexer\">lx</mark>"));
  CHECK(Contains(html, "<mark class=\"renamed\" title=\"scanned: lx\">lexer</mark>"));
  // The excerpt of the 433-line copy stops at 160 lines: the count says how many names it marks.
  std::smatch counted;
  REQUIRE(std::regex_search(html, counted, std::regex("renamed-count\">([0-9]+)</span> renamed identifiers marked \\(of ([0-9]+)\\)")));
  CHECK(std::stoi(counted[1]) < std::stoi(counted[2]));
  // Code shown as text: `SingleQuote = 1 << 0,` of the scanner escaped, on its numbered line.
  CHECK(Contains(html, "SingleQuote = 1 &lt;&lt; 0,"));
  CHECK(!Contains(html, "1 << 0"));
  CHECK(std::regex_search(html, std::regex("<span class=\"ln\">25</span>(<mark>)?    SingleQuote = 1 &lt;&lt; 0,")));
  CHECK(!Contains(html, "<link"));  // self-contained: no external assets
  CHECK(!Contains(html, "src=\"http"));

  // CI gates.
  CHECK(fx.Scan("--fail-on 2 --quiet").exit_code == 1);
  CHECK(fx.Scan("--fail-on 3 --quiet").exit_code == 0);
  CHECK(fx.Scan("--fail-on -1 --quiet").exit_code == 2);

  // Inputs that overlap (a file, then its directory twice) are scanned once each.
  const CommandResult again = fx.Scan("--quiet " + Quote(fx.repo + "/LICENSE") + " " + Quote(fx.repo));
  INFO(Describe(again));
  REQUIRE(again.exit_code == 0);
  const std::string once = ReadFile(fx.report + "/summary.json");
  CHECK(Contains(once, "\"documents\":4,\"flagged\":3"));
  CHECK(Contains(once, "\"skipped\":{\"binary\":1,\"empty\":0,\"repeated\":6,\"special\":0,\"folders\":0}"));
  CHECK(Contains(ReadFile(fx.report + "/report.html"), "skipped 1 binary, 0 empty and 6 repeated files"));
}

TEST_CASE("scan: code read by the lexer first reports what --parse-all reports", "[scan]") {
  Fixture fx;
  // New code beside the copy: read by the lexer only, and not flagged either way.
  WriteFile(fx.repo + "/src/fresh.py",
            "def tally(votes):\n    counts = {}\n    for v in votes:\n        counts[v] = counts.get(v, 0) + 1\n"
            "    return sorted(counts.items(), key=lambda kv: -kv[1])\n");
  const CommandResult exact = fx.Scan("--quiet --parse-all");
  INFO(Describe(exact));
  REQUIRE(exact.exit_code == 0);
  const std::string exact_results = ReadFile(fx.report + "/results.jsonl");
  const CommandResult lexed = fx.Scan("--quiet");
  INFO(Describe(lexed));
  REQUIRE(lexed.exit_code == 0);
  const std::string lexed_results = ReadFile(fx.report + "/results.jsonl");
  CHECK(Contains(lexed_results, "src/indent.c"));
  CHECK(!Contains(lexed_results, "fresh.py"));
  CHECK(lexed_results == exact_results);  // the flagged file was parsed again: the same spans
  CHECK(Contains(ReadFile(fx.report + "/summary.json"), "\"documents\":5,\"flagged\":3"));

  // Under a policy that maps severities to other actions, a file the lexed pass stops early on
  // is still checked again in full: the same results as the default with that policy.
  for (const std::string redact_to : {"block", "annotate"}) {
    const std::string policy = fx.tmp / ("policy-" + redact_to + ".json");
    WriteFile(policy, "{\"actions\": {\"allow\": \"allow\", \"annotate\": \"annotate\", \"redact\": \"" + redact_to +
                          "\", \"block\": \"block\"}}\n");
    const CommandResult with_policy = fx.Scan("--quiet --parse-all --policy " + Quote(policy));
    INFO(Describe(with_policy));
    REQUIRE(with_policy.exit_code == 0);
    const std::string policy_results = ReadFile(fx.report + "/results.jsonl");
    const CommandResult lexed_policy = fx.Scan("--quiet --lexer-first --policy " + Quote(policy));  // the old name
    INFO(Describe(lexed_policy));
    REQUIRE(lexed_policy.exit_code == 0);
    CHECK(ReadFile(fx.report + "/results.jsonl") == policy_results);
    CHECK(Contains(policy_results, "src/indent.c"));
  }
}

TEST_CASE("scan: bytes covered count overlapping spans once", "[scan]") {
  TempDir tmp;
  REQUIRE(doppel_test::Run(Quote(kIndexBin) + " build --quiet --index " + Quote(tmp / "idx") +
                           " /usr/share/common-licenses/MPL-1.1").exit_code == 0);
  const std::string answer = std::string(DOPPEL_SOURCE_DIR) + "/data/demo/answers/03-embedded-mpl.txt";
  const CommandResult r = doppel_test::Run(Quote(kFilterBin) + " scan --quiet --index " + Quote(tmp / "idx") +
                                           " --report " + Quote(tmp / "r") + " " + Quote(answer));
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  // The spans' query ranges from results.jsonl, their total and their union.
  const std::string results = ReadFile(tmp / "r/results.jsonl");
  const std::regex span("\"query\":\\{\"start\":([0-9]+),\"end\":([0-9]+)");
  std::vector<std::pair<long, long>> ranges;
  for (auto it = std::sregex_iterator(results.begin(), results.end(), span); it != std::sregex_iterator(); ++it) {
    ranges.emplace_back(std::stol((*it)[1]), std::stol((*it)[2]));
  }
  std::sort(ranges.begin(), ranges.end());
  long total = 0, united = 0, reached = 0;
  for (const auto& [a, z] : ranges) {
    total += z - a;
    united += std::max(0L, z - std::max(a, reached));
    reached = std::max(reached, z);
  }
  REQUIRE(total > united);  // the answer's spans overlap (what this test is about)
  const std::string summary = ReadFile(tmp / "r/summary.json");
  CHECK(Contains(summary, "\"bytes_covered\":" + std::to_string(united) + ","));
  CHECK(Contains(summary, "\"documents\":1,\"bytes_covered\":" + std::to_string(united) + "}"));  // the source's
}

TEST_CASE("scan: bad inputs are reported, skipped or fatal, and a missing index is exit 2", "[scan]") {
  Fixture fx;
  WriteFile(fx.repo + "/docs/bad.txt", "fine until here \xff\xfe then not\n");
  CommandResult r = fx.Scan();
  INFO(Describe(r));
  CHECK(r.exit_code == 0);
  CHECK(Contains(r.err, "bad.txt"));
  CHECK(Contains(ReadFile(fx.report + "/summary.json"), "\"errors\":1"));
  // Listed with their error, counted on the page, and a gate does not pass them.
  const auto errors = doppel_test::Lines(ReadFile(fx.report + "/errors.jsonl"));
  REQUIRE(errors.size() == 1);
  CHECK(Contains(errors[0], "\"input\":\"" + fx.repo + "/docs/bad.txt\""));
  CHECK(Contains(errors[0], "invalid UTF-8"));
  CHECK(Contains(ReadFile(fx.report + "/report.html"), "1 could not be checked</b>"));
  r = fx.Scan("--fail-on 10");
  CHECK(r.exit_code == 1);
  CHECK(Contains(r.err, "1 documents could not be checked"));
  r = fx.Scan("--on-error fail");
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "bad.txt"));
  // Said once, and the earlier run's report is not left to be read as this one's.
  const size_t first = r.err.find("bad.txt");
  CHECK(r.err.find("bad.txt", first + 1) == std::string::npos);
  CHECK(!fs::exists(fx.report + "/summary.json"));
  CHECK(!fs::exists(fx.report + "/results.jsonl"));
  // Nor what a run killed while writing its report left (its temporary files); another file
  // of the user's in the report directory stays.
  WriteFile(fx.report + "/results.jsonl.tmp.4242.0", "cut short");
  WriteFile(fx.report + "/report.html.tmp.node07.4242.3", "<html>");
  WriteFile(fx.report + "/notes.txt", "mine");
  r = fx.Scan("--quiet");
  CHECK(r.exit_code == 0);
  CHECK(!fs::exists(fx.report + "/results.jsonl.tmp.4242.0"));
  CHECK(!fs::exists(fx.report + "/report.html.tmp.node07.4242.3"));
  CHECK(fs::exists(fx.report + "/results.jsonl"));
  CHECK(ReadFile(fx.report + "/notes.txt") == "mine");
  // An input that cannot be read as a whole is listed under its name (and line).
  WriteFile(fx.tmp / "notgz.jsonl.gz", "plain text, not gzip\n");
  r = doppel_test::Run(Quote(kFilterBin) + " scan --quiet --index " + Quote(fx.index) + " --report " +
                       Quote(fx.tmp / "r3") + " " + Quote(fx.tmp / "notgz.jsonl.gz"));
  CHECK(r.exit_code == 0);
  CHECK(Contains(ReadFile(fx.tmp / "r3/errors.jsonl"), "\"input\":\"" + fx.tmp / "notgz.jsonl.gz:1\""));
  // A loop of links is said as such, not as a missing file; listed, as an input it may not read.
  fs::create_symlink(fx.tmp / "loop-b", fx.tmp / "loop-a");
  fs::create_symlink(fx.tmp / "loop-a", fx.tmp / "loop-b");
  r = doppel_test::Run(Quote(kFilterBin) + " scan --quiet --index " + Quote(fx.index) + " --report " +
                       Quote(fx.tmp / "r4") + " " + Quote(fx.tmp / "loop-a"));
  CHECK(r.exit_code == 0);
  CHECK(Contains(ReadFile(fx.tmp / "r4/errors.jsonl"), "loop-a: Too many levels of symbolic links"));
  r = doppel_test::Run(Quote(kFilterBin) + " scan --index " + Quote(fx.tmp / "nope") + " --report " +
                       Quote(fx.tmp / "r2") + " " + Quote(fx.repo));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "nope"));
  // A file name holding a terminal's escape sequence is shown, not obeyed, on standard error.
  fs::create_directories(fx.tmp / "esc");
  WriteFile(fx.tmp / "esc/a\033]0;title\007\033[31mred.txt", "caf\xe9\n");
  r = doppel_test::Run(Quote(kFilterBin) + " scan --index " + Quote(fx.index) + " --report " + Quote(fx.tmp / "r5") +
                       " " + Quote(fx.tmp / "esc"));
  INFO(Describe(r));
  CHECK(r.exit_code == 0);
  CHECK(Contains(r.err, "a\\x1B]0;title\\x07\\x1B[31mred.txt"));
  CHECK(r.err.find('\033') == std::string::npos);
  // Refused before it starts (a missing index, a bad policy), a scan leaves no earlier report
  // behind either; a directory holding other files keeps them all.
  REQUIRE(fs::exists(fx.tmp / "r3/summary.json"));
  r = doppel_test::Run(Quote(kFilterBin) + " scan --index " + Quote(fx.tmp / "nope") + " --report " +
                       Quote(fx.tmp / "r3") + " " + Quote(fx.repo));
  CHECK(r.exit_code == 2);
  CHECK(!fs::exists(fx.tmp / "r3/summary.json"));
  CHECK(!fs::exists(fx.tmp / "r3/results.jsonl"));
  WriteFile(fx.tmp / "policy.json", R"({"actions": {"block": "explode"}})");
  REQUIRE(fs::exists(fx.report + "/summary.json"));
  r = fx.Scan("--quiet --policy " + Quote(fx.tmp / "policy.json"));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "explode"));
  CHECK(fs::exists(fx.report + "/summary.json"));  // (notes.txt is there: not only a report)
  fs::remove(fx.report + "/notes.txt");
  r = fx.Scan("--quiet --policy " + Quote(fx.tmp / "policy.json"));
  CHECK(r.exit_code == 2);
  CHECK(!fs::exists(fx.report + "/summary.json"));
}

TEST_CASE("scan: a report directory holding other files is refused, not passed over", "[scan]") {
  // Inside the scanned tree, the report directory is passed over: one holding other files would
  // hide them from the scan (a copy there would pass --fail-on unseen).
  Fixture fx;
  const std::string report = fx.repo + "/vendor";
  fs::create_directories(report);
  WriteFile(report + "/copied.txt", ReadFile("/usr/share/common-licenses/GPL-3").substr(0, 4000));
  const CommandResult r = doppel_test::Run(Quote(kFilterBin) + " scan --index " + Quote(fx.index) + " --report " +
                                           Quote(report) + " --fail-on 0 " + Quote(fx.repo));
  INFO(Describe(r));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "lies in a scanned directory and holds other files (copied.txt)"));
  CHECK(!fs::exists(report + "/results.jsonl"));
  // An earlier report there is taken: the scan writes over it.
  const CommandResult first = fx.Scan();
  REQUIRE(first.exit_code != 2);
  const CommandResult again = fx.Scan();
  INFO(Describe(again));
  CHECK(again.exit_code == first.exit_code);
}

TEST_CASE("scan: a file name that is not UTF-8 is written as valid UTF-8 JSON", "[scan]") {
  Fixture fx;
  WriteFile(fx.repo + "/docs/caf\xE9.txt", ReadFile("/usr/share/common-licenses/Apache-2.0"));  // Latin-1
  const CommandResult r = fx.Scan("--quiet");
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  const std::string results = fx.report + "/results.jsonl";
  CHECK(Contains(ReadFile(results), "/docs/caf\xEF\xBF\xBD.txt\""));  // the byte shown as U+FFFD
  // Python reads every line as strict UTF-8 JSON.
  const CommandResult py = doppel_test::Run(
      "/usr/bin/python3 -c 'import json, sys; [json.loads(l) for l in open(sys.argv[1], encoding=\"utf-8\")]' " +
      Quote(results));
  INFO(Describe(py));
  CHECK(py.exit_code == 0);
  // The page too is valid UTF-8, as it declares.
  const CommandResult page = doppel_test::Run(
      "/usr/bin/python3 -c 'import sys; open(sys.argv[1], \"rb\").read().decode(\"utf-8\")' " +
      Quote(fx.report + "/report.html"));
  INFO(Describe(page));
  CHECK(page.exit_code == 0);
  CHECK(Contains(ReadFile(fx.report + "/report.html"), "/docs/caf\xEF\xBF\xBD.txt"));
  // Two names that differ only in their bad bytes read alike there; each line also holds its
  // input's bytes, as base64, which Python decodes to the file's name.
  WriteFile(fx.repo + "/docs/caf\xE8.txt", ReadFile("/usr/share/common-licenses/Apache-2.0"));
  REQUIRE(fx.Scan("--quiet").exit_code == 0);
  const CommandResult names = doppel_test::Run(
      "/usr/bin/python3 -c 'import json, sys, base64; print(sorted(base64.b64decode(json.loads(l)[\"input_base64\"]).decode(\"latin-1\").rsplit(\"/\", 1)[1] for l in open(sys.argv[1]) if \"caf\" in l))' " +
      Quote(results));
  INFO(Describe(names));
  CHECK(names.out == "['caf\xC3\xA8.txt', 'caf\xC3\xA9.txt']\n");  // (printed as UTF-8)
  CHECK_FALSE(Contains(ReadFile(results), "LICENSE\",\"input_base64\""));  // (only where needed)
  // So does a protected file's name in a span's source: its bytes as "name_base64".
  fs::create_directories(fx.tmp / "prot");
  WriteFile(fx.tmp / "prot/lic\xE9.txt", ReadFile("/usr/share/common-licenses/BSD"));
  REQUIRE(doppel_test::Run(Quote(kIndexBin) + " build --quiet --index " + Quote(fx.tmp / "idx2") + " " +
                           Quote(fx.tmp / "prot")).exit_code == 0);
  WriteFile(fx.tmp / "answer.txt", ReadFile("/usr/share/common-licenses/BSD"));
  const CommandResult check = doppel_test::Run(Quote(kFilterBin) + " check --index " + Quote(fx.tmp / "idx2") + " " +
                                               Quote(fx.tmp / "answer.txt") + " > " + Quote(fx.tmp / "verdict.json"));
  CHECK(check.exit_code == 1);
  const CommandResult source = doppel_test::Run(
      "/usr/bin/python3 -c 'import json, sys, base64; s = json.load(open(sys.argv[1]))[\"spans\"][0][\"source\"]; "
      "print(s[\"name\"].rsplit(\"/\", 1)[1], base64.b64decode(s[\"name_base64\"]).decode(\"latin-1\").rsplit(\"/\", 1)[1])' " +
      Quote(fx.tmp / "verdict.json"));
  INFO(Describe(source));
  CHECK(source.out == "lic\xEF\xBF\xBD.txt lic\xC3\xA9.txt\n");
}

TEST_CASE("scan: excerpts close each mark once and show CRLF lines as lines", "[scan]") {
  Fixture fx;
  // A copy longer than an excerpt's 160 lines, and one with CRLF line ends.
  WriteFile(fx.repo + "/docs/gpl.txt", ReadFile("/usr/share/common-licenses/GPL-3"));
  std::string crlf;
  for (char c : ReadFile("/usr/share/common-licenses/Apache-2.0")) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  WriteFile(fx.repo + "/docs/apache-crlf.txt", crlf);
  const CommandResult r = fx.Scan("--quiet");
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  const std::string html = ReadFile(fx.report + "/report.html");
  REQUIRE(Contains(html, "apache-crlf.txt"));
  CHECK(!Contains(html, "\r"));
  // In every excerpt, marks open and close in turn and none is left open or closed twice.
  size_t pre = 0, excerpts = 0;
  while ((pre = html.find("<pre class=\"code\">", pre)) != std::string::npos) {
    const size_t end = html.find("</pre>", pre);
    REQUIRE(end != std::string::npos);
    const std::string body = std::regex_replace(html.substr(pre, end - pre), std::regex("<mark class=\"renamed\"[^>]*>[^<]*</mark>"), "");
    int open = 0;
    bool balanced = true;
    for (size_t i = 0; (i = body.find("mark>", i)) != std::string::npos; i += 5) {
      open += body[i - 1] == '/' ? -1 : 1;
      balanced &= open == 0 || open == 1;
    }
    CHECK(balanced);
    CHECK(open == 0);
    ++excerpts;
    pre = end;
  }
  CHECK(excerpts >= 4);
}

TEST_CASE("scan: an excerpt of a very long line shows the span and some context, marked as cut", "[scan]") {
  Fixture fx;
  // A document on one line (as minified code is): 200 KB of new words around a license.
  std::mt19937_64 rng(7);
  std::string filler;
  while (filler.size() < 100'000) filler += doppel_test::RandomWords(rng, 40) + " ";
  std::string license = ReadFile("/usr/share/common-licenses/Apache-2.0").substr(0, 6000);
  std::replace(license.begin(), license.end(), '\n', ' ');
  WriteFile(fx.repo + "/docs/one-line.txt", filler + license + " " + filler + "\n");
  fs::remove(fx.repo + "/LICENSE");
  const CommandResult r = fx.Scan("--quiet");
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  const auto results = doppel_test::Lines(ReadFile(fx.report + "/results.jsonl"));
  REQUIRE(!results.empty());
  CHECK(Contains(results[0], "one-line.txt"));
  const std::string html = ReadFile(fx.report + "/report.html");
  CHECK(html.size() < 150'000);  // not the 200 KB line once per span
  CHECK(Contains(html, "<span class=\"ln\">1</span><span class=\"cut\">&hellip;</span>"));
  CHECK(Contains(html, "shall mean the copyright owner or entity authorized by"));
}

TEST_CASE("scan: a report inside the scanned tree is not scanned, nor written over an input or the index", "[scan]") {
  Fixture fx;
  const std::string inside = fx.repo + "/doppel-report";
  auto scan_into = [&](const std::string& report) {
    return doppel_test::Run(Quote(kFilterBin) + " scan --quiet --index " + Quote(fx.index) + " --report " +
                            Quote(report) + " --fail-on 3 " + Quote(fx.repo));
  };
  const CommandResult first = scan_into(inside);
  INFO(Describe(first));
  REQUIRE(first.exit_code == 0);
  const std::string summary = ReadFile(inside + "/summary.json");
  const CommandResult second = scan_into(inside);  // the first run's report is in the tree now
  INFO(Describe(second));
  CHECK(second.exit_code == 0);
  const std::regex seconds("\"seconds\":[0-9.e+-]+");
  CHECK(std::regex_replace(ReadFile(inside + "/summary.json"), seconds, "") == std::regex_replace(summary, seconds, ""));
  // Nor is an earlier run's report in another directory of the tree (its results quote the
  // copies it found, and its lines are no documents): a run writing elsewhere scans what the
  // first scanned.
  const std::string elsewhere = fx.tmp / "report-2";
  const CommandResult third = scan_into(elsewhere);
  INFO(Describe(third));
  CHECK(third.exit_code == 0);
  CHECK(Contains(summary, "\"folders\":0}"));
  CHECK(std::regex_replace(ReadFile(elsewhere + "/summary.json"), seconds, "") ==
        std::regex_replace(std::regex_replace(summary, std::regex("\"folders\":0\\}"), "\"folders\":1}"), seconds, ""));
  CHECK(Contains(ReadFile(elsewhere + "/report.html"), "skipped 1 folder holding an earlier scan's report or an index"));
  CHECK(ReadFile(elsewhere + "/errors.jsonl").empty());
  // A folder of another tool's files of the same names is no report: what it holds is scanned.
  fs::create_directories(fx.repo + "/experiment");
  WriteFile(fx.repo + "/experiment/summary.json", "{\"accuracy\": 0.91, \"epochs\": 3}\n");
  WriteFile(fx.repo + "/experiment/results.jsonl", "{\"step\": 1, \"loss\": 0.4}\n");
  WriteFile(fx.repo + "/experiment/report.html", "<html><body>loss curve</body></html>\n");
  WriteFile(fx.repo + "/experiment/NOTICE", ReadFile("/usr/share/common-licenses/Apache-2.0"));
  const CommandResult fourth = scan_into(elsewhere);
  INFO(Describe(fourth));
  CHECK(fourth.exit_code == 1);  // over --fail-on 3: the copy in experiment/ is found
  CHECK(Contains(ReadFile(elsewhere + "/results.jsonl"), "experiment/NOTICE"));
  // A copy of an index in the tree is passed over (its LOG and OPTIONS files are no documents),
  // and a pipe in a directory is counted, not read (it could wait for ever for a writer).
  fs::copy(fx.index, fx.repo + "/index-copy", fs::copy_options::recursive);
  REQUIRE(::mkfifo((fx.repo + "/docs/feed").c_str(), 0600) == 0);
  const CommandResult fifth = scan_into(elsewhere);
  INFO(Describe(fifth));
  CHECK(fifth.exit_code == 1);
  const std::string last = ReadFile(elsewhere + "/summary.json");
  CHECK(Contains(last, "\"special\":1,\"folders\":2}"));
  CHECK_FALSE(Contains(ReadFile(elsewhere + "/results.jsonl") + ReadFile(elsewhere + "/errors.jsonl"), "index-copy"));
  // Files named CURRENT and IDENTITY that are no database's are read as any: a copy beside them
  // is found.
  fs::create_directories(fx.repo + "/vendor/walkers");
  WriteFile(fx.repo + "/vendor/walkers/CURRENT", "v1\n");
  WriteFile(fx.repo + "/vendor/walkers/IDENTITY", "walkers-1.0\n");
  WriteFile(fx.repo + "/vendor/walkers/COPYING", ReadFile("/usr/share/common-licenses/MPL-2.0"));
  const CommandResult sixth = scan_into(elsewhere);
  INFO(Describe(sixth));
  CHECK(Contains(ReadFile(elsewhere + "/results.jsonl"), "vendor/walkers/COPYING"));
  CHECK(Contains(ReadFile(elsewhere + "/summary.json"), "\"folders\":2}"));
  const CommandResult over_input = scan_into(fx.repo);
  CHECK(over_input.exit_code == 2);
  CHECK(Contains(over_input.err, "is the input directory"));
  const CommandResult over_index = scan_into(fx.index);
  CHECK(over_index.exit_code == 2);
  CHECK(Contains(over_index.err, "is the index directory"));
}

TEST_CASE("scan: split into tasks a rerun checks edited files again and a pipe is refused", "[scan]") {
  Fixture fx;
  const std::string dir = fx.tmp / "edits";
  fs::create_directories(dir);
  WriteFile(dir + "/a.txt", ReadFile("/usr/share/common-licenses/BSD"));
  WriteFile(dir + "/c.txt", "original words nobody wrote before, about a garden and its gate\n");
  auto scan = [&](const std::string& input) {
    return doppel_test::Run(Quote(kFilterBin) + " scan --quiet --index " + Quote(fx.index) + " --report " +
                            Quote(fx.report) + " --tasks 2 " + Quote(input));
  };
  REQUIRE(scan(dir).exit_code == 0);
  CHECK(doppel_test::Lines(ReadFile(fx.report + "/results.jsonl")).size() == 1);
  WriteFile(dir + "/c.txt", ReadFile("/usr/share/common-licenses/GPL-3"));  // now a copy too
  const CommandResult rerun = scan(dir);
  INFO(Describe(rerun));
  REQUIRE(rerun.exit_code == 0);
  CHECK(doppel_test::Lines(ReadFile(fx.report + "/results.jsonl")).size() == 2);
  // Every task reads every input: a pipe, readable once, is refused at once instead of waiting.
  const std::string fifo = fx.tmp / "stream.jsonl";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const CommandResult piped = doppel_test::Run("timeout 20 " + Quote(kFilterBin) + " scan --quiet --index " +
                                               Quote(fx.index) + " --report " + Quote(fx.tmp / "piped") +
                                               " --tasks 2 " + Quote(fifo));
  INFO(Describe(piped));
  CHECK(piped.exit_code == 2);
  CHECK(Contains(piped.err, "stream.jsonl: not a regular file"));
}

TEST_CASE("scan: split into tasks it writes the files one run writes, and a report before its checks is refused",
          "[scan]") {
  Fixture fx;
  WriteFile(fx.repo + "/docs/bad.txt", "fine until here \xff\xfe then not\n");
  for (int i = 0; i < 6; ++i) {
    WriteFile(fx.repo + "/docs/part-" + std::to_string(i) + ".txt",
              ReadFile("/usr/share/common-licenses/GPL-3").substr(3000 * i, 2500));
  }
  const CommandResult one = fx.Scan("--report-documents 4");
  INFO(Describe(one));
  REQUIRE(one.exit_code == 0);
  const std::string single = fx.tmp / "single";
  fs::rename(fx.report, single);
  const CommandResult split = fx.Scan("--report-documents 4 --tasks 3");
  INFO(Describe(split));
  REQUIRE(split.exit_code == 0);
  CHECK(ReadFile(fx.report + "/results.jsonl") == ReadFile(single + "/results.jsonl"));
  CHECK(ReadFile(fx.report + "/report.html") == ReadFile(single + "/report.html"));
  const std::regex seconds("\"seconds\":[0-9.e+-]+");
  CHECK(std::regex_replace(ReadFile(fx.report + "/summary.json"), seconds, "") ==
        std::regex_replace(ReadFile(single + "/summary.json"), seconds, ""));
  CHECK(Contains(ReadFile(fx.report + "/summary.json"), "\"errors\":1"));  // reported by one task only
  CHECK(Contains(ReadFile(fx.report + "/report.html"), "the 4 with most overlap are shown"));
  // Run again with another policy into the same report: the tasks' parts are not reused.
  WriteFile(fx.tmp / "annotate.json", R"({"actions": {"redact": "annotate", "block": "annotate"}})");
  const CommandResult annotating = fx.Scan("--report-documents 4 --tasks 3 --policy " + Quote(fx.tmp / "annotate.json"));
  INFO(Describe(annotating));
  REQUIRE(annotating.exit_code == 0);
  CHECK(Contains(ReadFile(fx.report + "/summary.json"), "\"flagged\":0"));
  REQUIRE(fx.Scan("--report-documents 4 --tasks 3").exit_code == 0);  // (the report the checks below compare)
  // The tasks as an executor runs them: a report without every check part is refused by name.
  const std::string parts = fx.tmp / "parts";
  auto task = [&](const std::string& args) {
    return doppel_test::Run(Quote(kFilterBin) + " scan --quiet --index " + Quote(fx.index) + " --report " +
                            Quote(parts) + " " + args + " " + Quote(fx.repo));
  };
  CHECK(task("--stage check --world 2 --rank 0").exit_code == 0);
  const CommandResult early = task("--stage report --world 2");
  CHECK(early.exit_code == 2);
  CHECK(Contains(early.err, "check task 1 of 2 has not finished"));
  CHECK(task("--stage check --world 2 --rank 1").exit_code == 0);
  CHECK(task("--stage report --world 2").exit_code == 0);
  CHECK(ReadFile(parts + "/results.jsonl") == ReadFile(single + "/results.jsonl"));
  // A damaged part is an error naming it, not a count.
  const std::string part0 = ReadFile(parts + "/.tasks/check-0.part");
  const std::string run_line = part0.substr(0, part0.find('\n') + 1);
  WriteFile(parts + "/.tasks/check-0.part", run_line + "[\"sum\",\"many\",0,0,0,0,0,0,0]\n");
  const CommandResult damaged = task("--stage report --world 2");
  CHECK(damaged.exit_code == 2);
  CHECK(Contains(damaged.err, "check-0.part:2: not a scan part line"));
  // A part made for other inputs (its first line says for what) is refused by name.
  WriteFile(parts + "/.tasks/check-0.part", "[\"run\",\"0123456789abcdef\"]\n" + part0.substr(run_line.size()));
  const CommandResult foreign = task("--stage report --world 2");
  CHECK(foreign.exit_code == 2);
  CHECK(Contains(foreign.err, "check-0.part: check task 0 of 2 ran on other inputs"));
  WriteFile(parts + "/.tasks/check-0.part", part0);
  // So is a report asked for other inputs than the checks read.
  const CommandResult other_report = doppel_test::Run(Quote(kFilterBin) + " scan --quiet --index " + Quote(fx.index) +
                                                      " --report " + Quote(parts) + " --stage report --world 2 " +
                                                      Quote(fx.repo + "/docs"));
  CHECK(other_report.exit_code == 2);
  CHECK(Contains(other_report.err, "check task 0 of 2 ran on other inputs"));
  // A finished check task is not redone; with another input it is.
  const CommandResult again = doppel_test::Run(Quote(kFilterBin) + " scan --index " + Quote(fx.index) + " --report " +
                                               Quote(parts) + " --stage check --world 2 --rank 1 " + Quote(fx.repo));
  CHECK(Contains(again.err, "check task 1 of 2: done before with these inputs"));
  const CommandResult other = doppel_test::Run(Quote(kFilterBin) + " scan --index " + Quote(fx.index) + " --report " +
                                               Quote(parts) + " --stage check --world 2 --rank 1 " + Quote(fx.repo) +
                                               " /usr/share/common-licenses/BSD");
  CHECK(Contains(other.err, "check task 1 of 2: "));
  CHECK_FALSE(Contains(other.err, "done before"));
  // Nor is it when the index in the same place was built again with other parameters (the same
  // documents and bytes): its verdicts may differ.
  auto rank1 = [&] {
    return doppel_test::Run(Quote(kFilterBin) + " scan --index " + Quote(fx.index) + " --report " + Quote(parts) +
                            " --stage check --world 2 --rank 1 " + Quote(fx.repo));
  };
  const CommandResult redone = rank1();  // checks again: the run with BSD replaced part 1
  INFO(Describe(redone));
  REQUIRE(redone.exit_code == 0);
  const CommandResult reused = rank1();
  INFO(Describe(reused));
  REQUIRE(Contains(reused.err, "done before"));
  fs::remove_all(fx.index);
  const CommandResult rebuilt = doppel_test::Run(Quote(kIndexBin) + " build --quiet --window 9 --index " +
                                                 Quote(fx.index) + " " + Quote(kScanner) + " /usr/share/common-licenses");
  REQUIRE(rebuilt.exit_code == 0);
  const CommandResult reparam = rank1();
  INFO(Describe(reparam));
  CHECK(reparam.exit_code == 0);
  CHECK(Contains(reparam.err, "check task 1 of 2: "));
  CHECK_FALSE(Contains(reparam.err, "done before"));
}

TEST_CASE("scan: report.html renders in headless Chromium with the matches, sortable", "[scan]") {
  Fixture fx;
  REQUIRE(fx.Scan("--quiet").exit_code == 0);
  const std::string chromium = "chromium --headless --no-sandbox --disable-gpu --hide-scrollbars "
                               "--user-data-dir=" + Quote(fx.tmp / "chromium-profile") + " ";
  const std::string url = "file://" + fx.report + "/report.html";
  // The DOM after the page's script ran, sorted by document name through the address.
  CommandResult dom = doppel_test::Run(chromium + "--dump-dom " + Quote(url + "#sort=document"));
  INFO(dom.err.substr(0, 2000));
  REQUIRE(dom.exit_code == 0);
  CHECK(Contains(dom.out, "doppel scan report"));
  CHECK(Contains(dom.out, "<b id=\"flagged-count\">3</b>"));
  CHECK(Contains(dom.out, "class=\"renamed\""));
  const size_t tbody = dom.out.find("<tbody>");
  REQUIRE(tbody != std::string::npos);
  const size_t license = dom.out.find("/LICENSE</a>", tbody), terms = dom.out.find("terms.md</a>", tbody),
               indent = dom.out.find("indent.c</a>", tbody);
  CHECK(terms < license);  // sorted by name (the browser's collation): docs/terms.md, LICENSE, src/indent.c
  CHECK(license < indent);
  CHECK(Contains(dom.out, "<th data-key=\"document\" class=\"sorted\" data-dir=\"asc\">"));
  // Through the address by the column it is sorted by already: still its own way, largest first.
  dom = doppel_test::Run(chromium + "--dump-dom " + Quote(url + "#sort=overlap"));
  REQUIRE(dom.exit_code == 0);
  CHECK(Contains(dom.out, "<th data-key=\"overlap\" data-type=\"num\" class=\"sorted\" data-dir=\"desc\">"));
  std::vector<double> overlaps;
  for (size_t at = dom.out.find("<tbody>"); (at = dom.out.find("<tr", at + 1)) != std::string::npos;) {
    const size_t v = dom.out.find("data-v=\"", at);
    if (v == std::string::npos) break;
    overlaps.push_back(std::stod(dom.out.substr(v + 8)));
  }
  REQUIRE(overlaps.size() >= 3);
  CHECK(std::is_sorted(overlaps.rbegin(), overlaps.rend()));
  CHECK(overlaps.front() > overlaps.back());

  // A screenshot, kept as a test artifact.
  const std::string artifacts = std::string(DOPPEL_BINARY_DIR) + "/test-artifacts";
  fs::create_directories(artifacts);
  const std::string png = artifacts + "/scan-report.png";
  fs::remove(png);
  CommandResult shot = doppel_test::Run(chromium + "--window-size=1400,1800 --screenshot=" + Quote(png) + " " + Quote(url));
  REQUIRE(shot.exit_code == 0);
  const std::string bytes = ReadFile(png);
  CHECK(bytes.size() > 20000);  // a rendered page, not a blank one
  CHECK(bytes.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
}

TEST_CASE("scan: split into tasks, no part is reused against a rebuilt index or other settings", "[scan]") {
  TempDir tmp;
  const std::string bsd = ReadFile("/usr/share/common-licenses/BSD");
  fs::create_directories(tmp / "corpus");
  WriteFile(tmp / "corpus/terms.txt", bsd);
  WriteFile(tmp / "corpus/bad.txt", "fine until here \xff\xfe then not\n");
  // An index of other text of the same length as the license: then one of the license itself,
  // built in its place. Documents, bytes and removals are the same; what it stores is not.
  std::mt19937_64 rng(3);
  std::string other = doppel_test::RandomWords(rng, bsd.size() / 3);
  other.resize(bsd.size(), 'x');
  fs::create_directories(tmp / "p");
  WriteFile(tmp / "p/doc.txt", other);
  auto build = [&] {
    fs::remove_all(tmp / "idx");
    const CommandResult b = doppel_test::Run(Quote(kIndexBin) + " build --quiet --index " + Quote(tmp / "idx") + " " +
                                             Quote(tmp / "p/doc.txt"));
    REQUIRE(b.exit_code == 0);
  };
  auto scan = [&](const std::string& extra) {
    return doppel_test::Run(Quote(kFilterBin) + " scan --quiet --tasks 2 --index " + Quote(tmp / "idx") + " --report " +
                            Quote(tmp / "report") + " " + extra + " " + Quote(tmp / "corpus"));
  };
  build();
  CommandResult r = scan("--fail-on 0");
  INFO(Describe(r));
  CHECK(r.exit_code == 1);  // (the file it could not check)
  CHECK(Contains(ReadFile(tmp / "report/summary.json"), "\"flagged\":0"));
  WriteFile(tmp / "p/doc.txt", bsd);
  build();
  r = scan("--fail-on 0");
  INFO(Describe(r));
  CHECK(r.exit_code == 1);
  CHECK(Contains(ReadFile(tmp / "report/summary.json"), "\"flagged\":1"));
  // --on-error fail stops at the file it cannot check, though the parts of --on-error skip are
  // there; and the report of the run before is not left behind to be read as this run's.
  r = scan("--on-error fail");
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "bad.txt"));
  CHECK(!fs::exists(tmp / "report/summary.json"));
  CHECK(!fs::exists(tmp / "report/results.jsonl"));
  // So does a larger --max-document-bytes (the license is over the limit of the first run).
  fs::remove(tmp / "corpus/bad.txt");
  r = scan("--max-document-bytes 100");
  CHECK(r.exit_code == 0);
  CHECK(Contains(ReadFile(tmp / "report/errors.jsonl"), "exceeds the document limit of 100"));
  r = scan("--max-document-bytes 100000");
  CHECK(r.exit_code == 0);
  CHECK(Contains(ReadFile(tmp / "report/summary.json"), "\"flagged\":1"));
  CHECK(ReadFile(tmp / "report/errors.jsonl").empty());
}

TEST_CASE("scan: two runs do not write one report at once", "[scan]") {
  Fixture fx;
  fs::create_directories(fx.report);
  const int fd = ::open((fx.report + "/.lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_SH) == 0);  // as a task of a split run holds it
  CommandResult r = fx.Scan("--quiet");
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "is being written by another scan"));
  r = fx.Scan("--quiet --tasks 2");
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "is being written by another scan"));
  // A scan refused before it starts removes an earlier report, but not one being written.
  WriteFile(fx.report + "/results.jsonl.tmp.4242.0", "being written");
  r = fx.Scan("--quiet --policy " + Quote(fx.tmp / "missing-policy.json"));
  CHECK(r.exit_code == 2);
  CHECK(fs::exists(fx.report + "/results.jsonl.tmp.4242.0"));
  ::close(fd);
  r = fx.Scan("--quiet --policy " + Quote(fx.tmp / "missing-policy.json"));
  CHECK(r.exit_code == 2);
  CHECK(!fs::exists(fx.report + "/results.jsonl.tmp.4242.0"));
  r = fx.Scan("--quiet --tasks 2");
  INFO(Describe(r));
  CHECK(r.exit_code == 0);
  CHECK(doppel_test::Lines(ReadFile(fx.report + "/results.jsonl")).size() == 3);
}

TEST_CASE("scan: files and folders it may not read are listed as errors, and the scan goes on", "[scan]") {
  Fixture fx;
  // Read as a user who may not read them (as root, as nobody: root reads every file).
  const bool root = ::geteuid() == 0;
  const std::string as_user = root ? "setpriv --reuid=65534 --regid=65534 --clear-groups " : "";
  fs::permissions(fx.tmp.path(), fs::perms::all);
  fs::permissions(fx.repo, fs::perms::all);
  fs::permissions(fx.repo + "/docs", fs::perms::all);
  fs::permissions(fx.repo + "/src", fs::perms::all);
  for (const auto& e : fs::recursive_directory_iterator(fx.index)) {
    fs::permissions(e.path(), fs::perms::all);
  }
  fs::permissions(fx.index, fs::perms::all);
  WriteFile(fx.repo + "/secret.txt", ReadFile("/usr/share/common-licenses/BSD"));
  fs::create_directories(fx.repo + "/closed");
  WriteFile(fx.repo + "/closed/inside.txt", "some words\n");
  WriteFile(fx.repo + "/lines.jsonl", "{\"id\": \"l1\", \"text\": \"some words\"}\n");
  fs::permissions(fx.repo + "/secret.txt", fs::perms::none);
  fs::permissions(fx.repo + "/closed", fs::perms::none);
  fs::permissions(fx.repo + "/lines.jsonl", fs::perms::none);
  const CommandResult r = doppel_test::Run(as_user + Quote(kFilterBin) + " scan --index " + Quote(fx.index) +
                                           " --report " + Quote(fx.report) + " " + Quote(fx.repo));
  fs::permissions(fx.repo + "/closed", fs::perms::owner_all);
  INFO(Describe(r));
  CHECK(r.exit_code == 0);
  const std::string errors = ReadFile(fx.report + "/errors.jsonl");
  CHECK(Contains(errors, "{\"input\":\"" + fx.repo + "/secret.txt\",\"error\":\"" + fx.repo +
                             "/secret.txt: Permission denied\"}"));
  CHECK(Contains(errors, "{\"input\":\"" + fx.repo + "/closed\",\"error\":\"" + fx.repo + "/closed: Permission denied\"}"));
  CHECK(Contains(errors, "{\"input\":\"" + fx.repo + "/lines.jsonl\",\"error\":\"" + fx.repo +
                             "/lines.jsonl: Permission denied\"}"));
  CHECK(Contains(ReadFile(fx.report + "/summary.json"), "\"errors\":3"));
  CHECK(doppel_test::Lines(ReadFile(fx.report + "/results.jsonl")).size() == 3);  // the others are checked
  // An input named that is not there (a name mistyped, a shard gone) is one of them too.
  const std::string missing = fx.repo + "/no-such-shard.jsonl";
  const CommandResult m = doppel_test::Run(Quote(kFilterBin) + " scan --index " + Quote(fx.index) + " --report " +
                                           Quote(fx.report) + " " + Quote(missing) + " " + Quote(fx.repo + "/src"));
  INFO(Describe(m));
  CHECK(m.exit_code == 0);
  CHECK(ReadFile(fx.report + "/errors.jsonl") ==
        "{\"input\":\"" + missing + "\",\"error\":\"" + missing + ": no such file or directory\"}\n");
  CHECK(!doppel_test::Lines(ReadFile(fx.report + "/results.jsonl")).empty());
  // When no input named is there, there is nothing to scan: refused (a mistyped sole input is no
  // empty corpus), and no report is written.
  const CommandResult none = doppel_test::Run(Quote(kFilterBin) + " scan --index " + Quote(fx.index) + " --report " +
                                              Quote(fx.tmp / "r-none") + " " + Quote(missing));
  CHECK(none.exit_code == 2);
  CHECK(Contains(none.err, "no-such-shard.jsonl: no such file or directory"));
  CHECK(!fs::exists(fx.tmp / "r-none"));
  // With --on-error fail it stops the scan, as any unreadable input does.
  const CommandResult f = doppel_test::Run(Quote(kFilterBin) + " scan --on-error fail --index " + Quote(fx.index) +
                                           " --report " + Quote(fx.report) + " " + Quote(missing));
  CHECK(f.exit_code == 2);
  CHECK(Contains(f.err, "no-such-shard.jsonl: no such file or directory"));
}

TEST_CASE("scan: an index inside the scanned tree is not scanned", "[scan]") {
  Fixture fx;
  const std::string inner = fx.repo + "/.doppel-index";
  fs::rename(fx.index, inner);
  const CommandResult r = doppel_test::Run(Quote(kFilterBin) + " scan --quiet --index " + Quote(inner) +
                                           " --report " + Quote(fx.report) + " " + Quote(fx.repo));
  INFO(Describe(r));
  CHECK(r.exit_code == 0);
  // LICENSE, terms.md, indent.c and notes.txt (logo.bin is binary): no LOG, OPTIONS or CURRENT.
  CHECK(Contains(ReadFile(fx.report + "/summary.json"), "\"documents\":4,"));
  CHECK(!Contains(ReadFile(fx.report + "/errors.jsonl") + ReadFile(fx.report + "/results.jsonl"), ".doppel-index"));
}

TEST_CASE("scan: with --lossy-utf8 a file with bytes that are not UTF-8 is checked, its offsets kept", "[scan]") {
  Fixture fx;
  // A Latin-1 copy of a license: one é, not UTF-8.
  std::string bsd = ReadFile("/usr/share/common-licenses/BSD");
  const size_t at = bsd.find("modification");
  REQUIRE(at != std::string::npos);
  bsd.insert(at, "\xe9");
  const std::string dir = fx.tmp / "latin1";
  fs::create_directories(dir);
  WriteFile(dir + "/terms.txt", bsd);
  std::string text = "caf " + ReadFile("/usr/share/common-licenses/BSD");
  std::string quoted;
  doppel::AppendJsonString(&quoted, text);
  quoted.insert(4, "\xe9");  // "caf\xe9 ...": a Latin-1 é in a JSON line
  WriteFile(dir + "/terms.jsonl", "{\"id\": \"t1\", \"text\": " + quoted + "}\n");
  auto scan = [&](const std::string& extra) {
    return doppel_test::Run(Quote(kFilterBin) + " scan --quiet --index " + Quote(fx.index) + " --report " +
                            Quote(fx.report) + " " + extra + " " + Quote(dir));
  };
  CommandResult r = scan("");
  CHECK(r.exit_code == 0);
  CHECK(Contains(ReadFile(fx.report + "/errors.jsonl"), "terms.txt: invalid UTF-8 at byte offset " + std::to_string(at)));
  CHECK(Contains(ReadFile(fx.report + "/summary.json"), "\"errors\":2"));
  r = scan("--lossy-utf8");
  INFO(Describe(r));
  CHECK(r.exit_code == 0);
  CHECK(ReadFile(fx.report + "/errors.jsonl").empty());
  const auto results = doppel_test::Lines(ReadFile(fx.report + "/results.jsonl"));
  REQUIRE(results.size() == 2);
  CHECK(Contains(results[0], "common-licenses/BSD"));
  CHECK(Contains(results[1], "common-licenses/BSD"));
  // Its span ends one byte after the source's, for the é it holds: one byte read as one.
  std::smatch m;
  REQUIRE(std::regex_search(results[1], m, std::regex(R"("query":\{"start":\d+,"end":(\d+).*"source":\{.*?"end":(\d+))")));
  CHECK(std::stoul(m[1]) == std::stoul(m[2]) + 1);
}

TEST_CASE("scan: compressed files are read as their text, compressed archives passed over as binary", "[scan]") {
  Fixture fx;
  const std::string dir = fx.tmp / "packed";
  fs::create_directories(dir);
  REQUIRE(doppel_test::Run("gzip -c /usr/share/common-licenses/Apache-2.0 > " + Quote(dir + "/LICENSE.gz")).exit_code == 0);
  REQUIRE(doppel_test::Run("zstd -q -c " + Quote(kScanner) + " -o " + Quote(dir + "/scanner.c.zst")).exit_code == 0);
  REQUIRE(doppel_test::Run("tar czf " + Quote(dir + "/licenses.tar.gz") + " -C /usr/share/common-licenses GPL-3")
              .exit_code == 0);
  WriteFile(dir + "/empty.jsonl.zst", "");
  WriteFile(dir + "/broken.txt.gz", "not gzip at all");  // met in the walk: passed over as binary
  // A gzip copy cut inside its first block decodes nothing, and is damaged all the same.
  WriteFile(dir + "/stub.txt.gz", std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10) + "\x2b\x49");
  // A gzip copy cut short after its first text: an error, not passed over unseen as binary.
  REQUIRE(doppel_test::Run("gzip -c /usr/share/common-licenses/GPL-3 > " + Quote(fx.tmp / "gpl.gz")).exit_code == 0);
  const std::string gz = ReadFile(fx.tmp / "gpl.gz");
  WriteFile(dir + "/cut.txt.gz", gz.substr(0, gz.size() / 2));
  const CommandResult r = doppel_test::Run(Quote(kFilterBin) + " scan --quiet --index " + Quote(fx.index) +
                                           " --report " + Quote(fx.report) + " " + Quote(dir));
  INFO(Describe(r));
  CHECK(r.exit_code == 0);
  const auto results = doppel_test::Lines(ReadFile(fx.report + "/results.jsonl"));
  REQUIRE(results.size() == 2);
  CHECK(Contains(results[0], "LICENSE.gz"));
  CHECK(Contains(results[0], "common-licenses/Apache-2.0"));
  CHECK(Contains(results[1], "scanner.c.zst"));
  CHECK(Contains(results[1], "\"kind\":\"code\",\"language\":\"c\""));  // by its name without .zst
  const std::string summary = ReadFile(fx.report + "/summary.json");
  CHECK(Contains(summary, "\"binary\":2"));  // the archive, and the file that is not gzip
  // A compressed file of no bytes is not in its format, as gzip's and zstd's own tools say.
  const std::string errors = ReadFile(fx.report + "/errors.jsonl");
  CHECK(Contains(errors, "empty.jsonl.zst:1: not in zstd format (an empty file)"));
  CHECK(Contains(errors, "cut.txt.gz: gzip stream is truncated"));
  CHECK(Contains(errors, "stub.txt.gz: gzip stream is truncated"));
}
