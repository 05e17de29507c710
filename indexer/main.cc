// doppel-index: builds and maintains a doppel index. Parses flags, calls lib/, maps errors.
#include <csignal>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <sys/wait.h>
#include <xxhash.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "doppel/dedup.h"
#include "doppel/executor.h"
#include "doppel/format.h"
#include "doppel/index.h"
#include "doppel/index_writer.h"
#include "doppel/policy.h"
#include "doppel/reader.h"
#include "doppel/streams.h"

namespace {

using namespace doppel;

constexpr const char* kExitCodes =
    "Exit codes: 0 success; 1 finished, but some documents were rejected (--on-error skip), the inputs held none, "
    "or (add, verify) the build that created the index did not finish; 2 error (bad arguments, unreadable input, missing, corrupt or incompatible index).";

// The one place where errors become exit codes.
int Fail(const Status& s) {
  std::fprintf(stderr, "doppel-index: error: %s\n", ForTerminal(s.ToString()).c_str());
  return 2;
}

std::string Human(double bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (bytes >= 1000 && u < 4) {
    bytes /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", bytes, units[u]);
  return buf;
}

void ShowProgress(const BuildProgress& p) {
  const double s = std::max(p.seconds, 1e-3);
  std::string eta;
  if (p.input_total > 0 && p.input_consumed > 0 && p.input_consumed < p.input_total) {
    const double left = s * (static_cast<double>(p.input_total) / p.input_consumed - 1);
    char b[32];
    std::snprintf(b, sizeof b, "  ETA %d:%02d", static_cast<int>(left) / 60, static_cast<int>(left) % 60);
    eta = b;
  }
  std::fprintf(stderr, "\r\033[K%llu docs  %s  %.0f docs/s  %s/s%s",
               static_cast<unsigned long long>(p.documents), Human(p.bytes).c_str(),
               p.documents / s, Human(p.bytes / s).c_str(), eta.c_str());
  std::fflush(stderr);
}

struct Flags {
  std::string index;
  std::vector<std::string> inputs;
  std::string text_field = "text", id_field = "id", path_field, on_error = "fail", metadata;
  int threads = 0;
  bool quiet = false;
  bool digest = false;
  std::string spill_memory = "256M";
  uint32_t shards = 0;  // build: a sharded index of this many shards (0: one index)
  int rank = -1;        // build: only this shard (a task)
  SketchParams params;
  std::vector<uint32_t SketchParams::*> given_params;  // the sketch flags given
  uint64_t max_document_bytes = uint64_t{64} << 20;
  bool lossy_utf8 = false;
};

// --flag value "512M", "4G", "1000000" -> bytes.
Result<uint64_t> ParseBytes(const std::string& flag, const std::string& s) {
  if (s.empty()) return Status::InvalidArgument(flag + ": empty");
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (...) {
    return Status::InvalidArgument(flag + " " + s + ": expected a size like 512M or 4G");
  }
  const std::string unit = s.substr(used);
  double mul = 1;
  if (unit == "K" || unit == "k") mul = 1024.0;
  else if (unit == "M" || unit == "m") mul = 1024.0 * 1024;
  else if (unit == "G" || unit == "g") mul = 1024.0 * 1024 * 1024;
  else if (!unit.empty()) return Status::InvalidArgument(flag + " " + s + ": unknown unit " + unit);
  if (v < 0) return Status::InvalidArgument(flag + " " + s + ": negative");
  return static_cast<uint64_t>(v * mul);
}

// Removes what a failed build began in `dir`: its contents, when the directory `existed` (empty)
// before, else the directory.
void RemoveBegun(const std::string& dir, bool existed) {
  std::error_code rm;
  if (existed) {
    for (const auto& e : std::filesystem::directory_iterator(dir, rm)) std::filesystem::remove_all(e.path(), rm);
  } else {
    std::filesystem::remove_all(dir, rm);
  }
}

// Builds (or adds to) the index in `dir`; with shard >= 0, only the documents of that shard of
// `shards` (a sharded build's task).
int RunBuild(const Flags& f, bool create, bool params_given, const std::string& dir, int shard = -1,
             uint32_t shards = 0) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string who = shard >= 0 ? "doppel-index: shard " + std::to_string(shard) + ": " : "doppel-index: ";
  IndexOptions io;
  io.create_if_missing = create;
  io.bulk_load = create;
  io.mark_unfinished_build = create;  // until this run (or a rerun) has stored everything
  auto spill = ParseBytes("--spill-memory", f.spill_memory);
  if (!spill.ok()) return Fail(spill.status());
  io.bulk_spill_bytes = std::max<uint64_t>(*spill, 1);
  if (params_given) io.params = f.params;
  std::error_code exists_ec;
  if (params_given && std::filesystem::exists(dir + "/CURRENT", exists_ec)) {
    // Into an existing index only the sketch flags given are compared with its own: the others
    // are its values, not the defaults.
    IndexOptions peek;
    peek.read_only = true;
    peek.allow_unfinished_build = true;
    if (auto existing = Index::Open(dir, peek); existing.ok()) {
      SketchParams want = (*existing)->params();
      for (const auto m : f.given_params) want.*m = f.params.*m;
      io.params = want;
    }  // (an index that does not open is refused by the open below, naming why)
  }
  // The build's inputs, as its mark of an unfinished build records them: only the same build
  // completes an index another stopped (one of other inputs cleared the mark of an index that
  // held a part of neither). Paths absolute and sorted, so a rerun from elsewhere is the same.
  std::string inputs_line;
  {
    std::vector<std::string> paths;
    for (const std::string& in : f.inputs) {
      std::error_code abs_ec;
      std::filesystem::path p = std::filesystem::absolute(in, abs_ec).lexically_normal();
      if (p.filename().empty() && p.has_parent_path()) p = p.parent_path();  // ("dir/" is "dir")
      paths.push_back(in == "-" ? in : p.string());
    }
    std::sort(paths.begin(), paths.end());
    inputs_line = "inputs: [";
    for (size_t i = 0; i < paths.size(); ++i) {
      if (i > 0) inputs_line += ',';
      AppendJsonString(&inputs_line, paths[i]);
    }
    inputs_line += "] text_field: ";
    AppendJsonString(&inputs_line, f.text_field);
    inputs_line += " id_field: ";
    AppendJsonString(&inputs_line, f.id_field);
    if (!f.path_field.empty()) {
      inputs_line += " path_field: ";
      AppendJsonString(&inputs_line, f.path_field);
    }
    inputs_line += '\n';
  }
  io.unfinished_build_note = inputs_line;
  // A build that creates its index and fails removes it: the directory then holds no index
  // rather than an empty or partial one that checks would read as "nothing protected".
  std::error_code ec;
  const bool existed = std::filesystem::exists(dir, ec);
  bool fresh = create && (!existed || std::filesystem::is_empty(dir, ec));
  ReaderOptions ro;
  if (shard >= 0) {
    ro.accept_name = [shard, shards](std::string_view name) { return ShardOf(name, shards) == static_cast<uint32_t>(shard); };
    ro.report_unnamed_lines = shard == 0;  // a malformed line is shard 0's to report, once
  }
  ro.text_field = f.text_field;
  ro.id_field = f.id_field;
  ro.path_field = f.path_field;
  ro.max_document_bytes = f.max_document_bytes;
  ro.lossy_utf8 = f.lossy_utf8;
  // Another index in a tree indexed (a copy, an older build): its LOG and OPTIONS files are no
  // protected documents. (The index written is passed over by its path.)
  ro.skip_dir_if = [](const std::string& dir) { return HoldsIndex(dir); };
  ro.file_metadata = f.metadata;
  // An index inside a directory it is built from is not read into itself (RocksDB's LOG and
  // OPTIONS files became protected documents).
  ro.skip_dirs = {dir, f.index};
  // Inputs first: a missing input or bad --metadata stops the build before the index exists.
  auto reader = DocumentReader::Open(f.inputs, ro);
  if (!reader.ok()) return Fail(reader.status());
  auto index = Index::Open(dir, io);
  if (!index.ok()) return Fail(index.status());
  // (Read once the open holds the index: another build cannot mark it in between.)
  if (create && BuildUnfinished(dir)) {
    std::ifstream mark(dir + "/" + kUnfinishedBuildFile);
    std::string line, recorded;
    while (std::getline(mark, line)) {
      if (line.rfind("inputs: ", 0) == 0) recorded = line + '\n';
    }
    if (!recorded.empty() && recorded != inputs_line) {  // (a mark without them: any build completes it)
      return Fail(Status::InvalidArgument(
          dir + " holds the index of an unfinished build of other inputs or fields (" +
          ForTerminal(recorded.substr(0, recorded.size() - 1)) +
          "): run that build again to complete it, or remove the directory to build this one"));
    }
  }
  if (fresh) {
    // Another build may have made an index there between the look above and this open (which
    // holds the index for writing now): one that already holds documents is not this build's
    // to remove.
    auto st = (*index)->Stats();
    fresh = st.ok() && st->documents == 0;
  }
  auto discard = [&]() {
    if (!fresh) return;
    index->reset();  // closed before its files go
    RemoveBegun(dir, existed);
    std::fprintf(stderr, "%sthe build failed: removed the index it had begun in %s\n", who.c_str(), dir.c_str());
  };
  BuildOptions bo;
  bo.threads = f.threads;
  bo.skip_errors = f.on_error == "skip";
  bo.on_error = [&](const Status& s) {
    std::fprintf(stderr, "%s%s%s: %s\n", isatty(2) && !f.quiet ? "\r\033[K" : "", who.c_str(),
                 bo.skip_errors ? "skipped" : "error", ForTerminal(s.message()).c_str());
  };
  if (isatty(2) && !f.quiet) bo.on_progress = ShowProgress;
  BuildSummary sum;
  Status s = BuildIndex(index->get(), reader->get(), bo, &sum);
  if (bo.on_progress) std::fprintf(stderr, "\r\033[K");
  Status flushed = (*index)->Flush();
  if (s.ok()) s = flushed;
  if (s.ok() && create) s = MarkBuildFinished(dir);
  // End to end: reading, sketching, writing and the final flush of buffered posting lists.
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto& c = (*reader)->counters();
  if (!f.quiet && !s.ok()) {
    // Only what was stored is counted; a new index whose build fails is removed whole (below).
    std::fprintf(stderr, "%sstopped by the error after reading %llu documents (%s) in %.2f s%s\n", who.c_str(),
                 static_cast<unsigned long long>(sum.documents), Human(sum.bytes).c_str(), sum.seconds,
                 fresh ? ""
                        : (": stored before it " + std::to_string(sum.written.added) + " added, " +
                           std::to_string(sum.written.replaced) + " replaced, " +
                           std::to_string(sum.written.unchanged) + " unchanged")
                              .c_str());
    if (s.message().find("invalid UTF-8") != std::string::npos) {
      std::fprintf(stderr, "%sa file in another encoding (Latin-1, say): --lossy-utf8 reads each stray byte as '?', "
                           "and --on-error skip passes over what cannot be read and goes on\n", who.c_str());
    }
  } else if (!f.quiet) {
    std::fprintf(stderr,
                 "%s%llu documents (%s) in %.2f s, %s/s: %llu added, %llu replaced, "
                 "%llu unchanged, %llu rejected; skipped %llu binary and %llu empty files%s\n",
                 who.c_str(), static_cast<unsigned long long>(sum.documents), Human(sum.bytes).c_str(),
                 sum.seconds, Human(sum.bytes / std::max(sum.seconds, 1e-3)).c_str(),
                 static_cast<unsigned long long>(sum.written.added),
                 static_cast<unsigned long long>(sum.written.replaced),
                 static_cast<unsigned long long>(sum.written.unchanged),
                 static_cast<unsigned long long>(sum.errors),
                 static_cast<unsigned long long>(c.skipped_binary),
                 static_cast<unsigned long long>(c.skipped_empty),
                 ((c.skipped_repeated > 0 ? ", " + std::to_string(c.skipped_repeated) + " files named again" : "") +
                  (sum.repeated > 0 ? ", " + std::to_string(sum.repeated) + " documents read twice" : "") +
                  (c.skipped_dirs > 0 ? ", " + std::to_string(c.skipped_dirs) + " index folders passed over" : ""))
                     .c_str());
  }
  if (!s.ok()) {
    // A stop at a bad document was already reported by on_error.
    const int rc = sum.errors > 0 && !bo.skip_errors ? 2 : Fail(s);
    discard();
    return rc;
  }
  // Inputs that held no document at all (empty files, only binary files, an empty JSONL) are
  // most often a wrong path or a failed export: said, and not a success, though what the index
  // held is kept. (A shard of a sharded build may rightly receive none.)
  if (sum.documents == 0 && sum.errors == 0 && shard < 0) {
    std::fprintf(stderr, "%swarning: the inputs held no documents (%llu binary and %llu empty files skipped); %s\n",
                 who.c_str(), static_cast<unsigned long long>(c.skipped_binary),
                 static_cast<unsigned long long>(c.skipped_empty),
                 fresh ? "the new index is empty, and checks against it allow everything" : "the index is unchanged");
    return 1;
  }
  const uint64_t stored = sum.written.added + sum.written.replaced + sum.written.unchanged;
  if (sum.errors > 0 && stored == 0 && fresh) {
    std::fprintf(stderr, "%swarning: every document was rejected; the new index is empty, and checks against it allow "
                         "everything\n", who.c_str());
  }
  // Added to an index whose own build did not finish: stored, but the index is still one
  // checks refuse (a part of the protected set) until that build is run again.
  if (!create) {
    auto st = (*index)->Stats();
    if (!st.ok()) return Fail(st.status());
    if (st->unfinished_build) {
      std::fprintf(stderr, "%swarning: %s: the build that created this index did not finish (stopped or killed); "
                           "what was added is stored, and checks refuse the index until that build is run again\n",
                   who.c_str(), dir.c_str());
      return 1;
    }
  }
  return sum.errors > 0 ? 1 : 0;
}

int RunMerge(const Flags& f, const std::string& output) {
  auto shards = ShardCount(f.index);
  if (!shards.ok()) return Fail(shards.status());
  if (*shards == 0) return Fail(Status::InvalidArgument(f.index + ": not a sharded index (no SHARDS file)"));
  const auto t0 = std::chrono::steady_clock::now();
  if (Status s = MergeShardsIntoOne(f.index, *shards, output); !s.ok()) return Fail(s);
  if (!f.quiet) {
    std::fprintf(stderr, "doppel-index: merged %u shards of %s into %s in %.2f s\n", *shards, f.index.c_str(),
                 output.c_str(), std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return 0;
}

int RunRemove(const Flags& f, const std::vector<std::string>& names) {
  IndexOptions io;
  auto index = Index::Open(f.index, io);
  if (!index.ok()) return Fail(index.status());
  // The names not in the index, each named (a typo, or a path spelled otherwise than when added).
  // A path names the document as a build names its file ("./corpus/a" is "corpus/a").
  std::vector<std::string> absent, named;
  for (const std::string& name : names) {
    auto id = (*index)->FindName(name);
    if (!id.ok()) return Fail(id.status());
    if (id->has_value()) {
      named.push_back(name);
      continue;
    }
    // A path that names a file or folder here is read as one, and so is one spelled other than
    // its normal form by more than a last '/' ("./a", "a//b", "a/../b": a file deleted since,
    // the usual reason to remove it). An id "docs/" is not the document "docs".
    const std::string normal = NormalPath(name);
    std::string unslashed = name;
    while (unslashed.size() > 1 && unslashed.back() == '/') unslashed.pop_back();
    std::error_code ec;
    const bool as_path = normal != name && (unslashed != normal || std::filesystem::exists(name, ec));
    auto normal_id = as_path ? (*index)->FindName(normal) : id;
    if (!normal_id.ok()) return Fail(normal_id.status());
    if (normal_id->has_value()) {
      std::fprintf(stderr, "doppel-index: %s is the document %s\n", name.c_str(), normal.c_str());
      named.push_back(normal);
    } else {
      absent.push_back(name);
    }
  }
  // A name given twice (or two spellings of one path) is one document removed once: the second
  // was counted as not in the index, and named nowhere.
  std::sort(named.begin(), named.end());
  named.erase(std::unique(named.begin(), named.end()), named.end());
  uint64_t removed = 0, missing = 0;
  Status s = (*index)->Remove(named, &removed, &missing);
  if (!s.ok()) return Fail(s);
  for (const std::string& name : absent) {
    std::fprintf(stderr, "doppel-index: not in the index: %s\n", name.c_str());
  }
  missing += absent.size();
  std::fprintf(stderr, "doppel-index: removed %llu documents; %llu names not in the index\n",
               static_cast<unsigned long long>(removed), static_cast<unsigned long long>(missing));
  return missing > 0 ? 1 : 0;  // a name not found (a typo?) is not a silent success
}

int RunStats(const Flags& f) {
  IndexOptions io;
  io.read_only = true;
  io.allow_unfinished_build = true;  // said in the output
  auto index = Index::Open(f.index, io);
  if (!index.ok()) return Fail(index.status());
  auto st = (*index)->Stats();
  if (!st.ok()) return Fail(st.status());
  const auto& p = (*index)->params();
  std::string out = "{\"unfinished_build\":" + std::string(st->unfinished_build ? "true" : "false") +
                    ",\"documents\":" + std::to_string(st->documents) +
                    ",\"deleted\":" + std::to_string(st->deleted) +
                    ",\"bytes\":" + std::to_string(st->bytes) +
                    ",\"band_keys\":" + std::to_string(st->band_keys) +
                    ",\"fingerprints\":" + std::to_string(st->fingerprints) +
                    ",\"size_on_disk\":" + std::to_string(st->size_on_disk) +
                    ",\"params\":{\"shingle_size\":" + std::to_string(p.shingle_size) +
                    ",\"num_permutations\":" + std::to_string(p.num_permutations) +
                    ",\"bands\":" + std::to_string(p.bands) + ",\"rows\":" + std::to_string(p.rows) +
                    ",\"gram_size\":" + std::to_string(p.gram_size) +
                    ",\"window\":" + std::to_string(p.window) +
                    ",\"posting_cap\":" + std::to_string(p.posting_cap) +
                    ",\"hash_seed\":" + std::to_string(p.hash_seed) + "}}";
  std::cout << out << "\n";
  return 0;
}

int RunVerify(const Flags& f) {
  IndexOptions io;
  io.read_only = true;
  io.allow_unfinished_build = true;  // its state is checked, and said
  auto index = Index::Open(f.index, io);
  if (!index.ok()) return Fail(index.status());
  VerifyOptions vo;
  vo.digest = f.digest;
  VerifyReport report;
  Status s = (*index)->Verify(vo, &report);
  if (!s.ok()) return Fail(s);
  std::cout << "ok " << report.ToString() << "\n";
  if (report.unfinished_build) {
    std::fprintf(stderr, "doppel-index: %s: the build that created this index did not finish (stopped or killed); "
                         "checks refuse it until the same build is run again\n", f.index.c_str());
    return 1;  // consistent, but not an index to check against
  }
  return 0;
}

int RunCompact(const Flags& f) {
  auto index = Index::Open(f.index, IndexOptions{});
  if (!index.ok()) return Fail(index.status());
  Status s = (*index)->Compact();
  return s.ok() ? 0 : Fail(s);
}

struct DedupFlags {
  std::string output, preset = "default", kind = "auto", keep = "first", on_error = "fail", memory_limit = "0";
  DedupOptions o;
  bool quiet = false;
  std::string stage = "all";  // one task of the run (see dedup.h), as executors call it
  std::string against_policy;  // --against-policy: the filter's thresholds for --against
};

// Executors: offline jobs as tasks, run in this process or submitted as Slurm jobs.
// Dedup as three Slurm jobs: an array of sketch tasks, the cluster task after it, an array of
// write tasks after that (a failed job cancels those waiting on it). Logs go to
// OUTPUT/.work/slurm/. Unless --no-wait, waits for the last job.
int RunDedupOnSlurm(int argc, char** argv, const DedupFlags& d, const ExecutorOptions& x) {
  SlurmJobs jobs(x, std::filesystem::absolute(d.output + "/.work/slurm").string(), argc, argv);
  if (Status s = jobs.Prepare(); !s.ok()) return Fail(s);
  const std::string world = std::to_string(x.tasks);
  const std::string rank = " --world " + world + " --rank \"$SLURM_ARRAY_TASK_ID\"";
  auto sketch = jobs.Submit("dedup-sketch", x.tasks, "", false, "--quiet --stage sketch" + rank);
  if (!sketch.ok()) return Fail(sketch.status());
  auto cluster = jobs.Submit("dedup-cluster", 0, *sketch, false, "--quiet --stage cluster");
  if (!cluster.ok()) return Fail(cluster.status());
  auto write = jobs.Submit("dedup-write", x.tasks, *cluster, !x.no_wait, "--quiet --stage write" + rank);
  if (!write.ok()) {
    return Fail(write.status().WithContext("the Slurm jobs " + *sketch + ", " + *cluster + " (logs in " + jobs.logs() + ")"));
  }
  const std::string ids = *sketch + " (sketch, " + world + " tasks), " + *cluster + " (cluster), " + *write +
                          " (write, " + world + " tasks)";
  // A job cancelled because one before it failed still lets `sbatch --wait` exit 0: the run is
  // finished only when the last write task has written stats.json.
  std::error_code ec;
  if (!x.no_wait && !std::filesystem::exists(d.output + "/stats.json", ec)) {
    return Fail(Status::Internal("the Slurm jobs " + ids + " ended without finishing the run; the failed task's "
                                 "log in " + jobs.logs() + " says why, and a rerun redoes only unfinished tasks"));
  }
  if (!d.quiet || x.no_wait) {
    std::fprintf(stderr, "doppel-index: dedup %s as Slurm jobs %s; logs in %s\n", x.no_wait ? "submitted" : "ran",
                 ids.c_str(), jobs.logs().c_str());
  }
  // Malformed lines passed over (--on-error skip): 1, as a run in one process says.
  if (!x.no_wait) {
    std::ifstream in(d.output + "/stats.json");
    const std::string stats((std::istreambuf_iterator<char>(in)), {});
    const size_t at = stats.find("\"malformed\":");
    if (at != std::string::npos && stats.compare(at + 12, 2, "0,") != 0 && stats.compare(at + 12, 2, "0}") != 0) {
      std::fprintf(stderr, "doppel-index: the run passed over malformed lines; removed.jsonl lists them\n");
      return 1;
    }
  }
  return 0;
}

// A sharded index changed by add, remove or compact: its build tasks' completion markers no
// longer say what the shards hold, so the next build runs every task again (as a plain index's
// build compares every document).
void ForgetShardTasks(const std::string& index) {
  auto shards = ShardCount(index);
  if (!shards.ok() || *shards == 0) return;
  std::error_code ec;
  for (uint32_t r = 0; r < *shards; ++r) {
    std::filesystem::remove(index + "/.tasks/build-" + std::to_string(r) + ".done", ec);
  }
}

// What a sharded build task's completion marker records: the arguments that decide what it
// computes and the path, size and modification time of every input file.
std::string BuildFingerprint(int argc, char** argv, const std::vector<std::string>& inputs, const std::string& index,
                             int shard) {
  std::string fp = "shard " + std::to_string(shard);
  for (const auto& a : RunArgs(argc, argv, {"--threads"})) {
    if (a != "--quiet") fp += "\n" + a;
  }
  ReaderOptions walk;
  walk.skip_dirs = {index};  // (as the build's reader passes over the index: its files change)
  walk.skip_dir_if = [](const std::string& dir) { return HoldsIndex(dir); };  // (and other indexes)
  fp += "\n" + InputsState(inputs, walk);  // the files as the build's reader walks them
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH3_64bits(fp.data(), fp.size())));
  return hex;
}

// One task of a sharded build: shard `shard`, skipped when its marker matches the inputs.
int RunShardTask(int argc, char** argv, const Flags& f, bool params_given, uint32_t shard) {
  const std::string marker = f.index + "/.tasks/build-" + std::to_string(shard) + ".done";
  const std::string fp = BuildFingerprint(argc, argv, f.inputs, f.index, static_cast<int>(shard));
  {
    std::ifstream in(marker);
    std::string have;
    if (in >> have && have == fp) {
      if (!f.quiet) std::fprintf(stderr, "doppel-index: shard %u: done before with these inputs\n", shard);
      return 0;
    }
  }
  const int rc = RunBuild(f, true, params_given, ShardDir(f.index, shard), static_cast<int>(shard), f.shards);
  if (rc == 2) return rc;
  std::error_code ec;
  std::filesystem::create_directories(f.index + "/.tasks", ec);
  if (Status s = WriteFileAtomically(marker, fp + "\n"); !s.ok()) return Fail(s);
  return rc;
}

// A sharded build: one task per shard, each reading every input and keeping its own names, run
// here one after another or as a Slurm array job.
int RunShardedBuild(int argc, char** argv, const Flags& f, const ExecutorOptions& x, bool params_given) {
  // Refused before the SHARDS file is written: nothing is left behind.
  if (f.rank >= 0 && static_cast<uint32_t>(f.rank) >= f.shards) {
    return Fail(Status::InvalidArgument("--rank " + std::to_string(f.rank) + " is not below --shards " +
                                        std::to_string(f.shards)));
  }
  if (Status s = ValidateSketchParams(f.params); !s.ok()) return Fail(s);
  std::error_code ec;
  const bool existed = std::filesystem::exists(f.index, ec);
  const bool fresh = !existed || std::filesystem::is_empty(f.index, ec);
  if (Status s = CreateShardedIndex(f.index, f.shards); !s.ok()) return Fail(s);
  if (f.rank >= 0) {
    return RunShardTask(argc, argv, f, params_given, static_cast<uint32_t>(f.rank));
  }
  if (x.executor == "slurm") {
    SlurmJobs jobs(x, std::filesystem::absolute(f.index + "/.tasks/slurm").string(), argc, argv);
    if (Status s = jobs.Prepare(); !s.ok()) return Fail(s);
    auto job = jobs.Submit("build", f.shards, "", !x.no_wait, "--rank \"$SLURM_ARRAY_TASK_ID\"");
    if (!job.ok()) return Fail(job.status());
    if (!x.no_wait) {
      for (uint32_t r = 0; r < f.shards; ++r) {
        std::error_code ec;
        if (!std::filesystem::exists(f.index + "/.tasks/build-" + std::to_string(r) + ".done", ec)) {
          return Fail(Status::Internal("Slurm job " + *job + " ended before shard " + std::to_string(r) +
                                       " was built; its log in " + jobs.logs() + " says why, and a rerun "
                                       "redoes only unfinished shards"));
        }
      }
    }
    if (!f.quiet || x.no_wait) {
      std::fprintf(stderr, "doppel-index: build of %u shards %s as Slurm job %s; logs in %s\n", f.shards,
                   x.no_wait ? "submitted" : "ran", job->c_str(), jobs.logs().c_str());
    }
    return 0;
  }
  int worst = 0;
  for (uint32_t r = 0; r < f.shards; ++r) {
    const int rc = RunShardTask(argc, argv, f, params_given, r);
    if (rc == 2) {
      // A build that created the sharded index and failed before any shard was done removes
      // it, as an unsharded build does: no SHARDS file is left to shape the next build.
      // (Shards done are kept: a rerun skips them.)
      bool done_any = false;
      for (const auto& e : std::filesystem::directory_iterator(f.index + "/.tasks", ec)) {
        done_any |= e.path().extension() == ".done";
      }
      if (fresh && !done_any) {
        RemoveBegun(f.index, existed);
        std::fprintf(stderr, "doppel-index: the build failed: removed the sharded index it had begun in %s\n",
                     f.index.c_str());
      }
      return rc;
    }
    worst = std::max(worst, rc);
  }
  if (worst == 0) {
    // A shard may rightly receive none, but inputs that held none at all are said and exit 1,
    // as an unsharded build's are.
    IndexOptions ro;
    ro.read_only = true;
    auto index = Index::Open(f.index, ro);
    if (!index.ok()) return Fail(index.status());
    auto stats = (*index)->Stats();
    if (!stats.ok()) return Fail(stats.status());
    if (stats->documents == 0) {
      std::fprintf(stderr, "doppel-index: warning: the inputs held no documents; the %u shards are empty, and "
                           "checks against them allow everything\n", f.shards);
      return 1;
    }
  }
  return worst;
}

int RunDedup(int argc, char** argv, const Flags& f, DedupFlags& d, const ExecutorOptions& x,
             const std::vector<std::string>& explicit_params) {
  if (x.tasks == 0) return Fail(Status::InvalidArgument("--tasks must be at least 1"));
  if (x.executor == "slurm") {
    if (d.stage != "all") return Fail(Status::InvalidArgument("--stage is for the tasks an executor runs"));
    return RunDedupOnSlurm(argc, argv, d, x);
  }
  DedupOptions o = d.o;
  o.stage = d.stage == "sketch" ? DedupOptions::Stage::kSketch
            : d.stage == "cluster" ? DedupOptions::Stage::kCluster
            : d.stage == "write" ? DedupOptions::Stage::kWrite : DedupOptions::Stage::kAll;
  if (Status s = ApplyDedupPreset(d.preset, &o); !s.ok()) return Fail(s);
  if (!d.against_policy.empty()) {
    auto policy = LoadPolicyFile(d.against_policy, FilterOptions());
    if (!policy.ok()) return Fail(policy.status());
    o.against_options = std::move(*policy);
  }
  // Explicit similarity flags win over the preset.
  for (const auto& name : explicit_params) {
    if (name == "shingle-size") o.shingle_size = d.o.shingle_size;
    if (name == "permutations") o.num_permutations = d.o.num_permutations;
    if (name == "bands") o.bands = d.o.bands;
    if (name == "rows") o.rows = d.o.rows;
    if (name == "threshold") o.threshold = d.o.threshold;
  }
  o.kind = d.kind == "text" ? DedupOptions::KindMode::kText
           : d.kind == "code" ? DedupOptions::KindMode::kCode : DedupOptions::KindMode::kAuto;
  o.survivor = d.keep == "longest" ? SurvivorRule::kLongest
               : d.keep == "priority" ? SurvivorRule::kPriority : SurvivorRule::kFirst;
  if (!o.priority_field.empty() && d.keep == "first") o.survivor = SurvivorRule::kPriority;
  o.skip_errors = d.on_error == "skip";
  o.threads = f.threads;
  o.text_field = f.text_field;
  o.id_field = f.id_field;
  o.path_field = f.path_field;
  o.max_document_bytes = f.max_document_bytes;
  auto limit = ParseBytes("--memory-limit", d.memory_limit);
  if (!limit.ok()) return Fail(limit.status());
  o.memory_limit = *limit;
  const bool tty = isatty(2) && !d.quiet;
  o.on_error = [&](const Status& s) {
    std::fprintf(stderr, "%sdoppel-index: %s: %s\n", tty ? "\r\033[K" : "", o.skip_errors ? "skipped" : "error",
                 ForTerminal(s.message()).c_str());
  };
  if (tty) {
    o.on_progress = [](const std::string& stage, uint64_t done, uint64_t total) {
      if (total > 0) {
        std::fprintf(stderr, "\r\033[K%s: %llu / %llu", stage.c_str(), static_cast<unsigned long long>(done),
                     static_cast<unsigned long long>(total));
      } else if (done == 0) {
        std::fprintf(stderr, "\r\033[K%s...", stage.c_str());
      } else {
        std::fprintf(stderr, "\r\033[K%s: %llu documents", stage.c_str(), static_cast<unsigned long long>(done));
      }
      std::fflush(stderr);
    };
  }
  const auto t0 = std::chrono::steady_clock::now();
  DedupSummary sum;
  Status s;
  Status reported;  // the error on_error printed (a malformed line with --on-error fail)
  o.on_error = [&, print = o.on_error](const Status& e) {
    print(e);
    reported = e;
  };
  if (o.stage == DedupOptions::Stage::kAll && x.tasks > 1) {
    // The local executor runs the tasks one after another, each on every core.
    o.world = x.tasks;
    o.one_command = true;
    for (auto stage : {DedupOptions::Stage::kSketch, DedupOptions::Stage::kCluster, DedupOptions::Stage::kWrite}) {
      o.stage = stage;
      const uint32_t ranks = stage == DedupOptions::Stage::kCluster ? 1 : x.tasks;
      for (uint32_t r = 0; r < ranks && s.ok(); ++r) {
        o.rank = r;
        s = Dedup(f.inputs, d.output, o, &sum);
      }
    }
  } else {
    s = Dedup(f.inputs, d.output, o, &sum);
  }
  if (tty) std::fprintf(stderr, "\r\033[K");
  if (!s.ok()) return s.message() == reported.message() ? 2 : Fail(s);  // printed once
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!d.quiet && o.stage != DedupOptions::Stage::kAll && x.tasks == 1) {
    std::fprintf(stderr, "doppel-index: dedup %s task %u of %u done\n", d.stage.c_str(), o.rank, o.world);
  } else if (!d.quiet) {
    std::fprintf(stderr,
                 "doppel-index: dedup of %llu documents (%s) in %.2f s%s: kept %llu; removed %llu exact, %llu near, "
                 "%llu over the copy limit, %llu matching the index, %llu malformed; %llu clusters; "
                 "passed over %llu binary and %llu empty files (sketch %.1f s, cluster %.1f s, write %.1f s)\n",
                 static_cast<unsigned long long>(sum.documents), Human(sum.bytes_in).c_str(), secs,
                 sum.resumed         ? " (resumed)"
                 : sum.started_over ? " (started over: the unfinished run there had other inputs or options)"
                                    : "",
                 static_cast<unsigned long long>(sum.kept),
                 static_cast<unsigned long long>(sum.exact), static_cast<unsigned long long>(sum.near),
                 static_cast<unsigned long long>(sum.copy_limit), static_cast<unsigned long long>(sum.index_matches),
                 static_cast<unsigned long long>(sum.malformed), static_cast<unsigned long long>(sum.clusters),
                 static_cast<unsigned long long>(sum.skipped_binary), static_cast<unsigned long long>(sum.skipped_empty),
                 sum.seconds_sketch, sum.seconds_cluster, sum.seconds_write);
  }
  // Inputs that held no document at all are said and exit 1, as build's are (a whole run here,
  // in one process or as the local executor's tasks; not one task of a run).
  const bool whole_run = o.stage == DedupOptions::Stage::kAll || (d.stage == "all" && x.tasks > 1);
  const bool none = whole_run && sum.documents == 0;
  if (none) std::fprintf(stderr, "doppel-index: warning: the inputs held no documents\n");
  // A task of a split run that passed over malformed lines (--on-error skip) did its part: its
  // exit 0 lets the tasks after it run (Slurm's afterok), and the whole run says 1.
  return (whole_run && sum.malformed > 0) || none ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A file written past the size limit (ulimit -f) fails its write (EFBIG, "File too large"),
  // which the command reports with the file's name and exit 2, keeping what was stored, instead
  // of SIGXFSZ ending the process with no word.
  signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"doppel-index: build and maintain a doppel index of protected documents."};
  app.footer(kExitCodes);
  app.require_subcommand(1);
  Flags f;
  std::vector<std::string> names;
  ExecutorOptions x;
  auto add_exec_flags = [&](CLI::App* c) {
    c->add_option("--executor", x.executor, "local (this process) or slurm (sbatch array jobs with dependencies; see README)")
        ->capture_default_str()->check(CLI::IsMember({"local", "slurm"}));
    c->add_option("--partition", x.partition, "slurm: partition");
    c->add_option("--time", x.time_limit, "slurm: time limit of each task (e.g. 2:00:00)");
    c->add_option("--mem", x.mem, "slurm: memory of each task (e.g. 8G)");
    c->add_option("--cpus-per-task", x.cpus_per_task, "slurm: CPUs of each task");
    c->add_flag("--no-wait", x.no_wait, "slurm: submit and return without waiting for the jobs");
  };

  auto add_input_flags = [&](CLI::App* c) {
    c->add_option("--index", f.index, "Index directory")->required();
    c->add_option("inputs", f.inputs,
                  "Files, directories (recursive) or JSON Lines (.jsonl, .jsonl.gz, .jsonl.zst)")
        ->required();
    c->add_option("--text-field", f.text_field, "JSONL field holding the text")->capture_default_str();
    c->add_option("--id-field", f.id_field, "JSONL field holding the document name")->capture_default_str();
    c->add_option("--path-field", f.path_field, kPathFieldHelp);
    c->add_option("--metadata", f.metadata,
                  "JSON object stored with documents read from plain files (e.g. "
                  "'{\"repository\": \"...\", \"license\": \"MIT\"}'); reported with their matches");
    c->add_option("--on-error", f.on_error,
                  "On a bad document: 'fail' stops (what was written stays), 'skip' reports and goes on")
        ->check(CLI::IsMember({"fail", "skip"}))->capture_default_str();
    c->add_option("--threads", f.threads, "Worker threads (0 = all cores)")->capture_default_str()->check(CLI::Range(0, 1 << 16));
    c->add_option("--max-document-bytes", f.max_document_bytes, "Refuse larger documents")->capture_default_str();
    c->add_flag("--lossy-utf8", f.lossy_utf8,
                "Read bytes that are not UTF-8 (a Latin-1 file) as '?', one for one, instead of refusing the document");
    c->add_flag("--quiet", f.quiet, "No progress line or summary");
  };
  auto* build = app.add_subcommand("build", "Create an index (or add to it) from inputs");
  add_input_flags(build);
  build->add_option("--shards", f.shards,
                    "Build a sharded index of N shards (by document name), one task per shard")
      ->check(CLI::Range(1u, 1u << 20));
  build->add_option("--rank", f.rank, "With --shards: build only this shard (what executors run)")
      ->check(CLI::Range(0, 1 << 20));
  add_exec_flags(build);
  build->add_option("--spill-memory", f.spill_memory,
                    "Posting pairs a new index buffers before sorting them into a file (K, M, G)")
      ->capture_default_str();
  bool params_given = false;
  auto param = [&](const char* name, uint32_t SketchParams::* m, const char* help) {
    build->add_option(name, f.params.*m, help)->capture_default_str()->each([&, m](const std::string&) {
      params_given = true;
      if (std::find(f.given_params.begin(), f.given_params.end(), m) == f.given_params.end()) f.given_params.push_back(m);
    });
  };
  param("--shingle-size", &SketchParams::shingle_size, "Tokens per MinHash shingle");
  param("--permutations", &SketchParams::num_permutations, "MinHash permutations");
  param("--bands", &SketchParams::bands, "LSH bands");
  param("--rows", &SketchParams::rows, "LSH rows per band");
  param("--gram-size", &SketchParams::gram_size, "Tokens per fingerprint k-gram");
  param("--window", &SketchParams::window, "Winnowing window");
  param("--posting-cap", &SketchParams::posting_cap, "Documents after which a fingerprint is boilerplate");
  auto* add = app.add_subcommand("add", "Add or replace documents in an existing index");
  add_input_flags(add);
  auto* remove = app.add_subcommand("remove", "Remove documents by name");
  remove->footer("Exit codes: 0 every name removed; 1 some names were not in the index; 2 error.");
  remove->add_option("--index", f.index, "Index directory")->required();
  remove->add_option("names", names, "Document names")->required();
  auto* stats = app.add_subcommand("stats", "Print index statistics as JSON");
  stats->footer("Exit codes: 0 success; 2 error (missing, corrupt or incompatible index).");
  stats->add_option("--index", f.index, "Index directory")->required();
  auto* verify = app.add_subcommand("verify", "Check the index's consistency");
  verify->footer("Exit codes: 0 success; 1 the index is sound, but the build that created it did not finish (run it "
                 "again); 2 error (missing, corrupt or incompatible index).");
  verify->add_option("--index", f.index, "Index directory")->required();
  verify->add_flag("--digest", f.digest,
                   "Also print a digest of the content that ignores document ids: equal for "
                   "indexes holding the same documents and posting lists however they were built");
  std::string merge_output;
  auto* merge = app.add_subcommand("merge", "Merge the shards of a sharded index into one index (sorted table files, ingested)");
  merge->footer("Exit codes: 0 success; 2 error (missing, corrupt or incompatible index).");
  merge->add_option("--index", f.index, "Sharded index directory")->required();
  merge->add_option("--output", merge_output, "New (or empty) directory for the merged index")->required();
  merge->add_flag("--quiet", f.quiet, "No summary");
  auto* compact = app.add_subcommand("compact", "Compact, dropping removed ids from posting lists");
  compact->footer("Exit codes: 0 success; 2 error (missing, corrupt or incompatible index).");
  compact->add_option("--index", f.index, "Index directory")->required();

  DedupFlags dd;
  std::vector<std::string> dedup_params;
  auto* dedup = app.add_subcommand("dedup", "Remove exact and near duplicates from a corpus (see README)");
  dedup->add_option("inputs", f.inputs, "JSON Lines shards (.jsonl, .jsonl.gz, .jsonl.zst), files, directories")
      ->required();
  dedup->add_option("--output", dd.output, "Output directory: kept shards, clusters.jsonl, removed.jsonl, stats.json")
      ->required();
  dedup->add_option("--preset", dd.preset, "Similarity preset: default (Jaccard >= 0.8) or aggressive")
      ->check(CLI::IsMember({"default", "aggressive"}))->capture_default_str();
  auto dparam = [&](const char* name, auto* v, const char* help) {
    dedup->add_option(std::string("--") + name, *v, help)->each([&, name](const std::string&) {
      dedup_params.push_back(name);
    });
  };
  dparam("shingle-size", &dd.o.shingle_size, "Tokens per shingle (overrides the preset)");
  dparam("permutations", &dd.o.num_permutations, "MinHash permutations (overrides the preset)");
  dparam("bands", &dd.o.bands, "LSH bands (overrides the preset)");
  dparam("rows", &dd.o.rows, "LSH rows per band (overrides the preset)");
  dparam("threshold", &dd.o.threshold, "Estimated Jaccard similarity that makes a near duplicate (overrides the preset)");
  dedup->add_option("--keep", dd.keep, "Which member of a cluster survives: first, longest, priority")
      ->check(CLI::IsMember({"first", "longest", "priority"}))->capture_default_str();
  dedup->add_option("--priority-field", dd.o.priority_field, "Numeric JSON field: the largest value survives");
  dedup->add_option("--max-copies", dd.o.max_copies, "Members kept per cluster")->capture_default_str();
  auto* against = dedup->add_option("--against", dd.o.against_index,
                                    "Also remove documents that are near copies of, or contain passages from, this doppel index");
  dedup->add_option("--against-policy", dd.against_policy,
                    "With --against: a policy file (as doppel-filter reads it) setting what counts as a match: "
                    "documents whose check redacts or blocks under it are removed")
      ->needs(against);
  dedup->add_option("--against-common", dd.o.against_common,
                    "With --against: an index of common code whose shapes are boilerplate, not contamination (see README)")
      ->needs(against);
  dedup->add_option("--kind", dd.kind, "auto (each document's own), text, or code (renamed copies are duplicates)")
      ->check(CLI::IsMember({"auto", "text", "code"}))->capture_default_str();
  dedup->add_option("--memory-limit", dd.memory_limit,
                    "Bucket tuples held in memory before spilling sorted runs to disk (e.g. 512M; 0: no limit)")
      ->capture_default_str();
  dedup->add_option("--on-error", dd.on_error, "On a malformed line: 'fail' stops, 'skip' reports it and goes on")
      ->check(CLI::IsMember({"fail", "skip"}))->capture_default_str();
  dedup->add_option("--threads", f.threads, "Worker threads (0 = all cores)")->capture_default_str()->check(CLI::Range(0, 1 << 16));
  dedup->add_option("--text-field", f.text_field, "JSONL field holding the text")->capture_default_str();
  dedup->add_option("--id-field", f.id_field, "JSONL field holding the document id")->capture_default_str();
  dedup->add_option("--path-field", f.path_field, kPathFieldHelp);
  dedup->add_option("--max-document-bytes", f.max_document_bytes, "Refuse larger documents")->capture_default_str();
  dedup->add_flag("--quiet", dd.quiet, "No progress line or summary");
  add_exec_flags(dedup);
  dedup->add_option("--tasks", x.tasks, "Tasks the sketch and write stages are split into")->capture_default_str();
  dedup->add_option("--stage", dd.stage, "Run one task: sketch, cluster or write (what executors call)")
      ->capture_default_str()->check(CLI::IsMember({"all", "sketch", "cluster", "write"}));
  dedup->add_option("--rank", dd.o.rank, "The task's rank (sketch and write)")->capture_default_str();
  dedup->add_option("--world", dd.o.world, "The number of sketch and write tasks")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::fprintf(stderr, "%s: error: %s\nRun with --help for more information.\n", "doppel-index", e.what());
    return 2;
  }
  if (Status s = CheckPathField(f.path_field, f.text_field); !s.ok()) return Fail(s);
  if ((*build || *add || *remove || *stats || *verify || *compact || *merge) && f.index.empty()) {
    return Fail(Status::InvalidArgument("--index is empty: name the index directory"));
  }
  if (*build && f.rank >= 0 && f.shards == 0) return Fail(Status::InvalidArgument("--rank needs --shards"));
  if (*build && (f.shards > 0 || x.executor != "local")) {
    if (f.shards == 0) return Fail(Status::InvalidArgument("--executor needs --shards for a build"));
    return RunShardedBuild(argc, argv, f, x, params_given);
  }
  if (*build || *add || *remove || *compact) {
    // A shard of a sharded index is written through that index: a document stored in another
    // shard than its name's is found by no removal through it, and the index's checks read
    // it as a part of the index nonetheless.
    std::error_code abs_ec;  // (an empty --index, or a working directory removed: the open says why)
    const std::filesystem::path shard = std::filesystem::absolute(f.index, abs_ec).lexically_normal();
    const std::filesystem::path of = shard.filename().empty() ? shard.parent_path() : shard;
    if (auto n = ShardCount(of.parent_path().string()); n.ok() && *n > 0) {
      for (uint32_t s = 0; s < *n; ++s) {
        if (of.filename() == std::filesystem::path(ShardDir("", s)).filename()) {
          return Fail(Status::InvalidArgument(
              f.index + " is shard " + std::to_string(s) + " of the sharded index " + of.parent_path().string() +
              ": name that index (doppel-index " + (*build ? "build" : *add ? "add" : *remove ? "remove" : "compact") +
              " --index " + of.parent_path().string() + "), which writes to its shards"));
        }
      }
    }
  }
  if (*build) return RunBuild(f, true, params_given, f.index);
  if (*add || *remove) ForgetShardTasks(f.index);  // (before the change: also one that fails partway)
  if (*add) return RunBuild(f, false, false, f.index);
  if (*remove) return RunRemove(f, names);
  if (*stats) return RunStats(f);
  if (*verify) return RunVerify(f);
  if (*compact) return RunCompact(f);
  if (*merge) return RunMerge(f, merge_output);
  if (*dedup) return RunDedup(argc, argv, f, dd, x, dedup_params);
  return 2;
}
