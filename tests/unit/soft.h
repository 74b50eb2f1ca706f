/* tests/unit/soft.h - "soft" checks for the bad-input suites: every
 * mismatch is printed with its line and the input being tried, and the
 * test fails at its end with their number. Include once per test binary
 * (it defines statics), after cmocka.h. */
#ifndef PZ_TEST_SOFT_H
#define PZ_TEST_SOFT_H

#include <personalize.h>
#include <string.h>

static int g_soft;             /* mismatches in the running test */
static const char *g_case = ""; /* which input a loop is trying */

#define CHECK(cond, ...)                                                     \
  do {                                                                       \
    if (!(cond)) {                                                           \
      g_soft++;                                                              \
      print_error("%s:%d: [%s] ", __FILE__, __LINE__, g_case);               \
      print_error(__VA_ARGS__);                                              \
      print_error("\n");                                                     \
    }                                                                        \
  } while (0)

static void soft_begin(void) {
  g_soft = 0;
  g_case = "";
}

static void soft_end(void) {
  g_case = "";
  if (g_soft) {
    print_error("%d check(s) failed in this test\n", g_soft);
    fail();
  }
}

/* Before each call that must fail, leave a known message behind, so that a
 * failure that forgets to set its own message is caught. */
#define PRIME_MARK "424242"
static void prime_errmsg(void) {
  pz_engine_options o;
  (void)pz_engine_options_init(&o, 424242u);
}

static int mentions(const char *msg, const char *needle) {
  return needle == NULL || strstr(msg, needle) != NULL;
}

/* The call must return `code`; when it fails its message must be new and
 * mention n1 and n2 (either may be NULL). */
#define FAILS(code, n1, n2, call)                                            \
  do {                                                                       \
    prime_errmsg();                                                          \
    int rc_ = (call);                                                        \
    const char *m_ = pz_errmsg();                                            \
    CHECK(rc_ == (code), "%s returned %d (%s), expected %d (%s); errmsg: %s", \
          #call, rc_, pz_strerror(rc_), (code), pz_strerror(code), m_);      \
    if (rc_ != PZ_OK) {                                                      \
      CHECK(strcmp(m_, "no error") != 0 && !strstr(m_, PRIME_MARK),          \
            "%s: failed without a message of its own (errmsg: %s)", #call,   \
            m_);                                                             \
      CHECK(mentions(m_, (n1)), "%s: errmsg \"%s\" does not mention \"%s\"", \
            #call, m_, (n1) ? (n1) : "");                                    \
      CHECK(mentions(m_, (n2)), "%s: errmsg \"%s\" does not mention \"%s\"", \
            #call, m_, (n2) ? (n2) : "");                                    \
    }                                                                        \
  } while (0)

#define OK(call)                                                             \
  do {                                                                       \
    int rc_ = (call);                                                        \
    CHECK(rc_ == PZ_OK, "%s returned %d (%s); errmsg: %s", #call, rc_,       \
          pz_strerror(rc_), pz_errmsg());                                    \
  } while (0)

/* A non-NULL pointer that must be replaced by NULL. */
static char sentinel_byte;
#define SENTINEL(T) ((T *)(void *)&sentinel_byte)

#endif
