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
costs a dict insertion and removal per span. It holds weak references, so a
span that is never ended (a bug elsewhere) is not kept alive by it, and
sweeps those out as they pile up.
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
    """The spans started and not yet ended."""

    #: How many spans may be followed before those collected unended are
    #: swept out (then twice as many as are left, at least this many).
    SWEEP_AT = 1000

    def __init__(self):
        # span id -> weak reference to the span: ``on_end`` is given a
        # snapshot of the span, not the span itself.
        self._spans = {}
        self._sweep_at = self.SWEEP_AT

    def on_start(self, span, parent_context=None):
        spans = self._spans
        spans[span.context.span_id] = weakref.ref(span)
        if len(spans) > self._sweep_at:
            self._sweep()

    def on_end(self, span):
        self._spans.pop(span.context.span_id, None)

    def _sweep(self):
        """Forget the spans collected without being ended."""
        for span_id, reference in list(self._spans.items()):
            if reference() is None:
                self._spans.pop(span_id, None)
        self._sweep_at = max(self.SWEEP_AT, 2 * len(self._spans))

    def __len__(self):
        return sum(1 for reference in list(self._spans.values()) if reference() is not None)

    def end_all(self, description):
        """End every span still running, as an error of type
        ``INTERRUPTED`` described by ``description``; how many there were."""
        spans = [reference() for reference in list(self._spans.values())]  # list(): atomic copy
        spans = [span for span in spans if span is not None]
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
