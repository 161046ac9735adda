"""What happens once routing is done: the span is named and gets what depends
on the route.

The span starts in the outermost tween, before routing, so that the tweens
and ``NewRequest`` subscribers before it nest under the span. Once routing
and traversal are done, just before Pyramid calls the view, the view
deriver of :mod:`~.views` calls :func:`route_known`: it names the span
(``ot.operation_name_func``, else the strategy's name for the route), sets
the route and, in an application with a secret route placeholder, the
attributes that had to wait for the values to remove from them (the URL,
the captured request headers). No event subscriber does it: with none
registered, Pyramid makes no event objects at all, which would cost more
than the span. A request that no view serves (a tween or ``NewRequest``
subscriber answered or failed) gets the same when its span finishes; a span
started after routing (``@trace``) gets it as it starts. Each request gets
it once. The tween registered without the include has no view deriver: it
subscribes :func:`on_before_traversal` and :func:`on_context_found` instead.

A request served through traversal (no route matched, or the route's
pattern or ``traverse`` gave a traversal path) is named after what served
it, never after its path: at ``ContextFound`` (:func:`on_context_found`)
after its context's class, and when its view is called
(:func:`view_found`, from the view deriver of :mod:`~.views`) after the
context's class and the name the view was registered with: ``Item/edit``
for OpenTracing tracers, ``GET Item/edit`` for OpenTelemetry, as a route's
name and ``GET {pattern}`` are. Both are bounded by the application's
classes and views: a client's path chooses among them and adds none. An
application without a resource tree (Pyramid's ``DefaultRootFactory``)
serves nothing through traversal.

A name the application gave the span before routing (in
``ot.start_span_cb`` or ``ot.operation_name_func``) is kept; one the view
gives it afterwards is the last word.
"""
from pyramid.traversal import DefaultRootFactory

from ._pyramid import BeforeTraversal, ContextFound
from .route_secrets import SECRETS_KEY
from .scrub import bound
from .tags import qualified_name, request_method

__all__ = ['NAMED_BY_VIEWS', 'ROUTING_KEY', 'VIEW_KEY', 'context_found', 'on_before_traversal',
           'on_context_found', 'route_known', 'subscribe', 'view_found']

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


#: Where a routed request's span waits for its context and its view:
#: [strategy, span, whether traversal serves it, the name the span was
#: given last (None where the application named it)].
VIEW_KEY = 'pyramid_opentracing.view'


def route_known(strategy, span, request, url_waits, view=None):
    """Name ``span`` (started by ``strategy``, a ServerSpanStrategy) and set
    what depends on the route of ``request``, which is known; with
    ``url_waits``, the URL and the captured request headers too, without the
    request's path secrets (kept in the environ for the rest of the request).
    ``view`` is (context type, view name, function name) of the view about to
    serve the request, False for a request ending without a view, None where
    neither is known yet."""
    pyramid_tracer = strategy.pyramid_tracer
    secrets = ()
    try:
        if url_waits:
            secrets = pyramid_tracer.policy.path_secrets(request)
            request.environ[SECRETS_KEY] = secrets
        given = name_span(strategy, span, request, secrets)
        route = getattr(request, 'matched_route', None)
        strategy.tag_route(span, request, route, secrets, url_waits)
        traversal = route is None or 'traverse' in (getattr(request, 'matchdict', None) or ())
        waiting = [strategy, span, traversal, given]
        if view:
            view_found(waiting, request, *view)
        elif getattr(request, 'view_name', None) is None:  # before traversal
            request.environ[VIEW_KEY] = waiting
        elif traversal and getattr(request, 'context', None) is not None:
            if view is None:  # a span started in the view (@trace): the view is found
                view_found(waiting, request, type(request.context), request.view_name, None)
            else:  # no view served it: named after its context alone
                context_found(waiting, request)
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
    matched no route keeps the name it started with. Returns the name the
    span has if it is ours to give (None if the application gave it)."""
    start = strategy.unchanged_name(span, request)
    if start is None:
        return None
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
        if name is not None:
            strategy.set_name(span, name)
            return None
    route = getattr(request, 'matched_route', None)
    if route is None:
        return start
    name = strategy.route_name(start, route)
    if len(name) > policy.max_tag_length:
        name = bound(name, policy.max_tag_length)
    if name != start:
        strategy.set_name(span, name)
    return name


def _rename(waiting, request, endpoint):
    """Name the span of ``waiting`` after ``endpoint`` if it still has the
    name routing gave it."""
    strategy, span, _, given = waiting
    if given is None:
        return
    current = strategy.current_name(span)
    if current is not None and current != given:
        waiting[3] = None  # the application renamed it
        return
    limit = strategy.pyramid_tracer.policy.max_tag_length
    name = strategy.route_name(strategy.start_name(request_method(request, limit)), endpoint)
    if len(name) > limit:
        name = bound(name, limit)
    strategy.set_name(span, name)
    waiting[3] = name


def on_context_found(event):
    """The ``ContextFound`` subscriber: traversal is done, and a request it
    serves is named after its context's class until its view is known."""
    request = event.request
    waiting = request.environ.get(VIEW_KEY)
    if waiting is not None and waiting[2]:
        context_found(waiting, request)


def context_found(waiting, request):
    """Name the span of ``waiting`` (see :data:`VIEW_KEY`) after the class
    of the context of ``request``, which traversal found."""
    strategy = waiting[0]
    try:
        context_type = type(request.context)
        if context_type is DefaultRootFactory:  # the application has no resource tree
            waiting[2] = False
            return
        _rename(waiting, request, _Endpoint(context_type.__name__))
        strategy.set_attributes(waiting[1], {'pyramid.context': qualified_name(context_type)})
    except Exception as exc:
        strategy.report('naming the server span', exc, 'its name may be incomplete')


def view_found(waiting, request, context_type, view_name, function_name):
    """The view registered as ``view_name`` for ``context_type`` (or its
    interface) serves the request of ``waiting`` (see :data:`VIEW_KEY`); it
    is ``function_name`` (None if unknown). A request served through
    traversal is named ``Type/view_name`` (``Type`` for the default view)."""
    strategy, span, traversal, _ = waiting
    try:
        attributes = {}
        if function_name is not None:
            attributes['code.function.name'] = function_name
        if traversal and context_type is not DefaultRootFactory:
            endpoint = context_type.__name__ + ('/' + view_name if view_name else '')
            _rename(waiting, request, _Endpoint(endpoint))
            attributes['pyramid.view_name'] = view_name
            attributes['pyramid.context'] = qualified_name(context_type)
            attributes['pyramid.endpoint'] = endpoint
        if attributes:
            strategy.set_attributes(span, attributes)
    except Exception as exc:
        strategy.report('naming the server span', exc, 'its name may be incomplete')


class _Endpoint:
    """What a traversal request is named after, shaped as a route is for
    the strategies' ``route_name``: its name and its pattern are the text."""

    __slots__ = ('name', 'pattern')

    def __init__(self, text):
        self.name = self.pattern = text


def _is_ours(handler):
    return handler is on_before_traversal or getattr(handler, '__wrapped__', None) is (
        on_before_traversal)


#: Set on a registry whose views the include's view deriver wraps: they say
#: when routing is done (see :func:`subscribe`).
NAMED_BY_VIEWS = 'pyramid_opentracing_named_by_views'


def subscribe(registry):
    """Subscribe :func:`on_before_traversal` and :func:`on_context_found` to
    ``registry``'s events, once, for the tween registered without the
    include: with it, the view deriver does their work, and no subscriber
    makes Pyramid send events."""
    registered = getattr(registry, 'registeredHandlers', None)
    if BeforeTraversal is None or registered is None or getattr(registry, NAMED_BY_VIEWS, False):
        return
    if not any(_is_ours(registration.handler) for registration in registered()):
        registry.registerHandler(on_before_traversal, (BeforeTraversal,))
        registry.registerHandler(on_context_found, (ContextFound,))
