#!/usr/bin/env python3
"""Helpers of bench/peers/run.sh (Python 3 standard library only).

  peers.py sample PEERS MANIFEST N OUTDIR
      Keeps at most N queries per (language, class), chosen by a hash of the id (deterministic),
      writes OUTDIR/manifest.jsonl and copies the kept query files into OUTDIR/queries/.
  peers.py jscpd PEERS MANIFEST QUERIES_DIR REPORT_JSON > jscpd.jsonl
      Turns jscpd's JSON report into one line per query (see below).
  peers.py summary PEERS MANIFEST
      Prints the Markdown tables of every tool result found in PEERS.

Per-query lines: {"id", "flagged", "sources", "best_iou"}. jscpd flags a query when it reports a
clone between the query file and a protected file (clones of a query with itself or with other
queries do not count); "sources" are those protected files. best_iou (embedded queries whose true
source is among the sources): the clones with the true source merged into spans (merge_spans), and
of those the span whose query side overlaps the copy's true lines most gives the line IoU (the span
doppel's suite picks too).
"""
import hashlib
import json
import os
import shutil
import sys

CLASSES = ["verbatim", "renamed", "reformatted", "renamed+reformatted", "embedded 10-30 lines"]
NEGATIVES = ["novel", "short"]


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


GAP = 2


def merge_spans(frags):
    """Merges matches [q_first, q_last, p_first, p_last] (query and protected lines) into spans:
    two join when their query sides and their protected sides each overlap or lie within GAP lines
    of each other (the same rule as dolos_run.mjs)."""
    spans = [list(f) for f in frags]
    changed = True
    while changed:
        changed = False
        spans.sort()
        out = []
        for s in spans:
            for t in out:
                if (s[0] <= t[1] + GAP + 1 and t[0] <= s[1] + GAP + 1 and
                        s[2] <= t[3] + GAP + 1 and t[2] <= s[3] + GAP + 1):
                    t[0], t[1] = min(t[0], s[0]), max(t[1], s[1])
                    t[2], t[3] = min(t[2], s[2]), max(t[3], s[3])
                    changed = True
                    break
            else:
                out.append(s)
        spans = out
    return spans


def best_iou(spans, first, last):
    best_ov, best = -1, 0.0
    for a, b, _, _ in spans:
        ov = max(0, min(b, last) - max(a, first) + 1)
        uni = max(b, last) - min(a, first) + 1
        if ov > best_ov:
            best_ov, best = ov, ov / uni
    return best


def cmd_sample(peers, manifest, n, outdir):
    n = int(n)
    groups = {}
    for q in read_jsonl(manifest):
        groups.setdefault((q["lang"], q["class"]), []).append(q)
    kept = []
    for key in sorted(groups):
        qs = sorted(groups[key], key=lambda q: hashlib.sha1(q["id"].encode()).hexdigest())
        kept.extend(qs[:n])
    kept.sort(key=lambda q: (int(q["id"]) if q["id"].isdigit() else 0, q["id"]))
    shutil.rmtree(os.path.join(outdir, "queries"), ignore_errors=True)
    os.makedirs(os.path.join(outdir, "queries"))
    with open(os.path.join(outdir, "manifest.jsonl"), "w", encoding="utf-8") as f:
        for q in kept:
            shutil.copy(os.path.join(peers, q["file"]), os.path.join(outdir, "queries"))
            f.write(json.dumps(q) + "\n")
    print("sample: %d of the queries kept (at most %d per language and class)" % (len(kept), n), file=sys.stderr)


def cmd_jscpd(peers, manifest, qdir, report):
    queries = read_jsonl(manifest)
    by_name = {os.path.basename(q["file"]): q for q in queries}
    prot_root = os.path.realpath(os.path.join(peers, "protected"))
    qroot = os.path.realpath(qdir)

    def classify(name):
        p = os.path.realpath(name if os.path.isabs(name) else os.path.join(peers, name))
        if p.startswith(prot_root + os.sep):
            return "protected", "protected/" + os.path.relpath(p, prot_root).replace(os.sep, "/")
        if p.startswith(qroot + os.sep):
            q = by_name.get(os.path.basename(p))
            return ("query", q) if q else (None, None)
        return None, None

    with open(report, encoding="utf-8") as f:
        dups = json.load(f).get("duplicates", [])
    hits = {}  # query id -> {source: [[first, last], ...]}
    for d in dups:
        a, b = classify(d["firstFile"]["name"]), classify(d["secondFile"]["name"])
        for (qa, qside), (pa, pside) in (((a, d["firstFile"]), (b, d["secondFile"])), ((b, d["secondFile"]), (a, d["firstFile"]))):
            if qa[0] == "query" and pa[0] == "protected":
                hits.setdefault(qa[1]["id"], {}).setdefault(pa[1], []).append(
                    [qside["start"], qside["end"], pside["start"], pside["end"]])
    for q in queries:
        h = hits.get(q["id"], {})
        rec = {"id": q["id"], "flagged": bool(h), "sources": sorted(h), "best_iou": None}
        if q.get("first_line") is not None and q.get("source") in h:
            rec["best_iou"] = round(best_iou(merge_spans(h[q["source"]]), q["first_line"], q["last_line"]), 4)
        print(json.dumps(rec))


def read_time(path):
    """GNU time -v output: wall seconds, user+sys seconds, max RSS in MiB."""
    if not os.path.exists(path):
        return None
    vals = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            k, _, v = line.strip().rpartition(": ")
            vals[k] = v
    wall = vals.get("Elapsed (wall clock) time (h:mm:ss or m:ss)", "")
    secs = 0.0
    for part in wall.split(":"):
        secs = secs * 60 + float(part or 0)
    return {"wall_s": secs,
            "cpu_s": float(vals.get("User time (seconds)", 0)) + float(vals.get("System time (seconds)", 0)),
            "rss_mib": int(vals.get("Maximum resident set size (kbytes)", 0)) / 1024.0,
            "exit": vals.get("Exit status", "?")}


def pct(k, n):
    return "%.1f%% (%d/%d)" % (100.0 * k / n, k, n) if n else "-"


def tally(queries, results):
    """(lang, class) -> dict(n, caught, iou_ok, flagged, unsupported)."""
    t = {}
    for q in queries:
        r = results.get(q["id"])
        if r is None:
            continue
        for key in ((q["lang"], q["class"]), ("*", q["class"])):
            s = t.setdefault(key, {"n": 0, "caught": 0, "iou_ok": 0, "flagged": 0, "unsupported": 0})
            s["n"] += 1
            s["flagged"] += bool(r["flagged"])
            s["unsupported"] += bool(r.get("unsupported"))
            if q.get("source"):
                caught = bool(r["flagged"]) and q["source"] in r.get("sources", [])
                s["caught"] += caught
                if q.get("first_line") is not None:
                    s["iou_ok"] += caught and (r.get("best_iou") or 0) >= 0.8
    return t


def cell(s, neg=False, iou=False):
    if not s or not s["n"]:
        return "-"
    return pct(s["flagged"] if neg else (s["iou_ok"] if iou else s["caught"]), s["n"])


def cmd_summary(peers, manifest):
    queries = read_jsonl(manifest)
    classes = [c for c in CLASSES if any(q["class"] == c for q in queries)]
    classes += sorted({q["class"] for q in queries} - set(CLASSES) - set(NEGATIVES))
    negs = [c for c in NEGATIVES if any(q["class"] == c for q in queries)]
    langs = sorted({q["lang"] for q in queries})
    is_emb = lambda c: c.startswith("embedded")

    tools = []  # (name, results, time, description)
    if os.path.exists(os.path.join(peers, "jscpd.jsonl")):
        info = {}
        if os.path.exists(os.path.join(peers, "jscpd.info.json")):
            info = json.load(open(os.path.join(peers, "jscpd.info.json")))
        tools.append(("jscpd", os.path.join(peers, "jscpd.jsonl"), read_time(os.path.join(peers, "jscpd.time")),
                      "jscpd %s, `%s`; flagged = a clone with a protected file" % (info.get("version", "?"), info.get("command", "?"))))
    stats_path = os.path.join(peers, "dolos-stats.json")
    if os.path.exists(stats_path):
        st = json.load(open(stats_path))
        tm = read_time(os.path.join(peers, "dolos.time"))
        for r in st["rules"]:
            what = ("Dolos pair similarity" if r["measure"] == "similarity" else "query coverage (query's fingerprints shared / all)")
            tools.append(("dolos-" + r["name"], os.path.join(peers, "dolos-%s.jsonl" % r["name"]), tm,
                          "Dolos (dolos-lib %s, defaults k=23 w=17); flagged = %s >= %g with some protected file (rule chosen by us)"
                          % (st["dolos_lib"], what, r["threshold"])))
    if not tools:
        raise SystemExit("summary: no tool results in %s" % peers)
    dolos_failed = {}
    if os.path.exists(stats_path):
        for lang, ls in st["languages"].items():
            k = len(ls.get("failed_protected", [])) + len(ls.get("failed_queries", []))
            if k:
                dolos_failed[lang] = (len(ls.get("failed_protected", [])), len(ls.get("failed_queries", [])))

    tallies = {}
    for name, path, _, _ in tools:
        results = {r["id"]: r for r in read_jsonl(path)}
        missing = sum(1 for q in queries if q["id"] not in results)
        if missing:
            print("> %s: %d of the %d queries have no result line and are left out\n" % (name, missing, len(queries)))
        tallies[name] = tally(queries, results)

    n_total = len(queries)
    print("## Peer tools on the code-copy suite (%d queries, %d languages)\n" % (n_total, len(langs)))
    for name, _, _, desc in tools:
        print("- **%s**: %s" % (name, desc))
    print()
    print("Recall = flagged with the true source named; embedded also with best line IoU >= 0.8 of the "
          "true source's matched lines. novel / short: rate of queries flagged at all (false flags).\n")
    print("| class | n | " + " | ".join(t[0] for t in tools) + " |")
    print("|---|---:|" + "---:|" * len(tools))
    for c in classes:
        n = tallies[tools[0][0]].get(("*", c), {}).get("n", 0)
        print("| %s | %d | %s |" % (c, n, " | ".join(cell(tallies[t[0]].get(("*", c))) for t in tools)))
        if is_emb(c):
            print("| %s, IoU >= 0.8 | %d | %s |" % (c, n, " | ".join(cell(tallies[t[0]].get(("*", c)), iou=True) for t in tools)))
    # All copies together (embedded counted without the IoU condition).
    row = []
    for t in tools:
        k = sum(tallies[t[0]].get(("*", c), {}).get("caught", 0) for c in classes)
        n = sum(tallies[t[0]].get(("*", c), {}).get("n", 0) for c in classes)
        row.append(pct(k, n))
    n_pos = sum(tallies[tools[0][0]].get(("*", c), {}).get("n", 0) for c in classes)
    print("| all copies | %d | %s |" % (n_pos, " | ".join(row)))
    for c in negs:
        n = tallies[tools[0][0]].get(("*", c), {}).get("n", 0)
        print("| %s: false flags | %d | %s |" % (c, n, " | ".join(cell(tallies[t[0]].get(("*", c)), neg=True) for t in tools)))
    print()
    print("| resources | " + " | ".join(t[0] for t in tools) + " |")
    print("|---|" + "---:|" * len(tools))
    fmt = lambda tm, k, f: (f % tm[k]) if tm else "-"
    print("| wall time | " + " | ".join(fmt(t[2], "wall_s", "%.1f s") for t in tools) + " |")
    print("| CPU time (user+sys) | " + " | ".join(fmt(t[2], "cpu_s", "%.1f s") for t in tools) + " |")
    print("| peak memory (max RSS) | " + " | ".join(fmt(t[2], "rss_mib", "%.0f MiB") for t in tools) + " |")
    print("| exit status | " + " | ".join(fmt(t[2], "exit", "%s") for t in tools) + " |")
    print("\n(The Dolos rules share one run: its time and memory are those of that run.)\n")

    for name, _, _, _ in tools:
        t = tallies[name]
        print("### %s by language\n" % name)
        cols = []
        for c in classes:
            cols.append((c, False, False))
            if is_emb(c):
                cols.append((c + " IoU>=0.8", c, True))
        cols += [(c + " false flags", c, "neg") for c in negs]
        print("| language | " + " | ".join(c[0] for c in cols) + " |")
        print("|---|" + "---:|" * len(cols))
        for lang in langs:
            cells = []
            for label, base, mode in cols:
                s = t.get((lang, base or label))
                cells.append(cell(s, neg=(mode == "neg"), iou=(mode is True)))
            unsup = any(t.get((lang, c), {}).get("unsupported") for c in classes + negs)
            print("| %s%s | %s |" % (lang, " (no parser: never flags)" if unsup else "", " | ".join(cells)))
        print()
        if name.startswith("dolos") and dolos_failed:
            print("Dolos's tokenizer failed on (left out, such queries count as not flagged): %s\n" % "; ".join(
                "%s %d protected files, %d queries" % (l, p, q) for l, (p, q) in sorted(dolos_failed.items())))


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    {"sample": cmd_sample, "jscpd": cmd_jscpd, "summary": cmd_summary}[cmd](*args)


if __name__ == "__main__":
    main()
