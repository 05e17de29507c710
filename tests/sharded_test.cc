// Sharded indexes (doppel/index.h): the same documents in N shards answer as one index does.
#include <catch2/catch.hpp>
#include <filesystem>
#include <random>

#include "doppel/filter.h"
#include "doppel/format.h"
#include "doppel/index.h"
#include "test_util.h"

using namespace doppel;
using doppel_test::Contains;
using doppel_test::MakeDoc;
using doppel_test::TempDir;

namespace {

// Forty documents of random words, three of them sharing a passage, and a code file.
std::vector<Document> Corpus() {
  std::mt19937_64 rng(41);
  const std::string shared = doppel_test::RandomWords(rng, 90);
  std::vector<Document> docs;
  for (int i = 0; i < 40; ++i) {
    std::string text = doppel_test::RandomWords(rng, 200);
    if (i % 13 == 0) text += " " + shared;
    docs.push_back(MakeDoc("doc-" + std::to_string(i), text, i == 7 ? R"({"license":"MIT"})" : ""));
  }
  Document code = MakeDoc("src/sum.py",
                          "def total(values, start):\n    result = start\n    for value in values:\n"
                          "        if value > 0:\n            result += value * 2\n        else:\n"
                          "            result -= value\n    return result\n");
  code.kind = Kind::kCode;
  code.language = "python";
  docs.push_back(code);
  return docs;
}

std::unique_ptr<Index> Build(const std::string& dir, uint32_t shards) {
  if (shards > 0) REQUIRE(CreateShardedIndex(dir, shards).ok());
  IndexOptions io;
  io.create_if_missing = true;
  auto index = Index::Open(dir, io);
  INFO(index.status().ToString());
  REQUIRE(index.ok());
  auto batch = doppel_test::SketchAll((*index)->params(), Corpus());
  WriteSummary ws;
  REQUIRE((*index)->Write(&batch, &ws).ok());
  REQUIRE(ws.added == 41);
  return std::move(index).value();
}

std::string Digest(const Index& index) {
  VerifyReport r;
  const Status s = index.Verify({.digest = true}, &r);
  INFO(s.ToString());
  REQUIRE(s.ok());
  return r.digest;
}

// The verdict without ids: action, score and each span's source and ranges.
std::string Summary(const Verdict& v) {
  std::string out = std::string(ActionName(v.action)) + " " + std::to_string(v.score);
  for (const auto& s : v.spans) {
    out += " | " + s.source_name + " " + std::to_string(s.query.start) + "-" + std::to_string(s.query.end) + " " +
           std::to_string(s.source.start) + "-" + std::to_string(s.source.end);
  }
  return out;
}

}  // namespace

TEST_CASE("sharded: three shards hold what one index holds and answer the same checks", "[sharded]") {
  TempDir tmp;
  auto one = Build(tmp / "one", 0);
  auto three = Build(tmp / "three", 3);
  // Every shard got documents, and the content digests agree.
  for (uint32_t s = 0; s < 3; ++s) CHECK(std::filesystem::exists(ShardDir(tmp / "three", s) + "/CURRENT"));
  CHECK(Digest(*one) == Digest(*three));
  REQUIRE(three->Stats().ok());
  CHECK(three->Stats()->documents == 41);
  // Names resolve to global ids whose records, texts and signatures are the document's.
  auto id = three->FindName("doc-7");
  REQUIRE(id.ok());
  REQUIRE(id->has_value());
  auto doc = three->GetDocument(**id);
  REQUIRE(doc.ok());
  CHECK(doc->name == "doc-7");
  CHECK(doc->id == **id);
  CHECK(doc->metadata == R"({"license":"MIT"})");
  CHECK(three->GetContent(*doc).value() == one->GetContent(one->FindName("doc-7").value().value()).value());
  CHECK(three->GetSignature(**id).value() == one->GetSignature(one->FindName("doc-7").value().value()).value());

  const auto docs = Corpus();
  auto f1 = Filter::FromIndex(std::shared_ptr<Index>(std::move(one)), FilterOptions());
  std::shared_ptr<Index> shared_three(std::move(three));
  auto f3 = Filter::FromIndex(shared_three, FilterOptions());
  const std::vector<std::pair<std::string, Kind>> queries = {
      {docs[14].text, Kind::kText},                                              // a whole document
      {"Some words of my own first. " + docs[26].text.substr(0, 900), Kind::kText},  // a passage
      {docs[0].text.substr(docs[0].text.size() - 500), Kind::kText},             // the shared passage
      {"def add_up(items, initial):\n    acc = initial\n    for it in items:\n        if it > 0:\n"
       "            acc += it * 2\n        else:\n            acc -= it\n    return acc\n", Kind::kCode},
      {"an answer made of words that no document holds at all, none of them", Kind::kText}};
  for (const auto& [text, kind] : queries) {
    auto a = f1->Check(text, kind, kind == Kind::kCode ? "python" : "");
    auto b = f3->Check(text, kind, kind == Kind::kCode ? "python" : "");
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    INFO(text.substr(0, 60));
    CHECK(Summary(*b) == Summary(*a));
  }
  CHECK(f3->Check(docs[14].text).value().action == Action::kBlock);

  // Writes and removals go to the name's shard.
  uint64_t removed = 0, missing = 0;
  REQUIRE(shared_three->Remove(std::vector<std::string>{"doc-14", "nope"}, &removed, &missing).ok());
  CHECK(removed == 1);
  CHECK(missing == 1);
  CHECK_FALSE(shared_three->FindName("doc-14").value().has_value());
  CHECK(f3->Check(docs[14].text).value().action == Action::kAllow);
}

TEST_CASE("sharded: a missing shard, another shard count or a damaged SHARDS file is refused by name",
          "[sharded]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  REQUIRE(CreateShardedIndex(dir, 2).ok());
  CHECK(CreateShardedIndex(dir, 2).ok());  // the same count again is fine
  const Status other = CreateShardedIndex(dir, 3);
  CHECK(other.code() == Status::Code::kIncompatible);
  CHECK(Contains(other.message(), "2 shards"));
  {
    IndexOptions io;
    io.create_if_missing = true;
    REQUIRE(Index::Open(ShardDir(dir, 0), io).ok());  // only shard 0 was built
  }
  IndexOptions ro;
  ro.read_only = true;
  const auto missing = Index::Open(dir, ro);
  CHECK(missing.status().code() == Status::Code::kNotFound);
  CHECK(Contains(missing.status().message(), "shard 1 of 2 is missing"));
  doppel_test::WriteFile(dir + "/SHARDS", "{\"format\":\"doppel-sharded\",\"shards\":0}\n");
  const auto damaged = Index::Open(dir, ro);
  CHECK(damaged.status().code() == Status::Code::kCorruption);
  CHECK(Contains(damaged.status().message(), dir + "/SHARDS"));
  // A shard built with other parameters than the first shard's is refused, naming its own as the
  // index's (they were named the other way round).
  const std::string mixed = tmp / "mixed";
  REQUIRE(CreateShardedIndex(mixed, 2).ok());
  {
    IndexOptions io;
    io.create_if_missing = true;
    REQUIRE(Index::Open(ShardDir(mixed, 0), io).ok());
    SketchParams p;
    p.gram_size = p.gram_size + 1;
    io.params = p;
    REQUIRE(Index::Open(ShardDir(mixed, 1), io).ok());
  }
  const auto other_params = Index::Open(mixed, ro);
  CHECK(other_params.status().code() == Status::Code::kIncompatible);
  CHECK(Contains(other_params.status().message(), ShardDir(mixed, 1)));
  CHECK(Contains(other_params.status().message(), "gram_size: index " + std::to_string(SketchParams{}.gram_size + 1) +
                                                      ", requested " + std::to_string(SketchParams{}.gram_size)));
  // An ordinary index is not turned into a sharded one.
  TempDir other_tmp;
  Build(other_tmp / "plain", 0);
  CHECK(CreateShardedIndex(other_tmp / "plain", 4).code() == Status::Code::kIncompatible);
}

TEST_CASE("sharded: merging the shards gives one index with the same content and verdicts", "[sharded]") {
  TempDir tmp;
  auto one = Build(tmp / "one", 0);
  {
    auto three = Build(tmp / "three", 3);
    // A removed document must not come back in the merged index.
    uint64_t removed = 0, missing = 0;
    REQUIRE(three->Remove(std::vector<std::string>{"doc-5"}, &removed, &missing).ok());
    REQUIRE(one->Remove(std::vector<std::string>{"doc-5"}, &removed, &missing).ok());
  }
  const Status m = MergeShardsIntoOne(tmp / "three", 3, tmp / "merged");
  INFO(m.ToString());
  REQUIRE(m.ok());
  CHECK_FALSE(std::filesystem::exists(tmp / "merged.merging"));
  IndexOptions ro;
  ro.read_only = true;
  auto merged = Index::Open(tmp / "merged", ro);
  REQUIRE(merged.ok());
  CHECK(ShardCount(tmp / "merged").value() == 0);  // an ordinary index
  CHECK(Digest(**merged) == Digest(*one));
  VerifyReport a, b;
  REQUIRE((*merged)->Verify({}, &a).ok());
  REQUIRE(one->Verify({}, &b).ok());
  // Lists of all shards joined, not side by side (the one index may still keep lists that held
  // only the removed document until it compacts).
  VerifyReport sharded;
  REQUIRE(Index::Open(tmp / "three", ro).value()->Verify({}, &sharded).ok());
  CHECK(a.posting_lists < sharded.posting_lists);
  CHECK(a.posting_lists <= b.posting_lists);
  CHECK(a.deleted_refs == 0);
  CHECK(a.documents == 40);
  CHECK_FALSE((*merged)->FindName("doc-5").value().has_value());
  const auto docs = Corpus();
  auto f1 = Filter::FromIndex(std::shared_ptr<Index>(std::move(one)), FilterOptions());
  auto fm = Filter::FromIndex(std::shared_ptr<Index>(std::move(merged).value()), FilterOptions());
  for (const std::string& text : {docs[14].text, docs[5].text, docs[0].text.substr(docs[0].text.size() - 500)}) {
    CHECK(Summary(fm->Check(text).value()) == Summary(f1->Check(text).value()));
  }
  // The output must be new.
  const Status again = MergeShardsIntoOne(tmp / "three", 3, tmp / "merged");
  CHECK(again.code() == Status::Code::kInvalidArgument);
  CHECK(Contains(again.message(), "new or empty directory"));
}

TEST_CASE("sharded: a follower's shards all catch up though one of them cannot", "[sharded]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  Build(dir, 2).reset();
  IndexOptions follow;
  follow.read_only = true;
  follow.follow_writer = true;
  auto follower = Index::Open(dir, follow);
  REQUIRE(follower.ok());
  REQUIRE((*follower)->Stats()->documents == 41);
  // Shard 0's directory now holds another index: its refresh fails, and shard 1 still catches up.
  std::filesystem::remove_all(ShardDir(dir, 0));
  IndexOptions create;
  create.create_if_missing = true;
  REQUIRE(Index::Open(ShardDir(dir, 0), create).ok());
  {
    auto shard = Index::Open(ShardDir(dir, 1), IndexOptions{});
    REQUIRE(shard.ok());
    auto batch = doppel_test::SketchAll((*shard)->params(), {MakeDoc("late", "a document written to the second shard")});
    WriteSummary ws;
    REQUIRE((*shard)->Write(&batch, &ws).ok());
  }
  const Status refreshed = (*follower)->Refresh();
  CHECK(refreshed.code() == Status::Code::kUnavailable);
  CHECK(Contains(refreshed.message(), ShardDir(dir, 0)));
  CHECK((*follower)->Stats()->documents == 42);
}
