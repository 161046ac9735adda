"""An explicit ``pyramid.tweens`` list decides which tweens run: without the
tracing tween nothing is traced, and below the exception view's tween the
span sees the exception, not the response the client got. Both are said at
start-up."""
import logging

import pytest
import webtest
from opentracing.mocktracer import MockTracer
from pyramid.exceptions import ConfigurationError

from . import apps
from .conftest import server_span

TWEEN = 'pyramid_opentracing.opentracing_tween_factory'
EXCVIEW = 'pyramid.tweens.excview_tween_factory'


def make_app(tweens, **settings):
    tracer = MockTracer()
    config = apps.make_config(dict({'ot.trace_all': 'true', 'ot.base_tracer': tracer,
                                    'pyramid.tweens': tweens}, **settings))
    return webtest.TestApp(config.make_wsgi_app()), tracer


@pytest.mark.parametrize('tweens', [EXCVIEW, 'pyramid_tm.tm_tween_factory\n' + EXCVIEW])
def test_an_explicit_list_without_the_tween_fails_naming_the_line_to_add(tweens):
    with pytest.raises(ConfigurationError) as info:
        make_app(tweens)
    message = str(info.value)
    assert 'pyramid.tweens = %r: ot.trace_all is true' % (tweens.split(),) in message
    assert 'add %s as the first line of pyramid.tweens' % TWEEN in message


def test_an_explicit_list_without_the_tween_is_fine_when_nothing_is_traced():
    app, tracer = make_app(EXCVIEW, **{'ot.trace_all': 'false'})
    app.get('/plain')
    assert tracer.finished_spans() == []


def test_the_tween_listed_first_reports_the_status_of_exception_views(caplog):
    caplog.set_level(logging.WARNING, logger='pyramid_opentracing')
    app, tracer = make_app('%s\n%s' % (TWEEN, EXCVIEW))
    app.get('/invalid', status=400)
    assert server_span(tracer).tags['http.status_code'] == 400
    assert 'misreported' not in caplog.text


def test_the_tween_listed_below_the_exception_view_tween_is_warned(caplog):
    caplog.set_level(logging.WARNING, logger='pyramid_opentracing')
    app, tracer = make_app('%s\n%s' % (EXCVIEW, TWEEN))
    [warning] = [r for r in caplog.records if 'misreported' in r.getMessage()]
    assert warning.levelno == logging.WARNING
    assert ('pyramid.tweens lists %s below %s' % (TWEEN, EXCVIEW)) in warning.getMessage()
    assert 'list %s first' % TWEEN in warning.getMessage()
    app.get('/invalid', status=400)  # the application still answers as it did


def test_the_tween_below_the_exception_view_tween_is_warned_without_the_include(caplog):
    caplog.set_level(logging.WARNING, logger='pyramid_opentracing')
    config = apps.make_config({'ot.trace_all': 'true', 'ot.base_tracer': MockTracer(),
                               'pyramid.tweens': '%s\n%s' % (EXCVIEW, TWEEN)}, include=False)
    webtest.TestApp(config.make_wsgi_app()).get('/plain')
    assert 'pyramid.tweens lists %s below %s' % (TWEEN, EXCVIEW) in caplog.text
