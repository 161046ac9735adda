"""A streamed body that fails: the span says what the client got.

Before its first chunk no header has been sent, and the server answers 500
(PEP 3333; waitress and gunicorn both do): the span says 500 and error.
After it, the client has the status already; the span keeps it and is an
error. Both servers are real, on 127.0.0.1; gunicorn runs in a subprocess.
"""
import json
import os
import pathlib
import socket
import subprocess
import sys
import time

import pytest
import requests

from examples.serving import serving

from . import failing_bodies

ROOT = pathlib.Path(__file__).resolve().parent.parent
GUNICORN = pathlib.Path(sys.executable).with_name('gunicorn')


def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError('timed out')


def get_broken(url):
    """The status a client gets for ``url``, whose body may break off."""
    try:
        with requests.get(url, timeout=10, stream=True) as response:
            try:
                response.content
            except requests.RequestException:
                pass  # the body broke off: what we test is the span
            return response.status_code
    except requests.ConnectionError:
        return None


@pytest.fixture
def waitress_spans(tracer):
    """(base URL, finished spans by name) of the app served by waitress."""
    with serving(failing_bodies.make_app(tracer)) as url:
        yield url, lambda: {s.operation_name: {'tags': s.tags} for s in tracer.finished_spans()}


def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


@pytest.fixture
def gunicorn_spans(tmp_path):
    """(base URL, finished spans by name) of the app served by gunicorn."""
    spans_file = tmp_path / 'spans.jsonl'
    spans_file.touch()
    port = free_port()
    env = dict(os.environ, SPANS_FILE=str(spans_file), PYTHONPATH=str(ROOT))
    server = subprocess.Popen(
        [str(GUNICORN), '--workers', '1', '--no-control-socket', '--bind', '127.0.0.1:%d' % port,
         'tests.failing_bodies:app'],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = 'http://127.0.0.1:%d' % port

    def accepting():
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            return True
        except OSError:
            assert server.poll() is None, server.stderr.read().decode()
            return False

    def spans():
        lines = spans_file.read_text(encoding='utf-8').splitlines()
        return {span['name']: span for span in map(json.loads, lines)}
    try:
        wait_for(accepting, timeout=30)
        yield url, spans
    finally:
        server.terminate()
        server.wait(10)
        server.stderr.close()


#: (path, route name, status the client gets) of each failing body
FAILURES = [
    ('/fails-before-the-first-chunk', 'before', 500),  # no header sent yet: the server's 500
    ('/fails-after-the-first-chunk', 'after', 200),  # the status was sent with the first chunk
]


@pytest.mark.parametrize('served', ['waitress_spans', 'gunicorn_spans'])
@pytest.mark.parametrize('path, route, status', FAILURES, ids=[f[1] for f in FAILURES])
def test_a_failing_body_is_an_error_with_the_status_the_client_got(
        request, served, path, route, status):
    url, spans = request.getfixturevalue(served)
    assert get_broken(url + path) == status
    span = wait_for(lambda: spans().get(route))
    assert span['tags']['http.status_code'] == status
    assert span['tags']['error'] is True
