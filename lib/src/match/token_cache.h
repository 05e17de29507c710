// A bounded LRU cache of stored documents' tokens, shared by the checks of one Filter.
//
// Aligning a candidate needs its tokens; re-parsing a code document with tree-sitter on every
// check costs ~1 ms per 7 KB, so hot documents are kept tokenized. Entries never go stale: a
// document id is never reused and its content never changes (a replaced document gets a new id).
// Thread-safety: all methods may be called concurrently (sharded, one mutex per shard).
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "doppel/token.h"
#include "doppel/winnow.h"

namespace doppel {

struct TokenizedDocument {
  Tokens tokens;
  std::vector<uint64_t> hashes;
  // Text: SeedGrams(hashes, seed_k), aligned whole on every check. (Code is aligned near its
  // anchors only, where Align makes the few grams it looks at.)
  uint32_t seed_k = 0;
  std::vector<uint64_t> seed_grams;
  // Code: its winnowed fingerprints (as the index holds them), ordered by hash, then position,
  // made once (by_hash_once) when it is aligned often: where it holds an answer's fingerprints
  // is then a merge, not a pass over its every k-gram per answer. `collects` counts the answers
  // it was looked at for. (The cache's budget counts tokens only; the list adds about 4 bytes a
  // token to the 40 of tokens and hashes.)
  mutable std::atomic<uint32_t> collects{0};
  mutable std::once_flag by_hash_once;
  mutable std::vector<Fingerprint> fingerprints_by_hash;
};

class TokenCache {
 public:
  // Capacity in tokens over all shards (0 disables the cache).
  explicit TokenCache(size_t capacity_tokens) : per_shard_(capacity_tokens / kShards) {}

  std::shared_ptr<const TokenizedDocument> Get(uint32_t id) {
    Shard& s = shards_[id % kShards];
    std::lock_guard<std::mutex> l(s.mu);
    auto it = s.map.find(id);
    if (it == s.map.end()) {
      ++s.misses;
      return nullptr;
    }
    ++s.hits;
    s.lru.splice(s.lru.begin(), s.lru, it->second);  // most recently used first
    return it->second->second;
  }

  // What the cache holds and how its lookups went since it was made (TokenCacheStats).
  TokenCacheStats Stats() {
    TokenCacheStats st;
    st.capacity_tokens = per_shard_ * kShards;
    for (Shard& s : shards_) {
      std::lock_guard<std::mutex> l(s.mu);
      st.tokens += s.tokens;
      st.documents += s.map.size();
      st.hits += s.hits;
      st.misses += s.misses;
    }
    st.read_in_place = read_in_place_.load(std::memory_order_relaxed);
    st.streams_reused = streams_reused_.load(std::memory_order_relaxed);
    return st;
  }

  // A miss read in place (part of a large code document decoded, not cached).
  void CountReadInPlace() { read_in_place_.fetch_add(1, std::memory_order_relaxed); }
  // A large code document's stored stream taken again from the thread's buffers, where an
  // earlier block of the same answer read it, instead of from the index.
  void CountStreamReused() { streams_reused_.fetch_add(1, std::memory_order_relaxed); }

  void Put(uint32_t id, std::shared_ptr<const TokenizedDocument> doc) {
    const size_t size = doc->tokens.size();
    if (size > per_shard_) return;  // larger than a shard: not cached
    Shard& s = shards_[id % kShards];
    std::lock_guard<std::mutex> l(s.mu);
    if (s.map.count(id)) return;
    s.lru.emplace_front(id, std::move(doc));
    s.map[id] = s.lru.begin();
    s.tokens += size;
    while (s.tokens > per_shard_ && !s.lru.empty()) {
      s.tokens -= s.lru.back().second->tokens.size();
      s.map.erase(s.lru.back().first);
      s.lru.pop_back();
    }
  }

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    std::mutex mu;
    std::list<std::pair<uint32_t, std::shared_ptr<const TokenizedDocument>>> lru;
    std::unordered_map<uint32_t, decltype(lru)::iterator> map;
    size_t tokens = 0;
    uint64_t hits = 0, misses = 0;
  };
  size_t per_shard_;
  Shard shards_[kShards];
  std::atomic<uint64_t> read_in_place_{0};
  std::atomic<uint64_t> streams_reused_{0};
};

}  // namespace doppel
