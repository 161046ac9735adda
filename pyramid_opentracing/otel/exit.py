"""The bridge's spans leave the process when it ends, within ``ot.otel.timeout``;
the spans still in flight are ended first, so that they leave too.

The SDK flushes a provider at exit without a bound (a dead collector holds
the exit for as long as its retries last) and not at all on SIGTERM, which
kills the process at once: every queued span is lost. Here each provider is
shut down at exit and on SIGTERM, in a thread given ``timeout`` seconds; the
spans that did not make it are counted in one log line, saying what the
collector answered if it answered.

The spans of the provider still running (a request in flight) are ended
first, marked as not completed, so that they leave with the others: else a
process ended by SIGTERM would export the children a view finished without
their SERVER span, a trace with a missing parent. :class:`LiveSpans`, a span
processor, follows every span of the bridge's provider from ``on_start`` to
its collection: SERVER and CLIENT spans, the application's spans through the
shim and, when the provider is installed globally, those of OpenTelemetry's
instrumentations (whose SERVER span is then the parent of ours). It holds
weak references only: a span never ended is not kept alive by it.

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
import signal
import threading
import time
import weakref
from urllib.parse import urlsplit

from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Status, StatusCode

from ..failures import FailureLog
from ..scrub import safe_text
from ._exit_threads import keep as keep_exit_threads, start_daemon

__all__ = ['CollectorAnswers', 'CountingBatchSpanProcessor', 'LiveSpans', 'flush_at_exit',
           'shown_url', 'shut_down']

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


class CollectorAnswers:
    """The last HTTP answer a collector gave an exporter, recorded by a
    response hook of the ``requests.Session`` the exporter is given
    (:meth:`session`): what a failed export says the collector answered."""

    #: (status code, reason, URL without user info nor query) or None.
    last = None
    #: (the exception's type name, the URL) of the last export that got no
    #: answer at all (a refused connection, a name that does not resolve).
    unreached = None

    def session(self):
        """A ``requests.Session`` whose responses, and exports that got
        none, are recorded here."""
        import requests
        answers = self

        class RecordingSession(requests.Session):
            def send(self, request, **kwargs):
                try:
                    return super().send(request, **kwargs)
                except requests.RequestException as exc:
                    answers.last, answers.unreached = None, (type(exc).__name__,
                                                             shown_url(request.url))
                    raise

        session = RecordingSession()
        session.hooks['response'].append(self.record)
        return session

    def record(self, response, *args, **kwargs):
        self.unreached = None
        self.last = (response.status_code, safe_text(str(response.reason or ''), 200),
                     shown_url(response.url))

    def unreachable(self):
        """``could not reach http://...`` when the last export got no answer, else None."""
        if self.unreached is None:
            return None
        return 'could not reach %s (%s)' % (self.unreached[1], self.unreached[0])

    def missing(self):
        """Whether the collector's last answer says it has no such endpoint
        (404 Not Found, 405 Method Not Allowed)."""
        last = self.last
        return last is not None and last[0] in (404, 405)

    def retryable(self):
        """Whether the collector's last answer asks to try again later (429,
        502, 503, 504: OTLP's retryable answers)."""
        last = self.last
        return last is not None and last[0] in (429, 502, 503, 504)

    def rejection(self):
        """``rejected: HTTP 405 Method Not Allowed from http://...`` when the
        collector's last answer refused the export, else None."""
        last = self.last
        if last is None or last[0] < 400:
            return None
        return 'rejected: HTTP %d %s from %s' % last


def shown_url(url):
    """``url`` without user info nor query, for a log line."""
    parts = urlsplit(url)
    return '%s://%s%s' % (parts.scheme, parts.netloc.rpartition('@')[2], parts.path)


class CountingBatchSpanProcessor(BatchSpanProcessor):
    """The SDK's batch processor, counting the spans it queues and exports.
    ``answers`` (a CollectorAnswers, or None) says why an export to
    ``destination`` failed, in a rate-limited line."""

    def __init__(self, exporter, answers=None, destination=None, **kwargs):
        self.ledger = SpanLedger()
        super().__init__(CountExported(exporter, self.ledger, answers, destination), **kwargs)

    def on_end(self, span):
        if span.context.trace_flags.sampled:
            with self.ledger.lock:
                self.ledger.ended += 1
        super().on_end(span)


class CountExported(SpanExporter):
    """``exporter``, counting the spans it exports successfully, and saying
    (rate-limited) what the collector answered to an export it refused."""

    def __init__(self, exporter, ledger, answers=None, destination=None):
        self.exporter = exporter
        self.ledger = ledger
        self.answers = answers
        self.destination = destination

    def export(self, spans):
        result = self.exporter.export(spans)
        if result is SpanExportResult.SUCCESS:
            with self.ledger.lock:
                self.ledger.exported += len(spans)
        elif self.answers is not None:
            rejection = self.answers.rejection()
            if rejection is not None:
                _export_failures.report(
                    'exporting spans to %s' % self.destination, ExportRejected(rejection),
                    'those spans are lost', logging.WARNING)
        return result

    def shutdown(self):
        self.exporter.shutdown()

    def force_flush(self, timeout_millis=30000):
        return self.exporter.force_flush(timeout_millis)


class ExportRejected(Exception):
    """A collector answered an export with an HTTP error."""


#: Reports exports a collector refused, once in a while.
_export_failures = FailureLog()


#: Why the spans still running at the exit did not complete.
EXITED = 'the process exited before the request completed'
TERMINATED = 'the process was terminated before the request completed'


class ProviderExit:
    """Shuts ``provider`` (a TracerProvider, or a MeterProvider with no
    ``ledger``) down within ``timeout`` seconds, once, and logs what spans
    were lost on the way to ``destination``; ``live`` (a LiveSpans of the
    provider, or None) has the spans to end first, ``answers`` (a
    CollectorAnswers, or None) what the collector answered."""

    def __init__(self, provider, ledger, timeout, destination, live=None, answers=None):
        self.answers = answers
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
        rejection = None if self.answers is None else self.answers.rejection()
        if rejection is not None and not self.answers.retryable():
            self.report(rejection)  # the collector refused: waiting longer would not help
            return
        why = 'not accepted within ot.otel.timeout = %g s' % self.timeout
        if rejection is not None:
            why = '%s; last answer: %s' % (why, rejection)
        elif self.answers is not None and self.answers.unreachable() is not None:
            why = '%s; %s' % (why, self.answers.unreachable())
        self.report(why)

    def report(self, why):
        """Log, once, how many spans were not exported, and ``why``."""
        if self.reported or self.ledger is None:  # a MeterProvider: no spans to count
            return
        self.reported = True
        lost = self.ledger.lost
        if lost > 0:
            logger.warning('pyramid_opentracing: %d of %d spans were not exported to %s (%s)',
                           lost, self.ledger.ended, self.destination, why)


def _keep_exit_threads():
    """As many threads ready as the exit would use, where they must be
    started ahead: one per provider still to shut down, one for live spans."""
    with _lock:
        pending = sum(not each.done for each in _providers)
    keep_exit_threads(pending + 1 if pending else 0)


def flush_at_exit(provider, ledger, timeout, destination, live=None, answers=None):
    """Shut ``provider`` down when the process exits or receives SIGTERM,
    ending the spans of ``live`` still running first."""
    with _lock:
        _providers.append(ProviderExit(provider, ledger, timeout, destination, live, answers))
        if not _installed['atexit']:
            atexit.register(shut_down_all)
            _installed['atexit'] = True
    _keep_exit_threads()
    install_sigterm_handler()


def shut_down(provider):
    """Shut ``provider`` down now, once: the flush at exit then leaves it
    alone (a second shutdown makes the SDK's MeterProvider complain)."""
    with _lock:
        for provider_exit in _providers:
            if provider_exit.provider is provider:
                provider_exit.done = True
    _keep_exit_threads()
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


#: The ``error.type`` of a span the exit ended.
INTERRUPTED = 'process_exit'

#: The logger on which the SDK warns about calls on an ended span.
SDK_SPAN_LOGGER = 'opentelemetry.sdk.trace'


class LiveSpans(SpanProcessor):
    """The spans started on the provider and not yet collected: the exit
    ends those among them that are still running.

    ``on_start`` keeps a weak reference to each span, which drops out of
    the set as the span is collected; ``on_end`` has nothing to do (it is
    given a snapshot of the span, not the span).
    """

    def __init__(self):
        self._spans = set()

    def on_start(self, span, parent_context=None):
        self._spans.add(weakref.ref(span, self._spans.discard))

    def running(self):
        """The spans started and not ended."""
        spans = [reference() for reference in list(self._spans)]  # list(): an atomic copy
        return [span for span in spans if span is not None and span.end_time is None]

    def end_all(self, description):
        """End every span still running, as an error of type
        ``INTERRUPTED`` described by ``description``; how many there were."""
        spans = self.running()
        if spans:
            # The request threads run on while the exit flushes: their own
            # calls on these ended spans are ignored by the SDK, and warned
            # about, which would read as a fault of the request.
            logging.getLogger(SDK_SPAN_LOGGER).addFilter(ignore_calls_on_ended_spans)
        for span in spans:
            interrupt(span, description)
        return len(spans)


def interrupt(span, description):
    """End ``span``, which did not complete, saying so; an error it
    recorded already is kept. No status code: no response was sent."""
    if span.status.status_code is StatusCode.UNSET:
        span.set_status(Status(StatusCode.ERROR, description))
    if 'error.type' not in span.attributes:
        span.set_attribute('error.type', INTERRUPTED)
    span.end()


def ignore_calls_on_ended_spans(record):
    """False for the SDK's warnings about a call on an ended span."""
    return 'ended span' not in str(record.msg)
