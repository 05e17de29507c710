def render(value, *, skip=False, plain=True, cycles=True,
           special=True, ordered=False, width=None,
           sep=None, hook=None, depth=64):
    if depth <= 0:
        raise ValueError("depth must be positive")
    parts = []
    for key in sorted(value) if ordered else value:
        parts.append(f"{key}={value[key]!r}")
    return (sep or ", ").join(parts)


print(render({"b": 1, "a": 2}, ordered=True))
