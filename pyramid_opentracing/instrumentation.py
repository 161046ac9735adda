"""Zero-code tracing: ``opentelemetry-instrument pserve production.ini``.

:class:`PyramidOpenTracingInstrumentor` is found by ``opentelemetry-instrument``
under the entry point name ``pyramid_opentracing`` (OpenTelemetry's own Pyramid
instrumentation is ``pyramid``: ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS`` picks
either). Once instrumented, every Pyramid application configured afterwards
includes this package, traces every request, and records with the OpenTelemetry
bridge on the global providers that ``opentelemetry-instrument`` built from the
``OTEL_*`` variables: no second provider, and the ``ot.*`` settings of the INI
file still apply (only what they leave unset is filled in).

The hook is ``Configurator.setup_registry``, which Pyramid calls once for each
new registry, after the Configurator's package is known. Wrapping ``__init__``
instead would add a frame under the frame counting that finds the caller's
package (``config.scan()``, relative asset specs) and would run again for the
Configurator of every ``config.include``.

With OpenTelemetry's Pyramid instrumentation installed too, ours turns it off
(one INFO line says so and how to keep it instead): each request gets one SERVER
span, ours, and one set of HTTP server metrics, whichever was loaded first.

The global providers are flushed at exit and on SIGTERM within ``ot.otel.timeout``,
as a provider the bridge builds is, and the spans still running are ended first:
the SDK flushes them at a normal exit only, and SIGTERM kills a process (pserve
on waitress) at once. Under gunicorn, whose worker handles SIGTERM itself and
exits normally, the flush at exit does it; gunicorn needs no ``post_fork`` hook,
with or without ``--preload``: the SDK restarts its export threads in each
worker gunicorn forks.
"""
import logging
import sys

from opentelemetry import metrics, trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor
from pyramid.config import Configurator
from pyramid.interfaces import ITweens
from wrapt import FunctionWrapper

__all__ = ['PyramidOpenTracingInstrumentor', 'turn_off_opentelemetry_pyramid']

logger = logging.getLogger('pyramid_opentracing')

#: The Pyramid versions this package supports, as OpenTelemetry's
#: dependency check reads them (and the ``instruments`` extra declares them).
_instruments = ('pyramid >= 1.10, < 3',)

#: The settings filled in where the application's leave them unset; the
#: tracer ones only when no tracer source is set.
TRACE_ALL = {'ot.trace_all': 'true'}
GLOBAL_BRIDGE = {
    'ot.base_tracer_func': 'pyramid_opentracing.otel.tracer_from_settings',
    'ot.otel.provider': 'global',
}

#: Our tween, as the package's includeme registers it.
TWEEN_NAME = 'pyramid_opentracing.opentracing_tween_factory'

#: OpenTelemetry's Pyramid instrumentation, imported only if it already is.
OTEL_PYRAMID_MODULE = 'opentelemetry.instrumentation.pyramid'

_said = set()  # the keys of the lines logged already: each is logged once
_flushed_providers = []  # the global providers registered with the exit flush


def _say_once(key, level, message, *args, **kwargs):
    if key not in _said:
        _said.add(key)
        logger.log(level, message, *args, **kwargs)


class PyramidOpenTracingInstrumentor(BaseInstrumentor):
    """Makes every Pyramid application configured afterwards traced by this
    package on OpenTelemetry's global providers.

    ``instrument()`` never raises: a failure is logged once and leaves
    applications untraced by us, since an exception there would stop every
    instrumentor ``opentelemetry-instrument`` loads after this one.
    ``uninstrument()`` leaves the Configurators made afterwards alone.
    """

    def instrumentation_dependencies(self):
        return _instruments

    def _instrument(self, **kwargs):
        try:
            import pyramid_opentracing.otel  # noqa: F401 (the otel extra is installed)
            _wrap_setup_registry()
            _turn_off_theirs()
        except Exception:
            _unwrap_setup_registry()
            _say_once('instrument', logging.WARNING, 'pyramid_opentracing: not instrumenting '
                      'Pyramid: applications are not traced by pyramid_opentracing',
                      exc_info=True)

    def _uninstrument(self, **kwargs):
        _unwrap_setup_registry()


def turn_off_opentelemetry_pyramid():
    """Uninstrument OpenTelemetry's Pyramid instrumentation if ours is on.

    The ``opentelemetry_post_instrument`` entry point: it runs after every
    instrumentor is loaded, so that the order they were loaded in does not
    matter. Never raises.
    """
    try:
        if _is_wrapped():
            _turn_off_theirs()
    except Exception:
        _say_once('turn off', logging.WARNING, "pyramid_opentracing: could not turn "
                  "OpenTelemetry's Pyramid instrumentation off", exc_info=True)


def _turn_off_theirs():
    module = sys.modules.get(OTEL_PYRAMID_MODULE)
    instrumentor = getattr(module, 'PyramidInstrumentor', None)
    if instrumentor is None or not instrumentor().is_instrumented_by_opentelemetry:
        return
    instrumentor().uninstrument()
    _said.discard(TURNED_OFF)  # said at the next application, in its log
    _to_say.append(TURNED_OFF)


#: Said at the first application configured after it happened: instrumenting
#: runs before pserve or gunicorn configure logging, which would drop it.
TURNED_OFF = ("pyramid_opentracing: OpenTelemetry's Pyramid instrumentation is turned off: "
              "pyramid_opentracing traces every request instead (to keep OpenTelemetry's, set "
              "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=pyramid_opentracing)")
_to_say = []


def _say_what_happened():
    while _to_say:
        message = _to_say.pop(0)
        _say_once(message, logging.INFO, message)


class _SetupRegistryWrapper(FunctionWrapper):
    """Our wrapper of ``Configurator.setup_registry``, known by its class
    wherever it is in a chain of wrappers."""


def _wrap_setup_registry():
    if _our_layer() is None:
        Configurator.setup_registry = _SetupRegistryWrapper(
            vars(Configurator)['setup_registry'], _traced_setup_registry)


def _is_wrapped():
    return _our_layer() is not None


def _our_layer():
    """(what holds it, our wrapper) in the chain of wrappers of
    ``Configurator.setup_registry``, or None."""
    owner, current = Configurator, vars(Configurator).get('setup_registry')
    while hasattr(current, '__wrapped__'):
        if isinstance(current, _SetupRegistryWrapper):
            return owner, current
        owner, current = current, current.__wrapped__
    return None


def _unwrap_setup_registry():
    """Remove our wrapper, also from under another one wrapped on top."""
    found = _our_layer()
    if found is None:
        return
    owner, ours = found
    if owner is Configurator:
        Configurator.setup_registry = ours.__wrapped__
    else:
        owner.__wrapped__ = ours.__wrapped__


def _traced_setup_registry(wrapped, instance, args, kwargs):
    """Pyramid's ``setup_registry``, with our defaults under the settings
    given, then this package included. What fails here is ours: logged
    once, and the application is configured as if we were not there."""
    try:
        _say_what_happened()
        provider = _global_provider()
        if provider is not None:
            args, kwargs = _with_defaults(args, kwargs)
    except Exception:
        provider = None
        _say_once('defaults', logging.WARNING, 'pyramid_opentracing: this application is not '
                  'traced by pyramid_opentracing', exc_info=True)
    result = wrapped(*args, **kwargs)
    if provider is not None:
        try:
            _include(instance, provider)
        except Exception:
            _say_once('include', logging.WARNING, 'pyramid_opentracing: could not include '
                      'pyramid_opentracing: this application is not traced by it',
                      exc_info=True)
    return result


def _global_provider():
    """OpenTelemetry's global TracerProvider if one of the SDK is set, else
    None (said once): ``OTEL_SDK_DISABLED``, or instrumenting before the
    application sets one, leaves nothing to record into."""
    provider = trace.get_tracer_provider()
    if hasattr(provider, 'add_span_processor'):
        return provider
    _say_once('no provider', logging.INFO, 'pyramid_opentracing: applications are not traced '
              'by pyramid_opentracing: no TracerProvider of the OpenTelemetry SDK is set '
              'globally (%s)', type(provider).__name__)
    return None


def _with_defaults(args, kwargs):
    """``setup_registry``'s arguments, with a copy of its settings where what
    they leave unset traces every request with the bridge on the global
    provider."""
    from .setting_parsers import is_set
    from .tracer_sources import TRACER_SOURCES
    settings = dict((args[0] if args else kwargs.get('settings')) or {})
    defaults = dict(TRACE_ALL)
    if not any(is_set(settings.get(name)) for name in TRACER_SOURCES):
        defaults.update(GLOBAL_BRIDGE)
    for name, value in defaults.items():
        settings.setdefault(name, value)
    if args:  # setup_registry(settings, ...)
        return (settings,) + tuple(args[1:]), kwargs
    return args, dict(kwargs, settings=settings)


def _include(config, provider):
    """Include this package in ``config``; at commit, put our tween first in
    an explicit tween list and register ``provider`` with the exit flush."""
    import pyramid_opentracing
    config.include(pyramid_opentracing)
    # after setup_registry's actions that add the explicit tweens (order 0)
    config.action(None, lambda: _tween_first(config.registry), order=1)
    config.action(None, lambda: _flush_at_exit(provider, config.registry.settings), order=1)


def _tween_first(registry):
    """Put our tween outermost in the explicit tween list Pyramid made of
    ``pyramid.tweens`` (whatever form the setting took), unless it lists ours."""
    from . import opentracing_tween_factory
    tweens = registry.queryUtility(ITweens)
    if tweens is None or not tweens.explicit:
        return  # no explicit list: includeme's implicit tween is used
    if not any(name == TWEEN_NAME or factory is opentracing_tween_factory
               for name, factory in tweens.explicit):
        tweens.explicit.insert(0, (TWEEN_NAME, opentracing_tween_factory))


def _flush_at_exit(provider, settings):
    """Flush ``provider`` and the global MeterProvider at exit and on SIGTERM,
    within ``ot.otel.timeout``, ending the spans still running first: the SDK
    flushes them at a normal exit only, without the spans in flight. Once
    per provider, whatever the number of applications."""
    if any(each is provider for each in _flushed_providers):
        return
    _flushed_providers.append(provider)
    try:
        from .otel.exit import LiveSpans
        from .otel.exit import flush_at_exit as flush_provider_at_exit
        from .otel.options import BridgeOptions
        timeout = BridgeOptions({name: settings[name] for name in ('ot.otel.timeout',)
                                 if name in settings}).timeout
        live = LiveSpans()
        provider.add_span_processor(live)
        flush_provider_at_exit(provider, None, timeout, 'the global TracerProvider', live)
        meter_provider = metrics.get_meter_provider()
        if hasattr(meter_provider, 'shutdown'):
            flush_provider_at_exit(meter_provider, None, timeout, 'the global MeterProvider')
    except Exception:  # the application runs on, flushed at exit by the SDK alone
        _say_once('exit', logging.WARNING, 'pyramid_opentracing: the global providers are not '
                  'flushed on SIGTERM', exc_info=True)
