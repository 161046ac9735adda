"""The ``ot.otel.*`` settings of the OpenTelemetry bridge, parsed once.

Each setting falls back on the standard ``OTEL_*`` environment variable, so a
deployment configured the OpenTelemetry way keeps working. A value the bridge
cannot use is a :class:`~pyramid.exceptions.ConfigurationError` naming the
setting (or the environment variable) and the value, raised at start-up.
"""
import os
from urllib.parse import urlsplit

from pyramid.exceptions import ConfigurationError

EXPORTERS = ('otlp', 'console', 'memory', 'none')
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

    def traces_endpoint(self):
        """The OTLP/HTTP traces URL for ``ot.otel.endpoint``, which may be the
        collector's base URL (``http://localhost:4318``) or the full one."""
        endpoint = self.endpoint
        if endpoint is None or self.protocol == 'grpc':
            return endpoint
        if urlsplit(endpoint).path.rstrip('/') in ('', '/'):
            return endpoint.rstrip('/') + '/v1/traces'
        return endpoint
