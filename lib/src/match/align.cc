#include "align.h"

#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cmath>

namespace doppel {
namespace {

struct Seed {
  uint32_t q, s;
  // Orders seeds by query position, then source position, in one comparison.
  uint64_t Key() const { return uint64_t{q} << 32 | s; }
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

// The chaining DP's best step to seed b (query position qb, source position sb) from the seeds
// [from, to), as (score << 32) | (a + 1), or `best` when none beats it: the largest key is the
// best score, of equal scores the latest seed. Written without branches, and built with a cost
// model that lets the compiler vectorize it (lib/CMakeLists.txt): most steps looked at are
// invalid (their source position out of reach: the same query shape met elsewhere in the
// source), which as branches the processor could not predict.
constexpr int64_t kAlone = 0xFFFFFFFF;  // the low half of a key that names no seed
int64_t BestStep(const Seed* seeds, const int32_t* f, size_t from, size_t to, int32_t qb, int32_t sb, int32_t k,
                 int32_t reach, int32_t max_drift, int64_t best) {
  for (size_t a = from; a < to; ++a) {
    // dq is within [0, reach] (the window); ds is clamped to [0, reach + 1], which keeps every
    // step valid or not as it was and the arithmetic far from overflowing.
    const int32_t dq = qb - static_cast<int32_t>(seeds[a].q);
    const int32_t ds = std::clamp(sb - static_cast<int32_t>(seeds[a].s), 0, reach + 1);
    const int32_t drift = std::abs(ds - dq);
    const int32_t gain = 20 * std::min(std::min(dq, ds), k) - 5 * drift - std::max(dq - k, 0);
    const int64_t key = (static_cast<int64_t>(f[a] + gain) << 32) + static_cast<int64_t>(a) + 1;
    const int64_t valid = -static_cast<int64_t>((dq > 0) & (ds > 0) & (ds <= reach) & (drift <= max_drift));
    best = std::max(best, (key & valid) | (INT64_MIN & ~valid));
  }
  return best;
}

}  // namespace

namespace {
inline uint64_t NotEmpty(uint64_t h) { return h == kEmpty ? 1 : h; }  // kEmpty marks a free slot
}  // namespace

void SeedGrams(const std::vector<uint64_t>& t, uint32_t k, std::vector<uint64_t>* out) {
  out->clear();
  if (k == 0 || t.size() < k) return;
  out->resize(t.size() - k + 1);
  const RollingHash roll(k);
  uint64_t r = roll.At(t.data());
  for (size_t i = 0;; ++i) {
    (*out)[i] = NotEmpty(r);
    if (i + 1 == out->size()) break;
    r = roll.Slide(r, t[i], t[i + k]);
  }
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
  // 8 bits per slot (16 per gram at least): a false pass 1 in 16 or fewer.
  const int filter_bits = std::countr_zero(slots) + 3;
  filter_shift_ = 64 - filter_bits;
  filter_.assign((size_t{1} << filter_bits) / 64, 0);
  for (uint32_t i = 0; i < grams_.size(); ++i) {
    const uint64_t h = SlotHash(grams_[i]);
    const auto [word, bit] = FilterBit(h);
    filter_[word] |= bit;
    uint64_t slot = h & mask_;
    while (keys_[slot] != kEmpty && keys_[slot] != grams_[i]) slot = (slot + 1) & mask_;
    keys_[slot] = grams_[i];
    next_[i] = last_[slot];
    last_[slot] = i;
    ++count_[slot];
  }
}

uint32_t QueryGrams::Find(uint64_t gram) const {
  const uint64_t h = SlotHash(gram);
  if (const auto [word, bit] = FilterBit(h); (filter_[word] & bit) == 0) return UINT32_MAX;
  uint64_t slot = h & mask_;
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
  const RollingHash roll(k);
  for (const auto& [b, e] : ranges) {
    if (b >= e) continue;
    uint64_t r = source_grams != nullptr ? 0 : roll.At(source.data() + b);
    for (uint32_t j = b;; ++j) {
      const uint32_t slot = q.Find(source_grams != nullptr ? (*source_grams)[j] : NotEmpty(r));
      slot_of[j] = slot;
      if (slot != UINT32_MAX) ++in_source[slot];
      if (j + 1 == e) break;
      if (source_grams == nullptr) r = roll.Slide(r, source[j], source[j + k]);
    }
  }
  // With anchors, only seeds near one are kept (checked as they are made).
  const std::vector<Anchor>* an = o.anchors;
  const int64_t anchor_reach = o.anchor_reach;
  const int64_t diagonal_reach = std::min<int64_t>(anchor_reach, o.anchor_diagonal_reach);
  // Per query gram i: the first anchor whose q is at least i - anchor_reach (anchors are sorted
  // by q), where near_anchor starts looking.
  thread_local std::vector<uint32_t> first_anchor;
  if (an != nullptr) {
    first_anchor.resize(q.grams_.size());
    size_t a = 0;
    for (size_t i = 0; i < first_anchor.size(); ++i) {
      while (a < an->size() && static_cast<int64_t>((*an)[a].q) < static_cast<int64_t>(i) - anchor_reach) ++a;
      first_anchor[i] = static_cast<uint32_t>(a);
    }
  }
  auto near_anchor = [&](uint32_t sq, uint32_t ss) {
    auto it = an->begin() + first_anchor[sq];
    const int64_t diag = static_cast<int64_t>(ss) - sq;
    for (; it != an->end() && static_cast<int64_t>(it->q) <= static_cast<int64_t>(sq) + anchor_reach; ++it) {
      if (std::abs(static_cast<int64_t>(it->s) - static_cast<int64_t>(it->q) - diag) <= diagonal_reach) return true;
    }
    return false;
  };
  std::vector<Seed> seeds;
  for (const auto& [b, e] : ranges) {
    for (uint32_t j = b; j < e && seeds.size() < kMaxSeeds; ++j) {
      const uint32_t slot = slot_of[j];
      if (slot == UINT32_MAX) continue;
      const uint32_t n = in_source[slot];
      if (n > 1 && uint64_t{q.count_[slot]} * n > kMaxPairsPerGram) continue;
      for (uint32_t i = q.last_[slot]; i != UINT32_MAX; i = q.next_[i]) {
        if (an == nullptr || near_anchor(i, j)) seeds.push_back({i, j});
      }
    }
  }
  if (seeds.empty()) return;
  std::sort(seeds.begin(), seeds.end(), [](const Seed& a, const Seed& b) { return a.Key() < b.Key(); });

  // Chaining DP. f[b] = best score of a chain ending in seed b; a step from a to b gains the
  // query tokens b adds (at most k) minus a penalty for drift (an indel) and for the gap. Scores
  // are integers in twentieths of a token (a token 20, a token of drift 5, a token of gap past
  // k 1), so equal chains tie exactly; of equal predecessors the latest wins. The steps looked
  // at are the seeds at most kLookback back whose query position is within reach (BestStep).
  const size_t n = seeds.size();
  std::vector<int32_t> f(n);
  std::vector<int32_t> pred(n, -1);
  // (Options past 2^24 tokens mean "no limit" here, and stay clear of int32 overflow.)
  constexpr uint64_t kNoLimit = uint64_t{1} << 24;
  const int32_t reach = static_cast<int32_t>(std::min<uint64_t>(uint64_t{o.max_gap} + k, kNoLimit));
  const int32_t drift_max = static_cast<int32_t>(std::min<uint64_t>(o.max_drift, kNoLimit));
  const int32_t kk = static_cast<int32_t>(k);
  size_t lo = 0;  // the first seed whose query position is within reach of b's
  for (size_t b = 0; b < n; ++b) {
    const int32_t qb = static_cast<int32_t>(seeds[b].q), sb = static_cast<int32_t>(seeds[b].s);
    while (static_cast<int32_t>(seeds[lo].q) < qb - reach) ++lo;
    // Starting alone scores 20k; a step must beat it (a tie keeps the seed a chain's start).
    const int64_t best = BestStep(seeds.data(), f.data(), std::max(lo, b > kLookback ? b - kLookback : 0), b, qb, sb,
                                  kk, reach, drift_max, (int64_t{20 * kk} << 32) | kAlone);
    f[b] = static_cast<int32_t>(best >> 32);
    if ((best & kAlone) != kAlone) pred[b] = static_cast<int32_t>((best & kAlone) - 1);
  }

  // Extract chains, best first (of equal scores, the earlier seed); a chain stops where it
  // reaches a seed already used.
  std::vector<uint64_t> order(n);
  for (uint32_t i = 0; i < n; ++i) order[i] = uint64_t{static_cast<uint32_t>(INT32_MAX - f[i])} << 32 | i;
  std::sort(order.begin(), order.end());
  std::vector<bool> used(n, false);
  std::vector<uint32_t> chain;
  for (const uint64_t key : order) {
    const uint32_t end = static_cast<uint32_t>(key);
    if (used[end]) continue;
    chain.clear();
    for (int32_t c = static_cast<int32_t>(end); c >= 0 && !used[c]; c = pred[c]) {
      used[c] = true;
      chain.push_back(static_cast<uint32_t>(c));
    }
    std::reverse(chain.begin(), chain.end());
    // Matched query tokens: the union of [q, q + k) over the chain's seeds (q ascending), the
    // tokens between two consecutive seeds on one diagonal when all of them agree (the seeds
    // a shape the source repeats would have made, skipped above), plus the tokens the ends
    // extend over while they agree (words cut off by k-gram edges). A gap with a token that
    // differs stays unmatched: tokens agreeing there by chance (a neighbour's code of the same
    // shape after a copy's end) would claim names the renaming check then finds inconsistent.
    // Counted first: most chains (common shapes) fall short, and their pairs are never made.
    // for_each_run calls f(q, s, n) for each run of n matched tokens between the chain's ends
    // (query positions q.., source positions s..), in query order.
    auto for_each_run = [&](auto&& f) {
      uint32_t covered_to = 0;
      for (size_t i = 0; i < chain.size(); ++i) {
        const Seed& b = seeds[chain[i]];
        if (i > 0 && covered_to < b.q) {
          const Seed& a = seeds[chain[i - 1]];
          const uint32_t s = covered_to - b.q + b.s;  // the gap's start on b's diagonal
          // On one diagonal (no indel between the seeds), and every token agreeing.
          if (b.s - a.s == b.q - a.q && std::equal(query.begin() + covered_to, query.begin() + b.q, source.begin() + s)) {
            f(covered_to, s, b.q - covered_to);
          }
        }
        const uint32_t from = std::max(b.q, covered_to), e = b.q + k;
        if (e > from) f(from, b.s + (from - b.q), e - from);
        covered_to = std::max(covered_to, e);
      }
    };
    uint32_t matched = 0;
    for_each_run([&](uint32_t, uint32_t, uint32_t n) { matched += n; });
    uint32_t q_begin = seeds[chain.front()].q, s_begin = seeds[chain.front()].s;
    uint32_t q_end = seeds[chain.back()].q + k, s_end = seeds[chain.back()].s + k;
    if (s_end < s_begin) std::swap(s_begin, s_end);
    uint32_t back = 0, ahead = 0;
    while (q_begin > back && s_begin > back && query[q_begin - back - 1] == source[s_begin - back - 1]) ++back;
    while (q_end + ahead < query.size() && s_end + ahead < source.size() &&
           query[q_end + ahead] == source[s_end + ahead]) {
      ++ahead;
    }
    if (matched + back + ahead < o.min_matched) continue;
    AlignedSpan sp{q_begin - back, q_end + ahead, s_begin - back, s_end + ahead, matched + back + ahead, {}};
    sp.pairs.reserve(matched + back + ahead);
    for (uint32_t i = back; i > 0; --i) sp.pairs.emplace_back(q_begin - i, s_begin - i);
    for_each_run([&](uint32_t q, uint32_t s, uint32_t n) {
      for (uint32_t t = 0; t < n; ++t) sp.pairs.emplace_back(q + t, s + t);
    });
    for (uint32_t i = 0; i < ahead; ++i) sp.pairs.emplace_back(q_end + i, s_end + i);
    out->push_back(std::move(sp));
  }
}

}  // namespace doppel
