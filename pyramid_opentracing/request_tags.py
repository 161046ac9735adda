"""Turn request data into span tag values: readable, bounded and redacted."""
import traceback

from opentracing.ext import tags

from .redaction import BODY_ATTRIBUTES, REDACTED, SECRET_ATTRIBUTES

_SCALARS = (bool, int, float)


def bound(text, limit):
    """``text`` cut to ``limit`` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    return '%s...[%d more characters]' % (text[:limit], len(text) - limit)


def bound_tail(text, limit):
    """The last ``limit`` characters of ``text``: where a traceback says most."""
    if len(text) <= limit:
        return text
    return '[%d characters before]...%s' % (len(text) - limit, text[-limit:])


def http_url(request, policy):
    """The request URL for the ``http.url`` tag.

    Without the query string unless ``policy.trace_query_string``; never with
    user info; secret query parameters redacted; bounded in size.
    """
    url = request.path_url
    if policy.trace_query_string:
        query = request.environ.get('QUERY_STRING')
        if query:
            url = url + '?' + query
    return bound(policy.redactor.url(url), policy.max_tag_length)


def attribute_tag(name, value, policy):
    """The tag value for request attribute ``name``, or None for no tag."""
    if value is None:
        return None
    redactor = policy.redactor
    if name in SECRET_ATTRIBUTES:
        return REDACTED
    if isinstance(value, _SCALARS):
        return value
    if name in BODY_ATTRIBUTES:
        return '[body: %d bytes]' % len(value) if hasattr(value, '__len__') else '[body]'
    if isinstance(value, bytes):
        value = value.decode('latin-1')
    if isinstance(value, str):
        return bound(_redact_text(name, value, redactor), policy.max_tag_length)
    if callable(value):
        return None  # a method: its repr shows the request, URL and all
    items = getattr(value, 'items', None)
    if callable(items):
        return bound(_render_mapping(items(), redactor), policy.max_tag_length)
    return bound(str(value), policy.max_tag_length)


def _redact_text(name, text, redactor):
    """``text`` as a query string if ``name`` says so, else as a possible URL
    (any header or environ value may hold one: Referer, Location, REQUEST_URI)."""
    if name.lower() == 'query_string':
        return redactor.query(text)
    return redactor.url(text)


def _render_mapping(items, redactor):
    lines = []
    for key, item in items:
        key = str(key)
        if redactor.is_secret(key):
            item = REDACTED
        elif isinstance(item, str):
            item = _redact_text(key, item, redactor)
        elif not isinstance(item, _SCALARS):
            # objects in the environ (the request, parsed query and form
            # data) would show secrets in their repr
            item = '<%s>' % type(item).__name__
        lines.append('%s: %s' % (key, item))
    return '\n'.join(lines)


def qualified_name(kind):
    """``KeyError`` for a builtin exception class, ``module.Name`` for others."""
    if kind.__module__ == 'builtins':
        return kind.__qualname__
    return kind.__module__ + '.' + kind.__qualname__


def error_fields(exc, policy):
    """The OpenTracing log fields that describe exception ``exc``."""
    kind = type(exc)
    return {
        'event': tags.ERROR,
        'error.object': exc,
        'error.kind': qualified_name(kind),
        'message': bound(str(exc), policy.max_tag_length),
        'stack': bound_tail(
            ''.join(traceback.format_exception(kind, exc, exc.__traceback__)),
            policy.max_stack_length,
        ),
    }
