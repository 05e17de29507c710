// The code quality suite: recall of renamed / reformatted / embedded copies of protected
// functions and false flags on new functions, at the documented defaults.
//   quality_code [CORPUS=/tmp/doppel-code-corpus] [WORK=/tmp/doppel-quality-code] [PER_CLASS=200]
//   (QC_SET="key=value,...": other settings; QC_COMMON=DIR: a common-code index read beside;
//   QC_LEXER_FIRST=1: each answer read by the lexer first, as the scan reads code;
//   QC_UNTAGGED=1: every fence without its language tag, so the filter must tell the language;
//   QC_WRONG_TAG=1: every fence tagged with a language of another family, WrongTagFor;
//   QC_UNFENCED=1: no fence at all, the code pasted between two sentences;
//   QC_HTML=1: an HTML answer, the code escaped in a <pre><code class="language-TAG"> block
//   (no class with QC_UNTAGGED=1), its first line on line 4 as in a fence;
//   QC_JSON=1: a structured answer, {"explanation": "Here is the code:", "language": "TAG",
//   "code": "..."} ("language" left out with QC_UNTAGGED=1), a span's lines its lines in the
//   code string plus 3, as in a fence)
//
// Corpus: CORPUS/<language>/ (bench/code_corpus.sh): real code per language. Functions are
// extracted with the same tree-sitter grammars doppel links. CORPUS/<language>/ holds the
// protected packages (one code document per file, all languages in one index);
// CORPUS/other/<language>/ holds other packages, never indexed: the negatives and the new code
// around embedded copies come from there.
// Queries are protected functions of 6–80 lines, answered as Markdown ("Here is the code:" and a
// fenced block in the language's first fence tag):
//   verbatim             the function's lines as they are in the file;
//   renamed              every identifier (doppel's code tokenizer on the whole file decides what
//                        an identifier is) renamed consistently to n0, n1, ...;
//   reformatted          a real formatter (clang-format, gofmt, black, rustfmt) where one is
//                        installed, else a deterministic whitespace transform (said so below);
//   renamed+reformatted  both, renamed first;
//   embedded             a renamed protected function of 10–30 lines between two functions
//                        of other packages in one fenced block.
// A query is caught when it is redacted or blocked and a span names its true source file; an
// embedded copy also needs the span from that source with the largest line overlap to have
// line IoU >= 0.8 with the copy's true lines.
//
// Honesty rules (as in quality_text.cc): queries come only from functions whose identifier-
// abstracted token stream occurs once among the protected functions (otherwise the "true source"
// is ambiguous); held-out functions that are copies of protected code by a test independent of
// doppel (4 consecutive significant lines, or the whole whitespace-stripped text, also in a
// protected file) are not used as negatives. Both exclusions are counted in the output. Each
// class shuffles all protected functions of its line range (a fixed seed) and takes the first
// PER_CLASS unique ones, so a tokenizer change moves only the functions whose uniqueness it changes
// (in the embedded class, the new code drawn around each later copy moves too: it comes from the
// class's one generator).
// Negatives: up to PER_CLASS "novel" functions (6–80 lines) and "short" ones (1–4 lines) of
// other packages per language, in the same Markdown answer. Queries are built serially (fixed seeds),
// then checked on all cores (Filter::Check is thread-safe); times are per Check call.
// Recall is also given over the copies of >= 40 code tokens: shorter ones cannot reach the
// default code redact_tokens and are redacted only through redact_containment.
#include <sys/wait.h>
#include <tree_sitter/api.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "corpus.h"
#include "doppel/code_tokenizer.h"
#include "doppel/filter.h"
#include "doppel/format.h"
#include "doppel/index.h"
#include "doppel/language.h"

using namespace doppel;
namespace fs = std::filesystem;

namespace {

struct Function {
  uint32_t file = 0;           // index into the language's files
  uint32_t begin = 0, end = 0;  // node byte range
  uint32_t line_begin = 0;      // byte offset of the start of the first line
  uint32_t first_line = 0, last_line = 0;  // 1-based, inclusive
  uint32_t lines() const { return last_line - first_line + 1; }
};

struct SourceFile {
  std::string name;  // document name in the index
  std::string text;
  bool is_protected = false;
};

bool IsFunctionNode(const std::string& lang, std::string_view type, uint32_t lines) {
  auto is = [&](const char* t) { return type == t; };
  if (lang == "python") return is("function_definition");
  if (lang == "javascript" || lang == "typescript" || lang == "tsx") {
    if (is("function_declaration") || is("method_definition")) return true;
    return (is("function_expression") || is("arrow_function") || is("function")) && lines >= 6;
  }
  if (lang == "java") return is("method_declaration") || is("constructor_declaration");
  if (lang == "c_sharp") {
    return is("method_declaration") || is("constructor_declaration") || is("local_function_statement");
  }
  if (lang == "c" || lang == "cpp") return is("function_definition");
  if (lang == "go") return is("function_declaration") || is("method_declaration");
  if (lang == "rust") return is("function_item");
  if (lang == "ruby") return is("method") || is("singleton_method");
  return false;
}

void ExtractFunctions(const Language& lang, const std::string& text, uint32_t file_index,
                      std::vector<Function>* out) {
  TSParser* parser = ts_parser_new();
  ts_parser_set_language(parser, lang.grammar);
  TSTree* tree = ts_parser_parse_string(parser, nullptr, text.data(), static_cast<uint32_t>(text.size()));
  if (tree == nullptr) {
    ts_parser_delete(parser);
    return;
  }
  TSTreeCursor cur = ts_tree_cursor_new(ts_tree_root_node(tree));
  for (;;) {
    TSNode n = ts_tree_cursor_current_node(&cur);
    const TSPoint sp = ts_node_start_point(n), ep = ts_node_end_point(n);
    // A node ending at column 0 ends with the previous line's newline.
    const uint32_t last = ep.column == 0 && ep.row > sp.row ? ep.row : ep.row + 1;
    const uint32_t lines = last - sp.row;
    if (IsFunctionNode(lang.name, ts_node_type(n), lines)) {
      Function f;
      f.file = file_index;
      f.begin = ts_node_start_byte(n);
      f.end = ts_node_end_byte(n);
      f.first_line = sp.row + 1;
      f.last_line = last;
      uint32_t lb = f.begin;
      while (lb > 0 && (text[lb - 1] == ' ' || text[lb - 1] == '\t')) --lb;
      f.line_begin = (lb == 0 || text[lb - 1] == '\n') ? lb : f.begin;
      out->push_back(f);
    }
    if (ts_tree_cursor_goto_first_child(&cur)) continue;
    bool done = false;
    while (!ts_tree_cursor_goto_next_sibling(&cur)) {
      if (!ts_tree_cursor_goto_parent(&cur)) {
        done = true;
        break;
      }
    }
    if (done) break;
  }
  ts_tree_cursor_delete(&cur);
  ts_tree_delete(tree);
  ts_parser_delete(parser);
}

// The function's full lines (from the start of its first line), ending with a newline.
std::string FunctionText(const std::vector<SourceFile>& files, const Function& f) {
  std::string s = files[f.file].text.substr(f.line_begin, f.end - f.line_begin);
  if (s.empty() || s.back() != '\n') s += '\n';
  return s;
}

std::vector<std::string> SplitLines(const std::string& s) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t e = s.find('\n', pos);
    if (e == std::string::npos) e = s.size();
    lines.push_back(s.substr(pos, e - pos));
    pos = e + 1;
  }
  return lines;
}

std::string StripWs(const std::string& s) {
  std::string o;
  for (char c : s) if (c != ' ' && c != '\t' && c != '\r' && c != '\n') o += c;
  return o;
}

// textwrap.dedent: removes the longest common leading whitespace of the non-blank lines.
std::string Dedent(const std::string& s) {
  auto lines = SplitLines(s);
  std::optional<std::string> prefix;
  for (const auto& l : lines) {
    if (StripWs(l).empty()) continue;
    size_t i = 0;
    while (i < l.size() && (l[i] == ' ' || l[i] == '\t')) ++i;
    std::string p = l.substr(0, i);
    if (!prefix) prefix = p;
    else {
      size_t k = 0;
      while (k < prefix->size() && k < p.size() && (*prefix)[k] == p[k]) ++k;
      prefix->resize(k);
    }
  }
  std::string out;
  for (const auto& l : lines) {
    if (StripWs(l).empty()) out += "\n";
    else out += l.substr(prefix ? prefix->size() : 0) + "\n";
  }
  return out;
}

// Deterministic whitespace transform for languages without a formatter: every line re-indented
// to a different indent width (levels of the detected unit → 3 spaces, or 5 if the unit is 3),
// trailing spaces dropped, runs of blank lines collapsed to one.
std::string WhitespaceReformat(const std::string& s) {
  auto lines = SplitLines(s);
  std::vector<uint32_t> widths;
  uint32_t unit = 0;
  for (const auto& l : lines) {
    uint32_t w = 0;
    for (char c : l) {
      if (c == ' ') ++w;
      else if (c == '\t') w = (w / 8 + 1) * 8;
      else break;
    }
    widths.push_back(w);
    if (w > 0 && !StripWs(l).empty()) unit = unit == 0 ? w : std::gcd(unit, w);
  }
  if (unit == 0) unit = 2;
  const uint32_t to = unit == 3 ? 5 : 3;
  std::string out;
  bool prev_blank = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string body = lines[i];
    body.erase(0, body.find_first_not_of(" \t") == std::string::npos ? body.size() : body.find_first_not_of(" \t"));
    while (!body.empty() && (body.back() == ' ' || body.back() == '\t' || body.back() == '\r')) body.pop_back();
    if (body.empty()) {
      if (!prev_blank) out += "\n";
      prev_blank = true;
      continue;
    }
    prev_blank = false;
    out += std::string(widths[i] / unit * to, ' ') + body + "\n";
  }
  return out;
}

// Runs `cmd` with `in` on stdin; returns false when it exits non-zero.
bool RunFilter(const std::string& cmd, const std::string& in, const std::string& tmpdir, std::string* out) {
  const std::string inp = tmpdir + "/fmt-in", outp = tmpdir + "/fmt-out";
  {
    std::ofstream f(inp, std::ios::binary);
    f << in;
  }
  const std::string full = cmd + " < " + inp + " > " + outp + " 2>/dev/null";
  const int rc = std::system(full.c_str());
  if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0) return false;
  std::ifstream f(outp, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return true;
}

bool HaveCommand(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

struct Formatter {
  std::string name;  // for the report
  bool real = false;
  std::string cmd;
  std::string lang;
};

Formatter FormatterFor(const std::string& lang, const std::string& tmpdir) {
  Formatter f;
  f.lang = lang;
  const std::map<std::string, std::string> ext = {{"c", "c"},          {"cpp", "cc"},
                                                  {"java", "java"},     {"javascript", "js"},
                                                  {"typescript", "ts"}, {"c_sharp", "cs"}};
  if (ext.count(lang) && HaveCommand("clang-format")) {
    f.cmd = "clang-format --assume-filename=x." + ext.at(lang) +
            " --style='{BasedOnStyle: WebKit, IndentWidth: 3, ColumnLimit: 70}'";
    f.name = "clang-format (WebKit, indent 3, 70 columns)";
  } else if (lang == "go" && HaveCommand("gofmt")) {
    f.cmd = "gofmt";
    f.name = "gofmt";
  } else if (lang == "python" && HaveCommand("black")) {
    f.cmd = "black -q -";
    f.name = "black";
  } else if (lang == "rust" && HaveCommand("rustfmt")) {
    f.cmd = "rustfmt --edition 2021 --emit stdout";
    f.name = "rustfmt";
  } else if (lang == "tsx" && HaveCommand("prettier")) {
    f.cmd = "prettier --stdin-filepath x.tsx --tab-width 3 --print-width 70";
    f.name = "prettier (indent 3, 70 columns)";
  } else if (lang == "ruby" && HaveCommand("rubocop")) {
    // Layout cops only (-x), indent 3; exit status 1 means offenses remain, not failure.
    const std::string config = tmpdir + "/rubocop.yml";
    std::ofstream(config) << "AllCops:\n  NewCops: disable\n  SuggestExtensions: false\n"
                             "Layout/IndentationWidth:\n  Width: 3\n";
    f.cmd = "sh -c 'rubocop -c " + config + " -x --stderr --stdin x.rb; [ $? -le 1 ]'";
    f.name = "rubocop -x (layout cops, indent 3)";
  }
  if (!f.cmd.empty()) {
    // Decided at run time: the formatter must also run (rustup proxies may lack a toolchain).
    const std::map<std::string, std::string> probe = {
        {"c", "int f(int a){return a;}\n"}, {"cpp", "int f(int a){return a;}\n"},
        {"java", "int f(int a){return a;}\n"}, {"javascript", "function f(a){return a}\n"},
        {"typescript", "function f(a: number){return a}\n"}, {"go", "package p\n\nfunc f(){}\n"},
        {"python", "def f(a):\n  return a\n"}, {"rust", "fn f()->i32{1}\n"},
        {"c_sharp", "class C{int F(int a){return a;}}\n"},
        {"tsx", "const A = () => <div>{1}</div>;\n"}, {"ruby", "def f(a)\n  a\nend\n"}};
    std::string out;
    if (RunFilter(f.cmd, probe.at(lang), tmpdir, &out) && !out.empty()) {
      f.real = true;
      return f;
    }
    f.name.clear();
  }
  f.real = false;
  f.name = "none installed: deterministic whitespace transform (re-indent, collapse blank lines)";
  return f;
}

bool Reformat(const Formatter& f, const std::string& code, const std::string& tmpdir, std::string* out) {
  const std::string d = Dedent(code);
  if (!f.real) {
    *out = WhitespaceReformat(d);
    return true;
  }
  if (f.lang == "go") {
    const std::string header = "package p\n\n";
    std::string o;
    if (!RunFilter(f.cmd, header + d, tmpdir, &o)) return false;
    if (o.compare(0, header.size(), header) != 0) return false;
    *out = o.substr(header.size());
    return true;
  }
  if (!RunFilter(f.cmd, d, tmpdir, out)) return false;
  if (out->empty() || out->back() != '\n') *out += '\n';
  return true;
}

// Applies "key=value,key=value" settings (QC_SET, QC_VARIANTS) to `fo`; false on an unknown key.
bool ApplySettings(const std::string& settings, FilterOptions* fo) {
  std::stringstream kvs(settings);
  for (std::string kv; std::getline(kvs, kv, ',');) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos) continue;
    const std::string k = kv.substr(0, eq);
    const double val = std::strtod(kv.c_str() + eq + 1, nullptr);
    if (k == "code_evidence_df") fo->code_evidence_df = static_cast<uint32_t>(val);
    else if (k == "code.redact_tokens") fo->code.redact_tokens = static_cast<uint32_t>(val);
    else if (k == "code.min_span_tokens") fo->code.min_span_tokens = static_cast<uint32_t>(val);
    else if (k == "min_renaming") fo->min_renaming = val;
    else if (k == "min_renaming_short") fo->min_renaming_short = val;
    else if (k == "short_span_tokens") fo->short_span_tokens = static_cast<uint32_t>(val);
    else if (k == "min_renaming_evidence") fo->min_renaming_evidence = static_cast<uint32_t>(val);
    else if (k == "min_literal_agreement") fo->min_literal_agreement = val;
    else if (k == "code_seed_size") fo->code_seed_size = static_cast<uint32_t>(val);
    else if (k == "code_whole_share") fo->code_whole_share = val;
    else if (k == "code_whole_df") fo->code_whole_df = static_cast<uint32_t>(val);
    else if (k == "code_whole_min_tokens") fo->code_whole_min_tokens = static_cast<uint32_t>(val);
    else if (k == "code_whole_joint_df") fo->code_whole_joint_df = static_cast<uint32_t>(val);
    else if (k == "code_whole_blocks") fo->code_whole_blocks = val != 0;
    else if (k == "code_whole_blocks_min_tokens") fo->code_whole_blocks_min_tokens = static_cast<uint32_t>(val);
    else if (k == "max_candidates") fo->max_candidates = static_cast<uint32_t>(val);
    else if (k == "code_rare_items") fo->code_rare_items = static_cast<uint32_t>(val);
    else if (k == "code_name_df") fo->code_name_df = static_cast<uint32_t>(val);
    else if (k == "code_literal_bytes") fo->code_literal_bytes = static_cast<uint32_t>(val);
    else if (k == "code_verbatim_names") fo->code_verbatim_names = static_cast<uint32_t>(val);
    else if (k == "bare_code") fo->bare_code = val != 0;
    else if (k == "prose_in_code") fo->prose_in_code = val != 0;
    else {
      std::fprintf(stderr, "unknown setting %s\n", k.c_str());
      return false;
    }
  }
  return true;
}

// Renames every identifier of `code` (its tokens: identifier tokens of the whole file that lie
// in [base, base + code.size())) consistently to n0, n1, ... in order of first occurrence.
std::string Rename(const std::string& code, const Tokens& file_tokens, uint32_t base) {
  const uint64_t id_hash = IdentifierTokenHash();
  std::vector<std::pair<uint32_t, uint32_t>> spans;
  for (const auto& t : file_tokens) {
    if (t.hash != id_hash || t.begin < base || t.end > base + code.size()) continue;
    spans.emplace_back(t.begin - base, t.end - base);
  }
  std::unordered_map<std::string, std::string> names;
  for (const auto& [b, e] : spans) {
    std::string s = code.substr(b, e - b);
    if (!names.count(s)) names.emplace(s, "n" + std::to_string(names.size()));
  }
  std::string out = code;
  for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
    out.replace(it->first, it->second - it->first, names.at(code.substr(it->first, it->second - it->first)));
  }
  return out;
}

struct Tally {
  size_t n = 0, caught = 0, iou_ok = 0, skipped = 0, unchanged = 0, big = 0, big_caught = 0;
};

struct Query {
  std::string lang, cls;  // cls empty for negatives
  int neg = -1;           // -1 positive, 0 novel, 1 short
  std::string text, code, src, where;  // code: the answer's code alone (for the peer tools)
  uint32_t true_first = 0, true_last = 0;  // embedded: the copy's lines in the answer
  uint32_t code_tokens = 0;                // tokens of the copied code (doppel's tokenizer)
  Verdict v;
  double us = 0;
};

struct NegTally {
  size_t n = 0, flagged = 0, annotated = 0;
};

std::string FirstLine(const std::string& s) {
  const auto l = SplitLines(s);
  for (const auto& x : l) if (!StripWs(x).empty()) return x.substr(x.find_first_not_of(" \t"));
  return "";
}

// A fence tag of another language family than `lang`'s, in a fixed rotation: the answers of
// QC_WRONG_TAG, whose code the filter must read in the language it is, not the one its fence names.
std::string WrongTagFor(const std::string& lang) {
  static const std::map<std::string, std::string> kWrong = {
      {"python", "js"}, {"javascript", "python"}, {"typescript", "java"}, {"tsx", "python"},
      {"java", "csharp"}, {"c_sharp", "java"}, {"c", "go"}, {"cpp", "java"},
      {"go", "c"}, {"rust", "cpp"}, {"ruby", "python"}};
  const auto it = kWrong.find(lang);
  return it == kWrong.end() ? "python" : it->second;
}

// The tag of the answers' fences: the language's first fence tag, none (QC_UNTAGGED=1) or a wrong
// one (QC_WRONG_TAG=1).
// True when the environment variable `name` is "1".
bool EnvSet(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && std::string_view(v) == "1";
}

std::string FenceTag(const Language& lang) {
  if (EnvSet("QC_UNTAGGED")) return "";
  if (EnvSet("QC_WRONG_TAG")) return WrongTagFor(lang.name);
  return lang.fences.empty() ? lang.name : lang.fences[0];
}

}  // namespace

int main(int argc, char** argv) {
  const std::string corpus = argc > 1 ? argv[1] : "/tmp/doppel-code-corpus";
  const std::string work = argc > 2 ? argv[2] : "/tmp/doppel-quality-code";
  const size_t per_class = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 200;
  const auto t_start = std::chrono::steady_clock::now();
  auto langs = Languages();
  if (!langs.ok()) {
    std::fprintf(stderr, "%s\n", langs.status().ToString().c_str());
    return 2;
  }
  fs::remove_all(work);
  fs::create_directories(work);
  const std::string tmpdir = work + "/tmp";
  fs::create_directories(tmpdir);

  struct LangData {
    const Language* lang = nullptr;
    std::vector<SourceFile> files;
    std::vector<Function> functions;
    size_t duplicate_functions = 0;      // protected 6–80-line functions not unique: not queried
    size_t copied_negatives = 0;         // held-out functions that are copies: not negatives
    size_t queryable_6_80 = 0;  // protected 6–80-line functions that are unique
    std::vector<size_t> novel, shorts;
    // Every protected function of 6-80 (10-30) lines, unique or not, in file order: the classes
    // shuffle these and skip the ones not unique while drawing, so a tokenizer change that
    // decides differently whether a few functions are unique leaves the rest of the whole-function
    // samples as they were (shuffling only the unique ones redrew all of them).
    std::vector<size_t> drawn_6_80, drawn_10_30;
    std::vector<char> unique;  // per function: its identifier-abstracted stream occurs once
    Formatter fmt;
  };
  std::vector<LangData> data;
  std::vector<std::string> no_corpus;
  size_t protected_files = 0, protected_bytes = 0;
  for (const Language& lang : **langs) {
    LangData ld;
    ld.lang = &lang;
    // CORPUS/<language>: the protected packages; CORPUS/other/<language>: other packages.
    for (const bool is_protected : {true, false}) {
      const fs::path dir = is_protected ? fs::path(corpus) / lang.name : fs::path(corpus) / "other" / lang.name;
      std::vector<fs::path> paths;
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(dir, ec)) paths.push_back(e.path());
      std::sort(paths.begin(), paths.end());
      for (const auto& p : paths) {
        std::ifstream in(p, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        if (!ValidateUtf8(ss.str()).ok() || ss.str().empty()) continue;
        SourceFile f;
        f.name = (is_protected ? "" : "other/") + lang.name + "/" + p.filename().string();
        f.text = ss.str();
        f.is_protected = is_protected;
        ld.files.push_back(std::move(f));
      }
    }
    if (ld.files.empty() || std::none_of(ld.files.begin(), ld.files.end(), [](const SourceFile& f) { return f.is_protected; })) {
      no_corpus.push_back(lang.name);
      continue;
    }
    for (uint32_t i = 0; i < ld.files.size(); ++i) ExtractFunctions(lang, ld.files[i].text, i, &ld.functions);
    for (const auto& f : ld.files) {
      if (f.is_protected) {
        ++protected_files;
        protected_bytes += f.text.size();
      }
    }
    data.push_back(std::move(ld));
  }
  std::printf("# doppel code quality suite (PER_CLASS=%zu)\n\n", per_class);
  std::printf("targets: recall >= 99%% per whole-function class; embedded >= 95%% caught with line IoU >= 0.8; "
              "false flags <= 1%% on novel functions, <= 2%% on short functions\n\n");
  for (const auto& n : no_corpus) std::printf("%s: no corpus\n", n.c_str());

  // Index every protected file, all languages in one index.
  const auto t_index = std::chrono::steady_clock::now();
  std::vector<Document> docs;
  for (const auto& ld : data) {
    for (const auto& f : ld.files) {
      if (!f.is_protected) continue;
      docs.emplace_back();
      docs.back().name = f.name;
      docs.back().text = f.text;
      docs.back().kind = Kind::kCode;
      docs.back().language = ld.lang->name;
    }
  }
  auto built = bench::BuildBenchIndex(work + "/index", std::move(docs));
  if (!built.ok()) {
    std::fprintf(stderr, "%s\n", built.status().ToString().c_str());
    return 2;
  }
  const double index_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_index).count();
  std::shared_ptr<Index> shared = *built;
  // QC_COMMON=DIR: the index read beside a common-code index (IndexOptions::common_code).
  if (const char* common = std::getenv("QC_COMMON"); common != nullptr && *common != '\0') {
    IndexOptions io;
    io.read_only = true;
    io.common_code = common;
    auto beside = Index::Open(work + "/index", io);
    if (!beside.ok()) {
      std::fprintf(stderr, "%s\n", beside.status().ToString().c_str());
      return 2;
    }
    shared = std::shared_ptr<Index>(std::move(beside).value());
    std::printf("read beside the common-code index %s\n", common);
  }
  // QC_SET="key=value,...": the settings of the main tables (the defaults when unset).
  FilterOptions main_options;
  if (const char* set = std::getenv("QC_SET"); set != nullptr && !ApplySettings(set, &main_options)) return 2;
  auto filter = Filter::FromIndex(shared, main_options);
  std::printf("index: %zu protected files (%.1f MB) in %.1f s\n\n", protected_files, protected_bytes / 1e6, index_s);

  const std::vector<std::string> classes = {"verbatim", "renamed", "reformatted", "renamed+reformatted",
                                            "embedded 10-30 lines"};
  std::map<std::string, std::map<std::string, Tally>> tallies;
  std::map<std::string, std::pair<NegTally, NegTally>> negs;
  std::vector<std::string> false_examples, miss_examples;
  std::vector<Query> queries;
  std::map<std::string, size_t> miss_examples_per_class;

  for (auto& ld : data) {
    const Language& lang = *ld.lang;
    const std::string fence = FenceTag(lang);
    // QC_UNFENCED=1: the code between two sentences, with no fence (its first line is line 4
    // either way).
    const bool unfenced = EnvSet("QC_UNFENCED"), html = EnvSet("QC_HTML"), json = EnvSet("QC_JSON");
    auto answer = [&](const std::string& code) {
      if (json) {
        std::string out = "{\"explanation\": \"Here is the code:\", ";
        if (!fence.empty()) out += "\"language\": \"" + fence + "\", ";
        out += "\"code\": ";
        AppendJsonString(&out, code);
        return out + "}\n";
      }
      if (unfenced) {
        return "Here is the code you asked for,\nwritten out in full:\n\n" + code + "\nIt should work as written.\n";
      }
      if (html) {
        std::string escaped;
        AppendHtml(&escaped, code);
        return "<p>Here is the code:</p>\n\n<pre><code" +
               (fence.empty() ? std::string() : " class=\"language-" + fence + "\"") + ">\n" + escaped +
               "</code></pre>\n";
      }
      return "Here is the code:\n\n```" + fence + "\n" + code + "```\n";
    };
    auto tokenizer = NewCodeTokenizer(&lang);
    ld.fmt = FormatterFor(lang.name, tmpdir);

    // Unique protected functions (by identifier-abstracted token stream) and the independent
    // copy test for held-out functions.
    std::unordered_map<uint64_t, size_t> stream_count;
    std::vector<uint64_t> stream_hash(ld.functions.size(), 0);
    std::unordered_set<uint64_t> protected_windows, protected_whole;
    Tokens toks;
    for (size_t i = 0; i < ld.functions.size(); ++i) {
      const Function& f = ld.functions[i];
      if (!ld.files[f.file].is_protected) continue;
      const std::string code = ld.files[f.file].text.substr(f.begin, f.end - f.begin);
      if (!tokenizer->Tokenize(code, &toks).ok()) continue;
      XXH3_state_t* st = XXH3_createState();
      XXH3_64bits_reset(st);
      for (const auto& t : toks) XXH3_64bits_update(st, &t.hash, sizeof t.hash);
      stream_hash[i] = XXH3_64bits_digest(st);
      XXH3_freeState(st);
      ++stream_count[stream_hash[i]];
      const std::string w = StripWs(code);
      protected_whole.insert(XXH3_64bits(w.data(), w.size()));
    }
    for (const auto& file : ld.files) {
      if (!file.is_protected) continue;
      std::vector<std::string> sig;
      for (const auto& l : SplitLines(file.text)) {
        std::string s = StripWs(l);
        if (s.size() >= 8) sig.push_back(s);
      }
      for (size_t i = 0; i + 4 <= sig.size(); ++i) {
        const std::string w = sig[i] + "\n" + sig[i + 1] + "\n" + sig[i + 2] + "\n" + sig[i + 3];
        protected_windows.insert(XXH3_64bits(w.data(), w.size()));
      }
    }
    auto is_copy = [&](const std::string& code) {
      const std::string whole = StripWs(code);
      if (protected_whole.count(XXH3_64bits(whole.data(), whole.size()))) return true;
      std::vector<std::string> sig;
      for (const auto& l : SplitLines(code)) {
        std::string s = StripWs(l);
        if (s.size() >= 8) sig.push_back(s);
      }
      for (size_t i = 0; i + 4 <= sig.size(); ++i) {
        const std::string w = sig[i] + "\n" + sig[i + 1] + "\n" + sig[i + 2] + "\n" + sig[i + 3];
        if (protected_windows.count(XXH3_64bits(w.data(), w.size()))) return true;
      }
      return false;
    };
    ld.unique.assign(ld.functions.size(), 0);
    for (size_t i = 0; i < ld.functions.size(); ++i) {
      const Function& f = ld.functions[i];
      const uint32_t n = f.lines();
      if (ld.files[f.file].is_protected) {
        if (n < 6 || n > 80) continue;
        ld.drawn_6_80.push_back(i);
        if (n >= 10 && n <= 30) ld.drawn_10_30.push_back(i);
        if (stream_count[stream_hash[i]] != 1) {
          ++ld.duplicate_functions;
          continue;
        }
        ld.unique[i] = 1;
        ++ld.queryable_6_80;
      } else {
        const bool novel = n >= 6 && n <= 80, shrt = n <= 4;
        if (!novel && !shrt) continue;
        if (is_copy(FunctionText(ld.files, f))) {
          ++ld.copied_negatives;
          continue;
        }
        (novel ? ld.novel : ld.shorts).push_back(i);
      }
    }

    std::unordered_map<uint32_t, Tokens> file_tokens;  // whole-file tokens, for renaming
    auto renamed = [&](const Function& f) {
      auto it = file_tokens.find(f.file);
      if (it == file_tokens.end()) {
        Tokens t;
        if (!tokenizer->Tokenize(ld.files[f.file].text, &t).ok()) t.clear();
        it = file_tokens.emplace(f.file, std::move(t)).first;
      }
      return Rename(FunctionText(ld.files, f), it->second, f.line_begin);
    };

    for (size_t ci = 0; ci < classes.size(); ++ci) {
      const std::string& cls = classes[ci];
      Tally& t = tallies[lang.name][cls];
      const bool embedded = cls.rfind("embedded", 0) == 0;
      std::vector<size_t> pool = embedded ? ld.drawn_10_30 : ld.drawn_6_80;
      std::mt19937_64 rng(20261130 + ci * 1000 + XXH3_64bits(lang.name.data(), lang.name.size()) % 1000);
      std::shuffle(pool.begin(), pool.end(), rng);
      size_t made = 0;
      for (size_t pi = 0; pi < pool.size() && made < per_class; ++pi) {
        if (!ld.unique[pool[pi]]) continue;
        const Function& f = ld.functions[pool[pi]];
        const SourceFile& src = ld.files[f.file];
        const std::string original = FunctionText(ld.files, f);
        std::string code, copy;
        uint32_t true_first = 0, true_last = 0;
        if (cls == "verbatim") {
          code = original;
        } else if (cls == "renamed") {
          code = renamed(f);
        } else if (cls == "reformatted" || cls == "renamed+reformatted") {
          const std::string in = cls == "reformatted" ? original : renamed(f);
          if (!Reformat(ld.fmt, in, tmpdir, &code) || StripWs(code).empty()) {
            ++t.skipped;
            continue;
          }
          if (code == Dedent(in)) ++t.unchanged;
        } else {
          if (ld.novel.size() < 2) break;
          const std::string before = FunctionText(ld.files, ld.functions[ld.novel[rng() % ld.novel.size()]]);
          const std::string after = FunctionText(ld.files, ld.functions[ld.novel[rng() % ld.novel.size()]]);
          copy = renamed(f);
          code = before + "\n";
          // The answer's first code line is line 4 ("Here is the code:", "", the fence).
          true_first = 4 + static_cast<uint32_t>(std::count(code.begin(), code.end(), '\n'));
          code += copy;
          true_last = 3 + static_cast<uint32_t>(std::count(code.begin(), code.end(), '\n'));
          code += "\n" + after;
        }
        ++made;
        Query q;
        q.lang = lang.name;
        q.cls = cls;
        q.text = answer(code);
        q.code = code;
        q.src = src.name;
        q.where = src.name + " lines " + std::to_string(f.first_line) + "-" + std::to_string(f.last_line) + " (" +
                  std::to_string(f.lines()) + " lines)";
        q.true_first = true_first;
        q.true_last = true_last;
        Tokens ct;
        q.code_tokens = tokenizer->Tokenize(embedded ? copy : code, &ct).ok() ? static_cast<uint32_t>(ct.size()) : 0;
        queries.push_back(std::move(q));
      }
    }

    // Negatives: up to PER_CLASS held-out novel and short functions.
    for (int which = 0; which < 2; ++which) {
      std::vector<size_t> pool = which == 0 ? ld.novel : ld.shorts;
      std::mt19937_64 rng(777 + which + XXH3_64bits(lang.name.data(), lang.name.size()) % 1000);
      std::shuffle(pool.begin(), pool.end(), rng);
      for (size_t pi = 0; pi < pool.size() && pi < per_class; ++pi) {
        const Function& f = ld.functions[pool[pi]];
        const std::string code = FunctionText(ld.files, f);
        Query q;
        q.lang = lang.name;
        q.neg = which;
        q.text = answer(code);
        q.code = code;
        q.where = ld.files[f.file].name + ":" + std::to_string(f.first_line) + " `" + FirstLine(code) + "`";
        queries.push_back(std::move(q));
      }
    }
    std::fprintf(stderr, "%s: queries made (%.0f s)\n", lang.name.c_str(),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count());
  }

  // The same suite as files for the peer tools (bench/peers/run.sh WORK): the protected files,
  // one file of raw code per query, and a manifest.
  {
    const std::map<std::string, std::string> ext = {
        {"python", "py"}, {"javascript", "js"}, {"typescript", "ts"}, {"tsx", "tsx"}, {"java", "java"}, {"c", "c"},
        {"cpp", "cc"},    {"go", "go"},         {"rust", "rs"},       {"ruby", "rb"},   {"c_sharp", "cs"}};
    const fs::path peers = fs::path(work) / "peers";
    auto write = [](const fs::path& p, const std::string& text) {
      fs::create_directories(p.parent_path());
      std::ofstream(p, std::ios::binary) << text;
    };
    for (const auto& ld : data) {
      for (const auto& f : ld.files) {
        if (f.is_protected) write(peers / "protected" / f.name, f.text);
      }
    }
    std::ofstream manifest(peers / "manifest.jsonl");
    for (size_t i = 0; i < queries.size(); ++i) {
      const Query& q = queries[i];
      const std::string id = std::to_string(i);
      const std::string file = "queries/" + id + "." + ext.at(q.lang);
      write(peers / file, q.code);
      const std::string cls = q.neg < 0 ? q.cls : q.neg == 0 ? "novel" : "short";
      manifest << "{\"id\":\"" << id << "\",\"file\":\"" << file << "\",\"lang\":\"" << q.lang << "\",\"class\":\"" << cls
               << "\"";
      if (q.neg < 0) manifest << ",\"source\":\"protected/" << q.src << "\"";
      // The answer's code starts at its line 4.
      if (q.true_last > 0) manifest << ",\"first_line\":" << q.true_first - 3 << ",\"last_line\":" << q.true_last - 3;
      manifest << "}\n";
    }
  }

  // Check every query on all cores (Check is thread-safe); everything above was serial and
  // deterministic, and the tallies below run in query order.
  // QC_LEXER_FIRST=1: every answer checked as the scan checks code (CheckRequest::lexer_first).
  CheckRequest request;
  if (const char* lf = std::getenv("QC_LEXER_FIRST"); lf != nullptr && std::string_view(lf) == "1") {
    request.lexer_first = true;
  }
  auto check_all = [&](const Filter& f) {
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::thread> pool;
    for (unsigned ti = 0; ti < threads; ++ti) {
      pool.emplace_back([&] {
        for (size_t i; (i = next.fetch_add(1)) < queries.size();) {
          const auto a = std::chrono::steady_clock::now();
          auto v = f.Check(queries[i].text, request);
          queries[i].us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - a).count();
          if (!v.ok()) {
            std::fprintf(stderr, "check failed: %s\n", v.status().ToString().c_str());
            failed = true;
            return;
          }
          queries[i].v = std::move(v).value();
          for (Span& sp : queries[i].v.spans) {
            if (sp.json_pointer.empty()) continue;  // (QC_JSON: the code string's line 1 is a fence's line 4)
            sp.query.first_line = sp.json_first_line + 3;
            sp.query.last_line = sp.json_last_line + 3;
          }
          if (i % 1000 == 999) std::fprintf(stderr, "checked %zu/%zu\n", i + 1, queries.size());
        }
      });
    }
    for (auto& t : pool) t.join();
    return !failed;
  };
  // QC_VARIANTS="key=value,key=value;...": other settings, each checked over the same queries
  // and summarized in one line (the tables below are for the defaults).
  if (const char* variants = std::getenv("QC_VARIANTS")) {
    std::printf("| variant | verbatim | renamed | reformatted | both | embedded (IoU >= 0.8) | novel false | short false |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    std::stringstream all(variants);
    for (std::string variant; std::getline(all, variant, ';');) {
      FilterOptions fo;
      if (!ApplySettings(variant, &fo)) return 2;
      auto vf = Filter::FromIndex(shared, fo);
      if (!check_all(*vf)) return 1;
      std::map<std::string, std::pair<size_t, size_t>> rate;  // class → (hits, n)
      for (const Query& q : queries) {
        const bool flagged = q.v.action == Action::kRedact || q.v.action == Action::kBlock;
        if (q.neg >= 0) {
          auto& r = rate[q.neg == 0 ? "novel" : "short"];
          r.first += flagged;
          ++r.second;
          continue;
        }
        bool ok = false;
        for (const auto& sp : q.v.spans) {
          if (sp.source_name != q.src || !flagged) continue;
          if (q.true_last == 0) {
            ok = true;
          } else {
            const int64_t inter = std::min<int64_t>(sp.query.last_line, q.true_last) -
                                  std::max<int64_t>(sp.query.first_line, q.true_first) + 1;
            const int64_t uni = std::max<int64_t>(sp.query.last_line, q.true_last) -
                                std::min<int64_t>(sp.query.first_line, q.true_first) + 1;
            ok |= inter > 0 && double(inter) / uni >= 0.8;
          }
        }
        auto& r = rate[q.cls];
        r.first += ok;
        ++r.second;
      }
      auto pct = [&](const char* c) {
        const auto& r = rate[c];
        return r.second ? 100.0 * r.first / r.second : 0.0;
      };
      std::printf("| %s | %.1f%% | %.1f%% | %.1f%% | %.1f%% | %.1f%% | %.2f%% | %.2f%% |\n", variant.c_str(), pct("verbatim"),
                  pct("renamed"), pct("reformatted"), pct("renamed+reformatted"), pct("embedded 10-30 lines"), pct("novel"),
                  pct("short"));
      std::fflush(stdout);
    }
  }
  if (!check_all(*filter)) return 1;
  double total_us = 0;
  std::map<std::string, std::pair<double, size_t>> lang_us;
  // Every false flag with its spans' text on both sides, for reading.
  std::ofstream false_log(work + "/false-flags.md");
  std::ofstream miss_log(work + "/misses.md");  // every copy not caught, with its spans
  fs::remove_all(work + "/misses");
  fs::create_directories(work + "/misses");
  size_t misses_written = 0;
  for (const Query& q : queries) {
    total_us += q.us;
    lang_us[q.lang].first += q.us;
    ++lang_us[q.lang].second;
    const Verdict& v = q.v;
    const bool flagged = v.action == Action::kRedact || v.action == Action::kBlock;
    if (q.neg >= 0) {
      NegTally& nt = q.neg == 0 ? negs[q.lang].first : negs[q.lang].second;
      ++nt.n;
      nt.flagged += flagged;
      nt.annotated += v.action == Action::kAnnotate;
      if (flagged && false_log.is_open()) {
        false_log << "## " << q.lang << (q.neg == 0 ? " novel " : " short ") << q.where << "\n\n";
        for (const auto& sp : v.spans) {
          auto content = shared->GetContent(sp.source_id);
          false_log << "span: " << sp.matched_tokens << "/" << sp.query_tokens << " tokens, renaming " << sp.renaming
                    << ", from " << sp.source_name << "\n\n```\n"
                    << q.text.substr(sp.query.start, sp.query.end - sp.query.start) << "\n```\n\n```\n"
                    << (content.ok() ? content->substr(sp.source.start, sp.source.end - sp.source.start) : "?")
                    << "\n```\n\n";
        }
      }
      if (flagged && false_examples.size() < 5) {
        false_examples.push_back(q.lang + (q.neg == 0 ? " novel " : " short ") + q.where + " -> " + std::string(ActionName(v.action)) +
                                 (v.spans.empty() ? "" : ", first span from " + v.spans[0].source_name +
                                  " (lines " + std::to_string(v.spans[0].source.first_line) + "-" + std::to_string(v.spans[0].source.last_line) +
                                  ", renaming " + std::to_string(v.spans[0].renaming).substr(0, 4) + ")"));
      }
      continue;
    }
    Tally& t = tallies[q.lang][q.cls];
    const bool embedded = q.true_last > 0;
    ++t.n;
    bool named = false;
    double best_overlap = -1, best_iou = 0;
    for (const auto& s : v.spans) {
      if (s.source_name != q.src) continue;
      named = true;
      if (embedded) {
        const int64_t inter = std::min<int64_t>(s.query.last_line, q.true_last) -
                              std::max<int64_t>(s.query.first_line, q.true_first) + 1;
        const int64_t uni = std::max<int64_t>(s.query.last_line, q.true_last) -
                            std::min<int64_t>(s.query.first_line, q.true_first) + 1;
        const double ov = std::max<int64_t>(0, inter);
        if (ov > best_overlap) {
          best_overlap = ov;
          best_iou = ov / uni;
        }
      }
    }
    const bool caught = flagged && named;
    t.caught += caught;
    const bool iou_ok = caught && embedded && best_iou >= 0.8;
    t.iou_ok += iou_ok;
    if (q.code_tokens >= 40) {
      ++t.big;
      t.big_caught += embedded ? iou_ok : caught;
    }
    if (!caught || (embedded && !iou_ok)) {
      std::string spans;
      for (const auto& s : v.spans) {
        char sb[400];
        std::snprintf(sb, sizeof sb, " [%s: answer lines %u-%u, %u/%u tokens, renaming %.2f]",
                      s.source_name == q.src ? "TRUE SOURCE" : s.source_name.c_str(), s.query.first_line, s.query.last_line,
                      s.matched_tokens, s.query_tokens, s.renaming);
        spans += sb;
      }
      const std::string miss = q.lang + " " + q.cls + ": " + q.where + ", " + std::to_string(q.code_tokens) +
                               " code tokens -> " + std::string(ActionName(v.action)) +
                               (embedded ? ", copy at answer lines " + std::to_string(q.true_first) + "-" +
                                               std::to_string(q.true_last)
                                         : "") +
                               spans;
      // The answer itself, to check again by hand: doppel-filter check --index WORK/index FILE.
      const std::string answer_file = work + "/misses/" + std::to_string(++misses_written) + ".md";
      std::ofstream(answer_file) << q.text;
      miss_log << "- " << miss << " (" << answer_file << ")\n";
      if (miss_examples_per_class[q.lang + q.cls]++ < 2) miss_examples.push_back(miss);
    }
  }
  const size_t checks = queries.size();

  std::printf("| language | files (protected/other packages) | functions | queryable 6-80 | not unique (excluded) | novel | short | copies in other packages (excluded) | formatter |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
  for (const auto& ld : data) {
    size_t p = 0;
    for (const auto& f : ld.files) p += f.is_protected;
    std::printf("| %s | %zu/%zu | %zu | %zu | %zu | %zu | %zu | %zu | %s |\n", ld.lang->name.c_str(), p, ld.files.size() - p,
                ld.functions.size(), ld.queryable_6_80, ld.duplicate_functions, ld.novel.size(), ld.shorts.size(),
                ld.copied_negatives, ld.fmt.name.c_str());
  }
  for (const auto& n : no_corpus) std::printf("| %s | no corpus | | | | | | | |\n", n.c_str());

  std::printf("\nrecall = redact or block with a span naming the true source file. The last column is the same "
              "(for embedded: caught with IoU >= 0.8) over the copies of >= 40 code tokens (the default code redact_tokens).\n");
  std::printf("\n| language | class | queries | recall | IoU>=0.8 (embedded) | formatter skips | formatter left unchanged | copies >= 40 tokens: n, recall |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|---:|\n");
  std::map<std::string, Tally> overall;
  for (const auto& ld : data) {
    for (const auto& cls : classes) {
      const Tally& t = tallies[ld.lang->name][cls];
      Tally& o = overall[cls];
      o.n += t.n; o.caught += t.caught; o.iou_ok += t.iou_ok; o.skipped += t.skipped; o.unchanged += t.unchanged;
      o.big += t.big; o.big_caught += t.big_caught;
      const bool emb = cls.rfind("embedded", 0) == 0, fmt = cls.find("reformatted") != std::string::npos;
      std::printf("| %s | %s | %zu | %.1f%% | %s | %s | %s | %zu, %.1f%% |\n", ld.lang->name.c_str(), cls.c_str(), t.n,
                  t.n ? 100.0 * t.caught / t.n : 0.0,
                  emb ? (t.n ? std::to_string(100.0 * t.iou_ok / t.n).substr(0, 5) + "%" : "-").c_str() : "",
                  fmt ? std::to_string(t.skipped).c_str() : "", fmt ? std::to_string(t.unchanged).c_str() : "",
                  t.big, t.big ? 100.0 * t.big_caught / t.big : 0.0);
    }
  }
  for (const auto& cls : classes) {
    const Tally& o = overall[cls];
    const bool emb = cls.rfind("embedded", 0) == 0, fmt = cls.find("reformatted") != std::string::npos;
    std::printf("| **all** | %s | %zu | %.1f%% | %s | %s | %s | %zu, %.1f%% |\n", cls.c_str(), o.n, o.n ? 100.0 * o.caught / o.n : 0.0,
                emb ? (std::to_string(100.0 * o.iou_ok / o.n).substr(0, 5) + "%").c_str() : "",
                fmt ? std::to_string(o.skipped).c_str() : "", fmt ? std::to_string(o.unchanged).c_str() : "",
                o.big, o.big ? 100.0 * o.big_caught / o.big : 0.0);
  }
  for (const auto& n : no_corpus) std::printf("| %s | no corpus | | | | | | |\n", n.c_str());

  std::printf("\n| language | novel false flags | novel annotate | short false flags | short annotate |\n");
  std::printf("|---|---:|---:|---:|---:|\n");
  NegTally on, os;
  for (const auto& ld : data) {
    const auto& [nv, sh] = negs[ld.lang->name];
    on.n += nv.n; on.flagged += nv.flagged; on.annotated += nv.annotated;
    os.n += sh.n; os.flagged += sh.flagged; os.annotated += sh.annotated;
    std::printf("| %s | %zu/%zu (%.2f%%) | %.1f%% | %zu/%zu (%.2f%%) | %.1f%% |\n", ld.lang->name.c_str(), nv.flagged, nv.n,
                nv.n ? 100.0 * nv.flagged / nv.n : 0.0, nv.n ? 100.0 * nv.annotated / nv.n : 0.0, sh.flagged, sh.n,
                sh.n ? 100.0 * sh.flagged / sh.n : 0.0, sh.n ? 100.0 * sh.annotated / sh.n : 0.0);
  }
  std::printf("| **all** | %zu/%zu (%.2f%%) | %.1f%% | %zu/%zu (%.2f%%) | %.1f%% |\n", on.flagged, on.n,
              on.n ? 100.0 * on.flagged / on.n : 0.0, on.n ? 100.0 * on.annotated / on.n : 0.0, os.flagged, os.n,
              os.n ? 100.0 * os.flagged / os.n : 0.0, os.n ? 100.0 * os.annotated / os.n : 0.0);
  for (const auto& n : no_corpus) std::printf("| %s | no corpus | | | |\n", n.c_str());

  std::printf("\nmean Filter::Check time per language:");
  for (const auto& [l, p] : lang_us) std::printf(" %s %.1f ms;", l.c_str(), p.first / p.second / 1000);
  std::printf("\nmean Filter::Check time %.1f ms over %zu checks (%u threads); total run %.0f s\n", checks ? total_us / checks / 1000 : 0.0, checks,
              std::max(1u, std::thread::hardware_concurrency()),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count());
  std::printf("\nfalse flags (up to 5):\n");
  for (const auto& e : false_examples) std::printf("- %s\n", e.c_str());
  std::printf("\nmisses (up to 2 per language and class):\n");
  for (const auto& e : miss_examples) std::printf("- %s\n", e.c_str());
  return 0;
}
