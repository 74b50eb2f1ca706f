#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

/* Each block carries its size in a header so that osize can be checked. */
typedef struct hdr {
  size_t size;
  size_t pad; /* keep 16-byte alignment */
} hdr;

void test_alloc_reset(test_alloc *t) { memset(t, 0, sizeof *t); }

void *test_alloc_fn(void *ud, void *ptr, size_t osize, size_t nsize) {
  test_alloc *t = ud;
  if (nsize == 0) {
    if (!ptr) return NULL;
    hdr *h = (hdr *)ptr - 1;
    if (h->size != osize) t->bad_osize++;
    t->live_blocks--;
    t->live_bytes -= h->size;
    free(h);
    return NULL;
  }
  t->count++;
  if (t->fail_at && (t->count == t->fail_at ||
                     (t->fail_forever && t->count > t->fail_at)))
    return NULL;
  hdr *old = ptr ? (hdr *)ptr - 1 : NULL;
  if (old && old->size != osize) t->bad_osize++;
  size_t oldsize = old ? old->size : 0;
  hdr *h = realloc(old, sizeof *h + nsize);
  if (!h) return NULL;
  h->size = nsize;
  if (!old) t->live_blocks++;
  t->live_bytes = t->live_bytes - oldsize + nsize;
  if (t->live_bytes > t->peak_bytes) t->peak_bytes = t->live_bytes;
  return h + 1;
}

int64_t test_clock_fn(void *ud) { return ((test_clock *)ud)->now; }

int test_open(pz_engine **e, test_alloc *ta, test_clock *tc,
              const char *config) {
  pz_engine_options o;
  pz_engine_options_init(&o, PZ_ENGINE_OPTIONS_VERSION);
  if (ta) {
    o.alloc = test_alloc_fn;
    o.alloc_ud = ta;
  }
  if (tc) {
    o.clock = test_clock_fn;
    o.clock_ud = tc;
  }
  if (config) {
    o.config_text = config;
    o.config_len = strlen(config);
  }
  return pz_engine_open_with(e, &o);
}

void test_put_items(pz_engine *e, int n) {
  static const char *genres[] = {"genre=jazz", "genre=rock", "genre=pop",
                                 "genre=folk", "genre=blues"};
  static const char *decades[] = {"decade=1960s", "decade=1970s",
                                  "decade=1980s"};
  for (int i = 0; i < n; i++) {
    char id[32];
    snprintf(id, sizeof id, "item%d", i);
    const char *f[] = {genres[i % 5], decades[i % 3]};
    assert_int_equal(pz_item_put(e, id, f, NULL, 2), PZ_OK);
  }
}

int test_tmpdir_make(char *dir, const char *prefix) {
  snprintf(dir, 64, "/tmp/%.40s_XXXXXX", prefix);
  return mkdtemp(dir) ? 0 : -1;
}

int test_tmpdir_remove(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  struct dirent *de;
  char p[64 + 256 + 2];
  while ((de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
    unlink(p);
  }
  closedir(d);
  return rmdir(dir);
}

int test_position(const pz_recs *r, const char *item) {
  for (size_t i = 0; i < pz_recs_count(r); i++)
    if (strcmp(pz_recs_item(r, i), item) == 0) return (int)i;
  return -1;
}

size_t test_event_count(pz_engine *e, const char *user) {
  size_t n = 0;
  int rc = pz_profile_event_count(&n, e, user);
  if (rc == PZ_ENOTFOUND) return 0;
  assert_int_equal(rc, PZ_OK);
  return n;
}

char *test_slurp(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  assert_int_equal(fseek(fp, 0, SEEK_END), 0);
  long n = ftell(fp);
  assert_true(n >= 0);
  assert_int_equal(fseek(fp, 0, SEEK_SET), 0);
  char *p = malloc((size_t)n + 1);
  assert_non_null(p);
  assert_int_equal(fread(p, 1, (size_t)n, fp), (size_t)n);
  p[n] = '\0';
  fclose(fp);
  if (len) *len = (size_t)n;
  return p;
}

uint64_t test_file_size(const char *path) {
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  return (uint64_t)st.st_size;
}
