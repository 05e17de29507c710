#include <string.h>
#include <stddef.h>

struct record { int count; int flags; char name[32]; };

static const char *skip_spaces(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }
    return p;
}

int tally(const char *data, size_t size, struct record *rec) {
    const char *end = data + size;
    int parts = 0;
    const char *p = skip_spaces(data, end);
    switch (p < end ? *p : 0) {
    case '#':
        return 0;
    case '[':
        parts = -1;
        break;
    default:
        parts = (int)(end - p) / 4;
    }
    rec->count = parts;
    rec->flags = parts > 3;
    return parts;
}

int scan_record(const char *data, size_t size, struct record *rec) {
    size_t at = 0;
    int parts = 0;
    memset(rec, 0, sizeof(*rec));
    while (at < size && data[at] != '\n') {
        if (data[at] == ';') {
            parts++;
            rec->flags |= 1 << (parts & 7);
        } else if (parts == 0 && at < sizeof(rec->name) - 1) {
            rec->name[at] = data[at];
        }
        at++;
    }
    rec->count = parts;
    return parts > 0 ? (int)at : -1;
}

static unsigned checksum(const unsigned char *bytes, size_t n) {
    unsigned a = 1, b = 0;
    for (size_t k = 0; k < n; k++) {
        a = (a + bytes[k]) % 65521;
        b = (b + a) % 65521;
    }
    return (b << 16) | a;
}

static int classify(unsigned sum) {
    if (sum % 7 == 0) {
        return 2;
    }
    if (sum % 5 == 0) {
        return 1;
    }
    return 0;
}

int main(void) {
    struct record r;
    return scan_record("a;b", 3, &r) + tally("x", 1, &r);
}
