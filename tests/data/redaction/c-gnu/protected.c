#include <stddef.h>
#include <string.h>

/* Counts the places where NEEDLE occurs in HAYSTACK, overlapping ones too. */
static size_t
count_occurrences (const char *haystack, const char *needle)
{
  size_t found = 0;
  size_t needle_len = strlen (needle);
  const char *cursor = haystack;

  if (needle_len == 0)
    return 0;
  while ((cursor = strstr (cursor, needle)) != NULL)
    {
      found++;
      cursor++;
    }
  return found;
}

/* Replaces every byte of TEXT that is in REJECT with FILL; returns how many were replaced. */
static unsigned
scrub_bytes (char *text, const char *reject, char fill)
{
  unsigned replaced = 0;
  char *p;

  for (p = text; *p != '\0'; p++)
    if (strchr (reject, *p) != NULL)
      {
        *p = fill;
        replaced++;
      }
  return replaced;
}
