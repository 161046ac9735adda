"""The tween: one server span around each request, from the outermost tween."""
from .request_span import outcome_of_exception


def opentracing_tween_factory(handler, registry):
    """Build the tween from the settings ``includeme`` parsed at start-up.

    With ``ot.trace_all`` off the handler itself is returned: no cost at all.
    """
    settings = registry.settings
    if not settings['ot.trace_all']:
        return handler
    pyramid_tracer = settings['ot.tracer']
    attributes = settings['ot.traced_attributes']
    # a tracer given at start-up is the tracer for good; the global tracer may
    # be replaced after start-up, so its strategy is looked up per request
    fixed_strategy = (None if pyramid_tracer.follows_global_tracer
                      else pyramid_tracer.server_span_strategy())

    def opentracing_tween(request):
        strategy = fixed_strategy or pyramid_tracer.server_span_strategy()
        scope = strategy.start(request)
        if scope is None:
            return handler(request)
        try:
            response = handler(request)
        except BaseException as exc:
            strategy.end(scope, request, attributes, *outcome_of_exception(exc, 500))
            raise
        return strategy.end_with_response(scope, request, attributes, response)

    return opentracing_tween
