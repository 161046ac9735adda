"""Distributed tracing for Pyramid through the OpenTracing API.

``config.include('pyramid_opentracing')`` parses the ``ot.*`` settings at
start-up and installs a tween that traces each request when ``ot.trace_all``
is true. :class:`PyramidTracer` and :func:`trace` trace single views.
"""
from pyramid.tweens import INGRESS

from .decorator import traced_view
from .request_span import ENVIRON_KEY
from .settings import parse_settings
from .tracer import PyramidTracer, PyramidTracing
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
        settings = config.registry.settings
        settings.update(parse_settings(settings, config))

    config.action('pyramid_opentracing.settings', register, order=-10)
    config.add_tween('pyramid_opentracing.opentracing_tween_factory', under=INGRESS)


#: The PyramidTracer of applications that did not include the package.
_global_pyramid_tracer = PyramidTracer()


def pyramid_tracer_of(request):
    """The PyramidTracer configured for the request's application.

    Falls back to one on the global tracer where ``includeme`` did not run.
    """
    settings = request.registry.settings
    pyramid_tracer = settings.get('ot.tracer') if settings else None
    if isinstance(pyramid_tracer, PyramidTracer):
        return pyramid_tracer
    return _global_pyramid_tracer


def trace(*attributes):
    """Decorator tracing one view with the tracer configured in the registry.

    The module-level twin of :meth:`PyramidTracer.trace`, for applications
    configured from an INI file that hold no tracer object of their own.
    """
    return lambda view: traced_view(view, pyramid_tracer_of, attributes)


def get_span(request):
    """The server span of ``request``, whoever started it, or None."""
    return request.environ.get(ENVIRON_KEY)
