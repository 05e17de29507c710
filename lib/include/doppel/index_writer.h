// BuildIndex: the parallel indexing pipeline behind `doppel-index build` and `add`.
//
// read (serial, in input order) → tokenize + sketch (parallel, TBB) → write (serial, in order,
// one atomic RocksDB batch per chunk). Documents keep their input order, so ids and results do
// not depend on the number of threads. Re-running on the same inputs writes nothing.
// Thread-safety: one BuildIndex per Index at a time.
#pragma once

#include <cstdint>
#include <functional>

#include "doppel/index.h"
#include "doppel/reader.h"

namespace doppel {

struct BuildProgress {
  uint64_t documents = 0;       // documents written or skipped so far
  uint64_t bytes = 0;           // their text bytes
  uint64_t input_consumed = 0;  // stored input bytes read
  uint64_t input_total = 0;     // stored input bytes in all (0 when unknown)
  double seconds = 0;
};

struct BuildOptions {
  // Worker threads for tokenizing and sketching; 0 = every core.
  int threads = 0;
  // A chunk of about this many text bytes is sketched and written as one batch. Larger batches
  // merge more posting-list updates per key; smaller ones lose less work on a crash.
  uint64_t batch_bytes = uint64_t{4} << 20;
  // On a bad document (invalid UTF-8, malformed JSON line, ...): false stops the build at the
  // first one (what was written before stays), true reports it and goes on.
  bool skip_errors = false;
  // Called for every bad document, with the error naming its input and position.
  std::function<void(const Status&)> on_error;
  // Called after each batch.
  std::function<void(const BuildProgress&)> on_progress;
};

struct BuildSummary {
  WriteSummary written;
  uint64_t documents = 0;  // documents read and sketched
  uint64_t bytes = 0;
  uint64_t errors = 0;     // bad documents reported through on_error
  // Documents whose name and content this run had already read (an input given twice, or a
  // directory and a file inside it): skipped. A name read again with other content is an error.
  uint64_t repeated = 0;
  double seconds = 0;
};

// Returns the first error when !skip_errors, else OK with errors counted.
Status BuildIndex(Index* index, DocumentReader* reader, const BuildOptions& options,
                  BuildSummary* summary);

}  // namespace doppel
