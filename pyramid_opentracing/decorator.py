"""Trace single views with a decorator, without the tween.

Pyramid decides how to call a view by inspecting its arguments, so the
wrapper keeps the view's shape: ``view(request)`` (which also serves methods of
class-based views, called as ``method(self)``) or ``view(context, request)``.
"""
import functools

from pyramid.interfaces import IRequest, IResponse
from pyramid.viewderivers import requestonly

from .request_span import ENVIRON_KEY, RequestSpan, outcome_of_exception


def traced_view(view, tracer_for, attributes):
    """``view`` wrapped so each call is traced by ``tracer_for(request)``."""
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
    state = request.environ.get(ENVIRON_KEY)
    if state is not None:  # the tween traces this request already
        try:
            state.tag_attributes(request, attributes)
        except Exception as exc:
            state.owner.failures.report('tagging the server span', exc, 'the view runs untagged')
        return view(*args, **kwargs)
    owner = tracer_for(request)
    state = RequestSpan.start(owner, request, attributes, owner.operation_name(request))
    if state is None:
        return view(*args, **kwargs)
    try:
        result = view(*args, **kwargs)
    except BaseException as exc:
        state.end(request, *outcome_of_exception(exc, None))
        raise
    response = result if IResponse.providedBy(result) else getattr(request, 'response', None)
    state.end(request, getattr(response, 'status_int', None), None)
    return result
