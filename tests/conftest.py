import logging

import opentracing
import pytest
import webtest
from opentracing.mocktracer import MockTracer

from . import apps


@pytest.fixture
def tracer():
    """A MockTracer, also installed as the global tracer for the test."""
    tracer = MockTracer()
    previous = opentracing.global_tracer()
    opentracing.set_global_tracer(tracer)
    yield tracer
    opentracing.set_global_tracer(previous)
    assert tracer.active_span is None, 'a span was left active on the thread'


@pytest.fixture
def make_testapp(tracer):
    """make_testapp(**settings): a WebTest app of tests.apps traced by ``tracer``."""
    def make(**settings):
        settings.setdefault('ot.trace_all', True)
        settings.setdefault('ot.base_tracer', tracer)
        return webtest.TestApp(apps.make_app(settings))
    return make


@pytest.fixture
def app(make_testapp):
    return make_testapp()


@pytest.fixture
def failures(caplog):
    """The records logged on the pyramid_opentracing logger."""
    caplog.set_level(logging.DEBUG, logger='pyramid_opentracing')
    return lambda: [r for r in caplog.records if r.name == 'pyramid_opentracing']


def server_span(tracer):
    """The one server span ``tracer`` finished."""
    spans = [s for s in tracer.finished_spans() if s.tags.get('span.kind') == 'server']
    assert len(spans) == 1, spans
    return spans[0]
