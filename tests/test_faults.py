"""Fault injection: a tracer that raises from one OpenTracing call at a time.

Whatever call breaks, the client gets the app's own status and body, the
``pyramid_opentracing`` logger says so once (not once per request) and no
scope is left active on the thread.
"""
import opentracing
import pytest
import webtest
from opentracing.mocktracer import MockTracer
from pyramid.response import Response

from pyramid_opentracing.outgoing import outgoing_headers

from . import apps


class TracerFault(Exception):
    """Raised by the broken tracer."""


def _raise_on_first(real, operation):
    """``real`` that raises on its first call only: a scope whose close fails
    before it restores the previous scope, and then works."""
    calls = []

    def broken(*args, **kwargs):
        if not calls:
            calls.append(1)
            raise TracerFault(operation)
        return real(*args, **kwargs)
    return broken


def _always_raise(operation):
    def broken(*args, **kwargs):
        raise TracerFault(operation)
    return broken


class BrokenTracer(MockTracer):
    """A MockTracer whose ``broken`` operation raises on every call."""

    SPAN_OPERATIONS = ('set_tag', 'log_kv', 'set_operation_name', 'finish')

    def __init__(self, broken):
        super().__init__()
        self.broken = broken

    def extract(self, format, carrier):
        if self.broken == 'extract':
            raise TracerFault('extract')
        return super().extract(format, carrier)

    def inject(self, span_context, format, carrier):
        if self.broken == 'inject':
            raise TracerFault('inject')
        return super().inject(span_context, format, carrier)

    def start_active_span(self, *args, **kwargs):
        if self.broken == 'start_active_span':
            raise TracerFault('start_active_span')
        scope = super().start_active_span(*args, **kwargs)
        if self.broken == 'scope.close':
            scope.close = _raise_on_first(scope.close, 'scope.close')
        return scope

    def start_span(self, *args, **kwargs):
        if self.broken == 'start_span':
            raise TracerFault('start_span')
        span = super().start_span(*args, **kwargs)
        if self.broken in self.SPAN_OPERATIONS:
            setattr(span, self.broken, _always_raise(self.broken))
        return span


OPERATIONS = ['extract', 'start_span', 'start_active_span', 'set_tag', 'log_kv',
              'set_operation_name', 'finish', 'scope.close', 'inject']


def headers_view(request):
    """Calls inject through the outgoing helper, as a view calling a service does."""
    headers = outgoing_headers(request)
    return Response('sent %d trace headers' % len(headers))


@pytest.fixture(params=OPERATIONS)
def broken(request):
    tracer = BrokenTracer(request.param)
    previous = opentracing.global_tracer()
    opentracing.set_global_tracer(tracer)
    yield tracer
    opentracing.set_global_tracer(previous)


@pytest.fixture
def broken_app(broken):
    config = apps.make_config({'ot.trace_all': True, 'ot.base_tracer': broken})
    config.add_route('headers', '/headers')
    config.add_view(headers_view, route_name='headers')
    return webtest.TestApp(config.make_wsgi_app())


#: (path, status, body the app itself gives) of requests that reach every
#: tracer call: the success path, an error handled by an exception view
#: (log_kv), an HTTP exception, a streamed body, a view that injects.
REQUESTS = [
    ('/plain', 200, b'plain'),
    ('/created', 201, b'{"created": true}'),
    ('/handled', 500, b'handled'),
    ('/invalid', 400, b'invalid'),
    ('/not-found', 404, None),
    ('/stream', 200, b'ab'),
    ('/headers', 200, None),
]


def test_the_app_answers_as_if_untraced(broken, broken_app):
    for path, status, body in REQUESTS:
        response = broken_app.get(path, headers={'ot-tracer-traceid': '1f', 'ot-tracer-spanid': '2f'},
                                  status=status)
        if body is not None:
            assert response.body == body
        assert broken.active_span is None, '%s left a span active after %s' % (broken.broken, path)


def test_a_failure_is_logged_once_not_per_request(broken, broken_app, failures):
    for _ in range(20):
        for path, status, _body in REQUESTS:
            broken_app.get(path, status=status)
    ours = failures()
    assert ours, 'the broken %s was never reported' % broken.broken
    assert any('TracerFault' in record.getMessage() for record in ours)
    kinds = {(record.getMessage().split(' failed')[0]) for record in ours}
    assert len(ours) == len(kinds), [r.getMessage() for r in ours]


def test_nothing_stays_active_even_when_the_view_raises(broken, broken_app):
    with pytest.raises(ValueError):
        broken_app.get('/boom')
    assert broken.active_span is None


def test_a_scope_that_fails_to_close_is_closed_by_force(make_testapp, failures):
    tracer = BrokenTracer('scope.close')
    app = make_testapp(**{'ot.base_tracer': tracer})
    assert app.get('/plain').body == b'plain'
    assert tracer.active_span is None
    assert [span.operation_name for span in tracer.finished_spans()] == ['plain']
    assert 'closing the active scope failed' in failures()[0].getMessage()
