"""Spans that end after the tween returns: once the response callbacks have
run (:func:`finish_after_callbacks`), and when the server closes a streamed body.

A body that is not complete when the tween returns (an ``app_iter`` that is
not a list) is produced by the server afterwards. WSGI promises one thing
about it whatever the server, WebOb or a middleware does with it (iterate it
fully or partly, serve a ``Range`` of it, answer ``HEAD`` or ``304``
without reading it, send it with ``sendfile``): its ``close()`` is called
once it is done with. That is where the span finishes, exactly once.

* The server's own ``wsgi.file_wrapper`` object is not wrapped: servers
  check its type to send the file directly (waitress, gunicorn). Its
  ``close`` is hooked on the instance instead.
* Any other body is wrapped in :class:`ClosingBody`, an iterator, so that
  WebOb's ``AppIterRange`` (which calls ``iter()`` on what it gets) still
  closes the wrapper and not an inner generator.

A conditional response (``conditional_response=True``: ``FileResponse``,
static views) may be sent as a 206, 304 or 416 decided by WebOb as the
server calls it: :func:`record_sent_status` lets the span say which.

Per PEP 3333, a server sends the headers with the first non-empty chunk: a
body that fails before it makes the server answer 500 (waitress and
gunicorn both do), so that is what the span says.
"""
import functools
import sys

from ._pyramid import ranged, run_finished_callbacks, run_first_when_finished

__all__ = ['ClosingBody', 'SpanEnd', 'close_ends', 'conditional_status', 'finish_after_callbacks',
           'finish_on_close', 'sent_status']


def finish_on_close(response, strategy, span, request, status, error):
    """Make ``response`` finish ``span`` (through ``strategy.finish``) when
    the server closes its body.

    The span must be inactive already: the body is produced after the tween
    has returned, possibly on another thread. Returns the :class:`SpanEnd`.
    """
    end = SpanEnd(functools.partial(strategy.finish, span, request), status, error)
    if response.conditional_response:
        record_sent_status(response, end)
    app_iter = response.app_iter
    file_wrapper = request.environ.get('wsgi.file_wrapper')
    is_file_wrapper = isinstance(file_wrapper, type) and type(app_iter) is file_wrapper
    if is_file_wrapper and hook_close(app_iter, end):
        end.body = app_iter
        return end
    close_ends(response, end)
    return end


def finish_after_callbacks(strategy, span, request, response, error, end):
    """Finish ``span`` (through ``strategy``, a ServerSpanStrategy) once the
    request's response callbacks have run:
    Pyramid runs them after the tweens, and they may change the
    response's status, replace its body, or fail (the client then gets a
    500). Done in a finished callback, which Pyramid runs right after
    them whatever they do, put first so that another finished callback
    failing cannot skip it (it runs the others itself, as Pyramid would,
    to see whether one fails); a streamed body (``end``, its
    :class:`SpanEnd`) still finishes when the server closes
    it, with the status the callbacks left, unless they failed."""
    # an exception being handled around the whole request is not theirs
    around = sys.exc_info()[1]

    def finished(request):
        failure = sys.exc_info()[1]  # what a callback raised goes by now
        if failure is around:
            failure = None
        later = None
        if failure is None:
            later = failure = run_finished_callbacks(request)
        try:
            if failure is not None:
                status, failed = 500, failure  # no exception view is left to answer
                if end is None:
                    strategy.finish(span, request, status, failed)
                else:  # the body is not sent: nothing will close it
                    end.status, end.error = status, failed
                    end.done()
            elif end is None:
                strategy.finish(span, request,
                            sent_status(response, request.environ, response.status_int), error)
            else:
                end.status = response.status_int
                if response.app_iter is not end.body:  # replaced, or wrapped (gzip)
                    close_ends(response, end)
        except Exception as exc:
            strategy.report('reading the response', exc, 'its span may be incomplete')
            if end is None:
                strategy.finish(span, request, None, error)
            else:
                end.done()
        if later is not None:
            raise later  # as Pyramid would have raised it
    run_first_when_finished(request, finished)


def sent_status(response, environ, status):
    """The status a complete ``response`` whose status is ``status`` is sent
    with: that one, or for a conditional response, what WebOb makes of the
    request's validators and ``Range``."""
    if response.conditional_response:
        return conditional_status(response, environ)
    return status


def close_ends(response, end):
    """Make the server's closing ``response``'s body, as it is now, do
    ``end`` (a :class:`SpanEnd`); also when the body replaced (or wraps) the
    one an earlier call hooked."""
    content_length = response.content_length
    response.app_iter = end.body = ClosingBody(response.app_iter, end)
    if content_length is not None:
        response.content_length = content_length  # setting app_iter dropped it


class SpanEnd:
    """The end of a request's span, deferred until its body is closed.

    ``finish(status, error)`` tags and finishes the span; :meth:`done`
    calls it once, however often it is called, and not before
    :meth:`release` if :meth:`hold` was called.
    """

    __slots__ = ('_finish', 'status', 'error', '_held', '_done_when_released', 'body')

    def __init__(self, finish, status, error):
        self._finish = finish
        self.status = status
        self.error = error
        self._held = False
        self._done_when_released = False
        #: The body that finishes the span when the server closes it.
        self.body = None

    def hold(self):
        self._held = True

    def release(self):
        self._held = False
        if self._done_when_released:
            self.done()

    def failed(self, exc, headers_sent):
        """The body raised ``exc``: before the headers were sent, the server answers 500."""
        self.error = exc
        if not headers_sent:
            self.status = 500

    def done(self):
        if self._held:
            self._done_when_released = True
            return
        finish, self._finish = self._finish, None
        if finish is not None:
            finish(self.status, self.error)


def record_sent_status(response, end):
    """Make ``end`` take the status ``response`` sends when the server calls it.

    WebOb decides it then, from the request's ``Range`` and validators,
    and may close the body before it sends a 416: the end is held meanwhile.
    """
    respond = response.conditional_response_app

    def conditional_response_app(environ, start_response):
        def start_and_record(status, headers, exc_info=None):
            end.status = int(status.split(None, 1)[0])
            return start_response(status, headers, exc_info)
        end.hold()
        try:
            return respond(environ, start_and_record)
        finally:
            end.release()
    response.conditional_response_app = conditional_response_app


def conditional_status(response, environ):
    """The status WebOb will send for ``response``, a conditional response
    with a complete body (a list): 304, 206 or 416 as the request's
    validators and ``Range`` say, else its own. WebOb decides it when the
    server calls the response, after the tween; asked now, it reads headers
    only (a list body has nothing to close)."""
    sent = []

    def start_response(status, headers, exc_info=None):
        sent.append(int(status.split(None, 1)[0]))

    response.conditional_response_app(dict(environ), start_response)
    return sent[0] if sent else response.status_int


class ClosingBody:
    """An iterator over a streamed body that ends the span when it is closed.

    WebOb serves a ``Range`` of a conditional response through
    :meth:`app_iter_range`, which uses the body's own if it has one (a
    ``FileIter`` seeks instead of reading up to the range).
    """

    def __init__(self, app_iter, end):
        self.app_iter = app_iter
        self.end = end
        self._chunks = None
        self._headers_sent = False

    def __iter__(self):
        return self

    def __next__(self):
        try:
            if self._chunks is None:
                self._chunks = iter(self.app_iter)
            chunk = next(self._chunks)
        except StopIteration:
            raise
        except Exception as exc:
            self.end.failed(exc, self._headers_sent)
            raise
        if chunk:
            self._headers_sent = True
        return chunk

    def app_iter_range(self, start, stop):
        part = ranged(self.app_iter, start, stop)
        if part is None:
            return None
        self.app_iter = part
        return self

    def close(self):
        try:
            close = getattr(self.app_iter, 'close', None)
            if close is not None:
                close()
        except Exception as exc:
            self.end.failed(exc, True)
            raise
        finally:
            self.end.done()


def hook_close(file_wrapper, end):
    """Make the server's ``file_wrapper`` object end the span when closed,
    leaving its type alone; False if the object takes no new attributes."""
    own_close = getattr(file_wrapper, 'close', None)

    def close():
        try:
            if own_close is not None:
                own_close()
        finally:
            end.done()

    try:
        file_wrapper.close = close
    except AttributeError:
        return False
    return True
