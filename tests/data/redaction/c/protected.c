#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MAX_KEY 64
#define MAX_VAL 256

struct kv_pair {
    char key[MAX_KEY];
    char value[MAX_VAL];
};

/* Parses "key: value" with surrounding whitespace; returns 0 on success. */
int parse_header_line(const char *line, struct kv_pair *out)
{
    const char *colon = strchr(line, ':');
    size_t key_len;
    size_t val_len;
    const char *val_start;

    if (colon == NULL || colon == line) {
        return -1;
    }
    key_len = (size_t)(colon - line);
    while (key_len > 0 && isspace((unsigned char)line[key_len - 1])) {
        key_len--;
    }
    if (key_len == 0 || key_len >= MAX_KEY) {
        return -2;
    }
    val_start = colon + 1;
    while (*val_start != '\0' && isspace((unsigned char)*val_start)) {
        val_start++;
    }
    val_len = strlen(val_start);
    while (val_len > 0 && isspace((unsigned char)val_start[val_len - 1])) {
        val_len--;
    }
    if (val_len >= MAX_VAL) {
        return -3;
    }
    memcpy(out->key, line, key_len);
    out->key[key_len] = '\0';
    memcpy(out->value, val_start, val_len);
    out->value[val_len] = '\0';
    return 0;
}

/* Bitwise CRC-32 (reflected polynomial) computed without a lookup table. */
uint32_t crc32_slow(const unsigned char *buf, size_t len)
{
    uint32_t crc = 0xFFFFFFFFu;
    size_t pos;
    int bit;

    for (pos = 0; pos < len; pos++) {
        crc ^= buf[pos];
        for (bit = 0; bit < 8; bit++) {
            if (crc & 1u) {
                crc = (crc >> 1) ^ 0xEDB88320u;
            } else {
                crc >>= 1;
            }
        }
    }
    return crc ^ 0xFFFFFFFFu;
}

/* Splits text in place on any separator byte, storing at most max_tokens pointers. */
size_t split_tokens(char *text, const char *separators, char **tokens, size_t max_tokens)
{
    size_t count = 0;
    char *cursor = text;

    while (*cursor != '\0' && count < max_tokens) {
        while (*cursor != '\0' && strchr(separators, *cursor) != NULL) {
            *cursor = '\0';
            cursor++;
        }
        if (*cursor == '\0') {
            break;
        }
        tokens[count++] = cursor;
        while (*cursor != '\0' && strchr(separators, *cursor) == NULL) {
            cursor++;
        }
        if (*cursor != '\0') {
            *cursor = '\0';
            cursor++;
        }
    }
    return count;
}

/* Counts bytes into 16 buckets by their high nibble and returns the busiest bucket. */
int busiest_nibble(const unsigned char *data, size_t n, unsigned long hist[16])
{
    size_t i;
    int best = 0;
    int b;

    for (b = 0; b < 16; b++) {
        hist[b] = 0;
    }
    for (i = 0; i < n; i++) {
        hist[data[i] >> 4]++;
    }
    for (b = 1; b < 16; b++) {
        if (hist[b] > hist[best]) {
            best = b;
        }
    }
    return best;
}
