// DocumentReader over files, directories and (compressed) JSON Lines.
#include "doppel/reader.h"

#include <simdjson.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>

#include "doppel/format.h"
#include "doppel/language.h"

namespace doppel {
namespace {

namespace fs = std::filesystem;

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// A stream of decompressed bytes.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to n bytes; 0 at end. Errors name the file.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
  // Stored (compressed) bytes consumed so far.
  virtual uint64_t consumed() const = 0;
};

class PlainSource final : public ByteSource {
 public:
  PlainSource(std::FILE* f, std::string path) : f_(f), path_(std::move(path)) {}
  ~PlainSource() override { std::fclose(f_); }
  Result<size_t> Read(char* buf, size_t n) override {
    const size_t r = std::fread(buf, 1, n, f_);
    if (r == 0 && std::ferror(f_)) return Status::IOError(path_ + ": read error");
    consumed_ += r;
    return r;
  }
  uint64_t consumed() const override { return consumed_; }

 private:
  std::FILE* f_;
  std::string path_;
  uint64_t consumed_ = 0;
};

class GzipSource final : public ByteSource {
 public:
  GzipSource(gzFile f, std::string path) : f_(f), path_(std::move(path)) {}
  ~GzipSource() override { gzclose(f_); }
  Result<size_t> Read(char* buf, size_t n) override {
    const int r = gzread(f_, buf, static_cast<unsigned>(std::min<size_t>(n, 1 << 30)));
    if (r < 0) {
      int err = 0;
      const char* msg = gzerror(f_, &err);
      return Status::InvalidArgument(path_ + ": gzip stream is corrupt (" +
                                     std::string(msg ? msg : "?") + ")");
    }
    return static_cast<size_t>(r);
  }
  uint64_t consumed() const override { return static_cast<uint64_t>(gzoffset(f_)); }

 private:
  gzFile f_;
  std::string path_;
};

class ZstdSource final : public ByteSource {
 public:
  ZstdSource(std::FILE* f, std::string path)
      : f_(f), path_(std::move(path)), ctx_(ZSTD_createDCtx()), in_buf_(ZSTD_DStreamInSize()) {}
  ~ZstdSource() override {
    ZSTD_freeDCtx(ctx_);
    std::fclose(f_);
  }
  Result<size_t> Read(char* buf, size_t n) override {
    ZSTD_outBuffer out{buf, n, 0};
    while (out.pos == 0) {
      if (in_.pos == in_.size) {
        const size_t r = std::fread(in_buf_.data(), 1, in_buf_.size(), f_);
        if (r == 0) {
          if (std::ferror(f_)) return Status::IOError(path_ + ": read error");
          if (!frame_done_) {
            return Status::InvalidArgument(path_ + ": zstd stream is truncated");
          }
          return size_t{0};
        }
        consumed_ += r;
        in_ = ZSTD_inBuffer{in_buf_.data(), r, 0};
      }
      const size_t ret = ZSTD_decompressStream(ctx_, &out, &in_);
      if (ZSTD_isError(ret)) {
        return Status::InvalidArgument(path_ + ": zstd stream is corrupt (" +
                                       ZSTD_getErrorName(ret) + ")");
      }
      frame_done_ = (ret == 0);
    }
    return out.pos;
  }
  uint64_t consumed() const override { return consumed_; }

 private:
  std::FILE* f_;
  std::string path_;
  ZSTD_DCtx* ctx_;
  std::vector<char> in_buf_;
  ZSTD_inBuffer in_{nullptr, 0, 0};
  uint64_t consumed_ = 0;
  bool frame_done_ = true;
};

Result<std::unique_ptr<ByteSource>> OpenSource(const std::string& path) {
  if (EndsWith(path, ".gz")) {
    gzFile f = gzopen(path.c_str(), "rb");
    if (f == nullptr) return Status::NotFound(path + ": " + std::strerror(errno));
    gzbuffer(f, 1 << 18);
    return std::unique_ptr<ByteSource>(std::make_unique<GzipSource>(f, path));
  }
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return Status::NotFound(path + ": " + std::strerror(errno));
  if (EndsWith(path, ".zst")) {
    return std::unique_ptr<ByteSource>(std::make_unique<ZstdSource>(f, path));
  }
  return std::unique_ptr<ByteSource>(std::make_unique<PlainSource>(f, path));
}

// Splits a byte stream into lines, refusing lines over a limit without buffering them.
class LineReader {
 public:
  LineReader(std::unique_ptr<ByteSource> src, uint64_t max_line)
      : src_(std::move(src)), max_line_(max_line) {}
  // Returns false at the end. An over-long line is an error and is skipped.
  Result<bool> Next(std::string* line) {
    line->clear();
    bool too_long = false;
    for (;;) {
      if (pos_ == len_) {
        DOPPEL_ASSIGN_OR_RETURN(len_, src_->Read(buf_.data(), buf_.size()));
        pos_ = 0;
        if (len_ == 0) {
          if (too_long) return Status::ResourceExhausted("line exceeds the limit of " + std::to_string(max_line_) + " bytes");
          const bool had_bytes = pending_;
          pending_ = false;
          return had_bytes;
        }
      }
      pending_ = true;
      const char* start = buf_.data() + pos_;
      const char* nl = static_cast<const char*>(std::memchr(start, '\n', len_ - pos_));
      const size_t take = nl ? static_cast<size_t>(nl - start) : len_ - pos_;
      if (!too_long) {
        if (line->size() + take > max_line_) {
          too_long = true;
          line->clear();
        } else {
          line->append(start, take);
        }
      }
      pos_ += take;
      if (nl) {
        ++pos_;
        pending_ = false;
        if (too_long) return Status::ResourceExhausted("line exceeds the limit of " + std::to_string(max_line_) + " bytes");
        return true;
      }
    }
  }
  uint64_t consumed() const { return src_->consumed(); }

 private:
  std::unique_ptr<ByteSource> src_;
  uint64_t max_line_;
  std::vector<char> buf_ = std::vector<char>(1 << 18);
  size_t pos_ = 0, len_ = 0;
  bool pending_ = false;  // bytes seen since the last newline
};

std::string_view ErrorName(simdjson::error_code e) { return simdjson::error_message(e); }

class Reader final : public DocumentReader {
 public:
  Reader(std::vector<std::string> inputs, ReaderOptions o, uint64_t total)
      : o_(std::move(o)), total_(total) {
    for (auto& i : inputs) pending_.push_back({std::move(i), true});
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
    if (ec || !fs::exists(st)) return Status::NotFound(p.path + ": no such file or directory");
    if (fs::is_directory(st)) {
      std::vector<std::string> children;
      for (const auto& e : fs::directory_iterator(p.path, ec)) {
        // Links inside a directory are not followed (as git and ripgrep do): they would index
        // the same file twice, or loop.
        if (!e.is_symlink(ec)) children.push_back(e.path().string());
      }
      if (ec) return Status::IOError(p.path + ": " + ec.message());
      std::sort(children.begin(), children.end());
      for (auto it = children.rbegin(); it != children.rend(); ++it) {
        pending_.push_front({*it, false});
      }
      continue;
    }
    if (!fs::is_regular_file(st)) continue;  // sockets, fifos, devices
    if (IsJsonLinesPath(p.path)) {
      DOPPEL_ASSIGN_OR_RETURN(auto src, OpenSource(p.path));
      lines_ = std::make_unique<LineReader>(std::move(src), o_.max_document_bytes);
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
      if (more.status().code() == Status::Code::kResourceExhausted) {
        return more.status().WithContext(lines_path_ + ":" + std::to_string(line_no_));
      }
      done_bytes_ += lines_->consumed();
      lines_.reset();  // a broken stream ends this file
      return more.status().WithContext(lines_path_ + ":" + std::to_string(line_no_));
    }
    if (!more.value()) {
      done_bytes_ += lines_->consumed();
      lines_.reset();
      return false;
    }
    if (line_.find_first_not_of(" \t\r") == std::string::npos) continue;  // blank line
    DOPPEL_RETURN_IF_ERROR(
        ParseJsonLine(line_, doc).WithContext(lines_path_ + ":" + std::to_string(line_no_)));
    ++counters_.documents;
    return true;
  }
}

Status Reader::ParseJsonLine(const std::string& line, Document* doc) {
  simdjson::dom::element root;
  auto err = parser_.parse(line).get(root);
  if (err) return Status::InvalidArgument("malformed JSON (" + std::string(ErrorName(err)) + ")");
  simdjson::dom::object obj;
  if (root.get_object().get(obj)) return Status::InvalidArgument("line is not a JSON object");
  *doc = Document();
  doc->origin = lines_path_ + ":" + std::to_string(line_no_);
  bool have_text = false;
  std::string meta;
  for (auto field : obj) {
    const std::string_view key = field.key;
    if (key == o_.text_field) {
      std::string_view text;
      if (field.value.get_string().get(text)) {
        return Status::InvalidArgument("field \"" + o_.text_field + "\" is not a string");
      }
      doc->text.assign(text);
      have_text = true;
    } else if (key == o_.id_field) {
      std::string_view id;
      if (!field.value.get_string().get(id)) {
        doc->name.assign(id);
      } else if (field.value.is_number()) {
        doc->name = simdjson::minify(field.value);
      } else {
        return Status::InvalidArgument("field \"" + o_.id_field + "\" is not a string or number");
      }
    } else {
      if (key == "lang" || key == "language") {
        std::string_view lang;
        if (!field.value.get_string().get(lang)) doc->language.assign(lang);
      } else if (key == "kind") {
        std::string_view kind;
        if (!field.value.get_string().get(kind)) {
          if (kind == "code") doc->kind = Kind::kCode;
          else if (kind != "text") return Status::InvalidArgument("field \"kind\" must be \"text\" or \"code\"");
        }
      }
      meta += meta.empty() ? "{" : ",";
      AppendJsonString(&meta, key);
      meta += ":";
      meta += simdjson::minify(field.value);
    }
  }
  if (!have_text) return Status::InvalidArgument("text field \"" + o_.text_field + "\" missing");
  if (!meta.empty()) meta += "}";
  doc->metadata = std::move(meta);
  if (doc->name.empty()) doc->name = doc->origin;
  // A known programming language makes the document code ("lang": "en" stays prose); "kind":
  // "code" with an unknown language uses the generic code lexer.
  if (const Language* l = LookupLanguage(doc->language)) {
    doc->kind = Kind::kCode;
    doc->language = l->name;
  }
  return Status::OK();
}

Result<bool> Reader::ReadFile(const Pending& p, Document* doc) {
  std::error_code ec;
  const uint64_t size = fs::file_size(p.path, ec);
  if (ec) return Status::IOError(p.path + ": " + ec.message());
  done_bytes_ += size;
  if (size > o_.max_document_bytes) {
    return Status::ResourceExhausted(p.path + ": file of " + std::to_string(size) +
                                     " bytes exceeds the document limit of " +
                                     std::to_string(o_.max_document_bytes));
  }
  if (size == 0) {
    if (p.explicit_input) return Status::InvalidArgument(p.path + ": empty file");
    ++counters_.skipped_empty;
    return false;
  }
  std::ifstream in(p.path, std::ios::binary);
  if (!in) return Status::IOError(p.path + ": cannot open");
  *doc = Document();
  doc->text.resize(size);
  in.read(doc->text.data(), static_cast<std::streamsize>(size));
  doc->text.resize(static_cast<size_t>(in.gcount()));
  // Binary files: a NUL byte in the first 8000 bytes, as git decides.
  const size_t probe = std::min<size_t>(doc->text.size(), 8000);
  if (std::memchr(doc->text.data(), '\0', probe) != nullptr) {
    if (p.explicit_input) {
      return Status::InvalidArgument(p.path + ": binary file (NUL byte at offset " +
                                     std::to_string(doc->text.find('\0')) + ")");
    }
    ++counters_.skipped_binary;
    return false;
  }
  doc->name = p.path;
  doc->origin = p.path;
  doc->metadata = o_.file_metadata;
  // Code by file name or extension; everything else is prose.
  if (const Language* l = LanguageForPath(p.path)) {
    doc->kind = Kind::kCode;
    doc->language = l->name;
  }
  ++counters_.documents;
  return true;
}

}  // namespace

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
    if (parser.parse(o.file_metadata).get(e) || !e.is_object()) {
      return Status::InvalidArgument("file metadata must be a JSON object: " + o.file_metadata);
    }
    o.file_metadata = simdjson::minify(e);  // stored as compact JSON, like JSON lines' fields
  }
  uint64_t total = 0;
  for (const auto& in : inputs) {
    std::error_code ec;
    const auto st = fs::status(in, ec);
    if (ec || !fs::exists(st)) return Status::NotFound(in + ": no such file or directory");
    if (fs::is_regular_file(st)) {
      total += fs::file_size(in, ec);
    } else if (fs::is_directory(st)) {
      for (auto it = fs::recursive_directory_iterator(in, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        // As in reading: links inside directories are not followed.
        if (it->is_symlink(ec)) {
          it.disable_recursion_pending();
          continue;
        }
        if (it->is_regular_file(ec)) total += it->file_size(ec);
      }
    }
  }
  return std::unique_ptr<DocumentReader>(std::make_unique<Reader>(inputs, std::move(o), total));
}

}  // namespace doppel
