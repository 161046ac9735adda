"""Trace single views with a decorator, without the tween.

Pyramid decides how to call a view by inspecting its arguments, so the
wrapper keeps the view's shape: ``view(request)`` (which also serves methods of
class-based views, called as ``method(self)``) or ``view(context, request)``.
"""
import functools

from pyramid.interfaces import IRequest, IResponse
from pyramid.viewderivers import requestonly

from .request_span import ENVIRON_KEY, outcome_of_exception, tag_attributes
from .selection import is_excluded


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
    owner = tracer_for(request)
    span = request.environ.get(ENVIRON_KEY)
    if span is not None:  # the tween traces this request already
        try:
            tag_attributes(span, request, attributes, owner)
        except Exception as exc:
            owner.failures.report('tagging the server span', exc, 'the view runs untagged')
        return view(*args, **kwargs)
    if is_excluded(owner, request):
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
    if owner.span_headers is not None:
        owner.span_headers.on_response(spans, scope.span, response)
    spans.end(scope, request, name, getattr(response, 'status_int', None), None)
    return result
