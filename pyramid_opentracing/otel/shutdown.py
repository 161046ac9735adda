"""The bridge's spans leave the process when it ends, within ``ot.otel.timeout``.

The SDK flushes a provider at exit without a bound (a dead collector holds
the exit for as long as its retries last) and not at all on SIGTERM, which
kills the process at once: every queued span is lost. Here each provider is
shut down at exit and on SIGTERM, in a thread given ``timeout`` seconds; the
spans that did not make it are counted in one log line. The spans of ours
still running (a request in flight) are ended first, marked as not
completed (:mod:`.live_spans`), so that they leave with the others.

SIGTERM is handled only where nobody else does: if the process already has a
SIGTERM handler (gunicorn's worker, the application's own), it is left alone,
since it decides how the process ends and a normal exit flushes at exit.
After flushing, the process ends as SIGTERM would have ended it.

A second SIGTERM or SIGINT while the exit waits for the collector (Ctrl-C
pressed twice) ends the process at once, as that signal does by default,
after the line counting the spans still queued; so does an exception a
handler of the application raises then, which goes on its way after the line.
"""
import atexit
import contextlib
import logging
import os
import queue
import signal
import sys
import threading
import time

from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

logger = logging.getLogger('pyramid_opentracing')

_providers = []  # the ProviderExit of every provider made, in order
_lock = threading.RLock()  # re-entrant: the SIGTERM handler may interrupt its holder
_installed = {'atexit': False, 'SIGTERM': False}


class SpanLedger:
    """How many sampled spans were queued for export, and how many got there."""

    def __init__(self):
        self.ended = 0
        self.exported = 0
        self.lock = threading.Lock()

    @property
    def lost(self):
        return self.ended - self.exported


class CountingBatchSpanProcessor(BatchSpanProcessor):
    """The SDK's batch processor, counting the spans it queues and exports."""

    def __init__(self, exporter, **kwargs):
        self.ledger = SpanLedger()
        super().__init__(CountExported(exporter, self.ledger), **kwargs)

    def on_end(self, span):
        if span.context.trace_flags.sampled:
            with self.ledger.lock:
                self.ledger.ended += 1
        super().on_end(span)


class CountExported(SpanExporter):
    """``exporter``, counting the spans it exports successfully."""

    def __init__(self, exporter, ledger):
        self.exporter = exporter
        self.ledger = ledger

    def export(self, spans):
        result = self.exporter.export(spans)
        if result is SpanExportResult.SUCCESS:
            with self.ledger.lock:
                self.ledger.exported += len(spans)
        return result

    def shutdown(self):
        self.exporter.shutdown()

    def force_flush(self, timeout_millis=30000):
        return self.exporter.force_flush(timeout_millis)


#: Why the spans still running at the exit did not complete.
EXITED = 'the process exited before the request completed'
TERMINATED = 'the process was terminated before the request completed'


class ProviderExit:
    """Shuts ``provider`` (a TracerProvider, or a MeterProvider with no
    ``ledger``) down within ``timeout`` seconds, once, and logs what spans
    were lost on the way to ``destination``; ``live`` (a LiveSpans of the
    provider, or None) has the spans to end first."""

    def __init__(self, provider, ledger, timeout, destination, live=None):
        self.provider = provider
        self.ledger = ledger
        self.timeout = timeout
        self.destination = destination
        self.live = live
        self.done = False
        self.reported = False

    def start(self):
        """Start shutting the provider down, on a daemon thread (the
        interpreter does not wait for it at exit); None if done already."""
        if self.done:
            return None
        self.done = True
        return start_daemon(self.provider.shutdown)

    def finish(self, worker, deadline):
        """Wait for ``worker`` until ``deadline``, then say what was lost."""
        worker.join(max(0.0, deadline - time.monotonic()))
        self.report('not accepted within ot.otel.timeout = %g s' % self.timeout)

    def report(self, why):
        """Log, once, how many spans were not exported, and ``why``."""
        if self.reported or self.ledger is None:  # a MeterProvider: no spans to count
            return
        self.reported = True
        lost = self.ledger.lost
        if lost > 0:
            logger.warning('pyramid_opentracing: %d of %d spans were not exported to %s (%s)',
                           lost, self.ledger.ended, self.destination, why)


def start_daemon(target, *args):
    """``target(*args)`` on a daemon thread: a new one, else (where the
    interpreter refuses new threads at exit) one started ahead, else this
    one. Returns what to ``join``."""
    worker = threading.Thread(target=target, args=args, daemon=True, name=_THREAD_NAME)
    try:
        worker.start()
    except RuntimeError:  # "can't create new thread at interpreter shutdown"
        with _lock:
            worker = _standbys.pop() if _standbys else None
        if worker is None:
            target(*args)
            return _Done()
        worker.run(target, args)
    return worker


_THREAD_NAME = 'pyramid_opentracing exit flush'

#: Whether this interpreter refuses to start a thread in an exit callback,
#: as Python 3.12.0 and 3.12.1 do: there the exit's work runs on threads
#: started ahead, to keep its timeout.
THREADS_REFUSED_AT_EXIT = (3, 12, 0) <= sys.version_info[:3] < (3, 12, 2)

_standbys = []  # the StandbyThreads ready for the exit, where it needs them


class StandbyThread:
    """A daemon thread started ahead, waiting for the one job of the exit."""

    def __init__(self):
        self._job = queue.SimpleQueue()
        self._done = threading.Event()
        threading.Thread(target=self._work, daemon=True, name=_THREAD_NAME).start()

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
    """What ``start_daemon`` returns when it ran its target itself."""

    def join(self, timeout=None):
        pass


def keep_standbys():
    """Where the exit needs them, keep as many StandbyThreads as it would
    use: one per provider still to shut down, and one to end live spans."""
    if not THREADS_REFUSED_AT_EXIT:
        return
    with _lock:
        pending = sum(not each.done for each in _providers)
        needed = pending + 1 if pending else 0
        while len(_standbys) < needed:
            _standbys.append(StandbyThread())
        while len(_standbys) > needed:
            _standbys.pop().run(_nothing, ())  # its job done, the thread ends


def _nothing():
    pass


def _standbys_after_fork():
    """A forked child has none of its parent's threads: start its own."""
    del _standbys[:]
    keep_standbys()


def flush_at_exit(provider, ledger, timeout, destination, live=None):
    """Shut ``provider`` down when the process exits or receives SIGTERM,
    ending the spans of ``live`` still running first."""
    with _lock:
        _providers.append(ProviderExit(provider, ledger, timeout, destination, live))
        if not _installed['atexit']:
            atexit.register(shut_down_all)
            if THREADS_REFUSED_AT_EXIT:
                os.register_at_fork(after_in_child=_standbys_after_fork)
            _installed['atexit'] = True
        keep_standbys()
    install_sigterm_handler()


def shut_down(provider):
    """Shut ``provider`` down now, once: the flush at exit then leaves it
    alone (a second shutdown makes the SDK's MeterProvider complain)."""
    with _lock:
        for provider_exit in _providers:
            if provider_exit.provider is provider:
                provider_exit.done = True
        keep_standbys()
    provider.shutdown()


def shut_down_all(why=EXITED):
    """End the spans still running (``why`` they did not complete), then
    shut every provider down at once, each within its timeout: the exit
    takes the longest timeout, not their sum."""
    with _lock:
        pending = [each for each in _providers if not each.done]
        del _providers[:]
    if not pending:
        return
    started = time.monotonic()
    end_live_spans(pending, why, started + min(each.timeout for each in pending))
    workers = [(each, each.start()) for each in pending]
    try:
        with second_signals_end_the_exit(pending):
            for provider_exit, worker in workers:
                if worker is not None:
                    provider_exit.finish(worker, started + provider_exit.timeout)
    except BaseException as exc:  # a handler of the application ended the wait
        report_all(pending, 'the exit flush was cut short by %s' % type(exc).__name__)
        raise


def end_live_spans(pending, why, deadline):
    """End the spans still running, on a thread given until ``deadline``:
    a signal handler may have interrupted the thread that holds a span's
    lock, and must not wait for it forever."""
    lives = [each.live for each in pending if each.live is not None]
    if any(live.running() for live in lives):
        start_daemon(end_all, lives, why).join(max(0.0, deadline - time.monotonic()))


def end_all(lives, why):
    for live in lives:
        live.end_all(why)


def report_all(pending, why):
    for provider_exit in pending:
        provider_exit.report(why)


#: The signals that end a process, which a second time end it at once.
ENDING_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextlib.contextmanager
def second_signals_end_the_exit(pending):
    """While the exit waits for the flush of ``pending``, SIGTERM and SIGINT
    (unless the application handles them) log what is still queued, then end
    the process as they do by default. Set from the main thread only."""
    def on_second_signal(signum, frame):
        report_all(pending, 'the exit flush was cut short by %s' % signal.Signals(signum).name)
        end_as(signum)

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in ENDING_SIGNALS:
            if signal.getsignal(signum) in (signal.SIG_DFL, signal.default_int_handler, on_sigterm):
                previous[signum] = signal.signal(signum, on_second_signal)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def install_sigterm_handler():
    """Flush on SIGTERM, once per process, from the main thread, unless the
    process handles (or ignores) SIGTERM already."""
    if _installed['SIGTERM'] or threading.current_thread() is not threading.main_thread():
        return
    _installed['SIGTERM'] = True
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return
    signal.signal(signal.SIGTERM, on_sigterm)


def on_sigterm(signum, frame):
    """Flush, then end the process as SIGTERM does by default (also when a
    handler of the application cut the flush short with an exception)."""
    try:
        shut_down_all(TERMINATED)
    finally:
        end_as(signum)


def end_as(signum):
    """End the process as ``signum`` does by default."""
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
