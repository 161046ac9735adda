"""The view derivers: what served the request, and the ``view`` and
``renderer`` spans.

Pyramid knows which view callable serves a request only when it calls it:
:func:`view_deriver`, closest to the view callable, gives the server span
the callable's module-qualified name (``code.function.name``) and, for a
request served through traversal, the name of the view (see
:func:`~.routing.view_found`). With ``view`` in ``ot.trace_internals`` the
callable runs in a child span named after it; with ``renderer``, the
rendering of its result (between the view's return and the end of
Pyramid's ``rendered_view``) runs in a child span named after the renderer
(``render templates/page.jinja2``, ``render json``), with the template for
a template renderer (Chameleon, Jinja2, Mako alike).

Both are decided once per view, when Pyramid derives it: a view that needs
nothing of them is returned as it is. They read ``ot.trace_internals`` as
given, since views are derived before the settings are parsed.
"""
from .internals import as_internals, end_internal, start_internal, strategy_of
from .lifecycle import ENVIRON_KEY
from .routing import ROUTING_KEY, VIEW_KEY, route_known, view_found
from .setting_parsers import as_bool

__all__ = ['RENDERER_KEY', 'function_name', 'renderer_deriver', 'view_deriver']

#: Where the scope of a ``renderer`` span waits for the rendering to end.
RENDERER_KEY = 'pyramid_opentracing.renderer'


def function_name(view, attr=None):
    """``module.qualified.name`` of a view callable, with the method ``attr``
    of a class view: bounded by the application's code."""
    target = view if hasattr(view, '__qualname__') else type(view)
    name = '%s.%s' % (getattr(target, '__module__', None) or '?', target.__qualname__)
    return name + '.' + attr if attr else name


def _internals(settings):
    return as_internals('ot.trace_internals', settings.get('ot.trace_internals'))


def _template_attributes(helper):
    """The attributes and the span name of a ``renderer`` span for the
    view's RendererHelper ``helper``."""
    name = getattr(helper, 'name', None) or str(helper)
    kind = getattr(helper, 'type', None) or name
    attributes = {'pyramid.renderer.name': name, 'pyramid.renderer.type': kind}
    if kind.startswith('.'):  # a template renderer, found by its extension
        package = getattr(getattr(helper, 'package', None), '__name__', None)
        attributes['pyramid.renderer.template'] = (
            name if ':' in name or package is None else '%s:%s' % (package, name))
    return 'render ' + name, attributes


def view_deriver(view, info):
    """Name the span after the view callable; with ``view`` in
    ``ot.trace_internals``, a child span around it; with ``renderer``, the
    start of the rendering span."""
    settings = info.registry.settings
    internals = _internals(settings)
    traces = as_bool('ot.trace_all', settings.get('ot.trace_all') or False, None)
    if not (traces or internals):
        return view
    names = not getattr(info, 'exception_only', False)
    view_name = info.options.get('name') or ''
    served_by = function_name(info.original_view, info.options.get('attr'))
    span_name = 'view ' + served_by
    view_span = 'view' in internals
    renderer = info.options.get('renderer') if 'renderer' in internals else None
    rendering = _template_attributes(renderer) if renderer is not None else None
    attributes = {'code.function.name': served_by, 'pyramid.view_name': view_name}

    def named_view(context, request):
        if names:
            environ = request.environ
            routed = environ.pop(ROUTING_KEY, None)
            if routed is not None:  # routing and traversal are done: say what serves it
                strategy, span, url_waits = routed
                route_known(strategy, span, request, url_waits,
                            (type(context), view_name, served_by))
            else:
                waiting = environ.pop(VIEW_KEY, None)
                if waiting is not None:
                    view_found(waiting, request, type(context), view_name, served_by)
        return view(context, request)

    if not (view_span or rendering):
        return named_view

    def traced_view(context, request):
        if request.environ.get(ENVIRON_KEY) is None:
            return named_view(context, request)
        strategy = strategy_of(request.registry)
        if strategy is None:
            return named_view(context, request)
        scope = start_internal(strategy, span_name, attributes) if view_span else None
        try:
            result = named_view(context, request)
        except BaseException as exc:
            end_internal(strategy, scope, exc)
            raise
        end_internal(strategy, scope)
        if rendering is not None and not hasattr(result, 'app_iter'):  # not a Response
            request.environ[RENDERER_KEY] = start_internal(strategy, *rendering)
        return result

    return traced_view


def renderer_deriver(view, info):
    """With ``renderer`` in ``ot.trace_internals``, the end of the span
    :func:`view_deriver` started when the view returned a value to render."""
    if 'renderer' not in _internals(info.registry.settings) or not info.options.get('renderer'):
        return view

    def rendered_view(context, request):
        try:
            response = view(context, request)
        except BaseException as exc:
            scope = request.environ.pop(RENDERER_KEY, None)
            if scope is not None:
                end_internal(strategy_of(request.registry), scope, exc)
            raise
        scope = request.environ.pop(RENDERER_KEY, None)
        if scope is not None:
            end_internal(strategy_of(request.registry), scope)
        return response

    return rendered_view
