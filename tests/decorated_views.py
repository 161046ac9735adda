"""Views of every shape, decorated and registered with @view_config for scan()."""
from opentracing.mocktracer import MockTracer
from pyramid.httpexceptions import HTTPForbidden
from pyramid.response import Response
from pyramid.view import view_config

import pyramid_opentracing
from pyramid_opentracing import PyramidTracer

tracer = MockTracer()
traced = PyramidTracer(tracer)


@view_config(route_name='function')
@traced.trace('method')
def function(request):
    """A view taking the request."""
    traced.get_span(request).set_tag('seen_by_view', True)
    return Response('function')


@view_config(route_name='context_view')
@traced.trace('method')
def context_view(context, request):
    return Response('context view')


class ClassView:
    def __init__(self, request):
        self.request = request

    @view_config(route_name='class_view')
    @traced.trace('method')
    def method(self):
        return Response('class view')


@view_config(route_name='call_view')
class CallView:
    def __init__(self, context, request):
        self.request = request

    @traced.trace('method')
    def __call__(self):
        return Response('call view')


class OddNameView:
    """A class view keeping the request under a name of its own."""

    def __init__(self, request):
        self.req = request

    @view_config(route_name='odd_name_view')
    @traced.trace('method')
    def method(self):
        return Response('odd name view')


@view_config(route_name='odd_call_view')
class OddCallView:
    def __init__(self, context, request):
        self._r = request

    @traced.trace('method')
    def __call__(self):
        return Response('odd call view')


@view_config(route_name='returns_response')
@traced.trace('method')
def returns_response(request):
    return Response('accepted', status=202)


@view_config(route_name='forbidden')
@traced.trace('method')
def forbidden(request):
    raise HTTPForbidden()


@view_config(route_name='fails')
@traced.trace('method')
def fails(request):
    raise KeyError('missing')


@view_config(route_name='registry_traced', renderer='json')
@pyramid_opentracing.trace('path')
def registry_traced(request):
    return {'ok': True}
