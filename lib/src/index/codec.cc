#include "codec.h"

#include <utf8proc.h>

#include <cstring>
#include <map>

#include "doppel/language.h"
#include "doppel/tokenizer.h"

namespace doppel::codec {
namespace {

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Reads LEB128 from [*p, end); false on truncation or overlong encodings.
bool GetVarint(const char** p, const char* end, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && *p < end; shift += 7) {
    const auto byte = static_cast<uint8_t>(**p);
    ++*p;
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      *v = result;
      return true;
    }
  }
  return false;
}

bool GetString(const char** p, const char* end, std::string* s) {
  uint64_t len;
  if (!GetVarint(p, end, &len) || len > static_cast<uint64_t>(end - *p)) return false;
  s->assign(*p, len);
  *p += len;
  return true;
}

void PutBigEndian(std::string* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

void PutFixed32(std::string* out, uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);  // little-endian hosts only (x86-64, aarch64)
  out->append(b, 4);
}
void PutFixed64(std::string* out, uint64_t v) {
  char b[8];
  std::memcpy(b, &v, 8);
  out->append(b, 8);
}
uint32_t DecodeFixed32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t DecodeFixed64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

std::string IdKey(uint32_t id) {
  std::string k;
  PutBigEndian(&k, id, 4);
  return k;
}

Result<uint32_t> DecodeIdKey(std::string_view key) {
  if (key.size() != 4) return Status::Corruption("document key of " + std::to_string(key.size()) + " bytes, expected 4");
  uint32_t v = 0;
  for (char c : key) v = (v << 8) | static_cast<uint8_t>(c);
  return v;
}

std::string BandKeyBytes(uint32_t band, uint64_t key) {
  std::string k;
  PutBigEndian(&k, band, 4);
  PutBigEndian(&k, key, 8);
  return k;
}

std::string GramKeyBytes(Kind kind, uint64_t gram) {
  std::string k(1, static_cast<char>(kind));
  PutBigEndian(&k, gram, 8);
  return k;
}

std::string EncodeDocument(const DocumentInfo& d) {
  std::string v;
  v.push_back(static_cast<char>(kDocRecordVersion));
  PutVarint(&v, d.name.size());
  v += d.name;
  v.push_back(static_cast<char>(d.kind));
  PutVarint(&v, d.language.size());
  v += d.language;
  PutVarint(&v, d.bytes);
  PutVarint(&v, d.num_tokens);
  PutFixed64(&v, d.content_hash);
  PutVarint(&v, d.metadata.size());
  v += d.metadata;
  return v;
}

Result<DocumentInfo> DecodeDocument(uint32_t id, std::string_view value) {
  auto bad = [id](const char* what) {
    return Status::Corruption("document record " + std::to_string(id) + ": " + what);
  };
  const char* p = value.data();
  const char* end = p + value.size();
  if (p == end) return bad("empty value");
  if (static_cast<uint8_t>(*p) != kDocRecordVersion) return bad("unknown record version");
  ++p;
  DocumentInfo d;
  d.id = id;
  uint64_t bytes, tokens;
  if (!GetString(&p, end, &d.name)) return bad("truncated name");
  if (p == end || static_cast<uint8_t>(*p) > static_cast<uint8_t>(Kind::kCode)) return bad("bad kind");
  d.kind = static_cast<Kind>(*p++);
  if (!GetString(&p, end, &d.language)) return bad("truncated language");
  if (!GetVarint(&p, end, &bytes) || !GetVarint(&p, end, &tokens) || tokens > UINT32_MAX) {
    return bad("truncated sizes");
  }
  if (end - p < 8) return bad("truncated content hash");
  d.content_hash = DecodeFixed64(p);
  p += 8;
  if (!GetString(&p, end, &d.metadata)) return bad("truncated metadata");
  if (p != end) return bad("trailing bytes");
  d.bytes = bytes;
  d.num_tokens = static_cast<uint32_t>(tokens);
  return d;
}

std::string EncodeSignature(const Signature& sig) {
  std::string v;
  v.push_back(static_cast<char>(kSignatureVersion));
  const auto n = static_cast<uint16_t>(sig.size());
  v.push_back(static_cast<char>(n & 0xff));
  v.push_back(static_cast<char>(n >> 8));
  v.append(reinterpret_cast<const char*>(sig.data()), sig.size() * sizeof(uint32_t));
  return v;
}

Result<Signature> DecodeSignature(std::string_view value) {
  if (value.size() < 3 || static_cast<uint8_t>(value[0]) != kSignatureVersion) {
    return Status::Corruption("signature: bad header");
  }
  const size_t n = static_cast<uint8_t>(value[1]) | (static_cast<size_t>(static_cast<uint8_t>(value[2])) << 8);
  if (value.size() != 3 + 4 * n) {
    return Status::Corruption("signature: " + std::to_string(value.size()) + " bytes for " +
                              std::to_string(n) + " permutations");
  }
  Signature sig(n);
  if (n > 0) std::memcpy(sig.data(), value.data() + 3, 4 * n);
  return sig;
}

void EncodePostingArray(const uint32_t* ids, size_t n, std::string* out) {
  out->clear();
  out->push_back(static_cast<char>(kPostingArray));
  PutVarint(out, n);
  uint32_t prev = 0;
  for (size_t i = 0; i < n; ++i) {
    PutVarint(out, ids[i] - prev);
    prev = ids[i];
  }
}

std::string EncodePosting(const Roaring& ids) {
  std::string v;
  const uint64_t n = ids.cardinality();
  if (n <= kMaxArrayPosting) {
    uint32_t buf[kMaxArrayPosting];
    ids.toUint32Array(buf);
    EncodePostingArray(buf, static_cast<size_t>(n), &v);
    return v;
  }
  v.assign(1 + ids.getSizeInBytes(/*portable=*/true), '\0');
  v[0] = static_cast<char>(kPostingRoaring);
  ids.write(v.data() + 1, /*portable=*/true);
  return v;
}

std::string EncodeSaturated() { return std::string(1, static_cast<char>(kPostingSaturated)); }

namespace {

// Decodes a tag-3 array; ids must ascend strictly.
Status DecodeArray(std::string_view value, std::vector<uint32_t>* ids) {
  const char* p = value.data() + 1;
  const char* end = value.data() + value.size();
  uint64_t n;
  if (!GetVarint(&p, end, &n) || n > value.size()) return Status::Corruption("posting list: bad array length");
  ids->resize(static_cast<size_t>(n));
  uint64_t prev = 0;
  for (size_t i = 0; i < n; ++i) {
    uint64_t d;
    // (d > UINT32_MAX - prev, not prev + d > UINT32_MAX: a 64-bit delta can wrap the sum
    // around to a smaller id; found by fuzzing.)
    if (!GetVarint(&p, end, &d) || (i > 0 && d == 0) || d > UINT32_MAX - prev) {
      return Status::Corruption("posting list: bad array entry");
    }
    prev += d;
    (*ids)[i] = static_cast<uint32_t>(prev);
  }
  if (p != end) return Status::Corruption("posting list: trailing bytes");
  return Status::OK();
}

Status DecodeRoaring(std::string_view value, Roaring* ids) {
  // readSafe never reads past the given size; it throws on malformed input.
  try {
    *ids = Roaring::readSafe(value.data() + 1, value.size() - 1);
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("posting list: ") + e.what());
  }
  // readSafe accepts a prefix; a value longer than its bitmap is corrupt too.
  if (ids->getSizeInBytes(true) != value.size() - 1) {
    return Status::Corruption("posting list: trailing bytes");
  }
  // readSafe checks bounds, not order: containers or ids out of order would decode "fine" and
  // break every set operation. Posting lists are capped (saturated beyond posting_cap), so the
  // walk is short.
  bool first = true;
  uint32_t prev = 0;
  for (auto it = ids->begin(); it != ids->end(); ++it) {
    if (!first && *it <= prev) return Status::Corruption("posting list: ids out of order");
    prev = *it;
    first = false;
  }
  return Status::OK();
}

}  // namespace

Status DecodePosting(std::string_view value, Roaring* ids, bool* saturated) {
  if (value.empty()) return Status::Corruption("posting list: empty value");
  const auto tag = static_cast<uint8_t>(value[0]);
  *saturated = false;
  if (tag == kPostingSaturated && value.size() == 1) {
    *saturated = true;
    *ids = Roaring();
    return Status::OK();
  }
  if (tag == kPostingArray) {
    thread_local std::vector<uint32_t> tmp;
    DOPPEL_RETURN_IF_ERROR(DecodeArray(value, &tmp));
    *ids = Roaring();
    ids->addMany(tmp.size(), tmp.data());
    return Status::OK();
  }
  if (tag != kPostingRoaring) return Status::Corruption("posting list: unknown tag " + std::to_string(tag));
  return DecodeRoaring(value, ids);
}

Status DecodePostingIds(std::string_view value, std::vector<uint32_t>* ids, bool* saturated) {
  if (value.empty()) return Status::Corruption("posting list: empty value");
  const auto tag = static_cast<uint8_t>(value[0]);
  *saturated = false;
  ids->clear();
  if (tag == kPostingArray) return DecodeArray(value, ids);
  if (tag == kPostingSaturated && value.size() == 1) {
    *saturated = true;
    return Status::OK();
  }
  if (tag != kPostingRoaring) return Status::Corruption("posting list: unknown tag " + std::to_string(tag));
  Roaring r;
  DOPPEL_RETURN_IF_ERROR(DecodeRoaring(value, &r));
  ids->resize(r.cardinality());
  r.toUint32Array(ids->data());
  return Status::OK();
}

namespace {
std::map<std::string, std::string> ManifestFields(const SketchParams& p) {
  return {
      {"format", std::string(kFormatVersion)},
      {"text_tokenizer", "text-v1"},
      {"code_tokenizer", "code-v14"},  // v2: literal spellings kept; v3: no semicolons, trailing commas;
                                     // v4: keywords read as names inside parse errors are keywords;
                                     // v5: rows of a table cut from its initializer are lexed;
                                     // v6: C#'s implicit lambda parameters are names, adjacent
                                     // string literals a language joins are one literal;
                                     // v7: literals spelled without their lines' indentation
                                     // and a quote's backslash, heredoc openers by their word
                                     // v8: C and C++ macro bodies lexed into tokens
                                     // v9: CRLF line ends read as LF: a leaf that runs to
                                     // its line's end spelled without its trailing blanks
                                     // and carriage return, a leaf of only blanks and line
                                     // breaks its symbol's text or none, escaped CRLFs
                                     // v10: a text of over 32,768 units parsed in windows
                                     // (tree-sitter's stack limit); v11: over 16,384, windows
                                     // ending between the lexer's tokens; v12: over 32,768;
                                     // v13: literals spelled with their interpolations
                                     // (`${...}`, f-strings' `{...}`) written `{}`;
                                     // v14: Rust format strings' `{name}` written `{}`,
                                     // Ruby's `#$1` and `#@x` short interpolations, a
                                     // literal of interpolations only unspelled
      {"code_spellings", "comments-v1"},  // comment gaps posted beside names and strings
      {"grammars", std::string(GrammarsVersion())},
      {"unicode", utf8proc_unicode_version()},
      {"hash_seed", std::to_string(p.hash_seed)},
      {"shingle_size", std::to_string(p.shingle_size)},
      {"num_permutations", std::to_string(p.num_permutations)},
      {"bands", std::to_string(p.bands)},
      {"rows", std::to_string(p.rows)},
      {"gram_size", std::to_string(p.gram_size)},
      {"code_gram_size", std::to_string(p.code_gram_size)},
      {"window", std::to_string(p.window)},
      {"posting_cap", std::to_string(p.posting_cap)},
  };
}
}  // namespace

std::string EncodeManifest(const SketchParams& p) {
  std::string out;
  for (const auto& [k, v] : ManifestFields(p)) out += k + "=" + v + "\n";
  return out;
}

Status DecodeManifest(std::string_view text, SketchParams* p) {
  std::map<std::string, std::string> fields;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return Status::Corruption("manifest line " + std::to_string(line_no) + ": no '='");
    }
    fields.emplace(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
  }
  auto get = [&](const char* key, std::string* v) -> Status {
    auto it = fields.find(key);
    if (it == fields.end()) return Status::Corruption(std::string("manifest: missing ") + key);
    *v = it->second;
    return Status::OK();
  };
  auto get_u64 = [&](const char* key, uint64_t* v) -> Status {
    std::string s;
    DOPPEL_RETURN_IF_ERROR(get(key, &s));
    char* endp = nullptr;
    errno = 0;
    const unsigned long long x = std::strtoull(s.c_str(), &endp, 10);
    if (s.empty() || *endp != '\0' || errno != 0) {
      return Status::Corruption(std::string("manifest: ") + key + " is not a number: " + s);
    }
    *v = x;
    return Status::OK();
  };
  auto get_u32 = [&](const char* key, uint32_t* v) -> Status {
    uint64_t x;
    DOPPEL_RETURN_IF_ERROR(get_u64(key, &x));
    if (x == 0 || x > kMaxSketchParam) return Status::Corruption(std::string("manifest: ") + key + " out of range");
    *v = static_cast<uint32_t>(x);
    return Status::OK();
  };
  const auto expected = ManifestFields(SketchParams{});
  for (const char* key : {"format", "text_tokenizer", "unicode", "code_tokenizer", "code_spellings", "grammars"}) {
    std::string v;
    // Indexes written before comment gaps were posted have no code_spellings line.
    if (std::string_view(key) == "code_spellings" && fields.count(key) == 0) {
      v = "names-strings";
    } else {
      DOPPEL_RETURN_IF_ERROR(get(key, &v));
    }
    if (v != expected.at(key)) {
      return Status::Incompatible(std::string("index ") + key + " is " + v + ", this build uses " +
                                  expected.at(key) + "; rebuild the index");
    }
  }
  DOPPEL_RETURN_IF_ERROR(get_u64("hash_seed", &p->hash_seed));
  DOPPEL_RETURN_IF_ERROR(get_u32("shingle_size", &p->shingle_size));
  DOPPEL_RETURN_IF_ERROR(get_u32("num_permutations", &p->num_permutations));
  DOPPEL_RETURN_IF_ERROR(get_u32("bands", &p->bands));
  DOPPEL_RETURN_IF_ERROR(get_u32("rows", &p->rows));
  DOPPEL_RETURN_IF_ERROR(get_u32("gram_size", &p->gram_size));
  DOPPEL_RETURN_IF_ERROR(get_u32("code_gram_size", &p->code_gram_size));
  DOPPEL_RETURN_IF_ERROR(get_u32("window", &p->window));
  DOPPEL_RETURN_IF_ERROR(get_u32("posting_cap", &p->posting_cap));
  if (static_cast<uint64_t>(p->bands) * p->rows > p->num_permutations || p->num_permutations > 65535) {
    return Status::Corruption("manifest: bands x rows exceeds num_permutations");
  }
  return Status::OK();
}

Status CompareParams(const SketchParams& stored, const SketchParams& requested) {
  const auto a = ManifestFields(stored);
  const auto b = ManifestFields(requested);
  std::string diff;
  for (const auto& [k, v] : a) {
    if (b.at(k) != v) {
      if (!diff.empty()) diff += "; ";
      diff += k + ": index " + v + ", requested " + b.at(k);
    }
  }
  if (diff.empty()) return Status::OK();
  return Status::Incompatible("index was built with other parameters (" + diff + ")");
}

}  // namespace doppel::codec
