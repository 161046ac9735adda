"""An application that never mentions pyramid_opentracing, for the zero-code
tests: ``opentelemetry-instrument pserve`` (``paste_app``) or gunicorn
(``make_app()``) trace it through the instrumentor alone.

Its views are found by ``config.scan()`` and its static files by a relative
asset spec: both resolve against the package of the module that made the
Configurator, which the instrumentor must leave right.
"""
from pyramid.config import Configurator


def make_app(**settings):
    config = Configurator(settings=settings)
    config.add_route('hello', '/hello/{name}')
    config.add_route('slow', '/slow')
    config.add_route('sql', '/sql')
    config.add_route('outgoing', '/outgoing')
    config.add_route('fail', '/fail')
    config.add_static_view('static', 'static')  # tests.zero_code_app:static
    config.scan()  # tests.zero_code_app.views
    return config.make_wsgi_app()


def paste_app(global_config, **settings):
    return make_app(**settings)
