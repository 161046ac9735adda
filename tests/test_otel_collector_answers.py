"""What the bridge says about where its spans go and what the collector
answered: the endpoint at start-up and at exit, a refused export as the
collector's own answer, a traces-only collector's missing metrics endpoint,
and an opentracing global tracer that would record nothing."""
import logging

import opentracing
import pytest
import webtest
from opentracing.mocktracer import MockTracer
from pyramid.response import Response

from pyramid_opentracing.otel import exit as bridge_exit, tracer_from_settings

from . import apps
from .otlp_receiver import OTLPReceiver
from .test_exit import closed_port
from .test_otel_ecosystem import fresh_globals  # noqa: F401 (a fixture)

METRIC_EXPORTER_LOGGER = 'opentelemetry.exporter.otlp.proto.http.metric_exporter'

OTLP_VARIABLES = ('OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
                  'OTEL_TRACES_EXPORTER', 'OTEL_EXPORTER_OTLP_PROTOCOL',
                  'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_SERVICE_NAME')


@pytest.fixture
def no_otlp_variables(monkeypatch):
    for name in OTLP_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def messages(caplog, level=logging.DEBUG, logger='pyramid_opentracing'):
    return [r.getMessage() for r in caplog.records
            if r.levelno >= level and (r.name == logger or r.name.startswith(logger + '.'))]


def hello_app(bridge):
    config = apps.make_config({'ot.trace_all': True, 'ot.base_tracer': bridge})
    config.add_route('greet', '/greet')
    config.add_view(lambda request: Response('hello'), route_name='greet')
    return webtest.TestApp(config.make_wsgi_app())


def test_an_export_the_collector_refuses_says_what_it_answered(caplog):
    caplog.set_level(logging.WARNING, logger='pyramid_opentracing')
    with OTLPReceiver(refuse={'/v1/trace': 405}) as receiver:
        mistyped = receiver.endpoint + '/v1/trace'
        bridge = tracer_from_settings(**{'ot.otel.endpoint': mistyped,
                                         'ot.otel.metrics': 'false'})
        bridge.start_span('queued').finish()
        bridge.force_flush()
        answer = 'rejected: HTTP 405 Method Not Allowed from %s' % mistyped
        [failure] = [m for m in messages(caplog, logging.WARNING) if 'exporting spans' in m]
        assert answer in failure and mistyped in failure
        bridge_exit.shut_down_all()
    assert receiver.refused == ['/v1/trace']
    [line] = [m for m in messages(caplog, logging.WARNING) if 'were not exported to ' + mistyped in m]
    assert '1 of 1 spans were not exported to %s (%s)' % (mistyped, answer) in line
    assert 'ot.otel.timeout' not in line  # the collector did answer


def test_a_traces_only_collector_is_sent_metrics_once_then_warned_about(caplog):
    caplog.set_level(logging.DEBUG, logger='pyramid_opentracing')
    caplog.set_level(logging.DEBUG, logger=METRIC_EXPORTER_LOGGER)
    with OTLPReceiver(refuse={'/v1/metrics': 404}) as receiver:
        bridge = tracer_from_settings(**{'ot.otel.endpoint': receiver.endpoint})
        app = hello_app(bridge)
        app.get('/greet')
        bridge.meter_provider.force_flush()
        [warning] = [m for m in messages(caplog, logging.WARNING) if 'metrics' in m]
        assert 'ot.otel.metrics = false' in warning
        assert 'HTTP 404 Not Found from %s/v1/metrics' % receiver.endpoint in warning
        caplog.clear()
        for _ in range(3):  # every minute, with the SDK's default interval
            app.get('/greet')
            bridge.meter_provider.force_flush()
        assert bridge.force_flush()
        bridge.shutdown()
    assert receiver.refused == ['/v1/metrics']  # asked once, never again
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert [span['name'] for span in receiver.spans] == ['GET /greet'] * 4


@pytest.mark.parametrize('variables, endpoint', [
    ({}, 'http://localhost:4318/v1/traces'),
    ({'OTEL_EXPORTER_OTLP_ENDPOINT': 'http://collector:4318'}, 'http://collector:4318/v1/traces'),
    ({'OTEL_EXPORTER_OTLP_ENDPOINT': 'http://collector:4318/'}, 'http://collector:4318/v1/traces'),
    ({'OTEL_EXPORTER_OTLP_ENDPOINT': 'http://collector:4318',
      'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT': 'http://traces:4318/custom'}, 'http://traces:4318/custom'),
])
def test_the_start_up_line_says_where_spans_go(no_otlp_variables, caplog, variables, endpoint):
    caplog.set_level(logging.INFO, logger='pyramid_opentracing')
    for name, value in variables.items():
        no_otlp_variables.setenv(name, value)
    bridge = tracer_from_settings(**{'ot.otel.service_name': 'shop'})
    bridge.shutdown()
    assert 'pyramid_opentracing: tracing to %s as service shop (metrics: on)' % endpoint \
        in messages(caplog)


def test_the_start_up_line_names_the_setting_and_the_metrics(no_otlp_variables, caplog):
    caplog.set_level(logging.INFO, logger='pyramid_opentracing')
    tracer_from_settings(**{'ot.otel.service_name': 'shop', 'ot.otel.metrics': 'false',
                            'ot.otel.endpoint': 'http://user:secret@collector:4318'}).shutdown()
    tracer_from_settings(**{'ot.otel.service_name': 'shop', 'ot.otel.exporter': 'memory'})
    lines = [m for m in messages(caplog) if 'tracing to' in m]
    assert lines == [
        'pyramid_opentracing: tracing to http://collector:4318/v1/traces as service shop '
        '(metrics: off)',
        'pyramid_opentracing: tracing to memory (ot.otel.exporter = memory) as service shop '
        '(metrics: on)']


def test_the_exit_line_names_the_endpoint_the_variables_give(no_otlp_variables, caplog):
    caplog.set_level(logging.WARNING, logger='pyramid_opentracing')
    base = next(closed_port())
    no_otlp_variables.setenv('OTEL_EXPORTER_OTLP_ENDPOINT', base)
    bridge = tracer_from_settings(**{'ot.otel.timeout': '0.3', 'ot.otel.metrics': 'false'})
    bridge.start_span('queued').finish()
    bridge_exit.shut_down_all()
    [line] = [m for m in messages(caplog, logging.WARNING) if 'ot.otel.timeout = 0.3 s' in m]
    assert '1 of 1 spans were not exported to %s/v1/traces (' % base in line


@pytest.fixture
def noop_global_tracer(monkeypatch):
    """opentracing's global tracer is its no-op, during the test and after."""
    monkeypatch.setattr(opentracing, 'tracer', opentracing.Tracer())
    monkeypatch.setattr(opentracing, 'is_tracer_registered', False)


def test_a_bridge_says_that_opentracings_global_tracer_records_nothing(noop_global_tracer,
                                                                       caplog):
    caplog.set_level(logging.WARNING, logger='pyramid_opentracing')
    tracer_from_settings(**{'ot.otel.exporter': 'memory'})
    [warning] = messages(caplog, logging.WARNING)
    assert 'opentracing.global_tracer()' in warning and 'not recorded' in warning
    assert "registry.settings['ot.tracer'].tracer" in warning
    assert 'ot.otel.install_global = true' in warning


@pytest.mark.parametrize('provider_set', [False, True])
def test_the_warning_names_opentelemetrys_global_api_while_no_provider_is_set(
        noop_global_tracer, monkeypatch, caplog, provider_set):
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    provider = TracerProvider() if provider_set else trace.ProxyTracerProvider()
    monkeypatch.setattr(trace, 'get_tracer_provider', lambda: provider)
    caplog.set_level(logging.WARNING, logger='pyramid_opentracing')
    tracer_from_settings(**{'ot.otel.exporter': 'memory'})
    [warning] = messages(caplog, logging.WARNING)
    assert ('opentelemetry.trace.get_tracer()' in warning) is not provider_set
    assert ('.provider.get_tracer(' in warning) is not provider_set


def test_no_warning_when_opentracings_global_tracer_is_a_real_one(monkeypatch, caplog):
    monkeypatch.setattr(opentracing, 'tracer', MockTracer())
    caplog.set_level(logging.WARNING, logger='pyramid_opentracing')
    tracer_from_settings(**{'ot.otel.exporter': 'memory'})
    assert messages(caplog, logging.WARNING) == []


def test_install_global_makes_the_bridge_opentracings_global_tracer_too(fresh_globals,
                                                                      noop_global_tracer, caplog):
    caplog.set_level(logging.WARNING, logger='pyramid_opentracing')
    bridge = tracer_from_settings(**{'ot.otel.exporter': 'memory',
                                     'ot.otel.install_global': 'true'})
    assert opentracing.global_tracer() is bridge
    with opentracing.tracer.start_active_span('from a library'):
        pass
    assert [span.name for span in bridge.exporter.get_finished_spans()] == ['from a library']
    assert messages(caplog, logging.WARNING) == []
