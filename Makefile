# strict-supplementalgroups-container-runtime
#
# Every target bootstraps what it needs: Deno (pinned, from the npm registry,
# into .tools/) unless `deno` is on PATH, and, as root, Debian's runc.

SHELL := /bin/bash
.DEFAULT_GOAL := build

DENO_VERSION := 2.9.6
PREFIX ?= /usr/local
TOOLS := $(CURDIR)/.tools
export DENO_DIR := $(CURDIR)/.cache/deno
export DENO_NO_UPDATE_CHECK := 1

DENO := $(shell command -v deno 2>/dev/null || echo $(TOOLS)/bin/deno)

.PHONY: build install test e2e e2e-kind bench demo fmt lint check clean deno system-deps runtimes

deno: $(DENO)

$(TOOLS)/bin/deno:
	@echo "bootstrapping deno $(DENO_VERSION) from the npm registry into $(TOOLS)"
	@mkdir -p $(TOOLS)/npm $(TOOLS)/bin
	npm install --silent --no-audit --no-fund --ignore-scripts --prefix $(TOOLS)/npm deno@$(DENO_VERSION)
	ln -sf $(TOOLS)/npm/node_modules/@deno/linux-x64-glibc/deno $(TOOLS)/bin/deno
	@$(TOOLS)/bin/deno --version | head -n 1

# runc, openssl and busybox-static (the test rootfs) from Debian, as root.
system-deps:
	@bash tools/system_deps.sh

# The runtime matrix's containerd, runc and crun of newer Debian suites
# (tools/runtimes.json), fetched once into .tools/runtimes/.
runtimes: deno system-deps
	$(DENO) run -P=test --quiet tools/fetch_runtimes.ts

build: deno
	$(DENO) run -P=test --quiet tools/build.ts build

install: deno
	$(DENO) run -P=test --quiet tools/build.ts install --prefix $(PREFIX)

demo: build system-deps
	$(DENO) run -P=test --quiet tools/demo.ts

test: build system-deps runtimes
	$(DENO) check --quiet src/ tests/ tools/
	bash tools/run_tests.sh "$(DENO)"

# The containerd CRI end-to-end table alone (make test runs it too, as root).
e2e: build system-deps runtimes
	bash tools/run_tests.sh "$(DENO)" tests/containerd_e2e_test.ts tests/containerd_cri_source_e2e_test.ts

# The same table on a kind cluster (a containerd and a CRI-O worker), installed
# with the Dockerfile's image and deploy/. Needs Docker, kind and kubectl, and
# says at once which are missing. KEEP_CLUSTER=1 keeps the cluster.
e2e-kind: deno
	$(DENO) run -P=test --quiet tests/kind/e2e_kind.ts

# The start-path benchmark: overheads against bare runc measured in the same run.
bench: build system-deps runtimes
	$(DENO) run -P=test --quiet tools/bench.ts

fmt: deno
	$(DENO) fmt

lint: deno
	$(DENO) lint

# Every exported symbol of the product documented (deno_std's rule); the
# examples themselves run in `make test` (deno test --doc).
DOC_MODULES = $(shell find src -name '*.ts' ! -name '*_test.ts' | sort)

check: deno
	$(DENO) fmt --check
	$(DENO) lint
	$(DENO) doc --lint $(DOC_MODULES)
	$(DENO) check src/ tests/ tools/

clean:
	rm -rf dist .cache
