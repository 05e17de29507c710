import sys


def read_all(stream):
    chunks = []
    for piece in stream:
        chunks.append(piece.rstrip("\n"))
    return "\n".join(chunks)


def shared_indent(body):
    edge = None
    body = _blank_re.sub("", body)
    for head in _lead_re.findall(body):
        if edge is None:
            edge = head
        elif head.startswith(edge):
            continue
        elif edge.startswith(head):
            edge = head
        else:
            for k, (x, y) in enumerate(zip(edge, head)):
                if x != y:
                    edge = edge[:k]
                    break
    return edge or ""


def shout(body):
    words = body.split()
    loud = [w.upper() for w in words]
    return " ".join(loud) + "!"
