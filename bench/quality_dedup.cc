// The deduplication quality suite: planted clusters over real prose, pairwise precision,
// recall and F1 per preset, recall per kind of change, and the S-curve against theory.
//   quality_dedup [WORK_DIR=/tmp/doppel-quality-dedup] [CLUSTERS=2000]
//
// Corpus: paragraphs of real prose on this machine (bench/corpus.h) of at least 80 words. Each
// planted cluster is one paragraph and two variants, each made by one of: 2/5/10% of words
// substituted, inserted or deleted; sentences shuffled; truncated to 70–95%; 10–30% foreign text
// (another paragraph) appended. As many other paragraphs are added as singletons. Documents are
// written in a shuffled (fixed-seed) order to JSONL and deduplicated by the library's Dedup,
// exactly as `doppel-index dedup` runs it; clusters.jsonl is compared with the planted truth.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <unordered_set>

#include "corpus.h"
#include "doppel/dedup.h"
#include "doppel/format.h"
#include "doppel/lsh.h"
#include "doppel/shingle.h"
#include "doppel/sketch.h"

using namespace doppel;
namespace fs = std::filesystem;

namespace {

struct Doc {
  std::string id;
  std::string text;
  int truth;         // planted cluster (singletons: their own)
  std::string kind;  // "base", "single", or the variant's change
};

std::string Edit(const std::vector<std::string>& w, double rate, std::mt19937_64& rng,
                 const std::vector<std::string>& vocab) {
  std::vector<std::string> out;
  std::uniform_real_distribution<double> u(0, 1);
  for (const auto& x : w) {
    if (u(rng) >= rate) {
      out.push_back(x);
      continue;
    }
    switch (rng() % 3) {
      case 0: out.push_back(vocab[rng() % vocab.size()]); out.push_back(x); break;
      case 1: break;
      default: out.push_back(vocab[rng() % vocab.size()]);
    }
  }
  return bench::JoinWords(out, 0, out.size());
}

std::string ShuffleSentences(const std::string& text, std::mt19937_64& rng) {
  std::vector<std::string> s;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '.' && (i + 1 == text.size() || text[i + 1] == ' ')) {
      s.push_back(text.substr(start, i + 1 - start));
      start = i + 1;
    }
  }
  if (start < text.size()) s.push_back(text.substr(start));
  std::shuffle(s.begin(), s.end(), rng);
  std::string out;
  for (auto& x : s) out += x;
  return out;
}

std::set<uint64_t> Shingles(const DocumentSketcher& sk, const std::string& text, uint32_t k, uint64_t seed) {
  Tokens t;
  std::vector<uint64_t> h, g;
  (void)sk.TokenizerFor(Kind::kText).Tokenize(text, &t);
  TokenHashes(t, &h);
  HashKGrams(h, k, seed, &g);
  return std::set<uint64_t>(g.begin(), g.end());
}

double TrueJaccard(const std::set<uint64_t>& a, const std::set<uint64_t>& b) {
  size_t inter = 0;
  for (uint64_t x : a) inter += b.count(x);
  const size_t uni = a.size() + b.size() - inter;
  return uni ? static_cast<double>(inter) / uni : 1;
}

// P(at least a share t of n MinHash values agree) for similarity s: the verification step.
double BinomialTail(double s, uint32_t n, double t) {
  double p = 0;
  const uint32_t need = static_cast<uint32_t>(std::ceil(t * n - 1e-9));
  for (uint32_t k = need; k <= n; ++k) {
    p += std::exp(std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0) + k * std::log(s) +
                  (n - k) * std::log1p(-s));
  }
  return std::min(1.0, p);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string work = argc > 1 ? argv[1] : "/tmp/doppel-quality-dedup";
  const size_t clusters = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 2000;
  fs::create_directories(work);
  auto paras = bench::LoadRealProse(80, clusters * 6);
  std::mt19937_64 rng(11);
  std::shuffle(paras.begin(), paras.end(), rng);
  // The truth must hold: Debian ships the same paragraphs in many files (licenses, templated
  // man pages), so a paragraph sharing 20% of its 5-word shingles with earlier ones is dropped.
  {
    DocumentSketcher sk{SketchParams{}};
    std::unordered_set<uint64_t> seen;
    std::vector<bench::Paragraph> distinct;
    size_t dropped = 0;
    for (auto& p : paras) {
      const auto sh = Shingles(sk, p.text, 5, 1);
      size_t shared = 0;
      for (uint64_t x : sh) shared += seen.count(x);
      if (sh.empty() || shared * 5 > sh.size()) {
        ++dropped;
        continue;
      }
      seen.insert(sh.begin(), sh.end());
      distinct.push_back(std::move(p));
    }
    paras = std::move(distinct);
    std::printf("paragraphs: %zu distinct (%zu dropped as overlapping an earlier one)\n", paras.size(), dropped);
  }
  if (paras.size() < clusters * 2 + 200) {
    std::fprintf(stderr, "not enough distinct prose on this machine (%zu paragraphs)\n", paras.size());
    return 2;
  }
  std::vector<std::string> vocab;
  for (size_t i = 0; i < 200; ++i) {
    for (auto& w : bench::SplitWords(paras[paras.size() - 1 - i].text)) vocab.push_back(w);
  }
  const char* kKinds[] = {"edit 2%", "edit 5%", "edit 10%", "shuffle", "truncate 70-95%", "append 10-30%"};
  std::vector<Doc> docs;
  for (size_t c = 0; c < clusters; ++c) {
    const std::string& base = paras[c].text;
    const auto words = bench::SplitWords(base);
    docs.push_back({"c" + std::to_string(c) + "-base", base, static_cast<int>(c), "base"});
    for (int v = 0; v < 2; ++v) {
      const int kind = static_cast<int>((c * 2 + v) % 6);
      std::string t;
      switch (kind) {
        case 0: t = Edit(words, 0.02, rng, vocab); break;
        case 1: t = Edit(words, 0.05, rng, vocab); break;
        case 2: t = Edit(words, 0.10, rng, vocab); break;
        case 3: t = ShuffleSentences(base, rng); break;
        case 4: {
          const double keep = 0.70 + 0.25 * std::uniform_real_distribution<double>(0, 1)(rng);
          t = bench::JoinWords(words, 0, static_cast<size_t>(words.size() * keep));
          break;
        }
        default: {
          const double add = 0.10 + 0.20 * std::uniform_real_distribution<double>(0, 1)(rng);
          const auto other = bench::SplitWords(paras[clusters + (c % clusters)].text);
          const size_t n = std::min(other.size(), static_cast<size_t>(words.size() * add));
          t = base + " " + bench::JoinWords(other, 0, n);
        }
      }
      docs.push_back({"c" + std::to_string(c) + "-v" + std::to_string(v), t, static_cast<int>(c), kKinds[kind]});
    }
  }
  // Singletons: paragraphs not used as bases or as appended text.
  for (size_t i = 2 * clusters; i + 200 < paras.size() && i < 4 * clusters; ++i) {
    docs.push_back({"s" + std::to_string(i), paras[i].text, static_cast<int>(clusters + i), "single"});
  }
  std::shuffle(docs.begin(), docs.end(), rng);
  const std::string corpus = work + "/corpus.jsonl";
  {
    std::ofstream out(corpus);
    for (const auto& d : docs) {
      std::string l = "{\"id\":";
      AppendJsonString(&l, d.id);
      l += ",\"text\":";
      AppendJsonString(&l, d.text);
      out << l << "}\n";
    }
  }
  std::map<std::string, const Doc*> by_id;
  for (const auto& d : docs) by_id[d.id] = &d;
  std::printf("corpus: %zu documents (%zu planted clusters of 3, %zu singletons)\n", docs.size(), clusters,
              docs.size() - 3 * clusters);

  for (const std::string preset : {"default", "aggressive"}) {
    DedupOptions o;
    (void)ApplyDedupPreset(preset, &o);
    const std::string out = work + "/out-" + preset;
    fs::remove_all(out);
    DedupSummary sum;
    Status s = Dedup({corpus}, out, o, &sum);
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
    // Predicted cluster of every document (unclustered ones: their own).
    std::map<std::string, std::string> pred;
    std::ifstream in(out + "/clusters.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      const size_t a = line.find("\"id\":\"") + 6;
      const size_t c = line.find("\"cluster\":") + 10;
      pred[line.substr(a, line.find('"', a) - a)] = line.substr(c, line.find(',', c) - c);
    }
    std::map<std::string, std::map<int, uint64_t>> cells;  // predicted -> truth -> count
    std::map<int, uint64_t> truth_size;
    for (const auto& d : docs) {
      const std::string p = pred.count(d.id) ? pred[d.id] : "own-" + d.id;
      ++cells[p][d.truth];
      ++truth_size[d.truth];
    }
    auto pairs = [](uint64_t n) { return n * (n - 1) / 2; };
    uint64_t tp = 0, predicted = 0, actual = 0;
    for (const auto& [p, m] : cells) {
      uint64_t n = 0;
      for (const auto& [t, k] : m) {
        tp += pairs(k);
        n += k;
      }
      predicted += pairs(n);
    }
    for (const auto& [t, n] : truth_size) actual += pairs(n);
    const double precision = predicted ? static_cast<double>(tp) / predicted : 1;
    const double recall = actual ? static_cast<double>(tp) / actual : 1;
    const double f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
    std::printf("\npreset %s (shingle %u, %u x %u bands, Jaccard >= %.2f): pairwise precision %.4f, recall %.4f, "
                "F1 %.4f; %.2f s (%llu clusters)\n",
                preset.c_str(), o.shingle_size, o.bands, o.rows, o.threshold, precision, recall, f1,
                sum.seconds_sketch + sum.seconds_cluster + sum.seconds_write,
                static_cast<unsigned long long>(sum.clusters));
    // Recall per change: a variant joined with its base.
    std::map<std::string, std::pair<int, int>> per_kind;
    for (const auto& d : docs) {
      if (d.kind == "base" || d.kind == "single") continue;
      const std::string base = "c" + std::to_string(d.truth) + "-base";
      const bool joined = pred.count(d.id) && pred.count(base) && pred[d.id] == pred[base];
      auto& k = per_kind[d.kind];
      k.first += joined;
      ++k.second;
    }
    for (const auto& [k, v] : per_kind) {
      std::printf("  %-16s %4d/%4d joined with their base (%.1f%%)\n", k.c_str(), v.first, v.second,
                  100.0 * v.first / v.second);
    }
    // S-curve: join rate of (base, variant) pairs by true Jaccard, against theory.
    DocumentSketcher sk([&] {
      SketchParams p;
      p.shingle_size = o.shingle_size;
      p.hash_seed = o.seed;
      return p;
    }());
    std::map<int, std::pair<int, int>> bins;
    for (const auto& d : docs) {
      if (d.kind == "base" || d.kind == "single") continue;
      const Doc* b = by_id["c" + std::to_string(d.truth) + "-base"];
      const double j = TrueJaccard(Shingles(sk, d.text, o.shingle_size, o.seed), Shingles(sk, b->text, o.shingle_size, o.seed));
      const int bin = std::min(9, static_cast<int>(j * 10));
      const bool joined = pred.count(d.id) && pred.count(b->id) && pred[d.id] == pred[b->id];
      bins[bin].first += joined;
      ++bins[bin].second;
    }
    std::printf("  true Jaccard   pairs  joined   theory: candidate x verified\n");
    for (const auto& [bin, v] : bins) {
      const double s = (bin + 0.5) / 10;
      std::printf("  [%.1f, %.1f)  %6d  %6.1f%%   %6.1f%% x %5.1f%% = %5.1f%%\n", bin / 10.0, (bin + 1) / 10.0, v.second,
                  100.0 * v.first / v.second, 100 * CandidateProbability(s, o.bands, o.rows),
                  100 * BinomialTail(s, o.num_permutations, o.threshold),
                  100 * CandidateProbability(s, o.bands, o.rows) * BinomialTail(s, o.num_permutations, o.threshold));
    }
  }
  return 0;
}
