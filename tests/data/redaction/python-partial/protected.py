"""Reading a simple key=value settings file."""


def load_settings(path, defaults=None, *, strict=False):
    if defaults is None:
        defaults = {}
    if not isinstance(defaults, dict):
        raise TypeError("defaults must be a dict, not " + type(defaults).__name__)
    settings = dict(defaults)
    with open(path, encoding="utf-8") as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            key, sep, value = line.partition("=")
            if not sep:
                if strict:
                    raise ValueError("%s:%d: no '=' in %r" % (path, number, raw))
                continue
            settings[key.strip().lower()] = value.strip()
    return settings


def merged(*layers):
    out = {}
    for layer in layers:
        out.update(layer)
    return out
