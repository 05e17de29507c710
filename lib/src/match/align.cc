#include "align.h"

#include <xxhash.h>

#include <algorithm>
#include <cmath>

namespace doppel {
namespace {

struct Seed {
  uint32_t q, s;
};

// A k-gram occurring q times in the query and s > 1 times in the source makes q * s seeds, of
// which at most min(q, s) lie on true diagonals; beyond this many it carries no position
// information and is skipped (see Align).
constexpr uint64_t kMaxPairsPerGram = 32;
constexpr size_t kMaxSeeds = 1 << 20;
// How far back the chaining DP looks, in seeds (minimap2 uses 50; prose has few repeats).
constexpr size_t kLookback = 64;
constexpr uint64_t kEmpty = 0;

uint64_t SlotHash(uint64_t gram) { return gram * 0x9E3779B97F4A7C15ull; }

}  // namespace

namespace {
inline uint64_t SeedGram(const uint64_t* t, uint32_t k) {
  const uint64_t h = XXH3_64bits(t, k * sizeof(uint64_t));
  return h == kEmpty ? 1 : h;  // kEmpty marks a free slot
}
}  // namespace

void SeedGrams(const std::vector<uint64_t>& t, uint32_t k, std::vector<uint64_t>* out) {
  out->clear();
  if (k == 0 || t.size() < k) return;
  out->resize(t.size() - k + 1);
  for (size_t i = 0; i + k <= t.size(); ++i) (*out)[i] = SeedGram(t.data() + i, k);
}

QueryGrams::QueryGrams(const std::vector<uint64_t>& query, uint32_t k)
    : k_(std::max<uint32_t>(1, k)) {
  SeedGrams(query, k_, &grams_);
  size_t slots = 16;
  while (slots < 2 * grams_.size()) slots *= 2;
  mask_ = slots - 1;
  keys_.assign(slots, kEmpty);
  last_.assign(slots, UINT32_MAX);
  count_.assign(slots, 0);
  next_.assign(grams_.size(), UINT32_MAX);
  for (uint32_t i = 0; i < grams_.size(); ++i) {
    uint64_t slot = SlotHash(grams_[i]) & mask_;
    while (keys_[slot] != kEmpty && keys_[slot] != grams_[i]) slot = (slot + 1) & mask_;
    keys_[slot] = grams_[i];
    next_[i] = last_[slot];
    last_[slot] = i;
    ++count_[slot];
  }
}

uint32_t QueryGrams::Find(uint64_t gram) const {
  uint64_t slot = SlotHash(gram) & mask_;
  while (keys_[slot] != kEmpty) {
    if (keys_[slot] == gram) return static_cast<uint32_t>(slot);
    slot = (slot + 1) & mask_;
  }
  return UINT32_MAX;
}

void Align(const std::vector<uint64_t>& query, const std::vector<uint64_t>& source,
           const AlignOptions& o, std::vector<AlignedSpan>* out) {
  const QueryGrams q(query, o.seed_size);
  Align(q, query, source, nullptr, o, out);
}

void Align(const QueryGrams& q, const std::vector<uint64_t>& query, const std::vector<uint64_t>& source,
           const std::vector<uint64_t>* source_grams, const AlignOptions& o, std::vector<AlignedSpan>* out) {
  out->clear();
  const uint32_t k = q.k_;
  if (q.grams_.empty() || source.size() < k) return;
  const size_t num_grams = source.size() - k + 1;
  // Source occurrences of each query gram. A gram that occurs in the query q times and in the
  // source s > 1 times seeds q × s pairs of which at most min(q, s) lie on true diagonals (a
  // common code shape, a refrain): it is skipped when that exceeds kMaxPairsPerGram, whichever
  // side repeats it, and its neighbours carry the chain. A gram unique in the source seeds every
  // query occurrence (an answer repeating a passage is still a copy).
  thread_local std::vector<uint32_t> slot_of;      // per source position: its query slot
  thread_local std::vector<uint32_t> in_source;    // per slot: source occurrences
  // The source positions to look at: all, or with anchors only those a kept seed can have
  // (within twice anchor_reach of an anchor's source position), as merged ranges.
  std::vector<std::pair<uint32_t, uint32_t>> ranges;
  if (o.anchors != nullptr) {
    const int64_t r = 2 * static_cast<int64_t>(o.anchor_reach);
    for (const Anchor& a : *o.anchors) {
      ranges.emplace_back(static_cast<uint32_t>(std::max<int64_t>(0, a.s - r)),
                          static_cast<uint32_t>(std::min<int64_t>(num_grams, a.s + r + 1)));
    }
    std::sort(ranges.begin(), ranges.end());
    size_t w = 0;
    for (size_t i = 0; i < ranges.size(); ++i) {
      if (w > 0 && ranges[i].first <= ranges[w - 1].second) {
        ranges[w - 1].second = std::max(ranges[w - 1].second, ranges[i].second);
      } else {
        ranges[w++] = ranges[i];
      }
    }
    ranges.resize(w);
  } else {
    ranges.emplace_back(0, static_cast<uint32_t>(num_grams));
  }
  slot_of.resize(num_grams);
  in_source.assign(q.keys_.size(), 0);
  for (const auto& [b, e] : ranges) {
    for (uint32_t j = b; j < e; ++j) {
      const uint32_t slot = q.Find(source_grams != nullptr ? (*source_grams)[j] : SeedGram(source.data() + j, k));
      slot_of[j] = slot;
      if (slot != UINT32_MAX) ++in_source[slot];
    }
  }
  std::vector<Seed> seeds;
  for (const auto& [b, e] : ranges) {
    for (uint32_t j = b; j < e && seeds.size() < kMaxSeeds; ++j) {
      const uint32_t slot = slot_of[j];
      if (slot == UINT32_MAX) continue;
      const uint32_t n = in_source[slot];
      if (n > 1 && uint64_t{q.count_[slot]} * n > kMaxPairsPerGram) continue;
      for (uint32_t i = q.last_[slot]; i != UINT32_MAX; i = q.next_[i]) seeds.push_back({i, j});
    }
  }
  if (o.anchors != nullptr) {
    const std::vector<Anchor>& an = *o.anchors;
    const int64_t reach = o.anchor_reach;
    auto near_anchor = [&](const Seed& sd) {
      auto it = std::lower_bound(an.begin(), an.end(), static_cast<int64_t>(sd.q) - reach,
                                 [](const Anchor& a, int64_t v) { return static_cast<int64_t>(a.q) < v; });
      const int64_t diag = static_cast<int64_t>(sd.s) - sd.q;
      for (; it != an.end() && static_cast<int64_t>(it->q) <= static_cast<int64_t>(sd.q) + reach; ++it) {
        if (std::abs(static_cast<int64_t>(it->s) - static_cast<int64_t>(it->q) - diag) <= reach) return true;
      }
      return false;
    };
    seeds.erase(std::remove_if(seeds.begin(), seeds.end(), [&](const Seed& sd) { return !near_anchor(sd); }),
                seeds.end());
  }
  if (seeds.empty()) return;
  std::sort(seeds.begin(), seeds.end(),
            [](const Seed& a, const Seed& b) { return a.q != b.q ? a.q < b.q : a.s < b.s; });

  // Chaining DP. f[b] = best score of a chain ending in seed b; a step from a to b gains the
  // query tokens b adds (at most k) minus a penalty for drift (an indel) and for the gap.
  const size_t n = seeds.size();
  std::vector<float> f(n);
  std::vector<int32_t> pred(n, -1);
  const int64_t reach = static_cast<int64_t>(o.max_gap) + k;
  for (size_t b = 0; b < n; ++b) {
    f[b] = static_cast<float>(k);
    const int64_t qb = seeds[b].q, sb = seeds[b].s;
    const size_t stop = b > kLookback ? b - kLookback : 0;
    for (size_t a = b; a-- > stop;) {
      const int64_t dq = qb - seeds[a].q;
      if (dq > reach) break;
      if (dq <= 0) continue;
      const int64_t ds = sb - seeds[a].s;
      if (ds <= 0 || ds > reach) continue;
      const int64_t drift = std::abs(ds - dq);
      if (drift > o.max_drift) continue;
      const float gain = static_cast<float>(std::min<int64_t>({dq, ds, k})) -
                         0.25f * static_cast<float>(drift) -
                         0.05f * static_cast<float>(std::max<int64_t>(0, dq - k));
      if (f[a] + gain > f[b]) {
        f[b] = f[a] + gain;
        pred[b] = static_cast<int32_t>(a);
      }
    }
  }

  // Extract chains, best first; a chain stops where it reaches a seed already used.
  std::vector<uint32_t> order(n);
  for (uint32_t i = 0; i < n; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return f[a] > f[b]; });
  std::vector<bool> used(n, false);
  std::vector<uint32_t> chain;
  for (uint32_t end : order) {
    if (used[end]) continue;
    chain.clear();
    for (int32_t c = static_cast<int32_t>(end); c >= 0 && !used[c]; c = pred[c]) {
      used[c] = true;
      chain.push_back(static_cast<uint32_t>(c));
    }
    std::reverse(chain.begin(), chain.end());
    AlignedSpan sp{seeds[chain.front()].q, seeds[chain.back()].q + k, seeds[chain.front()].s,
                   seeds[chain.back()].s + k, 0, {}};
    // Matched query tokens: the union of [q, q + k) over the chain's seeds (q ascending).
    uint32_t covered_to = 0;
    for (uint32_t c : chain) {
      const uint32_t b = std::max(seeds[c].q, covered_to);
      const uint32_t e = seeds[c].q + k;
      if (e > b) sp.matched += e - b;
      for (uint32_t q = b; q < e; ++q) sp.pairs.emplace_back(q, seeds[c].s + (q - seeds[c].q));
      covered_to = std::max(covered_to, e);
    }
    if (sp.s_end < sp.s_begin) std::swap(sp.s_begin, sp.s_end);
    // Extend both ends while the tokens agree: recovers words cut off by k-gram edges.
    // (Pairs found going backwards are collected, then put in front at once: inserting each at
    // the front made long extensions quadratic.)
    std::vector<std::pair<uint32_t, uint32_t>> before;
    while (sp.q_begin > 0 && sp.s_begin > 0 && query[sp.q_begin - 1] == source[sp.s_begin - 1]) {
      --sp.q_begin;
      --sp.s_begin;
      ++sp.matched;
      before.emplace_back(sp.q_begin, sp.s_begin);
    }
    if (!before.empty()) {
      std::reverse(before.begin(), before.end());
      sp.pairs.insert(sp.pairs.begin(), before.begin(), before.end());
    }
    while (sp.q_end < query.size() && sp.s_end < source.size() &&
           query[sp.q_end] == source[sp.s_end]) {
      sp.pairs.emplace_back(sp.q_end, sp.s_end);
      ++sp.q_end;
      ++sp.s_end;
      ++sp.matched;
    }
    if (sp.matched >= o.min_matched) out->push_back(sp);
  }
}

}  // namespace doppel
