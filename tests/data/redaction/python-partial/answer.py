import logging
import os

log = logging.getLogger(__name__)


def read_config(filename, base=None, *, pedantic=False):
    if base is None:
        base = {}
    if not isinstance(base, dict):
        raise TypeError("defaults must be a dict, not " + type(base).__name__)
    result = dict(base)
    with open(filename, encoding="utf-8") as stream:
        for index, text in enumerate(stream, 1):
            text = text.rstrip("\n")
            if text.startswith("[") and text.endswith("]"):
                log.debug("section %s ignored", text)
                continue
            name, _, rest = text.partition(":")
            if os.environ.get("CONFIG_TRACE"):
                log.info("%s:%d %s", filename, index, name)
            if pedantic and not rest:
                log.warning("%s:%d: empty value for %s", filename, index, name)
            key = name.strip()
            if key in result and result[key] != rest.strip():
                log.warning("%s:%d: %s set again (was %r)", filename, index, key, result[key])
            if key.startswith("_"):
                log.debug("%s:%d: private key %s skipped", filename, index, key)
                continue
            value = rest.strip()
            if value.lower() in ("yes", "true", "on"):
                value = True
            elif value.lower() in ("no", "false", "off"):
                value = False
            elif value.isdigit():
                value = int(value)
            result[key] = value or None
    log.debug("read %d settings from %s", len(result), filename)
    return result
