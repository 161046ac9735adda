"""Outgoing requests carry at most the W3C baggage limits: 64 entries and
8,192 bytes. A caller sending more would make every service it reaches send
all of it on, until one answers 431. What is dropped is logged, once."""
import threading

import opentracing
import pytest
import requests
import webtest
from jaeger_client import Tracer as JaegerTracer
from jaeger_client.reporter import InMemoryReporter
from jaeger_client.sampler import ConstSampler
from pyramid.config import Configurator
from pyramid.response import Response

from examples.serving import serving
from pyramid_opentracing.outgoing import bound_baggage, client_span, http_request, outgoing_headers

from . import apps


def baggage_headers(headers, prefix):
    return {name: value for name, value in headers.items() if name.lower().startswith(prefix)}


class NextService:
    """An untraced service on 127.0.0.1 that keeps the headers of each request."""

    def __init__(self):
        self.received = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            self.received.append({key[5:].replace('_', '-').lower(): value
                                  for key, value in environ.items() if key.startswith('HTTP_')})
        start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', '2')])
        return [b'ok']


def calling_app(tracer, next_url):
    """A traced service whose view calls ``next_url``."""
    def call_next(request):
        return Response('%d' % http_request(request, 'GET', next_url).status_code)
    config = Configurator(settings={'ot.trace_all': True, 'ot.base_tracer': tracer})
    config.add_route('call', '/call')
    config.add_view(call_next, route_name='call')
    config.include('pyramid_opentracing')
    return config.make_wsgi_app()


def test_150_baggage_headers_reach_the_next_service_as_64(tracer, failures):
    next_service = NextService()
    incoming = {'ot-baggage-item%03d' % n: 'v' for n in range(150)}
    caller = {'ot-tracer-traceid': 'a1', 'ot-tracer-spanid': 'b2', 'ot-tracer-sampled': 'true'}
    with serving(next_service) as next_url, serving(calling_app(tracer, next_url)) as url:
        for _ in range(3):
            response = requests.get(url + '/call', headers=dict(caller, **incoming), timeout=10)
            assert response.text == '200'
    for received in next_service.received:
        sent = baggage_headers(received, 'ot-baggage-')
        assert sorted(sent) == sorted(incoming)[:64]
    [warning] = [r for r in failures() if 'baggage' in r.getMessage()]
    assert 'past the limits (64 entries, 8192 bytes) were not sent: 86 in ot-baggage-*' in warning.getMessage()


def test_baggage_is_cut_at_8192_bytes(tracer):
    with tracer.start_active_span('view') as scope:
        for n in range(10):
            scope.span.set_baggage_item('k%d' % n, 'x' * 1000)
        headers = outgoing_headers(tracer)
    sent = baggage_headers(headers, 'ot-baggage-')
    assert sorted(sent) == ['ot-baggage-k%d' % n for n in range(8)]
    assert sum(len(name) - len('ot-baggage-') + 1 + len(value) for name, value in sent.items()) \
        + len(sent) - 1 <= 8192


def test_baggage_within_the_limits_is_sent_whole(tracer, failures):
    with tracer.start_active_span('view') as scope:
        for n in range(64):
            scope.span.set_baggage_item('k%d' % n, 'v')
        with client_span('GET', 'http://next.example/', tracer) as call:
            pass
    assert len(baggage_headers(call.headers, 'ot-baggage-')) == 64
    assert failures() == []


def test_jaeger_baggage_headers_are_bounded_too():
    tracer = JaegerTracer('svc', InMemoryReporter(), ConstSampler(True))
    try:
        with tracer.start_active_span('view') as scope:
            for n in range(100):
                scope.span.set_baggage_item('k%d' % n, 'v')
            headers = outgoing_headers(tracer)
    finally:
        tracer.close()
    assert len(baggage_headers(headers, 'uberctx-')) == 64


def make_bridge_app(propagators):
    """(app of tests.apps traced by the bridge, exporting to memory, BridgeTracer)."""
    app = apps.make_app({
        'ot.trace_all': 'true',
        'ot.base_tracer_func': 'pyramid_opentracing.otel.tracer_from_settings',
        'ot.otel.exporter': 'memory',
        'ot.otel.propagators': propagators,
    })
    return app, app.registry.settings['ot.tracer'].tracer


@pytest.fixture
def bridge_app():
    app, tracer = make_bridge_app('tracecontext,baggage')
    yield app, tracer
    tracer.shutdown()


def test_the_bridge_sends_at_most_64_entries_in_its_baggage_header(bridge_app, failures):
    app, tracer = bridge_app
    seen = {}

    def record(span, request):
        with client_span('GET', 'http://next.example/', request) as call:
            seen.update(call.headers)
    app.registry.settings['ot.tracer'].start_span_cb = record
    incoming = ','.join('item%03d=v' % n for n in range(150))
    webtest.TestApp(app).get('/plain', headers={
        'traceparent': '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        'baggage': incoming})
    entries = seen['baggage'].split(',')
    assert len(entries) == 64
    assert set(entries) <= set(incoming.split(','))
    assert len([r for r in failures() if 'baggage' in r.getMessage()]) == 1


def test_a_global_tracer_without_baggage_sends_no_baggage_header(tracer):
    assert baggage_headers(outgoing_headers(opentracing.global_tracer()), 'ot-baggage-') == {}


def test_each_baggage_format_carries_the_same_first_entries_within_the_limits():
    headers = {'baggage': ','.join('k%02d=v' % n for n in range(70))}
    headers.update({'uberctx-k%02d' % n: 'v' for n in range(70)})
    told = bound_baggage(headers)
    in_w3c = [entry.partition('=')[0] for entry in headers['baggage'].split(',')]
    in_jaeger = [name[len('uberctx-'):] for name in headers if name.startswith('uberctx-')]
    assert in_w3c == in_jaeger == ['k%02d' % n for n in range(64)]
    assert '6 in baggage (k64, k65, k66, k67, k68, k69)' in told
    assert '6 in uberctx-* (k64' in told


def test_the_bridge_sends_all_its_baggage_in_every_format_within_the_limits(failures):
    app, tracer = make_bridge_app('tracecontext baggage jaeger')
    seen = {}

    def record(span, request):
        seen.update(outgoing_headers(request))
    app.registry.settings['ot.tracer'].start_span_cb = record
    incoming = {'uberctx-k%02d' % n: 'v' for n in range(33)}
    incoming['uber-trace-id'] = '80f198ee56343ba864fe8b2a57d3eff7:e457b5a2e4d86bd1:0:1'
    try:
        webtest.TestApp(app).get('/plain', headers=incoming)
    finally:
        tracer.shutdown()
    assert len(seen['baggage'].split(',')) == 33
    assert len([name for name in seen if name.startswith('uberctx-')]) == 33
    assert not [r for r in failures() if 'baggage' in r.getMessage()]
