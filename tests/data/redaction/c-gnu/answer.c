#include <stdio.h>
#include <string.h>

int
print_usage (const char *program)
{
  fprintf (stderr, "usage: %s PATTERN FILE...\n", program);
  return 2;
}

long
tally_hits (const char *text, const char *pattern)
{
  long hits = 0;
  size_t pattern_len = strlen (pattern);
  const char *where = text;

  if (pattern_len == 0)
    return 0;
  while ((where = strstr (where, pattern)) != NULL)
    {
      hits++;
      where++;
    }
  return hits;
}

int
main (int argc, char **argv)
{
  if (argc < 3)
    return print_usage (argv[0]);
  printf ("%ld\n", tally_hits (argv[2], argv[1]));
  return 0;
}
