"""The decorators used the wrong way round work or fail loudly, at
decoration time or at ``config.scan()``, never at request time."""
import importlib
import sys
import textwrap

import pytest
import webtest
from opentracing.mocktracer import MockTracer
from pyramid.config import Configurator

import pyramid_opentracing
from pyramid_opentracing import PyramidTracer

VIEWS = '''
from opentracing.mocktracer import MockTracer
from pyramid.view import view_config

import pyramid_opentracing
from pyramid_opentracing import PyramidTracer

tracer = MockTracer()
traced = PyramidTracer(tracer)

%s
'''

WITHOUT_PARENTHESES = '''
@view_config(route_name='bare', renderer='string')
@traced.trace
def bare(request):
    return 'bare'


@view_config(route_name='module_level', renderer='string')
@pyramid_opentracing.trace
def module_level(request):
    return 'module level'
'''

ABOVE_VIEW_CONFIG = '''
@traced.trace('method')
@view_config(route_name='bare', renderer='string')
def bare(request):
    return 'bare'
'''


@pytest.fixture
def views_package(tmp_path, monkeypatch):
    """write(code): a package of views holding ``code``, importable and scannable."""
    names = []

    def write(code):
        name = 'scanned_views_%d' % len(names)
        package = tmp_path / name
        package.mkdir()
        (package / '__init__.py').write_text('')
        (package / 'views.py').write_text(textwrap.dedent(VIEWS % code))
        names.append(name)
        return name
    monkeypatch.syspath_prepend(str(tmp_path))
    yield write
    for name in names:
        for module in [m for m in sys.modules if m == name or m.startswith(name + '.')]:
            del sys.modules[module]


def scanned_app(package, settings=None):
    config = Configurator(settings=settings)
    config.add_route('bare', '/bare')
    config.add_route('module_level', '/module-level')
    config.include('pyramid_opentracing')
    config.scan(package)
    return webtest.TestApp(config.make_wsgi_app())


def test_trace_without_parentheses_works_like_trace_with_none(views_package):
    package = views_package(WITHOUT_PARENTHESES)
    global_tracer = MockTracer()
    app = scanned_app(package, {'ot.base_tracer': global_tracer})
    assert app.get('/bare').text == 'bare'
    assert app.get('/module-level').text == 'module level'
    views = importlib.import_module(package + '.views')
    [bare_span] = views.tracer.finished_spans()
    [module_span] = global_tracer.finished_spans()
    assert bare_span.tags['http.status_code'] == 200 == module_span.tags['http.status_code']
    assert views.bare.__name__ == 'bare'


def test_trace_above_view_config_fails_at_scan(views_package):
    package = views_package(ABOVE_VIEW_CONFIG)
    with pytest.raises(TypeError, match='below @view_config'):
        scanned_app(package)


@pytest.mark.parametrize('make_decorator', [
    lambda: PyramidTracer(MockTracer()).trace, lambda: pyramid_opentracing.trace])
def test_trace_given_something_but_names_fails_at_decoration_time(make_decorator):
    with pytest.raises(TypeError, match='attribute names'):
        make_decorator()('method', 42)
    with pytest.raises(TypeError, match='attribute names'):
        make_decorator()(['method'])
