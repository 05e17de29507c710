#include <string.h>
#include <stddef.h>

struct header { int count; int flags; char name[32]; };

int count_fields(const char *buf, size_t len, struct header *out) {
    int fields = 0;
    for (size_t i = 0; i < len; i++) {
        fields += buf[i] == ';';
    }
    out->count = fields;
    out->flags = fields > 3;
    return fields;
}

int parse_header(const char *buf, size_t len, struct header *out) {
    size_t pos = 0;
    int fields = 0;
    memset(out, 0, sizeof(*out));
    while (pos < len && buf[pos] != '\n') {
        if (buf[pos] == ';') {
            fields++;
            out->flags |= 1 << (fields & 7);
        } else if (fields == 0 && pos < sizeof(out->name) - 1) {
            out->name[pos] = buf[pos];
        }
        pos++;
    }
    out->count = fields;
    return fields > 0 ? (int)pos : -1;
}
