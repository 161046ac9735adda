"""A streamed body (an ``app_iter`` other than a list) is measured until the
server has sent it: the span ends when the server closes the iterable, and
an exception raised while iterating marks the span as an error."""
import time

import pytest
from pyramid.response import Response
from webob import Request

from . import apps
from .conftest import server_span


def slow_stream(request):
    def chunks():
        yield b'first'
        time.sleep(0.02)
        request.environ['test.last_chunk_at'] = time.time()
        yield b'last'
    return Response(app_iter=chunks())


def broken_stream(request):
    def chunks():
        yield b'partial'
        raise OSError('disk gone while streaming')
    return Response(app_iter=chunks())


def sized_stream(request):
    return Response(app_iter=iter([b'12345']), content_length=5)


@pytest.fixture
def wsgi_app(tracer):
    config = apps.make_config({'ot.trace_all': True, 'ot.base_tracer': tracer})
    for name, view in (('slow', slow_stream), ('broken', broken_stream), ('sized', sized_stream)):
        config.add_route(name, '/' + name)
        config.add_view(view, route_name=name)
    return config.make_wsgi_app()


def call(app, path):
    """(environ, headers, body iterable) of a WSGI call, as a server makes it."""
    environ = Request.blank(path).environ
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured['status'] = status
        captured['headers'] = dict(headers)
    body = app(environ, start_response)
    return environ, captured, body


def test_the_span_is_open_while_the_server_sends_the_body(wsgi_app, tracer):
    environ, captured, body = call(wsgi_app, '/slow')
    assert captured['status'] == '200 OK'
    assert tracer.finished_spans() == []
    assert tracer.active_span is None, 'the span is not active on the thread after the tween'
    assert b''.join(body) == b'firstlast'
    assert tracer.finished_spans() == []
    body.close()
    span = server_span(tracer)
    assert span.finish_time >= environ['test.last_chunk_at']
    assert span.finish_time - span.start_time >= 0.02
    assert span.tags['http.status_code'] == 200
    assert 'error' not in span.tags


def test_an_exception_while_streaming_marks_the_span_as_an_error(wsgi_app, tracer):
    _environ, _captured, body = call(wsgi_app, '/broken')
    iterator = iter(body)
    assert next(iterator) == b'partial'
    with pytest.raises(OSError):
        next(iterator)
    body.close()
    span = server_span(tracer)
    assert span.tags['error'] is True
    assert span.logs[0].key_values['error.kind'] == 'OSError'
    assert 'disk gone' in span.logs[0].key_values['message']


def test_a_body_closed_unread_still_finishes_the_span(wsgi_app, tracer):
    _environ, _captured, body = call(wsgi_app, '/slow')
    body.close()  # the client went away before the first chunk
    assert server_span(tracer).tags['http.status_code'] == 200


def test_the_content_length_of_a_streamed_body_is_kept(wsgi_app, tracer):
    _environ, captured, body = call(wsgi_app, '/sized')
    assert captured['headers']['Content-Length'] == '5'
    assert b''.join(body) == b'12345'
    body.close()
    server_span(tracer)


def test_a_complete_body_finishes_the_span_before_the_server_sends_it(wsgi_app, tracer):
    _environ, _captured, body = call(wsgi_app, '/plain')
    server_span(tracer)
    assert b''.join(body) == b'plain'


def test_a_streamed_body_served_through_webtest_gives_one_finished_span(app, tracer):
    assert app.get('/stream').body == b'ab'
    assert server_span(tracer).operation_name == 'stream'
