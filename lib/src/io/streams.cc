#include "doppel/streams.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "doppel/format.h"
#include "doppel/language.h"
#include "doppel/tokenizer.h"

namespace doppel {

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);
}

Status FileLock::Take(const std::string& path, bool exclusive) {
  if (fd_ >= 0) ::close(fd_);
  busy_ = false;
  fd_ = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (fd_ < 0) return Status::IOError(path + ": " + std::strerror(errno));
  if (::flock(fd_, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0) return Status::OK();
  if (errno == EWOULDBLOCK) {
    busy_ = true;
    return Status::OK();
  }
  if (errno == ENOSYS || errno == ENOLCK || errno == EOPNOTSUPP) return Status::OK();
  return Status::IOError(path + ": " + std::strerror(errno));
}

Status CannotOpen(const std::string& path, int err) {
  const std::string message = path + ": " + std::strerror(err);
  return err == ENOENT || err == ENOTDIR ? Status::NotFound(message) : Status::IOError(message);
}

namespace {

bool HasSuffix(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

class PlainSource final : public ByteSource {
 public:
  PlainSource(std::FILE* f, std::string path, bool owned = true) : f_(f), path_(std::move(path)), owned_(owned) {}
  ~PlainSource() override {
    if (owned_) std::fclose(f_);
  }
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
  bool owned_;
  uint64_t consumed_ = 0;
};

// gzip read member by member with inflate: a file of several members (concatenated gzip files)
// is read whole, and bytes after a member that are neither another member nor zero padding are
// an error (zlib's gzread ignores them, silently losing what a damaged member hid). An error
// comes after the bytes decoded before it, so the lines before it are read.
class GzipSource final : public ByteSource {
 public:
  GzipSource(std::FILE* f, std::string path) : f_(f), path_(std::move(path)), in_buf_(1 << 16) {
    started_ = inflateInit2(&z_, 16 + MAX_WBITS) == Z_OK;  // a gzip header and trailer only
  }
  ~GzipSource() override {
    if (started_) inflateEnd(&z_);
    std::fclose(f_);
  }
  Result<size_t> Read(char* buf, size_t n) override {
    if (!pending_.ok()) return pending_;
    if (!started_) return Status::IOError(path_ + ": zlib could not start");
    z_.next_out = reinterpret_cast<Bytef*>(buf);
    z_.avail_out = static_cast<uInt>(std::min<size_t>(n, 1 << 30));
    const uInt wanted = z_.avail_out;
    auto fail = [&](Status s) -> Result<size_t> {
      pending_ = std::move(s);
      if (z_.avail_out < wanted) return static_cast<size_t>(wanted - z_.avail_out);
      return pending_;
    };
    while (z_.avail_out > 0) {
      if (z_.avail_in == 0) {
        const size_t r = std::fread(in_buf_.data(), 1, in_buf_.size(), f_);
        if (r == 0) {
          if (std::ferror(f_)) return fail(Status::IOError(path_ + ": read error"));
          if (in_member_) {
            return fail(Status::InvalidArgument(path_ + ": gzip stream is truncated (after " +
                                                std::to_string(consumed()) + " compressed bytes)"));
          }
          if (members_ == 0) return fail(Status::InvalidArgument(path_ + ": not in gzip format (an empty file)"));
          break;
        }
        read_ += r;
        z_.next_in = reinterpret_cast<Bytef*>(in_buf_.data());
        z_.avail_in = static_cast<uInt>(r);
      }
      if (!in_member_) {
        // Between members: zero padding (after one), another member, or bytes that are not gzip.
        if (members_ > 0 && z_.next_in[0] == 0) {
          ++z_.next_in;
          --z_.avail_in;
          padded_ = true;
          continue;
        }
        // gzip's two magic bytes (the second may come with the next read).
        const bool magic = z_.next_in[0] == 0x1f && (z_.avail_in < 2 || z_.next_in[1] == 0x8b);
        if (!magic || padded_) {
          if (members_ == 0) return fail(Status::InvalidArgument(path_ + ": not in gzip format (the name ends in .gz)"));
          return fail(Status::InvalidArgument(path_ + ": bytes after the end of gzip member " +
                                              std::to_string(members_) + " (at compressed byte " +
                                              std::to_string(consumed()) + ") are not gzip"));
        }
        in_member_ = true;
      }
      const int ret = inflate(&z_, Z_NO_FLUSH);
      if (ret == Z_STREAM_END) {
        in_member_ = false;
        ++members_;
        inflateReset(&z_);
      } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
        return fail(Status::InvalidArgument(path_ + ": gzip stream is corrupt (" +
                                            std::string(z_.msg != nullptr ? z_.msg : zError(ret)) +
                                            ", near compressed byte " + std::to_string(consumed()) + ")"));
      }
    }
    return static_cast<size_t>(wanted - z_.avail_out);
  }
  uint64_t consumed() const override { return read_ - z_.avail_in; }

 private:
  std::FILE* f_;
  std::string path_;
  std::vector<char> in_buf_;
  z_stream z_{};
  bool started_ = false;
  bool in_member_ = false;  // inside a member (its header read or begun)
  bool padded_ = false;     // zero bytes followed the last member
  uint64_t members_ = 0;    // members read to their end
  uint64_t read_ = 0;       // compressed bytes read from the file
  Status pending_;          // an error reported after the bytes decoded before it
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
          // (As a gzip file of no bytes: zstd itself refuses one.)
          if (consumed_ == 0) return Status::InvalidArgument(path_ + ": not in zstd format (an empty file)");
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

Result<std::unique_ptr<ByteSource>> OpenSourceImpl(const std::string& path) {
  if (path == "-") return std::unique_ptr<ByteSource>(std::make_unique<PlainSource>(stdin, "<stdin>", false));
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return CannotOpen(path, errno);
  if (HasSuffix(path, ".gz")) return std::unique_ptr<ByteSource>(std::make_unique<GzipSource>(f, path));
  if (HasSuffix(path, ".zst")) {
    return std::unique_ptr<ByteSource>(std::make_unique<ZstdSource>(f, path));
  }
  return std::unique_ptr<ByteSource>(std::make_unique<PlainSource>(f, path));
}

class PlainSink final : public ByteSink {
 public:
  PlainSink(std::FILE* f, std::string path) : f_(f), path_(std::move(path)) {}
  ~PlainSink() override {
    if (f_) std::fclose(f_);
  }
  Status Write(std::string_view b) override {
    if (std::fwrite(b.data(), 1, b.size(), f_) != b.size()) return Status::IOError(path_ + ": write error");
    return Status::OK();
  }
  Status Close() override {
    const bool ok = std::fflush(f_) == 0 && std::fclose(f_) == 0;
    f_ = nullptr;
    return ok ? Status::OK() : Status::IOError(path_ + ": write error");
  }

 private:
  std::FILE* f_;
  std::string path_;
};

class GzipSink final : public ByteSink {
 public:
  GzipSink(gzFile f, std::string path) : f_(f), path_(std::move(path)) {}
  ~GzipSink() override {
    if (f_) gzclose(f_);
  }
  Status Write(std::string_view b) override {
    while (!b.empty()) {
      const unsigned n = static_cast<unsigned>(std::min<size_t>(b.size(), 1 << 30));
      if (gzwrite(f_, b.data(), n) != static_cast<int>(n)) return Status::IOError(path_ + ": gzip write error");
      b.remove_prefix(n);
    }
    return Status::OK();
  }
  Status Close() override {
    const int r = gzclose(f_);
    f_ = nullptr;
    return r == Z_OK ? Status::OK() : Status::IOError(path_ + ": gzip write error");
  }

 private:
  gzFile f_;
  std::string path_;
};

class ZstdSink final : public ByteSink {
 public:
  ZstdSink(std::FILE* f, std::string path)
      : f_(f), path_(std::move(path)), ctx_(ZSTD_createCCtx()), out_(ZSTD_CStreamOutSize()) {
    ZSTD_CCtx_setParameter(ctx_, ZSTD_c_compressionLevel, 3);
  }
  ~ZstdSink() override {
    ZSTD_freeCCtx(ctx_);
    if (f_) std::fclose(f_);
  }
  Status Write(std::string_view b) override { return Pump(b, ZSTD_e_continue); }
  Status Close() override {
    Status s = Pump({}, ZSTD_e_end);
    const bool ok = std::fclose(f_) == 0;
    f_ = nullptr;
    if (s.ok() && !ok) s = Status::IOError(path_ + ": write error");
    return s;
  }

 private:
  Status Pump(std::string_view b, ZSTD_EndDirective mode) {
    ZSTD_inBuffer in{b.data(), b.size(), 0};
    for (;;) {
      ZSTD_outBuffer out{out_.data(), out_.size(), 0};
      const size_t left = ZSTD_compressStream2(ctx_, &out, &in, mode);
      if (ZSTD_isError(left)) return Status::IOError(path_ + ": zstd: " + ZSTD_getErrorName(left));
      if (out.pos > 0 && std::fwrite(out_.data(), 1, out.pos, f_) != out.pos) {
        return Status::IOError(path_ + ": write error");
      }
      const bool done = mode == ZSTD_e_end ? left == 0 : in.pos == in.size;
      if (done) return Status::OK();
    }
  }
  std::FILE* f_;
  std::string path_;
  ZSTD_CCtx* ctx_;
  std::vector<char> out_;
};

}  // namespace

Result<std::unique_ptr<ByteSource>> OpenSource(const std::string& path) { return OpenSourceImpl(path); }

Status WriteFileAtomically(const std::string& path, std::string_view data, const std::string& temp_dir) {
  return WriteFileAtomically(path, std::vector<std::string_view>{data}, temp_dir);
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_.c_str());
  }
}

Status AtomicFileWriter::Open(const std::string& path, const std::string& temp_dir) {
  if (fd_ >= 0 || !path_.empty()) return Status::Internal(path + ": a file writer is opened once");
  // A name of its own per writer: tasks of one run may write the same file at once, on other
  // hosts of a shared file system too (where process ids repeat), so the host is in it.
  static std::atomic<uint64_t> counter{0};
  static const std::string host = [] {
    char name[256] = {};
    if (::gethostname(name, sizeof(name) - 1) != 0) return std::string("host");
    std::string h(name);
    for (char& c : h) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') c = '_';
    }
    return h.substr(0, 64);
  }();
  path_ = path;
  const std::string base = temp_dir.empty() ? path : temp_dir + "/" + std::filesystem::path(path).filename().string();
  tmp_ = base + ".tmp." + host + "." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) return Status::IOError(tmp_ + ": " + std::strerror(errno));
  return Status::OK();
}

Status AtomicFileWriter::Append(std::string_view data) {
  if (fd_ < 0) return Status::IOError(path_ + ": not open for writing");
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = n < 0 ? std::strerror(errno) : "nothing written";
      ::close(fd_);  // a failed writer never commits a file cut short
      ::unlink(tmp_.c_str());
      fd_ = -1;
      return Status::IOError(tmp_ + ": write failed: " + why);
    }
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

Status AtomicFileWriter::Commit() {
  if (fd_ < 0) return Status::IOError(path_ + ": not open for writing");
  const bool synced = ::fsync(fd_) == 0;
  ::close(fd_);
  fd_ = -1;
  if (!synced) {
    ::unlink(tmp_.c_str());
    return Status::IOError(tmp_ + ": fsync failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp_, path_, ec);
  if (ec) {
    ::unlink(tmp_.c_str());
    return Status::IOError(path_ + ": " + ec.message());
  }
  return Status::OK();
}

Status WriteFileAtomically(const std::string& path, const std::vector<std::string_view>& parts,
                           const std::string& temp_dir) {
  AtomicFileWriter w;
  DOPPEL_RETURN_IF_ERROR(w.Open(path, temp_dir));
  for (const std::string_view data : parts) DOPPEL_RETURN_IF_ERROR(w.Append(data));
  return w.Commit();
}

SkippedFile SkippedFileReason(std::string_view text, bool whole) {
  const std::string_view head = text.substr(0, kBinaryProbeBytes);
  if (const size_t nul = head.find('\0'); nul != std::string_view::npos) {
    return {FileSkip::kBinary, "binary file (NUL byte at offset " + std::to_string(nul) + ")"};
  }
  // Only blanks (an __init__.py of one newline) is an empty file as well: nothing to protect.
  if (whole && text.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos) {
    return {FileSkip::kEmpty, "empty file (only blanks)"};
  }
  return {};
}

namespace {
// The compression whose magic number `head` begins with: "gzip", "zstd", or null.
const char* CompressionOf(std::string_view head) {
  return head.rfind("\x1f\x8b", 0) == 0 ? "gzip" : head.rfind("\x28\xb5\x2f\xfd", 0) == 0 ? "zstd" : nullptr;
}
}  // namespace

Status RefuseCompressedStart(std::string_view first_line, const std::string& where) {
  const char* kind = CompressionOf(first_line);
  if (kind == nullptr) return Status::OK();
  return Status::InvalidArgument(where + ": the input is " + kind + "-compressed: name the file ." +
                                 (std::string_view(kind) == "gzip" ? "gz" : "zst") + ", or decompress it first");
}

bool IsCompressedPath(std::string_view path) { return HasSuffix(path, ".gz") || HasSuffix(path, ".zst"); }

bool HasCompressionMagic(const std::string& path) {
  char head[4] = {};
  std::ifstream in(path, std::ios::binary);
  in.read(head, sizeof head);
  return CompressionOf(std::string_view(head, static_cast<size_t>(in.gcount()))) != nullptr;
}

Status ReadFileDocument(const std::string& path, const ReaderOptions& o, Document* doc, FileSkip* skipped) {
  *skipped = FileSkip::kNone;
  *doc = Document();
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) return Status::IOError(path + ": " + ec.message());
  if (size > o.max_document_bytes) {
    return Status::ResourceExhausted(path + ": file of " + std::to_string(size) +
                                     " bytes exceeds the document limit of " +
                                     std::to_string(o.max_document_bytes) + " (--max-document-bytes)");
  }
  if (size == 0) {
    *skipped = FileSkip::kEmpty;
    return Status::InvalidArgument(path + ": empty file");
  }
  // A compressed file (`changelog.gz`, `notes.txt.zst`) is its decompressed text, in the
  // language its name without the suffix says; the document limit applies to that text.
  const bool compressed = IsCompressedPath(path);
  if (compressed) {
    DOPPEL_ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> src, OpenSource(path));
    char buf[64 * 1024];
    for (;;) {
      auto read = src->Read(buf, sizeof buf);
      if (!read.ok()) {
        // Not in its format (no gzip or zstd magic number): passed over as binary where a
        // directory's walk meets it, refused when named. In its format but cut short or damaged
        // (before or after some text): an error wherever it is met, so a damaged copy is not
        // passed over unseen.
        if (doc->text.empty() && !HasCompressionMagic(path)) *skipped = FileSkip::kBinary;
        doc->text.clear();
        return read.status();
      }
      const size_t n = *read;
      if (n == 0) break;
      // (A binary one, a .tar.gz, is passed over by its first bytes, not decompressed whole.)
      if (doc->text.size() < kBinaryProbeBytes &&
          std::memchr(buf, '\0', std::min<size_t>(n, kBinaryProbeBytes - doc->text.size())) != nullptr) {
        doc->text.append(buf, n);
        break;
      }
      if (doc->text.size() + n > o.max_document_bytes) {
        return Status::ResourceExhausted(path + ": decompressed, more than the document limit of " +
                                         std::to_string(o.max_document_bytes) + " bytes (--max-document-bytes)");
      }
      doc->text.append(buf, n);
    }
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return CannotOpen(path, errno);
    doc->text.resize(size);
    in.read(doc->text.data(), static_cast<std::streamsize>(size));
    doc->text.resize(static_cast<size_t>(in.gcount()));
  }
  if (SkippedFile skip = SkippedFileReason(doc->text, true); skip.kind != FileSkip::kNone) {
    *skipped = skip.kind;
    doc->text.clear();
    return Status::InvalidArgument(path + ": " + skip.reason);
  }
  if (o.lossy_utf8) ReplaceInvalidUtf8(&doc->text);
  doc->name = path;
  doc->origin = path;
  doc->metadata = o.file_metadata;
  const std::string_view named = compressed ? std::string_view(path).substr(0, path.rfind('.')) : std::string_view(path);
  if (const Language* l = LanguageForPath(named)) {
    doc->kind = Kind::kCode;
    doc->language = l->name;
  }
  return Status::OK();
}

Result<std::unique_ptr<ByteSink>> OpenSink(const std::string& path) {
  if (HasSuffix(path, ".gz")) {
    gzFile f = gzopen(path.c_str(), "wb6");
    if (f == nullptr) return Status::IOError(path + ": cannot create: " + std::strerror(errno));
    return std::unique_ptr<ByteSink>(std::make_unique<GzipSink>(f, path));
  }
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return Status::IOError(path + ": cannot create: " + std::strerror(errno));
  if (HasSuffix(path, ".zst")) return std::unique_ptr<ByteSink>(std::make_unique<ZstdSink>(f, path));
  return std::unique_ptr<ByteSink>(std::make_unique<PlainSink>(f, path));
}

namespace {
// Whether `s` is a JSON integer's spelling: an optional '-', then digits, no leading zero.
bool IsJsonInteger(std::string_view s) {
  if (!s.empty() && s[0] == '-') s.remove_prefix(1);
  if (s.empty() || (s[0] == '0' && s.size() > 1)) return false;
  return s.find_first_not_of("0123456789") == std::string_view::npos;
}
}  // namespace

simdjson::error_code ParseJson(simdjson::dom::parser* parser, std::string_view json, simdjson::dom::element* root,
                               std::string* scratch) {
  const simdjson::error_code err = parser->parse(json.data(), json.size()).get(*root);
  if (err != simdjson::NUMBER_ERROR) return err;  // (simdjson 3.0 says so of a large integer)
  // Integers outside 64 bits, and numbers outside a double's range, outside strings, read as
  // strings of their digits: an id keeps its name (as a double, two ids rounded to one), metadata
  // its value, and dedup copies the line as it is.
  scratch->clear();
  bool changed = false, in_string = false;
  for (size_t i = 0; i < json.size();) {
    const char c = json[i];
    if (in_string) {
      scratch->push_back(c);
      if (c == '\\' && i + 1 < json.size()) scratch->push_back(json[++i]);
      else if (c == '"') in_string = false;
      ++i;
      continue;
    }
    if (c == '"') in_string = true;
    if (c != '-' && (c < '0' || c > '9')) {
      scratch->push_back(c);
      ++i;
      continue;
    }
    const size_t start = i;
    if (json[i] == '-') ++i;
    while (i < json.size() && ((json[i] >= '0' && json[i] <= '9') || json[i] == '.' || json[i] == 'e' || json[i] == 'E' ||
                               json[i] == '+' || json[i] == '-')) {
      ++i;
    }
    const std::string_view number = json.substr(start, i - start);
    bool big = false;
    if (number.find_first_of(".eE") == std::string_view::npos && number.size() > 1) {
      int64_t s = 0;
      uint64_t u = 0;
      big = std::from_chars(number.data(), number.data() + number.size(), s).ec != std::errc() &&
            std::from_chars(number.data(), number.data() + number.size(), u).ec != std::errc();
    } else if (number.size() > 1) {
      // A number past a double's range (1e400), read as its digits too; one under it (1e-400)
      // is 0 or a denormal, as the parser reads it.
      const std::string copy(number);
      char* end = nullptr;
      errno = 0;
      const double d = std::strtod(copy.c_str(), &end);
      big = errno == ERANGE && std::isinf(d) && end == copy.c_str() + copy.size();
    }
    if (big) scratch->push_back('"');
    scratch->append(number);
    if (big) scratch->push_back('"');
    changed |= big;
  }
  if (!changed) return err;
  return parser->parse(scratch->data(), scratch->size()).get(*root);
}

Status ParseJsonLineDocument(std::string_view line, const ReaderOptions& o, std::string origin,
                             simdjson::dom::parser* parser, Document* doc,
                             std::string_view priority_field, double* priority) {
  *doc = Document();
  doc->origin = std::move(origin);  // named by errors too
  simdjson::dom::element root;
  thread_local std::string scratch, mended;
  if (o.lossy_utf8 && !ValidateUtf8(line).ok()) {
    // In a JSON line each such byte is read as the Latin-1 character it would be (written as
    // its \u00XX escape): ids that differ by one stay two names, as '?' would not keep them.
    std::string marked(line);
    ReplaceInvalidUtf8(&marked, '\x01');  // (a control byte: never raw in a valid JSON line)
    mended.clear();
    for (size_t i = 0; i < marked.size(); ++i) {
      if (marked[i] != '\x01' || line[i] == '\x01') {
        mended.push_back(marked[i]);
        continue;
      }
      // (After an escaping backslash it is no character of the string: the line stays refused.)
      size_t slashes = 0;
      while (slashes < mended.size() && mended[mended.size() - 1 - slashes] == '\\') ++slashes;
      if (slashes % 2 == 1) {
        mended.push_back('?');
        continue;
      }
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u00%02x", static_cast<unsigned char>(line[i]));
      mended += escape;
    }
    line = mended;
  }
  auto err = ParseJson(parser, line, &root, &scratch);
  if (err == simdjson::UTF8_ERROR) {
    const Status bad = ValidateUtf8(line);  // names the byte offset
    return Status::InvalidArgument("malformed JSON line: " + (bad.ok() ? std::string("invalid UTF-8") : bad.message()));
  }
  if (err) return Status::InvalidArgument("malformed JSON (" + DescribeJsonError(line, simdjson::error_message(err)) + ")");
  simdjson::dom::object obj;
  if (root.get_object().get(obj)) return Status::InvalidArgument("line is not a JSON object");
  bool have_text = false, have_id = false, have_language = false, have_kind = false, have_path = false;
  bool said_text = false;  // "kind": "text"
  const Language* by_path = nullptr;  // the language the path field's extension names
  std::string meta;
  for (auto field : obj) {
    const std::string_view key = field.key;
    if (!o.path_field.empty() && key == o.path_field && key != o.text_field) {
      // As a lang: given twice, or not a string, is refused (null: no path).
      if (have_path) return Status::InvalidArgument("field \"" + std::string(key) + "\" is given twice");
      have_path = true;
      std::string_view path;
      if (!field.value.get_string().get(path)) {
        by_path = LanguageForPath(path);
      } else if (!field.value.is_null()) {
        return Status::InvalidArgument("path field \"" + std::string(key) + "\" is not a string");
      }
    }
    // The text, id, language or kind given twice: which one counts is anyone's guess.
    const bool language = key == "lang" || key == "language";
    if ((key == o.text_field && have_text) || (key == o.id_field && have_id) || (language && have_language) ||
        (key == "kind" && have_kind)) {
      return Status::InvalidArgument("field \"" + std::string(key) + "\" is given twice" +
                                     (language ? " (\"lang\" and \"language\" are one field)" : ""));
    }
    have_language |= language;
    have_kind |= key == "kind";
    if (key == o.text_field) {
      std::string_view text;
      if (!field.value.get_string().get(text)) {
        DOPPEL_RETURN_IF_ERROR(RefuseNul(text).WithContext("field \"" + o.text_field + "\""));
        doc->text.assign(text);
      } else if (field.value.is_object() || field.value.is_array()) {
        // A structured answer (a message with its tool calls) given as JSON: its JSON text,
        // minified, is the text.
        doc->text = simdjson::minify(field.value);
        DOPPEL_RETURN_IF_ERROR(RefuseNul(doc->text).WithContext("field \"" + o.text_field + "\""));
      } else {
        return Status::InvalidArgument("field \"" + o.text_field + "\" is not a string, an object or an array");
      }
      have_text = true;
    } else if (key == o.id_field) {
      have_id = true;
      std::string_view id;
      if (!field.value.get_string().get(id)) {
        // (A name with a NUL in it could not be named again on a command line: `remove`.)
        DOPPEL_RETURN_IF_ERROR(RefuseNul(id).WithContext("field \"" + o.id_field + "\""));
        doc->name.assign(id);
      } else if (field.value.is_number()) {
        doc->name = simdjson::minify(field.value);
      } else if (!field.value.is_null()) {  // null: no id, named by its place as without one
        return Status::InvalidArgument("field \"" + o.id_field + "\" is not a string, number or null");
      }
    } else {
      if (priority != nullptr && !priority_field.empty() && key == priority_field) {
        double v = 0;
        int64_t i = 0;
        std::string_view digits;
        if (!field.value.get_double().get(v)) {
          *priority = v;
        } else if (!field.value.get_int64().get(i)) {
          *priority = static_cast<double>(i);
        } else if (!field.value.get_string().get(digits) && digits.size() > 18 && IsJsonInteger(digits) &&
                   std::from_chars(digits.data(), digits.data() + digits.size(), v).ec == std::errc()) {
          *priority = v;  // (an integer past 64 bits, which ParseJson reads as its digits)
        } else if (!field.value.is_null()) {  // null: no priority, as a line without the field
          return Status::InvalidArgument("priority field \"" + std::string(priority_field) + "\" is not a number");
        }
      }
      // A language or kind of another type (a number, a list) is refused rather than ignored,
      // which would read the document as prose; null stands for none.
      if (key == "lang" || key == "language") {
        std::string_view lang;
        if (!field.value.get_string().get(lang)) {
          doc->language.assign(lang);
        } else if (!field.value.is_null()) {
          return Status::InvalidArgument("field \"" + std::string(key) + "\" is not a string");
        }
      } else if (key == "kind") {
        std::string_view kind;
        if (!field.value.get_string().get(kind)) {
          if (kind == "code") doc->kind = Kind::kCode;
          else if (kind == "text") said_text = true;
          else return Status::InvalidArgument("field \"kind\" must be \"text\" or \"code\"");
        } else if (!field.value.is_null()) {
          return Status::InvalidArgument("field \"kind\" must be \"text\" or \"code\"");
        }
      }
      meta += meta.empty() ? "{" : ",";
      AppendJsonString(&meta, key);
      meta += ":";
      meta += simdjson::minify(field.value);
    }
  }
  if (!have_text) return Status::InvalidArgument("text field \"" + o.text_field + "\" missing");
  if (!meta.empty()) meta += "}";
  doc->metadata = std::move(meta);
  if (doc->name.empty()) doc->name = doc->origin;
  // A known programming language makes the document code ("lang": "en" stays prose), read by
  // its grammar or, for one without a grammar here ("kotlin", "sql"), by the generic code lexer,
  // as a check reads an answer in that language; so does "kind": "code" with any language. A
  // name of two letters is a human language's code ("pl", "sv", "el" are tags of Perl, Verilog
  // and Emacs Lisp too), and "kind": "text" keeps a document prose. Without a language, the
  // path field's extension names it (--path-field path: "path": "src/util.py").
  if (doc->language.empty() && !said_text && by_path != nullptr) doc->language = by_path->name;
  if (const Language* l = LookupLanguage(doc->language)) {
    doc->kind = Kind::kCode;
    doc->language = l->name;
  } else if (!said_text && doc->language.size() > 2 && IsGenericCodeLanguage(doc->language)) {
    doc->kind = Kind::kCode;
  }
  return Status::OK();
}

}  // namespace doppel
