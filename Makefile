# studioapi — build, test and run everything from here. `make help` lists the targets.
#   LUA=lua5.4 (default) or LUA=luajit selects the interpreter and the headers.

LUA        ?= lua5.4
BUILD      ?= build
CC         ?= cc
SANDBOX_DIR ?= $(BUILD)/sandbox

ifeq ($(LUA),luajit)
  LUA_PC := luajit
else ifeq ($(LUA),lua5.4)
  LUA_PC := lua5.4
else
  $(error LUA must be lua5.4 or luajit, not '$(LUA)')
endif

OUT        := $(BUILD)/$(LUA)
CORE_SO    := $(OUT)/studioapi/core.so
SRCS       := $(wildcard src/*.c)
HDRS       := $(wildcard src/*.h)

WARN   := -std=c99 -Wall -Wextra -pedantic -Wshadow -Wcast-qual -Wwrite-strings \
          -Wmissing-prototypes -Wstrict-prototypes -Wformat=2 -Werror
OPT    ?= -O2 -g
CFLAGS_ALL  = $(WARN) $(OPT) -fPIC -fvisibility=hidden \
              $(shell pkg-config --cflags $(LUA_PC) libcurl) $(EXTRA_CFLAGS)
# The module links libcurl only, never liblua: the interpreter provides the Lua API.
LDFLAGS_ALL = -shared $(shell pkg-config --libs libcurl) $(EXTRA_LDFLAGS)

# Where require finds our modules: the built C module first, then the Lua sources.
export LUA_CPATH := $(CURDIR)/$(OUT)/?.so;$(LUA_CPATH_EXTRA);;
export LUA_PATH  := $(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;$(CURDIR)/?.lua;;
export SANDBOX_DIR := $(abspath $(SANDBOX_DIR))
# A locale with a decimal comma, so the JSON spec can prove numbers ignore the C locale.
LOCALE_DIR := $(abspath $(BUILD))/locale
export LOCPATH := $(LOCALE_DIR)

BUSTED := $(LUA) /usr/bin/busted

.PHONY: all build test test-one demo sandbox-start sandbox-stop asan lint bench clean setup help

all: build

help:
	@echo "make setup                 install what is missing (apt-get, as root)"
	@echo "make test                  build and run the specs on Lua 5.4 and LuaJIT against the sandbox"
	@echo "make demo                  run examples/quickstart.lua against the sandbox"
	@echo "make build [LUA=luajit]    build the C module into $(BUILD)/<lua>/"
	@echo "make asan | lint | bench | sandbox-start | sandbox-stop | clean"

build: $(CORE_SO) $(LOCALE_DIR)/de_DE.UTF-8

$(LOCALE_DIR)/de_DE.UTF-8:
	@mkdir -p $(LOCALE_DIR)
	@localedef -i de_DE -f UTF-8 $@ 2>/dev/null || test -d $@

$(CORE_SO): $(SRCS) $(HDRS) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $(SRCS) $(LDFLAGS_ALL)

clean:
	rm -rf $(BUILD)

# ---------------------------------------------------------------------------------------------
# Set-up: what a fresh Debian 12 machine lacks, installed with apt-get (root), or named (others).
PACKAGES := make gcc libc6-dev pkg-config ca-certificates openssl iproute2 \
            lua5.4 liblua5.4-dev luajit2 libluajit2-5.1-dev libcurl4-openssl-dev \
            lua-cjson lua-busted lua-check luarocks libcjson-dev \
            nginx-light libnginx-mod-http-lua clang-format valgrind locales

setup:
	@missing=$$(for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -z "$$missing" ]; then echo "setup: everything is installed"; exit 0; fi; \
	if [ "$$(id -u)" -ne 0 ]; then \
	  echo "setup: missing packages:" $$missing; \
	  echo "setup: run as root, or: sudo apt-get install -y" $$missing; exit 1; \
	fi; \
	echo "setup: installing" $$missing; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing

# ---------------------------------------------------------------------------------------------
# Tests: the whole suite on Lua 5.4 and on LuaJIT, against the sandbox (started and always stopped).
RESULTS := $(BUILD)/test-results.txt
SPECS   ?= spec

test:
	@$(MAKE) --no-print-directory build LUA=lua5.4
	@$(MAKE) --no-print-directory build LUA=luajit
	@mkdir -p $(BUILD) && : > $(RESULTS)
	@RESULTS=$(abspath $(RESULTS)) tools/with-sandbox sh -c '\
	  st=0; \
	  LUA_CPATH="$(CURDIR)/$(BUILD)/lua5.4/?.so;;" tools/run-specs lua5.4 $(SPECS) || st=1; \
	  LUA_CPATH="$(CURDIR)/$(BUILD)/luajit/?.so;;" tools/run-specs luajit $(SPECS) || st=1; \
	  exit $$st' ; st=$$?; tools/sum-results $(RESULTS); exit $$st

# One interpreter, one file or folder: make test-one LUA=luajit SPECS=spec/client_spec.lua
test-one: build
	@tools/with-sandbox tools/run-specs $(LUA) $(SPECS)

# The suite against an ASan+UBSan build of the C module (Lua 5.4).
ASAN_BUILD := $(BUILD)/asan
asan:
	@$(MAKE) --no-print-directory build BUILD=$(ASAN_BUILD) LUA=lua5.4 \
	  OPT='-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all' \
	  EXTRA_LDFLAGS='-fsanitize=address,undefined'
	@mkdir -p $(BUILD) && : > $(BUILD)/asan-results.txt
	@RESULTS=$(abspath $(BUILD)/asan-results.txt) ASAN_OPTIONS=detect_leaks=0 \
	  PATH="$(CURDIR)/tools/asan-bin:$$PATH" LD_PRELOAD=$$(gcc -print-file-name=libasan.so) \
	  LUA_CPATH="$(CURDIR)/$(ASAN_BUILD)/lua5.4/?.so;;" \
	  tools/with-sandbox tools/run-specs lua5.4 $(SPECS); st=$$?; \
	  tools/sum-results $(BUILD)/asan-results.txt; exit $$st

demo: build
	@tools/with-sandbox sh -c 'eval "$$(tools/sandbox-env acme)" && $(LUA) examples/quickstart.lua'

sandbox-start:
	@sandbox/sandboxctl start

sandbox-stop:
	@sandbox/sandboxctl stop

lint:
	luacheck lua spec examples bench tools sandbox
	clang-format --dry-run --Werror src/*.c src/*.h bench/*.c

# Benchmarks print their figures; they assert nothing. The server is pinned to core 1 and the
# client to core 0 (on 2 cores, unpinned figures swing by 4x).
BENCH_BINS := $(BUILD)/bench/raw_curl $(BUILD)/bench/raw_paginate
$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c99 -Wall -Wextra -pedantic -Werror -O2 $(shell pkg-config --cflags libcjson libcurl) \
	  -o $@ $< $(shell pkg-config --libs libcjson libcurl)

# BENCHES=requests (one) or the default, all of them.
BENCHES ?= requests paginate ratelimit
bench: build $(BENCH_BINS)
	@sandbox/sandboxctl stop >/dev/null 2>&1 || true
	@SANDBOX_CPU=1 SANDBOX_WORKERS=1 RAW_CURL=$(BUILD)/bench/raw_curl \
	  RAW_PAGINATE=$(BUILD)/bench/raw_paginate tools/with-sandbox sh -c '\
	  for b in $(BENCHES); do echo "== bench/$$b.lua"; taskset -c 0 $(LUA) bench/$$b.lua || exit 1; done'
