"""The SpanProcessor that keeps OpenTelemetry spans for the Tracing panel."""
from opentelemetry.sdk.trace import SpanProcessor

__all__ = ['KeepWatchedSpans']


class KeepWatchedSpans(SpanProcessor):
    """Hands each span the provider ends to a SpanSource, which keeps those
    of watched requests.

    It sees every span of the provider, those of OpenTelemetry's own library
    instrumentations included. A finished ReadableSpan cannot be changed, so
    the exporters' processors receive what they would without it.
    """

    def __init__(self, source):
        self.source = source

    def on_end(self, span):
        context = span.context
        if context.trace_flags.sampled:  # as exported: not a span only recorded for metrics
            parent = span.parent
            self.source.record(context.trace_id, context.span_id,
                               None if parent is None else parent.span_id, span)
