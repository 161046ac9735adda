"""Trace single views with a decorator, without the tween.

Pyramid decides how to call a view by inspecting its arguments, so the
wrapper keeps the view's shape: ``view(request)`` (which also serves methods of
class-based views, called as ``method(self)``) or ``view(context, request)``.
"""
import functools

from pyramid.interfaces import IRequest, IResponse
from pyramid.viewderivers import requestonly

from .request_span import ENVIRON_KEY, outcome_of_exception, tag_attributes

#: Where venusian (``@view_config``) keeps the callbacks ``config.scan()`` runs.
VENUSIAN_CALLBACKS = '__venusian_callbacks__'


def view_decorator(tracer_for, attributes):
    """The decorator ``trace(*attributes)`` returns, or, when ``trace`` was
    applied to the view itself (``@trace`` without parentheses), the traced view.

    Raises TypeError at decoration time for anything but attribute names.
    """
    if len(attributes) == 1 and callable(attributes[0]):
        return traced_view(attributes[0], tracer_for, ())
    for name in attributes:
        if not isinstance(name, str):
            raise TypeError('trace() takes request attribute names, not %r' % (name,))
    return lambda view: traced_view(view, tracer_for, attributes)


def traced_view(view, tracer_for, attributes):
    """``view`` wrapped so each call is traced by ``tracer_for(request)``.

    A view already decorated with ``@view_config`` is refused: venusian
    registers only the object it was attached to, so ``config.scan()`` would
    skip the wrapper and the route would silently answer 404.
    """
    if getattr(view, VENUSIAN_CALLBACKS, None):
        raise TypeError('put @trace below @view_config (closer to the function): above it, '
                        'config.scan() would not register %s' % getattr(view, '__qualname__', view))
    if requestonly(view):
        def traced(request_or_view):
            request = request_or_view
            if not IRequest.providedBy(request):
                request = getattr(request_or_view, 'request', request_or_view)
            return run_traced(tracer_for, request, attributes, view, request_or_view)
    else:
        def traced(*args, **kwargs):
            return run_traced(tracer_for, find_request(args), attributes, view, *args, **kwargs)
    return functools.wraps(view)(traced)


def find_request(args):
    """The request among a view's arguments: last for ``(context, request)``,
    on ``self.request`` for a method of a class-based view."""
    for arg in reversed(args):
        if IRequest.providedBy(arg):
            return arg
    for arg in args:
        request = getattr(arg, 'request', None)
        if request is not None:
            return request
    raise TypeError('pyramid_opentracing cannot find the request among %r' % (args,))


def run_traced(tracer_for, request, attributes, view, *args, **kwargs):
    """Call ``view(*args, **kwargs)`` inside a span for ``request``."""
    owner = tracer_for(request)
    span = request.environ.get(ENVIRON_KEY)
    if span is not None:  # the tween traces this request already
        try:
            tag_attributes(span, request, attributes, owner)
        except Exception as exc:
            owner.failures.report('tagging the server span', exc, 'the view runs untagged')
        return view(*args, **kwargs)
    spans = owner.server_spans()
    name = spans.operation_name(request)
    scope = spans.start(request, attributes, name)
    if scope is None:
        return view(*args, **kwargs)
    try:
        result = view(*args, **kwargs)
    except BaseException as exc:
        spans.end(scope, request, name, *outcome_of_exception(exc, None))
        raise
    response = result if IResponse.providedBy(result) else getattr(request, 'response', None)
    spans.end(scope, request, name, getattr(response, 'status_int', None), None)
    return result
