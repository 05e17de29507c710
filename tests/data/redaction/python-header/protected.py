import json


class Encoder:
    def __init__(self, *, skip_missing=False, ascii_only=True, detect_cycles=True,
                 allow_special=True, sort_fields=False, indent_width=None,
                 item_separator=None, fallback=None, max_depth=64):
        self.skip_missing = skip_missing
        self.ascii_only = ascii_only
        self.detect_cycles = detect_cycles
        self.allow_special = allow_special
        self.sort_fields = sort_fields
        self.indent_width = indent_width
        self.item_separator = item_separator or (", ", ": ")
        self.fallback = fallback
        self.max_depth = max_depth

    def encode(self, value):
        return json.dumps(value, sort_keys=self.sort_fields, indent=self.indent_width)
