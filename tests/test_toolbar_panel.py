"""The Tracing panel of pyramid_debugtoolbar, through WebTest.

The browser test (test_toolbar_browser.py) checks what a developer sees;
these check what the panel keeps, for which tracers, and what it costs.
"""
import gc
import html as html_text
import logging
import os
import re
import subprocess
import sys
import zipfile

import pytest
import webtest
from basictracer import BasicTracer
from basictracer.recorder import InMemoryRecorder
from jaeger_client import ConstSampler, Tracer as JaegerTracer
from jaeger_client.reporter import InMemoryReporter
from opentracing.mocktracer import MockTracer
from pyramid.exceptions import ConfigurationError

from pyramid_opentracing.toolbar import collect
from pyramid_opentracing.toolbar.collect import SpanSources
from pyramid_opentracing.toolbar.waterfall import SpanView, shown, waterfall

from . import toolbar_app

BRIDGE = 'pyramid_opentracing.otel.tracer_from_settings'
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOCAL = {'REMOTE_ADDR': '127.0.0.1'}


def webapp(settings, toolbar=True):
    return webtest.TestApp(toolbar_app.make_app(settings, toolbar), extra_environ=LOCAL)


def panel_html(app, path='/work', headers=None):
    """The Tracing panel's content on the toolbar page of a request to ``path``."""
    return toolbar_panel(app, toolbar_app.toolbar_path(app.get(path, headers=headers).text))


def toolbar_panel(app, toolbar_path):
    """The Tracing panel's content on the toolbar page at ``toolbar_path``."""
    page = app.get(toolbar_path).text
    start = page.index('<div class="ot-panel">')
    return page[start:page.index('<script>', start)]


def attribute_value(html, name):
    """The text of the value of the first attribute ``name`` the panel shows."""
    value = re.search(r'<tr><td>%s</td><td class="ot-value">(.*?)</td></tr>' % re.escape(name),
                      html, re.S).group(1)
    return html_text.unescape(value)


def row_names(html):
    """(depth, name) of each bar, in order."""
    return [(int(depth), name) for depth, name in re.findall(
        r'data-depth="(\d+)".*?<div class="ot-label"[^>]*><span class="ot-name">([^<]*)</span>',
        html, re.S)]


def error_rows(html):
    return re.findall(r'<div class="ot-row ot-error".*?<div class="ot-label"[^>]*>'
                      r'<span class="ot-name">([^<]*)<', html, re.S)


def basictracer():
    tracer = BasicTracer(recorder=InMemoryRecorder())
    tracer.register_required_propagators()
    return tracer


@pytest.fixture
def bridge():
    made = []

    def make(toolbar=True, **settings):
        settings.update({'ot.base_tracer_func': BRIDGE, 'ot.otel.exporter': 'memory'})
        app = webapp(settings, toolbar)
        made.append(app.app.registry.settings['ot.tracer'].tracer)
        return app, made[-1]
    yield make
    for tracer in made:
        tracer.shutdown()


# -- the waterfall --------------------------------------------------------------

def view(span_id, parent_id, start, end, name=None):
    return SpanView(span_id, parent_id, name or str(span_id), '', start, end, False, [], [])


def test_the_waterfall_nests_children_under_parents_in_start_order():
    rows = waterfall([view(3, 1, 5.0, 6.0), view(2, 1, 1.0, 4.0), view(1, 99, 0.0, 10.0),
                      view(4, 2, 2.0, 3.0)])
    assert [(row.span_id, row.depth) for row in rows] == [(1, 0), (2, 1), (4, 2), (3, 1)]
    assert [(round(row.offset), round(row.width)) for row in rows] == [
        (0, 100), (10, 30), (20, 10), (50, 10)]


def test_a_span_with_a_broken_clock_does_not_scale_the_others():
    rows = waterfall([view(1, None, 0.0, 10.0), view(2, 1, float('nan'), float('inf')),
                      view(3, 1, 5.0, 10.0)])
    placed = {row.span_id: (round(row.offset), round(row.width)) for row in rows}
    assert placed == {1: (0, 100), 2: (0, 0), 3: (50, 50)}


def test_a_span_too_short_to_see_still_gets_a_visible_bar():
    rows = waterfall([view(1, None, 0.0, 10.0), view(2, 1, 5.0, 5.0)])
    assert rows[1].width > 0


# -- the setting ----------------------------------------------------------------

@pytest.mark.parametrize('url', ['http://jaeger/trace/', 'http://jaeger/{trace}/{trace_id}', '',
                                 'javascript:alert(1)//{trace_id}'])
def test_a_trace_url_without_the_trace_id_fails_at_start_up(url):
    with pytest.raises(ConfigurationError, match=r'ot\.toolbar\.trace_url = '):
        toolbar_app.make_app({'ot.toolbar.trace_url': url, 'ot.base_tracer': MockTracer()})


def test_the_trace_url_is_a_known_setting_and_links_the_trace(caplog):
    caplog.set_level(logging.WARNING, logger='pyramid_opentracing')
    tracer = MockTracer()
    app = webapp({'ot.base_tracer': tracer,
                   'ot.toolbar.trace_url': 'http://localhost:16686/trace/{trace_id}'})
    html = panel_html(app)
    assert not [r for r in caplog.records if 'unknown setting' in r.getMessage()]
    trace_id = '%016x' % tracer.finished_spans()[0].context.trace_id
    assert 'value="http://localhost:16686/trace/%s"' % trace_id in html
    assert '<code class="ot-trace-id">%s</code>' % trace_id in html


# -- each tracer ----------------------------------------------------------------

EXPECTED_OPENTRACING_ROWS = [(0, 'work'), (1, 'load user'), (2, 'query database'), (1, 'GET')]


def test_mocktracer_spans_are_shown_nested_with_the_failed_call_in_red():
    html = panel_html(webapp({'ot.base_tracer': MockTracer()}))
    assert row_names(html) == EXPECTED_OPENTRACING_ROWS
    assert error_rows(html) == ['GET']


def test_basictracer_spans_are_shown_and_its_recorder_still_gets_every_span():
    recorder = InMemoryRecorder()
    basic = BasicTracer(recorder=recorder)
    basic.register_required_propagators()
    html = panel_html(webapp({'ot.base_tracer': basic}))
    assert row_names(html) == EXPECTED_OPENTRACING_ROWS
    assert error_rows(html) == ['GET']
    work_trace = next(s for s in recorder.get_spans() if s.operation_name == 'work').context.trace_id
    assert sorted(s.operation_name for s in recorder.get_spans()
                  if s.context.trace_id == work_trace) == ['GET', 'load user', 'query database', 'work']


def test_bridge_spans_are_shown_with_their_kinds_and_the_client_error(bridge):
    app, tracer = bridge()
    html = panel_html(app)
    assert row_names(html) == [(0, 'GET /work'), (1, 'load user'), (2, 'query database'),
                               (1, 'GET')]
    assert error_rows(html) == ['GET']
    assert re.findall(r'data-kind="(\w+)"', html) == ['server', 'internal', 'internal', 'client']
    # the client span's error, on click: urllib raises URLError for a refused connection
    assert attribute_value(html, 'error.type') == 'urllib.error.URLError'
    assert 'Connection refused' in html
    trace_id = '%032x' % tracer.exporter.get_finished_spans()[0].context.trace_id
    assert '<code class="ot-trace-id">%s</code>' % trace_id in html


INTERNAL_ROWS = [(1, 'tween pyramid_debugtoolbar.toolbar_tween_factory'),
                 (2, 'tween pyramid.tweens.excview_tween_factory'),
                 (3, 'view tests.toolbar_app.work'), (4, 'load user'), (5, 'query database'),
                 (4, 'GET')]


def test_the_internal_spans_of_mocktracer_are_shown_in_the_waterfall():
    html = panel_html(webapp({'ot.base_tracer': MockTracer(), 'ot.trace_internals': 'view tweens'}))
    assert row_names(html) == [(0, 'work')] + INTERNAL_ROWS
    assert error_rows(html) == ['GET']


def test_the_internal_spans_of_the_bridge_are_shown_as_internal(bridge):
    app, _ = bridge(**{'ot.trace_internals': 'view tweens'})
    html = panel_html(app)
    assert row_names(html) == [(0, 'GET /work')] + INTERNAL_ROWS
    assert re.findall(r'data-kind="(\w+)"', html) == ['server'] + ['internal'] * 5 + ['client']
    assert attribute_value(html, 'pyramid.tween') == 'pyramid_debugtoolbar.toolbar_tween_factory'


def test_the_exporter_gets_the_same_spans_with_and_without_the_panel(bridge):
    def exported(toolbar):
        app, tracer = bridge(toolbar=toolbar)
        app.get('/work')
        return sorted((s.name, s.kind.name, s.status.status_code.name, s.parent is None,
                       tuple(sorted(k for k in s.attributes if k != 'server.port')))
                      for s in tracer.exporter.get_finished_spans())
    assert exported(toolbar=True) == exported(toolbar=False)


def test_a_request_the_sampler_drops_shows_no_spans(bridge):
    """Its SERVER span is recorded for the metrics, not sampled: the panel,
    like the exporter, leaves it out."""
    app, tracer = bridge(**{'ot.otel.sampler_ratio': '0'})
    html = panel_html(app)
    assert row_names(html) == []
    assert tracer.exporter.get_finished_spans() == ()


def test_a_tracer_that_keeps_no_spans_is_said_so():
    tracer = JaegerTracer('test', reporter=InMemoryReporter(), sampler=ConstSampler(True))
    html = panel_html(webapp({'ot.base_tracer': tracer}))
    assert 'cannot be shown here' in html and 'Tracer' in html
    assert 'class="ot-trace-id"' in html


def test_an_untraced_request_is_said_so():
    html = panel_html(webapp({'ot.base_tracer': MockTracer(), 'ot.trace_all': False}))
    assert 'This request was not traced' in html


# -- safety and cost ------------------------------------------------------------

def test_span_names_and_attributes_are_escaped():
    html = panel_html(webapp({'ot.base_tracer': MockTracer()}))
    assert toolbar_app.SCRIPT not in html
    assert '&lt;script&gt;window.tracingPanelInjected = true&lt;/script&gt;' in html


def test_spans_are_kept_only_for_the_requests_in_the_toolbar_history(bridge):
    app, tracer = bridge(**{'debugtoolbar.max_request_history': '2'})
    for _ in range(5):
        app.get('/work')
    gc.collect()
    sources = SpanSources.of(app.app.registry)
    watched = sources.get(app.app.registry.settings['ot.tracer'].server_span_strategy())._watched
    history = [toolbar for _, toolbar in app.app.registry.pdtb_history]
    assert len(history) == 2
    assert sorted(watched) == sorted(
        next(p for p in t.panels if p.name == 'tracing').trace.trace_id for t in history)


def test_without_the_toolbar_nothing_is_added_to_the_tracer(bridge):
    app, tracer = bridge(toolbar=False)
    app.get('/work')
    processors = tracer.provider._active_span_processor._span_processors
    assert processors and not [p for p in processors
                               if type(p).__module__.startswith('pyramid_opentracing.toolbar')]
    recorder = InMemoryRecorder()
    basic = BasicTracer(recorder=recorder)
    webapp({'ot.base_tracer': basic}, toolbar=False).get('/work')
    assert basic.recorder is recorder


def test_the_panel_module_is_not_imported_by_the_package():
    code = 'import pyramid_opentracing, sys; print("pyramid_opentracing.toolbar" in sys.modules)'
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == 'False'


class FixedRecorderTracer(BasicTracer):
    """A basictracer whose recorder cannot be replaced once set."""

    @property
    def recorder(self):
        return self._fixed_recorder

    @recorder.setter
    def recorder(self, value):
        if hasattr(self, '_fixed_recorder'):
            raise AttributeError('this tracer keeps its recorder')
        self._fixed_recorder = value


def test_a_tracer_the_panel_cannot_read_from_still_serves_the_request(caplog):
    caplog.set_level(logging.ERROR, logger='pyramid_opentracing')
    recorder = InMemoryRecorder()
    tracer = FixedRecorderTracer(recorder=recorder)
    tracer.register_required_propagators()
    app = webapp({'ot.base_tracer': tracer})
    html = panel_html(app)
    assert 'could not be read back' in html and 'this tracer keeps its recorder' in html
    app.get('/work', status=200)
    problems = [r for r in caplog.records if 'Tracing panel' in r.getMessage()]
    assert len(problems) == 1
    assert 'work' in [span.operation_name for span in recorder.get_spans()]


def test_a_trace_keeps_a_bounded_number_of_spans_and_says_how_many_more(bridge, monkeypatch):
    monkeypatch.setattr(collect, 'MAX_SPANS_PER_REQUEST', 2)
    app, _ = bridge()
    html = panel_html(app)
    assert len(row_names(html)) == 2
    assert '2 more spans of this request were not kept' in html
    assert row_names(html)[0] == (0, 'GET /work')  # the request's own span, kept first


def test_the_wheel_carries_the_panel_template_and_static_files(tmp_path):
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
                    '--no-build-isolation', '-w', str(tmp_path), ROOT],
                   check=True, capture_output=True)
    wheel, = tmp_path.glob('pyramid_opentracing-*.whl')
    names = zipfile.ZipFile(wheel).namelist()
    for name in ('templates/tracing.dbtmako', 'static/tracing.css', 'static/tracing.js'):
        assert 'pyramid_opentracing/toolbar/' + name in names


# -- what each value looks like -------------------------------------------------

def test_a_stack_trace_is_shown_with_its_line_breaks(bridge):
    app, _ = bridge()
    html = panel_html(app)
    trace = re.search(r'<span class="ot-key">exception.stacktrace</span>: '
                      r'<span class="ot-value">(.*?)</span>', html, re.S).group(1)
    assert trace.startswith('Traceback (most recent call last):\n  File &#34;')
    assert '\\x0a' not in html


def test_a_value_keeps_its_line_breaks_and_escapes_other_control_characters():
    assert shown('one\ntwo\x1bthree') == 'one\ntwo\\x1bthree'


@pytest.mark.parametrize('make_tracer', [MockTracer, basictracer], ids=['mock', 'basictracer'])
def test_a_list_attribute_is_shown_as_a_list_of_its_values(make_tracer, bridge):
    """The view tags ``user.roles`` with a list; the bridge makes it an
    OpenTelemetry array attribute (a tuple)."""
    for html in (panel_html(webapp({'ot.base_tracer': make_tracer()})), panel_html(bridge()[0])):
        assert re.search(r'<td>user.roles</td><td class="ot-value"><ol class="ot-list">\s*'
                         r'<li>reader</li>\s*<li>panel</li>\s*</ol></td>', html)
        assert "('reader'" not in html and "['reader'" not in html


def test_a_long_list_is_cut_saying_how_many_more_values_it_has():
    values = shown(tuple(range(150)))
    assert values[:2] == ['0', '1'] and values[99] == '99'
    assert values[100:] == ['...[50 more values]']


@pytest.mark.parametrize('make_tracer', [MockTracer, basictracer, None],
                         ids=['mock', 'basictracer', 'bridge'])
def test_a_client_span_shows_the_host_and_path_it_called(make_tracer, bridge):
    down = toolbar_app.closed_port_url()
    host_and_path = down.split('//', 1)[1]
    url = down.replace('//', '//alice:s3cret@') + '?page=2'
    if make_tracer is None:
        app, _ = bridge(**{'test.down_url': url})
    else:
        app = webapp({'ot.base_tracer': make_tracer(), 'test.down_url': url})
    html = panel_html(app)
    assert re.search(r'<div class="ot-label"[^>]*><span class="ot-name">GET</span> '
                     r'<span class="ot-target">%s</span></div>' % re.escape(host_and_path), html)
    assert 's3cret' not in html


def test_the_panel_says_it_shows_only_the_spans_of_this_process():
    html = panel_html(webapp({'ot.base_tracer': MockTracer()}))
    assert ('the spans other services and processes add to the trace are in your tracing '
            'backend') in ' '.join(html.split())


def test_a_span_of_another_instrumentation_is_shown_as_the_exporter_receives_it(bridge):
    app, tracer = bridge()
    html = panel_html(app, '/foreign')
    exported, = [span for span in tracer.exporter.get_finished_spans() if span.name == 'SELECT']
    for secret in toolbar_app.FOREIGN_SECRETS:
        assert secret not in html
        assert secret not in repr(dict(exported.attributes))
    for name in ('db.statement', 'url.full'):
        assert attribute_value(html, name) == exported.attributes[name]


# -- whose spans a panel shows --------------------------------------------------

SHARED_CONTEXT = {
    'bridge': {'traceparent': '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'},
    'opentracing': {'ot-tracer-traceid': 'af7651916cd43dd8', 'ot-tracer-spanid': 'b7ad6b71692033',
                    'ot-tracer-sampled': 'true'},
}


@pytest.mark.parametrize('make_tracer', [MockTracer, basictracer, None],
                         ids=['mock', 'basictracer', 'bridge'])
def test_each_request_shows_its_own_spans_when_clients_send_the_same_trace(
        make_tracer, bridge, monkeypatch):
    """Five requests continue one incoming trace; the spans remembered per
    trace are fewer than theirs, so only keying by the request's own server
    span keeps each panel whole, and only its own."""
    monkeypatch.setattr(collect, 'MAX_SPANS_PER_TRACE', 8)
    if make_tracer is None:
        (app, tracer), headers = bridge(), SHARED_CONTEXT['bridge']
        expected = [(0, 'GET /work'), (1, 'load user'), (2, 'query database'), (1, 'GET')]
    else:
        tracer = make_tracer()
        app, headers = webapp({'ot.base_tracer': tracer}), SHARED_CONTEXT['opentracing']
        expected = EXPECTED_OPENTRACING_ROWS
    pages = [toolbar_app.toolbar_path(app.get('/work', headers=headers).text) for _ in range(5)]
    panels = [toolbar_panel(app, page) for page in pages]
    trace_ids = {re.search(r'<code class="ot-trace-id">(\w+)</code>', html).group(1)
                 for html in panels}
    assert len(trace_ids) == 1
    for html in panels:
        assert row_names(html) == expected
        assert '<span class="ot-summary">4 spans, ' in html and 'were not kept' not in html
    if make_tracer is not MockTracer:  # the others are remembered as they finish: bounded
        strategy = app.app.registry.settings['ot.tracer'].server_span_strategy()
        watched, = SpanSources.of(app.app.registry).get(strategy)._watched.values()
        assert len(watched._finished) <= 8
