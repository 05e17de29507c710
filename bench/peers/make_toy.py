#!/usr/bin/env python3
"""A small fake suite in the peers format, to test install.sh / run.sh end to end.

    bench/peers/make_toy.py WORK [CORPUS=/tmp/doppel-code-corpus] [--langs=python,go,...]
                            [--per-class=N] [--all-protected]

Writes WORK/peers/{protected/<lang>/, queries/, manifest.jsonl}: per language 3 protected files
from CORPUS/<lang>/ and N (default 1) queries of each class (verbatim, renamed, reformatted,
renamed+reformatted, embedded 10-30 lines, novel, short), cut as line ranges from those files and
(novel, short, the code around embedded copies) from a held-out one (the
real suite cuts whole functions). --all-protected protects every file of CORPUS/<lang>/ but a
twentieth held out for the novel code (a scale test). c_sharp, absent from the corpus, gets small
made-up files. Deterministic; standard library only.
"""
import json
import os
import re
import shutil
import sys

EXT = {"python": "py", "javascript": "js", "typescript": "ts", "tsx": "tsx", "java": "java", "c": "c",
       "cpp": "cc", "go": "go", "rust": "rs", "ruby": "rb", "c_sharp": "cs"}
KEYWORDS = set("""
and as assert async await break case catch class const continue def default defer del do elif else
end enum export extends false final for foreach from func function go if impl import in interface is
let loop match module mut new nil none not null of or package pass private protected public raise
return self static struct super switch this throw true try type typeof use var void while with yield
int long char float double bool boolean string str byte unsigned signed auto sizeof fn pub crate
begin rescue ensure unless until then elsif lambda proc require include namespace using object
except finally global nonlocal goto typedef extern register volatile inline template typename
virtual override readonly internal sealed abstract throws implements instanceof println printf
""".split())


def lines_of(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read().split("\n")


def rename(text):
    """Renames the identifiers that occur at least twice (not keywords), consistently."""
    words = re.findall(r"\b[A-Za-z_][A-Za-z0-9_]*\b", text)
    counts = {}
    for w in words:
        if w.lower() not in KEYWORDS and len(w) > 1:
            counts[w] = counts.get(w, 0) + 1
    names = sorted((w for w, c in counts.items() if c >= 2), key=lambda w: (-counts[w], w))[:12]
    mapping = {w: "zq%d_%s" % (i, w[::-1].lower()) for i, w in enumerate(names)}
    return re.sub(r"\b[A-Za-z_][A-Za-z0-9_]*\b", lambda m: mapping.get(m.group(0), m.group(0)), text)


def reformat(text, lang):
    """Collapses runs of spaces and adds a blank line after every third line; keeps indentation
    for python (its layout is syntax)."""
    out = []
    for i, line in enumerate(text.split("\n")):
        if lang != "python":
            line = line.strip()
        indent = line[: len(line) - len(line.lstrip())]
        out.append(indent + re.sub(r"[ \t]+", " ", line.strip()))
        if i % 3 == 2:
            out.append("")
    return "\n".join(out)


CS_FILES = {
    "Inventory.cs": """using System;
using System.Collections.Generic;
using System.Linq;

namespace Shop
{
    public class Inventory
    {
        private readonly Dictionary<string, int> _stock = new Dictionary<string, int>();
        private readonly List<string> _log = new List<string>();

        public void Add(string sku, int count)
        {
            if (string.IsNullOrEmpty(sku)) throw new ArgumentException("sku");
            if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count));
            _stock.TryGetValue(sku, out var have);
            _stock[sku] = have + count;
            _log.Add($"add {sku} {count}");
        }

        public bool Remove(string sku, int count)
        {
            if (!_stock.TryGetValue(sku, out var have) || have < count) return false;
            if (have == count) _stock.Remove(sku); else _stock[sku] = have - count;
            _log.Add($"remove {sku} {count}");
            return true;
        }

        public IEnumerable<KeyValuePair<string, int>> LowStock(int threshold)
        {
            foreach (var kv in _stock.OrderBy(k => k.Value).ThenBy(k => k.Key))
            {
                if (kv.Value > threshold) yield break;
                yield return kv;
            }
        }

        public int Total() => _stock.Values.Sum();

        public string Report()
        {
            var lines = new List<string>();
            foreach (var kv in _stock.OrderBy(k => k.Key))
            {
                lines.Add(kv.Key.PadRight(12) + kv.Value.ToString().PadLeft(6));
            }
            lines.Add(new string('-', 18));
            lines.Add("total".PadRight(12) + Total().ToString().PadLeft(6));
            return string.Join(Environment.NewLine, lines);
        }
    }
}
""",
    "Matrix.cs": """using System;

namespace Numerics
{
    public sealed class Matrix
    {
        private readonly double[,] _a;
        public int Rows { get; }
        public int Cols { get; }

        public Matrix(int rows, int cols)
        {
            Rows = rows;
            Cols = cols;
            _a = new double[rows, cols];
        }

        public double this[int i, int j]
        {
            get => _a[i, j];
            set => _a[i, j] = value;
        }

        public static Matrix Multiply(Matrix x, Matrix y)
        {
            if (x.Cols != y.Rows) throw new InvalidOperationException("shape mismatch");
            var r = new Matrix(x.Rows, y.Cols);
            for (int i = 0; i < x.Rows; i++)
            {
                for (int k = 0; k < x.Cols; k++)
                {
                    double v = x[i, k];
                    if (v == 0) continue;
                    for (int j = 0; j < y.Cols; j++)
                    {
                        r[i, j] += v * y[k, j];
                    }
                }
            }
            return r;
        }

        public Matrix Transpose()
        {
            var t = new Matrix(Cols, Rows);
            for (int i = 0; i < Rows; i++)
                for (int j = 0; j < Cols; j++)
                    t[j, i] = _a[i, j];
            return t;
        }
    }
}
""",
    "Tokenizer.cs": """using System;
using System.Collections.Generic;
using System.Text;

namespace Parsing
{
    public enum Kind { Number, Ident, Op, End }

    public readonly struct Token
    {
        public readonly Kind Kind;
        public readonly string Text;
        public Token(Kind kind, string text) { Kind = kind; Text = text; }
        public override string ToString() => $"{Kind}:{Text}";
    }

    public static class Lexer
    {
        public static List<Token> Lex(string src)
        {
            var toks = new List<Token>();
            int i = 0;
            while (i < src.Length)
            {
                char c = src[i];
                if (char.IsWhiteSpace(c)) { i++; continue; }
                if (char.IsDigit(c))
                {
                    var sb = new StringBuilder();
                    while (i < src.Length && (char.IsDigit(src[i]) || src[i] == '.')) sb.Append(src[i++]);
                    toks.Add(new Token(Kind.Number, sb.ToString()));
                    continue;
                }
                if (char.IsLetter(c) || c == '_')
                {
                    int start = i;
                    while (i < src.Length && (char.IsLetterOrDigit(src[i]) || src[i] == '_')) i++;
                    toks.Add(new Token(Kind.Ident, src.Substring(start, i - start)));
                    continue;
                }
                toks.Add(new Token(Kind.Op, c.ToString()));
                i++;
            }
            toks.Add(new Token(Kind.End, ""));
            return toks;
        }
    }
}
""",
    "Novel.cs": """using System;
using System.IO;

namespace Tools
{
    public static class Checksum
    {
        public static uint Adler32(Stream s)
        {
            const uint Mod = 65521;
            uint a = 1, b = 0;
            var buf = new byte[8192];
            int n;
            while ((n = s.Read(buf, 0, buf.Length)) > 0)
            {
                for (int i = 0; i < n; i++)
                {
                    a = (a + buf[i]) % Mod;
                    b = (b + a) % Mod;
                }
            }
            return (b << 16) | a;
        }

        public static string Hex(uint v)
        {
            var chars = new char[8];
            for (int i = 7; i >= 0; i--)
            {
                int d = (int)(v & 0xF);
                chars[i] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
                v >>= 4;
            }
            return new string(chars);
        }

        public static void Main(string[] args)
        {
            foreach (var path in args)
            {
                using var f = File.OpenRead(path);
                Console.WriteLine(Hex(Adler32(f)) + "  " + path);
            }
        }
    }
}
""",
}


def usable_files(corpus, lang):
    d = os.path.join(corpus, lang)
    good = []
    for n in sorted(os.listdir(d)):
        p = os.path.join(d, n)
        if os.path.getsize(p) > 200_000:
            continue
        k = len(lines_of(p))
        if 150 <= k <= 2000:
            good.append(p)
    if len(good) < 4:
        raise SystemExit("make_toy: too few usable files in %s" % d)
    return good


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    langs = list(EXT)
    per_class, all_protected = 1, False
    for a in sys.argv[1:]:
        if a.startswith("--langs="):
            langs = a.split("=", 1)[1].split(",")
        elif a.startswith("--per-class="):
            per_class = int(a.split("=", 1)[1])
        elif a == "--all-protected":
            all_protected = True
        elif a.startswith("--"):
            raise SystemExit(__doc__)
    if not args:
        raise SystemExit(__doc__)
    work = args[0]
    corpus = args[1] if len(args) > 1 else "/tmp/doppel-code-corpus"
    peers = os.path.join(work, "peers")
    shutil.rmtree(peers, ignore_errors=True)
    os.makedirs(os.path.join(peers, "queries"))
    manifest = []

    def query(lang, cls, code, source=None, span=None):
        qid = str(len(manifest))
        rel = "queries/%s.%s" % (qid, EXT[lang])
        with open(os.path.join(peers, rel), "w", encoding="utf-8") as f:
            f.write(code)
        rec = {"id": qid, "file": rel, "lang": lang, "class": cls}
        if source:
            rec["source"] = source
        if span:
            rec["first_line"], rec["last_line"] = span
        manifest.append(rec)

    for lang in langs:
        pdir = os.path.join(peers, "protected", lang)
        os.makedirs(pdir)
        if lang == "c_sharp":
            prot = []
            for name, text in CS_FILES.items():
                if name == "Novel.cs":
                    novels = [text.split("\n")]
                    continue
                with open(os.path.join(pdir, name), "w", encoding="utf-8") as f:
                    f.write(text)
                prot.append(("protected/%s/%s" % (lang, name), text.split("\n")))

            def chunk(ls, n):  # small files: the middle
                s = max(0, len(ls) // 2 - n // 2)
                return "\n".join(ls[s:s + n]) + "\n"
        else:
            good = usable_files(corpus, lang)
            if all_protected:
                d = os.path.join(corpus, lang)
                allf = sorted(os.path.join(d, n) for n in os.listdir(d))
                held = set(good[::20])
                prot_paths = [p for p in allf if p not in held]
                prot_paths.sort(key=lambda p: p not in good)  # usable ones first: queries come from them
                novel_paths = sorted(held)
            else:
                step = len(good) // 4
                prot_paths, novel_paths = [good[0], good[step], good[2 * step]], [good[3 * step]]
            prot = []
            for p in prot_paths:
                shutil.copy(p, pdir)
                prot.append(("protected/%s/%s" % (lang, os.path.basename(p)),
                             lines_of(p) if p in good else None))
            prot = [x for x in prot if x[1] is not None]
            novels = [lines_of(p) for p in novel_paths]

            def chunk(ls, n):
                s = len(ls) // 3
                return "\n".join(ls[s:s + n]) + "\n"
        for k in range(per_class):
            src0, l0 = prot[(3 * k) % len(prot)]
            src1, l1 = prot[(3 * k + 1) % len(prot)]
            src2, l2 = prot[(3 * k + 2) % len(prot)]
            novel = novels[k % len(novels)]
            query(lang, "verbatim", chunk(l0, 30), src0)
            query(lang, "renamed", rename(chunk(l1, 30)), src1)
            query(lang, "reformatted", reformat(chunk(l2, 30), lang), src2)
            query(lang, "renamed+reformatted", reformat(rename(chunk(l0, 30)), lang), src0)
            before = "\n".join(novel[:12]) + "\n"
            copied = chunk(l1, 15)
            after = "\n".join(novel[12:24]) + "\n"
            query(lang, "embedded 10-30 lines", before + copied + after, src1, (13, 12 + 15))
            query(lang, "novel", chunk(novel, 30))
            query(lang, "short", chunk(novel, 3))

    with open(os.path.join(peers, "manifest.jsonl"), "w") as f:
        for rec in manifest:
            f.write(json.dumps(rec) + "\n")
    print("make_toy: %d queries, %d languages in %s" % (len(manifest), len(langs), peers))


if __name__ == "__main__":
    main()
