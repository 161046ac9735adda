"""Keep the finished spans of the traces the toolbar shows, and only those.

The panel of a request asks to :meth:`SpanSource.watch` its trace and holds
the :class:`RequestTrace` it gets back; the source files finished spans of
that trace into it. The source refers to it weakly, so when the toolbar
drops the request from its history (``debugtoolbar.max_request_history``)
the spans go with it. Spans are only ever read: what the application's own
exporter or recorder receives is unchanged.

How spans are read back depends on the tracer:

* OpenTelemetry (the bridge, or any shim on an SDK provider): a
  SpanProcessor added to the provider.
* basictracer: its recorder, wrapped so that each span goes to the original
  recorder first and then here.
* MockTracer: its ``finished_spans()``, read when the panel is shown.
* anything else (jaeger-client): spans cannot be read back; the panel says so.
"""
import sys
import threading
import weakref

from opentracing.mocktracer import MockTracer

#: Most spans kept for one trace: a loop making spans must not fill memory.
MAX_SPANS_PER_TRACE = 1000


class RequestTrace:
    """The finished spans of one request's trace, as far as they were kept."""

    __slots__ = ('trace_id', 'spans', 'dropped', '__weakref__')

    def __init__(self, trace_id):
        self.trace_id = trace_id
        self.spans = []
        self.dropped = 0

    def add(self, span):
        """Keep ``span``; past the limit, drop the earliest one kept: the
        latest request's spans, its server span (which finishes last) among
        them, are the ones its panel shows."""
        if len(self.spans) >= MAX_SPANS_PER_TRACE:
            del self.spans[0]
            self.dropped += 1
        self.spans.append(span)


class SpanSource:
    """Where the panel finds the finished spans of a trace, for one tracer.

    ``readable`` says whether spans can be read back at all. A source
    holds no reference to its tracer, so that :class:`SpanSources` can
    forget a tracer the application no longer uses.
    """

    readable = True

    def __init__(self, tracer):
        self.tracer_name = type(tracer).__name__
        self._watched = weakref.WeakValueDictionary()

    def watch(self, trace_id):
        """Start keeping the spans of trace ``trace_id``: a RequestTrace
        that fills as they finish, for as long as a caller holds it.

        Requests of one trace (a service calling itself) share it.
        """
        trace = self._watched.get(trace_id)
        if trace is None:
            trace = self._watched.setdefault(trace_id, RequestTrace(trace_id))
        return trace

    def trace_id_of(self, span):
        """The trace id of OpenTracing ``span`` as a number, or None."""
        trace_id = getattr(span.context, 'trace_id', None)
        return trace_id if isinstance(trace_id, int) else None

    def record(self, trace_id, span):
        """File finished ``span`` under its trace, if that trace is watched."""
        trace = self._watched.get(trace_id)
        if trace is not None:
            trace.add(span)

    def spans(self, trace):
        """The spans of ``trace`` finished so far."""
        return list(trace.spans)


class OtelSpanSource(SpanSource):
    """Spans of an OpenTelemetry SDK provider, kept by a SpanProcessor."""

    def __init__(self, tracer, provider):
        super().__init__(tracer)
        from .otel_processor import KeepWatchedSpans
        provider.add_span_processor(KeepWatchedSpans(self))

    def trace_id_of(self, span):
        """The trace id of ``span``, a shim span, as a number."""
        return span.unwrap().get_span_context().trace_id


class RecorderSpanSource(SpanSource):
    """Spans of a basictracer, kept by a wrapper around its recorder."""

    def __init__(self, tracer):
        super().__init__(tracer)
        tracer.recorder = TeeRecorder(tracer.recorder, self)


class TeeRecorder:
    """A basictracer recorder passing each span on to the original recorder,
    then to a SpanSource."""

    def __init__(self, recorder, source):
        self.recorder = recorder
        self.source = source

    def record_span(self, span):
        try:
            self.recorder.record_span(span)
        finally:
            self.source.record(span.context.trace_id, span)


class MockSpanSource(SpanSource):
    """Spans of a MockTracer, which keeps every finished span itself."""

    def __init__(self, tracer):
        super().__init__(tracer)
        self._tracer = weakref.ref(tracer)

    def watch(self, trace_id):
        return RequestTrace(trace_id)

    def spans(self, trace):
        tracer = self._tracer()
        return [] if tracer is None else [
            span for span in tracer.finished_spans() if span.context.trace_id == trace.trace_id]


class UnreadableSpanSource(SpanSource):
    """A tracer that sends its spans away without keeping them (jaeger-client)."""

    readable = False

    def watch(self, trace_id):
        return RequestTrace(trace_id)

    def spans(self, trace):
        return []


def source_for(strategy):
    """The SpanSource that reads finished spans back from the tracer of span
    ``strategy`` (a ServerSpanStrategy)."""
    tracer = strategy.tracer
    provider = otel_provider(strategy)
    if provider is not None:
        return OtelSpanSource(tracer, provider)
    if isinstance(tracer, MockTracer):
        return MockSpanSource(tracer)
    if is_basictracer(tracer):
        return RecorderSpanSource(tracer)
    return UnreadableSpanSource(tracer)


def otel_provider(strategy):
    """The OpenTelemetry SDK provider the spans of ``strategy``'s tracer go
    to, or None when they are not OpenTelemetry spans.

    The bridge carries its provider; another OpenTelemetry shim is assumed
    to use the global provider.
    """
    if strategy.otel_tracer is None:
        return None
    provider = getattr(strategy.tracer, 'provider', None)
    if provider is None:
        from opentelemetry import trace
        provider = trace.get_tracer_provider()
    return provider if callable(getattr(provider, 'add_span_processor', None)) else None


def is_basictracer(tracer):
    """Whether ``tracer`` is a basictracer (imports nothing)."""
    module = sys.modules.get('basictracer')
    return module is not None and isinstance(tracer, module.BasicTracer)


class SpanSources:
    """The SpanSource of each tracer an application uses, made on first use.

    Kept on the application's registry: the global tracer may be replaced
    after start-up, so the source is looked up per tracer object.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._sources = weakref.WeakKeyDictionary()
        self._strong = {}  # tracers that cannot be referred to weakly

    def get(self, strategy):
        """The SpanSource of the tracer of span ``strategy`` (a
        ServerSpanStrategy), made and attached on the first call."""
        tracer = strategy.tracer
        sources = self._sources if _weakly_referable(tracer) else self._strong
        source = sources.get(tracer)
        if source is None:
            with self._lock:
                source = sources.get(tracer)
                if source is None:
                    source = sources[tracer] = source_for(strategy)
        return source

    @classmethod
    def of(cls, registry):
        """The SpanSources of the application of ``registry``."""
        sources = getattr(registry, _REGISTRY_ATTRIBUTE, None)
        if sources is None:
            with _registry_lock:
                sources = getattr(registry, _REGISTRY_ATTRIBUTE, None)
                if sources is None:
                    sources = cls()
                    setattr(registry, _REGISTRY_ATTRIBUTE, sources)
        return sources


def _weakly_referable(obj):
    try:
        weakref.ref(obj)
    except TypeError:
        return False
    return True


_REGISTRY_ATTRIBUTE = 'pyramid_opentracing_span_sources'
_registry_lock = threading.Lock()
