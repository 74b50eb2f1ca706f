// shop - libpersonalize from C++: the back end of a small outdoor shop.
//
//   shop
//
//  1. a catalogue of 16 items with features (category=, sport=, brand=);
//  2. a week of the customers' behaviour (views, clicks, purchases) and a
//     few stated attributes;
//  3. recommendations for alice, each with the library's reason;
//  4. alice blocks the model's first pick and pins a daypack at the first
//     slot: her choices beat the model;
//  5. a new customer who only said they run gets what is popular among
//     runners (a rule segment): the cold start;
//  6. collaborative filtering: a model trained on everyone's history, the
//     items most similar to a product, recommendations "because you
//     interacted with";
//  7. save and load: the engine goes to a snapshot in a temporary directory
//     and comes back with the same rankings;
//  8. erasure: erin asks what the shop holds about her (the export), then
//     to be forgotten; the export afterwards is empty;
//  9. errors: bad input throws pz::Error with the library's status code and
//     message, and the engine carries on.
//
// It uses personalize.hpp, a small RAII wrapper written for this example
// (not installed). The clock is fixed, so every run prints the same.
#include "personalize.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

namespace {

constexpr int64_t kDayMs = 86400000;
constexpr int64_t kNowMs = 1767258000000; // 2026-01-01T09:00Z
constexpr std::size_t kTopK = 5;

// Small data, so the collaborative-filtering model is small too, and a
// segment needs only 3 members with history to get a popularity table.
constexpr const char *kConfig = R"(ranking:
  segment_min_members: 3
segments:
  - name: runners
    rule: {attr: sport, eq: running}
cf:
  algorithm: both
  factors: 8
  iterations: 10
  threads: 1
)";

struct Product {
  const char *id;
  std::vector<std::string_view> features;
};

const std::vector<Product> kCatalogue = {
    {"trail-shoe", {"category=shoes", "sport=running", "brand=stride"}},
    {"road-shoe", {"category=shoes", "sport=running", "brand=stride"}},
    {"running-socks", {"category=apparel", "sport=running", "brand=basix"}},
    {"running-vest", {"category=apparel", "sport=running", "brand=stride"}},
    {"gps-watch", {"category=electronics", "sport=running", "brand=pulse"}},
    {"heart-strap", {"category=electronics", "sport=running", "brand=pulse"}},
    {"energy-gels", {"category=food", "sport=running", "sport=cycling"}},
    {"hiking-boot", {"category=shoes", "sport=hiking", "brand=summit"}},
    {"daypack", {"category=bags", "sport=hiking", "brand=summit"}},
    {"trekking-poles", {"category=gear", "sport=hiking", "brand=summit"}},
    {"rain-shell", {"category=apparel", "sport=hiking", "brand=basix"}},
    {"headlamp", {"category=electronics", "sport=hiking", "brand=pulse"}},
    {"bike-helmet", {"category=gear", "sport=cycling", "brand=velo"}},
    {"bike-lights", {"category=electronics", "sport=cycling", "brand=velo"}},
    {"cycling-jersey", {"category=apparel", "sport=cycling", "brand=velo"}},
    {"water-bottle", {"category=gear", "brand=basix"}},
};

struct Event {
  const char *user, *item, *type;
  int days_ago;
};

// A week of the shop: runners, hikers, cyclists and a few who mix.
const std::vector<Event> kWeek = {
    {"alice", "road-shoe", "purchase", 6},    {"alice", "running-socks", "view", 5},
    {"alice", "trail-shoe", "view", 3},       {"alice", "water-bottle", "purchase", 2},
    {"bob", "hiking-boot", "purchase", 6},    {"bob", "daypack", "view", 5},
    {"bob", "trekking-poles", "purchase", 4}, {"bob", "headlamp", "click", 2},
    {"bob", "water-bottle", "purchase", 1},   {"carol", "bike-helmet", "purchase", 6},
    {"carol", "bike-lights", "view", 4},      {"carol", "cycling-jersey", "purchase", 3},
    {"carol", "energy-gels", "purchase", 1},  {"dan", "road-shoe", "view", 6},
    {"dan", "gps-watch", "purchase", 5},      {"dan", "heart-strap", "purchase", 4},
    {"dan", "running-vest", "view", 2},       {"dan", "water-bottle", "purchase", 1},
    {"erin", "road-shoe", "purchase", 5},     {"erin", "gps-watch", "view", 4},
    {"erin", "energy-gels", "purchase", 3},   {"erin", "running-socks", "purchase", 2},
    {"frank", "trail-shoe", "purchase", 6},   {"frank", "hiking-boot", "view", 5},
    {"frank", "headlamp", "purchase", 3},     {"frank", "daypack", "purchase", 2},
    {"gina", "road-shoe", "purchase", 5},     {"gina", "gps-watch", "purchase", 3},
    {"gina", "running-socks", "view", 2},     {"gina", "heart-strap", "click", 1},
    {"hugo", "bike-helmet", "view", 4},       {"hugo", "bike-lights", "purchase", 3},
    {"hugo", "energy-gels", "purchase", 2},   {"hugo", "water-bottle", "view", 1},
};

const char *reason_name(int code) {
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

// A section: a header, then one numbered line per item, then a blank line.
void print(const std::string &header, const std::vector<pz::Recommendation> &recs) {
  std::printf("== %s ==\n", header.c_str());
  if (recs.empty()) std::printf("  (nothing)\n");
  for (std::size_t i = 0; i < recs.size(); i++)
    std::printf("  %zu. %-15s %6.3f  %-8s %s\n", i + 1, recs[i].item.c_str(),
                recs[i].score, reason_name(recs[i].reason_code), recs[i].reason.c_str());
  std::printf("\n");
}

// A temporary directory, removed with everything in it when it goes.
class TempDir {
public:
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "pz-shop-XXXXXX").string();
    if (!mkdtemp(&t[0])) throw std::runtime_error("mkdtemp failed");
    path_ = t;
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path &path() const { return path_; }

private:
  std::filesystem::path path_;
};

// Runs f, which must throw pz::Error, and prints what was caught.
template <typename F> void expect_error(const char *what, F f) {
  try {
    f();
    std::printf("%s: no error?\n", what);
  } catch (const pz::Error &err) {
    std::printf("%s: caught pz::Error code %d (%s): %s\n", what, err.code(),
                pz_strerror(err.code()), err.detail().c_str());
  }
}

void load_shop(pz::Engine &shop) {
  for (const Product &p : kCatalogue) shop.put_item(p.id, p.features);
  for (const Event &ev : kWeek)
    shop.track(ev.user, ev.item, ev.type, 1, kNowMs - ev.days_ago * kDayMs);
  for (const char *runner : {"alice", "dan", "erin", "gina"})
    shop.set_string(runner, "sport", "running");
  shop.set_string("bob", "sport", "hiking");
  std::printf("catalogue: %zu items; %zu customers; %zu events\n\n", shop.item_count(),
              shop.profile_count(), kWeek.size());
}

// Step 4: the model's first pick goes, the pinned daypack takes the first slot.
void choices(pz::Engine &shop) {
  std::vector<pz::Recommendation> before = shop.recommend("alice", kTopK);
  print("alice: recommendations", before);
  if (before.empty()) throw std::runtime_error("no recommendations for alice");
  const std::string top = before.front().item;
  shop.block_item("alice", top);
  shop.pin("alice", "daypack", 0);
  std::printf("alice blocks %s (the model's first pick) and pins daypack at the first slot\n",
              top.c_str());
  for (const pz::Choice &c : shop.choices("alice"))
    std::printf("  choice: %s %s\n", c.kind == PZ_CHOICE_PIN ? "pin" : "block",
                c.target.c_str());
  print("alice: after her block and pin", shop.recommend("alice", kTopK));
}

// Step 5: no events yet, only a stated attribute.
void cold_start(pz::Engine &shop) {
  shop.refresh_segments();
  shop.set_string("ivan", "sport", "running");
  std::printf("segments:");
  for (const pz::Entry &s : shop.segment_counts())
    std::printf(" %s (%g members)", s.text.c_str(), s.value);
  std::printf("\nivan is in:");
  for (const std::string &s : shop.segments_of("ivan")) std::printf(" %s", s.c_str());
  std::printf("\n");
  print("ivan (new, says he runs): recommendations", shop.recommend("ivan", kTopK));
}

// Step 6: item-kNN and implicit ALS, then a newcomer's first purchases.
void collaborative(pz::Engine &shop) {
  pz_cf_stats s = shop.train_cf();
  std::printf("cf model: %u users, %u items, %llu interactions\n", s.users, s.items,
              static_cast<unsigned long long>(s.interactions));
  print("similar to road-shoe", shop.similar("road-shoe", kTopK));
  shop.track("jon", "bike-helmet", "purchase", 1, kNowMs - kDayMs);
  shop.track("jon", "energy-gels", "purchase", 1, kNowMs - kDayMs / 2);
  std::vector<pz::Recommendation> recs = shop.recommend("jon", kTopK);
  print("jon (bought bike-helmet, energy-gels): recommendations", recs);
  for (const pz::Recommendation &r : recs)
    if (!r.because.empty()) {
      std::printf("  %s because of:", r.item.c_str());
      for (const std::string &b : r.because) std::printf(" %s", b.c_str());
      std::printf("\n");
    }
  std::printf("\n");
}

// Step 7: a round trip through a snapshot. The loaded engine keeps the
// configuration stored in the snapshot; it gets the same fixed clock.
void save_and_load(pz::Engine &shop) {
  TempDir dir;
  const std::string path = (dir.path() / "shop.pzs").string();
  std::vector<pz::Recommendation> before = shop.recommend("alice", kTopK);
  shop.save(path);
  pz::Engine copy = pz::Engine::load(path, [] { return kNowMs; });
  std::printf("saved to a snapshot and loaded it again: %zu items, %zu customers\n",
              copy.item_count(), copy.profile_count());
  print("alice: top 5 before save", before);
  print("alice: top 5 after load", copy.recommend("alice", kTopK));
  print("jon: top 5 before save", shop.recommend("jon", kTopK));
  print("jon: top 5 after load", copy.recommend("jon", kTopK));
}

// Step 8: the right of access, then the right to be forgotten.
void erasure(pz::Engine &shop) {
  std::optional<std::string> doc = shop.export_profile("erin");
  std::printf("export of erin before erase: %s\n", doc ? doc->c_str() : "(none)");
  std::size_t before = shop.profile_count();
  shop.erase("erin");
  doc = shop.export_profile("erin");
  std::printf("export of erin after erase: %s\n", doc ? doc->c_str() : "(none)");
  std::printf("customers: %zu before erase, %zu after\n\n", before, shop.profile_count());
  print("erin after erase: recommendations", shop.recommend("erin", 3));
}

// Step 9: every bad input is an exception with the library's code.
void errors(pz::Engine &shop) {
  expect_error("misspelt event type",
               [&] { shop.track("alice", "daypack", "purchse", 1, kNowMs); });
  expect_error("k = 0", [&] { shop.recommend("alice", 0); });
  expect_error("unknown item", [&] { shop.similar("kayak", 3); });
  using namespace std::string_literals;
  expect_error("embedded NUL", [&] { shop.track("ali\0ce"s, "daypack", "view"); });
  expect_error("bad config", [] { pz::Engine::open_string("ranking: {cf_weigth: 2}\n"); });
  std::printf("after the errors alice still has %zu events: nothing was recorded\n",
              shop.event_count("alice"));
}

} // namespace

int main() {
  try {
    pz::Engine shop = pz::Engine::open_string(kConfig);
    shop.set_clock([] { return kNowMs; });
    std::printf("libpersonalize %s: shop\n", pz_version_string());
    load_shop(shop);
    choices(shop);
    cold_start(shop);
    collaborative(shop);
    save_and_load(shop);
    erasure(shop);
    errors(shop);
    return 0;
  } catch (const pz::Error &err) {
    std::fprintf(stderr, "shop: %s (code %d)\n", err.what(), err.code());
  } catch (const std::exception &err) {
    std::fprintf(stderr, "shop: %s\n", err.what());
  }
  return 1;
}
