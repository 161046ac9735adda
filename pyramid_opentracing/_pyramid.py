"""The details of Pyramid, WebOb and venusian we rely on beyond their
documented API, in one place, each with a fallback for a release without it."""
import inspect

import pyramid.events
from pyramid.interfaces import IRoutesMapper

try:
    from pyramid.interfaces import IRequestExtensions
except ImportError:  # pragma: no cover - every Pyramid since 1.4 has it
    IRequestExtensions = None


def requestonly_by_signature(view):
    """Whether Pyramid calls ``view`` with the request alone, from its
    signature: one required positional argument (a class's, its ``__init__``'s
    but ``self``)."""
    try:
        parameters = [parameter for parameter in inspect.signature(view).parameters.values()
                      if parameter.default is parameter.empty
                      and parameter.kind in (parameter.POSITIONAL_ONLY,
                                             parameter.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return False
    return len(parameters) == 1


try:
    from pyramid.viewderivers import requestonly
except ImportError:  # pragma: no cover - Pyramid 1.x and 2.x have it
    requestonly = requestonly_by_signature

try:
    from webob.response import AppIterRange
except ImportError:  # pragma: no cover - every WebOb since 1.0 has it
    AppIterRange = None

__all__ = ['BeforeTraversal', 'ContextFound', 'IRequestExtensions', 'IRoutesMapper',
           'RETRY_ATTEMPT', 'VENUSIAN_CALLBACKS', 'ranged', 'requestonly',
           'requestonly_by_signature', 'retry_attempt', 'retried', 'routes_of',
           'run_finished_callbacks', 'run_first_when_finished', 'tweens_in_order']

#: The event Pyramid sends once routing is done, before traversal (1.10 and
#: later); without it, routing's results are read when the request ends.
BeforeTraversal = getattr(pyramid.events, 'BeforeTraversal', None)

#: The event Pyramid sends once traversal found the context.
ContextFound = pyramid.events.ContextFound

#: Where venusian (``@view_config``) keeps the callbacks ``config.scan()`` runs.
VENUSIAN_CALLBACKS = '__venusian_callbacks__'


def routes_of(registry):
    """The routes of ``registry``'s application, in the order Pyramid tries them."""
    mapper = registry.queryUtility(IRoutesMapper)
    return () if mapper is None else mapper.get_routes()


def run_first_when_finished(request, callback):
    """Add ``callback`` to ``request``'s finished callbacks, to run before
    the others: Pyramid keeps them in a deque, run from the left. Where they
    are not a deque, it runs last."""
    request.add_finished_callback(callback)
    callbacks = getattr(request, 'finished_callbacks', None)
    if hasattr(callbacks, 'rotate'):
        callbacks.rotate(1)


def run_finished_callbacks(request):
    """Run the request's finished callbacks still to run, in order, as
    Pyramid does; the exception one raised (which ends them), or None."""
    callbacks = request.finished_callbacks
    take = getattr(callbacks, 'popleft', None) or (lambda: callbacks.pop(0))
    try:
        while callbacks:
            take()(request)
    except Exception as exc:
        return exc
    return None


def ranged(app_iter, start, stop):
    """The bytes ``start:stop`` of ``app_iter``, as ``Response.app_iter_range``
    makes them: the body's own ``app_iter_range`` if it has one, else
    WebOb's ``AppIterRange``; None (the whole body) without either."""
    own = getattr(app_iter, 'app_iter_range', None)
    if own is not None:
        return own(start, stop)
    return None if AppIterRange is None else AppIterRange(app_iter, start, stop)


#: Where pyramid_retry's execution policy keeps the number of the attempt
#: (0 for the first) while the attempt runs.
RETRY_ATTEMPT = 'retry.attempt'


def retry_attempt(request):
    """The number of ``request``'s attempt under pyramid_retry (0 for the
    first), or None when pyramid_retry does not serve it."""
    attempt = request.environ.get(RETRY_ATTEMPT)
    return attempt if isinstance(attempt, int) else None


def retried(request, exc):
    """Whether pyramid_retry sends the request through again after ``exc``
    ended this attempt (raised, or rendered by an exception view): asked of
    ``pyramid_retry.is_error_retryable``, the predicate its execution policy
    applies to the same request and exception as soon as the attempt
    returns. Without pyramid_retry, or when it does not serve the request,
    False: no attempt is retried."""
    if RETRY_ATTEMPT not in request.environ:
        return False
    try:
        from pyramid_retry import is_error_retryable
    except ImportError:  # pragma: no cover - the policy that set the key is pyramid_retry's
        return False
    try:
        return bool(is_error_retryable(request, exc))
    except Exception:
        return False  # as pyramid_retry would fail too: this attempt is the last


def tweens_in_order(tweens):
    """[(name, factory)] of Pyramid's ``ITweens``, from the ingress to the
    main handler, as it builds the tween chain from them (its ``explicit``
    list, else ``implicit()``); None for an ``ITweens`` without them."""
    explicit = getattr(tweens, 'explicit', None)
    implicit = getattr(tweens, 'implicit', None)
    if explicit is None or implicit is None:
        return None
    return list(explicit or implicit())
