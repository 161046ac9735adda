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

__all__ = ['BeforeTraversal', 'IRequestExtensions', 'IRoutesMapper', 'VENUSIAN_CALLBACKS',
           'ranged', 'requestonly', 'requestonly_by_signature', 'routes_of',
           'run_finished_callbacks', 'run_first_when_finished']

#: The event Pyramid sends once routing is done, before traversal (1.10 and
#: later); without it, routing's results are read when the request ends.
BeforeTraversal = getattr(pyramid.events, 'BeforeTraversal', None)

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
