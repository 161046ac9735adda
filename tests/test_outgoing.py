"""The outgoing HTTP helper against a real server on 127.0.0.1."""
import urllib.error
import urllib.request

import pytest
import requests
from pyramid.config import Configurator
from pyramid.response import Response
from webtest.http import StopableWSGIServer

from pyramid_opentracing import PyramidTracer
from pyramid_opentracing.outgoing import (
    TracingAdapter, client_span, http_request, outgoing_headers, traced_session, urlopen)


def echo(request):
    """Answers with the headers it got, and the status asked for."""
    body = '\n'.join('%s: %s' % item for item in sorted(request.headers.items()))
    return Response(body, status=int(request.params.get('status', 200)))


@pytest.fixture(scope='module')
def server():
    config = Configurator()
    config.add_route('echo', '/echo')
    config.add_view(echo, route_name='echo')
    server = StopableWSGIServer.create(config.make_wsgi_app(), host='127.0.0.1')
    yield server.application_url.rstrip('/')
    server.shutdown()


def spans_by_kind(tracer, kind):
    return [s for s in tracer.finished_spans() if s.tags.get('span.kind') == kind]


def client(tracer):
    (span,) = spans_by_kind(tracer, 'client')
    return span


def test_a_session_traces_each_request_and_injects_the_context(tracer, server):
    session = traced_session(tracer)
    with tracer.start_active_span('view') as scope:
        response = session.get(server + '/echo', headers={'Authorization': 'Bearer s3cr3t'})
    span = client(tracer)
    assert span.parent_id == scope.span.context.span_id
    assert 'ot-tracer-spanid: %x' % span.context.span_id in response.text.lower()
    assert span.tags == {'span.kind': 'client', 'http.method': 'GET',
                         'http.url': server + '/echo', 'http.status_code': 200}
    assert 's3cr3t' not in repr(span.tags) + repr(span.logs)


def test_an_adapter_mounted_on_ones_own_session(tracer, server):
    session = requests.Session()
    session.mount('http://', TracingAdapter(tracer))
    with tracer.start_active_span('view'):
        session.get(server + '/echo', params={'api_key': 'k', 'q': 'x'})
    assert client(tracer).tags['http.url'] == server + '/echo?api_key=[REDACTED]&q=x'


def test_credentials_in_the_url_never_reach_the_span(tracer, server):
    url = server.replace('http://', 'http://user:pa55@') + '/echo'
    with tracer.start_active_span('view'):
        http_request(tracer, 'GET', url)
    assert 'pa55' not in client(tracer).tags['http.url']
    assert client(tracer).tags['http.url'] == server + '/echo'


@pytest.mark.parametrize('status, error', [(200, False), (404, True), (503, True)])
def test_the_status_and_error_of_the_response(tracer, server, status, error):
    with tracer.start_active_span('view'):
        response = http_request(tracer, 'GET', server + '/echo?status=%d' % status)
    assert response.status_code == status
    span = client(tracer)
    assert span.tags['http.status_code'] == status
    assert span.tags.get('error', False) is error


def test_a_connection_error_is_an_error_and_is_raised(tracer, server):
    closed = StopableWSGIServer.create(lambda environ, start: [], host='127.0.0.1')
    url = closed.application_url  # a port nobody listens on any more
    closed.shutdown()
    with tracer.start_active_span('view'):
        with pytest.raises(requests.ConnectionError):
            http_request(tracer, 'GET', url, session=requests.Session())
    span = client(tracer)
    assert span.tags['error'] is True
    assert span.logs[0].key_values['error.kind'].endswith('ConnectionError')


def test_urllib_traces_and_injects(tracer, server):
    with tracer.start_active_span('view') as scope:
        with urlopen(server + '/echo', target=tracer, timeout=10) as response:
            body = response.read().decode()
    span = client(tracer)
    assert span.parent_id == scope.span.context.span_id
    assert 'ot-tracer-spanid: %x' % span.context.span_id in body.lower()
    assert span.tags['http.status_code'] == 200


def test_urllib_http_errors_keep_their_status(tracer, server):
    request = urllib.request.Request(server + '/echo?status=502', data=b'x', method='PUT')
    with tracer.start_active_span('view'):
        with pytest.raises(urllib.error.HTTPError):
            urlopen(request, target=tracer, timeout=10)
    span = client(tracer)
    assert (span.operation_name, span.tags['http.status_code'], span.tags['error']) == ('PUT', 502, True)
    assert span.logs == []  # the status says it all: no exception log


def test_any_client_with_client_span(tracer):
    with tracer.start_active_span('view'):
        with client_span('delete', 'http://example.com/x', tracer, {'Accept': 'text/plain'}) as call:
            assert call.headers['Accept'] == 'text/plain'
            assert any(name.startswith('ot-tracer-') for name in call.headers)
            call.set_status(204)
    assert client(tracer).tags['http.method'] == 'DELETE'


def test_outgoing_headers_needs_no_span(tracer):
    with tracer.start_active_span('view') as scope:
        headers = outgoing_headers(tracer, {'Accept': 'json'})
    assert headers['Accept'] == 'json'
    assert headers['ot-tracer-spanid'] == '%x' % scope.span.context.span_id
    assert spans_by_kind(tracer, 'client') == []


def test_a_view_passes_its_request(make_testapp, tracer, server):
    """The tracer comes from the registry; the parent is the server span."""
    from . import apps
    config = apps.make_config({'ot.trace_all': True, 'ot.base_tracer': tracer})

    def calls_out(request):
        return Response(http_request(request, 'GET', server + '/echo').text)
    config.add_route('calls_out', '/calls-out')
    config.add_view(calls_out, route_name='calls_out')
    import webtest
    webtest.TestApp(config.make_wsgi_app()).get('/calls-out')
    (server_span,) = spans_by_kind(tracer, 'server')
    assert client(tracer).parent_id == server_span.context.span_id


class BrokenTracer:
    """Fails everywhere, as a misconfigured tracer would."""
    active_span = None

    def start_span(self, *args, **kwargs):
        raise RuntimeError('tracer down')

    def inject(self, *args, **kwargs):
        raise RuntimeError('inject down')


def test_a_failing_tracer_sends_the_request_untraced_and_logs_once(server, failures):
    owner = PyramidTracer(BrokenTracer())
    for _ in range(3):
        assert http_request(owner, 'GET', server + '/echo').status_code == 200
        assert outgoing_headers(owner) == {}
    messages = [r.getMessage() for r in failures()]
    assert len([m for m in messages if 'starting a client span' in m]) == 1


def test_a_failing_plain_tracer_is_also_logged_once(server, failures):
    for _ in range(3):
        assert http_request(BrokenTracer(), 'GET', server + '/echo').status_code == 200
    messages = [r.getMessage() for r in failures()]
    assert len([m for m in messages if 'starting a client span' in m]) == 1


def test_a_failing_inject_still_sends_the_request_traced(tracer, server, failures):
    owner = PyramidTracer(tracer)

    def broken(*args):
        raise RuntimeError('inject down')
    tracer.inject = broken
    with tracer.start_active_span('view'):
        assert http_request(owner, 'GET', server + '/echo').status_code == 200
    assert client(tracer).tags['http.status_code'] == 200
    assert len([r for r in failures() if 'injecting' in r.getMessage()]) == 1


def calls_out_every_way(server, tracer):
    """A view calling ``server`` with each helper, given the tracer rather
    than its request: what each sent, and the context headers it made."""
    def view(request):
        url = server + '/echo'
        bodies = [traced_session(tracer).get(url).text]
        session = requests.Session()
        session.mount('http://', TracingAdapter())
        bodies.append(session.get(url).text)
        bodies.append(http_request(tracer, 'GET', url).text)
        with urlopen(url, target=tracer, timeout=10) as response:
            bodies.append(response.read().decode())
        with client_span('GET', url, tracer) as call:
            call.set_status(200)
        return {'bodies': bodies, 'headers': [call.headers, outgoing_headers(tracer)]}
    return view


@pytest.mark.parametrize('excluded', [True, False])
def test_an_excluded_requests_calls_are_untraced_whichever_helper_makes_them(
        clean_env, tracer, server, excluded):
    from . import apps
    config = apps.make_config({'ot.trace_all': True, 'ot.base_tracer': tracer,
                               'ot.excluded_paths': '^/health$' if excluded else '^/none$'})
    config.add_route('health', '/health')
    config.add_view(calls_out_every_way(server, tracer), route_name='health', renderer='json')
    import webtest
    sent = webtest.TestApp(config.make_wsgi_app()).get('/health').json
    clients = spans_by_kind(tracer, 'client')
    traced = ['ot-tracer-traceid' in body.lower() for body in sent['bodies']]
    if excluded:
        assert tracer.finished_spans() == [] and sent['headers'] == [{}, {}]
        assert traced == [False] * 4
    else:
        (server_span,) = spans_by_kind(tracer, 'server')
        assert len(clients) == 5
        assert {span.parent_id for span in clients} == {server_span.context.span_id}
        assert traced == [True] * 4 and all(sent['headers'])

