"""Secrets planted in every place a request carries them never reach a span:
not a tag, not a log field, not an OpenTelemetry attribute; URL userinfo
never appears; tag values are bounded in size."""
import json

import pytest
import webtest

from pyramid_opentracing.otel import tracer_from_settings

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
    allowance = len('...[1000000 more characters]')
    for name, value in span.tags.items():
        if isinstance(value, str):
            assert len(value) <= limit + allowance, (name, len(value))
    assert span.tags['user_agent'].endswith('more characters]')


def test_a_huge_error_message_is_bounded_in_the_log(make_testapp, tracer):
    app = make_testapp(**{'ot.max_tag_length': 64})
    app.get('/handled', status=500)
    fields = tracer.finished_spans()[0].logs[0].key_values
    assert len(fields['message']) <= 64 + 40
    assert len(fields['stack']) <= 64 * 8 + 40
