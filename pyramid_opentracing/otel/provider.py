"""Build the SDK pieces the bridge options ask for: provider, exporter,
propagator, meter provider; or take the global ones."""
import logging
import sys

from opentelemetry import metrics, propagate, trace

from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from ..failures import rate_limit_logs
from ..setting_parsers import fail
from .bridge import BridgeTracer
from .foreign_spans import ScrubbingExporter
from .live_spans import LiveSpans
from .metrics import RecordServerSpans, measure_server_spans
from .shutdown import CountingBatchSpanProcessor, flush_at_exit

logger = logging.getLogger('pyramid_opentracing')

#: The loggers on which the exporters and the batch processor report failed
#: exports: one line per failure and per batch would flood the log.
EXPORT_LOGGERS = (
    'opentelemetry.exporter.otlp.proto.http.trace_exporter',
    'opentelemetry.exporter.otlp.proto.grpc.exporter',
    'opentelemetry.exporter.otlp.common.http',
    'opentelemetry.sdk._shared_internal',
)

#: The loggers on which OpenTelemetry reports, per request, each malformed
#: header (with its value in the message) and each context detached out of
#: order (an application's scope closed after the request closed it).
PROPAGATION_LOGGERS = (
    'opentelemetry.baggage.propagation',
    'opentelemetry.trace.span',
    'opentelemetry.trace.propagation.tracecontext',
    'opentelemetry.context',
)

#: The setting OpenTelemetry's Pyramid instrumentation adds when it is
#: included in a configuration (by ``opentelemetry-instrument`` or
#: ``PyramidInstrumentor``).
OTEL_PYRAMID_SETTING = 'opentelemetry-pyramid.trace_enabled'


def make_bridge(options, settings=None):
    """The BridgeTracer ``options`` describe, with its provider, propagator
    and metrics; installed as OpenTelemetry's global ones if asked."""
    settings = {} if settings is None else settings
    rate_limit_logs(PROPAGATION_LOGGERS, hide_arguments=True)
    beside_otel_pyramid = OTEL_PYRAMID_SETTING in settings
    if options.provider == 'global':
        provider, propagator, exporter = global_provider(), propagate.get_global_textmap(), None
        meter_provider, metric_reader, scrubbing = metrics.get_meter_provider(), None, None
    else:
        provider, exporter, scrubbing = make_provider(options)
        propagator = make_propagator(options.propagators)
        meter_provider, metric_reader = (make_meter_provider(options, provider.resource)
                                         if options.metrics else (None, None))
        if options.metrics and not beside_otel_pyramid:
            # before any tracer is made: each takes the provider's sampler
            provider.sampler = RecordServerSpans(provider.sampler)
    tracer = BridgeTracer(provider, propagator, exporter, meter_provider=meter_provider,
                          metric_reader=metric_reader, owns_provider=options.provider == 'sdk',
                          old_http_attributes=options.old_http_attributes)
    if scrubbing is not None:
        scrubbing.policy_source = tracer
    if beside_otel_pyramid:
        logger.info("pyramid_opentracing: OpenTelemetry's Pyramid instrumentation is active too: "
                    "its spans are INTERNAL children of ours, the one SERVER span of each "
                    "request%s", ', and it records the HTTP server metrics (ours are off)'
                    if options.metrics else '')
    if options.metrics and not beside_otel_pyramid:
        if hasattr(provider, 'add_span_processor'):
            measure_server_spans(provider, meter_provider, options.old_http_attributes)
        else:
            logger.info('pyramid_opentracing: no HTTP server metrics: they are recorded from the '
                        'spans, and the global %s takes no span processor', type(provider).__name__)
    if options.install_global:
        install_global(provider, propagator, meter_provider)
    return tracer


def global_provider():
    """OpenTelemetry's global TracerProvider, which must have been set by
    now (by the application or ``opentelemetry-instrument``): the proxy
    OpenTelemetry returns before that would leave the bridge's spans in
    limbo until it is set, and its metrics nowhere."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider):
        raise fail('ot.otel.provider', 'global', 'no TracerProvider is set globally yet: set one '
                   'before the Pyramid configuration is committed, or run under '
                   'opentelemetry-instrument')
    return provider


def install_global(provider, propagator, meter_provider):
    """Make the bridge's provider, propagator and meter provider
    OpenTelemetry's global ones, so that OpenTelemetry's instrumentations
    (SQLAlchemy, requests...) record into the same traces. OpenTelemetry
    lets a global provider be set once: a second one is a start-up error."""
    if hasattr(trace.get_tracer_provider(), 'add_span_processor'):
        raise fail('ot.otel.install_global', True, 'a global TracerProvider is set already: '
                   'use ot.otel.provider = global to trace with it')
    trace.set_tracer_provider(provider)
    propagate.set_global_textmap(propagator)
    if meter_provider is not None:
        metrics.set_meter_provider(meter_provider)


def make_meter_provider(options, resource):
    """(MeterProvider, metric reader) exporting like the spans: OTLP every
    minute (the SDK's default interval), console, or memory (read on demand)."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    if options.exporter == 'memory':
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        reader = InMemoryMetricReader()
    elif options.exporter == 'console':
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter
        reader = PeriodicExportingMetricReader(ConsoleMetricExporter(out=_Stdout()))
    elif options.protocol == 'grpc':
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        reader = PeriodicExportingMetricReader(OTLPMetricExporter(
            endpoint=options.metrics_endpoint(), headers=options.headers, timeout=options.timeout))
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        reader = PeriodicExportingMetricReader(OTLPMetricExporter(
            endpoint=options.metrics_endpoint(), headers=options.headers, timeout=options.timeout))
    meter_provider = MeterProvider(metric_readers=[reader], resource=resource,
                                   shutdown_on_exit=False)
    # the last metrics leave at exit and on SIGTERM with the spans, as bounded
    flush_at_exit(meter_provider, None, options.timeout, 'the metrics endpoint')
    return meter_provider, reader


class _Stdout:
    """The ``sys.stdout`` of each write: metrics are printed from a
    background thread and at exit, when the stream of start-up may be gone
    (a test captured it)."""

    def write(self, text):
        return sys.stdout.write(text)

    def flush(self):
        sys.stdout.flush()


def make_resource(options):
    """The resource: ``OTEL_RESOURCE_ATTRIBUTES`` and ``OTEL_SERVICE_NAME``
    (read by the SDK), overridden by the settings."""
    attributes = dict(options.resource_attributes)
    if options.service_name:
        attributes[SERVICE_NAME] = options.service_name
    return Resource.create(attributes)


def make_exporter(options):
    """(span exporter, whether it deserves batching) for ``options.exporter``."""
    if options.exporter == 'none':
        return None, False
    if options.exporter == 'memory':
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        return InMemorySpanExporter(), False
    if options.exporter == 'console':
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter
        # the sys.stdout of now, not the one of import time (a test may capture it)
        return ConsoleSpanExporter(out=sys.stdout), False
    if options.exporter == 'zipkin':
        try:
            from opentelemetry.exporter.zipkin.json import ZipkinExporter
        except ImportError:
            raise fail('ot.otel.exporter', 'zipkin', 'install opentelemetry-exporter-zipkin-json '
                                                     '(pyramid_opentracing[zipkin])') from None
        return ZipkinExporter(endpoint=options.zipkin_endpoint(), timeout=options.timeout), True
    if options.protocol == 'grpc':
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        except ImportError:
            raise fail('ot.otel.protocol', 'grpc', 'install opentelemetry-exporter-otlp-proto-grpc '
                                                   'to export over gRPC') from None
    else:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            raise fail('ot.otel.exporter', 'otlp', 'install opentelemetry-exporter-otlp-proto-http '
                                                   '(pyramid_opentracing[otel])') from None
    rate_limit_logs(EXPORT_LOGGERS)
    exporter = OTLPSpanExporter(endpoint=options.traces_endpoint(), headers=options.headers,
                                timeout=options.timeout)
    return exporter, True


def destination(options):
    """Where the exporter sends spans, for a log line."""
    if options.exporter == 'zipkin':
        return options.zipkin_endpoint() or 'the Zipkin endpoint'
    return options.traces_endpoint() or 'the OTLP endpoint of the OTEL_EXPORTER_OTLP_* variables'


def make_provider(options):
    """(TracerProvider, exporter, the ScrubbingExporter in front of it or
    None) for ``options``.

    OTLP exports in batches on the SDK's background thread, so the request
    path only queues finished spans; the provider is flushed and shut down
    when the process exits or receives SIGTERM, within ``options.timeout``,
    after ending the spans still running (see :mod:`.shutdown`). Console and memory export as each span ends,
    which is what a developer and a test want.
    """
    sampler = None
    if options.sampler_ratio is not None:
        sampler = ParentBased(TraceIdRatioBased(options.sampler_ratio))
    exporter, batched = make_exporter(options)
    provider = TracerProvider(resource=make_resource(options), sampler=sampler,
                              shutdown_on_exit=not batched)
    scrubbing = None if exporter is None else ScrubbingExporter(exporter)
    if batched:
        processor, live = CountingBatchSpanProcessor(scrubbing), LiveSpans()
        provider.add_span_processor(processor)
        provider.add_span_processor(live)
        flush_at_exit(provider, processor.ledger, options.timeout, destination(options), live)
    elif exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(scrubbing))
    return provider, exporter, scrubbing


def make_propagator(names):
    """One propagator speaking every header format in ``names``, in order."""
    propagators = []
    for name in names:
        try:
            propagators.append(_PROPAGATORS[name]())
        except ImportError as exc:
            raise fail('ot.otel.propagators', name, 'its package is not installed (%s)' % exc) from None
    return CompositePropagator(propagators)


def _b3_single():
    from opentelemetry.propagators.b3 import B3SingleFormat
    return B3SingleFormat()


def _b3_multi():
    from opentelemetry.propagators.b3 import B3MultiFormat
    return B3MultiFormat()


def _jaeger():
    from opentelemetry.propagators.jaeger import JaegerPropagator
    return JaegerPropagator()


_PROPAGATORS = {
    'tracecontext': TraceContextTextMapPropagator,
    'baggage': W3CBaggagePropagator,
    'b3': _b3_single,
    'b3multi': _b3_multi,
    'jaeger': _jaeger,
}
