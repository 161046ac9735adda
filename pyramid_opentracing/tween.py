"""The tween: one server span around each request, from the outermost tween."""
from .request_span import ENVIRON_KEY, outcome_of_exception


def opentracing_tween_factory(handler, registry):
    """Build the tween from the settings ``includeme`` parsed at start-up.

    With ``ot.trace_all`` off the handler itself is returned: no cost at all.
    """
    settings = registry.settings
    if not settings['ot.trace_all']:
        return handler
    owner = settings['ot.tracer']
    attributes = settings['ot.traced_attributes']
    # A tracer given at start-up is the tracer for good: look up how it makes
    # spans once. The global tracer may be replaced later: look it up per request.
    fixed_spans = None if owner.follows_global_tracer else owner.server_spans()

    def opentracing_tween(request):
        spans = fixed_spans or owner.server_spans()
        if spans.noop_span is not None:
            return serve_with_noop_span(handler, request, spans.noop_span)
        method = request.environ.get('REQUEST_METHOD') or request.method  # saves a call
        scope = spans.start(request, attributes, method)
        if scope is None:
            return handler(request)
        try:
            response = handler(request)
        except BaseException as exc:
            spans.end(scope, request, method, *outcome_of_exception(exc, 500))
            raise
        return spans.end_with_response(scope, request, method, response)

    return opentracing_tween


def serve_with_noop_span(handler, request, noop_span):
    """Serve ``request`` for a tracer that records nothing, making no tracer
    calls; views still find a (no-op) span to tag through get_span()."""
    environ = request.environ
    environ[ENVIRON_KEY] = noop_span
    try:
        return handler(request)
    finally:
        if environ.get(ENVIRON_KEY) is noop_span:
            del environ[ENVIRON_KEY]
