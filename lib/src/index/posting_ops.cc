#include "posting_ops.h"

#include <algorithm>
#include <iterator>
#include <vector>

#include "codec.h"

namespace doppel {
namespace {

// Fast path: when every value is a short array (the common case while building), merge the
// sorted id lists directly instead of going through Roaring bitmaps. Returns false when some
// value is not an array (or is corrupt), leaving the general path to decide.
bool MergeArrays(const rocksdb::Slice* existing, const rocksdb::Slice* ops, size_t n_ops,
                 const std::deque<rocksdb::Slice>* dq, uint32_t cap, const Roaring& deleted,
                 std::string* out) {
  thread_local std::vector<uint32_t> acc, one, tmp;
  acc.clear();
  auto add = [&](const rocksdb::Slice& v) {
    if (v.size() == 0 || static_cast<uint8_t>(v[0]) != codec::kPostingArray) return false;
    bool sat = false;
    if (!codec::DecodePostingIds(std::string_view(v.data(), v.size()), &one, &sat).ok()) return false;
    tmp.clear();
    std::set_union(acc.begin(), acc.end(), one.begin(), one.end(), std::back_inserter(tmp));
    acc.swap(tmp);
    return true;
  };
  if (existing != nullptr && !add(*existing)) return false;
  for (size_t i = 0; i < n_ops; ++i) {
    if (!add(ops ? ops[i] : (*dq)[i])) return false;
  }
  if (!deleted.isEmpty()) {
    acc.erase(std::remove_if(acc.begin(), acc.end(), [&](uint32_t id) { return deleted.contains(id); }),
              acc.end());
  }
  if (acc.size() > cap) {
    *out = codec::EncodeSaturated();
  } else if (acc.size() <= codec::kMaxArrayPosting) {
    codec::EncodePostingArray(acc.data(), acc.size(), out);
  } else {
    Roaring r(acc.size(), acc.data());
    r.runOptimize();
    *out = codec::EncodePosting(r);
  }
  return true;
}

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

void Encode(Roaring& acc, bool saturated, uint32_t cap, const Roaring& deleted, std::string* out) {
  if (!saturated && !deleted.isEmpty()) acc -= deleted;
  if (saturated || acc.cardinality() > cap) {
    *out = codec::EncodeSaturated();
    return;
  }
  if (acc.cardinality() <= codec::kMaxArrayPosting) {
    *out = codec::EncodePosting(acc);
    return;
  }
  acc.runOptimize();
  *out = codec::EncodePosting(acc);
}

}  // namespace

namespace {
thread_local int keep_deleted_depth = 0;
}  // namespace

KeepDeletedIdsOnThisThread::KeepDeletedIdsOnThisThread() { ++keep_deleted_depth; }
KeepDeletedIdsOnThisThread::~KeepDeletedIdsOnThisThread() { --keep_deleted_depth; }
bool KeepDeletedIdsOnThisThread::Active() { return keep_deleted_depth > 0; }

void PostingMergeOperator::CountEmpty(const std::string& value) const {
  static const std::string kEmpty = [] {
    std::string e;
    codec::EncodePostingArray(nullptr, 0, &e);
    return e;
  }();
  if (value == kEmpty) empty_results_.fetch_add(1, std::memory_order_relaxed);
}

bool PostingMergeOperator::FullMergeV2(const MergeOperationInput& in,
                                       MergeOperationOutput* out) const {
  try {
    static const auto kNone = std::make_shared<const Roaring>();
    const auto deleted = KeepDeletedIdsOnThisThread::Active() ? kNone : deleted_->Get();
    if (MergeArrays(in.existing_value, in.operand_list.data(), in.operand_list.size(), nullptr,
                    cap_.load(std::memory_order_relaxed), *deleted, &out->new_value)) {
      CountEmpty(out->new_value);
      return true;
    }
    Roaring acc;
    bool saturated = false;
    if (in.existing_value != nullptr && !UnionInto(*in.existing_value, &acc, &saturated)) {
      return false;
    }
    for (const auto& op : in.operand_list) {
      if (!UnionInto(op, &acc, &saturated)) return false;
    }
    Encode(acc, saturated, cap_.load(std::memory_order_relaxed), *deleted, &out->new_value);
    CountEmpty(out->new_value);
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
    const auto deleted = deleted_->Get();
    if (MergeArrays(nullptr, nullptr, operands.size(), &operands,
                    cap_.load(std::memory_order_relaxed), *deleted, new_value)) {
      return true;
    }
    Roaring acc;
    bool saturated = false;
    for (const auto& op : operands) {
      if (!UnionInto(op, &acc, &saturated)) return false;
    }
    Encode(acc, saturated, cap_.load(std::memory_order_relaxed), *deleted, new_value);
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
    if (ids.isEmpty()) return true;  // drop the key (also a list a merge left empty)
    if (ids.cardinality() == before) return false;
    ids.runOptimize();
    *new_value = codec::EncodePosting(ids);
    *value_changed = true;
    return false;
  } catch (...) {
    return false;
  }
}

}  // namespace doppel
