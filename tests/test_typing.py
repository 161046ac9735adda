"""The typed public API (``py.typed``): mypy accepts an application using it as
documented and reports its misuse, the package's own public modules are held
to type hints, and every module declares what it exports (``__all__``)."""
import ast
import configparser
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

import pyramid_opentracing

from .package_modules import modules, source_of

PACKAGE = pathlib.Path(pyramid_opentracing.__file__).parent
ROOT = PACKAGE.parent
NAME = 'pyramid_opentracing'

#: An application's code, using each typed public name as the docs show it.
GOOD = '''\
from typing import Dict, Optional, Tuple, assert_type

import opentracing
from opentracing.mocktracer import MockTracer
from pyramid.config import Configurator
from pyramid.request import Request

import pyramid_opentracing
from pyramid_opentracing import PyramidTracer, PyramidTracing, get_span, trace
from pyramid_opentracing.browser import TraceparentMeta, traceparent
from pyramid_opentracing.log_context import (
    TraceContextFilter, TraceContextFormatter, install_record_factory, trace_context_ids)
from pyramid_opentracing.outgoing import (
    ClientCall, TracingAdapter, bound_baggage, client_span, http_request, outgoing_headers,
    traced_session, urlopen)
from pyramid_opentracing.tracer import pyramid_tracer_of

tracer = PyramidTracer(MockTracer(), start_span_cb=lambda span, request: None,
                       operation_name_func=lambda request: 'view',
                       redacted_headers=['x-token'])
old_name = PyramidTracing()
assert_type(tracer.tracer, opentracing.Tracer)


def main(global_config: Dict[str, str], **settings: str) -> object:
    config = Configurator(settings=settings)
    pyramid_opentracing.includeme(config)
    config.include('pyramid_opentracing')
    return config.make_wsgi_app()


@trace('path', 'method')
def traced_view(request: Request) -> Dict[str, str]:
    span = get_span(request)
    assert_type(span, Optional[opentracing.Span])
    if span is not None:
        span.set_tag('user', 'someone')
    return {}


@trace
def bare_view(request: Request) -> Dict[str, str]:
    return {}


@tracer.trace('path')
def own_tracer_view(request: Request) -> Dict[str, str]:
    span = tracer.get_span(request)
    with tracer.tracer.start_active_span('child', child_of=span):
        pass
    with client_span('GET', 'http://example.com/', request) as call:
        assert_type(call, ClientCall)
        call.set_status(200)
    headers: Dict[str, str] = outgoing_headers(request, {'accept': 'text/plain'})
    assert_type(bound_baggage(headers), Optional[str])
    response = http_request(request, 'GET', 'http://example.com/', timeout=2)
    assert_type(response.status_code, int)
    session = traced_session(request)
    session.mount('http://', TracingAdapter(tracer))
    urlopen('http://example.com/', target=request, timeout=2).read()
    ids: Tuple[str, str] = trace_context_ids()
    meta: str = TraceparentMeta(request).__html__()
    assert_type(traceparent(request), Optional[str])
    assert_type(pyramid_tracer_of(request), PyramidTracer)
    return {}


install_record_factory()
log_filter = TraceContextFilter()
formatter = TraceContextFormatter('%(trace_id)s %(message)s')
'''

#: Misuses, each on its own line, which mypy must report there.
BAD = '''\
from opentracing.mocktracer import MockTracer
from pyramid.request import Request

from pyramid_opentracing import PyramidTracer, get_span, trace
from pyramid_opentracing.log_context import trace_context_ids
from pyramid_opentracing.outgoing import client_span, outgoing_headers


def view(request: Request) -> None:
    get_span(42, 'x')  # E: too many arguments
    get_span(request).set_tag('user', 'x')  # E: the span may be None
    with client_span(200, 'http://example.com/') as call:  # E: the method is text
        call.set_status('200')  # E: the status is an int
    outgoing_headers(request, {'x-count': 1})  # E: header values are text
    trace_context_ids().upper()  # E: a pair, not a text


PyramidTracer(MockTracer(), operation_name_func='name')  # E: not a callable
PyramidTracer(MockTracer()).get_span()  # E: the request is missing


@trace(42)  # E: attribute names are text
def traced(request: Request) -> None:
    pass
'''


@pytest.fixture(scope='module')
def cache(tmp_path_factory):
    """One mypy cache for the module's runs: the dependencies are read once."""
    return tmp_path_factory.mktemp('mypy_cache')


def run_mypy(tmp_path, cache, code, *options):
    """mypy on ``code`` as an application's module, as an application runs it:
    dependencies without hints count as Any, and the package is read as an
    installed one (its types used, its own errors not reported; the editable
    install's import hook is invisible to mypy, so it is read from the clone)."""
    pytest.importorskip('mypy', reason='mypy is installed in the pyramid2 virtualenv')
    path = tmp_path / 'app.py'
    path.write_text(code, encoding='utf-8')
    config = tmp_path / 'mypy.ini'
    config.write_text('[mypy]\nignore_missing_imports = true\n\n'
                      '[mypy-pyramid_opentracing,pyramid_opentracing.*]\n'
                      'follow_imports = silent\n', encoding='utf-8')
    result = subprocess.run(
        [sys.executable, '-m', 'mypy', '--config-file', str(config), '--cache-dir',
         str(cache), '--no-error-summary', '--show-error-codes', *options,
         str(path)], capture_output=True, text=True, cwd=str(ROOT), timeout=300)
    return result


def test_mypy_accepts_the_documented_uses(tmp_path, cache):
    result = run_mypy(tmp_path, cache, GOOD, '--strict')
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_reports_each_misuse_on_its_line(tmp_path, cache):
    result = run_mypy(tmp_path, cache, BAD)
    assert result.returncode == 1, result.stdout + result.stderr
    reported = {int(match) for match in re.findall(r'^\S*app\.py:(\d+): error:', result.stdout,
                                                   re.MULTILINE)}
    expected = {number for number, line in enumerate(BAD.splitlines(), 1) if '# E:' in line}
    assert len(expected) == 9
    assert reported == expected, result.stdout


def test_the_decorators_keep_the_view_signature(tmp_path, cache):
    code = textwrap.dedent('''\
        from typing import Dict
        from pyramid_opentracing import PyramidTracer, trace

        @trace('path')
        def view(request: object) -> Dict[str, int]:
            return {}

        @PyramidTracer().trace
        def other(request: object) -> int:
            return 1

        reveal_type(view)
        reveal_type(other)
        ''')
    result = run_mypy(tmp_path, cache, code)
    revealed = re.findall(r'Revealed type is "(.*)"', result.stdout)
    assert revealed == ['def (request: object) -> dict[str, int]',
                        'def (request: object) -> int'], result.stdout


# -- the package's own configuration --------------------------------------------------------

def mypy_config():
    config = configparser.ConfigParser()
    config.read(ROOT / 'setup.cfg')
    return config


def module_of(path):
    parts = list(pathlib.PurePosixPath(path).with_suffix('').parts)
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def test_every_checked_module_must_be_fully_annotated():
    config = mypy_config()
    files = [name.strip() for name in config['mypy']['files'].replace(',', '\n').split()
             if name.strip()]
    assert {'pyramid_opentracing/__init__.py', 'pyramid_opentracing/tracer.py',
            'pyramid_opentracing/outgoing.py', 'pyramid_opentracing/log_context.py',
            'pyramid_opentracing/browser.py', 'pyramid_opentracing/otel/__init__.py',
            'pyramid_opentracing/otel/bridge.py', 'pyramid_opentracing/toolbar/__init__.py',
            'pyramid_opentracing/toolbar/panel.py'} <= set(files)
    strict = {}
    for section in config.sections():
        if section.startswith('mypy-'):
            for module in section[len('mypy-'):].split(','):
                strict[module.strip()] = config[section]
    for path in files:
        assert (ROOT / path).exists(), path
        options = strict.get(module_of(path))
        assert options is not None, path
        assert options.getboolean('disallow_untyped_defs'), path
        assert options.getboolean('check_untyped_defs'), path


def test_the_package_passes_its_own_type_check(cache):
    pytest.importorskip('mypy', reason='mypy is installed in the pyramid2 virtualenv')
    result = subprocess.run(
        [sys.executable, '-m', 'mypy', '--cache-dir', str(cache)],
        capture_output=True, text=True, cwd=str(ROOT), timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_unannotated_public_function_fails_the_check(tmp_path, cache):
    """What ``disallow_untyped_defs`` promises, on a copy of a checked module."""
    pytest.importorskip('mypy', reason='mypy is installed in the pyramid2 virtualenv')
    copy = tmp_path / 'pyramid_opentracing'
    copy.mkdir()
    (copy / '__init__.py').write_text('', encoding='utf-8')
    source = (PACKAGE / 'browser.py').read_text(encoding='utf-8')
    (copy / 'browser.py').write_text(
        source.replace("def traceparent(request: 'Request') -> Optional[str]:",
                       'def traceparent(request):'), encoding='utf-8')
    assert (copy / 'browser.py').read_text(encoding='utf-8') != source
    (tmp_path / 'setup.cfg').write_text(
        (ROOT / 'setup.cfg').read_text(encoding='utf-8'), encoding='utf-8')
    result = subprocess.run(
        [sys.executable, '-m', 'mypy', '--config-file', str(tmp_path / 'setup.cfg'),
         '--cache-dir', str(cache), 'pyramid_opentracing/browser.py'],
        capture_output=True, text=True, cwd=str(tmp_path), timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    line = source.splitlines().index("def traceparent(request: 'Request') -> Optional[str]:") + 1
    assert 'browser.py:%d: error: Function is missing a type annotation  [no-untyped-def]' % line in (
        result.stdout), result.stdout


# -- __all__ ----------------------------------------------------------------------------

def declared(path):
    """The names in the module's ``__all__``, or None without one."""
    for node in ast.parse(path.read_text(encoding='utf-8')).body:
        targets = (node.targets if isinstance(node, ast.Assign)
                   else [node.target] if isinstance(node, ast.AnnAssign) else [])
        if any(isinstance(target, ast.Name) and target.id == '__all__' for target in targets):
            return list(ast.literal_eval(node.value))
    return None


def type_checking_imports(tree):
    """The import statements under ``if TYPE_CHECKING:``: for type checkers only."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, 'id', None) == 'TYPE_CHECKING':
            found.update(id(each) for child in node.body for each in ast.walk(child))
    return found


def bound_names(statements):
    """The names module-level ``statements`` bind (in their ``if`` and ``try``
    blocks too, not under ``if TYPE_CHECKING:``)."""
    names = set()
    for node in statements:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).partition('.')[0] for alias in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(each.id for target in targets for each in ast.walk(target)
                         if isinstance(each, ast.Name))
        elif isinstance(node, ast.If):
            if getattr(node.test, 'id', None) != 'TYPE_CHECKING':
                names |= bound_names(node.body) | bound_names(node.orelse)
        elif isinstance(node, ast.Try):
            names |= bound_names(node.body) | bound_names(node.orelse) | bound_names(
                node.finalbody)
            for handler in node.handlers:
                names |= bound_names(handler.body)
    return names


def test_every_module_declares_its_exports():
    known = modules()
    assert len(known) > 20
    missing = [name for name, path in known.items() if declared(path) is None]
    assert not missing
    for name, path in known.items():
        names = declared(path)
        assert len(names) == len(set(names)), name
        bound = bound_names(ast.parse(path.read_text(encoding='utf-8')).body)
        assert not [each for each in names if each not in bound], name


def test_the_walk_finds_what_a_module_binds():
    tree = ast.parse(textwrap.dedent('''\
        import a.b
        from c import d as e
        f = g = 1
        if TYPE_CHECKING:
            h = 1
        try:
            i = 1
        except ImportError:
            j = 1
        def k(): l = 1
        class M: n = 1
        '''))
    assert bound_names(tree.body) == {'a', 'e', 'f', 'g', 'i', 'j', 'k', 'M'}


def test_what_a_module_imports_from_another_is_in_its_exports():
    known = modules()
    exports = {name: set(declared(path) or ()) for name, path in known.items()}
    unlisted = []
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding='utf-8'))
        for_type_checkers = type_checking_imports(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or id(node) in for_type_checkers:
                continue
            source = source_of(node, name, path)
            if source not in known:
                continue
            for alias in node.names:
                if '%s.%s' % (source, alias.name) not in known and (
                        alias.name not in exports[source]):
                    unlisted.append('%s imports %s from %s' % (name, alias.name, source))
    assert not unlisted
