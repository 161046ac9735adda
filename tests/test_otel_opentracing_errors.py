"""With the bridge, errors marked the OpenTracing way are OpenTelemetry
errors: the ``error`` tag sets the ERROR status, an ``event: error`` log is
the ``exception`` event, and an exception leaving a span's scope marks it;
on the server span, the spans views start and the CLIENT spans. Their texts
pass the scrubber."""
from opentracing.ext import tags as ot_tags
import pytest
import webtest
from opentelemetry.trace import StatusCode
from pyramid.config import Configurator
from pyramid.response import Response

from pyramid_opentracing import get_span, outgoing

from . import apps
from .test_otel_bridge import BRIDGE, no_otel_env  # noqa: F401 (fixture)

SECRET = 'hunter2-s3cr3t'


class Declined(Exception):
    pass


def tag_error(request):
    get_span(request).set_tag('error', True)
    return Response('ok')


def tag_no_error(request):
    get_span(request).set_tag('error', False)
    return Response('ok')


def tag_error_then_fail(request):
    get_span(request).set_tag('error', False)
    raise Declined('no')


def child_tagged(request):
    tracer = request.registry.settings['ot.tracer'].tracer
    with tracer.start_active_span('work') as scope:
        scope.span.set_tag('error', True)
    with tracer.start_active_span('fine'):
        pass
    return Response('ok')


def child_started_failed(request):
    tracer = request.registry.settings['ot.tracer'].tracer
    tracer.start_span('failed', tags={'error': True}).finish()
    return Response('ok')


def raising_in(start):
    """A view raising inside a span that ``start(tracer, name)`` opens for
    a ``with`` block, and catching the exception outside it."""
    def view(request):
        tracer = request.registry.settings['ot.tracer'].tracer
        try:
            with start(tracer, 'work'):
                raise Declined('card declined, password=%s' % SECRET)
        except Declined:
            pass
        return Response('ok')
    return view


child_raises = raising_in(lambda tracer, name: tracer.start_active_span(name))
#: opentracing's own ``with span:`` (Span.__exit__ tags and logs the error).
span_raises = raising_in(lambda tracer, name: tracer.start_span(name))


def log_error_object(request):
    try:
        raise Declined('declined for password=%s' % SECRET)
    except Declined as exc:
        get_span(request).log_kv({'event': 'error', 'error.object': exc, 'order': 7,
                                  'retry': 'https://shop:%s@pay.example/' % SECRET})
    return Response('ok')


def log_error_fields(request):
    get_span(request).log_kv({'event': 'error', 'error.kind': Declined,
                              'message': 'password=%s' % SECRET, 'stack': 'at line 1\nat line 2'})
    return Response('ok')


def log_other(request):
    get_span(request).log_kv({'event': 'cache miss', 'table': 'users'})
    return Response('ok')


def client_tagged(request):
    with outgoing.client_span('GET', 'http://next.example/', request) as call:
        call.span.set_tag('error', True)
        call.set_status(200)
    return Response('ok')


VIEWS = {name: view for name, view in globals().items()
         if callable(view) and name.split('_')[0] in ('tag', 'child', 'span', 'log', 'client')}


@pytest.fixture
def bridged(no_otel_env):  # noqa: F811
    app, tracer = apps.bridged_views(VIEWS)
    yield app, tracer
    tracer.shutdown()


def spans_of(tracer):
    return {span.name: span for span in tracer.exporter.get_finished_spans()}


def server_of(tracer, name):
    return spans_of(tracer)['GET /' + name]


def test_the_error_tag_on_the_server_span_makes_it_an_error_whatever_the_status(bridged):
    app, tracer = bridged
    app.get('/tag_error')
    span = server_of(tracer, 'tag_error')
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes['http.response.status_code'] == 200
    assert span.attributes['error'] is True


def test_error_false_changes_nothing_and_the_outcome_still_decides(bridged):
    app, tracer = bridged
    app.get('/tag_no_error')
    assert server_of(tracer, 'tag_no_error').status.status_code is StatusCode.UNSET
    with pytest.raises(Declined):
        app.get('/tag_error_then_fail')
    span = server_of(tracer, 'tag_error_then_fail')
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes['error.type'].endswith('Declined')


def test_the_error_tag_on_a_child_span_a_view_starts_makes_it_an_error(bridged):
    app, tracer = bridged
    app.get('/child_tagged')
    spans = spans_of(tracer)
    assert spans['work'].status.status_code is StatusCode.ERROR
    assert spans['fine'].status.status_code is StatusCode.UNSET
    assert spans['GET /child_tagged'].status.status_code is StatusCode.UNSET
    assert spans['work'].parent.span_id == spans['GET /child_tagged'].context.span_id


def test_an_error_tag_among_a_new_spans_tags_makes_it_an_error(bridged):
    app, tracer = bridged
    app.get('/child_started_failed')
    assert spans_of(tracer)['failed'].status.status_code is StatusCode.ERROR


@pytest.mark.parametrize('path', ['child_raises', 'span_raises'])
def test_an_exception_leaving_a_childs_scope_is_a_scrubbed_error(bridged, path):
    app, tracer = bridged
    app.get('/' + path)
    work = spans_of(tracer)['work']
    assert work.status.status_code is StatusCode.ERROR
    (event,) = [e for e in work.events if e.name == 'exception']
    assert event.attributes['exception.type'] == 'tests.test_otel_opentracing_errors.Declined'
    assert 'password=[REDACTED]' in event.attributes['exception.message']
    assert 'Declined' in event.attributes['exception.stacktrace']
    everything = repr([(e.name, dict(e.attributes)) for e in work.events]) + repr(work.status)
    assert SECRET not in everything


def test_an_error_log_with_error_object_is_the_scrubbed_exception_event(bridged):
    app, tracer = bridged
    app.get('/log_error_object')
    span = server_of(tracer, 'log_error_object')
    (event,) = span.events
    assert event.name == 'exception'
    assert event.attributes['exception.type'] == 'tests.test_otel_opentracing_errors.Declined'
    assert event.attributes['exception.message'] == 'declined for password=[REDACTED]'
    assert 'raise Declined' in event.attributes['exception.stacktrace']
    assert SECRET not in event.attributes['exception.stacktrace']
    assert event.attributes['order'] == 7
    assert event.attributes['retry'] == 'https://pay.example/'
    assert 'error.object' not in event.attributes


def test_an_error_log_with_opentracing_fields_maps_them_scrubbed(bridged):
    app, tracer = bridged
    app.get('/log_error_fields')
    (event,) = server_of(tracer, 'log_error_fields').events
    assert (event.name, dict(event.attributes)) == ('exception', {
        'exception.type': 'tests.test_otel_opentracing_errors.Declined',
        'exception.message': 'password=[REDACTED]',
        'exception.stacktrace': 'at line 1\nat line 2'})  # a stack keeps its lines


def test_other_logs_stay_events_of_their_name(bridged):
    app, tracer = bridged
    app.get('/log_other')
    (event,) = server_of(tracer, 'log_other').events
    assert (event.name, dict(event.attributes)) == ('cache miss', {
        'event': 'cache miss', 'table': 'users'})


def test_the_error_tag_on_a_client_span_makes_it_an_error(bridged):
    app, tracer = bridged
    app.get('/client_tagged')
    client = spans_of(tracer)['GET']
    assert client.status.status_code is StatusCode.ERROR
    assert client.attributes['http.response.status_code'] == 200


def test_the_applications_tag_policy_scrubs_logged_errors(no_otel_env):  # noqa: F811
    """A name the application redacts (``ot.redacted_query_params``) is
    redacted in errors views log, as in every other text of the spans."""
    config = Configurator(settings={'ot.trace_all': 'true', 'ot.base_tracer_func': BRIDGE,
                                    'ot.otel.exporter': 'memory',
                                    'ot.redacted_query_params': 'flavour'})
    config.add_route('log', '/log')

    def log(request):
        get_span(request).log_kv({'event': 'error', 'error.object': Declined('flavour=mint')})
        return Response('ok')
    config.add_view(log, route_name='log')
    config.include('pyramid_opentracing')
    app = config.make_wsgi_app()
    tracer = app.registry.settings['ot.tracer'].tracer
    try:
        webtest.TestApp(app).get('/log')
        (event,) = server_of(tracer, 'log').events
        assert event.attributes['exception.message'] == 'flavour=[REDACTED]'
    finally:
        tracer.shutdown()


def test_a_global_bridge_spans_outside_requests_are_bridge_spans_too(no_otel_env):  # noqa: F811
    from pyramid_opentracing.otel import tracer_from_settings
    tracer = tracer_from_settings(**{'ot.otel.exporter': 'memory'})
    try:
        with tracer.start_active_span('job') as scope:
            scope.span.log_kv({'event': 'error', 'message': 'pwd=%s' % SECRET})
            assert tracer.active_span is scope.span
            scope.span.set_tag(ot_tags.ERROR, True)
        (job,) = tracer.exporter.get_finished_spans()
        assert job.status.status_code is StatusCode.ERROR
        assert job.events[0].attributes['exception.message'] == 'pwd=[REDACTED]'
    finally:
        tracer.shutdown()
