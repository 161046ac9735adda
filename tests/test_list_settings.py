"""One rule for every list setting: a list, or text whose items are
separated by commas, blanks or new lines."""
import re

import pytest
from pyramid.exceptions import ConfigurationError

from pyramid_opentracing.otel.options import BridgeOptions
from pyramid_opentracing.config import parse_rows, rows_of


def parse_options(settings, resolve, environ):
    """The options of the package's part, parsed from ``settings`` and ``environ``."""
    return parse_rows(rows_of('ot'), settings, resolve, environ)

#: Every list setting, with text mixing the separators and the items it holds.
LISTS = [
    ('ot.traced_attributes', 'host, method\npath_info  url', ('host', 'method', 'path_info', 'url')),
    ('ot.redacted_headers', 'X-One,X-Two\n X-Three X-Four', ('X-One', 'X-Two', 'X-Three', 'X-Four')),
    ('ot.redacted_query_params', 'one, two\nthree four', ('one', 'two', 'three', 'four')),
    ('ot.excluded_paths', '^/a$, ^/b$\n^/c$ ^/d$', ('^/a$', '^/b$', '^/c$', '^/d$')),
    ('ot.excluded_routes', 'read, write\nlist show', ('read', 'write', 'list', 'show')),
    ('ot.captured_request_headers', 'x-a, x-b\nx-c x-.*', ('x-a', 'x-b', 'x-c', 'x-.*')),
    ('ot.captured_response_headers', 'x-a,x-b\n\n  x-c\tx-d', ('x-a', 'x-b', 'x-c', 'x-d')),
]


@pytest.mark.parametrize('name, text, items', LISTS)
def test_list_settings_take_commas_blanks_and_new_lines(name, text, items):
    assert parse_options({name: text}, None, {})[name] == items


@pytest.mark.parametrize('name, text, items', LISTS)
def test_list_settings_take_a_list_as_it_is(name, text, items):
    assert parse_options({name: list(items)}, None, {})[name] == items


def test_an_item_given_in_a_list_may_have_a_blank_or_a_comma():
    patterns = [r'^/a{1,3}$', '^/my page$']
    assert parse_options({'ot.excluded_paths': patterns}, None, {})['ot.excluded_paths'] == tuple(
        patterns)


@pytest.mark.parametrize('name', [name for name, _, _ in LISTS])
def test_a_value_that_is_no_list_fails(name):
    with pytest.raises(ConfigurationError, match=r"%s = 42: expected a list" % name):
        parse_options({name: 42}, None, {})


@pytest.mark.parametrize('name', [name for name, _, _ in LISTS])
@pytest.mark.parametrize('value', [{'^/x': 1}, b'^/x'])
def test_a_mapping_or_bytes_is_no_list(name, value):
    with pytest.raises(ConfigurationError, match=r"%s = %s: expected a list" % (
            name, re.escape(repr(value)))):
        parse_options({name: value}, None, {})


def test_the_bridges_list_settings_take_the_same_rule():
    options = BridgeOptions({'ot.otel.propagators': 'tracecontext, baggage\nb3 jaeger'}, {})
    assert options.propagators == ('tracecontext', 'baggage', 'b3', 'jaeger')


def test_opentelemetrys_list_variables_take_the_same_rule():
    variables = {'OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST': 'x-a,x-b x-c'}
    assert parse_options({}, None, variables)['ot.captured_request_headers'] == (
        'x-a', 'x-b', 'x-c')


@pytest.mark.parametrize('text', ['^/v{1,3}/health$', '^/a$, ^/v{2,}$', 'x-a{,2}'])
def test_a_quantifier_split_at_its_comma_fails_at_start_up(text):
    """Commas separate the patterns of a text: ``{1,3}`` would silently
    become two patterns that both compile."""
    with pytest.raises(ConfigurationError, match='split at its comma'):
        parse_options({'ot.excluded_paths': text}, None, {})

