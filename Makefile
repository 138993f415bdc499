# Thin wrapper over CMake so that a fresh machine needs only `make` and `make test`.
BUILD ?= build
SAN_BUILD ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX ?= /usr/local
CMAKE_FLAGS ?=

.PHONY: all configure test run asan asan-test bench install clean config-docs

all: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS)

test: all
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

run: all
	./scripts/run-emulated-h100.sh $(BUILD)

asan: $(SAN_BUILD)/CMakeCache.txt
	cmake --build $(SAN_BUILD) -j $(JOBS)

$(SAN_BUILD)/CMakeCache.txt:
	CC=clang cmake -S . -B $(SAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DOPENFM_SANITIZE=ON $(CMAKE_FLAGS)

asan-test: asan
	cd $(SAN_BUILD) && ctest --output-on-failure -j $(JOBS)

# Regenerate etc/fabricmanager.cfg and docs/configuration.md's key table from
# the key list in src/daemon/config.h.
config-docs: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) --target config-docs

bench: all
	./bench/run.sh $(BUILD)

install: all
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(SAN_BUILD)
