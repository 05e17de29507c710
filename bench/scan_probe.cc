// Where a code scan's time goes, file by file: each file is checked as `doppel-filter scan` checks
// it (the index opened with the scan's options, code read by the lexer first), one after another
// on one thread, timed; prints the time by language (with the files' raw parse time beside it, as
// bench/parse_rate.cc measures it, on the dense parse tables the tokenizers read) and the
// slowest files. Files listed twice (the same list again) also print the two passes apart: the
// second runs with the filter's caches warm.
//   scan_probe INDEX_DIR FILE...
#include <tree_sitter/api.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "code/dense_parse_table.h"
#include "corpus.h"
#include "doppel/filter.h"
#include "doppel/language.h"
#include "doppel/scan.h"

using namespace doppel;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: scan_probe INDEX_DIR FILE...\n");
    return 2;
  }
  auto filter = Filter::Open(argv[1], ScanFilterOptions(FilterOptions{}), ScanIndexOptions());
  if (!filter.ok()) {
    std::fprintf(stderr, "scan_probe: %s\n", filter.status().ToString().c_str());
    return 1;
  }
  struct Row {
    double check_s = 0, parse_s = 0;
    size_t bytes = 0, spans = 0;
    std::string path, language, action;
  };
  std::vector<Row> rows;
  TSParser* parser = ts_parser_new();
  for (int i = 2; i < argc; ++i) {
    const Language* l = LanguageForPath(argv[i]);
    if (l == nullptr || l->grammar == nullptr) continue;
    const std::string text = bench::ReadWholeFile(argv[i]);
    Row r;
    r.path = argv[i];
    r.language = l->name;
    r.bytes = text.size();
    CheckRequest req;
    req.kind = Kind::kCode;
    req.language = l->name;
    req.lexer_first = true;
    const auto t0 = Clock::now();
    auto v = (*filter)->Check(text, req);
    const auto t1 = Clock::now();
    ts_parser_set_language(parser, DenseParseTable(l->grammar));
    ts_tree_delete(ts_parser_parse_string(parser, nullptr, text.data(), static_cast<uint32_t>(text.size())));
    r.parse_s = std::chrono::duration<double>(Clock::now() - t1).count();
    r.check_s = std::chrono::duration<double>(t1 - t0).count();
    if (!v.ok()) {
      r.action = "error";
    } else {
      r.action = std::string(ActionName(v->action));
      r.spans = v->spans.size();
    }
    rows.push_back(std::move(r));
  }
  ts_parser_delete(parser);
  // The same files listed twice: the second pass runs with every cache warm.
  const size_t half = rows.size() / 2;
  bool twice = rows.size() % 2 == 0 && half > 0;
  for (size_t i = 0; twice && i < half; ++i) twice = rows[i].path == rows[half + i].path;
  if (twice) {
    double first = 0, second = 0;
    for (size_t i = 0; i < rows.size(); ++i) (i < half ? first : second) += rows[i].check_s;
    std::printf("the files listed twice: first pass %.3f s, second (caches warm) %.3f s\n", first, second);
  }
  std::map<std::string, Row> by_language;
  Row total;
  for (const Row& r : rows) {
    for (Row* t : {&by_language[r.language], &total}) {
      t->check_s += r.check_s;
      t->parse_s += r.parse_s;
      t->bytes += r.bytes;
    }
  }
  std::printf("%-12s %9s %9s %9s %7s\n", "language", "MB", "check s", "parse s", "ratio");
  auto line = [](const std::string& name, const Row& t) {
    std::printf("%-12s %9.2f %9.3f %9.3f %6.0f%%\n", name.c_str(), t.bytes / 1e6, t.check_s, t.parse_s,
                100 * t.parse_s / std::max(1e-9, t.check_s));
  };
  for (const auto& [name, t] : by_language) line(name, t);
  line("all", total);
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.check_s > b.check_s; });
  std::printf("\nslowest checks (ms, bytes, parse ms, action, spans):\n");
  for (size_t i = 0; i < rows.size() && i < 25; ++i) {
    std::printf("%8.1f %8zu %7.1f %-8s %3zu %s\n", 1e3 * rows[i].check_s, rows[i].bytes, 1e3 * rows[i].parse_s,
                rows[i].action.c_str(), rows[i].spans, rows[i].path.c_str());
  }
  return 0;
}
