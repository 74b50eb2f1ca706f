/* Argument checks shared by every public entry point. */
#include "core.h"

#include <math.h>
#include <string.h>

/* Strict UTF-8 (RFC 3629): no overlongs, no surrogates, nothing past
 * U+10FFFF. NUL bytes are not allowed inside a length-delimited string
 * either, since every id is also used as a C string. */
bool pz__utf8_valid(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  /* ids are mostly ASCII: take eight bytes at a time while no byte has its
   * high bit set and none is zero */
  const uint64_t high = UINT64_C(0x8080808080808080),
                 ones = UINT64_C(0x0101010101010101);
  while (i + 8 <= len) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    if ((w & high) || ((w - ones) & ~w & high)) break;
    i += 8;
  }
  while (i < len) {
    unsigned c = p[i];
    if (c == 0) return false;
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) n = 1;
    else if (c == 0xE0) { n = 2; lo = 0xA0; }
    else if (c >= 0xE1 && c <= 0xEC) n = 2;
    else if (c == 0xED) { n = 2; hi = 0x9F; }
    else if (c >= 0xEE && c <= 0xEF) n = 2;
    else if (c == 0xF0) { n = 3; lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) n = 3;
    else if (c == 0xF4) { n = 3; hi = 0x8F; }
    else return false;
    if (len - i <= n) return false;
    if (p[i + 1] < lo || p[i + 1] > hi) return false;
    for (size_t k = 2; k <= n; k++)
      if (p[i + k] < 0x80 || p[i + k] > 0xBF) return false;
    i += n + 1;
  }
  return true;
}

int pz__check_str(const char *s, size_t max, const char *what,
                  size_t *len_out) {
  if (!s) return pz__fail(PZ_EINVAL, "%s is NULL", what);
  size_t len = strnlen(s, max + 1);
  if (len == 0) return pz__fail(PZ_EINVAL, "%s is empty", what);
  if (len > max)
    return pz__fail(PZ_EINVAL, "%s is longer than %zu bytes", what, max);
  if (!pz__utf8_valid(s, len))
    return pz__fail(PZ_EINVAL, "%s is not valid UTF-8", what);
  if (len_out) *len_out = len;
  return PZ_OK;
}

int pz__check_finite(double v, const char *what) {
  if (isnan(v)) return pz__fail(PZ_EINVAL, "%s is NaN", what);
  if (isinf(v)) return pz__fail(PZ_EINVAL, "%s is infinite", what);
  return PZ_OK;
}
