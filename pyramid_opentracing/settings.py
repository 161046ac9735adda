"""Every ``ot.*`` setting, parsed and checked once, at start-up.

:func:`parse_settings` turns the raw settings (Python values or INI strings)
into typed values and a :class:`~pyramid_opentracing.PyramidTracer`, raising
:class:`~pyramid.exceptions.ConfigurationError` that names the setting and
the value for anything it cannot use.
"""
import json
import logging

from pyramid.exceptions import ConfigurationError

from .tracer import DEFAULT_MAX_TAG_LENGTH, PyramidTracer, TagPolicy

logger = logging.getLogger('pyramid_opentracing')

_TRUE = frozenset({'true', 'yes', 'on', '1'})
_FALSE = frozenset({'false', 'no', 'off', '0', ''})

#: The settings that say where the OpenTracing tracer comes from: one at most.
TRACER_SOURCES = (
    'ot.tracer', 'ot.tracing', 'ot.base_tracer', 'ot.base_tracer_func',
    'ot.tracing_callable', 'ot.tracer_callable',
)

#: Settings under these prefixes belong to tracer factories (the OTel bridge).
FACTORY_PREFIXES = ('ot.otel.',)


def fail(name, value, problem):
    """A ConfigurationError naming setting ``name`` and its ``value``."""
    return ConfigurationError('%s = %r: %s' % (name, value, problem))


def as_bool(name, value, config=None):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise fail(name, value, 'expected true or false')


def as_words(name, value, config=None):
    """A tuple of names: a list, or INI text with one name per line."""
    words = value.split() if isinstance(value, str) else value
    try:
        words = tuple(words)
    except TypeError:
        raise fail(name, value, 'expected a list of names') from None
    for word in words:
        if not isinstance(word, str) or not word or word.split() != [word]:
            raise fail(name, value, '%r is not a name (give one name per line)' % (word,))
    return words


def as_attribute_names(name, value, config=None):
    names = as_words(name, value)
    for item in names:
        if not item.isidentifier():
            raise fail(name, value, '%r is not a request attribute name' % (item,))
    return names


def as_length(name, value, config=None):
    try:
        length = int(value)
    except (TypeError, ValueError):
        raise fail(name, value, 'expected a whole number') from None
    if length < 16:
        raise fail(name, value, 'must be at least 16')
    return length


def as_trace_url(name, value, config=None):
    """A link template for a trace: a URL with ``{trace_id}`` in it."""
    if not isinstance(value, str) or not value.strip():
        raise fail(name, value, 'expected a URL with {trace_id} in it')
    url = value.strip()
    if '{trace_id}' not in url:
        raise fail(name, value, 'must contain {trace_id}, where the trace id goes')
    try:
        url.format(trace_id='0')
    except (IndexError, KeyError, ValueError) as exc:
        raise fail(name, value, 'only {trace_id} may be in braces (%s)' % exc) from None
    return url


def as_parameters(name, value):
    """Keyword arguments for ot.tracer_callable: a dict, JSON text, or ``key = value`` lines."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        raise fail(name, value, 'expected a dict or JSON object text')
    text = value.strip()
    if text.startswith('{'):
        try:
            parameters = json.loads(text)
        except ValueError as exc:
            raise fail(name, value, 'malformed JSON (%s)' % exc) from None
        return parameters
    parameters = {}
    for line in text.splitlines():
        key, sep, item = line.partition('=')
        if not sep or not key.strip().isidentifier():
            raise fail(name, value, 'expected JSON or "key = value" lines, got %r' % line)
        parameters[key.strip()] = item.strip()
    return parameters


def resolve(config, name, value):
    """``value``, or the object its dotted name names."""
    if not isinstance(value, str):
        return value
    try:
        return config.maybe_dotted(value.strip())
    except Exception as exc:
        raise fail(name, value, 'cannot import it (%s)' % exc) from None


def as_callable(name, value, config):
    function = resolve(config, name, value)
    if not callable(function):
        raise fail(name, value, 'is not callable')
    return function


def is_tracer(obj):
    """Whether ``obj`` looks like an OpenTracing 2.x tracer."""
    return all(callable(getattr(obj, method, None))
               for method in ('start_active_span', 'start_span', 'extract', 'inject'))


def as_pyramid_tracer(name, value, made):
    """A PyramidTracer from ``made``, which may be one or a plain tracer."""
    if isinstance(made, PyramidTracer):
        return made
    if is_tracer(made):
        return PyramidTracer(made)
    raise fail(name, value, 'gave %r, which is not an OpenTracing tracer' % (made,))


def call_factory(name, value, function, kwargs):
    try:
        return function(**kwargs)
    except ConfigurationError:
        raise
    except Exception as exc:
        raise fail(name, value, 'raised %s: %s' % (type(exc).__name__, exc)) from exc


#: (setting, parser, default) for every option that is not a tracer source.
OPTIONS = (
    ('ot.trace_all', as_bool, False),
    ('ot.traced_attributes', as_attribute_names, ()),
    ('ot.start_span_cb', as_callable, None),
    ('ot.operation_name_func', as_callable, None),
    ('ot.trace_query_string', as_bool, False),
    ('ot.redacted_headers', as_words, ()),
    ('ot.redacted_query_params', as_words, ()),
    ('ot.max_tag_length', as_length, DEFAULT_MAX_TAG_LENGTH),
    ('ot.toolbar.trace_url', as_trace_url, None),
)

#: The options that make the TagPolicy, and its argument for each.
TAG_POLICY_OPTIONS = {
    'ot.trace_query_string': 'trace_query_string',
    'ot.redacted_headers': 'redacted_headers',
    'ot.redacted_query_params': 'redacted_query_params',
    'ot.max_tag_length': 'max_tag_length',
}

KNOWN = frozenset([option[0] for option in OPTIONS] + list(TRACER_SOURCES)
                  + ['ot.tracer_parameters'])


def parse_options(settings, config):
    """The options of OPTIONS, parsed, keyed by setting name."""
    options = {}
    for name, parser, default in OPTIONS:
        value = settings.get(name)
        options[name] = default if value is None else parser(name, value, config)
    return options


def warn_unknown(settings):
    """Log ``ot.*`` settings nobody reads: usually a typo."""
    for name in sorted(settings):
        if (name.startswith('ot.') and name not in KNOWN
                and not name.startswith(FACTORY_PREFIXES)):
            logger.warning('pyramid_opentracing: unknown setting %s is ignored; known settings: %s',
                           name, ', '.join(sorted(KNOWN)))


def tracer_source(settings):
    """(name, value) of the one tracer source that is set, or (None, None)."""
    given = [(name, settings[name]) for name in TRACER_SOURCES
             if settings.get(name) not in (None, '')]
    if (len(given) == 2 and given[0][0] == 'ot.tracer' and given[1][0] == 'ot.tracing'
            and given[0][1] is given[1][1]):
        given = given[:1]  # both names of one object, as written back by includeme
    if len(given) > 1:
        raise ConfigurationError(
            'conflicting tracer settings %s: set only one of them'
            % ' and '.join('%s = %r' % pair for pair in given))
    if 'ot.tracer_parameters' in settings and (not given or given[0][0] != 'ot.tracer_callable'):
        raise fail('ot.tracer_parameters', settings['ot.tracer_parameters'],
                   'only used with ot.tracer_callable, which is not set')
    return given[0] if given else (None, None)


def build_tracer(settings, config):
    """The PyramidTracer the settings ask for."""
    name, value = tracer_source(settings)
    if name is None:
        return PyramidTracer(None)
    if name in ('ot.tracer', 'ot.tracing', 'ot.base_tracer'):
        made = resolve(config, name, value)
    elif name == 'ot.tracer_callable':
        parameters = as_parameters('ot.tracer_parameters', settings.get('ot.tracer_parameters', {}))
        made = call_factory(name, value, as_callable(name, value, config), parameters)
    else:  # ot.base_tracer_func, ot.tracing_callable: called with the settings
        made = call_factory(name, value, as_callable(name, value, config), dict(settings))
    return as_pyramid_tracer(name, value, made)


def parse_settings(settings, config):
    """Parse every ``ot.*`` setting; return them as the tween and views use them.

    The result maps each option name to its parsed value, and ``ot.tracer``
    and ``ot.tracing`` to the PyramidTracer.
    """
    warn_unknown(settings)
    options = parse_options(settings, config)
    tracer = build_tracer(settings, config)
    configure_callbacks(tracer, options)
    if any(settings.get(name) is not None for name in TAG_POLICY_OPTIONS):
        tracer.policy = TagPolicy(**{
            argument: options[name] for name, argument in TAG_POLICY_OPTIONS.items()})
    options['ot.tracer'] = options['ot.tracing'] = tracer
    return options


def configure_callbacks(tracer, options):
    """Give ``tracer`` the callbacks the settings name, refusing to replace its own."""
    for attribute, name in (('start_span_cb', 'ot.start_span_cb'),
                            ('operation_name_func', 'ot.operation_name_func')):
        function = options[name]
        if function is None:
            continue
        own = getattr(tracer, attribute)
        if own is not None and own is not function:
            raise fail(name, function, 'the PyramidTracer given already has %s = %r' % (attribute, own))
        setattr(tracer, attribute, function)
