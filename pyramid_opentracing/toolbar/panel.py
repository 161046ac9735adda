"""The Tracing panel: the trace of each request of the toolbar's history."""
from importlib import resources
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from pyramid_debugtoolbar.panels import DebugPanel

from .. import get_span
from .collect import OtelSpanSource, SpanSources
from .waterfall import format_duration, span_view, trace_id_text, waterfall

if TYPE_CHECKING:
    from pyramid.request import Request

    from .collect import RequestTrace, SpanSource
    from .waterfall import SpanView

__all__ = ['TracingPanel']


class TracingPanel(DebugPanel):
    """Shows the spans of a request as a waterfall.

    The request's server span (``get_span``) says which trace it is and
    which spans are the request's own: that span and those below it, kept
    while the toolbar keeps the request (see
    :mod:`pyramid_opentracing.toolbar.collect`) and laid out when the panel
    is shown, when the server span has finished too.
    """

    name = 'tracing'
    has_content = True
    template = 'pyramid_opentracing.toolbar:templates/tracing.dbtmako'
    title = 'Tracing'
    nav_title = 'Tracing'

    def __init__(self, request: 'Request') -> None:
        self.source: Optional['SpanSource'] = None
        self.trace: Optional['RequestTrace'] = None
        self.problem: Optional[str] = None
        self.trace_url = request.registry.settings.get('ot.toolbar.trace_url')
        span = get_span(request)
        if span is None:
            return
        owner = request.registry.settings['ot.tracer']
        try:
            source = SpanSources.of(request.registry).get(owner.server_span_strategy())
            trace_id, span_id = source.ids_of(span)
        except Exception as exc:  # the panel must not break the request
            owner.failures.report('reading spans back for the Tracing panel', exc,
                                  'the panel shows none')
            self.problem = '%s: %s' % (type(exc).__name__, exc)
            return
        if trace_id:  # else traced by a tracer that records nothing
            self.source = source
            self.trace = source.watch(trace_id, span_id)

    @property
    def nav_subtitle(self) -> str:
        if self.trace is None:
            return ''
        count = len(self.spans())
        return str(count) if count else ''

    @property
    def nav_subtitle_style(self) -> str:
        return 'progress-bar-danger' if any(
            view.error for view in self.views()) else ''

    def spans(self) -> List[Any]:
        source, trace = self.source, self.trace  # a trace comes with its source
        return source.spans(trace) if source is not None and trace is not None else []

    def views(self) -> List['SpanView']:
        return [span_view(span) for span in self.spans()]

    def render_vars(self, request: 'Request') -> Dict[str, Any]:
        trace = self.trace
        rows = waterfall(self.views())
        trace_id = None
        if trace is not None:
            width = 32 if isinstance(self.source, OtelSpanSource) else 16
            trace_id = trace_id_text(trace.trace_id, width)
        return {
            'traced': trace is not None or self.problem is not None,
            'problem': self.problem,
            'readable': self.source is None or self.source.readable,
            'tracer_name': self.source.tracer_name if self.source else '',
            'trace_id': trace_id,
            'trace_link': (self.trace_url.format(trace_id=trace_id)
                           if trace_id and self.trace_url else None),
            'rows': rows,
            'dropped': trace.dropped if trace is not None else 0,
            'total_ms': format_duration(
                (max(r.end for r in rows) - min(r.start for r in rows)) * 1000.0) if rows else '',
            'format_duration': format_duration,
            'style': static_text('tracing.css'),
            'script': static_text('tracing.js'),
        }


def static_text(name: str) -> str:
    """The text of one of the panel's own static files, put inline in the
    panel: the toolbar serves only its own, and works offline."""
    return resources.files(__package__).joinpath('static', name).read_text('utf-8')
