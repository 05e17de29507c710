// Long code read in windows against one parse of it whole: for each file of the code corpus past
// the tokenizer's window threshold, the tokens that differ between NewCodeTokenizer's reading and
// the same reading with the file parsed whole (code_detail::NewWholeParseTokenizer), and the time
// of each (the corpus's files are real code, which one parse reads without crashing).
//   window_probe [CORPUS_DIR=/tmp/doppel-code-corpus] [MB_PER_LANGUAGE]
// CORPUS_DIR/<language>/ and CORPUS_DIR/other/<language>/ hold the files (bench/code_corpus.sh).
// A token differs when the other reading has none at its offsets, line, hash and name. With
// MB_PER_LANGUAGE, the time of both readings over each language's first files (by name, in
// CORPUS_DIR/<language>/, long or not) up to that many MB, read in turn over four rounds, one
// core: what the windows cost a corpus as code_bench samples it.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "code/code_tokens.h"
#include "doppel/code_tokenizer.h"
#include "doppel/language.h"

using namespace doppel;
namespace fs = std::filesystem;

namespace {

using Key = std::tuple<uint32_t, uint32_t, uint64_t, uint64_t, uint32_t>;
std::set<Key> Keys(const Tokens& tokens) {
  std::set<Key> keys;
  for (const Token& t : tokens) keys.emplace(t.begin, t.end, t.hash, t.name, t.line);
  return keys;
}

}  // namespace

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Both readings' time over each language's sample (MB_PER_LANGUAGE).
int Sample(const std::string& dir, const std::vector<Language>& langs, double mb) {
  for (const Language& lang : langs) {
    if (lang.grammar == nullptr) continue;
    std::error_code ec;
    std::vector<fs::path> paths;
    for (const auto& e : fs::directory_iterator(fs::path(dir) / lang.name, ec)) paths.push_back(e.path());
    std::sort(paths.begin(), paths.end());
    std::vector<std::string> texts;
    size_t bytes = 0;
    for (const fs::path& p : paths) {
      if (bytes >= mb * 1e6) break;
      texts.push_back(Slurp(p));
      bytes += texts.back().size();
    }
    const auto windowed = NewCodeTokenizer(&lang);
    const auto whole = code_detail::NewWholeParseTokenizer(&lang);
    double seconds[2] = {0, 0};
    for (int round = 0; round < 4; ++round) {
      for (int k = 0; k < 2; ++k) {
        const int which = (k + round) % 2;  // each first in every other round
        const Tokenizer& t = which == 0 ? *windowed : *whole;
        Tokens tokens;
        const auto t0 = std::chrono::steady_clock::now();
        for (const std::string& text : texts) (void)t.Tokenize(text, &tokens);
        seconds[which] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      }
    }
    std::printf("%s: %zu files, %.1f MB: windowed %.2f s, whole %.2f s (%.1f%%)\n", lang.name.c_str(), texts.size(),
                bytes / 1e6, seconds[0], seconds[1], 100.0 * seconds[0] / seconds[1]);
  }
  return 0;
}

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/tmp/doppel-code-corpus";
  auto langs = Languages();
  if (!langs.ok()) {
    std::fprintf(stderr, "%s\n", langs.status().ToString().c_str());
    return 1;
  }
  if (argc > 2) return Sample(dir, **langs, std::atof(argv[2]));
  size_t files = 0, long_files = 0, changed_files = 0, tokens = 0, differ = 0;
  double windowed_s = 0, whole_s = 0;
  std::vector<std::tuple<size_t, size_t, std::string>> worst;
  for (const Language& lang : **langs) {
    if (lang.grammar == nullptr) continue;
    const auto windowed = NewCodeTokenizer(&lang);
    const auto whole = code_detail::NewWholeParseTokenizer(&lang);
    for (const fs::path& sub : {fs::path(dir) / lang.name, fs::path(dir) / "other" / lang.name}) {
      std::error_code ec;
      std::vector<fs::path> paths;
      for (const auto& e : fs::directory_iterator(sub, ec)) paths.push_back(e.path());
      std::sort(paths.begin(), paths.end());
      for (const fs::path& p : paths) {
        const std::string text = Slurp(p);
        ++files;
        // Past the tokenizer's threshold, as its Parse decides (for the whole file: table runs
        // cut some into pieces that are parsed each alone).
        if (code_detail::WindowEnd(text, 0, code_detail::kWindowUnits) == text.size()) continue;
        ++long_files;
        Tokens a, b;
        const auto t0 = std::chrono::steady_clock::now();
        const Status sa = windowed->Tokenize(text, &a);
        const auto t1 = std::chrono::steady_clock::now();
        const Status sb = whole->Tokenize(text, &b);
        const auto t2 = std::chrono::steady_clock::now();
        if (!sa.ok() || !sb.ok()) {
          std::fprintf(stderr, "%s: %s %s\n", p.c_str(), sa.ToString().c_str(), sb.ToString().c_str());
          continue;
        }
        windowed_s += std::chrono::duration<double>(t1 - t0).count();
        whole_s += std::chrono::duration<double>(t2 - t1).count();
        const std::set<Key> ka = Keys(a), kb = Keys(b);
        size_t d = 0;
        for (const Key& k : ka) d += kb.count(k) == 0;
        for (const Key& k : kb) d += ka.count(k) == 0;
        tokens += b.size();
        differ += d;
        changed_files += d > 0;
        if (d > 0) worst.emplace_back(d, b.size(), lang.name + " " + p.filename().string());
      }
    }
  }
  std::sort(worst.rbegin(), worst.rend());
  std::printf("files %zu, past kWindowUnits %zu; tokens (one parse) %zu, differing %zu (%.4f%%) in %zu files\n", files,
              long_files, tokens, differ, tokens ? 100.0 * differ / tokens : 0.0, changed_files);
  std::printf("windowed %.2f s, whole %.2f s (%.1f%%)\n", windowed_s, whole_s, whole_s > 0 ? 100.0 * windowed_s / whole_s : 0.0);
  for (size_t i = 0; i < worst.size() && i < 10; ++i) {
    std::printf("  %zu of %zu  %s\n", std::get<0>(worst[i]), std::get<1>(worst[i]), std::get<2>(worst[i]).c_str());
  }
  return 0;
}
