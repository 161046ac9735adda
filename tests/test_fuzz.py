"""Fuzzing the request headers: whatever a client sends, tracing never causes
a 5xx and every span it starts is finished."""
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from jaeger_client import ConstSampler, Tracer as JaegerTracer
from jaeger_client.reporter import InMemoryReporter
from opentracing.mocktracer import MockTracer
from webob import Request

from pyramid_opentracing.otel import tracer_from_settings

from . import apps

TRACE_HEADERS = ['traceparent', 'tracestate', 'baggage', 'b3', 'x-b3-traceid', 'x-b3-spanid',
                 'x-b3-sampled', 'x-b3-flags', 'uber-trace-id', 'uberctx-user', 'ot-tracer-traceid',
                 'ot-tracer-spanid', 'ot-tracer-sampled', 'ot-baggage-user', 'jaeger-debug-id']

header_names = st.one_of(st.sampled_from(TRACE_HEADERS),
                         st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40))
#: WSGI header values are latin-1 strings: any code point up to 255.
header_values = st.one_of(
    st.text(st.characters(max_codepoint=255), max_size=200),
    st.sampled_from(['00-' + '0' * 32 + '-' + '0' * 16 + '-01', '00-zz-zz-01', '-', ':::', '1:2:3:4',
                     'f' * 5000, '0', 'ffffffffffffffffffffffffffffffffff']),
    st.integers(0, 2 ** 130).map(lambda n: '%x:%x:0:1' % (n, n)),
)
# A list of pairs: the same name may come twice (joined as WSGI servers do).
headers = st.lists(st.tuples(header_names, header_values), max_size=12)


def environ_with(pairs, path):
    environ = Request.blank(path).environ
    for name, value in pairs:
        key = 'HTTP_' + name.upper().replace('-', '_')
        environ[key] = environ[key] + ',' + value if key in environ else value
    return environ


def serve(app, pairs, path='/plain'):
    statuses = []
    body = app(environ_with(pairs, path), lambda status, headers, exc_info=None: statuses.append(status))
    content = b''.join(body)
    getattr(body, 'close', lambda: None)()
    return int(statuses[0].split()[0]), content


def mock_tracer():
    tracer = MockTracer()
    return tracer, lambda: len(tracer.finished_spans())


class CountingJaegerTracer(JaegerTracer):
    """jaeger-client reports only sampled spans (a caller may say "not
    sampled"), so this one counts the finish calls of every span it starts."""

    finished = 0

    def start_span(self, *args, **kwargs):
        span = super().start_span(*args, **kwargs)
        finish = span.finish

        def counted_finish(*a, **kw):
            self.finished += 1
            return finish(*a, **kw)
        span.finish = counted_finish
        return span


def jaeger_tracer():
    tracer = CountingJaegerTracer('fuzz', reporter=InMemoryReporter(), sampler=ConstSampler(True))
    return tracer, lambda: tracer.finished


def otel_tracer():
    tracer = tracer_from_settings(**{'ot.otel.exporter': 'memory',
                                     'ot.otel.propagators': 'tracecontext,baggage,b3,b3multi,jaeger'})
    return tracer, lambda: len(tracer.exporter.get_finished_spans())


@pytest.mark.parametrize('make_tracer', [mock_tracer, jaeger_tracer, otel_tracer],
                         ids=['mocktracer', 'jaeger-client', 'otel-bridge'])
def test_no_header_makes_tracing_fail_a_request(make_tracer):
    tracer, finished = make_tracer()
    app = apps.make_app({'ot.trace_all': True, 'ot.base_tracer': tracer,
                         'ot.traced_attributes': ['headers', 'url']})

    @settings(max_examples=150, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(pairs=headers, path=st.sampled_from(['/plain', '/stream', '/created', '/handled']))
    def check(pairs, path):
        before = finished()
        status, _body = serve(app, pairs, path)
        assert status == (500 if path == '/handled' else 201 if path == '/created' else 200)
        assert finished() == before + 1, 'the span was not finished'
        assert tracer.active_span is None, 'a span stayed active'

    check()
