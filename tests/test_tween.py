"""The tween, through a real Pyramid app and WebTest."""
import opentracing
import pytest
from opentracing.ext import tags
from opentracing.mocktracer import MockTracer
import webtest

from . import apps
from .conftest import server_span


def parent_headers(tracer):
    """Headers carrying a fresh MockTracer span context, and that context."""
    parent = tracer.start_span('caller')
    headers = {}
    tracer.inject(parent.context, opentracing.Format.HTTP_HEADERS, headers)
    return headers, parent.context


def test_request_gets_one_server_span_with_standard_tags(app, tracer):
    app.get('/plain?token=abc')
    span = server_span(tracer)
    assert span.operation_name == 'plain'
    assert span.tags == {
        tags.COMPONENT: 'pyramid',
        tags.SPAN_KIND: tags.SPAN_KIND_RPC_SERVER,
        tags.HTTP_METHOD: 'GET',
        tags.HTTP_URL: 'http://localhost/plain',
        tags.HTTP_STATUS_CODE: 200,
        'pyramid.route': 'plain',
        'code.function.name': 'tests.apps.plain',
    }
    assert span.finished


def test_trace_all_off_traces_nothing_but_builds_the_tracer(make_testapp, tracer):
    app = make_testapp(**{'ot.trace_all': 'false'})
    app.get('/plain')
    assert tracer.finished_spans() == []
    assert app.app.registry.settings['ot.tracer'].tracer is tracer


def test_server_span_continues_the_callers_trace(app, tracer):
    headers, parent = parent_headers(tracer)
    app.get('/plain', headers=headers)
    span = server_span(tracer)
    assert span.parent_id == parent.span_id
    assert span.context.trace_id == parent.trace_id


def test_no_incoming_context_makes_a_root(app, tracer):
    app.get('/plain')
    assert server_span(tracer).parent_id is None


def test_corrupt_incoming_context_makes_a_root_and_is_logged(app, tracer, failures):
    headers = {'ot-tracer-traceid': 'zzz', 'ot-tracer-spanid': '1', 'ot-tracer-sampled': 'true'}
    response = app.get('/plain', headers=headers)
    assert response.text == 'plain'
    assert server_span(tracer).parent_id is None
    [record] = failures()
    assert "trace context" in record.getMessage() and 'new trace' in record.getMessage()


def test_spans_made_in_views_are_children_of_the_server_span(app, tracer):
    app.get('/child')
    child = next(s for s in tracer.finished_spans() if s.operation_name == 'child')
    assert child.parent_id == server_span(tracer).context.span_id


def test_global_tracer_is_looked_up_per_request():
    app = webtest.TestApp(apps.make_app({'ot.trace_all': True}))
    later = MockTracer()
    opentracing.set_global_tracer(later)
    try:
        app.get('/plain')
    finally:
        opentracing.set_global_tracer(opentracing.Tracer())
    assert [s.operation_name for s in later.finished_spans()] == ['plain']


@pytest.mark.parametrize('path, name, status', [
    ('/hello/bob', 'hello', 200),
    ('/created', 'created', 201),
    ('/redirect', 'redirect', 302),
    ('/not-found', 'not_found', 404),
    ('/invalid', 'invalid', 400),
    ('/no-such-route', 'GET', 404),
])
def test_status_and_name_are_what_the_client_got(app, tracer, path, name, status):
    response = app.get(path, status='*')
    assert response.status_int == status
    span = server_span(tracer)
    assert span.operation_name == name
    assert span.tags[tags.HTTP_STATUS_CODE] == status
    assert tags.ERROR not in span.tags
    assert span.logs == []


def test_unmatched_route_has_no_route_tag(app, tracer):
    app.get('/nowhere', status=404)
    assert 'pyramid.route' not in server_span(tracer).tags


def test_head_and_post_are_named_by_route_and_tagged_with_method(app, tracer):
    app.post('/plain', {'a': '1'})
    span = server_span(tracer)
    assert span.operation_name == 'plain' and span.tags[tags.HTTP_METHOD] == 'POST'


def assert_error_logged(span, kind, message):
    assert span.tags[tags.ERROR] is True
    [log] = span.logs
    fields = log.key_values
    assert fields['event'] == 'error'
    assert 'error.object' not in fields  # the raw exception would bypass the scrubber
    assert fields['error.kind'] == kind
    assert fields['message'] == message
    assert 'Traceback' in fields['stack'] and message in fields['stack']


def test_unhandled_exception_marks_the_span_and_is_reraised_unchanged(app, tracer):
    with pytest.raises(ValueError, match='boom'):
        app.get('/boom')
    span = server_span(tracer)
    assert span.tags[tags.HTTP_STATUS_CODE] == 500
    assert_error_logged(span, 'ValueError', 'boom')


def test_exception_turned_into_500_by_an_exception_view_is_an_error(app, tracer):
    app.get('/handled', status=500)
    span = server_span(tracer)
    assert span.tags[tags.HTTP_STATUS_CODE] == 500
    assert span.operation_name == 'handled'
    assert_error_logged(span, 'tests.apps.Handled', 'handled')


def test_5xx_response_without_exception_is_an_error(app, tracer):
    app.get('/server-error', status=503)
    span = server_span(tracer)
    assert span.tags[tags.ERROR] is True and span.tags[tags.HTTP_STATUS_CODE] == 503
    assert span.logs == []


def test_traced_attributes_become_readable_tags(make_testapp, tracer):
    app = make_testapp(**{'ot.traced_attributes': 'host\nmethod\npath\nexception'})
    app.get('/plain', headers={'X-Custom': 'yes'})
    span = server_span(tracer)
    assert span.tags['host'] == 'localhost:80'
    assert span.tags['method'] == 'GET'
    assert span.tags['path'] == '/plain'
    assert 'exception' not in span.tags  # None: skipped


def test_headers_attribute_lists_headers_with_secrets_redacted(make_testapp, tracer):
    app = make_testapp(**{'ot.traced_attributes': ['headers']})
    app.get('/plain', headers={
        'Authorization': 'Bearer s3cret', 'Cookie': 'session=s3cret',
        'X-Api-Key': 's3cret', 'Proxy-Authorization': 'Basic s3cret', 'Accept': 'text/plain'})
    text = server_span(tracer).tags['headers']
    assert 's3cret' not in text
    assert 'Accept: text/plain' in text
    assert 'Authorization: [REDACTED]' in text
    assert 'Cookie: [REDACTED]' in text


def test_attribute_whose_property_raises_is_skipped_and_logged(tracer, failures):
    def explode(request):
        raise RuntimeError('property failed')
    config = apps.make_config({'ot.trace_all': True, 'ot.base_tracer': tracer,
                               'ot.traced_attributes': ['exploding', 'method']})
    config.add_request_method(explode, 'exploding', property=True)
    response = webtest.TestApp(config.make_wsgi_app()).get('/plain')
    assert response.text == 'plain'
    span = server_span(tracer)
    assert 'exploding' not in span.tags and span.tags['method'] == 'GET'
    assert any("'exploding'" in r.getMessage() for r in failures())


def test_query_string_is_traced_only_when_asked_and_redacted(make_testapp, tracer):
    app = make_testapp(**{'ot.trace_query_string': 'true'})
    app.get('/plain?page=2&token=s3cret&password=s3cret')
    url = server_span(tracer).tags[tags.HTTP_URL]
    assert url == 'http://localhost/plain?page=2&token=[REDACTED]&password=[REDACTED]'


def test_start_span_cb_sees_span_and_request(make_testapp, tracer):
    seen = []
    app = make_testapp(**{'ot.start_span_cb': lambda span, request: seen.append(request.path)
                          or span.set_tag('custom', 'yes')})
    app.get('/plain')
    assert seen == ['/plain']
    assert server_span(tracer).tags['custom'] == 'yes'


def test_name_given_in_start_span_cb_wins_over_route_name(make_testapp, tracer):
    app = make_testapp(**{'ot.start_span_cb': 'tests.callbacks.rename'})
    app.get('/plain')
    assert server_span(tracer).operation_name == 'renamed by callback'


def test_failing_start_span_cb_keeps_tracing(make_testapp, tracer, failures):
    app = make_testapp(**{'ot.start_span_cb': 'tests.callbacks.fail'})
    app.get('/plain')
    assert server_span(tracer).operation_name == 'plain'
    assert any('ot.start_span_cb' in r.getMessage() for r in failures())


def test_operation_name_func_names_the_span_after_routing(make_testapp, tracer):
    app = make_testapp(**{'ot.operation_name_func': 'tests.callbacks.name_with_pattern'})
    app.get('/hello/bob')
    app.get('/nowhere', status=404)
    names = sorted(s.operation_name for s in tracer.finished_spans() if s.tags.get('span.kind'))
    assert names == ['GET /hello/{name}', 'GET <no route>']


def test_failing_operation_name_func_falls_back_to_route_name(make_testapp, tracer, failures):
    app = make_testapp(**{'ot.operation_name_func': 'tests.callbacks.fail_naming'})
    app.get('/plain')
    assert server_span(tracer).operation_name == 'plain'
    assert any('ot.operation_name_func' in r.getMessage() for r in failures())


def test_streamed_body_finishes_span_when_closed(app, tracer):
    response = app.get('/stream')
    assert response.body == b'ab'
    span = server_span(tracer)
    assert span.finished and span.tags[tags.HTTP_STATUS_CODE] == 200


def test_get_span_returns_the_request_span_inside_the_view(make_testapp, tracer):
    seen = {}

    def remember(span, request):
        seen['during'] = request.registry.settings['ot.tracer'].get_span(request)
    app = make_testapp(**{'ot.start_span_cb': remember})
    app.get('/plain')
    assert seen['during'] is not None
    assert seen['during'].context.span_id == server_span(tracer).context.span_id


# -- opentracing's no-op tracer, the default global tracer -----------------------

def tagging_app(settings):
    """An app whose view tags the request's span, as application code does."""
    from pyramid.response import Response
    from pyramid_opentracing import get_span

    def view(request):
        span = get_span(request)
        span.set_tag('customer', 'c-1')
        return Response(type(span).__name__)
    config = apps.make_config(settings)
    config.add_route('tagging', '/tagging')
    config.add_view(view, route_name='tagging')
    return webtest.TestApp(config.make_wsgi_app())


def test_the_noop_tracer_is_not_called_but_views_still_find_a_span(tracer):
    noop = opentracing.Tracer()
    app = tagging_app({'ot.trace_all': True, 'ot.base_tracer': noop})
    calls = []
    for name in ('extract', 'start_active_span', 'start_span'):
        setattr(noop, name, lambda *args, _name=name, **kwargs: calls.append(_name))
    assert app.get('/tagging').text == 'Span'
    assert calls == []


def test_with_a_start_span_cb_the_noop_tracer_makes_spans_for_it(tracer):
    seen = []
    app = tagging_app({'ot.trace_all': True, 'ot.base_tracer': opentracing.Tracer(),
                       'ot.start_span_cb': lambda span, request: seen.append(request.path)})
    assert app.get('/tagging').text == 'Span'
    assert seen == ['/tagging']
