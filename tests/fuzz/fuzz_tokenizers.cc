// libFuzzer target: the prose tokenizer, every language's code tokenizer and its first-pass
// lexer on arbitrary bytes. The first byte picks the tokenizer (0: prose, then the generic
// lexer, each language's parse and each language's lexer).
// Invariants: no crash; errors only as Status; tokens lie inside the input, in order, on
// lines that do not decrease.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <vector>

#include "doppel/code_tokenizer.h"
#include "doppel/language.h"
#include "doppel/tokenizer.h"

using namespace doppel;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static size_t first_lexer = 0;  // tokenizers[first_lexer...] are the first-pass lexers
  static const std::vector<std::unique_ptr<Tokenizer>> tokenizers = [] {
    std::vector<std::unique_ptr<Tokenizer>> t;
    t.push_back(NewTextTokenizer());
    t.push_back(NewCodeTokenizer(nullptr));  // the generic lexer
    auto langs = Languages();
    if (langs.ok()) {
      for (const Language& l : **langs) t.push_back(NewCodeTokenizer(&l));
      first_lexer = t.size();
      for (const Language& l : **langs) t.push_back(NewCodeLexer(&l));
    }
    return t;
  }();
  if (size == 0) return 0;
  const size_t pick = data[0] % tokenizers.size();
  const Tokenizer& tok = *tokenizers[pick];
  // The lexers also keep every token's line exact.
  const bool lexer = first_lexer > 0 && pick >= first_lexer;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  Tokens tokens;
  if (!tok.Tokenize(text, &tokens).ok()) return 0;
  uint32_t last_begin = 0, last_line = 1, line = 1;
  size_t counted_to = 0;
  for (const Token& t : tokens) {
    if (t.begin > t.end || t.end > text.size() || t.begin < last_begin || t.line < last_line) std::abort();
    if (lexer) {
      for (; counted_to < t.begin; ++counted_to) line += text[counted_to] == '\n';
      if (t.line != line) std::abort();
    }
    last_begin = t.begin;
    last_line = t.line;
  }
  return 0;
}
