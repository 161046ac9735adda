"""Build the SDK pieces the bridge options ask for: provider, exporter, propagator."""
import sys

from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from ..failures import rate_limit_logs
from ..settings import fail
from .shutdown import CountingBatchSpanProcessor, flush_at_exit

#: The loggers on which the exporters and the batch processor report failed
#: exports: one line per failure and per batch would flood the log.
EXPORT_LOGGERS = (
    'opentelemetry.exporter.otlp.proto.http.trace_exporter',
    'opentelemetry.exporter.otlp.proto.grpc.exporter',
    'opentelemetry.exporter.otlp.common.http',
    'opentelemetry.sdk._shared_internal',
)


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
    """Where the OTLP exporter sends spans, for a log line."""
    return options.traces_endpoint() or 'the OTLP endpoint of the OTEL_EXPORTER_OTLP_* variables'


def make_provider(options):
    """(TracerProvider, exporter) for ``options``.

    OTLP exports in batches on the SDK's background thread, so the request
    path only queues finished spans; the provider is flushed and shut down
    when the process exits or receives SIGTERM, within ``options.timeout``
    (see :mod:`.shutdown`). Console and memory export as each span ends,
    which is what a developer and a test want.
    """
    sampler = None
    if options.sampler_ratio is not None:
        sampler = ParentBased(TraceIdRatioBased(options.sampler_ratio))
    exporter, batched = make_exporter(options)
    provider = TracerProvider(resource=make_resource(options), sampler=sampler,
                              shutdown_on_exit=not batched)
    if batched:
        processor = CountingBatchSpanProcessor(exporter)
        provider.add_span_processor(processor)
        flush_at_exit(provider, processor.ledger, options.timeout, destination(options))
    elif exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


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
