// code_tokens.h — what the code tokenizers share: the parse's (code_tokenizer.cc), the scan's
// first-pass lexer (code_lexer.cc) and the guess of a block's language (language_guess.cc).
// Internal to lib/src/code.
#ifndef DOPPEL_LIB_SRC_CODE_CODE_TOKENS_H_
#define DOPPEL_LIB_SRC_CODE_CODE_TOKENS_H_

#include <tree_sitter/api.h>
#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "dense_parse_table.h"
#include "doppel/code_tokenizer.h"

namespace doppel::code_detail {

inline uint64_t Hash(std::string_view s) { return XXH3_64bits(s.data(), s.size()); }

inline bool IsQuote(char c) { return c == '"' || c == '\'' || c == '`'; }

// A string literal's content: without its prefix (r"", @"", f'', u8"") and quote characters.
// A heredoc opener (<<~EOS, <<-EOS, <<EOS) is spelled by its word: the forms differ only in how
// the body is indented, which a formatter changes (rubocop turns <<- into <<~).
inline std::string_view StringContent(std::string_view s) {
  size_t b = 0, e = s.size();
  if (s.starts_with("<<")) {
    b = 2;
    if (b < e && (s[b] == '~' || s[b] == '-')) ++b;
  } else {
    size_t p = 0;
    while (p < e && (std::isalnum(static_cast<unsigned char>(s[p])) || s[p] == '@' || s[p] == '$')) ++p;  // u8"", $@""
    if (p < e && IsQuote(s[p])) b = p;  // letters not before a quote are content (a heredoc's body)
  }
  // Its opening quotes (one character, repeated: """x""") and as many of them closing it:
  // '"' holds a quote, and 'it\'' ends in one of its own.
  if (b < e && IsQuote(s[b])) {
    const char q = s[b];
    size_t quotes = 0;
    while (b < e && s[b] == q) {
      ++b;
      ++quotes;
    }
    while (quotes > 0 && e > b && s[e - 1] == q) {
      --e;
      --quotes;
    }
  }
  return s.substr(b, e - b);
}
// A string literal's spelling for the literal check: the hash of its content, so formatters that
// change quotes ('a' → "a") keep it; adjacent literals the language joins ("ab" split into "a"
// "b") are spelled as their joined contents. What formatters and pasting change is not spelled:
// the spaces and tabs that begin each line after the first (a formatter re-indents a heredoc's
// body, which begins with the opener's line break, or a text block; a copy pasted at another
// depth re-indents every line of a string over several), and
// the backslash before a quote character (black and Prettier write 'it\'s' as "it's"), and the
// carriage return of a CRLF line end.
inline uint64_t NameOfHash(uint64_t h) { return h | 1; }  // never 0 (0 means no spelling)
// Feeds `content` to `state` as spelled; `line_start` carries across pieces.
inline void UpdateSpelled(XXH3_state_t* state, std::string_view content, bool* line_start) {
  size_t from = 0;  // start of the bytes not fed yet
  auto feed = [&](size_t end) {
    if (end > from) XXH3_64bits_update(state, content.data() + from, end - from);
  };
  for (size_t i = 0; i < content.size();) {
    const char c = content[i];
    if (*line_start && (c == ' ' || c == '\t')) {
      feed(i);
      from = ++i;
      continue;
    }
    if (c == '\r' && i + 1 < content.size() && content[i + 1] == '\n') {  // a CRLF line end is LF's
      feed(i);
      from = ++i;
      continue;
    }
    *line_start = c == '\n';
    if (c == '\\' && i + 2 < content.size() && content[i + 1] == '\r' && content[i + 2] == '\n') {
      feed(i + 1);  // an escaped CRLF line end is an escaped LF
      from = i + 2;
      i += 3;
      continue;
    }
    if (c == '\\' && i + 1 < content.size()) {
      if (IsQuote(content[i + 1])) {
        feed(i);
        from = i + 1;  // the quote, without its backslash
      }
      i += 2;  // an escape is two characters (\\ too)
      continue;
    }
    ++i;
  }
  feed(content.size());
}
inline uint64_t ContentName(std::string_view content) {
  // Most literals are one line with no escape: hashed as they are (the same hash: XXH3 streamed
  // over the same bytes gives the one-shot's).
  if (content.find_first_of("\n\\") == std::string_view::npos) return NameOfHash(Hash(content));
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  bool line_start = false;  // the first line's spaces are the string's (" " is not "")
  UpdateSpelled(&state, content, &line_start);
  return NameOfHash(XXH3_64bits_digest(&state));
}
inline uint64_t StringName(std::string_view s) { return ContentName(StringContent(s)); }
// String literal `s` with each of its interpolations (Language::string_interpolations: `${...}`,
// an f-string's `{...}`), at byte ranges `holes` of it (ascending, apart), written `{}`.
inline std::string WithoutInterpolations(std::string_view s, const std::vector<std::pair<uint32_t, uint32_t>>& holes) {
  std::string out;
  out.reserve(s.size());
  size_t at = 0;
  for (const auto& [b, e] : holes) {
    if (b < at || e > s.size() || e < b) continue;
    out.append(s.substr(at, b - at)).append("{}");
    at = e;
  }
  out.append(s.substr(at));
  return out;
}
// Format strings that name the values they print (Rust's `"{name}"` and `"{name:>8}"`, since Rust
// 2021; Language::format_string_names): the byte ranges of literal `s` that are such a
// `{name...}`, ascending, in `holes`, to be written `{}` as interpolations are. `{{` and `}}`
// are braces; `{}`, `{0}` and `{:?}` name no value and stay as written.
inline void FormatNameHoles(std::string_view s, std::vector<std::pair<uint32_t, uint32_t>>* holes) {
  holes->clear();
  const auto name_char = [](unsigned char c) { return std::isalnum(c) || c == '_' || c >= 0x80; };
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    if (s[i] == '}' && s[i + 1] == '}') {
      ++i;
      continue;
    }
    if (s[i] != '{') continue;
    if (s[i + 1] == '{') {
      ++i;
      continue;
    }
    size_t j = i + 1;
    if (std::isdigit(static_cast<unsigned char>(s[j])) || !name_char(static_cast<unsigned char>(s[j]))) continue;
    while (j < s.size() && name_char(static_cast<unsigned char>(s[j]))) ++j;
    if (j == s.size() || (s[j] != '}' && s[j] != ':')) continue;
    const size_t close = s.find_first_of("{}\n", j);
    if (close == std::string_view::npos || s[close] != '}') continue;
    holes->emplace_back(static_cast<uint32_t>(i), static_cast<uint32_t>(close + 1));
    i = close;
  }
}
// Whether a literal's content, its interpolations written `{}`, is only interpolations
// (`${a}`, f"{x}{y}"): it says nothing of its own, so it has no spelling (name 0) for the
// literal check to compare (spelled `{}`, every such literal would agree with every other).
inline bool OnlyInterpolations(std::string_view content) {
  if (content.empty() || content.size() % 2 != 0) return false;
  for (size_t i = 0; i < content.size(); i += 2) {
    if (content[i] != '{' || content[i + 1] != '}') return false;
  }
  return true;
}
// The name of string literal `s` (StringName) with its interpolations at `holes` (as
// WithoutInterpolations takes them) written `{}`; 0 when it is only interpolations, and its own
// name when there are none.
inline uint64_t NameWithHoles(std::string_view s, const std::vector<std::pair<uint32_t, uint32_t>>& holes) {
  if (holes.empty()) return StringName(s);
  const std::string masked = WithoutInterpolations(s, holes);
  return OnlyInterpolations(StringContent(masked)) ? 0 : StringName(masked);
}

// Feeds `s` to `state` as written with LF line ends: the carriage return of each CRLF is left
// out (a CRLF copy is the same code).
inline void UpdateLf(XXH3_state_t* state, std::string_view s) {
  size_t from = 0;
  for (size_t cr = s.find("\r\n"); cr != std::string_view::npos; cr = s.find("\r\n", from)) {
    XXH3_64bits_update(state, s.data() + from, cr - from);
    from = cr + 1;
  }
  XXH3_64bits_update(state, s.data() + from, s.size() - from);
}
// The hash of a leaf's text as written with LF line ends (Hash's, streamed: the same value).
inline uint64_t LfHash(std::string_view s) {
  if (s.find('\r') == std::string_view::npos) return Hash(s);
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  UpdateLf(&state, s);
  return XXH3_64bits_digest(&state);
}

// The ContentName of adjacent literals' joined contents, read piece by piece (the parse and the
// lexer both join them): the first piece is kept as a view (most literals stand alone), and a
// stream hashes the pieces from the second on, so a run of thousands is hashed once, not
// copied or hashed again per piece. The pieces' text must outlive it.
class JoinedName {
 public:
  void Start(std::string_view first) {
    first_ = first;
    many_ = false;
    line_start_ = false;
  }
  void Add(std::string_view more) {
    if (!many_) {
      XXH3_64bits_reset(&state_);
      UpdateSpelled(&state_, first_, &line_start_);
      many_ = true;
    }
    UpdateSpelled(&state_, more, &line_start_);
  }
  uint64_t Name() const { return many_ ? NameOfHash(XXH3_64bits_digest(&state_)) : ContentName(first_); }

 private:
  std::string_view first_;
  XXH3_state_t state_;
  bool many_ = false;
  bool line_start_ = false;
};

// The abstract tokens; the \x01 prefix keeps them apart from any verbatim token text.
inline const uint64_t kId = Hash("\x01ID");
inline const uint64_t kStr = Hash("\x01STR");
inline const uint64_t kNum = Hash("\x01NUM");
inline const uint64_t kCommentGap = Hash("\x01COMMENT");  // a comment gap's spelling tag (never a token)

// Punctuation formatters add and remove without changing the code: statement semicolons
// (optional in JavaScript and TypeScript, where Prettier adds them and standard style drops
// them) and a comma before a closing bracket (trailing commas, which black, Prettier and rustfmt
// add when they break a list over lines). Neither is compared.
inline void DropCosmeticPunctuation(Tokens* tokens) {
  static const uint64_t kSemi = Hash(";"), kComma = Hash(","), kParen = Hash(")"),
                        kBracket = Hash("]"), kBrace = Hash("}");
  Tokens& t = *tokens;
  size_t w = 0;
  for (size_t r = 0; r < t.size(); ++r) {
    const uint64_t h = t[r].hash;
    if (h == kSemi) continue;
    if (h == kComma && r + 1 < t.size()) {
      const uint64_t next = t[r + 1].hash;
      if (next == kParen || next == kBracket || next == kBrace) continue;
    }
    t[w++] = t[r];
  }
  t.resize(w);
}

// Whether the brackets ((), [] and {}) of `open`, then of the tokens [begin, end), then of
// `close` pair up in order. A snippet parses cleanly inside its wrapper only if they do (with the
// wrapper's own brackets: a window cut from a class may close one block early and open one at
// its end).
inline bool BracketsBalance(std::string_view open, const Token* begin, const Token* end, std::string_view close) {
  static const uint64_t kOpen[3] = {Hash("("), Hash("["), Hash("{")};
  static const uint64_t kClose[3] = {Hash(")"), Hash("]"), Hash("}")};
  std::vector<uint8_t> stack;
  auto step = [&stack](int kind, bool opens) {
    if (opens) {
      stack.push_back(static_cast<uint8_t>(kind));
      return true;
    }
    if (stack.empty() || stack.back() != kind) return false;
    stack.pop_back();
    return true;
  };
  auto chars = [&step](std::string_view s) {  // the wrappers are plain code: no strings or comments
    for (const char c : s) {
      const size_t o = std::string_view("([{").find(c), e = std::string_view(")]}").find(c);
      if (o != std::string_view::npos && !step(static_cast<int>(o), true)) return false;
      if (e != std::string_view::npos && !step(static_cast<int>(e), false)) return false;
    }
    return true;
  };
  if (!chars(open)) return false;
  for (const Token* t = begin; t != end; ++t) {
    for (int k = 0; k < 3; ++k) {
      if (t->hash == kOpen[k]) step(k, true);
      if (t->hash == kClose[k] && !step(k, false)) return false;
    }
  }
  return chars(close) && stack.empty();
}

// Whether `rest` (not empty) starts with `opener` (a comment's opener; "" opens nothing). The
// first character is compared first: these run at every token of every line read.
inline bool Opens(std::string_view rest, std::string_view opener) {
  return !opener.empty() && rest[0] == opener[0] && rest.substr(0, opener.size()) == opener;
}

constexpr bool IsWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
constexpr bool IsWordChar(unsigned char c) { return IsWordChar(static_cast<char>(c)); }

// The blanks between tokens, as the lexer skips them (a line end is a token's end, not a blank).
constexpr bool IsLexBlank(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

// The first of the spaces and tabs that come right before `at` in `s` (at, when none do), not
// before `floor`.
inline size_t BlanksBefore(std::string_view s, size_t at, size_t floor = 0) {
  while (at > floor && (s[at - 1] == ' ' || s[at - 1] == '\t')) --at;
  return at;
}

// tree-sitter 0.20.7, Debian's, frees memory it does not own when it recovers from an error
// with 65,536 entries on its parse stack (tree-sitter issue #2231, mended in later releases),
// and the process dies. Measured here: 21,900 unclosed Ruby `x.y do` or JavaScript
// `function () {` lines, 16,400 C `if (x) {} else ` or JavaScript `a ? b : ` before an
// unfinished end, 33,000 `a = ` or Python `x ** ` (chains whose grammar rule recurses to the
// right), 65,600 unclosed `(` or `{` in any of the grammars. A stack entry holds a token the
// parser has read, or one of the zero-width tokens error recovery inserts (missing nodes).
// WindowEnd counts units, what tokens need: each run of ASCII word characters, each non-ASCII
// character (JavaScript skips U+00A0 and U+3000 as blanks, so `typeof\u00a0` is a token per
// unit), each other non-blank byte, each line end. No shape measured here crashed under
// 65,000 units (65,600 of `(`, 66,100 of `[a,` or `{a:` in JavaScript, 65,600 of `f(` or C's
// `if(`, 66,200 of Python's `-` or `not `): at most one stack entry per unit, as tokens that
// need none (Python's indents, JavaScript's inserted semicolons, a string's blank contents)
// come only between units. A text of more than kWindowUnits = 32,768 units is parsed in
// windows (TreeSitterTokenizer's ParseInWindows) of at most so many, context included: half
// what any of them took.
inline constexpr size_t kWindowUnits = 32768;
// Of each byte, for WindowEnd: bit 0 when it can begin a unit (not a blank, not a UTF-8
// continuation byte), bit 1 when it is an ASCII word character. A unit begins at a byte of bit
// 0 that is not a word character right after one.
inline constexpr std::array<uint8_t, 256> kUnitClass = [] {
  std::array<uint8_t, 256> classes{};
  for (unsigned c = 0; c < 256; ++c) {
    const auto b = static_cast<unsigned char>(c);
    classes[c] = static_cast<uint8_t>((!IsLexBlank(b) && (c & 0xC0) != 0x80 ? 1 : 0) | (IsWordChar(b) ? 2 : 0));
  }
  return classes;
}();
// The end of the longest prefix of text[from..] of at most `budget` units, past the blanks after
// it, and their count in `*units` when asked for (text valid UTF-8, `from` at a character's
// start). Whole blocks are counted without a branch first (1.7-1.8 GB/s on code, 3.7-4.9 times
// one byte at a time); the block where the budget runs out is read byte by byte.
inline size_t WindowEnd(std::string_view text, size_t from, size_t budget, size_t* units_out = nullptr) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t units = 0, i = from;
  unsigned prev = 0;  // the class of the byte before i (none before `from`)
  constexpr size_t kBlock = 64;
  while (i < n && n - i > kBlock) {
    size_t count = 0;
    unsigned last = prev;
    for (size_t k = 0; k < kBlock; ++k) {
      const unsigned t = kUnitClass[p[i + k]];
      count += (t & 1) & ~((t & last) >> 1);
      last = t;
    }
    if (units + count >= budget) break;
    units += count;
    prev = last;
    i += kBlock;
  }
  for (; i < n; ++i) {
    const unsigned t = kUnitClass[p[i]];
    if ((t & 1) != 0 && (t & prev & 2) == 0) {
      if (units == budget) break;
      ++units;
    }
    prev = t;
  }
  if (units_out != nullptr) *units_out = units;
  return i;
}

// Whether the last token is a member access (`.`, `?.`, `::`, and `->` unless `arrow` is false:
// Python's `->` announces a return type): a reserved word after it is a property name
// (`promise.catch`, `map.delete`).
inline bool AfterMemberAccess(const Tokens& out, bool arrow = true) {
  static const uint64_t kAccess[4] = {Hash("."), Hash("?."), Hash("::"), Hash("->")};
  const uint64_t* end = std::begin(kAccess) + (arrow ? 4 : 3);
  return !out.empty() && std::find(std::begin(kAccess), end, out.back().hash) != end;
}

// Words reserved wherever a language has them as keywords: no program uses them as names, so
// an identifier spelled like one inside a parse error is that keyword read wrongly. Contextual
// keywords (get, set, of, type, match, case, default, async, print ...) are names elsewhere and
// are not listed.
inline const std::unordered_set<std::string_view>& ReservedWords() {
  static const std::unordered_set<std::string_view> kWords = {
      "if", "else", "elif", "for", "while", "do", "return", "const", "let", "var", "function", "class",
      "def", "try", "catch", "except", "finally", "throw", "throws", "raise", "new", "switch", "break",
      "continue", "import", "export", "package", "static", "void", "true", "false", "null", "nil",
      "None", "True", "False", "this", "struct", "enum", "interface", "public", "private", "protected",
      "func", "fn", "impl", "pub", "mut", "use", "mod", "goto", "sizeof", "typedef", "extern", "unless",
      "until", "then", "yield", "lambda", "with", "assert", "not", "and", "or", "is", "in", "instanceof",
      "typeof", "delete", "super", "elsif", "begin", "end", "defer", "go", "chan", "select", "loop",
      "foreach", "using", "namespace", "abstract", "final", "extends", "implements", "volatile"};
  return kWords;
}

inline Status CheckInput(std::string_view text, uint32_t base_offset) {
  if (text.size() + base_offset >= std::numeric_limits<uint32_t>::max()) {
    return Status::ResourceExhausted("text of " + std::to_string(text.size()) +
                                     " bytes exceeds the 4 GiB limit of one document");
  }
  Status s = ValidateUtf8(text);
  if (!s.ok() && base_offset > 0) {
    // Re-state the offset in the caller's coordinates.
    const std::string& m = s.message();
    const size_t at = m.rfind(' ');
    return Status::InvalidArgument("invalid UTF-8 at byte offset " +
                                   std::to_string(std::stoull(m.substr(at + 1)) + base_offset));
  }
  return s;
}

// The thread's parser for `grammar`, on the grammar's dense parse table (DenseParseTable); made
// the first time the thread asks, freed when the thread ends. nullptr when this tree-sitter
// cannot load the grammar (an ABI mismatch; ts_parser_set_language fails without a message).
// Tokenizers and ParseErrorShare share it: a parse never begins inside another on one thread.
inline TSParser* ThreadParser(const TSLanguage* grammar) {
  struct Parsers {
    std::unordered_map<const TSLanguage*, TSParser*> by_language;
    ~Parsers() {
      for (auto& [l, p] : by_language) ts_parser_delete(p);
    }
  };
  thread_local Parsers parsers;
  auto it = parsers.by_language.find(grammar);
  if (it != parsers.by_language.end()) return it->second;
  TSParser* p = ts_parser_new();
  if (!ts_parser_set_language(p, DenseParseTable(grammar))) {
    ts_parser_delete(p);
    return nullptr;
  }
  parsers.by_language[grammar] = p;
  return p;
}

// A piece of `text` handed to tree-sitter through a TSInput: [byte, the returned end), at most
// `max_bytes` long and ending before `limit`, moved past any UTF-8 continuation bytes so that a
// character is not cut.
inline size_t TextPieceEnd(std::string_view text, size_t byte, size_t max_bytes, size_t limit) {
  size_t end = std::min(limit, byte + max_bytes);
  while (end < limit && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
  return end;
}

// The bytes of the tokens a parse skipped: leaves of error nodes (and error nodes without
// children) other than comments (extras whose symbol is_comment), and one for each missing
// node. Whole constructs an error node holds were read; an error node at the top of a cut-out
// piece of code (an unmatched `}`) often holds all of it. Only subtrees that hold an error are
// walked.
// Only the bytes in [lo, hi) count (ParseInWindows keeps a window's tokens there); of an error
// node that reaches past hi, which holds what the window's end cut (a dict whose entries and
// commas an error node holds), only the leaves read as names count: the unnamed ones (its
// commas, its `{`) belong to constructs that the next window reads whole.
template <typename IsComment>
uint32_t UnreadBytes(TSNode root, const IsComment& is_comment, uint32_t lo = 0, uint32_t hi = UINT32_MAX) {
  if (!ts_node_has_error(root)) return 0;
  constexpr TSSymbol kError = static_cast<TSSymbol>(-1);  // ts_builtin_sym_error
  uint32_t n = 0;
  TSTreeCursor c = ts_tree_cursor_new(root);
  enum : uint8_t { kNone, kInError, kInCutError };
  std::vector<uint8_t> parent{kNone};  // per depth: whether the node's parent is an error node, and one cut at hi
  for (;;) {
    const TSNode node = ts_tree_cursor_current_node(&c);
    const bool error = ts_node_symbol(node) == kError;
    const bool cut = error && hi != UINT32_MAX && ts_node_end_byte(node) > hi;
    bool descend = false;
    if (ts_node_start_byte(node) >= hi || ts_node_end_byte(node) < lo ||
        (ts_node_end_byte(node) == lo && ts_node_start_byte(node) < lo)) {
      // outside the bytes that count
    } else if (ts_node_is_missing(node)) {
      n += 1;
    } else if (ts_node_is_extra(node) && is_comment(ts_node_symbol(node))) {
      // A comment read as one, though an error node holds it (code cut out of its file: the
      // comments after an unmatched `}`), is read. (Tokens error recovery skipped are extras
      // too, of other symbols.)
    } else if (ts_node_child_count(node) == 0) {
      if (error || parent.back() == kInError || (parent.back() == kInCutError && ts_node_is_named(node))) {
        n += std::min(ts_node_end_byte(node), hi) - std::max(ts_node_start_byte(node), lo);
      }
    } else {
      descend = error || ts_node_has_error(node);
    }
    if (descend && ts_tree_cursor_goto_first_child(&c)) {
      parent.push_back(!error ? kNone : cut ? kInCutError : kInError);
      continue;
    }
    bool moved = false;
    while (!(moved = ts_tree_cursor_goto_next_sibling(&c))) {
      if (!ts_tree_cursor_goto_parent(&c)) break;
      parent.pop_back();
    }
    if (!moved) break;
  }
  ts_tree_cursor_delete(&c);
  return n;
}

// NewCodeTokenizer's reading with every text parsed whole, however long: what its windows are
// measured against (bench/window_probe.cc, tests). Not for text from outside: tree-sitter 0.20.7
// crashes on some of 65,000 tokens (kWindowUnits).
std::unique_ptr<Tokenizer> NewWholeParseTokenizer(const Language* language);

// The lexer of a macro body (macro_definitions, macro_constants): the first-pass lexer without
// directives, a backslash that ends a line read as a space. The parse and the lexer read a body
// with it alike.
std::unique_ptr<Tokenizer> NewMacroBodyLexer(const Language* lang);

// A macro constant's body (`tokens`, lexed from `body`) as one verbatim token: the hash of its
// tokens' spellings joined by spaces, so that a formatter's spacing and re-aligned backslashes
// leave it alone while its value stays whole (a table of #defines is its values, which an
// abstracted NUM would lose). Hashed piece by piece: XXH3's streaming state gives Hash() of the
// joined text without building it.
inline uint64_t MacroConstantHash(std::string_view body, const Tokens& tokens) {
  thread_local const std::unique_ptr<XXH3_state_t, XXH_errorcode (*)(XXH3_state_t*)> state(XXH3_createState(),
                                                                                           XXH3_freeState);
  XXH3_64bits_reset(state.get());
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0) XXH3_64bits_update(state.get(), " ", 1);
    // (A token over an escaped line end, a string continued with `\`, as with LF line ends.)
    UpdateLf(state.get(), body.substr(tokens[i].begin, tokens[i].end - tokens[i].begin));
  }
  return XXH3_64bits_digest(state.get());
}

// A macro body's tokens (lexed from `body` by the macro body lexer) as the parse and the lexer
// emit them: each token, or a constant's one token; emit(hash, name, begin, end, line) takes
// offsets and lines relative to the body.
template <typename Emit>
void EmitMacroBody(std::string_view body, const Tokens& tokens, bool constant, Emit&& emit) {
  if (!constant) {
    for (const Token& t : tokens) emit(t.hash, t.name, t.begin, t.end, t.line);
  } else if (!tokens.empty()) {
    emit(MacroConstantHash(body, tokens), 0, tokens.front().begin, tokens.back().end, tokens.front().line);
  }
}

}  // namespace doppel::code_detail

#endif  // DOPPEL_LIB_SRC_CODE_CODE_TOKENS_H_
