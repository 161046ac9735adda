"""The tween registered without ``config.include('pyramid_opentracing')``,
as 1.0 allowed: ``pyramid.tweens`` in an INI file, or ``config.add_tween``.

The tween factory then parses the ``ot.*`` settings itself, with the same
parser as the include, the same errors, and only once per registry.
"""
import pytest
import webtest
from opentracing.mocktracer import MockTracer
from pyramid.exceptions import ConfigurationError
from pyramid.paster import get_app

from pyramid_opentracing import PyramidTracer

from . import apps

TWEEN = 'pyramid_opentracing.opentracing_tween_factory'

made = []


def counting_tracer(**parameters):
    """ot.tracer_callable: a MockTracer, counting how often settings are parsed."""
    tracer = MockTracer()
    made.append(tracer)
    return tracer


@pytest.fixture(autouse=True)
def forget_made():
    made.clear()


def test_the_tween_named_in_an_ini_file_traces_with_its_settings(tmp_path):
    ini = tmp_path / 'app.ini'
    ini.write_text(
        '[app:main]\n'
        'use = call:tests.apps:paste_app\n'
        'pyramid.tweens = %s\n'
        '                 pyramid.tweens.excview_tween_factory\n'  # as the README says
        'ot.trace_all = true\n'
        'ot.traced_attributes = host\n'
        '                       method\n'
        'ot.start_span_cb = tests.callbacks.rename\n'
        'ot.tracer_callable = tests.test_tween_without_include.counting_tracer\n' % TWEEN)
    app = get_app(str(ini))
    webtest.TestApp(app).get('/plain')
    settings = app.registry.settings
    assert settings['ot.trace_all'] is True
    assert isinstance(settings['ot.tracer'], PyramidTracer)
    [span] = settings['ot.tracer'].tracer.finished_spans()
    assert span.operation_name == 'renamed by callback'
    assert span.tags['host'] == 'localhost:80' and span.tags['method'] == 'GET'
    assert span.tags['http.status_code'] == 200
    webtest.TestApp(app).get('/nowhere', status=404)  # the exception view still answers


def test_the_tween_added_with_add_tween_traces_with_its_settings(tracer):
    config = apps.make_config({'ot.trace_all': 'true', 'ot.base_tracer': tracer}, include=False)
    config.add_tween(TWEEN)
    webtest.TestApp(config.make_wsgi_app()).get('/hello/bob')
    [work, server] = tracer.finished_spans()
    assert server.operation_name == 'hello' and work.parent_id == server.context.span_id


def test_without_trace_all_the_tween_traces_nothing_and_says_so(tracer, failures):
    config = apps.make_config({'ot.base_tracer': tracer}, include=False)
    config.add_tween(TWEEN)
    webtest.TestApp(config.make_wsgi_app()).get('/plain')
    assert tracer.finished_spans() == []
    [warning] = failures()
    assert 'ot.trace_all is not set' in warning.getMessage()


@pytest.mark.parametrize('name, value', [
    ('ot.trace_all', 'maybe'),
    ('ot.start_span_cb', 'tests.callbacks.no_such_callback'),
    ('ot.max_tag_length', '3'),
])
def test_a_bad_setting_fails_at_start_up_as_with_the_include(name, value):
    with pytest.raises(ConfigurationError) as included:
        apps.make_config({name: value}).make_wsgi_app()
    config = apps.make_config({name: value}, include=False)
    config.add_tween(TWEEN)
    with pytest.raises(ConfigurationError) as added:
        config.make_wsgi_app()
    # the include's error comes wrapped by Pyramid's action machinery
    assert str(added.value).startswith('%s = %r: ' % (name, value))
    assert str(added.value) in str(included.value)


def test_excluded_routes_apply_as_with_the_include(tracer):
    config = apps.make_config({'ot.trace_all': 'true', 'ot.base_tracer': tracer,
                               'ot.excluded_routes': 'hello'}, include=False)
    config.add_tween(TWEEN)
    app = webtest.TestApp(config.make_wsgi_app())
    app.get('/hello/bob')
    app.get('/plain')
    assert 'hello' not in [span.operation_name for span in tracer.finished_spans()]
    assert 'plain' in [span.operation_name for span in tracer.finished_spans()]


@pytest.mark.parametrize('name, value', [
    ('ot.excluded_routes', 'no_such_route'),
    ('ot.traced_attributes', 'no_such_attribute'),
])
def test_names_the_application_lacks_fail_at_start_up_as_with_the_include(name, value):
    config = apps.make_config({'ot.trace_all': 'true', name: value}, include=False)
    config.add_tween(TWEEN)
    with pytest.raises(ConfigurationError, match=name):
        config.make_wsgi_app()


def test_settings_are_parsed_once_however_the_tween_is_registered():
    settings = {'ot.trace_all': 'true',
                'ot.tracer_callable': 'tests.test_tween_without_include.counting_tracer'}
    config = apps.make_config(settings, include=False)
    config.add_tween(TWEEN)
    app = config.make_wsgi_app()
    config.make_wsgi_app()
    [tracer] = made
    webtest.TestApp(app).get('/plain')
    assert len(tracer.finished_spans()) == 1

    made.clear()
    config = apps.make_config(dict(settings, **{'pyramid.tweens': TWEEN}))  # and included
    config.make_wsgi_app()
    assert len(made) == 1


def test_a_view_decorated_with_trace_finds_the_tweens_tracer(tracer):
    from pyramid_opentracing import trace

    @trace('method')
    def view(request):
        return {'ok': True}
    config = apps.make_config({'ot.trace_all': True, 'ot.base_tracer': tracer}, include=False)
    config.add_tween(TWEEN)
    config.add_route('decorated', '/decorated')
    config.add_view(view, route_name='decorated', renderer='json')
    webtest.TestApp(config.make_wsgi_app()).get('/decorated')
    [span] = tracer.finished_spans()
    assert span.operation_name == 'decorated' and span.tags['method'] == 'GET'
