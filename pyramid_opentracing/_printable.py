"""Every text on a span is printable and within its size limit.

A backend, a log or a terminal showing a span must never read a line break,
a NUL or an escape sequence from a request, nor a text too long to store:
control characters are shown as their escapes and a text cut short says how
much was cut. :mod:`pyramid_opentracing.scrub` re-exports these; they are
here because they know nothing of secrets.
"""
import re

__all__ = ['BEFORE', 'CONTROLS', 'CONTROLS_BUT_LINE_FEED', 'CUT', 'MORE', 'bound', 'bound_tail',
           'escaped', 'text_of']


def text_of(exc):
    """``str(exc)``, or ``<unprintable Name>`` when its ``__str__`` raises:
    whose own message must not be shown either, since it is about ``exc``."""
    try:
        return str(exc)
    except Exception:
        return '<unprintable %s>' % type(exc).__name__


#: Control characters: C0 (but the tab), DEL and C1, the line and paragraph
#: separators, and lone surrogates (no UTF-8 can encode them: an exporter
#: would drop the whole batch). Each is shown as its ``\xNN`` or ``\uNNNN``
#: escape.
CONTROLS = re.compile('[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]')

#: The same without the line feed: for texts made of lines (a stack, an
#: exception's message, a tag listing a mapping's items one per line).
CONTROLS_BUT_LINE_FEED = re.compile('[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]')


def _escape(match):
    code = ord(match.group())
    return ('\\x%02x' if code <= 0xff else '\\u%04x') % code


def escaped(text, lines=False):
    """``text`` with its control characters escaped, line feeds kept if ``lines``."""
    return (CONTROLS_BUT_LINE_FEED if lines else CONTROLS).sub(_escape, text)


#: What ends a text cut short, saying how many characters are not shown
#: (those cut, and ``hidden`` ones never looked at).
MORE = '...[%d more characters]'

#: What starts a text whose start was cut.
BEFORE = '[%d characters before]...'

#: What marks a cut when the limit is too small to say how much was cut.
CUT = '...'


def bound(text, limit, hidden=0, lines=False):
    """``text`` printable (control characters escaped, line feeds kept if
    ``lines``) and cut to at most ``limit`` characters, the end saying how
    many more there were, with ``hidden`` characters beyond ``text`` that
    were never looked at. A printable text within its limit is returned as
    it is."""
    if not text.isprintable():
        text = escaped(text, lines)
    if len(text) <= limit and not hidden:
        return text
    kept, marker = _cut(MORE, len(text) + hidden, limit)
    return text[:kept] + marker


def bound_tail(text, limit, hidden=0, lines=False):
    """The end of ``text``, printable, in at most ``limit`` characters, the
    start saying how many were before, with ``hidden`` characters before
    ``text`` that were never looked at: where a traceback says most."""
    if not text.isprintable():
        text = escaped(text, lines)
    if len(text) <= limit and not hidden:
        return text
    kept, marker = _cut(BEFORE, len(text) + hidden, limit)
    return marker + text[len(text) - kept:]


def _cut(form, size, limit):
    """(characters kept, marker) for a text of ``size`` characters shown in
    ``limit``, marker included: the marker says how many are not shown, or
    is only :data:`CUT` where saying it would take half the limit."""
    widest = len(form % size)
    if widest * 2 > limit:
        kept = max(limit - len(CUT), 0)
        return kept, CUT[:limit - kept]
    kept = limit - widest
    return kept, form % (size - kept)
