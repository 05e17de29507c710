// The Index over the shards of a sharded index (see ShardOf in doppel/index.h).
#pragma once

#include <memory>
#include <string>

#include "doppel/index.h"

namespace doppel {

// The database identity an ordinary index's directory holds now (RocksDB's IDENTITY file; a
// copied directory keeps it), or "" when unreadable (a sharded index, nothing there).
std::string ReadRocksIdentity(const std::string& dir);
// An ordinary (single RocksDB) index, whatever `dir` holds.
Result<std::unique_ptr<Index>> OpenRocksIndex(const std::string& dir, const IndexOptions& options);
// All `shards` shards of the sharded index in `dir`; a missing shard is NotFound naming it
// unless the open may create it.
Result<std::unique_ptr<Index>> OpenShardedIndex(const std::string& dir, uint32_t shards,
                                                const IndexOptions& options);

}  // namespace doppel
