"""The views of the zero-code application, registered by ``config.scan()``."""
import os
import time

from pyramid.view import view_config


@view_config(route_name='hello', renderer='string')
def hello(request):
    return 'hello %s' % request.matchdict['name']


@view_config(route_name='slow', renderer='string')
def slow(request):
    """A request still in flight when the test ends the process: it prints
    ``in flight`` then sleeps ``ZERO_CODE_SLOW`` seconds (3 by default: long enough
    for a loaded machine to deliver the signal while it sleeps)."""
    print('in flight', flush=True)
    time.sleep(float(os.environ.get('ZERO_CODE_SLOW', '3')))
    return 'slow'


@view_config(route_name='sql', renderer='string')
def sql(request):
    """One query through SQLAlchemy, which OpenTelemetry's instrumentation traces."""
    import sqlalchemy
    engine = request.registry.settings.get('zero_code.engine')
    if engine is None:  # made after instrumenting, as create_engine is wrapped then
        engine = request.registry.settings['zero_code.engine'] = sqlalchemy.create_engine(
            'sqlite://')
    with engine.connect() as connection:
        return str(connection.execute(sqlalchemy.text('SELECT 40 + 2')).scalar())


@view_config(route_name='outgoing', renderer='string')
def outgoing(request):
    """One call through requests, which OpenTelemetry's instrumentation
    traces, to ``ZERO_CODE_OUTGOING`` (a server of the test on 127.0.0.1)."""
    import requests
    return requests.get(os.environ['ZERO_CODE_OUTGOING'], timeout=10).text


@view_config(route_name='fail')
def fail(request):
    raise ValueError('the view failed')


@view_config(context=ValueError, renderer='string')
def failed(exc, request):
    request.response.status = 500
    return 'failed'
