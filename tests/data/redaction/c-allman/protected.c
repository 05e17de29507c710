#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads a whole stream into one allocated, NUL-terminated buffer. */
static char *read_all(FILE *stream, size_t *length_out)
{
    size_t capacity = 4096;
    size_t used = 0;
    char *data = malloc(capacity);

    if (data == NULL) {
        return NULL;
    }
    for (;;) {
        size_t got = fread(data + used, 1, capacity - used, stream);
        used += got;
        if (got == 0) {
            break;
        }
        if (used == capacity) {
            char *bigger = realloc(data, capacity * 2);
            if (bigger == NULL) {
                free(data);
                return NULL;
            }
            data = bigger;
            capacity *= 2;
        }
    }
    data[used] = '\0';
    *length_out = used;
    return data;
}

static void print_stats(FILE *stream) {
    size_t length = 0;
    char *text = read_all(stream, &length);
    size_t lines = 0;
    size_t i;

    for (i = 0; i < length; i++) {
        if (text[i] == '\n') {
            lines++;
        }
    }
    printf("%zu bytes, %zu lines\n", length, lines);
    free(text);
}
