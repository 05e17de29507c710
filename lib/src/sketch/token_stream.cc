#include "doppel/token_stream.h"

#include <xxhash.h>

#include <cstring>
#include <vector>

namespace doppel {
namespace {

constexpr uint8_t kVersion = 2;

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutFixed64(std::string* out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out->append(b, 8);
}

void PutFixed32(std::string* out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out->append(b, 4);
}

uint32_t Fixed32At(const unsigned char* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

uint64_t Fixed64At(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

// Bytes per hash index for a dictionary of d hashes: the fewest that hold d - 1.
uint32_t IndexWidth(uint64_t d) { return d <= 0x100 ? 1 : d <= 0x10000 ? 2 : 4; }

struct Reader {
  const unsigned char* p;
  const unsigned char* end;
  bool ok = true;
  uint64_t Varint() {
    if (p != end && *p < 0x80) return *p++;  // most values fit in one byte
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p == end) break;
      const unsigned char c = *p++;
      v |= static_cast<uint64_t>(c & 0x7f) << shift;
      if ((c & 0x80) == 0) return v;
    }
    ok = false;
    return 0;
  }
  uint64_t Fixed64() {
    if (end - p < 8) {
      ok = false;
      return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
    p += 8;
    return v;
  }
};

}  // namespace

bool EncodeTokenStream(const Tokens& tokens, std::string* out) {
  out->clear();
  uint32_t last_end = 0, last_line = 0;
  for (const Token& t : tokens) {
    if (t.begin < last_end || t.end < t.begin || t.line < last_line) return false;
    last_end = t.end;
    last_line = t.line;
  }
  // Dictionary indices per token, from open-addressing tables on the (already mixed) 64-bit
  // hashes. 0 marks a free slot: a name of 0 means none, and a token hash of 0 gets its own entry.
  thread_local std::vector<uint64_t> keys;
  thread_local std::vector<uint32_t> vals;
  thread_local std::vector<uint32_t> hash_of, name_of;
  std::vector<uint64_t> hashes, names;
  hash_of.resize(tokens.size());
  name_of.resize(tokens.size());
  size_t cap = 16;
  while (cap < 2 * tokens.size()) cap <<= 1;
  auto index_all = [&](auto key_of, std::vector<uint32_t>* index_of, std::vector<uint64_t>* dict, bool zero_is_none) {
    keys.assign(cap, 0);
    vals.resize(cap);
    uint32_t zero = UINT32_MAX;
    for (size_t i = 0; i < tokens.size(); ++i) {
      const uint64_t k = key_of(tokens[i]);
      uint32_t idx;
      if (k == 0) {
        if (zero_is_none) {
          (*index_of)[i] = 0;
          continue;
        }
        if (zero == UINT32_MAX) {
          zero = static_cast<uint32_t>(dict->size());
          dict->push_back(0);
        }
        idx = zero;
      } else {
        size_t slot = (k ^ (k >> 29)) & (cap - 1);
        while (keys[slot] != 0 && keys[slot] != k) slot = (slot + 1) & (cap - 1);
        if (keys[slot] == 0) {
          keys[slot] = k;
          vals[slot] = static_cast<uint32_t>(dict->size());
          dict->push_back(k);
        }
        idx = vals[slot];
      }
      (*index_of)[i] = zero_is_none ? idx + 1 : idx;
    }
  };
  index_all([](const Token& t) { return t.hash; }, &hash_of, &hashes, false);
  index_all([](const Token& t) { return t.name; }, &name_of, &names, true);
  const uint32_t width = IndexWidth(hashes.size());
  const size_t blocks = (tokens.size() + kTokenStreamBlock - 1) / kTokenStreamBlock;
  out->reserve(32 + 8 * (hashes.size() + names.size()) + (width + 5) * tokens.size() + 12 * blocks);
  out->push_back(static_cast<char>(kVersion));
  PutVarint(out, tokens.size());
  PutVarint(out, hashes.size());
  for (uint64_t h : hashes) PutFixed64(out, h);
  PutVarint(out, names.size());
  for (uint64_t n : names) PutFixed64(out, n);
  out->push_back(static_cast<char>(width));
  for (size_t i = 0; i < tokens.size(); ++i) {
    for (uint32_t b = 0; b < width; ++b) out->push_back(static_cast<char>(hash_of[i] >> (8 * b)));
  }
  PutVarint(out, kTokenStreamBlock);
  // The fields first (the skip table's offsets are known only then), then spliced in.
  thread_local std::string fields;
  fields.clear();
  std::string skip;
  skip.reserve(12 * blocks);
  uint32_t prev_end = 0, prev_line = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const Token& t = tokens[i];
    if (i % kTokenStreamBlock == 0) {
      PutFixed32(&skip, static_cast<uint32_t>(fields.size()));
      PutFixed32(&skip, prev_end);
      PutFixed32(&skip, prev_line);
    }
    PutVarint(&fields, name_of[i]);
    PutVarint(&fields, t.begin - prev_end);
    PutVarint(&fields, t.end - t.begin);
    PutVarint(&fields, t.line - prev_line);
    prev_end = t.end;
    prev_line = t.line;
  }
  if (fields.size() > UINT32_MAX) {  // offsets are 32-bit (a stream of over 4 GB)
    out->clear();
    return false;
  }
  out->append(skip);
  out->append(fields);
  PutFixed64(out, XXH3_64bits(out->data(), out->size()));
  return true;
}

Status TokenStreamReader::Open(std::string_view in) {
  n_ = 0;
  hashes_.clear();
  if (in.size() < 9) return Status::Corruption("token stream: truncated");
  const size_t body = in.size() - 8;
  const auto* bytes = reinterpret_cast<const unsigned char*>(in.data());
  if (Fixed64At(bytes + body) != XXH3_64bits(in.data(), body)) {
    return Status::Corruption("token stream: checksum mismatch");
  }
  Reader r{bytes, bytes + body};
  if (*r.p++ != kVersion) return Status::Corruption("token stream: unknown version " + std::to_string(bytes[0]));
  const uint64_t n = r.Varint();
  const uint64_t d = r.Varint();
  if (!r.ok || d > static_cast<uint64_t>(r.end - r.p) / 8) return Status::Corruption("token stream: bad hash count");
  hashes_.resize(d);
  for (auto& h : hashes_) h = r.Fixed64();
  const uint64_t m = r.Varint();
  if (!r.ok || m > static_cast<uint64_t>(r.end - r.p) / 8) return Status::Corruption("token stream: bad name count");
  names_ = r.p;
  m_ = m;
  r.p += 8 * m;
  // Every token takes at least 5 bytes: an index byte and four fields.
  if (r.p == r.end || n > static_cast<uint64_t>(r.end - r.p) / 5 || (n > 0 && d == 0)) {
    return Status::Corruption("token stream: bad token count");
  }
  width_ = *r.p++;
  if (width_ != IndexWidth(d)) return Status::Corruption("token stream: bad index width");
  if (n > static_cast<uint64_t>(r.end - r.p) / width_) return Status::Corruption("token stream: truncated index");
  index_ = r.p;
  r.p += n * width_;
  for (size_t i = 0; i < n; ++i) {
    if (IndexAt(i) >= d) return Status::Corruption("token stream: bad hash index of token " + std::to_string(i));
  }
  const uint64_t block = r.Varint();
  if (!r.ok || block == 0 || block > UINT32_MAX) return Status::Corruption("token stream: bad block size");
  block_ = static_cast<uint32_t>(block);
  const uint64_t blocks = (n + block - 1) / block;
  if (blocks > static_cast<uint64_t>(r.end - r.p) / 12) return Status::Corruption("token stream: truncated skip table");
  skip_ = r.p;
  r.p += 12 * blocks;
  fields_ = r.p;
  fields_end_ = r.end;
  // Every entry in order: a block's fields take at least 4 bytes a token, its ends and lines do
  // not go back, and the first starts at the first field, after nothing. (Whether an entry
  // agrees with the fields before it is known only by decoding them: Decode checks every entry
  // it reaches, and a range trusts the one it starts from.)
  const uint64_t size = static_cast<uint64_t>(fields_end_ - fields_);
  for (uint64_t b = 0; b < blocks; ++b) {
    const unsigned char* e = skip_ + 12 * b;
    const uint64_t at = Fixed32At(e), end = Fixed32At(e + 4), line = Fixed32At(e + 8);
    const bool ok = b == 0 ? at == 0 && end == 0 && line == 0
                           : at >= Fixed32At(e - 12) + 4 * uint64_t{block_} && end >= Fixed32At(e - 8) &&
                                 line >= Fixed32At(e - 4);
    if (!ok || at >= size) return Status::Corruption("token stream: bad skip entry " + std::to_string(b));
  }
  n_ = n;
  return Status::OK();
}

void TokenStreamReader::Hashes(std::vector<uint64_t>* out) const {
  out->resize(n_);
  uint64_t* h = out->data();
  if (width_ == 1) {
    for (size_t i = 0; i < n_; ++i) h[i] = hashes_[index_[i]];
  } else {
    for (size_t i = 0; i < n_; ++i) h[i] = Hash(i);
  }
}

Status TokenStreamReader::Decode(size_t begin, size_t end, Tokens* out) const {
  out->clear();
  if (begin > end || end > n_) return Status::InvalidArgument("token stream: range past its tokens");
  if (begin == end) {
    if (n_ == 0 && fields_ != fields_end_) return Status::Corruption("token stream: trailing bytes");
    return Status::OK();
  }
  const size_t b = begin / block_;
  Reader r{fields_ + Fixed32At(skip_ + 12 * b), fields_end_};
  uint64_t prev_end = Fixed32At(skip_ + 12 * b + 4), prev_line = Fixed32At(skip_ + 12 * b + 8);
  // Sized first and each token's fields stored in place: appending each token instead decoded
  // the code corpus's streams at 7.8-11.1 ns a token against 6.9-9.4 (bench/code_bench.cc).
  out->resize(end - begin);
  Token* t = out->data();
  for (size_t i = b * block_; i < end; ++i) {
    if (i % block_ == 0 && i > b * block_) {  // a block boundary: where the skip table says
      const unsigned char* e = skip_ + 12 * (i / block_);
      if (r.p != fields_ + Fixed32At(e) || prev_end != Fixed32At(e + 4) || prev_line != Fixed32At(e + 8)) {
        out->clear();
        return Status::Corruption("token stream: skip entry " + std::to_string(i / block_) + " disagrees");
      }
    }
    const uint64_t ni = r.Varint(), gap = r.Varint(), len = r.Varint(), dl = r.Varint();
    // Each delta fits in 32 bits, so the sums cannot wrap around (a wrapped gap would make a
    // token start before the previous one ends).
    const bool deltas_fit = (gap | len | dl) <= UINT32_MAX;
    const uint64_t tb = prev_end + gap, te = tb + len, line = prev_line + dl;
    if (!r.ok || ni > m_ || !deltas_fit || te > UINT32_MAX || line > UINT32_MAX) {
      out->clear();
      return Status::Corruption("token stream: bad token " + std::to_string(i));
    }
    prev_end = te;
    prev_line = line;
    if (i < begin) continue;
    Token& o = *t++;
    o.hash = Hash(i);
    o.name = ni == 0 ? 0 : Fixed64At(names_ + 8 * (ni - 1));
    o.begin = static_cast<uint32_t>(tb);
    o.end = static_cast<uint32_t>(te);
    o.line = static_cast<uint32_t>(line);
    o.import = 0;
  }
  if (end == n_ && r.p != fields_end_) {
    out->clear();
    return Status::Corruption("token stream: trailing bytes");
  }
  return Status::OK();
}

Status DecodeTokenStream(std::string_view in, Tokens* tokens) {
  tokens->clear();
  TokenStreamReader r;
  DOPPEL_RETURN_IF_ERROR(r.Open(in));
  return r.Decode(0, r.size(), tokens);
}

}  // namespace doppel
