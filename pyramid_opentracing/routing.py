"""What happens once routing is done: the span is named and gets what depends
on the route.

The span starts in the outermost tween, before routing, so that the tweens
and ``NewRequest`` subscribers before it nest under the span. Pyramid sends
``BeforeTraversal`` as soon as the route is matched (or none is):
:func:`on_before_traversal` then names the span (``ot.operation_name_func``,
else the strategy's name for the route), sets the route, and, in an
application with a secret route placeholder, the attributes that had to wait
for the values to remove from them (the URL, the captured request headers).
A request that never reaches routing (a tween or ``NewRequest`` subscriber
answered or failed) gets the same when its span finishes; a span started
after routing (``@trace``) gets it as it starts. Each request gets it once.

A name the application gave the span before routing (in
``ot.start_span_cb``) is kept; one the view gives it afterwards is the last
word.
"""
from ._pyramid import BeforeTraversal
from .route_secrets import SECRETS_KEY
from .scrub import bound

__all__ = ['ROUTING_KEY', 'on_before_traversal', 'route_known', 'subscribe']

#: Where a started span waits for routing: (strategy, span, whether its URL
#: waits for the route, see :func:`~.route_secrets.url_waits_for_route`).
ROUTING_KEY = 'pyramid_opentracing.routing'


def on_before_traversal(event):
    """The ``BeforeTraversal`` subscriber: the route of the request is known."""
    request = event.request
    waiting = request.environ.pop(ROUTING_KEY, None)
    if waiting is not None:
        strategy, span, url_waits = waiting
        route_known(strategy, span, request, url_waits)


def route_known(strategy, span, request, url_waits):
    """Name ``span`` (started by ``strategy``, a ServerSpanStrategy) and set
    what depends on the route of ``request``, which is known; with
    ``url_waits``, the URL and the captured request headers too, without the
    request's path secrets (kept in the environ for the rest of the request)."""
    pyramid_tracer = strategy.pyramid_tracer
    secrets = ()
    try:
        if url_waits:
            secrets = pyramid_tracer.policy.path_secrets(request)
            request.environ[SECRETS_KEY] = secrets
        name_span(strategy, span, request, secrets)
        strategy.tag_route(span, request, getattr(request, 'matched_route', None), secrets,
                           url_waits)
    except Exception as exc:
        strategy.report('tagging the server span', exc, 'its tags may be incomplete')
    if url_waits:
        headers = pyramid_tracer.span_headers
        if headers is not None:
            headers.on_routed(strategy, span, request, secrets)


def name_span(strategy, span, request, secrets):
    """Name ``span`` once routing is done: ``ot.operation_name_func``'s name
    (scrubbed of the request's path ``secrets``), else the strategy's name
    for the matched route, bounded like any tag. A span renamed since it
    started is left as the application named it; one of a request that
    matched no route keeps the name it started with."""
    start = strategy.unchanged_name(span, request)
    if start is None:
        return
    pyramid_tracer = strategy.pyramid_tracer
    policy = pyramid_tracer.policy
    name = None
    function = pyramid_tracer.operation_name_func
    if function is not None:
        try:
            name = function(request)
            name = policy.text(str(name), secrets) if name else None
        except Exception as exc:
            strategy.report('ot.operation_name_func', exc, 'the default span name is used')
            name = None
    if name is None:
        route = getattr(request, 'matched_route', None)
        if route is None:
            return
        name = strategy.route_name(start, route)
        if len(name) > policy.max_tag_length:
            name = bound(name, policy.max_tag_length)
    if name != start:
        strategy.set_name(span, name)


def _is_ours(handler):
    return handler is on_before_traversal or getattr(handler, '__wrapped__', None) is (
        on_before_traversal)


def subscribe(registry):
    """Subscribe :func:`on_before_traversal` to ``registry``'s
    ``BeforeTraversal`` unless it is already (by ``includeme``): for the
    tween registered without the include."""
    registered = getattr(registry, 'registeredHandlers', None)
    if BeforeTraversal is None or registered is None:
        return
    if not any(_is_ours(registration.handler) for registration in registered()):
        registry.registerHandler(on_before_traversal, (BeforeTraversal,))
