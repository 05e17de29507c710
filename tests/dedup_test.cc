// `doppel-index dedup` end to end: the real binary over real files in temporary directories.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <random>
#include <set>

#include "doppel/dedup.h"
#include "doppel/format.h"
#include "test_util.h"

using doppel_test::CommandResult;
using doppel_test::Describe;
using doppel_test::Contains;
using doppel_test::Quote;
using doppel_test::ReadFile;
using doppel_test::TempDir;
using doppel_test::WriteFile;

namespace {

const std::string kIndexBin = DOPPEL_INDEX_BIN;

CommandResult Dedup(const std::string& args) { return doppel_test::Run(Quote(kIndexBin) + " dedup " + args); }

std::string JsonLine(const std::string& id, const std::string& text, const std::string& extra = "") {
  std::string l = "{\"id\":";
  doppel::AppendJsonString(&l, id);
  l += ",\"text\":";
  doppel::AppendJsonString(&l, text);
  if (!extra.empty()) l += "," + extra;
  return l + "}";
}

// Replaces every `step`-th word (an edit rate of 1/step).
std::string EditWords(const std::string& text, size_t step, size_t offset = 0) {
  std::istringstream in(text);
  std::string w, out;
  for (size_t i = 0; in >> w; ++i) {
    if (!out.empty()) out += ' ';
    out += (i % step == offset) ? "qzx" + std::to_string(i) : w;
  }
  return out;
}

// "reason" of each removed id.
std::map<std::string, std::string> Removed(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& line : doppel_test::Lines(ReadFile(dir + "/removed.jsonl"))) {
    const size_t a = line.find("\"id\":\"") + 6;
    const size_t b = line.find('"', a);
    const size_t r = line.find("\"reason\":\"") + 10;
    out[line.substr(a, b - a)] = line.substr(r, line.find('"', r) - r);
  }
  return out;
}

std::string Gunzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  REQUIRE(f != nullptr);
  std::string out;
  char buf[65536];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  gzclose(f);
  return out;
}

// A corpus of independent documents (300 words) with planted duplicates; Jaccard similarity of
// 5-word shingles in brackets:
//   doc-K-exact    doc-K with other case and spacing (exact after normalization)
//   doc-K-e1       1% of the words replaced [~0.90]: a near duplicate at the default preset
//   doc-K-e4       4% replaced [~0.66]: not at the default (>= 0.8), yes at --preset aggressive
//   doc-K-e40      40% replaced [~0.1]: never a duplicate
struct Planted {
  std::vector<std::string> lines;
  std::set<std::string> duplicates, aggressive_only, originals;
};

Planted MakeCorpus(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Planted p;
  for (size_t k = 0; k < n; ++k) {
    const std::string id = "doc-" + std::to_string(k);
    const std::string text = doppel_test::RandomWords(rng, 300);
    p.lines.push_back(JsonLine(id, text, "\"source\":\"web\",\"n\":" + std::to_string(k)));
    p.originals.insert(id);
    if (k % 5 == 0) {
      std::string upper = text;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      p.lines.push_back(JsonLine(id + "-exact", "  " + upper + "\n"));
      p.duplicates.insert(id + "-exact");
    }
    if (k % 5 == 1) {
      p.lines.push_back(JsonLine(id + "-e1", EditWords(text, 100)));
      p.duplicates.insert(id + "-e1");
    }
    if (k % 5 == 2) {
      p.lines.push_back(JsonLine(id + "-e4", EditWords(text, 25)));
      p.aggressive_only.insert(id + "-e4");
    }
    if (k % 5 == 3) {
      std::string t = text;
      for (size_t off = 0; off < 4; ++off) t = EditWords(t, 10, off);
      p.lines.push_back(JsonLine(id + "-e40", t));
      p.originals.insert(id + "-e40");
    }
  }
  return p;
}

void WriteLines(const std::string& path, const std::vector<std::string>& lines, size_t begin, size_t end) {
  std::string s;
  for (size_t i = begin; i < end && i < lines.size(); ++i) s += lines[i] + "\n";
  WriteFile(path, s);
}

namespace fs = std::filesystem;

// What tells a file apart from a rewrite of it: its last-write time, size and inode (a file
// replaced by a rename, as every output of dedup is, has another inode).
struct FileStamp {
  fs::file_time_type time;
  uintmax_t size = 0;
  ino_t inode = 0;
};

FileStamp Stamp(const std::string& path) {
  INFO(path);
  REQUIRE(fs::exists(path));
  FileStamp s;
  s.time = fs::last_write_time(path);
  s.size = fs::file_size(path);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  s.inode = st.st_ino;
  return s;
}

// Every file stamped before a run that is still there is the same file (time, size, inode): not
// rewritten. The sketches (sig-N.bin, names-N.bin) are the exception: a run that finishes removes
// them, so after one only their markers are compared.
void RequireUntouched(const std::map<std::string, FileStamp>& before) {
  for (const auto& [path, stamp] : before) {
    INFO(path << " was finished before the run; the run must not have redone it");
    const std::string name = fs::path(path).filename().string();
    if ((name.starts_with("sig-") || name.starts_with("names-")) && !fs::exists(path)) continue;
    REQUIRE(fs::exists(path));
    const FileStamp now = Stamp(path);
    REQUIRE(now.time.time_since_epoch().count() == stamp.time.time_since_epoch().count());
    REQUIRE(now.size == stamp.size);
    REQUIRE(now.inode == stamp.inode);
  }
}

// The completion markers under OUTPUT/.work (*.done) and the files each vouches for, stamped:
// sketch-N.done its sig-N.bin and names-N.bin, cluster.done decisions.bin, clusters.jsonl and
// removed.jsonl, write-N.done the output of shard N (`shard_output(N)`, relative to OUTPUT).
std::map<std::string, FileStamp> FinishedWork(const std::string& out,
                                              const std::function<std::string(size_t)>& shard_output) {
  std::map<std::string, FileStamp> found;
  const std::string work = out + "/.work";
  std::error_code ec;
  if (!fs::is_directory(work, ec)) return found;
  std::vector<std::string> paths;
  for (const auto& e : fs::directory_iterator(work)) {
    const std::string name = e.path().filename().string();
    if (!doppel_test::EndsWith(name, ".done")) continue;
    paths.push_back(e.path().string());
    const std::string stem = name.substr(0, name.size() - 5);
    if (stem == "cluster") {
      paths.push_back(work + "/decisions.bin");
      paths.push_back(out + "/clusters.jsonl");
      paths.push_back(out + "/removed.jsonl");
    } else if (stem.rfind("sketch-", 0) == 0) {
      // (Unless a finished run has removed them.)
      const std::string n = stem.substr(7);
      for (const std::string& f : {work + "/sig-" + n + ".bin", work + "/names-" + n + ".bin"}) {
        if (fs::exists(f)) paths.push_back(f);
      }
    } else if (stem.rfind("write-", 0) == 0) {
      paths.push_back(out + "/" + shard_output(std::stoul(stem.substr(6))));
    }
  }
  for (const auto& p : paths) found[p] = Stamp(p);
  return found;
}

size_t CountMarkers(const std::map<std::string, FileStamp>& files) {
  size_t n = 0;
  for (const auto& f : files) n += doppel_test::EndsWith(f.first, ".done");
  return n;
}

// stats.json without its trailing "resumed" flag (a resumed run differs only there).
std::string StatsUpToResumed(const std::string& stats) {
  const size_t at = stats.find("\"resumed\"");
  REQUIRE(at != std::string::npos);
  return stats.substr(0, at);
}

// The line of removed.jsonl for `id` ("" when none).
std::string RemovedLine(const std::string& dir, const std::string& id) {
  std::string key = "{\"id\":";
  doppel::AppendJsonString(&key, id);
  for (const auto& line : doppel_test::Lines(ReadFile(dir + "/removed.jsonl"))) {
    if (line.rfind(key + ",", 0) == 0) return line;
  }
  return "";
}

}  // namespace

TEST_CASE("dedup: planted exact and near duplicates are removed, originals kept, lines intact", "[dedup]") {
  TempDir tmp;
  const Planted p = MakeCorpus(60, 1);
  WriteLines(tmp / "part-0.jsonl", p.lines, 0, 40);
  WriteLines(tmp / "part-1.jsonl", p.lines, 40, p.lines.size());
  REQUIRE(doppel_test::Run("gzip " + Quote(tmp / "part-1.jsonl")).exit_code == 0);
  const CommandResult r = Dedup("--output " + Quote(tmp / "out") + " " + Quote(tmp / "part-0.jsonl") + " " +
                                Quote(tmp / "part-1.jsonl.gz"));
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  const auto removed = Removed(tmp / "out");
  for (const auto& id : p.duplicates) {
    INFO(id);
    REQUIRE(removed.count(id));
    CHECK(removed.at(id) == (Contains(id, "exact") ? "exact" : "near_duplicate"));
  }
  for (const auto& id : p.originals) {
    INFO(id);
    CHECK(removed.count(id) == 0);
  }
  for (const auto& id : p.aggressive_only) {
    INFO(id);
    CHECK(removed.count(id) == 0);
  }
  // The kept lines are the input's lines, byte for byte and in order, in the input's format.
  std::vector<std::string> kept = doppel_test::Lines(ReadFile(tmp / "out/part-0.jsonl"));
  for (const auto& l : doppel_test::Lines(Gunzip(tmp / "out/part-1.jsonl.gz"))) kept.push_back(l);
  std::vector<std::string> expected;
  for (const auto& l : p.lines) {
    const size_t a = l.find("\"id\":\"") + 6;
    if (!removed.count(l.substr(a, l.find('"', a) - a))) expected.push_back(l);
  }
  CHECK(kept == expected);
  CHECK(Contains(ReadFile(tmp / "out/stats.json"), "\"kept\":" + std::to_string(expected.size())));
  // Every removed duplicate names its cluster's representative in clusters.jsonl.
  const std::string clusters = ReadFile(tmp / "out/clusters.jsonl");
  CHECK(Contains(clusters, R"({"id":"doc-0-exact","cluster":0,"representative":"doc-0","similarity":1,"input":")" +
                               tmp.str() + "/part-"));
  CHECK(Contains(clusters, "\"representative_input\":\"" + tmp.str() + "/part-"));

  // The aggressive preset also joins the 4% edits, and still not the 40% ones.
  const CommandResult a = Dedup("--output " + Quote(tmp / "aggr") + " --preset aggressive " +
                                Quote(tmp / "part-0.jsonl") + " " + Quote(tmp / "part-1.jsonl.gz"));
  REQUIRE(a.exit_code == 0);
  const auto more = Removed(tmp / "aggr");
  for (const auto& id : p.aggressive_only) CHECK(more.count(id) == 1);
  for (const auto& id : p.duplicates) CHECK(more.count(id) == 1);
  for (const auto& id : p.originals) CHECK(more.count(id) == 0);

  // An output directory that holds other files, or holds an input, or lies in one, is refused
  // before anything is written: the inputs and the other files stay as they were.
  const std::string before = ReadFile(tmp / "part-0.jsonl");
  std::filesystem::create_directories(tmp / "mine");
  doppel_test::WriteFile(tmp / "mine/stats.json", "mine\n");
  CommandResult refused = Dedup("--output " + Quote(tmp / "mine") + " " + Quote(tmp / "part-0.jsonl"));
  CHECK(refused.exit_code == 2);
  CHECK(Contains(refused.err, "holds other files"));
  CHECK(ReadFile(tmp / "mine/stats.json") == "mine\n");
  refused = Dedup("--output " + Quote(tmp.str()) + " " + Quote(tmp / "part-0.jsonl"));
  CHECK(refused.exit_code == 2);
  CHECK(Contains(refused.err, "lies in the output directory"));
  refused = Dedup("--output " + Quote(tmp / "sub/out") + " " + Quote(tmp.str()));
  CHECK(refused.exit_code == 2);
  CHECK(Contains(refused.err, "lies in input"));
  CHECK(ReadFile(tmp / "part-0.jsonl") == before);
  // The directory of a finished run is still accepted (it resumes: nothing left to do).
  CHECK(Dedup("--output " + Quote(tmp / "out") + " " + Quote(tmp / "part-0.jsonl") + " " +
              Quote(tmp / "part-1.jsonl.gz")).exit_code == 0);
}

TEST_CASE("dedup: documents without words are copies only of the same text", "[dedup]") {
  TempDir tmp;
  WriteLines(tmp / "odd.jsonl",
             {JsonLine("empty", ""), JsonLine("blank", "  "), JsonLine("faces", "\xF0\x9F\x98\x80\xF0\x9F\x98\x83"),
              JsonLine("arrows", "\xE2\x86\x92 \xE2\x86\x90"), JsonLine("faces-again", "\xF0\x9F\x98\x80\xF0\x9F\x98\x83"),
              JsonLine("bangs", "!!! ...")},
             0, 6);
  const CommandResult r = Dedup("--quiet --output " + Quote(tmp / "out") + " " + Quote(tmp / "odd.jsonl"));
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  const auto removed = Removed(tmp / "out");
  INFO(ReadFile(tmp / "out/removed.jsonl"));
  CHECK(removed.size() == 2);
  CHECK(removed.count("blank") == 1);
  CHECK(Contains(RemovedLine(tmp / "out", "blank"), R"("of":"empty")"));
  CHECK(removed.count("faces-again") == 1);
  CHECK(Contains(RemovedLine(tmp / "out", "faces-again"), "\"of\":\"faces\",\"of_input\":\"" + tmp / "odd.jsonl:3\""));
}

TEST_CASE("dedup: results are identical for any thread count, input order and memory limit", "[dedup]") {
  TempDir tmp;
  const Planted p = MakeCorpus(80, 2);
  for (int s = 0; s < 4; ++s) WriteLines(tmp / ("s" + std::to_string(s) + ".jsonl"), p.lines, s * 30, s * 30 + 30);
  WriteLines(tmp / "s4.jsonl", p.lines, 120, p.lines.size());
  const std::string fwd = Quote(tmp / "s0.jsonl") + " " + Quote(tmp / "s1.jsonl") + " " + Quote(tmp / "s2.jsonl") +
                          " " + Quote(tmp / "s3.jsonl") + " " + Quote(tmp / "s4.jsonl");
  const std::string rev = Quote(tmp / "s4.jsonl") + " " + Quote(tmp / "s3.jsonl") + " " + Quote(tmp / "s2.jsonl") +
                          " " + Quote(tmp / "s1.jsonl") + " " + Quote(tmp / "s0.jsonl");
  struct Variant {
    std::string name, args, before = "";
  };
  // (few-files: a process that may open 80 files merges at most 8 runs at once, so its short
  // runs are merged into longer ones first.)
  const std::vector<Variant> variants = {{"t1", "--threads 1 " + fwd},
                                         {"t2", "--threads 2 " + fwd},
                                         {"rev", "--threads 2 " + rev},
                                         {"spill", "--threads 2 --memory-limit 4K " + fwd},
                                         {"few-files", "--threads 2 --memory-limit 160 " + fwd, "ulimit -n 80 && "}};
  std::map<std::string, std::string> first;
  for (const auto& v : variants) {
    const CommandResult r = doppel_test::Run(v.before + Quote(kIndexBin) + " dedup --output " + Quote(tmp / v.name) + " " + v.args);
    INFO(v.name << ": " << Describe(r));
    REQUIRE(r.exit_code == 0);
    for (const std::string f : {"clusters.jsonl", "removed.jsonl", "s0.jsonl", "s2.jsonl", "s4.jsonl"}) {
      const std::string got = ReadFile(tmp / (v.name + "/" + f));
      if (!first.count(f)) {
        first[f] = got;
        CHECK(!got.empty());
      } else {
        INFO(f);
        CHECK(got == first[f]);
      }
    }
  }
  // The memory limit really spilled: far more tuples than 4 KB hold.
  CHECK(std::count(first["clusters.jsonl"].begin(), first["clusters.jsonl"].end(), '\n') > 30);
  CHECK(Contains(ReadFile(tmp / "t2/stats.json"), "\"spilled_runs\":0,"));
  const std::string spill = ReadFile(tmp / "spill/stats.json");
  const size_t at = spill.find("\"spilled_runs\":");
  REQUIRE(at != std::string::npos);
  CHECK(std::stoull(spill.substr(at + 15)) >= 2);  // several sorted runs were merged
  const std::string few = ReadFile(tmp / "few-files/stats.json");
  const size_t few_at = few.find("\"spilled_runs\":");
  REQUIRE(few_at != std::string::npos);
  CHECK(std::stoull(few.substr(few_at + 15)) > 16);  // more than two rounds' width
}

TEST_CASE("dedup: --max-copies keeps K per cluster, --keep longest and --priority-field choose them", "[dedup]") {
  TempDir tmp;
  std::mt19937_64 rng(3);
  const std::string text = doppel_test::RandomWords(rng, 200);
  std::vector<std::string> lines;
  // c0..c3: the same words (exact duplicates after normalization), longer by a space each;
  // c4: the same and three more words (a near duplicate, and the longest).
  for (int i = 0; i < 5; ++i) {
    lines.push_back(JsonLine("c" + std::to_string(i),
                             i < 4 ? text + std::string(static_cast<size_t>(i), ' ') : text + " one more remark",
                             "\"score\":" + std::to_string(i == 2 ? 9 : i)));
  }
  lines.push_back(JsonLine("other", doppel_test::RandomWords(rng, 200)));
  WriteLines(tmp / "in.jsonl", lines, 0, lines.size());

  CommandResult r = Dedup("--output " + Quote(tmp / "k2") + " --max-copies 2 " + Quote(tmp / "in.jsonl"));
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  auto removed = Removed(tmp / "k2");
  CHECK(removed.size() == 3);
  CHECK(removed.count("c0") == 0);
  CHECK(removed.count("c1") == 0);
  CHECK(removed["c2"] == "copy_limit");
  CHECK(removed.count("other") == 0);

  r = Dedup("--output " + Quote(tmp / "prio") + " --priority-field score " + Quote(tmp / "in.jsonl"));
  REQUIRE(r.exit_code == 0);
  removed = Removed(tmp / "prio");
  CHECK(removed.count("c2") == 0);  // score 9 survives
  CHECK(removed["c0"] == "exact");
  CHECK(Contains(ReadFile(tmp / "prio/removed.jsonl"), R"("of":"c2")"));
  // A null score is no score, as a line without one: c2 still survives.
  std::vector<std::string> nulled = lines;
  nulled[1] = JsonLine("c1", text + " ", "\"score\":null");
  WriteLines(tmp / "nulled.jsonl", nulled, 0, nulled.size());
  r = Dedup("--output " + Quote(tmp / "prio-null") + " --priority-field score " + Quote(tmp / "nulled.jsonl"));
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  removed = Removed(tmp / "prio-null");
  CHECK(removed.count("c2") == 0);
  CHECK(removed["c1"] == "exact");

  r = Dedup("--output " + Quote(tmp / "long") + " --keep longest " + Quote(tmp / "in.jsonl"));
  REQUIRE(r.exit_code == 0);
  removed = Removed(tmp / "long");
  CHECK(removed.count("c4") == 0);  // the longest text survives
  CHECK(removed["c0"] == "near_duplicate");
  CHECK(removed.size() == 4);
}

TEST_CASE("dedup: --against removes documents holding passages of an index", "[dedup]") {
  TempDir tmp;
  const std::string gpl = ReadFile("/usr/share/common-licenses/GPL-3");
  WriteFile(tmp / "eval.jsonl", JsonLine("eval-1", gpl.substr(gpl.find("The GNU General Public License is a free"), 1500)) + "\n");
  CommandResult r = doppel_test::Run(Quote(kIndexBin) + " build --index " + Quote(tmp / "idx") + " " + Quote(tmp / "eval.jsonl"));
  REQUIRE(r.exit_code == 0);
  std::mt19937_64 rng(4);
  std::vector<std::string> lines = {
      JsonLine("clean", doppel_test::RandomWords(rng, 300)),
      JsonLine("contaminated", doppel_test::RandomWords(rng, 200) + " " +
                                   gpl.substr(gpl.find("The GNU General Public License is a free"), 700) + " " +
                                   doppel_test::RandomWords(rng, 200))};
  WriteLines(tmp / "train.jsonl", lines, 0, lines.size());
  r = Dedup("--output " + Quote(tmp / "out") + " --against " + Quote(tmp / "idx") + " " + Quote(tmp / "train.jsonl"));
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  const auto removed = Removed(tmp / "out");
  CHECK(removed.size() == 1);
  CHECK(removed.at("contaminated") == "index");
  CHECK(Contains(ReadFile(tmp / "out/removed.jsonl"), R"("source":"eval-1")"));
  CHECK(Contains(ReadFile(tmp / "out/train.jsonl"), "\"clean\""));

  // --against-policy sets what counts: a passage must be 200 tokens here, so this one stays.
  WriteFile(tmp / "lenient.json",
            R"({"text": {"redact_tokens": 200, "min_span_tokens": 200, "redact_containment": 1, "block_containment": 1}})");
  r = Dedup("--output " + Quote(tmp / "lenient") + " --against " + Quote(tmp / "idx") + " --against-policy " +
            Quote(tmp / "lenient.json") + " " + Quote(tmp / "train.jsonl"));
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  CHECK(Removed(tmp / "lenient").empty());
  WriteFile(tmp / "typo.json", R"({"text": {"redact_token": 200}})");
  r = Dedup("--output " + Quote(tmp / "typo") + " --against " + Quote(tmp / "idx") + " --against-policy " +
            Quote(tmp / "typo.json") + " " + Quote(tmp / "train.jsonl"));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "redact_token"));

  // Run again as it was: resumed, as finished. Once the index is written (the clean document's
  // text added to it), the same command would give other verdicts: refused, not resumed.
  r = Dedup("--output " + Quote(tmp / "out") + " --against " + Quote(tmp / "idx") + " " + Quote(tmp / "train.jsonl"));
  CHECK(r.exit_code == 0);
  CHECK(Contains(r.err, "(resumed)"));
  // (An add that changes nothing leaves the index as it was: still resumed.)
  r = doppel_test::Run(Quote(kIndexBin) + " add --quiet --index " + Quote(tmp / "idx") + " " + Quote(tmp / "eval.jsonl"));
  REQUIRE(r.exit_code == 0);
  r = Dedup("--output " + Quote(tmp / "out") + " --against " + Quote(tmp / "idx") + " " + Quote(tmp / "train.jsonl"));
  CHECK(r.exit_code == 0);
  CHECK(Contains(r.err, "(resumed)"));
  r = doppel_test::Run(Quote(kIndexBin) + " add --quiet --index " + Quote(tmp / "idx") + " " + Quote(tmp / "train.jsonl"));
  REQUIRE(r.exit_code == 0);
  r = Dedup("--output " + Quote(tmp / "out") + " --against " + Quote(tmp / "idx") + " " + Quote(tmp / "train.jsonl"));
  INFO(Describe(r));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "the --against index was written since"));
}

TEST_CASE("dedup: --against-common makes code that common code shares no contamination", "[dedup]") {
  TempDir tmp;
  // A protected Go helper, sixty common files of its shape, and a training document that holds
  // the shape with other names (as JSON Lines in both indexes).
  auto helper = [](const std::string& n) { return doppel_test::GoLoadHelper(n); };
  const std::string go = "\"kind\":\"code\",\"lang\":\"go\"";
  WriteFile(tmp / "protected.jsonl", JsonLine("load.go", helper("0"), go) + "\n");
  std::vector<std::string> common;
  for (int i = 1; i <= 60; ++i) common.push_back(JsonLine("c" + std::to_string(i) + ".go", helper(std::to_string(i)), go));
  WriteLines(tmp / "common.jsonl", common, 0, common.size());
  for (const char* which : {"protected", "common"}) {
    const CommandResult b = doppel_test::Run(Quote(kIndexBin) + " build --index " + Quote(tmp / (std::string(which) + "-idx")) +
                                             " " + Quote(tmp / (std::string(which) + ".jsonl")));
    INFO(Describe(b));
    REQUIRE(b.exit_code == 0);
  }
  const std::vector<std::string> train = {JsonLine("renamed", helper("99"), go)};
  WriteLines(tmp / "train.jsonl", train, 0, train.size());
  const std::string against = " --against " + Quote(tmp / "protected-idx") + " ";
  CommandResult r = Dedup("--output " + Quote(tmp / "alone") + against + Quote(tmp / "train.jsonl"));
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  CHECK(Removed(tmp / "alone").count("renamed") == 1);
  r = Dedup("--output " + Quote(tmp / "beside") + against + "--against-common " + Quote(tmp / "common-idx") + " " +
            Quote(tmp / "train.jsonl"));
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  CHECK(Removed(tmp / "beside").empty());
  // Without --against it is a usage error.
  r = Dedup("--output " + Quote(tmp / "bad") + " --against-common " + Quote(tmp / "common-idx") + " " + Quote(tmp / "train.jsonl"));
  CHECK(r.exit_code == 2);
}

TEST_CASE("dedup: the same text is a copy whatever it is read as", "[dedup]") {
  // Read with other tokenizers (a grammar, the generic lexer, the text tokenizer), the same text
  // had other token streams and other signatures: every copy was kept.
  TempDir tmp;
  const std::string code =
      "def merge_ranges(ranges):\n    out = []\n    for lo, hi in sorted(ranges):\n"
      "        if out and lo <= out[-1][1]:\n            out[-1][1] = max(out[-1][1], hi)\n"
      "        else:\n            out.append([lo, hi])\n    return out\n";
  WriteLines(tmp / "tagged.jsonl",
             {JsonLine("python", code, "\"lang\":\"python\""), JsonLine("untagged", code, "\"kind\":\"code\""),
              JsonLine("english", code, "\"lang\":\"en\""), JsonLine("padded", "\n" + code + "\n\n", "\"lang\":\"ruby\"")},
             0, 4);
  fs::create_directories(tmp / "tree");
  WriteFile(tmp / "tree/merge.py", code);
  WriteFile(tmp / "tree/merge_copy", code);
  WriteFile(tmp / "tree/merge.txt", code);
  for (const std::string kind : {"--kind auto", "--kind code", "--kind text"}) {
    INFO(kind);
    const std::string out = tmp / kind.substr(7);
    const CommandResult r =
        Dedup("--quiet " + kind + " --output " + Quote(out) + " " + Quote(tmp / "tagged.jsonl") + " " + Quote(tmp / "tree"));
    INFO(Describe(r));
    REQUIRE(r.exit_code == 0);
    INFO(ReadFile(out + "/removed.jsonl"));
    const auto removed = Removed(out);
    CHECK(removed.count("python") == 0);
    for (const std::string id : {"untagged", "english", "padded"}) {
      CHECK(Contains(RemovedLine(out, id), R"("reason":"exact","of":"python")"));
    }
    CHECK(removed.size() == 6);
    for (const std::string name : {"merge_copy", "merge.txt"}) {
      CHECK(Contains(RemovedLine(out, tmp / ("tree/" + name)), "\"reason\":\"exact\""));
    }
  }
}

TEST_CASE("dedup: --kind code makes renamed-variable copies duplicates", "[dedup]") {
  TempDir tmp;
  const std::string a =
      "def total_length(intervals):\n    result = 0\n    for start, stop in intervals:\n"
      "        if stop > start:\n            result += stop - start\n    return result\n\n"
      "def widest(intervals):\n    best = None\n    for start, stop in intervals:\n"
      "        if best is None or stop - start > best[1] - best[0]:\n            best = (start, stop)\n"
      "    return best\n";
  std::string b = a;
  for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"intervals", "spans"}, {"result", "acc"}, {"start", "lo"}, {"stop", "hi"}, {"best", "top"},
           {"total_length", "covered"}, {"widest", "largest"}}) {
    for (size_t at = b.find(from); at != std::string::npos; at = b.find(from, at + to.size())) b.replace(at, from.size(), to);
  }
  const std::vector<std::string> lines = {JsonLine("orig", a, "\"lang\":\"python\""), JsonLine("renamed", b, "\"lang\":\"python\"")};
  WriteLines(tmp / "code.jsonl", lines, 0, 2);
  CommandResult r = Dedup("--output " + Quote(tmp / "code") + " --kind code " + Quote(tmp / "code.jsonl"));
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  CHECK(Removed(tmp / "code").count("renamed") == 1);
  r = Dedup("--output " + Quote(tmp / "text") + " --kind text " + Quote(tmp / "code.jsonl"));
  REQUIRE(r.exit_code == 0);
  CHECK(Removed(tmp / "text").empty());
  // Code datasets name each file by its path instead of a language: its extension says it.
  const std::vector<std::string> by_path = {JsonLine("orig", a, "\"max_stars_repo_path\":\"lib/spans.py\""),
                                            JsonLine("renamed", b, "\"max_stars_repo_path\":\"src/cover.py\"")};
  WriteLines(tmp / "paths.jsonl", by_path, 0, 2);
  r = Dedup("--output " + Quote(tmp / "paths") + " --path-field max_stars_repo_path " + Quote(tmp / "paths.jsonl"));
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  CHECK(Removed(tmp / "paths").count("renamed") == 1);
  // Unasked, a field's name says nothing: prose named "Node.js" and "Vue.js" stays prose, and two
  // unrelated paragraphs so named are both kept.
  const std::vector<std::string> named = {
      JsonLine("n1", "Node.js lets a server run the same language as the browser, with an event loop and callbacks "
                     "for input and output that never block the thread waiting on a disk or a socket.",
               "\"name\":\"Node.js\""),
      JsonLine("n2", "A garden of tomatoes wants sun for most of the day, water at the roots rather than on the "
                     "leaves, and a stake before the first fruit makes the stems bend under the weight.",
               "\"name\":\"Vue.js\"")};
  WriteLines(tmp / "named.jsonl", named, 0, 2);
  r = Dedup("--output " + Quote(tmp / "named") + " " + Quote(tmp / "named.jsonl"));
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  CHECK(Removed(tmp / "named").empty());
  // A path field that is the text field is refused before anything is read.
  r = Dedup("--output " + Quote(tmp / "same") + " --path-field text " + Quote(tmp / "named.jsonl"));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "--path-field \"text\" names the text field"));
  // Code keeps its literal values: two tables that differ only in their data are no copies; the
  // same table in another quote style is one.
  auto table = [](const std::vector<std::pair<std::string, std::string>>& rows, char quote) {
    std::string t = "RATES = {\n";
    for (const auto& [k, v] : rows) t += std::string("    ") + quote + k + quote + ": " + v + ",\n";
    return t + "}\n\n\ndef convert(amount, currency):\n    return amount * RATES[currency]\n";
  };
  const std::string a1 = table({{"usd", "1.0"}, {"eur", "0.92"}, {"gbp", "0.79"}, {"jpy", "151.2"}, {"chf", "0.88"}}, '"');
  const std::string a2 = table({{"usd", "1.0"}, {"eur", "0.92"}, {"gbp", "0.79"}, {"jpy", "151.2"}, {"chf", "0.88"}}, '\'');
  const std::string b1 = table({{"aud", "1.52"}, {"nzd", "1.64"}, {"sek", "10.4"}, {"nok", "10.6"}, {"dkk", "6.9"}}, '"');
  const std::vector<std::string> tables = {JsonLine("rates_a", a1, "\"lang\":\"python\""),
                                           JsonLine("rates_a_quoted", a2, "\"lang\":\"python\""),
                                           JsonLine("rates_b", b1, "\"lang\":\"python\"")};
  WriteLines(tmp / "tables.jsonl", tables, 0, 3);
  r = Dedup("--output " + Quote(tmp / "tables") + " --kind code " + Quote(tmp / "tables.jsonl"));
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  const auto removed = Removed(tmp / "tables");
  CHECK(removed.size() == 1);
  CHECK(removed.count("rates_a_quoted") == 1);
  CHECK(removed.count("rates_b") == 0);
}

TEST_CASE("dedup: a terminal sees the progress of every stage and a quiet run prints nothing", "[dedup]") {
  TempDir tmp;
  const Planted p = MakeCorpus(300, 4);
  WriteLines(tmp / "a.jsonl", p.lines, 0, p.lines.size() / 2);
  WriteLines(tmp / "b.jsonl", p.lines, p.lines.size() / 2, p.lines.size());
  const std::string cmd = Quote(kIndexBin) + " dedup --output " + Quote(tmp / "out") + " " + Quote(tmp / "a.jsonl") +
                          " " + Quote(tmp / "b.jsonl");
  // util-linux `script` gives the command a terminal; what it wrote there comes back on stdout.
  const CommandResult r = doppel_test::Run("script -qec " + Quote(cmd) + " /dev/null");
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  for (const std::string stage : {"sketch (shard 1 of 2)", "sketch (shard 2 of 2)", "bucket", "sort and join buckets",
                                  "clusters", "write: 2 / 2"}) {
    CHECK(Contains(r.out, stage));
  }
  const CommandResult quiet =
      doppel_test::Run("script -qec " + Quote(Quote(kIndexBin) + " dedup --quiet --output " + Quote(tmp / "q") + " " +
                                         Quote(tmp / "a.jsonl")) + " /dev/null");
  REQUIRE(quiet.exit_code == 0);
  CHECK_FALSE(Contains(quiet.out, "sketch"));
}

TEST_CASE("dedup: malformed lines stop the run or are skipped and listed", "[dedup]") {
  TempDir tmp;
  std::mt19937_64 rng(5);
  WriteFile(tmp / "in.jsonl", JsonLine("a", doppel_test::RandomWords(rng, 50)) + "\n{\"id\": \"b\", \"text\": \n" +
                                  JsonLine("c", doppel_test::RandomWords(rng, 50)) + "\n{\"id\":\"d\"}\n");
  CommandResult r = Dedup("--output " + Quote(tmp / "fail") + " " + Quote(tmp / "in.jsonl"));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "in.jsonl:2"));
  CHECK(Contains(r.err, "malformed JSON"));
  CHECK(r.err.find("in.jsonl:2") == r.err.rfind("in.jsonl:2"));  // reported once
  // The stopped run finished nothing, so the same output takes the run again with other
  // options (here skipping what stopped it) rather than refusing it; not while another run
  // (here a task of a split run, as this test holds its lock) is writing there.
  {
    const int fd = ::open((tmp / "fail/.work/lock").c_str(), O_RDWR);
    REQUIRE(fd >= 0);
    REQUIRE(::flock(fd, LOCK_SH) == 0);
    r = Dedup("--output " + Quote(tmp / "fail") + " --on-error skip " + Quote(tmp / "in.jsonl"));
    ::close(fd);
    CHECK(r.exit_code == 2);
    CHECK(Contains(r.err, "is being written by another dedup run"));
  }
  r = Dedup("--output " + Quote(tmp / "fail") + " --on-error skip " + Quote(tmp / "in.jsonl"));
  INFO(Describe(r));
  CHECK(r.exit_code == 1);
  CHECK(doppel_test::Lines(ReadFile(tmp / "fail/in.jsonl")).size() == 2);
  // A missing index to dedup against is refused before anything is written.
  r = Dedup("--output " + Quote(tmp / "against") + " --against " + Quote(tmp / "no-index") + " " + Quote(tmp / "in.jsonl"));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "no-index"));
  CHECK_FALSE(fs::exists(tmp / "against"));
  // A file of invalid UTF-8 is named with the error.
  fs::create_directories(tmp / "files");
  WriteFile(tmp / "files/bad.txt", "abc \xc3\x28 def");
  r = Dedup("--output " + Quote(tmp / "utf8") + " " + Quote(tmp / "files/bad.txt"));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "bad.txt: invalid UTF-8 at byte offset 4"));
  r = Dedup("--output " + Quote(tmp / "utf8") + " --on-error skip " + Quote(tmp / "files/bad.txt"));
  CHECK(Contains(ReadFile(tmp / "utf8/removed.jsonl"), "bad.txt: invalid UTF-8 at byte offset 4"));
  r = Dedup("--output " + Quote(tmp / "skip") + " --on-error skip " + Quote(tmp / "in.jsonl"));
  INFO(Describe(r));
  CHECK(r.exit_code == 1);
  CHECK(Contains(r.err, "in.jsonl:4"));
  const auto removed = Removed(tmp / "skip");
  CHECK(removed.size() == 2);
  CHECK(Contains(ReadFile(tmp / "skip/removed.jsonl"), "text field \\\"text\\\" missing"));
  // Named by its id when it was read (a line without its text), else by its place.
  CHECK(Contains(RemovedLine(tmp / "skip", "d"), "\"input\":\"" + tmp / "in.jsonl:4\",\"reason\":\"malformed\""));
  CHECK(Contains(RemovedLine(tmp / "skip", tmp / "in.jsonl:2"), "\"reason\":\"malformed\""));
  CHECK(doppel_test::Lines(ReadFile(tmp / "skip/in.jsonl")).size() == 2);
  // Missing inputs and conflicting outputs are errors before anything is written.
  r = Dedup("--output " + Quote(tmp / "x") + " " + Quote(tmp / "nope.jsonl"));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "nope.jsonl"));
  r = Dedup("--output " + Quote(tmp / "skip") + " --max-copies 3 --on-error skip " + Quote(tmp / "in.jsonl"));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "other inputs or options"));
  // So is a finished run's rerun with another size limit.
  r = Dedup("--output " + Quote(tmp / "skip") + " --max-document-bytes 100 --on-error skip " + Quote(tmp / "in.jsonl"));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "holds a finished run with other inputs or options"));
  // A run stopped at a malformed line of its second shard, the first sketched: once the line is
  // mended, the same command starts over there.
  fs::create_directories(tmp / "two");
  WriteFile(tmp / "two/a.jsonl", JsonLine("a1", doppel_test::RandomWords(rng, 50)) + "\n");
  WriteFile(tmp / "two/b.jsonl", JsonLine("b1", doppel_test::RandomWords(rng, 50)) + "\n{\"id\": \"b2\", \"text\": \n");
  r = Dedup("--output " + Quote(tmp / "out-two") + " " + Quote(tmp / "two"));
  CHECK(r.exit_code == 2);
  CHECK(fs::exists(tmp / "out-two/.work/sketch-0.done"));
  WriteFile(tmp / "two/b.jsonl", JsonLine("b1", doppel_test::RandomWords(rng, 50)) + "\n");
  r = Dedup("--output " + Quote(tmp / "out-two") + " " + Quote(tmp / "two"));
  INFO(Describe(r));
  CHECK(r.exit_code == 0);
  CHECK(Contains(r.err, "started over"));
  CHECK(doppel_test::Lines(ReadFile(tmp / "out-two/two/b.jsonl")).size() == 1);
  // As the local executor's tasks too (one command).
  WriteFile(tmp / "two/b.jsonl", JsonLine("b1", doppel_test::RandomWords(rng, 50)) + "\n{\"id\": \"b2\", \"text\": \n");
  r = Dedup("--tasks 2 --output " + Quote(tmp / "out-tasks") + " " + Quote(tmp / "two"));
  CHECK(r.exit_code == 2);
  WriteFile(tmp / "two/b.jsonl", JsonLine("b1", doppel_test::RandomWords(rng, 50)) + "\n");
  r = Dedup("--tasks 2 --output " + Quote(tmp / "out-tasks") + " " + Quote(tmp / "two"));
  INFO(Describe(r));
  CHECK(r.exit_code == 0);
  CHECK(Contains(r.err, "started over"));  // (said once the last task is done)
  CHECK(doppel_test::Lines(ReadFile(tmp / "out-tasks/two/b.jsonl")).size() == 1);
  // The same tasks again find the run done, and say so, as one process does.
  r = Dedup("--tasks 2 --output " + Quote(tmp / "out-tasks") + " " + Quote(tmp / "two"));
  CHECK(r.exit_code == 0);
  CHECK(Contains(r.err, "(resumed)"));
  CHECK(Contains(ReadFile(tmp / "out-tasks/stats.json"), "\"resumed\":true"));
  // A gzip file under a plain .jsonl name: one error naming it, not one per line.
  REQUIRE(doppel_test::Run("gzip -c " + Quote(tmp / "in.jsonl") + " > " + Quote(tmp / "packed.jsonl")).exit_code == 0);
  r = Dedup("--output " + Quote(tmp / "out-gz") + " --on-error skip " + Quote(tmp / "packed.jsonl"));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "packed.jsonl: the input is gzip-compressed"));
  CHECK(r.err.find("packed.jsonl") == r.err.rfind("packed.jsonl"));
  // A pipe is read once, and dedup reads its inputs twice: refused before anything is read.
  REQUIRE(::mkfifo((tmp / "pipe.jsonl").c_str(), 0600) == 0);
  r = Dedup("--output " + Quote(tmp / "out-pipe") + " " + Quote(tmp / "pipe.jsonl"));
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.err, "pipe.jsonl: not a regular file"));
  CHECK_FALSE(fs::exists(tmp / "out-pipe"));
}

TEST_CASE("dedup: a run killed at random points resumes to the uninterrupted result", "[dedup]") {
  TempDir tmp;
  const Planted p = MakeCorpus(400, 6);
  const size_t per = p.lines.size() / 8 + 1;
  std::string inputs;
  for (size_t s = 0; s < 8; ++s) {
    const std::string path = tmp / ("shard-" + std::to_string(s) + ".jsonl");
    WriteLines(path, p.lines, s * per, (s + 1) * per);
    if (s % 2 == 1) {
      REQUIRE(doppel_test::Run("zstd -q --rm " + Quote(path)).exit_code == 0);
      inputs += " " + Quote(path + ".zst");
    } else {
      inputs += " " + Quote(path);
    }
  }
  auto [whole, took] = doppel_test::RunTimed(Quote(kIndexBin) + " dedup --quiet --output " +
                                                     Quote(tmp / "whole") + " --threads 2" + inputs);
  INFO(Describe(whole));
  REQUIRE(whole.exit_code == 0);
  // Kills at random points of an uninterrupted run's time; every second one also kills the
  // resumed run, so a resume of a resume is covered.
  std::mt19937_64 rng(7);
  int killed = 0;
  int with_markers = 0;  // kill points that left some finished stage or shard behind
  // Inputs are numbered by path (shard-0 ... shard-7); write-N.done vouches for shard N's output.
  const auto shard_output = [](size_t n) { return "shard-" + std::to_string(n) + ".jsonl" + (n % 2 ? ".zst" : ""); };
  for (int point = 0; point < 8; ++point) {
    const std::string out = tmp / ("killed-" + std::to_string(point));
    const std::string run = Quote(kIndexBin) + " dedup --quiet --output " + Quote(out) + " --threads 2" + inputs;
    for (int k = 0; k <= point % 2; ++k) {
      const auto delay = std::chrono::microseconds(rng() % std::max<int64_t>(took.count(), 1000));
      const bool ended = doppel_test::RunKilledAfter(run, delay);
      killed += ended;
      // (A run that finished first: the timed one was slower, so later kills come within this.)
      if (!ended) took = std::min(took, delay);
    }
    INFO("kill point " << point);
    // What the killed runs finished: the resuming run must keep it as it is.
    const std::map<std::string, FileStamp> finished = FinishedWork(out, shard_output);
    const bool had_run = fs::exists(out + "/.work/run");
    const size_t markers = CountMarkers(finished);
    with_markers += markers > 0;
    INFO(markers << " markers before resuming");
    const CommandResult r = Dedup("--output " + Quote(out) + " --threads 1" + inputs);
    INFO(Describe(r));
    REQUIRE(r.exit_code == 0);
    RequireUntouched(finished);
    const std::string stats = ReadFile(out + "/stats.json");
    if (markers > 0) CHECK(Contains(stats, "\"resumed\":true"));
    if (!had_run) CHECK(Contains(stats, "\"resumed\":false"));  // nothing was there to resume
    for (const std::string f : {"clusters.jsonl", "removed.jsonl", "shard-0.jsonl", "shard-6.jsonl", "stats.json"}) {
      INFO(f);
      std::string want = ReadFile(tmp / ("whole/" + f)), got = ReadFile(out + "/" + f);
      if (f == "stats.json") {  // differs only in whether the run was resumed
        want = want.substr(0, want.find("\"resumed\""));
        got = got.substr(0, got.find("\"resumed\""));
      }
      CHECK(got == want);
    }
    CHECK(doppel_test::Run("zstd -dc " + Quote(out + "/shard-3.jsonl.zst")).out ==
          doppel_test::Run("zstd -dc " + Quote(tmp / "whole/shard-3.jsonl.zst")).out);
    // A kill leaves its temporary files in .work, not beside the outputs (stats.json's and the
    // shards' included): the outputs are the inputs' files and the three reports, nothing else.
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(out)) names.insert(entry.path().filename().string());
    std::set<std::string> expected = {".work", "clusters.jsonl", "removed.jsonl", "stats.json"};
    for (size_t n = 0; n < 8; ++n) expected.insert(shard_output(n));
    CHECK(names == expected);
    // Finished, the run has removed its sketches and kept its markers.
    std::set<std::string> work;
    for (const auto& entry : fs::directory_iterator(out + "/.work")) work.insert(entry.path().filename().string());
    for (size_t n = 0; n < 8; ++n) {
      CHECK(work.count("sig-" + std::to_string(n) + ".bin") == 0);
      CHECK(work.count("names-" + std::to_string(n) + ".bin") == 0);
      CHECK(work.count("sketch-" + std::to_string(n) + ".done") == 1);
    }
  }
  // Kill times are drawn from the uninterrupted run's time; a resumed run finishes sooner, so
  // many second kills land after it ended, and under a loaded machine (the sanitizer build next
  // to another ctest) 5 of 12 landed once. The point is that kills landed at all.
  CHECK(killed >= 3);
  // Drawn over the whole run's time, some kill landed after a stage or shard was finished
  // (second kills all land after the first run's markers, or after the run ended).
  CHECK(with_markers >= 1);
}

TEST_CASE("dedup: a finished run begun again writes again the outputs removed or changed since", "[dedup]") {
  // The write markers were trusted: a shard removed or emptied since stayed so, and the run said
  // it had resumed.
  TempDir tmp;
  const Planted p = MakeCorpus(200, 9);
  fs::create_directories(tmp / "in/files");
  WriteLines(tmp / "in/a.jsonl", p.lines, 0, p.lines.size() / 2);
  WriteLines(tmp / "in/b.jsonl", p.lines, p.lines.size() / 2, p.lines.size());
  WriteFile(tmp / "in/files/note.txt", "A note of its own, kept as it is by every run of this test.\n");
  const std::string cmd = "--quiet --output " + Quote(tmp / "out") + " " + Quote(tmp / "in");
  CommandResult r = Dedup(cmd);
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  const std::string a = ReadFile(tmp / "out/in/a.jsonl"), b = ReadFile(tmp / "out/in/b.jsonl");
  const std::string note = ReadFile(tmp / "out/files/in/files/note.txt");
  REQUIRE(!a.empty());
  REQUIRE(!b.empty());
  fs::remove(tmp / "out/in/a.jsonl");
  WriteFile(tmp / "out/in/b.jsonl", "");
  WriteFile(tmp / "out/files/in/files/note.txt", "changed\n");
  r = Dedup(cmd);
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  CHECK(ReadFile(tmp / "out/in/a.jsonl") == a);
  CHECK(ReadFile(tmp / "out/in/b.jsonl") == b);
  CHECK(ReadFile(tmp / "out/files/in/files/note.txt") == note);
  // Untouched, they are not written again.
  const auto before = fs::last_write_time(tmp / "out/in/a.jsonl");
  r = Dedup(cmd);
  REQUIRE(r.exit_code == 0);
  CHECK(fs::last_write_time(tmp / "out/in/a.jsonl") == before);
}

TEST_CASE("dedup: a run resumed after its sketch stage clusters and writes from the kept sketches", "[dedup]") {
  TempDir tmp;
  const Planted p = MakeCorpus(60, 8);
  const size_t third = p.lines.size() / 3 + 1;
  WriteLines(tmp / "r0.jsonl", p.lines, 0, third);
  WriteLines(tmp / "r1.jsonl", p.lines, third, 2 * third);
  WriteLines(tmp / "r2.jsonl", p.lines, 2 * third, p.lines.size());
  REQUIRE(doppel_test::Run("gzip " + Quote(tmp / "r2.jsonl")).exit_code == 0);
  const std::string inputs = " --threads 2 " + Quote(tmp / "r0.jsonl") + " " + Quote(tmp / "r1.jsonl") + " " +
                             Quote(tmp / "r2.jsonl.gz");
  // An uninterrupted run, for the outputs to compare with.
  const std::string whole = tmp / "whole";
  CommandResult r = Dedup("--quiet --output " + Quote(whole) + inputs);
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  const std::vector<std::string> outputs = {"clusters.jsonl", "removed.jsonl", "stats.json",
                                            "r0.jsonl",       "r1.jsonl",      "r2.jsonl.gz"};
  std::map<std::string, std::string> first;
  for (const auto& f : outputs) first[f] = ReadFile(whole + "/" + f);
  CHECK(Contains(first["stats.json"], "\"resumed\":false"));
  REQUIRE(!Removed(whole).empty());  // the cluster stage has decisions to make
  REQUIRE(!first["r1.jsonl"].empty());

  // The sketch stage alone (as a run killed after it leaves it): its markers and files.
  const std::string out = tmp / "out";
  const std::string args = "--quiet --output " + Quote(out) + inputs;
  r = Dedup(args + " --stage sketch");
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  CHECK(!fs::exists(out + "/.work/cluster.done"));
  CHECK(!fs::exists(out + "/stats.json"));
  std::map<std::string, FileStamp> sketches;
  for (int u = 0; u < 3; ++u) {
    for (const std::string& f : {"sketch-" + std::to_string(u) + ".done", "sig-" + std::to_string(u) + ".bin",
                                "names-" + std::to_string(u) + ".bin"}) {
      REQUIRE(fs::exists(out + "/.work/" + f));
      sketches[out + "/.work/" + f] = Stamp(out + "/.work/" + f);
    }
  }

  r = Dedup(args);
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  for (const auto& f : outputs) {
    INFO(f);
    const std::string got = ReadFile(out + "/" + f);
    if (f == "stats.json") {
      CHECK(StatsUpToResumed(got) == StatsUpToResumed(first[f]));
      CHECK(Contains(got, "\"resumed\":true"));
    } else {
      CHECK(got == first[f]);
    }
  }
  RequireUntouched(sketches);  // the sketch stage was not redone
  CHECK(fs::exists(out + "/.work/cluster.done"));
  for (int u = 0; u < 3; ++u) CHECK(fs::exists(out + "/.work/write-" + std::to_string(u) + ".done"));
  // Finished, the run needs its sketches no more; the same command again finds it done.
  for (int u = 0; u < 3; ++u) {
    CHECK_FALSE(fs::exists(out + "/.work/sig-" + std::to_string(u) + ".bin"));
    CHECK_FALSE(fs::exists(out + "/.work/names-" + std::to_string(u) + ".bin"));
  }
  // Then, its cluster marker removed (to cluster again), the run sketches again what it removed
  // and writes every shard again.
  for (const bool recluster : {false, true}) {
    INFO((recluster ? "cluster.done removed" : "run again as it was"));
    if (recluster) fs::remove(out + "/.work/cluster.done");
    const FileStamp shard = Stamp(out + "/r1.jsonl");
    r = Dedup(args);
    INFO(Describe(r));
    REQUIRE(r.exit_code == 0);
    CHECK((Stamp(out + "/r1.jsonl").inode != shard.inode) == recluster);
    for (const auto& f : outputs) {
      INFO(f);
      if (f != "stats.json") CHECK(ReadFile(out + "/" + f) == first[f]);
    }
    CHECK(StatsUpToResumed(ReadFile(out + "/stats.json")) == StatsUpToResumed(first["stats.json"]));
  }
}

TEST_CASE("dedup: --against removes a near copy of an indexed document with edits throughout", "[dedup]") {
  TempDir tmp;
  // About 300 words of real prose (MPL-2.0 section 2), whitespace collapsed.
  const std::string mpl = ReadFile("/usr/share/common-licenses/MPL-2.0");
  const size_t from = mpl.find("2.1. Grants");
  REQUIRE(from != std::string::npos);
  std::istringstream words(mpl.substr(from));
  std::string word, prose;
  for (int i = 0; i < 300 && words >> word; ++i) prose += (prose.empty() ? "" : " ") + word;
  REQUIRE(std::count(prose.begin(), prose.end(), ' ') == 299);
  WriteFile(tmp / "eval.jsonl", JsonLine("mpl-grants", prose) + "\n");
  CommandResult r =
      doppel_test::Run(Quote(kIndexBin) + " build --index " + Quote(tmp / "idx") + " " + Quote(tmp / "eval.jsonl"));
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);

  // Every 30th word substituted (~3%, the first word included): no verbatim run of 30 words.
  const std::string edited = EditWords(prose, 30);
  REQUIRE(edited != prose);
  std::mt19937_64 rng(9);
  const std::vector<std::string> lines = {
      JsonLine("unrelated-1", doppel_test::RandomWords(rng, 300)),
      JsonLine("edited-copy", edited, "\"source\":\"forum\""),
      JsonLine("unrelated-2",
               "The ferry leaves the harbour at seven, when the fog has lifted from the bay and the gulls are "
               "quiet. Passengers buy coffee from a kiosk on the pier, and the captain greets the regulars by name. "
               "On calm days the crossing takes forty minutes; in winter storms it can take twice as long, and "
               "the boat sometimes waits for hours at the breakwater until the swell drops. Children press their "
               "faces against the windows to look for seals on the rocks near the lighthouse."),
      JsonLine("unrelated-3", doppel_test::RandomWords(rng, 250))};
  WriteLines(tmp / "train.jsonl", lines, 0, lines.size());
  r = Dedup("--output " + Quote(tmp / "out") + " --against " + Quote(tmp / "idx") + " " + Quote(tmp / "train.jsonl"));
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  const auto removed = Removed(tmp / "out");
  REQUIRE(removed.count("edited-copy") == 1);
  CHECK(removed.at("edited-copy") == "index");
  CHECK(Contains(RemovedLine(tmp / "out", "edited-copy"), R"("source":"mpl-grants")"));
  CHECK(removed.size() == 1);  // the unrelated documents stay
  CHECK(doppel_test::Lines(ReadFile(tmp / "out/train.jsonl")) ==
        std::vector<std::string>{lines[0], lines[2], lines[3]});
  CHECK(Contains(ReadFile(tmp / "out/stats.json"), "\"index\":1,"));
}

TEST_CASE("dedup: directories of nested shards and files mirror their paths in the output", "[dedup]") {
  TempDir tmp;
  const std::string in = tmp / "corpus";
  fs::create_directories(in + "/sub");
  fs::create_directories(in + "/notes");
  std::mt19937_64 rng(10);
  const std::string tx = doppel_test::RandomWords(rng, 300), ty = doppel_test::RandomWords(rng, 300);
  std::string ty_upper = ty;
  for (char& c : ty_upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::vector<std::string> a = {
      JsonLine("x", tx, R"("meta":{"source":"web","tags":["a","b"]},"n":1)"),
      JsonLine("y", ty, R"("score":0.25,"flag":true,"none":null)"),
      JsonLine("u1", doppel_test::RandomWords(rng, 200), R"("n":3)")};
  const std::vector<std::string> b = {
      JsonLine("x-near", EditWords(tx, 100), R"("meta":{"source":"mirror"},"n":4)"),
      JsonLine("y-exact", "  " + ty_upper + "\n", R"("n":5)"),
      JsonLine("u2", doppel_test::RandomWords(rng, 200), R"("meta":{"deep":{"list":[1,2.5,-3]}},"n":6)")};
  WriteLines(in + "/a.jsonl", a, 0, a.size());
  WriteLines(in + "/sub/b.jsonl", b, 0, b.size());
  REQUIRE(doppel_test::Run("gzip " + Quote(in + "/sub/b.jsonl")).exit_code == 0);
  // Plain files are one document each: two.txt is one.txt with other spacing (an exact duplicate).
  const std::string tn = doppel_test::RandomWords(rng, 300);
  std::string spaced = tn;
  for (size_t at = spaced.find(' '); at != std::string::npos; at = spaced.find(' ', at + 3)) spaced.replace(at, 1, "  ");
  WriteFile(in + "/notes/one.txt", tn + "\n");
  WriteFile(in + "/notes/two.txt", "\n" + spaced + "\n\n");
  const std::string three = doppel_test::RandomWords(rng, 200) + "\n";
  WriteFile(in + "/sub/three.txt", three);

  const std::string out = tmp / "out";
  const CommandResult r = Dedup("--output " + Quote(out) + " " + Quote(in));
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  const auto removed = Removed(out);
  INFO(ReadFile(out + "/removed.jsonl"));
  CHECK(removed.size() == 3);
  // Duplicates across the nested shards: the first by path (a.jsonl) survives.
  REQUIRE(removed.count("x-near") == 1);
  CHECK(removed.at("x-near") == "near_duplicate");
  CHECK(Contains(RemovedLine(out, "x-near"), R"("of":"x")"));
  REQUIRE(removed.count("y-exact") == 1);
  CHECK(removed.at("y-exact") == "exact");
  CHECK(Contains(RemovedLine(out, "y-exact"), R"("of":"y")"));
  // Files are named by their path.
  REQUIRE(removed.count(in + "/notes/two.txt") == 1);
  CHECK(removed.at(in + "/notes/two.txt") == "exact");
  CHECK(Contains(RemovedLine(out, in + "/notes/two.txt"), "\"of\":\"" + in + "/notes/one.txt\""));

  // Outputs mirror the paths under the directory's name; kept lines are the input's lines with
  // every field, in order; gzip stays gzip.
  CHECK(doppel_test::Lines(ReadFile(out + "/corpus/a.jsonl")) == a);
  REQUIRE(fs::exists(out + "/corpus/sub/b.jsonl.gz"));
  CHECK(!fs::exists(out + "/corpus/sub/b.jsonl"));
  const CommandResult gz = doppel_test::Run("gzip -dc " + Quote(out + "/corpus/sub/b.jsonl.gz"));
  INFO(Describe(gz));
  REQUIRE(gz.exit_code == 0);
  CHECK(doppel_test::Lines(gz.out) == std::vector<std::string>{b[2]});
  CHECK(ReadFile(out + "/files/corpus/notes/one.txt") == tn + "\n");
  CHECK(!fs::exists(out + "/files/corpus/notes/two.txt"));
  CHECK(ReadFile(out + "/files/corpus/sub/three.txt") == three);
  CHECK(Contains(ReadFile(out + "/stats.json"), "{\"documents\":9,\"kept\":6,"));
}

TEST_CASE("dedup: outputs stay under --output, whatever the inputs are named", "[dedup]") {
  TempDir tmp;
  std::mt19937_64 rng(12);
  fs::create_directories(tmp / "esc/a/b");
  const std::vector<std::string> lines = {JsonLine("one", doppel_test::RandomWords(rng, 200)),
                                          JsonLine("two", doppel_test::RandomWords(rng, 200))};
  WriteLines(tmp / "esc/a/x.jsonl", lines, 0, lines.size());
  WriteFile(tmp / "esc/x.jsonl", "precious\n");
  // `..` names the directory it is: its shards go under its name, not beside the output.
  const CommandResult up = doppel_test::Run("cd " + Quote(tmp / "esc/a/b") + " && " + Quote(kIndexBin) +
                                            " dedup --quiet --output ../../out ..");
  INFO(Describe(up));
  REQUIRE(up.exit_code == 0);
  CHECK(ReadFile(tmp / "esc/x.jsonl") == "precious\n");
  CHECK(doppel_test::Lines(ReadFile(tmp / "esc/out/a/x.jsonl")) == lines);
  // And `.` likewise.
  const CommandResult here = doppel_test::Run("cd " + Quote(tmp / "esc/a") + " && " + Quote(kIndexBin) +
                                              " dedup --quiet --output ../out2 .");
  INFO(Describe(here));
  REQUIRE(here.exit_code == 0);
  CHECK(doppel_test::Lines(ReadFile(tmp / "esc/out2/a/x.jsonl")) == lines);
  // A shard named as one of the run's own files would be written over it: refused, nothing written.
  for (const std::string name : {"removed.jsonl", "clusters.jsonl"}) {
    fs::create_directories(tmp / "named");
    WriteLines(tmp / ("named/" + name), lines, 0, lines.size());
    const std::string out = tmp / ("out-" + name);
    const CommandResult r = Dedup("--quiet --output " + Quote(out) + " " + Quote(tmp / ("named/" + name)));
    INFO(Describe(r));
    CHECK(r.exit_code == 2);
    CHECK(Contains(r.err, "where the run writes its own " + name));
    CHECK(!fs::exists(out));
    fs::remove_all(tmp / "named");
  }
  // A path that would be both a file's output and a directory of another's: refused. (A
  // directory named files holding x/y.jsonl writes files/x/y.jsonl; a plain file x, files/x.)
  fs::create_directories(tmp / "clash/files/x");
  fs::create_directories(tmp / "clash/other");
  WriteLines(tmp / "clash/files/x/y.jsonl", lines, 0, lines.size());
  WriteFile(tmp / "clash/other/x", doppel_test::RandomWords(rng, 100));
  const CommandResult clash = Dedup("--quiet --output " + Quote(tmp / "out3") + " " + Quote(tmp / "clash/files") + " " +
                                    Quote(tmp / "clash/other/x"));
  INFO(Describe(clash));
  CHECK(Contains(clash.err, "and another under it"));
  CHECK(clash.exit_code == 2);
}

namespace {

// clusters.jsonl or removed.jsonl with each "input", "representative_input" and "of_input" ("path:line")
// naming its path canonically (a relative one resolved against `cwd`).
std::string CanonicalInputs(const std::string& jsonl, const std::string& cwd) {
  std::string out = jsonl;
  for (const std::string key : {"\"input\":\"", "\"representative_input\":\"", "\"of_input\":\""}) {
    for (size_t at = out.find(key); at != std::string::npos; at = out.find(key, at)) {
      const size_t b = at + key.size(), e = out.find('"', b);
      const std::string value = out.substr(b, e - b);
      const size_t colon = value.rfind(':');
      if (colon == std::string::npos) {
        at = e;
        continue;
      }
      const fs::path path(value.substr(0, colon));
      const std::string canonical =
          fs::weakly_canonical(path.is_absolute() ? path : fs::path(cwd) / path).string() + value.substr(colon);
      out.replace(b, e - b, canonical);
      at = b + canonical.size();
    }
  }
  return out;
}

}  // namespace

TEST_CASE("dedup: results do not depend on input order or path spelling or the working directory", "[dedup]") {
  TempDir tmp;
  // Three shards in three directories, named so that relative spellings from data/a sort in
  // another order (../b/alpha, ../c/beta, zeta) than their absolute paths (a/zeta, b/alpha,
  // c/beta): which copy of a duplicate survives tells the order the documents were numbered in.
  const std::string data = tmp / "data";
  for (const char* d : {"a", "b", "c"}) fs::create_directories(data + "/" + d);
  std::mt19937_64 rng(11);
  const std::string t1 = doppel_test::RandomWords(rng, 300), t2 = doppel_test::RandomWords(rng, 300);
  std::string t1_upper = t1;
  for (char& c : t1_upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  WriteLines(data + "/a/zeta.jsonl",
             {JsonLine("a-orig", t1), JsonLine("a-near", t2), JsonLine("a-only", doppel_test::RandomWords(rng, 200))}, 0, 3);
  WriteLines(data + "/b/alpha.jsonl", {JsonLine("b-copy", t1_upper), JsonLine("b-only", doppel_test::RandomWords(rng, 200))}, 0, 2);
  WriteLines(data + "/c/beta.jsonl",
             {JsonLine("c-near", EditWords(t2, 100)), JsonLine("c-only", doppel_test::RandomWords(rng, 200))}, 0, 2);

  struct Variant {
    std::string name, cwd, inputs;
  };
  const std::string here = fs::current_path().string();
  const std::vector<Variant> variants = {
      {"relative", data + "/a", "zeta.jsonl ../b/alpha.jsonl ../c/beta.jsonl"},
      {"reversed", data + "/a", "../c/beta.jsonl ../b/alpha.jsonl zeta.jsonl"},
      {"absolute", here,
       Quote(data + "/b/alpha.jsonl") + " " + Quote(data + "/a/zeta.jsonl") + " " + Quote(data + "/c/beta.jsonl")},
      {"other-cwd", data + "/c", "beta.jsonl ../a/zeta.jsonl ../b/alpha.jsonl"}};
  std::map<std::string, std::string> ref;  // the first variant's files
  std::string ref_cwd;
  for (const auto& v : variants) {
    const std::string out = tmp / ("out-" + v.name);
    const CommandResult r = doppel_test::Run("cd " + Quote(v.cwd) + " && " + Quote(kIndexBin) + " dedup --quiet --output " +
                                             Quote(out) + " " + v.inputs);
    INFO(v.name << ": " << Describe(r));
    REQUIRE(r.exit_code == 0);
    // Numbered by canonical path (a/zeta, b/alpha, c/beta): the copies in b and c go.
    const auto removed = Removed(out);
    CHECK(removed.size() == 2);
    CHECK(removed.count("b-copy") == 1);
    CHECK(removed.count("c-near") == 1);
    for (const std::string f : {"clusters.jsonl", "removed.jsonl", "stats.json", "zeta.jsonl", "alpha.jsonl", "beta.jsonl"}) {
      INFO(f);
      std::string got = ReadFile(out + "/" + f);
      if (f == "stats.json") got = StatsUpToResumed(got);
      if (!ref.count(f)) {
        ref[f] = got;
        ref_cwd = v.cwd;
        CHECK(!got.empty());
        continue;
      }
      if (f == "clusters.jsonl" || f == "removed.jsonl") {
        // The same documents, decisions and positions (each input named as it was given).
        CHECK(CanonicalInputs(got, v.cwd) == CanonicalInputs(ref[f], ref_cwd));
      } else {
        CHECK(got == ref[f]);
      }
    }
  }
  // One file under two names (itself and through its directory) would be read twice, as two
  // documents for each of its lines: refused, naming both.
  const CommandResult twice = doppel_test::Run(Quote(kIndexBin) + " dedup --quiet --output " + Quote(tmp / "twice") +
                                               " " + Quote(data + "/a") + " " + Quote(data + "/a/zeta.jsonl"));
  CHECK(twice.exit_code == 2);
  CHECK(Contains(twice.err, "are the same file"));
  // (Each with the output it would be written to: spelled alike, the two are told apart so.)
  CHECK(Contains(twice.err, data + "/a/zeta.jsonl (to be written as a/zeta.jsonl) and " + data +
                                "/a/zeta.jsonl (as zeta.jsonl) are the same file"));
}

TEST_CASE("dedup: a binary or empty file in a directory is passed over, as build and scan do", "[dedup]") {
  TempDir tmp;
  fs::create_directories(tmp / "docs");
  WriteFile(tmp / "docs/gpl.txt", doppel_test::ReadFile("/usr/share/common-licenses/GPL-3"));
  WriteFile(tmp / "docs/copy.txt", doppel_test::ReadFile("/usr/share/common-licenses/GPL-3"));
  WriteFile(tmp / "docs/empty.txt", "");
  WriteFile(tmp / "docs/blank.txt", "\n\n");
  WriteFile(tmp / "docs/bin.dat", std::string("a\0b", 3));
  const CommandResult r = doppel_test::Run(Quote(kIndexBin) + " dedup --quiet --output " + Quote(tmp / "out") + " " +
                                           Quote(tmp / "docs"));
  INFO(Describe(r));
  CHECK(r.exit_code == 0);
  CHECK(fs::exists(tmp / "out/files/docs/copy.txt") != fs::exists(tmp / "out/files/docs/gpl.txt"));  // one kept
  CHECK(!fs::exists(tmp / "out/files/docs/bin.dat"));
  // Counted, as build and scan count them.
  CHECK(Contains(ReadFile(tmp / "out/stats.json"), "\"skipped_files\":{\"binary\":1,\"empty\":2}"));
  const CommandResult said = doppel_test::Run(Quote(kIndexBin) + " dedup --tasks 2 --output " + Quote(tmp / "out-said") +
                                              " " + Quote(tmp / "docs"));
  CHECK(Contains(said.err, "passed over 1 binary and 2 empty files"));
  // Named, it is read and refused.
  const CommandResult named = doppel_test::Run(Quote(kIndexBin) + " dedup --quiet --output " + Quote(tmp / "out2") + " " +
                                               Quote(tmp / "docs/bin.dat"));
  CHECK(named.exit_code != 0);
  CHECK(Contains(named.err, "binary file"));
  // Inputs that hold no document: said, and exit 1 (as build's).
  fs::create_directories(tmp / "none");
  WriteFile(tmp / "none/a.jsonl", "");
  const CommandResult none = doppel_test::Run(Quote(kIndexBin) + " dedup --output " + Quote(tmp / "out3") + " " +
                                              Quote(tmp / "none"));
  INFO(Describe(none));
  CHECK(none.exit_code == 1);
  CHECK(Contains(none.err, "the inputs held no documents"));
  // So does an empty directory (no file to read at all), with empty reports.
  fs::create_directories(tmp / "bare");
  const CommandResult bare = doppel_test::Run(Quote(kIndexBin) + " dedup --output " + Quote(tmp / "out4") + " " +
                                              Quote(tmp / "bare"));
  INFO(Describe(bare));
  CHECK(bare.exit_code == 1);
  CHECK(Contains(bare.err, "the inputs held no documents"));
  CHECK(Contains(ReadFile(tmp / "out4/stats.json"), "\"documents\":0"));
  // As the local executor's tasks too.
  const CommandResult tasks = doppel_test::Run(Quote(kIndexBin) + " dedup --tasks 2 --output " + Quote(tmp / "out5") + " " +
                                               Quote(tmp / "bare"));
  INFO(Describe(tasks));
  CHECK(tasks.exit_code == 1);
  CHECK(Contains(tasks.err, "the inputs held no documents"));
}

TEST_CASE("dedup: zstd shards round trip with every field intact", "[dedup]") {
  TempDir tmp;
  std::mt19937_64 rng(12);
  const std::string words = doppel_test::RandomWords(rng, 150);
  // UTF-8 in the text and the fields (é, ï, 日本語, an emoji), JSON escapes, nested values,
  // numbers of every shape, other spacing, and fields before the text.
  const std::string unicode = "caf\xc3\xa9 na\xc3\xafve \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x8e\x89";
  const std::vector<std::string> lines = {
      "{\"id\": \"z0\", \"text\": \"" + words + " " + unicode + " \\u00e9t\\u00e9 \\\"quoted\\\"\\n\", "
      "\"meta\": {\"source\": \"crawl\", \"tags\": [\"\xc3\xbc\", \"\\u00e9\", {\"deep\": [1, [2, 3]]}]}, "
      "\"score\": 3.25, \"count\": -17, \"big\": 18446744073709551615, \"tiny\": -2.5e-7, \"ok\": true, \"none\": null}",
      // z1: z0's text again (an exact duplicate) with other fields.
      "{\"id\":\"z1\",\"text\":\"" + words + " " + unicode + " \\u00e9t\\u00e9 \\\"quoted\\\"\\n\",\"meta\":{\"source\":\"mirror\"}}",
      "{\"meta\":{\"author\":\"Zo\xc3\xab \\\"Z\\\" \\u4e2d\",\"nested\":{\"a\":{\"b\":{\"c\":[]}}}},\"text\":\"" +
          doppel_test::RandomWords(rng, 150) + "\",\"id\":\"z2\",\"n\":0}",
      "{\"id\":42,\"text\":\"" + doppel_test::RandomWords(rng, 150) + " \xf0\x9f\x8e\x89\",\"list\":[1.5,-0,1e10]}",
      "{\"id\":\"z4\",\"text\":\"" + doppel_test::RandomWords(rng, 150) + "\",\"empty\":{},\"s\":\"\"}"};
  WriteLines(tmp / "in.jsonl", lines, 0, lines.size());
  REQUIRE(doppel_test::Run("zstd -q --rm " + Quote(tmp / "in.jsonl")).exit_code == 0);
  const std::string out = tmp / "out";
  const CommandResult r = Dedup("--output " + Quote(out) + " " + Quote(tmp / "in.jsonl.zst"));
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  const auto removed = Removed(out);
  CHECK(removed.size() == 1);
  REQUIRE(removed.count("z1") == 1);
  CHECK(removed.at("z1") == "exact");
  CHECK(Contains(RemovedLine(out, "z1"), R"("of":"z0")"));
  // Still zstd (its magic number), and decompressed the kept lines are the input's, in order.
  REQUIRE(fs::exists(out + "/in.jsonl.zst"));
  CHECK(!fs::exists(out + "/in.jsonl"));
  CHECK(ReadFile(out + "/in.jsonl.zst").substr(0, 4) == std::string("\x28\xb5\x2f\xfd", 4));
  const CommandResult z = doppel_test::Run("zstd -dc " + Quote(out + "/in.jsonl.zst"));
  INFO(Describe(z));
  REQUIRE(z.exit_code == 0);
  const std::vector<std::string> expected = {lines[0], lines[2], lines[3], lines[4]};
  CHECK(doppel_test::Lines(z.out) == expected);
  CHECK(!Contains(z.out, "\"z1\""));
  CHECK((!z.out.empty() && z.out.back() == '\n'));
}

TEST_CASE("dedup: a compressed file in a directory is judged by its text, an archive passed over", "[dedup]") {
  TempDir tmp;
  std::mt19937_64 rng(21);
  fs::create_directories(tmp / "in");
  WriteFile(tmp / "in/a.txt", doppel_test::RandomWords(rng, 400) + "\n");
  REQUIRE(doppel_test::Run("gzip -c " + Quote(tmp / "in/a.txt") + " > " + Quote(tmp / "in/b.txt.gz")).exit_code == 0);
  REQUIRE(doppel_test::Run("tar czf " + Quote(tmp / "in/c.tar.gz") + " -C /usr/share/common-licenses BSD").exit_code == 0);
  const CommandResult r = Dedup("--quiet --output " + Quote(tmp / "out") + " " + Quote(tmp / "in"));
  INFO(Describe(r));
  CHECK(r.exit_code == 0);
  const auto removed = Removed(tmp / "out");
  REQUIRE(removed.size() == 1);
  CHECK(removed.begin()->first == tmp / "in/b.txt.gz");
  CHECK(removed.begin()->second == "exact");
  CHECK(Contains(ReadFile(tmp / "out/stats.json"), "\"documents\":2,"));  // (not the archive)
}

TEST_CASE("dedup: a file that cannot be read as a document is one in error, as a malformed line is", "[dedup]") {
  TempDir tmp;
  std::mt19937_64 rng(33);
  fs::create_directories(tmp / "in");
  WriteFile(tmp / "in/a.txt", doppel_test::RandomWords(rng, 400) + "\n");
  WriteFile(tmp / "in/big.txt", doppel_test::RandomWords(rng, 8000) + "\n");  // past the limit below
  // A gzip copy cut in half: its first text decodes, so the walk does not pass it over as binary.
  WriteFile(tmp / "full.txt", doppel_test::RandomWords(rng, 2500) + "\n");  // under the limit
  REQUIRE(doppel_test::Run("gzip -c " + Quote(tmp / "full.txt") + " > " + Quote(tmp / "full.txt.gz")).exit_code == 0);
  const std::string gz = ReadFile(tmp / "full.txt.gz");
  WriteFile(tmp / "in/cut.txt.gz", gz.substr(0, gz.size() / 2));
  const std::string limit = " --max-document-bytes 20000 ";
  const CommandResult skip = Dedup("--quiet --on-error skip" + limit + "--output " + Quote(tmp / "out") + " " +
                                   Quote(tmp / "in"));
  INFO(Describe(skip));
  CHECK(skip.exit_code == 1);  // finished, with documents rejected
  const auto removed = Removed(tmp / "out");
  CHECK(removed.size() == 2);
  CHECK(removed.count(tmp / "in/big.txt") == 1);
  CHECK(removed.count(tmp / "in/cut.txt.gz") == 1);
  for (const auto& [id, reason] : removed) CHECK(reason == "malformed");
  CHECK(Contains(RemovedLine(tmp / "out", tmp / "in/big.txt"), "exceeds the document limit"));
  CHECK(Contains(RemovedLine(tmp / "out", tmp / "in/cut.txt.gz"), "truncated"));
  CHECK(ReadFile(tmp / "out/files/in/a.txt") == ReadFile(tmp / "in/a.txt"));
  // Under --on-error fail (the default) the run stops, naming the file.
  const CommandResult fail = Dedup("--quiet" + limit + "--output " + Quote(tmp / "out2") + " " + Quote(tmp / "in"));
  INFO(Describe(fail));
  CHECK(fail.exit_code == 2);
  CHECK((Contains(fail.err, "big.txt") || Contains(fail.err, "cut.txt.gz")));
}

TEST_CASE("dedup: a shard changed while the run reads it is refused, not written from what it held", "[dedup]") {
  TempDir tmp;
  std::mt19937_64 rng(44);
  std::vector<std::string> a, b, texts;
  for (int i = 0; i < 6; ++i) a.push_back(JsonLine("a" + std::to_string(i), doppel_test::RandomWords(rng, 120)));
  for (int i = 0; i < 6; ++i) texts.push_back(doppel_test::RandomWords(rng, 120));
  texts[3] = texts[0];  // b3 is a copy of b0
  for (int i = 0; i < 6; ++i) b.push_back(JsonLine("b" + std::to_string(i), texts[i]));
  WriteLines(tmp / "a.jsonl", a, 0, a.size());
  WriteLines(tmp / "b.jsonl", b, 0, b.size());
  for (const bool same_count : {false, true}) {
    INFO(same_count);
    WriteLines(tmp / "b.jsonl", b, 0, b.size());
    // Once a.jsonl is written, b.jsonl changes: cut to its first half, or its copy and an
    // original swapped (as many lines, another size).
    doppel::DedupOptions o;
    bool changed = false;
    o.on_progress = [&](const std::string& stage, uint64_t done, uint64_t) {
      if (stage != "write" || done != 1 || changed) return;
      changed = true;
      std::vector<std::string> now = b;
      if (same_count) std::swap(now[3], now[4]);
      WriteLines(tmp / "b.jsonl", now, 0, same_count ? now.size() : 3);
      // (Its time moved on as a later write's would: the clock may not have ticked since it was read.)
      const fs::path path = tmp / "b.jsonl";
      fs::last_write_time(path, fs::last_write_time(path) + std::chrono::seconds(10));
    };
    doppel::DedupSummary sum;
    const std::string out = tmp / ("out" + std::to_string(same_count));
    const doppel::Status s = doppel::Dedup({tmp / "a.jsonl", tmp / "b.jsonl"}, out, o, &sum);
    REQUIRE(changed);
    CHECK_FALSE(s.ok());
    CHECK(Contains(s.message(), "b.jsonl: changed since this run read it"));
    CHECK(fs::exists(out + "/a.jsonl"));
    CHECK(!fs::exists(out + "/b.jsonl"));  // nothing of it written
    CHECK(!fs::exists(out + "/stats.json"));
  }
}

TEST_CASE("dedup: a damaged compressed shard keeps its lines before the damage under --on-error skip", "[dedup]") {
  TempDir tmp;
  std::mt19937_64 rng(45);
  std::vector<std::string> lines;
  for (int i = 0; i < 400; ++i) lines.push_back(JsonLine("d" + std::to_string(i), doppel_test::RandomWords(rng, 60)));
  WriteLines(tmp / "full.jsonl", lines, 0, lines.size());
  REQUIRE(doppel_test::Run("gzip -c " + Quote(tmp / "full.jsonl") + " > " + Quote(tmp / "full.jsonl.gz")).exit_code == 0);
  fs::create_directories(tmp / "in");
  const std::string gz = ReadFile(tmp / "full.jsonl.gz");
  WriteFile(tmp / "in/cut.jsonl.gz", gz.substr(0, gz.size() / 2));
  WriteLines(tmp / "in/whole.jsonl", {JsonLine("w0", doppel_test::RandomWords(rng, 60))}, 0, 1);
  const CommandResult skip = Dedup("--quiet --on-error skip --output " + Quote(tmp / "out") + " " + Quote(tmp / "in"));
  INFO(Describe(skip));
  CHECK(skip.exit_code == 1);
  const auto removed = Removed(tmp / "out");
  REQUIRE(removed.size() == 1);
  CHECK(removed.begin()->second == "malformed");
  const std::string why = ReadFile(tmp / "out/removed.jsonl");
  CHECK(Contains(why, "gzip stream is truncated"));
  // The lines before the damage are kept, as they were.
  const std::vector<std::string> kept = doppel_test::Lines(Gunzip(tmp / "out/in/cut.jsonl.gz"));
  REQUIRE(kept.size() > 100);
  CHECK(kept.size() < lines.size());
  for (size_t i = 0; i < kept.size(); ++i) CHECK(kept[i] == lines[i]);
  CHECK(ReadFile(tmp / "out/in/whole.jsonl") == ReadFile(tmp / "in/whole.jsonl"));
  // Under --on-error fail the run stops, naming the file and line once.
  const CommandResult fail = Dedup("--quiet --output " + Quote(tmp / "out2") + " " + Quote(tmp / "in"));
  INFO(Describe(fail));
  CHECK(fail.exit_code == 2);
  CHECK(Contains(fail.err, "cut.jsonl.gz:"));
  CHECK(fail.err.find("cut.jsonl.gz") == fail.err.rfind("cut.jsonl.gz"));
}
