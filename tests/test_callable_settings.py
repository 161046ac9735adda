"""A function named in a setting is checked against how it is called when
the settings are parsed, so a wrong one fails at start-up, not on every request."""
import functools

import pytest
from opentracing.mocktracer import MockTracer
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError

from . import callbacks


def configure(settings):
    config = Configurator(settings=settings)
    config.include('pyramid_opentracing')
    config.commit()
    return config.registry.settings


@pytest.mark.parametrize('name, value, problem', [
    ('ot.start_span_cb', 'tests.callbacks.one_argument',
     'it is called as f(span, request), but takes one_argument(span) (too many positional arguments)'),
    ('ot.operation_name_func', 'tests.callbacks.two_arguments',
     "it is called as f(request), but takes two_arguments(request, extra) "
     "(missing a required argument: 'extra')"),
    ('ot.should_trace', 'tests.callbacks.no_argument',
     'it is called as f(request), but takes no_argument() (too many positional arguments)'),
    ('ot.base_tracer_func', 'tests.callbacks.settings_positionally',
     'it is called as f(**settings), but takes settings_positionally(settings)'),
    ('ot.tracing_callable', 'tests.callbacks.settings_positionally',
     'it is called as f(**settings), but takes settings_positionally(settings)'),
])
def test_a_function_that_cannot_be_called_so_fails_at_start_up(clean_env, name, value, problem):
    settings = {'ot.trace_all': 'true', name: value}
    if name not in ('ot.base_tracer_func', 'ot.tracing_callable'):  # not two tracer sources
        settings['ot.base_tracer'] = MockTracer()
    with pytest.raises(ConfigurationError) as raised:
        configure(settings)
    assert '%s = %r: %s' % (name, value, problem) in str(raised.value)


def test_a_function_given_as_an_object_is_checked_too(clean_env):
    def one(span):
        pass

    with pytest.raises(ConfigurationError, match=r'ot\.start_span_cb = <function .*one.*>: '
                                                 r'it is called as f\(span, request\)'):
        configure({'ot.base_tracer': MockTracer(), 'ot.start_span_cb': one})


class UnreadableSignature:
    """A callable whose signature cannot be read: inspect.signature raises
    what its ``__signature__`` raises."""

    @property
    def __signature__(self):
        raise RuntimeError('no signature here')

    def __call__(self, *arguments):
        pass


@pytest.mark.parametrize('name, value', [
    ('ot.should_trace', bool),  # a builtin: no signature to read
    ('ot.start_span_cb', UnreadableSignature()),
])
def test_a_function_whose_signature_cannot_be_read_is_accepted(clean_env, name, value):
    settings = configure({'ot.base_tracer': MockTracer(), name: value})
    assert settings[name] is value


@pytest.mark.parametrize('name', ['ot.start_span_cb', 'ot.operation_name_func', 'ot.should_trace'])
@pytest.mark.parametrize('blank', ['', '  '])
def test_a_function_setting_left_blank_is_not_set(clean_env, name, blank):
    """As a blank tracer source is: ``ot.start_span_cb =`` in an INI file."""
    settings = configure({'ot.base_tracer': MockTracer(), name: blank})
    assert settings[name] is None


@pytest.mark.parametrize('name, value', [
    ('ot.operation_name_func', str),
    ('ot.start_span_cb', 'tests.callbacks.any_arguments'),
    ('ot.should_trace', 'tests.callbacks.FILTER'),  # a callable object
    ('ot.start_span_cb', functools.partial(callbacks.rename)),
    ('ot.operation_name_func', lambda request, default='GET': default),
])
def test_a_function_that_can_be_called_so_is_accepted(clean_env, name, value):
    settings = configure({'ot.base_tracer': MockTracer(), name: value})
    assert callable(settings[name])
