// The text quality suite: recall of edited copies and false flags on new text, at the defaults.
//   quality_text [WORK_DIR=/tmp/doppel-quality] [PER_CLASS=300]
//   (QT_POLICY='{"key": value, ...}': a policy object of other settings; the defaults when unset)
//
// Corpus: real prose on this machine (bench/corpus.h: Perl POD and /usr/share/doc READMEs).
// Files are split by a hash of their path: 85% are protected (indexed, one document per file),
// 15% are held out and supply new text of the same genre. Held-out paragraphs that also occur
// in a protected file (Debian ships many READMEs twice) are dropped, so negatives are new.
// Queries are passages of 60–250 words of a protected file: verbatim; with 2/5/10/20% of words
// inserted, deleted or substituted; sentences shuffled; truncated to 50–90%; and 60–150-word
// copies embedded between new paragraphs. A query counts as caught when it is redacted or
// blocked with its true source among the spans; an embedded copy also needs the spans naming
// that source to cover the true byte range with IoU ≥ 0.8.
#include <xxhash.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <unordered_set>

#include "corpus.h"
#include "doppel/filter.h"
#include "doppel/index.h"
#include "doppel/policy.h"

using namespace doppel;
namespace fs = std::filesystem;

namespace {

struct SourceDoc {
  std::string name;
  std::vector<std::string> words;
  std::string text;
};

std::string Edit(const std::vector<std::string>& words, double rate, std::mt19937_64& rng,
                 const std::vector<std::string>& vocab) {
  std::vector<std::string> out;
  std::uniform_real_distribution<double> u(0, 1);
  for (const auto& w : words) {
    if (u(rng) < rate) {
      switch (rng() % 3) {
        case 0:  // insert a word before
          out.push_back(vocab[rng() % vocab.size()]);
          out.push_back(w);
          break;
        case 1:  // delete
          break;
        default:  // substitute
          out.push_back(vocab[rng() % vocab.size()]);
      }
    } else {
      out.push_back(w);
    }
  }
  return bench::JoinWords(out, 0, out.size());
}

std::vector<std::string> Sentences(const std::string& text) {
  std::vector<std::string> s;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(". ", pos);
    if (end == std::string::npos) end = text.size();
    else end += 1;
    s.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return s;
}

struct Tally {
  size_t n = 0, caught = 0, iou_ok = 0, blocked = 0;
  double score = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const std::string work = argc > 1 ? argv[1] : "/tmp/doppel-quality";
  const size_t per_class = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 300;
  const auto paragraphs = bench::LoadRealProse(12, 400000);
  std::map<std::string, std::vector<const bench::Paragraph*>> by_file;
  for (const auto& p : paragraphs) by_file[p.source].push_back(&p);

  // Lower-cased 8-word runs, to tell new text from copies independently of doppel itself.
  auto runs8 = [](const std::string& text, auto&& fn) {
    auto w = bench::SplitWords(text);
    for (auto& x : w) for (auto& c : x) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (size_t i = 0; i + 8 <= w.size(); ++i) {
      const std::string run = bench::JoinWords(w, i, i + 8);
      if (fn(XXH3_64bits(run.data(), run.size()))) return true;
    }
    return false;
  };
  std::vector<SourceDoc> protected_docs;
  std::vector<std::string> held_out;
  std::unordered_set<uint64_t> protected_paras, protected_runs;
  for (const auto& [file, paras] : by_file) {
    if (XXH3_64bits(file.data(), file.size()) % 100 < 85) {
      SourceDoc d{file, {}, {}};
      for (const auto* p : paras) {
        // A paragraph already in another protected file (Debian ships some READMEs and man
        // pages twice) is kept only in the first, so every passage has one true source.
        if (!protected_paras.insert(XXH3_64bits(p->text.data(), p->text.size())).second) continue;
        d.text += p->text + "\n\n";
        runs8(p->text, [&](uint64_t h) { protected_runs.insert(h); return false; });
      }
      d.words = bench::SplitWords(d.text);
      if (!d.words.empty()) protected_docs.push_back(std::move(d));
    }
  }
  size_t copied_paragraphs = 0;
  for (const auto& [file, paras] : by_file) {
    if (XXH3_64bits(file.data(), file.size()) % 100 >= 85) {
      for (const auto* p : paras) {
        // New text shares no 8-word run with the protected files.
        if (runs8(p->text, [&](uint64_t h) { return protected_runs.count(h) > 0; })) {
          ++copied_paragraphs;
          continue;
        }
        held_out.push_back(p->text);
      }
    }
  }
  size_t protected_bytes = 0;
  for (const auto& d : protected_docs) protected_bytes += d.text.size();
  std::printf("corpus: %zu protected files (%.1f MB), %zu held-out paragraphs of new text "
              "(%zu more held-out paragraphs share an 8-word run with protected files and are not used)\n",
              protected_docs.size(), protected_bytes / 1e6, held_out.size(), copied_paragraphs);

  // Index the protected files.
  fs::remove_all(work);
  std::vector<Document> docs;
  for (const auto& d : protected_docs) {
    docs.emplace_back();
    docs.back().name = d.name;
    docs.back().text = d.text;
  }
  auto built = bench::BuildBenchIndex(work + "/index", std::move(docs));
  if (!built.ok()) {
    std::fprintf(stderr, "%s\n", built.status().ToString().c_str());
    return 2;
  }
  std::shared_ptr<Index> shared = *built;
  FilterOptions options;
  if (const char* policy = std::getenv("QT_POLICY"); policy != nullptr) {
    if (const Status st = ApplyPolicyJson(policy, "QT_POLICY", &options); !st.ok()) {
      std::fprintf(stderr, "%s\n", st.ToString().c_str());
      return 2;
    }
  }
  auto filter = Filter::FromIndex(shared, options);

  std::vector<std::string> vocab;
  for (size_t i = 0; i < protected_docs.size(); i += 7) {
    for (size_t j = 0; j < protected_docs[i].words.size(); j += 13) vocab.push_back(protected_docs[i].words[j]);
  }
  std::mt19937_64 rng(20261129);
  std::vector<const SourceDoc*> eligible;
  for (const auto& d : protected_docs) if (d.words.size() >= 260) eligible.push_back(&d);

  const std::vector<std::string> classes = {"verbatim", "edit 2%", "edit 5%", "edit 10%", "edit 20%",
                                            "sentence shuffle", "truncated 50-90%", "embedded 60-150"};
  std::map<std::string, Tally> tally;
  double total_us = 0;
  size_t checks = 0;
  auto check = [&](const std::string& text) {
    const auto a = std::chrono::steady_clock::now();
    auto v = filter->Check(text);
    total_us += std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - a).count();
    ++checks;
    if (!v.ok()) {
      std::fprintf(stderr, "check failed: %s\n", v.status().ToString().c_str());
      std::exit(1);
    }
    return std::move(v).value();
  };
  std::uniform_real_distribution<double> u(0, 1);
  for (const auto& cls : classes) {
    Tally& t = tally[cls];
    while (t.n < per_class) {
      const SourceDoc& d = *eligible[rng() % eligible.size()];
      const size_t len = cls == "embedded 60-150" ? 60 + rng() % 91 : 60 + rng() % 191;
      const size_t start = rng() % (d.words.size() - len);
      const std::string passage = bench::JoinWords(d.words, start, start + len);
      std::string query;
      uint32_t true_b = 0, true_e = 0;
      if (cls == "verbatim") query = passage;
      else if (cls == "edit 2%") query = Edit(bench::SplitWords(passage), 0.02, rng, vocab);
      else if (cls == "edit 5%") query = Edit(bench::SplitWords(passage), 0.05, rng, vocab);
      else if (cls == "edit 10%") query = Edit(bench::SplitWords(passage), 0.10, rng, vocab);
      else if (cls == "edit 20%") query = Edit(bench::SplitWords(passage), 0.20, rng, vocab);
      else if (cls == "sentence shuffle") {
        auto s = Sentences(passage);
        if (s.size() < 3) continue;
        std::shuffle(s.begin(), s.end(), rng);
        for (const auto& x : s) query += x + " ";
      } else if (cls == "truncated 50-90%") {
        const auto w = bench::SplitWords(passage);
        const size_t keep = static_cast<size_t>(w.size() * (0.5 + 0.4 * u(rng)));
        query = bench::JoinWords(w, 0, keep);
      } else {
        const std::string before = held_out[rng() % held_out.size()];
        const std::string after = held_out[rng() % held_out.size()];
        query = before + "\n\n";
        true_b = static_cast<uint32_t>(query.size());
        query += passage;
        true_e = static_cast<uint32_t>(query.size());
        query += "\n\n" + after;
      }
      const Verdict v = check(query);
      ++t.n;
      const bool flagged = v.action == Action::kRedact || v.action == Action::kBlock;
      uint32_t b = UINT32_MAX, e = 0;
      bool named = false;
      for (const auto& s : v.spans) {
        if (s.source_name != d.name) continue;
        named = true;
        b = std::min(b, s.query.start);
        e = std::max(e, s.query.end);
      }
      t.caught += flagged && named;
      t.blocked += v.action == Action::kBlock;
      t.score += v.score;
      if (true_e > 0 && named) {
        const double inter = std::max<int64_t>(0, static_cast<int64_t>(std::min(e, true_e)) - std::max(b, true_b));
        const double uni = std::max(e, true_e) - std::min(b, true_b);
        t.iou_ok += flagged && inter / uni >= 0.8;
      }
    }
  }
  // Negatives: held-out passages of 60–250 words (consecutive held-out paragraphs joined).
  Tally neg;
  size_t neg_annotated = 0;
  std::vector<std::string> false_examples;
  for (size_t i = 0; neg.n < 4 * per_class && i < 100000; ++i) {
    const size_t p0 = rng() % held_out.size();
    std::string text;
    for (size_t j = p0; j < held_out.size() && bench::SplitWords(text).size() < 60; ++j) text += held_out[j] + "\n\n";
    auto w = bench::SplitWords(text);
    if (w.size() < 60) continue;
    const size_t len = std::min<size_t>(w.size(), 60 + rng() % 191);
    text = bench::JoinWords(w, 0, len);
    const Verdict v = check(text);
    ++neg.n;
    const bool flagged = v.action == Action::kRedact || v.action == Action::kBlock;
    neg.caught += flagged;
    neg_annotated += v.action == Action::kAnnotate;
    if (flagged && false_examples.size() < 5) {
      false_examples.push_back(v.spans.empty() ? "" : v.spans[0].source_name + ": " +
                               text.substr(v.spans[0].query.start, std::min<uint32_t>(120, v.spans[0].query.end - v.spans[0].query.start)));
    }
  }

  std::printf("\n| class | queries | recall (redact or block, right source) | blocked | mean score | IoU >= 0.8 |\n");
  std::printf("|---|---:|---:|---:|---:|---:|\n");
  for (const auto& cls : classes) {
    const Tally& t = tally[cls];
    std::printf("| %s | %zu | %.1f%% | %.1f%% | %.2f | %s |\n", cls.c_str(), t.n, 100.0 * t.caught / t.n,
                100.0 * t.blocked / t.n, t.score / t.n,
                cls == "embedded 60-150" ? (std::to_string(100.0 * t.iou_ok / t.n).substr(0, 5) + "%").c_str() : "");
  }
  std::printf("| new text (negatives) | %zu | false flags %.2f%% (annotate %.1f%%) | | | |\n", neg.n,
              100.0 * neg.caught / neg.n, 100.0 * neg_annotated / neg.n);
  std::printf("\nmean Filter::Check time %.0f us over %zu checks\n", total_us / checks, checks);
  for (const auto& e : false_examples) std::printf("false flag: %s\n", e.c_str());
  return 0;
}
