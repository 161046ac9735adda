"""The threads of the exit flush, also where the interpreter refuses to start
one at exit.

The flush at exit waits for each provider, and for the spans still running,
on a thread of its own, so that the exit takes its timeout and no longer.
Python 3.12.0 and 3.12.1 raise RuntimeError when an exit callback starts a
thread; there, threads are started ahead, idle until the exit hands each its
one job: :func:`keep` says how many the exit would use.
"""
import os
import queue
import sys
import threading

__all__ = ['REFUSED_AT_EXIT', 'keep', 'start_daemon']

#: Whether this interpreter refuses to start a thread in an exit callback.
REFUSED_AT_EXIT = (3, 12, 0) <= sys.version_info[:3] < (3, 12, 2)

_NAME = 'pyramid_opentracing exit flush'
_lock = threading.Lock()
_standbys = []  # the StandbyThreads ready, where the exit needs them
_wanted = {'count': 0, 'fork hook': False}


def start_daemon(target, *args):
    """``target(*args)`` on a daemon thread: a new one, else (where the
    interpreter refuses new threads at exit) one started ahead, else this
    one. Returns what to ``join``."""
    worker = threading.Thread(target=target, args=args, daemon=True, name=_NAME)
    try:
        worker.start()
    except RuntimeError:  # "can't create new thread at interpreter shutdown"
        with _lock:
            standby = _standbys.pop() if _standbys else None
        if standby is None:
            target(*args)
            return _Done()
        standby.run(target, args)
        return standby
    return worker


def keep(count):
    """Where the exit needs them, keep ``count`` threads started ahead."""
    if not REFUSED_AT_EXIT:
        return
    with _lock:
        _wanted['count'] = count
        if not _wanted['fork hook']:
            os.register_at_fork(after_in_child=_after_fork)
            _wanted['fork hook'] = True
        _adjust()


def _adjust():
    while len(_standbys) < _wanted['count']:
        _standbys.append(StandbyThread())
    while len(_standbys) > _wanted['count']:
        _standbys.pop().run(_nothing, ())  # its one job done, the thread ends


def _nothing():
    pass


def _after_fork():
    """A forked child has none of its parent's threads: start its own."""
    global _lock
    _lock = threading.Lock()
    del _standbys[:]
    _adjust()


class StandbyThread:
    """A daemon thread started ahead, waiting for one job."""

    def __init__(self):
        self._job = queue.SimpleQueue()
        self._done = threading.Event()
        threading.Thread(target=self._work, daemon=True, name=_NAME).start()

    def _work(self):
        target, args = self._job.get()
        try:
            target(*args)
        finally:
            self._done.set()

    def run(self, target, args):
        self._job.put((target, args))

    def join(self, timeout=None):
        self._done.wait(timeout)


class _Done:
    """What :func:`start_daemon` returns when it ran its target itself."""

    def join(self, timeout=None):
        pass
