// The stored form of a code document's token stream, so that aligning against a stored code
// document reads its tokens instead of parsing it again with tree-sitter (a parse costs ~1 ms per
// 10 KB; decoding, ~1 µs per 100 tokens).
//
// Layout (persisted in the index's `tokens` column family; changing it needs a new index format):
//   u8 version (1) | varint n | varint D | D × u64 token hashes | varint M | M × u64 names |
//   n × (varint hash index | varint name index + 1, 0 for none | varint begin − previous end |
//        varint end − begin | varint line − previous line) | u64 xxh3 of everything before it
// Hashes and names are listed in order of first occurrence. Integers are little-endian; varint
// is LEB128. Tokens must be in text order without overlap (what the tokenizers produce).
#pragma once

#include <string>
#include <string_view>

#include "doppel/status.h"
#include "doppel/token.h"

namespace doppel {

// False (and nothing encoded) when the tokens are not in text order.
bool EncodeTokenStream(const Tokens& tokens, std::string* out);
// Corruption (naming what is wrong) on a damaged or truncated stream.
Status DecodeTokenStream(std::string_view in, Tokens* tokens);

}  // namespace doppel
