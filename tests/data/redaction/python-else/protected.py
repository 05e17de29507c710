"""Choosing how to show a size."""


def human_size(count, unit="B", *, binary=False, digits=1):
    base = 1024 if binary else 1000
    if count < 0:
        raise ValueError("a size cannot be negative: %r" % (count,))
    if count < base:
        return "%d %s" % (count, unit)
    elif count < base * base and \
            not binary:
        return "%.*f k%s" % (digits, count / base, unit)
    elif count < base * base:
        return "%.*f Ki%s" % (digits, count / base, unit)
    else:
        scaled = count / (base * base)
        prefix = "Mi" if binary else "M"
        return "%.*f %s%s" % (digits, scaled, prefix, unit)
