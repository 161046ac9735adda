"""With the OTel bridge, ending the process loses no queued span, and a dead
collector cannot hold the exit up: real processes, real signals, real
sockets on 127.0.0.1."""
import gc
import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
import weakref
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import webtest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Status, StatusCode
from pyramid.config import Configurator

from pyramid_opentracing.failures import RateLimitFilter
from pyramid_opentracing.otel import exit as bridge_exit, tracer_from_settings
from pyramid_opentracing.otel.options import DEFAULT_TIMEOUT, BridgeOptions
from pyramid_opentracing.otel.semconv import SCOPE_NAME

from .otlp_receiver import OTLPReceiver

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REQUESTS = 20
#: What "the process ends quickly" means with a dead collector.
EXIT_BOUND = 5.0


def environment():
    """This environment without OTEL_* variables, able to import tests."""
    env = {key: value for key, value in os.environ.items() if not key.startswith('OTEL_')}
    env['PYTHONPATH'] = ROOT
    return env


class Service:
    """``python -m tests.exit_app`` in a subprocess."""

    def __init__(self, endpoint, *settings):
        self.process = subprocess.Popen(
            [sys.executable, '-m', 'tests.exit_app', endpoint] + list(settings),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment(),
            cwd=ROOT)
        self.port = int(self.process.stdout.readline())

    def get(self, path):
        with urllib.request.urlopen('http://127.0.0.1:%d%s' % (self.port, path), timeout=10) as r:
            return r.read()

    def end(self, signum):
        """Send ``signum``; (exit status, seconds to exit, stderr)."""
        start = time.monotonic()
        self.process.send_signal(signum)
        try:
            self.process.wait(30)
        finally:
            self.process.kill()
        took = time.monotonic() - start
        return self.process.returncode, took, self.process.stderr.read()


def test_sigterm_exports_every_queued_span_then_ends_the_process_as_sigterm():
    with OTLPReceiver() as receiver:
        service = Service(receiver.endpoint)
        for number in range(REQUESTS):
            assert service.get('/hello/%d' % number) == b'hello %d' % number
        # The batch processor waits 5 s before exporting: all are still queued.
        status, _, stderr = service.end(signal.SIGTERM)
    assert status == -signal.SIGTERM, stderr
    names = [span['name'] for span in receiver.spans]
    assert names == ['GET /hello/{name}'] * REQUESTS, stderr
    assert 'not exported' not in stderr


PSERVE_INI = '''
[app:main]
use = call:tests.exit_app:paste_app
ot.trace_all = true
ot.base_tracer_func = pyramid_opentracing.otel.tracer_from_settings
ot.otel.service_name = exit-test
ot.otel.endpoint = %(endpoint)s

[server:main]
use = egg:waitress#main
listen = 127.0.0.1:%(port)d
'''


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_sigterm_under_pserve_exports_every_queued_span(tmp_path):
    port = free_port()
    with OTLPReceiver() as receiver:
        ini = tmp_path / 'production.ini'
        ini.write_text(PSERVE_INI % {'endpoint': receiver.endpoint, 'port': port})
        process = subprocess.Popen([sys.executable, '-m', 'pyramid.scripts.pserve', str(ini)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env=environment(), cwd=ROOT)
        try:
            wait_until_served('http://127.0.0.1:%d/hello/0' % port, process)
            for number in range(1, REQUESTS):
                urllib.request.urlopen('http://127.0.0.1:%d/hello/%d' % (port, number)).read()
            process.send_signal(signal.SIGTERM)
            process.wait(30)
        finally:
            process.kill()
    assert process.returncode == -signal.SIGTERM, process.stderr.read()
    assert [span['name'] for span in receiver.spans] == ['GET /hello/{name}'] * REQUESTS


def wait_until_served(url, process):
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode()
        except OSError:
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.1)


def test_under_gunicorn_its_sigterm_handling_is_kept_and_the_exit_flush_sends_every_span():
    port = free_port()
    with OTLPReceiver() as receiver:
        env = dict(environment(), EXIT_APP_ENDPOINT=receiver.endpoint)
        process = subprocess.Popen(
            [sys.executable, '-m', 'gunicorn', '--workers', '1', '--bind', '127.0.0.1:%d' % port,
             'tests.exit_app:from_environ()'],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        try:
            url = 'http://127.0.0.1:%d' % port
            handler = wait_until_served(url + '/sigterm-handler', process)
            for number in range(REQUESTS):
                urllib.request.urlopen('%s/hello/%d' % (url, number)).read()
            process.send_signal(signal.SIGTERM)  # to the arbiter, which stops its worker
            process.wait(30)
        finally:
            process.kill()
    assert handler.endswith('handle_exit'), handler  # gunicorn's worker's, not ours
    assert process.returncode == 0, process.stderr.read()
    names = [span['name'] for span in receiver.spans if span['name'].startswith('GET /hello')]
    assert names == ['GET /hello/{name}'] * REQUESTS


class TooManyRequests(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers['Content-Length']))
        self.send_response(429)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *args):
        pass


def closed_port():
    """A port nothing listens on: connections are refused."""
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    yield 'http://127.0.0.1:%d' % port


def silent_port():
    """A port that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        sock.listen(64)
        yield 'http://127.0.0.1:%d' % sock.getsockname()[1]


def too_many_requests():
    """A collector answering every export with 429 Too Many Requests."""
    server = ThreadingHTTPServer(('127.0.0.1', 0), TooManyRequests)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield 'http://127.0.0.1:%d' % server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize('signum, dead_collector', [
    (signal.SIGTERM, closed_port),
    (signal.SIGTERM, silent_port),
    (signal.SIGTERM, too_many_requests),
    (signal.SIGINT, silent_port),
])
def test_a_dead_collector_holds_the_exit_up_less_than_5_seconds(signum, dead_collector):
    collector = dead_collector()
    endpoint = next(collector)
    service = Service(endpoint)
    for number in range(REQUESTS):
        service.get('/hello/%d' % number)
    status, took, stderr = service.end(signum)
    next(collector, None)
    assert took < EXIT_BOUND, stderr
    assert status == (-signal.SIGTERM if signum == signal.SIGTERM else 0), stderr
    lost = [line for line in stderr.splitlines() if 'not exported' in line]
    assert len(lost) == 1, stderr
    assert '%d of %d spans were not exported' % (REQUESTS, REQUESTS) in lost[0]
    assert 'ot.otel.timeout = %g s' % DEFAULT_TIMEOUT in lost[0]
    if dead_collector is closed_port:  # no answer at all: the line says so
        assert 'could not reach %s/v1/traces (ConnectionError)' % endpoint in lost[0], stderr


SEVERAL_BRIDGES = '''
import os, signal, sys
import opentracing
from pyramid_opentracing.otel import exit as bridge_exit, tracer_from_settings

def app_handler(signum, frame):
    print('application handler', flush=True)
    sys.exit(3)

if sys.argv[2] == 'app-handler':
    signal.signal(signal.SIGTERM, app_handler)
tracers = [tracer_from_settings(**{'ot.otel.endpoint': sys.argv[1],
                                   'ot.otel.service_name': 'bridge-%d' % n}) for n in range(3)]
print(signal.getsignal(signal.SIGTERM).__qualname__, flush=True)
for tracer in tracers:
    tracer.start_span('queued').finish()
os.kill(os.getpid(), signal.SIGTERM)
signal.pause()
'''


def run_bridges(receiver, mode):
    return subprocess.run([sys.executable, '-c', SEVERAL_BRIDGES, receiver.endpoint, mode],
                          capture_output=True, text=True, env=environment(), timeout=30)


def test_one_sigterm_handler_flushes_every_bridge_of_the_process():
    with OTLPReceiver() as receiver:
        result = run_bridges(receiver, 'default')
    assert result.stdout.split() == ['on_sigterm'], result.stderr
    assert result.returncode == -signal.SIGTERM
    assert sorted(span['service'] for span in receiver.spans) == ['bridge-0', 'bridge-1', 'bridge-2']


def test_a_sigterm_handler_already_installed_is_left_to_end_the_process():
    with OTLPReceiver() as receiver:
        result = run_bridges(receiver, 'app-handler')
    assert result.stdout.split() == ['app_handler', 'application', 'handler'], result.stderr
    assert result.returncode == 3
    # the handler ended the process normally: the flush at exit sent the spans
    assert sorted(span['service'] for span in receiver.spans) == ['bridge-0', 'bridge-1', 'bridge-2']


def test_a_bridge_made_outside_the_main_thread_installs_no_handler():
    script = textwrap.dedent('''
        import signal, threading
        from pyramid_opentracing.otel import tracer_from_settings
        thread = threading.Thread(target=tracer_from_settings,
                                  kwargs={'ot.otel.endpoint': 'http://127.0.0.1:9'})
        thread.start()
        thread.join()
        print(signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
        ''')
    result = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                            env=environment(), timeout=30, check=True)
    assert result.stdout.split() == ['True']


def test_the_timeout_falls_back_on_the_sdk_variable_in_seconds():
    assert BridgeOptions({}, {}).timeout == DEFAULT_TIMEOUT
    assert BridgeOptions({}, {'OTEL_EXPORTER_OTLP_TIMEOUT': '7'}).timeout == 7.0
    assert BridgeOptions({'ot.otel.timeout': '0.5'},
                         {'OTEL_EXPORTER_OTLP_TIMEOUT': '7'}).timeout == 0.5


class Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


def test_failed_exports_are_logged_once_not_once_per_batch():
    exporter_log = logging.getLogger('opentelemetry.exporter.otlp.proto.http.trace_exporter')
    records = Records()
    exporter_log.addHandler(records)
    endpoint = next(closed_port())
    tracer = tracer_from_settings(**{'ot.otel.endpoint': endpoint, 'ot.otel.timeout': '0.2'})
    try:
        for _ in range(5):
            tracer.start_span('lost').finish()
            tracer.force_flush()
    finally:
        exporter_log.removeHandler(records)
        tracer.provider.shutdown()
    messages = [record.msg for record in records.records]
    assert messages and len(messages) == len(set(messages)), messages


def test_a_rate_limited_message_says_how_many_were_left_out():
    now = [0.0]
    limit = RateLimitFilter(interval=60, clock=lambda: now[0])
    def record():
        return logging.LogRecord('otel', logging.ERROR, __file__, 1, 'export failed: %s', ('refused',), None)
    assert [limit.filter(record()) for _ in range(3)] == [True, False, False]
    now[0] = 61.0
    again = record()
    assert limit.filter(again)
    assert again.getMessage() == ('export failed: refused '
                                  '(2 more such messages were not logged in the last 60 s)')


@pytest.mark.parametrize('host, address, port', [
    ('x:99999999999999999999', 'localhost', 80),  # SERVER_NAME and SERVER_PORT instead
    ('a@[', 'localhost', 80),
    ('shop.example:8080', 'shop.example', 8080),
    ('[::1]:8443', '[::1]', 8443),
    ('a b:١٢', 'localhost', 80),
])
def test_a_crafted_host_header_is_exported_without_what_no_host_has(caplog, host, address, port):
    caplog.set_level(logging.WARNING)
    with OTLPReceiver() as receiver:
        tracer = tracer_from_settings(**{'ot.otel.endpoint': receiver.endpoint})
        config = Configurator(settings={'ot.trace_all': True, 'ot.base_tracer': tracer})
        config.include('pyramid_opentracing')
        app = webtest.TestApp(config.make_wsgi_app())
        for _ in range(3):
            app.get('/', headers={'Host': host}, status=404)
        assert tracer.force_flush()
        tracer.provider.shutdown()
    assert len(receiver.spans) == 3
    attributes = receiver.spans[0]['attributes']
    assert attributes.get('server.address') == address
    assert attributes.get('server.port') == port
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_several_bridges_with_a_dead_collector_exit_within_one_timeout_not_their_sum():
    script = textwrap.dedent('''
        import sys
        from pyramid_opentracing.otel import tracer_from_settings
        tracers = [tracer_from_settings(**{'ot.otel.endpoint': sys.argv[1],
                                           'ot.otel.timeout': '1.5'}) for _ in range(3)]
        for tracer in tracers:
            tracer.start_span('lost').finish()
        print(time.time())  # the exit starts
        ''')
    collector = silent_port()
    endpoint = next(collector)
    result = subprocess.run([sys.executable, '-c', 'import time\n' + script, endpoint],
                            capture_output=True, text=True, env=environment(), timeout=30)
    took = time.time() - float(result.stdout)
    next(collector, None)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count('1 of 1 spans were not exported') == 3
    assert took < 3.5, result.stderr  # 3 x 1.5 s one after the other would be 4.5 s


def test_the_exit_flush_exports_what_is_queued_and_counts_what_is_lost(caplog):
    """In this process, what the exit and SIGTERM handlers run."""
    caplog.set_level(logging.WARNING, logger='pyramid_opentracing')
    with OTLPReceiver() as receiver:
        delivered = tracer_from_settings(**{'ot.otel.endpoint': receiver.endpoint})
        lost = tracer_from_settings(**{'ot.otel.endpoint': next(closed_port()),
                                       'ot.otel.timeout': '0.3'})
        for tracer in (delivered, lost, lost):
            tracer.start_span('queued').finish()
        bridge_exit.shut_down_all()
        bridge_exit.shut_down_all()  # a second exit finds nothing left to do
    assert [span['name'] for span in receiver.spans] == ['queued']
    # (bridges other tests left behind are shut down too, with their own lines)
    [line] = [r.getMessage() for r in caplog.records if 'ot.otel.timeout = 0.3 s' in r.getMessage()]
    assert '2 of 2 spans were not exported' in line


@pytest.mark.parametrize('exporter', ['memory', 'console'])
def test_a_bridge_shut_down_by_the_application_is_not_shut_down_again_at_exit(exporter):
    code = textwrap.dedent('''
        from pyramid_opentracing.otel import tracer_from_settings
        tracer = tracer_from_settings(**{'ot.otel.exporter': %r})
        with tracer.start_active_span('work'):
            pass
        tracer.shutdown()
    ''' % exporter)
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          env=environment(), cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert 'shutdown can only be called once' not in done.stderr + done.stdout


def get_in_flight(url):
    """GET ``url`` on a daemon thread: the process may die before it answers."""
    def get():
        try:
            urllib.request.urlopen(url, timeout=30).read()
        except OSError:
            pass
    thread = threading.Thread(target=get, daemon=True)
    thread.start()
    return thread


def assert_interrupted(spans, description):
    """The SERVER span of /slow ended as not completed, parent of the span
    its view finished."""
    [server] = [span for span in spans if span['kind'] == 'SERVER']
    [db] = [span for span in spans if span['name'] == 'db']
    assert db['parent_span_id'] == server['span_id']
    assert server['status'] == 'ERROR'
    assert server['status_message'] == description
    assert server['attributes']['error.type'] == bridge_exit.INTERRUPTED
    assert 'http.response.status_code' not in server['attributes']


def sigterm_in_flight(receiver):
    """SIGTERM to a service exporting to ``receiver`` while its view of
    ``/slow`` runs: (exit status, seconds to exit, stderr)."""
    service = Service(receiver.endpoint)
    get_in_flight('http://127.0.0.1:%d/slow' % service.port)
    assert service.process.stdout.readline() == 'in flight\n'
    return service.end(signal.SIGTERM)


def test_at_sigterm_the_span_of_a_request_in_flight_is_exported_as_not_completed():
    with OTLPReceiver() as receiver:
        status, took, stderr = sigterm_in_flight(receiver)
    assert status == -signal.SIGTERM, stderr
    assert took < EXIT_BOUND, stderr
    assert_interrupted(receiver.spans, bridge_exit.TERMINATED)
    assert 'not exported' not in stderr and 'ended span' not in stderr, stderr


def test_at_sigterm_a_request_in_flight_keeps_what_routing_found():
    """Routing is done before the view runs: the span ended at exit is
    named after its route and carries it."""
    with OTLPReceiver() as receiver:
        status, _, stderr = sigterm_in_flight(receiver)
    assert status == -signal.SIGTERM, stderr
    [server] = [span for span in receiver.spans if span['kind'] == 'SERVER']
    assert server['name'] == 'GET /slow', stderr
    assert server['attributes']['http.route'] == '/slow'
    assert server['attributes']['pyramid.route'] == 'slow'


DAEMON_REQUEST = '''
import sys, threading, webtest
from tests.exit_app import paste_app
app = webtest.TestApp(paste_app({}, **{
    'ot.trace_all': 'true',
    'ot.base_tracer_func': 'pyramid_opentracing.otel.tracer_from_settings',
    'ot.otel.endpoint': sys.argv[1]}))
threading.Thread(target=app.get, args=('/slow',), daemon=True).start()
sys.stdin.readline()  # the view printed 'in flight': the main thread ends, the process exits
'''


def test_at_exit_the_span_of_a_request_in_a_daemon_thread_is_exported_as_not_completed():
    """(waitress and gunicorn wait for their requests at an orderly exit.)"""
    with OTLPReceiver() as receiver:
        process = subprocess.Popen([sys.executable, '-c', DAEMON_REQUEST, receiver.endpoint],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=environment(), cwd=ROOT)
        try:
            assert process.stdout.readline() == 'in flight\n'
            _, stderr = process.communicate('exit\n', timeout=30)
        finally:
            process.kill()
    assert process.returncode == 0, stderr
    assert_interrupted(receiver.spans, bridge_exit.EXITED)


def test_under_gunicorn_a_request_in_flight_at_sigterm_completes_and_is_exported():
    port = free_port()
    with OTLPReceiver() as receiver:
        env = dict(environment(), EXIT_APP_ENDPOINT=receiver.endpoint)
        process = subprocess.Popen(
            [sys.executable, '-m', 'gunicorn', '--workers', '1', '--worker-class', 'sync',
             '--bind', '127.0.0.1:%d' % port, 'tests.exit_app:from_environ()'],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        try:
            url = 'http://127.0.0.1:%d' % port
            wait_until_served(url + '/hello/0', process)
            get_in_flight(url + '/slow')
            assert process.stdout.readline() == 'in flight\n'
            process.send_signal(signal.SIGTERM)  # the worker finishes the request, then exits
            process.wait(30)
        finally:
            process.kill()
    assert process.returncode == 0, process.stderr.read()
    [server] = [span for span in receiver.spans if span['name'] == 'GET /slow']
    assert server['status'] == 'UNSET'
    assert server['attributes']['http.response.status_code'] == 200


def test_a_request_ending_after_the_exit_ended_its_span_changes_nothing(caplog):
    """In this process: the exit ends the span of a request in flight, then
    the request ends it again, which the SDK ignores; nothing is logged, and
    the request is measured once."""
    caplog.set_level(logging.WARNING)
    sdk_log = logging.getLogger(bridge_exit.SDK_SPAN_LOGGER)
    release = threading.Event()

    def slow(request):
        with request.registry.settings['ot.tracer'].tracer.start_active_span('db'):
            pass
        in_flight.set()
        release.wait(10)
        return 'slow'

    in_flight = threading.Event()
    try:
        with OTLPReceiver() as receiver:
            tracer = tracer_from_settings(**{'ot.otel.endpoint': receiver.endpoint,
                                             'ot.otel.metrics': 'true'})
            config = Configurator(settings={'ot.trace_all': True, 'ot.base_tracer': tracer})
            config.add_route('slow', '/slow')
            config.add_view(slow, route_name='slow', renderer='string')
            config.include('pyramid_opentracing')
            app = webtest.TestApp(config.make_wsgi_app())
            answers = []
            request = threading.Thread(target=lambda: answers.append(app.get('/slow').text))
            request.start()
            assert in_flight.wait(10)
            bridge_exit.shut_down_all(bridge_exit.TERMINATED)
            release.set()
            request.join(10)
    finally:
        sdk_log.removeFilter(bridge_exit.ignore_calls_on_ended_spans)
    assert answers == ['slow']
    assert_interrupted(receiver.spans, bridge_exit.TERMINATED)
    # (bridges of earlier tests, their collectors gone, may log their own retries)
    assert [r.getMessage() for r in caplog.records
            if r.name in (bridge_exit.SDK_SPAN_LOGGER, 'pyramid_opentracing')] == []
    [duration] = [points for name, points in receiver.metrics
                  if name == 'http.server.request.duration']
    assert [point['error.type'] for point in duration] == [bridge_exit.INTERRUPTED]


def test_a_span_never_ended_is_not_kept_alive_by_the_exit():
    provider = TracerProvider()
    live = bridge_exit.LiveSpans()
    provider.add_span_processor(live)
    tracer = provider.get_tracer(SCOPE_NAME)
    finished, forgotten = tracer.start_span('finished'), tracer.start_span('forgotten')
    assert sorted(span.name for span in live.running()) == ['finished', 'forgotten']
    finished.end()
    collected = weakref.ref(forgotten)
    del forgotten
    gc.collect()
    assert collected() is None
    assert live.running() == []


def test_every_span_of_the_bridges_provider_still_running_is_ended_at_exit():
    """Ours, and those of OpenTelemetry's instrumentations when the bridge's
    provider is the global one; an error recorded already is kept."""
    provider = TracerProvider()
    live = bridge_exit.LiveSpans()
    provider.add_span_processor(live)
    ours = provider.get_tracer(SCOPE_NAME).start_span('ours')
    theirs = provider.get_tracer('opentelemetry.instrumentation.wsgi').start_span('theirs')
    failed = provider.get_tracer(SCOPE_NAME).start_span('failed')
    failed.set_status(Status(StatusCode.ERROR, 'ValueError: bad'))
    failed.set_attribute('error.type', 'ValueError')
    provider.get_tracer(SCOPE_NAME).start_span('done').end()
    try:
        assert live.end_all('why') == 3
    finally:
        logging.getLogger(bridge_exit.SDK_SPAN_LOGGER).removeFilter(
            bridge_exit.ignore_calls_on_ended_spans)
    for span in (ours, theirs):
        assert not span.is_recording()
        assert (span.status.description, span.attributes['error.type']) == ('why', 'process_exit')
    assert (failed.status.description, failed.attributes['error.type']) == (
        'ValueError: bad', 'ValueError')


SILENT_FLUSH_TIMEOUT = 4.0


@pytest.mark.parametrize('first, second, status', [
    (signal.SIGTERM, signal.SIGTERM, -signal.SIGTERM),
    (signal.SIGTERM, signal.SIGINT, -signal.SIGINT),
    (signal.SIGINT, signal.SIGINT, -signal.SIGINT),  # Ctrl-C pressed twice
    (signal.SIGINT, signal.SIGTERM, -signal.SIGTERM),
])
def test_a_second_signal_during_the_exit_flush_still_says_what_was_lost(first, second, status):
    collector = silent_port()
    endpoint = next(collector)
    service = Service(endpoint, 'ot.otel.timeout=%g' % SILENT_FLUSH_TIMEOUT)
    for number in range(REQUESTS):
        service.get('/hello/%d' % number)
    service.process.send_signal(first)
    time.sleep(1.0)  # the exit now waits for the collector, which never answers
    code, took, stderr = service.end(second)
    next(collector, None)
    assert code == status, stderr
    assert took < SILENT_FLUSH_TIMEOUT - 1.0, stderr  # the second signal cut the wait short
    lost = [line for line in stderr.splitlines() if 'not exported' in line]
    assert len(lost) == 1, stderr
    assert '%d of %d spans were not exported' % (REQUESTS, REQUESTS) in lost[0]
    assert 'cut short by %s' % signal.Signals(second).name in lost[0]


CUT_SHORT_BY_THE_APPLICATION = '''
import os, signal, sys
from pyramid_opentracing.otel import tracer_from_settings

def quit(signum, frame):  # as gunicorn's worker does on SIGINT
    sys.exit(5)

signal.signal(signal.SIGINT, quit)
tracer = tracer_from_settings(**{'ot.otel.endpoint': sys.argv[1], 'ot.otel.timeout': '%g'})
tracer.start_span('queued').finish()
print('ready', flush=True)
os.kill(os.getpid(), signal.SIGTERM)
''' % SILENT_FLUSH_TIMEOUT


def test_an_application_handler_cutting_the_exit_flush_short_still_gets_the_lost_span_line():
    collector = silent_port()
    endpoint = next(collector)
    process = subprocess.Popen([sys.executable, '-c', CUT_SHORT_BY_THE_APPLICATION, endpoint],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=environment(), cwd=ROOT)
    try:
        assert process.stdout.readline() == 'ready\n'
        time.sleep(1.0)  # the SIGTERM flush now waits for the collector
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
        next(collector, None)
    # the application's handler raised SystemExit; the exit goes on as SIGTERM's
    assert process.returncode == -signal.SIGTERM, stderr
    lost = [line for line in stderr.splitlines() if 'not exported' in line]
    assert len(lost) == 1, stderr
    assert '1 of 1 spans were not exported' in lost[0]
    assert 'cut short by SystemExit' in lost[0]
