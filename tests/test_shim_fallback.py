"""Without the OTel shim's private names, the bridge uses the shim's public API:
one log line, and every request still served and traced."""
import logging
import sys

import opentracing
import pytest
import webtest
from opentelemetry.shim import opentracing_shim as shim
from pyramid.response import Response

from pyramid_opentracing.otel import shim as bridge_shim, tracer_from_settings

from . import apps

TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'


def _init_without_baggage(self, otel_context):
    self._otel_context = otel_context


def _init_by_other_names(self, tracer, context, span):
    opentracing.Span.__init__(self, tracer, context)
    setattr(self, '_'.join(('', 'otel', 'span')), span)


#: What replaces an __init__ whose private names are "missing".
INITS = {shim.SpanContextShim: _init_without_baggage, shim.SpanShim: _init_by_other_names}


@pytest.fixture
def load_shim_internals(monkeypatch, caplog):
    """load(*removals): detect the shim's private names again while each
    (object, name) of ``removals`` is missing from the shim, then put the
    shim back as it was (the fallbacks stay chosen until the end of the
    test). Gives the warnings it logged."""
    caplog.set_level(logging.WARNING, logger='pyramid_opentracing')

    def load(*removals):
        for owner, name in removals:
            if name == '__init__':
                monkeypatch.setattr(owner, name, INITS[owner])
            else:
                monkeypatch.delattr(owner, name)
        caplog.clear()
        bridge_shim._detect_private_names()
        monkeypatch.undo()
        return [r.getMessage() for r in caplog.records if r.name == 'pyramid_opentracing']
    yield load
    bridge_shim._detect_private_names()


def active_span_view(tracer):
    def view(request):
        return Response('active' if tracer.active_span is not None else 'none')
    return view


def traced_app(bridge):
    config = apps.make_config({'ot.trace_all': True, 'ot.base_tracer': bridge})
    config.add_route('active', '/active')
    config.add_view(active_span_view(bridge), route_name='active')
    return webtest.TestApp(config.make_wsgi_app())


@pytest.mark.parametrize('removals, missing', [
    ([(shim, '_SHIM_KEY')], '_SHIM_KEY and ScopeShim._span_cm'),
    ([(shim.SpanContextShim, '__init__')], 'SpanContextShim._baggage'),
    ([(shim.SpanShim, '__init__')], 'SpanShim._otel_span'),
], ids=['scope-key', 'baggage', 'span'])
def test_requests_are_traced_through_the_public_api(load_shim_internals, removals, missing):
    [warning] = load_shim_internals(*removals)
    assert missing in warning and 'falling back to its public API' in warning
    bridge = tracer_from_settings(**{'ot.otel.exporter': 'memory'})
    app = traced_app(bridge)
    assert app.get('/active', headers={'traceparent': TRACEPARENT}).text == 'active'
    assert bridge.active_span is None
    [span] = bridge.exporter.get_finished_spans()
    assert span.name == 'GET /active'
    assert span.parent.span_id == 0xb7ad6b7169203331


def test_the_shim_as_released_needs_no_fallback(load_shim_internals):
    assert load_shim_internals() == []
    assert bridge_shim.ACTIVATE_PRIVATELY and bridge_shim.BAGGAGE_PRIVATELY
    assert bridge_shim.CONTEXT_LATER


def test_a_bridge_whose_server_spans_cannot_load_is_traced_through_opentracing(
        monkeypatch, failures):
    bridge = tracer_from_settings(**{'ot.otel.exporter': 'memory'})
    monkeypatch.setitem(sys.modules, 'pyramid_opentracing.otel.spans', None)  # import fails
    app = traced_app(bridge)
    for _ in range(2):
        assert app.get('/active').text == 'active'
    assert [span.name for span in bridge.exporter.get_finished_spans()] == ['active', 'active']
    [message] = [r.getMessage() for r in failures()]
    assert 'loading the OpenTelemetry server spans failed' in message
