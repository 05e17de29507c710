// libFuzzer target: a code redaction's steps on arbitrary code and an arbitrary passage of it:
// the tokens' brackets and blocks paired (PairedTokens, and JSX's tags by ScriptBlock), the
// passage moved to balanced whole lines (BalanceCodeRegion), what it gave up balanced alone or
// the lines between its headers (BalancedRemainders), its marker's comment chosen
// (ScriptBlock::MarkerSyntax) and the lines replaced (RedactCodeLines). The first byte picks the
// language, the next four the passage's first and last bytes (as shares of the code).
// Invariants: no crash; JSX pairs are made between unpaired tokens, both ways; the passage
// stays inside the code, or is given up (empty); the bytes replaced hold the passage and lie in
// the block; what the replacement leaves before and after them is the answer as it was.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "doppel/code_tokenizer.h"
#include "doppel/language.h"
#include "match/code_blocks.h"
#include "match/redaction.h"

using namespace doppel;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Each language with its tokenizer, made once.
  static const std::vector<std::pair<const Language*, std::unique_ptr<Tokenizer>>> languages = [] {
    std::vector<std::pair<const Language*, std::unique_ptr<Tokenizer>>> l;
    auto langs = Languages();
    if (langs.ok()) {
      for (const Language& lang : **langs) l.emplace_back(&lang, NewCodeTokenizer(&lang));
    }
    return l;
  }();
  if (languages.empty()) std::abort();
  if (size < 6) return 0;
  const auto& [lang, tokenizer] = languages[data[0] % languages.size()];
  // The block after a Markdown answer's first lines, as a fenced block is: its tokens' offsets
  // are the answer's.
  const std::string head = "Here it is:\n\n```\n";
  const std::string answer = head + std::string(reinterpret_cast<const char*>(data + 5), size - 5);
  const std::string_view text = answer;
  const uint32_t block_b = static_cast<uint32_t>(head.size());
  Tokens q;
  if (!tokenizer->Tokenize(text.substr(block_b), &q, block_b, 4).ok() || q.empty()) return 0;
  std::vector<int32_t> partner =
      PairedTokens(q, lang->name, IndentsFor(q, BlockTokensOf(lang->name), text.substr(block_b), block_b));
  const std::vector<int32_t> before = partner;
  const ScriptBlock script(text, block_b, static_cast<uint32_t>(text.size()), lang);
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
  auto share = [&](size_t at) {
    return block_b + static_cast<uint32_t>((uint64_t{data[at]} | uint64_t{data[at + 1]} << 8) * (n - block_b) / 65536);
  };
  uint32_t b = share(1), e = share(3) + 1;
  if (e <= b) std::swap(b, e);
  if (e > n) e = n;
  if (b >= e) return 0;
  const uint32_t passage_b = b, passage_e = e;
  BalanceCodeRegion(text, q, partner, lang->statements_end_with_semicolon, &b, &e);
  if (e < b || (e > b && (b >= n || e > n))) std::abort();
  // What it gave up, or the lines between the passage's headers: ranges of the code, in order,
  // apart, outside what was kept unless they replace it. The tokens aligned: every other run of
  // three (a stand-in for an alignment's runs).
  std::vector<std::pair<uint32_t, uint32_t>> aligned;
  for (size_t i = 0; i + 2 < q.size(); i += 6) aligned.emplace_back(q[i].begin, q[i + 2].end);
  bool instead = false;
  const auto parts = BalancedRemainders(text, q, partner, BlockTokensOf(lang->name).start,
                                        lang->statements_end_with_semicolon, passage_b, passage_e, b, e, 25,
                                        aligned, &instead);
  for (size_t i = 0; i < parts.size(); ++i) {
    const auto [pb, pe] = parts[i];
    if (pb >= pe || pb < block_b || pe > n || (i > 0 && pb < parts[i - 1].second)) std::abort();
    if (!instead && e > b && pb < e && pe > b) std::abort();
  }
  if (e == b) return 0;  // given up
  const auto comment = script.MarkerSyntax(q, b, e);
  std::string out(text);
  const auto [from, to] = RedactCodeLines(&out, b, e, 0, block_b, n, lang,
                                          comment ? *comment : CommentSyntax{lang->line_comment, ""}, "[redacted]");
  // (The passage's lines are what is replaced, within the block.)
  if (from > b || to < e || from < block_b || to > n || out.size() < from + (n - to)) std::abort();
  if (out.compare(0, from, text, 0, from) != 0) std::abort();
  if (out.compare(out.size() - (n - to), n - to, text, to, n - to) != 0) std::abort();
  return 0;
}
