"""Trace and span ids on log records, to go from a log line to its trace.

:class:`TraceContextFilter` sets ``record.trace_id`` and ``record.span_id``
to the ids of the span active when the record was made, written as the
tracing backend shows them: 32 and 16 hex digits (W3C) for OpenTelemetry
spans, hex for jaeger-client and basictracer, decimal for MockTracer; empty
strings outside a span. :class:`TraceContextFormatter` is a Formatter that
does the same, for ``logging.config.fileConfig`` (and so ``pserve``'s INI
files), which can name a formatter class but not a filter::

    [formatter_generic]
    class = pyramid_opentracing.log_context.TraceContextFormatter
    format = %(asctime)s %(levelname)s [%(name)s] trace=%(trace_id)s %(message)s
"""
import logging
import sys

import opentracing
from pyramid.threadlocal import get_current_request


__all__ = ['TraceContextFilter', 'TraceContextFormatter', 'trace_context_ids']

NO_IDS = ('', '')


def trace_context_ids():
    """(trace id, span id) of the active span as text, or ('', '')."""
    otel_trace = sys.modules.get('opentelemetry.trace')
    if otel_trace is not None:
        span_context = otel_trace.get_current_span().get_span_context()
        if span_context.is_valid:
            return '%032x' % span_context.trace_id, '%016x' % span_context.span_id
    span = _active_opentracing_span()
    return NO_IDS if span is None else _ids(span.context)


def _active_opentracing_span():
    """The active span of the tracer tracing the current Pyramid request,
    else its server span, else the global tracer's active span."""
    request = get_current_request()
    owner = None if request is None else request.registry.settings.get('ot.tracer')
    if owner is not None and hasattr(owner, 'get_span'):
        span = owner.tracer.active_span
        return span if span is not None else owner.get_span(request)
    return opentracing.global_tracer().active_span


def _ids(context):
    trace_id = getattr(context, 'trace_id', None)
    span_id = getattr(context, 'span_id', None)
    if trace_id is None or span_id is None:
        return NO_IDS
    if isinstance(trace_id, int) and isinstance(span_id, int):
        # hex, as jaeger-client, basictracer and MockTracer write them in headers
        return '%x' % trace_id, '%x' % span_id
    return str(trace_id), str(span_id)


class TraceContextFilter(logging.Filter):
    """Sets ``record.trace_id`` and ``record.span_id``; never drops a record.
    A failure to read them leaves them empty: logging must not break."""

    def filter(self, record):
        try:
            record.trace_id, record.span_id = trace_context_ids()
        except Exception:  # pylint: disable=broad-except
            record.trace_id, record.span_id = NO_IDS
        return True


class TraceContextFormatter(logging.Formatter):
    """A Formatter whose format may use ``%(trace_id)s`` and ``%(span_id)s``."""

    _filter = TraceContextFilter()

    def format(self, record):
        self._filter.filter(record)
        return super().format(record)
