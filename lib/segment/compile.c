/* Compiling `segments:` and `experiments:` into predicate trees, once:
 * every name, type, date and regex is checked here, so evaluation never
 * meets an error. References between segments are resolved after all
 * segments are read, and cycles refused. */
#include "segment.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 32

typedef struct ref { /* a `segment:` condition, resolved at the end */
  uint32_t from;
  const pz__ynode *node;
  pz__pred *p;
  int depth; /* nesting of the condition within its rule */
} ref;

typedef struct cx {
  const pz__rules_env *env;
  const pz__alloc *a;
  const pz__ydoc *d;
  pz__rules *r;
  ref *refs;
  uint32_t n_refs, refs_cap;
  uint32_t cur; /* segment being compiled */
  int *deep;    /* per segment: deepest nesting of its own rule */
} cx;

/* Evaluation recurses through conditions and references: their combined
 * depth is bounded so that no valid rule set can exhaust a thread's stack
 * (a few hundred bytes a level). */
#define MAX_EVAL_DEPTH 256

static const char *const subjects[] = {
    "attr", "count", "sum", "days_since", "interest", "top_interests",
    "segment", "cluster", "all", "any", "not", NULL};
static const uint8_t subject_kind[] = {
    PZ__P_ATTR, PZ__P_COUNT, PZ__P_SUM, PZ__P_DAYS, PZ__P_INTEREST,
    PZ__P_TOPN, PZ__P_SEGMENT, PZ__P_CLUSTER, PZ__P_ALL, PZ__P_ANY,
    PZ__P_NOT};
static const char *const ops[] = {
    "eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "between",
    "exists", "contains", "starts_with", "ends_with", "regex", NULL};
/* modifiers and the subjects they belong to */
static const char *const modifiers[] = {"case_insensitive", "within",
                                        "include", NULL};

static int word_index(const char *const *words, const char *s) {
  for (int i = 0; words[i]; i++)
    if (strcmp(words[i], s) == 0) return i;
  return -1;
}

/* ---- freeing ------------------------------------------------------------- */

static void pred_free(const pz__alloc *a, pz__pred *p) {
  if (p->name) pz__free(a, p->name, (size_t)p->nlen + 1);
  for (uint32_t i = 0; i < p->n_lit; i++) pz__seg_literal_free(a, &p->lit[i]);
  pz__free(a, p->lit, p->n_lit * sizeof *p->lit);
  if (p->re) {
    regfree(p->re);
    pz__free(a, p->re, sizeof *p->re);
  }
  for (uint32_t i = 0; i < p->n_kid; i++) pred_free(a, &p->kid[i]);
  pz__free(a, p->kid, p->n_kid * sizeof *p->kid);
  memset(p, 0, sizeof *p);
}

void pz__rules_free(pz__rules *r) {
  if (!r) return;
  const pz__alloc *a = r->a;
  for (uint32_t i = 0; i < r->n_seg; i++) {
    pz__free(a, r->seg[i].name, (size_t)r->seg[i].nlen + 1);
    pred_free(a, &r->seg[i].root);
  }
  pz__free(a, r->seg, r->seg_cap * sizeof *r->seg);
  for (uint32_t i = 0; i < r->n_exp; i++) {
    pz__experiment *x = &r->exp[i];
    pz__free(a, x->name, (size_t)x->nlen + 1);
    for (uint32_t j = 0; j < x->nv; j++)
      pz__free(a, x->v[j].name, (size_t)x->v[j].nlen + 1);
    pz__free(a, x->v, x->nv * sizeof *x->v);
  }
  pz__free(a, r->exp, r->exp_cap * sizeof *r->exp);
  pz__free(a, r->bs, r->bs_cap * sizeof *r->bs);
  pz__free(a, r, sizeof *r);
}

/* ---- names ----------------------------------------------------------------- */

/* A name: a scalar of 1..PZ_ID_MAX bytes of UTF-8. */
static int name_of(cx *x, const pz__ynode *n, const char *what, char **out,
                   uint32_t *len) {
  int rc = pz__y_scalar(x->d, n, what);
  if (rc) return rc;
  if (n->len == 0 || n->len > PZ_ID_MAX)
    return pz__y_err(x->d, n, "%s must be 1 to %d bytes", what, PZ_ID_MAX);
  if (!pz__utf8_valid(n->str, n->len))
    return pz__y_err(x->d, n, "%s is not valid UTF-8", what);
  if (!(*out = pz__strndup(x->a, n->str, n->len))) return PZ_ENOMEM;
  *len = (uint32_t)n->len;
  return PZ_OK;
}

/* ---- literals ---------------------------------------------------------------- */

static int lits_alloc(cx *x, pz__pred *p, size_t n) {
  p->lit = pz__calloc(x->a, n, sizeof *p->lit);
  if (!p->lit) return PZ_ENOMEM;
  p->n_lit = (uint32_t)n;
  return PZ_OK;
}

/* One value, or (list_ok) a non-empty list of values. */
static int read_lits(cx *x, pz__pred *p, const pz__ynode *v, int kind,
                     bool list_ok, const char *op) {
  if (v->kind == PZ__Y_SEQ) {
    if (!list_ok)
      return pz__y_err(x->d, v, "%s takes a single value, not a list", op);
    if (v->n == 0 || v->n > PZ__LIT_MAX)
      return pz__y_err(x->d, v, "%s needs 1 to %d values", op, PZ__LIT_MAX);
    int rc = lits_alloc(x, p, v->n);
    for (size_t i = 0; !rc && i < v->n; i++)
      rc = pz__seg_literal(x->a, x->d, v->items[i], kind, &p->lit[i]);
    return rc;
  }
  int rc = lits_alloc(x, p, 1);
  return rc ? rc : pz__seg_literal(x->a, x->d, v, kind, &p->lit[0]);
}

static int read_between(cx *x, pz__pred *p, const pz__ynode *v, int kind) {
  if (v->kind != PZ__Y_SEQ || v->n != 2)
    return pz__y_err(x->d, v, "between takes a list of two values [low, high]");
  int rc = read_lits(x, p, v, kind, true, "between");
  if (rc) return rc;
  const pz__lit *lo = &p->lit[0], *hi = &p->lit[1];
  if (lo->type != hi->type)
    return pz__y_err(x->d, v, "between needs two numbers or two dates");
  bool bad = lo->type == PZ_ATTR_NUMBER ? lo->v.num > hi->v.num
                                        : lo->v.ts > hi->v.ts;
  if (bad) return pz__y_err(x->d, v, "between: low is above high");
  return PZ_OK;
}

/* glibc's regcomp expands repetitions by copying the repeated tree, so
 * stacked repetitions (a++++, a{2}{2}) and nested counted ones
 * (((a{1,100}){1,100}){1,100}) take memory and time exponential in a few
 * bytes of pattern. Refuse a repetition of a repetition, and a nesting
 * whose copies multiply beyond 1000. Returns NULL or what is wrong. */
static const char *regex_too_costly(const char *s, size_t n) {
  double inner[66] = {1};
  int depth = 0;
  double last = 0; /* copies of the previous atom or group; 0: none */
  bool after_rep = false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool brace = c == '{' && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9';
    if (c == '*' || c == '+' || c == '?' || brace) {
      if (after_rep) return "a repetition of a repetition";
      double mult = c == '+' ? 2 : 1;
      if (brace) {
        double bound = 0, v = 0;
        for (i++; i < n && s[i] != '}'; i++) {
          if (s[i] >= '0' && s[i] <= '9') v = v * 10 + (s[i] - '0');
          else v = 0;
          if (v > bound) bound = v;
        }
        mult = bound > 1 ? bound : 1;
      }
      double f = (last > 0 ? last : 1) * mult;
      if (f > 1000) return "repetitions that multiply beyond 1000 copies";
      if (f > inner[depth]) inner[depth] = f;
      after_rep = true;
      continue;
    }
    after_rep = false;
    if (c == '\\') {
      i++;
      last = 1;
    } else if (c == '[') { /* a bracket expression: one atom */
      size_t j = i + 1;
      if (j < n && s[j] == '^') j++;
      if (j < n && s[j] == ']') j++;
      for (; j < n && s[j] != ']'; j++)
        if (s[j] == '[' && j + 1 < n &&
            (s[j + 1] == ':' || s[j + 1] == '.' || s[j + 1] == '=')) {
          char close = s[j + 1];
          for (j += 2; j + 1 < n && !(s[j] == close && s[j + 1] == ']'); j++) {
          }
          j++;
        }
      i = j;
      last = 1;
    } else if (c == '(') {
      if (depth == 64) return "groups nested deeper than 64";
      inner[++depth] = 1;
      last = 0;
    } else if (c == ')' && depth > 0) {
      last = inner[depth--];
      if (last > inner[depth]) inner[depth] = last;
    } else {
      last = 1;
    }
  }
  return NULL;
}

/* POSIX ERE; back-references (a glibc extension that can take exponential
 * time) are refused. regcomp allocates with malloc: like libyaml, the
 * documented exception to the engine's allocator. */
static int read_regex(cx *x, pz__pred *p, const pz__ynode *v) {
  int rc = read_lits(x, p, v, PZ__LIT_STRING, false, "regex");
  if (rc) return rc;
  const char *s = p->lit[0].v.s;
  if (p->lit[0].slen > PZ__REGEX_MAX)
    return pz__y_err(x->d, v, "a regex is at most %d bytes", PZ__REGEX_MAX);
  for (uint32_t i = 0; i + 1 < p->lit[0].slen; i++) {
    if (s[i] != '\\') continue;
    if (s[i + 1] >= '1' && s[i + 1] <= '9')
      return pz__y_err(x->d, v, "regex \"%s\": back-references are not "
                                "supported", s);
    i++;
  }
  const char *costly = regex_too_costly(s, p->lit[0].slen);
  if (costly)
    return pz__y_err(x->d, v, "regex \"%s\": %s is refused (it would take "
                              "exponential time to compile)",
                     s, costly);
  if (!(p->re = pz__malloc(x->a, sizeof *p->re))) return PZ_ENOMEM;
  int flags = REG_EXTENDED | REG_NOSUB | (p->ci ? REG_ICASE : 0);
  int err = regcomp(p->re, s, flags);
  if (err) {
    char msg[128];
    regerror(err, p->re, msg, sizeof msg);
    pz__free(x->a, p->re, sizeof *p->re);
    p->re = NULL;
    if (err == REG_ESPACE) return pz__oom();
    return pz__y_err(x->d, v, "regex \"%s\" does not compile: %s", s, msg);
  }
  return PZ_OK;
}

/* ---- predicates --------------------------------------------------------------- */

static int compile_pred(cx *x, const pz__ynode *n, pz__pred *p, int depth);

static int compile_list(cx *x, const pz__ynode *v, pz__pred *p, int depth,
                        const char *what) {
  if (v->kind != PZ__Y_SEQ || v->n == 0)
    return pz__y_err(x->d, v, "%s takes a non-empty list of conditions",
                     what);
  if (!(p->kid = pz__calloc(x->a, v->n, sizeof *p->kid))) return PZ_ENOMEM;
  p->n_kid = (uint32_t)v->n;
  for (size_t i = 0; i < v->n; i++) {
    int rc = compile_pred(x, v->items[i], &p->kid[i], depth + 1);
    if (rc) return rc;
  }
  return PZ_OK;
}

static int event_type(cx *x, const pz__ynode *v, pz__pred *p,
                      const char *what) {
  int rc = pz__y_scalar(x->d, v, what);
  if (rc) return rc;
  int t = pz__profile_event_type(x->env->pcfg, v->str);
  if (t < 0)
    return pz__y_err(x->d, v, "unknown event type \"%s\" (see events:)",
                     v->str);
  p->etype = (uint32_t)t;
  return PZ_OK;
}

static int feature_of(cx *x, const pz__ynode *v, uint32_t *idx, float *sign) {
  int rc = pz__y_scalar(x->d, v, "a feature");
  if (rc) return rc;
  if (v->len == 0 || v->len > PZ_FEATURE_MAX)
    return pz__y_err(x->d, v, "a feature is 1 to %d bytes", PZ_FEATURE_MAX);
  int s;
  pz__feature_hash(&x->env->hid, v->str, v->len, idx, &s);
  *sign = (float)s;
  return PZ_OK;
}

/* The subject's own value (what comes after `attr:`, `count:`...). */
static int read_subject(cx *x, const pz__ynode *v, pz__pred *p, int depth) {
  switch (p->kind) {
  case PZ__P_ALL: return compile_list(x, v, p, depth, "all");
  case PZ__P_ANY: return compile_list(x, v, p, depth, "any");
  case PZ__P_NOT:
    if (!(p->kid = pz__calloc(x->a, 1, sizeof *p->kid))) return PZ_ENOMEM;
    p->n_kid = 1;
    return compile_pred(x, v, p->kid, depth + 1);
  case PZ__P_ATTR: {
    int rc = name_of(x, v, "an attribute name", &p->name, &p->nlen);
    if (!rc) p->nhash = pz__attr_hash(p->name, p->nlen);
    return rc;
  }
  case PZ__P_COUNT:
  case PZ__P_SUM:
  case PZ__P_DAYS: return event_type(x, v, p, "an event type");
  case PZ__P_INTEREST: return feature_of(x, v, &p->fidx, &p->fsign);
  case PZ__P_TOPN: {
    uint64_t k;
    int rc = pz__y_uint(x->d, v, "top_interests", 1, PZ__TOPN_MAX, &k);
    p->topn = (uint32_t)k;
    return rc;
  }
  case PZ__P_SEGMENT: {
    int rc = pz__y_scalar(x->d, v, "segment");
    if (rc) return rc;
    if (pz__grow(x->a, (void **)&x->refs, &x->refs_cap, x->n_refs + 1,
                 sizeof *x->refs))
      return PZ_ENOMEM;
    x->refs[x->n_refs++] = (ref){x->cur, v, p, depth};
    return PZ_OK;
  }
  default: { /* cluster: an id or a name */
    uint64_t id;
    if (v->kind == PZ__Y_SCALAR && v->plain && v->len && v->str[0] >= '0' &&
        v->str[0] <= '9') {
      int rc = pz__y_uint(x->d, v, "cluster", 0, PZ__CLUSTER_MAX - 1, &id);
      p->cluster = (int32_t)id;
      return rc;
    }
    p->cluster = -1;
    return name_of(x, v, "a cluster name", &p->name, &p->nlen);
  }
  }
}

static bool numeric_subject(int kind) {
  return kind == PZ__P_COUNT || kind == PZ__P_SUM || kind == PZ__P_DAYS ||
         kind == PZ__P_INTEREST;
}

static int read_op(cx *x, const pz__ynode *subj, const pz__ynode *k,
                   const pz__ynode *v, pz__pred *p) {
  int op = p->op;
  bool attr = p->kind == PZ__P_ATTR;
  if (!attr && op >= PZ__OP_IN && op != PZ__OP_GT && op != PZ__OP_GTE &&
      op != PZ__OP_LT && op != PZ__OP_LTE && op != PZ__OP_BETWEEN)
    return pz__y_err(x->d, k, "operator \"%s\" does not apply to %s (use "
                              "eq, ne, gt, gte, lt, lte or between)",
                     k->str, subj->str);
  int num = attr ? PZ__LIT_ORDER : PZ__LIT_NUMBER;
  switch (op) {
  case PZ__OP_EQ:
  case PZ__OP_NE:
    return read_lits(x, p, v, attr ? PZ__LIT_ANY : PZ__LIT_NUMBER, false,
                     k->str);
  case PZ__OP_IN:
  case PZ__OP_NOT_IN:
    if (v->kind != PZ__Y_SEQ)
      return pz__y_err(x->d, v, "%s takes a list of values", k->str);
    return read_lits(x, p, v, PZ__LIT_ANY, true, k->str);
  case PZ__OP_BETWEEN: return read_between(x, p, v, num);
  case PZ__OP_EXISTS: {
    bool b;
    int rc = pz__y_bool(x->d, v, "exists", &b);
    if (!rc && !(rc = lits_alloc(x, p, 1))) {
      p->lit[0].type = PZ_ATTR_BOOL;
      p->lit[0].v.b = b;
    }
    return rc;
  }
  case PZ__OP_CONTAINS:
  case PZ__OP_STARTS:
  case PZ__OP_ENDS: return read_lits(x, p, v, PZ__LIT_STRING, true, k->str);
  case PZ__OP_REGEX: return read_regex(x, p, v);
  default: return read_lits(x, p, v, num, false, k->str);
  }
}

/* Which keys a subject takes besides its operator. */
static bool modifier_ok(int kind, int mod) {
  if (mod == 0) return kind == PZ__P_ATTR;                         /* ci */
  if (mod == 1) return kind == PZ__P_COUNT || kind == PZ__P_SUM;   /* within */
  return kind == PZ__P_TOPN;                                       /* include */
}

static int compile_pred(cx *x, const pz__ynode *n, pz__pred *p, int depth) {
  const pz__ydoc *d = x->d;
  if (depth > MAX_DEPTH)
    return pz__y_err(d, n, "conditions nest deeper than %d", MAX_DEPTH);
  if (n->kind != PZ__Y_MAP)
    return pz__y_err(d, n, "a condition must be a mapping such as "
                           "{attr: age, gte: 18}");
  if (x->deep && depth > x->deep[x->cur]) x->deep[x->cur] = depth;
  int rc = pz__y_map(d, n, "a condition", NULL);
  if (rc) return rc;
  /* classify every key first: one subject, at most one operator */
  const pz__ynode *subj = NULL, *opk = NULL, *opv = NULL, *ci = NULL,
                  *within = NULL, *include = NULL;
  for (size_t i = 0; i + 1 < n->n; i += 2) {
    const pz__ynode *k = n->items[i], *v = n->items[i + 1];
    int s = word_index(subjects, k->str), o = word_index(ops, k->str),
        m = word_index(modifiers, k->str);
    if (s >= 0) {
      if (subj)
        return pz__y_err(d, k, "a condition has one subject; \"%s\" and "
                               "\"%s\" are both here (combine them with all:)",
                         subj->str, k->str);
      subj = k;
      p->kind = subject_kind[s];
    } else if (o >= 0) {
      if (opk)
        return pz__y_err(d, k, "a condition has one operator; \"%s\" and "
                               "\"%s\" are both here (combine them with all:)",
                         opk->str, k->str);
      opk = k;
      opv = v;
      p->op = (uint8_t)(o + 1);
    } else if (m == 0) {
      ci = k;
    } else if (m == 1) {
      within = k;
    } else if (m == 2) {
      include = k;
    } else {
      return pz__y_err(d, k, "unknown operator \"%s\"", k->str);
    }
  }
  if (!subj)
    return pz__y_err(d, n, "a condition needs a subject: attr, count, sum, "
                           "days_since, interest, top_interests, segment, "
                           "cluster, all, any or not");
  const pz__ynode *mods[] = {ci, within, include};
  for (int m = 0; m < 3; m++)
    if (mods[m] && !modifier_ok(p->kind, m))
      return pz__y_err(d, mods[m], "\"%s\" does not apply to %s",
                       modifiers[m], subj->str);
  bool needs_op = p->kind == PZ__P_ATTR || numeric_subject(p->kind);
  if (needs_op && !opk)
    return pz__y_err(d, subj, "%s needs an operator such as eq or gte",
                     subj->str);
  if (!needs_op && opk)
    return pz__y_err(d, opk, "operator \"%s\" does not apply to %s", opk->str,
                     subj->str);
  if (p->kind == PZ__P_TOPN && !include)
    return pz__y_err(d, subj, "top_interests needs include: <feature>");
  if (ci) {
    bool b;
    if ((rc = pz__y_bool(d, pz__y_get(n, "case_insensitive"),
                         "case_insensitive", &b)))
      return rc;
    static const uint8_t text_ops[] = {PZ__OP_EQ,       PZ__OP_NE,
                                       PZ__OP_IN,       PZ__OP_NOT_IN,
                                       PZ__OP_CONTAINS, PZ__OP_STARTS,
                                       PZ__OP_ENDS,     PZ__OP_REGEX};
    if (!memchr(text_ops, p->op, sizeof text_ops))
      return pz__y_err(d, ci, "case_insensitive applies to text operators, "
                              "not %s", opk->str);
    p->ci = b;
  }
  if (within &&
      (rc = pz__y_duration(d, pz__y_get(n, "within"), "within", &p->within_ms)))
    return rc;
  if (include &&
      (rc = feature_of(x, pz__y_get(n, "include"), &p->fidx, &p->fsign)))
    return rc;
  if ((rc = read_subject(x, pz__y_get(n, subj->str), p, depth))) return rc;
  if (opk && (rc = read_op(x, subj, opk, opv, p))) return rc;
  if (p->kind == PZ__P_COUNT || p->kind == PZ__P_SUM || p->kind == PZ__P_DAYS) {
    pz__rules *r = x->r;
    if (pz__grow(x->a, (void **)&r->bs, &r->bs_cap, r->n_bs + 1, sizeof *r->bs))
      return PZ_ENOMEM;
    p->bslot = r->n_bs;
    r->bs[r->n_bs++] = (pz__bslot){p->etype, r->type_first[p->etype],
                                   p->within_ms};
    r->type_first[p->etype] = p->bslot;
  }
  return PZ_OK;
}

/* ---- segments -------------------------------------------------------------------- */

int32_t pz__rules_segment(const pz__rules *r, const char *name, size_t len) {
  if (!r) return -1;
  for (uint32_t i = 0; i < r->n_seg; i++)
    if (r->seg[i].name && r->seg[i].nlen == len &&
        memcmp(r->seg[i].name, name, len) == 0)
      return (int32_t)i;
  return -1;
}

int32_t pz__rules_experiment(const pz__rules *r, const char *name,
                             size_t len) {
  if (!r) return -1;
  for (uint32_t i = 0; i < r->n_exp; i++)
    if (r->exp[i].name && r->exp[i].nlen == len &&
        memcmp(r->exp[i].name, name, len) == 0)
      return (int32_t)i;
  return -1;
}

static int compile_segment(cx *x, const pz__ynode *n, pz__segdef *s) {
  static const char *const keys[] = {"name", "description", "rank", "rule",
                                     NULL};
  int rc = pz__y_map(x->d, n, "a segment", keys);
  if (rc) return rc;
  const pz__ynode *v = pz__y_get(n, "name");
  if (!v) return pz__y_err(x->d, n, "a segment needs a name");
  /* checked before naming this one, which is already in the table */
  if (v->kind == PZ__Y_SCALAR && pz__rules_segment(x->r, v->str, v->len) >= 0)
    return pz__y_err(x->d, v, "duplicate segment \"%s\"", v->str);
  if ((rc = name_of(x, v, "a segment name", &s->name, &s->nlen))) return rc;
  if ((v = pz__y_get(n, "description")) &&
      (rc = pz__y_scalar(x->d, v, "description")))
    return rc;
  s->rank = true;
  if ((v = pz__y_get(n, "rank")) && (rc = pz__y_bool(x->d, v, "rank", &s->rank)))
    return rc;
  if (!(v = pz__y_get(n, "rule")))
    return pz__y_err(x->d, n, "segment \"%s\" needs a rule", s->name);
  return compile_pred(x, v, &s->root, 0);
}

/* Depth-first search through segment references: refuses a cycle, and
 * computes each segment's evaluation depth (its own nesting, or a
 * reference's nesting plus the referred segment's depth). */
static int walk(cx *x, uint32_t s, uint8_t *state, int *total) {
  state[s] = 1;
  total[s] = x->deep[s];
  for (uint32_t i = 0; i < x->n_refs; i++) {
    if (x->refs[i].from != s) continue;
    uint32_t t = x->refs[i].p->ref;
    if (state[t] == 1)
      return pz__y_err(x->d, x->refs[i].node,
                       "segment \"%s\" refers back to \"%s\": references "
                       "form a cycle",
                       x->r->seg[s].name, x->r->seg[t].name);
    if (state[t] == 0) {
      int rc = walk(x, t, state, total);
      if (rc) return rc;
    }
    int d = x->refs[i].depth + 1 + total[t];
    if (d > MAX_EVAL_DEPTH)
      return pz__y_err(x->d, x->refs[i].node,
                       "conditions and segment references nest deeper than "
                       "%d levels through \"%s\"",
                       MAX_EVAL_DEPTH, x->r->seg[t].name);
    if (d > total[s]) total[s] = d;
  }
  state[s] = 2;
  return PZ_OK;
}

static int link_segments(cx *x) {
  for (uint32_t i = 0; i < x->n_refs; i++) {
    const pz__ynode *v = x->refs[i].node;
    int32_t t = pz__rules_segment(x->r, v->str, v->len);
    if (t < 0) return pz__y_err(x->d, v, "unknown segment \"%s\"", v->str);
    x->refs[i].p->ref = (uint32_t)t;
  }
  x->r->refs = x->n_refs > 0;
  if (!x->r->n_seg) return PZ_OK;
  uint32_t n = x->r->n_seg;
  uint8_t *state = pz__calloc(x->a, n, 1);
  int *total = state ? pz__calloc(x->a, n, sizeof *total) : NULL;
  int rc = total ? PZ_OK : PZ_ENOMEM;
  for (uint32_t s = 0; !rc && s < n; s++)
    if (!state[s]) rc = walk(x, s, state, total);
  pz__free(x->a, total, n * sizeof *total);
  pz__free(x->a, state, n);
  return rc;
}

static int compile_segments(cx *x, const pz__ynode *n) {
  if (n->kind != PZ__Y_SEQ)
    return pz__y_err(x->d, n, "segments must be a list");
  if (n->n > PZ__SEG_MAX)
    return pz__y_err(x->d, n, "at most %d segments", PZ__SEG_MAX);
  if (n->n && !(x->r->seg = pz__calloc(x->a, n->n, sizeof *x->r->seg)))
    return PZ_ENOMEM;
  x->r->seg_cap = (uint32_t)n->n;
  if (n->n && !(x->deep = pz__calloc(x->a, n->n, sizeof *x->deep)))
    return PZ_ENOMEM;
  for (size_t i = 0; i < n->n; i++) {
    x->cur = (uint32_t)i;
    /* counted before compiling, so a failure frees what was built */
    x->r->n_seg = (uint32_t)i + 1;
    /* compiled in place: references point into the tree */
    int rc = compile_segment(x, n->items[i], &x->r->seg[i]);
    if (rc) return rc;
  }
  return link_segments(x);
}

/* ---- experiments ---------------------------------------------------------------- */

static int compile_variants(cx *x, const pz__ynode *n, pz__experiment *e) {
  if (n->kind != PZ__Y_SEQ || n->n == 0 || n->n > PZ__VARIANT_MAX)
    return pz__y_err(x->d, n, "variants must be a list of 1 to %d entries",
                     PZ__VARIANT_MAX);
  if (!(e->v = pz__calloc(x->a, n->n, sizeof *e->v))) return PZ_ENOMEM;
  e->nv = (uint32_t)n->n;
  double total = 0;
  for (size_t i = 0; i < n->n; i++) {
    static const char *const keys[] = {"name", "weight", NULL};
    const pz__ynode *it = n->items[i], *v;
    pz__variant *va = &e->v[i];
    int rc = pz__y_map(x->d, it, "a variant", keys);
    if (rc) return rc;
    if (!(v = pz__y_get(it, "name")))
      return pz__y_err(x->d, it, "a variant needs a name");
    if ((rc = name_of(x, v, "a variant name", &va->name, &va->nlen)))
      return rc;
    for (size_t j = 0; j < i; j++)
      if (e->v[j].nlen == va->nlen && !memcmp(e->v[j].name, va->name, va->nlen))
        return pz__y_err(x->d, v, "duplicate variant \"%s\"", va->name);
    va->weight = 1;
    if ((v = pz__y_get(it, "weight")) &&
        (rc = pz__y_double(x->d, v, "weight", 0, 1e9, &va->weight)))
      return rc;
    total += va->weight;
  }
  if (!(total > 0))
    return pz__y_err(x->d, n, "variant weights must sum to a positive number");
  /* each variant owns a fixed start; coverage only shortens its range */
  double before = 0;
  for (uint32_t i = 0; i < e->nv; i++) {
    e->v[i].lo = before / total;
    e->v[i].hi = e->v[i].lo + e->coverage * (e->v[i].weight / total);
    before += e->v[i].weight;
  }
  return PZ_OK;
}

static int compile_experiment(cx *x, const pz__ynode *n, pz__experiment *e) {
  static const char *const keys[] = {"name", "seed", "coverage", "segment",
                                     "variants", "description", NULL};
  int rc = pz__y_map(x->d, n, "an experiment", keys);
  if (rc) return rc;
  const pz__ynode *v = pz__y_get(n, "name");
  if (!v) return pz__y_err(x->d, n, "an experiment needs a name");
  /* checked before naming this one, which is already in the table */
  if (v->kind == PZ__Y_SCALAR &&
      pz__rules_experiment(x->r, v->str, v->len) >= 0)
    return pz__y_err(x->d, v, "duplicate experiment \"%s\"", v->str);
  if ((rc = name_of(x, v, "an experiment name", &e->name, &e->nlen))) return rc;
  if (!(v = pz__y_get(n, "seed")))
    return pz__y_err(x->d, n, "experiment \"%s\" needs a seed", e->name);
  if ((rc = pz__y_uint(x->d, v, "seed", 0, UINT64_MAX, &e->seed))) return rc;
  e->coverage = 1;
  if ((v = pz__y_get(n, "coverage")) &&
      (rc = pz__y_double(x->d, v, "coverage", 0, 1, &e->coverage)))
    return rc;
  if ((v = pz__y_get(n, "description")) &&
      (rc = pz__y_scalar(x->d, v, "description")))
    return rc;
  e->segment = -1;
  if ((v = pz__y_get(n, "segment"))) {
    if ((rc = pz__y_scalar(x->d, v, "segment"))) return rc;
    e->segment = pz__rules_segment(x->r, v->str, v->len);
    if (e->segment < 0)
      return pz__y_err(x->d, v, "unknown segment \"%s\"", v->str);
  }
  if (!(v = pz__y_get(n, "variants")))
    return pz__y_err(x->d, n, "experiment \"%s\" needs variants", e->name);
  return compile_variants(x, v, e);
}

static int compile_experiments(cx *x, const pz__ynode *n) {
  if (n->kind != PZ__Y_SEQ)
    return pz__y_err(x->d, n, "experiments must be a list");
  if (n->n > PZ__EXP_MAX)
    return pz__y_err(x->d, n, "at most %d experiments", PZ__EXP_MAX);
  if (n->n && !(x->r->exp = pz__calloc(x->a, n->n, sizeof *x->r->exp)))
    return PZ_ENOMEM;
  x->r->exp_cap = (uint32_t)n->n;
  for (size_t i = 0; i < n->n; i++) {
    x->r->n_exp = (uint32_t)i + 1; /* counted first, as segments are */
    int rc = compile_experiment(x, n->items[i], &x->r->exp[i]);
    if (rc) return rc;
  }
  return PZ_OK;
}

int pz__rules_compile(pz__rules **out, const pz__rules_env *env,
                      const pz__ydoc *d) {
  *out = NULL;
  const pz__ynode *segs = pz__y_get(d->root, "segments"),
                  *exps = pz__y_get(d->root, "experiments");
  if (!segs && !exps) return PZ_OK;
  pz__rules *r = pz__calloc(env->a, 1, sizeof *r);
  if (!r) return PZ_ENOMEM;
  r->a = env->a;
  for (uint32_t t = 0; t < PZ__MAX_EVENT_TYPES; t++) r->type_first[t] = PZ__NO_SLOT;
  cx x = {env, env->a, d, r, NULL, 0, 0, 0, NULL};
  int rc = segs ? compile_segments(&x, segs) : PZ_OK;
  if (!rc && exps) rc = compile_experiments(&x, exps);
  pz__free(env->a, x.refs, x.refs_cap * sizeof *x.refs);
  if (x.deep) pz__free(env->a, x.deep, r->seg_cap * sizeof *x.deep);
  if (rc) {
    pz__rules_free(r);
    return rc;
  }
  *out = r;
  return PZ_OK;
}
