"""The @trace decorators: every view shape, with and without the tween."""
import opentracing
import pytest
import webtest
from opentracing.ext import tags
from opentracing.mocktracer import MockTracer
from pyramid.config import Configurator
from pyramid.response import Response
from pyramid.testing import DummyRequest

import pyramid_opentracing
from pyramid_opentracing import PyramidTracer

from . import decorated_views


@pytest.fixture
def scanned_app():
    """The app of tests/decorated_views.py, set up by config.scan()."""
    def make(**settings):
        config = Configurator(settings=settings)
        for name in ('function', 'context_view', 'class_view', 'call_view', 'odd_name_view',
                     'odd_call_view', 'forbidden', 'fails', 'registry_traced',
                     'returns_response'):
            config.add_route(name, '/' + name)
        config.include('pyramid_opentracing')
        config.scan('tests.decorated_views')
        return webtest.TestApp(config.make_wsgi_app())
    decorated_views.tracer.reset()
    yield make
    assert decorated_views.tracer.active_span is None


def test_decorator_keeps_name_and_docstring():
    assert decorated_views.function.__name__ == 'function'
    assert decorated_views.function.__doc__ == 'A view taking the request.'
    assert decorated_views.function.__wrapped__ is not None


@pytest.mark.parametrize('path, body', [
    ('/function', 'function'),
    ('/context_view', 'context view'),
    ('/class_view', 'class view'),
    ('/call_view', 'call view'),
    ('/odd_name_view', 'odd name view'),  # found as the request Pyramid is serving
    ('/odd_call_view', 'odd call view'),
])
def test_every_view_shape_is_traced_without_the_tween(scanned_app, path, body):
    response = scanned_app().get(path)
    assert response.text == body
    [span] = decorated_views.tracer.finished_spans()
    assert span.operation_name == path[1:]
    assert span.tags['method'] == 'GET'
    assert span.tags[tags.HTTP_STATUS_CODE] == 200
    assert span.tags['pyramid.route'] == path[1:]
    assert span.tags[tags.SPAN_KIND] == tags.SPAN_KIND_RPC_SERVER


def test_view_can_read_its_span(scanned_app):
    scanned_app().get('/function')
    [span] = decorated_views.tracer.finished_spans()
    assert span.tags['seen_by_view'] is True


def test_status_of_a_returned_response_is_tagged(scanned_app):
    scanned_app().get('/returns_response', status=202)
    [span] = decorated_views.tracer.finished_spans()
    assert span.tags[tags.HTTP_STATUS_CODE] == 202


def test_http_exception_from_decorated_view_is_its_status_not_an_error(scanned_app):
    scanned_app().get('/forbidden', status=403)
    [span] = decorated_views.tracer.finished_spans()
    assert span.tags[tags.HTTP_STATUS_CODE] == 403 and tags.ERROR not in span.tags


def test_exception_from_decorated_view_is_an_error_and_reraised(scanned_app):
    with pytest.raises(KeyError):
        scanned_app().get('/fails')
    [span] = decorated_views.tracer.finished_spans()
    assert span.tags[tags.ERROR] is True
    assert span.logs[0].key_values['error.kind'] == 'KeyError'
    assert span.finished


def test_with_the_tween_the_decorator_tags_the_tween_span(scanned_app):
    app = scanned_app(**{'ot.trace_all': True, 'ot.tracer': decorated_views.tracer})
    app.get('/function')
    [span] = decorated_views.tracer.finished_spans()
    assert span.tags['method'] == 'GET' and span.tags['seen_by_view'] is True


def test_module_level_trace_uses_the_registry_tracer(scanned_app):
    registry_tracer = MockTracer()
    app = scanned_app(**{'ot.base_tracer': registry_tracer})
    app.get('/registry_traced')
    [span] = registry_tracer.finished_spans()
    assert span.operation_name == 'registry_traced' and span.tags['path'] == '/registry_traced'


def test_module_level_trace_without_include_uses_the_global_tracer(tracer):
    @pyramid_opentracing.trace('method')
    def view(request):
        return 'done'
    request = DummyRequest()
    assert view(request) == 'done'
    [span] = tracer.finished_spans()
    assert span.tags['method'] == 'GET'
    assert pyramid_opentracing.get_span(request) is None


def test_direct_call_with_a_dummy_request_finishes_the_span():
    tracer = MockTracer()
    traced = PyramidTracer(tracer)

    @traced.trace('method', 'dontexist')
    def view(request):
        traced.get_span(request).set_tag(tags.COMPONENT, 'pyramid-custom')
        return Response('ok')

    request = DummyRequest()
    view(request)
    [span] = tracer.finished_spans()
    assert span.tags[tags.COMPONENT] == 'pyramid-custom'
    assert 'dontexist' not in span.tags
    assert traced.get_span(request) is None
    assert tracer.active_span is None


def test_decorator_with_failing_tracer_still_runs_the_view(failures):
    class Broken(MockTracer):
        def start_active_span(self, *args, **kwargs):
            raise RuntimeError('tracer down')
    traced = PyramidTracer(Broken())

    @traced.trace()
    def view(request):
        return 'served'
    assert view(DummyRequest()) == 'served'
    assert view(DummyRequest()) == 'served'
    assert [r.getMessage().split(' failed')[0] for r in failures()] == [
        'pyramid_opentracing: starting the server span']


def test_a_view_called_without_any_request_runs_untraced(failures):
    tracer = MockTracer()
    traced = PyramidTracer(tracer)

    @traced.trace()
    def view(context, request):
        return 'x'
    assert view(object(), object()) == 'x'
    assert view(object(), object()) == 'x'
    assert tracer.finished_spans() == []
    [logged] = failures()
    assert 'finding the request of a view traced by @trace failed' in logged.getMessage()


def test_default_global_tracer_is_used_when_none_given(tracer):
    assert PyramidTracer().tracer is tracer is opentracing.global_tracer()
