"""Trace single views with a decorator, without the tween.

Pyramid decides how to call a view by inspecting its arguments, so the
wrapper keeps the view's shape: ``view(request)`` (which also serves methods of
class-based views, called as ``method(self)``) or ``view(context, request)``.
The span goes through the same lifecycle as the tween's
(:class:`~pyramid_opentracing.request_span.ServerSpanStrategy`).
"""
import functools

from pyramid.interfaces import IRequest, IResponse
from pyramid.viewderivers import requestonly

from .request_span import ENVIRON_KEY, outcome_of_exception


def traced_view(view, pyramid_tracer_of, attributes):
    """``view`` wrapped so each call is traced by ``pyramid_tracer_of(request)``."""
    if requestonly(view):
        def traced(request_or_view):
            request = request_or_view
            if not IRequest.providedBy(request):
                request = getattr(request_or_view, 'request', request_or_view)
            return run_traced(pyramid_tracer_of, request, attributes, view, request_or_view)
    else:
        def traced(*args, **kwargs):
            return run_traced(pyramid_tracer_of, find_request(args), attributes, view,
                              *args, **kwargs)
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


def run_traced(pyramid_tracer_of, request, attributes, view, *args, **kwargs):
    """Call ``view(*args, **kwargs)`` inside a span for ``request``."""
    strategy = pyramid_tracer_of(request).server_span_strategy()
    span = request.environ.get(ENVIRON_KEY)
    if span is not None:  # the tween traces this request already
        strategy.tag_attributes(span, request, attributes)
        return view(*args, **kwargs)
    scope = strategy.start(request)
    if scope is None:
        return view(*args, **kwargs)
    try:
        result = view(*args, **kwargs)
    except BaseException as exc:
        strategy.end(scope, request, attributes, *outcome_of_exception(exc, None))
        raise
    response = result if IResponse.providedBy(result) else getattr(request, 'response', None)
    strategy.end(scope, request, attributes, getattr(response, 'status_int', None), None)
    return result
