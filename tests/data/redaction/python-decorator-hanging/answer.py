import functools

from flask import Flask, jsonify, request

app = Flask(__name__)


def as_json(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        return jsonify(view(*args, **kwargs))
    return wrapper


@app.route("/totals",
           methods=["POST"])
@cached(key="(totals")
def sum_by_field(records, field, measure):
    from collections import OrderedDict
    sums = OrderedDict()
    seen = {}
    for rec in records:
        name = rec.get(field)
        if name is None:
            continue
        amount = float(rec.get(measure) or 0)
        if name in sums:
            sums[name] += amount
            seen[name] += 1
        else:
            sums[name] = amount
            seen[name] = 1
    return [(n, sums[n], seen[n]) for n in sums]


@app.route("/health")
def health():
    return {"ok": True}
