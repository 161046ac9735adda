"""End to end: service A calls service B over HTTP, both on waitress, both
exporting over real OTLP/HTTP to a receiver inside the test."""
import pytest
from pyramid.config import Configurator
from pyramid.response import Response
from webtest.http import StopableWSGIServer

from pyramid_opentracing.outgoing import http_request, urlopen

from .otlp_receiver import OTLPReceiver

PROPAGATORS = ['tracecontext', 'b3', 'b3multi', 'jaeger', 'tracecontext,baggage']


def service_b(settings):
    def ok(request):
        return Response('b says hi')

    def unavailable(request):
        return Response('b is down', status=503)

    config = Configurator(settings=settings)
    config.add_route('ok', '/ok/{who}')
    config.add_view(ok, route_name='ok')
    config.add_route('unavailable', '/unavailable')
    config.add_view(unavailable, route_name='unavailable')
    config.include('pyramid_opentracing')
    return config.make_wsgi_app()


def service_a(settings, b_url):
    def call_b(request):
        response = http_request(request, 'GET', b_url + '/ok/a?token=secret', timeout=10)
        return Response('b answered %d: %s' % (response.status_code, response.text))

    def call_b_urllib(request):
        with urlopen(b_url + '/ok/urllib', target=request, timeout=10) as response:
            return Response('b answered %d' % response.status)

    def call_b_down(request):
        response = http_request(request, 'GET', b_url + '/unavailable', timeout=10)
        return Response('b answered %d' % response.status_code, status=502)

    config = Configurator(settings=settings)
    for name, view in (('call_b', call_b), ('call_b_urllib', call_b_urllib),
                       ('call_b_down', call_b_down)):
        config.add_route(name, '/' + name)
        config.add_view(view, route_name=name)
    config.include('pyramid_opentracing')
    return config.make_wsgi_app()


def bridge_settings(service, receiver, propagators):
    return {
        'ot.trace_all': 'true',
        'ot.base_tracer_func': 'pyramid_opentracing.otel.tracer_from_settings',
        'ot.otel.service_name': service,
        'ot.otel.exporter': 'otlp',
        'ot.otel.endpoint': receiver.endpoint,
        'ot.otel.propagators': propagators,
    }


class TwoServices:
    """A and B served on 127.0.0.1; ``call(path)`` asks A; ``shutdown()``
    stops the servers and shuts both tracers down (which flushes them)."""

    def __init__(self, receiver, propagators):
        b = service_b(bridge_settings('service-b', receiver, propagators))
        self.b_server = StopableWSGIServer.create(b, host='127.0.0.1')
        a = service_a(bridge_settings('service-a', receiver, propagators),
                      self.b_server.application_url.rstrip('/'))
        self.a_server = StopableWSGIServer.create(a, host='127.0.0.1')
        self.tracers = [app.registry.settings['ot.tracer'].tracer for app in (a, b)]

    def call(self, path):
        import requests
        return requests.get(self.a_server.application_url.rstrip('/') + path, timeout=10)

    def shutdown(self):
        self.a_server.shutdown()
        self.b_server.shutdown()
        for tracer in self.tracers:
            tracer.shutdown()


@pytest.fixture
def receiver():
    with OTLPReceiver() as receiver:
        yield receiver


def by_kind(spans, service, kind):
    found = [s for s in spans if s['service'] == service and s['kind'] == kind]
    assert len(found) == 1, spans
    return found[0]


@pytest.mark.parametrize('propagators', PROPAGATORS)
def test_one_trace_across_two_services_whatever_the_header_format(receiver, propagators):
    services = TwoServices(receiver, propagators)
    try:
        response = services.call('/call_b')
    finally:
        services.shutdown()
    assert response.text == 'b answered 200: b says hi'

    spans = receiver.spans
    assert len(spans) == 3, spans  # nothing lost: shutdown flushed the batches
    a_server = by_kind(spans, 'service-a', 'SERVER')
    a_client = by_kind(spans, 'service-a', 'CLIENT')
    b_server = by_kind(spans, 'service-b', 'SERVER')
    assert a_server['trace_id'] == a_client['trace_id'] == b_server['trace_id']
    assert a_server['parent_span_id'] is None
    assert a_client['parent_span_id'] == a_server['span_id']
    assert b_server['parent_span_id'] == a_client['span_id']

    assert a_server['name'] == 'GET /call_b'
    assert a_client['name'] == 'GET'
    assert b_server['name'] == 'GET /ok/{who}'
    assert b_server['attributes']['http.route'] == '/ok/{who}'
    assert b_server['attributes']['url.path'] == '/ok/a'
    assert 'token' not in str(b_server['attributes'])  # the query string is not traced
    assert a_client['attributes']['url.full'].endswith('/ok/a?token=[REDACTED]')
    assert a_client['attributes']['server.address'] == '127.0.0.1'
    for span in (a_server, a_client, b_server):
        assert span['attributes']['http.response.status_code'] == 200
        assert span['status'] == 'UNSET'
    assert {path for path, _, _ in receiver.requests} == {'/v1/traces'}
    assert {content for _, content, _ in receiver.requests} == {'application/x-protobuf'}


def test_a_call_with_urllib_continues_the_trace(receiver):
    services = TwoServices(receiver, 'tracecontext')
    try:
        response = services.call('/call_b_urllib')
    finally:
        services.shutdown()
    assert response.text == 'b answered 200'
    a_client = by_kind(receiver.spans, 'service-a', 'CLIENT')
    b_server = by_kind(receiver.spans, 'service-b', 'SERVER')
    assert b_server['parent_span_id'] == a_client['span_id']
    assert b_server['trace_id'] == a_client['trace_id']
    assert a_client['attributes']['url.full'].endswith('/ok/urllib')


def test_a_failing_service_is_an_error_on_both_sides(receiver):
    services = TwoServices(receiver, 'tracecontext')
    try:
        response = services.call('/call_b_down')
    finally:
        services.shutdown()
    assert response.status_code == 502
    a_server = by_kind(receiver.spans, 'service-a', 'SERVER')
    a_client = by_kind(receiver.spans, 'service-a', 'CLIENT')
    b_server = by_kind(receiver.spans, 'service-b', 'SERVER')
    assert b_server['attributes']['http.response.status_code'] == 503
    assert b_server['status'] == 'ERROR'
    assert b_server['attributes']['error.type'] == '503'
    assert a_client['attributes']['http.response.status_code'] == 503
    assert a_client['status'] == 'ERROR'
    assert a_server['attributes']['http.response.status_code'] == 502
    assert a_server['status'] == 'ERROR'


def test_the_exporter_sends_the_configured_headers(receiver):
    settings = bridge_settings('service-b', receiver, 'tracecontext')
    settings['ot.otel.headers'] = 'x-tenant=acme'
    app = service_b(settings)
    server = StopableWSGIServer.create(app, host='127.0.0.1')
    try:
        import requests
        assert requests.get(server.application_url + 'ok/me', timeout=10).status_code == 200
    finally:
        server.shutdown()
        app.registry.settings['ot.tracer'].tracer.shutdown()
    assert len(receiver.spans) == 1
    assert receiver.requests[0][2].get('x-tenant') == 'acme'
