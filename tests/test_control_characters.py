"""Control characters in what a client or an application gives are escaped
(``\\x0a``) in every name, tag and attribute: a backend, a log or a terminal
showing a span never reads a line break, a NUL or an escape sequence from a
request. Texts made of lines (an exception's message, a stack) keep their
line feeds."""
import pytest
from opentracing.mocktracer import MockTracer
from pyramid.response import Response

from pyramid_opentracing import get_span
from pyramid_opentracing.otel import tracer_from_settings
from pyramid_opentracing.tags import TagPolicy, attribute_tag, error_fields
from pyramid_opentracing.scrub import bound

from . import apps
from .conftest import server_span


app_with = apps.traced_test_app


@pytest.mark.parametrize('text, shown', [
    ('a\nb\x00c', 'a\\x0ab\\x00c'),
    ('GET\r\nX: y', 'GET\\x0d\\x0aX: y'),
    ('\x1b[31mred', '\\x1b[31mred'),
    ('del\x7f c1\x85', 'del\\x7f c1\\x85'),
    ('a\tb', 'a\tb'),
    ('café /ünïcode', 'café /ünïcode'),
    ('line\u2028separator', 'line\\u2028separator'),
    ('report-\udcff.csv', 'report-\\udcff.csv'),  # a path os.fsdecode() gave
])
def test_control_characters_are_escaped_but_the_tab(text, shown):
    assert bound(text, 1000) == shown


def test_a_printable_text_is_returned_as_it_is():
    text = '/api/v1/orders/12345/items?x=1'
    assert bound(text, 1000) is text


def test_an_operation_name_with_control_characters_is_escaped():
    tracer = MockTracer()
    app = app_with({'ot.base_tracer': tracer, 'ot.operation_name_func': lambda r: 'a\nb\x00c'})
    app.get('/plain')
    assert server_span(tracer).operation_name == 'a\\x0ab\\x00c'


def test_a_method_with_a_line_break_is_escaped_in_the_name_and_tag():
    tracer = MockTracer()
    app = app_with({'ot.base_tracer': tracer})
    app.request('/not-routed', method='GET\r\nX: y', status=404)
    span = server_span(tracer)
    assert span.tags['http.method'] == 'GET\\x0d\\x0aX: y'
    assert '\n' not in span.operation_name and '\r' not in span.operation_name


def test_a_method_with_a_line_break_is_escaped_in_the_otel_attribute():
    bridge = tracer_from_settings(**{'ot.otel.exporter': 'memory'})
    try:
        app = app_with({'ot.base_tracer': bridge})
        app.request('/plain', method='GET\r\nX: y')
        [span] = bridge.exporter.get_finished_spans()
    finally:
        bridge.shutdown()
    assert span.attributes['http.request.method_original'] == 'GET\\x0d\\x0aX: y'


def test_a_request_attribute_is_escaped_and_a_mapping_keeps_one_item_a_line():
    policy = TagPolicy()
    assert attribute_tag('path_info', '/a\x00b', policy) == '/a\\x00b'
    assert attribute_tag('matchdict', {'a': '1\x1b', 'b': '2'}, policy) == 'a: 1\\x1b\nb: 2'


def test_an_exception_keeps_its_lines_but_not_other_control_characters():
    try:
        raise ValueError('first line\nsecond\x1b[2J line')
    except ValueError as exc:
        fields = error_fields(exc, TagPolicy())
    assert fields['message'] == 'first line\nsecond\\x1b[2J line'
    assert 'second\\x1b[2J line' in fields['stack'] and '\x1b' not in fields['stack']
    assert fields['stack'].count('\n') >= 3


def test_a_view_tag_written_through_the_bridge_is_escaped():
    bridge = tracer_from_settings(**{'ot.otel.exporter': 'memory'})

    def tagged(request):
        get_span(request).set_tag('note', 'one\ntwo')
        return Response('ok')

    try:
        app_with({'ot.base_tracer': bridge}, ('tagged', tagged)).get('/tagged')
        [span] = bridge.exporter.get_finished_spans()
    finally:
        bridge.shutdown()
    assert span.attributes['note'] == 'one\\x0atwo'


def test_a_name_no_utf8_can_encode_does_not_lose_the_otlp_batch():
    """A lone surrogate (``os.fsdecode`` of a non-UTF-8 file name) in one
    span's name would fail the encoding of the whole batch."""
    import os
    from .otlp_receiver import OTLPReceiver

    def named(request):
        get_span(request).set_operation_name(os.fsdecode(b'report-\xff.csv'))
        return Response('ok')

    with OTLPReceiver() as receiver:
        tracer = tracer_from_settings(**{'ot.otel.endpoint': receiver.endpoint})
        app = app_with({'ot.base_tracer': tracer}, ('named', named))
        for _ in range(3):
            app.get('/named')
            app.get('/plain')
        assert tracer.force_flush()
        tracer.provider.shutdown()
    names = sorted(span['name'] for span in receiver.spans)
    assert names == ['GET /plain'] * 3 + ['report-\\udcff.csv'] * 3


@pytest.mark.parametrize('how', ['name', 'status', 'attribute'])
def test_a_surrogate_set_through_the_opentelemetry_span_itself_does_not_lose_the_batch(how):
    """``get_span(request).unwrap()`` bypasses the bridge's own scrubbing:
    the exporter's front still makes such a span encodable."""
    import os
    from opentelemetry.trace import Status, StatusCode
    from .otlp_receiver import OTLPReceiver
    bad = os.fsdecode(b'report-\xff.csv')

    def unwrapped(request):
        otel_span = get_span(request).unwrap()
        if how == 'name':
            otel_span.update_name(bad)
        elif how == 'status':
            otel_span.set_status(Status(StatusCode.ERROR, bad))
        else:
            otel_span.set_attribute('file', bad)
        return Response('ok')

    with OTLPReceiver() as receiver:
        tracer = tracer_from_settings(**{'ot.otel.endpoint': receiver.endpoint})
        app = app_with({'ot.base_tracer': tracer}, ('unwrapped', unwrapped))
        app.get('/plain')
        app.get('/unwrapped')
        app.get('/plain')
        assert tracer.force_flush()
        tracer.provider.shutdown()
    assert len(receiver.spans) == 3
