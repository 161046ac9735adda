"""Secrets known by value, removed from a text in any URL encoding.

A request's secrets are known by where they came from (a URL's password, a
path segment filling a secret route placeholder). A text derived from the
request may quote one in another form: percent-encoded, with ``+`` for a
space, or as a WSGI environ holds a non-ASCII character. :func:`remove_known`
takes each out of a text in any of those forms; the scrubber calls it first.
"""
import functools
import re
from urllib.parse import unquote, unquote_plus

__all__ = ['KNOWN_FORMS', 'MAX_PATTERN_LENGTH', 'MIN_KNOWN_LENGTH', 'REDACTED', 'known_pattern', 'remove_known']

#: What takes the place of a secret.
REDACTED = '[REDACTED]'

#: Known secrets shorter than this are not searched for in free text, where
#: they would erase ordinary words.
MIN_KNOWN_LENGTH = 4


#: Known secrets longer than this are not made into a regular expression
#: (see :func:`known_pattern`), whose cost grows with them: a text holding
#: one in another URL encoding is redacted whole.
MAX_PATTERN_LENGTH = 256


def remove_known(text, known):
    """``text`` without each of the ``known`` secrets, as it is or in any
    URL encoding of it (see :func:`known_pattern`). A text without ``%``
    (nor ``+`` or a space where a secret holds the other) can only hold a
    secret as it is, or as a WSGI environ holds a non-ASCII one: it costs a
    substring search per secret. Others are percent-decoded too, and
    searched with a regular expression only when the decoded text holds
    the secret."""
    encoded = '%' in text
    plus = '+' in text
    blank = ' ' in text
    for secret in known:
        if len(secret) < MIN_KNOWN_LENGTH:
            continue
        if secret in text:
            text = text.replace(secret, REDACTED)
        environ_form = (secret if secret.isascii()
                        else secret.encode('utf-8', 'replace').decode('latin-1'))
        if environ_form is not secret and environ_form in text:
            text = text.replace(environ_form, REDACTED)
        if ((encoded or (plus and ' ' in secret) or (blank and '+' in secret))
                and _decoded_holds(text, secret, environ_form)):
            if len(secret) > MAX_PATTERN_LENGTH:
                return REDACTED
            text = known_pattern(secret).sub(REDACTED, text)
    return text


def _decoded_holds(text, secret, environ_form):
    """Whether ``text``, percent-decoded (and with ``+`` as a space where
    ``secret`` holds one), holds ``secret`` (or, non-ASCII, its
    ``environ_form``; or with a ``+`` of it decoded as a space)."""
    decoded = (unquote_plus if ' ' in secret else unquote)(text)
    if secret in decoded or ('+' in secret and secret.replace('+', ' ') in decoded):
        return True
    return environ_form is not secret and environ_form in unquote(text, encoding='latin-1')


def _hex_byte(byte):
    """A regular expression matching ``%XX`` for ``byte`` in either case of hex."""
    return '%' + ''.join('[%s%s]' % (digit, digit.lower()) if digit.isalpha() else digit
                         for digit in '%02X' % byte)


#: The forms :func:`known_pattern` finds a secret in.
KNOWN_FORMS = (
    'as it is',
    'with any of its characters percent-encoded, hex digits in either case',
    'with ``+`` for a space and a space for ``+``, as a query string holds them',
    "with a non-ASCII character as a WSGI environ holds it (its UTF-8 bytes read as Latin-1)",
)


@functools.lru_cache(maxsize=64)
def known_pattern(secret):
    """A regular expression matching ``secret`` with any of its characters
    as it is or percent-encoded (hex digits in either case: ``%2b``, and an
    unreserved character encoded: ``%54`` for ``T``), a space also as ``+``
    (a query string's form) and a ``+`` as a space (a query's ``+``
    decoded), and a non-ASCII character also as a WSGI environ holds it (its
    UTF-8 bytes as Latin-1). Cached: the secrets of one request are looked
    for in each of its texts. The cache is ``lru_cache``, not
    :class:`~pyramid_opentracing._cache.BoundedCache`: the secrets of earlier
    requests never recur, so the least recent must make room."""
    parts = []
    for character in secret:
        raw = character.encode('utf-8', 'replace')
        forms = [re.escape(character), ''.join(_hex_byte(byte) for byte in raw)]
        if character == ' ':
            forms.append(r'\+')
        elif character == '+':
            forms.append(' ')  # a query's '+' decoded
        if len(raw) > 1:
            forms.append(re.escape(raw.decode('latin-1')))
        parts.append('(?:%s)' % '|'.join(forms))
    return re.compile(''.join(parts))
