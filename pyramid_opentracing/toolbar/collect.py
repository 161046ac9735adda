"""Keep the finished spans of the requests the toolbar shows, and only those.

The panel of a request asks to :meth:`SpanSource.watch` its server span and
holds the :class:`RequestTrace` it gets back; the source files each finished
span of a watched trace into the RequestTrace of every watched request
whose subtree it is in. Requests may share a trace: many clients can send
the same incoming ``traceparent``, and a service calling itself nests one
request's server span under another's. The source refers to the
RequestTraces weakly, so when the toolbar drops a request from its history
(``debugtoolbar.max_request_history``) its spans go with it. Spans are only
ever read: what the application's own exporter or recorder receives is
unchanged, and the panel shows what the exporter receives (spans of other
OpenTelemetry instrumentations scrubbed as the bridge's exporter scrubs them).

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

__all__ = ['OtelSpanSource', 'RequestTrace', 'SpanSource', 'SpanSources']

#: Most spans kept for one request: a loop making spans must not fill memory.
MAX_SPANS_PER_REQUEST = 1000

#: Most finished spans of one trace remembered to find the requests they are
#: in: enough for the spans of many requests sharing a trace, bounded so that
#: they cannot fill memory.
MAX_SPANS_PER_TRACE = 10000


class RequestTrace:
    """The finished spans of one request: its server span ``span_id`` of
    trace ``trace_id`` and the spans below it, as far as they were kept."""

    __slots__ = ('trace_id', 'span_id', 'spans', 'dropped', '_trace', '__weakref__')

    def __init__(self, trace_id, span_id, trace=None):
        self.trace_id = trace_id
        self.span_id = span_id
        self.spans = []
        self.dropped = 0
        self._trace = trace  # the TraceSpans filling it lives as long as its requests

    def add(self, span):
        """Keep ``span``; past the limit, count it as dropped. Spans come
        nearest to the server span first (see :meth:`TraceSpans.record`), so
        the ones kept are the top of the request's waterfall."""
        if len(self.spans) >= MAX_SPANS_PER_REQUEST:
            self.dropped += 1
        else:
            self.spans.append(span)


class TraceSpans:
    """The finished spans of one trace, each filed into the watched
    requests whose subtree it is in.

    A span finishes before its parent, so which request it is in is known
    when the nearest watched server span above it finishes: the span and
    its subtree are filed then. A span finishing after that server span is
    filed as it finishes.
    """

    __slots__ = ('_lock', '_requests', '_finished', '_children', '__weakref__')

    def __init__(self):
        self._lock = threading.Lock()
        self._requests = weakref.WeakValueDictionary()  # server span id -> RequestTrace
        self._finished = {}  # span id -> (parent id, span), oldest first
        self._children = {}  # span id -> ids of its finished children

    def watch(self, trace_id, span_id):
        """The RequestTrace of server span ``span_id``, made on first call."""
        with self._lock:
            request = self._requests.get(span_id)
            if request is None:
                request = self._requests[span_id] = RequestTrace(trace_id, span_id, self)
            return request

    def record(self, span_id, parent_id, span):
        """Remember finished ``span``; file it and its finished subtree,
        nearest first, into the watched requests it is now known to be in."""
        with self._lock:
            self._forget(span_id)  # a tracer reusing an id: the latest span wins
            self._finished[span_id] = (parent_id, span)
            self._children.setdefault(parent_id, []).append(span_id)
            while len(self._finished) > MAX_SPANS_PER_TRACE:
                self._forget(next(iter(self._finished)))
            owners = self._owners(span_id)
            if owners:
                below = self._subtree(span_id)
                for request in owners:
                    for each in below:
                        request.add(each)

    def _owners(self, span_id):
        """The watched requests finished span ``span_id`` is in, as far as
        known now: its own, if it is a watched server span, and those of its
        finished ancestors."""
        owners = []
        seen = set()
        while span_id in self._finished and span_id not in seen:
            seen.add(span_id)
            request = self._requests.get(span_id)
            if request is not None:
                owners.append(request)
            span_id = self._finished[span_id][0]
        return owners

    def _subtree(self, span_id):
        """Finished span ``span_id`` and its finished descendants, nearest first."""
        return [self._finished[each][1] for each in subtree(span_id, self._children)]

    def _forget(self, span_id):
        entry = self._finished.pop(span_id, None)
        if entry is not None:
            siblings = self._children[entry[0]]
            siblings.remove(span_id)
            if not siblings:
                del self._children[entry[0]]


def subtree(root, children):
    """``root`` and the ids below it in ``children`` (an id -> the ids of its
    children), breadth first; an id met twice (a tracer's cycle) once."""
    order = [root]
    seen = {root}
    for current in order:
        for child in children.get(current, ()):
            if child not in seen:
                seen.add(child)
                order.append(child)
    return order


class SpanSource:
    """Where the panel finds the finished spans of a request, for one tracer.

    ``readable`` says whether spans can be read back at all. A source
    holds no reference to its tracer, so that :class:`SpanSources` can
    forget a tracer the application no longer uses.
    """

    readable = True

    def __init__(self, tracer):
        self.tracer_name = type(tracer).__name__
        self._watched = weakref.WeakValueDictionary()  # trace id -> TraceSpans

    def watch(self, trace_id, span_id):
        """Start keeping the spans of the request whose server span is
        ``span_id`` of trace ``trace_id``: a RequestTrace that fills as they
        finish, for as long as a caller holds it."""
        trace = self._watched.get(trace_id)
        if trace is None:
            trace = self._watched.setdefault(trace_id, TraceSpans())
        return trace.watch(trace_id, span_id)

    def ids_of(self, span):
        """(trace id, span id) of live OpenTracing ``span`` as numbers, or
        (None, None)."""
        context = span.context
        trace_id = getattr(context, 'trace_id', None)
        span_id = getattr(context, 'span_id', None)
        if isinstance(trace_id, int) and isinstance(span_id, int):
            return trace_id, span_id
        return None, None

    def record(self, trace_id, span_id, parent_id, span):
        """File finished ``span`` (``span_id``, child of ``parent_id``) if
        its trace is watched."""
        trace = self._watched.get(trace_id)
        if trace is not None:
            trace.record(span_id, parent_id, self.shown(span))

    def shown(self, span):
        """What the panel keeps of finished ``span``: the span itself."""
        return span

    def spans(self, request):
        """The spans of RequestTrace ``request`` finished so far."""
        return list(request.spans)


class OtelSpanSource(SpanSource):
    """Spans of an OpenTelemetry SDK provider, kept by a SpanProcessor, as
    the bridge's exporter receives them."""

    def __init__(self, tracer, provider):
        super().__init__(tracer)
        from .otel_processor import KeepWatchedSpans
        self._tracer = weakref.ref(tracer)
        provider.add_span_processor(KeepWatchedSpans(self))

    def ids_of(self, span):
        """(trace id, span id) of ``span``, a shim span, as numbers."""
        context = span.unwrap().get_span_context()
        return context.trace_id, context.span_id

    def shown(self, span):
        """``span`` as the ScrubbingExporter in front of the bridge's
        exporter hands it on: a span of another instrumentation (a library's,
        or one a view made with the OpenTelemetry API) scrubbed by the
        tracer's TagPolicy, the bridge's own as they are."""
        from ..otel.scrubbing_exporter import ScrubbingExporter
        received = _Received()
        ScrubbingExporter(received, self._tracer()).export([span])
        return received.spans[0]


class _Received:
    """The exporter end of a ScrubbingExporter: keeps what it is given."""

    spans = ()

    def export(self, spans):
        self.spans = spans


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
            context = span.context
            self.source.record(context.trace_id, context.span_id, span.parent_id, span)


class MockSpanSource(SpanSource):
    """Spans of a MockTracer, which keeps every finished span itself: those
    of a request are found when its panel is shown."""

    def __init__(self, tracer):
        super().__init__(tracer)
        self._tracer = weakref.ref(tracer)

    def watch(self, trace_id, span_id):
        return RequestTrace(trace_id, span_id)

    def spans(self, request):
        tracer = self._tracer()
        if tracer is None:
            return []
        by_id, children = {}, {}
        for span in tracer.finished_spans():
            if span.context.trace_id == request.trace_id:
                by_id[span.context.span_id] = span
                children.setdefault(span.parent_id, []).append(span.context.span_id)
        if request.span_id not in by_id:
            return []
        return [by_id[each] for each in subtree(request.span_id, children)]


class UnreadableSpanSource(SpanSource):
    """A tracer that sends its spans away without keeping them (jaeger-client)."""

    readable = False

    def watch(self, trace_id, span_id):
        return RequestTrace(trace_id, span_id)

    def spans(self, request):
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
