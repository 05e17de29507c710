#include "doppel/code_tokenizer.h"

#include <tree_sitter/api.h>
#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <bitset>
#include <cctype>
#include <chrono>
#include <cstring>
#include <ctime>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "dense_parse_table.h"
#include "doppel/markdown.h"
#include "parse_deadline.h"

namespace doppel {
namespace {

uint64_t Hash(std::string_view s) { return XXH3_64bits(s.data(), s.size()); }

bool IsQuote(char c) { return c == '"' || c == '\'' || c == '`'; }

// A string literal's content: without its prefix (r"", @"", f'', u8"") and quote characters.
// A heredoc opener (<<~EOS, <<-EOS, <<EOS) is spelled by its word: the forms differ only in how
// the body is indented, which a formatter changes (rubocop turns <<- into <<~).
std::string_view StringContent(std::string_view s) {
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
// the backslash before a quote character (black and Prettier write 'it\'s' as "it's").
uint64_t NameOfHash(uint64_t h) { return h | 1; }  // never 0 (0 means no spelling)
// Feeds `content` to `state` as spelled; `line_start` carries across pieces.
void UpdateSpelled(XXH3_state_t* state, std::string_view content, bool* line_start) {
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
    *line_start = c == '\n';
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
uint64_t ContentName(std::string_view content) {
  // Most literals are one line with no escape: hashed as they are (the same hash: XXH3 streamed
  // over the same bytes gives the one-shot's).
  if (content.find_first_of("\n\\") == std::string_view::npos) return NameOfHash(Hash(content));
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  bool line_start = false;  // the first line's spaces are the string's (" " is not "")
  UpdateSpelled(&state, content, &line_start);
  return NameOfHash(XXH3_64bits_digest(&state));
}
uint64_t StringName(std::string_view s) { return ContentName(StringContent(s)); }

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
const uint64_t kId = Hash("\x01ID");
const uint64_t kStr = Hash("\x01STR");
const uint64_t kNum = Hash("\x01NUM");
const uint64_t kCommentGap = Hash("\x01COMMENT");  // a comment gap's spelling tag (never a token)

// Punctuation formatters add and remove without changing the code: statement semicolons
// (optional in JavaScript and TypeScript, where Prettier adds them and standard style drops
// them) and a comma before a closing bracket (trailing commas, which black, Prettier and rustfmt
// add when they break a list over lines). Neither is compared.
void DropCosmeticPunctuation(Tokens* tokens) {
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
bool BracketsBalance(std::string_view open, const Token* begin, const Token* end, std::string_view close) {
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

bool IsWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool IsWordChar(unsigned char c) { return IsWordChar(static_cast<char>(c)); }

// Whether the last token is a member access (`.`, `?.`, `::`, and `->` unless `arrow` is false:
// Python's `->` announces a return type): a reserved word after it is a property name
// (`promise.catch`, `map.delete`).
bool AfterMemberAccess(const Tokens& out, bool arrow = true) {
  static const uint64_t kAccess[4] = {Hash("."), Hash("?."), Hash("::"), Hash("->")};
  const uint64_t* end = std::begin(kAccess) + (arrow ? 4 : 3);
  return !out.empty() && std::find(std::begin(kAccess), end, out.back().hash) != end;
}

// Words reserved wherever a language has them as keywords: no program uses them as names, so
// an identifier spelled like one inside a parse error is that keyword read wrongly. Contextual
// keywords (get, set, of, type, match, case, default, async, print ...) are names elsewhere and
// are not listed.
const std::unordered_set<std::string_view>& ReservedWords() {
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

Status CheckInput(std::string_view text, uint32_t base_offset) {
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
TSParser* ThreadParser(const TSLanguage* grammar) {
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

// The bytes of the tokens a parse skipped: leaves of error nodes (and error nodes without
// children) other than comments (extras whose symbol is_comment), and one for each missing
// node. Whole constructs an error node holds were read; an error node at the top of a cut-out
// piece of code (an unmatched `}`) often holds all of it. Only subtrees that hold an error are
// walked.
template <typename IsComment>
uint32_t UnreadBytes(TSNode root, const IsComment& is_comment) {
  if (!ts_node_has_error(root)) return 0;
  constexpr TSSymbol kError = static_cast<TSSymbol>(-1);  // ts_builtin_sym_error
  uint32_t n = 0;
  TSTreeCursor c = ts_tree_cursor_new(root);
  std::vector<bool> under_error{false};  // per depth: the node's parent is an error node
  for (;;) {
    const TSNode node = ts_tree_cursor_current_node(&c);
    const bool error = ts_node_symbol(node) == kError;
    bool descend = false;
    if (ts_node_is_missing(node)) {
      n += 1;
    } else if (ts_node_is_extra(node) && is_comment(ts_node_symbol(node))) {
      // A comment read as one, though an error node holds it (code cut out of its file: the
      // comments after an unmatched `}`), is read. (Tokens error recovery skipped are extras
      // too, of other symbols.)
    } else if (ts_node_child_count(node) == 0) {
      if (error || under_error.back()) n += ts_node_end_byte(node) - ts_node_start_byte(node);
    } else {
      descend = error || ts_node_has_error(node);
    }
    if (descend && ts_tree_cursor_goto_first_child(&c)) {
      under_error.push_back(error);
      continue;
    }
    bool moved = false;
    while (!(moved = ts_tree_cursor_goto_next_sibling(&c))) {
      if (!ts_tree_cursor_goto_parent(&c)) break;
      under_error.pop_back();
    }
    if (!moved) break;
  }
  ts_tree_cursor_delete(&c);
  return n;
}

// The lexer of a macro body (macro_definitions, macro_constants): the first-pass lexer without
// directives, a backslash that ends a line read as a space. The parse and the lexer read a body
// with it alike.
std::unique_ptr<Tokenizer> NewMacroBodyLexer(const Language* lang);

// A macro constant's body (`tokens`, lexed from `body`) as one verbatim token: the hash of its
// tokens' spellings joined by spaces, so that a formatter's spacing and re-aligned backslashes
// leave it alone while its value stays whole (a table of #defines is its values, which an
// abstracted NUM would lose). Hashed piece by piece: XXH3's streaming state gives Hash() of the
// joined text without building it.
uint64_t MacroConstantHash(std::string_view body, const Tokens& tokens) {
  thread_local const std::unique_ptr<XXH3_state_t, XXH_errorcode (*)(XXH3_state_t*)> state(XXH3_createState(),
                                                                                           XXH3_freeState);
  XXH3_64bits_reset(state.get());
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0) XXH3_64bits_update(state.get(), " ", 1);
    XXH3_64bits_update(state.get(), body.data() + tokens[i].begin, tokens[i].end - tokens[i].begin);
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

class TreeSitterTokenizer final : public Tokenizer {
 public:
  // Node categories are resolved once per grammar symbol, so the walk looks up a small array
  // instead of hashing type names; keywords and operators (anonymous nodes, whose text is their
  // symbol name) get their token hash precomputed too.
  explicit TreeSitterTokenizer(const Language* lang) : lang_(lang), name_("code-v8/" + lang->name) {
    const uint32_t n = ts_language_symbol_count(lang->grammar);
    category_.assign(n, kOther);
    fixed_hash_.assign(n, 0);
    fixed_text_.assign(n, std::string_view());
    for (uint32_t sym = 0; sym < n; ++sym) {
      const char* type = ts_language_symbol_name(lang->grammar, static_cast<TSSymbol>(sym));
      if (type == nullptr) continue;
      if (lang->comments.count(type)) category_[sym] = kComment;
      else if (lang->strings.count(type)) category_[sym] = kString;
      else if (lang->identifiers.count(type)) category_[sym] = kIdentifier;
      else if (lang->numbers.count(type)) category_[sym] = kNumber;
      else if (lang->docstrings.count(type)) category_[sym] = kDocstringStatement;
      else if (lang->imports.count(type)) category_[sym] = kImport;
      else if (lang->string_concatenations.count(type)) category_[sym] = kConcatenation;
      else if (lang->macro_definitions.count(type)) category_[sym] = kMacroDefinition;
      else if (lang->macro_constants.count(type)) category_[sym] = kMacroConstant;
      const std::string_view t(type);
      const bool anonymous = ts_language_symbol_type(lang->grammar, static_cast<TSSymbol>(sym)) == TSSymbolTypeAnonymous;
      if (anonymous) {
        fixed_hash_[sym] = Hash(type);
        fixed_text_[sym] = type;
        if (ReservedWords().count(type)) keywords_.insert(type);
        if (!t.empty() && std::all_of(t.begin(), t.end(), [](char ch) { return IsWordChar(ch); })) {
          not_names_.insert(t);
        }
      }
    }
    for (const std::string& w : lang->word_tokens) literal_words_.insert(w);
    // Names that grammars read as nodes of their own (self in Rust) or as names (self in
    // Python): not rows, rather than a guess.
    for (const std::string_view w : {"this", "self", "super"}) not_names_.insert(w);
    has_lifetimes_ = ts_language_symbol_for_name(lang->grammar, "lifetime", 8, true) != 0;
    if (!lang->macro_definitions.empty() || !lang->macro_constants.empty()) macro_lexer_ = NewMacroBodyLexer(lang);
    for (size_t k = 0; k < kRowPunct.size(); ++k) row_punct_hash_[k] = Hash(kRowPunct.substr(k, 1));
    for (const char c : std::string_view("()[]{}\"'`")) bracket_special_[static_cast<unsigned char>(c)] = true;
    for (const std::string_view opener : {std::string_view(lang->line_comment), std::string_view(lang->block_open)}) {
      if (!opener.empty()) bracket_special_[static_cast<unsigned char>(opener[0])] = true;
    }
  }
  std::string_view Name() const override { return name_; }

  std::vector<std::pair<uint32_t, uint32_t>> LexedRows(std::string_view text) const {
    std::vector<std::pair<uint32_t, uint32_t>> out;
    for (const TableRun& run : FindTableRuns(text)) out.emplace_back(run.first_line, run.end_line);
    return out;
  }

  Status Tokenize(std::string_view text, Tokens* out, uint32_t base_offset,
                  uint32_t base_line) const override {
    return Run(text, out, base_offset, base_line, nullptr);
  }
  Status TokenizeCountingUnread(std::string_view text, Tokens* out, uint32_t base_offset, uint32_t base_line,
                                uint32_t* unread_bytes) const override {
    *unread_bytes = 0;
    return Run(text, out, base_offset, base_line, unread_bytes);
  }

 private:
  // Tokenize; with `unread`, the bytes the parses kept could not read are added to it.
  Status Run(std::string_view text, Tokens* out, uint32_t base_offset, uint32_t base_line, uint32_t* unread) const {
    out->clear();
    DOPPEL_RETURN_IF_ERROR(CheckInput(text, base_offset));
    // Runs of data-table rows are lexed; the code between them is parsed, each piece alone.
    const std::vector<TableRun> runs = FindTableRuns(text);
    size_t at = 0;
    uint32_t line = base_line;
    for (const TableRun& run : runs) {
      DOPPEL_RETURN_IF_ERROR(
          Parse(text.substr(at, run.begin - at), out, base_offset + static_cast<uint32_t>(at), line, unread));
      for (Token t : run.tokens) {
        t.begin += base_offset;
        t.end += base_offset;
        t.line += base_line;
        out->push_back(t);
      }
      at = run.end;
      line = base_line + run.end_line;
    }
    DOPPEL_RETURN_IF_ERROR(Parse(text.substr(at), out, base_offset + static_cast<uint32_t>(at), line, unread));
    DropCosmeticPunctuation(out);
    return Status::OK();
  }

  // Appends the tokens of `text` (a whole input, or a piece of one between table runs) from its
  // syntax tree, before cosmetic punctuation is dropped; with `unread`, adds the bytes that the
  // parse whose tokens are kept could not read (UnreadBytes).
  Status Parse(std::string_view text, Tokens* out, uint32_t base_offset, uint32_t base_line, uint32_t* unread) const {
    const size_t first = out->size();
    if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return Status::OK();
    TSParser* parser = ThreadParser(lang_->grammar);
    if (parser == nullptr) {
      return Status::Internal("grammar " + lang_->name + " has an ABI this tree-sitter cannot load");
    }
    TSTree* tree = ts_parser_parse_string(parser, nullptr, text.data(), static_cast<uint32_t>(text.size()));
    if (tree == nullptr) return Status::Internal("tree-sitter returned no tree for " + lang_->name);
    uint32_t errors = 0;
    Walk(tree, text, 0, static_cast<uint32_t>(text.size()), base_offset, base_line, out, &errors);
    const bool has_error = ts_node_has_error(ts_tree_root_node(tree));
    // The parse is kept until the snippet wrapper's is known: its unread bytes count only when
    // the wrapper does not read the snippet whole.
    auto count_unread = [&] {
      if (has_error && unread != nullptr) {
        *unread += UnreadBytes(ts_tree_root_node(tree),
                               [&](TSSymbol sym) { return sym < category_.size() && category_[sym] == kComment; });
      }
      ts_tree_delete(tree);
    };
    // A snippet that does not parse alone (a method without its class) is parsed again inside
    // the language's snippet wrapper; when that parses cleanly, its tokens are the snippet's
    // tokens as they read in a file, minus the wrapper's. Such snippets leave a few error nodes
    // (1-20 seen on methods of the code corpus); text that leaves more is not a member out of
    // its class (a table cut from a file leaves hundreds), and tree-sitter's error recovery,
    // milliseconds on such text, is not paid twice. Nor is it paid for text whose brackets do
    // not pair up with the wrapper's (most windows cut from a file), which the wrapper does not
    // make parse.
    if (has_error && errors <= kMaxSnippetErrors && !lang_->snippet_open.empty() && text.size() <= kMaxSnippetBytes &&
        BracketsBalance(lang_->snippet_open, out->data() + first, out->data() + out->size(), lang_->snippet_close)) {
      std::string wrapped;
      wrapped.reserve(lang_->snippet_open.size() + text.size() + lang_->snippet_close.size() + 2);
      wrapped.append(lang_->snippet_open).append("\n").append(text).append("\n").append(lang_->snippet_close);
      TSTree* again = ts_parser_parse_string(parser, nullptr, wrapped.data(), static_cast<uint32_t>(wrapped.size()));
      if (again != nullptr && !ts_node_has_error(ts_tree_root_node(again))) {
        const uint32_t at = static_cast<uint32_t>(lang_->snippet_open.size() + 1);
        out->resize(first);
        Walk(again, wrapped, at, at + static_cast<uint32_t>(text.size()), base_offset, base_line, out, &errors);
        ts_tree_delete(again);
        ts_tree_delete(tree);  // read whole
        return Status::OK();
      }
      if (again != nullptr) ts_tree_delete(again);
    }
    count_unread();
    return Status::OK();
  }

  enum : uint8_t { kOther, kComment, kString, kIdentifier, kNumber, kDocstringStatement, kImport, kConcatenation, kMacroDefinition, kMacroConstant };
  // A node of adjacent string literals (string_concatenations), as tokens: each run of strings
  // one string spelled as their joined contents, a name between them (C's `"a" PRIu64 "b"`) a
  // name; comments dropped. False, and nothing emitted, when it holds anything else. `cursor` is
  // at the node, and is left there: its children are read through it, as ts_node_child(node, k)
  // walks from the first child every time (quadratic in the thousands of literals of a generated
  // table such as pydoc's topics).
  template <typename Emit>
  bool EmitConcatenation(TSTreeCursor* cursor, std::string_view src, const Emit& emit) const {
    auto category = [&](TSNode part) {
      const TSSymbol sym = ts_node_symbol(part);
      return sym < category_.size() ? category_[sym] : static_cast<uint8_t>(kOther);
    };
    // Calls f(child, category) for each child, stopping when it returns false; false then.
    auto each_child = [&](const auto& f) {
      bool all = true;
      if (!ts_tree_cursor_goto_first_child(cursor)) return true;
      do {
        const TSNode part = ts_tree_cursor_current_node(cursor);
        if (!f(part, category(part))) {
          all = false;
          break;
        }
      } while (ts_tree_cursor_goto_next_sibling(cursor));
      ts_tree_cursor_goto_parent(cursor);
      return all;
    };
    if (!each_child([&](TSNode, uint8_t cat) { return cat == kComment || cat == kString || cat == kIdentifier; })) {
      return false;
    }
    JoinedName joined;
    uint32_t run_begin = 0, run_end = 0, run_row = 0;
    auto flush = [&] {
      if (run_end > run_begin) emit(kStr, joined.Name(), run_begin, run_end, run_row);
      run_begin = run_end = 0;
    };
    each_child([&](TSNode part, uint8_t cat) {
      const uint32_t b = ts_node_start_byte(part), e = ts_node_end_byte(part);
      if (cat == kComment || b == e) return true;
      if (cat == kIdentifier) {
        flush();
        emit(kId, Hash(src.substr(b, e - b)), b, e, ts_node_start_point(part).row);
        return true;
      }
      const std::string_view content = StringContent(src.substr(b, e - b));
      if (run_end == run_begin) {
        run_begin = b;
        run_row = ts_node_start_point(part).row;
        joined.Start(content);
      } else {
        joined.Add(content);
      }
      run_end = e;
      return true;
    });
    flush();
    return true;
  }
  static constexpr TSSymbol kErrorSymbol = static_cast<TSSymbol>(-1);  // tree-sitter's ERROR nodes
  // Longer inputs are files, not snippets (an answer's code block is a few KB): a file with a
  // parse error is not parsed twice.
  static constexpr size_t kMaxSnippetBytes = 16 * 1024;
  static constexpr uint32_t kMaxSnippetErrors = 32;

  // The tokens of the leaves of `tree` (over `src`) that lie in [lo, hi), with offsets and lines
  // made relative to lo: lo is 0 for a plain parse, the wrapper's length for a wrapped one
  // (whose first line is the wrapper's). Counts the error and missing nodes met in `errors`.
  void Walk(TSTree* tree, std::string_view src, uint32_t lo, uint32_t hi, uint32_t base_offset,
            uint32_t base_line, Tokens* out, uint32_t* errors) const {
    const uint32_t line_shift = lo == 0 ? 0 : 1;
    TSTreeCursor cursor = ts_tree_cursor_new(ts_tree_root_node(tree));
    out->reserve(out->size() + (hi - lo) / 4 + 4);
    // import_depth is the depth of the import statement the walk is in (-1: none), which
    // begins at byte import_begin of src.
    int import_depth = -1;
    uint32_t import_begin = 0;
    int macro_depth = -1;  // the depth of the macro definition the walk is in (-1: none)
    bool macro_constant = false;  // that macro is a constant (macro_constants)
    Tokens body;           // a macro body's tokens
    auto emit = [&](uint64_t hash, uint64_t name, uint32_t b, uint32_t e, uint32_t row) {
      if (b < lo || e > hi) return;  // the wrapper's own tokens
      out->push_back(Token{hash, name, b - lo + base_offset, e - lo + base_offset, row - line_shift + base_line,
                           import_depth >= 0 ? std::max(import_begin, lo) - lo + base_offset + 1 : 0u});
    };
    // Depth-first over the tree; the loop invariant is that the cursor's node has not been
    // visited yet. error_depth is the depth of the ERROR node the walk is in (-1: none).
    int depth = 0, error_depth = -1;
    for (;;) {
      const TSNode node = ts_tree_cursor_current_node(&cursor);
      if (error_depth >= 0 && depth <= error_depth) error_depth = -1;  // past its subtree
      if (import_depth >= 0 && depth <= import_depth) import_depth = -1;
      if (macro_depth >= 0 && depth <= macro_depth) macro_depth = -1;
      const TSSymbol sym = ts_node_symbol(node);
      *errors += sym == kErrorSymbol;
      if (sym == kErrorSymbol && error_depth < 0) error_depth = depth;
      const uint8_t cat = sym < category_.size() ? category_[sym] : static_cast<uint8_t>(kOther);
      if (cat == kImport && import_depth < 0) {
        import_depth = depth;
        import_begin = ts_node_start_byte(node);
      }
      if ((cat == kMacroDefinition || cat == kMacroConstant) && macro_depth < 0) {
        macro_depth = depth;
        macro_constant = cat == kMacroConstant;
      }
      if (cat == kComment || (cat == kDocstringStatement && IsDocstring(node))) {
        // dropped with its children
      } else if (cat == kConcatenation && EmitConcatenation(&cursor, src, emit)) {
        // its strings joined
      } else if (cat == kString) {
        const uint32_t b = ts_node_start_byte(node), e = ts_node_end_byte(node);
        if (b == e) {
          *errors += ts_node_is_missing(node);
        } else {
          emit(kStr, StringName(src.substr(b, e - b)), b, e, ts_node_start_point(node).row);
        }
      } else if (ts_tree_cursor_goto_first_child(&cursor)) {
        ++depth;
        continue;  // an inner node: its leaves are the tokens
      } else if (const uint32_t b = ts_node_start_byte(node), e = ts_node_end_byte(node); b == e) {
        *errors += ts_node_is_missing(node);  // a missing node is an empty leaf
      } else {
        const std::string_view leaf = src.substr(b, e - b);
        const uint32_t row = ts_node_start_point(node).row;
        if (macro_depth >= 0 && depth == macro_depth + 1 && cat == kOther && ts_node_is_named(node) &&
            macro_lexer_ != nullptr && macro_lexer_->Tokenize(leaf, &body, 0, 0).ok()) {
          // A macro's body (C's preproc_arg): its tokens, as the lexer reads them, or a constant's
          // as one token.
          EmitMacroBody(leaf, body, macro_constant,
                        [&](uint64_t hash, uint64_t name, uint32_t tb, uint32_t te, uint32_t l) { emit(hash, name, b + tb, b + te, row + l); });
        } else if (cat == kIdentifier && error_depth >= 0 && keywords_.count(leaf) && !AfterMemberAccess(*out)) {
          // Inside an ERROR node tree-sitter reads keywords as names (`if (x) {` in a method
          // cut from its class, after code that does not close): they are the keywords
          // (reserved words only, and not after `.` or `::`, where `p.catch` is a name).
          emit(Hash(leaf), 0, b, e, row);
        } else if (cat == kIdentifier) {
          emit(kId, Hash(leaf), b, e, row);
        } else if (cat == kNumber) {
          emit(kNum, Hash(leaf), b, e, row);
        } else {
          // Keywords and operators: their text is their symbol name (cached hash), except
          // for nodes aliased to another text, which are hashed as they are written.
          const bool fixed = sym < fixed_text_.size() && fixed_text_[sym] == leaf;
          emit(fixed ? fixed_hash_[sym] : Hash(leaf), 0, b, e, row);
        }
      }
      bool moved = false;
      while (!(moved = ts_tree_cursor_goto_next_sibling(&cursor))) {
        if (!ts_tree_cursor_goto_parent(&cursor)) break;
        --depth;
      }
      if (!moved) break;
    }
    ts_tree_cursor_delete(&cursor);
  }



  // A run of data-table rows: lines [begin, end) of the text, lexed into `tokens` (offsets from
  // the text's start, lines counted from 0); end_line is the line that follows the run.
  struct TableRun {
    size_t begin = 0, end = 0;
    uint32_t first_line = 0, end_line = 0;
    Tokens tokens;
  };
  // Rows of literals (`{ "help.intro", "Usage" },`, `0x2982f8cc, 0xf4c75274,`) are lexed as they
  // are read when at least kMinTableRows of them follow each other (with blank lines, comment
  // lines and lines of brackets and commas between them) outside any bracket the text opens: a
  // table cut from its initializer, as in a window of a data file pasted into an answer. Every
  // row is then a parse error, and tree-sitter's error recovery spends 3-20 ms on 100 of them;
  // lexed, they cost microseconds. A row holds only literals, names and a table's punctuation,
  // so its tokens from the lexer are the tokens of its leaves in a syntax tree. A table inside
  // its initializer (every table of a whole file) parses cleanly and is parsed.
  static constexpr uint32_t kMinTableRows = 16;
  std::vector<TableRun> FindTableRuns(std::string_view text) const {
    // Candidate runs first (lines only: most code fails a row's first characters), then the
    // bracket depth at each candidate's start, and the tokens of those that are outside.
    struct Candidate {
      size_t begin, end;
      uint32_t first_line, end_line;
    };
    std::vector<Candidate> candidates;
    uint32_t rows = 0;  // literal rows of the current candidate
    Candidate cur{};
    Tokens scratch;
    uint32_t line = 0;
    for (size_t b = 0; b < text.size(); ++line) {
      size_t e = text.find('\n', b);
      const size_t next = e == std::string_view::npos ? text.size() : e + 1;
      if (e == std::string_view::npos) e = text.size();
      // Outside a run only a literal row matters, and a literal row ends in a comma: a line
      // without one (most code), or with code after its last comma and no comment that could
      // hold that code (`f(a, b);`), is not read further.
      if (rows == 0 && !MayEndInComma(text.substr(b, e - b))) {
        b = next;
        continue;
      }
      RowKind kind = LexRow(text, b, e, line, RowRead::kShape, nullptr);
      // The names checked too, where it matters (outside a candidate, a filler is as any line).
      if (kind == RowKind::kLiterals || (kind == RowKind::kFiller && rows > 0)) {
        kind = LexRow(text, b, e, line, RowRead::kNames, nullptr);
      }
      if (kind == RowKind::kLiterals) {
        if (rows++ == 0) {
          cur.begin = b;
          cur.first_line = line;
        }
        cur.end = next;
        cur.end_line = line + 1;
      } else if (kind == RowKind::kNone) {
        if (rows >= kMinTableRows) candidates.push_back(cur);
        rows = 0;
      }
      b = next;
    }
    if (rows >= kMinTableRows) candidates.push_back(cur);

    std::vector<TableRun> runs;
    int depth = 0;  // brackets the text opened before `at` and has not closed
    size_t at = 0;
    std::string_view open_until;  // the end of a comment or string that spans lines, while in one
    auto scan_to = [&](size_t to) {
      while (at < to) {
        size_t e = text.find('\n', at);
        if (e == std::string_view::npos || e > to) e = to;
        LineBrackets(text, at, e, &open_until, &depth);
        at = e + 1;
      }
      at = to;
    };
    for (const Candidate& c : candidates) {
      scan_to(c.begin);
      if (depth == 0 && open_until.empty()) {
        TableRun run;
        run.begin = c.begin;
        run.end = c.end;
        run.first_line = c.first_line;
        run.end_line = c.end_line;
        line = c.first_line;
        for (size_t b = c.begin; b < c.end; ++line) {
          size_t e = text.find('\n', b);
          if (e == std::string_view::npos) e = text.size();
          LexRow(text, b, e, line, RowRead::kTokens, &scratch);
          run.tokens.insert(run.tokens.end(), scratch.begin(), scratch.end());
          b = e + 1;
        }
        runs.push_back(std::move(run));
      }
      scan_to(c.end);
    }
    return runs;
  }

  // Whether a line may end in a comma token, as a table's row does: only blanks follow its
  // last comma, or the line holds a comment opener (`1, 2, // a, b`: the comment's commas).
  bool MayEndInComma(std::string_view line) const {
    const size_t comma = line.rfind(',');
    if (comma == std::string_view::npos) return false;
    if (line.find_first_not_of(" \t\r", comma + 1) == std::string_view::npos) return true;
    return (!lang_->line_comment.empty() && line.find(lang_->line_comment) != std::string_view::npos) ||
           (!lang_->block_open.empty() && line.find(lang_->block_open) != std::string_view::npos);
  }

  // Counts the brackets of a line of code into *depth, which never goes below 0 (a bracket
  // closed that the text did not open is not counted: brackets opened after it still enclose).
  // Strings and comments are skipped roughly: a quote that does not close on its line ends the
  // line's count; `open_until` is the delimiter that ends a comment or string spanning lines
  // (*/, """, ''' or `) while in one.
  void LineBrackets(std::string_view text, size_t b, size_t e, std::string_view* open_until, int* depth) const {
    size_t i = b;
    while (i < e) {
      const std::string_view rest = text.substr(i, e - i);
      if (!open_until->empty()) {
        const size_t f = rest.find(*open_until);
        if (f == std::string_view::npos) break;
        i += f + open_until->size();
        *open_until = std::string_view();
        continue;
      }
      const char c = text[i];
      if (!bracket_special_[static_cast<unsigned char>(c)]) {  // most characters
        ++i;
        continue;
      }
      if (Opens(rest, lang_->line_comment)) break;
      if (Opens(rest, lang_->block_open)) {
        *open_until = lang_->block_close;
        i += lang_->block_open.size();
      } else if (rest.substr(0, 3) == "\"\"\"" || rest.substr(0, 3) == "'''") {
        *open_until = rest.substr(0, 3);
        i += 3;
      } else if (c == '`') {
        *open_until = rest.substr(0, 1);
        ++i;
      } else if (c == '\'' && has_lifetimes_ && i + 2 < e && IsWordChar(text[i + 1]) && text[i + 2] != '\'') {
        ++i;  // a lifetime or label ('a, 'static), not a character
      } else if (c == '"' || c == '\'') {
        const size_t end = StringEnd(text, i, e);
        if (end == 0) break;  // (rather than looking for its end again from each later quote)
        i = end;
      } else {
        if (c == '(' || c == '[' || c == '{') ++*depth;
        if ((c == ')' || c == ']' || c == '}') && *depth > 0) --*depth;
        ++i;
      }
    }
  }

  enum class RowKind { kNone, kFiller, kLiterals };
  // Reads the line text[b, e) as a table row: kLiterals for a row with a string or number
  // literal that ends in a comma, kFiller for a blank or comment line or one of brackets, commas
  // and names only, kNone for any other line. A row is made of string literals closed on the
  // line (with a prefix such as L or b), numbers, names that are not keywords, ( ) [ ] { } , and
  // a : that is not part of another operator or a symbol, and may end in a comment. `read`:
  // kShape reads the line's shape only (names are not checked), kNames also checks its names,
  // kTokens also replaces `*out` with its tokens.
  enum class RowRead { kShape, kNames, kTokens };
  RowKind LexRow(std::string_view text, size_t b, size_t e, uint32_t line, RowRead read, Tokens* out) const {
    auto is_word = [](unsigned char c) { return IsWordChar(static_cast<char>(c)) || c == '$'; };
    auto push = [&](uint64_t hash, uint64_t name, size_t from, size_t to) {
      if (out != nullptr) out->push_back(Token{hash, name, static_cast<uint32_t>(from), static_cast<uint32_t>(to), line});
    };
    if (out != nullptr) out->clear();
    bool literal = false, comma_last = false;
    size_t i = b;
    // The string literal from i (a prefix, if any) whose opening quote is text[quote], if it
    // closes on the line.
    auto string_literal = [&](size_t quote) {
      const size_t end = StringEnd(text, quote, e);
      // Not a suffix glued to it ("a"sv, "GET"u8: another token, or one, in the parse) nor an
      // interpolation in a template string.
      if (end == 0 || (end < e && is_word(static_cast<unsigned char>(text[end])))) return false;
      if (text[quote] == '`' && text.substr(quote, end - quote).find("${") != std::string_view::npos) return false;
      if (out != nullptr) push(kStr, StringName(text.substr(i, end - i)), i, end);
      literal = true;
      comma_last = false;
      i = end;
      return true;
    };
    while (i < e) {
      const auto c = static_cast<unsigned char>(text[i]);
      const std::string_view rest = text.substr(i, e - i);
      if (c == ' ' || c == '\t' || c == '\r') {
        ++i;
      } else if (Opens(rest, lang_->line_comment)) {
        break;  // the rest of the line is a comment
      } else if (Opens(rest, lang_->block_open)) {
        const size_t close = rest.find(lang_->block_close, lang_->block_open.size());
        if (close == std::string_view::npos) return RowKind::kNone;
        i += close + lang_->block_close.size();
      } else if (c == '"' || c == '\'' || c == '`') {
        if (!string_literal(i)) return RowKind::kNone;
      } else if (c >= '0' && c <= '9') {
        const size_t start = i;
        const bool hex = text.substr(i, 2) == "0x" || text.substr(i, 2) == "0X";
        while (i < e) {
          const char d = text[i];
          if (is_word(static_cast<unsigned char>(d)) && d != '$') {
            ++i;
          } else if (d == '.' && (i + 1 == e || (text[i + 1] >= '0' && text[i + 1] <= '9') ||
                                  (text[i + 1] != '.' && !IsWordChar(text[i + 1])))) {
            ++i;  // a decimal point (not a range, 0..10, nor a member, 5.minutes)
          } else if ((d == '-' || d == '+') && (hex ? (text[i - 1] == 'p' || text[i - 1] == 'P')
                                                    : (text[i - 1] == 'e' || text[i - 1] == 'E'))) {
            ++i;
          } else {
            break;
          }
        }
        // A range, a member, or a digit separator (C++'s 0xFFFF'0000): not a row.
        if (i < e && (text[i] == '.' || text[i] == '\'')) return RowKind::kNone;
        if (out != nullptr) push(kNum, Hash(text.substr(start, i - start)), start, i);
        literal = true;
        comma_last = false;
      } else if (is_word(c)) {  // not a digit: numbers come first
        size_t end = i;
        while (end < e && is_word(static_cast<unsigned char>(text[end]))) ++end;
        const std::string_view word = text.substr(i, end - i);
        if (end < e && (text[end] == '"' || text[end] == '\'')) {
          // A prefixed string (L"..", b'..', u8"..", f".."), or a name against a quote.
          static const std::unordered_set<std::string_view> kPrefixes = {"L", "u", "U", "u8", "b", "B", "f", "F", "r", "br", "rb", "c"};
          if (!kPrefixes.count(word) || !string_literal(end)) return RowKind::kNone;
          continue;
        }
        comma_last = false;
        if (read != RowRead::kShape) {
          if (literal_words_.count(word)) {
            if (end < e && text[end] == ':') return RowKind::kNone;  // a key ({ true: 1 }): a name
            if (out != nullptr) push(Hash(word), 0, i, end);
            i = end;
            continue;
          }
          if (not_names_.count(word)) return RowKind::kNone;
          if (out != nullptr) push(kId, Hash(word), i, end);
        }
        i = end;
      } else if (c == ':') {
        // Not `::`, `:=` or a symbol (`:name`, `:"text/html"`).
        if (i + 1 < e && (text[i + 1] == ':' || text[i + 1] == '=' || text[i + 1] == '"' || text[i + 1] == '\'' ||
                          is_word(static_cast<unsigned char>(text[i + 1])))) {
          return RowKind::kNone;
        }
        if (i > b && text[i - 1] == ':') return RowKind::kNone;
        push(row_punct_hash_[kRowPunct.find(':')], 0, i, i + 1);
        comma_last = false;
        ++i;
      } else if (const size_t k = kRowPunct.find(static_cast<char>(c)); k != std::string_view::npos) {
        push(row_punct_hash_[k], 0, i, i + 1);
        comma_last = c == ',';
        ++i;
      } else {
        return RowKind::kNone;
      }
    }
    if (!literal) return RowKind::kFiller;
    // A table's row ends in a comma (a call statement, `option(opts, "-x")`, does not).
    return comma_last ? RowKind::kLiterals : RowKind::kNone;
  }

  // The end of the string literal whose opening quote is text[q], if it closes before e (0 if
  // not). Triple quotes open strings that span lines, which rows do not hold.
  static size_t StringEnd(std::string_view text, size_t q, size_t e) {
    const char quote = text[q];
    if (q + 2 < e && text[q + 1] == quote && text[q + 2] == quote) return 0;
    for (size_t i = q + 1; i < e; ++i) {
      if (text[i] == '\\' && quote != '`') {
        ++i;
      } else if (text[i] == quote) {
        return i + 1;
      }
    }
    return 0;
  }

  // A statement holding nothing but a string literal (a docstring) carries no code.
  bool IsDocstring(TSNode node) const {
    if (ts_node_named_child_count(node) != 1) return false;
    const TSSymbol child = ts_node_symbol(ts_node_named_child(node, 0));
    return child < category_.size() && category_[child] == kString;
  }

  std::vector<uint8_t> category_;     // by grammar symbol
  std::vector<uint64_t> fixed_hash_;  // anonymous symbols: hash of their name
  std::vector<std::string_view> fixed_text_;  // anonymous symbols: their name (static strings)
  std::unordered_set<std::string_view> keywords_;  // the grammar's keywords among ReservedWords()
  // Words a table row's lexer does not read as names: the grammar's keywords and the words
  // grammars read as literals or keep verbatim (true, nil, self, _ ...).
  std::unordered_set<std::string_view> not_names_;
  std::unordered_set<std::string_view> literal_words_;  // the table's word_tokens (true, nil, int ...)
  static constexpr std::string_view kRowPunct = "(){}[],:";  // a table row's punctuation
  std::array<uint64_t, kRowPunct.size()> row_punct_hash_;     // their token hashes
  std::unique_ptr<Tokenizer> macro_lexer_;  // macro bodies (macro_definitions, macro_constants), or null
  bool has_lifetimes_ = false;  // the grammar has Rust's lifetimes ('a), which are not characters
  // The characters LineBrackets looks at: brackets, quotes and the comments' first characters.
  std::array<bool, 256> bracket_special_{};

  const Language* lang_;
  std::string name_;
};

// The first pass of a scan: the tokens a parse would give, read by a lexer at a fraction of
// the parse's cost. The grammar supplies the words it keeps verbatim (its keywords, which are
// anonymous nodes) and the operators it knows (maximal munch over them); the language table
// supplies comments and literal words; a table here (kWords) the leaves grammars name after
// their text (this, self) and the words they read as keywords only in some places.
// What a lexer cannot know from the text alone (a contextual keyword read as a name, `>>`
// closing two generic lists, a regular expression after `)`) makes it differ from the parse
// here and there; a scan only uses these tokens to decide which files to parse.
class CodeLexer final : public Tokenizer {
 public:
  // macro_body: the lexer of a macro's body (no directives; a backslash ending a line is a space).
  explicit CodeLexer(const Language* lang, bool macro_body = false)
      : lang_(lang), name_(std::string(kCodeLexerVersion) + "/" + lang->name), macro_body_(macro_body) {
    if (!macro_body && (!lang->macro_definitions.empty() || !lang->macro_constants.empty())) {
      macro_lexer_ = std::make_unique<CodeLexer>(lang, true);
    }
    const uint32_t n = ts_language_symbol_count(lang->grammar);
    for (uint32_t sym = 0; sym < n; ++sym) {
      if (ts_language_symbol_type(lang->grammar, static_cast<TSSymbol>(sym)) != TSSymbolTypeAnonymous) continue;
      const char* name = ts_language_symbol_name(lang->grammar, static_cast<TSSymbol>(sym));
      if (name == nullptr || *name == '\0') continue;
      const std::string_view t(name);
      if (std::all_of(t.begin(), t.end(), [](char c) { return IsWordChar(static_cast<unsigned char>(c)); })) {
        if (std::isdigit(static_cast<unsigned char>(t[0]))) continue;
        Word& w = words_[t];
        w.keyword = true;
        // A keyword spelled as a node type the table names (TypeScript's `number` and `string`
        // types) takes that node's category in the parse, which looks categories up by name.
        // (In the parse's order: strings, then names, then numbers.)
        w.kind = lang->strings.count(name) ? kStr : lang->identifiers.count(name) ? kId : lang->numbers.count(name) ? kNum : 0;
      } else if (t.size() > 1 && (t.back() == '!' || t.back() == '?') &&
                 std::all_of(t.begin(), t.end() - 1, [](char c) { return IsWordChar(static_cast<unsigned char>(c)); })) {
        // macro_rules! (Rust), defined? (Ruby, whose names may end in ? or !)
        (t.back() == '!' ? words_[t].bang : words_[t].keyword) = true;
      } else if (t[0] == '#' && t.size() > 1 && std::isalpha(static_cast<unsigned char>(t[1]))) {
        directives_.insert(t);
      } else if (t.size() <= 4 && std::none_of(t.begin(), t.end(), [](char c) {
                   return IsWordChar(static_cast<unsigned char>(c)) || c == ' ' || c == '"' || c == '\'' || c == '`';
                 })) {
        operators_.insert(t);
      }
    }
    dollar_names_ = lang->name == "javascript" || lang->name == "typescript" || lang->name == "tsx";
    for (const std::string& w : lang->word_tokens) {
      words_[w].keyword = true;
      operand_words_.insert(Hash(w));  // true, null: a `/` after them divides
    }
    for (const std::string& w : lang->lexer_leaves) {
      words_[w].keyword = true;
      operand_words_.insert(Hash(w));  // this, self
    }
    auto mark_keywords = [&](const std::vector<std::string>& list, bool Word::*flag) {
      for (const std::string& w : list) {
        if (auto it = words_.find(w); it != words_.end() && it->second.keyword) it->second.*flag = true;
      }
    };
    mark_keywords(lang->lexer_contextual, &Word::contextual);
    mark_keywords(lang->lexer_member_keywords, &Word::member_keyword);
    for (const std::string& w : lang->lexer_fragments) {
      if (auto it = words_.find(w); it != words_.end() && it->second.keyword) {
        it->second.keyword = false;
        it->second.fragment = true;
      }
    }
    // `_` is a name in the parse of most files of the other languages (a few patterns read it
    // as a keyword).
    if (auto it = words_.find("_"); it != words_.end() && lang->name != "rust") it->second.keyword = false;
    // Ruby's number suffixes (3i, 2r, 1ri) are words of its grammar, and names everywhere else.
    if (lang->name == "ruby") {
      for (const std::string_view suffix : {"i", "r", "ri"}) words_.erase(suffix);
    }
    operators_.insert("...");
    if (dollar_names_) operators_.insert("?.");  // optional chaining (a named leaf, not a keyword)
    operators_.erase("?:");
    for (auto it = operators_.begin(); it != operators_.end();) {
      // Bracket pairs (C++'s operator() and [[attributes]]) are read one bracket at a time.
      it = it->size() > 1 && it->find_first_of("()[]{}") != std::string::npos ? operators_.erase(it) : std::next(it);
    }
    for (const std::string_view op : operators_) {
      if (op.size() > 1) operator_starts_.set(PairIndex(op[0], op[1]));
    }
    rust_ = lang->name == "rust";
    csharp_ = lang->name == "c_sharp";
    python_ = lang->name == "python";
    ruby_ = lang->name == "ruby";
    c_like_ = lang->name == "c" || lang->name == "cpp";
    generics_ = lang->name != "c" && !python_ && !ruby_ && lang->name != "go" && lang->name != "javascript";
    types_ = lang->name == "typescript" || lang->name == "tsx";
    jsx_ = lang->name == "javascript" || lang->name == "tsx";
    joins_strings_ = !lang->string_concatenations.empty();
    c_only_ = lang->name == "c";
    slash_regex_ = lang->strings.count("regex") > 0;
    signed_numbers_ = lang->lexer_signed_numbers;
    // Spelled sequences joined by `+` as token hashes (`*`, which any token matches: 0).
    auto sequence = [](const std::string& joined) {
      std::vector<uint64_t> seq;
      for (size_t b = 0; b <= joined.size();) {
        const size_t e = std::min(joined.find('+', b), joined.size());
        if (e > b) seq.push_back(joined.compare(b, e - b, "*") == 0 ? 0 : Hash(joined.substr(b, e - b)));
        b = e + 1;
      }
      return seq;
    };
    for (const std::string& w : lang->lexer_imports) {
      ImportOpener o{sequence(w), w.size() > 1 && w[0] == '#' && std::isalpha(static_cast<unsigned char>(w[1]))};
      if (!o.tokens.empty()) import_openers_.push_back(std::move(o));
    }
    for (const std::string& w : lang->lexer_imports_not_before) import_not_before_.push_back(sequence(w));
    imports_end_at_line_ = lang->lexer_imports_end_at_line;
  }
  std::string_view Name() const override { return name_; }

  Status Tokenize(std::string_view text, Tokens* out, uint32_t base_offset, uint32_t base_line) const override {
    out->clear();
    DOPPEL_RETURN_IF_ERROR(CheckInput(text, base_offset));
    out->reserve(text.size() / 4 + 4);
    const size_t n = text.size();
    uint32_t line = base_line;
    int depth = 0;                 // brackets open
    int macro_depth = -1;          // Rust: the depth outside the macro token tree the lexer is in
    size_t line_first_token = 0;   // index in *out of the first token of the current line
    auto at = [&](size_t i) -> unsigned char { return i < n ? static_cast<unsigned char>(text[i]) : 0; };
    auto push = [&](uint64_t hash, uint64_t name, size_t b, size_t e, uint32_t l) {
      out->push_back(Token{hash, name, static_cast<uint32_t>(b) + base_offset, static_cast<uint32_t>(e) + base_offset, l});
    };
    auto count_lines = [&](size_t b, size_t e) {
      for (size_t k = b; k < e; ++k) line += text[k] == '\n';
    };
    // A preprocessor directive's argument from `from` to the end of its line (`continued`:
    // over lines ending in a backslash too), trimmed, as one token (the grammar's preproc_arg);
    // returns where the line ends.
    auto directive_end = [&](size_t from, bool continued) {
      size_t end = from;
      while (end < n && text[end] != '\n') {
        const size_t escaped = !continued || text[end] != '\\' ? 0 : at(end + 1) == '\n' ? 2 : at(end + 1) == '\r' && at(end + 2) == '\n' ? 3 : 0;
        end += escaped > 0 ? escaped : 1;
      }
      return end;
    };
    auto push_directive_argument = [&](size_t from, bool continued) {
      const size_t end = directive_end(from, continued);
      size_t s = from, e = end;
      while (s < end && (text[s] == ' ' || text[s] == '\t')) ++s;
      while (e > s && (text[e - 1] == ' ' || text[e - 1] == '\t' || text[e - 1] == '\r')) --e;
      if (e > s) push(Hash(text.substr(s, e - s)), 0, s, e, line);
      count_lines(from, end);
      return end;
    };
    // A macro's body from `from` to the end of its line (over lines ending in a backslash), as
    // the macro body lexer reads it (a constant's as one token); returns where the line ends.
    Tokens body;
    auto push_macro_body = [&](size_t from, bool constant) {
      const size_t end = directive_end(from, /*continued=*/true);
      if (!macro_lexer_->Tokenize(text.substr(from, end - from), &body, 0, 0).ok()) return push_directive_argument(from, true);
      EmitMacroBody(text.substr(from, end - from), body, constant,
                    [&](uint64_t hash, uint64_t name, uint32_t b, uint32_t e, uint32_t l) { push(hash, name, from + b, from + e, line + l); });
      count_lines(from, end);
      return end;
    };
    // The end of a quoted literal from its opening quote at q (closed at the same quote
    // repeated `quotes` times; escapes with a backslash unless raw), or n.
    auto quoted_end = [&](size_t q, char quote, size_t quotes, bool raw, bool single_line) {
      size_t i = q + quotes;
      while (i < n) {
        const char c = text[i];
        if (c == '\\' && !raw) {
          i += 2;
        } else if (c == quote && (quotes == 1 || (i + 2 < n && text[i + 1] == quote && text[i + 2] == quote))) {
          return i + quotes;
        } else if (c == '\n' && single_line) {
          return i;
        } else {
          ++i;
        }
      }
      return n;
    };
    // Whether a `/` here starts a regular expression: after an operator, an opening bracket, a
    // keyword or nothing, not after a name, a literal or a closing bracket.
    auto regex_here = [&]() {
      if (out->empty()) return true;
      const Token& last = out->back();
      if (last.hash == kId || last.hash == kStr || last.hash == kNum || operand_words_.count(last.hash)) return false;
      static const uint64_t kClosers[3] = {Hash(")"), Hash("]"), Hash("}")};
      if (std::find(std::begin(kClosers), std::end(kClosers), last.hash) != std::end(kClosers)) return false;
      return true;
    };
    bool condition_line = false;  // in an #if or #elif line (C, C++)
    // The string literals joined into the last token (string_concatenations), and that token's
    // end (0: none).
    JoinedName joined;
    uint32_t joined_end = 0;
    // JSX (JavaScript and TSX): the elements open around the lexer, innermost last, each with the
    // bracket depth of its `<` and what is being read: its opening tag, its children (text
    // between tags is one leaf, the grammar's jsx_text), or its closing tag.
    enum class Jsx : uint8_t { kTag, kChildren, kClosing };
    std::vector<std::pair<int, Jsx>> jsx;
    // Ruby heredocs opened on the current line: [body start, end of its terminator line).
    std::vector<std::pair<size_t, size_t>> heredocs;
    size_t i = text.starts_with("\xEF\xBB\xBF") ? 3 : 0;  // a byte order mark, which the parse skips
    while (i < n) {
      const unsigned char c = at(i);
      const size_t b = i;
      const uint32_t start_line = line;
      if (!jsx.empty() && jsx.back().second == Jsx::kChildren && jsx.back().first == depth) {
        if (c == '&') {  // a character reference, &amp; &#123; &#x1F;: a leaf of its own
          size_t e = i + 1;
          while (e < n && e < i + 33 && (std::isalnum(at(e)) || at(e) == '#')) ++e;
          if (at(e) == ';' && e > i + 1) {
            push(Hash(text.substr(i, e + 1 - i)), 0, i, e + 1, line);
            i = e + 1;
            continue;
          }
        }
        if (std::string_view("<>{}&").find(static_cast<char>(c)) == std::string_view::npos) {
          // Text up to the next tag, expression or reference: a leaf when it holds more than
          // line breaks and the indentation after them (as the grammar's scanner reads it).
          size_t e = i;
          bool saw_text = false, at_newline = false;
          for (; e < n && std::string_view("<>{}&").find(text[e]) == std::string_view::npos; ++e) {
            if (text[e] == '\n') {
              at_newline = true;
            } else {
              at_newline = at_newline && std::isspace(at(e));
              saw_text = saw_text || !at_newline;
            }
          }
          if (saw_text) push(Hash(text.substr(i, e - i)), 0, i, e, line);
          count_lines(i, e);
          i = e;
          continue;
        }
      }
      if (c == '\n' && !heredocs.empty()) {
        // The bodies of the heredocs opened on the line this newline ends, one after another,
        // each from the newline before it (as the parse reads them). A body that starts before
        // here (a string on the opener's line ran past its end) is not read as one: tokens stay
        // in order and the lexer never goes back.
        for (const auto& [body, body_end] : heredocs) {
          if (body < i) continue;
          count_lines(i, body);
          push(kStr, StringName(text.substr(body, body_end - body)), body, body_end, line);
          count_lines(body, body_end);
          i = body_end;
        }
        heredocs.clear();
        continue;
      }
      if (c == '\n') {
        // (C and C++: the newline that ends an #if or #elif line's condition is a leaf.)
        if (condition_line && !Continued(text, i)) {
          push(kNewline, 0, i, i + 1, line);
          condition_line = false;
        }
        ++line;
        ++i;
        continue;
      }
      if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
        ++i;
        continue;
      }
      if (macro_body_ && c == '\\' && (at(i + 1) == '\n' || (at(i + 1) == '\r' && at(i + 2) == '\n'))) {
        i += at(i + 1) == '\n' ? 2 : 3;  // a line continuation
        ++line;
        continue;
      }
      const std::string_view rest = text.substr(i);
      if (Opens(rest, lang_->line_comment)) {
        const size_t e = text.find('\n', i);
        i = e == std::string_view::npos ? n : e;
        continue;
      }
      if (Opens(rest, lang_->block_open)) {
        const size_t e = text.find(lang_->block_close, i + lang_->block_open.size());
        i = e == std::string_view::npos ? n : e + lang_->block_close.size();
        count_lines(b, i);
        continue;
      }
      if (out->empty() || out->back().line != line) line_first_token = out->size();
      // Strings (with the prefixes that open them).
      size_t q = i;
      bool raw = false, verbatim = false;
      if (IsWordChar(c) && !std::isdigit(c)) {
        size_t e = i;
        while (e < n && IsWordChar(at(e))) ++e;
        const std::string_view word = text.substr(i, e - i);
        if ((at(e) == '"' || at(e) == '\'') && word.size() <= 2 && IsStringPrefix(word)) {
          q = e;
          raw = rust_ && word.find('r') != std::string_view::npos;  // Python's r"\"" still escapes
        } else if (rust_ && (word == "r" || word == "br") && at(e) == '#') {
          q = e;
        }
      } else if ((c == '@' || c == '$') && (at(i + 1) == '"' || ((at(i + 1) == '@' || at(i + 1) == '$') && at(i + 2) == '"'))) {
        q = at(i + 1) == '"' ? i + 1 : i + 2;  // C#: @"..." and $@"..." verbatim, $"..." interpolated
        verbatim = c == '@' || at(i + 1) == '@';
      }
      const unsigned char qc = at(q);
      if (qc == '#' && rust_) {  // r#"..."#
        size_t hashes = 0;
        while (at(q + hashes) == '#') ++hashes;
        if (at(q + hashes) == '"') {
          const std::string close = "\"" + std::string(hashes, '#');
          const size_t e = text.find(close, q + hashes + 1);
          i = e == std::string_view::npos ? n : e + close.size();
          count_lines(b, i);
          push(kStr, StringName(text.substr(b, i - b)), b, i, start_line);
          continue;
        }
      } else if (qc == '"' || qc == '`' || (qc == '\'' && !(rust_ && IsLifetime(text, q)))) {
        size_t e;
        if (qc == '"' && text.compare(q, 3, "\"\"\"") == 0) {
          e = quoted_end(q, '"', 3, raw, false);
        } else if (qc == '\'' && python_ && text.compare(q, 3, "'''") == 0) {
          e = quoted_end(q, '\'', 3, raw, false);
        } else if (qc == '`' && dollar_names_) {
          e = TemplateEnd(text, q);
        } else if (qc == '`') {
          const size_t f = text.find('`', q + 1);  // Go's raw strings, Ruby's commands
          e = f == std::string_view::npos ? n : f + 1;
        } else if (qc == '"' && q > i && text[q - 1] == 'R' && !python_ && !rust_) {
          // C++ raw string R"delim( ... )delim"
          const size_t open = text.find('(', q);
          const std::string close = ")" + std::string(text.substr(q + 1, open == std::string_view::npos ? 0 : open - q - 1)) + "\"";
          const size_t f = open == std::string_view::npos ? std::string_view::npos : text.find(close, open);
          e = f == std::string_view::npos ? n : f + close.size();
        } else if (verbatim) {
          e = q + 1;  // C# verbatim: "" is a quote
          while (e < n && !(text[e] == '"' && at(e + 1) != '"')) e += text[e] == '"' ? 2 : 1;
          e = std::min(n, e + 1);
        } else {
          // (Ruby's and Rust's strings may span lines; Ruby's "..." hold code in #{...}.)
          e = ruby_ ? RubyStringEnd(text, q, 0) : quoted_end(q, static_cast<char>(qc), 1, raw, !rust_);
        }
        i = e;
        count_lines(b, i);
        // A statement that is only a string (a Python docstring) carries no code.
        if (python_ && depth == 0 && line_first_token == out->size() && NextOnLaterLine(text, i)) continue;
        const std::string_view content = StringContent(text.substr(b, i - b));
        const bool joinable = joins_strings_ && qc != '`' && !(c_like_ && qc == '\'');  // not C's characters
        if (joinable && !out->empty() && joined_end == out->back().end &&
            (c_like_ || (python_ && depth > 0) || !LineEndsBetween(text, joined_end - base_offset, b))) {
          // (Python's and Ruby's statements end at a line's end, outside brackets in Python.)
          // Adjacent literals the language joins: one string, spelled as the joined contents.
          joined.Add(content);
          out->back().name = joined.Name();
          out->back().end = static_cast<uint32_t>(i) + base_offset;
        } else {
          joined.Start(content);
          push(kStr, ContentName(content), b, i, start_line);
        }
        joined_end = joinable ? out->back().end : 0;
        continue;
      }
      // (C and C++, lexer_signed_numbers: a sign against a number where an operand begins is
      // part of the literal, `return -1`, `f(-1)`, `(int)-1`, as the grammar reads it.)
      const bool sign = signed_numbers_ && (c == '-' || c == '+') &&
                        (std::isdigit(at(i + 1)) || (at(i + 1) == '.' && std::isdigit(at(i + 2)))) &&
                        OperandBegins(*out, text, base_offset);
      if (sign) ++i;
      const unsigned char d0 = at(i);
      if (std::isdigit(d0) || (d0 == '.' && std::isdigit(at(i + 1)) &&
                               (sign || out->empty() || out->back().end != b + base_offset || out->back().hash == kQuestion))) {
        const bool hex = d0 == '0' && (at(i + 1) == 'x' || at(i + 1) == 'X');
        ++i;
        while (i < n) {
          const unsigned char d = at(i);
          if (IsWordChar(d)) {
            ++i;
          } else if (d == '.' && (std::isdigit(at(i + 1)) || (at(i + 1) != '.' && !IsWordChar(at(i + 1)) && !rust_))) {
            ++i;
          } else if ((d == '-' || d == '+') && (hex ? (text[i - 1] == 'p' || text[i - 1] == 'P') : (text[i - 1] == 'e' || text[i - 1] == 'E'))) {
            ++i;
          } else if (d == '\'' && std::isdigit(at(i + 1)) && !rust_) {
            ++i;  // C++ digit separator
          } else {
            break;
          }
        }
        push(kNum, Hash(text.substr(b, i - b)), b, i, start_line);
        continue;
      }
      if (c == '\\' && (at(i + 1) == '\n' || (at(i + 1) == '\r' && at(i + 2) == '\n'))) {
        ++i;  // a line continuation
        continue;
      }
      // Ruby's special globals (`$!`, `$0`, `$~`, `$1`): one name each.
      if (ruby_ && c == '$' && at(i + 1) != 0 && std::string_view("!@&~'+*$?:<>,./\\;0123456789_").find(static_cast<char>(at(i + 1))) != std::string_view::npos &&
          !(at(i + 1) == '_' && IsWordChar(at(i + 2)))) {
        i += 2;
        while (std::isdigit(at(i)) && std::isdigit(at(b + 1))) ++i;
        push(kId, Hash(text.substr(b, i - b)), b, i, start_line);
        continue;
      }
      // (JavaScript's private names, `#name`, are one leaf.)
      if (IsWordChar(c) || c >= 0x80 || (c == '$' && (dollar_names_ || (rust_ && IsWordChar(at(i + 1))))) ||
          (ruby_ && (c == '@' || c == '$') && IsWordChar(at(i + 1))) ||
          (dollar_names_ && c == '#' && (IsWordChar(at(i + 1)) || at(i + 1) >= 0x80) && !std::isdigit(at(i + 1)))) {
        ++i;
        if (ruby_ && c == '@' && at(i) == '@') ++i;
        while (i < n && (IsWordChar(at(i)) || at(i) >= 0x80 || (at(i) == '$' && dollar_names_))) ++i;
        if (ruby_ && (at(i) == '?' || at(i) == '!') && at(i + 1) != '=' && at(i + 1) != ':') ++i;
        if (at(i) == '-' && IsWordChar(at(i + 1)) && !jsx.empty() && jsx.back().second == Jsx::kTag &&
            jsx.back().first == depth) {
          // In a JSX tag, an attribute's name may hold hyphens (`aria-label=`, `data-testid=`): one name.
          size_t e = i;
          while (at(e) == '-' && IsWordChar(at(e + 1))) {
            for (++e; e < n && IsWordChar(at(e));) ++e;
          }
          if (at(e) == '=' && at(e + 1) != '=') i = e;
        }
        const std::string_view word = text.substr(b, i - b);
        if (at(i) == '!' && at(i + 1) != '=' && IsWord(text.substr(b, i + 1 - b), &Word::bang)) {  // macro_rules!
          ++i;
          push(Hash(text.substr(b, i - b)), 0, b, i, start_line);
          continue;
        }
        const auto found = words_.find(word);
        const Word* w = found == words_.end() ? nullptr : &found->second;
        if (rust_ && w != nullptr && w->fragment && out->size() >= 2 && out->back().hash == kColon &&
            out->rbegin()[1].hash == kId && text[out->rbegin()[1].begin - base_offset] == '$') {
          push(Hash(word), 0, b, i, start_line);  // a macro fragment specifier: $x:expr
          continue;
        }
        // (Python's keywords are never attribute names: `from . import x`.)
        const bool member = AfterMemberAccess(*out, c_like_) && !(rust_ && word == "await") &&
                            !(w != nullptr && w->member_keyword) &&
                            !(python_ && !(w != nullptr && w->contextual));
        // (In a macro's token tree the grammar keeps a lifetime's keyword: '_ and 'static.)
        const bool lifetime = rust_ && macro_depth < 0 && !out->empty() && out->back().hash == kQuote &&
                              out->back().end == b + base_offset;
        bool keyword = !member && !lifetime && w != nullptr && w->keyword;
        // (After a `:` in TypeScript a word is a type: `n: number,`; so are `string` and `number`
        // after `<`, `|`, `&`, `[` or `=>` unless a member access or call follows:
        // `Record<string, T>`, `T[number]`.)
        const bool in_type = types_ && !out->empty() &&
                             (out->back().hash == kColon ||
                              (w != nullptr && w->kind != 0 && TypeFollows(out->back().hash) && !NextIs(text, i, '.') &&
                               !NextIs(text, i, '(')));
        if (keyword && w->contextual && !in_type) {
          // (Before a `:` in an object literal a word is a key, except `default:` in a switch;
          // `async (x) =>` is an arrow function's, not a call.)
          keyword = (dollar_names_ && word == "async" && ArrowAfterParens(text, i)) ||
                    (!NameFollows(text, i, dollar_names_ && w->kind == 0) &&
                     !(dollar_names_ && word != "default" && NextIs(text, i, ':')));
        }
        // (`default:` after a `,`, or after a `{` that opens no switch's body, is an object's key.)
        if (keyword && dollar_names_ && word == "default" && !out->empty() && NextIs(text, i, ':') &&
            (out->back().hash == kComma ||
             (out->back().hash == kOpenBrace && !(out->size() >= 2 && out->rbegin()[1].hash == kCloseParen)))) {
          keyword = false;
        }
        // (In a Rust macro's token tree the grammar reads the keywords it does not list there
        // as names: `else`, `in`, `move`, `dyn`, `ref`, `extern`.)
        if (keyword && macro_depth >= 0 && kRustTreeNames.count(word)) keyword = false;
        // (A type's word is a name where a path or a call goes on from it: Rust's `u8::MAX` and
        // `char::from_u32(c)`, and `_` as a type argument, `Vec<_>`; C++'s `long(x)`.)
        if (keyword && rust_ && ((at(i) == ':' && at(i + 1) == ':' && kRustPrimitives.count(word)) ||
                                 (word == "_" && !out->empty() && out->back().hash == kLess))) {
          keyword = false;
        }
        // (A JSX tag's name and its attributes' names are names: `<script async />`.)
        if (keyword && !jsx.empty() && jsx.back().second != Jsx::kChildren && jsx.back().first == depth) keyword = false;
        if (keyword && c_like_ && !c_only_ && at(i) == '(' && (word == "long" || word == "unsigned" || word == "short" || word == "signed")) {
          keyword = false;
        }
        // (C#'s discard as a switch expression arm's pattern, `x switch { 1 => a, _ => b }`, is a leaf of
        // its own; as a lambda's parameter, `_ => f()`, it is a name.)
        if (csharp_ && word == "_" && ArrowFollows(text, i) && InSwitchBraces(*out)) keyword = true;
        if (keyword && w == nullptr) {
          push(Hash(word), 0, b, i, start_line);
        } else if (keyword) {
          if (w->kind != 0) {
            push(w->kind, w->kind == kStr ? StringName(word) : Hash(word), b, i, start_line);
          } else {
            push(Hash(word), 0, b, i, start_line);
          }
        } else {
          push(kId, Hash(word), b, i, start_line);
        }
        continue;
      }
      const bool after_def = ruby_ && !out->empty() &&
                             (out->back().hash == kDef || (out->size() >= 3 && out->back().hash == kDot && out->rbegin()[2].hash == kDef));
      if (ruby_ && (c == ':' || after_def) && at(i + (c == ':')) == '[' &&
          at(i + (c == ':') + 1) == ']' && (c != ':' || i == 0 || !IsWordChar(at(i - 1)))) {
        // An operator method's name, defined (def []=) or as a symbol (:[]=).
        i += (c == ':') + 2;
        if (at(i) == '=') ++i;
        if (c == ':') {
          push(kStr, StringName(text.substr(b, i - b)), b, i, start_line);
        } else {
          push(Hash(text.substr(b, i - b)), 0, b, i, start_line);
        }
        continue;
      }
      // Symbols: `:name` (also `:@ivar`, `:@@cvar`, `:$global`, `:name?`, `:name=`), `:"quoted"`
      // and an operator's name (`reduce(:+)`), where no operand ends before the colon.
      if (ruby_ && c == ':' &&
          (i == 0 || !(IsWordChar(at(i - 1)) || at(i - 1) == ')' || at(i - 1) == ']' || at(i - 1) == ':' ||
                       at(i - 1) == '"' || at(i - 1) == '\''))) {
        size_t s = i + 1;
        if (at(s) == '@') s += at(s + 1) == '@' ? 2 : 1;
        else if (at(s) == '$') ++s;
        if (IsWordChar(at(s)) && !std::isdigit(at(s))) {
          i = s + 1;
          while (i < n && IsWordChar(at(i))) ++i;
          if (at(i) == '?' || at(i) == '!') ++i;
          else if (at(i) == '=' && s == b + 1 && at(i + 1) != '=' && at(i + 1) != '>' && at(i + 1) != '~') ++i;
          push(kStr, StringName(text.substr(b, i - b)), b, i, start_line);
          continue;
        }
        if (at(i + 1) == '"' || at(i + 1) == '\'') {
          i = RubyStringEnd(text, i + 1, 0);
          count_lines(b, i);
          push(kStr, StringName(text.substr(b, i - b)), b, i, start_line);
          continue;
        }
        static constexpr std::string_view kOperatorNames[] = {"<=>", "===", "==", "=~", "!=", "!~", "**", "+@", "-@", "<<",
                                                              ">>",  "<=",  ">=", "+",  "-",  "*",  "/",  "%",  "<",  ">",
                                                              "!",   "&",   "|",  "^",  "~"};
        for (const std::string_view op : kOperatorNames) {
          const unsigned char after = at(i + 1 + op.size());
          if (text.compare(i + 1, op.size(), op) == 0 &&
              (after == 0 || after == ')' || after == ',' || after == ']' || after == '}' || std::isspace(after))) {
            i += 1 + op.size();
            push(kStr, StringName(text.substr(b, i - b)), b, i, start_line);
            break;
          }
        }
        if (i > b) continue;
      }
      if (ruby_ && c == '%' && regex_here()) {
        // %w[..], %i(..), %q{..}, %r%..%: a literal with its own brackets, or any other
        // punctuation repeated.
        size_t o = i + 1;
        const bool regex = at(o) == 'r';
        if (std::isalpha(at(o))) ++o;
        const char open = static_cast<char>(at(o));
        const size_t k = std::string_view("([{<").find(open);
        if (open != 0 && (k != std::string_view::npos || (std::ispunct(at(o)) && open != '='))) {
          const char close = k != std::string_view::npos ? ")]}>"[k] : open;
          size_t e = o + 1;
          int nest = 0;
          while (e < n && !(text[e] == close && nest == 0)) {
            if (text[e] == '\\') ++e;
            else if (text[e] == open && open != close) ++nest;
            else if (text[e] == close) --nest;
            ++e;
          }
          i = std::min(n, e + 1);
          while (regex && i < n && std::isalpha(at(i))) ++i;  // %r{..}xm
          count_lines(b, i);
          push(kStr, StringName(text.substr(b, i - b)), b, i, start_line);
          continue;
        }
      }
      if (ruby_ && c == '<' && at(i + 1) == '<' && (at(i + 2) == '~' || at(i + 2) == '-' || std::isupper(at(i + 2)) ||
                                                   at(i + 2) == '\'' || at(i + 2) == '"')) {
        // A heredoc: its opener, then its body (the lines after this one, up to the terminator).
        size_t w = i + 2 + (at(i + 2) == '~' || at(i + 2) == '-');
        const bool quoted = at(w) == '\'' || at(w) == '"';
        w += quoted;
        size_t we = w;
        while (we < n && IsWordChar(at(we))) ++we;
        if (we > w && (std::isupper(at(w)) || quoted) && (!quoted || at(we) == at(w - 1))) {
          const std::string_view word = text.substr(w, we - w);
          i = we + quoted;
          push(kStr, StringName(text.substr(b, i - b)), b, i, start_line);
          // Its body starts at this line's newline, or at the newline that ends the body of the
          // heredoc opened before it on this line, and ends with the line holding only its word.
          const size_t body = heredocs.empty() ? text.find('\n', i) : heredocs.back().second;
          if (body != std::string_view::npos && body < n) {
            size_t end = body + 1;
            while (end < n) {
              size_t le = text.find('\n', end);
              if (le == std::string_view::npos) le = n;
              std::string_view ln = text.substr(end, le - end);
              while (!ln.empty() && (ln.front() == ' ' || ln.front() == '\t')) ln.remove_prefix(1);
              while (!ln.empty() && (ln.back() == '\r' || ln.back() == ' ')) ln.remove_suffix(1);
              end = le;
              if (ln == word) break;
              if (end < n) ++end;
            }
            heredocs.emplace_back(body, end);
          }
          continue;
        }
      }
      const bool tag_closes = jsx_ && c == '/' && at(i + 1) == '>' && !jsx.empty() && jsx.back().second == Jsx::kTag &&
                              jsx.back().first == depth;  // `<script async />`: no regular expression
      if (c == '/' && slash_regex_ && !tag_closes && regex_here()) {
        // (On one line, except in Ruby, and at most kMaxRegex bytes: a `/` that opens none does
        // not make each later `/` of its line read to the line's end again.)
        size_t e = i + 1;
        bool in_class = false;
        const size_t limit = std::min(n, i + kMaxRegex);
        while (e < limit && (text[e] != '\n' || ruby_)) {
          if (text[e] == '\\') {
            if (at(e + 1) == '\n' && !ruby_) break;
            e += 2;
            continue;
          }
          if (text[e] == '[') in_class = true;
          else if (text[e] == ']') in_class = false;
          else if (text[e] == '/' && !in_class) break;
          ++e;
        }
        if (e < limit && text[e] == '/') {
          i = e + 1;
          while (i < n && std::isalpha(at(i))) ++i;
          count_lines(b, i);
          push(kStr, StringName(text.substr(b, i - b)), b, i, start_line);
          continue;
        }
      }
      if (c == '#' && !directives_.empty() && !macro_body_) {
        size_t e = i + 1;
        while (e < n && (text[e] == ' ' || text[e] == '\t')) ++e;
        size_t w = e;
        while (w < n && IsWordChar(at(w))) ++w;
        std::string directive = "#" + std::string(text.substr(e, w - e));
        if (c_like_ && w > e && !directives_.count(directive) && (out->empty() || out->back().line != line)) {
          // Another directive (#pragma, #warning): its name, then the rest of the line as one piece.
          push(Hash(directive), 0, b, w, start_line);
          i = push_directive_argument(w, /*continued=*/false);
          continue;
        }
        if (directives_.count(directive)) {
          push(Hash(directive), 0, b, w, start_line);
          i = w;
          condition_line = c_like_ && (directive == "#if" || directive == "#elif");
          if (directive == "#include" || directive == "#define" || (directive == "#pragma" && c_like_) ||
              directive == "#error") {
            // The rest of the line is read as one piece by the grammar (a path, or a macro's
            // body after its name). (C#'s grammar reads `#pragma warning disable X` word by word.)
            size_t k = w;
            while (k < n && (text[k] == ' ' || text[k] == '\t')) ++k;
            bool function_like = false;
            if (directive == "#define") {
              size_t m = k;
              while (m < n && IsWordChar(at(m))) ++m;
              if (m > k) push(kId, Hash(text.substr(k, m - k)), k, m, line);
              k = m;
              if (at(k) == '(') {  // a function-like macro: its parameters are tokens
                function_like = true;
                push(Hash("("), 0, k, k + 1, line);
                for (++k; k < n && text[k] != ')' && text[k] != '\n';) {
                  size_t w2 = k;
                  while (w2 < n && (IsWordChar(at(w2)) || text[w2] == '.')) ++w2;
                  if (w2 > k) {
                    push(text[k] == '.' ? Hash(text.substr(k, w2 - k)) : kId, text[k] == '.' ? 0 : Hash(text.substr(k, w2 - k)), k, w2, line);
                    k = w2;
                  } else if (text[k] == ',') {
                    push(Hash(","), 0, k, k + 1, line);
                    ++k;
                  } else {
                    ++k;
                  }
                }
                if (at(k) == ')') {
                  push(Hash(")"), 0, k, k + 1, line);
                  ++k;
                }
              }
            }
            if (directive == "#include" && at(k) == '"') continue;
            if (directive == "#define" && (function_like ? !lang_->macro_definitions.empty() : !lang_->macro_constants.empty())) {
              i = push_macro_body(k, /*constant=*/!function_like);
              continue;
            }
            i = push_directive_argument(k, /*continued=*/true);
          }
          continue;
        }
      }
      if (jsx_ && (c == '<' || c == '>' || (c == '/' && at(i + 1) == '>'))) {
        const bool at_element = !jsx.empty() && jsx.back().first == depth;
        const Jsx mode = at_element ? jsx.back().second : Jsx::kTag;
        size_t len = 0;
        if (c == '<' && at_element && mode == Jsx::kChildren) {
          // In an element's children: its closing tag, or a child element's opening tag.
          if (at(i + 1) == '/') {
            jsx.back().second = Jsx::kClosing;
            len = 2;
          } else {
            jsx.emplace_back(depth, Jsx::kTag);
            len = 1;
          }
        } else if (c == '<' && regex_here() && JsxTagOpens(text, i)) {
          jsx.emplace_back(depth, Jsx::kTag);
          len = 1;
        } else if (at_element && mode == Jsx::kTag && c == '/') {
          jsx.pop_back();  // `/>`: an element without children
          len = 2;
        } else if (at_element && c == '>' && mode != Jsx::kChildren) {
          if (mode == Jsx::kTag) jsx.back().second = Jsx::kChildren;
          else jsx.pop_back();
          len = 1;
        }
        if (len > 0) {
          push(Hash(text.substr(i, len)), 0, i, i + len, line);
          i += len;
          continue;
        }
      }
      // Operators and punctuation: the longest the grammar knows, except that `>>` written
      // against what it follows (not `a >> 2`), and followed by neither `=` nor a digit (not
      // `a>>=1`, `a>>2`), closes generic lists (List<List<T>>) in languages that have them. A
      // Rust macro's token tree is read by longest match alone: `>>` and a closure's `||` there
      // are one token each.
      size_t len = 1;
      const bool generic_close = generics_ && macro_depth < 0 && c == '>' && at(i + 1) == '>' && i > 0 &&
                                 at(i - 1) != ' ' && at(i - 1) != '\t' && at(i + 2) != '=' && !std::isdigit(at(i + 2));
      const bool longer = i + 1 < n && operator_starts_.test(PairIndex(text[i], text[i + 1]));
      for (size_t l = std::min<size_t>(4, n - i); l > 1 && longer && !generic_close; --l) {
        if (operators_.count(text.substr(i, l))) {
          len = l;
          break;
        }
      }
      if (len == 2 && c == '?' && at(i + 1) == '.' && std::isdigit(at(i + 2))) len = 1;  // `a ?.5 : 1`
      if (len == 2 && c_only_ && c == ':' && !(IsWordChar(at(i + 2)) && i > 0 && IsWordChar(at(i - 1)))) len = 1;  // asm's `::`
      // A closure's empty `||`, except after `return` and `break` (whose value is optional),
      // where the grammar reads `||` whole.
      if (rust_ && macro_depth < 0 && c == '|' && at(i + 1) == '|' && !AfterOperand(*out) &&
          (out->empty() || (out->back().hash != kReturn && out->back().hash != kBreak))) {
        len = 1;
      }
      if (c == '(' || c == '[' || c == '{') {
        if (rust_ && macro_depth < 0 && out->size() >= 2 &&
            ((out->back().hash == kBang && out->rbegin()[1].hash == kId) ||
             (out->back().hash == kId && out->rbegin()[1].hash == kMacroRules))) {
          macro_depth = depth;
        }
        ++depth;
      }
      if ((c == ')' || c == ']' || c == '}') && depth > 0 && --depth == macro_depth) macro_depth = -1;
      while (!jsx.empty() && jsx.back().first > depth) jsx.pop_back();  // a bracket closed an element's context
      i += len;
      push(Hash(text.substr(b, len)), 0, b, i, start_line);
    }
    MarkImports(out);
    DropCosmeticPunctuation(out);
    return Status::OK();
  }

 private:
  // Sets Token::import on the tokens of the import statements the language table describes
  // (lexer_imports), as the parse does for its `imports` nodes: 1 + the offset where the
  // statement begins. Runs before the cosmetic `;` are dropped (they end statements). Rust: not
  // inside a macro's token tree, which the parse does not read as statements.
  void MarkImports(Tokens* out) const {
    if (import_openers_.empty()) return;
    static const uint64_t kSemi = Hash(";"),
                          kOpen[3] = {Hash("("), Hash("["), Hash("{")}, kClose[3] = {Hash(")"), Hash("]"), Hash("}")};
    Tokens& t = *out;
    auto delta = [&](const Token& k) {
      if (k.name != 0) return 0;  // names and literals
      if (std::find(std::begin(kOpen), std::end(kOpen), k.hash) != std::end(kOpen)) return 1;
      if (std::find(std::begin(kClose), std::end(kClose), k.hash) != std::end(kClose)) return -1;
      return 0;
    };
    // Whether the tokens from i are `seq` (a name as its spelling).
    auto matches = [&](size_t i, const std::vector<uint64_t>& seq) {
      if (i + seq.size() > t.size()) return false;
      for (size_t k = 0; k < seq.size(); ++k) {
        const Token& x = t[i + k];
        if (seq[k] != 0 && x.hash != seq[k] && !(x.hash == kId && x.name == seq[k])) return false;
      }
      return true;
    };
    auto opener_at = [&](size_t i) -> const ImportOpener* {
      for (const ImportOpener& o : import_openers_) {
        if (!matches(i, o.tokens)) continue;
        for (const auto& seq : import_not_before_) {
          if (matches(i + o.tokens.size(), seq)) return nullptr;
        }
        return &o;
      }
      return nullptr;
    };
    for (size_t i = 0; i < t.size(); ++i) {
      // A macro invocation (`name!(`) or definition (`macro_rules! name {`): past its token tree.
      if (rust_ && i + 2 < t.size() &&
          ((t[i].hash == kId && t[i + 1].hash == kBang) || (t[i].hash == kMacroRules && t[i + 1].hash == kId)) &&
          delta(t[i + 2]) > 0) {
        int depth = 0;
        for (i += 2; i < t.size() && (depth += delta(t[i])) > 0;) ++i;
        continue;
      }
      // (Or after another: `#[cfg(x)] use y;`.)
      const bool begins = i == 0 || t[i - 1].line < t[i].line || t[i - 1].hash == kSemi ||
                          t[i - 1].hash == kOpen[2] || t[i - 1].hash == kClose[2] || t[i - 1].import != 0;
      const ImportOpener* o = begins ? opener_at(i) : nullptr;
      if (o == nullptr) continue;
      const size_t len = o->tokens.size();
      const uint32_t id = t[i].begin + 1;
      const bool to_match = delta(t[i + len - 1]) > 0;  // #[ ... ]
      const bool at_line = imports_end_at_line_ || o->directive;
      int depth = 0;
      size_t j = i;
      for (; j < t.size(); ++j) {
        depth += delta(t[j]);
        if (depth < 0) break;  // closes a block the statement is in: not the statement's
        t[j].import = id;
        if (j + 1 < i + len) continue;
        const bool line_ends = j + 1 == t.size() || t[j + 1].line > t[j].line;
        if (depth == 0 && (to_match || t[j].hash == kSemi || (at_line && line_ends))) {
          ++j;
          break;
        }
      }
      i = j - 1;
    }
  }


  static constexpr size_t kMaxRegex = 512;
  static bool IsStringPrefix(std::string_view w) {
    static const std::unordered_set<std::string_view> kPrefixes = {"L", "u", "U", "u8", "R", "LR", "uR", "UR", "b", "B", "r", "f", "F", "br", "rb", "Rb", "bR", "fr", "rf", "Fr", "rF", "c", "cr"};
    return kPrefixes.count(w) > 0;
  }
  // A Rust lifetime or label ('a, 'static) rather than a character literal.
  static bool IsLifetime(std::string_view text, size_t q) {
    if (q + 2 >= text.size()) return false;
    if (text[q + 1] == '\\') return false;
    size_t e = q + 1;
    while (e < text.size() && IsWordChar(text[e])) ++e;
    return e > q + 1 && (e >= text.size() || text[e] != '\'');
  }
  // The end of a template string from its backtick: substitutions (${...}) may hold braces
  // and templates of their own, tracked on a stack (not by recursion: a file of nested
  // templates must not exhaust the thread's stack).
  static size_t TemplateEnd(std::string_view text, size_t q) {
    std::vector<int> braces;  // per open substitution: its braces still open; empty in the text
    size_t i = q + 1;
    while (i < text.size()) {
      const char c = text[i];
      const bool in_text = braces.empty() || braces.back() < 0;
      if (in_text) {
        if (c == '\\') {
          i += 2;
          continue;
        }
        if (c == '`') {
          if (braces.empty()) return i + 1;
          braces.pop_back();  // a nested template ends: back in its substitution
        } else if (c == '$' && i + 1 < text.size() && text[i + 1] == '{') {
          braces.push_back(1);
          ++i;
        }
      } else if (c == '{') {
        ++braces.back();
      } else if (c == '}') {
        if (--braces.back() == 0) braces.pop_back();  // the substitution ends: back in the text
      } else if (c == '`') {
        braces.push_back(-1);  // a nested template's text
      }
      ++i;
    }
    return text.size();
  }
  // Ruby: the end of the string whose opening quote is at q ('...' or "..."; in "..." code in
  // #{...}, whose strings may hold the closing quote), or the text's end. (Nested deeper than
  // kMaxNesting, a string is read as if it held no code.)
  static constexpr int kMaxNesting = 16;
  static size_t RubyStringEnd(std::string_view text, size_t q, int nesting) {
    const char quote = text[q];
    size_t i = q + 1;
    while (i < text.size()) {
      const char c = text[i];
      if (c == '\\') {
        i += 2;
      } else if (c == quote) {
        return i + 1;
      } else if (c == '#' && quote == '"' && nesting < kMaxNesting && i + 1 < text.size() && text[i + 1] == '{') {
        int braces = 1;
        for (i += 2; i < text.size() && braces > 0;) {
          const char d = text[i];
          if (d == '"' || d == '\'') {
            i = RubyStringEnd(text, i, nesting + 1);
            continue;
          }
          braces += d == '{' ? 1 : d == '}' ? -1 : 0;
          ++i;
        }
      } else {
        ++i;
      }
    }
    return text.size();
  }
  // Whether the newline at k continues its line (a backslash before it).
  static bool Continued(std::string_view text, size_t k) {
    return (k > 0 && text[k - 1] == '\\') || (k > 1 && text[k - 1] == '\r' && text[k - 2] == '\\');
  }
  // Whether a line ends in text[b, e) (not continued with a backslash).
  static bool LineEndsBetween(std::string_view text, size_t b, size_t e) {
    for (size_t k = b; k < e && k < text.size(); ++k) {
      if (text[k] == '\n' && !Continued(text, k)) return true;
    }
    return false;
  }
  // Whether the innermost bracket open at the end of `out` is the `{` of a switch expression
  // (`x switch {`; looking back at most 512 tokens).
  static bool InSwitchBraces(const Tokens& out) {
    static const uint64_t kOpen[3] = {Hash("("), Hash("["), Hash("{")}, kClose[3] = {Hash(")"), Hash("]"), Hash("}")};
    int closed = 0;
    for (size_t k = out.size(), seen = 0; k-- > 0 && seen < 512; ++seen) {
      const uint64_t h = out[k].hash;
      if (std::find(std::begin(kClose), std::end(kClose), h) != std::end(kClose)) {
        ++closed;
      } else if (std::find(std::begin(kOpen), std::end(kOpen), h) != std::end(kOpen) && closed-- == 0) {
        static const uint64_t kSwitch = Hash("switch");
        return h == kOpen[2] && k > 0 && out[k - 1].hash == kSwitch;
      }
    }
    return false;
  }
  // Whether the brackets opened at the next `(` after i close before `=>` (or a return type's
  // `:`), looking at most kMaxParams bytes ahead.
  static constexpr size_t kMaxParams = 1024;
  static bool ArrowAfterParens(std::string_view text, size_t i) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (i >= text.size() || text[i] != '(') return false;
    int depth = 0;
    for (const size_t limit = std::min(text.size(), i + kMaxParams); i < limit; ++i) {
      depth += text[i] == '(' ? 1 : text[i] == ')' ? -1 : 0;
      if (depth == 0) return ArrowFollows(text, i + 1) || NextIs(text, i + 1, ':');
    }
    return false;
  }
  // Whether the `<` at i, where an operand begins, opens a JSX element: `<>`, or a tag's name not
  // followed by what a type parameter list has (TSX's generic arrow functions `<T,>(x: T) =>`,
  // `<T extends U>(...)` and function types `<T>(x: T) => T`).
  static bool JsxTagOpens(std::string_view text, size_t i) {
    const unsigned char c = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0;
    if (c == '>') return true;
    if (!std::isalpha(c) && c != '_' && c != '$') return false;
    size_t e = i + 1;
    while (e < text.size() && (IsWordChar(text[e]) || text[e] == '.' || text[e] == '-' || text[e] == ':')) ++e;
    while (e < text.size() && (text[e] == ' ' || text[e] == '\t')) ++e;
    if (e < text.size() && (text[e] == ',' || text[e] == '=')) return false;  // <T,> <T = X>
    if (e + 1 < text.size() && text[e] == '>' && text[e + 1] == '(') return false;  // type F = <T>(x: T) => T
    return text.compare(e, 8, "extends ") != 0;
  }
  static bool ArrowFollows(std::string_view text, size_t i) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    return text.compare(i, 2, "=>") == 0;
  }
  static bool NextIs(std::string_view text, size_t i, char c) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    return i < text.size() && text[i] == c && (i + 1 >= text.size() || text[i + 1] != ':');
  }
  // Whether the last token ends an operand (so `||` after it is an operator, not a closure).
  static bool AfterOperand(const Tokens& out) {
    if (out.empty()) return false;
    static const uint64_t kEnds[4] = {Hash(")"), Hash("]"), Hash("}"), Hash("?")};
    const uint64_t h = out.back().hash;
    return h == kId || h == kStr || h == kNum || std::find(std::begin(kEnds), std::end(kEnds), h) != std::end(kEnds);
  }
  // Whether an operand may begin after `out` in C or C++: not after a name, a literal, a word
  // the grammar reads as an operand (true, this), `]`, `++` or `--`, nor after `)` unless it
  // closes a cast to a type the grammar names by a word of its own (`(int)`, `(unsigned char *)`).
  bool OperandBegins(const Tokens& out, std::string_view text, uint32_t base_offset) const {
    if (out.empty()) return true;
    static const uint64_t kBracket = Hash("]"), kIncrement = Hash("++"), kDecrement = Hash("--"),
                          kCloseParen = Hash(")"), kOpenParen = Hash("("), kStar = Hash("*");
    const uint64_t h = out.back().hash;
    if (h == kId || h == kStr || h == kNum || operand_words_.count(h)) return false;
    if (h != kCloseParen) return h != kBracket && h != kIncrement && h != kDecrement;
    size_t k = out.size() - 1, types = 0;
    while (k-- > 0 && out[k].hash != kOpenParen) {
      const Token& t = out[k];
      if (t.hash == kStar) continue;
      const std::string_view spelled = text.substr(t.begin - base_offset, t.end - t.begin);
      if (t.hash == kId || t.hash == kStr || t.hash == kNum || spelled.empty() ||
          !std::all_of(spelled.begin(), spelled.end(), [](char ch) { return IsWordChar(static_cast<unsigned char>(ch)); })) {
        return false;
      }
      ++types;
    }
    return k < out.size() && types > 0;
  }
  // TypeScript: whether a type name after a token with this hash is a type (`<T`, `| T`, `& T`,
  // `[T]`, `=> T`, `extends T`), not a variable.
  static bool TypeFollows(uint64_t h) {
    static const uint64_t kBefore[6] = {Hash("<"), Hash("|"), Hash("&"), Hash("["), Hash("=>"), Hash("extends")};
    return std::find(std::begin(kBefore), std::end(kBefore), h) != std::end(kBefore);
  }
  static bool NextOnLaterLine(std::string_view text, size_t i) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r')) ++i;
    return i >= text.size() || text[i] == '\n' || text[i] == '#';
  }
  // Whether the word that ends at i is used as a name: what follows it is a call, a member
  // access, an assignment or the end of an expression.
  // With `comparisons` (JavaScript's and TypeScript's words that are no type), a comparison or
  // logical operator after it makes it a name too (`from < 5`, `set === undefined`).
  static bool NameFollows(std::string_view text, size_t i, bool comparisons) {
    const bool spaced = i < text.size() && (text[i] == ' ' || text[i] == '\t');
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (i >= text.size()) return true;
    const char c = text[i];
    const char d = i + 1 < text.size() ? text[i + 1] : '\0';
    if (c == '=') return d != '>' && (comparisons || d != '=');  // an assignment (or comparison), not `=>`
    if (comparisons && ((c == '!' && d == '=') || (c == '&' && d == '&') || (c == '|' && d == '|') ||
                        (spaced && (c == '<' || c == '>') && (d == ' ' || d == '=')))) {
      return true;
    }
    return c == '(' || c == '.' || c == ',' || c == ')' || c == ';' || c == '[' || c == ']' || c == '}' ||
           (c == '?' && i + 1 < text.size() && text[i + 1] == '.');
  }

  const Language* lang_;
  std::string name_;
  // Views of static strings: the grammar's symbol names, the language table's words, literals.
  // What the lexer knows of a word (one lookup per word read).
  struct Word {
    bool keyword = false;     // kept verbatim (or as `kind`), unless its context makes it a name
    bool contextual = false;  // a keyword only where no name's context follows (lexer_contextual)
    bool fragment = false;    // Rust: a keyword only after `$name:` (lexer_fragments)
    bool bang = false;        // spelled with its `!` (macro_rules!)
    bool member_keyword = false;  // a keyword after a member access too (lexer_member_keywords)
    uint64_t kind = 0;        // kStr, kId or kNum: the parse's category for it; 0: its own hash
  };
  bool IsWord(std::string_view s, bool Word::*flag) const {
    const auto it = words_.find(s);
    return it != words_.end() && it->second.*flag;
  }
  std::unordered_map<std::string_view, Word> words_;
  std::unordered_set<std::string_view> directives_, operators_;
  bool macro_body_ = false;                  // this lexer reads macro bodies
  std::unique_ptr<CodeLexer> macro_lexer_;   // macro bodies (macro_definitions, macro_constants), or null
  // The first two bytes of every operator longer than one byte: most punctuation starts none,
  // and is then read as one byte without looking up its longer spellings.
  static size_t PairIndex(char a, char b) { return size_t{static_cast<unsigned char>(a)} << 8 | static_cast<unsigned char>(b); }
  std::bitset<1 << 16> operator_starts_;
  std::unordered_set<uint64_t> operand_words_;  // hashes of words that end an operand (this, true)
  struct ImportOpener {
    std::vector<uint64_t> tokens;
    bool directive = false;  // #include: the statement ends with its line
  };
  std::vector<ImportOpener> import_openers_;               // lexer_imports
  std::vector<std::vector<uint64_t>> import_not_before_;   // lexer_imports_not_before
  bool imports_end_at_line_ = false;                       // lexer_imports_end_at_line
  // dollar_names_: JavaScript and TypeScript (names with $, template strings, object keys);
  // types_: TypeScript (type annotations after `:`).
  bool rust_ = false, csharp_ = false, python_ = false, ruby_ = false, c_like_ = false, generics_ = false,
       dollar_names_ = false, types_ = false, jsx_ = false, joins_strings_ = false, c_only_ = false, slash_regex_ = false, signed_numbers_ = false;
  const uint64_t kQuote = Hash("'"), kColon = Hash(":"), kBang = Hash("!"), kDef = Hash("def"), kDot = Hash(".");
  const uint64_t kReturn = Hash("return"), kBreak = Hash("break"), kLess = Hash("<"), kNewline = Hash("\n"),
                 kComma = Hash(","), kQuestion = Hash("?"), kOpenBrace = Hash("{"), kCloseParen = Hash(")"), kMacroRules = Hash("macro_rules!");
  const std::unordered_set<std::string_view> kRustTreeNames = {"else", "in", "move", "dyn", "ref", "extern"};
  const std::unordered_set<std::string_view> kRustPrimitives = {"u8",   "i8",    "u16", "i16",  "u32",  "i32",
                                                                "u64",  "i64",   "u128", "i128", "usize", "isize",
                                                                "f32",  "f64",   "bool", "char", "str"};
};

std::unique_ptr<Tokenizer> NewMacroBodyLexer(const Language* lang) { return std::make_unique<CodeLexer>(lang, true); }

// C-like lexing for code in a language without a grammar.
class GenericCodeTokenizer final : public Tokenizer {
 public:
  std::string_view Name() const override { return "code-v8/generic"; }

  Status Tokenize(std::string_view text, Tokens* out, uint32_t base_offset,
                  uint32_t base_line) const override {
    static const std::unordered_set<std::string_view> kKeywords = {
        "if", "else", "elif", "for", "while", "do", "switch", "case", "default", "break",
        "continue", "return", "function", "func", "fn", "def", "class", "struct", "enum",
        "interface", "import", "from", "package", "use", "module", "public", "private",
        "protected", "static", "const", "let", "var", "val", "new", "delete", "try", "catch",
        "except", "finally", "throw", "raise", "and", "or", "not", "in", "is", "true", "false",
        "null", "nil", "None", "True", "False", "this", "self", "void", "int", "char", "float",
        "double", "bool", "string", "end", "then", "begin", "lambda", "yield", "async", "await"};
    out->clear();
    DOPPEL_RETURN_IF_ERROR(CheckInput(text, base_offset));
    uint32_t line = base_line;
    const size_t n = text.size();
    auto ident_start = [](unsigned char c) { return std::isalpha(c) || c == '_' || c == '$' || c >= 0x80; };
    auto ident_char = [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '$' || c >= 0x80; };
    size_t i = 0;
    while (i < n) {
      const auto c = static_cast<unsigned char>(text[i]);
      const auto next = i + 1 < n ? static_cast<unsigned char>(text[i + 1]) : 0;
      const size_t b = i;
      const uint32_t start_line = line;
      if (c == '\n') {
        ++line;
        ++i;
      } else if (std::isspace(c)) {
        ++i;
      } else if ((c == '/' && next == '/') || c == '#') {
        while (i < n && text[i] != '\n') ++i;
      } else if (c == '/' && next == '*') {
        i += 2;
        while (i < n && !(text[i] == '*' && i + 1 < n && text[i + 1] == '/')) line += text[i++] == '\n';
        i = std::min(n, i + 2);
      } else if (c == '"' || c == '\'' || c == '`') {
        ++i;
        while (i < n && static_cast<unsigned char>(text[i]) != c) {
          if (text[i] == '\\') ++i;
          else if (text[i] == '\n') ++line;
          ++i;
        }
        i = std::min(n, i + 1);
        out->push_back(Token{kStr, StringName(text.substr(b, i - b)), static_cast<uint32_t>(b + base_offset),
                             static_cast<uint32_t>(i + base_offset), start_line});
      } else if (std::isdigit(c)) {
        while (i < n && (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '.' || text[i] == '_')) ++i;
        out->push_back(Token{kNum, Hash(text.substr(b, i - b)), static_cast<uint32_t>(b + base_offset),
                             static_cast<uint32_t>(i + base_offset), start_line});
      } else if (ident_start(c)) {
        while (i < n && ident_char(static_cast<unsigned char>(text[i]))) ++i;
        const std::string_view word = text.substr(b, i - b);
        const bool kw = kKeywords.count(word) > 0;
        out->push_back(Token{kw ? Hash(word) : kId, kw ? 0 : Hash(word), static_cast<uint32_t>(b + base_offset),
                             static_cast<uint32_t>(i + base_offset), start_line});
      } else {
        ++i;
        out->push_back(Token{Hash(text.substr(b, 1)), 0, static_cast<uint32_t>(b + base_offset),
                             static_cast<uint32_t>(i + base_offset), start_line});
      }
    }
    DropCosmeticPunctuation(out);
    return Status::OK();
  }
};

}  // namespace

std::unique_ptr<Tokenizer> NewCodeTokenizer(const Language* language) {
  if (language == nullptr || language->grammar == nullptr) return std::make_unique<GenericCodeTokenizer>();
  return std::make_unique<TreeSitterTokenizer>(language);
}

std::unique_ptr<Tokenizer> NewCodeLexer(const Language* language) {
  if (language == nullptr || language->grammar == nullptr) return std::make_unique<GenericCodeTokenizer>();
  return std::make_unique<CodeLexer>(language);
}

namespace {

// The text of a parse with a time limit, handed to tree-sitter in pieces of at most kPieceBytes
// (cut between UTF-8 characters); once the time is up, the text ends there. The time is the
// thread's CPU time, so a loaded machine, which delays the parse, does not cut it shorter. The
// clock is read when tree-sitter asks for the next piece: error recovery within a piece, and the
// parse's end after the last one, are not cut short (a parse that has read all of the text is
// whole). A stall of the thread between two pieces does not count, and the CPU clock, a system
// call, is read only every sixteenth of the limit on the wall clock (ParseDeadline). The limit is not
// tree-sitter's own (ts_parser_set_timeout_micros): tree-sitter 0.20.7, Debian's, can release a
// subtree it no longer holds when a parse halts on time (upstream's fix for the lookahead released
// on cancellation came after it), seen as a crash in ts_subtree_release a few parses later. A parse
// whose text ends early is a whole parse, of less text.
struct TimedText {
  static constexpr uint32_t kPieceBytes = 64;
  std::string_view text;
  std::optional<ParseDeadline> deadline;  // of the thread's CPU time (ThreadCpuNanos); none: no limit
  bool cut = false;

  static uint64_t ReadClock(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000 + static_cast<uint64_t>(ts.tv_nsec);
  }
  static uint64_t ThreadCpuNanos() { return ReadClock(CLOCK_THREAD_CPUTIME_ID); }
  static uint64_t WallNanos() { return ReadClock(CLOCK_MONOTONIC); }

  static const char* Read(void* payload, uint32_t byte, TSPoint, uint32_t* length) {
    auto* self = static_cast<TimedText*>(payload);
    if (byte >= self->text.size() || self->cut ||
        (self->deadline && (self->cut = self->deadline->PassedAt(WallNanos(), ThreadCpuNanos)))) {
      *length = 0;
      return "";
    }
    size_t end = std::min<size_t>(self->text.size(), byte + kPieceBytes);
    while (end < self->text.size() && (static_cast<unsigned char>(self->text[end]) & 0xC0) == 0x80) ++end;
    *length = static_cast<uint32_t>(end - byte);
    return self->text.data() + byte;
  }
};

}  // namespace

uint32_t NonBlankBytes(std::string_view text) {
  return static_cast<uint32_t>(std::count_if(text.begin(), text.end(), [](char ch) {
    return ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r';
  }));
}

double ParseErrorShare(const Language* language, std::string_view text, uint64_t timeout_micros) {
  if (language == nullptr || language->grammar == nullptr || text.size() >= UINT32_MAX) return 1;
  TSParser* parser = ThreadParser(language->grammar);
  if (parser == nullptr) return 1;
  constexpr uint64_t kMaxMicros = uint64_t{3600} * 1000 * 1000;  // an hour: longer is no limit
  TimedText timed{.text = text, .deadline = std::nullopt, .cut = false};
  if (timeout_micros > 0 && timeout_micros <= kMaxMicros) {
    timed.deadline.emplace(TimedText::ThreadCpuNanos(), timeout_micros * 1000, TimedText::WallNanos());
  }
  const TSInput input{.payload = &timed, .read = &TimedText::Read, .encoding = TSInputEncodingUTF8};
  TSTree* tree = ts_parser_parse(parser, nullptr, input);
  if (tree == nullptr) return 1;
  const uint32_t unread = UnreadBytes(ts_tree_root_node(tree), [&](TSSymbol sym) {
    return language->comments.count(ts_language_symbol_name(language->grammar, sym)) > 0;
  });
  ts_tree_delete(tree);
  // Past its time: a grammar that reads the text at all reads it faster.
  if (timed.cut) return 1;
  return std::min(1.0, unread / static_cast<double>(std::max<uint32_t>(NonBlankBytes(text), 1)));
}

namespace {

// Reading code whose fence names no grammar's language: how close another family's share of
// the block left unread (ParseErrorShare) may come to the best one's to be read too, how many
// families may read it so before the block is called ambiguous, how much of a block is parsed,
// at least how much there must be, and how long one grammar's parse may take (a grammar that
// reads the text at all reads 2 KB in well under this; one that does not spends its time
// recovering from errors).
constexpr double kGuessTieShare = 0.005;
// (24 bytes: a short method such as `public void Shut() { lock (g) { q.Clear(); d = true; } }`,
// 44, is read in its language, as a tag would have it read; a call or two reads alike in more
// families and stays generic.)
constexpr size_t kGuessMinBytes = 24, kGuessBytes = 2048, kGuessMaxFamilies = 3;
#if defined(__SANITIZE_ADDRESS__)
constexpr uint64_t kGuessParseMicros = 20000;  // instrumented code parses about ten times slower
#else
constexpr uint64_t kGuessParseMicros = 2000;
#endif
// A block longer than kGuessBytes that no grammar reads cleanly there (at most kCleanReadShare
// unread) may be cut inside a construct: a method whose `end`, or a call whose `)`, lies past the
// cut. The grammars that leave at most kGuessWholeShare of the cut unread then read the block
// again, up to kGuessWholeBytes (cut at a line's end), each in time proportional to its bytes,
// and their shares of that count. Text that no grammar reads (prose, a log) is not parsed twice.
constexpr double kGuessWholeShare = 2 * kMisreadShare;
constexpr size_t kGuessWholeBytes = 16384;

}  // namespace

std::vector<const Language*> GuessCodeLanguages(std::string_view text) {
  auto head = [&](size_t bytes) {  // the text's first `bytes`, cut at a line's end
    if (text.size() <= bytes) return text;
    const size_t cut = text.rfind('\n', bytes);
    return text.substr(0, cut == std::string_view::npos || cut == 0 ? bytes : cut);
  };
  const std::string_view first = head(kGuessBytes);
  if (NonBlankBytes(first) < kGuessMinBytes) return {};
  // A log, a dump, a stack trace or prose is no grammar's language: eleven grammars recovering
  // from errors over it would take about 20 ms per 2 KB to say so.
  if (ReadsAsOutputOrProse(head(kGuessWholeBytes))) return {};
  auto langs = Languages();
  if (!langs.ok()) return {};
  std::vector<std::pair<double, const Language*>> read;
  for (const Language& l : **langs) {
    if (l.grammar == nullptr) continue;
    read.emplace_back(ParseErrorShare(&l, first, kGuessParseMicros), &l);
  }
  if (read.empty()) return {};
  const auto cleanest = std::min_element(read.begin(), read.end());
  const std::string_view longer = head(kGuessWholeBytes);
  if (longer.size() > first.size() && cleanest->first > kCleanReadShare) {
    // (The limit is in proportion to the bytes against kGuessBytes, not against the cut: a first
    // line of a few bytes before a long one makes a short cut, not a longer limit.)
    const uint64_t micros = kGuessParseMicros * std::max(longer.size(), kGuessBytes) / kGuessBytes;
    for (auto& [share, language] : read) {
      if (share <= kGuessWholeShare) share = ParseErrorShare(language, longer, micros);
    }
  }
  // (Stable: languages that tie keep the table's order, by name: c before c_sharp before java.)
  std::stable_sort(read.begin(), read.end(), [&](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second->family_rank < b.second->family_rank;
  });
  const double best_share = read.front().first;
  if (best_share > kMisreadShare) return {};
  std::vector<const Language*> found;
  for (const auto& [share, language] : read) {
    // A clean read is not matched by a near one: C that C#'s grammar reads with a slip is C.
    if (share > best_share + kGuessTieShare || (best_share == 0 && share > 0)) break;
    const Language* l = language;  // (clang before 16 cannot capture a structured binding)
    const bool family_found =
        std::any_of(found.begin(), found.end(), [l](const Language* f) { return f->family == l->family; });
    if (family_found) continue;
    if (found.size() == kGuessMaxFamilies) return {};
    found.push_back(l);
  }
  return found;
}

std::vector<std::pair<uint32_t, uint32_t>> LexedTableRows(const Language* language, std::string_view text) {
  if (language == nullptr || language->grammar == nullptr) return {};
  return TreeSitterTokenizer(language).LexedRows(text);
}

uint64_t IdentifierTokenHash() { return kId; }
uint64_t StringTokenHash() { return kStr; }
uint64_t NumberTokenHash() { return kNum; }
uint64_t VerbatimTokenHash(std::string_view text) { return Hash(text); }
uint64_t CommentGapHash() { return kCommentGap; }

void CommentGaps(std::string_view text, const Tokens& tokens, size_t begin, size_t end, std::vector<CommentGap>* out) {
  out->clear();
  end = std::min(end, text.size());
  // Bytes from `at` that separate words rather than make them: ASCII other than letters, digits
  // and `_`, and the UTF-8 of a byte order mark, a no-break space, U+2000-U+206F (spaces,
  // dashes, curly quotes, ellipsis) and the ideographic space, which editors and chat windows
  // put in for ASCII ones. 0: a word byte.
  auto separator = [&](size_t at, size_t to) -> size_t {
    const auto b = [&](size_t k) { return at + k < to ? static_cast<unsigned char>(text[at + k]) : 0; };
    const unsigned char c = b(0);
    if (c < 0x80) return c == '_' || std::isalnum(c) != 0 ? 0 : 1;
    if (c == 0xC2 && b(1) == 0xA0) return 2;
    if (c == 0xEF && b(1) == 0xBB && b(2) == 0xBF) return 3;
    if (c == 0xE2 && (b(1) == 0x80 || b(1) == 0x81) && b(2) >= 0x80 && b(2) <= 0xBF) return 3;
    if (c == 0xE3 && b(1) == 0x80 && b(2) == 0x80) return 3;
    return 0;
  };
  for (size_t i = 0; i <= tokens.size(); ++i) {
    const size_t from = i == 0 ? begin : std::max<size_t>(begin, tokens[i - 1].end);
    const size_t to = i == tokens.size() ? end : std::min<size_t>(end, tokens[i].begin);
    if (from >= to) continue;
    XXH3_state_t st;
    XXH3_64bits_reset(&st);
    uint32_t words = 0, bytes = 0;
    for (size_t at = from; at < to;) {
      if (const size_t skip = separator(at, to)) {
        at += skip;
        continue;
      }
      const size_t w = at;
      while (at < to && separator(at, to) == 0) ++at;
      if (words > 0) XXH3_64bits_update(&st, " ", 1);
      XXH3_64bits_update(&st, text.data() + w, at - w);
      ++words;
      bytes += static_cast<uint32_t>(at - w);
    }
    if (bytes >= kCommentGapMinBytes) out->push_back({XXH3_64bits_digest(&st), words, static_cast<uint32_t>(i)});
  }
}

}  // namespace doppel
