// DocumentReader over files, directories and (compressed) JSON Lines.
#include "doppel/reader.h"

#include <simdjson.h>
#include <sys/stat.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <set>

#include "doppel/format.h"
#include "doppel/language.h"
#include "doppel/streams.h"

namespace doppel {
namespace {

namespace fs = std::filesystem;

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}


// The file `path` names (links followed), as device and inode; false when it cannot be read.
bool FileId(const std::string& path, std::pair<dev_t, ino_t>* id) {
  struct stat sb;
  if (::stat(path.c_str(), &sb) != 0) return false;
  *id = {sb.st_dev, sb.st_ino};
  return true;
}

// Why `path` cannot be read (fs::status failed or found nothing): NotFound when nothing is
// there, else the system's reason (a loop of links, a name too long, a file used as a folder).
Status Unreadable(const std::string& path, const std::error_code& ec) {
  if (!ec || ec == std::errc::no_such_file_or_directory) return Status::NotFound(path + ": no such file or directory");
  return Status::IOError(path + ": " + ec.message());
}

using FileIds = std::set<std::pair<dev_t, ino_t>>;


// The directories of `o.skip_dirs` that exist; `*missing` (when given) counts the names that
// name none (two names of one directory are one id and no missing name).
FileIds SkipDirIds(const ReaderOptions& o, size_t* missing = nullptr) {
  FileIds skip;
  size_t absent = 0;
  for (const auto& d : o.skip_dirs) {
    if (std::pair<dev_t, ino_t> id; FileId(d, &id)) {
      skip.insert(id);
    } else {
      ++absent;
    }
  }
  if (missing) *missing = absent;
  return skip;
}

// Calls `f` with each regular file under directory `dir`, as the reader walks it: links inside
// not followed, the directories in `skip` and those o.skip_dir_if accepts passed over (in the
// file system's order).
template <typename F>
void ForEachFileUnder(const std::string& dir, const FileIds& skip, const ReaderOptions& o, F&& f) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    std::pair<dev_t, ino_t> id;
    if (it->is_symlink(ec) ||
        (!skip.empty() && it->is_directory(ec) && FileId(it->path().string(), &id) && skip.count(id)) ||
        (o.skip_dir_if && it->is_directory(ec) && o.skip_dir_if(it->path().string()))) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec)) f(*it);
  }
}

}  // namespace

Status CheckPathField(const std::string& path_field, const std::string& text_field) {
  if (path_field.empty() || path_field != text_field) return Status::OK();
  return Status::InvalidArgument("--path-field \"" + path_field +
                                 "\" names the text field: name the field that holds each line's file path");
}

namespace {

class Reader final : public DocumentReader {
 public:
  Reader(std::vector<std::string> inputs, ReaderOptions o, uint64_t total, FileIds skip, size_t skip_missing)
      : o_(std::move(o)), total_(total), skip_dirs_(std::move(skip)), skip_missing_(skip_missing) {
    for (auto& i : inputs) {
      std::error_code ec;  // (one that cannot be looked at is an error of Next's)
      if (std::pair<dev_t, ino_t> id; fs::is_regular_file(i, ec) && FileId(i, &id)) named_files_.insert(id);
      pending_.push_back({std::move(i), true});
    }
  }
  Result<bool> Next(Document* doc) override;
  uint64_t total_bytes() const override { return total_; }
  uint64_t bytes_consumed() const override {
    return done_bytes_ + (lines_ ? lines_->consumed() : 0);
  }
  const ReaderCounters& counters() const override { return counters_; }

 private:
  struct Pending {
    std::string path;
    bool explicit_input;  // named on the command line, not found in a directory
  };
  Result<bool> NextJsonLine(Document* doc);
  Status ParseJsonLine(const std::string& line, Document* doc);
  Result<bool> ReadFile(const Pending& p, Document* doc);

  ReaderOptions o_;
  uint64_t total_;
  std::deque<Pending> pending_;
  std::unique_ptr<LineReader> lines_;
  std::string lines_path_;
  uint64_t line_no_ = 0;
  uint64_t done_bytes_ = 0;
  ReaderCounters counters_;
  FileIds skip_dirs_;                             // ReaderOptions::skip_dirs
  size_t skip_missing_ = 0;                       // names of them not there when last looked for
  std::set<std::pair<dev_t, ino_t>> files_read_;  // regular files opened so far
  FileIds named_files_;                           // regular files the inputs name
  simdjson::dom::parser parser_;
  std::string line_;
};

Result<bool> Reader::Next(Document* doc) {
  for (;;) {
    if (lines_) {
      auto r = NextJsonLine(doc);
      if (!r.ok() || r.value()) return r;
      continue;
    }
    if (pending_.empty()) return false;
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    std::error_code ec;
    const auto st = fs::status(p.path, ec);
    if (ec || !fs::exists(st)) {
      Status s = Unreadable(p.path, ec);
      doc->origin = p.path;  // (errors name it)
      return s;
    }
    if (fs::is_directory(st)) {
      std::pair<dev_t, ino_t> id;
      // (One not there when the reader opened, an index the build then created, is looked for
      // again: its walk comes after.)
      if (skip_missing_ > 0) skip_dirs_ = SkipDirIds(o_, &skip_missing_);
      if (!p.explicit_input && !skip_dirs_.empty() && FileId(p.path, &id) && skip_dirs_.count(id)) continue;
      if (!p.explicit_input && o_.skip_dir_if && o_.skip_dir_if(p.path)) {
        ++counters_.skipped_dirs;
        continue;
      }
      std::vector<std::string> children;
      for (const auto& e : fs::directory_iterator(p.path, ec)) {
        // Links inside a directory are not followed (as git and ripgrep do): they would index
        // the same file twice, or loop.
        if (!e.is_symlink(ec)) children.push_back(e.path().string());
      }
      if (ec) {
        doc->origin = p.path;  // (errors name it)
        return Status::IOError(p.path + ": " + ec.message());
      }
      std::sort(children.begin(), children.end());
      for (auto it = children.rbegin(); it != children.rend(); ++it) {
        pending_.push_front({*it, false});
      }
      continue;
    }
    if (!fs::is_regular_file(st)) {
      // Sockets, fifos and devices met in a directory are skipped; one named on the command
      // line is read as a stream of JSON Lines when its name says so, else refused.
      if (!p.explicit_input) {
        ++counters_.skipped_special;
        continue;
      }
      if (!IsJsonLinesPath(p.path)) {
        doc->origin = p.path;
        return Status::InvalidArgument(p.path + ": not a regular file; only a JSON Lines stream (a "
                                       "name ending in .jsonl, .jsonl.gz or .jsonl.zst) is read from a pipe");
      }
    }
    // The same file reached again: its documents are read once. One an input names is read
    // there (named, an empty or binary file is refused, not passed over), also when a directory
    // named before it holds it.
    if (struct stat sb; fs::is_regular_file(st) && ::stat(p.path.c_str(), &sb) == 0) {
      const std::pair<dev_t, ino_t> id{sb.st_dev, sb.st_ino};
      if ((!p.explicit_input && named_files_.count(id)) || !files_read_.insert(id).second) {
        ++counters_.skipped_repeated;
        continue;
      }
    }
    if (IsJsonLinesPath(p.path)) {
      auto src = OpenSource(p.path);
      if (!src.ok()) {
        doc->origin = p.path;  // (errors name it)
        return src.status();
      }
      lines_ = std::make_unique<LineReader>(std::move(*src), o_.max_document_bytes, "--max-document-bytes");
      lines_path_ = p.path;
      line_no_ = 0;
      continue;
    }
    auto r = ReadFile(p, doc);
    if (!r.ok() || r.value()) return r;
  }
}

Result<bool> Reader::NextJsonLine(Document* doc) {
  for (;;) {
    ++line_no_;
    auto more = lines_->Next(&line_);
    if (!more.ok()) {
      doc->origin = lines_path_ + ":" + std::to_string(line_no_);  // (errors name it)
      if (more.status().code() == Status::Code::kResourceExhausted) {
        if (!o_.report_unnamed_lines) continue;
        return more.status().WithContext(doc->origin);
      }
      done_bytes_ += lines_->consumed();
      lines_.reset();  // a broken stream ends this file
      // (Named once: the stream's error names the file, which the line's place names again.)
      const std::string& m = more.status().message();
      const std::string own = lines_path_ + ": ";
      return more.status().WithMessage(m.rfind(own, 0) == 0 ? m.substr(own.size()) : m).WithContext(doc->origin);
    }
    if (!more.value()) {
      done_bytes_ += lines_->consumed();
      lines_.reset();
      return false;
    }
    if (line_no_ == 1) {
      if (Status s = RefuseCompressedStart(line_, lines_path_); !s.ok()) {
        doc->origin = lines_path_;  // (errors name it)
        done_bytes_ += lines_->consumed();
        lines_.reset();  // every line of it would be an error of its own
        return s;
      }
    }
    if (line_.find_first_not_of(" \t\r") == std::string::npos) continue;  // blank line
    if (Status s = ParseJsonLine(line_, doc); !s.ok()) {
      if (!o_.report_unnamed_lines) continue;
      return s.WithContext(lines_path_ + ":" + std::to_string(line_no_));
    }
    if (o_.accept_name && !o_.accept_name(doc->name)) continue;
    ++counters_.documents;
    return true;
  }
}

Status Reader::ParseJsonLine(const std::string& line, Document* doc) {
  return ParseJsonLineDocument(line, o_, lines_path_ + ":" + std::to_string(line_no_), &parser_, doc);
}

Result<bool> Reader::ReadFile(const Pending& p, Document* doc) {
  std::error_code ec;
  done_bytes_ += fs::file_size(p.path, ec);
  // Named by its path made normal, opened by the path as given (through a link, "link/.." is
  // not the folder holding the link).
  const std::string name = NormalPath(p.path);
  if (o_.accept_name && !o_.accept_name(name)) return false;  // not this shard's; not read
  FileSkip skipped = FileSkip::kNone;
  Status s = ReadFileDocument(p.path, o_, doc, &skipped);
  if (!s.ok()) {
    doc->origin = p.path;  // (errors name it)
    if (skipped == FileSkip::kNone || p.explicit_input) return s;
    ++(skipped == FileSkip::kEmpty ? counters_.skipped_empty : counters_.skipped_binary);
    return false;
  }
  doc->name = name;
  ++counters_.documents;
  return true;
}

}  // namespace

std::string NormalPath(const std::string& path) {
  if (path.empty() || path == "-") return path;
  std::string normal = fs::path(path).lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  return normal.empty() ? path : normal;
}

std::string InputsState(const std::vector<std::string>& inputs, const ReaderOptions& options) {
  const FileIds skip = SkipDirIds(options);
  std::string state;
  auto add = [&](const fs::path& p) {
    std::error_code ec;
    const auto size = fs::file_size(p, ec);
    const auto time = ec ? 0 : fs::last_write_time(p, ec).time_since_epoch().count();
    state += p.string() + " " + std::to_string(ec ? 0 : size) + " " + std::to_string(ec ? 0 : time) + "\n";
  };
  for (const auto& in : inputs) {
    state += in + "\n";
    std::error_code ec;
    const auto st = fs::status(in, ec);
    if (fs::is_directory(st)) {
      std::vector<fs::path> files;
      ForEachFileUnder(in, skip, options, [&](const fs::directory_entry& e) { files.push_back(e.path()); });
      std::sort(files.begin(), files.end());
      for (const auto& f : files) add(f);
    } else if (fs::is_regular_file(st)) {
      add(in);
    }
  }
  return state;
}

bool IsJsonLinesPath(std::string_view path) {
  for (std::string_view ext : {".jsonl", ".ndjson"}) {
    for (std::string_view comp : {"", ".gz", ".zst"}) {
      std::string suffix(ext);
      suffix += comp;
      if (EndsWith(path, suffix)) return true;
    }
  }
  return false;
}

Result<std::unique_ptr<DocumentReader>> DocumentReader::Open(const std::vector<std::string>& inputs,
                                                             const ReaderOptions& options) {
  ReaderOptions o = options;
  if (!o.file_metadata.empty()) {
    simdjson::dom::parser parser;
    simdjson::dom::element e;
    std::string scratch;
    if (auto err = ParseJson(&parser, o.file_metadata, &e, &scratch); err) {
      return Status::InvalidArgument("file metadata is not valid JSON (" +
                                     DescribeJsonError(o.file_metadata, simdjson::error_message(err)) + "): " +
                                     o.file_metadata);
    }
    if (!e.is_object()) return Status::InvalidArgument("file metadata must be a JSON object: " + o.file_metadata);
    o.file_metadata = simdjson::minify(e);  // stored as compact JSON, like JSON lines' fields
  }
  size_t skip_missing = 0;
  FileIds skip = SkipDirIds(o, &skip_missing);
  uint64_t total = 0;
  for (const auto& in : inputs) {
    std::error_code ec;
    const auto st = fs::status(in, ec);
    if (ec || !fs::exists(st)) {
      if (o.unreadable_inputs_read_past) continue;  // (Next names it in its turn)
      return Unreadable(in, ec);
    }
    if (fs::is_regular_file(st)) {
      total += fs::file_size(in, ec);
    } else if (fs::is_directory(st)) {
      ForEachFileUnder(in, skip, o, [&](const fs::directory_entry& e) { total += e.file_size(ec); });
    }
  }
  return std::unique_ptr<DocumentReader>(std::make_unique<Reader>(inputs, std::move(o), total, std::move(skip), skip_missing));
}

}  // namespace doppel
