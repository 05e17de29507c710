// A protected index read together with an index of common code (IndexOptions::common_code).
#pragma once

#include <memory>
#include <string>

#include "doppel/index.h"

namespace doppel {

// Opens the index in `dir` and the common-code index options.common_code names, both read-only,
// the second required to have the first's parameters. The result answers every call from the
// protected index, except that a fingerprint's posting list also holds the common documents
// that share it, under ids from kCommonCodeIds on that IsDeleted reports as deleted: they count
// in document frequencies (and joint rarity), while nothing that skips deleted ids ever reads
// them as documents. A list the protected index does not hold stays empty (common code alone is
// no evidence), and one the common index saturates becomes saturated (boilerplate).
// InvalidArgument for a writable open or the same directory twice; Incompatible when the
// parameters differ; the common index's errors name it.
Result<std::unique_ptr<Index>> OpenWithCommonCode(const std::string& dir, const IndexOptions& options);

// Common documents' ids in merged posting lists: kCommonCodeIds + their own id. A protected
// index's ids stay below it (ids are assigned one by one from 0).
inline constexpr uint32_t kCommonCodeIds = 0x80000000u;

}  // namespace doppel
