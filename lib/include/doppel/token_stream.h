// The stored form of a code document's token stream, so that aligning against a stored code
// document reads its tokens instead of parsing it again with tree-sitter (a parse costs ~1 ms per
// 10 KB; decoding, ~1 µs per 100 tokens).
//
// Layout (persisted in the index's `tokens` column family; changing it needs a new index format):
//   u8 version (2) | varint n | varint D | D × u64 token hashes | varint M | M × u64 names |
//   u8 W (1, 2 or 4) | n × W-byte hash index |
//   varint B | ceil(n / B) × (u32 field offset | u32 end | u32 line) |
//   n × (varint name index + 1, 0 for none | varint begin − previous end | varint end − begin |
//        varint line − previous line) | u64 xxh3 of everything before it
// Hashes and names are listed in order of first occurrence. The hash indices are a column of
// their own, W bytes each (the fewest that hold D - 1), so a token's hash is read in place: a
// large document's k-grams are screened without decoding it. The skip table gives, for every B
// tokens (TokenStreamBlock), where the fields of the block's first token begin (from the first
// field byte) and the end and line of the token before it (0 for the first block), so any range
// of tokens decodes from the block holding its first. Integers are little-endian; varint is
// LEB128. Tokens must be in text order without overlap (what the tokenizers produce).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "doppel/status.h"
#include "doppel/token.h"

namespace doppel {

// Tokens per skip-table entry: a range decodes at most this many tokens before its first.
inline constexpr uint32_t kTokenStreamBlock = 256;

// False (and nothing encoded) when the tokens are not in text order, or their fields would take
// over 4 GB (the skip table's offsets are 32-bit).
bool EncodeTokenStream(const Tokens& tokens, std::string* out);
// Corruption (naming what is wrong) on a damaged or truncated stream.
Status DecodeTokenStream(std::string_view in, Tokens* tokens);

// A stored token stream read in place: any token's hash, and any range of tokens decoded, without
// decoding the rest. Open checks the checksum and the layout of the header, columns and skip
// table (entries in order); Decode checks the fields it reads and every skip entry it reaches
// (Corruption when they disagree). A range trusts the entry it starts from beyond Open's checks:
// on a stream whose checksum was forged over a wrong entry, a range may read other offsets than
// the whole stream would, never bytes outside it nor tokens out of order. The bytes must outlive
// the reader.
class TokenStreamReader {
 public:
  Status Open(std::string_view in);
  size_t size() const { return n_; }
  uint64_t Hash(size_t i) const { return hashes_[IndexAt(i)]; }  // Open checked every index
  // Every token's hash, in order (out is resized to size()).
  void Hashes(std::vector<uint64_t>* out) const;
  // Tokens [begin, end) (end <= size()), with their text offsets and lines as in the whole stream.
  Status Decode(size_t begin, size_t end, Tokens* out) const;

 private:
  // Token i's hash index, as stored.
  uint32_t IndexAt(size_t i) const {
    const unsigned char* p = index_ + i * width_;
    uint32_t x = p[0];
    if (width_ > 1) x |= uint32_t{p[1]} << 8;
    if (width_ > 2) x |= uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
    return x;
  }

  size_t n_ = 0;
  uint32_t width_ = 1;
  uint32_t block_ = kTokenStreamBlock;
  std::vector<uint64_t> hashes_;          // the D distinct token hashes (few: names are abstracted)
  const unsigned char* names_ = nullptr;  // the M names, read in place (u64 each)
  size_t m_ = 0;
  const unsigned char* index_ = nullptr;  // the hash-index column
  const unsigned char* skip_ = nullptr;   // the skip table
  const unsigned char* fields_ = nullptr;
  const unsigned char* fields_end_ = nullptr;
};

}  // namespace doppel
