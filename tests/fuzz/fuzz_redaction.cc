// libFuzzer target: a code redaction's steps on arbitrary code and an arbitrary passage of it:
// the tokens' brackets and blocks paired (PairedTokens, and JSX's tags by ScriptBlock), the
// passage moved to balanced whole lines (BalanceCodeRegion), its marker's comment chosen
// (ScriptBlock::MarkerSyntax) and the lines replaced (RedactCodeLines). The first byte picks the
// language, the next four the passage's first and last bytes (as shares of the code).
// Invariants: no crash; JSX pairs are made between unpaired tokens, both ways; the passage
// stays inside the code, or is given up (empty); what the replacement leaves before and after
// it is the code as it was.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "doppel/code_tokenizer.h"
#include "doppel/language.h"
#include "match/code_blocks.h"
#include "match/redaction.h"

using namespace doppel;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::vector<const Language*> languages;
  static const std::vector<std::unique_ptr<Tokenizer>> tokenizers = [] {
    std::vector<std::unique_ptr<Tokenizer>> t;
    auto langs = Languages();
    if (langs.ok()) {
      for (const Language& lang : **langs) {
        languages.push_back(&lang);
        t.push_back(NewCodeTokenizer(&lang));
      }
    }
    return t;
  }();
  if (size < 6 || languages.empty()) return 0;
  const size_t pick = data[0] % languages.size();
  const Language* lang = languages[pick];
  const std::string_view text(reinterpret_cast<const char*>(data + 5), size - 5);
  Tokens q;
  if (!tokenizers[pick]->Tokenize(text, &q).ok() || q.empty()) return 0;
  std::vector<int32_t> partner = PairedTokens(q, lang->name, IndentsFor(q, BlockTokensOf(lang->name), text));
  const std::vector<int32_t> before = partner;
  const ScriptBlock script(text, 0, static_cast<uint32_t>(text.size()), lang);
  script.PairElements(q, &partner);
  for (size_t i = 0; i < q.size(); ++i) {
    if (partner[i] == before[i]) continue;
    const int32_t z = partner[i];
    if (before[i] >= 0 || z < 0 || static_cast<size_t>(z) >= q.size() || partner[z] != static_cast<int32_t>(i) ||
        before[z] >= 0) {
      std::abort();
    }
  }
  const uint32_t n = static_cast<uint32_t>(text.size());
  auto share = [&](size_t at) { return static_cast<uint32_t>((uint64_t{data[at]} | uint64_t{data[at + 1]} << 8) * n / 65536); };
  uint32_t b = share(1), e = share(3) + 1;
  if (e <= b) std::swap(b, e);
  if (e > n) e = n;
  if (b >= e) return 0;
  BalanceCodeRegion(text, q, partner, lang->statements_end_with_semicolon, &b, &e);
  if (e < b || (e > b && (b >= n || e > n))) std::abort();
  if (e == b) return 0;  // given up
  const auto comment = script.MarkerSyntax(q, b, e);
  std::string out(text);
  const auto [from, to] = RedactCodeLines(&out, b, e, 0, 0, n, lang,
                                          comment ? *comment : CommentSyntax{lang->line_comment, ""}, "[redacted]");
  if (from > to || to > n || out.size() < from + (n - to)) std::abort();
  if (out.compare(0, from, text, 0, from) != 0) std::abort();
  if (out.compare(out.size() - (n - to), n - to, text, to, n - to) != 0) std::abort();
  return 0;
}
