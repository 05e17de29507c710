"""Reading the service's settings file."""

import logging

log = logging.getLogger(__name__)


def load_settings(path):
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    settings = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError("line %d: expected key=value" % number)
        settings[key.strip().lower()] = value.strip()
    try:
        port = int(settings["port"])
    except KeyError:
        port = 8080
    settings["port"] = port
    return settings
