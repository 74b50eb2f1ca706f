/* The pz_choices result: one block holding a person's choices in force,
 * independent of the engine. */
#include "override.h"

#include <math.h>
#include <string.h>

typedef struct entry {
  int kind;
  int32_t pos;
  double factor;
  int64_t created, expires;
  const char *target;
} entry;

struct pz_choices {
  pz__alloc alloc;
  size_t size;
  uint32_t n;
  entry *e;
};

int pz__choices_list(const pz__alloc *a, const pz__choices *ch, int64_t now,
                     pz_choices **out) {
  uint32_t n = 0;
  size_t pool = 0;
  for (uint32_t i = 0; ch && i < ch->n; i++)
    if (pz__choice_active(&ch->c[i], now)) {
      n++;
      pool += (size_t)ch->c[i].tlen + 1;
    }
  bool opt = ch && ch->opted_out;
  if (opt) {
    n++;
    pool++;
  }
  size_t size = sizeof(pz_choices) + (size_t)n * sizeof(entry) + pool;
  pz_choices *r = pz__malloc(a, size);
  if (!r) return PZ_ENOMEM;
  r->alloc = *a;
  r->size = size;
  r->n = n;
  r->e = (entry *)(r + 1);
  char *p = (char *)(r->e + n);
  uint32_t w = 0;
  for (uint32_t i = 0; ch && i < ch->n; i++) {
    const pz__choice *c = &ch->c[i];
    if (!pz__choice_active(c, now)) continue;
    memcpy(p, c->target, c->tlen);
    p[c->tlen] = '\0';
    r->e[w++] = (entry){c->kind, c->kind == PZ_CHOICE_PIN ? c->pos : -1,
                        c->kind == PZ_CHOICE_ADJUST ? c->factor : 1.0,
                        c->created, c->expires, p};
    p += c->tlen + 1;
  }
  if (opt) {
    *p = '\0';
    r->e[w] = (entry){PZ_CHOICE_OPT_OUT, -1, 1.0, ch->opt_ts, 0, p};
  }
  *out = r;
  return PZ_OK;
}

PZ_API size_t pz_choices_count(const pz_choices *c) { return c ? c->n : 0; }

PZ_API int pz_choices_kind(const pz_choices *c, size_t i) {
  return c && i < c->n ? c->e[i].kind : 0;
}

PZ_API const char *pz_choices_target(const pz_choices *c, size_t i) {
  return c && i < c->n ? c->e[i].target : NULL;
}

PZ_API double pz_choices_factor(const pz_choices *c, size_t i) {
  return c && i < c->n ? c->e[i].factor : NAN;
}

PZ_API int32_t pz_choices_position(const pz_choices *c, size_t i) {
  return c && i < c->n ? c->e[i].pos : -2;
}

PZ_API int64_t pz_choices_created(const pz_choices *c, size_t i) {
  return c && i < c->n ? c->e[i].created : -1;
}

PZ_API int64_t pz_choices_expires(const pz_choices *c, size_t i) {
  return c && i < c->n ? c->e[i].expires : -1;
}

PZ_API void pz_choices_free(pz_choices *c) {
  if (!c) return;
  pz__alloc a = c->alloc;
  pz__free_wipe(&a, c, c->size);
}
