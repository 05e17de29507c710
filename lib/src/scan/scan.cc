#include "doppel/scan.h"

#include <tbb/global_control.h>
#include <tbb/parallel_pipeline.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include "doppel/streams.h"
#include "doppel/format.h"
#include "doppel/language.h"
#include "doppel/sketch.h"

namespace doppel {

namespace {

namespace fs = std::filesystem;

// A part of a document or source shown in the report: whole lines around a span, with the
// matched bytes and the renamed identifiers marked (offsets relative to `text`).
struct Excerpt {
  std::string text;
  uint32_t first_line = 1;
  uint32_t match_begin = 0, match_end = 0;
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
  for (const Span& sp : v.spans) {
    SpanView view;
    view.span = sp;
    view.query = MakeExcerpt(d.text, sp.query.start, sp.query.end, sp.query.first_line);
    auto content = index.GetContent(sp.source_id);
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

void AppendHtml(std::string* out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '<': *out += "&lt;"; break;
      case '>': *out += "&gt;"; break;
      case '&': *out += "&amp;"; break;
      case '"': *out += "&quot;"; break;
      default: out->push_back(c);
    }
  }
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
  bool in_match = false;
  auto open_line = [&] {
    *out += "<span class=\"ln\">" + std::to_string(line) + "</span>";
    if (in_match) *out += "<mark>";
  };
  open_line();
  for (uint32_t i = 0; i < x.text.size();) {
    if (i == x.match_begin && i < x.match_end && !in_match) {
      *out += "<mark>";
      in_match = true;
    }
    if (i == x.match_end && in_match) {
      *out += "</mark>";
      in_match = false;
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
      if (in_match) *out += "</mark>";
      *out += "\n";
      ++line;
      ++i;
      if (i < x.text.size()) open_line();
      continue;
    }
    AppendHtml(out, std::string_view(&c, 1));
    ++i;
  }
  if (in_match) *out += "</mark>";
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
.ln{display:inline-block;width:4em;color:#999;user-select:none}
mark{background:#ffe27a} mark.renamed{background:#ffb3b3;outline:1px solid #d33}
)";

// Sorts the overview by the clicked column; "#sort=<column>" in the address sorts on load.
constexpr const char* kScript = R"(
function sortBy(col){
  const t=document.getElementById('overview'), body=t.tBodies[0], rows=[...body.rows];
  const th=t.tHead.rows[0].cells[col], num=th.dataset.type==='num';
  const desc=th.classList.contains('sorted')?th.dataset.dir!=='desc':num;
  rows.sort((a,b)=>{const x=a.cells[col].dataset.v||a.cells[col].textContent, y=b.cells[col].dataset.v||b.cells[col].textContent;
    const c=num?(parseFloat(x)-parseFloat(y)):x.localeCompare(y); return desc?-c:c;});
  for(const c of t.tHead.rows[0].cells){c.classList.remove('sorted')}
  th.classList.add('sorted'); th.dataset.dir=desc?'desc':'asc';
  rows.forEach(r=>body.appendChild(r));
}
document.querySelectorAll('#overview th').forEach((th,i)=>th.addEventListener('click',()=>sortBy(i)));
const m=location.hash.match(/sort=(\w+)/);
if(m){const i=[...document.querySelectorAll('#overview th')].findIndex(th=>th.dataset.key===m[1]); if(i>=0)sortBy(i);}
)";

std::string RenderHtml(const std::vector<std::unique_ptr<Flagged>>& flagged, const ScanSummary& sum,
                       const std::string& index_dir, size_t limit) {
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
  if (shown.size() < flagged.size()) {
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
         std::to_string(f.spans.size()) + "</td><td>";
    if (main) AppendHtml(&h, main->source_name);
    h += "</td><td>";
    AppendHtml(&h, f.kind == Kind::kCode ? (f.language.empty() ? "code" : f.language) : "text");
    h += "</td></tr>\n";
  }
  h += "</tbody></table>\n";
  for (size_t i = 0; i < shown.size(); ++i) {
    const Flagged& f = *shown[i];
    h += "<section class=\"doc\" id=\"doc-" + std::to_string(i) + "\"><h2>";
    AppendHtml(&h, f.name);
    h += " <span class=\"action " + std::string(ActionName(f.action)) + "\">" + std::string(ActionName(f.action)) +
         "</span> <span class=\"muted\">" + Percent(f.score) + " of the document in matched passages";
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
        if (!sv.query.renamed.empty()) {
          h += " &middot; <span class=\"renamed-count\">" + std::to_string(sv.query.renamed.size()) +
               "</span> renamed identifiers marked";
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
  }
  h += "<script>";
  h += kScript;
  h += "</script>\n</body></html>\n";
  return h;
}

uint64_t CountLines(std::string_view t) {
  return t.empty() ? 0 : static_cast<uint64_t>(std::count(t.begin(), t.end(), '\n')) + (t.back() != '\n');
}

}  // namespace

Status Scan(const Filter& filter, const std::vector<std::string>& inputs, const std::string& report_dir,
            const ScanOptions& o, ScanSummary* sum) {
  *sum = ScanSummary();
  const auto t0 = std::chrono::steady_clock::now();
  std::error_code ec;
  fs::create_directories(report_dir, ec);
  if (ec) return Status::IOError(report_dir + ": " + ec.message());
  DOPPEL_ASSIGN_OR_RETURN(auto reader, DocumentReader::Open(inputs, o.reader));
  std::unique_ptr<tbb::global_control> gc;
  if (o.threads > 0) {
    gc = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                               static_cast<size_t>(o.threads));
  }
  std::ofstream results(report_dir + "/results.jsonl.tmp", std::ios::binary | std::ios::trunc);
  if (!results) return Status::IOError(report_dir + ": cannot write results.jsonl");

  std::vector<std::unique_ptr<Flagged>> flagged;
  struct SourceStat {
    uint64_t documents = 0, bytes = 0;
  };
  std::map<std::string, SourceStat> sources;
  struct GroupStat {
    uint64_t documents = 0, flagged = 0, bytes = 0;
  };
  std::map<std::string, GroupStat> by_language, by_kind;
  Status failure;
  bool stop = false;
  using Batch = std::vector<Item>;
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
              if (!more.ok()) {
                it.error = more.status();
                b->push_back(std::move(it));
                continue;
              }
              if (!*more) {
                stop = true;
                break;
              }
              b->push_back(std::move(it));
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
                for (Item& it : *b) {
                  if (!it.error.ok()) continue;
                  it.verdict = filter.Check(it.doc.text, it.doc.kind, it.doc.language);
                  if (it.verdict.ok() &&
                      (it.verdict->action == Action::kRedact || it.verdict->action == Action::kBlock)) {
                    it.flagged = Describe(filter.index(), it.doc, *it.verdict);
                  }
                }
                return b;
              }) &
          tbb::make_filter<std::shared_ptr<Batch>, void>(
              tbb::filter_mode::serial_in_order, [&](std::shared_ptr<Batch> b) {
                for (Item& it : *b) {
                  if (!failure.ok()) return;
                  Status err = it.error.ok() ? it.verdict.status() : it.error;
                  if (!err.ok()) {
                    if (it.error.ok()) err = err.WithContext(it.doc.origin);
                    const bool bad_input = err.code() == Status::Code::kInvalidArgument ||
                                           err.code() == Status::Code::kResourceExhausted ||
                                           err.code() == Status::Code::kNotFound;
                    ++sum->errors;
                    if (o.on_error) o.on_error(err);
                    if (o.fail_on_error || !bad_input) {  // an index failure always stops
                      failure = err;
                      stop = true;
                      return;
                    }
                    continue;
                  }
                  const Document& d = it.doc;
                  const Verdict& v = *it.verdict;
                  ++sum->documents;
                  sum->bytes += d.text.size();
                  sum->lines += CountLines(d.text);
                  const std::string lang = d.kind == Kind::kCode ? (d.language.empty() ? "generic" : d.language) : "text";
                  auto& gl = by_language[lang];
                  auto& gk = by_kind[std::string(KindName(d.kind))];
                  ++gl.documents;
                  ++gk.documents;
                  gl.bytes += d.text.size();
                  gk.bytes += d.text.size();
                  if (!it.flagged) continue;
                  ++sum->flagged;
                  ++gl.flagged;
                  ++gk.flagged;
                  std::map<std::string, uint64_t> doc_sources;
                  std::vector<std::pair<uint32_t, uint32_t>> covered;
                  for (const auto& s : v.spans) {
                    doc_sources[s.source_name] += s.query.end - s.query.start;
                    covered.emplace_back(s.query.first_line, s.query.last_line);
                    sum->bytes_covered += s.query.end - s.query.start;
                  }
                  // Lines covered: the union of the spans' line ranges.
                  std::sort(covered.begin(), covered.end());
                  uint32_t last = 0;
                  for (const auto& [a, z] : covered) {
                    const uint32_t from = std::max(a, last + 1);
                    if (z >= from) sum->lines_covered += z - from + 1;
                    last = std::max(last, z);
                  }
                  for (const auto& [name, bytes] : doc_sources) {
                    ++sources[name].documents;
                    sources[name].bytes += bytes;
                  }
                  Verdict line = v;
                  line.id = d.name;
                  std::string json;
                  AppendVerdictJson(line, false, &json);
                  json.pop_back();
                  json += ",\"input\":";
                  AppendJsonString(&json, d.origin);
                  json += ",\"kind\":\"" + std::string(KindName(d.kind)) + "\",\"language\":";
                  AppendJsonString(&json, d.language);
                  json += ",\"bytes\":" + std::to_string(d.text.size()) + "}\n";
                  results << json;
                  flagged.push_back(std::move(it.flagged));
                }
                if (o.on_progress) o.on_progress(sum->documents, sum->bytes, sum->flagged);
              }));
  if (!failure.ok()) return failure;
  results.close();
  if (!results) return Status::IOError(report_dir + "/results.jsonl: write failed");
  fs::rename(report_dir + "/results.jsonl.tmp", report_dir + "/results.jsonl", ec);
  if (ec) return Status::IOError(report_dir + "/results.jsonl: " + ec.message());
  sum->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // summary.json
  std::vector<std::pair<std::string, SourceStat>> top(sources.begin(), sources.end());
  std::stable_sort(top.begin(), top.end(), [](const auto& a, const auto& b) {
    return a.second.documents != b.second.documents ? a.second.documents > b.second.documents
                                                    : a.second.bytes > b.second.bytes;
  });
  if (top.size() > 20) top.resize(20);
  std::string js = "{\"documents\":" + std::to_string(sum->documents) + ",\"flagged\":" + std::to_string(sum->flagged) +
                   ",\"errors\":" + std::to_string(sum->errors) + ",\"bytes\":" + std::to_string(sum->bytes) +
                   ",\"lines\":" + std::to_string(sum->lines) + ",\"bytes_covered\":" +
                   std::to_string(sum->bytes_covered) + ",\"lines_covered\":" + std::to_string(sum->lines_covered) +
                   ",\"seconds\":";
  AppendJsonNumber(&js, sum->seconds);
  js += ",\"index\":";
  AppendJsonString(&js, filter.index().dir());
  js += ",\"top_sources\":[";
  for (size_t i = 0; i < top.size(); ++i) {
    if (i) js += ",";
    js += "{\"name\":";
    AppendJsonString(&js, top[i].first);
    js += ",\"documents\":" + std::to_string(top[i].second.documents) +
          ",\"bytes_covered\":" + std::to_string(top[i].second.bytes) + "}";
  }
  auto groups = [&](const char* key, const std::map<std::string, GroupStat>& m) {
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
  groups("by_language", by_language);
  groups("by_kind", by_kind);
  js += "}\n";
  DOPPEL_RETURN_IF_ERROR(WriteFileAtomically(report_dir + "/summary.json", js));
  return WriteFileAtomically(report_dir + "/report.html", RenderHtml(flagged, *sum, filter.index().dir(), o.report_documents));
}

}  // namespace doppel
