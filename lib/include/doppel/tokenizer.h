// Tokenizer: text → normalized tokens with byte spans and lines.
//
// The text tokenizer implements the design's normalization for prose:
//   * Unicode NFKC and full case folding (utf8proc), so "Ｆｏｏ", "FOO" and "foo" are one token;
//   * words are maximal runs of letters, marks and digits (general categories L*, M*, N*), with an
//     apostrophe between two letters kept inside the word ("don't" is one token, "dont");
//   * every other character (punctuation, symbols, spaces) separates words and is dropped;
//   * each Han ideograph, hiragana and katakana character is a token of its own, since those
//     scripts do not separate words with spaces;
//   * ASCII runs take a fast path that yields exactly the tokens the Unicode path would.
// Invalid UTF-8 is an InvalidArgument error naming the byte offset; nothing is skipped silently.
//
// Thread-safety: a Tokenizer is immutable after construction; Tokenize may run concurrently.
#pragma once

#include <chrono>
#include <memory>
#include <string_view>

#include "doppel/status.h"
#include "doppel/token.h"

namespace doppel {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Versioned name, written to the index manifest; it changes whenever the tokens for some
  // input change, so an index built by another version is refused.
  virtual std::string_view Name() const = 0;
  // Appends the tokens of `text` to `*out` (cleared first). Byte offsets are relative to `text`
  // plus `base_offset`, lines start at `base_line`. Fails on invalid UTF-8 (message names the
  // offset) and on texts of 4 GiB or more.
  virtual Status Tokenize(std::string_view text, Tokens* out, uint32_t base_offset = 0,
                          uint32_t base_line = 1) const = 0;
  // Tokenize, also telling how many bytes of `text` the tokenizer could not read as its
  // language: for a code tokenizer with a grammar, the bytes its parse skipped to recover from
  // errors and one for each missing node (as ParseErrorShare counts them, in the parse whose
  // tokens are kept); 0 for the others, which read any text. Code whose fence names the wrong
  // language often leaves much unread (not always: C reads cleanly as Java).
  virtual Status TokenizeCountingUnread(std::string_view text, Tokens* out, uint32_t base_offset, uint32_t base_line,
                                        uint32_t* unread_bytes) const {
    *unread_bytes = 0;
    return Tokenize(text, out, base_offset, base_line);
  }
  // Tokenize (TokenizeCountingUnread when `unread_bytes` is given) that gives up with
  // Unavailable once `deadline` passes: a check's time limit. A grammar's parse looks at the
  // clock as it parses (tree-sitter reads a few MB a second of dense code, and an answer may
  // hold 8 MB); the other tokenizers read tens of MB a second and run to the end.
  virtual Status TokenizeBy(std::chrono::steady_clock::time_point deadline, std::string_view text, Tokens* out,
                            uint32_t base_offset, uint32_t base_line, uint32_t* unread_bytes) const {
    (void)deadline;
    return unread_bytes != nullptr ? TokenizeCountingUnread(text, out, base_offset, base_line, unread_bytes)
                                   : Tokenize(text, out, base_offset, base_line);
  }
};

// The prose tokenizer described above.
std::unique_ptr<Tokenizer> NewTextTokenizer();

// Returns OK when `text` is valid UTF-8, else InvalidArgument naming the first bad byte offset.
Status ValidateUtf8(std::string_view text);
// Replaces each byte of `text` that begins no valid UTF-8 sequence (a Latin-1 letter, a stray
// continuation byte, a surrogate's or an overlong form's bytes) with `with`, one for one, so
// its offsets and lines stay; returns how many it replaced.
size_t ReplaceInvalidUtf8(std::string* text, char with = '?');

// Appends code point `cp` (at most U+10FFFF) in UTF-8: an HTML character reference or a JSON
// escape decoded.
void AppendUtf8(uint32_t cp, std::string* out);

// Returns OK when `text` holds no NUL byte, else InvalidArgument naming its offset (plus
// `base_offset`, where `text` starts in a larger input): a NUL makes input binary, and binary
// input is refused everywhere (files, JSON lines' text, answers, streamed chunks).
Status RefuseNul(std::string_view text, uint64_t base_offset = 0);

}  // namespace doppel
