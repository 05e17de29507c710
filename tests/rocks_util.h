// Tests that reach under the index: the RocksDB directory opened directly, to plant damage.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace doppel_test {

const std::vector<std::string> kCfNames = {"default", "meta",  "docs",  "names", "content",
                                           "sig",     "bands", "grams", "tokens"};

// Opens the index directory as a plain RocksDB database and overwrites one value.
inline void RawPut(const std::string& dir, const std::string& cf, const std::string& key,
            const std::string& value) {
  rocksdb::DBOptions dbo;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfds;
  for (const auto& n : kCfNames) cfds.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(dbo, dir, cfds, &handles, &db);
  INFO(s.ToString());
  REQUIRE(s.ok());
  const auto at = std::find(kCfNames.begin(), kCfNames.end(), cf) - kCfNames.begin();
  rocksdb::WriteOptions wo;
  wo.sync = true;
  s = db->Put(wo, handles[static_cast<size_t>(at)], key, value);
  REQUIRE(s.ok());
  REQUIRE(db->Flush(rocksdb::FlushOptions(), handles).ok());
  for (auto* h : handles) REQUIRE(db->DestroyColumnFamilyHandle(h).ok());
  REQUIRE(db->Close().ok());
  delete db;
}

}  // namespace doppel_test
