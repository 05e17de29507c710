#include "candidates.h"

namespace doppel {

Status SpellingFrequencies::RareItems(const AlignedSpan& a, const std::vector<char>& skip, const Tokens& q,
                                     const std::vector<uint32_t>& q_bytes, const Tokens& s,
                                     const std::vector<AnswerComment>& comments, uint32_t source_id,
                                     const FilterOptions& o, uint32_t* items) {
  static const uint64_t kId = IdentifierTokenHash(), kStr = StringTokenHash();
  std::vector<std::pair<uint64_t, uint32_t>> keys;  // (spelling key, items it is worth)
  for (size_t i = 0; i < a.pairs.size(); ++i) {
    if (!skip.empty() && skip[i]) continue;
    const auto [qi, si] = a.pairs[i];
    const Token &qt = q[qi], &st = s[si];
    if (qt.name == 0 || qt.name != st.name || qt.hash != st.hash) continue;
    const uint32_t bytes = q_bytes[qi];
    if (qt.hash == kId) {
      keys.emplace_back(sketcher_.SpellingKey(qt.name, qt.hash), 1);
    } else if (qt.hash == kStr && bytes >= o.code_literal_bytes) {
      keys.emplace_back(sketcher_.SpellingKey(qt.name, qt.hash), std::max<uint32_t>(1, bytes / kStringBytesPerItem));
    }
  }
  // A spelling repeated in the span counts once, at its longest (a string's spelling drops
  // the indentation and escapes that make its bytes differ).
  std::sort(keys.begin(), keys.end(), [](const auto& x, const auto& y) {
    return x.first != y.first ? x.first < y.first : x.second > y.second;
  });
  keys.erase(std::unique(keys.begin(), keys.end(), [](const auto& x, const auto& y) { return x.first == y.first; }),
             keys.end());
  std::vector<uint64_t> unknown;
  for (const auto& [k, worth] : keys) {
    if (df_.try_emplace(k, 0).second) unknown.push_back(k);
  }
  if (!unknown.empty()) {
    std::vector<Posting> postings;
    DOPPEL_RETURN_IF_ERROR(index_.GetGramPostings(Kind::kCode, unknown, &postings));
    Remember(unknown, postings);
  }
  *items = 0;
  for (const auto& [k, worth] : keys) {
    const uint32_t df = df_.at(k);
    if (df > 0 && df <= o.code_name_df) *items += worth;
  }
  std::vector<uint64_t> counted;  // a comment repeated in the span counts once
  for (const AnswerComment& c : comments) {
    if (c.gap.before < a.q_begin || c.gap.before >= a.q_end) continue;
    const Posting& p = *c.posting;
    if (p.saturated || p.df() > o.code_name_df) continue;
    if (!std::binary_search(p.ids.begin(), p.ids.end(), source_id)) continue;
    if (std::find(counted.begin(), counted.end(), c.gap.hash) != counted.end()) continue;
    counted.push_back(c.gap.hash);
    *items += std::max<uint32_t>(1, c.gap.words / kCommentWordsPerItem);
  }
  return Status::OK();
}

void SpellingFrequencies::Remember(const std::vector<uint64_t>& keys, const std::vector<Posting>& postings) {
  for (size_t i = 0; i < keys.size(); ++i) {
    df_[keys[i]] = postings[i].saturated ? UINT32_MAX : postings[i].df();
  }
}

Status ReadRareSpellings(const Index& index, const DocumentSketcher& sketcher, const Tokens& tokens,
                         const FilterOptions& o, SpellingFrequencies* df, std::vector<Posting>* out) {
  std::vector<uint64_t> keys;
  sketcher.SpellingKeys(tokens, &keys);
  DOPPEL_RETURN_IF_ERROR(index.GetGramPostings(Kind::kCode, keys, out));
  df->Remember(keys, *out);
  for (auto& p : *out) {
    if (p.saturated || p.df() > o.code_name_df) p.ids.clear();
  }
  return Status::OK();
}

Status RankTiesBySpellings(const Index& index, const DocumentSketcher& sketcher, const Tokens& tokens,
                           const FilterOptions& o, size_t keep, std::vector<Candidate>* ranked,
                           std::vector<Posting>* spellings, bool read, SpellingFrequencies* df) {
  std::vector<Candidate>& r = *ranked;
  if (keep == 0 || r.size() <= keep) return Status::OK();
  const uint32_t cut = CandidateScore(r[keep - 1]);
  if (CandidateScore(r[0]) != cut) return Status::OK();
  size_t end = keep;  // the tied ones left out, moved next to the kept ones
  for (size_t i = keep; i < r.size(); ++i) {
    if (CandidateScore(r[i]) == cut) std::swap(r[end++], r[i]);
  }
  if (end == keep) return Status::OK();
  if (!read) DOPPEL_RETURN_IF_ERROR(ReadRareSpellings(index, sketcher, tokens, o, df, spellings));
  // By id, for the rare postings' few ids to find them; then by rare spellings held.
  std::vector<std::pair<Candidate, uint32_t>> tied;
  for (size_t i = 0; i < end; ++i) tied.push_back({r[i], 0});
  auto by_id = [](const auto& a, const auto& b) { return a.first.id < b.first.id; };
  std::sort(tied.begin(), tied.end(), by_id);
  for (const Posting& p : *spellings) {
    for (uint32_t id : p.ids) {
      const auto it = std::lower_bound(tied.begin(), tied.end(), std::make_pair(Candidate{id, 0, 0}, 0u), by_id);
      if (it != tied.end() && it->first.id == id) ++it->second;
    }
  }
  std::stable_sort(tied.begin(), tied.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  for (size_t i = 0; i < end; ++i) r[i] = tied[i].first;
  return Status::OK();
}

}  // namespace doppel
