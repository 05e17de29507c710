#include <stdio.h>
#include <string.h>

static int count_lines(const char *text)
{
	int lines = 0;
	for (; *text; text++)
		lines += *text == '\n';
	return lines;
}

#define PUT_QUOTED(out, in, size) \
	do { \
		reserve_bytes(sink_buffer, 2 * (size) + 2); \
		size_t k_ = 0; \
		*(out)++ = '"'; \
		while (k_ < (size)) { \
			if ((in)[k_] == '"' || (in)[k_] == '\\') \
				*(out)++ = '\\'; \
			*(out)++ = (in)[k_++]; \
		} \
		*(out)++ = '"'; \
		bytes_written += (size) + 2; \
		flush_if_full(out, sink_buffer); \
	} while (0)

int main(void)
{
	printf("%d\n", count_lines("a\nb\n"));
	return 0;
}
