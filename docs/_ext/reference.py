"""Sphinx directives that write the reference from what the code holds.

``.. ot-settings::`` renders the settings table (``:prefix: ot.otel.`` for the
bridge's settings; without it, every other ``ot.*`` setting) and
``.. ot-secret-rules::`` the rules by which the scrubber judges a name secret.
Both read the package at build time, so the reference cannot drift from the
code: a setting without a description fails the build (``-W``).
"""
import importlib

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from docutils.parsers.rst import directives


class Row:
    """One documented setting: its name, its default as an INI file says it,
    the environment variables read when it is not set, and what it does."""

    def __init__(self, name, default, env, doc):
        self.name, self.default, self.env, self.doc = name, default, tuple(env or ()), doc


def settings_rows():
    """Every public setting, from ``pyramid_opentracing.config.SETTINGS``."""
    try:
        config = importlib.import_module('pyramid_opentracing.config')
    except ImportError:
        config = None
    table = getattr(config, 'SETTINGS', None)
    if table is None:
        return _settings_rows_before_config()
    table = table.values() if isinstance(table, dict) else table
    return [Row(row.name, getattr(row, 'default_text', None) or default_text(row.default),
                getattr(row, 'env', ()), getattr(row, 'doc', ''))
            for row in table if not getattr(row, 'internal', False)]


# -- fallback for the code before pyramid_opentracing.config: delete with it ---------------
def _settings_rows_before_config():  # FALLBACK: delete once config.SETTINGS exists
    """The rows of ``settings.OPTIONS``, ``settings.TRACER_SOURCES`` and
    ``otel.options.OPTIONS``, with the descriptions the rows do not hold yet."""
    from pyramid_opentracing import settings
    from pyramid_opentracing.otel import options
    docs = {
        'ot.trace_all': 'Trace every request with the tween. Off, the tween is not in the '
                        'call chain at all; the ``PyramidTracer`` is still built, for '
                        '``@trace``.',
        'ot.traced_attributes': 'Request attributes to tag (``host``, ``method``, '
                                '``headers``, ``matchdict`` ...), read at the end of the '
                                'request. A name the request does not have is a '
                                '``ConfigurationError``; a value of None is skipped.',
        'ot.start_span_cb': '``callback(span, request)``, run with the server span when it '
                            'starts. A name it gives the span is kept.',
        'ot.operation_name_func': '``func(request) -> str`` names the span once routing is '
                                  'done. Default: the route name, else the HTTP method.',
        'ot.trace_query_string': 'Put the query string, secret values redacted, in '
                                 '``http.url`` (OpenTelemetry: ``url.query``).',
        'ot.redacted_headers': 'Header names to redact, added to the built-in rules.',
        'ot.redacted_query_params': 'Query and form parameter names to redact, added to '
                                    'the built-in rules.',
        'ot.max_tag_length': 'Longest tag value, a whole number of at least 16; longer '
                             'values are cut, saying how much.',
        'ot.excluded_paths': 'Regular expressions searched in the path; a request whose '
                             'path one is found in is not traced. Unset: '
                             '``OTEL_PYTHON_PYRAMID_EXCLUDED_URLS``, else '
                             '``OTEL_PYTHON_EXCLUDED_URLS``, matched against the full URL.',
        'ot.excluded_routes': 'Route names whose requests are not traced.',
        'ot.should_trace': '``func(request) -> bool``; a request it returns false for is '
                           'not traced.',
        'ot.captured_request_headers': 'Regular expressions of request header names '
                                       'recorded on the span.',
        'ot.captured_response_headers': 'The same for response headers.',
        'ot.response_headers': 'Write the server span\'s context into the response '
                               '(``traceresponse`` with the OpenTelemetry bridge).',
        'ot.toolbar.trace_url': 'A link to a trace in your backend, ``{trace_id}`` where '
                                'the id goes, shown by the Tracing panel.',
        'ot.tracer': 'A ``PyramidTracer`` (used as is) or an OpenTracing tracer (wrapped).',
        'ot.tracing': 'The 1.0 name of ``ot.tracer``.',
        'ot.base_tracer': 'An OpenTracing tracer, or the dotted name of one.',
        'ot.base_tracer_func': 'A callable (or dotted name) called once as '
                               '``func(**settings)``, returning a tracer.',
        'ot.tracing_callable': 'Called once as ``func(**settings)``, returning a '
                               '``PyramidTracer``.',
        'ot.tracer_callable': 'Called once as ``func(**ot.tracer_parameters)``, returning a '
                              'tracer.',
        'ot.tracer_parameters': 'The parameters of ``ot.tracer_callable``: a dict, JSON '
                                'text, or ``key = value`` lines.',
        'ot.otel.service_name': 'The ``service.name`` resource attribute.',
        'ot.otel.resource_attributes': '``key=value`` items, separated by commas or new '
                                       'lines (else ``OTEL_RESOURCE_ATTRIBUTES``).',
        'ot.otel.exporter': '``otlp``, ``zipkin`` (the ``zipkin`` extra), ``console``, '
                            '``memory`` (for tests) or ``none``.',
        'ot.otel.protocol': '``http/protobuf`` or ``grpc`` (needs '
                            '``opentelemetry-exporter-otlp-proto-grpc``).',
        'ot.otel.endpoint': 'The collector\'s base URL (``/v1/traces`` and ``/v1/metrics`` '
                            'are added) or its full traces URL; with ``zipkin``, Zipkin\'s '
                            'base or spans URL (else ``OTEL_EXPORTER_OTLP_ENDPOINT``, '
                            '``OTEL_EXPORTER_ZIPKIN_ENDPOINT``).',
        'ot.otel.headers': '``key=value`` items sent with each export, never shown in an '
                           'error (else ``OTEL_EXPORTER_OTLP_HEADERS``).',
        'ot.otel.sampler_ratio': '0 to 1: parent-based ratio sampling (else '
                                 '``OTEL_TRACES_SAMPLER`` and ``OTEL_TRACES_SAMPLER_ARG``).',
        'ot.otel.propagators': 'Any of ``tracecontext``, ``baggage``, ``b3``, ``b3multi``, '
                               '``jaeger``, or ``none``.',
        'ot.otel.timeout': 'Seconds each export, and the flush when the process ends, may '
                           'take.',
        'ot.otel.provider': '``sdk``: the bridge builds its provider; ``global``: trace with '
                            'the one the application or ``opentelemetry-instrument`` set.',
        'ot.otel.install_global': 'Make the bridge\'s provider, propagator and meter '
                                  'provider OpenTelemetry\'s global ones.',
        'ot.otel.metrics': 'The HTTP server metrics. Unset: on with ``otlp``, ``console``, '
                           '``memory`` and the global provider; off with ``zipkin`` and '
                           '``none``. Set it to false for a backend that takes no metrics.',
    }
    rows = [(name, default, variables) for name, variables, _, default in settings.OPTIONS]
    rows += [(name, None, ()) for name in settings.TRACER_SOURCES + ('ot.tracer_parameters',)]
    rows += [(name, default, variables) for name, variables, _, default in options.OPTIONS]
    return [Row(name, default_text(default), variables, docs.get(name, ''))
            for name, default, variables in rows]
# -- end of the fallback ------------------------------------------------------------------


def default_text(value):
    """A setting's typed default as an INI file would say it ('' for none)."""
    if value is None or value == () or value == {} or value == '' or value == []:
        return ''
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (tuple, list, frozenset, set)):
        return ' '.join(str(item) for item in value)
    return str(value)


def text_nodes(text):
    """Plain text, but for its ````literal```` parts: descriptions are not
    parsed as reStructuredText, so that a ``_`` or ``*`` in one is just that."""
    parts = ' '.join((text or '').split()).split('``')
    return [nodes.literal(part, part) if odd else nodes.Text(part)
            for odd, part in ((index % 2, part) for index, part in enumerate(parts)) if part]


def literal_list(names):
    paragraph = nodes.paragraph()
    for index, name in enumerate(names):
        if index:
            paragraph += nodes.Text(', ')
        paragraph += nodes.literal(name, name)
    return paragraph


class SettingsDirective(SphinxDirective):
    """The table of settings: ``:prefix:`` selects the names starting with it,
    ``:exclude:`` the names that do not."""
    option_spec = {'prefix': directives.unchanged, 'exclude': directives.unchanged}

    def run(self):
        prefix = self.options.get('prefix', 'ot.')
        exclude = self.options.get('exclude')
        rows = [row for row in settings_rows() if row.name.startswith(prefix)
                and not (exclude and row.name.startswith(exclude))]
        if not rows:
            raise self.error('no setting starts with %r' % prefix)
        table = nodes.table(classes=['ot-settings'])
        group = nodes.tgroup(cols=4)
        table += group
        for width in (28, 14, 22, 36):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        group += head
        head += self._row([nodes.paragraph(text=title) for title in
                           ('Setting', 'Default', 'Environment variable', 'Meaning')])
        body = nodes.tbody()
        group += body
        for row in rows:
            if not (row.doc or '').strip():
                self.state.document.reporter.warning(
                    'setting %s has no description' % row.name, line=self.lineno)
            default = row.default or ''
            body += self._row([
                literal_list([row.name]),
                literal_list([default]) if default else nodes.paragraph(text='(none)'),
                literal_list(row.env) if row.env else nodes.paragraph(),
                nodes.paragraph('', '', *text_nodes(row.doc)),
            ])
        return [table]

    @staticmethod
    def _row(cells):
        row = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            entry += cell
            row += entry
        return row


def secret_rules():
    """``[(title, explanation, [items])]``, each text reStructuredText: the
    ``describe_rules()`` of the scrubber (or of the redaction module)."""
    for module in ('pyramid_opentracing.scrub', 'pyramid_opentracing.redaction'):
        describe = getattr(importlib.import_module(module), 'describe_rules', None)
        if describe is not None:
            return describe()
    return _secret_rules_before_describe()


# -- fallback for the scrubber before describe_rules(): delete with it ---------------------
def _secret_rules_before_describe():  # FALLBACK: delete once scrub.describe_rules exists
    """The rules of today's tables, explained."""
    from pyramid_opentracing import scrub

    def listed(names):
        return ['``%s``' % name for name in names]
    run_together = sorted(prefix + ending for ending, prefixes in scrub.RUN_TOGETHER.items()
                          for prefix in prefixes)
    return [
        ('A secret part', 'A name holding one of these parts (split on ``-``, ``_``, ``.``, '
         'blanks and case changes) is secret: ``X-Api-Key``, ``user.pwd``, ``mfa_code``.',
         listed(sorted(scrub.SECRET_PARTS))),
        ('A secret stem', 'A name holding one of these anywhere, separators removed, is '
         'secret: ``access_token``, ``X-Hub-Signature-256``, ``SAMLResponse``, ``PHPSESSID``.',
         listed(scrub.SECRET_STEMS)),
        ('A secret code', 'A ``code`` after one of these, separated or not, is secret '
         '(``invite_code``, ``securityCode``, ``pincode``), while ``zip_code``, '
         '``country_code``, ``status_code`` stay readable.', listed(scrub.CODE_QUALIFIERS)),
        ('Run together', 'A part run together in lower case from a known prefix and '
         '``key`` or ``pass`` is secret, while ``monkey`` and ``compass`` are words.',
         listed(run_together)),
        ('A secret name', 'These whole names are secret: OAuth\'s authorization code, the '
         'user a server authenticated, the token response of WS-Federation.',
         listed(sorted(scrub.SECRET_NAMES))),
    ]
# -- end of the fallback ------------------------------------------------------------------


class SecretRulesDirective(SphinxDirective):
    """The scrubber's rules for secret names, one item each."""

    def run(self):
        lines = []
        for title, explanation, items in secret_rules():
            lines += ['* **%s.** %s' % (title, ' '.join(explanation.split())), '']
            if items and any(len(item.split()) > 1 for item in items):
                lines += ['  - %s' % ' '.join(item.split()) for item in items] + ['']
            elif items:
                lines += ['  %s' % ', '.join(items), '']
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source='<ot-secret-rules>'),
                                self.content_offset, container)
        return container.children


def setup(app):
    app.add_directive('ot-settings', SettingsDirective)
    app.add_directive('ot-secret-rules', SecretRulesDirective)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
