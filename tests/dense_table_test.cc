// The dense parse tables (lib/src/code/dense_parse_table.h) against the grammars' own tables,
// entry by entry, read as the runtime reads them. (The parses made with them are compared with
// the grammars' own in code_test.cc, over its normalization cases.)
#include <catch2/catch.hpp>
#include <tree_sitter/parser.h>

#include <cstdint>

#include "code/dense_parse_table.h"
#include "doppel/language.h"

using namespace doppel;

namespace {

// The runtime's lookup (tree-sitter 0.20's ts_language_lookup): a large state's row, or the
// value of the first group of a small state that names the symbol, 0 when none does.
uint16_t Lookup(const TSLanguage& g, uint32_t state, uint32_t symbol) {
  if (state < g.large_state_count) return g.parse_table[size_t{state} * g.symbol_count + symbol];
  const uint16_t* data = g.small_parse_table + g.small_parse_table_map[state - g.large_state_count];
  const uint16_t groups = *data++;
  for (uint16_t i = 0; i < groups; ++i) {
    const uint16_t value = *data++;
    const uint16_t symbols = *data++;
    for (uint16_t j = 0; j < symbols; ++j) {
      if (*data++ == symbol) return value;
    }
  }
  return 0;
}

}  // namespace

TEST_CASE("code: every dense parse table holds the grammar's value for every state and symbol") {
  auto langs = Languages();
  REQUIRE(langs.ok());
  size_t small_states = 0, entries = 0;
  for (const auto& l : **langs) {
    INFO(l.name);
    const TSLanguage& g = *l.grammar;
    const TSLanguage* dense = DenseParseTable(l.grammar);
    REQUIRE(dense != l.grammar);
    const TSLanguage& d = *dense;
    CHECK(d.version == g.version);
    CHECK(d.symbol_count == g.symbol_count);
    CHECK(d.token_count == g.token_count);
    CHECK(d.state_count == g.state_count);
    CHECK(d.large_state_count == g.state_count);  // every row spelled out
    CHECK(d.parse_actions == g.parse_actions);
    CHECK(d.lex_modes == g.lex_modes);
    CHECK(d.lex_fn == g.lex_fn);
    CHECK(d.keyword_lex_fn == g.keyword_lex_fn);
    CHECK(d.external_scanner.scan == g.external_scanner.scan);
    CHECK(d.primary_state_ids == g.primary_state_ids);
    small_states += g.state_count - g.large_state_count;
    bool same = true;
    for (uint32_t state = 0; state < g.state_count && same; ++state) {
      for (uint32_t symbol = 0; symbol < g.symbol_count; ++symbol) {
        const uint16_t want = Lookup(g, state, symbol);
        if (d.parse_table[size_t{state} * d.symbol_count + symbol] != want) {
          FAIL_CHECK("state " << state << ", symbol " << symbol << ": " << d.parse_table[size_t{state} * d.symbol_count + symbol]
                              << " instead of " << want);
          same = false;
          break;
        }
        entries += want != 0;
      }
    }
  }
  CHECK(small_states > 30000);  // most states of the pinned grammars are small
  CHECK(entries > 1000000);
}
