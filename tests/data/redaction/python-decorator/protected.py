"""Grouping of records by key, with running totals."""

from collections import OrderedDict


def group_totals(rows, key_name, value_name):
    """Sum `value_name` over rows that share `key_name`, in first-seen order."""
    totals = OrderedDict()
    counts = {}
    for row in rows:
        key = row.get(key_name)
        if key is None:
            continue
        amount = float(row.get(value_name) or 0)
        if key in totals:
            totals[key] += amount
            counts[key] += 1
        else:
            totals[key] = amount
            counts[key] = 1
    return [(k, totals[k], counts[k]) for k in totals]


def top_keys(pairs, limit=3):
    ordered = sorted(pairs, key=lambda p: p[1], reverse=True)
    return [p[0] for p in ordered[:limit]]
