// language_guess.cc — the language of a code block whose fence names none: how much of it each
// grammar leaves unread (ParseErrorShare), under a time limit (ParseDeadline).
#include "doppel/code_tokenizer.h"

#include <time.h>

#include <algorithm>
#include <cctype>
#include <unordered_set>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "code_tokens.h"
#include "doppel/markdown.h"
#include "parse_deadline.h"

namespace doppel {
namespace {

using code_detail::ThreadParser;
using code_detail::UnreadBytes;


// The text of a parse with a time limit, handed to tree-sitter in pieces of at most kPieceBytes
// (cut between UTF-8 characters); once the time is up, the text ends there. The time is the
// thread's CPU time, so a loaded machine, which delays the parse, does not cut it shorter. The
// clock is read when tree-sitter asks for the next piece: error recovery within a piece, and the
// parse's end after the last one, are not cut short (a parse that has read all of the text is
// whole). A stall of the thread between two pieces does not count, and the CPU clock, a system
// call, is read only every sixteenth of the limit on the wall clock (ParseDeadline). The limit is not
// tree-sitter's own (ts_parser_set_timeout_micros): tree-sitter 0.20.7, Debian's, can release a
// subtree it no longer holds when a parse halts on time (upstream's fix for the lookahead released
// on cancellation came after it), seen as a crash in ts_subtree_release a few parses later. A parse
// whose text ends early is a whole parse, of less text.
struct TimedText {
  static constexpr uint32_t kPieceBytes = 64;
  std::string_view text;
  std::optional<ParseDeadline> deadline;  // of the thread's CPU time (ThreadCpuNanos); none: no limit
  bool cut = false;

  static uint64_t ReadClock(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000 + static_cast<uint64_t>(ts.tv_nsec);
  }
  static uint64_t ThreadCpuNanos() { return ReadClock(CLOCK_THREAD_CPUTIME_ID); }
  static uint64_t WallNanos() { return ReadClock(CLOCK_MONOTONIC); }

  static const char* Read(void* payload, uint32_t byte, TSPoint, uint32_t* length) {
    auto* self = static_cast<TimedText*>(payload);
    if (byte >= self->text.size() || self->cut ||
        (self->deadline && (self->cut = self->deadline->PassedAt(WallNanos(), ThreadCpuNanos)))) {
      *length = 0;
      return "";
    }
    const size_t end = code_detail::TextPieceEnd(self->text, byte, kPieceBytes, self->text.size());
    *length = static_cast<uint32_t>(end - byte);
    return self->text.data() + byte;
  }
};

}  // namespace

uint32_t NonBlankBytes(std::string_view text) {
  return static_cast<uint32_t>(std::count_if(text.begin(), text.end(), [](char ch) {
    return ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r';
  }));
}

double ParseErrorShare(const Language* language, std::string_view text, uint64_t timeout_micros) {
  if (language == nullptr || language->grammar == nullptr || text.size() >= UINT32_MAX) return 1;
  TSParser* parser = ThreadParser(language->grammar);
  if (parser == nullptr) return 1;
  constexpr uint64_t kMaxMicros = uint64_t{3600} * 1000 * 1000;  // an hour: longer is no limit
  TimedText timed{.text = text, .deadline = std::nullopt, .cut = false};
  if (timeout_micros > 0 && timeout_micros <= kMaxMicros) {
    timed.deadline.emplace(TimedText::ThreadCpuNanos(), timeout_micros * 1000, TimedText::WallNanos());
  }
  const TSInput input{.payload = &timed, .read = &TimedText::Read, .encoding = TSInputEncodingUTF8};
  TSTree* tree = ts_parser_parse(parser, nullptr, input);
  if (tree == nullptr) return 1;
  const uint32_t unread = UnreadBytes(ts_tree_root_node(tree), [&](TSSymbol sym) {
    return language->comments.count(ts_language_symbol_name(language->grammar, sym)) > 0;
  });
  ts_tree_delete(tree);
  // Past its time: a grammar that reads the text at all reads it faster.
  if (timed.cut) return 1;
  return std::min(1.0, unread / static_cast<double>(std::max<uint32_t>(NonBlankBytes(text), 1)));
}

namespace {

// Reading code whose fence names no grammar's language: how close another family's share of
// the block left unread (ParseErrorShare) may come to the best one's to be read too, how many
// families may read it so before the block is called ambiguous, how much of a block is parsed,
// at least how much there must be, and how long one grammar's parse may take (a grammar that
// reads the text at all reads 2 KB in well under this; one that does not spends its time
// recovering from errors).
constexpr double kGuessTieShare = 0.005;
// (24 bytes: a short method such as `public void Shut() { lock (g) { q.Clear(); d = true; } }`,
// 44, is read in its language, as a tag would have it read; a call or two reads alike in more
// families and stays generic.)
constexpr size_t kGuessMinBytes = 24, kGuessBytes = 2048, kGuessMaxFamilies = 3;
#if defined(__SANITIZE_ADDRESS__)
constexpr uint64_t kGuessParseMicros = 20000;  // instrumented code parses about ten times slower
#else
constexpr uint64_t kGuessParseMicros = 2000;
#endif
// A block longer than kGuessBytes that no grammar reads cleanly there (at most kCleanReadShare
// unread) may be cut inside a construct: a method whose `end`, or a call whose `)`, lies past the
// cut. The grammars that leave at most kGuessWholeShare of the cut unread then read the block
// again, up to kGuessWholeBytes (cut as the first bytes are, GuessHead), each in time
// proportional to its bytes, and their shares of that count. Text that no grammar reads (prose,
// a log) is not parsed twice. When one grammar reads the first bytes cleanly and others tie with
// it (within kGuessTieShare), the tied ones read on so too, and the others are out: a file's
// first 2 KB are often its license and its includes or imports, which C's and C++'s grammars
// read alike (and C, the smaller, would win), or a few lines that two families read alike.
// (Reading on in every grammar within 20%, or within 64 bytes unread of the cleanest, put the
// right family first for fewer long files of the code corpus, 104 and 95 of 119 whole files
// against 111: more families then read the 16 KB about as well, and a block that more than three
// read so is none's.)
constexpr double kGuessWholeShare = 2 * kMisreadShare;
constexpr size_t kGuessWholeBytes = 16384;

// Whether the line at `at` of `text` (which a line end precedes) may open a statement or a
// declaration of the top level: it begins at column 0 with a letter, a digit, `_`, `$`, `@`, a
// directive that does not continue a conditional (`#endif`, `#  else`) or a comment's `/`; not
// with a word that continues a statement (`else`, `except`, `end` ...), nor with a label or an
// access specifier (`done:`, `public:`, which lie inside a function or a class); and the line
// before it does not go on (a `\` or a `,` at its end).
bool OpensTopLevelLine(std::string_view text, size_t at) {
  const unsigned char c = static_cast<unsigned char>(text[at]);
  if (!(std::isalnum(c) || c == '_' || c == '$' || c == '@' || c == '#' || c == '/')) return false;
  auto word_char = [&](size_t k) {
    return k < text.size() && (std::isalnum(static_cast<unsigned char>(text[k])) || text[k] == '_');
  };
  size_t word = at + (c == '#' ? 1 : 0);
  while (c == '#' && word < text.size() && (text[word] == ' ' || text[word] == '\t')) ++word;
  size_t end = word;
  while (word_char(end)) ++end;
  static const std::unordered_set<std::string_view> kGoesOn = {
      "else", "elif", "elsif", "except", "finally", "catch", "end", "rescue", "ensure", "when", "then", "do"};
  static const std::unordered_set<std::string_view> kDirectiveGoesOn = {"else", "elif", "endif", "elifdef",
                                                                         "elifndef"};
  const std::string_view w = text.substr(word, end - word);
  if ((c == '#' ? kDirectiveGoesOn : kGoesOn).count(w) > 0) return false;
  if (c != '#' && end > word && end < text.size() && text[end] == ':' && (end + 1 == text.size() || text[end + 1] != ':')) {
    return false;
  }
  size_t before = at - 1;  // the line end
  while (before > 0 && (text[before - 1] == ' ' || text[before - 1] == '\t' || text[before - 1] == '\r')) --before;
  return before == 0 || (text[before - 1] != '\\' && text[before - 1] != ',');
}

// The text's first `bytes` (or the whole text, when shorter), cut at a line's end: before the last
// line in the second half of those bytes that may open a statement or a declaration of the top
// level (OpensTopLevelLine), so that the cut does not fall inside an indented construct (a
// method's body, a list, a documentation comment whose lines begin with ` *`), which leaves the
// text's own grammar the most unread (a cut in a Javadoc comment: Java's grammar left 10.7% of
// HashMap.java's first 2 KB unread, Rust's 3.1%); else at the last line's end.
std::string_view GuessHead(std::string_view text, size_t bytes) {
  if (text.size() <= bytes) return text;
  for (size_t nl = text.rfind('\n', bytes - 1); nl != std::string_view::npos && nl >= bytes / 2;
       nl = text.rfind('\n', nl - 1)) {
    if (OpensTopLevelLine(text, nl + 1)) return text.substr(0, nl);
  }
  const size_t cut = text.rfind('\n', bytes);
  return text.substr(0, cut == std::string_view::npos || cut == 0 ? bytes : cut);
}

}  // namespace

std::vector<const Language*> GuessCodeLanguages(std::string_view text) {
  auto head = [&](size_t bytes) { return GuessHead(text, bytes); };
  const std::string_view first = head(kGuessBytes);
  if (NonBlankBytes(first) < kGuessMinBytes) return {};
  // A log, a dump, a stack trace or prose is no grammar's language: eleven grammars recovering
  // from errors over it would take about 20 ms per 2 KB to say so.
  if (ReadsAsOutputOrProse(head(kGuessWholeBytes))) return {};
  auto langs = Languages();
  if (!langs.ok()) return {};
  std::vector<std::pair<double, const Language*>> read;
  for (const Language& l : **langs) {
    if (l.grammar == nullptr) continue;
    read.emplace_back(ParseErrorShare(&l, first, kGuessParseMicros), &l);
  }
  if (read.empty()) return {};
  const double cleanest = std::min_element(read.begin(), read.end())->first;
  const std::string_view longer = head(kGuessWholeBytes);
  const bool clean = cleanest <= kCleanReadShare;
  const auto tied = std::count_if(read.begin(), read.end(), [&](const auto& r) { return r.first <= cleanest + kGuessTieShare; });
  if (longer.size() > first.size() && (!clean || tied > 1)) {
    // (The limit is in proportion to the bytes against kGuessBytes, not against the cut: a first
    // line of a few bytes before a long one makes a short cut, not a longer limit.)
    const uint64_t micros = kGuessParseMicros * std::max(longer.size(), kGuessBytes) / kGuessBytes;
    const auto on_first = read;
    for (auto& [share, language] : read) {
      if (share <= (clean ? cleanest + kGuessTieShare : kGuessWholeShare)) {
        share = ParseErrorShare(language, longer, micros);
      } else if (clean) {
        share = 1;  // out
      }
    }
    // (Tied grammars that all misread the longer text, or ran out of time on it, leave the
    // decision to the first bytes.)
    if (clean && std::min_element(read.begin(), read.end())->first > kMisreadShare) read = on_first;
  }
  // (Stable: languages that tie keep the table's order, by name: c before c_sharp before java.)
  std::stable_sort(read.begin(), read.end(), [&](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second->family_rank < b.second->family_rank;
  });
  const double best_share = read.front().first;
  if (best_share > kMisreadShare) return {};
  std::vector<const Language*> found;
  for (const auto& [share, language] : read) {
    // A clean read is not matched by a near one: C that C#'s grammar reads with a slip is C.
    if (share > best_share + kGuessTieShare || (best_share == 0 && share > 0)) break;
    const Language* l = language;  // (clang before 16 cannot capture a structured binding)
    const bool family_found =
        std::any_of(found.begin(), found.end(), [l](const Language* f) { return f->family == l->family; });
    if (family_found) continue;
    if (found.size() == kGuessMaxFamilies) return {};
    found.push_back(l);
  }
  return found;
}

}  // namespace doppel
