"""Trace chosen views with ``@tracer.trace(...)``: no tween, no ``ot.*`` settings.

Run from the repository root::

    python -m examples.decorator_app

The application holds its own :class:`~pyramid_opentracing.PyramidTracer`
and decorates three kinds of view: a function ``view(request)``, a
``view(context, request)`` and a method of a class-based view registered by
``@view_config`` and ``config.scan()``. It makes a request to each, and one to
an undecorated view, and prints the spans: one server span per decorated
view, tagged with the request attributes the decorator names, none for the
undecorated one.
"""
from opentracing.mocktracer import MockTracer
from pyramid.config import Configurator
from pyramid.response import Response
from pyramid.view import view_config, view_defaults
from webob import Request

from pyramid_opentracing import PyramidTracer

from .console import print_spans

#: The application's tracer: decorators need it when the module is imported.
tracer = PyramidTracer(MockTracer())

#: The requests ``main`` makes.
PATHS = ('/hello/alice', '/about', '/orders/7', '/health')


@tracer.trace('method', 'path')
def hello(request):
    """A function view taking the request."""
    return Response('Hello %s!' % request.matchdict['name'])


@tracer.trace('path', 'user_agent')
def about(context, request):
    """A view taking the context and the request."""
    return Response('A traced (context, request) view; context is %s' % type(context).__name__)


@view_defaults(route_name='order', renderer='json')
class OrderViews:
    """A class-based view: Pyramid makes it with the request, then calls a method."""

    def __init__(self, request):
        self.request = request

    @view_config(request_method='GET')
    @tracer.trace('matchdict')
    def show(self):
        order_id = self.request.matchdict['order_id']
        span = tracer.get_span(self.request)
        span.set_tag('order.id', order_id)
        with tracer.tracer.start_active_span('load order'):
            return {'id': order_id}


def health(request):
    """Not decorated: not traced."""
    return Response('ok')


def make_app():
    """The application; its traced views use the module's ``tracer``."""
    config = Configurator()
    config.add_route('hello', '/hello/{name}')
    config.add_route('about', '/about')
    config.add_route('order', '/orders/{order_id}')
    config.add_route('health', '/health')
    config.add_view(hello, route_name='hello')
    config.add_view(about, route_name='about')
    config.add_view(health, route_name='health')
    config.scan(__name__)  # finds OrderViews' @view_config
    return config.make_wsgi_app()


def main():
    app = make_app()
    recorder = tracer.tracer
    for path in PATHS:
        response = Request.blank(path, user_agent='examples.decorator_app').get_response(app)
        print_spans('GET %s -> %s' % (path, response.status), recorder.finished_spans())
        recorder.reset()


if __name__ == '__main__':
    main()
