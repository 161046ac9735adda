"""Response callbacks run after the tweens: the span tells the status they
leave, or the failure they raise, as the client gets it."""
import pytest
import webtest
from opentracing.mocktracer import MockTracer
from pyramid.config import Configurator
from pyramid.response import Response


class Refused(Exception):
    pass


def set_503(request, response):
    response.status = 503


def fail(request, response):
    raise RuntimeError('callback failed')


def with_callback(callback, body='list'):
    def view(request):
        request.add_response_callback(callback)
        if body == 'stream':
            return Response(app_iter=iter([b'a', b'b']))
        return Response('ok')
    return view


def fin_raises(request):
    request.add_response_callback(lambda request, response: None)
    request.add_finished_callback(lambda request: 1 / 0)
    return Response('ok')


def replace_body(request, response):
    response.app_iter = [b'replaced']


def gzip_body(request, response):
    response.encode_content('gzip', lazy=True)


def forbid(request, response):
    from pyramid.httpexceptions import HTTPForbidden
    raise HTTPForbidden()


def slow_chunks(fail=False):
    import time
    for number in range(3):
        time.sleep(0.05)
        if fail and number == 1:
            raise IOError('storage gone')
        yield b'chunk'


def gzipped_stream(fail):
    def view(request):
        request.add_response_callback(gzip_body)
        return Response(app_iter=slow_chunks(fail))
    return view


def refused(request):
    request.add_response_callback(lambda request, response: None)
    raise Refused()


def make_app(tracer, **settings):
    config = Configurator(settings=dict({'ot.trace_all': True, 'ot.base_tracer': tracer},
                                        **settings))
    config.include('pyramid_opentracing')
    views = {'unavailable': with_callback(set_503), 'failing': with_callback(fail),
             'unavailable_stream': with_callback(set_503, 'stream'),
             'failing_stream': with_callback(fail, 'stream'), 'refused': refused,
             'fin_raises': fin_raises, 'forbid': with_callback(forbid),
             'replaced_stream': with_callback(replace_body, 'stream'),
             'gzip_stream': with_callback(gzip_body, 'stream'),
             'slow_gzip': gzipped_stream(False), 'failing_gzip': gzipped_stream(True)}
    for name, view in views.items():
        config.add_route(name, '/' + name)
        config.add_view(view, route_name=name)
    config.add_view(lambda exc, request: Response('no', status=400), context=Refused)
    return webtest.TestApp(config.make_wsgi_app())


@pytest.mark.parametrize('path', ['/unavailable', '/unavailable_stream'])
def test_a_status_a_callback_sets_is_the_spans(path):
    tracer = MockTracer()
    make_app(tracer).get(path, status=503)
    (span,) = tracer.finished_spans()
    assert span.tags['http.status_code'] == 503
    assert span.tags['error'] is True


@pytest.mark.parametrize('path', ['/failing', '/failing_stream'])
def test_a_failing_callback_is_the_spans_error(path):
    tracer = MockTracer()
    with pytest.raises(RuntimeError):
        make_app(tracer).get(path)
    (span,) = tracer.finished_spans()  # finished once, the streamed body never sent
    assert span.tags['http.status_code'] == 500
    assert span.tags['error'] is True
    assert tracer.active_span is None


def test_an_exception_view_answer_is_not_taken_for_a_failing_callback():
    tracer = MockTracer()
    make_app(tracer).get('/refused', status=400)
    (span,) = tracer.finished_spans()
    assert span.tags['http.status_code'] == 400
    assert 'error' not in span.tags


def test_with_the_bridge_too():
    from opentelemetry.trace import StatusCode
    app = make_app(None, **{'ot.base_tracer': None,
                            'ot.base_tracer_func': 'pyramid_opentracing.otel.tracer_from_settings',
                            'ot.otel.exporter': 'memory'})
    tracer = app.app.registry.settings['ot.tracer'].tracer
    app.get('/unavailable', status=503)
    (span,) = tracer.exporter.get_finished_spans()
    assert span.attributes['http.response.status_code'] == 503
    assert span.status.status_code is StatusCode.ERROR
    tracer.shutdown()


def test_a_failing_finished_callback_is_the_spans_error():
    """Not lost, and a 500 error, as the client gets it."""
    tracer = MockTracer()
    with pytest.raises(ZeroDivisionError):
        make_app(tracer).get('/fin_raises')
    (span,) = tracer.finished_spans()
    assert span.tags['http.status_code'] == 500
    assert span.tags['error'] is True


@pytest.mark.parametrize('path', ['/replaced_stream', '/gzip_stream'])
def test_a_streamed_body_a_callback_replaces_still_finishes_its_span_once(path):
    tracer = MockTracer()
    make_app(tracer).get(path, headers={'Accept-Encoding': 'gzip'})
    (span,) = tracer.finished_spans()
    assert span.tags['http.status_code'] == 200


def test_an_http_exception_a_callback_raises_is_a_500():
    """No exception view is left to answer it: the server sends a 500."""
    tracer = MockTracer()
    with pytest.raises(Exception):
        make_app(tracer).get('/forbid')
    (span,) = tracer.finished_spans()
    assert span.tags['http.status_code'] == 500
    assert span.tags['error'] is True


def test_a_request_served_while_an_unrelated_exception_is_handled_is_no_error():
    """A middleware serving the request from an ``except`` block (a
    fallback): that exception is not a callback's."""
    tracer = MockTracer()
    app = make_app(tracer).app

    def middleware(environ, start_response):
        try:
            raise OSError('cache backend down')
        except OSError:
            return app(environ, start_response)

    webtest.TestApp(middleware).get('/unavailable', status=503)
    (span,) = tracer.finished_spans()
    assert span.tags['http.status_code'] == 503
    assert [log for log in span.logs] == []


def test_a_body_a_callback_wraps_is_measured_until_the_server_closes_it():
    tracer = MockTracer()
    make_app(tracer).get('/slow_gzip', headers={'Accept-Encoding': 'gzip'})
    (span,) = tracer.finished_spans()
    assert span.finish_time - span.start_time >= 0.15
    assert 'error' not in span.tags


def test_a_body_a_callback_wraps_failing_is_an_error():
    tracer = MockTracer()
    with pytest.raises(IOError):
        make_app(tracer).get('/failing_gzip', headers={'Accept-Encoding': 'gzip'})
    (span,) = tracer.finished_spans()
    assert span.tags['error'] is True
