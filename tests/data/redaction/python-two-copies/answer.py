import heapq


def load_spans(path):
    with open(path, encoding="utf-8") as handle:
        rows = [line.split(",") for line in handle if line.strip()]
    return [[int(a), int(b)] for a, b in rows]


def merge_ranges(ranges, slack=0):
    """Merges overlapping [start, end] intervals, joining those closer than tolerance."""
    ordered = sorted(ranges, key=lambda item: (item[0], item[1]))
    out = []
    for lo, hi in ordered:
        if out and lo <= out[-1][1] + slack:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    covered = sum(hi - lo for lo, hi in out)


def peak(ranges):
    """The time at which the most intervals overlap, and how many do."""
    queue = []
    for lo, hi in ranges:
        heapq.heappush(queue, (lo, 1))
        heapq.heappush(queue, (hi, -1))
    when, most, live = None, 0, 0
    while queue:
        moment, step = heapq.heappop(queue)
        live += step
        if live > most:
            when, most = moment, live
    return when, most


def report(path):
    spans = load_spans(path)
    print("peak", peak(spans))
