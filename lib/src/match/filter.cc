#include "doppel/filter.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "../index/codec.h"
#include "align.h"
#include "candidates.h"
#include "code_blocks.h"
#include "redaction.h"
#include "span_evidence.h"
#include "token_cache.h"
#include "doppel/code_tokenizer.h"
#include "doppel/format.h"
#include "doppel/json_answer.h"
#include "doppel/language.h"
#include "doppel/markdown.h"
#include "doppel/shingle.h"
#include "doppel/token_stream.h"

namespace doppel {

Filter::Filter(std::shared_ptr<Index> index, const FilterOptions& options)
    : index_(std::move(index)),
      options_(options),
      sketcher_(index_->params()),
      token_cache_(std::make_unique<TokenCache>(options.token_cache_tokens)) {}

Filter::~Filter() = default;

Result<std::unique_ptr<Filter>> Filter::Open(const std::string& dir, const FilterOptions& options,
                                             bool follow_writer) {
  IndexOptions io;
  io.follow_writer = follow_writer;
  return Open(dir, options, io);
}

Result<std::unique_ptr<Filter>> Filter::Open(const std::string& dir, const FilterOptions& options,
                                             const IndexOptions& index_options) {
  IndexOptions io = index_options;
  io.read_only = true;
  if (io.follow_writer) {
    // The strict open refuses a damaged directory that a secondary would read an older state of.
    IndexOptions strict = io;
    strict.follow_writer = false;
    DOPPEL_RETURN_IF_ERROR(Index::Open(dir, strict).status());
  }
  DOPPEL_ASSIGN_OR_RETURN(std::unique_ptr<Index> index, Index::Open(dir, io));
  return std::unique_ptr<Filter>(new Filter(std::shared_ptr<Index>(std::move(index)), options));
}

std::unique_ptr<Filter> Filter::FromIndex(std::shared_ptr<Index> index,
                                          const FilterOptions& options) {
  return std::unique_ptr<Filter>(new Filter(std::move(index), options));
}

namespace {

TextRange RangeOf(const Tokens& t, uint32_t begin, uint32_t end) {
  return TextRange{t[begin].begin, t[end - 1].end, t[begin].line, t[end - 1].line};
}

// One part of the answer read with one normalization: all prose, or one code block.
struct Stream {
  Kind kind = Kind::kText;
  std::string language;
  std::string tag;  // code: the language as the answer names it (a fence tag), known or not
  Tokens tokens;
  std::vector<uint64_t> hashes;
  uint32_t text_begin = 0, text_end = 0;  // code: the block's bytes in the answer
  // Another reading of the block that code stream `shadow_of` is the first reading of (-1: a
  // stream of its own): as prose (code of no grammar's language, or of none, may be text in a
  // fence), the words of its comments and strings, or code in another language (a guess, a
  // lead). The block's tokens count once, as the largest share one of its readings covers.
  int shadow_of = -1;
  // Code: a block kept to be read again in the language its candidates lead to: a fenced block
  // its tag's grammar did not read cleanly, whose `lead`, found while it is checked, is the
  // language (one with a grammar) of the first candidate of another family that is ranked as
  // high as any of the tag's family, or of a larger language of the tag's family (C++ under `h`),
  // and holds at least kRereadLeadShare of the block's fingerprints; or a block of no grammar's language (the generic lexer's reading), whose lead
  // is the language of the first candidate that holds as many, of a family the block is not
  // read in yet (`read_in`: the languages the block is read in of those GuessCodeLanguages
  // found, all of them but for a long block that the first one's grammar reads whole
  // (kLongBlockBytes); none when it found none or did not run, the tag naming a language without
  // a grammar).
  struct Reread {
    std::string code;  // as tokenized
    uint32_t base_offset = 0, base_line = 1;
    std::function<void(Tokens*)> to_answer;  // puts the tokens' offsets back in the answer
    // Bytes the tag's grammar left unread (TokenizeCountingUnread); without a grammar, all.
    uint32_t unread = 0;
    size_t nonblank = 0;  // of the block's bytes
    // The most of `nonblank` the lead's grammar may leave unread for its reading to be kept:
    // kCleanReadShare when a tag's grammar read the block, kMisreadShare when none did.
    double max_share = 0;
    std::vector<std::string> read_in;  // the guessed languages the block is read in (none: none, or no guess)
    std::string lead;
  };
  std::shared_ptr<Reread> reread;
  // A reading in a language found for the block rather than named by it: a Reread's lead, or
  // one of several families whose grammars read an untagged block as well (GuessCodeLanguages).
  // When it is the block's best reading, its language is the block's (its brackets bound
  // redactions, and its comments hold markers unless the fence names a language the generic
  // lexer reads); when not, it is a look-alike's and bounds nothing.
  bool found_reading = false;
  // A patch's file (ReadDiff): its lines in the answer begin with the column marking them, which
  // a redaction's marker line takes too; in a list item or a quote, after its container's prefix
  // (`diff_container`: the Segment's prefix, what precedes the fence on its line).
  bool diff = false;
  std::string diff_container;
  // Code read from a copy of its block whose bytes in the answer are not code (StripContainer:
  // a quote's `> ` prefixes left out, an HTML block as its page shows it).
  bool stripped = false;
  // Another reading of `st`'s block: its bytes and whether it is a patch's, or read from a copy.
  void SameBlockAs(const Stream& st) {
    text_begin = st.text_begin;
    text_end = st.text_end;
    diff = st.diff;
    diff_container = st.diff_container;
    stripped = st.stripped;
  }
  // Code: the comment gaps of its tokens (CommentGaps), for the rare-items rule, each token's
  // bytes in the text read (a string's, which decides whether it is long), and the indentation of
  // its logical lines: all of the text as read (CheckRun::KeepReadText), an HTML block's with its
  // character references decoded.
  std::vector<CommentGap> comment_gaps;
  std::vector<uint32_t> read_bytes;
  std::vector<int32_t> indents;  // IndentsFor its tokens (none unless its blocks are indentation)
  // Prose: the words of a code block's comments, docstrings and string literals (ProseOfCode),
  // a reading of the block that adds its words' share of the block (its code tokens and words)
  // to the code's share, and competes with no other reading.
  bool prose_of_code = false;
};

// A candidate of another family leads a fenced block to be read in its language (Stream::Reread)
// when its hits (the block's distinct fingerprints it holds; in a short or table-like block also
// its rare names, strings and comments) are at least this share of the block's distinct
// fingerprints. Another family's code that merely looks like a window of rightly tagged code
// has a few: under an eighth in all but 4 of the 240 such leads in 1,000 latency benchmark
// checks (500 answers, each checked twice), whose verdicts stay the same with this bound. A copy
// under a wrong tag has more, as far as the wrong grammar's tokens still match its source's.
// A block of no grammar's language is led by a candidate of any family it is not read in yet
// holding as many: the generic lexer's tokens differ from every grammar's, and a copy's still
// share many fingerprints with its source.
constexpr double kRereadLeadShare = 0.125;

// An untagged block is read in every language GuessCodeLanguages finds for it (up to three
// families, when their grammars read its first 2-16 KB alike), unless it is longer than this and
// the first one's grammar reads all of it, leaving nothing unread: then that reading is the
// block's. Another grammar seldom reads a long text of real code without an error, while data
// reads alike in many. Of 119 files of 64 KB to 2 MB of the code corpus, 20 were guessed in
// several languages: the first one's grammar read 15 whole, each in its own language, and left
// some of the other 5 unread, each in another language. 3.5 MB of JSON rows
// (`{"a":1}` a line), which JavaScript's, Python's and Ruby's grammars all read whole, took 6.5 s
// and 1.5 GB in three readings (tree-sitter reads dense code at 1-3 MB a second and keeps about
// 100 bytes of syntax tree per byte read). A code assistant's block is a few KB.
constexpr size_t kLongBlockBytes = 64 * 1024;

// Protected prose put in code: the words of a code block's comments and docstrings (the text
// between its tokens) and of its string literals, in order, as prose tokens at their places in
// the answer. `tokens` are the block's code tokens (answer offsets), `body` the block's text at
// answer offset `body_offset`, beginning on line `line`. A backslash and the character after it
// (a string's escape: `\n`, `\"`) separate words, so text printed line by line reads as it is.
Status ProseOfCode(const Tokenizer& prose, const Tokens& tokens, std::string_view body, uint32_t body_offset,
                   uint32_t line, Tokens* out) {
  out->clear();
  static const uint64_t kStr = StringTokenHash();
  const uint32_t end = body_offset + static_cast<uint32_t>(body.size());
  uint32_t counted_to = body_offset;  // `line` is the line of this offset
  Tokens part;
  auto read = [&](uint32_t b, uint32_t e) -> Status {
    b = std::max(b, body_offset);
    e = std::min(e, end);
    while (b < e) {
      const size_t slash = body.substr(b - body_offset, e - b).find('\\');
      const uint32_t stop = slash == std::string_view::npos ? e : b + static_cast<uint32_t>(slash);
      if (stop > b) {
        line += static_cast<uint32_t>(std::count(body.begin() + (counted_to - body_offset), body.begin() + (b - body_offset), '\n'));
        counted_to = b;
        DOPPEL_RETURN_IF_ERROR(prose.Tokenize(body.substr(b - body_offset, stop - b), &part, b, line));
        out->insert(out->end(), part.begin(), part.end());
      }
      // Past the backslash and the character after it, whole (`\│` in a box drawing).
      b = stop + 1;
      if (b < e) ++b;
      while (b < e && (static_cast<unsigned char>(body[b - body_offset]) & 0xC0) == 0x80) ++b;
    }
    return Status::OK();
  };
  uint32_t from = body_offset;
  for (const Token& t : tokens) {
    if (t.begin > from) DOPPEL_RETURN_IF_ERROR(read(from, t.begin));
    if (t.hash == kStr) DOPPEL_RETURN_IF_ERROR(read(std::max(from, t.begin), t.end));
    from = std::max(from, t.end);
  }
  return read(from, end);
}

// A span of the answer aligned with a source (step 3 of a check), before the best are kept.
struct Found {
  Span span;
  size_t stream;
  uint32_t q_begin, q_end;
  double evidence;  // matched tokens that count toward redact_tokens
  double needed;    // the evidence one code span needs alone (weighted code)
  bool counts;        // may redact or block (not merely alike code)
  bool consistent = false;  // code: a consistent renaming with agreeing literals (counts or not)
  bool other_literals = false;  // code: a consistent renaming whose literals mostly differ
  // Tokens of the span, on both sides, that are not aligned: a word the answer adds, one the
  // source has that the answer does not (0: the passage as the source has it).
  uint32_t unaligned = 0;
};

// What a stream's lookups found (step 2 of a check), for aligning its candidates (step 3).
struct StreamLookups {
  StreamLookups() = default;
  StreamLookups(const StreamLookups&) = delete;  // comments point into comment_postings
  StreamLookups& operator=(const StreamLookups&) = delete;
  std::vector<Fingerprint> fps;
  std::vector<uint64_t> grams;          // the fingerprints' distinct hashes, sorted
  std::vector<Posting> gram_postings;   // per gram
  std::vector<uint32_t> fp_gram;        // per fingerprint: its gram
  uint32_t gram_k = 0;                  // tokens per gram
  std::vector<uint32_t> token_df;       // per code token: the df of the rarest fingerprint over it
  Signature sig;
  bool table_like = false;
  bool repetitive = false;
  bool comments_select = false;
  std::vector<Posting> spelling_postings;
  std::vector<Posting> comment_postings;
  std::vector<AnswerComment> comments;  // (their postings are comment_postings')
  std::vector<Candidate> ranked;        // the candidates to align, best first
};

// The state of aligning a stream's candidates (step 3 of a check) that judging a span uses.
struct StreamAlignment {
  size_t si = 0;  // the stream
  uint32_t whole_min = 0;  // the span minimum of a whole block (code_whole_min_tokens)
  std::vector<int8_t> block_delta;  // code: per answer token, the block it opens (+1) or closes (-1)
  // Block depth before each answer token, and the answer's outermost depth (a fragment may
  // close blocks it did not open): whole blocks at that depth are functions, not the body of
  // an `if`.
  std::vector<int> depth_before;
  int top_depth = 0;
  // Per answer token: the most fingerprints shared by a candidate whose span accounts for it
  // (0: none does).
  std::vector<uint32_t> accounted;
  bool any_accounted = false;
  std::vector<char> foreign_pairs;  // per pair of a span: in an import naming other code
  std::vector<AlignedSpan> runs;     // a chain cut at its gaps (CutAtGaps), each run judged alone
};

// Whether a span ends its code block with the header of a block whose body is not there: the
// block's last token opens one (a signature's `:` or `{`, Ruby's `do`), or, where blocks are not
// indentation, the innermost block the span opens and leaves open opens on the last line (Ruby's
// `def get(a, b)`). A short such span (under code_whole_blocks_min_tokens matched tokens) is a
// signature, alone or as a streamed prefix ends, no whole function copied: it needs the evidence
// of any span (a lone `def get(self, block=True, timeout=None):` was blocked). A longer copy cut
// short stays whole.
bool EndsInHeader(const Stream& st, const std::vector<int8_t>& block_delta, uint32_t begin, uint32_t end) {
  if (end != st.tokens.size() || end <= begin) return false;
  const BlockTokens& bt = BlockTokensOf(st.language);
  if (std::find(bt.start.begin(), bt.start.end(), st.tokens[end - 1].hash) != bt.start.end()) return true;
  if (bt.indented) return false;  // (indentation closes every block at the end)
  std::vector<uint32_t> open;  // the span's unclosed openers, innermost last
  for (uint32_t i = begin; i < end; ++i) {
    for (int k = 0; k < block_delta[i]; ++k) open.push_back(i);
    for (int k = 0; k < -block_delta[i] && !open.empty(); ++k) open.pop_back();
  }
  return !open.empty() && st.tokens[open.back()].line == st.tokens[end - 1].line;
}

// A fingerprint the source repeats more than this many times (a table, a refrain) anchors
// nothing when others do; otherwise the places where the answer's literals recur do
// (LiteralAnchors), or failing those its first occurrences. A table-like answer, aligned on its
// literal values, is also anchored where they recur. The anchors, and the source ranges they
// open, stay proportional to the answer.
constexpr size_t kMaxAnchorRepeats = 8;

// Anchors at the first places (QueryFingerprints::Occurrences) where a source holds each of the
// answer's fingerprints, but those it holds more than kMaxAnchorRepeats times unless
// `repeated_too`.
void AddFirstOccurrences(const StreamLookups& l, const QueryFingerprints& fps, bool repeated_too,
                         std::vector<Anchor>* anchors) {
  for (size_t i = 0; i < l.fps.size(); ++i) {
    const auto [at, total] = fps.Occurrences(i);
    if (total > kMaxAnchorRepeats && !repeated_too) continue;
    for (const uint32_t s : at) anchors->push_back({l.fps[i].position, s});
  }
}

// The thread's buffers for a large stored code source read in place (code_window_tokens): its
// token stream and hashes, their pages touched once and reused by the thread's next checks. No
// index read runs while they are in use: a sharded index's parallel reads may run another check
// on this thread.
struct InPlaceBuffers {
  std::string stream;
  TokenStreamReader reader;
  std::vector<uint64_t> hashes;
  uint32_t id = 0;     // the source they hold
  uint64_t fill = 0;   // a number for each time they are filled (0: emptied)
  uint64_t fills = 0;  // the last such number
  // After a source of over 4 million tokens, the thread lets go of them.
  void LetGoOfLarge() {
    if (hashes.capacity() > (size_t{1} << 22)) {
      std::vector<uint64_t>().swap(hashes);
      std::string().swap(stream);
      fill = 0;
    }
  }
  static InPlaceBuffers& OfThread() {
    thread_local InPlaceBuffers buffers;
    return buffers;
  }
};

// The answer's side of aligning a stream's candidates (step 3), made once per stream.
struct StreamQuery {
  StreamQuery(const Stream& st, const StreamLookups& l, const AlignOptions& options)
      : ao(options),
        spelled(SpelledOf(st)),
        hashes(l.table_like ? spelled : st.hashes),
        grams(hashes, ao.seed_size),
        fps(st.kind == Kind::kCode ? l.fps : NoFingerprints(), st.hashes, l.gram_k) {}
  AlignOptions ao;  // its anchors are the candidate's
  // Code tokens with their literal values (SpelledHashes): for literal anchors, and what a
  // table-like answer is aligned on; with their names too (NamedHashes, made when needed), and
  // those's seed grams. The source's, per candidate, when needed.
  std::vector<uint64_t> spelled, named, source_spelled, source_named;
  std::optional<QueryGrams> named_grams;
  const std::vector<uint64_t>& hashes;  // what the answer is aligned on
  const QueryGrams grams;
  QueryFingerprints fps;  // anchors are for code: a text stream's fingerprints are not tabled
  // Per answer token, the run of lines without a blank one that holds it (made when a source is
  // read in place).
  std::vector<uint32_t> run_begin, run_end;

 private:
  static std::vector<uint64_t> SpelledOf(const Stream& st) {
    std::vector<uint64_t> out;
    if (st.kind == Kind::kCode) SpelledHashes(st.tokens, &out);
    return out;
  }
  static const std::vector<Fingerprint>& NoFingerprints() {
    static const std::vector<Fingerprint> kNone;
    return kNone;
  }
};

// A candidate's tokens for aligning (step 3): from the token cache, or decoded or tokenized and
// cached; or, for a large code source, its hashes read in place (InPlaceBuffers), without tokens
// until its spans are found (DecodeInPlaceSpans). And, for code, the anchors its alignment
// seeds near.
struct CandidateSource {
  std::shared_ptr<const TokenizedDocument> doc;  // null when read in place
  bool in_place = false;
  bool collected = false;  // the answer's fingerprints collected from it (QueryFingerprints::Collect)
  std::vector<Anchor> anchors;
};

// One check of one answer (Filter::Check). Its steps: 1. the answer read as streams (ReadAnswer);
// 2. each stream's candidates found (FindCandidates) and 3. aligned (AlignCandidates);
// 4. the best source kept for each part of the answer, and the answer's score
// (KeepBestSpans); 5. the action taken (Decide) and the output written (WriteOutput).
class CheckRun {
 public:
  CheckRun(Index& index, const DocumentSketcher& sketcher, TokenCache& token_cache, const FilterOptions& o,
           const CheckRequest& request, std::string_view text, const JsonAnswer* json = nullptr,
           std::string_view answer = {})
      : index_(&index),
        sketcher_(sketcher),
        token_cache_(&token_cache),
        o_(o),
        request_(request),
        kind_(request.kind == Kind::kCode && (NamesMarkdown(request.language) || NamesPatch(request.language))
                  ? Kind::kText
                  : request.kind),
        language_(request.language),
        text_(text),
        spelling_df_(index, sketcher),
        json_(json),
        answer_(answer) {}

  // The verdict on `text`; with `json`, `text` is its reading of `answer` (ReadJsonAnswer), and
  // the verdict is put on the answer: spans at its bytes and lines, a redaction written into
  // the strings it lies in, escaped as they are (the answer stays valid JSON), and any other
  // output the answer as written (an annotation after it would make it no JSON).
  Result<Verdict> Run() {
    Result<Verdict> v = Judge();
    if (v.ok() && json_ != nullptr) OnTheAnswer(&*v);
    return v;
  }

 private:
  // Per (kind, source), over spans that count: their evidence summed, and whether one span
  // alone has the evidence it needs (weighted code).
  struct SourceEvidence {
    double sum = 0;
    bool span_over = false;
  };

  const Tokenizer& CodeTokenizer(std::string_view lang) const {
    return request_.lexed_code ? sketcher_.CodeLexerFor(lang) : sketcher_.TokenizerFor(Kind::kCode, lang);
  }
  Status ReadAnswer();
  Status PushCode(Stream st, std::string_view code, uint32_t base_offset, uint32_t base_line,
                  const std::function<void(Tokens*)>& to_answer, int reading_of = -1);
  // What code stream `st` keeps of `code`, the text its tokens were read from (at offsets from
  // `base_offset`), before they are put back in the answer: its comment gaps (for the rare-items
  // rule, o_.code_rare_items), its logical lines' indentation and its tokens' bytes. (An HTML
  // block's page shows `&quot;` as `"`, and its first line may begin after its <pre> tag.)
  void KeepReadText(std::string_view code, uint32_t base_offset, Stream* st) const {
    if (o_.code_rare_items > 0) {
      CommentGaps(code, st->tokens, base_offset, base_offset + code.size(), &st->comment_gaps, base_offset);
    }
    st->indents = IndentsFor(st->tokens, BlockTokensOf(st->language), code, base_offset);
    st->read_bytes.resize(st->tokens.size());
    for (size_t i = 0; i < st->tokens.size(); ++i) st->read_bytes[i] = st->tokens[i].end - st->tokens[i].begin;
  }
  Status PastDeadline() const;
  bool AddRereads();
  // Steps 2 and 3 for stream `si`; *stopped when a first pass stops at a span (stop_when_flagged).
  Status MatchStream(size_t si, bool* stopped);
  Status FindCandidates(const Stream& st, StreamLookups* out);
  Status AlignCandidates(size_t si, const StreamLookups& l, bool* stopped);
  // Candidate `id`'s source for aligning stream `st`; *gone when its text went meanwhile.
  Status ReadCandidate(uint32_t id, const DocumentInfo& info, const Stream& st, const StreamLookups& l, StreamQuery& q,
                       CandidateSource* cs, bool* gone);
  // The anchors of a code candidate (cs->anchors), set in q.ao: its first places of the
  // answer's fingerprints, or where a gram recurs with its names, or with its literals.
  void AnchorCode(const StreamLookups& l, const Stream& st, const Tokens& src_tokens, StreamQuery& q,
                  CandidateSource* cs) const;
  // A repetitive answer that nothing seeded in this source is aligned again on tokens that
  // keep their names and literal values, where its rows differ: a verbatim or reformatted copy
  // keeps them, and a renamed one has only the shape it shares with every other use of it. A
  // span counts only where it pairs nearly every token it covers (a copy does): chained across
  // rows, the common names of other code (`assert!(…).is_err()` in two test files) pair a few
  // tokens of each row. Seeds are looked for only near the places where a fingerprint's k-gram
  // recurs with its names exactly once in the source (none: nothing of this source's is kept).
  void AlignOnNames(const StreamLookups& l, const Stream& st, const Tokens& src_tokens, StreamQuery& q,
                    std::vector<AlignedSpan>* aligned) const;
  // A source read in place: each span's source tokens decoded now (no index read has run since
  // the stream was read), and its source positions made relative to them. CheckRenaming may
  // move a span's ends out along the diagonal of any pair it keeps, as far as the answer's lines
  // run without a blank one (StreamQuery::run_begin, run_end): those tokens are decoded too.
  Status DecodeInPlaceSpans(const DocumentInfo& info, const Stream& st, StreamQuery& q,
                            std::vector<AlignedSpan>* aligned, std::vector<Tokens>* span_tokens) const;
  // `counting_only`: the span is reported only when it counts (a run cut from a chain beside
  // its longest: chance alignments that do not count are no look-alike).
  Status JudgeSpan(const StreamLookups& l, StreamAlignment& sa, const Candidate& c, const DocumentInfo& info,
                   AlignedSpan& a, const Tokens& span_src, bool* stopped, bool counting_only = false);
  bool Counted(const Posting& p) const { return !p.saturated && p.df() <= o_.max_document_frequency; }
  void KeepBestSpans();
  // A block's first reading: the stream `si` is, or is another reading of.
  size_t Group(size_t si) const {
    return streams_[si].shadow_of < 0 ? si : static_cast<size_t>(streams_[si].shadow_of);
  }
  // Whether a source's spans alone have the evidence to redact the answer.
  bool AloneOver(const std::pair<int, uint32_t>& key) const;
  // Whether a redaction replaces the span (by_source_, Decide).
  bool Replaced(const Span& sp) const {
    return sp.counts && (!by_source_ || AloneOver({static_cast<int>(sp.kind), sp.source_id}));
  }
  void Decide();
  void WriteOutput();
  // The policy's annotate message, naming the sources of `v`'s spans.
  std::string AnnotationMessage(const Verdict& v) const {
    std::string message = o_.annotate_message;
    if (message.find("{sources}") != std::string::npos) {
      const std::string sources = DescribeSources(v.spans);
      for (size_t at = message.find("{sources}"); at != std::string::npos; at = message.find("{sources}", at + sources.size())) {
        message.replace(at, 9, sources);
      }
    }
    return message;
  }
  Result<Verdict> Judge();
  void OnTheAnswer(Verdict* v) const;

  Index* const index_;
  const DocumentSketcher& sketcher_;
  TokenCache* const token_cache_;
  const FilterOptions& o_;
  const CheckRequest& request_;
  const Kind kind_;
  const std::string_view language_;
  const std::string_view text_;
  Verdict v_;
  std::vector<Stream> streams_;
  std::string unclosed_fence_;  // a Markdown answer that ends inside a fenced block: its closing line
  std::vector<Segment> segments_;  // a Markdown answer's prose and code blocks (also for redaction)
  bool whole_patch_ = false;       // the answer is one patch (segments_ its one block)
  uint32_t total_tokens_ = 0;  // of the streams that are no other reading of a block
  std::vector<Found> all_;
  size_t candidates_seen_ = 0;
  // Which fill of this thread's in-place buffers (AlignCandidates) this check made last: a later
  // block of the answer that meets the same large source reads it from them again when no other
  // read has filled them since (0: none).
  uint64_t in_place_fill_ = 0;
  SpellingFrequencies spelling_df_;
  // The error of reading a block again (AddRereads), or the time limit passed, which ends the
  // streams' loop.
  Status reread_status_;
  // Step 4's, for step 5.
  std::map<std::pair<int, uint32_t>, SourceEvidence> per_source_;
  bool any_counting_ = false, any_consistent_ = false, any_other_literals_ = false;
  uint32_t largest_consistent_ = 0, largest_other_literals_ = 0, largest_renamed_otherwise_ = 0;  // matched tokens
  std::vector<size_t> best_reading_;  // per block (its first reading): the reading that counts
  bool by_source_ = false;  // a redaction replaces only the spans of sources over alone (Decide)
  // A JSON answer's: its reading (text_) and the answer; the redaction's replacements of text_.
  const JsonAnswer* const json_;
  const std::string_view answer_;
  std::vector<ReadingEdit> edits_;
};

void CheckRun::OnTheAnswer(Verdict* v) const {
  std::vector<uint32_t> newlines;
  for (size_t at = answer_.find('\n'); at != std::string_view::npos; at = answer_.find('\n', at + 1)) {
    newlines.push_back(static_cast<uint32_t>(at));
  }
  auto line_of = [&](uint32_t at) {
    return static_cast<uint32_t>(1 + (std::lower_bound(newlines.begin(), newlines.end(), at) - newlines.begin()));
  };
  const StrippedCode& map = json_->map;
  const std::string_view reading = map.code;
  for (Span& sp : v->spans) {
    if (const JsonAnswer::Part* part = json_->PartAt(sp.query.start); part != nullptr && !part->pointer.empty()) {
      auto line_in = [&](uint32_t at) {
        return static_cast<uint32_t>(1 + std::count(reading.begin() + part->begin, reading.begin() + at, '\n'));
      };
      sp.json_pointer = part->pointer;
      sp.json_first_line = line_in(sp.query.start);
      sp.json_last_line = line_in(std::clamp(sp.query.end, sp.query.start + 1, part->end) - 1);
    }
    sp.query.start = map.ToAnswer(sp.query.start, false);
    sp.query.end = map.ToAnswer(sp.query.end, true);
    sp.query.first_line = line_of(sp.query.start);
    sp.query.last_line = line_of(sp.query.end > sp.query.start ? sp.query.end - 1 : sp.query.start);
    for (Span::RenamedName& r : sp.renamed) {
      r.query_begin = map.ToAnswer(r.query_begin, false);
      r.query_end = map.ToAnswer(r.query_end, true);
    }
    for (auto& [b, e] : sp.aligned) {
      b = map.ToAnswer(b, false);
      e = map.ToAnswer(e, true);
    }
  }
  if (v->action == Action::kRedact) {
    v->output = ApplyToAnswer(*json_, answer_, edits_);
  } else if (v->action != Action::kBlock) {
    v->output.assign(answer_);
    // (A Markdown answer with JSON blocks takes its note as any Markdown answer does.)
    if (v->action == Action::kAnnotate && !v->spans.empty() && !json_->whole) {
      std::string unclosed;
      SplitMarkdown(answer_, &unclosed);
      AppendAnnotation(&v->output, AnnotationMessage(*v), Kind::kText, "", unclosed);
    }
  }
}

Result<Verdict> CheckRun::Judge() {
  v_.output.assign(text_);
  DOPPEL_RETURN_IF_ERROR(ReadAnswer());
  for (auto& st : streams_) {
    TokenHashes(st.tokens, &st.hashes);
    if (st.shadow_of < 0) total_tokens_ += static_cast<uint32_t>(st.tokens.size());
  }
  v_.query_tokens = total_tokens_;
  if (total_tokens_ == 0) {
    v_.action = o_.actions[static_cast<size_t>(Action::kAllow)];
    if (v_.action == Action::kBlock) v_.output = o_.block_message;
    v_.reason = "no words to compare";
    return std::move(v_);
  }
  // (A block read again, AddRereads, is a stream after the others.)
  bool stopped = false;
  for (size_t si = 0; si < streams_.size() || AddRereads(); ++si) {
    DOPPEL_RETURN_IF_ERROR(MatchStream(si, &stopped));
    if (stopped) return std::move(v_);
  }
  DOPPEL_RETURN_IF_ERROR(reread_status_);
  DOPPEL_RETURN_IF_ERROR(PastDeadline());
  KeepBestSpans();
  Decide();
  WriteOutput();
  return std::move(v_);
}

// A code block (or the whole answer as code) is read in the language its tag names. When the
// tag names none with a grammar (no tag, `text`, `sh`, `kotlin`), it is read by the generic
// lexer; when it names no language at all (no tag, `text`: TagNamesLanguage), again in the
// language whose grammar reads it well when one does (in each of two or three families when
// their grammars read it as well; GuessCodeLanguages: a fence's tag is often left out); and as
// prose: protected prose in a fence, or a protected file its extension did not make code, is
// still found. A fenced block its tag's grammar does not read cleanly, and a block of no
// grammar's language, is read again in the language its candidates lead to (Stream::Reread,
// AddRereads); the former as prose too when that grammar mostly cannot read it. Each other reading is a stream after the block's (Stream::shadow_of); the block counts
// once, as the largest share a reading covers.
// `code` is the text tokenized, its tokens at offsets from `base_offset` on line `base_line`;
// `to_answer` puts a token's offsets back in the answer (a block in a list item or a block quote
// is read without its container's prefix, an HTML block as its page shows it). Every reading is
// made from `code`, so an HTML block's comments and strings are its page's words.
Status CheckRun::PushCode(Stream st, std::string_view code, uint32_t base_offset, uint32_t base_line,
                          const std::function<void(Tokens*)>& to_answer, int reading_of) {
  const Language* tagged = LookupLanguage(st.language);
  std::vector<const Language*> guessed;
  uint32_t unread = 0;
  DOPPEL_RETURN_IF_ERROR(
      CodeTokenizer(st.language).TokenizeBy(request_.deadline, code, &st.tokens, base_offset, base_line, &unread));
  // A fenced block its tag's grammar does not read cleanly may be code in another family's
  // language under a wrong tag (Python in a `js` fence, C# in a `java` one): it is read again
  // in the language of the protected code its candidates lead to (Stream::Reread); one that
  // grammar mostly cannot read may be prose. (A language the caller names for the whole
  // answer, or a file's extension, is taken as given, but for prose: an editor names its
  // file's language whatever the answer holds, and a license pasted as it is reads as no code.)
  const size_t nonblank = NonBlankBytes(code);
  const bool fenced_with_grammar = kind_ != Kind::kCode && tagged != nullptr && !request_.lexed_code;
  const bool misread = tagged != nullptr && !request_.lexed_code && unread > kMisreadShare * nonblank;
  if (fenced_with_grammar && unread > 0) {
    st.reread = std::make_shared<Stream::Reread>();
    st.reread->unread = unread;
    st.reread->max_share = kCleanReadShare;
  }
  if (tagged == nullptr && !request_.lexed_code) {
    // A fence that names a language without a grammar here (a shell, SQL, Kotlin) or a data
    // format (JSON, YAML) is taken at its word: the guess read 50 of 74 shell scripts and 29 of
    // 60 SQL and Perl files as Ruby, Python or C, YAML as Python and JSON as JavaScript, and
    // parsing 2 KB in every grammar takes 10 ms. (Its candidates may still lead to a language.)
    if (!TagNamesLanguage(st.tag)) guessed = GuessCodeLanguages(code);
    // Its markers are comments of the language found.
    if (!guessed.empty()) st.tag = guessed.front()->name;
    // Its candidates may lead to a language the guess could not tell: a method out of its
    // class (read in the snippet wrapper), C whose macros its grammar cannot read
    // (`DWORD WINAPI f(...)`), code that more families' grammars read as well.
    st.reread = std::make_shared<Stream::Reread>();
    st.reread->unread = static_cast<uint32_t>(nonblank);
    st.reread->max_share = kMisreadShare;
    for (const Language* l : guessed) st.reread->read_in.push_back(l->name);
  }
  if (st.reread) {
    st.reread->nonblank = nonblank;
    st.reread->code.assign(code);
    st.reread->base_offset = base_offset;
    st.reread->base_line = base_line;
    st.reread->to_answer = to_answer;
  }
  KeepReadText(code, base_offset, &st);
  // A block of no grammar's language, or one its grammar mostly cannot read, is read as prose
  // whole (as_prose, below); any other, the words of its comments, docstrings and strings
  // (FilterOptions::prose_in_code).
  const bool whole_as_prose = tagged == nullptr || misread;
  Stream in_code;
  if (o_.prose_in_code && !whole_as_prose && index_->MayHoldGrams(Kind::kText)) {
    DOPPEL_RETURN_IF_ERROR(
        ProseOfCode(sketcher_.TokenizerFor(Kind::kText), st.tokens, code, base_offset, base_line, &in_code.tokens));
    to_answer(&in_code.tokens);
    if (in_code.tokens.size() < o_.text.min_span_tokens) in_code.tokens.clear();
    in_code.prose_of_code = true;
    // (For its block's markers and lines when it is the block's only reading: comments only.)
    in_code.language = st.language;
    in_code.tag = st.tag;
    in_code.SameBlockAs(st);
  }
  to_answer(&st.tokens);
  std::vector<Stream> again(guessed.size());
  for (size_t g = 0; g < again.size(); ++g) {
    again[g].kind = Kind::kCode;
    again[g].language = guessed[g]->name;
    again[g].tag = guessed[g]->name;
    again[g].SameBlockAs(st);
    // Of several, the one that reads best is the block's language.
    again[g].found_reading = guessed.size() > 1;
    const bool long_block = g == 0 && code.size() > kLongBlockBytes;
    uint32_t first_unread = 0;
    DOPPEL_RETURN_IF_ERROR(CodeTokenizer(again[g].language)
                               .TokenizeBy(request_.deadline, code, &again[g].tokens, base_offset, base_line,
                                           long_block ? &first_unread : nullptr));
    KeepReadText(code, base_offset, &again[g]);
    to_answer(&again[g].tokens);
    if (long_block && first_unread == 0 && again.size() > 1) {
      // Read whole by the first language's grammar: that one reading is the block's.
      again.resize(1);
      again[0].found_reading = false;
      st.reread->read_in.resize(1);
    }
  }
  Stream as_prose;
  if (whole_as_prose) {
    DOPPEL_RETURN_IF_ERROR(sketcher_.TokenizerFor(Kind::kText).Tokenize(code, &as_prose.tokens, base_offset, base_line));
    to_answer(&as_prose.tokens);
  }
  // A reading of a block that leaves no tokens (only comments) is none: the others stand alone.
  int main = reading_of;
  std::vector<Stream*> readings{&st};
  for (Stream& a : again) readings.push_back(&a);
  readings.push_back(&as_prose);
  readings.push_back(&in_code);
  for (Stream* reading : readings) {
    if (reading->tokens.empty()) continue;
    reading->shadow_of = main;
    streams_.push_back(std::move(*reading));
    if (main < 0) main = static_cast<int>(streams_.size() - 1);
  }
  return Status::OK();
}

namespace {

// Puts tokens read from `stripped`'s text back at their places in the answer.
std::function<void(Tokens*)> MapsThrough(std::shared_ptr<const StrippedCode> stripped) {
  return [stripped = std::move(stripped)](Tokens* tokens) {
    for (Token& t : *tokens) {
      t.begin = stripped->ToAnswer(t.begin, false);
      t.end = stripped->ToAnswer(t.end, true);
    }
  };
}

}  // namespace

// 1. Streams: the whole answer as code, or its prose and each fenced code block.
Status CheckRun::ReadAnswer() {
  auto in_place = [](Tokens*) {};
  if (kind_ == Kind::kCode) {
    Stream st;
    st.kind = Kind::kCode;
    const Language* l = LookupLanguage(language_);
    st.language = l ? l->name : "";
    st.tag = language_;
    st.text_end = static_cast<uint32_t>(text_.size());
    DOPPEL_RETURN_IF_ERROR(PushCode(std::move(st), text_, 0, 1, in_place));
  } else if (NamesPatch(language_)) {
    // An answer said to be a patch: read as a fenced patch is, whole.
    segments_ = {WholePatch(text_)};
    whole_patch_ = true;
  } else {
    segments_ = SplitMarkdown(text_, &unclosed_fence_);
    if (o_.diff_code) segments_ = SplitUnfencedPatches(text_, std::move(segments_));  // (a patch file, one pasted)
    if (o_.bare_code) segments_ = SplitBareCode(text_, std::move(segments_));
    if (!request_.fence_language.empty()) {  // an answer sent as code in a language, in Markdown
      for (Segment& seg : segments_) {
        if (seg.kind != Kind::kCode || !seg.language.empty()) continue;
        // (An untagged block that opens as a patch stays one: ReadDiff reads it so.)
        if (OpensAsPatch(text_.substr(seg.begin, seg.end - seg.begin))) continue;
        seg.language = request_.fence_language;
        for (char& c : seg.language) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
    }
  }
  if (kind_ != Kind::kCode) {
    Stream prose;
    Tokens part;
    for (const Segment& seg : segments_) {
      DOPPEL_RETURN_IF_ERROR(PastDeadline());
      const std::string_view body = text_.substr(seg.begin, seg.end - seg.begin);
      if (seg.kind == Kind::kText) {
        DOPPEL_RETURN_IF_ERROR(sketcher_.TokenizerFor(Kind::kText).Tokenize(body, &part, seg.begin, seg.line));
        prose.tokens.insert(prose.tokens.end(), part.begin(), part.end());
      } else if (std::vector<DiffFile> files = o_.diff_code ? ReadDiff(text_, seg) : std::vector<DiffFile>{}; !files.empty()) {
        // A patch: each file a block of its lines, read as its new side and, when lines are
        // removed, as its old side too (another reading of the block), in the language its
        // name's extension names (a tag of its extension when no grammar's; guessed without
        // one), the tokens put back at their places in the answer.
        for (DiffFile& file : files) {
          Stream code;
          code.kind = Kind::kCode;
          const Language* l = LanguageForPath(file.path);
          const size_t dot = file.path.rfind('.');
          code.language = l ? l->name : "";
          code.tag = l ? l->name : dot == std::string::npos ? std::string() : file.path.substr(dot + 1);
          for (char& c : code.tag) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          code.diff = true;
          code.diff_container = seg.prefix;
          code.text_begin = file.begin;
          code.text_end = file.end;
          const bool removed = file.old_code.code != file.code.code;
          const int first = static_cast<int>(streams_.size());
          for (StrippedCode* side : {&file.code, &file.old_code}) {
            if (side == &file.old_code && !removed) break;
            auto stripped = std::make_shared<const StrippedCode>(std::move(*side));
            const int main = streams_.size() > static_cast<size_t>(first) ? first : -1;
            DOPPEL_RETURN_IF_ERROR(PushCode(code, stripped->code, 0, file.line, MapsThrough(stripped), main)
                                       .WithContext("the patch at line " + std::to_string(seg.line)));
          }
        }
      } else {
        Stream code;
        code.kind = Kind::kCode;
        const Language* l = LookupLanguage(seg.language);
        code.language = l ? l->name : "";
        code.tag = seg.language;
        code.text_begin = static_cast<uint32_t>(seg.begin);
        code.text_end = static_cast<uint32_t>(seg.end);
        if (seg.prefix.empty() && !seg.html) {
          DOPPEL_RETURN_IF_ERROR(PushCode(std::move(code), body, seg.begin, seg.line, in_place));
        } else {
          // A block in a list item or a block quote, read without its container's prefix, or an
          // HTML block, read as the page shows it: its tokens put back at their places in the
          // answer.
          auto stripped = std::make_shared<const StrippedCode>(StripContainer(text_, seg));
          // (A list item's code lines are only indented: its JavaScript is parsed in place.)
          code.stripped = seg.html || seg.prefix.find('>') != std::string::npos;
          DOPPEL_RETURN_IF_ERROR(PushCode(std::move(code), stripped->code, 0, seg.line, MapsThrough(stripped))
                                     .WithContext("the code block at line " + std::to_string(seg.line)));
        }
      }
    }
    if (!prose.tokens.empty()) {
      streams_.insert(streams_.begin(), std::move(prose));
      for (Stream& st : streams_) st.shadow_of += st.shadow_of >= 0;
    }
  }
  return Status::OK();
}

// The time limit is looked at between the steps that grow with the answer (its reading, the
// posting lookups, each candidate's alignment): a long answer that matches nothing is bound
// by it too.
Status CheckRun::PastDeadline() const {
  return std::chrono::steady_clock::now() > request_.deadline
             ? Status::Unavailable("the check ran past its time limit")
             : Status::OK();
}

// A block kept to be read again (Stream::Reread) whose candidates led to another family's
// language is read in it when that grammar reads it better than the tag's did and cleanly (at
// most kCleanReadShare left unread; a method out of its class is read in the language's
// snippet wrapper, as the tokenizer reads it), or, a block of no grammar's language, when it
// leaves at most kMisreadShare unread (the lead is the evidence that the guess, which parses
// without the wrapper, could not give): the new reading is a stream of the block, checked
// after the others. True when one was added.
// (Its error, or the time limit passed, is left in reread_status_ and ends the loop.)
bool CheckRun::AddRereads() {
  bool added = false;
  const size_t n = streams_.size();
  for (size_t si = 0; si < n && reread_status_.ok(); ++si) {
    if (!streams_[si].reread || streams_[si].reread->lead.empty()) continue;
    const std::shared_ptr<Stream::Reread> rr = std::move(streams_[si].reread);
    const Language* lead = LookupLanguage(rr->lead);
    reread_status_ = PastDeadline();
    if (lead == nullptr || !reread_status_.ok()) continue;
    Stream again;
    again.kind = Kind::kCode;
    again.language = lead->name;
    again.tag = IsGenericCodeLanguage(streams_[si].tag) ? streams_[si].tag : lead->name;
    again.SameBlockAs(streams_[si]);
    again.shadow_of = streams_[si].shadow_of < 0 ? static_cast<int>(si) : streams_[si].shadow_of;
    again.found_reading = true;
    uint32_t unread = 0;
    reread_status_ = CodeTokenizer(lead->name)
                         .TokenizeBy(request_.deadline, rr->code, &again.tokens, rr->base_offset, rr->base_line, &unread);
    if (!reread_status_.ok() || again.tokens.empty()) continue;
    if (unread >= rr->unread || unread > rr->max_share * rr->nonblank) continue;
    KeepReadText(rr->code, rr->base_offset, &again);
    rr->to_answer(&again.tokens);
    TokenHashes(again.tokens, &again.hashes);
    streams_.push_back(std::move(again));
    added = true;
  }
  return added && reread_status_.ok();
}

Status CheckRun::MatchStream(size_t si, bool* stopped) {
  DOPPEL_RETURN_IF_ERROR(PastDeadline());
  StreamLookups lookups;
  DOPPEL_RETURN_IF_ERROR(FindCandidates(streams_[si], &lookups));
  if (lookups.ranked.empty()) return Status::OK();
  return AlignCandidates(si, lookups, stopped);
}

Status CheckRun::FindCandidates(const Stream& st, StreamLookups* out) {
  StreamLookups& l = *out;
  // 2. Candidates through fingerprints (containment) and LSH bands (whole-part similarity).
  sketcher_.FingerprintsOf(st.hashes, st.kind, &l.fps);
  l.grams.reserve(l.fps.size());
  for (const auto& f : l.fps) l.grams.push_back(f.hash);
  std::sort(l.grams.begin(), l.grams.end());
  l.grams.erase(std::unique(l.grams.begin(), l.grams.end()), l.grams.end());
  DOPPEL_RETURN_IF_ERROR(index_->GetGramPostings(st.kind, l.grams, &l.gram_postings));
  DOPPEL_RETURN_IF_ERROR(PastDeadline());
  // Each query fingerprint's posting (an index into grams and gram_postings), found once.
  l.fp_gram.resize(l.fps.size());
  for (size_t i = 0; i < l.fps.size(); ++i) {
    const auto at = std::lower_bound(l.grams.begin(), l.grams.end(), l.fps[i].hash);
    l.fp_gram[i] = static_cast<uint32_t>(at - l.grams.begin());
  }
  l.gram_k = st.kind == Kind::kCode ? index_->params().code_gram_size : index_->params().gram_size;
  // Code tokens inside a fingerprint that few protected documents hold: the evidence that an
  // aligned span is this source's code, not a shape common code shares. A token's df is that
  // of the rarest stored fingerprint covering it (0 when none is stored), and it weighs
  // min(1, code_evidence_df / df) (code_whole_df for a span that is its whole block).
  if (st.kind == Kind::kCode && o_.code_evidence_df > 0) {
    l.token_df.assign(st.tokens.size(), 0);
    for (size_t i = 0; i < l.fps.size(); ++i) {
      const Fingerprint& f = l.fps[i];
      const Posting& p = l.gram_postings[l.fp_gram[i]];
      if (p.saturated || p.ids.empty()) continue;
      const uint32_t df = p.df();
      const size_t end = std::min<size_t>(l.token_df.size(), size_t{f.position} + l.gram_k);
      for (size_t t = f.position; t < end; ++t) l.token_df[t] = l.token_df[t] == 0 ? df : std::min(l.token_df[t], df);
    }
  }
  sketcher_.SignatureOf(st.hashes, &l.sig);
  std::vector<BandKey> bands;
  BandKeys(l.sig, index_->params().bands, index_->params().rows, index_->params().hash_seed, &bands);
  std::vector<Posting> band_postings;
  DOPPEL_RETURN_IF_ERROR(index_->GetBandPostings(st.kind, bands, &band_postings));
  // A table (rows of one shape with other values) or other repetitive code: most of the
  // answer's fingerprints are boilerplate, which selects no candidate, and its abstracted
  // k-grams recur on every row, which seeds nothing. Its rare spellings (names and strings
  // that at most code_name_df protected code documents use) then select candidates as
  // fingerprints do, and it is aligned on tokens that keep their literal values.
  size_t boilerplate = 0;
  if (st.kind == Kind::kCode && o_.code_rare_items > 0) {
    for (size_t i = 0; i < l.fps.size(); ++i) boilerplate += !Counted(l.gram_postings[l.fp_gram[i]]);
  }
  l.table_like = 2 * boilerplate > l.fps.size();
  // Repetitive code (a run of macro calls, `flag(name);` lines): at most half of its
  // fingerprints are distinct. Its seeds recur in the answer, and a seed a source holds more
  // than once too is skipped (align.cc, kMaxPairsPerGram), so in a source that uses the shape
  // elsewhere nothing seeds it; it is aligned on its names as well (AlignCandidates).
  if (st.kind == Kind::kCode && !l.fps.empty()) {
    std::vector<uint64_t> distinct;
    distinct.reserve(l.fps.size());
    for (const Fingerprint& f : l.fps) distinct.push_back(f.hash);
    std::sort(distinct.begin(), distinct.end());
    const size_t distinct_fps = static_cast<size_t>(std::unique(distinct.begin(), distinct.end()) - distinct.begin());
    l.repetitive = 2 * distinct_fps <= l.fps.size();
  }
  // Only rare spellings select.
  if (l.table_like) {
    DOPPEL_RETURN_IF_ERROR(
        ReadRareSpellings(*index_, sketcher_, st.tokens, o_, &spelling_df_, &l.spelling_postings));
  }
  size_t max_ids = 0;
  for (const auto* list : {&l.gram_postings, &band_postings}) {
    for (const auto& p : *list) max_ids += Counted(p) ? p.ids.size() : 0;
  }
  for (const auto& p : l.spelling_postings) max_ids += p.ids.size();
  // The answer's comments (with rare items on): their postings tell which documents hold
  // them. In a stream too short for winnowing to promise min_candidate_hits fingerprints
  // shared with its source (one per window + k - 1 tokens), a rare one also selects its
  // documents as a fingerprint does: a short function's comment may be all that tells it
  // apart. (In longer answers the extra candidates cost alignments and found no more
  // copies; a short stream's rare names as selectors found two more verbatim copies and
  // flagged two more short functions of other packages, by API names a small corpus holds
  // rarely: not taken.)
  l.comments_select =
      st.kind == Kind::kCode &&
      st.tokens.size() < size_t{o_.min_candidate_hits} * (index_->params().window + l.gram_k - 1);
  if (st.kind == Kind::kCode && o_.code_rare_items > 0) {
    const std::vector<CommentGap>& gaps = st.comment_gaps;
    // One lookup (and one candidate hit) per distinct comment.
    std::vector<uint64_t> keys;
    for (const CommentGap& g : gaps) keys.push_back(sketcher_.CommentKey(g));
    std::vector<uint64_t> distinct = keys;
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    DOPPEL_RETURN_IF_ERROR(index_->GetGramPostings(Kind::kCode, distinct, &l.comment_postings));
    spelling_df_.Remember(distinct, l.comment_postings);
    for (size_t i = 0; i < gaps.size(); ++i) {
      const size_t at = std::lower_bound(distinct.begin(), distinct.end(), keys[i]) - distinct.begin();
      l.comments.push_back({gaps[i], &l.comment_postings[at]});
    }
    for (const auto& p : l.comment_postings) {
      if (l.comments_select && !p.saturated && p.df() <= o_.code_name_df) max_ids += p.ids.size();
    }
  }
  // So do its long strings (code_literal_bytes and over): a renamed copy keeps its messages
  // as it keeps its comments, and a short function's message may be all its winnowing leaves.
  std::vector<Posting> string_postings;
  if (l.comments_select && o_.code_rare_items > 0) {
    static const uint64_t kStr = StringTokenHash();
    std::vector<uint64_t> keys;
    for (size_t i = 0; i < st.tokens.size(); ++i) {
      const Token& t = st.tokens[i];
      if (t.hash == kStr && t.name != 0 && st.read_bytes[i] >= o_.code_literal_bytes) {
        keys.push_back(sketcher_.SpellingKey(t.name, t.hash));
      }
    }
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    if (!keys.empty()) DOPPEL_RETURN_IF_ERROR(index_->GetGramPostings(Kind::kCode, keys, &string_postings));
    spelling_df_.Remember(keys, string_postings);
    for (auto& p : string_postings) {
      if (p.saturated || p.df() > o_.code_name_df) p.ids.clear();
      max_ids += p.ids.size();
    }
  }
  // The counts live in the thread's slots (CandidateCounts): they are done with before any
  // later index read (RankTiesBySpellings, AlignCandidates), where a sharded index's parallel
  // lookups may run another check here.
  {
    CandidateCounts cands(max_ids);
    for (const auto& p : l.gram_postings) {
      if (!Counted(p)) continue;
      for (uint32_t id : p.ids) ++cands[id].hits;
    }
    for (const auto& p : l.spelling_postings) {
      for (uint32_t id : p.ids) ++cands[id].hits;
    }
    for (const auto& p : l.comment_postings) {
      if (!l.comments_select || p.saturated || p.df() > o_.code_name_df) continue;
      for (uint32_t id : p.ids) ++cands[id].hits;
    }
    for (const auto& p : string_postings) {
      for (uint32_t id : p.ids) ++cands[id].hits;
    }
    for (const auto& p : band_postings) {
      if (!Counted(p)) continue;
      for (uint32_t id : p.ids) ++cands[id].band_hits;
    }
    const uint32_t min_hits =
        std::min<uint32_t>(o_.min_candidate_hits, static_cast<uint32_t>(l.grams.size()));
    cands.ForEach([&](const Candidate& c) {
      if ((c.hits >= min_hits || c.band_hits > 0) && !index_->IsDeleted(c.id)) l.ranked.push_back(c);
    });
  }
  auto better = [](const Candidate& a, const Candidate& b) {
    const uint32_t sa = CandidateScore(a), sb = CandidateScore(b);
    return sa != sb ? sa > sb : a.id < b.id;
  };
  // A block too short for winnowing to promise min_candidate_hits shared fingerprints
  // (comments_select) aligns up to code_whole_df candidates: copied whole, it weighs fully
  // when at most that many documents hold its shape, and with fewer aligned the one it was
  // copied from could be left out for the lower ids of its look-alikes. Short blocks align fast.
  const size_t budget = l.comments_select && o_.code_whole_share > 0
                            ? std::max<size_t>(o_.max_candidates, o_.code_whole_df)
                            : o_.max_candidates;
  if (l.ranked.size() > budget) {
    std::partial_sort(l.ranked.begin(), l.ranked.begin() + budget, l.ranked.end(), better);
    // Ties at the cut go to the candidates holding the answer's rare names and strings.
    if (st.kind == Kind::kCode && o_.code_rare_items > 0) {
      DOPPEL_RETURN_IF_ERROR(RankTiesBySpellings(*index_, sketcher_, st.tokens, o_, budget, &l.ranked,
                                                 &l.spelling_postings, l.table_like, &spelling_df_));
    }
    l.ranked.resize(budget);
  } else {
    std::sort(l.ranked.begin(), l.ranked.end(), better);
  }
  candidates_seen_ += l.ranked.size();
  return Status::OK();
}

Status CheckRun::AlignCandidates(size_t si, const StreamLookups& l, bool* stopped) {
  const Stream& st = streams_[si];
  // The block's record for reading it again, filled while its candidates are examined.
  Stream::Reread* const reread = st.reread.get();
  const Thresholds& th = st.kind == Kind::kCode ? o_.code : o_.text;
  // 3. Align each candidate of the same kind.
  AlignOptions ao;
  ao.seed_size = st.kind == Kind::kCode ? o_.code_seed_size : o_.seed_size;
  ao.max_gap = o_.max_gap;
  ao.max_drift = o_.max_diagonal_drift;
  StreamAlignment sa;
  sa.si = si;
  // A whole short block may be shorter than the span minimum (code_whole_min_tokens).
  sa.whole_min =
      st.kind == Kind::kCode && o_.code_whole_share > 0 && o_.code_whole_min_tokens > 0 &&
              o_.code_whole_min_tokens < th.min_span_tokens &&
              st.tokens.size() * o_.code_whole_share < th.min_span_tokens
          ? o_.code_whole_min_tokens
          : th.min_span_tokens;
  ao.min_matched = sa.whole_min;
  StreamQuery q(st, l, ao);
  if (st.kind == Kind::kCode) {
    const BlockTokens& bt = BlockTokensOf(st.language);
    sa.block_delta = BlockDeltas(st.tokens, bt, st.indents);
  }
  if (st.kind == Kind::kCode && o_.code_whole_blocks) {
    sa.depth_before.resize(st.tokens.size());
    int depth = 0;
    for (uint32_t i = 0; i < st.tokens.size(); ++i) {
      sa.depth_before[i] = depth;
      sa.top_depth = std::min(sa.top_depth, depth);
      depth += sa.block_delta[i];
    }
  }
  // A candidate whose shared fingerprints all lie in parts of the answer that spans of
  // candidates sharing more fingerprints already account for (spans that count) cannot give a
  // part a better source, so it is not aligned: a copy of one document is aligned once, not
  // against every document that shares some of it. A candidate sharing as many fingerprints
  // as the one that accounted for a part is aligned (ranked first by a band, a near copy in
  // another file would otherwise take the part from the copy's own source). Candidates found
  // through LSH bands (whole-answer similarity) are always aligned. (A table-like answer's
  // candidates also count rare spellings among their hits; one that shares no fingerprint is
  // always aligned, one that does is judged by its fingerprints as any other. Aligning every
  // candidate of such an answer let a bundle that shares most of its rows with a dozen others
  // take the answer from the bundle whose own strings it keeps: a longer span without the
  // evidence ranks first, and ranking evidence first flagged import blocks in new code.)
  sa.accounted.assign(st.tokens.size(), 0);
  auto nothing_new = [&](const Candidate& c) {
    if (!sa.any_accounted || c.band_hits > 0) return false;
    bool shares = false;
    for (size_t i = 0; i < l.fps.size(); ++i) {
      const Fingerprint& f = l.fps[i];
      const Posting& p = l.gram_postings[l.fp_gram[i]];
      if (!Counted(p) || !std::binary_search(p.ids.begin(), p.ids.end(), c.id)) continue;
      shares = true;
      const size_t end = std::min<size_t>(sa.accounted.size(), size_t{f.position} + l.gram_k);
      for (size_t t = f.position; t < end; ++t) {
        if (sa.accounted[t] <= c.hits) return false;
      }
    }
    return shares;
  };
  // The best score of a candidate of the stream's family (0: none yet), for Stream::Reread.
  uint32_t own_family_score = 0;
  std::vector<AlignedSpan> aligned;
  std::vector<Tokens> span_tokens;
  for (const auto& c : l.ranked) {
    DOPPEL_RETURN_IF_ERROR(PastDeadline());
    if (nothing_new(c)) continue;
    auto info = index_->GetDocument(c.id);
    if (!info.ok()) {
      if (info.status().code() == Status::Code::kNotFound) continue;  // removed meanwhile
      return info.status();
    }
    if (info->kind != st.kind) continue;
    if (st.kind == Kind::kCode && !SameLanguageFamily(st.language, info->language)) {
      if (reread != nullptr && reread->lead.empty() && CandidateScore(c) >= own_family_score &&
          c.hits >= kRereadLeadShare * l.grams.size() && LookupLanguage(info->language) != nullptr) {
        reread->lead = info->language;
      }
      continue;
    }
    // Code under the tag of a smaller language of its family (C++ under `h` or `c`, TSX under
    // `ts`, TypeScript under `js`: the smaller grammar cannot read the larger's code whole) is
    // read again in the candidate's language too; it is compared in the tag's as well, as one
    // family.
    if (reread != nullptr && !st.language.empty() && reread->lead.empty() && info->language != st.language &&
        c.hits >= kRereadLeadShare * l.grams.size()) {
      const Language* larger = LookupLanguage(info->language);
      const Language* own = LookupLanguage(st.language);
      if (larger != nullptr && own != nullptr && larger->family_rank > own->family_rank) reread->lead = info->language;
    }
    if (reread != nullptr && st.language.empty() && reread->lead.empty() &&
        c.hits >= kRereadLeadShare * l.grams.size() && LookupLanguage(info->language) != nullptr &&
        std::none_of(reread->read_in.begin(), reread->read_in.end(),
                     [&](const std::string& name) { return SameLanguageFamily(name, info->language); })) {
      reread->lead = info->language;
    }
    own_family_score = std::max(own_family_score, CandidateScore(c));
    if (c.band_hits > 0) {
      // (A damaged signature is an error: read past, the verdict's jaccard said 0 for a copy.)
      auto ssig = index_->GetSignature(c.id);
      if (ssig.ok()) {
        v_.jaccard = std::max(v_.jaccard, EstimateJaccard(l.sig, *ssig));
      } else if (ssig.status().code() != Status::Code::kNotFound) {  // (removed meanwhile)
        return ssig.status().WithContext("stored document " + info->name);
      }
    }
    // Code: seeds only near shared fingerprints (anchors); none shared (a candidate through
    // LSH bands alone) leaves every seed.
    q.ao.anchors = nullptr;
    q.ao.anchor_diagonal_reach = UINT32_MAX;
    CandidateSource cs;
    bool gone = false;
    DOPPEL_RETURN_IF_ERROR(ReadCandidate(c.id, *info, st, l, q, &cs, &gone));
    if (gone) continue;
    // Read in place, a source has no tokens here (anchored by its fingerprints, it needs none
    // before its spans are found).
    static const Tokens kNoTokens;
    const Tokens& src_tokens = cs.in_place ? kNoTokens : cs.doc->tokens;
    const std::vector<uint64_t>& src_hashes = cs.in_place ? InPlaceBuffers::OfThread().hashes : cs.doc->hashes;
    if (st.kind == Kind::kCode) AnchorCode(l, st, src_tokens, q, &cs);
    aligned.clear();
    if (l.table_like) {
      Align(q.grams, q.hashes, q.source_spelled, nullptr, q.ao, &aligned);
    } else if (st.kind == Kind::kCode || cs.doc->seed_k != q.grams.k()) {
      Align(q.grams, st.hashes, src_hashes, nullptr, q.ao, &aligned);
    } else {
      Align(q.grams, st.hashes, cs.doc->hashes, &cs.doc->seed_grams, q.ao, &aligned);
    }
    if (l.repetitive && aligned.empty()) AlignOnNames(l, st, src_tokens, q, &aligned);
    if (cs.in_place) DOPPEL_RETURN_IF_ERROR(DecodeInPlaceSpans(*info, st, q, &aligned, &span_tokens));
    for (auto& a : aligned) {
      const Tokens& span_src = cs.in_place ? span_tokens[static_cast<size_t>(&a - aligned.data())] : src_tokens;
      if (st.kind == Kind::kCode && CutAtGaps(a, st.tokens, span_src, &sa.runs)) {
        // The run with the most pairs is judged as a chain is; the others are reported when
        // they count (another copy), not as look-alikes.
        size_t longest = 0;
        for (size_t r = 1; r < sa.runs.size(); ++r) {
          if (sa.runs[r].pairs.size() > sa.runs[longest].pairs.size()) longest = r;
        }
        for (size_t r = 0; r < sa.runs.size(); ++r) {
          DOPPEL_RETURN_IF_ERROR(JudgeSpan(l, sa, c, *info, sa.runs[r], span_src, stopped, r != longest));
          if (*stopped) return Status::OK();
        }
        continue;
      }
      DOPPEL_RETURN_IF_ERROR(JudgeSpan(l, sa, c, *info, a, span_src, stopped));
      if (*stopped) return Status::OK();
    }
  }
  return Status::OK();
}

Status CheckRun::ReadCandidate(uint32_t id, const DocumentInfo& info, const Stream& st, const StreamLookups& l,
                               StreamQuery& q, CandidateSource* cs, bool* gone) {
  cs->doc = token_cache_->Get(id);
  // A large stored code source not in the cache is read in place (code_window_tokens): its
  // token hashes straight from the stored stream, screened for the answer's fingerprints
  // and aligned as a decoded source's are, then only the tokens of the spans found decoded.
  // Decoding and sizing a 10,000-150,000-token source cost more than the rest of its check
  // (the first touches of its pages most of all) when the answer is 1,000 tokens.
  if (cs->doc == nullptr && st.kind == Kind::kCode && info.kind == Kind::kCode && !l.table_like && !l.repetitive &&
      o_.code_window_tokens > 0 && info.num_tokens >= o_.code_window_tokens) {
    InPlaceBuffers& b = InPlaceBuffers::OfThread();
    // Still in the buffers from an earlier block of this answer: read again from them.
    Status read = Status::OK();
    if (in_place_fill_ == 0 || b.fill != in_place_fill_ || b.id != id) {
      b.fill = 0;
      read = index_->ReadTokenStream(id, &b.stream);
      if (!read.ok() && read.code() != Status::Code::kNotFound) return read.WithContext("stored document " + info.name);
      if (read.ok()) {
        DOPPEL_RETURN_IF_ERROR(b.reader.Open(b.stream).WithContext("stored document " + info.name));
        b.reader.Hashes(&b.hashes);
        b.id = id;
        in_place_fill_ = b.fill = ++b.fills;
      }
    } else {
      token_cache_->CountStreamReused();
    }
    if (read.ok()) {
      auto fingerprint_gram = [&](const uint64_t* t) { return sketcher_.FingerprintGram(t, Kind::kCode); };
      q.fps.Collect(b.hashes, index_->params().window, kMaxAnchorRepeats, fingerprint_gram);
      cs->collected = true;
      AddFirstOccurrences(l, q.fps, /*repeated_too=*/false, &cs->anchors);
      if (!cs->anchors.empty()) {
        cs->in_place = true;
        token_cache_->CountReadInPlace();
        return Status::OK();
      }
      // Anchored otherwise (its names, its literals): decoded whole, and cached.
      auto fresh = std::make_shared<TokenizedDocument>();
      DOPPEL_RETURN_IF_ERROR(b.reader.Decode(0, b.reader.size(), &fresh->tokens).WithContext("stored document " + info.name));
      fresh->hashes = b.hashes;
      token_cache_->Put(id, fresh);
      cs->doc = std::move(fresh);
      b.LetGoOfLarge();
    }
  }
  if (cs->doc != nullptr) return Status::OK();
  auto fresh = std::make_shared<TokenizedDocument>();
  // Code documents' tokens are stored at index time: reading them spares a parse.
  auto stored = info.kind == Kind::kCode ? index_->GetTokens(id) : Result<Tokens>(Status::NotFound(""));
  if (stored.ok()) {
    fresh->tokens = std::move(stored).value();
  } else if (stored.status().code() != Status::Code::kNotFound) {
    return stored.status().WithContext("stored document " + info.name);
  } else {
    auto content = index_->GetContent(info);
    if (!content.ok()) {
      if (content.status().code() == Status::Code::kNotFound) {
        *gone = true;
        return Status::OK();
      }
      return content.status();
    }
    const Status read = sketcher_.TokenizerFor(info.kind, info.language)
                            .TokenizeBy(request_.deadline, *content, &fresh->tokens, 0, 1, nullptr);
    // (The time limit passing names no protected document, nor its size or language: the
    // caller learns only that it passed.)
    if (read.code() == Status::Code::kUnavailable) {
      const Status past = PastDeadline();
      return past.ok() ? read : past;
    }
    DOPPEL_RETURN_IF_ERROR(read.WithContext("stored document " + info.name));
  }
  TokenHashes(fresh->tokens, &fresh->hashes);
  if (info.kind != Kind::kCode) {
    fresh->seed_k = q.ao.seed_size;
    SeedGrams(fresh->hashes, fresh->seed_k, &fresh->seed_grams);
  }
  token_cache_->Put(id, fresh);
  cs->doc = std::move(fresh);
  return Status::OK();
}

void CheckRun::AnchorCode(const StreamLookups& l, const Stream& st, const Tokens& src_tokens, StreamQuery& q,
                          CandidateSource* cs) const {
  std::vector<Anchor>& anchors = cs->anchors;
  if (!cs->collected) {  // (a source read in place was collected from its stored hashes)
    // A source aligned often (a scan's common sources) has its winnowed fingerprints kept in
    // hash order from its kIndexedFromUse-th answer on; before, a pass over its k-grams costs
    // less than making them (most sources of single checks are aligned once or twice).
    constexpr uint32_t kIndexedFromUse = 3;
    const uint32_t window = index_->params().window;
    const TokenizedDocument& src = *cs->doc;
    if (window <= 32 && src.collects.fetch_add(1, std::memory_order_relaxed) + 1 >= kIndexedFromUse) {
      std::call_once(src.by_hash_once, [&] {
        auto& by_hash = src.fingerprints_by_hash;
        sketcher_.FingerprintsOf(src.hashes, Kind::kCode, &by_hash);
        std::sort(by_hash.begin(), by_hash.end(), [](const Fingerprint& a, const Fingerprint& b) {
          return a.hash != b.hash ? a.hash < b.hash : a.position < b.position;
        });
      });
      q.fps.Collect(src.hashes, src.fingerprints_by_hash, kMaxAnchorRepeats);
    } else {
      auto fingerprint_gram = [&](const uint64_t* t) { return sketcher_.FingerprintGram(t, Kind::kCode); };
      q.fps.Collect(src.hashes, window, kMaxAnchorRepeats, fingerprint_gram);
    }
    AddFirstOccurrences(l, q.fps, /*repeated_too=*/false, &anchors);
  }
  // First the one place where a gram of the answer recurs with its names as well: among a
  // shape the source repeats (generated code, one wrapper per call), a verbatim copy's own
  // place, which the first places of the shape or of its literals need not reach.
  if (anchors.empty() && !l.table_like) {
    if (q.named.empty()) NamedHashes(st.tokens, &q.named);
    NamedHashes(src_tokens, &q.source_named);
    LiteralAnchors(st.tokens, q.named, l.fps, q.source_named, l.gram_k, kMaxAnchorRepeats, &anchors, /*once=*/true);
    if (!anchors.empty()) q.ao.anchor_diagonal_reach = q.ao.max_drift;
  }
  if (anchors.empty() || l.table_like) {  // always for a table-like answer (code)
    SpelledHashes(src_tokens, &q.source_spelled);
    LiteralAnchors(st.tokens, q.spelled, l.fps, q.source_spelled, l.gram_k, kMaxAnchorRepeats, &anchors);
  }
  if (anchors.empty()) AddFirstOccurrences(l, q.fps, /*repeated_too=*/true, &anchors);
  if (!anchors.empty()) {
    std::sort(anchors.begin(), anchors.end(),
              [](const Anchor& a, const Anchor& b) { return a.q != b.q ? a.q < b.q : a.s < b.s; });
    q.ao.anchors = &anchors;
  }
}

void CheckRun::AlignOnNames(const StreamLookups& l, const Stream& st, const Tokens& src_tokens, StreamQuery& q,
                            std::vector<AlignedSpan>* aligned) const {
  if (q.named.empty()) NamedHashes(st.tokens, &q.named);
  NamedHashes(src_tokens, &q.source_named);
  std::vector<Anchor> named_anchors;
  LiteralAnchors(st.tokens, q.named, l.fps, q.source_named, l.gram_k, /*keep (unused once)=*/1, &named_anchors,
                 /*once=*/true);
  std::vector<AlignedSpan> more;
  if (!named_anchors.empty()) {
    std::sort(named_anchors.begin(), named_anchors.end(),
              [](const Anchor& a, const Anchor& b) { return a.q != b.q ? a.q < b.q : a.s < b.s; });
    if (!q.named_grams) q.named_grams.emplace(q.named, q.ao.seed_size);
    AlignOptions named = q.ao;
    named.anchors = &named_anchors;
    named.anchor_diagonal_reach = q.ao.max_drift;
    Align(*q.named_grams, q.named, q.source_named, nullptr, named, &more);
  }
  for (auto& a : more) {
    if (10 * uint64_t{a.matched} >= 9 * uint64_t{a.q_end - a.q_begin}) aligned->push_back(std::move(a));
  }
}

Status CheckRun::DecodeInPlaceSpans(const DocumentInfo& info, const Stream& st, StreamQuery& q,
                                    std::vector<AlignedSpan>* aligned, std::vector<Tokens>* span_tokens) const {
  InPlaceBuffers& b = InPlaceBuffers::OfThread();
  if (q.run_begin.empty()) {
    const Tokens& t = st.tokens;
    q.run_begin.resize(t.size());
    q.run_end.resize(t.size());
    for (uint32_t i = 0; i < t.size(); ++i) {
      q.run_begin[i] = i > 0 && SameRunOfLines(t[i - 1], t[i]) ? q.run_begin[i - 1] : i;
    }
    for (uint32_t i = static_cast<uint32_t>(t.size()); i-- > 0;) {
      q.run_end[i] = i + 1 < t.size() && SameRunOfLines(t[i], t[i + 1]) ? q.run_end[i + 1] : i + 1;
    }
  }
  span_tokens->assign(aligned->size(), Tokens());
  for (size_t i = 0; i < aligned->size(); ++i) {
    AlignedSpan& a = (*aligned)[i];
    uint32_t lo = a.s_begin;
    uint64_t hi = a.s_end;
    for (const auto& [qi, at] : a.pairs) {
      lo = std::min(lo, at - std::min(at, qi - q.run_begin[qi]));
      hi = std::max<uint64_t>(hi, uint64_t{at} + (q.run_end[qi] - qi));
    }
    hi = std::min<uint64_t>(hi, b.reader.size());
    DOPPEL_RETURN_IF_ERROR(b.reader.Decode(lo, hi, &(*span_tokens)[i]).WithContext("stored document " + info.name));
    a.s_begin -= lo;
    a.s_end -= lo;
    for (auto& pr : a.pairs) pr.second -= lo;
  }
  b.LetGoOfLarge();
  return Status::OK();
}

// Judges span `a` of stream sa.si aligned with candidate `c` (document `info`, whose tokens at the
// span's source positions are `span_src`): its renaming, literals and evidence. A span long enough
// to report joins all_, and one that counts marks the answer tokens it accounts for in `sa`.
Status CheckRun::JudgeSpan(const StreamLookups& l, StreamAlignment& sa, const Candidate& c, const DocumentInfo& info,
                           AlignedSpan& a, const Tokens& span_src, bool* stopped, bool counting_only) {
  const Stream& st = streams_[sa.si];
  const Thresholds& th = st.kind == Kind::kCode ? o_.code : o_.text;
  double renaming = -1;
  uint32_t repeats = 0;
  bool whole = false;  // the span is (nearly) its whole code block: a whole function copied
  // The matched tokens that count as evidence: all but those of imports that name other
  // code than the source's (ForeignImports, marked in foreign_pairs).
  uint32_t counted = a.matched;
  sa.foreign_pairs.clear();
  auto foreign = [&](size_t i) { return !sa.foreign_pairs.empty() && sa.foreign_pairs[i]; };
  if (st.kind == Kind::kCode) {
    if (!TrimForeignImports(&a, st.tokens, span_src, &sa.foreign_pairs)) return Status::OK();
    renaming = CheckRenaming(&a, st.tokens, span_src, sa.block_delta, &repeats);
    // Marked again: the renaming check may have cut or extended the pairs.
    counted = a.matched - std::min(a.matched, ForeignImports(a, st.tokens, span_src, &sa.foreign_pairs));
    whole = o_.code_whole_share > 0 &&
            !(a.matched < o_.code_whole_blocks_min_tokens && EndsInHeader(st, sa.block_delta, a.q_begin, a.q_end)) &&
            (a.matched >= o_.code_whole_share * static_cast<double>(st.tokens.size()) ||
             (o_.code_whole_blocks && a.matched >= o_.code_whole_blocks_min_tokens &&
              sa.depth_before[a.q_begin] == sa.top_depth &&
              a.matched >= o_.code_whole_share * static_cast<double>(a.q_end - a.q_begin) &&
              WholeBlocks(sa.block_delta, a.q_begin, a.q_end)));
    if (counted < (whole ? sa.whole_min : th.min_span_tokens)) return Status::OK();
  }
  Found f;
  f.span.query = RangeOf(st.tokens, a.q_begin, a.q_end);
  f.span.source = RangeOf(span_src, a.s_begin, a.s_end);
  // A literal over several lines (a triple-quoted string, Python's strings joined across lines)
  // ends below the line it begins on: the span's last line is that of its last byte. On the
  // source's side, where the answer's literal is such a one, the source's bytes are read to
  // count it (the same literal may lie on fewer lines there); a source literal over several
  // lines paired with one on a single line of the answer counts from the line it begins on.
  const Token& q_last = st.tokens[a.q_end - 1];
  if (q_last.end > q_last.begin + 1 && q_last.end <= text_.size()) {
    const auto wraps = static_cast<uint32_t>(
        std::count(text_.begin() + q_last.begin, text_.begin() + q_last.end - 1, '\n'));
    f.span.query.last_line += wraps;
    if (wraps > 0) {
      const Token& s_last = span_src[a.s_end - 1];
      auto content = index_->GetContent(info);
      // (Removed meanwhile: its first line stands. Damage is said, as every read of it says.)
      if (!content.ok() && content.status().code() != Status::Code::kNotFound) {
        return content.status().WithContext("stored document " + info.name);
      }
      if (content.ok() && s_last.end <= content->size() && s_last.end > s_last.begin) {
        f.span.source.last_line += static_cast<uint32_t>(
            std::count(content->begin() + s_last.begin, content->begin() + s_last.end - 1, '\n'));
      }
    }
  }
  f.span.source_name = info.name;
  f.span.source_id = c.id;
  f.span.source_metadata = info.metadata;
  f.span.matched_tokens = a.matched;
  f.span.query_tokens = a.q_end - a.q_begin;
  f.span.score = static_cast<double>(a.matched) / f.span.query_tokens;
  f.span.kind = st.kind;
  f.span.language = st.kind == Kind::kCode ? st.language : "";
  f.span.renaming = renaming;
  if (st.kind == Kind::kCode) {
    const uint64_t id_hash = IdentifierTokenHash();
    uint32_t prev_q = UINT32_MAX - 1;  // the answer token of the last pair
    for (size_t i = 0; i < a.pairs.size(); ++i) {
      if (foreign(i)) continue;  // not the code's own names
      const auto [qi, si] = a.pairs[i];
      const Token &qt = st.tokens[qi], &sk = span_src[si];
      if (IdName(qt, id_hash) != 0 && IdName(sk, id_hash) != 0 && qt.name != sk.name) {
        f.span.renamed.push_back({qt.begin, qt.end, sk.begin, sk.end});
      }
      if (!f.span.aligned.empty() && prev_q + 1 == qi) {
        f.span.aligned.back().second = qt.end;
      } else {
        f.span.aligned.emplace_back(qt.begin, qt.end);
      }
      prev_q = qi;
    }
  }
  // Literals: a copy keeps its strings and numbers (renaming is cosmetic, rewriting the
  // values is not), so code whose aligned literals mostly differ is code shaped alike. (Strings
  // that spell the span's renamed names, as C#'s `ArgumentNullException("first")` does, differ
  // with the renaming; counted as agreeing, they made Go's Stringer switches and Rust's Debug
  // impls, whose strings are their names, copies of each other.)
  bool literals_agree = true;
  if (st.kind == Kind::kCode && o_.min_literal_agreement > 0) {
    uint32_t literals = 0, same = 0;
    auto compare = [&](uint32_t qi, uint32_t si) {
      const Token &qt = st.tokens[qi], &sk = span_src[si];
      if (!IsLiteral(qt) || qt.name == 0 || sk.name == 0) return;
      ++literals;
      same += qt.name == sk.name;
    };
    for (size_t i = 0; i < a.pairs.size(); ++i) {
      const auto [qi, si] = a.pairs[i];
      compare(qi, si);
      // Aligned on literal values, a table-like answer's rows with other values are gaps
      // between pairs: on one diagonal, the literals there are compared too.
      if (!l.table_like || i + 1 == a.pairs.size()) continue;
      const auto [qn, sn] = a.pairs[i + 1];
      if (qn - qi != sn - si) continue;
      for (uint32_t d = 1; qi + d < qn; ++d) {
        if (st.tokens[qi + d].hash == span_src[si + d].hash) compare(qi + d, si + d);
      }
    }
    literals_agree = literals < 2 || same >= o_.min_literal_agreement * literals;
  }
  f.counts = st.kind == Kind::kText ||
             ((f.span.renaming < 0 ||
               f.span.renaming >= (counted < o_.short_span_tokens ? o_.min_renaming_short : o_.min_renaming)) &&
              repeats >= o_.min_renaming_evidence && literals_agree);
  f.consistent = st.kind == Kind::kCode && f.counts;
  f.other_literals = st.kind == Kind::kCode && !literals_agree &&
                     (f.span.renaming < 0 ||
                      f.span.renaming >= (counted < o_.short_span_tokens ? o_.min_renaming_short : o_.min_renaming)) &&
                     repeats >= o_.min_renaming_evidence;
  {
    // Each query position is paired once; a source position may be paired twice (a word
    // the answer doubles), so the source's are counted distinct (pairs ascend on both sides).
    size_t source_paired = 0;
    for (size_t i = 0; i < a.pairs.size(); ++i) source_paired += i == 0 || a.pairs[i].second != a.pairs[i - 1].second;
    const size_t q_len = a.q_end - a.q_begin, s_len = a.s_end - a.s_begin;
    f.unaligned = static_cast<uint32_t>(q_len - std::min(a.pairs.size(), q_len) + s_len - std::min(source_paired, s_len));
  }
  f.evidence = counted;
  // A whole block needs only the span minimum: copied whole, a short function is a copy.
  f.needed = whole ? std::min<double>(th.redact_tokens, std::min<uint32_t>(th.min_span_tokens, counted))
                   : th.redact_tokens;
  if (!l.token_df.empty() && !(whole && o_.code_whole_df == 0)) {
    const double scale = whole ? o_.code_whole_df : o_.code_evidence_df;
    f.evidence = 0;
    uint32_t covered = 0;
    for (size_t i = 0; i < a.pairs.size(); ++i) {
      const uint32_t df = l.token_df[a.pairs[i].first];
      if (df == 0 || foreign(i)) continue;
      ++covered;
      f.evidence += std::min(1.0, scale / df);
    }
    // A whole block's tokens that no stored fingerprint covers (winnowing keeps few of a
    // short block's k-grams) weigh as its covered tokens do on average.
    if (whole && covered > 0) f.evidence *= static_cast<double>(counted) / covered;
  }
  // What makes a code span this source's code however common its shape, every matched
  // token then counting: a whole block whose fingerprints few protected documents hold all
  // together (joint rarity), or the source's own names and strings (rare items). A whole
  // block under the span minimum counts only with one of them (with rare items on).
  const bool under_minimum = counted < th.min_span_tokens;
  if (st.kind == Kind::kCode && f.counts && (f.evidence < f.needed || under_minimum)) {
    bool own = whole && o_.code_whole_joint_df > 0 &&
               JointlyRare(l.fps, l.fp_gram, l.gram_postings, l.gram_k, a.q_begin, a.q_end, c.id,
                           o_.code_whole_joint_df);
    if (!own && o_.code_rare_items > 0) {
      uint32_t items = 0;
      DOPPEL_RETURN_IF_ERROR(
          spelling_df_.RareItems(a, sa.foreign_pairs, st.tokens, st.read_bytes, span_src, l.comments, c.id, o_,
                                 &items));
      own = items >= o_.code_rare_items;
      // A whole block copied with every name as the source spells it: one rare item is
      // enough (its names all agree; one rare name, long string or comment places it).
      if (!own && whole && o_.code_verbatim_names > 0 && items >= 1) {
        own = VerbatimNames(a, sa.foreign_pairs, st.tokens, span_src) >= o_.code_verbatim_names;
      }
      if (!own && under_minimum) f.counts = false;
    }
    if (own) f.evidence = std::max<double>(f.evidence, counted);
  }
  // A part is accounted for by a passage as its source has it; a passage with words added
  // or left out leaves room for a source that holds it as the answer has it (a licence's
  // sentence in a sibling licence with one word changed, which shares more of the rest of
  // the answer, ranks first).
  if (f.counts && f.unaligned == 0) {
    for (uint32_t t = a.q_begin; t < a.q_end; ++t) sa.accounted[t] = std::max(sa.accounted[t], c.hits);
    sa.any_accounted = true;
  }
  // One span with the evidence it needs makes a code answer's source "over" (step 5).
  if (request_.stop_when_flagged && kind_ == Kind::kCode && st.kind == Kind::kCode && o_.code_evidence_df > 0 &&
      f.counts && f.evidence >= f.needed) {
    v_.partial = true;
    v_.severity = Action::kRedact;
    v_.action = o_.actions[static_cast<size_t>(Action::kRedact)];
    v_.reason = "a first pass stopped at a span that reproduces protected code";
    v_.score = static_cast<double>(a.q_end - a.q_begin) / total_tokens_;
    v_.spans.push_back(std::move(f.span));
    *stopped = true;
    return Status::OK();
  }
  if (counting_only && !f.counts) return Status::OK();
  f.stream = sa.si;
  f.q_begin = a.q_begin;
  f.q_end = a.q_end;
  all_.push_back(std::move(f));
  return Status::OK();
}

void CheckRun::KeepBestSpans() {
  // 4. Keep the best source for each part of the answer (and the sources as good as it, below):
  // spans by matched tokens (spans that count first), a span is kept when at least half of its
  // query tokens are not yet covered.
  // Code spans are weighed by their renaming score, so a consistent renaming wins a region over
  // a longer look-alike.
  auto weight = [](const Found& f) {
    return f.span.renaming >= 0 ? f.span.matched_tokens * f.span.renaming : double(f.span.matched_tokens);
  };
  std::sort(all_.begin(), all_.end(), [&](const Found& a, const Found& b) {
    if (a.counts != b.counts) return a.counts;
    const double wa = weight(a), wb = weight(b);
    if (wa != wb) return wa > wb;
    // As many tokens matched: the source that holds the passage as the answer has it.
    if (a.unaligned != b.unaligned) return a.unaligned < b.unaligned;
    // Equal spans: the lower source id, then the earlier place in the source, then in the answer.
    return std::tie(a.span.source_id, a.span.source.start, a.stream, a.q_begin, a.q_end) <
           std::tie(b.span.source_id, b.span.source.start, b.stream, b.q_begin, b.q_end);
  });
  std::vector<std::vector<bool>> covered(streams_.size());
  for (size_t i = 0; i < streams_.size(); ++i) covered[i].assign(streams_[i].tokens.size(), false);
  std::vector<uint32_t> counted_in(streams_.size(), 0);  // per stream: tokens of spans that count
  std::vector<size_t> span_stream;  // per span of v.spans, in order: its stream
  // A span of another source that pairs the same answer tokens as a kept one, as well (the same
  // weight, matched tokens times renaming, and counting alike), names another source of the same
  // passage: a file vendored or generated twice in the protected corpus. It is kept beside the
  // first, so attribution names each such source among the aligned candidates (max_candidates),
  // and the passage counts toward each one's evidence (it does hold it). A second place in the
  // same source, or a place overlapping one of its kept spans, is not another source.
  struct Kept {
    size_t stream;
    uint32_t q_begin, q_end;
    double weight;
    bool counts;
    uint32_t source_id;
    uint32_t unaligned;
  };
  std::vector<Kept> kept;
  auto equally_good = [&](const Found& f) {
    const double w = weight(f);
    bool tie = false;
    for (const Kept& k : kept) {
      if (k.stream != f.stream) continue;
      if (k.source_id == f.span.source_id && k.q_begin < f.q_end && f.q_begin < k.q_end) return false;
      tie |= k.q_begin == f.q_begin && k.q_end == f.q_end && k.weight == w && k.counts == f.counts &&
             k.unaligned == f.unaligned;
    }
    return tie;
  };
  for (auto& f : all_) {
    auto& cov = covered[f.stream];
    uint32_t fresh = 0;
    for (uint32_t t = f.q_begin; t < f.q_end; ++t) fresh += !cov[t];
    if (2 * fresh < f.q_end - f.q_begin && !equally_good(f)) continue;
    kept.push_back({f.stream, f.q_begin, f.q_end, weight(f), f.counts, f.span.source_id, f.unaligned});
    for (uint32_t t = f.q_begin; t < f.q_end; ++t) {
      if (!cov[t] && f.counts) ++counted_in[f.stream];
      cov[t] = true;
    }
    if (f.counts) {
      SourceEvidence& e = per_source_[{static_cast<int>(f.span.kind), f.span.source_id}];
      e.sum += f.evidence;
      e.span_over |= f.evidence >= f.needed;
      any_counting_ = true;
    }
    // (The reason names what kept the largest span from counting.)
    if (f.consistent) largest_consistent_ = std::max(largest_consistent_, f.span.matched_tokens);
    if (f.other_literals) largest_other_literals_ = std::max(largest_other_literals_, f.span.matched_tokens);
    if (f.span.kind == Kind::kCode && !f.consistent && !f.other_literals) {
      largest_renamed_otherwise_ = std::max(largest_renamed_otherwise_, f.span.matched_tokens);
    }
    any_consistent_ |= f.consistent;
    any_other_literals_ |= f.other_literals;
    f.span.counts = f.counts;
    v_.spans.push_back(std::move(f.span));
    span_stream.push_back(f.stream);
  }
  // A block read more than once reports the passages of the reading that covers most of it
  // (a grammar's reading, when it covers about as much: its spans name the language), and of
  // the others only those elsewhere in the block: where the generic lexer's reading of an
  // untagged Python block and its Python reading both found a passage, the Python one is the
  // passage. `best_reading` is indexed by a block's first reading (`group`).
  best_reading_.assign(streams_.size(), 0);
  {
    constexpr double kSameShare = 0.02;
    std::vector<double> best_share(streams_.size(), -1);
    auto share_of = [&](size_t si) {
      return static_cast<double>(counted_in[si]) / std::max<size_t>(streams_[si].tokens.size(), 1);
    };
    auto grammar = [&](size_t si) { return streams_[si].kind == Kind::kCode && !streams_[si].language.empty(); };
    // (The words of a block's comments and strings, read as prose, are other words of the block
    // than its code's: that reading is no rival of the code readings, and keeps its passages.)
    auto words_of_code = [&](size_t si) { return streams_[si].prose_of_code && streams_[si].shadow_of >= 0; };
    for (size_t si = 0; si < streams_.size(); ++si) {
      if (words_of_code(si)) continue;
      const size_t main = Group(si);
      const double share = share_of(si);
      const bool better = best_share[main] < 0 || share > best_share[main] + kSameShare ||
                          (share > best_share[main] - kSameShare && grammar(si) && !grammar(best_reading_[main])) ||
                          (share > best_share[main] && grammar(si) == grammar(best_reading_[main]));
      if (better) {
        best_share[main] = share;
        best_reading_[main] = si;
      }
    }
    std::vector<bool> drop(v_.spans.size(), false);
    for (size_t a = 0; a < v_.spans.size(); ++a) {
      const size_t g = Group(span_stream[a]);
      if (best_reading_[g] == span_stream[a] || words_of_code(span_stream[a])) continue;
      // (A look-alike of the best reading takes no passage from another reading that counts.)
      for (size_t b = 0; b < v_.spans.size() && !drop[a]; ++b) {
        drop[a] = span_stream[b] == best_reading_[g] && !words_of_code(span_stream[b]) &&
                  (v_.spans[b].counts || !v_.spans[a].counts) &&
                  v_.spans[b].query.start < v_.spans[a].query.end && v_.spans[a].query.start < v_.spans[b].query.end;
      }
    }
    size_t kept_spans = 0;
    for (size_t a = 0; a < v_.spans.size(); ++a) {
      if (drop[a]) continue;
      if (kept_spans != a) v_.spans[kept_spans] = std::move(v_.spans[a]);
      ++kept_spans;
    }
    v_.spans.resize(kept_spans);
  }
  std::sort(v_.spans.begin(), v_.spans.end(), [](const Span& a, const Span& b) {
    return a.query.start != b.query.start ? a.query.start < b.query.start : a.source_id < b.source_id;
  });
  // A block read more than once (in another language, as prose) counts the largest share of it
  // a reading covers, in its first reading's tokens.
  std::vector<double> best(streams_.size(), 0);
  for (size_t si = 0; si < streams_.size(); ++si) best[si] = counted_in[si];
  for (size_t si = 0; si < streams_.size(); ++si) {
    if (const int main = streams_[si].shadow_of; main >= 0 && !streams_[si].prose_of_code) {
      best[main] = std::max(best[main], static_cast<double>(counted_in[si]) / streams_[si].tokens.size() *
                                            streams_[main].tokens.size());
    }
  }
  // The words of a block's comments and strings add their share of the block (of its code
  // tokens and those words) to its code's.
  for (size_t si = 0; si < streams_.size(); ++si) {
    if (const int main = streams_[si].shadow_of; main >= 0 && streams_[si].prose_of_code) {
      const double size = static_cast<double>(streams_[main].tokens.size());
      best[main] = std::min(size, best[main] + counted_in[si] / (streams_[si].tokens.size() + size) * size);
    }
  }
  double counted_tokens = 0;
  for (size_t si = 0; si < streams_.size(); ++si) {
    if (streams_[si].shadow_of < 0) counted_tokens += best[si];
  }
  v_.score = counted_tokens / total_tokens_;
}

bool CheckRun::AloneOver(const std::pair<int, uint32_t>& key) const {
  auto it = per_source_.find(key);
  if (it == per_source_.end()) return false;
  const bool code = key.first == static_cast<int>(Kind::kCode);
  return code && o_.code_evidence_df > 0 ? it->second.span_over
                                         : it->second.sum >= (code ? o_.code : o_.text).redact_tokens;
}

// 5. The action. Containment thresholds are those of the kind with most tokens.
void CheckRun::Decide() {
  uint32_t code_tokens = 0;
  for (const auto& st : streams_) {
    code_tokens += st.kind == Kind::kCode && st.shadow_of < 0 ? static_cast<uint32_t>(st.tokens.size()) : 0;
  }
  const bool mostly_code = 2 * code_tokens > total_tokens_;
  const Thresholds& main_th = mostly_code ? o_.code : o_.text;
  bool source_over = false;
  for (const auto& entry : per_source_) source_over |= AloneOver(entry.first);
  // A mostly-code answer is redacted or blocked only when some source accounts for the code
  // token minimum: a short snippet can be "80% covered" by common shapes.
  if (mostly_code && !source_over) any_counting_ = false;
  // What a redaction replaces: the spans that count of the sources that alone have the evidence
  // to redact, when some do and the answer's share does not; else every span that counts (much
  // of the answer is protected, or the policy redacts what it would annotate). A short passage
  // of another source, which alone would only be annotated, is not redacted for the company it
  // keeps: it stays, and is reported.
  // (A source whose evidence came from another reading of a block than the one reported keeps
  // no span here: then every span that counts is replaced, as before.)
  if (source_over && v_.score < main_th.redact_containment) {
    for (const Span& sp : v_.spans) by_source_ |= sp.counts && AloneOver({static_cast<int>(sp.kind), sp.source_id});
  }
  if (v_.spans.empty()) {
    v_.action = Action::kAllow;
    v_.reason = candidates_seen_ == 0 ? "no similar protected document"
                                      : "similar documents share no passage long enough to report";
  } else if (any_counting_ && v_.score >= main_th.block_containment) {
    v_.action = Action::kBlock;
    v_.reason = std::to_string(static_cast<int>(v_.score * 100 + 0.5)) +
                "% of the answer reproduces protected content";
  } else if (any_counting_ && (source_over || v_.score >= main_th.redact_containment)) {
    v_.action = Action::kRedact;
    std::set<std::pair<int, uint32_t>> sources;
    for (const Span& sp : v_.spans) {
      if (Replaced(sp)) sources.insert({static_cast<int>(sp.kind), sp.source_id});
    }
    const size_t passages = CountPassages(v_.spans, [this](const Span& sp) { return Replaced(sp); });
    v_.reason = std::to_string(sources.size()) + " source(s) reproduced in " + std::to_string(passages) + " passage(s)";
  } else {
    v_.action = Action::kAnnotate;
    // (A mostly-code answer's prose passages, in its comments and strings, are short ones too.)
    const bool code_spans =
        std::any_of(v_.spans.begin(), v_.spans.end(), [](const Span& sp) { return sp.kind == Kind::kCode; });
    v_.reason = any_counting_ || !code_spans ? "short passages resemble protected content"
                // (What kept the largest code span from counting.)
                : any_consistent_ && largest_consistent_ >= largest_other_literals_ &&
                        largest_consistent_ >= largest_renamed_otherwise_
                    ? "code resembles protected code only in short passages or in shapes other protected files share"
                : any_other_literals_ && largest_other_literals_ >= largest_renamed_otherwise_
                    ? "code resembles protected code in shape only (its strings and numbers differ)"
                    : "code resembles protected code in shape only (names not a consistent renaming)";
  }
  // The policy maps the severity to the action taken.
  v_.severity = v_.action;
  v_.action = o_.actions[static_cast<size_t>(v_.severity)];
  if (v_.action != v_.severity) {
    v_.reason += std::string(" (policy: ") + std::string(ActionName(v_.severity)) + " → " +
                 std::string(ActionName(v_.action)) + ")";
  }
}

// 5. The output: the block message, the answer annotated, or its passages redacted.
void CheckRun::WriteOutput() {
  if (v_.action == Action::kBlock) {
    v_.output = o_.block_message;
  } else if (v_.action == Action::kAnnotate && !v_.spans.empty()) {
    AppendAnnotation(&v_.output, AnnotationMessage(v_), kind_, language_, unclosed_fence_);
  } else if (v_.action == Action::kRedact) {
    // The spans that count are replaced. Overlapping or nested ones merge into one region (named after its longest span), so no
    // protected word survives between markers; regions are replaced back to front so earlier
    // offsets stay valid.
    struct Region {
      uint32_t b, e;
      const Span* main;
      bool prose = false;  // holds a passage of prose (in a block: of a reading of it as prose)
    };
    // The code stream whose block holds answer byte `at` (none: prose). A passage its prose
    // reading found (Stream::shadow_of) is code to redact as well.
    // Of a block read more than once, the reading in a grammar's language (an untagged Python
    // block's Python reading, not the generic lexer's): its brackets, blocks and clauses are
    // the language's.
    // A block read again in a language found for it (Stream::found_reading: its candidates'
    // lead, or one of several the guess found) is in that language when that reading is its
    // best; one that is not is passed over (a look-alike's language would bound its redactions).
    auto code_block_at = [&](uint32_t at, bool grammar = true) -> int {
      int found = -1;
      for (size_t si = 0; si < streams_.size(); ++si) {
        const Stream& st = streams_[si];
        const bool block = st.kind == Kind::kCode || (st.prose_of_code && st.shadow_of < 0);
        if (!block || at < st.text_begin || st.text_end <= at) continue;
        if (st.found_reading) {
          if (best_reading_[Group(si)] == si) return static_cast<int>(si);
          continue;
        }
        if (found < 0 || (grammar && streams_[found].language.empty() && !st.language.empty())) {
          found = static_cast<int>(si);
        }
      }
      return found;
    };
    // A prose passage read across a fenced block (the prose before the block and after it are
    // one reading) is replaced in the prose only: the block and its fence lines stay. Each part
    // with a word in it gets a marker.
    std::vector<std::pair<uint32_t, uint32_t>> prose_parts;
    for (const Segment& seg : segments_) {
      if (seg.kind == Kind::kText) prose_parts.emplace_back(seg.begin, seg.end);
    }
    std::vector<Region> pieces;
    for (const Span& sp : v_.spans) {
      if (!Replaced(sp)) continue;  // the answer's own code shaped like protected code, a weak passage: kept
      if (sp.kind == Kind::kCode || code_block_at(sp.query.start) >= 0 || prose_parts.empty()) {
        pieces.push_back({sp.query.start, sp.query.end, &sp, sp.kind == Kind::kText});
        continue;
      }
      for (const auto& [pb, pe] : prose_parts) {
        uint32_t b = std::max(sp.query.start, pb), e = std::min(sp.query.end, pe);
        // (Without the blank lines a cut leaves at its ends: a fence starts its own line.)
        while (b < e && std::isspace(static_cast<unsigned char>(text_[b])) != 0) ++b;
        while (e > b && std::isspace(static_cast<unsigned char>(text_[e - 1])) != 0) --e;
        auto wordy = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || static_cast<unsigned char>(c) >= 0x80; };
        if (b >= e || !std::any_of(text_.begin() + b, text_.begin() + e, wordy)) continue;
        // A passage holding one delimiter of an inline code span or of strong emphasis would
        // leave the other to run on through the paragraph: it takes in the other one (the next
        // after it in the paragraph, else the one before it).
        for (const std::string_view delim : {std::string_view("**"), std::string_view("`")}) {
          size_t count = 0;
          for (size_t at = text_.find(delim, b); at != std::string_view::npos && at + delim.size() <= e;
               at = text_.find(delim, at + delim.size())) {
            ++count;
          }
          if (count % 2 == 0) continue;
          const size_t para_end = std::min<size_t>(pe, text_.find("\n\n", e));
          const size_t para_begin = std::max<size_t>(pb, b >= 2 ? text_.rfind("\n\n", b - 2) + 1 : 0);
          if (const size_t next = text_.find(delim, e); next != std::string_view::npos && next + delim.size() <= para_end) {
            e = static_cast<uint32_t>(next + delim.size());
          } else if (const size_t prev = b > 0 ? text_.rfind(delim, b - 1) : std::string_view::npos;
                     prev != std::string_view::npos && prev >= para_begin && prev < b) {
            b = static_cast<uint32_t>(prev);
          }
        }
        pieces.push_back({b, e, &sp});
      }
    }
    // Regions in answer order, overlapping ones (with `touching`, adjacent ones too) made one,
    // named after the span with most matched tokens.
    auto join = [](std::vector<Region> in, bool touching) {
      std::sort(in.begin(), in.end(), [](const Region& x, const Region& y) { return x.b < y.b; });
      std::vector<Region> out;
      for (const Region& r : in) {
        if (!out.empty() && (r.b < out.back().e || (touching && r.b == out.back().e))) {
          out.back().e = std::max(out.back().e, r.e);
          out.back().prose |= r.prose;
          if (r.main->matched_tokens > out.back().main->matched_tokens) out.back().main = r.main;
        } else {
          out.push_back(r);
        }
      }
      return out;
    };
    std::vector<Region> regions = join(std::move(pieces), false);
    // Code passages become whole lines with balanced brackets and blocks (which may join them).
    bool moved = false;
    std::map<size_t, std::vector<int32_t>> partners;  // by stream, made once
    // A block of JavaScript's family, parsed once, when a passage in it is redacted (not in a
    // patch, whose lines begin with their column, nor in a quote or HTML).
    std::map<size_t, std::unique_ptr<ScriptBlock>> scripts;
    auto script_of = [&](size_t si) -> const ScriptBlock& {
      auto it = scripts.find(si);
      if (it == scripts.end()) {
        const Stream& st = streams_[si];
        it = scripts.emplace(si, std::make_unique<ScriptBlock>(text_, st.text_begin, st.text_end,
                                                         st.diff || st.stripped ? nullptr : LookupLanguage(st.language)))
                 .first;
      }
      return *it->second;
    };
    // Per block (its first reading): whether the words of its comments and strings were read as prose.
    std::vector<bool> words_read(streams_.size(), false);
    for (size_t si = 0; si < streams_.size(); ++si) {
      if (streams_[si].prose_of_code) words_read[streams_[si].shadow_of < 0 ? si : static_cast<size_t>(streams_[si].shadow_of)] = true;
    }
    // The answer's tokens aligned with a source, of every passage replaced (Span::aligned).
    std::vector<std::pair<uint32_t, uint32_t>> aligned;
    for (const Span& sp : v_.spans) {
      if (Replaced(sp)) aligned.insert(aligned.end(), sp.aligned.begin(), sp.aligned.end());
    }
    std::sort(aligned.begin(), aligned.end());
    {
      size_t n = 0;  // overlapping ranges made one
      for (const auto& r : aligned) {
        if (n > 0 && r.first <= aligned[n - 1].second) aligned[n - 1].second = std::max(aligned[n - 1].second, r.second);
        else aligned[n++] = r;
      }
      aligned.resize(n);
    }
    std::vector<Region> unbalanced = regions;  // (each as BalanceCodeRegion found it)
    std::vector<Region> parts;  // balanced parts of passages that balance only in part (below)
    for (size_t ri = 0; ri < regions.size(); ++ri) {
      Region& r = regions[ri];
      const int si = code_block_at(r.b);
      if (si < 0) continue;  // prose (a code span, or a prose reading of code, lies in its block)
      // A passage of the block's comments and strings read as prose takes in the whole strings and
      // comments it is in. (Not one of a block read wholly as prose, whose code reading's
      // "strings" may run from an apostrophe in the prose.)
      static const Tokens kNoCode;
      const bool words_only = streams_[si].prose_of_code;  // a block of comments only
      if (r.prose && words_read[streams_[si].shadow_of < 0 ? static_cast<size_t>(si) : static_cast<size_t>(streams_[si].shadow_of)]) {
        WidenToStringsAndComments(text_, words_only ? kNoCode : streams_[si].tokens, streams_[si].text_begin,
                                  streams_[si].text_end, &r.b, &r.e);
      }
      if (!words_only) {
        auto it = partners.find(si);
        if (it == partners.end()) {
          it = partners.emplace(si, PairedTokens(streams_[si].tokens, streams_[si].language, streams_[si].indents)).first;
          script_of(si).PairElements(streams_[si].tokens, &it->second);  // (JSX's tags pair as brackets)
        }
        // (Whole lines within the block: an HTML block's first and last lines may hold its tags.)
        const uint32_t b = r.b, e = r.e, block_b = streams_[si].text_begin, block_e = streams_[si].text_end;
        unbalanced[ri] = r;
        const Language* lang = LookupLanguage(streams_[si].language);
        const bool semicolons = lang != nullptr && lang->statements_end_with_semicolon;
        BalanceCodeRegion(text_, streams_[si].tokens, it->second, semicolons, &r.b, &r.e);
        if (b >= block_b) r.b = std::max(r.b, block_b);
        if (e <= block_e) r.e = std::min(r.e, block_e);
        // (What it gave up at either end may balance on its own: BalancedRemainders.)
        bool instead = false;  // (the parts replace what BalanceCodeRegion kept)
        // Whether the block with lines [pb, pe) replaced reads as well by its grammar as before
        // (no more of it left unread), parsed once more for each such part.
        std::optional<double> unread_before;
        auto unread = [&](std::string_view code) {
          return ParseErrorShare(lang, code) * static_cast<double>(NonBlankBytes(code));
        };
        auto reads_as_well = [&](uint32_t pb, uint32_t pe) {
          if (lang == nullptr || lang->grammar == nullptr || streams_[si].diff || block_e <= block_b) return true;
          if (!unread_before) unread_before = unread(text_.substr(block_b, block_e - block_b));
          std::string copy(text_);
          RedactCodeLines(&copy, pb, pe, 0, block_b, block_e, lang, CommentSyntax{lang->line_comment, ""}, "[redacted]");
          return unread(std::string_view(copy).substr(block_b, block_e + copy.size() - text_.size() - block_b)) <= *unread_before;
        };
        for (auto [pb, pe] : BalancedRemainders(text_, streams_[si].tokens, it->second, BlockTokensOf(streams_[si].language).start,
                                                semicolons, b, e, r.b, r.e, o_.code.redact_tokens, aligned, &instead,
                                                reads_as_well)) {
          if (b >= block_b) pb = std::max(pb, block_b);  // (within the block, as the passage is)
          if (e <= block_e) pe = std::min(pe, block_e);
          if (pb < pe) parts.push_back(Region{pb, pe, r.main, r.prose});
        }
        if (instead) r.e = r.b;
      }
      moved = true;
    }
    // A code passage BalanceCodeRegion gave up (a function's header alone) is not replaced,
    // unless every passage was and no part of one balances alone: a redaction replaces
    // something, then the passages as BalanceCodeRegion found them.
    if (parts.empty() && std::all_of(regions.begin(), regions.end(), [](const Region& r) { return r.e <= r.b; })) {
      for (size_t k = 0; k < regions.size(); ++k) regions[k] = unbalanced[k];
    } else {
      regions.erase(std::remove_if(regions.begin(), regions.end(), [](const Region& r) { return r.e <= r.b; }),
                    regions.end());
      regions.insert(regions.end(), parts.begin(), parts.end());
    }
    if (moved) regions = join(std::move(regions), true);
    std::string out(text_);
    // (What was replaced, in the order replaced: the edits of a JSON answer's reading. And
    // where each replacement's bytes begin and end in `out` once all are made, and how far it
    // moved the bytes after it: where a byte of `out` was in the reading.)
    struct Replaced {
      size_t begin, written;
      ptrdiff_t moved;
    };
    std::vector<Replaced> replaced;
    size_t replaced_from = out.size();
    auto record = [&](size_t b, size_t e, size_t size_before) {
      const size_t written = e - b + out.size() - size_before;
      edits_.push_back({static_cast<uint32_t>(b), static_cast<uint32_t>(std::max(b, std::min(e, replaced_from))),
                        out.substr(b, written)});
      replaced.push_back({b, written, static_cast<ptrdiff_t>(out.size()) - static_cast<ptrdiff_t>(size_before)});
      replaced_from = b;
    };
    for (auto it = regions.rbegin(); it != regions.rend(); ++it) {
      const size_t size_before = out.size();
      const std::string marker = Marker(o_.redact_marker, it->main->source_name);
      // In the comment syntax of the block's language as the answer names it (a fence tag of a
      // language read by the generic lexer has its own): the block of the main span, which a
      // region joined with prose before it does not start in.
      // (The block's first reading's tag: a `sql` block found read as another language keeps
      // SQL's comments; but a block read again in the language its candidates led to, under a
      // wrong tag, is in that language.)
      if (const int block = code_block_at(it->main->query.start); block >= 0) {
        const size_t floor = std::next(it) != regions.rend() ? std::next(it)->e : 0;
        // (Among a JSX element's children, or for a whole element, a comment JSX reads as one;
        // before a line that begins with `(` or `[`, one that begins with `;`.)
        const std::optional<CommentSyntax> own_comment = script_of(block).MarkerSyntax(streams_[block].tokens, it->b, it->e);
        const auto [b, e] = RedactCodeLines(&out, it->b, it->e, floor, streams_[block].text_begin, streams_[block].text_end,
                                            LookupLanguage(streams_[block].language),
                                            own_comment ? *own_comment
                                                        : CommentSyntaxFor(streams_[code_block_at(it->main->query.start, false)].tag),
                                            marker, streams_[block].diff, streams_[block].diff_container);
        record(b, e, size_before);
      } else {
        out.replace(it->b, it->e - it->b, marker);
        record(it->b, it->e, size_before);
      }
    }
    // A patch redacted still applies: its hunks' line counts are those of its lines now. (A
    // JSON answer's reading is written back by its edits: a header recounted is one more, at
    // its place in the reading, unless it was in a replacement's bytes.)
    if (std::any_of(streams_.begin(), streams_.end(), [](const Stream& st) { return st.diff; })) {
      if (json_ == nullptr) {
        RecountHunks(&out, whole_patch_);
      } else {
        std::vector<HunkRecount> recounts = HunkRecounts(out, whole_patch_);
        auto next = replaced.rbegin();  // (in the order of `out`)
        ptrdiff_t moved = 0;
        for (HunkRecount& h : recounts) {
          for (; next != replaced.rend() && static_cast<ptrdiff_t>(next->begin) + moved + static_cast<ptrdiff_t>(next->written) <=
                                                static_cast<ptrdiff_t>(h.begin);
               ++next) {
            moved += next->moved;
          }
          if (next != replaced.rend() && static_cast<ptrdiff_t>(next->begin) + moved < static_cast<ptrdiff_t>(h.end)) continue;
          edits_.push_back({static_cast<uint32_t>(static_cast<ptrdiff_t>(h.begin) - moved),
                            static_cast<uint32_t>(static_cast<ptrdiff_t>(h.end) - moved), std::move(h.header)});
        }
      }
    }
    v_.output = std::move(out);
  }
}

// Whether the verdict on a second reading of an answer stands rather than the one on the answer
// as written: when its action flags and the other's does not; when both or neither do, when it
// is more severe, or as severe and its spans cover nearly all of the answer the other's spans
// do (9 bytes in 10 at least). For a JSON answer's strings (ReadJsonAnswer; a redaction in the
// strings keeps the JSON valid), the answer as written stands for what only it finds: a
// protected JSON document copied whole, keys, numbers and all, which the index holds as written.
// For an answer sent as code that holds a fenced block, read again as Markdown: a redaction
// there keeps to the blocks, and the code's reading stands for code whose strings or comments
// hold a fence (a docstring's example).
bool OtherReadingStands(const Verdict& in_strings, const Verdict& as_written) {
  // (By what is done first: a policy may map a severity to a milder action, so the more severe
  // reading's action may let through what the other's stops.)
  if (Flagging(in_strings.action) != Flagging(as_written.action)) return Flagging(in_strings.action);
  if (in_strings.severity != as_written.severity) return in_strings.severity > as_written.severity;
  if (in_strings.spans.empty()) return false;
  auto ranges = [](const Verdict& v) {
    std::vector<std::pair<uint32_t, uint32_t>> r;
    for (const Span& s : v.spans) r.emplace_back(s.query.start, s.query.end);
    std::sort(r.begin(), r.end());
    std::vector<std::pair<uint32_t, uint32_t>> merged;
    for (const auto& x : r) {
      if (!merged.empty() && x.first <= merged.back().second) merged.back().second = std::max(merged.back().second, x.second);
      else merged.push_back(x);
    }
    return merged;
  };
  const auto mine = ranges(in_strings), theirs = ranges(as_written);
  uint64_t total = 0, covered = 0;
  for (const auto& [b, e] : theirs) {
    total += e - b;
    for (const auto& [mb, me] : mine) {
      if (mb < e && b < me) covered += std::min(e, me) - std::max(b, mb);
    }
  }
  return covered * 10 >= total * 9;
}

}  // namespace

std::string VerdictKey(const FilterOptions& f) {
  // The manifest of an index with default parameters names this build's tokenizers and grammars.
  std::string k = std::string(kMatcherVersion) + "\n" + codec::EncodeManifest(SketchParams{}) + "\n";
  auto add = [&k](double v) { AppendJsonNumber(&k, v), k += ' '; };
  for (const Thresholds& t : {f.text, f.code}) {
    add(t.min_span_tokens), add(t.redact_tokens), add(t.redact_containment), add(t.block_containment);
  }
  for (double v : {f.min_renaming, f.min_renaming_short, double(f.short_span_tokens), double(f.min_renaming_evidence),
                   double(f.code_evidence_df), f.min_literal_agreement, f.code_whole_share, double(f.code_whole_df),
                   double(f.code_whole_blocks), double(f.code_whole_blocks_min_tokens), double(f.code_whole_min_tokens),
                   double(f.code_whole_joint_df),
                   double(f.code_rare_items), double(f.code_name_df), double(f.code_literal_bytes),
                   double(f.code_verbatim_names), double(f.prose_in_code), double(f.bare_code),
                   double(f.json_strings), double(f.diff_code),
                   double(f.max_document_frequency), double(f.max_candidates), double(f.min_candidate_hits),
                   double(f.seed_size), double(f.code_seed_size), double(f.max_gap), double(f.max_diagonal_drift)}) {
    add(v);
  }
  for (const Action a : f.actions) add(static_cast<double>(a));
  return k;
}

TokenCacheStats Filter::token_cache_stats() const { return token_cache_->Stats(); }

Result<Verdict> Filter::Check(std::string_view text, Kind kind, std::string_view language) const {
  CheckRequest request;
  request.kind = kind;
  request.language = language;
  return Check(text, request);
}

Result<Verdict> Filter::Check(std::string_view text, const CheckRequest& request) const {
  if (request.lexer_first) {
    CheckRequest pass = request;
    pass.lexer_first = false;
    pass.lexed_code = true;
    pass.stop_when_flagged = true;
    Result<Verdict> first = Check(text, pass);
    if (!first.ok() || !(first->partial || Flagging(first->action) || Flagging(first->severity))) return first;
    pass.lexed_code = false;
    pass.stop_when_flagged = false;
    return Check(text, pass);
  }
  DOPPEL_RETURN_IF_ERROR(RefuseNul(text));
  const FilterOptions& o = request.options != nullptr ? *request.options : options_;
  Result<Verdict> as_written = CheckRun(*index_, sketcher_, *token_cache_, o, request, text).Run();
  if (as_written.ok() && request.kind == Kind::kCode && !NamesMarkdown(request.language) &&
      !NamesPatch(request.language) && HoldsFencedBlock(text)) {
    // Sent as code, written as Markdown (an editor sends the file's language, the model fences
    // its code anyway): read again as Markdown, a block without a tag in the language sent. As
    // code, JavaScript's grammar read the opening ``` as a template string running to the end.
    CheckRequest markdown = request;
    markdown.kind = Kind::kText;
    markdown.language = {};
    markdown.fence_language = request.language;
    Result<Verdict> as_markdown = CheckRun(*index_, sketcher_, *token_cache_, o, markdown, text).Run();
    if (!as_markdown.ok()) return Flagging(as_written->action) ? std::move(as_written) : std::move(as_markdown);
    return OtherReadingStands(*as_markdown, *as_written) ? std::move(as_markdown) : std::move(as_written);
  }
  if (!as_written.ok() || request.kind != Kind::kText || !o.json_strings) return as_written;
  // An answer that is one JSON value is read again as what its strings hold (ReadJsonAnswer).
  const std::optional<JsonAnswer> json = ReadJsonAnswer(text);
  if (!json) return as_written;
  Result<Verdict> in_strings = CheckRun(*index_, sketcher_, *token_cache_, o, request, json->map.code, &*json, text).Run();
  // (A flagging verdict is not lost to the time limit passing in the second reading.)
  if (!in_strings.ok()) return Flagging(as_written->action) ? std::move(as_written) : std::move(in_strings);
  return OtherReadingStands(*in_strings, *as_written) ? std::move(in_strings) : std::move(as_written);
}

}  // namespace doppel
