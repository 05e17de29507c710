#include "doppel/scan.h"

#include "doppel/code_tokenizer.h"

#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_pipeline.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include <simdjson.h>
#include <xxhash.h>

#include "doppel/format.h"
#include "doppel/streams.h"
#include "doppel/language.h"
#include "doppel/sketch.h"
#include "../index/codec.h"

namespace doppel {

namespace {

namespace fs = std::filesystem;

// A part of a document or source shown in the report: whole lines around a span, with the
// matched bytes and the renamed identifiers marked (offsets relative to `text`); on very long
// lines, the bytes around the span, cut inside its first or last line.
struct Excerpt {
  std::string text;
  uint32_t first_line = 1;
  uint32_t match_begin = 0, match_end = 0;
  bool cut_before = false, cut_after = false;  // its first or last line is shown in part
  struct Renamed {
    uint32_t begin, end;
    std::string other;  // the name on the other side
  };
  std::vector<Renamed> renamed;
};

struct SpanView {
  Span span;
  Excerpt query, source;
};

struct Flagged {
  std::string name, origin, language;
  Kind kind = Kind::kText;
  Action action = Action::kAllow;
  double score = 0;
  uint64_t bytes = 0;
  size_t passages = 0;  // CountPassages of the verdict's spans
  std::vector<SpanView> spans;
};

struct Item {
  Document doc;
  Status error;
  Result<Verdict> verdict = Status::Internal("not checked");
  std::unique_ptr<Flagged> flagged;
};

constexpr uint32_t kContextLines = 2;
constexpr uint32_t kMaxExcerptLines = 160;
// An excerpt of more bytes (lines of minified code, a document on one line) is cut to the span
// and this many bytes of context on each side, at most kMaxExcerptBytes in all: whole, such a
// line repeated for each of its spans made a page of hundreds of megabytes.
constexpr size_t kMaxExcerptBytes = 64 << 10;
constexpr size_t kCutContext = 240;

// Whole lines [first_line - context, last_line + context] of `text` around bytes [b, e).
Excerpt MakeExcerpt(std::string_view text, uint32_t b, uint32_t e, uint32_t first_line) {
  Excerpt x;
  b = std::min<uint32_t>(b, static_cast<uint32_t>(text.size()));
  e = std::min<uint32_t>(std::max(e, b), static_cast<uint32_t>(text.size()));
  size_t lo = b;
  uint32_t line = first_line;
  for (uint32_t k = 0; k <= kContextLines && lo > 0; ++k) {  // back to the start of the line, then context
    if (k > 0) {
      --lo;
      --line;
    }
    while (lo > 0 && text[lo - 1] != '\n') --lo;
  }
  size_t hi = e;
  uint32_t lines = 0;
  for (size_t i = lo; i < hi && lines < kMaxExcerptLines; ++i) lines += text[i] == '\n';
  if (lines >= kMaxExcerptLines) {  // very long spans: show the beginning
    hi = lo;
    for (uint32_t k = 0; k < kMaxExcerptLines && hi < text.size(); ++k) {
      hi = text.find('\n', hi);
      hi = hi == std::string_view::npos ? text.size() : hi + 1;
    }
  } else {
    for (uint32_t k = 0; k <= kContextLines && hi < text.size(); ++k) {
      const size_t nl = text.find('\n', hi);
      hi = nl == std::string_view::npos ? text.size() : nl + 1;
    }
  }
  if (hi - lo > kMaxExcerptBytes) {
    auto continuation = [&](size_t i) { return (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80; };
    size_t from = std::max<size_t>(lo, b > kCutContext ? b - kCutContext : 0);
    if (const size_t nl = text.rfind('\n', b); nl != std::string_view::npos && nl < b && nl + 1 > from) from = nl + 1;
    while (from > lo && continuation(from)) --from;  // at a character's first byte
    size_t to = std::min<size_t>({hi, e + kCutContext, from + kMaxExcerptBytes});
    if (const size_t nl = text.find('\n', e); nl != std::string_view::npos && nl + 1 < to) to = nl + 1;
    while (to < hi && continuation(to)) ++to;
    line += static_cast<uint32_t>(std::count(text.begin() + lo, text.begin() + from, '\n'));
    x.cut_before = from > 0 && text[from - 1] != '\n';
    x.cut_after = to < text.size() && text[to - 1] != '\n';
    lo = from;
    hi = to;
  }
  x.text.assign(text.substr(lo, hi - lo));
  x.first_line = std::max<uint32_t>(1, line);
  x.match_begin = static_cast<uint32_t>(b - lo);
  x.match_end = static_cast<uint32_t>(std::min<size_t>(e, hi) - lo);
  return x;
}

std::unique_ptr<Flagged> Describe(const Index& index, const Document& d, const Verdict& v) {
  auto f = std::make_unique<Flagged>();
  f->name = d.name;
  f->origin = d.origin;
  f->kind = d.kind;
  f->language = d.language;
  f->action = v.action;
  f->score = v.score;
  f->bytes = d.text.size();
  f->passages = CountPassages(v.spans);
  // A document's spans often come from few sources: each is read once.
  std::map<uint32_t, Result<std::string>> contents;
  for (const Span& sp : v.spans) {
    SpanView view;
    view.span = sp;
    view.query = MakeExcerpt(d.text, sp.query.start, sp.query.end, sp.query.first_line);
    auto it = contents.find(sp.source_id);
    if (it == contents.end()) it = contents.emplace(sp.source_id, index.GetContent(sp.source_id)).first;
    const Result<std::string>& content = it->second;
    if (content.ok()) {
      view.source = MakeExcerpt(*content, sp.source.start, sp.source.end, sp.source.first_line);
      // The renamed names the alignment found, in excerpt offsets (the span's bytes start at
      // match_begin on each side).
      for (const auto& r : sp.renamed) {
        const uint32_t qb = view.query.match_begin + (r.query_begin - sp.query.start);
        const uint32_t sb = view.source.match_begin + (r.source_begin - sp.source.start);
        view.query.renamed.push_back({qb, qb + (r.query_end - r.query_begin),
                                      content->substr(r.source_begin, r.source_end - r.source_begin)});
        view.source.renamed.push_back({sb, sb + (r.source_end - r.source_begin),
                                       d.text.substr(r.query_begin, r.query_end - r.query_begin)});
      }
    }
    f->spans.push_back(std::move(view));
  }
  return f;
}

// An excerpt as numbered lines; matched bytes in <mark>, renamed identifiers in
// <mark class="renamed" title="...">.
void AppendExcerpt(std::string* out, const Excerpt& x, const char* other_side) {
  *out += "<pre class=\"code\">";
  std::vector<std::pair<uint32_t, const Excerpt::Renamed*>> renames;
  for (const auto& r : x.renamed) renames.emplace_back(r.begin, &r);
  std::sort(renames.begin(), renames.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  size_t next_rename = 0;
  uint32_t line = x.first_line;
  bool in_match = false;  // i is inside the matched bytes
  bool marked = false;    // a <mark> of them is open in the output (each line closes its own)
  auto open_line = [&] {
    *out += "<span class=\"ln\">" + std::to_string(line) + "</span>";
    if (in_match) {
      *out += "<mark>";
      marked = true;
    }
  };
  open_line();
  if (x.cut_before) *out += "<span class=\"cut\">&hellip;</span>";
  size_t newline = 0;  // the next line end at or after i (checked before use)
  for (uint32_t i = 0; i < x.text.size();) {
    if (i == x.match_begin && i < x.match_end && !in_match) {
      *out += "<mark>";
      in_match = marked = true;
    }
    if (i == x.match_end && in_match) {
      *out += "</mark>";
      in_match = marked = false;
    }
    while (next_rename < renames.size() && renames[next_rename].first < i) ++next_rename;
    if (next_rename < renames.size() && renames[next_rename].first == i) {
      const auto* r = renames[next_rename].second;
      *out += "<mark class=\"renamed\" title=\"";
      *out += other_side;
      *out += ": ";
      AppendHtml(out, r->other);
      *out += "\">";
      AppendHtml(out, std::string_view(x.text).substr(r->begin, r->end - r->begin));
      *out += "</mark>";
      i = r->end;
      ++next_rename;
      continue;
    }
    const char c = x.text[i];
    if (c == '\n') {
      if (marked) {
        *out += "</mark>";
        marked = false;
      }
      *out += "\n";
      ++line;
      ++i;
      if (i < x.text.size()) open_line();
      continue;
    }
    // A run up to the next line end, match boundary or renamed name, escaped at once.
    if (newline <= i) newline = std::min(x.text.find('\n', i), x.text.size());
    size_t stop = newline;
    if (x.match_begin > i) stop = std::min<size_t>(stop, x.match_begin);
    if (x.match_end > i) stop = std::min<size_t>(stop, x.match_end);
    if (next_rename < renames.size()) stop = std::min<size_t>(stop, renames[next_rename].first);
    // A CR ending a line (CRLF) is left out: a browser would read it as one more line break.
    const size_t shown = stop == newline && stop > i && x.text[stop - 1] == '\r' ? stop - 1 : stop;
    AppendHtml(out, std::string_view(x.text).substr(i, shown - i));
    i = static_cast<uint32_t>(stop);
  }
  if (marked) *out += "</mark>";
  if (x.cut_after) *out += "<span class=\"cut\">&hellip;</span>";
  *out += "</pre>";
}

std::string Percent(double v) { return std::to_string(static_cast<int>(v * 100 + 0.5)) + "%"; }

constexpr const char* kStyle = R"(
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1b1b1b;background:#fff}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:28px 0 6px} .muted{color:#666}
table.overview{border-collapse:collapse;margin-top:12px;width:100%}
table.overview th,table.overview td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left}
table.overview th{cursor:pointer;background:#f4f4f4;user-select:none} th.sorted::after{content:" \25BC"}
.action{font-weight:600} .block{color:#a00} .redact{color:#b45f00}
.match{border:1px solid #ddd;border-radius:6px;margin:10px 0;padding:8px}
.side{display:grid;grid-template-columns:1fr 1fr;gap:10px}
pre.code{background:#fafafa;border:1px solid #eee;padding:6px;overflow-x:auto;margin:4px 0;font:12px/1.45 ui-monospace,monospace;white-space:pre}
.ln{display:inline-block;width:4em;color:#999;user-select:none} .cut{color:#999}
mark{background:#ffe27a} mark.renamed{background:#ffb3b3;outline:1px solid #d33}
)";

// Sorts the overview by the clicked column (again: the other way); "#sort=<column>" in the
// address sorts on load, the column's own way (numbers largest first) even when the page is
// already sorted by it.
constexpr const char* kScript = R"(
function sortBy(col,fresh){
  const t=document.getElementById('overview'), body=t.tBodies[0], rows=[...body.rows];
  const th=t.tHead.rows[0].cells[col], num=th.dataset.type==='num';
  const desc=!fresh&&th.classList.contains('sorted')?th.dataset.dir!=='desc':num;
  rows.sort((a,b)=>{const x=a.cells[col].dataset.v||a.cells[col].textContent, y=b.cells[col].dataset.v||b.cells[col].textContent;
    const c=num?(parseFloat(x)-parseFloat(y)):x.localeCompare(y); return desc?-c:c;});
  for(const c of t.tHead.rows[0].cells){c.classList.remove('sorted')}
  th.classList.add('sorted'); th.dataset.dir=desc?'desc':'asc';
  rows.forEach(r=>body.appendChild(r));
}
document.querySelectorAll('#overview th').forEach((th,i)=>th.addEventListener('click',()=>sortBy(i)));
const m=location.hash.match(/sort=(\w+)/);
if(m){const i=[...document.querySelectorAll('#overview th')].findIndex(th=>th.dataset.key===m[1]); if(i>=0)sortBy(i,true);}
)";

// The page in parts to be written in order: the overview, a section per document shown, the
// script. `flagged` holds at least the `limit` documents with most overlap of all
// `flagged_total`. The sections are made in parallel (at most `threads` at once, 0: no limit).
std::vector<std::string> RenderHtml(const std::vector<std::unique_ptr<Flagged>>& flagged, const ScanSummary& sum,
                                    const std::string& index_dir, size_t limit, size_t flagged_total, int threads) {
  std::vector<const Flagged*> shown;
  for (const auto& f : flagged) shown.push_back(f.get());
  std::stable_sort(shown.begin(), shown.end(), [](const Flagged* a, const Flagged* b) { return a->score > b->score; });
  if (shown.size() > limit) shown.resize(limit);
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>doppel scan report</title><style>";
  h += kStyle;
  h += "</style></head><body>\n<h1>doppel scan report</h1>\n<p class=\"muted\">Index ";
  AppendHtml(&h, index_dir);
  h += " &middot; " + std::to_string(sum.documents) + " documents scanned &middot; <b id=\"flagged-count\">" +
       std::to_string(sum.flagged) + "</b> flagged &middot; " + std::to_string(sum.lines_covered) +
       " lines in matched passages";
  if (sum.errors > 0) {
    h += " &middot; <b class=\"errors\" id=\"error-count\">" + std::to_string(sum.errors) +
         " could not be checked</b> (listed in errors.jsonl)";
  }
  const uint64_t skipped = sum.skipped_binary + sum.skipped_empty + sum.skipped_repeated;
  if (skipped > 0) {
    h += " &middot; skipped " + std::to_string(sum.skipped_binary) + " binary, " + std::to_string(sum.skipped_empty) +
         " empty and " + std::to_string(sum.skipped_repeated) + " repeated files";
  }
  const char* s_of_special = sum.skipped_special == 1 ? "" : "s";
  if (sum.skipped_special > 0) {
    h += " &middot; skipped " + std::to_string(sum.skipped_special) + " pipe" + s_of_special + ", socket" + s_of_special +
         " or device" + s_of_special;
  }
  if (sum.skipped_folders > 0) {
    h += " &middot; skipped " + std::to_string(sum.skipped_folders) + " folder" + (sum.skipped_folders == 1 ? "" : "s") +
         " holding an earlier scan's report or an index";
  }
  if (shown.size() < flagged_total) {
    h += " &middot; the " + std::to_string(shown.size()) + " with most overlap are shown (all are in results.jsonl)";
  }
  h += "</p>\n<table class=\"overview\" id=\"overview\"><thead><tr>"
       "<th data-key=\"document\">Document</th><th data-key=\"action\">Action</th>"
       "<th data-key=\"overlap\" data-type=\"num\" class=\"sorted\" data-dir=\"desc\">Overlap</th>"
       "<th data-key=\"passages\" data-type=\"num\">Passages</th><th data-key=\"source\">Main source</th>"
       "<th data-key=\"language\">Language</th></tr></thead><tbody>\n";
  for (size_t i = 0; i < shown.size(); ++i) {
    const Flagged& f = *shown[i];
    const Span* main = nullptr;
    for (const auto& s : f.spans) {
      if (main == nullptr || s.span.matched_tokens > main->matched_tokens) main = &s.span;
    }
    h += "<tr><td><a href=\"#doc-" + std::to_string(i) + "\">";
    AppendHtml(&h, f.name);
    h += "</a></td><td class=\"action " + std::string(ActionName(f.action)) + "\">" + std::string(ActionName(f.action)) +
         "</td><td data-v=\"" + std::to_string(f.score) + "\">" + Percent(f.score) + "</td><td>" +
         std::to_string(f.passages) + "</td><td>";
    if (main) AppendHtml(&h, main->source_name);
    h += "</td><td>";
    AppendHtml(&h, f.kind == Kind::kCode ? (f.language.empty() ? "generic" : f.language) : "text");  // as summary.json
    h += "</td></tr>\n";
  }
  h += "</tbody></table>\n";
  std::vector<std::string> parts(shown.size() + 2);
  parts.front() = std::move(h);
  std::unique_ptr<tbb::global_control> gc;
  if (threads > 0) {
    gc = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                               static_cast<size_t>(threads));
  }
  tbb::parallel_for(size_t{0}, shown.size(), [&](size_t i) {
    const Flagged& f = *shown[i];
    std::string& h = parts[i + 1];
    h += "<section class=\"doc\" id=\"doc-" + std::to_string(i) + "\"><h2>";
    AppendHtml(&h, f.name);
    h += " <span class=\"action " + std::string(ActionName(f.action)) + "\">" + std::string(ActionName(f.action)) +
         "</span> <span class=\"muted\">" + Percent(f.score) +
         " of the document's tokens in matched passages (code's comments are not tokens)";
    if (f.origin != f.name) {
      h += " &middot; ";
      AppendHtml(&h, f.origin);
    }
    h += "</span></h2>\n";
    for (const auto& sv : f.spans) {
      const Span& s = sv.span;
      h += "<div class=\"match\"><div class=\"muted\">lines " + std::to_string(s.query.first_line) + "&ndash;" +
           std::to_string(s.query.last_line) + " resemble <b class=\"source\">";
      AppendHtml(&h, s.source_name);
      h += "</b> lines " + std::to_string(s.source.first_line) + "&ndash;" + std::to_string(s.source.last_line) +
           " &middot; " + std::to_string(s.matched_tokens) + " tokens matched";
      if (s.kind == Kind::kCode && s.renaming >= 0) {
        h += " &middot; consistent renaming " + Percent(s.renaming);
        // The names the excerpt shows (a cut excerpt shows the first ones).
        const size_t shown = static_cast<size_t>(
            std::count_if(sv.query.renamed.begin(), sv.query.renamed.end(),
                          [&](const Excerpt::Renamed& r) { return r.begin < sv.query.text.size(); }));
        if (shown > 0) {
          h += " &middot; <span class=\"renamed-count\">" + std::to_string(shown) + "</span> renamed identifiers marked";
          if (shown < sv.query.renamed.size()) h += " (of " + std::to_string(sv.query.renamed.size()) + ")";
        }
      }
      if (!s.source_metadata.empty()) {
        h += " &middot; ";
        AppendHtml(&h, s.source_metadata);
      }
      h += "</div><div class=\"side\"><div>";
      AppendExcerpt(&h, sv.query, "source");
      h += "</div><div>";
      AppendExcerpt(&h, sv.source, "scanned");
      h += "</div></div></div>\n";
    }
    h += "</section>\n";
  });
  parts.back() = std::string("<script>") + kScript + "</script>\n</body></html>\n";
  return parts;
}

uint64_t CountLines(std::string_view t) {
  return t.empty() ? 0 : static_cast<uint64_t>(std::count(t.begin(), t.end(), '\n')) + (t.back() != '\n');
}


// What a scan found, in a form a part file can hold and merge: counts, the per-source and
// per-group tallies, and one results line per flagged document with its position in input order.
// The length of the union of half-open ranges [a, z) (sorts them).
uint64_t UnionLength(std::vector<std::pair<uint64_t, uint64_t>>* ranges) {
  std::sort(ranges->begin(), ranges->end());
  uint64_t total = 0, reached = 0;
  for (const auto& [a, z] : *ranges) {
    const uint64_t from = std::max(a, reached);
    if (z > from) total += z - from;
    reached = std::max(reached, z);
  }
  return total;
}

struct Tally {
  ScanSummary sum;
  struct SourceStat {
    uint64_t documents = 0, bytes = 0;
  };
  std::map<std::string, SourceStat> sources;
  struct GroupStat {
    uint64_t documents = 0, flagged = 0, bytes = 0;
  };
  std::map<std::string, GroupStat> by_language, by_kind;
  struct Result {
    uint64_t ordinal;
    double score;
    std::string json;  // the results.jsonl line, newline included
  };
  std::vector<Result> results;
  std::vector<Result> errors;  // the errors.jsonl lines of documents that could not be checked

  // A file name that is not UTF-8 is written in "input" with U+FFFD for its bad bytes, so two
  // such names may read alike: its bytes follow as base64 in "input_base64".
  static void AppendInputBytes(std::string* json, std::string_view input) {
    if (ValidateUtf8(input).ok()) return;
    *json += ",\"input_base64\":\"";
    AppendBase64(json, input);
    *json += '"';
  }

  void AddError(const std::string& input, const Status& error, uint64_t ordinal) {
    ++sum.errors;
    std::string json = "{\"input\":";
    AppendJsonString(&json, input);
    AppendInputBytes(&json, input);
    json += ",\"error\":";
    AppendJsonString(&json, error.message());
    json += "}\n";
    errors.push_back({ordinal, 0, std::move(json)});
  }

  void Add(const Document& d, const Verdict& v, bool flagged, uint64_t ordinal) {
    ++sum.documents;
    sum.bytes += d.text.size();
    sum.lines += CountLines(d.text);
    const std::string lang = d.kind == Kind::kCode ? (d.language.empty() ? "generic" : d.language) : "text";
    auto& gl = by_language[lang];
    auto& gk = by_kind[std::string(KindName(d.kind))];
    ++gl.documents;
    ++gk.documents;
    gl.bytes += d.text.size();
    gk.bytes += d.text.size();
    if (!flagged) return;
    ++sum.flagged;
    ++gl.flagged;
    ++gk.flagged;
    // Bytes and lines covered: the unions of the spans' ranges (spans may overlap), for the
    // document and for each source.
    std::map<std::string, std::vector<std::pair<uint64_t, uint64_t>>> source_bytes;
    std::vector<std::pair<uint64_t, uint64_t>> bytes, lines;
    for (const auto& s : v.spans) {
      source_bytes[s.source_name].emplace_back(s.query.start, s.query.end);
      bytes.emplace_back(s.query.start, s.query.end);
      lines.emplace_back(s.query.first_line, uint64_t{s.query.last_line} + 1);
    }
    sum.bytes_covered += UnionLength(&bytes);
    sum.lines_covered += UnionLength(&lines);
    for (auto& [name, ranges] : source_bytes) {
      ++sources[name].documents;
      sources[name].bytes += UnionLength(&ranges);
    }
    Verdict line = v;
    line.id = d.name;
    std::string json;
    AppendVerdictJson(line, false, &json);
    json.pop_back();
    json += ",\"input\":";
    AppendJsonString(&json, d.origin);
    AppendInputBytes(&json, d.origin);
    json += ",\"kind\":\"" + std::string(KindName(d.kind)) + "\",\"language\":";
    AppendJsonString(&json, d.language);
    json += ",\"bytes\":" + std::to_string(d.text.size()) + "}\n";
    results.push_back({ordinal, v.score, std::move(json)});
  }

  // A part file: one JSON array per line.
  std::string Serialize() const {
    std::string out = "[\"sum\"," + std::to_string(sum.documents) + "," + std::to_string(sum.flagged) + "," +
                      std::to_string(sum.errors) + "," + std::to_string(sum.bytes) + "," + std::to_string(sum.lines) +
                      "," + std::to_string(sum.bytes_covered) + "," + std::to_string(sum.lines_covered) + ",";
    AppendJsonNumber(&out, sum.seconds);
    out += "]\n[\"skipped\"," + std::to_string(sum.skipped_binary) + "," + std::to_string(sum.skipped_empty) + "," +
           std::to_string(sum.skipped_repeated) + "," + std::to_string(sum.skipped_special) + "," +
           std::to_string(sum.skipped_folders) + "]\n";
    for (const auto& e : errors) {
      out += "[\"error\"," + std::to_string(e.ordinal) + ",";
      AppendJsonString(&out, e.json);
      out += "]\n";
    }
    for (const auto& [name, st] : sources) {
      out += "[\"source\",";
      AppendJsonString(&out, name);
      out += "," + std::to_string(st.documents) + "," + std::to_string(st.bytes) + "]\n";
    }
    for (const auto* group : {&by_language, &by_kind}) {
      for (const auto& [key, g] : *group) {
        out += group == &by_language ? "[\"language\"," : "[\"kind\",";
        AppendJsonString(&out, key);
        out += "," + std::to_string(g.documents) + "," + std::to_string(g.flagged) + "," + std::to_string(g.bytes) + "]\n";
      }
    }
    for (const auto& r : results) {
      out += "[\"result\"," + std::to_string(r.ordinal) + ",";
      AppendJsonNumber(&out, r.score);
      out += ",";
      AppendJsonString(&out, r.json);
      out += "]\n";
    }
    return out;
  }

  // Adds a part file's tallies; the seconds are the slowest part's.
  Status Merge(const std::string& path) {
    DOPPEL_ASSIGN_OR_RETURN(auto src, OpenSource(path));
    LineReader lines(std::move(src), uint64_t{1} << 30, "a scan part file's limit");
    simdjson::dom::parser parser;
    std::string line;
    for (uint64_t n = 1;; ++n) {
      DOPPEL_ASSIGN_OR_RETURN(bool more, lines.Next(&line));
      if (!more) break;
      simdjson::dom::array a;
      std::string_view tag;
      const auto bad = [&] { return Status::Corruption(path + ":" + std::to_string(n) + ": not a scan part line"); };
      if (parser.parse(line).get(a) || a.at(0).get_string().get(tag)) return bad();
      bool fields_ok = true;  // a field of the wrong type makes the line bad, not a zero
      auto u = [&](size_t i) -> uint64_t {
        uint64_t v = 0;
        fields_ok &= !a.at(i).get_uint64().get(v);
        return v;
      };
      auto str = [&](size_t i) -> std::string {
        std::string_view v;
        fields_ok &= !a.at(i).get_string().get(v);
        return std::string(v);
      };
      if (tag == "run") {
        continue;  // the key a rerun compares
      } else if (tag == "sum") {
        double secs = 0;
        if (a.size() != 9 || a.at(8).get_double().get(secs)) return bad();
        sum.documents += u(1), sum.flagged += u(2), sum.errors += u(3), sum.bytes += u(4), sum.lines += u(5);
        sum.bytes_covered += u(6), sum.lines_covered += u(7);
        sum.seconds = std::max(sum.seconds, secs);
      } else if (tag == "skipped" && a.size() == 6) {
        // Every task reads every input (and scans its share of the documents): the same files.
        sum.skipped_binary = std::max(sum.skipped_binary, u(1));
        sum.skipped_empty = std::max(sum.skipped_empty, u(2));
        sum.skipped_repeated = std::max(sum.skipped_repeated, u(3));
        sum.skipped_special = std::max(sum.skipped_special, u(4));
        sum.skipped_folders = std::max(sum.skipped_folders, u(5));
      } else if (tag == "error" && a.size() == 3) {
        errors.push_back({u(1), 0, str(2)});
      } else if (tag == "source" && a.size() == 4) {
        auto& st = sources[str(1)];
        st.documents += u(2), st.bytes += u(3);
      } else if ((tag == "language" || tag == "kind") && a.size() == 5) {
        auto& g = (tag == "language" ? by_language : by_kind)[str(1)];
        g.documents += u(2), g.flagged += u(3), g.bytes += u(4);
      } else if (tag == "result" && a.size() == 4) {
        double score = 0;
        if (a.at(2).get_double().get(score)) return bad();
        results.push_back({u(1), score, str(3)});
      } else {
        return bad();
      }
      if (!fields_ok) return bad();
    }
    return Status::OK();
  }
};

std::string SummaryJson(const Tally& t, const std::string& index_dir, const std::string& common_dir) {
  const ScanSummary& sum = t.sum;
  std::vector<std::pair<std::string, Tally::SourceStat>> top(t.sources.begin(), t.sources.end());
  std::stable_sort(top.begin(), top.end(), [](const auto& a, const auto& b) {
    return a.second.documents != b.second.documents ? a.second.documents > b.second.documents
                                                    : a.second.bytes > b.second.bytes;
  });
  if (top.size() > 20) top.resize(20);
  std::string js = "{\"documents\":" + std::to_string(sum.documents) + ",\"flagged\":" + std::to_string(sum.flagged) +
                   ",\"errors\":" + std::to_string(sum.errors) + ",\"bytes\":" + std::to_string(sum.bytes) +
                   ",\"lines\":" + std::to_string(sum.lines) + ",\"bytes_covered\":" +
                   std::to_string(sum.bytes_covered) + ",\"lines_covered\":" + std::to_string(sum.lines_covered) +
                   ",\"skipped\":{\"binary\":" + std::to_string(sum.skipped_binary) +
                   ",\"empty\":" + std::to_string(sum.skipped_empty) +
                   ",\"repeated\":" + std::to_string(sum.skipped_repeated) +
                   ",\"special\":" + std::to_string(sum.skipped_special) +
                   ",\"folders\":" + std::to_string(sum.skipped_folders) + "},\"seconds\":";
  AppendJsonNumber(&js, sum.seconds);
  js += ",\"index\":";
  AppendJsonString(&js, index_dir);
  if (!common_dir.empty()) {  // IndexOptions::common_code
    js += ",\"common_index\":";
    AppendJsonString(&js, common_dir);
  }
  js += ",\"top_sources\":[";
  for (size_t i = 0; i < top.size(); ++i) {
    if (i) js += ",";
    js += "{\"name\":";
    AppendJsonString(&js, top[i].first);
    js += ",\"documents\":" + std::to_string(top[i].second.documents) +
          ",\"bytes_covered\":" + std::to_string(top[i].second.bytes) + "}";
  }
  auto groups = [&](const char* key, const std::map<std::string, Tally::GroupStat>& m) {
    js += std::string(",\"") + key + "\":{";
    bool first = true;
    for (const auto& [k, g] : m) {
      if (!first) js += ",";
      first = false;
      AppendJsonString(&js, k);
      js += ":{\"documents\":" + std::to_string(g.documents) + ",\"flagged\":" + std::to_string(g.flagged) +
            ",\"bytes\":" + std::to_string(g.bytes) + "}";
    }
    js += "}";
  };
  js += "]";
  groups("by_language", t.by_language);
  groups("by_kind", t.by_kind);
  js += "}\n";
  return js;
}

// One document's verdict; code with lexer_first is read by the lexer first
// (CheckRequest::lexer_first).
Result<Verdict> CheckDocument(const Filter& filter, const Document& doc, bool lexer_first) {
  CheckRequest request;
  request.kind = doc.kind;
  request.language = doc.language;
  request.lexer_first = lexer_first && doc.kind == Kind::kCode;
  return filter.Check(doc.text, request);
}

// Reads the inputs and checks, in parallel, the documents `wanted` selects by their position in
// input order; `done` gets each one (with its verdict or error) in input order, from one thread.
// `done` returns false to stop.
Status CheckInputs(const Filter& filter, const std::vector<std::string>& inputs, const ScanOptions& o,
                   const std::function<bool(uint64_t)>& wanted, bool describe,
                   const std::function<bool(Item&, uint64_t)>& done, ReaderCounters* counters = nullptr) {
  DOPPEL_ASSIGN_OR_RETURN(auto reader, DocumentReader::Open(inputs, o.reader));
  std::unique_ptr<tbb::global_control> gc;
  if (o.threads > 0) {
    gc = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                               static_cast<size_t>(o.threads));
  }
  bool stop = false, halted = false;
  uint64_t next_ordinal = 0;
  using Batch = std::vector<std::pair<uint64_t, Item>>;
  constexpr size_t kBatch = 16;
  tbb::parallel_pipeline(
      16,
      tbb::make_filter<void, std::shared_ptr<Batch>>(
          tbb::filter_mode::serial_in_order,
          [&](tbb::flow_control& fc) -> std::shared_ptr<Batch> {
            auto b = std::make_shared<Batch>();
            while (!stop && b->size() < kBatch) {
              Item it;
              auto more = reader->Next(&it.doc);
              if (more.ok() && !*more) {
                stop = true;
                break;
              }
              const uint64_t ordinal = next_ordinal++;
              if (!wanted(ordinal)) continue;
              if (!more.ok()) it.error = more.status();
              b->emplace_back(ordinal, std::move(it));
            }
            if (b->empty()) {
              fc.stop();
              return nullptr;
            }
            return b;
          }) &
          tbb::make_filter<std::shared_ptr<Batch>, std::shared_ptr<Batch>>(
              tbb::filter_mode::parallel,
              [&](std::shared_ptr<Batch> b) {
                for (auto& [ordinal, it] : *b) {
                  if (!it.error.ok()) continue;
                  it.verdict = CheckDocument(filter, it.doc, o.lexer_first);
                  if (describe && it.verdict.ok() &&
                      Flagging(it.verdict->action)) {
                    it.flagged = Describe(filter.index(), it.doc, *it.verdict);
                  }
                }
                return b;
              }) &
          tbb::make_filter<std::shared_ptr<Batch>, void>(
              tbb::filter_mode::serial_in_order, [&](std::shared_ptr<Batch> b) {
                for (auto& [ordinal, it] : *b) {
                  if (halted) return;
                  if (!done(it, ordinal)) halted = stop = true;
                }
              }));
  if (counters != nullptr) *counters = reader->counters();
  return Status::OK();
}

std::string PartPath(const std::string& report_dir, uint32_t rank) {
  return report_dir + "/.tasks/check-" + std::to_string(rank) + ".part";
}

// What a check task's part depends on: the inputs, the split, the reader's fields and document
// limit, --on-error, the filter's verdict settings (a --policy or threshold flag), the index
// (its directory, parameters and stored state: another index built there, or any write to it,
// is another), the detection rules and tokenizers of this build (kMatcherVersion, the
// manifest's tokenizer and grammar versions), with lexer_first, the lexer's version, and the
// common-code index read beside it (its directory and state), and the part files' own layout. A
// rerun reuses a part whose key matches.
Result<std::string> PartKey(const Filter& filter, const std::vector<std::string>& inputs, const ScanOptions& o) {
  DOPPEL_ASSIGN_OR_RETURN(IndexStats st, filter.index().Stats());
  // The part files' layout: parts-v2 has six numbers in its "skipped" line.
  std::string k = "parts-v2\n" + VerdictKey(filter.options()) + "\n" + codec::EncodeManifest(filter.index().params()) + "\n" +
                  filter.index().dir() + "\n" + st.state + "\n" + std::to_string(o.rank) + "/" +
                  std::to_string(o.world) + "\n" + o.reader.text_field + "\n" + o.reader.id_field + "\n" +
                  o.reader.path_field + "\n" +
                  std::to_string(o.reader.max_document_bytes) + (o.fail_on_error ? " fail" : " skip") +
                  (o.reader.lossy_utf8 ? " lossy" : "") + "\n" +
                  (o.lexer_first ? std::string(kCodeLexerVersion) + "\n" : "");
  if (const Index* common = filter.index().common_code()) {
    DOPPEL_ASSIGN_OR_RETURN(IndexStats cs, common->Stats());
    k += "common " + common->dir() + "\n" + cs.state + "\n";
  }
  // The inputs as they are now (a rerun after an edit checks again). A pipe can be read once:
  // every task reads every input, so none is.
  for (const auto& in : inputs) {
    std::error_code ec;
    const auto st = fs::status(in, ec);
    if (o.world > 1 && fs::exists(st) && !fs::is_directory(st) && !fs::is_regular_file(st)) {
      return Status::InvalidArgument(in + ": not a regular file; a pipe is read once, and each of " +
                                     std::to_string(o.world) + " check tasks reads every input: scan it with --tasks 1");
    }
  }
  k += InputsState(inputs, o.reader);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH3_64bits(k.data(), k.size())));
  return std::string(hex);
}

// The files of a report, which a scan writes and replaces.
const std::vector<std::string> kReportFiles = {"results.jsonl", "errors.jsonl", "summary.json", "report.html"};

// Whether `dir` holds a scan's report: its results.jsonl and report.html, and a summary.json
// (read up to 16 MB) that is an object with the members every scan's summary has had. A folder
// of another tool's files of those names is scanned as any.
bool IsScanReport(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_regular_file(dir + "/results.jsonl", ec) || !fs::is_regular_file(dir + "/report.html", ec)) return false;
  const std::string path = dir + "/summary.json";
  const uintmax_t size = fs::file_size(path, ec);
  if (ec || size > (16u << 20)) return false;
  std::ifstream in(path, std::ios::binary);
  std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(json).get_object().get(obj)) return false;
  for (const char* key : {"documents", "flagged", "errors", "index", "top_sources"}) {
    if (obj.at_key(key).error()) return false;
  }
  return true;
}

// Whether a file of a report directory is a report's: one of its files, the temporary file of
// one (a run killed while writing it), or the check tasks' folder.
bool IsReportFile(const std::string& file) {
  if (file == ".tasks" || file == ".lock") return true;
  return std::any_of(kReportFiles.begin(), kReportFiles.end(),
                     [&](const std::string& name) { return file == name || file.starts_with(name + ".tmp."); });
}

// Removes a report's files and their temporary files from `report_dir` (not the tasks' parts).
void RemoveReportFiles(const std::string& report_dir) {
  std::error_code ec;
  std::vector<fs::path> stale;
  for (const auto& entry : fs::directory_iterator(report_dir, ec)) {
    const std::string file = entry.path().filename().string();
    if (file != ".tasks" && file != ".lock" && IsReportFile(file)) stale.push_back(entry.path());
  }
  for (const fs::path& path : stale) fs::remove(path, ec);
}

}  // namespace

IndexOptions ScanIndexOptions() {
  IndexOptions io;
  io.cache_text_postings = false;  // a scan reads each text posting block about once
  io.map_files = true;              // opens in half the time; lookups cost no more (bench/README.md)
  io.cache_code_postings = false;   // the posting cache holds the decoded lists
  io.cache_document_blocks = false;  // the filter's token cache holds the decoded tokens
  return io;
}

FilterOptions ScanFilterOptions(FilterOptions options) {
  options.token_cache_tokens = size_t{1} << 21;
  // A scan aligns the same protected files against many inputs: decoded once and cached, they
  // cost less than read in place each time (a code scan of 4,409 files with --parse-all took
  // 6.70-6.88 s with 4,096 against 6.29-6.69 s).
  options.code_window_tokens = 0;
  return options;
}

void RemoveEarlierReport(const std::string& report_dir) {
  std::error_code ec;
  if (!fs::is_directory(report_dir, ec)) return;
  for (const auto& entry : fs::directory_iterator(report_dir, ec)) {
    if (!IsReportFile(entry.path().filename().string())) return;
  }
  // (Not a report another scan is writing now.)
  FileLock lock;
  if (!ec && lock.Take(report_dir + "/.lock", true).ok() && !lock.busy()) RemoveReportFiles(report_dir);
}

Status Scan(const Filter& filter, const std::vector<std::string>& inputs, const std::string& report_dir,
            const ScanOptions& options, ScanSummary* summary) {
  *summary = ScanSummary();
  if (options.world == 0 || options.rank >= options.world) {
    return Status::InvalidArgument("task rank " + std::to_string(options.rank) +
                                   " is not below the number of tasks " + std::to_string(options.world));
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::error_code ec;
  // An input not there is listed and the others are scanned (ScanOptions::reader); when none of
  // them is there, there is nothing to scan: a mistyped sole input is refused, not reported as
  // an empty corpus.
  if (!inputs.empty() && std::none_of(inputs.begin(), inputs.end(), [](const std::string& in) {
        std::error_code e;
        const auto st = fs::symlink_status(in, e);  // (a link, even a loop of them, is there)
        return fs::exists(st) || (e && e != std::errc::no_such_file_or_directory);
      })) {
    return Status::NotFound(inputs.front() + ": no such file or directory" +
                            (inputs.size() > 1 ? " (nor is any other input)" : ""));
  }
  // The report is written where nothing scanned or read lives: not in an input directory
  // itself nor in the index's; inside a scanned tree, its directory is passed over.
  for (const auto& in : inputs) {
    if (fs::is_directory(in, ec) && fs::equivalent(in, report_dir, ec)) {
      return Status::InvalidArgument("--report " + report_dir + " is the input directory " + in +
                                     "; write the report elsewhere");
    }
  }
  if (fs::equivalent(filter.index().dir(), report_dir, ec)) {
    return Status::InvalidArgument("--report " + report_dir + " is the index directory; write the report elsewhere");
  }
  // A report directory inside a scanned tree is passed over: one there that holds other files
  // would hide them from the scan (a copy there would pass --fail-on unseen). There, only a new
  // or empty directory, or an earlier report, is taken.
  bool in_scanned_tree = false;
  const fs::path report_path = fs::weakly_canonical(report_dir, ec);
  for (const auto& in : inputs) {
    if (!fs::is_directory(in, ec)) continue;
    const fs::path root = fs::weakly_canonical(in, ec);
    const auto [r, i] = std::mismatch(root.begin(), root.end(), report_path.begin(), report_path.end());
    in_scanned_tree |= r == root.end();
  }
  if (in_scanned_tree && fs::is_directory(report_dir, ec)) {
    for (const auto& entry : fs::directory_iterator(report_dir, ec)) {
      const std::string file = entry.path().filename().string();
      if (!IsReportFile(file)) {
        return Status::InvalidArgument("--report " + report_dir + " lies in a scanned directory and holds other files (" +
                                       file + "), which the scan would pass over; name a new or empty directory, or "
                                       "an earlier scan's report");
      }
    }
  }
  fs::create_directories(report_dir + (options.stage == ScanOptions::Stage::kCheck ? "/.tasks" : ""), ec);
  if (ec) return Status::IOError(report_dir + ": " + ec.message());
  // Two runs writing one report would mix their files: a whole run holds the directory alone, a
  // task of a split run shares it with the others (the lock ends with the process).
  FileLock lock;
  DOPPEL_RETURN_IF_ERROR(lock.Take(report_dir + "/.lock", options.stage == ScanOptions::Stage::kAll || options.one_command));
  if (lock.busy()) {
    return Status::InvalidArgument("--report " + report_dir + " is being written by another scan; wait for it to "
                                   "end, or name another report directory");
  }
  ScanOptions o = options;
  // (An input not there, a name mistyped or a shard gone, is listed as any unreadable input is.)
  o.reader.unreadable_inputs_read_past = true;
  o.reader.skip_dirs.push_back(report_dir);
  // (And an earlier scan's report in another directory of the tree.)
  o.reader.skip_dir_if = [](const std::string& dir) { return IsScanReport(dir) || HoldsIndex(dir); };
  // (An index inside a scanned tree: its LOG and OPTIONS files are no documents of the corpus.)
  o.reader.skip_dirs.push_back(filter.index().dir());
  if (const Index* common = filter.index().common_code()) o.reader.skip_dirs.push_back(common->dir());
  // A run that stops on an error leaves no report of an earlier run to be read as its own, nor
  // the temporary files of a run killed while writing one (a check task of a split run too: the
  // report task, after them all, writes the report again).
  RemoveReportFiles(report_dir);
  Tally t;
  std::vector<std::unique_ptr<Flagged>> flagged;
  const bool whole = o.stage == ScanOptions::Stage::kAll;

  if (o.stage == ScanOptions::Stage::kReport) {
    for (uint32_t r = 0; r < o.world; ++r) {
      const std::string part = PartPath(report_dir, r);
      if (!fs::exists(part, ec)) {
        return Status::InvalidArgument(part + ": check task " + std::to_string(r) + " of " + std::to_string(o.world) +
                                       " has not finished; run it first");
      }
      ScanOptions task = o;
      task.rank = r;
      DOPPEL_ASSIGN_OR_RETURN(const std::string key, PartKey(filter, inputs, task));
      std::ifstream in(part);
      std::string first;
      if (!std::getline(in, first) || first != "[\"run\",\"" + key + "\"]") {
        return Status::InvalidArgument(part + ": check task " + std::to_string(r) + " of " + std::to_string(o.world) +
                                       " ran on other inputs, another index or other settings; run it again");
      }
      DOPPEL_RETURN_IF_ERROR(t.Merge(part));
    }
    std::sort(t.results.begin(), t.results.end(), [](const auto& a, const auto& b) { return a.ordinal < b.ordinal; });
  } else {
    std::string key;
    if (o.stage == ScanOptions::Stage::kCheck) {
      DOPPEL_ASSIGN_OR_RETURN(key, PartKey(filter, inputs, o));
      std::ifstream in(PartPath(report_dir, o.rank));
      std::string first;
      if (std::getline(in, first) && first == "[\"run\",\"" + key + "\"]") {
        summary->resumed = true;  // done before with these inputs
        return Status::OK();
      }
    }
    Status failure;
    ReaderCounters counters;
    DOPPEL_RETURN_IF_ERROR(CheckInputs(
        filter, inputs, o, [&](uint64_t ordinal) { return ordinal % o.world == o.rank; }, whole,
        [&](Item& it, uint64_t ordinal) {
          Status err = it.error.ok() ? it.verdict.status() : it.error;
          if (!err.ok()) {
            if (it.error.ok()) err = err.WithContext(it.doc.origin);
            // An input the reader could not read (not there, unreadable, a folder it may not
            // list, a broken stream) is one input's error, passed over as a malformed one is.
            const bool bad_input = !it.error.ok() || err.code() == Status::Code::kInvalidArgument ||
                                   err.code() == Status::Code::kResourceExhausted ||
                                   err.code() == Status::Code::kNotFound;
            t.AddError(it.doc.origin, err, ordinal);
            if (o.on_error) o.on_error(err);
            if (o.fail_on_error || !bad_input) {  // an index failure always stops
              failure = err;
              return false;
            }
            return true;
          }
          const bool is_flagged = Flagging(it.verdict->action);
          t.Add(it.doc, *it.verdict, is_flagged, ordinal);
          if (it.flagged) flagged.push_back(std::move(it.flagged));
          if (o.on_progress) o.on_progress(t.sum.documents, t.sum.bytes, t.sum.flagged);
          return true;
        },
        &counters));
    if (!failure.ok()) return failure;
    t.sum.skipped_binary = counters.skipped_binary;
    t.sum.skipped_empty = counters.skipped_empty;
    t.sum.skipped_repeated = counters.skipped_repeated;
    t.sum.skipped_special = counters.skipped_special;
    t.sum.skipped_folders = counters.skipped_dirs;
    t.sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (o.stage == ScanOptions::Stage::kCheck) {
      *summary = t.sum;
      return WriteFileAtomically(PartPath(report_dir, o.rank), "[\"run\",\"" + key + "\"]\n" + t.Serialize());
    }
  }

  if (o.stage == ScanOptions::Stage::kReport) {
    // The page shows the flagged documents with most overlap: read those again, in input order,
    // and check them again (a check depends only on the text and the index).
    std::vector<const Tally::Result*> by_score;
    for (const auto& r : t.results) by_score.push_back(&r);
    std::stable_sort(by_score.begin(), by_score.end(), [](const auto* a, const auto* b) { return a->score > b->score; });
    if (by_score.size() > o.report_documents) by_score.resize(o.report_documents);
    std::vector<uint64_t> shown;
    for (const auto* r : by_score) shown.push_back(r->ordinal);
    std::sort(shown.begin(), shown.end());
    Status failure;
    DOPPEL_RETURN_IF_ERROR(CheckInputs(
        filter, inputs, o, [&](uint64_t ordinal) { return std::binary_search(shown.begin(), shown.end(), ordinal); },
        true, [&](Item& it, uint64_t) {
          if (!it.flagged) {
            failure = Status::InvalidArgument(it.doc.origin + ": the inputs or the index changed since the check tasks ran");
            return false;
          }
          flagged.push_back(std::move(it.flagged));
          return true;
        }));
    if (!failure.ok()) return failure;
  }

  std::string results;
  for (const auto& r : t.results) results += r.json;
  DOPPEL_RETURN_IF_ERROR(WriteFileAtomically(report_dir + "/results.jsonl", results));
  std::stable_sort(t.errors.begin(), t.errors.end(), [](const auto& a, const auto& b) { return a.ordinal < b.ordinal; });
  std::string errors;
  for (const auto& e : t.errors) errors += e.json;
  DOPPEL_RETURN_IF_ERROR(WriteFileAtomically(report_dir + "/errors.jsonl", errors));
  const Index* common = filter.index().common_code();
  const std::string common_dir = common != nullptr ? common->dir() : "";
  DOPPEL_RETURN_IF_ERROR(
      WriteFileAtomically(report_dir + "/summary.json", SummaryJson(t, filter.index().dir(), common_dir)));
  *summary = t.sum;
  const std::string index_label =
      filter.index().dir() + (common_dir.empty() ? "" : " (common code: " + common_dir + ")");
  const std::vector<std::string> page =
      RenderHtml(flagged, t.sum, index_label, o.report_documents, t.results.size(), o.threads);
  return WriteFileAtomically(report_dir + "/report.html", std::vector<std::string_view>(page.begin(), page.end()));
}

}  // namespace doppel
