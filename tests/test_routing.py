"""Once routing is done, before the view runs, the span is named after the
route and carries it; a name the application gave it before routing is
kept, one the view gives it is the last word; a view's own tag wins over a
traced attribute of the same name."""
import pytest
import webtest
from opentracing.mocktracer import MockTracer
from pyramid.config import Configurator
from pyramid.events import BeforeTraversal, NewRequest
from pyramid.response import Response
from zope.interface import implementedBy

from pyramid_opentracing import get_span
from pyramid_opentracing.otel import tracer_from_settings
from pyramid_opentracing.routing import on_before_traversal


def name_of(span):
    otel_span = getattr(span, 'unwrap', None)
    return otel_span().name if otel_span else span.operation_name


def tags_of(span):
    otel_span = getattr(span, 'unwrap', None)
    return dict(otel_span().attributes) if otel_span else dict(span.tags)


def seen(request):
    span = get_span(request)
    request.registry.settings['test.seen'].append((name_of(span), tags_of(span)))
    return Response('seen')


def renamed(request):
    get_span(request).set_operation_name('renamed by the view')
    return Response('renamed')


def tagging(request):
    get_span(request).set_tag('method', 'set by the view')
    return Response('tagged')


def configure(tracer, include=True, **settings):
    config = Configurator(settings=dict({
        'ot.trace_all': True, 'ot.base_tracer': tracer, 'test.seen': []}, **settings))
    for name, pattern, view in [('user', '/user/{name}', seen), ('renamed', '/renamed', renamed),
                                ('tagging', '/tagging', tagging)]:
        config.add_route(name, pattern)
        config.add_view(view, route_name=name)
    if include:
        config.include('pyramid_opentracing')
    return config


@pytest.fixture(params=['mocktracer', 'otel'])
def traced(request, clean_env):
    """(tracer, finished(): the finished spans as (name, tags) each)."""
    if request.param == 'mocktracer':
        tracer = MockTracer()
        yield tracer, lambda: [(span.operation_name, dict(span.tags))
                               for span in tracer.finished_spans()]
        return
    tracer = tracer_from_settings(**{'ot.otel.exporter': 'memory'})
    yield tracer, lambda: [(span.name, dict(span.attributes))
                           for span in tracer.exporter.get_finished_spans()]
    tracer.shutdown()


def route_name(tracer):
    """The name of the span of a request routed to ``user``."""
    return 'user' if isinstance(tracer, MockTracer) else 'GET /user/{name}'


def test_the_view_sees_its_span_named_after_the_route(traced):
    tracer, finished = traced
    app = webtest.TestApp(configure(tracer).make_wsgi_app())
    app.get('/user/alice')
    [(name, tags)] = app.app.registry.settings['test.seen']
    assert name == route_name(tracer)
    assert tags['pyramid.route'] == 'user'
    assert tags.get('http.route', '/user/{name}') == '/user/{name}'
    assert [name for name, _ in finished()] == [route_name(tracer)]


def test_the_tween_registered_without_the_include_names_the_span_before_the_view(traced):
    tracer, _ = traced
    config = configure(tracer, include=False)
    config.add_tween('pyramid_opentracing.opentracing_tween_factory')
    app = webtest.TestApp(config.make_wsgi_app())
    config.make_wsgi_app()  # a second application of the same registry
    app.get('/user/alice')
    [(name, _)] = app.app.registry.settings['test.seen']
    assert name == route_name(tracer)
    ours = [registration for registration in app.app.registry.registeredHandlers()
            if getattr(registration.handler, '__wrapped__', registration.handler)
            is on_before_traversal]
    assert len(ours) == 1


def test_with_the_include_no_event_subscriber_is_registered(traced):
    """The include's view deriver says when routing is done: no subscriber,
    so that Pyramid makes no event objects for a request at all; the view
    still sees its span named after the route."""
    tracer, _ = traced
    config = configure(tracer)
    app = config.make_wsgi_app()
    assert not list(app.registry.registeredHandlers())
    webtest.TestApp(app).get('/user/alice')
    [(name, _)] = app.registry.settings['test.seen']
    assert name == route_name(tracer)


def test_a_name_given_before_routing_is_kept(traced):
    tracer, finished = traced
    config = configure(tracer, **{
        'ot.start_span_cb': lambda span, request: span.set_operation_name('from the callback')})
    webtest.TestApp(config.make_wsgi_app()).get('/user/alice')
    [(name, tags)] = finished()
    assert name == 'from the callback'
    assert tags['pyramid.route'] == 'user'


def test_a_name_given_by_a_new_request_subscriber_is_kept(traced):
    tracer, finished = traced
    config = configure(tracer)
    config.add_subscriber(lambda event: get_span(event.request).set_operation_name('early'),
                          NewRequest)
    webtest.TestApp(config.make_wsgi_app()).get('/user/alice')
    assert [name for name, _ in finished()] == ['early']


def test_the_view_renaming_its_span_has_the_last_word(traced):
    tracer, finished = traced
    webtest.TestApp(configure(tracer).make_wsgi_app()).get('/renamed')
    assert [name for name, _ in finished()] == ['renamed by the view']


def test_a_request_matching_no_route_keeps_its_start_name(traced):
    tracer, finished = traced
    webtest.TestApp(configure(tracer).make_wsgi_app()).get('/nowhere', status=404)
    [(name, tags)] = finished()
    assert name == 'GET'
    assert 'pyramid.route' not in tags


def test_a_tag_the_view_sets_wins_over_the_traced_attribute(traced):
    """1.0's ``test_tracetags_override``."""
    tracer, finished = traced
    config = configure(tracer, **{'ot.traced_attributes': 'method path'})
    webtest.TestApp(config.make_wsgi_app()).get('/tagging')
    [(_, tags)] = finished()
    assert tags['method'] == 'set by the view'
    assert tags['path'] == '/tagging'
