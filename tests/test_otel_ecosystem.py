"""One trace with OpenTelemetry's own instrumentations: SQLAlchemy and
requests record into the bridge's trace, as children of its SERVER span,
whether the bridge installs its provider globally or uses the global one;
and never two SERVER spans for one request."""
import logging
import os
import subprocess
import sys

import opentracing
import pytest
import requests
import sqlalchemy
import webtest
from opentelemetry import metrics, propagate, trace
from opentelemetry.instrumentation.pyramid import PyramidInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.test.globals_test import reset_metrics_globals, reset_trace_globals
from opentelemetry.trace import SpanKind
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.response import Response
from webtest.http import StopableWSGIServer

from . import apps
from .test_examples import exported_spans

BRIDGE = 'pyramid_opentracing.otel.tracer_from_settings'
HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture
def fresh_globals(monkeypatch):
    """OpenTelemetry's global providers and propagator, unset before and
    after the test (OpenTelemetry sets a global provider once per process),
    and opentracing's global tracer put back after it."""
    monkeypatch.setattr(opentracing, 'tracer', opentracing.tracer)
    monkeypatch.setattr(opentracing, 'is_tracer_registered', opentracing.is_tracer_registered)
    propagator = propagate.get_global_textmap()
    reset_trace_globals()
    reset_metrics_globals()
    yield
    reset_trace_globals()
    reset_metrics_globals()
    propagate.set_global_textmap(propagator)


@pytest.fixture
def backend():
    """A service on 127.0.0.1 that answers with the traceparent it got."""
    def app(environ, start_response):
        body = environ.get('HTTP_TRACEPARENT', '').encode()
        start_response('200 OK', [('Content-Type', 'text/plain'),
                                  ('Content-Length', str(len(body)))])
        return [body]

    server = StopableWSGIServer.create(app, host='127.0.0.1')
    yield server.application_url
    server.shutdown()


def make_shop(settings, backend_url):
    """An app whose view queries SQLite and calls ``backend_url``."""
    engine = sqlalchemy.create_engine('sqlite://')

    def order(request):
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text('select 1')).scalar()
        return Response(requests.get(backend_url, timeout=5).text)

    config = Configurator(settings=dict({'ot.trace_all': 'true', 'ot.base_tracer_func': BRIDGE},
                                        **settings))
    config.add_route('order', '/order/{id}')
    config.add_view(order, route_name='order')
    config.include('pyramid_opentracing')
    app = config.make_wsgi_app()
    return app, engine


@pytest.fixture
def instrumented():
    """instrument(engine): SQLAlchemy and requests instrumented on the
    global provider, until the end of the test."""
    def instrument(engine):
        SQLAlchemyInstrumentor().instrument(engine=engine)
        RequestsInstrumentor().instrument()

    yield instrument
    SQLAlchemyInstrumentor().uninstrument()
    RequestsInstrumentor().uninstrument()


def one_trace(spans):
    """(server span, HTTP client span), checked to be one trace: the SQL
    spans (connect, select) and the HTTP client span under the server span."""
    assert len(spans) == 4, [(s.name, s.instrumentation_scope.name) for s in spans]
    (server,) = [s for s in spans if s.instrumentation_scope.name == 'pyramid_opentracing']
    assert server.kind == SpanKind.SERVER
    sql = [s for s in spans if s.instrumentation_scope.name.endswith('sqlalchemy')]
    assert sorted(s.name for s in sql) == ['connect', 'select']
    (http,) = [s for s in spans if s.instrumentation_scope.name.endswith('requests')]
    assert {span.context.trace_id for span in spans} == {server.context.trace_id}
    assert {s.parent.span_id for s in sql + [http]} == {server.context.span_id}
    return server, http


def test_install_global_puts_sqlalchemy_and_requests_spans_in_the_request_trace(
        fresh_globals, backend, instrumented):
    app, engine = make_shop({'ot.otel.install_global': 'true', 'ot.otel.exporter': 'memory'},
                            backend + '/stock')
    bridge = app.registry.settings['ot.tracer'].tracer
    assert trace.get_tracer_provider() is bridge.provider
    assert propagate.get_global_textmap() is bridge.propagator
    assert metrics.get_meter_provider() is bridge.meter_provider
    instrumented(engine)
    try:
        caller = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
        got = webtest.TestApp(app).get('/order/7', headers={'traceparent': caller}).text
        spans = bridge.exporter.get_finished_spans()
        server, http = one_trace(spans)  # all in the one exporter
        assert server.name == 'GET /order/{id}'
        assert server.context.trace_id == 0x0af7651916cd43dd8448eb211c80319c
        assert http.kind == SpanKind.CLIENT
        # the backend was called as a child of the requests span
        assert got == '00-%032x-%016x-01' % (http.context.trace_id, http.context.span_id)
    finally:
        bridge.shutdown()


def test_install_global_refuses_to_replace_a_global_provider(fresh_globals):
    trace.set_tracer_provider(TracerProvider(shutdown_on_exit=False))
    with pytest.raises(ConfigurationError, match='ot.otel.install_global.*ot.otel.provider = global'):
        make_shop({'ot.otel.install_global': 'true', 'ot.otel.exporter': 'memory'}, 'http://x')


@pytest.fixture
def global_sdk(fresh_globals):
    """The application's own global TracerProvider and MeterProvider:
    (span exporter, metric reader)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader], shutdown_on_exit=False))
    yield exporter, reader
    provider.shutdown()


def metric_names(reader):
    data = reader.get_metrics_data()
    return {metric.name for rm in data.resource_metrics for sm in rm.scope_metrics
            for metric in sm.metrics} if data else set()


def test_provider_global_records_into_the_applications_provider(global_sdk, backend, instrumented):
    exporter, reader = global_sdk
    app, engine = make_shop({'ot.otel.provider': 'global'}, backend + '/stock')
    bridge = app.registry.settings['ot.tracer'].tracer
    assert bridge.provider is trace.get_tracer_provider() and bridge.exporter is None
    instrumented(engine)
    webtest.TestApp(app).get('/order/7')
    one_trace(exporter.get_finished_spans())
    assert 'http.server.request.duration' in metric_names(reader)
    bridge.shutdown()  # not ours to shut down: the application's provider still exports
    exporter.clear()
    webtest.TestApp(app).get('/order/8')
    assert len(exporter.get_finished_spans()) == 4


def test_provider_global_needs_a_global_sdk_provider(fresh_globals):
    with pytest.raises(ConfigurationError, match="ot.otel.provider = 'global': no TracerProvider"):
        make_shop({'ot.otel.provider': 'global'}, 'http://x')


def test_provider_global_refuses_settings_that_belong_to_the_providers_owner(global_sdk):
    with pytest.raises(ConfigurationError, match="ot.otel.exporter = 'memory': the global"):
        make_shop({'ot.otel.provider': 'global', 'ot.otel.exporter': 'memory'}, 'http://x')


def test_under_an_outer_server_span_ours_is_its_internal_child(global_sdk):
    exporter, _reader = global_sdk
    app = apps.make_app({'ot.trace_all': 'true', 'ot.base_tracer_func': BRIDGE,
                         'ot.otel.provider': 'global'})
    webtest.TestApp(OpenTelemetryMiddleware(app)).get(
        '/plain', headers={'traceparent': '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'})
    spans = exporter.get_finished_spans()
    (outer,) = [s for s in spans if s.kind == SpanKind.SERVER]
    (ours,) = [s for s in spans if s.instrumentation_scope.name == 'pyramid_opentracing']
    assert ours.kind == SpanKind.INTERNAL
    assert ours.parent.span_id == outer.context.span_id
    assert outer.context.trace_id == 0x0af7651916cd43dd8448eb211c80319c


def test_beside_otel_pyramid_instrumentation_one_server_span_and_one_log_line(global_sdk, caplog):
    exporter, reader = global_sdk
    config = apps.make_config({'ot.trace_all': 'true', 'ot.base_tracer_func': BRIDGE,
                               'ot.otel.provider': 'global'}, include=False)
    PyramidInstrumentor.instrument_config(config)
    config.include('pyramid_opentracing')
    with caplog.at_level(logging.INFO, logger='pyramid_opentracing'):
        app = webtest.TestApp(config.make_wsgi_app())
    (line,) = [r.getMessage() for r in caplog.records if 'Pyramid instrumentation' in r.getMessage()]
    assert 'INTERNAL children of ours' in line and 'ours are off' in line
    app.get('/hello/bob')
    app.get('/plain')
    spans = exporter.get_finished_spans()
    servers = [s for s in spans if s.kind == SpanKind.SERVER]
    assert [s.name for s in servers] == ['GET /hello/{name}', 'GET /plain']
    assert all(s.instrumentation_scope.name == 'pyramid_opentracing' for s in servers)
    theirs = [s for s in spans if s.instrumentation_scope.name.startswith('opentelemetry.instrumentation')]
    assert len(theirs) == 2 and all(s.kind == SpanKind.INTERNAL for s in theirs)
    # the duration metric is theirs alone: it is not counted twice
    durations = [m for rm in reader.get_metrics_data().resource_metrics
                 for sm in rm.scope_metrics for m in sm.metrics
                 if m.name == 'http.server.request.duration' and sm.scope.name == 'pyramid_opentracing']
    assert durations == []


def test_under_opentelemetry_instrument_one_server_span_per_request(tmp_path):
    """The real auto-instrumentation: ``opentelemetry-instrument`` with the
    OTEL_* variables, OpenTelemetry's Pyramid instrumentation on, the bridge
    on the global provider."""
    env = dict(os.environ, OTEL_TRACES_EXPORTER='console', OTEL_METRICS_EXPORTER='none',
               OTEL_LOGS_EXPORTER='none', OTEL_SERVICE_NAME='auto-shop',
               OTEL_PYTHON_DISABLED_INSTRUMENTATIONS='requests,sqlalchemy,urllib3',
               PYTHONPATH=os.path.dirname(HERE))
    instrument = os.path.join(os.path.dirname(sys.executable), 'opentelemetry-instrument')
    result = subprocess.run([instrument, sys.executable, '-m', 'tests.auto_instrumented_app'],
                            env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    spans = exported_spans(result.stdout)
    servers = [s for s in spans if s['kind'] == 'SpanKind.SERVER']
    assert sorted(s['name'] for s in servers) == ['GET /hello/{name}', 'GET /plain']
    assert {s['resource']['attributes']['service.name'] for s in spans} == {'auto-shop'}
    assert len(spans) == 4  # theirs, INTERNAL, under each of ours
    assert "OpenTelemetry's Pyramid instrumentation is active too" in result.stderr


def test_a_global_provider_without_span_processors_traces_without_metrics(fresh_globals, caplog):
    trace.set_tracer_provider(trace.NoOpTracerProvider())
    with caplog.at_level(logging.INFO, logger='pyramid_opentracing'):
        app = webtest.TestApp(apps.make_app({'ot.trace_all': 'true', 'ot.base_tracer_func': BRIDGE,
                                             'ot.otel.provider': 'global'}))
    assert any('no HTTP server metrics' in r.getMessage() and 'NoOpTracerProvider' in r.getMessage()
               for r in caplog.records)
    assert app.get('/plain').text == 'plain'
