// code_lexer.cc — the scan's first-pass lexer: the tokens a parse would give, without the parse.
#include "doppel/code_tokenizer.h"

#include <algorithm>
#include <array>
#include <bitset>
#include <cctype>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "code_tokens.h"

namespace doppel {
namespace {

using code_detail::Hash;
using code_detail::StringContent;
using code_detail::ContentName;
using code_detail::StringName;
using code_detail::WithoutInterpolations;
using code_detail::OnlyInterpolations;
using code_detail::FormatNameHoles;
using code_detail::NameWithHoles;
using code_detail::JoinedName;
using code_detail::kId;
using code_detail::kStr;
using code_detail::kNum;
using code_detail::DropCosmeticPunctuation;
using code_detail::Opens;
using code_detail::IsWordChar;
using code_detail::IsLexBlank;
using code_detail::AfterMemberAccess;
using code_detail::CheckInput;
using code_detail::EmitMacroBody;
using code_detail::LfHash;

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
    std::unordered_map<std::string_view, Word> words;  // what the lexer knows of each word, then word_slots_
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
        Word& w = words[t];
        w.keyword = true;
        // A keyword spelled as a node type the table names (TypeScript's `number` and `string`
        // types) takes that node's category in the parse, which looks categories up by name.
        // (In the parse's order: strings, then names, then numbers.)
        w.kind = lang->strings.count(name) ? kStr : lang->identifiers.count(name) ? kId : lang->numbers.count(name) ? kNum : 0;
      } else if (t.size() > 1 && (t.back() == '!' || t.back() == '?') &&
                 std::all_of(t.begin(), t.end() - 1, [](char c) { return IsWordChar(static_cast<unsigned char>(c)); })) {
        // macro_rules! (Rust), defined? (Ruby, whose names may end in ? or !)
        (t.back() == '!' ? words[t].bang : words[t].keyword) = true;
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
      words[w].keyword = true;
      operand_words_.insert(Hash(w));  // true, null: a `/` after them divides
    }
    for (const std::string& w : lang->lexer_leaves) {
      words[w].keyword = true;
      operand_words_.insert(Hash(w));  // this, self
    }
    auto mark_keywords = [&](const std::vector<std::string>& list, bool Word::*flag) {
      for (const std::string& w : list) {
        if (auto it = words.find(w); it != words.end() && it->second.keyword) it->second.*flag = true;
      }
    };
    mark_keywords(lang->lexer_contextual, &Word::contextual);
    mark_keywords(lang->lexer_member_keywords, &Word::member_keyword);
    for (const std::string& w : lang->lexer_fragments) {
      if (auto it = words.find(w); it != words.end() && it->second.keyword) {
        it->second.keyword = false;
        it->second.fragment = true;
      }
    }
    // `_` is a name in the parse of most files of the other languages (a few patterns read it
    // as a keyword).
    if (auto it = words.find("_"); it != words.end() && lang->name != "rust") it->second.keyword = false;
    // Ruby's number suffixes (3i, 2r, 1ri) are words of its grammar, and names everywhere else.
    if (lang->name == "ruby") {
      for (const std::string_view suffix : {"i", "r", "ri"}) words.erase(suffix);
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
    interpolates_ = !lang->string_interpolations.empty();
    format_names_ = lang->format_string_names;
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
    // The words by their hashes, in a table at most half full.
    size_t slots = 16;
    while (slots < 2 * words.size()) slots *= 2;
    word_slots_.assign(slots, WordSlot{});
    for (const auto& [word, info] : words) {
      const uint64_t h = Hash(word);
      size_t k = h & (slots - 1);
      while (!word_slots_[k].word.empty()) k = (k + 1) & (slots - 1);
      word_slots_[k] = WordSlot{h, word, info};
    }
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
      if (e > b) line += static_cast<uint32_t>(std::count(text.begin() + b, text.begin() + e, '\n'));
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
      if (e > s) push(LfHash(text.substr(s, e - s)), 0, s, e, line);
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
          i += i + 2 < n && text[i + 1] == '\r' && text[i + 2] == '\n' ? 3 : 2;  // (an escaped CRLF line end too)
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
    std::string joined_first;  // the first piece of `joined` when it was spelled without interpolations
    std::vector<std::pair<uint32_t, uint32_t>> holes;
    // JSX (JavaScript and TSX): the elements open around the lexer, innermost last, each with the
    // bracket depth of its `<` and what is being read: its opening tag, its children (text
    // between tags is one leaf, the grammar's jsx_text), or its closing tag.
    enum class Jsx : uint8_t { kTag, kChildren, kClosing };
    std::vector<std::pair<int, Jsx>> jsx;
    // Ruby heredocs opened on the current line: [body start, end of its terminator line).
    // (Third: the body interpolates #{...}, its opener's word not in single quotes.)
    std::vector<std::tuple<size_t, size_t, bool>> heredocs;
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
            if (text[e] == '\n' || (text[e] == '\r' && at(e + 1) == '\n')) {
              at_newline = true;
            } else {
              at_newline = at_newline && std::isspace(at(e));
              saw_text = saw_text || !at_newline;
            }
          }
          if (saw_text) push(LfHash(text.substr(i, e - i)), 0, i, e, line);
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
        for (const auto& [body, body_end, interpolating] : heredocs) {
          if (body < i) continue;
          count_lines(i, body);
          push(kStr, interpolating ? RubyName(text.substr(body, body_end - body)) : StringName(text.substr(body, body_end - body)),
               body, body_end, line);
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
      if (IsLexBlank(static_cast<unsigned char>(c))) {
        while (++i < n && IsLexBlank(static_cast<unsigned char>(text[i]))) {
        }  // a line's indentation at once (nothing above reads blanks)
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
          push(kStr, FormatName(text.substr(b, i - b)), b, i, start_line);
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
        // (Code inside a template string or an f-string written `{}`, as the parse spells it:
        // string_interpolations.)
        std::string_view literal = text.substr(b, i - b);
        std::string masked;
        holes.clear();
        if ((interpolates_ || format_names_) && literal.find_first_of(ruby_ ? "{#" : "{") != std::string_view::npos) {
          if (format_names_) {
            if (qc == '"') FormatNameHoles(literal, &holes);
          } else if (qc == '`' && dollar_names_) {
            TemplateHoles(literal, &holes);
          } else if ((python_ && literal.substr(0, q - b).find_first_of("fF") != std::string_view::npos) ||
                     (csharp_ && literal.substr(0, q - b).find('$') != std::string_view::npos)) {
            FStringHoles(literal, q - b, &holes);  // (C#'s $"...{x}...": the same braces)
          } else if (ruby_ && (qc == '"' || qc == '`')) {
            RubyHoles(literal, &holes);
          }
          if (!holes.empty()) literal = masked = WithoutInterpolations(literal, holes);
        }
        const std::string_view content = StringContent(literal);
        const bool joinable = joins_strings_ && qc != '`' && !(c_like_ && qc == '\'');  // not C's characters
        if (joinable && !out->empty() && joined_end == out->back().end &&
            (c_like_ || (python_ && depth > 0) || !LineEndsBetween(text, joined_end - base_offset, b))) {
          // (Python's and Ruby's statements end at a line's end, outside brackets in Python.)
          // Adjacent literals the language joins: one string, spelled as the joined contents.
          joined.Add(content);
          out->back().name = joined.Name();
          out->back().end = static_cast<uint32_t>(i) + base_offset;
        } else if (masked.empty()) {
          joined.Start(content);
          push(kStr, ContentName(content), b, i, start_line);
        } else {
          joined_first.assign(content);  // (`joined` reads its first piece when another is added)
          joined.Start(joined_first);
          push(kStr, OnlyInterpolations(content) ? 0 : ContentName(content), b, i, start_line);
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
        const uint64_t word_hash = Hash(word);
        const Word* w = FindWord(word, word_hash);
        if (rust_ && w != nullptr && w->fragment && out->size() >= 2 && out->back().hash == kColon &&
            out->rbegin()[1].hash == kId && text[out->rbegin()[1].begin - base_offset] == '$') {
          push(word_hash, 0, b, i, start_line);  // a macro fragment specifier: $x:expr
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
          push(word_hash, 0, b, i, start_line);
        } else if (keyword) {
          if (w->kind != 0) {
            push(w->kind, w->kind == kStr ? StringName(word) : word_hash, b, i, start_line);
          } else {
            push(word_hash, 0, b, i, start_line);
          }
        } else {
          push(kId, word_hash, b, i, start_line);
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
          push(kStr, at(b + 1) == '"' ? RubyName(text.substr(b, i - b)) : StringName(text.substr(b, i - b)), b, i, start_line);
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
          // (%Q, %r, %x and % alone interpolate #{...}.)
          const bool interpolating = at(b + 1) == 'Q' || at(b + 1) == 'r' || at(b + 1) == 'x' || !std::isalpha(at(b + 1));
          push(kStr, interpolating ? RubyName(text.substr(b, i - b)) : StringName(text.substr(b, i - b)), b, i, start_line);
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
          const size_t body = heredocs.empty() ? text.find('\n', i) : std::get<1>(heredocs.back());
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
            if (end > body + 1 && text[end - 1] == '\r') --end;  // (a CRLF line end, as the parse ends it)
            heredocs.emplace_back(body, end, !(quoted && at(w - 1) == '\''));
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
          push(kStr, ruby_ ? RubyName(text.substr(b, i - b)) : StringName(text.substr(b, i - b)), b, i, start_line);
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
  // The substitutions (`${...}`) of template string `literal` (from its backtick), outside those
  // of any template nested in one, as byte ranges of it in `holes`, as TemplateEnd reads them.
  static void TemplateHoles(std::string_view literal, std::vector<std::pair<uint32_t, uint32_t>>* holes) {
    std::vector<int> braces;  // as in TemplateEnd
    uint32_t open = 0;
    for (size_t i = 1; i < literal.size(); ++i) {
      const char c = literal[i];
      if (braces.empty() || braces.back() < 0) {
        if (c == '\\') {
          ++i;
        } else if (c == '`') {
          if (braces.empty()) return;
          braces.pop_back();
        } else if (c == '$' && i + 1 < literal.size() && literal[i + 1] == '{') {
          if (braces.empty()) open = static_cast<uint32_t>(i);
          braces.push_back(1);
          ++i;
        }
      } else if (c == '{') {
        ++braces.back();
      } else if (c == '}') {
        if (--braces.back() == 0) {
          braces.pop_back();
          if (braces.empty()) holes->emplace_back(open, static_cast<uint32_t>(i + 1));
        }
      } else if (c == '`') {
        braces.push_back(-1);
      }
    }
  }
  // The `}` that closes the `{` at `open` of `s` (braces counted, strings inside not told
  // apart), or npos.
  static size_t ClosingBrace(std::string_view s, size_t open) {
    int depth = 0;
    for (size_t k = open; k < s.size(); ++k) {
      depth += s[k] == '{' ? 1 : s[k] == '}' ? -1 : 0;
      if (depth == 0) return k;
    }
    return std::string_view::npos;
  }
  // The replacement fields (`{...}`, not `{{`) of f-string `literal`, whose quote is at byte
  // `quote`, as byte ranges of it in `holes`; a field's braces are counted to its end.
  static void FStringHoles(std::string_view literal, size_t quote, std::vector<std::pair<uint32_t, uint32_t>>* holes) {
    for (size_t i = quote; i < literal.size(); ++i) {
      if (literal[i] == '}' && i + 1 < literal.size() && literal[i + 1] == '}') {
        ++i;
      } else if (literal[i] == '{') {
        if (i + 1 < literal.size() && literal[i + 1] == '{') {
          ++i;
          continue;
        }
        const size_t k = ClosingBrace(literal, i);
        if (k == std::string_view::npos) return;  // unclosed
        holes->emplace_back(static_cast<uint32_t>(i), static_cast<uint32_t>(k + 1));
        i = k;
      }
    }
  }
  // Ruby: the interpolations (`#{...}`, to the brace that closes it, and `#@name`, `#@@name`,
  // `#$name`) of literal `literal`, as byte ranges of it in `holes`.
  static void RubyHoles(std::string_view literal, std::vector<std::pair<uint32_t, uint32_t>>* holes) {
    for (size_t i = 0; i + 1 < literal.size(); ++i) {
      if (literal[i] == '\\') {
        ++i;
      } else if (literal[i] == '#' && (literal[i + 1] == '@' || literal[i + 1] == '$')) {
        // (As the grammar's scanner and its global_variable read them: `#$1`, `#$!`, `#$-w`
        // and `#$name`; `#@name` and `#@@name`, whose first character is no digit.)
        const size_t n = literal.size();
        auto word = [&](size_t k) { return k < n && (IsWordChar(static_cast<unsigned char>(literal[k])) || static_cast<unsigned char>(literal[k]) >= 0x80); };
        size_t k = i + 2;
        if (k + 1 >= n) continue;  // (nothing, or the closing quote, after it)
        const unsigned char c = static_cast<unsigned char>(literal[k]);
        if (literal[i + 1] == '$') {
          if (std::string_view("!@&`'+~=/\\,;.<>*$?:\"").find(static_cast<char>(c)) != std::string_view::npos) {
            ++k;
          } else if (c == '-' && (std::isalpha(static_cast<unsigned char>(literal[k + 1])) || literal[k + 1] == '_')) {
            k += 2;
          } else if (std::isdigit(c)) {
            while (k < n && std::isdigit(static_cast<unsigned char>(literal[k]))) ++k;
          } else if (std::isalpha(c) || c == '_') {
            while (k < n && (std::isalnum(static_cast<unsigned char>(literal[k])) || literal[k] == '_')) ++k;
          } else {
            continue;
          }
        } else {
          if (c == '@') ++k;
          if (!word(k) || std::isdigit(static_cast<unsigned char>(literal[k]))) continue;
          while (word(k)) ++k;
        }
        holes->emplace_back(static_cast<uint32_t>(i), static_cast<uint32_t>(k));
        i = k - 1;
      } else if (literal[i] == '#' && literal[i + 1] == '{') {
        const size_t k = ClosingBrace(literal, i + 1);
        if (k == std::string_view::npos) return;  // unclosed
        holes->emplace_back(static_cast<uint32_t>(i), static_cast<uint32_t>(k + 1));
        i = k;
      }
    }
  }
  // A literal's name (StringName) without a format string's names (format_string_names).
  uint64_t FormatName(std::string_view literal) const {
    if (!format_names_ || literal.find('{') == std::string_view::npos) return StringName(literal);
    std::vector<std::pair<uint32_t, uint32_t>> holes;
    FormatNameHoles(literal, &holes);
    return NameWithHoles(literal, holes);
  }
  // A Ruby literal's name (StringName) with its interpolations written `{}`.
  uint64_t RubyName(std::string_view literal) const {
    if (!interpolates_ || literal.find('#') == std::string_view::npos) return StringName(literal);
    std::vector<std::pair<uint32_t, uint32_t>> holes;
    RubyHoles(literal, &holes);
    return NameWithHoles(literal, holes);
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
    const Word* w = FindWord(s, Hash(s));
    return w != nullptr && w->*flag;
  }
  // The Word of `word` (whose hash is `hash`), or null.
  const Word* FindWord(std::string_view word, uint64_t hash) const {
    const size_t mask = word_slots_.size() - 1;
    for (size_t k = hash & mask;; k = (k + 1) & mask) {
      const WordSlot& slot = word_slots_[k];
      if (slot.word.empty()) return nullptr;
      if (slot.hash == hash && slot.word == word) return &slot.info;
    }
  }
  struct WordSlot {
    uint64_t hash = 0;
    std::string_view word;  // empty: a free slot
    Word info;
  };
  std::vector<WordSlot> word_slots_;  // open addressing by the word's hash: one probe for most words
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
  // string_interpolations: a template string's `${...}` and an f-string's `{...}` written `{}`.
  bool interpolates_ = false;
  // format_string_names: a format string's `{name}` written `{}` (Rust).
  bool format_names_ = false;
  const uint64_t kQuote = Hash("'"), kColon = Hash(":"), kBang = Hash("!"), kDef = Hash("def"), kDot = Hash(".");
  const uint64_t kReturn = Hash("return"), kBreak = Hash("break"), kLess = Hash("<"), kNewline = Hash("\n"),
                 kComma = Hash(","), kQuestion = Hash("?"), kOpenBrace = Hash("{"), kCloseParen = Hash(")"), kMacroRules = Hash("macro_rules!");
  const std::unordered_set<std::string_view> kRustTreeNames = {"else", "in", "move", "dyn", "ref", "extern"};
  const std::unordered_set<std::string_view> kRustPrimitives = {"u8",   "i8",    "u16", "i16",  "u32",  "i32",
                                                                "u64",  "i64",   "u128", "i128", "usize", "isize",
                                                                "f32",  "f64",   "bool", "char", "str"};
};


}  // namespace

std::unique_ptr<Tokenizer> code_detail::NewMacroBodyLexer(const Language* lang) {
  return std::make_unique<CodeLexer>(lang, true);
}

std::unique_ptr<Tokenizer> NewCodeLexer(const Language* language) {
  if (language == nullptr || language->grammar == nullptr) return NewCodeTokenizer(nullptr);  // the generic lexer
  return std::make_unique<CodeLexer>(language);
}

}  // namespace doppel
