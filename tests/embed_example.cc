// Embedding the filter in a process (the README's example, kept compiling and tested here):
// open an index once, check answers from several threads, and check an answer while it streams.
//   doppel_embed_example INDEX_DIR < answer.txt
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "doppel/filter.h"
#include "doppel/session.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s INDEX_DIR < answer.txt\n", argv[0]);
    return 2;
  }
  const std::string answer{std::istreambuf_iterator<char>(std::cin), {}};

  // Open once: read-only, so several processes may share the index with one writer.
  doppel::FilterOptions options;  // the documented defaults, or doppel::LoadPolicyFile(...)
  options.actions[static_cast<size_t>(doppel::Action::kRedact)] = doppel::Action::kBlock;
  auto filter = doppel::Filter::Open(argv[1], options);
  if (!filter.ok()) {
    std::fprintf(stderr, "%s\n", filter.status().ToString().c_str());
    return 2;
  }
  const doppel::Filter& f = **filter;

  // Check from many threads at once (a Filter is thread-safe).
  std::vector<doppel::Result<doppel::Verdict>> verdicts(4, doppel::Status::Internal("not run"));
  std::vector<std::thread> threads;
  for (size_t t = 0; t < verdicts.size(); ++t) {
    threads.emplace_back([&, t] { verdicts[t] = f.Check(answer); });
  }
  for (auto& t : threads) t.join();
  for (const auto& v : verdicts) {
    if (!v.ok()) {
      std::fprintf(stderr, "%s\n", v.status().ToString().c_str());  // names the problem
      return 2;
    }
  }
  const doppel::Verdict& v = *verdicts[0];
  std::printf("action %s (severity %s): %s\n", std::string(doppel::ActionName(v.action)).c_str(),
              std::string(doppel::ActionName(v.severity)).c_str(), v.reason.c_str());
  for (const doppel::Span& s : v.spans) {
    std::printf("  lines %u-%u resemble %s lines %u-%u %s\n", s.query.first_line, s.query.last_line,
                s.source_name.c_str(), s.source.first_line, s.source.last_line, s.source_metadata.c_str());
  }

  // Streaming: feed the answer as it is generated; stop as soon as it is flagged.
  doppel::Session session(f, doppel::SessionOptions{});
  for (size_t at = 0; at < answer.size(); at += 64) {
    auto update = session.Append(std::string_view(answer).substr(at, 64));
    if (!update.ok()) {
      std::fprintf(stderr, "%s\n", update.status().ToString().c_str());
      return 2;
    }
    if (update->flagged) {
      std::printf("streaming: flagged at byte %zu of %zu\n", update->flagged_at, answer.size());
      break;
    }
  }
  return v.action == doppel::Action::kBlock || v.action == doppel::Action::kRedact ? 1 : 0;
}
