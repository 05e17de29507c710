// Byte layout of every key and value doppel stores. Persisted: changing any of it requires a new
// kFormatVersion (the manifest's `format`), and old indexes are then refused, not misread.
//
// Integers are little-endian unless said otherwise; keys use big-endian so that RocksDB's
// bytewise order is numeric order. varint is LEB128 (7 bits a byte, low first, at most 10 bytes).
//
//   meta     "manifest"    → text lines "key=value\n" (see Manifest below)
//            "next_id"     → u32: the id the next document gets
//            "documents"   → u64: live documents;  "bytes" → u64: their text bytes
//            "deleted"     → posting value (below) of every id ever removed or replaced
//   docs     u32be id      → u8 record version (1) | varint name length | name | u8 kind |
//                            varint language length | language | varint text bytes |
//                            varint tokens | u64 content hash | varint metadata length | metadata
//   names    name bytes    → u32 id
//   content  u32be id      → the original text
//   sig      u32be id      → u8 version (1) | u16 permutations n | n × u32
//   tokens   u32be id      → code documents: the token stream (doppel/token_stream.h)
//   bands    u32be band | u64be key → posting value
//   grams    u8 kind | u64be fingerprint → posting value; code documents also post each
//                            distinct identifier and string literal spelling under kind code,
//                            key DocumentSketcher::SpellingKey (another seed than the
//                            fingerprints')
//   posting value: u8 tag | payload, tag 1 = Roaring portable serialization of the ids,
//                  tag 2 = saturated (more than posting_cap ids; no payload),
//                  tag 3 = short list: varint count | count × varint delta of ascending ids
//                  (the first delta is the first id); used up to kMaxArrayPosting ids
#pragma once

#include <roaring/roaring.hh>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "doppel/index.h"
#include "doppel/options.h"
#include "doppel/status.h"

namespace doppel::codec {

// 2: short array postings; 3: stored code token streams; 4: code spelling postings; 5: token
// streams with a hash-index column and a skip table (read in place, TokenStreamReader)
inline constexpr std::string_view kFormatVersion = "doppel-index-5";
inline constexpr uint8_t kDocRecordVersion = 1;
inline constexpr uint8_t kSignatureVersion = 1;
inline constexpr uint8_t kPostingRoaring = 1;
inline constexpr uint8_t kPostingSaturated = 2;
inline constexpr uint8_t kPostingArray = 3;
// Lists up to this size are stored as delta-coded arrays: most fingerprints of a large corpus
// occur in one or a few documents, and an array of one id is 3 bytes against Roaring's ~18.
inline constexpr size_t kMaxArrayPosting = 64;
// The largest value of a sketch parameter (shingle and gram sizes, window, bands, rows,
// permutations, posting cap) an index is made with or read with.
inline constexpr uint32_t kMaxSketchParam = 1'000'000;

std::string IdKey(uint32_t id);
Result<uint32_t> DecodeIdKey(std::string_view key);
std::string BandKeyBytes(uint32_t band, uint64_t key);
std::string GramKeyBytes(Kind kind, uint64_t gram);

void PutFixed32(std::string* out, uint32_t v);
void PutFixed64(std::string* out, uint64_t v);
uint32_t DecodeFixed32(const char* p);
uint64_t DecodeFixed64(const char* p);

std::string EncodeDocument(const DocumentInfo& doc);
Result<DocumentInfo> DecodeDocument(uint32_t id, std::string_view value);

std::string EncodeSignature(const Signature& sig);
Result<Signature> DecodeSignature(std::string_view value);

// Chooses the array or the Roaring encoding by size.
std::string EncodePosting(const Roaring& ids);
// `ids` ascending and unique.
void EncodePostingArray(const uint32_t* ids, size_t n, std::string* out);
// Decodes into a sorted id vector (the query path); `*saturated` tells the tag.
Status DecodePostingIds(std::string_view value, std::vector<uint32_t>* ids, bool* saturated);
std::string EncodeSaturated();
// Decodes a posting value; `*saturated` tells the tag. Corruption on bad bytes.
Status DecodePosting(std::string_view value, Roaring* ids, bool* saturated);

// The manifest: every parameter and version that shapes stored bytes.
std::string EncodeManifest(const SketchParams& p);
// Parses and checks versions against this build; fills `*p`.
Status DecodeManifest(std::string_view text, SketchParams* p);
// Incompatible naming every parameter that differs ("shingle_size: index 5, requested 4").
Status CompareParams(const SketchParams& stored, const SketchParams& requested);

}  // namespace doppel::codec
