# The commands a newcomer needs:
#   make demo   installs the package with the OpenTelemetry bridge and the
#               debug toolbar and serves the demo app (development.ini) on
#               http://127.0.0.1:6543
#   make test   installs everything and runs the whole suite, with coverage,
#               against Pyramid 2.x and against Pyramid 1.10
#   make wheel  builds the wheel to install elsewhere, in dist/
PYTHON ?= python3
VENV := .venv

.PHONY: demo test test-pyramid2 test-pyramid110 wheel bench clean

$(VENV)/%/ready: setup.py constraints.txt
	$(PYTHON) -m venv $(VENV)/$*
	$(VENV)/$*/bin/pip install -q --upgrade "pip>=23" "setuptools<81"
	$(VENV)/$*/bin/pip install -q -c constraints.txt -e '.[testing]' $(EXTRA_$*)
	touch $@

EXTRA_pyramid2 := "pyramid>=2,<3"
EXTRA_pyramid110 := "pyramid==1.10.8"
EXTRA_demo := "pyramid>=2,<3" pyramid_debugtoolbar
EXTRA_bench := "pyramid>=2,<3" opentelemetry-instrumentation-pyramid

# PYTHONPATH: development.ini names examples.demo, which is not installed.
demo: $(VENV)/demo/ready
	PYTHONPATH=$(CURDIR) $(VENV)/demo/bin/pserve development.ini

test: test-pyramid2 test-pyramid110

test-pyramid2: $(VENV)/pyramid2/ready
	$(VENV)/pyramid2/bin/pytest --cov=pyramid_opentracing --cov-report=term-missing --cov-fail-under=95 tests

test-pyramid110: $(VENV)/pyramid110/ready
	$(VENV)/pyramid110/bin/pytest --cov=pyramid_opentracing --cov-report=term-missing --cov-fail-under=95 tests

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
	rm -rf $(VENV) .coverage .coverage.* .pytest_cache .hypothesis dist build *.egg-info \
	    .otel_pyramid_suite .browser_sdk benchmarks/.original
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
