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
        [str(GUNICORN), '--workers', '1', '--bind', '127.0.0.1:%d' % port,
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


@pytest.mark.parametrize('served', ['waitress_spans', 'gunicorn_spans'])
def test_a_body_failing_before_its_first_chunk_is_a_500_in_the_span(request, served):
    url, spans = request.getfixturevalue(served)
    assert get_broken(url + '/fails-before-the-first-chunk') == 500
    span = wait_for(lambda: spans().get('before'))
    assert span['tags']['http.status_code'] == 500
    assert span['tags']['error'] is True


@pytest.mark.parametrize('served', ['waitress_spans', 'gunicorn_spans'])
def test_a_body_failing_after_its_first_chunk_keeps_the_status_sent(request, served):
    url, spans = request.getfixturevalue(served)
    assert get_broken(url + '/fails-after-the-first-chunk') == 200
    span = wait_for(lambda: spans().get('after'))
    assert span['tags']['http.status_code'] == 200
    assert span['tags']['error'] is True
