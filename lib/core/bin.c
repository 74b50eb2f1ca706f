/* Little-endian binary encoding for snapshots and the journal: writers
 * append to a pz__buf (sticky out-of-memory), readers walk a bounded
 * cursor whose first failure sticks and names where it happened. */
#include "core.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

bool pz__host_little_endian(void) {
  const uint16_t one = 1;
  uint8_t b;
  memcpy(&b, &one, 1);
  return b == 1;
}

uint64_t pz__checksum(const void *p, size_t len) {
  return XXH3_64bits(p, len);
}

void pz__buf_u8(pz__buf *b, uint8_t v) { pz__buf_put(b, (const char *)&v, 1); }
void pz__buf_u16(pz__buf *b, uint16_t v) {
  pz__buf_put(b, (const char *)&v, sizeof v);
}
void pz__buf_u32(pz__buf *b, uint32_t v) {
  pz__buf_put(b, (const char *)&v, sizeof v);
}
void pz__buf_u64(pz__buf *b, uint64_t v) {
  pz__buf_put(b, (const char *)&v, sizeof v);
}
void pz__buf_i64(pz__buf *b, int64_t v) {
  pz__buf_put(b, (const char *)&v, sizeof v);
}
void pz__buf_f32(pz__buf *b, float v) {
  pz__buf_put(b, (const char *)&v, sizeof v);
}
void pz__buf_f64(pz__buf *b, double v) {
  pz__buf_put(b, (const char *)&v, sizeof v);
}
void pz__buf_str(pz__buf *b, const char *s, size_t len) {
  pz__buf_u32(b, (uint32_t)len);
  if (len) pz__buf_put(b, s, len);
}
void pz__buf_array(pz__buf *b, const void *p, uint64_t n, size_t elem) {
  if (n) pz__buf_put(b, p, (size_t)n * elem);
}
void pz__buf_align(pz__buf *b, size_t to) {
  static const char zero[64];
  size_t pad = (to - b->len % to) % to;
  if (pad) pz__buf_put(b, zero, pad);
}

/* ---- reading -------------------------------------------------------------- */

void pz__rd_init(pz__rd *r, const void *p, size_t len, const char *what) {
  r->p = p;
  r->len = len;
  r->pos = 0;
  r->what = what;
  r->err = PZ_OK;
}

int pz__rd_bad(pz__rd *r, const char *fmt, ...) {
  if (r->err) return r->err;
  char msg[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return r->err = pz__fail(PZ_ECORRUPT, "%s, byte %zu: %s", r->what, r->pos,
                           msg);
}

bool pz__rd_need(pz__rd *r, uint64_t n) {
  if (r->err) return false;
  if (n > r->len - r->pos) {
    pz__rd_bad(r, "%llu bytes needed, %zu left", (unsigned long long)n,
               r->len - r->pos);
    return false;
  }
  return true;
}

const void *pz__rd_bytes(pz__rd *r, uint64_t n) {
  if (!pz__rd_need(r, n)) return NULL;
  const void *p = r->p + r->pos;
  r->pos += (size_t)n;
  return p;
}

#define RD_SCALAR(name, type)                                                 \
  type pz__rd_##name(pz__rd *r) {                                             \
    type v = 0;                                                               \
    const void *p = pz__rd_bytes(r, sizeof v);                                \
    if (p) memcpy(&v, p, sizeof v);                                           \
    return v;                                                                 \
  }
RD_SCALAR(u8, uint8_t)
RD_SCALAR(u16, uint16_t)
RD_SCALAR(u32, uint32_t)
RD_SCALAR(u64, uint64_t)
RD_SCALAR(i64, int64_t)
RD_SCALAR(f32, float)
RD_SCALAR(f64, double)

const void *pz__rd_array(pz__rd *r, uint64_t n, size_t elem) {
  if (r->err) return NULL;
  if (n && elem && n > (r->len - r->pos) / elem) {
    pz__rd_bad(r, "a count of %llu entries of %zu bytes runs past the end",
               (unsigned long long)n, elem);
    return NULL;
  }
  return pz__rd_bytes(r, n * elem);
}

void *pz__rd_take(pz__rd *r, const pz__alloc *a, uint64_t n, size_t elem,
                  int *rc) {
  const void *src = pz__rd_array(r, n, elem);
  if (!src) {
    *rc = r->err;
    return NULL;
  }
  if (!n) return NULL; /* nothing to hold: NULL and *rc unchanged */
  void *p = pz__malloc(a, (size_t)n * elem);
  if (!p) {
    *rc = PZ_ENOMEM;
    return NULL;
  }
  memcpy(p, src, (size_t)n * elem);
  return p;
}

bool pz__rd_count(pz__rd *r, uint64_t n, size_t min_elem, uint64_t max) {
  if (r->err) return false;
  if (n > max) {
    pz__rd_bad(r, "a count of %llu is above the limit %llu",
               (unsigned long long)n, (unsigned long long)max);
    return false;
  }
  if (min_elem && n > (r->len - r->pos) / min_elem) {
    pz__rd_bad(r, "a count of %llu cannot fit in the %zu bytes left",
               (unsigned long long)n, r->len - r->pos);
    return false;
  }
  return true;
}

const char *pz__rd_str(pz__rd *r, size_t max, size_t *len_out, bool empty_ok,
                       const char *what) {
  uint32_t n = pz__rd_u32(r);
  *len_out = 0;
  if (r->err) return NULL;
  if (n > max || (!n && !empty_ok)) {
    pz__rd_bad(r, "%s of %u bytes (1..%zu allowed)", what, n, max);
    return NULL;
  }
  const char *s = pz__rd_bytes(r, n);
  if (!s) return NULL;
  if (!pz__utf8_valid(s, n) || memchr(s, '\0', n)) {
    pz__rd_bad(r, "%s is not valid UTF-8 text", what);
    return NULL;
  }
  *len_out = n;
  return s;
}

bool pz__rd_align(pz__rd *r, size_t to) {
  size_t pad = (to - r->pos % to) % to;
  return pz__rd_bytes(r, pad) != NULL || pad == 0;
}

bool pz__rd_finite_f32(pz__rd *r, const float *v, uint64_t n,
                       const char *what) {
  for (uint64_t i = 0; i < n; i++)
    if (!isfinite(v[i])) {
      pz__rd_bad(r, "%s %llu is not finite", what, (unsigned long long)i);
      return false;
    }
  return true;
}
