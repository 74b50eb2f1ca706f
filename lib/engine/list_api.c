/* pz_list: a result block of (text, value) pairs, and its builder. */
#include "engine.h"

#include <math.h>
#include <string.h>

typedef struct entry {
  const char *text;
  double value;
} entry;

struct pz_list {
  pz__alloc alloc;
  size_t size;
  size_t n;
  entry *e;
};

void pz__listb_init(pz__listb *b, const pz__alloc *a) {
  memset(b, 0, sizeof *b);
  b->a = a;
  pz__buf_init(&b->text, a);
}

void pz__listb_free(pz__listb *b) {
  pz__buf_free(&b->text);
  pz__free(b->a, b->off, b->off_cap * sizeof *b->off);
  pz__free(b->a, b->val, b->val_cap * sizeof *b->val);
  b->off = NULL;
  b->val = NULL;
  b->n = b->off_cap = b->val_cap = 0;
}

void pz__listb_add(pz__listb *b, const char *s, size_t len, double v) {
  if (b->err) return;
  if (pz__grow(b->a, (void **)&b->off, &b->off_cap, b->n + 1, sizeof *b->off) ||
      pz__grow(b->a, (void **)&b->val, &b->val_cap, b->n + 1, sizeof *b->val)) {
    b->err = PZ_ENOMEM;
    return;
  }
  b->off[b->n] = b->text.len;
  b->val[b->n++] = v;
  pz__buf_put(&b->text, s, len);
  pz__buf_put(&b->text, "", 1);
  if (b->text.err) b->err = b->text.err;
}

int pz__listb_finish(pz__listb *b, pz_list **out) {
  int rc = b->err;
  if (!rc) {
    size_t size = sizeof(pz_list) + b->n * sizeof(entry) + b->text.len;
    pz_list *l = pz__malloc(b->a, size);
    if (!l) {
      rc = PZ_ENOMEM;
    } else {
      l->alloc = *b->a;
      l->size = size;
      l->n = b->n;
      l->e = (entry *)(l + 1);
      char *s = (char *)(l->e + b->n);
      if (b->text.len) memcpy(s, b->text.p, b->text.len);
      for (size_t i = 0; i < b->n; i++) {
        l->e[i].text = s + b->off[i];
        l->e[i].value = b->val[i];
      }
      *out = l;
    }
  }
  pz__listb_free(b);
  return rc ? (rc == PZ_ENOMEM ? pz__oom() : rc) : PZ_OK;
}

PZ_API size_t pz_list_count(const pz_list *l) { return l ? l->n : 0; }

PZ_API const char *pz_list_text(const pz_list *l, size_t i) {
  return l && i < l->n ? l->e[i].text : NULL;
}

PZ_API double pz_list_value(const pz_list *l, size_t i) {
  return l && i < l->n ? l->e[i].value : NAN;
}

PZ_API void pz_list_free(pz_list *l) {
  if (!l) return;
  pz__alloc a = l->alloc;
  pz__free_wipe(&a, l, l->size);
}
