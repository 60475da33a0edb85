# SPDX-License-Identifier: ISC
# mailwarden: plain GNU make.  Each directory adds its part in its own .mk
# fragment; this file holds the flags and the top-level targets.

PREFIX		?= /usr/local
SBINDIR		?= $(PREFIX)/sbin
BINDIR		?= $(PREFIX)/bin
MANDIR		?= $(PREFIX)/share/man
SYSCONFDIR	?= /etc
UNITDIR		?= /lib/systemd/system
DESTDIR		?=

CC		?= cc
PKG_CONFIG	?= pkg-config
# The build directory: "build" for the release build, "build-asan" for
# the sanitizer build (make asan).
B		?= build

WARN		:= -Wall -Wextra -Werror -Wshadow -Wpointer-arith \
		   -Wmissing-prototypes -Wstrict-prototypes -Wformat=2 \
		   -Wno-unused-parameter
HARDEN		:= -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fPIE \
		   -fstack-clash-protection -fcf-protection
OPT		?= -O2 -g
SAN		?=

CPPFLAGS	+= -D_GNU_SOURCE -Icore
CFLAGS		+= -std=c11 $(OPT) $(WARN) $(HARDEN) $(SAN) -pthread
LDFLAGS		+= -pie -Wl,-z,relro,-z,now -Wl,--as-needed $(SAN) -pthread

# Dependencies: pkg-config where the package ships a .pc file; libev and
# libmilter (Debian ships none for them) by name.
CONFUSE_CFLAGS	:= $(shell $(PKG_CONFIG) --cflags libconfuse 2>/dev/null)
CONFUSE_LIBS	:= $(shell $(PKG_CONFIG) --libs libconfuse 2>/dev/null || echo -lconfuse)
CAPSTONE_CFLAGS	:= $(shell $(PKG_CONFIG) --cflags capstone 2>/dev/null)
CAPSTONE_LIBS	:= $(shell $(PKG_CONFIG) --libs capstone 2>/dev/null || echo -lcapstone)
CHECK_CFLAGS	:= $(shell $(PKG_CONFIG) --cflags check 2>/dev/null)
CHECK_LIBS	:= $(shell $(PKG_CONFIG) --libs check 2>/dev/null || echo -lcheck)
SYSTEMD_CFLAGS	:= $(shell $(PKG_CONFIG) --cflags libsystemd 2>/dev/null)
SYSTEMD_LIBS	:= $(shell $(PKG_CONFIG) --libs libsystemd 2>/dev/null || echo -lsystemd)
SSL_CFLAGS	:= $(shell $(PKG_CONFIG) --cflags openssl 2>/dev/null)
SSL_LIBS	:= $(shell $(PKG_CONFIG) --libs openssl 2>/dev/null || echo -lssl -lcrypto)
EV_LIBS		:= -lev
MILTER_LIBS	:= -lmilter

CORE_LIB	:= $(B)/libcore.a
CORE_LIBS	:= $(CORE_LIB) $(CONFUSE_LIBS) $(CAPSTONE_LIBS) $(SYSTEMD_LIBS)

PROGS		:=
UNIT_TESTS	:=

# bin/ holds the programs of the build that linked them last.  A stamp
# names that build, so that `make` after `make asan` (or the reverse)
# relinks them rather than leaving sanitizer programs in bin/.
BIN_STAMP	:= bin/.linked-by-$(B)
LINK_INPUTS	= $(filter-out $(BIN_STAMP),$^)

.PHONY: all deps test unit integration asan valgrind bench demo install \
	clean fuzz
all:

include core/core.mk
include $(wildcard pop3hook/pop3hook.mk milter/milter.mk tools/tools.mk \
	tests/unit/unit.mk fuzz/fuzz.mk bench/bench.mk bench/milter.mk)

all: $(PROGS)

$(BIN_STAMP):
	@mkdir -p bin
	@rm -f bin/.linked-by-*
	@touch $@

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(EXTRA_CFLAGS) -MMD -MP -c -o $@ $<

-include $(shell find $(B) -name '*.d' 2>/dev/null)

deps:
	@sh scripts/install-deps

# make test: install what is missing, build, run every test.
test: deps
	@$(MAKE) --no-print-directory all unit-build fuzz
	@sh tests/run-all

unit: unit-build
	@sh tests/run-all unit

integration: all
	@sh tests/run-all integration

# ASan + UBSan build of everything, running the unit tests.
asan:
	@sh scripts/install-deps build
	@$(MAKE) --no-print-directory B=build-asan \
	    OPT="-O1 -g -fno-omit-frame-pointer" \
	    HARDEN="-fstack-protector-strong -fPIE" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" \
	    all unit-build
	@B=build-asan sh tests/run-all unit

valgrind: all unit-build
	@VALGRIND=1 sh tests/run-all unit

bench: deps all
	@sh scripts/install-deps bench
	@sh bench/run

demo: deps all
	@sh scripts/demo

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR)
	install -m 755 bin/mailwarden-milter bin/mailwarden-pop3hook \
	    $(DESTDIR)$(SBINDIR)/
	install -m 755 bin/mailwarden-mcp $(DESTDIR)$(BINDIR)/
	install -d $(DESTDIR)$(SYSCONFDIR)/mailwarden
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/mailwarden/mailwarden.conf ]; then \
	    echo "keeping existing $(DESTDIR)$(SYSCONFDIR)/mailwarden/mailwarden.conf"; \
	else \
	    install -m 644 etc/mailwarden.conf $(DESTDIR)$(SYSCONFDIR)/mailwarden/; \
	fi
	@if [ -d systemd ] && ls systemd/*.service >/dev/null 2>&1; then \
	    install -d $(DESTDIR)$(UNITDIR) && \
	    for u in systemd/*.service; do \
	        sed 's|/usr/sbin/|$(SBINDIR)/|g' $$u \
	            >$(DESTDIR)$(UNITDIR)/$${u#systemd/} && \
	        chmod 644 $(DESTDIR)$(UNITDIR)/$${u#systemd/} || exit 1; \
	    done; fi
	@for s in 1 5 8; do \
	    if ls man/*.$$s >/dev/null 2>&1; then \
	        install -d $(DESTDIR)$(MANDIR)/man$$s && \
	        install -m 644 man/*.$$s $(DESTDIR)$(MANDIR)/man$$s/; fi; done
	@if [ -d etc/fail2ban ]; then \
	    install -d $(DESTDIR)$(SYSCONFDIR)/fail2ban/filter.d \
	        $(DESTDIR)$(SYSCONFDIR)/fail2ban/jail.d && \
	    install -m 644 etc/fail2ban/filter.d/*.conf \
	        $(DESTDIR)$(SYSCONFDIR)/fail2ban/filter.d/ && \
	    install -m 644 etc/fail2ban/jail.d/*.conf \
	        $(DESTDIR)$(SYSCONFDIR)/fail2ban/jail.d/; fi

clean:
	rm -rf build build-asan build-fuzz bin
