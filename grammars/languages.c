/* languages.c — the table of grammars linked into doppel_grammars (see languages.h).
 * Adding a language: declare tree_sitter_<name> in languages.h and add a row here, next to
 * its lock line and its languages/<name>.lang table; check_tables.py checks the three agree. */
#include "languages.h"

#ifndef DOPPEL_GRAMMARS_LOCK_SHA256
#error "DOPPEL_GRAMMARS_LOCK_SHA256 must be defined by grammars/CMakeLists.txt"
#endif

static const DoppelGrammar kGrammars[] = {
    {"python", tree_sitter_python},
    {"javascript", tree_sitter_javascript},
    {"typescript", tree_sitter_typescript},
    {"tsx", tree_sitter_tsx},
    {"java", tree_sitter_java},
    {"c", tree_sitter_c},
    {"cpp", tree_sitter_cpp},
    {"go", tree_sitter_go},
    {"rust", tree_sitter_rust},
    {"c_sharp", tree_sitter_c_sharp},
    {"ruby", tree_sitter_ruby},
};

const DoppelGrammar *doppel_grammars(size_t *count) {
  if (count) *count = sizeof kGrammars / sizeof kGrammars[0];
  return kGrammars;
}

const char *doppel_grammars_lock_sha256(void) { return DOPPEL_GRAMMARS_LOCK_SHA256; }
