"""Real OpenTelemetry SERVER and CLIENT spans behind the OpenTracing shim.

The shim's ``start_span`` cannot give a span a kind, so the bridge starts the
OpenTelemetry span itself, with the HTTP semantic-convention attributes, and
hands it back wrapped as a shim span: application code keeps seeing
OpenTracing spans and the backend sees proper SERVER and CLIENT spans.
"""
import re
from urllib.parse import urlsplit

from opentelemetry import context as otel_context
from opentelemetry.shim.opentracing_shim import SpanShim
from opentelemetry.trace import NonRecordingSpan, SpanKind, Status, StatusCode, set_span_in_context

from ..request_span import ServerSpanStrategy, request_method
from ..request_tags import bound, qualified_name
from . import shim_internals

#: A path with only the characters webob leaves as they are when it
#: percent-encodes ``request.path``: it can be used without encoding it.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9/._~!$&'()*+,;=:@-]*")

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
    """The semantic-convention attributes of the server span of ``request``.

    Read from the environ: webob's ``request.path`` and ``request.scheme``
    would cost more than the rest together. Values from the client are
    bounded like every tag.
    """
    environ = request.environ
    limit = policy.max_tag_length
    attributes = method_attributes(request_method(request, limit))
    attributes['url.scheme'] = environ['wsgi.url_scheme']
    path = environ.get('SCRIPT_NAME', '') + environ.get('PATH_INFO', '')
    if not _PLAIN_PATH.fullmatch(path):
        path = request.path  # percent-encoded, as the client sent it
    attributes['url.path'] = path if len(path) <= limit else bound(path, limit)
    if policy.trace_query_string:
        query = environ.get('QUERY_STRING')
        if query:
            attributes['url.query'] = bound(policy.redactor.query(query), limit)
    host = environ.get('HTTP_HOST')
    if host:
        address, port = host_and_port(host)
    else:
        address, port = environ.get('SERVER_NAME'), environ.get('SERVER_PORT')
    if address:
        attributes['server.address'] = address if len(address) <= limit else bound(address, limit)
    if port:
        attributes['server.port'] = int(port)
    client = environ.get('REMOTE_ADDR')
    if client:
        attributes['client.address'] = client
    agent = environ.get('HTTP_USER_AGENT')
    if agent:
        attributes['user_agent.original'] = agent if len(agent) <= limit else bound(agent, limit)
    protocol = environ.get('SERVER_PROTOCOL', '')
    if protocol.startswith('HTTP/'):
        attributes['network.protocol.version'] = protocol[5:]
    return attributes


def wrap(tracer, otel_span, baggage=None):
    """``otel_span`` as a shim span of ``tracer``, keeping the caller's baggage."""
    return SpanShim(tracer, shim_internals.span_context(otel_span.get_span_context(), baggage),
                    otel_span)


#: The context of a span without a parent: a new trace, whatever is active.
_NO_PARENT = otel_context.Context()


def parent_context(parent):
    """The OpenTelemetry context to start a child of OpenTracing ``parent`` in.

    None (no parent) starts a new trace: never a child of whatever span
    happens to be active on the thread.
    """
    if parent is None:
        return _NO_PARENT
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


class OtelStrategy(ServerSpanStrategy):
    """Server spans as OpenTelemetry SERVER spans, for the shim.

    Named ``{method} {route pattern}`` after routing, as the semantic
    conventions say, with ``HTTP`` for methods they do not know.
    """

    def __init__(self, pyramid_tracer, tracer):
        super().__init__(pyramid_tracer, tracer)
        self.otel_tracer = tracer.unwrap()

    def start_active(self, request, parent):
        """Start the SERVER span of ``request`` and make it the active span."""
        policy = self.pyramid_tracer.policy
        otel_span = self.otel_tracer.start_span(
            self.start_name(request), context=parent_context(parent), kind=SpanKind.SERVER,
            attributes=server_attributes(request, policy))
        baggage = None if parent is None or isinstance(parent, SpanShim) else parent.baggage
        return shim_internals.activate(self.tracer.scope_manager,
                                       wrap(self.tracer, otel_span, baggage))

    def name_for(self, method, route):
        if method not in KNOWN_METHODS:
            method = 'HTTP'
        return method if route is None else '%s %s' % (method, route.pattern)

    def current_name(self, span):
        return getattr(span.unwrap(), 'name', None)  # a sampled-out span has none

    def set_name(self, span, name):
        span.unwrap().update_name(name)

    def tag_outcome(self, span, request, status_code, error):
        """Set the route, status, error type and status; record the exception."""
        route = getattr(request, 'matched_route', None)
        attributes = None if route is None else {
            'http.route': route.pattern, 'pyramid.route': route.name}
        record_outcome(span.unwrap(), status_code, error_type(status_code, error), error, attributes)


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


def record_outcome(otel_span, status_code, kind, error, attributes=None):
    """Set the status code and, for an error of type ``kind``, the
    ``error.type``, the ERROR status and the exception event; and the other
    ``attributes``, all in one call."""
    attributes = {} if attributes is None else attributes
    if status_code is not None:
        attributes['http.response.status_code'] = status_code
    if kind is not None:
        attributes['error.type'] = kind
    otel_span.set_attributes(attributes)
    if kind is not None:
        description = None if error is None else '%s: %s' % (type(error).__name__, error)
        otel_span.set_status(Status(StatusCode.ERROR, description))
    if error is not None:
        otel_span.record_exception(error, escaped=True)
