// candidates.h — how a check finds and ranks the protected documents to align an answer with:
// the answer's fingerprints and where a source holds them (QueryFingerprints), the candidates
// counted by document id (CandidateCounts), and how many protected code documents use a name, a
// string or a comment (SpellingFrequencies), which breaks ties among look-alike candidates and
// weighs a short span's rare items. Used by a check (filter.cc). Internal to lib/src/match.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "align.h"
#include "doppel/code_tokenizer.h"
#include "doppel/index.h"
#include "doppel/options.h"
#include "doppel/sketch.h"
#include "doppel/status.h"
#include "doppel/token.h"
#include "doppel/winnow.h"

namespace doppel {

struct Candidate {
  uint32_t id;
  uint32_t hits;       // shared non-boilerplate fingerprints, and rare spellings (table-like code)
  uint32_t band_hits;  // shared LSH bands
};

// The answer's fingerprints, and, for one source at a time, where the source holds their
// k-grams: the alignment anchors. The source's k-grams are screened with a rolling hash (one
// multiply-add per token) against a bit filter of the answer's, and only the few that pass are
// hashed as fingerprints are, so a large source costs no fingerprinting (nor a sort) per check.
class QueryFingerprints {
 public:
  QueryFingerprints(const std::vector<Fingerprint>& fps, const std::vector<uint64_t>& hashes, uint32_t k)
      : k_(k), roll_(k) {
    size_t slots = 16;
    while (slots < 2 * fps.size()) slots *= 2;
    mask_ = slots - 1;
    slot_entry_.assign(slots, kNone);
    entry_of_.resize(fps.size(), kNone);
    if (k_ == 0 || hashes.size() < k_) return;  // a single gram shorter than k: no rolling value
    for (size_t i = 0; i < fps.size(); ++i) {
      if (fps[i].position + k_ > hashes.size()) continue;
      const uint64_t roll = roll_.At(hashes.data() + fps[i].position);
      size_t slot = Slot(roll);
      while (slot_entry_[slot] != kNone &&
             (entries_[slot_entry_[slot]].roll != roll || entries_[slot_entry_[slot]].hash != fps[i].hash)) {
        slot = (slot + 1) & mask_;
      }
      if (slot_entry_[slot] == kNone) {
        slot_entry_[slot] = static_cast<uint32_t>(entries_.size());
        entries_.push_back({fps[i].hash, roll});
        filter_bits_[Bit(roll) >> 6] |= uint64_t{1} << (Bit(roll) & 63);
      }
      entry_of_[i] = slot_entry_[slot];
    }
  }

  // Records where `source` holds the answer's fingerprints as its own winnowed fingerprints
  // (those FingerprintsOf gives it, with `window`): how often each, and the positions of its
  // first `keep`. `gram_hash(t)` is the fingerprint hash of the k-gram starting at t. One pass
  // over the source's k-grams, hashing only those whose rolling value an entry has.
  template <typename GramHash>
  void Collect(const std::vector<uint64_t>& source, uint32_t window, size_t keep, GramHash&& gram_hash) {
    keep_ = keep;
    total_.assign(entries_.size(), 0);
    positions_.resize(entries_.size() * keep);
    if (entries_.empty() || source.size() < k_) return;
    const size_t n = source.size() - k_ + 1;  // k-grams
    const size_t w = std::max<uint32_t>(window, 1);
    uint64_t roll = roll_.At(source.data());
    for (size_t j = 0;; ++j) {
      const uint32_t bit = Bit(roll);
      if (filter_bits_[bit >> 6] >> (bit & 63) & 1) {
        uint64_t gram = 0;
        bool hashed = false;
        for (size_t slot = Slot(roll); slot_entry_[slot] != kNone; slot = (slot + 1) & mask_) {
          const uint32_t e = slot_entry_[slot];
          // Past keep + 1 occurrences only "more than keep" matters: an entry that has them
          // needs no more hashing (a table repeats one k-gram thousands of times).
          if (entries_[e].roll != roll || total_[e] > keep) continue;
          if (!hashed) {
            gram = gram_hash(source.data() + j);
            hashed = true;
          }
          if (entries_[e].hash != gram) continue;
          if (Winnowed(source, j, n, w, gram, gram_hash)) {
            if (total_[e] < keep) positions_[size_t{e} * keep + total_[e]] = static_cast<uint32_t>(j);
            ++total_[e];
          }
          break;
        }
      }
      if (j + 1 >= n) break;
      roll = roll_.Slide(roll, source[j], source[j + k_]);
    }
  }

  // The same from the source's winnowed fingerprints (`by_hash`: those FingerprintsOf gives it,
  // ordered by hash, then position), for a window of at most 32: a merge of both in hash order.
  void Collect(const std::vector<uint64_t>& source, const std::vector<Fingerprint>& by_hash, size_t keep) {
    keep_ = keep;
    total_.assign(entries_.size(), 0);
    positions_.resize(entries_.size() * keep);
    if (by_hash_order_.size() != entries_.size()) {  // first use: the entries in hash order
      by_hash_order_.resize(entries_.size());
      for (uint32_t e = 0; e < entries_.size(); ++e) by_hash_order_[e] = e;
      std::sort(by_hash_order_.begin(), by_hash_order_.end(),
                [&](uint32_t a, uint32_t b) { return entries_[a].hash < entries_[b].hash; });
    }
    // Both sides in hash order: a merge, galloping over the source's runs the answer skips.
    auto below = [](const Fingerprint& f, uint64_t h) { return f.hash < h; };
    auto it = by_hash.begin();
    for (const uint32_t e : by_hash_order_) {
      const uint64_t h = entries_[e].hash;
      size_t step = 1;
      auto hi = it;
      while (hi != by_hash.end() && hi->hash < h) {
        it = hi;
        hi = static_cast<size_t>(by_hash.end() - hi) > step ? hi + step : by_hash.end();
        step *= 2;
      }
      it = std::lower_bound(it, hi, h, below);
      if (it == by_hash.end()) break;
      for (auto f = it; f != by_hash.end() && f->hash == h && total_[e] <= keep; ++f) {
        if (roll_.At(source.data() + f->position) != entries_[e].roll) continue;  // another k-gram, same hash
        if (total_[e] < keep) positions_[size_t{e} * keep + total_[e]] = f->position;
        ++total_[e];
      }
    }
  }

  // For the answer's i-th fingerprint: the source positions kept for it and how often the
  // source holds it.
  std::pair<std::span<const uint32_t>, size_t> Occurrences(size_t i) const {
    const uint32_t e = entry_of_[i];
    if (e == kNone) return {{}, 0};
    return {std::span<const uint32_t>(positions_.data() + size_t{e} * keep_, std::min<size_t>(total_[e], keep_)),
            total_[e]};
  }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Entry {
    uint64_t hash;  // the fingerprint
    uint64_t roll;  // the rolling value of its k-gram
  };
  // Whether Winnow keeps k-gram j (hash g) of n: it is the rightmost minimum of one of the
  // windows it is in (windows of w k-grams, or the one window of all when n < w).
  template <typename GramHash>
  static bool Winnowed(const std::vector<uint64_t>& source, size_t j, size_t n, size_t w, uint64_t g,
                       GramHash& gram_hash) {
    const size_t first = n < w ? 0 : (j + 1 >= w ? j + 1 - w : 0);  // first window's start
    const size_t last = n < w ? 0 : std::min(j, n - w);             // last window's start
    const size_t lo = first, hi = n < w ? n : last + w;              // the k-grams looked at
    uint64_t grams[64];
    if (hi - lo > 64) return true;  // a window over 32 k-grams: every occurrence anchors
    for (size_t i = lo; i < hi; ++i) grams[i - lo] = i == j ? g : gram_hash(source.data() + i);
    for (size_t start = first; start <= last; ++start) {
      const size_t end = n < w ? n : start + w;
      bool min = true;
      for (size_t i = start; i < end && min; ++i) {
        min = i < j ? grams[i - lo] >= g : (i == j || grams[i - lo] > g);
      }
      if (min) return true;
    }
    return false;
  }
  static uint32_t Bit(uint64_t roll) { return static_cast<uint32_t>((roll * 0xD6E8FEB86659FD93ull) >> 48); }
  size_t Slot(uint64_t roll) const { return (roll * 0x9E3779B97F4A7C15ull >> 20) & mask_; }

  uint32_t k_;
  RollingHash roll_;
  size_t mask_ = 0;
  std::vector<uint32_t> slot_entry_;  // open addressing on the rolling value; kNone when free
  std::vector<Entry> entries_;        // distinct answer fingerprints
  std::vector<uint32_t> entry_of_;    // per answer fingerprint: its entry, or kNone
  std::vector<uint32_t> by_hash_order_;  // entries_ ordered by hash (made by the first merge)
  uint64_t filter_bits_[1024] = {};   // 65,536-bit filter of the entries' rolling values
  size_t keep_ = 0;
  std::vector<uint32_t> total_;      // per entry: occurrences in the source
  std::vector<uint32_t> positions_;  // per entry: its first keep_ source positions
};

// Candidates by document id: an open-addressing table (a check counts up to hundreds of
// thousands of posting entries; node-based maps spent most of that time allocating). Its slots
// belong to the thread and are reused by the next check: a slot is in use when its stamp is
// the table's epoch, so a new table clears nothing, and ForEach visits only the slots used.
// One table per thread at a time: a table is done with before anything that may run another
// check on the thread (a sharded index's parallel lookups let TBB do so while they wait).
class CandidateCounts {
 public:
  // Room for `expected` distinct ids (at most 32,768) before the table grows: sized once from
  // the postings' total, not doubled from 1,024 while a code answer's ids come in.
  explicit CandidateCounts(size_t expected) : s_(Storage()) {
    size_t cap = 1024;
    while (cap < 2 * std::min<size_t>(expected, 32768)) cap <<= 1;
    Reset(cap);
  }
  CandidateCounts(const CandidateCounts&) = delete;
  CandidateCounts& operator=(const CandidateCounts&) = delete;
  Candidate& operator[](uint32_t id) {
    if (2 * (s_.used.size() + 1) > mask_ + 1) Grow();
    size_t i = Slot(id);
    while (s_.stamp[i] == s_.epoch && s_.slots[i].id != id) i = (i + 1) & mask_;
    if (s_.stamp[i] != s_.epoch) {
      s_.stamp[i] = s_.epoch;
      s_.slots[i] = Candidate{id, 0, 0};
      s_.used.push_back(static_cast<uint32_t>(i));
    }
    return s_.slots[i];
  }
  template <typename F>
  void ForEach(F&& f) const {
    for (const uint32_t i : s_.used) f(s_.slots[i]);
  }

 private:
  struct Slots {
    std::vector<Candidate> slots;
    std::vector<uint32_t> stamp;  // per slot: the epoch it was last used in
    uint32_t epoch = 0;
    std::vector<uint32_t> used;   // the slots used in this epoch
  };
  static Slots& Storage() {
    thread_local Slots slots;
    return slots;
  }
  // An empty table of `cap` slots (a power of two).
  void Reset(size_t cap) {
    if (s_.slots.size() < cap) {
      s_.slots.resize(cap);
      s_.stamp.resize(cap, 0);
    }
    if (++s_.epoch == 0) {  // wrapped: no stamp may equal the new epoch
      std::fill(s_.stamp.begin(), s_.stamp.end(), 0);
      s_.epoch = 1;
    }
    s_.used.clear();
    mask_ = cap - 1;
  }
  size_t Slot(uint32_t id) const { return (id * 0x9E3779B1u) & mask_; }
  void Grow() {
    std::vector<Candidate> old;
    old.reserve(s_.used.size());
    for (const uint32_t i : s_.used) old.push_back(s_.slots[i]);
    Reset(2 * (mask_ + 1));
    for (const Candidate& c : old) (*this)[c.id] = c;
  }
  Slots& s_;
  size_t mask_ = 0;
};

// An answer's comment gap (CommentGaps) with its posting: the code documents that hold it.
struct AnswerComment {
  CommentGap gap;
  const Posting* posting;
};

// How many protected code documents use a name or a string (the index's spelling postings),
// looked up once per check and spelling.
class SpellingFrequencies {
 public:
  static constexpr uint32_t kCommentWordsPerItem = 8;
  // A long string is weighed as a comment is: one item for every this many bytes (about 8
  // words of a message), one at least.
  static constexpr uint32_t kStringBytesPerItem = 48;
  SpellingFrequencies(const Index& index, const DocumentSketcher& sketcher) : index_(index), sketcher_(sketcher) {}

  // The rare items of span `a` (FilterOptions::code_rare_items): the distinct identifiers, and
  // string literals of at least o.code_literal_bytes bytes, aligned to the same spelling in the
  // source, that at most o.code_name_df protected code documents use. A string counts one item
  // for every kStringBytesPerItem bytes (one at least): a message of a dozen words copied with
  // its function is as telling as two names, and a renamed copy keeps it.
  // Pairs `skip` marks (foreign imports; empty: none) are not looked at. `q_bytes` are the bytes
  // of each of the answer's tokens `q` in the text read (Stream::read_bytes).
  // A comment gap of the answer inside the span (or just before it) that the source holds too
  // and at most o.code_name_df protected documents hold counts one item for every
  // kCommentWordsPerItem words (one at least): a sentence copied whole is as telling as a name.
  Status RareItems(const AlignedSpan& a, const std::vector<char>& skip, const Tokens& q,
                   const std::vector<uint32_t>& q_bytes, const Tokens& s, const std::vector<AnswerComment>& comments,
                   uint32_t source_id, const FilterOptions& o, uint32_t* items);

  // The document frequencies of spelling postings already read (keys[i]'s is postings[i]).
  void Remember(const std::vector<uint64_t>& keys, const std::vector<Posting>& postings);

 private:
  const Index& index_;
  const DocumentSketcher& sketcher_;
  std::unordered_map<uint64_t, uint32_t> df_;
};

// The posting of each distinct spelling of code `tokens` (DocumentSketcher::SpellingKeys), with
// the ids kept only in rare ones (at most o.code_name_df documents; their own bound, not
// max_document_frequency); every one's document frequency is remembered in `df`.
Status ReadRareSpellings(const Index& index, const DocumentSketcher& sketcher, const Tokens& tokens,
                         const FilterOptions& o, SpellingFrequencies* df, std::vector<Posting>* out);

// The rank of a candidate: shared fingerprints, and LSH bands twice.
inline uint32_t CandidateScore(const Candidate& c) { return c.hits + 2 * c.band_hits; }

// `ranked` holds its best `keep` first (by CandidateScore, then id), the rest after
// them. When every candidate kept and some left out score alike (a shape many protected files
// share, such as generated code for each platform), all so tied are ranked again by how many
// of the stream's rare spellings (names and strings of any length that at most o.code_name_df
// protected code documents use) they hold, then by id: the file whose own names the answer keeps is kept
// before the lowest ids of its look-alikes. `spellings` are the stream's spelling postings,
// rare ones only, when `read` (a table-like answer's); otherwise they are read here, only when
// there is such a tie. (Ties below better candidates, among the many documents that share a
// few fingerprints with a long answer, are left in id order: reading the spellings for them
// too cost about 0.1 ms at the median on the 500 MB code index.)
Status RankTiesBySpellings(const Index& index, const DocumentSketcher& sketcher, const Tokens& tokens,
                           const FilterOptions& o, size_t keep, std::vector<Candidate>* ranked,
                           std::vector<Posting>* spellings, bool read, SpellingFrequencies* df);

}  // namespace doppel
