"""Streamed bodies: the span of a request ends when its body has been sent."""


def finish_on_close(response, strategy, span, request, status, error):
    """Make ``response`` finish ``span`` (through ``strategy.finish``) when
    the server closes its body.

    The span must be inactive already: the body is produced after the tween
    has returned, possibly on another thread.
    """
    content_length = response.content_length
    response.app_iter = FinishOnClose(response.app_iter, strategy, span, request, status, error)
    if content_length is not None:
        response.content_length = content_length  # setting app_iter dropped it


class FinishOnClose:
    """Wraps a streamed body and finishes the span when the server closes it.

    An exception raised while the body is produced marks the span as an error.
    """

    def __init__(self, app_iter, strategy, span, request, status, error):
        self.app_iter = app_iter
        self.strategy = strategy
        self.span = span
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
            span, self.span = self.span, None
            if span is not None:
                self.strategy.finish(span, self.request, self.status, self.error)
