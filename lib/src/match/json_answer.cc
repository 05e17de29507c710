#include "doppel/json_answer.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>

#include "doppel/format.h"
#include "doppel/language.h"
#include "doppel/tokenizer.h"

namespace doppel {

namespace {

using Piece = StrippedCode::Piece;

// One JSON value of a text being read: a string's contents (between its quotes) as bytes of
// that text, or a container's members kept for the reading, in order, with their keys (an
// object's as decoded, an array's their indexes).
struct Value {
  enum Type : uint8_t { kString, kObject, kArray, kOther } type = kOther;
  uint32_t begin = 0, end = 0;
  std::vector<std::string> keys;
  std::vector<Value> members;
};

constexpr int kMaxDepth = 256;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Keys of a member naming its object's language: by name, or by a file name's extension.
bool NamesLanguageByName(std::string_view k) { return k == "language" || k == "lang" || k == "programming_language"; }
// A member (lower case) holding a file's path or name, whose extension names the language of
// the text beside it. (A corpus line's path names its language only where the caller names the
// field: ReaderOptions::path_field.)
bool NamesLanguageByPath(std::string_view k) {
  return k == "path" || k == "file_path" || k == "filepath" || k == "filename" || k == "file_name" || k == "file" ||
         k == "target_file" || k == "relative_path" || k == "name";
}
bool NamesLanguage(std::string_view k) { return NamesLanguageByName(k) || NamesLanguageByPath(k); }

// A strict RFC 8259 reader (UTF-8 is checked where answers are read) of one value with blanks
// around it, or of one cut short at the end of the text (an answer still being streamed, or
// stopped at its length limit): what it holds up to there is read, a string to its last whole
// escape. It keeps strings as ranges and decodes only the object keys it needs to name members.
class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  bool truncated() const { return truncated_; }

  // The text is one value and blanks (or the start of one, cut short).
  bool Read(Value* out) {
    if (!ReadLeading(out)) return false;
    if (truncated_) return true;
    Blank();
    return at_ == s_.size();
  }
  // An object or array at the start of the text, after blanks, which may go on after it
  // (end() is where the value ends; the text's end for one cut short).
  bool ReadLeading(Value* out) {
    Blank();
    if (at_ >= s_.size() || (s_[at_] != '{' && s_[at_] != '[')) return false;
    return ReadValue(out, 0);
  }
  size_t end() const { return at_; }

 private:
  void Blank() {
    while (at_ < s_.size() && (s_[at_] == ' ' || s_[at_] == '\t' || s_[at_] == '\n' || s_[at_] == '\r')) ++at_;
  }
  // The text ended inside the value: everything open is closed there.
  bool CutShort() {
    truncated_ = true;
    return true;
  }
  bool ReadValue(Value* v, int depth) {
    Blank();
    if (at_ >= s_.size()) return CutShort();
    const char c = s_[at_];
    if (c == '"') {
      v->type = Value::kString;
      return ReadString(&v->begin, &v->end);
    }
    if (c == '{' || c == '[') {
      if (depth >= kMaxDepth) return false;
      const bool object = c == '{';
      const char close = object ? '}' : ']';
      v->type = object ? Value::kObject : Value::kArray;
      ++at_;
      size_t index = 0;
      for (bool first = true;; first = false) {
        Blank();
        if (at_ >= s_.size()) return CutShort();
        if (first && s_[at_] == close) {
          ++at_;
          return true;
        }
        std::string key;
        Value member;
        if (object) {
          uint32_t kb = 0, ke = 0;
          if (s_[at_] != '"' || !ReadString(&kb, &ke)) return false;
          if (truncated_) return true;
          Blank();
          if (at_ >= s_.size()) return CutShort();
          if (s_[at_++] != ':') return false;
          key = KeyOf(kb, ke);
        } else {
          key = std::to_string(index++);
        }
        if (!ReadValue(&member, depth + 1)) return false;
        if (Kept(key, member, object)) {
          if (++kept_ > kMaxJsonStrings) return false;
          v->keys.push_back(std::move(key));
          v->members.push_back(std::move(member));
        }
        if (truncated_) return true;
        Blank();
        if (at_ >= s_.size()) return CutShort();
        if (s_[at_] == close) {
          ++at_;
          return true;
        }
        if (s_[at_++] != ',') return false;
      }
    }
    // A number, true, false or null: checked, not kept.
    static constexpr std::array<std::string_view, 3> kWords{"true", "false", "null"};
    for (const std::string_view w : kWords) {
      const std::string_view here = s_.substr(at_, w.size());
      if (here == w || (at_ + here.size() == s_.size() && !here.empty() && w.substr(0, here.size()) == here)) {
        at_ += here.size();
        return at_ == s_.size() && here != w ? CutShort() : true;
      }
    }
    return ReadNumber();
  }
  bool ReadNumber() {
    // (A digit missing at the end of the text is the rest cut off.)
    auto digits = [&] {
      const size_t b = at_;
      while (at_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[at_])) != 0) ++at_;
      return at_ > b || at_ == s_.size();
    };
    if (at_ < s_.size() && s_[at_] == '-') ++at_;
    if (at_ < s_.size() && s_[at_] == '0') {
      ++at_;
    } else if (!digits()) {
      return false;
    }
    if (at_ < s_.size() && s_[at_] == '.') {
      ++at_;
      if (!digits()) return false;
    }
    if (at_ < s_.size() && (s_[at_] == 'e' || s_[at_] == 'E')) {
      ++at_;
      if (at_ < s_.size() && (s_[at_] == '+' || s_[at_] == '-')) ++at_;
      if (!digits()) return false;
    }
    return at_ == s_.size() ? CutShort() : true;
  }
  // At a '"': to after the closing one; [*b, *e) its contents (to the last whole escape
  // when the text ends in it). Escapes are checked here, and decoded by Decode.
  bool ReadString(uint32_t* b, uint32_t* e) {
    *b = static_cast<uint32_t>(++at_);
    while (at_ < s_.size()) {
      const auto c = static_cast<unsigned char>(s_[at_]);
      if (c == '"') {
        *e = static_cast<uint32_t>(at_++);
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        const size_t len = at_ + 1 < s_.size() && s_[at_ + 1] == 'u' ? 6 : 2;
        for (size_t k = at_ + 1; k < at_ + len; ++k) {
          if (k >= s_.size()) {  // an escape cut short: the string ends before it
            *e = static_cast<uint32_t>(at_);
            at_ = s_.size();
            return CutShort();
          }
          const char x = s_[k];
          if (len == 6 ? (k > at_ + 1 && std::isxdigit(static_cast<unsigned char>(x)) == 0)
                       : std::string_view("\"\\/bfnrt").find(x) == std::string_view::npos) {
            return false;
          }
        }
        at_ += len;
        continue;
      }
      ++at_;
    }
    *e = static_cast<uint32_t>(at_);
    return CutShort();
  }
  std::string KeyOf(uint32_t b, uint32_t e) const;
  // Whether a member is kept for the reading: a container with members; a string with a blank
  // or an escape in it (a line break), or one that may name its object's language.
  bool Kept(const std::string& key, const Value& v, bool in_object) const {
    if (v.type == Value::kObject || v.type == Value::kArray) return !v.members.empty();
    if (v.type != Value::kString) return false;
    return s_.substr(v.begin, v.end - v.begin).find_first_of(" \t\\") != std::string_view::npos ||
           (in_object && NamesLanguage(Lower(key)));
  }

  std::string_view s_;
  size_t at_ = 0;
  size_t kept_ = 0;
  bool truncated_ = false;
};

uint32_t Hex4(std::string_view s) {
  uint32_t v = 0;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    v = v * 16 + static_cast<uint32_t>(std::isdigit(u) != 0 ? u - '0' : std::tolower(u) - 'a' + 10);
  }
  return v;
}

// A text being read (the answer, or a string of it decoded) and the way from its bytes to the
// answer's.
struct Level {
  std::string_view text;
  const StrippedCode* map = nullptr;  // null: bytes of the answer, from `base` on
  int escapes = 0;                    // how often its bytes are escaped in the answer
  uint32_t base = 0;

  uint32_t ToAnswer(uint32_t x, bool end) const { return map == nullptr ? base + x : map->ToAnswer(x, end); }
  // Appends the pieces that map `out`'s bytes from `at` on to the answer, for this level's
  // bytes [b, e), which `out` holds from `at` on: copied through (`whole` false), or decoded from
  // them as one character (an escape).
  void AppendPieces(uint32_t b, uint32_t e, uint32_t at, bool whole, std::vector<Piece>* out) const {
    if (whole) {
      const uint32_t ab = ToAnswer(b, false);
      out->push_back({at, ab, ToAnswer(e, true) - ab});
      return;
    }
    if (map == nullptr || map->pieces.empty()) {
      out->push_back({at, ToAnswer(b, false), 0});
      return;
    }
    const auto& ps = map->pieces;
    auto it = std::upper_bound(ps.begin(), ps.end(), b, [](uint32_t v, const Piece& p) { return v < p.code; });
    if (it != ps.begin()) --it;
    for (; it != ps.end() && it->code < e; ++it) {
      const uint32_t from = std::max(b, it->code);
      if (it->reference > 0) {
        out->push_back({at + (from - b), it->answer, it->reference});
      } else {
        out->push_back({at + (from - b), it->answer + (from - it->code), 0});
      }
    }
  }
};

// Decodes the string [b, e) of `level` (its contents, checked by the Parser) into `out`, with
// the pieces that map it to the answer.
void Decode(const Level& level, uint32_t b, uint32_t e, StrippedCode* out) {
  const std::string_view s = level.text;
  uint32_t run = b;
  auto flush = [&](uint32_t upto) {
    if (upto > run) {
      level.AppendPieces(run, upto, static_cast<uint32_t>(out->code.size()), false, &out->pieces);
      out->code.append(s.substr(run, upto - run));
    }
  };
  for (uint32_t i = b; i < e;) {
    if (s[i] != '\\') {
      ++i;
      continue;
    }
    flush(i);
    const uint32_t at = static_cast<uint32_t>(out->code.size());
    uint32_t len = 2;
    const char x = s[i + 1];
    switch (x) {
      case 'n': out->code.push_back('\n'); break;
      case 't': out->code.push_back('\t'); break;
      case 'r': out->code.push_back('\r'); break;
      case 'b': out->code.push_back('\b'); break;
      case 'f': out->code.push_back('\f'); break;
      case 'u': {
        len = 6;
        uint32_t cp = Hex4(s.substr(i + 2, 4));
        if (cp >= 0xD800 && cp < 0xDC00 && i + 12 <= e && s[i + 6] == '\\' && s[i + 7] == 'u') {
          const uint32_t low = Hex4(s.substr(i + 8, 4));
          if (low >= 0xDC00 && low < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            len = 12;
          }
        }
        // A lone surrogate, or NUL (which no answer may hold), reads as U+FFFD.
        if ((cp >= 0xD800 && cp < 0xE000) || cp == 0) cp = 0xFFFD;
        AppendUtf8(cp, &out->code);
        break;
      }
      default: out->code.push_back(x);  // " \ /
    }
    level.AppendPieces(i, i + len, at, true, &out->pieces);
    i += len;
    run = i;
  }
  flush(e);
}

std::string Parser::KeyOf(uint32_t b, uint32_t e) const {
  StrippedCode key;
  Decode(Level{s_}, b, e, &key);
  return std::move(key.code);
}

// A JSON Pointer's reference token (RFC 6901): '~' as "~0", '/' as "~1".
void AppendPointerToken(std::string_view token, std::string* pointer) {
  pointer->push_back('/');
  for (const char c : token) {
    if (c == '~') *pointer += "~0";
    else if (c == '/') *pointer += "~1";
    else pointer->push_back(c);
  }
}

bool HasBlank(std::string_view s) { return s.find_first_of(" \t\n") != std::string_view::npos; }

// Keys whose string holds code, without naming its language.
bool CodeKey(std::string_view k) {
  static constexpr std::array<std::string_view, 9> kKeys{
      "code", "source_code", "sourcecode", "snippet", "code_snippet", "script", "program", "function", "implementation"};
  return std::find(kKeys.begin(), kKeys.end(), k) != kKeys.end();
}

// Keys of an object's member that hold a file's or an edit's text (read as code when the
// object names a language).
bool ContentKey(std::string_view k) {
  static constexpr std::array<std::string_view, 16> kKeys{
      "content",  "contents",   "text",       "file_text", "new_string", "old_string", "new_str",     "old_str",
      "new_text", "old_text",   "new_content", "body",     "source",     "insert_text", "replacement", "patch"};
  return CodeKey(k) || std::find(kKeys.begin(), kKeys.end(), k) != kKeys.end();
}

class Reader {
 public:
  explicit Reader(JsonAnswer* out) : out_(out) {}

  // Value `v` of `level`, at `pointer` in it; `outer`: the pointers of the strings `level` is in.
  void Walk(const Level& level, const Value& v, std::string& pointer, const std::vector<std::string>& outer) {
    if (over_budget_) return;
    const size_t mark = pointer.size();
    if (v.type == Value::kString) {
      AddString(level, v, "", pointer, outer);
      return;
    }
    if (v.type == Value::kArray) {
      for (size_t i = 0; i < v.members.size(); ++i) {
        AppendPointerToken(v.keys[i], &pointer);
        Walk(level, v.members[i], pointer, outer);
        pointer.resize(mark);
      }
      return;
    }
    if (v.type != Value::kObject) return;
    // The language the object names for its text: a member "language" or "lang", or a file
    // name whose extension is a language's.
    std::string tag;
    const Value* named_by = nullptr;
    for (size_t i = 0; i < v.members.size(); ++i) {
      const Value& m = v.members[i];
      if (m.type != Value::kString || m.end - m.begin > 256) continue;
      const std::string_view value = level.text.substr(m.begin, m.end - m.begin);
      const std::string k = Lower(v.keys[i]);
      if (NamesLanguageByName(k)) {
        if (!value.empty() && value.find('\\') == std::string_view::npos) {
          // (A tag as a fence's info word: letters, digits and `+#._-`, or none.)
          tag = Lower(value);
          const bool word = std::all_of(tag.begin(), tag.end(), [](char ch) {
            return std::isalnum(static_cast<unsigned char>(ch)) != 0 || std::string_view("+#._-").find(ch) != std::string_view::npos;
          });
          if (!word) tag.clear();
          named_by = &m;
          break;
        }
      } else if (NamesLanguageByPath(k)) {
        if (const Language* l = LanguageForPath(value); l != nullptr && tag.empty()) {
          tag = l->name;
          named_by = &m;
        }
      }
    }
    for (size_t i = 0; i < v.members.size(); ++i) {
      const Value& m = v.members[i];
      if (&m == named_by) continue;
      AppendPointerToken(v.keys[i], &pointer);
      const std::string k = Lower(v.keys[i]);
      if (m.type != Value::kString) {
        Walk(level, m, pointer, outer);
      } else if (k == "patch" || k == "diff") {
        AddString(level, m, "diff", pointer, outer);  // hunks, with or without file headers
      } else if (!tag.empty() && ContentKey(k)) {
        AddString(level, m, tag, pointer, outer);
      } else if (CodeKey(k)) {
        AddString(level, m, "\x01", pointer, outer);  // a block without a tag
      } else {
        AddString(level, m, "", pointer, outer);
      }
      pointer.resize(mark);
    }
  }

 private:
  // A string: read as JSON when it holds one container, else put in the reading as Markdown
  // (fence "") or as a fenced block (`fence`: its tag, "\x01" for none).
  void AddString(const Level& level, const Value& v, std::string fence, const std::string& pointer,
                 const std::vector<std::string>& outer) {
    if (v.end == v.begin) return;
    auto decoded = std::make_unique<StrippedCode>();
    Decode(level, v.begin, v.end, decoded.get());
    const std::string& s = decoded->code;
    // (Pointers are kept per string: long keys over many strings would hold more than the
    // answer many times over, so past a budget the answer is not read in its strings, and
    // nothing more is copied.)
    if (over_budget_) return;
    pointer_bytes_ += pointer.size();
    for (const std::string& p : outer) pointer_bytes_ += p.size();
    if (pointer_bytes_ > kMaxPointerBytes) {
      over_budget_ = true;
      return;
    }
    std::vector<std::string> place = outer;
    place.push_back(pointer);
    if (static_cast<int>(place.size()) < kMaxJsonNesting) {
      const size_t first = s.find_first_not_of(" \t\r\n");
      if (first != std::string::npos && (s[first] == '{' || s[first] == '[')) {
        Value inner;
        if (Parser(s).Read(&inner)) {
          const Level next{s, decoded.get(), level.escapes + 1};
          std::string inner_pointer;
          Walk(next, inner, inner_pointer, place);
          kept_.push_back(std::move(decoded));
          return;
        }
      }
    }
    if (fence.empty() && !HasBlank(s)) return;  // an id, a name, a value of an enumeration
    // A patch (an apply_patch tool's "input", a "diff" with its file headers) is fenced as one,
    // so its files are read as code (ReadDiff).
    if (OpensAsPatch(s)) fence = "diff";
    FlushVerbatim();
    std::string& r = out_->map.code;
    auto add = [&](std::string_view text) {
      // (Bytes the reading adds map to the string's start: no token is read from them.)
      out_->map.pieces.push_back({static_cast<uint32_t>(r.size()), level.ToAnswer(v.begin, false), 0});
      r.append(text);
    };
    if (!r.empty()) add("\n\n");
    std::string close;
    if (!fence.empty()) {
      // A fence longer than any run of backticks in the code.
      size_t longest = 0;
      for (size_t i = 0, run = 0; i < s.size(); ++i) {
        run = s[i] == '`' ? run + 1 : 0;
        longest = std::max(longest, run);
      }
      close.assign(std::max<size_t>(3, longest + 1), '`');
      add(close + (fence == "\x01" ? std::string() : fence) + "\n");
    }
    const uint32_t at = static_cast<uint32_t>(r.size());
    for (const Piece& p : decoded->pieces) out_->map.pieces.push_back({p.code + at, p.answer, p.reference});
    r.append(s);
    out_->parts.push_back({at, static_cast<uint32_t>(r.size()), level.escapes + 1, std::move(place)});
    if (!fence.empty()) {
      add("\n" + close + "\n");
    } else {
      // A Markdown string that ends inside a fenced block is closed, so the next is not code.
      std::string unclosed;
      SplitMarkdown(s, &unclosed);
      if (!unclosed.empty()) add("\n" + unclosed + "\n");
    }
  }

 public:
  // Bytes [b, e) of the answer as they are: the Markdown around an answer's JSON blocks.
  void AddVerbatim(std::string_view answer, uint32_t b, uint32_t e) {
    if (b >= e) return;
    std::string& r = out_->map.code;
    if (!r.empty()) {
      out_->map.pieces.push_back({static_cast<uint32_t>(r.size()), b, 0});
      r.append("\n\n");
    }
    const uint32_t at = static_cast<uint32_t>(r.size());
    out_->map.pieces.push_back({at, b, 0});
    r.append(answer.substr(b, e - b));
    // (Its last line breaks stay in the reading, outside the part: edits keep them.)
    uint32_t kept = e;
    while (kept > b && (answer[kept - 1] == '\n' || answer[kept - 1] == '\r')) --kept;
    if (kept > b) out_->parts.push_back({at, at + (kept - b), 0, {}});
  }

  // The answer's bytes [b, e) as they are, before the value walked next: put in the reading
  // when a string of the value is (a value with nothing to read leaves the reading as it was, so
  // such values one after another cost no copies).
  void VerbatimBefore(std::string_view answer, uint32_t b, uint32_t e) { verbatim_ = {answer, b, e}; }
  void DropVerbatim() { verbatim_ = {}; }

  bool over_budget() const { return over_budget_; }
  // Keeps a text that values of the reading were read in.
  void Keep(std::unique_ptr<StrippedCode> text) { kept_.push_back(std::move(text)); }

 private:
  static constexpr size_t kMaxPointerBytes = size_t{4} << 20;

 private:
  void FlushVerbatim() {
    const Verbatim v = verbatim_;
    verbatim_ = {};
    AddVerbatim(v.answer, v.b, v.e);
  }
  struct Verbatim {
    std::string_view answer;
    uint32_t b = 0, e = 0;
  };

  JsonAnswer* out_;
  Verbatim verbatim_;
  std::vector<std::unique_ptr<StrippedCode>> kept_;  // the decoded texts nested values are read in
  size_t pointer_bytes_ = 0;
  bool over_budget_ = false;
};

}  // namespace

const JsonAnswer::Part* JsonAnswer::PartAt(uint32_t at) const {
  auto it = std::upper_bound(parts.begin(), parts.end(), at, [](uint32_t v, const Part& p) { return v < p.begin; });
  if (it == parts.begin()) return nullptr;
  --it;
  return at < it->end ? &*it : nullptr;
}

namespace {

// Whether `text` is one JSON object or array, or the start of one (then a line break, perhaps).
bool ParseValue(std::string_view text, Value* root) {
  if (Parser(text).Read(root)) return true;
  // A value cut short, then a line break (a file saved so): read up to the blanks.
  const size_t last = text.find_last_not_of(" \t\r\n");
  if (last == std::string_view::npos || last + 1 == text.size()) return false;
  Parser cut(text.substr(0, last + 1));
  *root = Value();
  return cut.Read(root) && cut.truncated();
}

// Fence tags of JSON.
bool JsonTag(std::string_view tag) { return tag == "json" || tag == "jsonc" || tag == "json5"; }

// Whether a Markdown answer may hold JSON to read: a fence tag naming JSON, or a line (after
// blanks and a quote's `>`) that opens an object with a member or an array with a value (`{"`,
// `[1`, `[{`, across blanks and lines), as every value read outside a ```json block does. Most
// answers hold neither, and are not split for it.
bool MayHoldJson(std::string_view answer) {
  const auto json_at = std::search(answer.begin(), answer.end(), std::begin("json"), std::end("json") - 1,
                                   [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
  if (json_at != answer.end()) return true;
  for (size_t line = 0; line < answer.size();) {
    const size_t at = answer.find_first_not_of(" \t>", line);
    if (at != std::string_view::npos && (answer[at] == '{' || answer[at] == '[')) {
      const size_t next = answer.find_first_not_of(" \t\r\n", at + 1);
      const std::string_view starts = answer[at] == '{' ? "\"" : "\"{[-0123456789tfn";
      if (next != std::string_view::npos && starts.find(answer[next]) != std::string_view::npos) return true;
    }
    const size_t nl = answer.find('\n', line);
    if (nl == std::string_view::npos) break;
    line = nl + 1;
  }
  return false;
}

// The bytes that looking for JSON values outside fences may parse, in all, for an answer of
// `size` bytes: each line that opens an object or array is parsed from there, and a value that
// fails late would make many such lines cost the answer's size each.
size_t UnfencedParseBudget(size_t size) { return 4 * size + (size_t{64} << 10); }

}  // namespace

std::optional<JsonAnswer> ReadJsonAnswer(std::string_view answer) {
  JsonAnswer out;
  Reader reader(&out);
  std::string pointer;
  Value root;
  if (ParseValue(answer, &root)) {
    reader.Walk(Level{answer, nullptr, 0, 0}, root, pointer, {});
    if (out.parts.empty() || reader.over_budget()) return std::nullopt;
    return out;
  }
  // A Markdown answer's JSON values, each read in its strings in its place, the rest as it is:
  // a fenced block tagged as JSON or untagged that holds one (fence lines and all), and one that
  // starts a line outside fences and ends one (a tool call after a sentence).
  if (!MayHoldJson(answer)) return std::nullopt;
  out.whole = false;
  bool any = false;
  bool over_budget = false;
  uint32_t cursor = 0;  // the answer up to here is in the reading
  // Reads `value` (of `level`) in place of the answer's bytes [from, to); false when it holds
  // nothing to read (the bytes then stay as they are).
  auto read_in_place = [&](uint32_t from, uint32_t to, const Level& level, const Value& value,
                           std::unique_ptr<StrippedCode> stripped) {
    const size_t before = out.parts.size();
    reader.VerbatimBefore(answer, cursor, from);
    pointer.clear();
    reader.Walk(level, value, pointer, {});
    if (stripped) reader.Keep(std::move(stripped));
    if (reader.over_budget()) {
      over_budget = true;
      return false;
    }
    if (out.parts.size() == before) {
      reader.DropVerbatim();
      return false;
    }
    any = true;
    cursor = to;
    return true;
  };
  size_t unfenced_parsed = 0;
  const size_t unfenced_budget = UnfencedParseBudget(answer.size());
  const size_t last_non_blank = answer.find_last_not_of(" \t\r\n");
  for (const Segment& seg : SplitMarkdown(answer)) {
    if (seg.end <= cursor) continue;  // inside a value read already
    if (seg.kind == Kind::kCode && !seg.bare) {
      if (seg.html || seg.indented || seg.begin < std::max<uint32_t>(cursor, 2)) continue;
      if (!JsonTag(seg.language) && !seg.language.empty()) continue;
      // A block in a list item or a quote is read without its container's prefix (no JSON
      // string runs over a line, so none holds one).
      std::unique_ptr<StrippedCode> stripped;
      if (!seg.prefix.empty()) stripped = std::make_unique<StrippedCode>(StripContainer(answer, seg));
      const std::string_view block =
          stripped ? std::string_view(stripped->code) : answer.substr(seg.begin, seg.end - seg.begin);
      Value value;
      if (!ParseValue(block, &value)) continue;
      const uint32_t open_line = static_cast<uint32_t>(answer.rfind('\n', seg.begin - 2) + 1);  // (npos + 1 is 0)
      // (The block ends at its closing fence's line, or where its container ends, without one.)
      const size_t close_nl = seg.end < answer.size() ? answer.find('\n', seg.end) : std::string_view::npos;
      const size_t mark = answer.find_first_not_of(" \t>", seg.end);
      const bool fence_line = mark != std::string_view::npos && mark < close_nl &&
                              (answer.compare(mark, 3, "```") == 0 || answer.compare(mark, 3, "~~~") == 0);
      const uint32_t after = !fence_line && seg.end < answer.size() ? seg.end
                             : close_nl == std::string_view::npos  ? static_cast<uint32_t>(answer.size())
                                                                   : static_cast<uint32_t>(close_nl + 1);
      const Level level = stripped ? Level{block, stripped.get(), 0, 0} : Level{block, nullptr, 0, seg.begin};
      read_in_place(open_line, after, level, value, std::move(stripped));
      if (over_budget) return std::nullopt;
      continue;
    }
    // Prose, or bare code: each line that opens an object or array (after blanks) whose value
    // ends a line, with blanks after it, or runs to the answer's end (cut short).
    const uint32_t first = std::max(seg.begin, cursor);
    uint32_t line = first == 0 ? 0 : static_cast<uint32_t>(answer.rfind('\n', first - 1) + 1);
    line = std::max(line, cursor);
    while (line < seg.end && unfenced_parsed < unfenced_budget) {
      const size_t nl = answer.find('\n', line);
      const uint32_t next = nl == std::string_view::npos ? static_cast<uint32_t>(answer.size()) : static_cast<uint32_t>(nl + 1);
      const size_t at = answer.find_first_not_of(" \t", line);
      if (at < next && (answer[at] == '{' || answer[at] == '[')) {
        Parser parser(answer.substr(at));
        Value value;
        bool read = parser.ReadLeading(&value);
        unfenced_parsed += parser.end() + 1;
        size_t value_end = at + parser.end();
        // A value cut short, then a line break (a file saved so): read up to the blanks.
        if (!read && last_non_blank != std::string_view::npos && last_non_blank >= at && last_non_blank + 1 < answer.size()) {
          Parser cut(answer.substr(at, last_non_blank + 1 - at));
          value = Value();
          read = cut.ReadLeading(&value) && cut.truncated();
          unfenced_parsed += cut.end() + 1;
          if (read) parser = cut;
          value_end = at + cut.end();
        }
        uint32_t to = 0;
        if (read && parser.truncated()) {
          to = static_cast<uint32_t>(answer.size());
        } else if (read) {
          const size_t rest = answer.find_first_not_of(" \t\r", value_end);
          if (rest == std::string_view::npos) to = static_cast<uint32_t>(answer.size());
          else if (answer[rest] == '\n') to = static_cast<uint32_t>(rest + 1);
        }
        if (to > 0) {
          const Level level{answer.substr(at, value_end - at), nullptr, 0, static_cast<uint32_t>(at)};
          if (read_in_place(line, to, level, value, nullptr)) {
            line = to;
            continue;
          }
          if (over_budget) return std::nullopt;
        }
      }
      line = next;
    }
  }
  if (!any) return std::nullopt;
  reader.AddVerbatim(answer, cursor, static_cast<uint32_t>(answer.size()));
  return out;
}

std::string ApplyToAnswer(const JsonAnswer& reading, std::string_view answer, std::vector<ReadingEdit> edits) {
  struct AnswerEdit {
    uint32_t begin, end;
    std::string text;
  };
  std::vector<AnswerEdit> out_edits;
  for (ReadingEdit& e : edits) {
    bool first = true;
    for (const JsonAnswer::Part& p : reading.parts) {
      const uint32_t b = std::max(e.begin, p.begin), en = std::min(e.end, p.end);
      if (b >= en) continue;
      std::string text;
      if (first) {
        text = e.text;
        for (int k = 0; k < p.escapes; ++k) {
          std::string quoted;
          AppendJsonString(&quoted, text);
          text = quoted.substr(1, quoted.size() - 2);
        }
      }
      const uint32_t ab = reading.map.ToAnswer(b, false);
      out_edits.push_back({ab, reading.map.ToAnswer(en, true), std::move(text)});
      first = false;
    }
  }
  std::sort(out_edits.begin(), out_edits.end(), [](const AnswerEdit& x, const AnswerEdit& y) { return x.begin < y.begin; });
  // (Edits that overlap would cut into each other's bytes, an escape or a quote: each starts
  // where the one before it ends.)
  // (An edit inside the one before it is in it already: it is dropped, text and all.)
  for (size_t i = 1; i < out_edits.size(); ++i) {
    if (out_edits[i].end <= out_edits[i - 1].end) {
      out_edits[i] = {out_edits[i - 1].end, out_edits[i - 1].end, std::string()};
      continue;
    }
    out_edits[i].begin = std::max(out_edits[i].begin, out_edits[i - 1].end);
  }
  std::string out(answer);
  for (auto it = out_edits.rbegin(); it != out_edits.rend(); ++it) out.replace(it->begin, it->end - it->begin, it->text);
  return out;
}

}  // namespace doppel
