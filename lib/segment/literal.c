/* Typed literals of segment rules: how a YAML scalar becomes a string,
 * number, bool or timestamp, and ISO-8601 dates. */
#include "segment.h"

#include <errno.h>
#include <math.h>
#include <string.h>

static bool digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

static int num(const char *s, size_t n) {
  int v = 0;
  for (size_t i = 0; i < n; i++) v = v * 10 + (s[i] - '0');
  return v;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static int month_days(int y, int m) {
  static const int md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : md[m - 1];
}

/* Looks like the start of a date: four digits, a dash, two digits. */
static bool date_like(const char *s, size_t len) {
  return len >= 7 && digits(s, 4) && s[4] == '-' && digits(s + 5, 2);
}

int pz__parse_date(const char *s, size_t len, int64_t *ms_out) {
  if (len < 10 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) ||
      s[7] != '-' || !digits(s + 8, 2))
    return -1;
  int y = num(s, 4), mo = num(s + 5, 2), d = num(s + 8, 2);
  if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo)) return -1;
  int64_t ms = days_from_civil(y, mo, d) * 86400000;
  size_t i = 10;
  if (i < len) {
    if ((s[i] != 'T' && s[i] != 't' && s[i] != ' ') || len < i + 6 ||
        !digits(s + i + 1, 2) || s[i + 3] != ':' || !digits(s + i + 4, 2))
      return -1;
    int h = num(s + i + 1, 2), mi = num(s + i + 4, 2), sec = 0, frac = 0;
    i += 6;
    if (i < len && s[i] == ':') {
      if (len < i + 3 || !digits(s + i + 1, 2)) return -1;
      sec = num(s + i + 1, 2);
      i += 3;
      if (i < len && s[i] == '.') { /* milliseconds; more digits ignored */
        size_t j = i + 1, n = 0;
        while (j < len && s[j] >= '0' && s[j] <= '9') {
          if (n < 3) frac = frac * 10 + (s[j] - '0');
          n++, j++;
        }
        if (n == 0) return -1;
        for (; n < 3; n++) frac *= 10;
        i = j;
      }
    }
    if (h > 23 || mi > 59 || sec > 59) return -1;
    ms += ((int64_t)h * 3600 + mi * 60 + sec) * 1000 + frac;
    if (i < len) {
      if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
        i++;
      } else if ((s[i] == '+' || s[i] == '-') && len == i + 6 &&
                 digits(s + i + 1, 2) && s[i + 3] == ':' &&
                 digits(s + i + 4, 2)) {
        int oh = num(s + i + 1, 2), om = num(s + i + 4, 2);
        if (oh > 23 || om > 59) return -1;
        int64_t off = ((int64_t)oh * 60 + om) * 60000;
        ms += s[i] == '+' ? -off : off;
        i = len;
      } else {
        return -1;
      }
    }
  }
  if (i != len) return -1;
  *ms_out = ms;
  return 0;
}

/* A number written plainly and entirely ("18", "-2.5", "1e3"). */
static bool plain_number(const pz__ynode *n, double *out) {
  if (!n->plain || !n->len) return false;
  char *end = NULL;
  errno = 0;
  double v = pz__strtod_c(n->str, &end);
  if (!end || *end || errno == ERANGE || !isfinite(v)) return false;
  *out = v;
  return true;
}

static int set_string(const pz__alloc *a, const pz__ydoc *d,
                      const pz__ynode *n, pz__lit *l) {
  if (n->len > PZ__ATTR_STR_MAX)
    return pz__y_err(d, n, "a value is at most %d bytes", PZ__ATTR_STR_MAX);
  if (n->len == 0) return pz__y_err(d, n, "a value may not be empty");
  if (!(l->v.s = pz__strndup(a, n->str, n->len))) return PZ_ENOMEM;
  l->type = PZ_ATTR_STRING;
  l->slen = (uint32_t)n->len;
  return PZ_OK;
}

int pz__seg_literal(const pz__alloc *a, const pz__ydoc *d, const pz__ynode *n,
                    int kind, pz__lit *l) {
  memset(l, 0, sizeof *l);
  if (n->kind != PZ__Y_SCALAR)
    return pz__y_err(d, n, "expected a single value");
  if (n->plain && (n->len == 0 || strcmp(n->str, "~") == 0 ||
                   strcmp(n->str, "null") == 0 || strcmp(n->str, "Null") == 0 ||
                   strcmp(n->str, "NULL") == 0))
    return pz__y_err(d, n, "null is not a value (to test for a missing "
                           "attribute, use exists: false)");
  if (kind == 2) return set_string(a, d, n, l);
  if (kind == 3) {
    if (!plain_number(n, &l->v.num))
      return pz__y_err(d, n, "expected a number, not \"%s\"", n->str);
    l->type = PZ_ATTR_NUMBER;
    return PZ_OK;
  }
  /* dates: plain, or quoted where only a number or date can be meant */
  if (date_like(n->str, n->len) && (n->plain || kind == 1)) {
    if (pz__parse_date(n->str, n->len, &l->v.ts))
      return pz__y_err(d, n, "bad date \"%s\" (expected ISO-8601 such as "
                             "2024-05-31 or 2024-05-31T12:00:00Z)", n->str);
    l->type = PZ_ATTR_TIMESTAMP;
    return PZ_OK;
  }
  if (plain_number(n, &l->v.num)) {
    l->type = PZ_ATTR_NUMBER;
    return PZ_OK;
  }
  if (kind == 1)
    return pz__y_err(d, n, "expected a number or a date, not \"%s\"", n->str);
  if (n->plain && (strcmp(n->str, "true") == 0 || strcmp(n->str, "false") == 0)) {
    l->type = PZ_ATTR_BOOL;
    l->v.b = n->str[0] == 't';
    return PZ_OK;
  }
  return set_string(a, d, n, l);
}

void pz__seg_literal_free(const pz__alloc *a, pz__lit *l) {
  if (l->type == PZ_ATTR_STRING) pz__free(a, l->v.s, (size_t)l->slen + 1);
}
