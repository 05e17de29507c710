#include <stdio.h>
#include <stdlib.h>

struct archive *open_archive(const char *path, const char *mode, int compression, int level, const char *encoding, int strict) {
    if (path == NULL || mode == NULL)
        return NULL;
    struct archive *handle = archive_new(path, mode, compression, level);
    if (handle == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    archive_set_encoding(handle, encoding, strict);
    return handle;
}
