/* A person's history, delta-coded in bytes (the layout is described at
 * pz__hist in profile.h). Times are stored as steps from the event
 * before, in seconds when both fall on whole seconds; items as varints;
 * the common values (1, small integers and halves) in at most a byte. */
#include "profile.h"

#include <math.h>
#include <string.h>

static uint8_t *put_varint(uint8_t *o, uint64_t v) {
  while (v >= 0x80) {
    *o++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *o++ = (uint8_t)v;
  return o;
}

uint32_t pz__hist_encode(const pz__hist *h, int64_t ts, uint32_t item,
                         uint32_t type, float value,
                         uint8_t out[PZ__HIST_EV_MAX]) {
  /* the step, wrapping: decoding adds it back modulo 2^64 */
  uint64_t step = (uint64_t)ts - (uint64_t)h->last;
  unsigned tag = 0;
  int64_t s = (int64_t)step;
  if (s % 1000 == 0) {
    s /= 1000;
    tag |= 0x80;
  }
  uint64_t z = pz__zigzag((uint64_t)s);
  unsigned vcode;
  float twice = value * 2.0f;
  if (value == 1.0f) vcode = 0;
  else if (twice >= 0.0f && twice <= 255.0f && !signbit(value) &&
           twice == (float)(int)twice)
    vcode = 1;
  else if (value != 0.0f && fabsf(value) <= 16777216.0f &&
           value == (float)(int32_t)value)
    vcode = 3; /* a whole number, zigzag-coded: -1 takes one byte */
  else vcode = 2;
  tag |= vcode << 5;
  uint8_t *o = out + 1;
  if (type < 31) {
    tag |= type;
  } else {
    tag |= 31;
    *o++ = (uint8_t)type;
  }
  out[0] = (uint8_t)tag;
  o = put_varint(o, z);
  o = put_varint(o, item);
  switch (vcode) {
  case 1: *o++ = (uint8_t)(int)twice; break;
  case 2:
    memcpy(o, &value, sizeof value);
    o += sizeof value;
    break;
  case 3: {
    int64_t v = (int32_t)value;
    o = put_varint(o, pz__zigzag((uint64_t)v));
    break;
  }
  default: break;
  }
  return (uint32_t)(o - out);
}

int pz__hist_reserve(const pz__alloc *a, pz__hist *h, uint32_t len) {
  if ((uint64_t)h->off + h->len + len + PZ__HIST_PAD <= h->cap) return PZ_OK;
  uint64_t need = (uint64_t)h->len + len + PZ__HIST_PAD;
  if (h->off >= h->cap / 8 && need <= h->cap) {
    /* at the limit the oldest events left a gap at the front: close it
     * and wipe what the move left behind */
    memmove(h->b, h->b + h->off, h->len);
    memset(h->b + h->len, 0, h->off);
    h->off = 0;
    return PZ_OK;
  }
  uint64_t ncap = need + need / 8 + 8;
  if (ncap > UINT32_MAX) return pz__fail(PZ_ELIMIT, "history too large");
  uint8_t *nb = pz__malloc(a, (size_t)ncap);
  if (!nb) return PZ_ENOMEM;
  if (h->len) memcpy(nb, h->b + h->off, h->len);
  memset(nb + h->len, 0, (size_t)ncap - h->len); /* the zero tail */
  pz__free_wipe(a, h->b, h->cap);
  h->b = nb;
  h->cap = (uint32_t)ncap;
  h->off = 0;
  return PZ_OK;
}

void pz__hist_append(pz__hist *h, const uint8_t *code, uint32_t len,
                     int64_t ts, uint32_t limit) {
  while (h->n && h->n >= limit) { /* the oldest goes */
    pz__hist_it it = pz__hist_iter(h);
    pz__event e = {h->base, 0, 0};
    pz__hist_next(&it, &e, NULL);
    uint32_t gone = (uint32_t)(it.p - (h->b + h->off));
    memset(h->b + h->off, 0, gone);
    h->base = e.ts;
    h->off += gone;
    h->len -= gone;
    h->n--;
  }
  if (!h->n) h->off = 0; /* nothing left to keep: start over */
  memcpy(h->b + h->off + h->len, code, len);
  h->len += len;
  h->n++;
  h->last = ts;
}

int pz__hist_add(const pz__alloc *a, pz__hist *h, int64_t ts, uint32_t item,
                 uint32_t type, float value, uint32_t limit) {
  uint8_t code[PZ__HIST_EV_MAX];
  uint32_t len = pz__hist_encode(h, ts, item, type, value, code);
  int rc = pz__hist_reserve(a, h, len);
  if (rc) return rc;
  pz__hist_append(h, code, len, ts, limit);
  return PZ_OK;
}

void pz__hist_free(const pz__alloc *a, pz__hist *h) {
  pz__free_wipe(a, h->b, h->cap);
  memset(h, 0, sizeof *h);
}
