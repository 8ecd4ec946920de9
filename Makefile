# microai: one entry point for set-up, firmware, demo and tests.
#
#   make demo      boot the default emulated board and run the main job on it
#   make test      everything CI checks
#   make firmware BOARD=<name> [MODEL=m.mai]   build MicroPython + microai for a board
#   make repl      interactive REPL on the default emulated board
#   make bench     benchmarks: instructions on the emulated boards beside CMSIS-NN, arena,
#                  blob and host speed beside LiteRT and TFLite-Micro
#   make fuzz      fuzz the blob loader and executor under ASan/UBSan (FUZZ_SECONDS=600)
#   make fuzz-board   malformed blobs on an emulated board vs the host (BLOBS=1000)
#   make fault     uploads over a faulty serial line to an emulated board (UPLOADS=1000)
#
# `make setup` (called by the others) installs the Debian packages, makes the Python
# venv in .venv and unpacks MicroPython's pinned Debian source into build/micropython.
# MPY_DIR=/path/to/micropython builds against your own full checkout instead.

BOARD ?= QEMU_STM32F405
QEMU_BOARDS := QEMU_STM32F405 QEMU_STM32F205 QEMU_M7
PYTHON ?= python3

VENV := .venv
PY := $(VENV)/bin/python
MICROAI := $(VENV)/bin/microai
MPY_SRC := $(if $(MPY_DIR),$(MPY_DIR),build/micropython)
export MPY_DIR

.PHONY: all setup setup-apt setup-venv setup-micropython firmware demo repl emulate \
	test test-host test-host-a test-host-b test-mpy test-sanitize test-fuzz lint bench bench-sparsity bench-winograd bench-binary fuzz fuzz-board fault \
	qemu-plugin clean distclean

all: demo

# ---- set-up (idempotent) -------------------------------------------------------------

setup: setup-apt setup-venv setup-micropython

setup-apt:
	@firmware/setup-apt.sh

setup-venv: $(VENV)/.stamp

$(VENV)/.stamp: requirements.txt pyproject.toml | setup-apt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	@touch $@

setup-micropython: | setup-apt
ifeq ($(MPY_DIR),)
	@firmware/fetch-micropython.sh build/micropython
endif

# ---- firmware and boards -------------------------------------------------------------

# MODEL=path.mai (or .tflite) freezes that model into the firmware's flash.
firmware: setup
	$(MICROAI) firmware --board $(BOARD) $(if $(MODEL),--model $(MODEL))

demo: setup qemu-plugin
	$(MICROAI) demo --board $(BOARD)

repl: setup
	$(MICROAI) repl --board $(BOARD)

emulate: setup
	$(MICROAI) emulate --board $(BOARD)

# The instruction-counting QEMU plugin, built against qemu-plugin.h from Debian's
# source package of the installed qemu-system-arm.
qemu-plugin: | setup-apt
	@firmware/qemu-plugin/build.sh

# ---- tests ---------------------------------------------------------------------------

# The host suite, in two halves by file name (about equal time), and the sanitizer pass
# run two at a time (two cores; each keeps its output together), after the lint and the
# MicroPython tests, before the fuzz slice. The C core is built once first (both
# halves would build it).
HOST_TESTS := $(sort $(wildcard tests/host/test_*.py))
HOST_A := $(shell printf '%s\n' $(HOST_TESTS) | awk '$$0 < "tests/host/test_package.py"')
HOST_B := $(filter-out $(HOST_A),$(HOST_TESTS))

test: lint test-mpy
	$(PY) -c "from microai import native; native.load()"
	$(MAKE) --no-print-directory -j2 -Otarget test-host-a test-host-b test-sanitize
	$(MAKE) --no-print-directory test-fuzz

lint: setup
	$(VENV)/bin/ruff check host tests
	$(VENV)/bin/ruff format --check host tests

# MicroPython-side tests (tests/micropython/*.py + .py.exp), run by MicroPython's own
# tests/run-tests.py on the unix port, on the unix port built with ASan and UBSan
# (boards/unix_asan: the glue under sanitizers) and on every emulated board.
test-mpy: setup
	$(PY) tests/run_mpy_tests.py unix unix_asan $(QEMU_BOARDS)

test-host: setup qemu-plugin
	$(PY) -m pytest --durations=25

test-host-a test-host-b: setup qemu-plugin
	$(PY) -m pytest --durations=15 $(if $(filter test-host-a,$@),$(HOST_A),$(HOST_B))

# The C core's host tests again, built with AddressSanitizer and UBSan (a separate build
# in build/native/, keyed by the flags); Python itself is not sanitized, so leaks are off.
# PYTHONMALLOC=malloc sends Python's own allocations to the sanitized malloc too, so a
# buffer Python hands to C ends where its bytes end; the fuzzers' reproducers
# (tests/fuzz/regress/) run here too. -fno-wrapv undoes the -fwrapv Python builds its
# extensions with, which would hide signed overflow from UBSan. --capture=sys lets a
# sanitizer's report reach the terminal before it aborts the run. -O2 keeps this build
# as it was before the host engine went to -O3 (native.py). The tests that run boards
# (*_on_board*) run once, in test-host: the boards are not the host engine.
SANITIZE_CFLAGS := -O2 -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer -fno-wrapv
test-sanitize: setup
	MICROAI_HOST_CFLAGS="$(SANITIZE_CFLAGS)" ASAN_OPTIONS=detect_leaks=0 PYTHONMALLOC=malloc \
	LD_PRELOAD="$$(gcc -print-file-name=libasan.so) $$(gcc -print-file-name=libubsan.so)" \
	$(PY) -m pytest -p no:cacheprovider --capture=sys -k "not on_board" tests/host/test_kernels_conv.py \
		tests/host/test_kernels_misc.py tests/host/test_kernels_s4.py \
		tests/host/test_kernels_sparse.py tests/host/test_blob.py tests/host/test_models.py \
		tests/host/test_fuzz.py tests/host/test_fuzz_regress.py tests/host/test_crafted_blobs.py \
		tests/host/test_binary.py tests/host/test_transpose.py \
		tests/host/test_relu.py tests/host/test_minmax.py tests/host/test_strided_slice.py \
		tests/host/test_split.py tests/host/test_gather.py tests/host/test_lut.py \
		tests/host/test_grouped_conv.py tests/host/test_batch_matmul.py tests/host/test_16x8.py \
		tests/host/test_svdf.py tests/host/test_lstm.py tests/host/test_fused_pad.py \
		tests/host/test_patches.py tests/host/test_order.py tests/host/test_concat_slices.py

# libFuzzer over the blob loader and executor (tests/fuzz/fuzz_blob.c, a structure-aware
# mutator; clang, ASan and UBSan; blob and arena in buffers of exactly their size).
# `make fuzz` fuzzes for FUZZ_SECONDS on FUZZ_JOBS processes, keeps its corpus in
# build/fuzz/corpus, and prints runs, runs/s, coverage and the crashes (reproducers in
# build/fuzz/crashes/), then replays the corpus through the MicroPython glue on
# boards/unix_asan; it fails on a crash. test-fuzz is make test's slice: the
# reproducers in tests/fuzz/regress/, a minute from the seeds alone (one process), and
# the glue replay.
FUZZ_SECONDS ?= 600
FUZZ_JOBS ?= $(shell nproc)
fuzz: setup
	$(PY) tests/fuzz/run_fuzz.py --seconds $(FUZZ_SECONDS) --jobs $(FUZZ_JOBS) --coverage --glue

# Malformed blobs (structure-aware lies, CRC correct) on an emulated board, each checked
# against the host engine; not in make test (a 60-blob sample is, in test-host).
fuzz-board: setup
	$(PY) tests/fuzz/board_blobs.py --blobs $(or $(BLOBS),1000) --board $(BOARD)

test-fuzz: setup
	$(PY) tests/fuzz/run_fuzz.py --seconds 60 --jobs 1 --seed 1 --fresh --glue

# Uploads over a serial line that drops, flips, duplicates and truncates bytes and is
# cut for a while (tests/fault/); prints what must hold. A short sample is in make test.
fault: setup
	$(PY) tests/fault/fault_upload.py --uploads $(or $(UPLOADS),1000)

# Benchmarks print figures; they are not tests and not part of `make test`.
# tests/bench/bench.py: per model and emulated board, instructions per inference and per
# layer beside CMSIS-NN's (../shared/reference) and issue 9's targets, then the host
# engine's speed beside LiteRT-reference and TFLite-Micro (tests/bench/host_engine.py).
# BENCH_ARGS passes options, e.g. BENCH_ARGS="--boards QEMU_STM32F405 --no-layers".
bench: setup qemu-plugin
	$(PY) tests/bench/bench.py $(BENCH_ARGS)

# Block-sparse vs dense kernels as the sparsity grows (tests/bench/sparsity.py; not part
# of make test): a table, and build/bench/sparsity.png.
bench-sparsity: setup qemu-plugin
	$(PY) tests/bench/sparsity.py $(BENCH_ARGS)

# Winograd vs the direct kernels, layer by layer, on ResNet-8 (tests/bench/winograd.py;
# BENCH_ARGS=--calibrate fits cost.py's constants to single layers instead).
bench-winograd: setup qemu-plugin
	$(PY) tests/bench/winograd.py $(BENCH_ARGS)

# The Larq fixtures' binary convolutions per board, instructions per binary MAC, and the
# digits BNN beside the int8 CNN: accuracy, weight bytes, instructions (tests/bench/binary.py).
bench-binary: setup qemu-plugin
	$(PY) tests/bench/binary.py $(BENCH_ARGS)

clean:
	rm -rf build/firmware build/native build/qemu-plugin

distclean:
	rm -rf build $(VENV)
