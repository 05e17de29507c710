/* languages.c — the table of grammars linked into doppel_grammars (see languages.h).
 * Its rows are generated at configure time, one per languages/<name>.lang table, naming
 * tree_sitter_<name>() (grammars/CMakeLists.txt writes grammar_rows.h): adding a language is its
 * table and its lock line. */
#include "languages.h"

#include "grammar_rows.h" /* generated: tree_sitter_<name> declarations and kGrammars[] */

#ifndef DOPPEL_GRAMMARS_LOCK_SHA256
#error "DOPPEL_GRAMMARS_LOCK_SHA256 must be defined by grammars/CMakeLists.txt"
#endif

const DoppelGrammar *doppel_grammars(size_t *count) {
  if (count) *count = sizeof kGrammars / sizeof kGrammars[0];
  return kGrammars;
}

const char *doppel_grammars_lock_sha256(void) { return DOPPEL_GRAMMARS_LOCK_SHA256; }
