"""Child spans of Pyramid's own work, opted into with ``ot.trace_internals``.

``ot.trace_internals`` lists what gets a child span of the server span:
``view`` (the view callable) and ``renderer`` (rendering its result), made
by the view derivers of :mod:`~.views`; ``tm`` (pyramid_tm's commit or
abort, seen through the ``transaction`` package's synchronizer API),
``subrequest`` (``request.invoke_subrequest``) and ``tweens`` (each tween
below ours), registered here by :func:`register`. With the setting empty
nothing is registered, so nothing runs.

Each span is started through the OpenTracing API of the request's tracer, as
a child of the active span: an INTERNAL span with its attributes through
the OpenTelemetry bridge, a child span with its tags for other tracers. An
exception raised inside one is marked on it (``mark_error`` of the
strategy), where it happened, and goes on. Nothing is traced outside a
traced request, and a failing tracer is reported, never the request's
failure.
"""
from pyramid.events import NewRequest
from pyramid.interfaces import ITweens

from ._pyramid import tweens_in_order
from .lifecycle import ENVIRON_KEY
from .setting_parsers import as_list, fail

__all__ = ['INTERNALS', 'SUBREQUEST_KEY', 'as_internals', 'end_internal', 'register',
           'skip_subrequests', 'start_internal', 'strategy_of']

#: What ``ot.trace_internals`` may list.
INTERNALS = ('view', 'renderer', 'tm', 'subrequest', 'tweens')

#: Set in a subrequest's environ while its ``subrequest`` span serves it:
#: the tween does not start a server span (a trace of its own) for it.
SUBREQUEST_KEY = 'pyramid_opentracing.subrequest'

#: The name under which ``includeme`` registers the tween.
OUR_TWEEN = 'pyramid_opentracing.opentracing_tween_factory'


def as_internals(source, value, resolve=None):
    """The parser of ``ot.trace_internals``: a tuple of :data:`INTERNALS`."""
    names = tuple(str(word).strip().lower() for word in as_list(source, value or ()))
    for name in names:
        if name not in INTERNALS:
            raise fail(source, value, '%r is not one of %s' % (name, ', '.join(INTERNALS)))
    return names


def strategy_of(registry):
    """The ServerSpanStrategy of ``registry``'s tracer, or None before it is configured."""
    pyramid_tracer = registry.settings.get('ot.tracer')
    server_span_strategy = getattr(pyramid_tracer, 'server_span_strategy', None)
    return None if server_span_strategy is None else server_span_strategy()


def start_internal(strategy, name, attributes):
    """Start and activate a child span of the active span: its scope, or
    None if the tracer failed (reported). The span gets a copy of
    ``attributes``: a tracer may keep the dict it is given as the span's own
    tags (MockTracer, basictracer), and the callers' dicts serve every request."""
    try:
        return strategy.tracer.start_active_span(name, tags=dict(attributes),
                                                 finish_on_close=True)
    except Exception as exc:
        strategy.report('starting the %s span' % name, exc, 'it is not traced')
        return None


def end_internal(strategy, scope, error=None, attributes=None):
    """Tag ``attributes``, mark ``error`` (None for none) and finish the
    span of ``scope``."""
    if scope is None:
        return
    try:
        span = scope.span
        if attributes:
            strategy.set_attributes(span, attributes)
        if error is not None:
            strategy.mark_error(span, error)
        scope.close()
    except Exception as exc:
        strategy.report('finishing an internal span', exc, 'it may be lost')


def traced_call(request, name, attributes, function, *args):
    """``function(*args)`` inside an internal span, if ``request`` is traced."""
    if request.environ.get(ENVIRON_KEY) is None:
        return function(*args)
    strategy = strategy_of(request.registry)
    scope = None if strategy is None else start_internal(strategy, name, attributes)
    if scope is None:
        return function(*args)
    try:
        result = function(*args)
    except BaseException as exc:
        end_internal(strategy, scope, exc)
        raise
    end_internal(strategy, scope)
    return result


# -- subrequest ----------------------------------------------------------------


def trace_subrequests(event):
    """The ``NewRequest`` subscriber of ``subrequest``: the request's
    ``invoke_subrequest`` runs the subrequest inside a child span."""
    request = event.request
    invoke = getattr(request, 'invoke_subrequest', None)
    if invoke is None:
        return

    def invoke_subrequest(subrequest, use_tweens=False):
        environ = request.environ
        if environ.get(ENVIRON_KEY) is None:
            return invoke(subrequest, use_tweens)
        strategy = strategy_of(request.registry)
        policy = strategy.pyramid_tracer.policy
        scope = start_internal(strategy, 'subrequest', {
            'pyramid.subrequest.use_tweens': bool(use_tweens),
            'url.path': policy.text(subrequest.environ.get('PATH_INFO', ''))})
        if scope is None:
            return invoke(subrequest, use_tweens)
        subrequest.environ[SUBREQUEST_KEY] = True
        subrequest.environ[ENVIRON_KEY] = scope.span  # get_span, and its views' spans
        try:
            response = invoke(subrequest, use_tweens)
        except BaseException as exc:
            end_internal(strategy, scope, exc)
            raise
        end_internal(strategy, scope, None,
                     {'http.response.status_code': getattr(response, 'status_int', 0)})
        return response

    request.invoke_subrequest = invoke_subrequest


def skip_subrequests(traces):
    """The tween's ``traces(request)`` (None: every request) but for a
    subrequest its ``subrequest`` span serves."""
    if traces is None:
        return lambda request: SUBREQUEST_KEY not in request.environ
    return lambda request: SUBREQUEST_KEY not in request.environ and traces(request)


# -- tm --------------------------------------------------------------------------


class TransactionSpans:
    """A ``transaction`` synchronizer: a child span from the start of a
    transaction's commit or abort (``beforeCompletion``) to its end
    (``afterCompletion``), named ``tm commit`` or ``tm abort``; a failed
    commit is an error. Not made active: the transaction package calls
    back where it likes."""

    def __init__(self, registry):
        self.registry = registry
        self.spans = {}  # id(transaction): (strategy, span), while it completes

    def newTransaction(self, transaction):  # noqa: N802 - the synchronizer API
        pass

    def beforeCompletion(self, transaction):  # noqa: N802
        strategy = strategy_of(self.registry)
        if strategy is None:
            return
        try:
            self.spans[id(transaction)] = strategy, strategy.tracer.start_span('tm')
        except Exception as exc:
            strategy.report('starting the tm span', exc, 'it is not traced')

    def afterCompletion(self, transaction):  # noqa: N802
        started = self.spans.pop(id(transaction), None)
        if started is None:
            return
        strategy, span = started
        status = str(getattr(transaction, 'status', ''))
        try:
            if status.startswith('Commit'):
                span.set_operation_name('tm commit')
                if status != 'Committed':
                    strategy.mark_error(span, RuntimeError('the commit failed (%s)' % status))
            else:
                span.set_operation_name('tm abort')
            strategy.set_attributes(span, {'pyramid.tm.status': status})
            span.finish()
        except Exception as exc:
            strategy.report('finishing the tm span', exc, 'it may be lost')


def synchronize_transactions(synchronizer):
    """The ``NewRequest`` subscriber of ``tm``: ``synchronizer`` sees the
    request's transaction (``request.tm``, pyramid_tm's manager) complete."""
    def subscriber(event):
        request = event.request
        if request.environ.get(ENVIRON_KEY) is None:
            return
        try:
            manager = request.tm
        except AttributeError:  # pyramid_tm is not included
            return
        manager.registerSynch(synchronizer)
    return subscriber


# -- tweens ----------------------------------------------------------------------


def traced_tween(tween, name):
    """``tween`` inside a span named after its factory's ``name``."""
    attributes = {'pyramid.tween': name}
    span_name = 'tween ' + name

    def traced(request):
        return traced_call(request, span_name, attributes, tween, request)
    return traced


class TracedTweens:
    """Pyramid's ``ITweens`` whose tweens below ours each run in a span."""

    def __init__(self, tweens):
        self.tweens = tweens

    def __getattr__(self, name):
        return getattr(self.tweens, name)

    def __call__(self, handler, registry):
        chain = tweens_in_order(self.tweens)
        if chain is None or OUR_TWEEN not in [name for name, _ in chain]:
            return self.tweens(handler, registry)
        below = True
        for name, factory in reversed(chain):
            if name == OUR_TWEEN:
                below = False
            tween = factory(handler, registry)
            handler = traced_tween(tween, name) if below and tween is not handler else tween
        return handler


def register(registry, internals):
    """Register what ``internals`` (of :data:`INTERNALS`) asks of
    ``registry``, beside the view derivers; nothing for none."""
    if 'subrequest' in internals:
        registry.registerHandler(trace_subrequests, (NewRequest,))
    if 'tm' in internals:
        registry.registerHandler(synchronize_transactions(TransactionSpans(registry)),
                                 (NewRequest,))
    if 'tweens' in internals:
        tweens = registry.queryUtility(ITweens)
        if tweens is not None and not isinstance(tweens, TracedTweens):
            registry.registerUtility(TracedTweens(tweens), ITweens)
