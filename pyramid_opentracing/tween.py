"""The tween: one server span around each request, from the outermost tween.

Its body is ``ServerSpans.start()``, the handler and ``ServerSpans.end()``
written out in one function, with the rare cases (a failing tracer, traced
attributes, a streamed body) handed back to ``ServerSpans``. It runs on
every request, and at this depth each Python call costs as much as a call
into the tracer: ``benchmarks/overhead.py`` compares it with a tween making
the tracer calls alone.
"""
from .request_span import ENVIRON_KEY, HTTP_HEADERS, outcome_of_exception
from .streaming import finish_on_close

#: Bodies that are complete when the tween returns; any other app_iter is
#: streamed by the server after the tween returns.
COMPLETE_BODIES = (list, tuple)


def opentracing_tween_factory(handler, registry):
    """Build the tween from the settings ``includeme`` parsed at start-up.

    With ``ot.trace_all`` off the handler itself is returned: no cost at all.
    """
    settings = registry.settings
    if not settings['ot.trace_all']:
        return handler
    owner = settings['ot.tracer']
    attributes = settings['ot.traced_attributes']
    selection = owner.selection
    headers = owner.span_headers
    # A tracer given at start-up is the tracer for good: look up how it makes
    # spans once. The global tracer may be replaced later: look it up per request.
    fixed_spans = None if owner.follows_global_tracer else owner.server_spans()

    def opentracing_tween(request):
        if selection is not None and not selection.traces(request):
            return handler(request)
        spans = fixed_spans or owner.server_spans()
        environ = request.environ
        noop_span = spans.noop_span
        if noop_span is not None:
            # the tracer records nothing: make no calls to it, but let views
            # find a (no-op) span to tag through get_span()
            environ[ENVIRON_KEY] = noop_span
            try:
                return handler(request)
            finally:
                environ.pop(ENVIRON_KEY, None)

        # start: extract the caller's context, start and activate the span
        method = environ.get('REQUEST_METHOD') or request.method
        try:
            try:
                parent = spans.tracer.extract(HTTP_HEADERS, request.headers)
            except Exception as exc:
                parent = spans.no_parent(exc)
            scope = spans.start_active(request, method, parent)
            span = scope.span
        except Exception as exc:
            spans.failed_to_start(exc)
            return handler(request)
        environ[ENVIRON_KEY] = span
        if (attributes or spans.owner.start_span_cb is not None) and not spans.decorate(
                scope, span, request, attributes):
            return handler(request)
        if headers is not None:
            headers.on_start(spans, span, request)

        try:
            response = handler(request)
        except BaseException as exc:
            spans.end(scope, request, method, *outcome_of_exception(exc, 500))
            raise
        if headers is not None:
            headers.on_response(spans, span, response)

        # end: deactivate, then finish now or when a streamed body is closed
        status = response.status_int
        error = getattr(request, 'exception', None) if status >= 500 else None
        try:
            scope.close()
        except Exception as exc:
            spans.force_deactivate(scope, span, exc)
        if not isinstance(response.app_iter, COMPLETE_BODIES):
            finish_on_close(response, spans, span, request, method, status, error)
            return response
        if environ.get(ENVIRON_KEY) is span:
            del environ[ENVIRON_KEY]
        try:
            spans.tag_outcome(span, request, method, status, error)
        except Exception as exc:
            spans.failed_to_tag(exc)
        try:
            span.finish()
        except Exception as exc:
            spans.failed_to_finish(exc)
        return response

    return opentracing_tween

