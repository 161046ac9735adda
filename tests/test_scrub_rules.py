"""The scrubber's rules are tables: the docs list every row, a secret name is
judged by one rule, and what is plainly not a secret stays readable."""
import http.server
import logging
import threading

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from pyramid_opentracing import scrub as rules
from pyramid_opentracing.failures import MAX_MESSAGE, RateLimitFilter
from pyramid_opentracing.redaction import BODY_ATTRIBUTES, SECRET_ATTRIBUTES, describe_rules
from pyramid_opentracing.scrub import REDACTED, name_is_secret, safe_text, scrub, url_secrets

#: The line the OTLP exporter logs when a collector refuses a batch.
EXPORT_FAILURE = 'Failed to export spans batch code: 405, reason: Method Not Allowed'


# -- the rules, for the docs ---------------------------------------------------

def test_describe_rules_lists_titled_sections_of_restructured_text():
    sections = describe_rules()
    assert len(sections) >= 10
    assert len({title for title, _, _ in sections}) == len(sections)
    for title, explanation, items in sections:
        assert isinstance(title, str) and title and isinstance(explanation, str) and explanation
        assert isinstance(items, list) and all(isinstance(item, str) and item for item in items)
        assert explanation.count('``') % 2 == 0, explanation
        assert all(item.count('``') % 2 == 0 for item in items), items


def _described():
    return '\n'.join(explanation + '\n' + '\n'.join(items) for _, explanation, items in describe_rules())


@pytest.mark.parametrize('table', [
    rules.SECRET_NAMES, rules.SECRET_STEMS, rules.SECRET_PARTS, rules.NOT_SECRET_SUFFIXES,
    rules.AUTH_SCHEMES, rules.USERINFO_CUTS])
def test_every_listed_item_of_a_table_is_in_the_docs(table):
    described = _described()
    for row in table:
        assert row.doc and row.doc in described
        for item in row.items:
            assert '``%s``' % item in described, item


@pytest.mark.parametrize('table', [
    rules.PAIR_SEPARATORS, rules.PLAIN_VALUES, rules.SHAPES, rules.SECRET_ENDINGS])
def test_every_row_of_a_pattern_table_is_in_the_docs(table):
    described = _described()
    for row in table:
        assert row.doc and row.doc in described
    for row in rules.SECRET_ENDINGS:
        assert all(word in described for word in row.plain)


def test_the_docs_name_the_secret_request_attributes_and_the_known_forms():
    described = _described()
    assert all('``%s``' % name in described for name in SECRET_ATTRIBUTES | BODY_ATTRIBUTES)
    assert all(form in described for form in rules.KNOWN_FORMS)


# -- secret names: one rule for words ending in key, pass, code ----------------------

@pytest.mark.parametrize('name', [
    'customerkey', 'vaultkey', 'webhookkeys', 'vaultpass', 'routerpass', 'gift_code',
    'voucherCode', 'unlockcode', 'coupon_codes', 'sortkey', 'securitycodeid',
    'apikeyid', 'masterkeyid', 'privatekeypem', 'passkeys', 'userpassword2'])
def test_a_word_ending_as_a_secret_does_is_secret_unless_it_is_plainly_not(name):
    assert name_is_secret(name)


@pytest.mark.parametrize('name', [
    'hot_key', 'hotkeys', 'monkeys', 'by_pass', 'exit_code', 'httpCode', 'response_code', 'returncode',
    'language_code', 'currencyCode', 'qr_code', 'status_codes', 'decode', 'codec', 'codebase',
    'barcodereader', 'keyboard', 'keystone', 'monkeypatch', 'passport', 'bypassed', 'unicodedata',
    'urlencoded', 'x-www-form-urlencoded', 'geo.continent.code'])
def test_a_plain_word_ending_as_a_secret_does_is_not_secret(name):
    assert not name_is_secret(name)


def test_code_as_the_first_of_several_words_qualifies_the_next_while_key_does_not():
    for name in ('code.function', 'code.lineno', 'CODE_FILEPATH', 'code_challenge'):
        assert not name_is_secret(name), name  # OpenTelemetry's source-code attributes
    for name in ('code', 'Code', 'key_id', 'key.name', 'pass_hash'):
        assert name_is_secret(name), name


def test_a_separated_word_is_judged_as_its_run_together_form():
    for separated, joined in [('zip_code', 'zipcode'), ('api_key', 'apikey'),
                              ('user-pass', 'userpass'), ('mfa code', 'mfacode')]:
        assert name_is_secret(separated) == name_is_secret(joined), separated


# -- what is plainly not a secret stays ------------------------------------------

def test_the_exporters_failure_line_keeps_its_status():
    assert scrub(EXPORT_FAILURE) == EXPORT_FAILURE
    assert safe_text(EXPORT_FAILURE, MAX_MESSAGE) == EXPORT_FAILURE


@pytest.mark.parametrize('text, shown', [
    ('https://app.example/cb?code=abc123&state=s', 'https://app.example/cb?code=[REDACTED]&state=s'),
    ('https://app.example/cb#code=405abc', 'https://app.example/cb#code=[REDACTED]'),
    ('code=4051234', 'code=[REDACTED]'),
    ('code: 405.5', 'code: [REDACTED]'),
    ("{'code': '405'}", "{'code': '[REDACTED]'}"),
    ('pin=405', 'pin=[REDACTED]'),
    ('cvv: 405', 'cvv: [REDACTED]'),
])
def test_a_code_that_is_not_an_http_status_is_still_redacted(text, shown):
    assert scrub(text) == shown


def test_a_route_pattern_with_a_secret_placeholder_stays():
    for pattern in ('/reset/{token}', '/reset/{token:[0-9a-f]+}', r'/t/{token:\d{4,8}}/x',
                    '/f/{password:.*}'):
        assert scrub(pattern) == pattern
        assert scrub('no view for %s, code: 404' % pattern) == 'no view for %s, code: 404' % pattern


def test_a_value_in_braces_that_is_no_regular_expression_is_redacted():
    assert scrub('{token:Zq7abc}') == '{token:%s' % REDACTED
    assert scrub('{token: "Zq7abc"}') == '{token: "%s"}' % REDACTED


def test_the_status_of_a_url_is_not_a_known_secret():
    assert url_secrets('https://h/cb?code=405&token=Zq7abc') == ('Zq7abc',)


# -- user info: one rule for what is a path -----------------------------------------

def test_user_info_and_its_pieces_follow_one_rule_for_what_is_a_path():
    # a ':' before the '@': user info, whatever precedes it
    assert scrub('see http://us/er:Zq7pass@host/x') == 'see http://host/x'
    assert 'Zq7pass' in url_secrets('http://us/er:Zq7pass@host/x')
    # a '/', '?' or '#' and no ':' before the '@': a path, query or fragment
    for url in ('http://host?mail=a@b.example', 'http://host#to=a@b.example',
                'http://host/p?mail=a@b.example'):
        assert scrub(url) == url
        assert url_secrets(url) == ()


# -- through the exporter's own logger ---------------------------------------------

class RefusingCollector(http.server.BaseHTTPRequestHandler):
    """A collector at the wrong path: every POST is refused with 405."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get('Content-Length') or 0))
        self.send_response(405)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def refusing_collector():
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), RefusingCollector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield 'http://127.0.0.1:%d/v1/trace' % server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def exporter_log():
    """The trace exporter's logger with a rate-limiting filter of its own
    (one a bridge installed earlier in this process remembers its lines)."""
    log = logging.getLogger('opentelemetry.exporter.otlp.proto.http.trace_exporter')
    saved = log.filters[:]
    log.filters[:] = [RateLimitFilter()]
    yield log
    log.filters[:] = saved


def test_a_refused_export_is_logged_with_the_collectors_answer(
        refusing_collector, exporter_log, caplog):
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.get_tracer('test').start_span('refused').end()
    caplog.set_level(logging.ERROR, logger=exporter_log.name)
    OTLPSpanExporter(endpoint=refusing_collector, timeout=5).export(memory.get_finished_spans())
    messages = [record.getMessage() for record in caplog.records if record.name == exporter_log.name]
    assert EXPORT_FAILURE in messages


# -- auth-scheme credentials anywhere ------------------------------------------------

@pytest.mark.parametrize('text, shown', [
    ('sent Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig to it', 'sent Bearer [REDACTED] to it'),
    ("headers ['Basic dXNlcjpwYXNz=']", "headers ['Basic [REDACTED]']"),
    ('retry with bearer s3cr3t-authz.', 'retry with bearer [REDACTED].'),
    ('BASIC ZQ7ABCDEFGH', 'BASIC [REDACTED]'),
])
def test_a_credential_after_an_auth_scheme_is_removed_anywhere(text, shown):
    assert scrub(text) == shown


@pytest.mark.parametrize('text', [
    'this API requires Basic authentication.',
    'Bearer realm="api", error="invalid_token"',
    'bearer tokens expire after an hour',
    'Basic Authentication failed',
])
def test_words_after_an_auth_scheme_stay(text):
    assert scrub(text) == text
