/* A growable text buffer with a sticky out-of-memory flag, so writers can
 * emit a whole document and check for failure once at the end. */
#include "core.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void pz__buf_init(pz__buf *b, const pz__alloc *a) {
  memset(b, 0, sizeof *b);
  b->a = a;
}

void pz__buf_free(pz__buf *b) {
  pz__free_wipe(b->a, b->p, b->cap);
  b->p = NULL;
  b->len = b->cap = 0;
}

static int reserve(pz__buf *b, size_t extra) {
  if (b->err) return b->err;
  if (b->len + extra + 1 <= b->cap) return PZ_OK;
  size_t ncap = b->cap ? b->cap * 2 : 256;
  while (ncap < b->len + extra + 1) ncap *= 2;
  char *p = pz__malloc(b->a, ncap);
  if (!p) return b->err = PZ_ENOMEM;
  if (b->len) memcpy(p, b->p, b->len);
  /* exports hold personal data: wipe the old block rather than realloc */
  pz__free_wipe(b->a, b->p, b->cap);
  b->p = p;
  b->cap = ncap;
  return PZ_OK;
}

void pz__buf_put(pz__buf *b, const char *s, size_t len) {
  if (reserve(b, len)) return;
  memcpy(b->p + b->len, s, len);
  b->len += len;
  b->p[b->len] = '\0';
}

void pz__buf_puts(pz__buf *b, const char *s) { pz__buf_put(b, s, strlen(s)); }

void pz__buf_printf(pz__buf *b, const char *fmt, ...) {
  char tmp[128];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof tmp) {
    pz__buf_put(b, tmp, (size_t)n);
    return;
  }
  if (reserve(b, (size_t)n)) return;
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void pz__buf_json_str(pz__buf *b, const char *s, size_t len) {
  pz__buf_put(b, "\"", 1);
  size_t run = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    pz__buf_put(b, s + run, i - run);
    run = i + 1;
    switch (c) {
    case '"': pz__buf_put(b, "\\\"", 2); break;
    case '\\': pz__buf_put(b, "\\\\", 2); break;
    case '\n': pz__buf_put(b, "\\n", 2); break;
    case '\r': pz__buf_put(b, "\\r", 2); break;
    case '\t': pz__buf_put(b, "\\t", 2); break;
    default: pz__buf_printf(b, "\\u%04x", c); break;
    }
  }
  pz__buf_put(b, s + run, len - run);
  pz__buf_put(b, "\"", 1);
}

void pz__buf_json_num(pz__buf *b, double v) {
  if (!isfinite(v)) {
    pz__buf_puts(b, "null");
    return;
  }
  char tmp[40];
  snprintf(tmp, sizeof tmp, "%.9g", v);
  pz__fix_decimal_point(tmp);
  pz__buf_puts(b, tmp);
}

int pz__text_set(const pz__alloc *a, pz__text *t, const char *s, size_t len) {
  char *p = pz__strndup(a, s ? s : "", len);
  if (!p) return PZ_ENOMEM;
  pz__text_free(a, t);
  t->p = p;
  t->len = len;
  return PZ_OK;
}

void pz__text_free(const pz__alloc *a, pz__text *t) {
  if (t->p) pz__free(a, t->p, t->len + 1);
  t->p = NULL;
  t->len = 0;
}
