"""The OpenTelemetry bridge: settings, lifecycle and real SERVER spans."""
import logging

import pytest
import webtest
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.trace import SpanKind, StatusCode
from pyramid.exceptions import ConfigurationError

from pyramid_opentracing.otel import BridgeTracer, tracer_from_settings
from pyramid_opentracing.otel.exit import LiveSpans
from pyramid_opentracing.otel.metrics import ServerMetrics
from pyramid_opentracing.otel.options import BridgeOptions

from . import apps

BRIDGE = 'pyramid_opentracing.otel.tracer_from_settings'


@pytest.fixture
def no_otel_env(monkeypatch):
    for name in ('OTEL_SERVICE_NAME', 'OTEL_RESOURCE_ATTRIBUTES', 'OTEL_TRACES_EXPORTER',
                 'OTEL_PROPAGATORS', 'OTEL_EXPORTER_OTLP_PROTOCOL',
                 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_TRACES_SAMPLER',
                 'OTEL_TRACES_SAMPLER_ARG', 'OTEL_SEMCONV_STABILITY_OPT_IN'):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def bridge_app(no_otel_env):
    """make(**settings): (WebTest app of tests.apps, BridgeTracer) exporting to memory."""
    made = []

    def make(**settings):
        settings.setdefault('ot.trace_all', 'true')
        settings.setdefault('ot.base_tracer_func', BRIDGE)
        settings.setdefault('ot.otel.exporter', 'memory')
        app = apps.make_app(settings)
        tracer = app.registry.settings['ot.tracer'].tracer
        made.append(tracer)
        return webtest.TestApp(app), tracer

    yield make
    for tracer in made:
        tracer.shutdown()
    assert not otel_trace.get_current_span().get_span_context().is_valid, 'a span was left active'


def only_span(tracer):
    spans = tracer.exporter.get_finished_spans()
    assert len(spans) == 1, spans
    return spans[0]


def processors(tracer):
    return tracer.provider._active_span_processor._span_processors


# -- settings -------------------------------------------------------------------

def test_the_factory_returns_a_bridge_tracer_and_sets_no_global_state(no_otel_env):
    before = otel_trace.get_tracer_provider()
    tracer = tracer_from_settings(**{'ot.otel.exporter': 'none', 'ot.otel.service_name': 'shop'})
    try:
        assert isinstance(tracer, BridgeTracer)
        assert tracer.provider.resource.attributes['service.name'] == 'shop'
        assert otel_trace.get_tracer_provider() is before
        assert processors(tracer) == ()
    finally:
        tracer.shutdown()


def test_otlp_exports_in_batches_and_console_as_spans_end(no_otel_env):
    otlp = tracer_from_settings(**{'ot.otel.endpoint': 'http://127.0.0.1:4318'})
    console = tracer_from_settings(**{'ot.otel.exporter': 'console'})
    try:
        assert [isinstance(p, BatchSpanProcessor) for p in processors(otlp)] == [True, False, False]
        assert isinstance(processors(otlp)[1], LiveSpans)
        assert isinstance(processors(otlp)[2], ServerMetrics)
        assert otlp.exporter._endpoint == 'http://127.0.0.1:4318/v1/traces'
        assert [type(p) for p in processors(console)] == [SimpleSpanProcessor, ServerMetrics]
    finally:
        otlp.shutdown()
        console.shutdown()


def test_a_full_traces_endpoint_is_kept():
    options = BridgeOptions({'ot.otel.endpoint': 'https://collector:4318/custom/v1/traces'}, {})
    assert options.traces_endpoint() == 'https://collector:4318/custom/v1/traces'


def test_resource_attributes_and_headers_are_parsed():
    options = BridgeOptions({
        'ot.otel.resource_attributes': 'deployment.environment=prod,\nservice.version = 1.2',
        'ot.otel.headers': 'authorization=Bearer abc, x-tenant=acme',
    }, {})
    assert options.resource_attributes == {'deployment.environment': 'prod', 'service.version': '1.2'}
    assert options.headers == {'authorization': 'Bearer abc', 'x-tenant': 'acme'}


def test_environment_variables_are_the_fallback():
    environ = {'OTEL_SERVICE_NAME': 'from-env', 'OTEL_TRACES_EXPORTER': 'console',
               'OTEL_PROPAGATORS': 'b3multi,jaeger'}
    options = BridgeOptions({}, environ)
    assert (options.service_name, options.exporter, options.propagators) == (
        'from-env', 'console', ('b3multi', 'jaeger'))
    options = BridgeOptions({'ot.otel.service_name': 'from-settings', 'ot.otel.exporter': 'none'}, environ)
    assert (options.service_name, options.exporter) == ('from-settings', 'none')


def test_defaults():
    options = BridgeOptions({}, {})
    assert (options.exporter, options.protocol, options.propagators, options.sampler_ratio) == (
        'otlp', 'http/protobuf', ('tracecontext', 'baggage'), None)


def test_the_sampler_ratio_samples_respecting_the_parent(no_otel_env):
    tracer = tracer_from_settings(**{'ot.otel.exporter': 'memory', 'ot.otel.sampler_ratio': '0'})
    try:
        assert 'ParentBased' in tracer.provider.sampler.get_description()
        tracer.start_span('dropped').finish()
        assert tracer.exporter.get_finished_spans() == ()
    finally:
        tracer.shutdown()


@pytest.mark.parametrize('settings, named', [
    ({'ot.otel.exporter': 'jaeger-thrift'}, "ot.otel.exporter = 'jaeger-thrift'"),
    ({'ot.otel.protocol': 'carrier-pigeon'}, "ot.otel.protocol = 'carrier-pigeon'"),
    ({'ot.otel.propagators': 'tracecontext xray'}, "ot.otel.propagators = 'tracecontext xray'"),
    ({'ot.otel.propagators': 'none b3'}, "ot.otel.propagators = 'none b3'"),
    ({'ot.otel.sampler_ratio': '1.5'}, "ot.otel.sampler_ratio = '1.5'"),
    ({'ot.otel.sampler_ratio': 'half'}, "ot.otel.sampler_ratio = 'half'"),
    ({'ot.otel.endpoint': 'localhost:4318'}, "ot.otel.endpoint = 'localhost:4318'"),
    ({'ot.otel.resource_attributes': 'team'}, "ot.otel.resource_attributes = 'team'"),
])
def test_unknown_values_fail_at_start_up_naming_the_setting(no_otel_env, settings, named):
    settings = dict(settings, **{'ot.trace_all': 'true', 'ot.base_tracer_func': BRIDGE})
    config = apps.make_config(settings)
    with pytest.raises(ConfigurationError) as info:
        config.commit()
    assert named in str(info.value)


def test_an_unknown_environment_value_names_the_variable(no_otel_env):
    no_otel_env.setenv('OTEL_TRACES_EXPORTER', 'zipkin-v1')
    with pytest.raises(ConfigurationError, match="OTEL_TRACES_EXPORTER = 'zipkin-v1'"):
        tracer_from_settings()


def test_malformed_headers_are_refused_without_showing_the_secret():
    with pytest.raises(ConfigurationError) as info:
        BridgeOptions({'ot.otel.headers': 'authorization Bearer s3cr3t'}, {})
    assert 'ot.otel.headers' in str(info.value)
    assert 's3cr3t' not in str(info.value)


def test_grpc_without_its_exporter_installed_says_what_to_install(no_otel_env):
    try:
        import opentelemetry.exporter.otlp.proto.grpc  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigurationError, match='opentelemetry-exporter-otlp-proto-grpc'):
            tracer_from_settings(**{'ot.otel.protocol': 'grpc'})
    else:
        tracer = tracer_from_settings(**{'ot.otel.protocol': 'grpc'})
        tracer.shutdown()


def test_bridge_settings_are_not_reported_as_unknown(bridge_app, caplog):
    caplog.set_level(logging.WARNING, logger='pyramid_opentracing')
    bridge_app(**{'ot.otel.service_name': 'quiet'})
    assert not [r for r in caplog.records if 'unknown setting' in r.getMessage()]


# -- server spans -------------------------------------------------------------

def test_the_server_span_is_a_server_span_with_semantic_convention_attributes(bridge_app):
    app, tracer = bridge_app(**{'ot.otel.service_name': 'shop'})
    app.get('/hello/bob', headers={'User-Agent': 'probe/1.0', 'Authorization': 'Bearer s3cr3t'},
            extra_environ={'REMOTE_ADDR': '10.1.2.3', 'HTTP_HOST': 'shop.example:8080'})
    span = only_span(tracer)
    assert span.kind is SpanKind.SERVER
    assert span.name == 'GET /hello/{name}'
    assert span.resource.attributes['service.name'] == 'shop'
    assert dict(span.attributes) == {
        'http.request.method': 'GET',
        'url.scheme': 'http',
        'url.path': '/hello/bob',
        'http.route': '/hello/{name}',
        'pyramid.route': 'hello',
        'http.response.status_code': 200,
        'server.address': 'shop.example',
        'server.port': 8080,
        'client.address': '10.1.2.3',
        'user_agent.original': 'probe/1.0',
        'network.protocol.version': '1.0',
        'code.function.name': 'tests.apps.hello',
    }
    assert span.status.status_code is StatusCode.UNSET


def test_the_query_string_is_traced_redacted_only_when_asked(bridge_app):
    app, tracer = bridge_app(**{'ot.trace_query_string': 'true'})
    app.get('/plain?page=2&token=s3cr3t')
    assert only_span(tracer).attributes['url.query'] == 'page=2&token=[REDACTED]'
    app, tracer = bridge_app()
    app.get('/plain?page=2&token=s3cr3t')
    assert 'url.query' not in only_span(tracer).attributes


@pytest.mark.parametrize('path, status, error_type, exception', [
    ('/created', 201, None, None),
    ('/redirect', 302, None, None),
    ('/not-found', 404, None, None),
    ('/invalid', 400, None, None),
    ('/server-error', 503, '503', None),
    ('/handled', 500, 'tests.apps.Handled', 'tests.apps.Handled'),
    ('/boom', 500, 'ValueError', 'ValueError'),
])
def test_status_and_errors(bridge_app, path, status, error_type, exception):
    app, tracer = bridge_app()
    try:
        app.get(path, status=status)
    except ValueError:
        assert path == '/boom'
    span = only_span(tracer)
    assert span.attributes['http.response.status_code'] == status
    assert span.attributes.get('error.type') == error_type
    expected = StatusCode.ERROR if status >= 500 else StatusCode.UNSET
    assert span.status.status_code is expected
    events = [e for e in span.events if e.name == 'exception']
    if exception is None:
        assert events == []
    else:
        assert [e.attributes['exception.type'] for e in events] == [exception]


def test_an_unrouted_request_is_named_after_its_method(bridge_app):
    app, tracer = bridge_app()
    app.get('/nowhere', status=404)
    span = only_span(tracer)
    assert span.name == 'GET'
    assert 'http.route' not in span.attributes


def test_spans_started_in_a_view_are_children_of_the_server_span(bridge_app):
    app, tracer = bridge_app()
    app.get('/child')
    child, server = tracer.exporter.get_finished_spans()
    assert child.name == 'child'
    assert child.parent.span_id == server.context.span_id
    assert child.kind is SpanKind.INTERNAL


def test_a_streamed_body_ends_the_span_when_closed(bridge_app):
    app, tracer = bridge_app()
    assert app.get('/stream').body == b'ab'
    assert only_span(tracer).attributes['http.response.status_code'] == 200


def test_operation_name_func_still_names_the_span(bridge_app):
    app, tracer = bridge_app(**{'ot.operation_name_func': 'tests.test_otel_bridge.custom_name'})
    app.get('/plain')
    assert only_span(tracer).name == 'custom plain'


def custom_name(request):
    return 'custom ' + request.matched_route.name


def test_a_plain_shim_also_gets_server_spans(no_otel_env):
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.shim.opentracing_shim import create_tracer
    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = webtest.TestApp(apps.make_app({'ot.trace_all': True, 'ot.base_tracer': create_tracer(provider)}))
    app.get('/plain')
    (span,) = exporter.get_finished_spans()
    assert (span.kind, span.name, span.attributes['http.route']) == (SpanKind.SERVER, 'GET /plain', '/plain')
    provider.shutdown()


def test_a_failing_exporter_never_fails_the_request(bridge_app, failures):
    app, tracer = bridge_app()

    def broken(spans):
        raise OSError('collector unreachable')
    tracer.exporter.export = broken
    assert app.get('/plain').text == 'plain'
    assert app.get('/plain').text == 'plain'


def test_a_failing_otel_tracer_serves_the_request_untraced_and_logs_once(bridge_app, failures):
    app, tracer = bridge_app()

    def broken(*args, **kwargs):
        raise RuntimeError('sdk bug')
    tracer.unwrap().start_span = broken
    assert app.get('/plain').text == 'plain'
    assert app.get('/plain').text == 'plain'
    logged = [r for r in failures() if 'starting the server span' in r.getMessage()]
    assert len(logged) == 1


def test_in_a_view_the_server_span_is_the_active_span(bridge_app):
    seen = {}

    def remember(span, request):
        tracer = request.registry.settings['ot.tracer'].tracer
        seen['active'] = tracer.active_span.context.unwrap().span_id
        seen['scope'] = tracer.scope_manager.active.span.context.unwrap().span_id
        seen['otel'] = otel_trace.get_current_span().get_span_context().span_id
    app, tracer = bridge_app(**{'ot.start_span_cb': remember})
    app.get('/plain')
    span_id = only_span(tracer).context.span_id
    assert seen == {'active': span_id, 'scope': span_id, 'otel': span_id}


def test_a_path_with_unusual_characters_is_percent_encoded(bridge_app):
    app, tracer = bridge_app()
    app.get('/hello/b%C3%B6b%20jr')
    assert only_span(tracer).attributes['url.path'] == '/hello/b%C3%B6b%20jr'


def test_header_values_become_bounded_attributes(bridge_app):
    app, tracer = bridge_app(**{'ot.max_tag_length': '64'})
    app.get('/plain', headers={'User-Agent': 'u' * 10000},
            extra_environ={'HTTP_HOST': '.'.join(['h' * 63] * 3 + ['h' * 61]) + ':8080'})
    attributes = only_span(tracer).attributes
    assert attributes['user_agent.original'].startswith('u' * 32)
    assert attributes['server.address'].startswith('h' * 32)
    assert len(attributes['user_agent.original']) <= 64 and len(attributes['server.address']) <= 64
    assert attributes['server.port'] == 8080
