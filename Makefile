# quicksilver: build, test, demo. `make demo` and `make test` do everything on a fresh
# Debian/Ubuntu machine (installing what is missing first).
#
#   make               build build/quicksilver/core.so and build/c_tests
#   make test          C unit tests + busted specs, ending "N passed, N failed"
#   make test SANITIZE=1   the same with ASan + UBSan (separate build dir)
#   make test VALGRIND=1   the same under valgrind
#   make demo          examples/quickstart.lua and orm_quickstart.lua on embedded SQLite files
#   make install-rock TREE=dir   luarocks make into a tree
#   make rockspec      regenerate the rockspec's file lists after adding files
#   make rockspec-check   list files missing from (or stale in) the rockspec
#   make bench         Core workloads against raw C, LuaSQL and SQLAlchemy -> docs/PERFORMANCE.md
#   make bench BACKEND=async   blocking vs waiter, N concurrent sleeps (PostgreSQL, MariaDB)
#   make bench BACKEND=streaming   peak RSS of streamed results on every driver -> docs/PERFORMANCE.md
#   make bench BACKEND=openresty   one nginx worker on cosockets vs libpq -> docs/PERFORMANCE_OPENRESTY.md
#                      -> the non-blocking section of docs/PERFORMANCE.md
#   make bench-crossing   the measurement behind docs/ARCHITECTURE.md's crossing decision
#   make fuzz          the libFuzzer targets (c/test/fuzz/, clang) and spec/fuzz/*_fuzz.lua,
#                      each for FUZZ_SECONDS; fails on any finding (docs/TESTING.md)

LUA_VERSION ?= 5.4
LUA ?= lua$(LUA_VERSION)
# make bench BACKEND=postgresql: the Core workloads on a throwaway PostgreSQL
BACKEND ?= sqlite
PKGS := lua$(LUA_VERSION) sqlite3

# SANITIZE=1: ASan + UBSan objects in build/asan, and busted runs in a sanitized
# interpreter (spec/support/lua_asan.c) rather than under LD_PRELOAD=libasan.so,
# which every child of a spec would inherit (`postgres -V` hangs under it).
ifeq ($(SANITIZE),1)
BUILD := build/asan
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT := -O1
RUN_PREFIX := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
  LSAN_OPTIONS=suppressions=$(CURDIR)/spec/support/lsan.supp:print_suppressions=0 \
  UBSAN_OPTIONS=print_stacktrace=1
LUA_HOST := $(BUILD)/lua$(LUA_VERSION)-asan
else
BUILD := build
SAN_FLAGS :=
OPT := -O2
RUN_PREFIX :=
LUA_HOST :=
endif
# The interpreter that runs busted and the demo.
LUA_RUN := $(if $(LUA_HOST),$(CURDIR)/$(LUA_HOST),$(LUA))

ifeq ($(VALGRIND),1)
VG := valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
  --suppressions=$(CURDIR)/spec/support/valgrind.supp
else
VG :=
endif

CC ?= cc
CFLAGS_BASE := -std=c11 $(OPT) -g -fPIC -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
  -D_POSIX_C_SOURCE=200809L -Ic/include -Ic/binding -Ic/compiler -Ic/driver -Ic/protocol $(SAN_FLAGS)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
SQLITE_LIBS = $(shell pkg-config --libs sqlite3 2>/dev/null || echo -lsqlite3)

CORE_SRC := $(wildcard c/core/*.c c/dialect/*.c c/protocol/*.c c/driver/wire_*.c) c/driver/sqlite3.c c/driver/sqlite_regexp.c c/driver/pg_text.c c/driver/pg_common.c \
  c/driver/detached.c c/driver/opts.c c/driver/my_common.c
BIND_SRC := $(wildcard c/binding/*.c c/compiler/*.c c/orm/*.c)
# Server drivers: their own modules, so a SQLite-only build needs no libpq.
PG_SRC := c/driver/libpq.c c/driver/libpq_prepare.c c/driver/libpq_pipeline.c c/driver/pg_text.c c/driver/pg_common.c c/driver/detached.c c/core/error.c c/core/buf.c c/core/clock.c c/driver/lpostgresql.c
PG_OBJ := $(PG_SRC:%.c=$(BUILD)/obj/pg/%.o)
PG_MODULE := $(BUILD)/quicksilver/driver/postgresql.so
MY_SRC := c/driver/mariadb.c c/driver/mariadb_stmt.c c/driver/my_common.c c/driver/opts.c c/driver/detached.c c/core/error.c c/core/buf.c c/core/clock.c c/driver/lmysql.c
MY_OBJ := $(MY_SRC:%.c=$(BUILD)/obj/my/%.o)
MY_MODULE := $(BUILD)/quicksilver/driver/mysql.so
MY_CFLAGS = $(shell pkg-config --cflags libmariadb 2>/dev/null)
MY_LIBS = $(shell pkg-config --libs libmariadb 2>/dev/null || echo -lmariadb)
TEST_SRC := $(wildcard c/test/*.c)
# The Lua-free part of c/orm (the flush's plan): built into the binding and
# linked into c_tests, which test it without Lua (c/test/test_plan.c).
PLAN_SRC := c/orm/plan.c
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
BIND_OBJ := $(BIND_SRC:%.c=$(BUILD)/obj/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)

MODULE := $(BUILD)/quicksilver/core.so
# The fuzz targets (c/test/fuzz/fuzz_<name>.c; rules below `make fuzz`'s
# comment): the replay builds `make test` runs, and the libFuzzer builds.
FUZZ_TARGETS := text ident literal json pgwire mywire scram pgdriver mydriver
FUZZ_LUA_TARGETS := json
FUZZ_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ifeq ($(SANITIZE),1)
REPLAY_BUILD := $(BUILD)
else
REPLAY_BUILD := build/replay
endif
REPLAY_CORE_OBJ := $(CORE_SRC:%.c=$(REPLAY_BUILD)/obj/%.o)
REPLAY_BIND_OBJ := $(BIND_SRC:%.c=$(REPLAY_BUILD)/obj/%.o)
REPLAY_BINS := $(FUZZ_TARGETS:%=$(REPLAY_BUILD)/fuzz/replay_%)
LUA_LIBS = $(shell pkg-config --libs lua$(LUA_VERSION))
FUZZ_CC ?= clang
FUZZ_BUILD := build/fuzz
FUZZ_CFLAGS := $(filter-out -O2 -O1,$(CFLAGS_BASE)) -O1 -fsanitize=fuzzer-no-link,address,undefined \
  -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_CORE_OBJ := $(CORE_SRC:%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_BIND_OBJ := $(BIND_SRC:%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
# seconds per target (9 C targets and two Lua fuzzers: about 9 minutes in all)
FUZZ_SECONDS ?= 50
FORK_BIN := $(BUILD)/pool_fork_server
# The binding under a failing allocator (c/test/alloc/): the core and the
# binding linked with Lua 5.4 (c_tests links only the Lua-free core).
ALLOC_BIN := $(BUILD)/alloc_tests
CANCEL_BIN := $(BUILD)/cancel_server
# The PostgreSQL driver's operations as steps, through qs_conn in non-blocking mode.
PG_STEPS_BIN := $(BUILD)/pg_steps_server
MY_STEPS_BIN := $(BUILD)/my_steps_server
# The compiler and the ORM accelerators driven through the Lua C API
# (c/test/binding/): the core, the binding, the compiler and c/orm linked
# with Lua 5.4; test_main.c runs their list (c/test/binding/test_list.h).
BINDING_TESTS := $(BUILD)/binding_tests
BTEST_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard c/test/binding/*.c)) $(BUILD)/obj/binding_main/test_main.o \
  $(BUILD)/obj/c/test/fake_driver.o
# The C unit tests: built and run once c/test/test_main.c exists.
CTESTS := $(if $(wildcard c/test/test_main.c),$(BUILD)/c_tests)
# The same binding built against LuaJIT (Lua 5.1 API): the compat header's proof.
# Skipped under the sanitizers, which check the 5.4 build.
ifeq ($(SANITIZE),1)
JIT_MODULE :=
else
JIT_MODULE := $(BUILD)/jit/quicksilver/core.so
endif
JIT_CFLAGS = $(shell pkg-config --cflags luajit 2>/dev/null)
JIT_PG_MODULE := $(if $(JIT_MODULE),$(BUILD)/jit/quicksilver/driver/postgresql.so)
JIT_MY_MODULE := $(if $(JIT_MODULE),$(BUILD)/jit/quicksilver/driver/mysql.so)
JIT_BIND_OBJ := $(BIND_SRC:%.c=$(BUILD)/jit/obj/%.o)

LUA_PATH_DEV := $(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;$(CURDIR)/?.lua;$(CURDIR)/spec/?.lua;;
LUA_CPATH_DEV := $(CURDIR)/$(BUILD)/?.so;;

.PHONY: all build test demo deps clean install-rock bench bench-crossing rockspec rockspec-check release tsan fuzz

all: build
build: $(MODULE) $(CTESTS) $(ALLOC_BIN) $(BINDING_TESTS) $(REPLAY_BINS) $(LUA_HOST) $(JIT_MODULE) $(PG_MODULE) $(JIT_PG_MODULE) $(MY_MODULE) $(JIT_MY_MODULE) $(FORK_BIN) $(CANCEL_BIN) $(PG_STEPS_BIN) $(MY_STEPS_BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(MODULE): $(CORE_OBJ) $(BIND_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared $(SAN_FLAGS) -o $@ $^ $(SQLITE_LIBS) -lpthread

$(BUILD)/jit/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(JIT_CFLAGS) -MMD -MP -c $< -o $@

$(JIT_MODULE): $(CORE_OBJ) $(JIT_BIND_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared -o $@ $^ $(SQLITE_LIBS) -lpthread

$(BUILD)/obj/pg/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(PG_MODULE): $(PG_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared $(SAN_FLAGS) -o $@ $^ -lpq

$(JIT_PG_MODULE): $(PG_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(JIT_CFLAGS) -shared -o $@ $(PG_SRC) -lpq

$(BUILD)/obj/my/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(PKG_CFLAGS) $(MY_CFLAGS) -MMD -MP -c $< -o $@

$(MY_MODULE): $(MY_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared $(SAN_FLAGS) -o $@ $^ $(MY_LIBS)

$(JIT_MY_MODULE): $(MY_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(JIT_CFLAGS) $(MY_CFLAGS) -shared -o $@ $(MY_SRC) $(MY_LIBS)

$(BUILD)/c_tests: $(CORE_OBJ) $(TEST_OBJ) $(PLAN_SRC:%.c=$(BUILD)/obj/%.o)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(SQLITE_LIBS) -lpthread

# --wrap: the core's own malloc calls go through alloc_fail.c's counting hook.
$(ALLOC_BIN): $(BUILD)/obj/c/test/alloc/alloc_fail.o $(CORE_OBJ) $(BIND_OBJ)
	$(CC) $(SAN_FLAGS) -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc -o $@ $^ $(SQLITE_LIBS) $(shell pkg-config --libs lua$(LUA_VERSION)) -lpthread -lm

$(BUILD)/obj/binding_main/test_main.o: c/test/test_main.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(PKG_CFLAGS) -DTEST_LIST_FILE='"binding/test_list.h"' -MMD -MP -c $< -o $@

$(BINDING_TESTS): $(BTEST_OBJ) $(CORE_OBJ) $(BIND_OBJ)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(SQLITE_LIBS) $(shell pkg-config --libs lua$(LUA_VERSION)) -lpthread -lm

$(BUILD)/lua$(LUA_VERSION)-asan: spec/support/lua_asan.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(PKG_CFLAGS) -o $@ $< $(shell pkg-config --libs lua$(LUA_VERSION))

-include $(BUILD)/obj/c/test/alloc/alloc_fail.d $(BTEST_OBJ:.o=.d) $(CORE_OBJ:.o=.d) $(BIND_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(JIT_BIND_OBJ:.o=.d) $(PG_OBJ:.o=.d) $(MY_OBJ:.o=.d)

# The fuzz targets (c/test/fuzz/fuzz_<name>.c, docs/TESTING.md). `make test`
# replays their seed corpora and crash reproducers: each target built with
# gcc under ASan + UBSan (always, sanitized run or not) and linked with
# c/test/fuzz/replay_main.c. `make fuzz` builds the same sources with clang and
# libFuzzer. The json target needs the binding and Lua; the others the core.
# Under SANITIZE=1 the replay links the sanitized objects of the build itself.
ifneq ($(SANITIZE),1)
$(REPLAY_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(subst $(OPT),-O1,$(CFLAGS_BASE)) $(FUZZ_SAN) $(PKG_CFLAGS) -MMD -MP -c $< -o $@
endif

$(REPLAY_BUILD)/fuzz/replay_%: $(REPLAY_BUILD)/obj/c/test/fuzz/fuzz_%.o $(REPLAY_BUILD)/obj/c/test/fuzz/replay_main.o \
  $(REPLAY_CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_SAN) -o $@ $^ $(SQLITE_LIBS) $(if $(filter $*,$(FUZZ_LUA_TARGETS)),$(LUA_LIBS) -lm) -lpthread

# objects a pattern rule alone names are intermediate to make: keep them
.SECONDARY: $(REPLAY_CORE_OBJ) $(REPLAY_BIND_OBJ) $(FUZZ_CORE_OBJ) $(FUZZ_BIND_OBJ) \
  $(FUZZ_TARGETS:%=$(REPLAY_BUILD)/obj/c/test/fuzz/fuzz_%.o) $(REPLAY_BUILD)/obj/c/test/fuzz/replay_main.o \
  $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/obj/c/test/fuzz/fuzz_%.o)
# the targets that drive the binding through Lua link it too
$(FUZZ_LUA_TARGETS:%=$(REPLAY_BUILD)/fuzz/replay_%): $(REPLAY_BIND_OBJ)
$(FUZZ_LUA_TARGETS:%=$(FUZZ_BUILD)/fuzz_%): $(FUZZ_BIND_OBJ)

-include $(FUZZ_TARGETS:%=$(REPLAY_BUILD)/obj/c/test/fuzz/fuzz_%.d) $(REPLAY_BUILD)/obj/c/test/fuzz/replay_main.d
ifneq ($(SANITIZE),1)
-include $(REPLAY_CORE_OBJ:.o=.d) $(REPLAY_BIND_OBJ:.o=.d)
endif

# libFuzzer builds: clang, its own objects (coverage instrumentation).

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/c/test/fuzz/fuzz_%.o $(FUZZ_CORE_OBJ)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(SQLITE_LIBS) \
	  $(if $(filter $*,$(FUZZ_LUA_TARGETS)),$(LUA_LIBS) -lm) -lpthread

fuzz:
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(DEB_PKGS) clang"
	@$(MAKE) --no-print-directory $(MODULE) $(FUZZ_BINS)
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_TARGETS="$(FUZZ_TARGETS)" LUA="$(LUA)" \
	  LUA_PATH_DEV="$(LUA_PATH_DEV)" LUA_CPATH_DEV="$(LUA_CPATH_DEV)" bash c/test/fuzz/run_fuzz.sh

# Debian packages the project needs; installed only when missing (apt-get update
# runs only then), as root or through sudo.
DEB_PKGS := build-essential pkg-config lua5.4 liblua5.4-dev luarocks lua-busted \
  libsqlite3-dev sqlite3 valgrind luajit2 libluajit2-5.1-dev lua-cqueues lua-luv lua-socket libpq-dev postgresql libmariadb-dev mariadb-server \
  nginx-light libnginx-mod-http-lua galera-4 rsync iproute2 pgbouncer graphviz

deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# Runs the C tests and busted (through spec/support/run_tests.sh, which sums the
# counts of every suite into the final "N passed, N failed" line).
test: deps
	@$(MAKE) --no-print-directory build
	@BUILD=$(BUILD) LUA="$(LUA_RUN)" CTESTS="$(CTESTS)" ALLOC_TESTS="$(ALLOC_BIN)" FUZZ_REPLAY="$(REPLAY_BINS)" BINDING_TESTS="$(BINDING_TESTS)" VG="$(VG)" RUN_PREFIX="$(RUN_PREFIX)" JIT_MODULE="$(JIT_MODULE)" \
	  LUA_PATH_DEV="$(LUA_PATH_DEV)" LUA_CPATH_DEV="$(LUA_CPATH_DEV)" \
	  bash spec/support/run_tests.sh

# docs/images/schema.svg, the picture docs/CLI.md shows: `quicksilver diagram`
# of the database examples/orm_quickstart.lua makes (its models), through
# Graphviz's dot. Remade by `make docs-diagram`, never drawn by hand.
.PHONY: docs-diagram
docs-diagram: $(MODULE)
	@tmp=$$(mktemp -d) && cd $$tmp && \
	  LUA_PATH="$(LUA_PATH_DEV)" LUA_CPATH="$(LUA_CPATH_DEV)" QS_DEMO_DB=$$tmp/demo.db \
	    $(LUA) $(CURDIR)/examples/orm_quickstart.lua >/dev/null && \
	  mkdir -p $(CURDIR)/docs/images && \
	  LUA_PATH="$(LUA_PATH_DEV)" LUA_CPATH="$(LUA_CPATH_DEV)" $(LUA) $(CURDIR)/bin/quicksilver diagram \
	    sqlite:///$$tmp/demo.db -o $(CURDIR)/docs/images/schema.svg --quiet; \
	  rc=$$?; rm -rf $$tmp; exit $$rc
	@echo "wrote docs/images/schema.svg"

demo: deps
	@$(MAKE) --no-print-directory build
	@cd /tmp && LUA_PATH="$(LUA_PATH_DEV)" LUA_CPATH="$(LUA_CPATH_DEV)" $(RUN_PREFIX) \
	  QS_DEMO_DB=/tmp/quicksilver-quickstart.db $(VG) $(LUA_RUN) $(CURDIR)/examples/quickstart.lua
	@echo
	@echo "== the ORM quick start"
	@cd /tmp && LUA_PATH="$(LUA_PATH_DEV)" LUA_CPATH="$(LUA_CPATH_DEV)" $(RUN_PREFIX) \
	  QS_DEMO_DB=/tmp/quicksilver-orm-quickstart.db $(VG) $(LUA_RUN) $(CURDIR)/examples/orm_quickstart.lua

install-rock:
	luarocks --lua-version $(LUA_VERSION) make rocks/quicksilver-scm-1.rockspec \
	  $(if $(TREE),--tree $(TREE))

# Speed against raw C, LuaSQL and SQLAlchemy, measured in one run; writes
# docs/PERFORMANCE.md. Not part of `make test` (no timing in unit tests).
# The peers measured against, installed when missing (as `make test` installs its own).
BENCH_PKGS := lua-sql-sqlite3 python3-sqlalchemy python3-psycopg2
bench: build $(BUILD)/bench/raw_sqlite
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(BENCH_PKGS)"
	@BUILD=$(BUILD) LUA=$(LUA) BACKEND=$(BACKEND) bash bench/run.sh

$(BUILD)/bench/raw_sqlite: bench/core/raw_sqlite.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -o $@ $< $(SQLITE_LIBS)

bench-crossing: $(BUILD)/bench/crossing.so
	@cd bench/crossing && LUA_PATH="" LUA_CPATH="$(CURDIR)/$(BUILD)/bench/?.so" $(LUA) run.lua

$(BUILD)/bench/crossing.so: bench/crossing/walk.c c/core/buf.c c/core/error.c c/core/render.c $(wildcard c/dialect/*.c)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(PKG_CFLAGS) -shared -o $@ $^

# The pool's thread test under ThreadSanitizer: its own build (TSan and ASan
# do not combine). setarch -R: TSan aborts on some memory layouts otherwise.
TSAN_BIN := build/tsan/c_tests
$(TSAN_BIN): $(CORE_SRC) $(TEST_SRC) $(PLAN_SRC) $(wildcard c/include/*.h c/test/*.h c/protocol/*.h c/orm/plan.h)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O1 -g -fsanitize=thread -D_POSIX_C_SOURCE=200809L -Ic/include -Ic/driver -Ic/protocol \
	  -o $@ $(CORE_SRC) $(TEST_SRC) $(PLAN_SRC) $(SQLITE_LIBS) -lpthread

# Fault spec 7 (fork) against a real PostgreSQL: its own program, run by
# spec/support/run_tests.sh once the server is up.
$(FORK_BIN): c/test/server/pool_fork_server.c c/core/pool.c c/core/conn.c c/core/error.c c/core/buf.c c/core/clock.c c/driver/libpq.c c/driver/libpq_prepare.c c/driver/libpq_pipeline.c c/driver/pg_text.c c/driver/pg_common.c c/driver/detached.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -o $@ $^ -lpq -lpthread

# Timeouts and cancels on PostgreSQL and MariaDB: run by run_tests.sh too.
$(CANCEL_BIN): c/test/server/cancel_server.c c/core/conn.c c/core/error.c c/core/buf.c c/core/clock.c c/driver/libpq.c c/driver/libpq_prepare.c c/driver/libpq_pipeline.c c/driver/pg_text.c c/driver/pg_common.c c/driver/mariadb.c c/driver/mariadb_stmt.c \
  c/driver/wire_my.c c/driver/wire_my_connect.c c/driver/wire_io.c c/protocol/mywire.c c/protocol/auth.c c/protocol/digest.c \
  c/driver/detached.c c/driver/opts.c c/driver/my_common.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(MY_CFLAGS) -o $@ $^ -lpq $(MY_LIBS) -lpthread

# Non-blocking operations on PostgreSQL: run by run_tests.sh too.
$(PG_STEPS_BIN): c/test/server/pg_steps_server.c c/core/conn.c c/core/error.c c/core/buf.c c/core/clock.c c/driver/libpq.c c/driver/libpq_prepare.c c/driver/libpq_pipeline.c c/driver/pg_text.c c/driver/pg_common.c c/driver/detached.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -o $@ $^ -lpq -lpthread
# The MariaDB driver as steps, driven by the test's own poll() loop: run by run_tests.sh too.
$(MY_STEPS_BIN): c/test/server/my_steps_server.c c/core/conn.c c/core/error.c c/core/buf.c c/core/clock.c c/driver/mariadb.c c/driver/mariadb_stmt.c c/driver/detached.c c/driver/opts.c c/driver/my_common.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(MY_CFLAGS) -o $@ $^ $(MY_LIBS) -lpthread

tsan: $(TSAN_BIN)
	@TSAN_OPTIONS=halt_on_error=1 setarch $$(uname -m) -R ./$(TSAN_BIN) pool

rockspec:
	$(LUA) rocks/generate.lua

# make release VERSION=x.y.z: one command for a release. Bumps VERSION, rewrites
# the release rockspecs next to the scm ones, lints them, commits and tags
# v<VERSION> (docs/RELEASING.md). Refuses a dirty tree or a malformed version.
release:
	@echo "$(VERSION)" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+$$' || { echo "make release: give VERSION=x.y.z (got '$(VERSION)')"; exit 2; }
	@git diff --quiet HEAD -- || { echo "make release: commit or stash your changes first"; exit 1; }
	@! git rev-parse -q --verify "refs/tags/v$(VERSION)" >/dev/null || { echo "make release: tag v$(VERSION) exists already"; exit 1; }
	@echo "$(VERSION)" > VERSION
	@$(LUA) rocks/generate.lua
	@for f in rocks/*-$(VERSION)-1.rockspec; do luarocks lint "$$f" || { echo "make release: luarocks lint $$f failed"; exit 1; }; done
	@git add VERSION rocks && git commit -q -m "release $(VERSION)" && git tag -a "v$(VERSION)" -m "quicksilver $(VERSION)"
	@echo "tagged v$(VERSION). Publish: git push --follow-tags, then luarocks upload rocks/quicksilver-$(VERSION)-1.rockspec"
	@echo "and the two driver rocks (rocks/quicksilver-postgresql-$(VERSION)-1.rockspec, rocks/quicksilver-mysql-$(VERSION)-1.rockspec)."

rockspec-check:
	@QS_COUNTS_FILE=/dev/null LUA_PATH="$(LUA_PATH_DEV)" $(LUA) spec/support/busted_main.lua \
	  -o spec/support/count_handler.lua spec/rockspec_spec.lua

clean:
	rm -rf build
