"""The README's examples run, and do what the README says."""
import pathlib
import shutil
import subprocess
import sys
import sysconfig

import pytest
import webtest
from opentracing.mocktracer import MockTracer
from pyramid.config import Configurator
from pyramid.paster import get_app

from .otlp_receiver import OTLPReceiver
from .rst_blocks import README, ROOT, block, blocks, run


def readme_block(name):
    found = block(name)
    assert found.page == README, found
    return found


def test_the_readme_is_a_front_door():
    text = README.read_text(encoding='utf-8')
    assert len(text.splitlines()) <= 200
    assert {example.name for example in blocks(README) if example.language != 'console'} == {
        'quick-start-ini', 'quick-start-python', 'child-spans', 'trace-decorator'}


def test_the_python_quick_start_traces_requests():
    namespace = run(readme_block('quick-start-python'), {})
    webtest.TestApp(namespace['app']).get('/', status=404)
    [span] = namespace['my_opentracing_tracer'].finished_spans()
    assert span.operation_name == 'GET'
    assert span.tags['http.status_code'] == 404 and span.tags['host'] == 'localhost:80'
    assert namespace['tracer'].tracer is namespace['my_opentracing_tracer']


APP_MODULE = '''
from pyramid.config import Configurator


def main(global_config, **settings):
    config = Configurator(settings=settings)
    config.add_route('checkout', '/checkout')
    config.scan('readme_views')
    return config.make_wsgi_app()
'''


@pytest.fixture
def forget_modules():
    """Modules a test writes and imports are forgotten after it."""
    names = ('readme_app', 'readme_views')
    yield
    for name in names:
        sys.modules.pop(name, None)


def test_the_ini_quick_start_exports_to_an_otlp_collector(tmp_path, monkeypatch, forget_modules):
    """The INI, loaded as pserve loads it, with the README's view: its server
    span and both child spans reach a real OTLP/HTTP receiver, in one trace."""
    for variable in ('OTEL_SERVICE_NAME', 'OTEL_TRACES_EXPORTER', 'OTEL_EXPORTER_OTLP_ENDPOINT'):
        monkeypatch.delenv(variable, raising=False)
    (tmp_path / 'readme_app.py').write_text(APP_MODULE)
    (tmp_path / 'readme_views.py').write_text(readme_block('child-spans').source)
    monkeypatch.syspath_prepend(str(tmp_path))
    source = readme_block('quick-start-ini').source
    assert 'use = egg:myapp\n' in source and 'ot.otel.endpoint = http://localhost:4318\n' in source
    with OTLPReceiver() as receiver:
        ini_file = tmp_path / 'production.ini'
        ini_file.write_text(source.replace('use = egg:myapp', 'use = call:readme_app:main')
                            .replace('http://localhost:4318', receiver.endpoint))
        app = get_app(str(ini_file), 'main')
        bridge = app.registry.settings['ot.tracer'].tracer
        try:
            assert webtest.TestApp(app).get('/checkout').json == {'ok': True}
            assert bridge.force_flush()
        finally:
            bridge.shutdown()
        spans = {span['name']: span for span in receiver.spans}
        assert receiver.metrics == [] and bridge.meter_provider is None  # ot.otel.metrics = false
    server = spans['GET /checkout']
    assert server['kind'] == 'SERVER' and server['service'] == 'shop'
    assert server['attributes']['http.response.status_code'] == 200
    for child in ('reserve stock', 'charge card'):
        assert spans[child]['trace_id'] == server['trace_id']
        assert spans[child]['parent_span_id'] == server['span_id']
    assert spans['reserve stock']['attributes']['items'] == 3
    assert spans['charge card']['attributes']['amount'] == 42


def test_the_trace_decorator_traces_the_view():
    namespace = run(readme_block('trace-decorator'), {})
    tracer = MockTracer()
    config = Configurator(settings={'ot.base_tracer': tracer})  # ot.trace_all off
    config.include('pyramid_opentracing')
    config.add_route('report', '/report/{name}')
    config.add_route('other', '/other')
    config.add_view(namespace['report'], route_name='report', renderer='json')
    config.add_view(lambda request: {}, route_name='other', renderer='json')
    app = webtest.TestApp(config.make_wsgi_app())
    assert app.get('/report/daily').json == {'report': 'daily'}
    app.get('/other')  # not decorated: not traced
    [span] = tracer.finished_spans()
    assert span.operation_name == 'report' and 'daily' in span.tags['matchdict']
    assert namespace['report'].__name__ == 'report'


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
    package = ROOT / 'pyramid_opentracing'
    missing = [str(module.relative_to(package)) for module in package.rglob('*.py')
               if not pathlib.Path(location, module.relative_to(package)).exists()]
    assert missing == []  # every module of every subpackage is in the wheel


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
