/* Id hashing and the system clock. */
#define _POSIX_C_SOURCE 200809L
#include "core.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

uint64_t pz__hash_bytes(const void *p, size_t len, uint64_t seed) {
  return XXH3_64bits_withSeed(p, len, seed);
}

int64_t pz__clock_system(void *ud) {
  (void)ud;
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return 0;
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Config files and exports use '.', but strtod and printf follow the
 * host's LC_NUMERIC, which an embedding program may have set to a locale
 * with a decimal comma. */
double pz__strtod_c(const char *s, char **end) {
  /* Only the plain decimal prefix is read (digits, sign, '.', exponent):
   * hex floats, "inf", "nan" and a locale's "1,5" all stop early, and the
   * caller sees the rest as trailing garbage. */
  size_t len = strspn(s, "0123456789+-.eE");
  const char *dp = localeconv()->decimal_point;
  if (!dp || !dp[0]) dp = ".";
  size_t dlen = strlen(dp);
  char tmp[160];
  if (len + dlen >= sizeof tmp) len = sizeof tmp - dlen - 1;
  /* copy the prefix, writing the locale's decimal point for '.' */
  size_t w = 0, dot_at = SIZE_MAX;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '.' && dot_at == SIZE_MAX) {
      dot_at = i;
      memcpy(tmp + w, dp, dlen);
      w += dlen;
    } else {
      tmp[w++] = s[i];
    }
  }
  tmp[w] = '\0';
  char *tend;
  double v = strtod(tmp, &tend);
  size_t used = (size_t)(tend - tmp);
  if (dot_at != SIZE_MAX && used > dot_at) used -= dlen - 1;
  if (end) *end = (char *)s + used;
  return v;
}

void pz__fix_decimal_point(char *s) {
  const char *dp = localeconv()->decimal_point;
  if (!dp || dp[0] == '.' || dp[0] == '\0' || dp[1] != '\0') return;
  for (; *s; s++)
    if (*s == dp[0]) *s = '.';
}
