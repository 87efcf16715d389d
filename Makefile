# warden: one non-recursive Makefile.
#
#   make            build build/warden, build/libwarden.a and build/libwarden.so
#   make test       install missing packages, build, run unit + integration tests
#   make demo       install missing packages, build, run examples/hello.py sandboxed
#   make asan       unit tests under AddressSanitizer and UBSan
#   make fuzz       coverage-guided fuzzing (clang's libFuzzer, ASan/UBSan) of every
#                   tests/fuzz/*_fuzz.cc (FUZZ_RUNS, FUZZ_SEED, FUZZ_TIME seconds)
#   make bench      benchmarks in integration/bench/
#   make install    install to $(PREFIX) (default /usr/local)
#
# MODULES=base wal builds and tests only those subsystems of src/ (for
# working on one part while another does not compile yet).

BUILD    ?= build
PREFIX   ?= /usr/local
CXX      ?= g++
VERSION  := 0.1.0

PKGS := libseccomp libcap libnl-3.0 libnl-route-3.0 liburing protobuf-lite \
        tomlplusplus nlohmann_json libnftnl libmnl libmd libisal
# build/warden is a static PIE: loading any shared library (ld.so, then
# libc.so with its relocations and page faults) cost about 1 ms of every
# start, and start-up is what a one-shot sandbox is measured by. toml++ is
# compiled in (src/policy/toml_impl.cc); libmnl, which Debian ships shared
# only, is replaced by src/net/mnl.cc (its header still comes from
# libmnl-dev). isa-l ships shared only: the WAL, which uses it, is not in
# build/warden, and the test, bench and fuzz binaries link it dynamically.
STATIC_LIBS := -lseccomp -lcap -lnl-route-3 -lnl-3 -luring -lprotobuf-lite -lmd -lnftnl
SHARED_LIBS := -lisal -lpthread
# libwarden.so links every library shared, the real libmnl included, and
# libstdc++ too: its C++ API passes std::string and std::function across,
# which must be the embedding program's own.
SO_LIBS := -lseccomp -lcap -lnl-route-3 -lnl-3 -luring -lprotobuf-lite -lmd -lnftnl -lmnl \
           -lisal -lpthread
SO_MAJOR := 0

# Goals that install dependencies themselves or need none.
NODEPS_GOALS := test demo setup clean asan fuzz bench install help
ifeq ($(filter $(NODEPS_GOALS),$(MAKECMDGOALS)),)
  MISSING := $(shell for p in $(PKGS) catch2; do pkg-config --exists $$p || echo $$p; done)
  ifneq ($(strip $(MISSING)),)
    $(error missing libraries (pkg-config): $(MISSING). Run 'sudo scripts/setup.sh' to install them)
  endif
endif

PKG_CFLAGS = $(filter-out -DTOML_SHARED_LIB=%,$(shell pkg-config --cflags $(PKGS)))

WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2
# Every object is position-independent with hidden visibility, so that one
# set of objects serves the static PIE build/warden, libwarden.a and
# libwarden.so: only what include/warden/ marks WARDEN_EXPORT leaves the
# shared library.
VISIBILITY := -fvisibility=hidden -fvisibility-inlines-hidden
HARDEN   := -fPIC $(VISIBILITY) -fstack-protector-strong -D_FORTIFY_SOURCE=2
OPT      ?= -O2 -g
SANITIZE ?=
# LIBFUZZER=1 (make fuzz, with CXX=clang++): a sanitizer build whose code
# also carries libFuzzer's coverage instrumentation. -Werror stays with the
# gcc builds; clang's different warnings must not stop a fuzzing run.
LIBFUZZER ?=
SANITIZERS := address,undefined
ifneq ($(LIBFUZZER),)
  SANITIZE   := 1
  SANITIZERS := address,undefined,fuzzer-no-link
  WARN       := $(filter-out -Werror,$(WARN))
endif
ifneq ($(SANITIZE),)
  OPT    := -O1 -g -fno-omit-frame-pointer -fsanitize=$(SANITIZERS) -fno-sanitize-recover=undefined
  HARDEN := -fPIC $(VISIBILITY)
endif
CPPFLAGS_ALL = -Iinclude -Isrc -I$(BUILD)/gen -DWARDEN_VERSION=\"$(VERSION)\" $(PKG_CFLAGS)
CXXFLAGS_ALL = -std=c++20 $(OPT) $(HARDEN) -MMD -MP
LDFLAGS_ALL  = -pie -Wl,-z,relro,-z,now $(filter -fsanitize=%,$(OPT))
ifeq ($(SANITIZE),)
  LDFLAGS_ALL += -static-libstdc++ -static-libgcc
  # libstdc++ named here, ahead of where g++ adds it, so that the two libm
  # functions it needs (fegetround, fesetround) come from libm.a as well and
  # libm.so, with its 900 KB and its ifunc relocations, stays out of every
  # start. Spelt -l:libm.a because g++ moves a plain -lm to its own place.
  # (No other libm function may be used: most of libm.a needs glibc's
  # internal cpu-features symbol, and the link then fails.)
  STATIC_LIBS += -lstdc++ -l:libm.a
else
  SHARED_LIBS += -lm
endif
LDLIBS_ALL   = -Wl,-Bstatic $(STATIC_LIBS) -Wl,-Bdynamic $(SHARED_LIBS)
# build/warden itself: no interpreter, no shared library (sanitizer builds
# cannot be static and link as the tests do). libnl's address and protocol
# name helpers make the linker warn about getaddrinfo/getprotobyname in a
# static binary; warden never calls them.
ifeq ($(SANITIZE),)
  WARDEN_LDFLAGS = -static-pie -Wl,-z,relro,-z,now
  WARDEN_LDLIBS  = $(STATIC_LIBS) -lpthread
else
  WARDEN_LDFLAGS = $(LDFLAGS_ALL)
  WARDEN_LDLIBS  = $(LDLIBS_ALL)
endif

MODULES   ?= $(patsubst src/%/,%,$(sort $(dir $(wildcard src/*/))))
# src/agent/agent_main.cc is the main() of build/warden-agent, not library code.
AGENT_MAIN := src/agent/agent_main.cc
LIB_SRCS  := $(filter-out src/cli/% $(AGENT_MAIN),$(foreach m,$(MODULES),$(wildcard src/$(m)/*.cc)))
CLI_SRCS  := $(wildcard src/cli/*.cc)
PROTOS    := $(foreach m,$(MODULES),$(wildcard src/$(m)/*.proto))
PROTO_CC  := $(patsubst src/%.proto,$(BUILD)/gen/%.pb.cc,$(PROTOS))
PROTO_H   := $(PROTO_CC:.cc=.h)
TEST_SRCS := tests/main.cc tests/test_util.cc $(foreach m,$(MODULES),$(wildcard tests/$(m)/*_test.cc))

obj = $(patsubst %.cc,$(BUILD)/obj/%.o,$(1))
# The shipped policies, built into the binary (src/policy/builtin_policies.h).
POLICY_TOMLS := $(sort $(wildcard policies/*.toml))
BUILTIN_CC   := $(if $(filter policy,$(MODULES)),$(BUILD)/gen/policy/builtin_policies_data.cc)
LIB_OBJS  := $(call obj,$(LIB_SRCS)) $(PROTO_CC:.cc=.o) $(BUILTIN_CC:.cc=.o)
# src/net/mnl.cc stands in for libmnl in the static build/warden (Debian
# ships libmnl shared only) and is linked as an object into warden's own
# binaries, never put in libwarden.a. In the archive its mnl_* functions
# would be global definitions, and a static archive cannot hide a symbol from
# the final link: an embedder's program would take them in place of the real
# libmnl that its other libraries (libnftnl, conntrack, ...) were built
# against. libwarden.a calls libmnl by name instead, and warden.pc's
# Requires.private brings in Debian's libmnl.so. (Localising the symbols in
# a relocatable object, ld -r, would not do: libnftnl.a, linked after
# libwarden.a, needs them global.)
# Neither library carries mnl.o: libwarden.a, though one relocatable object
# now (below), is linked from ARCHIVE_OBJS, which leave it out, and
# libwarden.so links Debian's libmnl.so.
MNL_OBJ   := $(filter $(BUILD)/obj/src/net/mnl.o,$(LIB_OBJS))
ARCHIVE_OBJS := $(filter-out $(MNL_OBJ),$(LIB_OBJS))
# warden's own binaries (build/warden, the tests, benches and fuzz targets)
# link the plain objects from this archive: they use internal modules,
# which the installed libraries hide.
INTERNAL_LIB := $(BUILD)/libwarden_internal.a
SO_REAL   := $(BUILD)/libwarden.so.$(VERSION)
SO_LINKS  := $(BUILD)/libwarden.so.$(SO_MAJOR) $(BUILD)/libwarden.so
SO_MAP    := src/capi/warden.map
CLI_OBJS  := $(call obj,$(CLI_SRCS))
AGENT_BIN := $(if $(filter agent,$(MODULES)),$(BUILD)/warden-agent)
TEST_OBJS := $(call obj,$(TEST_SRCS))
BENCH_SRCS := $(wildcard integration/bench/*_bench.cc)
BENCH_BINS := $(patsubst integration/bench/%.cc,$(BUILD)/bench/%,$(BENCH_SRCS))
FUZZ_SRCS  := $(wildcard tests/fuzz/*_fuzz.cc)
FUZZ_BINS  := $(patsubst tests/fuzz/%.cc,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_RUNS  ?= 20000
FUZZ_SEED  ?= $(shell date +%s)
$(TEST_OBJS): CPPFLAGS_ALL += -Itests
# Catch2's own std::regex use trips -Wmaybe-uninitialized at -O1 (asan builds).
$(BUILD)/obj/tests/main.o: WARN += -Wno-maybe-uninitialized

.PHONY: all unit test demo asan bench benchbins fuzz fuzzbins install clean setup help FORCE
.DEFAULT_GOAL := all

# A sanitizer build makes no libwarden.so: its objects need the sanitizer's
# run time, which a shared library for other programs must not.
all: $(BUILD)/warden $(AGENT_BIN) $(BUILD)/libwarden.a $(if $(SANITIZE),,$(SO_REAL) $(SO_LINKS))
unit: $(BUILD)/unit_tests

$(INTERNAL_LIB): $(ARCHIVE_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# libwarden.a hides what libwarden.so hides: its objects are linked into
# one relocatable object whose hidden global symbols (everything not marked
# WARDEN_EXPORT) are made local, so an embedding program can neither call
# warden's internals nor clash with their names. The weak ones stay: they
# are the COMDAT copies of inline functions and templates, which the final
# link may discard for the program's own copy, and a local symbol in a
# discarded group would leave the references to it dangling (objcopy's
# --localize-hidden does that, and the link fails). Hidden, they are still
# not exported from the program.
$(BUILD)/libwarden.a: $(ARCHIVE_OBJS)
	@mkdir -p $(@D)
	$(LD) -r -o $(BUILD)/libwarden-all.o $^
	readelf -sW $(BUILD)/libwarden-all.o | \
	  awk '$$5 == "GLOBAL" && $$6 == "HIDDEN" && $$7 != "UND" { print $$8 }' \
	  > $(BUILD)/libwarden-all.hidden
	objcopy --localize-symbols=$(BUILD)/libwarden-all.hidden $(BUILD)/libwarden-all.o
	rm -f $@ && ar rcs $@ $(BUILD)/libwarden-all.o
	rm -f $(BUILD)/libwarden-all.o $(BUILD)/libwarden-all.hidden

# libwarden.so: the C ABI of warden.h and the C++ API of include/warden/,
# at version node WARDEN_0 ($(SO_MAP)); everything else is hidden.
$(SO_REAL): $(ARCHIVE_OBJS) $(SO_MAP)
	@mkdir -p $(@D)
	$(CXX) -shared -Wl,-soname,libwarden.so.$(SO_MAJOR) -Wl,--version-script=$(SO_MAP) \
	  -Wl,--no-undefined -Wl,-z,relro,-z,now -o $@ $(ARCHIVE_OBJS) $(SO_LIBS)

$(BUILD)/libwarden.so.$(SO_MAJOR): $(SO_REAL)
	ln -sfn $(notdir $<) $@

$(BUILD)/libwarden.so: $(BUILD)/libwarden.so.$(SO_MAJOR)
	ln -sfn $(notdir $<) $@

$(BUILD)/warden: $(CLI_OBJS) $(MNL_OBJ) $(INTERNAL_LIB)
	$(CXX) $(WARDEN_LDFLAGS) -o $@ $(CLI_OBJS) $(MNL_OBJ) $(INTERNAL_LIB) $(WARDEN_LDLIBS)

# The agent daemon is its own binary: it needs the WAL, and so isa-l, which
# Debian ships shared only; build/warden stays a static PIE that loads no
# shared library, for `warden run`'s start-up. `warden agent` executes it
# from build/warden's own directory. Monitors are build/warden (`warden
# monitor`), which keeps each running job's monitor small.
ifneq ($(AGENT_BIN),)
$(AGENT_BIN): $(call obj,$(AGENT_MAIN)) $(MNL_OBJ) $(INTERNAL_LIB)
	$(CXX) $(LDFLAGS_ALL) -o $@ $(call obj,$(AGENT_MAIN)) $(MNL_OBJ) $(INTERNAL_LIB) $(LDLIBS_ALL)
endif

$(BUILD)/unit_tests: $(TEST_OBJS) $(MNL_OBJ) $(INTERNAL_LIB)
	$(CXX) $(LDFLAGS_ALL) -o $@ $(TEST_OBJS) $(MNL_OBJ) $(INTERNAL_LIB) $(LDLIBS_ALL)

# Every object depends on the compiler and the flags it was built with,
# recorded in $(BUILD)/compile-flags (rewritten only when they change): a
# change of either (a new option here, OPT=..., CXX=...) rebuilds every
# object instead of linking objects compiled two ways, which can fail to
# link or, worse, link and misbehave.
COMPILE_LINE := $(CXX) $(CPPFLAGS_ALL) $(CXXFLAGS_ALL) $(WARN)
FLAGS_STAMP  := $(BUILD)/compile-flags
ifeq ($(filter clean,$(MAKECMDGOALS)),)
  $(shell mkdir -p $(BUILD) && { printf '%s\n' '$(subst ','\'',$(COMPILE_LINE))' | cmp -s - $(FLAGS_STAMP) || printf '%s\n' '$(subst ','\'',$(COMPILE_LINE))' > $(FLAGS_STAMP); })
endif

$(BUILD)/obj/%.o: %.cc $(FLAGS_STAMP) | $(PROTO_H)
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS_ALL) $(CXXFLAGS_ALL) $(WARN) -c $< -o $@

# Generated protobuf code is compiled without -Werror: its warnings are not ours.
$(BUILD)/gen/%.pb.cc $(BUILD)/gen/%.pb.h: src/%.proto
	@mkdir -p $(BUILD)/gen
	protoc --proto_path=src --cpp_out=lite:$(BUILD)/gen $<

$(BUILD)/gen/%.pb.o: $(BUILD)/gen/%.pb.cc $(FLAGS_STAMP)
	$(CXX) $(CPPFLAGS_ALL) $(CXXFLAGS_ALL) -w -c $< -o $@

# Each policies/NAME.toml becomes a string of \xHH escapes (od is in
# coreutils), so no byte of a policy can end the literal early.
$(BUILD)/gen/policy/builtin_policies_data.cc: $(POLICY_TOMLS) Makefile
	@mkdir -p $(@D)
	@{ echo '// Generated by the Makefile from policies/*.toml. Do not edit.'; \
	  echo '#include "policy/builtin_policies.h"'; \
	  echo 'namespace warden::policy {'; echo 'namespace {'; i=0; \
	  for f in $(POLICY_TOMLS); do \
	    echo "const char kText$$i[] ="; \
	    od -An -v -tx1 "$$f" | sed -e 's/ /\\x/g' -e 's/^/"/' -e 's/$$/"/'; \
	    echo '"";'; i=$$((i+1)); \
	  done; \
	  echo 'const BuiltinPolicy kPolicies[] = {'; i=0; \
	  for f in $(POLICY_TOMLS); do \
	    echo "  {\"$$(basename "$$f" .toml)\", kText$$i, sizeof kText$$i - 1},"; i=$$((i+1)); \
	  done; \
	  echo '};'; echo '}  // namespace'; \
	  echo 'std::span<const BuiltinPolicy> BuiltinPolicies() { return kPolicies; }'; \
	  echo '}  // namespace warden::policy'; } > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/policy/builtin_policies_data.o: $(BUILD)/gen/policy/builtin_policies_data.cc \
    src/policy/builtin_policies.h
	$(CXX) $(CPPFLAGS_ALL) $(CXXFLAGS_ALL) $(WARN) -c $< -o $@

benchbins: $(BENCH_BINS)

$(BUILD)/bench/%: $(BUILD)/obj/integration/bench/%.o $(MNL_OBJ) $(INTERNAL_LIB)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS_ALL) -o $@ $< $(MNL_OBJ) $(INTERNAL_LIB) $(LDLIBS_ALL)

# Fuzz targets: every tests/fuzz/*_fuzz.cc. `make test` links them with the
# gcc driver tests/fuzz/fuzz_main.cc (corpus replay and a short blind batch,
# no clang needed); `make fuzz` links them with clang's libFuzzer, which
# steers its mutations by the coverage of the instrumented library.
fuzzbins: $(FUZZ_BINS)

ifeq ($(LIBFUZZER),)
$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/fuzz/fuzz_main.o $(MNL_OBJ) $(INTERNAL_LIB)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)
else
$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(MNL_OBJ) $(INTERNAL_LIB)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS_ALL) -fsanitize=fuzzer -o $@ $^ $(LDLIBS_ALL)
endif

setup:
	scripts/setup.sh

test:
	scripts/setup.sh --quiet
	$(MAKE) --no-print-directory -j$$(nproc) all unit fuzzbins
	scripts/run-tests.sh $(BUILD)

demo:
	scripts/setup.sh --quiet
	$(MAKE) --no-print-directory all
	scripts/demo.sh $(BUILD)

asan:
	scripts/setup.sh --quiet
	$(MAKE) --no-print-directory -j$$(nproc) BUILD=build/asan SANITIZE=1 all unit fuzzbins
	WARDEN_UNIT_ONLY=1 scripts/run-tests.sh build/asan

# Each target runs FUZZ_RUNS inputs (or FUZZ_TIME seconds when set). New
# inputs it finds go to build/libfuzzer/corpus/NAME, crashes to
# build/libfuzzer/crash/NAME-*; tests/fuzz/corpus/NAME is only read.
FUZZ_TIME ?=
FUZZ_LIMIT = $(if $(FUZZ_TIME),-max_total_time=$(FUZZ_TIME),-runs=$(FUZZ_RUNS))
fuzz:
	scripts/setup.sh --quiet --fuzz
	$(MAKE) --no-print-directory -j$$(nproc) BUILD=build/libfuzzer CXX=clang++ LIBFUZZER=1 fuzzbins
	@mkdir -p build/libfuzzer/crash
	@for f in $(patsubst $(BUILD)/%,build/libfuzzer/%,$(FUZZ_BINS)); do \
	  n=$$(basename $$f _fuzz); mkdir -p build/libfuzzer/corpus/$$n; \
	  echo "== $$n: $(FUZZ_LIMIT), seed $(FUZZ_SEED)"; \
	  $$f $(FUZZ_LIMIT) -seed=$(FUZZ_SEED) -artifact_prefix=build/libfuzzer/crash/$$n- \
	    build/libfuzzer/corpus/$$n tests/fuzz/corpus/$$n || exit 1; \
	done

bench:
	scripts/setup.sh --quiet
	$(MAKE) --no-print-directory all benchbins
	integration/bench/run.sh $(BUILD)

# warden.pc for embedders, from PREFIX and VERSION. It is rewritten only when
# its text changes, so that `make install PREFIX=...` gets its own prefix.
$(BUILD)/warden.pc: warden.pc.in FORCE
	@mkdir -p $(@D)
	@sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' $< > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

FORCE:

# The installed copies carry no debug information: -g makes up about 95% of
# libwarden.a (130 MB of it, toml++'s, nlohmann's and protobuf's templates
# included) and of build/warden. The copies in $(BUILD) keep it.
STRIP ?= strip
install: all $(BUILD)/warden.pc
	install -D -m 0755 $(BUILD)/warden $(DESTDIR)$(PREFIX)/bin/warden
	$(STRIP) --strip-debug $(DESTDIR)$(PREFIX)/bin/warden
	install -m 0755 $(BUILD)/warden-agent $(DESTDIR)$(PREFIX)/bin/warden-agent
	$(STRIP) --strip-debug $(DESTDIR)$(PREFIX)/bin/warden-agent
	install -D -m 0644 $(BUILD)/libwarden.a $(DESTDIR)$(PREFIX)/lib/libwarden.a
	$(STRIP) --strip-debug $(DESTDIR)$(PREFIX)/lib/libwarden.a
	install -m 0755 $(SO_REAL) $(DESTDIR)$(PREFIX)/lib/
	$(STRIP) --strip-debug $(DESTDIR)$(PREFIX)/lib/$(notdir $(SO_REAL))
	ln -sfn $(notdir $(SO_REAL)) $(DESTDIR)$(PREFIX)/lib/libwarden.so.$(SO_MAJOR)
	ln -sfn libwarden.so.$(SO_MAJOR) $(DESTDIR)$(PREFIX)/lib/libwarden.so
	install -D -m 0644 $(BUILD)/warden.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/warden.pc
	mkdir -p $(DESTDIR)$(PREFIX)/include/warden $(DESTDIR)$(PREFIX)/share/doc/warden/policies
	install -m 0644 include/warden/*.h $(DESTDIR)$(PREFIX)/include/warden/
	# The shipped policies are built into the binary; a copy in the policy
	# directory would override them, stale, after the next upgrade. They go
	# with the documentation, to read and to copy from.
	install -m 0644 policies/*.toml policies/README.md $(DESTDIR)$(PREFIX)/share/doc/warden/policies/
	install -D -m 0644 docs/warden.1 $(DESTDIR)$(PREFIX)/share/man/man1/warden.1
	install -D -m 0644 scripts/warden-completion.bash \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/warden

clean:
	rm -rf build

help:
	@sed -n '2,12p' Makefile

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
