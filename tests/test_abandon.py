"""A tracer that fails while the span is being tagged at its start: the span is
abandoned, the request served untraced, and nothing stays active."""
import webtest
from opentracing.mocktracer import MockTracer
from pyramid.response import Response
from pyramid.testing import DummyRequest

from pyramid_opentracing import PyramidTracer
from pyramid_opentracing.lifecycle import ENVIRON_KEY

from . import apps


class TagRefusingTracer(MockTracer):
    """Starts spans fine, but their set_tag raises."""

    def start_active_span(self, *args, **kwargs):
        scope = super().start_active_span(*args, **kwargs)

        def refuse(key, value):
            raise RuntimeError('set_tag refused')
        scope.span.set_tag = refuse
        return scope


def test_a_span_that_refuses_tags_is_still_finished_and_reported_once(failures):
    tracer = TagRefusingTracer()
    app = webtest.TestApp(apps.make_app({
        'ot.trace_all': True, 'ot.base_tracer': tracer, 'ot.traced_attributes': ['method']}))
    for _ in range(3):
        assert app.get('/plain').text == 'plain'
    assert tracer.active_span is None
    assert len(tracer.finished_spans()) == 3
    messages = sorted(r.getMessage() for r in failures())
    assert len(messages) == 2  # once for the attributes, once for the outcome
    assert messages[0].startswith('pyramid_opentracing: tagging the finished server span failed')
    assert messages[1].startswith('pyramid_opentracing: tagging the server span failed')
    assert all('its tags may be incomplete' in message for message in messages)


def test_decorator_on_a_span_that_refuses_tags_still_runs_the_view(failures):
    tracer = TagRefusingTracer()
    traced = PyramidTracer(tracer)
    request = DummyRequest()
    strategy = traced.server_span_strategy()
    scope = strategy.start(request)
    seen = []

    @traced.trace('method')
    def view(request):
        seen.append(traced.get_span(request))
        return Response('ok')

    assert view(request).text == 'ok'
    assert seen == [scope.span]
    strategy.end(scope, request, (), 200, None)
    assert ENVIRON_KEY not in request.environ
    assert any('tagging the server span failed' in r.getMessage() for r in failures())


def test_method_with_context_and_request_finds_request_on_self():
    tracer = MockTracer()
    traced = PyramidTracer(tracer)

    class View:
        def __init__(self, request):
            self.request = request

        @traced.trace('method')
        def handle(self, extra):
            return Response(extra)

    request = DummyRequest()
    assert View(request).handle('x').text == 'x'
    [span] = tracer.finished_spans()
    assert span.tags['method'] == 'GET'


class UnclosableScopeTracer(MockTracer):
    """Scopes whose close() raises before doing anything."""

    def start_active_span(self, *args, **kwargs):
        scope = super().start_active_span(*args, **kwargs)
        real_close = scope.close

        def close():
            scope.close = real_close  # the manager's own close still works
            raise RuntimeError('close refused')
        scope.close = close
        return scope


def test_scope_whose_close_raises_is_deactivated_by_force(failures):
    tracer = UnclosableScopeTracer()
    app = webtest.TestApp(apps.make_app({'ot.trace_all': True, 'ot.base_tracer': tracer}))
    assert app.get('/plain').text == 'plain'
    assert tracer.active_span is None
    [span] = tracer.finished_spans()
    assert span.tags['http.status_code'] == 200
    assert any('closing the active scope failed' in r.getMessage() for r in failures())
