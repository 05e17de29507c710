// Scan: checks every document of a corpus or codebase against an index and writes a report
// people can read: results.jsonl (one line per flagged document, spans as `check` prints them),
// summary.json (documents, bytes and lines covered, top sources, per language and kind) and
// report.html (one self-contained page: an overview sortable by overlap, and for each match the
// scanned lines beside the source lines, matched regions highlighted, renamed identifiers
// marked).
//
// A document is flagged when its verdict is redact or block (after the filter's policy).
// Documents are read with the DocumentReader (directories: code by extension, prose otherwise;
// JSON Lines with "lang"), checked in parallel, and reported in input order.
// Thread-safety: Scan runs its own threads over a Filter that may be shared.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "doppel/filter.h"
#include "doppel/reader.h"
#include "doppel/status.h"

namespace doppel {

struct ScanOptions {
  ReaderOptions reader;
  int threads = 0;  // 0: all cores
  // Unreadable documents (invalid UTF-8, binary files named explicitly, malformed JSON lines)
  // are reported through on_error and counted; with fail_on_error the scan stops at the first.
  bool fail_on_error = false;
  // The HTML report shows at most this many flagged documents (the worst first); results.jsonl
  // and summary.json always hold all of them.
  size_t report_documents = 500;
  // Code files are first read by the first-pass lexer (NewCodeLexer) instead of parsed, and
  // parsed and checked again only when that check redacts or blocks, so a flagged file's spans
  // are the parse's (CheckRequest::lexer_first). The default: in about half the time of parsing
  // every file, and over the code quality suite's 3,850 answers and the scan benchmark's 4,409
  // files it flagged what parsing every file flags (bench/README.md); a file whose lexed tokens
  // fall short of a flag the parse would give is missed.
  bool lexer_first = true;
  // Tasks (doppel/executor.h runs them): a kCheck task (rank, world) checks the documents whose
  // position in input order is rank modulo world (reading past the others) and leaves
  // REPORT/.tasks/check-<rank>.part; the kReport task merges every part into the three files,
  // checking again only the flagged documents the page shows. Any split writes the same files
  // as one run, but for summary.json's "seconds" (the slowest task's). A check task whose part
  // exists for the same inputs, split, settings and index (directory and IndexStats::state) is
  // not redone. Every task removes an earlier run's report files first.
  enum class Stage : uint8_t { kAll, kCheck, kReport } stage = Stage::kAll;
  uint32_t rank = 0, world = 1;
  // A whole run holds its report directory alone (REPORT/.lock, held exclusively while it runs),
  // and the tasks of a split run share it; one command's tasks run one after another in this
  // process (the local executor) each hold it alone, as a whole run does.
  bool one_command = false;
  std::function<void(const Status&)> on_error;
  std::function<void(uint64_t documents, uint64_t bytes, uint64_t flagged)> on_progress;
};

struct ScanSummary {
  uint64_t documents = 0, flagged = 0, errors = 0;
  uint64_t bytes = 0, lines = 0;                  // of the documents scanned
  uint64_t bytes_covered = 0, lines_covered = 0;  // inside reported spans of flagged documents
  // Files in the inputs' directories not scanned: binary, empty, or reached again (an input
  // named twice, a directory and a file in it).
  uint64_t skipped_binary = 0, skipped_empty = 0, skipped_repeated = 0;
  uint64_t skipped_special = 0;  // pipes, sockets and devices met in a directory
  uint64_t skipped_folders = 0;  // directories holding an earlier scan's report or an index
  double seconds = 0;
  bool resumed = false;  // a check task found its part done before with the same inputs and index
};

// The index options a scan opens its index with (read-only is implied by Filter::Open): the
// table files mapped; kept out of the block cache, text posting blocks (read about once), code
// posting blocks (the posting cache holds the decoded lists) and the blocks of stored tokens and
// contents (the filter's token cache holds them decoded). The caller adds
// IndexOptions::common_code when a common-code index is read beside.
IndexOptions ScanIndexOptions();

// The filter options a scan checks with: `options` with a token cache of 2M tokens (about
// 80 MB) instead of the 4M a service keeps. On the code scan of bench/README.md it lowers peak
// RSS from 510-520 MB to 410-425 MB at the same warm time, and right after another process
// freed its memory (fresh pages cost most) takes 3.36-3.44 s instead of 3.39-3.59 s. Its
// candidates are decoded whole and cached however large (code_window_tokens 0): a scan aligns
// the same protected files against many inputs.
FilterOptions ScanFilterOptions(FilterOptions options);

// For a scan that stops before it starts (its index or policy refused): removes an earlier
// scan's report from `report_dir`, so it is not read as this run's, when the directory holds
// nothing but a report's files (a directory holding others is left as it is).
void RemoveEarlierReport(const std::string& report_dir);

// Scans `inputs` and writes the report files into `report_dir` (created if missing).
Status Scan(const Filter& filter, const std::vector<std::string>& inputs, const std::string& report_dir,
            const ScanOptions& options, ScanSummary* summary);

}  // namespace doppel
