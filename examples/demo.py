"""The demo service ``pserve development.ini`` (or ``make demo``) runs.

Tracing comes entirely from the INI file: ``pyramid.includes`` adds
pyramid_opentracing (and pyramid_debugtoolbar, whose Tracing panel shows
each request's trace) and the ``ot.*`` settings turn on the tween and name
the tracer factory. The views know nothing of tracing but
``request.registry.settings['ot.tracer']``, used to start nested spans, and
:mod:`pyramid_opentracing.outgoing`, which traces the calls they make.
"""
import logging
import urllib.error

from pyramid.config import Configurator
from pyramid.response import Response

from pyramid_opentracing import outgoing

log = logging.getLogger(__name__)

INDEX = """<!doctype html>
<html><head><meta charset="utf-8"><title>pyramid_opentracing demo</title></head>
<body>
<h1>pyramid_opentracing demo</h1>
<p>Each request prints its spans on the console running pserve; the debug
toolbar's Tracing panel (the button on the right) shows them as a waterfall.</p>
<ul>
<li><a href="/hello/world">/hello/world</a>: a server span and a nested one</li>
<li><a href="/fail">/fail</a>: a view raising, its span marked as an error</li>
<li><a href="/report">/report</a>: nested spans, a call to this service and a
call to a service that is down</li>
<li><a href="/shop/teapot/">/shop/teapot/</a>: a page served through traversal
(<code>GET Product</code>), its view and its template's rendering as child spans</li>
</ul>
</body></html>"""

REPORT = """<!doctype html>
<html><head><meta charset="utf-8"><title>report</title></head>
<body><h1>Report</h1><p>greeting: %s</p><p>inventory: %s</p></body></html>"""


def index(request):
    return Response(INDEX)


def hello(request):
    tracer = request.registry.settings['ot.tracer'].tracer
    with tracer.start_active_span('compose greeting') as scope:
        name = request.matchdict['name']
        scope.span.set_tag('greeting.name', name)
        log.info('greeting %s', name)  # printed with the trace id by development.ini
        return {'hello': name}


def fail(request):
    raise RuntimeError('the demo failing on purpose')


def report(request):
    """Nested spans and two outgoing calls, one of them failing."""
    tracer = request.registry.settings['ot.tracer'].tracer
    settings = request.registry.settings
    with tracer.start_active_span('build report') as scope:
        scope.span.set_tag('report.kind', 'daily')
        with tracer.start_active_span('load settings'):
            pass
        with outgoing.urlopen(request.host_url + '/hello/report', target=request) as reply:
            greeting = reply.read().decode('utf-8')
        try:
            outgoing.urlopen(settings.get('demo.inventory_url', 'http://127.0.0.1:9/stock'),
                             target=request, timeout=2)
            inventory = 'available'
        except (urllib.error.URLError, OSError) as exc:
            inventory = 'unavailable (%s)' % exc
    return Response(REPORT % (greeting, inventory))


class Shop:
    """The root of the shop's resource tree, whose items are products."""
    __name__ = ''
    __parent__ = None
    PRODUCTS = {'teapot': 'A teapot', 'kettle': 'A kettle'}

    def __getitem__(self, name):
        return Product(name, self.PRODUCTS[name], self)


class Product:
    def __init__(self, name, title, parent):
        self.__name__, self.title, self.__parent__ = name, title, parent

    def __getitem__(self, name):
        raise KeyError(name)


def shop(request):
    return Shop()


def product(context, request):
    """A product's page, rendered from a Jinja2 template."""
    return {'product': context, 'shop': sorted(Shop.PRODUCTS.items())}


def edit_product(context, request):
    return Response('<!doctype html><html><body><p>editing %s</p></body></html>' % context.title)


def main(global_config, **settings):
    """The WSGI application, configured from the INI file's settings."""
    config = Configurator(settings=settings)
    config.add_route('index', '/')
    config.add_route('hello', '/hello/{name}')
    config.add_route('fail', '/fail')
    config.add_route('report', '/report')
    config.add_view(index, route_name='index')
    config.add_view(hello, route_name='hello', renderer='json')
    config.add_view(fail, route_name='fail')
    config.add_view(report, route_name='report')
    config.include('pyramid_jinja2')
    config.add_route('shop', '/shop/*traverse', factory=shop)
    config.add_view(product, route_name='shop', context=Product,
                    renderer='examples:templates/product.jinja2')
    config.add_view(edit_product, route_name='shop', context=Product, name='edit')
    return config.make_wsgi_app()
