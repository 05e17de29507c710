import re
import sys

settings = read_settings()
_split_words = re.compile(r"(\s+|[^\s\w]*\w+[^0-9\W]-(?=\w+[^0-9\W]))")
_trailing_space = re.compile(r"[ \t]+$", re.MULTILINE)
_leading_space = re.compile(r"(^[ \t]*)(?:[^ \t\n])", re.MULTILINE)
_sentence_end = re.compile(r"[a-z][\.\!\?][\"\']?\Z")
_blank_lines = re.compile(r"\n\s*\n")


def main(argv):
    for path in argv[1:]:
        with open(path) as f:
            sys.stdout.write(_trailing_space.sub("", f.read()))
