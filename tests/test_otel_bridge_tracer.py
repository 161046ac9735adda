"""BridgeTracer's own OpenTracing surface: formats, empty contexts, flushing."""
import opentracing
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from pyramid_opentracing.otel import BridgeTracer
from pyramid_opentracing.otel.provider import make_propagator


@pytest.fixture
def bridge():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = BridgeTracer(provider, make_propagator(['tracecontext']), exporter)
    yield tracer
    tracer.shutdown()


def test_repr_names_propagator_fields_and_exporter(bridge):
    text = repr(bridge)
    assert 'traceparent' in text and 'InMemorySpanExporter' in text


@pytest.mark.parametrize('operation', ['inject', 'extract'])
def test_binary_format_is_unsupported(bridge, operation):
    with pytest.raises(opentracing.UnsupportedFormatException):
        if operation == 'inject':
            bridge.inject(None, opentracing.Format.BINARY, bytearray())
        else:
            bridge.extract(opentracing.Format.BINARY, bytearray())


def test_injecting_no_context_writes_no_trace_header(bridge):
    headers = {}
    bridge.inject(None, opentracing.Format.HTTP_HEADERS, headers)
    assert 'traceparent' not in headers


def test_inject_then_extract_round_trips_the_context(bridge):
    with bridge.start_active_span('work') as scope:
        headers = {}
        bridge.inject(scope.span.context, opentracing.Format.TEXT_MAP, headers)
        assert headers['traceparent'].startswith('00-')
        extracted = bridge.extract(opentracing.Format.HTTP_HEADERS, {'Traceparent': headers['traceparent']})
        assert extracted.unwrap().span_id == scope.span.context.unwrap().span_id


def test_extract_without_headers_is_no_parent(bridge):
    assert bridge.extract(opentracing.Format.HTTP_HEADERS, {}) is None


def test_force_flush_exports_finished_spans(bridge):
    bridge.start_span('done').finish()
    assert bridge.force_flush() is True
    assert [span.name for span in bridge.exporter.get_finished_spans()] == ['done']
