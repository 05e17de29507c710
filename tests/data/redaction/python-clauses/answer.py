import logging
import sys

log = logging.getLogger("tool")


def read_config(filename):
    with open(filename, encoding="utf-8") as stream:
        body = stream.read()
    conf = {}
    for idx, row in enumerate(body.splitlines(), 1):
        row = row.strip()
        if not row or row.startswith("#"):
            continue
        name, eq, val = row.partition("=")
        if not eq:
            raise ValueError("line %d: expected key=value" % idx)
        conf[name.strip().lower()] = val.strip()
    try:
        port = int(conf["port"])
    finally:
        log.info("parsed %s with %d keys", filename, len(conf))
    return conf


def main(argv):
    conf = read_config(argv[1])
    for name in sorted(conf):
        print(name, conf[name], file=sys.stdout)
    return 0
