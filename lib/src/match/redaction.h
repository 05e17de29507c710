// redaction.h — what a check writes into the answer: the note naming the sources, the marker,
// and the code a redaction replaces, moved to whole balanced lines so that the code around it
// still parses. Used by a check's last step (CheckRun::WriteOutput in filter.cc). Internal to
// lib/src/match.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "doppel/document.h"
#include "doppel/language.h"
#include "doppel/token.h"
#include "doppel/verdict.h"

struct TSTree;  // tree_sitter/api.h

namespace doppel {

// The redaction marker: `tmpl` with its "{source}" (the first) replaced by `source`.
std::string Marker(const std::string& tmpl, const std::string& source);

// The sources `spans` name, in order of first mention, each with the license and the address
// its metadata gives: "lib/a.py (license: MIT, https://example.org/a)"; past three, "and N more".
std::string DescribeSources(const std::vector<Span>& spans);

// Adds `message` after the answer: a comment line in its language when the whole answer is code
// (so it still parses), else a paragraph of its own, after the closing fence `unclosed` of a
// Markdown answer that ends inside a fenced block (a streamed or cut answer), so the note is not
// read as code. Lines end as the answer's do (CRLF when it has one).
void AppendAnnotation(std::string* out, const std::string& message, Kind kind, std::string_view language,
                      const std::string& unclosed);

// Where the line holding offset `at` of `t` begins, and the '\n' that ends it (or the text's end).
size_t LineStart(std::string_view t, size_t at);
size_t LineEnd(std::string_view t, size_t at);

// For each of the tokens `q` of a code block in `language` (`indent`: IndentsFor them), the index of
// the token that closes or opens the same block or bracket (-1 for others): blocks as the
// language's table has them, and ( ) [ ] (and { } where braces are not blocks). An indented
// block (Python) is paired one way only: its header's colon names the block's last token, which
// names nothing. Lines replaced from a header's line into its body would leave the rest of the
// body under a comment ("unexpected indent"), while lines replaced from inside a body to its end
// leave code that parses. A statement of several clauses (`try:` ... `except:` ..., `if` ...
// `elif` ... `else`) is kept whole or replaced whole: its first token names its last clause's
// keyword, and each later clause's keyword names the first token (a handler left without its
// `try`, or a `try` without its handler, does not parse).
std::vector<int32_t> PairedTokens(const Tokens& q, std::string_view language, const std::vector<int32_t>& indent);

// Moves a code passage [*b, *e) of the answer `text` to whole lines whose brackets and blocks
// are balanced, so that replacing those lines leaves code that parses: a passage that begins
// with the end of the function before it, or ends with the header of the next one, would take
// away half of a pair. Each round either gives up the lines at one end up to the half pairs
// (the cut that keeps most of the passage), or, when that would keep less than half of it, takes
// in the other halves, adding at most as many tokens as the passage has; when neither can be
// done, nor can lines between two lines of half pairs go alone, the passage stays as it was,
// unless it is a block's header alone (whose block is too long to take in): then it is given
// up, *e set to *b, as it is when all that is left at the end is such a header whose `{` begins
// the line after it. Before and after
// that, a passage that ends with the header of a block it does not take (its `{` on the next
// line, or Python's colon) gives the header's lines up, or, when it is only the header, takes
// in the block if that adds at most four times its tokens. First, a first (or last) line
// holding only brackets that close (or open) others on that line is given up; then a `case` or
// `default` label alone on the first or last line, whose clause goes on after the passage;
// last, in a language whose statements end with `;`, lines just above the passage that begin
// its first statement (a constructor's name above items of its initializer list), and the rest
// of a statement it ends inside (the items after, and the body), are taken in; in any language,
// a passage whose last line ends with an operator that goes on to the next line (`a ||`, `x =`)
// gives up that statement's lines, or is given up when it is only that statement. `q` are the
// stream's tokens, `partner` from PairedTokens.
void BalanceCodeRegion(std::string_view text, const Tokens& q, const std::vector<int32_t>& partner,
                       bool statements_end_with_semicolon, uint32_t* b, uint32_t* e);

// A passage balanced in part leaves the rest of the copy: a component's copied hooks above its
// copied element, which sits among new sibling elements, balance only as that element. Of
// passage [b, e), which BalanceCodeRegion kept as [kept_b, kept_e) (or gave up whole: empty),
// what it gave up at either end (or the whole passage), when it holds `min_tokens` code tokens
// of `q` or more and no pair joins the part before the passage with code before it (a passage
// that begins inside a new method, past a chance alignment, gives up that method's end, which
// stays): the part balanced on its own (BalanceCodeRegion), when no block the part opens
// (`block_start`: BlockTokens::start) goes on after it; else, for the part before what was kept
// (or the whole passage; after it, such a block is most often a new function's head that the
// passage ran into), the lines between the part's
// header lines (those holding a bracket paired outside it: a function's header, an `if (...) {`
// whose block holds new code), which stay, each run balanced on its own, when half of its
// tokens or more lie in `aligned` (the answer's byte ranges aligned with the source, sorted:
// Span::aligned), and, at the passage's first or last line, it holds half of `min_tokens` or
// more; a header over several lines is all of its lines. The ranges lie outside [kept_b,
// kept_e), in order. But a passage that only opens blocks going on past it (no pair joins it to
// code before it), of which BalanceCodeRegion kept less than half, or only what lies inside a
// header's parentheses: the lines between its header lines, so found over the whole passage,
// when there are any, *instead_of_kept set (they replace [kept_b, kept_e)). So a function's
// header and first statements, copied, then new code in its body, keep the header lines and
// lose the statements. A label alone on its line (`case 0:`, Go's `Loop:`) is a header line too;
// a run is replaced only when it is balanced (no pair joins it to code outside), and, with
// `reads_as_well`, when the code with that run replaced reads as well as before (no more of it
// left unread by its grammar: an `else` whose `if` is in the run, a condition continued with
// `\` or over several lines without brackets, would be left broken).
std::vector<std::pair<uint32_t, uint32_t>> BalancedRemainders(std::string_view text, const Tokens& q,
                                                              const std::vector<int32_t>& partner,
                                                              const std::vector<uint64_t>& block_start,
                                                              bool statements_end_with_semicolon, uint32_t b,
                                                              uint32_t e, uint32_t kept_b, uint32_t kept_e,
                                                              uint32_t min_tokens,
                                                              const std::vector<std::pair<uint32_t, uint32_t>>& aligned,
                                                              bool* instead_of_kept,
                                                              const std::function<bool(uint32_t, uint32_t)>& reads_as_well = {});

// What a redaction needs to know of a block of JavaScript, TypeScript or TSX, parsed again when
// a passage in it is redacted: a passage that ends inside a JSX element would leave half of its
// tags; a `//` comment among an element's children is text the page shows; and a marker in
// place of statements whose next line begins with `(` or `[` lets the code before it run on
// into that line (no line break ends a statement without `;` there).
class ScriptBlock {
 public:
  // Parses bytes [block_b, block_e) of `text`, the code as the answer holds it, at most a
  // megabyte, when `lang`'s grammar has JSX elements and the code holds a `<`, or the grammar is
  // of JavaScript's family and a line of the code begins with `(` or `[`; else it does nothing.
  // (A block read from a copy, without a quote's `> ` or an HTML block's markup, is passed no
  // language.)
  ScriptBlock(std::string_view text, uint32_t block_b, uint32_t block_e, const Language* lang);
  ~ScriptBlock();
  ScriptBlock(const ScriptBlock&) = delete;
  ScriptBlock& operator=(const ScriptBlock&) = delete;
  // Pairs in `partner` (PairedTokens') each element as brackets: its first token with its last,
  // and its opening tag's `>` with its closing tag's `</`; and a self-closing element, its `<`
  // with its `/>`. (Tokens already paired, and elements holding a parse error, are left.) `q`
  // are the block's tokens.
  void PairElements(const Tokens& q, std::vector<int32_t>* partner) const;
  // The comment a marker that replaces the tokens of `q` in answer bytes [b, e) is written in,
  // when it is not the language's own: `{/* */}` among an element's children (elements, text,
  // `{...}` children), and an empty fragment holding it, `<>{/* */}</>`, in place of a whole
  // element in an expression (`cond && (` ... `)`); `; //` in place of statements (of a block,
  // the program or a class body) whose next line begins with `(` or `[`.
  std::optional<CommentSyntax> MarkerSyntax(const Tokens& q, uint32_t b, uint32_t e) const;

 private:
  ::TSTree* tree_ = nullptr;
  uint32_t block_b_ = 0;
  uint16_t element_ = 0, self_closing_ = 0, statements_ = 0, program_ = 0, class_body_ = 0;  // the grammar's symbols (TSSymbol)
};

// A region of a code block that begins or ends inside a string literal, or in the text between
// two tokens (comments, a docstring), as a passage of its comments and strings read as prose
// does (Stream::prose_of_code): it takes in the whole literal, and that text from its first to
// its last non-blank byte, so the whole lines replaced leave no string or block comment open
// (`"""` or `*/` on a line of its own). A region of code tokens is left as it is. `code` are the
// block's code tokens (answer offsets), [block_b, block_e) its bytes.
void WidenToStringsAndComments(std::string_view text, const Tokens& code, uint32_t block_b, uint32_t block_e,
                               uint32_t* b, uint32_t* e);

// Replaces whole lines [b, e) of a code block with one comment line carrying the marker, at the
// indentation of the first line, so the code around it still reads as code. Lines taken above b
// (decorators) stay at or after `floor`, the end of the passage redacted before this one. The
// block's bytes are [block_b, block_e), and what is replaced stays within them: an HTML block's
// first line may hold its <pre> tag, and its last line its </pre>. Returns the bytes of `out`
// replaced, before the replacement. In a patch's lines (`diff`, ReadDiff), the marker line is an
// added one (`+`) at the indentation after the first line's column; in a list item or a quote
// (`container`: what precedes the fence on its line, Segment::prefix), each line's column comes
// after the bytes its container takes (ContainerPrefixBytes), and the marker line begins with
// the first line's.
std::pair<size_t, size_t> RedactCodeLines(std::string* out, uint32_t b, uint32_t e, size_t floor, size_t block_b, size_t block_e,
                     const Language* lang, CommentSyntax comment, const std::string& marker, bool diff = false,
                     std::string_view container = {});

// In each fenced patch of `text` (one ReadDiff reads), each unified hunk header's line counts
// (`@@ -a,b +c,d @@`) counted again from the lines under it, up to the next header: a redaction's
// marker line stands for the lines it replaced, and the patch still applies. (A blank line
// counts as context when a line of the hunk follows it.) `whole`: the text is one patch, not
// Markdown (an answer said to be a patch, or opening as one).
void RecountHunks(std::string* text, bool whole = false);

// RecountHunks' edits without applying them: each header whose counts are not its lines', the
// bytes of `text` it spans ([begin, end), from `@@` to the second `@@`) and the header counted
// again. In the order of `text`.
struct HunkRecount {
  size_t begin = 0, end = 0;
  std::string header;
};
std::vector<HunkRecount> HunkRecounts(std::string_view text, bool whole = false);

}  // namespace doppel
