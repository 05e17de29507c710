// Crash safety of `doppel-index build`: the real binary killed with SIGKILL at random points.
// DOPPEL_KILL_POINTS sets how many kills a run tries (default 12) for longer runs by hand.
#include <catch2/catch.hpp>
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <random>

#include "doppel/format.h"
#include "test_util.h"

using doppel_test::CommandResult;
using doppel_test::Contains;
using doppel_test::Describe;
using doppel_test::Quote;
using doppel_test::TempDir;

namespace {

const std::string kIndexBin = DOPPEL_INDEX_BIN;
const std::string kFilterBin = DOPPEL_FILTER_BIN;

int KillPoints() {
  const char* v = std::getenv("DOPPEL_KILL_POINTS");
  return v != nullptr && std::atoi(v) > 0 ? std::atoi(v) : 12;
}

// `n` JSONL documents of 150-450 random words, some sharing passages so posting lists hold
// several ids.
std::string Corpus(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const std::string shared = doppel_test::RandomWords(rng, 80);
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    std::string text = doppel_test::RandomWords(rng, 150 + rng() % 300);
    if (i % 5 == 0) text += " " + shared;
    out += "{\"id\":\"doc-" + std::to_string(i) + "\",\"text\":";
    doppel::AppendJsonString(&out, text);
    out += "}\n";
  }
  return out;
}

CommandResult Verify(const std::string& index, bool digest) {
  return doppel_test::Run(Quote(kIndexBin) + " verify --index " + Quote(index) + (digest ? " --digest" : ""));
}

std::string DigestOf(const CommandResult& r) {
  const size_t at = r.out.find("digest=");
  REQUIRE(at != std::string::npos);
  return r.out.substr(at + 7, 32);
}

}  // namespace

TEST_CASE("crash: build killed at random points verifies after each kill, is refused by checks until it "
          "finishes, and reruns to the same index",
          "[crash]") {
  TempDir tmp;
  const std::string corpus = tmp / "corpus.jsonl";
  doppel_test::WriteFile(corpus, Corpus(1500, 11));
  // A small spill buffer makes the bulk load ingest many SST files, so kills land before,
  // during and after spills.
  auto build = [&](const std::string& index) {
    return Quote(kIndexBin) + " build --quiet --threads 2 --spill-memory 256K --index " + Quote(index) + " " +
           Quote(corpus);
  };
  auto [whole, took] = doppel_test::RunTimed(build(tmp / "whole"));
  INFO(Describe(whole));
  REQUIRE(whole.exit_code == 0);
  const CommandResult whole_verify = Verify(tmp / "whole", true);
  INFO(Describe(whole_verify));
  REQUIRE(whole_verify.exit_code == 0);
  REQUIRE(Contains(whole_verify.out, "documents=1500 "));

  std::mt19937_64 rng(2026);
  int killed = 0, interrupted = 0, unfinished = 0;
  const std::string answer = tmp / "answer.txt";
  doppel_test::WriteFile(answer, "An answer of a few words to check against the index.\n");
  const int points = KillPoints();
  for (int i = 0; i < points; ++i) {
    const std::string index = tmp / ("killed-" + std::to_string(i));
    const auto delay = std::chrono::microseconds(rng() % std::max<int64_t>(took.count(), 1000));
    const bool ended = doppel_test::RunKilledAfter(build(index), delay);
    killed += ended;
    // A build that finished before its kill: the timed one was slower (other tests running
    // beside it), so later kills are drawn within this one's time.
    if (!ended) took = std::min(took, delay);
    INFO("kill " << i << " after " << delay.count() << " us");
    if (std::filesystem::exists(index + "/CURRENT")) {
      // Every state a kill leaves opens and passes the consistency check; documents a bulk load
      // stored without their posting lists are reported, not counted. A build killed before it
      // finished is said (exit 1), and checks refuse the index rather than read a part of the
      // protected set as the whole of it.
      const CommandResult v = Verify(index, false);
      INFO(Describe(v));
      const bool cut = Contains(v.out, " unfinished_build");
      REQUIRE(v.exit_code == (cut ? 1 : 0));
      REQUIRE(Contains(v.out, "ok documents="));
      interrupted += Contains(v.out, "interrupted_load_documents=");
      unfinished += cut;
      const CommandResult c = doppel_test::Run(Quote(kFilterBin) + " check --index " + Quote(index) + " " + Quote(answer));
      INFO(Describe(c));
      CHECK(c.exit_code == (cut ? 2 : 0));
      CHECK(Contains(c.err, "did not finish") == cut);
    }
    const CommandResult rerun = doppel_test::Run(build(index));
    INFO(Describe(rerun));
    REQUIRE(rerun.exit_code == 0);
    const CommandResult rerun_verify = Verify(index, true);
    INFO(Describe(rerun_verify));
    REQUIRE(rerun_verify.exit_code == 0);
    CHECK_FALSE(Contains(rerun_verify.out, "interrupted_load_documents"));
    CHECK_FALSE(Contains(rerun_verify.out, "unfinished_build"));
    CHECK(DigestOf(rerun_verify) == DigestOf(whole_verify));
    std::filesystem::remove_all(index);
  }
  CHECK(killed >= points / 2);
  CHECK(unfinished > 0);
  std::fprintf(stderr, "crash: build killed at %d of %d points (%d left an unfinished build, %d an interrupted "
               "bulk load); each verified, and each rerun's digest equals the uninterrupted build's\n",
               killed, points, unfinished, interrupted);
}

TEST_CASE("crash: a build killed while adding to an existing index loses no stored document",
          "[crash]") {
  TempDir tmp;
  const std::string first = tmp / "first.jsonl", second = tmp / "second.jsonl";
  doppel_test::WriteFile(first, Corpus(400, 3));
  // The same names with other texts: every document of the second run replaces a stored one.
  doppel_test::WriteFile(second, Corpus(400, 4));
  const std::string index = tmp / "idx";
  auto build = [&](const std::string& input) {
    return Quote(kIndexBin) + " build --quiet --threads 2 --spill-memory 512K --index " + Quote(index) + " " +
           Quote(input);
  };
  REQUIRE(doppel_test::Run(build(first)).exit_code == 0);
  const auto [replace, took] = doppel_test::RunTimed(build(second));
  REQUIRE(replace.exit_code == 0);
  REQUIRE(doppel_test::Run(build(first)).exit_code == 0);  // back to the first texts
  std::mt19937_64 rng(5);
  for (int i = 0; i < KillPoints() / 2; ++i) {
    const auto delay = std::chrono::microseconds(rng() % std::max<int64_t>(took.count(), 1000));
    doppel_test::RunKilledAfter(build(i % 2 == 0 ? second : first), delay);
    const CommandResult v = Verify(index, false);
    INFO("kill " << i << " after " << delay.count() << " us: " << Describe(v));
    REQUIRE(v.exit_code == 0);
    // Each name holds its old or its new text, never neither.
    CHECK(Contains(v.out, "ok documents=400 "));
    CHECK_FALSE(Contains(v.out, "interrupted_load_documents"));
  }
}

TEST_CASE("crash: a byte flipped in any file of an index is reported by verify or provably unused",
          "[crash]") {
  TempDir tmp;
  const std::string clean = tmp / "clean";
  doppel_test::WriteFile(tmp / "corpus.jsonl", Corpus(300, 21));
  REQUIRE(doppel_test::Run(Quote(kIndexBin) + " build --quiet --index " + Quote(clean) + " " +
                           Quote(tmp / "corpus.jsonl") + " /usr/share/common-licenses").exit_code == 0);
  const CommandResult base = Verify(clean, true);
  REQUIRE(base.exit_code == 0);
  const std::string digest = DigestOf(base);
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(clean)) {
    const std::string name = e.path().filename().string();
    // RocksDB's own diagnostic logs are never read back.
    if (e.is_regular_file() && e.file_size() > 0 && name.rfind("LOG", 0) != 0) files.push_back(name);
  }
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 8);
  std::mt19937_64 rng(17);
  int detected = 0, unused = 0;
  for (const auto& name : files) {
    for (int trial = 0; trial < 3; ++trial) {
      const std::string copy = tmp / "flipped";
      std::filesystem::remove_all(copy);
      std::filesystem::copy(clean, copy);
      std::string bytes = doppel_test::ReadFile(copy + "/" + name);
      const size_t at = rng() % bytes.size();
      bytes[at] = static_cast<char>(bytes[at] ^ (1 + rng() % 255));
      doppel_test::WriteFile(copy + "/" + name, bytes);
      const CommandResult v = Verify(copy, true);
      INFO(name << " byte " << at << ": " << Describe(v));
      if (v.exit_code == 0) {
        // Accepted only when the content is exactly the clean index's: the byte was not used.
        CHECK(DigestOf(v) == digest);
        ++unused;
      } else {
        CHECK(v.exit_code == 2);
        CHECK(Contains(v.err, "doppel-index: error:"));
        ++detected;
      }
    }
  }
  std::fprintf(stderr, "crash: %d flipped bytes in %zu index files: %d reported by verify, %d in bytes never used\n",
               detected + unused, files.size(), detected, unused);
  CHECK(detected > 0);
}

TEST_CASE("crash: writes that fail for lack of room are exit 2 naming the index, and lose nothing stored",
          "[crash]") {
  // A file size limit (RLIMIT_FSIZE, its signal ignored) fails writes as a full disk does, past
  // the RocksDB info log's first lines too, whose writer aborted the process on its next write.
  TempDir tmp;
  const std::string index = tmp / "index", before = tmp / "before.jsonl", more = tmp / "more.jsonl";
  std::string first = Corpus(20, 3);
  for (size_t at = 0; (at = first.find("\"doc-", at)) != std::string::npos;) first.replace(at, 5, "\"old-");
  doppel_test::WriteFile(before, first);
  doppel_test::WriteFile(more, Corpus(400, 4));
  const CommandResult built = doppel_test::Run(Quote(kIndexBin) + " build --quiet --index " + Quote(index) + " " + Quote(before));
  REQUIRE(built.exit_code == 0);
  auto limited = [&](const std::string& args) {
    return doppel_test::Run("bash -c " + Quote("trap '' XFSZ; ulimit -f 40; exec " + Quote(kIndexBin) + " " + args));
  };
  uint64_t said_added = UINT64_MAX;
  for (const std::string& target : {index, std::string(tmp / "new")}) {
    const CommandResult r = limited((target == index ? "add" : "build") + std::string(" --index ") +
                                    Quote(target) + " " + Quote(more));
    INFO(Describe(r));
    CHECK(r.exit_code == 2);
    CHECK(Contains(r.err, "File too large"));
    CHECK(Contains(r.err, target));
    CHECK_FALSE(Contains(r.err, "Assertion"));
    // The summary counts only what was stored; of a first build, which is removed, nothing.
    CHECK(Contains(r.err, "stopped by the error after reading "));
    const size_t at = r.err.find("stored before it ");
    if (target == index) {
      REQUIRE(at != std::string::npos);
      said_added = std::stoull(r.err.substr(at + 17));
    } else {
      CHECK(at == std::string::npos);
      CHECK_FALSE(Contains(r.err, " added"));
    }
  }
  // The new index's build failed: nothing is left that a check would read.
  CHECK_FALSE(std::filesystem::exists(tmp / "new/CURRENT"));
  // What the add stored before it failed is whole, the documents stored before are all there,
  // as many more as the add said it stored, and the add done again completes.
  CommandResult v = Verify(index, false);
  INFO(Describe(v));
  CHECK(v.exit_code == 0);
  CHECK(Contains(v.out, "ok documents=" + std::to_string(20 + said_added) + " "));
  const CommandResult again = doppel_test::Run(Quote(kIndexBin) + " add --quiet --index " + Quote(index) + " " + Quote(more));
  INFO(Describe(again));
  CHECK(again.exit_code == 0);
  v = Verify(index, false);
  INFO(Describe(v));
  CHECK(Contains(v.out, "ok documents=420 "));
}
