"""The code examples of README.rst and docs/*.rst, found by their ``:name:``.

Every ``.. code-block::`` of those pages starts at the left margin, gives its
options (``:name:`` among them) indented by four blanks, and its code
indented by four blanks; the tests run each block they name.
"""
import configparser
import linecache
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / 'README.rst'
DOCS = ROOT / 'docs'
PAGES = [README] + sorted(DOCS.glob('*.rst'))

_BLOCK = re.compile(r'^\.\. code-block:: (?P<language>\S+)\n'
                    r'(?P<options>(?:    :[\w-]+:.*\n)*)\n'
                    r'(?P<body>(?:    .*\n|[ \t]*\n)+)', re.M)
_NAME = re.compile(r'^    :name: (\S+)$', re.M)


class Block:
    """One example: its page, language, ``:name:`` and dedented source."""

    def __init__(self, page, match):
        self.page = page
        self.language = match.group('language')
        name = _NAME.search(match.group('options'))
        self.name = name.group(1) if name else None
        self.source = re.sub(r'(?m)^    ', '', match.group('body')).rstrip() + '\n'
        self.line = page.read_text(encoding='utf-8').count('\n', 0, match.start()) + 1

    def __repr__(self):
        return '%s:%d (%s)' % (self.page.relative_to(ROOT), self.line, self.name)


def blocks(page):
    """Every code block of ``page``."""
    return [Block(page, match) for match in _BLOCK.finditer(page.read_text(encoding='utf-8'))]


def all_blocks(languages=('python', 'ini')):
    """The blocks of every page, in the given languages."""
    return [block for page in PAGES for block in blocks(page) if block.language in languages]


def block(name):
    """The one block named ``name``, on whichever page."""
    [found] = [block for block in all_blocks() if block.name == name]
    return found


def run(example, namespace):
    """exec a Python block, its source known to linecache (as view_config needs)."""
    filename = '<%r>' % example
    linecache.cache[filename] = (len(example.source), None,
                                 example.source.splitlines(True), filename)
    exec(compile(example.source, filename, 'exec'), namespace)
    return namespace


def ini(example):
    """An INI block, parsed as PasteDeploy reads it (no interpolation here)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # setting names keep their case
    parser.read_string(example.source)
    return parser


def app_settings(example):
    """The ``[app:main]`` settings of an INI block, without ``use``."""
    return {key: value for key, value in ini(example)['app:main'].items() if key != 'use'}
