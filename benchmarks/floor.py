"""The floor: the least a tween can do to make the server span we make.

It makes exactly the tracer calls pyramid_opentracing makes for a request
traced by its tween (no traced attributes, no callbacks): ``extract``,
``start_active_span`` with the same four start tags, ``scope.close()``, then
``set_operation_name`` to the route name, ``set_tag`` for ``pyramid.route``
and ``http.status_code``, and ``finish``. For opentracing's no-op Tracer,
which records nothing, pyramid_opentracing makes no tracer calls, and the
floor is a tween that only calls the handler. No redaction, no guards around the
tracer, no streaming support: everything else our tween does is overhead
measured against this one.
"""
import opentracing
from opentracing.ext import tags
from pyramid.tweens import INGRESS

from pyramid_opentracing.request_span import EXPECTED_EXTRACT_ERRORS


def include_floor(config, tracer):
    """Install the floor tween, where our tween goes, tracing with ``tracer``."""
    config.registry.settings['bench.floor_tracer'] = tracer
    config.add_tween('benchmarks.floor.floor_tween_factory', under=INGRESS)


def floor_tween_factory(handler, registry):
    tracer = registry.settings['bench.floor_tracer']
    if type(tracer) is opentracing.Tracer:
        # opentracing's no-op Tracer: pyramid_opentracing makes no tracer
        # calls for it, so neither does the floor
        return lambda request: handler(request)

    def floor_tween(request):
        try:
            parent = tracer.extract(opentracing.Format.HTTP_HEADERS, request.headers)
        except EXPECTED_EXTRACT_ERRORS:
            parent = None
        method = request.method
        scope = tracer.start_active_span(method, child_of=parent, finish_on_close=False,
                                         ignore_active_span=True, tags={
            tags.COMPONENT: 'pyramid',
            tags.SPAN_KIND: tags.SPAN_KIND_RPC_SERVER,
            tags.HTTP_METHOD: method,
            tags.HTTP_URL: request.path_url,
        })
        span = scope.span
        try:
            response = handler(request)
        except BaseException:
            scope.close()
            span.set_tag(tags.ERROR, True)
            span.finish()
            raise
        scope.close()
        route = request.matched_route
        if route is not None:
            span.set_operation_name(route.name)
            span.set_tag('pyramid.route', route.name)
        span.set_tag(tags.HTTP_STATUS_CODE, response.status_int)
        span.finish()
        return response

    return floor_tween


def include_otel_floor(config, tracer):
    """The floor for the OpenTelemetry bridge, which makes real SERVER spans.

    For a shim tracer pyramid_opentracing starts the OpenTelemetry span
    itself (``pyramid_opentracing.otel.spans.OtelStrategy``); this floor
    makes the same calls: extract, ``start_span`` with kind SERVER and the
    same semantic-convention attributes (computed by the bridge's own
    ``server_attributes``, so only the control flow around them differs),
    activate it as the bridge does (``ServerScope``: one context attach),
    close, ``update_name``, one ``set_attributes`` with the route and the
    status, ``end``.
    """
    config.registry.settings['bench.floor_tracer'] = tracer
    config.add_tween('benchmarks.floor.otel_floor_tween_factory', under=INGRESS)


def otel_floor_tween_factory(handler, registry):
    from opentelemetry.trace import SpanKind
    from pyramid_opentracing.otel.shim import ServerScope, bridge_span
    from pyramid_opentracing.otel.spans import parent_context, server_attributes
    from pyramid_opentracing.request_tags import TagPolicy
    tracer = registry.settings['bench.floor_tracer']
    otel_tracer = tracer.unwrap()
    scope_manager = tracer.scope_manager
    policy = TagPolicy()
    server = SpanKind.SERVER

    def otel_floor_tween(request):
        try:
            parent = tracer.extract(opentracing.Format.HTTP_HEADERS, request.headers)
        except EXPECTED_EXTRACT_ERRORS:
            parent = None
        method = request.method
        otel_span = otel_tracer.start_span(method, context=parent_context(parent), kind=server,
                                           attributes=server_attributes(request, policy, method))
        scope = ServerScope(scope_manager, bridge_span(tracer, otel_span))
        try:
            response = handler(request)
        except BaseException:
            scope.close()
            otel_span.end()
            raise
        scope.close()
        route = request.matched_route
        attributes = {'http.response.status_code': response.status_int}
        if route is not None:
            otel_span.update_name('%s %s' % (method, route.pattern))
            attributes['http.route'] = route.pattern
            attributes['pyramid.route'] = route.name
        otel_span.set_attributes(attributes)
        otel_span.end()
        return response

    return otel_floor_tween


def include_sdk_minimum(config, tracer):
    """Less than any OpenTracing bridge can do: the OpenTelemetry SDK alone.

    The caller's context read by the propagator, one SERVER span with the
    same attributes made current with one context attach, then the route and
    status attributes, the name after routing (``GET /plain``: without it
    the span would not be the same span) and ``end``: no OpenTracing objects.
    Its cost is the SDK's own, and shows how close to
    ``opentelemetry-instrumentation-pyramid`` any instrumentation making the
    same span can get.
    """
    config.registry.settings['bench.floor_tracer'] = tracer
    config.add_tween('benchmarks.floor.sdk_minimum_tween_factory', under=INGRESS)


def sdk_minimum_tween_factory(handler, registry):
    from opentelemetry import context
    from opentelemetry.trace import SpanKind, set_span_in_context
    from pyramid_opentracing.otel.bridge import _REQUEST_HEADERS
    from pyramid_opentracing.otel.spans import server_attributes
    from pyramid_opentracing.request_tags import TagPolicy
    tracer = registry.settings['bench.floor_tracer']
    otel_tracer = tracer.unwrap()
    propagator = tracer.propagator
    policy = TagPolicy()
    server = SpanKind.SERVER

    def sdk_minimum_tween(request):
        parent = propagator.extract(request.headers, getter=_REQUEST_HEADERS)
        method = request.method
        otel_span = otel_tracer.start_span(method, context=parent, kind=server,
                                           attributes=server_attributes(request, policy, method))
        token = context.attach(set_span_in_context(otel_span))
        try:
            response = handler(request)
        finally:
            context.detach(token)
        route = request.matched_route
        attributes = {'http.response.status_code': response.status_int}
        if route is not None:
            otel_span.update_name('%s %s' % (method, route.pattern))
            attributes['http.route'] = route.pattern
            attributes['pyramid.route'] = route.name
        otel_span.set_attributes(attributes)
        otel_span.end()
        return response

    return sdk_minimum_tween
