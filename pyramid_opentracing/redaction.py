"""Which request data is secret, with the names the settings add.

:class:`Redactor` is the scrubber of :mod:`pyramid_opentracing.scrub` with a
PyramidTracer's own secret names (``ot.redacted_headers``,
``ot.redacted_query_params``) added to the built-in rules; those rules cannot
be switched off.
"""
from urllib.parse import unquote_plus

from .scrub import REDACTED, name_is_secret, normal_name, safe_stack, safe_text, scrub

#: Request attributes whose whole value is a secret: the session holds the
#: CSRF token and whatever the application keeps there.
SECRET_ATTRIBUTES = frozenset({'authorization', 'cookies', 'remote_user', 'session'})

#: Request attributes holding the raw body: tagged by size only, since a body
#: may carry anything (passwords in a login form, tokens in JSON).
BODY_ATTRIBUTES = frozenset({
    'body', 'text', 'json', 'json_body', 'body_file', 'body_file_raw',
    'body_file_seekable',
})

_CACHE_LIMIT = 4096

#: Short texts recur from request to request (a browser's User-Agent, an
#: Accept header): their scrubbed form is kept, up to this many of them.
_TEXT_CACHE_LIMIT = 1024
_SHORT_TEXT = 256


class Redactor:
    """Judges names and scrubs text for one PyramidTracer.

    ``headers`` and ``parameters`` are names secret beside the built-in rules
    (compared without case, ``_`` and ``-`` alike, environ ``HTTP_`` prefix
    ignored).
    """

    def __init__(self, headers=(), parameters=()):
        self.headers = tuple(headers)
        self.parameters = tuple(parameters)
        self.names = frozenset(normal_name(name) for name in self.headers + self.parameters)
        self._verdicts = {}
        self._texts = {}

    def is_secret(self, name):
        """Whether values named ``name`` (header, environ key, parameter) are secret."""
        verdict = self._verdicts.get(name)
        if verdict is None:
            verdict = name_is_secret(name) or (
                bool(self.names) and normal_name(unquote_plus(name)) in self.names)
            if len(self._verdicts) < _CACHE_LIMIT:
                self._verdicts[name] = verdict
        return verdict

    def query(self, query_string):
        """``query_string`` with the values of secret parameters replaced."""
        if not query_string:
            return query_string
        parts = []
        for pair in query_string.split('&'):
            name, sep, _ = pair.partition('=')
            if sep and self.is_secret(unquote_plus(name)):
                pair = name + '=' + REDACTED
            parts.append(pair)
        return '&'.join(parts)

    def text(self, text, known=()):
        """``text`` scrubbed (see :func:`pyramid_opentracing.scrub.scrub`)."""
        return scrub(text, self.is_secret, known)

    #: A URL is scrubbed like any text: user info, secret query and fragment values.
    url = text

    def bounded(self, text, limit, known=(), lines=False):
        """The first ``limit`` characters of ``text``, scrubbed and printable
        (line feeds kept if ``lines``)."""
        if known or len(text) > _SHORT_TEXT:
            return safe_text(text, limit, self.is_secret, known, lines)
        key = (text, limit, lines)
        shown = self._texts.get(key)
        if shown is None:
            shown = safe_text(text, limit, self.is_secret, lines=lines)
            if len(self._texts) < _TEXT_CACHE_LIMIT:
                self._texts[key] = shown
        return shown

    def stack(self, exc, limit, known=()):
        """The last ``limit`` characters of the traceback of ``exc``, scrubbed."""
        return safe_stack(exc, limit, self.is_secret, known)
