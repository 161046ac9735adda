"""Every ``ot.*`` and ``ot.otel.*`` setting in one table, read once at start-up.

:data:`SETTINGS` holds one :class:`Setting` row per setting: its parser, its
default, the OpenTelemetry variables read when it is not set, the part that
reads it (``ot``: the package; ``otel``: the OpenTelemetry bridge) and one
sentence for the reference. :func:`configure` parses the ``ot`` part into
typed values and a :class:`~pyramid_opentracing.PyramidTracer`, writes them
back into the settings and checks them against the whole application;
:class:`~pyramid_opentracing.otel.options.BridgeOptions` parses the ``otel``
part. A value that cannot be used is a
:class:`~pyramid.exceptions.ConfigurationError` naming the setting (or the
variable) and the value.
"""
import difflib
import functools
import logging
import os
from typing import Any, Callable, NamedTuple, Optional, Tuple

from .headers import CapturedHeaders, build_span_headers
from .internals import INTERNALS, as_internals
from .tags import DEFAULT_MAX_TAG_LENGTH, merged_policy
from .selection import RequestSelection, resolve_excluded_routes
from .setting_parsers import (
    as_attribute_names, as_bool, as_callable, as_endpoint, as_exclusions, as_http_dup,
    as_length, as_names, as_object, as_pairs, as_parameters, as_patterns, as_ratio,
    as_secret_pairs, as_text, as_timeout, as_trace_url, callback, choice, choices_of, fail,
    is_set)
from .startup_checks import check_traced_attributes, check_tweens
from .tracer_sources import TRACER_SOURCES, build_tracer

__all__ = ['Setting', 'SETTINGS', 'PARTS', 'configure', 'is_configured', 'rows_of',
           'parse_rows', 'setting_or_variable', 'variables_for', 'warn_unknown',
           'DEFAULT_TIMEOUT']

logger = logging.getLogger('pyramid_opentracing')

#: The settings prefix of each part.
PARTS = {'ot': 'ot.', 'otel': 'ot.otel.'}

EXPORTERS = ('otlp', 'zipkin', 'console', 'memory', 'none')
#: ``sdk``: the bridge builds its TracerProvider; ``global``: it uses the
#: one the application or ``opentelemetry-instrument`` set globally.
PROVIDERS = ('sdk', 'global')
PROTOCOLS = ('http/protobuf', 'grpc')
PROPAGATORS = ('tracecontext', 'baggage', 'b3', 'b3multi', 'jaeger', 'none')
DEFAULT_PROPAGATORS = ('tracecontext', 'baggage')
#: Seconds one export, and the flush when the process ends, may take. Short,
#: so that a dead collector cannot hold up Ctrl-C or SIGTERM for long.
DEFAULT_TIMEOUT = 2.0


class Setting(NamedTuple):
    """One row of :data:`SETTINGS`.

    ``parse(source, value, resolve)`` turns a value that is set into its
    typed value; ``default`` is the value when neither the setting nor any
    of the ``env`` variables (read in that order) is set, and ``shown`` the
    default as a user would write it where the typed value does not say it
    (see :attr:`default_text`). An ``internal`` row has no setting of its
    own: it names what its variables configure, and is not in the reference.
    A row with ``unless`` is read only when that setting is not set. A row
    ``of_provider`` makes the TracerProvider the bridge builds: with the
    global one (``ot.otel.provider = global``) its owner chooses it.
    """
    name: str
    parse: Callable[[str, Any, Callable], Any]
    default: Any = None
    env: Tuple[str, ...] = ()
    part: str = 'ot'
    doc: str = ''
    shown: Optional[str] = None
    internal: bool = False
    unless: Optional[str] = None
    of_provider: bool = False

    @property
    def default_text(self):
        """The default as it is written in an INI file ('' for none)."""
        if self.shown is not None:
            return self.shown
        if isinstance(self.default, bool):
            return 'true' if self.default else 'false'
        if isinstance(self.default, tuple):
            return ', '.join(self.default)
        return '' if self.default is None else str(self.default)


def _bridge(name, parse, default=None, **fields):
    """A row of the ``otel`` part."""
    return Setting(name, parse, default, part='otel', **fields)


#: Every setting, in the order of the reference.
SETTINGS = (
    # -- the tracer: one of these at most
    Setting('ot.tracer', as_object, shown='opentracing.global_tracer()',
            doc='The PyramidTracer, or an OpenTracing tracer, as an object or its dotted name.'),
    Setting('ot.tracing', as_object, doc='The 1.0 name of ot.tracer.'),
    Setting('ot.base_tracer', as_object,
            doc='An OpenTracing tracer (an object or its dotted name) to trace with.'),
    Setting('ot.base_tracer_func', as_callable,
            doc='A function called with the settings as keyword arguments, returning the '
                'tracer; pyramid_opentracing.otel.tracer_from_settings is the OpenTelemetry '
                'bridge.'),
    Setting('ot.tracing_callable', as_callable, doc='The 1.0 name of ot.base_tracer_func.'),
    Setting('ot.tracer_callable', as_callable,
            doc='A function called with ot.tracer_parameters as keyword arguments, returning '
                'the tracer.'),
    Setting('ot.tracer_parameters', as_parameters, shown='{}',
            doc='The keyword arguments of ot.tracer_callable: JSON, or "key = value" lines.'),
    # -- what is traced, and how
    Setting('ot.trace_all', as_bool, False, doc='Trace every request in the tween.'),
    Setting('ot.traced_attributes', as_attribute_names, (),
            doc='Request attributes tagged on each server span.'),
    Setting('ot.start_span_cb', callback('span', 'request'),
            doc='A function called as f(span, request) when a server span starts.'),
    Setting('ot.operation_name_func', callback('request'),
            doc="A function naming the span, called as f(request) once routing is done "
                "(default: the matched route's name, else the HTTP method)."),
    Setting('ot.trace_query_string', as_bool, False,
            doc='Keep the query string in http.url (values of secret parameters redacted).'),
    Setting('ot.redacted_headers', as_names, (),
            doc='Header names whose values are redacted, beside the built-in secret names.'),
    Setting('ot.redacted_query_params', as_names, (),
            doc='Query parameter names whose values are redacted, beside the built-in ones.'),
    Setting('ot.max_tag_length', as_length, DEFAULT_MAX_TAG_LENGTH,
            doc='The longest tag value kept, in characters (at least 16).'),
    Setting('ot.excluded_paths', as_exclusions, (),
            doc='Regular expressions: a request whose path matches one is not traced; '
                "OpenTelemetry's variables, read when it is not set, match the full URL."),
    Setting('ot.excluded_routes', functools.partial(as_names, kind='route '), (),
            doc='Route names whose requests are not traced.'),
    Setting('ot.should_trace', callback('request'),
            doc='A function called as f(request): a request it answers false for is not traced.'),
    Setting('ot.captured_request_headers', as_patterns, (),
            env=('OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST',),
            doc='Request headers (names or regular expressions) recorded on the server span.'),
    Setting('ot.captured_response_headers', as_patterns, (),
            env=('OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_RESPONSE',),
            doc='Response headers (names or regular expressions) recorded on the server span.'),
    Setting('ot.response_headers', as_bool, False,
            doc="Write the span's context into the response (traceresponse, or the tracer's "
                "own headers)."),
    Setting('ot.server_timing', as_bool, False,
            doc='Add Server-Timing: traceparent;desc="..." (the W3C context of the server span, '
                'with its sampled flag) to each traced response, for browsers.'),
    Setting('ot.trace_internals', as_internals, (),
            doc='Child spans of Pyramid\'s own work: any of %s (read when the views are '
                'derived, so given to the Configurator).' % ', '.join(INTERNALS)),
    Setting('ot.traceparent_meta', as_bool, False,
            doc='Give every template the traceparent_meta renderer global: the '
                '<meta name="traceparent"> element of the server span, for browsers.'),
    Setting('ot.toolbar.trace_url', as_trace_url,
            doc="A link to the trace in the tracing backend, with {trace_id} in it, shown in "
                "the toolbar's Tracing panel."),
    # -- what only OpenTelemetry's variables configure
    Setting('ot.excluded_urls', as_exclusions, (), internal=True, unless='ot.excluded_paths',
            env=('OTEL_PYTHON_PYRAMID_EXCLUDED_URLS', 'OTEL_PYTHON_EXCLUDED_URLS'),
            doc='URL patterns of requests not traced, when ot.excluded_paths is not set.'),
    Setting('ot.sanitized_headers', as_patterns, (), internal=True,
            env=('OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS',),
            doc='Header names whose captured values are redacted, beside ours.'),
    # -- the OpenTelemetry bridge (of_provider: what the TracerProvider it builds is made of)
    _bridge('ot.otel.service_name', as_text, env=('OTEL_SERVICE_NAME',), of_provider=True,
            shown="unknown_service:python3 (the SDK's)", doc='The service.name of the spans.'),
    _bridge('ot.otel.resource_attributes', as_pairs, {}, of_provider=True, shown='',
            doc='More resource attributes, as key=value items.'),
    _bridge('ot.otel.exporter', choice(EXPORTERS), 'otlp', env=('OTEL_TRACES_EXPORTER',),
            of_provider=True, doc='Where spans go: %s.' % ', '.join(EXPORTERS)),
    _bridge('ot.otel.protocol', choice(PROTOCOLS), 'http/protobuf', of_provider=True,
            env=('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'),
            doc='The OTLP protocol: %s.' % ', '.join(PROTOCOLS)),
    _bridge('ot.otel.endpoint', as_endpoint, of_provider=True,
            doc="The collector's base URL, or the full traces URL; not set, the exporter's "
                "OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, else its default."),
    _bridge('ot.otel.headers', as_secret_pairs, of_provider=True,
            doc='Headers sent with each export, as key=value items (API keys).'),
    _bridge('ot.otel.sampler_ratio', as_ratio, of_provider=True,
            doc="The ratio of new traces sampled, from 0 to 1, a parent deciding for its "
                "trace; not set, the SDK's sampler (OTEL_TRACES_SAMPLER)."),
    _bridge('ot.otel.propagators', choices_of(PROPAGATORS), DEFAULT_PROPAGATORS,
            env=('OTEL_PROPAGATORS',), of_provider=True,
            doc='The propagation formats: %s.' % ', '.join(PROPAGATORS)),
    _bridge('ot.otel.timeout', as_timeout, DEFAULT_TIMEOUT,
            env=('OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', 'OTEL_EXPORTER_OTLP_TIMEOUT'),
            doc='Seconds one export, and the flush at exit, may take.'),
    _bridge('ot.otel.provider', choice(PROVIDERS), 'sdk',
            doc='Which TracerProvider: sdk, one the bridge builds; global, the one set globally.'),
    _bridge('ot.otel.install_global', as_bool, False,
            doc="Make the bridge's provider OpenTelemetry's global one."),
    _bridge('ot.otel.metrics', as_bool, shown='true where metrics can go',
            doc='Record HTTP server metrics (on with the global provider or an exporter '
                'that takes metrics).'),
    _bridge('ot.otel.old_http_attributes', as_http_dup, False, internal=True,
            env=('OTEL_SEMCONV_STABILITY_OPT_IN',),
            doc='With http/dup, the old HTTP attributes are set beside the stable ones.'),
)

_TRACER_ROWS = TRACER_SOURCES + ('ot.tracer_parameters',)
#: The parser of each tracer-source row, for :func:`~.tracer_sources.build_tracer`.
_TRACER_PARSERS = {row.name: row.parse for row in SETTINGS if row.name in _TRACER_ROWS}


def rows_of(part, internal=False):
    """The rows of ``part`` that are options (not tracer sources), the
    internal ones too if ``internal``."""
    return tuple(row for row in SETTINGS if row.part == part and row.name not in _TRACER_ROWS
                 and (internal or not row.internal))


#: The options the package reads and writes back, typed, into the settings.
OPTIONS = rows_of('ot')


def variables_for(name):
    """The variables read for setting ``name`` when it is not set, in order:
    those of its row, then those of the internal rows read unless it is set
    (``ot.excluded_paths`` and OpenTelemetry's excluded URLs)."""
    return tuple(variable for row in SETTINGS
                 if row.name == name or row.internal and row.unless == name
                 for variable in row.env)

#: The options that make the TagPolicy, and its argument for each.
_TAG_POLICY_OPTIONS = {
    'ot.trace_query_string': 'trace_query_string',
    'ot.redacted_headers': 'redacted_headers',
    'ot.redacted_query_params': 'redacted_query_params',
    'ot.max_tag_length': 'max_tag_length',
}

#: Set on a registry once its ``ot.*`` settings are parsed and written back.
_CONFIGURED = 'pyramid_opentracing_configured'


def setting_or_variable(settings, row, environ):
    """(where it comes from, raw value) of ``row``: the setting if it is set
    (see :func:`~.setting_parsers.is_set`), else the first of its variables
    set in ``environ`` to other than blanks, in the order given, else the
    setting's own value, None or blank. Errors then name the source, so that
    a bad variable is reported as the variable."""
    value = None if row.internal else settings.get(row.name)
    if is_set(value):
        return row.name, value
    if row.unless is None or not is_set(settings.get(row.unless)):
        for variable in row.env:
            text = environ.get(variable, '').strip()
            if text:
                return variable, text
    return row.name, value


def parse_rows(rows, settings, resolve, environ):
    """{name: typed value} of ``rows``, read from ``settings`` and ``environ``.

    A blank ``ot.*`` setting is its parser's to read (an empty list, false,
    no function, or an error where a value is needed); a blank ``ot.otel.*``
    setting is the default, as OpenTelemetry reads a blank variable."""
    values = {}
    for row in rows:
        source, value = setting_or_variable(settings, row, environ)
        if value is None or row.part == 'otel' and not is_set(value):
            values[row.name] = row.default
        else:
            values[row.name] = row.parse(source, value, resolve)
    return values


def part_of(name):
    """The part whose prefix is the longest that ``name`` starts with, or None."""
    parts = [(len(prefix), part) for part, prefix in PARTS.items() if name.startswith(prefix)]
    return max(parts)[1] if parts else None


def warn_unknown(settings, part):
    """Log the settings of ``part`` that no row reads (usually a typo), with
    the known name nearest to it, if any."""
    known = sorted(row.name for row in SETTINGS if row.part == part and not row.internal)
    for name in sorted(settings):
        if part_of(name) == part and name not in known:
            nearest = difflib.get_close_matches(name, known, n=1)
            logger.warning('pyramid_opentracing: unknown setting %s is ignored%s; known '
                           'settings: %s', name,
                           ' (did you mean %s?)' % nearest[0] if nearest else '', ', '.join(known))


def warn_unread_bridge_settings(settings, pyramid_tracer):
    """Log the ``otel`` part's settings when the tracer is not the bridge,
    the only reader of them: usually a forgotten ``ot.base_tracer_func``."""
    names = sorted(name for name in settings if part_of(name) == 'otel')
    if names and not type(pyramid_tracer.tracer).__module__.startswith('pyramid_opentracing.otel'):
        logger.warning('pyramid_opentracing: %s ignored: only the OpenTelemetry bridge reads '
                       'ot.otel.* settings, and the tracer is %r (set ot.base_tracer_func = '
                       'pyramid_opentracing.otel.tracer_from_settings to use it)',
                       ', '.join(names), pyramid_tracer.tracer)


def fingerprint(options, environ):
    """What a PyramidTracer carries of the application it traces: the typed
    options, and the variables of the internal rows (read beside them)."""
    return tuple((row.name, options[row.name]) for row in OPTIONS) + tuple(
        (variable, environ.get(variable)) for row in rows_of('ot', internal=True)
        if row.internal for variable in row.env)


def check_fingerprint(pyramid_tracer, carried):
    """Refuse ``pyramid_tracer`` to an application whose settings give
    ``carried`` when it traces another with other settings, before they
    change it: the settings of the first (exclusions, callbacks, tag rules)
    would silently apply to the second, or the other way round."""
    claimed = pyramid_tracer.fingerprint
    if claimed is None or claimed == carried:
        return
    (name, was), (_, now) = next(pair for pair in zip(claimed, carried) if pair[0] != pair[1])
    raise fail('ot.tracer', pyramid_tracer, 'this PyramidTracer already traces another '
               'application, whose settings it carries (%s = %r, not %r): give each '
               'application its own (they may share the OpenTracing tracer: '
               'ot.base_tracer)' % (name, was, now))


def configure_callbacks(tracer, options):
    """Give ``tracer`` the callbacks the settings name, refusing to replace its own."""
    for attribute, name in (('start_span_cb', 'ot.start_span_cb'),
                            ('operation_name_func', 'ot.operation_name_func')):
        function = options[name]
        if function is None:
            continue
        own = getattr(tracer, attribute)
        if own is not None and own is not function:
            raise fail(name, function,
                       'the PyramidTracer given already has %s = %r' % (attribute, own))
        setattr(tracer, attribute, function)


def configure_tag_policy(tracer, settings, options):
    """Add the tag settings to ``tracer``'s own policy: redacted names add
    up, and any other setting may not contradict what the PyramidTracer
    given was made with."""
    given = {argument: options[name] for name, argument in _TAG_POLICY_OPTIONS.items()
             if settings.get(name) is not None}
    if not given:
        return
    try:
        tracer.policy = merged_policy(tracer.policy, given)
    except ValueError as exc:
        argument = exc.args[0]
        name = next(name for name, known in _TAG_POLICY_OPTIONS.items() if known == argument)
        raise fail(name, settings[name], 'the PyramidTracer given already has %s = %r'
                   % (argument, getattr(tracer.policy, argument))) from None


def request_selection(tracer, options):
    """The RequestSelection the options ask for, or None to trace every request."""
    if not (options['ot.excluded_paths'] or options['ot.excluded_urls']
            or options['ot.excluded_routes'] or options['ot.should_trace'] is not None):
        return None
    return RequestSelection(
        tracer.failures, excluded_paths=options['ot.excluded_paths'],
        excluded_urls=options['ot.excluded_urls'], excluded_routes=options['ot.excluded_routes'],
        should_trace=options['ot.should_trace'])


def span_headers(options):
    """The SpanHeaders the options ask for, or None."""
    captured = None
    if options['ot.captured_request_headers'] or options['ot.captured_response_headers']:
        captured = CapturedHeaders(options['ot.captured_request_headers'],
                                   options['ot.captured_response_headers'],
                                   options['ot.sanitized_headers'])
    return build_span_headers(captured, options['ot.response_headers'],
                              options['ot.server_timing'])


def is_configured(registry):
    """Whether :func:`configure` did its work for ``registry``."""
    return getattr(registry, _CONFIGURED, False)


def configure(registry, resolve, environ=os.environ):
    """Parse and check the ``ot.*`` settings of ``registry``'s application,
    once, and write them back typed, with the PyramidTracer under
    ``ot.tracer`` and ``ot.tracing``; return the settings.

    Run once the whole configuration is known (every route, request method
    and tween), by ``includeme``'s action or by the tween factory registered
    without it; ``resolve`` turns dotted names into objects. The PyramidTracer
    carries the application's fingerprint only once every check passed: an
    application that fails to start claims nothing.
    """
    settings = registry.settings
    if is_configured(registry):
        return settings
    warn_unknown(settings, 'ot')
    options = parse_rows(rows_of('ot', internal=True), settings, resolve, environ)
    tracer = build_tracer(settings, resolve, _TRACER_PARSERS)
    carried = fingerprint(options, environ)
    check_fingerprint(tracer, carried)
    configure_callbacks(tracer, options)
    # another application's (with the same fingerprint) keeps its own
    selection = request_selection(tracer, options)
    if selection is not None and tracer.selection is None:
        tracer.selection = selection
    headers = span_headers(options)
    if headers is not None and tracer.span_headers is None:
        tracer.span_headers = headers
    if tracer.selection is not None and tracer.span_headers is not None:
        tracer.selection.on_excluded = tracer.span_headers.on_excluded
    configure_tag_policy(tracer, settings, options)
    warn_unread_bridge_settings(settings, tracer)
    settings.update({row.name: options[row.name] for row in OPTIONS})
    settings['ot.tracer'] = settings['ot.tracing'] = tracer
    if hasattr(registry, 'queryUtility'):  # not a test double, without routes to check
        check_traced_attributes(registry, settings['ot.traced_attributes'])
        resolve_excluded_routes(registry)
        check_tweens(registry, settings['ot.trace_all'], resolve)
    tracer.fingerprint = carried
    setattr(registry, _CONFIGURED, True)
    return settings
