"""The private names of OpenTelemetry's OpenTracing shim we rely on, in one place.

The shim offers no public way to activate a span for less than
``ScopeManagerShim.activate`` (a generator context manager, two context
attaches and a second wrapper), to give an extracted span context the
caller's baggage, nor to make a span whose span context is only made if it
is read. With its private names (``_SHIM_KEY``, the ``ScopeShim._span_cm``,
``SpanContextShim._baggage`` and ``SpanShim._otel_span`` attributes, and
OpenTracing's ``Span._tracer`` and ``Span._context``) all are cheap;
``setup.py`` bounds the shim's version to the releases known to have them.
Should a release lack them anyway, this module says so in one log line and
falls back to the public API: spans are still made, at a higher cost, and
the caller's OpenTracing baggage is not carried.
"""
import logging

import opentracing
from opentelemetry import context as otel_context
from opentelemetry.shim import opentracing_shim as shim
from opentelemetry.trace import set_span_in_context

from ..lifecycle import close_scopes_above

logger = logging.getLogger('pyramid_opentracing')


def _assigns(function, attribute):
    """Whether ``function`` sets or reads ``attribute`` of some object."""
    code = getattr(function, '__code__', None)
    return code is not None and attribute in code.co_names


_SHIM_KEY = getattr(shim, '_SHIM_KEY', None)

#: Whether the shim's private names are as this module expects.
ACTIVATE_PRIVATELY = _SHIM_KEY is not None and _assigns(shim.ScopeShim.__init__, '_span_cm')
BAGGAGE_PRIVATELY = _assigns(shim.SpanContextShim.__init__, '_baggage')
CONTEXT_LATER = (_assigns(shim.SpanShim.__init__, '_otel_span')
                 and _assigns(opentracing.Span.__init__, '_context')
                 and _assigns(opentracing.Span.__init__, '_tracer'))

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


def activate_publicly(manager, span, current=None):  # pylint: disable=unused-argument
    """:func:`activate` through the shim's public API."""
    return manager.activate(span, finish_on_close=False)


#: ``activate(manager, span, current=None)``: make ``span`` (a server span,
#: with its ``otel_span``) active through the shim's scope ``manager``,
#: without finishing it on close; its scope. ``current`` is the current
#: OpenTelemetry context, if the caller has read it already.
activate = ServerScope if ACTIVATE_PRIVATELY else activate_publicly


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
