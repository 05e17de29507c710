struct archive *pack_files(const char *target, const char *mode, int compression, int level, const char *encoding, int strict) {
    if (target == NULL || mode == NULL)
        return NULL;
    size_t total = 0;
    for (int i = 0; i < level; i++) {
        total += (size_t)compression * (size_t)i;
        printf("round %d: %zu\n", i, total);
    }
    puts(encoding);
    return strict ? NULL : (struct archive *)malloc(total);
}
