"""Secrets planted in every place a request carries them never reach a span:
not a tag, not a log field, not an OpenTelemetry attribute; URL userinfo
never appears; tag values are bounded in size."""
import base64
import json
import socket
from urllib.parse import urlencode

import pytest
import requests
import webtest
from opentelemetry.sdk.trace import SpanProcessor
from opentracing.mocktracer import MockTracer
from pyramid.response import Response

from pyramid_opentracing import PyramidTracer, outgoing
from pyramid_opentracing.otel import tracer_from_settings
from pyramid_opentracing.tags import TagPolicy, attribute_tag

from . import apps

#: One distinct secret per place it is planted, so a leak names its source.
SECRETS = {
    'authorization': 'Bearer s3cr3t-authz',
    'cookie': 'session=s3cr3t-cookie',
    'x-api-key': 's3cr3t-apikey',
    'x-company-pass': 's3cr3t-custom-header',
    'x-upstream-auth-token': 's3cr3t-upstream',
    'token': 's3cr3t-query-token',
    'password': 's3cr3t-query-password',
    'sig': 's3cr3t-query-sig',
    'signature': 's3cr3t-query-signature',
    'key': 's3cr3t-query-key',
    'tenant_pin': 's3cr3t-custom-param',
    'userinfo': 's3cr3t-userinfo',
    'body': 's3cr3t-form-password',
}

HEADERS = {
    'Authorization': SECRETS['authorization'],
    'Cookie': SECRETS['cookie'],
    'X-Api-Key': SECRETS['x-api-key'],
    'X-Company-Pass': SECRETS['x-company-pass'],
    'X-Upstream-Auth-Token': SECRETS['x-upstream-auth-token'],
}

QUERY = '&'.join('%s=%s' % (name, SECRETS[name])
                 for name in ('token', 'password', 'sig', 'signature', 'key', 'tenant_pin'))

#: Every request attribute that could carry one of the secrets.
TRACED = ('headers environ GET POST params url path_url path_qs query_string '
          'host_url application_url cookies authorization remote_user body text '
          'json_body relative_url').split()

SETTINGS = {
    'ot.trace_all': True,
    'ot.traced_attributes': TRACED,
    'ot.trace_query_string': True,
    'ot.redacted_headers': ['X-Company-Pass'],
    'ot.redacted_query_params': ['tenant_pin'],
}


def send_planted_requests(app):
    """Requests carrying every secret: headers, query, userinfo, a form, an error."""
    environ = {'REQUEST_URI': 'http://admin:%s@example.com/plain?%s' % (SECRETS['userinfo'], QUERY),
               'REMOTE_USER': SECRETS['userinfo']}
    app.get('/plain?' + QUERY, headers=HEADERS, extra_environ=environ)
    app.post('/plain?' + QUERY, {'password': SECRETS['body']}, headers=HEADERS, extra_environ=environ)
    app.get('/handled?' + QUERY, headers=HEADERS, extra_environ=environ, status=500)
    app.get('/not-found?' + QUERY, headers=HEADERS, extra_environ=environ, status=404)


def assert_no_secret_in(text):
    leaked = [place for place, secret in SECRETS.items() if secret in text]
    assert not leaked, 'secrets leaked from: %s' % leaked


def test_no_secret_reaches_a_mocktracer_tag_or_log(make_testapp, tracer):
    send_planted_requests(make_testapp(**SETTINGS))
    spans = [s for s in tracer.finished_spans() if s.tags.get('span.kind') == 'server']
    assert len(spans) == 4
    assert 'X-Api-Key: [REDACTED]' in spans[0].tags['headers'], 'the headers were not traced'
    assert '?token=[REDACTED]' in spans[0].tags['http.url'], 'the query was not traced'
    dump = repr([(s.operation_name, s.tags, [log.key_values for log in s.logs]) for s in spans])
    assert_no_secret_in(dump)


def test_no_secret_reaches_an_opentelemetry_attribute_or_event():
    tracer = tracer_from_settings(**{'ot.otel.exporter': 'memory'})
    settings = dict(SETTINGS, **{'ot.base_tracer': tracer})
    send_planted_requests(webtest.TestApp(apps.make_app(settings)))
    spans = tracer.exporter.get_finished_spans()
    assert len(spans) == 4
    assert_no_secret_in('\n'.join(span.to_json() for span in spans))
    assert any('headers' in span.attributes for span in spans), 'the headers were not traced'


def test_userinfo_percent_encoded_in_a_query_value_never_appears(any_tracer):
    """As a secret parameter encoded in a query value is redacted, so is an
    encoded URL's user info (a login's ``next=``)."""
    tracer, dump = any_tracer
    query = urlencode({'next': 'https://alice:pw-encoded-1@app.example/cb',
                       'return_to': 'https://app.example/cb?access_token=tok-encoded-2'})
    webtest.TestApp(apps.make_app({'ot.trace_all': True, 'ot.base_tracer': tracer,
                                   'ot.trace_query_string': True})).get('/plain?' + query)
    text = dump()
    assert 'app.example%2Fcb' in text
    assert 'pw-encoded-1' not in text and 'tok-encoded-2' not in text


def test_userinfo_never_appears(make_testapp, tracer):
    app = make_testapp(**dict(SETTINGS, **{'ot.traced_attributes': ['environ', 'url']}))
    app.get('/plain', extra_environ={'REQUEST_URI': 'https://bob:hunter2@example.com/plain',
                                     'HTTP_REFERER': 'https://eve:hunter2@evil.example/'})
    text = json.dumps(tracer.finished_spans()[0].tags, default=str)
    assert 'hunter2' not in text
    assert 'bob' not in text
    assert 'https://example.com/plain' in text


@pytest.mark.parametrize('limit', [16, 100, 1024])
def test_a_huge_header_cannot_bloat_a_span(make_testapp, tracer, limit):
    app = make_testapp(**{'ot.traced_attributes': ['headers', 'url', 'user_agent'],
                          'ot.trace_query_string': True, 'ot.max_tag_length': limit})
    huge = 'x' * 1_000_000
    app.get('/plain?q=' + 'y' * 100_000, headers={'User-Agent': huge, 'X-Huge': huge})
    span = tracer.finished_spans()[0]
    for name, value in span.tags.items():
        if isinstance(value, str):
            assert len(value) <= limit, (name, len(value))
    assert span.tags['user_agent'].endswith('more characters]' if limit >= 100 else '...')


def test_a_huge_error_message_is_bounded_in_the_log(make_testapp, tracer):
    app = make_testapp(**{'ot.max_tag_length': 64})
    app.get('/handled', status=500)
    fields = tracer.finished_spans()[0].logs[0].key_values
    assert len(fields['message']) <= 64 + 40
    assert len(fields['stack']) <= 64 * 8 + 40


# -- exceptions ----------------------------------------------------------------

SECRET_MESSAGE = 'call https://svc:pw-in-url@api.example/x?access_token=tok-in-query failed, password=pw-in-pair'


def raise_secret(request):
    raise ValueError(SECRET_MESSAGE)


def raise_huge_key_error(request):
    raise KeyError('k' * 200_000)


#: A signed SAML response is about this long: longer than a stack is shown.
LONG_SAML = base64.b64encode(bytes(range(256)) * 36).decode()


def raise_long_secret(request):
    raise ValueError('invalid SAMLResponse=' + LONG_SAML)


def error_app(tracer, **settings):
    config = apps.make_config(dict({'ot.trace_all': True, 'ot.base_tracer': tracer}, **settings))
    config.add_route('secret_error', '/secret-error')
    config.add_view(raise_secret, route_name='secret_error')
    config.add_route('huge_error', '/huge-error')
    config.add_view(raise_huge_key_error, route_name='huge_error')
    config.add_route('long_secret', '/long-secret')
    config.add_view(raise_long_secret, route_name='long_secret')
    config.add_view(lambda exc, request: Response('failed', status=500), context=Exception)
    return webtest.TestApp(config.make_wsgi_app())


def test_exception_messages_and_stacks_are_scrubbed_in_the_log(tracer):
    error_app(tracer).get('/secret-error', status=500)
    fields = tracer.finished_spans()[0].logs[0].key_values
    text = json.dumps(fields, default=repr)
    for secret in ('pw-in-url', 'tok-in-query', 'pw-in-pair'):
        assert secret not in text
    assert fields['message'] == ('call https://api.example/x?access_token=[REDACTED] failed, '
                                 'password=[REDACTED]')
    assert 'raise ValueError(SECRET_MESSAGE)' in fields['stack']
    assert 'error.object' not in fields


def otel_error_span(path, **settings):
    tracer = tracer_from_settings(**{'ot.otel.exporter': 'memory'})
    error_app(tracer, **settings).get(path, status=500)
    (span,) = tracer.exporter.get_finished_spans()
    return span


def test_the_opentelemetry_exception_event_and_status_are_scrubbed():
    span = otel_error_span('/secret-error')
    (event,) = span.events
    assert event.name == 'exception'
    assert event.attributes['exception.type'] == 'ValueError'
    assert event.attributes['exception.escaped'] == 'True'
    assert 'password=[REDACTED]' in event.attributes['exception.message']
    assert 'Traceback' in event.attributes['exception.stacktrace']
    assert span.status.description.startswith('ValueError: call https://api.example/x')
    text = span.to_json()
    for secret in ('pw-in-url', 'tok-in-query', 'pw-in-pair'):
        assert secret not in text


def test_no_part_of_a_long_secret_value_survives_in_a_stack(any_tracer):
    """The pair's name is far before the part of the stack that is shown:
    the value is still recognised by it."""
    tracer, dump = any_tracer
    error_app(tracer).get('/long-secret', status=500)
    text = dump()
    assert 'SAMLResponse=[REDACTED]' in text
    pieces = [LONG_SAML[start:start + 16] for start in range(0, len(LONG_SAML) - 16, 16)]
    assert not [piece for piece in pieces if piece in text]


class UnprintableError(Exception):
    def __str__(self):
        raise RuntimeError('cannot render, token=%s' % self.args[0])


def raise_unprintable(request):
    raise UnprintableError(request.params['v'])


def unprintable_app(tracer):
    config = apps.make_config({'ot.trace_all': True, 'ot.base_tracer': tracer})
    config.add_route('unprintable', '/unprintable')
    config.add_view(raise_unprintable, route_name='unprintable')
    config.add_view(lambda exc, request: Response('failed', status=500), context=Exception)
    return webtest.TestApp(config.make_wsgi_app())


def test_an_exception_whose_str_raises_is_still_logged(tracer, caplog):
    unprintable_app(tracer).get('/unprintable', {'v': 'tok-in-str'}, status=500)
    (log,) = tracer.finished_spans()[0].logs
    assert log.key_values['message'] == '<unprintable UnprintableError>'
    assert log.key_values['error.kind'].endswith('UnprintableError')
    assert 'tok-in-str' not in repr(log.key_values) + caplog.text


def test_an_exception_whose_str_raises_is_still_an_opentelemetry_error(caplog):
    tracer = tracer_from_settings(**{'ot.otel.exporter': 'memory'})
    unprintable_app(tracer).get('/unprintable', {'v': 'tok-in-str'}, status=500)
    (span,) = tracer.exporter.get_finished_spans()
    assert span.status.status_code.name == 'ERROR'
    assert span.status.description == 'UnprintableError: <unprintable UnprintableError>'
    assert [event.name for event in span.events] == ['exception']
    assert 'tok-in-str' not in span.to_json() + caplog.text


def test_a_huge_exception_message_gives_bounded_opentelemetry_values():
    span = otel_error_span('/huge-error', **{'ot.max_tag_length': 100})
    (event,) = span.events
    assert len(event.attributes['exception.message']) < 150
    assert len(event.attributes['exception.stacktrace']) < 100 * 8 + 50
    assert len(span.status.description) < 150
    assert len(span.to_json()) < 5000


# -- traced attributes -----------------------------------------------------------

def test_the_session_is_redacted_whole():
    policy = TagPolicy()
    assert attribute_tag('session', {'_csrft_': 'csrf-value', 'cart': 3}, policy) == '[REDACTED]'


def test_user_info_in_the_host_header_never_reaches_a_span(make_testapp, tracer):
    app = make_testapp(**{'ot.traced_attributes': [
        'host', 'host_url', 'headers', 'environ', 'url', 'host_port', 'domain', 'application_url']})
    app.get('/plain', headers={'Host': 'bob:pw-in-host@example.com'})
    span = tracer.finished_spans()[0]
    assert 'pw-in-host' not in json.dumps(span.tags)
    assert span.tags['host'] == 'example.com'
    assert span.tags['host_port'] == '[REDACTED]@example.com'


def test_url_userinfo_inside_any_header_is_removed(make_testapp, tracer):
    app = make_testapp(**{'ot.traced_attributes': ['headers']})
    app.get('/plain', headers={'Link': '<https://u:pw-in-link@host.example/next>; rel="next"',
                               'X-Db': 'jdbc:postgresql://u:pw-in-jdbc@db/x',
                               'Referer': 'https://erin:pw#in?ref@host.example/#access_token=frag-tok'})
    text = tracer.finished_spans()[0].tags['headers']
    for secret in ('pw-in-link', 'pw-in-jdbc', 'pw#in?ref', 'frag-tok'):
        assert secret not in text
    assert 'Link: <https://host.example/next>; rel="next"' in text


# -- secrets in the path -----------------------------------------------------------

def reset(request):
    return Response('reset')


def path_app(tracer, pattern='/reset/{token}', **settings):
    config = apps.make_config(dict({
        'ot.trace_all': True, 'ot.base_tracer': tracer,
        'ot.traced_attributes': ['path', 'path_info', 'url', 'environ', 'matchdict', 'path_qs']},
        **settings))
    config.add_route('reset', pattern)
    config.add_view(reset, route_name='reset')
    return webtest.TestApp(config.make_wsgi_app())


def test_a_path_segment_filling_a_secret_placeholder_is_redacted(make_testapp, tracer):
    path_app(tracer).get('/reset/path-secret-1')
    span = tracer.finished_spans()[0]
    assert 'path-secret-1' not in json.dumps(span.tags)
    assert span.tags['http.url'] == 'http://localhost/reset/[REDACTED]'
    assert span.tags['path'] == '/reset/[REDACTED]'


def test_an_invite_code_in_the_path_is_redacted(tracer):
    path_app(tracer, '/invite/{invite_code}').get('/invite/path-secret-invite')
    span = tracer.finished_spans()[0]
    assert span.tags['http.url'] == 'http://localhost/invite/[REDACTED]'
    assert 'path-secret-invite' not in json.dumps(span.tags)


@pytest.mark.parametrize('sent', ['path%2Dsecret%2D5', 'path-secret-%c3%a95'])
def test_a_path_secret_sent_with_any_percent_encoding_is_redacted_in_the_raw_target(tracer, sent):
    """waitress and gunicorn keep the request target as sent, in REQUEST_URI
    and RAW_URI: its segments are compared decoded."""
    path_app(tracer).get('/reset/' + sent, extra_environ={
        'REQUEST_URI': '/reset/%s?page=2' % sent, 'RAW_URI': '/reset/%s' % sent})
    environ = tracer.finished_spans()[0].tags['environ']
    assert 'REQUEST_URI: /reset/[REDACTED]?page=2' in environ
    assert 'RAW_URI: /reset/[REDACTED]' in environ
    assert 'secret' not in environ


def test_an_ordinary_placeholder_is_kept(tracer):
    path_app(tracer, '/reset/{name}').get('/reset/alice')
    span = tracer.finished_spans()[0]
    assert span.tags['http.url'] == 'http://localhost/reset/alice'


def test_secret_placeholders_are_judged_once_per_route(tracer):
    app = path_app(tracer)
    app.get('/reset/one-secret')
    policy = app.app.registry.settings['ot.tracer'].policy
    judged = dict(policy._secret_placeholders)
    assert sorted(route.name for route, names in judged.items() if names) == ['reset']
    app.get('/reset/two-secret')
    assert policy._secret_placeholders == judged


def test_opentelemetry_url_path_has_no_path_secret():
    tracer = tracer_from_settings(**{'ot.otel.exporter': 'memory'})
    path_app(tracer, '/reset/{reset_token}/{star:.*}').get('/reset/path-secret-2/x')
    (span,) = tracer.exporter.get_finished_spans()
    assert span.attributes['url.path'] == '/reset/[REDACTED]/x'
    assert 'path-secret-2' not in span.to_json()


def test_the_old_http_target_has_no_path_secret(monkeypatch):
    monkeypatch.setenv('OTEL_SEMCONV_STABILITY_OPT_IN', 'http/dup')
    tracer = tracer_from_settings(**{'ot.otel.exporter': 'memory'})
    path_app(tracer, '/reset/{reset_token}/{star:.*}').get('/reset/path-secret-3/x')
    (span,) = tracer.exporter.get_finished_spans()
    assert span.attributes['http.target'] == '/reset/[REDACTED]/x'
    assert 'path-secret-3' not in span.to_json()


class StartedAttributes(SpanProcessor):
    """What a span processor sees when a span starts."""

    def __init__(self):
        self.seen = []

    def on_start(self, span, parent_context=None):
        self.seen.append(dict(span.attributes or {}))


@pytest.mark.parametrize('semconv', ['', 'http/dup'])
def test_opentelemetry_url_path_waits_for_routing_in_an_app_with_a_secret_placeholder(
        monkeypatch, semconv):
    """A sampler and SpanProcessor.on_start see the attributes a span starts with."""
    monkeypatch.setenv('OTEL_SEMCONV_STABILITY_OPT_IN', semconv)
    tracer = tracer_from_settings(**{'ot.otel.exporter': 'memory'})
    started = StartedAttributes()
    tracer.provider.add_span_processor(started)
    app = path_app(tracer, **{'ot.trace_query_string': True})
    app.get('/reset/path-secret-4?page=2')
    app.get('/plain')
    assert not [attributes for attributes in started.seen
                if 'url.path' in attributes or 'http.target' in attributes]
    finished = [dict(span.attributes) for span in tracer.exporter.get_finished_spans()]
    assert [attributes['url.path'] for attributes in finished] == ['/reset/[REDACTED]', '/plain']
    if semconv:
        assert [attributes['http.target'] for attributes in finished] == [
            '/reset/[REDACTED]?page=2', '/plain']
    assert 'path-secret-4' not in repr(started.seen) + repr(finished)


def test_opentelemetry_url_path_is_set_at_start_in_an_app_without_one():
    tracer = tracer_from_settings(**{'ot.otel.exporter': 'memory'})
    started = StartedAttributes()
    tracer.provider.add_span_processor(started)
    path_app(tracer, '/reset/{name}').get('/reset/alice')
    assert started.seen[0]['url.path'] == '/reset/alice'


# -- outgoing calls ------------------------------------------------------------------

def closed_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture(params=['mocktracer', 'otel'])
def any_tracer(request):
    if request.param == 'mocktracer':
        tracer = MockTracer()
        return tracer, lambda: json.dumps([[s.operation_name, s.tags, [log.key_values for log in s.logs]]
                                           for s in tracer.finished_spans()], default=repr)
    tracer = tracer_from_settings(**{'ot.otel.exporter': 'memory'})
    return tracer, lambda: '\n'.join(s.to_json() for s in tracer.exporter.get_finished_spans())


def test_a_requests_connection_error_does_not_quote_the_secrets(any_tracer):
    tracer, dump = any_tracer
    url = 'http://dave:out-pw-1@127.0.0.1:%d/x?token=out-tok-1' % closed_port()
    with pytest.raises(requests.ConnectionError) as raised:
        outgoing.http_request(PyramidTracer(tracer), 'GET', url, timeout=2)
    assert 'out-tok-1' in str(raised.value)  # the client's own error is raised unchanged
    text = dump()
    assert 'Connection refused' in text
    assert 'out-pw-1' not in text and 'out-tok-1' not in text


@pytest.mark.parametrize('url', ['http://dave:out-pw-2@127.0.0.1/x',
                                 'http://dave:out-pw-2@127.0.0.1:1/x'])
def test_urllib_errors_do_not_quote_the_password(any_tracer, url):
    tracer, dump = any_tracer
    with pytest.raises(Exception):
        outgoing.urlopen(url, target=PyramidTracer(tracer), timeout=2)
    text = dump()
    assert 'error' in text and 'out-pw-2' not in text


@pytest.mark.parametrize('url', [
    'http://dave:pw-slash-1/tail-slash-1@127.0.0.1:{port}/x',
    'http://dave:pw-hash-2#tail-hash-2@127.0.0.1:{port}/x',
    'http://dave:pw-query-3?tail-query-3@127.0.0.1:{port}/x',
    'http://dave:pw-pct-4%2Ftail-pct-4@127.0.0.1:{port}/x',
])
@pytest.mark.parametrize('client', ['urlopen', 'requests'])
def test_a_password_the_client_cuts_is_not_quoted_by_its_error(any_tracer, client, url):
    """urllib and requests cut the authority at ``/ ? #`` and quote what
    they parsed as host or port (``nonnumeric port: 'pw-slash-1'``); the
    user info, decoded too, is removed from the error in every piece."""
    tracer, dump = any_tracer
    url = url.format(port=closed_port())
    with pytest.raises(Exception):
        if client == 'urlopen':
            outgoing.urlopen(url, target=PyramidTracer(tracer), timeout=2)
        else:
            outgoing.http_request(PyramidTracer(tracer), 'GET', url, timeout=2)
    text = dump()
    assert 'error' in text
    for piece in ('pw-', 'tail-'):
        assert piece not in text


def test_a_name_from_operation_name_func_is_scrubbed(make_testapp, tracer):
    app = make_testapp(**{'ot.operation_name_func': lambda request: 'GET ' + request.url})
    app.get('/plain?access_token=tok-in-name')
    assert tracer.finished_spans()[0].operation_name == 'GET http://localhost/plain?access_token=[REDACTED]'


@pytest.mark.parametrize('name_of', [
    lambda request: request.path,
    lambda request: '%s %s' % (request.method, request.path_qs),
    lambda request: request.url,
])
def test_a_name_from_operation_name_func_has_no_path_secret(any_tracer, name_of):
    tracer, dump = any_tracer
    path_app(tracer, **{'ot.operation_name_func': name_of}).get(
        '/reset/path-secret-in-name?access_token=tok-in-name')
    text = dump()
    assert '/reset/[REDACTED]' in text
    assert 'path-secret-in-name' not in text and 'tok-in-name' not in text


def test_http_url_waits_for_routing_in_an_app_with_a_secret_placeholder(tracer):
    """Some tracers (jaeger-client) report every value a tag was given: the
    URL is tagged once, after routing, when any route could hide a secret."""
    at_start = []
    app = path_app(tracer, **{'ot.start_span_cb': lambda span, request: at_start.append(dict(span.tags))})
    app.get('/reset/path-secret-3')
    app.get('/plain')
    assert [tags.get('http.url') for tags in at_start] == [None, None]
    assert [span.tags['http.url'] for span in tracer.finished_spans()] == [
        'http://localhost/reset/[REDACTED]', 'http://localhost/plain']


def test_http_url_is_tagged_at_start_in_an_app_without_one(tracer):
    at_start = []
    app = path_app(tracer, '/reset/{name}',
                   **{'ot.start_span_cb': lambda span, request: at_start.append(dict(span.tags))})
    app.get('/reset/alice')
    assert at_start[0]['http.url'] == 'http://localhost/reset/alice'


def test_a_traced_attribute_whose_str_raises_is_tagged_by_its_type():
    tag = attribute_tag('exception', UnprintableError('tok-in-str'), TagPolicy())
    assert tag == '<unprintable UnprintableError>'


@pytest.mark.parametrize('path', ['/p/password:hunter2-path-1', '/p/token=hunter2-path-1'])
def test_a_secret_pair_in_the_path_never_reaches_the_url(any_tracer, path):
    """The URL a span starts with goes through the one scrubber whenever any
    of its triggers is in the path (``:`` as much as ``=``), as every other
    text quoting the URL does."""
    tracer, dump = any_tracer
    webtest.TestApp(apps.make_app({'ot.trace_all': True, 'ot.base_tracer': tracer})).get(
        path, status=404)
    text = dump()
    assert 'hunter2-path-1' not in text
    assert '/p/' in text
