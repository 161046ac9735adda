"""Real OpenTracing tracers other than MockTracer: basictracer and jaeger-client."""
import opentracing
import pytest
import webtest
from basictracer import BasicTracer
from basictracer.recorder import InMemoryRecorder
from jaeger_client import ConstSampler, Tracer as JaegerTracer
from jaeger_client.reporter import InMemoryReporter

from . import apps


def basic():
    recorder = InMemoryRecorder()
    tracer = BasicTracer(recorder=recorder)
    tracer.register_required_propagators()
    return tracer, lambda: [(s.operation_name, s.context.trace_id, s.context.span_id,
                             s.parent_id, s.tags) for s in recorder.get_spans()]


def jaeger():
    reporter = InMemoryReporter()
    tracer = JaegerTracer('test', reporter=reporter, sampler=ConstSampler(True))
    return tracer, lambda: [(s.operation_name, s.trace_id, s.span_id, s.parent_id, jaeger_tags(s))
                            for s in reporter.get_spans()]


def jaeger_tags(span):
    """jaeger-client keeps tags as thrift Tag records: make them a dict."""
    values = {}
    for tag in span.tags:
        for field in ('vStr', 'vLong', 'vBool', 'vDouble'):
            if getattr(tag, field) is not None:
                values[tag.key] = getattr(tag, field)
                break
    return values


@pytest.fixture(params=[basic, jaeger], ids=['basictracer', 'jaeger-client'])
def real_tracer(request):
    tracer, spans = request.param()
    yield tracer, spans
    assert tracer.scope_manager.active is None
    if hasattr(tracer, 'close'):
        tracer.close()


def test_caller_context_in_the_tracers_own_headers_is_continued(real_tracer):
    tracer, finished = real_tracer
    app = webtest.TestApp(apps.make_app({'ot.trace_all': True, 'ot.base_tracer': tracer}))
    caller = tracer.start_span('caller')
    headers = {}
    tracer.inject(caller.context, opentracing.Format.HTTP_HEADERS, headers)
    app.get('/child', headers=headers)
    spans = {name: (trace_id, span_id, parent_id, tags)
             for name, trace_id, span_id, parent_id, tags in finished()}
    server_trace, server_id, server_parent, server_tags = spans['child']
    assert server_trace == caller.context.trace_id
    assert server_parent == caller.context.span_id
    assert server_tags['http.status_code'] == 200 and server_tags['span.kind'] == 'server'
    # the view's own span ('child' is also the route name: the view's span is the other one)
    view_spans = [s for s in finished() if s[3] == server_id]
    assert len(view_spans) == 1


def test_request_without_context_is_a_root(real_tracer):
    tracer, finished = real_tracer
    app = webtest.TestApp(apps.make_app({'ot.trace_all': True, 'ot.base_tracer': tracer}))
    app.get('/plain')
    [(name, _, _, parent, tags)] = finished()
    assert name == 'plain' and not parent
    assert tags['http.url'] == 'http://localhost/plain'
