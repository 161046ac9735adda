"""The SpanProcessor that keeps OpenTelemetry spans for the Tracing panel."""
from opentelemetry.sdk.trace import SpanProcessor


class KeepWatchedSpans(SpanProcessor):
    """Hands each span the provider ends to a SpanSource, which keeps those
    of watched traces.

    It sees every span of the provider, those of OpenTelemetry's own library
    instrumentations included. A finished ReadableSpan cannot be changed, so
    the exporters' processors receive what they would without it.
    """

    def __init__(self, source):
        self.source = source

    def on_end(self, span):
        if span.context.trace_flags.sampled:  # as exported: not a span only recorded for metrics
            self.source.record(span.context.trace_id, span)
