"""The tween: one server span around each request, from the outermost tween."""
import logging

from pyramid.path import DottedNameResolver

from .config import configure, is_configured
from .internals import skip_subrequests
from .routing import subscribe

__all__ = ['opentracing_tween_factory']

logger = logging.getLogger('pyramid_opentracing')


def opentracing_tween_factory(handler, registry):
    """Build the tween from the settings ``includeme`` parsed at start-up.

    Registered without ``includeme`` (``pyramid.tweens`` in an INI file, or
    ``config.add_tween``), it parses them itself, as ``includeme`` would.
    With ``ot.trace_all`` off the handler itself is returned: no cost at all.
    """
    if not is_configured(registry) and registry.settings.get('ot.trace_all') is None:
        logger.warning('pyramid_opentracing: the tween is registered without the include and '
                       'ot.trace_all is not set, so it traces nothing (1.0 traced every '
                       'request by default): set ot.trace_all = true')
    settings = configure(registry, DottedNameResolver().maybe_resolve)
    if not settings['ot.trace_all']:
        return handler
    subscribe(registry)  # names the span once routing is done, if includeme did not
    pyramid_tracer = settings['ot.tracer']
    attributes = settings['ot.traced_attributes']
    # which requests are traced: None for all
    traces = None if pyramid_tracer.selection is None else pyramid_tracer.selection.traces
    if 'subrequest' in settings['ot.trace_internals']:  # its span serves a subrequest
        traces = skip_subrequests(traces)
    # a tracer given at start-up is the tracer for good; the global tracer may
    # be replaced after start-up, so its strategy is looked up per request
    fixed_strategy = (None if pyramid_tracer.follows_global_tracer
                      else pyramid_tracer.server_span_strategy())

    def opentracing_tween(request):
        if traces is not None and not traces(request):
            return handler(request)  # no span, no tracer call
        strategy = fixed_strategy or pyramid_tracer.server_span_strategy()
        return strategy.serve(request, handler, attributes)

    return opentracing_tween
