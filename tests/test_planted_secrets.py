"""Secrets planted wherever real applications carry them never reach a
finished span, whatever path they take.

Hypothesis generates the secrets and the names they go by; each case plants
them in every source (headers, query, fragment, path placeholders, environ,
session, exception messages and stacks, outgoing URLs and their errors,
traced attributes) and serialises every finished span completely, from
MockTracer (operation name, tags, logs) and from the OpenTelemetry bridge
(name, attributes, events, status), server and client spans alike.
"""
import json
import socket
import string

import pytest
import webtest
from hypothesis import HealthCheck, given, settings, strategies as st
from opentracing.mocktracer import MockTracer
from pyramid.config import Configurator
from pyramid.response import Response
from pyramid.session import SignedCookieSessionFactory

from pyramid_opentracing import outgoing
from pyramid_opentracing.otel import tracer_from_settings

#: Header names that carry secrets, from public API documentation.
SECRET_HEADERS = ['Authorization', 'X-Api-Key', 'Ocp-Apim-Subscription-Key', 'X-Functions-Key',
                  'Cf-Access-Jwt-Assertion', 'X-Amzn-Oidc-Data', 'DPoP', 'X-Hub-Signature-256',
                  'Stripe-Signature', 'X-Passphrase', 'X-Master-Key', 'X-Access-Key',
                  'X-Internal-Key', 'X-Tenant-Secret']

#: Parameter names that carry secrets.
SECRET_PARAMETERS = ['access_token', 'jwt', 'assertion', 'client_assertion', 'code_verifier',
                     'SAMLResponse', 'private_key', 'access_key', 'pass', 'pw', 'otp',
                     'passphrase', 'subscription-key', 'user.pwd', 'password', 'sig', 'tenant_pin']

#: Route placeholders that name secrets.
SECRET_PLACEHOLDERS = ['token', 'reset_token', 'signature', 'apiKey']

TRACED = ('headers environ GET POST params url path_url path_qs path path_info query_string '
          'host_url relative_url matchdict session cookies authorization remote_user '
          'referrer user_agent').split()

SETTINGS = {
    'ot.trace_all': True,
    'ot.traced_attributes': TRACED,
    'ot.trace_query_string': True,
    'ot.redacted_headers': 'X-Internal-Key, X-Tenant-Secret',  # a list with commas
    'ot.redacted_query_params': 'tenant_pin',
    'ot.max_tag_length': 4096,  # room for every value: the tags hold them whole
}


def closed_port():
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def fail_view(request):
    raise ValueError(request.environ['test.message'])


def error_view(exc, request):
    return Response('failed', status=500)


def reset_view(request):
    return {'ok': True}


def login_view(request):
    request.session['api_token'] = request.environ['test.session']
    request.session.get_csrf_token()
    return {'ok': True}


def call_view(request):
    """Outgoing calls whose URLs carry secrets, to a port where they fail."""
    for url in request.environ['test.requests_urls']:
        try:
            outgoing.http_request(request, 'GET', url, timeout=2)
        except Exception:
            pass
    for url in request.environ['test.urllib_urls']:
        try:
            outgoing.urlopen(url, target=request, timeout=2)
        except Exception:
            pass
    return {'ok': True}


def make_app(tracer, placeholder):
    config = Configurator(settings=dict(SETTINGS, **{'ot.base_tracer': tracer}))
    config.set_session_factory(SignedCookieSessionFactory('not-a-secret-of-the-test'))
    config.add_route('fail', '/fail')
    config.add_view(fail_view, route_name='fail')
    config.add_view(error_view, context=ValueError)
    config.add_route('login', '/login')
    config.add_view(login_view, route_name='login', renderer='json')
    config.add_route('call', '/call')
    config.add_view(call_view, route_name='call', renderer='json')
    config.add_route('reset', '/reset/{%s}/{other}' % placeholder)
    config.add_view(reset_view, route_name='reset', renderer='json')
    config.include('pyramid_opentracing')
    return webtest.TestApp(config.make_wsgi_app())


@pytest.fixture(scope='module')
def otel_tracer():
    return tracer_from_settings(**{'ot.otel.exporter': 'memory'})


def mocktracer_dump(tracer):
    spans = tracer.finished_spans()
    tracer.reset()
    return [json.dumps([span.operation_name, span.tags,
                        [log.key_values for log in span.logs]], default=repr) for span in spans]


def otel_dump(tracer):
    spans = tracer.exporter.get_finished_spans()
    tracer.exporter.clear()
    return [span.to_json() for span in spans]


SECRET = st.text(string.ascii_letters + string.digits, min_size=10, max_size=24).map(
    lambda text: 'Zq' + text)

#: A password as people write them, with the characters URL parsers stumble on.
PASSWORD = st.tuples(SECRET, st.sampled_from(['/', '#', '?', '', '!', '/#?'])).map(
    lambda pair: pair[0][:5] + pair[1] + pair[0][5:])

CASE = st.fixed_dictionaries({
    'header': st.tuples(st.sampled_from(SECRET_HEADERS), SECRET),
    'parameter': st.tuples(st.sampled_from(SECRET_PARAMETERS), SECRET),
    'placeholder': st.sampled_from(SECRET_PLACEHOLDERS),
    'path': SECRET,
    'fragment': st.tuples(st.sampled_from(SECRET_PARAMETERS), SECRET),
    'userinfo': PASSWORD,
    'link': PASSWORD,
    'jdbc': PASSWORD,
    'remote_user': SECRET,
    'host': SECRET,
    'session': SECRET,
    'message_url': PASSWORD,
    'message_pair': st.tuples(st.sampled_from(SECRET_PARAMETERS), SECRET),
    'message_json': st.tuples(st.sampled_from(SECRET_PARAMETERS), SECRET),
    'outgoing_query': st.tuples(st.sampled_from(SECRET_PARAMETERS), SECRET),
    'outgoing_password': SECRET,
})


def secrets_of(case):
    """Every secret of a case, by the source it was planted in."""
    found = {}
    for source, value in case.items():
        if isinstance(value, tuple):
            value = value[1]
        if source != 'placeholder':
            found[source] = value
    return found


def send(app, case, port):
    """Requests planting every secret of ``case``."""
    header_name, header_secret = case['header']
    name, value = case['parameter']
    fragment_name, fragment_value = case['fragment']
    headers = {
        header_name: header_secret,
        'Referer': 'https://erin:%s@example.com/cb#%s=%s' % (
            case['userinfo'], fragment_name, fragment_value),
        'Link': '<https://u:%s@example.com/next>; rel="next"' % case['link'],
        'X-Db': 'jdbc:postgresql://app:%s@db/x' % case['jdbc'],
    }
    environ = {'REMOTE_USER': case['remote_user'],
               'REQUEST_URI': 'https://erin:%s@example.com/x' % case['userinfo']}
    query = '?%s=%s&page=2' % (name, value)
    app.reset()
    app.get('/reset/%s/plain%s' % (case['path'], query), extra_environ=environ,
            headers=dict(headers, Host='bob:%s@example.com' % case['host']))
    app.post('/reset/%s/plain%s' % (case['path'], query), {name: value}, headers=headers,
             extra_environ=environ)
    app.get('/login', extra_environ={'test.session': case['session']})
    app.get('/login', extra_environ={'test.session': 'nothing'})  # the session is traced
    pair_name, pair_value = case['message_pair']
    json_name, json_value = case['message_json']
    message = 'upstream https://svc:%s@api.example/x failed; %s=%s {"%s": "%s"}' % (
        case['message_url'], pair_name, pair_value, json_name, json_value)
    app.get('/fail', extra_environ={'test.message': message}, headers=headers, status=500)
    query_name, query_value = case['outgoing_query']
    app.get('/call', extra_environ={
        'test.requests_urls': ['http://dave:%s@127.0.0.1:%d/x?%s=%s' % (
            case['outgoing_password'], port, query_name, query_value)],
        'test.urllib_urls': ['http://dave:%s@127.0.0.1:%d/x' % (case['outgoing_password'], port),
                             'http://dave:%s@127.0.0.1/x?%s=%s' % (
                                 case['outgoing_password'], query_name, query_value)],
    })


def leaks(dumps, case):
    """(source, span text) of each secret of ``case`` found in ``dumps``."""
    return [(source, dump) for source, secret in secrets_of(case).items()
            for dump in dumps if secret in dump]


def check(app, dump, case):
    send(app, case, closed_port())
    dumps = dump()
    assert len(dumps) >= 9, 'some requests were not traced: %r' % (dumps,)
    found = leaks(dumps, case)
    assert not found, 'leaked: %s' % sorted({source for source, _ in found})


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=CASE)
def test_no_planted_secret_reaches_a_mocktracer_span(case):
    tracer = MockTracer()
    check(make_app(tracer, case['placeholder']), lambda: mocktracer_dump(tracer), case)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=CASE)
def test_no_planted_secret_reaches_an_opentelemetry_span(otel_tracer, case):
    otel_dump(otel_tracer)
    check(make_app(otel_tracer, case['placeholder']), lambda: otel_dump(otel_tracer), case)


def test_the_planted_requests_are_traced_with_what_they_carry():
    """The check above would pass on spans that carry nothing: they do carry
    the requests' ordinary data and the redaction marks."""
    tracer = MockTracer()
    case = CASE.example()
    send(make_app(tracer, case['placeholder']), case, closed_port())
    text = '\n'.join(mocktracer_dump(tracer))
    for expected in ('page=2', '[REDACTED]', 'example.com/cb', 'ValueError', 'upstream https://api.example/x',
                     '/reset/[REDACTED]/plain', 'Connection refused', 'nonnumeric port'):
        assert expected in text, expected
