"""The trace handed back to the browser: ``traceparent_meta`` in Chameleon,
Jinja2 and Mako pages, ``ot.server_timing``, and the browser's own
OpenTelemetry SDK making its ``documentLoad`` span a child of our server span.

The end-to-end test bundles OpenTelemetry's web SDK from the npm registry at
test time (tests/browser_sdk.py), serves a page on waitress with the OTel
bridge exporting to a loopback OTLP receiver, loads the page in headless
Chromium (whose exporter posts to the same receiver), and reads both spans
back there.
"""
import os
import re
import time

import pytest
import webtest
from opentracing.mocktracer import MockTracer
from pyramid.config import Configurator
from pyramid.response import FileResponse, Response

from examples.serving import serving

from . import browser_sdk
from .otlp_receiver import OTLPReceiver
from .test_toolbar_browser import browser  # noqa: F401  (the headless Chromium fixture)

TRACEPARENT = re.compile(r'<meta name="traceparent" content="00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})">')
TEMPLATES = {'jinja2': 'pyramid_jinja2', 'pt': 'pyramid_chameleon', 'mako': 'pyramid_mako'}


def page_app(settings, extension='jinja2', **view_values):
    settings = dict({'ot.trace_all': 'true', 'ot.traceparent_meta': 'true'}, **settings)
    if extension == 'mako':
        settings['mako.directories'] = 'tests:browser'
    config = Configurator(settings=settings)
    config.include(TEMPLATES[extension])
    config.include('pyramid_opentracing')
    config.add_route('page', '/page')
    renderer = 'page.mako' if extension == 'mako' else 'tests:browser/page.' + extension
    config.add_view(lambda request: dict(view_values), route_name='page', renderer=renderer)
    return config


@pytest.mark.parametrize('extension', sorted(TEMPLATES))
def test_each_template_language_writes_the_server_spans_traceparent(extension):
    tracer = MockTracer()
    app = webtest.TestApp(page_app({'ot.base_tracer': tracer}, extension,
                                   otlp_endpoint='x').make_wsgi_app())
    html = app.get('/page').text
    [span] = tracer.finished_spans()
    trace_id, span_id, flags = TRACEPARENT.search(html).groups()
    assert (int(trace_id, 16), int(span_id, 16), flags) == (
        span.context.trace_id, span.context.span_id, '01')
    assert '&lt;meta' not in html  # markup, not escaped text


@pytest.mark.parametrize('extension', sorted(TEMPLATES))
def test_an_untraced_request_writes_no_element(extension):
    app = webtest.TestApp(page_app({'ot.base_tracer': MockTracer(), 'ot.excluded_paths': '^/page$'},
                                   extension, otlp_endpoint='x').make_wsgi_app())
    assert 'traceparent' not in app.get('/page').text


def bridge_settings(**more):
    return dict({'ot.base_tracer_func': 'pyramid_opentracing.otel.tracer_from_settings',
                 'ot.otel.exporter': 'memory', 'ot.otel.metrics': 'false'}, **more)


@pytest.mark.parametrize('ratio, sampled', [('1', 1), ('0', 0)])
def test_the_bridges_element_carries_the_real_sampled_flag(ratio, sampled):
    config = page_app(bridge_settings(**{'ot.otel.sampler_ratio': ratio}), otlp_endpoint='x')
    app = config.make_wsgi_app()
    html = webtest.TestApp(app).get('/page').text
    tracer = app.registry.settings['ot.tracer'].tracer
    trace_id, span_id, flags = TRACEPARENT.search(html).groups()
    assert int(flags, 16) & 1 == sampled  # the W3C sampled bit, beside the SDK's random bit
    if ratio == '1':
        [span] = tracer.exporter.get_finished_spans()
        assert (trace_id, span_id) == ('%032x' % span.context.trace_id, '%016x' % span.context.span_id)


def test_the_browsers_document_load_span_is_a_child_of_the_server_span(browser):  # noqa: F811
    missing = browser_sdk.missing()
    if missing:
        if os.environ.get('CI') == 'true':
            pytest.fail('CI must run the browser tests, but ' + missing)
        pytest.skip(missing)
    script = browser_sdk.bundle()
    with OTLPReceiver() as receiver:
        config = page_app(bridge_settings(**{
            'ot.otel.exporter': 'otlp', 'ot.otel.endpoint': receiver.endpoint,
            'ot.otel.service_name': 'shop'}), otlp_endpoint=receiver.endpoint)
        config.add_route('script', '/document_load.js')
        config.add_view(lambda request: FileResponse(str(script), request=request,
                                                     content_type='text/javascript'),
                        route_name='script')
        app = config.make_wsgi_app()
        with serving(app) as base_url:
            browser.get(base_url + '/page')
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not [
                    s for s in receiver.spans if s['name'] == 'documentLoad']:
                time.sleep(0.1)
        app.registry.settings['ot.tracer'].tracer.force_flush()
        [page] = [s for s in receiver.spans if s['service'] == 'shop' and s['name'] == 'GET /page']
        [loaded] = [s for s in receiver.spans if s['name'] == 'documentLoad']
        assert loaded['service'] == 'browser'
        assert (loaded['trace_id'], loaded['parent_span_id']) == (page['trace_id'], page['span_id'])
        fetched = [s for s in receiver.spans if s['name'] == 'documentFetch']
        assert fetched and fetched[0]['parent_span_id'] == loaded['span_id']


SERVER_TIMING = re.compile(r'traceparent;desc="00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})"$')
SHARED = Response('the same response object for every request')


def timing_app(settings):
    def own_metrics(request):
        response = Response('ok')
        response.headers['Server-Timing'] = 'db;dur=53, cache;desc="hit"'
        return response

    config = Configurator(settings=dict({'ot.trace_all': 'true', 'ot.server_timing': 'true',
                                         'ot.excluded_paths': '^/excluded'}, **settings))
    config.include('pyramid_opentracing')
    for name, view in (('own', own_metrics), ('shared', lambda request: SHARED),
                       ('excluded', lambda request: SHARED)):
        config.add_route(name, '/' + name)
        config.add_view(view, route_name=name)
    return webtest.TestApp(config.make_wsgi_app())


def test_server_timing_carries_the_server_spans_context_after_the_apps_own_metrics():
    tracer = MockTracer()
    app = timing_app({'ot.base_tracer': tracer})
    timing = app.get('/own').headers['Server-Timing']
    [span] = tracer.finished_spans()
    own, _, ours = timing.rpartition(', ')
    assert own == 'db;dur=53, cache;desc="hit"'
    trace_id, span_id, flags = SERVER_TIMING.match(ours).groups()
    assert (int(trace_id, 16), int(span_id, 16), flags) == (
        span.context.trace_id, span.context.span_id, '01')


def test_server_timing_of_the_bridge_is_its_traceparent():
    app = timing_app(bridge_settings())
    response = app.get('/own')
    tracer = app.app.registry.settings['ot.tracer'].tracer
    [span] = tracer.exporter.get_finished_spans()
    trace_id, span_id, flags = SERVER_TIMING.match(
        response.headers['Server-Timing'].rpartition(', ')[2]).groups()
    assert (trace_id, span_id) == ('%032x' % span.context.trace_id, '%016x' % span.context.span_id)
    assert int(flags, 16) & 1


def test_a_shared_response_carries_only_its_own_requests_timing():
    tracer = MockTracer()
    app = timing_app({'ot.base_tracer': tracer})
    first = app.get('/shared').headers['Server-Timing']
    second = app.get('/shared').headers['Server-Timing']
    assert first != second and second.count('traceparent') == 1
    assert SERVER_TIMING.match(second).group(2) == '%016x' % tracer.finished_spans()[1].context.span_id
    assert 'Server-Timing' not in app.get('/excluded').headers  # untraced: no earlier trace either


def test_without_the_setting_no_template_global_and_no_event_subscriber():
    """With ``ot.traceparent_meta`` off the package registers no event
    subscriber: Pyramid then makes no event objects for a request at all."""
    config = page_app({'ot.base_tracer': MockTracer(), 'ot.traceparent_meta': 'false'},
                      otlp_endpoint='x')
    app = config.make_wsgi_app()
    assert not list(app.registry.registeredHandlers())
    assert 'traceparent' not in webtest.TestApp(app).get('/page').text
