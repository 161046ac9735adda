"""A Host header is the client's: one rule says when it is a host, for the
``http.url`` tag of every tracer and the OpenTelemetry address attributes."""
import pytest
import webtest
from opentracing.mocktracer import MockTracer
from pyramid.exceptions import ConfigurationError

from pyramid_opentracing.otel.options import BridgeOptions

from . import apps
from .conftest import server_span

BRIDGE = 'pyramid_opentracing.otel.tracer_from_settings'

#: Host headers that are no host name or address with a port.
CRAFTED = ['evil.example:99999999', 'a b<script>', 'h' * 5000, 'evil.example:80x',
           'evil.example:', '[::1', 'h' * 254 + ':8080', '%3Cscript%3E', '...', '-', 'a..b',
           '-a.example', 'a-.example', 'évil.example', 'h' * 64 + '.example', '999.0.0.1',
           '10.0.0.1.2', '[::1]]:80', '[fe80::1%eth0]', '[::g]', 'evil.example:0080',
           'evil.example:+80', 'evil.example:٣']


#: A DNS name of 253 characters: four labels of 63, 63, 63 and 61.
LONGEST_NAME = '.'.join(['h' * 63] * 3 + ['h' * 61])


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
    ('shop.example.:8080', 'http://shop.example.:8080/plain'),
    ('my_host', 'http://my_host/plain'),
    (LONGEST_NAME, 'http://%s/plain' % LONGEST_NAME),
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


@pytest.mark.parametrize('host', CRAFTED)
def test_a_crafted_host_gives_the_servers_own_address_and_port(monkeypatch, host):
    """As for ``http.url``: a Host that is no host (with a port or none)
    gives way to ``SERVER_NAME`` and ``SERVER_PORT`` as a whole, never half
    of it (a port next to no address, or the client's port beside the
    server's name)."""
    for variable in ('OTEL_TRACES_EXPORTER', 'OTEL_SERVICE_NAME', 'OTEL_PROPAGATORS'):
        monkeypatch.delenv(variable, raising=False)
    app = apps.make_app({'ot.trace_all': 'true', 'ot.base_tracer_func': BRIDGE,
                         'ot.otel.exporter': 'memory'})
    tracer = app.registry.settings['ot.tracer'].tracer
    try:
        webtest.TestApp(app).get('/plain', extra_environ={
            'HTTP_HOST': host, 'SERVER_NAME': 'server.internal', 'SERVER_PORT': '8000'})
        [span] = tracer.exporter.get_finished_spans()
    finally:
        tracer.shutdown()
    assert span.attributes['server.address'] == 'server.internal'
    assert span.attributes['server.port'] == 8000


#: SERVER_NAME and SERVER_PORT as a server copies them from a crafted Host
#: (gunicorn on a unix socket): no better than the Host header.
CRAFTED_SERVER = [('S3CRET@evil.example', '0080'), ('a', 'b:c'), ('x', '99999'),
                  ('[', '99999'), ('-bad-', '80'), ('ex..ample', '80')]


@pytest.mark.parametrize('name, port', CRAFTED_SERVER)
def test_a_crafted_server_name_is_no_host_either(traced_app, monkeypatch, name, port):
    app, tracer = traced_app(MockTracer())
    app.get('/plain', extra_environ={'HTTP_HOST': 'a b', 'SERVER_NAME': name, 'SERVER_PORT': port})
    assert server_span(tracer).tags['http.url'] == 'http://unknown.invalid/plain'
    for variable in ('OTEL_TRACES_EXPORTER', 'OTEL_SERVICE_NAME', 'OTEL_PROPAGATORS'):
        monkeypatch.delenv(variable, raising=False)
    bridged = apps.make_app({'ot.trace_all': 'true', 'ot.base_tracer_func': BRIDGE,
                             'ot.otel.exporter': 'memory'})
    bridge = bridged.registry.settings['ot.tracer'].tracer
    try:
        webtest.TestApp(bridged).get('/plain', extra_environ={
            'HTTP_HOST': 'a b', 'SERVER_NAME': name, 'SERVER_PORT': port})
        [span] = bridge.exporter.get_finished_spans()  # traced, not failed
    finally:
        bridge.shutdown()
    assert 'server.address' not in span.attributes and 'server.port' not in span.attributes


def test_an_endpoint_whose_host_is_longer_than_any_host_name_fails_at_start_up():
    with pytest.raises(ConfigurationError, match='is not a host name or address'):
        BridgeOptions({'ot.otel.endpoint': 'http://%s:4318' % ('h' * 254)}, {})
