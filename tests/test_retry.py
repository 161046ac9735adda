"""A request pyramid_retry sends through again: each attempt has its server
span, an attempt that was retried is marked so and is no failure of the
service, and the HTTP server metrics count the request once, with the status
the client got.

pyramid_retry is an execution policy: every attempt runs the whole tween
chain, ours included, with a new request. Each case runs with our tween where
``includeme`` puts it (the outermost, above pyramid_tm and the exception
view) and where an explicit ``pyramid.tweens`` may list it (below both).
"""
from pyramid.request import Request
from pyramid_retry import RetryableException

from pyramid_opentracing._pyramid import retried, retry_attempt


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
