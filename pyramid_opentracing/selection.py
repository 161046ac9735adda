"""Which requests are traced: excluded paths, URLs and routes, and ``ot.should_trace``.

A :class:`RequestSelection` is built once, from the parsed settings, and
asked about each request before its span starts: an excluded request makes
no span and no call to the tracer, whichever tracer it is.
"""
import re

from pyramid.exceptions import ConfigurationError
from pyramid.interfaces import IRoutesMapper

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
    ``excluded_urls`` is found in its full URL (as OpenTelemetry's
    ``OTEL_PYTHON_EXCLUDED_URLS`` is matched), when Pyramid will route it to
    one of ``excluded_routes`` (route names), or when ``should_trace(request)``
    returns a false value. An exception in ``should_trace`` is reported once
    (``failures``) and the request is traced: a broken filter must not hide
    traffic.
    """

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
        if ((self._path_search is not None and self._path_search(routed_path(environ)))
                or (self._url_search is not None and self._url_excluded(request))
                or (self._routes and self._routes_to_excluded(request))
                or (self.should_trace is not None and not self._asked(request))):
            environ[EXCLUDED_KEY] = True
            return False
        return True

    def _url_excluded(self, request):
        try:
            url = request.url  # fails for a path that is not UTF-8
        except Exception as exc:
            self.failures.report('matching the excluded URLs', exc, 'the request is traced')
            return False
        return self._url_search(url)

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
