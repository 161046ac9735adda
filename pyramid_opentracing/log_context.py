"""Trace and span ids on log records, to go from a log line to its trace.

A record carries ``record.trace_id`` and ``record.span_id``: the ids of the
span active when the record was created, as the tracing backend shows them
(the span strategy says how: 32 and 16 hex digits for OpenTelemetry, hex for
jaeger-client, basictracer and MockTracer), empty strings outside a span.

They must be set on the thread that logs, while its span is active: a
handler that buffers records (``MemoryHandler``) or hands them to another
thread (``QueueHandler`` and ``QueueListener``) formats them later, when
another span, or none, is active. Which to use:

* :class:`TraceContextFilter` on the handler that receives the records
  first (the ``MemoryHandler`` or ``QueueHandler`` itself, or the logger the
  application logs on): a handler's filters run as the record is logged.
  ``logging.config.dictConfig`` attaches it:
  ``'filters': {'trace': {'()': 'pyramid_opentracing.log_context.TraceContextFilter'}}``.
* :func:`install_record_factory`, once at start-up, where no filter can be
  attached (``logging.config.fileConfig``, and so ``pserve``'s INI files):
  every record gets the ids as it is created, whichever logger makes it.
* :class:`TraceContextFormatter` for the format itself: it uses the ids a
  filter or the record factory set, and reads them itself only for a record
  that has none, which is right for a handler formatting as the record is
  logged (a ``StreamHandler``, a ``FileHandler``)::

    [formatter_generic]
    class = pyramid_opentracing.log_context.TraceContextFormatter
    format = %(asctime)s %(levelname)s [%(name)s] trace=%(trace_id)s %(message)s
"""
import logging
import sys
from typing import Any, Tuple

from pyramid.threadlocal import get_current_request

from .tracer import PyramidTracer, _global_pyramid_tracer

__all__ = ['TraceContextFilter', 'TraceContextFormatter', 'install_record_factory',
           'trace_context_ids']

NO_IDS: Tuple[str, str] = ('', '')


def trace_context_ids() -> Tuple[str, str]:
    """(trace id, span id) of the active span as text, or ('', ''): the
    span active with the tracer tracing the current Pyramid request (else
    that request's server span), or with the global tracer outside one."""
    request = get_current_request()
    owner = None
    if request is not None:
        settings = request.registry.settings
        owner = settings.get('ot.tracer') if settings else None
    if not isinstance(owner, PyramidTracer):
        owner = _global_pyramid_tracer
    strategy = owner.server_span_strategy()
    span = strategy.tracer.active_span
    if span is None and request is not None:
        span = owner.get_span(request)
    ids = NO_IDS if span is None else strategy.ids(span)
    return _current_otel_ids() if ids == NO_IDS else ids


def _current_otel_ids() -> Tuple[str, str]:
    """The ids of OpenTelemetry's current span, if OpenTelemetry is loaded:
    a span made with its own API (a worker's job, an instrumentation)
    outside any span of ours."""
    otel_trace = sys.modules.get('opentelemetry.trace')
    if otel_trace is None:
        return NO_IDS
    context = otel_trace.get_current_span().get_span_context()
    if not context.is_valid:
        return NO_IDS
    return '%032x' % context.trace_id, '%016x' % context.span_id


def _set_ids(record: logging.LogRecord) -> None:
    """Set the ids on ``record`` unless it has them already; a failure to
    read them leaves them empty: logging must not break."""
    if getattr(record, 'trace_id', None) is None:
        try:
            record.trace_id, record.span_id = trace_context_ids()
        except Exception:  # pylint: disable=broad-except
            record.trace_id, record.span_id = NO_IDS


class TraceContextFilter(logging.Filter):
    """Sets ``record.trace_id`` and ``record.span_id`` as the record is
    logged, unless the record has them already; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        _set_ids(record)
        return True


class TraceContextFormatter(logging.Formatter):
    """A Formatter whose format may use ``%(trace_id)s`` and ``%(span_id)s``:
    those already on the record, else read as it formats."""

    def format(self, record: logging.LogRecord) -> str:
        _set_ids(record)
        return super().format(record)


def install_record_factory() -> None:
    """Make every log record carry the ids of the span active when it is
    created: wraps :func:`logging.getLogRecordFactory` (a process-wide
    effect, as this call asks). Calling it again changes nothing."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, 'sets_trace_context', False):
        return

    def record_with_ids(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        _set_ids(record)
        return record

    record_with_ids.sets_trace_context = True  # type: ignore[attr-defined]
    record_with_ids.wrapped = factory  # type: ignore[attr-defined]
    logging.setLogRecordFactory(record_with_ids)
