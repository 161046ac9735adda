"""With the bridge, baggage flows as OpenTracing says: a child span inherits
its parent's, so an outgoing call made inside a span the view started
carries the caller's baggage and what the view added, within the W3C
limits; and OpenTelemetry's WSGI middleware's baggage reaches them too."""
import pytest
import webtest
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pyramid.config import Configurator
from pyramid.response import Response
from webtest.http import StopableWSGIServer

from pyramid_opentracing import get_span, outgoing

from .test_baggage_limits import NextService
from .test_otel_bridge import BRIDGE, no_otel_env  # noqa: F401 (fixture)

CALLER = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'


@pytest.fixture
def next_service():
    """A service on 127.0.0.1 keeping the headers of each request."""
    service = NextService()
    server = StopableWSGIServer.create(service, host='127.0.0.1')
    service.url = server.application_url
    yield service
    server.shutdown()


def sent_baggage(service):
    return [headers.get('baggage') for headers in service.received]


def entries(header):
    return dict(item.split('=', 1) for item in header.split(',')) if header else {}


def make_app(next_url, **settings):
    """Views calling ``next_url`` in the ways README shows, inside a child
    span the view started or not."""
    def tracer_of(request):
        return request.registry.settings['ot.tracer'].tracer

    def in_child(request):
        with tracer_of(request).start_active_span('work'):
            outgoing.http_request(request, 'GET', next_url, timeout=5)
        return Response('ok')

    def in_grandchild_urlopen(request):
        with tracer_of(request).start_active_span('work'):
            with tracer_of(request).start_active_span('deeper'):
                outgoing.urlopen(next_url, target=request, timeout=5).close()
        return Response('ok')

    def added_then_child(request):
        get_span(request).set_baggage_item('tenant', 'acme')
        with tracer_of(request).start_active_span('work') as scope:
            scope.span.set_baggage_item('step', 'two')
            outgoing.http_request(request, 'GET', next_url, timeout=5)
        outgoing.http_request(request, 'GET', next_url, timeout=5)  # the server span's alone
        return Response('ok')

    def in_otel_span(request):
        with tracer_of(request).unwrap().start_as_current_span('query'):
            outgoing.http_request(request, 'GET', next_url, timeout=5)
        return Response('ok')

    def direct(request):
        outgoing.http_request(request, 'GET', next_url, timeout=5)
        return Response('ok')

    def read_first(request):  # before anything reads the server span's context
        span = get_span(request)
        return Response('%s %032x' % (span.get_baggage_item('user'), span.context.unwrap().trace_id))

    config = Configurator(settings=dict({
        'ot.trace_all': 'true', 'ot.base_tracer_func': BRIDGE, 'ot.otel.exporter': 'memory',
        'ot.otel.propagators': 'tracecontext,baggage'}, **settings))
    for view in (in_child, in_grandchild_urlopen, added_then_child, in_otel_span, direct,
                 read_first):
        config.add_route(view.__name__, '/' + view.__name__)
        config.add_view(view, route_name=view.__name__)
    config.include('pyramid_opentracing')
    return config.make_wsgi_app()


@pytest.fixture
def bridged(no_otel_env, next_service):  # noqa: F811
    app = make_app(next_service.url)
    tracer = app.registry.settings['ot.tracer'].tracer
    app = webtest.TestApp(app)
    app.tracer = tracer
    yield app
    tracer.shutdown()


@pytest.mark.parametrize('path', ['direct', 'in_child', 'in_grandchild_urlopen', 'in_otel_span'])
def test_the_callers_baggage_reaches_calls_made_inside_child_spans(bridged, next_service, path):
    bridged.get('/' + path, headers={'traceparent': CALLER, 'baggage': 'user=alice,plan=gold'})
    (sent,) = sent_baggage(next_service)
    assert entries(sent) == {'user': 'alice', 'plan': 'gold'}


@pytest.mark.parametrize('caller', [{}, {'traceparent': 'garbage'}])
def test_the_callers_baggage_without_a_trace_context_reaches_the_calls(
        bridged, next_service, caller):
    bridged.get('/in_child', headers=dict(caller, baggage='user=alice,plan=gold'))
    (sent,) = sent_baggage(next_service)
    assert entries(sent) == {'user': 'alice', 'plan': 'gold'}
    (received,) = next_service.received
    server_span = [span for span in bridged.tracer.exporter.get_finished_spans()
                   if span.name == 'GET /in_child'][0]
    assert server_span.parent is None  # a new trace, with the caller's baggage
    assert received['traceparent'].split('-')[1] == '%032x' % server_span.context.trace_id


def test_a_call_inside_a_span_of_the_opentelemetry_api_is_its_child_with_the_baggage(
        bridged, next_service):
    bridged.get('/in_otel_span', headers={'traceparent': CALLER, 'baggage': 'user=alice'})
    spans = {span.name: span for span in bridged.tracer.exporter.get_finished_spans()}
    assert spans['GET'].parent.span_id == spans['query'].context.span_id
    assert spans['query'].parent.span_id == spans['GET /in_otel_span'].context.span_id
    (sent,) = sent_baggage(next_service)
    assert entries(sent) == {'user': 'alice'}


def test_baggage_a_view_adds_reaches_the_calls_of_the_spans_below(bridged, next_service):
    bridged.get('/added_then_child', headers={'traceparent': CALLER, 'baggage': 'user=alice'})
    in_child, from_server_span = sent_baggage(next_service)
    assert entries(in_child) == {'user': 'alice', 'tenant': 'acme', 'step': 'two'}
    # a child's baggage is its own: the server span never got 'step'
    assert entries(from_server_span) == {'user': 'alice', 'tenant': 'acme'}


def test_the_server_span_reads_the_callers_baggage_and_trace(bridged):
    answer = bridged.get('/read_first', headers={'traceparent': CALLER, 'baggage': 'user=alice'})
    assert answer.text == 'alice 0af7651916cd43dd8448eb211c80319c'


def test_baggage_inherited_by_child_spans_is_bounded_as_ever(bridged, next_service):
    incoming = ','.join('item%03d=v' % n for n in range(150))
    bridged.get('/in_child', headers={'traceparent': CALLER, 'baggage': incoming})
    (sent,) = sent_baggage(next_service)
    assert len(entries(sent)) == 64
    assert set(sent.split(',')) <= set(incoming.split(','))


def test_behind_opentelemetrys_wsgi_middleware_its_baggage_reaches_the_calls(
        no_otel_env, next_service):  # noqa: F811
    """The middleware extracts the caller's context, baggage included, and
    our span is its INTERNAL child: the baggage is in the current context."""
    app = make_app(next_service.url)
    tracer = app.registry.settings['ot.tracer'].tracer
    propagator = CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
    from opentelemetry import propagate
    saved = propagate.get_global_textmap()
    propagate.set_global_textmap(propagator)
    try:
        wrapped = OpenTelemetryMiddleware(app, tracer_provider=tracer.provider)
        webtest.TestApp(wrapped).get('/in_child', headers={'traceparent': CALLER,
                                                           'baggage': 'user=alice'})
    finally:
        propagate.set_global_textmap(saved)
        tracer.shutdown()
    (sent,) = sent_baggage(next_service)
    assert entries(sent) == {'user': 'alice'}
