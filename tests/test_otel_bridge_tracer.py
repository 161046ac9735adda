"""BridgeTracer's own OpenTracing surface: formats, empty contexts, flushing."""
import opentracing
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from pyramid_opentracing.otel import BridgeTracer
from pyramid_opentracing.otel.provider import make_propagator

from .test_otel_ecosystem import fresh_globals  # noqa: F401 (a fixture)


@pytest.fixture
def bridge():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    propagator, read_headers = make_propagator(['tracecontext'])
    tracer = BridgeTracer(provider, propagator, exporter, read_headers=read_headers)
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


# -- reading request headers: the shortcut for requests without a parent --------

def request_headers(headers):
    from webob import Request
    return Request.blank('/', headers=headers).headers


TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
B3_SINGLE = '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1'


@pytest.mark.parametrize('names, headers, trace_id', [
    (['tracecontext', 'baggage'], {'traceparent': TRACEPARENT}, 0x0af7651916cd43dd8448eb211c80319c),
    (['baggage', 'tracecontext'], {'Traceparent': TRACEPARENT}, 0x0af7651916cd43dd8448eb211c80319c),
    # B3MultiFormat writes the multi headers but also reads the single one
    (['b3multi'], {'b3': B3_SINGLE}, 0x80f198ee56343ba864fe8b2a57d3eff7),
    (['b3'], {'X-B3-TraceId': '80f198ee56343ba864fe8b2a57d3eff7',
              'X-B3-SpanId': 'e457b5a2e4d86bd1', 'X-B3-Sampled': '1'}, 0x80f198ee56343ba864fe8b2a57d3eff7),
    (['jaeger'], {'uber-trace-id': '80f198ee56343ba8:e457b5a2e4d86bd1:0:1'}, 0x80f198ee56343ba8),
])
def test_request_headers_in_every_format_the_propagator_reads_give_the_parent(names, headers, trace_id):
    propagator, read_headers = make_propagator(names)
    tracer = BridgeTracer(TracerProvider(), propagator, read_headers=read_headers)
    parent = tracer.extract(opentracing.Format.HTTP_HEADERS, request_headers(headers))
    assert parent.unwrap().trace_id == trace_id


def test_baggage_without_a_trace_context_is_no_parent(bridge):
    headers = request_headers({'baggage': 'user=alice'})
    assert bridge.extract(opentracing.Format.HTTP_HEADERS, headers) is None


def test_an_unknown_propagator_is_always_asked():
    from opentelemetry.propagators.textmap import TextMapPropagator
    from opentelemetry.trace import NonRecordingSpan, SpanContext, set_span_in_context

    class FromCustomHeader(TextMapPropagator):
        fields = frozenset()  # says nothing about what it reads

        def extract(self, carrier, context=None, getter=None):
            value = getter.get(carrier, 'x-custom-trace')
            if not value:
                return context
            return set_span_in_context(NonRecordingSpan(SpanContext(
                int(value[0]), 1, is_remote=True)), context)

        def inject(self, carrier, context=None, setter=None):
            pass

    tracer = BridgeTracer(TracerProvider(), FromCustomHeader())
    parent = tracer.extract(opentracing.Format.HTTP_HEADERS, request_headers({'X-Custom-Trace': '42'}))
    assert parent.unwrap().trace_id == 42


def test_the_global_propagator_reads_every_request(fresh_globals):
    """With ot.otel.provider = global, what the propagator reads is its
    owner's business: a request with only a header of its own is read."""
    from opentelemetry import propagate, trace
    from opentelemetry.baggage.propagation import W3CBaggagePropagator
    from opentelemetry.propagators.composite import CompositePropagator
    from opentelemetry.propagators.jaeger import JaegerPropagator
    from pyramid_opentracing.otel import tracer_from_settings

    trace.set_tracer_provider(TracerProvider())
    propagate.set_global_textmap(CompositePropagator([W3CBaggagePropagator(), JaegerPropagator()]))
    tracer = tracer_from_settings(**{'ot.otel.provider': 'global', 'ot.otel.metrics': 'false'})
    headers = request_headers({'uber-trace-id': '80f198ee56343ba8:e457b5a2e4d86bd1:0:1'})
    assert tracer.extract(opentracing.Format.HTTP_HEADERS, headers).unwrap().trace_id \
        == 0x80f198ee56343ba8


def test_a_request_without_a_propagation_header_is_not_read_at_all(bridge):
    def unexpected(*args, **kwargs):
        raise AssertionError('the propagator ran')
    bridge.propagator.extract = unexpected
    headers = request_headers({'User-Agent': 'probe', 'uberctx-user': 'alice'})
    assert bridge.extract(opentracing.Format.HTTP_HEADERS, headers) is None


@pytest.mark.parametrize('names', [['tracecontext', 'baggage'], ['b3', 'baggage'],
                                   ['baggage', 'jaeger']])
def test_baggage_without_a_parent_is_read_for_a_new_trace(names):
    from opentelemetry import baggage
    propagator, read_headers = make_propagator(names)
    tracer = BridgeTracer(TracerProvider(), propagator, read_headers=read_headers)
    headers = request_headers({'baggage': 'user=alice'})
    context = tracer.extract_context(opentracing.Format.HTTP_HEADERS, headers)
    assert baggage.get_all(context) == {'user': 'alice'}
    assert tracer.extract(opentracing.Format.HTTP_HEADERS, headers) is None
