// A protected index read together with an index of common code (IndexOptions::common_code).
#pragma once

#include <memory>
#include <string>

#include "doppel/index.h"

namespace doppel {

// Opens the index in `dir` and the common-code index options.common_code names, both read-only,
// the second required to have the first's parameters. The result answers every call from the
// protected index, except that each fingerprint list the protected index holds also tells which
// common documents hold it (Posting::common and common_ids; deleted ones left out). A list the
// protected index does not hold stays empty: common code alone is no evidence.
// InvalidArgument for a writable open or the same index twice (one directory, or a copy with
// the same RocksDB identity); Incompatible when the parameters differ; the common index's errors
// name it.
Result<std::unique_ptr<Index>> OpenWithCommonCode(const std::string& dir, const IndexOptions& options);

}  // namespace doppel
