"""The parsers of setting values, one signature for all: ``parse(source, value, resolve)``.

``source`` is the setting or environment variable the value came from, so
that an error names what the user wrote; ``value`` is a Python value or the
text of an INI file or variable; ``resolve`` turns a dotted name into the
object it names (``config.maybe_dotted``). A value a parser cannot use is a
:class:`~pyramid.exceptions.ConfigurationError` ``'%s = %r: %s'`` naming the
source, the value and the problem, with the fix when it can be guessed.
"""
import inspect
import json
import math
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from pyramid.exceptions import ConfigurationError

from .urls import is_host

__all__ = ['fail', 'is_set', 'as_bool', 'as_list', 'as_names', 'as_attribute_names', 'as_patterns',
           'as_exclusions', 'as_length', 'as_trace_url', 'as_text', 'choice', 'choices_of',
           'as_pairs', 'as_secret_pairs', 'as_ratio', 'as_endpoint', 'traces_path_typo', 'as_timeout',
           'as_http_dup',
           'callback', 'as_object', 'as_callable', 'as_parameters', 'check_signature',
           'import_hint']

_TRUE = frozenset({'true', 'yes', 'on', '1'})
_FALSE = frozenset({'false', 'no', 'off', '0', ''})

#: The two halves of a ``{n,m}`` quantifier that the list rule split.
_SPLIT_QUANTIFIER_START = re.compile(r'\{\d*$')
_SPLIT_QUANTIFIER_END = re.compile(r'\d*\}')

#: Paths and URLs of every kind: a pattern found in all of them excludes
#: (nearly) every request, a mistake more often than not.
PATH_PROBES = ('/', '/api', '/api/v1/items/42', '/health', '/static/app.css', '/x', '/\u00e9/a.b')
URL_PROBES = ('http://localhost/', 'https://example.com/api/v1/items/42?q=1',
              'http://127.0.0.1:6543/health', 'http://[::1]/x')

_WHOLE_NUMBER = re.compile('[+-]?[0-9]+')

#: The bridge, named where a tracer factory of the archived jaeger-client fails.
BRIDGE = 'pyramid_opentracing.otel.tracer_from_settings'


def fail(source, value, problem):
    """A ConfigurationError naming ``source`` and its ``value``."""
    return ConfigurationError('%s = %r: %s' % (source, value, problem))


def is_set(value):
    """Whether a setting's ``value`` says something: not missing (None) nor
    blank text, which is as if not set."""
    return value is not None and not (isinstance(value, str) and not value.strip())


def as_bool(source, value, resolve):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise fail(source, value, 'expected true or false')


def as_list(source, value):
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
        raise fail(source, value, 'expected a list, or text')
    try:
        return tuple(value)
    except TypeError:
        raise fail(source, value, 'expected a list') from None


def as_names(source, value, resolve, kind=''):
    """A tuple of names (header, parameter, route, attribute names): the
    items of :func:`as_list`, each a word of text; an error calls an item
    that is not a ``kind`` name (``'route '``)."""
    names = as_list(source, value)
    for item in names:
        if not isinstance(item, str) or not item or item.split() != [item]:
            raise fail(source, value, '%r is not a %sname' % (item, kind))
    return names


def as_attribute_names(source, value, resolve):
    names = as_names(source, value, resolve)
    for item in names:
        if not item.isidentifier():
            raise fail(source, value, '%r is not a request attribute name' % (item,))
    return names


def as_patterns(source, value, resolve):
    """A tuple of regular expressions, each checked to compile."""
    patterns = as_list(source, value)
    for before, after in zip(patterns, patterns[1:]) if isinstance(value, str) else ():
        if _SPLIT_QUANTIFIER_START.search(before) and _SPLIT_QUANTIFIER_END.match(after):
            raise fail(source, value, 'the quantifier in %r,%r was split at its comma (commas '
                       'separate the patterns of a text): give the patterns as a list'
                       % (before, after))
    for pattern in patterns:
        if not isinstance(pattern, str) or not pattern:
            raise fail(source, value, '%r is not a regular expression' % (pattern,))
        try:
            re.compile(pattern)
        except (re.error, OverflowError) as exc:  # a repetition count too large is the latter
            raise fail(source, value,
                       '%r is not a regular expression (%s)' % (pattern, exc)) from None
    return patterns


def as_exclusions(source, value, resolve):
    """:func:`as_patterns` that exclude requests, none of them found in
    every path (``ot.excluded_paths``) or URL (the ``OTEL_*`` variables) of
    :data:`PATH_PROBES` or :data:`URL_PROBES`: it would leave every request
    untraced, without a word (``.*``, ``^/``, or the ``|`` of ``^/a | ^/b``
    split at its blanks)."""
    patterns = as_patterns(source, value, resolve)
    paths = source == 'ot.excluded_paths'
    for pattern in patterns:
        search = re.compile(pattern).search
        if all(search(probe) for probe in (PATH_PROBES if paths else URL_PROBES)):
            hint = (' (patterns of a text are separated by commas or blanks: give them as a '
                    'list)' if isinstance(value, str) and paths else '')
            raise fail(source, value, '%r is found in every %s: no request would be traced; '
                       'ot.should_trace can choose the few to trace%s'
                       % (pattern, 'path' if paths else 'URL', hint))
    return patterns


def as_length(source, value, resolve):
    """A whole number of characters, at least 16: an int, or text of one
    (``'64'``). A float is refused, even ``64.0``: it says a fraction was meant
    or computed, and cutting it off silently would hide that."""
    if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value.strip()):
        length = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        length = value
    else:
        raise fail(source, value, 'expected a whole number')
    if length < 16:
        raise fail(source, value, 'must be at least 16')
    return length


def as_trace_url(source, value, resolve):
    """A link template for a trace: a URL with ``{trace_id}`` in it."""
    if not isinstance(value, str) or not value.strip():
        raise fail(source, value, 'expected a URL with {trace_id} in it')
    url = value.strip()
    if not url.lower().startswith(('http://', 'https://', '/')):
        raise fail(source, value, 'expected an http:// or https:// URL (or a path)')
    if '{trace_id}' not in url:
        raise fail(source, value, 'must contain {trace_id}, where the trace id goes')
    try:
        url.format(trace_id='0')
    except (IndexError, KeyError, ValueError) as exc:
        raise fail(source, value, 'only {trace_id} may be in braces (%s)' % exc) from None
    return url


def as_text(source, value, resolve):
    return str(value).strip()


def choice(choices):
    """The parser of one word among ``choices``."""
    def as_choice(source, value, resolve):
        word = str(value).strip().lower()
        if word not in choices:
            raise fail(source, value, 'expected one of %s' % ', '.join(choices))
        return word
    return as_choice


def choices_of(choices):
    """The parser of a list of ``choices``, where ``none`` alone means none."""
    def as_choices(source, value, resolve):
        names = tuple(str(word).strip().lower() for word in as_list(source, value))
        for name in names:
            if name not in choices:
                raise fail(source, value, '%r is not one of %s' % (name, ', '.join(choices)))
        if 'none' in names:
            if len(names) > 1:
                raise fail(source, value, '"none" cannot be combined with other propagators')
            return ()
        return names
    return as_choices


def as_pairs(source, value, resolve, secret=False):
    """A dict from ``key=value`` items separated by commas or new lines.

    ``secret`` values (exporter headers carry API keys) are left out of the
    error message: only the item's number is shown.
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


def as_secret_pairs(source, value, resolve):
    return as_pairs(source, value, resolve, secret=True)


def as_ratio(source, value, resolve):
    try:
        ratio = float(value)
    except (TypeError, ValueError):
        raise fail(source, value, 'expected a number between 0 and 1') from None
    if not 0.0 <= ratio <= 1.0:
        raise fail(source, value, 'expected a number between 0 and 1')
    return ratio


def as_endpoint(source, value, resolve):
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
    name = host if host.endswith(']') or ':' not in host else host.rpartition(':')[0]
    if not is_host(name):
        raise fail(source, shown, '%r is not a host name or address' % (name,))
    try:
        parts.port  # pylint: disable=pointless-statement
    except ValueError:
        raise fail(source, shown, 'the port must be a number from 0 to 65535') from None
    return text


def traces_path_typo(url):
    """What was meant by an OTLP ``url`` whose path ends in ``/v1/trace``,
    a typo of ``/v1/traces`` (only the path when the URL has user info,
    which may be a secret), else None."""
    text = str(url).strip()
    if not urlsplit(text).path.rstrip('/').endswith('/v1/trace'):
        return None
    return 'the path /v1/traces' if '@' in text else text.rstrip('/') + 's'


def as_timeout(source, value, resolve):
    """Seconds, as OpenTelemetry Python reads OTEL_EXPORTER_OTLP_TIMEOUT."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise fail(source, value, 'expected a number of seconds') from None
    if not 0 < seconds < math.inf:
        raise fail(source, value, 'expected a positive number of seconds')
    return seconds


def as_http_dup(source, value, resolve):
    """Whether ``OTEL_SEMCONV_STABILITY_OPT_IN`` asks for the old HTTP
    attributes beside the stable ones (``http/dup``); ``http`` or nothing
    means the stable ones only. Other categories in the list are not ours."""
    return 'http/dup' in (str(word).lower() for word in as_list(source, value))


def import_hint(exc):
    """What to install when ``exc`` is the ImportError of a tracer package
    that does not declare what it needs, else ''."""
    if isinstance(exc, ImportError) and exc.name == 'six':
        return ('; jaeger-client 4.8 with thrift 0.25 needs six and declares neither: '
                'pip install six (with jaeger-client and thrift). jaeger-client is archived: '
                'the OpenTelemetry bridge is the way forward (ot.base_tracer_func = %s, '
                'pip install "pyramid_opentracing[otel]")' % BRIDGE)
    return ''


def as_object(source, value, resolve):
    """``value``, or the object its dotted name names."""
    if not isinstance(value, str):
        return value
    name = value.strip()
    if name.endswith(')'):
        raise fail(source, value, 'a dotted name names an object, it does not call it: drop '
                   'the parentheses (%s)' % name.partition('(')[0])
    try:
        return resolve(name)
    except Exception as exc:
        raise fail(source, value, 'cannot import it (%s)%s' % (exc, import_hint(exc))) from None


def as_callable(source, value, resolve):
    function = as_object(source, value, resolve)
    if not callable(function):
        raise fail(source, value, 'is not callable')
    return function


def check_signature(source, value, function, call, arguments=(), keywords=None):
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
        raise fail(source, value, 'it is called as %s, but takes %s%s (%s)' % (
            call, getattr(function, '__name__', type(function).__name__), signature, exc)) from None


def callback(*arguments):
    """The parser of a setting naming a function called with ``arguments``
    (their names): resolved, and refused at start-up if it cannot take them,
    rather than failing on every request."""
    call = 'f(%s)' % ', '.join(arguments)

    def as_callback(source, value, resolve):
        if not is_set(value):
            return None  # left blank, in an INI file: not set, as a blank tracer source
        function = as_callable(source, value, resolve)
        check_signature(source, value, function, call, arguments)
        return function
    return as_callback


def as_parameters(source, value, resolve):
    """Keyword arguments for ot.tracer_callable: a dict, JSON text, or ``key = value`` lines."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        raise fail(source, value, 'expected a dict or JSON object text')
    text = value.strip()
    if text.startswith('{'):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise fail(source, value, 'malformed JSON (%s)' % exc) from None
    parameters = {}
    for line in text.splitlines():
        key, sep, item = line.partition('=')
        if not sep or not key.strip().isidentifier():
            raise fail(source, value, 'expected JSON or "key = value" lines, got %r' % line)
        parameters[key.strip()] = item.strip()
    return parameters
