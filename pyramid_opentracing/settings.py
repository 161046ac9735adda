"""Every ``ot.*`` setting, parsed and checked once, at start-up.

:func:`parse_settings` turns the raw settings (Python values or INI strings)
into typed values and a :class:`~pyramid_opentracing.PyramidTracer`, raising
:class:`~pyramid.exceptions.ConfigurationError` that names the setting and
the value for anything it cannot use.
"""
import inspect
import json
import logging
import os
import re
from collections.abc import Mapping

from pyramid.exceptions import ConfigurationError
from pyramid.path import DottedNameResolver
from pyramid.interfaces import IRequestExtensions, IRequestFactory
from pyramid.request import Request

from .headers import CapturedHeaders, build_span_headers
from .request_tags import DEFAULT_MAX_TAG_LENGTH, merged_policy
from .selection import RequestSelection, resolve_excluded_routes
from .tracer import PyramidTracer

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


def as_list(name, value):
    """The items of a list setting: a list (or any iterable) as it is, or
    text whose items are separated by commas, blanks or new lines.

    That one rule serves every list setting and every ``OTEL_*`` list
    variable (written comma-separated): an item given as text therefore has
    no comma nor blank in it (a regular expression matches a blank with
    ``\\s``; one with a comma, such as ``{1,3}``, can only be in a list, and
    :func:`as_patterns` refuses one split at its comma).
    """
    if isinstance(value, str):
        return tuple(value.replace(',', ' ').split())
    if isinstance(value, (Mapping, bytes, bytearray)):
        raise fail(name, value, 'expected a list, or text')
    try:
        return tuple(value)
    except TypeError:
        raise fail(name, value, 'expected a list') from None


def as_names(name, value, config=None):
    """A tuple of names (header, parameter, attribute names): as_list's items,
    each a word of text."""
    names = as_list(name, value)
    for item in names:
        if not isinstance(item, str) or not item or item.split() != [item]:
            raise fail(name, value, '%r is not a name' % (item,))
    return names


#: The two halves of a ``{n,m}`` quantifier that the list rule split.
SPLIT_QUANTIFIER_START = re.compile(r'\{\d*$')
SPLIT_QUANTIFIER_END = re.compile(r'\d*\}')


def as_patterns(name, value, config=None):
    """A tuple of regular expressions, each checked to compile.

    Patterns that choose requests not to trace are checked by
    :func:`as_exclusions`."""
    patterns = as_list(name, value)
    for before, after in zip(patterns, patterns[1:]) if isinstance(value, str) else ():
        if SPLIT_QUANTIFIER_START.search(before) and SPLIT_QUANTIFIER_END.match(after):
            raise fail(name, value, 'the quantifier in %r,%r was split at its comma (commas '
                       'separate the patterns of a text): give the patterns as a list'
                       % (before, after))
    for pattern in patterns:
        if not isinstance(pattern, str) or not pattern:
            raise fail(name, value, '%r is not a regular expression' % (pattern,))
        try:
            re.compile(pattern)
        except (re.error, OverflowError) as exc:  # a repetition count too large is the latter
            raise fail(name, value,
                       '%r is not a regular expression (%s)' % (pattern, exc)) from None
    return patterns


#: Paths and URLs of every kind: a pattern found in all of them excludes
#: (nearly) every request, a mistake more often than not.
PATH_PROBES = ('/', '/api', '/api/v1/items/42', '/health', '/static/app.css', '/x', '/\u00e9/a.b')
URL_PROBES = ('http://localhost/', 'https://example.com/api/v1/items/42?q=1',
              'http://127.0.0.1:6543/health', 'http://[::1]/x')


def as_exclusions(name, value, config=None):
    """:func:`as_patterns` that exclude requests, none of them found in
    every path (``ot.excluded_paths``) or URL (the ``OTEL_*`` variables) of
    :data:`PATH_PROBES` or :data:`URL_PROBES`: it would leave every request
    untraced, without a word (``.*``, ``^/``, or the ``|`` of ``^/a | ^/b``
    split at its blanks)."""
    patterns = as_patterns(name, value)
    paths = name == 'ot.excluded_paths'
    for pattern in patterns:
        search = re.compile(pattern).search
        if all(search(probe) for probe in (PATH_PROBES if paths else URL_PROBES)):
            hint = (' (patterns of a text are separated by commas or blanks: give them as a '
                    'list)' if isinstance(value, str) and paths else '')
            raise fail(name, value, '%r is found in every %s: no request would be traced; '
                       'ot.should_trace can choose the few to trace%s'
                       % (pattern, 'path' if paths else 'URL', hint))
    return patterns


def as_route_names(name, value, config=None):
    names = as_list(name, value)
    for item in names:
        if not isinstance(item, str) or not item or item.split() != [item]:
            raise fail(name, value, '%r is not a route name' % (item,))
    return names


def as_attribute_names(name, value, config=None):
    names = as_names(name, value)
    for item in names:
        if not item.isidentifier():
            raise fail(name, value, '%r is not a request attribute name' % (item,))
    return names


WHOLE_NUMBER = re.compile('[+-]?[0-9]+')


def as_length(name, value, config=None):
    """A whole number of characters, at least 16: an int, or text of one
    (``'64'``). A float is refused, even ``64.0``: it says a fraction was meant
    or computed, and cutting it off silently would hide that."""
    if isinstance(value, str) and WHOLE_NUMBER.fullmatch(value.strip()):
        length = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        length = value
    else:
        raise fail(name, value, 'expected a whole number')
    if length < 16:
        raise fail(name, value, 'must be at least 16')
    return length


def as_trace_url(name, value, config=None):
    """A link template for a trace: a URL with ``{trace_id}`` in it."""
    if not isinstance(value, str) or not value.strip():
        raise fail(name, value, 'expected a URL with {trace_id} in it')
    url = value.strip()
    if not url.lower().startswith(('http://', 'https://', '/')):
        raise fail(name, value, 'expected an http:// or https:// URL (or a path)')
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


def callback(*arguments):
    """The parser of a setting naming a function called with ``arguments``
    (their names): resolved, and refused at start-up if it cannot take them,
    rather than failing on every request."""
    call = 'f(%s)' % ', '.join(arguments)

    def parse(name, value, config):
        if not is_set(value):
            return None  # left blank, in an INI file: not set, as a blank tracer source
        function = as_callable(name, value, config)
        check_signature(name, value, function, call, arguments)
        return function
    return parse


def is_tracer(obj):
    """Whether ``obj`` looks like an OpenTracing 2.x tracer."""
    return all(callable(getattr(obj, method, None))
               for method in ('start_active_span', 'start_span', 'extract', 'inject'))


def as_pyramid_tracer(name, value, made):
    """A PyramidTracer from ``made``, which may be one or a plain tracer."""
    if isinstance(made, PyramidTracer):
        return made
    if isinstance(made, type):
        raise fail(name, value, 'is the class %s, not a tracer: give an instance '
                                '(its dotted name must name an object, not a class), '
                                'or name a function returning one in ot.base_tracer_func'
                   % made.__name__)
    if is_tracer(made):
        return PyramidTracer(made)
    raise fail(name, value, 'gave %r, which is not an OpenTracing tracer' % (made,))


def check_signature(name, value, function, call, arguments=(), keywords=None):
    """Refuse a ``function`` that cannot be called with the positional
    ``arguments`` (placeholders) and the ``keywords``, before calling it;
    ``call`` shows how it is called. A function whose signature cannot be
    read (a builtin, an object whose ``__signature__`` raises) is accepted."""
    try:
        signature = inspect.signature(function)
    except Exception:  # pylint: disable=broad-except
        return
    try:
        signature.bind(*arguments, **(keywords or {}))
    except TypeError as exc:
        raise fail(name, value, 'it is called as %s, but takes %s%s (%s)' % (
            call, getattr(function, '__name__', type(function).__name__), signature, exc)) from None


def call_factory(name, value, function, kwargs):
    try:
        return function(**kwargs)
    except ConfigurationError:
        raise
    except Exception as exc:
        raise fail(name, value, 'raised %s: %s' % (type(exc).__name__, exc)) from exc


#: (setting, OpenTelemetry's environment variables read in this order when
#: the setting is not set, parser, default) for every option that is not a
#: tracer source.
OPTIONS = (
    ('ot.trace_all', (), as_bool, False),
    ('ot.traced_attributes', (), as_attribute_names, ()),
    ('ot.start_span_cb', (), callback('span', 'request'), None),
    ('ot.operation_name_func', (), callback('request'), None),
    ('ot.trace_query_string', (), as_bool, False),
    ('ot.redacted_headers', (), as_names, ()),
    ('ot.redacted_query_params', (), as_names, ()),
    ('ot.max_tag_length', (), as_length, DEFAULT_MAX_TAG_LENGTH),
    ('ot.excluded_paths', (), as_exclusions, ()),
    ('ot.excluded_routes', (), as_route_names, ()),
    ('ot.should_trace', (), callback('request'), None),
    ('ot.captured_request_headers',
     ('OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST',), as_patterns, ()),
    ('ot.captured_response_headers',
     ('OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_RESPONSE',), as_patterns, ()),
    ('ot.response_headers', (), as_bool, False),
    ('ot.toolbar.trace_url', (), as_trace_url, None),
)

#: OpenTelemetry's excluded URLs, read in this order when ``ot.excluded_paths``
#: is not set. Not that setting's value: they are matched against the full
#: URL, as OpenTelemetry matches them.
EXCLUDED_URLS_VARIABLES = ('OTEL_PYTHON_PYRAMID_EXCLUDED_URLS', 'OTEL_PYTHON_EXCLUDED_URLS')

#: Header names whose captured values are redacted, in addition to ours.
SANITIZED_HEADERS_VARIABLE = 'OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS'

#: The options that make the TagPolicy, and its argument for each.
TAG_POLICY_OPTIONS = {
    'ot.trace_query_string': 'trace_query_string',
    'ot.redacted_headers': 'redacted_headers',
    'ot.redacted_query_params': 'redacted_query_params',
    'ot.max_tag_length': 'max_tag_length',
}

KNOWN = frozenset([option[0] for option in OPTIONS] + list(TRACER_SOURCES)
                  + ['ot.tracer_parameters'])


def is_set(value):
    """Whether a setting's ``value`` says something: not missing (None) nor
    blank text. What a blank setting means is its parser's to say."""
    return value is not None and not (isinstance(value, str) and not value.strip())


def setting_or_variable(settings, name, variables=(), environ=os.environ):
    """(where it comes from, raw value) of setting ``name``.

    The setting wins if it is set (see :func:`is_set`); else the first of
    OpenTelemetry's ``variables`` set in ``environ`` to something other than
    blanks, in the order given; else the setting's own value, None or blank.
    Errors name the source, so that a bad variable is reported as the variable.
    """
    value = settings.get(name)
    if is_set(value):
        return name, value
    for variable in variables:
        text = environ.get(variable, '').strip()
        if text:
            return variable, text
    return name, value


def parse_options(settings, config, environ=os.environ):
    """The options of OPTIONS, parsed, keyed by setting name, with
    OpenTelemetry's variables in ``environ`` for those not set."""
    options = {}
    for name, variables, parser, default in OPTIONS:
        source, value = setting_or_variable(settings, name, variables, environ)
        options[name] = default if value is None else parser(source, value, config)
    return options


def request_selection(tracer, options, settings, environ=os.environ):
    """The RequestSelection the options ask for, or None to trace every request."""
    source, value = setting_or_variable(settings, 'ot.excluded_paths', EXCLUDED_URLS_VARIABLES,
                                        environ)
    excluded_urls = () if source == 'ot.excluded_paths' else as_exclusions(source, value)
    if not (options['ot.excluded_paths'] or excluded_urls or options['ot.excluded_routes']
            or options['ot.should_trace'] is not None):
        return None
    return RequestSelection(
        tracer.failures, excluded_paths=options['ot.excluded_paths'], excluded_urls=excluded_urls,
        excluded_routes=options['ot.excluded_routes'], should_trace=options['ot.should_trace'])


def span_headers(options, environ=os.environ):
    """The SpanHeaders the options ask for, or None."""
    captured = None
    if options['ot.captured_request_headers'] or options['ot.captured_response_headers']:
        sanitized = environ.get(SANITIZED_HEADERS_VARIABLE)
        captured = CapturedHeaders(
            options['ot.captured_request_headers'], options['ot.captured_response_headers'],
            as_patterns(SANITIZED_HEADERS_VARIABLE, sanitized) if sanitized else ())
    return build_span_headers(captured, options['ot.response_headers'])


def warn_unknown(settings, prefix='ot.', known=KNOWN, others=FACTORY_PREFIXES):
    """Log the settings under ``prefix`` nobody reads (usually a typo):
    neither in ``known`` nor under one of the ``others`` prefixes, whose
    owners check their own."""
    for name in sorted(settings):
        if (name.startswith(prefix) and name not in known
                and not name.startswith(others)):
            logger.warning('pyramid_opentracing: unknown setting %s is ignored; known settings: %s',
                           name, ', '.join(sorted(known)))


def tracer_source(settings):
    """(name, value) of the one tracer source that is set, or (None, None)."""
    given = [(name, settings[name]) for name in TRACER_SOURCES
             if is_set(settings.get(name))]
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
        function = as_callable(name, value, config)
        check_signature('ot.tracer_parameters', settings.get('ot.tracer_parameters'), function,
                        'f(**ot.tracer_parameters)', keywords=parameters)
        made = call_factory(name, value, function, parameters)
    else:  # ot.base_tracer_func, ot.tracing_callable: called with the settings
        function = as_callable(name, value, config)
        check_signature(name, value, function, 'f(**settings)', keywords=settings)
        made = call_factory(name, value, function, dict(settings))
    return as_pyramid_tracer(name, value, made)


def parse_settings(settings, config, registry=None):
    """Parse every ``ot.*`` setting (of ``registry``'s application);
    return them as the tween and views use them.

    The result maps each option name to its parsed value, and ``ot.tracer``
    and ``ot.tracing`` to the PyramidTracer.
    """
    warn_unknown(settings)
    options = parse_options(settings, config)
    tracer = build_tracer(settings, config)
    check_claim(tracer, registry, options)
    configure_callbacks(tracer, options)
    # another application's (with the same settings, check_claim says) keeps its own
    selection = request_selection(tracer, options, settings)
    if selection is not None and tracer.selection is None:
        tracer.selection = selection
    headers = span_headers(options)
    if headers is not None and tracer.span_headers is None:
        tracer.span_headers = headers
    if tracer.selection is not None and tracer.span_headers is not None:
        tracer.selection.on_excluded = tracer.span_headers.on_excluded
    configure_tag_policy(tracer, settings, options)
    warn_unread_bridge_settings(settings, tracer)
    options['ot.tracer'] = options['ot.tracing'] = tracer
    return options


def warn_unread_bridge_settings(settings, pyramid_tracer):
    """Log the ``ot.otel.*`` settings when the tracer is not the bridge,
    the only reader of them: usually a forgotten ``ot.base_tracer_func``."""
    names = sorted(name for name in settings if name.startswith(FACTORY_PREFIXES))
    if names and not type(pyramid_tracer.tracer).__module__.startswith('pyramid_opentracing.otel'):
        logger.warning('pyramid_opentracing: %s ignored: only the OpenTelemetry bridge reads '
                       'ot.otel.* settings, and the tracer is %r (set ot.base_tracer_func = '
                       'pyramid_opentracing.otel.tracer_from_settings to use it)',
                       ', '.join(names), pyramid_tracer.tracer)


def configure_tag_policy(tracer, settings, options):
    """Add the tag settings to ``tracer``'s own policy: redacted names add
    up, and any other setting may not contradict what the PyramidTracer
    given was made with."""
    given = {argument: options[name] for name, argument in TAG_POLICY_OPTIONS.items()
             if settings.get(name) is not None}
    if not given:
        return
    try:
        tracer.policy = merged_policy(tracer.policy, given)
    except ValueError as exc:
        argument = exc.args[0]
        name = next(name for name, known in TAG_POLICY_OPTIONS.items() if known == argument)
        raise fail(name, settings[name], 'the PyramidTracer given already has %s = %r'
                   % (argument, getattr(tracer.policy, argument))) from None


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


#: Set on a registry once its ``ot.*`` settings are parsed and written back.
PARSED_MARK = 'pyramid_opentracing_settings_parsed'


class DottedNames:
    """Resolves absolute dotted names as ``config.maybe_dotted`` does, where
    there is no Configurator (a tween registered without ``includeme``)."""

    def __init__(self):
        self._resolver = DottedNameResolver()

    def maybe_dotted(self, name):
        return self._resolver.maybe_resolve(name)


def parse_registry_settings(registry, config=None):
    """The settings of ``registry``, their ``ot.*`` ones parsed and written back, once.

    ``includeme`` parses them at start-up with its ``config``; the tween
    factory, registered without it, parses them here with :class:`DottedNames`.
    """
    settings = registry.settings
    if getattr(registry, PARSED_MARK, False):
        return settings
    if config is None and settings.get('ot.trace_all') is None:
        logger.warning('pyramid_opentracing: the tween is registered without the include and '
                       'ot.trace_all is not set, so it traces nothing (1.0 traced every '
                       'request by default): set ot.trace_all = true')
    settings.update(parse_settings(settings, DottedNames() if config is None else config,
                                   registry))
    if config is None:  # by the tween, once every route and request method is added
        if hasattr(registry, 'queryUtility'):  # not a test double without routes to check
            check_traced_attributes(registry)
            resolve_excluded_routes(registry)
        claim(registry)  # includeme claims it once its own checks passed
    setattr(registry, PARSED_MARK, True)
    return settings


#: The variables that configure a PyramidTracer beside the options (which
#: include those of OPTIONS' own variables once parsed).
CLAIM_VARIABLES = EXCLUDED_URLS_VARIABLES + (SANITIZED_HEADERS_VARIABLE,)


def claim(registry):
    """Make the PyramidTracer of ``registry``'s application its own, once its
    settings all passed their start-up checks (see :func:`check_claim`):
    an application that fails to start claims nothing."""
    pyramid_tracer = registry.settings['ot.tracer']
    if pyramid_tracer.registry is None:
        pyramid_tracer.registry = registry
        pyramid_tracer.claimed_variables = variables_read()


def claimed_value(pyramid_tracer, name):
    """The value of setting or variable ``name`` for the application that claimed ``pyramid_tracer``."""
    if name in pyramid_tracer.claimed_variables:
        return pyramid_tracer.claimed_variables[name]
    return pyramid_tracer.registry.settings.get(name)


def variables_read(environ=os.environ):
    return {name: environ.get(name) for name in CLAIM_VARIABLES}


def check_claim(pyramid_tracer, registry, options):
    """Refuse ``pyramid_tracer`` to ``registry``'s application, whose parsed
    settings are ``options``, if it traces another application with other
    settings, before they change it: the settings of the first (exclusions,
    callbacks, tag rules) would silently apply to the second, or the other
    way round. It is claimed once the application's settings are all parsed."""
    owner = pyramid_tracer.registry
    if owner is None or registry is None or owner is registry:
        return
    differ = [name for name, *_ in OPTIONS if owner.settings.get(name) != options[name]]
    differ += [name for name, value in variables_read().items()
               if pyramid_tracer.claimed_variables.get(name) != value]
    if differ:
        raise fail('ot.tracer', pyramid_tracer, 'this PyramidTracer already traces another '
                   'application, whose settings it carries (%s = %r, not %r): give each '
                   'application its own (they may share the OpenTracing tracer: '
                   'ot.base_tracer)' % (differ[0], claimed_value(pyramid_tracer, differ[0]),
                                        options.get(differ[0], os.environ.get(differ[0]))))


#: What the WSGI request and Pyramid's router set on each request object
#: rather than on its class.
INSTANCE_ATTRIBUTES = frozenset({
    'environ', 'registry', 'invoke_subrequest', 'context', 'root', 'view_name',
    'subpath', 'traversed', 'virtual_root', 'virtual_root_path'})


def request_attribute_names(registry):
    """The attribute names a request of this application has: those of its
    request class, those the router sets, and those added by
    ``config.add_request_method``."""
    request_class = registry.queryUtility(IRequestFactory, default=Request)
    names = set(dir(request_class if isinstance(request_class, type) else Request))
    names.update(INSTANCE_ATTRIBUTES)
    extensions = registry.queryUtility(IRequestExtensions)
    if extensions is not None:
        names.update(extensions.methods, extensions.descriptors)
    return names


def check_traced_attributes(registry):
    """Refuse ``ot.traced_attributes`` names a request does not have (a typo
    would otherwise tag nothing, silently). Run once every include is done,
    so that request methods added anywhere are known."""
    names = registry.settings.get('ot.traced_attributes') or ()
    known = request_attribute_names(registry)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise fail('ot.traced_attributes', names,
                   'the request has no attribute %s (names of pyramid.request.Request '
                   'or added with config.add_request_method)' % ', '.join(map(repr, unknown)))
