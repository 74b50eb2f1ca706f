/*
 * dump_lists - every user's top 10 of a train file, one line per item:
 * user rank item score reason-code [because:share ...]. bench_serve.sh
 * builds it against this tree and against 1.0.0 and compares the two.
 *
 *   dump_lists CONFIG_YAML TRAIN.tsv
 *
 * TRAIN.tsv is pz-eval's format (user TAB item TAB value, a header line);
 * every row counts as one positive interaction. Users are asked in the
 * order of their first row. Uses only the 1.0 API.
 */
#include <personalize.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: dump_lists CONFIG_YAML TRAIN.tsv\n");
    return 2;
  }
  pz_engine *e;
  if (pz_engine_open_string(&e, argv[1], strlen(argv[1]))) {
    fprintf(stderr, "dump_lists: %s\n", pz_errmsg());
    return 1;
  }
  pz_cf_import_options io;
  pz_cf_import_options_init(&io, PZ_CF_IMPORT_OPTIONS_VERSION);
  io.binary = 1;
  uint64_t rows;
  if (pz_cf_import(e, argv[2], &io, &rows) || pz_cf_train(e, NULL)) {
    fprintf(stderr, "dump_lists: %s\n", pz_errmsg());
    pz_engine_free(e);
    return 1;
  }
  FILE *f = fopen(argv[2], "r");
  if (!f) {
    perror(argv[2]);
    pz_engine_free(e);
    return 1;
  }
  char line[1024], last[256] = "";
  int rc = 0;
  if (!fgets(line, sizeof line, f)) rc = 1; /* the header */
  while (!rc && fgets(line, sizeof line, f)) {
    size_t n = strcspn(line, "\t");
    if (n == 0 || n >= sizeof last || line[n] != '\t') continue;
    line[n] = '\0';
    if (strcmp(line, last) == 0) continue; /* rows of one user in a run */
    memcpy(last, line, n + 1);
    pz_recs *r;
    if (pz_recommend(&r, e, line, 10, NULL)) {
      fprintf(stderr, "dump_lists: %s: %s\n", line, pz_errmsg());
      rc = 1;
      break;
    }
    for (size_t i = 0; i < pz_recs_count(r); i++) {
      printf("%s %zu %s %.9g %d", line, i, pz_recs_item(r, i),
             pz_recs_score(r, i), pz_recs_reason_code(r, i));
      for (size_t j = 0; j < 3; j++) {
        const char *b = pz_recs_because(r, i, j);
        if (b) printf(" %s:%.4f", b, pz_recs_because_share(r, i, j));
      }
      putchar('\n');
    }
    pz_recs_free(r);
  }
  fclose(f);
  pz_engine_free(e);
  return rc;
}
