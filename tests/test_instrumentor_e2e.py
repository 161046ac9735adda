"""The real ``opentelemetry-instrument``, configured by ``OTEL_*`` variables
only, running ``tests.zero_code_app`` (which never mentions this package) on
pserve with waitress and on gunicorn, exporting OTLP/HTTP to a receiver on
127.0.0.1: each request gets our SERVER span and no other, OpenTelemetry's
SQLAlchemy and requests spans nest under it, and ending the process with
SIGTERM or Ctrl-C (SIGINT to the process group) while a request is in flight
loses no span."""
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from pyramid_opentracing.otel.semconv import SCOPE_NAME

from .otlp_receiver import OTLPReceiver, any_value, as_dict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
OTEL_PYRAMID_SCOPE = 'opentelemetry.instrumentation.pyramid.callbacks'
DURATIONS = ('http.server.request.duration', 'http.server.duration')
HELLOS = 5
#: How long a test waits for a server to start, answer, or exit.
BOUND = 30

INI = '''
[app:main]
use = call:tests.zero_code_app:paste_app
%(settings)s

[server:main]
use = egg:waitress#main
listen = 127.0.0.1:%(port)d

[loggers]
keys = root

[handlers]
keys = stderr

[formatters]
keys = plain

[logger_root]
level = INFO
handlers = stderr

[handler_stderr]
class = StreamHandler
args = (sys.stderr,)
formatter = plain

[formatter_plain]
format = %%(levelname)s [%%(name)s] %%(message)s
'''


class ScopedReceiver(OTLPReceiver):
    """The OTLP receiver, keeping each span's instrumentation scope too."""

    def receive(self, path, headers, body):
        export = ExportTraceServiceRequest.FromString(body)
        with self._lock:
            for resource_spans in export.resource_spans:
                attributes = {kv.key: any_value(kv.value)
                              for kv in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        received = as_dict(span, attributes.get('service.name'))
                        received['scope'] = scope_spans.scope.name
                        self.spans.append(received)

    def server_spans(self):
        return [span for span in self.spans if span['kind'] == 'SERVER']


class Pong(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header('Content-Length', '4')
        self.end_headers()
        self.wfile.write(b'pong')

    def log_message(self, *args):
        pass


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def environment(endpoint, outgoing, **variables):
    """What a deployment sets: the OTEL_* variables, nothing of ours."""
    env = {key: value for key, value in os.environ.items() if not key.startswith('OTEL_')}
    env.update({
        'PYTHONPATH': ROOT,
        'OTEL_SERVICE_NAME': 'zero-code',
        'OTEL_TRACES_EXPORTER': 'otlp',
        'OTEL_METRICS_EXPORTER': 'otlp',
        'OTEL_LOGS_EXPORTER': 'none',
        'OTEL_EXPORTER_OTLP_PROTOCOL': 'http/protobuf',
        'OTEL_EXPORTER_OTLP_ENDPOINT': endpoint,
        'OTEL_METRIC_EXPORT_INTERVAL': '600000',  # metrics leave at the exit only
        'ZERO_CODE_OUTGOING': outgoing,
    }, **variables)
    return env


class Served:
    """``opentelemetry-instrument`` running ``command`` on ``port``, in a
    session of its own (Ctrl-C reaches its whole process group)."""

    def __init__(self, command, port, env):
        self.url = 'http://127.0.0.1:%d' % port
        self.process = subprocess.Popen(
            [os.path.join(BIN, 'opentelemetry-instrument')] + command,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
            start_new_session=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_until_served()

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_until_served(self):
        deadline = time.monotonic() + BOUND
        while True:
            try:
                return self.get('/hello/0')
            except OSError:
                assert time.monotonic() < deadline and self.process.poll() is None, (
                    self.process.poll(), self.stderr())
                time.sleep(0.2)

    def get(self, path):
        try:
            with urllib.request.urlopen(self.url + path, timeout=BOUND) as response:
                return response.read().decode()
        except urllib.error.HTTPError as error:
            return error.read().decode()

    def in_flight(self, path='/slow'):
        """GET ``path`` on a daemon thread; return once the view runs."""
        def get():
            try:
                self.get(path)
            except OSError:
                pass
        threading.Thread(target=get, daemon=True).start()
        deadline = time.monotonic() + BOUND
        while self.lines.get(timeout=BOUND) != 'in flight\n':
            assert time.monotonic() < deadline

    def end(self, signum):
        """SIGTERM to the server's process, as a service manager sends it, or
        SIGINT to its process group, as Ctrl-C does; its exit status."""
        if signum == signal.SIGINT:
            os.killpg(self.process.pid, signum)
        else:
            self.process.send_signal(signum)
        try:
            return self.process.wait(BOUND)
        finally:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stderr(self):
        if self.process.poll() is None:
            return '(running)'
        return self.process.stderr.read()


def run(command_for_port, signum, tmp_path, requests=(), **variables):
    """Serve, GET ``/hello/0..`` and ``requests``, leave ``/slow`` in flight,
    end with ``signum``: (receiver, exit status, stderr, answers)."""
    port = free_port()
    pong = ThreadingHTTPServer(('127.0.0.1', 0), Pong)
    threading.Thread(target=pong.serve_forever, daemon=True).start()
    try:
        with ScopedReceiver() as receiver:
            env = environment(receiver.endpoint, 'http://127.0.0.1:%d/' % pong.server_address[1],
                              **variables)
            served = Served(command_for_port(port, tmp_path), port, env)
            try:
                for number in range(1, HELLOS):
                    assert served.get('/hello/%d' % number) == 'hello %d' % number
                answers = {path: served.get(path) for path in requests}
                served.in_flight()
                status = served.end(signum)
            finally:
                if served.process.poll() is None:
                    os.killpg(served.process.pid, signal.SIGKILL)
            stderr = served.process.stderr.read()
    finally:
        pong.shutdown()
        pong.server_close()
    return receiver, status, stderr, answers


def pserve(settings=''):
    def command(port, tmp_path):
        ini = tmp_path / 'production.ini'
        ini.write_text(INI % {'port': port, 'settings': settings})
        return [os.path.join(BIN, 'pserve'), str(ini)]
    return command


def gunicorn_options():
    """Options of this gunicorn: no control socket in the home directory,
    shared by every gunicorn of the machine, where it has one."""
    from gunicorn.config import KNOWN_SETTINGS
    return [flag for setting in KNOWN_SETTINGS for flag in setting.cli or ()
            if flag == '--no-control-socket']


def gunicorn(worker_class, preload):
    def command(port, tmp_path):
        threads = ['--threads', '2'] if worker_class == 'gthread' else []  # 2 make it gthread
        return [os.path.join(BIN, 'gunicorn'), '--workers', '1', '--worker-class', worker_class,
                '--bind', '127.0.0.1:%d' % port, '--graceful-timeout', '10'] + threads + (
                ['--preload'] if preload else []) + gunicorn_options() + [
                'tests.zero_code_app:make_app()']
    return command


def assert_ours_for_each_request(receiver, names, stderr):
    """One SERVER span per request, ours; the /slow one too, whether it
    completed or was ended by the exit (before it was named after its route)."""
    servers = receiver.server_spans()
    slow = [span for span in servers if span['name'] in ('GET /slow', 'GET')]
    assert len(slow) == 1, (servers, stderr)
    assert sorted(span['name'] for span in servers if span not in slow) == sorted(names), stderr
    assert {span['scope'] for span in servers} == {SCOPE_NAME}
    assert [span for span in receiver.spans if span['scope'] == OTEL_PYRAMID_SCOPE] == []


HELLO_NAMES = ['GET /hello/{name}'] * HELLOS  # and /slow, in flight


@pytest.fixture(scope='module')
def under_pserve(tmp_path_factory):
    """One pserve run, ended by SIGTERM with a request in flight."""
    return run(pserve(), signal.SIGTERM, tmp_path_factory.mktemp('pserve'),
               requests=('/sql', '/outgoing', '/fail'))


def test_under_pserve_each_request_has_our_server_span_and_sigterm_loses_none(under_pserve):
    receiver, status, stderr, answers = under_pserve
    assert status == -signal.SIGTERM, stderr
    assert answers == {'/sql': '42', '/outgoing': 'pong', '/fail': 'failed'}
    assert_ours_for_each_request(
        receiver, HELLO_NAMES + ['GET /sql', 'GET /outgoing', 'GET /fail'], stderr)
    [slow] = [span for span in receiver.server_spans() if span['name'] in ('GET /slow', 'GET')]
    assert slow['attributes']['error.type'] == 'process_exit'  # ended by the exit


def test_opentelemetrys_sqlalchemy_and_requests_spans_nest_under_ours(under_pserve):
    receiver, _, stderr, _ = under_pserve
    server = {span['name']: span for span in receiver.server_spans()}
    sql = [span for span in receiver.spans
           if span['scope'] == 'opentelemetry.instrumentation.sqlalchemy']
    assert sql and {span['parent_span_id'] for span in sql} == {server['GET /sql']['span_id']}
    assert {span['trace_id'] for span in sql} == {server['GET /sql']['trace_id']}
    [client] = [span for span in receiver.spans
                if span['scope'] == 'opentelemetry.instrumentation.requests']
    assert client['kind'] == 'CLIENT'
    assert client['parent_span_id'] == server['GET /outgoing']['span_id']


def test_under_pserve_opentelemetrys_pyramid_instrumentation_is_turned_off_saying_so(
        under_pserve):
    receiver, _, stderr, _ = under_pserve
    [line] = [line for line in stderr.splitlines() if 'turned off' in line]
    assert line.startswith('INFO [pyramid_opentracing]')
    assert 'OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=pyramid_opentracing' in line
    # one set of HTTP server metrics, exported at the exit
    assert [name for name, _ in receiver.metrics if name in DURATIONS] == [
        'http.server.request.duration'], stderr


def test_ctrl_c_under_pserve_loses_no_span(tmp_path):
    receiver, status, stderr, _ = run(pserve(), signal.SIGINT, tmp_path)
    assert status is not None, stderr
    assert_ours_for_each_request(receiver, HELLO_NAMES, stderr)


def test_disabling_ours_gives_opentelemetrys_pyramid_spans_instead(tmp_path):
    receiver, _, stderr, _ = run(
        pserve(), signal.SIGINT, tmp_path,
        OTEL_PYTHON_DISABLED_INSTRUMENTATIONS='pyramid_opentracing')
    servers = receiver.server_spans()
    assert sorted(span['name'] for span in servers) == sorted(
        ['/hello/{name}'] * HELLOS + ['/slow']), stderr  # Ctrl-C: the request completed
    assert {span['scope'] for span in servers} == {OTEL_PYRAMID_SCOPE}
    assert [span for span in receiver.spans if span['scope'] == SCOPE_NAME] == []
    assert 'turned off' not in stderr


def test_an_explicit_tween_list_is_traced_by_our_tween(tmp_path):
    receiver, status, stderr, answers = run(
        pserve('pyramid.tweens = pyramid.tweens.excview_tween_factory'), signal.SIGTERM,
        tmp_path, requests=('/fail',))
    assert answers == {'/fail': 'failed'}
    assert_ours_for_each_request(receiver, HELLO_NAMES + ['GET /fail'], stderr)
    [fail] = [span for span in receiver.spans if span['name'] == 'GET /fail']
    assert fail['attributes']['http.response.status_code'] == 500


@pytest.mark.parametrize('worker_class', ['sync', 'gthread'])
@pytest.mark.parametrize('preload', [False, True], ids=['', 'preload'])
@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGINT], ids=['SIGTERM', 'SIGINT'])
def test_under_gunicorn_each_request_has_our_server_span_and_the_exit_loses_none(
        tmp_path, worker_class, preload, signum):
    receiver, status, stderr, _ = run(gunicorn(worker_class, preload), signum, tmp_path)
    assert status == 0, stderr
    assert 'Using worker: %s' % worker_class in stderr
    assert_ours_for_each_request(receiver, HELLO_NAMES, stderr)


def test_a_dead_collector_holds_the_sigterm_exit_up_no_longer_than_ot_otel_timeout(tmp_path):
    """The timeout of the application's INI file bounds the flush of the
    global providers, rather than OpenTelemetry's variable (8 s here)."""
    port = free_port()
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(('127.0.0.1', 0))
        silent.listen(64)
        env = environment('http://127.0.0.1:%d' % silent.getsockname()[1], 'http://127.0.0.1:9/',
                          OTEL_EXPORTER_OTLP_TIMEOUT='8')
        served = Served(pserve('ot.otel.timeout = 1')(port, tmp_path), port, env)
        for number in range(1, HELLOS):
            served.get('/hello/%d' % number)
        started = time.monotonic()
        status = served.end(signal.SIGTERM)
        took = time.monotonic() - started
    assert status == -signal.SIGTERM, served.stderr()
    assert 0.9 < took < 4.0, served.stderr()  # 1 s, and a loaded machine's margin
