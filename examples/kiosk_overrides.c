/*
 * kiosk_overrides - customization with libpersonalize: the business's
 * rules and a person's own choices, over the model.
 *
 *   kiosk_overrides
 *
 * A food and drink kiosk with 30 items. The configuration carries four
 * business rules: no alcohol for the `minors` segment (everyone not known
 * to be 18 or over, so every anonymous visitor), a boost for the winter
 * menu, one slot reserved for the house brand and the soup of the day
 * pinned first. Then an anonymous visitor, "visitor-17":
 *
 *   0. arrives: the rules and the other customers' popularity only;
 *   1. browses (views and clicks): the list follows their interests;
 *   2. blocks a category: none of its items shows again;
 *   3. pins a favourite at the first slot: it wins the slot over the
 *      soup of the day, which moves down one;
 *   4. asks for more of something: those items are multiplied up;
 *   5. says "not interested" in an item: it goes, and similar items
 *      lose interest too;
 *   6. logs in with a loyalty card: the visitor's profile is merged into
 *      the card's account, which brings older history, an older choice
 *      and a stated age (so alcohol is no longer filtered);
 *   7. opts out of personalization: rules and popularity only, choices
 *      kept but not applied.
 *
 * Every reason printed is the library's (pz_recs_reason). The clock is
 * fixed (and moved on by hand), so every run prints the same.
 */
#include <personalize.h>

#include <stdio.h>
#include <string.h>

#define MINUTE_MS 60000LL
#define DAY_MS 86400000LL
#define NOW_MS 1767258000000LL /* 2026-01-01T09:00Z: the kiosk opens */
#define TOP_K 5
#define VISITOR "visitor-17"
#define CARD "card-4411"

/* Rules are compiled from the same YAML as the rest of the configuration
 * and applied by every pz_recommend(), in the order of libpersonalize(7),
 * PRECEDENCE. The segment is evaluated per request, so a visitor who
 * states an age leaves `minors` at once. */
static const char config[] =
    "segments:\n"
    "  - name: minors\n"
    "    description: not known to be 18 or over, anonymous visitors too\n"
    "    rule: {not: {attr: age, gte: 18}}\n"
    "rules:\n"
    "  - name: no_alcohol_for_minors\n"
    "    kind: filter\n"
    "    segment: minors\n"
    "    match: {features: category=alcohol}\n"
    "  - name: winter_menu\n"
    "    kind: boost\n"
    "    match: {features: collection=winter}\n"
    "    factor: 1.3\n"
    "  - name: house_brand\n"
    "    kind: promote\n"
    "    match: {features: brand=house}\n"
    "    slots: 1\n"
    "    start: 2\n"
    "  - name: soup_of_the_day\n"
    "    kind: pin\n"
    "    item: pumpkin-soup\n"
    "    position: 0\n";

/* The catalogue; the category comes first so the listing can show it. */
typedef struct item {
  const char *id;
  const char *features[4];
  int sales; /* the other customers' views, for popularity */
} item;

static const item menu[] = {
    {"espresso", {"category=coffee", "cuisine=italian", "diet=vegan"}, 12},
    {"flat-white", {"category=coffee", "cuisine=australian",
                    "diet=vegetarian"}, 10},
    {"gingerbread-latte", {"category=coffee", "collection=winter",
                           "diet=vegetarian"}, 6},
    {"house-cold-brew", {"category=coffee", "brand=house", "diet=vegan"}, 4},
    {"matcha-latte", {"category=tea", "cuisine=japanese",
                      "diet=vegetarian"}, 5},
    {"chai", {"category=tea", "cuisine=indian", "collection=winter",
              "diet=vegetarian"}, 5},
    {"hot-chocolate", {"category=cocoa", "collection=winter",
                       "diet=vegetarian"}, 9},
    {"orange-juice", {"category=juice", "diet=vegan"}, 7},
    {"house-lemonade", {"category=juice", "brand=house", "diet=vegan"}, 3},
    {"craft-lager", {"category=alcohol", "cuisine=german"}, 8},
    {"mulled-wine", {"category=alcohol", "collection=winter",
                     "diet=vegan"}, 7},
    {"sake", {"category=alcohol", "cuisine=japanese", "diet=vegan"}, 2},
    {"miso-soup", {"category=soup", "cuisine=japanese", "diet=vegan"}, 4},
    {"pumpkin-soup", {"category=soup", "collection=winter", "diet=vegan"}, 3},
    {"ramen", {"category=bowl", "cuisine=japanese"}, 9},
    {"veggie-gyoza", {"category=snack", "cuisine=japanese",
                      "diet=vegetarian"}, 4},
    {"teriyaki-bowl", {"category=bowl", "cuisine=japanese"}, 6},
    {"tofu-poke", {"category=bowl", "cuisine=japanese", "diet=vegan"}, 3},
    {"burrito", {"category=wrap", "cuisine=mexican"}, 8},
    {"bean-quesadilla", {"category=wrap", "cuisine=mexican",
                         "diet=vegetarian"}, 4},
    {"margherita-slice", {"category=pizza", "cuisine=italian",
                          "diet=vegetarian"}, 9},
    {"club-sandwich", {"category=sandwich", "cuisine=american"}, 7},
    {"house-falafel-wrap", {"category=wrap", "cuisine=levantine",
                            "brand=house", "diet=vegan"}, 5},
    {"croissant", {"category=pastry", "cuisine=french",
                   "diet=vegetarian"}, 11},
    {"cinnamon-bun", {"category=pastry", "cuisine=swedish",
                      "collection=winter", "diet=vegetarian"}, 6},
    {"house-banana-bread", {"category=pastry", "brand=house",
                            "diet=vegetarian"}, 4},
    {"matcha-cheesecake", {"category=dessert", "cuisine=japanese",
                           "diet=vegetarian"}, 3},
    {"mochi", {"category=dessert", "cuisine=japanese", "diet=vegan"}, 2},
    {"tiramisu", {"category=dessert", "cuisine=italian",
                  "diet=vegetarian"}, 6},
    {"churros", {"category=dessert", "cuisine=spanish",
                 "collection=winter", "diet=vegetarian"}, 5},
};
#define N_ITEMS (sizeof menu / sizeof *menu)

/* Print a failed call and its detail; returns 1 for main's exit status. */
static int report(const char *call, int rc) {
  fprintf(stderr, "kiosk_overrides: %s failed: %s: %s\n", call,
          pz_strerror(rc), pz_errmsg());
  return 1;
}

static int64_t fixed_clock(void *ud) { return *(const int64_t *)ud; }

/* "coffee" for an item of category=coffee; "?" for one not on the menu. */
static const char *category_of(const char *id) {
  for (size_t i = 0; i < N_ITEMS; i++)
    if (strcmp(menu[i].id, id) == 0)
      return menu[i].features[0] + strlen("category=");
  return "?";
}

static const char *reason_name(int code) {
  switch (code) {
  case PZ_REASON_POPULAR: return "POPULAR";
  case PZ_REASON_CONTENT: return "CONTENT";
  case PZ_REASON_FALLBACK: return "FALLBACK";
  case PZ_REASON_SEGMENT: return "SEGMENT";
  case PZ_REASON_CF: return "CF";
  case PZ_REASON_PINNED: return "PINNED";
  case PZ_REASON_EDITORIAL: return "EDITORIAL";
  case PZ_REASON_PROMOTED: return "PROMOTED";
  default: return "?";
  }
}

static const char *choice_name(int kind) {
  switch (kind) {
  case PZ_CHOICE_BLOCK_ITEM: return "BLOCK_ITEM";
  case PZ_CHOICE_BLOCK_FEATURE: return "BLOCK_FEATURE";
  case PZ_CHOICE_REQUIRE: return "REQUIRE";
  case PZ_CHOICE_PIN: return "PIN";
  case PZ_CHOICE_ADJUST: return "ADJUST";
  case PZ_CHOICE_OPT_OUT: return "OPT_OUT";
  default: return "?";
  }
}

/* Every item with its features. */
static int load_menu(pz_engine *e) {
  for (size_t i = 0; i < N_ITEMS; i++) {
    size_t nf = 0;
    while (nf < 4 && menu[i].features[nf]) nf++;
    int rc = pz_item_put(e, menu[i].id, menu[i].features, NULL, nf);
    if (rc) return report("pz_item_put", rc);
  }
  return 0;
}

/* The other customers of the last few days: regular-0 .. regular-11 each
 * viewed an item once per sale, which is all popularity needs. */
static int load_regulars(pz_engine *e) {
  char user[32];
  for (size_t i = 0; i < N_ITEMS; i++)
    for (int j = 0; j < menu[i].sales; j++) {
      snprintf(user, sizeof user, "regular-%d", j);
      int64_t ts = NOW_MS - (int64_t)(1 + (i + (size_t)j) % 5) * DAY_MS;
      int rc = pz_track(e, user, menu[i].id, "view", 1, ts);
      if (rc) return report("pz_track", rc);
    }
  return 0;
}

/* The loyalty card's account, a week before: a stated age, a few
 * purchases (lager twice, so alcohol ranks once the age lets it) and two
 * choices of its own. "Less of diet=vegetarian" is older than the
 * visitor's "more of" it, so the merge keeps the visitor's; the block of
 * mulled-wine has no rival and stays. The clock is turned back for it. */
static int load_card(pz_engine *e, int64_t *now) {
  static const char *const bought[] = {"craft-lager", "burrito",
                                       "club-sandwich", "craft-lager"};
  int64_t then = *now;
  *now = NOW_MS - 7 * DAY_MS;
  int rc = pz_profile_set_number(e, CARD, "age", 34);
  if (rc) return report("pz_profile_set_number", rc);
  for (size_t i = 0; i < sizeof bought / sizeof *bought; i++)
    if ((rc = pz_track(e, CARD, bought[i], "purchase", 1,
                       *now + (int64_t)i * MINUTE_MS)))
      return report("pz_track", rc);
  if ((rc = pz_override_less(e, CARD, "diet=vegetarian", 0)))
    return report("pz_override_less", rc);
  if ((rc = pz_override_block_item(e, CARD, "mulled-wine", 0)))
    return report("pz_override_block_item", rc);
  *now = then;
  return 0;
}

static int print_rules(pz_engine *e) {
  static const char *const kinds[] = {"?", "filter", "boost", "bury",
                                      "promote", "pin"};
  pz_list *l = NULL;
  int rc = pz_override_rules(&l, e);
  if (rc) return report("pz_override_rules", rc);
  printf("business rules, earlier wins:");
  for (size_t i = 0; i < pz_list_count(l); i++) {
    int k = (int)pz_list_value(l, i);
    printf("%s %s (%s)", i ? "," : "", pz_list_text(l, i),
           k >= 1 && k <= 5 ? kinds[k] : "?");
  }
  printf("\n");
  pz_list_free(l);
  return 0;
}

/* One step: a header, then the top k with score, reason code and text.
 * The default options leave out what the person already interacted with
 * (except their pins) and explain every item. */
static int show(pz_engine *e, const char *user, const char *header) {
  pz_recommend_options opts;
  int rc = pz_recommend_options_init(&opts, PZ_RECOMMEND_OPTIONS_VERSION);
  if (rc) return report("pz_recommend_options_init", rc);
  pz_recs *recs = NULL;
  if ((rc = pz_recommend(&recs, e, user, TOP_K, &opts)))
    return report("pz_recommend", rc);
  printf("\n== %s ==\n", header);
  for (size_t i = 0; i < pz_recs_count(recs); i++) {
    const char *id = pz_recs_item(recs, i);
    printf("  %zu. %-18s %-8s %6.3f  %-9s  %s\n", i + 1, id, category_of(id),
           pz_recs_score(recs, i), reason_name(pz_recs_reason_code(recs, i)),
           pz_recs_reason(recs, i));
  }
  pz_recs_free(recs);
  return 0;
}

/* The person's choices in force, oldest first, with when they were made
 * (the card's from last week survive the merge unless replaced). */
static int print_choices(pz_engine *e, const char *user, int64_t now) {
  pz_choices *c = NULL;
  int rc = pz_override_list(&c, e, user, 0);
  if (rc) return report("pz_override_list", rc);
  printf("choices of %s, oldest first:\n", user);
  for (size_t i = 0; i < pz_choices_count(c); i++) {
    int kind = pz_choices_kind(c, i);
    char detail[32] = "";
    if (kind == PZ_CHOICE_ADJUST)
      snprintf(detail, sizeof detail, "x%.2f", pz_choices_factor(c, i));
    if (kind == PZ_CHOICE_PIN && pz_choices_position(c, i) >= 0)
      snprintf(detail, sizeof detail, "at slot %d",
               (int)pz_choices_position(c, i));
    long long days = (long long)((now - pz_choices_created(c, i)) / DAY_MS);
    char when[32] = "today";
    if (days) snprintf(when, sizeof when, "%lld days ago", days);
    printf("  %-13s %-18s %-10s %s\n", choice_name(kind),
           pz_choices_target(c, i), detail, when);
  }
  pz_choices_free(c);
  return 0;
}

/* Steps 1 to 7. The clock moves a minute per step, so that each choice
 * is newer than the last and the merge can tell which one wins. */
static int visit(pz_engine *e, int64_t *now) {
  static const struct {
    const char *item, *type;
  } browse[] = {{"matcha-latte", "view"},
                {"ramen", "click"},
                {"miso-soup", "view"},
                {"teriyaki-bowl", "click"}};
  int rc;
  for (size_t i = 0; i < sizeof browse / sizeof *browse; i++) {
    *now += MINUTE_MS;
    if ((rc = pz_track(e, VISITOR, browse[i].item, browse[i].type, 1, 0)))
      return report("pz_track", rc);
  }
  if (show(e, VISITOR, "1. browsing: viewed matcha-latte, miso-soup; "
                       "clicked ramen, teriyaki-bowl"))
    return 1;

  *now += MINUTE_MS;
  if ((rc = pz_override_block_feature(e, VISITOR, "category=dessert", 0)))
    return report("pz_override_block_feature", rc);
  if (show(e, VISITOR, "2. blocks: no category=dessert")) return 1;

  *now += MINUTE_MS;
  if ((rc = pz_override_pin(e, VISITOR, "flat-white", 0, 0)))
    return report("pz_override_pin", rc);
  if (show(e, VISITOR, "3. pins flat-white at slot 0 (the soup moves down)"))
    return 1;

  *now += MINUTE_MS;
  if ((rc = pz_override_more(e, VISITOR, "diet=vegetarian", 0)))
    return report("pz_override_more", rc);
  if (show(e, VISITOR, "4. more of diet=vegetarian")) return 1;

  *now += MINUTE_MS;
  if ((rc = pz_override_not_interested(e, VISITOR, "tofu-poke", 0)))
    return report("pz_override_not_interested", rc);
  if (show(e, VISITOR, "5. not interested in tofu-poke")) return 1;

  /* Logging in: the anonymous profile is folded into the account and
   * erased. Histories merge by time; for a target both chose something
   * about, the newer choice wins; the account's age stays. */
  *now += MINUTE_MS;
  if ((rc = pz_profile_merge(e, VISITOR, CARD)))
    return report("pz_profile_merge", rc);
  if (show(e, CARD, "6. logs in: " VISITOR " merged into " CARD " (age 34)"))
    return 1;
  printf("\n");
  if (print_choices(e, CARD, *now)) return 1;

  /* Opting out keeps the history and the choices, but ranks without
   * them: the rules still hold (the age still lets alcohol through). */
  *now += MINUTE_MS;
  if ((rc = pz_override_opt_out(e, CARD, 1)))
    return report("pz_override_opt_out", rc);
  return show(e, CARD, "7. opts out: not personalized");
}

int main(void) {
  int64_t now = NOW_MS;
  pz_engine_options opts;
  pz_engine *e = NULL;
  int rc = pz_engine_options_init(&opts, PZ_ENGINE_OPTIONS_VERSION);
  if (rc) return report("pz_engine_options_init", rc);
  opts.config_text = config;
  opts.config_len = strlen(config);
  opts.clock = fixed_clock;
  opts.clock_ud = &now;
  if ((rc = pz_engine_open_with(&e, &opts)))
    return report("pz_engine_open_with", rc);
  printf("libpersonalize %s kiosk: %zu items\n", pz_version_string(),
         N_ITEMS);

  int st = print_rules(e);
  if (!st) st = load_menu(e);
  if (!st) st = load_regulars(e);
  if (!st) st = load_card(e, &now);
  if (!st) st = show(e, VISITOR, "0. " VISITOR " arrives: rules and "
                                 "popularity only");
  if (!st) st = visit(e, &now);
  pz_engine_free(e);
  return st;
}
