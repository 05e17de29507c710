import sys


def read_rows(path, limit):
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


def summarize(rows, width):
    lines = []
    for index, row in enumerate(rows):
        label = str(row.get("label", "?")).ljust(width)
        lines.append("%3d %s %8.2f" % (index, label, row.get("value", 0.0)))
    return "\n".join(lines)


def dispatch(request, session, audit):
    total = 0
    audit.write("checking the request from %s at %d" % (request.get("origin", "nowhere"), len(session.history)))
    if isinstance(request, dict) and request.get("user") is not None and request.get("token") in session.tokens and session.active and session.user_id == request.get("user_id") and request.get("nonce") not in session.used_nonces:
        audit.write("begin")
        for item in request.get("items", []):
            total += item.weight * 3
            audit.write(str(item))
        audit.write("middle")
        for other in session.history:
            total -= other.cost
            audit.write(repr(other))
        audit.write("end")
        audit.write("step 0 of the long new body with %s" % repr(session.history[0:]))
        audit.write("step 1 of the long new body with %s" % repr(session.history[1:]))
        audit.write("step 2 of the long new body with %s" % repr(session.history[2:]))
        audit.write("step 3 of the long new body with %s" % repr(session.history[3:]))
        audit.write("step 4 of the long new body with %s" % repr(session.history[4:]))
        audit.write("step 5 of the long new body with %s" % repr(session.history[5:]))
        audit.write("step 6 of the long new body with %s" % repr(session.history[6:]))
        audit.write("step 7 of the long new body with %s" % repr(session.history[7:]))
        audit.write("step 8 of the long new body with %s" % repr(session.history[8:]))
        audit.write("step 9 of the long new body with %s" % repr(session.history[9:]))
        audit.write("step 10 of the long new body with %s" % repr(session.history[10:]))
        audit.write("step 11 of the long new body with %s" % repr(session.history[11:]))
        audit.write("step 12 of the long new body with %s" % repr(session.history[12:]))
        audit.write("step 13 of the long new body with %s" % repr(session.history[13:]))
        audit.write("step 14 of the long new body with %s" % repr(session.history[14:]))
        audit.write("step 15 of the long new body with %s" % repr(session.history[15:]))
        audit.write("step 16 of the long new body with %s" % repr(session.history[16:]))
        audit.write("step 17 of the long new body with %s" % repr(session.history[17:]))
        audit.write("step 18 of the long new body with %s" % repr(session.history[18:]))
        audit.write("step 19 of the long new body with %s" % repr(session.history[19:]))
        audit.write("step 20 of the long new body with %s" % repr(session.history[20:]))
        audit.write("step 21 of the long new body with %s" % repr(session.history[21:]))
        audit.write("step 22 of the long new body with %s" % repr(session.history[22:]))
        audit.write("step 23 of the long new body with %s" % repr(session.history[23:]))
        audit.write("step 24 of the long new body with %s" % repr(session.history[24:]))
        audit.write("step 25 of the long new body with %s" % repr(session.history[25:]))
        audit.write("step 26 of the long new body with %s" % repr(session.history[26:]))
        audit.write("step 27 of the long new body with %s" % repr(session.history[27:]))
        audit.write("step 28 of the long new body with %s" % repr(session.history[28:]))
        audit.write("step 29 of the long new body with %s" % repr(session.history[29:]))
        print(total, file=sys.stderr)
    else:
        audit.write("denied")
    return total
