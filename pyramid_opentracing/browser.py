"""Hand the request's trace back to the page the browser renders.

With ``ot.traceparent_meta = true`` a template writes ``traceparent_meta`` (a
renderer global) in its ``<head>``:
``<meta name="traceparent" content="00-{trace id}-{span id}-{flags}">``, the
W3C context of the server span with its real sampled flag, which
OpenTelemetry's browser instrumentation
(``@opentelemetry/instrumentation-document-load``) reads to make the page's
``documentLoad`` span a child of the server span, in the same trace. It is
markup (it has ``__html__``), so Chameleon (``${traceparent_meta}``), Jinja2
(``{{ traceparent_meta }}``) and Mako (``${traceparent_meta}``) write it as
it is; on an untraced request it writes nothing. It is computed only if the
template writes it. (``ot.server_timing`` gives the same context in a
response header: see :mod:`~pyramid_opentracing.headers`.)
"""
from typing import TYPE_CHECKING, Optional

from .lifecycle import ENVIRON_KEY
from .tracer import pyramid_tracer_of

if TYPE_CHECKING:
    from pyramid.events import BeforeRender
    from pyramid.request import Request

__all__ = ['TraceparentMeta', 'add_renderer_globals', 'traceparent']


def traceparent(request: 'Request') -> Optional[str]:
    """The W3C ``traceparent`` of the server span of ``request``, or None
    when the request is not traced or its tracer has no such ids."""
    span = request.environ.get(ENVIRON_KEY)
    if span is None:
        return None
    return pyramid_tracer_of(request).server_span_strategy().traceparent(span)


class TraceparentMeta:
    """The ``<meta name="traceparent">`` element of ``request``'s server span."""

    __slots__ = ('request',)

    def __init__(self, request: 'Request') -> None:
        self.request = request

    def __html__(self) -> str:
        try:
            value = traceparent(self.request)
        except Exception:  # pylint: disable=broad-except
            value = None  # a page renders whatever the tracer does
        # hex digits and dashes only: nothing to escape
        return '' if value is None else '<meta name="traceparent" content="%s">' % value

    __str__ = __html__


def add_renderer_globals(event: 'BeforeRender') -> None:
    """A ``BeforeRender`` subscriber: ``traceparent_meta`` for every template."""
    request = event.get('request')
    if request is not None:
        event.setdefault('traceparent_meta', TraceparentMeta(request))
