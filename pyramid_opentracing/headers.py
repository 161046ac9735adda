"""What a server span reads from the request headers and writes into the response.

Captured headers (``ot.captured_request_headers`` /
``ot.captured_response_headers``, or OpenTelemetry's
``OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_*``): regular expressions
that must match a whole header name, case-insensitively, as OpenTelemetry's
instrumentations match them. ``X-Request-ID`` is recorded as
``http.request.header.x_request_id``, the name OpenTelemetry's Python
instrumentations give, so that dashboards built on them keep working. Values
go through the span's redaction: a header whose name the redactor calls
secret (``Authorization``, ``Cookie``, ``ot.redacted_headers``...) or that a
pattern of ``OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS``
finds is ``[REDACTED]``; a URL-valued header loses its credentials, secret
query values and the values filling secret placeholders of the request's
route; every value is bounded like any tag. In an application with a secret
route placeholder the request headers are recorded once the request is
routed (:meth:`SpanHeaders.on_routed`), not as the span starts: some tracers
(jaeger-client) report every value a tag was ever given, and a sampler sees
what a span starts with.

``ot.response_headers``: the span's context written into the response, so
that a client (a browser, a load tester) can find the trace of its request.
The strategy says which headers (``context_headers``): W3C ``traceresponse``
with the OpenTelemetry bridge, the tracer's own ``inject`` format otherwise,
never the baggage (for the services downstream, not for the client). Their
names are added to ``Access-Control-Expose-Headers`` so that scripts in a
browser can read them. A response object served again (a module-level
``Response``) loses the context an earlier request wrote into it: it never
answers with another request's trace.

``ot.server_timing``: ``Server-Timing: traceparent;desc="00-..."`` with the
W3C context of the span (its real sampled flag), which browsers' developer
tools and real-user monitoring read; written after the application's own
metrics in that header.

Every step is guarded: a failure is reported once and the request is served.
"""
import re
from urllib.parse import unquote

from .redaction import REDACTED
from .route_secrets import url_waits_for_route
from .urls import url_text
from .selection import matcher

__all__ = ['CapturedHeaders', 'SpanHeaders', 'build_span_headers', 'header_name',
           'environ_key', 'traceresponse', 'without_baggage', 'is_baggage_header',
           'BAGGAGE_ENTRY_PREFIXES', 'BAGGAGE_HEADERS', 'MAX_CAPTURED']

# -- header names -------------------------------------------------------------

#: Request headers that WSGI keeps without the ``HTTP_`` prefix.
_UNPREFIXED = {'CONTENT_TYPE': 'content-type', 'CONTENT_LENGTH': 'content-length'}


def header_name(environ_key):
    """``x-request-id`` for ``HTTP_X_REQUEST_ID``, or None for an environ key
    that is not a header."""
    if environ_key.startswith('HTTP_'):
        return environ_key[5:].replace('_', '-').lower()
    return _UNPREFIXED.get(environ_key)


def environ_key(header):
    """The WSGI environ key of HTTP header ``header``: the inverse of :func:`header_name`."""
    key = header.upper().replace('-', '_')
    return key if key in _UNPREFIXED else 'HTTP_' + key


def attribute_key(name):
    """``x_request_id`` for header ``X-Request-ID``: OpenTelemetry's normalised name."""
    return name.lower().replace('-', '_')


#: Prefixes of the headers carrying one baggage entry each: OpenTracing's
#: (MockTracer, basictracer), jaeger-client's default.
BAGGAGE_ENTRY_PREFIXES = ('ot-baggage-', 'uberctx-')

#: Headers carrying several baggage entries: W3C's, jaeger-client's debug one.
BAGGAGE_HEADERS = frozenset({'baggage', 'jaeger-baggage'})


def is_baggage_header(lower_name):
    """Whether a header named ``lower_name`` (lower case) carries baggage in a known format."""
    return lower_name in BAGGAGE_HEADERS or lower_name.startswith(BAGGAGE_ENTRY_PREFIXES)


# -- captured headers ---------------------------------------------------------

#: At most this many headers are captured from a request, and from a
#: response: a client sending hundreds of matching headers would otherwise
#: choose how many attributes the span has (the SDK then drops its others).
MAX_CAPTURED = 32


class CapturedHeaders:
    """Reads the captured headers of a request and of its response.

    ``request_patterns`` and ``response_patterns`` choose the headers,
    ``sanitized_patterns`` add names whose values are secret (found anywhere
    in the name, as OpenTelemetry does).
    """

    def __init__(self, request_patterns=(), response_patterns=(), sanitized_patterns=()):
        self._request = (matcher(request_patterns, 'fullmatch', re.IGNORECASE)
                         if request_patterns else None)
        self._response = (matcher(response_patterns, 'fullmatch', re.IGNORECASE)
                          if response_patterns else None)
        self._sanitized = (matcher(sanitized_patterns, 'search', re.IGNORECASE)
                           if sanitized_patterns else None)

    @property
    def captures_request(self):
        return self._request is not None

    @property
    def captures_response(self):
        return self._response is not None

    def request_values(self, environ, policy, path_secrets=()):
        """{attribute key: value} of the captured request headers in
        ``environ`` (only if :attr:`captures_request`), without the
        request's ``path_secrets``."""
        wanted = self._request
        values = {}
        for key, value in environ.items():
            name = header_name(key)
            if name is not None and len(name) <= policy.max_tag_length and wanted(name):
                key = 'http.request.header.' + attribute_key(name)
                values[key] = self._value(name, value, policy, path_secrets)
                if len(values) == MAX_CAPTURED:
                    break
        return values

    def response_values(self, headerlist, policy, path_secrets=()):
        """{attribute key: value} of the captured headers in a response's
        ``headerlist`` (only if :attr:`captures_response`), without the
        request's ``path_secrets``; a repeated header's values joined with
        ``,``, as OpenTelemetry does."""
        wanted = self._response
        joined = {}
        for name, value in headerlist:
            name = name.lower()
            if name in joined:
                joined[name] = joined[name] + ',' + value
            elif (len(joined) < MAX_CAPTURED and len(name) <= policy.max_tag_length
                  and wanted(name)):
                joined[name] = value
        return {'http.response.header.' + attribute_key(name):
                self._value(name, value, policy, path_secrets)
                for name, value in joined.items()}

    def _value(self, name, value, policy, path_secrets):
        """``value`` of header ``name`` as it may be recorded: scrubbed as a
        URL of the request is, since it may be one."""
        if policy.redactor.is_secret(name) or (
                self._sanitized is not None and self._sanitized(name)):
            return REDACTED
        return url_text(value, policy, path_secrets)


# -- the context written into the response ------------------------------------

EXPOSE_HEADERS = 'Access-Control-Expose-Headers'

#: The attribute of a response object naming the context headers written
#: into it, so that a request serving the same object again removes them.
_WRITTEN = '_pyramid_opentracing_context_headers'


def traceresponse(otel_span_context):
    """The W3C ``traceresponse`` value of an OpenTelemetry span context, or None."""
    if not otel_span_context.is_valid:
        return None
    return '00-%032x-%016x-%02x' % (
        otel_span_context.trace_id, otel_span_context.span_id, otel_span_context.trace_flags)


def without_baggage(carrier, baggage):
    """``carrier`` (headers an ``inject`` wrote) as text, without the headers
    carrying ``baggage`` ({key: value}, the span context's): those of the
    known formats, and any other whose name ends with a key and whose value
    is that key's (a tracer's own prefix, as jaeger-client's
    ``baggage_header_prefix``)."""
    items = [(str(key).lower(), str(value)) for key, value in (baggage or {}).items()]
    kept = {}
    for name, value in carrier.items():
        name, value = str(name), str(value)
        lower = name.lower()
        if is_baggage_header(lower) or any(
                len(lower) > len(key) and lower.endswith(key) and unquote(value) == item
                for key, item in items):
            continue
        kept[name] = value
    return kept


def write_context(response, written):
    """Write the ``written`` headers into ``response``, remove those an
    earlier request wrote into the same object and no longer written, and
    list the names in ``Access-Control-Expose-Headers``."""
    headers = response.headers
    stale = [name for name in getattr(response, _WRITTEN, ()) if name not in written]
    for name in stale:
        if name in headers:
            del headers[name]
    if stale and EXPOSE_HEADERS in headers:  # nor the names listed for them
        gone = {name.lower() for name in stale}
        kept = [name.strip() for name in ', '.join(headers.getall(EXPOSE_HEADERS)).split(',')
                if name.strip() and name.strip().lower() not in gone]
        del headers[EXPOSE_HEADERS]
        if kept:
            headers[EXPOSE_HEADERS] = ', '.join(kept)
    if not written:
        if stale:
            setattr(response, _WRITTEN, ())
        return
    for name, value in written.items():
        headers[name] = value
    setattr(response, _WRITTEN, tuple(written))
    known = ', '.join(headers.getall(EXPOSE_HEADERS))  # one or more header lines
    listed = {name.strip().lower() for name in known.split(',')} if known else set()
    missing = [name for name in written if name.lower() not in listed]
    if missing:  # a response object served again already lists them
        exposed = ', '.join(missing)
        headers[EXPOSE_HEADERS] = '%s, %s' % (known, exposed) if known else exposed


def forget_context(request, response):
    """A response callback: remove from ``response`` the context headers an
    earlier request wrote into the same object (``request`` is untraced)."""
    if getattr(response, _WRITTEN, None):
        write_context(response, {})
    if SERVER_TIMING in response.headers:
        write_server_timing(response, None)


SERVER_TIMING = 'Server-Timing'

#: The name of the Server-Timing metric that carries the trace, as
#: OpenTelemetry's browser instrumentation and real-user monitoring read it.
SERVER_TIMING_METRIC = 'traceparent'


def write_server_timing(response, traceparent):
    """Make ``response``'s ``Server-Timing`` end with ``traceparent;desc="..."``
    (none for None), after the metrics the application wrote there; an
    entry of ours from an earlier request serving the same object goes."""
    headers = response.headers
    entries = [entry.strip() for entry in ', '.join(headers.getall(SERVER_TIMING)).split(',')]
    entries = [entry for entry in entries
               if entry and entry.split(';', 1)[0].strip() != SERVER_TIMING_METRIC]
    if traceparent is not None:
        entries.append('%s;desc="%s"' % (SERVER_TIMING_METRIC, traceparent))
    if entries:
        headers[SERVER_TIMING] = ', '.join(entries)
    elif SERVER_TIMING in headers:
        del headers[SERVER_TIMING]


# -- the calls of the request lifecycle ---------------------------------------

class SpanHeaders:
    """Header capture (a :class:`CapturedHeaders` or None) and, if
    ``write_context``, the span's context written into the response."""

    def __init__(self, captured=None, write_context=False, server_timing=False):
        self.captured = captured
        self.write_context = write_context
        self.server_timing = server_timing

    def on_start(self, strategy, span, request):
        """Record the captured request headers on the span ``strategy`` (a
        ServerSpanStrategy) just started, unless they wait for routing."""
        captured = self.captured
        if captured is None or not captured.captures_request:
            return
        try:
            policy = strategy.pyramid_tracer.policy
            if url_waits_for_route(request, policy):
                return  # recorded by on_routed
            values = captured.request_values(request.environ, policy)
            if values:
                strategy.record_headers(span, values)
        except Exception as exc:
            strategy.report('capturing request headers', exc, 'they are not recorded')

    def on_routed(self, strategy, span, request, path_secrets):
        """In an application with a secret route placeholder, once
        ``request`` is routed: record the captured request headers, without
        the request's ``path_secrets``."""
        captured = self.captured
        if captured is None or not captured.captures_request:
            return
        try:
            values = captured.request_values(
                request.environ, strategy.pyramid_tracer.policy, path_secrets)
            if values:
                strategy.record_headers(span, values)
        except Exception as exc:
            strategy.report('capturing request headers', exc, 'they are not recorded')

    def on_response(self, strategy, span, request, response):
        """Write the span's context into ``response``, then record the
        captured response headers (without the path secrets of ``request``):
        the headers the client gets, and none an earlier request wrote into
        the same response object."""
        if self.write_context:
            try:
                written = strategy.context_headers(span)
            except Exception as exc:
                written = {}  # still written: it removes what an earlier request left
                strategy.report('writing the span context into the response', exc,
                                'the response goes without it')
            try:
                write_context(response, written)
            except Exception as exc:
                strategy.report('writing the span context into the response', exc,
                                'the response goes without it')
        if self.server_timing:
            try:
                write_server_timing(response, strategy.traceparent(span))
            except Exception as exc:
                strategy.report('writing the Server-Timing header', exc,
                                'the response goes without it')
        captured = self.captured
        if captured is not None and captured.captures_response:
            try:
                policy = strategy.pyramid_tracer.policy
                secrets = (policy.path_secrets(request) if url_waits_for_route(request, policy)
                           else ())
                values = captured.response_values(response.headerlist, policy, secrets)
                if values:
                    strategy.record_headers(span, values)
            except Exception as exc:
                strategy.report('capturing response headers', exc, 'they are not recorded')

    def on_excluded(self, request):
        """For a request that is not traced: its response carries no context
        an earlier request wrote into the same response object."""
        if self.write_context or self.server_timing:
            request.add_response_callback(forget_context)


def build_span_headers(captured, write_context, server_timing=False):
    """A SpanHeaders, or None when there is nothing to do with headers."""
    if captured is None and not write_context and not server_timing:
        return None
    return SpanHeaders(captured, write_context, server_timing)
