// dense_parse_table.cc — see dense_parse_table.h.
//
// The struct layout comes from the runtime's own <tree_sitter/parser.h> (Debian's
// libtree-sitter-dev), the layout the runtime reads; the grammars' newer headers only append
// fields after it.
#include "dense_parse_table.h"

#include <tree_sitter/parser.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace doppel {
namespace {

// The runtime's header ends the struct at primary_state_ids (ABI 14): a copy of sizeof
// bytes reads no field a newer grammar header appends.
static_assert(offsetof(TSLanguage, primary_state_ids) + sizeof(const TSStateId*) == sizeof(TSLanguage),
              "<tree_sitter/parser.h> is not the ABI-14 runtime header (libtree-sitter 0.20)");

constexpr uint32_t kAbi = 14;

struct Dense {
  TSLanguage language;
  std::vector<uint16_t> table;
};

// Never destroyed (parsers and trees point at the copies, and threads may parse while the
// process exits).
struct Registry {
  std::mutex mu;
  std::unordered_map<const TSLanguage*, Dense*> made;  // nullptr: the original is kept
};
Registry& Made() {
  static Registry* r = new Registry;
  return *r;
}

// The table of `g` with every state's row: large states copied, small states' groups spread
// out. The runtime's lookup returns the value of the first group that names the symbol, so a
// symbol named again later keeps its first value (even 0). Empty when a group names a symbol
// the grammar does not have (the table is not what this code reads it as).
std::vector<uint16_t> Spread(const TSLanguage& g) {
  std::vector<uint16_t> t(size_t{g.state_count} * g.symbol_count, 0);
  std::memcpy(t.data(), g.parse_table, size_t{g.large_state_count} * g.symbol_count * sizeof(uint16_t));
  std::vector<uint32_t> seen_in(g.symbol_count, UINT32_MAX);  // the last state that named each symbol
  for (uint32_t state = g.large_state_count; state < g.state_count; ++state) {
    uint16_t* row = t.data() + size_t{state} * g.symbol_count;
    const uint16_t* data = g.small_parse_table + g.small_parse_table_map[state - g.large_state_count];
    const uint16_t groups = *data++;
    for (uint16_t i = 0; i < groups; ++i) {
      const uint16_t value = *data++;
      const uint16_t symbols = *data++;
      for (uint16_t j = 0; j < symbols; ++j) {
        const uint16_t symbol = *data++;
        if (symbol >= g.symbol_count) return {};
        if (seen_in[symbol] == state) continue;
        seen_in[symbol] = state;
        row[symbol] = value;
      }
    }
  }
  return t;
}

}  // namespace

const TSLanguage* DenseParseTable(const TSLanguage* grammar) {
  if (grammar == nullptr || grammar->version != kAbi || grammar->large_state_count >= grammar->state_count) {
    return grammar;
  }
  Registry& r = Made();
  {
    std::lock_guard<std::mutex> l(r.mu);
    auto it = r.made.find(grammar);
    if (it != r.made.end()) return it->second != nullptr ? &it->second->language : grammar;
  }
  // Made outside the lock (C#'s took 8-10 ms, Go's 0.5, all eleven 33-36): other threads'
  // parsers of other grammars do not wait for it. Two threads may both make one; the first kept
  // wins.
  auto dense = std::make_unique<Dense>();
  dense->table = Spread(*grammar);
  if (!dense->table.empty()) {
    std::memcpy(&dense->language, grammar, sizeof(TSLanguage));
    dense->language.large_state_count = grammar->state_count;
    dense->language.parse_table = dense->table.data();
    dense->language.small_parse_table = nullptr;
    dense->language.small_parse_table_map = nullptr;
  } else {
    dense.reset();  // the grammar's own table is kept
  }
  std::lock_guard<std::mutex> l(r.mu);
  auto [it, inserted] = r.made.emplace(grammar, nullptr);
  if (inserted) it->second = dense.release();
  return it->second != nullptr ? &it->second->language : grammar;
}

}  // namespace doppel
