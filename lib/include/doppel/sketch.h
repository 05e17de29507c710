// DocumentSketcher: a document → everything the index stores about it.
//
// Tokenizes by the document's kind, then computes the MinHash signature, its LSH band keys and
// the winnowed fingerprints, all with the index's SketchParams.
// Thread-safety: immutable after construction; Sketch may run concurrently.
#pragma once

#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "doppel/document.h"
#include "doppel/lsh.h"
#include "doppel/minhash.h"
#include "doppel/options.h"
#include "doppel/status.h"
#include "doppel/tokenizer.h"
#include "doppel/winnow.h"

namespace doppel {

struct CommentGap;

struct SketchedDocument {
  Document doc;
  uint32_t num_tokens = 0;
  uint64_t content_hash = 0;            // xxh3 of the text, to skip unchanged re-adds
  Signature signature;
  std::vector<BandKey> band_keys;
  std::vector<uint64_t> fingerprints;   // winnowed k-gram hashes, sorted and unique
  // Code: SpellingKey of each distinct identifier and string literal spelling, sorted. Stored
  // as code postings beside the fingerprints, so a spelling's posting list counts the code
  // documents that use it: a copy that keeps names and strings few documents use is told from
  // code that merely shares a shape. Its comment gaps (CommentGaps) are posted the same way.
  std::vector<uint64_t> spelling_keys;
  std::string token_stream;             // code: the encoded tokens (doppel/token_stream.h)
};

// Tokens and derived hashes of a query or document, kept for alignment.
struct TokenizedText {
  Tokens tokens;
  std::vector<uint64_t> token_hashes;
};

class DocumentSketcher {
 public:
  explicit DocumentSketcher(const SketchParams& params);
  const SketchParams& params() const { return params_; }
  // The tokenizer for a kind; code in a language without a grammar (or none named) gets the
  // generic code lexer.
  const Tokenizer& TokenizerFor(Kind kind, std::string_view language = "") const;
  // The first-pass lexer for code in `language` (NewCodeLexer); the generic lexer without a
  // grammar.
  const Tokenizer& CodeLexerFor(std::string_view language) const;
  // Fails on invalid UTF-8 (naming the offset) and on documents over the size limit.
  Status Sketch(Document doc, SketchedDocument* out) const;
  // The parts of Sketch a query needs, from already computed token hashes.
  void SignatureOf(const std::vector<uint64_t>& token_hashes, Signature* sig) const;
  void FingerprintsOf(const std::vector<uint64_t>& token_hashes, Kind kind,
                      std::vector<Fingerprint>* fps) const;
  // The tokens of one fingerprint k-gram and the hash FingerprintsOf gives the k-gram of
  // `token_hashes[0, FingerprintGramSize(kind))`.
  uint32_t FingerprintGramSize(Kind kind) const {
    return kind == Kind::kCode ? params_.code_gram_size : params_.gram_size;
  }
  uint64_t FingerprintGram(const uint64_t* token_hashes, Kind kind) const;
  // The posting key of a code token's spelling (Token::name of an identifier or a string
  // literal, whose normalized hash `token_hash` tells the two apart): a code fingerprint key
  // that no k-gram hash is expected to meet (another seed).
  uint64_t SpellingKey(uint64_t name, uint64_t token_hash) const;
  // The SpellingKey of each distinct identifier and string literal spelling of `tokens`, sorted:
  // the keys the index posts for a code document.
  void SpellingKeys(const Tokens& tokens, std::vector<uint64_t>* out) const;
  // The posting key of a comment gap (doppel/code_tokenizer.h), posted beside the spellings.
  uint64_t CommentKey(const CommentGap& gap) const;

 private:
  SketchParams params_;
  MinHasher minhasher_;
  std::unique_ptr<Tokenizer> text_tokenizer_;
  std::unique_ptr<Tokenizer> generic_code_tokenizer_;
  using NamedTokenizers = std::vector<std::pair<std::string, std::unique_ptr<Tokenizer>>>;
  // The tokenizer of `language` in `tokenizers`, or the generic code lexer.
  const Tokenizer& CodeTokenizerIn(const NamedTokenizers& tokenizers, std::string_view language) const;
  NamedTokenizers code_tokenizers_, code_lexers_;
};

}  // namespace doppel
