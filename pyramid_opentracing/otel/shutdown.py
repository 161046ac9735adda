"""The bridge's spans leave the process when it ends, within ``ot.otel.timeout``.

The SDK flushes a provider at exit without a bound (a dead collector holds
the exit for as long as its retries last) and not at all on SIGTERM, which
kills the process at once: every queued span is lost. Here each provider is
shut down at exit and on SIGTERM, in a thread given ``timeout`` seconds; the
spans that did not make it are counted in one log line.

SIGTERM is handled only where nobody else does: if the process already has a
SIGTERM handler (gunicorn's worker, the application's own), it is left alone,
since it decides how the process ends and a normal exit flushes at exit.
After flushing, the process ends as SIGTERM would have ended it.
"""
import atexit
import logging
import os
import signal
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


class ProviderExit:
    """Shuts ``provider`` (a TracerProvider, or a MeterProvider with no
    ``ledger``) down within ``timeout`` seconds, once, and logs what spans
    were lost on the way to ``destination``."""

    def __init__(self, provider, ledger, timeout, destination):
        self.provider = provider
        self.ledger = ledger
        self.timeout = timeout
        self.destination = destination
        self.done = False

    def start(self):
        """Start shutting the provider down, on a daemon thread (the
        interpreter does not wait for it at exit); None if done already."""
        if self.done:
            return None
        self.done = True
        worker = threading.Thread(target=self.provider.shutdown, daemon=True,
                                  name='pyramid_opentracing exit flush')
        worker.start()
        return worker

    def finish(self, worker, deadline):
        """Wait for ``worker`` until ``deadline``, then say what was lost."""
        worker.join(max(0.0, deadline - time.monotonic()))
        if self.ledger is None:  # a MeterProvider: no spans to count
            return
        lost = self.ledger.lost
        if lost > 0:
            logger.warning('pyramid_opentracing: %d of %d spans were not exported to %s '
                           '(not accepted within ot.otel.timeout = %g s)',
                           lost, self.ledger.ended, self.destination, self.timeout)


def flush_at_exit(provider, ledger, timeout, destination):
    """Shut ``provider`` down when the process exits or receives SIGTERM."""
    with _lock:
        _providers.append(ProviderExit(provider, ledger, timeout, destination))
        if not _installed['atexit']:
            atexit.register(shut_down_all)
            _installed['atexit'] = True
    install_sigterm_handler()


def shut_down(provider):
    """Shut ``provider`` down now, once: the flush at exit then leaves it
    alone (a second shutdown makes the SDK's MeterProvider complain)."""
    with _lock:
        for provider_exit in _providers:
            if provider_exit.provider is provider:
                provider_exit.done = True
    provider.shutdown()


def shut_down_all():
    """Shut every provider down at once, each within its timeout: the exit
    takes the longest timeout, not their sum."""
    with _lock:
        pending = list(_providers)
        del _providers[:]
    started = time.monotonic()
    workers = [(each, each.start()) for each in pending]
    for provider_exit, worker in workers:
        if worker is not None:
            provider_exit.finish(worker, started + provider_exit.timeout)


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
    """Flush, then end the process as SIGTERM does by default."""
    shut_down_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
