"""The examples do what the README says: in process, and by their one-line command."""
import json
import os
import subprocess
import sys

import pytest
import webtest
from opentracing.mocktracer import MockTracer
from pyramid.paster import get_app

from examples import client_server, decorator_app, tween_app

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_example(module):
    """Run ``python -m <module>`` from the repository root, as the README says; its output."""
    done = subprocess.run([sys.executable, '-m', module], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def by_name(spans):
    named = {span.operation_name: span for span in spans}
    assert len(named) == len(spans), [span.operation_name for span in spans]
    return named


def assert_child(child, parent):
    assert child.context.trace_id == parent.context.trace_id
    assert child.parent_id == parent.context.span_id


def test_tween_app_nests_the_view_spans_under_the_server_span():
    tracer = MockTracer()
    webtest.TestApp(tween_app.make_app(tracer)).get('/orders/1')
    spans = by_name(tracer.finished_spans())
    assert set(spans) == {'order', 'load order', 'price items'}
    server = spans['order']
    assert server.parent_id is None
    assert server.tags['span.kind'] == 'server'
    assert server.tags['order.id'] == '1'
    assert_child(spans['load order'], server)
    assert_child(spans['price items'], spans['load order'])


def test_tween_app_tags_the_status_of_a_missing_order():
    tracer = MockTracer()
    webtest.TestApp(tween_app.make_app(tracer)).get('/orders/9', status=404)
    assert by_name(tracer.finished_spans())['order'].tags['http.status_code'] == 404


def test_tween_app_command_prints_a_tree_per_request():
    output = run_example('examples.tween_app')
    assert 'GET /orders/1 -> 200 OK' in output
    assert 'GET /orders/9 -> 404 Not Found' in output
    load = output.index('`-- load order')
    price = output.index('`-- price items', load)
    line_start = output.rindex('\n', 0, price) + 1
    assert price - line_start > load - (output.rindex('\n', 0, load) + 1), 'not nested'


@pytest.fixture
def decorated():
    """The decorator example's app; its module-level MockTracer emptied before and after."""
    recorder = decorator_app.tracer.tracer
    recorder.reset()
    yield webtest.TestApp(decorator_app.make_app()), recorder
    recorder.reset()


def test_decorator_app_has_no_tween(decorated):
    app, recorder = decorated
    assert 'ot.tracer' not in app.app.registry.settings
    app.get('/health')
    assert recorder.finished_spans() == []


def test_decorator_app_traces_a_function_view_with_its_attributes(decorated):
    app, recorder = decorated
    app.get('/hello/alice')
    [span] = recorder.finished_spans()
    assert span.operation_name == 'hello'
    assert (span.tags['method'], span.tags['path']) == ('GET', '/hello/alice')


def test_decorator_app_traces_a_context_request_view(decorated):
    app, recorder = decorated
    app.get('/about', headers={'User-Agent': 'test-agent'})
    [span] = recorder.finished_spans()
    assert span.operation_name == 'about'
    assert span.tags['user_agent'] == 'test-agent'


def test_decorator_app_traces_a_scanned_class_view_method(decorated):
    app, recorder = decorated
    assert app.get('/orders/7').json == {'id': '7'}
    spans = by_name(recorder.finished_spans())
    assert set(spans) == {'order', 'load order'}
    assert spans['order'].tags['order.id'] == '7'
    assert spans['order'].tags['matchdict'] == 'order_id: 7'
    assert_child(spans['load order'], spans['order'])


def test_decorator_app_command_prints_spans_of_decorated_views_only():
    output = run_example('examples.decorator_app')
    assert '  hello  [trace' in output
    assert '  about  [trace' in output
    assert '`-- load order' in output
    assert 'GET /health -> 200 OK\n  (no spans)' in output


def test_client_server_continues_the_trace_in_the_called_service():
    [(item, answer, spans)] = client_server.buy_items(['tea'], client_server.SpanCollector())
    assert answer == {'item': 'tea', 'bought': True}
    spans = by_name(spans)
    assert set(spans) == {'buy', 'GET /stock/tea', 'stock', 'count stock'}
    shop, call, inventory = spans['buy'], spans['GET /stock/tea'], spans['stock']
    assert shop.parent_id is None
    assert (shop.tags['service'], inventory.tags['service']) == ('shop', 'inventory')
    assert call.tags['span.kind'] == 'client'
    assert_child(call, shop)
    assert_child(inventory, call)  # came through the HTTP headers
    assert_child(spans['count stock'], inventory)


def test_client_server_command_prints_one_tree_across_both_services():
    output = run_example('examples.client_server')
    for item in client_server.ITEMS:
        tree = output.split('GET /buy/%s -> ' % item)[1].split('\n\n')[0]
        assert 'service=shop' in tree and 'service=inventory' in tree
        assert '            `-- count stock' in tree  # four levels deep


def exported_spans(text):
    """The JSON objects ConsoleSpanExporter wrote, one after the other, in ``text``."""
    decoder = json.JSONDecoder()
    spans, position = [], 0
    text = text.strip()
    while position < len(text):
        span, position = decoder.raw_decode(text, position)
        spans.append(span)
        while position < len(text) and text[position].isspace():
            position += 1
    return spans


def test_development_ini_traces_to_the_console(capsys):
    app = webtest.TestApp(get_app(os.path.join(ROOT, 'development.ini')))
    assert app.get('/hello/world').json == {'hello': 'world'}
    spans = exported_spans(capsys.readouterr().out)
    [server] = [span for span in spans if span['kind'] == 'SpanKind.SERVER']
    [nested] = [span for span in spans if span['name'] == 'compose greeting']
    [view] = [span for span in spans if span['name'] == 'view examples.demo.hello']
    assert server['attributes']['pyramid.route'] == 'hello'
    assert server['attributes']['path'] == '/hello/world'
    assert server['resource']['attributes']['service.name'] == 'pyramid-demo'
    assert view['parent_id'] == server['context']['span_id']  # ot.trace_internals
    assert nested['parent_id'] == view['context']['span_id']
    assert nested['context']['trace_id'] == server['context']['trace_id']
