"""The one scrubber: every text on its way into a span passes through here.

Three rules, one place:

* :func:`name_is_secret`: whether a name (header, environ key, query or form
  parameter, key in a message) names a secret, judged on its parts.
* :func:`scrub`: ``text`` without URL user info and without the values of
  secret ``name=value``, ``name: value`` and ``"name": "value"`` pairs,
  wherever they appear (a header, a URL's query or fragment, an exception
  message, a stack), and without secrets known by value.
* :func:`bound`, :func:`safe_text` and :func:`safe_stack`: every value is
  printable (control characters escaped) and within its size limit, the
  mark of a cut included.

Texts with none of ``@ = : %`` (nor a quoted ``', '`` pair) are returned as
they are, with no work done: most tag values on most requests.
"""
import functools
import re
import traceback
from urllib.parse import unquote, unquote_plus

REDACTED = '[REDACTED]'

#: Name parts that make a name secret: ``X-Api-Key``, ``user.pwd``, ``otp``.
SECRET_PARTS = frozenset({
    'key', 'keys', 'auth', 'authn', 'authz', 'oauth', 'pw', 'pwd', 'pass', 'pin',
    'sig', 'sign', 'otp', 'totp', 'hotp', 'mfa', 'oidc', 'bearer', 'cvv', 'cvc',
    'cvv2', 'psw', 'pswd',
})

#: A part ending in ``key`` or ``pass`` after one of these, run together in
#: lower case: ``masterkey``, ``appkey``, ``userpass``, ``dbpass`` (while
#: ``monkey``, ``turnkey``, ``bypass``, ``compass`` are words).
RUN_TOGETHER = {
    'key': frozenset({
        'master', 'signing', 'sign', 'encryption', 'encrypt', 'crypto', 'account',
        'subscription', 'auth', 'app', 'client', 'access', 'private', 'secret', 'session',
        'shared', 'storage', 'function', 'functions', 'host', 'admin', 'root', 'service',
        'webhook', 'consumer', 'license', 'hmac', 'aes', 'ssh', 'deploy', 'merchant',
        'partner', 'server', 'user', 'db', 'integration', 'developer', 'dev', 'secure'}),
    'pass': frozenset({
        'user', 'db', 'admin', 'root', 'sql', 'mysql', 'pg', 'ftp', 'smtp', 'mail', 'ldap',
        'wifi', 'ssh', 'proxy', 'app', 'api', 'master', 'login', 'ssl', 'key', 'vnc',
        'redis', 'auth', 'basic'}),
}

#: A ``code`` after one of these (separated or not) is a secret code:
#: ``invite_code``, ``securityCode``, ``one_time_code``, ``pincode``, while
#: ``zip_code``, ``country_code``, ``status_code``, ``error_code``,
#: ``promo_code`` stay readable.
CODE_QUALIFIERS = (
    'security', 'invite', 'invitation', 'recovery', 'backup', 'verification', 'verify',
    'onetime', 'pin', 'pass', 'auth', 'access', 'device', 'otp', 'mfa', 'sms', '2fa',
    'twofactor', 'reset', 'activation', 'confirmation', 'login', 'unlock',
)

#: Stems that make a name secret wherever they appear in it, separators
#: removed: ``access_token``, ``authtoken``, ``X-Hub-Signature-256``,
#: ``SAMLResponse``, ``code_verifier``, ``PHPSESSID``.
SECRET_STEMS = (
    'token', 'secret', 'passw', 'passphrase', 'passkey', 'credential', 'signature',
    'cookie', 'session', 'sessid', 'apikey', 'accesskey', 'privatekey', 'authoriz',
    'csrf', 'xsrf', 'jwt', 'saml', 'hmac', 'assertion', 'verifier', 'dpop',
    'cardnum', 'ccnum', 'magiclink', 'appcheck',
)

#: Names secret only as a whole: OAuth's authorization ``code`` (while
#: ``zip_code`` is not), the user a server authenticated, and the token
#: response of WS-Federation.
SECRET_NAMES = frozenset({'code', 'device-code', 'remote-user', 'wresult'})

#: Names ending so are exception classes (``KeyError: 'k'``), not secrets.
_EXCEPTION_SUFFIXES = ('error', 'exception', 'warning')

#: Environ keys of request headers start so: ``HTTP_AUTHORIZATION``.
_ENVIRON_PREFIX = 'http-'

#: The words of a name: ``SAMLResponse`` -> SAML, Response; ``x_api-Key`` -> x, api, Key.
_PARTS = re.compile(r'[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+')

_CACHE_LIMIT = 4096
_verdicts = {}


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
        verdict = _judge(name)
        if len(_verdicts) < _CACHE_LIMIT:
            _verdicts[name] = verdict
    return verdict


def _judge(name):
    raw = unquote_plus(name)
    normal = normal_name(raw)
    if normal in SECRET_NAMES:
        return True
    if normal.endswith(_EXCEPTION_SUFFIXES):
        return False  # an exception class: ``KeyError: 'k'``
    compact = ''.join(_PARTS.findall(normal))
    if any(stem in compact for stem in SECRET_STEMS):
        return True
    if 'code' in compact and _is_secret_code(compact):
        return True
    parts = [part.lower() for part in _PARTS.findall(raw[5:] if raw[:5].lower() == 'http_' else raw)]
    return any(part in SECRET_PARTS or _is_run_together(part) for part in parts)


def _is_secret_code(compact):
    position = compact.find('code')
    while position >= 0:
        if compact[:position].endswith(CODE_QUALIFIERS):
            return True
        position = compact.find('code', position + 1)
    return False


def _is_run_together(part):
    for ending, prefixes in RUN_TOGETHER.items():
        if part.endswith(ending) and part[:-len(ending)] in prefixes:
            return True
    return False


# -- text ---------------------------------------------------------------------

#: The characters every scrubbed shape contains.
_TRIGGERS = ('@', '=', ':', '%', "', '", '", "')

#: ``scheme://userinfo@``: user info runs to the last ``@`` before a blank or
#: quote, so a password may hold ``/ # ?``; text holding ``/`` but no ``:``
#: before an ``@`` is a path (``/p?mail=a@b``), not user info.
_USERINFO = re.compile(r'''(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]{0,31}://)([^\s<>"'`@]{0,1024})@''')

#: The same, percent-encoded as a query value is (``next=https%3A%2F%2Fu%3APW%40host``).
_ENCODED_USERINFO = re.compile(
    r'''(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]{0,31}%3[Aa]%2[Ff]%2[Ff])'''
    r'''((?:[^\s<>"'`@&%]|%(?!40)[0-9A-Fa-f]{2}){0,1024})%40''')

#: ``user:password@host`` without a scheme: a Host header, an authority
#: quoted in a message.
_BARE_USERINFO = re.compile(r'''(?<![\w.%+:/@-])[\w.%+-]{1,256}:[^\s@/<>"'`]{1,1024}@(?=[\w\[])''')

#: An auth scheme: the word after it is the credential.
_SCHEMES = r'(?:bearer|basic|digest|token|negotiate|ntlm|hoba|mutual|dpop|aws4-hmac-sha256)'

#: The start of a pair: ``name=``, ``name: ``, ``"name": ``, ``name%3D``,
#: ``('name', `` (a tuple in a repr). Not ``scheme://``.
_PAIR_START = re.compile(r'''
    (?<![\w.%\[\]-])(?P<name>[\w.%\[\]-]{1,80})
    (?P<sep>["']?[ \t]*(?:=|:(?!//)|%3[DdAa])[ \t]*|["'][ \t]*,[ \t]*(?=[bBuU]?["']))
    ''', re.VERBOSE)

#: The value of a pair: quoted (to its closing quote, else to the end of the
#: line), else one word, two after an auth scheme (``Bearer abc``).
_PAIR_VALUE = re.compile(r'''
    (?P<prefix>[bBuU]?)(?P<quote>["'])(?:(?:\\.|(?!(?P=quote))[^\\\n])*(?P=quote)|[^\n]*)
  | (?i:%s[ \t]+)?[^\s&;,"'<>]+
    ''' % _SCHEMES, re.VERBOSE)

#: The unquoted value of a ``name: value`` pair: the rest of its line.
_LINE_VALUE = re.compile(r'''[^\n"'<>]+''')


def scrub(text, is_secret=name_is_secret, known=()):
    """``text`` without URL user info, secret pair values and ``known`` values.

    ``is_secret`` judges names; ``known`` are secrets known by value (a
    password taken from a URL, a path segment filling a secret route
    placeholder), removed as they are and in any URL encoding.
    """
    if known:
        text = _remove_known(text, known)
    if not any(trigger in text for trigger in _TRIGGERS):
        return text
    if '@' in text:
        text = _USERINFO.sub(_drop_userinfo, text)
        if '@' in text:
            text = _BARE_USERINFO.sub('', text)
    if '%40' in text:
        text = _ENCODED_USERINFO.sub(_drop_encoded_userinfo, text)
    return _redact_pairs(text, is_secret)


def _drop_userinfo(match):
    userinfo = match.group(2)
    if '/' in userinfo and ':' not in userinfo:
        return match.group(0)
    return match.group(1)


def _drop_encoded_userinfo(match):
    userinfo = match.group(2).lower()
    if ('/' in userinfo or '%2f' in userinfo) and '%3a' not in userinfo and ':' not in userinfo:
        return match.group(0)
    return match.group(1)


def _pair_is_secret(name, is_secret):
    name = name.strip('.-')
    return bool(name) and is_secret(name)


def _redact_pairs(text, is_secret):
    """``text`` with the value of each pair with a secret name replaced. A
    pair that is not secret is stepped over by its name only, so a secret
    pair inside its value (``next=/x?token=T``) is still found."""
    pieces = []
    done = position = 0
    while True:
        start = _PAIR_START.search(text, position)
        if start is None:
            break
        position = start.end()
        if not _pair_is_secret(start.group('name'), is_secret):
            continue
        value = _PAIR_VALUE.match(text, position)
        if value is None:
            continue
        quote_char = value.group('quote')
        if quote_char is not None:
            prefix = value.group('prefix')
            closed = len(value.group(0)) > len(prefix) + 1 and value.group(0).endswith(quote_char)
            replacement = prefix + quote_char + REDACTED + (quote_char if closed else '')
        else:
            replacement = REDACTED
            if ':' in start.group('sep'):
                value = _LINE_VALUE.match(text, position)  # ``name: value`` is a header line
        pieces.append(text[done:position])
        pieces.append(replacement)
        done = position = value.end()
    if not pieces:
        return text
    pieces.append(text[done:])
    return ''.join(pieces)


#: Known secrets shorter than this are not searched for in free text, where
#: they would erase ordinary words.
MIN_KNOWN_LENGTH = 4


#: Known secrets longer than this are not made into a regular expression
#: (see :func:`known_pattern`), whose cost grows with them: a text holding
#: one in another URL encoding is redacted whole.
MAX_PATTERN_LENGTH = 256


def _remove_known(text, known):
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


@functools.lru_cache(maxsize=64)
def known_pattern(secret):
    """A regular expression matching ``secret`` with any of its characters
    as it is or percent-encoded (hex digits in either case: ``%2b``, and an
    unreserved character encoded: ``%54`` for ``T``), a space also as ``+``
    (a query string's form) and a ``+`` as a space (a query's ``+``
    decoded), and a non-ASCII character also as a WSGI environ holds it (its
    UTF-8 bytes as Latin-1). Cached: the secrets of one request are looked
    for in each of its texts."""
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


def url_secrets(url, is_secret=name_is_secret):
    """The secret values in ``url``: its user info and password, and the
    values of its secret query and fragment parameters. A client error
    message may quote any of them without the URL's shape
    (``nonnumeric port: 'PW@host'``)."""
    secrets = list(userinfo_secrets(url))
    position = 0
    while True:
        start = _PAIR_START.search(url, position)
        if start is None:
            break
        position = start.end()
        value = _PAIR_VALUE.match(url, position)
        if value is not None and _pair_is_secret(start.group('name'), is_secret):
            secrets.append(value.group(0).strip('\'"'))
    return tuple(sorted({secret for secret in secrets if secret}, key=len, reverse=True))


#: Where a client's parser may cut user info: ``urlsplit`` ends the authority
#: at the first ``/ ? #``, ``http.client`` splits host and port at ``:``.
_USERINFO_CUTS = re.compile(r'[/?#@:]')


def userinfo_secrets(url):
    """The user info of ``url`` (to the last ``@`` of its first word, as
    ``urlsplit`` takes it; ``/p?mail=a@b`` is a path), as it is and
    percent-decoded, and each of their pieces between ``/ ? # @ :``: the
    forms a client's error message quotes it in (``nonnumeric port: 'PW'``,
    ``Failed to parse: 'dave:PW'``)."""
    scheme_end = url.find('://')
    if scheme_end < 0 or not _USERINFO.match(url):
        return ()
    rest = url[scheme_end + 3:]
    word_end = len(rest)
    for blank in (' ', '\t', '\n'):
        index = rest.find(blank)
        if 0 <= index < word_end:
            word_end = index
    userinfo = rest[:word_end].rpartition('@')[0]
    cut = _USERINFO_CUTS.search(userinfo)
    if not userinfo or (cut is not None and cut.group() != ':' and cut.group() != '@'):
        return ()  # a path holding ``@``, not user info
    forms = {userinfo, unquote(userinfo)}
    for form in tuple(forms):
        forms.update(_USERINFO_CUTS.split(form))
    return tuple(form for form in forms if form)


# -- size ---------------------------------------------------------------------

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
#: escape: a backend, a log or a terminal showing a span then never reads a
#: line break, a NUL or an escape sequence from a request.
CONTROLS = re.compile('[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]')

#: The same without the line feed: for texts made of lines (a stack, an
#: exception's message, a tag listing a mapping's items one per line).
CONTROLS_BUT_LINE_FEED = re.compile('[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]')


def _escape(match):
    code = ord(match.group())
    return ('\\x%02x' if code <= 0xff else '\\u%04x') % code


def printable(text, lines=False):
    """``text`` with its control characters escaped (see :data:`CONTROLS`),
    line feeds kept if ``lines``. A text with none costs one
    ``str.isprintable()``."""
    return text if text.isprintable() else escaped(text, lines)


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
    """``text`` printable (see :func:`printable`) and cut to at most
    ``limit`` characters, the end saying how many more there were, with
    ``hidden`` characters beyond ``text`` that were never looked at."""
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


#: How much text around what is shown is scrubbed too: room for the widest
#: shape the scrubber recognises (a scheme and its user info), so that a
#: secret is never shown half because its start or end was cut away.
MARGIN = 2048


def safe_text(text, limit, is_secret=name_is_secret, known=(), lines=False):
    """The first ``limit`` characters of ``text``, scrubbed and printable
    (line feeds kept if ``lines``): the form of any free text in a span.
    Only what can be shown is scrubbed, with a margin, so a huge text costs
    no more than a short one."""
    if known:
        text = _remove_known(text, known)
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
