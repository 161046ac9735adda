"""The start-up checks that need the whole configuration: every request
method, route and tween is known when they run (see
:func:`~pyramid_opentracing.config.configure`)."""
import logging

from pyramid.interfaces import IRequestFactory, ITweens
from pyramid.request import Request
from pyramid.tweens import excview_tween_factory

from ._pyramid import IRequestExtensions
from .setting_parsers import fail

__all__ = ['TWEEN', 'check_traced_attributes', 'check_tweens']

logger = logging.getLogger('pyramid_opentracing')

#: The tween's name, as ``pyramid.tweens`` lists it.
TWEEN = 'pyramid_opentracing.opentracing_tween_factory'
_EXCVIEW = 'pyramid.tweens.excview_tween_factory'

#: What the WSGI request and Pyramid's router set on each request object
#: rather than on its class.
_INSTANCE_ATTRIBUTES = frozenset({
    'environ', 'registry', 'invoke_subrequest', 'context', 'root', 'view_name',
    'subpath', 'traversed', 'virtual_root', 'virtual_root_path'})


def request_attribute_names(registry):
    """The attribute names a request of this application has: those of its
    request class, those the router sets, and those added by
    ``config.add_request_method``."""
    request_class = registry.queryUtility(IRequestFactory, default=Request)
    names = set(dir(request_class if isinstance(request_class, type) else Request))
    names.update(_INSTANCE_ATTRIBUTES)
    extensions = None if IRequestExtensions is None else registry.queryUtility(IRequestExtensions)
    if extensions is not None:
        names.update(extensions.methods, extensions.descriptors)
    return names


def check_traced_attributes(registry, names):
    """Refuse ``ot.traced_attributes`` ``names`` a request does not have (a
    typo would otherwise tag nothing, silently)."""
    known = request_attribute_names(registry)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise fail('ot.traced_attributes', names,
                   'the request has no attribute %s (names of pyramid.request.Request '
                   'or added with config.add_request_method)' % ', '.join(map(repr, unknown)))


def check_tweens(registry, trace_all, resolve):
    """With ``ot.trace_all`` on, refuse an explicit ``pyramid.tweens`` list
    without the tween (nothing would be traced, without a word), and warn
    when it is listed below the exception view's tween: an exception that an
    exception view turns into a response would reach it as an error, and the
    span would not report the status sent."""
    explicit = getattr(registry.queryUtility(ITweens), 'explicit', None)
    if not trace_all or not explicit:
        return
    names = [name for name, _ in explicit]
    factories = [factory for _, factory in explicit]
    ours = resolve(TWEEN)
    if ours not in factories:
        raise fail('pyramid.tweens', names, 'ot.trace_all is true, but this explicit list of '
                   'tweens leaves out the tracing tween, so no request would be traced: add '
                   '%s as the first line of pyramid.tweens' % TWEEN)
    if excview_tween_factory in factories and (
            factories.index(ours) > factories.index(excview_tween_factory)):
        logger.warning('pyramid_opentracing: pyramid.tweens lists %s below %s, so the status of '
                       'responses made by exception views would be misreported (as an error): '
                       'list %s first', names[factories.index(ours)], _EXCVIEW, TWEEN)
