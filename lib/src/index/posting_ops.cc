#include "posting_ops.h"

#include "codec.h"

namespace doppel {
namespace {

// Unions encoded posting values into `*acc`; false on a corrupt value. Sets `*saturated` when
// any value is saturated (the union then no longer matters).
bool UnionInto(const rocksdb::Slice& value, Roaring* acc, bool* saturated) {
  Roaring ids;
  bool sat = false;
  if (!codec::DecodePosting(std::string_view(value.data(), value.size()), &ids, &sat).ok()) {
    return false;
  }
  if (sat) {
    *saturated = true;
  } else if (!*saturated) {
    *acc |= ids;
  }
  return true;
}

void Encode(const Roaring& acc, bool saturated, uint32_t cap, std::string* out) {
  if (saturated || acc.cardinality() > cap) {
    *out = codec::EncodeSaturated();
    return;
  }
  Roaring copy = acc;
  copy.runOptimize();
  *out = codec::EncodePosting(copy);
}

}  // namespace

bool PostingMergeOperator::FullMergeV2(const MergeOperationInput& in,
                                       MergeOperationOutput* out) const {
  try {
    Roaring acc;
    bool saturated = false;
    if (in.existing_value != nullptr && !UnionInto(*in.existing_value, &acc, &saturated)) {
      return false;
    }
    for (const auto& op : in.operand_list) {
      if (!UnionInto(op, &acc, &saturated)) return false;
    }
    Encode(acc, saturated, cap_.load(std::memory_order_relaxed), &out->new_value);
    return true;
  } catch (...) {
    return false;
  }
}

bool PostingMergeOperator::PartialMergeMulti(const rocksdb::Slice& /*key*/,
                                             const std::deque<rocksdb::Slice>& operands,
                                             std::string* new_value,
                                             rocksdb::Logger* /*logger*/) const {
  try {
    Roaring acc;
    bool saturated = false;
    for (const auto& op : operands) {
      if (!UnionInto(op, &acc, &saturated)) return false;
    }
    Encode(acc, saturated, cap_.load(std::memory_order_relaxed), new_value);
    return true;
  } catch (...) {
    return false;
  }
}

bool DeletedIdsFilter::Filter(int /*level*/, const rocksdb::Slice& /*key*/,
                              const rocksdb::Slice& existing_value, std::string* new_value,
                              bool* value_changed) const {
  try {
    const auto deleted = deleted_->Get();
    if (deleted->isEmpty()) return false;
    Roaring ids;
    bool saturated = false;
    if (!codec::DecodePosting(std::string_view(existing_value.data(), existing_value.size()),
                              &ids, &saturated)
             .ok() ||
        saturated) {
      return false;  // keep what we cannot or need not rewrite; Verify reports corrupt values
    }
    const uint64_t before = ids.cardinality();
    ids -= *deleted;
    if (ids.cardinality() == before) return false;
    if (ids.isEmpty()) return true;  // drop the key
    ids.runOptimize();
    *new_value = codec::EncodePosting(ids);
    *value_changed = true;
    return false;
  } catch (...) {
    return false;
  }
}

}  // namespace doppel
