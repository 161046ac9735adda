"""Real OpenTelemetry SERVER and CLIENT spans behind the OpenTracing shim.

The shim's ``start_span`` cannot give a span a kind, so the bridge starts the
OpenTelemetry span itself, with the HTTP semantic-convention attributes, and
hands it back wrapped as a shim span: application code keeps seeing
OpenTracing spans and the backend sees proper SERVER and CLIENT spans.
"""
from urllib.parse import urlsplit

from opentelemetry import context as otel_context
from opentelemetry.shim.opentracing_shim import SpanContextShim, SpanShim
from opentelemetry.trace import NonRecordingSpan, SpanKind, Status, StatusCode, set_span_in_context

from ..request_tags import qualified_name

#: The methods semantic conventions know; others are reported as _OTHER.
KNOWN_METHODS = frozenset({
    'CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE', 'QUERY'})


def method_attributes(method):
    if method in KNOWN_METHODS:
        return {'http.request.method': method}
    return {'http.request.method': '_OTHER', 'http.request.method_original': method}


def host_and_port(host):
    """('example.com', 8080) from a Host header value (IPv6 literals too)."""
    name, sep, port = host.rpartition(':')
    if not sep or ']' in port:
        return host, None
    return name, int(port) if port.isdigit() else None


def server_attributes(request, policy):
    """The semantic-convention attributes of the server span of ``request``."""
    environ = request.environ
    attributes = method_attributes(request.method)
    attributes['url.scheme'] = request.scheme
    attributes['url.path'] = request.path
    if policy.trace_query_string:
        query = environ.get('QUERY_STRING')
        if query:
            attributes['url.query'] = policy.redactor.query(query)
    host = environ.get('HTTP_HOST')
    if host:
        address, port = host_and_port(host)
    else:
        address, port = environ.get('SERVER_NAME'), environ.get('SERVER_PORT')
    if address:
        attributes['server.address'] = address
    if port:
        attributes['server.port'] = int(port)
    client = environ.get('REMOTE_ADDR')
    if client:
        attributes['client.address'] = client
    agent = environ.get('HTTP_USER_AGENT')
    if agent:
        attributes['user_agent.original'] = agent
    protocol = environ.get('SERVER_PROTOCOL', '')
    if protocol.startswith('HTTP/'):
        attributes['network.protocol.version'] = protocol[5:]
    return attributes


def wrap(tracer, otel_span, baggage=None):
    """``otel_span`` as a shim span of ``tracer``, keeping the caller's baggage."""
    span_context = SpanContextShim(otel_span.get_span_context())
    if baggage is not None:
        span_context._baggage = baggage
    return SpanShim(tracer, span_context, otel_span)


def parent_context(parent):
    """The OpenTelemetry context to start a child of OpenTracing ``parent`` in.

    None (no parent) means the current context, as the shim does.
    """
    if parent is None:
        return None
    if isinstance(parent, SpanShim):
        return set_span_in_context(parent.unwrap())
    base = parent.baggage if isinstance(parent.baggage, otel_context.Context) else None
    return set_span_in_context(NonRecordingSpan(parent.unwrap()), base)


def error_type(status_code, error):
    """The ``error.type`` of an outcome: the exception's class, else the
    status code of an HTTP error response, else None."""
    if error is not None:
        return qualified_name(type(error))
    if status_code is not None and status_code >= 500:
        return str(status_code)
    return None


class OtelServerSpans:
    """Starts and finishes server spans as OpenTelemetry SERVER spans.

    Chosen once per tracer by PyramidTracer when the tracer is the
    OpenTelemetry shim.
    """

    def __init__(self, tracer):
        self.tracer = tracer
        self.otel_tracer = tracer.unwrap()

    def start_active(self, request, policy, name, parent):
        """Start the SERVER span of ``request`` and make it the active span."""
        tracer = self.tracer
        otel_span = self.otel_tracer.start_span(
            name, context=parent_context(parent), kind=SpanKind.SERVER,
            attributes=server_attributes(request, policy))
        scope = tracer.scope_manager.activate(wrap(tracer, otel_span), False)
        if parent is not None and not isinstance(parent, SpanShim):
            # the scope wraps the span anew: give the caller's baggage to that one
            scope.span.context._baggage = parent.baggage
        return scope

    def operation_name(self, owner, request):
        """``ot.operation_name_func``'s name, else ``{method} {route pattern}``."""
        if owner.operation_name_func is not None:
            return owner.operation_name(request)
        route = getattr(request, 'matched_route', None)
        method = request.method if request.method in KNOWN_METHODS else 'HTTP'
        return method if route is None else '%s %s' % (method, route.pattern)

    def tag_outcome(self, span, request, status_code, error, policy):
        """Set the route, status, error type and status; record the exception."""
        otel_span = span.unwrap()
        route = getattr(request, 'matched_route', None)
        if route is not None:
            otel_span.set_attribute('http.route', route.pattern)
            otel_span.set_attribute('pyramid.route', route.name)
        record_outcome(otel_span, status_code, error_type(status_code, error), error)


def client_attributes(url):
    """The semantic-convention attributes of a CLIENT span for ``url``
    (already stripped of credentials and secret query values)."""
    parts = urlsplit(url)
    attributes = {'url.full': url}
    if parts.hostname:
        attributes['server.address'] = parts.hostname
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = {'http': 80, 'https': 443}.get(parts.scheme)
    if port is not None:
        attributes['server.port'] = port
    return attributes


def start_client_span(tracer, parent, method, url, attributes, name=None):
    """A CLIENT span for an outgoing request, wrapped as a shim span (not active)."""
    name = name or (method if method in KNOWN_METHODS else 'HTTP')
    all_attributes = method_attributes(method)
    all_attributes.update(attributes)
    otel_span = tracer.unwrap().start_span(
        name, context=parent_context(parent), kind=SpanKind.CLIENT, attributes=all_attributes)
    baggage = getattr(parent.context if isinstance(parent, SpanShim) else parent, 'baggage', None)
    return wrap(tracer, otel_span, baggage)


def tag_client_outcome(span, status_code, error):
    kind = error_type(status_code, error)
    if kind is None and status_code is not None and status_code >= 400:
        kind = str(status_code)  # a client span's 4xx is an error too
    record_outcome(span.unwrap(), status_code, kind, error)


def record_outcome(otel_span, status_code, kind, error):
    """Set the status code and, for an error of type ``kind``, the
    ``error.type``, the ERROR status and the exception event."""
    if status_code is not None:
        otel_span.set_attribute('http.response.status_code', status_code)
    if kind is not None:
        otel_span.set_attribute('error.type', kind)
        description = None if error is None else '%s: %s' % (type(error).__name__, error)
        otel_span.set_status(Status(StatusCode.ERROR, description))
    if error is not None:
        otel_span.record_exception(error, escaped=True)
