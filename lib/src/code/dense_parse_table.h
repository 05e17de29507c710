// dense_parse_table.h — a grammar's parse table with every state's row spelled out.
#ifndef DOPPEL_LIB_SRC_CODE_DENSE_PARSE_TABLE_H_
#define DOPPEL_LIB_SRC_CODE_DENSE_PARSE_TABLE_H_

struct TSLanguage;

namespace doppel {

// `grammar` with the same parse table laid out densely: one row of symbol_count entries for
// every parse state. A generated grammar keeps most states ("small" states) as lists of
// (value, symbols) groups, which tree-sitter scans linearly on every lookup. Its error
// recovery looks up every token in every state it tries, so a snippet that starts inside a
// block, or holds no valid code, can spend most of its parse in those scans (two thirds of the
// parse of a window of assembler macros labelled C, bench/README.md). The copy answers each
// lookup with one load and gives the same parse: the same value for every state and symbol.
// Only the table's fields differ from the grammar's (large_state_count is state_count, the
// small-state table and map are gone).
//
// Made once per grammar and process, when a parser is first made for it, and never freed
// (parsers and trees point at it): 2 x states x symbols bytes (0.6 MB for Go, 10 MB for C#,
// 40.6 MB for the eleven pinned grammars). Returns `grammar` itself when its ABI is not the one
// this runtime's header describes (14), when all its states are already full rows, or when its
// small-state table names a symbol the grammar does not have.
const TSLanguage* DenseParseTable(const TSLanguage* grammar);

}  // namespace doppel

#endif  // DOPPEL_LIB_SRC_CODE_DENSE_PARSE_TABLE_H_
