"""Many callers at once through a real waitress server: each request keeps its own span.

16 client threads each send their requests with a span context of their
own in the ``ot-tracer-*`` headers, to a server running 16 worker threads.
Every server span must continue exactly the context its request sent, the
span a view starts must nest under its own request's server span, and no
scope may stay active on a worker thread between requests.
"""
import threading

import requests
from opentracing import Format
from opentracing.mocktracer.context import SpanContext

from examples.serving import serving

from . import apps

CLIENTS = 16
REQUESTS_PER_CLIENT = 150
PATHS = ('/child', '/plain')

#: Callers' ids start far above the ids the server's MockTracer gives (1, 2, ...).
FIRST_CALLER_ID = 10 ** 12


def number_the_span(span, request):
    """ot.start_span_cb: tag the server span with the number the client gave its request."""
    span.set_tag('request.number', int(request.headers['X-Request-Number']))


class ActiveScopeWatch:
    """WSGI middleware noting a scope active on the worker thread before or after a request."""

    def __init__(self, app, tracer):
        self.app = app
        self.tracer = tracer
        self.leaks = []

    def __call__(self, environ, start_response):
        self.note('before', environ)
        body = self.app(environ, start_response)
        try:
            chunks = list(body)
        finally:
            getattr(body, 'close', lambda: None)()
        self.note('after', environ)
        return chunks

    def note(self, when, environ):
        if self.tracer.scope_manager.active is not None:
            self.leaks.append((when, environ.get('HTTP_X_REQUEST_NUMBER')))


def caller_context(number):
    """The distinct span context the client sends with request ``number``."""
    return SpanContext(trace_id=FIRST_CALLER_ID + 2 * number,
                       span_id=FIRST_CALLER_ID + 2 * number + 1)


def run_client(base_url, client, tracer, sent, errors):
    """Send this client's requests one after the other on one keep-alive session."""
    try:
        with requests.Session() as session:
            for index in range(REQUESTS_PER_CLIENT):
                number = client * REQUESTS_PER_CLIENT + index
                path = PATHS[number % len(PATHS)]
                headers = {'X-Request-Number': str(number), 'ot-tracer-sampled': 'true'}
                tracer.inject(caller_context(number), Format.HTTP_HEADERS, headers)
                response = session.get(base_url + path, headers=headers, timeout=30)
                sent[number] = (path, response.status_code)
    except Exception as exc:  # reported by the test, with the client's number
        errors.append((client, exc))


def serve_concurrently(tracer):
    """Run every client against a real server; (requests sent, client errors, scope leaks)."""
    app = ActiveScopeWatch(apps.make_app({
        'ot.trace_all': True,
        'ot.base_tracer': tracer,
        'ot.start_span_cb': number_the_span,
    }), tracer)
    sent, errors = {}, []
    with serving(app, threads=16) as base_url:
        clients = [threading.Thread(target=run_client, args=(base_url, n, tracer, sent, errors))
                   for n in range(CLIENTS)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join(120)  # a guard against hanging, never reached when all is well
        assert not any(thread.is_alive() for thread in clients), 'clients hang'
    return sent, errors, app.leaks


def test_each_server_span_continues_its_own_request_and_nothing_crosses(tracer):
    sent, errors, leaks = serve_concurrently(tracer)
    assert errors == []
    assert len(sent) == CLIENTS * REQUESTS_PER_CLIENT
    assert {status for path, status in sent.values()} == {200}

    spans = tracer.finished_spans()
    servers = [span for span in spans if span.tags.get('span.kind') == 'server']
    children = [span for span in spans if 'span.kind' not in span.tags]  # the view's
    assert {span.operation_name for span in children} == {'child'}
    assert len(servers) == len(sent)
    assert len(servers) + len(children) == len(spans)
    assert all(span.finish_time is not None for span in spans)

    by_number = {}
    for span in servers:
        number = span.tags['request.number']
        assert number not in by_number, 'two server spans for request %d' % number
        by_number[number] = span
        caller = caller_context(number)
        assert span.parent_id == caller.span_id, 'request %d cross-linked' % number
        assert span.context.trace_id == caller.trace_id
        assert span.tags['http.url'].endswith(sent[number][0])

    server_by_id = {span.context.span_id: span for span in servers}
    assert len(server_by_id) == len(servers)
    child_requests = {n for n, (path, _) in sent.items() if path == '/child'}
    assert len(children) == len(child_requests)
    for child in children:
        parent = server_by_id[child.parent_id]
        assert parent.tags['request.number'] in child_requests
        assert child.context.trace_id == parent.context.trace_id
    assert len({child.parent_id for child in children}) == len(children)

    assert leaks == []
    assert tracer.active_span is None
