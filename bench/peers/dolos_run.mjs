// Runs Dolos (@dodona/dolos-lib, installed by install.sh) on the peers suite: per language, one
// Dolos analysis of that language's protected files plus its queries, at the library's defaults
// (k-gram length 23, window 17, no fingerprint-frequency filter, comments not tokenized). The
// analysis is Dolos.analyze's steps (tokenize, fingerprint index) spelled out, so that a file the
// tokenizer fails on is counted and left out rather than failing the language. For every
// query it scores the pairs (query, protected file) that share at least one fingerprint (every
// other pair has similarity 0) and writes one JSON Lines file per decision rule:
//
//   node dolos_run.mjs DIR PEERS MANIFEST OUT_PREFIX [RULES]
//
//   DIR         the install.sh directory (node_modules/@dodona/dolos-lib in it)
//   PEERS       WORK/peers: protected/ under it; manifest "file" paths are relative to it
//   MANIFEST    the manifest to run (WORK/peers/manifest.jsonl or a subsample of it)
//   OUT_PREFIX  writes OUT_PREFIX-<rule>.jsonl per rule, OUT_PREFIX-pairs.jsonl (every query's
//               best 5 candidates with all their scores) and OUT_PREFIX-stats.json
//   RULES       comma-separated NAME:MEASURE:THRESHOLD, MEASURE one of
//                 similarity  Dolos's pair similarity, (covered_q + covered_p) / (total_q + total_p)
//                             over the two files' winnowed fingerprints: what Dolos ranks by
//                 coverage    covered_q / total_q, the query's share of fingerprints found in the
//                             protected file (the same Pair fields, read from the query's side)
//               default "sim0.5:similarity:0.5,sim0.25:similarity:0.25,cov0.5:coverage:0.5"
//
// A query is flagged under a rule when some protected file reaches the threshold; "sources" lists
// every protected file that does. For embedded queries best_iou is the line IoU, with the copy's
// true lines, of the true source's matched query lines: Dolos's fragments of that pair merged into
// spans (see mergeSpans), and of those spans the one whose query side overlaps the true lines most
// (as doppel's suite picks its span).
//
// Ruby has no Dolos parser (@dodona/dolos-parsers 1.4.1): its queries are written unflagged with
// "unsupported": true.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [DIR, PEERS, MANIFEST, OUT_PREFIX, RULES_ARG] = process.argv.slice(2);
if (!OUT_PREFIX) {
  console.error("usage: node dolos_run.mjs DIR PEERS MANIFEST OUT_PREFIX [RULES]");
  process.exit(2);
}
const lib = await import(pathToFileURL(path.join(DIR, "node_modules/@dodona/dolos-lib/dist/index.js")).href);
const { File, FingerprintIndex, LanguagePicker, Options } = lib;

const RULES = (RULES_ARG || "sim0.5:similarity:0.5,sim0.25:similarity:0.25,cov0.5:coverage:0.5")
  .split(",").map(s => {
    const [name, measure, t] = s.split(":");
    if (!["similarity", "coverage"].includes(measure) || !(Number(t) >= 0)) throw new Error(`bad rule ${s}`);
    return { name, measure, threshold: Number(t) };
  });

// The suite's language names -> Dolos's; null: no parser.
const DOLOS_LANG = {
  python: "python", javascript: "javascript", typescript: "typescript", tsx: "tsx", java: "java",
  c: "c", cpp: "cpp", go: "go", rust: "rust", c_sharp: "c-sharp", ruby: null,
};
const EXT_LANG = {
  ".py": "python", ".js": "javascript", ".ts": "typescript", ".tsx": "tsx", ".java": "java", ".c": "c",
  ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".hh": "cpp", ".hpp": "cpp", ".go": "go", ".rs": "rust",
  ".rb": "ruby", ".cs": "c_sharp",
};

const queries = fs.readFileSync(MANIFEST, "utf8").split("\n").filter(l => l.trim()).map(l => JSON.parse(l));

// Protected files by language: the folder under protected/ when it names a language, else the extension.
function walk(dir, rel, out) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) walk(path.join(dir, e.name), r, out);
    else if (e.isFile()) out.push(r);
  }
  return out;
}
const protectedByLang = new Map();
for (const rel of walk(path.join(PEERS, "protected"), "", [])) {
  const top = rel.split("/")[0];
  const lang = rel.includes("/") && top in DOLOS_LANG ? top : EXT_LANG[path.extname(rel).toLowerCase()];
  if (!lang) continue;
  if (!protectedByLang.has(lang)) protectedByLang.set(lang, []);
  protectedByLang.get(lang).push(`protected/${rel}`);
}

// Merges matched fragments [q_first, q_last, p_first, p_last] (1-based lines, query and protected
// side) into spans: two join when their query sides and their protected sides each overlap or lie
// within GAP lines of each other, so one copy split by a changed line stays one span while
// unrelated look-alike fragments elsewhere in either file stay apart.
const GAP = 2;
function mergeSpans(frags) {
  let spans = frags.map(f => [...f]);
  for (let changed = true; changed;) {
    changed = false;
    spans.sort((a, b) => a[0] - b[0] || a[2] - b[2]);
    const out = [];
    for (const s of spans) {
      const t = out.find(o => s[0] <= o[1] + GAP + 1 && o[0] <= s[1] + GAP + 1 &&
                              s[2] <= o[3] + GAP + 1 && o[2] <= s[3] + GAP + 1);
      if (t) {
        t[0] = Math.min(t[0], s[0]); t[1] = Math.max(t[1], s[1]);
        t[2] = Math.min(t[2], s[2]); t[3] = Math.max(t[3], s[3]);
        changed = true;
      } else out.push(s);
    }
    spans = out;
  }
  return spans;
}
function bestIou(spans, first, last) {
  let bestOv = -1, best = 0;
  for (const [a, b] of spans) {
    const ov = Math.max(0, Math.min(b, last) - Math.max(a, first) + 1);
    const uni = Math.max(b, last) - Math.min(a, first) + 1;
    if (ov > bestOv) { bestOv = ov; best = ov / uni; }
  }
  return best;
}

const outs = Object.fromEntries(RULES.map(r => [r.name, fs.createWriteStream(`${OUT_PREFIX}-${r.name}.jsonl`)]));
const pairsOut = fs.createWriteStream(`${OUT_PREFIX}-pairs.jsonl`);
const stats = { dolos_lib: JSON.parse(fs.readFileSync(path.join(DIR, "node_modules/@dodona/dolos-lib/package.json"))).version,
                rules: RULES, languages: {} };

const byLang = new Map();
for (const q of queries) {
  if (!byLang.has(q.lang)) byLang.set(q.lang, []);
  byLang.get(q.lang).push(q);
}

const r3 = x => Math.round(x * 1000) / 1000;
for (const [lang, qs] of [...byLang.entries()].sort()) {
  const t0 = Date.now();
  const dl = DOLOS_LANG[lang];
  const prot = protectedByLang.get(lang) || [];
  const st = { queries: qs.length, protected_files: prot.length, unsupported: dl == null };
  stats.languages[lang] = st;
  if (dl == null || prot.length === 0) {
    for (const q of qs) {
      for (const r of RULES) outs[r.name].write(JSON.stringify({ id: q.id, flagged: false, sources: [], best_iou: null, unsupported: dl == null }) + "\n");
      pairsOut.write(JSON.stringify({ id: q.id, candidates: [], unsupported: dl == null }) + "\n");
    }
    console.error(`dolos: ${lang}: ${dl == null ? "no Dolos parser" : "no protected files"}, ${qs.length} queries unflagged`);
    continue;
  }
  // What Dolos.analyze does (lib/dolos.js), with the defaults of its Options, except that a file
  // the tokenizer fails on (deep syntax trees overflow its recursion) is left out and counted,
  // instead of ending the whole analysis.
  const opts = new Options({ language: dl });
  const language = await new LanguagePicker().findLanguage(dl);
  const tokenizer = await language.createTokenizer({ includeComments: opts.includeComments });
  const index = new FingerprintIndex(opts.kgramLength, opts.kgramsInWindow, opts.kgramData);
  const tokenized = [];
  st.failed_protected = [];
  st.failed_queries = [];
  const tokenize = (rel, failed) => {
    try {
      tokenized.push(tokenizer.tokenizeFile(new File(rel, fs.readFileSync(path.join(PEERS, rel), "utf8"))));
    } catch (e) {
      failed.push(`${rel}: ${String(e.message || e).slice(0, 80)}`);
    }
  };
  for (const rel of prot) tokenize(rel, st.failed_protected);
  for (const q of qs) tokenize(q.file, st.failed_queries);
  index.addFiles(tokenized);
  const report = { entries: () => index.entries(), getPair: (a, b) => index.getPair(a, b) };
  if (st.failed_protected.length + st.failed_queries.length) {
    console.error(`dolos: ${lang}: the tokenizer failed on ${st.failed_protected.length} protected files and ` +
                  `${st.failed_queries.length} queries (left out; those queries count as not flagged)`);
  }
  const tTok = Date.now();
  const entries = new Map(report.entries().map(e => [e.file.path, e]));
  const protSet = new Set(prot);
  let pairsScored = 0;
  for (const q of qs) {
    const qe = entries.get(q.file);
    if (!qe) {
      for (const r of RULES) outs[r.name].write(JSON.stringify({ id: q.id, flagged: false, sources: [], best_iou: null, failed: true }) + "\n");
      pairsOut.write(JSON.stringify({ id: q.id, candidates: [], failed: true }) + "\n");
      continue;
    }
    const cands = new Map();  // protected path -> TokenizedFile
    for (const sf of qe.shared) {
      for (const f of sf.files()) if (protSet.has(f.path)) cands.set(f.path, f);
    }
    const scored = [];
    for (const [p, pf] of cands) {
      const pair = report.getPair(qe.file, pf);  // left = the query
      ++pairsScored;
      scored.push({ source: p, pair, similarity: pair.similarity, coverage: pair.leftTotal ? pair.leftCovered / pair.leftTotal : 0,
                    longest: pair.longest, q_covered: pair.leftCovered, q_total: pair.leftTotal,
                    p_covered: pair.rightCovered, p_total: pair.rightTotal });
    }
    scored.sort((a, b) => b.similarity - a.similarity || b.coverage - a.coverage);
    const embedded = q.first_line != null && q.last_line != null;
    let iou = null;
    if (embedded && q.source) {
      const s = scored.find(c => c.source === q.source);
      if (s) {
        const spans = mergeSpans(s.pair.buildFragments().map(fr => [fr.leftSelection.startRow + 1, fr.leftSelection.endRow + 1,
                                                                     fr.rightSelection.startRow + 1, fr.rightSelection.endRow + 1]));
        iou = spans.length ? bestIou(spans, q.first_line, q.last_line) : 0;
      }
    }
    for (const r of RULES) {
      const srcs = scored.filter(c => c[r.measure] >= r.threshold).map(c => c.source);
      const rec = { id: q.id, flagged: srcs.length > 0, sources: srcs, best_iou: null };
      if (embedded) rec.best_iou = srcs.includes(q.source) ? iou : null;
      outs[r.name].write(JSON.stringify(rec) + "\n");
    }
    pairsOut.write(JSON.stringify({ id: q.id, q_fingerprints: qe.kgrams.length, true_source_iou: iou,
      candidates: scored.slice(0, 5).map(c => ({ source: c.source, similarity: r3(c.similarity), coverage: r3(c.coverage),
        longest: c.longest, q_covered: c.q_covered, q_total: c.q_total, p_covered: c.p_covered, p_total: c.p_total })) }) + "\n");
  }
  st.tokenize_index_s = (tTok - t0) / 1000;
  st.pairs_s = (Date.now() - tTok) / 1000;
  st.pairs_scored = pairsScored;
  console.error(`dolos: ${lang}: ${prot.length} protected + ${qs.length} queries, index ${st.tokenize_index_s} s, ` +
                `${pairsScored} pairs scored in ${st.pairs_s} s`);
}
await Promise.all([...Object.values(outs), pairsOut].map(s => new Promise(res => s.end(res))));
fs.writeFileSync(`${OUT_PREFIX}-stats.json`, JSON.stringify(stats, null, 1) + "\n");
