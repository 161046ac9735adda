"""The README's Python examples run, and do what the README says."""
import linecache
import pathlib
import re

import webtest
from pyramid.testing import DummyRequest

README = pathlib.Path(__file__).resolve().parent.parent / 'README.rst'


def python_blocks(section):
    """The ``.. code-block:: python`` blocks of one README section, dedented."""
    text = README.read_text(encoding='utf-8')
    body = re.split(r'\n%s\n-+\n' % re.escape(section), text)[1]
    body = re.split(r'\n[^\n]+\n-{3,}\n', body)[0]
    blocks = re.findall(r'\.\. code-block:: python\n\n((?:    .*\n|\n)+)', body)
    return [re.sub(r'(?m)^    ', '', block) for block in blocks]


def run(block, namespace, number=0):
    """exec ``block`` with its source known to linecache, as view_config needs."""
    filename = '<README.rst block %d>' % number
    linecache.cache[filename] = (len(block), None, block.splitlines(True), filename)
    exec(compile(block, filename, 'exec'), namespace)


def test_quick_start_example_traces_requests():
    namespace = {}
    [block] = python_blocks('Quick start')
    run(block, namespace)
    webtest.TestApp(namespace['app']).get('/', status=404)
    [span] = namespace['my_opentracing_tracer'].finished_spans()
    assert span.operation_name == 'GET'
    assert span.tags['http.status_code'] == 404 and span.tags['host'] == 'localhost:80'
    assert namespace['tracer'].tracer is namespace['my_opentracing_tracer']


def test_single_view_examples_trace_the_view():
    namespace = {}
    for number, block in enumerate(python_blocks('Tracing single views')):
        run(block, namespace, number)
    request = DummyRequest(headers={'Authorization': 'Bearer secret'})
    assert namespace['hello'](request) == {'hello': 'world'}
    [span] = namespace['tracer'].tracer.finished_spans()
    assert span.tags['greeting'] == 'hello' and span.tags['method'] == 'GET'
    assert 'secret' not in span.tags['headers']
    assert namespace['hello'].__name__ == 'hello'
    assert namespace['report'].__name__ == 'report'
