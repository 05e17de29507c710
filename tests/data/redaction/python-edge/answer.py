import logging
import re

log = logging.getLogger(__name__)
_split_words = re.compile(r"(\s+|[^\s\w]*\w+[^0-9\W]-(?=\w+[^0-9\W]))")
_trailing_space = re.compile(r"[ \t]+$", re.MULTILINE)
_leading_space = re.compile(r"(^[ \t]*)(?:[^ \t\n])", re.MULTILINE)
_sentence_end = re.compile(r"[a-z][\.\!\?][\"\']?\Z")
_blank_lines = re.compile(r"\n\s*\n")


def tidy(text):
    log.debug("tidying %d characters", len(text))
    paragraphs = [p.strip() for p in text.split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p)
