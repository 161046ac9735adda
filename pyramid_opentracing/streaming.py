"""Streamed bodies: the span of a request ends when the server closes its body.

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

Per PEP 3333, a server sends the headers with the first non-empty chunk: a
body that fails before it makes the server answer 500 (waitress and
gunicorn both do), so that is what the span says.
"""
import functools

from webob.response import AppIterRange


def finish_on_close(response, strategy, span, request, status, error):
    """Make ``response`` finish ``span`` (through ``strategy.finish``) when
    the server closes its body.

    The span must be inactive already: the body is produced after the tween
    has returned, possibly on another thread.
    """
    end = SpanEnd(functools.partial(strategy.finish, span, request), status, error)
    app_iter = response.app_iter
    file_wrapper = request.environ.get('wsgi.file_wrapper')
    is_file_wrapper = isinstance(file_wrapper, type) and type(app_iter) is file_wrapper
    if is_file_wrapper and hook_close(app_iter, end):
        return
    content_length = response.content_length
    response.app_iter = ClosingBody(app_iter, end)
    if content_length is not None:
        response.content_length = content_length  # setting app_iter dropped it


class SpanEnd:
    """The end of a request's span, deferred until its body is closed.

    ``finish(status, error)`` tags and finishes the span; :meth:`done`
    calls it once, however often it is called.
    """

    __slots__ = ('_finish', 'status', 'error')

    def __init__(self, finish, status, error):
        self._finish = finish
        self.status = status
        self.error = error

    def failed(self, exc, headers_sent):
        """The body raised ``exc``: before the headers were sent, the server answers 500."""
        self.error = exc
        if not headers_sent:
            self.status = 500

    def done(self):
        finish, self._finish = self._finish, None
        if finish is not None:
            finish(self.status, self.error)


def ranged(app_iter, start, stop):
    """The bytes ``start:stop`` of ``app_iter``, as ``Response.app_iter_range`` makes them."""
    own = getattr(app_iter, 'app_iter_range', None)
    return AppIterRange(app_iter, start, stop) if own is None else own(start, stop)


class ClosingBody:
    """An iterator over a streamed body that ends the span when it is closed.

    WebOb serves a ``Range`` of a conditional response through
    :meth:`app_iter_range`; the span then says 206, the status sent.
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
        if part is not None:
            self.app_iter = part
            self.end.status = 206
        return None if part is None else self

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

    def app_iter_range(start, stop):
        end.status = 206
        return AppIterRange(file_wrapper, start, stop)
    try:
        file_wrapper.close = close
        if not hasattr(file_wrapper, 'app_iter_range'):
            file_wrapper.app_iter_range = app_iter_range
    except AttributeError:
        return False  # then wrapped: if its close is hooked already, the span still ends once
    return True
