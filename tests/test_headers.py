"""Captured request and response headers, and the span context written into
the response (ot.response_headers)."""
import opentracing
import pytest
import webtest
from jaeger_client import ConstSampler, Tracer as JaegerTracer
from jaeger_client.reporter import InMemoryReporter
from opentracing.mocktracer import MockTracer
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError
from pyramid.response import Response

import pyramid_opentracing
from pyramid_opentracing.headers import MAX_CAPTURED

from . import apps
from .conftest import OTEL_HTTP_VARIABLES, server_span
from .test_otel_bridge import bridge_app, no_otel_env, only_span  # noqa: F401 (fixtures)

VARIABLES = OTEL_HTTP_VARIABLES[2:]  # request, response, sanitize fields

REQUEST_HEADERS = {
    'X-Request-ID': 'abc-123',
    'Custom-One': '1',
    'Custom-Two': '2',
    'Authorization': 'Bearer secret-token',
    'X-My-Secret': 'hush',
    'Referer': 'https://user:pw@example.com/page?token=t0k&q=1',
    'Content-Type': 'text/plain',
}


@pytest.fixture
def mock_app(traced_app):
    """make(**settings): (WebTest app of tests.apps, MockTracer)."""
    return lambda **settings: traced_app(MockTracer(), **settings)


def header_tags(span, prefix='http.request.header.'):
    return {key[len(prefix):]: value for key, value in span.tags.items() if key.startswith(prefix)}


def header_attributes(span, prefix='http.request.header.'):
    return {key[len(prefix):]: value for key, value in span.attributes.items()
            if key.startswith(prefix)}


# -- captured request headers ------------------------------------------------------

def test_captured_request_headers_are_tags_named_as_opentelemetry_names_them(mock_app):
    app, tracer = mock_app(**{'ot.captured_request_headers':
                              'x-request-id, custom-.*, authorization, referer, content-type'})
    app.post('/plain', headers=REQUEST_HEADERS, params='body')
    assert header_tags(server_span(tracer)) == {
        'x_request_id': 'abc-123',
        'custom_one': '1',
        'custom_two': '2',
        'authorization': '[REDACTED]',
        'referer': 'https://example.com/page?token=[REDACTED]&q=1',
        'content_type': 'text/plain',
    }


def test_patterns_match_whole_names_case_insensitively(mock_app):
    app, tracer = mock_app(**{'ot.captured_request_headers': 'X-REQUEST\nCUSTOM-ONE'})
    app.get('/plain', headers=REQUEST_HEADERS)
    assert header_tags(server_span(tracer)) == {'custom_one': '1'}


def test_captured_values_are_bounded(mock_app):
    app, tracer = mock_app(**{'ot.captured_request_headers': 'x-long',
                              'ot.max_tag_length': 16})
    app.get('/plain', headers={'X-Long': 'a' * 100})
    assert header_tags(server_span(tracer)) == {'x_long': 'a' * 13 + '...'}
    tracer.reset()
    app.get('/plain')
    assert header_tags(server_span(tracer)) == {}


def test_a_client_cannot_choose_how_many_headers_nor_how_long_their_names(mock_app):
    app, tracer = mock_app(**{'ot.captured_request_headers': 'x-.*', 'ot.max_tag_length': 64})
    headers = {'X-%03d' % n: 'v' for n in range(300)}
    headers['X-' + 'n' * 5000] = 'v'
    app.get('/plain', headers=headers)
    captured = header_tags(server_span(tracer))
    assert len(captured) == MAX_CAPTURED
    assert max(len(key) for key in server_span(tracer).tags) <= 64 + len('http.request.header.')


def test_opentelemetrys_variables_are_the_fallback(mock_app, clean_env):
    clean_env.setenv(VARIABLES[0], 'custom-one,x-my-secret')
    clean_env.setenv(VARIABLES[1], 'content-type')
    clean_env.setenv(VARIABLES[2], '.*my-secret.*')
    app, tracer = mock_app()
    app.get('/plain', headers=REQUEST_HEADERS)
    span = server_span(tracer)
    assert header_tags(span) == {'custom_one': '1', 'x_my_secret': '[REDACTED]'}
    assert header_tags(span, 'http.response.header.') == {
        'content_type': 'text/html; charset=UTF-8'}


def test_the_settings_win_over_the_variables(mock_app, clean_env):
    clean_env.setenv(VARIABLES[0], 'custom-one')
    app, tracer = mock_app(**{'ot.captured_request_headers': 'custom-two'})
    app.get('/plain', headers=REQUEST_HEADERS)
    assert header_tags(server_span(tracer)) == {'custom_two': '2'}


def test_redacted_headers_are_redacted_when_captured(mock_app):
    app, tracer = mock_app(**{'ot.captured_request_headers': 'custom-.*',
                              'ot.redacted_headers': 'custom-two'})
    app.get('/plain', headers=REQUEST_HEADERS)
    assert header_tags(server_span(tracer)) == {'custom_one': '1', 'custom_two': '[REDACTED]'}


@pytest.mark.parametrize('value, problem', [
    ('*', "'*' is not a regular expression (nothing to repeat"),
    (42, 'expected a list'),
    ([''], "'' is not a regular expression"),
])
def test_a_bad_header_pattern_fails_at_start_up(clean_env, value, problem):
    with pytest.raises(ConfigurationError) as raised:
        apps.make_app({'ot.trace_all': True, 'ot.captured_response_headers': value})
    assert 'ot.captured_response_headers = %r: %s' % (value, problem) in str(raised.value)


# -- captured response headers -------------------------------------------------------

def set_cookies(request):
    response = Response('cookies')
    response.headers.add('X-Part', 'a')
    response.headers.add('X-Part', 'b')
    response.set_cookie('session', 'secret-session-id')
    return response


def cookie_app(tracer, **settings):
    config = Configurator(settings=dict({'ot.trace_all': True, 'ot.base_tracer': tracer},
                                        **settings))
    config.include('pyramid_opentracing')
    config.add_route('cookies', '/cookies')
    config.add_view(set_cookies, route_name='cookies')
    return webtest.TestApp(config.make_wsgi_app())


def test_captured_response_headers_join_repeats_and_redact_cookies(clean_env):
    tracer = MockTracer()
    app = cookie_app(tracer, **{'ot.captured_response_headers': 'x-part, set-cookie, content-.*'})
    app.get('/cookies')
    assert header_tags(server_span(tracer), 'http.response.header.') == {
        'x_part': 'a,b',
        'set_cookie': '[REDACTED]',
        'content_type': 'text/html; charset=UTF-8',
        'content_length': '7',
    }


def test_response_headers_of_an_exception_views_response_are_captured(mock_app):
    app, tracer = mock_app(**{'ot.captured_response_headers': 'content-length'})
    app.get('/handled', status=500)
    assert header_tags(server_span(tracer), 'http.response.header.') == {'content_length': '7'}


def test_the_bridge_records_string_array_attributes(bridge_app, clean_env):
    app, tracer = bridge_app(**{'ot.captured_request_headers': 'custom-one, authorization',
                                'ot.captured_response_headers': 'content-type'})
    app.get('/plain', headers=REQUEST_HEADERS)
    span = only_span(tracer)
    assert header_attributes(span) == {'custom_one': ('1',), 'authorization': ('[REDACTED]',)}
    assert header_attributes(span, 'http.response.header.') == {
        'content_type': ('text/html; charset=UTF-8',)}


def test_a_failing_capture_is_reported_and_the_request_served(mock_app, failures):
    app, tracer = mock_app(**{'ot.captured_request_headers': 'x-bad'})
    # a WSGI server gives str values; a broken middleware might not
    app.get('/plain', extra_environ={'HTTP_X_BAD': b'bytes@'})
    app.get('/plain', extra_environ={'HTTP_X_BAD': 'fine'})
    assert header_tags(tracer.finished_spans()[1]) == {'x_bad': 'fine'}
    assert header_tags(tracer.finished_spans()[0]) == {}
    [logged] = failures()
    assert 'capturing request headers failed (TypeError' in logged.getMessage()


def test_a_failing_response_capture_is_reported_and_the_response_sent(clean_env, failures):
    tracer = MockTracer()
    config = Configurator(settings={'ot.trace_all': True, 'ot.base_tracer': tracer,
                                    'ot.captured_response_headers': 'x-bad'})
    config.include('pyramid_opentracing')
    config.add_route('bad', '/bad')

    def bad_header(request):
        response = Response('bad')
        response.headerlist.append(('X-Bad', b'bytes?'))  # not a str, as a buggy view may do
        return response

    config.add_view(bad_header, route_name='bad')
    app = webtest.TestApp(config.make_wsgi_app(), lint=False)
    app.get('/bad')
    assert len(tracer.finished_spans()) == 1
    assert 'capturing response headers failed' in failures()[0].getMessage()


def test_a_header_value_that_is_no_url_is_kept(mock_app):
    app, tracer = mock_app(**{'ot.captured_request_headers': 'x-odd'})
    app.get('/plain', headers={'X-Odd': 'http://[not-a-host?x=1'})
    assert header_tags(server_span(tracer)) == {'x_odd': 'http://[not-a-host?x=1'}


# -- ot.response_headers ------------------------------------------------------------

def test_the_bridge_writes_traceresponse(bridge_app, clean_env):
    app, tracer = bridge_app(**{'ot.response_headers': 'true'})
    response = app.get('/plain')
    context = only_span(tracer).context
    assert response.headers['traceresponse'] == '00-%032x-%016x-%02x' % (
        context.trace_id, context.span_id, context.trace_flags)
    assert response.headers['Access-Control-Expose-Headers'] == 'traceresponse'


def test_an_error_response_from_an_exception_view_carries_it(bridge_app, clean_env):
    app, tracer = bridge_app(**{'ot.response_headers': 'true'})
    response = app.get('/handled', status=500)
    context = only_span(tracer).context
    assert response.headers['traceresponse'].split('-')[1:3] == [
        '%032x' % context.trace_id, '%016x' % context.span_id]


def test_behind_opentelemetrys_wsgi_middleware_traceresponse_names_its_server_span(
        bridge_app, clean_env):
    """The middleware's SERVER span answers the caller; ours is its INTERNAL child."""
    from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware
    from opentelemetry.trace import SpanKind
    app, tracer = bridge_app(**{'ot.response_headers': 'true'})
    wrapped = webtest.TestApp(OpenTelemetryMiddleware(app.app, tracer_provider=tracer.provider))
    caller = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
    response = wrapped.get('/plain', headers={'traceparent': caller})
    spans = tracer.exporter.get_finished_spans()
    (outer,) = [span for span in spans if span.kind is SpanKind.SERVER]
    (ours,) = [span for span in spans if span.kind is SpanKind.INTERNAL]
    assert outer.parent.span_id == 0xb7ad6b7169203331
    assert ours.parent.span_id == outer.context.span_id
    assert response.headers['traceresponse'] == '00-0af7651916cd43dd8448eb211c80319c-%016x-01' % (
        outer.context.span_id)


def test_other_tracers_write_their_own_format_without_baggage(mock_app):
    app, tracer = mock_app(**{'ot.response_headers': True,
                              'ot.start_span_cb': lambda span, request:
                                  span.set_baggage_item('user', 'alice')})
    response = app.get('/plain')
    span = server_span(tracer)
    assert response.headers['ot-tracer-traceid'] == '%x' % span.context.trace_id
    assert response.headers['ot-tracer-spanid'] == '%x' % span.context.span_id
    assert not any(name.lower().startswith('ot-baggage') for name in response.headers)
    assert response.headers['Access-Control-Expose-Headers'] == (
        'ot-tracer-traceid, ot-tracer-spanid')


def test_jaeger_writes_uber_trace_id(clean_env):
    tracer = JaegerTracer('svc', InMemoryReporter(), ConstSampler(True))
    app = webtest.TestApp(apps.make_app({'ot.trace_all': True, 'ot.base_tracer': tracer,
                                         'ot.response_headers': 'on'}))
    response = app.get('/plain')
    [span] = tracer.reporter.get_spans()
    assert response.headers['uber-trace-id'].startswith('%x:%x:' % (span.trace_id, span.span_id))


def test_exposed_headers_already_set_are_kept(bridge_app, clean_env):
    app, tracer = bridge_app(**{'ot.response_headers': 'true'})
    config_headers = app.get('/plain').headers
    assert 'traceresponse' in config_headers
    # a view that exposes headers of its own
    tracer2 = MockTracer()
    config = Configurator(settings={'ot.trace_all': True, 'ot.base_tracer': tracer2,
                                    'ot.response_headers': True})
    config.include('pyramid_opentracing')
    config.add_route('exposing', '/exposing')
    config.add_view(lambda request: Response(headers={'Access-Control-Expose-Headers': 'x-mine'}),
                    route_name='exposing')
    response = webtest.TestApp(config.make_wsgi_app()).get('/exposing')
    assert response.headers['Access-Control-Expose-Headers'] == (
        'x-mine, ot-tracer-traceid, ot-tracer-spanid')


SHARED = Response('shared')


def test_a_response_served_again_does_not_list_the_headers_again(clean_env):
    """A view returning one Response object for every request: the exposed
    names are listed once, not once more per request."""
    config = Configurator(settings={'ot.trace_all': True, 'ot.base_tracer': MockTracer(),
                                    'ot.response_headers': True})
    config.include('pyramid_opentracing')
    config.add_route('shared', '/shared')
    config.add_view(lambda request: SHARED, route_name='shared')
    app = webtest.TestApp(config.make_wsgi_app())
    for _ in range(3):
        response = app.get('/shared')
    assert response.headers['Access-Control-Expose-Headers'] == (
        'ot-tracer-traceid, ot-tracer-spanid')


@pytest.mark.parametrize('bridge', [True, False], ids=['bridge', 'mock'])
def test_a_shared_response_never_carries_another_requests_context(clean_env, no_otel_env,
                                                                    bridge):
    """A view returning one module-level Response: an untraced request, or a
    traced one whose span has no context to write, answers without the
    context the previous request wrote into it."""
    shared = Response('shared')
    settings = {'ot.trace_all': True, 'ot.response_headers': True,
                'ot.excluded_paths': '^/excluded$', 'ot.captured_response_headers': '.*'}
    if bridge:
        settings.update({'ot.base_tracer_func': 'pyramid_opentracing.otel.tracer_from_settings',
                         'ot.otel.exporter': 'memory'})
        context_header = 'traceresponse'
    else:
        tracer = settings['ot.base_tracer'] = MockTracer()
        context_header = 'ot-tracer-spanid'
    config = Configurator(settings=settings)
    config.include('pyramid_opentracing')
    for name in ('traced', 'excluded'):
        config.add_route(name, '/' + name)
        config.add_view(lambda request: shared, route_name=name)
    app = webtest.TestApp(config.make_wsgi_app())
    try:
        first = app.get('/traced').headers[context_header]
        excluded = app.get('/excluded').headers
        assert context_header not in excluded
        assert 'Access-Control-Expose-Headers' not in excluded  # nor the name of it
        second = app.get('/traced').headers[context_header]
        assert first != second
        # each span records the header its own client got, never the previous one's
        key = 'http.response.header.' + context_header.replace('-', '_')
        if bridge:
            spans = app.app.registry.settings['ot.tracer'].tracer.exporter.get_finished_spans()
            recorded = [span.attributes[key] for span in spans]
            assert recorded == [(first,), (second,)]
        else:
            recorded = [span.tags[key] for span in tracer.finished_spans()]
            assert recorded == [first, second]
    finally:
        if bridge:
            app.app.registry.settings['ot.tracer'].tracer.shutdown()


def test_jaegers_own_baggage_prefix_stays_out_of_the_response(clean_env):
    """jaeger-client configured with its own baggage header prefix: the
    response carries its context header and none of the span's baggage."""
    tracer = JaegerTracer('svc', InMemoryReporter(), ConstSampler(True),
                          baggage_header_prefix='Ctx-')
    app = webtest.TestApp(apps.make_app({
        'ot.trace_all': True, 'ot.base_tracer': tracer, 'ot.response_headers': True,
        'ot.start_span_cb': lambda span, request: span.set_baggage_item('session', 'se cret')}))
    response = app.get('/plain')
    names = [name.lower() for name in response.headers]
    assert 'uber-trace-id' in names
    assert not [name for name in names if name.startswith('ctx-')]
    assert 'ctx-' not in response.headers['Access-Control-Expose-Headers'].lower()


def test_exposed_headers_on_several_lines_are_all_kept(clean_env):
    config = Configurator(settings={'ot.trace_all': True, 'ot.base_tracer': MockTracer(),
                                    'ot.response_headers': True})
    config.include('pyramid_opentracing')
    config.add_route('two', '/two')
    config.add_view(lambda request: Response(headerlist=[
        ('Content-Type', 'text/plain'), ('Access-Control-Expose-Headers', 'X-A'),
        ('Access-Control-Expose-Headers', 'X-B')]), route_name='two')
    response = webtest.TestApp(config.make_wsgi_app()).get('/two')
    assert response.headers.getall('Access-Control-Expose-Headers') == [
        'X-A, X-B, ot-tracer-traceid, ot-tracer-spanid']


def test_no_header_for_a_span_without_context(clean_env):
    """opentracing's no-op tracer has no span context to write; nor an
    unsampled OpenTelemetry span without a valid context."""
    from opentelemetry.trace import INVALID_SPAN_CONTEXT
    from pyramid_opentracing.headers import traceresponse
    assert traceresponse(INVALID_SPAN_CONTEXT) is None
    tracer = opentracing.Tracer()
    app = webtest.TestApp(apps.make_app({'ot.trace_all': True, 'ot.base_tracer': tracer,
                                         'ot.response_headers': True,
                                         'ot.start_span_cb': lambda span, request: None}))
    assert 'Access-Control-Expose-Headers' not in app.get('/plain').headers


def test_no_header_for_an_excluded_request_nor_when_off(mock_app):
    app, tracer = mock_app(**{'ot.response_headers': True, 'ot.excluded_paths': '^/plain$'})
    assert 'ot-tracer-spanid' not in app.get('/plain').headers
    assert 'ot-tracer-spanid' in app.get('/created').headers
    app, tracer = mock_app()
    assert 'ot-tracer-spanid' not in app.get('/created').headers


class Unwritable(MockTracer):
    def inject(self, span_context, format, carrier):
        raise opentracing.UnsupportedFormatException(format)


def test_a_shared_response_loses_the_earlier_context_when_the_tracer_cannot_inject(clean_env):
    tracer = MockTracer()
    shared = Response('shared')
    config = Configurator(settings={'ot.trace_all': True, 'ot.base_tracer': tracer,
                                    'ot.response_headers': True})
    config.include('pyramid_opentracing')
    config.add_route('shared', '/shared')
    config.add_view(lambda request: shared, route_name='shared')
    app = webtest.TestApp(config.make_wsgi_app())
    assert 'ot-tracer-spanid' in app.get('/shared').headers
    tracer.inject = Unwritable().inject
    assert 'ot-tracer-spanid' not in app.get('/shared').headers


def test_a_tracer_that_cannot_inject_leaves_the_response_alone(clean_env, failures):
    tracer = Unwritable()
    app = webtest.TestApp(apps.make_app({'ot.trace_all': True, 'ot.base_tracer': tracer,
                                         'ot.response_headers': True}))
    response = app.get('/plain')
    assert response.text == 'plain' and 'Access-Control-Expose-Headers' not in response.headers
    assert len(tracer.finished_spans()) == 1
    assert 'writing the span context into the response failed' in failures()[0].getMessage()


# -- with @trace ---------------------------------------------------------------------

@pyramid_opentracing.trace()
def rendered(request):
    return {'rendered': True}


def test_trace_captures_headers_and_writes_the_context_into_the_rendered_response(clean_env):
    tracer = MockTracer()
    config = Configurator(settings={'ot.base_tracer': tracer, 'ot.response_headers': True,
                                    'ot.captured_request_headers': 'custom-one',
                                    'ot.captured_response_headers': 'x-view'})
    config.include('pyramid_opentracing')
    config.add_route('rendered', '/rendered')
    config.add_view(rendered, route_name='rendered', renderer='json')
    config.add_subscriber(lambda event: event.request.response.headers.update({'X-View': 'v'}),
                          'pyramid.events.NewRequest')
    response = webtest.TestApp(config.make_wsgi_app()).get('/rendered', headers=REQUEST_HEADERS)
    span = server_span(tracer)
    assert response.json == {'rendered': True}
    assert response.headers['ot-tracer-spanid'] == '%x' % span.context.span_id
    assert header_tags(span) == {'custom_one': '1'}
    assert header_tags(span, 'http.response.header.') == {'x_view': 'v'}



@pytest.mark.parametrize('kind, recorded', [('SERVER', True), ('INTERNAL', False)])
def test_headers_are_recorded_on_a_server_span_only(kind, recorded):
    """When a SERVER span is current already, the bridge's span is INTERNAL:
    the headers belong to that other span, as OpenTelemetry records them."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import SpanKind
    from pyramid_opentracing.otel import BridgeTracer
    from pyramid_opentracing.otel.shim import bridge_span
    from pyramid_opentracing import PyramidTracer

    tracer = BridgeTracer(TracerProvider())
    strategy = PyramidTracer(tracer).server_span_strategy()
    otel_span = tracer.unwrap().start_span('span', kind=getattr(SpanKind, kind))
    strategy.record_headers(bridge_span(tracer, otel_span), {'http.request.header.x': 'y'})
    otel_span.end()
    assert ('http.request.header.x' in otel_span.attributes) is recorded
