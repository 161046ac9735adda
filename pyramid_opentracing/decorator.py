"""Trace single views with a decorator, without the tween.

Pyramid decides how to call a view by inspecting its arguments, so the
wrapper keeps the view's shape: ``view(request)`` (which also serves methods of
class-based views, called as ``method(self)``) or ``view(context, request)``.
The span goes through the same lifecycle as the tween's
(:class:`~pyramid_opentracing.lifecycle.ServerSpanStrategy`).
"""
import functools

from pyramid.interfaces import IRequest, IResponse
from pyramid.threadlocal import get_current_request

from ._pyramid import VENUSIAN_CALLBACKS, requestonly
from .failures import FailureLog
from .lifecycle import ENVIRON_KEY
from .selection import is_excluded

__all__ = ['view_decorator']

#: Reports views whose request cannot be found, once, whatever their tracer.
_failures = FailureLog()


def view_decorator(pyramid_tracer_of, attributes):
    """The decorator ``trace(*attributes)`` returns, or, when ``trace`` was
    applied to the view itself (``@trace`` without parentheses), the traced view.

    Raises TypeError at decoration time for anything but attribute names.
    """
    if len(attributes) == 1 and callable(attributes[0]):
        return traced_view(attributes[0], pyramid_tracer_of, ())
    for name in attributes:
        if not isinstance(name, str):
            raise TypeError('trace() takes request attribute names, not %r' % (name,))
    return lambda view: traced_view(view, pyramid_tracer_of, attributes)


def traced_view(view, pyramid_tracer_of, attributes):
    """``view`` wrapped so each call is traced by ``pyramid_tracer_of(request)``.

    A view already decorated with ``@view_config`` is refused: venusian
    registers only the object it was attached to, so ``config.scan()`` would
    skip the wrapper and the route would silently answer 404.
    """
    if getattr(view, VENUSIAN_CALLBACKS, None):
        raise TypeError('put @trace below @view_config (closer to the function): above it, '
                        'config.scan() would not register %s' % getattr(view, '__qualname__', view))
    if requestonly(view):
        def traced(request_or_view):
            return run_traced(pyramid_tracer_of, find_request((request_or_view,)), attributes,
                              view, request_or_view)
    else:
        def traced(*args, **kwargs):
            return run_traced(pyramid_tracer_of, find_request(args), attributes, view,
                              *args, **kwargs)
    return functools.wraps(view)(traced)


def find_request(args):
    """The request among a view's arguments: last for ``(context, request)``,
    on ``self.request`` for a method of a class-based view, else the request
    Pyramid is serving on this thread (a class view may keep it under any
    name); None if there is none."""
    for arg in reversed(args):
        if IRequest.providedBy(arg):
            return arg
    for arg in args:
        request = getattr(arg, 'request', None)
        if IRequest.providedBy(request):
            return request
    return get_current_request()


def run_traced(pyramid_tracer_of, request, attributes, view, *args, **kwargs):
    """Call ``view(*args, **kwargs)`` inside a span for ``request``; untraced
    if there is no request to trace."""
    if request is None:
        _failures.report('finding the request of a view traced by @trace',
                         LookupError(getattr(view, '__qualname__', repr(view))),
                         'the view runs untraced')
        return view(*args, **kwargs)
    pyramid_tracer = pyramid_tracer_of(request)
    strategy = pyramid_tracer.server_span_strategy()
    span = request.environ.get(ENVIRON_KEY)
    if span is not None:  # the tween traces this request already
        strategy.tag_attributes(span, request, attributes)
        return view(*args, **kwargs)
    if is_excluded(pyramid_tracer, request):
        return view(*args, **kwargs)
    # an exception may yet become any response through an exception view
    return strategy.serve(request, lambda request: view(*args, **kwargs), attributes,
                          lambda result: view_response(result, request), None, routed=True)


def view_response(result, request):
    """The response of a view that returned ``result``: the result itself,
    or the ``request.response`` a renderer will fill."""
    return result if IResponse.providedBy(result) else getattr(request, 'response', None)
