"""The applications the benchmarks compare, and the tracers they trace with.

One small Pyramid app (a JSON-renderer view and a plain one) is built
untraced, traced by this package, by the floor tween (``floor.py``), by the
original 1.0.0 (``original.py``) and by ``opentelemetry-instrumentation-pyramid``.
Every OpenTelemetry tracer shares one SDK TracerProvider whose exporter drops
spans, so the SDK's own cost is the same for everyone, and one global SDK
MeterProvider, so that ``opentelemetry-instrumentation-pyramid`` records its
metrics as it does in production; the bridge records them in its own variant
(``ours/otel+metrics``).
"""
import opentracing
from basictracer import BasicTracer
from opentracing.mocktracer import MockTracer
from pyramid.config import Configurator
from pyramid.response import Response

from .floor import include_floor, include_otel_floor, include_sdk_minimum
from .original import include_original

#: Headers of a caller's trace context in every format the tracers read.
PARENT_HEADERS = {
    'traceparent': '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    'ot-tracer-traceid': '4bf92f3577b34da6',
    'ot-tracer-spanid': '00f067aa0ba902b7',
    'ot-tracer-sampled': 'true',
    'uber-trace-id': '4bf92f3577b34da6:00f067aa0ba902b7:0:1',
}


def json_view(request):
    return {'hello': 'world', 'items': [1, 2, 3]}


def plain_view(request):
    return Response('plain')


def make_app(instrument=None, settings=None):
    """The benchmark app; ``instrument(config)`` adds the tracing under test."""
    config = Configurator(settings=dict(settings or {}))
    config.add_route('json', '/json')
    config.add_view(json_view, route_name='json', renderer='json')
    config.add_route('plain', '/plain')
    config.add_view(plain_view, route_name='plain')
    if instrument is not None:
        instrument(config)
    return config.make_wsgi_app()


# -- tracers -----------------------------------------------------------------

class _DropExporter:
    """An OpenTelemetry span exporter that drops every span."""

    def export(self, spans):
        from opentelemetry.sdk.trace.export import SpanExportResult
        return SpanExportResult.SUCCESS

    def shutdown(self):
        pass

    def force_flush(self, timeout_millis=30000):
        return True


_provider = None


def otel_provider():
    """The process's one SDK TracerProvider, exporting to nowhere, set globally.

    opentelemetry-instrumentation-pyramid only uses the global provider, so
    the shim is built on the same one.
    """
    global _provider
    if _provider is None:
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        _provider = TracerProvider()
        _provider.add_span_processor(SimpleSpanProcessor(_DropExporter()))
        trace.set_tracer_provider(_provider)
        metrics.set_meter_provider(otel_meter_provider())
    return _provider


_meter_provider = None


def otel_meter_provider():
    """The process's one SDK MeterProvider. Its reader is never read:
    recording costs what it costs in production, and nothing is exported."""
    global _meter_provider
    if _meter_provider is None:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        _meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    return _meter_provider


def otel_bridge_tracer_with_metrics():
    """A BridgeTracer with what the bridge adds to its own provider by
    default: on a TracerProvider like the shared one, the bridge's metrics
    span processor on the shared MeterProvider, and the processor that
    follows live spans for the exit (``LiveSpans``), and the sampler that
    records the SERVER spans it drops (``RecordServerSpans``)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from pyramid_opentracing.otel import BridgeTracer
    from pyramid_opentracing.otel.exit import LiveSpans
    from pyramid_opentracing.otel.metrics import RecordServerSpans, measure_server_spans
    from pyramid_opentracing.otel.provider import make_propagator
    otel_provider()
    provider = TracerProvider()
    provider.sampler = RecordServerSpans(provider.sampler)
    provider.add_span_processor(SimpleSpanProcessor(_DropExporter()))
    provider.add_span_processor(LiveSpans())
    measure_server_spans(provider, otel_meter_provider())
    propagator, read_headers = make_propagator(['tracecontext', 'baggage'])
    return BridgeTracer(provider, propagator, read_headers=read_headers)


def otel_bridge_tracer():
    """(OpenTracing tracer on the shared SDK provider, what it is).

    The bridge's ``tracer_from_settings`` makes a provider of its own; its
    BridgeTracer is built here on the shared one, with the W3C propagator.
    Without the bridge, OpenTelemetry's stock shim is used.
    """
    provider = otel_provider()
    try:
        from pyramid_opentracing.otel import BridgeTracer
        from pyramid_opentracing.otel.provider import make_propagator
    except ImportError:
        from opentelemetry.shim.opentracing_shim import create_tracer
        return create_tracer(provider), 'opentelemetry-opentracing-shim (no bridge found)'
    propagator, read_headers = make_propagator(['tracecontext', 'baggage'])
    return BridgeTracer(provider, propagator, read_headers=read_headers), 'pyramid_opentracing.otel.BridgeTracer'


def basic_tracer():
    """A basictracer whose default recorder drops spans, reading HTTP headers.

    Only the text propagators are registered: its binary one needs an old
    protobuf.
    """
    from basictracer.text_propagator import TextPropagator
    tracer = BasicTracer()
    tracer.register_propagator(opentracing.Format.TEXT_MAP, TextPropagator())
    tracer.register_propagator(opentracing.Format.HTTP_HEADERS, TextPropagator())
    return tracer


TRACERS = {
    'noop': opentracing.Tracer,
    'mock': MockTracer,
    'basic': basic_tracer,
    'otel': lambda: otel_bridge_tracer()[0],  # real SERVER spans
}


# -- instrumentations --------------------------------------------------------

#: Five excluded-path patterns as an application sets them; none matches the
#: benchmark's paths, so the request is traced after checking them all.
EXCLUDED_PATHS = '^/health$, ^/metrics$, ^/static/, ^/favicon\\.ico$, ^/_debug_toolbar/'


#: What ``ours/mock+internals`` traces of Pyramid's own work.
TRACED_INTERNALS = 'view renderer tweens'


def ours(tracer, **settings):
    def instrument(config):
        config.registry.settings.update({'ot.trace_all': True, 'ot.base_tracer': tracer})
        config.registry.settings.update(settings)
        config.include('pyramid_opentracing')
    return instrument


def floor(tracer):
    from opentelemetry.shim.opentracing_shim import TracerShim
    if isinstance(tracer, TracerShim):
        return lambda config: include_otel_floor(config, tracer)
    return lambda config: include_floor(config, tracer)


def sdk_minimum(tracer):
    return lambda config: include_sdk_minimum(config, tracer)


def original(tracer):
    return lambda config: include_original(config, tracer)


def otel_instrumentation():
    otel_provider()

    def instrument(config):
        from opentelemetry.instrumentation.pyramid import PyramidInstrumentor
        PyramidInstrumentor.instrument_config(config)
    return instrument
