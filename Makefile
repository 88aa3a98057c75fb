# reachd - build, test and run.  `make run` and `make check` are the two
# entry points (see README.md); both install missing Debian packages first.

PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
PKGS      = libevent libevent_pthreads hiredis libpq inih jansson libesmtp-1.0 openssl
TESTPKGS  = cmocka

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_LIBS  := $(shell pkg-config --libs $(TESTPKGS) 2>/dev/null)

OPT      ?= -O2 -g
WARN      = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wvla -Wno-unused-parameter
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -Idaemon -Icollectors -I$(BUILD) \
             $(PKG_CFLAGS) $(CFLAGS) $(EXTRA_CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -lpthread -lm $(LDFLAGS) $(EXTRA_LDFLAGS)

CTL_SRC  = $(wildcard daemon/reachctl*.c)
LIB_SRC  = $(filter-out daemon/main.c $(CTL_SRC), $(wildcard daemon/*.c)) \
           $(wildcard collectors/*.c)
SQL      = $(sort $(wildcard sql/[0-9]*.sql))
TEMPLATES = $(sort $(wildcard templates/*.txt templates/*.html templates/*.subject))
WEB      = $(sort $(wildcard web/*.html web/*.js web/*.css web/*.svg))
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/sql_embedded.o $(BUILD)/templates_embedded.o \
           $(BUILD)/dashboard_assets.o
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps run check unit integration bench install format lint clean asan

all: $(BUILD)/reachd $(BUILD)/reachctl

$(BUILD)/%.o: %.c $(wildcard daemon/*.h collectors/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(BUILD)/tools/embed: tools/embed.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O1 -Wall -Wextra -Werror -o $@ $<

$(BUILD)/sql_embedded.c: $(BUILD)/tools/embed $(SQL)
	$(BUILD)/tools/embed $@ $(SQL)

$(BUILD)/sql_embedded.o: $(BUILD)/sql_embedded.c daemon/migrate.h
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

# The mail templates, compiled in too; [smtp] templates = DIR overrides them.
$(BUILD)/templates_embedded.c: $(BUILD)/tools/embed $(TEMPLATES)
	$(BUILD)/tools/embed -t rd_template_file -a rd_templates -i template.h -f $@ $(TEMPLATES)

$(BUILD)/templates_embedded.o: $(BUILD)/templates_embedded.c daemon/template.h
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

# The dashboard page served at / (web/), compiled in as well.
$(BUILD)/dashboard_assets.c: $(BUILD)/tools/embed $(WEB)
	$(BUILD)/tools/embed -w -t rd_asset -a rd_dashboard_assets -i dashboard.h $@ $(WEB)

$(BUILD)/dashboard_assets.o: $(BUILD)/dashboard_assets.c daemon/dashboard.h
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(BUILD)/libreachd.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/reachd: $(BUILD)/daemon/main.o $(BUILD)/libreachd.a
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/reachctl: $(CTL_SRC:%.c=$(BUILD)/%.o) $(BUILD)/libreachd.a
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libreachd.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/unit -o $@ $< $(BUILD)/libreachd.a $(LDLIBS_ALL) $(TEST_LIBS)

# --- the two commands ------------------------------------------------------
deps:
	@tools/deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	@tools/run-demo.sh

# Unit tests and the daemon used by integration tests are built with
# AddressSanitizer + UBSan (LeakSanitizer included) in build/asan.
check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory BUILD=build/asan \
	    OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    build/asan/reachd build/asan/reachctl unit
	@REACHD=build/asan/reachd REACHCTL=build/asan/reachctl tests/integration/run-all.sh

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

bench: deps
	@$(MAKE) --no-print-directory all
	@tests/bench/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/reachd/sql \
	    $(DESTDIR)$(PREFIX)/share/reachd/templates \
	    $(DESTDIR)/lib/systemd/system $(DESTDIR)/etc/reachd
	install -m 0755 $(BUILD)/reachd $(BUILD)/reachctl $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(SQL) $(DESTDIR)$(PREFIX)/share/reachd/sql/
	install -m 0644 $(TEMPLATES) $(DESTDIR)$(PREFIX)/share/reachd/templates/
	sed 's|@BINDIR@|$(PREFIX)/bin|g' systemd/reachd.service.in > $(DESTDIR)/lib/systemd/system/reachd.service
	install -m 0640 systemd/reachd.conf.example $(DESTDIR)/etc/reachd/reachd.conf.example

FMT_SRC = $(wildcard daemon/*.[ch] collectors/*.[ch] tests/unit/*.[ch] tools/*.c)
format:
	clang-format -i $(FMT_SRC)

lint: $(BUILD)/sql_embedded.c $(BUILD)/templates_embedded.c $(BUILD)/dashboard_assets.c
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	    --std=c11 --inline-suppr -D_GNU_SOURCE -Idaemon -Icollectors \
	    --suppress=missingIncludeSystem daemon collectors

clean:
	rm -rf build
