/* languages.h — the tree-sitter grammars linked into doppel_grammars.
 *
 * The grammars themselves are fetched at configure time (see README.md and grammars.lock);
 * this header and languages.c are ours. The table of grammars is generated at configure time,
 * one row per languages/<name>.lang, whose grammar's entry point is tree_sitter_<name>().
 * Per-language normalization data (node types of identifiers, literals and comments;
 * extensions; fence tags; comment syntax) lives in those tables, keyed by the same names.
 */
#ifndef DOPPEL_GRAMMARS_LANGUAGES_H
#define DOPPEL_GRAMMARS_LANGUAGES_H

#include <stddef.h>
#include <tree_sitter/api.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  const char *name;                    /* "python", "c_sharp", ... = languages/<name>.lang */
  const TSLanguage *(*language)(void); /* tree_sitter_<name> */
} DoppelGrammar;

/* All linked grammars, sorted by name; *count receives the number of entries.
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
