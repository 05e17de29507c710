"""Small helpers for laying out plain text."""

import re

_blank_re = re.compile(r"^[ \t]+$", re.MULTILINE)
_lead_re = re.compile(r"(^[ \t]*)(?:[^ \t\n])", re.MULTILINE)


def common_margin(text):
    """Return the whitespace every non-blank line of `text` starts with."""
    margin = None
    text = _blank_re.sub("", text)
    for lead in _lead_re.findall(text):
        if margin is None:
            margin = lead
        elif lead.startswith(margin):
            continue
        elif margin.startswith(lead):
            margin = lead
        else:
            for pos, (a, b) in enumerate(zip(margin, lead)):
                if a != b:
                    margin = margin[:pos]
                    break
    return margin or ""


def shift_lines(text, prefix, keep=None):
    """Put `prefix` before each line of `text` that `keep` accepts."""
    if keep is None:
        def keep(line):
            return line.strip() != ""
    out = []
    for line in text.splitlines(True):
        out.append(prefix + line if keep(line) else line)
    return "".join(out)
