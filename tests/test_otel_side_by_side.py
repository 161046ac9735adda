"""The bridge next to opentelemetry-instrumentation-pyramid, on the same app
and the same requests: the SERVER spans agree where the instrumentation is
right, and the test names each place where we deliberately differ."""
import opentelemetry.trace
import pytest
import webtest
from opentelemetry.instrumentation._semconv import _StabilityMode
from opentelemetry.instrumentation.pyramid import callbacks
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from . import apps

PATHS = ['/hello/bob', '/created', '/plain', '/redirect', '/not-found', '/invalid',
         '/server-error', '/boom', '/handled', '/nowhere']

#: Attributes the instrumentation records that we leave out on purpose:
#: url.full duplicates url.path/url.query on a server span.
THEIRS_ONLY = {'url.full'}
#: Our additions: the Pyramid route name, and (when asked) url.query.
OURS_ONLY = {'pyramid.route', 'code.function.name'}  # the view callable, from our view deriver


@pytest.fixture
def instrumented(monkeypatch):
    """The instrumentation's spans, without touching global state for good:
    its tracer comes from the global provider, patched for this test only."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(opentelemetry.trace, '_TRACER_PROVIDER', provider)
    monkeypatch.setattr(callbacks, '_sem_conv_opt_in_mode', _StabilityMode.HTTP)
    config = apps.make_config({}, include=False)
    config.include('opentelemetry.instrumentation.pyramid.callbacks')
    yield webtest.TestApp(config.make_wsgi_app()), exporter
    provider.shutdown()


@pytest.fixture
def bridged():
    config = apps.make_config({
        'ot.trace_all': 'true', 'ot.otel.exporter': 'memory',
        'ot.base_tracer_func': 'pyramid_opentracing.otel.tracer_from_settings'})
    app = config.make_wsgi_app()
    tracer = app.registry.settings['ot.tracer'].tracer
    yield webtest.TestApp(app), tracer.exporter
    tracer.shutdown()


def serve(app, exporter, path):
    environ = {'REQUEST_URI': path, 'REMOTE_ADDR': '10.0.0.1'}  # the instrumentation reads url.path there
    try:
        app.get(path, headers={'User-Agent': 'probe'}, extra_environ=environ, expect_errors=True)
    except ValueError:
        assert path == '/boom'
    (span,) = exporter.get_finished_spans()
    exporter.clear()
    return span


@pytest.mark.parametrize('path', PATHS)
def test_the_same_request_makes_the_same_server_span(instrumented, bridged, path):
    theirs = serve(*instrumented, path)
    ours = serve(*bridged, path)

    assert ours.kind is theirs.kind is SpanKind.SERVER
    route = theirs.attributes.get('http.route')
    # Semantic conventions name a server span "{method} {route}", else "{method}";
    # the instrumentation uses the bare route, and the raw path when unrouted.
    assert ours.name == ('GET %s' % route if route else 'GET')

    theirs_attributes = dict(theirs.attributes)
    ours_attributes = dict(ours.attributes)
    # server.address is the host name alone; the instrumentation keeps the port.
    assert theirs_attributes.pop('server.address') == 'localhost:80'
    assert ours_attributes.pop('server.address') == 'localhost'
    if path == '/handled':
        # An exception turned into a 500 by an exception view is still the
        # error: the instrumentation only sees the 500 and records no exception.
        assert theirs_attributes.pop('error.type') == '500'
        assert ours_attributes.pop('error.type') == 'tests.apps.Handled'
        assert [e.name for e in theirs.events] == []
        assert [e.name for e in ours.events] == ['exception']
    else:
        assert [e.name for e in ours.events] == [e.name for e in theirs.events]
    for name in THEIRS_ONLY:
        theirs_attributes.pop(name, None)
    for name in OURS_ONLY:
        ours_attributes.pop(name, None)
    assert ours_attributes == theirs_attributes
    assert ours.status.status_code is theirs.status.status_code
    expected = StatusCode.ERROR if theirs.attributes['http.response.status_code'] >= 500 else StatusCode.UNSET
    assert ours.status.status_code is expected
