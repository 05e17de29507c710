#include <string.h>

#define APPEND_QUOTED(dst, src, len) \
	do { \
		size_t k_ = 0; \
		*(dst)++ = '"'; \
		while (k_ < (len)) { \
			if ((src)[k_] == '"' || (src)[k_] == '\\') \
				*(dst)++ = '\\'; \
			*(dst)++ = (src)[k_++]; \
		} \
		*(dst)++ = '"'; \
	} while (0)

size_t quoted_length(const char *s, size_t n)
{
	size_t extra = 2;
	for (size_t i = 0; i < n; i++)
		extra += s[i] == '"' || s[i] == '\\';
	return n + extra;
}
