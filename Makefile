# Vigil's build. `make run` and `make test` do all set-up on a fresh Debian bookworm machine with Go:
# system packages, FAISS (C API + our extension, rebuilt for this CPU's SIMD level), ONNX Runtime
# from npm, the models, and the binary. Everything built lives under .build/; a second run is a no-op.

SHELL       := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
MAKEFLAGS   += --no-print-directory

BUILD       := $(CURDIR)/.build
GO          ?= go
MODELS_SRC  ?= $(abspath $(CURDIR)/../shared/models)
MODELS_DIR  ?= $(CURDIR)/models
ADDR        ?= :8080
FUZZTIME    ?= 20s
TESTFLAGS   ?= -race -shuffle=on -count=1 -timeout 20m
VERSION     := $(shell git describe --always --dirty 2>/dev/null || echo dev)

# FAISS 1.7.3 from Debian; ONNX Runtime pinned to the npm release whose C API onnxruntime_go v1.27 needs.
APT_PACKAGES   := libfaiss-dev libopenblas-dev libturbojpeg0-dev dpkg-dev g++ ca-certificates
ORT_VERSION    := 1.24.1
ORT_TGZ_SHA256 := 57181cf6e6e711b155c5b942d591fd63ded0b5de5c4922d51fd994e7f6ac2772
ORT_LIB_SHA256 := 53ef1ac028dd1b05554b8da28d9159eb3876f99868193d2aaa6e67f0243c23d4
ORT_LIB        := $(BUILD)/ort/libonnxruntime.so.1

APT_STAMP  := $(BUILD)/stamps/apt
VIGILBUILD := $(BUILD)/bin/vigilbuild
VIGIL      := $(BUILD)/bin/vigil
CEXT_DIR   := $(CURDIR)/index/faiss/cext

GO_SOURCES        := $(shell find . -path ./.build -prune -o -name '*.go' -print) go.mod go.sum
VIGILBUILD_SOURCES := $(wildcard cmd/vigilbuild/*.go index/simd/*.go models/*.go models/manifest.json) go.mod go.sum

# The SIMD level FAISS is compiled for: the widest this CPU offers (cpuid), unless given on the
# command line (make SIMD=avx2).
ifeq ($(origin SIMD),undefined)
SIMD := $(shell CGO_ENABLED=0 $(GO) run ./cmd/vigilbuild simd)
endif

include $(CEXT_DIR)/faiss.mk

# Go does not relink when only an external archive changed, so the archive's hash goes into the
# cgo flags, which are part of Go's cache key.
FAISS_STAMP = $(shell sha256sum $(FAISS_LIB) 2>/dev/null | cut -c1-16)
export CGO_ENABLED  := 1
export CGO_CFLAGS    = $(FAISS_CGO_CFLAGS) -DVIGIL_FAISS_LIB=$(FAISS_STAMP)
export CGO_LDFLAGS   = $(FAISS_CGO_LDFLAGS)
# FAISS uses OpenMP; OpenBLAS threads on top of it would oversubscribe the cores.
export OPENBLAS_NUM_THREADS := 1
export VIGIL_ORT_LIBRARY := $(ORT_LIB)
export VIGIL_MODELS_DIR  := $(MODELS_DIR)

LDFLAGS := -X main.buildVersion=$(VERSION) -X main.defaultORTLibrary=$(ORT_LIB)

.PHONY: all deps build run test bench bench-faces fuzz lint clean ort models faiss help env
all: build

help:
	@echo "make run | test | bench | bench-faces | fuzz | lint | build | clean   (see README.md)"

deps: $(APT_STAMP) faiss ort models

build: $(VIGIL)

run: deps $(VIGIL)
	$(VIGIL) serve --http.addr=$(ADDR) --models.dir=$(MODELS_DIR)

test: deps
	$(GO) vet ./...
	$(GO) test $(TESTFLAGS) ./...

bench: deps $(VIGIL)
	$(GO) test -run '^$$' -bench . -benchtime 2s ./...

# The face benchmarks side by side with the OpenCV reference pipeline of ../shared/peers, which
# needs Debian's OpenCV for Python (installed here, not by `make test`).
SHARED      ?= $(abspath $(CURDIR)/../shared)
PEER        := $(SHARED)/peers/opencv_peer.py
PEER_STAMP  := $(BUILD)/stamps/peer
$(PEER_STAMP):
	@mkdir -p $(@D)
	@sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	missing=$$(for p in python3-opencv python3-numpy python3-onnx; do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "apt: installing $$missing" >&2; $$sudo apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi
	@touch $@

bench-faces: deps $(VIGIL) $(PEER_STAMP)
	$(VIGIL) bench accuracy --pairs $(SHARED)/faces/pairs.csv --root $(SHARED)/faces --peer $(PEER)
	$(VIGIL) bench pipeline --images $(SHARED)/faces --limit 500 --repeat 2 --peer $(PEER)

fuzz: deps
	@for t in $$($(GO) test -list '^Fuzz' ./... | grep '^Fuzz' || true); do \
	  pkg=$$(grep -rl "func $$t(" --include='*_test.go' . | xargs -n1 dirname | head -1); \
	  echo "fuzz $$t in $$pkg"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

# Formatting, the import direction of STYLE.md section 1 (rule table in cmd/vigilbuild/imports.go;
# make test checks it too, through that package's test), and go vet.
lint: deps $(VIGILBUILD)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(VIGILBUILD) imports
	$(GO) vet ./...

# For go commands run by hand: eval "$$(make -s env)"
env: deps
	@echo 'export CGO_CFLAGS="$(CGO_CFLAGS)" CGO_LDFLAGS="$(CGO_LDFLAGS)"'
	@echo 'export OPENBLAS_NUM_THREADS=1 VIGIL_ORT_LIBRARY=$(ORT_LIB) VIGIL_MODELS_DIR=$(MODELS_DIR)'

clean:
	rm -rf $(BUILD)
	rm -f $(MODELS_DIR)/*.onnx

# --- system packages --------------------------------------------------------------------------
# Installs what is missing and makes sure a bookworm deb-src entry exists (FAISS's C API sources
# come from Debian's source package). Needs root (or sudo).
$(APT_STAMP): Makefile
	@mkdir -p $(@D)
	@sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	missing=$$(for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	command -v npm >/dev/null || missing="$$missing npm"; \
	have_src=$$(grep -rhs '^Types:.*deb-src\|^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/ || true); \
	if [ -z "$$have_src" ]; then \
	  uri=$$(awk '/^URIs:/ {print $$2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true); \
	  [ -n "$$uri" ] || uri=$$(awk '$$1 == "deb" && $$3 == "bookworm" {print $$2; exit}' /etc/apt/sources.list 2>/dev/null || true); \
	  [ -n "$$uri" ] || uri=http://deb.debian.org/debian; \
	  echo "adding a bookworm deb-src entry ($$uri)"; \
	  printf 'Types: deb-src\nURIs: %s\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$$uri" \
	    | $$sudo tee /etc/apt/sources.list.d/vigil-deb-src.sources >/dev/null; \
	fi; \
	if [ -z "$$have_src" ] || [ -n "$$missing" ]; then \
	  echo "apt: installing $$(echo $${missing:-nothing, refreshing the index for deb-src})" >&2; \
	  $$sudo apt-get update -qq; \
	  [ -z "$$missing" ] || DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@touch $@

# --- ONNX Runtime -----------------------------------------------------------------------------
ort: $(ORT_LIB)

$(ORT_LIB): | $(APT_STAMP)
	@rm -rf $(BUILD)/ort/tmp && mkdir -p $(BUILD)/ort/tmp
	cd $(BUILD)/ort/tmp && npm pack onnxruntime-node@$(ORT_VERSION) --ignore-scripts --silent \
	  --cache $(BUILD)/ort/tmp/npm-cache >/dev/null
	echo "$(ORT_TGZ_SHA256)  $(BUILD)/ort/tmp/onnxruntime-node-$(ORT_VERSION).tgz" | sha256sum -c --quiet
	tar -xzmf $(BUILD)/ort/tmp/onnxruntime-node-$(ORT_VERSION).tgz -C $(BUILD)/ort/tmp \
	  package/bin/napi-v6/linux/x64/libonnxruntime.so.1
	echo "$(ORT_LIB_SHA256)  $(BUILD)/ort/tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" | sha256sum -c --quiet
	mv $(BUILD)/ort/tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1 $@
	rm -rf $(BUILD)/ort/tmp

# --- models -----------------------------------------------------------------------------------
# Copies each model of models/manifest.json that is missing or damaged, checking its sha256.
models: $(VIGILBUILD)
	@$(VIGILBUILD) models -from $(MODELS_SRC) -to $(MODELS_DIR)

# --- Go binaries ------------------------------------------------------------------------------
$(VIGILBUILD): $(VIGILBUILD_SOURCES)
	CGO_ENABLED=0 $(GO) build -o $@ ./cmd/vigilbuild

$(VIGIL): $(GO_SOURCES) $(FAISS_LIB) $(ORT_LIB)
	$(GO) build -ldflags '$(LDFLAGS)' -o $@ ./cmd/vigil
