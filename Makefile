# The commands a newcomer needs:
#   make demo   installs the package with the OpenTelemetry bridge and the
#               debug toolbar and serves the demo app (development.ini) on
#               http://127.0.0.1:6543
#   make test   installs everything, runs mypy, then the whole suite, with coverage,
#               on Python 3.11 against Pyramid 2.x and Pyramid 1.10, and on
#               Python 3.12 and 3.13 against Pyramid 2.x
#   make typecheck  checks the public API against its type hints (mypy)
#   make wheel  builds the wheel to install elsewhere, in dist/
PYTHON ?= python3
VENV := .venv

.PHONY: demo test test-pyramid2 test-pyramid110 test-py312 test-py313 typecheck wheel bench clean

# The Python version of each test virtualenv; the others (demo, bench) use $(PYTHON).
PYTHON_VERSION_pyramid2 := 3.11
PYTHON_VERSION_pyramid110 := 3.11
PYTHON_VERSION_py312 := 3.12
PYTHON_VERSION_py313 := 3.13

# A shell command printing the interpreter of Python $(1) (say 3.12): pyenv's
# newest 3.12.x (found also when pyenv is not on PATH), else python3.12 on
# PATH. It fails, naming the version, when neither runs, so that a missing
# version stops the suite instead of being replaced by another one.
python_of = { p=$$(pyenv prefix $(1) 2>/dev/null || ls -d "$${PYENV_ROOT:-$$HOME/.pyenv}"/versions/$(1).* 2>/dev/null | sort -V | tail -n 1) && [ -x "$$p/bin/python$(1)" ] && echo "$$p/bin/python$(1)"; } || python$(1) -c 'import sys; print(sys.executable)' 2>/dev/null || { echo "Python $(1) is missing: the suite runs on Python 3.11, 3.12 and 3.13; install it (pyenv install $(1)) or put python$(1) on PATH" >&2; exit 1; }

$(VENV)/%/ready: setup.py constraints.txt
	python=$(if $(PYTHON_VERSION_$*),$$($(call python_of,$(PYTHON_VERSION_$*))),$(PYTHON)) && \
	    "$$python" -m venv $(VENV)/$*
	$(VENV)/$*/bin/pip install -q --upgrade "pip>=23" "setuptools<81"
	$(VENV)/$*/bin/pip install -q -c constraints.txt -e '.[testing]' $(EXTRA_$*)
	touch $@

EXTRA_pyramid2 := "pyramid>=2,<3" mypy types-opentracing
EXTRA_pyramid110 := "pyramid==1.10.8"
EXTRA_py312 := "pyramid>=2,<3"
EXTRA_py313 := "pyramid>=2,<3"
EXTRA_demo := "pyramid>=2,<3" pyramid_debugtoolbar pyramid_jinja2
EXTRA_bench := "pyramid>=2,<3" opentelemetry-instrumentation-pyramid

# PYTHONPATH: development.ini names examples.demo, which is not installed.
demo: $(VENV)/demo/ready
	PYTHONPATH=$(CURDIR) $(VENV)/demo/bin/pserve development.ini

# One after the other: the suites time themselves and would compete for the cores.
test: typecheck test-pyramid2 test-pyramid110 test-py312 test-py313

PYTEST_COVERAGE := --cov=pyramid_opentracing --cov-report=term-missing --cov-fail-under=95

test-pyramid2 test-pyramid110 test-py312 test-py313: test-%: $(VENV)/%/ready
	$(VENV)/$*/bin/pytest $(PYTEST_COVERAGE) tests

# The public API against its type hints (the py.typed promise); setup.cfg
# holds mypy's configuration, including the files it checks.
typecheck: $(VENV)/pyramid2/ready
	$(VENV)/pyramid2/bin/mypy

# The overhead benchmark (about 2 minutes on 2 cores; fetches the original
# 1.0.0 into benchmarks/.original) and the 200,000-request memory soak.
bench: $(VENV)/bench/ready
	-$(VENV)/bench/bin/python -m benchmarks.overhead
	$(VENV)/bench/bin/python -m benchmarks.soak

# A wheel of this version in dist/, built with the setuptools of the test
# virtualenv (made if missing; no download): then
# pip install dist/pyramid_opentracing-*.whl installs it anywhere.
WHEEL_PYTHON ?= $(VENV)/pyramid2/bin/python
wheel:
	test -x $(WHEEL_PYTHON) || $(MAKE) $(VENV)/pyramid2/ready
	rm -rf dist build
	$(WHEEL_PYTHON) -m pip wheel --no-deps --no-build-isolation -w dist .

# Everything git ignores: the virtualenvs, what the tests and benchmarks fetch
# (the OpenTelemetry Pyramid test suite, the original 1.0.0) or leave behind.
clean:
	rm -rf $(VENV) .coverage .coverage.* .pytest_cache .hypothesis .mypy_cache dist build *.egg-info \
	    .otel_pyramid_suite .browser_sdk benchmarks/.original
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
