// Code normalization (tree-sitter and the generic lexer), Markdown splitting, and renamed-copy
// detection through the filter.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <tuple>

#include <simdjson.h>
#include <tree_sitter/api.h>

#include "code/code_tokens.h"
#include "code/dense_parse_table.h"
#include "code/parse_deadline.h"
#include "doppel/code_tokenizer.h"
#include "doppel/filter.h"
#include "doppel/format.h"
#include "doppel/policy.h"
#include "doppel/index.h"
#include "doppel/json_answer.h"
#include "doppel/language.h"
#include "doppel/markdown.h"
#include "doppel/session.h"
#include "doppel/shingle.h"
#include "test_util.h"

using namespace doppel;
using doppel_test::TempDir;

namespace {

std::vector<uint64_t> CodeHashes(const std::string& lang, std::string_view code) {
  const Language* l = LanguageByName(lang);
  REQUIRE((l != nullptr || lang == "generic"));
  auto tok = NewCodeTokenizer(l);
  Tokens t;
  Status s = tok->Tokenize(code, &t);
  REQUIRE(s.ok());
  std::vector<uint64_t> h;
  TokenHashes(t, &h);
  return h;
}

// A case file: first line the language, then two snippets separated by a line "---".
struct Case {
  std::string lang, a, b;
};
Case ReadCase(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string all = ss.str();
  Case c;
  const size_t nl = all.find('\n');
  c.lang = all.substr(0, nl);
  const std::string rest = all.substr(nl + 1);
  const size_t sep = rest.find("\n---\n");
  REQUIRE(sep != std::string::npos);
  c.a = rest.substr(0, sep + 1);
  c.b = rest.substr(sep + 5);
  return c;
}

}  // namespace

TEST_CASE("code: every language table loads with its grammar") {
  auto langs = Languages();
  REQUIRE(langs.ok());
  REQUIRE((*langs)->size() == 11);
  for (const auto& l : **langs) {
    INFO(l.name);
    CHECK(l.grammar != nullptr);
    CHECK(!l.extensions.empty());
    CHECK(!l.fences.empty());
    CHECK(!l.identifiers.empty());
    CHECK(!l.line_comment.empty());
    for (const auto& f : l.fences) CHECK(LanguageByFence(f) == &l);
  }
  CHECK(LookupLanguage("py")->name == "python");
  CHECK(LookupLanguage("C++")->name == "cpp");
  CHECK(LookupLanguage("golang")->name == "go");
  // Extensions with or without their dot (--lang .py, "language": ".rs").
  CHECK(LookupLanguage(".py")->name == "python");
  CHECK(LookupLanguage(".RS")->name == "rust");
  CHECK(LookupLanguage("rb")->name == "ruby");
  CHECK(LookupLanguage(".") == nullptr);
  CHECK(LanguageForPath("src/Main.JAVA")->name == "java");
  CHECK(LanguageForPath("README") == nullptr);
  CHECK(LookupLanguage("cobol") == nullptr);
  CHECK(GrammarsVersion().size() == 64);
}

TEST_CASE("code: a language table with an unknown key or a bad value is refused naming its line") {
  const std::string good = "name: toy\nextensions: .toy\nblock_comment: /* */\nblock_indented: true\n";
  Language lang;
  REQUIRE(ParseLanguageTable(good, &lang).ok());
  CHECK(lang.name == "toy");
  CHECK(lang.block_open == "/*");
  CHECK(lang.block_indented);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {good + "lexer_import: use\n", "language table toy line 5: 'lexer_import' unknown key"},
      {good + "lexer_signed_numbers: yes\n", "line 5: 'lexer_signed_numbers' must be true or false"},
      {"name: toy\nblock_comment: /*\n", "line 2: 'block_comment' must be two words"},
      {"name: toy\nno colon here\n", "line 2: no ':'"},
      {good + "extensions: .toy2\n", "line 5: 'extensions' given twice"},
  };
  for (const auto& [text, message] : bad) {
    INFO(text);
    Language l;
    const Status s = ParseLanguageTable(text, &l);
    CHECK(s.code() == Status::Code::kInternal);
    CHECK_THAT(s.message(), Catch::Contains(message));
  }
}

TEST_CASE("code: normalization cases (renamed, reformatted, re-commented copies)") {
  size_t same = 0, differ = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::string(DOPPEL_TEST_DATA) + "/code_normalization")) {
    const Case c = ReadCase(e.path());
    INFO(e.path().filename().string());
    const auto a = CodeHashes(c.lang, c.a);
    const auto b = CodeHashes(c.lang, c.b);
    CHECK(a.size() > 5);
    if (e.path().extension() == ".same") {
      CHECK(a == b);
      ++same;
    } else {
      CHECK(a != b);
      ++differ;
    }
  }
  CHECK(same >= 11);  // every language has at least one
  CHECK(differ >= 2);
}

namespace {

// Every node of the parse of `code` with `grammar`, in document order: symbol, byte range,
// missing, error.
std::vector<std::string> ParseNodes(const TSLanguage* grammar, const std::string& code) {
  TSParser* p = ts_parser_new();
  REQUIRE(ts_parser_set_language(p, grammar));
  TSTree* tree = ts_parser_parse_string(p, nullptr, code.data(), static_cast<uint32_t>(code.size()));
  REQUIRE(tree != nullptr);
  std::vector<std::string> nodes;
  TSTreeCursor c = ts_tree_cursor_new(ts_tree_root_node(tree));
  for (bool more = true; more;) {
    const TSNode n = ts_tree_cursor_current_node(&c);
    nodes.push_back(std::to_string(ts_node_symbol(n)) + " " + std::to_string(ts_node_start_byte(n)) + "-" +
                    std::to_string(ts_node_end_byte(n)) + (ts_node_is_missing(n) ? " missing" : "") +
                    (ts_node_has_error(n) ? " error" : ""));
    if (ts_tree_cursor_goto_first_child(&c)) continue;
    while (!ts_tree_cursor_goto_next_sibling(&c)) {
      if (!ts_tree_cursor_goto_parent(&c)) {
        more = false;
        break;
      }
    }
  }
  ts_tree_cursor_delete(&c);
  ts_tree_delete(tree);
  ts_parser_delete(p);
  return nodes;
}

}  // namespace

TEST_CASE("code: the dense parse tables give the grammar's own parse of whole and broken snippets") {
  // Every case file's snippets, whole and from each line on (a window that starts inside a
  // block: error recovery, where the tables are read most), and lines that are no code at all.
  std::map<std::string, std::vector<std::string>> inputs;
  for (const auto& e : std::filesystem::directory_iterator(std::string(DOPPEL_TEST_DATA) + "/code_normalization")) {
    const Case c = ReadCase(e.path());
    for (const std::string& code : {c.a, c.b}) {
      for (size_t at = 0; at < code.size(); at = code.find('\n', at) + 1) {
        inputs[c.lang].push_back(code.substr(at));
        if (code.find('\n', at) == std::string::npos) break;
      }
    }
  }
  auto langs = Languages();
  REQUIRE(langs.ok());
  size_t compared = 0, broken = 0;
  for (const auto& l : **langs) {
    INFO(l.name);
    const TSLanguage* dense = DenseParseTable(l.grammar);
    CHECK(dense != l.grammar);  // every pinned grammar is ABI 14
    CHECK(DenseParseTable(l.grammar) == dense);  // made once
    CHECK(ts_language_symbol_count(dense) == ts_language_symbol_count(l.grammar));
    auto& in = inputs[l.name];
    in.push_back("\t.macro x\n\t.long \\a,%b\n\t\\c = 1\n#ifdef D\n\t.endm\n) => { } ] ;;\n");
    in.push_back("");
    for (const std::string& code : in) {
      INFO(code);
      const std::vector<std::string> nodes = ParseNodes(l.grammar, code);
      CHECK(ParseNodes(dense, code) == nodes);
      ++compared;
      broken += nodes.front().ends_with(" error");
    }
  }
  CHECK(compared > 200);
  CHECK(broken > 100);  // most windows start inside a block
}

// The lexer's tokens, compared with the parse's token by token (hash, spelling, span, line).
void CheckLexerReadsParse(const std::string& lang, const std::string& code) {
  const Language* l = LanguageByName(lang);
  REQUIRE(l != nullptr);
  Tokens parsed, lexed;
  REQUIRE(NewCodeTokenizer(l)->Tokenize(code, &parsed).ok());
  REQUIRE(NewCodeLexer(l)->Tokenize(code, &lexed).ok());
  INFO(lang << ":\n" << code);
  REQUIRE(parsed.size() > 5);
  for (size_t i = 0; i < std::min(parsed.size(), lexed.size()); ++i) {
    INFO("token " << i << ": parse '" << code.substr(parsed[i].begin, parsed[i].end - parsed[i].begin) << "', lexer '"
                  << code.substr(lexed[i].begin, lexed[i].end - lexed[i].begin) << "'");
    REQUIRE(lexed[i].hash == parsed[i].hash);
    CHECK(lexed[i].name == parsed[i].name);
    CHECK(lexed[i].begin == parsed[i].begin);
    CHECK(lexed[i].end == parsed[i].end);
    CHECK(lexed[i].line == parsed[i].line);
  }
  CHECK(lexed.size() == parsed.size());
}

TEST_CASE("code: the first-pass lexer reads the tokens the parse gives in every language") {
  size_t cases = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::string(DOPPEL_TEST_DATA) + "/code_normalization")) {
    const Case c = ReadCase(e.path());
    INFO(e.path().filename().string());
    // A parse error's recovery is not what a lexer reads.
    if (e.path().filename().string().find("broken") != std::string::npos) continue;
    CheckLexerReadsParse(c.lang, c.a);
    CheckLexerReadsParse(c.lang, c.b);
    ++cases;
  }
  CHECK(cases >= 11);
  // What a lexer must tell from context.
  CheckLexerReadsParse("javascript",
                       "const re = /a[/]b/g, half = total / 2;\nconst s = `x ${a + `y`} z`;\n"
                       "class C { get size() { return this.map.get(k); } }\nimport x from './x.js';\n");
  CheckLexerReadsParse("python",
                       "def f(self, xs):\n    \"\"\"Docstring.\"\"\"\n    from . import util\n"
                       "    return [x for x in xs if x is not None]\n");
  CheckLexerReadsParse("rust",
                       "fn first<'a>(xs: &'a Vec<Vec<u8>>) -> Option<&'a u8> {\n    let f = || xs.len() >> 1;\n"
                       "    let v: Vec<Vec<u8>> = Vec::new();\n    xs.first().and_then(|x| x.first())\n}\n");
  CheckLexerReadsParse("ruby",
                       "def greet(name)\n  opts = { key: :sym, list: %w[a b] }\n  return name.empty? ? nil : name\nend\n"
                       "def [](key)\n  super(key)\nend\nalias_method :w, :[]= unless defined?(:w)\n");
  CheckLexerReadsParse("rust", "fn f() -> Vec<u8> {\n    vec![if x { 2 } else { 3 }]\n}\nfn g(x: &mut Ctx<'_>) {}\n"
                               "const USAGE: &str = \"\nUsage: tool [options]\n\";\nfn h(a: u32) -> u32 { a>>2 }\n");
  // A macro's token tree is read by longest match: `||`, `>>` and a lifetime's keyword stay whole.
  CheckLexerReadsParse("rust", "cfg_rt! {\n    fn a(f: &mut fmt::Formatter<'_>) -> Option<Vec<u8>> { run(|| x >> 2) }\n"
                               "    struct S { p: PhantomData<RefCell<()>>, s: &'static str }\n}\n"
                               "fn main() { let v = vec![|| 1, || 2]; let f = || v.len(); }\n"
                               "fn g() -> F { if x { return || 1; } loop { break || 2; } }\n");
  CheckLexerReadsParse("go", "package p\n\nvar re = `C:\\dir\\` + `two\nlines`\n\nfunc f() int { return len(re) }\n");
  CheckLexerReadsParse("c_sharp", "class A {\n  string s = $@\"a \"\"{b}\"\" c\";\n  string t = @\"x\"\"y\";\n}\n");
  // A byte order mark (skipped by the parse), and C#'s `#pragma warning` read word by word.
  CheckLexerReadsParse("c_sharp", "\xEF\xBB\xBFusing System;\nclass A {\n#pragma warning disable SA1401, SA1307 // why\n"
                                  "  public int x;\n#pragma warning restore SA1401\n}\n");
  CheckLexerReadsParse("java", "\xEF\xBB\xBFimport java.util.List;\nclass B {}\n");
  {  // a block of a larger text: the mark skipped, offsets from the block's base
    Tokens lexed;
    REQUIRE(NewCodeLexer(LanguageByName("java"))->Tokenize("\xEF\xBB\xBF" "class B {}\n", &lexed, 100, 7).ok());
    REQUIRE(!lexed.empty());
    CHECK(lexed.front().begin == 103);
    CHECK(lexed.front().line == 7);
  }
  CheckLexerReadsParse("ruby", "def f\n  g(<<~ONE, <<~TWO)\n    first\n  ONE\n    second\n  TWO\n  h(1)\nend\n");
  // Deeply nested templates and unclosed heredocs and regular expressions: read without
  // exhausting the stack, tokens in order, lines exact.
  for (const auto& [lang, unit] : std::vector<std::pair<std::string, std::string>>{
           {"javascript", "`${"}, {"ruby", "<<~A + %w(\nx\nA\n"}, {"ruby", "<<'A"}, {"javascript", "= /[\\\n"}}) {
    std::string text;
    for (int i = 0; i < 20000; ++i) text += unit;
    Tokens lexed;
    REQUIRE(NewCodeLexer(LanguageByName(lang))->Tokenize(text, &lexed).ok());
    uint32_t line = 1;
    size_t at = 0;
    for (size_t i = 0; i < lexed.size(); ++i) {
      REQUIRE(lexed[i].end <= text.size());
      REQUIRE((i == 0 || lexed[i].begin >= lexed[i - 1].begin));
      for (; at < lexed[i].begin; ++at) line += text[at] == '\n';
      REQUIRE(lexed[i].line == line);
    }
  }
  CheckLexerReadsParse("c",
                       "#include <stdio.h>\n#define MAX(a, b) ((a) > (b) ? (a) : (b))\n"
                       "int main(void) {\n  char c = 'x';\n  return p->next == NULL ? 0 : MAX(1, 2);\n}\n");
  CheckLexerReadsParse("java",
                       "class A {\n  Map<String, List<Integer>> m = new HashMap<>();\n"
                       "  void run() { this.m.clear(); int x = y >> 2; }\n}\n");
  // Signs that belong to number literals (lexer_signed_numbers), and those that do not.
  for (const char* lang : {"c", "cpp"}) {
    CheckLexerReadsParse(lang,
                         "int f(int a, int *z) {\n  int v[] = {-1, +2};\n  switch (a) { case -1: return -0x1F; }\n"
                         "  a = (int)-1 + (unsigned char *)-2 - (a)-1 - z[0]-1 - a -1 - - 1 - -.5;\n"
                         "  return a ? -1 : f(-1, -2.5);\n}\n");
  }
  // TypeScript's `string` and `number` as types after `<`, `|`, `&`, `[` and `=>`.
  CheckLexerReadsParse("typescript",
                       "type R = Record<string, number>;\nlet a: T[number] | string & X;\n"
                       "const f: (x: T) => number = (x) => x.length;\nconst n = g(items[0]);\n"
                       "export const k: unique symbol = Symbol('k');\nconst unique = new Set();\nunique.add(1);\n");
  // JavaScript's private names, optional chaining, `async` arrow functions and contextual
  // words used as names and keys; JSX attribute names with hyphens.
  CheckLexerReadsParse("javascript",
                       "class A {\n  #x = 1;\n  #m() { return this.#x?.y ?? a?.[0] ?? f?.(1); }\n  static #s;\n"
                       "  has(o) { return #x in o; }\n  delete(key) { return from < 5 && set === undefined; }\n}\n"
                       "const t = c ?.5 : 1;\nit('runs', async () => { await go(); });\n"
                       "const o = { a: 1, default: false };\nswitch (k) { case 1: break; default: go(); }\n");
  CheckLexerReadsParse("tsx", "type F = <T>(x: T) => T;\nconst s = <script async defer />;\nconst h = a-b-c - d;\n");
  CheckLexerReadsParse("typescript", "const m: Map<string, number> = new Map();\ntype R = Record<string, number>;\n"
                                     "let s = from < 5 && set === undefined;\n");
  CheckLexerReadsParse("c_sharp", "class A {\n  bool F(char c) { return c is >= (char)97 and <= (char)122; }\n"
                                  "  void G() { Func<int, int> f = _ => 0; var r = v switch { 1 => 2, _ => 3 }; }\n}\n");
  CheckLexerReadsParse("tsx", "const e = <input aria-label={label} data-test-id=\"x\" onChange={f} />;\n"
                              "const o = { delete: 1, default: 2 };\nfunction g<T extends string>(x: T) { return x; }\n");
  // Ruby's symbols (of variables, setters, operators, quoted), code in a string's #{...} whose
  // strings hold quotes, special globals, and the number suffixes' words as names.
  CheckLexerReadsParse("ruby",
                       "def f(i, r)\n  x = [:@a, :@@b, :$c, :d, :e?, :f=, :\"g h\", :'i']\n  y = v.reduce(:+)\n"
                       "  s = \"'#{string.gsub('\\\\') { '\\\\\\\\' }.gsub('\\\"', '\"')}'\"\n"
                       "  t = \"a #{h[\"k\"]} b\"\n  warn $!.message if $0 == __FILE__ && $1\n  i + r\n"
                       "  z = i ? \"one\" : \"two\"\n  \"#{z} \" 'joined'\nend\n");
  // Rust: a primitive type's word before `::` and `_` as a type argument are names; in a
  // macro's token tree (macro_rules! bodies too) `else`, `in` and `move` are names.
  CheckLexerReadsParse("rust",
                       "fn f() {\n    let a = u8::MAX;\n    let b = char::from_u32(3);\n    let v: Vec<_> = it.collect();\n"
                       "    match y { _ => 1 }\n    assert!(x in y, move || z);\n}\n"
                       "macro_rules! m {\n    ($x:expr) => { if $x { 1 } else { 2 } };\n}\n");
  // Ruby's regular expressions over several lines, and %-literals closed by their opening
  // punctuation.
  CheckLexerReadsParse("ruby", "def f(body)\n  body.scan(/rb_attr\\s*\\(\n     \\s*(\\w+)\\);/xm) do |a|\n    a\n  end\n"
                               "  body.scan(%r%rb_define\\(\\s*(\\w+)%xm) { |b| b }\nend\n");
  // C: an asm statement's operand lists (`::"r"(x)`) are colons, not a scope.
  CheckLexerReadsParse("c", "void f(int x) {\n  asm volatile(\"movl %0, %%eax\" ::\"r\"(x) : \"%eax\");\n}\n");
  // C++: `long(x)` is a call of a name; an #if's or #elif's line ends in a newline leaf.
  CheckLexerReadsParse("cpp", "#if FOO && \\\n    BAR\nint x = long(y) + unsigned(z);\n#elif BAZ\nint z = 1;\n#endif\n");
  // C#: the discard before `=>`, and a lambda's implicit parameter (a name).
  CheckLexerReadsParse("c_sharp", "class A {\n  void F() {\n    Run(_ => Go(1), null);\n"
                                  "    var r = v switch { 1 => 2, _ => 3 };\n    M(h => h.Ok);\n  }\n}\n");
  // Keywords after a member access (lexer_member_keywords).
  CheckLexerReadsParse("java",
                       "class B {\n  Class<?> c = String.class;\n  Object o = B.this;\n  Inner i = outer.new Inner();\n"
                       "  String s() { return B.super.toString() + int[].class.getName(); }\n}\n");
}

TEST_CASE("code: tokens keep spans, lines and original names") {
  const std::string code = "def area(r):\n    return 3.14 * r * r  # circle\n";
  auto tok = NewCodeTokenizer(LanguageByName("python"));
  Tokens t;
  REQUIRE(tok->Tokenize(code, &t, 100, 10).ok());
  REQUIRE(t.size() == 12);  // def ID ( ID ) : return NUM * ID * ID
  CHECK(t[0].hash != IdentifierTokenHash());
  CHECK(t[1].hash == IdentifierTokenHash());
  CHECK(code.substr(t[1].begin - 100, t[1].end - t[1].begin) == "area");
  CHECK(t[3].name == t[9].name);  // both "r"
  CHECK(t[9].name == t[11].name);
  CHECK(t[1].name != t[3].name);
  CHECK(t[7].hash == NumberTokenHash());
  CHECK(t[7].name != 0);  // literals keep their spelling (for the literal check) ...
  CHECK(t[7].name != t[3].name);
  Tokens other;
  REQUIRE(tok->Tokenize("def area(r):\n    return 2.71 * r * r\n", &other).ok());
  CHECK(other[7].hash == t[7].hash);  // ... while their normalized hash is the same
  CHECK(other[7].name != t[7].name);
  CHECK(t[0].line == 10);
  CHECK(t[6].line == 11);
  for (const auto& x : t) CHECK(code.find('#') > x.begin - 100);  // the comment gave no token
}

TEST_CASE("code: adjacent string literals the language joins are one literal spelled as the whole") {
  // A formatter that breaks a long literal into adjacent pieces (clang-format) leaves the same
  // string: the same token and spelling, in the parse and in the lexer.
  for (const auto& [lang, whole, split] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"c", "f(\"usage: tool [options]\");\n", "f(\"usage: \"\n  \"tool\" /* why */ \" [options]\");\n"},
           {"cpp", "f(u8\"usage: tool\");\n", "f(u8\"usage: \" \"tool\");\n"},
           {"python", "f('usage: tool')\n", "f(\"usage: \"\n  'tool')\n"},
           {"ruby", "f(\"usage: tool\")\n", "f(\"usage: \" 'tool')\n"}}) {
    INFO(lang << ": " << split);
    for (const bool lexer : {false, true}) {
      const Language* l = LanguageByName(lang);
      auto tok = lexer ? NewCodeLexer(l) : NewCodeTokenizer(l);
      Tokens a, b;
      REQUIRE(tok->Tokenize(whole, &a).ok());
      REQUIRE(tok->Tokenize(split, &b).ok());
      REQUIRE(a.size() == b.size());
      for (size_t i = 0; i < a.size(); ++i) {
        CHECK(a[i].hash == b[i].hash);
        CHECK(a[i].name == b[i].name);
      }
    }
  }
  // A generated table of thousands of pieces (pydoc's topics) is one literal too, in both readers.
  {
    std::string whole = "t = {'k': '", split = "t = {'k': ";
    for (int i = 0; i < 3000; ++i) {
      whole += "line " + std::to_string(i) + "\\n";
      split += "'line " + std::to_string(i) + "\\n'\n    ";
    }
    whole += "'}\n";
    split += "}\n";
    for (const bool lexer : {false, true}) {
      const Language* l = LanguageByName("python");
      auto tok = lexer ? NewCodeLexer(l) : NewCodeTokenizer(l);
      Tokens a, b;
      REQUIRE(tok->Tokenize(whole, &a).ok());
      REQUIRE(tok->Tokenize(split, &b).ok());
      REQUIRE(a.size() == b.size());
      CHECK(a.size() == 7);  // t = { STR : STR }
      for (size_t i = 0; i < a.size(); ++i) CHECK(a[i].name == b[i].name);
    }
  }
  // A macro between the pieces, and C's character literals, are not joined.
  CHECK(CodeHashes("c", "f(\"a\" PRIu64 \"b\");").size() == CodeHashes("c", "f(\"a\" \"b\");").size() + 2);
  CHECK(CodeHashes("c", "char s[] = {'a' 'b'};").size() > CodeHashes("c", "char s[] = {'a'};").size());
  // Languages that do not join adjacent literals keep them apart.
  CHECK(CodeHashes("go", "package p\nvar s = f(\"a\", \"b\")\n") != CodeHashes("go", "package p\nvar s = f(\"ab\")\n"));
}

// The spellings of the string literals of `code` in `lang`, read by the parse or by the lexer.
std::vector<uint64_t> LiteralNames(const std::string& lang, const std::string& code, bool lexer) {
  const Language* l = LanguageByName(lang);
  auto tok = lexer ? NewCodeLexer(l) : NewCodeTokenizer(l);
  Tokens t;
  REQUIRE(tok->Tokenize(code, &t).ok());
  std::vector<uint64_t> out;
  for (const Token& k : t) {
    if (k.hash == StringTokenHash()) out.push_back(k.name);
  }
  return out;
}

TEST_CASE("code: a literal over several lines is spelled without its lines' indentation") {
  // rubocop turns <<- into <<~ and indents the body; a copy pasted at another depth re-indents
  // every line of a string. Neither changes what the string says: the same tokens and spellings,
  // in the parse and in the lexer. Other words are another spelling.
  const std::string dash = "def f(name)\n  warn <<-EOF\nUnable to read #{name}\n\nPlease check it.\n  EOF\nend\n";
  const std::string squiggly = "def f(name)\n   warn <<~EOF\n      Unable to read #{name}\n\n      Please check it.\n   EOF\nend\n";
  const std::string reworded = "def f(name)\n   warn <<~EOF\n      Unable to open #{name}\n\n      Please check it.\n   EOF\nend\n";
  const std::string py = "def f():\n    q = \"\"\"\n        SELECT id\n        FROM t\n    \"\"\"\n    return q\n";
  const std::string py_moved = "class A:\n    def f():\n        q = \"\"\"\n            SELECT id\n            FROM t\n        \"\"\"\n        return q\n";
  const auto names = LiteralNames;
  for (const bool lexer : {false, true}) {
    INFO((lexer ? "lexer" : "parse"));
    const auto a = names("ruby", dash, lexer);
    CHECK(a.size() == 2);  // the opener and the body
    CHECK(a == names("ruby", squiggly, lexer));
    CHECK(a != names("ruby", reworded, lexer));
    const auto p = names("python", py, lexer);
    CHECK(p.size() == 1);
    CHECK(p == names("python", py_moved, lexer));
  }
  // A one-line literal's spaces are its own.
  CHECK(names("javascript", "f('  a b');", false) != names("javascript", "f(\"a b\");", false));
  CHECK(names("javascript", "f(' ');", false) != names("javascript", "f('');", false));
  CHECK(names("javascript", "f('a  b');", false) != names("javascript", "f('a b');", false));
  // A quote escaped in one quoting and not in another (Prettier, black) is the same string.
  for (const bool lexer : {false, true}) {
    CHECK(names("javascript", "f('it\\'s', 'end\\'');", lexer) == names("javascript", "f(\"it's\", \"end'\");", lexer));
    CHECK(names("python", "f('it\\'s')\n", lexer) == names("python", "f(\"it's\")\n", lexer));
    CHECK(names("python", "f('a\\\\')\n", lexer) != names("python", "f('a')\n", lexer));
    CHECK(names("python", "f('\"')\n", lexer) == names("python", "f(\"\\\"\")\n", lexer));
    CHECK(names("python", "f('\"')\n", lexer) != names("python", "f('')\n", lexer));
  }
}

TEST_CASE("code: a literal's interpolations are spelled {}, so a renamed copy keeps its literals") {
  // A copy that renames `node` renames it in its template strings and f-strings too; the text
  // around the interpolations is the literal's own. The parse and the lexer spell them alike.
  struct Pair {
    std::string lang, code, renamed, reworded;
  };
  const std::vector<Pair> pairs = {
      {"javascript", "p.add(`missing: ${node.pkgid}, required by ${node[_missing]}`);\n",
       "p.add(`missing: ${nd.pkgid}, required by ${nd[_missing]}`);\n",
       "p.add(`absent: ${node.pkgid}, required by ${node[_missing]}`);\n"},
      {"javascript", "const s = `a ${x ? `in ${y}` : {k: 1}.k} b`;\n", "const s = `a ${u ? `in ${v}` : {k: 1}.k} b`;\n",
       "const s = `a ${x ? `in ${y}` : {k: 1}.k} c`;\n"},
      {"typescript", "const m: string = `${count} of ${total}`;\n", "const m: string = `${n} of ${all}`;\n",
       "const m: string = `${count} in ${total}`;\n"},
      {"tsx", "const m = <p title={`${count} left`}>x</p>;\n", "const m = <p title={`${n} left`}>x</p>;\n",
       "const m = <p title={`${count} right`}>x</p>;\n"},
      {"python", "log(f\"{name!r:>{width}} left, {{braces}}\")\n", "log(f\"{who!r:>{w}} left, {{braces}}\")\n",
       "log(f\"{name!r:>{width}} left, {{others}}\")\n"},
      {"python", "x = (f\"a{first}\"\n     \"b\")\n", "x = (f\"a{one}\"\n     \"b\")\n",
       "x = (f\"a{first}\"\n     \"c\")\n"},
      {"ruby", "warn \"missing #{node.id}, by #{node[:by]}\"\n", "warn \"missing #{n.id}, by #{n[:by]}\"\n",
       "warn \"absent #{node.id}, by #{node[:by]}\"\n"},
      {"ruby", "def f(name)\n  warn <<~EOF\n    Unable to read #{name}\n  EOF\n  name =~ /^#{name}$/\nend\n",
       "def f(path)\n  warn <<~EOF\n    Unable to read #{path}\n  EOF\n  path =~ /^#{path}$/\nend\n",
       "def f(name)\n  warn <<~EOF\n    Unable to open #{name}\n  EOF\n  name =~ /^#{name}$/\nend\n"},
      {"ruby", "define_method(:\"#{name}=\") { |v| public_send(:\"#{key}_set\", v) }\n",
       "define_method(:\"#{attr}=\") { |v| public_send(:\"#{k}_set\", v) }\n",
       "define_method(:\"#{name}!\") { |v| public_send(:\"#{key}_set\", v) }\n"},
      {"ruby", "log \"#@title: #{count} of #@@total (#$stage)\"\n", "log \"#@name: #{n} of #@@all (#$step)\"\n",
       "log \"#@title: #{count} in #@@total (#$stage)\"\n"},
      {"ruby", "log \"error: #$! at #$1, #$-w\"\n", "log \"error: #$@ at #$2, #$-v\"\n", "log \"failure: #$! at #$1, #$-w\"\n"},
      {"rust", "fn f() { println!(\"{name:>8} left, {{braces}} {0} {}\", n, m); log(r#\"at {path}\"#); }\n",
       "fn f() { println!(\"{who:>8} left, {{braces}} {0} {}\", n, m); log(r#\"at {p}\"#); }\n",
       "fn f() { println!(\"{name:>8} left, {{others}} {0} {}\", n, m); log(r#\"at {path}\"#); }\n"},
      {"c_sharp", "class A {\n  string S(int count) => $\"{count:N0} of {total}\" + $@\"at {path}\";\n}\n",
       "class A {\n  string S(int n) => $\"{n:N0} of {all}\" + $@\"at {p}\";\n}\n",
       "class A {\n  string S(int count) => $\"{count:N0} in {total}\" + $@\"at {path}\";\n}\n"},
  };
  for (const Pair& p : pairs) {
    for (const bool lexer : {false, true}) {
      INFO(p.lang << (lexer ? " lexer: " : " parse: ") << p.code);
      const auto names = LiteralNames(p.lang, p.code, lexer);
      REQUIRE(!names.empty());
      CHECK(names == LiteralNames(p.lang, p.renamed, lexer));
      CHECK(names != LiteralNames(p.lang, p.reworded, lexer));
    }
    CheckLexerReadsParse(p.lang, p.code + "function_or_name(a, b, c);\n");
  }
  // A literal of interpolations only says nothing of its own: no spelling to agree or differ.
  for (const bool lexer : {false, true}) {
    CHECK(LiteralNames("javascript", "f(`${a}`, `${b}${c}`, `x${a}`);\n", lexer) ==
          std::vector<uint64_t>{0, 0, LiteralNames("javascript", "f(`x${z}`);\n", lexer).at(0)});
    CHECK(LiteralNames("python", "f(f\"{a}\", f\"{b}{c}\")\n", lexer) == std::vector<uint64_t>{0, 0});
    CHECK(LiteralNames("ruby", "f(\"#{a}\", \"#@b\")\n", lexer) == std::vector<uint64_t>{0, 0});
    CHECK(LiteralNames("c_sharp", "class A { string s = $\"{a}\"; }\n", lexer) == std::vector<uint64_t>{0});
    CHECK(LiteralNames("rust", "fn f() { println!(\"{a}{b:?}\"); }\n", lexer) == std::vector<uint64_t>{0});
    // Rust's `{}`, `{0}`, `{:?}` and `{{x}}` name no value: spelled as written.
    CHECK(LiteralNames("rust", "fn f() { g(\"{}\", \"{0}\", \"{:?}\", \"{{x}}\"); }\n", lexer) !=
          LiteralNames("rust", "fn f() { g(\"{a}\", \"{a}\", \"{a}\", \"{a}\"); }\n", lexer));
    CHECK(LiteralNames("rust", "fn f() { g(\"{{x}}\"); }\n", lexer) != LiteralNames("rust", "fn f() { g(\"{{y}}\"); }\n", lexer));
  }
  // A plain string's braces are its text in a language without format names (Python's
  // "{name}".format(...) names a keyword argument, not a variable).
  CHECK(LiteralNames("python", "log(\"{name} left\")\n", false) != LiteralNames("python", "log(\"{who} left\")\n", false));
}

TEST_CASE("code: literals are abstracted, broken snippets still tokenize") {
  CHECK(CodeHashes("javascript", "f('a', 1);") == CodeHashes("javascript", "f(\"other text\", 42);"));
  // An unbalanced brace and a stray token: tokens around the error still come out.
  const auto h = CodeHashes("java", "int x = compute(a, b);\n}\n} else { return y; ");
  CHECK(h.size() >= 12);
  CHECK(CodeHashes("c", "") .empty());
}

// The tokens of `text` (read in `lang`) in each of `pieces` (offset and length, in order, with
// only blanks between them), against those of the piece read alone between `prefix` and
// `suffix`: hashes, names, offsets and lines alike. Every token of `text` lies in one piece, or
// before the first or after the last.
void CheckPiecesReadAlone(const std::string& lang, const std::string& text,
                          const std::vector<std::pair<size_t, size_t>>& pieces, const std::string& prefix,
                          const std::string& suffix) {
  const Language* l = LanguageByName(lang);
  REQUIRE(l != nullptr);
  auto tok = NewCodeTokenizer(l);
  Tokens whole;
  uint32_t unread = 0;
  REQUIRE(code_detail::WindowEnd(text, 0, code_detail::kWindowUnits) < text.size());  // read in windows
  REQUIRE(tok->TokenizeCountingUnread(text, &whole, 0, 1, &unread).ok());
  // Clean code: what a window's end cuts is not unread (a dict's name before the error node that
  // holds it, cut, may be: 5 bytes).
  CHECK(unread * 10000 < text.size());
  size_t at = 0;  // the next token of `whole`
  while (at < whole.size() && whole[at].begin < pieces.front().first) ++at;
  uint32_t line = 1;  // the line of byte `counted`
  size_t counted = 0;
  for (const auto& [offset, length] : pieces) {
    const std::string alone_text = prefix + text.substr(offset, length) + suffix;
    Tokens alone;
    REQUIRE(tok->Tokenize(alone_text, &alone).ok());
    line += static_cast<uint32_t>(std::count(text.begin() + counted, text.begin() + offset, '\n'));
    counted = offset;
    const uint32_t prefix_lines = static_cast<uint32_t>(std::count(prefix.begin(), prefix.end(), '\n'));
    for (const Token& t : alone) {
      if (t.begin < prefix.size() || t.end > prefix.size() + length) continue;
      INFO(lang << " piece at byte " << offset << ": " << alone_text.substr(t.begin, t.end - t.begin));
      REQUIRE(at < whole.size());
      CHECK(whole[at].hash == t.hash);
      CHECK(whole[at].name == t.name);
      CHECK(whole[at].begin == t.begin - prefix.size() + offset);
      CHECK(whole[at].end == t.end - prefix.size() + offset);
      CHECK(whole[at].line == t.line - prefix_lines + line - 1);
      ++at;
    }
  }
  const size_t last_end = pieces.back().first + pieces.back().second;
  while (at < whole.size() && whole[at].begin >= last_end) ++at;
  CHECK(at == whole.size());
}

TEST_CASE("code: a text of more tokens than a parse stack holds is read in windows, each piece as alone") {
  // Past 32,768 units (about tokens) a text is parsed in windows (tree-sitter 0.20.7 crashes when
  // its parse stack reaches 65,536 entries in error recovery). Top-level functions read as alone,
  // each whole in one window; a class's methods and a dict's entries, though a window begins
  // inside the class or the dict, read as in it.
  std::string python, java = "class Big {\n", dict = "table = {\n";
  std::vector<std::pair<size_t, size_t>> functions, methods, entries;
  for (int i = 0; i < 1500; ++i) {
    const std::string f = "def f" + std::to_string(i) + "(a, b):\n    x = a + b * " + std::to_string(i) +
                          "\n    return [x, \"s" + std::to_string(i) + "\"]\n\n";
    functions.emplace_back(python.size(), f.size());
    python += f;
    const std::string m = "    int m" + std::to_string(i) + "(int a) {\n        if (a > " + std::to_string(i) +
                          ") { return a * 2; }\n        return g(\"s\", a);\n    }\n";
    methods.emplace_back(java.size(), m.size());
    java += m;
  }
  java += "}\n";
  for (int i = 0; i < 9000; ++i) {
    const std::string e = "    'k" + std::to_string(i) + "': 'value " + std::to_string(i) + "',\n";
    entries.emplace_back(dict.size(), e.size());
    dict += e;
  }
  dict += "}\n";
  CheckPiecesReadAlone("python", python, functions, "", "");
  CheckPiecesReadAlone("java", java, methods, "class Big {\n", "}\n");
  entries.pop_back();  // (its comma is the dict's last, dropped as cosmetic)
  CheckPiecesReadAlone("python", dict, entries, "table = {\n", "    'last': 0,\n}\n");
  Tokens whole;
  REQUIRE(NewCodeTokenizer(LanguageByName("python"))->Tokenize(dict, &whole).ok());
  size_t strings = 0;
  Tokens one;
  REQUIRE(NewCodeTokenizer(LanguageByName("python"))->Tokenize("x = 's'", &one).ok());
  REQUIRE(one.size() == 3);
  for (const Token& t : whole) strings += t.hash == one[2].hash;
  CHECK(strings == 2 * 9000);  // every key and every value, none read as a docstring

  // A window ends before a comment or a string that the units it may hold end inside (a class's
  // Javadoc of 1,400 lines after 1,300 methods, a Go program holding another in a raw string),
  // not in it, which would read its words as code.
  std::string doc = "  /**\n";
  for (int i = 0; i < 1400; ++i) doc += "   * Formats item " + std::to_string(i) + " as {@code x} (see above).\n";
  doc += "   */\n";
  std::string javadoc = "package p;\n\npublic class F {\n";
  for (int i = 0; i < 1500; ++i) {
    if (i == 1300) javadoc += doc;
    javadoc += "  int m" + std::to_string(i) + "() { return " + std::to_string(i) + "; }\n";
  }
  javadoc += "}\n";
  std::string raw = "package p\n\n";
  for (int i = 0; i < 1600; ++i) {
    if (i == 1400) {
      raw += "const script = `\n";
      for (int k = 0; k < 1400; ++k) raw += "function f" + std::to_string(k) + "(a) { return a + " + std::to_string(k) + "; }\n";
      raw += "`\n\n";
    }
    raw += "func g" + std::to_string(i) + "() int { return " + std::to_string(i) + " }\n";
  }
  for (const auto& [lang, text, b, e] :
       std::vector<std::tuple<std::string, std::string, size_t, size_t>>{
           {"java", javadoc, javadoc.find("/**"), javadoc.find("*/") + 2},
           {"go", raw, raw.find('`'), raw.rfind('`') + 1}}) {
    INFO(lang);
    Tokens tokens;
    REQUIRE(NewCodeTokenizer(LanguageByName(lang))->Tokenize(text, &tokens).ok());
    size_t inside = 0, whole = 0;
    for (const Token& t : tokens) {
      inside += t.begin >= b && t.end <= e && !(t.begin == b && t.end == e);
      whole += t.begin == b && t.end == e;
    }
    CHECK(inside == 0);
    CHECK(whole == (lang == "go" ? 1u : 0u));
    CHECK(tokens.back().end == text.size() - 1);  // the last `}`, read as code
  }
}

TEST_CASE("code: long real files read in windows give the tokens of one parse, but for a few") {
  // Past 32,768 units, on the machine's own long files: a C header of 5,000 definitions, a
  // Python module of classes, and one Python dict of 750 KB of strings.
  for (const auto& [lang, path] : std::vector<std::pair<std::string, std::string>>{
           {"c", "/usr/include/elf.h"},
           {"python", "/usr/lib/python3.11/_pydecimal.py"},
           {"python", "/usr/lib/python3.11/pydoc_data/topics.py"}}) {
    INFO(path);
    const std::string text = doppel_test::ReadFile(path);
    REQUIRE(code_detail::WindowEnd(text, 0, code_detail::kWindowUnits) < text.size());  // read in windows
    Tokens windowed, whole;
    REQUIRE(NewCodeTokenizer(LanguageByName(lang))->Tokenize(text, &windowed).ok());
    REQUIRE(code_detail::NewWholeParseTokenizer(LanguageByName(lang))->Tokenize(text, &whole).ok());
    std::set<std::tuple<uint32_t, uint32_t, uint64_t, uint64_t, uint32_t>> a, b;
    for (const Token& t : windowed) a.emplace(t.begin, t.end, t.hash, t.name, t.line);
    for (const Token& t : whole) b.emplace(t.begin, t.end, t.hash, t.name, t.line);
    size_t differ = 0;
    for (const auto& k : a) differ += b.count(k) == 0;
    for (const auto& k : b) differ += a.count(k) == 0;
    INFO(differ << " of " << whole.size() << " tokens differ");
    CHECK(differ * 1000 <= whole.size());
  }
}

TEST_CASE("code: a window's units are counted alike in whole blocks and byte by byte") {
  // The units of text[from..] one byte at a time, as WindowEnd defines them: each run of ASCII
  // word characters, each non-ASCII character, each other byte that is not a blank.
  auto reference = [](std::string_view text, size_t from, size_t budget, size_t* units) {
    size_t i = from;
    *units = 0;
    while (i < text.size()) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (code_detail::IsLexBlank(c)) {
        ++i;
        continue;
      }
      if (*units == budget) break;
      ++*units;
      ++i;
      if (c >= 0x80) {
        while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) ++i;
      } else if (code_detail::IsWordChar(c)) {
        while (i < text.size() && code_detail::IsWordChar(text[i])) ++i;
      }
    }
    return i;
  };
  // Word runs, characters of two to four bytes and blank runs that straddle the 64-byte
  // blocks, at every offset and budget around them.
  const std::vector<std::string> pieces = {"name_42", " ", "\t", "\r\n", "(", "\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x98\x80", "x", "    "};
  uint32_t seed = 7;
  size_t checked = 0;
  for (int round = 0; round < 300; ++round) {
    std::string text;
    while (text.size() < 200 + static_cast<size_t>(round)) {
      seed = seed * 1103515245u + 12345u;
      text += pieces[(seed >> 16) % pieces.size()];
    }
    for (size_t from : {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{65}, text.size() / 2, text.size()}) {
      // (At a character's start, as a window's text begins.)
      while (from < text.size() && (static_cast<unsigned char>(text[from]) & 0xC0) == 0x80) ++from;
      for (size_t budget : {size_t{0}, size_t{1}, size_t{20}, size_t{21}, size_t{40}, size_t{100}, size_t{100000}}) {
        size_t want_units = 0, got_units = 0;
        const size_t want = reference(text, from, budget, &want_units);
        const size_t got = code_detail::WindowEnd(text, from, budget, &got_units);
        if (want != got || want_units != got_units) {
          FAIL("round " << round << ", from " << from << ", budget " << budget << ": " << got << " and " << got_units
                        << " units, not " << want << " and " << want_units);
        }
        ++checked;
      }
    }
  }
  CHECK(checked == 300 * 7 * 7);
}

TEST_CASE("code: code that would take tree-sitter's parse stack past 65,536 entries is read, not crashed on") {
  // tree-sitter 0.20.7 frees memory it does not own when it recovers from an error with that
  // many entries on its stack: unclosed blocks, and chains whose grammar rule recurses to the
  // right, each past its measured limit.
  auto repeat = [](const std::string& head, const std::string& unit, int n) {
    std::string s = head;
    for (int i = 0; i < n; ++i) s += unit;
    return s;
  };
  const std::vector<std::pair<std::string, std::string>> texts = {
      {"ruby", repeat("def f\n", "  x.y do\n", 25000)},
      {"javascript", repeat("", "function () {\n", 25000)},
      {"javascript", repeat("", "a = ", 36000)},
      {"javascript", repeat("", "a ? b : ", 18000)},
      {"c", repeat("int f() {\n", "if (x) {} else ", 18000)},
      {"python", repeat("", "x ** ", 36000)},
      {"python", repeat("", "(", 70000)},
      // Blanks outside ASCII between tokens: U+00A0 in JavaScript, U+200B in Python.
      {"javascript", repeat("", "typeof\u00a0", 66000)},
      {"python", repeat("", "not\u200b", 66000)},
  };
  for (const auto& [lang, text] : texts) {
    INFO(lang << ", " << text.size() << " bytes: " << text.substr(0, 40));
    Tokens tokens;
    uint32_t unread = 0;
    REQUIRE(NewCodeTokenizer(LanguageByName(lang))->TokenizeCountingUnread(text, &tokens, 0, 1, &unread).ok());
    CHECK(tokens.size() > text.size() / 16);
    for (size_t i = 1; i < tokens.size(); ++i) REQUIRE(tokens[i].begin >= tokens[i - 1].end);
  }
}

TEST_CASE("code: a window cut from a class is read inside the snippet wrapper") {
  // The window closes the method it starts in and opens one at its end, so it does not parse
  // alone; its brackets pair up only with the wrapper's ("class Snippet {" ... "}"), and it is
  // read as it reads inside the wrapper.
  const Language* java = LanguageByName("java");
  const std::string window =
      "    return value;\n  }\n\n  public Name create(String text, Oid type) throws NameError {\n"
      "    return new Name(this, text, type);\n  }\n\n  public Name parse(byte[] raw, Oid type) {\n";
  const std::string wrapped = java->snippet_open + "\n" + window + "\n" + java->snippet_close;
  auto tok = NewCodeTokenizer(java);
  Tokens alone, inside;
  REQUIRE(tok->Tokenize(window, &alone).ok());
  REQUIRE(tok->Tokenize(wrapped, &inside).ok());
  const size_t at = java->snippet_open.size() + 1;
  std::vector<uint64_t> expected, got;
  for (const Token& t : inside) {
    if (t.begin >= at && t.end <= at + window.size()) expected.push_back(t.hash);
  }
  TokenHashes(alone, &got);
  CHECK(got == expected);
  // A window that starts inside a table pairs up with nothing; it still tokenizes.
  REQUIRE(tok->Tokenize("  0x1f, 0x2e,\n  0x3d };\n  int size() { return 3; }\n", &alone).ok());
  CHECK(alone.size() >= 10);
}

TEST_CASE("code: a window cut from a data table has the tokens its rows have in the file") {
  // A window of table rows does not parse alone (every row is an error); its rows are lexed,
  // and must give the tokens the parse of the whole file gives them: kinds, names, literal
  // spellings (true, TRUE, None, int as the grammar reads them), offsets and lines. The window
  // ends with code after the table, which is parsed.
  struct Table {
    std::string lang, head, tail;
    std::string (*row)(int);
  };
  const std::vector<Table> tables = {
      {"java", "class Bundle {\n  static final Object[][] CONTENTS = {\n",
       "  };\n  Object[][] contents() { return CONTENTS; }\n}\n",
       [](int i) { return "    { \"key." + std::to_string(i) + "\", \"\\u4F7F value\", " + std::to_string(i * 7) + "L },"; }},
      {"c", "static const unsigned int crc_table[] = {\n", "};\nint crc_size(void) { return 256; }\n",
       [](int i) { return "  0x" + std::to_string(1000 + i) + "f8ccU, (uint8_t)0x" + std::to_string(i) + "e5, TRUE, /* row */"; }},
      {"cpp", "const double kScale[][2] = {\n", "};\nint size() { return 2; }\n",
       [](int i) { return "  {1.5e-" + std::to_string(i % 9) + ", 0x1p+" + std::to_string(i % 5) + "}, // row"; }},
      {"go", "var ops = []opInfo{\n", "}\n\nfunc count() int { return len(ops) }\n",
       [](int i) { return "\t{name: \"OP" + std::to_string(i) + "\", argLen: " + std::to_string(i % 3) + ", commutative: true, aux: nil},"; }},
      {"python", "TABLE = {\n", "}\n\ndef lookup(k):\n    return TABLE.get(k)\n",
       [](int i) { return "    'k" + std::to_string(i) + "': (b'" + std::to_string(i) + "', True, None),  # row"; }},
      {"rust", "pub const RANGES: &'static [(char, char, u8)] = &[\n", "];\nfn size() -> usize { RANGES.len() }\n",
       [](int i) { return "    ('\\u{" + std::to_string(100 + i) + "}', 'z', " + std::to_string(i) + "u8), "; }},
      {"ruby", "TABLE = [\n", "]\n\ndef lookup(k)\n  TABLE[k]\nend\n",
       [](int i) { return "  [\"k" + std::to_string(i) + "\", " + std::to_string(i) + ", nil],"; }},
      {"javascript", "const table = [\n", "];\nfunction size() { return table.length; }\n",
       [](int i) { return "  { name: 'k" + std::to_string(i) + "', value: " + std::to_string(i) + ", on: false, kind: True },"; }},
      {"c_sharp", "class T {\n  static readonly object[,] Rows = {\n", "  };\n  int Size() { return 2; }\n}\n",
       [](int i) { return "    { \"k" + std::to_string(i) + "\", " + std::to_string(i) + "m, (byte)3, null },"; }},
  };
  for (const Table& t : tables) {
    INFO(t.lang);
    const Language* lang = LanguageByName(t.lang);
    REQUIRE(lang != nullptr);
    std::string file = t.head, window;
    const size_t window_from = 10, rows = 60;
    size_t window_at = 0;
    uint32_t window_line = 0;
    for (size_t i = 0; i < rows; ++i) {
      if (i == window_from) {
        window_at = file.size();
        window_line = static_cast<uint32_t>(std::count(file.begin(), file.end(), '\n'));
      }
      file += t.row(static_cast<int>(i)) + "\n";
    }
    file += t.tail;
    window = file.substr(window_at);
    CHECK(LexedTableRows(lang, file).empty());  // the table is inside its initializer: parsed
    CHECK(LexedTableRows(lang, window) ==
          std::vector<std::pair<uint32_t, uint32_t>>{{0, static_cast<uint32_t>(rows - window_from)}});
    auto tok = NewCodeTokenizer(lang);
    Tokens whole, part;
    REQUIRE(tok->Tokenize(file, &whole).ok());
    REQUIRE(tok->Tokenize(window, &part, static_cast<uint32_t>(window_at), window_line + 1).ok());
    Tokens expected;
    for (const Token& x : whole) {
      if (x.begin >= window_at) expected.push_back(x);
    }
    REQUIRE(part.size() == expected.size());
    for (size_t i = 0; i < part.size(); ++i) {
      INFO(file.substr(expected[i].begin, expected[i].end - expected[i].begin) << " at line " << expected[i].line);
      CHECK(part[i].hash == expected[i].hash);
      CHECK(part[i].name == expected[i].name);
      CHECK(part[i].begin == expected[i].begin);
      CHECK(part[i].end == expected[i].end);
      CHECK(part[i].line == expected[i].line);
    }
  }
}

TEST_CASE("code: rows are lexed only outside the brackets the text opens, and only rows") {
  auto rows = [](const std::string& row, int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out += row + "\n";
    return out;
  };
  const Language* c = LanguageByName("c");
  const Language* js = LanguageByName("javascript");
  // A window that closes one table and opens another: the second's rows are inside a bracket the
  // text opens (the closing brace before it, opened before the text, does not count).
  CHECK(LexedTableRows(c, "};\nstatic const int b[] = {\n" + rows("  1, 2, 3,", 20) + "};\n").empty());
  CHECK(LexedTableRows(c, rows("  1, 2, 3,", 20) + "};\n") ==
        std::vector<std::pair<uint32_t, uint32_t>>{{0, 20}});
  // A row's comment may hold commas and code after them: the row still ends in its comma.
  CHECK(LexedTableRows(c, rows("  1, 2, 3, // see f(a, b)", 20) + "};\n") ==
        std::vector<std::pair<uint32_t, uint32_t>>{{0, 20}});
  CHECK(LexedTableRows(c, rows("  1, 2, 3, /* a, b */", 20) + "};\n") ==
        std::vector<std::pair<uint32_t, uint32_t>>{{0, 20}});
  CHECK(LexedTableRows(LanguageByName("python"), rows("    1, 2, 3,  # see f(a, b)", 20) + "]\n") ==
        std::vector<std::pair<uint32_t, uint32_t>>{{0, 20}});
  // Brackets and quotes in a regular expression do not open or close anything after them.
  CHECK(LexedTableRows(js, "const q = /\"[^\"]*\"/g;\nconst t = [\n" + rows("  ['a', 1],", 20) + "];\n").empty());
  // Not rows: a call statement (no trailing comma), a number's member (5.minutes), a digit
  // separator, a string with a suffix, a template string with an interpolation.
  CHECK(LexedTableRows(LanguageByName("ruby"), rows("option(opts, '-x')", 20)).empty());
  CHECK(LexedTableRows(LanguageByName("ruby"), rows("  { ttl: 5.minutes },", 20)).empty());
  CHECK(LexedTableRows(LanguageByName("cpp"), rows("  0xFFFF'0000, 0x1234'5678,", 20)).empty());
  CHECK(LexedTableRows(LanguageByName("cpp"), rows("  \"a\"sv,", 20)).empty());
  CHECK(LexedTableRows(js, rows("  `a${b}`,", 20)).empty());
  // A line of quotes that never close ends its own count at the first; the rows after it are
  // found (each later quote once scanned the rest of the line again: 100 KB of them took seconds).
  std::string quotes;
  for (int i = 0; i < 50000; ++i) quotes += "\\'";
  CHECK(LexedTableRows(c, "x = " + quotes + "\n" + rows("  1, 2,", 16)) ==
        std::vector<std::pair<uint32_t, uint32_t>>{{1, 17}});
}

TEST_CASE("code: keywords that a parse error reads as names are keywords") {
  // Two arrow functions in a row read as one broken expression: inside the ERROR node,
  // tree-sitter's error recovery reads the second one's `const`, `if` and `return` as names.
  // A reserved word after a member access (`n1.delete`) is a name.
  const std::string text =
      "() => {\n\tlet size = current - old;\n\treturn size;\n}\n\n"
      "(n0) => {\n    const [, , , n1] = n0\n    if (!n1.delete) {\n      return n2\n    }\n}\n";
  auto tok = NewCodeTokenizer(LanguageByName("javascript"));
  Tokens t;
  REQUIRE(tok->Tokenize(text, &t).ok());
  const size_t second = text.find("(n0)");
  size_t keywords = 0, names = 0;
  for (const Token& x : t) {
    if (x.begin < second) continue;
    const std::string word = text.substr(x.begin, x.end - x.begin);
    INFO(word);
    if (word == "const" || word == "if" || word == "return") {
      CHECK(x.hash == VerbatimTokenHash(word));
      ++keywords;
    } else if (word[0] == 'n' || word == "delete") {  // `n1.delete` is a name
      CHECK(x.hash == IdentifierTokenHash());
      ++names;
    }
  }
  CHECK(keywords == 3);
  CHECK(names == 6);
}

TEST_CASE("code: invalid UTF-8 in code is an error naming the offset") {
  auto tok = NewCodeTokenizer(LanguageByName("go"));
  Tokens t;
  Status s = tok->Tokenize(std::string("x := 1\n\xff"), &t);
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK_THAT(s.message(), Catch::Contains("byte offset 7"));
  s = tok->Tokenize(std::string("x := 1\n\xff"), &t, 1000);
  CHECK_THAT(s.message(), Catch::Contains("byte offset 1007"));
}

TEST_CASE("code: the generic lexer normalizes unknown languages") {
  const auto a = CodeHashes("generic", "proc total(xs) { let s = 0; for x in xs { s = s + x } return s } // sum");
  const auto b = CodeHashes("generic", "proc add(v) { let acc = 0; for e in v { acc = acc + e } return acc }");
  CHECK(a == b);
  CHECK(a != CodeHashes("generic", "proc add(v) { let acc = 0; while e in v { acc = acc + e } return acc }"));
}

TEST_CASE("markdown: prose and fenced code blocks with offsets and lines") {
  const std::string text =
      "Intro line\n"
      "```py title=\"x\"\n"
      "print(1)\n"
      "```\n"
      "Middle with ``` inline ``` code\n"
      "~~~~\n"
      "raw\n"
      "~~~~\n"
      "  ```rust\n"
      "fn main() {}\n";  // never closed: runs to the end
  const auto segs = SplitMarkdown(text);
  REQUIRE(segs.size() == 5);
  CHECK(segs[0].kind == Kind::kText);
  CHECK(text.substr(segs[0].begin, segs[0].end - segs[0].begin) == "Intro line\n");
  CHECK(segs[1].kind == Kind::kCode);
  CHECK(segs[1].language == "py");
  CHECK(text.substr(segs[1].begin, segs[1].end - segs[1].begin) == "print(1)\n");
  CHECK(segs[1].line == 3);
  CHECK(segs[2].kind == Kind::kText);
  CHECK(text.substr(segs[2].begin, segs[2].end - segs[2].begin) == "Middle with ``` inline ``` code\n");
  CHECK(segs[3].kind == Kind::kCode);
  CHECK(segs[3].language.empty());
  CHECK(segs[4].language == "rust");
  CHECK(text.substr(segs[4].begin) == "fn main() {}\n");
  CHECK(segs[4].line == 10);
  CHECK(SplitMarkdown("").empty());

  // A deeper fence inside a block is its text (an example in a docstring), not its end.
  const std::string doc = "```python\ndef f():\n    \"\"\"\n        ```\n        f()\n        ```\n    \"\"\"\n```\nAfter.\n";
  const auto dparts = SplitMarkdown(doc);
  REQUIRE(dparts.size() == 2);
  CHECK(doc.substr(dparts[0].begin, dparts[0].end - dparts[0].begin).find("f()") != std::string::npos);
  CHECK(doc.substr(dparts[1].begin) == "After.\n");

  // A block of Markdown (a README shown in ````md, or an untagged block) is read as Markdown:
  // its prose as prose, its own fenced blocks as code in their languages. An untagged block
  // whose fence is a docstring's example, indented, stays one block.
  const std::string readme = "Here:\n\n````md\n# Tool\n\n```go\nx := 1\n```\n\nDone.\n````\nBye.\n";
  const auto rparts = SplitMarkdown(readme);
  REQUIRE(rparts.size() == 5);
  CHECK(rparts[1].kind == Kind::kText);
  CHECK(readme.substr(rparts[1].begin, rparts[1].end - rparts[1].begin) == "# Tool\n\n");
  CHECK(rparts[1].line == 4);
  CHECK(rparts[2].kind == Kind::kCode);
  CHECK(rparts[2].language == "go");
  CHECK(readme.substr(rparts[2].begin, rparts[2].end - rparts[2].begin) == "x := 1\n");
  CHECK(rparts[2].line == 7);
  CHECK(readme.substr(rparts[3].begin, rparts[3].end - rparts[3].begin) == "\nDone.\n");
  CHECK(readme.substr(rparts[4].begin) == "Bye.\n");
  const std::string untagged = "~~~\n```py\na = 1\n```\n~~~\n";
  const auto uparts = SplitMarkdown(untagged);
  REQUIRE(uparts.size() == 1);
  CHECK(uparts[0].language == "py");
  CHECK(untagged.substr(uparts[0].begin, uparts[0].end - uparts[0].begin) == "a = 1\n");
  const std::string docstring = "```\ndef f():\n    \"\"\"\n    ```python\n    f()\n    ```\n    \"\"\"\n```\n";
  const auto sparts = SplitMarkdown(docstring);
  REQUIRE(sparts.size() == 1);
  CHECK(sparts[0].language.empty());
  CHECK(docstring.substr(sparts[0].begin, sparts[0].end - sparts[0].begin).find("def f()") == 0);
  // A title's `~~~` underline in a module's docstring (reStructuredText) is no fence: the block
  // stays one, untagged or `text`, with one underline or two; so does a block whose fence does
  // not close. A `md` block is read as Markdown as it stands, and an untagged README's fences
  // that close still are.
  const std::string one = "\"\"\"\nrequests.api\n~~~~~~~~~~~~\n\nThis module.\n\"\"\"\nimport os\n";
  const std::string two = one + "\"\"\"\nUsage\n~~~~~\n\"\"\"\ndef get(url):\n    return url\n";
  // (The second underline as long as the first or longer closes it as a fence would.)
  const std::string closing = "\"\"\"\napi\n~~~\n\nText.\n\nSession handling\n~~~~~~~~~~~~~~~~\n\"\"\"\nimport os\n";
  for (const std::string& code : {one, two, closing, std::string("Intro\n\n```go\nx := 1\n")}) {
    for (const std::string tag : {"", "text"}) {
      INFO(tag << ": " << code);
      const std::string answer = "```" + tag + "\n" + code + "```\n";
      const auto kept = SplitMarkdown(answer);
      REQUIRE(kept.size() == 1);
      CHECK(kept[0].kind == Kind::kCode);
      CHECK(answer.substr(kept[0].begin, kept[0].end - kept[0].begin) == code);
    }
  }
  CHECK(SplitMarkdown("````md\nTitle\n~~~\nx = 1\n~~~\n````\n").size() == 2);
  CHECK(SplitMarkdown("````\nTitle\n\n~~~\nx = 1\n~~~\n````\n").size() == 2);
  // So is one in a list item or a quote ("1. Put this in README.md:"): its blocks are read
  // without both containers' prefixes, at the answer's bytes and lines.
  for (const std::string& prefix : {std::string("    "), std::string("> ")}) {
    const std::string lead = prefix == "> " ? "" : "1. Put this in README.md:\n\n";
    std::string item = lead;
    for (const std::string line : {"````md", "# Tool", "", "```go", "x := 1", "  y()", "```", "````"}) {
      item += (line.empty() ? prefix.substr(0, prefix.find_last_not_of(' ') + 1) : prefix + line) + "\n";
    }
    item += "\nDone.\n";
    INFO(item);
    const auto parts = SplitMarkdown(item);
    const auto go = std::find_if(parts.begin(), parts.end(), [](const Segment& s) { return s.language == "go"; });
    REQUIRE(go != parts.end());
    CHECK(go->kind == Kind::kCode);
    CHECK(go->line == (prefix == "> " ? 5u : 7u));
    CHECK(item.substr(go->begin, go->end - go->begin) == prefix + "x := 1\n" + prefix + "  y()\n");
    CHECK(StripContainer(item, *go).code == "x := 1\n  y()\n");
    CHECK(std::none_of(parts.begin(), parts.end(), [](const Segment& s) { return s.language == "md"; }));
  }
  // (One that holds an HTML block stays one block: that block is read from the answer's bytes.)
  const std::string quoted_html = "> ````md\n> <pre><code>x = 1\n> </code></pre>\n>\n> ```sh\n> ls\n> ```\n> ````\n";
  const auto qh = SplitMarkdown(quoted_html);
  REQUIRE(qh.size() == 1);
  CHECK(qh[0].language == "md");

  // Fences in containers: a list item's indentation, a block quote.
  const std::string nested = "1. Step\n\n    ```go\n    x := 1\n\n      y()\n    ```\n> ```py\n> a = 1\n>\n>     b\n> ```\n";
  const auto parts = SplitMarkdown(nested);
  REQUIRE(parts.size() == 3);
  CHECK(parts[1].language == "go");
  CHECK(parts[1].prefix == "    ");
  CHECK(StripContainer(nested, parts[1]).code == "x := 1\n\n  y()\n");
  CHECK(parts[2].language == "py");
  CHECK(parts[2].prefix == "> ");
  const StrippedCode quoted = StripContainer(nested, parts[2]);
  CHECK(quoted.code == "a = 1\n\n    b\n");
  // Offsets map back: "b" is in the answer where the quote holds it.
  const uint32_t b_at = static_cast<uint32_t>(quoted.code.find('b'));
  CHECK(nested[quoted.ToAnswer(b_at, false)] == 'b');
  CHECK(quoted.ToAnswer(b_at + 1, true) == quoted.ToAnswer(b_at, false) + 1);

  // A block ends with its container, closed or not: the prose after a quote stays prose.
  const std::string open_quote = "> ```py\n> x = 1\n\nThe prose that follows.\n";
  const auto oq = SplitMarkdown(open_quote);
  REQUIRE(oq.size() == 2);
  CHECK(oq[0].kind == Kind::kCode);
  CHECK(StripContainer(open_quote, oq[0]).code == "x = 1\n");
  CHECK(oq[1].kind == Kind::kText);
  CHECK(open_quote.substr(oq[1].begin) == "\nThe prose that follows.\n");
  const std::string list = "10. Step\n\n    ```go\n    x := 1\nNot indented: prose.\n";
  const auto li = SplitMarkdown(list);
  REQUIRE(li.size() == 3);
  CHECK(li[1].kind == Kind::kCode);
  CHECK(li[2].kind == Kind::kText);
  CHECK(list.substr(li[2].begin) == "Not indented: prose.\n");
  // Quote markers are '>' and one optional space: ">```py" then "> x = 1" is "x = 1".
  const std::string tight = ">```py\n> x = 1\n>     y\n>```\n";
  const auto ti = SplitMarkdown(tight);
  REQUIRE(ti.size() == 1);
  CHECK(StripContainer(tight, ti[0]).code == "x = 1\n    y\n");

  // Indented code blocks: four columns or more after a blank line (or at the start), to the
  // last indented line; blank lines inside are the block's, those after it the prose's.
  const std::string indented = "Like this:\n\n    def f(x):\n\n        return x\n\nAnd done.\n\tg()\n";
  const auto in = SplitMarkdown(indented);
  REQUIRE(in.size() == 3);
  CHECK(in[0].kind == Kind::kText);
  CHECK(in[1].kind == Kind::kCode);
  CHECK(in[1].language.empty());
  CHECK(in[1].line == 3);
  CHECK(in[1].prefix == "    ");
  CHECK(StripContainer(indented, in[1]).code == "def f(x):\n\n    return x\n");
  CHECK(in[2].kind == Kind::kText);
  CHECK(indented.substr(in[2].begin) == "\nAnd done.\n\tg()\n");  // after a paragraph: its text
  CHECK(in[2].line == 6);
  const auto at_start = SplitMarkdown("\tx = 1\n");
  REQUIRE(at_start.size() == 1);
  CHECK(at_start[0].kind == Kind::kCode);
  // In a list, indented lines are its items' text.
  for (const std::string in_list : {"- Step one\n\n    still step one\n", "1. Step\n2. Next\n\n    more of it\n"}) {
    INFO(in_list);
    const auto li2 = SplitMarkdown(in_list);
    REQUIRE(li2.size() == 1);
    CHECK(li2[0].kind == Kind::kText);
  }
  // A list ends at a line after a blank one that is neither an item nor indented.
  const std::string after_list = "- a\n- b\n\nThen:\n\n    run()\n";
  const auto al = SplitMarkdown(after_list);
  REQUIRE(al.size() == 2);
  CHECK(al[1].kind == Kind::kCode);
  CHECK(StripContainer(after_list, al[1]).code == "run()\n");
}

TEST_CASE("json answer: only one JSON object or array, strictly read, with a string to read") {
  for (const std::string& text :
       {std::string("Here:\n\n```py\nx = 1\n```\n"), std::string(R"({"a": "b c",})"), std::string(R"({"a": "b c"} more)"),
        std::string("{\"a\": \"b\tc\"}"), std::string(R"("a string alone")"), std::string(R"([1, -2.5e3, true, null])"),
        std::string(R"({"id": "call_1", "type": "function"})"), std::string(R"({"a": "x\q y"})"),
        std::string(R"({"a": "\u12"})"), std::string(R"({"a": 01})"), std::string(R"({"a" "b c"})"),
        std::string(300, '[') + std::string(R"("a b")") + std::string(300, ']')}) {
    INFO(text);
    CHECK_FALSE(ReadJsonAnswer(text).has_value());
  }
}

TEST_CASE("json answer: a value cut short at the end of the text is read as far as it goes") {
  const auto in_string = ReadJsonAnswer(R"({"language": "go", "code": "x := 1\n\ty := f(x)\n\tz := \u00)");
  REQUIRE(in_string.has_value());
  REQUIRE(in_string->parts.size() == 1);
  const auto& p = in_string->parts[0];
  CHECK(in_string->map.code.substr(p.begin, p.end - p.begin) == "x := 1\n\ty := f(x)\n\tz := ");  // not the cut escape
  CHECK(in_string->map.code.substr(0, p.begin) == "```go\n");
  // The same saved with a line break after it (a file) is read up to the break.
  const auto saved = ReadJsonAnswer(R"({"language": "go", "code": "x := 1\n\ty := f(x)\n\tz := )" "\n");
  REQUIRE(saved.has_value());
  CHECK(saved->map.code.find("z :=") != std::string::npos);
  for (const std::string& text : {std::string(R"({"a": "b c", "n": tru)"), std::string(R"({"a": "b c", "n": -1.)"),
                                 std::string(R"(["b c", {"k)"), std::string(R"({"a": "b c", "k": )"),
                                 std::string(R"({"a": "b c" ,)"), std::string(R"({"a": "b c\)")}) {
    INFO(text);
    const auto r = ReadJsonAnswer(text);
    REQUIRE(r.has_value());
    CHECK(r->map.code == "b c");
  }
  // Still strict up to the cut; and one with nothing to read is none.
  for (const std::string& text : {std::string(R"({"a": "b c", "n": trux)"), std::string(R"(["b c", 01)"),
                                 std::string(R"([1, 2, {"n": 3)"), std::string("[Note] that")}) {
    INFO(text);
    CHECK_FALSE(ReadJsonAnswer(text).has_value());
  }
}

TEST_CASE("json answer: its strings are read as code or Markdown and map back to the answer") {
  const std::string answer =
      R"(  {"language": "Python", "code": "def f(x):\n    return \"\u00e9\" + x\n", "n": 3,)"
      R"( "notes": "Short \ud83d\ude00 note.", "id": "abc"})" "\n";
  const auto r = ReadJsonAnswer(answer);
  REQUIRE(r.has_value());
  REQUIRE(r->parts.size() == 2);
  const std::string& t = r->map.code;
  const auto& code = r->parts[0];
  CHECK(t.substr(code.begin, code.end - code.begin) == "def f(x):\n    return \"\xC3\xA9\" + x\n");
  CHECK(code.pointer == std::vector<std::string>{"/code"});
  CHECK(code.escapes == 1);
  CHECK(t.substr(0, code.begin) == "```python\n");  // fenced in the language its object names
  const auto& notes = r->parts[1];
  CHECK(t.substr(notes.begin, notes.end - notes.begin) == "Short \xF0\x9F\x98\x80 note.");
  CHECK(notes.pointer == std::vector<std::string>{"/notes"});
  // Each decoded byte maps to the answer; an escape maps whole: `\n` to its two bytes, é to
  // its six, the emoji to its twelve.
  const size_t nl = answer.find("\\n");
  CHECK(r->map.ToAnswer(code.begin + 9, false) == nl);
  CHECK(r->map.ToAnswer(code.begin + 10, true) == nl + 2);
  CHECK(r->map.ToAnswer(code.begin + 10, false) == nl + 2);  // the indentation after it
  const size_t e_acute = answer.find("\\u00e9");
  const uint32_t e_at = static_cast<uint32_t>(t.find("\xC3\xA9"));
  CHECK(r->map.ToAnswer(e_at + 1, false) == e_acute);
  CHECK(r->map.ToAnswer(e_at + 1, true) == e_acute + 6);
  const uint32_t emoji = static_cast<uint32_t>(t.find("\xF0\x9F\x98\x80"));
  CHECK(r->map.ToAnswer(emoji, false) == answer.find("\\ud83d"));
  CHECK(r->map.ToAnswer(emoji + 4, true) == answer.find("\\ud83d") + 12);
  CHECK(r->map.ToAnswer(notes.begin, false) == answer.find("Short"));

  // Code with a fence in it is fenced longer; a key that holds code without a language, no tag.
  const auto fenced = ReadJsonAnswer(R"({"snippet": "x = '```'\ny = 1"})");
  REQUIRE(fenced.has_value());
  CHECK(fenced->map.code == "````\nx = '```'\ny = 1\n````\n");
  // A Markdown string that ends inside a fence is closed before the next string.
  const auto open = ReadJsonAnswer(R"(["Like this:\n```go\nx := 1", "And then this."])");
  REQUIRE(open.has_value());
  const auto segments = SplitMarkdown(open->map.code);
  REQUIRE(segments.size() == 3);
  CHECK(segments[1].kind == Kind::kCode);
  CHECK(segments[2].kind == Kind::kText);
  CHECK(open->parts[1].pointer == std::vector<std::string>{"/1"});
}

TEST_CASE("json answer: a string holding JSON is read in turn, and edits are written back escaped") {
  // A tool call's arguments: a JSON object in a string, its code escaped twice.
  const std::string call =
      R"({"tool_calls": [{"function": {"name": "write_file", "arguments": )"
      R"("{\"path\": \"src/m.rs\", \"content\": \"fn main() {\\n    println!(\\\"hi\\\");\\n}\\n\"}"}}], "a/b~c": "x y"})";
  const auto r = ReadJsonAnswer(call);
  REQUIRE(r.has_value());
  REQUIRE(r->parts.size() == 2);
  const auto& code = r->parts[0];
  const std::string decoded = "fn main() {\n    println!(\"hi\");\n}\n";
  CHECK(r->map.code.substr(code.begin, code.end - code.begin) == decoded);
  CHECK(r->map.code.substr(0, code.begin) == "```rust\n");
  CHECK(code.escapes == 2);
  CHECK(code.pointer == std::vector<std::string>{"/tool_calls/0/function/arguments", "/content"});
  CHECK(r->parts[1].pointer == std::vector<std::string>{"/a~1b~0c"});
  // `\"` two levels down is `\\\"` in the answer: one character, mapped whole.
  const uint32_t quote = code.begin + static_cast<uint32_t>(decoded.find('"'));
  CHECK(call.substr(r->map.ToAnswer(quote, false), r->map.ToAnswer(quote + 1, true) - r->map.ToAnswer(quote, false)) ==
        "\\\\\\\"");
  // The println line replaced by a text holding a quote and a line break: the answer stays
  // JSON, its arguments too, and they hold the edited code.
  const uint32_t line_b = code.begin + static_cast<uint32_t>(decoded.find("    println"));
  const uint32_t line_e = code.begin + static_cast<uint32_t>(decoded.find("}\n"));
  const std::string edited = ApplyToAnswer(*r, call, {{line_b, line_e, "// \"gone\"\n"}});
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  REQUIRE(parser.parse(edited).get(root) == simdjson::SUCCESS);
  std::string_view args;
  REQUIRE(root.at_pointer("/tool_calls/0/function/arguments").get(args) == simdjson::SUCCESS);
  simdjson::dom::parser inner_parser;
  simdjson::dom::element inner;
  REQUIRE(inner_parser.parse(std::string(args)).get(inner) == simdjson::SUCCESS);
  std::string_view content;
  REQUIRE(inner.at_pointer("/content").get(content) == simdjson::SUCCESS);
  CHECK(content == "fn main() {\n// \"gone\"\n}\n");
  std::string_view other;
  REQUIRE(root.at_pointer("/a~1b~0c").get(other) == simdjson::SUCCESS);
  CHECK(other == "x y");
  // Edits that overlap: one inside another is dropped, one running past it starts at its end.
  const std::string twice = ApplyToAnswer(*r, call,
                                          {{line_b, line_e, "A"}, {line_b + 2, line_b + 4, "B"}, {line_b + 3, line_e + 1, "C"}});
  REQUIRE(parser.parse(twice).get(root) == simdjson::SUCCESS);
  REQUIRE(root.at_pointer("/tool_calls/0/function/arguments").get(args) == simdjson::SUCCESS);
  REQUIRE(inner_parser.parse(std::string(args)).get(inner) == simdjson::SUCCESS);
  REQUIRE(inner.at_pointer("/content").get(content) == simdjson::SUCCESS);
  CHECK(content == "fn main() {\nAC\n");
}

TEST_CASE("json answer: a Markdown answer's JSON blocks are read in place, the rest as it is") {
  const std::string answer = "Saving it:\n\n```json\n{\"path\": \"a.go\", \"content\": \"x := 1\\ny := \\\"s\\\"\\n\"}\n```\n\nDone \"now\".\n"
                             "\n```json\n{\"n\": 1}\n```\n";
  const auto r = ReadJsonAnswer(answer);
  REQUIRE(r.has_value());
  CHECK_FALSE(r->whole);
  REQUIRE(r->parts.size() == 3);
  const std::string& t = r->map.code;
  auto text_of = [&](const JsonAnswer::Part& p) { return t.substr(p.begin, p.end - p.begin); };
  CHECK(text_of(r->parts[0]) == "Saving it:");  // (its line breaks outside it)
  CHECK(r->parts[0].escapes == 0);
  CHECK(r->parts[0].pointer.empty());
  CHECK(text_of(r->parts[1]) == "x := 1\ny := \"s\"\n");
  CHECK(r->parts[1].pointer == std::vector<std::string>{"/content"});
  CHECK(r->parts[1].escapes == 1);
  // (The block with nothing to read stays in the Markdown after it, fence and all.)
  CHECK(text_of(r->parts[2]) == "\nDone \"now\".\n\n```json\n{\"n\": 1}\n```");
  CHECK(t.find("```go\nx := 1") != std::string::npos);
  CHECK(t.find("```json\n{\"path\"") == std::string::npos);  // the block read is not in the reading
  // Both map back: the prose byte for byte, the code escape by escape.
  CHECK(r->map.ToAnswer(r->parts[2].begin + 1, false) == answer.find("Done"));
  CHECK(r->map.ToAnswer(r->parts[1].begin, false) == answer.find("x := 1"));
  // Edits: raw in the prose, escaped in the block.
  const uint32_t done = r->parts[2].begin + 1;
  const uint32_t quote = r->parts[1].begin + static_cast<uint32_t>(text_of(r->parts[1]).find('"'));
  const std::string edited = ApplyToAnswer(*r, answer, {{quote, quote + 3, "\"q\""}, {done, done + 4, "\"All\""}});
  CHECK(edited == "Saving it:\n\n```json\n{\"path\": \"a.go\", \"content\": \"x := 1\\ny := \\\"q\\\"\\n\"}\n```\n\n\"All\" \"now\".\n"
                  "\n```json\n{\"n\": 1}\n```\n");
  // An edit from the prose into the block's string leaves the fence on its own line.
  const std::string across = ApplyToAnswer(*r, answer, {{r->parts[0].begin + 7, r->parts[1].begin + 3, "[R]"}});
  CHECK(across == "Saving [R]\n\n```json\n{\"path\": \"a.go\", \"content\": \"= 1\\ny := \\\"s\\\"\\n\"}\n```\n\nDone \"now\".\n"
                  "\n```json\n{\"n\": 1}\n```\n");
  // A fence tag in capitals is read too.
  std::string capital = answer;
  capital.replace(capital.find("```json"), 7, "```JSON");
  REQUIRE(ReadJsonAnswer(capital).has_value());
  // No JSON block with a string to read: none.
  CHECK_FALSE(ReadJsonAnswer("Here:\n\n```json\n{\"n\": 1}\n```\n").has_value());
  CHECK_FALSE(ReadJsonAnswer("Here:\n\n```python\nx = {\"a\": \"b c\"}\n```\n").has_value());
}

TEST_CASE("json answer: JSON in an untagged fence, or on lines of its own between sentences, is read in place") {
  const std::string call = "{\"path\": \"a.go\",\n \"content\": \"x := 1\\ny := 2\\n\"}";
  auto text_of = [](const JsonAnswer& r, const JsonAnswer::Part& p) { return r.map.code.substr(p.begin, p.end - p.begin); };
  // An untagged fence holding one value: read as a ```json block is, fence lines and all.
  const std::string fenced = "Saving it:\n\n```\n" + call + "\n```\n\nDone.\n";
  const auto f = ReadJsonAnswer(fenced);
  REQUIRE(f.has_value());
  CHECK_FALSE(f->whole);
  REQUIRE(f->parts.size() == 3);
  CHECK(text_of(*f, f->parts[1]) == "x := 1\ny := 2\n");
  CHECK(f->parts[1].pointer == std::vector<std::string>{"/content"});
  CHECK(f->map.code.find("```go\nx := 1") != std::string::npos);
  CHECK(f->map.code.find("```\n{") == std::string::npos);
  CHECK(text_of(*f, f->parts[2]) == "\nDone.");  // (its last line break outside it)
  // After a sentence, with no fence: from its first line to its last, the prose around it kept.
  const std::string bare = "Saving it:\n" + call + "  \nDone.\n";
  const auto b = ReadJsonAnswer(bare);
  REQUIRE(b.has_value());
  REQUIRE(b->parts.size() == 3);
  CHECK(text_of(*b, b->parts[0]) == "Saving it:");
  CHECK(text_of(*b, b->parts[1]) == "x := 1\ny := 2\n");
  CHECK(text_of(*b, b->parts[2]) == "Done.");
  CHECK(b->map.ToAnswer(b->parts[1].begin, false) == bare.find("x := 1"));
  CHECK(b->map.ToAnswer(b->parts[2].begin, false) == bare.find("Done."));
  const uint32_t two = b->parts[1].begin + 12;  // the "2" of "y := 2"
  CHECK(ApplyToAnswer(*b, bare, {{two, two + 1, "\"3\""}}) ==
        "Saving it:\n{\"path\": \"a.go\",\n \"content\": \"x := 1\\ny := \\\"3\\\"\\n\"}  \nDone.\n");
  // Indented (a list item's continuation), and cut short at the end of a streamed answer.
  CHECK(ReadJsonAnswer("Saving it:\n\n    " + call + "\n").has_value() == false);  // an indented code block: as written
  CHECK(ReadJsonAnswer("Saving it:\n\n  " + call + "\n").has_value());
  const auto cut = ReadJsonAnswer("Saving it:\n\n" + call.substr(0, call.find("y :=")));
  REQUIRE(cut.has_value());
  CHECK(text_of(*cut, cut->parts[1]) == "x := 1\n");
  // Not read: a value with text after it on its line, one with nothing to read, code in an
  // untagged fence that opens with a brace, and a value in a fence of another language.
  CHECK_FALSE(ReadJsonAnswer("Saving it:\n" + call + " is the call.\n").has_value());
  CHECK_FALSE(ReadJsonAnswer("See:\n{\"n\": 1, \"id\": \"a7\"}\n[1] Smith, 2001.\n").has_value());
  CHECK_FALSE(ReadJsonAnswer("Here, not json:\n\n```\n{\n  int x = 1;\n}\n```\n").has_value());
  CHECK_FALSE(ReadJsonAnswer("Here:\n\n```go\n" + call + "\n```\n").has_value());
  // A line that opens a value which fails late is parsed from each line that opens one, within a
  // budget of the answer's size: a value after many of them is still found when within it, and
  // not past it (1,000 lines nested 256 deep each parse about 2 KB).
  auto after_failing = [&](int lines) {
    std::string failing = "Lines:\n";
    for (int i = 0; i < lines; ++i) failing += "[\"a b\",\n";
    return failing + "oops\n\nThen:\n" + call + "\n";
  };
  const auto late = ReadJsonAnswer(after_failing(50));
  REQUIRE(late.has_value());
  CHECK(text_of(*late, late->parts[1]) == "x := 1\ny := 2\n");
  CHECK_FALSE(ReadJsonAnswer(after_failing(1000)).has_value());
  // Values with nothing to read before one: they stay in the Markdown before it, as written.
  const std::string rows = "Rows:\n{\"a\": 1}\n[2, 3]\n" + call + "\n";
  const auto r = ReadJsonAnswer(rows);
  REQUIRE(r.has_value());
  CHECK(text_of(*r, r->parts[0]) == "Rows:\n{\"a\": 1}\n[2, 3]");
  CHECK(text_of(*r, r->parts[1]) == "x := 1\ny := 2\n");
  // Cut short, then a line break; an array whose first member is a number; an untagged fence in
  // a quote (its container's end ends it, and the line after it stays).
  const auto cut_nl = ReadJsonAnswer("Saving it:\n" + call.substr(0, call.find("y :=")) + "\n");
  REQUIRE(cut_nl.has_value());
  CHECK(text_of(*cut_nl, cut_nl->parts[1]) == "x := 1\n");
  CHECK(ReadJsonAnswer("Saving it:\n[1, " + call + "]\nDone.\n").has_value());
  const std::string quoted = "Saving it:\n> ```\n> " + call.substr(0, call.find('\n')) + call.substr(call.find('\n') + 1) +
                             "\nThis line stays.\n";
  const auto q = ReadJsonAnswer(quoted);
  REQUIRE(q.has_value());
  CHECK(q->map.code.find("This line stays.") != std::string::npos);
  CHECK(q->map.code.find("x := 1") != std::string::npos);
}

TEST_CASE("markdown: a fenced patch is read as its files' new sides, lines kept") {
  const std::string answer =
      "Apply:\n\n```diff\ndiff --git a/src/m.py b/src/m.py\nindex 1..2 100644\n--- a/src/m.py\n+++ b/src/m.py\n"
      "@@ -1,3 +1,3 @@\n def f(x):\n-    return x\n+    return x + 1\n\\ No newline at end of file\n"
      "--- a/old.go\n+++ /dev/null\n@@ -1 +0,0 @@\n-package old\n"
      "--- a/lib/u.rb\n+++ b/lib/u.rb\t2024-01-01\n@@ -0,0 +1 @@\n+puts 1\n```\n";
  const auto segments = SplitMarkdown(answer);
  REQUIRE(segments.size() == 2);
  const auto files = ReadDiff(answer, segments[1]);
  REQUIRE(files.size() == 3);
  CHECK(files[0].path == "src/m.py");
  CHECK(files[0].line == 4);
  CHECK(answer.substr(files[0].begin, files[0].end - files[0].begin).find("diff --git") == 0);
  CHECK(answer.substr(files[0].begin, files[0].end - files[0].begin).find("--- a/old.go") == std::string::npos);
  // Headers and the other side's lines are empty lines: the code's lines are the answer's from
  // line 4 on, on either side.
  CHECK(files[0].code.code == "\n\n\n\n\ndef f(x):\n\n    return x + 1\n\n");
  CHECK(files[0].old_code.code == "\n\n\n\n\ndef f(x):\n    return x\n\n\n");
  const uint32_t plus = static_cast<uint32_t>(files[0].code.code.find("return x + 1"));
  CHECK(files[0].code.ToAnswer(plus, false) == answer.find("return x + 1"));
  CHECK(files[0].code.ToAnswer(plus + 12, true) == answer.find("return x + 1") + 12);
  CHECK(answer.substr(files[0].old_code.ToAnswer(static_cast<uint32_t>(files[0].old_code.code.find("return x")), false), 9) ==
        "return x\n");
  // A deleted file: its old side only.
  CHECK(files[1].path.empty());
  CHECK(files[1].code.code == "\n\n\n\n");
  CHECK(files[1].old_code.code == "\n\n\npackage old\n");
  CHECK(files[2].path == "lib/u.rb");
  CHECK(files[2].code.code == "\n\n\nputs 1\n");
  CHECK(answer.substr(files[2].code.ToAnswer(3, false), 6) == "puts 1");
  // The one file of the patch in `text`'s last segment: its name and new side.
  auto one_file = [](const std::string& text) {
    const auto read = ReadDiff(text, SplitMarkdown(text).back());
    REQUIRE(read.size() == 1);
    return std::pair{read[0].path, read[0].code.code};
  };
  // A removed `-- x` and an added `++ y` are lines, not a file's headers (no hunk after them).
  CHECK(one_file("```diff\n--- a/q.sql\n+++ b/q.sql\n@@ -1 +1 @@\n--- old note\n+++ new note\n SELECT 1;\n```\n") ==
        std::pair<std::string, std::string>{"q.sql", "\n\n\n\n++ new note\nSELECT 1;\n"});
  // A ```diff block of marked lines alone is one file without a name; a line without a mark is
  // context as written.
  CHECK(one_file("Change:\n```diff\n-old()\n+new_call(a, b)\nkept()\n```\n") ==
        std::pair<std::string, std::string>{"", "\nnew_call(a, b)\nkept()\n"});
  // apply_patch's form, untagged.
  CHECK(one_file("```\n*** Begin Patch\n*** Add File: tools/a.ts\n+export const a = 1;\n*** End Patch\n```\n") ==
        std::pair<std::string, std::string>{"tools/a.ts", "\nexport const a = 1;\n\n"});
  // Not a patch: an untagged block that does not open as one, a block of another language, a
  // block that neither adds nor removes a line.
  const std::string not_patch = "```\nx = 1\n+y\n```\n";
  CHECK(ReadDiff(not_patch, SplitMarkdown(not_patch)[0]).empty());
  const std::string python = "```python\n--- a/x\n+++ b/x\n+y = 1\n```\n";
  CHECK(ReadDiff(python, SplitMarkdown(python)[0]).empty());
  const std::string context = "```diff\n kept()\n```\n";
  CHECK(ReadDiff(context, SplitMarkdown(context)[0]).empty());
  // In a list item or a quote: read without the container's prefix, mapped back through it.
  const std::string listed =
      "Steps:\n\n1. Apply:\n\n   ```diff\n   --- a/src/m.py\n   +++ b/src/m.py\n   @@ -1,2 +1,2 @@\n    def f(x):\n"
      "   -    return x\n   +    return x + 1\n   ```\n\n2. Test.\n";
  // (A quote in a list item, its lines' markers after the item's indentation, one without the
  // space after its '>'.)
  const std::string nested =
      "1. Apply:\n\n   > ```diff\n   > --- a/src/m.py\n   > +++ b/src/m.py\n   >@@ -1,2 +1,2 @@\n   >  def f(x):\n"
      "   > -    return x\n   > +    return x + 1\n   > ```\n";
  for (const std::string& text : {listed, nested,
                                  std::string("> ```diff\n> --- a/src/m.py\n> +++ b/src/m.py\n> @@ -1,2 +1,2 @@\n"
                                              ">  def f(x):\n> -    return x\n> +    return x + 1\n> ```\n")}) {
    INFO(text);
    const auto in_container = SplitMarkdown(text);
    const auto it = std::find_if(in_container.begin(), in_container.end(), [](const Segment& seg) { return seg.kind == Kind::kCode; });
    REQUIRE(it != in_container.end());
    CHECK(!it->prefix.empty());
    const auto read = ReadDiff(text, *it);
    REQUIRE(read.size() == 1);
    CHECK(read[0].path == "src/m.py");
    CHECK(read[0].code.code == "\n\n\ndef f(x):\n\n    return x + 1\n");
    CHECK(read[0].old_code.code == "\n\n\ndef f(x):\n    return x\n\n");
    const uint32_t plus = static_cast<uint32_t>(read[0].code.code.find("return x + 1"));
    CHECK(read[0].code.ToAnswer(plus, false) == text.find("return x + 1"));
    CHECK(read[0].code.ToAnswer(plus + 12, true) == text.find("return x + 1") + 12);
    const uint32_t old = static_cast<uint32_t>(read[0].old_code.code.find("return x\n"));
    CHECK(read[0].old_code.ToAnswer(old, false) == text.find("return x\n"));
    CHECK(text.substr(read[0].begin, read[0].end - read[0].begin).find("--- a/src/m.py") == 0);
    CHECK(read[0].end <= it->end);
  }
  CHECK(OpensAsPatch("\n\n--- a/x\n+++ b/x\n"));
  CHECK_FALSE(OpensAsPatch("--- a/x\n"));
}

TEST_CASE("markdown: an HTML <pre> block is code read as its page shows it") {
  // The tags begin a line; the code may begin on it, after them.
  const std::string text =
      "<p>Compare:</p>\n<pre><code class=\"language-go\">ok := a &lt; b &amp;&amp; c\n</code></pre>\n<p>After.</p>\n";
  const auto parts = SplitMarkdown(text);
  REQUIRE(parts.size() == 3);
  CHECK(parts[0].kind == Kind::kText);
  CHECK(text.substr(parts[0].begin, parts[0].end - parts[0].begin) == "<p>Compare:</p>\n");
  CHECK(parts[1].kind == Kind::kCode);
  CHECK(parts[1].html);
  CHECK(parts[1].language == "go");
  CHECK(parts[1].line == 2);
  CHECK(text.substr(parts[1].begin, 6) == "ok := ");
  CHECK(parts[2].kind == Kind::kText);
  CHECK(text.substr(parts[2].begin) == "\n<p>After.</p>\n");
  CHECK(parts[2].line == 3);
  const StrippedCode read = StripContainer(text, parts[1]);
  CHECK(read.code == "ok := a < b && c\n");
  // A decoded reference maps back whole: "<" is "&lt;" in the answer.
  const uint32_t lt = static_cast<uint32_t>(read.code.find('<'));
  CHECK(read.ToAnswer(lt, false) == text.find("&lt;"));
  CHECK(read.ToAnswer(lt + 1, true) == text.find("&lt;") + 4);
  const uint32_t c = static_cast<uint32_t>(read.code.find('c'));
  CHECK(text[read.ToAnswer(c, false)] == 'c');

  // Tags on a line of their own; a class `lang-X`, or a data-lang attribute, names the language.
  const std::string own_line = "Code:\n\n<pre class=\"lang-py\">\nif a:\n    b()\n</pre>\n";
  const auto ol = SplitMarkdown(own_line);
  REQUIRE(ol.size() == 3);
  CHECK(ol[1].language == "py");
  CHECK(ol[1].line == 4);
  CHECK(StripContainer(own_line, ol[1]).code == "if a:\n    b()\n");
  const auto dl = SplitMarkdown("<pre data-lang=\"Rust\"><code>fn f() {}</code></pre>\n");
  REQUIRE(dl.size() == 2);
  CHECK(dl[0].language == "rust");
  const auto upper = SplitMarkdown("<PRE><CODE CLASS=\"Language-Go\">x := 1</CODE></PRE>\n");
  REQUIRE(upper.size() == 2);
  CHECK(upper[0].language == "go");

  // A highlighter's inline tags are taken out; references are decoded, but not one that is
  // unknown, nor one of a line break (the lines stay the answer's).
  const std::string lit =
      "<pre><code><span class=\"k\">def</span> <span class=\"nf\">f</span>():\n"
      "  <b>return</b> &#39;x&#39; &#x3C; &unknown; &#10; List<String>\n</code></pre>\n";
  const auto hl = SplitMarkdown(lit);
  REQUIRE(hl.size() == 2);
  CHECK(hl[0].language.empty());
  CHECK(StripContainer(lit, hl[0]).code == "def f():\n  return 'x' < &unknown; &#10; List<String>\n");
  // A reference ends within 10 bytes, and a tag before another `<`: else they are text.
  const std::string loose = "<pre>a &b;c d &abcdefghijkl; <i <b>x</b></pre>\n";
  CHECK(StripContainer(loose, SplitMarkdown(loose)[0]).code == "a &b;c d &abcdefghijkl; <i x");

  // A <pre> never closed, or named in a sentence, is prose (lines of them cost one search for
  // a close, not one each); one in a fence is the fence's text.
  std::string unclosed;
  for (int i = 0; i < 2000; ++i) unclosed += "<pre>\n";
  for (const std::string& prose : {std::string("Use <pre> for code.\nIt keeps spaces.\n"), std::string("<pre>\nx = 1\n"),
                                  unclosed}) {
    INFO(prose.substr(0, 40));
    const auto p = SplitMarkdown(prose);
    REQUIRE(p.size() == 1);
    CHECK(p[0].kind == Kind::kText);
  }
  const auto fenced = SplitMarkdown("```html\n<pre>x</pre>\n```\n");
  REQUIRE(fenced.size() == 1);
  CHECK(fenced[0].language == "html");
  CHECK_FALSE(fenced[0].html);
}

TEST_CASE("markdown: ReadsAsOutputOrProse knows logs, dumps, traces, trees and prose from code") {
  CHECK(ReadsAsOutputOrProse(
      "2025-06-24 14:36:25 status half-configured libsystemd0:amd64 252.36-1~deb12u1\n"
      "2025-06-24 14:36:25 trigproc libc-bin:amd64 2.36-9+deb12u10 <none>\n"));
  CHECK(ReadsAsOutputOrProse("Jun 24 14:36:25 host sshd[812]: Accepted publickey for root\r\n"
                             "Jun  4 09:01:02 host CRON[99]: (root) CMD (run-parts /etc/cron.hourly)\r\n"));
  CHECK(ReadsAsOutputOrProse("[INFO] Building doppel 1.0\n[WARNING] no tests ran\nERROR: build failed\n"));
  CHECK(ReadsAsOutputOrProse("00000000  7f 45 4c 46 02 01 01 00  00 00 00 00 00 00 00 00  |.ELF............|\n"
                             "00000010  03 00 3e 00 01 00 00 00  60 10 00 00 00 00 00 00  |..>.....`.......|\n"));
  CHECK(ReadsAsOutputOrProse("00000000: 7f45 4c46 0201 0100 0000 0000 0000 0000  .ELF............\n"
                             "00000010: 0300 3e00 0100 0000 6010 0000 0000 0000  ..>.....`.......\n"));
  CHECK(ReadsAsOutputOrProse(
      "  The GNU General Public License is a free, copyleft license for\n"
      "software and other kinds of works (see below).\n"));
  CHECK(ReadsAsOutputOrProse("Traceback (most recent call last):\n"
                             "  File \"/srv/app/main.py\", line 12, in <module>\n    main()\n"
                             "  File \"/srv/app/main.py\", line 8, in main\n    print(1 + \"a\")\n"
                             "TypeError: unsupported operand type(s) for +: 'int' and 'str'\n"));
  CHECK(ReadsAsOutputOrProse("Exception in thread \"main\" java.lang.NullPointerException\n"
                             "\tat com.example.Main.run(Main.java:42)\n"
                             "\tat java.base/java.util.concurrent.ThreadPoolExecutor$Worker.run(ThreadPoolExecutor.java:635)\n"
                             "\tat java.base/java.lang.Thread.run(Thread.java:833)\n"
                             "\tat com.example.Main.main(Main.java:7)\n"));
  CHECK(ReadsAsOutputOrProse("TypeError: x is not a function\n    at Object.<anonymous> (/srv/a.js:1:1)\n"
                             "    at Module._compile (node:internal/modules/cjs/loader:1105:14)\n"
                             "    at Main.Run() in C:\\src\\Main.cs:line 12\n"));
  CHECK(ReadsAsOutputOrProse("project\n\u251c\u2500\u2500 CMakeLists.txt\n\u251c\u2500\u2500 src\n\u2502   \u2514\u2500\u2500 main.cc\n"
                             "\u2514\u2500\u2500 tests\n"));
  CHECK(ReadsAsOutputOrProse(".\n|-- CMakeLists.txt\n|-- src\n|   `-- main.cc\n`-- tests\n"));
  CHECK(ReadsAsOutputOrProse("total 8\ndrwxr-xr-x 2 root root 4096 Dec  6 03:59 src\n"
                             "-rw-r--r-- 1 root root  211 Dec  6 03:59 main.cc\n"
                             "lrwxrwxrwx 1 root root    7 Dec  6 03:59 lib -> usr/lib\n"));
  CHECK(ReadsAsOutputOrProse("In file included from main.c:1:\nmain.c: In function 'main':\n"
                             "main.c:3:5: error: 'x' undeclared (first use in this function)\n"
                             "    3 |     x = 1;\n      |     ^\n"
                             "./main.go:7:2: undefined: y\n"));
  CHECK(ReadsAsOutputOrProse("$ mkdir build && cd build\n$ ../configure --prefix ~/opt\n$ make -j4\n"
                             "$ make check\nAll 42 tests passed, none skipped.\n"));
  CHECK(ReadsAsOutputOrProse("error[E0308]: mismatched types\n --> src/main.rs:4:18\n  |\n"
                             "4 |     let x: i32 = \"a\";\n  |            ---   ^^^ expected `i32`, found `&str`\n"));
  // Three lines in four of output or prose, at least.
  CHECK(ReadsAsOutputOrProse("Summary\nERROR: one\nERROR: two\nERROR: three\n"));
  CHECK_FALSE(ReadsAsOutputOrProse("Summary\nERROR: one\nERROR: two\n"));
  // Code is neither output nor prose.
  for (const char* code : {
           // Code: one line shaped as code is enough, a one-line method among them.
           "",
           "ERROR: one\nERROR: two\nERROR: three\nreturn compute(x, y);\n",
           "Output:\nUncheckedByteArraySink::~UncheckedByteArraySink() { }\n",
           "    @Override protected double computeMinHeight(double width) { return 150; }",
           "() =>\n    // a comment\n    innerSub ? subscribeForRetryWhen() : (syncResub = true)\n",
           "def area(r):\n    return 3.14 * r * r\n",
           "$ ./configure\n$ make\n$x = compute($y);\n$total += $x;\n",
           // Code whose lines merely lack code's shape: declarations, tables, commands.
           "  autoload :Env,     File.expand_path(\"bundler/env\", __dir__)\n"
           "  autoload :Fetcher, File.expand_path(\"bundler/fetcher\", __dir__)\n",
           "    ('\u0565', '\u0565'),\n    ('\u0567', '\u0567'),\n",
           "\tNonUTF8 bool\n\n\tCreatorVersion uint16\n\tReaderVersion  uint16\n",
           "        53,             // WEEK_OF_YEAR\n        6,              // WEEK_OF_MONTH\n",
           // Code that begins as output does: an array named `error`, a label, a ternary over a time.
           "error[0] = compute(a);\nerror[1] = compute(b);\nerror[2] = compute(c);\n",
           "  ERROR: 4,\n  WARN: 3,\n  INFO: 2,\n  DEBUG: 1,\n",
           "    [ERROR] = \"error\",\n    [WARN] = \"warning\",\n    [INFO] = \"info\",\n",
           "        1 | 2 | 3 => \"small\",\n        4 | 5 | 6 => \"medium\",\n        7 | 8 => \"large\",\n",
           "print(\"\u251c\u2500\u2500 src\")\nprint(\"\u2502   \u2514\u2500\u2500 main.cc\")\n"
           "print(\"\u2514\u2500\u2500 tests\")\n",
           // Lines of code that read as sentences, for their comments or their words.
           "\tName string // Name is the name of the file, as given.\n"
           "\tSize int64 // Size is the length of the file in bytes.\n",
           "MAX_RETRIES = 5   # how many times we retry the call.\n"
           "TIMEOUT = 30       # how many seconds we wait for an answer.\n",
           "from typing import Any, Dict, List, Optional\n"
           "from collections import OrderedDict, defaultdict, namedtuple\n",
           "    pub width: u32, // Width of the frame in pixels.\n"
           "    pub height: u32, // Height of the frame in pixels.\n",
       }) {
    INFO(code);
    CHECK_FALSE(ReadsAsOutputOrProse(code));
  }
}

TEST_CASE("markdown: code outside fences is found by its lines (bare code)") {
  auto split = [](const std::string& text) { return SplitBareCode(text, SplitMarkdown(text)); };
  auto body = [](const std::string& text, const Segment& s) { return text.substr(s.begin, s.end - s.begin); };
  // The one run of bare code among `count` segments, holding `code`.
  auto bare_run = [&](const std::string& text, size_t count, const std::string& code) {
    INFO(text);
    const auto parts = split(text);
    REQUIRE(parts.size() == count);
    const auto run = std::find_if(parts.begin(), parts.end(), [](const Segment& s) { return s.bare; });
    REQUIRE(run != parts.end());
    CHECK(body(text, *run) == code);
    return *run;
  };
  // A C function pasted between two sentences.
  const std::string c =
      "Here is a helper that sums the values.\n\n"
      "int sum(const int *v, int n) {\n"
      "  int total = 0;\n"
      "  for (int i = 0; i < n; i++) total += v[i];\n"
      "  return total;\n"
      "}\n"
      "\n"
      "It runs in linear time (one pass).\n";
  auto segs = split(c);
  REQUIRE(segs.size() == 3);
  CHECK(segs[0].kind == Kind::kText);
  CHECK(segs[1].kind == Kind::kCode);
  CHECK(segs[1].bare);
  CHECK(segs[1].language.empty());
  CHECK(segs[1].line == 3);
  CHECK(body(c, segs[1]) == "int sum(const int *v, int n) {\n  int total = 0;\n  for (int i = 0; i < n; i++) total += v[i];\n  return total;\n}\n");
  CHECK(segs[2].kind == Kind::kText);
  CHECK(body(c, segs[2]) == "\nIt runs in linear time (one pass).\n");
  CHECK(segs[2].line == 8);

  // Python with a blank line in its body (the lines after it are an indented code block) and a
  // docstring sentence indented deeper than the def: one run.
  const std::string py =
      "Try this:\n\n"
      "def area(w, h):\n"
      "    \"\"\"Return the area of the rectangle.\"\"\"\n"
      "    total = w * h\n"
      "\n"
      "    return total\n";
  CHECK(bare_run(py, 2, py.substr(py.find("def"))).indented);
  CHECK(SplitMarkdown(py).size() == 2);  // Markdown alone: the "return" line only is code
  CHECK(body(py, SplitMarkdown(py)[1]) == "    return total\n");
  // A docstring of paragraphs: its blank line makes the rest of the function an indented block,
  // which the def line before it joins.
  const std::string doc =
      "Like so:\n\n"
      "def lookup(self, fd):\n"
      "    \"\"\"Return the key of a file descriptor.\n"
      "\n"
      "    Returns None when there is none.\n"
      "    \"\"\"\n"
      "    try:\n"
      "        return self._keys[fd]\n"
      "    except KeyError:\n"
      "        return None\n"
      "\nDone.\n";
  bare_run(doc, 3, doc.substr(doc.find("def"), doc.find("\nDone.") - doc.find("def")));

  // A declaration is mostly words, but its statement word and brackets make it code.
  const std::string java = "As follows:\n\npublic final void set(T obj, long newValue)\n{\n   check(obj);\n   U.putLong(obj, offset, newValue);\n}\n";
  bare_run(java, 2, java.substr(java.find("public")));

  // A long string cut over lines (a line of words that goes on after `\`) and a command on a chain
  // of names stay in the run.
  const std::string ruby =
      "Like so:\n\ndef warn_once\n   Helpers.deprecate 2,\n"
      "      \"this flag is deprecated and will be removed in a future version \" \\\n"
      "      \"of this tool\" if ARGV.include?(\"--all\")\n   run_it\nend\n";
  bare_run(ruby, 2, ruby.substr(ruby.find("def")));

  // An object literal's members and spread.
  const std::string object = "Return this:\n\nreturn {\n  ...base,\n  retries: 3,\n  timeout: undefined,\n}\n";
  bare_run(object, 2, object.substr(object.find("return {")));

  // A line of marks only that opens a block (an arrow function's `() => {`) is code; a rule is
  // not.
  const std::string callback =
      "Pass this as the handler:\n\n() => {\n   // After the first value, stop listening:\n"
      "   // we want no more of them.\n   notifier.unsubscribe();\n   resubscribe();\n}\n\nThat is all.\n";
  bare_run(callback, 3, callback.substr(callback.find("() =>"), callback.find("\n\nThat") + 1 - callback.find("() =>")));
  // Other lines of marks only are not: two code lines and an ellipsis are no run.
  const std::string elided = "Keep these:\n\ntotal = 0;\n...\ncount = 0;\n";
  CHECK(split(elided).size() == SplitMarkdown(elided).size());

  // Indented in a list item (Markdown reads that as the item's text): its indentation is the prefix.
  const std::string item = "1. Write the entry point:\n\n        int main(void) {\n          return run();\n        }\n2. Build it.\n";
  segs = split(item);
  REQUIRE(segs.size() == 3);
  CHECK(segs[1].bare);
  CHECK(segs[1].prefix == "        ");
  CHECK(StripContainer(item, segs[1]).code == "int main(void) {\n  return run();\n}\n");
  CHECK(body(item, segs[2]) == "2. Build it.\n");
  REQUIRE(SplitMarkdown(item).size() == 1);

  // Prose stays prose: sentences with parentheses, semicolons and numbers, a line or two of code
  // (fewer than kBareCodeMinLines), rules, HTML and lists.
  for (const std::string& prose : {
           std::string("The options are few (two, in fact); each is a flag.\nSet x = 5 and y = 6 before you start;\n"
                       "then run it again, and compare the output with the first run.\n"),
           std::string("Call it like this:\n\nresult = merge(a, b)\nprint(result)\n\nThat is all there is to it.\n"),
           std::string("Results\n=======\n\n<details>\n<summary>Output</summary>\n</details>\n\n- one (1)\n- two (2)\n"),
           std::string("It reads: x[i] = y[i] + z[i];\nwhere i runs over the indices; then it stops.\n")}) {
    INFO(prose);
    segs = split(prose);
    REQUIRE(segs.size() == SplitMarkdown(prose).size());
    for (const Segment& s : segs) CHECK_FALSE(s.bare);
  }

  // Indented blocks between lines that are not code stay as Markdown has them.
  const std::string terms = "Terms:\n\n    (a) the first term\n\n1.5. \"Next\"\n    means\n\n    (b) another term\n";
  const auto md = SplitMarkdown(terms);
  segs = split(terms);
  REQUIRE(segs.size() == md.size());
  for (size_t i = 0; i < md.size(); ++i) {
    CHECK(segs[i].kind == md[i].kind);
    CHECK(segs[i].begin == md[i].begin);
    CHECK(segs[i].end == md[i].end);
    CHECK(segs[i].line == md[i].line);
    CHECK(segs[i].prefix == md[i].prefix);
    CHECK_FALSE(segs[i].bare);
  }

  // Fenced blocks are kept as they are, and a run does not cross one, nor the fence lines of an
  // empty one (which has no segment).
  const std::string fenced = "x = 1\ny = 2\n```py\nz = 3\n```\nw = 4\n";
  segs = split(fenced);
  REQUIRE(segs.size() == 3);
  CHECK(segs[0].kind == Kind::kText);
  CHECK(segs[1].language == "py");
  CHECK(segs[2].kind == Kind::kText);
  CHECK(split("").empty());
  const std::string empty_fence = "a = f(1)\nb = f(2)\n```\n```\nc = f(3)\nd = f(4)\n";
  segs = split(empty_fence);
  REQUIRE(segs.size() == 2);
  CHECK(body(empty_fence, segs[0]) == "a = f(1)\nb = f(2)\n");
  CHECK(body(empty_fence, segs[1]) == "c = f(3)\nd = f(4)\n");

  // A numbered item, a heading or a lead-in between two snippets ends the first.
  const std::string steps =
      "1. Define it:\n   def add(a, b):\n       total = a + b\n       return total\n"
      "2. Call it:\n   result = add(1, 2)\n   print(result)\n   assert result == 3\n";
  segs = split(steps);
  REQUIRE(segs.size() == 4);
  CHECK(body(steps, segs[1]) == "   def add(a, b):\n       total = a + b\n       return total\n");
  CHECK(body(steps, segs[2]) == "2. Call it:\n");
  CHECK(segs[3].bare);
  // A call whose string is a sentence is code; prose in any script is prose.
  const std::string calls =
      "if n < 0:\n    print(\"The value must be positive.\")\n    raise ValueError(\"Negative input.\")\n"
      "Ceci est une phrase écrite en français, sans code.\nЭто предложение написано по-русски и без кода.\n"
      "x = f(1)\n";
  segs = split(calls);
  REQUIRE(segs.size() == 2);
  CHECK(segs[0].bare);
  CHECK(body(calls, segs[0]).find("Negative input") != std::string::npos);
  CHECK(segs[1].kind == Kind::kText);
}

namespace {

const char* kProtected = R"(import os

def merge_sorted_runs(left, right, key=None):
    """Merge two sorted lists into one sorted list."""
    result = []
    i = 0
    j = 0
    while i < len(left) and j < len(right):
        if key(left[i]) <= key(right[j]):
            result.append(left[i])
            i += 1
        else:
            result.append(right[j])
            j += 1
    result.extend(left[i:])
    result.extend(right[j:])
    return result
)";

// The same function, renamed consistently, reformatted and re-commented.
const char* kRenamed = R"(def combine(a, b, key=None):
    # combine two ordered sequences
    out = []
    p = 0; q = 0
    while p < len(a) and q < len(b):
        if key(a[p]) <= key(b[q]):
            out.append(a[p]); p += 1
        else:
            out.append(b[q]); q += 1
    out.extend(a[p:])
    out.extend(b[q:])
    return out
)";

// Same shape, names not a consistent renaming.
const char* kShapeOnly = R"(def combine(a, b, key=None):
    a = []
    a = 0
    a = 0
    while b < len(a) and b < len(b):
        if key(a[b]) <= key(a[a]):
            b.append(a[a])
            a += 1
        else:
            a.append(b[a])
            b += 1
    a.extend(b[a:])
    a.extend(a[b:])
    return b
)";

}  // namespace

namespace {

// A new index in `dir` holding each (name, text) as code in `language`.
void WriteCodeIndex(const std::string& dir, const std::vector<std::pair<std::string, std::string>>& files,
                    const std::string& language) {
  IndexOptions io;
  io.create_if_missing = true;
  auto index = Index::Open(dir, io);
  REQUIRE(index.ok());
  DocumentSketcher sk((*index)->params());
  std::vector<SketchedDocument> batch(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    Document d;
    d.name = files[i].first;
    d.text = files[i].second;
    d.kind = Kind::kCode;
    d.language = language;
    REQUIRE(sk.Sketch(d, &batch[i]).ok());
  }
  WriteSummary ws;
  REQUIRE((*index)->Write(&batch, &ws).ok());
}

// A short Go function whose shape twelve protected files share (WriteSharedShapeIndex), named
// after `n`, with `message` as its error message.
std::string LoadHelper(const std::string& n, const std::string& message = "open %s: %w") {
  return doppel_test::GoLoadHelper(n, message);
}

// A short function found in one protected Go file only, and a renamed copy of it.
const std::string kClampRatio =
    "func clampRatio(num, den float64) float64 {\n\tif den == 0 {\n\t\treturn 0\n\t}\n"
    "\tr := num / den\n\tif r > 1 {\n\t\treturn 1\n\t}\n\treturn r\n}\n";
const std::string kClampRatioRenamed =
    "func ratioOf(a, b float64) float64 {\n\tif b == 0 {\n\t\treturn 0\n\t}\n"
    "\tq := a / b\n\tif q > 1 {\n\t\treturn 1\n\t}\n\treturn q\n}\n";

void WriteSharedShapeIndex(const std::string& dir) {
  std::vector<std::pair<std::string, std::string>> files;
  for (int i = 0; i < 12; ++i) {
    files.emplace_back("pkg/file" + std::to_string(i) + ".go", "package pkg\n\n" + LoadHelper(std::to_string(i)));
  }
  WriteCodeIndex(dir, files, "go");
}

// Checks `answer` as code in `language` against the index in `dir` with `options`.
Verdict CheckWith(const std::string& dir, const FilterOptions& options, const std::string& answer,
                  const std::string& language) {
  auto filter = Filter::Open(dir, options);
  REQUIRE(filter.ok());
  auto v = (*filter)->Check(answer, Kind::kCode, language);
  REQUIRE(v.ok());
  return std::move(v).value();
}

// Indexes one protected file in `dir` and checks `answer` against it at the default options;
// the verdict must have spans.
Verdict CheckAgainstOne(const std::string& dir, const std::string& name, const std::string& code,
                        const std::string& language, const std::string& answer) {
  WriteCodeIndex(dir, {{name, code}}, language);
  Verdict v = CheckWith(dir, FilterOptions{}, answer, language);
  REQUIRE(!v.spans.empty());
  return v;
}

// Checks that `sp` pairs answer lines [q_first, q_last] with lines [s_first, s_last] of `source`.
void CheckSpanLines(const Span& sp, const std::string& source, uint32_t q_first, uint32_t q_last, uint32_t s_first,
                    uint32_t s_last) {
  CHECK(sp.source_name == source);
  CHECK(sp.query.first_line == q_first);
  CHECK(sp.query.last_line == q_last);
  CHECK(sp.source.first_line == s_first);
  CHECK(sp.source.last_line == s_last);
}

// A new index in `dir` holding kProtected as the Python file lib/merge.py and `prose` as the
// text document `prose_name`.
void WriteMergeAndProseIndex(const std::string& dir, const std::string& prose_name, const std::string& prose) {
  IndexOptions io;
  io.create_if_missing = true;
  auto index = Index::Open(dir, io);
  REQUIRE(index.ok());
  Document code;
  code.name = "lib/merge.py";
  code.text = kProtected;
  code.kind = Kind::kCode;
  code.language = "python";
  Document text;
  text.name = prose_name;
  text.text = prose;
  DocumentSketcher sk((*index)->params());
  std::vector<SketchedDocument> batch(2);
  REQUIRE(sk.Sketch(code, &batch[0]).ok());
  REQUIRE(sk.Sketch(text, &batch[1]).ok());
  WriteSummary ws;
  REQUIRE((*index)->Write(&batch, &ws).ok());
}

// The language named `name`, which must be known and have its grammar.
const Language* Grammar(const std::string& name) {
  const Language* l = LookupLanguage(name);
  REQUIRE(l != nullptr);
  REQUIRE(l->grammar != nullptr);
  return l;
}

// `v`, an answer holding kRenamed in a code block from its line `first_line` and redacted,
// reports one passage, kRenamed read as Python and found in lib/merge.py, replaced under a
// Python comment.
void CheckRedactedAsMergePy(const Verdict& v, uint32_t first_line = 4) {
  REQUIRE(v.spans.size() == 1);
  CHECK(v.spans[0].language == "python");
  CHECK(v.spans[0].source_name == "lib/merge.py");
  CHECK(v.spans[0].renaming == Approx(1.0));
  CHECK(v.spans[0].query.first_line == first_line);
  CHECK_THAT(v.output, Catch::Contains("# [redacted: similar to lib/merge.py]"));
  CHECK_THAT(v.output, !Catch::Contains("while p < len(a)"));
}

// Options that redact what they would block, so that the marker's place is seen.
FilterOptions Redacting(FilterOptions o = {}) {
  o.actions[static_cast<size_t>(Action::kBlock)] = Action::kRedact;
  return o;
}

// A filter of an index of one protected code file, written to `dir`/idx.
std::unique_ptr<Filter> OneFileFilter(const TempDir& dir, const std::string& name, const std::string& code,
                                      const std::string& language, const FilterOptions& options = Redacting()) {
  WriteCodeIndex(dir / "idx", {{name, code}}, language);
  auto filter = Filter::Open(dir / "idx", options);
  REQUIRE(filter.ok());
  return std::move(*filter);
}

// A filter of an index of lib/merge.py alone, written to `dir`/idx.
std::unique_ptr<Filter> MergePyFilter(const TempDir& dir, const FilterOptions& options) {
  return OneFileFilter(dir, "lib/merge.py", kProtected, "python", options);
}

// The one span of `v`, a redacted answer holding kRenamed: read as Python, found in
// lib/merge.py, a consistent renaming.
const Span& OneMergePySpan(const Verdict& v) {
  CHECK(v.action == Action::kRedact);
  REQUIRE(v.spans.size() == 1);
  const Span& s = v.spans.front();
  CHECK(s.source_name == "lib/merge.py");
  CHECK(s.language == "python");
  CHECK(s.renaming == Approx(1.0));
  return s;
}

// The string at JSON Pointer `pointer` in `json`, which must be valid JSON and hold one there.
std::string JsonStringAt(std::string_view json, const char* pointer) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  REQUIRE(parser.parse(std::string(json)).get(root) == simdjson::SUCCESS);
  std::string_view text;
  REQUIRE(root.at_pointer(pointer).get(text) == simdjson::SUCCESS);
  return std::string(text);
}

// `s` as a JSON string literal.
std::string Quoted(const std::string& s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

// The verdict on `answer`, which must be checked.
Verdict Checked(const Filter& filter, const std::string& answer) {
  auto v = filter.Check(answer);
  REQUIRE(v.ok());
  return std::move(v).value();
}

}  // namespace

TEST_CASE("code: renamed copies are found, localized and told apart from look-alikes") {
  TempDir dir;
  WriteMergeAndProseIndex(dir / "idx", "notes.txt",
                          "def merge sorted runs left right key none result i j while len append extend return");
  auto filter = Filter::Open(dir / "idx", FilterOptions{});
  REQUIRE(filter.ok());

  const std::string answer =
      std::string("Sure, here you go. The function walks both inputs once, always taking the smaller "
                  "head element, so it runs in linear time and keeps equal elements in their original "
                  "order, which makes it stable. You can pass a key function to compare on a derived "
                  "value, for example the length of each string or a field of a record, and the "
                  "result is a new list, so neither input is changed:\n\n```python\n") +
      kRenamed + "```\n\nFor many runs, merge them pairwise or use a heap.\n";
  auto v = (*filter)->Check(answer);
  REQUIRE(v.ok());
  CHECK((v->action == Action::kRedact || v->action == Action::kBlock));
  REQUIRE(!v->spans.empty());
  const Span& s = v->spans.front();
  CHECK(s.source_name == "lib/merge.py");
  CHECK(s.kind == Kind::kCode);
  CHECK(s.language == "python");
  CHECK(s.renaming == Approx(1.0));
  CHECK(s.query.first_line == 4);   // the def line, in lines of the whole answer
  CHECK(s.query.last_line >= 14);
  CHECK(s.source.first_line == 3);
  CHECK(answer.substr(s.query.start, 3) == "def");
  // The redacted output keeps the fences and puts a comment in place of the code.
  CHECK_THAT(v->output, Catch::Contains("```python\n# [redacted: similar to lib/merge.py]"));

  auto shape = (*filter)->Check(kShapeOnly, Kind::kCode, "python");
  REQUIRE(shape.ok());
  REQUIRE(!shape->spans.empty());
  CHECK(shape->spans.front().renaming < 0.6);
  CHECK(shape->spans.front().renaming < s.renaming);
  CHECK(shape->action == Action::kAnnotate);
  CHECK(shape->reason == "code resembles protected code in shape only (names not a consistent renaming)");

  // Beside a copy, the answer's own code of the same shape is reported and left in place: only
  // the spans that count are redacted.
  std::string own = kShapeOnly;
  own.replace(own.find("combine"), 7, "combine_own");
  auto both = (*filter)->Check(std::string(kRenamed) + "\n\n" + own, Kind::kCode, "python");
  REQUIRE(both.ok());
  CHECK(both->action == Action::kRedact);
  bool shape_reported = false;
  for (const Span& sp : both->spans) shape_reported |= !sp.counts && sp.renaming < 0.6;
  CHECK(shape_reported);
  CHECK_THAT(both->output, Catch::Contains(own));
  CHECK_THAT(both->output, !Catch::Contains(kRenamed));

  // Beside a short consistent renaming (the copy's last lines, too short to count alone), the
  // shape is the largest span, and the reason names what kept it from counting: its names.
  const std::string tail = "def finish(acc, xs, ys, m, n):\n    acc.extend(xs[m:])\n    acc.extend(ys[n:])\n    return acc\n";
  auto mixed = (*filter)->Check(std::string(kShapeOnly) + "\n\n" + tail, Kind::kCode, "python");
  REQUIRE(mixed.ok());
  CHECK(mixed->action == Action::kAnnotate);
  uint32_t largest = 0, largest_consistent = 0;
  for (const Span& sp : mixed->spans) {
    largest = std::max(largest, sp.matched_tokens);
    if (sp.renaming == Approx(1.0)) largest_consistent = std::max(largest_consistent, sp.matched_tokens);
  }
  CHECK(largest_consistent > 0);  // the tail's span is reported
  CHECK(largest > largest_consistent);
  CHECK(mixed->reason == "code resembles protected code in shape only (names not a consistent renaming)");

  // A prose query of the same words never matches code, and code never matches the prose doc.
  auto prose = (*filter)->Check("def merge sorted runs left right key none result i j while len append extend return");
  REQUIRE(prose.ok());
  for (const auto& sp : prose->spans) CHECK(sp.source_name != "lib/merge.py");
}

TEST_CASE("code: CheckRequest::lexed_code reads the answer's code with the first-pass lexer") {
  // JSX text between tags is one leaf in both readings; a regular expression after `)` is one
  // to the parse and a division to a lexer, which cannot tell it from `(a) / b / c`.
  const std::string component =
      "export function Greeting({ name, count }: Props) {\n"
      "  const [open, setOpen] = useState(false);\n"
      "  const label = count > 1 ? `${count} new messages` : 'one new message';\n"
      "  if (open) /^a+$/.test(name) && track(name);\n"
      "  return (\n"
      "    <div className=\"greeting\" aria-label=\"hello\" onClick={() => setOpen(!open)}>\n"
      "      Hello there, dear friend: you have {label} waiting in the inbox today &amp; more.\n"
      "      {open && <List items={items.filter((m) => m.unread)} onSelect={select} />}\n"
      "    </div>\n"
      "  );\n"
      "}\n";
  TempDir dir;
  WriteCodeIndex(dir / "idx", {{"ui/Greeting.tsx", component}}, "tsx");
  auto filter = Filter::Open(dir / "idx", FilterOptions{});
  REQUIRE(filter.ok());
  for (const std::string& answer : {component, "Here it is:\n\n```tsx\n" + component + "```\n"}) {
    CheckRequest parsed, lexed;
    parsed.kind = lexed.kind = answer == component ? Kind::kCode : Kind::kText;
    parsed.language = lexed.language = "tsx";
    lexed.lexed_code = true;
    auto p = (*filter)->Check(answer, parsed);
    auto l = (*filter)->Check(answer, lexed);
    REQUIRE(p.ok());
    REQUIRE(l.ok());
    INFO(answer);
    CHECK(l->query_tokens > p->query_tokens);  // the regular expression's pieces
    REQUIRE(!p->spans.empty());
    REQUIRE(!l->spans.empty());
    CHECK(l->spans.front().source_name == "ui/Greeting.tsx");
    CHECK(l->action == p->action);
  }
}

TEST_CASE("code: CheckRequest::lexer_first gives a flagged answer the parse's verdict") {
  TempDir dir;
  WriteCodeIndex(dir / "idx", {{"lib/merge.py", kProtected}}, "python");
  auto filter = Filter::Open(dir / "idx", FilterOptions{});
  REQUIRE(filter.ok());
  // A copy: flagged by the lexed pass, then parsed and checked again (the same verdict as the
  // parse alone, its spans whole). New code: the lexed pass's verdict (the TSX answer below,
  // which the two readings tokenize differently, shows that it is not parsed).
  const std::string fresh = "def probe(ok, s):\n    if ok: return s\n    return s.strip()\n";
  for (const std::string& answer : {std::string(kProtected), fresh}) {
    CheckRequest parsed, lexed, first;
    parsed.kind = lexed.kind = first.kind = Kind::kCode;
    parsed.language = lexed.language = first.language = "python";
    lexed.lexed_code = true;
    first.lexer_first = true;
    auto p = (*filter)->Check(answer, parsed);
    auto l = (*filter)->Check(answer, lexed);
    auto f = (*filter)->Check(answer, first);
    REQUIRE(p.ok());
    REQUIRE(l.ok());
    REQUIRE(f.ok());
    INFO(answer);
    CHECK(!f->partial);
    if (answer == fresh) {
      CHECK(p->action == Action::kAllow);
      CHECK(f->action == l->action);
      CHECK(f->query_tokens == l->query_tokens);
      continue;
    }
    CHECK(p->action == Action::kBlock);
    CHECK(f->action == p->action);
    CHECK(f->reason == p->reason);
    REQUIRE(f->spans.size() == p->spans.size());
    for (size_t i = 0; i < p->spans.size(); ++i) {
      CHECK(f->spans[i].query.start == p->spans[i].query.start);
      CHECK(f->spans[i].query.end == p->spans[i].query.end);
      CHECK(f->spans[i].matched_tokens == p->spans[i].matched_tokens);
    }
  }
  // TSX: the lexed pass reads a regular expression after `)` as a division, so an answer that
  // is not flagged keeps the lexer's token count.
  const std::string jsx = "function f(ok, s) {\n  if (ok) /^a+$/.test(s) && go();\n  return <b>{s}</b>;\n}\n";
  CheckRequest first, parsed;
  first.kind = parsed.kind = Kind::kCode;
  first.language = parsed.language = "tsx";
  first.lexer_first = true;
  auto f = (*filter)->Check(jsx, first);
  auto p = (*filter)->Check(jsx, parsed);
  REQUIRE(f.ok());
  REQUIRE(p.ok());
  CHECK(f->query_tokens > p->query_tokens);
}

TEST_CASE("code: CheckRequest::stop_when_flagged stops at the first span that redacts") {
  TempDir dir;
  WriteCodeIndex(dir / "idx", {{"lib/merge.py", kProtected}}, "python");
  FilterOptions annotating;  // a policy that only annotates: the severity still says redact
  annotating.actions[static_cast<size_t>(Action::kRedact)] = Action::kAnnotate;
  annotating.actions[static_cast<size_t>(Action::kBlock)] = Action::kAnnotate;
  for (const FilterOptions& options : {FilterOptions{}, annotating}) {
    auto filter = Filter::Open(dir / "idx", options);
    REQUIRE(filter.ok());
    CheckRequest full, first;
    full.kind = first.kind = Kind::kCode;
    full.language = first.language = "python";
    first.stop_when_flagged = true;
    auto f = (*filter)->Check(kRenamed, full);
    auto p = (*filter)->Check(kRenamed, first);
    REQUIRE(f.ok());
    REQUIRE(p.ok());
    CHECK(!f->partial);
    CHECK(f->severity == Action::kBlock);
    CHECK(p->partial);
    CHECK(p->severity == Action::kRedact);
    CHECK(p->action == options.actions[static_cast<size_t>(Action::kRedact)]);
    REQUIRE(p->spans.size() == 1);
    CHECK(p->score > 0.5);  // the span's share of the answer
    CHECK(p->score <= 1);
    CHECK(p->spans.front().source_name == "lib/merge.py");
    CHECK(p->spans.front().renaming == Approx(1.0));
    // Code that only looks alike is checked in full: the same verdict either way.
    auto fs = (*filter)->Check(kShapeOnly, full);
    auto ps = (*filter)->Check(kShapeOnly, first);
    REQUIRE(fs.ok());
    REQUIRE(ps.ok());
    CHECK(!ps->partial);
    CHECK(ps->severity == Action::kAnnotate);
    CHECK(ps->reason == fs->reason);
    CHECK(ps->spans.size() == fs->spans.size());
  }
}

TEST_CASE("code: a fence in a list item or a block quote is read as code without its container") {
  TempDir dir;
  auto filter = MergePyFilter(dir, Redacting());
  auto contained = [](const std::string& prefix) {
    std::string out;
    for (const auto& line : doppel_test::Lines(kRenamed)) {
      // A blank line keeps the quote marker only ("    " → "", "> " → ">").
      out += (line.empty() ? prefix.substr(0, prefix.find_last_not_of(' ') + 1) : prefix) + line + "\n";
    }
    return out;
  };
  for (const std::string prefix : {"    ", "> "}) {
    INFO("prefix '" << prefix << "'");
    const std::string intro =
        prefix == "> " ? "As the docs say:\n\n> ```python\n" : "Steps:\n\n10. Merge the runs:\n\n    ```python\n";
    const std::string answer = intro + contained(prefix) + prefix + "```\n\nDone.\n";
    const uint32_t fence_line = prefix == "> " ? 3 : 5;
    auto v = filter->Check(answer);
    REQUIRE(v.ok());
    CHECK(v->action == Action::kRedact);
    REQUIRE(!v->spans.empty());
    const Span& s = v->spans.front();
    CHECK(s.source_name == "lib/merge.py");
    CHECK(s.renaming == Approx(1.0));
    CHECK(s.query.first_line == fence_line + 1);  // lines and offsets of the whole answer
    CHECK(answer.substr(s.query.start, 3) == "def");
    CHECK(answer.substr(s.query.end - 6, 7) == "rn out\n");  // the last line, "return out"
    // Every renamed name's offsets point at that name in the answer.
    for (const auto& r : s.renamed) {
      const std::string name = answer.substr(r.query_begin, r.query_end - r.query_begin);
      CHECK(!name.empty());
      CHECK(name.find_first_of(" >\n") == std::string::npos);
    }
    // Redacted, the marker stays inside the container.
    CHECK_THAT(v->output, Catch::Contains(prefix + "# [redacted: similar to lib/merge.py]"));
  }
}

TEST_CASE("code: code in an HTML answer's <pre> block is read as its page shows it") {
  TempDir dir;
  auto filter = MergePyFilter(dir, Redacting());
  auto escaped = [](const std::string& code) {
    std::string out;
    AppendHtml(&out, code);
    return out;
  };
  // As a highlighter writes it: every name in a span of its own, every space in another.
  auto highlighted = [&](const std::string& code) {
    std::string out;
    for (size_t i = 0; i < code.size();) {
      size_t j = i;
      while (j < code.size() && (std::isalnum(static_cast<unsigned char>(code[j])) || code[j] == '_')) ++j;
      if (j > i) {
        out += "<span class=\"n\">" + code.substr(i, j - i) + "</span>";
      } else {
        out += code[i] == ' ' ? "<span class=\"w\"> </span>" : escaped(code.substr(i, 1));
        j = i + 1;
      }
      i = j;
    }
    return out;
  };
  const Verdict fenced = Checked(*filter, "Like this:\n\n```python\n" + std::string(kRenamed) + "```\n\nDone.\n");
  REQUIRE(fenced.spans.size() == 1);
  for (const bool spans : {false, true}) {
    INFO((spans ? "highlighted" : "escaped"));
    const std::string answer = "<p>Like this:</p>\n<pre><code class=\"language-python\">" +
                               (spans ? highlighted(kRenamed) : escaped(kRenamed)) + "</code></pre>\n<p>Done.</p>\n";
    const Verdict v = Checked(*filter, answer);
    const Span& s = OneMergePySpan(v);
    CHECK(s.matched_tokens == fenced.spans[0].matched_tokens);  // as read from the fence
    CHECK(s.query.first_line == 2);  // the line of the <pre> tag, where the code begins
    // Its offsets are the answer's: from "def" to "out", inside their spans when highlighted.
    CHECK(answer.substr(s.query.start, 3) == "def");
    CHECK(answer.substr(s.query.end - 3, 3) == "out");
    // Redacted inside the block: its tags and the prose around it stay.
    CHECK_THAT(v.output, Catch::StartsWith("<p>Like this:</p>\n<pre><code class=\"language-python\"># [redacted: "
                                           "similar to lib/merge.py]"));
    CHECK_THAT(v.output, Catch::EndsWith("</code></pre>\n<p>Done.</p>\n"));
    CHECK_THAT(v.output, !Catch::Contains("len(a)") && !Catch::Contains(">len<"));
  }
}

TEST_CASE("code: code in the strings of a JSON answer is read as code, and redacted in them") {
  TempDir dir;
  auto filter = MergePyFilter(dir, Redacting());
  struct Case {
    std::string answer;
    std::vector<std::string> pointer;
    uint32_t first_line;  // of the span, in its string
  };
  const std::vector<Case> cases = {
      {"{\n  \"explanation\": \"Merges two sorted lists.\",\n  \"language\": \"python\",\n  \"code\": " +
           Quoted(kRenamed) + "\n}\n",
       {"/code"}, 1},
      {R"({"role": "assistant", "content": )" + Quoted("Like this:\n\n```python\n" + std::string(kRenamed) + "```\n") + "}",
       {"/content"}, 4},
      {R"({"tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "write_file", "arguments": )" +
           Quoted(R"({"path": "lib/combine.py", "content": )" + Quoted(kRenamed) + "}") + "}}]}",
       {"/tool_calls/0/function/arguments", "/content"}, 1},
  };
  for (const Case& c : cases) {
    INFO(c.answer);
    const Verdict v = Checked(*filter, c.answer);
    const Span& s = OneMergePySpan(v);
    CHECK(s.json_pointer == c.pointer);
    CHECK(s.json_first_line == c.first_line);
    CHECK(s.json_last_line >= c.first_line + 8);
    // Its offsets are the answer's: from "def" to "out".
    CHECK(c.answer.substr(s.query.start, 3) == "def");
    CHECK(c.answer.substr(s.query.end - 3, 3) == "out");
    // Redacted in its string: the output is JSON, and the string holds the marker, not the code.
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    REQUIRE(parser.parse(v.output).get(root) == simdjson::SUCCESS);
    std::string_view text;
    REQUIRE(root.at_pointer(c.pointer[0]).get(text) == simdjson::SUCCESS);
    std::string code(text);
    simdjson::dom::parser inner_parser;
    if (c.pointer.size() > 1) {
      simdjson::dom::element inner;
      REQUIRE(inner_parser.parse(code).get(inner) == simdjson::SUCCESS);
      REQUIRE(inner.at_pointer(c.pointer[1]).get(text) == simdjson::SUCCESS);
      code.assign(text);
    }
    CHECK_THAT(code, Catch::Contains("# [redacted: similar to lib/merge.py]"));
    CHECK_THAT(code, !Catch::Contains("while p < len(a)"));
    std::string verdict_json;
    AppendVerdictJson(v, false, &verdict_json);
    CHECK_THAT(verdict_json, Catch::Contains("\"json\":{\"pointer\":[\"" + c.pointer[0] + "\""));
  }
  // The explanation beside the code stays.
  CHECK_THAT(Checked(*filter, cases[0].answer).output, Catch::Contains("\"Merges two sorted lists.\""));
  // Read as written, the copy is one line of prose with its escapes, which no code matches.
  FilterOptions off = Redacting();
  off.json_strings = false;
  CheckRequest request;
  request.options = &off;
  for (const Case& c : cases) {
    auto v = filter->Check(c.answer, request);
    REQUIRE(v.ok());
    CHECK(v->action == Action::kAllow);
  }
  // An annotated JSON answer is left as written (a note after it would make it no JSON).
  FilterOptions annotating = Redacting();
  annotating.actions[static_cast<size_t>(Action::kRedact)] = Action::kAnnotate;
  annotating.actions[static_cast<size_t>(Action::kBlock)] = Action::kAnnotate;
  request.options = &annotating;
  auto annotated = filter->Check(cases[2].answer, request);
  REQUIRE(annotated.ok());
  CHECK(annotated->action == Action::kAnnotate);
  CHECK(annotated->output == cases[2].answer);
}

TEST_CASE("code: a JSON block of a Markdown answer is read in its strings, in its place") {
  TempDir dir;
  auto filter = MergePyFilter(dir, Redacting());
  const std::string call = "{\n  \"name\": \"write_file\",\n  \"arguments\": {\"path\": \"lib/combine.py\", \"content\": " +
                           Quoted(kRenamed) + "}\n}";
  const std::string answer = "I will save the helper:\n\n```json\n" + call + "\n```\n\nThen run the tests.\n";
  const Verdict v = Checked(*filter, answer);
  const Span& s = OneMergePySpan(v);
  CHECK(s.json_pointer == std::vector<std::string>{"/arguments/content"});
  CHECK(s.json_first_line == 1);
  CHECK(s.query.first_line == 6);  // the answer's line of the "arguments" member
  CHECK(answer.substr(s.query.start, 3) == "def");
  CHECK(answer.substr(s.query.end - 3, 3) == "out");
  // The prose and the fence lines stay; the block is still JSON, the code redacted in its string.
  CHECK_THAT(v.output, Catch::StartsWith("I will save the helper:\n\n```json\n{\n  \"name\": \"write_file\","));
  CHECK_THAT(v.output, Catch::EndsWith("}\n```\n\nThen run the tests.\n"));
  const size_t open = v.output.find("```json\n") + 8, close = v.output.rfind("\n```");
  const std::string content = JsonStringAt(std::string_view(v.output).substr(open, close - open), "/arguments/content");
  CHECK_THAT(content, Catch::Contains("# [redacted: similar to lib/merge.py]"));
  CHECK_THAT(content, !Catch::Contains("while p < len(a)"));
  // Annotated, it takes its note as any Markdown answer does.
  FilterOptions annotating;
  annotating.actions[static_cast<size_t>(Action::kRedact)] = Action::kAnnotate;
  annotating.actions[static_cast<size_t>(Action::kBlock)] = Action::kAnnotate;
  CheckRequest request;
  request.options = &annotating;
  auto annotated = filter->Check(answer, request);
  REQUIRE(annotated.ok());
  CHECK(annotated->action == Action::kAnnotate);
  CHECK_THAT(annotated->output, Catch::StartsWith(answer));
  CHECK_THAT(annotated->output, Catch::Contains("[note: this answer resembles lib/merge.py]"));
  // In a list item, read without the item's indentation; redacted in its string, the item kept.
  std::string item = "1. Save the helper:\n\n";
  for (const auto& line : doppel_test::Lines("```json\n" + call + "\n```")) item += "   " + line + "\n";
  item += "2. Then run the tests.\n";
  const Verdict listed = Checked(*filter, item);
  const Span& in_item = OneMergePySpan(listed);
  CHECK(in_item.json_pointer == std::vector<std::string>{"/arguments/content"});
  CHECK(item.substr(in_item.query.start, 3) == "def");
  CHECK_THAT(listed.output, Catch::Contains("\"content\": \"# [redacted: similar to lib/merge.py]"));
  CHECK_THAT(listed.output, Catch::EndsWith("   ```\n2. Then run the tests.\n"));
  // In a fence without a tag, or after a sentence with no fence, its arguments a string of JSON
  // (the code escaped twice): read and redacted in place too, the value still JSON.
  const std::string args = "{\"name\": \"write_file\", \"arguments\": " +
                           Quoted("{\"path\": \"lib/combine.py\", \"content\": " + Quoted(kRenamed) + "}") + "}";
  for (const std::string& form : {"I will save the helper:\n\n```\n" + args + "\n```\n\nThen run the tests.\n",
                                  "I will save the helper:\n" + args + "\nThen run the tests.\n"}) {
    CAPTURE(form);
    const Verdict in_place = Checked(*filter, form);
    const Span& span = OneMergePySpan(in_place);
    CHECK(span.json_pointer == std::vector<std::string>{"/arguments", "/content"});
    CHECK(form.substr(span.query.start, 3) == "def");
    CHECK_THAT(in_place.output, Catch::StartsWith("I will save the helper:\n"));
    CHECK_THAT(in_place.output, Catch::EndsWith("}\nThen run the tests.\n") || Catch::EndsWith("}\n```\n\nThen run the tests.\n"));
    const size_t from = in_place.output.find("{\"name\""), to = in_place.output.rfind('}') + 1;
    const std::string arguments = JsonStringAt(std::string_view(in_place.output).substr(from, to - from), "/arguments");
    CHECK_THAT(arguments, Catch::Contains("# [redacted: similar to lib/merge.py]"));
    CHECK_THAT(arguments, !Catch::Contains("while p < len(a)"));
  }
  // Without the setting, the block is one JSON value read as written: allowed.
  FilterOptions off = Redacting();
  off.json_strings = false;
  request.options = &off;
  auto as_written = filter->Check(answer, request);
  REQUIRE(as_written.ok());
  CHECK(as_written->action == Action::kAllow);
}

TEST_CASE("code: a copy added by a patch is found in the patch's new side and redacted there") {
  TempDir dir;
  auto filter = MergePyFilter(dir, Redacting());
  std::string hunk = "--- a/lib/combine.py\n+++ b/lib/combine.py\n@@ -1,2 +1,14 @@\n LIMIT = 10\n-old = 1\n";
  for (const auto& line : doppel_test::Lines(kRenamed)) hunk += "+" + line + "\n";
  const std::string answer = "Apply this:\n\n```diff\n" + hunk + "```\n\nThen run the tests.\n";
  const Verdict v = Checked(*filter, answer);
  const Span& s = OneMergePySpan(v);
  CHECK(s.query.first_line == 9);  // the "+def combine" line
  CHECK(answer.substr(s.query.start, 3) == "def");
  // The marker is an added line; the headers, context and removed lines stay.
  CHECK_THAT(v.output, Catch::Contains(" LIMIT = 10\n-old = 1\n+# [redacted: similar to lib/merge.py]\n```"));
  // Its hunk's counts are its lines' now, so the patch still applies.
  CHECK_THAT(v.output, Catch::Contains("@@ -1,2 +1,2 @@\n LIMIT = 10"));
  CHECK_THAT(v.output, !Catch::Contains("while p < len(a)"));
  // Untagged, as a `diff --git` patch; and as an apply_patch tool call's input, in JSON.
  const std::string git = "```\ndiff --git a/lib/combine.py b/lib/combine.py\n" + hunk + "```\n";
  CHECK(OneMergePySpan(Checked(*filter, git)).query.first_line == 8);
  std::string codex = "*** Begin Patch\n*** Update File: lib/combine.py\n@@\n";
  for (const auto& line : doppel_test::Lines(kRenamed)) codex += "+" + line + "\n";
  codex += "*** End Patch\n";
  const Verdict tool = Checked(*filter, "{\"name\": \"apply_patch\", \"input\": " + Quoted(codex) + "}");
  CHECK(OneMergePySpan(tool).json_pointer == std::vector<std::string>{"/input"});
  CHECK_THAT(tool.output, Catch::Contains("@@\\n+# [redacted: similar to lib/merge.py]\\n*** End Patch"));
  // A unified patch in a JSON string: its hunk recounted in the string.
  const Verdict unified = Checked(*filter, "{\"name\": \"apply_patch\", \"input\": " + Quoted(hunk) + "}");
  CHECK(OneMergePySpan(unified).json_pointer == std::vector<std::string>{"/input"});
  CHECK_THAT(unified.output, Catch::Contains("\\n@@ -1,2 +1,2 @@\\n LIMIT = 10\\n-old = 1\\n+# [redacted: similar to lib/merge.py]\\n\"}"));
  // Two hunks, each with the copy: the second header, after the first hunk's marker, too.
  std::string second_hunk = "@@ -40,1 +52,13 @@\n-pass\n";
  for (const auto& line : doppel_test::Lines(kRenamed)) second_hunk += "+" + line + "\n";
  const Verdict twice = Checked(*filter, "{\"input\": " + Quoted(hunk + second_hunk) + ", \"name\": \"apply_patch\"}");
  CHECK_THAT(twice.output, Catch::Contains("\\n@@ -1,2 +1,2 @@\\n LIMIT = 10\\n-old = 1\\n+# [redacted: similar to lib/merge.py]\\n"
                                           "@@ -40,1 +52,1 @@\\n-pass\\n+# [redacted: similar to lib/merge.py]\\n\", \"name\""));
  // And in a string in a string (a tool call's arguments), escaped twice.
  const Verdict nested = Checked(*filter, "{\"function\": {\"name\": \"apply_patch\", \"arguments\": " +
                                              Quoted("{\"input\": " + Quoted(hunk) + "}") + "}}");
  CHECK(OneMergePySpan(nested).json_pointer == std::vector<std::string>{"/function/arguments", "/input"});
  CHECK_THAT(nested.output, Catch::Contains("\\\\n@@ -1,2 +1,2 @@\\\\n LIMIT = 10\\\\n-old = 1\\\\n"
                                            "+# [redacted: similar to lib/merge.py]\\\\n\\\"}\"}}"));
  // Without headers, the language guessed: the marker is still an added line.
  std::string plain = "```diff\n LIMIT = 10\n-old = 1\n";
  for (const auto& line : doppel_test::Lines(kRenamed)) plain += "+" + line + "\n";
  const Verdict guessed = Checked(*filter, plain + "```\n");
  CHECK(OneMergePySpan(guessed).query.first_line == 4);
  CHECK_THAT(guessed.output, Catch::Contains("-old = 1\n+# [redacted: similar to lib/merge.py]\n```"));
  // Two files: each its own block, the marker in the copy's file's language.
  const std::string two = "```diff\n--- a/main.go\n+++ b/main.go\n@@ -1 +1 @@\n-var a = 1\n+var a = 2\n" + hunk + "```\n";
  const Verdict second = Checked(*filter, two);
  OneMergePySpan(second);
  CHECK_THAT(second.output, Catch::Contains("+var a = 2\n--- a/lib/combine.py"));
  CHECK_THAT(second.output, Catch::Contains("-old = 1\n+# [redacted: similar to lib/merge.py]\n```"));
  CHECK_THAT(second.output, Catch::Contains("@@ -1 +1 @@\n-var a = 1"));  // (not redacted: as it was)
  // A copy in removed lines is the file's old side: found too.
  std::string removed = "```diff\n--- a/lib/combine.py\n+++ b/lib/combine.py\n@@ -1,12 +1 @@\n";
  for (const auto& line : doppel_test::Lines(kRenamed)) removed += "-" + line + "\n";
  removed += "+pass\n```\n";
  CHECK(OneMergePySpan(Checked(*filter, removed)).query.first_line == 5);
  // In a numbered step (a list item) and in a quote: found, and the marker is an added line
  // after the container's prefix, the hunk recounted there.
  // (A blank context line, without the item's indentation, between two of the hunk's lines.)
  std::string step = "1. Apply this:\n\n   ```diff\n";
  for (const auto& line : doppel_test::Lines(hunk)) step += "   " + line + "\n" + (line == " LIMIT = 10" ? "\n" : "");
  step += "   ```\n\n2. Run the tests.\n";
  const Verdict listed = Checked(*filter, step);
  CHECK(OneMergePySpan(listed).query.first_line == 10);
  CHECK_THAT(listed.output, Catch::Contains("   @@ -1,3 +1,3 @@\n    LIMIT = 10\n\n   -old = 1\n"
                                            "   +# [redacted: similar to lib/merge.py]\n   ```\n\n2. Run the tests.\n"));
  std::string quote = "> ```diff\n";
  for (const auto& line : doppel_test::Lines(hunk)) quote += "> " + line + "\n";
  quote += "> ```\n";
  const Verdict quoted = Checked(*filter, quote);
  CHECK(OneMergePySpan(quoted).query.first_line == 7);
  CHECK_THAT(quoted.output, Catch::Contains("> @@ -1,2 +1,2 @@\n>  LIMIT = 10\n> -old = 1\n"
                                            "> +# [redacted: similar to lib/merge.py]\n> ```\n"));
  // A patch outside a fence (a .patch file, an answer that is one): read as one, whole, when it
  // opens as one or is said to be one; recounted as it.
  const Verdict bare_patch = Checked(*filter, "diff --git a/lib/combine.py b/lib/combine.py\n" + hunk);
  CHECK(OneMergePySpan(bare_patch).query.first_line == 7);
  CHECK_THAT(bare_patch.output, Catch::Contains("@@ -1,2 +1,2 @@\n LIMIT = 10\n-old = 1\n+# [redacted: similar to lib/merge.py]\n"));
  for (const std::string language : {"diff", "Patch", ".patch"}) {
    CheckRequest said;
    said.kind = Kind::kCode;
    said.language = language;
    const std::string lines = hunk.substr(hunk.find("@@"));  // (no file headers)
    auto v = filter->Check(lines, said);
    REQUIRE(v.ok());
    CHECK(OneMergePySpan(*v).query.first_line == 4);
    CHECK_THAT(v->output, Catch::Contains("@@ -1,2 +1,2 @@\n LIMIT = 10\n-old = 1\n+# [redacted: similar to lib/merge.py]\n"));
  }
  // A copy whose first lines are the hunk's context: those lines stay, after the marker, so the
  // old side is whole and the patch applies.
  const std::vector<std::string> renamed_lines = doppel_test::Lines(kRenamed);
  std::string context = "```diff\n--- a/lib/combine.py\n+++ b/lib/combine.py\n@@ -1,2 +1,12 @@\n";
  context += " " + renamed_lines[0] + "\n " + renamed_lines[1] + "\n";
  for (size_t i = 2; i < renamed_lines.size(); ++i) context += "+" + renamed_lines[i] + "\n";
  const Verdict kept_context = Checked(*filter, context + "```\n");
  CHECK(OneMergePySpan(kept_context).query.first_line == 5);  // (the context line)
  CHECK_THAT(kept_context.output, Catch::Contains("@@ -1,2 +1,3 @@\n+# [redacted: similar to lib/merge.py]\n " +
                                                  renamed_lines[0] + "\n " + renamed_lines[1] + "\n```"));
  // Removed lines among the lines replaced go (the old side may be the copy itself).
  std::string mixed = "```diff\n--- a/lib/combine.py\n+++ b/lib/combine.py\n@@ -1,1 +1,11 @@\n";
  for (size_t i = 0; i < renamed_lines.size(); ++i) {
    mixed += "+" + renamed_lines[i] + "\n";
    if (i == 4) mixed += "-legacy_merge(a, b)\n";
  }
  const Verdict kept_removed = Checked(*filter, mixed + "```\n");
  OneMergePySpan(kept_removed);
  CHECK_THAT(kept_removed.output, Catch::Contains("@@ -0,0 +1,1 @@\n+# [redacted: similar to lib/merge.py]\n```"));
  // A patch pasted without a fence between sentences is read as one; the prose around it as
  // prose; "Index: " opens prose as well.
  const std::string pasted = "Here is the change:\ndiff --git a/lib/combine.py b/lib/combine.py\n" + hunk +
                             "\nThis adds the merge helper.\n";
  const Verdict in_prose = Checked(*filter, pasted);
  CHECK(OneMergePySpan(in_prose).query.first_line == 8);
  CHECK_THAT(in_prose.output, Catch::Contains("-old = 1\n+# [redacted: similar to lib/merge.py]\n\nThis adds the merge helper.\n"));
  CHECK_THAT(in_prose.output, Catch::Contains("@@ -1,2 +1,2 @@\n LIMIT = 10"));
  const auto parts = SplitUnfencedPatches(pasted, SplitMarkdown(pasted));
  REQUIRE(parts.size() == 3);
  CHECK(parts[1].language == "diff");
  CHECK(parts[1].line == 2);
  CHECK(pasted.substr(parts[2].begin) == "\nThis adds the merge helper.\n");
  const std::string index = "Index: the chapters\n--- one\n+++ two\n";
  CHECK(SplitUnfencedPatches(index, SplitMarkdown(index)).size() == 1);
  // Code in a block of Markdown (a README in ````md), or in an answer said to be Markdown, is
  // read in its own fence's language: found and redacted there.
  const Verdict readme = Checked(*filter, "The README:\n\n````md\n# combine\n\n```python\n" + std::string(kRenamed) +
                                               "```\n````\n");
  CHECK(OneMergePySpan(readme).query.first_line == 7);
  CHECK_THAT(readme.output, Catch::Contains("```python\n# [redacted: similar to lib/merge.py]\n```\n````\n"));
  CheckRequest markdown;
  markdown.kind = Kind::kCode;
  markdown.language = "markdown";
  auto said_markdown = filter->Check("Use this:\n\n```python\n" + std::string(kRenamed) + "```\n", markdown);
  REQUIRE(said_markdown.ok());
  CHECK(OneMergePySpan(*said_markdown).query.first_line == 4);
  // Without the setting, the patch is read as written, each line's column in its first token:
  // here still found, but its marker is no line of the patch.
  FilterOptions off = Redacting();
  off.diff_code = false;
  CheckRequest request;
  request.options = &off;
  auto as_written = filter->Check(answer, request);
  REQUIRE(as_written.ok());
  CHECK(as_written->action == Action::kRedact);
  CHECK_THAT(as_written->output, !Catch::Contains("+# [redacted"));
}

TEST_CASE("code: a tool call streamed into a session is flagged before its JSON is complete") {
  TempDir dir;
  auto filter = MergePyFilter(dir, FilterOptions{});
  std::string code = kRenamed;
  for (int i = 0; i < 40; ++i) code += "\nstep_" + std::to_string(i) + " = prepare(step_" + std::to_string(i) + ")";
  const std::string answer =
      R"({"tool_calls": [{"function": {"name": "write_file", "arguments": )" +
      Quoted(R"({"path": "lib/combine.py", "content": )" + Quoted(code) + "}") + "}}]}";
  const size_t copy_end = answer.find("step_0");
  Session session(*filter, SessionOptions{});
  std::optional<SessionUpdate> first_flag;
  for (size_t at = 0; at < answer.size() && !first_flag; at += 64) {
    auto u = session.Append(std::string_view(answer).substr(at, 64));
    REQUIRE(u.ok());
    if (u->flagged) first_flag = *u;
  }
  REQUIRE(first_flag.has_value());
  // Flagged within the copy's string, well before the JSON closes, at a cut the copy precedes.
  CHECK(first_flag->checked_bytes < answer.size() - 400);
  CHECK(first_flag->flagged_at > answer.find("def combine"));
  CHECK(first_flag->flagged_at < copy_end + 400);
  REQUIRE_FALSE(first_flag->verdict.spans.empty());
  CHECK(first_flag->verdict.spans[0].source_name == "lib/merge.py");
  CHECK(first_flag->verdict.spans[0].json_pointer ==
        std::vector<std::string>{"/tool_calls/0/function/arguments", "/content"});
}

TEST_CASE("code: a protected JSON document copied whole is judged as written, not by its strings") {
  // Mostly keys and values without blanks, which the reading of its strings leaves out, and one
  // sentence: both readings block it, and the answer as written, whose span covers all of it,
  // stands (its span has no string's place).
  std::string record = "{\"settings\": {";
  for (int i = 0; i < 80; ++i) record += "\"key_" + std::to_string(i) + "\": \"value_" + std::to_string(i * 7) + "\", ";
  record += "\"note\": \"Every setting above was chosen for the shared build farm and is kept in sync with it.\"}}";
  TempDir dir;
  WriteMergeAndProseIndex(dir / "idx", "settings.json", record);
  auto filter = Filter::Open(dir / "idx", FilterOptions{});
  REQUIRE(filter.ok());
  // (Its strings' reading alone blocks too: the two tie, and coverage decides.)
  const auto strings = ReadJsonAnswer(record);
  REQUIRE(strings.has_value());
  CHECK(Checked(**filter, strings->map.code).action == Action::kBlock);
  const Verdict v = Checked(**filter, record);
  CHECK(v.action == Action::kBlock);
  REQUIRE_FALSE(v.spans.empty());
  CHECK(v.spans[0].source_name == "settings.json");
  CHECK(v.spans[0].json_pointer.empty());
  CHECK(v.spans[0].query.end - v.spans[0].query.start > record.size() / 2);
}

TEST_CASE("code: a fence without a grammar's language is read in the language whose grammar reads it") {
  TempDir dir;
  auto filter = MergePyFilter(dir, Redacting());
  auto tagged = filter->Check("Here:\n\n```python\n" + std::string(kRenamed) + "```\n");
  REQUIRE(tagged.ok());
  REQUIRE(tagged->spans.size() == 1);
  for (const std::string fence : {"```", "```text", "```pycon", "> ```"}) {
    INFO(fence);
    const bool quoted = fence[0] == '>';
    std::string code;
    for (const auto& line : doppel_test::Lines(kRenamed)) code += (quoted ? (line.empty() ? ">" : "> ") : "") + line + "\n";
    const std::string answer = "Here:\n\n" + fence + "\n" + code + (quoted ? "> ```" : "```") + "\n";
    auto v = filter->Check(answer);
    REQUIRE(v.ok());
    CHECK(v->action == Action::kRedact);
    CHECK(v->score == Approx(tagged->score).margin(0.01));
    // The Python reading's passage alone: the generic lexer's reading of the same lines is not
    // reported beside it.
    // Without a language's tag, the marker is a comment of the language found.
    CheckRedactedAsMergePy(*v);
  }
  // So is an indented code block (four spaces, after a blank line), which has no tag.
  std::string indented = "Here:\n\n";
  for (const auto& line : doppel_test::Lines(kRenamed)) indented += (line.empty() ? "" : "    ") + line + "\n";
  auto v = filter->Check(indented + "\nThat is all.\n");
  REQUIRE(v.ok());
  CHECK(v->action == Action::kRedact);
  CHECK(v->score >= 0.9);  // the prose after it is new
  CheckRedactedAsMergePy(*v, 3);
  CHECK_THAT(v->output, Catch::Contains("That is all."));
}

TEST_CASE("code: a fence without a tag that two families' grammars read as well is read in both") {
  // C's grammar and C#'s both read this C function whole (C# has pointers and `&` in unsafe
  // code), so no one language is the guess. Read by the generic lexer alone, its renamed copy
  // shares no fingerprint with its source; read as C and as C#, the C reading finds it.
  const std::string source =
      "#include <windows.h>\n\n"
      "static HANDLE ready_event;\n"
      "static CRITICAL_SECTION ready_lock;\n\n"
      "// Creates the start event and the lock the workers share.\n"
      "void\n"
      "start_workers() {\n"
      "\tready_event = CreateEvent(NULL, TRUE, FALSE, NULL);\n"
      "\tif (ready_event == NULL) {\n"
      "\t\tabort();\n"
      "\t}\n\n"
      "\tInitializeCriticalSection(&ready_lock);\n"
      "}\n";
  const std::string copy =
      "void begin_pool()\n"
      "{\n"
      "   started = make_event(NULL, TRUE, FALSE, NULL);\n"
      "   if (started == NULL) {\n"
      "      abort();\n"
      "   }\n\n"
      "   init_lock(&guard);\n"
      "}\n";
  CHECK(ParseErrorShare(Grammar("c"), copy) == 0);
  CHECK(ParseErrorShare(Grammar("c_sharp"), copy) == 0);
  TempDir dir;
  auto filter = OneFileFilter(dir, "runtime/workers.c", source, "c");
  Verdict tagged = Checked(*filter, "Here:\n\n```c\n" + copy + "```\n");
  Verdict v = Checked(*filter, "Here:\n\n```\n" + copy + "```\n");
  CHECK(v.action == Action::kRedact);
  CHECK(v.action == tagged.action);
  CHECK(v.score == Approx(tagged.score).margin(0.01));
  REQUIRE(v.spans.size() == 1);
  CHECK(v.spans[0].language == "c");
  CheckSpanLines(v.spans[0], "runtime/workers.c", 4, 12, 7, 15);
  CHECK_THAT(v.output, Catch::Contains("// [redacted: similar to runtime/workers.c]"));
  CHECK_THAT(v.output, !Catch::Contains("init_lock"));

  // A macro the grammars do not know (`WINAPI`) leaves a few percent unread, in C's grammar as
  // in C#'s: still read as C (and C#), as under a `c` tag, not by the generic lexer alone.
  const std::string winapi =
      "static volatile LONG pending;\n\n"
      "DWORD WINAPI drain_queue(LPVOID param)\n"
      "{\n\tint i;\n\tfor (i = 0; i < 64; i++) {\n\t\trun_next_callback(param);\n"
      "\t\tInterlockedDecrement(&pending);\n\t}\n\treturn 0;\n}\n";
  const std::string winapi_copy =
      "DWORD WINAPI worker(LPVOID ctx)\n"
      "{\n    int k;\n    for (k = 0; k < 64; k++) {\n        call_one(ctx);\n"
      "        InterlockedDecrement(&left);\n    }\n    return 0;\n}\n";
  const double unread = ParseErrorShare(Grammar("c"), winapi_copy);
  CHECK(unread > 0.02);
  CHECK(unread < 0.1);
  CHECK(std::abs(ParseErrorShare(Grammar("c_sharp"), winapi_copy) - unread) <= 0.005);
  TempDir dir2;
  auto queue = OneFileFilter(dir2, "src/queue.c", winapi, "c");
  tagged = Checked(*queue, "Here:\n\n```c\n" + winapi_copy + "```\n");
  REQUIRE(tagged.spans.size() == 1);
  v = Checked(*queue, "Here:\n\n```\n" + winapi_copy + "```\n");
  REQUIRE(v.spans.size() == 1);
  CHECK(v.spans[0].language == "c");
  CHECK(v.spans[0].matched_tokens == tagged.spans[0].matched_tokens);
  CHECK(v.action == tagged.action);

  // A Java method that C#'s grammar reads as cleanly: the second language read (C# sorts first)
  // is the one that finds it, and bounds its redaction.
  const std::string java =
      "package demo;\n\npublic class LinkedBag<T> {\n    private Node<T> head;\n\n"
      "    public int size() {\n        int count = 0;\n"
      "        for (Node<T> node = head; node != null; node = node.next) {\n            count++;\n        }\n"
      "        return count;\n    }\n}\n";
  const std::string java_copy =
      "public int length() {\n    int n = 0;\n    for (Node<T> cur = first; cur != null; cur = cur.next) {\n"
      "        n++;\n    }\n    return n;\n}\n";
  CHECK(ParseErrorShare(Grammar("java"), java_copy) == 0);
  CHECK(ParseErrorShare(Grammar("c_sharp"), java_copy) == 0);
  TempDir dir3;
  auto bag = OneFileFilter(dir3, "demo/LinkedBag.java", java, "java");
  v = Checked(*bag, "Here:\n\n```\n" + java_copy + "```\n\nIt counts the nodes.\n");
  CHECK(v.action == Action::kRedact);
  REQUIRE(v.spans.size() == 1);
  CHECK(v.spans[0].language == "java");
  CheckSpanLines(v.spans[0], "demo/LinkedBag.java", 4, 10, 6, 12);
  CHECK(v.output == "Here:\n\n```\n// [redacted: similar to demo/LinkedBag.java]\n```\n\nIt counts the nodes.\n");
  // A block longer than 64 KB that the first language's grammar (C#'s) reads whole, leaving
  // nothing unread, is read in it alone: the copies in it are not found. One line C#'s grammar
  // cannot read (Java's `for (T x : xs)`) and it is read in Java too, which finds them.
  std::string long_block;
  while (long_block.size() <= 64 * 1024) long_block += java_copy + "\n";
  const auto long_guess = GuessCodeLanguages(long_block);
  REQUIRE(long_guess.size() == 2);
  CHECK(long_guess[0]->name == "c_sharp");
  CHECK(long_guess[1]->name == "java");
  REQUIRE(ParseErrorShare(Grammar("c_sharp"), long_block) == 0);
  v = Checked(*bag, "Here:\n\n```\n" + long_block + "```\n");
  CHECK(v.action == Action::kAllow);
  CHECK(v.spans.empty());
  long_block += "public void visit(List<Node<T>> nodes) {\n    for (Node<T> n : nodes) {\n        n.mark();\n    }\n}\n";
  REQUIRE(ParseErrorShare(Grammar("c_sharp"), long_block) > 0);
  v = Checked(*bag, "Here:\n\n```\n" + long_block + "```\n");
  CHECK(Flagging(v.action));
  REQUIRE(!v.spans.empty());
  CHECK(v.spans[0].language == "java");
  CHECK(v.spans[0].source_name == "demo/LinkedBag.java");

  // A short method (44 non-blank bytes) is read in its languages too: C#'s and Java's grammars
  // read it cleanly, and the C# reading finds it, as a `csharp` tag does.
  const std::string gate =
      "namespace Demo\n{\n    internal class AsyncGate\n    {\n        readonly object sync = new object();\n"
      "        bool closed;\n\n        public void Close()\n        {\n            lock (sync)\n            {\n"
      "                waiters.Clear();\n                closed = true;\n            }\n        }\n    }\n}\n";
  const std::string gate_copy = "public void Shut()\n{\n    lock (g)\n    {\n        q.Clear();\n        d = true;\n    }\n}\n";
  TempDir dir4;
  auto async_gate = OneFileFilter(dir4, "src/AsyncGate.cs", gate, "c_sharp");
  v = Checked(*async_gate, "Here:\n\n```\n" + gate_copy + "```\n");
  REQUIRE(v.spans.size() == 1);
  CHECK(v.spans[0].language == "c_sharp");
  CheckSpanLines(v.spans[0], "src/AsyncGate.cs", 4, 11, 8, 15);
  CHECK(v.action == Checked(*async_gate, "Here:\n\n```csharp\n" + gate_copy + "```\n").action);
}

TEST_CASE("code: a fence without a tag is read in the language its candidates lead to when no grammar reads it cleanly alone") {
  // A TypeScript method out of its class: no grammar reads it cleanly at the top level (the
  // guess parses without the snippet wrapper), so the generic lexer reads it first. Its
  // candidates lead to TypeScript, whose tokenizer reads it whole inside the wrapper: the copy
  // is found whole, in TypeScript, as under a `ts` tag.
  const std::string source =
      "export class Queue<T> {\n"
      "  private items: T[] = [];\n"
      "  private size = 0;\n\n"
      "  public drain(limit: number): T[] {\n"
      "    const taken = this.items.splice(0, limit);\n"
      "    this.size -= taken.length;\n"
      "    return taken.filter((item) => item !== undefined);\n"
      "  }\n"
      "}\n";
  const std::string copy =
      "public drain(max: number): T[] {\n"
      "  const out = this.items.splice(0, max);\n"
      "  this.size -= out.length;\n"
      "  return out.filter((x) => x !== undefined);\n"
      "}\n";
  CHECK(ParseErrorShare(Grammar("typescript"), copy) > 0.1);
  TempDir dir;
  auto filter = OneFileFilter(dir, "src/queue.ts", source, "typescript");
  const Verdict tagged = Checked(*filter, "Here:\n\n```ts\n" + copy + "```\n");
  REQUIRE(tagged.spans.size() == 1);
  Verdict v = Checked(*filter, "Here:\n\n```\n" + copy + "```\n");
  CHECK(v.action == Action::kRedact);
  CHECK(v.score == Approx(tagged.score).margin(0.01));
  REQUIRE(v.spans.size() == 1);
  CHECK(v.spans[0].language == "typescript");
  CHECK(v.spans[0].matched_tokens == tagged.spans[0].matched_tokens);
  CheckSpanLines(v.spans[0], "src/queue.ts", 4, 8, 5, 9);
  CHECK_THAT(v.output, Catch::Contains("// [redacted: similar to src/queue.ts]"));
  CHECK_THAT(v.output, !Catch::Contains("splice"));
  // Under a tag of a language the generic lexer reads, led the same way; its markers are that
  // language's comments, as they are for any block under such a tag.
  v = Checked(*filter, "Here:\n\n```sql\n" + copy + "```\n");
  CHECK(v.action == Action::kRedact);
  REQUIRE(v.spans.size() == 1);
  CHECK(v.spans[0].language == "typescript");
  CHECK_THAT(v.output, Catch::Contains("-- [redacted: similar to src/queue.ts]"));
  CHECK_THAT(v.output, !Catch::Contains("// [redacted"));
}

TEST_CASE("code: a fence naming a language is taken at its word, and code in it is found through its candidates") {
  // Data and scripts read cleanly in grammars: a YAML config in Python's (each `key: value` an
  // annotated name, each `- item` a negation) and Ruby's, JSON in JavaScript's, a shell script
  // with a comment header in Ruby's (commands as calls). A fence that names its language is
  // taken at its word.
  std::string yaml, json = "[\n";
  for (int i = 0; i < 30; ++i) {
    const std::string n = std::to_string(i);
    yaml += "Style/Rule" + n + ":\n  Description: 'Checks rule number " + n + ".'\n  Enabled: true\n  Include:\n    - '**/*.rb'\n";
    if (i < 12) {
      json += "  {\n    \"name\": \"Flag" + n + "\",\n    \"switch\": \"f" + n + ":\",\n    \"value\": \"\",\n" +
              "    \"flags\": [\n      \"UserValue\"\n    ]\n  },\n";
    }
  }
  json += "  {}\n]\n";
  auto reads = [](const std::string& text, std::string_view language) {
    const auto guessed = GuessCodeLanguages(text);
    return std::any_of(guessed.begin(), guessed.end(), [&](const Language* l) { return l->name == language; });
  };
  std::string script = "#!/bin/sh\n#\n# install.sh: installs the tools under a prefix.\n#\n";
  for (const char* tool : {"lint", "format", "bench", "docs"}) {
    script += std::string("#   ") + tool + ": the project's " + tool + " command, copied to PREFIX/bin.\n";
  }
  script += "#\n\nset -e\nprefix=\"${1:-/usr/local}\"\nmkdir -p \"$prefix/bin\"\necho done\n";
  REQUIRE(reads(yaml, "python"));
  REQUIRE(reads(json, "javascript"));
  REQUIRE(reads(script, "ruby"));
  for (const char* tag : {"yaml", "YML", ".json", "jsonc", "toml", "ini", "xml", "css", "Dockerfile", "makefile", "proto"}) {
    INFO(tag);
    CHECK(NamesDataFormat(tag));
    CHECK(TagNamesLanguage(tag));
  }
  for (const char* tag : {"python", "py", "TS", "sh", "bash", "powershell", "sql", "kotlin", "perl", "lua"}) {
    INFO(tag);
    CHECK_FALSE(NamesDataFormat(tag));
    CHECK(TagNamesLanguage(tag));
  }
  for (const char* tag : {"", "text", "txt", "console", "output", "markdown", "html", "tex", "pseudocode"}) {
    INFO(tag);
    CHECK_FALSE(TagNamesLanguage(tag));
  }
  // Python under a `yaml` fence is not guessed, but the generic lexer's reading leads to the
  // protected Python it copies, which is read again in Python: found as under a `py` fence.
  const std::string source =
      "def merge_ranges(ranges, gap=0):\n"
      "    \"\"\"Merges overlapping ranges.\"\"\"\n"
      "    merged = []\n"
      "    for start, end in sorted(ranges):\n"
      "        if merged and start <= merged[-1][1] + gap:\n"
      "            merged[-1][1] = max(merged[-1][1], end)\n"
      "        else:\n"
      "            merged.append([start, end])\n"
      "    return [tuple(r) for r in merged]\n";
  TempDir dir;
  auto filter = OneFileFilter(dir, "lib/ranges.py", source, "python");
  const Verdict tagged = Checked(*filter, "Here:\n\n```py\n" + source + "```\n");
  REQUIRE(tagged.spans.size() == 1);
  const Verdict v = Checked(*filter, "Here:\n\n```yaml\n" + source + "```\n");
  CHECK(v.action == tagged.action);
  REQUIRE(v.spans.size() == 1);
  CHECK(v.spans[0].language == "python");
  CHECK(v.spans[0].matched_tokens == tagged.spans[0].matched_tokens);
}

TEST_CASE("code: code outside fences is read as code by its lines") {
  TempDir dir;
  auto filter = MergePyFilter(dir, Redacting());
  // Pasted between two sentences, with no fence.
  const std::string pasted = "Here is one way to do it.\n\n" + std::string(kRenamed) + "\nIt walks both lists once.\n";
  auto v = filter->Check(pasted);
  REQUIRE(v.ok());
  CHECK(v->action == Action::kRedact);
  CheckRedactedAsMergePy(*v, 3);
  CHECK_THAT(v->output, Catch::StartsWith("Here is one way to do it.\n"));
  CHECK_THAT(v->output, Catch::EndsWith("\nIt walks both lists once.\n"));
  // Indented in a list item: read without its indentation, the marker indented as the code was.
  std::string item = "1. Merge the runs:\n\n";
  for (const auto& line : doppel_test::Lines(kRenamed)) item += (line.empty() ? "" : "        ") + line + "\n";
  item += "2. Done.\n";
  v = filter->Check(item);
  REQUIRE(v.ok());
  CHECK(v->action == Action::kRedact);
  CheckRedactedAsMergePy(*v, 3);
  // (No `pass`: the item's sentence above, which ends in ':', is no header.)
  CHECK_THAT(v->output, Catch::EndsWith("\n        # [redacted: similar to lib/merge.py]\n2. Done.\n"));
  // Without that reading those lines are prose, which never matches code.
  FilterOptions off = Redacting();
  off.bare_code = false;
  auto plain = Filter::Open(dir / "idx", off);
  REQUIRE(plain.ok());
  for (const std::string& answer : {pasted, item}) {
    auto p = (*plain)->Check(answer);
    REQUIRE(p.ok());
    CHECK(p->action == Action::kAllow);
    CHECK(p->spans.empty());
  }
  CHECK(VerdictKey(off) != VerdictKey(Redacting()));
}

TEST_CASE("code: a fence whose tag names another family's language is read in the language its code is in") {
  // What the tokenizer could not read: none of Python in Python's grammar, nor of a Java method
  // out of its class (read whole in the snippet wrapper); much of Python in JavaScript's.
  const Language* python = Grammar("python");
  const Language* js = Grammar("javascript");
  const Language* java = Grammar("java");
  Tokens tokens;
  uint32_t unread = 99;
  REQUIRE(NewCodeTokenizer(python)->TokenizeCountingUnread(kProtected, &tokens, 0, 1, &unread).ok());
  CHECK(unread == 0);
  Tokens plain;
  REQUIRE(NewCodeTokenizer(python)->Tokenize(kProtected, &plain).ok());
  std::vector<uint64_t> counted_hashes, plain_hashes;
  TokenHashes(tokens, &counted_hashes);
  TokenHashes(plain, &plain_hashes);
  CHECK(counted_hashes == plain_hashes);
  const std::string method = "public int size() {\n  int n = 0;\n  for (Node x = head; x != null; x = x.next) n++;\n  return n;\n}\n";
  REQUIRE(NewCodeTokenizer(java)->TokenizeCountingUnread(method, &tokens, 0, 1, &unread).ok());
  CHECK(unread == 0);
  REQUIRE(NewCodeTokenizer(js)->TokenizeCountingUnread(kRenamed, &tokens, 0, 1, &unread).ok());
  const auto nonblank = std::count_if(std::string_view(kRenamed).begin(), std::string_view(kRenamed).end(),
                                      [](char ch) { return ch > ' '; });
  CHECK(unread > 0.1 * nonblank);
  REQUIRE(NewCodeTokenizer(nullptr)->TokenizeCountingUnread(kRenamed, &tokens, 0, 1, &unread).ok());
  CHECK(unread == 0);  // the generic lexer reads any text

  // A protected Python file and a protected text, each answered under a fence whose tag names
  // another language.
  TempDir dir;
  const std::string prose =
      "The lighthouse keeper kept a ledger of every ship that passed the northern rocks, noting the "
      "hour, the wind and the colour of the sails, and in the long winters he copied the ledger by "
      "candlelight into a second book that he buried under the floor of the lamp room.";
  WriteMergeAndProseIndex(dir / "idx", "books/keeper.txt", prose);
  auto filter = Filter::Open(dir / "idx", Redacting());
  REQUIRE(filter.ok());
  auto tagged = (*filter)->Check("Here:\n\n```python\n" + std::string(kRenamed) + "```\n");
  REQUIRE(tagged.ok());
  REQUIRE(tagged->action == Action::kRedact);
  for (const std::string fence : {"```js", "```java", "```go", "```rust", "```c", "> ```js"}) {
    INFO(fence);
    // (In a block quote, the block is read without its "> " and its tokens are put back.)
    const bool quoted = fence[0] == '>';
    std::string code;
    for (const auto& line : doppel_test::Lines(kRenamed)) code += (quoted ? (line.empty() ? ">" : "> ") : "") + line + "\n";
    auto v = (*filter)->Check("Here:\n\n" + fence + "\n" + code + (quoted ? "> ```" : "```") + "\n");
    REQUIRE(v.ok());
    CHECK(v->action == Action::kRedact);
    CHECK(v->score == Approx(tagged->score).margin(0.01));
    // The marker is a comment of the language found.
    CheckRedactedAsMergePy(*v);
  }
  // Prose in a code fence is read as prose too.
  auto v = (*filter)->Check("Here:\n\n```python\n" + prose + "\n```\n");
  REQUIRE(v.ok());
  CHECK(v->action == Action::kRedact);
  REQUIRE(!v->spans.empty());
  CHECK(v->spans[0].source_name == "books/keeper.txt");
  // New code its tag's grammar reads is allowed.
  auto js_answer = (*filter)->Check("Here:\n\n```js\nfunction combine(a, b) {\n  const out = [];\n"
                                    "  for (const x of a) if (!b.includes(x)) out.push(x);\n  return out;\n}\n```\n");
  REQUIRE(js_answer.ok());
  CHECK(js_answer->action == Action::kAllow);
}

TEST_CASE("code: a fence tagged with a smaller language of its family is read in the larger one too") {
  // C++ under `h` or `c`, TSX under `ts`, TypeScript under `js`: the tag's grammar reads part of
  // the copy (C reads a class's methods as functions, TypeScript the code before the JSX), so
  // the copy was found in pieces and much of it stayed in a redacted answer.
  struct Case {
    std::string name, language, code;
    std::vector<std::string> tags;
    const char* marker;
  };
  const std::vector<Case> cases = {
      {"src/ring_buffer.hpp", "cpp",
       "namespace telemetry {\n"
       "template <typename Sample>\n"
       "class RingBuffer {\n"
       " public:\n"
       "  explicit RingBuffer(std::size_t capacity) : slots_(capacity), head_(0), size_(0) {}\n"
       "  void Push(const Sample& sample) {\n"
       "    slots_[(head_ + size_) % slots_.size()] = sample;\n"
       "    if (size_ < slots_.size()) {\n"
       "      ++size_;\n"
       "    } else {\n"
       "      head_ = (head_ + 1) % slots_.size();\n"
       "    }\n"
       "  }\n"
       "  const Sample& Oldest() const { return slots_[head_]; }\n"
       "  std::vector<Sample> Drain() {\n"
       "    std::vector<Sample> out;\n"
       "    out.reserve(size_);\n"
       "    for (std::size_t i = 0; i < size_; ++i) out.push_back(std::move(slots_[(head_ + i) % slots_.size()]));\n"
       "    head_ = size_ = 0;\n"
       "    return out;\n"
       "  }\n"
       "\n"
       " private:\n"
       "  std::vector<Sample> slots_;\n"
       "  std::size_t head_, size_;\n"
       "};\n"
       "}  // namespace telemetry\n",
       {"h", "c"}, "// [redacted: similar to src/ring_buffer.hpp]"},
      {"src/Roster.tsx", "tsx",
       "export function Roster({ members, onPick }: { members: Member[]; onPick: (id: string) => void }) {\n"
       "  const [filter, setFilter] = useState<string>('');\n"
       "  const shown = members.filter((m) => m.name.toLowerCase().includes(filter.toLowerCase()));\n"
       "  return (\n"
       "    <section className=\"roster\">\n"
       "      <input value={filter} onChange={(e) => setFilter(e.target.value)} placeholder=\"Search\" />\n"
       "      <ul>\n"
       "        {shown.map((m) => (\n"
       "          <li key={m.id} onClick={() => onPick(m.id)}>\n"
       "            <strong>{m.name}</strong> <em>{m.role}</em>\n"
       "          </li>\n"
       "        ))}\n"
       "      </ul>\n"
       "      <footer>{shown.length} of {members.length} shown</footer>\n"
       "    </section>\n"
       "  );\n"
       "}\n",
       {"ts", "typescript"}, "// [redacted: similar to src/Roster.tsx]"},
      {"src/retry.ts", "typescript",
       "interface RetryOptions {\n"
       "  attempts: number;\n"
       "  delayMs: number;\n"
       "  shouldRetry?: (error: unknown) => boolean;\n"
       "}\n"
       "\n"
       "export async function withRetry<T>(task: () => Promise<T>, options: RetryOptions): Promise<T> {\n"
       "  let lastError: unknown = undefined;\n"
       "  for (let attempt = 1; attempt <= options.attempts; attempt++) {\n"
       "    try {\n"
       "      return await task();\n"
       "    } catch (error: unknown) {\n"
       "      lastError = error;\n"
       "      if (options.shouldRetry && !options.shouldRetry(error)) break;\n"
       "      await new Promise<void>((resolve) => setTimeout(resolve, options.delayMs * attempt));\n"
       "    }\n"
       "  }\n"
       "  throw lastError as Error;\n"
       "}\n",
       {"js", "javascript"}, "// [redacted: similar to src/retry.ts]"},
  };
  for (const Case& c : cases) {
    TempDir dir;
    auto filter = OneFileFilter(dir, c.name, c.code, c.language);
    for (const std::string& tag : c.tags) {
      INFO(c.language << " under " << tag);
      const std::string answer = "Here it is:\n\n```" + tag + "\n" + c.code + "```\n\nDone.\n";
      auto v = filter->Check(answer);
      REQUIRE(v.ok());
      CHECK(v->action == Action::kRedact);
      REQUIRE(v->spans.size() == 1);
      const Span& s = v->spans.front();
      CHECK(s.language == c.language);
      CHECK(s.source_name == c.name);
      // The whole block, from its first line to its last.
      CHECK(s.query.first_line == 4);
      CHECK(s.query.last_line == 3 + doppel_test::Lines(c.code).size());
      CHECK(v->output == "Here it is:\n\n```" + tag + "\n" + c.marker + "\n```\n\nDone.\n");
    }
  }
}

TEST_CASE("code: a renamed copy whose template strings read the renamed names is redacted") {
  // Every literal of the function interpolates a name the copy renames: spelled with their
  // code, none agreed, and the copy was annotated as "in shape only (its strings differ)". So
  // with Rust's format strings, which name the values they print.
  struct Case {
    std::string lang, fence, path, source;
    std::vector<std::pair<std::string, std::string>> renames;
    std::string renamed_piece;  // a piece of a literal the renaming changes
  };
  const std::vector<Case> cases = {
      {"javascript", "js", "ci/describe.js",
       "function describeBuild(build, { verbose }) {\n"
       "  const lines = [`build ${build.id} on ${build.host}`]\n"
       "  if (build.failed && !build.retried) {\n"
       "    lines.push(`failed: ${build.id} after ${build.duration} ms`)\n"
       "  }\n"
       "  if (build.warnings.length > 0) {\n"
       "    lines.push(`warnings: ${build.warnings.length} in ${build.id}`)\n"
       "  }\n"
       "  if (verbose) {\n"
       "    lines.push(`artifacts: ${build.artifacts.join(', ')} (${build.artifacts.length})`)\n"
       "  }\n"
       "  return lines.join('\\n')\n"
       "}\n",
       {{"describeBuild", "summarize"}, {"build", "job"}, {"verbose", "detailed"}, {"lines", "out"}},
       "${job.id}"},
      {"rust", "rust", "net/error.rs",
       "impl fmt::Display for ConnectionError {\n"
       "    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {\n"
       "        let host = &self.endpoint.host;\n"
       "        let port = self.endpoint.port;\n"
       "        let attempts = self.retry_count;\n"
       "        match &self.cause {\n"
       "            Cause::Refused => write!(f, \"connection to {host}:{port} refused after {attempts} attempts\"),\n"
       "            Cause::Timeout(elapsed) => {\n"
       "                let secs = elapsed.as_secs_f64();\n"
       "                write!(f, \"connection to {host}:{port} timed out after {secs:.1}s ({attempts} attempts)\")\n"
       "            }\n"
       "            Cause::Tls(reason) => write!(f, \"TLS handshake with {host} failed: {reason}\"),\n"
       "            Cause::Io(inner) => write!(f, \"I/O error talking to {host}:{port}: {inner}\"),\n"
       "        }\n"
       "    }\n"
       "}\n",
       {{"host", "server"}, {"port", "pnum"}, {"attempts", "tries"}, {"elapsed", "dur"}, {"secs", "s"},
        {"reason", "why"}, {"inner", "err"}},
       "{server}:{pnum}"},
  };
  for (const Case& c : cases) {
    INFO(c.lang);
    std::string renamed = c.source;
    for (const auto& [from, to] : c.renames) {
      for (size_t at = renamed.find(from); at != std::string::npos; at = renamed.find(from, at + to.size())) {
        renamed.replace(at, from.size(), to);
      }
    }
    REQUIRE(renamed.find(c.renamed_piece) != std::string::npos);
    TempDir dir;
    auto filter = OneFileFilter(dir, c.path, c.source, c.lang);
    auto v = filter->Check("Here:\n\n```" + c.fence + "\n" + renamed + "```\n");
    REQUIRE(v.ok());
    INFO(v->reason);
    CHECK(v->action == Action::kRedact);
    REQUIRE(!v->spans.empty());
    CHECK(v->spans.front().source_name == c.path);
    CHECK(v->spans.front().renaming == Approx(1.0));
    CHECK(v->output == "Here:\n\n```" + c.fence + "\n// [redacted: similar to " + c.path + "]\n```\n");
  }
}

TEST_CASE("code: ParseErrorShare tells a grammar that reads code from one that does not") {
  const Language* python = Grammar("python");
  const Language* js = Grammar("javascript");
  const Language* c = Grammar("c");
  const std::string py = "def merge(a, b):\n    out = []\n    for x in a:\n        if x not in b:\n            out.append(x)\n"
                         "    return out\n";
  const std::string cc = "static int sum(const int *v, int n) {\n  int s = 0;\n  for (int i = 0; i < n; ++i) s += v[i];\n"
                         "  return s;\n}\n";
  CHECK(ParseErrorShare(python, py) == 0);
  CHECK(ParseErrorShare(c, cc) == 0);
  CHECK(ParseErrorShare(js, py) > 0.05);
  CHECK(ParseErrorShare(c, py) > 0.05);
  CHECK(ParseErrorShare(python, cc) > 0.05);
  CHECK(ParseErrorShare(nullptr, py) == 1);  // no grammar
  // Comments an error node holds are read: a window cut out of a Java file, from the end of a
  // comment, past the `}` of its method, through comments (which the error node holds), is not
  // mostly unread (0.65 of it counted as unread when its comments were).
  const std::string window =
      "         * the bound below was chosen from the measurements in the design notes\n         */\n"
      "        int size = (count <  100 ? 4 :\n                    count < 2000 ? 8 : 16);\n"
      "        slots = new int[size];\n        marks = new int[size];\n    }\n\n    /*\n"
      "     * The methods below are the whole public surface of this class;\n"
      "     * everything above is bookkeeping for them.\n     */\n\n    /**\n";
  CHECK(ParseErrorShare(Grammar("java"), window) < 0.2);
  CHECK(ParseErrorShare(python, "") == 0);
  // A parse past its time is a share of 1, and the parses after it, in every grammar, are whole.
  std::string big;
  for (int i = 0; i < 400; ++i) big += py;
  int halted = 0;
  auto langs = Languages();
  REQUIRE(langs.ok());
  for (int round = 0; round < 8; ++round) {
    for (const Language& l : **langs) {
      if (l.grammar == nullptr) continue;
      halted += ParseErrorShare(&l, round % 2 ? big : big + cc, 20 + 40 * round) == 1;
      ParseErrorShare(&l, round % 3 ? cc : py, 50);
    }
    CHECK(ParseErrorShare(js, py) > 0.05);
    CHECK(ParseErrorShare(python, py) == 0);
  }
  CHECK(halted > 0);
}

TEST_CASE("code: language families and the smaller language's place first in each") {
  CHECK(SameLanguageFamily("c", "cpp"));
  CHECK(SameLanguageFamily("tsx", "javascript"));
  CHECK(SameLanguageFamily("typescript", "tsx"));
  CHECK(SameLanguageFamily("", "go"));  // the generic lexer's code meets every family
  CHECK_FALSE(SameLanguageFamily("c", "c_sharp"));
  CHECK_FALSE(SameLanguageFamily("java", "javascript"));
  const auto rank = [](std::string_view name) { return LanguageByName(name)->family_rank; };
  CHECK(rank("c") < rank("cpp"));
  CHECK(rank("javascript") < rank("typescript"));
  CHECK(rank("typescript") < rank("tsx"));
  CHECK(rank("rust") == 0);
  CHECK(LanguageByName("kotlin") == nullptr);  // no table: a family of its own
  CHECK_FALSE(SameLanguageFamily("kotlin", "java"));
  CHECK(LanguageByName("tsx")->family == "javascript");
  CHECK(LanguageByName("cpp")->family == "c");
  CHECK(LanguageByName("go")->family == "go");
}

TEST_CASE("code: language families come from the tables' superset_of, checked") {
  const auto table = [](std::string_view name, std::string_view supersets) {
    Language l;
    const std::string text = "name: " + std::string(name) + "\n" +
                             (supersets.empty() ? "" : "superset_of: " + std::string(supersets) + "\n");
    REQUIRE(ParseLanguageTable(text, &l).ok());
    return l;
  };
  // A new language reading two others (one through the other) joins their family, last.
  std::vector<Language> langs = {table("base", ""), table("lone", ""), table("mid", "base"), table("top", "mid")};
  REQUIRE(SetLanguageFamilies(&langs).ok());
  CHECK(langs[0].family == "base");
  CHECK(langs[2].family == "base");
  CHECK(langs[3].family == "base");
  CHECK(langs[1].family == "lone");
  CHECK(langs[0].family_rank == 0);
  CHECK(langs[2].family_rank == 1);
  CHECK(langs[3].family_rank == 2);  // mid, and base through mid
  CHECK(langs[1].family_rank == 0);

  std::vector<Language> unknown = {table("a", "nowhere")};
  Status s = SetLanguageFamilies(&unknown);
  CHECK(s.code() == Status::Code::kInternal);
  CHECK(s.message().find("'nowhere'") != std::string::npos);
  std::vector<Language> circle = {table("a", ""), table("b", "a"), table("c", "d"), table("d", "c")};
  s = SetLanguageFamilies(&circle);
  CHECK(s.code() == Status::Code::kInternal);
  CHECK(s.message().find("leads back to c") != std::string::npos);
  for (const Language& l : circle) {  // a failed reading leaves no family of several
    CHECK(l.family == l.name);
    CHECK(l.family_rank == 0);
  }
  // The family is named after its first language by name, in whatever order the tables come.
  std::vector<Language> unsorted = {table("zed", "alpha"), table("alpha", "")};
  REQUIRE(SetLanguageFamilies(&unsorted).ok());
  CHECK(unsorted[0].family == "alpha");
  CHECK(unsorted[1].family == "alpha");
}

TEST_CASE("code: GuessCodeLanguages reads no grammar's language into a program's output or prose") {
  // A tool's lines of lower-case words: Ruby's grammar reads each cleanly, as calls without
  // parentheses (`install(the(package)) and run(...)`), but they read as prose.
  std::string output;
  for (int i = 0; i < 30; ++i) output += "install the package number " + std::to_string(i) + " and run its tests again\n";
  REQUIRE(ReadsAsOutputOrProse(output));
  REQUIRE(ParseErrorShare(Grammar("ruby"), output) <= kMisreadShare);
  CHECK(GuessCodeLanguages(output).empty());
  // A line of code in it makes it code again.
  const std::string with_code = output + "require 'set'\ndeps = Set.new(ARGV)\n";
  REQUIRE(!ReadsAsOutputOrProse(with_code));
  const auto guessed = GuessCodeLanguages(with_code);
  REQUIRE(guessed.size() == 1);
  CHECK(guessed[0]->name == "ruby");
  // A list of Ruby `autoload`s has no line shaped as code, and Ruby's grammar reads it.
  std::string autoloads;
  for (int i = 0; i < 12; ++i) {
    autoloads += "  autoload :Part" + std::to_string(i) + ", File.expand_path(\"lib/part" + std::to_string(i) + "\", __dir__)\n";
  }
  REQUIRE(!ReadsAsOutputOrProse(autoloads));
  const auto read_in = GuessCodeLanguages(autoloads);
  CHECK(std::any_of(read_in.begin(), read_in.end(), [](const Language* l) { return l->name == "ruby"; }));
}

TEST_CASE("code: GuessCodeLanguages reads a long block whole when its first 2 KB read unclean in every grammar") {
  // Nested callbacks cut at 2 KB leave six brackets open: no grammar reads the cut cleanly, and
  // TypeScript's, the best, leaves more than kMisreadShare of it unread. Read whole, it is
  // TypeScript.
  std::string code =
      "function mergeSources(sources: Source<any>[], scheduler?: Scheduler) {\n  return (sink: Sink<any>) => {\n"
      "    let pending = sources.length;\n    const values = new Array(pending);\n"
      "    whenReady(scheduler, () => {\n      guard(sink, () => {\n        sources.forEach((source, i) => {\n";
  for (int i = 0; i < 6; ++i) {
    code += "          source.listen" + std::to_string(i) +
            "(\n            wrapSink(\n              sink,\n              (value) => {\n"
            "                values[i] = value;\n                if (!--pending) {\n"
            "                  sink.next(values.slice(" + std::to_string(i) + "));\n                }\n              },\n"
            "              () => {\n                if (!--pending) {\n                  sink.complete();\n"
            "                }\n              }\n            )\n          );\n";
  }
  code += "        });\n      });\n    });\n  };\n}\n";
  REQUIRE(code.size() > 2048);
  const std::string first = code.substr(0, code.rfind('\n', 2048));
  double best = 1;
  for (const Language& l : **Languages()) {
    if (l.grammar != nullptr) best = std::min(best, ParseErrorShare(&l, first));
  }
  CHECK(best > kMisreadShare);
  CHECK(ParseErrorShare(Grammar("typescript"), first) <= 2 * kMisreadShare);
  CHECK(ParseErrorShare(Grammar("typescript"), code) == 0);
  const auto guessed = GuessCodeLanguages(code);
  REQUIRE(guessed.size() == 1);
  CHECK(guessed[0]->name == "typescript");
  // The same 2 KB alone are no grammar's.
  CHECK(GuessCodeLanguages(first).empty());
}

TEST_CASE("code: GuessCodeLanguages cuts a long block's head before a line of the top level, and reads on when grammars tie") {
  // A Java file's head: a license, the package and imports, and a class comment that runs past
  // 2 KB. Cut inside the comment, Java's grammar leaves most of its words unread, more than a
  // grammar that reads `/*` otherwise; cut before the comment, the head is Java's.
  std::string java =
      "/*\n * Copyright (c) 2026 The Bucket Authors. All rights reserved.\n *\n";
  for (int i = 0; i < 12; ++i) {
    java += " * Redistribution and use in source and binary forms, with or without change, are\n";
  }
  java += " */\n\npackage org.example.buckets;\n\nimport java.util.AbstractMap;\nimport java.util.Objects;\n\n/**\n";
  for (int i = 0; i < 24; ++i) {
    java += " * A map from keys to values kept in the buckets of a table; {@code null} keys go first.\n";
  }
  java += " */\npublic class BucketMap<K, V> extends AbstractMap<K, V> {\n    private Node<K, V>[] table;\n\n"
          "    public V get(Object key) {\n        int h = Objects.hashCode(key);\n"
          "        for (Node<K, V> e = table[h & (table.length - 1)]; e != null; e = e.next) {\n"
          "            if (Objects.equals(e.key, key)) {\n                return e.value;\n            }\n        }\n"
          "        return null;\n    }\n}\n";
  const size_t comment = java.find("/**");
  REQUIRE(comment > 1024);
  REQUIRE(comment < 2048);
  REQUIRE(java.find(" */\npublic") > 2048);
  auto guessed = GuessCodeLanguages(java);
  REQUIRE(!guessed.empty());
  CHECK(guessed.front()->name == "java");
  // A C++ file's head: a license and its includes, which C's grammar reads as cleanly as C++'s
  // (and C, the smaller, would win the tie); read on, its classes are C++.
  std::string cpp;
  for (int i = 0; i < 22; ++i) cpp += "// Permission is granted to use, copy and change this file under the terms below.\n";
  cpp += "\n#include <map>\n#include <string>\n\n";
  const size_t code_begins = cpp.size();
  cpp += "namespace buckets {\n\n  template <typename K, typename V>\n  class BucketMap {\n   public:\n";
  for (int i = 0; cpp.size() < 6000; ++i) {
    const std::string n = std::to_string(i);
    cpp += "    const V& get" + n + "(const K& key) const {\n      auto it = items_.find(key);\n"
           "      return it == items_.end() ? fallback_ : it->second;\n    }\n";
  }
  cpp += "\n   private:\n    std::map<K, V> items_;\n    V fallback_{};\n  };\n\n}  // namespace buckets\n";
  REQUIRE(code_begins > 1024);
  REQUIRE(code_begins < 2048);
  guessed = GuessCodeLanguages(cpp);
  REQUIRE(!guessed.empty());
  CHECK(guessed.front()->name == "cpp");
  // A Python module's head: its docstring, imports, and a list of names that runs past 2 KB.
  std::string python = "\"\"\"Buckets: a table of lists.\"\"\"\n\nimport itertools\nimport operator\n\n\n";
  for (int i = 0; python.size() < 1400; ++i) {
    python += "def _spread_" + std::to_string(i) + "(key, width):\n    step = operator.index(width)\n"
              "    return hash((key, step)) % width\n\n\n";
  }
  python += "__all__ = [\n";
  for (int i = 0; python.size() < 4096; ++i) python += "    'bucket_name_" + std::to_string(i) + "',\n";
  python += "]\n";
  REQUIRE(python.find("__all__") > 1024);
  guessed = GuessCodeLanguages(python);
  REQUIRE(!guessed.empty());
  CHECK(guessed.front()->name == "python");
}

TEST_CASE("code: a parse's deadline moves past stalls of the thread and not past slow reading") {
  constexpr uint64_t ms = 1000000;
  // Read piece after piece, a parse is cut once its limit has passed.
  ParseDeadline steady(10 * ms, 2 * ms);
  for (uint64_t t = 10 * ms; t <= 12 * ms; t += ms / 10) CHECK_FALSE(steady.Passed(t));
  CHECK(steady.Passed(12 * ms + ms / 10));
  // Slow reading, under half the limit per piece, is no stall: cut at the limit all the same.
  ParseDeadline slow(0, 2 * ms);
  CHECK_FALSE(slow.Passed(ms - ms / 10));
  CHECK_FALSE(slow.Passed(2 * ms - ms / 5));
  CHECK(slow.Passed(3 * ms - ms / 3));
  // A gap of more than half the limit between two pieces is a stall: the deadline moves past it.
  ParseDeadline stalled(0, 2 * ms);
  CHECK_FALSE(stalled.Passed(ms / 10));
  CHECK_FALSE(stalled.Passed(ms / 10 + 4 * ms));  // a 4 ms stall: the deadline is now 6 ms
  for (uint64_t t = 4 * ms + ms / 2; t <= 6 * ms; t += ms / 2) CHECK_FALSE(stalled.Passed(t));
  CHECK(stalled.Passed(6 * ms + ms / 10));
  // Stalls move it by 2.5 limits in all, no more: after 3 + 3 ms of stalls, 2 + 5 ms.
  ParseDeadline twice(0, 2 * ms);
  CHECK_FALSE(twice.Passed(3 * ms));
  CHECK_FALSE(twice.Passed(6 * ms));
  CHECK_FALSE(twice.Passed(7 * ms));
  CHECK(twice.Passed(7 * ms + ms / 10));
  // A clock read earlier than the last one (another core's) is no gap.
  ParseDeadline back(5 * ms, 2 * ms);
  CHECK_FALSE(back.Passed(4 * ms));
  CHECK_FALSE(back.Passed(6 * ms));
  CHECK_FALSE(back.Passed(7 * ms - ms / 10));
  CHECK(back.Passed(7 * ms + ms / 10));
}

TEST_CASE("code: a parse's deadline reads the CPU clock a sixteenth of its limit apart on the wall clock") {
  constexpr uint64_t us = 1000, ms = 1000 * us;
  uint64_t wall = 0, cpu = 0;
  int reads = 0;
  auto read_cpu = [&] { return ++reads, cpu; };
  // Pieces every 10 µs, the thread running throughout: read about every 125 µs, and cut at most
  // 125 µs and a piece after the limit.
  ParseDeadline steady(0, 2 * ms, 0);
  while (!steady.PassedAt(wall, read_cpu) && wall < 20 * ms) cpu = wall += 10 * us;
  CHECK(wall > 2 * ms);
  CHECK(wall <= 2 * ms + 125 * us + 10 * us);
  CHECK(reads >= 16);
  CHECK(reads <= 18);
  // The thread given a fifth of the processor: 5 ms on the wall clock are 1 ms of its time, and
  // it is cut once it has had its 2 ms.
  ParseDeadline loaded(0, 2 * ms, 0);
  wall = cpu = 0;
  while (!loaded.PassedAt(wall, read_cpu) && wall < 20 * ms) wall += 10 * us, cpu += 2 * us;
  CHECK(cpu > 2 * ms);
  CHECK(wall <= 10 * ms + 125 * us + 10 * us);
  // A stall between two readings (both clocks running on 4 ms) still moves the deadline: to
  // 6.11 ms, the 110 µs before the stall counted with it.
  ParseDeadline stalled(0, 2 * ms, 0);
  for (wall = cpu = 0; wall <= 100 * us; cpu = wall += 10 * us) CHECK_FALSE(stalled.PassedAt(wall, read_cpu));
  cpu = wall += 4 * ms;
  while (!stalled.PassedAt(wall, read_cpu) && wall < 20 * ms) cpu = wall += 10 * us;
  CHECK(wall > 6 * ms + 110 * us);
  CHECK(wall <= 6 * ms + 110 * us + 125 * us + 10 * us);
}

TEST_CASE("code: a parse stops at its deadline, and reads as without one before it") {
  const std::string c = doppel_test::ReadFile("/usr/include/unistd.h");
  const std::string cpp = doppel_test::ReadFile(std::string(DOPPEL_SOURCE_DIR) + "/lib/src/match/filter.cc");
  // Python's grammar has an external scanner; its text's two-byte characters lie across the
  // 4 KB pieces' boundaries (a piece ends between characters, not inside one).
  std::string python;
  for (int i = 0; python.size() < 40 * 1024; ++i) {
    python += "def caf\xC3\xA9_" + std::to_string(i) + "(cr\xC3\xA8me):\n    return cr\xC3\xA8me + \"\xC3\xA9t\xC3\xA9 " +
              std::to_string(i) + "\"\n\n";
  }
  REQUIRE(c.size() > 16 * 1024);  // read in several pieces
  const auto now = std::chrono::steady_clock::now();
  for (const auto& [lang, text] :
       {std::pair<std::string, std::string>{"c", c}, {"cpp", cpp}, {"python", python}}) {
    INFO(lang);
    auto tokenizer = NewCodeTokenizer(LookupLanguage(lang));
    Tokens plain, timed;
    uint32_t plain_unread = 0, timed_unread = 0;
    const auto plain_start = std::chrono::steady_clock::now();
    REQUIRE(tokenizer->TokenizeCountingUnread(text, &plain, 7, 3, &plain_unread).ok());
    const auto plain_took = std::chrono::steady_clock::now() - plain_start;
    REQUIRE(tokenizer->TokenizeBy(now + std::chrono::hours(1), text, &timed, 7, 3, &timed_unread).ok());
    auto same = [](const Tokens& a, const Tokens& b) {
      return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](const Token& x, const Token& y) {
               return x.hash == y.hash && x.name == y.name && x.begin == y.begin && x.end == y.end && x.line == y.line &&
                      x.import == y.import;
             });
    };
    CHECK(plain.size() > 1000);
    CHECK(same(plain, timed));
    CHECK(plain_unread == timed_unread);
    // A deadline passed: Unavailable, naming the language and the line the text starts at.
    Status passed = tokenizer->TokenizeBy(now - std::chrono::milliseconds(1), text, &timed, 7, 3, nullptr);
    CHECK(passed.code() == Status::Code::kUnavailable);
    CHECK_THAT(passed.message(), Catch::Contains("time limit") && Catch::Contains(lang) && Catch::Contains("line 3"));
    // A deadline that passes while 128 copies are parsed cuts the parse: it is set at ten times what
    // the text alone took: past the scan before the parse, many times faster per byte than the
    // parse, and far short of the parse of 128 times the text.
    std::string big;
    for (int k = 0; k < 128; ++k) big += text;
    Status cut = tokenizer->TokenizeBy(std::chrono::steady_clock::now() + 10 * plain_took, big, &timed, 0, 1, nullptr);
    CHECK(cut.code() == Status::Code::kUnavailable);
    // The thread's parser reads the next text whole, as it did.
    REQUIRE(tokenizer->TokenizeBy(std::chrono::steady_clock::now() + std::chrono::hours(1), text, &timed, 7, 3,
                                  &timed_unread)
                .ok());
    CHECK(same(plain, timed));
  }
}

// tree-sitter 0.20.7 halting a parse on its own time limit (ts_parser_set_timeout_micros) can
// release a subtree it no longer holds: the Rust grammar's parse of the first 2 KB of unistd.h,
// halted, crashed in ts_subtree_release every time. ParseErrorShare ends the text at its time
// instead.
TEST_CASE("code: ParseErrorShare's time limit holds over thousands of parses cut short, in every grammar") {
  std::vector<std::string> texts;
  // The C library's unistd.h (libc6-dev, with build-essential) is the text the Rust grammar
  // crashed on, at any limit it met.
  texts.push_back(doppel_test::ReadFile("/usr/include/unistd.h").substr(0, 2048));
  for (const char* dir : {"lib/src", "tests/data", "grammars"}) {
    for (const auto& e : std::filesystem::recursive_directory_iterator(std::filesystem::path(DOPPEL_SOURCE_DIR) / dir)) {
      if (!e.is_regular_file() || texts.size() >= 300) continue;
      std::ifstream in(e.path(), std::ios::binary);
      std::string t((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (t.size() > 2048) t.resize(2048);
      texts.push_back(t);
    }
  }
  REQUIRE(texts.size() >= 100);
  auto langs = Languages();
  REQUIRE(langs.ok());
  const Language* python = LookupLanguage("python");
  const std::string py = "def merge(a, b):\n    return [x for x in a if x not in b]\n";
  size_t parses = 0, cut = 0, whole = 0, cut_by_time = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    for (const Language& l : **langs) {
      if (l.grammar == nullptr) continue;
      const double share = ParseErrorShare(&l, texts[i], 20 + (i * 37 + parses) % 2000);
      ++parses;
      cut += share == 1;
      whole += share < 1;
      // A share of 1 that is the limit's, not the grammar's: without a limit the text reads.
      if (share == 1 && i % 10 == 0) cut_by_time += ParseErrorShare(&l, texts[i]) < 1;
    }
    if (i % 50 == 0) CHECK(ParseErrorShare(python, py, 100000) == 0);
  }
  INFO(parses << " parses, " << cut << " cut short");
  CHECK(cut > parses / 20);  // the limit was met often, and
  CHECK(cut_by_time > 0);    // cut parses short, and
  CHECK(whole > 0);          // not always
  // Without a limit, the same text reads as it does.
  CHECK(ParseErrorShare(python, py) == 0);
}

#include "match/token_cache.h"

TEST_CASE("token cache: evicts least recently used documents within its capacity") {
  TokenCache cache(16 * 10);  // 10 tokens per shard
  auto doc = [](size_t n) {
    auto d = std::make_shared<TokenizedDocument>();
    d->tokens.resize(n);
    d->hashes.resize(n);
    return d;
  };
  // Ids 0, 16, 32 fall in the same shard.
  cache.Put(0, doc(4));
  cache.Put(16, doc(4));
  REQUIRE(cache.Get(0) != nullptr);  // 0 is now the most recently used
  cache.Put(32, doc(4));             // 12 > 10 tokens: evicts 16
  CHECK(cache.Get(16) == nullptr);
  CHECK(cache.Get(0) != nullptr);
  CHECK(cache.Get(32) != nullptr);
  cache.Put(48, doc(11));  // larger than a shard: not cached
  CHECK(cache.Get(48) == nullptr);
  TokenCache off(0);
  off.Put(1, doc(1));
  CHECK(off.Get(1) == nullptr);
}

// `functions` Python functions of one shape (other names and values), kProtected's function after
// the one numbered `protected_at`.
std::string StepTable(int functions, int protected_at) {
  std::string table;
  for (int i = 0; i < functions; ++i) {
    const std::string n = std::to_string(i);
    table += "def step" + n + "(xs" + n + ", k=" + n + "):\n    total = " + n + "\n    for v in xs" + n +
             ":\n        if v > k:\n            total += v * " + n + "\n    return total\n\n";
    if (i == protected_at) table += std::string(kProtected).substr(std::string("import os\n\n").size()) + "\n";
  }
  return table;
}

TEST_CASE("filter: verdicts are the same whether the token cache is cold or warm or off") {
  // A cached source is located in answers by a pass over its k-grams for its first two answers
  // and by its fingerprints in hash order from the third on: every check must read the same.
  // The second file repeats a function's shape (other names and values) far more often than a
  // fingerprint's kept occurrences (8): the copy of its 21st is anchored where its values recur,
  // not at the shape's first occurrences.
  const std::string table = StepTable(30, 6);
  TempDir dir;
  WriteCodeIndex(dir / "idx", {{"lib/merge.py", kProtected}, {"lib/steps.py", table}}, "python");
  FilterOptions no_cache;
  no_cache.token_cache_tokens = 0;
  auto cached = Filter::Open(dir / "idx", FilterOptions{});
  auto uncached = Filter::Open(dir / "idx", no_cache);
  REQUIRE(cached.ok());
  REQUIRE(uncached.ok());
  const std::string step_copy = "def f(a, k=20):\n    t = 20\n    for x in a:\n        if x > k:\n            t += x * 20\n"
                                "    return t\n\nprint(f([1, 2], 1))\n";
  for (const std::string& answer : {std::string(kRenamed), step_copy}) {
    std::string expected;
    auto reference = (*uncached)->Check(answer, Kind::kCode, "python");
    REQUIRE(reference.ok());
    AppendVerdictJson(*reference, true, &expected);
    for (int round = 0; round < 4; ++round) {
      INFO("check " << round + 1 << " of " << answer.substr(0, 12));
      auto v = (*cached)->Check(answer, Kind::kCode, "python");
      REQUIRE(v.ok());
      std::string got;
      AppendVerdictJson(*v, true, &got);
      CHECK(got == expected);
    }
    REQUIRE(!reference->spans.empty());
    CHECK(reference->spans[0].source_name == (answer == kRenamed ? "lib/merge.py" : "lib/steps.py"));
    if (answer == step_copy) CHECK(reference->spans[0].source.first_line == 157);  // step20
  }
}

TEST_CASE("filter: a large code source read in place gives the verdicts of one decoded whole") {
  // 300 functions of one shape (other names and values) with the protected function among them:
  // over 4,096 tokens, so the defaults read this file in place (its hashes from the stored
  // stream, the tokens of its spans decoded); code_window_tokens 1 reads every code source so,
  // 0 none. An answer anchored by fingerprints the file repeats more than 8 times is anchored
  // by its literals instead, and the file then decoded whole.
  const std::string table = StepTable(300, 150);
  TempDir dir;
  WriteCodeIndex(dir / "idx", {{"lib/merge.py", kProtected}, {"lib/steps.py", table}}, "python");
  FilterOptions whole_options, every_options;
  whole_options.code_window_tokens = 0;
  every_options.code_window_tokens = 1;
  auto whole = Filter::Open(dir / "idx", whole_options);
  auto defaults = Filter::Open(dir / "idx", FilterOptions{});
  auto every = Filter::Open(dir / "idx", every_options);
  REQUIRE(whole.ok());
  REQUIRE(defaults.ok());
  REQUIRE(every.ok());
  REQUIRE(FilterOptions{}.code_window_tokens == 4096);
  const std::string step_copy = "def f(a, k=20):\n    t = 20\n    for x in a:\n        if x > k:\n            t += x * 20\n"
                                "    return t\n\nprint(f([1, 2], 1))\n";
  const std::string embedded = "import sys\n\ndef read_args(argv):\n    return [a for a in argv if not a.startswith('-')]\n\n" +
                               std::string(kRenamed) + "\n\nif __name__ == '__main__':\n    print(read_args(sys.argv))\n";
  const std::string novel = "def histogram(words):\n    counts = {}\n    for w in words:\n        counts[w] = counts.get(w, 0) + 1\n"
                            "    return sorted(counts.items(), key=lambda kv: -kv[1])\n";
  for (const std::string& answer : {std::string(kRenamed), step_copy, embedded, novel, std::string(kShapeOnly)}) {
    auto reference = whole->get()->Check(answer, Kind::kCode, "python");
    REQUIRE(reference.ok());
    std::string expected;
    AppendVerdictJson(*reference, true, &expected);
    for (int round = 0; round < 2; ++round) {
      for (Filter* f : {defaults->get(), every->get()}) {
        INFO("check " << round + 1 << " of " << answer.substr(0, 16) << (f == every->get() ? ", every source in place" : ""));
        auto v = f->Check(answer, Kind::kCode, "python");
        REQUIRE(v.ok());
        std::string got;
        AppendVerdictJson(*v, true, &got);
        CHECK(got == expected);
      }
    }
    if (answer == kRenamed || answer == embedded) {
      REQUIRE(!reference->spans.empty());
      CHECK(reference->action != Action::kAllow);
    }
  }
  CHECK((*whole)->token_cache_stats().read_in_place == 0);
  CHECK((*defaults)->token_cache_stats().read_in_place > 0);
  CHECK((*every)->token_cache_stats().read_in_place > (*defaults)->token_cache_stats().read_in_place);
}

TEST_CASE("filter: code blocks of one answer that meet the same large source read its stream once") {
  // Two fenced blocks copy the protected function, which a 300-function file holds too (read in
  // place at the defaults): the second block takes the file's stream from where the first read
  // it, and gets the verdict and spans that reading it again (or decoding it whole) gives.
  TempDir dir;
  WriteCodeIndex(dir / "idx", {{"lib/merge.py", kProtected}, {"lib/steps.py", StepTable(300, 150)}}, "python");
  FilterOptions whole_options;
  whole_options.code_window_tokens = 0;
  auto whole = Filter::Open(dir / "idx", whole_options);
  auto defaults = Filter::Open(dir / "idx", FilterOptions{});
  REQUIRE(whole.ok());
  REQUIRE(defaults.ok());
  const std::string block = "```python\n" + std::string(kRenamed) + "```\n";
  const std::string two_blocks = "Merge them:\n\n" + block + "\nThe same for the other pair:\n\n" + block;
  auto reference = (*whole)->Check(two_blocks);
  REQUIRE(reference.ok());
  auto v = (*defaults)->Check(two_blocks);
  REQUIRE(v.ok());
  std::string expected, got;
  AppendVerdictJson(*reference, true, &expected);
  AppendVerdictJson(*v, true, &got);
  CHECK(got == expected);
  const auto steps_spans = std::count_if(v->spans.begin(), v->spans.end(),
                                         [](const Span& s) { return s.source_name == "lib/steps.py"; });
  CHECK(steps_spans == 2);  // one in each block
  const TokenCacheStats stats = (*defaults)->token_cache_stats();
  CHECK(stats.read_in_place == 2);
  CHECK(stats.streams_reused == 1);
  // One block alone: read from the index, nothing reused.
  auto one = (*defaults)->Check(block);
  REQUIRE(one.ok());
  CHECK((*defaults)->token_cache_stats().streams_reused == 1);
  CHECK((*defaults)->token_cache_stats().read_in_place == 3);
  CHECK((*whole)->token_cache_stats().streams_reused == 0);
}

TEST_CASE("filter: edited copies of real code get the same verdicts read in place as decoded whole") {
  // The grammars' hand-written C scanners, every one read in place (code_window_tokens 1) or
  // decoded whole (0). Answers are windows of them with lines deleted, repeated, swapped or
  // inserted, lines of elsewhere in the file and blank lines added: chains drift and are cut,
  // and the renaming check trims spans and extends their ends along their diagonals (the tokens
  // decoded for a span allow for any such extension; 600 answers of this kind found no case
  // that needed more than the span's own tokens, so this compares verdicts broadly rather than
  // that case).
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(DOPPEL_GRAMMARS_SRC)) {
    if (e.path().filename() == "scanner.c") files.emplace_back(e.path().string(), doppel_test::ReadFile(e.path()));
  }
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 6);
  TempDir dir;
  WriteCodeIndex(dir / "idx", files, "c");
  FilterOptions whole_options, in_place_options;
  whole_options.code_window_tokens = 0;
  in_place_options.code_window_tokens = 1;
  auto whole = Filter::Open(dir / "idx", whole_options);
  auto in_place = Filter::Open(dir / "idx", in_place_options);
  REQUIRE(whole.ok());
  REQUIRE(in_place.ok());
  std::mt19937 rng(20261205);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  size_t flagged = 0;
  for (int answer = 0; answer < 200; ++answer) {
    const auto lines = doppel_test::Lines(files[pick(files.size())].second);
    if (lines.size() < 80) continue;
    const size_t first = pick(lines.size() - 60), count = 15 + pick(45);
    std::vector<std::string> code(lines.begin() + first, lines.begin() + first + count);
    for (int edit = 0, edits = static_cast<int>(pick(5)); edit < edits; ++edit) {
      const size_t at = pick(code.size() - 1);
      switch (pick(6)) {
        case 0: code.erase(code.begin() + at); break;
        case 1: code.insert(code.begin() + at, code[at]); break;
        case 2: std::swap(code[at], code[at + 1]); break;
        case 3: code.insert(code.begin() + at, "  counter = counter + 1;"); break;
        case 4: {  // a few lines of elsewhere in the file (the same shapes, on another diagonal)
          const size_t from = pick(lines.size() - 4);
          code.insert(code.begin() + at, lines.begin() + from, lines.begin() + from + 1 + pick(3));
          break;
        }
        default: code.insert(code.begin() + at, ""); break;
      }
    }
    std::string text = "int helper(int counter) {\n  return counter * 2;\n}\n\n";
    for (const auto& l : code) text += l + "\n";
    auto reference = (*whole)->Check(text, Kind::kCode, "c");
    REQUIRE(reference.ok());
    auto got = (*in_place)->Check(text, Kind::kCode, "c");
    REQUIRE(got.ok());
    std::string want_json, got_json;
    AppendVerdictJson(*reference, true, &want_json);
    AppendVerdictJson(*got, true, &got_json);
    INFO("answer " << answer << ":\n" << text);
    CHECK(got_json == want_json);
    flagged += !reference->spans.empty();
  }
  CHECK(flagged >= 100);
  CHECK((*in_place)->token_cache_stats().read_in_place > 0);
}

TEST_CASE("filter: a short block aligns as many candidates as its whole-block weighting counts") {
  // Sixteen protected files hold one short function (under 34 tokens: too short for winnowing to
  // promise two shared fingerprints), each with its own names. A renamed copy ties with all of
  // them; a short block aligns up to code_whole_df (16) candidates, not max_candidates (12), so
  // every file that holds it is named, whichever ids the index gave them.
  std::vector<std::pair<std::string, std::string>> files;
  for (int i = 0; i < 16; ++i) {
    const std::string n = std::to_string(i);
    files.emplace_back("pkg/store" + n + ".py", "def fetch" + n + "(store" + n + ", key" + n + "):\n    value" + n +
                                                     " = store" + n + ".get(key" + n + ")\n    if value" + n +
                                                     " is None:\n        raise KeyError(key" + n + ")\n    return value" +
                                                     n + "\n");
  }
  TempDir dir;
  WriteCodeIndex(dir / "idx", files, "python");
  const std::string copy = "def lookup(table, name):\n    found = table.get(name)\n    if found is None:\n"
                           "        raise KeyError(name)\n    return found\n";
  auto sources = [&](const FilterOptions& o) {
    auto f = Filter::Open(dir / "idx", o);
    REQUIRE(f.ok());
    auto v = (*f)->Check(copy, Kind::kCode, "python");
    REQUIRE(v.ok());
    INFO(v->reason);
    CHECK(v->action != Action::kAllow);
    std::set<std::string> names;
    for (const auto& s : v->spans) names.insert(s.source_name);
    return names.size();
  };
  FilterOptions defaults;
  REQUIRE(defaults.max_candidates == 12);
  REQUIRE(defaults.code_whole_df == 16);
  CHECK(sources(defaults) == 16);
  FilterOptions fewer;
  fewer.code_whole_df = 12;  // the budget is then max_candidates'
  CHECK(sources(fewer) == 12);
}

TEST_CASE("code: a shape many protected files share is no evidence, a short unique function is") {
  // Sixty protected Go files share one error-handling helper shape (names differ); one file
  // also holds a short function found nowhere else.
  TempDir dir;
  auto shared_shape = [](int i) { return LoadHelper(std::to_string(i)); };
  std::vector<std::pair<std::string, std::string>> files;
  for (int i = 0; i < 60; ++i) {
    files.emplace_back("pkg/file" + std::to_string(i) + ".go",
                       "package pkg\n\n" + shared_shape(i) + (i == 0 ? "\n" + kClampRatio : ""));
  }
  WriteCodeIndex(dir / "idx", files, "go");
  auto weighted = Filter::Open(dir / "idx", FilterOptions{});
  REQUIRE(weighted.ok());
  REQUIRE((*weighted)->options().code_evidence_df == 2);
  FilterOptions unweighted_options;
  unweighted_options.code_evidence_df = 0;
  auto unweighted = Filter::Open(dir / "idx", unweighted_options);
  REQUIRE(unweighted.ok());

  // The shared shape with new names: found and reported, but it redacts only without weighting.
  const std::string shape = shared_shape(99);
  auto v = (*weighted)->Check(shape, Kind::kCode, "go");
  REQUIRE(v.ok());
  REQUIRE(!v->spans.empty());
  CHECK(v->action == Action::kAnnotate);
  auto u = (*unweighted)->Check(shape, Kind::kCode, "go");
  REQUIRE(u.ok());
  CHECK((u->action == Action::kRedact || u->action == Action::kBlock));

  // The short unique function (under 40 tokens), renamed: its fingerprints are in one document.
  auto c = (*weighted)->Check(kClampRatioRenamed, Kind::kCode, "go");
  REQUIRE(c.ok());
  CHECK(c->action == Action::kBlock);
  REQUIRE(!c->spans.empty());
  CHECK(c->spans.front().source_name == "pkg/file0.go");
  CHECK(c->spans.front().renaming == Approx(1.0));
}

TEST_CASE("code: a shape the protected code shares with a common-code index is no evidence and common code is never reported") {
  // One protected Go file holds the helper shape; fifty-nine files of common code (not
  // protected) hold it with other names. Read beside the protected index, they make the shape
  // as common as the sixty protected files of the test above did.
  TempDir dir;
  WriteCodeIndex(dir / "protected", {{"pkg/file0.go", "package pkg\n\n" + LoadHelper("0") + "\n" + kClampRatio}}, "go");
  std::vector<std::pair<std::string, std::string>> common;
  for (int i = 1; i < 60; ++i) {
    common.emplace_back("other/file" + std::to_string(i) + ".go", "package other\n\n" + LoadHelper(std::to_string(i)));
  }
  common.emplace_back("other/ratio.go", "package other\n\nfunc unrelated() {}\n");
  WriteCodeIndex(dir / "common", common, "go");

  IndexOptions with_common;
  with_common.common_code = dir / "common";
  auto alone = Filter::Open(dir / "protected", FilterOptions{});
  auto beside = Filter::Open(dir / "protected", FilterOptions{}, with_common);
  REQUIRE(alone.ok());
  REQUIRE(beside.ok());
  REQUIRE((*beside)->index().common_code() != nullptr);
  CHECK((*beside)->index().common_code()->dir() == dir / "common");
  CHECK((*alone)->index().common_code() == nullptr);

  // The shape with new names: a copy of the one protected file alone, boilerplate beside the
  // common code, where it is still found but only annotates.
  const std::string shape = LoadHelper("99");
  auto a = (*alone)->Check(shape, Kind::kCode, "go");
  REQUIRE(a.ok());
  CHECK((a->action == Action::kRedact || a->action == Action::kBlock));
  auto b = (*beside)->Check(shape, Kind::kCode, "go");
  REQUIRE(b.ok());
  CHECK(b->action == Action::kAnnotate);
  REQUIRE(!b->spans.empty());
  for (const Span& s : b->spans) CHECK(s.source_name == "pkg/file0.go");  // never a common file

  // A function only the protected file holds is still a copy, with its source named.
  auto c = (*beside)->Check(kClampRatioRenamed, Kind::kCode, "go");
  REQUIRE(c.ok());
  CHECK(c->action == Action::kBlock);
  REQUIRE(!c->spans.empty());
  CHECK(c->spans.front().source_name == "pkg/file0.go");

  // A copy of common code: no span names a common file (the protected shape may still be found).
  auto d = (*beside)->Check(common[0].second, Kind::kCode, "go");
  REQUIRE(d.ok());
  for (const Span& s : d->spans) CHECK(s.source_name == "pkg/file0.go");

  // The lists as the filter reads them: a fingerprint of the shape that the protected file holds
  // counts the fifty-nine common files beside it; one only common files hold counts nothing.
  {
    IndexOptions ro = with_common;
    ro.read_only = true;
    auto idx = Index::Open(dir / "protected", ro);
    REQUIRE(idx.ok());
    DocumentSketcher sk((*idx)->params());
    std::vector<Fingerprint> fps;
    sk.FingerprintsOf(CodeHashes("go", LoadHelper("7")), Kind::kCode, &fps);
    std::vector<uint64_t> grams;
    for (const Fingerprint& f : fps) grams.push_back(f.hash);
    std::vector<Posting> lists;
    REQUIRE((*idx)->GetGramPostings(Kind::kCode, grams, &lists).ok());
    size_t shared = 0;
    for (const Posting& p : lists) {
      CHECK(p.common == p.common_ids.size());
      if (p.ids.empty()) {
        CHECK(p.common == 0);
        continue;
      }
      CHECK(p.ids.size() == 1);
      shared += p.common == 59;
      CHECK(p.df() == p.ids.size() + p.common);
    }
    CHECK(shared > 0);
  }

  // Refused: a writable open, the protected index (or a copy of it) as its own common code, and
  // a common index built with other parameters (both values named).
  IndexOptions writable = with_common;
  auto w = Index::Open(dir / "protected", writable);
  REQUIRE(!w.ok());
  CHECK(w.status().code() == Status::Code::kInvalidArgument);
  IndexOptions itself;
  itself.common_code = dir / "protected";
  auto same = Filter::Open(dir / "protected", FilterOptions{}, itself);
  REQUIRE(!same.ok());
  CHECK(same.status().code() == Status::Code::kInvalidArgument);
  std::filesystem::copy(dir / "protected", dir / "copy", std::filesystem::copy_options::recursive);
  IndexOptions copy;
  copy.common_code = dir / "copy";
  auto copied = Filter::Open(dir / "protected", FilterOptions{}, copy);
  REQUIRE(!copied.ok());
  CHECK(copied.status().code() == Status::Code::kInvalidArgument);
  {
    IndexOptions create;
    create.create_if_missing = true;
    SketchParams other;
    other.window = 6;
    create.params = other;
    REQUIRE(Index::Open(dir / "other-params", create).ok());
  }
  IndexOptions mismatched;
  mismatched.common_code = dir / "other-params";
  auto m = Filter::Open(dir / "protected", FilterOptions{}, mismatched);
  REQUIRE(!m.ok());
  CHECK(m.status().code() == Status::Code::kIncompatible);
  CHECK_THAT(m.status().message(), Catch::Contains("common-code index") &&
                                       Catch::Contains("window: index 6, requested 8"));
}

TEST_CASE("code: a common shape that keeps one source's own names and strings is that source's code") {
  // Sixty protected Go files share one shape, each with its own names and its own message.
  TempDir dir;
  auto message = [](int i) { return "cannot open the settings file number " + std::to_string(i) + ": %s: %w"; };
  std::vector<std::pair<std::string, std::string>> files;
  for (int i = 0; i < 60; ++i) {
    files.emplace_back("pkg/file" + std::to_string(i) + ".go", "package pkg\n\n" + LoadHelper(std::to_string(i), message(i)));
  }
  WriteCodeIndex(dir / "idx", files, "go");
  auto filter = Filter::Open(dir / "idx", FilterOptions{});
  REQUIRE(filter.ok());
  REQUIRE((*filter)->options().code_rare_items == 2);
  FilterOptions off_options;
  off_options.code_rare_items = 0;
  auto off = Filter::Open(dir / "idx", off_options);
  REQUIRE(off.ok());

  // File 0's function as it is: its names (load0, path0, f0) and its message are its own.
  // (Candidates sharing as many fingerprints rank by id, so file 0 is aligned first; a copy of
  // a later file is taken by the first file's look-alike span, which accounts for its part.)
  const std::string verbatim = LoadHelper("0", message(0));
  auto v = (*filter)->Check(verbatim, Kind::kCode, "go");
  REQUIRE(v.ok());
  CHECK((v->action == Action::kRedact || v->action == Action::kBlock));
  REQUIRE(!v->spans.empty());
  CHECK(v->spans.front().source_name == "pkg/file0.go");
  // Without rare items the shape alone is common: reported, not redacted.
  auto o = (*off)->Check(verbatim, Kind::kCode, "go");
  REQUIRE(o.ok());
  REQUIRE(!o->spans.empty());
  CHECK(o->action == Action::kAnnotate);
  // Renamed, message kept: the message and the library names (os, fmt: in every file) leave one
  // rare item, under the two needed.
  auto r = (*filter)->Check(LoadHelper("Mine", message(0)), Kind::kCode, "go");
  REQUIRE(r.ok());
  CHECK(r->action == Action::kAnnotate);
  // New names and a new message: the shape only.
  auto n = (*filter)->Check(LoadHelper("Other", "no such settings file here: %s: %w"), Kind::kCode, "go");
  REQUIRE(n.ok());
  CHECK(n->action == Action::kAnnotate);
  // Two rare items of file 0 in new code that is not its shape: no span, nothing to weigh.
  auto apart = (*filter)->Check("func use() {\n\tprintln(path0, f0)\n}\n", Kind::kCode, "go");
  REQUIRE(apart.ok());
  CHECK(apart->action == Action::kAllow);
  // A string shared by every file is no rare item.
  const std::string common = "all files share this message: %s";
  std::vector<std::pair<std::string, std::string>> same_message;
  for (int i = 0; i < 60; ++i) same_message.emplace_back("m/f" + std::to_string(i) + ".go", "package m\n\n" + LoadHelper("X" + std::to_string(i), common));
  WriteCodeIndex(dir / "idx2", same_message, "go");
  FilterOptions one;
  one.code_rare_items = 1;
  const Verdict shared = CheckWith(dir / "idx2", one, LoadHelper("Y", common), "go");
  REQUIRE(!shared.spans.empty());
  CHECK(shared.action == Action::kAnnotate);
}

TEST_CASE("code: comment gaps are the words between tokens, however wrapped or delimited") {
  const Language* c = LookupLanguage("c");
  REQUIRE(c != nullptr);
  auto gaps_of = [&](const std::string& code) {
    Tokens tokens;
    REQUIRE(NewCodeTokenizer(c)->Tokenize(code, &tokens).ok());
    std::vector<CommentGap> gaps;
    CommentGaps(code, tokens, 0, code.size(), &gaps);
    return std::make_pair(tokens, gaps);
  };
  const std::string commented = "int f(int x) {\n  // Clamp the value to the range the\n  // device accepts.\n  return x;\n}\n";
  const auto [lines_tokens, lines] = gaps_of(commented);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].words == 9);
  // The gap precedes `return`.
  CHECK(commented.substr(lines_tokens[lines[0].before].begin, 6) == "return");
  const auto [block_tokens, block] =
      gaps_of("int f(int x) {\n  /* Clamp the value to the\n   * range the device accepts. */\n  return x;\n}\n");
  REQUIRE(block.size() == 1);
  CHECK(block[0].hash == lines[0].hash);
  CHECK(block[0].before == lines[0].before);
  // Other words are another comment; a short one (`// ok`) is none.
  const auto [other_tokens, other] =
      gaps_of("int f(int x) {\n  // Clamp the value to the range the\n  // driver accepts.\n  return x; // ok\n}\n");
  REQUIRE(other.size() == 1);
  CHECK(other[0].hash != lines[0].hash);
  // Strings are tokens, not gaps; the gap before the first token counts, bounded by `begin`.
  const std::string lead = "// A helper that clamps values.\nint g(void) { return \"a string long enough\"[0]; }\n";
  const auto [lead_tokens, lead_gaps] = gaps_of(lead);
  REQUIRE(lead_gaps.size() == 1);
  CHECK(lead_gaps[0].before == 0);
  std::vector<CommentGap> bounded;
  CommentGaps(lead, lead_tokens, lead.find('\n'), lead.size(), &bounded);
  CHECK(bounded.empty());
  // A byte order mark, no-break spaces and Unicode quotes and dashes separate words as ASCII
  // spaces and punctuation do; other non-ASCII letters are words.
  const auto [bom_tokens, bom] = gaps_of("\xEF\xBB\xBF" + lead);
  REQUIRE(bom.size() == 1);
  CHECK(bom[0].hash == lead_gaps[0].hash);
  const auto [nbsp_tokens, nbsp] = gaps_of(
      "int f(int x) {\n\xC2\xA0\xC2\xA0// Clamp the value to the range the\n  // \xE2\x80\x9C"
      "device\xE2\x80\x9D accepts \xE2\x80\x94\n  return x;\n}\n");
  REQUIRE(nbsp.size() == 1);
  CHECK(nbsp[0].hash == lines[0].hash);
  const auto [accent_tokens, accent] =
      gaps_of("int f(int x) {\n  // Clamp the valu\xC3\xA9 to the range the\n  // device accepts.\n  return x;\n}\n");
  REQUIRE(accent.size() == 1);
  CHECK(accent[0].hash != lines[0].hash);
  CHECK(accent[0].words == 9);
}

TEST_CASE("code: a common shape that keeps one source's comments is that source's code") {
  // Sixty protected Python files share one shape; each function's docstring is its own.
  TempDir dir;
  auto doc = [](const std::string& i) {
    return "Read the settings file number " + i + " from the disk of this machine and return its whole text unchanged to the caller.";
  };
  auto helper = [](const std::string& n, const std::string& docstring) {
    return "def load" + n + "(path" + n + ", mode" + n + "):\n    \"\"\"" + docstring + "\"\"\"\n    with open(path" + n +
           ", mode" + n + ") as f" + n + ":\n        return f" + n + ".read()\n";
  };
  std::vector<std::pair<std::string, std::string>> files;
  for (int i = 0; i < 60; ++i) files.emplace_back("pkg/file" + std::to_string(i) + ".py", helper(std::to_string(i), doc(std::to_string(i))));
  WriteCodeIndex(dir / "idx", files, "python");
  // Renamed, file 0's docstring kept but wrapped otherwise: its 21 words are two rare items.
  std::string wrapped = doc("0");
  wrapped.replace(wrapped.find(" from the disk"), 1, "\n    ");
  const std::string copy = "def fetch(src, how):\n    \"\"\"" + wrapped + "\n    \"\"\"\n    with open(src, how) as fh:\n        return fh.read()\n";
  const Verdict v = CheckWith(dir / "idx", FilterOptions{}, copy, "python");
  CHECK((v.action == Action::kRedact || v.action == Action::kBlock));
  REQUIRE(!v.spans.empty());
  CHECK(v.spans.front().source_name == "pkg/file0.py");
  // File 37's: among sixty candidates of one shape (twelve are aligned, the first ids), its
  // docstring selects it.
  const Verdict later = CheckWith(dir / "idx", FilterOptions{}, helper("Mine", doc("37")), "python");
  CHECK((later.action == Action::kRedact || later.action == Action::kBlock));
  CHECK(std::any_of(later.spans.begin(), later.spans.end(),
                    [](const Span& sp) { return sp.source_name == "pkg/file37.py" && sp.counts; }));
  // The same without rare items, or with a docstring of its own: the shape alone is common.
  FilterOptions off;
  off.code_rare_items = 0;
  CHECK(CheckWith(dir / "idx", off, copy, "python").action == Action::kAnnotate);
  const std::string reworded = helper("Mine", "Reads the file at the given path and gives back everything it holds, as one string.");
  CHECK(CheckWith(dir / "idx", FilterOptions{}, reworded, "python").action == Action::kAnnotate);
  // A comment of fewer than eight words is one item, short of the two needed.
  std::vector<std::pair<std::string, std::string>> brief;
  for (int i = 0; i < 60; ++i) brief.emplace_back("b/f" + std::to_string(i) + ".py", helper("B" + std::to_string(i), "Reads settings file number " + std::to_string(i) + " whole."));
  WriteCodeIndex(dir / "brief", brief, "python");
  CHECK(CheckWith(dir / "brief", FilterOptions{}, helper("Z", "Reads settings file number 0 whole."), "python").action ==
        Action::kAnnotate);
  // ... also when the answer repeats it: one comment, one item.
  const std::string twice =
      "def loadZ(pathZ, modeZ):\n    \"\"\"Reads settings file number 0 whole.\"\"\"\n    with open(pathZ, modeZ) as fZ:\n"
      "        # Reads settings file number 0 whole.\n        return fZ.read()\n";
  CHECK(CheckWith(dir / "brief", FilterOptions{}, twice, "python").action == Action::kAnnotate);
  // A docstring every file holds is no rare item.
  std::vector<std::pair<std::string, std::string>> same;
  for (int i = 0; i < 60; ++i) same.emplace_back("s/f" + std::to_string(i) + ".py", helper("S" + std::to_string(i), doc("all")));
  WriteCodeIndex(dir / "same", same, "python");
  CHECK(CheckWith(dir / "same", FilterOptions{}, helper("Q", doc("all")), "python").action == Action::kAnnotate);
}

// A generated wrapper: the shape of every one, its own name only (`op` is shared).
std::string Wrapper(const std::string& name, const std::string& op = "SYS_CALL") {
  return "def " + name + "(fd, buf, size):\n    ret = invoke(" + op + ", fd, buf, size)\n    if ret < 0:\n"
         "        raise OSError(-ret)\n    return ret\n\n";
}

TEST_CASE("code: a verbatim copy of one of sixty generated look-alikes is that file's code") {
  // Sixty protected files hold the same wrapper, each under its own name: the shape is common,
  // the name (one rare item) is the file's own.
  TempDir dir;
  std::vector<std::pair<std::string, std::string>> files;
  for (int i = 0; i < 60; ++i) {
    files.emplace_back("gen/sys_" + std::to_string(i) + ".py", Wrapper("sys_call_" + std::to_string(i)));
  }
  WriteCodeIndex(dir / "idx", files, "python");
  // Copied as it is: of sixty candidates tied on fingerprints, the one that holds its name is
  // among the twelve aligned (before, the first twelve ids were), and with all its names as the
  // source spells them, its one rare name is enough.
  const std::string copy = Wrapper("sys_call_37");
  const Verdict v = CheckWith(dir / "idx", FilterOptions{}, copy, "python");
  CHECK(Flagging(v.action));
  CHECK(std::any_of(v.spans.begin(), v.spans.end(),
                    [](const Span& sp) { return sp.source_name == "gen/sys_37.py" && sp.counts; }));
  // Without the rule it is a shape sixty files share: annotate.
  FilterOptions off;
  off.code_verbatim_names = 0;
  CHECK(CheckWith(dir / "idx", off, copy, "python").action == Action::kAnnotate);
  // Its name changed, nothing places it.
  CHECK(CheckWith(dir / "idx", FilterOptions{}, Wrapper("read_block"), "python").action == Action::kAnnotate);
  // One other name renamed: not a verbatim copy, and one rare item is short of two.
  std::string one_renamed = copy;
  for (size_t at; (at = one_renamed.find("buf")) != std::string::npos;) one_renamed.replace(at, 3, "data");
  CHECK(CheckWith(dir / "idx", FilterOptions{}, one_renamed, "python").action == Action::kAnnotate);
}

TEST_CASE("code: a copy of one of many wrappers of one shape in a file is found at its own lines") {
  // One generated file repeats the shape forty times, each wrapper with its own name and call
  // number: the shape's fingerprints recur too often there to anchor the alignment.
  TempDir dir;
  std::string generated;
  for (int i = 0; i < 40; ++i) generated += Wrapper("call_" + std::to_string(i), "SYS_" + std::to_string(i));
  WriteCodeIndex(dir / "idx", {{"gen/calls.py", generated}, {"gen/other.py", Wrapper("other_call")}}, "python");
  const std::string copy = Wrapper("call_27", "SYS_27");
  const Verdict v = CheckWith(dir / "idx", FilterOptions{}, copy, "python");
  CHECK(Flagging(v.action));
  REQUIRE(!v.spans.empty());
  // Wrapper 27 begins at line 27 * 6 + 1 of the file.
  const auto at27 = [](const Span& sp) {
    return sp.source_name == "gen/calls.py" && sp.source.first_line == 27 * 6 + 1 && sp.counts;
  };
  CHECK(std::any_of(v.spans.begin(), v.spans.end(), at27));
  // ... and only there in that file.
  CHECK(std::count_if(v.spans.begin(), v.spans.end(),
                      [](const Span& sp) { return sp.source_name == "gen/calls.py"; }) == 1);
}

TEST_CASE("code: with min_literal_agreement, a renamed shape with other literal values only annotates") {
  TempDir dir;
  const std::string protected_code =
      "def describe(code):\n    if code == 404:\n        return 'page not found on this server'\n"
      "    if code == 500:\n        return 'internal error while handling the request'\n"
      "    if code == 503:\n        return 'service unavailable, retry later please'\n"
      "    return 'unknown status code ' + str(code)\n";
  WriteCodeIndex(dir / "idx", {{"lib/status.py", protected_code}}, "python");
  FilterOptions fo;
  fo.min_literal_agreement = 0.5;
  auto filter = Filter::Open(dir / "idx", fo);
  REQUIRE(filter.ok());
  // Renamed, values kept: a copy.
  const std::string renamed =
      "def label(s):\n    if s == 404:\n        return 'page not found on this server'\n"
      "    if s == 500:\n        return 'internal error while handling the request'\n"
      "    if s == 503:\n        return 'service unavailable, retry later please'\n"
      "    return 'unknown status code ' + str(s)\n";
  auto copy = (*filter)->Check(renamed, Kind::kCode, "python");
  REQUIRE(copy.ok());
  CHECK((copy->action == Action::kRedact || copy->action == Action::kBlock));
  // Same shape, other values: shaped alike.
  const std::string shaped =
      "def color(n):\n    if n == 1:\n        return 'red like a ripe tomato'\n"
      "    if n == 2:\n        return 'green like fresh grass'\n"
      "    if n == 3:\n        return 'blue like the open sea'\n"
      "    return 'no color for ' + str(n)\n";
  auto alike = (*filter)->Check(shaped, Kind::kCode, "python");
  REQUIRE(alike.ok());
  REQUIRE(!alike->spans.empty());
  CHECK(alike->action == Action::kAnnotate);
  // Without the check the same shape redacts.
  FilterOptions off;
  off.min_literal_agreement = 0;
  const Verdict without = CheckWith(dir / "idx", off, shaped, "python");
  CHECK((without.action == Action::kRedact || without.action == Action::kBlock));
}

TEST_CASE("code: a renamed copy whose strings differ only annotates, and says its strings differ") {
  TempDir dir;
  const std::string zip =
      "public static IEnumerable<TResult> Zip<TFirst, TSecond, TResult>(IEnumerable<TFirst> first, "
      "IEnumerable<TSecond> second, Func<TFirst, TSecond, TResult> resultSelector)\n{\n"
      "    if (first == null) throw new ArgumentNullException(\"first\");\n"
      "    if (second == null) throw new ArgumentNullException(\"second\");\n"
      "    if (resultSelector == null) throw new ArgumentNullException(\"resultSelector\");\n"
      "    using (var e1 = first.GetEnumerator())\n    using (var e2 = second.GetEnumerator())\n    {\n"
      "        while (e1.MoveNext() && e2.MoveNext())\n"
      "            yield return resultSelector(e1.Current, e2.Current);\n    }\n}\n";
  WriteCodeIndex(dir / "idx", {{"Seq.cs", "public static class Seq\n{\n" + zip + "}\n"}}, "c_sharp");
  auto filter = Filter::Open(dir / "idx", FilterOptions{});
  REQUIRE(filter.ok());
  REQUIRE((*filter)->options().min_literal_agreement > 0);
  auto renamed = [&](const std::string& left, const std::string& right, const std::string& combine) {
    std::string out = zip;
    for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
             {"resultSelector", combine}, {"first", left}, {"second", right}, {"e1", "a"}, {"e2", "b"}, {"Zip", "Pairwise"}}) {
      for (size_t at = out.find(from); at != std::string::npos; at = out.find(from, at + to.size())) {
        out.replace(at, from.size(), to);
      }
    }
    return out;
  };
  // The parameters renamed and the strings with them: the literal check cannot tell this from
  // code shaped alike (a Stringer's or a Debug impl's strings are its names too), and says so.
  const std::string copy = renamed("left", "right", "combine");
  REQUIRE(copy.find("ArgumentNullException(\"left\")") != std::string::npos);
  auto v = (*filter)->Check(copy, Kind::kCode, "c_sharp");
  REQUIRE(v.ok());
  REQUIRE(!v->spans.empty());
  CHECK(v->spans[0].renaming == Approx(1.0));
  CHECK(v->action == Action::kAnnotate);
  CHECK(v->reason == "code resembles protected code in shape only (its strings and numbers differ)");
  // Its spans say they do not count, and count for no share of the answer.
  CHECK_FALSE(v->spans[0].counts);
  CHECK(v->score == 0);
  std::string json;
  AppendVerdictJson(*v, false, &json);
  CHECK_THAT(json, Catch::Contains("\"renaming\":1,\"counts\":false}"));
  // The names renamed and the strings kept: a copy.
  std::string kept = copy;
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"\"left\"", "\"first\""}, {"\"right\"", "\"second\""}, {"\"combine\"", "\"resultSelector\""}}) {
    kept.replace(kept.find(from), from.size(), to);
  }
  auto w = (*filter)->Check(kept, Kind::kCode, "c_sharp");
  REQUIRE(w.ok());
  CHECK((w->action == Action::kRedact || w->action == Action::kBlock));
}

TEST_CASE("code: a whole function copied counts though a dozen protected files share its shape") {
  // Twelve files share the shape: too common for a span inside a longer answer
  // (code_evidence_df 2), rare enough for an answer that is that function whole (code_whole_df).
  TempDir dir;
  WriteSharedShapeIndex(dir / "idx");
  auto whole = Filter::Open(dir / "idx", FilterOptions{});
  REQUIRE(whole.ok());
  REQUIRE((*whole)->options().code_whole_share > 0);
  FilterOptions off;
  off.code_whole_share = 0;
  auto partial = Filter::Open(dir / "idx", off);
  REQUIRE(partial.ok());
  const std::string answer = LoadHelper("Config");
  auto w = (*whole)->Check(answer, Kind::kCode, "go");
  REQUIRE(w.ok());
  REQUIRE(!w->spans.empty());
  CHECK((w->action == Action::kRedact || w->action == Action::kBlock));
  auto p = (*partial)->Check(answer, Kind::kCode, "go");
  REQUIRE(p.ok());
  REQUIRE(!p->spans.empty());
  CHECK(p->action == Action::kAnnotate);
}

TEST_CASE("code: with code_whole_blocks a function copied into new code counts as whole, an if body does not") {
  // The shape of the previous test, shared by twelve protected files, now inside new code.
  TempDir dir;
  WriteSharedShapeIndex(dir / "idx");
  const std::string before =
      "func sumSquares(values []int) int {\n\ttotal := 0\n\tfor _, v := range values {\n\t\ttotal += v * v\n\t}\n"
      "\treturn total\n}\n\n";
  const std::string after = "\nfunc greet(name string) string {\n\treturn strings.ToUpper(\"hello, \" + name)\n}\n";
  FilterOptions on;
  REQUIRE(on.code_whole_blocks);  // the default
  on.code_whole_blocks_min_tokens = 0;
  auto with = Filter::Open(dir / "idx", on);
  REQUIRE(with.ok());
  FilterOptions off;
  off.code_whole_blocks = false;
  auto without = Filter::Open(dir / "idx", off);
  REQUIRE(without.ok());
  const std::string answer = before + LoadHelper("Config") + after;
  auto w = (*with)->Check(answer, Kind::kCode, "go");
  REQUIRE(w.ok());
  REQUIRE(!w->spans.empty());
  CHECK((w->action == Action::kRedact || w->action == Action::kBlock));
  CHECK(w->spans.front().query.first_line == 9);
  CHECK(w->spans.front().query.last_line == 16);
  auto wo = (*without)->Check(answer, Kind::kCode, "go");
  REQUIRE(wo.ok());
  REQUIRE(!wo->spans.empty());
  CHECK(wo->action == Action::kAnnotate);
  // A whole-blocks span needs code_whole_blocks_min_tokens matched tokens.
  FilterOptions above = on;
  above.code_whole_blocks_min_tokens = static_cast<uint32_t>(w->spans.front().matched_tokens + 1);
  CHECK(CheckWith(dir / "idx", above, answer, "go").action == Action::kAnnotate);
  above.code_whole_blocks_min_tokens = static_cast<uint32_t>(w->spans.front().matched_tokens);
  CHECK(CheckWith(dir / "idx", above, answer, "go").action == w->action);
  // The same function as the body of an `if` in new code is not at the answer's outer level.
  const std::string nested = before + "func run(ok bool) {\n\tif ok {\n\t\t" + LoadHelper("Config") + "\t}\n}\n" + after;
  auto n = (*with)->Check(nested, Kind::kCode, "go");
  REQUIRE(n.ok());
  CHECK(n->action != Action::kRedact);
  CHECK(n->action != Action::kBlock);
}

TEST_CASE("code: with code_whole_blocks a Python function copied into new code counts as whole (indented blocks)") {
  // Twelve protected files share one function's shape; Python's blocks are indentation, so the
  // copy is whole blocks only when its dedent closes them. Its signature's continuation line
  // (aligned under the open parenthesis) neither opens nor closes a block.
  auto shape = [](const std::string& n) {
    return "def load_" + n + "(path,\n           defaults):\n    found_" + n + " = dict(defaults)\n    with open(path) as h_" + n +
           ":\n        for row_" + n + " in h_" + n + ":\n            key_" + n + ", _, val_" + n + " = row_" + n +
           ".partition(\"=\")\n            if key_" + n + ".strip():\n                found_" + n + "[key_" + n +
           ".strip()] = val_" + n + ".strip()\n    return found_" + n + "\n";
  };
  TempDir dir;
  std::vector<std::pair<std::string, std::string>> files;
  for (int i = 0; i < 12; ++i) files.emplace_back("pkg/conf" + std::to_string(i) + ".py", "import os\n\n" + shape(std::to_string(i)));
  WriteCodeIndex(dir / "idx", files, "python");
  const std::string answer = "def square_all(values):\n    return [v * v for v in values]\n\n" + shape("x") +
                             "\nprint(square_all([1, 2]))\n";
  const Verdict w = CheckWith(dir / "idx", FilterOptions{}, answer, "python");
  REQUIRE(!w.spans.empty());
  CHECK((w.action == Action::kRedact || w.action == Action::kBlock));
  CHECK(w.spans.front().query.first_line == 4);
  CHECK(w.spans.front().query.last_line == 12);
  FilterOptions off;
  off.code_whole_blocks = false;
  CHECK(CheckWith(dir / "idx", off, answer, "python").action == Action::kAnnotate);
}

TEST_CASE("code: a copied function's span reaches the end of its block though its last names occur once") {
  // New code, then the function renamed, then more new code. C closes blocks with braces; Ruby
  // with `end` (block tokens from its language table); Python with indentation.
  struct Case {
    std::string lang, name, protected_code, answer;
    uint32_t first_line, last_line, source_last_line;
  };
  const std::vector<Case> cases = {
      {"c", "src/region.c",
       "#include <stdlib.h>\n\n"
       "void release_region(void *addr, size_t length) {\n"
       "    int rc;\n"
       "    acquire_lock(addr);\n"
       "    rc = unmap_pages(addr, length);\n"
       "    release_lock(addr);\n"
       "    if (rc < 0) {\n"
       "        report_failure_and_stop();\n"
       "    }\n"
       "}\n",
       "static int total_count = 0;\n"
       "int add_one(int value) {\n"
       "    total_count += value;\n"
       "    return total_count;\n"
       "}\n"
       "void drop_area(void *p, size_t n) {\n"
       "    int r;\n"
       "    acquire_lock(p);\n"
       "    r = unmap_pages(p, n);\n"
       "    release_lock(p);\n"
       "    if (r < 0) {\n"
       "        abort_now();\n"
       "    }\n"
       "}\n"
       "int main(void) { return add_one(2) > 1 ? 0 : 1; }\n",
       6, 14, 11},
      {"ruby", "lib/region.rb",
       "require 'mmap'\n\n"
       "def release_region(addr, length)\n"
       "  acquire_lock(addr)\n"
       "  rc = unmap_pages(addr, length)\n"
       "  release_lock(addr)\n"
       "  if rc < 0\n"
       "    report_failure_and_stop\n"
       "  end\n"
       "end\n",
       "$total_count = 0\n"
       "def add_one(value)\n"
       "  $total_count += value if value > 0\n"
       "  $total_count\n"
       "end\n"
       "def drop_area(p, n)\n"
       "  acquire_lock(p)\n"
       "  r = unmap_pages(p, n)\n"
       "  release_lock(p)\n"
       "  if r < 0\n"
       "    abort_now\n"
       "  end\n"
       "end\n"
       "puts add_one(2)\n",
       6, 13, 10},
      {"python", "lib/region.py",
       "import mmap\n\n"
       "def release_region(addr, length):\n"
       "    acquire_lock(addr)\n"
       "    rc = unmap_pages(addr, length)\n"
       "    release_lock(addr)\n"
       "    if rc < 0:\n"
       "        report_failure_and_stop()\n",
       "total_count = 0\n"
       "def add_one(value):\n"
       "    global total_count\n"
       "    total_count += value\n"
       "    return total_count\n"
       "def drop_area(p, n):\n"
       "    acquire_lock(p)\n"
       "    r = unmap_pages(p, n)\n"
       "    release_lock(p)\n"
       "    if r < 0:\n"
       "        abort_now()\n"
       "print(add_one(2))\n",
       6, 11, 8},
  };
  for (const Case& c : cases) {
    INFO(c.lang);
    TempDir dir;
    const Verdict v = CheckAgainstOne(dir / "idx", c.name, c.protected_code, c.lang, c.answer);
    const Span& sp = v.spans.front();
    CHECK(sp.source_name == c.name);
    CHECK(sp.query.first_line == c.first_line);
    CHECK(sp.query.last_line == c.last_line);
    CHECK(sp.source.last_line == c.source_last_line);
  }
}

TEST_CASE("code: a whole answer copied verbatim keeps its ends though each name occurs once") {
  // Every name but one occurs once, and blank lines split the body: trimming the span's ends to
  // names seen twice left only the middle paragraph, under the span minimum, and the copy was
  // allowed. A span that pairs every token of the answer has no neighbour to trim.
  const std::string function =
      "void\n"
      "notify_init_complete(void* unused) {\n"
      "\trun_pending_preinit();\n"
      "\n"
      "\tEnterCriticalSection(&init_section);\n"
      "\tinit_complete = 1;\n"
      "\tLeaveCriticalSection(&init_section);\n"
      "\n"
      "\tif (!SetEvent(init_event)) {\n"
      "\t\tfprintf(stderr, \"runtime: failed to signal initialization complete.\\n\");\n"
      "\t\tabort();\n"
      "\t}\n"
      "}\n";
  const std::string protected_code =
      "#include <windows.h>\n\n"
      "static CRITICAL_SECTION init_section;\n"
      "static HANDLE init_event;\n"
      "static int init_complete;\n\n" +
      function +
      "\nint\nwait_for_init(DWORD timeout) {\n"
      "\treturn WaitForSingleObject(init_event, timeout) == WAIT_OBJECT_0;\n"
      "}\n";
  TempDir dir;
  const Verdict v = CheckAgainstOne(dir / "idx", "runtime/init_windows.c", protected_code, "c", function);
  CHECK((v.action == Action::kRedact || v.action == Action::kBlock));
  const Span& sp = v.spans.front();
  CheckSpanLines(sp, "runtime/init_windows.c", 1, 13, 7, 19);
  CHECK(sp.matched_tokens == v.query_tokens);
}

TEST_CASE("code: a near copy in another file ranked first does not take the copy from its own source") {
  // `lib/main2.c` is little more than a near copy of the function (one operator differs), so it
  // shares the answer's LSH bands and ranks first; `lib/main3.c` holds the function exactly,
  // among other code. The near copy's span covers the whole answer, but the exact source shares
  // every fingerprint it does and more: it is aligned too, and its span names the part.
  auto function = [](const std::string& op) {
    return "static int\n"
           "drain_queue(struct queue *q, struct sink *out, int limit)\n"
           "{\n"
           "\tint moved = 0;\n"
           "\twhile (q->head != NULL && moved < limit) {\n"
           "\t\tstruct item *it = q->head;\n"
           "\t\tq->head = it->next;\n"
           "\t\tif (sink_write(out, it->data, it->size) != 0)\n"
           "\t\t\treturn -1;\n"
           "\t\tmoved " + op + "= 1;\n"
           "\t\titem_release(it);\n"
           "\t}\n"
           "\tif (q->head == NULL)\n"
           "\t\tq->tail = NULL;\n"
           "\treturn moved;\n"
           "}\n";
  };
  // Other functions of other shapes, so that main3.c as a whole is unlike the answer (no band).
  const std::vector<std::string> ops = {"+", "-", "*", "/", "%", "<<", ">>", "&", "|", "^"};
  const std::vector<std::string> cmp = {"<", ">", "<=", ">=", "==", "!="};
  std::string main3 = "#include \"queue.h\"\n\n";
  for (size_t i = 0; i < 12; ++i) {
    main3 += "int\nmix_" + std::to_string(i) + "(int a, int b)\n{\n\tint r = a " + ops[i % 10] + " b;\n\tif (r " +
             cmp[i % 6] + " " + std::to_string(i * 3) + ")\n\t\tr = r " + ops[(3 * i + 1) % 10] +
             " a;\n\tfor (int j = 0; j < b; j++)\n\t\tr " + ops[(i + 5) % 10] + "= j;\n\treturn r;\n}\n\n";
  }
  main3 += function("+");
  const std::string main2 = "#include \"queue.h\"\n\n" + function("-");
  TempDir dir;
  WriteCodeIndex(dir / "idx", {{"lib/main2.c", main2}, {"lib/main3.c", main3}}, "c");
  const Verdict v = CheckWith(dir / "idx", FilterOptions{}, function("+"), "c");
  REQUIRE(!v.spans.empty());
  CHECK(v.action != Action::kAllow);
  CHECK(v.spans.front().source_name == "lib/main3.c");
  CHECK(v.spans.front().matched_tokens == v.query_tokens);
}

TEST_CASE("code: a copy of code the protected corpus holds twice names both sources") {
  // The same function vendored in two files (twice in the first; and a third file with one
  // operator changed): a renamed copy inside new code pairs the same answer tokens with each
  // copy, equally well, so the verdict names both files for that passage, each once, and counts
  // the passage once; the near copy is not named.
  auto function = [](const std::string& op, const std::string& q, const std::string& out) {
    return "static int\n"
           "drain_queue(struct queue *" + q + ", struct sink *" + out + ", int limit)\n"
           "{\n"
           "\tint moved = 0;\n"
           "\twhile (" + q + "->head != NULL && moved < limit) {\n"
           "\t\tstruct item *it = " + q + "->head;\n"
           "\t\t" + q + "->head = it->next;\n"
           "\t\tif (sink_write(" + out + ", it->data, it->size) != 0)\n"
           "\t\t\treturn -1;\n"
           "\t\tmoved " + op + "= 1;\n"
           "\t\titem_release(it);\n"
           "\t}\n"
           "\tif (" + q + "->head == NULL)\n"
           "\t\t" + q + "->tail = NULL;\n"
           "\treturn moved;\n"
           "}\n";
  };
  const std::string header = "#include \"queue.h\"\n\n";
  TempDir dir;
  WriteCodeIndex(dir / "idx",
                 {{"vendor/a/queue.c", header + function("+", "q", "out") + "\n" + function("+", "q", "out")},
                  {"vendor/b/queue.c", header + function("+", "q", "out")},
                  {"lib/near.c", header + function("-", "q", "out")}},
                 "c");
  const std::string answer =
      "int answer_count(const char *s)\n{\n\tint n = 0;\n\tfor (; *s; s++)\n\t\tn += *s == ',';\n\treturn n + 1;\n}\n\n" +
      function("+", "pending", "dest") +
      "\ndouble answer_mean(const double *xs, size_t len)\n{\n\tdouble total = 0.0;\n"
      "\tfor (size_t i = 0; i < len; ++i)\n\t\ttotal += xs[i];\n\treturn len ? total / (double)len : 0.0;\n}\n";
  const Verdict v = CheckWith(dir / "idx", FilterOptions{}, answer, "c");
  INFO(v.reason);
  REQUIRE(v.spans.size() == 2);
  CHECK(v.action == Action::kRedact);
  std::vector<std::string> names;
  for (const Span& s : v.spans) names.push_back(s.source_name);
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"vendor/a/queue.c", "vendor/b/queue.c"});
  CHECK(v.spans[0].query.start == v.spans[1].query.start);
  CHECK(v.spans[0].query.end == v.spans[1].query.end);
  for (const Span& s : v.spans) {
    CHECK(s.renaming == 1.0);
    CHECK(s.matched_tokens == v.spans[0].matched_tokens);
    CHECK(s.source.first_line == v.spans[0].source.first_line);  // the earlier copy in vendor/a
  }
  CHECK(v.reason == "2 source(s) reproduced in 1 passage(s)");
  // Redacted once: the two spans are one region with one marker.
  size_t markers = 0;
  for (size_t at = v.output.find("[redacted"); at != std::string::npos; at = v.output.find("[redacted", at + 1)) ++markers;
  CHECK(markers == 1);
  CHECK(v.output.find("answer_count") != std::string::npos);
  CHECK(v.output.find("item_release") == std::string::npos);
}

TEST_CASE("code: a copied function keeps its own first and last lines") {
  // Its name and parameter occur once each, and a blank line comes before its last lines: the
  // span trimmed on names lost `def lookup_binary(cmd)` and `return nil` / `end`. The pairs
  // around it pair every token on both sides out to the block that encloses it, so the span is
  // the whole function (answer lines 5-15, source lines 7-17).
  const std::string protected_code =
      "module Toolbox\n"
      "  class Locator\n"
      "    def initialize(root)\n"
      "      @root = root\n"
      "    end\n"
      "\n"
      "    def which_tool(tool)\n"
      "      suffixes = ENV[\"PATHEXT\"] ? ENV[\"PATHEXT\"].split(\";\") : [\"\"]\n"
      "      ENV[\"PATH\"].split(File::PATH_SEPARATOR).each do |folder|\n"
      "        suffixes.each do |suffix|\n"
      "          found = File.join(folder, \"#{tool}#{suffix}\")\n"
      "          return found if File.executable?(found) && !File.directory?(found)\n"
      "        end\n"
      "      end\n"
      "\n"
      "      return nil\n"
      "    end\n"
      "\n"
      "    def to_s\n"
      "      \"#<Locator #{@root}>\"\n"
      "    end\n"
      "  end\n"
      "end\n";
  const std::string answer =
      "def total_width(columns)\n"
      "  columns.map { |c| c[:width] || 0 }.sum\n"
      "end\n"
      "\n"
      "def lookup_binary(cmd)\n"
      "  exts = ENV[\"PATHEXT\"] ? ENV[\"PATHEXT\"].split(\";\") : [\"\"]\n"
      "  ENV[\"PATH\"].split(File::PATH_SEPARATOR).each do |dir|\n"
      "    exts.each do |ext|\n"
      "      path = File.join(dir, \"#{cmd}#{ext}\")\n"
      "      return path if File.executable?(path) && !File.directory?(path)\n"
      "    end\n"
      "  end\n"
      "\n"
      "  return nil\n"
      "end\n"
      "\n"
      "def banner(title)\n"
      "  line = \"=\" * title.size\n"
      "  [line, title, line].join(\"\\n\")\n"
      "end\n";
  TempDir dir;
  const Verdict v = CheckAgainstOne(dir / "idx", "lib/toolbox.rb", protected_code, "ruby", answer);
  INFO(v.reason);
  REQUIRE(v.spans.size() == 1);
  CheckSpanLines(v.spans[0], "lib/toolbox.rb", 5, 15, 7, 17);
  CHECK(v.spans[0].renaming == 1.0);
}

TEST_CASE("code: a copy does not run on into the next function where few of its tokens pair") {
  // The renamed copy of `initialize_copy` (answer lines 10-22) is followed by new code whose
  // `def`, parentheses and a few names pair, here and there, with the source's next methods.
  // Past the blank line those pairs are sparse (fewer than half the tokens they span, on one
  // side), so the span stops before them instead of running on to answer line 27.
  const std::string protected_code =
      "module Catalog\n"
      "  class Registry\n"
      "    EMPTY = [].freeze\n"
      "\n"
      "    def initialize\n"
      "      @origins = []\n"
      "      @memo = {}\n"
      "      @entries = Hash.new {|h, k| h[k] = {} }\n"
      "      @every_entry = Hash.new {|h, k| h[k] = EMPTY }\n"
      "    end\n"
      "\n"
      "    def initialize_copy(other)\n"
      "      @origins = other.origins.dup\n"
      "      @memo = {}\n"
      "      @entries = Hash.new {|h, k| h[k] = {} }\n"
      "      @every_entry = Hash.new {|h, k| h[k] = EMPTY }\n"
      "\n"
      "      other.entries.each do |key, table|\n"
      "        @entries[key] = table.dup\n"
      "      end\n"
      "      other.every_entry.each do |key, list|\n"
      "        @every_entry[key] = list.dup\n"
      "      end\n"
      "    end\n"
      "\n"
      "    def inspect\n"
      "      \"#<#{self.class} origins=#{origins.size} entries=#{entries.size}>\"\n"
      "    end\n"
      "\n"
      "    def empty?\n"
      "      each { return false }\n"
      "      true\n"
      "    end\n"
      "\n"
      "    def find_all(key)\n"
      "      found = local_find(key) + @every_entry[key]\n"
      "      @origins.each do |origin|\n"
      "        found.concat(origin.find_all(key))\n"
      "      end\n"
      "      found\n"
      "    end\n"
      "  end\n"
      "end\n";
  const std::string answer =
      "      def needs_explicit_value?(key_text, pair)\n"
      "        return true if !pair.key.sym_type? || needs_value_around_literal?(pair)\n"
      "\n"
      "        value_node = pair.value\n"
      "        return true unless value_node.send_type? || value_node.lvar_type?\n"
      "\n"
      "        key_text != value_node.source || key_text.end_with?('!', '?')\n"
      "      end\n"
      "\n"
      "    def n0(n1)\n"
      "      n2 = n1.n3.n4\n"
      "      n5 = {}\n"
      "      n6 = n7.n8 {|n9, n10| n9[n10] = {} }\n"
      "      n11 = n7.n8 {|n9, n10| n9[n10] = n12 }\n"
      "\n"
      "      n1.n13.n14 do |n15, n16|\n"
      "        n6[n15] = n16.n4\n"
      "      end\n"
      "      n1.n17.n14 do |n15, n18|\n"
      "        n11[n15] = n18.n4\n"
      "      end\n"
      "    end\n"
      "\n"
      "    def constants_under(dir, roots = search_roots)\n"
      "      dir = dir.chomp(\".rb\")\n"
      "      full_dir = File.expand_path(dir)\n"
      "      found = []\n"
      "\n"
      "      roots.each do |top|\n"
      "        full_top = File.expand_path(top)\n"
      "        next unless full_dir.start_with?(full_top)\n"
      "\n"
      "        top_size = full_top.size\n"
      "        next if full_dir[top_size] != ?/\n"
      "\n"
      "        rest = full_dir[(top_size + 1)..-1]\n"
      "        found << rest.capitalize unless rest.empty?\n"
      "      end\n"
      "\n"
      "      found.uniq!\n"
      "      found\n"
      "    end\n";
  TempDir dir;
  const Verdict v = CheckAgainstOne(dir / "idx", "lib/registry.rb", protected_code, "ruby", answer);
  INFO(v.reason);
  REQUIRE(v.spans.size() == 1);
  const Span& sp = v.spans[0];
  CHECK(sp.source_name == "lib/registry.rb");
  CHECK(sp.query.first_line == 10);
  CHECK(sp.source.first_line == 12);
  // Up to the copy's `end` (line 22, source line 24), or at most the next function's `def` line
  // paired with the source's next `def` (line 26): that pair is adjacent to the copy on both sides.
  CHECK(sp.query.last_line >= 22);
  CHECK(sp.query.last_line <= 24);
  CHECK(sp.source.last_line >= 24);
  CHECK(sp.source.last_line <= 26);
  CHECK(sp.renaming == 1.0);
}

TEST_CASE("code: a copy of one of many repetitions is anchored where its literals recur") {
  // Twenty test functions of one shape with other values: every fingerprint of the answer occurs
  // twenty times in the file. Anchored at the first occurrences only, the copy of the fifteenth
  // was aligned against the first ones, whose strings differ, and judged a look-alike.
  auto test_function = [](int i) {
    const std::string n = std::to_string(i);
    return "def test_escape_" + n + "():\n"
           "    assert parse(\"\\\\" + n + "a\") == Failure(kind=\"escape-" + n + "\", span=(0, " + n + "))\n"
           "    assert parse(\"\\\\" + n + "b\") == Failure(kind=\"escape-" + n + "\", span=(1, " + n + "))\n"
           "    assert parse(\"\\\\" + n + "c\") == Failure(kind=\"escape-" + n + "\", span=(2, " + n + "))\n\n\n";
  };
  std::string file = "from parser import parse, Failure\n\n\n";
  for (int i = 0; i < 20; ++i) file += test_function(i);
  const std::string answer = test_function(15);
  TempDir dir;
  const Verdict v = CheckAgainstOne(dir / "idx", "tests/test_escapes.py", file, "python", answer);
  CHECK((v.action == Action::kRedact || v.action == Action::kBlock));
  const Span& sp = v.spans.front();
  CHECK(sp.source_name == "tests/test_escapes.py");
  CHECK(sp.source.first_line == 4 + 6 * 15);
  CHECK(sp.renaming == 1.0);
}

TEST_CASE("code: a window copied from a data table is found through its strings") {
  // Three resource bundles of one shape: rows of a key and a translation. Every fingerprint of
  // a window of rows is in all three (boilerplate at max_document_frequency 2) and every
  // abstracted k-gram recurs on every row, so neither selects nor seeds anything; the copied
  // window's strings are in one bundle only.
  auto bundle = [](const std::string& lang, const std::string& word) {
    std::string file = "package data.names;\n\npublic class Names_" + lang +
                       " extends ListResourceBundle {\n  protected final Object[][] getContents() {\n"
                       "    return new Object[][] {\n";
    for (int i = 0; i < 120; ++i) {
      const std::string n = std::to_string(i);
      file += "      { \"zone." + n + ".long\", \"" + word + " time of zone " + n + " (" + lang + ")\" },\n";
    }
    return file + "    };\n  }\n}\n";
  };
  const std::string lt = bundle("lt", "laikas"), fi = bundle("fi", "aika"), de = bundle("de", "Zeit");
  // Rows 40 to 99 of a bundle (file lines 46 to 105).
  auto window = [](const std::string& file) {
    std::istringstream in(file);
    std::string line, out;
    for (int n = 1; std::getline(in, line); ++n) {
      if (n >= 46 && n <= 105) out += line + "\n";
    }
    return out;
  };
  const std::string answer = window(lt);
  TempDir dir;
  WriteCodeIndex(dir / "idx", {{"names/Names_lt.java", lt}, {"names/Names_fi.java", fi}, {"names/Names_de.java", de}},
                 "java");
  FilterOptions o;
  o.max_document_frequency = 2;
  const Verdict v = CheckWith(dir / "idx", o, answer, "java");
  INFO(v.reason);
  CHECK((v.action == Action::kRedact || v.action == Action::kBlock));
  REQUIRE(!v.spans.empty());
  const Span& sp = v.spans.front();
  CHECK(sp.source_name == "names/Names_lt.java");
  CHECK(sp.source.first_line >= 46);
  CHECK(sp.source.first_line <= 47);
  CHECK(sp.source.last_line >= 104);
  CHECK(sp.source.last_line <= 105);
  // Another bundle's window (other strings, the same shape) is that bundle's copy.
  const Verdict w = CheckWith(dir / "idx", o, window(fi), "java");
  CHECK((w.action == Action::kRedact || w.action == Action::kBlock));
  REQUIRE(!w.spans.empty());
  CHECK(w.spans.front().source_name == "names/Names_fi.java");
  // A bundle that is not indexed shares the keys and the shape, not a copied row.
  const Verdict fresh = CheckWith(dir / "idx", o, window(bundle("pl", "czas")), "java");
  INFO(fresh.reason);
  CHECK(fresh.action == Action::kAllow);
  CHECK(fresh.spans.empty());
  // code_rare_items 0 turns the spelling candidates off with the rare items.
  FilterOptions off = o;
  off.code_rare_items = 0;
  CHECK(CheckWith(dir / "idx", off, answer, "java").spans.empty());
}

TEST_CASE("code: a table-like answer whose rows keep the source's strings but not its numbers only annotates") {
  // Rows of a key and two numbers. Aligned on literal values, the answer's rows pair on their
  // equal keys and punctuation; the numbers between are gaps on one diagonal, and they count in
  // the literal check (two of each row's three literals differ), as they would in a copy
  // aligned on abstracted tokens.
  auto table = [](const std::string& prefix, int base) {
    std::string file = "package data;\n\nfinal class Limits_" + prefix + " {\n  static final Object[][] ROWS = {\n";
    for (int i = 0; i < 120; ++i) {
      const std::string n = std::to_string(i);
      file += "    { \"" + prefix + ".setting.number." + n + "\", Kind.LIMIT, Mode.HARD, " +
              std::to_string(base + i) + ", " + std::to_string(2 * base + i) + " },\n";
    }
    return file + "  };\n}\n";
  };
  TempDir dir;
  WriteCodeIndex(dir / "idx",
                 {{"limits/Limits_alpha.java", table("alpha", 100)},
                  {"limits/Limits_beta.java", table("beta", 100)},
                  {"limits/Limits_gamma.java", table("gamma", 100)}},
                 "java");
  FilterOptions o;
  o.max_document_frequency = 2;
  // Alpha's rows 30 to 89, with its keys and other numbers.
  std::string answer;
  for (int i = 30; i < 90; ++i) {
    answer += "    { \"alpha.setting.number." + std::to_string(i) + "\", Kind.LIMIT, Mode.HARD, " +
              std::to_string(700 + i) + ", " + std::to_string(1400 + i) + " },\n";
  }
  const Verdict v = CheckWith(dir / "idx", o, answer, "java");
  INFO(v.reason);
  REQUIRE(!v.spans.empty());
  CHECK(v.spans.front().source_name == "limits/Limits_alpha.java");
  CHECK(v.action == Action::kAnnotate);
}

TEST_CASE("code: the whole-block and short-span settings are policy keys with checked ranges") {
  FilterOptions o;
  REQUIRE(ApplyPolicyJson(R"({"code_whole_share": 0.9, "code_whole_df": 64, "min_renaming_short": 1,
                              "short_span_tokens": 50, "code_whole_min_tokens": 14, "code_rare_items": 3,
                              "code_name_df": 4, "code_literal_bytes": 20, "code_verbatim_names": 5,
                              "code_whole_blocks": false, "code_whole_blocks_min_tokens": 28,
                              "prose_in_code": false, "bare_code": false, "json_strings": false, "diff_code": false})",
                          "policy.json", &o)
              .ok());
  CHECK_FALSE(o.code_whole_blocks);
  CHECK_FALSE(o.prose_in_code);
  CHECK_FALSE(o.bare_code);
  CHECK_FALSE(o.json_strings);
  CHECK_FALSE(o.diff_code);
  CHECK(o.code_whole_share == Approx(0.9));
  CHECK(o.code_whole_df == 64);
  CHECK(o.min_renaming_short == Approx(1.0));
  CHECK(o.short_span_tokens == 50);
  CHECK(o.code_whole_min_tokens == 14);
  CHECK(o.code_whole_blocks_min_tokens == 28);
  CHECK(o.code_rare_items == 3);
  CHECK(o.code_name_df == 4);
  CHECK(o.code_literal_bytes == 20);
  CHECK(o.code_verbatim_names == 5);
  CHECK(!ApplyPolicyJson(R"({"code_whole_blocks_min_tokens": -1})", "policy.json", &o).ok());
  const Status bad = ApplyPolicyJson(R"({"code_whole_share": 1.5})", "policy.json", &o);
  CHECK(!bad.ok());
  CHECK(bad.message().find("code_whole_share") != std::string::npos);
  CHECK(!ApplyPolicyJson(R"({"min_renaming_short": "high"})", "policy.json", &o).ok());
  const Status not_bool = ApplyPolicyJson(R"({"code_whole_blocks": 1})", "policy.json", &o);
  CHECK(!not_bool.ok());
  CHECK(not_bool.message().find("code_whole_blocks") != std::string::npos);
  CHECK(!ApplyPolicyJson(R"({"prose_in_code": "yes"})", "policy.json", &o).ok());
}

// A whole Go function shorter than the code span minimum, and the same renamed.
const std::string kScaleDown = "func scaleDown(value int, divisor int) int {\n\treturn value / divisor + 1\n}\n";
const std::string kScaleDownRenamed = "func shrink(x int, d int) int {\n\treturn x / d + 1\n}\n";

TEST_CASE("code: with code_whole_min_tokens, a whole function under the span minimum is caught when it keeps rare names") {
  TempDir dir;
  // Another protected document holds the same shape, so the shape alone is not rare.
  const std::string same_shape = "func halveUp(count int, parts int) int {\n\treturn count / parts + 1\n}\n";
  WriteCodeIndex(dir / "idx", {{"pkg/scale.go", kScaleDown}, {"pkg/halve.go", same_shape}}, "go");
  FilterOptions fo;
  REQUIRE(fo.code_whole_min_tokens == 12);
  FilterOptions never;
  never.code_whole_min_tokens = 0;
  CHECK(CheckWith(dir / "idx", never, kScaleDown, "go").action == Action::kAllow);
  // Verbatim: its names are used by one protected document (rare items).
  const Verdict s = CheckWith(dir / "idx", fo, kScaleDown, "go");
  REQUIRE(!s.spans.empty());
  CHECK(s.spans.front().source_name == "pkg/scale.go");
  CHECK((s.action == Action::kRedact || s.action == Action::kBlock));
  // Renamed, a short block two documents share is a shape only: reported, not redacted ...
  const Verdict r = CheckWith(dir / "idx", fo, kScaleDownRenamed, "go");
  REQUIRE(!r.spans.empty());
  CHECK(r.action == Action::kAnnotate);
  CHECK(r.spans.front().renaming == Approx(1.0));  // consistent, so the reason is not the names
  CHECK(r.reason == "code resembles protected code only in short passages or in shapes other protected files share");
  // ... unless rare items are off, as before they existed.
  fo.code_rare_items = 0;
  const Verdict any = CheckWith(dir / "idx", fo, kScaleDownRenamed, "go");
  CHECK((any.action == Action::kRedact || any.action == Action::kBlock));
}

TEST_CASE("code: a long rare string counts as a rare item for every 48 bytes in a renamed short function") {
  TempDir dir;
  // Three protected functions of one shape under the span minimum (17 tokens), so neither the
  // shape nor its joint rarity makes a renamed copy a copy; only the kept string can.
  const std::string long_message =
      "func refuseBody(size int) error {\n\treturn fmt.Errorf(\"request body of %d bytes is over the limit this "
      "server was configured with, so the request is refused\", size)\n}\n";
  const std::string short_message = "func refuseHeader(size int) error {\n\treturn fmt.Errorf(\"header too large: %d\", size)\n}\n";
  const std::string same_shape = "func wrapCode(code int) error {\n\treturn errors.New(\"x\", code)\n}\n";
  std::vector<std::pair<std::string, std::string>> files = {
      {"pkg/body.go", long_message}, {"pkg/header.go", short_message}, {"pkg/wrap.go", same_shape}};
  // Go's `int` and `error` are in most Go files, as they are here: not rare names.
  for (int i = 0; i < 9; ++i) {
    files.push_back({"pkg/other" + std::to_string(i) + ".go",
                     "func check" + std::to_string(i) + "(v int) error {\n\tif v > " + std::to_string(i) +
                         " {\n\t\treturn nil\n\t}\n\treturn nil\n}\n"});
  }
  WriteCodeIndex(dir / "idx", files, "go");
  // Renamed copies: every name the user's own; the string kept, as a copy keeps it.
  const std::string long_renamed =
      "func deny(n int) error {\n\treturn errs.Newf(\"request body of %d bytes is over the limit this "
      "server was configured with, so the request is refused\", n)\n}\n";
  const std::string short_renamed = "func deny(n int) error {\n\treturn errs.Newf(\"header too large: %d\", n)\n}\n";
  const FilterOptions fo;
  REQUIRE(fo.code_rare_items == 2);
  // 103 bytes: two items, so the copy is its source's code.
  const Verdict l = CheckWith(dir / "idx", fo, long_renamed, "go");
  REQUIRE(!l.spans.empty());
  CHECK(l.spans.front().source_name == "pkg/body.go");
  CHECK((l.action == Action::kRedact || l.action == Action::kBlock));
  // 22 bytes: one item, and a shape three protected files share is only reported.
  const Verdict s = CheckWith(dir / "idx", fo, short_renamed, "go");
  CHECK(!s.spans.empty());
  CHECK(s.action == Action::kAnnotate);
  // With three items needed, the long string alone does not do either.
  FilterOptions three = fo;
  three.code_rare_items = 3;
  CHECK(CheckWith(dir / "idx", three, long_renamed, "go").action == Action::kAnnotate);
}

TEST_CASE("code: a short function's long rare string selects its source where winnowing keeps no shared fingerprint") {
  TempDir dir;
  // A 15-token method between two others: winnowing promises a shared fingerprint only for 17
  // tokens (window + k - 1), and the source's windows around this one pick its neighbours'.
  const std::string source =
      "class Server\n"
      "  def before(a)\n    b = [a, 2]\n    nil\n  end\n\n"
      "  def refuse_body(size) # :nodoc:\n    if size > limit\n"
      "      alert_error \"request body is over the limit this server was configured with, so the request is refused here\"\n"
      "      terminate 1\n    end\n  end\n\n"
      "  def after(a)\n    run(a)\n  end\nend\n";
  WriteCodeIndex(dir / "idx", {{"lib/server.rb", source}}, "ruby");
  const std::string renamed =
      "def deny(n)\n  if n > cap\n"
      "    warn_user \"request body is over the limit this server was configured with, so the request is refused here\"\n"
      "    quit 1\n  end\nend\n";
  const FilterOptions fo;
  const Verdict v = CheckWith(dir / "idx", fo, renamed, "ruby");
  REQUIRE(!v.spans.empty());
  CHECK(v.spans.front().source_name == "lib/server.rb");
  CHECK(v.spans.front().renaming == Approx(1.0));
  CHECK((v.action == Action::kRedact || v.action == Action::kBlock));
  // The string is what selects it: one too short to be a rare item selects nothing, and the
  // copy's fingerprint alone finds no protected document.
  FilterOptions longer = fo;
  longer.code_literal_bytes = 200;
  const Verdict none = CheckWith(dir / "idx", longer, renamed, "ruby");
  CHECK(none.spans.empty());
  CHECK(none.action == Action::kAllow);
}

TEST_CASE("code: a repetitive block copied verbatim is aligned on its names and a renamed one is not caught by its shape alone") {
  TempDir dir;
  // Twenty rows of one shape: every seed of the answer recurs in it and in its source, so the
  // shape alone seeds nothing; the rows differ only by their names.
  const std::vector<std::string> flags = {"also_run_disabled", "break_on_failure", "catch_exceptions", "color_output",
                                          "death_test_style", "fail_fast", "filter_pattern", "list_tests",
                                          "output_format", "brief_mode", "print_time", "print_utf8",
                                          "random_seed", "repeat_count", "recreate_environments", "shuffle_order",
                                          "stack_trace_depth", "stream_result_to", "throw_on_failure", "fail_if_none"};
  std::string rows, renamed_rows;
  for (size_t i = 0; i < flags.size(); ++i) {
    rows += "  PARSE_FLAG(" + flags[i] + ");\n";
    renamed_rows += "    READ_OPTION(option_" + std::to_string(i) + ");\n";
  }
  const std::string source = "static bool ParseTestFlag(const char* arg) {\n" + rows + "  return false;\n}\n";
  WriteCodeIndex(dir / "idx", {{"src/flags.cc", source}}, "cpp");
  // Reindented, as a formatter leaves it.
  std::string reindented;
  for (const std::string& f : flags) reindented += "    PARSE_FLAG(" + f + ");\n";
  const Verdict v = CheckWith(dir / "idx", FilterOptions{}, reindented, "cpp");
  REQUIRE(!v.spans.empty());
  CHECK(v.spans.front().source_name == "src/flags.cc");
  CHECK(v.spans.front().matched_tokens >= 4 * flags.size());
  CHECK((v.action == Action::kRedact || v.action == Action::kBlock));
  // Every name renamed: the rows keep nothing of their source but a shape.
  const Verdict r = CheckWith(dir / "idx", FilterOptions{}, renamed_rows, "cpp");
  CHECK(r.action != Action::kRedact);
  CHECK(r.action != Action::kBlock);
}

namespace {

// Checks the renamed Go `answer` against the index in `dir`: redacted or blocked as a renaming
// of `source` with joint rarity (the default, 1), only reported without it.
void CheckCaughtByJointRarity(const std::string& dir, const std::string& answer, const std::string& source) {
  FilterOptions fo;
  REQUIRE(fo.code_whole_joint_df == 1);
  const Verdict v = CheckWith(dir, fo, answer, "go");
  REQUIRE(!v.spans.empty());
  CHECK(v.spans.front().source_name == source);
  CHECK(v.spans.front().renaming == Approx(1.0));
  CHECK((v.action == Action::kRedact || v.action == Action::kBlock));
  fo.code_whole_joint_df = 0;
  const Verdict off = CheckWith(dir, fo, answer, "go");
  REQUIRE(!off.spans.empty());
  CHECK(off.spans.front().source_name == source);
  CHECK(off.action == Action::kAnnotate);
}

}  // namespace

TEST_CASE("code: a renamed whole function whose shape only its source holds is caught under the span minimum") {
  TempDir dir;
  const std::string other = "func joinAll(parts []string, sep string) string {\n\treturn strings.Join(parts, sep)\n}\n";
  WriteCodeIndex(dir / "idx", {{"pkg/scale.go", kScaleDown}, {"pkg/join.go", other}}, "go");
  // Without the joint rule the renamed copy keeps no rare name and is only reported.
  CheckCaughtByJointRarity(dir / "idx", kScaleDownRenamed, "pkg/scale.go");
  // The policy key and its range.
  FilterOptions p;
  REQUIRE(ApplyPolicyJson(R"({"code_whole_joint_df": 3})", "policy.json", &p).ok());
  CHECK(p.code_whole_joint_df == 3);
  const Status bad = ApplyPolicyJson(R"({"code_whole_joint_df": -1})", "policy.json", &p);
  CHECK(!bad.ok());
  CHECK(bad.message().find("code_whole_joint_df") != std::string::npos);
}

TEST_CASE("code: a renamed whole function whose every piece is common but whose combination only its source holds is caught") {
  TempDir dir;
  // The source's first lines recur in 60 protected functions and its last lines in 60 others,
  // overlapping in the middle: each of its fingerprints is held by 61 documents or more, so its
  // tokens weigh 16/61 each and the renamed copy falls short of the evidence a span needs. No
  // other document holds both halves.
  const std::string source =
      "func clampScale(value int, low int, high int, factor int) int {\n\tif value < low {\n\t\tvalue = low\n\t}\n"
      "\tif value > high {\n\t\tvalue = high\n\t}\n\tscaled := value * factor\n\tscaled = scaled / high\n"
      "\treturn scaled + low\n}\n";
  const std::string renamed =
      "func bound(x int, lo int, hi int, k int) int {\n\tif x < lo {\n\t\tx = lo\n\t}\n"
      "\tif x > hi {\n\t\tx = hi\n\t}\n\ty := x * k\n\ty = y / hi\n\treturn y + lo\n}\n";
  std::vector<std::pair<std::string, std::string>> files = {{"pkg/clamp.go", source}};
  for (int i = 0; i < 60; ++i) {
    const std::string n = std::to_string(i), a = "a" + n;
    files.emplace_back("pkg/head" + n + ".go", "func head" + n + "(" + a + " int, b int, c int, d int) int {\n\tif " + a +
                                                   " < b {\n\t\t" + a + " = b\n\t}\n\tif " + a + " > c {\n\t\t" + a +
                                                   " = c\n\t}\n\treturn d\n}\n");
    files.emplace_back("pkg/tail" + n + ".go", "func tail" + n + "(" + a + " int, b int) int {\n\tfor " + a +
                                                   " < b {\n\t\t" + a + " = b\n\t}\n\tif " + a + " > b {\n\t\t" + a +
                                                   " = b\n\t}\n\tc := " + a + " * b\n\tc = c / b\n\treturn c + b\n}\n");
  }
  WriteCodeIndex(dir / "idx", files, "go");
  // Weighed piece by piece, the same copy is only reported.
  CheckCaughtByJointRarity(dir / "idx", renamed, "pkg/clamp.go");
}

TEST_CASE("code: an import block that protected files share is not redacted on its own") {
  // Twelve protected modules open with the same imports; an answer opens with them too, then
  // goes on with code of its own.
  TempDir dir;
  const std::string imports =
      "import os\nimport sys\nimport json\nimport logging\nfrom typing import Any, Dict, List, Optional\n"
      "from collections import defaultdict, OrderedDict\nfrom pathlib import Path\n\n";
  std::vector<std::pair<std::string, std::string>> files;
  for (int i = 0; i < 12; ++i) {
    const std::string n = std::to_string(i);
    files.emplace_back("pkg/mod" + n + ".py", imports + "def handler" + n + "(event" + n + "):\n    return event" + n +
                                                  ".get('k" + n + "', " + n + ")\n");
  }
  WriteCodeIndex(dir / "idx", files, "python");
  const std::string answer = imports +
                             "def tally(words):\n    counts = defaultdict(int)\n    for w in words:\n"
                             "        counts[w.lower()] += 1\n    return sorted(counts.items(), key=lambda kv: -kv[1])\n";
  const Verdict v = CheckWith(dir / "idx", FilterOptions{}, answer, "python");
  CHECK(v.action != Action::kRedact);
  CHECK(v.action != Action::kBlock);
  // Their fingerprints' document frequency is what spares them: weighed without it, the
  // imports alone reach the evidence a span needs.
  FilterOptions unweighted;
  unweighted.code_evidence_df = 0;
  const Verdict w = CheckWith(dir / "idx", unweighted, answer, "python");
  CHECK((w.action == Action::kRedact || w.action == Action::kBlock));
  // The same imports in one protected file only are that file's own lines: reported.
  TempDir one;
  WriteCodeIndex(one / "idx", {files[0]}, "python");
  const Verdict alone = CheckWith(one / "idx", FilterOptions{}, answer, "python");
  REQUIRE(!alone.spans.empty());
  CHECK(alone.spans.front().source_name == "pkg/mod0.py");
}

TEST_CASE("code: each language's import statements mark their tokens") {
  // Two import statements, then code: every token of lines 1 and 2 is marked, each line with
  // its own statement, and no token of line 3 is. The same from the parse and from the
  // first-pass lexer.
  auto tokenizer = [](const std::string& lang, bool lexed) {
    return lexed ? NewCodeLexer(LanguageByName(lang)) : NewCodeTokenizer(LanguageByName(lang));
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"python", "import os\nfrom a.b import c, d\nx = 1\n"},
      {"javascript", "import { a, b } from './m';\nimport c from 'd';\nconst x = 1;\n"},
      {"typescript", "import { a, b } from './m';\nimport c from 'd';\nconst x: number = 1;\n"},
      {"tsx", "import { a, b } from './m';\nimport c from 'd';\nconst x = <div />;\n"},
      {"java", "package p.q;\nimport java.util.List;\nclass A { int x = 1; }\n"},
      {"c", "#include <stdio.h>\n#include \"m.h\"\nint x = 1;\n"},
      {"cpp", "#include <vector>\nusing std::vector;\nint x = 1;\n"},
      {"go", "package main\nimport \"fmt\"\nvar x = 1\n"},
      {"rust", "#[cfg(test)]\nextern crate core;\nstatic X: i32 = 1;\n"},  // attributes too
      {"c_sharp", "using System;\nusing System.IO;\nclass A { int x = 1; }\n"},
  };
  for (const bool lexed : {false, true}) for (const auto& [lang, code] : cases) {
    INFO(lang << (lexed ? " lexed" : " parsed"));
    Tokens t;
    REQUIRE(tokenizer(lang, lexed)->Tokenize(code, &t).ok());
    std::set<uint32_t> by_line[4];
    for (const Token& tok : t) {
      REQUIRE(tok.line <= 3);
      by_line[tok.line].insert(tok.import);
    }
    CHECK(by_line[1].size() == 1);
    CHECK(by_line[2].size() == 1);
    CHECK(by_line[1].count(0) == 0);
    CHECK(by_line[2].count(0) == 0);
    CHECK(by_line[1] != by_line[2]);
    CHECK(by_line[3] == std::set<uint32_t>{0});
  }
  // A statement over several lines is one statement.
  const std::vector<std::pair<std::string, std::string>> multi = {
      {"go", "import (\n\t\"fmt\"\n\t\"os\"\n)\nvar x = 1\n"},
      {"python", "from a.b import (\n    c,\n    d,\n)\nx = 1\n"},
      {"rust", "use std::{\n    fmt,\n    io,\n};\nstatic X: i32 = 1;\n"},
  };
  for (const bool lexed : {false, true}) for (const auto& [lang, code] : multi) {
    INFO(lang << (lexed ? " lexed" : " parsed"));
    Tokens t;
    REQUIRE(tokenizer(lang, lexed)->Tokenize(code, &t).ok());
    std::set<uint32_t> head, tail;
    for (const Token& tok : t) (tok.line <= 4 ? head : tail).insert(tok.import);
    CHECK(head.size() == 1);
    CHECK(head.count(0) == 0);
    CHECK(tail == std::set<uint32_t>{0});
  }
}

TEST_CASE("code: the first-pass lexer marks the import statements the parse marks and no other code") {
  // Words that begin imports elsewhere, statements that begin after another on their line or
  // run over lines, and a macro's token tree (which the parse does not read as statements).
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"javascript", "const m = { import: a, b: 1 };\nimport('./x').then(f);\nconst u = import.meta.url;\n"
                     "import {\n  a,\n  b,\n} from './m'\nf(a)\n"},
      {"typescript", "import type { T } from './t';\nconst c = { import: 1 };\nimport x = require('y');\n"},
      {"c_sharp", "using System;\nnamespace N {\n  using X = System.IO;\n  class A {\n    void F() {\n"
                  "      using (var r = Open()) { }\n      using var s = Open();\n    }\n  }\n}\n"},
      {"cpp", "#include <vector>\nusing T = int;\nusing a::b,\n    c::d;\nusing namespace std;\nint x = 1;\n"},
      {"rust", "#[cfg(x)] use a::b;\npub use c::d;\npub(crate) use e::f;\nm! {\n    use g::h;\n}\n"
               "macro_rules! n {\n    () => { #[cold] fn z() {} };\n}\n#[inline] fn y() { use i::j; }\n"},
      {"python", "import os, sys\nfrom . import a\ndef f():\n    from x import y\n    yield from y\n"},
      {"go", "package main\n\nimport (\n\t\"fmt\"\n)\n\nfunc f() { fmt.Println() }\n"},
  };
  for (const auto& [lang, code] : cases) {
    INFO(lang);
    Tokens parsed, lexed;
    REQUIRE(NewCodeTokenizer(LanguageByName(lang))->Tokenize(code, &parsed).ok());
    REQUIRE(NewCodeLexer(LanguageByName(lang))->Tokenize(code, &lexed).ok());
    // Statements by the offsets of their tokens.
    auto statements = [](const Tokens& t) {
      std::map<uint32_t, std::vector<uint32_t>> by_id;
      for (const Token& k : t) {
        if (k.import != 0) by_id[k.import].push_back(k.begin);
      }
      std::set<std::vector<uint32_t>> out;
      for (auto& [id, begins] : by_id) out.insert(begins);
      return out;
    };
    CHECK(!statements(parsed).empty());
    CHECK(statements(lexed) == statements(parsed));
  }
}

TEST_CASE("code: imports of other modules than the source's are no evidence of a copy") {
  // The answer's imports have the shape of the protected file's, statement for statement, and
  // name other modules; the protected file's own imports are its lines.
  const std::string body =
      "\nfn checksum(data: &[u8]) -> u32 {\n    let mut acc: u32 = 7;\n    for byte in data {\n"
      "        acc = acc.wrapping_mul(31).wrapping_add(u32::from(*byte));\n    }\n    acc\n}\n";
  const std::string source =
      "use std::collections::HashMap;\nuse std::fmt::Display;\nuse std::iter::FusedIterator;\n"
      "use std::ops::{Index, Range};\nuse std::str::FromStr;\nuse std::sync::Arc;\n#[cfg(feature = \"perf-literal\")]\n"
      "use regex::bytes::Regex;\n" +
      body;
  const std::string others =
      "use std::cell::UnsafeCell;\nuse std::error::Error;\nuse std::io::BufReader;\n"
      "use std::ops::{Deref, DerefMut};\nuse std::path::PathBuf;\nuse std::sync::Mutex;\n#[cfg(feature = \"net\")]\n"
      "use tokio::net::TcpStream;\n";
  const std::string novel =
      "\nfn spawn_all(jobs: Vec<Job>) -> usize {\n    let started = jobs.len();\n"
      "    jobs.into_iter().for_each(|j| j.start());\n    started\n}\n";
  TempDir dir;
  WriteCodeIndex(dir / "idx", {{"regex/src/exec.rs", source}}, "rust");
  const Verdict v = CheckWith(dir / "idx", FilterOptions{}, others + novel, "rust");
  CHECK(v.action == Action::kAllow);
  CHECK(v.spans.empty());
  // The same statements with the source's names are its lines (the aligner finds them).
  const size_t own_end = source.find("\nfn ");
  const Verdict own = CheckWith(dir / "idx", FilterOptions{}, source.substr(0, own_end + 1) + novel, "rust");
  REQUIRE(!own.spans.empty());
  CHECK(own.spans.front().source_name == "regex/src/exec.rs");
  CHECK(own.spans.front().query.first_line == 1);
  // A copied function after other imports is caught, and its span starts at the function:
  // the answer's own imports are neither reported nor redacted.
  const Verdict copy = CheckWith(dir / "idx", FilterOptions{}, others + body, "rust");
  CHECK(copy.action == Action::kRedact);
  REQUIRE(copy.spans.size() == 1);
  CHECK(copy.spans.front().source_name == "regex/src/exec.rs");
  CHECK(copy.spans.front().query.first_line == 10);
  CHECK(copy.spans.front().source.first_line == 10);
  CHECK(copy.output.find("use tokio::net::TcpStream;") != std::string::npos);
}

TEST_CASE("code: a span does not run on from a copy across a blank line into new code of the source's next shape") {
  // Each name of the copied function occurs once, so no repeated name marks where the copy
  // ends; the answer's next function has the shape of the source's next one, and its names
  // are the copy's names again, paired with other source names.
  TempDir dir;
  const std::string source =
      "package srv\n\nfunc setup() {\n\tinitLogging(logLevel)\n\tloadPlugins(pluginDir, registry)\n"
      "\tstartServer(listenAddr, handler)\n\twaitForSignal(shutdownTimeout)\n}\n\n"
      "func teardown() {\n\tstopServer(grace)\n}\n";
  const std::string answer =
      "func boot() {\n\tlogInit(level)\n\tplugins(dir, reg)\n\tserve(addr, h)\n\tawait(timeout)\n}\n\n"
      "func boot2() {\n\tlogInit(level)\n}\n";
  const Verdict v = CheckAgainstOne(dir / "idx", "srv/setup.go", source, "go", answer);
  const Span& sp = v.spans.front();
  CheckSpanLines(sp, "srv/setup.go", 1, 6, 3, 8);
  CHECK(sp.renaming == Approx(1.0));
}

TEST_CASE("code: a span does not run from chance alignments in new code across a blank line into a copy") {
  // The new method's `self.x = self.f(y)` lines align by chance with the end of the method
  // before the copied one, and the chain bridges the gap; the span is cut at the blank line.
  const std::string source =
      "class Catalog:\n    def lookup(self, key, level):\n        if level == 0:\n"
      "            if \".\" in key:\n                self.found = self.dotted_lookup(key)\n"
      "            else:\n                self.found = self.plain_lookup(key)\n        try:\n"
      "            return self.found[level]\n        except IndexError:\n            return None\n\n"
      "    def _with_suffix(self, item, label):\n        if callable(item):\n            label += \"(\"\n"
      "            try:\n                if not inspect.signature(item).parameters:\n"
      "                    label += \")\"\n            except ValueError:\n                pass\n\n"
      "        return label\n";
  const std::string answer =
      "  def parse_options(self, pos):\n    \"Parse the options\"\n    self.mode = 'c'\n"
      "    value = self.parse_square(pos)\n    if value:\n      self.mode = value\n"
      "    value = self.parse_plain(pos)\n    self.options = []\n    for s in value:\n"
      "      self.options.append(s)\n\n"
      "    def n0(n1, n2, n3):\n        if n4(n2):\n            n3 += \"(\"\n            try:\n"
      "                if not n5.n6(n2).n7:\n                    n3 += \")\"\n            except n8:\n"
      "                pass\n\n        return n3\n";
  TempDir dir;
  const Verdict v = CheckAgainstOne(dir / "idx", "catalog.py", source, "python", answer);
  REQUIRE(v.spans.size() == 1);
  CHECK(v.spans[0].query.first_line == 12);
  CHECK(v.spans[0].query.last_line == 21);
  CHECK(v.spans[0].source.first_line == 13);
  CHECK(v.spans[0].renaming == Approx(1.0));
}

TEST_CASE("code: a method without its class is read as in its file") {
  // C#'s constructor initializer and TypeScript's method syntax do not parse at the top level;
  // the snippet is parsed again inside the language's snippet wrapper.
  struct Case {
    std::string language, file, protected_code, snippet;
  };
  const std::vector<Case> cases = {
      {"c_sharp", "src/Timer.cs",
       "namespace Demo {\n  internal class DelayedObservable<T> : OperatorObservableBase<T> {\n"
       "    readonly IObservable<T> source;\n    readonly TimeSpan dueTime;\n"
       "    public DelayedObservable(IObservable<T> source, TimeSpan dueTime)\n"
       "        : base(source.IsRequiredSubscribeOnCurrentThread())\n    {\n"
       "        this.source = source;\n        this.dueTime = dueTime;\n        Validate(dueTime, source);\n    }\n  }\n}\n",
       "    public Delayed(IObservable<T> inner, TimeSpan wait)\n        : base(inner.IsRequiredSubscribeOnCurrentThread())\n"
       "    {\n        this.inner = inner;\n        this.wait = wait;\n        Validate(wait, inner);\n    }\n"},
      {"typescript", "src/queue.ts",
       "export class Queue<T> {\n  private items: T[] = [];\n"
       "  public drain(limit: number): T[] {\n    const taken = this.items.splice(0, limit);\n"
       "    this.size -= taken.length;\n    return taken.filter((item) => item !== undefined);\n  }\n}\n",
       "  public drain(max: number): T[] {\n    const out = this.items.splice(0, max);\n"
       "    this.size -= out.length;\n    return out.filter((x) => x !== undefined);\n  }\n"},
  };
  for (const Case& c : cases) {
    INFO(c.language);
    TempDir dir;
    const Verdict v = CheckAgainstOne(dir / "idx", c.file, c.protected_code, c.language, c.snippet);
    CHECK(v.spans.front().source_name == c.file);
    CHECK(v.spans.front().renaming == Approx(1.0));
    CHECK(v.spans.front().query.first_line == 1);
    // Offsets are the snippet's own: the span starts at its first token.
    CHECK(v.spans.front().query.start == c.snippet.find_first_not_of(' '));
  }
}

TEST_CASE("code: an answer sent as code in a language but written in Markdown is read as Markdown") {
  // As JavaScript, the opening ``` read as a template string running to the end: allowed.
  constexpr char kSearch[] = R"(function displayResult(item, terms, highlight) {
  const [docName, title, anchor, summary, score] = item;
  const listItem = document.createElement("li");
  let requestUrl;
  if (builder === "dirhtml") {
    let dirname = docName + "/";
    if (dirname.match(/\/index\/$/)) dirname = dirname.substring(0, dirname.length - 6);
    else if (dirname === "index/") dirname = "";
    requestUrl = urlRoot + dirname;
  } else {
    requestUrl = urlRoot + docName + fileSuffix;
  }
  const link = listItem.appendChild(document.createElement("a"));
  link.href = requestUrl + anchor;
  link.dataset.score = score;
  link.innerHTML = title;
  if (summary) listItem.appendChild(document.createElement("span")).innerHTML = summary;
  results.appendChild(listItem);
  return listItem;
}
)";
  TempDir dir;
  auto filter = OneFileFilter(dir, "static/search.js", kSearch, "javascript", Redacting());
  CheckRequest js;
  js.kind = Kind::kCode;
  for (const char* language : {"javascript", "js", "typescript", "JS"}) {
    INFO(language);
    js.language = language;
    for (const std::string& fence : {std::string("```js\n"), std::string("```\n"), std::string("~~~javascript\n")}) {
      INFO(fence);
      const std::string answer = "Render it:\n\n" + fence + kSearch + fence.substr(0, 3) + "\n\nThat is all.\n";
      auto v = filter->Check(answer, js);
      REQUIRE(v.ok());
      CHECK(v->action == Action::kRedact);
      REQUIRE(v->spans.size() == 1);
      CHECK(v->spans[0].source_name == "static/search.js");
      CHECK(v->spans[0].query.first_line == 4);
      CHECK_THAT(v->output, Catch::Contains(fence + "// [redacted: similar to static/search.js]\n" + fence.substr(0, 3) +
                                            "\n\nThat is all.\n"));
    }
  }
  // An untagged fence holding a patch stays a patch (read so whatever language was sent).
  std::string patch = "Apply this:\n\n```\n--- a/static/search.js\n+++ b/static/search.js\n@@ -0,0 +1,20 @@\n";
  for (const std::string& line : doppel_test::Lines(kSearch)) patch += "+" + line + "\n";
  patch += "```\n";
  js.language = "python";
  auto patched = filter->Check(patch, js);
  REQUIRE(patched.ok());
  CHECK(patched->action == Action::kRedact);
  REQUIRE(patched->spans.size() == 1);
  CHECK(patched->spans[0].query.first_line == 7);
  CHECK(patched->spans[0].language == "javascript");
  // Streamed: a prefix whose fence is still open.
  js.language = "javascript";
  const std::string open = "Render it:\n\n```js\n" + std::string(kSearch);
  auto prefix = filter->Check(open, js);
  REQUIRE(prefix.ok());
  CHECK(prefix->action == Action::kRedact);
  // Code whose comment holds a fenced example is still read as code: the copy below it is found
  // in its lines.
  const std::string commented = "/**\n * Example:\n * ```js\n * displayResult(item)\n * ```\n */\n" + std::string(kSearch);
  auto code = filter->Check(commented, js);
  REQUIRE(code.ok());
  CHECK(code->severity == Action::kBlock);
  REQUIRE(!code->spans.empty());
  CHECK(code->spans[0].query.first_line == 7);
  CHECK(code->output == commented.substr(0, commented.find("function")) + "// [redacted: similar to static/search.js]\n");
}

TEST_CASE("code: a protected function's signature alone, or an answer cut after it, is no whole function copied") {
  TempDir dir;
  auto filter = MergePyFilter(dir, FilterOptions{});
  const std::string signature = "def merge_sorted_runs(left, right, key=None):\n";
  CheckRequest python;
  python.kind = Kind::kCode;
  python.language = "python";
  for (const std::string& answer : {signature, "import os\n\n" + signature}) {
    auto v = filter->Check(answer, python);
    REQUIRE(v.ok());
    INFO(answer << v->reason);
    CHECK_FALSE(Flagging(v->severity));
  }
  // Streamed: the prefix that ends at the signature is not flagged; the function is, once its
  // body has come.
  const std::string open = "Here it is:\n\n```python\n" + signature;
  auto prefix = filter->Check(open);
  REQUIRE(prefix.ok());
  CHECK_FALSE(Flagging(prefix->severity));
  const std::string body = std::string(kProtected).substr(std::string(kProtected).find(signature) + signature.size());
  auto whole = filter->Check(open + body + "```\n");
  REQUIRE(whole.ok());
  CHECK(whole->severity == Action::kBlock);
  // A longer copy cut short at a header (an answer's length limit) is still a copy.
  const std::string cut = std::string(kProtected).substr(0, std::string(kProtected).find("        if key("));
  REQUIRE(cut.back() == '\n');
  auto v = filter->Check(cut, python);
  REQUIRE(v.ok());
  INFO(cut << v->reason);
  CHECK(Flagging(v->severity));
}

TEST_CASE("code: a copy with CRLF line ends gives its LF original's tokens, parsed and lexed, in every language") {
  // Each language's normalization cases, and what a CRLF line end reached: a leaf that runs to
  // its line's end (`#pragma once`, `#undef X`, a `#define` a parse error leaves whole), a
  // preprocessor line end, an escaped line break in and outside a string, a heredoc, JSX text.
  std::vector<std::pair<std::string, std::string>> cases = {
      {"c", "#pragma once\n#undef FOO\n#if HAVE_X\nenum\n{\n  A = 0,\n#define A A\n  B\n};\n#endif\n"},
      {"c", "#define GREETING \"hello, \\\nworld\"\nconst char *g = GREETING;\n"},
      {"cpp", "#pragma once\n#ifdef X\nint f(int a) { return a; }\n#endif\n"},
      {"python", "total = first + \\\n    second\nmessage = \"one \\\nline\"\ndoc = '''two\nlines'''\n"},
      {"ruby", "def usage\n  warn <<~EOF\n    Usage: tool FILE\n    Reads FILE.\n  EOF\nend\n"},
      {"rust", "fn f() -> &'static str {\n    \"first \\\n     second\"\n}\n"},
      {"tsx", "const Row = ({ label }: Props) => (\n  <li>\n    <b>{label}</b>\n    text here\n  </li>\n);\n"},
      // (JSX text of blanks between elements: the lexer reads the parse's tokens here too.)
      {"tsx", "const A = () => <p><b>a</b> <i>b</i>  \n  <u>c</u></p>;\n"},
      {"javascript", "const Row = ({ label }) => (\n  <li>\n    <b>{label}</b>\n  </li>\n);\nconst s = `a\nb`;\n"}};
  for (const auto& e : std::filesystem::directory_iterator(std::string(DOPPEL_TEST_DATA) + "/code_normalization")) {
    const std::string name = e.path().filename().string();
    const std::string text = doppel_test::ReadFile(e.path());
    // (A case file: its language, then its snippets; tokenized whole here, as any text is.)
    cases.emplace_back(name.substr(0, name.find('-')), text.substr(text.find('\n') + 1));
  }
  auto crlf = [](const std::string& s) {
    std::string out;
    for (char c : s) {
      if (c == '\n') out += '\r';
      out += c;
    }
    return out;
  };
  auto spelled = [](const Tokens& t) {
    std::vector<std::pair<uint64_t, uint64_t>> v;
    for (const Token& x : t) v.emplace_back(x.hash, x.name);
    return v;
  };
  for (size_t c = 0; c < cases.size(); ++c) {
    const auto& [language, text] = cases[c];
    INFO(language << ":\n" << text);
    const Language* lang = LookupLanguage(language);
    REQUIRE(lang != nullptr);
    if (text.find("<b>a</b> <i>") != std::string::npos) {
      Tokens parsed, lexed;
      REQUIRE(NewCodeTokenizer(lang)->Tokenize(text, &parsed).ok());
      REQUIRE(NewCodeLexer(lang)->Tokenize(text, &lexed).ok());
      CHECK(spelled(parsed) == spelled(lexed));
    }
    for (const bool lexed : {false, true}) {
      INFO((lexed ? "lexed" : "parsed"));
      auto tokenizer = lexed ? NewCodeLexer(lang) : NewCodeTokenizer(lang);
      Tokens lf, cr;
      REQUIRE(tokenizer->Tokenize(text, &lf).ok());
      REQUIRE(tokenizer->Tokenize(crlf(text), &cr).ok());
      CHECK(!lf.empty());
      CHECK(spelled(lf) == spelled(cr));
    }
  }
}

TEST_CASE("code: code pasted in a quote without a fence is read without the quote's markers") {
  TempDir dir;
  auto filter = MergePyFilter(dir, Redacting());
  std::string quoted;
  for (const std::string& line : doppel_test::Lines(kRenamed)) quoted += "> " + line + "\n";
  const std::string answer = "As the docs put it:\n\n" + quoted + "\nThat is the whole helper.\n";
  const Verdict v = Checked(*filter, answer);
  CHECK(OneMergePySpan(v).query.first_line == 3);
  // (The marker in the quote; no `pass`: the sentence above, which ends in ':', is no header.)
  CHECK_THAT(v.output, Catch::StartsWith("As the docs put it:\n\n> # [redacted: similar to lib/merge.py]\n"));
  CHECK_THAT(v.output, Catch::EndsWith("\nThat is the whole helper.\n"));
  CHECK_THAT(v.output, !Catch::Contains("out.extend"));
  // A docstring in the quote stays in the run (indented deeper than its def, past the markers).
  std::string with_doc;
  for (const std::string& line : doppel_test::Lines(kProtected)) with_doc += "> " + line + "\n";
  const Verdict documented = Checked(*filter, "As the docs put it:\n\n" + with_doc + "\nThat is all.\n");
  REQUIRE(!documented.spans.empty());
  CHECK(documented.spans[0].query.first_line <= 5);  // (from `> import os` or the def line on)
  CHECK_THAT(documented.output, !Catch::Contains("def merge_sorted_runs"));
  // Quoted prose stays prose.
  const Verdict prose = Checked(*filter, "> The helper merges two sorted runs into one.\n> It keeps the order stable.\n");
  CHECK(prose.spans.empty());
}
