"""A request served through traversal is named after what served it, the
context's class and the view's name, never after its path; its span says
which view callable served it; its duration metric carries the same
endpoint, and an exemplar links it to its trace."""
import pytest
from opentracing.mocktracer import MockTracer

from pyramid_opentracing import get_span

from . import traversal_app
from .test_otel_export import metrics_of
from .traversal_app import bridged_settings, finished, make_app, tracer_of

MODULE = 'tests.traversal_app.'


@pytest.fixture(params=['mocktracer', 'otel'])
def make(request, clean_env):
    """make(**settings): the traversal app traced by MockTracer or the bridge."""
    made = []

    def make(**settings):
        base = {'ot.base_tracer': MockTracer()} if request.param == 'mocktracer' else (
            bridged_settings())
        made.append(make_app(dict(base, **settings)))
        return made[-1]
    make.otel = request.param == 'otel'
    yield make
    for app in made:
        shutdown = getattr(tracer_of(app), 'shutdown', None)
        if shutdown is not None:
            shutdown()


def name(make, endpoint):
    return 'GET ' + endpoint if make.otel else endpoint


def test_a_traversal_request_is_named_after_its_context_and_view(make):
    app = make()
    app.get('/item1/edit')
    app.get('/item2/edit')
    [(first, tags), (second, _)] = finished(app)
    assert first == second == name(make, 'Item/edit')
    assert tags['pyramid.view_name'] == 'edit'
    assert tags['pyramid.context'] == MODULE + 'Item'
    assert tags['pyramid.endpoint'] == 'Item/edit'
    assert tags['code.function.name'] == MODULE + 'edit_item'


def test_the_default_view_is_named_after_the_context_alone(make):
    app = make()
    app.get('/item1/')
    [(span_name, tags)] = finished(app)
    assert span_name == name(make, 'Item')
    assert tags['pyramid.view_name'] == ''
    assert tags['code.function.name'] == MODULE + 'show_item'


def test_a_class_view_is_named_with_its_method(make):
    app = make()
    app.get('/item1/rename')
    [(span_name, tags)] = finished(app)
    assert span_name == name(make, 'Item/rename')
    assert tags['code.function.name'] == MODULE + 'ItemViews.rename'


def test_a_view_name_no_view_has_is_not_in_the_name(make):
    """The client's path chooses among the application's names, adds none."""
    app = make()
    app.get('/item1/no-such-view', status=404)
    app.get('/item2/8f14e45f-ceea-4672', status=404)
    [(first, tags), (second, _)] = finished(app)
    assert first == second == name(make, 'Item')
    assert tags['pyramid.context'] == MODULE + 'Item'
    assert 'pyramid.view_name' not in tags and 'pyramid.endpoint' not in tags


def test_a_route_with_a_traversal_pattern_is_named_after_what_served_it(make):
    app = make()
    app.get('/shop/item1/edit')
    [(span_name, tags)] = finished(app)
    assert span_name == name(make, 'Item/edit')
    assert tags['pyramid.route'] == 'shop'
    assert tags['pyramid.endpoint'] == 'Item/edit'
    if make.otel:
        assert tags['http.route'] == '/shop/*traverse'


def test_the_view_sees_its_span_named_already(make, monkeypatch):
    seen = []

    def edit(context, request):
        span = get_span(request)
        seen.append(span.unwrap().name if make.otel else span.operation_name)
        return traversal_app.Response('seen')
    monkeypatch.setattr(traversal_app, 'edit_item', edit)
    make().get('/item1/edit')
    assert seen == [name(make, 'Item/edit')]


def test_a_span_trace_starts_in_the_view_is_named_alike(make):
    app = make(**{'ot.trace_all': False})
    app.get('/item1/traced')
    [(span_name, tags)] = finished(app)
    assert span_name == name(make, 'Item/traced')
    assert tags['pyramid.endpoint'] == 'Item/traced'


def renaming(span, request):
    span.set_operation_name('named by the application')


def named_by_function(request):
    return 'named by ot.operation_name_func'


@pytest.mark.parametrize('settings, expected', [
    ({'ot.start_span_cb': renaming}, 'named by the application'),
    ({'ot.operation_name_func': named_by_function}, 'named by ot.operation_name_func'),
])
def test_a_name_the_application_gave_wins(make, settings, expected):
    app = make(**settings)
    app.get('/item1/edit')
    [(span_name, tags)] = finished(app)
    assert span_name == expected
    assert tags['pyramid.view_name'] == 'edit'  # what served it, all the same


def test_a_name_the_view_gives_is_the_last_word(make, monkeypatch):
    def edit(context, request):
        get_span(request).set_operation_name('named by the view')
        return traversal_app.Response('named')
    monkeypatch.setattr(traversal_app, 'edit_item', edit)
    app = make()
    app.get('/item1/edit')
    [(span_name, _)] = finished(app)
    assert span_name == 'named by the view'


# -- metrics ---------------------------------------------------------------------

@pytest.fixture
def bridged(clean_env):
    made = []

    def make(**settings):
        made.append(make_app(bridged_settings(**settings)))
        return made[-1]
    yield make
    for app in made:
        tracer_of(app).shutdown()


def durations(app):
    return {frozenset(attributes.items()): point for attributes, point in
            metrics_of(tracer_of(app).metric_reader)['http.server.request.duration']}


def test_the_duration_of_a_traversal_request_carries_its_endpoint(bridged):
    app = bridged()
    app.get('/item1/edit')
    app.get('/item2/edit')
    app.get('/item3/')
    endpoints = {dict(attributes).get('pyramid.endpoint'): point.count
                 for attributes, point in durations(app).items()}
    assert endpoints == {'Item/edit': 2, 'Item': 1}


def test_each_duration_has_the_ids_of_its_server_span_as_exemplar(bridged):
    """One exemplar a bucket is kept between two readings: read after each."""
    app = bridged()
    for number in range(3):
        app.get('/item%d/edit' % number)
        [point] = durations(app).values()
        span = tracer_of(app).exporter.get_finished_spans()[-1]
        assert [(exemplar.trace_id, exemplar.span_id) for exemplar in point.exemplars] == [
            (span.context.trace_id, span.context.span_id)]


def test_an_unsampled_request_has_no_exemplar(bridged):
    app = bridged(**{'ot.otel.sampler_ratio': '0'})
    app.get('/item1/edit')
    [point] = durations(app).values()
    assert point.count == 1 and list(point.exemplars) == []
