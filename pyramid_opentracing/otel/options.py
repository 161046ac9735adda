"""The ``ot.otel.*`` settings of the OpenTelemetry bridge, parsed once.

Their rows are the ``otel`` part of :data:`pyramid_opentracing.config.SETTINGS`:
each falls back on the standard ``OTEL_*`` environment variables of its row,
so a deployment configured the OpenTelemetry way keeps working. A value the
bridge cannot use is a :class:`~pyramid.exceptions.ConfigurationError` naming
the setting (or the environment variable) and the value, raised at start-up.
"""
import logging
import os
from urllib.parse import urlsplit

from ..config import DEFAULT_TIMEOUT, PARTS, parse_rows, rows_of, warn_unknown
from ..setting_parsers import as_endpoint, fail, is_set, traces_path_typo

__all__ = ['BridgeOptions', 'DEFAULT_TIMEOUT']

logger = logging.getLogger('pyramid_opentracing')

PREFIX = PARTS['otel']
#: The exporters that have a metrics counterpart.
METRICS_EXPORTERS = ('otlp', 'console', 'memory')
#: The exporter's own endpoint variables, read by the SDK when
#: ``ot.otel.endpoint`` is not set, and checked here as strictly as it.
ENDPOINT_VARIABLES = ('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT')


class BridgeOptions:
    """The bridge's settings as typed values; None means "the SDK's default".

    An ``ot.otel.*`` setting that no row of the ``otel`` part reads is
    logged as a warning, as unknown ``ot.*`` settings are.
    """

    def __init__(self, settings, environ=None):
        environ = os.environ if environ is None else environ
        warn_unknown(settings, 'otel')
        rows = rows_of('otel', internal=True)
        [provider] = [row for row in rows if row.name == 'ot.otel.provider']
        uses_global = parse_rows([provider], settings, None, environ)[provider.name] == 'global'
        for row in rows:
            if uses_global and row.of_provider:
                # the global provider's owner has chosen, and the OTEL_*
                # variables are theirs: a setting of ours about it is a mistake
                if is_set(settings.get(row.name)):
                    raise fail(row.name, settings[row.name], 'the global TracerProvider is '
                               'used (ot.otel.provider = global): whoever set it up chooses this')
                value = row.default
            else:
                value = parse_rows([row], settings, None, environ)[row.name]
            setattr(self, row.name[len(PREFIX):], value)
        if uses_global:
            self.exporter = self.protocol = self.propagators = None
        if self.install_global and uses_global:
            raise fail('ot.otel.install_global', settings['ot.otel.install_global'],
                       'the global provider is used already (ot.otel.provider = global)')
        self.metrics = self._metrics(settings.get('ot.otel.metrics'))
        self._check_endpoints(environ)

    def _check_endpoints(self, environ):
        """Check the OTLP/HTTP endpoint at start-up, wherever it comes from.

        An endpoint variable is refused as ``ot.otel.endpoint`` would be,
        rather than failing at export (gRPC takes ``host:port`` without a
        scheme). A path ending in ``/v1/trace`` is a typo of ``/v1/traces``:
        refused with the fix when the metrics URL would be derived from it,
        else logged with the fix (the collector's answer says the rest).
        """
        if self.exporter != 'otlp' or self.protocol != 'http/protobuf':
            return
        if self.endpoint is not None:
            sources = [('ot.otel.endpoint', self.endpoint)]
        else:
            sources = [(variable, environ[variable]) for variable in ENDPOINT_VARIABLES
                       if is_set(environ.get(variable))]
            for variable, value in sources:
                as_endpoint(variable, value, None)
        for source, value in sources:
            meant = traces_path_typo(value)
            if meant is None:
                continue
            shown = '[REDACTED]' if '@' in value else value
            if self.metrics and source == 'ot.otel.endpoint':
                raise fail(source, shown, "did you mean %s? OTLP takes spans at /v1/traces, "
                           "and the metrics URL cannot be derived from this one (or set "
                           "ot.otel.metrics = false)" % meant)
            logger.warning('pyramid_opentracing: %s = %r ends in /v1/trace: did you mean %s? '
                           'OTLP takes spans at /v1/traces', source, shown, meant)

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
