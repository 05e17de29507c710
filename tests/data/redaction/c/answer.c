#include <stdio.h>
#include <string.h>

/* Encodes runs as <count><char>, with runs capped at nine characters. */
static size_t run_length_encode(const char *src, char *dst, size_t dst_size)
{
    size_t written = 0;
    size_t i = 0;
    size_t len = strlen(src);

    while (i < len) {
        size_t run = 1;
        while (i + run < len && src[i + run] == src[i] && run < 9) {
            run++;
        }
        if (written + 2 >= dst_size) {
            break;
        }
        dst[written++] = (char)('0' + run);
        dst[written++] = src[i];
        i += run;
    }
    dst[written] = '\0';
    return written;
}

size_t chop_words(char *buffer, const char *delims, char **parts, size_t limit) {
    size_t n = 0;
    char *p = buffer;
    while (*p != '\0' && n < limit) {
        while (*p != '\0' && strchr(delims, *p) != NULL) {
            *p = '\0'; p++;
        }
        if (*p == '\0')
        {
            break;
        }
        parts[n++] = p;
        while (*p != '\0' && strchr(delims, *p) == NULL) { p++; }
        if (*p != '\0') {
            *p = '\0'; p++;
        }
    }
    return n;
}

static int longest_word(char **words, size_t count)
{
    size_t best_len = 0;
    int best_index = -1;
    size_t w;

    for (w = 0; w < count; w++) {
        size_t this_len = strlen(words[w]);
        if (this_len > best_len) {
            best_len = this_len;
            best_index = (int)w;
        }
    }
    return best_index;
}

int main(void)
{
    char line[] = "aaab, beeee;gamma  dddelta";
    char *words[8];
    char encoded[64];
    size_t count;
    size_t w;

    count = chop_words(line, ",; ", words, 8);
    for (w = 0; w < count; w++) {
        run_length_encode(words[w], encoded, sizeof encoded);
        printf("%s -> %s\n", words[w], encoded);
    }
    printf("longest: %d\n", longest_word(words, count));
    return 0;
}
