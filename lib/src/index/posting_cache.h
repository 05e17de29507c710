// Decoded fingerprint posting lists kept between lookups of a read-only index.
//
// A code scan looks up each file's fingerprints, and code repeats its idioms: over the 4,409
// files of the code scan benchmark, half of the 865,000 lookups were of a fingerprint looked up
// before, and three quarters of those that found a list (bench/README.md). A lookup that finds a
// list costs RocksDB's search of the table's index block, the data block's binary search, the
// block cache's mutex and the list's decoding; the cache answers a repeat with one hash probe.
// Absent fingerprints are kept too (most lookups of new code find nothing).
//
// Bounded by `capacity` in units of one posting id (an entry counts its ids plus kEntryCost for
// its key and slot); a shard that fills is emptied whole, which keeps the bound without an LRU
// list to maintain per lookup: the fingerprints a workload repeats come back on their next use.
// A shard is flat: an open-addressing table of slots over one array of the lists' ids, so
// keeping a list allocates nothing of its own and emptying a shard frees nothing (a map of
// nodes and vectors spent 2.5% of a code scan rehashing, clearing and freeing them).
//
// Entries are valid for one state of the index. Whoever changes what the lists hold (a reader
// catching up with a writer) calls Clear() once the new state is in place, which also bumps the
// generation: a lookup that began before passes the generation it read to Put, and its lists,
// read from the older state (or halfway through the change), are not kept.
// A list is copied out under its shard's lock: lists hold at most the index's posting_cap ids
// (longer ones are stored as saturated).
// Thread-safety: all methods may be called concurrently (sharded, one mutex per shard).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "doppel/index.h"

namespace doppel {

class PostingCache {
 public:
  // A shard's ids are addressed with 31 bits (Slot): its budget is held under 2^30 ids.
  explicit PostingCache(size_t capacity) : per_shard_(std::min(capacity / kShards, size_t{1} << 30)) {}

  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // The list stored for `key` (a kind's gram key, see Index::GetGramPostings) into *out; false
  // when it is not cached.
  bool Get(uint64_t key, Posting* out) {
    Shard& s = shards_[ShardOf(key)];
    std::lock_guard<std::mutex> l(s.mu);
    const Slot* slot = s.Find(key);
    if (slot == nullptr || slot->size == kFree) {
      ++s.misses;
      return false;
    }
    ++s.hits;
    const uint32_t n = slot->size & ~kSaturated;
    out->saturated = (slot->size & kSaturated) != 0;
    out->ids.assign(s.ids.begin() + slot->offset, s.ids.begin() + slot->offset + n);
    return true;
  }

  // Keeps `p` as read at `generation` (dropped when the index changed since).
  void Put(uint64_t key, const Posting& p, uint64_t generation) {
    const size_t cost = p.ids.size() + kEntryCost;
    if (per_shard_ == 0 || cost > per_shard_) return;
    Shard& s = shards_[ShardOf(key)];
    std::lock_guard<std::mutex> l(s.mu);
    if (generation != generation_.load(std::memory_order_acquire)) return;
    if (s.cost + cost > per_shard_) s.Empty();
    if (2 * (s.entries + 1) > s.slots.size()) s.Grow();
    Slot* slot = s.Find(key);
    if (slot->size != kFree) return;  // kept meanwhile
    *slot = Slot{key, static_cast<uint32_t>(s.ids.size()),
                 static_cast<uint32_t>(p.ids.size()) | (p.saturated ? kSaturated : 0)};
    s.ids.insert(s.ids.end(), p.ids.begin(), p.ids.end());
    ++s.entries;
    s.cost += cost;
  }

  // Lookups answered and not answered so far, and the budget in use (in posting ids).
  struct Counts {
    uint64_t hits = 0, misses = 0, used = 0;
  };
  Counts Count() const {
    Counts c;
    for (const Shard& s : shards_) {
      std::lock_guard<std::mutex> l(s.mu);
      c.hits += s.hits;
      c.misses += s.misses;
      c.used += s.cost;
    }
    return c;
  }

  void Clear() {
    generation_.fetch_add(1, std::memory_order_acq_rel);
    for (Shard& s : shards_) {
      std::lock_guard<std::mutex> l(s.mu);
      s.Empty();
    }
  }

 private:
  static constexpr size_t kShards = 32;
  // An entry's key, flag, vector and hash node, in posting ids (4 bytes each): what a map entry
  // cost, kept as the unit of the budget. The slots themselves take 16 bytes, 2-4 per entry (the
  // table doubles at half full and keeps its size when emptied).
  static constexpr size_t kEntryCost = 24;
  static constexpr uint32_t kFree = UINT32_MAX;          // Slot::size of a free slot
  static constexpr uint32_t kSaturated = 1u << 31;       // Slot::size's flag (lists are shorter)
  // Fingerprints are hashes, but winnowed ones are the least of their windows, so their top bits
  // lean to 0: mixed first, the top bits pick the shard evenly.
  static size_t ShardOf(uint64_t key) { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 59); }
  struct Slot {
    uint64_t key;
    uint32_t offset;  // of its ids in Shard::ids
    uint32_t size;    // their number, with kSaturated; kFree when the slot is free
  };
  struct Shard {
    mutable std::mutex mu;
    std::vector<Slot> slots;    // open addressing, a power of two (none before the first Put)
    std::vector<uint32_t> ids;  // every kept list's ids, one after another
    size_t entries = 0;
    size_t cost = 0;
    uint64_t hits = 0, misses = 0;  // Get's answers (kept across Clear)

    // The slot holding `key`, or the free slot where it would go; null with no slots yet.
    Slot* Find(uint64_t key) {
      if (slots.empty()) return nullptr;
      const size_t mask = slots.size() - 1;
      for (size_t i = (key * 0xD6E8FEB86659FD93ull) >> 32 & mask;; i = (i + 1) & mask) {
        if (slots[i].size == kFree || slots[i].key == key) return &slots[i];
      }
    }
    void Grow() {
      std::vector<Slot> old(std::max<size_t>(256, 2 * slots.size()), Slot{0, 0, kFree});
      old.swap(slots);
      for (const Slot& x : old) {
        if (x.size != kFree) *Find(x.key) = x;
      }
    }
    void Empty() {
      std::fill(slots.begin(), slots.end(), Slot{0, 0, kFree});
      ids.clear();
      entries = 0;
      cost = 0;
    }
  };
  size_t per_shard_;
  std::atomic<uint64_t> generation_{0};
  Shard shards_[kShards];
};

}  // namespace doppel
