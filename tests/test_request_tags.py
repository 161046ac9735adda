"""Unit tests of how request data becomes tag values."""
import pytest
from pyramid.request import Request
from pyramid.testing import DummyRequest

from opentracing.mocktracer import MockTracer

from pyramid_opentracing.tags import TagPolicy, attribute_tag, error_fields
from pyramid_opentracing.urls import http_url
from pyramid_opentracing.scrub import bound, bound_tail, safe_text
from pyramid_opentracing.tracer import PyramidTracer


def start_tags(request):
    """The tags the server span of ``request`` starts with."""
    strategy = PyramidTracer(MockTracer()).server_span_strategy()
    scope = strategy.start_active(request, None, False)
    scope.close()
    return scope.span.tags


def test_bound_keeps_short_text_and_says_what_it_cut():
    assert bound('abc', 5) == 'abc'
    assert bound('a' * 100, 64) == 'a' * 40 + '...[60 more characters]'
    assert bound_tail('a' * 100, 64) == '[62 characters before]...' + 'a' * 38


@pytest.mark.parametrize('limit', [1, 3, 16, 30, 64, 1024])
@pytest.mark.parametrize('size', [10, 100, 5000, 10 ** 6])
def test_a_bounded_text_is_never_longer_than_its_limit_mark_included(limit, size):
    text = 'x' * size
    for shown in (bound(text, limit), bound_tail(text, limit), safe_text(text, limit)):
        assert len(shown) <= limit
        assert shown == text or limit < len('...') or '...' in shown


def test_a_cut_says_how_much_when_it_takes_at_most_half_the_limit():
    assert bound('x' * 100, 16) == 'x' * 13 + '...'
    assert bound_tail('x' * 100, 16) == '...' + 'x' * 13


def test_http_url_never_has_userinfo():
    request = Request.blank('/p?x=1', headers={'Host': 'user:pw@example.com'})
    assert http_url(request, TagPolicy()) == 'http://example.com/p'


def test_start_tags_of_a_blank_request():
    request = Request.blank('/a b', method='PUT')
    assert start_tags(request) == {
        'component': 'pyramid', 'span.kind': 'server', 'http.method': 'PUT',
        'http.url': 'http://localhost/a%20b'}


def test_scalars_stay_scalars_and_none_is_no_tag():
    policy = TagPolicy()
    assert attribute_tag('content_length', 12, policy) == 12
    assert attribute_tag('is_xhr', False, policy) is False
    assert attribute_tag('content_type', None, policy) is None


def test_secret_attributes_and_bodies_are_never_rendered():
    policy = TagPolicy()
    assert attribute_tag('authorization', ('Bearer', 'secret'), policy) == '[REDACTED]'
    assert attribute_tag('cookies', {'session': 'secret'}, policy) == '[REDACTED]'
    assert attribute_tag('body', b'password=secret', policy) == '[body: 15 bytes]'
    assert attribute_tag('text', 'password=secret', policy) == '[body: 15 bytes]'


def test_urls_and_query_strings_are_redacted():
    policy = TagPolicy()
    assert attribute_tag('url', 'http://u:p@h/x?token=t&a=1', policy) == 'http://h/x?token=[REDACTED]&a=1'
    assert attribute_tag('query_string', 'password=p', policy) == 'password=[REDACTED]'
    assert attribute_tag('path_qs', b'/x?sig=s', policy) == '/x?sig=[REDACTED]'


def test_mappings_render_one_line_per_item_with_secrets_redacted():
    environ = {'HTTP_COOKIE': 'a=b', 'QUERY_STRING': 'key=k&n=1', 'REQUEST_URI': '/x?token=t',
               'PATH_INFO': '/x'}
    text = attribute_tag('environ', environ, TagPolicy())
    assert text.splitlines() == [
        'HTTP_COOKIE: [REDACTED]', 'QUERY_STRING: key=[REDACTED]&n=1',
        'REQUEST_URI: /x?token=[REDACTED]', 'PATH_INFO: /x']


def test_long_values_are_bounded():
    policy = TagPolicy(max_tag_length=16)
    assert attribute_tag('path', 'x' * 100, policy) == 'x' * 13 + '...'
    assert len(attribute_tag('headers', {'A': 'y' * 100}, policy)) < 50
    assert attribute_tag('matchdict', ['z' * 40], policy) == "['" + 'z' * 11 + '...'


def test_error_fields_follow_the_opentracing_conventions():
    try:
        raise KeyError('missing')
    except KeyError as exc:
        fields = error_fields(exc, TagPolicy())
    assert fields['event'] == 'error' and fields['error.kind'] == 'KeyError'
    assert fields['message'] == "'missing'"
    assert fields['stack'].startswith('Traceback') and 'KeyError' in fields['stack']


def test_error_kind_of_a_non_builtin_names_its_module():
    from pyramid.httpexceptions import HTTPBadGateway
    fields = error_fields(HTTPBadGateway(), TagPolicy())
    assert fields['error.kind'] == 'pyramid.httpexceptions.HTTPBadGateway'


def test_dummy_request_works_too():
    assert start_tags(DummyRequest())['http.url'] == 'http://example.com'
