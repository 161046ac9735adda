"""Incoming trace context in every header format, with the bridge and with
classic OpenTracing tracers; malformed headers start a new trace."""
import opentracing
import pytest
import webtest
from jaeger_client import Tracer as JaegerTracer
from jaeger_client.reporter import InMemoryReporter
from jaeger_client.sampler import ConstSampler

from pyramid_opentracing.outgoing import client_span, outgoing_headers

from . import apps

TRACE_ID = '0af7651916cd43dd8448eb211c80319c'
SPAN_ID = 'b7ad6b7169203331'

#: (propagator, headers carrying TRACE_ID and SPAN_ID, sampled)
INCOMING = [
    ('tracecontext', {'traceparent': '00-%s-%s-01' % (TRACE_ID, SPAN_ID),
                      'tracestate': 'vendor=opaque'}),
    ('b3', {'b3': '%s-%s-1' % (TRACE_ID, SPAN_ID)}),
    ('b3multi', {'X-B3-TraceId': TRACE_ID, 'X-B3-SpanId': SPAN_ID, 'X-B3-Sampled': '1'}),
    ('jaeger', {'uber-trace-id': '%s:%s:0:1' % (TRACE_ID, SPAN_ID)}),
]

MALFORMED = [
    {'traceparent': 'garbage'},
    {'traceparent': '00-%s-%s-01' % ('0' * 32, SPAN_ID)},
    {'traceparent': '00-%s-%s' % (TRACE_ID, SPAN_ID)},
    {'traceparent': '00-%s-%s-01' % (TRACE_ID + 'ff', SPAN_ID), 'tracestate': '=,=,=' * 50},
    {'b3': 'not-a-b3-value'},
    {'b3': '-'},
    {'X-B3-TraceId': 'zz', 'X-B3-SpanId': SPAN_ID},
    {'uber-trace-id': 'x:y:z:w'},
    {'uber-trace-id': '%s:%s:0' % (TRACE_ID, SPAN_ID)},
    {'uber-trace-id': ':::'},
    {'baggage': '%%%;;;===,,,'},
]


def bridge(propagators, **settings):
    settings.update({
        'ot.trace_all': 'true',
        'ot.base_tracer_func': 'pyramid_opentracing.otel.tracer_from_settings',
        'ot.otel.exporter': 'memory',
        'ot.otel.propagators': propagators,
    })
    app = apps.make_app(settings)
    return webtest.TestApp(app), app.registry.settings['ot.tracer'].tracer


@pytest.fixture
def bridges():
    made = []

    def make(propagators, **settings):
        app, tracer = bridge(propagators, **settings)
        made.append(tracer)
        return app, tracer
    yield make
    for tracer in made:
        tracer.shutdown()


@pytest.mark.parametrize('propagator, headers', INCOMING, ids=[p for p, _ in INCOMING])
def test_the_callers_trace_continues_in_its_header_format(bridges, propagator, headers):
    app, tracer = bridges(propagator)
    app.get('/plain', headers=headers)
    (span,) = tracer.exporter.get_finished_spans()
    assert format(span.context.trace_id, '032x') == TRACE_ID
    assert format(span.parent.span_id, '016x') == SPAN_ID
    assert span.parent.is_remote


@pytest.mark.parametrize('propagator, headers', INCOMING, ids=[p for p, _ in INCOMING])
def test_a_format_that_is_not_configured_is_not_read(bridges, propagator, headers):
    # B3 readers accept both the single and the multiple header forms
    others = [p for p, _ in INCOMING if p[:2] != propagator[:2]]
    app, tracer = bridges(','.join(others))
    app.get('/plain', headers=headers)
    (span,) = tracer.exporter.get_finished_spans()
    assert span.parent is None


def test_several_formats_are_read_and_all_are_written(bridges):
    app, tracer = bridges('tracecontext,b3multi,jaeger,baggage')
    app.get('/plain', headers=INCOMING[3][1])  # a Jaeger caller
    (span,) = tracer.exporter.get_finished_spans()
    assert format(span.context.trace_id, '032x') == TRACE_ID
    scope = tracer.start_active_span('view')
    try:
        headers = outgoing_headers(tracer)
    finally:
        scope.close()
    assert {'traceparent', 'x-b3-traceid', 'uber-trace-id'} <= {k.lower() for k in headers}


def test_tracestate_and_baggage_travel_on(bridges):
    seen = {}

    def record(span, request):
        with client_span('GET', 'http://next.example/', tracer) as call:
            seen.update(call.headers)
        seen['item'] = span.get_baggage_item('user.tier')

    app, tracer = bridges('tracecontext,baggage', **{'ot.start_span_cb': record})
    app.get('/plain', headers=dict(INCOMING[0][1], baggage='user.tier=gold'))
    assert seen['tracestate'] == 'vendor=opaque'
    assert seen['baggage'] == 'user.tier=gold'
    assert seen['item'] == 'gold'
    assert seen['traceparent'].split('-')[1] == TRACE_ID


@pytest.mark.parametrize('headers', MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_headers_start_a_new_trace_and_never_fail_the_request(bridges, headers):
    app, tracer = bridges('tracecontext,baggage,b3,b3multi,jaeger')
    assert app.get('/plain', headers=headers).text == 'plain'
    (span,) = tracer.exporter.get_finished_spans()
    assert span.parent is None
    assert span.context.is_valid


def test_a_crashing_propagator_is_logged_once_and_the_request_served(bridges, failures):
    app, tracer = bridges('tracecontext')

    def broken(carrier, context=None, getter=None):
        raise RuntimeError('propagator bug')
    tracer.propagator.extract = broken
    for _ in range(3):
        assert app.get('/plain', headers=INCOMING[0][1]).text == 'plain'
    assert len(tracer.exporter.get_finished_spans()) == 3
    logged = [r for r in failures() if 'propagator bug' in r.getMessage()]
    assert len(logged) == 1


# -- classic OpenTracing tracers ---------------------------------------------

@pytest.fixture
def jaeger_tracer():
    reporter = InMemoryReporter()
    tracer = JaegerTracer('classic', reporter=reporter, sampler=ConstSampler(True))
    yield tracer
    assert tracer.active_span is None
    tracer.close()


def test_jaeger_client_continues_an_uber_trace_id(jaeger_tracer):
    app = webtest.TestApp(apps.make_app({'ot.trace_all': True, 'ot.base_tracer': jaeger_tracer}))
    app.get('/plain', headers={'uber-trace-id': 'abc123:def456:0:1'})
    (span,) = jaeger_tracer.reporter.get_spans()
    assert (span.trace_id, span.parent_id) == (0xabc123, 0xdef456)
    assert span.tags and span.operation_name == 'plain'


def test_jaeger_client_calls_a_bridge_service_speaking_jaeger(jaeger_tracer, bridges):
    """A service still on jaeger-client calls one already on OpenTelemetry."""
    downstream, bridge_tracer = bridges('jaeger')
    scope = jaeger_tracer.start_active_span('upstream view')
    try:
        with client_span('GET', 'http://downstream/plain', jaeger_tracer) as call:
            downstream.get('/plain', headers=call.headers)
            call.set_status(200)
    finally:
        scope.close()
    client = [s for s in jaeger_tracer.reporter.get_spans() if s.operation_name == 'GET'][0]
    (server,) = bridge_tracer.exporter.get_finished_spans()
    assert server.context.trace_id == client.trace_id
    assert server.parent.span_id == client.span_id
    assert {t.key: t.vStr for t in client.tags}['span.kind'] == 'client'


def test_mocktracer_propagates_through_the_outgoing_helper(tracer):
    downstream = webtest.TestApp(apps.make_app({'ot.trace_all': True, 'ot.base_tracer': tracer}))
    with tracer.start_active_span('upstream view') as scope:
        with client_span('POST', 'http://user:pw@downstream/plain?token=t', tracer) as call:
            downstream.get('/plain', headers=call.headers)
            call.set_status(200)
    spans = {s.operation_name: s for s in tracer.finished_spans()}
    client, server = spans['POST'], spans['plain']
    assert client.parent_id == scope.span.context.span_id
    assert server.parent_id == client.context.span_id
    assert server.context.trace_id == client.context.trace_id
    assert client.tags == {'span.kind': 'client', 'http.method': 'POST',
                           'http.url': 'http://downstream/plain?token=[REDACTED]',
                           'http.status_code': 200}


def test_the_global_tracer_is_used_without_a_target(tracer):
    assert opentracing.global_tracer() is tracer
    with tracer.start_active_span('view'):
        headers = outgoing_headers()
    assert headers  # the MockTracer's own headers
    assert outgoing_headers() == {}  # no active span: nothing to propagate
