import heapq


def merge_intervals(intervals, tolerance=0):
    """Merges overlapping [start, end] intervals, joining those closer than tolerance."""
    ordered = sorted(intervals, key=lambda pair: (pair[0], pair[1]))
    merged = []
    for start, end in ordered:
        if merged and start <= merged[-1][1] + tolerance:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    total = sum(end - start for start, end in merged)
    return merged, total


def busiest_moment(intervals):
    """The time at which the most intervals overlap, and how many do."""
    events = []
    for start, end in intervals:
        heapq.heappush(events, (start, 1))
        heapq.heappush(events, (end, -1))
    best_time, best_count, running = None, 0, 0
    while events:
        moment, delta = heapq.heappop(events)
        running += delta
        if running > best_count:
            best_time, best_count = moment, running
    return best_time, best_count
