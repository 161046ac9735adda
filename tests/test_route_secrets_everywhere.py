"""The value filling a secret route placeholder (``/reset/{token}``) is
removed wherever else the request carries it: in its query string (traced
with ``ot.trace_query_string``, and the old ``http.target`` of
``http/dup``) and in captured request and response headers (a ``Referer``
to the same page, a ``Location`` quoting the token), on MockTracer spans and
OpenTelemetry spans alike. Such values are only known once the request is
routed, so in an application with a secret route they are recorded when
routing is done; in others, as soon as the span starts."""
import json

import pytest
import webtest
from opentracing.mocktracer import MockTracer
from pyramid.config import Configurator
from pyramid.exceptions import URLDecodeError
from pyramid.httpexceptions import HTTPNotFound
from pyramid.response import Response

from pyramid_opentracing import get_span
from pyramid_opentracing.otel import tracer_from_settings

#: The token planted in the path, the query and the headers.
TOKEN = 'Zq7rTokenOfThisRequest'

TARGET = '/reset/%s?next=/reset/%s&token=%s&page=2' % (TOKEN, TOKEN, TOKEN)

HEADERS = {'Referer': 'http://x/reset/%s' % TOKEN}

SETTINGS = {
    'ot.trace_all': True,
    'ot.trace_query_string': True,
    'ot.captured_request_headers': 'referer',
    'ot.captured_response_headers': 'location',
}


def span_tags(span):
    """The tags or attributes ``span`` carries now."""
    otel_span = getattr(span, 'unwrap', None)
    return dict(otel_span().attributes) if otel_span else dict(span.tags)


def seen_by_the_view(request):
    """Keep what the span carries while the view runs."""
    request.registry.settings['test.seen'].append(span_tags(get_span(request)))


def reset_view(request):
    seen_by_the_view(request)
    return Response('reset', status=303, location='/done/%s' % request.matchdict['token'])


def fail_view(request):
    raise ValueError('cannot reset')


def plain_view(request):
    seen_by_the_view(request)
    return Response('plain', location='/done/plain')


def make_app(tracer, secret_route=True, **settings):
    config = Configurator(settings=dict(SETTINGS, **{'ot.base_tracer': tracer, 'test.seen': []},
                                        **settings))
    placeholder = 'token' if secret_route else 'name'
    config.add_route('reset', '/reset/{%s}' % placeholder)
    config.add_view(reset_view if secret_route else plain_view, route_name='reset')
    config.add_route('fail', '/fail/{%s}' % placeholder)
    config.add_view(fail_view, route_name='fail')
    config.include('pyramid_opentracing')
    return webtest.TestApp(config.make_wsgi_app())


@pytest.fixture(params=['mocktracer', 'otel', 'otel http/dup'])
def traced(request, clean_env):
    """(tracer, dump(): the finished spans as texts, whole, and as dicts of
    their tags or attributes)."""
    if request.param == 'mocktracer':
        tracer = MockTracer()

        def dump():
            spans = tracer.finished_spans()
            return ([json.dumps([span.operation_name, span.tags,
                                 [log.key_values for log in span.logs]], default=repr)
                     for span in spans], [dict(span.tags) for span in spans])
        yield tracer, dump
        return
    clean_env.setenv('OTEL_SEMCONV_STABILITY_OPT_IN', request.param[5:])
    tracer = tracer_from_settings(**{'ot.otel.exporter': 'memory'})

    def dump():
        spans = tracer.exporter.get_finished_spans()
        return [span.to_json() for span in spans], [dict(span.attributes) for span in spans]
    yield tracer, dump
    tracer.shutdown()


def header_value(tags, name):
    """A captured header's value: a tag, or an OpenTelemetry string array."""
    value = tags[name]
    return value if isinstance(value, str) else list(value)[0]


def test_the_token_of_a_secret_route_is_in_no_span_of_its_request(traced):
    tracer, dump = traced
    make_app(tracer).get(TARGET, headers=HEADERS, status=303)
    texts, (tags,) = dump()
    assert not [text for text in texts if TOKEN in text]
    query = 'next=/reset/[REDACTED]&token=[REDACTED]&page=2'
    if 'url.query' in tags:
        assert tags['url.path'] == '/reset/[REDACTED]'
        assert tags['url.query'] == query
        if 'http.target' in tags:
            assert tags['http.target'] == '/reset/[REDACTED]?' + query
    else:
        assert tags['http.url'] == 'http://localhost/reset/[REDACTED]?' + query
    assert header_value(tags, 'http.request.header.referer') == 'http://x/reset/[REDACTED]'
    assert header_value(tags, 'http.response.header.location') == '/done/[REDACTED]'


def test_request_headers_are_captured_when_the_view_of_a_secret_route_fails(traced):
    tracer, dump = traced
    with pytest.raises(ValueError):
        make_app(tracer).get('/fail/%s?next=/fail/%s' % (TOKEN, TOKEN), headers={
            'Referer': 'http://x/fail/%s' % TOKEN})
    texts, (tags,) = dump()
    assert not [text for text in texts if TOKEN in text]
    assert header_value(tags, 'http.request.header.referer') == 'http://x/fail/[REDACTED]'


def test_query_and_request_headers_wait_for_routing_in_an_app_with_a_secret_route(traced):
    """A tracer may report every value a tag was ever given (jaeger-client),
    a sampler and ``SpanProcessor.on_start`` see what a span starts with:
    the URL and the captured request headers are set once, when routing is
    done, without the token, and the view sees them."""
    tracer, _ = traced
    started = []
    app = make_app(tracer, **{
        'ot.start_span_cb': lambda span, request: started.append(span_tags(span))})
    app.get(TARGET, headers=HEADERS, status=303)
    (at_start,) = started
    (in_view,) = app.app.registry.settings['test.seen']
    assert not {'http.url', 'url.path', 'url.query', 'http.target',
                'http.request.header.referer'} & set(at_start)
    assert TOKEN not in repr(at_start) + repr(in_view)
    assert header_value(in_view, 'http.request.header.referer') == 'http://x/reset/[REDACTED]'
    query = 'next=/reset/[REDACTED]&token=[REDACTED]&page=2'
    assert in_view.get('url.query', query) == query
    assert in_view.get('http.url', 'http://localhost/reset/[REDACTED]?' + query) == (
        'http://localhost/reset/[REDACTED]?' + query)
    assert in_view.get('url.path', '/reset/[REDACTED]') == '/reset/[REDACTED]'
    assert in_view.get('http.route', '/reset/{token}') == '/reset/{token}'


def test_query_and_request_headers_are_recorded_at_start_in_an_app_without_one(traced):
    tracer, dump = traced
    app = make_app(tracer, secret_route=False)
    app.get('/reset/alice?next=/reset/alice', headers={'Referer': 'http://x/reset/alice'})
    (seen,) = app.app.registry.settings['test.seen']
    _, (tags,) = dump()
    for recorded in (seen, tags):
        assert header_value(recorded, 'http.request.header.referer') == 'http://x/reset/alice'
        if 'http.url' in recorded:
            assert recorded['http.url'] == 'http://localhost/reset/alice?next=/reset/alice'
        else:
            assert recorded['url.query'] == 'next=/reset/alice'
            if 'http.target' in recorded:
                assert recorded['http.target'] == '/reset/alice?next=/reset/alice'
    assert header_value(tags, 'http.response.header.location') == '/done/plain'


def test_a_failing_capture_at_the_end_is_reported_and_the_span_still_tagged(traced, failures):
    tracer, dump = traced
    app = make_app(tracer)
    app.get('/reset/%s' % TOKEN, extra_environ={'HTTP_REFERER': b'bytes'}, status=303)
    _, (tags,) = dump()
    assert 'http.request.header.referer' not in tags
    assert tags.get('http.status_code', tags.get('http.response.status_code')) == 303
    assert 'capturing request headers failed' in failures()[0].getMessage()


def test_a_request_without_a_query_string_has_none_traced(traced):
    tracer, dump = traced
    make_app(tracer, **{'ot.captured_request_headers': ''}).get('/reset/%s' % TOKEN, status=303)
    texts, (tags,) = dump()
    assert not [text for text in texts if TOKEN in text]
    assert 'url.query' not in tags and 'http.request.header.referer' not in tags
    assert tags.get('http.target', '/reset/[REDACTED]') == '/reset/[REDACTED]'
    assert tags.get('http.url', 'http://localhost/reset/[REDACTED]') == (
        'http://localhost/reset/[REDACTED]')
    assert header_value(tags, 'http.response.header.location') == '/done/[REDACTED]'


# -- requests that match no route ---------------------------------------------

def ok_view(request):
    return Response('ok')


def routes_app(tracer, routes, view=ok_view, **settings):
    """A configurator tracing with ``tracer``, with ``routes`` ((name,
    pattern, route predicates) each) served by ``view``."""
    config = Configurator(settings=dict({'ot.trace_all': True, 'ot.base_tracer': tracer},
                                        **settings))
    config.include('pyramid_opentracing')
    for name, pattern, predicates in routes:
        config.add_route(name, pattern, **predicates)
        config.add_view(view, route_name=name)
    return config


def unrouted_app(tracer):
    """Secret routes a request may miss: by a trailing slash (one with
    ``append_slash`` redirecting to it), by a route predicate, and an
    excluded one; and a route without a secret."""
    config = routes_app(tracer, [
        ('slashed', '/slashed/{token}/', {}), ('reset', '/reset/{token}', {}),
        ('posted', '/posted/{token}', {'request_method': 'POST'}),
        ('skip', '/skip/{token}', {}), ('user', '/user/{name}', {})], **{
        'ot.trace_query_string': True, 'ot.captured_request_headers': 'referer',
        'ot.captured_response_headers': 'location', 'ot.excluded_routes': 'skip',
        'ot.traced_attributes': 'url path headers',
        'ot.operation_name_func': lambda request: request.path_qs})
    config.add_notfound_view(lambda request: HTTPNotFound(), append_slash=True)
    return webtest.TestApp(config.make_wsgi_app())


@pytest.mark.parametrize('path, status', [
    ('/slashed/%s' % TOKEN, 307),  # append_slash redirects: the Location has it too
    ('/reset/%s/' % TOKEN, 404),
    ('/posted/%s' % TOKEN, 404),  # the route's request_method refuses a GET
    ('/skip/%s/' % TOKEN, 404),  # an excluded route's value, one slash away
])
def test_the_token_of_a_secret_route_the_request_did_not_match_is_in_no_span(
        traced, path, status):
    tracer, dump = traced
    unrouted_app(tracer).get(path + '?next=%s' % TOKEN, headers={
        'Referer': 'http://x%s' % path}, status=status)
    texts, (tags,) = dump()
    assert not [text for text in texts if TOKEN in text]
    assert '[REDACTED]' in tags.get('url.path', tags.get('http.url'))


def test_a_request_matching_no_secret_route_keeps_its_path(traced):
    tracer, dump = traced
    unrouted_app(tracer).get('/nowhere/%s' % TOKEN, status=404)
    _, (tags,) = dump()
    assert tags.get('url.path', tags.get('http.url', '')).endswith('/nowhere/%s' % TOKEN)


def fall_through_app(tracer):
    """A secret route that refuses a GET, between a route and a catch-all."""
    return webtest.TestApp(routes_app(tracer, [
        ('about', '/about', {}), ('secret', '/{token}', {'request_method': 'POST'}),
        ('rest', '/*rest', {})], **{'ot.traced_attributes': 'path'}).make_wsgi_app())


def test_the_token_of_a_secret_route_refused_before_a_catch_all_is_in_no_span(traced):
    tracer, dump = traced
    fall_through_app(tracer).get('/%s' % TOKEN)
    texts, (tags,) = dump()
    assert not [text for text in texts if TOKEN in text]
    assert tags.get('url.path', tags.get('http.url', '')).endswith('/[REDACTED]')


@pytest.mark.parametrize('path', ['/reset/%s/' % TOKEN, '/reset/%s/x' % TOKEN])
def test_a_near_miss_of_a_secret_route_served_by_a_catch_all_has_no_token(traced, path):
    tracer, dump = traced
    app = webtest.TestApp(routes_app(tracer, [
        ('reset', '/reset/{token}', {}), ('spa', '/{p:.*}', {})],
        **{'ot.traced_attributes': 'path'}).make_wsgi_app())
    app.get(path)
    texts, (tags,) = dump()
    assert not [text for text in texts if TOKEN in text]
    assert '/reset/[REDACTED]' in tags.get('url.path', tags.get('http.url'))


@pytest.mark.parametrize('pattern, path', [
    ('/files/{token}/download', '/files/%s/downlaod' % TOKEN),  # a later segment differs
    ('/reset/{token}.json', '/reset/%s.xml' % TOKEN),  # the rest of the segment differs
    ('/reset/{token:[0-9]+}', '/reset/%s' % TOKEN),  # the placeholder's own pattern refuses it
])
def test_a_path_aimed_at_a_secret_route_is_kept_only_up_to_its_placeholder(
        traced, pattern, path):
    """Near misses of any kind: past a secret route's literal start, a
    request that did not end on it records none of its path."""
    tracer, dump = traced
    app = webtest.TestApp(routes_app(tracer, [('secret', pattern, {}), ('spa', '/{p:.*}', {})], **{
        'ot.traced_attributes': 'path', 'ot.trace_query_string': True,
        'ot.captured_request_headers': 'referer'}).make_wsgi_app())
    app.get(path + '?next=' + path, headers={'Referer': 'http://x' + path})
    texts, (tags,) = dump()
    assert not [text for text in texts if TOKEN in text]
    head = '/' + pattern.split('/')[1] + '/[REDACTED]'
    assert head in tags.get('url.path', tags.get('http.url'))
    assert tags['path'].startswith(head)


@pytest.mark.parametrize('path', ['/about', '/other/page'])
def test_a_route_the_secret_route_was_not_tried_for_keeps_its_path(traced, path):
    tracer, dump = traced
    fall_through_app(tracer).get(path)
    _, (tags,) = dump()
    assert tags.get('url.path', tags.get('http.url', '')).endswith(path)


# -- a secret in another URL encoding -----------------------------------------

def echo_view(request):
    """Answer with a Location quoting the query string as it came."""
    return Response('ok', status=303, location='/done?' + request.query_string)


def encodings_app(tracer):
    return webtest.TestApp(routes_app(tracer, [('reset', '/reset/{token}', {})], echo_view, **{
        'ot.trace_query_string': True, 'ot.captured_request_headers': 'referer|x-.*',
        'ot.captured_response_headers': 'location',
        'ot.traced_attributes': 'url headers query_string'}).make_wsgi_app())


@pytest.mark.parametrize('token, in_path, in_query', [
    ('Zq7rTok+OfReq==', 'Zq7rTok%2BOfReq%3D%3D', 'Zq7rTok%2bOfReq%3d%3d'),  # lower-case hex
    ('Zq7r TokOfReq', 'Zq7r%20TokOfReq', 'Zq7r+TokOfReq'),  # a space as '+'
    ('Zq7rTokOfReq', 'Zq7rTokOfReq', 'Zq7r%54okOfReq'),  # an unreserved character encoded
    ('Zq7rTök\u00e9Req', 'Zq7rT%C3%B6k%C3%A9Req', 'Zq7rT%c3%b6k\u00e9Req'),  # mixed
])
def test_a_path_secret_in_another_url_encoding_is_in_no_span(traced, token, in_path, in_query):
    tracer, dump = traced
    encodings_app(tracer).get('/reset/%s?next=%s' % (in_path, in_query), headers={
        'Referer': 'http://x/page?next=' + in_query,
        'X-Loc': 'http://x/reset/' + in_query.replace('+', '%20')}, status=303)
    texts, (tags,) = dump()
    shown = [form for form in {token, in_query} for text in texts if form in text]
    assert not shown
    assert header_value(tags, 'http.request.header.referer') == 'http://x/page?next=[REDACTED]'
    assert header_value(tags, 'http.response.header.location') == '/done?next=[REDACTED]'


def test_a_path_no_route_can_read_is_tagged_without_what_may_be_a_token(traced, failures):
    """A path that is not UTF-8 is no route's: the span is still tagged,
    without failures, the segment where a token may be redacted."""
    tracer, dump = traced
    app = webtest.TestApp(routes_app(tracer, [('reset', '/reset/{token}', {})]).make_wsgi_app())
    with pytest.raises(URLDecodeError):  # Pyramid's own: no route can match it
        app.get('/reset/%FF')
    _, (tags,) = dump()
    assert tags.get('url.path', tags.get('http.url')).endswith('/reset/[REDACTED]')
    assert not failures()


def test_the_token_of_a_path_that_is_not_utf8_is_in_no_span(traced):
    """No route matches a path that is not UTF-8 (Pyramid answers 500), yet
    it may carry a token: its segments after a secret route's literal head
    are secrets all the same, in the environ's form and percent-encoded."""
    tracer, dump = traced
    with pytest.raises(URLDecodeError):  # Pyramid's own answer, traced or not
        unrouted_app(tracer).get('/reset/Secr%C3%A9tTokSixteen%FF%FE')
    texts, (tags,) = dump()
    assert not [text for text in texts if 'TokSixteen' in text]
    assert '/reset/[REDACTED]' in tags.get('url.path', tags.get('http.url'))
