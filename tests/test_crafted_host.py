"""A Host header is the client's: one rule says when it is a host, for the
``http.url`` tag of every tracer and the OpenTelemetry address attributes."""
import pytest
import webtest
from opentracing.mocktracer import MockTracer
from pyramid.exceptions import ConfigurationError

from pyramid_opentracing.otel.options import BridgeOptions
from pyramid_opentracing.request_tags import host_and_port

from . import apps
from .conftest import server_span

BRIDGE = 'pyramid_opentracing.otel.tracer_from_settings'

#: Host headers that are no host name or address with a port.
CRAFTED = ['evil.example:99999999', 'a b<script>', 'h' * 5000, 'evil.example:80x',
           'evil.example:', '[::1', 'h' * 254 + ':8080']


@pytest.mark.parametrize('host', CRAFTED)
def test_a_crafted_host_is_replaced_by_the_servers_name_in_http_url(traced_app, host):
    app, tracer = traced_app(MockTracer())
    app.get('/plain', extra_environ={'HTTP_HOST': host, 'SERVER_NAME': 'server.internal',
                                     'SERVER_PORT': '8080'})
    assert server_span(tracer).tags['http.url'] == 'http://server.internal:8080/plain'


@pytest.mark.parametrize('host, url', [
    ('shop.example:8080', 'http://shop.example:8080/plain'),
    ('shop.example:80', 'http://shop.example/plain'),
    ('shop.example', 'http://shop.example/plain'),
    ('[::1]:8080', 'http://[::1]:8080/plain'),
    ('[fe80::1%25eth0]', 'http://[fe80::1%25eth0]/plain'),
    ('10.0.0.1:0', 'http://10.0.0.1:0/plain'),
    ('bob:pw@shop.example:8080', 'http://shop.example:8080/plain'),
    ('h' * 253, 'http://%s/plain' % ('h' * 253)),
])
def test_a_host_with_a_port_or_none_makes_http_url(traced_app, host, url):
    app, tracer = traced_app(MockTracer(), **{'ot.max_tag_length': '4096'})
    app.get('/plain', extra_environ={'HTTP_HOST': host})
    assert server_span(tracer).tags['http.url'] == url


def test_the_schemes_default_port_is_left_out_of_http_url(traced_app):
    app, tracer = traced_app(MockTracer())
    app.get('/plain', extra_environ={'HTTP_HOST': 'shop.example:443', 'wsgi.url_scheme': 'https'})
    app.get('/plain', extra_environ={'HTTP_HOST': 'shop.example:80', 'wsgi.url_scheme': 'https'})
    app.get('/plain', extra_environ={'HTTP_HOST': 'evil.example:x', 'wsgi.url_scheme': 'https',
                                     'SERVER_NAME': 'server.internal', 'SERVER_PORT': '443'})
    assert [span.tags['http.url'] for span in tracer.finished_spans()] == [
        'https://shop.example/plain', 'https://shop.example:80/plain',
        'https://server.internal/plain']


def test_without_a_host_header_http_url_has_the_servers_name(traced_app):
    app, tracer = traced_app(MockTracer())
    app.get('/plain', extra_environ={'HTTP_HOST': '', 'SERVER_NAME': 'server.internal',
                                     'SERVER_PORT': '80'})
    assert server_span(tracer).tags['http.url'] == 'http://server.internal/plain'


def test_a_host_longer_than_any_host_name_is_no_server_address(monkeypatch):
    for variable in ('OTEL_TRACES_EXPORTER', 'OTEL_SERVICE_NAME', 'OTEL_PROPAGATORS'):
        monkeypatch.delenv(variable, raising=False)
    app = apps.make_app({'ot.trace_all': 'true', 'ot.base_tracer_func': BRIDGE,
                         'ot.otel.exporter': 'memory'})
    tracer = app.registry.settings['ot.tracer'].tracer
    try:
        webtest.TestApp(app).get('/plain', extra_environ={'HTTP_HOST': 'h' * 5000 + ':8080'})
        [span] = tracer.exporter.get_finished_spans()
    finally:
        tracer.shutdown()
    assert 'server.address' not in span.attributes
    assert span.attributes['server.port'] == 8080


@pytest.mark.parametrize('host, parts', [
    ('shop.example:8080', ('shop.example', 8080)),
    ('evil.example:99999999', ('evil.example', None)),
    ('a b<script>:8080', (None, 8080)),
    ('[::1]', ('[::1]', None)),
    ('h' * 254, (None, None)),
])
def test_host_and_port_keeps_what_is_a_host_name_or_a_port(host, parts):
    assert host_and_port(host) == parts


def test_an_endpoint_whose_host_is_longer_than_any_host_name_fails_at_start_up():
    with pytest.raises(ConfigurationError, match='is not a host name or address'):
        BridgeOptions({'ot.otel.endpoint': 'http://%s:4318' % ('h' * 254)}, {})
