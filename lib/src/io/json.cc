#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <vector>

#include <simdjson.h>

#include "doppel/format.h"

namespace doppel {

size_t Utf8CharLength(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // past U+10FFFF
  } else {
    return 0;
  }
  if (i + len > s.size() || b(1) < lo || b(1) > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
  }
  return len;
}

std::string ForTerminal(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    // (U+0080-U+009F are C2 80-C2 9F in UTF-8: 8-bit controls, CSI among them.)
    const bool c1 = c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(s[i + 1]) <= 0x9F;
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F || c1) {
      const unsigned v = c1 ? static_cast<unsigned char>(s[++i]) : c;
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02X", v);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

void AppendBase64(std::string* out, std::string_view s) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < s.size(); i += 3) {
    const size_t n = std::min<size_t>(3, s.size() - i);
    uint32_t v = 0;
    for (size_t k = 0; k < 3; ++k) v = v << 8 | (k < n ? static_cast<unsigned char>(s[i + k]) : 0u);
    for (size_t k = 0; k < 4; ++k) out->push_back(k <= n ? kAlphabet[(v >> (18 - 6 * k)) & 63] : '=');
  }
}

void AppendJsonString(std::string* out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (size_t i = 0; i < s.size(); ++i) {
    const char ch = s[i];
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x80) {
      const size_t len = Utf8CharLength(s, i);
      if (len == 0) {
        *out += "\xEF\xBF\xBD";  // U+FFFD for a byte that is not part of valid UTF-8
      } else {
        out->append(s.substr(i, len));
        i += len - 1;
      }
      continue;
    }
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      default:
        if (c < 0x20) {
          *out += "\\u00";
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 15]);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

void AppendJsonNumber(std::string* out, double v) {
  if (!std::isfinite(v)) {
    *out += "0";
    return;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4f", v);
  // Trim trailing zeros for readability: 0.5000 → 0.5, 1.0000 → 1.
  std::string_view b(buf);
  if (b.find('.') != std::string_view::npos) {
    while (b.back() == '0') b.remove_suffix(1);
    if (b.back() == '.') b.remove_suffix(1);
  }
  *out += b;
}

namespace {

// A JSON reader that only finds the first place where `json` breaks RFC 8259's grammar and
// says what was expected there (error paths only; simdjson parses the valid inputs).
class SyntaxFinder {
 public:
  explicit SyntaxFinder(std::string_view s) : s_(s) {}

  // The first error, or an empty string when the grammar holds. Iterative: nesting costs a
  // byte of `open`, not a stack frame, however deep the input.
  std::string Find() {
    std::vector<char> open;  // '{' or '[' of each enclosing container
    SkipSpace();
    for (;;) {
      // A value is expected here.
      const int c = Peek();
      if (c == '{' || c == '[') {
        const size_t opened_at = i_++;
        SkipSpace();
        if (Peek() != (c == '{' ? '}' : ']')) {
          open.push_back(static_cast<char>(c));
          if (open.size() > simdjson::DEFAULT_MAX_DEPTH && too_deep_at_ == std::string_view::npos) {
            too_deep_at_ = opened_at;
          }
          if (c == '{' && !Key()) return error_;
          continue;
        }
        ++i_;  // an empty container
      } else if (!Scalar()) {
        return error_;
      }
      // A value ended: close containers, or go on after a comma.
      for (;;) {
        SkipSpace();
        if (open.empty()) {
          if (i_ < s_.size()) Fail("the end of the input after the JSON value");
          return error_;
        }
        const bool object = open.back() == '{';
        if (Peek() == (object ? '}' : ']')) {
          ++i_;
          open.pop_back();
          continue;
        }
        if (Peek() != ',') {
          Fail(object ? "',' or '}'" : "',' or ']'");
          return error_;
        }
        ++i_;
        SkipSpace();
        if (object && !Key()) return error_;
        break;
      }
    }
  }

 private:
  int Peek() const { return i_ < s_.size() ? static_cast<unsigned char>(s_[i_]) : -1; }
  void SkipSpace() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }

  // Records what was expected where the reading stopped; false, for the readers to return.
  bool Fail(std::string_view expected, std::string found = "") {
    const int c = Peek();
    if (!found.empty()) {
    } else if (c < 0) {
      found = "the end of the input";
    } else if (c >= 0x20 && c < 0x7F) {
      found = c == '\'' ? std::string("\"'\"") : "'" + std::string(1, static_cast<char>(c)) + "'";
    } else {
      static const char kHex[] = "0123456789ABCDEF";
      found = std::string("byte 0x") + kHex[c >> 4] + kHex[c & 15];
    }
    error_ = "at byte " + std::to_string(i_);
    if (s_.substr(0, i_).find('\n') != std::string_view::npos) {
      const size_t line_start = s_.rfind('\n', i_ - 1) + 1;
      const size_t line = 1 + static_cast<size_t>(std::count(s_.begin(), s_.begin() + i_, '\n'));
      error_ += " (line " + std::to_string(line) + ", column " + std::to_string(i_ - line_start + 1) + ")";
    }
    error_ += ": expected " + std::string(expected) + ", found " + found;
    return false;
  }

  // An object member's key after '{' or ',': "key" then ':'.
  bool Key() {
    if (Peek() != '"') return Fail("a string key in double quotes");
    if (!String()) return false;
    SkipSpace();
    if (Peek() != ':') return Fail("':' after the key");
    ++i_;
    SkipSpace();
    return true;
  }

  // A value that is not a container.
  bool Scalar() {
    const int c = Peek();
    if (c == '"') return String();
    if (c == '-' || (c >= '0' && c <= '9')) return Number();
    for (std::string_view word : {"true", "false", "null"}) {
      if (c != word[0]) continue;
      for (const char w : word) {
        if (Peek() != static_cast<unsigned char>(w)) return Fail("\"" + std::string(word) + "\"");
        ++i_;
      }
      return true;
    }
    return Fail("a JSON value");
  }

  bool String() {
    ++i_;  // the opening quote
    for (;;) {
      const int c = Peek();
      if (c < 0) return Fail("the closing '\"' of a string");
      if (c == '"') {
        ++i_;
        return true;
      }
      if (c < 0x20) return Fail("a character escaped in a string (control characters must be)");
      if (c != '\\') {
        ++i_;
        continue;
      }
      ++i_;
      const int e = Peek();
      if (e < 0 || std::string_view("\"\\/bfnrtu").find(static_cast<char>(e)) == std::string_view::npos) {
        return Fail("an escape: one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX");
      }
      ++i_;
      if (e != 'u') continue;
      const size_t at = i_ - 2;
      uint32_t u = 0;
      if (!Hex4(&u)) return false;
      if (u >= 0xDC00 && u <= 0xDFFF) {
        i_ = at;
        return Fail("no lone surrogate (a \\uDC00-\\uDFFF escape without a high one before it)");
      }
      if (u >= 0xD800 && u <= 0xDBFF) {
        constexpr std::string_view kLowHalf =
            "the low half of a surrogate pair (a \\uDC00-\\uDFFF escape: a lone surrogate is no character)";
        uint32_t low = 0;
        if (Peek() != '\\' || i_ + 1 >= s_.size() || s_[i_ + 1] != 'u') {
          return Fail(kLowHalf);
        }
        i_ += 2;
        if (!Hex4(&low)) return false;
        if (low < 0xDC00 || low > 0xDFFF) {
          i_ -= 6;
          return Fail(kLowHalf);
        }
      }
    }
  }

  bool Hex4(uint32_t* u) {
    for (int k = 0; k < 4; ++k) {
      const int h = Peek();
      int v = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
      if (v < 0) return Fail("four hex digits after \\u");
      *u = *u << 4 | static_cast<uint32_t>(v);
      ++i_;
    }
    return true;
  }

  bool Number() {
    const size_t start = i_;
    const auto digits = [&] {
      const size_t from = i_;
      while (Peek() >= '0' && Peek() <= '9') ++i_;
      return i_ > from;
    };
    if (Peek() == '-') ++i_;
    if (Peek() == '0') {
      ++i_;
    } else if (!digits()) {
      return Fail("a digit");
    }
    if (Peek() == '.') {
      ++i_;
      if (!digits()) return Fail("a digit after the decimal point");
    }
    if (Peek() == 'e' || Peek() == 'E') {
      ++i_;
      if (Peek() == '+' || Peek() == '-') ++i_;
      if (!digits()) return Fail("a digit in the exponent");
    }
    // Well formed, but held by neither a 64-bit integer nor a double (the parser refuses it).
    const std::string number(s_.substr(start, i_ - start));
    bool held = true;
    if (number.find_first_of(".eE") == std::string::npos) {
      held = true;  // (an integer past 64 bits is read as a string of its digits: ParseJson)
    } else {
      // Locale-independent. Out of range is an overflow only when the number is large: one
      // too small for a double (1e-400) reads as 0, which holds.
      double d = 0;
      const auto r = std::from_chars(number.data(), number.data() + number.size(), d);
      held = r.ec == std::errc() || (r.ec == std::errc::result_out_of_range && !Large(number));
    }
    if (!held) {
      i_ = start;
      return Fail("a number that a 64-bit integer or a double can hold", number.size() > 40 ? number.substr(0, 40) + "..." : number);
    }
    return true;
  }

  // Whether a well-formed number's magnitude is at least 1: its first nonzero digit's decimal
  // place plus its exponent is positive.
  static bool Large(std::string_view number) {
    const size_t e = number.find_first_of("eE");
    const std::string_view mantissa = number.substr(0, e);
    const size_t point = std::min(mantissa.find('.'), mantissa.size());
    const size_t first = mantissa.find_first_of("123456789");
    if (first == std::string_view::npos) return false;  // zero
    // Places of the first nonzero digit: 1 for 1.5 and 15, 0 for 0.5, -1 for 0.05.
    long long place = first < point ? static_cast<long long>(point - first) : -static_cast<long long>(first - point - 1);
    if (e == std::string_view::npos) return place > 0;
    std::string_view exp = number.substr(e + 1);
    const bool negative = !exp.empty() && exp[0] == '-';
    if (!exp.empty() && (exp[0] == '-' || exp[0] == '+')) exp.remove_prefix(1);
    long long x = 0;
    // An exponent beyond any number's digits decides alone (and the sum below cannot overflow).
    const auto r = std::from_chars(exp.data(), exp.data() + exp.size(), x);
    if (r.ec != std::errc() || x > (1LL << 52)) return !negative;
    return place + (negative ? -x : x) > 0;
  }

  std::string_view s_;
  size_t i_ = 0;
  std::string error_;

 public:
  // Where the first container nested deeper than the parsers read (simdjson's
  // DEFAULT_MAX_DEPTH) opens, in input Find read as valid; npos when none does.
  size_t too_deep_at() const { return too_deep_at_; }

 private:
  size_t too_deep_at_ = std::string_view::npos;
};

}  // namespace

void AppendHtml(std::string* out, std::string_view s) {
  size_t run = 0;  // the first byte not appended yet: runs without a change are appended whole
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const char* replace = c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : c == '"' ? "&quot;" : nullptr;
    size_t len = 1;
    if (c >= 0x80 && (len = Utf8CharLength(s, i)) == 0) {
      replace = "\xEF\xBF\xBD";
      len = 1;
    }
    if (replace != nullptr) {
      out->append(s, run, i - run);
      *out += replace;
      run = i + len;
    }
    i += len;
  }
  out->append(s, run, s.size() - run);
}

std::string JsonSyntaxError(std::string_view json) { return SyntaxFinder(json).Find(); }

std::string DescribeJsonError(std::string_view json, std::string_view parser_message) {
  SyntaxFinder finder(json);
  std::string place = finder.Find();
  if (place.empty() && finder.too_deep_at() != std::string_view::npos) {
    // Valid JSON the parser refused for its depth: where the nesting passes the limit.
    return "at byte " + std::to_string(finder.too_deep_at()) + ": objects and arrays nested more than " +
           std::to_string(simdjson::DEFAULT_MAX_DEPTH) + " deep, deeper than the JSON reader goes";
  }
  return place.empty() ? std::string(parser_message) : place;
}

}  // namespace doppel
