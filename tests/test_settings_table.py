"""The one settings table: every setting once, each row with what the
reference shows (name, default as written in an INI file, variables, doc)."""
import logging

import pytest
from pyramid.config import Configurator

from pyramid_opentracing.config import SETTINGS, Setting, variables_for
from pyramid_opentracing.otel.options import BridgeOptions

#: The settings of pyramid_opentracing 1.0, which keep working.
NAMES_OF_1_0 = ('ot.tracing', 'ot.tracer', 'ot.base_tracer', 'ot.base_tracer_func',
                'ot.tracing_callable', 'ot.tracer_callable', 'ot.tracer_parameters',
                'ot.trace_all', 'ot.traced_attributes', 'ot.start_span_cb',
                'ot.operation_name_func')


def test_each_setting_has_one_row():
    names = [row.name for row in SETTINGS]
    assert len(names) == len(set(names))
    assert set(NAMES_OF_1_0) <= set(names)


@pytest.mark.parametrize('row', SETTINGS, ids=lambda row: row.name)
def test_each_row_says_what_the_reference_shows(row):
    assert isinstance(row, Setting) and row.part in ('ot', 'otel')
    assert row.name.startswith('ot.otel.' if row.part == 'otel' else 'ot.')
    assert row.doc and row.doc[0].isupper() and row.doc.endswith('.'), row.doc
    assert isinstance(row.default_text, str)
    assert all(variable.startswith('OTEL_') for variable in row.env)
    assert not row.internal or row.env, 'an internal row is read from its variables only'


def test_defaults_are_shown_as_an_ini_file_writes_them():
    shown = {row.name: row.default_text for row in SETTINGS}
    assert shown['ot.trace_all'] == 'false'
    assert shown['ot.max_tag_length'] == '1024'
    assert shown['ot.otel.propagators'] == 'tracecontext, baggage'
    assert shown['ot.otel.timeout'] == '2.0'
    assert shown['ot.traced_attributes'] == ''


def test_every_documented_row_is_a_known_setting(caplog):
    caplog.set_level(logging.WARNING, logger='pyramid_opentracing')
    settings = {row.name: None for row in SETTINGS if row.part == 'ot' and not row.internal
                and row.name != 'ot.tracer_parameters'}  # without ot.tracer_callable: refused
    config = Configurator(settings=settings)
    config.include('pyramid_opentracing')
    config.commit()
    assert 'unknown setting' not in caplog.text


@pytest.mark.parametrize('row', [row for row in SETTINGS if row.internal], ids=lambda r: r.name)
def test_an_internal_row_is_no_setting_of_its_own(caplog, row):
    """Its name only names what its variables configure: set, it is unknown."""
    caplog.set_level(logging.WARNING, logger='pyramid_opentracing')
    if row.part == 'otel':
        BridgeOptions({row.name: 'x', 'ot.otel.exporter': 'memory'}, {})
    else:
        config = Configurator(settings={row.name: 'x'})
        config.include('pyramid_opentracing')
        config.commit()
    assert 'unknown setting %s is ignored' % row.name in caplog.text


def test_the_variables_read_for_a_setting_include_those_read_unless_it_is_set():
    assert variables_for('ot.excluded_paths') == (
        'OTEL_PYTHON_PYRAMID_EXCLUDED_URLS', 'OTEL_PYTHON_EXCLUDED_URLS')
    assert variables_for('ot.otel.timeout') == (
        'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', 'OTEL_EXPORTER_OTLP_TIMEOUT')
    assert variables_for('ot.trace_all') == ()
