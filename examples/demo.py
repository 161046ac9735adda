"""The demo service ``pserve development.ini`` (or ``make demo``) runs.

Tracing comes entirely from the INI file: ``pyramid.includes`` adds
pyramid_opentracing and the ``ot.*`` settings turn on the tween and name
the tracer factory. The views know nothing of tracing but
``request.registry.settings['ot.tracer']``, used to start a nested span.
"""
import logging

from pyramid.config import Configurator
from pyramid.response import Response

log = logging.getLogger(__name__)

INDEX = """<h1>pyramid_opentracing demo</h1>
<p>Each request prints its spans on the console running pserve.</p>
<ul>
<li><a href="/hello/world">/hello/world</a>: a server span and a nested one</li>
<li><a href="/fail">/fail</a>: a view raising, its span marked as an error</li>
</ul>"""


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


def main(global_config, **settings):
    """The WSGI application, configured from the INI file's settings."""
    config = Configurator(settings=settings)
    config.add_route('index', '/')
    config.add_route('hello', '/hello/{name}')
    config.add_route('fail', '/fail')
    config.add_view(index, route_name='index')
    config.add_view(hello, route_name='hello', renderer='json')
    config.add_view(fail, route_name='fail')
    return config.make_wsgi_app()
