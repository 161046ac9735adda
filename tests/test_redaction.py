"""Unit tests of what counts as secret and how it is rewritten."""
import pytest

from pyramid_opentracing.redaction import REDACTED, Redactor


@pytest.mark.parametrize('name', [
    'Authorization', 'authorization', 'HTTP_AUTHORIZATION', 'Cookie', 'HTTP_COOKIE',
    'Set-Cookie', 'Proxy-Authorization', 'X-Api-Key', 'X_API_KEY', 'X-Auth-Token',
    'X-Upstream-Authorization', 'db_password', 'token', 'sig', 'signature', 'key',
    'client_secret', 'X-Session-Id',
])
def test_secret_names(name):
    assert Redactor().is_secret(name)


@pytest.mark.parametrize('name', ['Accept', 'HTTP_HOST', 'page', 'User-Agent', 'Content-Type'])
def test_ordinary_names(name):
    assert not Redactor().is_secret(name)


def test_extra_names_add_to_the_builtin_ones():
    redactor = Redactor(headers=['X-Tenant'], parameters=['ticket'])
    assert redactor.is_secret('x-tenant') and redactor.is_secret('HTTP_X_TENANT')
    assert redactor.is_secret('Ticket') and redactor.is_secret('authorization')


def test_query_values_of_secret_parameters_are_replaced_in_order():
    assert Redactor().query('a=1&token=x&b&password=&c=3&Key=y') == (
        'a=1&token=%s&b&password=%s&c=3&Key=%s' % (REDACTED, REDACTED, REDACTED))


def test_encoded_parameter_names_are_recognised():
    assert Redactor().query('api%5Fkey=x') == 'api%5Fkey=' + REDACTED


def test_url_loses_userinfo_and_secret_query_values():
    url = Redactor().url('https://user:pw@example.com:8443/p?q=1&sig=abc#frag')
    assert url == 'https://example.com:8443/p?q=1&sig=%s#frag' % REDACTED


def test_plain_url_is_returned_unchanged():
    url = 'http://example.com/path'
    assert Redactor().url(url) is url
