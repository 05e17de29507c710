import math


def describe_size(n, suffix="B", *, iec=False, precision=1):
    base = 1024 if iec else 1000
    if n < 0:
        raise ValueError("a size cannot be negative: %r" % (n,))
    if n < base:
        return "%d %s" % (n, suffix)
    elif n < base * base and \
            not iec:
        return "%.*f k%s" % (precision, n / base, suffix)
    elif n < base * base:
        return "%.*f Ki%s" % (precision, n / base, suffix)
    else:
        exponent = min(int(math.log(n, base)), 8)
        prefixes = ["", "k", "M", "G", "T", "P", "E", "Z", "Y"]
        prefix = prefixes[exponent]
        if iec and prefix:
            prefix = prefix.upper() + "i"
        scaled = n / (base ** exponent)
        if scaled >= 100:
            text = "%d" % round(scaled)
        elif scaled >= 10:
            text = "%.*f" % (max(precision - 1, 0), scaled)
        else:
            text = "%.*f" % (precision, scaled)
        while text.endswith("0") and "." in text:
            text = text[:-1]
        if text.endswith("."):
            text = text[:-1]
        return "%s %s%s" % (text, prefix, suffix)
