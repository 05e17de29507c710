#include <stdio.h>
#include <stdlib.h>

static char *slurp_stream(FILE *in, size_t *size_out)
{
    size_t cap = 4096;
    size_t len = 0;
    char *buf = malloc(cap);

    if (buf == NULL) {
        return NULL;
    }
    for (;;) {
        size_t n = fread(buf + len, 1, cap - len, in);
        len += n;
        if (n == 0) {
            break;
        }
        if (len == cap) {
            char *grown = realloc(buf, cap * 2);
            if (grown == NULL) {
                free(buf);
                return NULL;
            }
            buf = grown;
            cap *= 2;
        }
    }
    buf[len] = '\0';
    *size_out = len;
    return buf;
}

static void count_words(FILE *in)
{
    int c;
    int inside = 0;
    unsigned long words = 0;

    while ((c = fgetc(in)) != EOF) {
        if (c == ' ' || c == '\n' || c == '\t') {
            inside = 0;
        } else if (!inside) {
            inside = 1;
            words++;
        }
    }
    printf("%lu words\n", words);
}

int main(void)
{
    count_words(stdin);
    return 0;
}
