"""A service traced by the OTel bridge on waitress, for the exit tests.

    python -m tests.exit_app ENDPOINT [setting=value ...]

exports OTLP to ENDPOINT, prints its port once it listens, and serves
``/hello/{name}`` and ``/slow`` (a child span, then ``in flight`` printed and
a sleep of 3 s) until a signal ends it. Ctrl-C (SIGINT) ends it normally.
``paste_app`` is the same application for ``pserve`` (``use = call:...``),
``from_environ()`` for gunicorn.
"""
import logging
import os
import signal
import sys
import time

from pyramid.config import Configurator
from waitress.server import create_server


def hello(request):
    return 'hello %s' % request.matchdict['name']


def slow(request):
    """A request still in flight when the test ends the process."""
    tracer = request.registry.settings['ot.tracer'].tracer
    with tracer.start_active_span('db'):
        pass
    print('in flight', flush=True)
    time.sleep(3)
    return 'slow'


def sigterm_handler(request):
    """The name of the SIGTERM handler of the process serving the request."""
    handler = signal.getsignal(signal.SIGTERM)
    return getattr(handler, '__qualname__', str(handler))


def paste_app(global_config, **settings):
    config = Configurator(settings=settings)
    config.add_route('hello', '/hello/{name}')
    config.add_view(hello, route_name='hello', renderer='string')
    config.add_route('slow', '/slow')
    config.add_view(slow, route_name='slow', renderer='string')
    config.add_route('sigterm_handler', '/sigterm-handler')
    config.add_view(sigterm_handler, route_name='sigterm_handler', renderer='string')
    config.include('pyramid_opentracing')
    return config.make_wsgi_app()


def from_environ():
    """The application for gunicorn, exporting to ``EXIT_APP_ENDPOINT``."""
    return paste_app({}, **{
        'ot.trace_all': 'true',
        'ot.base_tracer_func': 'pyramid_opentracing.otel.tracer_from_settings',
        'ot.otel.service_name': 'exit-test',
        'ot.otel.endpoint': os.environ['EXIT_APP_ENDPOINT'],
    })


def main(endpoint, *assignments):
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format='%(levelname)s [%(name)s] %(message)s')
    settings = {
        'ot.trace_all': 'true',
        'ot.base_tracer_func': 'pyramid_opentracing.otel.tracer_from_settings',
        'ot.otel.service_name': 'exit-test',
        'ot.otel.endpoint': endpoint,
    }
    settings.update(assignment.split('=', 1) for assignment in assignments)
    server = create_server(paste_app({}, **settings), host='127.0.0.1', port=0)
    print(server.effective_port, flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass


if __name__ == '__main__':
    main(*sys.argv[1:])
