"""The values of a request's path that may fill a secret route placeholder.

A route placeholder with a secret name (``/reset/{token}``) makes its value
a secret of the request: removed from every text derived from the URL (the
path, the query, headers quoting it, exception messages). A request that did
not end on a secret route may still carry a token for one; in an application
with secret routes its path is recorded only as far as no secret route Pyramid
tried for it could place a placeholder there.
"""
import re
from urllib.parse import quote, unquote

from ._pyramid import routes_of
from .scrub import REDACTED

__all__ = ['PATH_SAFE', 'SECRETS_KEY', 'path_redacted', 'path_secrets', 'secret_placeholders',
           'url_waits_for_route']

#: The placeholders of a route pattern: ``{name}``, ``{name:regex}``, ``*name``.
_PLACEHOLDERS = re.compile(r'\{(\w+)(?::[^}]*)?\}|\*(\w+)')

_ROUTE_CACHE_LIMIT = 1024

#: The characters webob leaves as they are when it percent-encodes a path.
PATH_SAFE = "/~!$&'()*+,;=:@"

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
    """The values of ``request``'s path that may fill a secret route
    placeholder: those filling the placeholders of its route if it is a
    secret one. A request that did not end on a secret route may still
    carry a token for one (a predicate refused it, a trailing slash
    differs, a later route served it): in an application with secret
    routes, its path counts as secret from where a secret route Pyramid
    tried could place a placeholder (see :func:`unrouted_secrets`)."""
    known = request.environ.get(SECRETS_KEY)
    if known is not None:
        return known
    route = getattr(request, 'matched_route', None)
    if route is not None:
        names = secret_placeholders(policy, route)
        if names:
            return placeholder_values(names, getattr(request, 'matchdict', None) or {})
    judged = _judged(request, policy)
    if judged is None or not judged[1]:
        return ()
    _, secret_routes, secret_routes_before = judged
    tried = secret_routes if route is None else secret_routes_before.get(route)
    if not tried:
        return ()
    try:
        path = getattr(request, 'path_info', None) or '/'
    except KeyError:  # no path at all
        return ()
    except UnicodeDecodeError:
        # no route matches a path that is not UTF-8, but it may still carry a
        # token: its segments as the environ holds them and percent-encoded,
        # as the span shows the path
        raw = request.environ.get('PATH_INFO') or '/'
        encoded = quote(raw.encode('latin-1', 'replace'), safe=PATH_SAFE)
        return (unrouted_secrets(raw, tried, policy)
                + unrouted_secrets(encoded, tried, policy))
    return unrouted_secrets(path, tried, policy)


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


def literal_head(route):
    """The segments of ``route``'s pattern before the first one that holds
    a placeholder: ``('reset',)`` for ``/reset/{token}``, ``()`` for
    ``/{token}``."""
    head = re.split(r'[{*:]', (route.pattern or '').lstrip('/'), maxsplit=1)[0]
    return tuple(head.split('/')[:-1])


def unrouted_secrets(path, secret_routes, policy):
    """The secret values of ``path`` (``PATH_INFO``), which none of
    ``secret_routes`` ((route, literal head) each) ended on: where the path
    starts with a route's literal head, everything after it (as a whole,
    and each segment), from the shortest such head. A route whose pattern
    starts with a placeholder has no head to compare: counting every path's
    first segment as secret would hide every path of the application, so
    such a route counts only for a path it matches (its predicates aside)."""
    segments = path.lstrip('/').split('/')
    cut = None
    values = []
    for route, head in secret_routes:
        if not head:
            match = route.match(path)
            if match is not None:
                values.extend(placeholder_values(secret_placeholders(policy, route), match))
        elif (cut is None or len(head) < cut) and len(segments) > len(head) and (
                tuple(segments[:len(head)]) == head):
            cut = len(head)
    if cut is not None:
        rest = segments[cut:]
        values.append('/'.join(rest))
        values.extend(rest)
    return tuple(dict.fromkeys(value for value in values if value))


def url_waits_for_route(request, policy):
    """Whether ``http.url`` must wait until routing is done: when a route of
    the application has a secret placeholder, since the request may be for
    it, and some tracers (jaeger-client) report every value a tag was ever
    given. Judged once per application (the policy keeps the verdict)."""
    judged = _judged(request, policy)
    return judged is not None and bool(judged[1])


def _judged(request, policy):
    """(registry, its secret routes with their literal heads, {each other
    route: the secret routes tried before it}) of ``request``'s application,
    None without a registry."""
    registry = getattr(request, 'registry', None)
    if registry is None:
        return None
    judged = policy.secret_routes_judged
    if judged is not None and judged[0] is registry:
        return judged
    secret_routes = ()
    secret_routes_before = {}  # other route: the secret routes tried before it
    for route in routes_of(registry):
        if secret_placeholders(policy, route):
            secret_routes += ((route, literal_head(route)),)
        elif secret_routes:
            secret_routes_before[route] = secret_routes
    judged = policy.secret_routes_judged = (registry, secret_routes, secret_routes_before)
    return judged


def path_redacted(path, secrets):
    """``path`` with each segment equal to one of ``secrets`` (as it is or
    percent-encoded) replaced."""
    segments = path.split('/')
    for index, segment in enumerate(segments):
        if segment in secrets or unquote(segment) in secrets:
            segments[index] = REDACTED
    return '/'.join(segments)
