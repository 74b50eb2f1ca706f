/* Reading a profile out: top interests and the JSON export. */
#include "profile.h"

#include <string.h>

uint32_t pz__profile_top_interests(const pz__profiles *ps,
                                   const pz__profile *p,
                                   const pz__catalog *c, int64_t now,
                                   uint32_t k, uint32_t *index_out,
                                   double *score_out, float *tmp_score,
                                   uint32_t *tmp_id) {
  double g = pz__profile_decay_factor(ps, p, now);
  pz__topk t;
  pz__topk_init(&t, tmp_score, tmp_id, k);
  for (uint32_t j = 0; j < p->iv.n; j++) {
    const pz__fname *f = pz__catalog_fname(c, p->iv.e[j].i);
    if (!f) continue;
    float s = p->iv.e[j].v * (float)f->sign;
    if (s > 0) pz__topk_push(&t, s, p->iv.e[j].i);
  }
  pz__topk_sort(&t);
  for (uint32_t j = 0; j < t.n; j++) {
    index_out[j] = t.id[j];
    score_out[j] = t.score[j] * g;
  }
  return t.n;
}

static const char *const type_names[] = {"", "string", "number", "bool",
                                         "timestamp"};

static void export_attrs(pz__buf *b, const pz__profile *p) {
  pz__buf_puts(b, "\"attributes\":{");
  for (uint16_t i = 0; i < p->n_attrs; i++) {
    const pz__attr *t = &p->attrs[i];
    if (i) pz__buf_puts(b, ",");
    pz__buf_json_str(b, pz__attr_name(t), t->namelen);
    pz__buf_printf(b, ":{\"type\":\"%s\",\"value\":", type_names[t->type]);
    switch (t->type) {
    case PZ_ATTR_STRING: pz__buf_json_str(b, pz__attr_str(t), t->slen); break;
    case PZ_ATTR_NUMBER: pz__buf_json_num(b, t->v.num); break;
    case PZ_ATTR_BOOL: pz__buf_puts(b, t->v.b ? "true" : "false"); break;
    default: pz__buf_printf(b, "%lld", (long long)t->v.ts); break;
    }
    pz__buf_puts(b, "}");
  }
  pz__buf_puts(b, "}");
}

static void export_consent(pz__buf *b, const pz__profiles *ps,
                           const pz__profile *p) {
  pz__buf_puts(b, "\"consent\":{");
  for (uint32_t i = 0; i < ps->cfg->n_purposes; i++) {
    const pz__consent *rec = NULL;
    for (uint8_t j = 0; j < p->n_consent; j++)
      if (p->consent[j].purpose == i) rec = &p->consent[j];
    if (i) pz__buf_puts(b, ",");
    pz__buf_json_str(b, ps->cfg->purposes[i], strlen(ps->cfg->purposes[i]));
    if (rec)
      pz__buf_printf(b, ":{\"granted\":%s,\"source\":\"user\",\"ts\":%lld}",
                     rec->granted ? "true" : "false", (long long)rec->ts);
    else
      pz__buf_printf(b, ":{\"granted\":%s,\"source\":\"default\"}",
                     pz__profile_consented(ps, NULL, (int)i) ? "true"
                                                             : "false");
  }
  pz__buf_puts(b, "}");
}

static void export_events(pz__buf *b, const pz__profiles *ps,
                          const pz__profile *p, const pz__catalog *c) {
  pz__buf_puts(b, "\"events\":[");
  pz__hist_it at = pz__hist_iter(&p->h);
  pz__event e, *ev = &e;
  uint8_t type;
  for (uint32_t i = 0; pz__hist_next(&at, &e, &type); i++) {
    const pz__item *it = c->items[ev->item];
    if (i) pz__buf_puts(b, ",");
    pz__buf_puts(b, "{\"item\":");
    pz__buf_json_str(b, it->id, it->idlen);
    pz__buf_puts(b, ",\"type\":");
    pz__buf_json_str(b, ps->cfg->types[type].name,
                     strlen(ps->cfg->types[type].name));
    pz__buf_puts(b, ",\"value\":");
    pz__buf_json_num(b, ev->value);
    pz__buf_printf(b, ",\"ts\":%lld}", (long long)ev->ts);
  }
  pz__buf_puts(b, "]");
}

/* Every nonzero interest, named where the catalogue knows the feature. */
static void export_interests(pz__buf *b, const pz__profiles *ps,
                             const pz__profile *p, const pz__catalog *c,
                             int64_t now) {
  double g = pz__profile_decay_factor(ps, p, now);
  pz__buf_puts(b, "\"interests\":[");
  for (uint32_t j = 0; j < p->iv.n; j++) {
    const pz__fname *f = pz__catalog_fname(c, p->iv.e[j].i);
    if (j) pz__buf_puts(b, ",");
    pz__buf_puts(b, "{\"feature\":");
    if (f) pz__buf_json_str(b, f->text, f->len);
    else pz__buf_puts(b, "null");
    pz__buf_printf(b, ",\"index\":%u,\"score\":", p->iv.e[j].i);
    pz__buf_json_num(b, (f ? f->sign : 1) * p->iv.e[j].v * g);
    pz__buf_puts(b, "}");
  }
  pz__buf_puts(b, "]");
}

int pz__profile_export(const pz__profiles *ps, const pz__profile *p,
                       const pz__catalog *c, int64_t now, pz__buf *b) {
  pz__buf_puts(b, "{\"format\":\"libpersonalize-export\",\"version\":2,"
                  "\"user\":");
  pz__buf_json_str(b, p->id, p->idlen);
  pz__buf_printf(b,
                 ",\"exported_at\":%lld,\"hash\":{\"function\":"
                 "\"XXH3_64bits_withSeed\",\"seed\":%llu,\"bits\":%u},",
                 (long long)now, (unsigned long long)c->hid.seed, c->hid.bits);
  export_attrs(b, p);
  pz__buf_puts(b, ",");
  export_consent(b, ps, p);
  pz__buf_puts(b, ",");
  export_events(b, ps, p, c);
  pz__buf_puts(b, ",");
  export_interests(b, ps, p, c, now);
  pz__buf_puts(b, ",");
  pz__choices_export(b, p->ch, now);
  pz__buf_puts(b, "}");
  return b->err;
}
