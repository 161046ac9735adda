"""One lifecycle for the tween and the decorator: the paths around it that
only a misbehaving handler, tracer or callback takes."""
import opentracing
import pytest
import webtest
from opentracing.mocktracer import MockTracer
from pyramid.response import Response
from pyramid.testing import DummyRequest

from pyramid_opentracing import PyramidTracer, get_span
from pyramid_opentracing.outgoing import outgoing_headers, strategy_for_target

from . import apps
from .conftest import server_span


def test_a_response_without_a_status_still_finishes_the_span(failures):
    tracer = MockTracer()
    pyramid_tracer = PyramidTracer(tracer)
    strategy = pyramid_tracer.server_span_strategy()
    request = DummyRequest()
    odd = object()
    assert strategy.serve(request, lambda request: odd, ()) is odd
    assert tracer.active_span is None
    [span] = tracer.finished_spans()
    assert 'http.status_code' not in span.tags
    assert any('reading the response failed' in r.getMessage() for r in failures())


def test_an_empty_operation_name_falls_back_to_the_route_name(make_testapp, tracer):
    make_testapp(**{'ot.operation_name_func': lambda request: ''}).get('/plain')
    assert server_span(tracer).operation_name == 'plain'


def test_the_noop_tracer_with_a_start_span_cb_still_raises_the_views_error():
    seen = []
    app = webtest.TestApp(apps.make_app({
        'ot.trace_all': True, 'ot.base_tracer': opentracing.Tracer(),
        'ot.start_span_cb': lambda span, request: seen.append(request.path)}))
    with pytest.raises(ValueError):
        app.get('/boom')
    assert seen == ['/boom']


def test_a_view_decorated_with_the_noop_tracer_finds_a_span_only_while_it_runs():
    pyramid_tracer = PyramidTracer(opentracing.Tracer())
    seen = []

    @pyramid_tracer.trace('method')
    def view(request):
        seen.append(get_span(request))
        return Response('ok')

    request = DummyRequest()
    assert view(request).text == 'ok'
    assert isinstance(seen[0], opentracing.Span)
    assert get_span(request) is None


def test_outgoing_calls_with_a_plain_tracer_share_one_pyramid_tracer():
    tracer = MockTracer()
    assert strategy_for_target(tracer) is strategy_for_target(tracer)
    assert strategy_for_target(tracer).tracer is tracer


class UnhashableTracer(MockTracer):
    """A tracer that cannot be a dictionary key."""
    __hash__ = None


def test_outgoing_calls_work_with_a_tracer_that_cannot_be_a_key():
    tracer = UnhashableTracer()
    with tracer.start_active_span('view'):
        headers = outgoing_headers(tracer)
    assert headers['ot-tracer-traceid']
