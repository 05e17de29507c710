// code_tokenizer.cc — code's tokens from its syntax tree (TreeSitterTokenizer), the generic
// lexer for languages without a grammar here, and the comment gaps between code's tokens.
#include "doppel/code_tokenizer.h"

#include <tree_sitter/api.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "code_tokens.h"

namespace doppel {
namespace {

using code_detail::Hash;
using code_detail::StringContent;
using code_detail::StringName;
using code_detail::WithoutInterpolations;
using code_detail::OnlyInterpolations;
using code_detail::FormatNameHoles;
using code_detail::NameWithHoles;
using code_detail::JoinedName;
using code_detail::kId;
using code_detail::kStr;
using code_detail::kNum;
using code_detail::kCommentGap;
using code_detail::DropCosmeticPunctuation;
using code_detail::BracketsBalance;
using code_detail::Opens;
using code_detail::IsWordChar;
using code_detail::AfterMemberAccess;
using code_detail::ReservedWords;
using code_detail::CheckInput;
using code_detail::ThreadParser;
using code_detail::UnreadBytes;
using code_detail::NewMacroBodyLexer;
using code_detail::EmitMacroBody;
using code_detail::LfHash;
using code_detail::BlanksBefore;
using code_detail::kWindowUnits;
using code_detail::WindowEnd;


// The text of a parse that stops at a deadline (Tokenizer::TokenizeBy), handed to tree-sitter in
// pieces of at most kPieceBytes (cut between UTF-8 characters); the clock is read as each piece
// is asked for, and once the deadline has passed the text ends after the furthest byte handed
// out (bytes before it are still handed out when asked for again) and the parse is thrown away.
// tree-sitter's own timeout (ts_parser_set_timeout_micros) is not used: tree-sitter 0.20.7,
// Debian's, can release a subtree it no longer holds when a parse halts on time
// (language_guess.cc). A piece is 4 KB: tree-sitter reads dense code at 1-3 MB a second here,
// so the parse stops a few ms past the deadline, and a read every 4 KB costs nothing measurable.
struct DeadlineText {
  static constexpr uint32_t kPieceBytes = 4096;
  std::string_view text;
  std::chrono::steady_clock::time_point deadline;
  bool passed = false;
  size_t handed = 0;  // the end of the furthest piece handed out

  static const char* Read(void* payload, uint32_t byte, TSPoint, uint32_t* length) {
    auto* self = static_cast<DeadlineText*>(payload);
    if (!self->passed && byte >= self->handed) self->passed = std::chrono::steady_clock::now() > self->deadline;
    const size_t limit = self->passed ? std::min(self->handed, self->text.size()) : self->text.size();
    if (byte >= limit) {
      *length = 0;
      return "";
    }
    const size_t end = code_detail::TextPieceEnd(self->text, byte, kPieceBytes, limit);
    self->handed = std::max(self->handed, end);
    *length = static_cast<uint32_t>(end - byte);
    return self->text.data() + byte;
  }
};

class TreeSitterTokenizer final : public Tokenizer {
 public:
  // Node categories are resolved once per grammar symbol, so the walk looks up a small array
  // instead of hashing type names; keywords and operators (anonymous nodes, whose text is their
  // symbol name) get their token hash precomputed too.
  // With `windows` false, every text is parsed whole (NewWholeParseTokenizer).
  explicit TreeSitterTokenizer(const Language* lang, bool windows = true)
      : lang_(lang), name_("code-v14/" + lang->name), windows_(windows) {
    const uint32_t n = ts_language_symbol_count(lang->grammar);
    category_.assign(n, kOther);
    interpolation_.assign(n, 0);
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
      if (lang->string_interpolations.count(type)) interpolation_[sym] = 1;
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
  Status TokenizeBy(std::chrono::steady_clock::time_point deadline, std::string_view text, Tokens* out, uint32_t base_offset,
                    uint32_t base_line, uint32_t* unread_bytes) const override {
    if (unread_bytes != nullptr) *unread_bytes = 0;
    return Run(text, out, base_offset, base_line, unread_bytes, deadline);
  }

 private:
  using Clock = std::chrono::steady_clock;

  // Tokenize; with `unread`, the bytes the parses kept could not read are added to it. Each parse
  // stops at `deadline` (TokenizeBy).
  Status Run(std::string_view text, Tokens* out, uint32_t base_offset, uint32_t base_line, uint32_t* unread,
             Clock::time_point deadline = Clock::time_point::max()) const {
    out->clear();
    DOPPEL_RETURN_IF_ERROR(CheckInput(text, base_offset));
    // Runs of data-table rows are lexed; the code between them is parsed, each piece alone.
    const std::vector<TableRun> runs = FindTableRuns(text);
    size_t at = 0;
    uint32_t line = base_line;
    for (const TableRun& run : runs) {
      DOPPEL_RETURN_IF_ERROR(Parse(text.substr(at, run.begin - at), out, base_offset + static_cast<uint32_t>(at), line,
                                   unread, deadline));
      for (Token t : run.tokens) {
        t.begin += base_offset;
        t.end += base_offset;
        t.line += base_line;
        out->push_back(t);
      }
      at = run.end;
      line = base_line + run.end_line;
    }
    DOPPEL_RETURN_IF_ERROR(Parse(text.substr(at), out, base_offset + static_cast<uint32_t>(at), line, unread, deadline));
    DropCosmeticPunctuation(out);
    return Status::OK();
  }

  // Appends the tokens of `text` (a whole input, or a piece of one between table runs) from its
  // syntax tree, before cosmetic punctuation is dropped; with `unread`, adds the bytes that the
  // parse whose tokens are kept could not read (UnreadBytes). Unavailable when `deadline` passes
  // first (DeadlineText).
  Status Parse(std::string_view text, Tokens* out, uint32_t base_offset, uint32_t base_line, uint32_t* unread,
               Clock::time_point deadline) const {
    const size_t first = out->size();
    if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return Status::OK();
    TSParser* parser = ThreadParser(lang_->grammar);
    if (parser == nullptr) {
      return Status::Internal("grammar " + lang_->name + " has an ABI this tree-sitter cannot load");
    }
    if (windows_ && text.size() > kWindowUnits && WindowEnd(text, 0, kWindowUnits) < text.size()) {
      return ParseInWindows(parser, text, out, base_offset, base_line, unread, deadline);
    }
    TSTree* tree = nullptr;
    DOPPEL_RETURN_IF_ERROR(ParseTree(parser, text, base_line, deadline, &tree));
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

  // The syntax tree of `text`, which begins at line `base_line` of the input, in `*tree` (the
  // caller deletes it); Unavailable when `deadline` passes first (DeadlineText).
  Status ParseTree(TSParser* parser, std::string_view text, uint32_t base_line, Clock::time_point deadline,
                   TSTree** tree) const {
    if (deadline == Clock::time_point::max()) {
      *tree = ts_parser_parse_string(parser, nullptr, text.data(), static_cast<uint32_t>(text.size()));
    } else {
      DeadlineText timed{text, deadline};
      *tree = ts_parser_parse(parser, nullptr, TSInput{&timed, &DeadlineText::Read, TSInputEncodingUTF8});
      if (timed.passed) {
        if (*tree != nullptr) ts_tree_delete(*tree);
        *tree = nullptr;
        return Status::Unavailable("the time limit passed while parsing " + std::to_string(text.size()) +
                                   " bytes of " + lang_->name + " from line " + std::to_string(base_line));
      }
    }
    if (*tree == nullptr) return Status::Internal("tree-sitter returned no tree for " + lang_->name);
    return Status::OK();
  }

  // Where a window that may end at `end` ends: after the last blank line in its second half, or
  // else after the last line end there, or else after the last blank there, or else at `end`. A
  // comment or a string that the end cuts is read as code (a Javadoc comment's words), and few
  // hold a blank line.
  static size_t WindowCut(std::string_view text, size_t at, size_t end) {
    const size_t half = at + (end - at) / 2;
    size_t line_end = std::string_view::npos;
    for (size_t nl = text.rfind('\n', end - 1); nl != std::string_view::npos && nl >= half; nl = text.rfind('\n', nl - 1)) {
      if (line_end == std::string_view::npos) line_end = nl + 1;
      size_t b = nl;
      while (b > 0 && (text[b - 1] == ' ' || text[b - 1] == '\t' || text[b - 1] == '\r')) --b;
      if (b > 0 && text[b - 1] == '\n') return nl + 1;  // the line ending at nl is blank
      if (nl == 0) break;
    }
    if (line_end != std::string_view::npos) return line_end;
    for (size_t b = end; b > half; --b) {
      if (text[b - 1] == ' ' || text[b - 1] == '\t') return b;
    }
    return end;
  }

  // Where a window that begins at `from` ends, by the lexer's tokens (`lexed`, of the whole text;
  // `first`, the first of them at or after `from`): before `limit` (WindowEnd's units), at the
  // start of the line of the last token in its second half that begins a line at the top level
  // (at column 0), else of the last that begins a line, else
  // before the last token; when none is in its second half (a comment fills it), at the last
  // line's start in its first. So not inside a comment or a string, as the lexer reads them (a
  // class's Javadoc comment of 2,000 lines, a Go file holding a JavaScript program in a raw
  // string), that a window holds from its line's start. 0 when no token but the first ends
  // before `limit`, or when a string that `limit` cuts does not fit in a window of
  // kWindowUnits from its line's start: the caller then cuts by units (WindowCut), inside it.
  // (A window after a long context may so cut a string a little shorter than kWindowUnits.)
  struct LexedSpan {  // a lexer token's bytes
    uint32_t begin, end;
  };
  static size_t WindowTokenCut(std::string_view text, const std::vector<LexedSpan>& lexed, size_t first, size_t from,
                               size_t limit) {
    // Tokens [first, last) end by `limit` (the lexer's tokens follow each other: their ends rise).
    const size_t last = static_cast<size_t>(
        std::partition_point(lexed.begin() + static_cast<std::ptrdiff_t>(first), lexed.end(),
                             [limit](const LexedSpan& t) { return t.end <= limit; }) -
        lexed.begin());
    if (last == lexed.size() && limit == text.size()) return text.size();
    // A token that `limit` cuts and that no window holds from its line's start (a string longer
    // than a window) is cut now, not after windows that close in on it.
    if (last < lexed.size() && lexed[last].begin < limit && lexed[last].end > limit) {
      size_t ls = lexed[last].begin;
      while (ls > from && text[ls - 1] != '\n') --ls;
      if (WindowEnd(text, ls, kWindowUnits - 1) < lexed[last].end) return 0;
    }
    const size_t half = from + (std::min(limit, last < lexed.size() ? size_t{lexed[last].begin} : limit) - from) / 2;
    // The last token after `after` that begins a line at column 0 (with `top`), else a line, else
    // any.
    auto cut_after = [&](size_t after, bool top) {
      size_t line_start = 0, any = 0;
      for (size_t k = last; k > first + 1 && lexed[k - 1].begin > after; --k) {
        const size_t b = lexed[k - 1].begin;
        if (any == 0) any = b;
        const size_t ls = BlanksBefore(text, b);
        if (ls <= from || text[ls - 1] != '\n') continue;
        if (ls == b && top) return ls;  // a line at column 0
        if (line_start == 0) line_start = ls;
      }
      return line_start != 0 ? line_start : any;
    };
    // (In the first half when a comment or a string fills the second.)
    const size_t cut = cut_after(half, true);
    return cut != 0 ? cut : cut_after(from, false);
  }

  // Where a window's tokens end (a byte of `src`, the window's text after its context's `lo`
  // bytes): at the start of the last node that begins in the window's last three quarters, found
  // from the root down the last named child (or, when none is, the last child) other than a
  // missing node (the `}` error recovery inserts at the window's end): a window does not begin
  // at the comma after a dict's entry. A node read whole, or in its context (a string, a run of
  // strings, a comment, an import, a macro: category_ other than kOther), is not entered: the
  // window keeps what is before it, or all of itself when the node begins it. `path` gets the
  // nodes entered, the root's child first.
  uint32_t KeptBytes(TSNode root, uint32_t lo, uint32_t size, std::vector<TSNode>* path) const {
    const uint32_t least = lo + (size - lo) / 4;
    path->clear();
    TSNode node = root;
    for (;;) {
      TSTreeCursor cursor = ts_tree_cursor_new(node);
      bool found = false, named = false;
      TSNode last = node;
      if (ts_tree_cursor_goto_first_child(&cursor)) {
        do {
          const TSNode child = ts_tree_cursor_current_node(&cursor);
          if (!ts_node_is_missing(child) && (ts_node_is_named(child) || !named)) {
            last = child;
            found = true;
            named = ts_node_is_named(child);
          }
        } while (ts_tree_cursor_goto_next_sibling(&cursor));
      }
      ts_tree_cursor_delete(&cursor);
      if (!found) return size;
      const uint32_t start = ts_node_start_byte(last);
      if (start > least) return start;
      const TSSymbol sym = ts_node_symbol(last);
      if (sym < category_.size() && category_[sym] != kOther) return start > lo ? start : size;
      node = last;
      path->push_back(node);
    }
  }

  // The text that reopens, before the next window, the constructs that the last one's tokens end
  // inside: the root of its tree, then each node of `path` (KeptBytes), the last holding `keep`.
  // For each, its text up to the next one's start when that is at most kMaxHeadBytes (a class's
  // or a function's header, `topics = ` before a dict's `{`), else the brackets among its own
  // children that stay open before the next one, each with the children before it on its line
  // (a class body's `{`, without the members before the next one; `var opcodeTable =
  // [...]opInfo{` when error recovery has laid a table's declaration out as the root's
  // children). Each piece on its own line at its indent when a line end comes between. The next
  // window's tokens then read in their context: a dict's values stay values, not statements of
  // strings (docstrings, dropped), a method stays a method. None past kMaxContextBytes.
  static constexpr uint32_t kMaxHeadBytes = 256, kMaxContextBytes = 4096;
  static std::string Context(std::string_view src, TSNode root, const std::vector<TSNode>& path, uint32_t keep) {
    std::string context;
    uint32_t done = 0;  // the bytes of src before this are in the context or passed over
    auto trim = [&] {
      while (!context.empty() && (context.back() == ' ' || context.back() == '\t' || context.back() == '\r' ||
                                  context.back() == '\n')) {
        context.pop_back();
      }
    };
    auto indent = [&](uint32_t at) {
      const size_t b = BlanksBefore(src, at);
      return b == 0 || src[b - 1] == '\n' ? src.substr(b, at - b) : std::string_view();
    };
    auto add = [&](uint32_t b, uint32_t e) {
      b = std::max(b, done);
      if (e <= b) return;
      if (src.substr(done, b - done).find('\n') != std::string_view::npos || context.empty()) {
        trim();
        if (!context.empty()) context.push_back('\n');
        context.append(indent(b));
      } else if (b > done) {
        context.push_back(' ');
      }
      context.append(src.substr(b, e - b));
      done = e;
    };
    std::vector<uint32_t> starts;  // a node's children's starts, before the next node
    std::vector<size_t> open;      // the brackets among them that stay open (indexes into starts)
    for (size_t i = 0; i <= path.size() && context.size() <= kMaxContextBytes; ++i) {
      const TSNode node = i == 0 ? root : path[i - 1];
      const uint32_t start = ts_node_start_byte(node);
      const uint32_t next = i < path.size() ? ts_node_start_byte(path[i]) : keep;
      if (next <= start || next - start <= kMaxHeadBytes) {
        add(start, next);
        continue;
      }
      starts.clear();
      open.clear();
      TSTreeCursor cursor = ts_tree_cursor_new(node);
      for (bool more = ts_tree_cursor_goto_first_child(&cursor); more; more = ts_tree_cursor_goto_next_sibling(&cursor)) {
        const TSNode child = ts_tree_cursor_current_node(&cursor);
        const uint32_t b = ts_node_start_byte(child), e = ts_node_end_byte(child);
        if (b >= next) break;
        starts.push_back(b);
        if (ts_node_is_named(child) || e != b + 1) continue;
        if (src[b] == '{' || src[b] == '(' || src[b] == '[') open.push_back(starts.size() - 1);
        if ((src[b] == '}' || src[b] == ')' || src[b] == ']') && !open.empty()) open.pop_back();
      }
      ts_tree_cursor_delete(&cursor);
      for (const size_t k : open) {
        if (context.size() > kMaxContextBytes) break;
        // The first of its node's children that begins on its line, within kMaxHeadBytes of it
        // (not the tail of a string over several lines that ends there).
        const uint32_t b = starts[k];
        uint32_t line_start = b >= kMaxHeadBytes ? b - kMaxHeadBytes : 0;
        for (uint32_t q = b; q > line_start; --q) {
          if (src[q - 1] == '\n') {
            line_start = q;
            break;
          }
        }
        const size_t first = static_cast<size_t>(std::lower_bound(starts.begin(), starts.begin() + k, line_start) - starts.begin());
        add(starts[first], b + 1);
      }
    }
    trim();
    return context.size() <= kMaxContextBytes ? context : std::string();
  }

  // A text of more than kWindowUnits units is parsed in windows (104 of the code corpus's 9,522
  // files, many generated, such as Go's SSA rewrite rules, 154,000-320,000 units). A window ends
  // where WindowTokenCut puts it (where WindowCut does, when no token of the lexer's ends in
  // it); its tokens are kept up to KeptBytes: the last declaration of the top level that it holds
  // whole, or in a file that is one declaration (Go's opGen.go, one table), the last element of
  // its outermost list. The next window is parsed from there (from its line's start when only
  // blanks come before it there, as Python reads a method's body against its `def`'s indent)
  // after the Context that reopens what it is inside, so the construct that a window's end cut
  // is parsed again, whole.
  Status ParseInWindows(TSParser* parser, std::string_view text, Tokens* out, uint32_t base_offset,
                        uint32_t base_line, uint32_t* unread, Clock::time_point deadline) const {
    size_t at = 0;    // where the window's text begins
    size_t from = 0;  // where its tokens are kept from: at, or past the blanks after at
    uint32_t line = base_line;
    std::string context, buffer;
    std::vector<TSNode> path;
    // The lexer's tokens' spans (then by units alone, if it fails), read once: at 250 MB/s on
    // long Java files (whose parse reads 20-25), 2% of the time of reading Java.
    std::vector<LexedSpan> lexed;
    {
      Tokens tokens;
      if (NewCodeLexer(lang_)->Tokenize(text, &tokens, 0, 1).ok()) {
        lexed.reserve(tokens.size());
        for (const Token& t : tokens) lexed.push_back(LexedSpan{t.begin, t.end});
      }
    }
    if (Clock::now() > deadline) {
      return Status::Unavailable("the time limit passed while reading " + std::to_string(text.size()) + " bytes of " +
                                 lang_->name + " from line " + std::to_string(base_line));
    }
    size_t first = 0;  // the first lexed token at or after `from`
    while (from < text.size()) {
      size_t context_units = 0;
      WindowEnd(context, 0, kWindowUnits, &context_units);
      const size_t limit = WindowEnd(text, at, kWindowUnits - 1 - context_units);
      while (first < lexed.size() && lexed[first].begin < from) ++first;
      size_t end = lexed.empty() ? 0 : WindowTokenCut(text, lexed, first, from, limit);
      if (end == 0) end = limit < text.size() ? WindowCut(text, from, limit) : limit;
      const std::string_view window = text.substr(at, end - at);
      std::string_view src = window;
      uint32_t lo = 0;  // the context's bytes in src
      if (!context.empty()) {
        buffer.assign(context).push_back(window.empty() || window.front() != '\n' ? '\n' : ' ');
        lo = static_cast<uint32_t>(buffer.size());
        buffer.append(window);
        src = buffer;
      }
      TSTree* tree = nullptr;
      DOPPEL_RETURN_IF_ERROR(ParseTree(parser, src, line, deadline, &tree));
      const TSNode root = ts_tree_root_node(tree);
      const uint32_t kept_from = lo + static_cast<uint32_t>(from - at);
      uint32_t keep = static_cast<uint32_t>(src.size());
      path.clear();
      if (end < text.size()) keep = KeptBytes(root, kept_from, keep, &path);
      uint32_t next_at = keep;
      if (const size_t b = BlanksBefore(src, keep, kept_from); keep < src.size() && b > kept_from && src[b - 1] == '\n') {
        next_at = static_cast<uint32_t>(b);
      }
      uint32_t errors = 0;
      Walk(tree, src, kept_from, keep, base_offset + static_cast<uint32_t>(from), line, out, &errors);
      if (unread != nullptr && ts_node_has_error(root)) {
        *unread += UnreadBytes(root, [&](TSSymbol sym) { return sym < category_.size() && category_[sym] == kComment; },
                               kept_from, end < text.size() ? keep : UINT32_MAX);
      }
      std::string next_context = Context(src, root, path, keep);
      ts_tree_delete(tree);
      context = std::move(next_context);
      line += static_cast<uint32_t>(std::count(src.begin() + kept_from, src.begin() + keep, '\n'));
      at += next_at - lo;
      from += keep - kept_from;
    }
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
    std::string first_piece;
    std::vector<std::pair<uint32_t, uint32_t>> holes;
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
      // (An f-string's interpolations written `{}`; the run's first piece is kept in
      // first_piece while the run lasts, as `joined` reads it at its end.)
      std::string_view literal = src.substr(b, e - b);
      std::string masked;
      if (Interpolations(cursor, literal, b, &holes)) literal = masked = WithoutInterpolations(literal, holes);
      const std::string_view content = StringContent(literal);
      if (run_end == run_begin) {
        run_begin = b;
        run_row = ts_node_start_point(part).row;
        first_piece.assign(content);
        joined.Start(first_piece);
      } else {
        joined.Add(content);
      }
      run_end = e;
      return true;
    });
    flush();
    return true;
  }
  // The interpolations (Language::string_interpolations) among the children of the string literal
  // the cursor is at, which begins at byte `b` and spells `literal`, as byte ranges of it in
  // `holes`; the cursor is left at the literal. False when there are none (most literals: those
  // without a `{` or a `#`, Ruby's `#@name`, are not looked into).
  bool Interpolations(TSTreeCursor* cursor, std::string_view literal, uint32_t b,
                      std::vector<std::pair<uint32_t, uint32_t>>* holes) const {
    holes->clear();
    if (lang_->string_interpolations.empty() || literal.find_first_of("{#") == std::string_view::npos) return false;
    if (!ts_tree_cursor_goto_first_child(cursor)) return false;
    do {
      const TSNode part = ts_tree_cursor_current_node(cursor);
      const TSSymbol sym = ts_node_symbol(part);
      if (sym < interpolation_.size() && interpolation_[sym] && ts_node_start_byte(part) >= b) {
        holes->emplace_back(ts_node_start_byte(part) - b, ts_node_end_byte(part) - b);
      }
    } while (ts_tree_cursor_goto_next_sibling(cursor));
    ts_tree_cursor_goto_parent(cursor);
    return !holes->empty();
  }
  // The name of the string literal the cursor is at (StringName), spelled without its
  // interpolations' code.
  // (And without a format string's names: Language::format_string_names.)
  uint64_t LiteralName(TSTreeCursor* cursor, std::string_view literal, uint32_t b) const {
    thread_local std::vector<std::pair<uint32_t, uint32_t>> holes;
    if (lang_->format_string_names && literal.find('{') != std::string_view::npos) {
      FormatNameHoles(literal, &holes);
    } else if (!Interpolations(cursor, literal, b, &holes)) {
      return StringName(literal);
    }
    return NameWithHoles(literal, holes);
  }
  static constexpr TSSymbol kErrorSymbol = static_cast<TSSymbol>(-1);  // tree-sitter's ERROR nodes
  // Longer inputs are files, not snippets (an answer's code block is a few KB): a file with a
  // parse error is not parsed twice.
  static constexpr size_t kMaxSnippetBytes = 16 * 1024;
  static constexpr uint32_t kMaxSnippetErrors = 32;

  // The tokens of the leaves of `tree` (over `src`) that lie in [lo, hi), with offsets and lines
  // made relative to lo: lo is 0 for a plain parse, the wrapper's length for a wrapped one, and
  // for a window (ParseInWindows) the length of its context and separator, if any, and of the
  // blanks it is parsed from before its tokens are kept. Counts the error and missing nodes met in `errors`.
  void Walk(TSTree* tree, std::string_view src, uint32_t lo, uint32_t hi, uint32_t base_offset,
            uint32_t base_line, Tokens* out, uint32_t* errors) const {
    const uint32_t line_shift = static_cast<uint32_t>(std::count(src.begin(), src.begin() + lo, '\n'));
    TSTreeCursor cursor = ts_tree_cursor_new(ts_tree_root_node(tree));
    if (const size_t need = out->size() + (hi - lo) / 4 + 4; need > out->capacity()) {
      out->reserve(std::max(need, out->capacity() * 2));  // geometric: a text's windows walk one at a time
    }
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
    int error_depth = -1;
    // For each node entered, the root first: its visible children not yet reached
    // (ts_node_child_count counts the children the cursor visits); its size is the cursor's
    // depth. A node's last child then goes to its parent without first asking for a next
    // sibling, which tree-sitter answers by walking the parent's children again (the cursor's
    // calls went from 9.6% to 8.6% of the time of reading Java).
    std::vector<uint32_t> siblings_left;
    for (;;) {
      const int depth = static_cast<int>(siblings_left.size());
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
          emit(kStr, LiteralName(&cursor, src.substr(b, e - b), b), b, e, ts_node_start_point(node).row);
        }
      } else if (const uint32_t children = ts_node_child_count(node);
                 children != 0 && ts_tree_cursor_goto_first_child(&cursor)) {
        // (A leaf, which has no visible child, is not asked for its first one.)
        siblings_left.push_back(children - 1);
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
          // for nodes aliased to another text, which are hashed as they are written. A leaf
          // that runs to its line's end (C's `#pragma once`, `#undef X`: a preprocessor
          // argument) is spelled without the line's trailing blanks and carriage return, so
          // a copy with CRLF line ends is the same code.
          // A leaf over several lines (Python's `\` and its line break) is spelled with LF line
          // ends, and one of only blanks and line breaks (a JSX text's CRLF) is none.
          const bool fixed = sym < fixed_text_.size() && fixed_text_[sym] == leaf;
          std::string_view spelled = leaf;
          const bool to_line_end = leaf.back() == '\r' || (e < src.size() && src[e] == '\n');
          while (!fixed && to_line_end && !spelled.empty() &&
                 (spelled.back() == '\r' || spelled.back() == ' ' || spelled.back() == '\t')) {
            spelled.remove_suffix(1);
          }
          // A leaf of only blanks and line breaks is its symbol's text when that is so too (C's
          // `#if X` line end, "\n", read as "\r\n" or over a blank line); one that a CRLF line
          // end begins is none (JSX text after a tag: with LF, the grammar's scanner reads none
          // there); any other stays (JSX's " " between two elements).
          bool blank_fixed = false;
          if (!fixed && spelled.find_first_not_of(" \t\r\n") == std::string_view::npos) {
            blank_fixed = sym < fixed_text_.size() && !fixed_text_[sym].empty() &&
                          fixed_text_[sym].find_first_not_of(" \t\r\n") == std::string::npos;
            if (!blank_fixed && spelled.substr(0, 2) == "\r\n") spelled = {};
          }
          if (!spelled.empty()) {
            emit(fixed || blank_fixed ? fixed_hash_[sym] : LfHash(spelled), 0, b, b + static_cast<uint32_t>(spelled.size()),
                 row);
          }
        }
      }
      // To the next node: the next sibling, when its parent has one left, else the parent's.
      while (!siblings_left.empty() && siblings_left.back() == 0) {
        ts_tree_cursor_goto_parent(&cursor);
        siblings_left.pop_back();
      }
      if (siblings_left.empty()) break;  // back at the root
      --siblings_left.back();
      ts_tree_cursor_goto_next_sibling(&cursor);
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
      if (rows == 0) {
        // Outside a run only a literal row matters, and a literal row ends in a comma: the lines
        // before the next comma's (most code) are passed over at once, only counted.
        const size_t comma = text.find(',', b);
        if (comma == std::string_view::npos) break;
        const size_t line_start = text.rfind('\n', comma) + 1;  // (b follows a line end: at least b)
        line += static_cast<uint32_t>(std::count(text.begin() + b, text.begin() + line_start, '\n'));
        b = line_start;
      }
      size_t e = text.find('\n', b);
      const size_t next = e == std::string_view::npos ? text.size() : e + 1;
      if (e == std::string_view::npos) e = text.size();
      // A line with code after its last comma and no comment that could hold that code
      // (`f(a, b);`) is not read further either.
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

  std::vector<uint8_t> category_;       // by grammar symbol
  std::vector<uint8_t> interpolation_;  // by grammar symbol: one of Language::string_interpolations
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
  bool windows_;  // long texts are parsed in windows (ParseInWindows)
};

// C-like lexing for code in a language without a grammar.
class GenericCodeTokenizer final : public Tokenizer {
 public:
  std::string_view Name() const override { return "code-v14/generic"; }

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

namespace code_detail {
std::unique_ptr<Tokenizer> NewWholeParseTokenizer(const Language* language) {
  if (language == nullptr || language->grammar == nullptr) return std::make_unique<GenericCodeTokenizer>();
  return std::make_unique<TreeSitterTokenizer>(language, false);
}
}  // namespace code_detail

std::vector<std::pair<uint32_t, uint32_t>> LexedTableRows(const Language* language, std::string_view text) {
  if (language == nullptr || language->grammar == nullptr) return {};
  return TreeSitterTokenizer(language).LexedRows(text);
}

uint64_t IdentifierTokenHash() { return kId; }
uint64_t StringTokenHash() { return kStr; }
uint64_t NumberTokenHash() { return kNum; }
uint64_t VerbatimTokenHash(std::string_view text) { return Hash(text); }
uint64_t CommentGapHash() { return kCommentGap; }

void CommentGaps(std::string_view text, const Tokens& tokens, size_t begin, size_t end, std::vector<CommentGap>* out,
                 size_t text_offset) {
  out->clear();
  end = std::min(end, text_offset + text.size());
  begin = std::max(begin, text_offset);
  // Bytes from `at` that separate words rather than make them: ASCII other than letters, digits
  // and `_`, and the UTF-8 of a byte order mark, a no-break space, U+2000-U+206F (spaces,
  // dashes, curly quotes, ellipsis) and the ideographic space, which editors and chat windows
  // put in for ASCII ones. 0: a word byte.
  auto separator = [&](size_t at, size_t to) -> size_t {
    const auto b = [&](size_t k) { return at + k < to ? static_cast<unsigned char>(text[at + k - text_offset]) : 0; };
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
      XXH3_64bits_update(&st, text.data() + (w - text_offset), at - w);
      ++words;
      bytes += static_cast<uint32_t>(at - w);
    }
    if (bytes >= kCommentGapMinBytes) out->push_back({XXH3_64bits_digest(&st), words, static_cast<uint32_t>(i)});
  }
}

}  // namespace doppel
