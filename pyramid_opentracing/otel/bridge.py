"""The bridge tracer: OpenTelemetry's OpenTracing shim with its own propagators.

The stock shim injects and extracts with OpenTelemetry's *global* propagator,
so two applications in one process (or a test suite) could not speak
different header formats. :class:`BridgeTracer` carries its propagator, its
provider, its exporter and its meter provider. It changes nothing in the
process by itself: what the bridge installs process-wide (at exit, on
SIGTERM, on loggers, on the provider) is made by :mod:`.provider` and listed
in the docs' "Process-wide effects".
"""
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Union, cast

import opentracing
from webob.headers import EnvironHeaders
from opentelemetry import context as otel_context
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import Getter
from opentelemetry.shim.opentracing_shim import ScopeShim, SpanContextShim, SpanShim, TracerShim
from opentelemetry.trace import INVALID_SPAN_CONTEXT, NonRecordingSpan, get_current_span, set_span_in_context

from ..headers import environ_key
from .exit import shut_down
from .semconv import SCHEMA_URL, SCOPE_NAME, package_version
from . import shim
from .shim import (DEFAULT_POLICY, BridgeScopeManager, bridge_span, inherited_baggage,
                   scrubbed_tags, span_name)

if TYPE_CHECKING:
    from opentelemetry.propagators.textmap import TextMapPropagator
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import MetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

    from ..tags import TagPolicy
    from ..tracer import PyramidTracer
    from .shim import BridgeSpan

__all__ = ['BridgeTracer']

_FORMATS = (opentracing.Format.HTTP_HEADERS, opentracing.Format.TEXT_MAP)


class BridgeTracer(TracerShim):
    """An OpenTracing tracer that records OpenTelemetry spans.

    ``provider`` is the SDK TracerProvider the spans go to, ``propagator``
    the OpenTelemetry TextMapPropagator for inject and extract, ``exporter``
    the span exporter (an ``InMemorySpanExporter`` when ``exporter = memory``),
    ``meter_provider`` the MeterProvider of the HTTP server metrics (None
    when they are off) and ``metric_reader`` its reader (an
    ``InMemoryMetricReader`` when ``exporter = memory``). A provider the
    bridge does not own (the global one) is not flushed nor shut down by it:
    that is its owner's job. ``old_http_attributes``: server spans carry the
    old HTTP attribute names beside the stable ones. ``read_headers``: the
    headers one of which a request needs for the propagator to find anything
    in it (a request with none is not read at all), or None when that is not
    known (every request is read).

    Its spans are :class:`~.shim.BridgeSpan`: OpenTracing's ``error``
    tag and error logs become OpenTelemetry errors, and a child span starts
    with its parent's baggage.
    """

    #: The PyramidTracer whose TagPolicy scrubs the error texts views log on
    #: this bridge's spans: the first that makes server spans with it.
    policy_source: Optional['PyramidTracer'] = None

    def __init__(self, provider: 'TracerProvider', propagator: Optional['TextMapPropagator'] = None,
                 exporter: Optional['SpanExporter'] = None, *,
                 meter_provider: Optional['MeterProvider'] = None,
                 metric_reader: Optional['MetricReader'] = None, owns_provider: bool = True,
                 old_http_attributes: bool = False,
                 read_headers: Optional[Iterable[str]] = None) -> None:
        super().__init__(provider.get_tracer(SCOPE_NAME, package_version(), schema_url=SCHEMA_URL))
        opentracing.Tracer.__init__(self, scope_manager=BridgeScopeManager(self))
        self.provider = provider
        if propagator is None:  # reads nothing from any request
            propagator, read_headers = CompositePropagator([]), ()
        self.propagator: 'TextMapPropagator' = propagator
        self.exporter = exporter
        self.meter_provider = meter_provider
        self.metric_reader = metric_reader
        self.owns_provider = owns_provider
        self.old_http_attributes = old_http_attributes
        #: The environ keys of the headers without which the propagator finds
        #: nothing: a request with none of them need not be read at all.
        self._environ_keys = None if read_headers is None else tuple(
            environ_key(header) for header in read_headers)

    def __repr__(self) -> str:
        return '<BridgeTracer propagator=%r exporter=%r>' % (
            getattr(self.propagator, 'fields', None), type(self.exporter).__name__)

    @property
    def policy(self) -> 'TagPolicy':
        """The TagPolicy scrubbing what views log on this bridge's spans."""
        source = self.policy_source
        return DEFAULT_POLICY if source is None else source.policy

    def start_span(self, operation_name: Optional[str] = None,  # type: ignore[override]
                   child_of: Union[SpanShim, SpanContextShim, None] = None,
                   references: Optional[List[opentracing.Reference]] = None,
                   tags: Optional[Mapping[str, Any]] = None, start_time: Optional[float] = None,
                   ignore_active_span: bool = False) -> 'BridgeSpan':
        """A :class:`~.shim.BridgeSpan`, child of ``child_of`` (else of
        the active span, unless ignored), with its parent's baggage."""
        if child_of is None and not ignore_active_span:
            child_of = cast(Optional[SpanShim], self.active_span)  # a bridge's span
        parent: object = child_of
        if parent is None and references:
            parent = references[0].referenced_context
        policy = self.policy
        otel_span = super().start_span(
            None if operation_name is None else span_name(operation_name, policy), child_of,
            references, scrubbed_tags(tags, policy), start_time, ignore_active_span).unwrap()
        return bridge_span(self, otel_span, inherited_baggage(parent), tags)

    def start_active_span(self, operation_name: str,  # type: ignore[override]
                          child_of: Union[SpanShim, SpanContextShim, None] = None,
                          references: Optional[List[opentracing.Reference]] = None,
                          tags: Optional[Mapping[str, Any]] = None,
                          start_time: Optional[float] = None, ignore_active_span: bool = False,
                          finish_on_close: bool = True) -> ScopeShim:
        """:meth:`start_span`, made active; closing the scope finishes it
        if ``finish_on_close``."""
        span = self.start_span(operation_name, child_of, references, tags, start_time,
                               ignore_active_span)
        return cast(ScopeShim, self.scope_manager.activate(span, finish_on_close))

    def inject(self, span_context: Optional[SpanContextShim],  # type: ignore[override]
               format: object,
               carrier: Any) -> None:
        """Write ``span_context`` (and its baggage) into the ``carrier`` headers."""
        if format not in _FORMATS:
            raise opentracing.UnsupportedFormatException(format)
        context = getattr(span_context, 'baggage', None) if span_context is not None else None
        if not isinstance(context, otel_context.Context):
            context = None
        otel_span_context = span_context.unwrap() if span_context is not None else INVALID_SPAN_CONTEXT
        self.propagator.inject(carrier, context=set_span_in_context(
            NonRecordingSpan(otel_span_context), context))

    def extract(self, format: object,  # type: ignore[override]
                carrier: Any) -> Optional[SpanContextShim]:
        """The caller's span context from the ``carrier`` headers, or None.

        The propagators read malformed headers as no parent at all: the
        request starts a new trace.
        """
        extracted = self.extract_context(format, carrier)
        if extracted is None:
            return None
        span_context = get_current_span(extracted).get_span_context()
        if not span_context.is_valid:
            return None
        shim_context = shim.span_context(span_context, extracted)
        #: The Context the propagators made, holding the caller's span and
        #: baggage: a server span starts in it as it is.
        shim_context.extracted = extracted
        return shim_context

    def extract_context(self, format: object, carrier: Any) -> Optional[otel_context.Context]:
        """What :meth:`extract` reads, as the OpenTelemetry Context the
        propagators made (the caller's span and baggage; a span started in
        it is a new trace if it holds no valid caller span, with the caller's
        baggage), or None when the carrier has none of the headers the
        propagators read: all a server span needs, without an OpenTracing
        span context around it."""
        if format not in _FORMATS:
            raise opentracing.UnsupportedFormatException(format)
        if isinstance(carrier, EnvironHeaders):
            keys = self._environ_keys
            if keys is not None:
                environ = carrier.environ
                for key in keys:
                    if key in environ:
                        break
                else:
                    return None
            return self.propagator.extract(carrier, getter=_REQUEST_HEADERS)
        return self.propagator.extract(_lower_keys(carrier))

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Export every finished span (and the metrics) now; True if all were
        exported in time. Nothing to do with a provider we do not own."""
        if not self.owns_provider:
            return True
        flushed = self.provider.force_flush(timeout_millis)
        if self.meter_provider is not None:
            flushed = self.meter_provider.force_flush(timeout_millis) and flushed
        return flushed

    def shutdown(self) -> None:
        """Flush and stop the exporters (also done when the process exits)."""
        if self.owns_provider:
            shut_down(self.provider)
            if self.meter_provider is not None:
                shut_down(self.meter_provider)


class _RequestHeadersGetter(Getter):
    """Reads ``request.headers`` (an ``EnvironHeaders``) straight from its
    environ: the mapping's ``get`` raises and catches a KeyError for each
    header missing, and copying the headers into a lower-cased dict takes a
    pass over the whole environ."""

    def get(self, carrier: EnvironHeaders, key: str) -> Optional[List[str]]:
        value = carrier.environ.get(environ_key(key))
        return None if value is None else [value]

    def keys(self, carrier: EnvironHeaders) -> List[str]:
        return [key.lower() for key in carrier.keys()]


_REQUEST_HEADERS = _RequestHeadersGetter()

def _lower_keys(carrier: Any) -> Dict[str, Any]:
    """The headers as a dict with lower-case names: OpenTelemetry's default
    getter looks names up exactly, and the propagators use lower case."""
    items = carrier.items() if hasattr(carrier, 'items') else carrier
    return {str(key).lower(): value for key, value in items}
