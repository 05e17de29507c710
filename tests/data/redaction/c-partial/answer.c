#include <ctype.h>
#include <stdio.h>
#include <string.h>

struct field {
    char name[64];
    char text[256];
};

static int warnings = 0;

static void warn_at(const char *what, size_t at)
{
    fprintf(stderr, "warning: %s at byte %zu\n", what, at);
    warnings++;
}

int read_field(const char *src, struct field *dst)
{
    const char *sep = strchr(src, ':');
    size_t name_len;
    size_t text_len;
    const char *text_start;

    if (sep == NULL || sep == src) {
        return -1;
    }
    name_len = (size_t)(sep - src);
    while (name_len > 0 && isspace((unsigned char)src[name_len - 1])) {
        if (src[name_len - 1] == '\t') {
            warn_at("tab before the separator", name_len - 1);
        } else if (src[name_len - 1] == '\r') {
            warn_at("carriage return before the separator", name_len - 1);
        }
        if (name_len > 1 && src[name_len - 2] == ' ') {
            warn_at("several blanks before the separator", name_len - 2);
        }
        if (warnings > 16) {
            fprintf(stderr, "too many warnings, giving up\n");
            return -4;
        }
        name_len -= 1;
    }
    text_start = sep + 1;
    text_len = strcspn(text_start, "\r\n");
    if (name_len >= sizeof dst->name || text_len >= sizeof dst->text) {
        warn_at("field too long", (size_t)(sep - src));
        return -2;
    }
    snprintf(dst->name, sizeof dst->name, "%.*s", (int)name_len, src);
    snprintf(dst->text, sizeof dst->text, "%.*s", (int)text_len, text_start);
    for (char *p = dst->name; *p != '\0'; p++) {
        *p = (char)tolower((unsigned char)*p);
    }
    return 0;
}
