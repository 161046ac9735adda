"""With the bridge, what a view does to spans cannot break their truth: the
server span ends with its request however the view treats it, and the
texts a view puts on any span pass the scrubber."""
import logging

import pytest
from pyramid.response import Response

from pyramid_opentracing import get_span

from . import apps
from .test_otel_bridge import no_otel_env  # noqa: F401 (fixture)

SECRET = 'hunter2-s3cr3t'


def finish_server(request):
    get_span(request).finish()
    return Response('made', status=201)


def with_server(request):
    with get_span(request) as span:
        span.set_tag('inside', True)
    raise ValueError('broken after the with block')


def secret_texts(request):
    span = get_span(request)
    span.set_tag('note', 'retry with password=%s' % SECRET)
    span.set_tag('count', 3)
    span.log_kv({'event': 'cache miss', 'detail': 'api_key=%s' % SECRET, 'hits': 0})
    tracer = request.registry.settings['ot.tracer'].tracer
    with tracer.start_active_span('child') as scope:
        scope.span.set_tag('url', 'https://user:%s@db.example/' % SECRET)
        scope.span.set_operation_name('lookup token=%s' % SECRET)
    return Response('ok')


def scope_finishes_server(request):
    tracer = request.registry.settings['ot.tracer'].tracer
    with tracer.scope_manager.activate(get_span(request), finish_on_close=True):
        pass
    return Response('unavailable', status=503)


VIEWS = {'finish_server': finish_server, 'with_server': with_server,
         'secret_texts': secret_texts, 'scope_finishes_server': scope_finishes_server}


@pytest.fixture
def bridged(no_otel_env):  # noqa: F811
    app, tracer = apps.bridged_views(VIEWS)
    yield app, tracer
    tracer.shutdown()


def test_a_server_span_the_view_finishes_ends_once_with_its_outcome(bridged, caplog):
    app, tracer = bridged
    with caplog.at_level(logging.WARNING):
        app.post('/finish_server', status=201)
        app.post('/finish_server', status=201)
    spans = tracer.exporter.get_finished_spans()
    assert [span.name for span in spans] == ['POST /finish_server'] * 2
    assert all(span.attributes['http.response.status_code'] == 201 for span in spans)
    assert all(span.attributes['http.route'] == '/finish_server' for span in spans)
    warnings = [r for r in caplog.records if 'finishing the server span from the application'
                in r.getMessage()]
    assert len(warnings) == 1  # once, not per request
    assert not [r for r in caplog.records if r.name.startswith('opentelemetry')]


def test_a_server_span_a_scope_finishes_on_close_ends_with_its_outcome(bridged, caplog):
    app, tracer = bridged
    with caplog.at_level(logging.WARNING):
        app.get('/scope_finishes_server', status=503)
    (span,) = tracer.exporter.get_finished_spans()
    assert span.name == 'GET /scope_finishes_server'
    assert span.attributes['http.response.status_code'] == 503
    assert span.status.status_code.name == 'ERROR'
    assert not [r for r in caplog.records if r.name.startswith('opentelemetry')]


def test_a_server_span_left_by_with_ends_with_the_requests_error(bridged):
    app, tracer = bridged
    with pytest.raises(ValueError):
        app.get('/with_server')
    (span,) = tracer.exporter.get_finished_spans()
    assert span.attributes['inside'] is True
    assert span.attributes['error.type'] == 'ValueError'
    assert span.attributes['http.response.status_code'] == 500


def test_texts_a_view_puts_on_spans_are_scrubbed(bridged):
    app, tracer = bridged
    app.get('/secret_texts')
    spans = tracer.exporter.get_finished_spans()
    dumped = repr([(span.name, dict(span.attributes),
                    [(event.name, dict(event.attributes)) for event in span.events])
                   for span in spans])
    assert SECRET not in dumped
    server = [span for span in spans if span.name == 'GET /secret_texts'][0]
    assert server.attributes['count'] == 3
    assert 'retry with password=' in server.attributes['note']
    assert server.events[0].attributes['hits'] == 0
    assert len(spans) == 2
