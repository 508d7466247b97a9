# Billow's entry points. `make run` and `make test` are the two set-up commands:
# each installs what is missing (scripts/setup), builds, and runs.
BUILD_DIR   ?= build
BUILD_TYPE  ?= Release
JOBS        ?= $(shell nproc)
BENCH       ?=
ifeq ($(SANITIZE),1)
  BUILD_DIR  := build-sanitize
  BUILD_TYPE := Debug
  CMAKE_EXTRA += -DBILLOW_SANITIZERS=address,undefined
endif

.PHONY: all setup configure build test run bench check format clean
all: build

setup:
	@scripts/setup

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_EXTRA)

configure: setup $(BUILD_DIR)/CMakeCache.txt

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure --no-tests=error -j $(JOBS)

run: build
	$(BUILD_DIR)/billow serve

bench: build
	@bench/run $(BUILD_DIR) "$(BENCH)"

# Format check plus clang-tidy on the project's own sources.
check: configure
	@scripts/check $(BUILD_DIR)

format:
	@git ls-files '*.hpp' '*.cpp' | xargs clang-format-14 -i

clean:
	rm -rf build build-sanitize
