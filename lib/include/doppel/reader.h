// DocumentReader: the inputs of the command-line tools as a stream of Documents.
//
// An input is a file (one document, named by its path), a directory (every regular file below
// it, in sorted order; binary and empty files are skipped and counted), or JSON Lines:
// *.jsonl / *.ndjson, optionally compressed as *.gz or *.zst, one document per line. A JSON line
// is an object with a string text field (default "text"), an optional id field (default "id";
// string or number; absent → "<path>:<line>"), an optional "lang"/"language" field, and any
// other fields, kept verbatim as the document's metadata. Files whose extension or name belongs
// to a known programming language, and JSON lines whose "lang" names one, are code documents;
// a JSON line may also say "kind": "code" (unknown languages then use the generic code lexer).
//
// Errors name the input and the position ("shard.jsonl.gz:17: text field missing"). After an
// error, Next continues with the next line or file, so a caller may skip bad documents.
// Thread-safety: one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "doppel/document.h"
#include "doppel/status.h"

namespace doppel {

// The name a file read through `path` gets: the path as given, lexically normal ("./corpus/",
// "corpus//a", "corpus/a/../a" name what "corpus" and "corpus/a" do; an absolute path stays
// absolute). "-" stays.
std::string NormalPath(const std::string& path);

// The commands' --path-field (ReaderOptions::path_field): its help, and InvalidArgument when it
// names the text field.
inline constexpr const char* kPathFieldHelp =
    "JSONL field holding each line's file path (e.g. path): a line without a lang is code when a file of that name "
    "would be (a grammar's extension: .py, .rs ...)";
Status CheckPathField(const std::string& path_field, const std::string& text_field);

struct ReaderOptions {
  std::string text_field = "text";
  std::string id_field = "id";
  // A field holding each line's file path (--path-field; empty: none): a line without a
  // language whose path has a grammar's extension is code in that language. Never guessed
  // from a field's name: "name": "Node.js" or "video_path": "clips/1.ts" name no language of
  // their text.
  std::string path_field;
  // Larger documents or JSON lines are refused (ResourceExhausted) rather than read into memory.
  uint64_t max_document_bytes = uint64_t{64} << 20;
  // Metadata (a JSON object, e.g. {"repository": ..., "license": ...}) for documents read from
  // plain files, which have no fields of their own; JSON lines keep their own fields. Open
  // refuses a value that is not a JSON object.
  std::string file_metadata;
  // When set, only documents whose name it accepts are returned (a sharded build's task keeps
  // its own shard's); plain files are passed over unread, JSON lines after parsing.
  std::function<bool(std::string_view name)> accept_name;
  // Whether a JSON line that yields no document (malformed, over the size limit), and so no
  // name to assign, is an error of this reader; false passes over it (every task of a sharded
  // build reads it, and one of them reports it).
  bool report_unnamed_lines = true;
  // Directories passed over where a walk of an input directory meets them (a scan's own report
  // directory inside the tree it scans, an index inside the tree it is built from): named as any
  // path to them, compared as the same file; one that does not exist yet is looked for again
  // as directories are walked.
  std::vector<std::string> skip_dirs;
  // A directory a walk meets that this accepts is passed over too, and counted
  // (ReaderCounters::skipped_dirs): an earlier scan's report, written to another directory, whose
  // results quote what it found, or an index.
  std::function<bool(const std::string& dir)> skip_dir_if;
  // Bytes that are not UTF-8 (a Latin-1 file, a line with one stray byte) are read as '?', one
  // for one (ReplaceInvalidUtf8: offsets and lines stay the input's), instead of the document
  // being refused as invalid UTF-8.
  bool lossy_utf8 = false;
  // An input that is not there or cannot be looked at (a loop of links) is an error of the
  // reader's (Next returns it, naming the input) instead of Open refusing them all: a scan lists
  // it and reads the others.
  bool unreadable_inputs_read_past = false;
};

struct ReaderCounters {
  uint64_t documents = 0;       // documents returned
  uint64_t skipped_binary = 0;  // files in directories that hold NUL bytes
  uint64_t skipped_empty = 0;   // empty files in directories
  // Files read already (an input named twice, a directory and a file in it): read once, where
  // named when an input names it (whichever comes first).
  uint64_t skipped_repeated = 0;
  uint64_t skipped_dirs = 0;  // directories ReaderOptions::skip_dir_if passed over
  // Pipes, sockets and devices in directories (reading one could wait for ever).
  uint64_t skipped_special = 0;
};

class DocumentReader {
 public:
  virtual ~DocumentReader() = default;
  // Fails when an input does not exist (naming it). Directories are listed lazily.
  static Result<std::unique_ptr<DocumentReader>> Open(const std::vector<std::string>& inputs,
                                                      const ReaderOptions& options);
  // Fills `*doc` and returns true, returns false at the end, or an error for one document.
  virtual Result<bool> Next(Document* doc) = 0;
  // Bytes of all inputs as stored (compressed sizes for compressed files), when known up front.
  virtual uint64_t total_bytes() const = 0;
  // Stored bytes consumed so far (for progress and ETA).
  virtual uint64_t bytes_consumed() const = 0;
  virtual const ReaderCounters& counters() const = 0;
};

// The inputs as they stand: each input's name, then a "path size mtime" line for each file the
// reader would read from it (directories walked as it walks them, in name order), which a task
// that can be resumed records to tell a rerun on the same inputs from one on edited ones.
std::string InputsState(const std::vector<std::string>& inputs, const ReaderOptions& options);

// True when the name ends in .jsonl, .ndjson, optionally followed by .gz or .zst.
bool IsJsonLinesPath(std::string_view path);

}  // namespace doppel
