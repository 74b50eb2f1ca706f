# libpersonalize - see README.md. Targets: all check check-sanitize check-tsan
# bench demo install uninstall clean deps.

VERSION_H := include/personalize/version.h
MAJOR := $(shell sed -n 's/^\#define PZ_VERSION_MAJOR \([0-9]*\)/\1/p' $(VERSION_H))
MINOR := $(shell sed -n 's/^\#define PZ_VERSION_MINOR \([0-9]*\)/\1/p' $(VERSION_H))
PATCH := $(shell sed -n 's/^\#define PZ_VERSION_PATCH \([0-9]*\)/\1/p' $(VERSION_H))
VERSION := $(MAJOR).$(MINOR).$(PATCH)

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR ?=

CC ?= cc
CXX ?= c++
PKG_CONFIG ?= pkg-config

# Where objects and the libraries go. The sanitizer build uses its own.
BUILD ?= build
OUT ?= lib

DEPS_PC := yaml-0.1 libxxhash
DEPS_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(DEPS_PC) 2>/dev/null)
DEPS_LIBS = $(shell $(PKG_CONFIG) --libs yaml-0.1 2>/dev/null)
CMOCKA_CFLAGS = $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS = $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

WARN := -Wall -Wextra -Wshadow -Wconversion -Wno-sign-conversion \
        -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wundef
OPT ?= -O2 -g
SAN ?=
CFLAGS_ALL = -std=c11 $(OPT) -fPIC -fvisibility=hidden -D_POSIX_C_SOURCE=200809L \
             $(WARN) -Iinclude $(DEPS_CFLAGS) $(SAN) $(CFLAGS)
LDFLAGS_ALL = $(SAN) $(LDFLAGS)
LIBS_ALL = $(DEPS_LIBS) -lpthread -lm

SRC := $(wildcard lib/core/*.c lib/svec/*.c lib/catalog/*.c lib/profile/*.c lib/segment/*.c lib/cf/*.c lib/override/*.c \
                  lib/rank/*.c lib/engine/*.c lib/store/*.c)
OBJ := $(SRC:%.c=$(BUILD)/%.o)
HDR := $(wildcard include/*.h include/personalize/*.h lib/*/*.h)

SONAME := libpersonalize.so.$(MAJOR)
REALNAME := libpersonalize.so.$(VERSION)
SO := $(OUT)/$(REALNAME)
AR_LIB := $(OUT)/libpersonalize.a

.PHONY: all deps check check-sanitize check-tsan bench demo install uninstall clean
all: $(SO) $(OUT)/$(SONAME) $(OUT)/libpersonalize.so $(AR_LIB) \
     $(BUILD)/libpersonalize.pc examples

# ---- dependencies: install what is missing (root) or say what to install --
DEB_PKGS := libyaml-dev libxxhash-dev libcmocka-dev pkg-config mandoc \
            liblua5.4-dev lua5.4 python3-venv python3-setuptools python3-pip python3-wheel
deps:
	@sh tests/deps.sh $(DEB_PKGS)

$(BUILD)/%.o: %.c $(HDR) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

# the ALS kernels may fuse multiply-adds (-std=c11 turns that off)
$(BUILD)/lib/cf/kernel.o: CFLAGS_ALL += -ffp-contract=fast -Wno-psabi

$(SO): $(OBJ) lib/libpersonalize.map
	@mkdir -p $(OUT)
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=lib/libpersonalize.map \
	  -Wl,--no-undefined $(LDFLAGS_ALL) -o $@ $(OBJ) $(LIBS_ALL)

$(OUT)/$(SONAME): $(SO)
	ln -sf $(REALNAME) $@
$(OUT)/libpersonalize.so: $(OUT)/$(SONAME)
	ln -sf $(SONAME) $@

$(AR_LIB): $(OBJ)
	@mkdir -p $(OUT)
	rm -f $@
	ar rcs $@ $(OBJ)

$(BUILD)/libpersonalize.pc: lib/libpersonalize.pc.in $(VERSION_H)
	@mkdir -p $(BUILD)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' $< > $@

# ---- examples --------------------------------------------------------------
EX_BIN := $(BUILD)/examples/quickstart $(BUILD)/examples/pz-gen \
          $(BUILD)/examples/segments $(BUILD)/examples/pz-eval \
          $(BUILD)/examples/cf_movies $(BUILD)/examples/kiosk_overrides
.PHONY: examples
examples: $(EX_BIN)
$(BUILD)/examples/%: examples/%.c examples/synth.h $(AR_LIB) $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(AR_LIB) $(LDFLAGS_ALL) $(LIBS_ALL)

# ---- Lua module (bindings/lua): links the shared library ------------------
LUA_PC ?= lua5.4
LUA_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(LUA_PC) 2>/dev/null)
LUA_MOD := $(BUILD)/lua/personalize.so
LUA_SRC := $(wildcard bindings/lua/*.c)
$(LUA_MOD): $(LUA_SRC) $(wildcard bindings/lua/*.h) $(SO) $(OUT)/libpersonalize.so $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LUA_CFLAGS) -shared -o $@ $(LUA_SRC) -L$(OUT) -lpersonalize $(LDFLAGS_ALL)
.PHONY: lua
lua: $(LUA_MOD)

# the build is quiet (its log is kept; shown whole when it fails)
demo:
	@mkdir -p $(BUILD)
	@echo "demo: building (log: $(BUILD)/demo-build.log)..."
	@$(MAKE) --no-print-directory all > $(BUILD)/demo-build.log 2>&1 || \
	  { cat $(BUILD)/demo-build.log; exit 1; }
	@sh examples/demo.sh $(BUILD)

# ---- tests -------------------------------------------------------------------
TEST_SRC := $(wildcard tests/unit/test_*.c)
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
SUPPORT := tests/unit/support.c

$(BUILD)/tests/%: tests/unit/%.c $(SUPPORT) tests/unit/support.h tests/unit/soft.h $(AR_LIB) $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Wno-conversion $(CMOCKA_CFLAGS) -Ilib -o $@ $< $(SUPPORT) \
	  $(AR_LIB) $(LDFLAGS_ALL) $(CMOCKA_LIBS) $(LIBS_ALL)

# the fuzz targets' corpora are replayed by `make check`; `make fuzz` runs
# libFuzzer (clang) for FUZZ_SECONDS on each target of FUZZ_TARGET (by
# default the config parser and the segment rules; also snapshot, journal:
# `make fuzz FUZZ_TARGET="snapshot journal" -j2`), stopping at the first
# sanitizer report; `make fuzz-seeds` writes the seed snapshots and
# journals of tests/fuzz/corpus/ again (CF seeds differ in train_seconds)
FUZZ_SECONDS ?= 60
FUZZ_TARGET ?= config segments
FUZZ_CC = clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -D_POSIX_C_SOURCE=200809L -Iinclude -Ilib $(DEPS_CFLAGS)
$(BUILD)/tests/replay_config: tests/fuzz/replay.c tests/fuzz/fuzz_config.c $(AR_LIB) $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ tests/fuzz/replay.c tests/fuzz/fuzz_config.c $(AR_LIB) \
	  $(LDFLAGS_ALL) $(LIBS_ALL)
$(BUILD)/tests/replay_segments: tests/fuzz/replay.c tests/fuzz/fuzz_segments.c $(AR_LIB) $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ tests/fuzz/replay.c tests/fuzz/fuzz_segments.c $(AR_LIB) \
	  $(LDFLAGS_ALL) $(LIBS_ALL)
$(BUILD)/tests/replay_snapshot: tests/fuzz/replay.c tests/fuzz/fuzz_snapshot.c tests/fuzz/fuzz_alloc.h $(AR_LIB) $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ tests/fuzz/replay.c tests/fuzz/fuzz_snapshot.c $(AR_LIB) \
	  $(LDFLAGS_ALL) $(LIBS_ALL)
$(BUILD)/tests/replay_journal: tests/fuzz/replay.c tests/fuzz/fuzz_journal.c tests/fuzz/fuzz_alloc.h $(AR_LIB) $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Ilib -o $@ tests/fuzz/replay.c tests/fuzz/fuzz_journal.c $(AR_LIB) \
	  $(LDFLAGS_ALL) $(LIBS_ALL)
$(BUILD)/tests/seeds_%: tests/fuzz/fuzz_%.c $(AR_LIB) $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Ilib -DFUZZ_$(shell echo $* | tr a-z A-Z)_SEEDS -o $@ $< $(AR_LIB) \
	  $(LDFLAGS_ALL) $(LIBS_ALL)
.PHONY: fuzz fuzz-config fuzz-segments fuzz-snapshot fuzz-journal fuzz-seeds
fuzz: $(addprefix fuzz-,$(FUZZ_TARGET))
fuzz-config: deps
	@mkdir -p build/fuzz/corpus
	$(FUZZ_CC) -o build/fuzz/fuzz_config tests/fuzz/fuzz_config.c $(SRC) \
	  $(DEPS_LIBS) -lpthread -lm
	build/fuzz/fuzz_config -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	  build/fuzz/corpus tests/fuzz/corpus/config
fuzz-segments: deps
	$(FUZZ_CC) -o build/fuzz/fuzz_segments tests/fuzz/fuzz_segments.c $(SRC) \
	  $(DEPS_LIBS) -lpthread -lm
	@mkdir -p build/fuzz/corpus-segments
	build/fuzz/fuzz_segments -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 \
	  -dict=tests/fuzz/segments.dict build/fuzz/corpus-segments tests/fuzz/corpus/segments
fuzz-snapshot: deps
	$(FUZZ_CC) -o build/fuzz/fuzz_snapshot tests/fuzz/fuzz_snapshot.c $(SRC) \
	  $(DEPS_LIBS) -lpthread -lm
	@mkdir -p build/fuzz/corpus-snapshot
	build/fuzz/fuzz_snapshot -max_total_time=$(FUZZ_SECONDS) -max_len=32768 -timeout=30 \
	  -artifact_prefix=build/fuzz/snapshot- \
	  -dict=tests/fuzz/snapshot.dict build/fuzz/corpus-snapshot tests/fuzz/corpus/snapshot
fuzz-journal: deps
	$(FUZZ_CC) -o build/fuzz/fuzz_journal tests/fuzz/fuzz_journal.c $(SRC) \
	  $(DEPS_LIBS) -lpthread -lm
	@mkdir -p build/fuzz/corpus-journal
	build/fuzz/fuzz_journal -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -timeout=30 \
	  -artifact_prefix=build/fuzz/journal- \
	  -dict=tests/fuzz/journal.dict build/fuzz/corpus-journal tests/fuzz/corpus/journal
fuzz-seeds: $(BUILD)/tests/seeds_snapshot $(BUILD)/tests/seeds_journal
	$(BUILD)/tests/seeds_snapshot tests/fuzz/corpus/snapshot
	$(BUILD)/tests/seeds_journal tests/fuzz/corpus/journal

check: all $(if $(LUA_SRC),$(LUA_MOD)) $(TEST_BIN) $(BUILD)/tests/replay_config $(BUILD)/tests/replay_segments \
       $(BUILD)/tests/replay_snapshot $(BUILD)/tests/replay_journal
	@sh tests/run.sh $(BUILD) $(OUT) "$(CC)" "$(CXX)" "$(SAN)"

check-sanitize:
	$(MAKE) check BUILD=build/san OUT=build/san/lib OPT="-O1 -g" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"

# the many-thread suites under ThreadSanitizer (clang), with its
# lock-order (deadlock) detector: any report fails. (Before 1.2
# pz_engine_save held every shard lock at once, more than the 64 the
# detector can track, so test_stress ran without it; saves now exclude
# writers with one lock.) The timeout keeps a hang from stalling CI.
TSAN_CC ?= clang
TSAN_TESTS := test_threads test_stress test_journal
TSAN_OPTS := halt_on_error=1 second_deadlock_stack=1
check-tsan:
	$(MAKE) $(TSAN_TESTS:%=build/tsan/tests/%) BUILD=build/tsan OUT=build/tsan/lib \
	  CC=$(TSAN_CC) OPT="-O1 -g" SAN="-fsanitize=thread -fno-omit-frame-pointer" \
	  DEB_PKGS="$(DEB_PKGS) clang"
	@mkdir -p build/tsan/tests/log; passed=0; failed=0; \
	for t in $(TSAN_TESTS); do \
	  log=build/tsan/tests/log/$$t.out; \
	  TSAN_OPTIONS="$(TSAN_OPTS)" timeout 600 \
	    build/tsan/tests/$$t > $$log 2>&1; rc=$$?; cat $$log; \
	  p=$$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' $$log | tail -n 1); \
	  f=$$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:/\1/p' $$log | tail -n 1); \
	  passed=$$((passed + $${p:-0})); failed=$$((failed + $${f:-0})); \
	  if [ $$rc -ne 0 ] && [ -z "$$f" ]; then \
	    echo "[  FAILED  ] $$t exited with status $$rc"; failed=$$((failed + 1)); fi; \
	done; \
	echo "tsan: $$passed passed, $$failed failed"; [ $$failed -eq 0 ]

bench: all $(LUA_MOD) $(BUILD)/tests/bench $(BUILD)/tests/bench_cf $(BUILD)/tests/bench_store \
       $(BUILD)/tests/bench_calls
	@PZ_BENCH_OUT=$(OUT) sh tests/bench/run.sh $(BUILD)
$(BUILD)/tests/bench_calls: tests/bench/bench_calls.c tests/bench/common.h $(AR_LIB) $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(AR_LIB) $(LDFLAGS_ALL) $(LIBS_ALL)
$(BUILD)/tests/bench: tests/bench/bench.c tests/bench/common.h examples/synth.h $(AR_LIB) $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Ilib -o $@ $< $(AR_LIB) $(LDFLAGS_ALL) $(LIBS_ALL)
$(BUILD)/tests/bench_cf: tests/bench/bench_cf.c tests/bench/common.h examples/synth.h $(AR_LIB) $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(AR_LIB) $(LDFLAGS_ALL) $(LIBS_ALL)
$(BUILD)/tests/bench_store: tests/bench/bench_store.c tests/bench/common.h examples/synth.h $(AR_LIB) $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(AR_LIB) $(LDFLAGS_ALL) $(LIBS_ALL)

# ---- install -------------------------------------------------------------------
# The Lua module goes where Debian's lua5.4 looks ($(LIBDIR)/lua/5.4); the
# Python package into the interpreter's own directory when that lies under
# PREFIX (Debian: /usr/local/lib/python3.X/dist-packages), else into
# PREFIX/lib/python3.X/site-packages. Both can be overridden.
MAN3 := $(wildcard man/man3/*.3)
MAN5 := $(wildcard man/man5/*.5)
MAN7 := $(wildcard man/man7/*.7)
PUBLIC_HDR := $(notdir $(wildcard include/personalize/*.h))
LUADIR ?= $(LIBDIR)/lua/5.4
PYTHON ?= python3
PYTHONDIR ?= $(shell $(PYTHON) -c 'import sys, sysconfig; p = sysconfig.get_path("purelib"); \
  b = sys.argv[1].rstrip("/"); \
  print(p if p.startswith(b + "/") else sysconfig.get_path("purelib", "posix_prefix", {"base": b}))' \
  '$(PREFIX)' 2>/dev/null)
PY_FILES := $(notdir $(wildcard bindings/python/personalize/*.py bindings/python/personalize/py.typed))
install: all $(if $(LUA_SRC),$(LUA_MOD))
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/personalize \
	  $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man5 \
	  $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(LUADIR)
	install -m 755 $(SO) $(DESTDIR)$(LIBDIR)/$(REALNAME)
	ln -sf $(REALNAME) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libpersonalize.so
	install -m 644 $(AR_LIB) $(DESTDIR)$(LIBDIR)/libpersonalize.a
	install -m 644 include/personalize.h $(DESTDIR)$(INCLUDEDIR)/personalize.h
	install -m 644 include/personalize/*.h $(DESTDIR)$(INCLUDEDIR)/personalize/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	  lib/libpersonalize.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/libpersonalize.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/libpersonalize.pc
	$(if $(MAN3),install -m 644 $(MAN3) $(DESTDIR)$(MANDIR)/man3/)
	$(if $(MAN5),install -m 644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/)
	$(if $(MAN7),install -m 644 $(MAN7) $(DESTDIR)$(MANDIR)/man7/)
	$(if $(LUA_SRC),install -m 755 $(LUA_MOD) $(DESTDIR)$(LUADIR)/personalize.so)
	@if [ -n "$(PYTHONDIR)" ] && [ -n "$(PY_FILES)" ]; then \
	  echo "install -d $(DESTDIR)$(PYTHONDIR)/personalize"; \
	  install -d $(DESTDIR)$(PYTHONDIR)/personalize && \
	  for f in $(PY_FILES); do \
	    install -m 644 bindings/python/personalize/$$f $(DESTDIR)$(PYTHONDIR)/personalize/ || exit 1; \
	  done; \
	else echo "note: $(PYTHON) not found: the Python package was not installed"; fi
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then \
	  echo ldconfig; ldconfig; fi

# removes exactly the files install wrote (and the bytecode Python caches
# next to the package), then the directories install makes (ours, the Lua,
# pkg-config and man ones) that are left empty
uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/$(REALNAME) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	  $(DESTDIR)$(LIBDIR)/libpersonalize.so $(DESTDIR)$(LIBDIR)/libpersonalize.a \
	  $(DESTDIR)$(INCLUDEDIR)/personalize.h $(DESTDIR)$(PKGCONFIGDIR)/libpersonalize.pc \
	  $(DESTDIR)$(LUADIR)/personalize.so
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/personalize/,$(PUBLIC_HDR))
	-rmdir $(DESTDIR)$(INCLUDEDIR)/personalize
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(MAN3))) \
	  $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(MAN5))) \
	  $(addprefix $(DESTDIR)$(MANDIR)/man7/,$(notdir $(MAN7)))
	$(if $(PYTHONDIR),rm -f $(addprefix $(DESTDIR)$(PYTHONDIR)/personalize/,$(PY_FILES)))
	$(if $(PYTHONDIR),rm -rf $(DESTDIR)$(PYTHONDIR)/personalize/__pycache__)
	$(if $(PYTHONDIR),-rmdir $(DESTDIR)$(PYTHONDIR)/personalize)
	@# the directories install made for us, each only when left empty
	@for d in $(DESTDIR)$(LUADIR) $(dir $(DESTDIR)$(LUADIR)) $(DESTDIR)$(PKGCONFIGDIR) \
	  $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
	  $(DESTDIR)$(MANDIR); do \
	  if [ -d "$$d" ] && [ -z "$$(ls -A "$$d")" ]; then echo "rmdir $$d"; rmdir "$$d"; fi; \
	done

# ---- ABI guard (libabigail) ---------------------------------------------------------
# abi/libpersonalize.abi is the 1.0 baseline; abi-check fails on a removed or
# changed function or public type (tests/abi_check.sh says what passes).
# Regenerate the baseline only for a reviewed, compatible change.
ABI_BASE := abi/libpersonalize.abi
ABI_SUPPR := abi/libpersonalize.suppr
.PHONY: abi-check abi-baseline
abi-check: $(SO)
	@sh tests/deps.sh abigail-tools
	sh tests/abi_check.sh $(ABI_BASE) $(ABI_BASE) $(ABI_SUPPR) --self-test
	sh tests/abi_check.sh $(SO) $(ABI_BASE) $(ABI_SUPPR)
abi-baseline: $(SO)
	@sh tests/deps.sh abigail-tools
	abidw --headers-dir include/personalize --drop-private-types --no-corpus-path \
	  --out-file $(ABI_BASE) $(SO)

clean:
	rm -rf build lib/libpersonalize.so* lib/libpersonalize.a
