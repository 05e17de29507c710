// code_blocks.h — the block structure of code tokens: which tokens open and close a language's
// blocks (braces, keywords such as Ruby's def ... end, Python's indentation). A span of a whole
// block is judged as a function (filter.cc), and a redaction is kept to balanced lines
// (redaction.h). Internal to lib/src/match.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "doppel/token.h"

namespace doppel {

// A language's block tokens (Language::block_start ...) as token hashes.
struct BlockTokens {
  std::vector<uint64_t> start, end, start_line_first;
  bool indented = false;  // Language::block_indented
  std::vector<uint64_t> clauses;  // Language::block_clauses
  std::vector<uint64_t> loop_words, loop_separators;  // Language::block_loop_words ...
  // +1 when query token i opens a block, -1 when it closes one, else 0 (braces and keywords).
  // `line_first` is the first token of i's line, `separator_before` whether a loop separator
  // came before i on that line (BlockDeltas keeps both as it goes).
  int Delta(const Tokens& q, uint32_t i, uint32_t line_first, bool separator_before) const {
    const uint64_t h = q[i].hash;
    auto in = [](const std::vector<uint64_t>& v, uint64_t x) { return std::find(v.begin(), v.end(), x) != v.end(); };
    auto has = [&](const std::vector<uint64_t>& v) { return in(v, h); };
    if (has(end)) return -1;
    // `while x do`: the loop's own `do`, the first on a line a loop word begins (a later one is
    // a block's).
    if (has(loop_separators) && !separator_before && line_first < i && in(loop_words, q[line_first].hash)) return 0;
    if (has(start)) return 1;
    if (has(start_line_first) && (i == 0 || q[i - 1].line < q[i].line)) return 1;
    return 0;
  }
};

// Per token of code whose blocks are indentation: the indentation (column) of the logical line
// the token begins, or -1 when it begins none. A logical line starts at a token that is the first
// on its line (no earlier token, such as a multi-line string, runs into that line) outside
// brackets; continuation lines (a long signature, an argument list) begin none. `text` is what
// the tokens' offsets index, from offset `text_offset` on (a line begins there).
std::vector<int32_t> LogicalLineIndents(const Tokens& q, std::string_view text, uint32_t text_offset = 0);

// LogicalLineIndents of `q` when `blocks` are indentation (BlockDeltas and the clause pairing
// read them), else none.
std::vector<int32_t> IndentsFor(const Tokens& q, const BlockTokens& blocks, std::string_view text,
                                uint32_t text_offset = 0);

// Per answer token: +n when it opens n blocks, -n when it closes n blocks, else 0 (computed once
// per code block of the answer). `indent` is LogicalLineIndents of the tokens when the blocks are
// indentation, else unused. Indented blocks (Python) open at a block_start token that ends its
// logical line when the next line is more indented, and close at the last token before a line
// indented no more than the opening line, or at the last token.
std::vector<int8_t> BlockDeltas(const Tokens& q, const BlockTokens& blocks, const std::vector<int32_t>& indent);

// Whether answer tokens [begin, end) are whole blocks: at least one opened, each closed, none
// closed that was not opened, the last token closing one.
bool WholeBlocks(const std::vector<int8_t>& delta, uint32_t begin, uint32_t end);

// The block tokens of `language` (by name); braces for a language the registry does not know.
const BlockTokens& BlockTokensOf(std::string_view language);

}  // namespace doppel
