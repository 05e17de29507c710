// The RocksDB implementation of Index. Layout: codec.h. Hooks: posting_ops.h.
#include <fcntl.h>
#include <unistd.h>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/sst_file_reader.h>
#include <rocksdb/sst_file_writer.h>
#include <tbb/parallel_sort.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/options_util.h>
#include <rocksdb/write_batch.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "codec.h"
#include "doppel/token_stream.h"
#include "doppel/index.h"
#include "doppel/streams.h"
#include "posting_cache.h"
#include "posting_ops.h"
#include "common_code.h"
#include "sharded_index.h"

namespace doppel {
namespace {

namespace fs = std::filesystem;

// fsync of directory `dir`: makes the creation, removal or rename of its entries durable.
Status SyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return Status::IOError(dir + ": cannot open to sync: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  return rc == 0 ? Status::OK() : Status::IOError(dir + ": cannot sync: " + std::strerror(err));
}

enum Cf : size_t { kDefault, kMeta, kDocs, kNames, kContent, kSig, kBands, kGrams, kTokens, kNumCfs };
// Beside RocksDB's files: "sequence N", the sequence number up to which the last writable open
// persisted everything before it closed (RocksIndex::Close).
constexpr const char* kLastWriteFile = "DOPPEL-LAST-WRITE";
// The record's text: "sequence N xxh3 H\n", H the checksum of "sequence N".
std::string LastWriteRecord(uint64_t sequence) {
  const std::string head = "sequence " + std::to_string(sequence);
  char sum[17];
  std::snprintf(sum, sizeof sum, "%016llx", static_cast<unsigned long long>(XXH3_64bits(head.data(), head.size())));
  return head + " xxh3 " + sum + "\n";
}
// RocksDB's info log. Its own logger writes through a file writer that, once a write has failed
// (a full disk), aborts the process on the next one in Debian's build (an assertion); this one
// writes with stdio and drops what it cannot write, so a full disk is the error the failed
// index write returns. A writable open keeps its LOG in the index (the one before as LOG.old);
// read-only opens log nothing (RocksDB's would rotate the writer's LOG at every check), their
// errors come back as statuses. The writer's log is appended to (an open refused because another
// writer holds the index must not move that writer's log aside) and set aside as LOG.old when it
// has grown past 16 MB.
class InfoLog : public rocksdb::Logger {
 public:
  explicit InfoLog(std::FILE* f) : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL), f_(f) {}
  ~InfoLog() override {
    if (f_ != nullptr) std::fclose(f_);
  }
  static std::shared_ptr<rocksdb::Logger> ForWriter(const std::string& dir) {
    std::error_code ec;
    const fs::path log = fs::path(dir) / "LOG";
    if (fs::file_size(log, ec) > (uint64_t{16} << 20) && !ec) fs::rename(log, fs::path(dir) / "LOG.old", ec);
    return std::make_shared<InfoLog>(std::fopen(log.c_str(), "a"));
  }
  static std::shared_ptr<rocksdb::Logger> Quiet() { return std::make_shared<InfoLog>(nullptr); }

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    if (f_ == nullptr) return;
    const auto now = std::chrono::system_clock::now();
    const std::time_t secs = std::chrono::system_clock::to_time_t(now);
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
    std::tm tm{};
    localtime_r(&secs, &tm);
    char when[32];
    std::strftime(when, sizeof when, "%Y/%m/%d-%H:%M:%S", &tm);
    std::lock_guard<std::mutex> lock(mu_);
    std::fprintf(f_, "%s.%06lld ", when, static_cast<long long>(micros));
    std::vfprintf(f_, format, ap);
    std::fputc('\n', f_);
    std::fflush(f_);  // (a failure is dropped: see above)
  }

 private:
  std::FILE* f_;
  std::mutex mu_;
};

constexpr const char* kCfNames[kNumCfs] = {"default", "meta", "docs",  "names", "content",
                                           "sig",     "bands", "grams", "tokens"};

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::OK();
  // A corruption's message without its code's name, which the Status's own code names (RocksDB
  // writes "Corruption: Corruption: ..." for a lost table file); other codes keep theirs.
  std::string m = std::string(what) + ": " +
                  (s.IsCorruption() && s.getState() != nullptr ? std::string(s.getState()) : s.ToString());
  // Another process holds the index open for writing (RocksDB's lock on DIR/LOCK).
  if (s.IsIOError() && m.find("While lock file") != std::string::npos) {
    return Status::Unavailable(std::string(what) + ": another process has the index open for writing (" +
                               s.ToString() + ")");
  }
  if (s.IsCorruption()) return Status::Corruption(m);
  if (s.IsNotFound()) return Status::NotFound(m);
  if (s.IsBusy() || s.IsTryAgain()) return Status::Unavailable(m);
  if (s.IsInvalidArgument()) return Status::InvalidArgument(m);
  return Status::IOError(m);
}

std::string_view View(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

// After an open refused for damage: which table file is damaged. RocksDB's message may name the
// MANIFEST that lists a table with a damaged footer or properties, or a `.ldb` name it tried
// for a missing `.sst`. The first table file of `dir` that does not open or whose checksums
// fail, with what is wrong, or the missing table; "" when none is found. (Every table is read:
// this runs only when the open has failed.)
std::string DamagedTable(const std::string& dir, const rocksdb::Status& open_status) {
  const std::string m = open_status.ToString();
  if (const size_t ldb = m.find(".ldb: No such file"); ldb != std::string::npos) {
    const size_t slash = m.rfind('/', ldb);
    if (slash != std::string::npos) return m.substr(slash + 1, ldb - slash - 1) + ".sst is missing";
  }
  std::error_code ec;
  std::vector<fs::path> tables;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (e.path().extension() == ".sst" && name.rfind("bulk-", 0) != 0) tables.push_back(e.path());
  }
  std::sort(tables.begin(), tables.end());
  for (const fs::path& t : tables) {
    rocksdb::SstFileReader reader{rocksdb::Options()};
    rocksdb::Status s = reader.Open(t.string());
    if (s.ok()) s = reader.VerifyChecksum();
    if (!s.ok()) return t.filename().string() + " is damaged (" + s.ToString() + ")";
  }
  return "";
}

}  // namespace

Status ValidateSketchParams(const SketchParams& p) {
  for (const auto& [name, value] : {std::pair<const char*, uint32_t>{"shingle_size", p.shingle_size},
                                    {"gram_size", p.gram_size},
                                    {"code_gram_size", p.code_gram_size},
                                    {"window", p.window},
                                    {"rows", p.rows},
                                    {"bands", p.bands},
                                    {"num_permutations", p.num_permutations},
                                    {"posting_cap", p.posting_cap}}) {
    // The manifest's reader holds a stored index to the same range.
    if (value == 0 || value > codec::kMaxSketchParam) {
      return Status::InvalidArgument(std::string("sketch parameters: ") + name + " " + std::to_string(value) +
                                     " is not between 1 and " + std::to_string(codec::kMaxSketchParam));
    }
  }
  if (p.num_permutations > 65535) {
    return Status::InvalidArgument("sketch parameters: num_permutations " + std::to_string(p.num_permutations) +
                                   " is over 65535");
  }
  if (static_cast<uint64_t>(p.bands) * p.rows > p.num_permutations) {
    return Status::InvalidArgument("sketch parameters: bands x rows (" + std::to_string(p.bands) + " x " +
                                   std::to_string(p.rows) + ") is over num_permutations (" +
                                   std::to_string(p.num_permutations) + ")");
  }
  return Status::OK();
}

namespace {

// One (key, document) pair of a posting list, before grouping.
struct GramPosting {
  uint64_t gram;
  uint32_t id;
  uint8_t kind;
  bool operator<(const GramPosting& o) const {
    return kind != o.kind ? kind < o.kind : gram != o.gram ? gram < o.gram : id < o.id;
  }
};
struct BandPosting {
  uint32_t band;
  uint64_t key;
  uint32_t id;
  bool operator<(const BandPosting& o) const {
    return band != o.band ? band < o.band : key != o.key ? key < o.key : id < o.id;
  }
};

// Groups sorted pairs by key and calls emit(key bytes, encoded posting value) once per key.
template <typename P, typename SameKey, typename KeyBytes, typename Emit>
void GroupPostings(const std::vector<P>& pairs, SameKey same, KeyBytes key_bytes, Emit emit) {
  std::vector<uint32_t> ids;
  std::string value;
  for (size_t i = 0; i < pairs.size();) {
    size_t j = i;
    ids.clear();
    for (; j < pairs.size() && same(pairs[i], pairs[j]); ++j) {
      if (ids.empty() || ids.back() != pairs[j].id) ids.push_back(pairs[j].id);
    }
    if (ids.size() <= codec::kMaxArrayPosting) {
      codec::EncodePostingArray(ids.data(), ids.size(), &value);
    } else {
      Roaring r(ids.size(), ids.data());
      r.runOptimize();
      value = codec::EncodePosting(r);
    }
    emit(key_bytes(pairs[i]), value);
    i = j;
  }
}

bool SameGram(const GramPosting& a, const GramPosting& b) { return a.kind == b.kind && a.gram == b.gram; }
bool SameBand(const BandPosting& a, const BandPosting& b) { return a.band == b.band && a.key == b.key; }
std::string GramKeyOf(const GramPosting& p) { return codec::GramKeyBytes(static_cast<Kind>(p.kind), p.gram); }
std::string BandKeyOf(const BandPosting& p) { return codec::BandKeyBytes(p.band, p.key); }

// The numbers of the table files a database reads, in order.
std::vector<uint64_t> TableNumbers(rocksdb::DB& db) {
  std::vector<rocksdb::LiveFileMetaData> live;
  db.GetLiveFilesMetaData(&live);
  std::vector<uint64_t> numbers;
  numbers.reserve(live.size());
  for (const auto& f : live) numbers.push_back(f.file_number);
  std::sort(numbers.begin(), numbers.end());
  return numbers;
}

class RocksIndex final : public Index {
 public:
  ~RocksIndex() override { Close(); }

  static Result<std::unique_ptr<Index>> Open(const std::string& dir, const IndexOptions& o);
  // Creates an index holding only its manifest at `dir` (absent or an empty directory).
  static Status CreateEmpty(const std::string& dir, const IndexOptions& o);
  friend Status(::doppel::MergeShardsIntoOne)(const std::string& dir, uint32_t shards, const std::string& out_dir);

  const SketchParams& params() const override { return params_; }
  const std::string& dir() const override { return dir_; }

  Status Write(std::vector<SketchedDocument>* batch, WriteSummary* summary) override;
  Status Remove(std::span<const std::string> names, uint64_t* removed,
                uint64_t* missing) override;
  Status Compact() override;
  Status Flush() override;
  Status Refresh() override;

  Status GetGramPostings(Kind kind, std::span<const uint64_t> grams,
                         std::vector<Posting>* out) const override;
  Status GetBandPostings(Kind query, std::span<const BandKey> keys, std::vector<Posting>* out) const override;
  Result<DocumentInfo> GetDocument(uint32_t id) const override;
  Result<std::string> GetContent(uint32_t id) const override;
  Result<std::string> GetContent(const DocumentInfo& doc) const override;
  Result<Signature> GetSignature(uint32_t id) const override;
  Result<Tokens> GetTokens(uint32_t id) const override;
  Status ReadTokenStream(uint32_t id, std::string* stream) const override;
  Result<std::optional<uint32_t>> FindName(const std::string& name) const override;
  bool IsDeleted(uint32_t id) const override { return deleted_->Get()->contains(id); }
  bool MayHoldGrams(Kind kind) const override { return may_hold_grams_[static_cast<size_t>(kind) & 1].load(); }
  Result<IndexStats> Stats() const override;
  Status Verify(const VerifyOptions& options, VerifyReport* report) const override;

 private:
  Status OpenDb();
  // The sequence number of the last write a writable open completed (kLastWriteFile), if any.
  Result<std::optional<uint64_t>> ReadLastWrite() const;
  // Refuses an index whose RocksDB state is older than its last completed write.
  Status CheckNotOlder(uint64_t sequence, uint64_t last_write) const;
  // Writable opens: deletes the empty write-ahead logs older than the current one.
  void RemoveEmptyOldWals() const;
  Status LoadState();
  Status MultiGetPostings(Cf cf, const std::vector<std::string>& keys, bool fill_cache,
                          std::vector<Posting>* out) const;
  // Whether lookups for a query of this kind keep the blocks they read (cache_text_postings,
  // cache_code_postings).
  bool CachesPostingsOf(Kind query) const {
    return query == Kind::kCode ? options_.cache_code_postings : options_.cache_text_postings;
  }
  Status RemoveIdLocked(uint32_t id, rocksdb::WriteBatch* wb, Roaring* deleted_now);
  Status ReadU64(const char* key, uint64_t* v) const;
  // A meta counter's value as read (0 when absent).
  static Status DecodeU64(const rocksdb::Status& s, const std::string& value, const char* key, uint64_t* v);
  // The bulk-load watermark: documents with ids from it on have no durable posting lists.
  Status ReadPostingsBelow(uint64_t* below) const;
  Status PutMetaSync(const char* key, uint64_t v);
  // Adds the counters to `wb`, and the deleted set grown by `deleted_now` when that is not
  // empty; returns the grown set (to publish after the write succeeds) or null.
  std::shared_ptr<Roaring> PutStateLocked(rocksdb::WriteBatch* wb, const Roaring& deleted_now);
  // Restores the counters on scope exit unless dismissed: a failed write stores nothing.
  struct CounterRollback {
    RocksIndex* idx;
    uint32_t next_id;
    uint64_t documents, bytes;
    bool armed = true;
    explicit CounterRollback(RocksIndex* i)
        : idx(i), next_id(i->next_id_), documents(i->documents_), bytes(i->bytes_) {}
    ~CounterRollback() {
      if (!armed) return;
      idx->next_id_ = next_id;
      idx->documents_ = documents;
      idx->bytes_ = bytes;
    }
  };
  // Bulk loads: writes the buffered posting pairs as sorted SST files, ingests them, and moves
  // the postings watermark to next_id_.
  Status SpillLocked();
  // Starts spilling the buffered pairs in the background (after the previous spill is done).
  Status StartSpillLocked();
  Status WaitSpillLocked();
  Status SpillPairs(std::vector<GramPosting> grams, std::vector<BandPosting> bands,
                    uint32_t watermark, int spill);
  // Removes documents at or above the postings watermark: a bulk load stopped before their
  // posting lists were ingested.
  Status RecoverLocked();
  // Per kind: whether the grams column family may hold its keys (MayHoldGrams): looked for when a
  // reader opens the index and when a follower catches up (LookForGrams); a writer says true.
  std::array<std::atomic<bool>, 2> may_hold_grams_{true, true};
  Status LookForGrams();
  rocksdb::WriteOptions WriteOpts() const {
    rocksdb::WriteOptions w;
    w.disableWAL = options_.bulk_load;
    return w;
  }
  void Close();

  std::string dir_;
  IndexOptions options_;
  SketchParams params_;
  std::string identity_;  // a follower's database identity when it opened (Refresh checks it)
  std::shared_ptr<rocksdb::Cache> cache_;
  // Read-only opens: decoded code gram postings (null: not cached), valid for the state of the
  // index cached_version_ names. What a writer changes in the posting lists reaches a follower
  // with a new sequence number (writes, merges) or new table files (flushes, ingested files,
  // which may keep the sequence number, and compactions, which drop deleted ids): the grams
  // column family's super version number counts the latter.
  struct ListsVersion {
    uint64_t sequence = 0;
    uint64_t files = 0;
  };
  ListsVersion CurrentListsVersion() const;
  // Empties the cache when the lists may have changed since it was filled (guarded by write_mu_).
  void ClearPostingCacheIfChangedLocked();
  std::unique_ptr<PostingCache> posting_cache_;
  ListsVersion cached_version_;
  std::shared_ptr<DeletedIds> deleted_ = std::make_shared<DeletedIds>();
  std::shared_ptr<PostingMergeOperator> merge_op_ = std::make_shared<PostingMergeOperator>(deleted_);
  std::unique_ptr<DeletedIdsFilter> filter_;
  // The open database. Once readers may run, only a follower's Refresh replaces it (Reopen; Open
  // closes and reopens a writer's before it returns): what a follower's readers run reads the
  // one Current() gives, which stays open while they hold it; what writers and Refresh run reads
  // db_ itself.
  struct Db {
    std::unique_ptr<rocksdb::DB> rocks;
    std::vector<rocksdb::ColumnFamilyHandle*> cf;
    std::string secondary_dir;  // a follower's own directory (RocksDB's secondary instance)
    Db() = default;
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;
    ~Db();
  };
  std::shared_ptr<Db> db_;
  mutable std::mutex db_mu_;  // guards db_ where a follower's readers take it
  std::shared_ptr<const Db> Current() const {
    std::lock_guard<std::mutex> lock(db_mu_);
    return db_;
  }
  // Opens the database; an error names the damaged table file it finds, if any, unless
  // `name_damaged_table` is false (a reopening: finding it reads every table).
  Result<std::shared_ptr<Db>> OpenRocks(bool name_damaged_table = true);
  // A follower: whether its memtables may hold entries the writer has flushed since (see
  // Refresh), and the reopening that drops them.
  bool MayReadFlushedEntries() const;
  Status Reopen();
  std::mutex refresh_mu_;  // one Refresh at a time; guards the members below
  std::vector<uint64_t> tables_at_open_;  // a follower's table files when its database opened
  std::chrono::steady_clock::time_point reopen_after_{};  // no reopening before
  int reopen_failures_ = 0;  // in a row
  // The databases reopenings replaced while a reader still held them: each closed by the first
  // refresh that finds it held by nobody else, not by a reader's thread in the middle of a check.
  std::vector<std::shared_ptr<Db>> retired_;
  // A follower: Unavailable when `dir_` now holds another database than the one it opened
  // (`now`, its identity as read; an empty one, unreadable for now, says nothing).
  Status CheckIdentity(const std::string& now) const {
    if (now.empty() || identity_.empty() || now == identity_) return Status::OK();
    return Status::Unavailable(dir_ + " now holds another index (identity " + now + " instead of " + identity_ +
                               "): restart to serve it");
  }

  std::vector<rocksdb::ColumnFamilyOptions> cf_options_;
  std::vector<GramPosting> bulk_grams_;  // bulk loads: pairs not yet spilled
  std::vector<BandPosting> bulk_bands_;
  int spills_ = 0;
  std::future<Status> spill_;  // the spill in progress, if any

  // A writable open got as far as a recovered state: until then Close writes nothing (an open
  // refused for other parameters or a damaged manifest has no counters to spill, and spilling
  // would mark every stored document as a killed bulk load's, removed at the next write).
  bool opened_ = false;
  bool unfinished_build_ = false;  // kUnfinishedBuildFile was there when opened
  std::mutex write_mu_;  // one writer at a time; guards the counters below
  uint32_t next_id_ = 0;
  uint64_t documents_ = 0;
  uint64_t bytes_ = 0;
};

void RocksIndex::Close() {
  if (db_) {
    if (!options_.read_only && opened_) {
      std::lock_guard<std::mutex> lock(write_mu_);
      SpillLocked();  // errors here leave documents above the watermark: recovered on next open
      // Bulk loads skip the WAL: persist every memtable before the handles go.
      rocksdb::FlushOptions fo;
      if (db_->rocks->Flush(fo, db_->cf).ok()) {
        // Everything up to this sequence number is in table files the MANIFEST lists: recorded,
        // so a later open can tell a MANIFEST cut back to an older state (which a writable open
        // would take at its word, deleting the newer table files) from a crash's leftovers.
        // Best effort: without the record, the next open checks against an older one.
        WriteFileAtomically(dir_ + "/" + kLastWriteFile, LastWriteRecord(db_->rocks->GetLatestSequenceNumber()));
      }
    }
  }
  std::shared_ptr<Db> gone;
  {
    std::lock_guard<std::mutex> lock(db_mu_);
    gone.swap(db_);
  }
  gone.reset();  // closed here, or by the last reader still holding it
}

RocksIndex::Db::~Db() {
  if (rocks) {
    for (auto* h : cf) rocks->DestroyColumnFamilyHandle(h);
    rocks->Close();
    rocks.reset();
  }
  if (!secondary_dir.empty()) {
    std::error_code ec;
    fs::remove_all(secondary_dir, ec);
  }
}

Status RocksIndex::OpenDb() {
  DOPPEL_ASSIGN_OR_RETURN(std::shared_ptr<Db> db, OpenRocks());
  {
    std::lock_guard<std::mutex> lock(db_mu_);
    db_ = std::move(db);
  }
  if (options_.read_only && options_.follow_writer) {
    // (The file, not DB::GetDbIdentity: a secondary instance does not give it.)
    identity_ = ReadRocksIdentity(dir_);
    tables_at_open_ = TableNumbers(*db_->rocks);
  }
  return Status::OK();
}

Result<std::shared_ptr<RocksIndex::Db>> RocksIndex::OpenRocks(bool name_damaged_table) {
  auto db = std::make_shared<Db>();
  rocksdb::DBOptions dbo;
  dbo.create_if_missing = options_.create_if_missing;
  dbo.create_missing_column_families = options_.create_if_missing;
  dbo.atomic_flush = true;  // batches are atomic across column families even without the WAL
  dbo.paranoid_checks = true;
  dbo.max_background_jobs = 2;
  dbo.info_log = options_.read_only ? InfoLog::Quiet() : InfoLog::ForWriter(dir_);
  dbo.max_open_files = options_.read_only ? -1 : 4096;  // secondaries require -1
  // Tables are opened (their index and filter blocks read and checked) by this many threads;
  // RocksDB's 16 on a small machine only add threads, each with its allocator state.
  dbo.max_file_opening_threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 16u));
  dbo.allow_mmap_reads = options_.read_only && options_.map_files;  // see IndexOptions
  dbo.allow_concurrent_memtable_write = !options_.bulk_load;  // vector memtables need this off

  // A follower reopening keeps its cache: blocks are cached under their table file's identity.
  if (!cache_) cache_ = rocksdb::NewLRUCache(options_.block_cache_bytes);
  cf_options_.clear();
  auto cf_options = [&](Cf cf) {
    rocksdb::ColumnFamilyOptions o;
    rocksdb::BlockBasedTableOptions t;
    t.block_cache = cache_;
    t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    // Index and filter blocks stay in the table readers' memory (about 10 bits per key for the
    // Bloom filters, ~70 MB for a million documents) instead of the block cache: cached, a
    // multi-megabyte filter block evicted by data blocks was re-read and re-checksummed on
    // nearly every Get (p50 of a check 4.6 ms instead of 0.3 ms on a million documents), and
    // partitioned filters still cost a block read per lookup (1.2 ms).
    t.cache_index_and_filter_blocks = false;
    t.whole_key_filtering = true;
    o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
    o.compression = rocksdb::kLZ4Compression;
    o.write_buffer_size = 64 << 20;
    if (cf == kBands || cf == kGrams) {
      o.merge_operator = merge_op_;
      o.compaction_filter = filter_.get();
      o.write_buffer_size = 128 << 20;
      if (options_.bulk_load) {
        // Nothing reads posting lists during a bulk load: an unsorted vector memtable makes each
        // insert an append, and the sort moves to the background flush.
        o.memtable_factory = std::make_shared<rocksdb::VectorRepFactory>();
      }
    }
    if (cf == kContent || cf == kTokens) o.compression = rocksdb::kZSTD;
    if (options_.bulk_load) {
      // A bulk load writes each key once: compacting while loading would rewrite every posting
      // list several times (67 of 150 CPU seconds on a 1 GB corpus). Level-0 files pile up
      // instead, each costing one Bloom probe per lookup, until `doppel-index compact` or the
      // next incremental write lets compaction run.
      o.disable_auto_compactions = true;
      o.level0_file_num_compaction_trigger = 1 << 30;
      o.level0_slowdown_writes_trigger = 1 << 30;
      o.level0_stop_writes_trigger = 1 << 30;
    }
    return o;
  };
  std::vector<rocksdb::ColumnFamilyDescriptor> cfds;
  for (size_t i = 0; i < kNumCfs; ++i) {
    cfds.emplace_back(kCfNames[i], cf_options(static_cast<Cf>(i)));
    cf_options_.push_back(cfds.back().options);
  }

  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (options_.read_only && !options_.follow_writer) {
    // A writer compacting meanwhile may delete table files the MANIFEST just read still named;
    // once open, every table file is held open. A file still missing after a few tries is
    // really gone.
    for (int attempt = 0;; ++attempt) {
      s = rocksdb::DB::OpenForReadOnly(dbo, dir_, cfds, &db->cf, &raw);
      const bool vanished = !s.ok() && s.ToString().find("No such file or directory") != std::string::npos;
      if (!vanished || attempt == 4) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20 << attempt));
    }
  } else if (options_.read_only) {
    char tmpl[] = "/tmp/doppel-reader-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return Status::IOError("cannot create a reader directory in /tmp");
    db->secondary_dir = tmpl;
    rocksdb::Options o(dbo, rocksdb::ColumnFamilyOptions());
    s = rocksdb::DB::OpenAsSecondary(o, dir_, db->secondary_dir, cfds, &db->cf, &raw);
  } else {
    s = rocksdb::DB::Open(dbo, dir_, cfds, &db->cf, &raw);
  }
  if (!s.ok()) {
    if (s.IsInvalidArgument() && s.ToString().find("olumn famil") != std::string::npos) {
      return Status::Corruption(dir_ + " is a RocksDB directory but not a doppel index (" +
                                s.ToString() + ")");
    }
    Status open = FromRocks(s, "opening index " + dir_);
    if (name_damaged_table && (open.code() == Status::Code::kCorruption || open.code() == Status::Code::kIOError)) {
      if (const std::string table = DamagedTable(dir_, s); !table.empty()) {
        const std::string m = open.message() + "; table file " + table;
        open = open.code() == Status::Code::kCorruption ? Status::Corruption(m) : Status::IOError(m);
      }
    }
    return open;
  }
  db->rocks.reset(raw);
  return db;
}

Status RocksIndex::ReadU64(const char* key, uint64_t* v) const {
  std::string value;
  return DecodeU64(db_->rocks->Get(rocksdb::ReadOptions(), db_->cf[kMeta], key, &value), value, key, v);
}

Status RocksIndex::DecodeU64(const rocksdb::Status& s, const std::string& value, const char* key, uint64_t* v) {
  if (s.IsNotFound()) {
    *v = 0;
    return Status::OK();
  }
  DOPPEL_RETURN_IF_ERROR(FromRocks(s, std::string("reading meta ") + key));
  if (value.size() != 8) return Status::Corruption(std::string("meta ") + key + ": bad length");
  *v = codec::DecodeFixed64(value.data());
  return Status::OK();
}

Status RocksIndex::LoadState() {
  uint64_t next = 0;
  DOPPEL_RETURN_IF_ERROR(ReadU64("next_id", &next));
  if (next > UINT32_MAX) return Status::Corruption("meta next_id out of range");
  DOPPEL_RETURN_IF_ERROR(ReadU64("documents", &documents_));
  DOPPEL_RETURN_IF_ERROR(ReadU64("bytes", &bytes_));
  next_id_ = static_cast<uint32_t>(next);
  std::string value;
  auto s = db_->rocks->Get(rocksdb::ReadOptions(), db_->cf[kMeta], "deleted", &value);
  auto ids = std::make_shared<Roaring>();
  if (s.ok()) {
    bool sat = false;
    DOPPEL_RETURN_IF_ERROR(codec::DecodePosting(value, ids.get(), &sat).WithContext("meta deleted"));
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "reading meta deleted");
  }
  deleted_->Set(std::move(ids));
  return Status::OK();
}

Status RocksIndex::CreateEmpty(const std::string& dir, const IndexOptions& o) {
  // RocksDB creates a database file by file (CURRENT before the column families), so a kill
  // while creating in place would leave a directory no open accepts. The index is made whole
  // beside `dir` and renamed into place: `dir` holds a complete index or none.
  fs::path target = fs::path(dir).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();
  const std::string staging = target.string() + ".creating";
  std::error_code ec;
  fs::remove_all(staging, ec);  // what a killed create left
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  {
    RocksIndex t;
    t.dir_ = staging;
    t.options_.create_if_missing = true;
    t.options_.block_cache_bytes = size_t{8} << 20;
    DOPPEL_RETURN_IF_ERROR(t.OpenDb());
    rocksdb::WriteOptions wo;
    wo.sync = true;
    DOPPEL_RETURN_IF_ERROR(FromRocks(t.db_->rocks->Put(wo, t.db_->cf[kMeta], "manifest",
                                                codec::EncodeManifest(o.params.value_or(SketchParams{}))),
                                     "writing manifest"));
  }
  if (o.mark_unfinished_build) {  // in place before the index is: no kill leaves it unmarked
    DOPPEL_RETURN_IF_ERROR(WriteFileAtomically(staging + "/" + kUnfinishedBuildFile,
                                               "a build that created this index has not finished\n" +
                                                   o.unfinished_build_note));
  }
  fs::rename(staging, target, ec);  // replaces an empty directory
  if (ec) {
    fs::remove_all(staging);
    if (ec == std::errc::directory_not_empty || ec == std::errc::file_exists) {
      return Status::InvalidArgument(dir + " is not empty and holds no doppel index: "
                                     "name a new or empty directory");
    }
    if (ec == std::errc::device_or_resource_busy) {  // (a mount point cannot be renamed over)
      return Status::IOError("cannot create " + dir + ": " + ec.message() +
                             " (a mount point is not replaced: name a new directory inside it)");
    }
    return Status::IOError("cannot create " + dir + ": " + ec.message());
  }
  // The rename is durable once the parent directory is synced. A parent that cannot be synced
  // (some network file systems) leaves the new index as durable as the file system makes it;
  // its build marks it unfinished until it ends, so it is not failed for that.
  (void)SyncDirectory(target.has_parent_path() ? target.parent_path().string() : ".");
  return Status::OK();
}

Result<std::optional<uint64_t>> RocksIndex::ReadLastWrite() const {
  const std::string path = dir_ + "/" + kLastWriteFile;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::optional<uint64_t>();
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // "sequence N xxh3 H\n", H the checksum of "sequence N": a damaged record is said as such,
  // never read as another number.
  const size_t sp = text.find(' ', 9);
  uint64_t sequence = 0;
  const bool parsed = text.rfind("sequence ", 0) == 0 && sp != std::string::npos &&
                      std::from_chars(text.data() + 9, text.data() + sp, sequence).ptr == text.data() + sp;
  if (!parsed || text != LastWriteRecord(sequence)) {
    return Status::Corruption(path + ": the record of the index's last write is damaged; if `doppel-index verify` " +
                              "finds the index sound, delete this file");
  }
  return std::optional<uint64_t>(sequence);
}

void RocksIndex::RemoveEmptyOldWals() const {
  // Every writable open starts a write-ahead log; one closed without writes stays behind empty,
  // and RocksDB 7.8 (Debian 12's) skips such logs at recovery as older than the oldest it must
  // keep but never deletes them (fixed in RocksDB 8.3), so an index written by many short `add`
  // runs piled them up. An empty log older than the current one holds nothing to recover.
  std::unique_ptr<rocksdb::LogFile> current;
  if (!db_->rocks->GetCurrentWalFile(&current).ok() || current == nullptr) return;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    uint64_t number = 0;
    const auto [ptr, err] = std::from_chars(name.data(), name.data() + name.size(), number);
    if (err != std::errc() || ptr == name.data() || std::string_view(ptr) != ".log") continue;
    std::error_code size_ec;
    if (number < current->LogNumber() && fs::file_size(it->path(), size_ec) == 0 && !size_ec) {
      fs::remove(it->path(), size_ec);
    }
  }
}

Status RocksIndex::CheckNotOlder(uint64_t sequence, uint64_t last_write) const {
  if (sequence >= last_write) return Status::OK();
  return Status::Corruption(
      dir_ + ": the index holds an older state than its last completed write (RocksDB sequence " +
      std::to_string(sequence) + ", " + std::to_string(last_write) + " written, as " + kLastWriteFile +
      " records): its MANIFEST was cut short or replaced, and opening it to write would delete the newer table " +
      "files; restore the index from a copy or build it again");
}

namespace {

// CURRENT names the MANIFEST RocksDB reads first. A directory whose CURRENT names none of its
// files is no index (or a damaged one): refused before a writable open puts a LOCK and a LOG
// in it.
// (Read twice: a running writer may move CURRENT to a new MANIFEST and delete the one it named
// between the read and the look.)
Status CheckCurrentFile(const std::string& dir) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::ifstream in(fs::path(dir) / "CURRENT", std::ios::binary);
    std::string name(64, '\0');
    in.read(name.data(), static_cast<std::streamsize>(name.size()));
    name.resize(static_cast<size_t>(in.gcount()));
    const bool one_line = !name.empty() && name.back() == '\n';
    if (one_line) name.pop_back();
    std::error_code ec;
    const bool manifest = one_line && name.rfind("MANIFEST-", 0) == 0 && name.size() > 9 &&
                          name.find_first_not_of("0123456789", 9) == std::string::npos &&
                          fs::is_regular_file(fs::path(dir) / name, ec);
    if (manifest) return Status::OK();
  }
  return Status::Corruption(dir + "/CURRENT names no MANIFEST file of " + dir +
                            ": this is not a doppel index, or a damaged one (restore it from a copy or build it "
                            "again elsewhere)");
}

}  // namespace

Result<std::unique_ptr<Index>> RocksIndex::Open(const std::string& dir, const IndexOptions& o) {
  auto idx = std::make_unique<RocksIndex>();
  idx->dir_ = dir;
  idx->options_ = o;
  idx->filter_ = std::make_unique<DeletedIdsFilter>(idx->deleted_);
  std::error_code ec;
  const bool exists = fs::exists(fs::path(dir) / "CURRENT", ec);
  if (ec) {
    // Not "no index": one this user may not read (a directory without search permission).
    return Status::IOError(dir + ": cannot look for an index there: " + ec.message());
  }
  if (exists) DOPPEL_RETURN_IF_ERROR(CheckCurrentFile(dir));
  if (!exists) {
    // Refuse bad parameters before anything is created, so no half-made index stays behind.
    DOPPEL_RETURN_IF_ERROR(ValidateSketchParams(o.params.value_or(SketchParams{})));
  }
  if (!exists) {
    // Table files or a MANIFEST without CURRENT: an index that lost a file, not a new place.
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      const std::string name = e.path().filename().string();
      const bool table = name.size() > 4 && name.rfind("bulk-", 0) != 0 &&
                         (name.substr(name.size() - 4) == ".sst" || name.substr(name.size() - 4) == ".ldb");
      if (table || name.rfind("MANIFEST-", 0) == 0) {
        return Status::Corruption(dir + ": holds index files (" + name +
                                  ") but no CURRENT file: the index is damaged; restore it from a copy or build it again elsewhere");
      }
    }
    if (!o.create_if_missing || o.read_only) {
      return Status::NotFound("no doppel index at " + dir + " (build one with doppel-index build)");
    }
    DOPPEL_RETURN_IF_ERROR(CreateEmpty(dir, o));
  }
  idx->options_.create_if_missing = false;
  const bool unfinished = BuildUnfinished(dir);
  if (unfinished && o.read_only && !o.allow_unfinished_build) {
    return Status::Unavailable(dir + ": the build that created this index did not finish (it was stopped or killed): "
                               "run the same doppel-index build again to complete it");
  }
  idx->unfinished_build_ = unfinished;
  DOPPEL_ASSIGN_OR_RETURN(const std::optional<uint64_t> last_write, idx->ReadLastWrite());
  if (!o.read_only && last_write) {
    // A writable open deletes the table files its MANIFEST does not list: before it, a read-only
    // look (tables opened lazily, nothing deleted) at the state that MANIFEST describes. A look
    // that fails leaves the verdict to the writable open.
    // Quiet: RocksDB's LOG of the index (the writer's) is not rotated for the look.
    rocksdb::Options look;
    look.max_open_files = 16;
    look.paranoid_checks = true;
    look.info_log = InfoLog::Quiet();
    rocksdb::DB* raw = nullptr;
    if (rocksdb::DB::OpenForReadOnly(look, dir, &raw).ok()) {
      const uint64_t sequence = raw->GetLatestSequenceNumber();
      delete raw;
      DOPPEL_RETURN_IF_ERROR(idx->CheckNotOlder(sequence, *last_write));
    }
  }
  DOPPEL_RETURN_IF_ERROR(idx->OpenDb());
  if (!o.read_only) {
    // Spill files of a killed bulk load (never part of the index): removed once the database's
    // lock is held (a writer refused by it removed a running build's spills, which it then
    // could not ingest).
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("bulk-", 0) == 0 && name.size() > 4 && name.substr(name.size() - 4) == ".sst") fs::remove(e.path(), ec);
    }
  }
  // A strict reader refuses an older state too (a follower's may lag a running writer).
  if (o.read_only && !o.follow_writer && last_write) {
    DOPPEL_RETURN_IF_ERROR(idx->CheckNotOlder(idx->db_->rocks->GetLatestSequenceNumber(), *last_write));
  }

  std::string manifest;
  auto s = idx->db_->rocks->Get(rocksdb::ReadOptions(), idx->db_->cf[kMeta], "manifest", &manifest);
  if (s.IsNotFound()) {
    return Status::Corruption(dir + ": index has no manifest");
  } else {
    DOPPEL_RETURN_IF_ERROR(FromRocks(s, "reading manifest"));
    DOPPEL_RETURN_IF_ERROR(codec::DecodeManifest(manifest, &idx->params_).WithContext(dir));
    if (o.params) {
      DOPPEL_RETURN_IF_ERROR(codec::CompareParams(idx->params_, *o.params).WithContext(dir));
    }
  }
  idx->merge_op_->set_cap(idx->params_.posting_cap);
  DOPPEL_RETURN_IF_ERROR(idx->LoadState());
  if (o.read_only) DOPPEL_RETURN_IF_ERROR(idx->LookForGrams());
  if (o.read_only && o.posting_cache_ids > 0) {
    idx->posting_cache_ = std::make_unique<PostingCache>(o.posting_cache_ids);
    idx->cached_version_ = idx->CurrentListsVersion();
  }
  if (!o.read_only) {
    {
      std::lock_guard<std::mutex> lock(idx->write_mu_);
      DOPPEL_RETURN_IF_ERROR(idx->RecoverLocked());
    }
    idx->opened_ = true;
    idx->RemoveEmptyOldWals();
    if (o.bulk_load && idx->documents_ > 0) {
      // A bulk load replacing a stored document would lose both versions if killed before its
      // next spill: an index that holds documents is written incrementally instead.
      idx->Close();
      idx->options_.bulk_load = false;
      DOPPEL_RETURN_IF_ERROR(idx->OpenDb());
      DOPPEL_RETURN_IF_ERROR(idx->LoadState());
    }
    if (idx->options_.bulk_load) DOPPEL_RETURN_IF_ERROR(idx->PutMetaSync("postings_below", idx->next_id_));
  }
  return std::unique_ptr<Index>(std::move(idx));
}

Status RocksIndex::RemoveIdLocked(uint32_t id, rocksdb::WriteBatch* wb, Roaring* deleted_now) {
  auto doc = GetDocument(id);
  if (doc.ok()) {
    documents_ -= documents_ > 0 ? 1 : 0;
    bytes_ -= std::min(bytes_, doc->bytes);
  } else if (doc.status().code() != Status::Code::kNotFound) {
    return doc.status();
  }
  const std::string key = codec::IdKey(id);
  wb->Delete(db_->cf[kDocs], key);
  wb->Delete(db_->cf[kContent], key);
  wb->Delete(db_->cf[kSig], key);
  wb->Delete(db_->cf[kTokens], key);
  deleted_now->add(id);
  return Status::OK();
}

Status RocksIndex::PutMetaSync(const char* key, uint64_t v) {
  std::string value;
  codec::PutFixed64(&value, v);
  rocksdb::WriteOptions wo;
  wo.sync = true;  // through the WAL even during a bulk load: the watermark must be durable
  return FromRocks(db_->rocks->Put(wo, db_->cf[kMeta], key, value), std::string("writing meta ") + key);
}

std::shared_ptr<Roaring> RocksIndex::PutStateLocked(rocksdb::WriteBatch* wb, const Roaring& deleted_now) {
  for (const auto& [key, value] : {std::pair<const char*, uint64_t>{"next_id", next_id_},
                                   {"documents", documents_},
                                   {"bytes", bytes_}}) {
    std::string v;
    codec::PutFixed64(&v, value);
    wb->Put(db_->cf[kMeta], key, v);
  }
  if (deleted_now.isEmpty()) return nullptr;
  auto all = std::make_shared<Roaring>(*deleted_->Get() | deleted_now);
  all->runOptimize();
  wb->Put(db_->cf[kMeta], "deleted", codec::EncodePosting(*all));
  return all;
}

Status RocksIndex::ReadPostingsBelow(uint64_t* below) const {
  std::string value;
  auto s = db_->rocks->Get(rocksdb::ReadOptions(), db_->cf[kMeta], "postings_below", &value);
  *below = next_id_;  // absent: nothing was ever bulk loaded
  if (s.IsNotFound()) return Status::OK();
  DOPPEL_RETURN_IF_ERROR(FromRocks(s, "reading meta postings_below"));
  if (value.size() != 8) return Status::Corruption("meta postings_below: bad length");
  *below = std::min<uint64_t>(codec::DecodeFixed64(value.data()), next_id_);
  return Status::OK();
}

Status RocksIndex::RecoverLocked() {
  uint64_t below = 0;
  DOPPEL_RETURN_IF_ERROR(ReadPostingsBelow(&below));
  if (below >= next_id_) return Status::OK();
  rocksdb::WriteBatch wb;
  Roaring deleted_now;
  std::unique_ptr<rocksdb::Iterator> it(db_->rocks->NewIterator(rocksdb::ReadOptions(), db_->cf[kDocs]));
  for (it->Seek(codec::IdKey(static_cast<uint32_t>(below))); it->Valid(); it->Next()) {
    DOPPEL_ASSIGN_OR_RETURN(uint32_t id, codec::DecodeIdKey(View(it->key())));
    DOPPEL_ASSIGN_OR_RETURN(auto doc, codec::DecodeDocument(id, View(it->value())));
    DOPPEL_ASSIGN_OR_RETURN(auto named, FindName(doc.name));
    if (named && *named == id) wb.Delete(db_->cf[kNames], doc.name);
    DOPPEL_RETURN_IF_ERROR(RemoveIdLocked(id, &wb, &deleted_now));
  }
  DOPPEL_RETURN_IF_ERROR(FromRocks(it->status(), "scanning docs"));
  // Ids in [below, next_id) may still appear in ingested posting lists: mark them all deleted.
  deleted_now.addRange(below, next_id_);
  auto all = PutStateLocked(&wb, deleted_now);
  std::string v;
  codec::PutFixed64(&v, next_id_);
  wb.Put(db_->cf[kMeta], "postings_below", v);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  DOPPEL_RETURN_IF_ERROR(FromRocks(db_->rocks->Write(wo, &wb), "recovering " + dir_));
  deleted_->Set(std::move(all));
  return Status::OK();
}

Status RocksIndex::SpillPairs(std::vector<GramPosting> grams, std::vector<BandPosting> bands,
                              uint32_t watermark, int spill) {
  // Order matters for crash safety: documents first (atomic flush of every memtable), then
  // their posting lists (ingestion is durable when it returns), then the watermark. Documents
  // written meanwhile have ids >= watermark, so the watermark stays true.
  DOPPEL_RETURN_IF_ERROR(FromRocks(db_->rocks->Flush(rocksdb::FlushOptions(), db_->cf), "flushing " + dir_));
  auto write_sst = [&](Cf cf, auto& pairs, auto same, auto key_bytes) -> Status {
    if (pairs.empty()) return Status::OK();
    tbb::parallel_sort(pairs.begin(), pairs.end());
    // A name no earlier run used: a run killed while ingesting may have left its file behind,
    // hard-linked to a table file number the MANIFEST never recorded and RocksDB hands out
    // again; writing through that name would truncate the file being ingested.
    const std::string path = dir_ + "/bulk-" + std::to_string(::getpid()) + "-" + std::to_string(spill) + "-" +
                             kCfNames[cf] + ".sst";
    rocksdb::SstFileWriter writer(rocksdb::EnvOptions(),
                                  rocksdb::Options(db_->rocks->GetDBOptions(), cf_options_[cf]), db_->cf[cf]);
    DOPPEL_RETURN_IF_ERROR(FromRocks(writer.Open(path), "creating " + path));
    Status st;
    GroupPostings(pairs, same, key_bytes, [&](const std::string& k, const std::string& v) {
      if (st.ok()) st = FromRocks(writer.Merge(k, v), "writing " + path);
    });
    DOPPEL_RETURN_IF_ERROR(st);
    DOPPEL_RETURN_IF_ERROR(FromRocks(writer.Finish(), "finishing " + path));
    rocksdb::IngestExternalFileOptions ingest;
    ingest.move_files = true;
    return FromRocks(db_->rocks->IngestExternalFile(db_->cf[cf], {path}, ingest), "ingesting " + path);
  };
  DOPPEL_RETURN_IF_ERROR(write_sst(kGrams, grams, SameGram, GramKeyOf));
  DOPPEL_RETURN_IF_ERROR(write_sst(kBands, bands, SameBand, BandKeyOf));
  return PutMetaSync("postings_below", watermark);
}

Status RocksIndex::StartSpillLocked() {
  DOPPEL_RETURN_IF_ERROR(WaitSpillLocked());
  // The spill runs beside the pipeline: reading and sketching go on while it sorts and writes.
  spill_ = std::async(std::launch::async, &RocksIndex::SpillPairs, this, std::move(bulk_grams_),
                      std::move(bulk_bands_), next_id_, spills_++);
  bulk_grams_ = {};
  bulk_bands_ = {};
  return Status::OK();
}

Status RocksIndex::WaitSpillLocked() {
  if (!spill_.valid()) return Status::OK();
  return spill_.get();
}

Status RocksIndex::SpillLocked() {
  if (!options_.bulk_load || db_ == nullptr) return Status::OK();
  DOPPEL_RETURN_IF_ERROR(WaitSpillLocked());
  Status s = SpillPairs(std::move(bulk_grams_), std::move(bulk_bands_), next_id_, spills_++);
  bulk_grams_ = {};
  bulk_bands_ = {};
  return s;
}

Status RocksIndex::Write(std::vector<SketchedDocument>* batch, WriteSummary* stored) {
  if (options_.read_only) return Status::InvalidArgument("index opened read-only");
  WriteSummary counts;  // added to *stored once the batch is written
  WriteSummary* summary = &counts;
  std::lock_guard<std::mutex> lock(write_mu_);
  rocksdb::WriteBatch wb;
  Roaring deleted_now;
  // (key, id) pairs, sorted before they go into the batch: one merge operand per distinct key,
  // written in key order so the memtable's inserts stay local. Bulk loads keep them for Spill.
  std::vector<GramPosting> gram_postings;
  std::vector<BandPosting> band_postings;
  // Names written by this batch: id, bytes, content hash, hash of kind, language and metadata.
  std::unordered_map<std::string_view, std::tuple<uint32_t, uint64_t, uint64_t, uint64_t>> batch_names;
  for (const auto& sd : *batch) {
    if (sd.doc.name.empty()) return Status::InvalidArgument(sd.doc.origin + ": document without a name");
  }
  // Any failure below leaves the counters as they were: nothing of the batch is stored.
  CounterRollback rollback(this);

  auto same_attributes = [](const Document& d) {
    std::string key(1, static_cast<char>(d.kind));
    key += d.language;
    key.push_back('\0');
    key += d.metadata;
    return XXH3_64bits(key.data(), key.size());
  };
  for (auto& sd : *batch) {
    const Document& d = sd.doc;
    if (auto it = batch_names.find(d.name); it != batch_names.end()) {
      // The same name twice in one batch: the later one wins, as it would across batches.
      auto& [prev_id, prev_bytes, prev_hash, prev_attrs] = it->second;
      if (prev_hash == sd.content_hash && prev_bytes == d.text.size() && prev_attrs == same_attributes(d)) {
        ++summary->unchanged;
        continue;
      }
      --documents_;
      bytes_ -= prev_bytes;
      const std::string key = codec::IdKey(prev_id);
      wb.Delete(db_->cf[kDocs], key);
      wb.Delete(db_->cf[kContent], key);
      wb.Delete(db_->cf[kSig], key);
      wb.Delete(db_->cf[kTokens], key);
      deleted_now.add(prev_id);
      ++summary->replaced;
    } else {
      DOPPEL_ASSIGN_OR_RETURN(std::optional<uint32_t> old, FindName(d.name));
      if (old) {
        auto info = GetDocument(*old);
        if (info.ok() && info->content_hash == sd.content_hash && info->kind == d.kind &&
            info->language == d.language && info->metadata == d.metadata &&
            info->bytes == d.text.size()) {
          ++summary->unchanged;
          continue;
        }
        DOPPEL_RETURN_IF_ERROR(RemoveIdLocked(*old, &wb, &deleted_now));
        ++summary->replaced;
      } else {
        ++summary->added;
      }
    }
    if (next_id_ == UINT32_MAX) return Status::ResourceExhausted("index holds 2^32 - 1 ids");
    const uint32_t id = next_id_++;
    batch_names[d.name] = {id, d.text.size(), sd.content_hash, same_attributes(d)};
    DocumentInfo info{id, d.name, d.kind, d.language, d.text.size(), sd.num_tokens,
                      sd.content_hash, d.metadata};
    const std::string key = codec::IdKey(id);
    wb.Put(db_->cf[kDocs], key, codec::EncodeDocument(info));
    std::string id_value;
    codec::PutFixed32(&id_value, id);
    wb.Put(db_->cf[kNames], d.name, id_value);
    wb.Put(db_->cf[kContent], key, d.text);
    wb.Put(db_->cf[kSig], key, codec::EncodeSignature(sd.signature));
    if (!sd.token_stream.empty()) wb.Put(db_->cf[kTokens], key, sd.token_stream);
    for (const auto& bk : sd.band_keys) band_postings.push_back({bk.band, bk.key, id});
    for (uint64_t f : sd.fingerprints) {
      gram_postings.push_back({f, id, static_cast<uint8_t>(d.kind)});
    }
    for (uint64_t n : sd.spelling_keys) {
      gram_postings.push_back({n, id, static_cast<uint8_t>(Kind::kCode)});
    }
    ++documents_;
    bytes_ += d.text.size();
  }
  if (options_.bulk_load) {
    bulk_grams_.insert(bulk_grams_.end(), gram_postings.begin(), gram_postings.end());
    bulk_bands_.insert(bulk_bands_.end(), band_postings.begin(), band_postings.end());
  } else {
    std::sort(band_postings.begin(), band_postings.end());
    std::sort(gram_postings.begin(), gram_postings.end());
    GroupPostings(band_postings, SameBand, BandKeyOf,
                  [&](const std::string& k, const std::string& v) { wb.Merge(db_->cf[kBands], k, v); });
    GroupPostings(gram_postings, SameGram, GramKeyOf,
                  [&](const std::string& k, const std::string& v) { wb.Merge(db_->cf[kGrams], k, v); });
    // The postings are in this batch with their documents: the watermark moves with them, or
    // the next writable open would take these documents for the remains of a killed bulk load.
    std::string below;
    codec::PutFixed64(&below, next_id_);
    wb.Put(db_->cf[kMeta], "postings_below", below);
  }
  if (counts.added == 0 && counts.replaced == 0) {
    // Every document as stored already: nothing is written, so the index's state (its last
    // write's sequence number, IndexStats::state) stays, and work done against it stays valid.
    *stored += counts;
    return Status::OK();
  }
  auto all_deleted = PutStateLocked(&wb, deleted_now);
  auto s = db_->rocks->Write(WriteOpts(), &wb);
  if (!s.ok()) return FromRocks(s, "writing to " + dir_);
  rollback.armed = false;
  *stored += counts;
  if (all_deleted) deleted_->Set(std::move(all_deleted));
  if ((bulk_grams_.size() + bulk_bands_.size()) * sizeof(GramPosting) >= options_.bulk_spill_bytes) {
    return StartSpillLocked();
  }
  return Status::OK();
}

Status RocksIndex::Remove(std::span<const std::string> names, uint64_t* removed,
                          uint64_t* missing) {
  if (options_.read_only) return Status::InvalidArgument("index opened read-only");
  std::lock_guard<std::mutex> lock(write_mu_);
  rocksdb::WriteBatch wb;
  Roaring deleted_now;
  CounterRollback rollback(this);
  for (const auto& name : names) {
    DOPPEL_ASSIGN_OR_RETURN(auto id, FindName(name));
    if (!id || deleted_now.contains(*id)) {
      ++*missing;
      continue;
    }
    DOPPEL_RETURN_IF_ERROR(RemoveIdLocked(*id, &wb, &deleted_now));
    wb.Delete(db_->cf[kNames], name);
    ++*removed;
  }
  if (deleted_now.isEmpty()) return Status::OK();
  auto all = PutStateLocked(&wb, deleted_now);
  rocksdb::WriteOptions wo = WriteOpts();
  wo.sync = !options_.bulk_load;
  auto s = db_->rocks->Write(wo, &wb);
  if (!s.ok()) return FromRocks(s, "removing from " + dir_);
  rollback.armed = false;
  deleted_->Set(std::move(all));
  return Status::OK();
}

Status RocksIndex::Compact() {
  if (options_.read_only) return Status::InvalidArgument("index opened read-only");
  DOPPEL_RETURN_IF_ERROR(Flush());
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  auto compact = [&](std::initializer_list<Cf> cfs) {
    for (Cf cf : cfs) {
      DOPPEL_RETURN_IF_ERROR(FromRocks(db_->rocks->CompactRange(co, db_->cf[cf], nullptr, nullptr),
                                       std::string("compacting ") + kCfNames[cf]));
    }
    return Status::OK();
  };
  const uint64_t emptied = merge_op_->empty_results();
  DOPPEL_RETURN_IF_ERROR(compact({kBands, kGrams, kDocs, kNames, kContent, kSig, kTokens}));
  // Lists this compaction's merges left empty are stored values now, which a second pass's
  // filter drops (after a whole corpus is replaced, a third of the keys).
  return merge_op_->empty_results() != emptied ? compact({kBands, kGrams}) : Status::OK();
}

Status RocksIndex::Flush() {
  if (options_.read_only) return Status::OK();
  if (options_.bulk_load) {
    std::lock_guard<std::mutex> lock(write_mu_);
    return SpillLocked();
  }
  return FromRocks(db_->rocks->Flush(rocksdb::FlushOptions(), db_->cf), "flushing " + dir_);
}

Status RocksIndex::LookForGrams() {
  for (const Kind kind : {Kind::kText, Kind::kCode}) {
    const std::string prefix(1, static_cast<char>(kind));
    rocksdb::ReadOptions look;
    look.fill_cache = false;  // one block, read once: kept out of the cache
    std::unique_ptr<rocksdb::Iterator> it(db_->rocks->NewIterator(look, db_->cf[kGrams]));
    it->Seek(prefix);
    if (!it->Valid()) DOPPEL_RETURN_IF_ERROR(FromRocks(it->status(), "reading the fingerprints of " + dir_));
    may_hold_grams_[static_cast<size_t>(kind)] = it->Valid() && it->key().starts_with(prefix);
  }
  return Status::OK();
}

Status RocksIndex::Refresh() {
  if (!options_.read_only || !options_.follow_writer) return Status::OK();
  std::lock_guard<std::mutex> one(refresh_mu_);
  // (Only Current() copies db_, and a retired database is no longer db_: its count only falls.)
  std::erase_if(retired_, [](const std::shared_ptr<Db>& d) { return d.use_count() == 1; });
  // A directory replaced by another index (removed and built again, or renamed over) holds
  // another database: catching up with its MANIFEST is undefined (RocksDB's debug builds abort
  // on it). The reader keeps its open files, so it goes on answering from the last state, and
  // says the index must be opened again. (A replacement between this test and the catch-up is
  // not caught: the window is the catch-up's first file read.)
  std::error_code ec;
  if (!identity_.empty() && !fs::exists(dir_ + "/IDENTITY", ec)) {
    return Status::Unavailable(dir_ + " no longer holds the index this reader opened: restart to serve it");
  }
  const std::string now = ReadRocksIdentity(dir_);
  if (now.empty()) return Status::OK();  // unreadable for now: the next refresh tries again
  DOPPEL_RETURN_IF_ERROR(CheckIdentity(now));
  const Status caught = FromRocks(db_->rocks->TryCatchUpWithPrimary(), "refreshing " + dir_);
  // RocksDB's secondary instance keeps the entries it replayed from a write-ahead log after the
  // writer flushed that log into a table file, and a point read takes such an entry over the
  // table's newer value of the same key (rocksdb#15051): a document removed since was still read
  // as stored, the counters and the deleted set as they were, through later catch-ups. Only a
  // new instance drops them, so the database is opened again then. A reopening that fails
  // leaves the caught-up one serving, and is tried again later (Reopen's schedule).
  Status reopened;
  const bool reopen = caught.ok() && MayReadFlushedEntries();
  if (reopen) reopened = Reopen();
  std::lock_guard<std::mutex> lock(write_mu_);
  // A failed catch-up may still have applied part of what it read (the MANIFEST before the
  // write-ahead log): the cache is judged either way, after the deleted set is loaded.
  const Status loaded = caught.ok() ? LoadState() : Status::OK();
  if (reopen && reopened.ok()) cached_version_ = ListsVersion{UINT64_MAX, UINT64_MAX};  // another database's numbers
  ClearPostingCacheIfChangedLocked();
  if (!caught.ok()) {
    for (auto& holds : may_hold_grams_) holds = true;  // part of what it read may be applied
    return caught;
  }
  DOPPEL_RETURN_IF_ERROR(loaded);
  DOPPEL_RETURN_IF_ERROR(LookForGrams());
  return reopened;
}

bool RocksIndex::MayReadFlushedEntries() const {
  // Entries replayed, and table files other than those of the opening: some may be flushed ones.
  if (std::chrono::steady_clock::now() < reopen_after_) return false;
  uint64_t active = 0, immutable = 0;
  db_->rocks->GetAggregatedIntProperty("rocksdb.num-entries-active-mem-table", &active);
  db_->rocks->GetAggregatedIntProperty("rocksdb.num-entries-imm-mem-tables", &immutable);
  if (active + immutable == 0) return false;
  return TableNumbers(*db_->rocks) != tables_at_open_;
}

Status RocksIndex::Reopen() {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  // Each reopening reads every table file's index and filter blocks, and holds a second set of
  // descriptors and blocks until the first is closed: the next waits ten times as long as this
  // one took, and after a failure (descriptors short for two instances, say) at least 1 s,
  // doubled at each failure in a row up to a minute.
  auto schedule = [&](bool failed) {
    const auto end = Clock::now();
    reopen_failures_ = failed ? reopen_failures_ + 1 : 0;
    Clock::duration wait = 10 * (end - start);
    if (failed) {
      wait = std::max<Clock::duration>(wait, std::chrono::seconds(std::min(60, 1 << std::min(reopen_failures_ - 1, 6))));
    }
    reopen_after_ = end + wait;
  };
  auto fresh = OpenRocks(/*name_damaged_table=*/false);
  if (!fresh.ok()) {
    schedule(true);
    return fresh.status().WithContext("reopening " + dir_ + " to drop entries the writer flushed (still serving the "
                                      "caught-up state; tried again later)");
  }
  std::shared_ptr<Db> db = std::move(fresh).value();
  // A directory replaced between the catch-up and this open (Refresh's test above says so
  // otherwise); an identity unreadable for now is tried again later, as there.
  const std::string identity = ReadRocksIdentity(dir_);
  if (const Status same = CheckIdentity(identity); identity.empty() || !same.ok()) {
    schedule(!same.ok());
    return same;
  }
  std::vector<uint64_t> tables = TableNumbers(*db->rocks);
  {
    std::lock_guard<std::mutex> lock(db_mu_);
    db_.swap(db);
  }
  tables_at_open_ = std::move(tables);
  // The database replaced: closed now, or by a later refresh once no reader holds it.
  if (db.use_count() > 1) retired_.push_back(std::move(db));
  db.reset();
  schedule(false);
  return Status::OK();
}

RocksIndex::ListsVersion RocksIndex::CurrentListsVersion() const {
  ListsVersion v{db_->rocks->GetLatestSequenceNumber(), 0};
  db_->rocks->GetIntProperty(db_->cf[kGrams], "rocksdb.current-super-version-number", &v.files);
  return v;
}

void RocksIndex::ClearPostingCacheIfChangedLocked() {
  if (!posting_cache_) return;
  const ListsVersion now = CurrentListsVersion();
  if (now.sequence == cached_version_.sequence && now.files == cached_version_.files) return;
  posting_cache_->Clear();
  cached_version_ = now;
}

Status RocksIndex::MultiGetPostings(Cf cf, const std::vector<std::string>& keys, bool fill_cache,
                                    std::vector<Posting>* out) const {
  const std::shared_ptr<const Db> db = Current();  // kept open while read
  out->assign(keys.size(), Posting{});
  if (keys.empty()) return Status::OK();
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  rocksdb::ReadOptions ro;
  ro.fill_cache = fill_cache;
  db->rocks->MultiGet(ro, db->cf[cf], keys.size(), slices.data(), values.data(),
                statuses.data());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    DOPPEL_RETURN_IF_ERROR(FromRocks(statuses[i], std::string("reading ") + kCfNames[cf]));
    DOPPEL_RETURN_IF_ERROR(codec::DecodePostingIds(View(values[i]), &(*out)[i].ids, &(*out)[i].saturated)
                               .WithContext(kCfNames[cf]));
  }
  return Status::OK();
}

Status RocksIndex::GetGramPostings(Kind kind, std::span<const uint64_t> grams,
                                   std::vector<Posting>* out) const {
  PostingCache* cache = kind == Kind::kCode ? posting_cache_.get() : nullptr;
  const uint64_t generation = cache != nullptr ? cache->generation() : 0;
  if (cache != nullptr) out->assign(grams.size(), Posting{});  // (MultiGetPostings sizes it otherwise)
  std::vector<size_t> missing;  // with the cache: positions in `grams` read from RocksDB
  std::vector<std::string> keys;
  keys.reserve(grams.size());
  for (size_t i = 0; i < grams.size(); ++i) {
    if (cache != nullptr) {
      if (cache->Get(grams[i], &(*out)[i])) continue;
      missing.push_back(i);
    }
    keys.push_back(codec::GramKeyBytes(kind, grams[i]));
  }
  // Uncached (text, writable opens): read straight into `out`, as every key is read.
  if (cache == nullptr) return MultiGetPostings(kGrams, keys, CachesPostingsOf(kind), out);
  std::vector<Posting> read;
  DOPPEL_RETURN_IF_ERROR(MultiGetPostings(kGrams, keys, CachesPostingsOf(kind), &read));
  for (size_t j = 0; j < missing.size(); ++j) {
    cache->Put(grams[missing[j]], read[j], generation);
    (*out)[missing[j]] = std::move(read[j]);
  }
  return Status::OK();
}

Status RocksIndex::GetBandPostings(Kind query, std::span<const BandKey> band_keys,
                                   std::vector<Posting>* out) const {
  std::vector<std::string> keys;
  keys.reserve(band_keys.size());
  for (const auto& b : band_keys) keys.push_back(codec::BandKeyBytes(b.band, b.key));
  return MultiGetPostings(kBands, keys, CachesPostingsOf(query), out);
}

Result<DocumentInfo> RocksIndex::GetDocument(uint32_t id) const {
  const std::shared_ptr<const Db> db = Current();  // kept open while read
  rocksdb::PinnableSlice v;
  auto s = db->rocks->Get(rocksdb::ReadOptions(), db->cf[kDocs], codec::IdKey(id), &v);
  if (s.IsNotFound()) return Status::NotFound("document " + std::to_string(id));
  DOPPEL_RETURN_IF_ERROR(FromRocks(s, "reading document"));
  return codec::DecodeDocument(id, View(v));
}

Result<std::string> RocksIndex::GetContent(uint32_t id) const {
  DOPPEL_ASSIGN_OR_RETURN(DocumentInfo doc, GetDocument(id));
  return GetContent(doc);
}

Result<std::string> RocksIndex::GetContent(const DocumentInfo& doc) const {
  const std::shared_ptr<const Db> db = Current();  // kept open while read
  std::string v;
  rocksdb::ReadOptions ro;
  ro.fill_cache = options_.cache_document_blocks;
  auto s = db->rocks->Get(ro, db->cf[kContent], codec::IdKey(doc.id), &v);
  if (s.IsNotFound()) return Status::NotFound("content of document " + std::to_string(doc.id));
  DOPPEL_RETURN_IF_ERROR(FromRocks(s, "reading content"));
  // The text is checked against the hash in its document record, so damaged content is
  // reported, never aligned against (RocksDB's block checksums miss a well-formed wrong value).
  if (v.size() != doc.bytes || XXH3_64bits(v.data(), v.size()) != doc.content_hash) {
    return Status::Corruption("stored document " + doc.name + " (id " + std::to_string(doc.id) +
                              "): its content does not match its size and hash");
  }
  return v;
}

Result<Signature> RocksIndex::GetSignature(uint32_t id) const {
  const std::shared_ptr<const Db> db = Current();  // kept open while read
  rocksdb::PinnableSlice v;
  auto s = db->rocks->Get(rocksdb::ReadOptions(), db->cf[kSig], codec::IdKey(id), &v);
  if (s.IsNotFound()) return Status::NotFound("signature of document " + std::to_string(id));
  DOPPEL_RETURN_IF_ERROR(FromRocks(s, "reading signature"));
  return codec::DecodeSignature(View(v));
}

Result<Tokens> RocksIndex::GetTokens(uint32_t id) const {
  const std::shared_ptr<const Db> db = Current();  // kept open while read
  rocksdb::PinnableSlice v;
  rocksdb::ReadOptions ro;
  ro.fill_cache = options_.cache_document_blocks;
  auto s = db->rocks->Get(ro, db->cf[kTokens], codec::IdKey(id), &v);
  if (s.IsNotFound()) return Status::NotFound("tokens of document " + std::to_string(id));
  DOPPEL_RETURN_IF_ERROR(FromRocks(s, "reading tokens"));
  Tokens tokens;
  DOPPEL_RETURN_IF_ERROR(DecodeTokenStream(View(v), &tokens).WithContext("document " + std::to_string(id)));
  return tokens;
}

Status RocksIndex::ReadTokenStream(uint32_t id, std::string* stream) const {
  const std::shared_ptr<const Db> db = Current();  // kept open while read
  rocksdb::ReadOptions ro;
  ro.fill_cache = options_.cache_document_blocks;
  auto s = db->rocks->Get(ro, db->cf[kTokens], codec::IdKey(id), stream);
  if (s.IsNotFound()) return Status::NotFound("tokens of document " + std::to_string(id));
  return FromRocks(s, "reading tokens");
}

Result<std::optional<uint32_t>> RocksIndex::FindName(const std::string& name) const {
  const std::shared_ptr<const Db> db = Current();  // kept open while read
  rocksdb::PinnableSlice v;
  auto s = db->rocks->Get(rocksdb::ReadOptions(), db->cf[kNames], name, &v);
  if (s.IsNotFound()) return std::optional<uint32_t>();
  DOPPEL_RETURN_IF_ERROR(FromRocks(s, "reading names"));
  if (v.size() != 4) return Status::Corruption("names entry for '" + name + "': bad length");
  return std::optional<uint32_t>(codec::DecodeFixed32(v.data()));
}

Result<IndexStats> RocksIndex::Stats() const {
  const std::shared_ptr<const Db> db = Current();  // kept open while read
  IndexStats st;
  st.unfinished_build = unfinished_build_;
  if (options_.read_only && options_.follow_writer) {
    // A follower's catch-up makes a new document searchable before LoadState records the new
    // count, so a check could see a document the cached count does not have yet: the counts
    // are read (in one read, so they agree) from the state the last catch-up reached.
    const std::vector<rocksdb::ColumnFamilyHandle*> cfs(2, db->cf[kMeta]);
    const std::vector<rocksdb::Slice> keys = {"documents", "bytes"};
    std::vector<std::string> values;
    const std::vector<rocksdb::Status> s = db->rocks->MultiGet(rocksdb::ReadOptions(), cfs, keys, &values);
    DOPPEL_RETURN_IF_ERROR(DecodeU64(s[0], values[0], "documents", &st.documents));
    DOPPEL_RETURN_IF_ERROR(DecodeU64(s[1], values[1], "bytes", &st.bytes));
  } else {
    std::lock_guard<std::mutex> lock(const_cast<std::mutex&>(write_mu_));
    st.documents = documents_;
    st.bytes = bytes_;
  }
  st.deleted = deleted_->Get()->cardinality();
  uint64_t n = 0;
  db->rocks->GetIntProperty(db->cf[kBands], "rocksdb.estimate-num-keys", &n);
  st.band_keys = n;
  n = 0;
  db->rocks->GetIntProperty(db->cf[kGrams], "rocksdb.estimate-num-keys", &n);
  st.fingerprints = n;
  st.block_cache_used = cache_->GetUsage();
  // (The file, not DB::GetDbIdentity: a follower's secondary instance does not give it.)
  st.state = ReadRocksIdentity(dir_) + "@" + std::to_string(db->rocks->GetLatestSequenceNumber());
  if (posting_cache_) {
    const PostingCache::Counts c = posting_cache_->Count();
    st.posting_cache_hits = c.hits;
    st.posting_cache_misses = c.misses;
    st.posting_cache_used = c.used;
  }
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    // A file a compaction deletes meanwhile has no size (file_size reports -1 then).
    if (!e.is_regular_file(ec)) continue;
    const uintmax_t size = e.file_size(ec);
    if (!ec) st.size_on_disk += size;
  }
  return st;
}

Status RocksIndex::Verify(const VerifyOptions& vo, VerifyReport* report) const {
  const std::shared_ptr<const Db> db = Current();  // kept open while read
  VerifyReport r;
  r.unfinished_build = unfinished_build_;
  const auto deleted = deleted_->Get();
  rocksdb::ReadOptions ro;
  ro.verify_checksums = true;
  ro.fill_cache = false;
  // Every block of every table file against its checksum first: lookups skip blocks a Bloom
  // filter rules out, so a damaged filter or index block could otherwise hide a newer value
  // and serve an older one from another file.
  //
  // Both steps open the table files by name. A writer's background compaction may delete a file
  // meanwhile, so a writer holds deletions off while they run. A reader cannot hold another
  // process's deletions: every table file was there when it opened the index (it opens them all
  // then), so a file gone since was deleted by a writer compacting the index, and Verify says so
  // (Unavailable: verify again) rather than calling the index damaged.
  auto table_status = [&](const rocksdb::Status& s, const std::string& what) {
    if (!s.IsPathNotFound() || !options_.read_only) return FromRocks(s, what);
    return Status::Unavailable(what + ": a table file was deleted after the index was opened for reading (a writer "
                               "compacted the index meanwhile); verify again (" + s.ToString() + ")");
  };
  {
    const bool hold_deletions = !options_.read_only;
    if (hold_deletions) {
      DOPPEL_RETURN_IF_ERROR(FromRocks(db->rocks->DisableFileDeletions(), "holding file deletions in " + dir_));
    }
    struct Release {
      rocksdb::DB* db;
      bool on;
      ~Release() {
        if (on) db->EnableFileDeletions(/*force=*/false);
      }
    } release{db->rocks.get(), hold_deletions};
    DOPPEL_RETURN_IF_ERROR(table_status(db->rocks->VerifyChecksum(ro), "checking the table files of " + dir_));
    // Opening a table tolerates a damaged properties block (RocksDB logs a warning and reads
    // on, and a lookup may then miss that file's newer values): each table's properties must
    // agree with what the MANIFEST recorded for it.
    std::vector<rocksdb::LiveFileMetaData> live;
    db->rocks->GetLiveFilesMetaData(&live);
    for (const auto& f : live) {
      const std::string path = f.db_path + "/" + f.name;
      rocksdb::SstFileReader reader(rocksdb::Options(db->rocks->GetDBOptions(), rocksdb::ColumnFamilyOptions()));
      DOPPEL_RETURN_IF_ERROR(table_status(reader.Open(path), "opening " + path));
      auto props = reader.GetTableProperties();
      if (props == nullptr || props->num_entries != f.num_entries || props->column_family_name != f.column_family_name) {
        return Status::Corruption(path + ": its table properties do not match the MANIFEST (" +
                                  std::to_string(props ? props->num_entries : 0) + " entries, " +
                                  std::to_string(f.num_entries) + " recorded)");
      }
    }
  }
  uint64_t below = 0;  // ids from here on have no durable posting lists
  DOPPEL_RETURN_IF_ERROR(ReadPostingsBelow(&below));
  // Digests are sums, so neither ids nor the order of records matter: documents by their
  // records and signatures, postings by (key, name of each live document listed).
  uint64_t doc_digest = 0, posting_digest = 0;
  std::unordered_map<uint32_t, uint64_t> name_hash;
  {
    std::unique_ptr<rocksdb::Iterator> it(db->rocks->NewIterator(ro, db->cf[kDocs]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      DOPPEL_ASSIGN_OR_RETURN(uint32_t id, codec::DecodeIdKey(View(it->key())));
      DOPPEL_ASSIGN_OR_RETURN(auto d, codec::DecodeDocument(id, View(it->value())));
      const std::string what = "document " + std::to_string(id) + " (" + d.name + ")";
      if (id >= next_id_) return Status::Corruption(what + ": id is not below the next id " + std::to_string(next_id_));
      if (deleted->contains(id)) return Status::Corruption(what + ": id is marked deleted");
      DOPPEL_ASSIGN_OR_RETURN(auto named, FindName(d.name));
      if (!named || *named != id) return Status::Corruption(what + ": its names entry points elsewhere");
      DOPPEL_ASSIGN_OR_RETURN(auto sig, GetSignature(id));
      if (sig.size() != params_.num_permutations) return Status::Corruption(what + ": signature has the wrong size");
      DOPPEL_RETURN_IF_ERROR(GetContent(d).status());  // size and hash
      if (d.kind == Kind::kCode) {
        auto tokens = GetTokens(id);
        if (!tokens.ok() && tokens.status().code() != Status::Code::kNotFound) return tokens.status();
        if (tokens.ok() && tokens->size() != d.num_tokens) {
          return Status::Corruption(what + ": " + std::to_string(tokens->size()) + " stored tokens, " +
                                    std::to_string(d.num_tokens) + " in its record");
        }
      }
      if (id >= below) {
        ++r.interrupted_load_documents;
        continue;
      }
      ++r.documents;
      r.bytes += d.bytes;
      if (vo.digest) {
        std::string rec = d.name;
        rec.push_back('\0');
        rec.push_back(static_cast<char>(d.kind));
        rec += d.language;
        rec.push_back('\0');
        rec += d.metadata;
        rec.push_back('\0');
        codec::PutFixed64(&rec, d.bytes);
        codec::PutFixed64(&rec, d.content_hash);
        rec += codec::EncodeSignature(sig);
        doc_digest += XXH3_64bits(rec.data(), rec.size());
        name_hash[id] = XXH3_64bits(d.name.data(), d.name.size());
      }
    }
    DOPPEL_RETURN_IF_ERROR(FromRocks(it->status(), "scanning docs"));
  }
  if (r.documents + r.interrupted_load_documents != documents_) {
    return Status::Corruption("meta counts " + std::to_string(documents_) + " documents, found " +
                              std::to_string(r.documents + r.interrupted_load_documents));
  }
  // Lists as stored: removed documents' ids are counted until compaction drops them.
  KeepDeletedIdsOnThisThread keep_deleted;
  for (Cf cf : {kBands, kGrams}) {
    std::unique_ptr<rocksdb::Iterator> it(db->rocks->NewIterator(ro, db->cf[cf]));
    Roaring ids;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      bool sat = false;
      DOPPEL_RETURN_IF_ERROR(codec::DecodePosting(View(it->value()), &ids, &sat)
                                 .WithContext(std::string(kCfNames[cf]) + " posting list"));
      ++r.posting_lists;
      const uint64_t key_hash = XXH3_64bits_withSeed(it->key().data(), it->key().size(), cf);
      if (sat) {
        if (vo.digest) posting_digest += XXH3_64bits_withSeed("saturated", 9, key_hash);
        continue;
      }
      if (!ids.isEmpty() && ids.maximum() >= next_id_) {
        return Status::Corruption(std::string(kCfNames[cf]) + ": posting refers to unknown id " + std::to_string(ids.maximum()));
      }
      const uint64_t removed = ids.and_cardinality(*deleted);
      r.deleted_refs += removed;
      r.postings += ids.cardinality() - removed;
      if (!vo.digest) continue;
      for (uint32_t id : ids) {
        if (deleted->contains(id) || id >= below) continue;  // removed, or an interrupted load's
        auto h = name_hash.find(id);
        if (h == name_hash.end()) {
          return Status::Corruption(std::string(kCfNames[cf]) + ": posting refers to id " + std::to_string(id) +
                                    ", which is neither a live document nor deleted");
        }
        posting_digest += XXH3_64bits_withSeed(&h->second, sizeof h->second, key_hash);
      }
    }
    DOPPEL_RETURN_IF_ERROR(FromRocks(it->status(), std::string("scanning ") + kCfNames[cf]));
  }
  if (vo.digest) {
    char hex[33];
    std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(doc_digest),
                  static_cast<unsigned long long>(posting_digest));
    r.digest = hex;
  }
  *report = std::move(r);
  return Status::OK();
}

}  // namespace

bool BuildUnfinished(const std::string& dir) {
  std::error_code ec;
  return fs::exists(fs::path(dir) / kUnfinishedBuildFile, ec);
}

Status MarkBuildFinished(const std::string& dir) {
  std::error_code ec;
  if (!fs::remove(fs::path(dir) / kUnfinishedBuildFile, ec)) {
    return ec ? Status::IOError(dir + "/" + kUnfinishedBuildFile + ": cannot remove: " + ec.message()) : Status::OK();
  }
  return SyncDirectory(dir);  // the removal is durable once the directory is synced
}

std::string VerifyReport::ToString() const {
  std::string s = "documents=" + std::to_string(documents) + " bytes=" + std::to_string(bytes) +
                  " posting_lists=" + std::to_string(posting_lists) +
                  " postings=" + std::to_string(postings) +
                  " deleted_refs_pending_compaction=" + std::to_string(deleted_refs);
  if (interrupted_load_documents > 0) {
    s += " interrupted_load_documents=" + std::to_string(interrupted_load_documents);
  }
  if (unfinished_build) s += " unfinished_build";
  if (!digest.empty()) s += " digest=" + digest;
  return s;
}

Status MergeShardsIntoOne(const std::string& dir, uint32_t n, const std::string& out_dir) {
  std::error_code ec;
  if (fs::exists(out_dir, ec) && !fs::is_empty(out_dir, ec)) {
    return Status::InvalidArgument(out_dir + ": name a new or empty directory for the merged index");
  }
  // The shards, as strict read-only snapshots, with what each holds below its watermark.
  std::vector<std::unique_ptr<Index>> owned;
  std::vector<RocksIndex*> src;
  std::vector<uint64_t> below(n);
  IndexOptions ro;
  ro.read_only = true;
  for (uint32_t s = 0; s < n; ++s) {
    DOPPEL_ASSIGN_OR_RETURN(auto idx, RocksIndex::Open(ShardDir(dir, s), ro));
    owned.push_back(std::move(idx));
    src.push_back(static_cast<RocksIndex*>(owned.back().get()));
    if (s > 0) {
      DOPPEL_RETURN_IF_ERROR(codec::CompareParams(src[s]->params_, src[0]->params_)
                                 .WithContext(ShardDir(dir, s) + " (against the first shard's)"));
    }
    DOPPEL_RETURN_IF_ERROR(src[s]->ReadPostingsBelow(&below[s]));
  }
  auto live = [&](uint32_t s, uint32_t local) { return local < below[s] && !src[s]->deleted_->Get()->contains(local); };
  auto global = [&](uint32_t s, uint32_t local) -> Result<uint32_t> {
    if (local > (UINT32_MAX - s) / n) return Status::ResourceExhausted(ShardDir(dir, s) + ": ids do not fit one index");
    return local * n + s;
  };
  // Made whole beside `out_dir`, then renamed into place: a killed merge leaves no half index.
  fs::path target = fs::path(out_dir).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();
  const std::string staging = target.string() + ".merging";
  fs::remove_all(staging, ec);
  IndexOptions wo;
  wo.create_if_missing = true;
  wo.params = src[0]->params_;
  DOPPEL_ASSIGN_OR_RETURN(auto out_index, RocksIndex::Open(staging, wo));
  auto* dst = static_cast<RocksIndex*>(out_index.get());
  rocksdb::ReadOptions rd;
  rd.verify_checksums = true;
  rd.fill_cache = false;
  uint64_t documents = 0, bytes = 0;
  uint32_t next_id = 0;

  // One column family: every shard's records in key order into one sorted table file, then
  // ingested. `rekey` maps a shard's key and value to the merged ones (false: leave it out);
  // equal keys from several shards (posting lists) go to `combine` together.
  using Entry = std::pair<std::string, std::string>;
  auto merge_cf = [&](Cf cf, auto rekey, auto combine) -> Status {
    std::vector<std::unique_ptr<rocksdb::Iterator>> its;
    for (uint32_t s = 0; s < n; ++s) {
      its.emplace_back(src[s]->db_->rocks->NewIterator(rd, src[s]->db_->cf[cf]));
      its.back()->SeekToFirst();
    }
    // The next merged entry of each shard (rekeyed), smallest first.
    std::vector<std::optional<Entry>> head(n);
    auto advance = [&](uint32_t s) -> Status {
      head[s].reset();
      for (; its[s]->Valid(); its[s]->Next()) {
        Entry e;
        DOPPEL_ASSIGN_OR_RETURN(bool keep, rekey(s, View(its[s]->key()), View(its[s]->value()), &e));
        if (keep) {
          head[s] = std::move(e);
          its[s]->Next();
          return Status::OK();
        }
      }
      return FromRocks(its[s]->status(), std::string("reading ") + kCfNames[cf] + " of " + ShardDir(dir, s));
    };
    for (uint32_t s = 0; s < n; ++s) DOPPEL_RETURN_IF_ERROR(advance(s));
    const std::string path = staging + "/merge-" + kCfNames[cf] + ".sst";
    rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), rocksdb::Options(dst->db_->rocks->GetDBOptions(), dst->cf_options_[cf]),
                                  dst->db_->cf[cf]);
    DOPPEL_RETURN_IF_ERROR(FromRocks(writer.Open(path), "creating " + path));
    uint64_t written = 0;
    for (;;) {
      const std::string* least = nullptr;
      for (uint32_t s = 0; s < n; ++s) {
        if (head[s] && (!least || head[s]->first < *least)) least = &head[s]->first;
      }
      if (!least) break;
      const std::string key = *least;
      std::vector<std::pair<uint32_t, std::string>> values;  // (shard, value) under this key
      for (uint32_t s = 0; s < n; ++s) {
        if (head[s] && head[s]->first == key) {
          values.emplace_back(s, std::move(head[s]->second));
          DOPPEL_RETURN_IF_ERROR(advance(s));
        }
      }
      std::string value;
      DOPPEL_ASSIGN_OR_RETURN(bool keep, combine(key, values, &value));
      if (!keep) continue;
      DOPPEL_RETURN_IF_ERROR(FromRocks(writer.Put(key, value), "writing " + path));
      ++written;
    }
    if (written == 0) return Status::OK();  // nothing to ingest
    DOPPEL_RETURN_IF_ERROR(FromRocks(writer.Finish(), "finishing " + path));
    rocksdb::IngestExternalFileOptions ingest;
    ingest.move_files = true;
    return FromRocks(dst->db_->rocks->IngestExternalFile(dst->db_->cf[cf], {path}, ingest), "ingesting " + path);
  };
  auto only = [](const std::string&, std::vector<std::pair<uint32_t, std::string>>& v, std::string* out) -> Result<bool> {
    if (v.size() != 1) return Status::Corruption("a document key in several shards");
    *out = std::move(v[0].second);
    return true;
  };
  auto by_id = [&](bool count) {
    return [&, count](uint32_t s, std::string_view key, std::string_view value, Entry* e) -> Result<bool> {
      DOPPEL_ASSIGN_OR_RETURN(uint32_t local, codec::DecodeIdKey(key));
      if (!live(s, local)) return false;
      DOPPEL_ASSIGN_OR_RETURN(uint32_t id, global(s, local));
      if (count) {
        DOPPEL_ASSIGN_OR_RETURN(DocumentInfo d, codec::DecodeDocument(local, value));
        ++documents;
        bytes += d.bytes;
        next_id = std::max(next_id, id + 1);
      }
      *e = {codec::IdKey(id), std::string(value)};
      return true;
    };
  };
  DOPPEL_RETURN_IF_ERROR(merge_cf(kDocs, by_id(true), only));
  DOPPEL_RETURN_IF_ERROR(merge_cf(kContent, by_id(false), only));
  DOPPEL_RETURN_IF_ERROR(merge_cf(kSig, by_id(false), only));
  DOPPEL_RETURN_IF_ERROR(merge_cf(kTokens, by_id(false), only));
  DOPPEL_RETURN_IF_ERROR(merge_cf(
      kNames,
      [&](uint32_t s, std::string_view key, std::string_view value, Entry* e) -> Result<bool> {
        if (value.size() != 4) return Status::Corruption("names entry of '" + std::string(key) + "': bad length");
        const uint32_t local = codec::DecodeFixed32(value.data());
        if (!live(s, local)) return false;
        DOPPEL_ASSIGN_OR_RETURN(uint32_t id, global(s, local));
        std::string v;
        codec::PutFixed32(&v, id);
        *e = {std::string(key), v};
        return true;
      },
      only));
  const uint32_t cap = src[0]->params_.posting_cap;
  for (Cf cf : {kBands, kGrams}) {
    DOPPEL_RETURN_IF_ERROR(merge_cf(
        cf, [](uint32_t, std::string_view key, std::string_view value, Entry* e) -> Result<bool> {
          *e = {std::string(key), std::string(value)};
          return true;
        },
        [&](const std::string&, std::vector<std::pair<uint32_t, std::string>>& v, std::string* out) -> Result<bool> {
          Roaring all;
          for (const auto& [s, value] : v) {
            Roaring ids;
            bool sat = false;
            DOPPEL_RETURN_IF_ERROR(codec::DecodePosting(value, &ids, &sat).WithContext(ShardDir(dir, s)));
            if (sat) {
              *out = codec::EncodeSaturated();
              return true;
            }
            for (uint32_t local : ids) {
              if (!live(s, local)) continue;
              DOPPEL_ASSIGN_OR_RETURN(uint32_t id, global(s, local));
              all.add(id);
            }
          }
          if (all.isEmpty()) return false;
          *out = cap > 0 && all.cardinality() > cap ? codec::EncodeSaturated() : codec::EncodePosting(all);
          return true;
        }));
  }
  // The counters; ids between the merged ones were never used, so nothing is marked deleted.
  {
    std::lock_guard<std::mutex> lock(dst->write_mu_);
    dst->next_id_ = next_id;
    dst->documents_ = documents;
    dst->bytes_ = bytes;
    rocksdb::WriteBatch wb;
    dst->PutStateLocked(&wb, Roaring());
    std::string v;
    codec::PutFixed64(&v, next_id);
    wb.Put(dst->db_->cf[kMeta], "postings_below", v);
    rocksdb::WriteOptions w;
    w.sync = true;
    DOPPEL_RETURN_IF_ERROR(FromRocks(dst->db_->rocks->Write(w, &wb), "writing the counters of " + out_dir));
  }
  DOPPEL_RETURN_IF_ERROR(dst->Flush());
  out_index.reset();
  fs::remove(target, ec);  // an empty directory
  fs::rename(staging, target, ec);
  return ec ? Status::IOError(out_dir + ": " + ec.message()) : Status::OK();
}

std::string ReadRocksIdentity(const std::string& dir) {
  std::ifstream in(dir + "/IDENTITY");
  std::string id;
  std::getline(in, id);
  return id;
}

Result<std::unique_ptr<Index>> OpenRocksIndex(const std::string& dir, const IndexOptions& options) {
  return RocksIndex::Open(dir, options);
}

Result<std::unique_ptr<Index>> Index::Open(const std::string& dir, const IndexOptions& options) {
  if (!options.common_code.empty()) return OpenWithCommonCode(dir, options);
  DOPPEL_ASSIGN_OR_RETURN(uint32_t shards, ShardCount(dir));
  if (shards > 0) return OpenShardedIndex(dir, shards, options);
  return RocksIndex::Open(dir, options);
}

bool HoldsIndex(const std::string& dir) {
  std::error_code ec;
  if (fs::is_regular_file(fs::path(dir) / "IDENTITY", ec) && fs::is_regular_file(fs::path(dir) / "CURRENT", ec) &&
      CheckCurrentFile(dir).ok()) {
    return true;
  }
  const Result<uint32_t> shards = ShardCount(dir);
  return shards.ok() && *shards > 0;
}

}  // namespace doppel
