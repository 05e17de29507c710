#include "doppel/filter.h"

#include <algorithm>
#include <unordered_map>

#include "align.h"
#include "doppel/shingle.h"

namespace doppel {

Filter::Filter(std::shared_ptr<Index> index, const FilterOptions& options)
    : index_(std::move(index)), options_(options), sketcher_(index_->params()) {}

Result<std::unique_ptr<Filter>> Filter::Open(const std::string& dir, const FilterOptions& options) {
  IndexOptions io;
  io.read_only = true;
  DOPPEL_ASSIGN_OR_RETURN(std::unique_ptr<Index> index, Index::Open(dir, io));
  return std::unique_ptr<Filter>(new Filter(std::shared_ptr<Index>(std::move(index)), options));
}

std::unique_ptr<Filter> Filter::FromIndex(std::shared_ptr<Index> index,
                                          const FilterOptions& options) {
  return std::unique_ptr<Filter>(new Filter(std::move(index), options));
}

namespace {

TextRange RangeOf(const Tokens& t, uint32_t begin, uint32_t end) {
  return TextRange{t[begin].begin, t[end - 1].end, t[begin].line, t[end - 1].line};
}

std::string Marker(const std::string& tmpl, const std::string& source) {
  std::string m = tmpl;
  const size_t at = m.find("{source}");
  if (at != std::string::npos) m.replace(at, 8, source);
  return m;
}

struct Candidate {
  uint32_t id;
  uint32_t hits;       // shared non-boilerplate fingerprints
  uint32_t band_hits;  // shared LSH bands
};

}  // namespace

Result<Verdict> Filter::Check(std::string_view text, Kind kind) const {
  const Thresholds& th = options_.text;
  Verdict v;
  v.output.assign(text);
  Tokens qt;
  DOPPEL_RETURN_IF_ERROR(sketcher_.TokenizerFor(kind).Tokenize(text, &qt));
  std::vector<uint64_t> qh;
  TokenHashes(qt, &qh);
  v.query_tokens = static_cast<uint32_t>(qt.size());
  if (qt.empty()) {
    v.reason = "no words to compare";
    return v;
  }

  // 1. Candidates through fingerprints (containment) and LSH bands (whole-answer similarity).
  std::vector<Fingerprint> fps;
  sketcher_.FingerprintsOf(qh, &fps);
  std::vector<uint64_t> grams;
  grams.reserve(fps.size());
  for (const auto& f : fps) grams.push_back(f.hash);
  std::sort(grams.begin(), grams.end());
  grams.erase(std::unique(grams.begin(), grams.end()), grams.end());
  std::vector<Posting> postings;
  DOPPEL_RETURN_IF_ERROR(index_->GetGramPostings(kind, grams, &postings));
  std::unordered_map<uint32_t, Candidate> cands;
  for (const auto& p : postings) {
    if (p.saturated || p.ids.size() > options_.max_document_frequency) continue;
    for (uint32_t id : p.ids) {
      auto& c = cands.try_emplace(id, Candidate{id, 0, 0}).first->second;
      ++c.hits;
    }
  }
  Signature sig;
  sketcher_.SignatureOf(qh, &sig);
  std::vector<BandKey> bands;
  BandKeys(sig, index_->params().bands, index_->params().rows, index_->params().hash_seed, &bands);
  DOPPEL_RETURN_IF_ERROR(index_->GetBandPostings(bands, &postings));
  for (const auto& p : postings) {
    if (p.saturated || p.ids.size() > options_.max_document_frequency) continue;
    for (uint32_t id : p.ids) {
      auto& c = cands.try_emplace(id, Candidate{id, 0, 0}).first->second;
      ++c.band_hits;
    }
  }
  const uint32_t min_hits =
      std::min<uint32_t>(options_.min_candidate_hits, static_cast<uint32_t>(grams.size()));
  std::vector<Candidate> ranked;
  for (const auto& [id, c] : cands) {
    if ((c.hits >= min_hits || c.band_hits > 0) && !index_->IsDeleted(id)) ranked.push_back(c);
  }
  std::sort(ranked.begin(), ranked.end(), [](const Candidate& a, const Candidate& b) {
    const uint32_t sa = a.hits + 2 * a.band_hits, sb = b.hits + 2 * b.band_hits;
    return sa != sb ? sa > sb : a.id < b.id;
  });
  if (ranked.size() > options_.max_candidates) ranked.resize(options_.max_candidates);

  // 2. Align each candidate; collect spans.
  AlignOptions ao;
  ao.seed_size = options_.seed_size;
  ao.max_gap = options_.max_gap;
  ao.max_drift = options_.max_diagonal_drift;
  ao.min_matched = th.min_span_tokens;
  std::vector<Span> all;
  std::vector<uint32_t> all_q_begin, all_q_end;
  Tokens st;
  std::vector<uint64_t> sh;
  std::vector<AlignedSpan> aligned;
  for (const auto& c : ranked) {
    auto info = index_->GetDocument(c.id);
    if (!info.ok()) {
      if (info.status().code() == Status::Code::kNotFound) continue;  // removed meanwhile
      return info.status();
    }
    auto content = index_->GetContent(c.id);
    if (!content.ok()) {
      if (content.status().code() == Status::Code::kNotFound) continue;
      return content.status();
    }
    if (c.band_hits > 0) {
      auto ssig = index_->GetSignature(c.id);
      if (ssig.ok()) v.jaccard = std::max(v.jaccard, EstimateJaccard(sig, *ssig));
    }
    DOPPEL_RETURN_IF_ERROR(sketcher_.TokenizerFor(info->kind)
                               .Tokenize(*content, &st)
                               .WithContext("stored document " + info->name));
    TokenHashes(st, &sh);
    Align(qh, sh, ao, &aligned);
    for (const auto& a : aligned) {
      Span s;
      s.query = RangeOf(qt, a.q_begin, a.q_end);
      s.source = RangeOf(st, a.s_begin, a.s_end);
      s.source_name = info->name;
      s.source_id = c.id;
      s.source_metadata = info->metadata;
      s.matched_tokens = a.matched;
      s.query_tokens = a.q_end - a.q_begin;
      s.score = static_cast<double>(a.matched) / s.query_tokens;
      all.push_back(std::move(s));
      all_q_begin.push_back(a.q_begin);
      all_q_end.push_back(a.q_end);
    }
  }

  // 3. Keep the best source for each part of the answer: spans by matched tokens, a span is
  // kept when at least half of its query tokens are not yet covered by kept spans.
  std::vector<size_t> order(all.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return all[a].matched_tokens != all[b].matched_tokens
               ? all[a].matched_tokens > all[b].matched_tokens
               : all[a].source_id < all[b].source_id;
  });
  std::vector<bool> covered(qt.size(), false);
  std::unordered_map<uint32_t, uint32_t> per_source;  // source id → matched tokens kept
  for (size_t i : order) {
    uint32_t fresh = 0;
    for (uint32_t t = all_q_begin[i]; t < all_q_end[i]; ++t) fresh += !covered[t];
    if (2 * fresh < all_q_end[i] - all_q_begin[i]) continue;
    for (uint32_t t = all_q_begin[i]; t < all_q_end[i]; ++t) covered[t] = true;
    per_source[all[i].source_id] += all[i].matched_tokens;
    v.spans.push_back(std::move(all[i]));
  }
  std::sort(v.spans.begin(), v.spans.end(), [](const Span& a, const Span& b) {
    return a.query.start != b.query.start ? a.query.start < b.query.start
                                          : a.source_id < b.source_id;
  });
  const uint32_t covered_tokens =
      static_cast<uint32_t>(std::count(covered.begin(), covered.end(), true));
  v.score = static_cast<double>(covered_tokens) / qt.size();

  // 4. The action.
  uint32_t best_source = 0;
  for (const auto& [id, m] : per_source) best_source = std::max(best_source, m);
  if (v.spans.empty()) {
    v.action = Action::kAllow;
    v.reason = ranked.empty() ? "no similar protected document"
                              : "similar documents share no passage of " +
                                    std::to_string(th.min_span_tokens) + " tokens";
  } else if (v.score >= th.block_containment) {
    v.action = Action::kBlock;
    v.reason = std::to_string(static_cast<int>(v.score * 100 + 0.5)) +
               "% of the answer reproduces protected content";
  } else if (best_source >= th.redact_tokens || v.score >= th.redact_containment) {
    v.action = Action::kRedact;
    v.reason = std::to_string(v.spans.size()) + " passage(s) reproduce protected content";
  } else {
    v.action = Action::kAnnotate;
    v.reason = "short passages resemble protected content";
  }

  if (v.action == Action::kBlock) {
    v.output = options_.block_message;
  } else if (v.action == Action::kRedact) {
    // Replace spans back to front so earlier offsets stay valid; overlapping spans merge.
    std::string out(text);
    uint32_t limit = static_cast<uint32_t>(text.size());
    for (auto it = v.spans.rbegin(); it != v.spans.rend(); ++it) {
      const uint32_t b = it->query.start;
      const uint32_t e = std::min(it->query.end, limit);
      if (b >= e) continue;
      out.replace(b, e - b, Marker(options_.redact_marker, it->source_name));
      limit = b;
    }
    v.output = std::move(out);
  }
  return v;
}

}  // namespace doppel
