#include "code_blocks.h"

#include <string>
#include <unordered_map>

#include "doppel/code_tokenizer.h"
#include "doppel/language.h"

namespace doppel {

std::vector<int32_t> LogicalLineIndents(const Tokens& q, std::string_view text, uint32_t text_offset) {
  static const uint64_t kOpen[3] = {VerbatimTokenHash("("), VerbatimTokenHash("["), VerbatimTokenHash("{")};
  static const uint64_t kClose[3] = {VerbatimTokenHash(")"), VerbatimTokenHash("]"), VerbatimTokenHash("}")};
  std::vector<int32_t> indent(q.size(), -1);
  int brackets = 0;
  for (uint32_t i = 0, at = text_offset, start = text_offset; i < q.size(); ++i) {
    for (; at < q[i].begin && at - text_offset < text.size(); ++at) {  // the start of the token's line
      if (text[at - text_offset] == '\n') start = at + 1;
    }
    if (brackets == 0 && (i == 0 || q[i - 1].end <= start)) indent[i] = static_cast<int32_t>(q[i].begin - start);
    for (int k = 0; k < 3; ++k) {
      if (q[i].hash == kOpen[k]) ++brackets;
      if (q[i].hash == kClose[k] && brackets > 0) --brackets;
    }
  }
  return indent;
}

std::vector<int32_t> IndentsFor(const Tokens& q, const BlockTokens& blocks, std::string_view text,
                                uint32_t text_offset) {
  return blocks.indented ? LogicalLineIndents(q, text, text_offset) : std::vector<int32_t>();
}

std::vector<int8_t> BlockDeltas(const Tokens& q, const BlockTokens& blocks, const std::vector<int32_t>& indent) {
  std::vector<int8_t> d(q.size(), 0);
  if (!blocks.indented) {
    uint32_t line_first = 0;
    bool separator_before = false;
    for (uint32_t i = 0; i < q.size(); ++i) {
      if (i == 0 || q[i].line != q[i - 1].line) {
        line_first = i;
        separator_before = false;
      }
      d[i] = static_cast<int8_t>(blocks.Delta(q, i, line_first, separator_before));
      separator_before |= std::find(blocks.loop_separators.begin(), blocks.loop_separators.end(), q[i].hash) !=
                          blocks.loop_separators.end();
    }
    return d;
  }
  std::vector<int32_t> open;  // the opening lines' indentation, innermost last
  int32_t line_indent = 0;
  for (uint32_t i = 0; i < q.size(); ++i) {
    if (indent[i] >= 0) {
      line_indent = indent[i];
      while (i > 0 && !open.empty() && open.back() >= line_indent && d[i - 1] > -100) {
        --d[i - 1];
        open.pop_back();
      }
    }
    if (i + 1 < q.size() && q[i + 1].line > q[i].line && indent[i + 1] > line_indent && open.size() < 100 &&
        std::find(blocks.start.begin(), blocks.start.end(), q[i].hash) != blocks.start.end()) {
      d[i] = 1;
      open.push_back(line_indent);
    }
  }
  if (!q.empty()) d.back() = static_cast<int8_t>(d.back() - static_cast<int>(std::min<size_t>(open.size(), 100)));
  return d;
}

bool WholeBlocks(const std::vector<int8_t>& delta, uint32_t begin, uint32_t end) {
  int depth = 0, opened = 0, last = 0;
  for (uint32_t i = begin; i < end; ++i) {
    last = delta[i];
    depth += last;
    opened += last > 0;
    if (depth < 0) return false;
  }
  return opened > 0 && depth == 0 && last < 0;
}

const BlockTokens& BlockTokensOf(std::string_view language) {
  static const auto* const by_language = [] {
    auto* m = new std::unordered_map<std::string, BlockTokens>();
    auto hashes = [](const std::vector<std::string>& words) {
      std::vector<uint64_t> h;
      for (const auto& w : words) h.push_back(VerbatimTokenHash(w));
      return h;
    };
    if (auto langs = Languages(); langs.ok()) {
      for (const Language& l : **langs) {
        (*m)[l.name] = BlockTokens{hashes(l.block_start),       hashes(l.block_end),
                                   hashes(l.block_start_line_first), l.block_indented,
                                   hashes(l.block_clauses),     hashes(l.block_loop_words),
                                   hashes(l.block_loop_separators)};
      }
    }
    return m;
  }();
  static const BlockTokens kBraces{{VerbatimTokenHash("{")}, {VerbatimTokenHash("}")}, {}, false, {}, {}, {}};
  auto it = by_language->find(std::string(language));
  return it == by_language->end() ? kBraces : it->second;
}

}  // namespace doppel
