"""One rule for OpenTelemetry's ``OTEL_*`` variables, read for a setting that
is not set or blank: the setting wins, then the first of its variables set,
in the order its table lists them; a blank variable is as if unset."""
import pytest
from pyramid.exceptions import ConfigurationError
from opentracing.mocktracer import MockTracer

from pyramid_opentracing.config import SETTINGS, parse_rows, rows_of
from pyramid_opentracing.otel.options import BridgeOptions

from .conftest import server_span

#: For every setting with fallback variables: two values it accepts, and
#: what each is once parsed.
SAMPLES = {
    'ot.captured_request_headers': (('x-one', ('x-one',)), ('x-two', ('x-two',))),
    'ot.captured_response_headers': (('x-one', ('x-one',)), ('x-two', ('x-two',))),
    'ot.otel.service_name': (('one', 'one'), ('two', 'two')),
    'ot.otel.exporter': (('console', 'console'), ('memory', 'memory')),
    'ot.otel.protocol': (('grpc', 'grpc'), ('http/protobuf', 'http/protobuf')),
    'ot.otel.propagators': (('b3', ('b3',)), ('jaeger', ('jaeger',))),
    'ot.otel.timeout': (('7', 7.0), ('9', 9.0)),
}

#: The rows with fallback variables that are settings of their own (the
#: internal rows, variables only, are tested where their variables act).
ROWS = [(row.name, row.env) for row in SETTINGS if row.env and not row.internal]


def parsed(name, settings, environ):
    """Setting ``name`` as its part parses it from ``settings`` and ``environ``."""
    if name.startswith('ot.otel.'):
        return getattr(BridgeOptions(settings, environ), name[len('ot.otel.'):])
    return parse_rows(rows_of('ot'), settings, None, environ)[name]


def default(name):
    return next(row.default for row in SETTINGS if row.name == name)


def test_every_setting_with_variables_has_samples():
    assert sorted(name for name, _ in ROWS) == sorted(SAMPLES)


@pytest.mark.parametrize('name, variables', ROWS)
def test_each_variable_is_read_when_the_setting_is_not_set(name, variables):
    (text, value), _ = SAMPLES[name]
    for variable in variables:
        assert parsed(name, {}, {variable: text}) == value, variable


@pytest.mark.parametrize('name, variables', ROWS)
def test_the_setting_wins_over_the_variables(name, variables):
    (text, _), (other, other_value) = SAMPLES[name]
    assert parsed(name, {name: other}, dict.fromkeys(variables, text)) == other_value


@pytest.mark.parametrize('name, variables', [row for row in ROWS if len(row[1]) > 1])
def test_the_first_variable_set_wins(name, variables):
    (text, value), (other, _) = SAMPLES[name]
    assert parsed(name, {}, {variables[0]: text, variables[1]: other}) == value


@pytest.mark.parametrize('name, variables', ROWS)
@pytest.mark.parametrize('blank', ['', '  '])
def test_a_blank_variable_is_as_if_unset(name, variables, blank):
    (text, value), _ = SAMPLES[name]
    assert parsed(name, {}, {variables[0]: blank}) == default(name)
    if len(variables) > 1:
        assert parsed(name, {}, {variables[0]: blank, variables[1]: text}) == value


@pytest.mark.parametrize('name, variables', ROWS)
@pytest.mark.parametrize('blank', ['', ' \n '])
def test_a_blank_setting_reads_the_variables(name, variables, blank):
    (text, value), _ = SAMPLES[name]
    assert parsed(name, {name: blank}, {variables[0]: text}) == value
    assert parsed(name, {name: blank}, {}) == default(name)


def test_an_error_in_a_variable_names_the_variable():
    with pytest.raises(ConfigurationError, match=r"OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST "
                                                 r"= '\(': '\(' is not a regular expression"):
        parsed('ot.captured_request_headers', {},
               {'OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST': '('})


# -- excluded URLs: the fallback of ot.excluded_paths, matched against the full URL

def traced_names(traced_app, **settings):
    app, tracer = traced_app(MockTracer(), **settings)
    for path in ('/plain', '/created'):
        app.get(path)
    return [span.operation_name for span in tracer.finished_spans()]


def test_a_blank_pyramid_variable_leaves_the_generic_one(traced_app, clean_env):
    clean_env.setenv('OTEL_PYTHON_PYRAMID_EXCLUDED_URLS', ' ')
    clean_env.setenv('OTEL_PYTHON_EXCLUDED_URLS', 'plain')
    assert traced_names(traced_app) == ['created']


def test_a_blank_excluded_paths_setting_leaves_the_variables(traced_app, clean_env):
    clean_env.setenv('OTEL_PYTHON_EXCLUDED_URLS', 'plain')
    assert traced_names(traced_app, **{'ot.excluded_paths': ''}) == ['created']


def test_a_blank_captured_headers_setting_leaves_the_variable(traced_app, clean_env):
    clean_env.setenv('OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST', 'x-one')
    app, tracer = traced_app(MockTracer(), **{'ot.captured_request_headers': ''})
    app.get('/plain', headers={'X-One': '1'})
    assert server_span(tracer).tags['http.request.header.x_one'] == '1'
