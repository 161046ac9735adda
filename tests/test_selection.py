"""Which requests are traced: ot.excluded_paths, ot.excluded_routes,
OpenTelemetry's excluded-URL variables and ot.should_trace."""
import logging
import re
import time

import pytest
import webtest
from opentracing.mocktracer import MockTracer
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError, URLDecodeError
from pyramid.request import Request
from pyramid.response import Response

import pyramid_opentracing
from pyramid_opentracing import PyramidTracer
from pyramid_opentracing import outgoing, selection

from . import apps
from .conftest import OTEL_HTTP_VARIABLES
from .test_otel_bridge import bridge_app, no_otel_env  # noqa: F401 (fixtures)

EXCLUDED_URL_VARIABLES = OTEL_HTTP_VARIABLES[:2]


class CountingTracer(MockTracer):
    """A MockTracer that counts every call made to it."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def extract(self, format, carrier):
        self.calls += 1
        return super().extract(format, carrier)

    def start_active_span(self, *args, **kwargs):
        self.calls += 1
        return super().start_active_span(*args, **kwargs)

    def start_span(self, *args, **kwargs):
        self.calls += 1
        return super().start_span(*args, **kwargs)


@pytest.fixture
def counting(traced_app):
    """make(**settings): (WebTest app of tests.apps, CountingTracer)."""
    return lambda **settings: traced_app(CountingTracer(), **settings)


def span_names(tracer):
    return [span.operation_name for span in tracer.finished_spans()]


def test_an_excluded_path_makes_no_span_and_no_tracer_call(counting):
    app, tracer = counting(**{'ot.excluded_paths': '^/plain$\n^/health'})
    assert app.get('/plain').text == 'plain'
    assert tracer.calls == 0 and tracer.finished_spans() == []
    app.get('/plain/x', status=404)  # anchored: only the whole path
    app.get('/hello/bob')
    assert span_names(tracer) == ['GET', 'hello']


def test_excluded_paths_are_found_anywhere_in_the_path_unless_anchored(counting):
    app, tracer = counting(**{'ot.excluded_paths': 'lai, ^/create'})  # commas on one line
    app.get('/plain')
    app.get('/created')
    app.get('/child')
    assert span_names(tracer) == ['child', 'child']


@pytest.mark.parametrize('patterns', [
    ['^/health$', '^/static/'],
    ['^/health$', 'lai'],
    ['^/a|/b'],  # ^ anchors only its first branch
    ['(?m)^/x', '^/b'],  # a global flag: ^ after every line break
    ['^/a(?:b|c)'],  # a branch in a group
    ['(?i)^/HEALTH', '(?i)(?m)^/X$', '^/b'],  # global flags, kept to their pattern
    ['(?x) ^/a  # a comment', '^/b'],  # verbose, a comment to the end
    ['(?P<id>^/health)', '(?P<id>^/b)'],  # the same group name twice
    ['^/(x)b', r'^/(a)\1', 'lai'],  # a back-reference, counted in its own pattern
    ['(?#a comment)(?i)^/HEALTH', '(?x) (?i)^/B'],  # global flags after a comment or blank
])
def test_patterns_joined_are_found_as_each_alone_would_be(patterns):
    texts = ['/health', '/health/', '/health\n', '/x/health', '/static/a.css', '/a/static/',
             '/plain', '/child', '/a', '/ab', '/x/b', '/b', '/x', 'y\n/x', '/ac', '', '/',
             '/B', '/A', '/aa', '/xb']
    search = selection.matcher(patterns)
    for text in texts:
        assert bool(search(text)) == any(re.search(p, text) for p in patterns), text


def test_a_pattern_with_global_flags_is_one_of_several(counting):
    app, tracer = counting(**{'ot.excluded_paths': '(?i)^/PLAIN$\n^/health'})
    app.get('/plain')
    app.get('/child')
    assert span_names(tracer) == ['child', 'child']


@pytest.mark.parametrize('value, culprit', [
    ('^/health | ^/ready', "'|'"),  # a pattern split at its blanks
    ('(?x) ^/health  # checks', "'(?x)'"),
    (['.*'], "'.*'"),
    ('^/ health', "'^/'"),  # a stray blank
    (['.'], "'.'"),
])
def test_a_pattern_found_in_every_path_fails_at_start_up(clean_env, value, culprit):
    with pytest.raises(ConfigurationError) as failure:
        apps.make_app({'ot.trace_all': True, 'ot.base_tracer': MockTracer(),
                       'ot.excluded_paths': value})
    message = str(failure.value)
    assert ('ot.excluded_paths = %r' % (value,)) in message and culprit in message


@pytest.mark.parametrize('pattern', ['^(?!/api)', '^/?$', '^$', r'\A/health\Z'])
def test_a_pattern_found_in_some_paths_only_is_accepted(counting, pattern):
    app, tracer = counting(**{'ot.excluded_paths': [pattern]})
    app.get('/plain')
    assert span_names(tracer) == ([] if re.search(pattern, '/plain') else ['plain'])


def test_a_variable_pattern_found_in_every_url_fails_at_start_up(clean_env, monkeypatch):
    monkeypatch.setenv('OTEL_PYTHON_EXCLUDED_URLS', 'health | ready')
    with pytest.raises(ConfigurationError) as failure:
        apps.make_app({'ot.trace_all': True, 'ot.base_tracer': MockTracer()})
    assert "OTEL_PYTHON_EXCLUDED_URLS = 'health | ready': '|'" in str(failure.value)


def test_a_repetition_too_large_fails_at_start_up_naming_the_setting(clean_env):
    with pytest.raises(ConfigurationError, match=r"ot.excluded_paths = \['\^/a\{4294967296\}'\]"):
        apps.make_app({'ot.trace_all': True, 'ot.base_tracer': MockTracer(),
                       'ot.excluded_paths': ['^/a{4294967296}']})


def test_excluded_paths_match_the_path_as_routes_do(counting):
    app, tracer = counting(**{'ot.excluded_paths': ['^/café$']})
    app.get('/caf%C3%A9', status=404)
    app.get('/caf%C3%A8', status=404)
    assert len(tracer.finished_spans()) == 1  # /cafè


def test_a_path_that_is_not_utf8_is_served_as_untraced_with_excluded_urls(clean_env, monkeypatch):
    monkeypatch.setenv('OTEL_PYTHON_EXCLUDED_URLS', 'health')
    tracer = MockTracer()
    config = Configurator(settings={'ot.trace_all': True, 'ot.base_tracer': tracer})
    config.include('pyramid_opentracing')
    config.add_view(lambda exc, request: Response('bad path', status=400), context=URLDecodeError)
    webtest.TestApp(config.make_wsgi_app()).get('/%E9', status=400)
    assert len(tracer.finished_spans()) == 1


def test_excluded_paths_may_be_a_list(counting):
    app, tracer = counting(**{'ot.excluded_paths': [r'^/hello/\w+$']})
    app.get('/hello/bob')
    assert tracer.calls == 0
    app.get('/plain')
    assert span_names(tracer) == ['plain']


def test_a_bad_pattern_fails_at_start_up_naming_the_setting(clean_env):
    with pytest.raises(ConfigurationError) as raised:
        apps.make_app({'ot.trace_all': True, 'ot.base_tracer': MockTracer(),
                       'ot.excluded_paths': '^/ok$\n^/bad(['})
    assert "ot.excluded_paths = '^/ok$\\n^/bad(['" in str(raised.value)
    assert "'^/bad([' is not a regular expression" in str(raised.value)


@pytest.mark.parametrize('variable', EXCLUDED_URL_VARIABLES)
def test_opentelemetrys_variables_match_the_servers_own_url(counting, clean_env, variable):
    clean_env.setenv(variable, 'http://localhost/plain,created')
    app, tracer = counting()
    app.get('/plain')
    app.get('/created')
    # the URL is the server's own: the client's Host does not change it
    app.get('/plain', extra_environ={'HTTP_HOST': 'example.com'})
    app.get('/plain', extra_environ={'SERVER_NAME': 'example.com'})
    assert span_names(tracer) == ['plain']


@pytest.mark.parametrize('variable', EXCLUDED_URL_VARIABLES)
def test_a_client_cannot_choose_to_be_untraced(counting, clean_env, variable):
    """Neither the query string nor the Host header is part of the URL
    the variables' patterns are matched against."""
    clean_env.setenv(variable, 'healthcheck')
    app, tracer = counting()
    app.get('/plain?x=healthcheck')
    app.get('/plain', headers={'Host': 'healthcheck'})
    app.get('/plain', headers={'Host': 'localhost:80/healthcheck'})
    app.get('/healthcheck', status=404)  # the path is the operator's
    assert span_names(tracer) == ['plain', 'plain', 'plain']


def test_the_servers_url_names_its_port_unless_it_is_the_default():
    environ = {'wsgi.url_scheme': 'https', 'SERVER_NAME': 'api.example', 'SERVER_PORT': '443',
               'PATH_INFO': '/a b', 'QUERY_STRING': 'x=1', 'HTTP_HOST': 'evil'}
    assert selection.server_url(environ) == 'https://api.example/a%20b'
    environ.update(SERVER_PORT='8443', SERVER_NAME='::1', SCRIPT_NAME='/app')
    assert selection.server_url(environ) == 'https://[::1]:8443/app/a%20b'


#: A pattern from OpenTelemetry's documentation, and a path on which
#: ``re.search`` takes seconds with it.
SLOW_PATTERN = 'client/.*/info'
SLOW_PATH = '/' + 'client/' * 30000


@pytest.mark.parametrize('setting', ['ot.excluded_paths', 'OTEL_PYTHON_EXCLUDED_URLS'])
def test_a_long_path_is_decided_quickly_and_traced(counting, clean_env, setting):
    if setting.startswith('OTEL'):
        clean_env.setenv(setting, SLOW_PATTERN)
        app, tracer = counting()
    else:
        app, tracer = counting(**{setting: SLOW_PATTERN})
    assert len(SLOW_PATH) > 200000
    started = time.perf_counter()
    app.get(SLOW_PATH, status=404)
    assert time.perf_counter() - started < 1.0  # unbounded: seconds
    assert span_names(tracer) == ['GET']  # traced: a long path hides nothing
    app.get('/client/x/info', status=404)
    assert span_names(tracer) == ['GET']


@pytest.mark.parametrize('setting', ['ot.excluded_paths', 'OTEL_PYTHON_EXCLUDED_URLS'])
def test_a_path_info_given_as_bytes_never_breaks_the_request(clean_env, failures, setting):
    def app_of(settings):
        config = Configurator(settings=settings)
        config.add_route('plain', '/plain')
        config.add_view(lambda request: Response('ok'), route_name='plain')
        return config.make_wsgi_app()

    def get(app):
        request = Request.blank('/')
        request.environ['PATH_INFO'] = b'/plain'  # a server breaking WSGI's native strings
        return request.get_response(app)

    try:
        untraced = get(app_of({}))
    except AttributeError as exc:  # Pyramid 1.10 cannot serve it, traced or not
        pytest.skip('this Pyramid cannot serve a PATH_INFO given as bytes (%s)' % exc)
    assert (untraced.status_int, untraced.text) == (200, 'ok')
    settings = {'ot.trace_all': True, 'ot.base_tracer': MockTracer()}
    if setting.startswith('OTEL'):
        clean_env.setenv(setting, 'health')
    else:
        settings[setting] = '^/health'
    config = Configurator(settings=settings)
    config.include('pyramid_opentracing')
    config.add_route('plain', '/plain')
    config.add_view(lambda request: Response('ok'), route_name='plain')
    traced = get(config.make_wsgi_app())
    assert (traced.status_int, traced.text) == (200, 'ok')
    assert any('choosing whether the request is traced' in r.getMessage() for r in failures())


def test_the_pyramid_variable_wins_over_the_generic_one(counting, clean_env):
    clean_env.setenv('OTEL_PYTHON_PYRAMID_EXCLUDED_URLS', 'plain')
    clean_env.setenv('OTEL_PYTHON_EXCLUDED_URLS', 'created')
    app, tracer = counting()
    app.get('/plain')
    app.get('/created')
    assert span_names(tracer) == ['created']


def test_the_setting_wins_over_the_variables(counting, clean_env):
    clean_env.setenv('OTEL_PYTHON_EXCLUDED_URLS', 'plain')
    app, tracer = counting(**{'ot.excluded_paths': '^/created$'})
    app.get('/plain')
    app.get('/created')
    assert span_names(tracer) == ['plain']


def test_a_bad_pattern_in_a_variable_names_the_variable(clean_env):
    clean_env.setenv('OTEL_PYTHON_EXCLUDED_URLS', 'ok,(')
    with pytest.raises(ConfigurationError, match=r"OTEL_PYTHON_EXCLUDED_URLS = 'ok,\('"):
        apps.make_app({'ot.trace_all': True, 'ot.base_tracer': MockTracer()})


# -- routes ---------------------------------------------------------------------

def thing(request):
    return Response(request.method)


def routed_app(tracer, **settings):
    """Two routes on one pattern, told apart by a predicate, and a catch-all."""
    config = Configurator(settings=dict(
        {'ot.trace_all': True, 'ot.base_tracer': tracer}, **settings))
    config.include('pyramid_opentracing')
    config.add_route('read', '/thing', request_method='GET')
    config.add_route('write', '/thing', request_method='POST')
    config.add_route('any', '/{anything}')
    for name in ('read', 'write', 'any'):
        config.add_view(thing, route_name=name)
    return webtest.TestApp(config.make_wsgi_app())


def test_an_excluded_route_is_found_as_pyramid_routes_predicates_included(clean_env):
    tracer = CountingTracer()
    app = routed_app(tracer, **{'ot.excluded_routes': 'read'})
    app.get('/thing')
    assert tracer.calls == 0
    app.post('/thing')
    app.get('/other')
    assert span_names(tracer) == ['write', 'any']


def test_one_pyramid_tracer_excludes_routes_by_each_applications_own_table(clean_env):
    shared = PyramidTracer(MockTracer())

    def config_with_health_at(path):
        config = Configurator(settings={'ot.trace_all': True, 'ot.tracer': shared,
                                        'ot.excluded_routes': 'health'})
        config.include('pyramid_opentracing')
        config.add_route('health', path)
        config.add_route('any', '/{anything}')
        for name in ('health', 'any'):
            config.add_view(thing, route_name=name)
        config.commit()
        return config
    configs = config_with_health_at('/healthz'), config_with_health_at('/ping')
    first, second = (webtest.TestApp(config.make_wsgi_app()) for config in configs)
    for app in (first, second, first):
        app.get('/healthz')
        app.get('/ping')
    assert span_names(shared.tracer) == ['any', 'any', 'any']  # /ping, /healthz, /ping


def test_a_route_after_the_excluded_ones_is_traced(clean_env):
    tracer = MockTracer()
    app = routed_app(tracer, **{'ot.excluded_routes': 'read, write'})
    app.get('/thing')
    app.post('/thing')
    app.put('/thing')  # no predicate matches: the catch-all route serves it
    app.get('/', status=404)
    assert span_names(tracer) == ['any', 'GET']


@pytest.mark.parametrize('value', [['two words'], [42]])
def test_a_route_name_must_be_a_name(clean_env, value):
    with pytest.raises(ConfigurationError, match='is not a route name'):
        routed_app(MockTracer(), **{'ot.excluded_routes': value})


def test_an_unknown_route_fails_at_start_up_once_every_route_is_added(clean_env):
    with pytest.raises(ConfigurationError) as raised:
        routed_app(MockTracer(), **{'ot.excluded_routes': 'read\nwrtie'})
    assert "ot.excluded_routes = 'read wrtie': no route is named wrtie" in str(raised.value)


def test_a_failing_route_predicate_is_reported_and_the_request_traced(clean_env, failures):
    calls = []

    def fussy(info, request):
        calls.append(request.path)
        if len(calls) == 1:
            raise RuntimeError('fussy predicate')
        return True

    tracer = MockTracer()
    config = Configurator(settings={'ot.trace_all': True, 'ot.base_tracer': tracer,
                                    'ot.excluded_routes': 'fussy'})
    config.include('pyramid_opentracing')
    config.add_route('fussy', '/fussy', custom_predicates=[fussy])
    config.add_view(thing, route_name='fussy')
    app = webtest.TestApp(config.make_wsgi_app())
    app.get('/fussy')
    assert span_names(tracer) == ['fussy']
    assert 'matching ot.excluded_routes failed (RuntimeError: fussy predicate)' in (
        failures()[0].getMessage())


# -- ot.should_trace --------------------------------------------------------------

def not_plain(request):
    return request.path != '/plain'


def test_should_trace_decides_for_anything_else(counting):
    app, tracer = counting(**{'ot.should_trace': 'tests.test_selection.not_plain'})
    app.get('/plain')
    assert tracer.calls == 0
    app.get('/created')
    assert span_names(tracer) == ['created']


def test_should_trace_may_be_a_callable(counting):
    app, tracer = counting(**{'ot.should_trace': lambda request: 'trace' in request.GET})
    app.get('/plain')
    app.get('/plain?trace=1')
    assert span_names(tracer) == ['plain']


def test_a_failing_should_trace_is_logged_once_and_the_request_traced(counting, failures):
    def broken(request):
        raise KeyError('broken')

    app, tracer = counting(**{'ot.should_trace': broken})
    app.get('/plain')
    app.get('/plain')
    assert span_names(tracer) == ['plain', 'plain']
    logged = failures()
    assert len(logged) == 1 and logged[0].levelno == logging.ERROR
    assert 'the ot.should_trace callback failed' in logged[0].getMessage()


class NoTruth:
    """An answer with no truth value, as a numpy array of several items."""

    def __bool__(self):
        raise ValueError('the truth value is ambiguous')


def test_a_should_trace_answer_without_a_truth_value_is_logged_and_the_request_traced(
        counting, failures):
    app, tracer = counting(**{'ot.should_trace': lambda request: NoTruth()})
    app.get('/plain')
    assert span_names(tracer) == ['plain']
    assert 'the ot.should_trace callback failed' in failures()[0].getMessage()


def test_should_trace_must_be_callable(clean_env):
    with pytest.raises(ConfigurationError, match="ot.should_trace = 42: is not callable"):
        apps.make_app({'ot.trace_all': True, 'ot.should_trace': 42})


def test_the_new_settings_are_known(counting, caplog):
    counting(**{'ot.excluded_paths': 'x', 'ot.should_trace': not_plain,
                'ot.excluded_routes': 'plain', 'ot.captured_request_headers': 'x',
                'ot.captured_response_headers': 'x', 'ot.response_headers': 'true'})
    assert 'unknown setting' not in caplog.text


# -- with the OpenTelemetry bridge and with @trace ------------------------------------

def test_the_bridge_exports_no_span_for_an_excluded_request(bridge_app, clean_env):
    app, tracer = bridge_app(**{'ot.excluded_paths': '^/plain$', 'ot.excluded_routes': 'created'})
    app.get('/plain')
    app.get('/created')
    assert tracer.exporter.get_finished_spans() == ()
    app.get('/child')
    assert sorted(span.name for span in tracer.exporter.get_finished_spans()) == [
        'GET /child', 'child']


@pyramid_opentracing.trace()
def decorated(request):
    return Response('decorated')


def decorated_app(tracer, **settings):
    config = Configurator(settings=dict({'ot.base_tracer': tracer}, **settings))
    config.include('pyramid_opentracing')
    for name in ('kept', 'dropped', 'asked'):
        config.add_route(name, '/' + name)
        config.add_view(decorated, route_name=name)
    return webtest.TestApp(config.make_wsgi_app())


def test_trace_honours_exclusion_without_the_tween(clean_env):
    tracer = MockTracer()
    app = decorated_app(tracer, **{'ot.excluded_paths': '^/dropped$',
                                   'ot.excluded_routes': 'asked'})
    app.get('/dropped')
    app.get('/asked')
    app.get('/kept')
    assert span_names(tracer) == ['kept']


def test_trace_under_the_tween_does_not_ask_should_trace_again(clean_env):
    asked = []
    tracer = MockTracer()

    def should_trace(request):
        asked.append(request.path)
        return False

    app = decorated_app(tracer, **{'ot.trace_all': True, 'ot.should_trace': should_trace})
    app.get('/kept')
    assert span_names(tracer) == [] and asked == ['/kept']


def calls_out(request):
    """A view calling a service the way application code does: one span and
    its headers (any client), and the headers alone."""
    with outgoing.client_span('GET', 'http://127.0.0.1:9/stock', request) as call:
        call.set_status(200)
    return {'sent': call.headers, 'headers': outgoing.outgoing_headers(request)}


@pytest.mark.parametrize('excluded, spans', [(True, []), (False, ['GET', 'health'])])
def test_calls_out_of_an_excluded_request_are_not_traced_either(clean_env, excluded, spans):
    tracer = CountingTracer()
    config = apps.make_config({'ot.trace_all': True, 'ot.base_tracer': tracer,
                               'ot.excluded_paths': '^/health$' if excluded else '^/none$'})
    config.add_route('health', '/health')
    config.add_view(calls_out, route_name='health', renderer='json')
    sent = webtest.TestApp(config.make_wsgi_app()).get('/health').json
    assert sorted(span.operation_name for span in tracer.finished_spans()) == spans
    # an excluded request's calls carry no trace context: no orphan traces downstream
    assert bool(sent['sent']) is bool(sent['headers']) is not excluded
