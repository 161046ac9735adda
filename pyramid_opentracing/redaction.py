"""Keep secrets out of spans.

Request data becomes span tags in three places: the ``http.url`` tag, traced
request attributes such as ``headers``, ``environ`` or ``GET``, and error logs.
:class:`Redactor` decides which names are secret (headers, environ keys, query
and form parameters share one rule) and rewrites values before they are tagged.
"""
from urllib.parse import unquote_plus, urlsplit, urlunsplit

REDACTED = '[REDACTED]'

#: Header names (lower case, dashes) whose values are always redacted.
SECRET_HEADERS = frozenset({
    'authorization', 'proxy-authorization', 'cookie', 'set-cookie',
    'x-api-key', 'api-key', 'apikey', 'x-auth-token', 'x-csrf-token',
    'x-xsrf-token', 'x-amz-security-token', 'x-goog-api-key',
    'remote-user',  # the environ's REMOTE_USER, like request.remote_user
})

#: Query and form parameter names (lower case) whose values are redacted.
SECRET_PARAMETERS = frozenset({
    'token', 'access_token', 'refresh_token', 'id_token', 'password',
    'passwd', 'pwd', 'secret', 'client_secret', 'sig', 'signature', 'key',
    'api_key', 'apikey', 'api-key', 'auth', 'code', 'session', 'sessionid',
})

#: A name containing one of these words is secret, whatever else it says
#: (``X-Upstream-Authorization``, ``db_password``, ``X-Session-Token``).
SECRET_WORDS = ('auth', 'token', 'secret', 'passw', 'api-key', 'apikey',
                'api_key', 'cookie', 'session', 'signature', 'credential')

#: Request attributes whose whole value is a secret.
SECRET_ATTRIBUTES = frozenset({'authorization', 'cookies', 'remote_user'})

#: Request attributes holding the raw body: tagged by size only, since a body
#: may carry anything (passwords in a login form, tokens in JSON).
BODY_ATTRIBUTES = frozenset({
    'body', 'text', 'json', 'json_body', 'body_file', 'body_file_raw',
    'body_file_seekable',
})


def _normalise(name):
    name = name.lower().replace('_', '-')
    if name.startswith('http-'):  # environ keys: HTTP_AUTHORIZATION
        name = name[5:]
    return name


class Redactor:
    """Decides what is secret and rewrites URLs and mappings accordingly.

    ``headers`` and ``parameters`` add names to the built-in lists; the
    built-in lists cannot be switched off.
    """

    def __init__(self, headers=(), parameters=()):
        self.headers = SECRET_HEADERS | {_normalise(h) for h in headers}
        self.parameters = SECRET_PARAMETERS | {p.lower() for p in parameters}
        self._verdicts = {}

    def is_secret(self, name):
        """Whether values named ``name`` (header, environ key, parameter) are secret."""
        verdict = self._verdicts.get(name)
        if verdict is None:
            normal = _normalise(name)
            verdict = (
                normal in self.headers
                or name.lower() in self.parameters
                or normal in self.parameters
                or any(word in normal or word in name.lower() for word in SECRET_WORDS)
            )
            if len(self._verdicts) < 4096:
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

    def url(self, url):
        """``url`` without user info and with secret query values replaced."""
        if '@' not in url and '?' not in url:
            return url
        scheme, netloc, path, query, fragment = urlsplit(url)
        netloc = netloc.rpartition('@')[2]
        return urlunsplit((scheme, netloc, path, self.query(query), fragment))
