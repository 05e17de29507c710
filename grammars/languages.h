/* languages.h — the tree-sitter grammars linked into doppel_grammars.
 *
 * The grammars themselves are fetched at configure time (see README.md and grammars.lock);
 * this header and languages.c are ours. Per-language normalization data (node types of
 * identifiers, literals and comments; extensions; fence tags; comment syntax) lives in
 * languages/<name>.lang, keyed by the same names as this table.
 */
#ifndef DOPPEL_GRAMMARS_LANGUAGES_H
#define DOPPEL_GRAMMARS_LANGUAGES_H

#include <stddef.h>
#include <tree_sitter/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One entry point per grammar, defined in the grammar's generated parser.c. */
const TSLanguage *tree_sitter_python(void);
const TSLanguage *tree_sitter_javascript(void);
const TSLanguage *tree_sitter_typescript(void);
const TSLanguage *tree_sitter_tsx(void);
const TSLanguage *tree_sitter_java(void);
const TSLanguage *tree_sitter_c(void);
const TSLanguage *tree_sitter_cpp(void);
const TSLanguage *tree_sitter_go(void);
const TSLanguage *tree_sitter_rust(void);
const TSLanguage *tree_sitter_c_sharp(void);
const TSLanguage *tree_sitter_ruby(void);

typedef struct {
  const char *name;                    /* "python", "c_sharp", ... = languages/<name>.lang */
  const TSLanguage *(*language)(void); /* tree_sitter_<name> */
} DoppelGrammar;

/* All linked grammars, in a fixed order; *count receives the number of entries.
 * The table is static: never free it. Callers must still check that
 * ts_parser_set_language() returns true (it fails silently on an ABI mismatch). */
const DoppelGrammar *doppel_grammars(size_t *count);

/* Hex sha256 of grammars.lock at build time: names the exact grammar versions, for the index
 * manifest (a different value means the parse trees, hence the fingerprints, may differ). */
const char *doppel_grammars_lock_sha256(void);

#ifdef __cplusplus
}
#endif

#endif /* DOPPEL_GRAMMARS_LANGUAGES_H */
