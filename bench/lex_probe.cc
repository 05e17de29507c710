// The first-pass lexer against the parse, on a set of code files: how fast each reads them and
// how many of the parse's fingerprints the lexer's tokens give too; with an index, the
// candidates each file's fingerprints select (per file, tab-separated, for choosing a bound).
//   lex_probe [--index DIR] FILE...
//   lex_probe --check DIR FILE...   each file's verdict parsed and lexed, and the lines whose
//                                   tokens differ
//   lex_probe --imports FILE...     the lines holding tokens only one of the two marks as in an
//                                   import statement (Token::import), the first 40
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "corpus.h"
#include "doppel/code_tokenizer.h"
#include "doppel/filter.h"
#include "doppel/index.h"
#include "doppel/language.h"
#include "doppel/shingle.h"
#include "doppel/sketch.h"

using namespace doppel;

namespace {
std::string TokenText(const std::string& text, const Token& t) {
  if (t.hash == IdentifierTokenHash()) return "ID";
  if (t.hash == StringTokenHash()) return "STR";
  if (t.hash == NumberTokenHash()) return "NUM";
  return text.substr(t.begin, t.end - t.begin);
}

int CheckFiles(const std::string& dir, int argc, char** argv) {
  auto filter = Filter::Open(dir, FilterOptions());
  if (!filter.ok()) {
    std::fprintf(stderr, "%s\n", filter.status().ToString().c_str());
    return 1;
  }
  for (int a = 0; a < argc; ++a) {
    const Language* l = LanguageForPath(argv[a]);
    if (l == nullptr) continue;
    const std::string text = bench::ReadWholeFile(argv[a]);
    std::printf("== %s\n", argv[a]);
    for (const bool lexed : {false, true}) {
      CheckRequest r;
      r.kind = Kind::kCode;
      r.language = l->name;
      r.lexed_code = lexed;
      auto v = (*filter)->Check(text, r);
      if (!v.ok()) continue;
      std::printf("%s: %s\n", lexed ? "lexed " : "parsed", ActionName(v->action).data());
      for (const Span& s : v->spans) {
        std::printf("   lines %u-%u  %s %u-%u  matched %u/%u renaming %.2f\n", s.query.first_line, s.query.last_line,
                    s.source_name.substr(s.source_name.rfind('/') + 1).c_str(), s.source.first_line, s.source.last_line,
                    s.matched_tokens, s.query_tokens, s.renaming);
      }
    }
    Tokens ts, lx;
    if (!NewCodeTokenizer(l)->Tokenize(text, &ts).ok() || !NewCodeLexer(l)->Tokenize(text, &lx).ok()) continue;
    std::map<uint32_t, std::vector<uint64_t>> by_line_ts, by_line_lx;
    for (auto& t : ts) by_line_ts[t.line].push_back(t.hash);
    for (auto& t : lx) by_line_lx[t.line].push_back(t.hash);
    int shown = 0;
    for (auto& [line, h] : by_line_ts) {
      if (by_line_lx[line] != h && shown++ < 12) {
        std::string s;
        for (auto& t : ts) {
          if (t.line == line) s += "[" + TokenText(text, t) + "]";
        }
        s += "  vs lexer ";
        for (auto& t : lx) {
          if (t.line == line) s += "[" + TokenText(text, t) + "]";
        }
        std::printf("   line %u: %s\n", line, s.c_str());
      }
    }
  }
  return 0;
}
int ImportLines(int argc, char** argv) {
  int shown = 0;
  for (int a = 0; a < argc && shown < 40; ++a) {
    const Language* l = LanguageForPath(argv[a]);
    if (l == nullptr || l->grammar == nullptr) continue;
    const std::string text = bench::ReadWholeFile(argv[a]);
    Tokens ts, lx;
    if (!NewCodeTokenizer(l)->Tokenize(text, &ts).ok() || !NewCodeLexer(l)->Tokenize(text, &lx).ok()) continue;
    auto marked = [](const Tokens& t) {
      std::vector<uint32_t> v;
      for (const Token& k : t) if (k.import != 0) v.push_back(k.begin);
      return v;
    };
    const std::vector<uint32_t> in_parse = marked(ts), in_lexer = marked(lx);
    std::map<uint32_t, const char*> lines;  // line -> which side alone marks a token there
    for (const Token& k : lx) {
      if (k.import != 0 && !std::binary_search(in_parse.begin(), in_parse.end(), k.begin)) lines[k.line] = "lexer only";
    }
    for (const Token& k : ts) {
      if (k.import != 0 && !std::binary_search(in_lexer.begin(), in_lexer.end(), k.begin)) lines[k.line] = "parse only";
    }
    for (const auto& [line, side] : lines) {
      if (shown++ >= 40) break;
      size_t b = 0;
      for (uint32_t k = 1; k < line && b != std::string::npos; ++k) b = text.find('\n', b) + 1;
      if (b == std::string::npos) continue;
      std::printf("%s:%u (%s): %s\n", argv[a], line, side, text.substr(b, text.find('\n', b) - b).c_str());
    }
  }
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc > 2 && std::strcmp(argv[1], "--check") == 0) return CheckFiles(argv[2], argc - 3, argv + 3);
  if (argc > 1 && std::strcmp(argv[1], "--imports") == 0) return ImportLines(argc - 2, argv + 2);
  int a = 1;
  std::string index_dir;
  if (a + 1 < argc && std::strcmp(argv[a], "--index") == 0) {
    index_dir = argv[a + 1];
    a += 2;
  }
  std::unique_ptr<Index> index;
  SketchParams params;
  if (!index_dir.empty()) {
    IndexOptions io;
    io.read_only = true;
    auto r = Index::Open(index_dir, io);
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
      return 1;
    }
    index = std::move(*r);
    params = index->params();
  }
  DocumentSketcher sketcher(params);
  struct PerLang {
    double ts_s = 0, lx_s = 0, overlap = 0;
    size_t files = 0, bytes = 0;
    size_t import_parse = 0, import_lexer = 0, import_both = 0;  // tokens in import statements, by offset
    std::map<std::string, long> diff;
  };
  std::map<std::string, PerLang> langs;
  std::map<const Language*, std::pair<std::unique_ptr<Tokenizer>, std::unique_ptr<Tokenizer>>> toks;
  for (; a < argc; ++a) {
    const Language* l = LanguageForPath(argv[a]);
    if (l == nullptr || l->grammar == nullptr) continue;
    const std::string text = bench::ReadWholeFile(argv[a]);
    auto& tk = toks[l];
    if (!tk.first) tk = {NewCodeTokenizer(l), NewCodeLexer(l)};
    Tokens ts, lx;
    auto t0 = std::chrono::steady_clock::now();
    if (!tk.first->Tokenize(text, &ts).ok()) continue;
    auto t1 = std::chrono::steady_clock::now();
    if (!tk.second->Tokenize(text, &lx).ok()) continue;
    auto t2 = std::chrono::steady_clock::now();
    PerLang& p = langs[l->name];
    p.ts_s += std::chrono::duration<double>(t1 - t0).count();
    p.lx_s += std::chrono::duration<double>(t2 - t1).count();
    p.files++;
    p.bytes += text.size();
    {
      std::vector<uint32_t> a, b;
      for (auto& t : ts) if (t.import != 0) a.push_back(t.begin);
      for (auto& t : lx) if (t.import != 0) b.push_back(t.begin);
      p.import_parse += a.size();
      p.import_lexer += b.size();
      for (uint32_t x : b) p.import_both += std::binary_search(a.begin(), a.end(), x);
    }
    std::vector<uint64_t> hts, hlx;
    TokenHashes(ts, &hts);
    TokenHashes(lx, &hlx);
    std::vector<Fingerprint> fts, flx;
    sketcher.FingerprintsOf(hts, Kind::kCode, &fts);
    sketcher.FingerprintsOf(hlx, Kind::kCode, &flx);
    std::vector<uint64_t> gts, glx;
    for (auto& f : fts) gts.push_back(f.hash);
    for (auto& f : flx) glx.push_back(f.hash);
    std::sort(gts.begin(), gts.end());
    gts.erase(std::unique(gts.begin(), gts.end()), gts.end());
    std::sort(glx.begin(), glx.end());
    glx.erase(std::unique(glx.begin(), glx.end()), glx.end());
    size_t common = 0;
    for (uint64_t g : gts) common += std::binary_search(glx.begin(), glx.end(), g);
    const double overlap = gts.empty() ? 1.0 : double(common) / gts.size();
    p.overlap += overlap;
    // Token texts one side has more of.
    std::unordered_map<std::string, long> count;
    for (auto& t : ts) count[TokenText(text, t)]++;
    for (auto& t : lx) count[TokenText(text, t)]--;
    for (auto& [k, c] : count) {
      if (c != 0) p.diff[k + (c > 0 ? " (parse)" : " (lexer)")] += std::labs(c);
    }
    if (index) {
      // Per candidate: the most shared fingerprints in any window of kWin tokens (all that
      // select candidates, and those rare enough to weigh fully in a whole block), and how
      // many candidates have 2 or more there.
      const uint32_t kWin = 64;
      const FilterOptions defaults;
      auto stats = [&](const std::vector<Fingerprint>& fps, uint32_t* max_hits, uint32_t* max_rare, uint32_t* n2) {
        std::vector<uint64_t> grams;
        for (auto& f : fps) grams.push_back(f.hash);
        std::vector<Posting> post;
        *max_hits = *max_rare = *n2 = 0;
        if (!index->GetGramPostings(Kind::kCode, grams, &post).ok()) return;
        std::unordered_map<uint32_t, std::vector<std::pair<uint32_t, bool>>> c;
        for (size_t k = 0; k < post.size(); ++k) {
          const Posting& q = post[k];
          if (q.saturated || q.ids.size() > defaults.max_document_frequency) continue;
          for (uint32_t id : q.ids) c[id].push_back({fps[k].position, q.ids.size() <= defaults.code_whole_df});
        }
        for (auto& [id, v] : c) {
          std::sort(v.begin(), v.end());
          uint32_t best = 0, best_rare = 0;
          for (size_t x = 0, y = 0, rare = 0; y < v.size(); ++y) {
            rare += v[y].second;
            while (v[y].first - v[x].first >= kWin) rare -= v[x++].second;
            best = std::max<uint32_t>(best, y - x + 1);
            best_rare = std::max<uint32_t>(best_rare, rare);
          }
          *max_hits = std::max(*max_hits, best);
          *max_rare = std::max(*max_rare, best_rare);
          *n2 += best >= 2;
        }
      };
      uint32_t h1, r1, c1, h2, r2, c2;
      stats(fts, &h1, &r1, &c1);
      stats(flx, &h2, &r2, &c2);
      std::printf("F\t%s\t%s\t%zu\t%zu\t%zu\t%.3f\t%u\t%u\t%u\t%u\t%u\t%u\n", argv[a], l->name.c_str(), text.size(), ts.size(),
                  lx.size(), overlap, h1, r1, c1, h2, r2, c2);
    }
  }
  for (auto& [name, p] : langs) {
    std::printf("%-12s %5zu files %7.1f MB  parse+walk %6.1f MB/s  lexer %6.1f MB/s  fingerprints shared %.3f\n", name.c_str(),
                p.files, p.bytes / 1e6, p.bytes / 1e6 / p.ts_s, p.bytes / 1e6 / p.lx_s, p.overlap / p.files);
    std::printf("    import tokens: parse %zu, lexer %zu, both %zu\n", p.import_parse, p.import_lexer, p.import_both);
    std::vector<std::pair<long, std::string>> d;
    for (auto& [k, c] : p.diff) d.push_back({c, k});
    std::sort(d.rbegin(), d.rend());
    std::printf("   ");
    for (size_t i = 0; i < d.size() && i < 14; ++i) std::printf(" [%s]x%ld", d[i].second.c_str(), d[i].first);
    std::printf("\n");
  }
  return 0;
}
