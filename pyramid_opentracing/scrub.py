"""The one scrubber: every text on its way into a span passes through here.

Its rules are data: the tables below, each row saying why in its ``doc``
(``redaction.describe_rules`` lists them for the docs). :func:`name_is_secret`
judges a name by its parts; :func:`scrub` removes the :data:`SHAPES`, the
values of pairs with a secret name, and the secrets this request removed
elsewhere; :func:`safe_text` and :func:`safe_stack` also bound the result.
A text without a trigger (:func:`is_plain`) costs substring tests alone.
"""
import re
import traceback
from typing import NamedTuple
from urllib.parse import unquote, unquote_plus

from ._cache import BoundedCache
from ._known import KNOWN_FORMS, MAX_PATTERN_LENGTH, MIN_KNOWN_LENGTH, REDACTED, known_pattern, remove_known
from ._printable import bound, bound_tail, text_of

__all__ = [
    'AUTH_SCHEMES', 'KNOWN_FORMS', 'MARGIN', 'MAX_PATTERN_LENGTH', 'MIN_KNOWN_LENGTH',
    'NOT_SECRET_SUFFIXES', 'PAIR_SEPARATORS', 'PLAIN_VALUES', 'REDACTED', 'SECRET_ENDINGS', 'SECRET_NAMES',
    'SECRET_PARTS', 'SECRET_STEMS', 'SHAPES', 'USERINFO_CUTS', 'Ending', 'PlainValue',
    'Rule', 'Shape', 'bound', 'bound_tail', 'is_plain', 'known_pattern', 'name_is_secret', 'normal_name',
    'safe_stack', 'safe_text', 'scrub', 'text_of', 'url_secrets', 'userinfo_secrets',
]


class Rule(NamedTuple):
    """A row of a rule table: the ``items`` it is about, and why (``doc``)."""
    items: tuple
    doc: str


class Ending(NamedTuple):
    """A row of :data:`SECRET_ENDINGS`: a word ending in ``ending`` is secret
    unless it ends as one of the ``plain`` words do; the ending alone as the
    first of several words, only if ``first``."""
    ending: str
    plain: tuple
    first: bool
    doc: str


class PlainValue(NamedTuple):
    """A row of :data:`PLAIN_VALUES`: a value ``pattern`` matches is no secret,
    after one of ``names`` (any if none) following ``after`` (if any)."""
    names: frozenset
    after: str
    pattern: str
    doc: str


# -- names: in lower case, ``_`` as ``-``, without an environ ``HTTP_`` prefix --

#: Names secret only as a whole.
SECRET_NAMES = (
    Rule(('remote-user',), 'the user a server authenticated (``REMOTE_USER``)'),
    Rule(('wresult',), "WS-Federation's token response"),
)

#: Stems that make a name secret wherever they appear in it, separators removed.
SECRET_STEMS = (
    Rule(('token', 'jwt', 'saml', 'assertion', 'verifier', 'dpop'),
         'tokens and assertions: ``access_token``, ``X-JWT-Assertion``, ``SAMLResponse``, '
         '``code_verifier``'),
    Rule(('secret', 'passw', 'passphrase', 'credential'),
         'secrets and passwords: ``client_secret``, ``db_password``, ``X-Amz-Credential``'),
    Rule(('signature', 'hmac', 'authoriz'),
         'signatures and authorisations: ``X-Hub-Signature-256``, ``X-Shopify-Hmac-Sha256``, '
         '``Proxy-Authorization``'),
    Rule(('cookie', 'session', 'sessid', 'csrf', 'xsrf'),
         'sessions and their guards: ``Cookie``, ``PHPSESSID``, ``X-CSRF-Token``'),
    Rule(('cardnum', 'ccnum', 'magiclink', 'appcheck'),
         'card numbers, sign-in links and app attestations: ``card_number``, ``magic_link``, '
         '``X-Firebase-AppCheck``'),
)

#: Words that make a name secret when they are one of its parts.
SECRET_PARTS = (
    Rule(('auth', 'authn', 'authz', 'oauth', 'oidc', 'bearer'),
         'authentication: ``X-Auth-Key``, ``oauth_token``, ``X-Amzn-Oidc-Data``'),
    Rule(('pw', 'pwd', 'psw', 'pswd', 'pin'), 'passwords and PINs: ``user.pwd``, ``pin``'),
    Rule(('sig', 'sign'), 'signatures: ``sig``, ``X-Paypal-Transmission-Sig``'),
    Rule(('otp', 'totp', 'hotp', 'mfa'), 'one-time passwords: ``otp``, ``mfa_code``'),
    Rule(('cvv', 'cvv2', 'cvc'), 'card verification values'),
)

#: A word ending so, a name part or the start of one (``securitycodeid``), is
#: secret unless it is one of the plain words; a part that is only the ending
#: (or it and ``s``) is read with the part before it: ``zip_code`` as ``zipcode``.
SECRET_ENDINGS = (
    Ending('key', (
        'monkey', 'donkey', 'turkey', 'whiskey', 'jockey', 'hockey', 'lackey', 'turnkey',
        'hotkey'), True,
        'keys: ``key``, ``X-Api-Key``, ``masterkey``, ``Ocp-Apim-Subscription-Key``'),
    Ending('pass', ('bypass', 'compass', 'overpass', 'underpass', 'surpass', 'trespass'), True,
        'passwords: ``pass``, ``userpass``, ``dbpass``'),
    Ending('code', (
        'zipcode', 'postcode', 'postalcode', 'countrycode', 'continentcode', 'statuscode',
        'httpcode', 'errorcode', 'errcode', 'exitcode', 'returncode', 'resultcode',
        'reasoncode', 'responsecode', 'eventcode', 'promocode', 'barcode', 'qrcode',
        'colorcode', 'charcode', 'keycode', 'opcode', 'bytecode', 'sourcecode', 'hardcode',
        'unicode', 'encode', 'decode', 'transcode', 'geocode', 'isocode', 'langcode',
        'languagecode', 'localecode', 'currencycode', 'regioncode', 'areacode', 'dialcode',
        'statecode', 'citycode', 'typecode', 'productcode', 'itemcode'), False,
        "codes given to one user or client: OAuth's ``code``, ``device_code``, "
        '``mfa_code``, ``invite_code``, ``pincode`` (not ``code.lineno``, whose first '
        'word qualifies the next)'),
)

#: Names ending so are not secrets whatever their parts.
NOT_SECRET_SUFFIXES = (
    Rule(('error', 'exception', 'warning'), "exception classes: ``KeyError: 'k'``"),
)


def _items(table):
    """The items of every row of ``table``, in order."""
    return tuple(item for row in table for item in row.items)


_WHOLE_NAMES = frozenset(_items(SECRET_NAMES))
_STEMS = _items(SECRET_STEMS)
_SECRET_PARTS = frozenset(_items(SECRET_PARTS))
_ENDINGS = tuple((row.ending, row.ending + 's', row.plain, row.first) for row in SECRET_ENDINGS)
_NOT_SECRET_SUFFIXES = _items(NOT_SECRET_SUFFIXES)

#: Environ keys of request headers start so: ``HTTP_AUTHORIZATION``.
_ENVIRON_PREFIX = 'http-'

#: The words of a name: ``SAMLResponse`` -> SAML, Response; ``x_api-Key`` -> x, api, Key.
_PARTS = re.compile(r'[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+')

_CACHE_LIMIT = 4096  # distinct names judged and remembered
_verdicts = BoundedCache(_CACHE_LIMIT)


def normal_name(name):
    """``name`` in lower case with dashes, without an environ ``HTTP_`` prefix."""
    name = name.strip().lower().replace('_', '-')
    if name.startswith(_ENVIRON_PREFIX):
        name = name[len(_ENVIRON_PREFIX):]
    return name


def name_is_secret(name):
    """Whether values named ``name`` are secret, by the built-in rules."""
    verdict = _verdicts.get(name)
    if verdict is None:
        verdict = _verdicts.set(name, _judge(name))
    return verdict


def _judge(name):
    raw = unquote_plus(name)
    normal = normal_name(raw)
    if normal in _WHOLE_NAMES:
        return True
    if normal.endswith(_NOT_SECRET_SUFFIXES):
        return False
    parts = [part.lower() for part in
             _PARTS.findall(raw[5:] if raw[:5].lower() == 'http_' else raw)]
    compact = ''.join(parts)
    if any(stem in compact for stem in _STEMS):
        return True
    previous = None if len(parts) > 1 else ''
    for part in parts:
        if part in _SECRET_PARTS or _ending_is_secret(part, previous):
            return True
        previous = part
    return False


def _ending_is_secret(part, previous):
    """Whether ``part`` after ``previous`` (``None`` before the first of
    several) holds a word ending as a secret does: :data:`SECRET_ENDINGS`."""
    for ending, plural, plain, first in _ENDINGS:
        if part == ending or part == plural:
            if previous is not None or first:
                return not ((previous or '') + ending).endswith(plain)
            continue
        end = part.find(ending, 1)
        while end > 0:
            end += len(ending)
            if not part[:end].endswith(plain):
                return True
            end = part.find(ending, end)
    return False


# -- text ---------------------------------------------------------------------

class Shape(NamedTuple):
    """A row of :data:`SHAPES`: where one of ``triggers`` is in a text,
    ``pattern`` finds the secret ``replace`` removes."""
    example: str
    triggers: tuple
    pattern: re.Pattern
    replace: object
    doc: str


def _is_path(userinfo):
    """Whether what is between ``scheme://`` and ``@`` is a path: ``/ ? #``, no ``:``."""
    return ':' not in userinfo and ('/' in userinfo or '?' in userinfo or '#' in userinfo)


def _drop_userinfo(match):
    return match.group(0) if _is_path(match.group(2)) else match.group(1)


def _drop_encoded_userinfo(match):
    return match.group(0) if _is_path(unquote(match.group(2))) else match.group(1)


def _drop_credential(match):
    """The auth scheme without the word after it if that looks like a
    credential (base64, a JWT), as the words of a sentence do not."""
    word = match.group(2)
    if (any(character.isdigit() or character in '_~+/=' for character in word)
            or not word[1:].islower()):
        return match.group(1) + REDACTED
    return match.group(0)


_USERINFO = re.compile(r'''(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]{0,31}://)([^\s<>"'`@]{0,1024})@''')

#: The shapes of secrets removed from any text whatever its names, in this order.
SHAPES = (
    Shape('https://user:password@host', ('@',), _USERINFO, _drop_userinfo,
          'a URL: its user info runs to the last ``@`` before a blank or quote, so a '
          'password may hold ``/ # ?``; text holding one of those but no ``:`` before an '
          '``@`` is a path (``/p?mail=a@b``)'),
    Shape('user:password@host', ('@',), re.compile(
        r'''(?<![\w.%+:/@-])[\w.%+-]{1,256}:[^\s@/<>"'`]{1,1024}@(?=[\w\[])'''), '',
          'an authority without a scheme: a ``Host`` header, a client quoting its connection'),
    Shape('https%3A%2F%2Fuser%3Apassword%40host', ('%40',), re.compile(
        r'''(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]{0,31}%3[Aa]%2[Ff]%2[Ff])'''
        r'''((?:[^\s<>"'`@&%]|%(?!40)[0-9A-Fa-f]{2}){0,1024})%40'''), _drop_encoded_userinfo,
          'a URL percent-encoded, as a query value holds one (``next=...``)'),
    Shape('Bearer eyJhbGciOi...', ('earer ', 'EARER ', 'asic ', 'ASIC '), re.compile(
        r'(?<![\w-])((?i:bearer|basic)[ \t]+)([A-Za-z0-9._~+/-]{7,4096}[A-Za-z0-9_~+/]=*)'
        r'(?![\w.~+/=-]*[\w~+/=])'), _drop_credential,
          'the credential after ``Bearer`` or ``Basic`` anywhere, when it looks like one (a '
          'digit, one of ``_ ~ + / =``, a capital past its first letter); in the value of a '
          'secret pair, the word after any auth scheme'),
)

#: Where a URL parser may cut user info: a client's error may quote each piece.
USERINFO_CUTS = (
    Rule(('/', '?', '#'), '``urlsplit`` ends the authority at the first of these'),
    Rule((':',), '``http.client`` reads what follows as a port: ``nonnumeric port: ...``'),
    Rule(('@',), 'a parser may end the user info at the first ``@``'),
)

#: Auth schemes: in a secret pair's value, the word after one of these is
#: the credential (``Authorization: Bearer abc``), removed with it.
AUTH_SCHEMES = (
    Rule(('bearer', 'dpop', 'token'), 'OAuth 2 and token schemes'),
    Rule(('basic', 'digest'), 'user and password'),
    Rule(('negotiate', 'ntlm'), 'Kerberos and NTLM'),
    Rule(('hoba', 'mutual'), 'HTTP origin-bound and mutual authentication'),
    Rule(('aws4-hmac-sha256',), 'AWS signature version 4'),
)

#: The separators of a pair, between a name and its value. Not ``scheme://``.
PAIR_SEPARATORS = (
    Rule((r'''["']?[ \t]*=[ \t]*''',), '``name=value``: a query, a form, a log field'),
    Rule((r'''["']?[ \t]*:(?!//)[ \t]*''',),
         '``name: value`` (a header line: its value runs to the end of the line) and '
         '``"name": "value"`` (JSON, a dict\'s repr)'),
    Rule((r'''["']?[ \t]*%3[DdAa][ \t]*''',), '``name%3Dvalue``: a pair percent-encoded'),
    Rule((r'''["'][ \t]*,[ \t]*(?=[bBuU]?["'])''',), "``('name', 'value')``: a tuple's repr"),
)

#: Values that are plainly not secrets, left as they are whatever their name.
PLAIN_VALUES = (
    PlainValue(frozenset({'code'}), '', r'[1-5][0-9]{2}(?![\w.+/=%-])',
               'an HTTP status: ``code: 405`` from an exporter (an OAuth code is never one)'),
    PlainValue(frozenset(), '{', r'''[\[\\(.][^\s"'{}]*(?:\{[0-9,]*\}[^\s"'{}]*)*\}''',
               'the regular expression of a route placeholder: ``/reset/{token:[0-9a-f]+}``'),
)

_PLAIN_VALUES = tuple((row.names, row.after, re.compile(row.pattern)) for row in PLAIN_VALUES)

#: What every scrubbed shape contains: the pairs' and each shape's triggers.
_PAIR_TRIGGERS = ('=', ':', '%', "', '", '", "')
_TRIGGERS = _PAIR_TRIGGERS + tuple(dict.fromkeys(
    trigger for shape in SHAPES for trigger in shape.triggers
    if not any(other in trigger for other in _PAIR_TRIGGERS)))

_SCHEMES = '(?:%s)' % '|'.join(re.escape(scheme) for scheme in _items(AUTH_SCHEMES))

#: The start of a pair: a name and one of :data:`PAIR_SEPARATORS`.
_PAIR_START = re.compile(r'(?<![\w.%%\[\]-])(?P<name>[\w.%%\[\]-]{1,80})(?P<sep>%s)'
                         % '|'.join(_items(PAIR_SEPARATORS)))

#: The value of a pair: quoted (to its closing quote, else to the end of the
#: line), else one word, two after an auth scheme (``Bearer abc``).
_PAIR_VALUE = re.compile(r'''
    (?P<prefix>[bBuU]?)(?P<quote>["'])(?:(?:\\.|(?!(?P=quote))[^\\\n])*(?P=quote)|[^\n]*)
  | (?i:%s[ \t]+)?[^\s&;,"'<>]+
    ''' % _SCHEMES, re.VERBOSE)

#: The unquoted value of a ``name: value`` pair: the rest of its line.
_LINE_VALUE = re.compile(r'''[^\n"'<>]+''')


def is_plain(text):
    """Whether ``text`` holds none of the triggers of the shapes and pairs
    the scrubber removes: :func:`scrub` would give it back as it is."""
    return not any(trigger in text for trigger in _TRIGGERS)


def scrub(text, is_secret=name_is_secret, known=()):
    """``text`` without the secrets of :data:`SHAPES`, the values of pairs
    with a name ``is_secret`` judges secret, and the ``known`` secrets (a
    URL's password, a secret route placeholder's value) in any URL encoding."""
    if known:
        text = remove_known(text, known)
    if is_plain(text):
        return text
    for shape in SHAPES:
        if any(trigger in text for trigger in shape.triggers):
            text = shape.pattern.sub(shape.replace, text)
    return _redact_pairs(text, is_secret)


def _secret_value(text, start, is_secret):
    """The value of the pair ``start`` found in ``text``, if its name is
    secret and the value not plainly a non-secret (see :data:`PLAIN_VALUES`)."""
    name = start.group('name').strip('.-')
    if not name or not is_secret(name):
        return None
    position = start.end()
    for names, after, pattern in _PLAIN_VALUES:
        if ((not names or normal_name(name) in names)
                and (not after or text.endswith(after, 0, start.start()))
                and pattern.match(text, position)):
            return None
    return _PAIR_VALUE.match(text, position)


def _secret_pairs(text, is_secret):
    """Each pair of ``text`` with a secret name, as (start, value) matches; a
    pair not secret is passed by its name only, to find ``next=/x?token=T``."""
    position = 0
    while True:
        start = _PAIR_START.search(text, position)
        if start is None:
            return
        position = start.end()
        value = _secret_value(text, start, is_secret)
        if value is None:
            continue
        if value.group('quote') is None and ':' in start.group('sep'):
            value = _LINE_VALUE.match(text, position)  # ``name: value`` is a header line
        yield start, value
        position = value.end()


def _redact_pairs(text, is_secret):
    """``text`` with the value of each pair with a secret name replaced."""
    pieces = []
    done = 0
    for start, value in _secret_pairs(text, is_secret):
        quote_char = value.groupdict().get('quote')
        replacement = REDACTED
        if quote_char is not None:
            prefix = value.group('prefix')
            closed = len(value.group(0)) > len(prefix) + 1 and value.group(0).endswith(quote_char)
            replacement = prefix + quote_char + REDACTED + (quote_char if closed else '')
        pieces.append(text[done:start.end()])
        pieces.append(replacement)
        done = value.end()
    if not pieces:
        return text
    pieces.append(text[done:])
    return ''.join(pieces)


def url_secrets(url, is_secret=name_is_secret):
    """The secret values in ``url``: its user info and password, and the
    values of its secret query and fragment parameters. A client error
    message may quote any of them without the URL's shape
    (``nonnumeric port: 'PW@host'``)."""
    secrets = set(userinfo_secrets(url))
    secrets.update(value.group(0).strip('\'"') for _, value in _secret_pairs(url, is_secret))
    secrets.discard('')
    return tuple(sorted(secrets, key=len, reverse=True))


_WORD = re.compile(r'\S*')
_USERINFO_CUTS = re.compile('[%s]' % re.escape(''.join(_items(USERINFO_CUTS))))


def userinfo_secrets(url):
    """The user info of ``url`` (to the last ``@`` of its first word, as
    ``urlsplit`` takes it, unless it is a path), as it is and
    percent-decoded, and each piece of them between :data:`USERINFO_CUTS`:
    the forms a client's error message quotes it in (``nonnumeric port:
    'PW'``, ``Failed to parse: 'dave:PW'``)."""
    scheme = _USERINFO.match(url)
    if scheme is None:
        return ()
    userinfo = _WORD.match(url, scheme.end(1)).group().rpartition('@')[0]
    if not userinfo or _is_path(userinfo):
        return ()
    forms = {userinfo, unquote(userinfo)}
    for form in tuple(forms):
        forms.update(_USERINFO_CUTS.split(form))
    return tuple(form for form in forms if form)


#: How much text past what is shown is scrubbed too: room for the widest shape
#: (a scheme and its user info), so a secret is never shown half, cut away.
MARGIN = 2048


def safe_text(text, limit, is_secret=name_is_secret, known=(), lines=False):
    """The first ``limit`` characters of ``text``, scrubbed and printable
    (line feeds kept if ``lines``): the form of any free text in a span.
    Only what can be shown is scrubbed, with a margin, so a huge text costs
    no more than a short one."""
    if known:
        text = remove_known(text, known)
    window = text if len(text) <= limit + MARGIN else text[:limit + MARGIN]
    return bound(scrub(window, is_secret), limit, len(text) - len(window), lines)


def safe_stack(exc, limit, is_secret=name_is_secret, known=()):
    """The last ``limit`` characters of the traceback of ``exc``, without
    frame locals, scrubbed: the form of a stack.

    Each piece of the traceback (a frame, an exception's message) is
    scrubbed from its start before the whole is cut, so a secret value
    longer than what is shown (a 12 KB ``SAMLResponse=...``) is recognised
    by its name and never shown in part. Pieces are scrubbed from the last
    one back, only until ``limit`` is reached."""
    pieces = traceback.format_exception(type(exc), exc, exc.__traceback__)
    shown = []
    size = 0
    index = len(pieces)
    while index and size < limit:
        index -= 1
        piece = safe_text(pieces[index], limit, is_secret, known, lines=True)
        shown.append(piece)
        size += len(piece)
    before = sum(len(piece) for piece in pieces[:index])
    return bound_tail(''.join(reversed(shown)), limit, before, lines=True)
