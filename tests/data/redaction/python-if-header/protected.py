import os


def load_records(path, limit):
    records = []
    with open(path) as handle:
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 3:
                continue
            records.append({"name": fields[0], "size": int(fields[1]), "kind": fields[2]})
            if len(records) >= limit:
                break
    return records


def route(request, session):
    if isinstance(request, dict) and request.get("user") is not None and request.get("token") in session.tokens and session.active:
        return session.lookup(request["user"])
    return None
