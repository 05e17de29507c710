// Byte streams of the command-line inputs and outputs (plain, gzip, zstd, chosen by the file
// name's extension), a line splitter with a length limit, and the parsing of one JSON line into
// a Document. Shared by the DocumentReader, the deduplicator (which reads shards twice: to
// decide, then to copy the kept lines byte for byte), the scanner and `doppel-filter check`.
// Thread-safety: one thread per object.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "doppel/document.h"
#include "doppel/reader.h"
#include "doppel/status.h"

namespace doppel {

// A stream of decompressed bytes.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to n bytes; 0 at end. Errors name the file.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
  // Stored (compressed) bytes consumed so far.
  virtual uint64_t consumed() const = 0;
};

// Opens `path` for reading, decompressing .gz and .zst; "-" is standard input. NotFound names
// the path.
Result<std::unique_ptr<ByteSource>> OpenSource(const std::string& path);

// A lock on a file (flock, the file created if missing), taken without waiting and held while
// this lives: exclusive, or shared with other shared holders. busy() when another holds it so.
// A file system without such locks (ENOSYS, ENOLCK, EOPNOTSUPP: some NFS and Lustre mounts)
// gives none, and the work goes on unlocked.
class FileLock {
 public:
  FileLock() = default;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();
  Status Take(const std::string& path, bool exclusive);  // OK (held, busy or unlockable), or IOError
  bool busy() const { return busy_; }

 private:
  int fd_ = -1;
  bool busy_ = false;
};

// The error of a file that would not open, from its errno: NotFound when it is not there,
// else IOError; the message is "PATH: the system's reason" (Permission denied, ...).
Status CannotOpen(const std::string& path, int err);

// Whether a file's text is passed over where a directory's walk meets it (refused when the file
// is named), and why: kBinary, "binary file (NUL byte at offset N)", for a NUL byte in its first
// 8,000 bytes; kEmpty, "empty file (only blanks)"; kNone for text to read. `text` is the whole
// file (`whole`) or at least its first 8,000 bytes; only a whole file is judged blank.
enum class FileSkip { kNone, kEmpty, kBinary };
struct SkippedFile {
  FileSkip kind = FileSkip::kNone;
  std::string reason;
};
SkippedFile SkippedFileReason(std::string_view text, bool whole);
// How much of a file's text SkippedFileReason looks at for a NUL byte.
inline constexpr size_t kBinaryProbeBytes = 8000;
// Whether a path names a compressed file (.gz, .zst), which OpenSource decompresses.
bool IsCompressedPath(std::string_view path);

// InvalidArgument when the first line of an input read as plain JSON Lines starts as gzip or
// zstd data does (standard input, or a file not named .gz or .zst): one clear error instead of
// one "invalid UTF-8" per line. `where` names the input.
Status RefuseCompressedStart(std::string_view first_line, const std::string& where);

// Splits a byte stream into lines, refusing lines over a limit without buffering them. A UTF-8
// byte order mark that begins the stream (as some editors and exports write one) is not part
// of its first line.
// `limit_name` (a flag, "--max-document-bytes") is named in the error, so the user knows what
// to raise.
class LineReader {
 public:
  LineReader(std::unique_ptr<ByteSource> src, uint64_t max_line, std::string limit_name)
      : src_(std::move(src)), max_line_(max_line), limit_name_(std::move(limit_name)) {}
  // Returns false at the end. An over-long line is an error and is skipped.
  Result<bool> Next(std::string* line) {
    line->clear();
    bool too_long = false;
    for (;;) {
      if (pos_ == len_) {
        DOPPEL_ASSIGN_OR_RETURN(len_, src_->Read(buf_.data(), buf_.size()));
        pos_ = 0;
        if (len_ == 0) {
          if (too_long) return TooLong();
          const bool had_bytes = pending_;
          pending_ = false;
          if (had_bytes) DropByteOrderMark(line);
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
        if (too_long) return TooLong();
        DropByteOrderMark(line);
        return true;
      }
    }
  }
  uint64_t consumed() const { return src_->consumed(); }

 private:
  void DropByteOrderMark(std::string* line) {
    if (first_line_ && line->rfind("\xEF\xBB\xBF", 0) == 0) line->erase(0, 3);
    first_line_ = false;
  }
  Status TooLong() {
    first_line_ = false;
    return Status::ResourceExhausted("line exceeds the limit of " + std::to_string(max_line_) + " bytes (" +
                                     limit_name_ + ")");
  }
  std::unique_ptr<ByteSource> src_;
  uint64_t max_line_;
  std::string limit_name_;
  std::vector<char> buf_ = std::vector<char>(1 << 18);
  size_t pos_ = 0, len_ = 0;
  bool pending_ = false;  // bytes seen since the last newline
  bool first_line_ = true;
};

// A stream of bytes to a file, compressed by the name's extension (.gz: gzip level 6; .zst:
// zstd level 3). Close must be called and its status checked: compressed formats finish their
// frames there.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual Status Write(std::string_view bytes) = 0;
  virtual Status Close() = 0;
};
Result<std::unique_ptr<ByteSink>> OpenSink(const std::string& path);

// Writes a file through a temporary file beside it (or in `temp_dir`, on the same filesystem),
// renamed over `path` by Commit (after an fsync), so a reader (or a rerun after a kill) sees the
// old file or the whole new one. Not committed, or after a failed Append, the temporary file is
// removed (a killed process leaves it). Opened once. IOError names the path.
class AtomicFileWriter {
 public:
  AtomicFileWriter() = default;
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  ~AtomicFileWriter();
  Status Open(const std::string& path, const std::string& temp_dir = "");
  Status Append(std::string_view data);
  Status Commit();

 private:
  std::string path_, tmp_;
  int fd_ = -1;
};

// Writes `data` to `path` through a temporary file (beside it, or in `temp_dir`) and a rename, so
// a reader (or a rerun after a kill) sees the old file or the whole new one. IOError names the path.
Status WriteFileAtomically(const std::string& path, std::string_view data, const std::string& temp_dir = "");
// The same for data in parts, written in order.
Status WriteFileAtomically(const std::string& path, const std::vector<std::string_view>& parts,
                           const std::string& temp_dir = "");

// Reads a plain file as one document, as the DocumentReader does: named by its path, code when
// its name or extension belongs to a language, the options' file metadata. A file over
// max_document_bytes is ResourceExhausted. An empty file (or one of only blanks), or a binary one
// (a NUL byte in its first 8000 bytes, as git decides), is InvalidArgument with `*skipped` saying
// which: directories skip such files, an input named explicitly is an error. `*skipped` is
// kNone for every other result.
Status ReadFileDocument(const std::string& path, const ReaderOptions& o, Document* doc, FileSkip* skipped);
// Whether a file begins with gzip's or zstd's magic number, either: one named .gz or .zst that
// does not decompress is then damaged (a .gz holding zstd too), not a file of another format.
bool HasCompressionMagic(const std::string& path);

// Parses JSON text as `parser` does, and also JSON whose integers are too large for 64 bits
// (valid JSON, which simdjson refuses): such a document is parsed again with each of them read
// as a string of its digits, from a copy kept in `*scratch`. `*root` lives as long as the
// parser's next parse.
simdjson::error_code ParseJson(simdjson::dom::parser* parser, std::string_view json, simdjson::dom::element* root,
                               std::string* scratch);

// Parses one JSON line into `*doc` as the DocumentReader does (text and id fields, language,
// kind, the other fields as metadata). With a priority field, its numeric value is stored in
// `*priority` when present. Errors do not name the origin (the caller adds it).
Status ParseJsonLineDocument(std::string_view line, const ReaderOptions& o, std::string origin,
                             simdjson::dom::parser* parser, Document* doc,
                             std::string_view priority_field = "", double* priority = nullptr);

}  // namespace doppel
