# The two commands a newcomer needs: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck check bench bench-fix quickfix-acceptor bench-core bench-snapshot bench-dos loadtest clean native clean-native
# Modules compiled by `make native` (mypyc): the engine's hot path and what it calls,
# and the gateway's per-order path (FIX codec/validation/session/store/translation/
# application, the order tracker, the market-data publisher, the metrics they update).
# One mypyc run, so one shared runtime; it is kept in engine/, which the gateway
# package imports first.
NATIVE_MODULES := model book matching risk core sequencer commands events journal snapshot
GATEWAY_NATIVE := host orders marketdata metrics ws/router fix/codec fix/dictionary fix/session \
	fix/store fix/translate fix/application
NATIVE_SOURCES := $(addprefix engine/,$(addsuffix .py,$(NATIVE_MODULES))) \
	$(addprefix gateway/,$(addsuffix .py,$(GATEWAY_NATIVE)))
NATIVE_STAMP := engine/.native-built
# Hand-written C: the FIX framer's common case and the ExecutionReport body (each .c says why).
C_SOURCES := gateway/fix/_cframe.c gateway/fix/_crender.c
PYINFO = $(BIN)/python -c 'import sysconfig, sys; print(sysconfig.get_config_var(sys.argv[1]) or sysconfig.get_paths()[sys.argv[1]])'

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# The gateway runs the mypyc-compiled engine (rebuilt when an engine source changes).
run: $(STAMP) $(NATIVE_STAMP)
	$(BIN)/python -m gateway $(if $(CONFIG),--config $(CONFIG))

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check engine gateway loadtest tests
	$(BIN)/ruff format --check engine gateway loadtest tests

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

# Compile the hot modules in place with mypyc (needs a C compiler).
native: $(NATIVE_STAMP)

$(NATIVE_STAMP): $(STAMP) $(NATIVE_SOURCES) $(C_SOURCES) Makefile
	rm -rf build engine/*.so gateway/*.so gateway/fix/*.so gateway/ws/*.so
	$(BIN)/mypyc $(NATIVE_SOURCES) >build-native.log 2>&1 || (tail -20 build-native.log; exit 1)
	mv ./*__mypyc.*.so engine/
	for c in $(C_SOURCES); do \
		$(CC) -O2 -Wall -Wextra -Werror -fPIC -shared -I"$$($(PYINFO) include)" \
			$$c -o $${c%.c}$$($(PYINFO) EXT_SUFFIX) || exit 1; \
	done
	@$(BIN)/python -c "import gateway, engine; print('native:', *engine.NATIVE, *gateway.NATIVE)"
	touch $(NATIVE_STAMP)

clean-native:
	rm -rf engine/*.so gateway/*.so gateway/fix/*.so gateway/ws/*.so ./*__mypyc.*.so build build-native.log $(NATIVE_STAMP)

# Standard scenario against a real gateway started on a temporary data dir and free
# loopback ports (stopped at the end): FIX order flow, closed loop, bounded.
LOADTEST_ARGS ?= fix-orders --sessions 2 --in-flight 8 --duration 10
loadtest: $(STAMP)
	$(BIN)/python -m loadtest $(LOADTEST_ARGS) --spawn-gateway --out var/loadtest

clean: clean-native
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
