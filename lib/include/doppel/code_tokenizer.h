// Code tokenizers: source code → identifier-normalized tokens.
//
// With a Language, the tree-sitter grammar parses the code and the token stream is the syntax
// tree's leaves, in order: comments are dropped; identifiers become the token ID (the original
// spelling is kept in Token::name for the renaming check); string and number literals become STR
// and NUM; keywords, operators and punctuation are kept verbatim. Parse errors are tolerated —
// snippets (a method without its class, an unbalanced brace) are the norm in answers — and the
// leaves around an error still count. A renamed, reformatted, re-commented copy therefore yields
// the same token hashes as its source. Rows of a data table cut from its initializer (16 or more
// rows of literals ending in commas, outside any bracket the text opens) are lexed instead of
// parsed: tree-sitter's error recovery is slow on them, and a lexer reads their tokens as the
// parse of their file does.
//
// Without a Language (nullptr), a generic lexer does the same with C-like rules: identifiers
// [A-Za-z_$][A-Za-z0-9_$]*, common keywords verbatim, quoted strings, numbers, // # /* */ comments.
//
// Thread-safety: Tokenize may run concurrently (parsers are per thread).
#pragma once

#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "doppel/language.h"
#include "doppel/tokenizer.h"

namespace doppel {

std::unique_ptr<Tokenizer> NewCodeTokenizer(const Language* language);

// A lexer that reads the tokens NewCodeTokenizer's parse gives without parsing, at a fraction of
// its cost, for a first pass that decides which files to parse (doppel/scan.h). It agrees with
// the parse on most tokens, not all: contextual keywords, `>>` closing two generic lists and
// the like can differ.
std::unique_ptr<Tokenizer> NewCodeLexer(const Language* language);
// Names the lexer's rules (its Name() is this, "/" and the language); changed with them, so
// that work kept from an earlier lexer (a scan's check task parts) is not reused.
inline constexpr std::string_view kCodeLexerVersion = "code-lex-v10";

// How much of `text` the grammar of `language` could not read, for telling which language a
// code block is in: the bytes of the tokens its parse skipped (leaves of error nodes, and one for
// each missing node) over the text's bytes that are not blank; 0 for a clean parse, 1 for a
// parse that had not read the whole text within `timeout_micros` (0, or over an hour: no limit;
// of the thread's CPU time, read as each 64 bytes are read, so a loaded machine does not cut a
// parse shorter; a gap of more than half the limit between two reads is a stall of the thread
// and does not count, up to 2.5 times the limit in all) or without a grammar. One parse, on the
// dense copy of the grammar's parse table that the tokenizers read (made on first use: guessing
// a block's language makes every grammar's).
double ParseErrorShare(const Language* language, std::string_view text, uint64_t timeout_micros = 0);

// The bytes of `text` other than spaces, tabs and line ends: what a share left unread is of.
uint32_t NonBlankBytes(std::string_view text);

// A grammar misreads a block when it leaves more than this share of its non-blank bytes unread
// (ParseErrorShare, Tokenizer::TokenizeCountingUnread). The filter reads a fenced block that its
// tag's grammar misreads as prose too, as it does an untagged block; and it reads a block of no
// grammar's language in a grammar's language only when that grammar leaves at most this share
// unread (GuessCodeLanguages, or a candidate's language). A grammar reads C whose macros it does
// not know (`DWORD WINAPI f(...)`) with 3-6% unread, and new code around a copy with up to 6%.
inline constexpr double kMisreadShare = 0.1;
// A grammar reads a block cleanly when it leaves at most this share unread: the filter reads a
// fenced block again in another family's language only when that grammar reads it so.
inline constexpr double kCleanReadShare = 0.02;

// The languages whose grammars read code `text` best, for a block whose fence names no language
// (TagNamesLanguage: none, `text`, an unknown name): the grammar that leaves the smallest share
// of it unread (ParseErrorShare), at most kMisreadShare, and each grammar of another family that
// reads it about as well (within half a point; as cleanly, when it reads cleanly), one per
// family, best first. None when more than three
// families read it so (a call or two, `f(x);`, reads alike in many), when its first 2 KB hold
// fewer than 24 non-blank bytes, or when its first 16 KB read as a program's output or as prose
// (ReadsAsOutputOrProse in doppel/markdown.h: a log, a dump, a stack trace; no grammar is
// parsed). C's and C#'s grammars both read most C functions cleanly, as
// Java's and C#'s read most Java methods: the filter reads such a block in each, and the reading
// its candidates match best counts. Within a family the smaller language wins a tie: C before C++,
// JavaScript before TypeScript and TSX (the larger grammar reads the smaller's code as well). Each
// grammar parses the text's first 2 KB for at most 2 ms of the thread's CPU time (ParseErrorShare's
// limit), cut at a line's end: before the last line in their second half that begins at column 0
// as a statement or a declaration of the top level may (a letter, a digit, `_`, `$`, `#`, `@` or
// `/`; not `else`, `end`, `#endif`, nor a label or `public:`), so that the cut does not fall inside a method's body, a list or a
// documentation comment. When the text is longer and no grammar reads those 2 KB cleanly
// (kCleanReadShare), the cut may still lie inside a construct (a method whose `end`, or a call
// whose `)`, comes after it): the grammars that leave at most twice kMisreadShare of the 2 KB
// unread parse up to 16 KB of the text (cut so too), in proportionate time, and their shares of
// that count. So they do when one reads the 2 KB cleanly and another ties with it (a license and
// includes, which C's and C++'s grammars read alike).
std::vector<const Language*> GuessCodeLanguages(std::string_view text);

// The lines [first, end) of `text` (counted from 0) that the tokenizer of `language` lexes as
// table rows, one pair per run (for tests and diagnostics).
std::vector<std::pair<uint32_t, uint32_t>> LexedTableRows(const Language* language, std::string_view text);

// Hashes of the abstract tokens, for tests and the renaming check.
uint64_t IdentifierTokenHash();
uint64_t StringTokenHash();
uint64_t NumberTokenHash();
// The hash of a keyword or operator token, which code tokens keep verbatim ("{", "return").
uint64_t VerbatimTokenHash(std::string_view text);

// A string or number literal token (its spelling, when kept, is in `name`: a string's without
// its quotes and prefixes).
inline bool IsLiteral(const Token& t) {
  static const uint64_t kStr = StringTokenHash(), kNum = NumberTokenHash();
  return t.hash == kStr || t.hash == kNum;
}

// A code token's hash with its literal value mixed in (names stay abstracted): what a renamed
// copy keeps of a table row, whose abstracted shape every row shares; what dedup compares, so
// code that differs only in its data is no copy.
inline uint64_t SpelledHash(const Token& t) {
  return IsLiteral(t) && t.name != 0 ? t.hash ^ (t.name * 0x9E3779B97F4A7C15ull) : t.hash;
}

// Comments and docstrings, which code tokens leave out: the words of the text between two
// tokens. A word is a run of letters, digits, `_` and other non-ASCII characters; delimiters
// (`//`, `#`, `*`, quotes), punctuation, whitespace (no-break and Unicode spaces too), Unicode
// dashes and quotes and a byte order mark only separate words, so a comment re-wrapped,
// re-indented or moved between `//` and `/* */` keeps its words. A renamed copy keeps its
// source's comments more often than not, and a long one is as telling as a rare name.
struct CommentGap {
  uint64_t hash = 0;    // of the words, in order
  uint32_t words = 0;
  uint32_t before = 0;  // the token the gap precedes (tokens.size(): after the last one)
};
// Gaps of at least this many word bytes are comment gaps (shorter ones are `// end`, `# noqa`).
inline constexpr uint32_t kCommentGapMinBytes = 16;
// The comment gaps of `tokens`, the first from offset `begin`, the last to `end`. `text` is what
// the tokens' offsets index, from offset `text_offset` on (a code block's text, its tokens at
// their offsets in the whole answer).
void CommentGaps(std::string_view text, const Tokens& tokens, size_t begin, size_t end, std::vector<CommentGap>* out,
                 size_t text_offset = 0);
// The spelling tag of a comment gap's posting (DocumentSketcher::SpellingKey(hash, this)).
uint64_t CommentGapHash();

}  // namespace doppel
