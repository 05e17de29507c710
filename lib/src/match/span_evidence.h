// span_evidence.h — what an aligned code span holds as evidence of a copy: the renaming check
// (one consistent mapping of the answer's names onto the source's), names kept verbatim, imports
// that name other code, anchors on literals for a source that repeats a shape, and the joint
// document frequency of a block's fingerprints. Used by a check (filter.cc) to judge each span.
// Internal to lib/src/match.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "align.h"
#include "code_blocks.h"
#include "doppel/code_tokenizer.h"
#include "doppel/index.h"
#include "doppel/token.h"
#include "doppel/winnow.h"

namespace doppel {

// The spelling hash of an identifier token, 0 for any other token (literals carry their
// spelling too, for the literal check, but are not names).
// `id_hash` is IdentifierTokenHash(), looked up once by the caller (this runs per aligned pair).
inline uint64_t IdName(const Token& t, uint64_t id_hash) { return t.hash == id_hash ? t.name : 0; }

// Sets a span's bounds and matched count from its pairs (not empty).
void BoundToPairs(AlignedSpan* a);

// Keeps pairs [first, last) of a span (first < last), with the bounds they give.
void KeepPairs(AlignedSpan* a, size_t first, size_t last);

// A chain can run from chance alignments in neighbouring code into a copy across a gap, or from
// one copy into the next (two functions copied with new code or a dropped line between them). A
// copy's tokens agree on one diagonal (cosmetic changes neither add nor drop compared tokens; its
// pairs may still skip tokens that made no seed), so `a` is cut where its pairs skip tokens that
// do not agree on one diagonal across a query line without tokens (a blank or comment line: where
// one function ends and another begins). True when it is: its runs, in order, are in `runs`,
// each judged as a span of its own (a run of chance alignments does not count, and a run that
// does not count is reported only when it is the longest).
bool CutAtGaps(const AlignedSpan& a, const Tokens& q, const Tokens& s, std::vector<AlignedSpan>* runs);

// Imports that name other code than their source's: an import statement of the answer (its
// tokens carry Token::import) with a name, path or string spelled otherwise than the source's
// aligned one. Every block of imports has the shape of every other, so such a statement is no
// evidence of a copy, while a copy keeps its imports as they are (renaming is for the code's
// own names). Sets (*foreign)[i] for the pairs of a.pairs in such statements and returns how
// many; leaves `foreign` empty and returns 0 when there are none, the common case.
uint32_t ForeignImports(const AlignedSpan& a, const Tokens& q, const Tokens& s, std::vector<char>* foreign);

// Drops the pairs of foreign imports (ForeignImports) at either end of `a`: a span starts and
// ends in code its source holds, so the answer's own imports are neither scored nor redacted.
// Those in the middle stay in the span and are left out of its evidence. False when no pair is
// left. `foreign` is scratch space (ForeignImports' flags for the span before trimming).
bool TrimForeignImports(AlignedSpan* a, const Tokens& q, const Tokens& s, std::vector<char>* foreign);

// SpelledHash of each of `tokens`.
void SpelledHashes(const Tokens& tokens, std::vector<uint64_t>* out);

// Code tokens' hashes with names as well as literal values mixed in: what a verbatim copy keeps.
void NamedHashes(const Tokens& tokens, std::vector<uint64_t>* out);

// Anchors for a source that repeats every one of the answer's fingerprints (a file of test
// cases, a table): where a k-gram of the answer at one of its fingerprints recurs with the same
// strings and numbers. Names stay abstracted, so a renamed copy keeps its literals; only grams
// holding a literal are looked for, and each is kept at its first `keep` places. The first
// occurrences of the fingerprints alone anchored such an answer at a repetition with other
// values, which the literal check then judged a look-alike. `qs` and `ss` are the SpelledHashes
// of the answer's tokens `q` and of the source's. With their NamedHashes (`once`), where the
// gram recurs with the same names too: only grams holding a name or literal are looked for, and
// only those the source holds at exactly one place anchor (a gram of common names recurs on
// every repetition and tells none apart).
void LiteralAnchors(const Tokens& q, const std::vector<uint64_t>& qs, const std::vector<Fingerprint>& fps,
                    const std::vector<uint64_t>& ss, uint32_t k, size_t keep, std::vector<Anchor>* out,
                    bool once = false);

// Whether at most `max_df` documents hold every fingerprint of answer tokens [begin, end) that
// `source` holds too — the block's joint document frequency, `source` included, and common code
// read beside the index (Posting::common) counted with the protected documents. Fingerprints the
// source does not hold (winnowing picks other k-grams near a span's edges and gaps) and
// saturated ones are left out, and so is the common side of a list the common index saturates
// (it does not narrow which common documents hold them all); false when none is left, or while
// no fingerprint has narrowed the common side.
bool JointlyRare(const std::vector<Fingerprint>& fps, const std::vector<uint32_t>& fp_gram,
                 const std::vector<Posting>& postings, uint32_t gram_k, uint32_t begin, uint32_t end,
                 uint32_t source, uint32_t max_df);

// Whether no blank (or comment-only) line lies between two tokens `a` and `b` that follow each
// other: CheckRenaming extends a span's ends only within such a run of lines, so a source read in
// place decodes as far as a run reaches (Filter::Check).
inline bool SameRunOfLines(const Token& a, const Token& b) { return a.line + 1 >= b.line; }

// The renaming check for a code span. Finds the best one-to-one renaming between the query's
// and the source's identifiers over the aligned pairs (greedy on pair counts: exact for the
// renamings that occur in copies, where each name maps to one name; a lower bound otherwise),
// trims the span's ends back to the outermost identifiers consistent with it (chaining and
// extension can run into neighbouring code whose shape matches but whose names do not), and
// returns the share of identifier occurrences in the trimmed span that are consistent; -1 when
// the span has no identifiers.
double CheckRenaming(AlignedSpan* a, const Tokens& q, const Tokens& s, const std::vector<int8_t>& block_delta,
                     uint32_t* repeats);

// The distinct names of span `a` when every identifier it pairs (but those `skip` marks) is
// spelled as in the source, none renamed; 0 when one is renamed or there is none.
uint32_t VerbatimNames(const AlignedSpan& a, const std::vector<char>& skip, const Tokens& q, const Tokens& s);

}  // namespace doppel
