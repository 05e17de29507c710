#!/usr/bin/env python3
"""Check grammars/languages/*.lang against the fetched grammars.

usage: check_tables.py GRAMMARS_DIR      (GRAMMARS_DIR = fetch.sh's OUT_DIR,
                                          e.g. build/grammars-src)

For every table it checks that:
  * the format is right: known keys, each at most once, required keys present, name = file name;
  * its package is in grammars.lock, and GRAMMARS_DIR/<package>/<source> has parser.c and
    node-types.json; parser.c defines tree_sitter_<name> (the entry point the generated
    table of grammars names) and has language ABI 13 or 14;
  * every node type it lists is a *named* node type of that grammar's node-types.json,
    appears in only one category, and identifiers / numbers are leaves (no children);
  * extensions start with '.', and no extension, file name or fence tag is claimed twice;
  * superset_of names other tables and never leads back to its own language.
Exits 1 with one line per problem, 0 with a one-line summary per language otherwise.
Standard library only.
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

REQUIRED = ["name", "package", "source", "extensions", "fences", "identifiers", "strings",
            "numbers", "comments", "line_comment"]
OPTIONAL = ["filenames", "string_content", "string_delimiters", "block_comment", "docstrings", "imports", "macro_definitions", "macro_constants", "string_concatenations", "string_interpolations",
            "snippet_open", "snippet_close", "block_start", "block_end", "block_start_line_first",
            "block_indented", "block_clauses", "block_loop_words", "block_loop_separators", "word_tokens",
            "lexer_leaves", "lexer_contextual", "lexer_fragments", "lexer_member_keywords", "lexer_signed_numbers", "lexer_imports",
            "lexer_imports_not_before", "lexer_imports_end_at_line", "decorator", "superset_of",
            "statements_end_with_semicolon", "format_string_names"]
BOOLEANS = ["block_indented", "lexer_signed_numbers", "lexer_imports_end_at_line", "statements_end_with_semicolon",
            "format_string_names"]
LISTS = ["extensions", "filenames", "fences", "identifiers", "strings", "string_content",
         "string_delimiters", "numbers", "comments", "block_comment", "docstrings", "imports", "macro_definitions", "macro_constants", "string_concatenations", "string_interpolations", "block_start",
         "block_end", "block_start_line_first", "block_clauses", "block_loop_words", "block_loop_separators", "word_tokens", "lexer_leaves", "lexer_contextual",
         "lexer_fragments", "lexer_member_keywords", "lexer_imports", "lexer_imports_not_before", "superset_of"]
NODE_KEYS = ["identifiers", "strings", "string_content", "string_delimiters", "numbers",
             "comments", "docstrings", "imports", "macro_definitions", "macro_constants", "string_concatenations",
             "string_interpolations"]
LEAF_KEYS = ["identifiers", "numbers"]


def parse_table(path, errors):
    table = {}
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.rstrip("\n").rstrip("\r")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            m = re.match(r"^([a-z_]+):(.*)$", line)
            if not m:
                errors.append(f"{path}:{lineno}: expected 'key: value', got: {line!r}")
                continue
            key, value = m.group(1), m.group(2).strip()
            if key not in REQUIRED and key not in OPTIONAL:
                errors.append(f"{path}:{lineno}: unknown key {key!r}")
                continue
            if key in table:
                errors.append(f"{path}:{lineno}: key {key!r} given twice")
                continue
            if key in BOOLEANS and value not in ("true", "false"):
                errors.append(f"{path}:{lineno}: {key!r} must be true or false, got {value!r}")
                continue
            if key == "block_comment" and len(value.split()) != 2:
                errors.append(f"{path}:{lineno}: 'block_comment' must be two words (open and close)")
                continue
            table[key] = value.split() if key in LISTS else value
    for key in REQUIRED:
        if not table.get(key):
            errors.append(f"{path}: required key {key!r} missing or empty")
    return table


def read_lock(path):
    packages = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                fields = line.split()
                packages[fields[0]] = fields[1] if len(fields) > 1 else "?"
    return packages


def node_types(path):
    """named type -> is_leaf, for every named node type (subtypes included)."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    named = {}
    for entry in data:
        if entry.get("named"):
            leaf = (not entry.get("children") and not entry.get("fields")
                    and "subtypes" not in entry)
            named[entry["type"]] = named.get(entry["type"], True) and leaf
    return named


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    grammars_dir = sys.argv[1]
    errors = []
    lock = read_lock(os.path.join(HERE, "grammars.lock"))
    tables_dir = os.path.join(HERE, "languages")
    files = sorted(f for f in os.listdir(tables_dir) if f.endswith(".lang"))
    if not files:
        errors.append(f"no *.lang tables in {tables_dir}")
    claimed = {}  # ("extension"|"filename"|"fence", value) -> table name
    names = []
    supersets = {}  # name -> its superset_of list
    used = set()  # packages the tables name
    summaries = []
    for fname in files:
        path = os.path.join(tables_dir, fname)
        t = parse_table(path, errors)
        name = t.get("name", "")
        if name != fname[:-len(".lang")]:
            errors.append(f"{path}: name {name!r} must equal the file name")
        names.append(name)
        supersets[name] = t.get("superset_of", [])
        package = t.get("package", "")
        used.add(package)
        if package not in lock:
            errors.append(f"{path}: package {package!r} is not in grammars.lock")
        src = os.path.join(grammars_dir, package, t.get("source", ""))
        nt_path = os.path.join(src, "node-types.json")
        parser = os.path.join(src, "parser.c")
        if not os.path.isfile(nt_path) or not os.path.isfile(parser):
            errors.append(f"{path}: {src} has no node-types.json/parser.c (fetched? right source?)")
            continue
        with open(parser, encoding="utf-8", errors="replace") as f:
            head = f.read(65536)
        m = re.search(r"^#define LANGUAGE_VERSION (\d+)", head, re.M)
        abi = int(m.group(1)) if m else None
        if abi not in (13, 14):
            errors.append(f"{path}: {parser} has language ABI {abi}; this runtime loads 13-14")
        with open(parser, encoding="utf-8", errors="replace") as f:
            f.seek(max(0, os.path.getsize(parser) - 65536))
            tail = f.read()
        if not re.search(r"\bconst TSLanguage \*tree_sitter_%s\s*\(" % re.escape(name), tail):
            errors.append(f"{path}: {parser} does not define tree_sitter_{name}()")

        types = node_types(nt_path)
        seen = {}
        for key in NODE_KEYS:
            for node in t.get(key, []):
                if node not in types:
                    errors.append(f"{path}: {key}: {node!r} is not a named node type of "
                                  f"{package}/{t.get('source')}")
                elif key in LEAF_KEYS and not types[node]:
                    errors.append(f"{path}: {key}: {node!r} has children; only leaves fit here")
                if node in seen and seen[node] != key:
                    errors.append(f"{path}: {node!r} listed under both {seen[node]} and {key}")
                seen[node] = key
        for ext in t.get("extensions", []):
            if not ext.startswith("."):
                errors.append(f"{path}: extension {ext!r} must start with '.'")
        for kind, key, fold in (("extension", "extensions", True), ("filename", "filenames", False),
                                ("fence tag", "fences", True)):
            for value in t.get(key, []):
                k = (kind, value.lower() if fold else value)
                if k in claimed and claimed[k] != name:
                    errors.append(f"{path}: {kind} {value!r} is also claimed by {claimed[k]}")
                claimed[k] = name
        if "snippet_close" in t and "snippet_open" not in t:
            errors.append(f"{path}: snippet_close without snippet_open")
        block = t.get("block_comment", [])
        if block and len(block) != 2:
            errors.append(f"{path}: block_comment must be 'OPEN CLOSE', got {' '.join(block)!r}")
        if t.get("lexer_signed_numbers", "false") not in ("true", "false"):
            errors.append(f"{path}: lexer_signed_numbers must be true or false, got {t['lexer_signed_numbers']!r}")
        if t.get("block_indented", "false") not in ("true", "false"):
            errors.append(f"{path}: block_indented must be true or false, got {t['block_indented']!r}")
        if t.get("block_indented") == "true" and not t.get("block_start"):
            errors.append(f"{path}: block_indented needs block_start (the token that ends an opening line)")
        if t.get("block_indented") == "true" and t.get("block_end"):
            errors.append(f"{path}: block_indented blocks close by indentation: block_end must be empty")
        if t.get("block_clauses") and t.get("block_indented") != "true":
            errors.append(f"{path}: block_clauses are the clauses of indented blocks: they need block_indented: true")
        if bool(t.get("block_loop_words")) != bool(t.get("block_loop_separators")):
            errors.append(f"{path}: block_loop_words and block_loop_separators go together")
        if " " in t.get("line_comment", "") or not t.get("line_comment"):
            errors.append(f"{path}: line_comment must be one token such as # or //")
        summaries.append(f"{name}: {package}@{lock.get(package, '?')} ABI {abi}, "
                         f"{sum(len(t.get(k, [])) for k in NODE_KEYS)} node types ok")

    # superset_of: names of other tables, never leading back to their own language.
    for name, smaller in sorted(supersets.items()):
        for other in smaller:
            if other not in supersets:
                errors.append(f"languages/{name}.lang: superset_of names {other!r}, which no table is")
        seen, todo = set(), list(smaller)
        while todo:
            other = todo.pop()
            if other == name:
                errors.append(f"languages/{name}.lang: superset_of leads back to {name!r}")
                break
            if other not in seen:
                seen.add(other)
                todo.extend(supersets.get(other, []))

    for package in sorted(set(lock) - used):
        errors.append(f"grammars.lock: {package} is used by no languages/*.lang table")

    if errors:
        for e in errors:
            print("check_tables: " + e, file=sys.stderr)
        print(f"check_tables: {len(errors)} problem(s)", file=sys.stderr)
        return 1
    for s in summaries:
        print("check_tables: " + s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
