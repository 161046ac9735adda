"""The spans of the bridge's provider that have started and not ended, for
the exit to end.

A process ended by SIGTERM (or exiting while a daemon thread still serves a
request) would otherwise never export the SERVER span of a request in
flight, while the children the view already finished are exported: a trace
with a missing parent. :class:`LiveSpans` follows every span of the
provider the bridge made from ``on_start`` to ``on_end``: its SERVER spans,
CLIENT spans of outgoing calls, the application's spans through the shim,
and, when the provider is installed globally, those of OpenTelemetry's
instrumentations (whose SERVER span is then the parent of ours: leaving it
out would orphan ours). The exit ends the ones still running, marked as not
completed, before its last flush.

The request path gains no code: the provider calls the processor, which
costs a weak reference and a set insertion per span (about 0.7 µs with the
removal when the span is collected). A span that is never ended (a bug
elsewhere) is not kept alive by it.
"""
import logging
import weakref

from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.trace import Status, StatusCode

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
