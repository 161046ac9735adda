"""pyramid_tm and pyramid_retry compose with the tracing tween: the commit is
timed inside the server span, and a retried request gives one server span
per attempt."""
import time

import pytest
import transaction
import webtest
from pyramid.response import Response
from pyramid_retry import RetryableException

from . import apps


class CommitClock:
    """A transaction data manager that notes when, and under which active
    span, the transaction commits."""

    def __init__(self, tracer, request):
        self.tracer = tracer
        self.request = request
        self.transaction_manager = request.tm

    def tpc_vote(self, txn):
        pass

    def tpc_finish(self, txn):
        self.request.environ['test.committed'] = (time.time(), self.tracer.active_span)

    def tpc_begin(self, txn):
        pass

    def commit(self, txn):
        time.sleep(0.005)

    def abort(self, txn):
        pass

    def tpc_abort(self, txn):
        pass

    def sortKey(self):
        return 'commit-clock'


COMMITS = []


@pytest.fixture
def tm_app(tracer):
    COMMITS.clear()

    def write(request):
        clock = CommitClock(tracer, request)
        request.tm.get().join(clock)
        request.add_finished_callback(lambda r: COMMITS.append(r.environ['test.committed']))
        return Response('written')

    config = apps.make_config({'ot.trace_all': True, 'ot.base_tracer': tracer,
                               'tm.manager_hook': 'pyramid_tm.explicit_manager'})
    config.include('pyramid_tm')
    config.add_route('write', '/write')
    config.add_view(write, route_name='write')
    return webtest.TestApp(config.make_wsgi_app())


def test_the_commit_happens_inside_the_server_span(tm_app, tracer):
    assert tm_app.get('/write').body == b'written'
    [span] = tracer.finished_spans()
    [(committed_at, active_then)] = COMMITS
    assert span.start_time <= committed_at <= span.finish_time
    assert active_then is span, "the commit ran outside the server span"
    assert span.tags['http.status_code'] == 200
    assert not transaction.manager.isDoomed()


@pytest.fixture
def retry_app(tracer):
    attempts = []

    def flaky(request):
        attempts.append(request)
        if len(attempts) < 3:
            raise RetryableException('conflict %d' % len(attempts))
        return Response('done after %d attempts' % len(attempts))

    config = apps.make_config({'ot.trace_all': True, 'ot.base_tracer': tracer,
                               'retry.attempts': 3})
    config.include('pyramid_retry')
    config.add_route('flaky', '/flaky')
    config.add_view(flaky, route_name='flaky')
    return webtest.TestApp(config.make_wsgi_app())


def test_each_retry_attempt_has_its_own_server_span(retry_app, tracer):
    assert retry_app.get('/flaky').body == b'done after 3 attempts'
    spans = tracer.finished_spans()
    assert len(spans) == 3
    # a retried attempt answered no one: it is marked retried, not failed
    assert [s.tags.get('error') for s in spans] == [None, None, None]
    assert [s.tags.get('pyramid.retried') for s in spans] == [True, True, None]
    assert spans[-1].tags['http.status_code'] == 200
    assert len({s.context.span_id for s in spans}) == 3
    assert all(s.parent_id is None for s in spans), 'an attempt is not the child of another'
    assert [s.operation_name for s in spans] == ['flaky'] * 3


def test_a_retried_request_continues_the_callers_trace_in_every_attempt(retry_app, tracer):
    retry_app.get('/flaky', headers={'ot-tracer-traceid': 'abc', 'ot-tracer-spanid': 'def'})
    spans = tracer.finished_spans()
    assert [(s.context.trace_id, s.parent_id) for s in spans] == [(0xabc, 0xdef)] * 3
