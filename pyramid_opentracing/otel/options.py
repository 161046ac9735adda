"""The ``ot.otel.*`` settings of the OpenTelemetry bridge, parsed once.

Each setting falls back on the standard ``OTEL_*`` environment variable, so a
deployment configured the OpenTelemetry way keeps working. A value the bridge
cannot use is a :class:`~pyramid.exceptions.ConfigurationError` naming the
setting (or the environment variable) and the value, raised at start-up.
"""
import os
from urllib.parse import urlsplit

from pyramid.exceptions import ConfigurationError

#: Every ``ot.otel.*`` setting the bridge reads.
NAMES = (
    'ot.otel.service_name', 'ot.otel.resource_attributes', 'ot.otel.exporter',
    'ot.otel.protocol', 'ot.otel.endpoint', 'ot.otel.headers', 'ot.otel.sampler_ratio',
    'ot.otel.propagators', 'ot.otel.provider', 'ot.otel.install_global', 'ot.otel.metrics',
)

EXPORTERS = ('otlp', 'zipkin', 'console', 'memory', 'none')
#: ``sdk``: the bridge builds its TracerProvider; ``global``: it uses the
#: one the application or ``opentelemetry-instrument`` set globally.
PROVIDERS = ('sdk', 'global')
#: What a TracerProvider the bridge builds is made of: with the global one,
#: its owner decides these.
PROVIDER_SETTINGS = (
    'ot.otel.service_name', 'ot.otel.resource_attributes', 'ot.otel.exporter',
    'ot.otel.protocol', 'ot.otel.endpoint', 'ot.otel.headers', 'ot.otel.sampler_ratio',
    'ot.otel.propagators',
)
#: The exporters that have a metrics counterpart.
METRICS_EXPORTERS = ('otlp', 'console', 'memory')
PROTOCOLS = ('http/protobuf', 'grpc')
PROPAGATORS = ('tracecontext', 'baggage', 'b3', 'b3multi', 'jaeger', 'none')

DEFAULT_PROPAGATORS = ('tracecontext', 'baggage')


def fail(name, value, problem):
    """A ConfigurationError naming setting ``name`` and its ``value``."""
    return ConfigurationError('%s = %r: %s' % (name, value, problem))


def lookup(settings, name, environ, *variables):
    """(where it came from, raw value) of setting ``name``, else of the first
    environment variable set among ``variables``; (name, None) if none is."""
    value = settings.get(name)
    if value not in (None, ''):
        return name, value
    for variable in variables:
        value = environ.get(variable, '').strip()
        if value:
            return variable, value
    return name, None


def as_choice(source, value, choices):
    word = str(value).strip().lower()
    if word not in choices:
        raise fail(source, value, 'expected one of %s' % ', '.join(choices))
    return word


def as_names(source, value, choices):
    """A tuple of names from a list or text separated by commas or spaces."""
    words = value.replace(',', ' ').split() if isinstance(value, str) else list(value)
    names = tuple(str(word).strip().lower() for word in words)
    for name in names:
        if name not in choices:
            raise fail(source, value, '%r is not one of %s' % (name, ', '.join(choices)))
    if 'none' in names:
        if len(names) > 1:
            raise fail(source, value, '"none" cannot be combined with other propagators')
        return ()
    return names


def as_flag(source, value):
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in ('true', 'yes', 'on', '1'):
        return True
    if word in ('false', 'no', 'off', '0'):
        return False
    raise fail(source, value, 'expected true or false')


def old_http_attributes_wanted(environ):
    """Whether ``OTEL_SEMCONV_STABILITY_OPT_IN`` asks for the old HTTP
    attributes beside the stable ones (``http/dup``); ``http`` or nothing
    means the stable ones only. Other categories in the list are not ours."""
    words = environ.get('OTEL_SEMCONV_STABILITY_OPT_IN', '').replace(',', ' ').split()
    return 'http/dup' in (word.strip().lower() for word in words)


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
    text = str(value).strip()
    parts = urlsplit(text)
    if parts.scheme not in ('http', 'https') or not parts.netloc:
        raise fail(source, '[REDACTED]' if '@' in text else value,
                   'expected an http:// or https:// URL')
    return text


class BridgeOptions:
    """The bridge's settings as typed values; None means "the SDK's default"."""

    def __init__(self, settings, environ=None):
        environ = os.environ if environ is None else environ
        value = settings.get('ot.otel.provider')
        self.provider = 'sdk' if value in (None, '') else as_choice('ot.otel.provider', value, PROVIDERS)
        if self.provider == 'global':
            self._use_global_provider(settings)
        else:
            self._build_provider(settings, environ)
        value = settings.get('ot.otel.install_global')
        self.install_global = False if value in (None, '') else as_flag('ot.otel.install_global', value)
        if self.install_global and self.provider == 'global':
            raise fail('ot.otel.install_global', value,
                       'the global provider is used already (ot.otel.provider = global)')
        self.metrics = self._metrics(settings.get('ot.otel.metrics'))
        self.old_http_attributes = old_http_attributes_wanted(environ)

    def _use_global_provider(self, settings):
        """The global provider's owner has chosen (and the ``OTEL_*``
        variables are theirs): any setting of ours about it is a mistake."""
        for name in PROVIDER_SETTINGS:
            if settings.get(name) not in (None, ''):
                raise fail(name, settings[name], 'the global TracerProvider is used '
                           '(ot.otel.provider = global): whoever set it up chooses this')
        self.service_name = self.endpoint = self.headers = self.sampler_ratio = None
        self.resource_attributes = {}
        self.exporter = self.protocol = None
        self.propagators = None

    def _build_provider(self, settings, environ):
        def get(name, *variables):
            return lookup(settings, name, environ, *variables)

        source, value = get('ot.otel.service_name', 'OTEL_SERVICE_NAME')
        self.service_name = None if value is None else str(value).strip()
        source, value = get('ot.otel.resource_attributes')  # the SDK reads OTEL_RESOURCE_ATTRIBUTES
        self.resource_attributes = {} if value is None else as_pairs(source, value)

        source, value = get('ot.otel.exporter', 'OTEL_TRACES_EXPORTER')
        self.exporter = 'otlp' if value is None else as_choice(source, value, EXPORTERS)
        source, value = get('ot.otel.protocol', 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
                            'OTEL_EXPORTER_OTLP_PROTOCOL')
        self.protocol = 'http/protobuf' if value is None else as_choice(source, value, PROTOCOLS)
        # The exporters read the OTEL_EXPORTER_OTLP_* endpoint and headers
        # variables themselves; only the settings are passed on.
        value = settings.get('ot.otel.endpoint')
        self.endpoint = None if value in (None, '') else as_endpoint('ot.otel.endpoint', value)
        value = settings.get('ot.otel.headers')
        self.headers = None if value in (None, '') else as_pairs('ot.otel.headers', value, secret=True)

        value = settings.get('ot.otel.sampler_ratio')  # else the SDK reads OTEL_TRACES_SAMPLER
        self.sampler_ratio = None if value in (None, '') else as_ratio('ot.otel.sampler_ratio', value)

        source, value = get('ot.otel.propagators', 'OTEL_PROPAGATORS')
        self.propagators = (DEFAULT_PROPAGATORS if value is None
                            else as_names(source, value, PROPAGATORS))

    def _metrics(self, value):
        """Metrics are on by default wherever they have somewhere to go:
        the global MeterProvider, or an exporter that takes metrics."""
        if value in (None, ''):
            return self.provider == 'global' or self.exporter in METRICS_EXPORTERS
        wanted = as_flag('ot.otel.metrics', value)
        if wanted and self.provider == 'sdk' and self.exporter not in METRICS_EXPORTERS:
            raise fail('ot.otel.metrics', value,
                       'ot.otel.exporter = %s carries no metrics' % self.exporter)
        return wanted

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
