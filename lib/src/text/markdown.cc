#include "doppel/markdown.h"

#include <algorithm>
#include <cctype>

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

// The bytes of `line` its container takes (markers and indentation), or npos when the line is
// outside it: a line without the quote markers (a blank one too: it ends a block quote), or a
// non-blank line indented less than a list item's content.
size_t ConsumeContainer(std::string_view line, const Container& c) {
  size_t k = 0;
  for (size_t q = 0; q < c.quotes; ++q) {
    for (size_t s = 0; s < 3 && k < line.size() && line[k] == ' '; ++s) ++k;
    if (k >= line.size() || line[k] != '>') return std::string_view::npos;
    ++k;
    if (k < line.size() && line[k] == ' ') ++k;
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

}  // namespace

std::vector<Segment> SplitMarkdown(std::string_view text, std::string* unclosed) {
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
  size_t indented_end = 0;
  uint32_t indented_end_line = 0;
  auto end_indented = [&] {
    push(Kind::kCode, "", seg_begin, indented_end, seg_line, kIndentedCodePrefix);
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
      if (ParseFence(line, &f)) {
        push(Kind::kText, "", seg_begin, pos, seg_line);
        in_code = true;
        open = f;
        seg_begin = next;
        seg_line = line_no + 1;
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

StrippedCode StripContainer(std::string_view text, const Segment& seg) {
  StrippedCode out;
  const std::string_view body = text.substr(seg.begin, seg.end - seg.begin);
  const Container container = ContainerOf(seg.prefix);
  out.code.reserve(body.size());
  for (size_t pos = 0; pos < body.size();) {
    size_t next = body.find('\n', pos);
    next = next == std::string_view::npos ? body.size() : next + 1;
    size_t k = ConsumeContainer(body.substr(pos, next - pos), container);
    if (k == std::string_view::npos) k = 0;  // (a blank line the block ends at)
    k += pos;
    out.lines.emplace_back(static_cast<uint32_t>(out.code.size()), static_cast<uint32_t>(seg.begin + k));
    out.code.append(body.substr(k, next - k));
    pos = next;
  }
  return out;
}

uint32_t StrippedCode::ToAnswer(uint32_t x, bool end) const {
  if (lines.empty()) return x;
  const uint32_t at = end && x > 0 ? x - 1 : x;
  auto it = std::upper_bound(lines.begin(), lines.end(), at,
                             [](uint32_t v, const std::pair<uint32_t, uint32_t>& l) { return v < l.first; });
  if (it != lines.begin()) --it;
  return x - it->first + it->second;
}

}  // namespace doppel
