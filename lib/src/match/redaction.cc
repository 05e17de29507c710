#include "redaction.h"

#include <simdjson.h>
#include <tree_sitter/api.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <iterator>
#include <optional>

#include "code_blocks.h"
#include "doppel/code_tokenizer.h"
#include "doppel/markdown.h"

namespace doppel {

std::string Marker(const std::string& tmpl, const std::string& source) {
  std::string m = tmpl;
  const size_t at = m.find("{source}");
  if (at != std::string::npos) m.replace(at, 8, source);
  return m;
}

std::string DescribeSources(const std::vector<Span>& spans) {
  std::vector<const Span*> seen;
  for (const Span& sp : spans) {
    if (std::none_of(seen.begin(), seen.end(), [&](const Span* s) { return s->source_id == sp.source_id; })) {
      seen.push_back(&sp);
    }
  }
  simdjson::dom::parser parser;
  std::string out;
  for (size_t i = 0; i < seen.size() && i < 3; ++i) {
    if (i) out += i + 1 == seen.size() ? " and " : ", ";
    out += seen[i]->source_name;
    std::vector<std::string> about;
    simdjson::dom::object meta;
    if (!seen[i]->source_metadata.empty() && !parser.parse(seen[i]->source_metadata).get(meta)) {
      auto text = [&](const char* key) -> std::string {
        std::string_view v;
        return meta[key].get(v) ? std::string() : std::string(v);
      };
      if (std::string l = text("license"); !l.empty()) about.push_back("license: " + l);
      for (const char* key : {"url", "source_url", "repository"}) {
        if (std::string u = text(key); !u.empty()) {
          about.push_back(u);
          break;
        }
      }
    }
    for (size_t k = 0; k < about.size(); ++k) out += (k ? ", " : " (") + about[k] + (k + 1 == about.size() ? ")" : "");
  }
  if (seen.size() > 3) out += " and " + std::to_string(seen.size() - 3) + " more";
  // One line: a name or a metadata value with a line break (or another control character) would
  // break the note's paragraph in prose (in code, CommentText keeps the comment to one line too).
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  }
  return out;
}

void AppendAnnotation(std::string* out, const std::string& message, Kind kind, std::string_view language,
                      const std::string& unclosed) {
  if (message.empty()) return;
  const std::string nl = out->find("\r\n") != std::string::npos ? "\r\n" : "\n";
  const bool ends_line = out->empty() || out->back() == '\n';
  if (kind == Kind::kCode) {
    *out += (ends_line ? "" : nl) + CommentText(CommentSyntaxFor(language), message) + nl;
    return;
  }
  if (!unclosed.empty()) *out += (ends_line ? "" : nl) + unclosed + nl;
  const bool ends_now = out->empty() || out->back() == '\n';
  *out += (out->empty() ? "" : ends_now ? nl : nl + nl) + message + nl;
}

size_t LineStart(std::string_view t, size_t at) {
  while (at > 0 && t[at - 1] != '\n') --at;
  return at;
}
size_t LineEnd(std::string_view t, size_t at) {
  const size_t nl = t.find('\n', at);
  return nl == std::string_view::npos ? t.size() : nl;
}

namespace {
// Whether the line ending at byte `end` (its '\n', or the text's end) ends in a backslash,
// blanks and a carriage return after it aside: it goes on to the next line.
bool EndsInBackslash(std::string_view t, size_t end) {
  while (end > 0 && (t[end - 1] == '\r' || t[end - 1] == ' ' || t[end - 1] == '\t')) --end;
  return end > 0 && t[end - 1] == '\\';
}
}  // namespace

std::vector<int32_t> PairedTokens(const Tokens& q, std::string_view language, const std::vector<int32_t>& indent) {
  std::vector<int32_t> partner(q.size(), -1);
  const BlockTokens& bt = BlockTokensOf(language);
  const std::vector<int8_t> delta = BlockDeltas(q, bt, indent);
  static const uint64_t kParen[2] = {VerbatimTokenHash("("), VerbatimTokenHash(")")};
  static const uint64_t kSquare[2] = {VerbatimTokenHash("["), VerbatimTokenHash("]")};
  static const uint64_t kBrace[2] = {VerbatimTokenHash("{"), VerbatimTokenHash("}")};
  const bool brace_blocks = std::find(bt.start.begin(), bt.start.end(), kBrace[0]) != bt.start.end();
  std::vector<int32_t> blocks, brackets;
  for (int32_t i = 0; i < static_cast<int32_t>(q.size()); ++i) {
    const uint64_t h = q[i].hash;
    if (h == kParen[0] || h == kSquare[0] || (!brace_blocks && h == kBrace[0])) {
      brackets.push_back(i);
    } else if ((h == kParen[1] || h == kSquare[1] || (!brace_blocks && h == kBrace[1])) && !brackets.empty()) {
      partner[i] = brackets.back();
      partner[brackets.back()] = i;
      brackets.pop_back();
    }
    for (int k = 0; k < delta[i]; ++k) blocks.push_back(i);
    for (int k = 0; k < -delta[i] && !blocks.empty(); ++k) {  // (a token closing several: its last pair)
      if (!bt.indented) partner[i] = blocks.back();
      partner[blocks.back()] = i;
      blocks.pop_back();
    }
  }
  if (bt.indented && !bt.clauses.empty()) {
    // The statement a clause continues: the last logical line at its indentation that no deeper
    // line has ended since, and that is not itself a later clause.
    std::vector<std::pair<int32_t, int32_t>> heads;  // (indentation, first token), increasing
    for (int32_t i = 0; i < static_cast<int32_t>(q.size()); ++i) {
      if (indent[i] < 0) continue;
      while (!heads.empty() && heads.back().first > indent[i]) heads.pop_back();
      const bool clause = std::find(bt.clauses.begin(), bt.clauses.end(), q[i].hash) != bt.clauses.end();
      if (clause && !heads.empty() && heads.back().first == indent[i]) {
        const int32_t first = heads.back().second;
        partner[i] = first;
        if (partner[first] < 0 || partner[first] < i) partner[first] = i;  // (the last clause)
        continue;
      }
      if (!heads.empty() && heads.back().first == indent[i]) heads.back().second = i;
      else heads.emplace_back(indent[i], i);
    }
  }
  return partner;
}

namespace {

// The index of the first token of `q` that begins at or after answer byte `at` (q.size(): none).
size_t FirstTokenFrom(const Tokens& q, uint32_t at) {
  return static_cast<size_t>(
      std::lower_bound(q.begin(), q.end(), at, [](const Token& t, uint32_t x) { return t.begin < x; }) - q.begin());
}

}  // namespace

void BalanceCodeRegion(std::string_view text, const Tokens& q, const std::vector<int32_t>& partner,
                       bool statements_end_with_semicolon, uint32_t* b, uint32_t* e) {
  if (q.empty() || *e <= *b) return;
  auto line_start = [&](size_t at) { return static_cast<uint32_t>(LineStart(text, at)); };
  auto line_end = [&](size_t at) { return static_cast<uint32_t>(LineEnd(text, at)); };
  auto first_at = [&](uint32_t at) { return FirstTokenFrom(q, at); };
  auto tokens_in = [&](uint32_t from, uint32_t to) { return to > from ? first_at(to) - first_at(from) : size_t{0}; };
  uint32_t lb = line_start(*b), le = line_end(*e - 1);
  // A passage whose first line holds only brackets closing ones opened earlier on that line, and
  // commas (a span that took the `),` of a new line before the copy, a Rust match arm's), begins
  // on its next line; one whose last line holds only brackets that close later on it ends on the
  // line before. Whole lines are replaced: the line's new code would go for a token or two of
  // the copy.
  static const uint64_t kItemComma = VerbatimTokenHash(",");
  auto closes_earlier_on_line = [&](size_t k) {
    return partner[k] >= 0 && static_cast<size_t>(partner[k]) < k && q[partner[k]].begin >= line_start(q[k].begin);
  };
  auto closes_later_on_line = [&](size_t k) {
    return partner[k] > static_cast<int32_t>(k) && q[partner[k]].begin <= line_end(q[k].begin);
  };
  if (const size_t i = first_at(*b), end = line_end(lb); end < le && i < first_at(end)) {
    bool only = true;
    for (size_t k = i; k < first_at(end) && only; ++k) only = closes_earlier_on_line(k) || q[k].hash == kItemComma;
    if (only) lb = end + 1;
  }
  if (const size_t i = first_at(*e), start = line_start(le); start > lb && first_at(start) < i) {
    bool only = true;
    for (size_t k = first_at(start); k < i && only; ++k) only = closes_later_on_line(k);
    if (only) le = start - 1;
  }
  // A passage that ends with the header of a block it does not take: a header whose `{` begins
  // the next line, which pairs with nothing in the passage, or one ending in Python's colon,
  // which names the block's last token (a `{` or bracket that ends the passage is a half pair,
  // below). Replaced, the header would leave its block under the marker or alone at the outer
  // level. The header is its last line and the lines its brackets join to it, and the lines
  // before that do not end a statement where lines end them with `;` (`;` is no token here);
  // its lines are given up. A passage that is only the header takes in its block instead, when
  // that adds at most four times its tokens and the block's last line holds nothing after it
  // (a `})` would leave a half pair).
  static const uint64_t kOpen = VerbatimTokenHash("{"), kClose = VerbatimTokenHash("}"), kColon = VerbatimTokenHash(":");
  auto text_after = [&](size_t k) {  // the first byte after token k on its line, past blanks
    size_t at = q[k].end;
    while (at < text.size() && (text[at] == ' ' || text[at] == '\t' || text[at] == '\r')) ++at;
    return at < text.size() ? text[at] : '\n';
  };
  // Whether token k, the last of its line, ends a statement there: a `;` after it, a brace or
  // colon, or a preprocessor directive's line (`#include <x>`; the last line of a `#define`
  // continued with `\`). (Not a Rust outer attribute, `#[...]`: it goes with what follows; an
  // inner one, `#![...]`, belongs to the module, and ends as a directive does.)
  auto ends_statement = [&](size_t k) {
    const char c = text_after(k);
    if (c == ';' || c == '{' || c == '}' || q[k].hash == kOpen || q[k].hash == kClose || q[k].hash == kColon) {
      return true;
    }
    size_t start = LineStart(text, q[k].begin);
    auto continued = [&](size_t line_start) {  // the line before ends in a backslash
      size_t at = line_start - 1;  // its '\n'
      if (at > 0 && text[at - 1] == '\r') --at;
      return at > 0 && text[at - 1] == '\\';
    };
    while (start > 0 && continued(start)) start = LineStart(text, start - 1);
    const size_t code = text.find_first_not_of(" \t", start);
    return text[code] == '#' && code + 1 < text.size() && text[code + 1] != '[';
  };
  // Whether a line of tokens [from, to] ends in `;` (not a `for` header's): code whose statements
  // end so (C, Java, Rust...).
  auto semicolons = [&](size_t from, size_t to) {
    for (size_t k = from; k <= to && k < q.size(); ++k) {
      if (text_after(k) == ';' && (k + 1 == q.size() || line_start(q[k + 1].begin) != line_start(q[k].begin))) {
        return true;
      }
    }
    return false;
  };
  bool header_alone = false;  // what is left is a block's header whose block is not taken in
  auto trailing_header = [&]() {
    header_alone = false;
    const size_t i0 = first_at(lb), i1 = first_at(le);
    if (i1 <= i0) return;
    size_t block_last = 0;
    // (Not a JSX element's or tag's end, `>` or `/>`, that ScriptBlock paired: a `{` on the next
    // line is a child, no block.)
    static const uint64_t kAngle = VerbatimTokenHash(">"), kSelfClosing = VerbatimTokenHash("/>");
    if (i1 < q.size() && q[i1].hash == kOpen && partner[i1] > static_cast<int32_t>(i1) &&
        !((q[i1 - 1].hash == kAngle || q[i1 - 1].hash == kSelfClosing) && partner[i1 - 1] >= 0)) {
      block_last = static_cast<size_t>(partner[i1]);
    } else if (q[i1 - 1].hash == kColon && partner[i1 - 1] >= static_cast<int32_t>(i1)) {
      block_last = static_cast<size_t>(partner[i1 - 1]);
    } else {
      return;
    }
    // Back to the header's first line: closing brackets jump to their opening ones, and a line
    // break outside brackets ends the walk, unless the code's lines end statements with `;`
    // (C, Java, Rust...) and the line before does not end one (`static void` above a C
    // function's name, a Rust `where` clause).
    const bool ends_with_semicolons = semicolons(i0, block_last);  // the passage's or the block's lines
    size_t head = i1 - 1;
    while (head > i0) {
      size_t prev = head - 1;
      if (line_start(q[prev].end - 1) != line_start(q[head].begin) && (!ends_with_semicolons || ends_statement(prev))) {
        break;
      }
      if (partner[prev] >= 0 && static_cast<size_t>(partner[prev]) < prev) {
        prev = static_cast<size_t>(partner[prev]);
        if (prev < i0) return;  // (a bracket opened before the passage: the header is not all in it)
      }
      head = prev;
    }
    if (const uint32_t head_line = line_start(q[head].begin); head_line > lb) {
      le = head_line - 1;
    } else if (const uint32_t block_end = line_end(q[block_last].begin);
               head == i0 && first_at(block_end) == block_last + 1 && tokens_in(le, block_end) <= 4 * (i1 - i0)) {
      le = block_end;
    } else {
      header_alone = head == i0;
    }
  };
  trailing_header();
  for (int round = 0; round < 16; ++round) {
    const size_t i0 = first_at(lb), i1 = first_at(le);
    // Half pairs inside: closing ones whose opening is before, opening ones whose closing is after.
    uint32_t first_half = UINT32_MAX, last_half = 0, reach_lb = lb, reach_le = le;
    std::vector<uint32_t> half_lines;  // the lines holding half pairs (their starts, increasing)
    for (size_t i = i0; i < i1; ++i) {
      const int32_t p = partner[i];
      if (p < 0 || (static_cast<size_t>(p) >= i0 && static_cast<size_t>(p) < i1)) continue;
      first_half = std::min(first_half, q[i].begin);
      last_half = std::max(last_half, q[i].begin);
      if (half_lines.empty() || half_lines.back() != line_start(q[i].begin)) half_lines.push_back(line_start(q[i].begin));
      if (static_cast<size_t>(p) < i0) reach_lb = std::min(reach_lb, line_start(q[p].begin));
      else reach_le = std::max(reach_le, line_end(q[p].begin));
    }
    if (first_half == UINT32_MAX) break;
    const size_t kept = i1 - i0;
    // Giving up lines: from the start through the last half pair's line, or from the first
    // half pair's line to the end.
    uint32_t best_lb = lb, best_le = le;
    size_t best = 0;
    if (const uint32_t cut = line_end(last_half); cut < le && tokens_in(cut + 1, le) > best) {
      best = tokens_in(cut + 1, le);
      best_lb = cut + 1;
      best_le = le;
    }
    if (const uint32_t cut = line_start(first_half); cut > lb && tokens_in(lb, cut - 1) > best) {
      best = tokens_in(lb, cut - 1);
      best_lb = lb;
      best_le = cut - 1;
    }
    const size_t added = tokens_in(reach_lb, reach_le) - kept;
    if ((best * 2 < kept || best == 0) && added <= kept) {
      lb = reach_lb;
      le = reach_le;
    } else if (best > 0) {
      lb = best_lb;
      le = best_le;
    } else {
      // Neither: a passage that opens a block too long to take in on its first line (a
      // function's header) and another on its last. The lines between two lines of half pairs
      // go, the most tokens of them; the headers stay, so the code around still parses.
      // (Lines whose brackets pair among them first; else the next rounds balance the best.)
      auto balanced = [&](uint32_t from, uint32_t to) {
        const size_t a = first_at(from), z = first_at(to);
        for (size_t k = a; k < z; ++k) {
          if (partner[k] >= 0 && (static_cast<size_t>(partner[k]) < a || static_cast<size_t>(partner[k]) >= z)) return false;
        }
        return true;
      };
      bool best_balanced = false;
      for (size_t h = 0; h + 1 < half_lines.size(); ++h) {
        const uint32_t from = line_end(half_lines[h]) + 1, to = half_lines[h + 1] - 1;
        if (to <= from || tokens_in(from, to) == 0) continue;
        const bool even = balanced(from, to);
        if ((even && !best_balanced) || (even == best_balanced && tokens_in(from, to) > best)) {
          best = tokens_in(from, to);
          best_balanced = even;
          best_lb = from;
          best_le = to;
        }
      }
      if (best == 0) {
        // A block's header alone (its only half pair is the `{` or colon it ends with), whose
        // block is too long to take in, is given up: its signature stays, and its new body
        // under it, not left at the outer level. Any other passage is left as it was.
        // (Python's `if` names its `else` too: the half pairs are those of the header's line.)
        if (half_lines.size() == 1 && half_lines[0] == line_start(q[i1 - 1].begin) &&
            partner[i1 - 1] >= static_cast<int32_t>(i1) && (q[i1 - 1].hash == kOpen || q[i1 - 1].hash == kColon)) {
          *e = *b;
        }
        return;
      }
      lb = best_lb;
      le = best_le;
    }
  }
  trailing_header();  // (a header left at the end once a `{` line was given up)
  if (header_alone) {
    // A block's header alone (a signature whose `{` begins the line after the passage), whose
    // block is too long to take in, is given up, as in the rounds above: replaced, it would
    // leave its block at the outer level.
    *e = *b;
    return;
  }
  // A `case` or `default` label on a line of its own (`case 0x00:`; not Python's, whose colon
  // opens a block) at the passage's first or last line, whose statements go on after the
  // passage (the next token is no label and no `}`), is given up: replaced, its statements
  // would be left to the clause before, or at the switch's top, where Go and Java refuse them.
  {
    static const uint64_t kCase = VerbatimTokenHash("case"), kDefault = VerbatimTokenHash("default");
    const size_t i0 = first_at(lb), i1 = first_at(le);
    const bool clause_goes_on = i1 < q.size() && q[i1].hash != kCase && q[i1].hash != kDefault && q[i1].hash != kClose;
    auto label_line = [&](uint32_t start) {  // whether the line beginning at `start` is a label alone
      const size_t first = first_at(start), last = first_at(line_end(start)) - 1;
      return first < last && last < i1 && (q[first].hash == kCase || q[first].hash == kDefault) &&
             q[last].hash == kColon && partner[last] < 0;
    };
    if (i0 < i1 && clause_goes_on) {
      if (label_line(lb) && line_end(lb) < le) lb = line_end(lb) + 1;  // (a label alone stays replaced)
      if (const uint32_t last_line = line_start(q[i1 - 1].begin); last_line > lb && label_line(last_line)) {
        le = last_line - 1;
      }
    }
  }
  // A passage that begins inside a statement, in a language whose statements all end with `;`
  // (Language::statements_end_with_semicolon: in JavaScript an `import` without one is whole):
  // the lines before it that do not end a statement begin the statement its first line
  // continues (a C function's return type on the line above its name, a Java annotation, an
  // `if (...)` above a statement without braces, a C++ constructor's name and the first items
  // of its initializer list). Replaced without them, they would be left before the marker,
  // joined to whatever follows it. They are taken in when no bracket they are inside of closes
  // after them (the passage is then items of a list; so too items from a `{` on, a braced
  // list's), no blank line parts them, they hold no `=` outside brackets (an assignment is a
  // statement of its own: code beside the passage that ends none with `;`) nor `=>` (a match's
  // arms), and they add at most the passage's tokens. The passage must be statement code: a
  // line of it ends with `;`, or it is items (`,`) outside brackets.
  static const uint64_t kComma = VerbatimTokenHash(","), kElse = VerbatimTokenHash("else");
  auto blank_line_between = [&](size_t a, size_t b) {  // a line of blanks between tokens a and b
    bool blank = false;
    for (size_t at = q[a].end; at < q[b].begin; ++at) {
      if (text[at] == '\n') {
        if (blank) return true;
        blank = true;
      } else if (text[at] != ' ' && text[at] != '\t' && text[at] != '\r') {
        blank = false;
      }
    }
    return false;
  };
  [&]() {
    static const uint64_t kAssign = VerbatimTokenHash("="), kFatArrow = VerbatimTokenHash("=>");
    const size_t i0 = first_at(lb), i1 = first_at(le);
    if (!statements_end_with_semicolon || i0 == 0 || i1 <= i0) return;
    // Whether the lines taken in end with items (`,`) outside brackets, whether all do, and
    // whether they hold a constructor's initializer list (`) :`).
    static const uint64_t kCloseParen = VerbatimTokenHash(")");
    bool items = false, only_items = true, initializers = false;
    size_t head = i0;
    while (head > 0 && i0 - head <= i1 - i0) {
      size_t prev = head - 1;
      if (line_start(q[prev].end - 1) != line_start(q[head].begin)) {
        if (ends_statement(prev) || blank_line_between(prev, head)) {
          // (Items from a `{` on: those of a braced list, `int v[] = {`, not a statement's; but
          // a namespace's `{` above `Foo::Foo(int x) : a_(x),` begins no list.)
          if (items && only_items && !initializers && q[prev].hash == kOpen) return;
          break;
        }
        items |= q[prev].hash == kComma;
        only_items &= q[prev].hash == kComma;
      }
      initializers |= q[head].hash == kColon && q[prev].hash == kCloseParen;
      if (partner[prev] >= 0 && static_cast<size_t>(partner[prev]) < prev) {
        prev = static_cast<size_t>(partner[prev]);  // a closing bracket: to its opening one
      } else if (partner[prev] >= 0 || q[prev].hash == kAssign || q[prev].hash == kFatArrow) {
        // An opening bracket whose pair closes at or after the passage, an assignment, or a
        // match arm (Rust's `X => y,`: arms are items of the match, not a statement's head).
        return;
      }
      head = prev;
    }
    // The passage is statement code: a line of it ends with `;`, or it begins among items
    // outside brackets (the lines above end with `,`), or it ends with one.
    if (!semicolons(i0, i1 - 1) && !items && q[i1 - 1].hash != kComma) return;
    // (Not an `if (...)` whose `else` follows the passage: that would be left without it.)
    if (i1 < q.size() && q[i1].hash == kElse) return;
    if (head < i0 && i0 - head <= i1 - i0) lb = line_start(q[head].begin);
  }();
  // A passage that ends inside a statement, in such a language: its last line ends no
  // statement, as an `if (...)` whose statement has no braces does, or an item of a list whose
  // head it holds (below). Replaced without the rest, that statement would be left to run
  // unconditionally after the marker. The lines to the statement's end are taken in, and an
  // `else` after it with its statement or block (it would be left without its `if`), when no
  // block begins before that (a header whose `{` begins the next line is trailing_header's; a
  // list's, the constructor's body, is taken whole), no bracket closes that opened before
  // them, no blank line parts them, and they add at most the passage's tokens.
  [&]() {
    const size_t i0 = first_at(lb), i1 = first_at(le);
    if (!statements_end_with_semicolon || i1 <= i0 || i1 >= q.size()) return;
    // A passage that ends with an item (`,`; inside brackets, the walk meets their closing one)
    // and holds the head of their list, a line outside brackets that ends neither an item nor a
    // statement (`Foo::Foo(int x)` above `: a_(x),`, a Rust `where`; a line ending in `:` too):
    // its remaining items, and the block after them, would be left without it.
    bool items = false;
    if (q[i1 - 1].hash == kComma) {
      for (size_t k = i0; k + 1 < i1 && !items; ++k) {
        if (partner[k] > static_cast<int32_t>(k)) {
          if (static_cast<size_t>(partner[k]) >= i1) break;
          k = static_cast<size_t>(partner[k]);
        }
        items = line_start(q[k + 1].begin) != line_start(q[k].end - 1) && q[k].hash != kComma &&
                (q[k].hash == kColon || !ends_statement(k));
      }
    }
    if ((!items && !semicolons(i0, i1 - 1)) || ends_statement(i1 - 1) || (q[i1 - 1].hash == kComma && !items) ||
        blank_line_between(i1 - 1, i1)) {
      return;
    }
    bool in_else = false;  // (an else's block is taken whole)
    for (size_t k = i1; k < q.size(); ++k) {
      if ((q[k].hash == kOpen && !in_else && !items) || (partner[k] >= 0 && static_cast<size_t>(partner[k]) < k)) return;
      if (q[k].hash == kElse) in_else = true;
      if (partner[k] >= 0) k = static_cast<size_t>(partner[k]);  // an opening bracket: to its closing one
      const bool line_ends = k + 1 == q.size() || line_start(q[k + 1].begin) != line_start(q[k].end - 1);
      if (!line_ends) continue;
      if (k + 1 < q.size() && blank_line_between(k, k + 1) && !ends_statement(k)) return;
      if (!ends_statement(k)) continue;
      if (k + 1 - i1 > i1 - i0) return;
      if (k + 1 < q.size() && q[k + 1].hash == kElse) continue;  // (its else follows)
      le = line_end(q[k].end - 1);
      return;
    }
  }();
  // A passage whose last line ends with an operator that goes on to the next line (`a ||` over
  // `b {` in Go, whose conditions take no brackets; `x =` over its value): the lines of that
  // statement are given up, back to its first, or the rest of it would be left alone after the
  // marker. A passage that is only such a statement is given up whole.
  {
    static const std::array<uint64_t, 14> kGoesOn = {
        VerbatimTokenHash("||"), VerbatimTokenHash("&&"), VerbatimTokenHash("+"),  VerbatimTokenHash("-"),
        VerbatimTokenHash("|"),  VerbatimTokenHash("&"),  VerbatimTokenHash("="),  VerbatimTokenHash("=="),
        VerbatimTokenHash("!="), VerbatimTokenHash("<"),  VerbatimTokenHash("<="), VerbatimTokenHash(">="),
        VerbatimTokenHash("?"),  VerbatimTokenHash("??")};
    // (Not one a `;` follows, which is no token: Rust's `f()?;` ends its statement.)
    auto goes_on = [&](size_t k) {
      return std::find(kGoesOn.begin(), kGoesOn.end(), q[k].hash) != kGoesOn.end() && text_after(k) != ';';
    };
    static const uint64_t kCloseParen = VerbatimTokenHash(")"), kCloseBracket = VerbatimTokenHash("]");
    const size_t i0 = first_at(lb), i1 = first_at(le);
    if (i1 > i0 && i1 < q.size() && goes_on(i1 - 1) && line_start(q[i1].begin) != line_start(q[i1 - 1].begin)) {
      // Back to the statement's first line: through lines ending with such an operator, and from
      // a `)` or `]` to the line of its `(` or `[`.
      uint32_t head = line_start(q[i1 - 1].begin);
      for (int step = 0; step < 1024; ++step) {
        const size_t first = first_at(head);
        size_t open = first;
        for (size_t k = first; k < i1; ++k) {
          if ((q[k].hash == kCloseParen || q[k].hash == kCloseBracket) && partner[k] >= 0 &&
              static_cast<size_t>(partner[k]) < open) {
            open = static_cast<size_t>(partner[k]);
          }
        }
        if (open < first) {
          head = line_start(q[open].begin);
        } else if (first > i0 && goes_on(first - 1)) {
          head = line_start(q[first - 1].begin);
        } else {
          break;
        }
        if (head <= lb) break;
      }
      if (head <= lb) {
        *e = *b;
        return;
      }
      le = head - 1;
    }
  }
  *b = lb;
  *e = le;
}

std::vector<std::pair<uint32_t, uint32_t>> BalancedRemainders(std::string_view text, const Tokens& q,
                                                              const std::vector<int32_t>& partner,
                                                              const std::vector<uint64_t>& block_start,
                                                              bool statements_end_with_semicolon, uint32_t b,
                                                              uint32_t e, uint32_t kept_b, uint32_t kept_e,
                                                              uint32_t min_tokens,
                                                              const std::vector<std::pair<uint32_t, uint32_t>>& aligned,
                                                              bool* instead_of_kept,
                                                              const std::function<bool(uint32_t, uint32_t)>& reads_as_well) {
  // The tokens of q in [from, to), as indices [first, past).
  auto token_range = [&](uint32_t from, uint32_t to) {
    const size_t first = FirstTokenFrom(q, from);
    const auto past = std::lower_bound(q.begin() + static_cast<ptrdiff_t>(first), q.end(), to,
                                       [](const Token& t, uint32_t x) { return t.end <= x; });
    return std::pair<int32_t, int32_t>(static_cast<int32_t>(first), static_cast<int32_t>(past - q.begin()));
  };
  auto code_tokens = [&](uint32_t from, uint32_t to) {
    const auto [first, past] = token_range(from, to);
    return static_cast<uint32_t>(past - first);
  };
  // Whether a pair joins a token of [first, past) with one before it; whether a token there that
  // opens a block pairs with one after it. (Pairs name each other, but for an indented block's
  // header, which names its last token: every pair that touches the part has a token before its
  // end.)
  auto pairs_before = [&](int32_t first, int32_t past) {
    for (int32_t k = 0; k < std::min(past, static_cast<int32_t>(partner.size())); ++k) {
      const int32_t p = partner[static_cast<size_t>(k)];
      if (p >= 0 && (k >= first) != (p >= first && p < past) && std::min(k, p) < first) return true;
    }
    return false;
  };
  auto opens_past = [&](int32_t first, int32_t past) {
    for (int32_t k = first; k < std::min(past, static_cast<int32_t>(partner.size())); ++k) {
      if (partner[static_cast<size_t>(k)] >= past &&
          std::find(block_start.begin(), block_start.end(), q[static_cast<size_t>(k)].hash) != block_start.end()) {
        return true;
      }
    }
    return false;
  };
  std::vector<std::pair<uint32_t, uint32_t>> out;
  // A part that opens blocks going on after it (a function's header, an `if (...) {` whose block
  // holds new code): its header lines, those holding a bracket paired outside the part, stay,
  // and the lines between them go, each run balanced on its own (BalanceCodeRegion, which gives
  // up a header whose `{` begins the next line), when half of its tokens or more were aligned
  // with the source (`aligned`: the passage may hold new lines between copied ones). A run at
  // the passage's first or last line holds half of `min_tokens` or more too (a chance alignment
  // at a passage's end is short: a call or two of the new code after a copied header).
  auto mostly_aligned = [&](uint32_t from, uint32_t to) {  // half or more of its tokens
    const auto [first, past] = token_range(from, to);
    int32_t in = 0;
    auto run = aligned.begin();
    for (int32_t k = first; k < past; ++k) {
      const uint32_t at = q[static_cast<size_t>(k)].begin;
      while (run != aligned.end() && run->second <= at) ++run;
      in += run != aligned.end() && run->first <= at;
    }
    return 2 * in >= past - first;
  };
  auto between_headers = [&](uint32_t from, uint32_t to) {
    const auto [first, past] = token_range(from, to);
    // (And a `case` or `default` label: replaced alone, its clause would be left to the one
    // before.)
    static const uint64_t kCase = VerbatimTokenHash("case"), kDefault = VerbatimTokenHash("default"),
                          kLabelColon = VerbatimTokenHash(":");
    std::vector<uint32_t> header_lines;  // their starts, increasing
    for (int32_t k = first; k < past; ++k) {
      const int32_t p = partner[static_cast<size_t>(k)];
      const uint32_t line = static_cast<uint32_t>(LineStart(text, q[static_cast<size_t>(k)].begin));
      const bool line_first = k == 0 || LineStart(text, q[static_cast<size_t>(k) - 1].begin) != line;
      // (Or a statement's label alone on its line, `Loop:`, which new code after it may name.)
      const bool label = line_first && ((q[static_cast<size_t>(k)].hash == kCase || q[static_cast<size_t>(k)].hash == kDefault) ||
                                        (static_cast<size_t>(k) + 1 < q.size() && q[static_cast<size_t>(k) + 1].hash == kLabelColon &&
                                         partner[static_cast<size_t>(k) + 1] < 0 &&
                                         (static_cast<size_t>(k) + 2 == q.size() ||
                                          LineStart(text, q[static_cast<size_t>(k) + 2].begin) != line)));
      if (!label && (p < 0 || (p >= first && p < past))) continue;
      if (header_lines.empty() || header_lines.back() != line) header_lines.push_back(line);
    }
    // A header over several lines (`def f(a,` ... `b):`) is all of them: back from each header
    // line through the parentheses and brackets that close on it, to where they open, and
    // through lines that end in a backslash.
    static const uint64_t kCloseParen = VerbatimTokenHash(")"), kCloseBracket = VerbatimTokenHash("]"),
                          kCloseBrace = VerbatimTokenHash("}");
    // A clause (Python's `else:`, `elif`, `except`) on a header line names the statement it
    // continues: the heads of that statement's clauses are header lines too, so a run does not
    // take an `if` from its `else`.
    for (size_t h = 0, n = header_lines.size(); h < n; ++h) {
      for (int32_t k = static_cast<int32_t>(FirstTokenFrom(q, header_lines[h]));
           k < past && LineStart(text, q[static_cast<size_t>(k)].begin) == header_lines[h]; ++k) {
        const int32_t p = partner[static_cast<size_t>(k)];
        const uint64_t hash = q[static_cast<size_t>(k)].hash;
        if (p < first || p >= k || hash == kCloseBrace || hash == kCloseParen || hash == kCloseBracket) {
          continue;
        }
        header_lines.push_back(static_cast<uint32_t>(LineStart(text, q[static_cast<size_t>(p)].begin)));
        for (int32_t j = first; j < past; ++j) {
          if (partner[static_cast<size_t>(j)] == p) header_lines.push_back(static_cast<uint32_t>(LineStart(text, q[static_cast<size_t>(j)].begin)));
        }
      }
    }
    // A header line that ends in a backslash goes on to the next line.
    for (size_t h = 0; h < header_lines.size(); ++h) {
      if (EndsInBackslash(text.substr(header_lines[h]), LineEnd(text, header_lines[h]) - header_lines[h]) &&
          LineEnd(text, header_lines[h]) + 1 < to) {
        header_lines.push_back(static_cast<uint32_t>(LineEnd(text, header_lines[h]) + 1));
      }
    }
    for (size_t h = header_lines.size(); h-- > 0;) {
      uint32_t top = header_lines[h];
      for (int32_t k = static_cast<int32_t>(FirstTokenFrom(q, top));
           k < past && LineStart(text, q[static_cast<size_t>(k)].begin) == header_lines[h]; ++k) {
        const int32_t p = partner[static_cast<size_t>(k)];
        const uint64_t hash = q[static_cast<size_t>(k)].hash;
        if ((hash == kCloseParen || hash == kCloseBracket) && p >= first && p < k) {
          top = std::min(top, static_cast<uint32_t>(LineStart(text, q[static_cast<size_t>(p)].begin)));
        }
      }
      // (And up through lines continued with a backslash: `if a and \`.)
      while (top > from && EndsInBackslash(text, top - 1)) top = static_cast<uint32_t>(LineStart(text, top - 1));
      for (uint32_t line = top; line < header_lines[h]; line = static_cast<uint32_t>(LineEnd(text, line)) + 1) {
        header_lines.push_back(line);
      }
    }
    std::sort(header_lines.begin(), header_lines.end());
    header_lines.erase(std::unique(header_lines.begin(), header_lines.end()), header_lines.end());
    uint32_t run_b = from;
    for (size_t h = 0; h <= header_lines.size(); ++h) {
      const uint32_t run_e = h < header_lines.size() ? header_lines[h] : to;
      if (run_b < run_e && code_tokens(run_b, run_e) > 0) {
        uint32_t pb = run_b, pe = run_e;
        BalanceCodeRegion(text, q, partner, statements_end_with_semicolon, &pb, &pe);
        const bool edge = run_b <= b || run_e >= e;
        // (Whole lines: a passage's first and last lines are replaced whole.)
        if (pb < pe && pb >= LineStart(text, run_b) && pe <= LineEnd(text, run_e - 1) &&
            code_tokens(pb, pe) >= (edge ? (min_tokens + 1) / 2 : 1) && mostly_aligned(pb, pe) &&
            [&] {  // balanced: BalanceCodeRegion stops after 16 rounds, balanced or not
              const auto [rf, rp] = token_range(pb, pe);
              for (int32_t k = rf; k < rp; ++k) {
                const int32_t p = partner[static_cast<size_t>(k)];
                if (p >= 0 && (p < rf || p >= rp)) return false;
              }
              return true;
            }() &&
            (!reads_as_well || reads_as_well(pb, pe))) {
          out.emplace_back(pb, pe);
        }
      }
      if (h < header_lines.size()) run_b = static_cast<uint32_t>(LineEnd(text, header_lines[h])) + 1;
    }
  };
  // A passage that only opens blocks going on after it (a function's header and first
  // statements, then new code in its body), of which BalanceCodeRegion kept less than half (one
  // end: a line of the new code, or the body's first lines): its header lines stay and the
  // aligned lines between them go, instead, when there are any.
  // So too when what it kept lies inside a header's parentheses (the parameters of a signature
  // over several lines, the body left).
  *instead_of_kept = false;
  const auto [pf, pp] = token_range(b, e);
  auto kept_in_parentheses = [&, pf = pf] {
    if (kept_e <= kept_b) return false;
    static const uint64_t kOpenParen = VerbatimTokenHash("("), kOpenBracket = VerbatimTokenHash("[");
    const auto [kf, kp] = token_range(kept_b, kept_e);
    for (int32_t k = pf; k < kf; ++k) {
      const uint64_t hash = q[static_cast<size_t>(k)].hash;
      if ((hash == kOpenParen || hash == kOpenBracket) && partner[static_cast<size_t>(k)] >= kp) return true;
    }
    return false;
  };
  if (pf < pp && !pairs_before(pf, pp) && opens_past(pf, pp) &&
      (2 * (kept_e > kept_b ? code_tokens(kept_b, kept_e) : 0) < static_cast<uint32_t>(pp - pf) || kept_in_parentheses())) {
    between_headers(b, e);
    if (!out.empty()) {
      *instead_of_kept = true;
      return out;
    }
  }
  std::vector<std::pair<uint32_t, uint32_t>> parts;
  if (kept_e <= kept_b) {
    parts.emplace_back(b, e);  // (the passage given up whole)
  } else {
    parts.emplace_back(b, kept_b);
    parts.emplace_back(kept_e, e);
  }
  for (const auto& [from, to] : parts) {
    if (from >= to || code_tokens(from, to) < min_tokens) continue;
    const auto [first, past] = token_range(from, to);
    // (Not a part whose pairs join it to code before the passage: a passage that begins inside a
    // new method, past a chance alignment, gives up that method's end, which stays.)
    if (from == b && pairs_before(first, past)) continue;
    if (opens_past(first, past)) {
      // (Not a part after what was kept: there, a block going on past the passage is most
      // often a new function's head that the passage ran into, whose first lines a look-alike
      // of common code aligned.)
      if (from == b) between_headers(from, to);
      continue;
    }
    uint32_t pb = from, pe = to;
    BalanceCodeRegion(text, q, partner, statements_end_with_semicolon, &pb, &pe);
    if (pb < pe && (kept_e <= kept_b || pe <= kept_b || pb >= kept_e) && code_tokens(pb, pe) >= min_tokens) {
      out.emplace_back(pb, pe);
    }
  }
  return out;
}

ScriptBlock::ScriptBlock(std::string_view text, uint32_t block_b, uint32_t block_e, const Language* lang) : block_b_(block_b) {
  if (lang == nullptr || lang->grammar == nullptr || block_e <= block_b || block_e > text.size()) return;
  auto symbol = [&](const char* name) {
    return ts_language_symbol_for_name(lang->grammar, name, static_cast<uint32_t>(std::strlen(name)), true);
  };
  element_ = symbol("jsx_element");
  self_closing_ = symbol("jsx_self_closing_element");
  statements_ = symbol("statement_block");  // (JavaScript's family only)
  program_ = symbol("program");
  class_body_ = symbol("class_body");
  const std::string_view block = text.substr(block_b, block_e - block_b);
  // (A block over a megabyte, about a tenth of a second's parse more after the check's own, is
  // redacted as other code is.)
  constexpr size_t kMaxBytes = size_t{1} << 20;
  if (block.size() > kMaxBytes) return;
  bool leading_bracket = false;  // a line that begins with `(` or `[`
  for (size_t at = 0; statements_ != 0 && !leading_bracket && at < block.size(); at = block.find('\n', at)) {
    at = block.find_first_not_of(" \t\r\n", at);
    leading_bracket = at != std::string_view::npos && (block[at] == '(' || block[at] == '[');
  }
  if (!leading_bracket && (element_ == 0 || block.find('<') == std::string_view::npos)) return;
  TSParser* parser = ts_parser_new();
  if (ts_parser_set_language(parser, lang->grammar)) {
    tree_ = ts_parser_parse_string(parser, nullptr, block.data(), static_cast<uint32_t>(block.size()));
  }
  ts_parser_delete(parser);
}

ScriptBlock::~ScriptBlock() {
  if (tree_ != nullptr) ts_tree_delete(tree_);
}

namespace {

// Calls fn on each node of `tree` whose symbol is `a` or `b`, in document order.
template <typename F>
void ForEachNodeOf(TSTree* tree, TSSymbol a, TSSymbol b, F&& fn) {
  TSTreeCursor cursor = ts_tree_cursor_new(ts_tree_root_node(tree));
  for (bool more = true; more;) {
    const TSNode node = ts_tree_cursor_current_node(&cursor);
    const TSSymbol sym = ts_node_symbol(node);
    if (sym == a || sym == b) fn(node);
    if (ts_tree_cursor_goto_first_child(&cursor)) continue;
    while (!ts_tree_cursor_goto_next_sibling(&cursor)) {
      if (!ts_tree_cursor_goto_parent(&cursor)) {
        more = false;
        break;
      }
    }
  }
  ts_tree_cursor_delete(&cursor);
}

// The index of the token of `q` that begins at answer byte `at` (or, with `ends`, ends there); -1 if none.
int32_t TokenAt(const Tokens& q, uint32_t at, bool ends) {
  if (ends) {
    const auto it = std::lower_bound(q.begin(), q.end(), at, [](const Token& t, uint32_t x) { return t.end < x; });
    return it != q.end() && it->end == at ? static_cast<int32_t>(it - q.begin()) : -1;
  }
  const size_t i = FirstTokenFrom(q, at);
  return i < q.size() && q[i].begin == at ? static_cast<int32_t>(i) : -1;
}

}  // namespace

void ScriptBlock::PairElements(const Tokens& q, std::vector<int32_t>* partner) const {
  if (tree_ == nullptr) return;
  auto pair = [&](int32_t a, int32_t z) {
    if (a < 0 || z <= a || (*partner)[a] >= 0 || (*partner)[z] >= 0) return;
    (*partner)[a] = z;
    (*partner)[z] = a;
  };
  ForEachNodeOf(tree_, element_, self_closing_, [&](TSNode node) {
    if (ts_node_has_error(node)) return;
    pair(TokenAt(q, block_b_ + ts_node_start_byte(node), false), TokenAt(q, block_b_ + ts_node_end_byte(node), true));
    const uint32_t children = ts_node_child_count(node);
    if (ts_node_symbol(node) != element_ || children < 2) return;
    // The opening tag's `>` and the closing tag's `</` (one token).
    const TSNode open = ts_node_child(node, 0), close = ts_node_child(node, children - 1);
    pair(TokenAt(q, block_b_ + ts_node_end_byte(open), true), TokenAt(q, block_b_ + ts_node_start_byte(close), false));
  });
}

std::optional<CommentSyntax> ScriptBlock::MarkerSyntax(const Tokens& q, uint32_t b, uint32_t e) const {
  if (tree_ == nullptr) return std::nullopt;
  // The tokens replaced: the smallest node holding them, and what it lies in.
  const auto first = q.begin() + static_cast<ptrdiff_t>(FirstTokenFrom(q, b));
  const auto past = std::lower_bound(first, q.end(), e, [](const Token& t, uint32_t x) { return t.end <= x; });
  if (first == past || first->begin < block_b_) return std::nullopt;
  const uint32_t from = first->begin - block_b_, to = std::prev(past)->end - block_b_;
  const TSNode node = ts_node_descendant_for_byte_range(ts_tree_root_node(tree_), from, to);
  const bool whole = ts_node_start_byte(node) == from && ts_node_end_byte(node) == to;
  const TSNode around = whole ? ts_node_parent(node) : node;
  if (ts_node_is_null(around) || ts_node_has_error(around)) return std::nullopt;  // (read with an error: as other code)
  // Among an element's children: elements, text, `{...}` children, or lines of them.
  if (ts_node_symbol(around) == element_) return CommentSyntax{"{/*", "*/}"};
  if (whole && (ts_node_symbol(node) == element_ || ts_node_symbol(node) == self_closing_)) {
    return CommentSyntax{"<>{/*", "*/}</>"};  // a whole element in an expression
  }
  // Statements whose next line begins with `(` or `[`: without them, what ends before the marker
  // runs on into it (`}` then `(e) => {`: a call), as no line break stops a statement without
  // `;`. The marker begins with the `;` they stood for.
  static const uint64_t kParen = VerbatimTokenHash("("), kBracket = VerbatimTokenHash("[");
  if (statements_ != 0 && past != q.end() && (past->hash == kParen || past->hash == kBracket)) {
    auto in_statements = [&](TSNode n) {
      const TSSymbol in = ts_node_symbol(n);
      return in == statements_ || in == program_ || in == class_body_;
    };
    if (in_statements(around)) return CommentSyntax{"; //", ""};
    // Or a statement that begins with the first token replaced and that the grammar ran on into
    // that line (`const f = () => {...}` then `(...)`: read as a call, where an engine's
    // semicolon insertion ends the statement at the `}`).
    for (TSNode n = ts_node_descendant_for_byte_range(ts_tree_root_node(tree_), from, from);
         !ts_node_is_null(n) && ts_node_start_byte(n) == from;) {
      const TSNode parent = ts_node_parent(n);
      if (ts_node_is_null(parent) || ts_node_has_error(parent)) break;
      if (in_statements(parent)) return CommentSyntax{"; //", ""};
      n = parent;
    }
  }
  return std::nullopt;
}

void WidenToStringsAndComments(std::string_view text, const Tokens& code, uint32_t block_b, uint32_t block_e,
                               uint32_t* b, uint32_t* e) {
  if (*e <= *b) return;
  auto blank = [&](uint32_t at) { return std::isspace(static_cast<unsigned char>(text[at])) != 0; };
  // For byte `at`: the token holding it, else the gap holding it, as [from, to).
  auto around = [&](uint32_t at) -> std::pair<uint32_t, uint32_t> {
    const auto it = std::upper_bound(code.begin(), code.end(), at, [](uint32_t x, const Token& t) { return x < t.end; });
    if (it != code.end() && it->begin <= at) return {it->begin, it->end};
    uint32_t from = std::max(block_b, it == code.begin() ? block_b : std::prev(it)->end);
    uint32_t to = std::min(block_e, it == code.end() ? block_e : it->begin);
    while (from < to && blank(from)) ++from;
    while (to > from && blank(to - 1)) --to;
    return {from, to};
  };
  const uint32_t last = std::min<uint32_t>(*e, static_cast<uint32_t>(text.size())) - 1;
  if (*b >= text.size() || last < *b) return;
  const auto [first_from, first_to] = around(*b);
  const auto [last_from, last_to] = around(last);
  if (first_from < first_to) *b = std::min(*b, first_from);
  if (last_from < last_to) *e = std::max(*e, last_to);
}

std::pair<size_t, size_t> RedactCodeLines(std::string* out, uint32_t b, uint32_t e, size_t floor, size_t block_b, size_t block_e,
                     const Language* lang, CommentSyntax comment, const std::string& marker, bool diff,
                     std::string_view container) {
  // (A region joined with prose before or after its block runs out of it, whole lines there.)
  size_t line_b = b >= block_b ? std::max(LineStart(*out, b), block_b) : LineStart(*out, b);
  const size_t line_e = e <= block_e ? std::min(LineEnd(*out, e), block_e) : LineEnd(*out, e);
  // The marker keeps the first line's indentation, and its block quote markers when every
  // replaced line is quoted (code in "> ```py").
  bool quoted = false;
  for (size_t at = line_b; !(diff && !container.empty());) {  // (a patch's container prefix is measured below)
    const size_t first = out->find_first_not_of(" \t", at), nl = out->find('\n', at);
    quoted = first != std::string::npos && (*out)[first] == '>';
    if (!quoted || nl == std::string::npos || nl >= line_e) break;  // (line_e ends the last line)
    at = nl + 1;
  }
  // A patch's line begins with its column (`+`, `-` or a space), after its container's prefix:
  // the marker line is added (`+`) after the first line's prefix, at the indentation after it.
  auto prefix = [&](size_t at) {  // the container prefix's bytes of the line at `at`
    if (!diff || container.empty()) return size_t{0};
    const size_t nl = std::min(out->find('\n', at), out->size());
    return ContainerPrefixBytes(std::string_view(*out).substr(at, nl - at), container);
  };
  auto column_at = [&](size_t k) {  // the column at byte k (after a line's prefix), or 0
    return diff && k < out->size() && ((*out)[k] == '+' || (*out)[k] == '-' || (*out)[k] == ' ') ? (*out)[k] : '\0';
  };
  auto column_char = [&](size_t at) { return column_at(at + prefix(at)); };  // the line's column, or 0
  auto column = [&](size_t at) {  // the bytes before the line's code
    const size_t p = prefix(at);
    return p + (column_at(at + p) != '\0' ? 1 : 0);
  };
  size_t i = line_b + column(line_b);
  while (i < out->size() && ((*out)[i] == ' ' || (*out)[i] == '\t' || (quoted && (*out)[i] == '>'))) ++i;
  const std::string indent = (diff ? out->substr(line_b, prefix(line_b)) + "+" : "") +
                             out->substr(line_b + column(line_b), i - line_b - column(line_b));
  // The marker line's indentation as lines are measured (Line::indent): without its prefix.
  const size_t width = indent.size() - prefix(line_b);
  // The line [at, end of line) with its indentation measured and its text trimmed.
  struct Line {
    size_t begin, end, indent;
    std::string_view text;
  };
  auto line_at = [&](size_t at) {
    Line l{at, out->find('\n', at), 0, {}};
    if (l.end == std::string::npos) l.end = out->size();
    size_t t = std::min(at + column(at), l.end);
    while (t < l.end && ((*out)[t] == ' ' || (*out)[t] == '\t' || (quoted && (*out)[t] == '>'))) ++t;
    l.indent = t - at - std::min(column(at), t - at) + (diff ? 1 : 0);  // (as `width` counts it)
    size_t end = l.end;
    while (end > t && ((*out)[end - 1] == ' ' || (*out)[end - 1] == '\t' || (*out)[end - 1] == '\r')) --end;
    l.text = std::string_view(*out).substr(t, end - t);
    // (A patch's removed line or header is no code of the new side around the marker.)
    if (const char col = column_char(at); diff && col != '+' && col != ' ') l.text = {};
    return l;
  };
  // The line that ends just before the line beginning at `begin` (> 0).
  auto line_above = [&](size_t begin) { return line_at(LineStart(*out, begin - 1)); };
  // Decorator and annotation lines (`@name...`, in the languages whose table names the
  // decorator token) just above the first line at its indentation belong to the code replaced:
  // left behind, they would decorate the next definition (or, before a comment, not parse). So
  // does a decorator written over several lines (`@app.route(` ... `)`): its last line, at the
  // same indentation, closes brackets its first line opened.
  auto is_decorator = [&](std::string_view t) {
    const std::string_view d = lang != nullptr ? std::string_view(lang->decorator) : std::string_view();
    if (d.empty() || t.size() <= d.size() || t.substr(0, d.size()) != d) return false;
    const unsigned char c = static_cast<unsigned char>(t[d.size()]);
    return (std::isalpha(c) || c == '_') && t.find(" = ") == std::string_view::npos;
  };
  auto bracket_balance = [](std::string_view t) {  // (brackets in quoted strings not counted)
    int n = 0;
    char quote = 0;
    for (size_t k = 0; k < t.size(); ++k) {
      const char c = t[k];
      if (quote != 0) {
        if (c == '\\') ++k;
        else if (c == quote) quote = 0;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else {
        n += (c == '(' || c == '[' || c == '{') - (c == ')' || c == ']' || c == '}');
      }
    }
    return n;
  };
  while (line_b > floor && LineStart(*out, line_b) == line_b) {
    Line l = line_above(line_b);
    if (l.begin < floor) break;
    // (Up a decorator's lines while more brackets close than opened below them, bounded: its
    // first line is at the passage's indentation, its last where its arguments hang.)
    int balance = bracket_balance(l.text);
    if (balance >= 0 && l.indent != width) break;
    for (int step = 0; balance < 0 && l.begin > floor && step < 64; ++step) {
      l = line_above(l.begin);
      balance += bracket_balance(l.text);
    }
    if (l.begin < floor || l.indent != width || balance != 0 || !is_decorator(l.text)) break;
    line_b = l.begin;
  }
  const std::string open(comment.open);
  std::string replacement = indent + CommentText(comment, marker);
  // Lines inside a multi-line macro (C's `#define F(x) \`) end in a backslash that splices the
  // next line on: the marker replacing such lines ends in one too, after a block comment (a line
  // comment would take the next line in), so the macro's lines after it stay its own.
  if (lang != nullptr && !lang->macro_definitions.empty() && !lang->block_open.empty() && line_e > line_b) {
    size_t last = line_e;
    while (last > line_b && ((*out)[last - 1] == '\r' || (*out)[last - 1] == ' ' || (*out)[last - 1] == '\t')) --last;
    if (last > line_b && (*out)[last - 1] == '\\') {
      replacement = indent + CommentText(CommentSyntax{lang->block_open, lang->block_close}, marker) + " \\";
    }
  }
  // Indentation blocks (Python): a block whose every line is replaced keeps a statement, or the
  // header's colon would be followed by nothing. Found from the nearest code lines around: the
  // one above ends with ':' (a comment may follow it) and the one below (or the end of the code)
  // is indented no deeper than the header; a header over several lines (`def f(a,` ... `b):`)
  // is as indented as its first line, found by its brackets.
  if (lang != nullptr && lang->block_indented) {
    auto is_code = [&](const Line& l) { return !l.text.empty() && l.text.rfind(open, 0) != 0; };
    auto ends_header = [&](std::string_view t) {
      // The code before a comment (the first comment token outside a quoted string) ends in ':'.
      char quote = 0;
      for (size_t k = 0; k < t.size(); ++k) {
        if (quote != 0) {
          if (t[k] == '\\') ++k;
          else if (t[k] == quote) quote = 0;
        } else if (t[k] == '"' || t[k] == '\'') {
          quote = t[k];
        } else if (t.substr(k, open.size()) == open) {
          t = t.substr(0, k);
          break;
        }
      }
      const size_t last = t.find_last_not_of(" \t");
      return last != std::string_view::npos && t[last] == ':';
    };
    std::optional<Line> above;  // (in the block: not a sentence ending in ':' before it)
    for (size_t at = line_b; at > block_b && !above;) {
      const Line l = line_above(at);
      if (l.begin < block_b) break;
      if (is_code(l)) above = l;
      at = l.begin;
    }
    const bool header = above && ends_header(above->text);
    // The header's indentation is its first line's: up its lines while more brackets close than
    // opened below them (bounded).
    size_t header_indent = above ? above->indent : 0;
    int balance = header ? bracket_balance(above->text) : 0;
    size_t header_at = header ? above->begin : 0;  // the header's first line
    for (size_t step = 0; balance < 0 && header_at > 0 && step < 64; ++step) {
      const Line l = line_above(header_at);
      balance += bracket_balance(l.text);
      header_indent = l.indent;
      header_at = l.begin;
    }
    // (Up through lines continued with a backslash too: `elif a and \` over `b:`.)
    for (size_t step = 0; header && header_at > block_b && step < 64; ++step) {
      const Line l = line_above(header_at);
      if (l.begin < block_b || l.text.empty() || l.text.back() != '\\') break;
      header_indent = l.indent;
      header_at = l.begin;
    }
    std::optional<Line> below;
    for (size_t at = line_e; at < out->size();) {
      const Line l = line_at(at + ((*out)[at] == '\n' ? 1 : 0));
      if (l.begin >= out->size()) break;
      if (is_code(l)) {
        below = l;
        break;
      }
      at = l.end;
    }
    if (header && width > header_indent && (!below || below->indent <= header_indent)) {
      replacement = indent + "pass  " + open + " " + marker;
    }
  }
  // The marker line ends as the lines it replaces did (CRLF answers stay CRLF).
  if (line_e > line_b && (*out)[line_e - 1] == '\r') replacement += '\r';
  if (diff) {
    // A patch's context lines (` `) and headers among the lines replaced stay, in order, after
    // the marker, so a copy in added lines leaves the old side whole and the patch still applies.
    // Removed lines go: the old side may be the protected code itself (a patch that edits a
    // copy shows it whole in them), and then the patch no longer applies.
    for (size_t at = line_b; at < line_e;) {
      const size_t nl = std::min(out->find('\n', at), line_e);
      if (const char col = column_char(at); col != '+' && col != '-') replacement += "\n" + out->substr(at, nl - at);
      at = nl + 1;
    }
  }
  out->replace(line_b, line_e - line_b, replacement);
  return {line_b, line_e};
}

namespace {

// `@@ -a[,b] +c[,d] @@rest`: its numbers (a count left out is 1) and where `rest` begins; false
// when `line` is no unified hunk header.
bool ParseHunkHeader(std::string_view line, uint64_t* a, uint64_t* b, uint64_t* c, uint64_t* d, size_t* rest) {
  size_t at = 0;
  auto lit = [&](std::string_view w) {
    if (line.substr(at, w.size()) != w) return false;
    at += w.size();
    return true;
  };
  auto num = [&](uint64_t* v) {
    const size_t from = at;
    *v = 0;
    while (at < line.size() && std::isdigit(static_cast<unsigned char>(line[at])) != 0 && at - from < 12) {
      *v = *v * 10 + static_cast<uint64_t>(line[at++] - '0');
    }
    return at > from;
  };
  *b = *d = 1;
  if (!lit("@@ -") || !num(a) || (lit(",") && !num(b)) || !lit(" +") || !num(c) || (lit(",") && !num(d)) || !lit(" @@")) {
    return false;
  }
  *rest = at;
  return true;
}

}  // namespace

std::vector<HunkRecount> HunkRecounts(std::string_view text, bool whole) {
  std::vector<HunkRecount> edits;
  const std::vector<Segment> segments =
      whole ? std::vector<Segment>{WholePatch(text)} : SplitUnfencedPatches(text, SplitMarkdown(text));
  for (const Segment& seg : segments) {
    if (ReadDiff(text, seg).empty()) continue;
    // (Each line without its container's prefix, in a list item or a quote: what the container
    // takes, as StripContainer strips it.)
    std::vector<std::string_view> lines;
    std::vector<size_t> starts;
    const std::string_view body = text.substr(seg.begin, seg.end - seg.begin);
    for (size_t pos = 0; pos < body.size();) {
      const size_t nl = std::min(body.find('\n', pos), body.size());
      const size_t k = pos + ContainerPrefixBytes(body.substr(pos, nl - pos), seg.prefix);
      starts.push_back(seg.begin + k);
      lines.push_back(body.substr(k, nl - k));
      pos = nl + 1;
    }
    for (size_t i = 0; i < lines.size(); ++i) {
      uint64_t a = 0, b = 0, c = 0, d = 0;
      size_t rest = 0;
      if (!ParseHunkHeader(lines[i], &a, &b, &c, &d, &rest)) continue;
      uint64_t old_lines = 0, new_lines = 0, blanks = 0;
      for (size_t j = i + 1; j < lines.size(); ++j) {
        std::string_view l = lines[j];
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        if (l.empty()) {
          ++blanks;
          continue;
        }
        const char col = l[0];
        if (col != ' ' && col != '+' && col != '-' && col != '\\') break;
        // (The next file's headers, as ReadDiff takes them: before a hunk or at the end.)
        if (l.substr(0, 4) == "--- " && j + 1 < lines.size() && lines[j + 1].substr(0, 4) == "+++ " &&
            (j + 2 == lines.size() || lines[j + 2].substr(0, 2) == "@@")) {
          break;
        }
        old_lines += blanks + (col != '+' && col != '\\');
        new_lines += blanks + (col != '-' && col != '\\');
        blanks = 0;
      }
      if (old_lines == b && new_lines == d) continue;
      // A side of no lines is numbered by the line before it (`@@ -0,0 +1,2 @@` adds at the top):
      // a side that became empty starts a line earlier, one no longer empty a line later.
      auto start = [](uint64_t at, uint64_t was, uint64_t now) {
        return now == 0 && was > 0 && at > 0 ? at - 1 : now > 0 && was == 0 ? at + 1 : at;
      };
      edits.push_back({starts[i], starts[i] + rest,
                       "@@ -" + std::to_string(start(a, b, old_lines)) + "," + std::to_string(old_lines) + " +" +
                           std::to_string(start(c, d, new_lines)) + "," + std::to_string(new_lines) + " @@"});
    }
  }
  return edits;
}

void RecountHunks(std::string* text, bool whole) {
  const std::vector<HunkRecount> edits = HunkRecounts(*text, whole);
  for (auto it = edits.rbegin(); it != edits.rend(); ++it) text->replace(it->begin, it->end - it->begin, it->header);
}

}  // namespace doppel
