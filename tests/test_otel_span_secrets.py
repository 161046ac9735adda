"""No secret leaves on the bridge's spans: names, tags, log fields, and the
spans the application makes with the OpenTelemetry API on the bridge's provider."""
import json

import pytest
from opentelemetry.trace import Status, StatusCode
from pyramid.config import Configurator

from pyramid_opentracing.scrub import REDACTED

from .test_otel_bridge import bridge_app, no_otel_env  # noqa: F401 (fixtures)
from .test_otel_bridge_tracer import bridge  # noqa: F401 (fixture)


def exported_text(bridge):
    return json.dumps([{'name': span.name, 'attributes': dict(span.attributes),
                        'events': [(event.name, dict(event.attributes)) for event in span.events]}
                       for span in bridge.exporter.get_finished_spans()])


def test_span_names_and_start_tags_are_scrubbed(bridge):
    with bridge.start_active_span('login password=hunter2', tags={
            'q': 'secret=hunter2', 'u': 'http://u:hunter2@h/x', 'n': 3}):
        pass
    bridge.start_span('plain token=hunter2', tags={'note': 'api_key=hunter2'}).finish()
    spans = bridge.exporter.get_finished_spans()
    assert 'hunter2' not in exported_text(bridge)
    assert spans[0].name.startswith('login password=') and spans[0].attributes['n'] == 3


def test_a_secret_tag_or_log_key_has_its_value_redacted(bridge):
    with bridge.start_active_span('work', tags={'password': 'hunter2', 'api_key': 'hunter2'}) as scope:
        scope.span.set_tag('password', 'hunter2')
        scope.span.set_tag('ok', 'plain')
        scope.span.log_kv({'event': 'login', 'authorization': 'Bearer hunter2'})
    span, = bridge.exporter.get_finished_spans()
    assert 'hunter2' not in exported_text(bridge)
    assert span.attributes['password'] == REDACTED and span.attributes['api_key'] == REDACTED
    assert span.attributes['ok'] == 'plain'
    assert span.events[0].attributes['authorization'] == REDACTED


# -- spans of the OpenTelemetry API on the bridge's provider ---------------------

def otel_api_view(request):
    from pyramid.response import Response
    provider = request.registry.settings['ot.tracer'].tracer.provider
    tracer = provider.get_tracer('app')
    with tracer.start_as_current_span('query password=hunter2') as span:
        span.set_attribute('db.statement', "select * from u where password='hunter2'")
        span.set_attribute('db.password', 'hunter2')
        span.set_attribute('hosts', ['http://u:hunter2@db/x', 'plain'])
        span.set_attribute('rows', 3)
        span.add_event('retry token=hunter2', {'api_key': 'hunter2', 'n': 1})
        span.set_status(Status(StatusCode.ERROR, 'login failed: password=hunter2'))
        span.add_event('exception', {'exception.message': 'line one\nline two',
                                     'exception.stacktrace': 'Traceback\n  at x',
                                     'k' * 3000: 'long key', 'note\nline': 'v'})
    return Response('ok')


@pytest.mark.parametrize('exporter', ['memory', 'otlp'])
def test_spans_of_the_opentelemetry_api_on_the_bridges_provider_are_scrubbed(
        bridge_app, exporter):
    from .otlp_receiver import OTLPReceiver
    with OTLPReceiver() as receiver:
        settings = {} if exporter == 'memory' else {
            'ot.otel.exporter': 'otlp', 'ot.otel.endpoint': receiver.endpoint}
        app, tracer = bridge_app(**settings)
        config = Configurator(registry=app.app.registry)
        config.add_route('otel_api', '/otel_api')
        config.add_view(otel_api_view, route_name='otel_api')
        config.commit()
        app.get('/otel_api')
        if exporter == 'memory':
            spans = {span.name.split()[0]: span for span in tracer.exporter.get_finished_spans()}
            text = exported_text(tracer)
            query = spans['query']
            assert query.attributes['db.password'] == REDACTED and query.attributes['rows'] == 3
            assert query.attributes['hosts'][1] == 'plain'
            assert query.events[0].attributes == {'api_key': REDACTED, 'n': 1}
            assert query.parent.span_id == spans['GET'].context.span_id
            assert query.status.description == 'login failed: password=[REDACTED]'
            exception = query.events[1].attributes
            assert exception['exception.message'] == 'line one\nline two'  # lines kept
            assert exception['exception.stacktrace'] == 'Traceback\n  at x'
            assert exception['note\\x0aline'] == 'v'  # keys escaped, and bounded:
            assert max(len(key) for key in exception) <= 1024
        else:
            assert tracer.force_flush()
            text = repr(receiver.spans)
            assert 'query password=' in text
    assert 'hunter2' not in text
