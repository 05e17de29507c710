// A sharded index: N ordinary indexes behind one Index. Ids are local id x N + shard, so every
// shard's ids stay sorted and distinct after mapping; posting lists are merged across shards and
// the posting cap applies to the merged list, as it would in one index.
#include <tbb/parallel_for.h>
#include <xxhash.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <filesystem>

#include "codec.h"
#include "doppel/streams.h"
#include "sharded_index.h"

namespace doppel {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kShardSeed = 0x646f7070656c7368ULL;  // "doppelsh"
constexpr uint32_t kMaxShards = 4096;

class ShardedIndex final : public Index {
 public:
  ShardedIndex(std::string dir, std::vector<std::unique_ptr<Index>> shards)
      : dir_(std::move(dir)), shards_(std::move(shards)), n_(static_cast<uint32_t>(shards_.size())) {}

  const SketchParams& params() const override { return shards_[0]->params(); }
  const std::string& dir() const override { return dir_; }

  Status Write(std::vector<SketchedDocument>* batch, WriteSummary* summary) override {
    std::vector<std::vector<SketchedDocument>> parts(n_);
    for (auto& d : *batch) parts[ShardOf(d.doc.name, n_)].push_back(std::move(d));
    batch->clear();
    for (uint32_t s = 0; s < n_; ++s) {
      if (parts[s].empty()) continue;
      DOPPEL_RETURN_IF_ERROR(shards_[s]->Write(&parts[s], summary).WithContext(ShardDir(dir_, s)));
    }
    return Status::OK();
  }

  Status Remove(std::span<const std::string> names, uint64_t* removed, uint64_t* missing) override {
    std::vector<std::vector<std::string>> parts(n_);
    for (const auto& name : names) parts[ShardOf(name, n_)].push_back(name);
    for (uint32_t s = 0; s < n_; ++s) {
      if (parts[s].empty()) continue;
      DOPPEL_RETURN_IF_ERROR(shards_[s]->Remove(parts[s], removed, missing).WithContext(ShardDir(dir_, s)));
    }
    return Status::OK();
  }

  Status Compact() override { return Each([](Index& i) { return i.Compact(); }); }
  Status Flush() override { return Each([](Index& i) { return i.Flush(); }); }
  // Every shard catches up, whatever another's refresh says; the first error is returned.
  Status Refresh() override {
    Status first;
    for (uint32_t s = 0; s < n_; ++s) {
      Status r = shards_[s]->Refresh();
      if (!r.ok() && first.ok()) first = r.WithContext(ShardDir(dir_, s));
    }
    return first;
  }

  Status GetGramPostings(Kind kind, std::span<const uint64_t> grams, std::vector<Posting>* out) const override {
    return Merged(out, grams.size(), [&](const Index& i, std::vector<Posting>* o) {
      return i.GetGramPostings(kind, grams, o);
    });
  }
  Status GetBandPostings(Kind query, std::span<const BandKey> keys, std::vector<Posting>* out) const override {
    return Merged(out, keys.size(),
                  [&](const Index& i, std::vector<Posting>* o) { return i.GetBandPostings(query, keys, o); });
  }

  Result<DocumentInfo> GetDocument(uint32_t id) const override {
    DOPPEL_ASSIGN_OR_RETURN(DocumentInfo d, shards_[id % n_]->GetDocument(id / n_));
    d.id = id;
    return d;
  }
  Result<std::string> GetContent(uint32_t id) const override { return shards_[id % n_]->GetContent(id / n_); }
  Result<std::string> GetContent(const DocumentInfo& doc) const override {
    DocumentInfo local = doc;
    local.id = doc.id / n_;
    return shards_[doc.id % n_]->GetContent(local);
  }
  Result<Signature> GetSignature(uint32_t id) const override { return shards_[id % n_]->GetSignature(id / n_); }
  Result<Tokens> GetTokens(uint32_t id) const override { return shards_[id % n_]->GetTokens(id / n_); }
  Status ReadTokenStream(uint32_t id, std::string* stream) const override {
    return shards_[id % n_]->ReadTokenStream(id / n_, stream);
  }
  Result<std::optional<uint32_t>> FindName(const std::string& name) const override {
    const uint32_t s = ShardOf(name, n_);
    DOPPEL_ASSIGN_OR_RETURN(std::optional<uint32_t> local, shards_[s]->FindName(name));
    if (!local) return local;
    DOPPEL_ASSIGN_OR_RETURN(uint32_t id, Global(*local, s));
    return std::optional<uint32_t>(id);
  }
  bool IsDeleted(uint32_t id) const override { return shards_[id % n_]->IsDeleted(id / n_); }
  bool MayHoldGrams(Kind kind) const override {
    return std::any_of(shards_.begin(), shards_.end(), [kind](const auto& shard) { return shard->MayHoldGrams(kind); });
  }

  Result<IndexStats> Stats() const override {
    IndexStats all;
    for (const auto& shard : shards_) {
      DOPPEL_ASSIGN_OR_RETURN(IndexStats st, shard->Stats());
      all.unfinished_build |= st.unfinished_build;
      all.documents += st.documents;
      all.deleted += st.deleted;
      all.bytes += st.bytes;
      all.band_keys += st.band_keys;
      all.fingerprints += st.fingerprints;
      all.size_on_disk += st.size_on_disk;
      all.block_cache_used += st.block_cache_used;
      all.posting_cache_hits += st.posting_cache_hits;
      all.posting_cache_misses += st.posting_cache_misses;
      all.posting_cache_used += st.posting_cache_used;
      all.state += (all.state.empty() ? "" : ",") + st.state;
    }
    return all;
  }

  // The digest of a sharded index is the sum of its shards' (each half a sum over records),
  // so it equals the digest of one index holding the same documents. (Posting lists that
  // saturate count once per shard that saturates them, so such indexes may differ.)
  Status Verify(const VerifyOptions& options, VerifyReport* report) const override {
    VerifyReport all;
    uint64_t docs_digest = 0, postings_digest = 0;
    for (uint32_t s = 0; s < n_; ++s) {
      VerifyReport r;
      DOPPEL_RETURN_IF_ERROR(shards_[s]->Verify(options, &r).WithContext(ShardDir(dir_, s)));
      all.documents += r.documents;
      all.bytes += r.bytes;
      all.posting_lists += r.posting_lists;
      all.postings += r.postings;
      all.deleted_refs += r.deleted_refs;
      all.interrupted_load_documents += r.interrupted_load_documents;
      all.unfinished_build |= r.unfinished_build;
      if (options.digest) {
        docs_digest += std::stoull(r.digest.substr(0, 16), nullptr, 16);
        postings_digest += std::stoull(r.digest.substr(16), nullptr, 16);
      }
    }
    if (options.digest) {
      char hex[33];
      std::snprintf(hex, sizeof hex, "%016" PRIx64 "%016" PRIx64, docs_digest, postings_digest);
      all.digest = hex;
    }
    *report = std::move(all);
    return Status::OK();
  }

 private:
  Result<uint32_t> Global(uint32_t local, uint32_t shard) const {
    if (local > (UINT32_MAX - shard) / n_) {
      return Status::ResourceExhausted(ShardDir(dir_, shard) + ": more ids than a sharded index of " +
                                       std::to_string(n_) + " shards can number");
    }
    return local * n_ + shard;
  }

  template <typename Fn>
  Status Each(Fn fn) {
    for (uint32_t s = 0; s < n_; ++s) DOPPEL_RETURN_IF_ERROR(fn(*shards_[s]).WithContext(ShardDir(dir_, s)));
    return Status::OK();
  }

  // Looks the keys up in every shard at once, then merges each key's lists.
  template <typename Lookup>
  Status Merged(std::vector<Posting>* out, size_t keys, Lookup lookup) const {
    std::vector<std::vector<Posting>> per(n_);
    std::vector<Status> status(n_);
    tbb::parallel_for(uint32_t{0}, n_, [&](uint32_t s) { status[s] = lookup(*shards_[s], &per[s]); });
    for (uint32_t s = 0; s < n_; ++s) DOPPEL_RETURN_IF_ERROR(status[s].WithContext(ShardDir(dir_, s)));
    out->assign(keys, Posting());
    const uint32_t cap = params().posting_cap;
    for (size_t k = 0; k < keys; ++k) {
      Posting& p = (*out)[k];
      for (uint32_t s = 0; s < n_ && !p.saturated; ++s) {
        const Posting& part = per[s][k];
        if (part.saturated) {
          p.saturated = true;
          break;
        }
        for (uint32_t local : part.ids) {
          DOPPEL_ASSIGN_OR_RETURN(uint32_t id, Global(local, s));
          p.ids.push_back(id);
        }
      }
      if (p.saturated || (cap > 0 && p.ids.size() > cap)) {
        p.saturated = true;
        p.ids.clear();
      } else {
        std::sort(p.ids.begin(), p.ids.end());
      }
    }
    return Status::OK();
  }

  std::string dir_;
  std::vector<std::unique_ptr<Index>> shards_;
  uint32_t n_;
};

}  // namespace

uint32_t ShardOf(std::string_view name, uint32_t shards) {
  return static_cast<uint32_t>(XXH3_64bits_withSeed(name.data(), name.size(), kShardSeed) % shards);
}

std::string ShardDir(const std::string& dir, uint32_t shard) { return dir + "/shard-" + std::to_string(shard); }

Result<uint32_t> ShardCount(const std::string& dir) {
  const std::string path = dir + "/SHARDS";
  std::error_code ec;
  if (!fs::exists(path, ec)) return uint32_t{0};
  std::string text;
  {
    DOPPEL_ASSIGN_OR_RETURN(auto src, OpenSource(path));
    char buf[4096];
    for (;;) {
      DOPPEL_ASSIGN_OR_RETURN(size_t n, src->Read(buf, sizeof buf));
      if (n == 0) break;
      text.append(buf, n);
      if (text.size() > 65536) return Status::Corruption(path + ": too large");
    }
  }
  // The file is written by CreateShardedIndex: {"format":"doppel-sharded","shards":N}.
  const std::string_view kHead = "{\"format\":\"doppel-sharded\",\"shards\":";
  uint64_t shards = 0;
  size_t i = kHead.size();
  const bool head = text.compare(0, kHead.size(), kHead) == 0;
  while (head && i < text.size() && i < kHead.size() + 5 && text[i] >= '0' && text[i] <= '9') {
    shards = shards * 10 + static_cast<uint64_t>(text[i++] - '0');
  }
  if (!head || i == kHead.size() || text.compare(i, std::string::npos, "}\n") != 0 || shards == 0 ||
      shards > kMaxShards) {
    return Status::Corruption(path + ": not a doppel SHARDS file (expected {\"format\":\"doppel-sharded\",\"shards\":N})");
  }
  return static_cast<uint32_t>(shards);
}

Status CreateShardedIndex(const std::string& dir, uint32_t shards) {
  if (shards == 0 || shards > kMaxShards) {
    return Status::InvalidArgument("the number of shards must be between 1 and " + std::to_string(kMaxShards));
  }
  DOPPEL_ASSIGN_OR_RETURN(uint32_t have, ShardCount(dir));
  if (have == shards) return Status::OK();
  if (have != 0) {
    return Status::Incompatible(dir + " is a sharded index of " + std::to_string(have) + " shards, not " +
                                std::to_string(shards));
  }
  std::error_code ec;
  if (fs::exists(fs::path(dir) / "CURRENT", ec)) {
    return Status::Incompatible(dir + " is an index of one shard; build a sharded index in a new directory");
  }
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create " + dir + ": " + ec.message());
  return WriteFileAtomically(dir + "/SHARDS", "{\"format\":\"doppel-sharded\",\"shards\":" + std::to_string(shards) + "}\n");
}

Result<std::unique_ptr<Index>> OpenShardedIndex(const std::string& dir, uint32_t shards, const IndexOptions& options) {
  std::vector<std::unique_ptr<Index>> opened(shards);
  IndexOptions o = options;
  o.block_cache_bytes = std::max<size_t>(options.block_cache_bytes / shards, size_t{8} << 20);  // one budget
  o.posting_cache_ids = options.posting_cache_ids / shards;  // the same for decoded postings
  for (uint32_t s = 0; s < shards; ++s) {
    const std::string sub = ShardDir(dir, s);
    auto r = OpenRocksIndex(sub, o);
    if (!r.ok()) {
      if (r.status().code() == Status::Code::kNotFound) {
        return Status::NotFound(sub + ": shard " + std::to_string(s) + " of " + std::to_string(shards) +
                                " is missing (has its build task run?)");
      }
      return r.status();
    }
    opened[s] = std::move(r).value();
    // (The shard's parameters are the index's; those of shard 0, which the others must have,
    // the ones asked for.)
    if (s > 0) {
      DOPPEL_RETURN_IF_ERROR(codec::CompareParams(opened[s]->params(), opened[0]->params())
                                 .WithContext(sub + " (against the first shard's)"));
    }
  }
  return std::unique_ptr<Index>(std::make_unique<ShardedIndex>(dir, std::move(opened)));
}

}  // namespace doppel
