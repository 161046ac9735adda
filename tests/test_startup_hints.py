"""Start-up messages guess the fix of a newcomer's mistake: the setting meant,
an instance instead of a class, a dotted name without its call, the OTLP
path, an endpoint variable without a scheme, the packages jaeger-client lacks."""
import logging
import subprocess
import sys
import textwrap

import pytest
from opentracing.mocktracer import MockTracer
from pyramid.exceptions import ConfigurationError

from pyramid_opentracing.otel.options import BridgeOptions

from .test_settings import configure as commit, failure

BRIDGE = 'pyramid_opentracing.otel.tracer_from_settings'
ENDPOINT_VARIABLES = ('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT')


@pytest.fixture
def bridge_env(monkeypatch):
    """None of the OTEL_* variables that would choose the exporter or its endpoint."""
    for variable in ('OTEL_TRACES_EXPORTER', 'OTEL_EXPORTER_OTLP_PROTOCOL',
                     'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') + ENDPOINT_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch


@pytest.mark.parametrize('name, meant', [
    ('ot.trace_al', 'ot.trace_all'),
    ('ot.traced_attribute', 'ot.traced_attributes'),
    ('ot.otel.servicename', 'ot.otel.service_name'),
])
def test_a_near_miss_setting_name_says_which_was_meant(caplog, bridge_env, name, meant):
    caplog.set_level(logging.WARNING, logger='pyramid_opentracing')
    settings = commit({name: 'x', 'ot.base_tracer_func': BRIDGE, 'ot.otel.exporter': 'memory'})
    settings['ot.tracer'].tracer.shutdown()
    [warning] = [r.getMessage() for r in caplog.records if 'unknown setting' in r.getMessage()]
    assert 'unknown setting %s is ignored (did you mean %s?)' % (name, meant) in warning


def test_an_unknown_name_near_no_setting_guesses_nothing(caplog):
    caplog.set_level(logging.WARNING, logger='pyramid_opentracing')
    commit({'ot.zzzzzz': 'x'})
    [warning] = [r.getMessage() for r in caplog.records if 'unknown setting' in r.getMessage()]
    assert 'did you mean' not in warning


def make_tracer_class(**settings):
    """A factory that forgot to call the class."""
    return MockTracer


@pytest.mark.parametrize('name', ['ot.base_tracer_func', 'ot.tracing_callable',
                                  'ot.tracer_callable'])
def test_a_factory_returning_a_class_says_to_return_an_instance(name):
    message = failure({name: make_tracer_class})
    assert 'returned the class MockTracer, not a tracer: return an instance ' \
           '(return MockTracer())' in message
    assert 'dotted name' not in message


@pytest.mark.parametrize('name', ['ot.base_tracer', 'ot.base_tracer_func', 'ot.start_span_cb'])
def test_a_dotted_name_with_parentheses_says_to_drop_them(name):
    value = 'tests.callbacks.make_tracer()'
    message = failure({name: value})
    assert message.startswith('%s = %r: ' % (name, value)) or (
        '%s = %r: ' % (name, value)) in message
    assert 'drop the parentheses (tests.callbacks.make_tracer)' in message


@pytest.mark.parametrize('endpoint', ['http://localhost:4318/v1/trace',
                                      'http://localhost:4318/v1/trace/'])
def test_an_endpoint_ending_in_v1_trace_suggests_v1_traces_first(bridge_env, endpoint):
    message = failure({'ot.base_tracer_func': BRIDGE, 'ot.otel.endpoint': endpoint})
    problem = message.split('%r: ' % endpoint, 1)[1]
    assert problem.startswith('did you mean http://localhost:4318/v1/traces?')


@pytest.mark.parametrize('settings', [{'ot.otel.endpoint': 'http://collector:4318/v1/trace',
                                       'ot.otel.metrics': 'false'}, {}])
def test_an_endpoint_ending_in_v1_trace_that_is_used_as_it_is_is_warned(caplog, bridge_env,
                                                                        settings):
    """Without metrics derived from it, the collector's answer says the rest."""
    caplog.set_level(logging.WARNING, logger='pyramid_opentracing')
    bridge_env.setenv('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'http://collector:4318/v1/trace')
    commit(dict(settings, **{'ot.base_tracer_func': BRIDGE}))['ot.tracer'].tracer.shutdown()
    source = 'ot.otel.endpoint' if settings else 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'
    assert ("%s = 'http://collector:4318/v1/trace' ends in /v1/trace: did you mean "
            "http://collector:4318/v1/traces?" % source) in caplog.text


@pytest.mark.parametrize('variable', ENDPOINT_VARIABLES)
@pytest.mark.parametrize('value, problem', [
    ('localhost:4318', 'expected an http:// or https:// URL'),
    ('http://my host:4318', "'my host' is not a host name"),
    ('http://h:99999', 'the port must be a number'),
])
def test_an_endpoint_variable_is_checked_at_start_up_as_the_setting_is(bridge_env, variable,
                                                                       value, problem):
    bridge_env.setenv(variable, value)
    message = failure({'ot.base_tracer_func': BRIDGE})
    assert '%s = %r: %s' % (variable, value, problem) in message


def test_the_endpoint_setting_wins_over_a_bad_variable(bridge_env):
    bridge_env.setenv('OTEL_EXPORTER_OTLP_ENDPOINT', 'localhost:4318')
    settings = commit({'ot.base_tracer_func': BRIDGE, 'ot.otel.endpoint': 'http://127.0.0.1:9',
                       'ot.otel.metrics': 'false'})
    settings['ot.tracer'].tracer.shutdown()


def test_a_grpc_endpoint_variable_may_be_host_and_port():
    """The gRPC exporter takes ``host:port``: only OTLP/HTTP needs a scheme."""
    variables = {'OTEL_EXPORTER_OTLP_ENDPOINT': 'localhost:4317'}
    assert BridgeOptions({'ot.otel.protocol': 'grpc'}, variables).endpoint is None
    with pytest.raises(ConfigurationError, match="OTEL_EXPORTER_OTLP_ENDPOINT = 'localhost:4317'"):
        BridgeOptions({'ot.otel.protocol': 'http/protobuf'}, variables)


def run_without_six(code):
    """Run ``code`` in a new interpreter where six cannot be imported, as in
    a fresh virtualenv with jaeger-client 4.8 and thrift 0.25."""
    script = 'import sys\nsys.modules["six"] = None\n' + textwrap.dedent(code)
    return subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                          timeout=60)


def test_jaeger_client_without_six_says_what_to_install_and_where_to_go():
    result = run_without_six('''
        from pyramid.config import Configurator
        from pyramid.exceptions import ConfigurationError

        def make_tracer(**settings):  # jaeger-client's README factory
            from jaeger_client import Config
            return Config(config={'sampler': {'type': 'const', 'param': 1}},
                          service_name='shop', validate=True).initialize_tracer()

        for name, value in (('ot.base_tracer_func', make_tracer),
                            ('ot.base_tracer', 'jaeger_client.Config')):
            config = Configurator(settings={name: value})
            config.include('pyramid_opentracing')
            try:
                config.commit()
            except ConfigurationError as exc:
                print(str(exc).splitlines()[0])
        ''')
    lines = result.stdout.splitlines()
    assert len(lines) == 2, result
    for line in lines:
        assert 'pip install six' in line
        assert 'jaeger-client is archived' in line
        assert 'ot.base_tracer_func = %s' % BRIDGE in line


def test_an_endpoint_typo_with_credentials_keeps_them_out_of_the_hint(bridge_env):
    message = failure({'ot.base_tracer_func': BRIDGE,
                       'ot.otel.endpoint': 'http://u:s3cr3t@h:4318/v1/trace'})
    assert 's3cr3t' not in message and 'did you mean the path /v1/traces?' in message
