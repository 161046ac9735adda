"""Trace every request with the tween: ``config.include`` and ``ot.trace_all``.

Run from the repository root::

    python -m examples.tween_app

It makes a few requests to itself and prints, for each, the server span the
tween started and, nested under it, the spans the view started. The tracer is
opentracing's MockTracer, which keeps finished spans in memory: nothing else
to install or run.
"""
from opentracing.mocktracer import MockTracer
from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPNotFound
from webob import Request

import pyramid_opentracing

from .console import print_spans

ORDERS = {'1': ['tea', 'scones'], '2': ['coffee']}

#: The requests ``main`` makes: listing, one order, a missing order.
PATHS = ('/orders', '/orders/1', '/orders/9')


def list_orders(request):
    """Starts its own span; the tween's server span is its parent."""
    tracer = request.registry.settings['ot.tracer'].tracer
    with tracer.start_active_span('load orders') as scope:
        scope.span.set_tag('orders', len(ORDERS))
        return {'orders': sorted(ORDERS)}


def show_order(request):
    """Tags the server span, then starts two nested spans of its own."""
    order_id = request.matchdict['order_id']
    pyramid_opentracing.get_span(request).set_tag('order.id', order_id)
    tracer = request.registry.settings['ot.tracer'].tracer
    with tracer.start_active_span('load order'):
        items = ORDERS.get(order_id)
        with tracer.start_active_span('price items'):
            pass
    if items is None:
        raise HTTPNotFound()
    return {'id': order_id, 'items': items}


def make_app(tracer):
    """The application, every request traced by the OpenTracing ``tracer``."""
    config = Configurator(settings={
        'ot.trace_all': True,
        'ot.base_tracer': tracer,
        'ot.traced_attributes': ['path', 'method'],
    })
    config.include('pyramid_opentracing')
    config.add_route('orders', '/orders')
    config.add_route('order', '/orders/{order_id}')
    config.add_view(list_orders, route_name='orders', renderer='json')
    config.add_view(show_order, route_name='order', renderer='json')
    return config.make_wsgi_app()


def main():
    tracer = MockTracer()
    app = make_app(tracer)
    for path in PATHS:
        response = Request.blank(path).get_response(app)
        print_spans('GET %s -> %s' % (path, response.status), tracer.finished_spans())
        tracer.reset()


if __name__ == '__main__':
    main()
