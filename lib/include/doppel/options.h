// Options: every knob of doppel, with its meaning, default and trade-off.
//
// SketchParams change what is stored: they are written to the index manifest and an index is
// refused when opened with different ones (changing any of them requires re-indexing).
// FilterOptions and Thresholds only change how a query is judged and may differ per call.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "doppel/verdict.h"

namespace doppel {

struct SketchParams {
  // Seed of every hash that is stored (shingles, band keys, fingerprints). Changing it makes
  // every stored hash different. Requires re-indexing.
  uint64_t hash_seed = 0x646f7070656c3031ULL;  // "doppel01"

  // Tokens per MinHash shingle. Larger values make the Jaccard estimate stricter (edits break
  // more shingles); smaller ones make unrelated text look more alike. Requires re-indexing.
  uint32_t shingle_size = 5;

  // MinHash permutations. The standard error of the Jaccard estimate is about 1/sqrt(n)
  // (Broder 1997); each costs 4 bytes per document and one mixing step per shingle.
  // Requires re-indexing.
  uint32_t num_permutations = 128;

  // LSH banding: `bands` bands of `rows` rows; bands * rows <= num_permutations. Two documents
  // of Jaccard similarity s share at least one band with probability 1 - (1 - s^rows)^bands; the
  // curve's steepest point is near (1/bands)^(1/rows) = 0.71 for 16 x 8: bands find answers
  // that are near copies as a whole; the fingerprints find passages. Requires re-indexing.
  uint32_t bands = 16;
  uint32_t rows = 8;

  // Fingerprints: winnowed hashes of `gram_size`-token k-grams, one minimum per window of
  // `window` consecutive k-grams (Schleimer, Wilkerson, Aiken 2003). Every shared run of at
  // least window + gram_size - 1 tokens (11 by default) yields a shared fingerprint; about
  // 2 / (window + 1) of the k-grams are kept. Requires re-indexing.
  uint32_t gram_size = 4;
  uint32_t window = 8;
  // k-gram size for code. With identifiers and literals abstracted, short code k-grams
  // ("ID ( ID ) ;") occur in most files and select no useful candidates, so code uses longer
  // ones: every shared run of window + code_gram_size - 1 = 17 code tokens (about two lines)
  // yields a shared fingerprint. Requires re-indexing.
  uint32_t code_gram_size = 10;

  // A fingerprint found in more than this many documents stops growing its posting list and is
  // stored as saturated: it is boilerplate and never selects candidates. Requires re-indexing.
  uint32_t posting_cap = 4096;
};

// Per-kind thresholds that turn alignment results into a verdict.
struct Thresholds {
  // A chained span must cover at least this many query tokens with shared k-grams to be
  // reported at all. Lower finds shorter quotes and more coincidences.
  uint32_t min_span_tokens = 12;
  // A source whose spans cover at least this many query tokens makes the answer `redact`.
  uint32_t redact_tokens = 30;
  // ... or at least this share of the answer's tokens (with at least min_span_tokens).
  double redact_containment = 0.5;
  // When this share of the answer's tokens is covered by protected spans, the whole answer is
  // blocked instead of redacted.
  double block_containment = 0.8;
};

// Code tokens are denser than words (a line of code is 5–12 tokens) and short code is often
// common code, so code spans must be longer before they count.
inline Thresholds DefaultCodeThresholds() {
  Thresholds t;
  t.min_span_tokens = 20;
  t.redact_tokens = 25;  // weighted by fingerprint rarity (FilterOptions::code_evidence_df)
  return t;
}

struct FilterOptions {
  Thresholds text;
  Thresholds code = DefaultCodeThresholds();
  // A code span whose identifiers are consistent with one renaming (a one-to-one map between
  // the answer's names and the source's) for less than this share of their occurrences is code
  // that merely looks alike: it is reported (annotate) but does not redact or block.
  double min_renaming = 0.8;
  // ... and a span of fewer than short_span_tokens matched tokens needs min_renaming_short: a
  // long span renamed 80% consistently is rarely chance, a short one with one name out of
  // place is most often code of the same shape. On the code suite 0.95 below 40 tokens cut
  // false flags on novel functions from 3.1% to 2.2% at no cost in recall (a copy renames
  // consistently: its short spans score 1).
  double min_renaming_short = 0.95;
  uint32_t short_span_tokens = 40;
  // ... and a code span needs at least this many occurrences of names already used in it
  // (the renaming check's evidence: code whose names each occur once renames "perfectly").
  // Off by default: on the code suite, 4 cut false flags on novel functions from 29% to 22% but
  // recall on copies of >= 40 tokens from 96% to 91% (bench/README.md).
  uint32_t min_renaming_evidence = 0;
  // Code evidence: a matched code token weighs min(1, code_evidence_df / df), where df is the
  // number of protected documents holding the rarest stored fingerprint that covers it (0 when
  // none covers it), and a source makes an answer redacted when ONE of its code spans weighs at
  // least code.redact_tokens. Shapes many documents share (loops over an index, error checks,
  // switch tables) are thus no evidence of a copy, while a unique function copied whole is, even
  // when short. 0 turns the weighting off: every matched token weighs 1 and a source's spans add
  // up. On the code suite (bench/README.md) 2 with code.redact_tokens 20 raised whole-function
  // recall from 82–84% to 83–87% and halved false flags on novel functions (9.1% → 4.0%).
  uint32_t code_evidence_df = 2;
  // Code: a span whose aligned string and number literals (at least two) agree for less than
  // this share only annotates: a copy with renamed names keeps its values, code that merely
  // shares a shape does not. Strings are compared without their quotes and prefixes, so a
  // formatter's quote style does not count. 0 turns the check off. On the code suite 0.5 cut
  // false flags on novel functions from 3.6% to 2.9% and cost one reformatted copy in 550.
  double min_literal_agreement = 0.5;
  // Code: a span that covers at least this share of its code block's tokens (the answer, or
  // one fenced block, is a whole function copied) weighs its tokens by min(1, code_whole_df /
  // df) instead, and its tokens that no stored fingerprint covers (winnowing keeps few of a
  // short block's k-grams) weigh as its covered ones do on average: a short function copied
  // whole is a copy even when a few other documents share its shape, while getters and
  // one-line wrappers, whose shapes hundreds of documents share, still weigh little. On the
  // code suite 0.8 and 16 raised whole-function recall by 5–8 points, short false flags from
  // 0.18% to 0.73% and novel ones from 2.91% to 3.09%; with code_whole_df 0 (every matched
  // token of such a span counts) short false flags rose to 2.4%. code_whole_share 0 turns this
  // off. A span under code_whole_blocks_min_tokens matched tokens that ends its block with a
  // header whose body is not there (a signature alone, or a streamed prefix that ends at one:
  // EndsInHeader) is no whole function; this changed no verdict of the code suite's 3,850
  // answers, and a lone protected signature is no longer blocked, in one answer or while it
  // streams.
  double code_whole_share = 0.8;
  uint32_t code_whole_df = 16;
  // Code: a span that is itself whole blocks — it opens at least one block (Language::block_start,
  // or indentation), closes every block it opens and none it did not, ends closing one, starts
  // at the answer's outermost block depth (a function, not the body of an `if`), matches
  // code_whole_share of its own tokens and at least code_whole_blocks_min_tokens — is a whole
  // function copied too, inside new code, and weighs as above. On the code suite
  // (bench/README.md) it raised embedded copies caught with line IoU >= 0.8 from 93.3% to 95.6%
  // and whole functions by up to 0.2 points, with per-function false flags unchanged (0.55%);
  // scanning 4,409 files of new code it flags 235 instead of 206 (measured with max_candidates
  // 16; 226 with 12). Without the minimum it caught 95.8% but flagged 268 files, nearly all for short idioms a small protected corpus holds a few
  // times (Rust `impl fmt::Debug`, `use` lists, Go `String()` methods); 24 tokens: 95.6% and 249,
  // 40: 94.9% and 223.
  bool code_whole_blocks = true;
  uint32_t code_whole_blocks_min_tokens = 30;
  // Code: the words of a code block's comments, docstrings and string literals are also read as
  // prose (when they are at least text.min_span_tokens words), so protected prose put in code (a
  // passage in a string a program prints, a book's paragraph as a comment) is compared with
  // protected prose. Such a passage adds its share of the block (its words against the block's
  // code tokens and words) to the code's, and is redacted as code: whole lines, the marker a
  // comment, taking in the whole docstring, string or comment it lies in. Skipped against an
  // index holding no text fingerprints (Index::MayHoldGrams).
  bool prose_in_code = true;
  // Code outside fences in a Markdown answer: runs of lines that read as code (pasted between
  // sentences without a fence, or indented in a list item; SplitBareCode) are read as a fenced
  // block without a tag is: by the generic lexer, in the languages whose grammars read them
  // (one per family, up to three) or that their candidates lead to, and as prose. Off, such lines are prose only, which never matches code documents.
  bool bare_code = true;
  // An answer that is one JSON object or array (a model's structured output, a tool call, a
  // message list), or one in a Markdown answer's ```json block, untagged fence or lines of its
  // own, is also read as what its strings hold (ReadJsonAnswer in
  // doppel/json_answer.h): code under a key such as "code", or beside a "language" or a file
  // name, as a block in that language; other strings with blanks as Markdown; a string that
  // holds JSON (a tool call's "arguments") in turn. Spans are the answer's bytes, a redaction is
  // written into the strings escaped as they are, so the answer stays JSON; an annotated one is
  // left as written. The verdict of that reading stands when it is as severe as the answer's as
  // written, or more. Off, such code is one line of prose with its escapes, which never matches
  // code documents.
  bool json_strings = true;
  // A fenced patch (a unified diff, or an apply_patch patch; ReadDiff in doppel/markdown.h) is
  // read as its files' new sides: context and added lines without their `+` or space column, in
  // the language of each file's name. Off, it is read as written, where the column splits every
  // line's first token from the code's.
  bool diff_code = true;
  // Code: a span that keeps this source's own names and strings is this source's code, not a
  // shape many documents share, and weighs every matched token fully. Its rare items are the
  // distinct identifiers, and string literals of at least code_literal_bytes bytes (quotes
  // included), aligned to the same spelling in the source that at most code_name_df protected
  // code documents use (the index posts every code document's spellings), a string counting one
  // item for every 48 of its bytes (a message copied with its function, as a renamed copy keeps
  // it, is as telling as two names); code_rare_items of them make the span full evidence (0: off). The index posts each code document's comments
  // and docstrings too (CommentGaps: the words between two tokens, of at least 16 bytes): a
  // comment of the answer inside the span (or just before it) that the source holds and at most
  // code_name_df documents hold is one rare item for every 8 of its words (one at least). A
  // copy that keeps its names (verbatim, reformatted) or its messages, comments and docstrings
  // (renamed too) is thus caught when its shape alone is common (bench/README.md). In a code
  // block under min_candidate_hits x (window + code_gram_size - 1) tokens, too short for
  // winnowing to promise that many shared fingerprints, rare comments and rare strings of at
  // least code_literal_bytes bytes also select candidates, each counting as a shared
  // fingerprint (a 15-token method is often found by nothing else: its source's winnowing picks
  // its neighbours' k-grams). A code answer most of whose fingerprints are
  // boilerplate (a table, repetitive code) also selects candidates through its names and strings (of any
  // length) that at most code_name_df documents use, each counting as a shared fingerprint
  // toward min_candidate_hits, and is aligned on tokens that keep their literal values (every
  // row of a table has one abstracted shape); its spans still need rare items to weigh fully.
  // 0 turns that off too.
  uint32_t code_rare_items = 2;
  uint32_t code_name_df = 8;
  uint32_t code_literal_bytes = 16;
  // A whole block (code_whole_share) copied with every name as its source spells it, at least
  // this many distinct names and none renamed (a verbatim or reformatted copy), needs one rare
  // item (a name, a long string or a comment) instead of code_rare_items (0: off). A generated
  // wrapper that differs from its siblings for each platform only by its own name, or a short
  // function whose one rare call places it, is thus caught when kept whole; a renamed
  // look-alike is not. On the code suite 3 caught two more verbatim and reformatted copies
  // (C, Go) with false flags unchanged.
  uint32_t code_verbatim_names = 3;
  // A whole block shorter than code.min_span_tokens is still reported when at least this many
  // of its tokens match (0: never), and counts only with code_rare_items rare items (any block
  // counts when code_rare_items is 0). A short function copied with its own names is a copy; a
  // 12-token shape is most often a getter or a wrapper. On the code suite 12 raised verbatim
  // recall from 97.5% to 98.2% and reformatted from 97.5% to 98.4%, with false flags unchanged
  // (0.55%); without the rare-item condition, 16 raised short false flags from 0.55% to 1.82%.
  uint32_t code_whole_min_tokens = 12;
  // Code: a whole block (code_whole_share above) whose fingerprints that its source holds no
  // more than this many protected documents hold all together — its joint document frequency,
  // 1: only its source holds that combination — weighs every matched token fully, and counts under
  // code.min_span_tokens (from code_whole_min_tokens) as a block with rare items does. Each
  // piece of a short function's shape can be common while the whole shape is not; a renamed
  // copy keeps no name of its source, so that shape is its only evidence. 0 turns it off. On
  // the code suite 1 raised renamed recall from 96.9% to 98.4% and renamed+reformatted from
  // 96.5% to 98.2%, with false flags on novel functions 0.55% to 0.73% and on short ones 0.55%
  // to 1.09% (2: 98.7% and 98.2%, short false flags 1.82%; only under the span minimum with at
  // least two fingerprints: 97.8% and 96.9%; those rows were measured before fingerprints the
  // source does not hold were left out, which took one novel and one short false flag off).
  uint32_t code_whole_joint_df = 1;
  // Fingerprints in more than this many documents do not select candidates (their posting
  // lists are still read to know that). Lower is faster and ignores more common phrases.
  uint32_t max_document_frequency = 512;
  // How many candidate documents are aligned per query, best first. More finds more sources of
  // a mixed answer and costs one alignment each. 12: on the code suite, 16 caught one more
  // renamed and reformatted function of 550 and flagged 9 more of 4,409 new files in the code
  // scan; 12 takes the p99 of a 100-line code check from 5.4 to 4.5 ms (bench/README.md). A
  // code block too short for winnowing to promise min_candidate_hits shared fingerprints aligns
  // up to code_whole_df when that is more: copied whole, it weighs fully when that many
  // documents hold its shape, and ties among them fall to the lower ids (on the code suite:
  // Ruby renamed 98.5 to 99.0%, false flags unchanged).
  uint32_t max_candidates = 12;
  // A candidate needs at least this many shared (non-boilerplate) fingerprints (for a
  // table-like code answer, rare spellings count as well: code_rare_items).
  uint32_t min_candidate_hits = 2;
  // Alignment seed length in tokens (every k-gram of the candidate, not only the winnowed
  // ones). Shorter seeds survive denser edits and make more chance seeds; code seeds are longer
  // because abstracted code repeats short shapes everywhere.
  uint32_t seed_size = 3;
  uint32_t code_seed_size = 6;
  // Seeds chain into one span across at most this many unmatched query tokens, and when their
  // diagonals (source position - query position) differ by at most max_diagonal_drift.
  uint32_t max_gap = 24;
  uint32_t max_diagonal_drift = 12;
  // Tokens of recently aligned documents kept in memory (about 40 bytes each, the token and its
  // hash; the default is at most ~170 MB). A document not kept is read from the index again
  // (code: its stored token stream decoded; text: re-tokenized). On the 500 MB code index, the
  // second check of 1,000 answers read p99 4.9-5.0 ms with 32 million against 7.2-8.6 ms, at a
  // peak RSS of 680 MB instead of 497 (16 million: the same RSS, as the candidates fit;
  // bench/README.md; `doppel-filter --token-cache-tokens`). 0 disables the cache (as does
  // anything under 16: the budget is split over 16 shards). Filter::token_cache_stats() tells
  // how it is used.
  size_t token_cache_tokens = size_t{1} << 22;
  // A stored code document of at least this many tokens that the token cache does not hold is
  // read in place (doppel/token_stream.h): it is screened for the answer's fingerprints and
  // aligned on the token hashes of the stored stream, and only the tokens of the spans found
  // are decoded; it is not cached. One whose fingerprints anchor nothing (aligned then on its
  // names or literals) is decoded whole and cached as any other. The verdicts are the same (a
  // test compares them); the time is not: decoding and sizing a large source took more than the
  // rest of its check, mostly in first touches of fresh memory. On the 500 MB code index, a
  // 100-line check's p99 read 4.29-4.37 ms with 4096 against 6.23-6.55 ms with 0 (2048: 4.25-4.79,
  // 8192: 4.58-4.87), and 4.32-4.52 against 5.23-5.62 ms beside the code before it, which decoded
  // every candidate (bench/README.md). 0: every candidate decoded whole (the scan's default:
  // ScanFilterOptions).
  uint32_t code_window_tokens = 4096;
  // Text put in place of a redacted span, and of a blocked answer.
  std::string redact_marker = "[redacted: similar to {source}]";
  std::string block_message = "[blocked: this answer reproduces protected content]";
  // Added to an annotated answer, after it: a comment line in the answer's language when the
  // whole answer is code, else a paragraph. {sources} = the sources its spans name, each with
  // its metadata's license and url (or source_url, repository) when it has them:
  // "lib/a.py (license: MIT, https://example.org/a)". Empty: an annotated answer is unchanged.
  std::string annotate_message = "[note: this answer resembles {sources}]";
  // The action taken at each severity, indexed by the action the thresholds choose (allow,
  // annotate, redact, block). The default takes each severity's own action; a policy may, for
  // example, block whatever would be redacted, or only annotate what would be blocked.
  std::array<Action, 4> actions = {Action::kAllow, Action::kAnnotate, Action::kRedact,
                                   Action::kBlock};
};

}  // namespace doppel
