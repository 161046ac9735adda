"""What a server span reads from the request headers and writes into the response.

:class:`SpanHeaders` joins header capture (``captured_headers``) and
``ot.response_headers`` (``response_headers``) behind the two calls the
request lifecycle makes: :meth:`~SpanHeaders.on_start` once the span has
started, :meth:`~SpanHeaders.on_response` when the response is known and the
span is still open. All are guarded: a failure is reported once and the
request is served as usual.

In an application with a secret route placeholder (``/reset/{token}``),
captured header values are recorded without the values filling it, which
are known once the request is routed: the request headers are recorded
then (:meth:`~SpanHeaders.on_routed`, as the span's outcome is tagged), not
as the span starts, since some tracers (jaeger-client) report every value a
tag was ever given and a sampler sees what a span starts with.
"""
from .route_secrets import url_waits_for_route
from .tracer import is_otel_shim
from .response_headers import write_span_context


def record(span, values, is_otel):
    """Put captured header ``values`` on ``span``: string-array attributes on
    an OpenTelemetry span, as semantic conventions say, and only on a SERVER
    one (when another server span is already current, ours is INTERNAL and
    the headers belong to that other span, as OpenTelemetry records them);
    tags on others."""
    if not values:
        return
    if is_otel:
        from opentelemetry.trace import SpanKind  # loaded already: the tracer is its shim
        otel_span = span.unwrap()
        if getattr(otel_span, 'kind', SpanKind.SERVER) is SpanKind.SERVER:
            otel_span.set_attributes({key: [value] for key, value in values.items()})
    else:
        for key, value in values.items():
            span.set_tag(key, value)


class SpanHeaders:
    """Header capture (a :class:`~.captured_headers.CapturedHeaders` or None)
    and, if ``write_context``, the span's context written into the response."""

    def __init__(self, captured=None, write_context=False):
        self.captured = captured
        self.write_context = write_context

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
            record(span, values, is_otel_shim(strategy.tracer))
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
            record(span, values, is_otel_shim(strategy.tracer))
        except Exception as exc:
            strategy.report('capturing request headers', exc, 'they are not recorded')

    def on_response(self, strategy, span, request, response):
        """Record the captured response headers (without the path secrets
        of ``request``) and write the span's context into ``response``."""
        is_otel = is_otel_shim(strategy.tracer)
        captured = self.captured
        if captured is not None and captured.captures_response:
            try:
                policy = strategy.pyramid_tracer.policy
                secrets = (policy.path_secrets(request) if url_waits_for_route(request, policy)
                           else ())
                values = captured.response_values(response.headerlist, policy, secrets)
                record(span, values, is_otel)
            except Exception as exc:
                strategy.report('capturing response headers', exc, 'they are not recorded')
        if self.write_context:
            try:
                write_span_context(strategy.tracer, span, response, is_otel)
            except Exception as exc:
                strategy.report('writing the span context into the response', exc,
                                'the response goes without it')


def build_span_headers(captured, write_context):
    """A SpanHeaders, or None when there is nothing to do with headers."""
    if captured is None and not write_context:
        return None
    return SpanHeaders(captured, write_context)
