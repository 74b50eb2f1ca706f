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
  const char *dp = localeconv()->decimal_point;
  if (!dp || (dp[0] == '.' && dp[1] == '\0')) return strtod(s, end);
  char tmp[128];
  size_t len = strlen(s), dlen = strlen(dp);
  const char *dot = strchr(s, '.');
  if (!dot || len + dlen >= sizeof tmp) return strtod(s, end);
  size_t pre = (size_t)(dot - s);
  memcpy(tmp, s, pre);
  memcpy(tmp + pre, dp, dlen);
  memcpy(tmp + pre + dlen, dot + 1, len - pre); /* with the NUL */
  char *tend;
  double v = strtod(tmp, &tend);
  size_t used = (size_t)(tend - tmp);
  if (end) *end = (char *)s + (used > pre ? used - dlen + 1 : used);
  return v;
}

void pz__fix_decimal_point(char *s) {
  const char *dp = localeconv()->decimal_point;
  if (!dp || dp[0] == '.' || dp[0] == '\0' || dp[1] != '\0') return;
  for (; *s; s++)
    if (*s == dp[0]) *s = '.';
}
