"""What a newcomer gets wrong is caught at start-up, naming the setting and
the value, or at least logged once."""
import logging
import subprocess
import sys
import textwrap

import opentracing.mocktracer
import pytest
import webtest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError


from . import apps

BRIDGE = 'pyramid_opentracing.otel.tracer_from_settings'


def make_tracer(service_name, sample_rate):
    """A factory for ot.tracer_callable taking two parameters."""
    return opentracing.mocktracer.MockTracer()


def commit(settings, include=True):
    config = apps.make_config(settings, include=include)
    config.commit()
    return config


@pytest.mark.parametrize('value', [opentracing.mocktracer.MockTracer,
                                   'opentracing.mocktracer.MockTracer'])
def test_a_tracer_class_instead_of_an_instance_fails(value):
    with pytest.raises(ConfigurationError, match=r"ot\.base_tracer = .*MockTracer.*is the class"):
        commit({'ot.base_tracer': value})


def test_a_traced_attribute_typo_fails_naming_it():
    with pytest.raises(ConfigurationError) as info:
        commit({'ot.traced_attributes': 'method\nmethdo'})
    assert "ot.traced_attributes = ('method', 'methdo')" in str(info.value)
    assert "no attribute 'methdo'" in str(info.value)


def test_traced_attributes_of_the_request_class_routing_and_request_methods_pass():
    def configure_tenant(config):  # an include, like an add-on adding request methods
        config.add_request_method(lambda request: 'acme', 'tenant', reify=True)
        config.add_request_method(lambda request: 'v', 'version', property=True)

    settings = {'ot.trace_all': True, 'ot.base_tracer': opentracing.mocktracer.MockTracer(),
                'ot.traced_attributes': 'host method headers matchdict matched_route '
                                        'context view_name environ tenant version'}
    config = Configurator(settings=settings)
    config.include('pyramid_opentracing')  # before the include adding the methods
    config.include(configure_tenant)
    config.add_route('hello', '/hello/{name}')
    config.add_view(lambda request: 'hi', route_name='hello', renderer='string')
    app = webtest.TestApp(config.make_wsgi_app())
    app.get('/hello/world')
    [span] = settings['ot.base_tracer'].finished_spans()
    assert span.tags['tenant'] == 'acme' and span.tags['version'] == 'v'
    assert span.tags['host'] == 'localhost:80' and 'world' in span.tags['matchdict']


def test_unknown_otel_settings_are_warned_like_unknown_ot_settings(caplog, monkeypatch):
    for variable in ('OTEL_TRACES_EXPORTER', 'OTEL_PROPAGATORS', 'OTEL_EXPORTER_OTLP_TIMEOUT'):
        monkeypatch.delenv(variable, raising=False)
    caplog.set_level(logging.WARNING, logger='pyramid_opentracing')
    config = commit({'ot.base_tracer_func': BRIDGE, 'ot.otel.exporter': 'memory',
                     'ot.otel.servicename': 'shop', 'ot.otel.endpont': 'http://h:4318',
                     'ot.tracing_all': 'true'})
    config.registry.settings['ot.tracer'].tracer.shutdown()
    warned = sorted(r.getMessage().split()[3] for r in caplog.records
                    if 'unknown setting' in r.getMessage())
    assert warned == ['ot.otel.endpont', 'ot.otel.servicename', 'ot.tracing_all']
    otel_warning = [r.getMessage() for r in caplog.records if 'ot.otel.endpont' in r.getMessage()][0]
    assert 'ot.otel.endpoint' in otel_warning and 'ot.otel.timeout' in otel_warning


@pytest.mark.parametrize('tracer_settings', [{}, {'ot.base_tracer': opentracing.mocktracer.MockTracer()}])
def test_otel_settings_without_the_bridge_are_warned(caplog, tracer_settings):
    caplog.set_level(logging.WARNING, logger='pyramid_opentracing')
    commit(dict(tracer_settings, **{'ot.otel.service_name': 'shop', 'ot.otel.exporter': 'console'}))
    [warning] = [r.getMessage() for r in caplog.records if 'only the OpenTelemetry bridge' in r.getMessage()]
    assert 'ot.otel.exporter, ot.otel.service_name ignored' in warning


def test_otel_settings_with_the_bridge_are_not_warned(caplog):
    caplog.set_level(logging.WARNING, logger='pyramid_opentracing')
    config = commit({'ot.base_tracer_func': BRIDGE, 'ot.otel.exporter': 'memory'})
    config.registry.settings['ot.tracer'].tracer.shutdown()
    assert 'only the OpenTelemetry bridge' not in caplog.text


@pytest.mark.parametrize('endpoint, problem', [
    ('http://h:abc/', 'port'),
    ('http://h:99999', 'port'),
    ('http://my host:4318', 'not a host'),
    ('http://[::1:4318', 'URL'),
    ('localhost:4318', 'URL'),
])
def test_bad_endpoints_fail_at_start_up(monkeypatch, endpoint, problem):
    monkeypatch.delenv('OTEL_TRACES_EXPORTER', raising=False)
    with pytest.raises(ConfigurationError) as info:
        commit({'ot.base_tracer_func': BRIDGE, 'ot.otel.endpoint': endpoint})
    assert 'ot.otel.endpoint = %r' % endpoint in str(info.value)
    assert problem in str(info.value)


def test_an_endpoint_with_credentials_is_not_shown_in_the_error(monkeypatch):
    monkeypatch.delenv('OTEL_TRACES_EXPORTER', raising=False)
    with pytest.raises(ConfigurationError) as info:
        commit({'ot.base_tracer_func': BRIDGE, 'ot.otel.endpoint': 'http://u:s3cr3t@h:port/'})
    assert 's3cr3t' not in str(info.value) and 'ot.otel.endpoint' in str(info.value)


@pytest.mark.parametrize('value', ['0', '-1', 'soon', 'inf'])
def test_a_bad_timeout_fails_at_start_up(monkeypatch, value):
    monkeypatch.delenv('OTEL_TRACES_EXPORTER', raising=False)
    with pytest.raises(ConfigurationError, match=r"ot\.otel\.timeout = '%s'" % value):
        commit({'ot.base_tracer_func': BRIDGE, 'ot.otel.timeout': value})


def test_tracer_parameters_the_callable_does_not_take_fail_at_start_up():
    settings = {'ot.tracer_callable': 'tests.test_startup_checks.make_tracer',
                'ot.tracer_parameters': 'service_name = shop\nsample_rte = 1'}
    with pytest.raises(ConfigurationError) as info:
        commit(settings)
    message = str(info.value)
    assert "ot.tracer_parameters = 'service_name = shop\\nsample_rte = 1'" in message
    assert 'sample_rte' in message and 'make_tracer(service_name, sample_rate)' in message
    settings['ot.tracer_parameters'] = 'service_name = shop\nsample_rate = 1'
    commit(settings)


def test_include_with_trace_all_off_says_the_tween_is_off_once(caplog):
    caplog.set_level(logging.INFO, logger='pyramid_opentracing')
    commit({})
    [line] = [r.getMessage() for r in caplog.records if 'ot.trace_all' in r.getMessage()]
    assert 'ot.trace_all = true' in line
    caplog.clear()
    commit({'ot.trace_all': 'true'})
    assert not [r for r in caplog.records if 'ot.trace_all' in r.getMessage()]


def test_module_level_trace_without_the_include_says_so_once_per_process():
    script = textwrap.dedent('''
        import logging, sys
        logging.basicConfig(stream=sys.stdout, level=logging.INFO, format='%(message)s')
        import webtest
        from pyramid.config import Configurator
        import pyramid_opentracing

        @pyramid_opentracing.trace('method')
        def hello(request):
            return 'hi'

        for _ in range(2):
            config = Configurator()
            config.add_route('hello', '/')
            config.add_view(hello, route_name='hello', renderer='string')
            app = webtest.TestApp(config.make_wsgi_app())
            app.get('/')
            app.get('/')
        ''')
    output = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                            check=True, timeout=60).stdout
    assert output.count("without config.include('pyramid_opentracing')") == 1, output

