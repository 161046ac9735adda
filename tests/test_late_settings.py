"""Settings reach every request, whatever was touched before config.commit()."""
import opentracing
import webtest
from opentracing.mocktracer import MockTracer
from pyramid.testing import DummyRequest

from pyramid_opentracing import PyramidTracer

from . import apps
from .conftest import server_span


def touch(pyramid_tracer):
    """What application code may do with a PyramidTracer at start-up."""
    assert pyramid_tracer.tracer is not None
    pyramid_tracer.server_span_strategy()
    assert pyramid_tracer.get_span(DummyRequest()) is None


def test_settings_apply_after_the_tracer_was_touched_before_commit():
    tracer = MockTracer()
    pyramid_tracer = PyramidTracer(tracer)
    seen = []
    config = apps.make_config({
        'ot.trace_all': True, 'ot.tracer': pyramid_tracer, 'ot.trace_query_string': True,
        'ot.start_span_cb': lambda span, request: seen.append(request.path)})
    touch(pyramid_tracer)
    app = webtest.TestApp(config.make_wsgi_app())
    app.get('/plain?q=1')
    assert server_span(tracer).tags['http.url'] == 'http://localhost/plain?q=1'
    assert seen == ['/plain']


def test_a_start_span_cb_applies_to_a_noop_tracer_touched_before_commit():
    pyramid_tracer = PyramidTracer(opentracing.Tracer())
    seen = []
    config = apps.make_config({
        'ot.trace_all': True, 'ot.tracer': pyramid_tracer,
        'ot.start_span_cb': lambda span, request: seen.append(request.path)})
    touch(pyramid_tracer)
    webtest.TestApp(config.make_wsgi_app()).get('/plain')
    assert seen == ['/plain']



def test_settings_another_include_adds_in_its_own_action_apply():
    """The settings are read after the actions of every include (order 0),
    as an add-on writing its defaults in a deferred action expects."""
    tracer = MockTracer()

    def add_on(config):
        config.action('add-on.settings', lambda: config.registry.settings.update(
            {'ot.trace_query_string': 'true', 'ot.excluded_routes': 'hello'}))

    config = apps.make_config({'ot.trace_all': True, 'ot.base_tracer': tracer}, include=False)
    config.include('pyramid_opentracing')  # before the add-on, whose action runs later
    config.include(add_on)
    app = webtest.TestApp(config.make_wsgi_app())
    app.get('/hello/bob')
    app.get('/plain?q=1')
    assert server_span(tracer).tags['http.url'] == 'http://localhost/plain?q=1'
