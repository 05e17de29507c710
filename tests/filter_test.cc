// Library-level tests of the filter (doppel/filter.h) against an index of real license texts,
// and of the alignment it relies on (lib/src/match/align.h).
#include <algorithm>
#include <cmath>
#include <limits>
#include <catch2/catch.hpp>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "doppel/filter.h"
#include "doppel/format.h"
#include "doppel/index.h"
#include "doppel/index_writer.h"
#include "doppel/reader.h"
#include "doppel/sketch.h"
#include "doppel/verdict.h"
#include "index/codec.h"
#include "match/align.h"
#include "rocks_util.h"
#include "test_util.h"

using namespace doppel;
using doppel_test::Contains;
using doppel_test::EndsWith;
using doppel_test::MakeDoc;
using doppel_test::TempDir;

namespace {

const std::string kLicenses = "/usr/share/common-licenses";

const char* kLighthouse =
    "The lighthouse on the northern cape was first lit in the winter of a stormy year, when "
    "the keeper carried oil up one hundred and twelve steps every evening. Its lens came by "
    "ship in crates packed with straw, and the glass prisms were polished by hand each "
    "morning so that the beam would reach the fishing boats beyond the reef. Later the "
    "station was automated, the keeper's cottage became a small museum, and visitors now "
    "climb the same worn stairs to look out over the grey water.";

const char* kSourdough =
    "A sourdough starter is only flour and water left to ferment until wild yeasts and "
    "lactic bacteria settle in. Feed it twice a day at room temperature, discard half before "
    "each feeding, and watch for bubbles that double its height within a few hours. A sharp "
    "smell of vinegar means it is hungry; a layer of grey liquid on top can be poured off.";

// About 150 words of original prose each, on a topic far from the corpus.
const char* kProseBefore =
    "Planning a long walk in the mountains starts days before you lace your boots. Look at "
    "the forecast for the valley and for the ridge, because the two can differ by ten "
    "degrees and a whole afternoon of thunder. Pack layers rather than one heavy coat: a thin "
    "wool shirt, a fleece, and a shell that blocks the wind will cover most conditions. "
    "Bring more water than seems sensible, a paper map even if your phone has one, and a "
    "small first aid kit with blister plasters. Tell someone at home which trail you chose "
    "and when you expect to be back. On the morning itself, start early, since clouds tend "
    "to build after lunch and the light fades sooner than you think in autumn. Walk at a "
    "pace that lets you talk without gasping, and stop to eat before you feel hungry. Some "
    "hikers like to read the fine print before they set off, and one friend of mine once "
    "recited this passage to me at the trailhead:";
const char* kProseAfter =
    "After that detour we turned back to the route. The first hour climbed through beech "
    "forest, where the path was soft with old leaves and the air smelled of moss. Above the "
    "tree line the wind picked up, so we added a layer and kept moving toward the saddle "
    "between the two summits. At the top we shared bread, cheese and a thermos of sweet "
    "tea while hawks circled below us. Coming down is harder on the knees than going up, "
    "so we shortened our steps and used poles on the loose scree. By the time we reached "
    "the car the sun had set behind the western peaks, our legs were heavy, and the little "
    "village inn was still serving soup. Next time we will take the longer loop past the "
    "lake, camp one night by the shore, and let the day unfold more slowly.";

std::string Between(const std::string& text, const std::string& from, const std::string& to) {
  const size_t b = text.find(from);
  REQUIRE(b != std::string::npos);
  const size_t e = text.find(to, b);
  REQUIRE(e != std::string::npos);
  return text.substr(b, e - b);
}

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// Collapses every run of whitespace to one space.
std::string Squeeze(const std::string& s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::vector<std::string> SplitWords(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

std::string Join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

// The body of Apache-2.0 section 7 (about 75 words), verbatim.
std::string ApacheSection7() {
  const std::string text = doppel_test::ReadFile(kLicenses + "/Apache-2.0");
  std::string s = Between(text, "Unless required by applicable law or\n      agreed to in writing, Licensor",
                          "8. Limitation of Liability");
  return Trim(s);
}

// The section with about one word in ten replaced.
std::string EditedApacheSection7() {
  static const char* kSubs[] = {"purple", "gravel", "lantern", "orbit",
                                "velvet", "harbor", "quartz", "meadow"};
  auto words = SplitWords(ApacheSection7());
  for (size_t i = 4, j = 0; i < words.size(); i += 10, ++j) words[i] = kSubs[j % 8];
  return Join(words);
}

uint32_t Lines1(std::string_view text, uint32_t offset) {
  return 1 + static_cast<uint32_t>(std::count(text.begin(), text.begin() + offset, '\n'));
}

double IoU(uint32_t a0, uint32_t a1, uint32_t b0, uint32_t b1) {
  const double inter = std::max<double>(0, static_cast<double>(std::min(a1, b1)) - std::max(a0, b0));
  const double uni = static_cast<double>(std::max(a1, b1)) - std::min(a0, b0);
  return uni > 0 ? inter / uni : 0;
}

// Builds an index of five license texts (through the reader and BuildIndex) plus two
// documents written here (one with metadata).
// A new index at `dir` of the files `inputs`, open for more writes.
std::unique_ptr<Index> BuildFiles(const std::string& dir, const std::vector<std::string>& inputs) {
  IndexOptions io;
  io.create_if_missing = true;
  auto index = Index::Open(dir, io);
  REQUIRE(index.ok());
  auto reader = DocumentReader::Open(inputs, ReaderOptions());
  REQUIRE(reader.ok());
  BuildOptions bo;
  bo.threads = 2;
  BuildSummary sum;
  const Status s = BuildIndex(index->get(), reader->get(), bo, &sum);
  INFO(s.ToString());
  REQUIRE(s.ok());
  REQUIRE(sum.written.added == inputs.size());
  REQUIRE(sum.errors == 0);
  return std::move(*index);
}

void BuildCorpus(const std::string& dir) {
  std::vector<std::string> inputs;
  for (const char* name : {"Apache-2.0", "GPL-3", "MPL-2.0", "BSD", "GPL-2"}) {
    inputs.push_back(kLicenses + "/" + name);
  }
  auto index = BuildFiles(dir, inputs);
  auto own = doppel_test::SketchAll(
      index->params(), {MakeDoc("notes/lighthouse.txt", kLighthouse, R"({"license":"CC-BY-4.0"})"),
                           MakeDoc("notes/sourdough.txt", kSourdough)});
  WriteSummary ws;
  REQUIRE(index->Write(&own, &ws).ok());
  REQUIRE(ws.added == 2);
}

std::unique_ptr<Filter> OpenFilter(const std::string& dir, const FilterOptions& o = {},
                                   const IndexOptions& io = {}) {
  auto f = Filter::Open(dir, o, io);
  INFO(f.status().ToString());
  REQUIRE(f.ok());
  return std::move(f).value();
}

Verdict CheckOk(const Filter& f, std::string_view text, Kind kind = Kind::kText, std::string_view language = "") {
  auto v = f.Check(text, kind, language);
  INFO(v.status().ToString());
  REQUIRE(v.ok());
  return std::move(v).value();
}

// GPL-3's paragraph on devices that deny users access (about 110 words, ten lines in the file).
std::string GplDevicesParagraph() {
  return Trim(Between(doppel_test::ReadFile(kLicenses + "/GPL-3"), "Some devices are designed", "\n\n"));
}

std::string Describe(const Verdict& v) {
  std::string s;
  AppendVerdictJson(v, false, &s);
  return s;
}

struct EditedQuery {
  std::string text;
  uint32_t start, end;  // the inserted quote
};

EditedQuery MakeEditedQuery() {
  const std::string quote = EditedApacheSection7();
  EditedQuery q;
  q.text = std::string(kProseBefore) + " \"";
  q.start = static_cast<uint32_t>(q.text.size());
  q.text += quote;
  q.end = static_cast<uint32_t>(q.text.size());
  q.text += "\"\n\n" + std::string(kProseAfter) + "\n";
  return q;
}

}  // namespace

TEST_CASE("filter: an edited quote inside original prose is found with its source",
          "[filter]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildCorpus(dir);
  auto filter = OpenFilter(dir);
  const EditedQuery q = MakeEditedQuery();
  REQUIRE(SplitWords(ApacheSection7()).size() >= 70);
  const Verdict v = CheckOk(*filter, q.text);
  INFO(Describe(v));
  CHECK((v.action == Action::kRedact || v.action == Action::kBlock));
  const std::string source_text = doppel_test::ReadFile(kLicenses + "/Apache-2.0");
  const size_t sec7 = source_text.find("7. Disclaimer of Warranty.");
  const size_t sec8 = source_text.find("8. Limitation of Liability.");
  REQUIRE(sec7 != std::string::npos);
  REQUIRE(sec8 != std::string::npos);
  const Span* best = nullptr;
  for (const auto& s : v.spans) {
    if (!EndsWith(s.source_name, "Apache-2.0")) continue;
    if (!best || IoU(s.query.start, s.query.end, q.start, q.end) >
                     IoU(best->query.start, best->query.end, q.start, q.end)) {
      best = &s;
    }
  }
  REQUIRE(best != nullptr);
  CHECK(IoU(best->query.start, best->query.end, q.start, q.end) >= 0.8);
  // The source range lies in section 7 and holds the quoted words.
  CHECK(best->source.start >= sec7);
  CHECK(best->source.end <= sec8);
  REQUIRE(best->source.end <= source_text.size());
  const std::string excerpt =
      Squeeze(source_text.substr(best->source.start, best->source.end - best->source.start));
  CHECK(Contains(excerpt, "solely responsible for determining"));
  CHECK(best->source.first_line == Lines1(source_text, best->source.start));
  CHECK(best->matched_tokens >= 30);
  CHECK(best->score > 0.5);
  CHECK(best->score <= 1.0);
  CHECK(v.query_tokens > 300);
  CHECK(v.score > 0.1);
  CHECK(v.score < 0.5);
  CHECK_FALSE(v.reason.empty());
}

TEST_CASE("filter: original text is allowed with no spans", "[filter]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildCorpus(dir);
  auto filter = OpenFilter(dir);
  const std::string text = std::string(kProseBefore) + "\n\n" + kProseAfter;
  const Verdict v = CheckOk(*filter, text);
  INFO(Describe(v));
  CHECK(v.action == Action::kAllow);
  CHECK(v.spans.empty());
  CHECK(v.score == 0);
  CHECK(v.output == text);  // allowed answers pass through unchanged
  CHECK(v.query_tokens > 250);
  // The demo's original answers, too.
  for (const char* name : {"04-original.txt", "05-original-cooking.txt", "07-unicode-original.txt"}) {
    INFO(name);
    const std::string answer = doppel_test::ReadFile(std::string(DOPPEL_SOURCE_DIR) +
                                                     "/data/demo/answers/" + name);
    const Verdict a = CheckOk(*filter, answer);
    CHECK(a.action == Action::kAllow);
    CHECK(a.spans.empty());
  }
}

TEST_CASE("filter: a verbatim paragraph alone is blocked", "[filter]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildCorpus(dir);
  FilterOptions o;
  auto filter = OpenFilter(dir, o);
  const std::string gpl = doppel_test::ReadFile(kLicenses + "/GPL-3");
  const std::string para = Trim(Between(gpl, "Some devices are designed", "\n\n"));
  REQUIRE(SplitWords(para).size() > 90);
  const Verdict v = CheckOk(*filter, para);
  INFO(Describe(v));
  CHECK(v.action == Action::kBlock);
  CHECK(v.score >= 0.8);
  CHECK(v.output == o.block_message);
  REQUIRE_FALSE(v.spans.empty());
  CHECK(EndsWith(v.spans[0].source_name, "GPL-3"));
  CHECK(v.spans[0].query.start == 0);
  CHECK(para.substr(v.spans[0].query.end) == ".");  // spans end at the last word
}

TEST_CASE("filter: a candidate's damaged signature is an error naming it, not a jaccard of 0", "[filter]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildCorpus(dir);
  const std::string gpl = doppel_test::ReadFile(kLicenses + "/GPL-3");
  uint32_t id = 0;
  std::string name;
  {
    auto filter = OpenFilter(dir);
    const Verdict v = CheckOk(*filter, gpl);
    CHECK(v.jaccard > 0.9);  // found through its bands too, its signature read
    REQUIRE_FALSE(v.spans.empty());
    id = v.spans[0].source_id;
    name = v.spans[0].source_name;
  }
  doppel_test::RawPut(dir, "sig", codec::IdKey(id), "garbage");
  auto filter = OpenFilter(dir);
  const auto v = filter->Check(gpl, Kind::kText, "");
  REQUIRE_FALSE(v.ok());
  CHECK(v.status().code() == Status::Code::kCorruption);
  CHECK(v.status().message().find(name) != std::string::npos);
}

TEST_CASE("filter: invalid UTF-8 in a query is InvalidArgument naming the offset", "[filter]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildCorpus(dir);
  auto filter = OpenFilter(dir);
  auto v = filter->Check("All good so far \xc0\xaf then bad");
  CHECK(v.status().code() == Status::Code::kInvalidArgument);
  CHECK(Contains(v.status().message(), "byte offset 16"));
}

TEST_CASE("filter: an empty or wordless query is allowed", "[filter]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildCorpus(dir);
  auto filter = OpenFilter(dir);
  for (const std::string& text : {std::string(), std::string("  \n ... !!! ---\n")}) {
    const Verdict v = CheckOk(*filter, text);
    CHECK(v.action == Action::kAllow);
    CHECK(v.spans.empty());
    CHECK(v.query_tokens == 0);
    CHECK(v.score == 0);
    CHECK(v.output == text);
  }
  // Indented by a tab after a blank line, the same marks are an indented code block, whose
  // operators are code tokens: still allowed.
  const std::string indented = "  \n\t... !!! ---\n";
  const Verdict v = CheckOk(*filter, indented);
  CHECK(v.action == Action::kAllow);
  CHECK(v.spans.empty());
  CHECK(v.output == indented);
}

TEST_CASE("filter: spans are ordered by query start and carry consistent lines", "[filter]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildCorpus(dir);
  auto filter = OpenFilter(dir);
  const std::string mpl = doppel_test::ReadFile(kLicenses + "/MPL-2.0");
  const std::string gpl = doppel_test::ReadFile(kLicenses + "/GPL-3");
  const std::string mpl_quote =
      Trim(Between(mpl, "All distribution of Covered Software in Source Code Form", "3.2."));
  const std::string gpl_quote = Trim(Between(gpl, "Some devices are designed", "\n\n"));
  // Two quotes (with their own line breaks) between lines of prose.
  const std::string text = std::string("A first line of my own.\nAnd a second one.\n\n") +
                           gpl_quote + "\n\n" + kProseAfter + "\n\n" + mpl_quote +
                           "\n\nThat is all I wanted to say about it.\n";
  const Verdict v = CheckOk(*filter, text);
  INFO(Describe(v));
  REQUIRE(v.spans.size() >= 2);
  bool saw_mpl = false, saw_gpl = false;
  for (size_t i = 0; i < v.spans.size(); ++i) {
    const Span& s = v.spans[i];
    INFO("span " << i << " from " << s.source_name);
    if (i > 0) CHECK(v.spans[i - 1].query.start <= s.query.start);
    CHECK(s.query.start < s.query.end);
    CHECK(s.query.end <= text.size());
    CHECK(s.query.first_line >= 1);
    CHECK(s.query.first_line == Lines1(text, s.query.start));
    CHECK(s.query.last_line == Lines1(text, s.query.end - 1));
    CHECK(s.query.first_line <= s.query.last_line);
    auto content = filter->index().GetContent(s.source_id);
    REQUIRE(content.ok());
    CHECK(s.source.end <= content->size());
    CHECK(s.source.first_line == Lines1(*content, s.source.start));
    CHECK(s.source.last_line == Lines1(*content, s.source.end - 1));
    saw_mpl |= EndsWith(s.source_name, "MPL-2.0");
    saw_gpl |= EndsWith(s.source_name, "GPL-3");
  }
  CHECK(saw_mpl);
  CHECK(saw_gpl);
  // The GPL quote starts on line 4 of the answer.
  CHECK(v.spans[0].query.first_line == 4);
}

TEST_CASE("filter: a span that ends in a literal over several lines ends on the literal's last line", "[filter]") {
  // Python joins the strings of lines 9-13 into one literal: a span ending in it ends on line 13,
  // in the answer and in the source alike (it was reported as ending on line 9, where the
  // literal begins).
  const std::string head =
      "import re\n\n"
      "Continuation = re.compile(br'\\+( (?P<data>.*))?')\n"
      "Flags = re.compile(br'.*FLAGS \\((?P<flags>[^\\)]*)\\)')\n"
      "Literal = re.compile(br'.*{(?P<size>\\d+)}$', re.ASCII)\n"
      "MapCRLF = re.compile(br'\\r\\n|\\r|\\n')\n"
      "Response_code = re.compile(br'\\[(?P<type>[A-Z-]+)( (?P<data>.*))?\\]')\n"
      "Untagged_response = re.compile(br'\\* (?P<type>[A-Z-]+)( (?P<data>.*))?')\n"
      "InternalDate = re.compile(br'.*INTERNALDATE \"'\n"
      "        br'(?P<day>[ 0123][0-9])-(?P<mon>[A-Z][a-z][a-z])-(?P<year>[0-9][0-9][0-9][0-9])'\n"
      "        br' (?P<hour>[0-9][0-9]):(?P<min>[0-9][0-9]):(?P<sec>[0-9][0-9])'\n"
      "        br' (?P<zonen>[-+])(?P<zoneh>[0-9][0-9])(?P<zonem>[0-9][0-9])'\n"
      "        br'\"')\n";
  const std::string source =
      head + "Untagged_status = re.compile(br'\\* (?P<data>\\d+) (?P<type>[A-Z-]+)( (?P<data2>.*))?', re.ASCII)\n";
  const std::string answer = head + "    ; totally = different(code) + here * 3\ndef other(x):\n    return [y for y in x if y]\n";
  TempDir tmp;
  // An index of one Python file.
  auto index_of = [&](const std::string& dir, const std::string& name, const std::string& text) {
    IndexOptions io;
    io.create_if_missing = true;
    auto index = Index::Open(dir, io);
    REQUIRE(index.ok());
    Document d = MakeDoc(name, text);
    d.kind = Kind::kCode;
    d.language = "python";
    auto batch = doppel_test::SketchAll((*index)->params(), {d});
    WriteSummary ws;
    REQUIRE((*index)->Write(&batch, &ws).ok());
  };
  const std::string dir = tmp / "idx";
  index_of(dir, "lib/imap_patterns.py", source);
  auto filter = OpenFilter(dir);
  const Verdict v = CheckOk(*filter, answer, Kind::kCode, "python");
  INFO(Describe(v));
  REQUIRE_FALSE(v.spans.empty());
  const Span& s = v.spans[0];
  CHECK(s.query.last_line == Lines1(answer, s.query.end - 1));
  CHECK(s.source.last_line == Lines1(source, s.source.end - 1));
  CHECK(s.query.last_line == 13);
  CHECK(s.source.last_line == 13);
  // The same joined literal on one line of the source: the source's lines end where it does.
  const std::string one_line_head = head.substr(0, head.find("InternalDate")) +
                                    "InternalDate = re.compile(br'.*INTERNALDATE \"' br'(?P<day>[ 0123][0-9])-(?P<mon>"
                                    "[A-Z][a-z][a-z])-(?P<year>[0-9][0-9][0-9][0-9])' br' (?P<hour>[0-9][0-9]):(?P<min>"
                                    "[0-9][0-9]):(?P<sec>[0-9][0-9])' br' (?P<zonen>[-+])(?P<zoneh>[0-9][0-9])(?P<zonem>"
                                    "[0-9][0-9])' br'\"')\n";
  const std::string one_line = one_line_head + "Flagged = re.compile(br'.*FLAGGED')\n";
  const std::string dir2 = tmp / "idx2";
  index_of(dir2, "lib/imap_one_line.py", one_line);
  auto filter2 = OpenFilter(dir2);
  const Verdict v2 = CheckOk(*filter2, answer, Kind::kCode, "python");
  INFO(Describe(v2));
  REQUIRE_FALSE(v2.spans.empty());
  const Span& s2 = v2.spans[0];
  CHECK(s2.query.last_line == 13);
  CHECK(s2.source.last_line == Lines1(one_line, s2.source.end - 1));
  CHECK(s2.source.last_line == 9);
}

TEST_CASE("filter: protected prose quoted in a fence without a grammar's language is found", "[filter]") {
  // A fence without a tag, or tagged `text` or `bash`, is read as code (the generic lexer) and as
  // prose: the paragraph is blocked as it is unfenced, its tokens counted once. So is a fence in
  // a grammar's language that the grammar mostly cannot read.
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildCorpus(dir);
  auto filter = OpenFilter(dir);
  const std::string gpl = doppel_test::ReadFile(kLicenses + "/GPL-3");
  const std::string para = Trim(Between(gpl, "Some devices are designed", "\n\n"));
  for (const std::string& tag : {std::string(""), std::string("text"), std::string("bash")}) {
    const std::string answer = "Here it is:\n\n```" + tag + "\n" + para + "\n```\n";
    const Verdict v = CheckOk(*filter, answer);
    INFO("```" << tag << "\n" << Describe(v));
    CHECK(v.action == Action::kBlock);
    CHECK(v.score >= 0.8);
    CHECK(v.score <= 1.0);
    REQUIRE_FALSE(v.spans.empty());
    CHECK(EndsWith(v.spans[0].source_name, "GPL-3"));
    CHECK(v.spans[0].query.start == answer.find("Some devices"));
    // As one input in that language, too.
    if (!tag.empty()) {
      const Verdict whole = CheckOk(*filter, para, Kind::kCode, tag);
      INFO(Describe(whole));
      CHECK(whole.action == Action::kBlock);
    }
  }
  const Verdict python = CheckOk(*filter, "Here it is:\n\n```python\n" + para + "\n```\n");
  CHECK(python.action == Action::kBlock);
  REQUIRE_FALSE(python.spans.empty());
  CHECK(EndsWith(python.spans[0].source_name, "GPL-3"));
  // And as one input in a grammar's language (an editor names its file's language whatever the
  // answer holds): it was read as code only, and allowed.
  for (const std::string lang : {"python", "go", "c"}) {
    const Verdict whole = CheckOk(*filter, para, Kind::kCode, lang);
    INFO(lang << ": " << Describe(whole));
    CHECK(whole.action == Action::kBlock);
  }
  // Half of a fence quoted, half new: the quote is redacted inside the fence, the rest kept.
  const std::string half = Trim(Between(gpl, "Some devices are designed", "\n\n")).substr(0, 400);
  const std::string mixed = "Notes:\n\n```\n" + half +
                            "\nmkdir -p build && cd build && cmake .. && make -j2 && ctest --output-on-failure\n"
                            "rsync -av --delete out/ backup/ && echo finished with the nightly copy of the results\n"
                            "for f in *.log; do gzip -9 \"$f\"; done; ls -la; du -sh . ; date; uptime; whoami\n"
                            "git log --oneline | head -20 && git status --short && git diff --stat HEAD~3\n```\n";
  const Verdict m = CheckOk(*filter, mixed);
  INFO(Describe(m));
  CHECK(m.action == Action::kRedact);
  CHECK_FALSE(Contains(m.output, half.substr(0, 60)));
  CHECK(Contains(m.output, "git log --oneline"));
  // Redacted as code: whole lines, the marker a comment in the fence's language.
  std::string bash = mixed;
  bash.replace(bash.find("```\n"), 4, "```bash\n");
  const Verdict b = CheckOk(*filter, bash);
  INFO(b.output);
  CHECK(b.action == Action::kRedact);
  CHECK(Contains(b.output, "\n# [redacted: similar to " + kLicenses + "/GPL-3]\n"));
  CHECK(Contains(b.output, "\nmkdir -p build && cd build"));
}

TEST_CASE("filter: protected prose put in code's strings and comments is found", "[filter]") {
  // A program that prints a protected paragraph line by line, or carries it as a comment, is
  // compared with protected prose by the words of its comments and strings (prose_in_code): the
  // lines that hold it are redacted as code, and the program around them stays.
  const std::string para = GplDevicesParagraph();
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildCorpus(dir);
  auto filter = OpenFilter(dir);
  std::vector<std::string> lines;
  for (size_t at = 0; at < para.size();) {
    const size_t nl = std::min(para.find('\n', at), para.size());
    lines.push_back(Trim(para.substr(at, nl - at)));
    at = nl + 1;
  }
  REQUIRE(lines.size() == 10);
  std::string py = "def report(values):\n    total = 0\n";
  for (const std::string& l : lines) py += "    print(\"" + l + "\\n\")\n";
  py += "    for v in values:\n        total += v * v\n    return total\n";
  const std::string answer = "Here it is:\n\n```python\n" + py + "```\n";
  const Verdict v = CheckOk(*filter, answer);
  INFO(Describe(v));
  CHECK(v.action == Action::kRedact);
  REQUIRE_FALSE(v.spans.empty());
  CHECK(v.spans[0].kind == Kind::kText);
  CHECK(EndsWith(v.spans[0].source_name, "GPL-3"));
  CHECK(v.spans[0].query.start < answer.find("deny users"));
  CHECK(v.spans[0].query.end > answer.find("protect the freedom"));
  CHECK_FALSE(Contains(v.output, "deny users access"));
  CHECK_FALSE(Contains(v.output, "fundamentally incompatible"));
  CHECK(Contains(v.output, "\n    # [redacted: similar to " + kLicenses + "/GPL-3]\n"));
  CHECK(Contains(v.output, "def report(values):\n    total = 0\n"));
  CHECK(Contains(v.output, "        total += v * v\n    return total\n"));

  // As a C comment above new code: the comment's lines are redacted, the function kept.
  std::string c = "/*\n";
  for (const std::string& l : lines) c += " * " + l + "\n";
  c += " */\nstatic int sum_squares(const int *values, int n) {\n  int total = 0;\n"
       "  for (int i = 0; i < n; ++i) total += values[i] * values[i];\n  return total;\n}\n";
  const Verdict cv = CheckOk(*filter, "```c\n" + c + "```\n");
  INFO(Describe(cv));
  CHECK(cv.action == Action::kRedact);
  CHECK_FALSE(Contains(cv.output, "deny users access"));
  CHECK(Contains(cv.output, "static int sum_squares(const int *values, int n) {"));
  // The same file as one input in its language, too.
  const Verdict whole = CheckOk(*filter, c, Kind::kCode, "c");
  INFO(Describe(whole));
  CHECK(whole.action == Action::kRedact);
  // A backslash before a character of several bytes (box drawing in a comment) separates words
  // with the whole character: the check reads on.
  const Verdict boxed = CheckOk(*filter, "// A \xe2\x94\x82\\\xe2\x94\x82_|\n" + c, Kind::kCode, "c");
  INFO(Describe(boxed));
  CHECK(boxed.action == Action::kRedact);

  // A docstring: the whole docstring is replaced, so no `"""` is left to open a string.
  std::string doc = "def report(values):\n    \"\"\"";
  for (const std::string& l : lines) doc += l + "\n    ";
  doc += "\"\"\"\n    total = 0\n    for v in values:\n        total += v * v\n    return total\n\n\n"
         "def scale(values, factor):\n    result = []\n    for v in values:\n        result.append(v * factor + 1)\n"
         "    return [r for r in result if r > 0]\n";
  const Verdict dv = CheckOk(*filter, "```python\n" + doc + "```\n");
  INFO(Describe(dv));
  CHECK(dv.action == Action::kRedact);
  CHECK_FALSE(Contains(dv.output, "deny users access"));
  CHECK_FALSE(Contains(dv.output, "\"\"\""));
  CHECK(Contains(dv.output, "def report(values):\n    # [redacted: similar to " + kLicenses + "/GPL-3]\n    total = 0\n"));
  // A block of comments only, beside new prose: its lines are replaced by one marker, in the
  // block, and the prose stays.
  std::string comments = "A note on the device rules follows, kept with the build scripts of our team so that "
                         "everyone who packages the firmware for the lab boards reads it before the next release "
                         "goes out to the testers on Friday afternoon.\n\n```python\n";
  for (const std::string& l : lines) comments += "# " + l + "\n";
  comments += "```\n";
  const Verdict only = CheckOk(*filter, comments);
  INFO(Describe(only));
  CHECK(only.action == Action::kRedact);
  CHECK_FALSE(Contains(only.output, "deny users access"));
  CHECK(Contains(only.output, "```python\n# [redacted: similar to " + kLicenses + "/GPL-3]\n```\n"));
  CHECK(Contains(only.output, "A note on the device rules follows"));

  // Off: only the code is compared, and it is new.
  FilterOptions off;
  off.prose_in_code = false;
  CHECK(VerdictKey(off) != VerdictKey(FilterOptions{}));  // a scan resumed with it off checks again
  auto without = OpenFilter(dir, off);
  CHECK(CheckOk(*without, answer).action == Action::kAllow);
  // One line of it (12 words) is a short passage, as in prose: annotated.
  const Verdict line = CheckOk(*filter, "```python\nprint(\"" + lines[0] + "\")\nx = compute(1, 2)\n```\n");
  INFO(Describe(line));
  CHECK(line.action == Action::kAnnotate);
  CHECK(line.reason == "short passages resemble protected content");
}

TEST_CASE("filter: redacted output replaces the quote with a marker", "[filter]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildCorpus(dir);
  auto filter = OpenFilter(dir);
  const EditedQuery q = MakeEditedQuery();
  const Verdict v = CheckOk(*filter, q.text);
  INFO(Describe(v));
  REQUIRE(v.action == Action::kRedact);
  CHECK(Contains(v.output, "[redacted: similar to"));
  CHECK(Contains(v.output, "Apache-2.0]"));
  CHECK_FALSE(Contains(v.output, "solely responsible for determining"));
  CHECK_FALSE(Contains(v.output, "NON-INFRINGEMENT, MERCHANTABILITY"));
  // The original prose around it stays.
  CHECK(Contains(v.output, "Planning a long walk in the mountains"));
  CHECK(Contains(v.output, "let the day unfold more slowly."));
  // A custom marker template.
  FilterOptions o;
  o.redact_marker = "<<{source}>>";
  auto custom = OpenFilter(dir, o);
  const Verdict c = CheckOk(*custom, q.text);
  REQUIRE(c.action == Action::kRedact);
  CHECK(Contains(c.output, "<<" + kLicenses + "/Apache-2.0>>"));
}

TEST_CASE("filter: a short quote of another source is not redacted beside a long copy, and is reported", "[filter]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildCorpus(dir);
  auto filter = OpenFilter(dir);
  const EditedQuery q = MakeEditedQuery();  // redacted for its Apache-2.0 passage
  const std::string sourdough = "Feed it twice a day at room temperature, discard half before each feeding, and "
                                "watch for bubbles.";
  // Alone, the sourdough quote is annotated ("a short quote is annotated, not redacted").
  const std::string text = q.text + "\n\nFor the starter: " + sourdough + " That is all it needs.\n";
  const Verdict v = CheckOk(*filter, text);
  INFO(Describe(v));
  REQUIRE(v.action == Action::kRedact);
  CHECK_FALSE(Contains(v.output, "solely responsible for determining"));
  CHECK(Contains(v.output, sourdough));  // kept
  CHECK_FALSE(Contains(v.output, "similar to notes/sourdough.txt"));
  CHECK(v.reason == "1 source(s) reproduced in 1 passage(s)");
  bool reported = false;
  for (const Span& s : v.spans) reported |= s.source_name == "notes/sourdough.txt" && s.counts;
  CHECK(reported);
  // When most of the answer is protected, every passage that counts goes.
  FilterOptions o;
  o.text.redact_containment = 0.05;
  o.text.block_containment = 1.0;
  auto by_share = OpenFilter(dir, o);
  const Verdict w = CheckOk(*by_share, text);
  INFO(Describe(w));
  REQUIRE(w.action == Action::kRedact);
  CHECK_FALSE(Contains(w.output, sourdough));
  CHECK(Contains(w.output, "similar to notes/sourdough.txt"));
}

TEST_CASE("filter: a passage is credited to the source that holds it as quoted, not to a sibling with a word changed",
          "[filter]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildFiles(dir, {kLicenses + "/GPL-3", kLicenses + "/LGPL-2.1"}).reset();  // closed for the filter
  auto filter = OpenFilter(dir);
  // Two sentences of GPL-3's preamble as GPL-3 words them; LGPL-2.1's preamble has each with a
  // word or two changed ("freedom of use", "you are informed that"), and shares more of the rest.
  const std::string first = "When we speak of free software, we are referring to freedom, not price. Our General "
                            "Public Licenses are";
  const std::string second = "use pieces of it in new free programs, and that you know you can do these things. To";
  const std::string before = "Here is some background on licensing that I wrote myself for this question.\n\n";
  const std::string between = " Unrelated words I made up about gardening tomatoes in sunny spring weather. ";
  // A word doubled in the answer ("free free") pairs one source word twice: one token unaligned.
  const std::string doubled = "When we speak of free free software, we are referring to freedom, not price. Our "
                              "General Public Licenses are designed to make sure";
  for (const std::string& text : {before + first + between + second + "\n", before + second + between + first + "\n",
                                  before + first + "\n", before + doubled + "\n"}) {
    const Verdict v = CheckOk(*filter, text);
    INFO(text << "\n" << Describe(v));
    REQUIRE_FALSE(v.spans.empty());
    for (const Span& sp : v.spans) CHECK(sp.source_name == kLicenses + "/GPL-3");
  }
}

TEST_CASE("filter: a prose passage read across a code block is redacted in its prose, and the block stays", "[filter]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildCorpus(dir);
  auto filter = OpenFilter(dir);
  const std::string code = "```python\nprint(\"hello\")\n```\n";
  const std::string text = std::string(kProseBefore) +
                           "\n\nWhen we speak of free software, we are referring to freedom, not price. Our General "
                           "Public Licenses are designed to make sure that you have the freedom to distribute copies\n\n" +
                           code +
                           "\nof free software (and charge for them if you wish), that you receive source code or can "
                           "get it if you want it, that you can change the software or use pieces of it in new free "
                           "programs, and that you know you can do these things.\n\n" +
                           kProseAfter + "\n";
  const Verdict v = CheckOk(*filter, text);
  INFO(Describe(v) << "\n" << v.output);
  REQUIRE(v.action == Action::kRedact);
  CHECK(Contains(v.output, "\n\n" + code + "\n"));  // the block, with its fences, on lines of their own
  CHECK_FALSE(Contains(v.output, "referring to freedom"));
  CHECK_FALSE(Contains(v.output, "charge for them"));
  CHECK(Contains(v.output, kProseAfter));
  size_t markers = 0;
  for (size_t at = 0; (at = v.output.find("[redacted: similar to", at)) != std::string::npos; ++at) ++markers;
  CHECK(markers == 2);  // one in the prose before the block, one after
}

TEST_CASE("filter: a redacted prose passage leaves no half of an inline code span or strong emphasis", "[filter]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildCorpus(dir);
  auto filter = OpenFilter(dir);
  auto count = [](const std::string& s, const std::string& what) {
    size_t n = 0;
    for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + what.size())) ++n;
    return n;
  };
  // The passage starts inside the bold words and the code span, and ends after them.
  for (const std::string& open : {std::string("**"), std::string("`")}) {
    const std::string text = std::string(kProseBefore) + "\n\nNote that " + open +
                             "when we speak of free software, we are referring to freedom, not price." + open +
                             " Our General Public Licenses are designed to make sure that you have the freedom to "
                             "distribute copies of free software (and charge for them if you wish), that you receive "
                             "source code or can get it if you want it.\n\n" +
                             kProseAfter + "\n";
    const Verdict v = CheckOk(*filter, text);
    INFO(open << "\n" << Describe(v) << "\n" << v.output);
    REQUIRE(v.action == Action::kRedact);
    CHECK(Contains(v.output, "Note that [redacted: similar to"));
    CHECK(count(v.output, open) % 2 == 0);
    CHECK_FALSE(Contains(v.output, "referring to freedom"));
  }
}

TEST_CASE("filter: a removed source is no longer named", "[filter]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildCorpus(dir);
  const EditedQuery q = MakeEditedQuery();
  auto names_apache = [](const Verdict& v) {
    for (const auto& s : v.spans) {
      if (EndsWith(s.source_name, "Apache-2.0")) return true;
    }
    return false;
  };
  {
    auto filter = OpenFilter(dir);
    REQUIRE(names_apache(CheckOk(*filter, q.text)));
  }
  {
    IndexOptions io;
    auto index = Index::Open(dir, io);
    REQUIRE(index.ok());
    uint64_t removed = 0, missing = 0;
    REQUIRE((*index)->Remove(std::vector<std::string>{kLicenses + "/Apache-2.0"}, &removed, &missing).ok());
    REQUIRE(removed == 1);
  }
  auto filter = OpenFilter(dir);
  const Verdict v = CheckOk(*filter, q.text);
  INFO(Describe(v));
  CHECK_FALSE(names_apache(v));
  CHECK(v.action == Action::kAllow);
}

TEST_CASE("filter: FromIndex shares an open index and reports source metadata", "[filter]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildCorpus(dir);
  IndexOptions io;
  io.read_only = true;
  auto index = Index::Open(dir, io);
  REQUIRE(index.ok());
  std::shared_ptr<Index> shared(std::move(index).value());
  auto filter = Filter::FromIndex(shared, FilterOptions());
  CHECK(&filter->index() == shared.get());
  const std::string text = std::string("I read this somewhere: ") + kLighthouse;
  const Verdict v = CheckOk(*filter, text);
  INFO(Describe(v));
  REQUIRE_FALSE(v.spans.empty());
  CHECK(v.spans[0].source_name == "notes/lighthouse.txt");
  CHECK(v.spans[0].source_metadata == R"({"license":"CC-BY-4.0"})");
  CHECK(v.action == Action::kBlock);
  // A copy of a whole short document is also a near duplicate by MinHash (the estimate is
  // only computed for candidates found through LSH bands).
  CHECK(v.jaccard > 0.5);
  std::string json;
  AppendVerdictJson(v, true, &json);
  CHECK(Contains(json, "\"action\":\"block\""));
  CHECK(Contains(json, "\"name\":\"notes/lighthouse.txt\""));
  CHECK(Contains(json, "\"metadata\":{\"license\":\"CC-BY-4.0\"}"));
  CHECK(Contains(json, "\"output\":"));
}

TEST_CASE("filter: a scan's filter leaves text posting blocks out of the block cache", "[filter]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildCorpus(dir);
  IndexOptions uncached;
  uncached.cache_text_postings = false;
  auto scan_filter = OpenFilter(dir, FilterOptions(), uncached);
  auto filter = OpenFilter(dir);
  const EditedQuery q = MakeEditedQuery();
  const Verdict with_cache = CheckOk(*filter, q.text);
  const Verdict without = CheckOk(*scan_filter, q.text);
  // The same verdict; only the cache differs: both read the same documents' blocks, and the
  // default filter also keeps the posting blocks its fingerprint lookups read.
  CHECK(Describe(without) == Describe(with_cache));
  CHECK((without.action == Action::kRedact || without.action == Action::kBlock));
  auto cached_stats = filter->index().Stats();
  auto scan_stats = scan_filter->index().Stats();
  REQUIRE(cached_stats.ok());
  REQUIRE(scan_stats.ok());
  INFO("cached " << cached_stats->block_cache_used << " bytes, scan " << scan_stats->block_cache_used);
  CHECK(scan_stats->block_cache_used > 0);
  CHECK(cached_stats->block_cache_used > scan_stats->block_cache_used);
}

TEST_CASE("filter: a passage two sources hold equally names both", "[filter]") {
  // P1 is in both notes; each note also holds a passage of its own (P2, P3). All three are
  // quoted apart in new prose: P1 names both notes (one span each, the same answer range), and
  // the reason counts it as one passage.
  const std::string p1 =
      "the ferry to the outer island leaves twice a day from the stone pier below the old customs "
      "house and carries bicycles";
  const std::string p2 =
      "on the island a single road climbs past the chapel and the salt marsh to a lighthouse that "
      "visitors may enter in summer";
  const std::string p3 =
      "tickets for the crossing are sold on board in cash only and children under twelve travel "
      "free with a paying adult";
  TempDir tmp;
  const std::string dir = tmp / "idx";
  {
    IndexOptions io;
    io.create_if_missing = true;
    auto index = Index::Open(dir, io);
    REQUIRE(index.ok());
    auto docs = doppel_test::SketchAll(
        (*index)->params(),
        {MakeDoc("a/ferry.txt", "Timetables change in winter. " + p1 + ". " + kProseBefore + " Note: " + p3 + "."),
         MakeDoc("b/guide.txt", "A guide for the weekend. " + p1 + ". " + kSourdough + " Then " + p2 + ".")});
    WriteSummary ws;
    REQUIRE((*index)->Write(&docs, &ws).ok());
  }
  const std::string answer = "Our plan: " + p1 + ". " + kLighthouse + " After lunch, " + p2 + ". " + kProseAfter +
                             " Good to know: " + p3 + ".";
  auto filter = OpenFilter(dir);
  const Verdict v = CheckOk(*filter, answer);
  INFO(Describe(v));
  CHECK(v.action == Action::kRedact);
  std::vector<std::string> p1_sources;
  std::vector<std::pair<uint32_t, uint32_t>> p1_ranges;
  for (const Span& s : v.spans) {
    const std::string quoted = answer.substr(s.query.start, s.query.end - s.query.start);
    if (Contains(quoted, "ferry")) {
      p1_sources.push_back(s.source_name);
      p1_ranges.emplace_back(s.query.start, s.query.end);
    }
    if (Contains(quoted, "chapel")) CHECK(s.source_name == "b/guide.txt");
    if (Contains(quoted, "twelve")) CHECK(s.source_name == "a/ferry.txt");
  }
  std::sort(p1_sources.begin(), p1_sources.end());
  CHECK(p1_sources == std::vector<std::string>{"a/ferry.txt", "b/guide.txt"});
  REQUIRE(p1_ranges.size() == 2);
  CHECK(p1_ranges[0] == p1_ranges[1]);
  CHECK(v.reason == "2 source(s) reproduced in 3 passage(s)");
}

TEST_CASE("filter: a short quote is annotated, not redacted", "[filter]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildCorpus(dir);
  auto filter = OpenFilter(dir);
  // About 20 words of the sourdough note inside original prose.
  const std::string text = std::string(kProseBefore) +
                           " Feed it twice a day at room temperature, discard half before each "
                           "feeding, and watch for bubbles. " +
                           kProseAfter;
  const Verdict v = CheckOk(*filter, text);
  INFO(Describe(v));
  CHECK(v.action == Action::kAnnotate);
  REQUIRE(v.spans.size() == 1);
  CHECK(v.spans[0].source_name == "notes/sourdough.txt");
  CHECK(v.output == text + "\n\n[note: this answer resembles notes/sourdough.txt]\n");
  // Raising the shortest reported span above the quote's length allows it.
  FilterOptions o;
  o.text.min_span_tokens = 40;
  auto strict = OpenFilter(dir, o);
  const Verdict w = CheckOk(*strict, text);
  CHECK(w.action == Action::kAllow);
  CHECK(w.spans.empty());
}

TEST_CASE("filter: a note follows an answer cut inside a fence after the fence is closed, in the answer's line ends",
          "[filter]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildCorpus(dir);
  auto filter = OpenFilter(dir);
  const std::string quote = std::string(kProseBefore) +
                            " Feed it twice a day at room temperature, discard half before each "
                            "feeding, and watch for bubbles. " +
                            kProseAfter;
  // A streamed answer cut inside its code block (a tilde fence in a block quote): the note is
  // not code.
  const std::string cut = quote + "\n\n> ~~~~python\n> print('more to come')\n";
  Verdict v = CheckOk(*filter, cut);
  INFO(Describe(v));
  CHECK(v.action == Action::kAnnotate);
  CHECK(v.output == cut + "> ~~~~\n\n[note: this answer resembles notes/sourdough.txt]\n");
  // Without a final newline.
  const std::string no_newline = quote + "\n\n```\nls -l";
  v = CheckOk(*filter, no_newline);
  CHECK(v.output == no_newline + "\n```\n\n[note: this answer resembles notes/sourdough.txt]\n");
  // A CRLF answer gets CRLF line ends.
  std::string crlf;
  for (const char c : quote + "\n") crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  v = CheckOk(*filter, crlf);
  CHECK(v.output == crlf + "\r\n[note: this answer resembles notes/sourdough.txt]\r\n");
}

TEST_CASE("filter: checks from several threads agree", "[filter]") {
  TempDir tmp;
  const std::string dir = tmp / "idx";
  BuildCorpus(dir);
  auto filter = OpenFilter(dir);
  const EditedQuery q = MakeEditedQuery();
  const Verdict expected = CheckOk(*filter, q.text);
  std::vector<std::string> results(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 3; ++i) {
        auto v = filter->Check(q.text);
        if (!v.ok()) {
          results[t] = v.status().ToString();
          return;
        }
        results[t] = Describe(v.value());
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& r : results) CHECK(r == Describe(expected));
}

// ---------------------------------------------------------------------------------------------
// Alignment

namespace {
std::vector<uint64_t> Seq(std::mt19937_64& rng, size_t n) {
  std::vector<uint64_t> v(n);
  for (auto& x : v) x = rng();
  return v;
}
}  // namespace

TEST_CASE("align: a rolling hash slid along a sequence has the value computed at each position", "[align]") {
  std::mt19937_64 rng(7);
  const auto t = Seq(rng, 200);
  for (const uint32_t k : {1u, 3u, 6u, 10u}) {
    const RollingHash roll(k);
    uint64_t r = roll.At(t.data());
    for (size_t i = 1; i + k <= t.size(); ++i) {
      r = roll.Slide(r, t[i - 1], t[i + k - 1]);
      INFO("k " << k << ", position " << i);
      REQUIRE(r == roll.At(t.data() + i));
    }
    // A different k-gram has a different value (the test's tokens are random 64-bit hashes).
    CHECK(roll.At(t.data()) != roll.At(t.data() + 1));
  }
}

TEST_CASE("align: identical sequences give one span covering everything", "[align]") {
  std::mt19937_64 rng(1);
  const auto s = Seq(rng, 50);
  std::vector<AlignedSpan> out;
  Align(s, s, AlignOptions(), &out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].q_begin == 0);
  CHECK(out[0].q_end == 50);
  CHECK(out[0].s_begin == 0);
  CHECK(out[0].s_end == 50);
  CHECK(out[0].matched == 50);
}

TEST_CASE("align: unrelated sequences give no span", "[align]") {
  std::mt19937_64 rng(2);
  std::vector<AlignedSpan> out(1);  // Align clears what was there
  Align(Seq(rng, 100), Seq(rng, 100), AlignOptions(), &out);
  CHECK(out.empty());
  Align({}, Seq(rng, 10), AlignOptions(), &out);
  CHECK(out.empty());
  Align({1, 2}, {1, 2}, AlignOptions(), &out);  // shorter than a seed
  CHECK(out.empty());
}

TEST_CASE("align: a run inside other text maps back to its positions", "[align]") {
  std::mt19937_64 rng(3);
  const auto run = Seq(rng, 30);
  auto query = Seq(rng, 40);
  auto source = Seq(rng, 70);
  query.insert(query.begin() + 15, run.begin(), run.end());
  source.insert(source.begin() + 52, run.begin(), run.end());
  std::vector<AlignedSpan> out;
  Align(query, source, AlignOptions(), &out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].q_begin == 15);
  CHECK(out[0].q_end == 45);
  CHECK(out[0].s_begin == 52);
  CHECK(out[0].s_end == 82);
  CHECK(out[0].matched == 30);
}

TEST_CASE("align: substitutions and a small insertion keep one chain", "[align]") {
  std::mt19937_64 rng(4);
  const auto source = Seq(rng, 80);
  auto query = source;
  for (size_t i = 5; i < query.size(); i += 10) query[i] = rng();  // 1 in 10 changed
  // Three extra tokens in the middle.
  const auto extra = Seq(rng, 3);
  query.insert(query.begin() + 40, extra.begin(), extra.end());
  std::vector<AlignedSpan> out;
  Align(query, source, AlignOptions(), &out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].q_begin <= 1);
  CHECK(out[0].q_end >= query.size() - 1);
  CHECK(out[0].s_begin <= 1);
  CHECK(out[0].s_end >= source.size() - 1);
  CHECK(out[0].matched < out[0].q_end - out[0].q_begin);  // edits are not counted as matched
  CHECK(out[0].matched >= 40);
}

TEST_CASE("align: a shape the source repeats counts between two seeds on one diagonal when all of it agrees", "[align]") {
  // The query holds 8 tokens of a two-token refrain between unique runs; the source holds the
  // same, then the refrain 40 times more. The refrain's grams are too common in the source to
  // seed, so the chain jumps from the first run to the second; the tokens between them all
  // agree on its diagonal and are matched, with their pairs.
  std::mt19937_64 rng(11);
  const auto head = Seq(rng, 8), tail = Seq(rng, 8);
  const uint64_t x = rng(), y = rng();
  auto make = [&](int refrains) {
    std::vector<uint64_t> v = head;
    for (int i = 0; i < refrains; ++i) v.insert(v.end(), {x, y});
    v.insert(v.end(), tail.begin(), tail.end());
    return v;
  };
  const std::vector<uint64_t> query = make(4);
  std::vector<uint64_t> source = query;
  for (int i = 0; i < 40; ++i) source.insert(source.end(), {x, y});
  std::vector<AlignedSpan> out;
  Align(query, source, AlignOptions(), &out);
  REQUIRE(!out.empty());
  CHECK(out[0].q_begin == 0);
  CHECK(out[0].q_end == 24);
  CHECK(out[0].s_begin == 0);
  CHECK(out[0].s_end == 24);
  CHECK(out[0].matched == 24);
  REQUIRE(out[0].pairs.size() == 24);
  for (uint32_t i = 0; i < 24; ++i) CHECK(out[0].pairs[i] == std::make_pair(i, i));
  // With a token that differs inside the refrain, the gap between the seeds is not matched:
  // the seeds' 20 tokens are.
  std::vector<uint64_t> edited = query;
  edited[12] = rng();
  Align(edited, source, AlignOptions(), &out);
  REQUIRE(!out.empty());
  CHECK(out[0].q_begin == 0);
  CHECK(out[0].q_end == 24);
  CHECK(out[0].matched == 20);
}

TEST_CASE("align: of two equal copies in the source the earlier comes first", "[align]") {
  // Chains of equal score are taken in the order of their seeds: the copy met first in the
  // source is the first span, whatever the order of the sort.
  std::mt19937_64 rng(12);
  const auto run = Seq(rng, 30);
  auto query = Seq(rng, 10);
  query.insert(query.end(), run.begin(), run.end());
  const auto after = Seq(rng, 10);
  query.insert(query.end(), after.begin(), after.end());
  for (const uint32_t gap : {5u, 40u, 300u}) {
    auto source = Seq(rng, 10);
    source.insert(source.end(), run.begin(), run.end());
    const auto between = Seq(rng, gap);
    source.insert(source.end(), between.begin(), between.end());
    source.insert(source.end(), run.begin(), run.end());
    std::vector<AlignedSpan> out;
    Align(query, source, AlignOptions(), &out);
    INFO("gap " << gap);
    REQUIRE(out.size() == 2);
    CHECK(out[0].q_begin == 10);
    CHECK(out[0].s_begin == 10);
    CHECK(out[0].matched == 30);
    CHECK(out[1].q_begin == 10);
    CHECK(out[1].s_begin == 40 + gap);
    CHECK(out[1].matched == 30);
  }
}

TEST_CASE("align: distant runs on different diagonals are separate spans", "[align]") {
  std::mt19937_64 rng(5);
  const auto a = Seq(rng, 20), b = Seq(rng, 20);
  // Query: a, 60 unrelated, b. Source: b, 10 unrelated, a (swapped order).
  std::vector<uint64_t> query = a, source = b;
  const auto gap_q = Seq(rng, 60), gap_s = Seq(rng, 10);
  query.insert(query.end(), gap_q.begin(), gap_q.end());
  query.insert(query.end(), b.begin(), b.end());
  source.insert(source.end(), gap_s.begin(), gap_s.end());
  source.insert(source.end(), a.begin(), a.end());
  std::vector<AlignedSpan> out;
  Align(query, source, AlignOptions(), &out);
  REQUIRE(out.size() == 2);
  std::sort(out.begin(), out.end(),
            [](const AlignedSpan& x, const AlignedSpan& y) { return x.q_begin < y.q_begin; });
  CHECK(out[0].q_begin == 0);
  CHECK(out[0].q_end == 20);
  CHECK(out[0].s_begin == 30);
  CHECK(out[1].q_begin == 80);
  CHECK(out[1].s_begin == 0);
}

TEST_CASE("align: chains below min_matched are dropped", "[align]") {
  std::mt19937_64 rng(6);
  const auto run = Seq(rng, 10);
  auto query = Seq(rng, 30);
  auto source = Seq(rng, 30);
  query.insert(query.begin() + 10, run.begin(), run.end());
  source.insert(source.begin() + 5, run.begin(), run.end());
  std::vector<AlignedSpan> out;
  AlignOptions o;
  o.min_matched = 12;
  Align(query, source, o, &out);
  CHECK(out.empty());
  o.min_matched = 10;
  Align(query, source, o, &out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].matched == 10);
}

TEST_CASE("align: a highly repeated query does not blow up", "[align]") {
  // One token repeated: every k-gram occurs hundreds of times and is skipped as a seed.
  const std::vector<uint64_t> query(500, 7), source(500, 7);
  std::vector<AlignedSpan> out;
  Align(query, source, AlignOptions(), &out);
  CHECK(out.size() <= 1);
}

// ---------------------------------------------------------------------------------------------
// Verdict JSON, format helpers and Status

TEST_CASE("verdict: JSON output has every field and escapes strings", "[verdict]") {
  Verdict v;
  v.id = "answer \"7\"\n";
  v.action = Action::kRedact;
  v.score = 0.5;
  v.jaccard = 0.123456;
  v.query_tokens = 40;
  Span s;
  s.query = TextRange{10, 20, 1, 2};
  s.source = TextRange{100, 130, 5, 6};
  s.source_name = "dir/a\\b.txt";
  s.source_metadata = R"({"license":"MIT"})";
  s.matched_tokens = 12;
  s.score = 1.0;
  v.spans.push_back(s);
  v.reason = "tab\there";
  v.output = "out\x01put";
  std::string json;
  AppendVerdictJson(v, false, &json);
  INFO(json);
  // One object; fields may be added to the schema, so check each documented field.
  CHECK(json.front() == '{');
  CHECK(json.back() == '}');
  CHECK(json.find('\n') == std::string::npos);
  CHECK(json.rfind("{\"id\":\"answer \\\"7\\\"\\n\",", 0) == 0);
  CHECK(Contains(json, "\"action\":\"redact\""));
  CHECK(Contains(json, "\"score\":0.5,"));
  CHECK(Contains(json, "\"jaccard\":0.1235"));
  CHECK(Contains(json, "\"query_tokens\":40"));
  CHECK(Contains(json, "\"spans\":[{\"query\":{\"start\":10,\"end\":20,\"lines\":[1,2]}"));
  CHECK(Contains(json, "\"source\":{\"name\":\"dir/a\\\\b.txt\",\"start\":100,\"end\":130,"
                       "\"lines\":[5,6],\"metadata\":{\"license\":\"MIT\"}}"));
  CHECK(Contains(json, "\"matched_tokens\":12"));
  CHECK(Contains(json, "\"score\":1"));
  CHECK(Contains(json, "\"reason\":\"tab\\there\""));
  CHECK_FALSE(Contains(json, "\"output\""));
  CHECK(Contains(json, "\"kind\":\"text\",\"renaming\":null}"));  // every span has the field
  // Without metadata the source has an empty one.
  v.spans[0].source_metadata.clear();
  std::string plain;
  AppendVerdictJson(v, false, &plain);
  CHECK(Contains(plain, "\"lines\":[5,6],\"metadata\":{}}"));
  std::string with_output;
  AppendVerdictJson(v, true, &with_output);
  CHECK(Contains(with_output, ",\"output\":\"out\\u0001put\"}"));
}

TEST_CASE("verdict: action names are stable", "[verdict]") {
  CHECK(ActionName(Action::kAllow) == "allow");
  CHECK(ActionName(Action::kAnnotate) == "annotate");
  CHECK(ActionName(Action::kRedact) == "redact");
  CHECK(ActionName(Action::kBlock) == "block");
  CHECK(KindName(Kind::kText) == "text");
  CHECK(KindName(Kind::kCode) == "code");
}

TEST_CASE("format: JSON numbers have at most 4 decimals and no trailing zeros", "[verdict]") {
  auto num = [](double d) {
    std::string s;
    AppendJsonNumber(&s, d);
    return s;
  };
  CHECK(num(0) == "0");
  CHECK(num(1) == "1");
  CHECK(num(0.5) == "0.5");
  CHECK(num(0.123456) == "0.1235");
  CHECK(num(12.25) == "12.25");
  CHECK(num(std::nan("")) == "0");
  CHECK(num(std::numeric_limits<double>::infinity()) == "0");
  std::string s = "x";
  AppendJsonString(&s, "caf\xc3\xa9 \"q\" \\ \r\n\t\x1f");
  CHECK(s == "x\"caf\xc3\xa9 \\\"q\\\" \\\\ \\r\\n\\t\\u001f\"");
}

TEST_CASE("status: codes, names, messages and context", "[status]") {
  const Status ok;
  CHECK(ok.ok());
  CHECK(ok.ToString() == "OK");
  CHECK(ok.CodeName() == "ok");
  CHECK(ok.message().empty());
  CHECK(ok.WithContext("ctx").ok());
  const Status nf = Status::NotFound("index missing");
  CHECK_FALSE(nf.ok());
  CHECK(nf.code() == Status::Code::kNotFound);
  CHECK(nf.ToString() == "not_found: index missing");
  const Status ctx = nf.WithContext("doppel-index");
  CHECK(ctx.code() == Status::Code::kNotFound);
  CHECK(ctx.message() == "doppel-index: index missing");
  CHECK(nf.message() == "index missing");  // the original is unchanged
  CHECK(Status::InvalidArgument("x").CodeName() == "invalid_argument");
  CHECK(Status::Corruption("x").CodeName() == "corruption");
  CHECK(Status::IOError("x").CodeName() == "io_error");
  CHECK(Status::Incompatible("x").CodeName() == "incompatible");
  CHECK(Status::ResourceExhausted("x").CodeName() == "resource_exhausted");
  CHECK(Status::Unavailable("x").CodeName() == "unavailable");
  CHECK(Status::Internal("x").CodeName() == "internal");
  Result<int> good(5);
  CHECK(good.ok());
  CHECK(good.value() == 5);
  CHECK(good.status().ok());
  Result<int> bad(Status::Internal("boom"));
  CHECK_FALSE(bad.ok());
  CHECK(bad.status().message() == "boom");
}

// ---------------------------------------------------------------------------------------------
// Redaction of overlapping spans

namespace {
// "w01 w02 ..." : distinct made-up words with a prefix.
std::vector<std::string> Numbered(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 1; i <= n; ++i) out.push_back(prefix + (i < 10 ? "0" : "") + std::to_string(i));
  return out;
}
std::vector<std::string> Slice(const std::vector<std::string>& v, size_t b, size_t e) {
  return std::vector<std::string>(v.begin() + static_cast<long>(b), v.begin() + static_cast<long>(e));
}
}  // namespace

// Filter.Check promises that a redacted answer has "each offending span replaced by a marker"
// ("overlapping spans merge"). Spans are replaced back to front and each one is cut at the start
// of the span after it, which loses the tail of a span that extends past a later-starting span
// nested inside it. Here source X's span covers the whole 30-word passage [X-run, junk, Y-run,
// X-run] while source Y's span covers only the 14 Y words in its middle; the last six X words,
// which belong to X's span, are left in the redacted output.
TEST_CASE("filter: redaction removes every word of spans that contain other spans",
          "[filter]") {
  TempDir tmp;
  SketchParams params;
  params.window = 1;  // every 4-gram is a fingerprint, so short runs still select candidates
  IndexOptions io;
  io.create_if_missing = true;
  io.params = params;
  auto opened = Index::Open(tmp / "idx", io);
  REQUIRE(opened.ok());
  std::shared_ptr<Index> index(std::move(opened).value());
  const auto x = Numbered("xray", 40);
  const auto y = Numbered("yank", 14);
  auto docs = doppel_test::SketchAll(params, {MakeDoc("X", Join(x)), MakeDoc("Y", Join(y))});
  WriteSummary ws;
  REQUIRE(index->Write(&docs, &ws).ok());

  std::vector<std::string> words = Numbered("prose", 14);     // original
  const auto left = Slice(x, 0, 6), right = Slice(x, 24, 30);  // X at the same offsets
  words.insert(words.end(), left.begin(), left.end());
  for (const auto& j : Numbered("junk", 4)) words.push_back(j);
  words.insert(words.end(), y.begin(), y.end());
  words.insert(words.end(), right.begin(), right.end());
  const std::string query = Join(words);

  auto filter = Filter::FromIndex(index, FilterOptions());
  const Verdict v = CheckOk(*filter, query);
  INFO(Describe(v));
  INFO("output: " << v.output);
  REQUIRE(v.action == Action::kRedact);
  REQUIRE(v.spans.size() == 2);
  // Every word inside any reported span is gone from the output.
  std::vector<std::string> leaked;
  for (const auto& s : v.spans) {
    for (const auto& w : SplitWords(query.substr(s.query.start, s.query.end - s.query.start))) {
      if (Contains(v.output, w)) leaked.push_back(w);
    }
  }
  CHECK(leaked.empty());
  CHECK(Contains(v.output, "prose01"));
}

TEST_CASE("filter: an answer repeating a protected passage many times is still a copy", "[filter]") {
  TempDir dir;
  BuildCorpus(dir / "index");
  auto f = OpenFilter(dir / "index");
  // Every k-gram of the answer repeats 60 times (more than the alignment's per-gram limit for
  // repetitive text), but each is unique in the source.
  std::string answer;
  for (int i = 0; i < 60; ++i) answer += ApacheSection7() + "\n\n";
  const Verdict v = CheckOk(*f, answer);
  CHECK(v.action == Action::kBlock);
  REQUIRE(!v.spans.empty());
  CHECK(EndsWith(v.spans.front().source_name, "Apache-2.0"));
  CHECK(v.score > 0.9);
}

TEST_CASE("align: anchors keep the anchored run and drop runs far from every anchor", "[align]") {
  std::mt19937_64 rng(9);
  const auto copied = Seq(rng, 40), shape = Seq(rng, 25);
  // Query: the copied run, new tokens, a common shape. Source: the shape far away, then new
  // tokens, then the copied run.
  auto query = copied;
  const auto q_new = Seq(rng, 30);
  query.insert(query.end(), q_new.begin(), q_new.end());
  query.insert(query.end(), shape.begin(), shape.end());
  auto source = shape;
  const auto s_new = Seq(rng, 400);
  source.insert(source.end(), s_new.begin(), s_new.end());
  source.insert(source.end(), copied.begin(), copied.end());  // at 425
  std::vector<AlignedSpan> out;
  Align(query, source, AlignOptions(), &out);
  REQUIRE(out.size() == 2);  // both runs without anchors
  const std::vector<Anchor> anchors = {{10, 435}, {20, 445}};  // inside the copied run only
  AlignOptions o;
  o.anchors = &anchors;
  Align(query, source, o, &out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].q_begin == 0);
  CHECK(out[0].q_end == 40);
  CHECK(out[0].s_begin == 425);
  CHECK(out[0].matched == 40);
  // An anchor on the shape's diagonal brings it back.
  const std::vector<Anchor> both = {{10, 435}, {75, 5}};
  o.anchors = &both;
  Align(query, source, o, &out);
  CHECK(out.size() == 2);
}
