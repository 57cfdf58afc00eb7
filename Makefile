# The two commands of the README, and a few for developers.
#   make run    install what is missing, build, start the demo in the foreground
#   make test   install what is missing, build, run every test (unit, end-to-end,
#               the same unit tests under ASan+UBSan, and each fuzzer for a bounded time),
#               and build a gcc Release tree
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 20
# Warnings are errors when CI is set (.ci/run runs with CI=true) or when asked: make test WERROR=ON.
# Every tree passes it explicitly, so a later plain 'make build' does not inherit it from the CMake cache.
WERROR ?= $(if $(CI),ON,OFF)

.PHONY: all arrows deps build run test test-unit test-asan test-fuzz test-release fuzz clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWERROR=$(WERROR) >/dev/null
	@cmake --build build -j $(JOBS)

# The demo dies with make, even if make is killed outright (setpriv: SIGTERM to
# the script when make exits). Signals to the whole process group (Ctrl-C, a
# supervisor) reach the script directly; make itself forwards only SIGTERM and
# waits for the script to finish its cleanup.
run: build
	@setpriv --pdeathsig TERM -- scripts/run-demo.sh

# The include arrows of DESIGN §2 first (no build needed): a wrong-way include fails at once.
arrows:
	@.ci/check-arrows

test: arrows build
	cd build && ctest --output-on-failure -j 1
	$(MAKE) --no-print-directory test-asan
	$(MAKE) --no-print-directory test-fuzz
	$(MAKE) --no-print-directory test-release

test-unit: build
	cd build && ctest --output-on-failure -L unit

test-asan: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DASAN=ON -DUBSAN=ON -DWERROR=$(WERROR) >/dev/null
	@cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --output-on-failure -L unit

# Fuzzers need clang; install-deps puts it there.
test-fuzz: deps
	@cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_FUZZERS=ON \
		-DWERROR=$(WERROR) -DSASGW_FUZZ_SECONDS=$(FUZZ_SECONDS) >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target fuzzers
	cd build-fuzz && ctest --output-on-failure -L fuzz

# The build a user makes (gcc, -O3 -DNDEBUG): -O3's flow analysis finds warnings
# (maybe-uninitialized) the other trees do not, so CI builds it with WERROR and runs its unit tests.
test-release: deps
	@cmake -S . -B build-release -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Release -DWERROR=$(WERROR) >/dev/null
	@cmake --build build-release -j $(JOBS)
	cd build-release && ctest --output-on-failure -L unit

# A long fuzz run: make fuzz FUZZ_SECONDS=300
fuzz: test-fuzz

clean:
	rm -rf build build-asan build-fuzz build-release
