"""What the bridge exports besides spans over OTLP: HTTP server metrics
(memory and OTLP), Zipkin v2 JSON, the old HTTP attribute names on request,
and its instrumentation scope."""
from importlib.metadata import version

import pytest
from pyramid.exceptions import ConfigurationError

from pyramid_opentracing.otel.options import BridgeOptions
from pyramid_opentracing.otel.semconv import SCHEMA_URL

from .otlp_receiver import OTLPReceiver
from .test_otel_bridge import bridge_app, no_otel_env  # noqa: F401 (fixtures)
from .zipkin_receiver import ZipkinReceiver

@pytest.fixture
def bridged(bridge_app):
    """make(**settings): (WebTest app of tests.apps, BridgeTracer) exporting to memory."""
    return bridge_app


def metrics_of(reader):
    """{metric name: [(attributes, point)]} read from ``reader`` now."""
    found = {}
    data = reader.get_metrics_data()
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            assert scope_metrics.scope.name == 'pyramid_opentracing'
            assert scope_metrics.scope.schema_url == SCHEMA_URL
            for metric in scope_metrics.metrics:
                found[metric.name] = [(dict(p.attributes), p) for p in metric.data.data_points]
    return found


# -- metrics -----------------------------------------------------------------

def test_request_duration_and_active_requests_are_recorded_with_semconv_attributes(bridged):
    app, tracer = bridged()
    app.get('/hello/bob')
    app.get('/hello/ann')
    app.get('/server-error', status=503)
    app.get('/nowhere', status=404)
    found = metrics_of(tracer.metric_reader)
    durations = {frozenset(attributes.items()): point
                 for attributes, point in found['http.server.request.duration']}
    base = {'http.request.method': 'GET', 'url.scheme': 'http', 'network.protocol.version': '1.0'}
    hello = frozenset(dict(base, **{'http.response.status_code': 200,
                                    'http.route': '/hello/{name}'}).items())
    failed = frozenset(dict(base, **{'http.response.status_code': 503, 'http.route': '/server-error',
                                     'error.type': '503'}).items())
    missing = frozenset(dict(base, **{'http.response.status_code': 404}).items())
    assert set(durations) == {hello, failed, missing}
    assert durations[hello].count == 2
    assert 0 < durations[hello].sum < 5  # seconds
    assert list(durations[hello].explicit_bounds)[:3] == [0.005, 0.01, 0.025]
    (active,) = found['http.server.active_requests']
    assert active[0] == {'http.request.method': 'GET', 'url.scheme': 'http'}
    assert active[1].value == 0


def duration_count(reader):
    return sum(point.count for _attributes, point in
               metrics_of(reader).get('http.server.request.duration', ()))


@pytest.mark.parametrize('settings, headers', [
    ({}, {'traceparent': '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00'}),
    ({'ot.otel.sampler_ratio': '0'}, {}),
])
def test_requests_that_are_not_sampled_are_counted_not_exported(bridged, settings, headers):
    app, tracer = bridged(**settings)
    seen = []

    def during(span, request):
        (point,) = metrics_of(tracer.metric_reader)['http.server.active_requests']
        seen.append(point[1].value)
    app.app.registry.settings['ot.tracer'].start_span_cb = during
    for _ in range(5):
        app.get('/plain', headers=headers)
    assert duration_count(tracer.metric_reader) == 5 and seen == [1] * 5
    assert tracer.exporter.get_finished_spans() == ()


def test_a_sampled_request_is_counted_once_and_exported(bridged):
    app, tracer = bridged(**{'ot.otel.sampler_ratio': '1'})
    app.get('/plain')
    assert duration_count(tracer.metric_reader) == 1
    assert len(tracer.exporter.get_finished_spans()) == 1


def test_active_requests_counts_the_request_in_progress(bridged):
    seen = []
    app, tracer = bridged()

    def during(span, request):
        (point,) = metrics_of(tracer.metric_reader)['http.server.active_requests']
        seen.append(point[1].value)

    app.app.registry.settings['ot.tracer'].start_span_cb = during
    app.get('/plain')
    assert seen == [1]


def test_http_dup_records_the_old_duration_metric_beside_the_stable_one(bridged, monkeypatch):
    """As OpenTelemetry's HTTP instrumentations do with ``http/dup``: the old
    histogram in milliseconds with the old attributes, the stable one in
    seconds with the stable attributes, active requests with both sets."""
    monkeypatch.setenv('OTEL_SEMCONV_STABILITY_OPT_IN', 'http/dup')
    app, tracer = bridged()
    app.get('/hello/bob', headers={'Host': 'shop.example:8080'})
    app.get('/server-error', status=503, headers={'Host': 'shop.example:8080'})
    found = metrics_of(tracer.metric_reader)
    old = {frozenset(attributes.items()): point for attributes, point in found['http.server.duration']}
    base = {'http.method': 'GET', 'http.scheme': 'http', 'http.flavor': '1.0'}
    assert set(old) == {frozenset(dict(base, **{'http.status_code': 200}).items()),
                        frozenset(dict(base, **{'http.status_code': 503}).items())}
    stable = {frozenset(attributes.items()) for attributes, _point in found['http.server.request.duration']}
    assert all('http.request.method' in dict(attributes) and 'http.method' not in dict(attributes)
               for attributes in stable) and len(stable) == 2
    (_, seconds), = [pair for pair in found['http.server.request.duration']
                     if pair[0]['http.response.status_code'] == 200]
    (milliseconds,) = [point for attributes, point in found['http.server.duration']
                       if attributes['http.status_code'] == 200]
    assert milliseconds.sum == pytest.approx(seconds.sum * 1000)
    assert milliseconds.explicit_bounds[:3] == (0.0, 5.0, 10.0)  # the SDK's, in milliseconds
    (active,) = found['http.server.active_requests']
    assert active[0] == {'http.request.method': 'GET', 'url.scheme': 'http',
                         'http.method': 'GET', 'http.scheme': 'http', 'http.flavor': '1.0'}
    assert active[1].value == 0
    reader = tracer.metric_reader
    units = {metric.name: metric.unit for rm in reader.get_metrics_data().resource_metrics
             for sm in rm.scope_metrics for metric in sm.metrics}
    assert (units['http.server.duration'], units['http.server.request.duration']) == ('ms', 's')


@pytest.mark.parametrize('mode', ['http', ''])
def test_no_old_metric_without_http_dup(bridged, monkeypatch, mode):
    monkeypatch.setenv('OTEL_SEMCONV_STABILITY_OPT_IN', mode)
    app, tracer = bridged()
    app.get('/hello/bob')
    found = metrics_of(tracer.metric_reader)
    assert 'http.server.duration' not in found and 'http.server.request.duration' in found
    (active,) = found['http.server.active_requests']
    assert active[0] == {'http.request.method': 'GET', 'url.scheme': 'http'}


def test_metrics_can_be_switched_off(bridged):
    app, tracer = bridged(**{'ot.otel.metrics': 'false'})
    app.get('/plain')
    assert tracer.meter_provider is None and tracer.metric_reader is None
    assert [type(p).__name__ for p in tracer.provider._active_span_processor._span_processors] == [
        'SimpleSpanProcessor']


def test_metrics_go_over_otlp_beside_the_spans(bridged):
    with OTLPReceiver() as receiver:
        app, tracer = bridged(**{'ot.otel.exporter': 'otlp', 'ot.otel.endpoint': receiver.endpoint})
        app.get('/hello/bob')
        assert tracer.force_flush()
        names = {name for name, _ in receiver.metrics}
        assert {'http.server.request.duration', 'http.server.active_requests'} <= names
        (points,) = [points for name, points in receiver.metrics
                     if name == 'http.server.request.duration']
        assert points[0]['http.route'] == '/hello/{name}'
        assert [path for path, *_ in receiver.requests] == ['/v1/traces']


@pytest.mark.parametrize('endpoint, expected', [
    ('http://collector:4318', 'http://collector:4318/v1/metrics'),
    ('http://collector:4318/base/v1/traces', 'http://collector:4318/base/v1/metrics'),
])
def test_the_metrics_url_is_derived_from_the_endpoint(endpoint, expected):
    assert BridgeOptions({'ot.otel.endpoint': endpoint}, {}).metrics_endpoint() == expected


@pytest.mark.parametrize('settings, named', [
    ({'ot.otel.exporter': 'otlp', 'ot.otel.endpoint': 'http://collector:4318/custom'},
     "ot.otel.endpoint = 'http://collector:4318/custom'"),
    ({'ot.otel.exporter': 'zipkin', 'ot.otel.metrics': 'true'}, "ot.otel.metrics = 'true'"),
    ({'ot.otel.metrics': 'sometimes'}, "ot.otel.metrics = 'sometimes'"),
    ({'ot.otel.install_global': 'maybe'}, "ot.otel.install_global = 'maybe'"),
    ({'ot.otel.provider': 'mine'}, "ot.otel.provider = 'mine'"),
    ({'ot.otel.provider': 'global', 'ot.otel.install_global': 'true', 'ot.otel.exporter': ''},
     "ot.otel.install_global = 'true'"),
])
def test_mistakes_fail_at_start_up_naming_the_setting(bridged, settings, named):
    with pytest.raises(ConfigurationError, match=named.replace('.', r'\.')):
        bridged(**settings)


def test_metrics_are_off_by_default_where_they_have_nowhere_to_go():
    assert BridgeOptions({'ot.otel.exporter': 'none'}, {}).metrics is False
    assert BridgeOptions({'ot.otel.exporter': 'zipkin'}, {}).metrics is False
    assert BridgeOptions({'ot.otel.exporter': 'memory'}, {}).metrics is True


# -- Zipkin ------------------------------------------------------------------

def test_spans_are_exported_to_zipkin_as_v2_json(bridged):
    with ZipkinReceiver() as receiver:
        app, tracer = bridged(**{'ot.otel.exporter': 'zipkin', 'ot.otel.endpoint': receiver.base_url,
                                 'ot.otel.service_name': 'shop'})
        app.get('/hello/bob', headers={
            'traceparent': '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'})
        assert tracer.force_flush()
        (span,) = receiver.spans
    assert receiver.content_types == ['application/json']
    assert span['name'] == 'GET /hello/{name}'
    assert span['kind'] == 'SERVER'
    assert span['traceId'] == '0af7651916cd43dd8448eb211c80319c'
    assert span['parentId'] == 'b7ad6b7169203331'
    assert span['localEndpoint']['serviceName'] == 'shop'
    assert span['tags']['http.route'] == '/hello/{name}'
    assert span['tags']['http.response.status_code'] == '200'


def test_a_full_zipkin_url_is_kept():
    url = 'http://zipkin:9411/api/v2/spans'
    assert BridgeOptions({'ot.otel.endpoint': url, 'ot.otel.exporter': 'zipkin'}, {}).zipkin_endpoint() == url


def test_zipkin_without_its_package_says_what_to_install(bridged, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, 'opentelemetry.exporter.zipkin.json', None)
    with pytest.raises(ConfigurationError, match=r'pip install|opentelemetry-exporter-zipkin-json'):
        bridged(**{'ot.otel.exporter': 'zipkin'})


# -- semantic conventions and scope ------------------------------------------

OLD = {'http.method', 'http.status_code', 'http.target', 'http.scheme', 'net.host.name',
       'net.host.port', 'http.user_agent', 'net.peer.ip', 'http.flavor'}


def test_http_dup_adds_the_old_attribute_names(bridged, monkeypatch):
    monkeypatch.setenv('OTEL_SEMCONV_STABILITY_OPT_IN', 'database, http/dup')
    app, tracer = bridged(**{'ot.trace_query_string': 'true'})
    app.get('/hello/bob?page=2', headers={'User-Agent': 'probe', 'Host': 'shop.example:8080'},
            extra_environ={'REMOTE_ADDR': '10.0.0.1'})
    (span,) = tracer.exporter.get_finished_spans()
    attributes = span.attributes
    assert OLD <= set(attributes)
    assert (attributes['http.method'], attributes['http.status_code'], attributes['http.target'],
            attributes['http.scheme'], attributes['net.host.name'], attributes['net.host.port'],
            attributes['http.user_agent'], attributes['net.peer.ip'], attributes['http.flavor']) == (
        'GET', 200, '/hello/bob?page=2', 'http', 'shop.example', 8080, 'probe', '10.0.0.1', '1.0')
    assert attributes['http.request.method'] == 'GET'  # the stable ones stay
    assert attributes['http.route'] == '/hello/{name}'


def test_http_dup_normalises_the_old_method_as_the_stable_one(bridged, monkeypatch):
    monkeypatch.setenv('OTEL_SEMCONV_STABILITY_OPT_IN', 'http/dup')
    app, tracer = bridged()
    app.request('/plain', method='PURGE')
    (span,) = tracer.exporter.get_finished_spans()
    assert (span.attributes['http.method'], span.attributes['http.request.method'],
            span.attributes['http.request.method_original']) == ('_OTHER', '_OTHER', 'PURGE')


def test_http_dup_metrics_have_one_series_for_every_unknown_method(bridged, monkeypatch):
    """A client inventing methods, schemes or protocols adds no series,
    nor entries to the count of requests in flight."""
    monkeypatch.setenv('OTEL_SEMCONV_STABILITY_OPT_IN', 'http/dup')
    app, tracer = bridged()
    for number in range(20):
        app.request('/plain', method='X%05d' % number, expect_errors=True,
                    environ={'SERVER_PROTOCOL': 'HTTP/9.%d' % number})
    found = metrics_of(tracer.metric_reader)
    assert len(found['http.server.duration']) == 1
    assert len(found['http.server.request.duration']) == 1
    (active,) = found['http.server.active_requests']
    assert active[0] == {'http.request.method': '_OTHER', 'url.scheme': 'http',
                         'http.method': '_OTHER', 'http.scheme': 'http', 'http.flavor': '_OTHER'}
    (attributes, _point), = found['http.server.duration']
    assert attributes['http.flavor'] == '_OTHER'


def test_a_metric_takes_an_unknown_scheme_as_other():
    from pyramid_opentracing.otel.metrics import ACTIVE_ATTRIBUTES, pick
    assert pick({'http.request.method': 'GET', 'url.scheme': 'gopher'}, ACTIVE_ATTRIBUTES) == {
        'http.request.method': 'GET', 'url.scheme': '_OTHER'}


@pytest.mark.parametrize('mode', ['http', ''])
def test_stable_attributes_only_by_default(bridged, monkeypatch, mode):
    monkeypatch.setenv('OTEL_SEMCONV_STABILITY_OPT_IN', mode)
    app, tracer = bridged()
    app.get('/hello/bob')
    (span,) = tracer.exporter.get_finished_spans()
    assert not OLD & set(span.attributes)


def test_spans_name_their_instrumentation_scope_version_and_schema(bridged):
    app, tracer = bridged()
    app.get('/plain')
    (span,) = tracer.exporter.get_finished_spans()
    scope = span.instrumentation_scope
    assert (scope.name, scope.version, scope.schema_url) == (
        'pyramid_opentracing', version('pyramid_opentracing'), SCHEMA_URL)
