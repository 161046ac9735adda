"""The OpenTelemetry bridge: trace with OpenTelemetry, keep the OpenTracing API.

Set ``ot.base_tracer_func = pyramid_opentracing.otel.tracer_from_settings``
and the ``ot.otel.*`` settings (or the standard ``OTEL_*`` environment
variables): spans are recorded by the OpenTelemetry SDK and exported over
OTLP to Jaeger, Tempo, Zipkin or any collector. Needs the ``otel`` extra.
"""
try:
    from .bridge import BridgeTracer
    from .provider import make_bridge
except ImportError as exc:  # the otel extra is not installed
    raise ImportError(
        'pyramid_opentracing.otel needs the otel extra (%s): pip install '
        '"pyramid_opentracing[otel]" (from a clone: pip install -e ".[otel]")' % exc,
        name=exc.name) from exc
from typing import Any

from .options import BridgeOptions

__all__ = ['BridgeTracer', 'tracer_from_settings']


def tracer_from_settings(**settings: Any) -> BridgeTracer:
    """The OpenTracing tracer the ``ot.otel.*`` settings describe.

    Builds an SDK TracerProvider, or takes the global one with
    ``ot.otel.provider = global``, and returns a :class:`BridgeTracer` on it.
    Its process-wide effects (a flush at exit and on SIGTERM, filters on
    OpenTelemetry's loggers, the provider's sampler and span processors, the
    globals ``ot.otel.install_global`` sets) are listed in the docs'
    "Process-wide effects".
    """
    return make_bridge(BridgeOptions(settings), settings)
