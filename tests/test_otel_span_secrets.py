"""No secret leaves on the bridge's spans: names, tags, log fields, and the
spans the application makes with the OpenTelemetry API on the bridge's provider."""
import json

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from pyramid_opentracing.otel import BridgeTracer
from pyramid_opentracing.otel.provider import make_propagator
from pyramid_opentracing.scrub import REDACTED


@pytest.fixture
def bridge():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = BridgeTracer(provider, make_propagator(['tracecontext']), exporter)
    yield tracer
    tracer.shutdown()


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
