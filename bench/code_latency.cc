// Latency of Filter::Check for 100-line code answers against an existing code index:
//   code_latency INDEX_DIR NEW_CODE_DIR [QUERIES=1000] [POLICY_JSON]
// (POLICY_JSON: settings over the defaults, as `--policy` takes them, e.g. '{"code_rare_items": 0}'.)
// Half of the answers are 100 consecutive lines of a random indexed code document (its identifiers
// renamed in every other one), half are 100 lines of a file under NEW_CODE_DIR (code never indexed,
// e.g. bench/code_corpus.sh's other/ packages), each as a Markdown answer with the language's fence.
// Windows start at a line that begins with a code token and hold at least 300 code tokens
// (a window that starts inside a comment, or holds little code, is not a code answer).
// Before timing, at least 80% of the copies must be flagged (redact or block: a sanity check that
// the index answers); both that rate and the share of new answers flagged are printed (the code
// quality suite, bench/quality_code.cc, is where detection quality is measured), with a digest of
// every verdict (a change meant only to be faster must print the same one). Then every answer is
// checked again on one thread and timed, and its code block tokenized alone (the parse's share).
// DOPPEL_LEXED_ANSWERS=1 checks the answers on the first-pass lexer's tokens instead of the
// parse's (CheckRequest::lexed_code), to see what the parse costs a check.
// DOPPEL_DEBUG=1 also lists the 15 slowest checks (answer number, the best of three more runs,
// language, copy or new), prints the slowest answer, and lists the 15 slowest code blocks to
// tokenize alone (answer, language, bytes); DOPPEL_PROFILE_ONE=N then checks answer
// N alone 1,000 times and prints its mean time, for a profile or an A/B of one slow answer
// (with DOPPEL_DUMP_ONE=1 it prints answer N instead, for `doppel-filter check`), and the time
// its code block takes to tokenize alone. DOPPEL_TOKEN_CACHE=N sets the filter's token cache
// (FilterOptions::token_cache_tokens; 0 turns it off, so every candidate is read and decoded).
// DOPPEL_CODE_WINDOW=N sets FilterOptions::code_window_tokens (0: every candidate decoded whole).
// DOPPEL_JSON_ANSWERS=1 sends each answer as a tool call writing the code to a file of the
// language's extension instead ({"tool_calls": [{"function": {"name": "write_file", "arguments":
// "{\"path\": \"snippet.EXT\", \"content\": CODE}"}}]}, the code escaped twice), read in its
// strings (FilterOptions::json_strings).
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>
#include <unordered_map>

#include "doppel/allocator.h"
#include "doppel/code_tokenizer.h"
#include "doppel/filter.h"
#include "doppel/format.h"
#include "doppel/language.h"
#include "doppel/policy.h"
#include "doppel/reader.h"

using namespace doppel;
namespace fs = std::filesystem;

namespace {

// Lines [first, first + n) of `text`, or "" when it has fewer.
std::string Lines(const std::string& text, size_t first, size_t n) {
  size_t pos = 0;
  for (size_t i = 0; i < first && pos != std::string::npos; ++i) {
    pos = text.find('\n', pos);
    if (pos != std::string::npos) ++pos;
  }
  if (pos == std::string::npos) return "";
  size_t end = pos;
  for (size_t i = 0; i < n; ++i) {
    end = text.find('\n', end);
    if (end == std::string::npos) return "";
    ++end;
  }
  return text.substr(pos, end - pos);
}

// Identifier tokens of `file_tokens` inside [base, base + code.size()) renamed consistently
// to v0, v1, ... (the tokens come from the whole file, so comments stay comments).
std::string Rename(const std::string& code, const Tokens& file_tokens, size_t base) {
  std::unordered_map<std::string, std::string> names;
  std::string out;
  size_t at = 0;
  for (const auto& t : file_tokens) {
    if (t.hash != IdentifierTokenHash() || t.begin < base || t.end > base + code.size()) continue;
    const std::string name = code.substr(t.begin - base, t.end - t.begin);
    auto it = names.emplace(name, "v" + std::to_string(names.size())).first;
    out.append(code, at, t.begin - base - at);
    out += it->second;
    at = t.end - base;
  }
  out.append(code, at, std::string::npos);
  return out;
}

size_t CountLines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

// The check request of every answer: Markdown, its code blocks parsed or lexed.
CheckRequest Req() {
  static const bool lexed = std::getenv("DOPPEL_LEXED_ANSWERS") != nullptr;
  CheckRequest r;
  r.lexed_code = lexed;
  return r;
}

// Microseconds since `a`.
double MicrosSince(std::chrono::steady_clock::time_point a) {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - a).count();
}

// A Markdown answer holding `code` in the language's fence (DOPPEL_JSON_ANSWERS=1: a tool call).
std::string AnswerText(const Language* lang, const std::string& code) {
  static const bool json = std::getenv("DOPPEL_JSON_ANSWERS") != nullptr;
  if (json) {
    std::string args = "{\"path\": \"snippet" + (lang->extensions.empty() ? std::string() : lang->extensions[0]) +
                       "\", \"content\": ";
    AppendJsonString(&args, code);
    args += "}";
    std::string out = R"({"tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "write_file", "arguments": )";
    AppendJsonString(&out, args);
    return out + "}}]}";
  }
  const std::string fence = lang->fences.empty() ? lang->name : lang->fences[0];
  return "Here is the code:\n\n```" + fence + "\n" + code + "```\n";
}

// One code tokenizer per language, made once (as the filter holds them): making one builds its
// symbol tables, which is not part of a check.
const Tokenizer& TokenizerFor(const Language* lang) {
  static std::unordered_map<const Language*, std::unique_ptr<Tokenizer>> made;
  auto& t = made[lang];
  if (t == nullptr) t = NewCodeTokenizer(lang);
  return *t;
}

// The `n` largest of `us` as (time, index), largest first.
std::vector<std::pair<double, size_t>> Slowest(const std::vector<double>& us, size_t n) {
  std::vector<std::pair<double, size_t>> order;
  for (size_t i = 0; i < us.size(); ++i) order.emplace_back(us[i], i);
  std::sort(order.rbegin(), order.rend());
  order.resize(std::min(n, order.size()));
  return order;
}

// The number of tokens in environment variable `name`, when it is set (`out` left empty when
// not); false (with a message) when it is not a number up to `max`.
bool TokensFromEnv(const char* name, uint64_t max, std::optional<uint64_t>* out) {
  const char* t = std::getenv(name);
  if (t == nullptr) return true;
  char* end = nullptr;
  errno = 0;
  const unsigned long long n = std::strtoull(t, &end, 10);
  if (*t == '\0' || *end != '\0' || errno != 0 || n > max) {
    std::fprintf(stderr, "%s=%s: expected a number of tokens\n", name, t);
    return false;
  }
  *out = n;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  KeepCheckMemory();  // as doppel-filter does
  if (argc < 3) {
    std::fprintf(stderr, "usage: code_latency INDEX_DIR NEW_CODE_DIR [QUERIES] [POLICY_JSON]\n");
    return 2;
  }
  size_t queries = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1000;
  FilterOptions options;
  if (argc > 4) {
    const Status s = ApplyPolicyJson(argv[4], "POLICY_JSON", &options);
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 2;
    }
  }
  std::optional<uint64_t> cache, window;
  if (!TokensFromEnv("DOPPEL_TOKEN_CACHE", UINT64_MAX, &cache) || !TokensFromEnv("DOPPEL_CODE_WINDOW", UINT32_MAX, &window)) {
    return 2;
  }
  if (cache) options.token_cache_tokens = *cache;
  if (window) options.code_window_tokens = static_cast<uint32_t>(*window);
  auto filter = Filter::Open(argv[1], options);
  if (!filter.ok()) {
    std::fprintf(stderr, "%s\n", filter.status().ToString().c_str());
    return 2;
  }
  const Index& index = (*filter)->index();
  auto stats = index.Stats();
  if (!stats.ok()) {
    std::fprintf(stderr, "%s\n", stats.status().ToString().c_str());
    return 2;
  }
  std::printf("index: %llu documents, %.1f MB of text, %.1f MB on disk\n",
              static_cast<unsigned long long>(stats->documents), stats->bytes / 1e6, stats->size_on_disk / 1e6);

  std::vector<std::pair<std::string, const Language*>> novel_files;
  for (const auto& e : fs::recursive_directory_iterator(argv[2], fs::directory_options::follow_directory_symlink)) {
    if (!e.is_regular_file()) continue;
    const Language* lang = LanguageForPath(e.path().string());
    if (lang != nullptr) novel_files.emplace_back(e.path().string(), lang);
  }
  std::sort(novel_files.begin(), novel_files.end());
  if (novel_files.empty()) {
    std::fprintf(stderr, "%s: no code files\n", argv[2]);
    return 2;
  }

  struct Query {
    std::string text;
    std::string code;  // the fenced code alone
    const Language* lang = nullptr;
    bool copy = false;
  };
  std::vector<Query> qs;
  // DOPPEL_ANSWERS=FILE checks the answers a DOPPEL_DUMP_ANSWERS run wrote instead of making them.
  if (const char* given = std::getenv("DOPPEL_ANSWERS")) {
    auto reader = DocumentReader::Open({given}, ReaderOptions{});
    if (!reader.ok()) {
      std::fprintf(stderr, "%s\n", reader.status().ToString().c_str());
      return 2;
    }
    Document d;
    for (;;) {
      auto more = (*reader)->Next(&d);
      if (!more.ok() || LookupLanguage(d.language) == nullptr) {
        std::fprintf(stderr, "%s: %s\n", given, more.ok() ? "an answer without a known lang" : more.status().ToString().c_str());
        return 2;
      }
      if (!*more) break;
      Query q;
      q.lang = LookupLanguage(d.language);
      q.copy = d.metadata.find("\"copy\":true") != std::string::npos;
      q.code = d.text;
      q.text = AnswerText(q.lang, q.code);
      qs.push_back(std::move(q));
    }
    queries = qs.size();
  }
  std::mt19937_64 rng(11);
  const uint64_t max_id = stats->documents + stats->deleted;
  size_t attempts = 0;
  while (qs.size() < queries && ++attempts < queries * 200) {
    Query q;
    std::string content;
    const Language* lang = nullptr;
    if (qs.size() % 2 == 0) {
      const uint32_t id = static_cast<uint32_t>(rng() % std::max<uint64_t>(1, max_id));
      auto info = index.GetDocument(id);
      if (!info.ok() || info->kind != Kind::kCode) continue;
      lang = LookupLanguage(info->language);
      auto c = index.GetContent(id);
      if (lang == nullptr || !c.ok()) continue;
      content = std::move(*c);
      q.copy = true;
    } else {
      const auto& [path, l] = novel_files[rng() % novel_files.size()];
      std::ifstream in(path, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      content = ss.str();
      lang = l;
    }
    const size_t n = CountLines(content);
    if (n < 110) continue;
    // 100 lines starting at a line whose first character begins a code token (not inside a
    // comment) and holding at least 300 code tokens, tokenized in the whole file's context.
    Tokens file_tokens;
    if (!TokenizerFor(lang).Tokenize(content, &file_tokens).ok()) continue;
    const size_t first = rng() % (n - 100);
    std::string code = Lines(content, first, 100);
    if (code.empty() || !ValidateUtf8(code).ok()) continue;
    size_t base = 0;  // byte offset of line `first`
    for (size_t i = 0; i < first; ++i) base = content.find('\n', base) + 1;
    const size_t lead = code.find_first_not_of(" \t\n");
    size_t in_window = 0;
    bool starts_token = false;
    for (const auto& t : file_tokens) {
      if (t.begin < base || t.end > base + code.size()) continue;
      ++in_window;
      starts_token |= t.begin == base + lead;
    }
    if (!starts_token || in_window < 300) continue;
    if (q.copy && qs.size() % 4 == 2) code = Rename(code, file_tokens, base);
    q.text = AnswerText(lang, code);
    q.code = code;
    q.lang = lang;
    qs.push_back(std::move(q));
  }
  if (qs.size() < queries) {
    std::fprintf(stderr, "only %zu answers of 100 lines could be made\n", qs.size());
    return 2;
  }

  // DOPPEL_DUMP_ANSWERS=FILE writes the answers' code as JSON Lines ({"id", "lang", "copy",
  // "text"}, `doppel-filter check --jsonl`), so that binaries whose tokenizers pick other windows
  // (the answers depend on the tokens) can be compared on the same answers.
  if (const char* dump = std::getenv("DOPPEL_DUMP_ANSWERS")) {
    std::ofstream out(dump, std::ios::binary);
    for (size_t qi = 0; qi < qs.size(); ++qi) {
      std::string line = "{\"id\":\"" + std::to_string(qi) + "\",\"lang\":\"" + qs[qi].lang->name +
                         "\",\"copy\":" + (qs[qi].copy ? "true" : "false") + ",\"text\":";
      AppendJsonString(&line, qs[qi].code);
      out << line << "}\n";
    }
    if (!out.flush()) {
      std::fprintf(stderr, "%s: cannot write\n", dump);
      return 2;
    }
  }
  size_t copies = 0, caught = 0, news = 0, false_flags = 0;
  // A digest of every verdict (action, and each span's ranges, source, matched tokens and
  // renaming): a change meant only to be faster must leave it as it was.
  uint64_t digest = 0xcbf29ce484222325ull;
  auto mix = [&digest](uint64_t x) { digest = (digest ^ x) * 0x100000001b3ull; };
  for (size_t qi = 0; qi < qs.size(); ++qi) {
    const Query& q = qs[qi];
    auto v = (*filter)->Check(q.text, Req());
    if (!v.ok()) {
      std::fprintf(stderr, "check failed: %s\n", v.status().ToString().c_str());
      return 1;
    }
    mix(static_cast<uint64_t>(v->action));
    for (const auto& sp : v->spans) {
      for (uint64_t x : {uint64_t{sp.query.start}, uint64_t{sp.query.end}, uint64_t{sp.source.start},
                         uint64_t{sp.source.end}, uint64_t{sp.source_id}, uint64_t{sp.matched_tokens},
                         static_cast<uint64_t>(std::llround(sp.renaming * 1e6))}) {
        mix(x);
      }
    }
    const bool flagged = v->action == Action::kRedact || v->action == Action::kBlock;
    (q.copy ? copies : news) += 1;
    (q.copy ? caught : false_flags) += flagged;
    if (q.copy && !flagged && std::getenv("DOPPEL_DEBUG")) {
      std::fprintf(stderr, "MISSED answer %zu (%s, %u tokens, %zu spans; DOPPEL_PROFILE_ONE=%zu DOPPEL_DUMP_ONE=1 writes it):\n%s\n", qi,
                   std::string(ActionName(v->action)).c_str(), v->query_tokens, v->spans.size(), qi, q.text.substr(0, 1500).c_str());
    }
  }
  std::printf("verdicts digest %016llx\n", static_cast<unsigned long long>(digest));
  std::printf("verification: %zu/%zu copies flagged, %zu/%zu new answers flagged\n", caught, copies, false_flags, news);
  if (caught * 100 < copies * 80) {
    std::fprintf(stderr, "verification failed\n");
    return 1;
  }

  // DOPPEL_PROFILE_PASSES=N checks every answer N more times first, so a profile of the run is
  // mostly checks rather than making the answers.
  if (const char* passes = std::getenv("DOPPEL_PROFILE_PASSES")) {
    for (int p = std::atoi(passes); p > 0; --p) {
      for (const auto& q : qs) {
        if (!(*filter)->Check(q.text, Req()).ok()) std::abort();
      }
    }
  }
  if (const char* one = std::getenv("DOPPEL_PROFILE_ONE")) {
    const size_t n = std::strtoul(one, nullptr, 10);
    if (n >= qs.size()) {
      std::fprintf(stderr, "DOPPEL_PROFILE_ONE=%s: there are %zu answers\n", one, qs.size());
      return 2;
    }
    const Query& q = qs[n];
    if (std::getenv("DOPPEL_DUMP_ONE")) {
      std::fwrite(q.text.data(), 1, q.text.size(), stdout);
      return 0;
    }
    const auto a = std::chrono::steady_clock::now();
    for (int p = 0; p < 1000; ++p) {
      if (!(*filter)->Check(q.text, Req()).ok()) std::abort();
    }
    const double check_us = MicrosSince(a) / 1000;
    const Tokenizer& tokenizer = TokenizerFor(q.lang);
    Tokens tokens;
    const auto b = std::chrono::steady_clock::now();
    for (int p = 0; p < 1000; ++p) {
      if (!tokenizer.Tokenize(q.code, &tokens).ok()) std::abort();
    }
    std::printf("answer %zu: %.0f us per check; its code block tokenized alone: %.0f us (means of 1,000)\n", n, check_us,
                MicrosSince(b) / 1000);
    return 0;
  }
  std::vector<double> all, copy_us, new_us;
  for (const auto& q : qs) {
    const auto a = std::chrono::steady_clock::now();
    auto v = (*filter)->Check(q.text, Req());
    const double us = MicrosSince(a);
    if (!v.ok()) std::abort();
    all.push_back(us);
    (q.copy ? copy_us : new_us).push_back(us);
  }
  if (std::getenv("DOPPEL_DEBUG")) {  // the 15 slowest checks, each the fastest of 3 more runs
    const auto order = Slowest(all, 15);
    for (size_t r = 0; r < order.size(); ++r) {
      const Query& q = qs[order[r].second];
      double best = order[r].first;
      uint32_t tokens = 0;
      for (int rep = 0; rep < 3; ++rep) {
        const auto a = std::chrono::steady_clock::now();
        auto v = (*filter)->Check(q.text, Req());
        best = std::min(best, MicrosSince(a));
        tokens = v.ok() ? v->query_tokens : 0;
      }
      std::fprintf(stderr, "SLOW #%zu: %.0f us (best of 4: %.0f us), %s, %s, %u tokens\n", order[r].second, order[r].first,
                   best, q.lang->name.c_str(), q.copy ? "copy" : "new", tokens);
    }
    const Query& slowest = qs[order.front().second];
    std::fprintf(stderr, "SLOWEST (%.0f us, %s):\n%s\n", order.front().first, slowest.copy ? "copy" : "new",
                 slowest.text.substr(0, 3000).c_str());
  }
  auto report = [](const char* what, std::vector<double> us) {
    std::sort(us.begin(), us.end());
    auto pct = [&](double p) { return us[std::min(us.size() - 1, static_cast<size_t>(p * us.size()))]; };
    std::printf("%-8s %5zu checks: p50 %6.0f us, p90 %6.0f us, p99 %6.0f us, max %6.0f us\n", what, us.size(), pct(0.5),
                pct(0.9), pct(0.99), us.back());
  };
  std::printf("Filter::Check of 100-line code answers, one thread:\n");
  report("all", all);
  std::printf("mean     %5zu checks: %6.0f us\n", all.size(), std::accumulate(all.begin(), all.end(), 0.0) / all.size());
  report("copies", copy_us);
  report("new", new_us);
  const TokenCacheStats tc = (*filter)->token_cache_stats();
  std::printf("token cache (all passes): %llu hits, %llu misses (%llu read in place), %llu of %llu tokens held\n",
              static_cast<unsigned long long>(tc.hits), static_cast<unsigned long long>(tc.misses),
              static_cast<unsigned long long>(tc.read_in_place), static_cast<unsigned long long>(tc.tokens),
              static_cast<unsigned long long>(tc.capacity_tokens));
  // The part of a check that is the code tokenizer alone (tree-sitter's parse, its error
  // recovery on a window cut from a file, and normalization).
  std::vector<double> tokenize_us;
  double tokenize_total = 0, check_total = 0;
  for (double us : all) check_total += us;
  for (const auto& q : qs) {
    Tokens tokens;
    const Tokenizer& tokenizer = TokenizerFor(q.lang);
    const auto a = std::chrono::steady_clock::now();
    if (!tokenizer.Tokenize(q.code, &tokens).ok()) std::abort();
    const double us = MicrosSince(a);
    tokenize_us.push_back(us);
    tokenize_total += us;
  }
  report("tokenize", tokenize_us);
  if (std::getenv("DOPPEL_DEBUG")) {  // the 15 slowest to tokenize: answer, language, bytes
    for (const auto& [us, i] : Slowest(tokenize_us, 15)) {
      std::fprintf(stderr, "SLOW TOKENIZE #%zu: %.0f us, %s, %zu bytes\n", i, us, qs[i].lang->name.c_str(),
                   qs[i].code.size());
    }
  }
  std::printf("tokenizing is %.0f%% of the checks' time\n", 100 * tokenize_total / check_total);
  return 0;
}
