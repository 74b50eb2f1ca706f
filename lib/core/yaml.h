/*
 * lib/core/yaml.h - internal: a small YAML tree (maps, sequences, scalars)
 * with file:line:column positions, built with libyaml and handed to each
 * module for its own config section.
 */
#ifndef PZ_YAML_H
#define PZ_YAML_H

#include "core.h"

enum { PZ__Y_SCALAR = 1, PZ__Y_MAP = 2, PZ__Y_SEQ = 3 };

typedef struct pz__ynode {
  int kind;
  uint32_t line, col; /* 1-based */
  int plain;          /* scalar written without quotes */
  char *str;          /* scalar text, NUL-terminated */
  size_t len;
  struct pz__ynode **items; /* map: key, value, key, value...; seq: items */
  size_t n;                 /* number of pointers in items */
  size_t cap;
} pz__ynode;

typedef struct pz__ydoc {
  const pz__alloc *a;
  pz__ynode *root; /* a map (an empty document gives an empty map) */
  char file[256];
} pz__ydoc;

/* Parse len bytes of YAML; file names the source in messages. */
int pz__yaml_parse(pz__ydoc *d, const pz__alloc *a, const char *text,
                   size_t len, const char *file);
/* Read a whole file (at most 16 MiB) and parse it; keep (may be NULL)
 * gets a copy of the text. */
int pz__yaml_parse_file(pz__ydoc *d, const pz__alloc *a, const char *path,
                        pz__text *keep);
void pz__yaml_free(pz__ydoc *d);

/* PZ_ECONFIG with "file:line:col: message". */
int pz__y_err(const pz__ydoc *d, const pz__ynode *n, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Value of key in map, or NULL. */
const pz__ynode *pz__y_get(const pz__ynode *map, const char *key);
/* The node must be a map whose keys are all in allowed (NULL-terminated);
 * section names it in errors. */
int pz__y_map(const pz__ydoc *d, const pz__ynode *n, const char *section,
              const char *const *allowed);
int pz__y_scalar(const pz__ydoc *d, const pz__ynode *n, const char *what);
int pz__y_double(const pz__ydoc *d, const pz__ynode *n, const char *what,
                 double lo, double hi, double *out);
int pz__y_uint(const pz__ydoc *d, const pz__ynode *n, const char *what,
               uint64_t lo, uint64_t hi, uint64_t *out);
int pz__y_bool(const pz__ydoc *d, const pz__ynode *n, const char *what,
               bool *out);
/* A duration with a unit: 500ms, 30s, 10m, 12h, 30d, 2w; `off` gives 0. */
int pz__y_duration(const pz__ydoc *d, const pz__ynode *n, const char *what,
                   int64_t *ms_out);
/* One of the words in choices (NULL-terminated); *out gets its index. */
int pz__y_enum(const pz__ydoc *d, const pz__ynode *n, const char *what,
               const char *const *choices, int *out);

#endif /* PZ_YAML_H */
