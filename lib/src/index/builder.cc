#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_pipeline.h>

#include <xxhash.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <unordered_map>

#include "doppel/index_writer.h"

namespace doppel {
namespace {

struct Chunk {
  std::vector<Document> docs;
  std::vector<Status> doc_errors;   // reader errors, in order (reported by the writer stage)
  std::vector<SketchedDocument> sketched;
  std::vector<Status> sketch_status;
  uint64_t input_consumed = 0;
};

}  // namespace

Status BuildIndex(Index* index, DocumentReader* reader, const BuildOptions& options,
                  BuildSummary* summary) {
  const auto t0 = std::chrono::steady_clock::now();
  DocumentSketcher sketcher(index->params());
  std::optional<tbb::global_control> limit;
  if (options.threads > 0) {
    limit.emplace(tbb::global_control::max_allowed_parallelism,
                  static_cast<size_t>(options.threads));
  }
  const size_t live = static_cast<size_t>(
      std::max(2, 2 * static_cast<int>(tbb::global_control::active_value(
                          tbb::global_control::max_allowed_parallelism))));

  // The names this run has written, by hash, with their content hashes. Two documents under one
  // name (ids numbered per shard, say) would replace each other silently: the second is an
  // error. (64-bit name hashes: a false alarm needs a collision, ~1e-7 for a million names.)
  std::unordered_map<uint64_t, uint64_t> written_names;
  Status first_error;
  std::atomic<bool> stop{false};
  bool reader_done = false;

  auto fail = [&](const Status& s) {
    if (first_error.ok()) first_error = s;
    stop = true;
  };

  tbb::parallel_pipeline(
      live,
      tbb::make_filter<void, Chunk*>(
          tbb::filter_mode::serial_in_order,
          [&](tbb::flow_control& fc) -> Chunk* {
            if (stop || reader_done) {
              fc.stop();
              return nullptr;
            }
            auto chunk = std::make_unique<Chunk>();
            uint64_t bytes = 0;
            while (bytes < options.batch_bytes) {
              Document d;
              auto r = reader->Next(&d);
              if (!r.ok()) {
                // Keep the error in order with the documents around it.
                chunk->docs.emplace_back();
                chunk->doc_errors.resize(chunk->docs.size());
                chunk->doc_errors.back() = r.status();
                if (!options.skip_errors) break;
                continue;
              }
              if (!r.value()) {
                reader_done = true;
                break;
              }
              // An empty document (a JSON line's "text": "" or only blanks) is refused as an
              // empty file is: it would silently replace the document of its name with nothing.
              if (d.text.find_first_not_of(" \t\r\n\f\v") == std::string::npos) {
                chunk->docs.emplace_back();
                chunk->doc_errors.resize(chunk->docs.size());
                chunk->doc_errors.back() = Status::InvalidArgument(
                    d.origin + ": the document \"" + d.name + "\" has no text (doppel-index remove removes a document)");
                if (!options.skip_errors) break;
                continue;
              }
              bytes += d.text.size();
              chunk->docs.push_back(std::move(d));
            }
            chunk->doc_errors.resize(chunk->docs.size());
            chunk->input_consumed = reader->bytes_consumed();
            if (chunk->docs.empty()) {
              fc.stop();
              return nullptr;
            }
            return chunk.release();
          }) &
          tbb::make_filter<Chunk*, Chunk*>(
              tbb::filter_mode::parallel,
              [&](Chunk* chunk) -> Chunk* {
                const size_t n = chunk->docs.size();
                chunk->sketched.resize(n);
                chunk->sketch_status.resize(n);
                tbb::parallel_for(size_t{0}, n, [&](size_t i) {
                  if (!chunk->doc_errors[i].ok()) return;
                  const std::string origin = chunk->docs[i].origin;
                  Status s = sketcher.Sketch(std::move(chunk->docs[i]), &chunk->sketched[i]);
                  if (!s.ok()) chunk->sketch_status[i] = s.WithContext(origin);
                });
                return chunk;
              }) &
          tbb::make_filter<Chunk*, void>(
              tbb::filter_mode::serial_in_order, [&](Chunk* raw) {
                std::unique_ptr<Chunk> chunk(raw);
                if (!first_error.ok()) return;
                std::vector<SketchedDocument> good;
                good.reserve(chunk->sketched.size());
                for (size_t i = 0; i < chunk->sketched.size(); ++i) {
                  Status e = !chunk->doc_errors[i].ok() ? chunk->doc_errors[i] : chunk->sketch_status[i];
                  if (e.ok()) {
                    const SketchedDocument& d = chunk->sketched[i];
                    const auto [at, fresh] =
                        written_names.emplace(XXH3_64bits(d.doc.name.data(), d.doc.name.size()), d.content_hash);
                    if (!fresh && at->second == d.content_hash) {
                      ++summary->repeated;  // the same document read twice
                      continue;
                    }
                    if (!fresh) {
                      e = Status::InvalidArgument(d.doc.origin + ": the name \"" + d.doc.name +
                                                  "\" was given to another document earlier in this run "
                                                  "(names must be unique: use --id-field, or ids unique across shards)");
                    }
                  }
                  if (!e.ok()) {
                    ++summary->errors;
                    if (options.on_error) options.on_error(e);
                    if (!options.skip_errors) {
                      // Documents before the bad one are still written.
                      fail(e);
                      break;
                    }
                    continue;
                  }
                  summary->bytes += chunk->sketched[i].doc.text.size();
                  ++summary->documents;
                  good.push_back(std::move(chunk->sketched[i]));
                }
                Status s = index->Write(&good, &summary->written);
                if (!s.ok()) {
                  fail(s);
                  return;
                }
                if (options.on_progress) {
                  BuildProgress p;
                  p.documents = summary->documents;
                  p.bytes = summary->bytes;
                  p.input_consumed = chunk->input_consumed;
                  p.input_total = reader->total_bytes();
                  p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                  options.on_progress(p);
                }
              }));
  summary->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return first_error;
}

}  // namespace doppel
