"""The README's Python examples run, and do what the README says."""
import configparser
import os
import linecache
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap

import opentracing
import pytest
import webtest
from pyramid.config import Configurator
from pyramid.testing import DummyRequest

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / 'README.rst'


def code_blocks(section, language='python'):
    """The ``.. code-block::`` blocks of one README section, dedented."""
    text = README.read_text(encoding='utf-8')
    body = re.split(r'\n%s\n-+\n' % re.escape(section), text)[1]
    body = re.split(r'\n[^\n]+\n-{3,}\n', body)[0]
    blocks = re.findall(r'\.\. code-block:: %s\n\n((?:    .*\n|\n)+)' % language, body)
    return [re.sub(r'(?m)^    ', '', block) for block in blocks]


def python_blocks(section):
    return code_blocks(section)


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


def ini_settings(section):
    """The ``[app:main]`` settings of the README's INI block in ``section``."""
    [block] = code_blocks(section, 'ini')
    parser = configparser.ConfigParser()
    parser.read_string(block)
    return {key: value for key, value in parser['app:main'].items() if key != 'use'}


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


def quick_start_app(extra=None):
    """The INI quick start's settings, made into an app with one route."""
    settings = dict(ini_settings('Quick start'), **(extra or {}))
    config = Configurator(settings=settings)  # runs pyramid.includes
    config.add_route('hello', '/hello/{name}')
    config.add_view(lambda request: 'hello', route_name='hello', renderer='string')
    return webtest.TestApp(config.make_wsgi_app()), config.registry.settings['ot.tracer']


def test_the_ini_quick_start_runs_with_the_jaeger_client_factory(myapp):
    jaeger_factory, _, _ = python_blocks('Your tracer factory')
    myapp(jaeger_factory)
    app, pyramid_tracer = quick_start_app()
    try:
        assert type(pyramid_tracer.tracer).__module__.startswith('jaeger_client')
        app.get('/hello/world', headers={'uber-trace-id': '1:2:0:1'})
        assert pyramid_tracer.tracer.service_name == 'myapp'
    finally:
        pyramid_tracer.tracer.close()


def test_the_ini_quick_start_runs_with_the_otel_bridge_factory(myapp, monkeypatch):
    for variable in ('OTEL_SERVICE_NAME', 'OTEL_TRACES_EXPORTER'):
        monkeypatch.delenv(variable, raising=False)
    _, bridge_factory, _ = python_blocks('Your tracer factory')
    myapp(bridge_factory)
    app, pyramid_tracer = quick_start_app({'ot.otel.exporter': 'memory'})
    bridge = pyramid_tracer.tracer
    try:
        app.get('/hello/world')
        [span] = bridge.exporter.get_finished_spans()
        assert span.name == 'GET /hello/{name}'
        assert span.resource.attributes['service.name'] == 'myapp'
        assert span.attributes['method'] == 'GET'  # ot.traced_attributes of the INI
    finally:
        bridge.shutdown()


def test_the_ini_quick_start_runs_with_the_basictracer_factory(myapp):
    _, _, basictracer_factory = python_blocks('Your tracer factory')
    myapp(basictracer_factory)
    app, pyramid_tracer = quick_start_app()
    tracer = pyramid_tracer.tracer
    assert type(tracer).__name__ == 'BasicTracer'
    app.get('/hello/world', headers={'ot-tracer-traceid': 'a1', 'ot-tracer-spanid': 'b2',
                                     'ot-tracer-sampled': 'true'})
    carrier = {}
    with tracer.start_active_span('call') as scope:
        tracer.inject(scope.span.context, opentracing.Format.HTTP_HEADERS, carrier)
    assert 'ot-tracer-traceid' in carrier


def test_the_wheel_builds_and_installs_into_a_fresh_virtualenv(tmp_path):
    """``make wheel`` in a copy of the tracked files, then the wheel alone
    (``--no-deps``) into a new virtualenv, which borrows this one's packages
    for the dependencies."""
    clone = tmp_path / 'clone'
    files = subprocess.run(['git', 'ls-files', '-z'], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split('\0')
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, clone / name)
    subprocess.run(['make', 'wheel', 'WHEEL_PYTHON=' + sys.executable], cwd=clone, check=True,
                   capture_output=True, timeout=300)
    [wheel] = (clone / 'dist').glob('pyramid_opentracing-*-py3-none-any.whl')
    assert wheel.name in README.read_text(encoding='utf-8')  # the README's install line
    venv = tmp_path / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(venv)], check=True)
    python = str(venv / 'bin' / 'python')
    subprocess.run([sys.executable, '-m', 'pip', '--python', python, 'install', '-q',
                    '--no-deps', str(wheel)], check=True, capture_output=True, timeout=300)
    site_packages = subprocess.run([python, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                                   capture_output=True, text=True, check=True).stdout.strip()
    pathlib.Path(site_packages, 'borrowed.pth').write_text(sysconfig.get_paths()['purelib'] + '\n')
    result = subprocess.run([python, '-c', TINY_APP], capture_output=True, text=True,
                            cwd=str(tmp_path), timeout=120)
    assert result.returncode == 0, result.stderr
    location, span = result.stdout.split()
    assert location.startswith(str(venv)) and span == 'hello'
    assert pathlib.Path(location, 'py.typed').exists()
    assert pathlib.Path(location, 'otel', 'exit.py').exists()


TINY_APP = '''
import os
import webtest
from opentracing.mocktracer import MockTracer
from pyramid.config import Configurator
import pyramid_opentracing

tracer = MockTracer()
config = Configurator(settings={'ot.trace_all': 'true', 'ot.base_tracer': tracer})
config.include('pyramid_opentracing')
config.add_route('hello', '/hello')
config.add_view(lambda request: 'hi', route_name='hello', renderer='string')
webtest.TestApp(config.make_wsgi_app()).get('/hello')
print(os.path.dirname(pyramid_opentracing.__file__), tracer.finished_spans()[0].operation_name)
'''


def test_the_basictracer_factory_works_where_register_required_propagators_fails(tmp_path):
    """With protobuf's default (C++) runtime, as a newcomer's virtualenv has it."""
    _, _, basictracer_factory = python_blocks('Your tracer factory')
    script = basictracer_factory + textwrap.dedent('''
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
