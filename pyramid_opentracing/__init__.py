"""Distributed tracing for Pyramid through the OpenTracing API.

``config.include('pyramid_opentracing')`` parses the ``ot.*`` settings at
start-up and installs a tween that traces each request when ``ot.trace_all``
is true. :class:`PyramidTracer` and :func:`trace` trace single views.
"""
import logging
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar, overload

import opentracing
from pyramid.events import BeforeRender
from pyramid.tweens import INGRESS

from .browser import add_renderer_globals
from .config import configure
from .internals import register as register_internals
from .decorator import view_decorator
from .lifecycle import ENVIRON_KEY
from .routing import NAMED_BY_VIEWS
from .tracer import PyramidTracer, PyramidTracing, pyramid_tracer_of
from .tween import opentracing_tween_factory

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request

__all__ = ['PyramidTracer', 'PyramidTracing', 'includeme', 'trace', 'get_span',
           'opentracing_tween_factory']

#: The order of ``includeme``'s action: after Pyramid's own phases and the
#: actions of includes (order 0), so that every route, request method and
#: explicit tween is known when the settings are checked against them.
CONFIGURE_ORDER = 100


def includeme(config: 'Configurator') -> None:
    """Register the tracing tween and parse the ``ot.*`` settings.

    The tween sits under INGRESS, outermost, so that its span covers every
    other tween (pyramid_tm's commit among them) and it sees the response the
    exception view made. Settings are parsed in one deferred action, once, and
    written back as typed values, with the PyramidTracer under ``ot.tracer``
    and ``ot.tracing``. The view derivers tell the span which view served the
    request, and make the ``view`` and ``renderer`` spans of
    ``ot.trace_internals``; the rest of it is registered by the action.
    """
    config.add_tween('pyramid_opentracing.opentracing_tween_factory', under=INGRESS)
    setattr(config.registry, NAMED_BY_VIEWS, True)  # the view deriver says when routing is done
    config.add_view_deriver('pyramid_opentracing.views.view_deriver',
                            name='pyramid_opentracing_view', under='rendered_view',
                            over='mapped_view')
    config.add_view_deriver('pyramid_opentracing.views.renderer_deriver',
                            name='pyramid_opentracing_renderer', over='rendered_view')
    config.action('pyramid_opentracing.config', lambda: _configure(config),
                  order=CONFIGURE_ORDER)


def _configure(config: 'Configurator') -> None:
    """``includeme``'s action: configure, and say when the tween traces nothing."""
    settings = configure(config.registry, config.maybe_dotted)
    register_internals(config.registry, settings['ot.trace_internals'])
    if settings['ot.traceparent_meta']:  # a subscriber makes Pyramid send every event
        config.registry.registerHandler(add_renderer_globals, (BeforeRender,))
    if not settings['ot.trace_all']:
        logging.getLogger('pyramid_opentracing').info(
            'pyramid_opentracing: ot.trace_all is off, so requests are not traced by the '
            'tween (only views decorated with @trace are); set ot.trace_all = true to trace '
            'every request')


#: A view function (or method), as ``@trace`` returns it: the same signature.
_View = TypeVar('_View', bound=Callable[..., Any])


@overload
def trace(view: _View, /) -> _View: ...
@overload
def trace(*attributes: str) -> Callable[[_View], _View]: ...
def trace(*attributes: Any) -> Any:
    """Decorator tracing one view with the tracer configured in the registry.

    The module-level twin of :meth:`PyramidTracer.trace`, for applications
    configured from an INI file that hold no tracer object of their own.
    ``@trace`` without parentheses is ``@trace()``.
    """
    return view_decorator(pyramid_tracer_of, attributes)


def get_span(request: 'Request') -> Optional[opentracing.Span]:
    """The server span of ``request``, whoever started it, or None."""
    return request.environ.get(ENVIRON_KEY)
