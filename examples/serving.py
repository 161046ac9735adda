"""Serve a WSGI application with waitress on 127.0.0.1 for as long as a ``with`` block runs."""
import contextlib
import threading

import waitress
from waitress import wasyncore


@contextlib.contextmanager
def serving(app, threads=4):
    """Serve ``app`` on a port the OS picks; yield its base URL, stop on exit.

    The server's sockets, open keep-alive connections included, are closed
    from its own loop thread (closing them from another thread races with
    the loop), then its worker threads are joined.
    """
    server = waitress.create_server(app, host='127.0.0.1', port=0, threads=threads)
    loop = threading.Thread(target=server.run, name='waitress-loop', daemon=True)
    loop.start()
    try:
        yield 'http://127.0.0.1:%s' % server.effective_port
    finally:
        try:
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        except OSError:
            pass  # the loop closed its sockets, its trigger among them, already
        loop.join(10)
        server.task_dispatcher.shutdown()
