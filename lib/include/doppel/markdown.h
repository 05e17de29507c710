// Splitting an answer written in Markdown into prose and code blocks: fenced, and indented
// (CommonMark's indented code blocks: lines indented by four columns or more after a blank
// line, outside a list; read without those four columns, and with no language).
//
// Generated answers mix prose with fenced code (``` or ~~~, three or more, with an info string
// whose first word names the language). Each block is checked with its own normalization; all
// offsets stay those of the whole answer. A fence that is never closed (an answer still being
// streamed) runs to the end of the text. A fence may sit in a container: indented (any number of
// spaces, as in a list item: "10. Step" then "    ```go") or in a block quote ("> ```py"); the
// container's prefix is then stripped from the block's lines before they are read as code
// (StripContainer). (CommonMark reads a fence indented by four spaces outside a list as an
// indented code block holding backticks; answers put fences in list items far more often.)
// An HTML <pre> element is a code block too (CommonMark's HTML block that runs to its </pre>, as
// an answer written for a web page has its code): read as the page shows it, without its inline
// tags and with its character references decoded (`List&lt;String&gt;` is `List<String>`).
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "doppel/document.h"

namespace doppel {

struct Segment {
  Kind kind = Kind::kText;
  std::string language;  // the fence's info word, lower-cased ("" for prose or no tag)
  uint32_t begin = 0;    // byte range of the content in the whole answer (fence lines excluded)
  uint32_t end = 0;
  uint32_t line = 1;     // 1-based line of `begin`
  // Code in a container: what precedes its opening fence on the fence's line (spaces, tabs and
  // '>' only; "" at the top level). Bare code: the indentation all its lines share.
  std::string prefix;
  // Holds an indented code block (no fence): is one, or is bare code that took one in.
  bool indented = false;
  // Code outside fences found by the shape of its lines (SplitBareCode).
  bool bare = false;
  // The text of an HTML <pre> element (after its <pre> tag and a <code> tag right after it, up
  // to its </pre> and a </code> right before that; `begin` and `end` may lie inside lines). Its
  // language is the first one its tags name: a class `language-X` or `lang-X` (Prism,
  // highlight.js, Markdown renderers), or a `data-lang` attribute.
  bool html = false;
};

// A code segment's text as it is read, and the way back to offsets of the whole answer: without
// its container prefix on each line (at most the prefix's length of spaces, tabs and '>'); for
// an HTML block, without its inline tags (<span class="k">, </b>, <br>) and with its character
// references decoded (&lt;, &amp;, &#39;, &#x3C;; one it does not know, or one of a line break
// or another control character, stays as written, so lines stay the answer's lines).
struct StrippedCode {
  std::string code;
  // The pieces of `code`, in order: where each starts in `code`, and where that byte is in the
  // answer. A piece is a line (a container's), a run of an HTML block's text, or one decoded
  // character reference, whose `reference` is its length in the answer (0 for the others).
  struct Piece {
    uint32_t code = 0, answer = 0, reference = 0;
  };
  std::vector<Piece> pieces;
  // The answer offset of code offset x; `end`: x ends a range (it maps with the piece of x - 1).
  // A decoded reference maps whole: from its `&`, or to the end of its `;`.
  uint32_t ToAnswer(uint32_t x, bool end) const;
};
StrippedCode StripContainer(std::string_view text, const Segment& segment);
// The bytes at the start of `line` (without its line end) that the container of a fence preceded
// by `prefix` (Segment::prefix) takes, its quote markers and its list item's indentation, as
// StripContainer strips them; 0 when the line lies outside it.
size_t ContainerPrefixBytes(std::string_view line, std::string_view prefix);

// A patch's files as code: each file's new side, its context and added lines without the
// column that marks them, as it reads after the patch, and its old side, its context and
// removed lines. The lines of neither side (file and hunk headers, and the other side's lines)
// are left in it as empty lines, so its lines are the answer's lines from `line` on, and each
// side maps back to the answer's bytes (a piece per line).
struct DiffFile {
  std::string path;  // the new side's name ("src/m.py" of "+++ b/src/m.py"); "" when none is named
  uint32_t line = 1;  // the answer's line of the code's first line
  uint32_t begin = 0, end = 0;  // the answer's bytes of the file's lines, headers and all
  StrippedCode code;      // the new side
  StrippedCode old_code;  // the old side
};
// The files of a fenced block that holds a patch with a line added or removed; none otherwise.
// A block tagged `diff`, `patch` or `udiff` is one (its lines marked with `+`, `-` or a space,
// with or without headers: a line of another kind is context, kept whole); an untagged one when
// it opens as a unified diff (`diff --git`, `--- ` then `+++ `, `Index: `) or as an apply_patch
// patch (`*** Begin Patch`, files named by `*** Add File: ` or `*** Update File: `, renamed by
// `*** Move to: `). A `--- ` and `+++ ` line are a file's headers only before a hunk (`@@`) or
// at the block's end. A block in a list item or a quote is read without its container's prefix
// (StripContainer); an HTML or indented block, or bare code, is none.
// Thread-safety: pure function.
std::vector<DiffFile> ReadDiff(std::string_view text, const Segment& segment);
// Whether `code` opens as a patch (its first line that is not blank), as an untagged block must
// to be read as one.
bool OpensAsPatch(std::string_view code);
// Whether a fence's tag or a request's language names a patch (diff, patch, udiff), or Markdown
// (markdown, md, mdx, gfm): an answer said to be in one is read as one, not as code (in any
// case of letters).
bool NamesPatch(std::string_view tag);
bool NamesMarkdown(std::string_view tag);
// The whole of `text` as one block of a patch (an answer that is one).
Segment WholePatch(std::string_view text);
// Patches outside fences: each prose segment of `segments` is split where a line opens a unified
// diff (`diff --git `, `--- ` then `+++ `) or an apply_patch patch (`*** Begin Patch`), to the
// end of the run of lines a patch holds (a hunk's `+`, `-`, ` `, `@@`, `\`, a header git or
// apply_patch writes, blank lines not at its end), when ReadDiff reads files there: that run
// becomes a code segment tagged `diff`. (`Index: ` opens prose as well, and is not looked for.)
// An answer that is a patch, or pastes one between sentences, is read as one. Thread-safety:
// pure function.
std::vector<Segment> SplitUnfencedPatches(std::string_view text, std::vector<Segment> segments);

// Whether `text` holds a fenced code block (``` or ~~~, closed or not; at the margin or in a list
// item or quote) as SplitMarkdown reads it: text sent as code that is Markdown after all.
bool HoldsFencedBlock(std::string_view text);

// Segments in order; together with the fence lines they cover the whole text. Empty segments
// are omitted. `unclosed`, when given, is set to the line that would close the fenced block the
// text ends in (its container prefix and fence, "```"), or "" when it ends outside one.
std::vector<Segment> SplitMarkdown(std::string_view text, std::string* unclosed = nullptr);

// Code a writer left outside fences: pasted as is between sentences, or indented in a list
// item. Each prose segment of `segments` is split at its runs of lines that read as code, which
// become code segments without a language (`bare` set; `prefix` the indentation all their lines
// share, and a quote's markers: lines in a `> ` quote are read without them). A line reads as code by its shape, not by any one language:
// - it ends with `{`, `(` or `[` (a block, a call or a list going on: `() => {` too), or with
//   `;` after code;
// - it starts with a closing bracket or a preprocessor directive;
// - it is an assignment, a call statement, a command of a language that calls without
//   parentheses (`add_option "x"`, `@parser.separator nil`), or a member of an object literal
//   (`timeout: undefined,`, `...options,`);
// - it starts with a statement word of many languages (def, return, if, for, import, let, fn,
//   func ...) followed by code;
// - or it is dense in brackets and operators.
// A sentence (three words or more ending in `.`, `?` or `!`) or a line of words is prose;
// comments, Markdown's lists, tables, rules, headings and HTML lines are neither. A run holds at
// least kBareCodeMinLines code lines, one of them outside indented blocks, and at least a third
// of its non-blank lines; no prose line but one indented deeper than its first (a docstring); it
// starts and ends with a code line. An indented code block is code whatever its lines look like,
// and joins the runs next to it: code with blank lines in it is indented blocks between prose,
// as Markdown reads it. Prose without such a run is kept whole. Thread-safety: pure function.
inline constexpr size_t kBareCodeMinLines = 3;
std::vector<Segment> SplitBareCode(std::string_view text, std::vector<Segment> segments);

// Whether `text` reads as a program's output or as prose, not as code: three in four of its
// non-blank lines at least are lines of output by how they begin (a log line beginning with a
// date, a time or a level; a dump line, an offset then bytes; a stack frame, and a Python
// traceback's source line after its frame; a line of a drawn or an ASCII tree; a line of `ls -l`;
// a compiler's diagnostic, and the numbered source lines and `^~~` markers under it; a command
// after a shell's `$ ` prompt), or prose by
// their shape (a sentence, a line of words) with nothing of code in them (no `=`, braces, `;` at
// the end, comment after text, statement word first); and no other line reads as code by its
// shape (as above), nor ends in `;`, `{` or a closing bracket with three of code's brackets and
// operators at least (a one-line method). (A line of output is not read for code: a traceback's
// source lines are code.) Code whose lines merely lack code's shape (a list of Ruby `autoload`s, a
// table of tuples, Go struct fields, constants with comments written as sentences) is neither.
// Thread-safety: pure function.
bool ReadsAsOutputOrProse(std::string_view text);

}  // namespace doppel
