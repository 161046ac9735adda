"""A trace's spans as the rows of a waterfall: nested by parent, placed in time.

Spans come from OpenTelemetry (ReadableSpan) or from an OpenTracing tracer
that records them (basictracer, MockTracer); :func:`span_view` reads either
into one :class:`SpanView`, and :func:`waterfall` orders and places them.
Every value shown is turned into bounded text here (a sequence into a list
of them); the template escapes it.
"""
import math
from urllib.parse import urlsplit

from ..scrub import bound

__all__ = ['SpanView', 'format_duration', 'span_view', 'trace_id_text', 'waterfall']

#: Most characters shown of one attribute or log value.
MAX_VALUE_LENGTH = 2000

#: Most values shown of one sequence attribute.
MAX_LIST_LENGTH = 100

#: The attributes holding a client span's target URL, the current
#: semantic conventions' first.
URL_ATTRIBUTES = ('url.full', 'http.url')


class SpanView:
    """One span as the panel shows it. ``start`` and ``end`` in seconds
    since the epoch; ``attributes`` and each event's fields as (name, value)
    where value is a text or, for a sequence, a list of texts; ``target``
    the host and path a client span called, else empty."""

    __slots__ = ('span_id', 'parent_id', 'name', 'kind', 'start', 'end', 'error',
                 'attributes', 'events', 'target', 'depth', 'offset', 'width')

    def __init__(self, span_id, parent_id, name, kind, start, end, error, attributes, events,
                 target=''):
        self.span_id = span_id
        self.parent_id = parent_id
        self.name = name
        self.kind = kind
        self.target = target
        self.start = start
        self.end = end
        self.error = error
        self.attributes = attributes
        self.events = events
        self.depth = 0
        self.offset = self.width = 0.0

    @property
    def duration_ms(self):
        return (self.end - self.start) * 1000.0


def text(value):
    """``value`` as bounded text, its line breaks kept (a stack trace reads
    as one), other control characters escaped."""
    if not isinstance(value, str):
        value = repr(value) if not isinstance(value, (bool, int, float)) else str(value)
    return bound(value, MAX_VALUE_LENGTH, lines=True)


def shown(value):
    """What the panel shows of an attribute or field value: a sequence (an
    OpenTelemetry array attribute, a list tag) as the list of its values,
    the last saying how many more there were; anything else as text."""
    if not isinstance(value, (tuple, list)):
        return text(value)
    values = [text(item) for item in value[:MAX_LIST_LENGTH]]
    if len(value) > MAX_LIST_LENGTH:
        values.append('...[%d more values]' % (len(value) - MAX_LIST_LENGTH))
    return values


def fields(mapping):
    return [(text(name), shown(value)) for name, value in sorted((mapping or {}).items(),
                                                                  key=lambda item: str(item[0]))]


def client_target(kind, attributes):
    """``host[:port]/path`` of the URL a client span called (its user info
    and query left out), else empty: the name of an HTTP client span is only
    its method."""
    if kind != 'client' or not attributes:
        return ''
    url = next((attributes[name] for name in URL_ATTRIBUTES
                if isinstance(attributes.get(name), str)), None)
    if url is None:
        return ''
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL (a bracket left open)
        return ''
    if not parts.netloc:
        return ''
    return text(parts.netloc.rpartition('@')[2] + (parts.path or '/'))


def span_view(span):
    """A SpanView of a finished OpenTelemetry or OpenTracing span."""
    if hasattr(span, 'get_span_context'):
        return otel_span_view(span)
    return opentracing_span_view(span)


def otel_span_view(span):
    from opentelemetry.trace import StatusCode
    parent = span.parent
    events = [(event.timestamp / 1e9, text(event.name), fields(event.attributes))
              for event in span.events]
    kind = span.kind.name.lower()
    return SpanView(
        span.context.span_id, None if parent is None else parent.span_id, text(span.name),
        kind, span.start_time / 1e9, span.end_time / 1e9,
        span.status.status_code is StatusCode.ERROR, fields(span.attributes), events,
        client_target(kind, span.attributes))


def opentracing_span_view(span):
    tags = span.tags or {}
    finish = getattr(span, 'finish_time', None)  # MockTracer
    if finish is None:
        finish = span.start_time + (span.duration or 0.0)  # basictracer
    events = []
    for log in span.logs or ():
        key_values = dict(log.key_values or {})
        name = key_values.pop('event', 'log')
        events.append((log.timestamp, text(name), fields(key_values)))
    kind = text(tags.get('span.kind', ''))
    return SpanView(
        span.context.span_id, span.parent_id, text(span.operation_name),
        kind, span.start_time, finish,
        tags.get('error') in (True, 'true', 'True'), fields(tags), events,
        client_target(kind, tags))


def waterfall(views):
    """``views`` in waterfall order, each with its depth and its bar's
    ``offset`` and ``width`` as percentages of the trace's time span.

    A span is listed under its parent, children by start time; a span whose
    parent is not among ``views`` (the caller's, in another service) is a
    root.
    """
    if not views:
        return []
    by_id = {view.span_id: view for view in views}
    children = {}
    roots = []
    for view in views:
        if view.parent_id in by_id and view.parent_id != view.span_id:
            children.setdefault(view.parent_id, []).append(view)
        else:
            roots.append(view)
    timed = [view for view in views if math.isfinite(view.start) and math.isfinite(view.end)]
    begin = min((view.start for view in timed), default=0.0)
    total = max((view.end for view in timed), default=0.0) - begin or 1e-9
    rows = []
    stack = [(root, 0) for root in sorted(roots, key=start_order, reverse=True)]
    while stack:
        view, depth = stack.pop()
        view.depth = depth
        if math.isfinite(view.start) and math.isfinite(view.end):
            view.offset = 100.0 * (view.start - begin) / total
            view.width = max(100.0 * (view.end - view.start) / total, 0.3)
        else:  # a tracer's bad clock: listed, not placed, and not the scale of the rest
            view.offset, view.width = 0.0, 0.3
        rows.append(view)
        below = sorted(children.get(view.span_id, ()), key=start_order, reverse=True)
        stack.extend((child, depth + 1) for child in below)
    return rows


def start_order(view):
    return (view.start, -view.end)


def trace_id_text(trace_id, width):
    """The trace id as backends print it: lower-case hex, ``width`` digits."""
    return '%0*x' % (width, trace_id)


def format_duration(milliseconds):
    if milliseconds >= 1000:
        return '%.2f s' % (milliseconds / 1000.0)
    return '%.2f ms' % milliseconds
