"""PyramidTracer: which OpenTracing tracer traces a Pyramid application, and how.

Also the one place that tells OpenTracing from OpenTelemetry
(:func:`strategy_for`), and the PyramidTracer of applications that did not
include the package (:func:`pyramid_tracer_of`).
"""
import logging
import sys
from typing import TYPE_CHECKING, Any, Callable, Optional, Tuple, TypeVar, Union, overload

import opentracing

from .failures import FailureLog
from .lifecycle import ENVIRON_KEY
from .opentracing_strategy import NoopStrategy, OpenTracingStrategy
from .tags import TagPolicy

if TYPE_CHECKING:
    from pyramid.request import Request

    from .headers import SpanHeaders
    from .otel.spans import OtelStrategy
    from .selection import RequestSelection

    #: What :func:`strategy_for` makes (only for type checkers: importing it
    #: would load OpenTelemetry).
    SpanStrategy = Union[OpenTracingStrategy, OtelStrategy]

#: A view function (or method), as ``@trace`` returns it: the same signature.
_View = TypeVar('_View', bound=Callable[..., Any])

__all__ = ['PyramidTracer', 'PyramidTracing', 'is_otel_shim', 'pyramid_tracer_of', 'strategy_for',
           '_global_pyramid_tracer']

logger = logging.getLogger('pyramid_opentracing')


class PyramidTracer:
    """Traces Pyramid requests with an OpenTracing ``tracer``.

    ``tracer`` defaults to :func:`opentracing.global_tracer`, looked up on each
    request so that a tracer installed after start-up is used.
    ``start_span_cb(span, request)`` runs when a server span starts; a name it
    gives the span is kept. ``operation_name_func(request)`` names the span once
    routing is done (default: the matched route's name, else the HTTP method).
    The keyword arguments set how request data becomes tags (see
    :class:`TagPolicy`). Callbacks and ``policy`` may be replaced until the
    first request; every request reads them as they are.
    """

    #: Which requests are traced (a :class:`~.selection.RequestSelection`),
    #: None for all; set from the settings.
    selection: Optional['RequestSelection'] = None
    #: What the span takes from and writes to headers (a
    #: :class:`~.headers.SpanHeaders`), None for nothing; set from the settings.
    span_headers: Optional['SpanHeaders'] = None
    #: What the settings of the application it traces made of it (see
    #: ``config.fingerprint``), None until one claims it: one application's
    #: settings are not another's.
    fingerprint: Optional[Tuple[Tuple[str, Any], ...]] = None

    def __init__(self, tracer: Optional[opentracing.Tracer] = None,
                 start_span_cb: Optional[Callable[[opentracing.Span, 'Request'], object]] = None,
                 operation_name_func: Optional[Callable[['Request'], str]] = None,
                 **tag_policy: Any) -> None:
        for name, function in (('start_span_cb', start_span_cb),
                               ('operation_name_func', operation_name_func)):
            if function is not None and not callable(function):
                raise ValueError('%s must be callable, not %r' % (name, function))
        self._tracer = tracer
        self.start_span_cb = start_span_cb
        self.operation_name_func = operation_name_func
        self.policy = TagPolicy(**tag_policy)
        self.failures = FailureLog()
        self._strategy: Optional['SpanStrategy'] = None

    def __repr__(self) -> str:
        return '<PyramidTracer tracer=%r>' % (self._tracer or 'opentracing.global_tracer()',)

    @property
    def tracer(self) -> opentracing.Tracer:
        """The OpenTracing tracer in use."""
        return opentracing.global_tracer() if self._tracer is None else self._tracer

    @property
    def follows_global_tracer(self) -> bool:
        """Whether the tracer in use is :func:`opentracing.global_tracer`,
        whichever it is at the time."""
        return self._tracer is None

    def server_span_strategy(self) -> 'SpanStrategy':
        """How server spans are made with the tracer in use: chosen once per
        tracer object (see :func:`strategy_for`),
        since the global tracer may be replaced after start-up. Never raises."""
        tracer = self._tracer
        if tracer is None:
            tracer = opentracing.global_tracer()
        strategy = self._strategy
        if strategy is None or strategy.tracer is not tracer:
            strategy = self._strategy = strategy_for(self, tracer)
        return strategy

    def get_span(self, request: 'Request') -> Optional[opentracing.Span]:
        """The server span tracing ``request``, or None when it is not traced."""
        return request.environ.get(ENVIRON_KEY)

    @overload
    def trace(self, view: _View, /) -> _View: ...
    @overload
    def trace(self, *attributes: str) -> Callable[[_View], _View]: ...
    def trace(self, *attributes: Any) -> Any:
        """Decorator that traces one view, tagging the request ``attributes``.

        Works without the tween; when the tween already traces the request, the
        attributes are tagged on its span instead of making a second span.
        ``@tracer.trace`` without parentheses is ``@tracer.trace()``.
        """
        from .decorator import view_decorator
        return view_decorator(lambda request: self, attributes)


#: The 1.0 name of :class:`PyramidTracer`.
PyramidTracing = PyramidTracer


def is_otel_shim(tracer: object) -> bool:
    """Whether ``tracer`` is OpenTelemetry's OpenTracing shim, whose own
    start_span cannot set a span kind. Imports nothing: if the shim module
    is not loaded, no tracer can be one."""
    shim = sys.modules.get('opentelemetry.shim.opentracing_shim')
    return shim is not None and isinstance(tracer, shim.TracerShim)


def strategy_for(pyramid_tracer: PyramidTracer, tracer: Any) -> 'SpanStrategy':
    """How ``pyramid_tracer`` makes server spans with the OpenTracing ``tracer``:
    real OpenTelemetry SERVER spans for the shim, nothing at all for
    opentracing's no-op Tracer, else plain OpenTracing. Never raises: if the
    OpenTelemetry strategy cannot be loaded, the shim is used through the
    OpenTracing API."""
    if type(tracer) is opentracing.Tracer:
        return NoopStrategy(pyramid_tracer, tracer)
    if is_otel_shim(tracer):
        try:
            from .otel.spans import OtelStrategy
            return OtelStrategy(pyramid_tracer, tracer)
        except Exception as exc:
            pyramid_tracer.failures.report(
                'loading the OpenTelemetry server spans', exc,
                'server spans are made through the OpenTracing API')
    return OpenTracingStrategy(pyramid_tracer, tracer)


#: The PyramidTracer of applications that did not include the package.
_global_pyramid_tracer = PyramidTracer()
_said_not_included = False


def pyramid_tracer_of(request: 'Request') -> PyramidTracer:
    """The PyramidTracer configured for the request's application.

    Falls back to one on the global tracer where ``includeme`` did not run.
    """
    settings = request.registry.settings
    pyramid_tracer = settings.get('ot.tracer') if settings else None
    if isinstance(pyramid_tracer, PyramidTracer):
        return pyramid_tracer
    global _said_not_included
    if not _said_not_included:
        _said_not_included = True
        logger.info("pyramid_opentracing: @trace is used without config.include("
                    "'pyramid_opentracing'), so the ot.* settings are not read: decorated "
                    "views are traced with opentracing.global_tracer()")
    return _global_pyramid_tracer
