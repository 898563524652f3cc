# blast: one flat Makefile (see docs/CONVENTIONS.md #12, #13).
# Objects go to $(BUILD); headers are tracked with -MMD -MP so a header change rebuilds its users.

CC      ?= gcc
CFLAGS  ?= -O2 -g
BUILD   ?= build
PREFIX  ?= /usr/local
V       ?= 0

PKGS := liburing inih wolfssl libpcre2-8 zlib
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wmissing-prototypes -Werror \
                   -Iinclude -MMD -MP $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -luring -linih -lwolfssl -lpcre2-8 -lz) -lsnappy -lpthread -lm
TEST_LIBS := -lcriterion -ljansson

# Debian packages the build, the tests and the demo need (installed by `make deps` if missing);
# chromium (headless) and python3-pil read the html page in tests/integration/test_html.c;
# python3-websockets is the independent WebSocket peer of tests/integration/test_ws.c.
DEB_PKGS := gcc make pkg-config liburing-dev libinih-dev libwolfssl-dev libcriterion-dev \
            libjansson-dev zlib1g-dev nginx openssl valgrind libpcre2-dev \
            python3 python3-junitparser python3-markdown chromium python3-pil \
            libhdrhistogram-java default-jre-headless libsnappy-dev prometheus \
            python3-websockets
# Only `make fuzz` needs these.
FUZZ_DEB_PKGS := clang libclang-rt-14-dev

ifeq ($(V),0)
Q := @
say = @printf '  %-6s %s\n' $(1) $(2);
else
Q :=
say :=
endif

LIB_SRC  := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_OBJ := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/unit_%.o)
INT_SRC  := $(wildcard tests/integration/*.c)
INT_OBJ  := $(INT_SRC:tests/integration/%.c=$(BUILD)/int_%.o)

BLAST  := $(if $(filter build,$(BUILD)),blast,$(BUILD)/blast)
TARGET := $(BUILD)/blast-target
# Every tools/NAME.c is a standalone helper program: build/blast-NAME (target server, faults).
TOOLS  := $(patsubst tools/%.c,$(BUILD)/blast-%,$(wildcard tools/*.c))
# The target server's parts besides tools/target.c (one file per kind of endpoint).
TARGET_PARTS := $(patsubst tools/target/%.c,$(BUILD)/tpart_%.o,$(wildcard tools/target/*.c))

.PHONY: all deps fuzz-deps demo test test-run asan clean install bench fuzz
all: $(BLAST) $(TOOLS)

$(BUILD):
	$(Q)mkdir -p $@

$(BUILD)/%.o: src/%.c | $(BUILD)
	$(call say,CC,$<)$(CC) $(CFLAGS) -c -o $@ $<
$(BUILD)/unit_%.o: tests/unit/%.c | $(BUILD)
	$(call say,CC,$<)$(CC) $(CFLAGS) -Wno-missing-prototypes -c -o $@ $<
$(BUILD)/int_%.o: tests/integration/%.c | $(BUILD)
	$(call say,CC,$<)$(CC) $(CFLAGS) -Wno-missing-prototypes -c -o $@ $<
$(BUILD)/tool_%.o: tools/%.c | $(BUILD)
	$(call say,CC,$<)$(CC) $(CFLAGS) -c -o $@ $<

$(BLAST): $(BUILD)/main.o $(LIB_OBJ)
	$(call say,LD,$@)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)
$(BUILD)/tpart_%.o: tools/target/%.c | $(BUILD)
	$(call say,CC,$<)$(CC) $(CFLAGS) -Itools -c -o $@ $<
# The WebSocket endpoint (tools/target/ws.c) runs in its own thread and takes SHA-1 from wolfSSL.
TARGET_LIBS := $(shell pkg-config --libs wolfssl 2>/dev/null || echo -lwolfssl) -lpthread -lm
$(BUILD)/blast-target: $(BUILD)/tool_target.o $(TARGET_PARTS)
	$(call say,LD,$@)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(TARGET_LIBS)
$(BUILD)/blast-%: $(BUILD)/tool_%.o
	$(call say,LD,$@)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lm
$(BUILD)/test_unit: $(UNIT_OBJ) $(LIB_OBJ)
	$(call say,LD,$@)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) $(TEST_LIBS)
$(BUILD)/test_integration: $(INT_OBJ)
	$(call say,LD,$@)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) $(TEST_LIBS)
# Built without sanitizers: ASan has its own allocator and must not be interposed.
$(BUILD)/malloc_count.so: tests/preload/malloc_count.c | $(BUILD)
	$(call say,LD,$@)$(CC) -O2 -g -std=c11 -Wall -Wextra -Werror -shared -fPIC -o $@ $<

# Installs only what is missing; needs root (CI and fresh machines run as root).
install_missing = @missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "deps: run as root, or: sudo apt-get install -y$$missing" >&2; exit 1; fi; \
	  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null || exit 1; \
	fi

deps:
	$(call install_missing,$(DEB_PKGS))

fuzz-deps: deps
	$(call install_missing,$(FUZZ_DEB_PKGS))

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)./tools/demo.sh

test: deps
	$(Q)$(MAKE) --no-print-directory test-run

# The test binaries find the programs under test through BLAST_BIN and TARGET_BIN.
# Integration tests run one at a time (--jobs 1): they measure rates on a 2-core machine.
test-run: all $(BUILD)/test_unit $(BUILD)/test_integration $(BUILD)/malloc_count.so
	$(Q)TARGET_BIN=$(abspath $(TARGET)) $(BUILD)/test_unit --jobs 2
	$(Q)BLAST_BIN=$(abspath $(BLAST)) TARGET_BIN=$(abspath $(TARGET)) TOOLS_DIR=$(abspath $(BUILD)) \
	  MALLOC_COUNT_SO=$(if $(findstring sanitize,$(CFLAGS)),,$(abspath $(BUILD)/malloc_count.so)) \
	  $(BUILD)/test_integration --jobs 1

asan: deps
	$(Q)ASAN_OPTIONS=halt_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  $(MAKE) --no-print-directory BUILD=build/asan \
	  CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  LDFLAGS="-fsanitize=address,undefined" test-run

bench: deps all
	$(Q)./bench/run.sh

# libFuzzer targets (clang) for the parsers, each run for FUZZ_SECONDS (default 60) under
# ASan+UBSan from its committed seed corpus; see tests/fuzz/README.md.
fuzz: fuzz-deps
	$(Q)./tests/fuzz/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 blast $(DESTDIR)$(PREFIX)/bin/blast
	install -m 755 $(TARGET) $(DESTDIR)$(PREFIX)/bin/blast-target

clean:
	rm -rf build blast

-include $(wildcard $(BUILD)/*.d)
