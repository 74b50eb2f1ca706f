/* Build a position-carrying tree from libyaml's event stream. Aliases are
 * refused (they allow exponential documents); depth and size are bounded.
 * libyaml allocates with its own malloc: the documented exception to the
 * per-engine allocator. Its state is released before returning. */
#include "yaml.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 64
#define MAX_NODES 1000000
#define MAX_FILE (16u << 20)

static void node_free(const pz__alloc *a, pz__ynode *n) {
  if (!n) return;
  for (size_t i = 0; i < n->n; i++) node_free(a, n->items[i]);
  pz__free(a, n->items, n->cap * sizeof *n->items);
  if (n->str) pz__free(a, n->str, n->len + 1);
  pz__free(a, n, sizeof *n);
}

void pz__yaml_free(pz__ydoc *d) {
  if (!d) return;
  node_free(d->a, d->root);
  d->root = NULL;
}

int pz__y_err(const pz__ydoc *d, const pz__ynode *n, const char *fmt, ...) {
  char msg[384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (n)
    return pz__fail(PZ_ECONFIG, "%s:%u:%u: %s", d->file, n->line, n->col,
                    msg);
  return pz__fail(PZ_ECONFIG, "%s: %s", d->file, msg);
}

static pz__ynode *node_new(const pz__alloc *a, int kind,
                           const yaml_mark_t *m) {
  pz__ynode *n = pz__calloc(a, 1, sizeof *n);
  if (!n) return NULL;
  n->kind = kind;
  n->line = (uint32_t)m->line + 1;
  n->col = (uint32_t)m->column + 1;
  return n;
}

static int node_add(const pz__alloc *a, pz__ynode *parent, pz__ynode *child) {
  if (parent->n == parent->cap) {
    size_t ncap = parent->cap ? parent->cap * 2 : 8;
    pz__ynode **p = pz__realloc(a, parent->items,
                                parent->cap * sizeof *p, ncap * sizeof *p);
    if (!p) return PZ_ENOMEM;
    parent->items = p;
    parent->cap = ncap;
  }
  parent->items[parent->n++] = child;
  return PZ_OK;
}

int pz__yaml_parse(pz__ydoc *d, const pz__alloc *a, const char *text,
                   size_t len, const char *file) {
  memset(d, 0, sizeof *d);
  d->a = a;
  snprintf(d->file, sizeof d->file, "%s", file ? file : "<string>");
  if (!text && len) return pz__fail(PZ_EINVAL, "config text is NULL");

  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) return pz__oom();
  yaml_parser_set_input_string(&parser, (const unsigned char *)(text ? text : ""),
                               len);
  pz__ynode *stack[MAX_DEPTH + 1];
  int depth = 0, rc = PZ_OK;
  size_t nodes = 0;
  pz__ynode *root = NULL;
  bool done = false;

  while (!done && rc == PZ_OK) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&parser, &ev)) {
      pz__ynode pos = {.line = (uint32_t)parser.problem_mark.line + 1,
                       .col = (uint32_t)parser.problem_mark.column + 1};
      if (parser.error == YAML_READER_ERROR) {
        /* the reader reports a byte offset, not a mark: count lines */
        size_t off = PZ__MIN(parser.problem_offset, len);
        pos.line = pos.col = 1;
        for (size_t i = 0; i < off; i++) {
          if (text[i] == '\n') {
            pos.line++;
            pos.col = 1;
          } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            pos.col++;
          }
        }
      }
      rc = pz__y_err(d, &pos, "not valid YAML: %s",
                     parser.problem ? parser.problem : "parse error");
      break;
    }
    pz__ynode *n = NULL;
    switch (ev.type) {
    case YAML_STREAM_END_EVENT: done = true; break;
    case YAML_DOCUMENT_START_EVENT:
      if (root) {
        pz__ynode pos = {.line = (uint32_t)ev.start_mark.line + 1,
                         .col = (uint32_t)ev.start_mark.column + 1};
        rc = pz__y_err(d, &pos, "only one YAML document is allowed");
      }
      break;
    case YAML_ALIAS_EVENT: {
      pz__ynode pos = {.line = (uint32_t)ev.start_mark.line + 1,
                       .col = (uint32_t)ev.start_mark.column + 1};
      rc = pz__y_err(d, &pos, "YAML aliases are not supported");
      break;
    }
    case YAML_SCALAR_EVENT:
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT: {
      if (++nodes > MAX_NODES) {
        pz__ynode pos = {.line = (uint32_t)ev.start_mark.line + 1,
                         .col = (uint32_t)ev.start_mark.column + 1};
        rc = pz__y_err(d, &pos, "too many YAML nodes (at most %d)",
                       (int)MAX_NODES);
        break;
      }
      int kind = ev.type == YAML_SCALAR_EVENT        ? PZ__Y_SCALAR
                 : ev.type == YAML_MAPPING_START_EVENT ? PZ__Y_MAP
                                                       : PZ__Y_SEQ;
      n = node_new(a, kind, &ev.start_mark);
      if (!n) {
        rc = PZ_ENOMEM;
        break;
      }
      if (kind == PZ__Y_SCALAR &&
          memchr(ev.data.scalar.value, 0, ev.data.scalar.length)) {
        /* name the key, or the key whose value this is, or the section */
        pz__ynode pos = {.line = n->line, .col = n->col};
        node_free(a, n);
        const pz__ynode *top = depth ? stack[depth - 1] : NULL;
        const pz__ynode *up = depth > 1 ? stack[depth - 2] : NULL;
        if (top && top->kind == PZ__Y_MAP && top->n % 2 == 1)
          rc = pz__y_err(d, &pos, "the value of \"%s\" contains a NUL character",
                         top->items[top->n - 1]->str);
        else if (up && up->kind == PZ__Y_MAP && up->n >= 2) /* top is its last value */
          rc = pz__y_err(d, &pos, "\"%s\" in %s contains a NUL character",
                         (const char *)ev.data.scalar.value,
                         up->items[up->n - 2]->str);
        else
          rc = pz__y_err(d, &pos, "\"%s\" contains a NUL character",
                         (const char *)ev.data.scalar.value);
        break;
      }
      if (kind == PZ__Y_SCALAR) {
        n->len = ev.data.scalar.length;
        n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        n->str = pz__strndup(a, (const char *)ev.data.scalar.value, n->len);
        if (!n->str) {
          node_free(a, n);
          rc = PZ_ENOMEM;
          break;
        }
      }
      if (depth == 0) {
        root = n;
      } else if ((rc = node_add(a, stack[depth - 1], n)) != PZ_OK) {
        node_free(a, n);
        break;
      }
      if (kind != PZ__Y_SCALAR) {
        if (depth == MAX_DEPTH) {
          rc = pz__y_err(d, n, "YAML nested deeper than %d levels", MAX_DEPTH);
          break;
        }
        stack[depth++] = n;
      }
      break;
    }
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
      depth--;
      break;
    default: break;
    }
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&parser);

  if (rc == PZ_OK && !root) {
    yaml_mark_t m = {0, 0, 0};
    root = node_new(a, PZ__Y_MAP, &m);
    if (!root) rc = PZ_ENOMEM;
  }
  if (rc == PZ_OK && root->kind == PZ__Y_SCALAR && root->plain &&
      (root->len == 0 || strcmp(root->str, "~") == 0 ||
       strcmp(root->str, "null") == 0)) {
    root->kind = PZ__Y_MAP; /* an empty or null document is an empty map */
  }
  if (rc == PZ_OK && root->kind != PZ__Y_MAP)
    rc = pz__y_err(d, root, "the configuration must be a mapping of sections");
  d->root = root;
  if (rc != PZ_OK) pz__yaml_free(d);
  return rc;
}

int pz__yaml_parse_file(pz__ydoc *d, const pz__alloc *a, const char *path,
                        pz__text *keep) {
  memset(d, 0, sizeof *d);
  d->a = a;
  FILE *f = fopen(path, "rb");
  if (!f) return pz__fail(PZ_EIO, "%s: cannot open: %s", path, strerror(errno));
  size_t cap = 4096, len = 0;
  char *buf = pz__malloc(a, cap);
  int rc = buf ? PZ_OK : PZ_ENOMEM;
  while (rc == PZ_OK) {
    if (len == cap) {
      if (cap >= MAX_FILE) {
        rc = pz__fail(PZ_ECONFIG, "%s: larger than 16 MiB", path);
        break;
      }
      char *nb = pz__realloc(a, buf, cap, cap * 2);
      if (!nb) {
        rc = PZ_ENOMEM;
        break;
      }
      buf = nb;
      cap *= 2;
    }
    size_t got = fread(buf + len, 1, cap - len, f);
    len += got;
    if (got == 0) {
      if (ferror(f)) rc = pz__fail(PZ_EIO, "%s: read error", path);
      break;
    }
  }
  fclose(f);
  if (rc == PZ_OK) rc = pz__yaml_parse(d, a, buf, len, path);
  if (rc == PZ_OK && keep && (rc = pz__text_set(a, keep, buf, len)))
    pz__yaml_free(d);
  pz__free(a, buf, cap);
  return rc;
}

const pz__ynode *pz__y_get(const pz__ynode *map, const char *key) {
  if (!map || map->kind != PZ__Y_MAP) return NULL;
  for (size_t i = 0; i + 1 < map->n; i += 2) {
    const pz__ynode *k = map->items[i];
    if (k->kind == PZ__Y_SCALAR && strcmp(k->str, key) == 0)
      return map->items[i + 1];
  }
  return NULL;
}

int pz__y_map(const pz__ydoc *d, const pz__ynode *n, const char *section,
              const char *const *allowed) {
  if (n->kind != PZ__Y_MAP)
    return pz__y_err(d, n, "%s must be a mapping", section);
  for (size_t i = 0; i + 1 < n->n; i += 2) {
    const pz__ynode *k = n->items[i];
    if (k->kind != PZ__Y_SCALAR)
      return pz__y_err(d, k, "keys in %s must be plain words", section);
    for (size_t j = 0; j < i; j += 2)
      if (n->items[j]->kind == PZ__Y_SCALAR &&
          strcmp(n->items[j]->str, k->str) == 0)
        return pz__y_err(d, k, "duplicate key \"%s\" in %s", k->str, section);
    if (!allowed) continue;
    bool ok = false;
    for (const char *const *w = allowed; *w; w++)
      if (strcmp(*w, k->str) == 0) ok = true;
    if (!ok) return pz__y_err(d, k, "unknown key \"%s\" in %s", k->str, section);
  }
  return PZ_OK;
}

int pz__y_scalar(const pz__ydoc *d, const pz__ynode *n, const char *what) {
  if (n->kind != PZ__Y_SCALAR)
    return pz__y_err(d, n, "%s must be a single value, not a %s", what,
                     n->kind == PZ__Y_MAP ? "mapping" : "list");
  return PZ_OK;
}

int pz__y_double(const pz__ydoc *d, const pz__ynode *n, const char *what,
                 double lo, double hi, double *out) {
  int rc = pz__y_scalar(d, n, what);
  if (rc) return rc;
  char *end = NULL;
  errno = 0;
  double v = n->plain && n->len ? pz__strtod_c(n->str, &end) : NAN;
  if (!end || *end || errno == ERANGE || !isfinite(v))
    return pz__y_err(d, n, "%s must be a number, not \"%s\"", what, n->str);
  if (v < lo || v > hi)
    return pz__y_err(d, n, "%s must be between %g and %g, not %g", what, lo,
                     hi, v);
  *out = v;
  return PZ_OK;
}

int pz__y_uint(const pz__ydoc *d, const pz__ynode *n, const char *what,
               uint64_t lo, uint64_t hi, uint64_t *out) {
  int rc = pz__y_scalar(d, n, what);
  if (rc) return rc;
  char *end = NULL;
  errno = 0;
  bool digits = n->plain && n->len && n->str[0] >= '0' && n->str[0] <= '9';
  unsigned long long v = digits ? strtoull(n->str, &end, 10) : 0;
  if (!digits || !end || *end || errno == ERANGE)
    return pz__y_err(d, n, "%s must be a whole number, not \"%s\"", what,
                     n->str);
  if (v < lo || v > hi)
    return pz__y_err(d, n, "%s must be between %llu and %llu, not %llu", what,
                     (unsigned long long)lo, (unsigned long long)hi, v);
  *out = (uint64_t)v;
  return PZ_OK;
}

int pz__y_bool(const pz__ydoc *d, const pz__ynode *n, const char *what,
               bool *out) {
  int rc = pz__y_scalar(d, n, what);
  if (rc) return rc;
  if (n->plain && strcmp(n->str, "true") == 0) *out = true;
  else if (n->plain && strcmp(n->str, "false") == 0) *out = false;
  else
    return pz__y_err(d, n, "%s must be true or false, not \"%s\"", what,
                     n->str);
  return PZ_OK;
}

int pz__y_duration(const pz__ydoc *d, const pz__ynode *n, const char *what,
                   int64_t *ms_out) {
  int rc = pz__y_scalar(d, n, what);
  if (rc) return rc;
  if (strcmp(n->str, "off") == 0) {
    *ms_out = 0;
    return PZ_OK;
  }
  char *end = NULL;
  errno = 0;
  double v = n->len ? pz__strtod_c(n->str, &end) : NAN;
  static const struct { const char *u; double ms; } units[] = {
      {"ms", 1}, {"s", 1e3}, {"m", 6e4}, {"h", 3.6e6}, {"d", 8.64e7},
      {"w", 6.048e8}};
  double mult = 0;
  if (end && end != n->str)
    for (size_t i = 0; i < sizeof units / sizeof *units; i++)
      if (strcmp(end, units[i].u) == 0) mult = units[i].ms;
  if (mult == 0 || !isfinite(v) || errno == ERANGE)
    return pz__y_err(d, n,
                     "%s must be a duration with a unit (ms, s, m, h, d, w) "
                     "or off, not \"%s\"",
                     what, n->str);
  double ms = v * mult;
  if (ms < 1 || ms > 3.1536e12) /* 1 ms .. 100 years of 365 days */
    return pz__y_err(d, n, "%s must be between 1ms and 100 years", what);
  *ms_out = (int64_t)ms;
  return PZ_OK;
}

int pz__y_enum(const pz__ydoc *d, const pz__ynode *n, const char *what,
               const char *const *choices, int *out) {
  int rc = pz__y_scalar(d, n, what);
  if (rc) return rc;
  for (int i = 0; choices[i]; i++)
    if (strcmp(choices[i], n->str) == 0) {
      *out = i;
      return PZ_OK;
    }
  char list[256] = "";
  for (int i = 0; choices[i]; i++) {
    strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
    strncat(list, choices[i], sizeof list - strlen(list) - 1);
  }
  return pz__y_err(d, n, "%s must be one of %s, not \"%s\"", what, list,
                   n->str);
}
