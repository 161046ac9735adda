"""Distributed tracing for Pyramid through the OpenTracing API.

``config.include('pyramid_opentracing')`` parses the ``ot.*`` settings at
start-up and installs a tween that traces each request when ``ot.trace_all``
is true. :class:`PyramidTracer` and :func:`trace` trace single views.
"""
import logging

from pyramid.interfaces import PHASE3_CONFIG
from pyramid.tweens import INGRESS

from ._pyramid import BeforeTraversal
from .decorator import view_decorator
from .lifecycle import ENVIRON_KEY
from .selection import resolve_excluded_routes
from .settings import check_traced_attributes, claim, parse_registry_settings
from .tracer import (  # noqa: F401 - _global_pyramid_tracer for outgoing
    PyramidTracer, PyramidTracing, _global_pyramid_tracer, pyramid_tracer_of)
from .tween import opentracing_tween_factory

__all__ = ['PyramidTracer', 'PyramidTracing', 'includeme', 'trace', 'get_span',
           'opentracing_tween_factory']


def includeme(config):
    """Register the tracing tween and parse the ``ot.*`` settings.

    The tween sits under INGRESS, outermost, so that its span covers every
    other tween (pyramid_tm's commit among them) and it sees the response the
    exception view made. Settings are parsed in a deferred action, once, and
    written back as typed values, with the PyramidTracer under ``ot.tracer``
    and ``ot.tracing``.
    """
    def register():
        settings = parse_registry_settings(config.registry, config)
        if not settings['ot.trace_all']:
            logger.info('pyramid_opentracing: ot.trace_all is off, so requests are not traced '
                        'by the tween (only views decorated with @trace are); set '
                        'ot.trace_all = true to trace every request')

    config.action('pyramid_opentracing.settings', register, order=-10)
    # after every route is added (routes are connected in PHASE3_CONFIG)
    config.action('pyramid_opentracing.excluded_routes',
                  lambda: resolve_excluded_routes(config.registry), order=PHASE3_CONFIG + 1)
    # Late: after every include has added its request methods.
    config.action('pyramid_opentracing.traced_attributes',
                  lambda: check_traced_attributes(config.registry), order=CHECK_ORDER)
    # once every check passed: an application that fails to start claims nothing
    config.action('pyramid_opentracing.claim', lambda: claim(config.registry),
                  order=CHECK_ORDER + 1)
    config.add_tween('pyramid_opentracing.opentracing_tween_factory', under=INGRESS)
    config.add_subscriber('pyramid_opentracing.routing.on_before_traversal', BeforeTraversal)


#: The order of the start-up checks that need the whole configuration: after
#: Pyramid's own phases and the actions of includes (order 0).
CHECK_ORDER = 100

logger = logging.getLogger('pyramid_opentracing')

def trace(*attributes):
    """Decorator tracing one view with the tracer configured in the registry.

    The module-level twin of :meth:`PyramidTracer.trace`, for applications
    configured from an INI file that hold no tracer object of their own.
    ``@trace`` without parentheses is ``@trace()``.
    """
    return view_decorator(pyramid_tracer_of, attributes)


def get_span(request):
    """The server span of ``request``, whoever started it, or None."""
    return request.environ.get(ENVIRON_KEY)
