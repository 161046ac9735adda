"""A small real Pyramid application covering the cases tracing must get right."""
import opentracing
from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.response import Response


class Handled(Exception):
    """Turned into a 500 by an exception view."""


class Invalid(Exception):
    """Turned into a 400 by an exception view."""


def hello(request):
    with opentracing.global_tracer().start_active_span('work'):
        pass
    return {'hello': request.matchdict.get('name', 'world')}


def child(request):
    """Starts a span with the request's tracer, as application code does."""
    tracer = request.registry.settings['ot.tracer'].tracer
    with tracer.start_active_span('child'):
        pass
    return Response('child')


def plain(request):
    return Response('plain')


def created(request):
    request.response.status = 201
    return {'created': True}


def redirect(request):
    raise HTTPFound(location='/plain')


def not_found(request):
    raise HTTPNotFound()


def boom(request):
    raise ValueError('boom')


def handled(request):
    raise Handled('handled')


def invalid(request):
    raise Invalid('invalid')


def server_error(request):
    return Response('unavailable', status=503)


def stream(request):
    def chunks():
        yield b'a'
        yield b'b'
    return Response(app_iter=chunks())


def handled_view(exc, request):
    return Response('handled', status=500)


def invalid_view(exc, request):
    return Response('invalid', status=400)


ROUTES = [
    ('hello', '/hello/{name}', hello, 'json'),
    ('child', '/child', child, None),
    ('plain', '/plain', plain, None),
    ('created', '/created', created, 'json'),
    ('redirect', '/redirect', redirect, None),
    ('not_found', '/not-found', not_found, None),
    ('boom', '/boom', boom, None),
    ('handled', '/handled', handled, None),
    ('invalid', '/invalid', invalid, None),
    ('server_error', '/server-error', server_error, None),
    ('stream', '/stream', stream, None),
]


def make_config(settings=None, include=True):
    """A Configurator with every route of this module, tracing included."""
    config = Configurator(settings=dict(settings or {}))
    for name, pattern, view, renderer in ROUTES:
        config.add_route(name, pattern)
        config.add_view(view, route_name=name, renderer=renderer)
    config.add_view(handled_view, context=Handled)
    config.add_view(invalid_view, context=Invalid)
    if include:
        config.include('pyramid_opentracing')
    return config


def make_app(settings=None):
    return make_config(settings).make_wsgi_app()


def traced_test_app(settings, *views):
    """A WebTest app of this module traced with ``ot.trace_all`` and
    ``settings``, plus ``views``: (route name, view) at /<name>."""
    import webtest  # only the tests have it
    config = make_config(dict({'ot.trace_all': True}, **settings))
    for name, view in views:
        config.add_route(name, '/' + name)
        config.add_view(view, route_name=name)
    return webtest.TestApp(config.make_wsgi_app())


def bridged_views(views):
    """(WebTest app, BridgeTracer): only ``views`` ({route name: view},
    at /<name>), traced by the OpenTelemetry bridge into memory."""
    import webtest  # only the tests have it
    config = Configurator(settings={
        'ot.trace_all': 'true', 'ot.otel.exporter': 'memory',
        'ot.base_tracer_func': 'pyramid_opentracing.otel.tracer_from_settings'})
    for name, view in views.items():
        config.add_route(name, '/' + name)
        config.add_view(view, route_name=name)
    config.include('pyramid_opentracing')
    app = config.make_wsgi_app()
    return webtest.TestApp(app), app.registry.settings['ot.tracer'].tracer


def paste_app(global_config, **settings):
    """PasteDeploy entry point: the app without an explicit include, so that
    ``pyramid.includes`` in the INI file does it."""
    return make_config(settings, include=False).make_wsgi_app()
