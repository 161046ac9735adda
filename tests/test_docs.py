"""The Sphinx pages in docs/ build with ``-W``, their generated reference
follows the code, and every code example in them (and in the README) runs and
does what the page says."""
import html
import importlib.util
import json
import logging
import os
import re
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import opentracing
import pytest
import webtest
from opentracing.mocktracer import MockTracer
from pyramid.config import Configurator
from pyramid.testing import DummyRequest

from pyramid_opentracing import PyramidTracer

from .rst_blocks import DOCS, PAGES, all_blocks, app_settings, block, blocks, ini, run

BRIDGE_FACTORY = 'pyramid_opentracing.otel.tracer_from_settings'


def reference():
    """docs/_ext/reference.py, the extension that writes the generated sections."""
    spec = importlib.util.spec_from_file_location('docs_reference', DOCS / '_ext' / 'reference.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- the build ------------------------------------------------------------------

@pytest.fixture(scope='module')
def built(tmp_path_factory):
    """The HTML pages, built as CI builds them: every warning an error."""
    out = tmp_path_factory.mktemp('html')
    result = subprocess.run(
        [sys.executable, '-m', 'sphinx', '-W', '--keep-going', '-q', '-b', 'html',
         str(DOCS), str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return out


def page_text(built, name):
    return html.unescape((built / (name + '.html')).read_text(encoding='utf-8'))


def test_the_docs_build_without_a_warning(built):
    for page in DOCS.glob('*.rst'):
        assert (built / (page.stem + '.html')).exists(), page
    assert 'tracing-panel.png' in os.listdir(built / '_images')


def test_the_settings_page_lists_every_setting_with_its_variables(built):
    text = page_text(built, 'settings')
    rows = reference().settings_rows()
    assert {'ot.trace_all', 'ot.tracing', 'ot.otel.metrics', 'ot.otel.endpoint'} <= {
        row.name for row in rows}
    for row in rows:
        assert row.name in text and row.doc
        for variable in row.env:
            assert variable in text


def literals(rst):
    """The ````literal```` parts of a reStructuredText snippet, else its text."""
    return re.findall(r'``(.+?)``', rst) or [rst]


def test_the_security_page_lists_every_rule_of_the_scrubber(built):
    text = re.sub(r'<[^>]+>', '', page_text(built, 'security'))
    rules = reference().secret_rules()
    assert len(rules) >= 3
    for title, explanation, items in rules:
        assert title in text
        for part in literals(explanation) + [part for item in items for part in literals(item)]:
            assert part in text, part
    assert 'token' in text and 'masterkey' in text  # a stem and an ending, whatever the source


def test_the_settings_rows_are_the_public_rows_of_config_settings():
    from pyramid_opentracing.config import SETTINGS
    rows = reference().settings_rows()
    assert [row.name for row in rows] == [row.name for row in SETTINGS if not row.internal]
    assert all(row.doc for row in rows)
    [trace_all] = [row for row in rows if row.name == 'ot.trace_all']
    assert trace_all.default == 'false'


def test_the_rules_are_read_from_describe_rules(monkeypatch):
    from pyramid_opentracing import redaction
    rules = [('Secret stems', 'A name holding one of these is secret:', ['``token``'])]
    monkeypatch.setattr(redaction, 'describe_rules', lambda: rules)
    assert reference().secret_rules() == rules


def test_the_api_page_documents_the_public_names(built):
    documented = set(re.findall(r'id="(pyramid_opentracing[\w.]*)"', page_text(built, 'api')))
    assert {'pyramid_opentracing.' + name for name in (
        'includeme', 'PyramidTracer', 'PyramidTracer.trace', 'PyramidTracer.get_span',
        'PyramidTracing', 'trace', 'get_span', 'otel.tracer_from_settings', 'otel.BridgeTracer',
        'outgoing.http_request', 'outgoing.urlopen', 'outgoing.traced_session',
        'outgoing.TracingAdapter', 'outgoing.client_span', 'outgoing.outgoing_headers',
        'log_context.TraceContextFilter', 'log_context.TraceContextFormatter',
        'toolbar.TracingPanel')} <= documented
    assert not [name for name in documented if '._' in name]


def test_the_changes_page_is_the_changelog(built):
    assert '2.0.0' in page_text(built, 'changes')


# -- what the pages say ---------------------------------------------------------

def test_every_setting_the_pages_name_exists():
    known = {row.name for row in reference().settings_rows()}
    named = set()
    for page in PAGES:
        named.update(re.findall(r'``(ot\.[a-z_.]*[a-z_])(?: = [^`]*)?``', page.read_text(encoding='utf-8')))
    for example in all_blocks(('ini',)):
        parsed = ini(example)
        for section in parsed.sections():
            named.update(key for key in parsed[section] if key.startswith('ot.'))
    assert named and named - known == set()


def test_every_example_is_named_once_and_found():
    names = []
    for page in PAGES:
        text = page.read_text(encoding='utf-8')
        found = blocks(page)
        assert len(found) == text.count('.. code-block::'), page  # none missed by the parser
        names += [example.name for example in found if example.language != 'console']
    assert None not in names and len(names) == len(set(names))


#: The examples with a test of their own below (or in test_readme.py); every
#: other example runs in the generic tests.
OWN_TESTS = {
    'quick-start-ini', 'quick-start-python', 'child-spans', 'trace-decorator',
    'tracer-factory-ini', 'factory-jaeger', 'factory-otel', 'factory-basictracer',
    'tracer-trace', 'module-trace', 'child-span-view', 'otel-child-spans', 'outgoing-calls',
    'selection-ini', 'should-trace', 'log-formatter-ini', 'log-dictconfig',
}


def test_every_example_with_a_test_of_its_own_exists():
    assert OWN_TESTS <= {example.name for example in all_blocks()}


def other_examples(language):
    return [pytest.param(example, id=example.name) for example in all_blocks((language,))
            if example.name not in OWN_TESTS]


@pytest.fixture
def myapp(tmp_path, monkeypatch):
    """write(code): ``myapp.tracing`` holding ``code``, importable."""
    (tmp_path / 'myapp').mkdir()
    (tmp_path / 'myapp' / '__init__.py').write_text('')
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(code):
        (tmp_path / 'myapp' / 'tracing.py').write_text(code)
        for name in ('myapp.tracing', 'myapp'):
            sys.modules.pop(name, None)
    yield write
    for name in ('myapp.tracing', 'myapp'):
        sys.modules.pop(name, None)


MYAPP_TRACING = block('should-trace').source + textwrap.dedent('''
    from opentracing.mocktracer import MockTracer

    def make_tracer(**settings):
        return MockTracer()
    ''')


def serve(settings, tracer=None):
    """An app of ``settings`` (one route, ``/``), made and asked once.

    The bridge exports to memory (there is no collector here); where the
    settings name no tracer, ``tracer`` (a MockTracer) is the base tracer.
    Returns the app, the PyramidTracer, and the finished spans' names."""
    settings = dict(settings)
    sources = ('ot.tracer', 'ot.tracing', 'ot.base_tracer', 'ot.base_tracer_func',
               'ot.tracing_callable', 'ot.tracer_callable')
    if settings.get('ot.base_tracer_func') == BRIDGE_FACTORY:
        settings['ot.otel.exporter'] = 'memory'
    elif not any(name in settings for name in sources):
        settings['ot.base_tracer'] = tracer or MockTracer()
    config = Configurator(settings=settings)  # runs pyramid.includes and pyramid.tweens
    config.add_route('home', '/')
    config.add_view(lambda request: 'home', route_name='home', renderer='string')
    app = webtest.TestApp(config.make_wsgi_app())
    app.get('/', extra_environ={'REMOTE_ADDR': '127.0.0.1'})
    pyramid_tracer = config.registry.settings['ot.tracer']
    base = pyramid_tracer.tracer
    if hasattr(base, 'exporter'):
        names = [span.name for span in base.exporter.get_finished_spans()]
        base.shutdown()
    else:
        names = [span.operation_name for span in base.finished_spans()]
    return app, pyramid_tracer, names


@pytest.mark.parametrize('example', other_examples('ini'))
def test_an_ini_example_makes_an_app_that_traces(example, myapp, caplog):
    """Every setting in it is read (none warned as unknown), and with
    ``ot.trace_all`` the request is traced."""
    myapp(MYAPP_TRACING)
    settings = app_settings(example)
    with caplog.at_level(logging.WARNING, logger='pyramid_opentracing'):
        _, pyramid_tracer, names = serve(settings)
    assert isinstance(pyramid_tracer, PyramidTracer)
    assert not [record for record in caplog.records if 'unknown setting' in record.getMessage()]
    if settings.get('ot.trace_all') == 'true':
        assert names == ['GET /' if 'ot.base_tracer_func' in settings else 'home']


@pytest.mark.parametrize('example', other_examples('python'))
def test_a_python_example_runs(example):
    namespace = run(example, {})
    if 'app' in namespace:
        webtest.TestApp(namespace['app']).get('/', status=404)


# -- settings.rst ---------------------------------------------------------------

def factory_app(myapp, factory, extra=None):
    myapp(block(factory).source)
    settings = dict(app_settings(block('tracer-factory-ini')), **(extra or {}))
    config = Configurator(settings=settings)  # runs pyramid.includes
    config.add_route('hello', '/hello/{name}')
    config.add_view(lambda request: 'hello', route_name='hello', renderer='string')
    return webtest.TestApp(config.make_wsgi_app()), config.registry.settings['ot.tracer']


def test_the_ini_runs_with_the_jaeger_client_factory(myapp):
    app, pyramid_tracer = factory_app(myapp, 'factory-jaeger')
    try:
        assert type(pyramid_tracer.tracer).__module__.startswith('jaeger_client')
        app.get('/hello/world', headers={'uber-trace-id': '1:2:0:1'})
        assert pyramid_tracer.tracer.service_name == 'myapp'
    finally:
        pyramid_tracer.tracer.close()


def test_the_ini_runs_with_the_otel_bridge_factory(myapp, monkeypatch):
    for variable in ('OTEL_SERVICE_NAME', 'OTEL_TRACES_EXPORTER'):
        monkeypatch.delenv(variable, raising=False)
    app, pyramid_tracer = factory_app(myapp, 'factory-otel', {'ot.otel.exporter': 'memory'})
    bridge = pyramid_tracer.tracer
    try:
        app.get('/hello/world')
        [span] = bridge.exporter.get_finished_spans()
        assert span.name == 'GET /hello/{name}'
        assert span.resource.attributes['service.name'] == 'myapp'
        assert span.attributes['method'] == 'GET'  # ot.traced_attributes of the INI
    finally:
        bridge.shutdown()


def test_the_ini_runs_with_the_basictracer_factory(myapp):
    app, pyramid_tracer = factory_app(myapp, 'factory-basictracer')
    tracer = pyramid_tracer.tracer
    assert type(tracer).__name__ == 'BasicTracer'
    app.get('/hello/world', headers={'ot-tracer-traceid': 'a1', 'ot-tracer-spanid': 'b2',
                                     'ot-tracer-sampled': 'true'})
    carrier = {}
    with tracer.start_active_span('call') as scope:
        tracer.inject(scope.span.context, opentracing.Format.HTTP_HEADERS, carrier)
    assert 'ot-tracer-traceid' in carrier


def test_the_basictracer_factory_works_where_register_required_propagators_fails():
    """With protobuf's default (C++) runtime, as a newcomer's virtualenv has it."""
    script = block('factory-basictracer').source + textwrap.dedent('''
        make_tracer()
        print('factory ok')
        from basictracer import BasicTracer
        BasicTracer().register_required_propagators()
        ''')
    env = {key: value for key, value in os.environ.items()
           if key != 'PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION'}
    result = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.stdout.split() == ['factory', 'ok']
    assert 'Descriptors cannot be created directly' in result.stderr


# -- spans.rst ------------------------------------------------------------------

def test_the_single_view_examples_trace_the_view():
    namespace = run(block('tracer-trace'), {})
    run(block('module-trace'), namespace)
    request = DummyRequest(headers={'Authorization': 'Bearer secret'})
    assert namespace['hello'](request) == {'hello': 'world'}
    [span] = namespace['tracer'].tracer.finished_spans()
    assert span.tags['greeting'] == 'hello' and span.tags['method'] == 'GET'
    assert 'secret' not in span.tags['headers']
    assert namespace['hello'].__name__ == 'hello'
    assert namespace['report'].__name__ == 'report'


def traced_app(view, tracer, path='/checkout'):
    config = Configurator(settings={'ot.trace_all': True, 'ot.base_tracer': tracer})
    config.include('pyramid_opentracing')
    config.add_route('checkout', path)
    config.add_view(view, route_name='checkout', renderer='json')
    return webtest.TestApp(config.make_wsgi_app())


def test_a_span_a_view_starts_is_a_child_of_the_server_span():
    namespace = run(block('child-span-view'), {})
    tracer = MockTracer()
    assert traced_app(namespace['checkout'], tracer).get('/checkout').json == {'ok': True}
    child, server = tracer.finished_spans()
    assert server.operation_name == 'checkout' and server.tags['cart.items'] == 3
    assert child.operation_name == 'reserve stock' and child.tags['warehouse'] == 'north'
    assert child.parent_id == server.context.span_id
    assert child.context.trace_id == server.context.trace_id


# -- opentelemetry.rst ----------------------------------------------------------

def test_both_apis_start_children_of_the_bridges_server_span(monkeypatch):
    monkeypatch.delenv('OTEL_TRACES_EXPORTER', raising=False)
    from pyramid_opentracing.otel import tracer_from_settings
    namespace = run(block('otel-child-spans'), {})
    bridge = tracer_from_settings(**{'ot.otel.exporter': 'memory'})
    try:
        traced_app(namespace['charge'], bridge, '/charge').get('/charge')
        spans = {span.name: span for span in bridge.exporter.get_finished_spans()}
    finally:
        bridge.shutdown()
    server = spans['GET /charge']
    for name in ('reserve stock', 'charge card'):
        assert spans[name].parent.span_id == server.context.span_id
        assert spans[name].context.trace_id == server.context.trace_id
    assert spans['reserve stock'].attributes['items'] == 3
    assert spans['charge card'].attributes['amount'] == 42


# -- propagation.rst ------------------------------------------------------------

@pytest.fixture
def json_service():
    """A loopback HTTP service answering JSON; ``.headers``: what each call sent."""
    calls = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            calls.append({key.lower(): value for key, value in self.headers.items()})
            body = json.dumps({'path': self.path}).encode()
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.calls = calls
    server.url = 'http://127.0.0.1:%d' % server.server_address[1]
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_outgoing_calls_are_client_spans_carrying_the_trace(json_service):
    namespace = run(block('outgoing-calls'), {})
    namespace['STOCK_URL'] = json_service.url + '/items'
    namespace['PRICES_URL'] = json_service.url + '/today'
    tracer = MockTracer()
    body = traced_app(namespace['checkout'], tracer).get('/checkout').json
    assert body['stock'] == {'path': '/items'} and body['prices'] == {'path': '/today'}
    assert 'accept' in [name.lower() for name in body['sent']]
    assert 'ot-tracer-traceid' in body['sent']
    *clients, server = tracer.finished_spans()
    assert [span.tags['span.kind'] for span in clients] == ['client'] * 3
    for span in clients:
        assert span.parent_id == server.context.span_id
    assert [call['ot-tracer-traceid'] for call in json_service.calls] == [
        '%x' % server.context.trace_id] * 3
    from pyramid_opentracing import outgoing
    session = namespace['stock_session']({'ot.tracer': PyramidTracer(tracer)})
    assert isinstance(session.get_adapter(json_service.url), outgoing.TracingAdapter)


# -- selection.rst --------------------------------------------------------------

def test_the_selection_example_leaves_out_what_it_says(myapp):
    myapp(MYAPP_TRACING)
    tracer = MockTracer()
    settings = app_settings(block('selection-ini'))
    app, _, names = serve(settings, tracer)  # '/' is traced
    app.get('/healthz', status=404)
    app.get('/_debug_toolbar/static/x.css', status=404)
    app.get('/', headers={'X-Synthetic-Check': '1'})
    app.get('/', headers={'X-Synthetic-Check': '0'})
    assert [span.operation_name for span in tracer.finished_spans()] == ['home', 'home']


# -- logging.rst ----------------------------------------------------------------

def record_in_span(format_record, monkeypatch):
    tracer = MockTracer()
    monkeypatch.setattr(opentracing, 'tracer', tracer)
    with tracer.start_active_span('work') as scope:
        line = format_record()
        context = scope.span.context
    return line, '%x' % context.trace_id, '%x' % context.span_id


def test_the_formatter_of_the_ini_puts_the_ids_in_each_line(monkeypatch):
    section = ini(block('log-formatter-ini'))['formatter_generic']
    module, _, name = section['class'].rpartition('.')
    formatter = getattr(__import__(module, fromlist=[name]), name)(section['format'])
    record = logging.LogRecord('myapp', logging.INFO, __file__, 1, 'paid', (), None)
    line, trace_id, span_id = record_in_span(lambda: formatter.format(record), monkeypatch)
    assert line.endswith(' trace_id=%s span_id=%s paid' % (trace_id, span_id))


def test_the_dictconfig_filter_puts_the_ids_in_each_line(monkeypatch, capsys):
    logger = logging.getLogger('myapp')
    try:
        run(block('log-dictconfig'), {})
        line, trace_id, span_id = record_in_span(lambda: logger.info('paid'), monkeypatch)
    finally:
        for handler in logger.handlers[:]:
            logger.removeHandler(handler)
    assert capsys.readouterr().err == '%s %s paid\n' % (trace_id, span_id)
