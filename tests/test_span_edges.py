"""Spans tell the truth at the edges: leaked active spans, names given by the
application, values that exist only after routing, oversized methods, and
request bodies that tracing must not read."""
import io
import tracemalloc

import opentracing
import pytest
import webtest
from opentracing.mocktracer import MockTracer
from pyramid.response import Response
from pyramid.testing import DummyRequest

from pyramid_opentracing import PyramidTracer, get_span
from pyramid_opentracing.otel import tracer_from_settings

from . import apps
from .conftest import server_span


app_with = apps.traced_test_app


# -- a span left active never parents another request -----------------------------

def test_a_span_left_active_on_the_thread_is_not_the_parent_of_a_request():
    """Left active outside any request (a view's own leaks are closed with
    their request: see test_leaked_scopes.py)."""
    tracer = MockTracer()
    app = app_with({'ot.base_tracer': tracer})
    leaked = tracer.start_active_span('leaked')
    try:
        app.get('/plain')
        assert tracer.active_span is leaked.span
    finally:
        leaked.close()
    plain = [s for s in tracer.finished_spans() if s.operation_name == 'plain']
    assert [s.parent_id for s in plain] == [None]


class ActivatesThenRaises(MockTracer):
    """A tracer whose first start_active_span activates the span, then fails."""

    def __init__(self):
        super().__init__()
        self.leaked = None

    def start_active_span(self, *args, **kwargs):
        scope = super().start_active_span(*args, **kwargs)
        if self.leaked is None:
            self.leaked = scope
            raise RuntimeError('failed after activating')
        return scope


def test_a_span_a_failing_tracer_left_active_is_not_the_parent_of_the_next_request(failures):
    tracer = ActivatesThenRaises()
    app = app_with({'ot.base_tracer': tracer})
    assert app.get('/plain').text == 'plain'  # served untraced
    try:
        assert tracer.active_span is tracer.leaked.span
        app.get('/plain')
    finally:
        tracer.leaked.close()
    assert server_span(tracer).parent_id is None


def test_a_span_active_on_the_thread_is_not_the_parent_with_the_otel_bridge():
    bridge = tracer_from_settings(**{'ot.otel.exporter': 'memory'})
    app = app_with({'ot.base_tracer': bridge})
    leaked = bridge.start_active_span('leaked')
    try:
        app.get('/plain')
    finally:
        leaked.close()
    [plain, _] = sorted(bridge.exporter.get_finished_spans(), key=lambda s: s.name != 'GET /plain')
    assert plain.name == 'GET /plain'
    assert plain.parent is None


def test_a_caller_context_is_still_the_parent_with_the_otel_bridge():
    bridge = tracer_from_settings(**{'ot.otel.exporter': 'memory'})
    app = app_with({'ot.base_tracer': bridge})
    app.get('/plain', headers={
        'traceparent': '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'})
    [span] = bridge.exporter.get_finished_spans()
    assert span.parent.span_id == 0xb7ad6b7169203331


# -- names the application gives are kept -----------------------------------------

def renaming_view(request):
    get_span(request).set_operation_name('graphql:GetUser')
    return Response('renamed')


def test_a_name_the_view_gives_the_span_is_kept():
    tracer = MockTracer()
    app_with({'ot.base_tracer': tracer}, ('graphql', renaming_view)).get('/graphql')
    assert server_span(tracer).operation_name == 'graphql:GetUser'


def test_a_name_the_view_gives_the_span_is_kept_with_the_otel_bridge():
    bridge = tracer_from_settings(**{'ot.otel.exporter': 'memory'})
    app_with({'ot.base_tracer': bridge}, ('graphql', renaming_view)).get('/graphql')
    [span] = bridge.exporter.get_finished_spans()
    assert span.name == 'graphql:GetUser'
    assert span.attributes['http.route'] == '/graphql'


def method_naming_view(request):
    get_span(request).set_operation_name('POST')  # the name of another method
    return Response('renamed')


@pytest.mark.parametrize('kind', ['mock', 'bridge'])
def test_a_name_the_view_gives_is_kept_even_if_it_is_a_method(kind):
    tracer = (MockTracer() if kind == 'mock'
              else tracer_from_settings(**{'ot.otel.exporter': 'memory'}))
    app_with({'ot.base_tracer': tracer}, ('graphql', method_naming_view)).get('/graphql')
    if kind == 'mock':
        assert server_span(tracer).operation_name == 'POST'
    else:
        assert [span.name for span in tracer.exporter.get_finished_spans()] == ['POST']


def test_start_span_cb_receives_a_real_span_and_the_name_it_gives_is_kept():
    tracer = MockTracer()
    seen = []

    def callback(span, request):
        seen.append(isinstance(span, opentracing.Span))
        span.set_operation_name('named by callback')

    app_with({'ot.base_tracer': tracer, 'ot.start_span_cb': callback}).get('/plain')
    assert seen == [True]
    assert server_span(tracer).operation_name == 'named by callback'


# -- every value is bounded ----------------------------------------------------------

LONG_METHOD = 'X' * 5000


def test_a_huge_method_gives_a_bounded_span_name_and_method_tag():
    tracer = MockTracer()
    app = app_with({'ot.base_tracer': tracer, 'ot.max_tag_length': 64,
                    'ot.traced_attributes': ['method']})
    app.request('/not-routed', method=LONG_METHOD, status=404)
    span = server_span(tracer)
    assert span.operation_name.startswith('X' * 32)
    assert len(span.operation_name) <= 64
    assert len(span.tags['http.method']) <= 64


def test_a_huge_method_gives_bounded_otel_names_and_attributes():
    bridge = tracer_from_settings(**{'ot.otel.exporter': 'memory'})
    app = app_with({'ot.base_tracer': bridge, 'ot.max_tag_length': 64})
    app.request('/plain', method=LONG_METHOD)
    [span] = bridge.exporter.get_finished_spans()
    assert span.name == 'HTTP /plain'
    assert len(span.attributes['http.request.method_original']) <= 64


def test_an_operation_name_func_result_is_bounded():
    tracer = MockTracer()
    app = app_with({'ot.base_tracer': tracer, 'ot.max_tag_length': 32,
                    'ot.operation_name_func': lambda request: 'n' * 5000})
    app.get('/plain')
    assert len(server_span(tracer).operation_name) <= 32


# -- values that exist only after routing ------------------------------------------

def test_matchdict_and_matched_route_are_tagged_by_the_tween():
    tracer = MockTracer()
    app = app_with({'ot.base_tracer': tracer,
                    'ot.traced_attributes': ['matchdict', 'matched_route']})
    app.get('/hello/ada')
    span = server_span(tracer)
    assert span.tags['matchdict'] == 'name: ada'
    assert span.tags['matched_route'] == 'hello'


# -- the decorator guards operation_name_func as the tween does ---------------------

class Unusable:
    def __bool__(self):
        raise RuntimeError('no truth value')


def test_the_decorator_survives_an_operation_name_func_whose_result_fails(failures):
    tracer = MockTracer()
    pyramid_tracer = PyramidTracer(tracer, operation_name_func=lambda request: Unusable())

    @pyramid_tracer.trace()
    def view(request):
        return Response('served')

    assert view(DummyRequest()).text == 'served'
    [span] = tracer.finished_spans()
    assert span.operation_name == 'GET'
    assert any('ot.operation_name_func failed' in r.getMessage() for r in failures())


# -- request bodies are not read by tracing -----------------------------------------

BODY_ATTRIBUTES = ['body', 'text', 'json_body', 'json', 'POST', 'params',
                   'body_file', 'body_file_raw', 'body_file_seekable']


class Upload(io.RawIOBase):
    """``size`` bytes produced as they are read, never held in memory."""

    def __init__(self, size):
        self.left = size

    def readable(self):
        return True

    def readinto(self, buffer):
        count = min(len(buffer), self.left)
        buffer[:count] = b'u' * count
        self.left -= count
        return count


def counting_view(request):
    """Reads the body itself, from wsgi.input, in chunks."""
    stream = request.environ['wsgi.input']
    total = 0
    while True:
        chunk = stream.read(1 << 16)
        if not chunk:
            break
        total += len(chunk)
    return Response('%d %s' % (total, stream is request.environ['test.original_input']))


def test_a_view_reading_wsgi_input_gets_the_whole_untouched_body():
    tracer = MockTracer()
    app = app_with({'ot.base_tracer': tracer, 'ot.traced_attributes': BODY_ATTRIBUTES},
                   ('upload', counting_view))
    body = b'x' * 100000
    # WebTest would wrap wsgi.input on the way in: call the WSGI app itself
    environ = webtest.TestRequest.blank('/upload', method='POST', body=body,
                                        content_type='application/x-www-form-urlencoded').environ
    environ['test.original_input'] = environ['wsgi.input']
    status = []
    result = b''.join(app.app(environ, lambda s, h, e=None: status.append(s)))
    assert status == ['200 OK']
    assert result == b'100000 True'
    span = server_span(tracer)
    assert span.tags['body'] == '[body: 100000 bytes]'
    assert span.tags['POST'] == '[body: 100000 bytes]'


def test_a_large_upload_is_not_buffered_by_tracing():
    size = 50 * 1024 * 1024
    tracer = MockTracer()
    app = app_with({'ot.base_tracer': tracer, 'ot.traced_attributes': ['body', 'POST', 'json_body']},
                   ('upload', counting_view)).app
    upload = Upload(size)
    environ = webtest.TestRequest.blank('/upload', method='POST').environ
    environ.update({'wsgi.input': upload, 'CONTENT_LENGTH': str(size),
                    'CONTENT_TYPE': 'application/json', 'test.original_input': upload})
    tracemalloc.start()
    try:
        result = b''.join(app(environ, lambda *args: None))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result == ('%d True' % size).encode()
    assert peak < 5 * 1024 * 1024, 'tracing buffered %d bytes' % peak
    assert server_span(tracer).tags['json_body'] == '[body: %d bytes]' % size


def test_query_parameters_are_still_tagged_without_a_body():
    tracer = MockTracer()
    app = app_with({'ot.base_tracer': tracer, 'ot.traced_attributes': ['params', 'POST']})
    app.get('/plain?q=search')
    span = server_span(tracer)
    assert span.tags['params'] == 'q: search'


# -- a path that is not UTF-8 is traced like any other ---------------------------

def test_a_path_of_bytes_that_are_not_utf8_is_traced_with_the_500_the_client_gets():
    tracer = MockTracer()
    app = app_with({'ot.base_tracer': tracer})
    with pytest.raises(UnicodeDecodeError):  # Pyramid's routing: a 500 from the server
        app.get('/hello/%FF%FE')
    span = server_span(tracer)
    assert span.tags['http.url'] == 'http://localhost/hello/%FF%FE'
    assert (span.tags['http.status_code'], span.tags['error']) == (500, True)


def test_a_path_of_bytes_that_are_not_utf8_is_traced_with_the_otel_bridge():
    tracer = tracer_from_settings(**{'ot.otel.exporter': 'memory'})
    with pytest.raises(UnicodeDecodeError):
        app_with({'ot.base_tracer': tracer}).get('/hello/%FF%FE')
    (span,) = tracer.exporter.get_finished_spans()
    assert span.attributes['url.path'] == '/hello/%FF%FE'
    assert span.attributes['http.response.status_code'] == 500
