"""Which requests are traced: excluded paths, URLs and routes, and ``ot.should_trace``.

A :class:`RequestSelection` is built once, from the parsed settings, and
asked about each request before its span starts: an excluded request makes
no span and no call to the tracer, whichever tracer it is.
"""
import re

from pyramid.exceptions import ConfigurationError
from pyramid.interfaces import IRoutesMapper

from .request_tags import DEFAULT_PORTS, request_path

__all__ = ['RequestSelection', 'matcher', 'is_excluded', 'marked_excluded',
           'resolve_excluded_routes', 'MAX_SELECTED_PATH']

#: Paths longer than this are traced whatever the patterns say: no request
#: spends more than a few milliseconds being chosen, whatever its length.
MAX_SELECTED_PATH = 2048

#: Set in the environ of a request found excluded, so that a traced view
#: (``@trace``) under the tween does not ask again.
EXCLUDED_KEY = 'pyramid_opentracing.excluded'


def any_of(patterns, flags=0):
    """One compiled regular expression matching where any of ``patterns``
    (without groups or global flags of their own: see :func:`matcher`) does."""
    return re.compile('|'.join('(?:%s)' % pattern for pattern in patterns), flags)


def matcher(patterns, how='search', flags=0):
    """A function of a text, true when any of ``patterns`` matches it as
    ``re.compile(pattern, flags).<how>(text)`` of each alone would.

    Patterns are joined into one expression (:func:`any_of`): one pass over
    the text. A pattern with groups or with global flags of its own
    (``(?i)^/health``) is tried apart: joined, its group names could clash
    with another's, its back-references (``\\1``) would count the groups of
    the patterns before it, and its flags would no longer be at the start.
    """
    alone_flags = re.compile('', flags).flags
    compiled = [re.compile(pattern, flags) for pattern in patterns]
    joinable = [not each.groups and each.flags == alone_flags for each in compiled]
    plain = [pattern for pattern, join in zip(patterns, joinable) if join]
    finders = [getattr(any_of(plain, flags), how)] if plain else []
    finders += [getattr(each, how) for each, join in zip(compiled, joinable) if not join]
    if len(finders) == 1:
        return finders[0]
    return lambda text: any(find(text) for find in finders)


class RequestSelection:
    """Decides whether a request is traced.

    A request is excluded when a pattern of ``excluded_paths`` is found in
    its path (``PATH_INFO``, the path routes match; ``re.search``, so anchor
    with ``^`` and ``$`` for a whole path), when a pattern of
    ``excluded_urls`` (OpenTelemetry's ``OTEL_PYTHON_EXCLUDED_URLS``) is
    found in the server's own URL of the request, when Pyramid will route it
    to one of ``excluded_routes`` (route names), or when
    ``should_trace(request)`` returns a false value.

    The client never chooses to be untraced. The URL matched is
    ``scheme://name[:port]/path`` from ``wsgi.url_scheme``, ``SERVER_NAME``
    and ``SERVER_PORT`` (the name the WSGI server was configured with, its
    port left out when it is the scheme's default) and the percent-encoded
    path: unlike OpenTelemetry, which searches ``request.url``, neither the
    client's ``Host`` header nor the query string is part of it, so neither
    ``?x=health`` nor ``Host: health`` hides a request. (A server that copies
    ``Host`` into ``SERVER_NAME``, as gunicorn does on a unix socket, lets
    the client choose that part: anchor such patterns to the path there.)
    A path longer than :data:`MAX_SELECTED_PATH` characters is always traced:
    searching it could take seconds with a pattern such as ``client/.*/info``,
    and a client must not hide a request by making it long.

    Choosing never breaks a request: an exception while matching (a
    ``PATH_INFO`` that is not text) or in ``should_trace`` is reported once
    (``failures``) and the request is traced: a broken filter must not hide
    traffic.
    """

    #: Called with each request found excluded, if set (the response headers
    #: use it to remove context an earlier request left in a shared response).
    on_excluded = None

    def __init__(self, failures, excluded_paths=(), excluded_urls=(), excluded_routes=(),
                 should_trace=None):
        self.failures = failures
        self._path_search = matcher(excluded_paths) if excluded_paths else None
        self._url_search = matcher(excluded_urls) if excluded_urls else None
        self.excluded_routes = frozenset(excluded_routes)
        #: {id(registry): (registry, the routes to try, in the order Pyramid
        #: tries them, up to the last excluded one)}, set by
        #: :meth:`resolve_routes` for each application (a PyramidTracer may
        #: serve two with the same settings and other routes). A registry is
        #: unhashable; kept here, its id stays its own.
        self._routes = {}
        self.should_trace = should_trace

    def resolve_routes(self, registry):
        """Check that every excluded route exists, once all routes are added,
        and keep the routes Pyramid tries before reaching the last of them."""
        if not self.excluded_routes:
            return
        mapper = registry.queryUtility(IRoutesMapper)
        routes = list(mapper.get_routes()) if mapper is not None else []
        names = [route.name for route in routes]
        unknown = sorted(self.excluded_routes.difference(names))
        if unknown:
            raise ConfigurationError('ot.excluded_routes = %r: no route is named %s' % (
                ' '.join(sorted(self.excluded_routes)), ', '.join(unknown)))
        last = max(names.index(name) for name in self.excluded_routes)
        self._routes[id(registry)] = (registry, tuple(routes[:last + 1]))

    def traces(self, request):
        """Whether ``request`` is traced; marks it in the environ if not."""
        environ = request.environ
        try:
            excluded = (
                (self._path_search is not None and self._path_excluded(environ))
                or (self._url_search is not None and self._url_excluded(environ))
                or (self._routes and self._routes_to_excluded(request)))
        except Exception as exc:
            self.failures.report('choosing whether the request is traced', exc,
                                 'the request is traced')
            excluded = False
        if excluded or (self.should_trace is not None and not self._asked(request)):
            environ[EXCLUDED_KEY] = True
            if self.on_excluded is not None:
                try:
                    self.on_excluded(request)
                except Exception as exc:
                    self.failures.report('leaving an untraced request', exc,
                                         'its response may keep an earlier context')
            return False
        return True

    def _path_excluded(self, environ):
        path = environ.get('PATH_INFO', '')
        return len(path) <= MAX_SELECTED_PATH and self._path_search(routed_path(environ))

    def _url_excluded(self, environ):
        if len(environ.get('PATH_INFO', '')) > MAX_SELECTED_PATH:
            return False
        return self._url_search(server_url(environ))

    def _routes_to_excluded(self, request):
        """Whether Pyramid's routes mapper will pick an excluded route: the
        first route whose pattern and predicates match, as the router does."""
        try:
            path = request.path_info or '/'
            _, routes = self._routes.get(id(getattr(request, 'registry', None)), (None, ()))
            for route in routes:
                match = route.match(path)
                if match is not None:
                    predicates = route.predicates
                    info = {'match': match, 'route': route}
                    if predicates and not all(predicate(info, request) for predicate in predicates):
                        continue
                    return route.name in self.excluded_routes
        except Exception as exc:
            self.failures.report('matching ot.excluded_routes', exc, 'the request is traced')
        return False

    def _asked(self, request):
        try:
            return bool(self.should_trace(request))  # its truth value may fail too
        except Exception as exc:
            self.failures.report('the ot.should_trace callback', exc, 'the request is traced')
            return True


def routed_path(environ):
    """The path routes match (``PATH_INFO`` decoded as UTF-8, as Pyramid
    decodes it; undecodable bytes replaced), cheaply for the ASCII paths
    of most requests."""
    path = environ.get('PATH_INFO', '')
    if path.isascii():
        return path
    return path.encode('latin-1', 'replace').decode('utf-8', 'replace')


def server_url(environ):
    """``scheme://name[:port]`` + path of the request, as the server names
    itself (``SERVER_NAME``, ``SERVER_PORT``), never the client's ``Host``;
    the path percent-encoded as the client sent it, without the query."""
    scheme = environ['wsgi.url_scheme']
    name = environ.get('SERVER_NAME', '')
    if ':' in name and not name.startswith('['):
        name = '[%s]' % name  # an IPv6 address
    port = environ.get('SERVER_PORT')
    if port and port != DEFAULT_PORTS.get(scheme):
        name = '%s:%s' % (name, port)
    return '%s://%s%s' % (scheme, name, request_path(environ))


def marked_excluded(environ):
    """Whether the request of ``environ`` was found not to be traced already."""
    return EXCLUDED_KEY in environ


def is_excluded(owner, request):
    """Whether ``owner`` (a PyramidTracer) leaves ``request`` untraced."""
    if marked_excluded(request.environ):
        return True
    selection = owner.selection
    return selection is not None and not selection.traces(request)


def resolve_excluded_routes(registry):
    """Check ``ot.excluded_routes`` against the routes of ``registry``: run
    once every route is added."""
    selection = getattr(registry.settings.get('ot.tracer'), 'selection', None)
    if selection is not None:
        selection.resolve_routes(registry)
