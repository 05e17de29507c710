#include "doppel/dedup.h"

#include "../index/codec.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <tbb/global_control.h>
#include <tbb/parallel_pipeline.h>
#include <tbb/parallel_sort.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <queue>
#include <sstream>

#include "doppel/streams.h"
#include "doppel/code_tokenizer.h"
#include "doppel/filter.h"
#include "doppel/format.h"
#include "doppel/language.h"
#include "doppel/lsh.h"
#include "doppel/reader.h"
#include "doppel/shingle.h"
#include "doppel/sketch.h"

namespace doppel {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// A unit's sketch files under .work: its signatures (sig-N.bin) and its names (names-N.bin).
std::string SigPath(const std::string& work, size_t unit) { return work + "/sig-" + std::to_string(unit) + ".bin"; }
std::string NamesPath(const std::string& work, size_t unit) { return work + "/names-" + std::to_string(unit) + ".bin"; }

// ---- Inputs ------------------------------------------------------------------------------

// One shard of work: a JSON Lines file, or a group of plain files (one document each).
struct Unit {
  std::string jsonl;               // the shard's path, or "" for a group of files
  std::string out;                 // the shard's output path, relative to the output dir
  std::vector<std::string> files;  // plain files, and their output paths:
  std::vector<std::string> file_outs;
};

constexpr size_t kFilesPerUnit = 4096;

// Whether a plain file is one a directory's walk passes over (SkippedFileReason of its first
// 8,000 bytes: a file no longer than that is judged whole). A compressed one (.gz, .zst) is
// judged by its text, as the reader reads it; one not in its format is passed over.
FileSkip SkippedInDirectory(const std::string& path) {
  char head[kBinaryProbeBytes];
  size_t got = 0;
  bool whole = false;
  if (IsCompressedPath(path)) {
    auto src = OpenSource(path);
    if (!src.ok()) return FileSkip::kNone;  // unreadable: reported when read
    while (got < sizeof head) {
      auto n = (*src)->Read(head + got, sizeof head - got);
      // Not in its format: binary; in it but damaged: an error when read (ReadFileDocument).
      if (!n.ok()) return got == 0 && !HasCompressionMagic(path) ? FileSkip::kBinary : FileSkip::kNone;
      if (*n == 0) {
        whole = true;
        break;
      }
      got += *n;
    }
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return FileSkip::kNone;  // unreadable: reported when read
    in.read(head, sizeof head);
    got = static_cast<size_t>(in.gcount());
    whole = in.eof();
  }
  return SkippedFileReason(std::string_view(head, got), whole).kind;
}

// The units of `inputs`; the binary and empty files a directory's walk passed over are counted
// in `summary` (set, not added: the local executor's calls share one).
Status ExpandInputs(const std::vector<std::string>& inputs, std::vector<Unit>* units, DedupSummary* summary) {
  summary->skipped_binary = summary->skipped_empty = 0;
  std::vector<std::pair<std::string, std::string>> shards, files;  // path, output path
  for (const std::string& in : inputs) {
    std::error_code ec;
    const auto st = fs::status(in, ec);
    if (ec || !fs::exists(st)) return Status::NotFound(in + ": no such file or directory");
    // The input's own name heads its outputs: that of its absolute path, so `.` and `..` name
    // the directories they are (a `..` joined to the output directory wrote outside it).
    const fs::path base = fs::absolute(in, ec).lexically_normal();
    if (ec) return Status::IOError(in + ": " + ec.message());
    std::string top = base.filename().empty() ? base.parent_path().filename().string() : base.filename().string();
    if (top.empty()) top = "root";  // (the file system's root)
    if (fs::is_directory(st)) {
      for (auto it = fs::recursive_directory_iterator(in, ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec)) {
        if (it->is_symlink(ec)) {  // links are not followed (as the reader does)
          it.disable_recursion_pending();
          continue;
        }
        if (!it->is_regular_file(ec)) continue;
        const std::string p = it->path().string();
        // A binary or empty file found in a directory is passed over, as build and scan do (one
        // named as an input is refused when read).
        if (!IsJsonLinesPath(p)) {
          if (const FileSkip skip = SkippedInDirectory(p); skip != FileSkip::kNone) {
            ++(skip == FileSkip::kEmpty ? summary->skipped_empty : summary->skipped_binary);
            continue;
          }
        }
        const std::string rel = fs::relative(it->path(), in, ec).string();
        if (IsJsonLinesPath(p)) {
          shards.emplace_back(p, top + "/" + rel);
        } else {
          files.emplace_back(p, "files/" + top + "/" + rel);
        }
      }
      if (ec) return Status::IOError(in + ": " + ec.message());
    } else if (!fs::is_regular_file(st)) {
      // (A directory's walk passes over such files.)
      return Status::InvalidArgument(in + ": not a regular file: dedup reads each input twice (to sketch it, "
                                     "then to write what it keeps), and a pipe or device is read once");
    } else if (IsJsonLinesPath(in)) {
      shards.emplace_back(in, top);
    } else {
      files.emplace_back(in, "files/" + top);
    }
  }
  // Ordered by absolute path with links resolved: neither the order of the inputs on the command
  // line nor how their paths are spelled (relative, absolute, from another directory) changes
  // the documents' order, so which member survives and the clusters are the same. A file given
  // twice the same way is read once; one file reached under two names is refused.
  auto canonical_order = [](std::vector<std::pair<std::string, std::string>>* v) -> Status {
    std::vector<std::pair<std::string, std::pair<std::string, std::string>>> keyed;
    for (auto& e : *v) {
      std::error_code ec;
      const fs::path abs = fs::absolute(e.first, ec);
      if (ec) return Status::IOError(e.first + ": " + ec.message());
      const fs::path key = fs::weakly_canonical(abs, ec);
      if (ec) return Status::IOError(e.first + ": " + ec.message());
      keyed.emplace_back(key.string(), std::move(e));
    }
    std::sort(keyed.begin(), keyed.end());
    std::vector<std::pair<std::string, std::string>> out;
    for (size_t i = 0; i < keyed.size(); ++i) {
      if (i > 0 && keyed[i].first == keyed[i - 1].first) {
        // (keyed[i - 1] was moved to out.back().)
        if (keyed[i].second.second == out.back().second) continue;
        // (Named with the outputs they would be written to: one given as an input and found
        // again in a directory given too is spelled alike both times.)
        return Status::InvalidArgument(out.back().first + " (to be written as " + out.back().second + ") and " +
                                       keyed[i].second.first + " (as " + keyed[i].second.second +
                                       ") are the same file (" + keyed[i].first +
                                       "): give it once, or its directory without it");
      }
      out.push_back(std::move(keyed[i].second));
    }
    *v = std::move(out);
    return Status::OK();
  };
  DOPPEL_RETURN_IF_ERROR(canonical_order(&shards));
  DOPPEL_RETURN_IF_ERROR(canonical_order(&files));
  std::vector<std::string> outs;
  for (const auto& s : shards) outs.push_back(s.second);
  for (const auto& f : files) outs.push_back(f.second);
  std::sort(outs.begin(), outs.end());
  for (size_t i = 0; i < outs.size(); ++i) {
    // Beside the run's own files: its reports and its work directory.
    const std::string first = outs[i].substr(0, outs[i].find('/'));
    if (first == "clusters.jsonl" || first == "removed.jsonl" || first == "stats.json" || first == ".work") {
      return Status::InvalidArgument("an input would be written to " + outs[i] +
                                     ", where the run writes its own " + first +
                                     " (rename it, or pass its parent directory)");
    }
    if (i > 0 && outs[i] == outs[i - 1]) {
      return Status::InvalidArgument("two inputs would be written to the same output path " + outs[i] +
                                     " (rename one, or pass their parent directory)");
    }
    // A path both a file's and a directory's.
    for (size_t slash = outs[i].find('/'); slash != std::string::npos; slash = outs[i].find('/', slash + 1)) {
      const std::string dir = outs[i].substr(0, slash);
      if (std::binary_search(outs.begin(), outs.end(), dir)) {
        return Status::InvalidArgument("an input would be written to " + dir + ", and another under it, to " +
                                       outs[i] + " (rename one, or pass their parent directory)");
      }
    }
  }
  for (const auto& [path, out] : shards) {
    Unit u;
    u.jsonl = path;
    u.out = out;
    units->push_back(std::move(u));
  }
  for (size_t i = 0; i < files.size(); i += kFilesPerUnit) {
    Unit u;
    for (size_t j = i; j < std::min(files.size(), i + kFilesPerUnit); ++j) {
      u.files.push_back(files[j].first);
      u.file_outs.push_back(files[j].second);
    }
    units->push_back(std::move(u));
  }
  return Status::OK();
}

// The sizes and modification times of a unit's files: its sketch marker keeps them, and its
// write stage checks them, so a shard changed while a run reads it is not written from the
// decisions made for what it held before.
uint64_t UnitState(const Unit& u) {
  std::string s;
  auto file = [&](const std::string& p) {
    std::error_code ec;
    const uint64_t size = fs::file_size(p, ec);
    const auto time = ec ? 0 : fs::last_write_time(p, ec).time_since_epoch().count();
    s += p + '|' + std::to_string(ec ? 0 : size) + '|' + std::to_string(time) + '\n';
  };
  if (!u.jsonl.empty()) file(u.jsonl);
  for (const auto& f : u.files) file(f);
  return XXH3_64bits(s.data(), s.size());
}

// Identifies a run: the inputs (paths, sizes, modification times), every option that changes
// a decision, and the build's tokenizers and detection rules. A resumed run must have the same.
std::string RunFingerprint(const std::vector<Unit>& units, const DedupOptions& o, const std::string& indexes) {
  std::ostringstream s;
  auto file = [&](const std::string& p) {
    std::error_code ec;
    s << p << '|' << fs::file_size(p, ec) << '|'
      << fs::last_write_time(p, ec).time_since_epoch().count() << '\n';
  };
  for (const auto& u : units) {
    if (!u.jsonl.empty()) file(u.jsonl);
    for (const auto& f : u.files) file(f);
  }
  s << static_cast<int>(o.kind) << ',' << o.shingle_size << ',' << o.num_permutations << ',' << o.bands
    << ',' << o.rows << ',' << o.threshold << ',' << o.seed << ',' << static_cast<int>(o.survivor) << ','
    << o.priority_field << ',' << o.max_copies << ',' << o.against_index << ',' << o.text_field << ','
    << o.id_field << ',' << o.skip_errors << ',' << o.against_common << ',' << o.max_document_bytes << ','
    << o.path_field << '\n';
  s << indexes;
  s << "records-v2\n";  // the sketch records' layout (RecordHead)
  // This build's tokenizers and grammars (a resumed run's sketches were made by the same ones)
  // and, for --against, its detection rules and settings.
  s << (o.against_index.empty() ? codec::EncodeManifest(SketchParams{}) : VerdictKey(o.against_options));
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH3_64bits(s.str().data(), s.str().size())));
  return hex;
}

// What the index in `dir` holds (IndexStats::state: another index built there, or any write
// stored, is another; an `add` of unchanged documents stores none).
Result<std::string> IndexState(const std::string& dir) {
  IndexOptions io;
  io.read_only = true;
  io.allow_unfinished_build = true;  // (refused, if so, by the open that checks against it)
  DOPPEL_ASSIGN_OR_RETURN(auto index, Index::Open(dir, io));
  DOPPEL_ASSIGN_OR_RETURN(const IndexStats st, index->Stats());
  return st.state;
}

bool Exists(const std::string& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

// ---- Stage 1: sketch -----------------------------------------------------------------------

enum DocStatus : uint8_t { kOk = 0, kMalformed = 1, kIndexMatch = 2 };

// The fixed part of a document's sketch record; the signature (num_permutations x u32) follows.
struct RecordHead {
  uint64_t exact;     // hash of the normalized token stream
  // hash of the text, blanks around it aside: the same text is a copy whatever it is read as
  // (a file and its copy named .h and .hpp, a JSON line with a "lang" and one without)
  uint64_t bytes;
  double priority;    // the priority field's value (-inf when missing)
  uint32_t length;    // text bytes
  uint32_t tokens;
  uint8_t status;     // DocStatus
  uint8_t pad[7];
};
static_assert(sizeof(RecordHead) == 40);

struct Item {
  Document doc;
  Status error;
  double priority = -std::numeric_limits<double>::infinity();
  RecordHead head{};
  std::vector<uint32_t> sig;
  std::string detail;  // the error, or the matched index document
};

class Sketcher {
 public:
  Sketcher(const DedupOptions& o, const Filter* against) : o_(o), against_(against), sketcher_(Params(o)) {}

  static SketchParams Params(const DedupOptions& o) {
    SketchParams p;
    p.hash_seed = o.seed;
    p.shingle_size = o.shingle_size;
    p.num_permutations = o.num_permutations;
    p.bands = o.bands;
    p.rows = o.rows;
    return p;
  }

  void Sketch(Item* it) const {
    it->sig.assign(o_.num_permutations, 0);
    if (!it->error.ok()) {
      it->head.status = kMalformed;
      it->detail = it->error.message();
      return;
    }
    Document& d = it->doc;
    if (o_.kind == DedupOptions::KindMode::kText) {
      d.kind = Kind::kText;
      d.language.clear();
    } else if (o_.kind == DedupOptions::KindMode::kCode) {
      d.kind = Kind::kCode;
    }
    Tokens tokens;
    Status s = ValidateUtf8(d.text);
    if (s.ok()) s = sketcher_.TokenizerFor(d.kind, d.language).Tokenize(d.text, &tokens);
    if (!s.ok()) {
      it->head.status = kMalformed;
      it->error = s.WithContext(d.origin);  // (a file's path, or a JSONL file and line)
      it->detail = it->error.message();
      return;
    }
    std::vector<uint64_t> hashes;
    TokenHashes(tokens, &hashes);
    // Code keeps its literal values (names stay abstracted, so a renamed copy is one): two files
    // that differ only in their data, as codec tables do, are no copies of each other.
    if (d.kind == Kind::kCode) {
      for (size_t i = 0; i < tokens.size(); ++i) hashes[i] = SpelledHash(tokens[i]);
    }
    std::string_view t = d.text;
    const size_t b = t.find_first_not_of(" \t\r\n\f\v");
    t = b == std::string_view::npos ? std::string_view() : t.substr(b, t.find_last_not_of(" \t\r\n\f\v") - b + 1);
    it->head.bytes = XXH3_64bits_withSeed(t.data(), t.size(), ~o_.seed);
    if (tokens.empty()) {
      // No words to compare (empty, only punctuation or emoji): the same text, blanks around it
      // aside, is a copy; any other is not (Cluster gives such documents no band keys).
      it->head.exact = it->head.bytes;
    } else {
      it->head.exact = XXH3_64bits_withSeed(hashes.data(), hashes.size() * sizeof(uint64_t), o_.seed);
    }
    it->head.length = static_cast<uint32_t>(std::min<size_t>(d.text.size(), UINT32_MAX));
    it->head.tokens = static_cast<uint32_t>(tokens.size());
    it->head.priority = it->priority;
    sketcher_.SignatureOf(hashes, &it->sig);
    it->head.status = kOk;
    if (against_ != nullptr) {
      auto v = against_->Check(d.text, d.kind, d.language);
      if (!v.ok() && v.status().code() == Status::Code::kInvalidArgument) {
        it->head.status = kMalformed;  // the document, not the index: as --on-error says
        it->error = v.status().WithContext(d.origin);
        it->detail = it->error.message();
        return;
      }
      if (!v.ok()) {
        it->error = v.status();  // an index failure: the run stops
        return;
      }
      if (Flagging(v->severity)) {
        it->head.status = kIndexMatch;
        const Span* best = nullptr;
        for (const auto& sp : v->spans) {
          if (best == nullptr || sp.matched_tokens > best->matched_tokens) best = &sp;
        }
        it->detail = best ? best->source_name : "";
      }
    }
  }

 private:
  const DedupOptions& o_;
  const Filter* against_;
  DocumentSketcher sketcher_;
};

void PutString(std::string* out, std::string_view s) {
  const uint32_t n = static_cast<uint32_t>(s.size());
  out->append(reinterpret_cast<const char*>(&n), 4);
  out->append(s);
}

// Reads the documents of a unit in order; a malformed line is an item with an error.
class UnitReader {
 public:
  UnitReader(const Unit& u, const DedupOptions& o) : u_(u), o_(o) {
    ro_.text_field = o.text_field;
    ro_.path_field = o.path_field;
    ro_.id_field = o.id_field;
    ro_.max_document_bytes = o.max_document_bytes;
  }

  Status Open() {
    if (u_.jsonl.empty()) return Status::OK();
    DOPPEL_ASSIGN_OR_RETURN(auto src, OpenSource(u_.jsonl));
    lines_ = std::make_unique<LineReader>(std::move(src), o_.max_document_bytes, "--max-document-bytes");
    return Status::OK();
  }

  // False at the end; an error for the unit as a whole (a broken stream, an unreadable file).
  Result<bool> Next(Item* it) {
    if (broken_) return false;
    if (lines_) {
      for (;;) {
        ++line_no_;
        auto more = lines_->Next(&line_);
        const std::string where = u_.jsonl + ":" + std::to_string(line_no_);
        if (!more.ok()) {
          Status s = more.status();
          if (s.code() != Status::Code::kResourceExhausted) {
            // A broken stream (a shard cut short, damaged): named once, as the line's place
            // names the file. Under --on-error skip its lines before the damage stay
            // documents, and the damage is one more, in error; the unit ends there (the write
            // stage stops there too).
            const std::string own = u_.jsonl + ": ";
            if (s.message().rfind(own, 0) == 0) s = s.WithMessage(s.message().substr(own.size()));
            if (!o_.skip_errors) return s.WithContext(where);
            lines_.reset();
            broken_ = true;
          }
          it->error = s.WithContext(where);
          it->doc.name = where;
          it->doc.origin = where;
          return true;
        }
        if (!*more) return false;
        // A compressed file under a plain name: one error for the unit, not one per line.
        if (line_no_ == 1) DOPPEL_RETURN_IF_ERROR(RefuseCompressedStart(line_, u_.jsonl));
        if (line_.find_first_not_of(" \t\r") == std::string::npos) continue;  // not a document
        it->error = ParseJsonLineDocument(line_, ro_, where, &parser_, &it->doc, o_.priority_field, &it->priority)
                        .WithContext(where);
        if (!it->error.ok()) {
          // (Named by its id when the line's id was read before what was wrong with it: a line
          // without its text, or with a priority that is no number, keeps its id in removed.jsonl.)
          if (it->doc.name.empty()) it->doc.name = where;
          it->doc.origin = where;
        }
        return true;
      }
    }
    if (file_ >= u_.files.size()) return false;
    const std::string& p = u_.files[file_++];
    FileSkip skipped = FileSkip::kNone;
    // A file that cannot be read as a document (binary when named, past --max-document-bytes,
    // cut short when compressed, unreadable) is one in error, as a malformed line is:
    // --on-error decides whether the run stops or lists it in removed.jsonl.
    it->error = ReadFileDocument(p, ro_, &it->doc, &skipped);
    if (!it->error.ok()) {
      it->doc.name = p;
      it->doc.origin = p;
    }
    return true;
  }

 private:
  const Unit& u_;
  const DedupOptions& o_;
  ReaderOptions ro_;
  std::unique_ptr<LineReader> lines_;
  simdjson::dom::parser parser_;
  std::string line_;
  uint64_t line_no_ = 0;
  size_t file_ = 0;
  bool broken_ = false;  // a JSON Lines shard's stream broke (under --on-error skip)
};

// Sketches one unit into sig-<u>.bin (records) and names-<u>.bin (id, input position, detail).
Status SketchUnit(const Unit& u, size_t index, size_t units, const std::string& work, const DedupOptions& o,
                  const Sketcher& sketcher, DedupSummary* sum) {
  const uint64_t state = UnitState(u);  // (before reading: a change while it is read shows)
  UnitReader reader(u, o);
  DOPPEL_RETURN_IF_ERROR(reader.Open());
  const std::string sig_path = SigPath(work, index);
  const std::string names_path = NamesPath(work, index);
  std::ofstream sig_out(sig_path + ".tmp", std::ios::binary | std::ios::trunc);
  std::ofstream names_out(names_path + ".tmp", std::ios::binary | std::ios::trunc);
  if (!sig_out || !names_out) return Status::IOError(work + ": cannot write sketch files");
  Status failure;
  bool stop = false;
  uint64_t docs = 0;
  constexpr size_t kBatch = 64;
  using Batch = std::vector<Item>;
  tbb::parallel_pipeline(
      static_cast<size_t>(std::max(2, o.threads > 0 ? o.threads : 2)) * 4,
      tbb::make_filter<void, std::shared_ptr<Batch>>(
          tbb::filter_mode::serial_in_order,
          [&](tbb::flow_control& fc) -> std::shared_ptr<Batch> {
            if (stop) {
              fc.stop();
              return nullptr;
            }
            auto batch = std::make_shared<Batch>();
            while (batch->size() < kBatch) {
              Item it;
              auto more = reader.Next(&it);
              if (!more.ok()) {
                failure = more.status();
                stop = true;
                break;
              }
              if (!*more) {
                stop = true;
                break;
              }
              batch->push_back(std::move(it));
            }
            if (batch->empty()) {
              fc.stop();
              return nullptr;
            }
            return batch;
          }) &
          tbb::make_filter<std::shared_ptr<Batch>, std::shared_ptr<Batch>>(
              tbb::filter_mode::parallel,
              [&](std::shared_ptr<Batch> b) {
                for (Item& it : *b) sketcher.Sketch(&it);
                return b;
              }) &
          tbb::make_filter<std::shared_ptr<Batch>, void>(
              tbb::filter_mode::serial_in_order, [&](std::shared_ptr<Batch> b) {
                std::string names;
                for (Item& it : *b) {
                  if (!failure.ok()) return;
                  if (it.head.status == kMalformed) {
                    if (o.on_error) o.on_error(it.error);
                    if (!o.skip_errors) {
                      failure = it.error;
                      stop = true;
                      return;
                    }
                  } else if (!it.error.ok()) {  // the index failed
                    failure = it.error;
                    stop = true;
                    return;
                  }
                  sig_out.write(reinterpret_cast<const char*>(&it.head), sizeof it.head);
                  sig_out.write(reinterpret_cast<const char*>(it.sig.data()),
                                static_cast<std::streamsize>(it.sig.size() * sizeof(uint32_t)));
                  PutString(&names, it.doc.name);
                  PutString(&names, it.doc.origin);
                  PutString(&names, it.detail);
                  ++docs;
                }
                names_out.write(names.data(), static_cast<std::streamsize>(names.size()));
                if (o.on_progress) {
                  o.on_progress("sketch (shard " + std::to_string(index + 1) + " of " + std::to_string(units) + ")",
                                docs, 0);
                }
              }));
  if (!failure.ok()) return failure;
  sig_out.close();
  names_out.close();
  if (!sig_out || !names_out) return Status::IOError(work + ": writing sketch files failed");
  std::error_code ec;
  fs::rename(sig_path + ".tmp", sig_path, ec);
  if (!ec) fs::rename(names_path + ".tmp", names_path, ec);
  if (ec) return Status::IOError(work + ": " + ec.message());
  return WriteFileAtomically(work + "/sketch-" + std::to_string(index) + ".done",
                             std::to_string(docs) + "\n" + std::to_string(state) + "\n");
}

// ---- Stage 2: cluster ----------------------------------------------------------------------

// A read-only memory map of one file.
class MappedFile {
 public:
  ~MappedFile() {
    if (data_ != nullptr && size_ > 0) munmap(const_cast<char*>(data_), size_);
  }
  Status Open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return CannotOpen(path, errno);
    struct stat st {};
    if (fstat(fd, &st) != 0) {
      ::close(fd);
      return Status::IOError(path + ": cannot stat");
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {
      void* p = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        ::close(fd);
        return Status::IOError(path + ": cannot map");
      }
      data_ = static_cast<const char*>(p);
    }
    ::close(fd);
    return Status::OK();
  }
  const char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  const char* data_ = nullptr;
  size_t size_ = 0;
};

// A bucket tuple: (band, key) groups documents; the exact-hash "band" is kExactBand.
struct Tuple {
  uint64_t key;
  uint32_t band;
  uint32_t ord;
  bool operator<(const Tuple& t) const {
    if (band != t.band) return band < t.band;
    if (key != t.key) return key < t.key;
    return ord < t.ord;
  }
};
constexpr uint32_t kExactBand = UINT32_MAX;
constexpr uint32_t kBytesBand = UINT32_MAX - 1;  // the same text (RecordHead::bytes)

// Sorts tuples within a memory budget: beyond it, sorted runs go to disk and are merged.
class TupleSorter {
 public:
  TupleSorter(std::string dir, uint64_t memory_limit) : dir_(std::move(dir)), limit_(memory_limit) {}
  ~TupleSorter() {  // its runs, those merged into longer ones too
    std::error_code ec;
    std::vector<fs::path> runs;
    for (const auto& e : fs::directory_iterator(dir_, ec)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("run-", 0) == 0 && e.path().extension() == ".bin") runs.push_back(e.path());
    }
    for (const auto& r : runs) fs::remove(r, ec);
  }
  Status Add(const Tuple& t) {
    buf_.push_back(t);
    if (limit_ > 0 && buf_.size() * sizeof(Tuple) >= limit_) return Spill();
    return Status::OK();
  }
  uint64_t spilled_runs() const { return spills_; }

  // Calls fn(tuple) for every tuple in order.
  template <typename Fn>
  Status ForEach(Fn&& fn) {
    tbb::parallel_sort(buf_.begin(), buf_.end());
    if (runs_.empty()) {
      for (const Tuple& t : buf_) fn(t);
      return Status::OK();
    }
    if (!buf_.empty()) DOPPEL_RETURN_IF_ERROR(Spill());
    // At most kMergeWidth runs are open at once (a file each, and a 64 KB chunk), fewer where
    // the process may open fewer files: more are merged first, group by group, into longer runs.
    size_t width = kMergeWidth;
    if (rlimit nofile{}; ::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY) {
      width = std::clamp<size_t>(nofile.rlim_cur > 64 ? (nofile.rlim_cur - 64) / 2 : 2, 2, kMergeWidth);
    }
    while (runs_.size() > width) {
      std::vector<std::string> merged;
      for (size_t g = 0; g < runs_.size(); g += width) {
        const std::vector<std::string> group(runs_.begin() + static_cast<ptrdiff_t>(g),
                                             runs_.begin() + static_cast<ptrdiff_t>(std::min(runs_.size(), g + width)));
        const std::string path = dir_ + "/run-" + std::to_string(next_run_++) + ".bin";
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        std::vector<Tuple> pending;
        pending.reserve(4096);
        auto flush = [&]() {
          out.write(reinterpret_cast<const char*>(pending.data()), static_cast<std::streamsize>(pending.size() * sizeof(Tuple)));
          pending.clear();
        };
        DOPPEL_RETURN_IF_ERROR(Merge(group, [&](const Tuple& t) {
          pending.push_back(t);
          if (pending.size() == 4096) flush();
        }));
        flush();
        out.close();
        if (!out) return Status::IOError(path + ": cannot write a sorted run: " + std::strerror(errno));
        for (const std::string& r : group) {
          std::error_code ec;
          fs::remove(r, ec);
        }
        merged.push_back(path);
      }
      runs_ = std::move(merged);
    }
    return Merge(runs_, fn);
  }

 private:
  static constexpr size_t kMergeWidth = 256;

  // Calls fn(tuple) for every tuple of the sorted runs `paths`, in order.
  template <typename Fn>
  static Status Merge(const std::vector<std::string>& paths, Fn&& fn) {
    struct Run {
      std::ifstream in;
      std::vector<Tuple> chunk;
      size_t pos = 0;
      bool Refill() {
        chunk.resize(4096);
        in.read(reinterpret_cast<char*>(chunk.data()), static_cast<std::streamsize>(chunk.size() * sizeof(Tuple)));
        chunk.resize(static_cast<size_t>(in.gcount()) / sizeof(Tuple));
        pos = 0;
        return !chunk.empty();
      }
    };
    std::vector<Run> runs(paths.size());
    auto cmp = [&](size_t a, size_t b) { return runs[b].chunk[runs[b].pos] < runs[a].chunk[runs[a].pos]; };
    std::priority_queue<size_t, std::vector<size_t>, decltype(cmp)> heap(cmp);
    for (size_t i = 0; i < paths.size(); ++i) {
      runs[i].in.open(paths[i], std::ios::binary);
      if (!runs[i].in) return Status::IOError(paths[i] + ": cannot read: " + std::strerror(errno));
      if (runs[i].Refill()) heap.push(i);
    }
    while (!heap.empty()) {
      const size_t i = heap.top();
      heap.pop();
      fn(runs[i].chunk[runs[i].pos]);
      if (++runs[i].pos < runs[i].chunk.size() || runs[i].Refill()) heap.push(i);
    }
    return Status::OK();
  }

  Status Spill() {
    tbb::parallel_sort(buf_.begin(), buf_.end());
    const std::string path = dir_ + "/run-" + std::to_string(next_run_++) + ".bin";
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(buf_.data()), static_cast<std::streamsize>(buf_.size() * sizeof(Tuple)));
    if (!out) return Status::IOError(path + ": cannot write a sorted run");
    runs_.push_back(path);
    ++spills_;
    buf_.clear();
    buf_.shrink_to_fit();
    return Status::OK();
  }
  std::string dir_;
  uint64_t limit_;
  std::vector<Tuple> buf_;
  std::vector<std::string> runs_;
  size_t next_run_ = 0;  // (runs merged into longer ones are numbered on)
  uint64_t spills_ = 0;
};

// Union-find over document ordinals; the root of a set is its smallest member, so the result
// does not depend on the order of unions.
class UnionFind {
 public:
  explicit UnionFind(size_t n) : parent_(n) { std::iota(parent_.begin(), parent_.end(), 0u); }
  uint32_t Find(uint32_t x) {
    while (parent_[x] != x) {
      parent_[x] = parent_[parent_[x]];
      x = parent_[x];
    }
    return x;
  }
  void Union(uint32_t a, uint32_t b) {
    a = Find(a);
    b = Find(b);
    if (a == b) return;
    if (a < b) parent_[b] = a;
    else parent_[a] = b;
  }

 private:
  std::vector<uint32_t> parent_;
};

enum Decision : uint8_t { kKeep = 0, kExact = 1, kNear = 2, kCopyLimit = 3, kIndex = 4, kSkipped = 5 };
constexpr const char* kReasonNames[] = {"kept", "exact", "near_duplicate", "copy_limit", "index", "malformed"};

// The sketch stage's output, memory-mapped: per document a pointer to its record (signature
// included) and to its strings (id, input position, detail), 16 bytes of memory per document;
// the page cache holds the rest.
struct Corpus {
  std::vector<MappedFile> maps, name_maps;
  std::vector<const char*> records;  // per ordinal
  std::vector<const char*> strings;  // per ordinal: three length-prefixed strings
  size_t record_size = 0;

  const RecordHead& Head(uint32_t ord) const { return *reinterpret_cast<const RecordHead*>(records[ord]); }
  const uint32_t* Sig(uint32_t ord) const {
    return reinterpret_cast<const uint32_t*>(records[ord] + sizeof(RecordHead));
  }
  // 0: the document's id; 1: its input position ("shard:line"); 2: an error or index source.
  std::string_view String(uint32_t ord, int which) const {
    const char* p = strings[ord];
    for (int i = 0;; ++i) {
      uint32_t n = 0;
      std::memcpy(&n, p, 4);
      if (i == which) return std::string_view(p + 4, n);
      p += 4 + n;
    }
  }
  std::string_view Name(uint32_t ord) const { return String(ord, 0); }
};

double Jaccard(const Corpus& c, uint32_t a, uint32_t b, uint32_t n) {
  const uint32_t* x = c.Sig(a);
  const uint32_t* y = c.Sig(b);
  uint32_t same = 0;
  for (uint32_t i = 0; i < n; ++i) same += x[i] == y[i];
  return static_cast<double>(same) / n;
}

// Whether documents a and b are the same: the same tokens, or the same text read otherwise.
bool Same(const Corpus& c, uint32_t a, uint32_t b) {
  return c.Head(a).exact == c.Head(b).exact || c.Head(a).bytes == c.Head(b).bytes;
}

Status LoadCorpus(const std::string& work, size_t units, const DedupOptions& o, Corpus* c) {
  c->record_size = sizeof(RecordHead) + o.num_permutations * sizeof(uint32_t);
  c->maps.resize(units);
  c->name_maps.resize(units);
  for (size_t u = 0; u < units; ++u) {
    const std::string sig = SigPath(work, u);
    DOPPEL_RETURN_IF_ERROR(c->maps[u].Open(sig));
    if (c->maps[u].size() % c->record_size != 0) return Status::Corruption(sig + ": truncated sketch file");
    for (size_t off = 0; off < c->maps[u].size(); off += c->record_size) c->records.push_back(c->maps[u].data() + off);
    const std::string names = NamesPath(work, u);
    MappedFile& nm = c->name_maps[u];
    DOPPEL_RETURN_IF_ERROR(nm.Open(names));
    // Each document has three length-prefixed strings; check every length once, here.
    size_t p = 0;
    while (p < nm.size()) {
      c->strings.push_back(nm.data() + p);
      for (int i = 0; i < 3; ++i) {
        uint32_t n = 0;
        if (p + 4 > nm.size()) return Status::Corruption(names + ": truncated");
        std::memcpy(&n, nm.data() + p, 4);
        if (p + 4 + n > nm.size()) return Status::Corruption(names + ": truncated");
        p += 4 + n;
      }
    }
    if (c->strings.size() != c->records.size()) return Status::Corruption(work + ": sketch and names files disagree");
  }
  if (c->records.size() >= UINT32_MAX) return Status::ResourceExhausted("more than 4 billion documents");
  return Status::OK();
}

Status Cluster(const std::string& out_dir, const std::string& work, size_t units, const DedupOptions& o,
               DedupSummary* sum) {
  Corpus c;
  DOPPEL_RETURN_IF_ERROR(LoadCorpus(work, units, o, &c));
  const uint32_t n = static_cast<uint32_t>(c.records.size());
  TupleSorter sorter(work, o.memory_limit);
  std::vector<BandKey> keys;
  Signature sig(o.num_permutations);
  for (uint32_t ord = 0; ord < n; ++ord) {
    const RecordHead& h = c.Head(ord);
    sum->bytes_in += h.length;
    if (h.status != kOk) continue;
    DOPPEL_RETURN_IF_ERROR(sorter.Add({h.exact, kExactBand, ord}));
    DOPPEL_RETURN_IF_ERROR(sorter.Add({h.bytes, kBytesBand, ord}));
    if (h.tokens == 0) continue;  // (an empty signature: every such document would share its bands)
    std::memcpy(sig.data(), c.Sig(ord), o.num_permutations * sizeof(uint32_t));
    BandKeys(sig, o.bands, o.rows, o.seed, &keys);
    for (const BandKey& k : keys) DOPPEL_RETURN_IF_ERROR(sorter.Add({k.key, k.band, ord}));
    if (o.on_progress && ord % 65536 == 0) o.on_progress("bucket", ord, n);
  }

  // Buckets: members in ordinal order. Exact-hash buckets join all members; a band bucket
  // joins a member with an earlier one when their estimated Jaccard reaches the threshold
  // (compared with the bucket's first few members and the few before it: bounded work in
  // buckets of boilerplate).
  UnionFind uf(n);
  std::vector<uint32_t> group;
  auto flush = [&](uint32_t band) {
    if (group.size() < 2) return;
    if (band == kExactBand || band == kBytesBand) {
      for (size_t i = 1; i < group.size(); ++i) uf.Union(group[0], group[i]);
      return;
    }
    constexpr size_t kFirst = 4, kPrevious = 4;
    for (size_t i = 1; i < group.size(); ++i) {
      auto try_join = [&](size_t j) {
        if (uf.Find(group[i]) == uf.Find(group[j])) return;
        if (Jaccard(c, group[i], group[j], o.num_permutations) >= o.threshold) uf.Union(group[i], group[j]);
      };
      for (size_t j = 0; j < std::min(i, kFirst); ++j) try_join(j);
      for (size_t j = std::max(kFirst, i >= kPrevious ? i - kPrevious : 0); j < i; ++j) try_join(j);
    }
  };
  bool have = false;
  Tuple prev{};
  if (o.on_progress) o.on_progress("sort and join buckets", 0, 0);
  DOPPEL_RETURN_IF_ERROR(sorter.ForEach([&](const Tuple& t) {
    if (have && (t.band != prev.band || t.key != prev.key)) {
      flush(prev.band);
      group.clear();
    }
    group.push_back(t.ord);
    prev = t;
    have = true;
  }));
  if (have) flush(prev.band);
  sum->spilled_runs = sorter.spilled_runs();

  // Clusters, in order of their first member.
  std::vector<uint32_t> root(n);
  std::vector<uint32_t> count(n, 0);
  for (uint32_t ord = 0; ord < n; ++ord) {
    root[ord] = c.Head(ord).status == kOk ? uf.Find(ord) : ord;
    ++count[root[ord]];
  }
  std::vector<uint32_t> start(n + 1, 0);
  for (uint32_t i = 0; i < n; ++i) start[i + 1] = start[i] + count[i];
  std::vector<uint32_t> members(n);
  {
    std::vector<uint32_t> fill(start.begin(), start.end() - 1);
    for (uint32_t ord = 0; ord < n; ++ord) members[fill[root[ord]]++] = ord;  // ordinal order
  }
  std::vector<uint8_t> decision(n, kKeep);
  std::vector<uint32_t> rep_of(n);
  std::iota(rep_of.begin(), rep_of.end(), 0u);
  // clusters.jsonl and removed.jsonl are written as they are made (a line per clustered or
  // removed document: held whole, they would grow with the corpus).
  std::string clusters, removed;
  AtomicFileWriter clusters_file, removed_file;
  // (Their temporary files are in .work: a run killed here leaves nothing beside the outputs.)
  DOPPEL_RETURN_IF_ERROR(clusters_file.Open(out_dir + "/clusters.jsonl", work));
  DOPPEL_RETURN_IF_ERROR(removed_file.Open(out_dir + "/removed.jsonl", work));
  constexpr size_t kFlushBytes = size_t{1} << 20;
  auto write_out = [](std::string* buf, AtomicFileWriter* file, size_t at_least) {
    if (buf->size() < at_least) return Status::OK();
    Status s = file->Append(*buf);
    buf->clear();
    return s;
  };
  uint64_t cluster_id = 0;
  auto better = [&](uint32_t a, uint32_t b) {  // survivor order
    const RecordHead &x = c.Head(a), &y = c.Head(b);
    if (o.survivor == SurvivorRule::kLongest && x.length != y.length) return x.length > y.length;
    if (o.survivor == SurvivorRule::kPriority && x.priority != y.priority) return x.priority > y.priority;
    return a < b;
  };
  for (uint32_t r = 0; r < n; ++r) {
    if (o.on_progress && r % 65536 == 0) o.on_progress("clusters", r, n);
    const uint32_t b = start[r], e = start[r + 1];
    if (e - b < 2) continue;
    std::vector<uint32_t> m(members.begin() + b, members.begin() + e);
    std::stable_sort(m.begin(), m.end(), better);
    const uint32_t rep = m[0];
    for (size_t i = 0; i < m.size(); ++i) {
      const bool same = Same(c, m[i], rep);
      const double sim = same ? 1.0 : Jaccard(c, m[i], rep, o.num_permutations);
      clusters += "{\"id\":";
      AppendJsonString(&clusters, c.Name(m[i]));
      clusters += ",\"cluster\":" + std::to_string(cluster_id) + ",\"representative\":";
      AppendJsonString(&clusters, c.Name(rep));
      clusters += ",\"similarity\":";
      AppendJsonNumber(&clusters, sim);
      // Where both were read (file:line): ids need not be unique across shards.
      clusters += ",\"input\":";
      AppendJsonString(&clusters, c.String(m[i], 1));
      clusters += ",\"representative_input\":";
      AppendJsonString(&clusters, c.String(rep, 1));
      clusters += "}\n";
      rep_of[m[i]] = rep;
      if (i < o.max_copies) continue;
      decision[m[i]] = o.max_copies > 1 ? kCopyLimit : (same ? kExact : kNear);
    }
    DOPPEL_RETURN_IF_ERROR(write_out(&clusters, &clusters_file, kFlushBytes));
    ++cluster_id;
  }
  sum->clusters = cluster_id;

  // removed.jsonl, in input order.
  for (uint32_t ord = 0; ord < n; ++ord) {
    const uint8_t st = c.Head(ord).status;
    if (st == kMalformed) decision[ord] = kSkipped;
    if (st == kIndexMatch) decision[ord] = kIndex;
    const uint8_t d = decision[ord];
    ++sum->documents;
    switch (d) {
      case kKeep: ++sum->kept; sum->bytes_out += c.Head(ord).length; continue;
      case kExact: ++sum->exact; break;
      case kNear: ++sum->near; break;
      case kCopyLimit: ++sum->copy_limit; break;
      case kIndex: ++sum->index_matches; break;
      case kSkipped: ++sum->malformed; break;
    }
    removed += "{\"id\":";
    AppendJsonString(&removed, c.Name(ord));
    removed += ",\"input\":";
    AppendJsonString(&removed, c.String(ord, 1));
    removed += ",\"reason\":\"";
    removed += kReasonNames[d];
    removed += "\"";
    if (d == kExact || d == kNear || d == kCopyLimit) {
      removed += ",\"of\":";
      AppendJsonString(&removed, c.Name(rep_of[ord]));
      removed += ",\"of_input\":";  // (ids may repeat: where the kept one is)
      AppendJsonString(&removed, c.String(rep_of[ord], 1));
      removed += ",\"similarity\":";
      AppendJsonNumber(&removed, Same(c, ord, rep_of[ord]) ? 1.0 : Jaccard(c, ord, rep_of[ord], o.num_permutations));
    } else if (d == kIndex) {
      removed += ",\"source\":";
      AppendJsonString(&removed, c.String(ord, 2));
    } else {
      removed += ",\"error\":";
      AppendJsonString(&removed, c.String(ord, 2));
    }
    removed += "}\n";
    DOPPEL_RETURN_IF_ERROR(write_out(&removed, &removed_file, kFlushBytes));
  }
  DOPPEL_RETURN_IF_ERROR(write_out(&clusters, &clusters_file, 0));
  DOPPEL_RETURN_IF_ERROR(write_out(&removed, &removed_file, 0));
  DOPPEL_RETURN_IF_ERROR(clusters_file.Commit());
  DOPPEL_RETURN_IF_ERROR(removed_file.Commit());
  DOPPEL_RETURN_IF_ERROR(WriteFileAtomically(
      work + "/decisions.bin", std::string_view(reinterpret_cast<const char*>(decision.data()), decision.size())));
  std::ostringstream counts;
  counts << sum->spilled_runs << ' ' << sum->bytes_in << ' ' << sum->documents << ' ' << sum->kept << ' ' << sum->exact << ' ' << sum->near << ' ' << sum->copy_limit
         << ' ' << sum->index_matches << ' ' << sum->malformed << ' ' << sum->clusters << ' ' << sum->bytes_out << '\n';
  return WriteFileAtomically(work + "/cluster.done", counts.str());
}

// ---- Stage 3: write ------------------------------------------------------------------------

Status WriteUnit(const Unit& u, size_t index, uint64_t first_ord, uint64_t docs, uint64_t sketched_state,
                 const std::vector<uint8_t>& decision, const std::string& out_dir, const std::string& work,
                 const DedupOptions& o) {
  const std::string marker = work + "/write-" + std::to_string(index) + ".done";
  std::error_code ec;
  // The marker names each output written, with its size and modification time ("SIZE MTIME
  // PATH" lines): one removed, cut or changed since is written again, so that a run begun again
  // in a finished run's directory leaves every output as the run wrote it.
  auto stamp = [](const std::string& path) {
    std::error_code size_ec, time_ec;
    const uintmax_t size = fs::file_size(path, size_ec);
    const auto mtime = fs::last_write_time(path, time_ec).time_since_epoch().count();
    return size_ec || time_ec ? std::string("-") : std::to_string(size) + " " + std::to_string(mtime) + " " + path;
  };
  if (Exists(marker)) {
    std::ifstream in(marker);
    bool holds = static_cast<bool>(in);
    for (std::string line; holds && std::getline(in, line);) {
      const size_t a = line.find(' '), b = a == std::string::npos ? a : line.find(' ', a + 1);
      holds = b != std::string::npos && stamp(line.substr(b + 1)) == line;
    }
    if (holds) return Status::OK();
    fs::remove(marker, ec);
  }
  std::string written;
  const std::string what = u.jsonl.empty() ? "a file of the group beginning with " + u.files.front() : u.jsonl;
  auto changed = [&](const std::string& how) {
    return Status::InvalidArgument(what + ": changed since this run read it (" + how +
                                   "); its kept lines would not be the ones judged: nothing of it is written. Run "
                                   "again with a new --output directory once the inputs stay put");
  };
  if (sketched_state != 0 && UnitState(u) != sketched_state) return changed("its size or modification time");
  uint64_t ord = first_ord;
  auto keep = [&](uint64_t i) { return i < decision.size() && decision[i] == kKeep; };
  if (!u.jsonl.empty()) {
    const std::string out = out_dir + "/" + u.out;
    fs::create_directories(fs::path(out).parent_path(), ec);
    // The temporary file is in .work (a kill leaves nothing beside the outputs), named by the
    // unit (outputs of two directories may share a file name); its name keeps the compression
    // extension, which selects the format. One task writes a unit, so the name is the same in
    // every run: a resumed run writes over what a killed one left.
    const std::string tmp = work + "/out-" + std::to_string(index) + "-" + fs::path(out).filename().string();
    DOPPEL_ASSIGN_OR_RETURN(auto src, OpenSource(u.jsonl));
    LineReader lines(std::move(src), o.max_document_bytes, "--max-document-bytes");
    DOPPEL_ASSIGN_OR_RETURN(auto sink, OpenSink(tmp));
    std::string line;
    bool more_docs = false;
    for (uint64_t line_no = 1;; ++line_no) {
      auto more = lines.Next(&line);
      if (!more.ok()) {
        if (more.status().code() != Status::Code::kResourceExhausted) {
          if (!o.skip_errors) return more.status().WithContext(u.jsonl + ":" + std::to_string(line_no));
          ++ord;  // the damage was a (malformed) document, the shard's last (UnitReader)
          break;
        }
        ++ord;  // an over-long line was a (malformed) document
        continue;
      }
      if (!*more) break;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      if (ord - first_ord >= docs) {  // more documents than were read
        more_docs = true;
        break;
      }
      if (keep(ord++)) {
        line.push_back('\n');
        DOPPEL_RETURN_IF_ERROR(sink->Write(line));
      }
    }
    DOPPEL_RETURN_IF_ERROR(sink->Close());
    if (more_docs || ord - first_ord != docs) {
      fs::remove(tmp, ec);
      return changed("it holds another number of documents");
    }
    fs::rename(tmp, out, ec);
    if (ec) return Status::IOError(out + ": " + ec.message());
    written += stamp(out) + "\n";
  } else {
    for (size_t i = 0; i < u.files.size(); ++i, ++ord) {
      if (!keep(ord)) continue;
      const std::string out = out_dir + "/" + u.file_outs[i];
      fs::create_directories(fs::path(out).parent_path(), ec);
      fs::copy_file(u.files[i], out, fs::copy_options::overwrite_existing, ec);
      if (ec) return Status::IOError(out + ": " + ec.message());
      written += stamp(out) + "\n";
    }
  }
  return WriteFileAtomically(marker, written);
}

}  // namespace

Status ApplyDedupPreset(const std::string& name, DedupOptions* o) {
  if (name == "default") {
    o->shingle_size = 5;
    o->num_permutations = 128;
    o->bands = 16;
    o->rows = 8;
    o->threshold = 0.8;
    return Status::OK();
  }
  if (name == "aggressive") {
    // Shorter shingles keep more of the shared text after edits; 32 x 4 bands find pairs from
    // s ~ 0.42 up (S-curve midpoint (1/32)^(1/4)); pairs are joined from an estimated 0.5.
    o->shingle_size = 3;
    o->num_permutations = 128;
    o->bands = 32;
    o->rows = 4;
    o->threshold = 0.5;
    return Status::OK();
  }
  return Status::InvalidArgument("unknown preset \"" + name + "\" (default, aggressive)");
}

namespace {

// The output directory is new, empty, or one of a run of this command (to resume it), and is
// neither an input nor inside one, nor holds one: writing the kept documents must never
// overwrite an input or another tool's files, nor a later run read its own output as input.
Status CheckOutputDir(const std::vector<std::string>& inputs, const std::string& output_dir) {
  std::error_code ec;
  const fs::path out = fs::weakly_canonical(output_dir, ec);
  if (ec) return Status::IOError(output_dir + ": " + ec.message());
  auto within = [](const fs::path& inner, const fs::path& outer) {
    auto o = outer.begin(), i = inner.begin();
    for (; o != outer.end(); ++o, ++i) {
      if (i == inner.end() || *i != *o) return false;
    }
    return true;
  };
  for (const std::string& in : inputs) {
    const fs::path p = fs::weakly_canonical(in, ec);
    if (ec) return Status::IOError(in + ": " + ec.message());
    if (within(p, out)) return Status::InvalidArgument("input " + in + " lies in the output directory " + output_dir);
    if (within(out, p)) return Status::InvalidArgument("the output directory " + output_dir + " lies in input " + in);
  }
  if (fs::is_directory(out, ec) && !fs::exists(out / ".work" / "run", ec)) {
    for (const auto& e : fs::directory_iterator(out, ec)) {
      // (.work alone: another task of this run has just created it)
      if (e.path().filename() != ".work") {
        return Status::InvalidArgument("the output directory " + output_dir + " holds other files (" +
                                       e.path().filename().string() +
                                       "); name a new or empty directory, or the directory of an unfinished run "
                                       "of this command to resume it");
      }
    }
  }
  if (!fs::exists(out, ec) || fs::is_directory(out, ec)) return Status::OK();
  return Status::InvalidArgument("the output " + output_dir + " is not a directory");
}

}  // namespace

Status Dedup(const std::vector<std::string>& inputs, const std::string& output_dir, const DedupOptions& o,
             DedupSummary* sum) {
  {
    // The local executor's tasks share one summary: each adds its stage's time, and what the
    // first found (a run resumed, or begun again) stays said. The counts are the run's, which
    // the cluster stage makes and the write tasks read back.
    const DedupSummary before = *sum;
    *sum = DedupSummary();
    if (o.one_command) {
      sum->resumed = before.resumed;
      sum->started_over = before.started_over;
      sum->seconds_sketch = before.seconds_sketch;
      sum->seconds_cluster = before.seconds_cluster;
      sum->seconds_write = before.seconds_write;
    }
  }
  if (o.bands == 0 || o.rows == 0 || o.bands * o.rows > o.num_permutations) {
    return Status::InvalidArgument("bands x rows must be between 1 and the number of permutations (" +
                                   std::to_string(o.num_permutations) + ")");
  }
  if (!(o.threshold > 0 && o.threshold <= 1)) return Status::InvalidArgument("threshold must be in (0, 1]");
  if (o.shingle_size == 0) return Status::InvalidArgument("shingle size must be at least 1");
  if (o.max_copies == 0) return Status::InvalidArgument("max copies must be at least 1");
  if (o.survivor == SurvivorRule::kPriority && o.priority_field.empty()) {
    return Status::InvalidArgument("the priority survivor rule needs a priority field");
  }
  if (o.world == 0 || o.rank >= o.world) {
    return Status::InvalidArgument("task rank " + std::to_string(o.rank) + " is not below the number of tasks " +
                                   std::to_string(o.world));
  }
  using Stage = DedupOptions::Stage;
  auto mine = [&](size_t u) { return o.stage == Stage::kAll || u % o.world == o.rank; };
  std::vector<Unit> units;
  DOPPEL_RETURN_IF_ERROR(ExpandInputs(inputs, &units, sum));

  const std::string work = output_dir + "/.work";
  std::error_code ec;
  DOPPEL_RETURN_IF_ERROR(CheckOutputDir(inputs, output_dir));
  // (Before anything is written: a missing or unusable index leaves no run behind.)
  std::unique_ptr<Filter> against;
  if (!o.against_index.empty() && (o.stage == Stage::kAll || o.stage == Stage::kSketch)) {
    IndexOptions io;
    io.common_code = o.against_common;
    DOPPEL_ASSIGN_OR_RETURN(against, Filter::Open(o.against_index, o.against_options, io));
  }
  fs::create_directories(work, ec);
  if (ec) return Status::IOError(output_dir + ": " + ec.message());
  // A whole run writes the directory alone, and the tasks of a split run share it: a whole run
  // holds its lock exclusively, a task shared, for as long as it runs (the lock ends with the
  // process, however it ends). So no run starts over in a directory another is writing.
  const bool whole = o.stage == Stage::kAll || o.one_command;
  FileLock lock;
  DOPPEL_RETURN_IF_ERROR(lock.Take(work + "/lock", whole));
  if (lock.busy()) {
    return Status::InvalidArgument(output_dir + " is being written by another dedup run; wait for it to end, or "
                                   "use a new --output directory");
  }
  // The indexes as they are now (IndexState): one written since, a document added, replaced or
  // removed, gives other verdicts, and a resumed run would mix them with the first's.
  std::string indexes;
  for (const std::string* dir : {&o.against_index, &o.against_common}) {
    if (dir->empty()) continue;
    DOPPEL_ASSIGN_OR_RETURN(const std::string state, IndexState(*dir));
    indexes += state + "\n";
  }
  const std::string fingerprint = RunFingerprint(units, o, indexes);
  const std::string run_file = work + "/run";
  if (Exists(run_file)) {
    std::ifstream in(run_file);
    std::string have;
    std::getline(in, have);
    in.close();
    if (have != fingerprint) {
      // A run that has not clustered (one stopped at a malformed line, say) has written nothing
      // outside .work, and its sketches are of other inputs or options: a whole run starts over
      // in its place, and so do the local executor's tasks. (Not a task of a split run: another
      // task may be sketching beside it. Not a run that has clustered: its outputs are being
      // written, or are written.)
      const bool clustered = Exists(output_dir + "/stats.json") || Exists(work + "/cluster.done");
      std::vector<fs::path> stale;  // (all but the lock this run holds)
      for (const auto& e : fs::directory_iterator(work, ec)) {
        if (e.path().filename() != "lock") stale.push_back(e.path());
      }
      if (ec) return Status::IOError(work + ": " + ec.message());
      if (clustered || !whole) {
        return Status::InvalidArgument(
            output_dir + " holds a " + (Exists(output_dir + "/stats.json") ? "finished" : "begun") +
            " run with other inputs or options (an input changed since, or the --against index was written "
            "since, or another doppel build made it); use a new --output directory (or remove this one)");
      }
      sum->started_over = true;
      for (const fs::path& path : stale) {
        if (!ec) fs::remove_all(path, ec);
      }
      if (ec) return Status::IOError(work + ": " + ec.message());
      DOPPEL_RETURN_IF_ERROR(WriteFileAtomically(run_file, fingerprint + "\n"));
    } else {
      // (Every task of a split run finds it; of one command's tasks, the first finds a run before it.)
      sum->resumed |= o.stage == Stage::kAll || (o.one_command && o.stage == Stage::kSketch && o.rank == 0);
    }
  } else {
    DOPPEL_RETURN_IF_ERROR(WriteFileAtomically(run_file, fingerprint + "\n"));
  }

  std::unique_ptr<tbb::global_control> gc;
  if (o.threads > 0) {
    gc = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                               static_cast<size_t>(o.threads));
  }

  // 1. sketch
  auto t0 = Clock::now();
  Sketcher sketcher(o, against.get());
  std::vector<uint64_t> first_ord(units.size() + 1, 0);
  std::vector<uint64_t> sketched_state(units.size(), 0);  // UnitState when each unit was sketched
  for (size_t u = 0; u < units.size(); ++u) {
    const std::string marker = work + "/sketch-" + std::to_string(u) + ".done";
    const bool sketch_here = (o.stage == Stage::kAll || o.stage == Stage::kSketch) && mine(u);
    // A finished run has removed its sketches; if its cluster marker is gone too (removed to
    // cluster again), a unit without its sketch files is sketched again.
    const bool sketched =
        Exists(marker) && (Exists(work + "/cluster.done") || (Exists(SigPath(work, u)) && Exists(NamesPath(work, u))));
    if (!sketched) {
      if (!sketch_here) {
        if (o.stage == Stage::kSketch) continue;  // another task's shard
        return Status::InvalidArgument(output_dir + ": the sketch of " +
                                       (units[u].jsonl.empty() ? "file group " + std::to_string(u) : units[u].jsonl) +
                                       " is not done; run its sketch task first");
      }
      DOPPEL_RETURN_IF_ERROR(SketchUnit(units[u], u, units.size(), work, o, sketcher, sum));
    } else if (sketch_here) {
      sum->resumed = true;
    }
    if (o.stage == Stage::kSketch) continue;
    std::ifstream in(marker);
    uint64_t docs = 0;
    if (!(in >> docs)) return Status::Corruption(marker + ": unreadable");
    if (!(in >> sketched_state[u])) sketched_state[u] = 0;  // (a marker from before it was kept)
    first_ord[u + 1] = first_ord[u] + docs;
  }
  sum->seconds_sketch += Seconds(t0);
  if (o.stage == Stage::kSketch) return Status::OK();

  // 2. cluster
  t0 = Clock::now();
  if (o.stage == Stage::kWrite && !Exists(work + "/cluster.done")) {
    return Status::InvalidArgument(output_dir + ": the cluster stage is not done; run it first");
  }
  if (!Exists(work + "/cluster.done")) {
    // Shards written from decisions made before (a finished run whose cluster marker was
    // removed, to cluster again) are written again from these.
    fs::remove(output_dir + "/stats.json", ec);
    for (size_t u = 0; u < units.size(); ++u) fs::remove(work + "/write-" + std::to_string(u) + ".done", ec);
    DOPPEL_RETURN_IF_ERROR(Cluster(output_dir, work, units.size(), o, sum));
  } else {
    sum->resumed |= o.stage != Stage::kWrite;
    std::ifstream in(work + "/cluster.done");
    in >> sum->spilled_runs >> sum->bytes_in >> sum->documents >> sum->kept >> sum->exact >> sum->near >> sum->copy_limit >> sum->index_matches >>
        sum->malformed >> sum->clusters >> sum->bytes_out;
    if (!in) return Status::Corruption(work + "/cluster.done: unreadable");
  }
  sum->seconds_cluster += Seconds(t0);
  if (o.stage == Stage::kCluster) return Status::OK();

  // 3. write
  t0 = Clock::now();
  std::string decision_bytes;
  {
    std::ifstream in(work + "/decisions.bin", std::ios::binary);
    decision_bytes.assign((std::istreambuf_iterator<char>(in)), {});
  }
  if (decision_bytes.size() != first_ord.back()) return Status::Corruption(work + "/decisions.bin: wrong size");
  const std::vector<uint8_t> decision(decision_bytes.begin(), decision_bytes.end());
  for (size_t u = 0; u < units.size(); ++u) {
    if (!mine(u)) continue;
    DOPPEL_RETURN_IF_ERROR(WriteUnit(units[u], u, first_ord[u], first_ord[u + 1] - first_ord[u], sketched_state[u],
                                     decision, output_dir, work, o));
    if (o.on_progress) o.on_progress("write", u + 1, units.size());
  }
  sum->seconds_write += Seconds(t0);
  for (size_t u = 0; u < units.size(); ++u) {
    // stats.json marks a finished run: written once every shard is (by whichever task sees it).
    if (!Exists(work + "/write-" + std::to_string(u) + ".done")) return Status::OK();
  }

  std::string stats = "{\"documents\":" + std::to_string(sum->documents) + ",\"kept\":" + std::to_string(sum->kept) +
                      ",\"removed\":{\"exact\":" + std::to_string(sum->exact) + ",\"near_duplicate\":" +
                      std::to_string(sum->near) + ",\"copy_limit\":" + std::to_string(sum->copy_limit) +
                      ",\"index\":" + std::to_string(sum->index_matches) + ",\"malformed\":" +
                      std::to_string(sum->malformed) + "},\"clusters\":" + std::to_string(sum->clusters) +
                      ",\"skipped_files\":{\"binary\":" + std::to_string(sum->skipped_binary) +
                      ",\"empty\":" + std::to_string(sum->skipped_empty) + "}" +
                      ",\"text_bytes\":" + std::to_string(sum->bytes_in) +
                      ",\"spilled_runs\":" + std::to_string(sum->spilled_runs) +
                      ",\"text_bytes_kept\":" + std::to_string(sum->bytes_out) + ",\"options\":{\"shingle_size\":" +
                      std::to_string(o.shingle_size) + ",\"num_permutations\":" + std::to_string(o.num_permutations) +
                      ",\"bands\":" + std::to_string(o.bands) + ",\"rows\":" + std::to_string(o.rows) +
                      ",\"threshold\":";
  AppendJsonNumber(&stats, o.threshold);
  stats += ",\"max_copies\":" + std::to_string(o.max_copies) + ",\"survivor\":\"" +
           (o.survivor == SurvivorRule::kFirst ? "first" : o.survivor == SurvivorRule::kLongest ? "longest" : "priority") +
           "\"},\"resumed\":" + std::string(sum->resumed ? "true" : "false") + "}\n";
  // (Its temporary file is in .work, as every other: a kill here leaves nothing beside the outputs.)
  DOPPEL_RETURN_IF_ERROR(WriteFileAtomically(output_dir + "/stats.json", stats, work));
  // The run is finished: its sketches (signatures and names, some 550 bytes a document) are
  // needed no more, and go; the markers stay, so the same command again finds the run done.
  // (Removed after stats.json: a run killed before it still has them to resume with.)
  for (size_t u = 0; u < units.size(); ++u) {
    fs::remove(SigPath(work, u), ec);
    fs::remove(NamesPath(work, u), ec);
  }
  return Status::OK();
}

}  // namespace doppel
