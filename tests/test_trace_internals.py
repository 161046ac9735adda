"""``ot.trace_internals``: child spans of Pyramid's own work (the view, the
renderer, pyramid_tm's commit or abort, subrequests, the tweens), with
MockTracer and the OpenTelemetry bridge; with the setting empty, nothing is
registered."""
import pytest
from opentelemetry.trace import SpanKind, StatusCode
from opentracing.mocktracer import MockTracer
from pyramid.events import NewRequest
from pyramid.interfaces import ITweens

from pyramid_opentracing.internals import TracedTweens, as_internals

from .traversal_app import bridged_settings, make_app, tracer_of

MODULE = 'tests.traversal_app.'


class Seen:
    """A finished span, whichever tracer made it."""

    def __init__(self, span):
        if hasattr(span, 'operation_name'):  # MockTracer
            self.name, self.tags = span.operation_name, dict(span.tags)
            self.trace_id, self.span_id = span.context.trace_id, span.context.span_id
            self.parent_id, self.kind = span.parent_id, span.tags.get('span.kind', 'internal')
            self.error = bool(span.tags.get('error'))
        else:
            self.name, self.tags = span.name, dict(span.attributes)
            self.trace_id, self.span_id = span.context.trace_id, span.context.span_id
            self.parent_id = span.parent.span_id if span.parent else None
            self.kind = {SpanKind.SERVER: 'server', SpanKind.INTERNAL: 'internal'}[span.kind]
            self.error = span.status.status_code is StatusCode.ERROR
            assert not self.error or any(event.name == 'exception' for event in span.events) or (
                self.name.startswith('tm'))

    def __repr__(self):
        return '<%s %s>' % (self.kind, self.name)


@pytest.fixture(params=['mocktracer', 'otel'])
def make(request, clean_env):
    made = []

    def make(internals, tm=False, **settings):
        base = {'ot.base_tracer': MockTracer()} if request.param == 'mocktracer' else (
            bridged_settings())
        made.append(make_app(dict(base, **{'ot.trace_internals': internals}, **settings), tm))
        return made[-1]
    yield make
    for app in made:
        shutdown = getattr(tracer_of(app), 'shutdown', None)
        if shutdown is not None:
            shutdown()


def spans(app):
    tracer = tracer_of(app)
    exporter = getattr(tracer, 'exporter', None)
    finished = exporter.get_finished_spans() if exporter else tracer.finished_spans()
    return [Seen(span) for span in finished]


def one_trace(app):
    """(the server span, {name: internal span}), all of one trace."""
    seen = spans(app)
    [server] = [span for span in seen if span.kind == 'server']
    assert {span.trace_id for span in seen} == {server.trace_id}
    return server, {span.name: span for span in seen if span is not server}


def test_the_setting_lists_what_may_be_traced():
    assert as_internals('ot.trace_internals', 'view, renderer tm') == ('view', 'renderer', 'tm')
    assert as_internals('ot.trace_internals', '') == ()
    with pytest.raises(Exception, match='commit'):
        as_internals('ot.trace_internals', 'view commit')


def test_with_the_setting_empty_nothing_is_registered_nor_traced(make):
    app = make('', tm=True)
    registry = app.app.registry
    assert not isinstance(registry.queryUtility(ITweens), TracedTweens)
    ours = [registration.handler for registration in registry.registeredHandlers()
            if 'pyramid_opentracing' in getattr(registration.handler, '__module__', '')
            and NewRequest in registration.required]
    assert ours == []
    app.get('/item1/sub')
    app.get('/item1/commit')
    app.get('/item1/jinja2')
    assert [span.kind for span in spans(app)] == ['server'] * 3


def test_the_view_runs_in_a_child_span_named_after_it(make):
    app = make('view')
    app.get('/item1/edit')
    server, internal = one_trace(app)
    view = internal['view ' + MODULE + 'edit_item']
    assert view.parent_id == server.span_id
    assert view.tags['code.function.name'] == MODULE + 'edit_item'
    assert view.tags['pyramid.view_name'] == 'edit'
    assert not view.error and not server.error


def test_an_error_in_the_view_is_marked_on_the_view_span(make):
    app = make('view')
    with pytest.raises(ZeroDivisionError):
        app.get('/item1/fail')
    server, internal = one_trace(app)
    assert internal['view ' + MODULE + 'failing_item'].error


@pytest.mark.parametrize('extension', ['jinja2', 'pt', 'mako'])
def test_rendering_a_template_runs_in_a_child_span_named_after_it(make, extension):
    app = make('view renderer')
    assert app.get('/item1/' + extension).text.strip() == '<p>item1</p>'
    server, internal = one_trace(app)
    template = 'tests:templates/item.' + extension
    render = internal['render ' + template]
    assert render.parent_id == server.span_id  # beside the view's span, after it
    assert internal['view ' + MODULE + 'templated_item'].parent_id == server.span_id
    assert render.tags['pyramid.renderer.template'] == template
    assert render.tags['pyramid.renderer.type'] == '.' + extension


def test_a_renderer_that_is_no_template_has_its_name(make):
    app = make('renderer')
    app.get('/item1/json')
    _, internal = one_trace(app)
    assert set(internal) == {'render json'}
    assert 'pyramid.renderer.template' not in internal['render json'].tags


def test_an_error_in_the_template_is_marked_on_the_renderer_span(make):
    app = make('view renderer')
    with pytest.raises(ZeroDivisionError):
        app.get('/item1/broken')
    _, internal = one_trace(app)
    assert internal['render tests:templates/broken.jinja2'].error
    assert not internal['view ' + MODULE + 'templated_item'].error


@pytest.mark.parametrize('path, expected', [('/item1/commit', 'tm commit'),
                                            ('/item1/abort', 'tm abort')])
def test_the_transaction_commit_or_abort_is_a_child_span(make, path, expected):
    app = make('tm', tm=True)
    app.get(path)
    server, internal = one_trace(app)
    assert set(internal) == {expected}
    assert internal[expected].parent_id == server.span_id


def test_a_failed_commit_is_an_error_of_the_tm_span(make):
    app = make('tm', tm=True)
    with pytest.raises(IOError):
        app.get('/item1/commit-fails')
    _, internal = one_trace(app)
    assert internal['tm commit'].error
    assert internal['tm commit'].tags['pyramid.tm.status'] == 'Commit failed'


def test_a_transaction_without_tracing_internals_is_not_traced(make):
    app = make('view', tm=True)
    app.get('/item1/commit')
    _, internal = one_trace(app)
    assert set(internal) == {'view ' + MODULE + 'committing_item'}


@pytest.mark.parametrize('query', ['', '?tweens'])
def test_a_subrequest_is_a_child_span_in_the_requests_trace(make, query):
    app = make('view subrequest')
    assert app.get('/item1/sub' + query).text == 'through a subrequest: edit item9'
    server, internal = one_trace(app)  # one trace, one server span
    sub = internal['subrequest']
    outer_view = internal['view ' + MODULE + 'subrequest_item']
    assert sub.parent_id == outer_view.span_id
    assert sub.tags['pyramid.subrequest.use_tweens'] is bool(query)
    assert sub.tags['url.path'] == '/item9/edit'
    assert internal['view ' + MODULE + 'edit_item'].parent_id == sub.span_id
    assert server.tags.get('pyramid.view_name') == 'sub'


def test_each_tween_below_ours_runs_in_a_span_named_after_its_factory(make):
    app = make('tweens', tm=True)
    app.get('/item1/commit')
    server, internal = one_trace(app)
    tm = internal['tween pyramid_tm.tm_tween_factory']
    excview = internal['tween pyramid.tweens.excview_tween_factory']
    assert tm.parent_id == server.span_id
    assert excview.parent_id == tm.span_id
    assert excview.tags['pyramid.tween'] == 'pyramid.tweens.excview_tween_factory'


def test_everything_together(make):
    app = make('view renderer tm subrequest tweens', tm=True)
    app.get('/item1/jinja2')
    _, internal = one_trace(app)
    assert set(internal) >= {'view ' + MODULE + 'templated_item',
                             'render tests:templates/item.jinja2', 'tm commit',
                             'tween pyramid_tm.tm_tween_factory'}


def test_an_error_marks_only_the_span_of_the_request_it_happened_in(make):
    """Each internal span starts with tags of its own: an error of one
    request never shows on the spans of the next."""
    app = make('view tweens')
    with pytest.raises(ZeroDivisionError):
        app.get('/item1/fail')
    before = len(spans(app))
    app.get('/item1/edit')
    later = spans(app)[before:]
    assert later and not [span.name for span in later if span.error]
