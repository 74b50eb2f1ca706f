/*
 * Plain interaction files (pz_cf_import): a streaming reader that checks
 * every line and hands each data row to a callback.
 *
 * Formats (pz_cf_format):
 *  - TSV: user TAB item TAB value [TAB ts_seconds]. CSV: the same with
 *    commas; no quoting, so ids cannot hold the separator.
 *    The first line is a header, and is skipped, when it has 3 or 4 fields
 *    and its value field is not a number ("user item value",
 *    "userId,movieId,rating,timestamp"). Every data row has the field count
 *    of the first data row, 3 or 4.
 *  - MOVIELENS (ratings.csv): the header userId,movieId,rating,timestamp,
 *    exactly, then rows of 4 CSV fields.
 *  - UDATA (MovieLens 100k u.data): rows of 4 TAB-separated fields, no
 *    header.
 *  - AUTO: a first line with a TAB is TSV (so u.data reads as 4-field TSV,
 *    the same rows), else one with a comma is CSV (so ratings.csv is CSV
 *    with a header), else the file is refused. A file without any line
 *    reads as TSV.
 * Lines end in LF or CRLF; the last one may lack it. A UTF-8 byte order
 * mark before the first line is skipped (spreadsheets write one). Empty
 * lines may only end the file: one before a later line is an error, as the
 * row it stands for is missing. An empty file, or a header alone, is valid
 * and has no rows, whatever the format. Lines are at most 65536 bytes (not
 * counting the line end) and hold no NUL byte.
 * Ids are 1..PZ_ID_MAX bytes of UTF-8, taken as they are: spaces are part
 * of the id. A value is a finite decimal number read whatever the host's
 * locale; a timestamp is whole seconds in [0, 1e11]. Numeric fields admit
 * no spaces.
 *
 * Everything is checked before a row reaches the callback, and a malformed
 * line stops the read with PZ_EFORMAT and "path:line: what is wrong". The
 * only allocation is one read buffer from the engine's allocator; stdio is
 * told not to buffer, as it would allocate its own behind the allocator's
 * back (the FILE itself is libc's, like the config reader's).
 *
 * The interface (pz__irow, pz__cf_read_file) is declared in cf.h.
 */
#include "cf.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_LINE 65536
#define CHUNK 65536
/* Room for a whole line with its CRLF plus a chunk. */
#define BUF_CAP (MAX_LINE + 2 + CHUNK)
/* Longer numeric fields are refused without parsing. */
#define NUM_MAX 64
#define TS_MAX INT64_C(100000000000)
#define ML_HEADER "userId,movieId,rating,timestamp"

/* ---- lines --------------------------------------------------------------- */

typedef struct reader {
  const char *path;
  FILE *f;
  char *buf;       /* BUF_CAP bytes */
  size_t beg, end; /* unread bytes are buf[beg, end) */
  bool eof;
  uint64_t line; /* number of the line last returned */
} reader;

static int rd_open(reader *r, const pz__alloc *a, const char *path) {
  memset(r, 0, sizeof *r);
  r->path = path;
  r->f = fopen(path, "rb");
  if (!r->f)
    return pz__fail(PZ_EIO, "%s: cannot open: %s", path, strerror(errno));
  setvbuf(r->f, NULL, _IONBF, 0);
  r->buf = pz__malloc(a, BUF_CAP);
  if (!r->buf) {
    fclose(r->f);
    return PZ_ENOMEM;
  }
  return PZ_OK;
}

static void rd_close(reader *r, const pz__alloc *a) {
  fclose(r->f);
  pz__free(a, r->buf, BUF_CAP);
}

static int too_long(const reader *r) {
  return pz__fail(PZ_EFORMAT, "%s:%" PRIu64 ": line longer than %d bytes",
                  r->path, r->line, MAX_LINE);
}

/* The next line: n bytes at buf[beg] and `skip` bytes of line end. */
static int rd_take(reader *r, size_t n, size_t skip, char **s, size_t *len) {
  char *p = r->buf + r->beg;
  r->line++;
  r->beg += n + skip;
  if (n > 0 && p[n - 1] == '\r') n--;
  if (n > MAX_LINE) return too_long(r);
  *s = p;
  *len = n;
  return 1;
}

/* Move the unread tail to the front and read after it. */
static int rd_fill(reader *r) {
  size_t keep = r->end - r->beg;
  memmove(r->buf, r->buf + r->beg, keep);
  r->beg = 0;
  r->end = keep;
  size_t got = fread(r->buf + keep, 1, BUF_CAP - keep, r->f);
  if (got == 0) {
    if (ferror(r->f))
      return pz__fail(PZ_EIO, "%s: read error: %s", r->path, strerror(errno));
    r->eof = true;
  }
  r->end += got;
  return PZ_OK;
}

/* 1 and the next line in *s, *len; 0 at the end of the file; or an error. */
static int rd_next(reader *r, char **s, size_t *len) {
  for (;;) {
    size_t have = r->end - r->beg;
    const char *nl = memchr(r->buf + r->beg, '\n', have);
    if (nl) return rd_take(r, (size_t)(nl - (r->buf + r->beg)), 1, s, len);
    if (r->eof) return have ? rd_take(r, have, 0, s, len) : 0;
    /* no line end yet: even if a CR ends these bytes, the line is long */
    if (have > MAX_LINE + 1) {
      r->line++;
      return too_long(r);
    }
    int rc = rd_fill(r);
    if (rc != PZ_OK) return rc;
  }
}

/* ---- fields -------------------------------------------------------------- */

typedef struct field {
  const char *p;
  size_t n;
} field;

/* Split at sep into up to 4 fields; returns how many there are in all. */
static uint32_t split(const char *s, size_t n, char sep, field f[4]) {
  uint32_t k = 0;
  for (;;) {
    const char *e = memchr(s, sep, n);
    size_t fl = e ? (size_t)(e - s) : n;
    if (k < 4) f[k] = (field){s, fl};
    k++;
    if (!e) return k;
    s = e + 1;
    n -= fl + 1;
  }
}

/* A field for an error message: printable ASCII only (the message may be
 * shown anywhere, and the field may be invalid UTF-8), cut at 32 bytes. */
static const char *shown(const field *f, char out[40]) {
  size_t n = PZ__MIN(f->n, 32), w = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)f->p[i];
    out[w++] = c >= 0x20 && c < 0x7F ? (char)c : '?';
  }
  if (f->n > n) {
    memcpy(out + w, "...", 3);
    w += 3;
  }
  out[w] = '\0';
  return out;
}

/* A finite decimal number filling the whole field. */
static bool parse_number(const field *f, double *out) {
  char tmp[NUM_MAX + 1];
  if (f->n == 0 || f->n > NUM_MAX) return false;
  memcpy(tmp, f->p, f->n);
  tmp[f->n] = '\0';
  char *end;
  double v = pz__strtod_c(tmp, &end);
  if (end != tmp + f->n || !isfinite(v)) return false;
  *out = v;
  return true;
}

/* Whole seconds in [0, TS_MAX]: digits only, so no sign, point or space. */
static bool parse_seconds(const field *f, int64_t *out) {
  if (f->n == 0) return false;
  int64_t v = 0;
  for (size_t i = 0; i < f->n; i++) {
    if (f->p[i] < '0' || f->p[i] > '9') return false;
    v = v * 10 + (f->p[i] - '0');
    if (v > TS_MAX) return false;
  }
  *out = v;
  return true;
}

/* ---- rows ---------------------------------------------------------------- */

typedef struct parser {
  const char *path;
  int format;         /* AUTO until the first line decides */
  char sep;
  uint32_t want;      /* fields per row; 0 until the first data row */
  uint64_t want_line; /* the line that fixed `want`; 0 if the format did */
  uint64_t blank;     /* first of the empty lines seen since the last line */
  pz__irow_fn fn;
  void *ud;
} parser;

static int bad(const parser *p, uint64_t line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int bad(const parser *p, uint64_t line, const char *fmt, ...) {
  char what[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return pz__fail(PZ_EFORMAT, "%s:%" PRIu64 ": %s", p->path, line, what);
}

static int check_id(const parser *p, uint64_t line, const field *f,
                    const char *what) {
  if (f->n == 0) return bad(p, line, "%s id is empty", what);
  if (f->n > PZ_ID_MAX)
    return bad(p, line, "%s id is longer than %d bytes", what, PZ_ID_MAX);
  if (!pz__utf8_valid(f->p, f->n))
    return bad(p, line, "%s id is not valid UTF-8", what);
  return PZ_OK;
}

static int check_count(parser *p, uint64_t line, uint32_t n) {
  if (p->want == 0) {
    if (n != 3 && n != 4)
      return bad(p, line, "expected 3 or 4 fields, found %" PRIu32, n);
    p->want = n;
    p->want_line = line;
  } else if (n != p->want) {
    if (p->want_line)
      return bad(p, line,
                 "expected %" PRIu32 " fields as on line %" PRIu64
                 ", found %" PRIu32,
                 p->want, p->want_line, n);
    return bad(p, line, "expected %" PRIu32 " fields, found %" PRIu32, p->want,
               n);
  }
  return PZ_OK;
}

/* Check a data row and hand it over. */
static int data_row(parser *p, uint64_t line, const field *f, uint32_t n) {
  int rc = check_count(p, line, n);
  if (rc == PZ_OK) rc = check_id(p, line, &f[0], "user");
  if (rc == PZ_OK) rc = check_id(p, line, &f[1], "item");
  if (rc != PZ_OK) return rc;
  char q[40];
  pz__irow row = {f[0].p, f[0].n, f[1].p, f[1].n, 0, 0, n == 4, line};
  if (!parse_number(&f[2], &row.value))
    return bad(p, line, "value \"%s\" is not a finite number",
               shown(&f[2], q));
  if (row.has_ts) {
    if (!parse_seconds(&f[3], &row.ts_ms))
      return bad(p, line,
                 "timestamp \"%s\" is not whole seconds from 0 to %" PRId64,
                 shown(&f[3], q), TS_MAX);
    row.ts_ms *= 1000;
  }
  return p->fn ? p->fn(&row, p->ud) : PZ_OK;
}

/* The first line fixes the format; 1 if it is a header, 0 if it is data. */
static int first_line(parser *p, const char *s, size_t n) {
  if (p->format == PZ_CF_FORMAT_AUTO) {
    if (memchr(s, '\t', n)) p->format = PZ_CF_FORMAT_TSV;
    else if (memchr(s, ',', n)) p->format = PZ_CF_FORMAT_CSV;
    else
      return bad(p, 1,
                 "no TAB or comma in the first line: not TSV or CSV");
  }
  bool tabs = p->format == PZ_CF_FORMAT_TSV || p->format == PZ_CF_FORMAT_UDATA;
  p->sep = tabs ? '\t' : ',';
  switch (p->format) {
  case PZ_CF_FORMAT_MOVIELENS:
    p->want = 4;
    if (n != strlen(ML_HEADER) || memcmp(s, ML_HEADER, n) != 0)
      return bad(p, 1, "expected the MovieLens header \"" ML_HEADER "\"");
    return 1;
  case PZ_CF_FORMAT_UDATA:
    p->want = 4;
    return 0;
  default: {
    field f[4];
    uint32_t k = split(s, n, p->sep, f);
    double v;
    return (k == 3 || k == 4) && !parse_number(&f[2], &v);
  }
  }
}

/* Skip a UTF-8 byte order mark. */
static void skip_bom(char **s, size_t *n) {
  if (*n >= 3 && memcmp(*s, "\xEF\xBB\xBF", 3) == 0) {
    *s += 3;
    *n -= 3;
  }
}

static int read_rows(reader *r, parser *p) {
  char *s = NULL;
  size_t n = 0;
  int more;
  while ((more = rd_next(r, &s, &n)) > 0) {
    if (r->line == 1) skip_bom(&s, &n);
    if (n == 0) {
      if (!p->blank) p->blank = r->line;
      continue;
    }
    if (p->blank) return bad(p, p->blank, "empty line");
    if (memchr(s, '\0', n)) return bad(p, r->line, "NUL byte");
    if (r->line == 1) {
      int header = first_line(p, s, n);
      if (header < 0) return header;
      if (header) continue;
    }
    field f[4];
    uint32_t k = split(s, n, p->sep, f);
    int rc = data_row(p, r->line, f, k);
    if (rc != PZ_OK) return rc;
  }
  return more;
}

int pz__cf_read_file(const pz__alloc *a, const char *path, int format,
                     pz__irow_fn fn, void *ud, int *format_out) {
  if (!path) return pz__fail(PZ_EINVAL, "path is NULL");
  if (!path[0]) return pz__fail(PZ_EINVAL, "path is empty");
  if (format < PZ_CF_FORMAT_AUTO || format > PZ_CF_FORMAT_UDATA)
    return pz__fail(PZ_EINVAL, "format %d is not a pz_cf_format", format);
  reader r;
  int rc = rd_open(&r, a, path);
  if (rc != PZ_OK) return rc;
  parser p = {path, format, 0, 0, 0, 0, fn, ud};
  rc = read_rows(&r, &p);
  rd_close(&r, a);
  if (rc == PZ_OK && format_out)
    *format_out = p.format == PZ_CF_FORMAT_AUTO ? PZ_CF_FORMAT_TSV : p.format;
  return rc;
}
