#include "doppel/sketch.h"

#include <xxhash.h>

#include <algorithm>
#include <cstddef>

#include "doppel/code_tokenizer.h"
#include "doppel/shingle.h"
#include "doppel/token_stream.h"

namespace doppel {

DocumentSketcher::DocumentSketcher(const SketchParams& params)
    : params_(params),
      minhasher_(params.num_permutations, params.hash_seed),
      text_tokenizer_(NewTextTokenizer()),
      generic_code_tokenizer_(NewCodeTokenizer(nullptr)) {
  auto langs = Languages();
  if (langs.ok()) {
    for (const Language& l : **langs) {
      code_tokenizers_.emplace_back(l.name, NewCodeTokenizer(&l));
      code_lexers_.emplace_back(l.name, NewCodeLexer(&l));
    }
  }
}

const Tokenizer& DocumentSketcher::CodeTokenizerIn(const NamedTokenizers& tokenizers, std::string_view language) const {
  if (const Language* l = LookupLanguage(language)) {
    for (const auto& [name, tok] : tokenizers) {
      if (name == l->name) return *tok;
    }
  }
  return *generic_code_tokenizer_;
}

const Tokenizer& DocumentSketcher::CodeLexerFor(std::string_view language) const {
  return CodeTokenizerIn(code_lexers_, language);
}

const Tokenizer& DocumentSketcher::TokenizerFor(Kind kind, std::string_view language) const {
  return kind == Kind::kText ? *text_tokenizer_ : CodeTokenizerIn(code_tokenizers_, language);
}

void DocumentSketcher::SignatureOf(const std::vector<uint64_t>& token_hashes,
                                   Signature* sig) const {
  thread_local std::vector<uint64_t> shingles;
  HashKGrams(token_hashes, params_.shingle_size, params_.hash_seed, &shingles);
  minhasher_.Sketch(shingles, sig);
}

namespace {
uint64_t FingerprintSeed(const SketchParams& p) { return p.hash_seed ^ 0x5bd1e995u; }
uint64_t SpellingSeed(const SketchParams& p) { return p.hash_seed ^ 0x7370656c6c5f7631ull; }  // "spell_v1"
void SortUnique(std::vector<uint64_t>* v) {
  std::sort(v->begin(), v->end());
  v->erase(std::unique(v->begin(), v->end()), v->end());
}
}  // namespace

void DocumentSketcher::FingerprintsOf(const std::vector<uint64_t>& token_hashes, Kind kind,
                                      std::vector<Fingerprint>* fps) const {
  thread_local std::vector<uint64_t> grams;
  HashKGrams(token_hashes, FingerprintGramSize(kind), FingerprintSeed(params_), &grams);
  Winnow(grams, params_.window, fps);
}

uint64_t DocumentSketcher::FingerprintGram(const uint64_t* token_hashes, Kind kind) const {
  return HashKGram(token_hashes, FingerprintGramSize(kind), FingerprintSeed(params_));
}

uint64_t DocumentSketcher::SpellingKey(uint64_t name, uint64_t token_hash) const {
  const uint64_t both[2] = {name, token_hash};
  return HashKGram(both, 2, SpellingSeed(params_));
}

void DocumentSketcher::SpellingKeys(const Tokens& tokens, std::vector<uint64_t>* out) const {
  static const uint64_t kIdentifier = IdentifierTokenHash(), kString = StringTokenHash();
  out->clear();
  for (const Token& t : tokens) {
    if ((t.hash == kIdentifier || t.hash == kString) && t.name != 0) out->push_back(SpellingKey(t.name, t.hash));
  }
  SortUnique(out);
}

uint64_t DocumentSketcher::CommentKey(const CommentGap& gap) const { return SpellingKey(gap.hash, CommentGapHash()); }

Status DocumentSketcher::Sketch(Document doc, SketchedDocument* out) const {
  thread_local Tokens tokens;
  thread_local std::vector<uint64_t> hashes;
  thread_local std::vector<Fingerprint> fps;
  DOPPEL_RETURN_IF_ERROR(TokenizerFor(doc.kind, doc.language).Tokenize(doc.text, &tokens));
  TokenHashes(tokens, &hashes);
  out->num_tokens = static_cast<uint32_t>(tokens.size());
  out->content_hash = XXH3_64bits(doc.text.data(), doc.text.size());
  SignatureOf(hashes, &out->signature);
  // A document without tokens has the all-max signature; banding it would put every empty
  // document in one ever-growing bucket.
  out->band_keys.clear();
  if (!hashes.empty()) {
    BandKeys(out->signature, params_.bands, params_.rows, params_.hash_seed, &out->band_keys);
  }
  FingerprintsOf(hashes, doc.kind, &fps);
  out->fingerprints.clear();
  out->fingerprints.reserve(fps.size());
  for (const auto& f : fps) out->fingerprints.push_back(f.hash);
  out->token_stream.clear();
  out->spelling_keys.clear();
  if (doc.kind == Kind::kCode) {
    if (!EncodeTokenStream(tokens, &out->token_stream)) out->token_stream.clear();
    SpellingKeys(tokens, &out->spelling_keys);
    // Comment gaps are posted as spellings, so a comment's posting list counts the code
    // documents that hold it (the rare items of Filter::Check).
    thread_local std::vector<CommentGap> gaps;
    thread_local std::vector<uint64_t> comment_keys;
    CommentGaps(doc.text, tokens, 0, doc.text.size(), &gaps);
    comment_keys.clear();
    for (const CommentGap& g : gaps) comment_keys.push_back(CommentKey(g));
    SortUnique(&comment_keys);
    auto& keys = out->spelling_keys;  // both sorted: merged
    const auto mid = static_cast<std::ptrdiff_t>(keys.size());
    keys.insert(keys.end(), comment_keys.begin(), comment_keys.end());
    std::inplace_merge(keys.begin(), keys.begin() + mid, keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  }
  SortUnique(&out->fingerprints);
  out->doc = std::move(doc);
  return Status::OK();
}

}  // namespace doppel
