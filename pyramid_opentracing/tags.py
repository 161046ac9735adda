"""How request data becomes tag values: readable, bounded and scrubbed.

:class:`TagPolicy` holds a PyramidTracer's choices (secret names, query
strings, sizes); every text goes through its :class:`~.redaction.Redactor`,
the one scrubber, before it is bounded to ``max_tag_length``.
"""
from opentracing.ext import tags

from . import route_secrets
from .redaction import BODY_ATTRIBUTES, REDACTED, SECRET_ATTRIBUTES, Redactor
from .route_secrets import path_redacted
from .scrub import safe_text, text_of

__all__ = ['DEFAULT_MAX_TAG_LENGTH', 'TagPolicy', 'UNREAD_ATTRIBUTES', 'attribute_tag',
           'body_size_tag', 'error_fields', 'exception_texts', 'has_body', 'merged_policy',
           'qualified_name', 'request_attribute_tag', 'request_method']

_SCALARS = (bool, int, float)

DEFAULT_MAX_TAG_LENGTH = 1024

#: Request attributes that hold (or parse) the request body. Tracing never
#: reads them: that would buffer the whole upload before the view runs and
#: consume ``wsgi.input``. They are tagged with the size the client announced.
UNREAD_ATTRIBUTES = BODY_ATTRIBUTES | {'POST', 'params'}

#: Of these, the ones that hold something other than the body when there is
#: none (the query parameters): read normally for a request without a body.
QUERY_ATTRIBUTES = frozenset({'POST', 'params'})


class TagPolicy:
    """How request data becomes tags: redaction, query strings, sizes."""

    __slots__ = ('redactor', 'trace_query_string', 'max_tag_length', 'max_stack_length',
                 '_secret_placeholders', 'secret_routes_judged')

    def __init__(self, redacted_headers=(), redacted_query_params=(),
                 trace_query_string=False, max_tag_length=DEFAULT_MAX_TAG_LENGTH):
        if (not isinstance(max_tag_length, int) or isinstance(max_tag_length, bool)
                or max_tag_length < 16):
            raise ValueError('max_tag_length must be an integer of at least 16, not %r'
                             % (max_tag_length,))
        self.redactor = Redactor(redacted_headers, redacted_query_params)
        self.trace_query_string = trace_query_string
        self.max_tag_length = max_tag_length
        self.max_stack_length = max_tag_length * 8
        self._secret_placeholders = {}
        #: the secret routes of the application last judged: see
        #: :func:`~.route_secrets.url_waits_for_route`.
        self.secret_routes_judged = None

    @property
    def redacted_headers(self):
        return self.redactor.headers

    @property
    def redacted_query_params(self):
        return self.redactor.parameters

    def text(self, text, known=(), lines=False):
        """Free text as a name or tag value: scrubbed, printable (line
        feeds kept if ``lines``) and bounded."""
        return self.redactor.bounded(text, self.max_tag_length, known, lines)

    def path_secrets(self, request):
        """The values of ``request``'s path that may fill a secret route
        placeholder (see :func:`~.route_secrets.path_secrets`)."""
        return route_secrets.path_secrets(request, self)


def merged_policy(own, settings):
    """One TagPolicy from a PyramidTracer's ``own`` and the ``settings``'
    arguments (only those set): redacted names add up; any other setting
    set on both to different values is refused, as ``ValueError(argument)``."""
    arguments = {
        'redacted_headers': own.redacted_headers, 'redacted_query_params': own.redacted_query_params,
        'trace_query_string': own.trace_query_string, 'max_tag_length': own.max_tag_length}
    defaults = TagPolicy()
    for argument, value in settings.items():
        if argument.startswith('redacted_'):
            arguments[argument] = tuple(arguments[argument]) + tuple(
                name for name in value if name not in arguments[argument])
        elif arguments[argument] in (value, getattr(defaults, argument)):
            arguments[argument] = value
        else:
            raise ValueError(argument)
    return TagPolicy(**arguments)


def request_method(request, limit):
    """The HTTP method of ``request``, bounded to ``limit`` characters.

    Read from the environ: ``request.method`` is a property call (a
    ``DummyRequest`` has only that).
    """
    method = request.environ.get('REQUEST_METHOD') or request.method
    return method if len(method) <= limit and method.isalpha() else safe_text(method, limit)


def has_body(request):
    """Whether ``request`` comes with a body (announced, or chunked)."""
    environ = request.environ
    return (environ.get('CONTENT_LENGTH') not in (None, '', '0')
            or 'chunked' in environ.get('HTTP_TRANSFER_ENCODING', '').lower())


def body_size_tag(request):
    """The tag of a body attribute, from the Content-Length the client sent."""
    length = request.environ.get('CONTENT_LENGTH')
    if length and length.isdigit():
        return '[body: %d bytes]' % int(length)
    return '[body]' if has_body(request) else None


def request_attribute_tag(request, name, policy, known=()):
    """The tag value of ``request``'s attribute ``name``, or None for no
    tag: a body attribute by the size announced, never read. Raises what
    reading the attribute raises."""
    if name in UNREAD_ATTRIBUTES and (name not in QUERY_ATTRIBUTES or has_body(request)):
        return body_size_tag(request)
    return attribute_tag(name, getattr(request, name), policy, known)


def attribute_tag(name, value, policy, known=()):
    """The tag value for request attribute ``name``, or None for no tag.
    ``known`` are secret values to remove wherever they appear."""
    if value is None:
        return None
    if name in SECRET_ATTRIBUTES:
        return REDACTED
    if name == 'matched_route':
        return policy.text(str(value.name))  # its repr says only where it is in memory
    if isinstance(value, _SCALARS):
        return value
    if name in BODY_ATTRIBUTES:
        return '[body: %d bytes]' % len(value) if hasattr(value, '__len__') else '[body]'
    if isinstance(value, bytes):
        value = value.decode('latin-1')
    redactor = policy.redactor
    if isinstance(value, str):
        if name.lower() == 'query_string':
            value = redactor.query(value)
        return policy.text(value, known)
    if callable(value):
        return None  # a method: its repr shows the request, URL and all
    items = getattr(value, 'items', None)
    if callable(items):
        return policy.text(_render_mapping(items(), redactor, known), known, lines=True)
    return policy.text(text_of(value), known)


#: Environ keys holding the request target as the client sent it (waitress,
#: gunicorn): a path secret may be percent-encoded there in any way.
RAW_TARGETS = frozenset({'REQUEST_URI', 'RAW_URI'})


def _render_mapping(items, redactor, known=()):
    lines = []
    for key, item in items:
        key = str(key)
        if redactor.is_secret(key):
            item = REDACTED
        elif isinstance(item, str):
            if key.lower() == 'query_string':
                item = redactor.query(item)
            elif known and key in RAW_TARGETS:
                path, mark, query = item.partition('?')
                item = path_redacted(path, known) + mark + query
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


def exception_texts(exc, policy, known=()):
    """(message, stack) of ``exc``, scrubbed and bounded. The stack is the
    traceback's text, without frame locals."""
    redactor = policy.redactor
    message = redactor.bounded(text_of(exc), policy.max_tag_length, known, lines=True)
    stack = redactor.stack(exc, policy.max_stack_length, known)
    return message, stack


def error_fields(exc, policy, known=()):
    """The OpenTracing log fields that describe exception ``exc``.

    Without ``error.object``: a tracer would record the exception object by
    its own ``str`` or ``repr``, the raw message, past the scrubber (and keep
    its traceback's frames alive until the span is sent). ``error.kind``,
    ``message`` and ``stack`` say the same, scrubbed.
    """
    message, stack = exception_texts(exc, policy, known)
    return {
        'event': tags.ERROR,
        'error.kind': qualified_name(type(exc)),
        'message': message,
        'stack': stack,
    }
