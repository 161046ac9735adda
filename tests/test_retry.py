"""A request pyramid_retry sends through again: each attempt has its server
span, an attempt that was retried is marked so and is no failure of the
service, and the HTTP server metrics count the request once, with the status
the client got.

pyramid_retry is an execution policy: every attempt runs the whole tween
chain, ours included, with a new request. Each case runs with our tween where
``includeme`` puts it (the outermost, above pyramid_tm and the exception
view) and where an explicit ``pyramid.tweens`` may list it (below both).
"""
import pytest
import webtest
from opentelemetry.trace import SpanKind, StatusCode
from pyramid.interfaces import ITweens
from pyramid.request import Request
from pyramid.response import Response
from pyramid_retry import RetryableException

from pyramid_opentracing._pyramid import retried, retry_attempt

from . import apps
from .test_otel_bridge import BRIDGE, no_otel_env  # noqa: F401 (fixture)
from .test_otel_export import metrics_of

OURS = 'pyramid_opentracing.opentracing_tween_factory'
EXCVIEW = 'pyramid.tweens.excview_tween_factory'
TM = 'pyramid_tm.tm_tween_factory'

#: ``pyramid.tweens`` for each order: None keeps the one ``includeme`` and
#: pyramid_tm ask for.
ORDERS = {'default': None, 'below-excview': '\n'.join([TM, EXCVIEW, OURS])}

RETRYABLE = 'pyramid_retry.RetryableException'


def conflict_view(exc, request):
    return Response('conflict', status=409)


def make_app(settings, tweens=None, exception_view=False, attempts=3, failures=2):
    """A WebTest app whose ``/flaky`` raises a retryable error in its first
    ``failures`` attempts, then answers; with ``exception_view``, an
    exception view renders the retryable error as a 409 (which pyramid_retry
    discards to retry)."""
    calls = []

    def flaky(request):
        calls.append(request)
        if len(calls) <= failures:
            raise RetryableException('conflict %d' % len(calls))
        return Response('done after %d attempts' % len(calls))

    settings = dict(settings, **{'ot.trace_all': 'true', 'retry.attempts': attempts})
    if tweens is not None:
        settings['pyramid.tweens'] = tweens
    config = apps.make_config(settings)
    config.include('pyramid_tm')
    config.include('pyramid_retry')
    config.add_route('flaky', '/flaky')
    config.add_view(flaky, route_name='flaky')
    if exception_view:
        config.add_view(conflict_view, context=RetryableException)
    return webtest.TestApp(config.make_wsgi_app())


def tween_names(app):
    """Our tween's and the exception view's places, outermost first."""
    tweens = app.app.registry.getUtility(ITweens)
    names = [name for name, _ in (tweens.explicit or tweens.implicit())]
    return [name for name in names if name in (OURS, EXCVIEW, TM)]


EXPECTED_PLACES = {'default': [OURS, TM, EXCVIEW], 'below-excview': [TM, EXCVIEW, OURS]}


def assert_attempts_marked(spans, tags_of, status_key, error_key):
    """Three attempts, the first two retried: ``tags_of(span)`` are a
    span's tags, ``status_key`` and ``error_key`` the tracer's names for the
    status code and the error."""
    def values(key):
        return [tags_of(span).get(key) for span in spans]

    assert values('pyramid.retry.attempt') == [0, 1, 2]
    assert values('pyramid.retried') == [True, True, None]
    assert values(error_key) == [None, None, None]
    assert values(status_key) == [None, None, 200]


@pytest.fixture(params=sorted(ORDERS))
def order(request):
    return request.param


def test_an_attempt_is_retried_exactly_when_pyramid_retry_says_so():
    request = Request.blank('/')
    assert retry_attempt(request) is None  # pyramid_retry does not serve it
    assert not retried(request, RetryableException())
    request.environ.update({'retry.attempt': 0, 'retry.attempts': 2})
    assert retry_attempt(request) == 0
    assert retried(request, RetryableException())
    assert not retried(request, ValueError('not retryable'))
    request.environ['retry.attempt'] = 1  # the last attempt: what fails, fails
    assert not retried(request, RetryableException())


# -- any OpenTracing tracer -----------------------------------------------------

@pytest.mark.parametrize('exception_view', [False, True], ids=['raised', 'rendered'])
def test_retried_attempts_are_marked_and_are_no_failures(tracer, order, exception_view):
    app = make_app({'ot.base_tracer': tracer}, ORDERS[order], exception_view)
    assert tween_names(app) == EXPECTED_PLACES[order]
    assert app.get('/flaky').text == 'done after 3 attempts'
    spans = tracer.finished_spans()
    assert [s.operation_name for s in spans] == ['flaky'] * 3
    assert_attempts_marked(spans, lambda span: span.tags, 'http.status_code', 'error')
    for number, span in enumerate(spans[:2], 1):
        [log] = span.logs
        assert log.key_values['event'] == 'retry'
        assert log.key_values['error.kind'] == RETRYABLE
        assert log.key_values['message'] == 'conflict %d' % number
        assert 'RetryableException' in log.key_values['stack']
    assert spans[2].logs == []


def test_the_last_attempt_fails_as_any_request_does(tracer, order):
    app = make_app({'ot.base_tracer': tracer}, ORDERS[order], attempts=2, failures=2)
    with pytest.raises(RetryableException):
        app.get('/flaky')
    first, last = tracer.finished_spans()
    assert first.tags.get('pyramid.retried') is True and 'error' not in first.tags
    assert 'pyramid.retried' not in last.tags and last.tags['pyramid.retry.attempt'] == 1
    assert last.tags['error'] is True and last.tags['http.status_code'] == 500
    assert [log.key_values['event'] for log in last.logs] == ['error']


# -- the OpenTelemetry bridge -------------------------------------------------------

@pytest.fixture
def bridged(no_otel_env):  # noqa: F811 (the fixture)
    """make(**make_app's arguments): (WebTest app, BridgeTracer) exporting to memory."""
    made = []

    def make(**arguments):
        app = make_app({'ot.base_tracer_func': BRIDGE, 'ot.otel.exporter': 'memory'},
                       **arguments)
        tracer = app.app.registry.settings['ot.tracer'].tracer
        made.append(tracer)
        return app, tracer

    yield make
    for tracer in made:
        tracer.shutdown()


def server_spans(tracer):
    return [s for s in tracer.exporter.get_finished_spans() if s.kind is SpanKind.SERVER]


@pytest.mark.parametrize('exception_view', [False, True], ids=['raised', 'rendered'])
def test_with_the_bridge_retried_attempts_are_marked_and_counted_once(bridged, order,
                                                                      exception_view):
    app, tracer = bridged(tweens=ORDERS[order], exception_view=exception_view)
    assert tween_names(app) == EXPECTED_PLACES[order]
    assert app.get('/flaky').text == 'done after 3 attempts'
    spans = server_spans(tracer)
    assert [s.name for s in spans] == ['GET /flaky'] * 3
    assert [s.status.status_code for s in spans] == [StatusCode.UNSET] * 3
    assert_attempts_marked(spans, lambda span: span.attributes, 'http.response.status_code',
                           'error.type')
    for number, span in enumerate(spans[:2], 1):
        [event] = span.events
        assert event.name == 'pyramid.retry'
        assert event.attributes['error.type'] == RETRYABLE
        assert event.attributes['exception.message'] == 'conflict %d' % number
    assert spans[2].events == ()
    found = metrics_of(tracer.metric_reader)
    [(attributes, point)] = found['http.server.request.duration']
    assert attributes['http.response.status_code'] == 200 and 'error.type' not in attributes
    assert point.count == 1
    [(_, active)] = found['http.server.active_requests']
    assert active.value == 0


def test_with_the_bridge_a_request_failing_every_attempt_counts_once_as_its_500(bridged,
                                                                               order):
    app, tracer = bridged(tweens=ORDERS[order], attempts=2, failures=2)
    with pytest.raises(RetryableException):
        app.get('/flaky')
    first, last = server_spans(tracer)
    assert first.status.status_code is StatusCode.UNSET and first.attributes['pyramid.retried']
    assert last.status.status_code is StatusCode.ERROR
    assert last.attributes['error.type'] == RETRYABLE
    assert [event.name for event in last.events] == ['exception']
    [(attributes, point)] = metrics_of(tracer.metric_reader)['http.server.request.duration']
    assert attributes['http.response.status_code'] == 500
    assert attributes['error.type'] == RETRYABLE
    assert point.count == 1
