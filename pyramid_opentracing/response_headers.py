"""``ot.response_headers``: the server span's context, written into the response.

A client (a browser, a load tester) can then find the trace of its request.
With the OpenTelemetry bridge the header is W3C ``traceresponse``
(``00-{trace id}-{span id}-{flags}``), as OpenTelemetry's
``TraceResponsePropagator`` writes it; with any other tracer it is the
tracer's own ``inject`` format for HTTP headers (``uber-trace-id`` for
jaeger-client, ``ot-tracer-*`` for MockTracer and basictracer), without the
baggage headers the tracer may add: baggage is for the services downstream,
not for the client. Behind OpenTelemetry's WSGI middleware, whose SERVER
span answers the call, ``traceresponse`` names that span. The header names are added to
``Access-Control-Expose-Headers`` so that scripts in a browser can read them.
"""
import opentracing

EXPOSE_HEADERS = 'Access-Control-Expose-Headers'

#: Prefixes of the headers tracers write for baggage items.
BAGGAGE_PREFIXES = ('ot-baggage-', 'uberctx-', 'jaeger-baggage', 'baggage')


def traceresponse(otel_span_context):
    """The W3C ``traceresponse`` value of an OpenTelemetry span context, or None."""
    if not otel_span_context.is_valid:
        return None
    return '00-%032x-%016x-%02x' % (
        otel_span_context.trace_id, otel_span_context.span_id, otel_span_context.trace_flags)


def answering_span_context(otel_span):
    """The context of the span that answers the caller's call: the server
    span's own, or, when the server span is INTERNAL (another
    instrumentation, such as OpenTelemetry's WSGI middleware, made the
    SERVER span and ours is its child), that SERVER span's: the one whose
    parent is the caller's context."""
    from opentelemetry.trace import SpanKind  # loaded already: the tracer is its shim
    if getattr(otel_span, 'kind', None) is SpanKind.INTERNAL:
        parent = getattr(otel_span, 'parent', None)
        if parent is not None and parent.is_valid:
            return parent
    return otel_span.get_span_context()


def span_context_headers(tracer, span, is_otel):
    """{header: value} telling the client which span served it."""
    if is_otel:
        value = traceresponse(answering_span_context(span.unwrap()))
        return {} if value is None else {'traceresponse': value}
    carrier = {}
    tracer.inject(span.context, opentracing.Format.HTTP_HEADERS, carrier)
    return {str(name): str(value) for name, value in carrier.items()
            if not str(name).lower().startswith(BAGGAGE_PREFIXES)}


def write_span_context(tracer, span, response, is_otel):
    """Add the headers of :func:`span_context_headers` to ``response``."""
    written = span_context_headers(tracer, span, is_otel)
    if not written:
        return
    headers = response.headers
    for name, value in written.items():
        headers[name] = value
    known = ', '.join(headers.getall(EXPOSE_HEADERS))  # one or more header lines
    listed = {name.strip().lower() for name in known.split(',')} if known else set()
    missing = [name for name in written if name.lower() not in listed]
    if missing:  # a response object served again already lists them
        exposed = ', '.join(missing)
        headers[EXPOSE_HEADERS] = '%s, %s' % (known, exposed) if known else exposed
