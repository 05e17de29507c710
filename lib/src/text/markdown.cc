#include "doppel/markdown.h"

#include <algorithm>
#include <cctype>
#include <initializer_list>

#include "doppel/tokenizer.h"

namespace doppel {
namespace {

// A fence's container, read from what precedes the fence on its line: `quotes` block quote
// markers ('>' and one optional space each), then `indent` columns of a list item's content.
struct Container {
  size_t quotes = 0, indent = 0;
};

Container ContainerOf(std::string_view prefix) {
  Container c;
  size_t k = 0;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (prefix[i] != '>') continue;
    ++c.quotes;
    k = i + 1 < prefix.size() && prefix[i + 1] == ' ' ? i + 2 : i + 1;
  }
  c.indent = prefix.size() - k;
  return c;
}

struct Fence {
  char ch = 0;
  size_t len = 0;
  std::string info;
  std::string prefix;   // what precedes the fence on its line
  Container container;  // ... read as a container
};

bool IsContainerChar(char c) { return c == ' ' || c == '\t' || c == '>'; }

// Parses an opening or closing fence line (without its newline).
bool ParseFence(std::string_view line, Fence* f) {
  size_t i = 0;
  while (i < line.size() && IsContainerChar(line[i])) ++i;
  if (i >= line.size() || (line[i] != '`' && line[i] != '~')) return false;
  const char ch = line[i];
  size_t j = i;
  while (j < line.size() && line[j] == ch) ++j;
  if (j - i < 3) return false;
  std::string_view rest = line.substr(j);
  if (ch == '`' && rest.find('`') != std::string_view::npos) return false;  // inline code
  f->ch = ch;
  f->len = j - i;
  f->prefix.assign(line.substr(0, i));
  f->container = ContainerOf(f->prefix);
  size_t a = 0;
  while (a < rest.size() && (rest[a] == ' ' || rest[a] == '\t')) ++a;
  size_t b = a;
  while (b < rest.size() && !std::isspace(static_cast<unsigned char>(rest[b])) && rest[b] != '{' &&
         rest[b] != ',')
    ++b;
  f->info.clear();
  for (size_t k = a; k < b; ++k) f->info += static_cast<char>(std::tolower(static_cast<unsigned char>(rest[k])));
  return true;
}

// A closing fence is in the opening one's container: as many quote markers, and indented by
// at most three more columns (a deeper "```" is the block's own text: an example in a
// docstring).
bool IsClosing(std::string_view line, const Fence& open) {
  Fence f;
  if (!ParseFence(line, &f)) return false;
  return f.ch == open.ch && f.len >= open.len && f.info.empty() && f.container.quotes == open.container.quotes &&
         f.container.indent <= open.container.indent + 3;
}

// Where the text after a block quote's marker at `k` in `line` begins (up to 3 spaces, `>`, and
// a space if one follows), or npos when no marker is there.
size_t AfterQuoteMarker(std::string_view line, size_t k) {
  for (size_t s = 0; s < 3 && k < line.size() && line[k] == ' '; ++s) ++k;
  if (k >= line.size() || line[k] != '>') return std::string_view::npos;
  ++k;
  return k < line.size() && line[k] == ' ' ? k + 1 : k;
}

// The bytes of `line` its container takes (markers and indentation), or npos when the line is
// outside it: a line without the quote markers (a blank one too: it ends a block quote), or a
// non-blank line indented less than a list item's content.
size_t ConsumeContainer(std::string_view line, const Container& c) {
  size_t k = 0;
  for (size_t q = 0; q < c.quotes; ++q) {
    k = AfterQuoteMarker(line, k);
    if (k == std::string_view::npos) return k;
  }
  size_t cols = 0;
  while (cols < c.indent && k < line.size() && (line[k] == ' ' || line[k] == '\t')) ++k, ++cols;
  const bool blank = line.find_first_not_of(" \t\r\n", k) == std::string_view::npos;
  // Indented by 4 or more, the fence is in a list item, which a line indented less ends; 0-3
  // spaces are a fence's own indentation, which its lines may lack (the splitter does not track
  // list items: a fence in a list item indented less than 4 reads as a top-level one).
  if (cols < c.indent && !blank && c.indent >= 4) return std::string_view::npos;
  return k;
}

// The columns a line is indented by (a tab counts as reaching the next multiple of 4).
size_t IndentColumns(std::string_view line) {
  size_t cols = 0;
  for (const char c : line) {
    if (c == ' ') ++cols;
    else if (c == '\t') cols += 4 - cols % 4;
    else break;
  }
  return cols;
}

// A list item's first line: "-", "*" or "+", or 1-9 digits and "." or ")", then a space (or
// the line's end), after up to 3 spaces.
bool IsListItem(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && i < 3 && line[i] == ' ') ++i;
  if (i >= line.size()) return false;
  size_t j = i;
  if (line[j] == '-' || line[j] == '*' || line[j] == '+') {
    ++j;
  } else {
    while (j < line.size() && j - i < 9 && std::isdigit(static_cast<unsigned char>(line[j]))) ++j;
    if (j == i || j >= line.size() || (line[j] != '.' && line[j] != ')')) return false;
    ++j;
  }
  return j == line.size() || line[j] == ' ' || line[j] == '\t';
}

// An indented code block's container: four columns of indentation (StripContainer takes them).
constexpr std::string_view kIndentedCodePrefix = "    ";

// How a line outside fences reads (SplitBareCode): kProse ends a run of code lines, kOther
// neither starts nor ends one.
enum class LineShape { kBlank, kProse, kOther, kCode };

// Brackets and operators: code's marks. ('*', '_' and '/' are left out: Markdown's emphasis and
// paths are made of them.)
bool IsCodeMark(char c) { return std::string_view("{}()[];=<>|&+$@^~%\\").find(c) != std::string_view::npos; }

bool IsAsciiAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// The ASCII letters `line` begins with (a statement word, when it is one).
std::string_view LeadingLetters(std::string_view line) {
  size_t k = 0;
  while (k < line.size() && IsAsciiAlpha(line[k])) ++k;
  return line.substr(0, k);
}

bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

// A letter of a word: ASCII, or any byte of a character beyond it (accented, Cyrillic, CJK ...).
bool IsWordLetter(char c) { return IsAsciiAlpha(c) || static_cast<unsigned char>(c) >= 0x80; }

bool IsBlankChar(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
// `s` without the blanks around it.
std::string_view TrimBlank(std::string_view s) {
  while (!s.empty() && IsBlankChar(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlankChar(s.back())) s.remove_suffix(1);
  return s;
}

bool OneOf(std::string_view w, std::initializer_list<std::string_view> words) {
  return std::find(words.begin(), words.end(), w) != words.end();
}

// Words that begin a statement or a declaration in many languages (lower case: a sentence's
// first word is capitalized).
bool IsStatementWord(std::string_view w) {
  return OneOf(w, {"abstract", "async",   "auto",     "await",  "begin",     "bool",    "break",     "case",
                   "catch",    "char",    "class",    "const",  "continue",  "def",     "default",   "defer",
                   "del",      "do",      "double",   "elif",   "else",      "end",     "enum",      "except",
                   "export",   "extern",  "final",    "finally", "fn",       "for",     "foreach",   "from",
                   "func",     "function", "go",      "if",     "impl",      "import",  "int",       "interface",
                   "let",      "long",    "loop",     "match",  "module",    "mut",     "namespace", "new",
                   "package",  "pass",    "private",  "protected", "pub",    "public",  "raise",     "require",
                   "rescue",   "return",  "select",   "static", "struct",    "switch",  "template",  "throw",
                   "trait",    "try",     "type",     "typedef", "unless",   "unsafe",  "use",       "using",
                   "val",      "var",     "void",     "while",  "with",      "yield"});
}

// Statement words that a line of code ends with `:` after: a block (Python's `else:`,
// `for x in xs:`), a label (`case 1:`, `default:`, `public:`).
bool OpensBlock(std::string_view w) {
  return OneOf(w, {"if", "elif", "else", "for", "while", "try", "except", "finally", "with", "def", "class", "async",
                   "match", "case", "default", "public", "private", "protected"});
}

// A line's words (separated by blanks), those of letters only (with quotes, brackets or emphasis
// before and punctuation after), and its marks (IsCodeMark).
struct LineWords {
  size_t words = 0, letter_words = 0, marks = 0;
};

LineWords CountWords(std::string_view line) {
  LineWords n;
  for (size_t i = 0; i < line.size();) {
    while (i < line.size() && IsBlankChar(line[i])) ++i;
    if (i >= line.size()) break;
    size_t j = i;
    while (j < line.size() && !IsBlankChar(line[j])) ++j;
    std::string_view w = line.substr(i, j - i);
    ++n.words;
    for (const char c : w) n.marks += IsCodeMark(c);
    while (!w.empty() && std::string_view("\"'(`*_").find(w.front()) != std::string_view::npos) w.remove_prefix(1);
    while (!w.empty() && std::string_view(".,;:!?\"')`*_").find(w.back()) != std::string_view::npos) w.remove_suffix(1);
    n.letter_words += !w.empty() && IsWordLetter(w.front()) && IsWordLetter(w.back()) &&
                      std::all_of(w.begin(), w.end(), [](char c) { return IsWordLetter(c) || c == '-' || c == '\''; });
    i = j;
  }
  return n;
}

// A call statement: a name or a chain of names (`self.items.append`, `a->b`, `Foo::bar`), its
// arguments, and nothing after the call but `;`.
bool IsCall(std::string_view line, std::string_view first) {
  const size_t paren = first.find('(');
  if (paren == std::string_view::npos || paren == 0 || !IsNameChar(first[paren - 1])) return false;
  const std::string_view callee = first.substr(0, paren);
  return std::all_of(callee.begin(), callee.end(),
                     [](char c) { return IsNameChar(c) || std::string_view(".$@:>-").find(c) != std::string_view::npos; }) &&
         (line.back() == ')' || line.ends_with(");"));
}

// A command of a language that calls without parentheses (Ruby, Perl): a snake_case name or a
// chain of names (`@parser.separator nil`, `Helpers.deprecate 2,`), then arguments that are not
// a sentence's words (`package.json holds the settings` is prose).
bool IsCommand(std::string_view first, std::string_view rest) {
  std::string_view w = first;
  if (!w.empty() && (w[0] == '@' || w[0] == '$')) w.remove_prefix(1);
  if (w.empty() || std::isalpha(static_cast<unsigned char>(w[0])) == 0 ||
      !std::all_of(w.begin(), w.end(), [](char c) { return IsNameChar(c) || c == '.'; })) {
    return false;
  }
  const bool snake = w.find('_') != std::string_view::npos &&
                     std::none_of(w.begin(), w.end(), [](char c) { return std::isupper(static_cast<unsigned char>(c)) != 0; });
  // Each name of a chain starts with a letter (the first one does, above): `v1.5` is not a chain.
  bool chain = w.find('.') != std::string_view::npos && w.back() != '.';
  for (size_t i = 0; chain && i + 1 < w.size(); ++i) {
    if (w[i] == '.') chain = std::isalpha(static_cast<unsigned char>(w[i + 1])) != 0 || w[i + 1] == '_';
  }
  if (!snake && !chain) return false;
  const LineWords args = CountWords(rest);
  return args.letter_words <= 1 || args.marks > 0 || rest.find_first_of("\"'") != std::string_view::npos;
}

// An assignment: a name (a field, an element), an assignment operator, a value.
bool IsAssignment(std::string_view first, std::string_view rest) {
  const bool target = !first.empty() && std::all_of(first.begin(), first.end(), [](char c) {
    return IsNameChar(c) || std::string_view(".@$[]'\"->:").find(c) != std::string_view::npos;
  });
  const std::string_view op = rest.substr(0, rest.find_first_of(" \t"));
  return target && op.size() < rest.size() && !op.empty() && op.size() <= 3 && op.back() == '=' &&
         op.find_first_not_of("=+-*/:|&^%<>?") == std::string_view::npos && !OneOf(op, {"==", "===", "<=", ">="});
}

// A member of an object literal or a struct's initializer: a name (optional: `name?`), `:`, a
// value, `,` (`timeout: undefined,`); or a spread (`...options,`).
bool IsMember(std::string_view line, std::string_view first) {
  if (line.back() != ',') return false;
  std::string_view name = first;
  if (name.starts_with("...")) {
    name.remove_prefix(3);
    return !name.empty() && std::all_of(name.begin(), name.end() - 1, [](char c) { return IsNameChar(c) || c == '.'; }) &&
           name.back() == ',';
  }
  if (name.size() < 2 || name.back() != ':') return false;
  name.remove_suffix(1);
  if (name.back() == '?') name.remove_suffix(1);
  return !name.empty() && std::all_of(name.begin(), name.end(), IsNameChar) && first.size() < line.size();
}

LineShape ShapeOfLine(std::string_view line) {
  line = TrimBlank(line);
  if (line.empty()) return LineShape::kBlank;
  auto starts = [&](std::string_view p) { return line.substr(0, p.size()) == p; };
  if (line[0] == '#') {
    if (OneOf(line.substr(0, line.find_first_of(" \t(<\"")),
              {"#include", "#define", "#if", "#ifdef", "#ifndef", "#elif", "#else", "#endif", "#pragma", "#undef",
               "#error", "#import"})) {
      return LineShape::kCode;
    }
    // A Markdown heading ends a run; `# ...` is as likely a comment.
    return starts("##") ? LineShape::kProse : LineShape::kOther;
  }
  // A numbered list item ("2. Call it:") ends a run.
  const size_t digits = std::min(line.find_first_not_of("0123456789"), line.size());
  if (digits > 0 && digits + 1 < line.size() && (line[digits] == '.' || line[digits] == ')') && line[digits + 1] == ' ') {
    return LineShape::kProse;
  }
  // Comments, and Markdown's tables, links, quotes, bullets, rules, emphasis and HTML: neither.
  if (starts("//") || starts("/*") || starts("*/") || starts("--") || starts("|") || starts("[") || starts("![") ||
      starts(">") || starts("<") || starts("* ") || starts("- ") || starts("+ ") || starts("**") || starts("__") ||
      starts("=")) {
    return LineShape::kOther;
  }
  const LineWords n = CountWords(line);
  const size_t sp = std::min(line.find_first_of(" \t"), line.size());
  const std::string_view first = line.substr(0, sp);
  std::string_view rest = line.substr(sp);
  while (!rest.empty() && IsBlankChar(rest.front())) rest.remove_prefix(1);
  // A call before the sentence test: `print("It is done.")` ends as a sentence does.
  if (IsCall(line, first)) return LineShape::kCode;
  std::string_view sentence = line;
  while (!sentence.empty() && std::string_view("\"')`*_").find(sentence.back()) != std::string_view::npos) {
    sentence.remove_suffix(1);
  }
  const char end = sentence.empty() ? 0 : sentence.back();
  const bool quoted_args = std::islower(static_cast<unsigned char>(line[0])) != 0 &&
                           std::all_of(first.begin(), first.end(), IsNameChar) && !rest.empty() &&
                           (rest[0] == '"' || rest[0] == '\'');  // `puts "Done."`
  if (n.letter_words >= 3 && (n.marks <= 2 || n.letter_words * 2 >= n.words) && (end == '.' || end == '?' || end == '!') &&
      !quoted_args) {
    return LineShape::kProse;
  }
  // A lead-in ("Output:", "Call it like this:") ends a run.
  if (line.back() == ':' && std::isupper(static_cast<unsigned char>(line[0])) != 0 && n.marks == 0) return LineShape::kProse;
  // A line of marks only: brackets are code (`});`, `} )`), and so is one that opens a block, a
  // call or a list (`() => {`); others (`...`, `^^^`) are not.
  if (std::none_of(line.begin(), line.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; })) {
    const bool opens = line.back() == '{' || line.back() == '(' || line.back() == '[';
    return opens || line.find_first_not_of("{}()[];, \t") == std::string_view::npos ? LineShape::kCode : LineShape::kOther;
  }
  if (line.back() == '{' || line.back() == '(' || line.back() == '[') return LineShape::kCode;  // a block, a call or a list goes on
  const std::string_view letters = LeadingLetters(line);
  const size_t k = letters.size();
  const std::string_view keyword = k > 0 && (k == line.size() || !IsNameChar(line[k])) ? letters : std::string_view();
  const bool statement = IsStatementWord(keyword);
  // Mostly words (a sentence going on to the next line, an option's description); a declaration
  // such as `public final void set(T obj, long value)` is words too, but a statement word and
  // brackets make it code, and so does an operator the line goes on after (a long string's
  // first part, `'... is not valid: ' +`).
  if (n.letter_words >= 5 && n.letter_words * 3 >= n.words * 2 && n.marks <= (statement ? 0 : 2) &&
      std::string_view("+\\&|").find(line.back()) == std::string_view::npos) {
    return LineShape::kProse;
  }
  if (line.back() == ';' && n.marks >= 2) return LineShape::kCode;
  if (line[0] == '}' || line[0] == ')' || line[0] == ']') return LineShape::kCode;
  // A statement word followed by code, or a short line (`return total`, `import os`, `end`); one
  // ending in `:` opens a block (`else:`, `for x in xs:`, not "do this:" or "for example:").
  if (statement) {
    if (line.back() == ':') {
      if (OpensBlock(keyword) && (keyword != "for" || line.find(" in ") != std::string_view::npos)) return LineShape::kCode;
    } else if (n.marks >= 1 || n.words <= 4) {
      return LineShape::kCode;
    }
  }
  if (IsCommand(first, rest) || IsAssignment(first, rest) || IsMember(line, first)) return LineShape::kCode;
  size_t nonblank = 0;
  for (const char c : line) nonblank += !IsBlankChar(c);
  if (n.marks >= 2 && n.marks * 8 >= nonblank) return LineShape::kCode;
  return LineShape::kOther;
}

// Whether `s` holds `lower` (lower-case ASCII) at `at`, in any case.
bool CaselessAt(std::string_view s, size_t at, std::string_view lower) {
  if (at > s.size() || s.size() - at < lower.size()) return false;
  for (size_t k = 0; k < lower.size(); ++k) {
    if (std::tolower(static_cast<unsigned char>(s[at + k])) != lower[k]) return false;
  }
  return true;
}

// Where `s` first holds `lower` (lower-case ASCII) at or after `from`, in any case; npos when
// nowhere.
size_t FindCaseless(std::string_view s, std::string_view lower, size_t from) {
  const char first[] = {lower[0], static_cast<char>(std::toupper(static_cast<unsigned char>(lower[0]))), '\0'};
  for (size_t at = s.find_first_of(first, from); at != std::string_view::npos; at = s.find_first_of(first, at + 1)) {
    if (CaselessAt(s, at, lower)) return at;
  }
  return std::string_view::npos;
}

// The end (past its `>`) of the start tag `<name ...>` (name in lower case) at `at` of `line`,
// or 0 when there is none there (a `>` on the same line ends it).
size_t TagEnd(std::string_view line, size_t at, std::string_view name) {
  if (!CaselessAt(line, at + 1, name) || line[at] != '<') return 0;
  const size_t after = at + 1 + name.size();
  if (after < line.size() && line[after] != '>' && line[after] != ' ' && line[after] != '\t') return 0;
  const size_t close = line.find('>', after);
  return close == std::string_view::npos ? 0 : close + 1;
}

// The language a <pre> or <code> tag names: its class `language-X` or `lang-X`, or its
// `data-lang` or `data-language` attribute (lower-cased); "" when none.
std::string TagLanguage(std::string_view tag) {
  auto word_at = [&](size_t at) {
    std::string w;
    for (; at < tag.size(); ++at) {
      const char c = tag[at];
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '#' && c != '-' && c != '_' && c != '.') break;
      w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return w;
  };
  for (const std::string_view attr : {"data-lang=", "data-language="}) {
    if (size_t at = FindCaseless(tag, attr, 0); at != std::string_view::npos) {
      at += attr.size();
      if (at < tag.size() && (tag[at] == '"' || tag[at] == '\'')) ++at;
      if (std::string w = word_at(at); !w.empty()) return w;
    }
  }
  // Class names: each begins after a quote or a blank (not "data-lang-...").
  for (const std::string_view prefix : {"language-", "lang-"}) {
    for (size_t at = FindCaseless(tag, prefix, 0); at != std::string_view::npos; at = FindCaseless(tag, prefix, at + 1)) {
      if (at > 0 && (tag[at - 1] == '"' || tag[at - 1] == '\'' || tag[at - 1] == ' ' || tag[at - 1] == '=')) {
        if (std::string w = word_at(at + prefix.size()); !w.empty()) return w;
      }
    }
  }
  return "";
}

// An HTML <pre> element opening on `line` (after blanks): where its tags begin and where its
// text begins on the line (after the <pre> tag and a <code> tag right after it), and the
// language they name.
struct PreOpen {
  size_t tags = 0, text = 0;
  std::string language;
};

bool ParsePreOpen(std::string_view line, PreOpen* p) {
  size_t i = 0;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  const size_t pre_end = TagEnd(line, i, "pre");
  if (pre_end == 0) return false;
  p->tags = i;
  p->text = pre_end;
  p->language = TagLanguage(line.substr(i, pre_end - i));
  if (const size_t code_end = TagEnd(line, pre_end, "code"); code_end > 0) {
    if (p->language.empty()) p->language = TagLanguage(line.substr(pre_end, code_end - pre_end));
    p->text = code_end;
  }
  return true;
}

// Where the first </pre> tag (`</pre`, blanks, `>`, in any case) at or after `from` of `text`
// begins, and where it ends (past its `>`); npos when there is none.
std::pair<size_t, size_t> FindPreClose(std::string_view text, size_t from) {
  for (size_t at = FindCaseless(text, "</pre", from); at != std::string_view::npos;
       at = FindCaseless(text, "</pre", at + 1)) {
    size_t k = at + 5;
    while (k < text.size() && (text[k] == ' ' || text[k] == '\t')) ++k;
    if (k < text.size() && text[k] == '>') return {at, k + 1};
  }
  return {std::string_view::npos, std::string_view::npos};
}

// The inline tags an HTML <pre> block's text may hold (a highlighter's spans, emphasis, links):
// taken out of the code it shows. Other `<...>` is the code's own text (an unescaped
// `List<String>`).
bool IsInlineTag(std::string_view name) {
  static constexpr std::string_view kInline[] = {"a",   "b",    "br",   "code",  "del", "em",     "font",
                                                 "i",   "ins",  "kbd",  "mark",  "s",   "samp",   "small",
                                                 "span", "strong", "sub", "sup", "u",   "var"};
  return std::find(std::begin(kInline), std::end(kInline), name) != std::end(kInline);
}

// The end (past its `>`) of an inline tag (IsInlineTag), opening or closing, at `at` of `s`, or
// 0 when there is none there. A tag ends on its own line, before another `<`, within 256 bytes
// (so a line of `<i ` is not scanned again from each).
size_t InlineTagEnd(std::string_view s, size_t at) {
  size_t i = at + 1;
  if (i < s.size() && s[i] == '/') ++i;
  std::string name;
  while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i])) && name.size() < 8) {
    name += static_cast<char>(std::tolower(static_cast<unsigned char>(s[i++])));
  }
  if (name.empty() || !IsInlineTag(name) || i >= s.size() || (s[i] != '>' && s[i] != ' ' && s[i] != '/' && s[i] != '\t')) {
    return 0;
  }
  for (const size_t limit = std::min(s.size(), at + 256); i < limit && s[i] != '\n' && s[i] != '<'; ++i) {
    if (s[i] == '>') return i + 1;
  }
  return 0;
}

// The end (past its `;`) of the character reference at `at` of `s` (`&lt;`, `&#60;`, `&#x3C;`),
// with the text it stands for in *decoded; 0 when there is none there, or when it stands for a
// control character (a line break would move the lines after it) or for no character.
size_t ReferenceEnd(std::string_view s, size_t at, std::string* decoded) {
  const size_t semi = s.substr(0, std::min(s.size(), at + 11)).find(';', at + 1);  // within 10 bytes
  if (semi == std::string_view::npos) return 0;
  const std::string_view name = s.substr(at + 1, semi - at - 1);
  static constexpr std::pair<std::string_view, std::string_view> kNamed[] = {
      {"lt", "<"}, {"gt", ">"}, {"amp", "&"}, {"quot", "\""}, {"apos", "'"}, {"nbsp", " "}};
  for (const auto& [n, text] : kNamed) {
    if (name == n) {
      *decoded = text;
      return semi + 1;
    }
  }
  if (name.size() < 2 || name[0] != '#') return 0;
  const bool hex = name[1] == 'x' || name[1] == 'X';
  const std::string_view digits = name.substr(hex ? 2 : 1);
  if (digits.empty() || digits.size() > 7) return 0;
  uint32_t cp = 0;
  for (const char c : digits) {
    const int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                  : hex && std::isxdigit(static_cast<unsigned char>(c)) ? std::tolower(static_cast<unsigned char>(c)) - 'a' + 10
                                                                        : -1;
    if (d < 0) return 0;
    cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(d);
  }
  if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) || (cp >= 0xD800 && cp < 0xE000) || cp > 0x10FFFF) return 0;
  decoded->clear();
  AppendUtf8(cp, decoded);
  return semi + 1;
}

}  // namespace

namespace {

std::vector<Segment> SplitMarkdownOnce(std::string_view text, std::string* unclosed);

// A fenced block that holds Markdown (at the margin, in a list item or in a quote): tagged so,
// or untagged (or plain text), in which case it must hold a fence of its own at the margin
// (below, to tell it from code whose comment shows a fence, as a docstring's example, indented
// with its function).
bool MayHoldMarkdown(const Segment& seg) {
  static constexpr std::string_view kPlain[] = {"", "text", "txt", "plaintext", "plain"};
  return seg.kind == Kind::kCode && !seg.html && !seg.indented &&
         (NamesMarkdown(seg.language) || std::find(std::begin(kPlain), std::end(kPlain), seg.language) != std::end(kPlain));
}

}  // namespace

// An answer that shows Markdown in a block (a README, with its code blocks, fenced in ````md)
// is read as Markdown there too: the block's prose as prose, its own fenced blocks as code in
// their languages. (Read as one generic block, the inner fences' backticks read as strings
// would hide the code in them.) A block is read so when its split gives a fenced block of its
// own, one whose fence is indented by at most 3 columns; to a depth of 4.
std::vector<Segment> SplitMarkdown(std::string_view text, std::string* unclosed) {
  std::vector<Segment> segments = SplitMarkdownOnce(text, unclosed);
  for (int depth = 0; depth < 4; ++depth) {
    bool nested = false;
    std::vector<Segment> out;
    out.reserve(segments.size());
    for (Segment& seg : segments) {
      if (!MayHoldMarkdown(seg)) {
        out.push_back(std::move(seg));
        continue;
      }
      // (A block in a list item or a quote is read without its container's prefixes, and what
      // it holds is put back at the answer's bytes, each code block from its line's start with
      // the two prefixes as its own.)
      const bool contained = !seg.prefix.empty();
      StrippedCode stripped;
      if (contained) stripped = StripContainer(text, seg);
      const std::string_view block = contained ? std::string_view(stripped.code) : text.substr(seg.begin, seg.end - seg.begin);
      std::string inner_unclosed;
      std::vector<Segment> inner = SplitMarkdownOnce(block, &inner_unclosed);
      // A block not tagged as Markdown holds it only when its fences close, and a line of `~`
      // under a line of text is a title's underline (reStructuredText's, in a Python module's
      // docstring), not a fence: read as one, the code after it was a fence's text, and a
      // module copied whole was allowed.
      const bool tagged = NamesMarkdown(seg.language);
      auto underline = [&](const Segment& s) {
        // (The fence's line ends at s.begin - 1; the line above it ends before the fence's.)
        if (tagged || s.begin < 2) return false;
        const size_t open_begin = block.rfind('\n', s.begin - 2) + 1;  // (npos + 1: 0)
        if (open_begin < 2) return false;  // no line above
        const std::string_view opener = TrimBlank(block.substr(open_begin, s.begin - 1 - open_begin));
        const size_t above_begin = block.rfind('\n', open_begin - 2) + 1;
        return !opener.empty() && opener.find_first_not_of('~') == std::string_view::npos &&
               !TrimBlank(block.substr(above_begin, open_begin - 1 - above_begin)).empty();
      };
      const bool holds_fence = (tagged || inner_unclosed.empty()) && std::any_of(inner.begin(), inner.end(), [&](const Segment& s) {
        return s.kind == Kind::kCode && !s.html && !s.indented && IndentColumns(s.prefix) < 4 && !underline(s);
      });
      // (An HTML block is read from the answer's bytes as they stand, not from a container's
      // lines: a block in a container that holds one stays one block.)
      const bool html_inside =
          contained && std::any_of(inner.begin(), inner.end(), [](const Segment& s) { return s.html; });
      if (!holds_fence || html_inside) {
        out.push_back(std::move(seg));
        continue;
      }
      nested = true;
      for (Segment& s : inner) {
        if (contained) {
          const uint32_t begin = stripped.ToAnswer(s.begin, false);
          s.begin = s.kind != Kind::kCode || begin == 0 ? begin : static_cast<uint32_t>(text.rfind('\n', begin - 1) + 1);
          s.end = stripped.ToAnswer(s.end, true);
          if (s.kind == Kind::kCode) s.prefix = seg.prefix + s.prefix;
        } else {
          s.begin += seg.begin;
          s.end += seg.begin;
        }
        s.line += seg.line - 1;
        out.push_back(std::move(s));
      }
    }
    segments = std::move(out);
    if (!nested) break;
  }
  return segments;
}

namespace {

std::vector<Segment> SplitMarkdownOnce(std::string_view text, std::string* unclosed) {
  std::vector<Segment> out;
  Fence open;
  auto push = [&](Kind kind, const std::string& lang, size_t b, size_t e, uint32_t line,
                  std::string_view prefix = {}) {
    if (e <= b) return;
    out.push_back(Segment{kind, lang, static_cast<uint32_t>(b), static_cast<uint32_t>(e), line, std::string(prefix)});
  };
  size_t pos = 0, seg_begin = 0;
  uint32_t line_no = 1, seg_line = 1;
  bool in_code = false;
  // An indented code block (CommonMark: lines indented by 4 or more columns, after a blank line
  // or at the start, outside a list): it runs over indented and blank lines to its last
  // indented one, `indented_end` (line `indented_end_line`, 1-based). Indented lines in a list
  // are its items' text, and an indented line right after a paragraph's continues it.
  bool in_indented = false, in_list = false, prev_blank = true;
  // No </pre> lies at or after this offset (a search found none): a <pre> there is not looked
  // for again, so lines of unclosed <pre> tags cost one search, not one each.
  size_t no_pre_close_after = std::string_view::npos;
  auto find_pre_close = [&](size_t from) {
    const auto close = FindPreClose(text, from);
    if (close.first == std::string_view::npos) no_pre_close_after = from;
    return close;
  };
  size_t indented_end = 0;
  uint32_t indented_end_line = 0;
  auto end_indented = [&] {
    push(Kind::kCode, "", seg_begin, indented_end, seg_line, kIndentedCodePrefix);
    if (indented_end > seg_begin) out.back().indented = true;
    in_indented = false;
    seg_begin = indented_end;
    seg_line = indented_end_line + 1;
  };
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    const size_t line_end = nl == std::string_view::npos ? text.size() : nl;
    const size_t next = nl == std::string_view::npos ? text.size() : nl + 1;
    std::string_view line = text.substr(pos, line_end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const bool blank = line.find_first_not_of(" \t") == std::string_view::npos;
    const size_t cols = IndentColumns(line);
    if (in_indented && !blank && cols < 4) end_indented();
    if (in_indented) {
      if (!blank) {
        indented_end = next;
        indented_end_line = line_no;
      }
      pos = next;
      ++line_no;
      continue;
    }
    if (in_code && !open.prefix.empty() && ConsumeContainer(line, open.container) == std::string_view::npos) {
      // The container ended (a line outside the quote or the list item): so does its block,
      // and this line is read again outside it.
      push(Kind::kCode, open.info, seg_begin, pos, seg_line, open.prefix);
      in_code = false;
      seg_begin = pos;
      seg_line = line_no;
    }
    if (!in_code) {
      Fence f;
      PreOpen pre;
      std::pair<size_t, size_t> close{std::string_view::npos, std::string_view::npos};
      if (ParseFence(line, &f)) {
        push(Kind::kText, "", seg_begin, pos, seg_line);
        in_code = true;
        open = f;
        seg_begin = next;
        seg_line = line_no + 1;
      } else if (!(cols >= 4 && prev_blank && !in_list) && pos < no_pre_close_after && ParsePreOpen(line, &pre) &&
                 (close = find_pre_close(pos + pre.text)).first != std::string_view::npos) {
        // An HTML <pre> element, closed: its text, from the line after its tags when nothing
        // follows them, to its </pre> (or a </code> right before it), is a code block.
        push(Kind::kText, "", seg_begin, pos + pre.tags, seg_line);
        size_t begin = pos + pre.text;
        uint32_t begin_line = line_no;
        if (begin <= line_end && text.substr(begin, line_end - begin).find_first_not_of(" \t\r") == std::string_view::npos &&
            next <= close.first) {
          begin = next;
          begin_line = line_no + 1;
        }
        size_t end = close.first, k = close.first;
        while (k > begin && IsBlankChar(text[k - 1])) --k;
        if (k >= begin + 7 && CaselessAt(text, k - 7, "</code>")) end = k - 7;
        if (end > begin) {
          push(Kind::kCode, pre.language, begin, end, begin_line);
          out.back().html = true;
        }
        // The prose goes on after the </pre> tag, on its line.
        seg_begin = close.second;
        seg_line = line_no + static_cast<uint32_t>(std::count(text.begin() + pos, text.begin() + close.second, '\n'));
        const size_t after = text.find('\n', seg_begin);
        pos = after == std::string_view::npos ? text.size() : after + 1;
        line_no = seg_line + 1;
        in_list = in_list && (!prev_blank || cols > 0);  // (as after any line that is no item)
        prev_blank = false;
        continue;
      } else if (!blank && cols >= 4 && prev_blank && !in_list) {
        push(Kind::kText, "", seg_begin, pos, seg_line);
        in_indented = true;
        seg_begin = pos;
        seg_line = line_no;
        indented_end = next;
        indented_end_line = line_no;
      } else if (!blank && cols < 4) {
        // A list goes on over its items' lines; after a blank line, a line that is neither an
        // item nor indented ends it.
        in_list = IsListItem(line) || (in_list && (!prev_blank || cols > 0));
      }
    } else if (IsClosing(line, open)) {
      push(Kind::kCode, open.info, seg_begin, pos, seg_line, open.prefix);
      in_code = false;
      seg_begin = next;
      seg_line = line_no + 1;
    }
    prev_blank = blank && !in_code;
    pos = next;
    ++line_no;
  }
  if (in_indented) end_indented();
  push(in_code ? Kind::kCode : Kind::kText, in_code ? open.info : "", seg_begin, text.size(), seg_line,
       in_code ? std::string_view(open.prefix) : std::string_view());
  if (unclosed != nullptr) *unclosed = in_code ? open.prefix + std::string(open.len, open.ch) : std::string();
  return out;
}

// A line of a program's output or a tool's listing, by how it begins (blanks around it taken
// off): a log line (a date, a time, a syslog date such as `Jun 24 14:36:25`, a level such as
// `INFO:` or `[WARN]`), a dump line (an offset of four hex digits or more, one of them a decimal
// digit, then groups of 2-8 hex digits: `hexdump -C`, `xxd`, `od -x`), a stack frame (`at
// pkg.Cls.m(File.java:7)`, `at f (/a.js:1:1)`, `at N.C.M() in C:\x.cs:line 12`, `File "x.py",
// line 3, in f`), a line of a drawn tree (`├── src`, `│   └── main.cc`, `|-- src`), of `ls -l`,
// or of a compiler's diagnostics (`main.c:3:5: error: ...`, `main.c: In function 'f':`, Rust's
// `error[E0308]`, `--> a.rs:4:5`, and the numbered source lines and markers under them).
bool IsOutputLine(std::string_view line) {
  if (line.empty()) return false;
  {  // A drawn tree's branch, after its columns of `│` (`│   └── main.cc`), not in a string.
    std::string_view branch = line;
    while (!branch.empty() && (branch[0] == ' ' || branch[0] == '|' || branch.starts_with("\xE2\x94\x82"))) {  // │
      branch.remove_prefix(branch[0] == ' ' || branch[0] == '|' ? 1 : 3);
    }
    if (branch.starts_with("\xE2\x94\x9C\xE2\x94\x80") || branch.starts_with("\xE2\x94\x94\xE2\x94\x80") ||  // ├─ └─
        (branch.empty() && line.starts_with("\xE2\x94\x82"))) {
      return true;
    }
  }
  if (line.starts_with("at ") && line.find('(') != std::string_view::npos &&
      (line.back() == ')' || line.find(":line ") != std::string_view::npos)) {
    return true;
  }
  if (line.starts_with("File \"") && line.find("\", line ") != std::string_view::npos) return true;
  // A command at a shell's prompt (`$ npm test`, `$ ./configure`): no language here begins a
  // statement with `$` and a space.
  if (line.size() > 2 && line.starts_with("$ ") &&
      (std::isalpha(static_cast<unsigned char>(line[2])) != 0 || line[2] == '.' || line[2] == '/' || line[2] == '~')) {
    return true;
  }
  // An ASCII tree (`|-- src`, `` `-- main.cc ``), a listing of `ls -l` (`drwxr-xr-x 2 root ...`).
  if (line[0] == '|' || line[0] == '`' || line[0] == '+' || line[0] == '\\') {
    const size_t p = std::min(line.find_first_not_of("| "), line.size());  // `|   `-- main.cc`
    const std::string_view rest = line.substr(p);
    if (rest.starts_with("-- ") || rest.starts_with("`-- ") || rest.starts_with("+-- ") || rest.starts_with("\\-- ")) {
      return true;
    }
  }
  if (line.size() > 11 && std::string_view("-dlcbps").find(line[0]) != std::string_view::npos &&
      std::all_of(line.begin() + 1, line.begin() + 10, [](char c) { return std::string_view("rwxsStT-").find(c) != std::string_view::npos; }) &&
      (line[10] == ' ' || line[10] == '.' || line[10] == '+' || line[10] == '@')) {
    return true;
  }
  // A compiler's diagnostic: `main.c:3:5: error: ...`, `./main.go:3:5: undefined: x`, Rust's
  // `error[E0308]: mismatched types`, its `  --> src/main.rs:4:5` and its source lines in a
  // numbered gutter (`4 |     let x: i32 = "a";`).
  if (line.starts_with("error[E") || line.starts_with("--> ")) return true;
  {
    size_t k = 0;
    while (k < line.size() && line[k] >= '0' && line[k] <= '9') ++k;
    size_t g = k;
    while (g < line.size() && line[g] == ' ') ++g;
    // (Not a match arm: `1 | 2 | 3 => "small",`.)
    if (k > 0 && g > k && g < line.size() && line[g] == '|' && line.find("=>") == std::string_view::npos) return true;
    // The gutter's line under a source line, pointing at it: `|     ^~~~`, `|   ---  ^^^ expected`.
    if (line[0] == '|') {
      const size_t mark = line.find_first_not_of(' ', 1);
      if (mark == std::string_view::npos || std::string_view("^~-").find(line[mark]) != std::string_view::npos) return true;
    }
  }
  {
    const std::string_view first = line.substr(0, std::min(line.find_first_of(" \t"), line.size()));
    // path:line: or path:line:column: (the path has no blank; the numbers are digits)
    if (first.size() > 3 && first.back() == ':') {
      const std::string_view body = first.substr(0, first.size() - 1);
      const size_t c1 = body.find(':');
      if (c1 != std::string_view::npos && c1 > 0) {
        const std::string_view nums = body.substr(c1 + 1);
        const bool numbers = !nums.empty() && nums.front() != ':' && nums.back() != ':' &&
                             std::all_of(nums.begin(), nums.end(), [](char c) { return (c >= '0' && c <= '9') || c == ':'; }) &&
                             std::count(nums.begin(), nums.end(), ':') <= 1;
        if (numbers) return true;
      }
      // gcc's context: `main.c: In function 'main':`, `a.cc: At top level:`.
      const std::string_view after = line.substr(first.size());
      if (first.find_first_of("./") != std::string_view::npos && (after.starts_with(" In ") || after.starts_with(" At "))) {
        return true;
      }
    }
    if (line.starts_with("In file included from ")) return true;
  }
  std::string_view head = line;
  const bool bracketed = head.starts_with("[");
  if (bracketed) head.remove_prefix(1);
  // (Not a table of levels in code: `ERROR: 4,`, `[ERROR] = "error",`, `DEBUG: bool = False`.)
  const bool entry = line.back() == ',' || line.find(" =") != std::string_view::npos;
  for (const std::string_view level : {"TRACE", "DEBUG", "INFO", "NOTE", "WARN", "WARNING", "ERROR", "FATAL"}) {
    if (!entry && head.starts_with(level) && head.size() > level.size() &&
        (head[level.size()] == ':' || (bracketed && head[level.size()] == ']'))) {
      return true;
    }
  }
  const auto digits = [&](size_t at, size_t n) {
    return at + n <= head.size() &&
           std::all_of(head.begin() + at, head.begin() + at + n, [](char c) { return c >= '0' && c <= '9'; });
  };
  const auto time_at = [&](size_t at) {  // 14:36:25
    return digits(at, 2) && at + 8 <= head.size() && head[at + 2] == ':' && digits(at + 3, 2) && head[at + 5] == ':' &&
           digits(at + 6, 2);
  };
  // 2025-06-24, 2025/06/24
  if (digits(0, 4) && head.size() >= 10 && (head[4] == '-' || head[4] == '/') && digits(5, 2) && head[7] == head[4] &&
      digits(8, 2)) {
    return true;
  }
  if (time_at(0)) return true;
  for (const std::string_view month : {"Jan ", "Feb ", "Mar ", "Apr ", "May ", "Jun ", "Jul ", "Aug ", "Sep ", "Oct ", "Nov ", "Dec "}) {
    if (!head.starts_with(month)) continue;
    size_t at = month.size();
    while (at < head.size() && head[at] == ' ') ++at;
    const size_t day = at;
    while (at < head.size() && at < day + 2 && head[at] >= '0' && head[at] <= '9') ++at;
    return at > day && at < head.size() && head[at] == ' ' && time_at(at + 1);
  }
  size_t hex = 0;
  while (hex < head.size() && std::isxdigit(static_cast<unsigned char>(head[hex])) != 0) ++hex;
  if (hex >= 4 && hex < head.size() && (head[hex] == ':' || head[hex] == ' ') &&
      std::any_of(head.begin(), head.begin() + hex, [](char c) { return c >= '0' && c <= '9'; })) {
    std::string_view rest = head.substr(hex + 1);
    while (!rest.empty() && IsBlankChar(rest.front())) rest.remove_prefix(1);
    size_t group = 0;
    while (group < rest.size() && std::isxdigit(static_cast<unsigned char>(rest[group])) != 0) ++group;
    return group >= 2 && group <= 8 && group + 1 < rest.size() && rest[group] == ' ' &&
           std::isxdigit(static_cast<unsigned char>(rest[group + 1])) != 0;
  }
  return false;
}

// A prose line (LineShape::kProse) with nothing of code in it: no `=`, `{` or `}`, no `;` at its
// end, no comment after text (`Name string // Name is the file's name.` is a field), and no
// statement word first (`from typing import Any, Dict, List, Optional`, `raise Error("Bad.")`).
bool IsPlainProse(std::string_view line) {
  if (line.find_first_of("={}") != std::string_view::npos || line.back() == ';' ||
      line.find("//") != std::string_view::npos || line.find(" #") != std::string_view::npos ||
      line.find("/*") != std::string_view::npos) {
    return false;
  }
  const std::string_view first = LeadingLetters(line);
  return !IsStatementWord(first) && first != "assert";
}

}  // namespace

bool ReadsAsOutputOrProse(std::string_view text) {
  size_t lines = 0, known = 0;
  bool after_frame = false;  // a traceback's source line follows its `File "x.py", line 3` frame
  for (size_t at = 0; at < text.size();) {
    const size_t end = std::min(text.find('\n', at), text.size());
    std::string_view line = text.substr(at, end - at);
    at = end + 1;
    while (!line.empty() && IsBlankChar(line.front())) line.remove_prefix(1);
    while (!line.empty() && IsBlankChar(line.back())) line.remove_suffix(1);
    if (line.empty()) {
      after_frame = false;
      continue;
    }
    ++lines;
    if (IsOutputLine(line) || after_frame) {
      after_frame = line.starts_with("File \"");
      ++known;
      continue;
    }
    const LineShape shape = ShapeOfLine(line);
    if (shape == LineShape::kCode) return false;
    // A line a block or a statement ends, marked as code besides: `Sink::~Sink() { }`,
    // `@Override int height() { return 150; }`, `ok ? go() : (retry = true)`.
    if (std::string_view(";{})]").find(line.back()) != std::string_view::npos &&
        std::count_if(line.begin(), line.end(), IsCodeMark) >= 3) {
      return false;
    }
    known += shape == LineShape::kProse && IsPlainProse(line);
  }
  return lines > 0 && known * 4 >= lines * 3;
}

std::vector<Segment> SplitBareCode(std::string_view text, std::vector<Segment> segments) {
  std::vector<Segment> out;
  out.reserve(segments.size());
  struct Line {
    size_t begin, end;  // in `text`, the newline included
    uint32_t no;
    LineShape shape;          // kCode for every non-blank line of an indented block
    const Segment* indented;  // the indented code block it is in
    std::string_view indent;  // a quote's markers (`> `) and the blanks after them
    size_t quote = 0;         // the length of those markers in `indent`
  };
  std::vector<Line> lines;
  // The lines of consecutive prose segments and indented blocks, split into prose and runs of code.
  auto split = [&] {
    if (lines.empty()) return;
    size_t cut = lines.front().begin;  // where the prose not yet pushed begins
    uint32_t cut_line = lines.front().no;
    auto push_text = [&](size_t b, size_t e, uint32_t line) {
      if (e > b) out.push_back(Segment{Kind::kText, "", static_cast<uint32_t>(b), static_cast<uint32_t>(e), line, ""});
    };
    // A run: from its first code line to its last; `other` non-blank lines since that last one;
    // `bare` code lines outside indented blocks.
    size_t first = 0, last = 0, code = 0, nonblank = 0, other = 0, bare = 0;
    bool open = false, indented = false;
    auto close = [&] {
      if (!open) return;
      open = false;
      if (bare == 0 || code < kBareCodeMinLines || code * 3 < nonblank) {
        // Not bare code: its indented blocks stay as they were.
        for (size_t i = first; i <= last; ++i) {
          const Segment* at = lines[i].indented;
          if (at == nullptr) continue;
          while (i + 1 < lines.size() && lines[i + 1].indented == at) ++i;
          push_text(cut, at->begin, cut_line);
          out.push_back(*at);
          cut = at->end;
          cut_line = lines[i].no + 1;
        }
        return;
      }
      // The indentation every non-blank line of the run shares (none when tabs and spaces mix).
      std::string_view shared = lines[first].indent;
      for (size_t i = first; i <= last; ++i) {
        if (lines[i].shape == LineShape::kBlank) continue;
        size_t n = 0;
        while (n < shared.size() && n < lines[i].indent.size() && shared[n] == lines[i].indent[n]) ++n;
        shared = shared.substr(0, n);
      }
      push_text(cut, lines[first].begin, cut_line);
      Segment c{Kind::kCode, "", static_cast<uint32_t>(lines[first].begin), static_cast<uint32_t>(lines[last].end),
                lines[first].no, std::string(shared)};
      c.indented = indented;
      c.bare = true;
      out.push_back(std::move(c));
      cut = lines[last].end;
      cut_line = lines[last].no + 1;
    };
    for (size_t i = 0; i < lines.size(); ++i) {
      const Line& l = lines[i];
      LineShape shape = l.shape;
      // A sentence indented deeper than the run's first line is its docstring or comment.
      if (shape == LineShape::kProse && open &&
          IndentColumns(l.indent.substr(l.quote)) > IndentColumns(lines[first].indent.substr(lines[first].quote))) {
        shape = LineShape::kOther;
      }
      switch (shape) {
        case LineShape::kBlank:
          break;
        case LineShape::kCode:
          if (!open) {
            open = true;
            indented = false;
            first = i;
            code = nonblank = other = bare = 0;
          }
          last = i;
          ++code;
          nonblank += other + 1;
          other = 0;
          indented |= l.indented != nullptr;
          bare += l.indented == nullptr;
          break;
        case LineShape::kProse:
          close();
          break;
        case LineShape::kOther:
          other += open;
          break;
      }
    }
    close();
    push_text(cut, lines.back().end, cut_line);
    lines.clear();
  };
  for (Segment& seg : segments) {
    // A fenced block, or the fence lines of an empty one (which has no segment), ends the lines
    // read together.
    if ((seg.kind != Kind::kText && !seg.indented) || (!lines.empty() && lines.back().end != seg.begin)) split();
    if (seg.kind != Kind::kText && !seg.indented) {
      out.push_back(std::move(seg));
      continue;
    }
    uint32_t no = seg.line;
    for (size_t pos = seg.begin; pos < seg.end; ++no) {
      const size_t nl = text.find('\n', pos);
      const size_t next = nl == std::string_view::npos || nl >= seg.end ? seg.end : nl + 1;
      const std::string_view line = text.substr(pos, next - pos);
      // A quote's lines (`> `, to 4 levels) are read without their markers, as a fence in a
      // quote is: code pasted in a quote is code.
      size_t quote = 0;
      for (int level = 0; level < 4; ++level) {
        const size_t after = AfterQuoteMarker(line, quote);
        if (after == std::string_view::npos) break;
        quote = after;
      }
      const size_t lead = quote + std::min(line.substr(quote).find_first_not_of(" \t"), line.size() - quote);
      // An indented block's lines are code whatever they look like.
      const bool blank = line.find_first_not_of(" \t\r\n") == std::string_view::npos;
      // The rest of a line after an HTML block's </pre> begins no run: a run starts a line.
      const bool line_start = pos == 0 || text[pos - 1] == '\n';
      const LineShape shape = !line_start         ? LineShape::kOther
                              : !seg.indented     ? ShapeOfLine(line.substr(quote))
                              : blank             ? LineShape::kBlank
                                                  : LineShape::kCode;
      lines.push_back(Line{pos, next, no, shape, seg.indented ? &seg : nullptr, line.substr(0, lead), quote});
      pos = next;
    }
  }
  split();
  return out;
}

size_t ContainerPrefixBytes(std::string_view line, std::string_view prefix) {
  if (prefix.empty()) return 0;
  const size_t k = ConsumeContainer(line, ContainerOf(prefix));
  return k == std::string_view::npos ? 0 : k;
}

StrippedCode StripContainer(std::string_view text, const Segment& seg) {
  StrippedCode out;
  const std::string_view body = text.substr(seg.begin, seg.end - seg.begin);
  out.code.reserve(body.size());
  if (seg.html) {
    bool in_run = false;  // whether the last piece is a run of text (the next bytes extend it)
    auto as_written = [&](size_t from, size_t to) {
      if (to <= from) return;
      if (!in_run) out.pieces.push_back({static_cast<uint32_t>(out.code.size()), static_cast<uint32_t>(seg.begin + from), 0});
      in_run = true;
      out.code.append(body.substr(from, to - from));
    };
    for (size_t i = 0; i < body.size();) {
      const size_t mark = std::min(body.find_first_of("<&", i), body.size());
      as_written(i, mark);
      if ((i = mark) == body.size()) break;
      std::string decoded;
      if (const size_t tag_end = body[i] == '<' ? InlineTagEnd(body, i) : 0; tag_end > 0) {
        in_run = false;
        i = tag_end;
      } else if (const size_t ref_end = body[i] == '&' ? ReferenceEnd(body, i, &decoded) : 0; ref_end > 0) {
        out.pieces.push_back({static_cast<uint32_t>(out.code.size()), static_cast<uint32_t>(seg.begin + i),
                              static_cast<uint32_t>(ref_end - i)});
        out.code += decoded;
        in_run = false;
        i = ref_end;
      } else {
        as_written(i, i + 1);
        ++i;
      }
    }
    return out;
  }
  const Container container = ContainerOf(seg.prefix);
  for (size_t pos = 0; pos < body.size();) {
    size_t next = body.find('\n', pos);
    next = next == std::string_view::npos ? body.size() : next + 1;
    size_t k = ConsumeContainer(body.substr(pos, next - pos), container);
    if (k == std::string_view::npos) k = 0;  // (a blank line the block ends at)
    k += pos;
    out.pieces.push_back({static_cast<uint32_t>(out.code.size()), static_cast<uint32_t>(seg.begin + k), 0});
    out.code.append(body.substr(k, next - k));
    pos = next;
  }
  return out;
}

namespace {

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// The name a unified diff's `+++ ` or `diff --git` line gives the new side: without a `b/`
// prefix, a tab and a date after it, or quotes; "" for /dev/null.
std::string DiffPath(std::string_view name) {
  if (const size_t tab = name.find('\t'); tab != std::string_view::npos) name = name.substr(0, tab);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\r')) name.remove_suffix(1);
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
  if (name == "/dev/null") return "";
  if (StartsWith(name, "b/")) name.remove_prefix(2);
  return std::string(name);
}

}  // namespace

namespace {

bool NamesOneOf(std::string_view tag, std::initializer_list<std::string_view> names) {
  return std::any_of(names.begin(), names.end(), [&](std::string_view name) {
    return tag.size() == name.size() && std::equal(tag.begin(), tag.end(), name.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) == b;
           });
  });
}

}  // namespace

// (A name may be given as an extension: `.patch`, `.md`.)
bool NamesPatch(std::string_view tag) {
  if (!tag.empty() && tag.front() == '.') tag.remove_prefix(1);
  return NamesOneOf(tag, {"diff", "patch", "udiff"});
}
bool NamesMarkdown(std::string_view tag) {
  if (!tag.empty() && tag.front() == '.') tag.remove_prefix(1);
  return NamesOneOf(tag, {"markdown", "md", "mdx", "gfm"});
}

bool HoldsFencedBlock(std::string_view text) {
  if (text.find("```") == std::string_view::npos && text.find("~~~") == std::string_view::npos) return false;
  for (const Segment& seg : SplitMarkdown(text)) {
    if (seg.kind == Kind::kCode && !seg.indented && !seg.html) return true;
  }
  return false;
}

Segment WholePatch(std::string_view text) {
  Segment whole;
  whole.kind = Kind::kCode;
  whole.language = "diff";
  whole.end = static_cast<uint32_t>(text.size());
  return whole;
}

std::vector<Segment> SplitUnfencedPatches(std::string_view text, std::vector<Segment> segments) {
  static constexpr std::string_view kHeads[] = {"diff ", "index ", "new file mode", "deleted file mode", "old mode",
                                                "new mode", "similarity index", "dissimilarity index", "rename ",
                                                "copy ", "Binary files", "*** "};
  auto line_at = [&](size_t pos, size_t end) {  // without its line end
    std::string_view line = text.substr(pos, std::min(text.find('\n', pos), end) - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  };
  auto patch_line = [&](std::string_view line) {
    return line.empty() || line[0] == '+' || line[0] == '-' || line[0] == ' ' || line[0] == '@' || line[0] == '\\' ||
           std::any_of(std::begin(kHeads), std::end(kHeads), [&](std::string_view h) { return StartsWith(line, h); });
  };
  auto next_line = [&](size_t pos, size_t end) { return std::min(text.find('\n', pos), end - 1) + 1; };
  std::vector<Segment> out;
  out.reserve(segments.size());
  auto push_prose = [&](size_t b, size_t e, uint32_t line) {
    if (e <= b) return;
    Segment prose;
    prose.begin = static_cast<uint32_t>(b);
    prose.end = static_cast<uint32_t>(e);
    prose.line = line;
    out.push_back(std::move(prose));
  };
  for (Segment& seg : segments) {
    if (seg.kind != Kind::kText) {
      out.push_back(std::move(seg));
      continue;
    }
    size_t prose_begin = seg.begin;
    uint32_t prose_line = seg.line, line_no = seg.line;
    for (size_t pos = seg.begin; pos < seg.end;) {
      const std::string_view line = line_at(pos, seg.end);
      const size_t after = next_line(pos, seg.end);
      const bool opens = StartsWith(line, "diff --git ") || StartsWith(line, "*** Begin Patch") ||
                         (StartsWith(line, "--- ") && after < seg.end && StartsWith(line_at(after, seg.end), "+++ "));
      if (opens) {
        // The run of a patch's lines from here, without the blank lines at its end.
        size_t end = pos, run_end = pos;
        uint32_t lines = 0, run_lines = 0;
        while (end < seg.end && patch_line(line_at(end, seg.end))) {
          const bool blank = line_at(end, seg.end).empty();
          end = next_line(end, seg.end);
          ++lines;
          if (!blank) {
            run_end = end;
            run_lines = lines;
          }
        }
        Segment patch;
        patch.kind = Kind::kCode;
        patch.language = "diff";
        patch.begin = static_cast<uint32_t>(pos);
        patch.end = static_cast<uint32_t>(run_end);
        patch.line = line_no;
        if (!ReadDiff(text, patch).empty()) {
          push_prose(prose_begin, pos, prose_line);
          out.push_back(std::move(patch));
          pos = run_end;
          line_no += run_lines;
          prose_begin = pos;
          prose_line = line_no;
          continue;
        }
      }
      pos = after;
      ++line_no;
    }
    push_prose(prose_begin, seg.end, prose_line);
  }
  return out;
}

bool OpensAsPatch(std::string_view code) {
  size_t at = 0;
  while (at < code.size()) {  // (to the first line that is not blank)
    const size_t nl = code.find('\n', at);
    const std::string_view line = code.substr(at, nl == std::string_view::npos ? std::string_view::npos : nl - at);
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) break;
    if (nl == std::string_view::npos) return false;
    at = nl + 1;
  }
  const std::string_view rest = code.substr(std::min(at, code.size()));
  if (StartsWith(rest, "diff --git ") || StartsWith(rest, "Index: ") || StartsWith(rest, "*** Begin Patch")) return true;
  const size_t nl = rest.find('\n');
  return StartsWith(rest, "--- ") && nl != std::string_view::npos && StartsWith(rest.substr(nl + 1), "+++ ");
}

std::vector<DiffFile> ReadDiff(std::string_view text, const Segment& seg) {
  if (seg.kind != Kind::kCode || seg.html || seg.bare || seg.indented) return {};
  const bool tagged = NamesPatch(seg.language);
  if (!tagged && !seg.language.empty()) return {};  // (before a container's block is copied)
  if (!seg.prefix.empty()) {
    // In a list item or a quote: read without the container's prefix, and mapped back through it
    // (a piece of a side, a line's code after its column, lies within one line of the container).
    const StrippedCode stripped = StripContainer(text, seg);
    Segment inner = seg;
    inner.prefix.clear();
    inner.begin = 0;
    inner.end = static_cast<uint32_t>(stripped.code.size());
    std::vector<DiffFile> files = ReadDiff(stripped.code, inner);
    for (DiffFile& file : files) {
      file.begin = stripped.ToAnswer(file.begin, false);
      file.end = stripped.ToAnswer(file.end, true);
      for (StrippedCode* side : {&file.code, &file.old_code}) {
        for (StrippedCode::Piece& piece : side->pieces) piece.answer = stripped.ToAnswer(piece.answer, false);
      }
    }
    return files;
  }
  const std::string_view body = text.substr(seg.begin, seg.end - seg.begin);
  std::vector<std::string_view> lines;
  for (size_t pos = 0; pos < body.size();) {
    const size_t nl = body.find('\n', pos);
    const size_t end = nl == std::string_view::npos ? body.size() : nl;
    lines.push_back(body.substr(pos, end - pos));
    pos = end + 1;
  }
  // (A removed `-- x` then an added `++ y` are no headers: a file's headers come before a hunk.)
  auto unified_header = [&](size_t i) {
    return StartsWith(lines[i], "--- ") && i + 1 < lines.size() && StartsWith(lines[i + 1], "+++ ") &&
           (i + 2 == lines.size() || StartsWith(lines[i + 2], "@@"));
  };
  if (!tagged && !OpensAsPatch(body)) return {};
  std::vector<DiffFile> files;
  bool changed = false;  // a line added or removed
  bool named = false;  // the file open was opened by a line naming it (a `---` after it is its own)
  auto open = [&](std::string path, size_t i, uint32_t at) {
    files.push_back({std::move(path), seg.line + static_cast<uint32_t>(i), at, at, {}, {}});
  };
  // Lines of a patch's headers, read as empty lines.
  static constexpr std::string_view kHeaders[] = {
      "index ",        "new file mode", "deleted file mode", "old mode", "new mode", "similarity index",
      "dissimilarity index", "rename from", "rename to", "copy from", "copy to", "Binary files", "Index: ",
      "===",           "\\",           "*** Begin Patch", "*** End Patch", "*** Delete File: ", "*** Move to: ",
      "*** End of File"};
  uint32_t offset = seg.begin;
  for (size_t i = 0; i < lines.size(); offset += static_cast<uint32_t>(lines[i].size()) + 1, ++i) {
    const std::string_view l = lines[i];
    std::string_view now, before;  // the line's code on the new side and on the old
    uint32_t keep_at = offset;
    if (StartsWith(l, "diff --git ")) {
      const size_t b = l.rfind(" b/");
      open(b == std::string_view::npos ? "" : DiffPath(l.substr(b + 1)), i, offset);
      named = true;
    } else if (StartsWith(l, "*** Update File: ") || StartsWith(l, "*** Add File: ")) {
      open(DiffPath(l.substr(l.find(": ") + 2)), i, offset);
      named = true;
    } else if (StartsWith(l, "*** Move to: ") && !files.empty()) {
      files.back().path = DiffPath(l.substr(13));
    } else if (unified_header(i)) {
      if (!named || files.empty()) open("", i, offset);
      named = false;
    } else if (StartsWith(l, "+++ ") && i > 0 && unified_header(i - 1)) {
      files.back().path = DiffPath(l.substr(4));
    } else if (StartsWith(l, "@@") ||
               std::any_of(std::begin(kHeaders), std::end(kHeaders), [&](std::string_view h) { return StartsWith(l, h); })) {
      // (A header line: empty.)
    } else {
      if (files.empty()) open("", i, offset);
      named = false;
      if (!l.empty() && (l[0] == '+' || l[0] == ' ' || l[0] == '-')) {
        if (l[0] != '-') now = l.substr(1);
        if (l[0] != '+') before = l.substr(1);
        keep_at = offset + 1;
        changed = changed || l[0] != ' ';
      } else {
        now = before = l;  // (context written without its column)
      }
    }
    if (files.empty()) continue;
    DiffFile& file = files.back();
    const bool line_break = offset + l.size() < text.size() && offset + l.size() < seg.end;
    for (auto [side, code] : {std::pair{now, &file.code}, std::pair{before, &file.old_code}}) {
      if (!side.empty()) {
        code->pieces.push_back({static_cast<uint32_t>(code->code.size()), keep_at, 0});
        code->code.append(side);
      }
      if (line_break) {
        code->pieces.push_back({static_cast<uint32_t>(code->code.size()), offset + static_cast<uint32_t>(l.size()), 0});
        code->code.push_back('\n');
      }
    }
    file.end = std::min<uint32_t>(seg.end, offset + static_cast<uint32_t>(l.size()) + (line_break ? 1 : 0));
  }
  if (!changed) return {};
  return files;
}

uint32_t StrippedCode::ToAnswer(uint32_t x, bool end) const {
  if (pieces.empty()) return x;
  const uint32_t at = end && x > 0 ? x - 1 : x;
  auto it = std::upper_bound(pieces.begin(), pieces.end(), at, [](uint32_t v, const Piece& p) { return v < p.code; });
  if (it != pieces.begin()) --it;
  if (it->reference > 0) return end ? it->answer + it->reference : it->answer;
  return x - it->code + it->answer;
}

}  // namespace doppel
