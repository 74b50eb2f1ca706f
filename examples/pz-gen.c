/*
 * pz-gen - write a synthetic catalogue and event log as TSV files.
 *
 *   pz-gen [--users N] [--items N] [--events N] [--features-per-item F]
 *          [--seed S] --out DIR
 *
 * Writes DIR/items.tsv   item<TAB>feature,feature,...
 *        DIR/events.tsv  user<TAB>item<TAB>type<TAB>value<TAB>ts_ms
 * each with a header line. The same seed and sizes give the same files
 * (see synth.h for the shape of the data). DIR is created if missing.
 */
#include "synth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f) {
  fprintf(f,
          "usage: pz-gen [--users N] [--items N] [--events N]\n"
          "              [--features-per-item F] [--seed S] --out DIR\n"
          "Writes DIR/items.tsv and DIR/events.tsv (tab-separated, with a "
          "header line).\n"
          "Defaults: --users 1000 --items 500 --events 20000 "
          "--features-per-item 8 --seed 42\n");
}

/* Report a write error once, with the file name, at the end. */
static int close_file(FILE *f, const char *path) {
  int bad = ferror(f);
  if (fclose(f) != 0) bad = 1;
  if (bad) {
    fprintf(stderr, "pz-gen: cannot write %s: %s\n", path, strerror(errno));
    return -1;
  }
  return 0;
}

static int write_items(const synth *s, const char *path) {
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "pz-gen: cannot create %s: %s\n", path, strerror(errno));
    return -1;
  }
  fputs("item\tfeatures\n", f);
  char id[SYNTH_ID_MAX], feat[SYNTH_FEATURE_MAX];
  for (uint32_t i = 0; i < s->p.items; i++) {
    synth_item_id(i, id, sizeof id);
    fputs(id, f);
    fputc('\t', f);
    for (unsigned j = 0; j < s->p.features_per_item; j++) {
      synth_feature(&s->items[i], j, feat, sizeof feat);
      if (j) fputc(',', f);
      fputs(feat, f);
    }
    fputc('\n', f);
  }
  return close_file(f, path);
}

static int write_events(synth *s, const char *path) {
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "pz-gen: cannot create %s: %s\n", path, strerror(errno));
    return -1;
  }
  fputs("user\titem\ttype\tvalue\tts_ms\n", f);
  char uid[SYNTH_ID_MAX], iid[SYNTH_ID_MAX];
  synth_event ev;
  synth_rewind(s);
  while (synth_next_event(s, &ev) == 0) {
    synth_user_id(ev.user, uid, sizeof uid);
    synth_item_id(ev.item, iid, sizeof iid);
    /* values are whole numbers (ratings, play counts) */
    fprintf(f, "%s\t%s\t%s\t%.0f\t%lld\n", uid, iid,
            synth_type_names[ev.type], ev.value, (long long)ev.ts_ms);
  }
  return close_file(f, path);
}

/* Make DIR unless it exists already as a directory. */
static int ensure_dir(const char *dir) {
  struct stat st;
  if (mkdir(dir, 0777) == 0) return 0;
  if (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
  fprintf(stderr, "pz-gen: cannot create directory %s: %s\n", dir,
          errno == EEXIST ? "a file of that name exists" : strerror(errno));
  return -1;
}

int main(int argc, char **argv) {
  synth_params p;
  synth_params_default(&p);
  const char *out = NULL;

  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i];
    if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
      usage(stdout);
      return 0;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "pz-gen: %s: %s\n", opt,
              strncmp(opt, "--", 2) == 0 ? "missing value" : "unknown argument");
      usage(stderr);
      return 2;
    }
    const char *val = argv[++i];
    uint64_t v = 0;
    int bad = 0;
    if (strcmp(opt, "--users") == 0) {
      bad = synth_parse_u64(val, 1, UINT32_MAX - 1, &v);
      p.users = (uint32_t)v;
    } else if (strcmp(opt, "--items") == 0) {
      bad = synth_parse_u64(val, 1, UINT32_MAX - 1, &v);
      p.items = (uint32_t)v;
    } else if (strcmp(opt, "--events") == 0) {
      bad = synth_parse_u64(val, 0, UINT64_MAX / 2, &v);
      p.events = v;
    } else if (strcmp(opt, "--features-per-item") == 0) {
      bad = synth_parse_u64(val, 0, SYNTH_MAX_FEATURES, &v);
      p.features_per_item = (unsigned)v;
    } else if (strcmp(opt, "--seed") == 0) {
      bad = synth_parse_u64(val, 0, UINT64_MAX, &v);
      p.seed = v;
    } else if (strcmp(opt, "--out") == 0) {
      if (!*val) bad = 1;
      out = val;
    } else {
      fprintf(stderr, "pz-gen: unknown option %s\n", opt);
      usage(stderr);
      return 2;
    }
    if (bad) {
      if (strcmp(opt, "--features-per-item") == 0)
        fprintf(stderr, "pz-gen: --features-per-item: \"%s\" is not a whole "
                        "number from 0 to %u\n", val, SYNTH_MAX_FEATURES);
      else if (strcmp(opt, "--out") == 0)
        fprintf(stderr, "pz-gen: --out: empty directory name\n");
      else
        fprintf(stderr, "pz-gen: %s: \"%s\" is not a %s whole number\n", opt,
                val,
                strcmp(opt, "--users") == 0 || strcmp(opt, "--items") == 0
                    ? "positive 32-bit"
                    : "non-negative");
      return 2;
    }
  }
  if (!out) {
    fprintf(stderr, "pz-gen: --out DIR is required\n");
    usage(stderr);
    return 2;
  }

  synth s;
  if (synth_init(&s, &p) != 0) {
    fprintf(stderr, "pz-gen: out of memory for %u items\n", p.items);
    return 1;
  }
  char items_path[4096], events_path[4096];
  int n1 = snprintf(items_path, sizeof items_path, "%s/items.tsv", out);
  int n2 = snprintf(events_path, sizeof events_path, "%s/events.tsv", out);
  int rc = 1;
  if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof items_path ||
      (size_t)n2 >= sizeof events_path)
    fprintf(stderr, "pz-gen: --out: directory name too long\n");
  else if (ensure_dir(out) == 0 && write_items(&s, items_path) == 0 &&
           write_events(&s, events_path) == 0)
    rc = 0;
  if (rc == 0)
    printf("pz-gen: wrote %u items (%u features each) to %s\n"
           "pz-gen: wrote %llu events of %u users to %s\n",
           p.items, p.features_per_item, items_path,
           (unsigned long long)p.events, p.users, events_path);
  synth_free(&s);
  return rc;
}
