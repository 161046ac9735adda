"""OpenTelemetry's OpenTracing shim, as the bridge uses it: its spans and
scopes, and every private name of the shim, of opentracing and of the SDK
the package relies on, each with a public-API fallback.

The private names, and what each buys:

* ``opentelemetry.shim.opentracing_shim._SHIM_KEY`` and ``ScopeShim._span_cm``:
  a server span is made active with one context attach
  (:class:`ServerScope`), where ``ScopeManagerShim.activate`` takes a
  generator context manager, two attaches and a second wrapper. Fallback:
  ``ScopeManagerShim.activate``, and the request lifecycle closes the scopes
  the application left open.
* ``SpanContextShim._baggage``: an extracted span context carries the
  caller's baggage. Fallback: no caller's baggage on OpenTracing spans.
* ``SpanShim._otel_span`` with opentracing's ``Span._tracer`` and
  ``Span._context``: a server span's span context is made only when read
  (:class:`ContextWhenRead`). Fallback: made at once, by ``SpanShim.__init__``.
* The SDK's logger ``opentelemetry.sdk._shared_internal``, on which its
  batch processor reports failed exports (:data:`SDK_EXPORT_LOGGERS`).
  Fallback: the logger of the module defining ``BatchSpanProcessor``.

Which are present is found once, at import, by reading the code of the
shim's and opentracing's constructors; a release that lacks one is said so
in one log line and gets the fallback. None of them needs an upper bound on
the shim's version.

The spans: the stock shim copies OpenTracing's ``error`` tag and error logs
as a plain attribute and event (an error exports with status UNSET), starts
child spans without baggage, and wraps every span it activates in a new shim
span (the span read back from ``tracer.active_span`` has lost its baggage).
With :class:`BridgeSpan` and :class:`BridgeScopeManager`, ``error = True``
sets the ERROR status (``False`` changes nothing: OpenTelemetry maps it to OK,
which is final and would hide a 5xx the request's outcome records); an error
log and an exception leaving a scope's ``with`` block record the scrubbed
``exception`` event (:func:`record_error`, never ``span.record_exception``,
which copies the raw message and stack); a child starts with its parent's
baggage; activating a span keeps that very span active, and a span made
current with the OpenTelemetry API is the active span, as the specification
of the shim says.
"""
import logging

import opentracing
from opentelemetry import context as otel_context
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.shim import opentracing_shim as shim
from opentelemetry.shim.opentracing_shim import ScopeManagerShim, ScopeShim, SpanShim, util
from opentelemetry.trace import Status, StatusCode, get_current_span, set_span_in_context, use_span

from ..failures import FailureLog
from ..lifecycle import close_scopes_above
from ..tags import TagPolicy, exception_texts, qualified_name
from ..scrub import REDACTED, text_of

__all__ = ['BridgeScope', 'BridgeScopeManager', 'BridgeSpan', 'ServerSpan', 'activate',
           'bridge_span', 'record_error', 'span_context', 'DEFAULT_POLICY', 'SDK_EXPORT_LOGGERS',
           'inherited_baggage', 'policy_of', 'scrubbed', 'scrubbed_key', 'scrubbed_tags',
           'span_name']

logger = logging.getLogger('pyramid_opentracing')


def _assigns(function, attribute):
    """Whether ``function`` sets or reads ``attribute`` of some object."""
    code = getattr(function, '__code__', None)
    return code is not None and attribute in code.co_names


#: The shim's context key of the active scope, and whether the shim's
#: private names are as this module expects: set by
#: :func:`_detect_private_names`.
_SHIM_KEY = None
ACTIVATE_PRIVATELY = BAGGAGE_PRIVATELY = CONTEXT_LATER = False


def _detect_private_names():
    """Find which private names the installed shim and opentracing have,
    and choose each fallback accordingly; one warning names those missing.
    Run at import (and again by the tests that take names away)."""
    # pylint: disable=global-statement
    global _SHIM_KEY, ACTIVATE_PRIVATELY, BAGGAGE_PRIVATELY, CONTEXT_LATER, activate
    _SHIM_KEY = getattr(shim, '_SHIM_KEY', None)
    ACTIVATE_PRIVATELY = _SHIM_KEY is not None and _assigns(shim.ScopeShim.__init__, '_span_cm')
    BAGGAGE_PRIVATELY = _assigns(shim.SpanContextShim.__init__, '_baggage')
    CONTEXT_LATER = (_assigns(shim.SpanShim.__init__, '_otel_span')
                     and _assigns(opentracing.Span.__init__, '_context')
                     and _assigns(opentracing.Span.__init__, '_tracer'))
    activate = ServerScope if ACTIVATE_PRIVATELY else _activate_publicly
    if not (ACTIVATE_PRIVATELY and BAGGAGE_PRIVATELY and CONTEXT_LATER):
        logger.warning(
            'pyramid_opentracing: this opentelemetry-opentracing-shim lacks the private names '
            'pyramid_opentracing uses (%s); falling back to its public API: server spans '
            'cost more%s.',
            ', '.join(name for name, present in (
                ('_SHIM_KEY and ScopeShim._span_cm', ACTIVATE_PRIVATELY),
                ('SpanContextShim._baggage', BAGGAGE_PRIVATELY),
                ('SpanShim._otel_span', CONTEXT_LATER)) if not present),
            '' if BAGGAGE_PRIVATELY else " and the caller's baggage is not carried")


#: The SDK's loggers on which its batch processor reports failed exports.
SDK_EXPORT_LOGGERS = tuple(sorted({'opentelemetry.sdk._shared_internal',
                                   BatchSpanProcessor.__module__}))


class ServerScope(shim.ScopeShim):
    """A span made active the way the shim's scope manager would, for less:
    one context attach. ``tracer.active_span`` and ``scope_manager.active``
    find it as usual. Closing it only deactivates the span, whoever closes it.

    Closing it first closes the scopes the application left active above it
    (a ``start_active_span`` never closed, or closed after the request): each
    holds a context token that, reset later (when the scope closes, or when
    its generator is collected), would make the finished server span current
    again on the thread, the parent of the next request's work.
    """

    #: A plain attribute, not opentracing's property: the request lifecycle
    #: reads it at every step.
    span = None

    def __init__(self, manager, span, current=None):  # pylint: disable=super-init-not-called
        # what opentracing.Scope.__init__ sets, and ScopeShim's own
        self._manager, self._span, self._span_cm = manager, span, None
        self.span = span
        # ``current``: the current context, if the caller has it at hand
        self._token = otel_context.attach(otel_context.set_value(
            _SHIM_KEY, self, set_span_in_context(span.otel_span, current)))

    def close(self):
        # asked of the current context, not kept: it holds this scope, and
        # keeping it would make a cycle for the garbage collector each request
        if otel_context.get_current().get(_SHIM_KEY) is not self:
            self.close_scopes_above()
        otel_context.detach(self._token)

    def close_scopes_above(self):
        # a ServerScope above is another request's (a context the garbage
        # collector put back); the reset in close() applies whatever happens
        close_scopes_above(lambda: otel_context.get_value(_SHIM_KEY),
                           lambda active: active is self or isinstance(active, ServerScope))

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.close()


def _activate_publicly(manager, span, current=None):  # pylint: disable=unused-argument
    """:func:`activate` through the shim's public API."""
    return manager.activate(span, finish_on_close=False)


#: ``activate(manager, span, current=None)``: make ``span`` (a server span,
#: with its ``otel_span``) active through the shim's scope ``manager``,
#: without finishing it on close; its scope. ``current`` is the current
#: OpenTelemetry context, if the caller has read it already.
activate = _activate_publicly
_detect_private_names()


def span_context(otel_span_context, baggage=None):
    """A shim span context for ``otel_span_context`` carrying ``baggage`` (an
    OpenTelemetry Context, as the shim keeps it)."""
    result = shim.SpanContextShim(otel_span_context)
    if baggage is not None and BAGGAGE_PRIVATELY:
        result._baggage = baggage  # pylint: disable=protected-access
    return result


class ContextWhenRead(shim.SpanShim):
    """A shim span whose span context is made the first time it is read:
    most server spans are never asked for theirs. ``baggage`` is the
    OpenTelemetry Context the span context will carry. Its OpenTelemetry
    span is also its ``otel_span`` attribute: what ``unwrap()`` returns,
    without the call."""

    def __init__(self, tracer, otel_span, baggage=None):
        # pylint: disable=super-init-not-called
        if CONTEXT_LATER:  # what SpanShim.__init__ sets, but the span context
            self._tracer, self._otel_span, self._context = tracer, otel_span, None
        else:
            super().__init__(tracer, span_context(otel_span.get_span_context(), baggage), otel_span)
        self._baggage_to_carry = baggage
        self.otel_span = otel_span

    @property
    def context(self):
        if self._context is None:
            self._context = span_context(self._otel_span.get_span_context(),
                                         self._baggage_to_carry)
        return self._context

    # the shim's own baggage methods read the span context as an attribute
    def set_baggage_item(self, key, value):
        self.context  # pylint: disable=pointless-statement
        return super().set_baggage_item(key, value)

    def get_baggage_item(self, key):
        self.context  # pylint: disable=pointless-statement
        return super().get_baggage_item(key)


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
        record_error(self.unwrap(), error, policy_of(self.tracer))


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


class ServerSpan(BridgeSpan, ContextWhenRead):
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
        attributes = _exception_fields(error, policy)
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


def _exception_fields(error, policy, known=()):
    """The ``exception.*`` attributes of ``error``, its texts scrubbed and
    bounded by ``policy``, ``known`` secrets removed from them."""
    message, stack = exception_texts(error, policy, known)
    return {'exception.type': qualified_name(type(error)), 'exception.message': message,
            'exception.stacktrace': stack}


def record_error(otel_span, error, policy, known=()):
    """Mark ``otel_span`` failed by ``error``: the ERROR status described by
    the exception's scrubbed message, and the semantic-convention
    ``exception`` event (``known`` secrets removed from its texts). Not
    ``span.record_exception``, which copies the raw message and stack."""
    attributes = _exception_fields(error, policy, known)
    otel_span.set_status(Status(StatusCode.ERROR, policy.text(
        '%s: %s' % (type(error).__name__, attributes['exception.message']))))
    attributes['exception.escaped'] = 'True'
    otel_span.add_event('exception', attributes)


def bridge_span(tracer, otel_span, baggage=None, tags=None, kind=BridgeSpan):
    """``otel_span`` as a :class:`BridgeSpan` (or ``kind``) of ``tracer``
    carrying ``baggage`` (an OpenTelemetry Context), marked failed if its
    first ``tags`` say so."""
    span = kind(tracer, span_context(otel_span.get_span_context(), baggage),
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
        span = BridgeSpan(self.tracer, span_context(
            current.get_span_context(), baggage), current)
        return opentracing.Scope(self, span)  # closing it leaves the span current
