# oci-idmap-hook: see README.md.  `make`, `make check`, `make install`.
VERSION := 0.1.0
# The layout of the packages (debian/, oci-idmap-hook.spec) and of the OCI
# hooks distributions ship: the binary under LIBEXECDIR/oci/hooks.d, the
# registration in the vendor hooks.d directory that podman, CRI-O and NRI's
# hook injector read (an administrator's file of the same name in
# /etc/containers/oci/hooks.d masks it), the commands on PATH as symlinks.
PREFIX ?= /usr
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
HOOKBINDIR ?= $(LIBEXECDIR)/oci/hooks.d
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
DOCDIR ?= $(DATADIR)/doc/oci-idmap-hook
HOOKSDIR ?= $(DATADIR)/containers/oci/hooks.d
# Compiled in: the policy's default path (SYSCONFDIR/oci-idmap-hook/) and
# the journals' (LOCALSTATEDIR/lib/oci-idmap-hook/journal).
SYSCONFDIR ?= /etc
LOCALSTATEDIR ?= /var
# crun and podman drop a hook's stderr: the registration logs here too.
HOOKLOG ?= $(LOCALSTATEDIR)/log/oci-idmap-hook.log
DESTDIR ?=

CC ?= cc
CFLAGS ?= -O2 -g
PKGS := yajl libseccomp libcap
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lyajl -lseccomp -lcap)
# Warnings that catch whole classes (after bubblewrap's list): a function
# without a prototype, a switch that forgets a case or a default, ...
WARN := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
  -Wmissing-declarations -Wold-style-definition -Wswitch-default -Wswitch-enum -Wnull-dereference \
  -Wpointer-arith -Wundef -Wimplicit-fallthrough -Wvla -Wwrite-strings
HARDEN := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
ALL_CFLAGS := -std=gnu11 -I. $(WARN) $(HARDEN) $(PKG_CFLAGS) -DVERSION='"$(VERSION)"' \
  -DSYSCONFDIR='"$(SYSCONFDIR)"' -DLOCALSTATEDIR='"$(LOCALSTATEDIR)"' $(CFLAGS)
ALL_LDFLAGS := -pie -Wl,-z,relro,-z,now -pthread $(LDFLAGS)

B := build
# Layers, each depending only on those before it (CONTRIBUTING.md, Layout):
# base/, oci/, then hook/'s folders.
BASE_SRC := $(wildcard base/*.c)
OCI_SRC := $(wildcard oci/*.c)
HOOK_SRC := $(filter-out hook/cli/main.c,$(wildcard hook/*/*.c))
LIB_SRC := $(BASE_SRC) $(OCI_SRC) $(HOOK_SRC)
UNIT_SRC := $(wildcard tests/unit/test_*.c)

# Sanitizer build of the same sources, for the unit tests.
SAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all

obj = $(patsubst %.c,$(B)/$(1)/%.o,$(2))

# Each object depends on the headers it includes, as the compiler lists
# them in OBJ.d (included at the end; -MP: a deleted header does not break
# the next make).
DEPFLAGS = -MMD -MP

.PHONY: all check unit integration integration-san integration-debian13 fuzz fuzz-smoke bench install uninstall clean demo deps demo-deps deb-deps format \
  format-check check-layers
# Keep the sanitizer objects between runs.
.SECONDARY:
all: $(B)/oci-idmap-hook $(B)/oci-idmap-runtime

# The runtime shim is the same binary under another name.
$(B)/oci-idmap-runtime: $(B)/oci-idmap-hook
	ln -sf oci-idmap-hook $@

$(B)/oci-idmap-hook: $(call obj,rel,$(LIB_SRC) hook/cli/main.c)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) $(PKG_LIBS)

# tests/latencyfs: a FUSE passthrough that waits before each operation, a
# network filesystem's stand-in for the chown tests and benchmarks.
.PHONY: latencyfs
latencyfs: $(B)/latencyfs
$(B)/latencyfs: tests/latencyfs/latencyfs.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 $(WARN) $(shell pkg-config --cflags fuse3) -o $@ $< $(shell pkg-config --libs fuse3)

# A static binary runs on any node's distribution (deploy/kubernetes/).
# Debian's libyajl-dev ships the static yajl as libyajl_s.a; libseccomp-dev
# and libcap-dev ship libseccomp.a and libcap.a.
STATIC_LIBS ?= -l:libyajl_s.a -l:libseccomp.a -l:libcap.a
.PHONY: static
static: $(B)/oci-idmap-hook-static

$(B)/oci-idmap-hook-static: $(call obj,rel,$(LIB_SRC) hook/cli/main.c)
	$(CC) $(ALL_CFLAGS) -o $@ $^ -static-pie -Wl,-z,relro,-z,now $(LDFLAGS) $(STATIC_LIBS)

$(B)/rel/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(B)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) $(DEPFLAGS) -c -o $@ $<

# Each unit test links every module but main, built with the sanitizers.
$(B)/unit/%: $(B)/san/tests/unit/%.o $(call obj,san,$(LIB_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -o $@ $^ $(ALL_LDFLAGS) $(PKG_LIBS)

UNIT_BINS := $(patsubst tests/unit/%.c,$(B)/unit/%,$(UNIT_SRC))

# The hook itself built with the sanitizers, for a second run of the
# integration suite: a memory error or undefined behaviour anywhere in the
# hook's path, the shim's or inject's ends that run with status 86, so the
# container does not start and the test fails.
SAN_BIN := $(B)/san-bin
$(SAN_BIN)/oci-idmap-hook: $(call obj,san,$(LIB_SRC) hook/cli/main.c tests/san/sanitizer_options.c)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -o $@ $^ $(ALL_LDFLAGS) $(PKG_LIBS)

$(SAN_BIN)/oci-idmap-runtime: $(SAN_BIN)/oci-idmap-hook
	ln -sf oci-idmap-hook $@

# libFuzzer targets for every parser of untrusted input, seeded from
# tests/fuzz/corpus/NAME.  `make fuzz` runs each for FUZZ_SECONDS, keeping
# what it finds under build/fuzz/; `make check` runs a fixed FUZZ_RUNS each.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_RUNS ?= 20000
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))

# The library is compiled once for all targets (instrumented for coverage,
# without libFuzzer's main); each target links its own file against it.
FUZZ_CFLAGS := -std=gnu11 -I. -g -O1 $(WARN) $(PKG_CFLAGS) -fno-sanitize-recover=all

$(B)/fuzzobj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined $(DEPFLAGS) -c -o $@ $<

$(B)/fuzz/fuzz_%: $(B)/fuzzobj/tests/fuzz/fuzz_%.o $(call obj,fuzzobj,$(LIB_SRC))
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $^ $(PKG_LIBS)

# tests/fuzz/fuzz_NAME.options, when there, holds libFuzzer flags for that
# target (e.g. -max_len=262144, so the JSON targets reach deep nesting);
# both rules pass them.  `make fuzz` ends with a line per target, "fuzz NAME:
# N execs, N crashes", from libFuzzer's final stats.
fuzz_opts = $$(cat tests/fuzz/fuzz_$$n.options 2>/dev/null)

fuzz: $(FUZZ_BINS)
	@rm -f $(B)/fuzz/summary; for f in $(FUZZ_BINS); do n=$${f##*/fuzz_}; mkdir -p $(B)/fuzz/found-$$n; \
	  echo "fuzz: $$n for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -artifact_prefix=$(B)/fuzz/crash-$$n- $(fuzz_opts) \
	    $(B)/fuzz/found-$$n tests/fuzz/corpus/$$n >$(B)/fuzz/$$n.log 2>&1; rc=$$?; \
	  execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $(B)/fuzz/$$n.log | tail -1); \
	  crashes=$$(grep -c 'Test unit written to' $(B)/fuzz/$$n.log); \
	  echo "fuzz $$n: $${execs:-0} execs, $$crashes crashes" | tee -a $(B)/fuzz/summary; \
	  [ $$rc -eq 0 ] || { tail -30 $(B)/fuzz/$$n.log; exit 1; }; \
	done

# New inputs go to build/fuzz/new-NAME (libFuzzer writes to its first
# corpus directory), so that a check leaves the tracked seeds as they are.
fuzz-smoke: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do n=$${f##*/fuzz_}; mkdir -p $(B)/fuzz/new-$$n; \
	  $$f -runs=$(FUZZ_RUNS) -seed=1 $(fuzz_opts) $(B)/fuzz/new-$$n tests/fuzz/corpus/$$n >$(B)/fuzz/$$n.log 2>&1 \
	    && echo "ok - fuzz $$n: $(FUZZ_RUNS) runs" \
	    || { tail -30 $(B)/fuzz/$$n.log; echo "not ok - fuzz $$n"; exit 1; }; \
	done

unit: $(UNIT_BINS)
	prove -f $(UNIT_BINS)

integration: all
	tests/run-integration

# The same suite against the sanitizer build (see SAN_BIN).
integration-san: all $(SAN_BIN)/oci-idmap-runtime
	HOOK_UNDER_TEST=$(CURDIR)/$(SAN_BIN)/oci-idmap-hook RUNTIME_UNDER_TEST=$(CURDIR)/$(SAN_BIN)/oci-idmap-runtime \
	  SANITIZER_LANE=1 tests/run-integration

# The same suite in a Debian 13 root (scripts/debian13-root, entered by
# scripts/in-debian13): podman 5, crun 1.2x, Docker 26 with compose 2,
# containerd 1.7, and the hook built there by trixie's compiler.
integration-debian13:
	scripts/in-debian13 sh -c 'make -s -j2 all && INTEGRATION_LANE=debian13 tests/run-integration $(FILES)'

# Everything: installs what a fresh Debian 12 machine lacks; the quick
# checks first (format, version, layers, the tarball, the RPM), then the
# sanitizer unit tests, the fuzz smoke runs and the integration suite on
# real runtimes, in three lanes (release, sanitizer, debian13), then the
# package's test in its two roots (its build skips the unit tests, run
# above); each prints its own summary line, all run, and check fails if
# any of them failed.
check: deps
	$(MAKE) format-check
	$(MAKE) check-version
	$(MAKE) all $(UNIT_BINS) $(FUZZ_BINS) $(SAN_BIN)/oci-idmap-runtime
	$(MAKE) check-layers
	$(MAKE) check-dist check-rpm
	prove -f $(UNIT_BINS)
	$(MAKE) fuzz-smoke
	@rc=0; tests/run-integration || rc=1; $(MAKE) integration-san || rc=1; \
	  $(MAKE) integration-debian13 || rc=1; DEB_BUILD_OPTIONS=nocheck $(MAKE) check-packages || rc=1; exit $$rc

# The Debian package installed, used by podman and by runc through inject,
# removed and purged in clean Debian 12 and 13 roots (tests/packages/run;
# the roots are kept in /var/tmp/oci-idmap-hook-pkgroot-SUITE).  DEB=FILE
# tests that package instead of building one.
PACKAGE_SUITES ?= bookworm trixie
.PHONY: check-packages
check-packages: $(if $(filter command line,$(origin DEB)),,deb)
	tests/packages/run $(DEB) $(PACKAGE_SUITES)

# What a fresh Debian 12 machine lacks for each job, and only that
# (scripts/install-deps says what it installs first, starts and enables no
# service): `make deps` for check, the demo only what it uses.
deps:
	scripts/install-deps check

demo-deps:
	scripts/install-deps demo

# What debian/control's Build-Depends name (as `apt-get build-dep ./` would
# install them); nothing when they are there, so any user can build.
deb-deps:
	scripts/install-deps deb

# Never part of check: timings belong here, on a quiet machine.  BENCH_SIZES,
# BENCH_REPS, BENCH_CHOWN_REPS, BENCH_IO_FILES, BENCH_SECTIONS and section 5's
# BENCH_QUICK, BENCH_*_FILES, BENCH_WALKERS, BENCH_LATENCIES_US tune it;
# see bench/run.  Then doctor's scan.
bench: deps all latencyfs
	bench/run
	scripts/bench-doctor

demo: demo-deps
	$(MAKE) all
	scripts/demo

# hook_json WHEN: the registration for HOOKBINDIR and HOOKLOG, run for the
# containers that carry the annotation (annotation) or for every one (always).
hook_json = sed -e 's|@HOOKBINDIR@|$(HOOKBINDIR)|g' -e 's|@HOOKLOG@|$(HOOKLOG)|g' hooks.d/oci-idmap-hook-$(1).json.in

INSTALLED := $(HOOKBINDIR)/oci-idmap-hook $(BINDIR)/oci-idmap-hook $(BINDIR)/oci-idmap-runtime \
  $(MANDIR)/man1/oci-idmap-hook.1 $(HOOKSDIR)/oci-idmap-hook.json $(DATADIR)/oci-idmap-hook/oci-idmap-hook-always.json \
  $(DOCDIR)/examples/policy.json

install: $(B)/oci-idmap-hook
	install -D -m 0755 $(B)/oci-idmap-hook $(DESTDIR)$(HOOKBINDIR)/oci-idmap-hook
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(HOOKSDIR) $(DESTDIR)$(DATADIR)/oci-idmap-hook
	ln -sfr $(DESTDIR)$(HOOKBINDIR)/oci-idmap-hook $(DESTDIR)$(BINDIR)/oci-idmap-hook
	ln -sfr $(DESTDIR)$(HOOKBINDIR)/oci-idmap-hook $(DESTDIR)$(BINDIR)/oci-idmap-runtime
	install -d $(DESTDIR)$(MANDIR)/man1
	sed -e '$(MAN_SED)' doc/oci-idmap-hook.1 >$(DESTDIR)$(MANDIR)/man1/oci-idmap-hook.1
	$(call hook_json,annotation) >$(DESTDIR)$(HOOKSDIR)/oci-idmap-hook.json
	$(call hook_json,always) >$(DESTDIR)$(DATADIR)/oci-idmap-hook/oci-idmap-hook-always.json
	chmod 0644 $(DESTDIR)$(HOOKSDIR)/oci-idmap-hook.json $(DESTDIR)$(DATADIR)/oci-idmap-hook/oci-idmap-hook-always.json \
	  $(DESTDIR)$(MANDIR)/man1/oci-idmap-hook.1
	install -D -m 0644 doc/examples/policy.json $(DESTDIR)$(DOCDIR)/examples/policy.json

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))

# The Debian package (debian/; its rules run `make all` and `make install
# DESTDIR=debian/oci-idmap-hook`), for `apt install ./build/deb/...deb`.
# dpkg-buildpackage runs in a copy of the tracked files only (git ls-files;
# every file but build/ and .git in a tree that is not a checkout, such as
# the release tarball), so that build/ and untracked files never reach the
# package; MAKEFLAGS is dropped so that this make's variables (PREFIX=...,
# -j) do not leak into the package's build.
DEB_ARCH = $(shell dpkg --print-architecture)
DEB = $(B)/deb/oci-idmap-hook_$(VERSION)_$(DEB_ARCH).deb
.PHONY: deb
deb: deb-deps
	rm -rf $(B)/deb && mkdir -p $(B)/deb/src
	if [ "$$(git rev-parse --show-toplevel 2>/dev/null)" = "$(CURDIR)" ]; then git ls-files -z | tar --null -T - -cf -; \
	  else tar --exclude=./build --exclude=./.git -cf - .; fi | tar -C $(B)/deb/src -xf -
	cd $(B)/deb/src && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL dpkg-buildpackage -us -uc -b -Jauto
	@test -f $(DEB) || { echo "make deb: no $(DEB) (is debian/changelog's version $(VERSION)?)" >&2; exit 1; }
	@echo "make deb: $(DEB)"

# Every C file of ours, in .clang-format's style.
FORMAT_SRC := $(wildcard base/*.[ch] oci/*.[ch] hook/*/*.[ch] tests/unit/*.[ch] tests/fuzz/*.[ch] tests/latencyfs/*.c) \
  $(wildcard tests/san/*.c bench/*.c)
format:
	clang-format -i $(FORMAT_SRC)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRC) && echo "format-check: $(words $(FORMAT_SRC)) files formatted"

# Folders include only the folders before them, no cycle between .c files
# (of any length, from their symbols), and CONTRIBUTING.md's layout table
# names every folder and .c file (scripts/check-layers); first the checker's
# own test.
check-layers: $(call obj,rel,$(LIB_SRC) hook/cli/main.c)
	tests/layers/test_check_layers
	scripts/check-layers --objects $(B)/rel

# Releases (CONTRIBUTING.md, Releases).  VERSION above is the version's one
# place: --version is compiled with it, the man page's title line gets it at
# install and in the tarball (MAN_SED); the files that must carry it as it
# is (the spec, debian/changelog, the manifests and README's image tag) are
# compared with it by scripts/check-version, and `make set-version V=x.y.z`
# writes it into all of them.
MAN_SED := 1s/"oci-idmap-hook [^"]*"/"oci-idmap-hook $(VERSION)"/
DIST := $(B)/oci-idmap-hook-$(VERSION).tar.gz
.PHONY: dist check-dist check-version set-version rpm check-rpm
# The tarball of HEAD, reproducible (scripts/dist); it warns when the tree
# has changes that are not committed, since they are not in it.
dist:
	scripts/dist $(VERSION) '$(MAN_SED)' $(B)

# Two dists compared byte for byte, the tarball's names against HEAD's, and
# a build and install from it against one from the tree.
check-dist: all
	scripts/check-dist $(VERSION) '$(MAN_SED)'

# First the checker's own test (and set-version's), on a copy.
check-version:
	tests/release/test_versions
	scripts/check-version $(VERSION)

set-version:
	@[ -n "$(V)" ] || { echo "set-version: give the version, make set-version V=x.y.z" >&2; exit 2; }
	scripts/set-version $(VERSION) $(V)

# Binary RPM from the tarball with Debian's rpmbuild, under build/rpm/
# (scripts/build-rpm: --nodeps, since Debian has no rpm database of the
# BuildRequires); then its file list, requires and rpmlint's report.
# check-rpm builds it without %check and compares its files with make
# install's.
rpm: dist
	scripts/build-rpm $(DIST) $(B)/rpm
check-rpm: all dist
	scripts/check-rpm $(DIST) $(B)/rpm-check

clean:
	rm -rf $(B)

# After every rule, so that `make` alone still means `make all`; only the
# objects' folders (build/rpm/ holds other trees, with hooks.d/ and .d files).
-include $(shell find $(B)/rel $(B)/san $(B)/fuzzobj -name '*.d' -type f 2>/dev/null)
