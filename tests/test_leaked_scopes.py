"""A scope a view leaves active does not outlive its request: the thread is
left as the request found it, so the finished server span never becomes
active again (the parent of what the thread does next), and scopes never
closed do not chain up request after request."""
import webtest
from opentracing.mocktracer import MockTracer
from pyramid.config import Configurator
from pyramid.response import Response


def never_closed(request):
    request.registry.settings['ot.tracer'].tracer.start_active_span('db-session')
    return Response('ok')


def closed_after_the_request(request):
    scope = request.registry.settings['ot.tracer'].tracer.start_active_span('db-session')
    request.add_finished_callback(lambda request: scope.close())
    return Response('ok')


def make_app(tracer):
    config = Configurator(settings={'ot.trace_all': True, 'ot.base_tracer': tracer})
    config.include('pyramid_opentracing')
    for view in (never_closed, closed_after_the_request):
        config.add_route(view.__name__, '/' + view.__name__)
        config.add_view(view, route_name=view.__name__)
    return webtest.TestApp(config.make_wsgi_app())


def test_a_scope_never_closed_is_closed_with_its_request(failures):
    tracer = MockTracer()
    app = make_app(tracer)
    for _ in range(50):
        app.get('/never_closed')
        assert tracer.active_span is None
    names = [span.operation_name for span in tracer.finished_spans()]
    assert names.count('db-session') == 50 and names.count('never_closed') == 50
    warned = [r for r in failures() if 'left a span active' in r.getMessage()]
    assert len(warned) == 1  # once, not per request


def test_a_scope_closed_after_the_request_does_not_bring_the_server_span_back():
    tracer = MockTracer()
    app = make_app(tracer)
    app.get('/closed_after_the_request')
    assert tracer.active_span is None
    with tracer.start_active_span('cron-job') as scope:
        assert scope.span.parent_id is None
    finished = [span.operation_name for span in tracer.finished_spans()]
    assert finished.count('closed_after_the_request') == 1
    assert finished.count('db-session') == 1  # closed by the request, not again


def test_what_was_active_before_the_request_stays_active():
    """An outer instrumentation's scope (a middleware) is no leak."""
    tracer = MockTracer()
    app = make_app(tracer)
    with tracer.start_active_span('middleware') as outer:
        app.get('/never_closed')
        assert tracer.scope_manager.active is outer
    assert tracer.active_span is None
