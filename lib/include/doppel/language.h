// Language: what doppel knows about one programming language — from grammars/languages/*.lang,
// embedded in the binary at build time — and how to find one by name, file name or fence tag.
// Thread-safety: the registry is built once and immutable.
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "doppel/status.h"

struct TSLanguage;

namespace doppel {

struct Language {
  std::string name;                       // "python", "c_sharp", ...
  std::vector<std::string> extensions;    // ".py", ... (lower case)
  std::vector<std::string> filenames;     // "Rakefile", ...
  std::vector<std::string> fences;        // Markdown fence tags (lower case)
  std::unordered_set<std::string> identifiers, strings, numbers, comments, docstrings;
  // Nodes of adjacent string literals the language joins into one ("a" "b" in C, C++, Python
  // and Ruby): each run of strings in them is one string token, spelled as the joined contents
  // (a name between pieces, C's `"a" PRIu64 "b"`, stays a name and splits the run).
  std::unordered_set<std::string> string_concatenations;
  // Nodes inside a string literal that hold code (JavaScript's `${...}`, a Python f-string's
  // `{...}`): the literal is spelled with each written `{}`, so a copy that renames the names they
  // read keeps its literals' spelling.
  std::unordered_set<std::string> string_interpolations;
  // Format strings name the values they print (Rust's `println!("{name}")`): each such `{name}`
  // or `{name:spec}` in a string literal is written `{}`, as an interpolation is.
  bool format_string_names = false;
  // Statements that name other code (Python's import_statement, Rust's use_declaration, C's
  // preproc_include): their tokens carry Token::import.
  std::unordered_set<std::string> imports;
  // Macro definitions whose body the grammar reads as one leaf (C's preproc_function_def, whose
  // preproc_arg is the rest of the line): the body is lexed into tokens (line continuations are
  // spaces), so a macro renamed or re-aligned by a formatter keeps its fingerprints. And macro
  // constants (C's preproc_def): the body is one token spelled by its lexed tokens, a value kept
  // whole but not its spacing.
  std::unordered_set<std::string> macro_definitions, macro_constants;
  // Words the grammar reads as tokens of their own, not as names, besides its keywords: literals
  // (true, nil, None) and primitive types (C's int, uint8_t). Verbatim in a lexed table row.
  std::unordered_set<std::string> word_tokens;
  // For the first-pass lexer (NewCodeLexer in doppel/code_tokenizer.h): leaves the grammar names
  // after their text that are not anonymous nodes (Java's `void`, Rust's `mut`); keywords it
  // reads as names in most places (`get` in JavaScript), decided by what follows them; Rust's
  // macro fragment specifiers (`expr`), keywords only after `$name:`; keywords it keeps after a
  // member access (Java's `String.class`, `Outer.this`, `outer.new Inner()`).
  std::vector<std::string> lexer_leaves, lexer_contextual, lexer_fragments, lexer_member_keywords;
  // For the first-pass lexer: how the statements `imports` names begin, each a sequence of
  // tokens as spelled, joined by `+` ("use", "pub+use", "#+[" for a Rust attribute), where a
  // statement begins (first on its line, or after `;`, `{` or `}`); and the tokens after such a
  // beginning that make it something else (`using (` in C#, `*+=` for C++'s `using T = U;`,
  // where `*` is any token). A statement runs to a `;` outside its brackets (also to a line's
  // end with lexer_imports_end_at_line, and for a preprocessor directive), or, when its
  // beginning ends in an opening bracket, to that bracket's match.
  std::vector<std::string> lexer_imports, lexer_imports_not_before;
  bool lexer_imports_end_at_line = false;
  // Statements end with `;` (C, Java; in Rust all but a block's tail expression, which a `}`
  // follows), so a line ending in none continues on the next (a return type above a function's
  // name): redaction takes such lines in with the passage.
  bool statements_end_with_semicolon = false;
  std::string line_comment;               // "#", "//"
  std::string decorator;                  // "@": begins a decorator or annotation line; or empty
  std::string block_open, block_close;    // "/*", "*/" or empty
  // A snippet that does not parse alone is parsed again between these lines ("class Snippet {"
  // and "}"): a method without its class. Empty when the language needs none.
  std::string snippet_open, snippet_close;
  // Tokens that open and close code blocks (a span's ends move out until the blocks it opens
  // are closed). Default: "{" and "}". Ruby: def ... end; and `if` opens a block only as the
  // first token of its line (not as a modifier), which block_start_line_first holds.
  std::vector<std::string> block_start = {"{"}, block_end = {"}"}, block_start_line_first;
  // Python: a block_start token that ends its line opens a block of the following more indented
  // lines, which closes where the indentation comes back (or at the end of the code).
  bool block_indented = false;
  // Python: keywords that begin a later clause of a statement at its indentation (`elif`, `else`,
  // `except`, `finally`): redaction replaces such a statement whole or leaves it.
  std::vector<std::string> block_clauses;
  // Ruby: after a word of block_loop_words that begins its line (`while x do`, `for x in list
  // do`), the first block_loop_separator on that line ends the loop's header; it opens no block.
  std::vector<std::string> block_loop_words, block_loop_separators;
  // For the first-pass lexer: the grammar's number literals take a sign written against them
  // where an operand begins (C's `return -1`).
  bool lexer_signed_numbers = false;
  // Languages whose code this language's grammar reads as well (C++: C; TypeScript: JavaScript;
  // TSX: TypeScript and JavaScript): code is compared within a family, the languages joined by
  // these lists, and of two languages that read code alike the smaller is its language.
  std::vector<std::string> superset_of;
  // Set by the registry: the family's name (its first language by name) and this language's
  // place in it (how many of the family's languages its grammar reads besides its own: C 0,
  // C++ 1; JavaScript 0, TypeScript 1, TSX 2; 0 for a family of one).
  std::string family;
  int family_rank = 0;
  const TSLanguage* grammar = nullptr;
};

// Every language with a linked grammar, sorted by name. Fails (Internal) only when an embedded
// table is malformed (or a `superset_of` names no table, or the lists go round in a circle),
// which a test catches.
Result<const std::vector<Language>*> Languages();

// Reads one table's text (grammars/README.md) into `lang` (grammar left unset). A key it does
// not know, a true/false key with another value, or a block_comment that is not two words is
// Internal naming the line: a misspelt key in a new table must not be ignored.
Status ParseLanguageTable(std::string_view text, Language* lang);

// Sets each language's family and family_rank from the superset_of lists of `languages` (all
// the tables; the registry calls it): a family is the languages the lists join, named after its
// first by name; a rank is the number of languages a grammar reads besides its own, through the
// lists' own lists too. A list naming no language of `languages`, or lists that lead back to
// their own language, are Internal naming the table (each language is then a family of one).
Status SetLanguageFamilies(std::vector<Language>* languages);

// Lookups; nullptr when unknown. Names are exact; fences and extensions are case-insensitive.
const Language* LanguageByName(std::string_view name);
const Language* LanguageByFence(std::string_view tag);
const Language* LanguageForPath(std::string_view path);
// By name, fence tag or extension-like alias ("py", "c++", "golang", ...).
const Language* LookupLanguage(std::string_view name_or_tag);

// Code is compared within a language family only (the tables' `superset_of`: C with C++,
// JavaScript with TypeScript and TSX); the generic lexer's code (no language) is compared with
// everything, and a name no table has is a family of its own.
bool SameLanguageFamily(std::string_view a, std::string_view b);

// The comment a redaction marker or a note is written in inside code: `open` text `close`.
struct CommentSyntax {
  std::string_view open, close;  // close is empty for a line comment
};
// For code in `name_or_tag` (a name, fence tag or extension): a parsed language's line comment
// (its table's); for the fence tags of common languages without a grammar here (shell, SQL,
// YAML, Lua, Kotlin, HTML, CSS ...), theirs; otherwise "//".
CommentSyntax CommentSyntaxFor(std::string_view name_or_tag);
// Whether `name_or_tag` names a programming language without a grammar here (one of those
// CommentSyntaxFor knows, but markup that is mostly prose: Markdown, HTML, TeX): code the
// generic lexer reads.
bool IsGenericCodeLanguage(std::string_view name_or_tag);
// Whether `name_or_tag` names a data, configuration, style or build format (JSON, YAML, TOML,
// INI, XML, CSV, CSS and its dialects, a Dockerfile, a Makefile, CMake, GraphQL, Protocol Buffers,
// HCL).
bool NamesDataFormat(std::string_view name_or_tag);
// Whether a fence tag names a language: one with a grammar here, a programming language without
// one (IsGenericCodeLanguage) or a data format (NamesDataFormat). A block under such a tag is read
// in it, taken at its word; one under no tag, a tag such as `text` or `console`, a tag of markup
// that is mostly prose, or a name unknown here is parsed in every grammar to find its language
// (GuessCodeLanguages).
bool TagNamesLanguage(std::string_view tag);
// `message` as one comment in `comment`'s syntax, on one line: control characters (a line break
// would end a line comment) become spaces; in a block comment, its closing text (a source named
// `a*/b`; and its first two characters, `*/` of JSX's `*/}`) and its opening text (comments nest
// in OCaml) are broken with a space, as is every `--` in `<!-- -->` (XML comments may not hold
// one).
std::string CommentText(CommentSyntax comment, std::string message);

// Sha256 of grammars.lock at build time: names the exact grammar versions (index manifest).
std::string_view GrammarsVersion();

}  // namespace doppel
