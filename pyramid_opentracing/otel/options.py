"""The ``ot.otel.*`` settings of the OpenTelemetry bridge, parsed once.

Each setting falls back on the standard ``OTEL_*`` environment variable, so a
deployment configured the OpenTelemetry way keeps working. A value the bridge
cannot use is a :class:`~pyramid.exceptions.ConfigurationError` naming the
setting (or the environment variable) and the value, raised at start-up.
"""
import math
import os
from urllib.parse import urlsplit

from ..urls import is_host
from ..settings import as_bool, as_list, fail, is_set, setting_or_variable, warn_unknown

EXPORTERS = ('otlp', 'zipkin', 'console', 'memory', 'none')
#: ``sdk``: the bridge builds its TracerProvider; ``global``: it uses the
#: one the application or ``opentelemetry-instrument`` set globally.
PROVIDERS = ('sdk', 'global')
#: What a TracerProvider the bridge builds is made of: with the global one,
#: its owner decides these.
PROVIDER_SETTINGS = frozenset({
    'ot.otel.service_name', 'ot.otel.resource_attributes', 'ot.otel.exporter',
    'ot.otel.protocol', 'ot.otel.endpoint', 'ot.otel.headers', 'ot.otel.sampler_ratio',
    'ot.otel.propagators',
})
#: The exporters that have a metrics counterpart.
METRICS_EXPORTERS = ('otlp', 'console', 'memory')
PROTOCOLS = ('http/protobuf', 'grpc')
PROPAGATORS = ('tracecontext', 'baggage', 'b3', 'b3multi', 'jaeger', 'none')

DEFAULT_PROPAGATORS = ('tracecontext', 'baggage')

#: Seconds one export, and the flush when the process ends, may take. Short,
#: so that a dead collector cannot hold up Ctrl-C or SIGTERM for long.
DEFAULT_TIMEOUT = 2.0

def as_choice(source, value, choices):
    word = str(value).strip().lower()
    if word not in choices:
        raise fail(source, value, 'expected one of %s' % ', '.join(choices))
    return word


def as_choices(source, value, choices):
    """A tuple of ``choices``, from a list setting (see :func:`~..settings.as_list`)."""
    names = tuple(str(word).strip().lower() for word in as_list(source, value))
    for name in names:
        if name not in choices:
            raise fail(source, value, '%r is not one of %s' % (name, ', '.join(choices)))
    if 'none' in names:
        if len(names) > 1:
            raise fail(source, value, '"none" cannot be combined with other propagators')
        return ()
    return names


def as_pairs(source, value, secret=False):
    """A dict from ``key=value`` items separated by commas or new lines.

    ``secret`` values (exporter headers carry API keys) are left out of the
    error message: only the item's key is shown.
    """
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    pairs = {}
    items = [item.strip() for item in str(value).replace('\n', ',').split(',')]
    for number, item in enumerate(filter(None, items), 1):
        key, sep, text = item.partition('=')
        if not sep or not key.strip():
            if secret:
                raise fail(source, '[REDACTED]', 'item %d is not key=value' % number)
            raise fail(source, value, 'expected key=value items separated by commas, '
                                      'got %r' % item)
        pairs[key.strip()] = text.strip()
    return pairs


def as_ratio(source, value):
    try:
        ratio = float(value)
    except (TypeError, ValueError):
        raise fail(source, value, 'expected a number between 0 and 1') from None
    if not 0.0 <= ratio <= 1.0:
        raise fail(source, value, 'expected a number between 0 and 1')
    return ratio


def as_endpoint(source, value):
    """An http(s) URL whose host and port a socket can use."""
    text = str(value).strip()
    shown = '[REDACTED]' if '@' in text else value  # user info may be a secret
    try:
        parts = urlsplit(text)
    except ValueError as exc:  # an unclosed IPv6 bracket
        raise fail(source, shown, 'expected an http:// or https:// URL (%s)' % exc) from None
    if parts.scheme not in ('http', 'https') or not parts.netloc:
        raise fail(source, shown, 'expected an http:// or https:// URL')
    host = parts.netloc.rpartition('@')[2]
    if host.endswith(']') or ':' not in host:
        name = host
    else:
        name = host.rpartition(':')[0]
    if not is_host(name):
        raise fail(source, shown, '%r is not a host name or address' % (name,))
    try:
        parts.port  # pylint: disable=pointless-statement
    except ValueError:
        raise fail(source, shown, 'the port must be a number from 0 to 65535') from None
    return text


def as_timeout(source, value):
    """Seconds, as OpenTelemetry Python reads OTEL_EXPORTER_OTLP_TIMEOUT."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise fail(source, value, 'expected a number of seconds') from None
    if not 0 < seconds < math.inf:
        raise fail(source, value, 'expected a positive number of seconds')
    return seconds


def old_http_attributes_wanted(environ):
    """Whether ``OTEL_SEMCONV_STABILITY_OPT_IN`` asks for the old HTTP
    attributes beside the stable ones (``http/dup``); ``http`` or nothing
    means the stable ones only. Other categories in the list are not ours."""
    variable = 'OTEL_SEMCONV_STABILITY_OPT_IN'
    return 'http/dup' in (word.lower() for word in as_list(variable, environ.get(variable, '')))


def as_text(source, value):
    return str(value).strip()


def choice(choices):
    return lambda source, value: as_choice(source, value, choices)


def choices_of(choices):
    return lambda source, value: as_choices(source, value, choices)


def secret_pairs(source, value):
    return as_pairs(source, value, secret=True)


#: Every ``ot.otel.*`` setting: (setting, environment variables read when it
#: is not set, parser, default). The attribute of BridgeOptions is the name
#: after ``ot.otel.``. Variables the SDK reads itself are not listed: the SDK
#: applies them when the setting leaves the value to it (None).
OPTIONS = (
    ('ot.otel.service_name', ('OTEL_SERVICE_NAME',), as_text, None),
    ('ot.otel.resource_attributes', (), as_pairs, {}),
    ('ot.otel.exporter', ('OTEL_TRACES_EXPORTER',), choice(EXPORTERS), 'otlp'),
    ('ot.otel.protocol', ('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'),
     choice(PROTOCOLS), 'http/protobuf'),
    ('ot.otel.endpoint', (), as_endpoint, None),
    ('ot.otel.headers', (), secret_pairs, None),
    ('ot.otel.sampler_ratio', (), as_ratio, None),
    ('ot.otel.propagators', ('OTEL_PROPAGATORS',), choices_of(PROPAGATORS), DEFAULT_PROPAGATORS),
    ('ot.otel.timeout', ('OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', 'OTEL_EXPORTER_OTLP_TIMEOUT'),
     as_timeout, DEFAULT_TIMEOUT),
    ('ot.otel.provider', (), choice(PROVIDERS), 'sdk'),
    ('ot.otel.install_global', (), as_bool, False),
    ('ot.otel.metrics', (), as_bool, None),  # None: on wherever metrics can go
)

PREFIX = 'ot.otel.'
KNOWN = frozenset(option[0] for option in OPTIONS)


class BridgeOptions:
    """The bridge's settings as typed values; None means "the SDK's default".

    An ``ot.otel.*`` setting that no row of OPTIONS reads is logged as a
    warning, as unknown ``ot.*`` settings are.
    """

    def __init__(self, settings, environ=None):
        environ = os.environ if environ is None else environ
        warn_unknown(settings, PREFIX, KNOWN, others=())
        uses_global = is_set(settings.get('ot.otel.provider')) and as_choice(
            'ot.otel.provider', settings['ot.otel.provider'], PROVIDERS) == 'global'
        for name, variables, parser, default in OPTIONS:
            if uses_global and name in PROVIDER_SETTINGS:
                # the global provider's owner has chosen, and the OTEL_*
                # variables are theirs: a setting of ours about it is a mistake
                if is_set(settings.get(name)):
                    raise fail(name, settings[name], 'the global TracerProvider is used '
                               '(ot.otel.provider = global): whoever set it up chooses this')
                value = None
            else:
                source, value = setting_or_variable(settings, name, variables, environ)
            setattr(self, name[len(PREFIX):],
                    parser(source, value) if is_set(value) else default)  # blank: the default
        if uses_global:
            self.exporter = self.protocol = self.propagators = None
        if self.install_global and uses_global:
            raise fail('ot.otel.install_global', settings['ot.otel.install_global'],
                       'the global provider is used already (ot.otel.provider = global)')
        self.metrics = self._metrics(settings.get('ot.otel.metrics'))
        self.old_http_attributes = old_http_attributes_wanted(environ)

    def _metrics(self, value):
        """Metrics are on by default wherever they have somewhere to go:
        the global MeterProvider, or an exporter that takes metrics."""
        if self.metrics is None:
            return self.provider == 'global' or self.exporter in METRICS_EXPORTERS
        if self.metrics and self.provider == 'sdk' and self.exporter not in METRICS_EXPORTERS:
            raise fail('ot.otel.metrics', value,
                       'ot.otel.exporter = %s carries no metrics' % self.exporter)
        return self.metrics

    def traces_endpoint(self):
        """The OTLP/HTTP traces URL for ``ot.otel.endpoint``, which may be the
        collector's base URL (``http://localhost:4318``) or the full one."""
        return self._endpoint_with('/v1/traces')

    def metrics_endpoint(self):
        """The OTLP/HTTP metrics URL beside :meth:`traces_endpoint`: the
        base URL plus ``/v1/metrics``, or the traces URL with its
        ``/v1/traces`` replaced. Any other path says nothing of where
        metrics go: a start-up error, rather than metrics sent elsewhere."""
        endpoint = self.endpoint
        if endpoint is None or self.protocol == 'grpc':
            return endpoint
        path = urlsplit(endpoint).path.rstrip('/')
        if path.endswith('/v1/traces'):
            return endpoint.rstrip('/')[:-len('/v1/traces')] + '/v1/metrics'
        if path in ('', '/'):
            return endpoint.rstrip('/') + '/v1/metrics'
        raise fail('ot.otel.endpoint', endpoint, 'the metrics URL cannot be derived from it: give '
                   "the collector's base URL, or set ot.otel.metrics = false")

    def zipkin_endpoint(self):
        """``ot.otel.endpoint`` as a Zipkin v2 spans URL (a base URL gets
        ``/api/v2/spans``); None lets the exporter read
        ``OTEL_EXPORTER_ZIPKIN_ENDPOINT`` or use its default."""
        return self._endpoint_with('/api/v2/spans')

    def _endpoint_with(self, path_if_base):
        endpoint = self.endpoint
        if endpoint is None or self.protocol == 'grpc':
            return endpoint
        if urlsplit(endpoint).path.rstrip('/') in ('', '/'):
            return endpoint.rstrip('/') + path_if_base
        return endpoint
