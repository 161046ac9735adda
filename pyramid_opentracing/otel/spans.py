"""Real OpenTelemetry SERVER and CLIENT spans behind the OpenTracing shim.

The shim's ``start_span`` cannot give a span a kind, so the bridge starts the
OpenTelemetry span itself, with the HTTP semantic-convention attributes, and
hands it back wrapped as a shim span: application code keeps seeing
OpenTracing spans and the backend sees proper SERVER and CLIENT spans.
"""
from urllib.parse import urlsplit

from opentelemetry import context as otel_context
from opentelemetry.shim.opentracing_shim import SpanShim
from opentelemetry.trace import (
    NonRecordingSpan, SpanKind, Status, StatusCode, get_current_span, set_span_in_context)

from ..lifecycle import RETRIED_TAG, ServerSpanStrategy
from ..scrub import is_plain
from ..tags import exception_texts, qualified_name, request_method
from ..urls import DEFAULT_PORTS, PLAIN_PATH, request_host, request_path, url_text
from . import shim
from .semconv import SCOPE_NAME, add_target, old_outcome_attributes, old_server_attributes
from .shim import ServerSpan, bridge_span, record_error

__all__ = ['OtelStrategy', 'client_attributes', 'parent_context', 'record_outcome',
           'server_attributes', 'start_client_span', 'tag_client_outcome']

#: The methods semantic conventions know; others are reported as _OTHER.
KNOWN_METHODS = frozenset({
    'CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE', 'QUERY'})


def method_attributes(method):
    if method in KNOWN_METHODS:
        return {'http.request.method': method}
    return {'http.request.method': '_OTHER', 'http.request.method_original': method}


def server_attributes(request, policy, method, url_waits=False):
    """The semantic-convention attributes of the server span of ``request``
    (whose HTTP method, bounded, is ``method``).

    Read from the environ: webob's ``request.path`` and ``request.scheme``
    would cost more than the rest together. Values from the client are
    bounded like every tag. With ``url_waits`` (an application with a
    secret route placeholder), ``url.path`` and ``url.query`` are left until
    routing is done, when the values to remove from them are known: a
    sampler and ``SpanProcessor.on_start`` see the attributes a span starts
    with.
    """
    environ = request.environ
    limit = policy.max_tag_length
    attributes = method_attributes(method)
    attributes['url.scheme'] = environ['wsgi.url_scheme']
    if not url_waits:  # else set by tag_route
        add_url_attributes(attributes, request, policy)
    named = request_host(environ)  # never user info, nor what is no host
    if named is not None:
        address, port = named
        attributes['server.address'] = address if len(address) <= limit else policy.text(address)
        if port:
            attributes['server.port'] = int(port)
    client = environ.get('REMOTE_ADDR')
    if client:
        attributes['client.address'] = client
    agent = environ.get('HTTP_USER_AGENT')
    if agent:
        attributes['user_agent.original'] = policy.text(agent)
    protocol = environ.get('SERVER_PROTOCOL', '')
    if protocol.startswith('HTTP/'):
        attributes['network.protocol.version'] = protocol[5:]
    return attributes


def add_url_attributes(attributes, request, policy, path_secrets=()):
    """Add the ``url.path`` and ``url.query`` (if traced) of ``request``,
    without its ``path_secrets``, to ``attributes``."""
    attributes['url.path'] = url_path(request, policy, path_secrets)
    if policy.trace_query_string:
        query = url_query(request, policy, path_secrets)
        if query is not None:
            attributes['url.query'] = query


def url_path(request, policy, path_secrets=()):
    """The ``url.path`` of ``request``: percent-encoded as the client sent
    it, scrubbed, bounded, and without the ``path_secrets`` segments."""
    environ = request.environ
    path = environ.get('SCRIPT_NAME', '') + environ.get('PATH_INFO', '')
    plain = PLAIN_PATH.fullmatch(path)
    if plain and len(path) <= policy.max_tag_length and not path_secrets and is_plain(path):
        return path  # nothing for the scrubber, nothing to bound
    if not plain:
        path = request_path(environ)  # percent-encoded, as the client sent it
    return url_text(path, policy, path_secrets)


def url_query(request, policy, path_secrets=()):
    """The ``url.query`` of ``request`` (whose query string is traced), or
    None for none: secret parameter values redacted, scrubbed, bounded, and
    without the ``path_secrets``."""
    query = request.environ.get('QUERY_STRING')
    return url_text(policy.redactor.query(query), policy, path_secrets) if query else None


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
    extracted = getattr(parent, 'extracted', None)  # by BridgeTracer.extract
    if extracted is not None:
        return extracted
    base = parent.baggage if isinstance(parent.baggage, otel_context.Context) else None
    return set_span_in_context(NonRecordingSpan(parent.unwrap()), base)


def context_and_baggage(parent):
    """(the OpenTelemetry context to start a server span in, the baggage
    it carries) for ``parent``: None, the caller's OpenTelemetry Context (as
    ``BridgeTracer.extract_context`` reads it) or an OpenTracing span or span
    context."""
    if parent is None:
        return _NO_PARENT, None
    if isinstance(parent, otel_context.Context):
        return parent, parent
    return parent_context(parent), (None if isinstance(parent, SpanShim) else parent.baggage)


def is_outer_server_span(span):
    """Whether ``span``, current as a request starts, is the SERVER span
    another instrumentation (OpenTelemetry's WSGI middleware) started for
    it: a span of ours left active would not be one."""
    scope = getattr(span, 'instrumentation_scope', None)
    return (getattr(span, 'kind', None) is SpanKind.SERVER and scope is not None
            and scope.name != SCOPE_NAME and span.is_recording())


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

    When an OpenTelemetry span is current already (an outer WSGI
    instrumentation made the SERVER span), the span is an INTERNAL child of
    it, as OpenTelemetry's own instrumentations do, and the caller's headers
    are left to that span.
    """

    #: The server span's scope closes what the application left above it.
    checks_leaked_scopes = not shim.ACTIVATE_PRIVATELY

    def __init__(self, pyramid_tracer, tracer):
        super().__init__(pyramid_tracer, tracer)
        self.otel_tracer = tracer.unwrap()
        self.old_http_attributes = getattr(tracer, 'old_http_attributes', False)
        if getattr(tracer, 'policy_source', False) is None:  # a BridgeTracer's first
            tracer.policy_source = pyramid_tracer
        # a BridgeTracer reads the caller's Context without an OpenTracing
        # span context around it (the stock shim's extract gives one)
        self.extract_parent = getattr(tracer, 'extract_context', tracer.extract)

    def start_active(self, request, parent, url_waits):
        """Start the SERVER span of ``request`` and make it the active span."""
        policy = self.pyramid_tracer.policy
        method = request_method(request, policy.max_tag_length)
        attributes = server_attributes(request, policy, method, url_waits)
        if self.old_http_attributes:
            attributes.update(old_server_attributes(attributes))
        kind = SpanKind.SERVER
        context, baggage = context_and_baggage(parent)
        current = otel_context.get_current()
        if current and is_outer_server_span(get_current_span(current)):
            # the caller's span and baggage are in the outer span's context
            kind, context, baggage = SpanKind.INTERNAL, None, current  # None: the current context
        name = self.start_name(method)
        otel_span = self.otel_tracer.start_span(name, context=context, kind=kind,
                                                attributes=attributes)
        span = ServerSpan(self.tracer, otel_span, baggage)
        span.start_name = name
        return shim.activate(self.scope_manager, span, current)

    def start_name(self, method):
        """The method, or ``HTTP`` for one semantic conventions do not know."""
        return method if method in KNOWN_METHODS else 'HTTP'

    def unchanged_name(self, span, request):
        # a sampled-out span has no name, and nothing to rename
        name = getattr(span.otel_span, 'name', None)
        return name if name == span.start_name else None

    def route_name(self, start_name, route):
        """``{method} {route pattern}``."""
        return '%s %s' % (start_name, route.pattern)

    def current_name(self, span):
        return getattr(span.otel_span, 'name', None)  # a sampled-out span has none

    def set_name(self, span, name):
        span.otel_span.update_name(name)

    def set_attributes(self, span, attributes):
        span.unwrap().set_attributes(attributes)

    def mark_error(self, span, error):
        """The exception event, ``error.type`` and the ERROR status."""
        record_outcome(span.unwrap(), None, error_type(None, error), error,
                       self.pyramid_tracer.policy)

    def tag_names(self, span):
        # a span that is not recording has none
        return getattr(span.otel_span, 'attributes', None) or ()

    def end_span(self, span):
        span.otel_span.end()  # a ServerSpan's finish() is the application's, ignored

    def tag_route(self, span, request, route, secrets, url_waits):
        """Set the route and, with ``url_waits``, the URL attributes."""
        attributes = {}
        if route is not None:
            attributes = {'http.route': route.pattern, 'pyramid.route': route.name}
        if url_waits:
            add_url_attributes(attributes, request, self.pyramid_tracer.policy, secrets)
            if self.old_http_attributes:
                add_target(attributes, attributes)
        if attributes:
            span.otel_span.set_attributes(attributes)

    def tag_outcome(self, span, request, status_code, error):
        """Set the status, error type and status; record the exception."""
        policy = self.pyramid_tracer.policy
        attributes = None
        if self.old_http_attributes:
            attributes = old_outcome_attributes(status_code, {})
        secrets = policy.path_secrets(request) if error is not None else ()
        record_outcome(span.otel_span, status_code, error_type(status_code, error), error,
                       policy, attributes, secrets)

    def tag_retried(self, span, request, cause):
        """``pyramid.retried`` true and a ``pyramid.retry`` event with the
        ``error.type`` and the scrubbed ``exception.*`` texts of ``cause``;
        the status stays unset, with no ``error.type`` attribute and no
        status code: the metrics do not count the attempt."""
        policy = self.pyramid_tracer.policy
        message, stack = exception_texts(cause, policy, policy.path_secrets(request))
        kind = qualified_name(type(cause))
        otel_span = span.otel_span
        otel_span.set_attribute(RETRIED_TAG, True)
        otel_span.add_event('pyramid.retry', {
            'error.type': kind, 'exception.type': kind,
            'exception.message': message, 'exception.stacktrace': stack})

    # -- what other modules ask: headers, outgoing calls, log ids, toolbar ----

    def record_headers(self, span, values):
        """String-array attributes, as semantic conventions say, and only on
        a SERVER span: when ours is INTERNAL (another instrumentation made
        the SERVER span) the headers belong to that span."""
        otel_span = span.unwrap()
        if getattr(otel_span, 'kind', SpanKind.SERVER) is SpanKind.SERVER:
            otel_span.set_attributes({key: [value] for key, value in values.items()})

    def context_headers(self, span):
        """W3C ``traceresponse``: the :meth:`traceparent` of the span."""
        value = self.traceparent(span)
        return {} if value is None else {'traceresponse': value}

    def traceparent(self, span):
        """The W3C ``traceparent`` of the span that answers the caller: ours,
        or when ours is INTERNAL, the SERVER span it is the child of (whose
        parent is the caller's context, as OpenTelemetry's WSGI middleware
        makes it); None for an invalid span."""
        from ..headers import traceresponse
        otel_span = span.unwrap()
        context = otel_span.get_span_context()
        if getattr(otel_span, 'kind', None) is SpanKind.INTERNAL:
            parent = getattr(otel_span, 'parent', None)
            if parent is not None and parent.is_valid:
                context = parent
        return traceresponse(context)

    def start_client(self, parent, method, url, name=None):
        """A real OpenTelemetry CLIENT span, wrapped as a shim span."""
        return start_client_span(self.tracer, parent, method, url, client_attributes(url), name)

    def finish_client(self, span, status_code, error, known=()):
        tag_client_outcome(span, status_code, error, self.pyramid_tracer.policy, known)

    def ids(self, span):
        """32 and 16 hex digits, as W3C writes them."""
        context = span.unwrap().get_span_context()
        if not context.is_valid:
            return '', ''
        return '%032x' % context.trace_id, '%016x' % context.span_id

    # -- end of what other modules ask ------------------------------------------



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
    if port is None and parts.scheme in DEFAULT_PORTS:
        port = int(DEFAULT_PORTS[parts.scheme])
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
    return bridge_span(tracer, otel_span, baggage)


def tag_client_outcome(span, status_code, error, policy, known=()):
    """Tag a CLIENT span's outcome; ``known`` are the secrets of its URL,
    which a client's error message may quote."""
    kind = error_type(status_code, error)
    if kind is None and status_code is not None and status_code >= 400:
        kind = str(status_code)  # a client span's 4xx is an error too
    record_outcome(span.unwrap(), status_code, kind, error, policy, None, known)


def record_outcome(otel_span, status_code, kind, error, policy, attributes=None, known=()):
    """Set the status code and, for an error of type ``kind``, the
    ``error.type``, the ERROR status and the exception event; and the other
    ``attributes``, all in one call. ``known`` are secrets to remove from
    the exception's texts."""
    attributes = {} if attributes is None else attributes
    if status_code is not None:
        attributes['http.response.status_code'] = status_code
    if kind is not None:
        attributes['error.type'] = kind
    otel_span.set_attributes(attributes)
    if error is None:
        if kind is not None:
            otel_span.set_status(Status(StatusCode.ERROR))
        return
    record_error(otel_span, error, policy, known)
