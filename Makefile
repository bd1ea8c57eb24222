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

BUSTED := $(LUA) /usr/bin/busted

.PHONY: all build test test-one demo sandbox-start sandbox-stop asan lint bench clean setup help

all: build

help:
	@echo "make setup                 install what is missing (apt-get, as root)"
	@echo "make test                  build and run the specs on Lua 5.4 and LuaJIT against the sandbox"
	@echo "make demo                  run examples/quickstart.lua against the sandbox"
	@echo "make build [LUA=luajit]    build the C module into $(BUILD)/<lua>/"
	@echo "make asan | lint | bench | sandbox-start | sandbox-stop | clean"

build: $(CORE_SO)

$(CORE_SO): $(SRCS) $(HDRS) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $(SRCS) $(LDFLAGS_ALL)

clean:
	rm -rf $(BUILD)
