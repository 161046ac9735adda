"""PyramidTracer: which OpenTracing tracer traces a Pyramid application, and how."""
import opentracing

from .failures import FailureLog
from .request_span import ENVIRON_KEY, strategy_for
from .request_tags import TagPolicy

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
    selection = None
    #: What the span takes from and writes to headers (a
    #: :class:`~.headers.SpanHeaders`), None for nothing; set from the settings.
    span_headers = None
    #: The registry of the application whose settings configured it: one
    #: application's settings are not another's (see ``settings.check_claim``).
    registry = None
    #: The OpenTelemetry variables it was configured with, beside the settings.
    claimed_variables = None

    def __init__(self, tracer=None, start_span_cb=None, operation_name_func=None,
                 **tag_policy):
        for name, function in (('start_span_cb', start_span_cb),
                               ('operation_name_func', operation_name_func)):
            if function is not None and not callable(function):
                raise ValueError('%s must be callable, not %r' % (name, function))
        self._tracer = tracer
        self.start_span_cb = start_span_cb
        self.operation_name_func = operation_name_func
        self.policy = TagPolicy(**tag_policy)
        self.failures = FailureLog()
        self._strategy = None

    def __repr__(self):
        return '<PyramidTracer tracer=%r>' % (self._tracer or 'opentracing.global_tracer()',)

    @property
    def tracer(self):
        """The OpenTracing tracer in use."""
        return opentracing.global_tracer() if self._tracer is None else self._tracer

    @property
    def follows_global_tracer(self):
        """Whether the tracer in use is :func:`opentracing.global_tracer`,
        whichever it is at the time."""
        return self._tracer is None

    def server_span_strategy(self):
        """How server spans are made with the tracer in use: chosen once per
        tracer object (see :func:`~pyramid_opentracing.request_span.strategy_for`),
        since the global tracer may be replaced after start-up. Never raises."""
        tracer = self._tracer
        if tracer is None:
            tracer = opentracing.global_tracer()
        strategy = self._strategy
        if strategy is None or strategy.tracer is not tracer:
            strategy = self._strategy = strategy_for(self, tracer)
        return strategy

    def get_span(self, request):
        """The server span tracing ``request``, or None when it is not traced."""
        return request.environ.get(ENVIRON_KEY)

    def trace(self, *attributes):
        """Decorator that traces one view, tagging the request ``attributes``.

        Works without the tween; when the tween already traces the request, the
        attributes are tagged on its span instead of making a second span.
        ``@tracer.trace`` without parentheses is ``@tracer.trace()``.
        """
        from .decorator import view_decorator
        return view_decorator(lambda request: self, attributes)


#: The 1.0 name of :class:`PyramidTracer`.
PyramidTracing = PyramidTracer
