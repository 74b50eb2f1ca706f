/* CF import: the plain interaction file reader behind pz_cf_import. Each
 * format with and without header and timestamps, line ends, the checks a
 * malformed line must fail (with path:line in the message), streaming
 * across the read buffer, a callback that stops the read, and the one
 * allocation failing, and MovieLens latest-small when it is there. Every
 * read goes through a counting allocator and must leave nothing allocated
 * and no file open, whatever its outcome. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support.h"
#include "cf/cf.h"

/* ---- files --------------------------------------------------------------- */

static char g_dir[64];
static char g_path[128];

static int make_dir(void **state) {
  (void)state;
  return test_tmpdir_make(g_dir, "pz_cf_import");
}

static int remove_dir(void **state) {
  (void)state;
  return test_tmpdir_remove(g_dir);
}

/* A new file in the test directory, open for writing; its path in g_path. */
static FILE *create(const char *name) {
  snprintf(g_path, sizeof g_path, "%s/%s", g_dir, name);
  FILE *f = fopen(g_path, "wb");
  assert_non_null(f);
  return f;
}

static const char *put_bytes(const char *name, const char *data, size_t len) {
  FILE *f = create(name);
  assert_int_equal(fwrite(data, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
  return g_path;
}

static const char *put(const char *name, const char *text) {
  return put_bytes(name, text, strlen(text));
}

/* ---- reading ------------------------------------------------------------- */

typedef struct got_row {
  char user[PZ_ID_MAX + 1], item[PZ_ID_MAX + 1];
  double value;
  int64_t ts_ms;
  bool has_ts;
  uint64_t line;
} got_row;

typedef struct got {
  got_row row[8]; /* the first rows */
  size_t n;       /* rows delivered */
  size_t stop_at; /* return 7 from this row on (1-based); 0 never */
} got;

static int collect(const pz__irow *r, void *ud) {
  got *g = ud;
  if (g->n < 8) {
    got_row *c = &g->row[g->n];
    assert_true(r->ulen <= PZ_ID_MAX && r->ilen <= PZ_ID_MAX);
    memcpy(c->user, r->user, r->ulen);
    c->user[r->ulen] = '\0';
    memcpy(c->item, r->item, r->ilen);
    c->item[r->ilen] = '\0';
    c->value = r->value;
    c->ts_ms = r->ts_ms;
    c->has_ts = r->has_ts;
    c->line = r->line;
  }
  g->n++;
  return g->stop_at && g->n >= g->stop_at ? 7 : 0;
}

/* Open file descriptors (Linux; -1 elsewhere). */
static int open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return -1;
  int n = 0;
  while (readdir(d)) n++;
  closedir(d);
  return n;
}

/* Read with a counting allocator, which must be left with nothing live,
 * and no file may be left open. */
static int read_with(const char *path, int format, pz__irow_fn fn, void *ud,
                     int *fmt) {
  test_alloc ta;
  test_alloc_reset(&ta);
  pz__alloc a = {test_alloc_fn, &ta};
  int fds = open_fds();
  int rc = pz__cf_read_file(&a, path, format, fn, ud, fmt);
  assert_int_equal(ta.live_blocks, 0);
  assert_int_equal(ta.bad_osize, 0);
  assert_int_equal(open_fds(), fds);
  return rc;
}

/* Validate, then read into *g (cleared first); both must agree. */
static int read_rows(const char *path, int format, got *g, int *fmt) {
  int rc0 = read_with(path, format, NULL, NULL, NULL);
  memset(g, 0, sizeof *g);
  int rc = read_with(path, format, collect, g, fmt);
  assert_int_equal(rc0, rc);
  return rc;
}

static void assert_row(const got_row *r, const char *user, const char *item,
                       double value, int64_t ts_ms, bool has_ts,
                       uint64_t line) {
  assert_string_equal(r->user, user);
  assert_string_equal(r->item, item);
  assert_true(r->value == value);
  assert_int_equal(r->has_ts, has_ts);
  if (has_ts) assert_int_equal(r->ts_ms, ts_ms);
  assert_int_equal(r->line, line);
}

/* The file must read as `format_want` with `rows` rows. */
static void reads(const char *text, int format, int format_want, size_t rows,
                  got *g) {
  int fmt = -1;
  assert_int_equal(read_rows(put("ok", text), format, g, &fmt), PZ_OK);
  assert_int_equal(fmt, format_want);
  assert_int_equal(g->n, rows);
}

/* The bytes must be refused with `code` and a message that begins with
 * "path:line: " (line 0: with "path: ") and mentions `what`. Validation
 * and reading must both refuse it, before any row reaches the callback
 * when the bad line is the first data row. */
static void refused_bytes(const char *data, size_t len, int format, int code,
                          unsigned line, const char *what) {
  const char *path = put_bytes("bad", data, len);
  got g;
  int fmt = -1;
  int rc = read_rows(path, format, &g, &fmt);
  const char *msg = pz_errmsg();
  if (rc != code)
    fail_msg("rc %d (%s), expected %d; errmsg: %s", rc, pz_strerror(rc), code,
             msg);
  assert_int_equal(fmt, -1);
  char head[sizeof g_path + 32];
  if (line) snprintf(head, sizeof head, "%s:%u: ", path, line);
  else snprintf(head, sizeof head, "%s: ", path);
  if (strncmp(msg, head, strlen(head)) != 0 || !strstr(msg, what))
    fail_msg("errmsg \"%s\" should begin with \"%s\" and mention \"%s\"", msg,
             head, what);
}

static void refused(const char *text, int format, unsigned line,
                    const char *what) {
  refused_bytes(text, strlen(text), format, PZ_EFORMAT, line, what);
}

/* ---- formats ------------------------------------------------------------- */

static void test_cf_import_tsv(void **state) {
  (void)state;
  got g;
  reads("alice\titem1\t4.5\t964982703\nbob\titem2\t-1\t0\n",
        PZ_CF_FORMAT_TSV, PZ_CF_FORMAT_TSV, 2, &g);
  assert_row(&g.row[0], "alice", "item1", 4.5, 964982703000LL, true, 1);
  assert_row(&g.row[1], "bob", "item2", -1, 0, true, 2);

  reads("alice\titem1\t1\nbob\titem1\t2.25\n", PZ_CF_FORMAT_TSV,
        PZ_CF_FORMAT_TSV, 2, &g);
  assert_row(&g.row[0], "alice", "item1", 1, 0, false, 1);
  assert_row(&g.row[1], "bob", "item1", 2.25, 0, false, 2);

  /* a header is recognised by its value field, with or without ts */
  reads("user\titem\tvalue\nalice\ti\t2\n", PZ_CF_FORMAT_TSV,
        PZ_CF_FORMAT_TSV, 1, &g);
  assert_row(&g.row[0], "alice", "i", 2, 0, false, 2);
  reads("user\titem\tvalue\tts\nalice\ti\t2\t60\n", PZ_CF_FORMAT_TSV,
        PZ_CF_FORMAT_TSV, 1, &g);
  assert_row(&g.row[0], "alice", "i", 2, 60000, true, 2);

  /* ids are taken as they are: spaces, commas and any UTF-8 */
  reads(" alice \t i,1 \t3\nm\xc3\xbasica\t\xe6\x97\xa5\xf0\x9f\x8e\xb7\t1\n",
        PZ_CF_FORMAT_TSV, PZ_CF_FORMAT_TSV, 2, &g);
  assert_row(&g.row[0], " alice ", " i,1 ", 3, 0, false, 1);
  assert_row(&g.row[1], "m\xc3\xbasica", "\xe6\x97\xa5\xf0\x9f\x8e\xb7", 1, 0,
             false, 2);
}

static void test_cf_import_csv(void **state) {
  (void)state;
  got g;
  reads("alice,item1,4.5,964982703\nbob,item2,3,1\n", PZ_CF_FORMAT_CSV,
        PZ_CF_FORMAT_CSV, 2, &g);
  assert_row(&g.row[0], "alice", "item1", 4.5, 964982703000LL, true, 1);
  assert_row(&g.row[1], "bob", "item2", 3, 1000, true, 2);

  reads("alice,item1,0.5\n", PZ_CF_FORMAT_CSV, PZ_CF_FORMAT_CSV, 1, &g);
  assert_row(&g.row[0], "alice", "item1", 0.5, 0, false, 1);

  /* a ratings.csv header is an ordinary CSV header */
  reads("userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n",
        PZ_CF_FORMAT_CSV, PZ_CF_FORMAT_CSV, 1, &g);
  assert_row(&g.row[0], "1", "31", 2.5, 1260759144000LL, true, 2);
  reads("user,item,value\nu,i,1e2\n", PZ_CF_FORMAT_CSV, PZ_CF_FORMAT_CSV, 1,
        &g);
  assert_row(&g.row[0], "u", "i", 100, 0, false, 2);

  /* no quoting; a TAB is part of an id */
  reads("\"a\tb\",c,1\n", PZ_CF_FORMAT_CSV, PZ_CF_FORMAT_CSV, 1, &g);
  assert_row(&g.row[0], "\"a\tb\"", "c", 1, 0, false, 1);
}

static void test_cf_import_movielens(void **state) {
  (void)state;
  got g;
  reads("userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n"
        "1,3,4.0,964981247\r\n",
        PZ_CF_FORMAT_MOVIELENS, PZ_CF_FORMAT_MOVIELENS, 2, &g);
  assert_row(&g.row[0], "1", "1", 4, 964982703000LL, true, 2);
  assert_row(&g.row[1], "1", "3", 4, 964981247000LL, true, 3);
  reads("userId,movieId,rating,timestamp", PZ_CF_FORMAT_MOVIELENS,
        PZ_CF_FORMAT_MOVIELENS, 0, &g);

  /* the header is required, exactly */
  refused("userid,movieId,rating,timestamp\n1,1,4.0,964982703\n",
          PZ_CF_FORMAT_MOVIELENS, 1, "userId,movieId,rating,timestamp");
  refused("1,1,4.0,964982703\n", PZ_CF_FORMAT_MOVIELENS, 1,
          "userId,movieId,rating,timestamp");
  refused("userId\tmovieId\trating\ttimestamp\n", PZ_CF_FORMAT_MOVIELENS, 1,
          "MovieLens header");
  /* then 4 fields */
  refused("userId,movieId,rating,timestamp\n1,1,4.0\n", PZ_CF_FORMAT_MOVIELENS,
          2, "expected 4 fields, found 3");
}

static void test_cf_import_udata(void **state) {
  (void)state;
  static const char udata[] =
      "196\t242\t3\t881250949\n186\t302\t3\t891717742\n";
  got g;
  reads(udata, PZ_CF_FORMAT_UDATA, PZ_CF_FORMAT_UDATA, 2, &g);
  assert_row(&g.row[0], "196", "242", 3, 881250949000LL, true, 1);
  assert_row(&g.row[1], "186", "302", 3, 891717742000LL, true, 2);
  /* AUTO reads it as 4-field TSV: the same rows */
  reads(udata, PZ_CF_FORMAT_AUTO, PZ_CF_FORMAT_TSV, 2, &g);
  assert_row(&g.row[0], "196", "242", 3, 881250949000LL, true, 1);
  assert_row(&g.row[1], "186", "302", 3, 891717742000LL, true, 2);

  refused("196\t242\t3\n", PZ_CF_FORMAT_UDATA, 1, "expected 4 fields, found 3");
  /* no header */
  refused("user\titem\trating\ttimestamp\n196\t242\t3\t881250949\n",
          PZ_CF_FORMAT_UDATA, 1, "value \"rating\" is not a finite number");
  refused("196,242,3,881250949\n", PZ_CF_FORMAT_UDATA, 1,
          "expected 4 fields, found 1");
}

static void test_cf_import_auto(void **state) {
  (void)state;
  got g;
  reads("a\tb\t1\n", PZ_CF_FORMAT_AUTO, PZ_CF_FORMAT_TSV, 1, &g);
  reads("a,b,1\n", PZ_CF_FORMAT_AUTO, PZ_CF_FORMAT_CSV, 1, &g);
  reads("userId,movieId,rating,timestamp\n1,2,3,4\n", PZ_CF_FORMAT_AUTO,
        PZ_CF_FORMAT_CSV, 1, &g);
  assert_row(&g.row[0], "1", "2", 3, 4000, true, 2);
  /* a TAB wins over a comma */
  reads("a,1\tb\t1\n", PZ_CF_FORMAT_AUTO, PZ_CF_FORMAT_TSV, 1, &g);
  assert_row(&g.row[0], "a,1", "b", 1, 0, false, 1);
  /* nothing to go by: TSV, no rows */
  reads("", PZ_CF_FORMAT_AUTO, PZ_CF_FORMAT_TSV, 0, &g);
  reads("\n\r\n", PZ_CF_FORMAT_AUTO, PZ_CF_FORMAT_TSV, 0, &g);
  /* the first line decides, later lines follow it */
  refused("a b 1\n", PZ_CF_FORMAT_AUTO, 1, "no TAB or comma");
  refused("a\tb\t1\nc,d,2\n", PZ_CF_FORMAT_AUTO, 2,
          "expected 3 fields as on line 1, found 1");
}

/* ---- lines --------------------------------------------------------------- */

static void test_cf_import_line_ends(void **state) {
  (void)state;
  got g;
  reads("a\tb\t1\r\nc\td\t2\r\n", PZ_CF_FORMAT_TSV, PZ_CF_FORMAT_TSV, 2, &g);
  assert_row(&g.row[0], "a", "b", 1, 0, false, 1);
  assert_row(&g.row[1], "c", "d", 2, 0, false, 2);
  reads("a,b,1,5\nc,d,2,6\r\ne,f,3,7", PZ_CF_FORMAT_CSV, PZ_CF_FORMAT_CSV, 3,
        &g);
  assert_row(&g.row[1], "c", "d", 2, 6000, true, 2);
  assert_row(&g.row[2], "e", "f", 3, 7000, true, 3);
  reads("a\tb\t1", PZ_CF_FORMAT_TSV, PZ_CF_FORMAT_TSV, 1, &g);
  assert_row(&g.row[0], "a", "b", 1, 0, false, 1);
  /* empty lines may end the file */
  reads("a\tb\t1\n\n\r\n\n", PZ_CF_FORMAT_TSV, PZ_CF_FORMAT_TSV, 1, &g);
  /* a UTF-8 byte order mark is not part of the first id or header */
  reads("\xEF\xBB\xBFu\ti\t1\n", PZ_CF_FORMAT_AUTO, PZ_CF_FORMAT_TSV, 1, &g);
  assert_row(&g.row[0], "u", "i", 1, 0, false, 1);
  reads("\xEF\xBB\xBFuserId,movieId,rating,timestamp\r\n1,2,3,4\r\n",
        PZ_CF_FORMAT_MOVIELENS, PZ_CF_FORMAT_MOVIELENS, 1, &g);
  /* but not elsewhere */
  refused("a\tb\t1\n\n\nc\td\t2\n", PZ_CF_FORMAT_TSV, 2, "empty line");
  refused("\na\tb\t1\n", PZ_CF_FORMAT_TSV, 1, "empty line");
  refused("a\tb\t1\n\r\nc\td\t2", PZ_CF_FORMAT_AUTO, 2, "empty line");
  /* a line of spaces is not empty */
  refused("a\tb\t1\n  \n", PZ_CF_FORMAT_TSV, 2, "expected 3 fields");
}

static void test_cf_import_empty_and_header_only(void **state) {
  (void)state;
  got g;
  for (int f = PZ_CF_FORMAT_TSV; f <= PZ_CF_FORMAT_UDATA; f++)
    reads("", f, f, 0, &g);
  reads("user\titem\tvalue\n", PZ_CF_FORMAT_TSV, PZ_CF_FORMAT_TSV, 0, &g);
  reads("user,item,value,timestamp", PZ_CF_FORMAT_CSV, PZ_CF_FORMAT_CSV, 0,
        &g);
  reads("userId,movieId,rating,timestamp\n\n", PZ_CF_FORMAT_MOVIELENS,
        PZ_CF_FORMAT_MOVIELENS, 0, &g);
  reads("userId,movieId,rating,timestamp\n", PZ_CF_FORMAT_AUTO,
        PZ_CF_FORMAT_CSV, 0, &g);
}

static void test_cf_import_field_counts(void **state) {
  (void)state;
  refused("a\tb\t1\nc\td\t2\t5\n", PZ_CF_FORMAT_TSV, 2,
          "expected 3 fields as on line 1, found 4");
  refused("user\titem\tvalue\tts\na\tb\t1\t5\nc\td\t2\n", PZ_CF_FORMAT_TSV,
          3, "expected 4 fields as on line 2, found 3");
  refused("a\tb\n", PZ_CF_FORMAT_TSV, 1, "expected 3 or 4 fields, found 2");
  refused("a,b,1,2,3\n", PZ_CF_FORMAT_CSV, 1,
          "expected 3 or 4 fields, found 5");
  refused("user,item\n", PZ_CF_FORMAT_CSV, 1,
          "expected 3 or 4 fields, found 2");
  /* a trailing separator is one more, empty, field */
  refused("a\tb\t1\t\n", PZ_CF_FORMAT_TSV, 1, "timestamp \"\"");
  refused("a,b,1,2\na,b,1,2,\n", PZ_CF_FORMAT_CSV, 2,
          "expected 4 fields as on line 1, found 5");
}

/* ---- fields -------------------------------------------------------------- */

static void test_cf_import_numbers(void **state) {
  (void)state;
  static const char *const bad_values[] = {
      "NaN", "nan", "inf", "-inf", "1e999", "-1e999", "abc", " 4", "4 ", "",
      "1,5", "0x10", "1e", "--1", "4.0.1", "1 000", "\xff"};
  static const char *const bad_ts[] = {
      "-1", "1.5", "100000000001", "99999999999999999999999", " 5", "5 ", "",
      "1e3", "+5", "0x10"};
  char text[256], what[64];
  for (size_t i = 0; i < sizeof bad_values / sizeof *bad_values; i++) {
    /* after a data row, so that the line cannot be a header */
    snprintf(text, sizeof text, "a\tb\t1\t1\nu\ti\t%s\t5\n", bad_values[i]);
    snprintf(what, sizeof what, "value \"%s\" is not a finite number",
             bad_values[i][0] == '\xff' ? "?" : bad_values[i]);
    refused(text, PZ_CF_FORMAT_TSV, 2, what);
  }
  for (size_t i = 0; i < sizeof bad_ts / sizeof *bad_ts; i++) {
    snprintf(text, sizeof text, "a,b,1,1\nu,i,2,%s\n", bad_ts[i]);
    snprintf(what, sizeof what, "timestamp \"%s\" is not whole seconds",
             bad_ts[i]);
    refused(text, PZ_CF_FORMAT_CSV, 2, what);
  }
  got g;
  reads("a\tb\t-1.5\nc\td\t+2\ne\tf\t.5\ng\th\t1E-999\ni\tj\t-0\n",
        PZ_CF_FORMAT_TSV, PZ_CF_FORMAT_TSV, 5, &g);
  assert_true(g.row[0].value == -1.5);
  assert_true(g.row[1].value == 2);
  assert_true(g.row[2].value == 0.5);
  assert_true(g.row[3].value == 0);
  assert_true(g.row[4].value == 0);
  reads("a\tb\t1\t0\na\tb\t1\t100000000000\na\tb\t1\t00012\n",
        PZ_CF_FORMAT_TSV, PZ_CF_FORMAT_TSV, 3, &g);
  assert_int_equal(g.row[0].ts_ms, 0);
  assert_int_equal(g.row[1].ts_ms, 100000000000000LL);
  assert_int_equal(g.row[2].ts_ms, 12000);
  /* a long field is cut in the message */
  refused("a\tb\t1\na\tb\t1234567890123456789012345678901234567890x\n",
          PZ_CF_FORMAT_TSV, 2, "\"12345678901234567890123456789012...\"");
}

/* A host with a decimal-comma locale still reads "2.5", and "2,5" stays
 * wrong. */
static void test_cf_import_numbers_ignore_host_locale(void **state) {
  (void)state;
  static const char *const comma[] = {"de_DE.UTF-8", "fr_FR.UTF-8",
                                      "de_DE.utf8", "nl_NL.UTF-8"};
  const char *on = NULL;
  for (size_t i = 0; i < 4 && !on; i++) on = setlocale(LC_NUMERIC, comma[i]);
  if (!on) {
    print_message("      no decimal-comma locale installed: skipped\n");
    skip();
  }
  got g;
  int fmt;
  int rc = read_rows(put("ok", "a\tb\t2.5\n"), PZ_CF_FORMAT_TSV, &g, &fmt);
  double v = g.row[0].value;
  int rc_comma =
      read_rows(put("bad", "a\tb\t1\na\tb\t2,5\n"), PZ_CF_FORMAT_TSV, &g, &fmt);
  setlocale(LC_NUMERIC, "C");
  assert_int_equal(rc, PZ_OK);
  assert_true(v == 2.5);
  assert_int_equal(rc_comma, PZ_EFORMAT);
}

static void test_cf_import_ids(void **state) {
  (void)state;
  char text[1024], id[PZ_ID_MAX + 2];
  memset(id, 'x', sizeof id - 1);
  id[sizeof id - 1] = '\0'; /* 256 bytes */
  snprintf(text, sizeof text, "a\tb\t1\nu\t%s\t1\n", id);
  refused(text, PZ_CF_FORMAT_TSV, 2, "item id is longer than 255 bytes");
  snprintf(text, sizeof text, "%s,i,1\n", id);
  refused(text, PZ_CF_FORMAT_CSV, 1, "user id is longer than 255 bytes");
  /* 255 bytes, the last character two bytes long */
  memcpy(id + 253, "\xc3\xa9", 3);
  snprintf(text, sizeof text, "%s\t%s\t1\n", id, id);
  got g;
  reads(text, PZ_CF_FORMAT_TSV, PZ_CF_FORMAT_TSV, 1, &g);
  assert_string_equal(g.row[0].user, id);
  assert_string_equal(g.row[0].item, id);

  refused("a\tb\t1\n\xff\tb\t1\n", PZ_CF_FORMAT_TSV, 2,
          "user id is not valid UTF-8");
  refused("a,\xc0\x80,1\n", PZ_CF_FORMAT_CSV, 1, "item id is not valid UTF-8");
  refused("a,\xed\xa0\x80,1\n", PZ_CF_FORMAT_CSV, 1,
          "item id is not valid UTF-8");
  refused("a,b,1\n,b,1\n", PZ_CF_FORMAT_CSV, 2, "user id is empty");
  refused("a\t\t1\n", PZ_CF_FORMAT_TSV, 1, "item id is empty");
}

static void test_cf_import_nul_byte(void **state) {
  (void)state;
  static const char row[] = "a\tb\t1\nc\0d\te\t1\n";
  refused_bytes(row, sizeof row - 1, PZ_CF_FORMAT_TSV, PZ_EFORMAT, 2,
                "NUL byte");
  static const char value[] = "a,b,1\na,b,1\0\n";
  refused_bytes(value, sizeof value - 1, PZ_CF_FORMAT_CSV, PZ_EFORMAT, 2,
                "NUL byte");
  static const char header[] = "user\titem\0\tvalue\n";
  refused_bytes(header, sizeof header - 1, PZ_CF_FORMAT_AUTO, PZ_EFORMAT, 1,
                "NUL byte");
  /* a NUL makes a line at the end not empty */
  static const char tail[] = "a\tb\t1\n\n\0";
  refused_bytes(tail, sizeof tail - 1, PZ_CF_FORMAT_TSV, PZ_EFORMAT, 2,
                "empty line");
}

static void test_cf_import_long_lines(void **state) {
  (void)state;
  size_t cap = 70100, n;
  char *text = malloc(cap);
  assert_non_null(text);
  /* a 70000-byte line */
  n = (size_t)snprintf(text, cap, "a\tb\t1\nu\t");
  memset(text + n, 'x', 70000 - 2);
  n += 70000 - 2;
  n += (size_t)snprintf(text + n, cap - n, "\nv\ti\t1\n");
  refused_bytes(text, n, PZ_CF_FORMAT_TSV, PZ_EFORMAT, 2,
                "line longer than 65536 bytes");
  /* the same as the last line, without a line end */
  refused_bytes(text, n - 7, PZ_CF_FORMAT_TSV, PZ_EFORMAT, 2,
                "line longer than 65536 bytes");
  /* 65536 bytes is long enough to be read (and refused for its content),
   * with either line end; one more is too long */
  memset(text, 'x', 65537);
  memcpy(text + 65536, "\r\n", 2);
  refused_bytes(text, 65538, PZ_CF_FORMAT_TSV, PZ_EFORMAT, 1,
                "expected 3 or 4 fields, found 1");
  refused_bytes(text, 65536, PZ_CF_FORMAT_TSV, PZ_EFORMAT, 1,
                "expected 3 or 4 fields, found 1");
  memset(text, 'x', 65537);
  memcpy(text + 65537, "\r\n", 2);
  refused_bytes(text, 65539, PZ_CF_FORMAT_TSV, PZ_EFORMAT, 1,
                "line longer than 65536 bytes");
  refused_bytes(text, 65537, PZ_CF_FORMAT_TSV, PZ_EFORMAT, 1,
                "line longer than 65536 bytes");
  free(text);
}

/* ---- calls --------------------------------------------------------------- */

static void test_cf_import_bad_calls(void **state) {
  (void)state;
  test_alloc ta;
  test_alloc_reset(&ta);
  pz__alloc a = {test_alloc_fn, &ta};
  int fmt = -1;
  const char *path = put("ok", "a\tb\t1\n");
  assert_int_equal(pz__cf_read_file(&a, NULL, 0, NULL, NULL, &fmt), PZ_EINVAL);
  assert_non_null(strstr(pz_errmsg(), "path"));
  assert_int_equal(pz__cf_read_file(&a, "", 0, NULL, NULL, &fmt), PZ_EINVAL);
  assert_non_null(strstr(pz_errmsg(), "path"));
  assert_int_equal(pz__cf_read_file(&a, path, 5, NULL, NULL, &fmt), PZ_EINVAL);
  assert_non_null(strstr(pz_errmsg(), "format 5"));
  assert_int_equal(pz__cf_read_file(&a, path, -1, NULL, NULL, &fmt),
                   PZ_EINVAL);
  assert_int_equal(fmt, -1);
  assert_int_equal(ta.count, 0);

  /* missing file; a directory cannot be read */
  snprintf(g_path, sizeof g_path, "%s/missing.tsv", g_dir);
  assert_int_equal(read_with(g_path, PZ_CF_FORMAT_AUTO, NULL, NULL, &fmt),
                   PZ_EIO);
  assert_non_null(strstr(pz_errmsg(), "missing.tsv: cannot open: "));
  assert_int_equal(read_with(g_dir, PZ_CF_FORMAT_AUTO, NULL, NULL, &fmt),
                   PZ_EIO);
  assert_non_null(strstr(pz_errmsg(), ": read error: "));
  assert_int_equal(fmt, -1);
}

static void test_cf_import_callback_stops(void **state) {
  (void)state;
  const char *path = put("ok", "a\tb\t1\nc\td\t2\ne\tf\t3\ng\th\t4\n");
  got g;
  memset(&g, 0, sizeof g);
  g.stop_at = 2;
  int fmt = -1;
  assert_int_equal(read_with(path, PZ_CF_FORMAT_TSV, collect, &g, &fmt), 7);
  assert_int_equal(g.n, 2);
  assert_row(&g.row[1], "c", "d", 2, 0, false, 2);
  assert_int_equal(fmt, -1);
  /* even at the last row */
  memset(&g, 0, sizeof g);
  g.stop_at = 4;
  assert_int_equal(read_with(path, PZ_CF_FORMAT_TSV, collect, &g, NULL), 7);
  assert_int_equal(g.n, 4);
}

/* ---- streaming ----------------------------------------------------------- */

typedef struct big {
  size_t n, bad;
  uint64_t first_line;
} big;

/* Row i of the large file: ids of 1 to 255 bytes, so that rows straddle
 * the read buffer's boundaries at every offset. */
static void big_row(size_t i, char *user, char *item, size_t *ilen) {
  sprintf(user, "user%zu", i);
  *ilen = i % PZ_ID_MAX + 1;
  memset(item, 'a' + (int)(i % 26), *ilen);
  item[*ilen] = '\0';
}

static int check_big(const pz__irow *r, void *ud) {
  big *b = ud;
  size_t i = b->n++, ilen;
  char user[32], item[PZ_ID_MAX + 1];
  big_row(i, user, item, &ilen);
  bool ok = r->ulen == strlen(user) && memcmp(r->user, user, r->ulen) == 0 &&
            r->ilen == ilen && memcmp(r->item, item, ilen) == 0 &&
            r->value == (double)i * 0.25 && r->has_ts &&
            r->ts_ms == (int64_t)i * 1000 && r->line == b->first_line + i;
  if (!ok && b->bad++ == 0)
    print_error("row %zu: %.*s %.*s %g %lld line %llu\n", i, (int)r->ulen,
                r->user, (int)r->ilen, r->item, r->value,
                (long long)r->ts_ms, (unsigned long long)r->line);
  return 0;
}

static void test_cf_import_large_file(void **state) {
  (void)state;
  enum { ROWS = 50000 };
  FILE *f = create("big.csv");
  fputs("user,item,value,timestamp\r\n", f);
  char user[32], item[PZ_ID_MAX + 1];
  size_t ilen;
  for (size_t i = 0; i < ROWS; i++) {
    big_row(i, user, item, &ilen);
    fprintf(f, "%s,%s,%.2f,%zu%s", user, item, (double)i * 0.25, i,
            i % 3 ? "\n" : "\r\n");
  }
  assert_true(ftell(f) > 4 * 1000 * 1000);
  assert_int_equal(fclose(f), 0);
  big b = {0, 0, 2};
  int fmt = -1;
  assert_int_equal(read_with(g_path, PZ_CF_FORMAT_AUTO, check_big, &b, &fmt),
                   PZ_OK);
  assert_int_equal(fmt, PZ_CF_FORMAT_CSV);
  assert_int_equal(b.bad, 0);
  assert_int_equal(b.n, ROWS);
}

typedef struct fixed {
  size_t n, bad;
} fixed;

static int check_fixed(const pz__irow *r, void *ud) {
  fixed *x = ud;
  char user[32], item[32];
  snprintf(user, sizeof user, "u%05zu", x->n);
  snprintf(item, sizeof item, "i%04zu", x->n % 10000);
  if (r->ulen != 6 || memcmp(r->user, user, 6) != 0 || r->ilen != 5 ||
      memcmp(r->item, item, 5) != 0 || r->value != 1 || r->line != x->n + 2)
    x->bad++;
  x->n++;
  return 0;
}

/* Rows of 16 bytes after a header of 16 + pad bytes: over the 16 pads, a
 * boundary of the read buffer falls at each offset of a row, between its CR
 * and LF too, wherever the reader puts its boundaries. */
static void test_cf_import_rows_across_reads(void **state) {
  (void)state;
  enum { ROWS = 20000 };
  for (int pad = 0; pad < 16; pad++) {
    FILE *f = create("rows.tsv");
    fprintf(f, "user%.*s\titem\tvalue\r\n", pad, "pppppppppppppppp");
    for (int i = 0; i < ROWS; i++)
      fprintf(f, "u%05d\ti%04d\t1\r\n", i, i % 10000);
    assert_int_equal(fclose(f), 0);
    fixed x = {0, 0};
    assert_int_equal(read_with(g_path, PZ_CF_FORMAT_TSV, check_fixed, &x, NULL),
                     PZ_OK);
    assert_int_equal(x.bad, 0);
    assert_int_equal(x.n, ROWS);
  }
}

/* MovieLens latest-small (DESIGN.md section 10), when it is there: every
 * rating, read as MOVIELENS and as AUTO. */
static void test_cf_import_movielens_small(void **state) {
  (void)state;
  static const char path[] = "../shared/data/ml-latest-small/ratings.csv";
  if (access(path, R_OK) != 0) {
    print_message("      %s not found: skipped\n", path);
    skip();
  }
  got g;
  int fmt;
  assert_int_equal(read_rows(path, PZ_CF_FORMAT_MOVIELENS, &g, &fmt), PZ_OK);
  assert_int_equal(g.n, 100836);
  assert_row(&g.row[0], "1", "1", 4, 964982703000LL, true, 2);
  assert_int_equal(read_rows(path, PZ_CF_FORMAT_AUTO, &g, &fmt), PZ_OK);
  assert_int_equal(fmt, PZ_CF_FORMAT_CSV);
  assert_int_equal(g.n, 100836);
  assert_row(&g.row[0], "1", "1", 4, 964982703000LL, true, 2);
}

/* ---- out of memory ------------------------------------------------------- */

static void test_cf_import_oom(void **state) {
  (void)state;
  static const char *const texts[] = {"a\tb\t1\nc\td\t2\n", "a\tb\n", ""};
  static const int want[] = {PZ_OK, PZ_EFORMAT, PZ_OK};
  for (size_t t = 0; t < 3; t++) {
    const char *path = put("oom", texts[t]);
    for (long n = 1;; n++) {
      test_alloc ta;
      test_alloc_reset(&ta);
      ta.fail_at = n;
      ta.fail_forever = true;
      pz__alloc a = {test_alloc_fn, &ta};
      got g;
      memset(&g, 0, sizeof g);
      int fmt = -1, fds = open_fds();
      int rc = pz__cf_read_file(&a, path, PZ_CF_FORMAT_AUTO, collect, &g, &fmt);
      assert_int_equal(ta.live_blocks, 0);
      assert_int_equal(ta.bad_osize, 0);
      assert_int_equal(open_fds(), fds);
      if (ta.count < n) { /* nothing failed: the plain outcome */
        assert_int_equal(rc, want[t]);
        break;
      }
      assert_int_equal(rc, PZ_ENOMEM);
      assert_string_equal(pz_errmsg(), "out of memory");
      assert_int_equal(g.n, 0);
      assert_int_equal(fmt, -1);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cf_import_tsv),
      cmocka_unit_test(test_cf_import_csv),
      cmocka_unit_test(test_cf_import_movielens),
      cmocka_unit_test(test_cf_import_udata),
      cmocka_unit_test(test_cf_import_auto),
      cmocka_unit_test(test_cf_import_line_ends),
      cmocka_unit_test(test_cf_import_empty_and_header_only),
      cmocka_unit_test(test_cf_import_field_counts),
      cmocka_unit_test(test_cf_import_numbers),
      cmocka_unit_test(test_cf_import_numbers_ignore_host_locale),
      cmocka_unit_test(test_cf_import_ids),
      cmocka_unit_test(test_cf_import_nul_byte),
      cmocka_unit_test(test_cf_import_long_lines),
      cmocka_unit_test(test_cf_import_bad_calls),
      cmocka_unit_test(test_cf_import_callback_stops),
      cmocka_unit_test(test_cf_import_large_file),
      cmocka_unit_test(test_cf_import_rows_across_reads),
      cmocka_unit_test(test_cf_import_movielens_small),
      cmocka_unit_test(test_cf_import_oom),
  };
  return cmocka_run_group_tests_name("cf_import", tests, make_dir, remove_dir);
}
