"""The values filling the secret placeholders of a request's route.

A route placeholder with a secret name (``/reset/{token}``) makes its value
a secret of the request: removed from every text derived from the URL (the
path, the query, headers quoting it, exception messages).
"""
import re
from urllib.parse import unquote

from ._pyramid import routes_of
from .scrub import REDACTED

__all__ = ['SECRETS_KEY', 'path_redacted', 'path_secrets', 'secret_placeholders', 'url_waits_for_route']

#: The placeholders of a route pattern: ``{name}``, ``{name:regex}``, ``*name``.
_PLACEHOLDERS = re.compile(r'\{(\w+)(?::[^}]*)?\}|\*(\w+)')

_ROUTE_CACHE_LIMIT = 1024

#: Where a request keeps its path secrets once they are known (see
#: :mod:`~.routing`).
SECRETS_KEY = 'pyramid_opentracing.route_values'


def secret_placeholders(policy, route):
    """The placeholders of ``route``'s pattern with a secret name
    (``/reset/{token}``): judged once per route."""
    names = policy._secret_placeholders.get(route)
    if names is None:
        names = tuple(
            first or second for first, second in _PLACEHOLDERS.findall(route.pattern or '')
            if policy.redactor.is_secret(first or second))
        if len(policy._secret_placeholders) < _ROUTE_CACHE_LIMIT:
            policy._secret_placeholders[route] = names
    return names


def path_secrets(request, policy):
    """The values filling the secret placeholders of ``request``'s route.
    A request that a secret route's predicate refused (a
    ``request_method``), that matched no route (a trailing slash
    differs), or that a later route served (a catch-all), may still
    carry its value: in an application with secret routes, those are the
    values of every secret route Pyramid tried whose pattern matches the
    path or a leading part of it (see :func:`tried_path_secrets`)."""
    known = request.environ.get(SECRETS_KEY)
    if known is not None:
        return known
    route = getattr(request, 'matched_route', None)
    if route is not None:
        names = secret_placeholders(policy, route)
        if names:
            return placeholder_values(names, getattr(request, 'matchdict', None) or {})
    if not url_waits_for_route(request, policy):
        return ()
    _, secret_routes, secret_routes_before = policy.secret_routes_judged
    if route is None:
        return tried_path_secrets(request, secret_routes, policy)
    tried = secret_routes_before.get(route)
    return tried_path_secrets(request, tried, policy) if tried else ()


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
        names = secret_placeholders(policy, route)
        # near misses only of a route with a literal start (/reset/{token}):
        # for /{token}, every path's first segment would be one
        for candidate in [path] + near if has_literal_start(route) else [path]:
            match = route.match(candidate)
            if match is not None:
                values.extend(placeholder_values(names, match))
    return tuple(dict.fromkeys(values))


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
    secret_routes = ()
    secret_routes_before = {}  # other route: the secret routes tried before it
    for route in routes_of(registry):
        if secret_placeholders(policy, route):
            secret_routes += (route,)
        elif secret_routes:
            secret_routes_before[route] = secret_routes
    policy.secret_routes_judged = (registry, secret_routes, secret_routes_before)
    return bool(secret_routes)


def path_redacted(path, secrets):
    """``path`` with each segment equal to one of ``secrets`` (as it is or
    percent-encoded) replaced."""
    segments = path.split('/')
    for index, segment in enumerate(segments):
        if segment in secrets or unquote(segment) in secrets:
            segments[index] = REDACTED
    return '/'.join(segments)
