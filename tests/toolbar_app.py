"""A small application with pyramid_debugtoolbar and the Tracing panel."""
import re
import socket
import urllib.error

from pyramid.config import Configurator
from pyramid.response import Response

from pyramid_opentracing import outgoing

PANEL = 'pyramid_opentracing.toolbar.TracingPanel'
SCRIPT = '<script>window.tracingPanelInjected = true</script>'


def closed_port_url():
    """A URL on a loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    return 'http://127.0.0.1:%d/stock' % port


def work(request):
    """Nested spans, an attribute holding markup, a list attribute, a failing
    outgoing call."""
    tracer = request.registry.settings['ot.tracer'].tracer
    with tracer.start_active_span('load user') as scope:
        scope.span.set_tag('user.note', SCRIPT)
        scope.span.set_tag('user.roles', ['reader', 'panel'])
        with tracer.start_active_span('query database'):
            pass
    try:
        outgoing.urlopen(request.registry.settings['test.down_url'], target=request, timeout=2)
    except (urllib.error.URLError, OSError):
        pass
    return Response('<!doctype html><html><body><p>done</p></body></html>')


#: What a library instrumentation might put on its span, which the exporter
#: must not receive, nor the panel show.
FOREIGN_SECRETS = ('hunter2', 'alice:s3cret')


def foreign(request):
    """A span of another OpenTelemetry instrumentation on the bridge's
    provider (as a database or HTTP library's would be), carrying secrets."""
    provider = request.registry.settings['ot.tracer'].tracer.provider
    with provider.get_tracer('some.library').start_as_current_span('SELECT') as span:
        span.set_attribute('db.statement', "SELECT 1 FROM users WHERE password = 'hunter2'")
        span.set_attribute('url.full', 'http://alice:s3cret@db.example:5432/shop')
    return Response('<!doctype html><html><body><p>foreign</p></body></html>')


def plain(request):
    return Response('<!doctype html><html><body><p>plain</p></body></html>')


def make_app(settings, toolbar=True):
    settings = dict(settings)
    settings.setdefault('ot.trace_all', True)
    settings.setdefault('test.down_url', closed_port_url())
    if toolbar:
        settings.setdefault('debugtoolbar.extra_panels', PANEL)
    config = Configurator(settings=settings)
    if toolbar:
        config.include('pyramid_debugtoolbar')
    config.include('pyramid_opentracing')
    config.add_route('work', '/work')
    config.add_route('plain', '/plain')
    config.add_route('foreign', '/foreign')
    config.add_view(work, route_name='work')
    config.add_view(plain, route_name='plain')
    config.add_view(foreign, route_name='foreign')
    return config.make_wsgi_app()


def toolbar_path(html):
    """The path of the toolbar's page for the request that returned ``html``."""
    return re.search(r'/_debug_toolbar/[0-9a-f]+', html).group(0)
