"""The zero-code instrumentor in this process: every Configurator made after
``instrument()`` traces with the bridge on the global providers, the
application's settings winning, its package kept, OpenTelemetry's Pyramid
instrumentation turned off in either load order, never an exception."""
import logging
import sys
from importlib import metadata

import opentracing.mocktracer
import pytest
import webtest
from opentelemetry import metrics, trace
from opentelemetry.instrumentation.pyramid import PyramidInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.test.globals_test import reset_metrics_globals, reset_trace_globals
from pyramid.config import Configurator
from pyramid.interfaces import ITweens

from pyramid_opentracing import instrumentation
from pyramid_opentracing.instrumentation import PyramidOpenTracingInstrumentor, TWEEN_NAME
from pyramid_opentracing.otel.semconv import SCOPE_NAME

from . import zero_code_app

OTEL_PYRAMID_SCOPE = 'opentelemetry.instrumentation.pyramid.callbacks'
DURATIONS = ('http.server.request.duration', 'http.server.duration')


class Globals:
    """OpenTelemetry's global providers as ``opentelemetry-instrument``
    sets them: spans kept in memory, metrics read on demand."""

    def __init__(self):
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider(shutdown_on_exit=False)
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader], shutdown_on_exit=False)

    def spans(self):
        return self.exporter.get_finished_spans()

    def server_spans(self):
        return [(span.instrumentation_scope.name, span.name) for span in self.spans()
                if span.kind is trace.SpanKind.SERVER]

    def duration_scopes(self):
        """The scopes that recorded a request duration."""
        data = self.reader.get_metrics_data()
        return sorted(scope.scope.name for resource in (data.resource_metrics if data else ())
                      for scope in resource.scope_metrics for metric in scope.metrics
                      if metric.name in DURATIONS and metric.data.data_points)


@pytest.fixture
def otel_globals():
    reset_trace_globals()
    reset_metrics_globals()
    made = Globals()
    trace.set_tracer_provider(made.provider)
    metrics.set_meter_provider(made.meter_provider)
    yield made
    reset_trace_globals()
    reset_metrics_globals()


@pytest.fixture
def instrumentor(otel_globals):
    yield PyramidOpenTracingInstrumentor()
    for each in (PyramidOpenTracingInstrumentor(), PyramidInstrumentor()):
        if each.is_instrumented_by_opentelemetry:
            each.uninstrument()


def hello_app(**settings):
    config = Configurator(settings=settings)
    config.add_route('hello', '/hello/{name}')
    config.add_view(lambda request: 'hello', route_name='hello', renderer='string')
    return config


def test_the_pyramid_versions_supported_are_declared_to_opentelemetry():
    assert PyramidOpenTracingInstrumentor().instrumentation_dependencies() == (
        'pyramid >= 1.10, < 3',)
    requires = metadata.distribution('pyramid_opentracing').requires
    assert 'pyramid<3,>=1.10; extra == "instruments"' in requires


@pytest.mark.parametrize('group, loaded', [
    ('opentelemetry_instrumentor', PyramidOpenTracingInstrumentor),
    ('opentelemetry_post_instrument', instrumentation.turn_off_opentelemetry_pyramid),
])
def test_opentelemetry_instrument_finds_it_under_a_name_of_its_own(group, loaded):
    [entry_point] = [each for each in metadata.entry_points(group=group)
                     if each.name == 'pyramid_opentracing']
    assert entry_point.load() is loaded


def test_a_configurator_made_afterwards_traces_every_request_on_the_global_provider(
        instrumentor, otel_globals):
    instrumentor.instrument()
    config = hello_app()
    app = webtest.TestApp(config.make_wsgi_app())
    app.get('/hello/bob')
    app.get('/nowhere', status=404)
    assert otel_globals.server_spans() == [(SCOPE_NAME, 'GET /hello/{name}'), (SCOPE_NAME, 'GET')]
    tracer = config.registry.settings['ot.tracer'].tracer
    assert tracer.provider is otel_globals.provider  # no second provider
    assert otel_globals.duration_scopes() == [SCOPE_NAME]


def test_the_settings_of_the_application_win(instrumentor, otel_globals):
    instrumentor.instrument()
    webtest.TestApp(hello_app(**{'ot.trace_all': 'false'}).make_wsgi_app()).get('/hello/bob')
    assert otel_globals.spans() == ()
    mock = opentracing.mocktracer.MockTracer()
    webtest.TestApp(hello_app(**{'ot.base_tracer': mock}).make_wsgi_app()).get('/hello/bob')
    assert [span.operation_name for span in mock.finished_spans()] == ['hello']
    assert otel_globals.spans() == ()


@pytest.mark.parametrize('how', ['code', 'pyramid.includes'])
def test_an_application_including_the_package_itself_is_traced_once(instrumentor, otel_globals,
                                                                     how):
    instrumentor.instrument()
    if how == 'code':
        config = hello_app()
        config.include('pyramid_opentracing')
    else:
        config = hello_app(**{'pyramid.includes': 'pyramid_opentracing'})
    webtest.TestApp(config.make_wsgi_app()).get('/hello/bob')
    assert otel_globals.server_spans() == [(SCOPE_NAME, 'GET /hello/{name}')]


def test_the_caller_package_is_kept(instrumentor, otel_globals):
    """``config.scan()`` finds the views of the package that made the
    Configurator, and a relative asset spec its static files."""
    uninstrumented = Configurator()
    instrumentor.instrument()
    config = Configurator()
    assert config.package is uninstrumented.package is sys.modules['tests']
    assert config.absolute_asset_spec('static') == 'tests:static'
    app = webtest.TestApp(zero_code_app.make_app())
    assert app.get('/hello/bob').text == 'hello bob'  # a view found by the scan
    assert app.get('/static/style.css').text.strip() == 'body { color: teal }'
    assert app.get('/fail', status=500).text == 'failed'
    assert [name for _, name in otel_globals.server_spans()] == [
        'GET /hello/{name}', 'GET static/*subpath', 'GET /fail']


def explicit_names(config):
    return [name for name, _ in config.registry.getUtility(ITweens).explicit]


EXCVIEW = 'pyramid.tweens.excview_tween_factory'


@pytest.mark.parametrize('tweens', [EXCVIEW, [EXCVIEW], ' %s\n' % EXCVIEW])
def test_an_explicit_tween_list_gets_our_tween_first(instrumentor, otel_globals, tweens):
    """Whatever form the setting takes: the list Pyramid made of it is checked."""
    instrumentor.instrument()
    config = hello_app(**{'pyramid.tweens': tweens})
    app = webtest.TestApp(config.make_wsgi_app())
    assert explicit_names(config) == [TWEEN_NAME, EXCVIEW]
    app.get('/hello/bob')
    assert otel_globals.server_spans() == [(SCOPE_NAME, 'GET /hello/{name}')]


def test_a_blank_tween_list_is_no_list(instrumentor, otel_globals):
    instrumentor.instrument()
    config = hello_app(**{'pyramid.tweens': ' '})
    config.make_wsgi_app()
    assert explicit_names(config) == []
    assert [name for name, _ in config.registry.getUtility(ITweens).implicit()] == [
        TWEEN_NAME, EXCVIEW]


def test_an_explicit_tween_list_naming_our_tween_is_kept(instrumentor, otel_globals):
    tweens = [EXCVIEW, TWEEN_NAME]
    instrumentor.instrument()
    config = hello_app(**{'pyramid.tweens': '\n'.join(tweens)})
    config.make_wsgi_app()
    assert explicit_names(config) == tweens


def assert_only_ours(otel_globals, caplog):
    app = webtest.TestApp(hello_app().make_wsgi_app())
    app.get('/hello/bob')
    assert otel_globals.server_spans() == [(SCOPE_NAME, 'GET /hello/{name}')]
    assert [span for span in otel_globals.spans()
            if span.instrumentation_scope.name == OTEL_PYRAMID_SCOPE] == []
    assert otel_globals.duration_scopes() == [SCOPE_NAME]  # one set of metrics
    [line] = [r.getMessage() for r in caplog.records if 'turned off' in r.getMessage()]
    assert 'OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=pyramid_opentracing' in line


def test_opentelemetrys_pyramid_instrumentation_loaded_first_is_turned_off(
        instrumentor, otel_globals, caplog):
    caplog.set_level(logging.INFO, logger='pyramid_opentracing')
    PyramidInstrumentor().instrument()
    instrumentor.instrument()
    assert not PyramidInstrumentor().is_instrumented_by_opentelemetry
    assert_only_ours(otel_globals, caplog)


def test_opentelemetrys_pyramid_instrumentation_loaded_second_is_turned_off_after_loading(
        instrumentor, otel_globals, caplog):
    """As ``opentelemetry-instrument`` runs the post-instrument entry points."""
    caplog.set_level(logging.INFO, logger='pyramid_opentracing')
    instrumentor.instrument()
    PyramidInstrumentor().instrument()
    instrumentation.turn_off_opentelemetry_pyramid()
    assert not PyramidInstrumentor().is_instrumented_by_opentelemetry
    assert_only_ours(otel_globals, caplog)


def test_opentelemetrys_pyramid_instrumentation_is_left_alone_when_ours_is_off(
        instrumentor, otel_globals):
    PyramidInstrumentor().instrument()
    instrumentation.turn_off_opentelemetry_pyramid()  # ours disabled: never instrumented
    webtest.TestApp(hello_app().make_wsgi_app()).get('/hello/bob')
    assert otel_globals.server_spans() == [(OTEL_PYRAMID_SCOPE, '/hello/{name}')]


def test_without_the_otel_extra_instrumenting_logs_once_and_raises_nothing(
        instrumentor, otel_globals, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, 'pyramid_opentracing.otel', None)  # cannot be imported
    instrumentor.instrument()
    instrumentor.uninstrument()
    instrumentor.instrument()
    [line] = [r for r in caplog.records if 'not instrumenting' in r.getMessage()]
    assert line.levelno == logging.WARNING
    monkeypatch.delitem(sys.modules, 'pyramid_opentracing.otel')
    webtest.TestApp(hello_app().make_wsgi_app()).get('/hello/bob')
    assert otel_globals.spans() == ()


def test_without_a_global_provider_applications_run_untraced(instrumentor, caplog):
    caplog.set_level(logging.INFO, logger='pyramid_opentracing')
    reset_trace_globals()  # the proxy: OTEL_SDK_DISABLED, or no provider set yet
    instrumentor.instrument()
    config = hello_app()
    assert webtest.TestApp(config.make_wsgi_app()).get('/hello/bob').text == 'hello'
    assert 'ot.tracer' not in config.registry.settings
    assert any('no TracerProvider of the OpenTelemetry SDK' in r.getMessage()
               for r in caplog.records)


def test_uninstrument_leaves_the_configurators_made_afterwards_alone(instrumentor, otel_globals):
    instrumentor.instrument()
    before = webtest.TestApp(hello_app().make_wsgi_app())
    instrumentor.uninstrument()
    after = webtest.TestApp(hello_app().make_wsgi_app())
    after.get('/hello/after')
    assert otel_globals.spans() == ()
    before.get('/hello/before')
    assert len(otel_globals.server_spans()) == 1


def test_uninstrument_finds_its_wrapper_under_another_one(instrumentor, otel_globals):
    from wrapt import wrap_function_wrapper
    instrumentor.instrument()
    original = instrumentation.Configurator.setup_registry.__wrapped__
    wrap_function_wrapper(Configurator, 'setup_registry',
                          lambda wrapped, instance, args, kwargs: wrapped(*args, **kwargs))
    try:
        instrumentor.uninstrument()
        assert Configurator.setup_registry.__wrapped__ is original
        webtest.TestApp(hello_app().make_wsgi_app()).get('/hello/bob')
        assert otel_globals.spans() == ()
    finally:
        Configurator.setup_registry = original


def test_an_application_that_sets_its_registry_up_itself_is_traced(instrumentor, otel_globals):
    """The pattern of a Configurator given a registry, ``setup_registry``
    called with the settings as its first argument: which still win."""
    from pyramid.registry import Registry
    instrumentor.instrument()
    config = Configurator(registry=Registry('app'))
    assert 'ot.tracer' not in (config.registry.settings or {})  # no setup: nothing done
    config.setup_registry({'ot.excluded_paths': '/health'})
    config.add_route('hello', '/hello/{name}')
    config.add_route('health', '/health')
    config.add_view(lambda request: 'hello', route_name='hello', renderer='string')
    config.add_view(lambda request: 'ok', route_name='health', renderer='string')
    app = webtest.TestApp(config.make_wsgi_app())
    app.get('/hello/bob')
    app.get('/health')
    assert otel_globals.server_spans() == [(SCOPE_NAME, 'GET /hello/{name}')]


def test_opentelemetrys_pyramid_instrumentation_instrumented_later_by_hand_nests_under_ours(
        instrumentor, otel_globals):
    """Without the post-instrument step (instrumentors called by hand, ours
    first), both trace: still one SERVER span, ours, and one set of metrics."""
    instrumentor.instrument()
    PyramidInstrumentor().instrument()
    webtest.TestApp(hello_app().make_wsgi_app()).get('/hello/bob')
    assert otel_globals.server_spans() == [(SCOPE_NAME, 'GET /hello/{name}')]
    [theirs] = [span for span in otel_globals.spans()
                if span.instrumentation_scope.name == OTEL_PYRAMID_SCOPE]
    assert theirs.kind is trace.SpanKind.INTERNAL
    assert len(otel_globals.duration_scopes()) == 1
