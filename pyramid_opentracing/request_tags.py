"""Turn request data into span tag values: readable, bounded and scrubbed.

Every text goes through the policy's :class:`~.redaction.Redactor`, the one
scrubber, before it is bounded to ``max_tag_length``.
"""
import functools
import ipaddress
import re
from urllib.parse import quote, unquote

from opentracing.ext import tags
from pyramid.interfaces import IRoutesMapper

from .redaction import BODY_ATTRIBUTES, REDACTED, SECRET_ATTRIBUTES, Redactor
from .scrub import text_of

_SCALARS = (bool, int, float)

DEFAULT_MAX_TAG_LENGTH = 1024

#: The placeholders of a route pattern: ``{name}``, ``{name:regex}``, ``*name``.
_PLACEHOLDERS = re.compile(r'\{(\w+)(?::[^}]*)?\}|\*(\w+)')

_ROUTE_CACHE_LIMIT = 1024


class TagPolicy:
    """How request data becomes tags: redaction, query strings, sizes."""

    __slots__ = ('redactor', 'trace_query_string', 'max_tag_length', 'max_stack_length',
                 '_secret_placeholders', 'secret_routes_judged')

    def __init__(self, redacted_headers=(), redacted_query_params=(),
                 trace_query_string=False, max_tag_length=DEFAULT_MAX_TAG_LENGTH):
        if (not isinstance(max_tag_length, int) or isinstance(max_tag_length, bool)
                or max_tag_length < 16):
            raise ValueError('max_tag_length must be an integer of at least 16, not %r'
                             % (max_tag_length,))
        self.redactor = Redactor(redacted_headers, redacted_query_params)
        self.trace_query_string = trace_query_string
        self.max_tag_length = max_tag_length
        self.max_stack_length = max_tag_length * 8
        self._secret_placeholders = {}
        #: (the registry last judged, its routes with a secret placeholder,
        #: {each other route: those tried before it}): see
        #: :func:`url_waits_for_route`.
        self.secret_routes_judged = None

    @property
    def redacted_headers(self):
        return self.redactor.headers

    @property
    def redacted_query_params(self):
        return self.redactor.parameters

    def text(self, text, known=(), lines=False):
        """Free text as a name or tag value: scrubbed, printable (line
        feeds kept if ``lines``) and bounded."""
        return self.redactor.bounded(text, self.max_tag_length, known, lines)

    def secret_placeholders(self, route):
        """The placeholders of ``route``'s pattern with a secret name
        (``/reset/{token}``): judged once per route."""
        names = self._secret_placeholders.get(route)
        if names is None:
            names = tuple(
                first or second for first, second in _PLACEHOLDERS.findall(route.pattern or '')
                if self.redactor.is_secret(first or second))
            if len(self._secret_placeholders) < _ROUTE_CACHE_LIMIT:
                self._secret_placeholders[route] = names
        return names

    def path_secrets(self, request):
        """The values filling the secret placeholders of ``request``'s route.
        A request that a secret route's predicate refused (a
        ``request_method``), that matched no route (a trailing slash
        differs), or that a later route served (a catch-all), may still
        carry its value: in an application with secret routes, those are the
        values of every secret route Pyramid tried whose pattern matches the
        path or a leading part of it (see :func:`tried_path_secrets`)."""
        route = getattr(request, 'matched_route', None)
        if route is not None:
            names = self.secret_placeholders(route)
            if names:
                return placeholder_values(names, getattr(request, 'matchdict', None) or {})
        if not url_waits_for_route(request, self):
            return ()
        _, secret_routes, secret_routes_before = self.secret_routes_judged
        if route is None:
            return tried_path_secrets(request, secret_routes, self)
        tried = secret_routes_before.get(route)
        return tried_path_secrets(request, tried, self) if tried else ()


def placeholder_values(names, matchdict):
    """The non-empty texts filling placeholders ``names`` in ``matchdict``."""
    values = []
    for name in names:
        value = matchdict.get(name)
        if isinstance(value, str):
            values.append(value)
        elif isinstance(value, (tuple, list)):  # *traverse
            values.extend(item for item in value if isinstance(item, str))
    return tuple(value for value in values if value)


def has_literal_start(route):
    """Whether ``route``'s pattern starts with text, not a placeholder."""
    head = re.split(r'[{*:]', (route.pattern or '').lstrip('/'), maxsplit=1)[0]
    return bool(head.strip('/'))


#: At most this many leading parts of a path are tried by :func:`tried_path_secrets`.
MAX_TRIED_PREFIXES = 16


def tried_path_secrets(request, secret_routes, policy):
    """The values each of ``secret_routes`` would take from the path of
    ``request`` (which none of them matched): from the path itself, from it
    with a trailing slash added or removed (``append_slash`` redirects to
    it), and from each of its leading parts (``/reset/T`` of
    ``/reset/T/x``, which a catch-all route may serve). A route's ``match``
    ignores its predicates: a request refused by one carries the value all
    the same."""
    try:
        path = getattr(request, 'path_info', None) or '/'
    except (KeyError, UnicodeDecodeError):  # no path, or not UTF-8: no route's
        return ()
    toggled = path[:-1] if path.endswith('/') and len(path) > 1 else path + '/'
    parts = path.split('/')[:MAX_TRIED_PREFIXES + 1]
    near = [toggled] + ['/'.join(parts[:end]) for end in range(2, len(parts))]
    values = []
    for route in secret_routes:
        names = policy.secret_placeholders(route)
        # near misses only of a route with a literal start (/reset/{token}):
        # for /{token}, every path's first segment would be one
        for candidate in [path] + near if has_literal_start(route) else [path]:
            match = route.match(candidate)
            if match is not None:
                values.extend(placeholder_values(names, match))
    return tuple(dict.fromkeys(values))


_HOST_USERINFO_CUTS = re.compile('[:@]')


def host_secrets(request):
    """The user and password of user info in the request's ``Host``
    header, which webob's ``host_port`` and ``domain`` quote without a
    URL's shape (``PW@example.com``); none for a Host without ``@``."""
    host = request.environ.get('HTTP_HOST')
    if not host or '@' not in host:
        return ()
    return tuple(piece for piece in _HOST_USERINFO_CUTS.split(host.rpartition('@')[0]) if piece)


def url_waits_for_route(request, policy):
    """Whether ``http.url`` must wait until routing is done: when a route of
    the application has a secret placeholder, since the request may be for
    it, and some tracers (jaeger-client) report every value a tag was ever
    given. Judged once per application (the policy keeps the verdict)."""
    registry = getattr(request, 'registry', None)
    if registry is None:
        return False
    judged = policy.secret_routes_judged
    if judged is not None and judged[0] is registry:
        return bool(judged[1])
    mapper = registry.queryUtility(IRoutesMapper)
    secret_routes = ()
    secret_routes_before = {}  # other route: the secret routes tried before it
    for route in (() if mapper is None else mapper.get_routes()):
        if policy.secret_placeholders(route):
            secret_routes += (route,)
        elif secret_routes:
            secret_routes_before[route] = secret_routes
    policy.secret_routes_judged = (registry, secret_routes, secret_routes_before)
    return bool(secret_routes)


def merged_policy(own, settings):
    """One TagPolicy from a PyramidTracer's ``own`` and the ``settings``'
    arguments (only those set): redacted names add up; any other setting
    set on both to different values is refused, as ``ValueError(argument)``."""
    arguments = {
        'redacted_headers': own.redacted_headers, 'redacted_query_params': own.redacted_query_params,
        'trace_query_string': own.trace_query_string, 'max_tag_length': own.max_tag_length}
    defaults = TagPolicy()
    for argument, value in settings.items():
        if argument.startswith('redacted_'):
            arguments[argument] = tuple(arguments[argument]) + tuple(
                name for name in value if name not in arguments[argument])
        elif arguments[argument] in (value, getattr(defaults, argument)):
            arguments[argument] = value
        else:
            raise ValueError(argument)
    return TagPolicy(**arguments)


def path_redacted(path, secrets):
    """``path`` with each segment equal to one of ``secrets`` (as it is or
    percent-encoded) replaced."""
    segments = path.split('/')
    for index, segment in enumerate(segments):
        if segment in secrets or unquote(segment) in secrets:
            segments[index] = REDACTED
    return '/'.join(segments)


#: The characters webob leaves as they are when it percent-encodes a path.
PATH_SAFE = "/~!$&'()*+,;=:@"


#: A path of only the characters percent-encoding leaves as they are (the
#: unreserved ones and :data:`PATH_SAFE`): it is its own encoding.
PLAIN_PATH = re.compile(r"[A-Za-z0-9/._~!$&'()*+,;=:@-]*")


def request_path(environ):
    """The path of the request, percent-encoded as the client sent it: what
    webob's ``request.path`` gives, also for bytes that are not UTF-8 (which
    any client can send, and on which webob raises)."""
    path = environ.get('SCRIPT_NAME', '') + environ.get('PATH_INFO', '')
    if PLAIN_PATH.fullmatch(path):
        return path
    try:
        raw = path.encode('latin-1')  # WSGI's native strings carry the bytes so
    except UnicodeEncodeError:
        raw = path.encode('utf-8')  # a test harness's path
    return quote(raw, safe=PATH_SAFE)


#: A DNS name: labels of letters, digits, ``-`` and ``_`` (not starting nor
#: ending with ``-``, 63 characters at most) between single dots, with an
#: optional trailing dot. A name whose last label is all digits is an IPv4
#: address or nothing (see :func:`is_host`).
DNS_NAME = re.compile(r'(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*'
                      r'[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?')

#: An IPv6 literal in brackets, with an optional zone (``%25`` and the
#: zone's name, as RFC 6874 writes it in a URL).
IPV6_LITERAL = re.compile(r'\[(?P<address>[0-9A-Fa-f:.]{2,45})(?:%25(?P<zone>[A-Za-z0-9_.~-]{1,64}))?\]')

#: The longest host name DNS allows: a longer ``Host`` is no host.
MAX_HOST_LENGTH = 253


def is_host(name):
    """Whether ``name`` is a host: a DNS name, an IPv4 address or an IPv6
    literal in brackets. Never ``%`` but in an IPv6 zone, never a blank."""
    if len(name) > MAX_HOST_LENGTH + 1 or not name.isascii():
        return False
    if name.startswith('['):
        literal = IPV6_LITERAL.fullmatch(name)
        return literal is not None and _is_address(literal.group('address'), ipaddress.IPv6Address)
    if DNS_NAME.fullmatch(name) is None or len(name.rstrip('.')) > MAX_HOST_LENGTH:
        return False
    last_label = name.rstrip('.').rpartition('.')[2]
    return not last_label.isdigit() or _is_address(name.rstrip('.'), ipaddress.IPv4Address)


def _is_address(text, kind):
    try:
        kind(text)
    except ValueError:
        return False
    return True


def is_port(text):
    """Whether ``text`` is a TCP port number, 0 to 65535, written as a
    number is (``80``, never ``0080`` nor ``+80``)."""
    return (text.isascii() and text.isdigit() and len(text) <= 5 and int(text) <= 65535
            and (text == '0' or text[0] != '0'))


def split_host(host):
    """(name, port text or None) of a ``Host`` header value; IPv6 literals too."""
    name, sep, port = host.rpartition(':')
    if not sep or ']' in port:
        return host, None
    return name, port


#: The port a URL of each scheme leaves out.
DEFAULT_PORTS = {'http': '80', 'https': '443'}


@functools.lru_cache(maxsize=256)
def url_host(host):
    """(name, port text or None) of a ``Host`` header value, user info left
    out, for a URL; None when it is no host name or address with a port or
    none. Cached: a server sees few distinct Hosts (and the cache is bounded
    against a client sending many)."""
    name, port = split_host(host.rpartition('@')[2])
    if is_host(name) and (port is None or is_port(port)):
        return name, port
    return None


#: The host a URL names when neither the ``Host`` header nor ``SERVER_NAME``
#: is one (a name reserved never to be one).
UNKNOWN_HOST = 'unknown.invalid'


def request_host(environ):
    """(name, port text or None) the request was sent to: the ``Host``
    header's when it is a host (see :func:`url_host`), else ``SERVER_NAME``
    and ``SERVER_PORT``'s when they are one (some servers copy them from the
    client's ``Host`` too: gunicorn on a unix socket), else None."""
    host = environ.get('HTTP_HOST')
    named = url_host(host) if host else None
    if named is None:
        server = environ.get('SERVER_NAME') or ''
        port = environ.get('SERVER_PORT')
        named = url_host('%s:%s' % (server, port) if port else server) if server else None
    return named


def host_url(environ):
    """``scheme://host[:port]`` of the request, as webob's ``request.host_url``,
    but only from a host (see :func:`request_host`): a crafted ``Host`` does
    not make the URL."""
    scheme = environ['wsgi.url_scheme']
    named = request_host(environ)
    if named is None:
        return scheme + '://' + UNKNOWN_HOST
    name, port = named
    if port and port != DEFAULT_PORTS.get(scheme):
        return scheme + '://' + name + ':' + port
    return scheme + '://' + name


def request_path_url(request):
    """``request.path_url``, for any bytes in the path (see :func:`request_path`),
    and for a crafted ``Host`` (see :func:`host_url`)."""
    environ = request.environ
    if 'wsgi.url_scheme' not in environ:  # pyramid.testing.DummyRequest: its own host_url
        return request.host_url + request_path(environ)
    return host_url(environ) + request_path(environ)


def http_url(request, policy, path_secrets=()):
    """The request URL for the ``http.url`` tag.

    Without the query string unless ``policy.trace_query_string``; scrubbed
    (no user info, secret query values and path segments redacted); bounded.
    """
    url = request_path_url(request)
    if policy.trace_query_string:
        query = request.environ.get('QUERY_STRING')
        if query:
            url = url + '?' + policy.redactor.query(query)
    return url_text(url, policy, path_secrets)


def url_text(text, policy, path_secrets=()):
    """A URL of the request or a part of it (its path, its query, a header
    quoting it: ``Referer``, ``Location``) as a span may show it: scrubbed,
    bounded, and without the request's ``path_secrets`` (the values filling
    secret route placeholders, see :meth:`TagPolicy.path_secrets`), whether
    a whole segment or anywhere else (``?next=/reset/T``)."""
    if path_secrets:
        text = path_redacted(text, path_secrets)
    return policy.text(text, path_secrets)


def attribute_tag(name, value, policy, known=()):
    """The tag value for request attribute ``name``, or None for no tag.
    ``known`` are secret values to remove wherever they appear."""
    if value is None:
        return None
    if name in SECRET_ATTRIBUTES:
        return REDACTED
    if name == 'matched_route':
        return policy.text(str(value.name))  # its repr says only where it is in memory
    if isinstance(value, _SCALARS):
        return value
    if name in BODY_ATTRIBUTES:
        return '[body: %d bytes]' % len(value) if hasattr(value, '__len__') else '[body]'
    if isinstance(value, bytes):
        value = value.decode('latin-1')
    redactor = policy.redactor
    if isinstance(value, str):
        if name.lower() == 'query_string':
            value = redactor.query(value)
        return policy.text(value, known)
    if callable(value):
        return None  # a method: its repr shows the request, URL and all
    items = getattr(value, 'items', None)
    if callable(items):
        return policy.text(_render_mapping(items(), redactor, known), known, lines=True)
    return policy.text(text_of(value), known)


#: Environ keys holding the request target as the client sent it (waitress,
#: gunicorn): a path secret may be percent-encoded there in any way.
RAW_TARGETS = frozenset({'REQUEST_URI', 'RAW_URI'})


def _render_mapping(items, redactor, known=()):
    lines = []
    for key, item in items:
        key = str(key)
        if redactor.is_secret(key):
            item = REDACTED
        elif isinstance(item, str):
            if key.lower() == 'query_string':
                item = redactor.query(item)
            elif known and key in RAW_TARGETS:
                path, mark, query = item.partition('?')
                item = path_redacted(path, known) + mark + query
        elif not isinstance(item, _SCALARS):
            # objects in the environ (the request, parsed query and form
            # data) would show secrets in their repr
            item = '<%s>' % type(item).__name__
        lines.append('%s: %s' % (key, item))
    return '\n'.join(lines)


def qualified_name(kind):
    """``KeyError`` for a builtin exception class, ``module.Name`` for others."""
    if kind.__module__ == 'builtins':
        return kind.__qualname__
    return kind.__module__ + '.' + kind.__qualname__


def exception_texts(exc, policy, known=()):
    """(message, stack) of ``exc``, scrubbed and bounded. The stack is the
    traceback's text, without frame locals."""
    redactor = policy.redactor
    message = redactor.bounded(text_of(exc), policy.max_tag_length, known, lines=True)
    stack = redactor.stack(exc, policy.max_stack_length, known)
    return message, stack


def error_fields(exc, policy, known=()):
    """The OpenTracing log fields that describe exception ``exc``.

    Without ``error.object``: a tracer would record the exception object by
    its own ``str`` or ``repr``, the raw message, past the scrubber (and keep
    its traceback's frames alive until the span is sent). ``error.kind``,
    ``message`` and ``stack`` say the same, scrubbed.
    """
    message, stack = exception_texts(exc, policy, known)
    return {
        'event': tags.ERROR,
        'error.kind': qualified_name(type(exc)),
        'message': message,
        'stack': stack,
    }
