// personalize.hpp - a small C++17 wrapper over libpersonalize, written for
// the C++ example (examples/cpp/shop.cpp).
//
// It is NOT installed and NOT part of the library or its ABI: the library's
// interface is the C API of <personalize.h>, which compiles as C++ as it is.
// Copy this file into your project and adapt it; it shows one way to give
// the C API value semantics:
//   - pz::Engine owns a pz_engine (move-only; the destructor frees it);
//   - every C result object (pz_recs, pz_list, pz_choices, pz_interests) is
//     held by a std::unique_ptr with a deleter calling its pz_*_free, and
//     copied into plain std::vector / std::string values before it goes;
//   - a failing call throws pz::Error (a std::runtime_error) carrying the
//     pz_status code and the detail of pz_errmsg();
//   - strings come in as std::string_view. The C API wants NUL-terminated
//     strings, so each is copied into a std::string first, and a view with
//     an embedded NUL (which C would silently cut short) is refused with
//     PZ_EINVAL.
// Thread safety is the C API's (see personalize/common.h): an Engine may be
// shared by threads; results are plain values.
#ifndef PZ_EXAMPLES_PERSONALIZE_HPP
#define PZ_EXAMPLES_PERSONALIZE_HPP

#include <personalize.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pz {

// A failed call: code() is the pz_status (PZ_EINVAL, PZ_ENOTFOUND, ...),
// detail() the library's one-line explanation, what() both with the call.
class Error : public std::runtime_error {
public:
  Error(int code, const std::string &call, std::string detail)
      : std::runtime_error(call + ": " + pz_strerror(code) + ": " + detail),
        code_(code), detail_(std::move(detail)) {}
  int code() const noexcept { return code_; }
  const std::string &detail() const noexcept { return detail_; }

private:
  int code_;
  std::string detail_;
};

namespace detail {

// pz_errmsg() is only meaningful right after a failure: read it at once.
inline void check(int rc, const char *call) {
  if (rc != PZ_OK) throw Error(rc, call, pz_errmsg());
}

// A NUL-terminated copy of s; an embedded NUL is refused rather than cut.
inline std::string c_str(std::string_view s, const char *what) {
  if (s.find('\0') != std::string_view::npos)
    throw Error(PZ_EINVAL, what, "embedded NUL byte in a string argument");
  return std::string(s);
}

// A list of strings as the C API's (const char *const *, size_t).
class CStrings {
public:
  template <typename Range> CStrings(const Range &r, const char *what) {
    for (const auto &s : r) owned_.push_back(c_str(s, what));
    for (const std::string &s : owned_) ptrs_.push_back(s.c_str());
  }
  const char *const *data() const { return ptrs_.empty() ? nullptr : ptrs_.data(); }
  std::size_t size() const { return ptrs_.size(); }

private:
  std::vector<std::string> owned_;
  std::vector<const char *> ptrs_;
};

template <typename T, void (*Free)(T *)> struct Freer {
  void operator()(T *p) const noexcept { Free(p); }
};

inline std::string text(const char *s) { return s ? s : ""; }

} // namespace detail

template <typename T, void (*Free)(T *)>
using Handle = std::unique_ptr<T, detail::Freer<T, Free>>;
using RecsHandle = Handle<pz_recs, pz_recs_free>;
using ListHandle = Handle<pz_list, pz_list_free>;
using ChoicesHandle = Handle<pz_choices, pz_choices_free>;
using InterestsHandle = Handle<pz_interests, pz_interests_free>;

// One ranked item and why it is there (see personalize/rank.h).
struct Recommendation {
  std::string item;
  double score = 0;
  int reason_code = 0;            // pz_reason
  std::string reason;             // one line of English
  unsigned int flags = 0;         // pz_recs_flag bits
  std::vector<std::string> because; // history items behind a CF score
};

// A (text, value) entry of a pz_list: a segment and its count, a feature
// and its weight, a rule and its kind.
struct Entry {
  std::string text;
  double value = 0;
};

// One of a person's choices (see personalize/override.h).
struct Choice {
  int kind = 0; // pz_choice_kind
  std::string target;
  double factor = 1;
  int32_t position = -1;
  int64_t created_ms = 0, expires_ms = 0;
};

// The C++ face of pz_recommend_options (version 2).
struct RecommendOptions {
  bool include_seen = false;
  int64_t now_ms = 0; // 0: the engine's clock
  std::size_t offset = 0;
  std::vector<std::string> exclude;
  std::optional<std::vector<std::string>> restrict_to; // nullopt: every item
  std::vector<std::string> context;                    // weights all 1
  double diversity = -1;                               // -1: the config's
  bool terse = false;
};

inline std::vector<Recommendation> to_vector(const pz_recs *r) {
  std::vector<Recommendation> v;
  for (std::size_t i = 0; i < pz_recs_count(r); i++) {
    Recommendation x;
    x.item = detail::text(pz_recs_item(r, i));
    x.score = pz_recs_score(r, i);
    x.reason_code = pz_recs_reason_code(r, i);
    x.reason = detail::text(pz_recs_reason(r, i));
    x.flags = pz_recs_flags(r, i);
    for (std::size_t j = 0; const char *b = pz_recs_because(r, i, j); j++)
      x.because.emplace_back(b);
    v.push_back(std::move(x));
  }
  return v;
}

inline std::vector<Entry> to_vector(const pz_list *l) {
  std::vector<Entry> v;
  for (std::size_t i = 0; i < pz_list_count(l); i++)
    v.push_back({detail::text(pz_list_text(l, i)), pz_list_value(l, i)});
  return v;
}

class Engine {
public:
  using Clock = std::function<int64_t()>;

  // pz_engine_open: a YAML file, or every default with an empty path.
  static Engine open(std::string_view config_path = {}) {
    std::string path = detail::c_str(config_path, "pz_engine_open");
    pz_engine *e = nullptr;
    detail::check(pz_engine_open(&e, path.empty() ? nullptr : path.c_str()),
                  "pz_engine_open");
    return Engine(e);
  }
  // pz_engine_open_string: YAML text (it may hold anything; length given).
  static Engine open_string(std::string_view yaml) {
    pz_engine *e = nullptr;
    detail::check(pz_engine_open_string(&e, yaml.data(), yaml.size()),
                  "pz_engine_open_string");
    return Engine(e);
  }
  // pz_engine_load: a snapshot, with its own configuration, and a clock
  // (empty: the system's) that is in place before anything is read.
  static Engine load(std::string_view snapshot, Clock clock = {}) {
    std::string path = detail::c_str(snapshot, "pz_engine_load");
    auto fn = clock ? std::make_unique<Clock>(std::move(clock)) : nullptr;
    pz_engine_options o;
    detail::check(pz_engine_options_init(&o, PZ_ENGINE_OPTIONS_VERSION),
                  "pz_engine_options_init");
    if (fn) {
      o.clock = &Engine::call_clock;
      o.clock_ud = fn.get();
    }
    pz_engine *e = nullptr;
    detail::check(pz_engine_load(&e, path.c_str(), &o), "pz_engine_load");
    Engine eng(e);
    eng.clock_ = std::move(fn);
    return eng;
  }

  Engine(Engine &&) noexcept = default;
  Engine &operator=(Engine &&o) noexcept { // the old engine before its clock
    e_ = std::move(o.e_);
    clock_ = std::move(o.clock_);
    return *this;
  }
  Engine(const Engine &) = delete;
  Engine &operator=(const Engine &) = delete;
  ~Engine() = default; // e_ (declared last) goes first, then the clock

  pz_engine *get() const noexcept { return e_.get(); } // for the C API

  // The clock is called from any thread that uses the engine; it must be
  // thread-safe and must not throw (that would end the program).
  void set_clock(Clock clock) {
    auto fn = clock ? std::make_unique<Clock>(std::move(clock)) : nullptr;
    detail::check(pz_engine_set_clock(get(), fn ? &Engine::call_clock : nullptr,
                                      fn.get()),
                  "pz_engine_set_clock");
    clock_ = std::move(fn);
  }

  // ---- catalogue --------------------------------------------------------
  void put_item(std::string_view id, std::initializer_list<std::string_view> features,
                const std::vector<double> &weights = {}) {
    put_item(id, std::vector<std::string_view>(features), weights);
  }
  void put_item(std::string_view id, const std::vector<std::string_view> &features,
                const std::vector<double> &weights = {}) {
    const char *call = "pz_item_put";
    if (!weights.empty() && weights.size() != features.size())
      throw Error(PZ_EINVAL, call, "one weight per feature, or none");
    detail::CStrings f(features, call);
    detail::check(pz_item_put(get(), detail::c_str(id, call).c_str(), f.data(),
                              weights.empty() ? nullptr : weights.data(), f.size()),
                  call);
  }
  void remove_item(std::string_view id) {
    detail::check(pz_item_remove(get(), detail::c_str(id, "pz_item_remove").c_str()),
                  "pz_item_remove");
  }
  std::size_t item_count() const {
    std::size_t n = 0;
    detail::check(pz_item_count(&n, get()), "pz_item_count");
    return n;
  }

  // ---- profiles ---------------------------------------------------------
  void track(std::string_view user, std::string_view item, std::string_view event,
             double value = 1, int64_t ts_ms = 0) {
    const char *call = "pz_track";
    detail::check(pz_track(get(), detail::c_str(user, call).c_str(),
                           detail::c_str(item, call).c_str(),
                           detail::c_str(event, call).c_str(), value, ts_ms),
                  call);
  }
  // Distinct names, not overloads: set(u, n, "text") would pick bool.
  void set_string(std::string_view user, std::string_view name, std::string_view value) {
    const char *call = "pz_profile_set_string";
    detail::check(pz_profile_set_string(get(), detail::c_str(user, call).c_str(),
                                        detail::c_str(name, call).c_str(),
                                        detail::c_str(value, call).c_str()),
                  call);
  }
  void set_number(std::string_view user, std::string_view name, double value) {
    const char *call = "pz_profile_set_number";
    detail::check(pz_profile_set_number(get(), detail::c_str(user, call).c_str(),
                                        detail::c_str(name, call).c_str(), value),
                  call);
  }
  void set_bool(std::string_view user, std::string_view name, bool value) {
    const char *call = "pz_profile_set_bool";
    detail::check(pz_profile_set_bool(get(), detail::c_str(user, call).c_str(),
                                      detail::c_str(name, call).c_str(), value ? 1 : 0),
                  call);
  }
  void set_consent(std::string_view user, std::string_view purpose, bool granted) {
    const char *call = "pz_profile_set_consent";
    detail::check(pz_profile_set_consent(get(), detail::c_str(user, call).c_str(),
                                         detail::c_str(purpose, call).c_str(),
                                         granted ? 1 : 0),
                  call);
  }
  std::size_t event_count(std::string_view user) const {
    const char *call = "pz_profile_event_count";
    std::size_t n = 0;
    detail::check(pz_profile_event_count(&n, get(), detail::c_str(user, call).c_str()),
                  call);
    return n;
  }
  std::size_t profile_count() const {
    std::size_t n = 0;
    detail::check(pz_profile_count(&n, get()), "pz_profile_count");
    return n;
  }
  // The JSON export of pz_profile_export; nullopt when nothing is held
  // about the user (PZ_ENOTFOUND is an answer here, not a failure).
  std::optional<std::string> export_profile(std::string_view user) const {
    const char *call = "pz_profile_export";
    std::string u = detail::c_str(user, call), buf;
    for (;;) { // the profile may grow between the two calls: retry
      std::size_t len = 0;
      int rc = pz_profile_export(buf.empty() ? nullptr : &buf[0], buf.size(), &len,
                                 get(), u.c_str());
      if (rc == PZ_ENOTFOUND) return std::nullopt;
      if (rc == PZ_EBUFS) {
        buf.assign(len + 1, '\0');
        continue;
      }
      detail::check(rc, call);
      buf.resize(len);
      return buf;
    }
  }
  void erase(std::string_view user) {
    detail::check(pz_profile_erase(get(), detail::c_str(user, "pz_profile_erase").c_str()),
                  "pz_profile_erase");
  }

  // ---- recommendations --------------------------------------------------
  std::vector<Recommendation> recommend(std::string_view user, std::size_t k,
                                        const RecommendOptions &opt = {}) const {
    const char *call = "pz_recommend";
    pz_recommend_options o;
    detail::check(pz_recommend_options_init(&o, PZ_RECOMMEND_OPTIONS_VERSION),
                  "pz_recommend_options_init");
    detail::CStrings exclude(opt.exclude, call), context(opt.context, call);
    std::optional<detail::CStrings> only;
    if (opt.restrict_to) only.emplace(*opt.restrict_to, call);
    static const char *const none[1] = {nullptr}; // restrict to nothing
    o.include_seen = opt.include_seen;
    o.now_ms = opt.now_ms;
    o.offset = opt.offset;
    o.exclude = exclude.data();
    o.n_exclude = exclude.size();
    o.restrict_to = only ? (only->size() ? only->data() : none) : nullptr;
    o.n_restrict = only ? only->size() : 0;
    o.context = context.data();
    o.n_context = context.size();
    o.diversity = opt.diversity;
    o.terse = opt.terse;
    pz_recs *raw = nullptr;
    detail::check(pz_recommend(&raw, get(), detail::c_str(user, call).c_str(), k, &o),
                  call);
    RecsHandle r(raw);
    return to_vector(r.get());
  }
  std::vector<Recommendation> similar(std::string_view item, std::size_t k) const {
    const char *call = "pz_similar_items";
    pz_recs *raw = nullptr;
    detail::check(pz_similar_items(&raw, get(), detail::c_str(item, call).c_str(), k),
                  call);
    RecsHandle r(raw);
    return to_vector(r.get());
  }

  // ---- the person's choices ---------------------------------------------
  void block_item(std::string_view user, std::string_view item, int64_t expires_ms = 0) {
    choice(pz_override_block_item, "pz_override_block_item", user, item, expires_ms);
  }
  void block_feature(std::string_view user, std::string_view feature,
                     int64_t expires_ms = 0) {
    choice(pz_override_block_feature, "pz_override_block_feature", user, feature,
           expires_ms);
  }
  void require(std::string_view user, std::string_view feature, int64_t expires_ms = 0) {
    choice(pz_override_require, "pz_override_require", user, feature, expires_ms);
  }
  void more(std::string_view user, std::string_view feature, int64_t expires_ms = 0) {
    choice(pz_override_more, "pz_override_more", user, feature, expires_ms);
  }
  void less(std::string_view user, std::string_view feature, int64_t expires_ms = 0) {
    choice(pz_override_less, "pz_override_less", user, feature, expires_ms);
  }
  // position: the slot, 0 first; -1 the first slot no positioned pin holds.
  void pin(std::string_view user, std::string_view item, int32_t position = -1,
           int64_t expires_ms = 0) {
    const char *call = "pz_override_pin";
    detail::check(pz_override_pin(get(), detail::c_str(user, call).c_str(),
                                  detail::c_str(item, call).c_str(), position, expires_ms),
                  call);
  }
  void opt_out(std::string_view user, bool opted_out = true) {
    const char *call = "pz_override_opt_out";
    detail::check(pz_override_opt_out(get(), detail::c_str(user, call).c_str(),
                                      opted_out ? 1 : 0),
                  call);
  }
  std::vector<Choice> choices(std::string_view user, int64_t now_ms = 0) const {
    const char *call = "pz_override_list";
    pz_choices *raw = nullptr;
    detail::check(pz_override_list(&raw, get(), detail::c_str(user, call).c_str(), now_ms),
                  call);
    ChoicesHandle c(raw);
    std::vector<Choice> v;
    for (std::size_t i = 0; i < pz_choices_count(c.get()); i++)
      v.push_back({pz_choices_kind(c.get(), i), detail::text(pz_choices_target(c.get(), i)),
                   pz_choices_factor(c.get(), i), pz_choices_position(c.get(), i),
                   pz_choices_created(c.get(), i), pz_choices_expires(c.get(), i)});
    return v;
  }

  // ---- segments ---------------------------------------------------------
  void load_segments(std::string_view yaml) {
    detail::check(pz_segment_load(get(), yaml.data(), yaml.size()), "pz_segment_load");
  }
  void refresh_segments() { detail::check(pz_segment_refresh(get()), "pz_segment_refresh"); }
  std::vector<std::string> segments_of(std::string_view user) const {
    pz_list *raw = nullptr;
    detail::check(pz_segment_of(&raw, get(), detail::c_str(user, "pz_segment_of").c_str()),
                  "pz_segment_of");
    ListHandle l(raw);
    std::vector<std::string> v;
    for (const Entry &x : to_vector(l.get())) v.push_back(x.text);
    return v;
  }
  std::vector<Entry> segment_counts() const {
    pz_list *raw = nullptr;
    detail::check(pz_segment_counts(&raw, get()), "pz_segment_counts");
    ListHandle l(raw);
    return to_vector(l.get());
  }

  // ---- collaborative filtering -------------------------------------------
  // algorithm: a pz_cf_algorithm; PZ_CF_CONFIG keeps the config's.
  pz_cf_stats train_cf(int algorithm = PZ_CF_CONFIG) {
    pz_cf_options o;
    detail::check(pz_cf_options_init(&o, PZ_CF_OPTIONS_VERSION), "pz_cf_options_init");
    o.algorithm = algorithm;
    detail::check(pz_cf_train(get(), &o), "pz_cf_train");
    pz_cf_stats s{};
    s.version = PZ_CF_STATS_VERSION;
    detail::check(pz_cf_stats_get(&s, get()), "pz_cf_stats_get");
    return s;
  }

  // ---- persistence ------------------------------------------------------
  void save(std::string_view path) {
    detail::check(pz_engine_save(get(), detail::c_str(path, "pz_engine_save").c_str()),
                  "pz_engine_save");
  }

private:
  explicit Engine(pz_engine *e) : e_(e) {}

  static int64_t call_clock(void *ud) noexcept { return (*static_cast<Clock *>(ud))(); }

  template <typename Fn>
  void choice(Fn fn, const char *call, std::string_view user, std::string_view target,
              int64_t expires_ms) {
    detail::check(fn(get(), detail::c_str(user, call).c_str(),
                     detail::c_str(target, call).c_str(), expires_ms),
                  call);
  }

  // Destroyed in reverse order: the engine first, then the clock it calls.
  std::unique_ptr<Clock> clock_;
  Handle<pz_engine, pz_engine_free> e_;
};

} // namespace pz

#endif // PZ_EXAMPLES_PERSONALIZE_HPP
