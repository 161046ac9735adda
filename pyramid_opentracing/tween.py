"""The tween: one server span around each request, from the outermost tween."""
from .request_span import RequestSpan, outcome_of_exception

#: Bodies that are complete when the tween returns; any other app_iter is
#: streamed by the server after the tween returns.
_COMPLETE_BODIES = (list, tuple)


def opentracing_tween_factory(handler, registry):
    """Build the tween from the settings ``includeme`` parsed at start-up.

    With ``ot.trace_all`` off the handler itself is returned: no cost at all.
    """
    settings = registry.settings
    if not settings['ot.trace_all']:
        return handler
    owner = settings['ot.tracer']
    attributes = settings['ot.traced_attributes']
    start = RequestSpan.start

    def opentracing_tween(request):
        state = start(owner, request, attributes, request.method)
        if state is None:
            return handler(request)
        try:
            response = handler(request)
        except BaseException as exc:
            state.end(request, *outcome_of_exception(exc, 500))
            raise
        return end_with_response(state, request, response)

    return opentracing_tween


def end_with_response(state, request, response):
    """End the span with the response the client gets.

    A streamed body (any app_iter but a list) is still being produced, so the
    span is finished when the server closes it, as WSGI requires it to.
    """
    status = response.status_int
    error = getattr(request, 'exception', None) if status >= 500 else None
    app_iter = response.app_iter
    if isinstance(app_iter, _COMPLETE_BODIES):
        state.end(request, status, error)
        return response
    state.deactivate()
    content_length = response.content_length
    response.app_iter = FinishOnClose(app_iter, state, request, status, error)
    if content_length is not None:
        response.content_length = content_length  # setting app_iter dropped it
    return response


class FinishOnClose:
    """Wraps a streamed body and finishes the span when the server closes it.

    An exception raised while the body is produced marks the span as an error.
    """

    def __init__(self, app_iter, state, request, status, error):
        self.app_iter = app_iter
        self.state = state
        self.request = request
        self.status = status
        self.error = error

    def __iter__(self):
        try:
            yield from self.app_iter
        except Exception as exc:
            self.error = exc
            raise

    def close(self):
        try:
            close = getattr(self.app_iter, 'close', None)
            if close is not None:
                close()
        except Exception as exc:
            self.error = exc
            raise
        finally:
            state, self.state = self.state, None
            if state is not None:
                state.finish(self.request, self.status, self.error)
