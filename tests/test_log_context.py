"""Trace and span ids on log records, as each tracer's backend shows them,
and in the demo's log lines through pserve's fileConfig."""
import json
import logging
import logging.handlers
import os
import queue
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import opentracing
import pytest
import webtest
from basictracer import BasicTracer
from jaeger_client import ConstSampler, Tracer as JaegerTracer
from jaeger_client.reporter import NullReporter
from opentracing.mocktracer import MockTracer
from pyramid.config import Configurator
from pyramid.response import Response
from webtest.http import StopableWSGIServer

from pyramid_opentracing import get_span
from pyramid_opentracing.log_context import (
    TraceContextFilter, TraceContextFormatter, install_record_factory)

from .test_examples import exported_spans

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
log = logging.getLogger('tests.log_context')


class Records(logging.Handler):
    """Keeps the records it handles, through a TraceContextFilter."""

    def __init__(self):
        super().__init__()
        self.records = []
        self.addFilter(TraceContextFilter())

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def records():
    handler = Records()
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    yield handler.records
    log.removeHandler(handler)


def logging_app(settings):
    """An app whose view logs once inside a child span and once in the server span."""
    def view(request):
        log.info('in the server span')
        tracer = request.registry.settings['ot.tracer'].tracer
        with tracer.start_active_span('child'):
            log.info('in the child span')
        return Response('ok')

    config = Configurator(settings=dict({'ot.trace_all': 'true'}, **settings))
    config.add_route('view', '/')
    config.add_view(view, route_name='view')
    config.include('pyramid_opentracing')
    return webtest.TestApp(config.make_wsgi_app())


def test_the_bridge_gives_w3c_ids(records):
    app = logging_app({'ot.base_tracer_func': 'pyramid_opentracing.otel.tracer_from_settings',
                       'ot.otel.exporter': 'memory'})
    tracer = app.app.registry.settings['ot.tracer'].tracer
    try:
        app.get('/')
        spans = {span.name: span.context for span in tracer.exporter.get_finished_spans()}
    finally:
        tracer.shutdown()
    server, child = records
    assert (server.trace_id, server.span_id) == (
        '%032x' % spans['GET /'].trace_id, '%016x' % spans['GET /'].span_id)
    assert (child.trace_id, child.span_id) == (
        '%032x' % spans['child'].trace_id, '%016x' % spans['child'].span_id)


def jaeger():
    return JaegerTracer('test', reporter=NullReporter(), sampler=ConstSampler(True))


@pytest.mark.parametrize('make, text', [
    (MockTracer, '{:x}'.format),  # hex, as its propagator writes them
    (BasicTracer, '{:x}'.format),
    (jaeger, '{:x}'.format),
], ids=['mock', 'basictracer', 'jaeger'])
def test_opentracing_tracers_give_their_own_ids(records, make, text):
    tracer = make()
    app = logging_app({'ot.base_tracer': tracer})
    seen = []
    app.app.registry.settings['ot.tracer'].start_span_cb = lambda span, request: seen.append(span)
    app.get('/')
    server_context = seen[0].context
    server, child = records
    assert (server.trace_id, server.span_id) == (
        text(server_context.trace_id), text(server_context.span_id))
    assert child.trace_id == server.trace_id and child.span_id not in ('', server.span_id)


def test_the_global_tracers_active_span_outside_a_request(records, monkeypatch):
    tracer = MockTracer()
    monkeypatch.setattr(opentracing, 'tracer', tracer)
    with tracer.start_active_span('job') as scope:
        log.info('in a job')
    log.info('after it')
    inside, outside = records
    assert (inside.trace_id, inside.span_id) == (
        str(scope.span.context.trace_id), str(scope.span.context.span_id))
    assert (outside.trace_id, outside.span_id) == ('', '')


def test_the_formatter_fills_its_format():
    formatter = TraceContextFormatter('[%(trace_id)s/%(span_id)s] %(message)s')
    record = logging.LogRecord('x', logging.INFO, __file__, 1, 'hello', (), None)
    assert formatter.format(record) == '[/] hello'


def test_make_demo_log_lines_carry_the_trace_id_of_the_request():
    """development.ini through fileConfig, as pserve reads it."""
    script = ('import logging.config, webtest\n'
              'from pyramid.paster import get_app\n'
              'logging.config.fileConfig("development.ini")\n'
              'webtest.TestApp(get_app("development.ini")).get("/hello/world")\n')
    result = subprocess.run([sys.executable, '-c', script], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, env=dict(os.environ, PYTHONPATH=ROOT))
    assert result.returncode == 0, result.stderr
    spans = exported_spans(result.stdout)
    (nested,) = [span for span in spans if span.get('name') == 'compose greeting']
    (line,) = [line for line in result.stderr.splitlines() if 'greeting world' in line]
    assert 'trace_id=%s span_id=%s ' % (nested['context']['trace_id'][2:],
                                        nested['context']['span_id'][2:]) in line


class BrokenTracer(MockTracer):
    @property
    def active_span(self):
        raise RuntimeError('the tracer is broken')


def test_a_failing_tracer_leaves_the_ids_empty_and_the_record_logged(records, monkeypatch):
    monkeypatch.setattr(opentracing, 'tracer', BrokenTracer())
    log.info('still logged')
    (record,) = records
    assert (record.trace_id, record.span_id) == ('', '')


class TextIdsContext(opentracing.SpanContext):
    """A span context whose ids are text, as some tracers keep them."""
    trace_id, span_id = 'abc', 'def'


def test_ids_that_are_not_numbers_are_given_as_they_are(records, monkeypatch):
    tracer = MockTracer()
    monkeypatch.setattr(opentracing, 'tracer', tracer)
    with tracer.scope_manager.activate(opentracing.Span(tracer, TextIdsContext()), False):
        log.info('in a span')
    (record,) = records
    assert (record.trace_id, record.span_id) == ('abc', 'def')


# -- behind handlers that format later, or on another thread -----------------------

buffered = logging.getLogger('tests.log_context.buffered')


class Lines(logging.Handler):
    """Keeps the lines it formats."""

    def __init__(self):
        super().__init__()
        self.lines = []
        self.setFormatter(TraceContextFormatter('%(trace_id)s %(span_id)s %(message)s'))

    def emit(self, record):
        self.lines.append(self.format(record))


def served_by_waitress(tracer_settings, count=150, clients=8):
    """{request number: (trace id, span id) of its server span} of ``count``
    requests sent by ``clients`` threads to a waitress server whose view
    logs three lines on ``buffered``."""
    def view(request):
        number = request.params['n']
        for line in range(3):
            buffered.info('n=%s line=%d', number, line)
        span = get_span(request)
        if hasattr(span, 'unwrap'):
            context = span.unwrap().get_span_context()
            return {'ids': ['%032x' % context.trace_id, '%016x' % context.span_id]}
        return {'ids': ['%x' % span.context.trace_id, '%x' % span.context.span_id]}

    config = Configurator(settings=dict({'ot.trace_all': 'true'}, **tracer_settings))
    config.include('pyramid_opentracing')
    config.add_route('view', '/')
    config.add_view(view, route_name='view', renderer='json')
    app = config.make_wsgi_app()
    server = StopableWSGIServer.create(app, host='127.0.0.1', threads=clients)
    try:
        def get(number):
            with urllib.request.urlopen('%s?n=%d' % (server.application_url, number),
                                        timeout=30) as response:
                return number, tuple(json.loads(response.read())['ids'])
        with ThreadPoolExecutor(clients) as pool:
            return dict(pool.map(get, range(count)))
    finally:
        server.shutdown()
        tracer = app.registry.settings['ot.tracer'].tracer
        if hasattr(tracer, 'shutdown'):
            tracer.shutdown()


def assert_each_line_has_its_requests_ids(lines, served):
    assert len(lines) == 3 * len(served)
    wrong = []
    for line in lines:
        trace_id, span_id, number, _ = line.split(' ')
        if (trace_id, span_id) != served[int(number[2:])]:
            wrong.append(line)
    assert wrong == []


@pytest.fixture
def buffering():
    """make(handler): ``handler`` on the ``buffered`` logger for the test."""
    added = []

    def make(handler):
        buffered.addHandler(handler)
        added.append(handler)
        return handler
    buffered.setLevel(logging.INFO)
    buffered.propagate = False
    yield make
    for handler in added:
        buffered.removeHandler(handler)
    buffered.propagate = True


TRACERS = {
    'mock': lambda: {'ot.base_tracer': MockTracer()},
    'bridge': lambda: {'ot.base_tracer_func': 'pyramid_opentracing.otel.tracer_from_settings',
                       'ot.otel.exporter': 'memory'},
}


@pytest.mark.parametrize('tracer', sorted(TRACERS))
def test_a_memory_handler_flushing_later_keeps_each_records_ids(buffering, tracer):
    target = Lines()
    memory = buffering(logging.handlers.MemoryHandler(50, logging.CRITICAL, target))
    memory.addFilter(TraceContextFilter())
    served = served_by_waitress(TRACERS[tracer]())
    memory.flush()
    assert_each_line_has_its_requests_ids(target.lines, served)


@pytest.mark.parametrize('tracer', sorted(TRACERS))
def test_a_queue_listener_on_another_thread_keeps_each_records_ids(buffering, tracer):
    target = Lines()
    records = queue.Queue()
    buffering(logging.handlers.QueueHandler(records)).addFilter(TraceContextFilter())
    listener = logging.handlers.QueueListener(records, target)
    listener.start()
    try:
        served = served_by_waitress(TRACERS[tracer]())
    finally:
        listener.stop()
    assert_each_line_has_its_requests_ids(target.lines, served)


@pytest.fixture
def record_factory():
    previous = logging.getLogRecordFactory()
    install_record_factory()
    install_record_factory()  # once is enough
    yield
    logging.setLogRecordFactory(previous)


def test_the_record_factory_sets_the_ids_where_no_filter_is_attached(buffering, record_factory):
    target = Lines()
    records = queue.Queue()
    buffering(logging.handlers.QueueHandler(records))
    listener = logging.handlers.QueueListener(records, target)
    listener.start()
    try:
        served = served_by_waitress(TRACERS['mock']())
    finally:
        listener.stop()
    assert_each_line_has_its_requests_ids(target.lines, served)
    assert not getattr(logging.getLogRecordFactory().wrapped, 'sets_trace_context', False)
