// Index: one RocksDB directory holding the protected corpus's documents and sketches.
//
// Column families (the byte layout of every key and value is documented in
// lib/src/index/codec.h):
//   meta     manifest (every parameter that changes stored data), counters, deleted ids
//   docs     doc id → name, kind, language, sizes, content hash, metadata
//   names    name → doc id (re-adding a name replaces it; unchanged re-adds are skipped)
//   content  doc id → original text (needed to report source spans)
//   sig      doc id → MinHash signature
//   bands    band number + band key → posting list
//   grams    kind + fingerprint → posting list
// Posting lists are Roaring bitmaps of doc ids, appended through a merge operator. Removing a
// document deletes its records at once and adds its id to the deleted set; a compaction filter
// later drops deleted ids from posting lists. Ids are never reused.
//
// Thread-safety: all const methods may run concurrently with each other and with one writer
// (Write/Remove/Compact), which the index serializes. One process may open a directory for
// writing at a time; read-only opens see the state as of opening (or of the last Refresh).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "doppel/options.h"
#include "doppel/sketch.h"
#include "doppel/status.h"

namespace doppel {

struct IndexOptions {
  // Create the directory and a new index when none exists. Default false: a missing index is
  // NotFound, so a typo never builds an empty index.
  bool create_if_missing = false;
  // Open without write access; several readers may share a directory with one writer. A
  // read-only open is a strict snapshot: a damaged table or MANIFEST is refused (Corruption).
  bool read_only = false;
  // Read-only opens that follow a running writer (a RocksDB secondary instance): Refresh()
  // catches up with what it stored since. RocksDB's secondaries tolerate damage at the end of
  // the MANIFEST (a writer may be appending to it) by reading an older state, so a following
  // reader should run after a strict open of the same directory (as `serve` does).
  bool follow_writer = false;
  // Read-only opens: map the table files instead of reading them. Their Bloom filter and index
  // blocks are then used in place rather than read, copied and checksummed into memory when the
  // tables open, which halves a short-lived reader's open (0.18 s instead of 0.39 s on a 1.7 GB
  // index: most of a one-answer `check`), and data blocks are read without a system call (a
  // scan). The mapped pages count in the process's resident size though they are the kernel's
  // page cache. A long-running reader keeps reads into the block cache: the 100-line check's
  // p50 and p99 were 1-11% higher mapped (bench/README.md).
  bool map_files = false;
  // The parameters to build with (for a new index) or to require (for an existing one: any
  // difference is refused, naming both values). Unset: a new index takes the defaults, an
  // existing one its own.
  std::optional<SketchParams> params;
  // Bulk loading: documents skip the write-ahead log, posting lists are sorted in memory and
  // ingested as SST files, and compaction waits. A watermark in `meta` marks the documents whose
  // posting lists are durable; a run that is killed loses the documents above it, which the
  // next writable open removes, so a rerun adds them again. Applies only to an index that holds
  // no documents when opened: in one that does, a replaced document's old version would be gone
  // with its new one after a kill, so such opens write incrementally instead.
  bool bulk_load = false;
  // A new index is created holding the mark of an unfinished build (kUnfinishedBuildFile),
  // which MarkBuildFinished removes: until then strict read-only opens refuse it (Unavailable),
  // so an index whose first build was stopped or killed is never read as the protected set. A
  // rerun of the build completes it.
  bool mark_unfinished_build = false;
  // Lines written into that mark after its first (the build's inputs, BuildInputsLine), so a
  // later build can tell whether it is the same one.
  std::string unfinished_build_note;
  // Read-only opens of an index holding that mark: opened anyway (stats and verify report it).
  bool allow_unfinished_build = false;
  // Bulk loads buffer posting pairs in memory up to about this many bytes, then sort them and
  // ingest them as SST files (never through the memtable). More memory, fewer and larger files.
  size_t bulk_spill_bytes = size_t{256} << 20;
  // Shared block cache for all column families. More keeps more posting lists in memory.
  size_t block_cache_bytes = size_t{256} << 20;
  // Keep the posting blocks that text lookups (fingerprints and LSH bands of text) read in the
  // block cache. A scan of new text reads each such block about once (its fingerprints are
  // spread over the whole index), so caching them costs an insert and an eviction per read and
  // hits nothing: `scan` and `check --jsonl` turn it off (bench/README.md, "Scan: speed").
  bool cache_text_postings = true;
  // Keep the posting blocks that code lookups (fingerprints and LSH bands of code) read in the
  // block cache. Code shares idioms, whose blocks recur; but a read-only open also keeps the
  // decoded fingerprint lists (posting_cache_ids), which answer those repeats first, so with
  // both a hot list is held twice. `scan` turns it off: its memory is fresh pages the process
  // pays for, and its results are the same (bench/README.md, "Scan: speed"). A service keeps it on.
  bool cache_code_postings = true;
  // Keep the blocks that reads of a document's stored tokens (GetTokens) or content (GetContent)
  // fetch in the block cache. A Filter keeps the tokens it decoded or made in its own cache
  // (FilterOptions::token_cache_tokens), so with this on a hot document is held twice: decoded,
  // and its block uncompressed. `scan` turns it off: in its short life each document is decoded
  // about once and then answered from the token cache (its report reads the content of the
  // sources it shows once more), and its memory is fresh pages the process pays for
  // (bench/README.md, "Scan: speed"). A long-running service keeps it on: a document the token
  // cache evicted is read again from the block cache, not from disk.
  bool cache_document_blocks = true;
  // Read-only opens: decoded code fingerprint posting lists kept between lookups, up to about
  // this many posting ids (4 bytes each; an entry's key and node count as 24 ids, 96 bytes): the
  // default holds at most about 64 MiB per reader (split over a sharded index's shards). Code repeats
  // its idioms, so a code scan looks most of its fingerprints up more than once, and checks of
  // code answers share them too: this cache answers the repeats without RocksDB. Text lookups
  // are not cached (a text scan reads each posting block about once, see above). 0: none.
  size_t posting_cache_ids = size_t{1} << 24;
  // Read-only opens: the directory of an index of common code, which is not protected (other
  // projects, a language's everyday idioms), read beside this one. A fingerprint or spelling
  // this index holds counts the common index's documents too in its document frequency
  // (Posting::common), so a shape the protected code shares with common code weighs as
  // boilerplate (no evidence of a copy; past FilterOptions::max_document_frequency, no
  // candidate either); a fingerprint only the common index holds counts for nothing. Its
  // documents are never candidates, sources or results. It is built like any index, with this
  // index's parameters (a difference is refused, naming both values), and opened with these
  // options: its own block and posting caches, as much memory again at most. Empty: none.
  std::string common_code;
};

struct DocumentInfo {
  uint32_t id = 0;
  std::string name;
  Kind kind = Kind::kText;
  std::string language;
  uint64_t bytes = 0;
  uint32_t num_tokens = 0;
  uint64_t content_hash = 0;
  std::string metadata;  // JSON object or ""
};

struct IndexStats {
  bool unfinished_build = false;  // the build that created the index has not finished
  uint64_t documents = 0;       // live documents
  uint64_t deleted = 0;         // ids removed or replaced so far
  uint64_t bytes = 0;           // text bytes of live documents
  uint64_t band_keys = 0;       // distinct band keys (RocksDB estimate)
  uint64_t fingerprints = 0;    // distinct fingerprint and code spelling keys (RocksDB estimate)
  uint64_t size_on_disk = 0;    // SST and log files, bytes
  uint64_t block_cache_used = 0;  // bytes in the block cache now
  // Code fingerprint lookups the decoded posting cache answered (hits) or passed on to RocksDB
  // (misses) since the index was opened, and its budget in use in posting ids
  // (IndexOptions::posting_cache_ids). All 0 without the cache.
  uint64_t posting_cache_hits = 0, posting_cache_misses = 0, posting_cache_used = 0;
  // What it stores, as a name: each database's identity (new with each build into an empty
  // directory) and the sequence number of its last write (any write stored moves it), of each
  // shard in turn. Equal states are the same stored documents; work done against one (a scan's
  // check parts, a dedup run's verdicts) is not reused against another.
  std::string state;
};

// What Writes stored. A failed Write adds what it stored before the failure: nothing of one
// index (its batch is written whole or not at all), the shards written before the failing one
// of a sharded index.
struct WriteSummary {
  uint64_t added = 0;      // new names
  uint64_t replaced = 0;   // existing names with changed content
  uint64_t unchanged = 0;  // existing names with the same content: skipped
  WriteSummary& operator+=(const WriteSummary& o) {
    added += o.added;
    replaced += o.replaced;
    unchanged += o.unchanged;
    return *this;
  }
};

// A posting list as read: the ids, or the mark that the fingerprint is boilerplate.
struct VerifyOptions {
  // Also compute a digest of the index's content that does not depend on document ids: equal
  // for two indexes holding the same documents, signatures and posting lists, however they were
  // built (one run, or killed and rerun, or in another order). Costs a lookup per posting.
  bool digest = false;
};

struct VerifyReport {
  uint64_t documents = 0, bytes = 0;
  uint64_t posting_lists = 0, postings = 0;
  uint64_t deleted_refs = 0;  // ids of removed documents still in posting lists until compaction
  // Documents a killed bulk load stored without their posting lists: not part of the index
  // (readers never reach them through postings); the next writable open removes them.
  uint64_t interrupted_load_documents = 0;
  bool unfinished_build = false;  // the build that created the index has not finished
  std::string digest;  // 32 hex digits when VerifyOptions::digest, else empty
  std::string ToString() const;
};

struct Posting {
  bool saturated = false;
  std::vector<uint32_t> ids;  // sorted; empty when saturated or absent
  // Read beside a common-code index (IndexOptions::common_code), for a list this index holds:
  // how many common documents hold the fingerprint too (posting_cap + 1 when the common index
  // saturates its list), and their ids in the common index's own numbering (sorted; empty when
  // saturated). They count in document frequencies and joint rarity, never as candidates.
  uint32_t common = 0;
  std::vector<uint32_t> common_ids;
  // Documents that hold the fingerprint, protected and common (saturated lists aside).
  uint32_t df() const { return static_cast<uint32_t>(std::min<uint64_t>(ids.size() + uint64_t{common}, UINT32_MAX)); }
};

class Index {
 public:
  virtual ~Index() = default;

  // Opens (or creates) the index in `dir`. Errors: NotFound (no index and !create_if_missing),
  // Incompatible (parameters or versions differ; both values named), Corruption (a manifest
  // or value fails validation), IOError.
  static Result<std::unique_ptr<Index>> Open(const std::string& dir, const IndexOptions& options);

  virtual const SketchParams& params() const = 0;
  virtual const std::string& dir() const = 0;

  // Stores a batch atomically, in order: a name already present with the same content is
  // skipped, with other content it is replaced (old id deleted, new id assigned).
  virtual Status Write(std::vector<SketchedDocument>* batch, WriteSummary* summary) = 0;
  // Removes documents by name; names not present are counted in `*missing`, not an error.
  virtual Status Remove(std::span<const std::string> names, uint64_t* removed,
                        uint64_t* missing) = 0;
  // Compacts every column family, dropping deleted ids from posting lists.
  virtual Status Compact() = 0;
  // Flushes memtables (atomically across column families).
  virtual Status Flush() = 0;
  // Read-only opens with follow_writer: catch up with what writers stored since opening (and
  // open the database again when what it replayed from a writer's log may hide what the writer
  // flushed since; reads in flight go on from the database they began with); other opens:
  // nothing to do.
  virtual Status Refresh() = 0;

  // Posting lists of fingerprints of the given kind, one per hash, in order.
  virtual Status GetGramPostings(Kind kind, std::span<const uint64_t> grams,
                                 std::vector<Posting>* out) const = 0;
  // Posting lists of LSH band keys, one per key, in order. Band keys are shared by both kinds;
  // `query` is the kind of the text they were computed from (it decides only whether the blocks
  // read are cached, IndexOptions::cache_text_postings).
  virtual Status GetBandPostings(Kind query, std::span<const BandKey> keys,
                                 std::vector<Posting>* out) const = 0;
  // NotFound for removed or never-used ids.
  virtual Result<DocumentInfo> GetDocument(uint32_t id) const = 0;
  // A document's text, checked against the size and hash in its record (Corruption when they
  // differ). The second form takes the record a caller already read.
  virtual Result<std::string> GetContent(uint32_t id) const = 0;
  virtual Result<std::string> GetContent(const DocumentInfo& doc) const = 0;
  virtual Result<Signature> GetSignature(uint32_t id) const = 0;
  // A code document's tokens as stored at index time (doppel/token_stream.h), decoded; NotFound
  // when none are stored (text documents), Corruption when they do not decode.
  virtual Result<Tokens> GetTokens(uint32_t id) const = 0;
  // The same stream as stored, not decoded (TokenStreamReader reads it in place), into `stream`
  // (its capacity reused: a caller that reads many keeps one buffer). NotFound when none is stored.
  virtual Status ReadTokenStream(uint32_t id, std::string* stream) const = 0;
  virtual Result<std::optional<uint32_t>> FindName(const std::string& name) const = 0;
  virtual bool IsDeleted(uint32_t id) const = 0;
  // False only when the index is known to hold no fingerprint of `kind`, so that lookups of that
  // kind find nothing: a read-only open looks when opened (one seek per kind), and a follower
  // again each time it catches up (Refresh); a writable open, which may gain some, says true. A check skips a reading only such lookups could match
  // (FilterOptions::prose_in_code against an index of code only).
  virtual bool MayHoldGrams(Kind kind) const {
    (void)kind;
    return true;
  }

  // The index of common code read beside this one (IndexOptions::common_code), or null.
  virtual const Index* common_code() const { return nullptr; }

  virtual Result<IndexStats> Stats() const = 0;
  // Consistency check, reading everything with checksums on: the manifest and counters, every
  // live document's records decode and agree (name entry, signature size, content size and
  // hash), every posting list decodes and refers only to ids below the next id. Corruption
  // names the first record that fails.
  virtual Status Verify(const VerifyOptions& options, VerifyReport* report) const = 0;
};

// Sharded indexes: one directory holding a SHARDS file ({"format":"doppel-sharded","shards":N})
// and N ordinary indexes shard-0 ... shard-(N-1); a document lives in shard ShardOf(name, N), so
// shards can be built by independent tasks (each reading all inputs, keeping its own names) and
// written to by name. Index::Open on such a directory returns an Index over all the shards:
// lookups query the shards in parallel, and ids are local id x N + shard. A write or removal
// is atomic within each shard, not across shards.
uint32_t ShardOf(std::string_view name, uint32_t shards);
std::string ShardDir(const std::string& dir, uint32_t shard);
// 0 when `dir` holds no SHARDS file (an ordinary index, or nothing yet).
Result<uint32_t> ShardCount(const std::string& dir);
// Whether `dir` holds an index: a database (an IDENTITY file, and a CURRENT file naming a
// MANIFEST there: a doppel index, one being built too, or any RocksDB directory) or a sharded
// index's SHARDS file. A scan's walk passes such a directory over; files of those names that
// are no database's are not one.
bool HoldsIndex(const std::string& dir);
// InvalidArgument naming the first sketch parameter a new index may not be made with (zero,
// over codec::kMaxSketchParam, bands x rows over the permutations); Index::Open checks it
// before it creates anything.
Status ValidateSketchParams(const SketchParams& params);
// The file whose presence in an index directory marks a build that created the index and has not
// finished (IndexOptions::mark_unfinished_build).
inline constexpr const char* kUnfinishedBuildFile = "BUILD-UNFINISHED";
// Removes that mark (durably) once the build has stored everything; nothing when it is absent.
Status MarkBuildFinished(const std::string& dir);
// Whether `dir` holds that mark.
bool BuildUnfinished(const std::string& dir);
// Writes the SHARDS file of a new sharded index (atomically); an existing sharded index with
// the same count is fine, another count or an ordinary index in `dir` is refused.
Status CreateShardedIndex(const std::string& dir, uint32_t shards);
// Writes one ordinary index at `out_dir` (new or empty) holding every live document of the
// `shards` shards of the sharded index at `dir`: each column family's records are merged in key
// order into one sorted table file and ingested; the index appears at `out_dir` only when
// whole. Ids stay as the sharded index numbers them (local id x shards + shard).
Status MergeShardsIntoOne(const std::string& dir, uint32_t shards, const std::string& out_dir);

}  // namespace doppel
