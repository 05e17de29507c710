// Tests of the RocksDB index (doppel/index.h) on real directories.
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <set>

#include "doppel/code_tokenizer.h"
#include "doppel/index.h"
#include "doppel/language.h"
#include "doppel/token_stream.h"
#include "doppel/index_writer.h"
#include "doppel/reader.h"
#include "doppel/sketch.h"
#include "index/codec.h"
#include "index/posting_cache.h"
#include "rocks_util.h"
#include "test_util.h"

using namespace doppel;
using doppel_test::Contains;
using doppel_test::RawPut;
using doppel_test::MakeDoc;
using doppel_test::SketchAll;
using doppel_test::TempDir;

namespace {

IndexOptions Options(bool create, bool read_only = false, std::optional<SketchParams> params = std::nullopt) {
  IndexOptions o;
  o.create_if_missing = create;
  o.read_only = read_only;
  o.params = params;
  return o;
}

std::unique_ptr<Index> OpenOk(const std::string& dir, const IndexOptions& o) {
  auto r = Index::Open(dir, o);
  INFO("opening " << dir << ": " << r.status().ToString());
  REQUIRE(r.ok());
  return std::move(r).value();
}

std::unique_ptr<Index> OpenOk(const std::string& dir, bool create, bool read_only = false,
                              std::optional<SketchParams> params = std::nullopt) {
  return OpenOk(dir, Options(create, read_only, params));
}

Status OpenStatus(const std::string& dir, bool create, bool read_only = false,
                  std::optional<SketchParams> params = std::nullopt) {
  return Index::Open(dir, Options(create, read_only, params)).status();
}

// A reader's Verify beside a live writer, as a client does it: Unavailable ("verify again": a
// background compaction of the writer replaced table files the reader had opened) reopens the
// reader and verifies again, a few times at most; any other result is returned.
Status VerifyBesideWriter(const std::string& dir, std::unique_ptr<Index>* reader, VerifyReport* report) {
  Status s;
  for (int attempt = 0; attempt < 5; ++attempt) {
    s = (*reader)->Verify({}, report);
    if (s.code() != Status::Code::kUnavailable) return s;
    *reader = OpenOk(dir, false, true);
  }
  return s;
}

// A bulk-loading writer (as `doppel-index build` opens a new index).
std::unique_ptr<Index> OpenBulkOk(const std::string& dir) {
  IndexOptions o = Options(true);
  o.bulk_load = true;
  return OpenOk(dir, o);
}

WriteSummary WriteOk(Index* index, std::vector<SketchedDocument> batch) {
  WriteSummary sum;
  const Status s = index->Write(&batch, &sum);
  INFO(s.ToString());
  REQUIRE(s.ok());
  return sum;
}

uint32_t IdOf(const Index& index, const std::string& name) {
  auto r = index.FindName(name);
  REQUIRE(r.ok());
  REQUIRE(r.value().has_value());
  return *r.value();
}

// Three documents of distinct random words, with metadata and a language on the second.
std::vector<Document> ThreeDocs(uint64_t seed = 42) {
  std::mt19937_64 rng(seed);
  std::vector<Document> docs;
  docs.push_back(MakeDoc("docs/alpha.txt", doppel_test::RandomWords(rng, 150)));
  docs.push_back(MakeDoc("docs/beta.txt", doppel_test::RandomWords(rng, 120),
                         R"({"license":"MIT","n":3})"));
  docs.back().language = "en";
  docs.push_back(MakeDoc("docs/gamma.txt", doppel_test::RandomWords(rng, 200)));
  return docs;
}

// One small Python function as a code document.
Document SmallPythonDoc() {
  Document code = MakeDoc("src/sum.py", "def total(values):\n    result = 0\n    for v in values:\n"
                                        "        result += v * v\n    return result\n");
  code.kind = Kind::kCode;
  code.language = "python";
  return code;
}

}  // namespace

TEST_CASE("index: opening a missing directory without create is NotFound", "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "no-such-index";
  const Status s = OpenStatus(dir, /*create=*/false);
  CHECK(s.code() == Status::Code::kNotFound);
  CHECK(Contains(s.message(), dir));
  CHECK(OpenStatus(dir, /*create=*/true, /*read_only=*/true).code() == Status::Code::kNotFound);
  CHECK_FALSE(std::filesystem::exists(dir));  // a typo never builds an empty index
  // An existing but empty directory is not an index either.
  std::filesystem::create_directory(dir);
  CHECK(OpenStatus(dir, false).code() == Status::Code::kNotFound);
}

TEST_CASE("index: documents written are read back after reopening read-only", "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  const SketchParams params;
  auto sketched = SketchAll(params, ThreeDocs());
  const auto expected = sketched;  // copies, before Write consumes the batch
  {
    auto index = OpenOk(dir, true);
    const WriteSummary sum = WriteOk(index.get(), sketched);
    CHECK(sum.added == 3);
    CHECK(sum.replaced == 0);
    CHECK(sum.unchanged == 0);
  }
  auto index = OpenOk(dir, false, /*read_only=*/true);
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto& sd = expected[i];
    INFO(sd.doc.name);
    const uint32_t id = IdOf(*index, sd.doc.name);
    CHECK(id == i);  // ids in input order
    auto info = index->GetDocument(id);
    REQUIRE(info.ok());
    CHECK(info->id == id);
    CHECK(info->name == sd.doc.name);
    CHECK(info->kind == Kind::kText);
    CHECK(info->language == sd.doc.language);
    CHECK(info->bytes == sd.doc.text.size());
    CHECK(info->num_tokens == sd.num_tokens);
    CHECK(info->content_hash == sd.content_hash);
    CHECK(info->metadata == sd.doc.metadata);
    auto content = index->GetContent(id);
    REQUIRE(content.ok());
    CHECK(content.value() == sd.doc.text);
    auto sig = index->GetSignature(id);
    REQUIRE(sig.ok());
    CHECK(sig.value() == sd.signature);
    CHECK_FALSE(index->IsDeleted(id));
  }
  auto none = index->FindName("docs/missing.txt");
  REQUIRE(none.ok());
  CHECK_FALSE(none.value().has_value());
  CHECK(index->GetDocument(17).status().code() == Status::Code::kNotFound);
  CHECK(index->GetContent(17).status().code() == Status::Code::kNotFound);
  CHECK(index->GetSignature(17).status().code() == Status::Code::kNotFound);
  CHECK(index->params().shingle_size == params.shingle_size);
  CHECK(index->dir() == dir);
}

TEST_CASE("index: Stats counts live documents, bytes and keys", "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  auto sketched = SketchAll(SketchParams{}, ThreeDocs());
  uint64_t bytes = 0;
  for (const auto& sd : sketched) bytes += sd.doc.text.size();
  {
    auto index = OpenOk(dir, true);
    auto empty = index->Stats();
    REQUIRE(empty.ok());
    CHECK(empty->documents == 0);
    CHECK(empty->bytes == 0);
    WriteOk(index.get(), sketched);
    auto st = index->Stats();
    REQUIRE(st.ok());
    CHECK(st->documents == 3);
    CHECK(st->bytes == bytes);
    CHECK(st->deleted == 0);
  }
  auto index = OpenOk(dir, false, true);
  auto st = index->Stats();
  REQUIRE(st.ok());
  CHECK(st->documents == 3);
  CHECK(st->bytes == bytes);
  CHECK(st->deleted == 0);
  CHECK(st->band_keys > 0);
  CHECK(st->fingerprints > 0);
  CHECK(st->size_on_disk > 0);
  VerifyReport report;
  REQUIRE(index->Verify({}, &report).ok());
  CHECK(report.documents == 3);
  CHECK(report.bytes == bytes);
}

TEST_CASE("index: re-writing the same documents reports them unchanged", "[index]") {
  TempDir tmp;
  auto index = OpenOk(tmp / "idx", true);
  WriteOk(index.get(), SketchAll(SketchParams{}, ThreeDocs()));
  const WriteSummary again = WriteOk(index.get(), SketchAll(SketchParams{}, ThreeDocs()));
  CHECK(again.added == 0);
  CHECK(again.replaced == 0);
  CHECK(again.unchanged == 3);
  auto st = index->Stats();
  REQUIRE(st.ok());
  CHECK(st->documents == 3);
  CHECK(st->deleted == 0);
  // Skipped documents consume no ids: the next new document gets id 3.
  WriteOk(index.get(), SketchAll(SketchParams{}, {MakeDoc("new", "a brand new document")}));
  CHECK(IdOf(*index, "new") == 3);
}

TEST_CASE("index: changed content replaces the document under a new id", "[index]") {
  TempDir tmp;
  auto index = OpenOk(tmp / "idx", true);
  WriteOk(index.get(), SketchAll(SketchParams{}, ThreeDocs()));
  const uint32_t old_id = IdOf(*index, "docs/beta.txt");
  const WriteSummary sum = WriteOk(
      index.get(), SketchAll(SketchParams{}, {MakeDoc("docs/beta.txt", "entirely new words here")}));
  CHECK(sum.replaced == 1);
  CHECK(sum.added == 0);
  CHECK(sum.unchanged == 0);
  const uint32_t new_id = IdOf(*index, "docs/beta.txt");
  CHECK(new_id != old_id);
  CHECK(new_id == 3);
  CHECK(index->IsDeleted(old_id));
  CHECK_FALSE(index->IsDeleted(new_id));
  CHECK(index->GetDocument(old_id).status().code() == Status::Code::kNotFound);
  CHECK(index->GetContent(old_id).status().code() == Status::Code::kNotFound);
  auto content = index->GetContent(new_id);
  REQUIRE(content.ok());
  CHECK(content.value() == "entirely new words here");
  auto st = index->Stats();
  REQUIRE(st.ok());
  CHECK(st->documents == 3);
  CHECK(st->deleted == 1);

  // Same text, other metadata: also a replacement (metadata is part of what is stored).
  auto docs = ThreeDocs();
  docs[0].metadata = R"({"license":"GPL"})";
  const WriteSummary meta = WriteOk(index.get(), SketchAll(SketchParams{}, {docs[0]}));
  CHECK(meta.replaced == 1);
  auto info = index->GetDocument(IdOf(*index, "docs/alpha.txt"));
  REQUIRE(info.ok());
  CHECK(info->metadata == R"({"license":"GPL"})");
  VerifyReport report;
  CHECK(index->Verify({}, &report).ok());
}

TEST_CASE("index: the same name twice in one batch keeps the later version", "[index]") {
  TempDir tmp;
  auto index = OpenOk(tmp / "idx", true);
  const WriteSummary sum = WriteOk(
      index.get(), SketchAll(SketchParams{}, {MakeDoc("dup", "first version of the text"),
                                              MakeDoc("other", "something else entirely"),
                                              MakeDoc("dup", "second version of the text")}));
  CHECK(sum.added == 2);
  CHECK(sum.replaced == 1);
  const uint32_t id = IdOf(*index, "dup");
  CHECK(id == 2);
  CHECK(index->IsDeleted(0));
  CHECK(index->GetDocument(0).status().code() == Status::Code::kNotFound);
  auto content = index->GetContent(id);
  REQUIRE(content.ok());
  CHECK(content.value() == "second version of the text");
  auto st = index->Stats();
  REQUIRE(st.ok());
  CHECK(st->documents == 2);
  CHECK(st->bytes == std::string("second version of the text").size() +
                         std::string("something else entirely").size());
  VerifyReport report;
  CHECK(index->Verify({}, &report).ok());

  // Identical twice in one batch: the second is unchanged.
  const WriteSummary same = WriteOk(
      index.get(), SketchAll(SketchParams{}, {MakeDoc("twin", "identical twin text"),
                                              MakeDoc("twin", "identical twin text")}));
  CHECK(same.added == 1);
  CHECK(same.unchanged == 1);
  CHECK(same.replaced == 0);
}

TEST_CASE("index: Remove deletes every record and decreases Stats", "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  auto sketched = SketchAll(SketchParams{}, ThreeDocs());
  const uint64_t beta_bytes = sketched[1].doc.text.size();
  uint32_t id = 0;
  uint64_t bytes_before = 0;
  {
    auto index = OpenOk(dir, true);
    WriteOk(index.get(), sketched);
    id = IdOf(*index, "docs/beta.txt");
    bytes_before = index->Stats()->bytes;
    uint64_t removed = 0, missing = 0;
    const std::vector<std::string> names = {"docs/beta.txt", "docs/not-there.txt"};
    REQUIRE(index->Remove(names, &removed, &missing).ok());
    CHECK(removed == 1);
    CHECK(missing == 1);
    CHECK(index->GetDocument(id).status().code() == Status::Code::kNotFound);
    CHECK(index->GetContent(id).status().code() == Status::Code::kNotFound);
    CHECK(index->GetSignature(id).status().code() == Status::Code::kNotFound);
    CHECK_FALSE(index->FindName("docs/beta.txt").value().has_value());
    CHECK(index->IsDeleted(id));
    // Removing again is not an error; the name is missing now.
    removed = missing = 0;
    REQUIRE(index->Remove(std::vector<std::string>{"docs/beta.txt"}, &removed, &missing).ok());
    CHECK(removed == 0);
    CHECK(missing == 1);
  }
  auto index = OpenOk(dir, false, true);
  auto st = index->Stats();
  REQUIRE(st.ok());
  CHECK(st->documents == 2);
  CHECK(st->bytes == bytes_before - beta_bytes);
  CHECK(st->deleted == 1);
  CHECK(index->IsDeleted(id));
  CHECK(index->GetDocument(id).status().code() == Status::Code::kNotFound);
  CHECK(IdOf(*index, "docs/alpha.txt") == 0);
  VerifyReport report;
  REQUIRE(index->Verify({}, &report).ok());
  CHECK(report.documents == 2);
}

TEST_CASE("index: ids are never reused after removal", "[index]") {
  TempDir tmp;
  auto index = OpenOk(tmp / "idx", true);
  WriteOk(index.get(), SketchAll(SketchParams{}, ThreeDocs()));
  uint64_t removed = 0, missing = 0;
  REQUIRE(index->Remove(std::vector<std::string>{"docs/gamma.txt"}, &removed, &missing).ok());
  REQUIRE(removed == 1);
  WriteOk(index.get(), SketchAll(SketchParams{}, {MakeDoc("docs/gamma.txt", "back again")}));
  CHECK(IdOf(*index, "docs/gamma.txt") == 3);
  CHECK(index->IsDeleted(2));
}

TEST_CASE("index: removed ids leave merged posting lists at once, stored ones at compaction", "[index]") {
  TempDir tmp;
  auto index = OpenOk(tmp / "idx", true);
  auto sketched = SketchAll(SketchParams{}, ThreeDocs());
  const auto beta_fps = sketched[1].fingerprints;
  WriteOk(index.get(), sketched);
  const uint32_t id = IdOf(*index, "docs/beta.txt");
  VerifyReport clean;
  REQUIRE(index->Verify({}, &clean).ok());
  CHECK(clean.deleted_refs == 0);
  uint64_t removed = 0, missing = 0;
  REQUIRE(index->Remove(std::vector<std::string>{"docs/beta.txt"}, &removed, &missing).ok());
  VerifyReport before;
  REQUIRE(index->Verify({}, &before).ok());
  INFO("before compaction: " << before.ToString());
  // Posting lists still held as merge operands are merged without the removed id.
  std::vector<Posting> postings;
  REQUIRE(index->GetGramPostings(Kind::kText, beta_fps, &postings).ok());
  size_t still_named = 0;
  for (const auto& p : postings) still_named += std::count(p.ids.begin(), p.ids.end(), id);
  CHECK(still_named == 0);
  CHECK(index->IsDeleted(id));
  // Compaction keeps the live documents' postings.
  REQUIRE(index->Compact().ok());
  REQUIRE(index->GetGramPostings(Kind::kText, sketched[0].fingerprints, &postings).ok());
  for (const auto& p : postings) CHECK(std::count(p.ids.begin(), p.ids.end(), 0u) == 1);
  VerifyReport after;
  CHECK(index->Verify({}, &after).ok());
}

TEST_CASE("index: a compaction after removals leaves the posting lists a fresh index of the rest has", "[index]") {
  TempDir tmp;
  auto docs = ThreeDocs();
  auto index = OpenOk(tmp / "idx", true);
  WriteOk(index.get(), SketchAll(SketchParams{}, docs));
  uint64_t removed = 0, missing = 0;
  REQUIRE(index->Remove(std::vector<std::string>{"docs/beta.txt"}, &removed, &missing).ok());
  REQUIRE(removed == 1);
  REQUIRE(index->Compact().ok());
  VerifyReport compacted;
  REQUIRE(index->Verify({}, &compacted).ok());
  auto fresh = OpenOk(tmp / "fresh", true);
  docs.erase(std::remove_if(docs.begin(), docs.end(), [](const Document& d) { return d.name == "docs/beta.txt"; }),
             docs.end());
  REQUIRE(docs.size() == 2);
  WriteOk(fresh.get(), SketchAll(SketchParams{}, docs));
  VerifyReport rest;
  REQUIRE(fresh->Verify({}, &rest).ok());
  INFO("compacted: " << compacted.ToString() << "\nfresh: " << rest.ToString());
  // The lists only the removed document held are gone, not kept empty.
  CHECK(compacted.posting_lists == rest.posting_lists);
  CHECK(compacted.postings == rest.postings);
  CHECK(compacted.deleted_refs == 0);
}

// Index::Compact promises to drop deleted ids from posting lists. RocksDB does not pass merge
// results to the compaction filter, so the merge operator drops deleted ids itself.
TEST_CASE("index: one Compact drops removed ids from posting lists", "[index]") {
  TempDir tmp;
  auto index = OpenOk(tmp / "idx", true);
  auto sketched = SketchAll(SketchParams{}, ThreeDocs());
  const auto beta_fps = sketched[1].fingerprints;
  WriteOk(index.get(), sketched);
  const uint32_t id = IdOf(*index, "docs/beta.txt");
  uint64_t removed = 0, missing = 0;
  REQUIRE(index->Remove(std::vector<std::string>{"docs/beta.txt"}, &removed, &missing).ok());
  VerifyReport before;
  REQUIRE(index->Verify({}, &before).ok());
  REQUIRE(index->Compact().ok());
  VerifyReport after;
  REQUIRE(index->Verify({}, &after).ok());
  INFO("before compaction: " << before.ToString());
  INFO("after compaction: " << after.ToString());
  CHECK(before.deleted_refs > 0);  // counted as stored, though reads no longer see them
  CHECK(after.deleted_refs == 0);
  CHECK(after.postings == before.postings);  // the live ones
  std::vector<Posting> postings;
  REQUIRE(index->GetGramPostings(Kind::kText, beta_fps, &postings).ok());
  size_t still_named = 0;
  for (const auto& p : postings) still_named += std::count(p.ids.begin(), p.ids.end(), id);
  CHECK(still_named == 0);
}

TEST_CASE("index: opening with other SketchParams is Incompatible naming both values",
          "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  {
    auto index = OpenOk(dir, true);
    WriteOk(index.get(), SketchAll(SketchParams{}, ThreeDocs()));
  }
  SketchParams other;
  other.shingle_size = SketchParams{}.shingle_size + 1;
  for (bool read_only : {false, true}) {
    INFO("read_only=" << read_only);
    const Status s = OpenStatus(dir, !read_only, read_only, other);
    CHECK(s.code() == Status::Code::kIncompatible);
    CHECK(Contains(s.message(), "shingle_size"));
    CHECK(Contains(s.message(), "index " + std::to_string(SketchParams{}.shingle_size)));
    CHECK(Contains(s.message(), "requested " + std::to_string(other.shingle_size)));
    CHECK(Contains(s.message(), dir));
  }
  // The same parameters given explicitly are fine; unset parameters take the index's own.
  OpenOk(dir, false, false, SketchParams{});
  SketchParams custom;
  custom.window = SketchParams{}.window + 2;
  const std::string dir2 = tmp / "idx2";
  OpenOk(dir2, true, false, custom);
  auto reopened = OpenOk(dir2, false, true);
  CHECK(reopened->params().window == custom.window);
}

// `doppel-index build --window 9` on an index built with window 8 is refused; the refused
// writer must not write its empty counters on the way out, or the next writer takes every stored
// document for a killed bulk load's and removes it.
TEST_CASE("index: a bulk load refused for other parameters leaves the stored documents", "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  WriteOk(OpenBulkOk(dir).get(), SketchAll(SketchParams{}, ThreeDocs()));
  SketchParams other;
  other.window = SketchParams{}.window + 1;
  IndexOptions bulk = Options(true, false, other);
  bulk.bulk_load = true;
  REQUIRE(Index::Open(dir, bulk).status().code() == Status::Code::kIncompatible);
  {
    auto writer = OpenOk(dir, false);
    std::mt19937_64 rng(7);
    WriteOk(writer.get(), SketchAll(SketchParams{}, {MakeDoc("docs/delta.txt", doppel_test::RandomWords(rng, 100))}));
  }
  auto index = OpenOk(dir, false, true);
  CHECK(index->Stats()->documents == 4);
  CHECK(index->Stats()->deleted == 0);
  CHECK(IdOf(*index, "docs/alpha.txt") == 0);
  CHECK(IdOf(*index, "docs/delta.txt") == 3);
  VerifyReport report;
  CHECK(index->Verify({}, &report).ok());
}

TEST_CASE("index: a MANIFEST cut back to an older state is refused and its newer tables stay", "[index]") {
  namespace fs = std::filesystem;
  TempDir tmp;
  const std::string dir = tmp / "idx";
  const auto sketched = SketchAll(SketchParams{}, ThreeDocs());
  std::string manifest;
  uintmax_t older_size = 0;
  {
    auto writer = OpenOk(dir, true);
    WriteOk(writer.get(), {sketched[0]});
    REQUIRE(writer->Flush().ok());
    manifest = dir + "/" + doppel_test::ReadFile(dir + "/CURRENT");
    manifest.pop_back();  // CURRENT ends with a newline
    older_size = fs::file_size(manifest);  // the MANIFEST as it was after the first flush
    WriteOk(writer.get(), {sketched[1], sketched[2]});
    REQUIRE(writer->Flush().ok());
  }
  REQUIRE(fs::file_size(manifest) > older_size);
  auto tables = [&] {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() == ".sst") names.insert(e.path().filename().string());
    }
    return names;
  };
  const auto before = tables();
  // Cut where a record ends: RocksDB reads a whole, older MANIFEST and cannot tell.
  fs::resize_file(manifest, older_size);
  for (bool read_only : {false, true}) {
    INFO("read_only=" << read_only);
    const Status s = OpenStatus(dir, false, read_only);
    CHECK(s.code() == Status::Code::kCorruption);
    CHECK(Contains(s.message(), "older state than its last completed write"));
    CHECK(Contains(s.message(), dir));
  }
  CHECK(tables() == before);  // nothing deleted
}

TEST_CASE("index: reopened for writing many times it is never taken for an older state nor keeps empty logs",
          "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  const auto sketched = SketchAll(SketchParams{}, ThreeDocs());
  for (int round = 0; round < 3; ++round) {
    auto writer = OpenOk(dir, true);
    WriteOk(writer.get(), {sketched[round]});
  }
  {
    auto writer = OpenOk(dir, false);
    uint64_t removed = 0, missing = 0;
    REQUIRE(writer->Remove(std::vector<std::string>{"docs/beta.txt"}, &removed, &missing).ok());
    REQUIRE(writer->Compact().ok());
  }
  for (int round = 0; round < 5; ++round) OpenOk(dir, false);  // opened and closed without writes
  const std::string record = doppel_test::ReadFile(dir + "/DOPPEL-LAST-WRITE");
  CHECK(record.rfind("sequence ", 0) == 0);
  {
    auto index = OpenOk(dir, false, true);
    CHECK(index->Stats()->documents == 2);
  }
  // A damaged record is said as such (a digit changed would otherwise be a later write).
  std::string damaged = record;
  damaged[9] = damaged[9] == '9' ? '8' : static_cast<char>(damaged[9] + 1);
  doppel_test::WriteFile(dir + "/DOPPEL-LAST-WRITE", damaged);
  for (bool read_only : {false, true}) {
    const Status s = OpenStatus(dir, false, read_only);
    CHECK(s.code() == Status::Code::kCorruption);
    CHECK(Contains(s.message(), "DOPPEL-LAST-WRITE: the record of the index's last write is damaged"));
  }
  doppel_test::WriteFile(dir + "/DOPPEL-LAST-WRITE", record);
  auto index = OpenOk(dir, false, true);
  // One write-ahead log: the last writer's (RocksDB 7.8 left one more empty log per open).
  int logs = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) logs += e.path().extension() == ".log";
  CHECK(logs == 1);
}

TEST_CASE("index: an index that lost its CURRENT file is Corruption and never a new index", "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  WriteOk(OpenBulkOk(dir).get(), SketchAll(SketchParams{}, ThreeDocs()));
  std::filesystem::remove(std::filesystem::path(dir) / "CURRENT");
  for (bool read_only : {true, false}) {
    INFO("read_only=" << read_only);
    const Status s = OpenStatus(dir, !read_only, read_only);
    CHECK(s.code() == Status::Code::kCorruption);
    CHECK(Contains(s.message(), "no CURRENT file"));
    CHECK(Contains(s.message(), dir));
  }
  CHECK_FALSE(std::filesystem::exists(std::filesystem::path(dir) / "CURRENT"));  // nothing created over it
}

TEST_CASE("index: an open refused for a damaged or missing table file names that file", "[index]") {
  TempDir tmp;
  namespace fs = std::filesystem;
  for (const bool missing : {false, true}) {
    INFO("missing=" << missing);
    const std::string dir = tmp / (missing ? "gone" : "damaged");
    WriteOk(OpenBulkOk(dir).get(), SketchAll(SketchParams{}, ThreeDocs()));
    std::vector<fs::path> tables;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() == ".sst") tables.push_back(e.path());
    }
    REQUIRE_FALSE(tables.empty());
    std::sort(tables.begin(), tables.end());
    const fs::path table = tables.front();
    if (missing) {
      fs::remove(table);
    } else {  // its footer overwritten: RocksDB's message names the MANIFEST that lists it
      std::fstream f(table, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(static_cast<std::streamoff>(fs::file_size(table)) - 16);
      f.write("ZZZZZZZZZZZZZZZZ", 16);
    }
    for (bool read_only : {false, true}) {
      INFO("read_only=" << read_only);
      const Status s = OpenStatus(dir, false, read_only);
      CHECK_FALSE(s.ok());
      CHECK(Contains(s.message(), "table file " + table.filename().string() + (missing ? " is missing" : " is damaged")));
    }
  }
}

TEST_CASE("index: invalid sketch parameters for a new index are InvalidArgument", "[index]") {
  TempDir tmp;
  SketchParams bad;
  bad.bands = bad.num_permutations + 1;  // bands x rows > num_permutations
  const Status over = OpenStatus(tmp / "a", true, false, bad);
  CHECK(over.code() == Status::Code::kInvalidArgument);
  CHECK(Contains(over.message(), "bands x rows (129 x 8) is over num_permutations (128)"));
  SketchParams zero;
  zero.window = 0;
  const Status none = OpenStatus(tmp / "b", true, false, zero);
  CHECK(none.code() == Status::Code::kInvalidArgument);
  CHECK(Contains(none.message(), "window 0 is not between 1 and 1000000"));
  // Every parameter the manifest's reader holds to its range is held to it here: an index
  // made with one out of range would be refused as corrupt by every later open.
  for (uint32_t SketchParams::*field : {&SketchParams::posting_cap, &SketchParams::shingle_size, &SketchParams::window,
                                        &SketchParams::gram_size, &SketchParams::code_gram_size}) {
    for (const uint32_t value : {0u, 1'000'001u}) {
      SketchParams p;
      p.*field = value;
      const std::string dir = tmp / ("c" + std::to_string(value));
      const Status s = OpenStatus(dir, true, false, p);
      INFO(s.ToString());
      CHECK(s.code() == Status::Code::kInvalidArgument);
      CHECK(Contains(s.message(), std::to_string(value) + " is not between 1 and 1000000"));
      CHECK_FALSE(std::filesystem::exists(std::filesystem::path(dir) / "CURRENT"));
    }
  }
}

// A refused create should not leave a directory behind that later opens fail on: Index::Open
// creates the RocksDB database (CURRENT and the column families) before it validates the
// parameters, so the directory afterwards holds a database without a manifest, and every later
// open, even with valid parameters and create_if_missing, fails with "index has no manifest".
TEST_CASE("index: a create refused for bad parameters leaves no half-made index",
          "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  SketchParams bad;
  bad.shingle_size = 0;
  REQUIRE(OpenStatus(dir, true, false, bad).code() == Status::Code::kInvalidArgument);
  const Status again = OpenStatus(dir, true, false, SketchParams{});
  INFO(again.ToString());
  CHECK(again.ok());
}

TEST_CASE("index: a read-only index refuses writes", "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  OpenOk(dir, true);
  auto index = OpenOk(dir, false, true);
  auto batch = SketchAll(SketchParams{}, {MakeDoc("x", "some words")});
  WriteSummary sum;
  CHECK(index->Write(&batch, &sum).code() == Status::Code::kInvalidArgument);
  uint64_t removed = 0, missing = 0;
  CHECK(index->Remove(std::vector<std::string>{"x"}, &removed, &missing).code() ==
        Status::Code::kInvalidArgument);
  CHECK(index->Compact().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("index: a document without a name is refused", "[index]") {
  TempDir tmp;
  auto index = OpenOk(tmp / "idx", true);
  auto batch = SketchAll(SketchParams{}, {MakeDoc("", "nameless words")});
  batch[0].doc.origin = "input.jsonl:4";
  WriteSummary sum;
  const Status s = index->Write(&batch, &sum);
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(Contains(s.message(), "input.jsonl:4"));
}

// Write is atomic ("stores a batch atomically"): when it fails, nothing is stored, and the
// in-memory counters must not move either. RocksIndex::Write increments next_id_, documents_ and
// bytes_ for each document as it builds the batch and returns early on a nameless document
// without restoring them, so Stats() then counts a document that was never written and Verify
// reports "meta counts 1 documents, found 0".
TEST_CASE("index: a failed Write leaves Stats and Verify unchanged", "[index]") {
  TempDir tmp;
  auto index = OpenOk(tmp / "idx", true);
  auto batch = SketchAll(SketchParams{}, {MakeDoc("good", "a perfectly good document"),
                                          MakeDoc("", "nameless words")});
  WriteSummary sum;
  REQUIRE(index->Write(&batch, &sum).code() == Status::Code::kInvalidArgument);
  CHECK_FALSE(index->FindName("good").value().has_value());
  auto st = index->Stats();
  REQUIRE(st.ok());
  CHECK(st->documents == 0);
  CHECK(st->bytes == 0);
  VerifyReport report;
  const Status v = index->Verify({}, &report);
  INFO(v.ToString());
  CHECK(v.ok());
}

TEST_CASE("index: a directory whose CURRENT names no MANIFEST is refused and left as it was", "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "notes";
  std::filesystem::create_directories(dir);
  for (const std::string current : {"my notes\n", "MANIFEST-000042\n", "MANIFEST-000001"}) {
    INFO(current);
    doppel_test::WriteFile(dir + "/CURRENT", current);
    if (current == "MANIFEST-000001") doppel_test::WriteFile(dir + "/MANIFEST-000001", "x");  // no line end
    for (bool read_only : {false, true}) {
      const Status s = OpenStatus(dir, /*create=*/!read_only, read_only);
      CHECK(s.code() == Status::Code::kCorruption);
      CHECK(Contains(s.message(), dir + "/CURRENT names no MANIFEST file"));
    }
    // Nothing was put in it (a writable open made a LOCK and a LOG there before it failed).
    std::set<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir)) names.insert(e.path().filename().string());
    CHECK(names == (current == "MANIFEST-000001" ? std::set<std::string>{"CURRENT", "MANIFEST-000001"}
                                                 : std::set<std::string>{"CURRENT"}));
  }
}

TEST_CASE("index: a RocksDB directory that is not a doppel index is refused", "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "plain-rocksdb";
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* db = nullptr;
    REQUIRE(rocksdb::DB::Open(o, dir, &db).ok());
    REQUIRE(db->Put(rocksdb::WriteOptions(), "some", "value").ok());
    REQUIRE(db->Close().ok());
    delete db;
  }
  for (bool read_only : {false, true}) {
    INFO("read_only=" << read_only);
    const Status s = OpenStatus(dir, /*create=*/!read_only, read_only);
    CHECK_FALSE(s.ok());
    CHECK(s.code() == Status::Code::kCorruption);
    CHECK(Contains(s.message(), "not a doppel index"));
  }
  // It was not turned into an index.
  CHECK_FALSE(OpenStatus(dir, false).ok());
}

TEST_CASE("index: a corrupt document value is Corruption on read and in Verify", "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  {
    auto index = OpenOk(dir, true);
    WriteOk(index.get(), SketchAll(SketchParams{}, ThreeDocs()));
  }
  RawPut(dir, "docs", codec::IdKey(0), "garbage");
  auto index = OpenOk(dir, false, true);
  const auto doc = index->GetDocument(0);
  CHECK(doc.status().code() == Status::Code::kCorruption);
  CHECK(index->GetDocument(1).ok());  // the others still read
  VerifyReport report;
  const Status v = index->Verify({}, &report);
  CHECK(v.code() == Status::Code::kCorruption);
}

TEST_CASE("index: a corrupt posting value is Corruption on read and in Verify", "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  auto sketched = SketchAll(SketchParams{}, ThreeDocs());
  const uint64_t fp = sketched[0].fingerprints.at(0);
  {
    auto index = OpenOk(dir, true);
    WriteOk(index.get(), sketched);
  }
  RawPut(dir, "grams", codec::GramKeyBytes(Kind::kText, fp), "\x07not a posting");
  auto index = OpenOk(dir, false, true);
  std::vector<Posting> postings;
  const std::vector<uint64_t> grams = {fp};
  CHECK(index->GetGramPostings(Kind::kText, grams, &postings).code() ==
        Status::Code::kCorruption);
  VerifyReport report;
  CHECK(index->Verify({}, &report).code() == Status::Code::kCorruption);
}

TEST_CASE("index: a manifest from another tokenizer version is Incompatible", "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  OpenOk(dir, true);
  std::string manifest = codec::EncodeManifest(SketchParams{});
  const size_t at = manifest.find("text_tokenizer=text-v1");
  REQUIRE(at != std::string::npos);
  manifest.replace(at, 22, "text_tokenizer=text-v0");
  RawPut(dir, "meta", "manifest", manifest);
  const Status s = OpenStatus(dir, false, true);
  CHECK(s.code() == Status::Code::kIncompatible);
  CHECK(Contains(s.message(), "text-v0"));
  CHECK(Contains(s.message(), "text-v1"));
}

TEST_CASE("index: GetGramPostings and GetBandPostings find a document by its sketch",
          "[index]") {
  TempDir tmp;
  auto index = OpenOk(tmp / "idx", true);
  auto sketched = SketchAll(SketchParams{}, ThreeDocs());
  WriteOk(index.get(), sketched);
  for (uint32_t id = 0; id < 3; ++id) {
    INFO("document " << id);
    const auto& sd = sketched[id];
    REQUIRE_FALSE(sd.fingerprints.empty());
    std::vector<Posting> postings;
    REQUIRE(index->GetGramPostings(Kind::kText, sd.fingerprints, &postings).ok());
    REQUIRE(postings.size() == sd.fingerprints.size());
    for (const auto& p : postings) {
      CHECK_FALSE(p.saturated);
      CHECK(std::binary_search(p.ids.begin(), p.ids.end(), id));
      CHECK(std::is_sorted(p.ids.begin(), p.ids.end()));
    }
    REQUIRE(index->GetBandPostings(Kind::kText, sd.band_keys, &postings).ok());
    REQUIRE(postings.size() == sd.band_keys.size());
    for (const auto& p : postings) CHECK(std::count(p.ids.begin(), p.ids.end(), id) == 1);
  }
  // Fingerprints of another kind, and unknown fingerprints, have no postings.
  std::vector<Posting> postings;
  REQUIRE(index->GetGramPostings(Kind::kCode, sketched[0].fingerprints, &postings).ok());
  for (const auto& p : postings) CHECK(p.ids.empty());
  const std::vector<uint64_t> unknown = {1, 2, 3};
  REQUIRE(index->GetGramPostings(Kind::kText, unknown, &postings).ok());
  REQUIRE(postings.size() == 3);
  for (const auto& p : postings) {
    CHECK(p.ids.empty());
    CHECK_FALSE(p.saturated);
  }
}

TEST_CASE("index: posting_cap saturates fingerprints shared by more documents", "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  SketchParams params;
  params.posting_cap = 3;
  std::mt19937_64 rng(77);
  const std::string shared = doppel_test::RandomWords(rng, 120);
  std::vector<Document> docs;
  for (int i = 0; i < 5; ++i) {
    docs.push_back(MakeDoc("doc" + std::to_string(i),
                           doppel_test::RandomWords(rng, 60) + " " + shared + " " +
                               doppel_test::RandomWords(rng, 60)));
  }
  auto sketched = SketchAll(params, docs);
  // Fingerprints in all five documents, and fingerprints of document 0 alone.
  std::map<uint64_t, int> count;
  for (const auto& sd : sketched) {
    for (uint64_t f : sd.fingerprints) ++count[f];
  }
  std::vector<uint64_t> in_all, only_first;
  for (uint64_t f : sketched[0].fingerprints) {
    if (count[f] == 5) in_all.push_back(f);
    if (count[f] == 1) only_first.push_back(f);
  }
  REQUIRE(in_all.size() >= 10);
  REQUIRE(only_first.size() >= 5);
  auto check = [&](Index& index) {
    std::vector<Posting> postings;
    REQUIRE(index.GetGramPostings(Kind::kText, in_all, &postings).ok());
    for (const auto& p : postings) {
      CHECK(p.saturated);
      CHECK(p.ids.empty());
    }
    REQUIRE(index.GetGramPostings(Kind::kText, only_first, &postings).ok());
    for (const auto& p : postings) {
      CHECK_FALSE(p.saturated);
      CHECK(p.ids == std::vector<uint32_t>{0});
    }
  };
  {
    auto index = OpenOk(dir, true, false, params);
    // One document per batch: the cap applies across merges, not only within a batch.
    for (auto& sd : sketched) WriteOk(index.get(), {sd});
    check(*index);
    REQUIRE(index->Compact().ok());
    check(*index);
    VerifyReport report;
    CHECK(index->Verify({}, &report).ok());
  }
  auto reader = OpenOk(dir, false, true);
  CHECK(reader->params().posting_cap == 3);
  check(*reader);
}

TEST_CASE("index: a bulk-loaded index keeps its documents after close", "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  WriteOk(OpenBulkOk(dir).get(), SketchAll(SketchParams{}, ThreeDocs()));
  auto index = OpenOk(dir, false, true);
  CHECK(index->Stats()->documents == 3);
  CHECK(IdOf(*index, "docs/gamma.txt") == 2);
  VerifyReport report;
  CHECK(index->Verify({}, &report).ok());
}

TEST_CASE("index: a writer refused by another's lock leaves that writer's spill files", "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  WriteOk(OpenOk(dir, true).get(), SketchAll(SketchParams{}, ThreeDocs()));
  const std::string spill = dir + "/bulk-1-0-grams.sst";  // as a running bulk load's
  {
    auto writer = OpenOk(dir, false);  // holds the index for writing
    doppel_test::WriteFile(spill, "spilled postings");
    const Status refused = OpenStatus(dir, false);
    CHECK_FALSE(refused.ok());
    CHECK(std::filesystem::exists(spill));
  }
  // The next writer to hold the index removes what a killed load left.
  OpenOk(dir, false).reset();
  CHECK_FALSE(std::filesystem::exists(spill));
}

namespace {
// A read-only open that follows a writer (Refresh catches up with it).
std::unique_ptr<Index> OpenFollowerOk(const std::string& dir) {
  IndexOptions o;
  o.read_only = true;
  o.follow_writer = true;
  return OpenOk(dir, o);
}
}  // namespace

TEST_CASE("index: Refresh lets a reader see what a writer stored after it opened", "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  auto writer = OpenOk(dir, true);
  WriteOk(writer.get(), SketchAll(SketchParams{}, {MakeDoc("first", "the first document")}));
  REQUIRE(writer->Flush().ok());
  auto reader = OpenFollowerOk(dir);
  auto snapshot = OpenOk(dir, false, true);
  CHECK(reader->Stats()->documents == 1);
  WriteOk(writer.get(), SketchAll(SketchParams{}, {MakeDoc("second", "the second document")}));
  REQUIRE(writer->Flush().ok());
  uint64_t removed = 0, missing = 0;
  REQUIRE(writer->Remove(std::vector<std::string>{"first"}, &removed, &missing).ok());
  REQUIRE(writer->Flush().ok());
  CHECK_FALSE(reader->FindName("second").value().has_value());  // as of opening
  REQUIRE(reader->Refresh().ok());
  CHECK(reader->FindName("second").value().has_value());
  CHECK(reader->IsDeleted(0));
  CHECK(reader->Stats()->documents == 1);
  // A strict read-only open stays the snapshot it opened.
  REQUIRE(snapshot->Refresh().ok());
  CHECK_FALSE(snapshot->FindName("second").value().has_value());
  CHECK(snapshot->FindName("first").value().has_value());
}

TEST_CASE("index: a follower is not held back by what it read from a log the writer flushed since", "[index]") {
  // A RocksDB secondary keeps the entries it replayed from a write-ahead log after the writer
  // flushed that log, and a point read takes them over the newer values in the flushed table
  // (rocksdb#15051): a key written over in place read its old value until the follower reopened.
  TempDir tmp;
  const std::string dir = tmp / "idx";
  auto writer = OpenOk(dir, true);
  WriteOk(writer.get(), SketchAll(SketchParams{}, {MakeDoc("a", "the first document of three")}));
  REQUIRE(writer->Flush().ok());
  auto follower = OpenFollowerOk(dir);
  WriteOk(writer.get(), SketchAll(SketchParams{}, {MakeDoc("b", "the second document of three"),
                                                   MakeDoc("c", "the third document of three")}));
  uint64_t removed = 0, missing = 0;
  REQUIRE(writer->Remove(std::vector<std::string>{"a"}, &removed, &missing).ok());
  REQUIRE(follower->Refresh().ok());  // replays the log: b and c stored, a removed
  REQUIRE(follower->FindName("b").value().has_value());
  const uint32_t b = *follower->FindName("b").value();
  CHECK(follower->IsDeleted(0));
  CHECK(follower->Stats()->documents == 2);
  // b is removed and the log flushed before the follower reads it: only the table holds it.
  REQUIRE(writer->Remove(std::vector<std::string>{"b"}, &removed, &missing).ok());
  REQUIRE(writer->Flush().ok());
  REQUIRE(follower->Refresh().ok());
  CHECK(follower->IsDeleted(b));
  CHECK_FALSE(follower->FindName("b").value().has_value());
  CHECK_FALSE(follower->GetDocument(b).ok());
  CHECK(follower->Stats()->documents == 1);
  // And it goes on following: a later write reaches it.
  WriteOk(writer.get(), SketchAll(SketchParams{}, {MakeDoc("d", "the fourth document, added last")}));
  REQUIRE(writer->Flush().ok());
  REQUIRE(follower->Refresh().ok());
  CHECK(follower->FindName("d").value().has_value());
  CHECK(follower->Stats()->documents == 2);
}

TEST_CASE("index: a follower whose reopening fails goes on serving and tries again later, not at every refresh",
          "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  auto count = [](const std::string& where, const std::string& suffix) {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(where)) n += e.path().string().ends_with(suffix);
    return n;
  };
  auto writer = OpenOk(dir, true);
  WriteOk(writer.get(), SketchAll(SketchParams{}, {MakeDoc("a", "the first document of three")}));
  REQUIRE(writer->Flush().ok());
  auto follower = OpenFollowerOk(dir);
  const size_t tables_at_open = count(dir, ".sst");
  WriteOk(writer.get(), SketchAll(SketchParams{}, {MakeDoc("b", "the second document of three")}));
  REQUIRE(follower->Refresh().ok());  // b read from the log
  const uint32_t b = *follower->FindName("b").value();
  uint64_t removed = 0, missing = 0;
  REQUIRE(writer->Remove(std::vector<std::string>{"b"}, &removed, &missing).ok());
  REQUIRE(writer->Flush().ok());
  // Descriptors enough to catch up (the new table files), not to open the index a second time.
  rlimit was{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &was) == 0);
  const size_t open_now = count("/proc/self/fd", "");
  rlimit low = was;
  low.rlim_cur = open_now + (count(dir, ".sst") - tables_at_open) + 2;
  REQUIRE(setrlimit(RLIMIT_NOFILE, &low) == 0);
  const Status failed = follower->Refresh();
  const Status skipped = follower->Refresh();  // within the second after a failure: not tried
  const bool still_reads = follower->GetDocument(0).ok();
  REQUIRE(setrlimit(RLIMIT_NOFILE, &was) == 0);
  INFO(failed.ToString());
  CHECK_FALSE(failed.ok());
  CHECK(Contains(failed.message(), "reopening"));
  CHECK(skipped.ok());
  CHECK(still_reads);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  REQUIRE(follower->Refresh().ok());
  CHECK(follower->IsDeleted(b));
  CHECK_FALSE(follower->FindName("b").value().has_value());
  CHECK(follower->Stats()->documents == 1);
}

TEST_CASE("index: a reader's cached posting lists follow the writer and equal uncached reads", "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  auto code = [](std::string name, std::string text) {
    Document d = MakeDoc(std::move(name), std::move(text));
    d.kind = Kind::kCode;
    d.language = "python";
    return d;
  };
  const std::string first_text =
      "def total(items):\n    result = 0\n    for item in items:\n        result += item.price * item.count\n"
      "    return result\n";
  const std::string later_text =
      "def scale(points, factor):\n    out = []\n    for p in points:\n        out.append((p.x * factor, p.y))\n"
      "    return out\n";
  auto writer = OpenOk(dir, true);
  WriteOk(writer.get(), SketchAll(SketchParams{}, {code("a.py", first_text)}));
  REQUIRE(writer->Flush().ok());
  const auto sketched = SketchAll(SketchParams{}, {code("b.py", first_text), code("c.py", later_text)});
  std::vector<uint64_t> grams = sketched[0].fingerprints;
  grams.insert(grams.end(), sketched[1].fingerprints.begin(), sketched[1].fingerprints.end());
  REQUIRE(!sketched[1].fingerprints.empty());

  auto reader = OpenFollowerOk(dir);
  auto lookup = [&](const Index& index) {
    std::vector<Posting> postings;
    REQUIRE(index.GetGramPostings(Kind::kCode, grams, &postings).ok());
    std::vector<std::vector<uint32_t>> ids;
    for (const auto& p : postings) ids.push_back(p.ids);
    return ids;
  };
  // Read twice (the second from the cache): a's fingerprints list a, c's are absent.
  const auto before = lookup(*reader);
  const IndexStats once = reader->Stats().value();
  CHECK(lookup(*reader) == before);
  const IndexStats twice = reader->Stats().value();
  CHECK(once.posting_cache_hits == 0);
  CHECK(once.posting_cache_misses == grams.size());
  CHECK(twice.posting_cache_hits == grams.size());
  CHECK(twice.posting_cache_misses == grams.size());
  CHECK(twice.posting_cache_used > 0);
  for (size_t i = 0; i < sketched[0].fingerprints.size(); ++i) CHECK(before[i] == std::vector<uint32_t>{0});
  CHECK(before.back().empty());

  // b copies a, c is new, and a is replaced (its id 0 deleted, its new text id 3).
  WriteOk(writer.get(), SketchAll(SketchParams{}, {code("b.py", first_text), code("c.py", later_text),
                                                   code("a.py", later_text + "\nprint(scale([], 2))\n")}));
  REQUIRE(writer->Flush().ok());
  CHECK(lookup(*reader) == before);  // as of opening
  REQUIRE(reader->Refresh().ok());
  const auto after = lookup(*reader);
  CHECK(std::count(after[0].begin(), after[0].end(), 1u) == 1);  // b
  CHECK(std::count(after.back().begin(), after.back().end(), 2u) == 1);  // c
  CHECK(std::count(after.back().begin(), after.back().end(), 3u) == 1);  // the new a
  // The same lists as a reader without the cache.
  IndexOptions uncached;
  uncached.read_only = true;
  uncached.posting_cache_ids = 0;
  CHECK(lookup(*OpenOk(dir, uncached)) == after);
  CHECK(lookup(*reader) == after);
  CHECK(std::count(after[0].begin(), after[0].end(), 0u) == 0);  // the replaced a
}

TEST_CASE("index: the posting cache returns the lists it keeps and stays within its budget") {
  // 32 shards of 100 posting ids each; an entry costs its ids plus 24.
  PostingCache cache(32 * 100);
  // Keys of one shard (its top 5 mixed bits), so filling it is deterministic.
  auto shard = [](uint64_t k) { return (k * 0x9E3779B97F4A7C15ull) >> 59; };
  std::vector<uint64_t> keys;
  for (uint64_t k = 1; keys.size() < 400; ++k) {
    if (shard(k) == 7) keys.push_back(k);
  }
  auto list = [](uint64_t k, size_t n) {
    Posting p;
    for (size_t i = 0; i < n; ++i) p.ids.push_back(static_cast<uint32_t>(k * 10 + i));
    return p;
  };
  Posting got;
  CHECK(!cache.Get(keys[0], &got));
  cache.Put(keys[0], list(keys[0], 30), cache.generation());  // cost 54
  Posting absent;  // a fingerprint the index does not hold: cost 24
  cache.Put(keys[1], absent, cache.generation());
  Posting saturated;
  saturated.saturated = true;
  cache.Put(keys[2], saturated, cache.generation());  // 54 + 24 + 24 = 102 > 100: emptied first
  CHECK(!cache.Get(keys[0], &got));
  CHECK(!cache.Get(keys[1], &got));
  REQUIRE(cache.Get(keys[2], &got));
  CHECK(got.saturated);
  CHECK(got.ids.empty());
  // Many small entries (the slot table grows past its first size) all come back as kept.
  PostingCache roomy(32 * 100000);
  for (size_t i = 0; i < keys.size(); ++i) roomy.Put(keys[i], list(keys[i], i % 5), roomy.generation());
  roomy.Put(keys[3], list(keys[3], 9), roomy.generation());  // already kept: the first list stays
  for (size_t i = 0; i < keys.size(); ++i) {
    REQUIRE(roomy.Get(keys[i], &got));
    CHECK(!got.saturated);
    CHECK(got.ids == list(keys[i], i % 5).ids);
  }
  const auto counts = roomy.Count();
  CHECK(counts.hits == keys.size());
  CHECK(counts.used == 24 * keys.size() + [&] { size_t n = 0; for (size_t i = 0; i < keys.size(); ++i) n += i % 5; return n; }());
  // A list read before the cache was cleared is not kept; the cleared cache holds nothing.
  const uint64_t before = roomy.generation();
  roomy.Clear();
  CHECK(!roomy.Get(keys[5], &got));
  roomy.Put(keys[5], list(keys[5], 3), before);
  CHECK(!roomy.Get(keys[5], &got));
  roomy.Put(keys[5], list(keys[5], 3), roomy.generation());
  REQUIRE(roomy.Get(keys[5], &got));
  CHECK(got.ids == list(keys[5], 3).ids);
  // A list longer than a shard's budget is not kept; a cache of no budget keeps nothing.
  cache.Put(keys[9], list(keys[9], 90), cache.generation());
  CHECK(!cache.Get(keys[9], &got));
  PostingCache off(0);
  off.Put(keys[0], list(keys[0], 1), off.generation());
  CHECK(!off.Get(keys[0], &got));
}

// ---------------------------------------------------------------------------------------------
// BuildIndex (doppel/index_writer.h)

namespace {

std::string WriteJsonl(const TempDir& tmp, const std::string& name,
                       const std::vector<std::string>& lines) {
  std::string data;
  for (const auto& l : lines) data += l + "\n";
  const std::string path = tmp / name;
  doppel_test::WriteFile(path, data);
  return path;
}

std::unique_ptr<DocumentReader> Reader(const std::vector<std::string>& inputs) {
  auto r = DocumentReader::Open(inputs, ReaderOptions());
  REQUIRE(r.ok());
  return std::move(r).value();
}

}  // namespace

TEST_CASE("index: BuildIndex keeps input order across threads and batches", "[index][build]") {
  TempDir tmp;
  std::mt19937_64 rng(5);
  std::vector<std::string> lines;
  for (int i = 0; i < 60; ++i) {
    lines.push_back("{\"id\":\"doc" + std::to_string(i) + "\",\"text\":\"" +
                    doppel_test::RandomWords(rng, 40) + "\"}");
  }
  const std::string input = WriteJsonl(tmp, "corpus.jsonl", lines);
  auto index = OpenOk(tmp / "idx", true);
  auto reader = Reader({input});
  BuildOptions bo;
  bo.threads = 2;
  bo.batch_bytes = 1000;  // many small batches
  uint64_t progress_calls = 0, last_docs = 0;
  bool monotone = true;
  bo.on_progress = [&](const BuildProgress& p) {
    ++progress_calls;
    monotone &= p.documents >= last_docs;
    last_docs = p.documents;
  };
  BuildSummary sum;
  const Status s = BuildIndex(index.get(), reader.get(), bo, &sum);
  INFO(s.ToString());
  REQUIRE(s.ok());
  CHECK(sum.documents == 60);
  CHECK(sum.written.added == 60);
  CHECK(sum.errors == 0);
  CHECK(progress_calls > 1);
  CHECK(monotone);
  CHECK(last_docs == 60);
  for (int i = 0; i < 60; ++i) CHECK(IdOf(*index, "doc" + std::to_string(i)) == uint32_t(i));
  // Running it again writes nothing.
  auto again = Reader({input});
  BuildSummary sum2;
  REQUIRE(BuildIndex(index.get(), again.get(), bo, &sum2).ok());
  CHECK(sum2.written.unchanged == 60);
  CHECK(sum2.written.added == 0);
  CHECK(index->Stats()->documents == 60);
}

TEST_CASE("index: BuildIndex skips or stops at bad documents as asked", "[index][build]") {
  TempDir tmp;
  const std::string input = WriteJsonl(
      tmp, "mixed.jsonl",
      {"{\"id\":\"a\",\"text\":\"first good document with words\"}",
       "{\"id\":\"b\",\"text\":\"bad \xff bytes\"}", "not json at all",
       "{\"id\":\"d\",\"text\":\"last good document with words\"}"});
  SECTION("skip_errors reports every bad document and goes on") {
    auto index = OpenOk(tmp / "skip", true);
    auto reader = Reader({input});
    BuildOptions bo;
    bo.skip_errors = true;
    std::vector<std::string> errors;
    bo.on_error = [&](const Status& s) { errors.push_back(s.message()); };
    BuildSummary sum;
    REQUIRE(BuildIndex(index.get(), reader.get(), bo, &sum).ok());
    CHECK(sum.errors == 2);
    CHECK(sum.documents == 2);
    REQUIRE(errors.size() == 2);
    CHECK(Contains(errors[0], "mixed.jsonl:2"));
    CHECK(Contains(errors[1], "mixed.jsonl:3"));
    CHECK(IdOf(*index, "a") == 0);
    CHECK(IdOf(*index, "d") == 1);
  }
  SECTION("without skip_errors the first bad document stops the build") {
    auto index = OpenOk(tmp / "stop", true);
    auto reader = Reader({input});
    BuildOptions bo;
    int reported = 0;
    bo.on_error = [&](const Status&) { ++reported; };
    BuildSummary sum;
    const Status s = BuildIndex(index.get(), reader.get(), bo, &sum);
    CHECK_FALSE(s.ok());
    CHECK(Contains(s.message(), "mixed.jsonl:2"));
    CHECK(reported == 1);
    CHECK(sum.errors == 1);
    // What came before the bad document is written; nothing after it.
    CHECK(index->FindName("a").value().has_value());
    CHECK_FALSE(index->FindName("d").value().has_value());
  }
}

// Index::Write treats a name written twice in one batch like two writes ("the later one wins, as
// it would across batches"). Across batches, the same text with other metadata (or language) is
// a replacement; within one batch RocksIndex::Write compares only the content hash and size, so
// the second version is counted unchanged and the first version's metadata is kept.
TEST_CASE("index: the later of two same-text versions in one batch wins its metadata",
          "[index]") {
  TempDir tmp;
  auto index = OpenOk(tmp / "idx", true);
  const WriteSummary sum = WriteOk(
      index.get(), SketchAll(SketchParams{}, {MakeDoc("dup", "same words", R"({"v":1})"),
                                              MakeDoc("dup", "same words", R"({"v":2})")}));
  CHECK(sum.added + sum.replaced + sum.unchanged == 2);
  auto info = index->GetDocument(IdOf(*index, "dup"));
  REQUIRE(info.ok());
  CHECK(info->metadata == R"({"v":2})");
  // What two batches do:
  WriteOk(index.get(), SketchAll(SketchParams{}, {MakeDoc("two", "same words", R"({"v":1})")}));
  const WriteSummary second =
      WriteOk(index.get(), SketchAll(SketchParams{}, {MakeDoc("two", "same words", R"({"v":2})")}));
  CHECK(second.replaced == 1);
  auto two = index->GetDocument(IdOf(*index, "two"));
  REQUIRE(two.ok());
  CHECK(two->metadata == R"({"v":2})");
}

TEST_CASE("index: opening for writing removes documents a bulk load left without postings",
          "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  REQUIRE(WriteOk(OpenBulkOk(dir).get(), SketchAll(SketchParams{}, ThreeDocs())).added == 3);
  // As if the load had been killed after documents 1 and 2 were stored but before their posting
  // lists were: the watermark says only ids below 1 have durable postings.
  std::string below;
  codec::PutFixed64(&below, 1);
  RawPut(dir, "meta", "postings_below", below);
  {
    auto reader = OpenOk(dir, false, true);
    // Readers and Verify see the index as it stands below the watermark.
    VerifyReport report;
    const Status v = reader->Verify({}, &report);
    INFO(v.ToString());
    CHECK(v.ok());
    CHECK(report.documents == 1);
    CHECK(report.interrupted_load_documents == 2);
  }
  auto index = OpenOk(dir, false);
  CHECK(IdOf(*index, "docs/alpha.txt") == 0);
  CHECK_FALSE(index->FindName("docs/beta.txt").value().has_value());
  CHECK_FALSE(index->FindName("docs/gamma.txt").value().has_value());
  CHECK(index->IsDeleted(1));
  CHECK(index->IsDeleted(2));
  CHECK(index->GetDocument(2).status().code() == Status::Code::kNotFound);
  auto st = index->Stats();
  REQUIRE(st.ok());
  CHECK(st->documents == 1);
  VerifyReport report;
  const Status v = index->Verify({}, &report);
  INFO(v.ToString());
  CHECK(v.ok());
  // A rerun adds them again, under new ids.
  const WriteSummary again = WriteOk(index.get(), SketchAll(SketchParams{}, ThreeDocs()));
  CHECK(again.added == 2);
  CHECK(again.unchanged == 1);
  CHECK(IdOf(*index, "docs/beta.txt") == 3);
  CHECK(IdOf(*index, "docs/gamma.txt") == 4);
  // ... to the content of a load that was never interrupted.
  VerifyReport rerun, whole;
  REQUIRE(index->Verify({.digest = true}, &rerun).ok());
  {
    auto fresh = OpenOk(tmp / "whole", true);
    WriteOk(fresh.get(), SketchAll(SketchParams{}, ThreeDocs()));
    REQUIRE(fresh->Verify({.digest = true}, &whole).ok());
  }
  CHECK(rerun.interrupted_load_documents == 0);
  CHECK(rerun.digest.size() == 32);
  CHECK(rerun.digest == whole.digest);
}

TEST_CASE("index: a reader's Verify after a writer compacted its files asks to verify again", "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  auto writer = OpenOk(dir, true);
  // Three flushed batches: three table files per column family, which a compaction replaces.
  for (int b = 0; b < 3; ++b) {
    std::vector<Document> docs;
    for (int i = 0; i < 4; ++i) {
      const std::string n = std::to_string(b * 4 + i);
      docs.push_back(MakeDoc("doc" + n, "words of document number " + n + " in batch " + std::to_string(b)));
    }
    WriteOk(writer.get(), SketchAll(SketchParams{}, docs));
    REQUIRE(writer->Flush().ok());
  }
  auto reader = OpenOk(dir, false, true);
  VerifyReport before;
  const Status first = VerifyBesideWriter(dir, &reader, &before);
  INFO(first.ToString());
  REQUIRE(first.ok());
  CHECK(before.documents == 12);
  REQUIRE(writer->Compact().ok());
  // The writer's own Verify passes.
  VerifyReport mine;
  const Status w = writer->Verify({}, &mine);
  INFO(w.ToString());
  CHECK(w.ok());
  // The reader's table files are gone: not damage, a changed index.
  VerifyReport after;
  const Status r = reader->Verify({}, &after);
  INFO(r.ToString());
  CHECK(r.code() == Status::Code::kUnavailable);
  CHECK(r.message().find("verify again") != std::string::npos);
  // Opened again, the reader sees the compacted index whole.
  auto again = OpenOk(dir, false, true);
  VerifyReport fresh;
  REQUIRE(again->Verify({}, &fresh).ok());
  CHECK(fresh.documents == 12);
}

TEST_CASE("index: the digest ignores ids and order but sees every change of content", "[index]") {
  TempDir tmp;
  auto digest = [](const Index& index) {
    VerifyReport r;
    const Status s = index.Verify({.digest = true}, &r);
    INFO(s.ToString());
    REQUIRE(s.ok());
    return r.digest;
  };
  auto a = OpenOk(tmp / "a", true);
  WriteOk(a.get(), SketchAll(SketchParams{}, ThreeDocs()));
  auto b = OpenOk(tmp / "b", true);
  auto docs = ThreeDocs();
  std::reverse(docs.begin(), docs.end());
  for (auto& d : docs) WriteOk(b.get(), SketchAll(SketchParams{}, {d}));  // other ids and batches
  CHECK(IdOf(*a, "docs/alpha.txt") != IdOf(*b, "docs/alpha.txt"));
  CHECK(digest(*a) == digest(*b));
  uint64_t removed = 0, missing = 0;
  REQUIRE(b->Remove(std::vector<std::string>{"docs/beta.txt"}, &removed, &missing).ok());
  const std::string without_beta = digest(*b);
  CHECK(without_beta != digest(*a));
  CHECK(without_beta.substr(16) != digest(*a).substr(16));  // the posting half changed too
  WriteOk(b.get(), SketchAll(SketchParams{}, ThreeDocs()));  // beta again, under a new id
  CHECK(digest(*a) == digest(*b));
  auto changed = ThreeDocs();
  changed[2].metadata = R"({"license":"other"})";
  WriteOk(b.get(), SketchAll(SketchParams{}, changed));
  CHECK(digest(*a) != digest(*b));
}

TEST_CASE("index: a bulk load into an index holding documents writes postings with them",
          "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  WriteOk(OpenBulkOk(dir).get(), SketchAll(SketchParams{}, ThreeDocs()));
  // Replacing beta in a bulk load would delete its old version at once and leave the new one
  // without postings until the next spill; a kill then would lose both.
  auto opened = OpenBulkOk(dir);
  auto& writer = *opened;
  auto changed = ThreeDocs();
  changed[1].text += " and a new closing sentence for the second document";
  auto sketched = SketchAll(SketchParams{}, {changed[1]});
  const auto fps = sketched[0].fingerprints;
  const WriteSummary sum = WriteOk(&writer, sketched);
  REQUIRE(sum.replaced == 1);
  // Without Flush or Close, a reader finds the new version through its posting lists.
  auto reader = OpenOk(dir, false, true);
  VerifyReport report;
  const Status v = VerifyBesideWriter(dir, &reader, &report);
  INFO(v.ToString());
  REQUIRE(v.ok());
  CHECK(report.documents == 3);
  CHECK(report.interrupted_load_documents == 0);
  const uint32_t id = IdOf(*reader, "docs/beta.txt");
  std::vector<Posting> postings;
  REQUIRE(reader->GetGramPostings(Kind::kText, fps, &postings).ok());
  size_t listed = 0;
  for (const auto& p : postings) listed += std::count(p.ids.begin(), p.ids.end(), id);
  CHECK(listed == fps.size());
}

TEST_CASE("index: posting lists of a bulk load are readable after Flush", "[index]") {
  TempDir tmp;
  auto opened = OpenBulkOk(tmp / "idx");
  auto& index = *opened;
  auto sketched = SketchAll(SketchParams{}, ThreeDocs());
  const auto fps = sketched[2].fingerprints;
  WriteOk(&index, sketched);
  REQUIRE(index.Flush().ok());
  std::vector<Posting> postings;
  REQUIRE(index.GetGramPostings(Kind::kText, fps, &postings).ok());
  for (const auto& p : postings) CHECK(std::count(p.ids.begin(), p.ids.end(), 2u) == 1);
  VerifyReport report;
  const Status v = index.Verify({}, &report);
  INFO(v.ToString());
  CHECK(v.ok());
}

TEST_CASE("index: code documents keep their tokens, text documents and removed ones have none",
          "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  const std::string code = "fn area(w: u32, h: u32) -> u32 {\n    // width times height\n    w * h\n}\n";
  std::vector<Document> docs = ThreeDocs();
  docs.push_back(MakeDoc("src/area.rs", code));
  docs.back().kind = Kind::kCode;
  docs.back().language = "rust";
  {
    auto index = OpenOk(dir, true);
    WriteOk(index.get(), SketchAll(SketchParams{}, docs));
  }
  Tokens expected;
  REQUIRE(NewCodeTokenizer(LookupLanguage("rust"))->Tokenize(code, &expected).ok());
  {
    auto index = OpenOk(dir, false, true);
    const uint32_t id = IdOf(*index, "src/area.rs");
    auto tokens = index->GetTokens(id);
    INFO(tokens.status().ToString());
    REQUIRE(tokens.ok());
    REQUIRE(tokens->size() == expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      CHECK(((*tokens)[i].hash == expected[i].hash && (*tokens)[i].name == expected[i].name &&
             (*tokens)[i].begin == expected[i].begin && (*tokens)[i].line == expected[i].line));
    }
    CHECK(index->GetTokens(IdOf(*index, "docs/alpha.txt")).status().code() == Status::Code::kNotFound);
  }
  uint32_t id = 0;
  {
    auto index = OpenOk(dir, false);
    id = IdOf(*index, "src/area.rs");
    uint64_t removed = 0, missing = 0;
    REQUIRE(index->Remove(std::vector<std::string>{"src/area.rs"}, &removed, &missing).ok());
    CHECK(index->GetTokens(id).status().code() == Status::Code::kNotFound);
  }
  VerifyReport report;
  REQUIRE(OpenOk(dir, false, true)->Verify({}, &report).ok());
}

TEST_CASE("index: document and code posting reads fill the block cache only when asked", "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  std::vector<Document> docs;
  for (int i = 0; i < 20; ++i) {
    docs.push_back(MakeDoc("src/f" + std::to_string(i) + ".py",
                           "def f" + std::to_string(i) + "(a, b):\n    total = a * " + std::to_string(i) +
                               " + b\n    for k in range(b):\n        total += k * a - " + std::to_string(i) +
                               "\n    return total\n"));
    docs.back().kind = Kind::kCode;
    docs.back().language = "python";
  }
  const auto sketched = SketchAll(SketchParams{}, docs);
  std::vector<uint64_t> grams;
  for (const auto& s : sketched) grams.insert(grams.end(), s.fingerprints.begin(), s.fingerprints.end());
  std::sort(grams.begin(), grams.end());
  grams.erase(std::unique(grams.begin(), grams.end()), grams.end());
  REQUIRE(!grams.empty());
  {
    auto index = OpenOk(dir, true);
    WriteOk(index.get(), sketched);
    REQUIRE(index->Flush().ok());
  }
  // What each kind of read adds to the block cache, and what it returns.
  struct Reads {
    uint64_t tokens_growth = 0, content_growth = 0, postings_growth = 0;
    std::vector<Tokens> tokens;
    std::vector<std::string> contents;
    std::vector<Posting> postings;
  };
  auto read_all = [&](bool cache_documents, bool cache_code_postings) {
    IndexOptions o = Options(false, true);
    o.cache_document_blocks = cache_documents;
    o.cache_code_postings = cache_code_postings;
    auto index = OpenOk(dir, o);
    Reads r;
    std::vector<uint32_t> ids;
    for (const auto& d : docs) ids.push_back(IdOf(*index, d.name));
    auto used = [&] { return index->Stats().value().block_cache_used; };
    uint64_t before = used();
    for (uint32_t id : ids) {
      auto t = index->GetTokens(id);
      REQUIRE(t.ok());
      r.tokens.push_back(std::move(t).value());
    }
    r.tokens_growth = used() - before;
    std::vector<DocumentInfo> infos;  // (the records' blocks are cached whatever the options)
    for (uint32_t id : ids) infos.push_back(index->GetDocument(id).value());
    before = used();
    for (const DocumentInfo& info : infos) {
      auto c = index->GetContent(info);
      REQUIRE(c.ok());
      r.contents.push_back(std::move(c).value());
    }
    r.content_growth = used() - before;
    before = used();
    REQUIRE(index->GetGramPostings(Kind::kCode, grams, &r.postings).ok());
    r.postings_growth = used() - before;
    return r;
  };
  const Reads with = read_all(true, true);
  const Reads without = read_all(false, false);
  CHECK(with.tokens_growth > 0);
  CHECK(with.content_growth > 0);
  CHECK(with.postings_growth > 0);
  CHECK(without.tokens_growth == 0);
  CHECK(without.content_growth == 0);
  CHECK(without.postings_growth == 0);
  // The same data either way.
  CHECK(with.contents == without.contents);
  for (size_t d = 0; d < docs.size(); ++d) CHECK(with.contents[d] == docs[d].text);
  REQUIRE(with.postings.size() == without.postings.size());
  for (size_t i = 0; i < with.postings.size(); ++i) {
    CHECK(with.postings[i].ids == without.postings[i].ids);
    CHECK(!with.postings[i].ids.empty());
  }
  REQUIRE(with.tokens.size() == without.tokens.size());
  for (size_t d = 0; d < with.tokens.size(); ++d) {
    REQUIRE(with.tokens[d].size() == without.tokens[d].size());
    for (size_t i = 0; i < with.tokens[d].size(); ++i) {
      CHECK((with.tokens[d][i].hash == without.tokens[d][i].hash && with.tokens[d][i].name == without.tokens[d][i].name &&
             with.tokens[d][i].begin == without.tokens[d][i].begin && with.tokens[d][i].end == without.tokens[d][i].end));
    }
  }
}

TEST_CASE("index: damaged stored tokens are Corruption on read and in Verify", "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  std::vector<Document> docs = {MakeDoc("a.py", "def f(x):\n    return x + 1\n")};
  docs[0].kind = Kind::kCode;
  docs[0].language = "python";
  {
    auto index = OpenOk(dir, true);
    WriteOk(index.get(), SketchAll(SketchParams{}, docs));
  }
  // A well-formed stream of other tokens: decodes, but disagrees with the record's token count.
  Tokens one(1);
  one[0] = {7, 0, 0, 3, 1};
  std::string other;
  REQUIRE(EncodeTokenStream(one, &other));
  RawPut(dir, "tokens", codec::IdKey(0), other);
  {
    VerifyReport report;
    const Status v = OpenOk(dir, false, true)->Verify({}, &report);
    CHECK(v.code() == Status::Code::kCorruption);
    CHECK(Contains(v.ToString(), "stored tokens"));
  }
  RawPut(dir, "tokens", codec::IdKey(0), "garbage");
  auto index = OpenOk(dir, false, true);
  CHECK(index->GetTokens(0).status().code() == Status::Code::kCorruption);
  VerifyReport report;
  CHECK(index->Verify({}, &report).code() == Status::Code::kCorruption);
}

TEST_CASE("index: code documents post their names and strings, so a spelling's list counts its documents", "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  std::vector<Document> docs = {
      MakeDoc("a.py", "def load_config(path):\n    return open(path).read() + 'config loaded from disk'\n"),
      MakeDoc("b.py", "def save_config(path, text):\n    open(path, 'w').write(text)\n"),
      MakeDoc("notes.txt", "load_config and path are words here, not names.")};
  docs[0].kind = docs[1].kind = Kind::kCode;
  docs[0].language = docs[1].language = "python";
  const SketchParams params;
  const auto sketched = SketchAll(params, docs);
  REQUIRE_FALSE(sketched[0].spelling_keys.empty());
  CHECK(std::is_sorted(sketched[0].spelling_keys.begin(), sketched[0].spelling_keys.end()));
  CHECK(sketched[2].spelling_keys.empty());  // text documents post no spellings
  auto index = OpenOk(dir, true);
  WriteOk(index.get(), sketched);
  const DocumentSketcher sketcher(params);
  // Which spelling hash the tokenizer gives a name: read it off the tokens.
  Tokens toks;
  REQUIRE(sketcher.TokenizerFor(Kind::kCode, "python").Tokenize(docs[0].text, &toks).ok());
  std::map<std::string, uint64_t> spelled;
  for (const Token& t : toks) {
    if (t.name != 0) spelled[docs[0].text.substr(t.begin, t.end - t.begin)] = t.name;
  }
  REQUIRE(spelled.count("path"));
  REQUIRE(spelled.count("load_config"));
  REQUIRE(spelled.count("'config loaded from disk'"));
  const std::vector<uint64_t> keys = {
      sketcher.SpellingKey(spelled["path"], IdentifierTokenHash()),
      sketcher.SpellingKey(spelled["load_config"], IdentifierTokenHash()),
      sketcher.SpellingKey(spelled["'config loaded from disk'"], StringTokenHash()),
      // The same spelling as a string is another key than as a name.
      sketcher.SpellingKey(spelled["load_config"], StringTokenHash())};
  std::vector<Posting> postings;
  REQUIRE(index->GetGramPostings(Kind::kCode, keys, &postings).ok());
  REQUIRE(postings.size() == 4);
  CHECK(postings[0].ids.size() == 2);  // path: both code documents
  CHECK(postings[1].ids.size() == 1);  // load_config: a.py only (notes.txt is text)
  CHECK(postings[2].ids.size() == 1);
  CHECK(postings[3].ids.empty());
  // Removing a.py leaves its spellings to compaction, as its fingerprints: then only b.py's.
  const std::vector<std::string> gone = {"a.py"};
  uint64_t removed = 0, missing = 0;
  REQUIRE(index->Remove(gone, &removed, &missing).ok());
  REQUIRE(index->Compact().ok());
  REQUIRE(index->GetGramPostings(Kind::kCode, keys, &postings).ok());
  CHECK(postings[0].ids.size() == 1);
  CHECK(postings[1].ids.empty());
}

TEST_CASE("index: a strict reader knows which kinds of fingerprints the index holds", "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  {
    auto index = OpenOk(dir, true);
    WriteOk(index.get(), SketchAll(SketchParams{}, ThreeDocs()));
    // A writer may gain any kind.
    CHECK(index->MayHoldGrams(Kind::kText));
    CHECK(index->MayHoldGrams(Kind::kCode));
  }
  {
    auto reader = OpenOk(dir, false, /*read_only=*/true);
    CHECK(reader->MayHoldGrams(Kind::kText));
    CHECK_FALSE(reader->MayHoldGrams(Kind::kCode));
  }
  {
    auto index = OpenOk(dir, false);
    WriteOk(index.get(), SketchAll(SketchParams{}, {SmallPythonDoc()}));
  }
  auto reader = OpenOk(dir, false, /*read_only=*/true);
  CHECK(reader->MayHoldGrams(Kind::kText));
  CHECK(reader->MayHoldGrams(Kind::kCode));
}

TEST_CASE("index: a follower looks for each kind of fingerprint again when it catches up", "[index]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  auto writer = OpenOk(dir, true);
  WriteOk(writer.get(), SketchAll(SketchParams{}, ThreeDocs()));
  REQUIRE(writer->Flush().ok());
  IndexOptions follow = Options(false, true);
  follow.follow_writer = true;
  auto follower = OpenOk(dir, follow);
  CHECK(follower->MayHoldGrams(Kind::kText));
  CHECK_FALSE(follower->MayHoldGrams(Kind::kCode));
  WriteOk(writer.get(), SketchAll(SketchParams{}, {SmallPythonDoc()}));
  REQUIRE(writer->Flush().ok());
  REQUIRE(follower->Refresh().ok());
  CHECK(follower->MayHoldGrams(Kind::kCode));
}
