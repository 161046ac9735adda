"""Hand the request's trace back to the browser that made it.

Two ways, both in the W3C ``traceparent`` form (``00-{trace id}-{span id}-{flags}``)
of the server span, with its real sampled flag:

* ``request.traceparent_meta`` in a template writes
  ``<meta name="traceparent" content="...">``, which OpenTelemetry's browser
  instrumentation (``@opentelemetry/instrumentation-document-load``) reads to
  make the page's ``documentLoad`` span a child of the server span. It is
  markup (it has ``__html__``), so Chameleon, Jinja2 and Mako write it as it
  is: ``${request.traceparent_meta}`` or ``{{ request.traceparent_meta }}``.
  On an untraced request it writes nothing.
* ``ot.server_timing = true`` adds ``Server-Timing: traceparent;desc="..."``
  to each traced response, which browsers' developer tools and real-user
  monitoring read.
"""
from .lifecycle import ENVIRON_KEY
from .tracer import pyramid_tracer_of

__all__ = ['TraceparentMeta', 'traceparent', 'traceparent_meta', 'server_timing']

SERVER_TIMING = 'Server-Timing'


def traceparent(request):
    """The W3C ``traceparent`` of the server span of ``request``, or None
    when the request is not traced or its tracer has no such ids."""
    span = request.environ.get(ENVIRON_KEY)
    if span is None:
        return None
    return pyramid_tracer_of(request).server_span_strategy().traceparent(span)


class TraceparentMeta:
    """The ``<meta name="traceparent">`` element of one traceparent (None: nothing)."""

    __slots__ = ('value',)

    def __init__(self, value):
        self.value = value

    def __html__(self):
        # the value is made of hex digits and dashes only: nothing to escape
        return '' if self.value is None else '<meta name="traceparent" content="%s">' % self.value

    __str__ = __html__

    def __repr__(self):
        return '<TraceparentMeta %s>' % (self.value,)


def traceparent_meta(request):
    """``request.traceparent_meta``: the meta element of the request's server span."""
    return TraceparentMeta(traceparent(request))


def server_timing(response, value):
    """Add ``traceparent;desc="value"`` to the ``Server-Timing`` header of
    ``response``, after the metrics the application wrote there."""
    entry = 'traceparent;desc="%s"' % value
    headers = response.headers
    known = headers.get(SERVER_TIMING)
    headers[SERVER_TIMING] = '%s, %s' % (known, entry) if known else entry
