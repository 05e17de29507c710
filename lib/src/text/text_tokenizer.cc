// The prose tokenizer (see doppel/tokenizer.h for the normalization it implements).
//
// One pass over the bytes. ASCII bytes are classified through a 256-entry table and lower-cased
// into a small buffer; a word made only of ASCII is hashed from that buffer directly (NFKC and
// case folding of ASCII are the identity and lower-casing, so the fast path and the Unicode path
// give the same token). A word that contains any non-ASCII code point is normalized as a whole
// with utf8proc (NFKC + case fold), because composition can cross code-point boundaries.
#include <utf8proc.h>
#include <xxhash.h>

#include <array>
#include <cstring>
#include <limits>
#include <string>

#include "doppel/tokenizer.h"

namespace doppel {
namespace {

enum AsciiClass : uint8_t { kSep = 0, kAlpha = 1, kDigit = 2, kApos = 3, kNewline = 4, kHigh = 5 };

constexpr std::array<uint8_t, 256> MakeClassTable() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    uint8_t k = kSep;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) k = kAlpha;
    else if (c >= '0' && c <= '9') k = kDigit;
    else if (c == '\'') k = kApos;
    else if (c == '\n') k = kNewline;
    else if (c >= 0x80) k = kHigh;
    t[c] = k;
  }
  return t;
}
constexpr std::array<uint8_t, 256> kClass = MakeClassTable();

inline char Lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? char(c + 32) : char(c); }

// Scripts written without spaces between words: every character is one token.
bool IsIdeographic(int32_t cp) {
  return (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x20000 && cp <= 0x3FFFF) ||
         (cp >= 0x3040 && cp <= 0x30FF && cp != 0x3099 && cp != 0x309A && cp != 0x309B &&
          cp != 0x309C) ||
         (cp >= 0x31F0 && cp <= 0x31FF) || (cp >= 0xFF66 && cp <= 0xFF9D) || cp == 0x3005;
}

// Kana voicing marks that belong to the character before them.
bool IsKanaMark(int32_t cp) {
  return cp == 0x3099 || cp == 0x309A || cp == 0x309B || cp == 0x309C || cp == 0xFF9E ||
         cp == 0xFF9F;
}

enum class CpClass { kSep, kLetter, kDigit, kMark, kApostrophe };

CpClass Classify(int32_t cp) {
  if (cp == 0x2019) return CpClass::kApostrophe;
  switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
      return CpClass::kLetter;
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
      return CpClass::kMark;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return CpClass::kDigit;
    default:
      return CpClass::kSep;
  }
}

Status BadUtf8(size_t offset) {
  return Status::InvalidArgument("invalid UTF-8 at byte offset " + std::to_string(offset));
}

class TextTokenizer final : public Tokenizer {
 public:
  std::string_view Name() const override { return kName; }
  Status Tokenize(std::string_view text, Tokens* out, uint32_t base_offset,
                  uint32_t base_line) const override;

  // Versioned: bump when any input would tokenize differently. The Unicode version of utf8proc
  // is recorded separately in the manifest.
  static constexpr std::string_view kName = "text-v1";
};

// Hashes the normalized form of the non-ASCII word text[b, e): apostrophes dropped, then NFKC and
// case folding.
Status HashUnicodeWord(std::string_view text, size_t b, size_t e, std::string* scratch,
                       uint64_t* hash) {
  scratch->clear();
  size_t i = b;
  while (i < e) {
    int32_t cp;
    auto n = utf8proc_iterate(reinterpret_cast<const uint8_t*>(text.data() + i),
                              static_cast<utf8proc_ssize_t>(e - i), &cp);
    if (n <= 0) return BadUtf8(i);
    if (cp != '\'' && cp != 0x2019) scratch->append(text.data() + i, static_cast<size_t>(n));
    i += static_cast<size_t>(n);
  }
  uint8_t* mapped = nullptr;
  auto len = utf8proc_map(reinterpret_cast<const uint8_t*>(scratch->data()),
                          static_cast<utf8proc_ssize_t>(scratch->size()), &mapped,
                          static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                                                         UTF8PROC_COMPAT | UTF8PROC_CASEFOLD));
  if (len < 0) {
    free(mapped);
    return BadUtf8(b);
  }
  *hash = XXH3_64bits(mapped, static_cast<size_t>(len));
  free(mapped);
  return Status::OK();
}

Status TextTokenizer::Tokenize(std::string_view text, Tokens* out, uint32_t base_offset,
                               uint32_t base_line) const {
  out->clear();
  if (text.size() + base_offset >= std::numeric_limits<uint32_t>::max()) {
    return Status::ResourceExhausted("text of " + std::to_string(text.size()) +
                                     " bytes exceeds the 4 GiB limit of one document");
  }
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  out->reserve(n / 6 + 4);

  char ascii_buf[256];
  std::string scratch;
  uint32_t line = base_line;

  size_t word_begin = 0, word_end = 0;  // current word text[word_begin, word_end)
  uint32_t word_line = 0;
  bool in_word = false;
  bool word_ascii = true;
  size_t ascii_len = 0;
  bool last_was_letter = false;  // last code point of the current word is a letter

  auto finish_word = [&]() -> Status {
    if (!in_word) return Status::OK();
    in_word = false;
    uint64_t h;
    if (word_ascii && ascii_len <= sizeof(ascii_buf)) {
      h = XXH3_64bits(ascii_buf, ascii_len);
    } else {
      DOPPEL_RETURN_IF_ERROR(HashUnicodeWord(text, word_begin, word_end, &scratch, &h));
    }
    out->push_back(Token{h, 0, static_cast<uint32_t>(word_begin + base_offset),
                         static_cast<uint32_t>(word_end + base_offset), word_line});
    return Status::OK();
  };
  auto start_word = [&](size_t at) {
    in_word = true;
    word_begin = at;
    word_line = line;
    word_ascii = true;
    ascii_len = 0;
  };

  size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    const uint8_t cls = kClass[c];
    if (cls == kAlpha || cls == kDigit) {
      if (!in_word) start_word(i);
      if (ascii_len < sizeof(ascii_buf)) ascii_buf[ascii_len] = Lower(c);
      ++ascii_len;
      last_was_letter = (cls == kAlpha);
      word_end = ++i;
      continue;
    }
    if (cls != kHigh) {
      // ASCII separator, newline or apostrophe.
      if (cls == kApos && in_word && last_was_letter && i + 1 < n) {
        // Keep "don't" together when a letter follows.
        const unsigned char next = s[i + 1];
        bool letter_follows = kClass[next] == kAlpha;
        if (!letter_follows && next >= 0x80) {
          int32_t cp;
          auto m = utf8proc_iterate(s + i + 1, static_cast<utf8proc_ssize_t>(n - i - 1), &cp);
          letter_follows = m > 0 && Classify(cp) == CpClass::kLetter;
        }
        if (letter_follows) {
          ++i;  // dropped from the normalized form, kept inside the byte span
          continue;
        }
      }
      DOPPEL_RETURN_IF_ERROR(finish_word());
      if (cls == kNewline) ++line;
      ++i;
      continue;
    }
    // Non-ASCII code point.
    int32_t cp;
    auto len = utf8proc_iterate(s + i, static_cast<utf8proc_ssize_t>(n - i), &cp);
    if (len <= 0) return BadUtf8(i + base_offset);
    const size_t next_i = i + static_cast<size_t>(len);
    if (IsKanaMark(cp) && !in_word && !out->empty() &&
        out->back().end == static_cast<uint32_t>(i + base_offset)) {
      // Re-hash the previous ideographic token together with its voicing mark.
      Token& prev = out->back();
      uint64_t h;
      DOPPEL_RETURN_IF_ERROR(
          HashUnicodeWord(text, prev.begin - base_offset, next_i, &scratch, &h));
      prev.hash = h;
      prev.end = static_cast<uint32_t>(next_i + base_offset);
      i = next_i;
      continue;
    }
    if (IsIdeographic(cp)) {
      DOPPEL_RETURN_IF_ERROR(finish_word());
      start_word(i);
      word_ascii = false;
      word_end = next_i;
      DOPPEL_RETURN_IF_ERROR(finish_word());
      i = next_i;
      continue;
    }
    const CpClass k = Classify(cp);
    if (k == CpClass::kLetter || k == CpClass::kDigit || k == CpClass::kMark) {
      if (!in_word) start_word(i);
      word_ascii = false;
      // A combining mark belongs to the character before it: "e\u0301" is a letter like "é".
      if (k != CpClass::kMark) last_was_letter = (k == CpClass::kLetter);
      word_end = next_i;
      i = next_i;
      continue;
    }
    if (k == CpClass::kApostrophe && in_word && last_was_letter && next_i < n) {
      int32_t ncp;
      auto m = utf8proc_iterate(s + next_i, static_cast<utf8proc_ssize_t>(n - next_i), &ncp);
      if (m > 0 && Classify(ncp) == CpClass::kLetter && !IsIdeographic(ncp)) {
        word_ascii = false;  // the Unicode path drops the apostrophe
        i = next_i;
        continue;
      }
    }
    DOPPEL_RETURN_IF_ERROR(finish_word());  // (U+2028 and U+2029 too: lines end at '\n' only)
    i = next_i;
  }
  return finish_word();
}

}  // namespace

std::unique_ptr<Tokenizer> NewTextTokenizer() { return std::make_unique<TextTokenizer>(); }

Status RefuseNul(std::string_view text, uint64_t base_offset) {
  const size_t nul = text.find('\0');
  if (nul == std::string_view::npos) return Status::OK();
  return Status::InvalidArgument("NUL byte at offset " + std::to_string(base_offset + nul) + ": binary input");
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

size_t ReplaceInvalidUtf8(std::string* text, char with) {
  auto* s = reinterpret_cast<uint8_t*>(text->data());
  const size_t n = text->size();
  size_t replaced = 0;
  for (size_t i = 0; i < n;) {
    if (s[i] < 0x80) {
      ++i;
      continue;
    }
    int32_t cp;
    const auto len = utf8proc_iterate(s + i, static_cast<utf8proc_ssize_t>(n - i), &cp);
    if (len > 0) {
      i += static_cast<size_t>(len);
    } else {
      s[i++] = static_cast<uint8_t>(with);
      ++replaced;
    }
  }
  return replaced;
}

Status ValidateUtf8(std::string_view text) {
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    // Skip ASCII eight bytes at a time.
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, s + i, 8);
      if (w & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= n) break;
    if (s[i] < 0x80) {
      ++i;
      continue;
    }
    int32_t cp;
    auto len = utf8proc_iterate(s + i, static_cast<utf8proc_ssize_t>(n - i), &cp);
    if (len <= 0) return BadUtf8(i);
    i += static_cast<size_t>(len);
  }
  return Status::OK();
}

}  // namespace doppel
