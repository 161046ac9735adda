"""Settings: every source of a tracer, INI strings, and mistakes caught at start-up."""
import logging

import opentracing
import pytest
from opentracing.mocktracer import MockTracer
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError

from pyramid_opentracing import PyramidTracer, PyramidTracing

from . import callbacks


def configure(settings):
    """Include the package with ``settings`` and commit; return the settings."""
    config = Configurator(settings=settings)
    config.include('pyramid_opentracing')
    config.commit()
    return config.registry.settings


def failure(settings):
    with pytest.raises(ConfigurationError) as info:
        configure(settings)
    return str(info.value)


def test_defaults_trace_nothing_and_use_the_global_tracer():
    settings = configure({})
    assert settings['ot.trace_all'] is False
    assert settings['ot.traced_attributes'] == ()
    tracer = settings['ot.tracer']
    assert isinstance(tracer, PyramidTracer) and settings['ot.tracing'] is tracer
    assert tracer.tracer is opentracing.global_tracer()


def test_pyramid_tracing_is_the_1_0_name():
    assert PyramidTracing is PyramidTracer


def test_ini_strings_are_parsed():
    settings = configure({
        'ot.trace_all': 'true',
        'ot.traced_attributes': '\nhost\n  method\n',
        'ot.base_tracer_func': 'tests.callbacks.make_tracer',
        'ot.start_span_cb': 'tests.callbacks.rename',
        'ot.operation_name_func': 'tests.callbacks.name_with_pattern',
        'ot.max_tag_length': '64',
        'ot.trace_query_string': 'on',
        'ot.redacted_headers': 'X-Internal-Thing',
        'ot.redacted_query_params': 'ticket',
    })
    assert settings['ot.trace_all'] is True
    assert settings['ot.traced_attributes'] == ('host', 'method')
    tracer = settings['ot.tracer']
    assert isinstance(tracer.tracer, MockTracer)
    assert tracer.start_span_cb is callbacks.rename
    assert tracer.operation_name_func is callbacks.name_with_pattern
    assert tracer.policy.max_tag_length == 64
    assert tracer.policy.trace_query_string is True
    assert tracer.policy.redactor.is_secret('X-Internal-Thing')
    assert tracer.policy.redactor.is_secret('ticket')


def test_base_tracer_func_is_called_once_with_the_settings():
    settings = configure({'ot.base_tracer_func': callbacks.make_tracer, 'custom': 'value'})
    made = settings['ot.tracer'].tracer
    assert made.settings['custom'] == 'value'
    assert made.settings['ot.base_tracer_func'] is callbacks.make_tracer


def test_base_tracer_object():
    tracer = MockTracer()
    assert configure({'ot.base_tracer': tracer})['ot.tracer'].tracer is tracer


def test_base_tracer_dotted_name():
    assert configure({'ot.base_tracer': 'tests.callbacks.TRACER'})['ot.tracer'].tracer is callbacks.TRACER


def test_ot_tracer_holding_a_pyramid_tracer_is_used_as_is():
    mine = PyramidTracer(MockTracer())
    settings = configure({'ot.tracer': mine, 'ot.start_span_cb': callbacks.rename})
    assert settings['ot.tracer'] is mine and settings['ot.tracing'] is mine
    assert mine.start_span_cb is callbacks.rename


def test_ot_tracer_holding_a_plain_tracer_is_wrapped():
    tracer = MockTracer()
    assert configure({'ot.tracer': tracer})['ot.tracer'].tracer is tracer


def test_ot_tracing_is_the_1_0_name_of_ot_tracer():
    mine = PyramidTracer(MockTracer())
    assert configure({'ot.tracing': mine})['ot.tracer'] is mine


def test_tracing_callable_returns_a_pyramid_tracer():
    tracer = configure({'ot.tracing_callable': 'tests.callbacks.make_tracing'})['ot.tracer']
    assert isinstance(tracer.tracer, MockTracer)


@pytest.mark.parametrize('parameters', [
    {'component': 'x'}, '{"component": "x"}', 'component = x',
])
def test_tracer_callable_gets_the_tracer_parameters(parameters):
    settings = configure({'ot.tracer_callable': 'tests.callbacks.make_tracer',
                          'ot.tracer_parameters': parameters})
    assert settings['ot.tracer'].tracer.settings == {'component': 'x'}


def test_written_back_settings_configure_again_without_conflict():
    first = configure({'ot.base_tracer': MockTracer(), 'ot.trace_all': 'true'})
    again = configure(dict(first, **{'ot.base_tracer': None}))
    assert again['ot.tracer'] is first['ot.tracer']


def test_a_pyramid_tracer_of_one_application_is_refused_to_another_with_other_settings():
    shared = PyramidTracer(MockTracer())
    first = configure({'ot.tracer': shared, 'ot.trace_all': 'true',
                       'ot.excluded_paths': '^/health$', 'ot.trace_query_string': 'true'})
    selection, policy = shared.selection, shared.policy
    with pytest.raises(ConfigurationError) as refused:
        configure({'ot.tracer': shared, 'ot.trace_all': 'true'})
    message = str(refused.value)
    assert 'ot.tracer = ' in message and 'already traces another application' in message
    assert 'ot.trace_query_string = True, not False' in message
    # the first application's tracer is as it was
    assert shared.selection is selection and shared.policy is policy
    assert first['ot.tracer'] is shared


def test_a_pyramid_tracer_is_refused_to_another_application_with_other_variables(
        monkeypatch):
    shared = PyramidTracer(MockTracer())
    monkeypatch.delenv('OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS', raising=False)
    configure({'ot.tracer': shared, 'ot.trace_all': 'true', 'ot.captured_request_headers': 'x-.*'})
    monkeypatch.setenv('OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS', 'x-internal')
    with pytest.raises(ConfigurationError,
                       match='OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS = None'):
        configure({'ot.tracer': shared, 'ot.trace_all': 'true',
                   'ot.captured_request_headers': 'x-.*'})


def test_an_application_that_fails_to_start_does_not_keep_its_pyramid_tracer():
    shared = PyramidTracer(MockTracer())
    with pytest.raises(ConfigurationError):
        configure({'ot.tracer': shared, 'ot.trace_all': 'true',
                   'ot.traced_attributes': 'no_such_attribute'})
    assert configure({'ot.tracer': shared, 'ot.trace_all': 'true'})['ot.tracer'] is shared


def test_a_pyramid_tracer_may_serve_two_applications_with_the_same_settings():
    shared = PyramidTracer(MockTracer())
    settings = {'ot.tracer': shared, 'ot.trace_all': 'true', 'ot.excluded_paths': '^/health$'}
    assert configure(dict(settings))['ot.tracer'] is configure(dict(settings))['ot.tracer']


@pytest.mark.parametrize('settings, named', [
    ({'ot.trace_all': 'maybe'}, "ot.trace_all = 'maybe'"),
    ({'ot.traced_attributes': 'host, not-a-name'}, 'ot.traced_attributes'),
    ({'ot.traced_attributes': 42}, 'ot.traced_attributes = 42'),
    ({'ot.base_tracer_func': 'tests.callbacks.nowhere'}, "ot.base_tracer_func = 'tests.callbacks.nowhere'"),
    ({'ot.base_tracer_func': 'no_such_module.make'}, 'cannot import'),
    ({'ot.base_tracer_func': 'tests.callbacks.NOT_CALLABLE'}, 'is not callable'),
    ({'ot.base_tracer_func': 'tests.callbacks.make_nothing'}, 'not an OpenTracing tracer'),
    ({'ot.base_tracer_func': 'tests.callbacks.make_broken'}, 'raised RuntimeError: no tracer today'),
    ({'ot.base_tracer': 'tests.callbacks.NOT_CALLABLE'}, 'gave 42, which is not an OpenTracing tracer'),
    ({'ot.tracer': object()}, 'not an OpenTracing tracer'),
    ({'ot.start_span_cb': 'tests.callbacks.NOT_CALLABLE'}, 'ot.start_span_cb'),
    ({'ot.operation_name_func': 'tests.nope.nope'}, 'ot.operation_name_func'),
    ({'ot.max_tag_length': 'big'}, "ot.max_tag_length = 'big'"),
    ({'ot.max_tag_length': '3'}, 'at least 16'),
    ({'ot.max_tag_length': 1.5}, 'ot.max_tag_length = 1.5: expected a whole number'),
    ({'ot.max_tag_length': 64.0}, 'ot.max_tag_length = 64.0: expected a whole number'),
    ({'ot.max_tag_length': '64.5'}, "ot.max_tag_length = '64.5': expected a whole number"),
    ({'ot.max_tag_length': '1e3'}, "ot.max_tag_length = '1e3': expected a whole number"),
    ({'ot.max_tag_length': True}, 'ot.max_tag_length = True: expected a whole number'),
    ({'ot.tracer_callable': 'tests.callbacks.make_tracer', 'ot.tracer_parameters': '{"a": '},
     'malformed JSON'),
    ({'ot.tracer_callable': 'tests.callbacks.make_tracer', 'ot.tracer_parameters': 'not a pair'},
     'ot.tracer_parameters'),
    ({'ot.tracer_callable': 'tests.callbacks.make_tracer', 'ot.tracer_parameters': 7},
     'ot.tracer_parameters = 7'),
    ({'ot.tracer_parameters': '{}'}, 'only used with ot.tracer_callable'),
    ({'ot.base_tracer': MockTracer(), 'ot.base_tracer_func': 'tests.callbacks.make_tracer'},
     'conflicting tracer settings ot.base_tracer'),
    ({'ot.tracer': MockTracer(), 'ot.tracing_callable': 'tests.callbacks.make_tracing'},
     'conflicting tracer settings ot.tracer'),
])
def test_mistakes_fail_at_startup_naming_setting_and_value(settings, named):
    assert named in failure(settings)


@pytest.mark.parametrize('text', ['64', ' 64 ', '+64'])
def test_max_tag_length_takes_whole_numbers_as_text(text):
    assert configure({'ot.max_tag_length': text})['ot.max_tag_length'] == 64


def test_callbacks_of_a_given_pyramid_tracer_are_not_silently_replaced():
    mine = PyramidTracer(MockTracer(), start_span_cb=callbacks.fail)
    assert 'already has start_span_cb' in failure({'ot.tracer': mine, 'ot.start_span_cb': callbacks.rename})


def test_mistakes_fail_in_make_wsgi_app():
    config = Configurator(settings={'ot.trace_all': 'yes please'})
    config.include('pyramid_opentracing')
    with pytest.raises(ConfigurationError, match='ot.trace_all'):
        config.make_wsgi_app()


def test_unknown_ot_setting_is_reported(caplog):
    caplog.set_level(logging.WARNING, logger='pyramid_opentracing')
    configure({'ot.trace_al': 'true', 'ot.otel.service_name': 'reserved for the bridge'})
    unknown, unread = [r.getMessage() for r in caplog.records]
    assert 'unknown setting ot.trace_al' in unknown
    assert unread.startswith('pyramid_opentracing: ot.otel.service_name ignored: only the '
                             'OpenTelemetry bridge reads')


def test_pyramid_tracer_rejects_non_callable_callbacks():
    with pytest.raises(ValueError, match='start_span_cb'):
        PyramidTracer(MockTracer(), start_span_cb=4)
    with pytest.raises(ValueError, match='max_tag_length'):
        PyramidTracer(MockTracer(), max_tag_length=2)


def test_includes_from_an_ini_style_settings_dict(tmp_path):
    ini = tmp_path / 'app.ini'
    ini.write_text(
        '[app:main]\n'
        'use = call:tests.apps:paste_app\n'
        'pyramid.includes = pyramid_opentracing\n'
        'ot.trace_all = true\n'
        'ot.traced_attributes = host\n'
        '                       method\n'
        'ot.base_tracer_func = tests.callbacks.make_tracer\n')
    from pyramid.paster import get_app
    import webtest
    app = get_app(str(ini))
    webtest.TestApp(app).get('/plain')
    [span] = app.registry.settings['ot.tracer'].tracer.finished_spans()
    assert span.operation_name == 'plain'
    assert span.tags['host'] == 'localhost:80' and span.tags['method'] == 'GET'


@pytest.mark.parametrize('text', ['X-Internal-Key, X-Tenant-Secret', 'X-Internal-Key,X-Tenant-Secret',
                                  '\n  X-Internal-Key\n  X-Tenant-Secret\n', 'X-Internal-Key X-Tenant-Secret'])
def test_list_settings_take_commas_and_new_lines(text):
    settings = configure({'ot.redacted_headers': text, 'ot.traced_attributes': 'host, method'})
    assert settings['ot.redacted_headers'] == ('X-Internal-Key', 'X-Tenant-Secret')
    assert settings['ot.traced_attributes'] == ('host', 'method')
    assert settings['ot.tracer'].policy.redactor.is_secret('HTTP_X_TENANT_SECRET')


def test_a_given_pyramid_tracer_keeps_its_redaction_beside_the_settings():
    given = PyramidTracer(MockTracer(), redacted_headers=['X-Internal-Key'],
                          redacted_query_params=['ticket'], trace_query_string=True)
    settings = configure({'ot.tracer': given, 'ot.redacted_headers': 'X-Other',
                          'ot.max_tag_length': '64'})
    policy = settings['ot.tracer'].policy
    for name in ('X-Internal-Key', 'X-Other', 'ticket'):
        assert policy.redactor.is_secret(name), name
    assert policy.trace_query_string is True and policy.max_tag_length == 64


def test_a_given_pyramid_tracer_and_the_settings_may_not_contradict():
    given = PyramidTracer(MockTracer(), max_tag_length=2048)
    message = failure({'ot.tracer': given, 'ot.max_tag_length': '64'})
    assert "ot.max_tag_length = '64': the PyramidTracer given already has max_tag_length = 2048" in message
    given = PyramidTracer(MockTracer(), trace_query_string=True)
    assert "ot.trace_query_string = 'false'" in failure(
        {'ot.tracer': given, 'ot.trace_query_string': 'false'})

