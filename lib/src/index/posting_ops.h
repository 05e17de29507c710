// RocksDB hooks for posting lists: the merge operator that appends ids, and the compaction
// filter that drops deleted ids. Exceptions never cross into RocksDB: every entry point catches
// them and reports failure the way RocksDB expects (a failed merge surfaces as Corruption).
#pragma once

#include <rocksdb/compaction_filter.h>
#include <rocksdb/merge_operator.h>
#include <roaring/roaring.hh>

#include <atomic>
#include <memory>
#include <mutex>

namespace doppel {

// The set of removed document ids, shared by the index and its compaction filter.
class DeletedIds {
 public:
  std::shared_ptr<const Roaring> Get() const {
    std::lock_guard<std::mutex> l(mu_);
    return ids_;
  }
  void Set(std::shared_ptr<const Roaring> ids) {
    std::lock_guard<std::mutex> l(mu_);
    ids_ = std::move(ids);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Roaring> ids_ = std::make_shared<Roaring>();
};

// While one lives, the merge operator keeps removed documents' ids in the lists read on this
// thread: Verify counts the ids compaction has yet to drop, which reads otherwise hide. (RocksDB
// merges what a read finds on the reading thread; flushes and compactions run on its own.)
// (Defined in posting_ops.cc, with the thread's count: a thread_local static member read from
// inline code in another file is a null load to UBSan's eyes with GCC.)
class KeepDeletedIdsOnThisThread {
 public:
  KeepDeletedIdsOnThisThread();
  ~KeepDeletedIdsOnThisThread();
  KeepDeletedIdsOnThisThread(const KeepDeletedIdsOnThisThread&) = delete;
  KeepDeletedIdsOnThisThread& operator=(const KeepDeletedIdsOnThisThread&) = delete;
  static bool Active();
};

// Union of Roaring posting values; a union larger than the cap becomes the saturated marker.
// RocksDB does not persist the operator's name, so the manifest's format version covers it.
// Ids of removed documents are dropped from every merge result as well (ids are never reused),
// because RocksDB runs compaction filters on stored values but not on the values it merges.
class PostingMergeOperator final : public rocksdb::MergeOperator {
 public:
  explicit PostingMergeOperator(std::shared_ptr<DeletedIds> deleted) : deleted_(std::move(deleted)) {}
  const char* Name() const override { return "doppel.PostingUnion.v1"; }
  void set_cap(uint32_t cap) { cap_.store(cap, std::memory_order_relaxed); }
  // How many merges so far left a list empty (every id removed). A merge cannot delete its key,
  // and the compaction that merged it does not filter what it merged: the empty value stays
  // until a later compaction's filter drops it.
  uint64_t empty_results() const { return empty_results_.load(std::memory_order_relaxed); }
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override;
  bool PartialMergeMulti(const rocksdb::Slice& key, const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value, rocksdb::Logger* logger) const override;

 private:
  // Counts `value` in empty_results_ when it is an empty list.
  void CountEmpty(const std::string& value) const;
  std::atomic<uint32_t> cap_{UINT32_MAX};
  mutable std::atomic<uint64_t> empty_results_{0};
  std::shared_ptr<DeletedIds> deleted_;
};

class DeletedIdsFilter final : public rocksdb::CompactionFilter {
 public:
  explicit DeletedIdsFilter(std::shared_ptr<DeletedIds> deleted) : deleted_(std::move(deleted)) {}
  const char* Name() const override { return "doppel.DropDeletedIds.v1"; }
  bool Filter(int level, const rocksdb::Slice& key, const rocksdb::Slice& existing_value,
              std::string* new_value, bool* value_changed) const override;

 private:
  std::shared_ptr<DeletedIds> deleted_;
};

}  // namespace doppel
