# The two commands a newcomer needs: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run pricefeed test lint typecheck check bench bench-fix quickfix-acceptor bench-core bench-snapshot bench-dos bench-follower bench-operator loadtest clean native clean-native
# `make native` builds the compiled modules in place, through setup.py (which lists them
# and also builds them into wheels): the engine's hot path, the gateway's per-order path,
# the journal follower's replay path (its surveillance rules too) and three hand-written C modules. One mypyc group, so one shared runtime; it is kept in
# engine/, which the gateway package imports first.
NATIVE_SOURCES := setup.py $(wildcard engine/*.py engine/perp/*.py gateway/*.py gateway/*/*.py gateway/follower/surveillance/*.py gateway/fix/*.c loadtest/*.c)
NATIVE_STAMP := engine/.native-built
# Where the compiled modules land: a new compiled package is added here once, for both rules.
NATIVE_SO := engine/*.so engine/perp/*.so gateway/*.so gateway/fix/*.so gateway/ws/*.so gateway/follower/*.so gateway/follower/surveillance/*.so loadtest/*.so
# Pure Python for development (VENUE_PURE=1); versions from constraints.txt.
$(STAMP): pyproject.toml setup.py constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	VENUE_PURE=1 $(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# The gateway runs the mypyc-compiled engine (rebuilt when an engine source changes).
run: $(STAMP) $(NATIVE_STAMP)
	$(BIN)/python -m gateway $(if $(CONFIG),--config $(CONFIG))

# The demo price feeder (docs/PRICE_FEED.md): BTC-PERP's index from simulated sources,
# through the admin API of a running `make run`.
pricefeed: $(STAMP)
	$(BIN)/python -m gateway.pricefeed $(if $(CONFIG),--config $(CONFIG))

# Deterministic: tests marked slow (wall-clock, throughput) are left to CI (.ci/run).
test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check engine gateway loadtest tests tools setup.py
	$(BIN)/ruff format --check engine gateway loadtest tests tools setup.py

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

# Engine benchmark, pure Python then mypyc-compiled (see README, Performance).
bench: $(STAMP)
	$(MAKE) clean-native
	$(BIN)/python -m loadtest.engine_bench
	$(MAKE) native
	$(BIN)/python -m loadtest.engine_bench

# FIX order-entry benchmark on the native build, as `make run` runs the gateway, in one
# run beside the null acceptor and the QuickFIX C++ reference acceptor (built when the
# distribution's libquickfix-dev is installed; skipped with a note otherwise).
FIX_BENCH_ARGS ?= --orders 20000 --uvloop --fsync never
bench-fix: $(STAMP) $(NATIVE_STAMP)
	-@$(MAKE) --no-print-directory quickfix-acceptor
	$(BIN)/python -m loadtest.fix_bench $(FIX_BENCH_ARGS)

# The QuickFIX C++ acceptor with a minimal matcher that fix_bench compares against.
QUICKFIX_ACCEPTOR := loadtest/quickfix/ordermatch
quickfix-acceptor: $(QUICKFIX_ACCEPTOR)
$(QUICKFIX_ACCEPTOR): loadtest/quickfix/ordermatch.cpp
	$(CXX) -O2 -std=c++14 -Wall -Wextra -Wno-deprecated $< -o $@ -lquickfix -lpthread

# What an order costs behind the protocol edges (engine, journal, views, FIX ERs out).
bench-core: $(STAMP) $(NATIVE_STAMP)
	$(BIN)/python -m loadtest.core_bench --uvloop

# What a snapshot costs the event loop (journal roll + fork) vs writing it inline.
bench-snapshot: $(STAMP) $(NATIVE_STAMP)
	$(BIN)/python -m loadtest.snapshot_bench --uvloop

# Connection-level DoS (issue #14): a trading session and /health, quiet vs while 200
# wrong-password FIX logons and 1,000 idle connections hit the gateway; PASS/FAIL.
bench-dos: $(STAMP) $(NATIVE_STAMP)
	$(BIN)/python -m loadtest.dos_bench --uvloop

# The journal follower's rebuild rate into SQLite (PG_URL=postgresql://... adds one).
bench-follower: $(STAMP) $(NATIVE_STAMP)
	$(BIN)/python -m loadtest.follower_bench --load $(if $(PG_URL),--pg-url $(PG_URL),--pg) $(FOLLOWER_BENCH_ARGS)

# 100 tenants, 100k accounts, 200k API keys against the demo venue, same run (issue #16)
bench-operator: $(STAMP) $(NATIVE_STAMP)
	$(BIN)/python -m loadtest.operator_bench --uvloop --rounds 4

# Compile the hot modules in place with mypyc (needs a C compiler).
native: $(NATIVE_STAMP)

$(NATIVE_STAMP): $(STAMP) $(NATIVE_SOURCES) Makefile
	rm -rf build $(NATIVE_SO)
	VENUE_NATIVE=1 $(BIN)/python setup.py build_ext --inplace >build-native.log 2>&1 \
		|| (tail -20 build-native.log; exit 1)
	mv ./*__mypyc.*.so engine/
	@$(BIN)/python -c "import gateway, engine; print('native:', *engine.NATIVE, *gateway.NATIVE)"
	touch $(NATIVE_STAMP)

clean-native:
	rm -rf $(NATIVE_SO) ./*__mypyc.*.so build build-native.log $(NATIVE_STAMP)

# Standard scenario against a real gateway started on a temporary data dir and free
# loopback ports (stopped at the end): FIX order flow, closed loop, bounded.
LOADTEST_ARGS ?= fix-orders --sessions 2 --in-flight 8 --duration 10
loadtest: $(STAMP)
	$(BIN)/python -m loadtest $(LOADTEST_ARGS) --spawn-gateway --out var/loadtest

clean: clean-native
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
