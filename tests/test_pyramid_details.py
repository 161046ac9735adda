"""The Pyramid and WebOb details in ``_pyramid`` and their fallbacks: each
fallback does what the detail it replaces does."""
import collections

import pytest
from pyramid.viewderivers import requestonly
from webob.response import AppIterRange

from pyramid_opentracing import _pyramid


def by_request(request):
    return request


def by_context(context, request):
    return request


def with_default(request, extra=None):
    return request


class ClassView:
    def __init__(self, request):
        self.request = request

    def method(self):
        return self.request


class ContextClassView:
    def __init__(self, context, request):
        self.request = request


@pytest.mark.parametrize('view', [by_request, by_context, with_default, ClassView,
                                  ContextClassView, ClassView(None).method])
def test_the_requestonly_fallback_agrees_with_pyramid(view):
    assert _pyramid.requestonly_by_signature(view) == bool(requestonly(view))


class Request:
    """What a request offers for its finished callbacks."""

    def __init__(self, callbacks):
        self.finished_callbacks = callbacks

    def add_finished_callback(self, callback):
        self.finished_callbacks.append(callback)


@pytest.mark.parametrize('kind, first', [(collections.deque, True), (list, False)])
def test_a_callback_runs_first_where_callbacks_are_a_deque_and_last_elsewhere(kind, first):
    ran = []
    request = Request(kind([lambda request: ran.append('theirs')]))
    _pyramid.run_first_when_finished(request, lambda request: ran.append('ours'))
    assert _pyramid.run_finished_callbacks(request) is None
    assert ran == (['ours', 'theirs'] if first else ['theirs', 'ours'])
    assert not request.finished_callbacks


@pytest.mark.parametrize('kind', [collections.deque, list])
def test_a_failing_finished_callback_ends_them_and_is_returned(kind):
    failure = ValueError('callback failed')
    ran = []

    def fail(request):
        raise failure
    request = Request(kind([fail, lambda request: ran.append('later')]))
    assert _pyramid.run_finished_callbacks(request) is failure
    assert ran == []


def test_a_range_of_a_body_uses_its_own_app_iter_range_else_webobs():
    class Seekable(list):
        def app_iter_range(self, start, stop):
            return [b''.join(self)[start:stop]]
    assert _pyramid.ranged(Seekable([b'abc', b'def']), 1, 4) == [b'bcd']
    part = _pyramid.ranged(iter([b'abc', b'def']), 1, 4)
    assert isinstance(part, AppIterRange) and b''.join(part) == b'bcd'


def test_without_webobs_range_the_whole_body_is_sent(monkeypatch):
    monkeypatch.setattr(_pyramid, 'AppIterRange', None)
    assert _pyramid.ranged(iter([b'abc']), 0, 1) is None


def test_routes_of_a_registry_without_routes_is_empty():
    from pyramid.registry import Registry
    assert _pyramid.routes_of(Registry()) == ()


def test_tweens_in_order_reads_pyramids_tweens_and_refuses_others():
    from pyramid.config.tweens import Tweens
    tweens = Tweens()
    tweens.add_implicit('a', 'factory a')
    assert _pyramid.tweens_in_order(tweens) == [('a', 'factory a')]
    tweens.add_explicit('b', 'factory b')
    assert _pyramid.tweens_in_order(tweens) == [('b', 'factory b')]
    assert _pyramid.tweens_in_order(lambda handler, registry: handler) is None


def test_traced_tweens_fall_back_to_the_tweens_they_wrap_without_their_order():
    from pyramid_opentracing.internals import TracedTweens

    def tweens(handler, registry):
        return ('built', handler)
    assert TracedTweens(tweens)('handler', None) == ('built', 'handler')
