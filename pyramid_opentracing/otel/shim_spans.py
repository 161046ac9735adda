"""The bridge's OpenTracing spans: OpenTracing's conventions, told to OpenTelemetry.

The OpenTelemetry shim copies OpenTracing's ``error`` tag as a plain
attribute and its error logs as a plain event, so an error marked the
OpenTracing way exports with status UNSET; its child spans start with no
baggage, and its scope manager wraps every span it activates in a new shim
span, so the span a view reads back from ``tracer.active_span`` has lost its
baggage. :class:`BridgeSpan` and :class:`BridgeScopeManager` keep both:

* ``set_tag('error', True)`` (also among a new span's tags) sets the ERROR
  status; ``False`` changes nothing, so that the outcome the bridge records
  at the end of a request (a 5xx, an exception) still decides. OpenTelemetry's
  specification maps ``False`` to OK, which is final and would hide them.
* ``log_kv({'event': 'error', ...})`` becomes the ``exception`` event, its
  texts scrubbed and bounded by the application's TagPolicy.
* An exception leaving a ``with`` block of a scope sets the ERROR status and
  records that event the same way (never with ``span.record_exception``,
  which would copy the exception's raw message and stack).
* A child span starts with its parent's baggage, activating a span keeps
  that very span active, and a span made current with the OpenTelemetry
  API is the active span, as OpenTelemetry's specification of the shim
  says, with the baggage of the span it was started in.
"""
import logging

import opentracing
from opentelemetry import context as otel_context
from opentelemetry.shim.opentracing_shim import ScopeManagerShim, ScopeShim, SpanShim, util
from opentelemetry.trace import Status, StatusCode, get_current_span, use_span

from ..failures import FailureLog
from ..tags import TagPolicy, exception_texts, qualified_name
from ..scrub import REDACTED, text_of
from . import shim_internals

#: How error texts are scrubbed on spans of a tracer no PyramidTracer uses.
DEFAULT_POLICY = TagPolicy()

#: The OpenTracing log fields that the ``exception`` event carries under
#: its semantic-convention names.
_ERROR_FIELDS = ('event', 'error.object', 'error.kind', 'message', 'stack')


def policy_of(tracer):
    """The TagPolicy that scrubs what views log on spans of ``tracer``."""
    return getattr(tracer, 'policy', None) or DEFAULT_POLICY


def is_error_tag(key, value):
    """Whether tag ``key`` = ``value`` marks the span as failed: ``True``
    (or the text ``true``, as some tracers accept it)."""
    if key != 'error':
        return False
    return value is True or (isinstance(value, str) and value.lower() == 'true')


class BridgeSpan(SpanShim):
    """A shim span whose ``error`` tag and error logs are OpenTelemetry
    errors, and whose names, tag values and log values (texts) are scrubbed
    and bounded as the application's TagPolicy says, as every text of
    the server span is."""

    def set_operation_name(self, operation_name):
        return super().set_operation_name(span_name(operation_name, policy_of(self.tracer)))

    def set_tag(self, key, value):
        policy = policy_of(self.tracer)
        super().set_tag(scrubbed_key(key, policy), scrubbed(value, policy, key))
        if is_error_tag(key, value):
            self.unwrap().set_status(Status(StatusCode.ERROR))
        return self

    def log_kv(self, key_values, timestamp=None):
        if not isinstance(key_values, dict) or key_values.get('event') != 'error':
            if isinstance(key_values, dict):
                policy = policy_of(self.tracer)
                key_values = {scrubbed_key(key, policy): scrubbed(value, policy, key)
                              for key, value in key_values.items()}
            return super().log_kv(key_values, timestamp)
        attributes = exception_attributes(key_values, policy_of(self.tracer))
        self.unwrap().add_event('exception', attributes, None if timestamp is None
                                else util.time_seconds_to_ns(timestamp))
        return self

    def record_error(self, error):
        """Mark the span failed by ``error`` (an exception leaving its scope)."""
        policy = policy_of(self.tracer)
        message, stack = exception_texts(error, policy)
        self.unwrap().set_status(Status(StatusCode.ERROR, policy.text(
            '%s: %s' % (type(error).__name__, message))))
        self.unwrap().add_event('exception', {
            'exception.type': qualified_name(type(error)),
            'exception.message': message,
            'exception.stacktrace': stack,
            'exception.escaped': 'True',
        })


#: Keys whose texts are made of lines, which they keep; stacks are bounded
#: by ``max_stack_length``.
MESSAGE_KEYS = frozenset({'exception.message', 'message', 'error.message'})
STACK_KEYS = frozenset({'exception.stacktrace', 'stack'})


def scrubbed(value, policy, key=None):
    """A tag or log value as it goes on a span: the redaction marker when
    its ``key`` names a secret (``password``, ``authorization``) by the
    application's rule, else a text scrubbed and bounded by ``policy`` (a
    message or a stack keeping its lines), a number or a boolean as it is."""
    if isinstance(key, str) and policy.redactor.is_secret(key):
        return REDACTED
    if isinstance(value, str):
        if key in STACK_KEYS:
            return policy.redactor.bounded(value, policy.max_stack_length, lines=True)
        return policy.text(value, lines=key in MESSAGE_KEYS)
    return value


def scrubbed_key(key, policy):
    """A tag, attribute or log key as it goes on a span: printable and bounded."""
    return policy.text(key) if isinstance(key, str) else key


def scrubbed_tags(tags, policy):
    """The tags a span starts with, each scrubbed as :meth:`BridgeSpan.set_tag` does."""
    if not tags:
        return tags
    return {scrubbed_key(key, policy): scrubbed(value, policy, key) for key, value in tags.items()}


def span_name(name, policy):
    """An operation name as it goes on a span: scrubbed and bounded."""
    return policy.text(text_of(name))


class ServerSpan(BridgeSpan, shim_internals.ContextWhenRead):
    """The server span of a request, which the request lifecycle ends when
    the request ends, with its route and status. The application's
    ``finish()`` (or leaving ``with span:``) is ignored and reported once: the
    span would otherwise be exported without the outcome of its request.

    Made as ``ServerSpan(tracer, otel_span, baggage)``; the request
    lifecycle reads its ``otel_span`` at every step, and its span context is
    made only if something reads it."""

    #: The name it started with, which routing replaces unless the
    #: application gave it another.
    start_name = None

    def finish(self, finish_time=None):
        _app_finishes.report(
            'finishing the server span from the application',
            RuntimeError('its finish() was called, or a scope activated to finish it on close '
                         'was closed'),
            'the span is ended with its request, with the request\'s outcome', logging.WARNING)


#: Reports an application finishing a server span, once in a while.
_app_finishes = FailureLog()


def exception_attributes(fields, policy):
    """The ``exception`` event's attributes for OpenTracing error log
    ``fields``: from ``error.object`` when it is an exception, else from
    ``error.kind``, ``message`` and ``stack``; other fields as they are
    (texts scrubbed). Every text is scrubbed and bounded."""
    error = fields.get('error.object')
    if isinstance(error, BaseException):
        message, stack = exception_texts(error, policy)
        attributes = {'exception.type': qualified_name(type(error)),
                      'exception.message': message, 'exception.stacktrace': stack}
    else:
        attributes = {}
        kind = fields.get('error.kind')
        if kind is not None:
            attributes['exception.type'] = policy.text(
                qualified_name(kind) if isinstance(kind, type) else text_of(kind))
        if fields.get('message') is not None:
            attributes['exception.message'] = policy.text(text_of(fields['message']), lines=True)
        if fields.get('stack') is not None:
            attributes['exception.stacktrace'] = policy.redactor.bounded(
                text_of(fields['stack']), policy.max_stack_length, lines=True)
    for key, value in fields.items():
        if key not in _ERROR_FIELDS and isinstance(key, str):
            if isinstance(value, (bool, int, float)):
                attributes[key] = value
            else:
                attributes[key] = policy.text(text_of(value))
    return attributes


def bridge_span(tracer, otel_span, baggage=None, tags=None, kind=BridgeSpan):
    """``otel_span`` as a :class:`BridgeSpan` (or ``kind``) of ``tracer``
    carrying ``baggage`` (an OpenTelemetry Context), marked failed if its
    first ``tags`` say so."""
    span = kind(tracer, shim_internals.span_context(otel_span.get_span_context(), baggage),
                otel_span)
    span.otel_span = otel_span  # what unwrap() returns, without the call
    if tags and is_error_tag('error', tags.get('error')):
        otel_span.set_status(Status(StatusCode.ERROR))
    return span


def inherited_baggage(parent):
    """The baggage (an OpenTelemetry Context) a child of ``parent`` (a span,
    a span context or None) starts with, or None for none."""
    context = parent.context if isinstance(parent, opentracing.Span) else parent
    baggage = getattr(context, 'baggage', None)
    return baggage if isinstance(baggage, otel_context.Context) else None


class BridgeScope(ScopeShim):
    """The scope of a span activated by :class:`BridgeScopeManager`: an
    exception leaving its ``with`` block marks the span failed, scrubbed.
    Closing the scope of a server span activated to finish on close calls
    its ``finish()``, which the request lifecycle ignores (and reports)."""

    #: Whether closing calls the span's ``finish()`` (else ``use_span`` ends it, or not).
    finishes_span = False

    def close(self):
        super().close()
        if self.finishes_span:
            self.span.finish()

    def __exit__(self, exc_type, exc_val, exc_tb):
        if exc_val is not None and isinstance(self.span, BridgeSpan):
            self.span.record_error(exc_val)
        self.close()


class BridgeScopeManager(ScopeManagerShim):
    """The shim's scope manager, keeping active the span it is given (its
    baggage with it) rather than a new shim span around the same
    OpenTelemetry span."""

    def activate(self, span, finish_on_close):
        server_span = isinstance(span, ServerSpan)  # it ends with its request
        span_cm = use_span(span.unwrap(), end_on_exit=finish_on_close and not server_span,
                           record_exception=False, set_status_on_exception=False)
        span_cm.__enter__()  # pylint: disable=unnecessary-dunder-call
        scope = BridgeScope(self, span, span_cm)
        scope.finishes_span = finish_on_close and server_span
        return scope

    @property
    def active(self):
        """The scope of the active span: the one activated through this
        manager if its span is the current OpenTelemetry span, else (a span
        made current with the OpenTelemetry API) a scope of that span, with
        the baggage of the span activated around it (else the current
        context's); None when no span is current."""
        scope = super().active
        current = get_current_span()
        if scope is not None and scope.span.unwrap() is current:
            return scope
        if not current.get_span_context().is_valid:
            return None
        baggage = otel_context.get_current() if scope is None else inherited_baggage(scope.span)
        span = BridgeSpan(self.tracer, shim_internals.span_context(
            current.get_span_context(), baggage), current)
        return opentracing.Scope(self, span)  # closing it leaves the span current
