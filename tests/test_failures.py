"""The failure log reports the first of each kind and counts the rest."""
import logging

import pytest

from pyramid_opentracing.failures import (
    MAX_KINDS, MAX_MESSAGE, FailureLog, RateLimiter, RateLimitFilter)
from pyramid_opentracing.otel.provider import PROPAGATION_LOGGERS

from .test_otel_bridge import bridge_app, no_otel_env  # noqa: F401 (fixtures)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_repeats_are_counted_not_logged_until_the_interval_passes(caplog):
    caplog.set_level(logging.DEBUG, logger='pyramid_opentracing')
    clock = Clock()
    log = FailureLog(interval=60, clock=clock)
    for _ in range(1000):
        log.report('extract', ValueError('bad'), 'the request starts a new trace')
    assert len(caplog.records) == 1
    first = caplog.records[0]
    assert first.levelno == logging.ERROR and first.exc_info[0] is ValueError
    assert first.getMessage() == (
        'pyramid_opentracing: extract failed (ValueError: bad); the request starts a new trace.')
    clock.now = 61
    log.report('extract', ValueError('bad'), 'the request starts a new trace', level=logging.WARNING)
    assert len(caplog.records) == 2
    assert caplog.records[1].levelno == logging.WARNING
    assert '999 more such failures were not logged in the last 60 s' in caplog.records[1].getMessage()


def test_the_limiter_lets_one_event_of_a_kind_through_per_interval_and_counts_the_rest():
    clock = Clock()
    limiter = RateLimiter(interval=10, clock=clock)
    assert [limiter.admit('a') for _ in range(4)] == [0, None, None, None]
    assert limiter.admit('b') == 0
    clock.now = 10
    assert limiter.admit('a') == 3 and limiter.admit('a') is None
    clock.now = 25
    assert limiter.admit('a') == 1 and limiter.admit('b') == 0


def test_our_failures_and_other_packages_lines_share_one_limiter():
    assert isinstance(FailureLog(interval=5).limiter, RateLimiter)
    assert isinstance(RateLimitFilter(interval=5).limiter, RateLimiter)
    assert FailureLog(interval=5).interval == RateLimitFilter(interval=5).interval == 5


def test_different_operations_and_exception_types_are_logged_separately(caplog):
    caplog.set_level(logging.DEBUG, logger='pyramid_opentracing')
    log = FailureLog()
    log.report('extract', ValueError('a'), 'x')
    log.report('extract', KeyError('a'), 'x')
    log.report('finish', ValueError('a'), 'x')
    assert len(caplog.records) == 3


def test_memory_is_bounded():
    log = FailureLog()
    for number in range(MAX_KINDS * 3):
        log.report('operation %d' % number, ValueError(), 'x')
    assert len(log.limiter._seen) <= MAX_KINDS


class UnprintableError(Exception):
    def __str__(self):
        raise RuntimeError('cannot render, token=%s' % self.args[0])


def raised(exc):
    try:
        raise exc
    except Exception as caught:
        return caught


def logged(caplog, exc):
    """The message and the formatted line of the one record reporting ``exc``."""
    caplog.set_level(logging.DEBUG, logger='pyramid_opentracing')
    FailureLog().report('tagging', raised(exc), 'x')
    (record,) = caplog.records
    return record.getMessage(), logging.Formatter().format(record)


def test_the_line_and_its_traceback_are_scrubbed(caplog):
    message, line = logged(caplog, ValueError('db said password=pw-in-failure'))
    assert 'password=[REDACTED]' in message
    assert 'Traceback' in line and 'ValueError: db said password=[REDACTED]' in line
    assert 'pw-in-failure' not in line


def test_an_exception_whose_str_raises_is_logged_by_its_name(caplog):
    message, line = logged(caplog, UnprintableError('tok-in-str'))
    assert '(UnprintableError: <unprintable UnprintableError>)' in message
    assert 'tok-in-str' not in line


# -- other packages' loggers ---------------------------------------------------

@pytest.fixture
def fresh_propagation_loggers():
    """The propagators' loggers without the filter a bridge made earlier in
    this process put on them (it remembers what it logged)."""
    def strip():
        for name in PROPAGATION_LOGGERS:
            log = logging.getLogger(name)
            log.filters[:] = [each for each in log.filters if not isinstance(each, RateLimitFilter)]
    strip()
    yield
    strip()


def test_malformed_propagation_headers_log_one_short_line_per_kind_without_secrets(
        bridge_app, caplog, fresh_propagation_loggers):
    caplog.set_level(logging.WARNING)
    app, _tracer = bridge_app(**{'ot.otel.propagators': 'tracecontext,baggage'})
    caller = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
    for _ in range(20):
        app.get('/plain', headers={'traceparent': caller,
                                   'baggage': 'password=hunter2,k=' + 'v' * 9000})
        app.get('/plain', headers={'traceparent': caller,
                                   'tracestate': 'a=b,' + 'bad member password=hunter2' * 10})
    messages = [record.getMessage() for record in caplog.records
                if record.name.startswith('opentelemetry.')]
    kinds = {(record.name, record.levelno) for record in caplog.records
             if record.name.startswith('opentelemetry.')}
    assert messages and len(messages) == len(set(messages)) <= 4, messages
    assert {name for name, _level in kinds} == {'opentelemetry.baggage.propagation',
                                                'opentelemetry.trace.span'}
    assert all('hunter2' not in message and len(message) <= MAX_MESSAGE for message in messages)


def test_a_rate_limited_line_shows_its_arguments_unless_told_not_to(caplog):
    log = logging.getLogger('tests.rate_limited')
    shown, hidden = RateLimitFilter(), RateLimitFilter(hide_arguments=True)
    caplog.set_level(logging.WARNING, logger=log.name)
    for each in (shown, hidden):
        log.addFilter(each)
        log.warning('bad entry %s', 'token=hunter2 plain')
        log.removeFilter(each)
    assert [record.getMessage() for record in caplog.records] == [
        'bad entry token=[REDACTED] plain', 'bad entry [value not logged]']
