"""Where the OpenTracing tracer comes from: the tracer-source settings.

Their rows, with their parsers and reference text, are in
:data:`~pyramid_opentracing.config.SETTINGS`; this module applies the rule
that joins them: at most one of :data:`TRACER_SOURCES` is set, an object is
used as it is, a factory is called once (with the settings, or with
``ot.tracer_parameters`` for ``ot.tracer_callable``) and what it gives must
be a PyramidTracer or an OpenTracing tracer.
"""
from pyramid.exceptions import ConfigurationError

from .setting_parsers import check_signature, fail, import_hint, is_set
from .tracer import PyramidTracer

__all__ = ['TRACER_SOURCES', 'build_tracer', 'tracer_source']

#: The settings that say where the OpenTracing tracer comes from: one at most.
TRACER_SOURCES = ('ot.tracer', 'ot.tracing', 'ot.base_tracer', 'ot.base_tracer_func',
                  'ot.tracing_callable', 'ot.tracer_callable')
#: The tracer sources that name the tracer itself, not a function making it.
_OBJECT_SOURCES = ('ot.tracer', 'ot.tracing', 'ot.base_tracer')


def tracer_source(settings):
    """(name, value) of the one tracer source that is set, or (None, None)."""
    given = [(name, settings[name]) for name in TRACER_SOURCES if is_set(settings.get(name))]
    if (len(given) == 2 and given[0][0] == 'ot.tracer' and given[1][0] == 'ot.tracing'
            and given[0][1] is given[1][1]):
        given = given[:1]  # both names of one object, as written back by configure
    if len(given) > 1:
        raise ConfigurationError('conflicting tracer settings %s: set only one of them'
                                 % ' and '.join('%s = %r' % pair for pair in given))
    if 'ot.tracer_parameters' in settings and (not given or given[0][0] != 'ot.tracer_callable'):
        raise fail('ot.tracer_parameters', settings['ot.tracer_parameters'],
                   'only used with ot.tracer_callable, which is not set')
    return given[0] if given else (None, None)


def build_tracer(settings, resolve, parsers):
    """The PyramidTracer the tracer source of ``settings`` gives; ``parsers``
    maps each tracer-source setting (and ``ot.tracer_parameters``) to the
    parser of its row."""
    name, value = tracer_source(settings)
    if name is None:
        return PyramidTracer(None)
    if name in _OBJECT_SOURCES:
        return _as_pyramid_tracer(name, value, parsers[name](name, value, resolve))
    if name == 'ot.tracer_callable':
        raw = settings.get('ot.tracer_parameters', {})
        arguments = parsers['ot.tracer_parameters']('ot.tracer_parameters', raw, resolve)
        function = parsers[name](name, value, resolve)
        check_signature('ot.tracer_parameters', settings.get('ot.tracer_parameters'), function,
                        'f(**ot.tracer_parameters)', keywords=arguments)
    else:  # ot.base_tracer_func, ot.tracing_callable: called with the settings
        arguments = dict(settings)
        function = parsers[name](name, value, resolve)
        check_signature(name, value, function, 'f(**settings)', keywords=arguments)
    try:
        made = function(**arguments)
    except ConfigurationError:
        raise
    except Exception as exc:
        raise fail(name, value, 'raised %s: %s%s' % (type(exc).__name__, exc,
                                                     import_hint(exc))) from exc
    return _as_pyramid_tracer(name, value, made)


def _is_tracer(obj):
    """Whether ``obj`` looks like an OpenTracing 2.x tracer."""
    return all(callable(getattr(obj, method, None))
               for method in ('start_active_span', 'start_span', 'extract', 'inject'))


def _as_pyramid_tracer(name, value, made):
    """A PyramidTracer from what tracer source ``name`` gave: one, or a plain tracer."""
    if isinstance(made, PyramidTracer):
        return made
    if isinstance(made, type):
        if name in _OBJECT_SOURCES:
            raise fail(name, value, 'is the class %s, not a tracer: give an instance (its '
                       'dotted name must name an object, not a class), or name a function '
                       'returning one in ot.base_tracer_func' % made.__name__)
        raise fail(name, value, 'returned the class %s, not a tracer: return an instance '
                   '(return %s())' % (made.__name__, made.__name__))
    if _is_tracer(made):
        return PyramidTracer(made)
    raise fail(name, value, 'gave %r, which is not an OpenTracing tracer' % (made,))
