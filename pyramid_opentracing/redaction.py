"""Which request data is secret, with the names the settings add.

:class:`Redactor` is the scrubber of :mod:`pyramid_opentracing.scrub` with a
PyramidTracer's own secret names (``ot.redacted_headers``,
``ot.redacted_query_params``) added to the built-in rules; those rules cannot
be switched off. :func:`describe_rules` lists every rule for the docs, from
the tables that hold them.
"""
from urllib.parse import unquote_plus

from ._cache import BoundedCache
from .scrub import (
    AUTH_SCHEMES, KNOWN_FORMS, MIN_KNOWN_LENGTH, NOT_SECRET_SUFFIXES, PAIR_SEPARATORS, PLAIN_VALUES,
    REDACTED, SECRET_ENDINGS, SECRET_NAMES, SECRET_PARTS, SECRET_STEMS, SHAPES, USERINFO_CUTS,
    name_is_secret, normal_name, safe_stack, safe_text)

__all__ = ['BODY_ATTRIBUTES', 'REDACTED', 'Redactor', 'SECRET_ATTRIBUTES', 'describe_rules']

#: Request attributes whose whole value is a secret: the session holds the
#: CSRF token and whatever the application keeps there.
SECRET_ATTRIBUTES = frozenset({'authorization', 'cookies', 'remote_user', 'session'})

#: Request attributes holding the raw body: tagged by size only, since a body
#: may carry anything (passwords in a login form, tokens in JSON).
BODY_ATTRIBUTES = frozenset({
    'body', 'text', 'json', 'json_body', 'body_file', 'body_file_raw',
    'body_file_seekable',
})

#: Distinct names judged and remembered per Redactor.
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
        self._verdicts = BoundedCache(_CACHE_LIMIT)
        self._texts = BoundedCache(_TEXT_CACHE_LIMIT)

    def is_secret(self, name):
        """Whether values named ``name`` (header, environ key, parameter) are secret."""
        verdict = self._verdicts.get(name)
        if verdict is None:
            verdict = self._verdicts.set(name, name_is_secret(name) or (
                bool(self.names) and normal_name(unquote_plus(name)) in self.names))
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

    def bounded(self, text, limit, known=(), lines=False):
        """The first ``limit`` characters of ``text``, scrubbed and printable
        (line feeds kept if ``lines``)."""
        if known or len(text) > _SHORT_TEXT:
            return safe_text(text, limit, self.is_secret, known, lines)
        key = (text, limit, lines)
        shown = self._texts.get(key)
        if shown is None:
            shown = self._texts.set(key, safe_text(text, limit, self.is_secret, lines=lines))
        return shown

    def stack(self, exc, limit, known=()):
        """The last ``limit`` characters of the traceback of ``exc``, scrubbed."""
        return safe_stack(exc, limit, self.is_secret, known)


def _listed(rows):
    return ['%s: %s' % (', '.join('``%s``' % item for item in row.items), row.doc) for row in rows]


def _named(names):
    return ', '.join('``%s``' % name for name in sorted(names))


def describe_rules():
    """Every redaction rule as ``(title, explanation, items)``, in the order
    the docs show them; each text is reStructuredText."""
    return [
        ('Request attributes', 'Tagged with ``ot.traced_attributes``, these are always '
         'replaced by ``%s``: %s; these holding the body are tagged by size only: %s.' % (
             REDACTED, _named(SECRET_ATTRIBUTES), _named(BODY_ATTRIBUTES)), []),
        ('Secret names', 'A name (a header, a query or form parameter, a key in a message) is '
         'read in lower case, ``_`` as ``-``, without an environ ``HTTP_`` prefix; '
         '``ot.redacted_headers`` and ``ot.redacted_query_params`` add names to these, '
         'secret as a whole:', _listed(SECRET_NAMES)),
        ('Secret stems', 'A name holding one of these, its separators removed, is secret:',
         _listed(SECRET_STEMS)),
        ('Secret words', 'A name with one of these among its words (``x_api-Key``: x, api, key) '
         'is secret:', _listed(SECRET_PARTS)),
        ('Secret endings', 'A word ending so, a word of a name or the start of one '
         '(``securitycodeid``), is secret unless it is one of the plain words listed; a word '
         'that is only the ending (or it and ``s``) is read with the word before it '
         '(``zip_code`` as ``zipcode``):', ['``%s``: %s; not words ending as %s do' % (
             row.ending, row.doc, _named(row.plain)) for row in SECRET_ENDINGS]),
        ('Names never secret', 'A name ending so is not secret:', _listed(NOT_SECRET_SUFFIXES)),
        ('Secret pairs', 'In free text (a message, a stack, a log field), the value of a pair '
         'with a secret name is replaced by ``%s``. A pair is a name, one of these separators '
         'and a value (quoted, or one word):' % REDACTED, [row.doc for row in PAIR_SEPARATORS]),
        ('Auth schemes', 'In the value of a secret pair, the word after one of these is the '
         'credential, replaced with it:', _listed(AUTH_SCHEMES)),
        ('Plain values', 'These values stay as they are, being plainly not secrets:',
         [row.doc for row in PLAIN_VALUES]),
        ('Secret shapes', 'Whatever the names around them, these are removed from any text '
         'wherever it quotes them (user info whole):', ['``%s``: %s' % (row.example, row.doc) for row in SHAPES]),
        ('Known secrets', "A request's secrets known by where they come from (the user info of "
         'a URL it calls and each of its pieces between the characters below, the value of a '
         'secret route placeholder) are removed from its other texts in these forms; those '
         'shorter than %d characters only where a rule above finds them:' % MIN_KNOWN_LENGTH,
         list(KNOWN_FORMS) + _listed(USERINFO_CUTS)),
    ]
