# The single entry point. Every target installs what it needs first (idempotent, quick when
# everything is present), so each works on a fresh Debian 12 machine.
#   make run    build a Release binary and serve on 127.0.0.1:8080 with embedded storage
#   make test   ASan+UBSan build, unit + functional tests, storage suite on SQLite and PostgreSQL
#   make bench  Release build, benchmarks (wrk vs nginx, metrics micro-benchmarks)
#   make lint   clang-format check + clang-tidy

JOBS ?= $(shell nproc)
RELEASE_DIR := build/release
ASAN_DIR := build/asan
DATA_DIR ?= ./data
LISTEN ?= 127.0.0.1:8080

.PHONY: run test bench lint format release asan deps clean

release:
	scripts/install-deps.sh build
	cmake -S . -B $(RELEASE_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTUDIO_TESTS=OFF -DSTUDIO_BENCH=$(if $(BENCH),ON,OFF)
	cmake --build $(RELEASE_DIR) -j $(JOBS)

run: release
	scripts/fetch-models.sh >/dev/null
	mkdir -p $(DATA_DIR)
	STUDIO_DATA_DIR=$(DATA_DIR) $(RELEASE_DIR)/src/app/studio migrate
	STUDIO_DATA_DIR=$(DATA_DIR) STUDIO_LISTEN=$(LISTEN) exec $(RELEASE_DIR)/src/app/studio serve

asan:
	scripts/install-deps.sh test
	cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSTUDIO_SANITIZE=ON -DSTUDIO_TESTS=ON
	cmake --build $(ASAN_DIR) -j $(JOBS)

test: asan
	scripts/run-tests.sh $(ASAN_DIR)

bench:
	scripts/install-deps.sh bench
	$(MAKE) release BENCH=1
	bench/run.sh $(RELEASE_DIR)

lint:
	scripts/install-deps.sh build lint
	cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSTUDIO_SANITIZE=ON -DSTUDIO_TESTS=ON
	scripts/lint.sh $(ASAN_DIR)

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf build
