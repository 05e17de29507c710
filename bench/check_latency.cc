// Latency of Filter::Check for 2 KB answers against an existing index:
//   check_latency INDEX_DIR [QUERIES=2000] [THREADS=1] [BODIES_OUT]
// Half of the answers embed a ~600-byte excerpt of a random indexed document in new text, half
// are new text of the same generator. Before timing, every embedded copy must be flagged with
// the right source and at most 1% of the new answers may be flagged. With BODIES_OUT, the
// verified answers are also written there as HTTP request bodies (one {"text": ...} per line)
// for the service load benchmark (bench/run_service.sh).
#include <tbb/parallel_for.h>
#include <tbb/global_control.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "corpus.h"
#include "doppel/allocator.h"
#include "doppel/filter.h"
#include "doppel/format.h"

using namespace doppel;

int main(int argc, char** argv) {
  KeepCheckMemory();  // as doppel-filter does
  if (argc < 2) {
    std::fprintf(stderr, "usage: check_latency INDEX_DIR [QUERIES] [THREADS] [BODIES_OUT]\n");
    return 2;
  }
  const size_t queries = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 2000;
  const int threads = argc > 3 ? std::atoi(argv[3]) : 1;
  auto filter = Filter::Open(argv[1], FilterOptions{});
  if (!filter.ok()) {
    std::fprintf(stderr, "%s\n", filter.status().ToString().c_str());
    return 2;
  }
  auto stats = (*filter)->index().Stats();
  const uint64_t docs = stats->documents;
  std::printf("index: %llu documents, %.1f MB on disk\n", static_cast<unsigned long long>(docs),
              stats->size_on_disk / 1e6);

  struct Query {
    std::string text;
    std::string source;   // expected source name, "" for new text
    std::string excerpt;  // the copied passage
  };
  std::vector<Query> qs;
  std::mt19937_64 rng(7);
  bench::ProseGenerator novel(987654321);
  while (qs.size() < queries) {
    Query q;
    if (qs.size() % 2 == 0) {
      const uint32_t id = static_cast<uint32_t>(rng() % docs);
      auto content = (*filter)->index().GetContent(id);
      auto info = (*filter)->index().GetDocument(id);
      if (!content.ok() || !info.ok() || content->size() < 700) continue;
      const size_t start = rng() % (content->size() - 650);
      const size_t sp = content->find(' ', start);
      std::string excerpt = content->substr(sp + 1, 600);
      // Prose excerpts only (a table of contents or a rule of dashes is not a quotable copy).
      if (bench::SplitWords(excerpt).size() < 60) continue;
      q.text = novel.Text(700) + "\n" + excerpt + "\n" + novel.Text(700);
      q.source = info->name;
      q.excerpt = excerpt;
    } else {
      q.text = novel.Text(2000);
    }
    qs.push_back(std::move(q));
  }

  // Verify before timing.
  size_t copies = 0, caught = 0, news = 0, false_flags = 0;
  for (const auto& q : qs) {
    auto v = (*filter)->Check(q.text);
    if (!v.ok()) {
      std::fprintf(stderr, "check failed: %s\n", v.status().ToString().c_str());
      return 1;
    }
    const bool flagged = v->action == Action::kRedact || v->action == Action::kBlock;
    if (!q.source.empty()) {
      ++copies;
      bool named = false;
      // The right source, or a document holding the same passage, up to line breaks (an index
      // may hold copies: /usr/share/common-licenses has GPL and GPL-3, GFDL-1.2 and -1.3).
      for (const auto& s : v->spans) {
        if (s.source_name == q.source) {
          named = true;
        } else if (auto c = (*filter)->index().GetContent(s.source_id); c.ok()) {
          auto squeeze = [](const std::string& t) {
            return bench::JoinWords(bench::SplitWords(t), 0, bench::SplitWords(t).size());
          };
          named |= squeeze(*c).find(squeeze(q.excerpt)) != std::string::npos;
        }
      }
      caught += flagged && named;
      if (!(flagged && named) && std::getenv("DOPPEL_DEBUG")) {
        std::string line;
        AppendVerdictJson(*v, false, &line);
        std::fprintf(stderr, "MISSED %s: %s\n", q.source.c_str(), line.c_str());
      }
    } else {
      ++news;
      false_flags += flagged;
    }
  }
  std::printf("verification: %zu/%zu embedded copies flagged with the right source, %zu/%zu new answers flagged\n",
              caught, copies, false_flags, news);
  if (caught < copies || false_flags * 100 > news) {
    std::fprintf(stderr, "verification failed\n");
    return 1;
  }

  if (argc > 4) {
    std::FILE* out = std::fopen(argv[4], "w");
    if (out == nullptr) {
      std::fprintf(stderr, "%s: cannot write\n", argv[4]);
      return 2;
    }
    for (const auto& q : qs) {
      std::string line = "{\"text\":";
      AppendJsonString(&line, q.text);
      line += "}\n";
      std::fwrite(line.data(), 1, line.size(), out);
    }
    std::fclose(out);
  }

  std::vector<double> us(qs.size());
  tbb::global_control gc(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(threads));
  const auto t0 = std::chrono::steady_clock::now();
  tbb::parallel_for(size_t{0}, qs.size(), [&](size_t i) {
    const auto a = std::chrono::steady_clock::now();
    auto v = (*filter)->Check(qs[i].text);
    const auto b = std::chrono::steady_clock::now();
    if (!v.ok()) std::abort();
    us[i] = std::chrono::duration<double, std::micro>(b - a).count();
  });
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::sort(us.begin(), us.end());
  auto pct = [&](double p) { return us[std::min(us.size() - 1, static_cast<size_t>(p * us.size()))]; };
  std::printf("Filter::Check of 2 KB answers, %d thread(s), %zu queries: p50 %.0f us, p90 %.0f us, "
              "p99 %.0f us, max %.0f us; %.0f checks/s\n",
              threads, us.size(), pct(0.5), pct(0.9), pct(0.99), us.back(), us.size() / wall);
  return 0;
}
