"""Server spans through the OpenTracing API alone, for any OpenTracing tracer.

:class:`OpenTracingStrategy` serves MockTracer, basictracer, jaeger-client
and any other OpenTracing 2.x tracer; :class:`NoopStrategy` serves
opentracing's own no-op Tracer at no cost. ``otel.spans.OtelStrategy`` is
their OpenTelemetry counterpart. Each also answers what the headers,
outgoing calls, log records and the toolbar ask of a span.
"""
import opentracing
from opentracing.ext import tags

from .headers import without_baggage
from .lifecycle import ENVIRON_KEY, HTTP_HEADERS, RETRIED_TAG, ServerSpanStrategy
from .tags import error_fields, request_method
from .scrub import is_plain
from .urls import http_url, request_path, request_path_url

__all__ = ['NoopStrategy', 'OpenTracingStrategy']


class OpenTracingStrategy(ServerSpanStrategy):
    """Server spans through the OpenTracing API alone, for any tracer."""

    def start_active(self, request, parent, url_waits):
        """Start the server span of ``request`` and make it active, tagged
        with what is known before routing."""
        policy = self.pyramid_tracer.policy
        limit = policy.max_tag_length
        url = request_path_url(request)  # its host is a host name or address, never more
        if (policy.trace_query_string or len(url) > limit
                or not is_plain(request_path(request.environ))):
            url = http_url(request, policy)  # scrubbed, bounded: a plain URL needs neither
        method = request_method(request, limit)
        start_tags = {
            tags.COMPONENT: 'pyramid',
            tags.SPAN_KIND: tags.SPAN_KIND_RPC_SERVER,
            tags.HTTP_METHOD: method,
            tags.HTTP_URL: url,
        }
        if url_waits:
            del start_tags[tags.HTTP_URL]  # tagged by tag_route
        return self.tracer.start_active_span(
            self.start_name(method), child_of=parent, finish_on_close=False,
            ignore_active_span=True, tags=start_tags)

    def start_name(self, method):
        """The HTTP method."""
        return method

    def route_name(self, start_name, route):
        """The route's name."""
        return route.name

    def current_name(self, span):
        # MockTracer, basictracer and jaeger-client spans all keep it here
        return getattr(span, 'operation_name', None)

    def set_name(self, span, name):
        span.set_operation_name(name)

    def tag_route(self, span, request, route, secrets, url_waits):
        if route is not None:
            span.set_tag('pyramid.route', route.name)
        if url_waits:
            span.set_tag(tags.HTTP_URL, http_url(request, self.pyramid_tracer.policy, secrets))

    def set_attributes(self, span, attributes):
        """Tag ``span`` with ``attributes`` ({name: value})."""
        for key, value in attributes.items():
            span.set_tag(key, value)

    def mark_error(self, span, error):
        """Mark ``span`` (one of :mod:`~.internals`) as where ``error`` was raised."""
        span.set_tag(tags.ERROR, True)
        span.log_kv(error_fields(error, self.pyramid_tracer.policy, ()))

    def tag_outcome(self, span, request, status_code, error):
        if status_code is not None:
            span.set_tag(tags.HTTP_STATUS_CODE, status_code)
        if error is not None:
            policy = self.pyramid_tracer.policy
            span.set_tag(tags.ERROR, True)
            span.log_kv(error_fields(error, policy, policy.path_secrets(request)))
        elif status_code is not None and status_code >= 500:
            span.set_tag(tags.ERROR, True)

    def tag_retried(self, span, request, cause):
        """``pyramid.retried`` true and a ``retry`` log with the fields of an
        error log (``error.kind``, ``message``, ``stack``); no ``error`` tag
        and no status code."""
        policy = self.pyramid_tracer.policy
        span.set_tag(RETRIED_TAG, True)
        fields = error_fields(cause, policy, policy.path_secrets(request))
        fields['event'] = 'retry'
        span.log_kv(fields)

    # -- what other modules ask: headers, outgoing calls, log ids, toolbar ----

    #: The OpenTelemetry tracer behind the OpenTracing one, or None.
    otel_tracer = None

    def record_headers(self, span, values):
        """Record captured header ``values`` ({key: text}) on server ``span``: tags."""
        for key, value in values.items():
            span.set_tag(key, value)

    def context_headers(self, span):
        """{header: value} telling the client which span served it: the
        tracer's own ``inject`` format, without the headers of the span's
        baggage (for the services downstream, not for the client)."""
        carrier = {}
        self.tracer.inject(span.context, HTTP_HEADERS, carrier)
        return without_baggage(carrier, span.context.baggage)

    def start_client(self, parent, method, url, name=None):
        """A CLIENT span (not active), child of ``parent`` (a span or None),
        for a request with ``method`` to ``url`` (both already scrubbed),
        named ``name`` or after the method."""
        return self.tracer.start_span(name or method, child_of=parent, tags={
            tags.SPAN_KIND: tags.SPAN_KIND_RPC_CLIENT,
            tags.HTTP_METHOD: method,
            tags.HTTP_URL: url,
        })

    def finish_client(self, span, status_code, error, known=()):
        """Tag the outcome of CLIENT ``span`` (not finished): the status
        code (None if unknown), the exception (None if none, its texts
        without the ``known`` secrets of the URL); a 4xx is an error too."""
        if status_code is not None:
            span.set_tag(tags.HTTP_STATUS_CODE, status_code)
        if error is not None:
            span.set_tag(tags.ERROR, True)
            span.log_kv(error_fields(error, self.pyramid_tracer.policy, known))
        elif status_code is not None and status_code >= 400:
            span.set_tag(tags.ERROR, True)

    def ids(self, span):
        """(trace id, span id) of ``span`` as the backend shows them, or
        ('', ''): hex for integer ids, as jaeger-client, basictracer and
        MockTracer write them in headers; other ids as text."""
        context = span.context
        trace_id = getattr(context, 'trace_id', None)
        span_id = getattr(context, 'span_id', None)
        if trace_id is None or span_id is None:
            return '', ''
        if isinstance(trace_id, int) and isinstance(span_id, int):
            return '%x' % trace_id, '%x' % span_id
        return str(trace_id), str(span_id)

    def traceparent(self, span):
        """The W3C ``traceparent`` of ``span``, from the integer ids MockTracer,
        basictracer and jaeger-client give, with jaeger-client's sampled flag
        (``flags``) or basictracer's (``sampled``); None for other ids."""
        context = span.context
        trace_id = getattr(context, 'trace_id', None)
        span_id = getattr(context, 'span_id', None)
        if not (type(trace_id) is int and type(span_id) is int and trace_id > 0 and span_id > 0):
            return None
        flags = getattr(context, 'flags', None)
        sampled = flags & 1 if type(flags) is int else getattr(context, 'sampled', True)
        return '00-%032x-%016x-%02x' % (trace_id % (1 << 128), span_id % (1 << 64), bool(sampled))

    # -- end of what other modules ask ------------------------------------------


class NoopStrategy(OpenTracingStrategy):
    """For opentracing's own no-op Tracer (the default global tracer), which
    records nothing: calling it would be all of the cost of an application
    that traces nothing. Unless ``ot.start_span_cb`` wants to see spans, the
    tracer is not called and every request gets the same no-op span, so that
    views can still tag it through ``get_span()``."""

    def __init__(self, pyramid_tracer, tracer):
        super().__init__(pyramid_tracer, tracer)
        self.noop_span = opentracing.Span(tracer, opentracing.SpanContext())

    def serve(self, request, handler, attributes, response_of=None, status_if_unknown=500,
              routed=False):
        if self.pyramid_tracer.start_span_cb is not None:
            return super().serve(request, handler, attributes, response_of, status_if_unknown,
                                 routed)
        environ = request.environ
        environ[ENVIRON_KEY] = self.noop_span
        try:
            return handler(request)
        finally:
            environ.pop(ENVIRON_KEY, None)
