// Tests of the prose tokenizer (doppel/tokenizer.h): normalization, word boundaries, byte spans,
// lines and UTF-8 validation.
#include <xxhash.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "doppel/tokenizer.h"
#include "test_util.h"

using namespace doppel;
using doppel_test::Contains;

namespace {

Tokens Tok(std::string_view text, uint32_t base_offset = 0, uint32_t base_line = 1) {
  static const auto tokenizer = NewTextTokenizer();
  Tokens out;
  const Status s = tokenizer->Tokenize(text, &out, base_offset, base_line);
  INFO("text: " << text << " status: " << s.ToString());
  REQUIRE(s.ok());
  return out;
}

Status TokStatus(std::string_view text, uint32_t base_offset = 0) {
  const auto tokenizer = NewTextTokenizer();
  Tokens out;
  return tokenizer->Tokenize(text, &out, base_offset, 1);
}

uint64_t H(std::string_view normalized) {
  return XXH3_64bits(normalized.data(), normalized.size());
}

std::vector<std::string> Words(std::string_view text, const Tokens& tokens) {
  std::vector<std::string> out;
  for (const auto& t : tokens) out.emplace_back(text.substr(t.begin, t.end - t.begin));
  return out;
}

}  // namespace

TEST_CASE("tokenizer: name is versioned", "[tokenizer]") {
  const auto t = NewTextTokenizer();
  CHECK(t->Name() == "text-v1");
}

TEST_CASE("tokenizer: ASCII words are lower-cased and hashed as xxh3 of the normal form",
          "[tokenizer]") {
  const std::string text = "Hello World FOO bar";
  const Tokens t = Tok(text);
  REQUIRE(t.size() == 4);
  CHECK(t[0].hash == H("hello"));
  CHECK(t[1].hash == H("world"));
  CHECK(t[2].hash == H("foo"));
  CHECK(t[3].hash == H("bar"));
  // The text tokenizer never fills the identifier-name field.
  for (const auto& tok : t) CHECK(tok.name == 0);
}

TEST_CASE("tokenizer: empty and separator-only texts give no tokens", "[tokenizer]") {
  CHECK(Tok("").empty());
  CHECK(Tok("   \n\t ... !!! --- ''' \"\" ").empty());
  CHECK(Tok("\xe2\x80\x94 \xc2\xab \xc2\xbb").empty());  // em dash and guillemets
}

TEST_CASE("tokenizer: output vector is cleared before tokenizing", "[tokenizer]") {
  const auto tokenizer = NewTextTokenizer();
  Tokens out(5, Token{1, 2, 3, 4, 5});
  REQUIRE(tokenizer->Tokenize("one two", &out).ok());
  REQUIRE(out.size() == 2);
  CHECK(out[0].hash == H("one"));
  CHECK(out[1].hash == H("two"));
}

TEST_CASE("tokenizer: full case folding maps Strasse spellings to one token", "[tokenizer]") {
  // utf8proc's UTF8PROC_CASEFOLD is full case folding: U+00DF "ß" folds to "ss", so "Straße",
  // "STRASSE" and "strasse" are all the token "strasse".
  const Tokens a = Tok("Stra\xc3\x9f" "e");
  const Tokens b = Tok("STRASSE");
  const Tokens c = Tok("strasse");
  REQUIRE(a.size() == 1);
  REQUIRE(b.size() == 1);
  REQUIRE(c.size() == 1);
  CHECK(a[0].hash == b[0].hash);
  CHECK(a[0].hash == c[0].hash);
  CHECK(a[0].hash == H("strasse"));
  // Capital sharp s (U+1E9E) folds to "ss" as well.
  const Tokens d = Tok("\xe1\xba\x9e");
  REQUIRE(d.size() == 1);
  CHECK(d[0].hash == H("ss"));
}

TEST_CASE("tokenizer: NFKC maps full-width and ligature forms to plain letters", "[tokenizer]") {
  const Tokens fw = Tok("\xef\xbc\xa6\xef\xbd\x8f\xef\xbd\x8f");  // "Ｆｏｏ"
  REQUIRE(fw.size() == 1);
  CHECK(fw[0].hash == Tok("foo")[0].hash);
  CHECK(fw[0].hash == Tok("FOO")[0].hash);
  CHECK(fw[0].hash == H("foo"));

  const Tokens lig = Tok("\xef\xac\x81le");  // "ﬁle"
  REQUIRE(lig.size() == 1);
  CHECK(lig[0].hash == H("file"));
  CHECK(lig[0].hash == Tok("FILE")[0].hash);
}

TEST_CASE("tokenizer: composed and decomposed accents give the same token", "[tokenizer]") {
  const Tokens composed = Tok("caf\xc3\xa9");        // é as U+00E9
  const Tokens decomposed = Tok("cafe\xcc\x81");     // e + U+0301
  REQUIRE(composed.size() == 1);
  REQUIRE(decomposed.size() == 1);
  CHECK(composed[0].hash == decomposed[0].hash);
  CHECK(composed[0].hash == H("caf\xc3\xa9"));
  // The span covers every byte of the decomposed form, including the combining mark.
  CHECK(decomposed[0].end == 6);
}

TEST_CASE("tokenizer: apostrophe between letters stays inside the word", "[tokenizer]") {
  const std::string text = "don't dont";
  const Tokens t = Tok(text);
  REQUIRE(t.size() == 2);
  CHECK(t[0].hash == t[1].hash);
  CHECK(t[0].hash == H("dont"));
  CHECK(Words(text, t)[0] == "don't");  // the span keeps the apostrophe

  // The typographic apostrophe U+2019 behaves the same.
  const Tokens curly = Tok("don\xe2\x80\x99t");
  REQUIRE(curly.size() == 1);
  CHECK(curly[0].hash == H("dont"));
  CHECK(curly[0].end == 7);

  // Apostrophe followed by a non-ASCII letter.
  const Tokens fr = Tok("l'\xc3\xa9t\xc3\xa9");
  REQUIRE(fr.size() == 1);
  CHECK(fr[0].hash == H("l\xc3\xa9t\xc3\xa9"));
}

TEST_CASE("tokenizer: rock 'n' roll splits where apostrophes do not join letters",
          "[tokenizer]") {
  const std::string text = "rock 'n' roll";
  const Tokens t = Tok(text);
  REQUIRE(t.size() == 3);
  CHECK(Words(text, t) == std::vector<std::string>{"rock", "n", "roll"});
  CHECK(t[1].hash == H("n"));
  // Leading, trailing and doubled apostrophes, and apostrophes after digits, split.
  const std::string more = "'tis ends' a''b 80's";
  CHECK(Words(more, Tok(more)) == std::vector<std::string>{"tis", "ends", "a", "b", "80", "s"});
}

TEST_CASE("tokenizer: punctuation is dropped and digits are kept", "[tokenizer]") {
  const std::string text = "Hello, world! (v2.0) -- 42; e-mail: a_b #tag $5 50%";
  const Tokens t = Tok(text);
  CHECK(Words(text, t) == std::vector<std::string>{"Hello", "world", "v2", "0", "42", "e", "mail",
                                                   "a", "b", "tag", "5", "50"});
  CHECK(t[2].hash == H("v2"));
  CHECK(t[4].hash == H("42"));
}

TEST_CASE("tokenizer: each Han and kana character is one token", "[tokenizer]") {
  const std::string text = "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82\xad"
                           "\xe3\x82\xb9\xe3\x83\x88";  // 日本語のテキスト
  const Tokens t = Tok(text);
  REQUIRE(t.size() == 8);
  for (size_t i = 0; i < t.size(); ++i) {
    CHECK(t[i].begin == 3 * i);
    CHECK(t[i].end == 3 * i + 3);
    CHECK(t[i].hash == H(text.substr(3 * i, 3)));
  }
}

TEST_CASE("tokenizer: a kana voicing mark joins the character before it", "[tokenizer]") {
  // か + combining voiced sound mark U+3099 is canonically equivalent to が.
  const Tokens combined = Tok("\xe3\x81\x8b\xe3\x82\x99");
  const Tokens precomposed = Tok("\xe3\x81\x8c");
  REQUIRE(combined.size() == 1);
  REQUIRE(precomposed.size() == 1);
  CHECK(combined[0].hash == precomposed[0].hash);
  CHECK(combined[0].begin == 0);
  CHECK(combined[0].end == 6);
  // Half-width katakana with a half-width voicing mark is NFKC-equal to the full-width form.
  const Tokens half = Tok("\xef\xbd\xb6\xef\xbe\x9e");  // ｶﾞ
  const Tokens full = Tok("\xe3\x82\xac");              // ガ
  REQUIRE(half.size() == 1);
  REQUIRE(full.size() == 1);
  CHECK(half[0].hash == full[0].hash);
}

TEST_CASE("tokenizer: mixed scripts split at script and punctuation boundaries", "[tokenizer]") {
  // Cyrillic, Latin, Greek, Han immediately followed by Latin, and Hangul (a letter script with
  // spaces: whole words).
  const std::string text =
      "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82, hello! \xce\x9a\xce\xb1\xce\xbb\xce\xb7"
      "\xce\xbc\xce\xad\xcf\x81\xce\xb1 \xe6\x9d\xb1\xe4\xba\xacTokyo \xed\x95\x9c\xea\xb5\xad\xec"
      "\x96\xb4";
  const Tokens t = Tok(text);
  REQUIRE(t.size() == 7);
  CHECK(t[0].hash == H("\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"));  // привет
  CHECK(t[1].hash == H("hello"));
  CHECK(t[2].hash == H("\xce\xba\xce\xb1\xce\xbb\xce\xb7\xce\xbc\xce\xad\xcf\x81\xce\xb1"));
  CHECK(t[3].hash == H("\xe6\x9d\xb1"));  // 東
  CHECK(t[4].hash == H("\xe4\xba\xac"));  // 京
  CHECK(t[5].hash == H("tokyo"));
  CHECK(t[6].hash == H("\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4"));  // 한국어, one word
  const auto words = Words(text, t);
  CHECK(words[5] == "Tokyo");
}

TEST_CASE("tokenizer: byte spans index the original text exactly", "[tokenizer]") {
  const std::string text = "  Hello, W\xc3\xb6rld!\n\xef\xbc\xa6\xef\xbd\x8f\xef\xbd\x8f don't  \xe6\x97\xa5x";
  const Tokens t = Tok(text);
  const auto words = Words(text, t);
  REQUIRE(words.size() == 6);
  CHECK(words[0] == "Hello");
  CHECK(t[0].begin == 2);
  CHECK(t[0].end == 7);
  CHECK(text.substr(t[0].begin, t[0].end - t[0].begin) == "Hello");
  CHECK(words[1] == "W\xc3\xb6rld");
  CHECK(words[2] == "\xef\xbc\xa6\xef\xbd\x8f\xef\xbd\x8f");
  CHECK(words[3] == "don't");
  CHECK(words[4] == "\xe6\x97\xa5");
  CHECK(words[5] == "x");
  // Spans are ordered, non-overlapping and never cut a UTF-8 sequence.
  for (size_t i = 0; i < t.size(); ++i) {
    CHECK(t[i].begin < t[i].end);
    CHECK(t[i].end <= text.size());
    if (i > 0) CHECK(t[i - 1].end <= t[i].begin);
    CHECK((static_cast<unsigned char>(text[t[i].begin]) & 0xC0) != 0x80);
    if (t[i].end < text.size()) CHECK((static_cast<unsigned char>(text[t[i].end]) & 0xC0) != 0x80);
  }
}

TEST_CASE("tokenizer: lines are 1-based and advance on each newline", "[tokenizer]") {
  const std::string text = "one two\nthree\n\n\nfour\r\nfive\n";
  const Tokens t = Tok(text);
  REQUIRE(t.size() == 5);
  CHECK(t[0].line == 1);
  CHECK(t[1].line == 1);
  CHECK(t[2].line == 2);
  CHECK(t[3].line == 5);
  CHECK(t[4].line == 6);  // "\r\n" counts once
  // Lines end at "\n" only, as the scan's excerpts and line counts read them (and git does):
  // U+2028 and U+2029 separate words but start no line.
  const Tokens sep = Tok("one\xE2\x80\xA8two\xE2\x80\xA9three\nfour");
  REQUIRE(sep.size() == 4);
  CHECK(sep[1].line == 1);
  CHECK(sep[2].line == 1);
  CHECK(sep[3].line == 2);
  // A token's line is the line of its first byte.
  for (const auto& tok : t) {
    const auto newlines = std::count(text.begin(), text.begin() + tok.begin, '\n');
    CHECK(tok.line == static_cast<uint32_t>(newlines + 1));
  }
}

TEST_CASE("tokenizer: base_offset and base_line shift spans and lines", "[tokenizer]") {
  const std::string text = "alpha beta\ngamma \xc3\xa9t\xc3\xa9";
  const Tokens plain = Tok(text);
  const Tokens shifted = Tok(text, 1000, 41);
  REQUIRE(plain.size() == 4);
  REQUIRE(shifted.size() == plain.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    CHECK(shifted[i].hash == plain[i].hash);
    CHECK(shifted[i].begin == plain[i].begin + 1000);
    CHECK(shifted[i].end == plain[i].end + 1000);
    CHECK(shifted[i].line == plain[i].line + 40);
  }
  CHECK(shifted[0].line == 41);
  CHECK(shifted[2].line == 42);
}

TEST_CASE("tokenizer: invalid UTF-8 is InvalidArgument naming the byte offset", "[tokenizer]") {
  struct Case {
    const char* what;
    std::string text;
  };
  const std::vector<Case> cases = {
      {"lone continuation byte", std::string("Hello\x80world")},
      {"truncated 3-byte sequence at the end", std::string("Hello\xe6\x97")},
      {"overlong encoding of '/'", std::string("Hello\xc0\xaf")},
      {"UTF-16 surrogate", std::string("Hello\xed\xa0\x80 there")},
      {"byte 0xFF", std::string("Hello\xff")},
      {"code point above U+10FFFF", std::string("Hello\xf4\x90\x80\x80")},
      {"lead byte followed by ASCII", std::string("Hello\xc3(")},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const Status s = TokStatus(c.text);
    CHECK(s.code() == Status::Code::kInvalidArgument);
    CHECK(Contains(s.message(), "byte offset 5"));
    const Status v = ValidateUtf8(c.text);
    CHECK(v.code() == Status::Code::kInvalidArgument);
    CHECK(Contains(v.message(), "byte offset 5"));
  }
  // After a valid multi-byte character the offset still counts bytes, not characters.
  const Status s = TokStatus("\xc3\xa9\xe6\x97\xa5 \x80");
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(Contains(s.message(), "byte offset 6"));
}

TEST_CASE("tokenizer: invalid UTF-8 offset includes base_offset", "[tokenizer]") {
  const Status s = TokStatus("ab\x80", 100);
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(Contains(s.message(), "byte offset 102"));
}

TEST_CASE("tokenizer: ValidateUtf8 accepts valid text and finds the first bad byte",
          "[tokenizer]") {
  CHECK(ValidateUtf8("").ok());
  CHECK(ValidateUtf8("plain ASCII text that is longer than eight bytes").ok());
  CHECK(ValidateUtf8("\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80 \xef\xbb\xbf").ok());  // é 日 😀 BOM
  // Past the 8-byte ASCII fast path, and only the first bad byte is named.
  const Status s = ValidateUtf8("0123456789abcd\xc0\xaf and later \xff");
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(Contains(s.message(), "byte offset 14"));
  CHECK_FALSE(Contains(s.message(), "byte offset 26"));
  // Truncation at every length of a 4-byte sequence.
  const std::string emoji = "\xf0\x9f\x98\x80";
  for (size_t cut = 1; cut < emoji.size(); ++cut) {
    const Status t = ValidateUtf8("abc" + emoji.substr(0, cut));
    CHECK(t.code() == Status::Code::kInvalidArgument);
    CHECK(Contains(t.message(), "byte offset 3"));
  }
}

TEST_CASE("tokenizer: a word longer than the ASCII buffer hashes like a short one",
          "[tokenizer]") {
  // Words over 256 bytes leave the ASCII fast path; the token must not change.
  const std::string upper(300, 'A');
  const std::string lower(300, 'a');
  const Tokens t = Tok(upper + " " + lower);
  REQUIRE(t.size() == 2);
  CHECK(t[0].hash == H(lower));
  CHECK(t[1].hash == H(lower));
  CHECK(t[0].end == 300);
  // With an apostrophe inside the long word.
  const std::string with_apos = std::string(200, 'b') + "'" + std::string(100, 'C');
  const Tokens a = Tok(with_apos);
  REQUIRE(a.size() == 1);
  CHECK(a[0].hash == H(std::string(200, 'b') + std::string(100, 'c')));
}

TEST_CASE("tokenizer: data-driven normalization cases", "[tokenizer]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(DOPPEL_TEST_DATA) / "text_normalization";
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".txt") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 8);
  for (const auto& f : files) {
    INFO("case file " << f.filename().string());
    const std::string contents = doppel_test::ReadFile(f.string());
    const size_t sep = contents.find("\n---\n");
    REQUIRE(sep != std::string::npos);
    const std::string input = contents.substr(0, sep);
    const auto expected = doppel_test::Lines(contents.substr(sep + 5));
    REQUIRE_FALSE(expected.empty());
    const Tokens t = Tok(input);
    std::vector<std::string> got_words = Words(input, t);
    INFO("input: " << input);
    REQUIRE(t.size() == expected.size());
    for (size_t i = 0; i < t.size(); ++i) {
      INFO("token " << i << ": '" << got_words[i] << "' expected '" << expected[i] << "'");
      CHECK(t[i].hash == H(expected[i]));
    }
  }
}

TEST_CASE("tokenizer: random ASCII matches a reference split on letters and digits",
          "[tokenizer][property]") {
  struct Ref {
    std::string norm;
    uint32_t begin, end, line;
  };
  auto reference = [](const std::string& s) {
    auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
    auto alnum = [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); };
    std::vector<Ref> out;
    uint32_t line = 1;
    size_t i = 0;
    while (i < s.size()) {
      if (!alnum(s[i])) {
        if (s[i] == '\n') ++line;
        ++i;
        continue;
      }
      Ref r{"", static_cast<uint32_t>(i), 0, line};
      bool last_letter = false;
      while (i < s.size()) {
        const char c = s[i];
        if (alnum(c)) {
          r.norm += static_cast<char>((c >= 'A' && c <= 'Z') ? c + 32 : c);
          last_letter = alpha(c);
          ++i;
        } else if (c == '\'' && last_letter && i + 1 < s.size() && alpha(s[i + 1])) {
          ++i;
        } else {
          break;
        }
      }
      r.end = static_cast<uint32_t>(i);
      out.push_back(r);
    }
    return out;
  };

  static const std::string kAlphabet =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789''''     \n\n.,;:!?-_()\"\t";
  std::mt19937_64 rng(20240531);
  for (int iter = 0; iter < 200; ++iter) {
    const size_t len = rng() % 120;
    std::string s;
    for (size_t i = 0; i < len; ++i) s += kAlphabet[rng() % kAlphabet.size()];
    INFO("input #" << iter << ": [" << s << "]");
    const Tokens t = Tok(s);
    const auto ref = reference(s);
    REQUIRE(t.size() == ref.size());
    for (size_t i = 0; i < t.size(); ++i) {
      INFO("token " << i << " '" << ref[i].norm << "'");
      CHECK(t[i].hash == H(ref[i].norm));
      CHECK(t[i].begin == ref[i].begin);
      CHECK(t[i].end == ref[i].end);
      CHECK(t[i].line == ref[i].line);
    }
  }
}

// Canonically equivalent texts must give the same tokens (tokenizer.h: NFKC normalization,
// apostrophe between two letters joins). The composed "é" is a letter, but in the decomposed
// form the last code point before the apostrophe is the combining mark U+0301, which the
// tokenizer does not treat as a letter, so the word splits in two.
TEST_CASE("tokenizer: apostrophe after a decomposed accent joins like after a composed one",
          "[tokenizer]") {
  const Tokens composed = Tok("caf\xc3\xa9's");
  const Tokens decomposed = Tok("cafe\xcc\x81's");
  REQUIRE(composed.size() == 1);
  CHECK(decomposed.size() == composed.size());
  if (decomposed.size() == composed.size()) CHECK(decomposed[0].hash == composed[0].hash);
}

TEST_CASE("tokenizer: offsets that do not fit in 32 bits are ResourceExhausted",
          "[tokenizer]") {
  const auto tokenizer = NewTextTokenizer();
  Tokens out;
  const uint32_t near_end = UINT32_MAX - 10;
  REQUIRE(tokenizer->Tokenize("abc", &out, near_end).ok());
  REQUIRE(out.size() == 1);
  CHECK(out[0].begin == near_end);
  CHECK(out[0].end == near_end + 3);
  const Status s = tokenizer->Tokenize("abcdefghijklmnop", &out, near_end);
  CHECK(s.code() == Status::Code::kResourceExhausted);
}
