"""Build the SDK pieces the bridge options ask for: provider, exporter,
propagator (with the headers it reads), meter provider; or take the global
ones. What of this is process-wide (handlers at exit and on SIGTERM, logger
filters, the provider's sampler, span processors, globals) is listed in the
docs' "Process-wide effects"."""
import logging
import os
import sys

import opentracing
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
from .exit import (
    CollectorAnswers, CountingBatchSpanProcessor, LiveSpans, flush_at_exit, shown_url)
from .metrics import RecordServerSpans, measure_server_spans
from .scrubbing_exporter import ScrubbingExporter
from .shim import SDK_EXPORT_LOGGERS

__all__ = ['make_bridge', 'make_propagator']

logger = logging.getLogger('pyramid_opentracing')

#: The logger of the bridge's start-up lines (where spans go, what is not
#: recorded), a child of ``pyramid_opentracing``: quieted on its own.
startup_logger = logging.getLogger('pyramid_opentracing.otel')

#: The loggers on which the exporters and the batch processor report failed
#: exports: one line per failure and per batch would flood the log.
EXPORT_LOGGERS = (
    'opentelemetry.exporter.otlp.proto.http.trace_exporter',
    'opentelemetry.exporter.otlp.proto.http.metric_exporter',
    'opentelemetry.exporter.otlp.proto.grpc.exporter',
    'opentelemetry.exporter.otlp.common.http',
) + SDK_EXPORT_LOGGERS

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
    and metrics; installed as OpenTelemetry's (and opentracing's) global
    ones if asked."""
    settings = {} if settings is None else settings
    rate_limit_logs(PROPAGATION_LOGGERS, hide_arguments=True)
    beside_otel_pyramid = OTEL_PYRAMID_SETTING in settings
    if options.provider == 'global':
        provider, propagator, exporter = global_provider(), propagate.get_global_textmap(), None
        read_headers = None  # whatever it is, it reads every request
        meter_provider, metric_reader, scrubbing = metrics.get_meter_provider(), None, None
    else:
        provider, exporter, scrubbing = make_provider(options)
        propagator, read_headers = make_propagator(options.propagators)
        meter_provider, metric_reader = (make_meter_provider(options, provider.resource)
                                         if options.metrics else (None, None))
        if options.metrics and not beside_otel_pyramid:
            # before any tracer is made: each takes the provider's sampler
            provider.sampler = RecordServerSpans(provider.sampler)
    tracer = BridgeTracer(provider, propagator, exporter, meter_provider=meter_provider,
                          metric_reader=metric_reader, owns_provider=options.provider == 'sdk',
                          old_http_attributes=options.old_http_attributes,
                          read_headers=read_headers)
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
        install_global(tracer, provider, propagator, meter_provider)
    startup_logger.info('pyramid_opentracing: tracing to %s as service %s (metrics: %s)',
                destination(options), service_of(provider), 'on' if options.metrics else 'off')
    warn_if_opentracing_global_is_noop()
    return tracer


def service_of(provider):
    """The ``service.name`` of ``provider``'s resource, for a log line."""
    resource = getattr(provider, 'resource', None)
    return getattr(resource, 'attributes', {}).get(SERVICE_NAME, 'of the global TracerProvider')


def warn_if_opentracing_global_is_noop():
    """Say, once per bridge, that ``opentracing.global_tracer()`` (and
    ``opentracing.tracer``) is still opentracing's no-op: a view or library
    using it would record nothing, silently; and so would
    ``opentelemetry.trace.get_tracer()`` while no global TracerProvider is set."""
    if type(opentracing.tracer) is opentracing.Tracer:  # pylint: disable=unidiomatic-typecheck
        otel_unset = isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
        startup_logger.warning(
            "pyramid_opentracing: opentracing.global_tracer() is still opentracing's no-op "
            "tracer: spans started with it are not recorded%s. Use "
            "request.registry.settings['ot.tracer'].tracer (or get_span(request))%s, or set "
            "ot.otel.install_global = true to make the bridge the global tracer.",
            ", nor those of opentelemetry.trace.get_tracer(), no TracerProvider being set "
            "globally" if otel_unset else '',
            " and its .provider.get_tracer(...)" if otel_unset else '')


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


def install_global(tracer, provider, propagator, meter_provider):
    """Make the bridge's provider, propagator and meter provider
    OpenTelemetry's global ones, so that OpenTelemetry's instrumentations
    (SQLAlchemy, requests...) record into the same traces, and the bridge
    ``tracer`` opentracing's global tracer, for the libraries that use
    ``opentracing.tracer``. OpenTelemetry lets a global provider be set
    once: a second one is a start-up error."""
    if hasattr(trace.get_tracer_provider(), 'add_span_processor'):
        raise fail('ot.otel.install_global', True, 'a global TracerProvider is set already: '
                   'use ot.otel.provider = global to trace with it')
    if hasattr(opentracing, 'set_global_tracer'):
        opentracing.set_global_tracer(tracer)
    else:  # opentracing 2.1, whose global tracer is the module attribute
        opentracing.tracer = tracer
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
        reader = PeriodicExportingMetricReader(_metrics_until_missing(options))
    meter_provider = MeterProvider(metric_readers=[reader], resource=resource,
                                   shutdown_on_exit=False)
    # the last metrics leave at exit and on SIGTERM with the spans, as bounded
    flush_at_exit(meter_provider, None, options.timeout, 'the metrics endpoint')
    return meter_provider, reader


def _metrics_until_missing(options):
    """The OTLP/HTTP metric exporter, which stops sending at the first 404
    or 405 from the metrics endpoint (a backend that takes traces only),
    saying so in one warning, instead of failing every minute."""
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics.export import MetricExportResult

    answers = CollectorAnswers()

    class MetricsUntilMissing(OTLPMetricExporter):
        missing = False

        def export(self, metrics_data, timeout_millis=10_000, **kwargs):
            if self.missing:
                return MetricExportResult.SUCCESS
            result = super().export(metrics_data, timeout_millis, **kwargs)
            if result is not MetricExportResult.SUCCESS and answers.missing():
                self.missing = True
                logger.warning('pyramid_opentracing: the collector has no metrics endpoint (%s): '
                               'metrics are no longer sent; set ot.otel.metrics = false if it '
                               'takes traces only', answers.rejection())
            return result

    return MetricsUntilMissing(endpoint=options.metrics_endpoint(), headers=options.headers,
                               timeout=options.timeout, session=answers.session())


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


def make_exporter(options, answers):
    """(span exporter, whether it deserves batching) for ``options.exporter``;
    an OTLP/HTTP exporter records the collector's answers in ``answers``."""
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
    if options.protocol == 'grpc':
        return OTLPSpanExporter(endpoint=options.traces_endpoint(), headers=options.headers,
                                timeout=options.timeout), True
    return OTLPSpanExporter(endpoint=options.traces_endpoint(), headers=options.headers,
                            timeout=options.timeout, session=answers.session()), True


#: Where each exporter sends spans when neither a setting nor a variable says:
#: the exporters' own defaults.
_DEFAULT_ENDPOINTS = {
    'http/protobuf': ('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'http://localhost:4318/v1/traces'),
    'grpc': ('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'http://localhost:4317'),
    'zipkin': ('OTEL_EXPORTER_ZIPKIN_ENDPOINT', 'http://localhost:9411/api/v2/spans'),
}

#: Where the spans go with the exporters that have no endpoint.
_PLACES = {'console': 'the console', 'memory': 'memory (ot.otel.exporter = memory)',
           'none': 'nowhere (ot.otel.exporter = none)'}


def destination(options, environ=None):
    """Where the exporter sends spans, for a log line: the endpoint the
    exporter uses, from the setting, its ``OTEL_*`` variables, or its
    default."""
    environ = os.environ if environ is None else environ
    if options.provider == 'global':
        return 'the global TracerProvider'
    if options.exporter in _PLACES:
        return _PLACES[options.exporter]
    if options.exporter == 'zipkin':
        endpoint, key = options.zipkin_endpoint(), 'zipkin'
    else:
        endpoint, key = options.traces_endpoint(), options.protocol
    if not endpoint:
        variable, default = _DEFAULT_ENDPOINTS[key]
        endpoint = environ.get(variable, '').strip()
        base = environ.get('OTEL_EXPORTER_OTLP_ENDPOINT', '').strip()
        if not endpoint and base and key != 'zipkin':
            # as the OTLP exporters do: the traces path after the base URL
            endpoint = base if key == 'grpc' else base.rstrip('/') + '/v1/traces'
        endpoint = endpoint or default
    return shown_url(endpoint)


def make_provider(options):
    """(TracerProvider, exporter, the ScrubbingExporter in front of it or
    None) for ``options``.

    OTLP exports in batches on the SDK's background thread, so the request
    path only queues finished spans; the provider is flushed and shut down
    when the process exits or receives SIGTERM, within ``options.timeout``,
    after ending the spans still running (see :mod:`.exit`). Console and
    memory export as each span ends, which is what a developer and a test
    want.
    """
    sampler = None
    if options.sampler_ratio is not None:
        sampler = ParentBased(TraceIdRatioBased(options.sampler_ratio))
    answers = CollectorAnswers()
    exporter, batched = make_exporter(options, answers)
    provider = TracerProvider(resource=make_resource(options), sampler=sampler,
                              shutdown_on_exit=not batched)
    scrubbing = None if exporter is None else ScrubbingExporter(exporter)
    if batched:
        where = destination(options)
        processor = CountingBatchSpanProcessor(scrubbing, answers, where)
        live = LiveSpans()
        provider.add_span_processor(processor)
        provider.add_span_processor(live)
        flush_at_exit(provider, processor.ledger, options.timeout, where, live, answers)
    elif exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(scrubbing))
    return provider, exporter, scrubbing


def make_propagator(names):
    """(one propagator speaking every header format in ``names``, in order;
    the headers one of which a request needs for it to find anything)."""
    propagators, headers = [], []
    for name in names:
        make, reads = _PROPAGATORS[name]
        try:
            propagators.append(make())
        except ImportError as exc:
            raise fail('ot.otel.propagators', name, 'its package is not installed (%s)' % exc) from None
        headers.extend(reads)
    return CompositePropagator(propagators), tuple(headers)


def _b3_single():
    from opentelemetry.propagators.b3 import B3SingleFormat
    return B3SingleFormat()


def _b3_multi():
    from opentelemetry.propagators.b3 import B3MultiFormat
    return B3MultiFormat()


def _jaeger():
    from opentelemetry.propagators.jaeger import JaegerPropagator
    return JaegerPropagator()


#: Each propagator's name: (how it is made, the headers it reads, one of
#: which must be present for it to find anything: a parent span context,
#: baggage). A propagator's ``fields`` are what it writes, not what it
#: reads: B3MultiFormat also reads the single ``b3`` header. The Jaeger
#: propagator reads ``uberctx-*`` baggage headers only beside an
#: ``uber-trace-id``.
_PROPAGATORS = {
    'tracecontext': (TraceContextTextMapPropagator, ('traceparent',)),
    'baggage': (W3CBaggagePropagator, ('baggage',)),
    'b3': (_b3_single, ('b3', 'x-b3-traceid')),
    'b3multi': (_b3_multi, ('b3', 'x-b3-traceid')),
    'jaeger': (_jaeger, ('uber-trace-id',)),
}
