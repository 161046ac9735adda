"""Two services over real HTTP, one trace: the caller's span context travels in headers.

Run from the repository root (needs basictracer and waitress, both in the
``testing`` extra)::

    python -m examples.client_server

The *shop* service's view ``/buy/{item}`` asks the *inventory* service for
``/stock/{item}`` over HTTP with ``pyramid_opentracing.outgoing.urlopen``,
which starts a client span and injects its context into the request headers;
the inventory's tween extracts it, so the inventory's server span is a child
of the shop's client span: one trace across two services.

Both services run in this process on waitress, on ports the OS picks, each
with its own tracer (basictracer). Both tracers hand finished spans to one
collector, and each trace is printed as one tree, every span tagged with the
service that made it.
"""
import json
import threading
import urllib.parse
import urllib.request

import opentracing
from basictracer import BasicTracer
from basictracer.recorder import SpanRecorder
from basictracer.text_propagator import TextPropagator
from pyramid.config import Configurator

from pyramid_opentracing import outgoing

from .console import print_spans
from .serving import serving

STOCK = {'tea': 12, 'scones': 0}

#: The items ``main`` buys.
ITEMS = ('tea', 'scones')


class SpanCollector(SpanRecorder):
    """Keeps the spans basictracer tracers finish, from any thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._spans = []

    def record_span(self, span):
        with self._lock:
            self._spans.append(span)

    def take(self):
        """The spans finished since the last call."""
        with self._lock:
            spans, self._spans = self._spans, []
        return spans


def make_tracer(collector):
    """A basictracer tracer that propagates in HTTP headers and records into ``collector``.

    Only the text propagators are registered: basictracer's binary one does
    not import with protobuf 4 and later.
    """
    tracer = BasicTracer(recorder=collector)
    for carrier_format in (opentracing.Format.TEXT_MAP, opentracing.Format.HTTP_HEADERS):
        tracer.register_propagator(carrier_format, TextPropagator())
    return tracer


def get_json(request, url):
    """GET ``url`` from the view of ``request``, in a client span whose
    context travels in the request headers."""
    name = 'GET ' + urllib.parse.urlsplit(url).path
    with outgoing.urlopen(url, target=request, name=name, timeout=10) as response:
        return json.load(response)


def stock(request):
    item = request.matchdict['item']
    tracer = request.registry.settings['ot.tracer'].tracer
    with tracer.start_active_span('count stock'):
        return {'item': item, 'count': STOCK.get(item, 0)}


def buy(request):
    item = request.matchdict['item']
    inventory = request.registry.settings['shop.inventory_url']
    count = get_json(request, '%s/stock/%s' % (inventory, item))['count']
    return {'item': item, 'bought': count > 0}


def service_config(name, tracer, **settings):
    """A Configurator tracing every request, tagging its spans with ``service``."""
    config = Configurator(settings=dict(
        settings,
        **{'ot.trace_all': True, 'ot.base_tracer': tracer,
           'ot.start_span_cb': lambda span, request: span.set_tag('service', name)}))
    config.include('pyramid_opentracing')
    return config


def make_inventory(tracer):
    config = service_config('inventory', tracer)
    config.add_route('stock', '/stock/{item}')
    config.add_view(stock, route_name='stock', renderer='json')
    return config.make_wsgi_app()


def make_shop(tracer, inventory_url):
    config = service_config('shop', tracer, **{'shop.inventory_url': inventory_url})
    config.add_route('buy', '/buy/{item}')
    config.add_view(buy, route_name='buy', renderer='json')
    return config.make_wsgi_app()


def buy_items(items, collector):
    """Start both services, buy each of ``items`` from the shop over HTTP.

    Yields (item, the shop's answer, the spans both services finished for it).
    """
    with serving(make_inventory(make_tracer(collector))) as inventory_url:
        with serving(make_shop(make_tracer(collector), inventory_url)) as shop_url:
            for item in items:
                with urllib.request.urlopen('%s/buy/%s' % (shop_url, item), timeout=10) as response:
                    answer = json.load(response)
                yield item, answer, collector.take()


def main():
    for item, answer, spans in buy_items(ITEMS, SpanCollector()):
        print_spans('GET /buy/%s -> %s' % (item, answer), spans)


if __name__ == '__main__':
    main()
