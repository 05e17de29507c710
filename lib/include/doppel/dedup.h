// Dedup: removes exact and near duplicates from a training corpus, limits how often any content
// appears, and optionally removes documents that match a doppel index (decontamination).
//
// Stages, each leaving a completion marker under OUTPUT/.work so that a killed run resumes
// where it stopped (a finished shard or stage is not redone):
//   1. sketch   per input shard: every document's normalized-token hash (exact duplicates),
//               MinHash signature, length, priority and, with an index, whether it matches it.
//   2. cluster  exact-hash and LSH-band tuples sorted (spilled to sorted runs on disk beyond
//               the memory limit); members of a bucket are verified against the similarity
//               threshold (MinHash Jaccard estimate) and joined with union-find; each cluster
//               keeps `max_copies` members chosen by the survivor rule.
//   3. write    per shard: the kept lines copied byte for byte, in order, in the shard's own
//               format and compression; kept files copied under OUTPUT/files/.
// Outputs: the kept shards, clusters.jsonl ({"id", "cluster", "representative", "similarity"}
// per clustered document), removed.jsonl ({"id", "input", "reason", ...} per removed document),
// stats.json.
//
// Tasks: a run may also be split into independent tasks that exchange only files under
// OUTPUT/.work (for a cluster scheduler, or several processes on one machine): `sketch` task
// (rank, world) sketches the input shards whose index is rank modulo world; then one `cluster`
// task; then `write` tasks split like the sketch tasks (the last to finish writes stats.json).
// Each task is skipped where its markers exist and can be retried alone; any split gives
// byte-identical outputs to a single run.
//
// Determinism: documents are numbered by (input path, line) after sorting the inputs by path,
// every decision depends only on that order and the content, so results are identical for any
// thread count and any order of the inputs on the command line.
// Thread-safety: Dedup runs its own threads; one call per output directory at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "doppel/document.h"
#include "doppel/options.h"
#include "doppel/status.h"

namespace doppel {

enum class SurvivorRule : uint8_t {
  kFirst = 0,     // the first document in input order
  kLongest = 1,   // the longest text (ties: the first)
  kPriority = 2,  // the largest value of the priority field (missing: lowest; ties: the first)
};

struct DedupOptions {
  // How documents are read: kAuto by each document's own kind (a JSON line's "lang"/"kind", a
  // file's extension), or every document as prose or as code. As code, identifiers and literals
  // are abstracted, so renamed-variable copies are duplicates.
  enum class KindMode : uint8_t { kAuto, kText, kCode } kind = KindMode::kAuto;

  // Near-duplicate similarity. `shingle_size` tokens per shingle; LSH with `bands` x `rows` of
  // the `num_permutations` MinHash values finds candidates (the S-curve 1 - (1 - s^rows)^bands);
  // a candidate pair is joined when its estimated Jaccard similarity is at least `threshold`.
  // Presets: "default" (5-token shingles, 16 x 8 bands, Jaccard >= 0.8) and "aggressive"
  // (see ApplyDedupPreset).
  uint32_t shingle_size = 5;
  uint32_t num_permutations = 128;
  uint32_t bands = 16;
  uint32_t rows = 8;
  double threshold = 0.8;
  uint64_t seed = 0x646f7070656c3031ULL;

  SurvivorRule survivor = SurvivorRule::kFirst;
  std::string priority_field;  // JSON field for SurvivorRule::kPriority
  // Members kept per cluster (1: only the survivor).
  uint32_t max_copies = 1;

  // Decontamination: documents whose verdict against this index is redact or block (they are
  // near copies of, or contain passages from, an indexed document) are removed.
  std::string against_index;
  FilterOptions against_options;
  // An index of common code read beside against_index (IndexOptions::common_code): shapes the
  // two share are boilerplate, no contamination. Empty: none.
  std::string against_common;

  // Bytes of bucket tuples held in memory before they spill to sorted runs on disk (0: no
  // limit). Signatures are read from memory-mapped files, so the page cache holds them.
  uint64_t memory_limit = 0;
  int threads = 0;  // 0: all cores
  // Malformed lines (bad JSON, missing text, invalid UTF-8): skipped and listed in
  // removed.jsonl, or the run stops at the first one.
  bool skip_errors = false;
  std::string text_field = "text";
  std::string id_field = "id";
  std::string path_field;  // ReaderOptions::path_field
  uint64_t max_document_bytes = uint64_t{64} << 20;

  // Which part of the run this call does (see Tasks above): everything, or one task.
  enum class Stage : uint8_t { kAll, kSketch, kCluster, kWrite } stage = Stage::kAll;
  uint32_t rank = 0, world = 1;  // kSketch and kWrite: shards with index % world == rank
  // The tasks are one command's, run one after another in this process (the local executor):
  // each holds the output alone, and the first may start an unfinished run of other inputs
  // over, as a whole run does. Their calls share one summary (begin with a fresh one): each
  // adds its stage's seconds, and a run resumed or started over stays said.
  bool one_command = false;

  // Called for each malformed document (with skip_errors) and each stage's progress.
  std::function<void(const Status&)> on_error;
  std::function<void(const std::string& stage, uint64_t done, uint64_t total)> on_progress;
};

// Sets the similarity options of a named preset; InvalidArgument for an unknown name.
Status ApplyDedupPreset(const std::string& name, DedupOptions* options);

struct DedupSummary {
  uint64_t documents = 0;      // documents read (malformed ones included)
  uint64_t kept = 0;
  uint64_t exact = 0;          // removed: exact duplicate (after normalization) of a kept one
  uint64_t near = 0;           // removed: near duplicate of a kept one
  uint64_t copy_limit = 0;     // removed: cluster already has max_copies members kept
  uint64_t index_matches = 0;  // removed: matches the --against index
  uint64_t malformed = 0;      // skipped
  uint64_t clusters = 0;       // clusters of two or more documents
  uint64_t skipped_binary = 0, skipped_empty = 0;  // files a directory's walk passed over
  uint64_t bytes_in = 0, bytes_out = 0;  // text bytes read and kept
  uint64_t spilled_runs = 0;   // sorted runs of bucket tuples written to disk (memory limit)
  bool resumed = false;        // some stage or shard was already done
  bool started_over = false;   // an unfinished run of other inputs or options was there, begun again
  double seconds_sketch = 0, seconds_cluster = 0, seconds_write = 0;
};

// Deduplicates `inputs` (JSONL / JSONL.gz / JSONL.zst shards, files, directories) into
// `output_dir`. Errors name the input and line. An output directory holding a run with other
// inputs or options is refused (InvalidArgument) rather than mixed with it.
Status Dedup(const std::vector<std::string>& inputs, const std::string& output_dir,
             const DedupOptions& options, DedupSummary* summary);

}  // namespace doppel
