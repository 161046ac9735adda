"""HTTP server metrics recorded from the bridge's SERVER spans.

A span processor reads each SERVER span of ours as it starts and ends, so
the request path gains no code of its own: a request is counted in flight
from ``on_start`` to ``on_end``, where ``http.server.request.duration``
records the span's duration, with the attributes semantic conventions list
for them (``server.address`` and ``server.port`` are opt-in there and left
out: they multiply the series by every Host a client sends).

A request served through traversal has no route template: its duration
carries ``pyramid.endpoint`` instead (``Item/edit``, the context's class and
the view's name, see :mod:`~pyramid_opentracing.routing`), bounded by the
application's views as ``http.route`` is by its routes. Each duration is
recorded in the context of its span, so that the SDK's trace-based exemplar
filter keeps the trace and span id of a sampled request beside it.

``http.server.active_requests`` is an up-down counter, one up at
``on_start`` and one down at ``on_end``, per attribute set.

With ``OTEL_SEMCONV_STABILITY_OPT_IN=http/dup`` the spans carry the old
HTTP attribute names too, and the metrics follow them as OpenTelemetry's own
HTTP instrumentations do: ``http.server.duration`` (milliseconds, old
attributes) beside ``http.server.request.duration`` (seconds, stable
attributes), and ``http.server.active_requests`` with both attribute sets
in one series. ``net.host.name`` is left out of the old one for the reason
``server.address`` is left out of the stable one, and so is ``net.host.port``.
Every attribute a metric takes has a bounded set of values (see
:data:`KNOWN_VALUES`): a client cannot add series.

A request pyramid_retry retries has a span per attempt; those of the
attempts it retried (``pyramid.retried``) sent no response, and leave the
durations: the request is counted once, by the attempt that answered, with
the status the client got and that attempt's duration.
"""
import threading
import weakref

from opentelemetry.metrics import Observation
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import NonRecordingSpan, SpanKind, set_span_in_context

from ..lifecycle import RETRIED_TAG
from .semconv import SCHEMA_URL, SCOPE_NAME, package_version

__all__ = ['RecordServerSpans', 'ServerMetrics', 'measure_server_spans']

#: The bucket boundaries semantic conventions advise, in seconds.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)

DURATION_ATTRIBUTES = ('http.request.method', 'url.scheme', 'http.response.status_code',
                       'http.route', 'error.type', 'network.protocol.version',
                       'pyramid.endpoint')

#: The old attributes of ``http.server.duration``, as far as our spans carry
#: them (``net.host.port`` comes from the client's Host header).
OLD_DURATION_ATTRIBUTES = ('http.method', 'http.scheme', 'http.status_code', 'http.flavor')

ACTIVE_ATTRIBUTES = ('http.request.method', 'url.scheme')

#: With ``http/dup``, one series with both sets, as OpenTelemetry's own do.
ACTIVE_ATTRIBUTES_WITH_OLD = ACTIVE_ATTRIBUTES + ('http.method', 'http.scheme', 'http.flavor')


#: The values a metric takes as they are of the attributes a client can
#: choose (the scheme through a proxy's header, the protocol in the request
#: line); any other value is ``_OTHER``, so that a client cannot add series.
#: The method is normalised on the span already, the status code is the
#: server's, the route one of the application's.
KNOWN_VALUES = {
    'url.scheme': frozenset({'http', 'https'}),
    'network.protocol.version': frozenset({'0.9', '1.0', '1.1', '2', '2.0', '3', '3.0'}),
}
KNOWN_VALUES['http.scheme'] = KNOWN_VALUES['url.scheme']
KNOWN_VALUES['http.flavor'] = KNOWN_VALUES['network.protocol.version']


def pick(attributes, names):
    """The attributes ``names`` of a span, as a metric takes them."""
    picked = {}
    for name in names:
        value = attributes.get(name)
        if value is not None:
            known = KNOWN_VALUES.get(name)
            picked[name] = value if known is None or value in known else '_OTHER'
    return picked


class RecordServerSpans(Sampler):
    """``sampler``, except that a SERVER span it drops is recorded all the
    same, and still not sampled: the metrics count every request, as
    OpenTelemetry's own instrumentations do, whatever a caller's
    ``traceparent`` or the sampling ratio say.

    A recorded span that is not sampled reaches the span processors (so
    :class:`ServerMetrics` sees it) but not the exporters: the SDK's batch
    and simple processors leave out spans whose trace flags are not sampled.
    Its children are dropped by a parent-based sampler as before, and the
    next service is told the trace is not sampled.
    """

    def __init__(self, sampler):
        self.sampler = sampler

    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None,
                      links=None, trace_state=None):
        result = self.sampler.should_sample(parent_context, trace_id, name, kind, attributes,
                                            links, trace_state)
        if result.decision is Decision.DROP and kind is SpanKind.SERVER:
            return SamplingResult(Decision.RECORD_ONLY, result.attributes, result.trace_state)
        return result

    def get_description(self):
        return 'RecordServerSpans{%s}' % self.sampler.get_description()


#: The TracerProviders that have a ServerMetrics: one is enough when several
#: bridges share the global provider.
_MEASURED = weakref.WeakKeyDictionary()


def measure_server_spans(provider, meter_provider, old_http_attributes=False):
    """Record the HTTP server metrics of our SERVER spans on ``provider``;
    the old metric and attributes too if ``old_http_attributes``."""
    if provider not in _MEASURED:
        _MEASURED[provider] = processor = ServerMetrics(meter_provider, old_http_attributes)
        provider.add_span_processor(processor)


class ServerMetrics(SpanProcessor):
    """Records the HTTP server metrics of our SERVER spans (those of our
    instrumentation scope) on ``meter_provider``; with
    ``old_http_attributes``, ``http.server.duration`` and the old attributes
    too (the spans carry them)."""

    def __init__(self, meter_provider, old_http_attributes=False):
        meter = meter_provider.get_meter(SCOPE_NAME, package_version(), schema_url=SCHEMA_URL)
        self.duration = meter.create_histogram(
            'http.server.request.duration', unit='s',
            description='Duration of HTTP server requests.',
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS))
        self.old_duration = None
        if old_http_attributes:
            self.old_duration = meter.create_histogram(
                'http.server.duration', unit='ms',
                description='Measures the duration of inbound HTTP requests.')
        self.active_attributes = (ACTIVE_ATTRIBUTES_WITH_OLD if old_http_attributes
                                  else ACTIVE_ATTRIBUTES)
        #: Requests in flight per attribute set (a tuple of name-value pairs):
        #: observed when the metrics are collected, rather than two SDK
        #: measurements per request, each cleaning, sorting and hashing its
        #: attributes. The exported data are the same.
        self.in_flight = {}
        self._lock = threading.Lock()
        meter.create_observable_up_down_counter(
            'http.server.active_requests', callbacks=[self.observe_active_requests],
            unit='{request}', description='Number of active HTTP server requests.')

    def _count_in_flight(self, attributes, change):
        key = tuple(pick(attributes, self.active_attributes).items())
        with self._lock:
            self.in_flight[key] = self.in_flight.get(key, 0) + change

    def observe_active_requests(self, options=None):
        """The requests in flight, per attribute set, as the SDK collects them."""
        with self._lock:
            counts = list(self.in_flight.items())
        return [Observation(count, dict(key)) for key, count in counts]

    def _is_ours(self, span):
        return span.kind is SpanKind.SERVER and span.instrumentation_scope.name == SCOPE_NAME

    def on_start(self, span, parent_context=None):
        if self._is_ours(span):
            self._count_in_flight(span.attributes, 1)

    def on_end(self, span):
        if self._is_ours(span):
            attributes = span.attributes
            self._count_in_flight(attributes, -1)
            if attributes.get(RETRIED_TAG):
                return  # the attempt that answers counts the request
            seconds = max((span.end_time - span.start_time) / 1e9, 0.0)
            context = set_span_in_context(NonRecordingSpan(span.context))  # its exemplar
            self.duration.record(seconds, pick(attributes, DURATION_ATTRIBUTES), context)
            if self.old_duration is not None:
                self.old_duration.record(seconds * 1000, pick(attributes, OLD_DURATION_ATTRIBUTES))
