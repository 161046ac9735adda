"""Every request's span finishes exactly once, whatever the server and WebOb
do with a streamed body: read it fully or partly, close it unread, serve a
``Range`` of it (206), answer ``HEAD`` or ``304`` without reading it, or
send the server's own ``wsgi.file_wrapper`` object with sendfile.

Conditional responses (``FileResponse``, ``add_static_view``, any body with
``conditional_response=True``) go through WebOb's ``conditional_response_app``,
which wraps the body in ``AppIterRange`` or ``EmptyResponse``.
"""
import time

import pytest
import requests
import webtest
from pyramid.response import FileResponse, Response
from waitress.buffers import ReadOnlyFileBasedBuffer
from webob import Request

from examples.serving import serving

from . import apps
from .conftest import server_span

CONTENT = bytes(range(256)) * 1024  # 256 KiB: more than one read of every file iterator


def generated(request):
    """A conditional body made by a generator, with its length known."""
    def chunks():
        for start in range(0, len(CONTENT), 4096):
            yield CONTENT[start:start + 4096]
    return Response(app_iter=chunks(), content_length=len(CONTENT), conditional_response=True,
                    etag='generated-v1', content_type='application/octet-stream')


@pytest.fixture
def static_dir(tmp_path):
    (tmp_path / 'data.bin').write_bytes(CONTENT)
    return tmp_path


@pytest.fixture
def wsgi_app(tracer, static_dir):
    config = apps.make_config({'ot.trace_all': True, 'ot.base_tracer': tracer})
    config.add_route('file', '/file')
    config.add_view(lambda request: FileResponse(
        str(static_dir / 'data.bin'), request=request, content_type='application/octet-stream'),
        route_name='file')
    config.add_route('generated', '/generated')
    config.add_view(generated, route_name='generated')
    config.add_static_view('static', str(static_dir))
    config.add_route('listed', '/listed')
    config.add_view(lambda request: Response(body=CONTENT, conditional_response=True,
                                             etag='listed-v1'), route_name='listed')
    return config.make_wsgi_app()


class BoundaryRecorder:
    """WSGI middleware between the server and the app: notes the type of
    each body the server receives, and hands the server the same object."""

    def __init__(self, app):
        self.app = app
        self.body_types = []

    def __call__(self, environ, start_response):
        body = self.app(environ, start_response)
        self.body_types.append(type(body))
        return body


def finished_server_spans(tracer, timeout=5.0):
    """The server spans ``tracer`` finished, once there is one (the server
    closes a body after the client has read it), and a moment more to
    catch a second finish."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        spans = [s for s in tracer.finished_spans() if s.tags.get('span.kind') == 'server']
        if spans:
            time.sleep(0.1)
            return [s for s in tracer.finished_spans() if s.tags.get('span.kind') == 'server']
        time.sleep(0.01)
    return []


PATHS = ['/file', '/generated', '/static/data.bin']


@pytest.mark.parametrize('path', PATHS)
def test_a_range_request_through_webtest_finishes_its_span_with_206(wsgi_app, tracer, path):
    response = webtest.TestApp(wsgi_app).get(path, headers={'Range': 'bytes=1000-1999'})
    assert response.status_int == 206
    assert response.body == CONTENT[1000:2000]
    span = server_span(tracer)
    assert span.tags['http.status_code'] == 206
    assert 'error' not in span.tags


@pytest.mark.parametrize('path', PATHS)
def test_a_range_request_through_waitress_finishes_its_span_once(wsgi_app, tracer, path):
    with serving(wsgi_app) as url:
        response = requests.get(url + path, headers={'Range': 'bytes=100-'}, timeout=10)
        assert response.status_code == 206
        assert response.content == CONTENT[100:]
        (span,) = finished_server_spans(tracer)
    assert span.tags['http.status_code'] == 206


@pytest.mark.parametrize('path', PATHS)
def test_head_and_not_modified_through_waitress_finish_their_span_once(wsgi_app, tracer, path):
    with serving(wsgi_app) as url:
        head = requests.head(url + path, timeout=10)
        assert head.status_code == 200
        assert len(finished_server_spans(tracer)) == 1
        tracer.reset()
        validators = requests.get(url + path, timeout=10).headers
        assert len(finished_server_spans(tracer)) == 1
        tracer.reset()
        condition = ({'If-None-Match': validators['ETag']} if 'ETag' in validators
                     else {'If-Modified-Since': validators['Last-Modified']})
        not_modified = requests.get(url + path, headers=condition, timeout=10)
        assert not_modified.status_code == 304
        (span,) = finished_server_spans(tracer)
        assert span.tags['http.status_code'] == 304


def test_a_file_response_reaches_waitress_as_its_own_file_wrapper(wsgi_app, tracer):
    recorder = BoundaryRecorder(wsgi_app)
    with serving(recorder) as url:
        response = requests.get(url + '/file', timeout=10)
        assert response.content == CONTENT
        (span,) = finished_server_spans(tracer)
    assert recorder.body_types == [ReadOnlyFileBasedBuffer]
    assert span.tags['http.status_code'] == 200
    assert span.operation_name == 'file'


def test_a_static_file_reaches_waitress_as_its_own_file_wrapper(wsgi_app, tracer):
    recorder = BoundaryRecorder(wsgi_app)
    with serving(recorder) as url:
        assert requests.get(url + '/static/data.bin', timeout=10).content == CONTENT
        assert len(finished_server_spans(tracer)) == 1
    assert recorder.body_types == [ReadOnlyFileBasedBuffer]


def call(app, path, **headers):
    """(status, body iterable) of a WSGI call made as a server makes it."""
    environ = Request.blank(path, headers=headers).environ
    captured = []
    body = app(environ, lambda status, headers, exc_info=None: captured.append(status))
    return captured[0], body


@pytest.mark.parametrize('path', PATHS)
def test_a_body_read_in_part_then_closed_finishes_the_span_once(wsgi_app, tracer, path):
    status, body = call(wsgi_app, path)
    assert status == '200 OK'
    chunks = iter(body)
    assert next(chunks)
    assert tracer.finished_spans() == []
    body.close()
    body.close()  # a careless middleware
    assert server_span(tracer).tags['http.status_code'] == 200


@pytest.mark.parametrize('path', PATHS)
def test_a_range_closed_unread_finishes_the_span_once(wsgi_app, tracer, path):
    status, body = call(wsgi_app, path, Range='bytes=0-9')
    assert status.startswith('206')
    body.close()
    assert server_span(tracer).tags['http.status_code'] == 206


def test_an_unsatisfiable_range_finishes_the_span_once(wsgi_app, tracer):
    status, body = call(wsgi_app, '/generated', Range='bytes=%d-' % (len(CONTENT) + 10))
    assert status.startswith('416')
    list(body)
    getattr(body, 'close', lambda: None)()
    assert server_span(tracer).tags['http.status_code'] == 416


class SlottedFileWrapper:
    """A server's file wrapper whose objects take no new attributes."""

    __slots__ = ('file', 'block_size', 'closed')

    def __init__(self, file, block_size=8192):
        self.file = file
        self.block_size = block_size
        self.closed = False

    def __iter__(self):
        return iter(lambda: self.file.read(self.block_size), b'')

    def close(self):
        self.closed = True
        self.file.close()


def test_a_file_wrapper_taking_no_new_attributes_is_wrapped_and_still_closed(wsgi_app, tracer):
    environ = Request.blank('/file').environ
    environ['wsgi.file_wrapper'] = SlottedFileWrapper
    body = wsgi_app(environ, lambda status, headers, exc_info=None: None)
    assert b''.join(body) == CONTENT
    body.close()
    assert body.app_iter.closed
    assert server_span(tracer).tags['http.status_code'] == 200


def test_a_body_whose_close_fails_marks_the_span_as_an_error(tracer):
    class FailingClose:
        def __iter__(self):
            return iter([b'body'])

        def close(self):
            raise OSError('cannot release the stream')
    config = apps.make_config({'ot.trace_all': True, 'ot.base_tracer': tracer})
    config.add_route('failing_close', '/failing-close')
    config.add_view(lambda request: Response(app_iter=FailingClose()), route_name='failing_close')
    _status, body = call(config.make_wsgi_app(), '/failing-close')
    assert list(body) == [b'body']
    with pytest.raises(OSError):
        body.close()
    span = server_span(tracer)
    assert span.tags['error'] is True and span.tags['http.status_code'] == 200


def test_a_body_refusing_a_range_is_sent_whole_and_its_span_says_200(tracer):
    class NoRanges:
        def __iter__(self):
            return iter([b'whole'])

        def app_iter_range(self, start, stop):
            return None  # WebOb then sends the whole body
    config = apps.make_config({'ot.trace_all': True, 'ot.base_tracer': tracer})
    config.add_route('no_ranges', '/no-ranges')
    config.add_view(lambda request: Response(app_iter=NoRanges(), content_length=5,
                                             conditional_response=True), route_name='no_ranges')
    app = webtest.TestApp(config.make_wsgi_app())
    response = app.get('/no-ranges', headers={'Range': 'bytes=1-2'})
    assert response.status_int == 200 and response.body == b'whole'
    assert server_span(tracer).tags['http.status_code'] == 200


@pytest.mark.parametrize('headers, status', [
    ({}, 200),
    ({'If-None-Match': '"listed-v1"'}, 304),
    ({'Range': 'bytes=100-'}, 206),
    ({'Range': 'bytes=999999-'}, 416),
])
def test_a_conditional_complete_body_is_tagged_with_the_status_webob_sends(
        wsgi_app, tracer, headers, status):
    with serving(wsgi_app) as url:
        response = requests.get(url + '/listed', headers=headers, timeout=10)
        assert response.status_code == status
        (span,) = finished_server_spans(tracer)
    assert span.tags['http.status_code'] == status
