"""A scope a view leaves active does not outlive its request: the thread is
left as the request found it, so the finished server span never becomes
active again (the parent of what the thread does next), and scopes never
closed do not chain up request after request."""
import pytest
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


def hundred(request):
    for number in range(100):
        request.registry.settings['ot.tracer'].tracer.start_active_span('leak %d' % number)
    return Response('ok')


def make_app(tracer, **settings):
    config = Configurator(settings=dict({'ot.trace_all': True, 'ot.base_tracer': tracer},
                                        **settings))
    config.include('pyramid_opentracing')
    for view in (never_closed, closed_after_the_request, hundred):
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


@pytest.mark.parametrize('leak', ['/never_closed', '/closed_after_the_request'])
def test_with_the_bridge_the_next_request_starts_from_a_clean_context(leak):
    """OpenTelemetry's contexts are reset by token: a scope left above the
    server span's would, once closed or collected, make the finished server
    span current again on the thread."""
    import gc
    from opentelemetry import trace
    app = make_app(None, **{'ot.base_tracer_func': 'pyramid_opentracing.otel.tracer_from_settings',
                            'ot.otel.exporter': 'memory'})
    tracer = app.app.registry.settings['ot.tracer'].tracer
    try:
        for _ in range(3):
            app.get(leak)
            gc.collect()
            assert not trace.get_current_span().get_span_context().is_valid
        names = [span.name for span in tracer.exporter.get_finished_spans()]
        assert names.count('db-session') == 3
    finally:
        tracer.shutdown()


def test_a_scope_manager_of_contextvars_is_left_clean_too():
    from opentracing.scope_managers.contextvars import ContextVarsScopeManager
    tracer = MockTracer(scope_manager=ContextVarsScopeManager())
    app = make_app(tracer)
    for leak in ('/never_closed', '/closed_after_the_request'):
        app.get(leak)
        assert tracer.active_span is None


def test_many_scopes_left_active_are_all_closed():
    tracer = MockTracer()
    app = make_app(tracer)
    app.get('/hundred')
    assert tracer.active_span is None


def test_a_context_the_garbage_collector_puts_back_is_not_closed_again_and_again(caplog):
    """A context manager of the OpenTelemetry API never exited, in a
    reference cycle: when the collector frees it (here during a later
    request), it resets the context to the one of its own, earlier, request.
    Closing the later request's scope must not loop over the earlier one."""
    import gc
    import logging
    from pyramid_opentracing.otel import tracer_from_settings
    tracer = tracer_from_settings(**{'ot.otel.exporter': 'memory'})

    def leak(request):
        manager = tracer.provider.get_tracer('app').start_as_current_span('leaked-cm')
        manager.__enter__()
        manager.cycle = manager  # freed by the collector only
        return Response('ok')

    def probe(request):
        gc.collect()
        return Response('ok')

    config = Configurator(settings={'ot.trace_all': True, 'ot.base_tracer': tracer})
    config.include('pyramid_opentracing')
    for view in (leak, probe):
        config.add_route(view.__name__, '/' + view.__name__)
        config.add_view(view, route_name=view.__name__)
    app = webtest.TestApp(config.make_wsgi_app())
    gc.disable()
    try:
        with caplog.at_level(logging.ERROR):
            app.get('/leak')
            app.get('/probe')
            app.get('/probe')
    finally:
        gc.enable()
        tracer.shutdown()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) <= 1, len(errors)
