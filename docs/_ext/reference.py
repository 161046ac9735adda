"""Sphinx directives that write the reference from what the code holds.

``.. ot-settings::`` renders the settings table (``:prefix: ot.otel.`` for the
bridge's settings; without it, every other ``ot.*`` setting) and
``.. ot-secret-rules::`` the rules by which the scrubber judges a name secret.
Both read the package at build time, so the reference cannot drift from the
code: a setting without a description fails the build (``-W``).
"""
import importlib

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from docutils.parsers.rst import directives


class Row:
    """One documented setting: its name, its default as an INI file says it,
    the environment variables read when it is not set, and what it does."""

    def __init__(self, name, default, env, doc):
        self.name, self.default, self.env, self.doc = name, default, tuple(env or ()), doc


def settings_rows():
    """Every public setting, from ``pyramid_opentracing.config.SETTINGS``."""
    config = importlib.import_module('pyramid_opentracing.config')
    return [Row(row.name, row.default_text or default_text(row.default), row.env, row.doc)
            for row in config.SETTINGS if not row.internal]


def default_text(value):
    """A setting's typed default as an INI file would say it ('' for none)."""
    if value is None or value == () or value == {} or value == '' or value == []:
        return ''
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (tuple, list, frozenset, set)):
        return ' '.join(str(item) for item in value)
    return str(value)


def text_nodes(text):
    """Plain text, but for its ````literal```` parts: descriptions are not
    parsed as reStructuredText, so that a ``_`` or ``*`` in one is just that."""
    parts = ' '.join((text or '').split()).split('``')
    return [nodes.literal(part, part) if odd else nodes.Text(part)
            for odd, part in ((index % 2, part) for index, part in enumerate(parts)) if part]


def literal_list(names):
    paragraph = nodes.paragraph()
    for index, name in enumerate(names):
        if index:
            paragraph += nodes.Text(', ')
        paragraph += nodes.literal(name, name)
    return paragraph


class SettingsDirective(SphinxDirective):
    """The table of settings: ``:prefix:`` selects the names starting with it,
    ``:exclude:`` the names that do not."""
    option_spec = {'prefix': directives.unchanged, 'exclude': directives.unchanged}

    def run(self):
        prefix = self.options.get('prefix', 'ot.')
        exclude = self.options.get('exclude')
        rows = [row for row in settings_rows() if row.name.startswith(prefix)
                and not (exclude and row.name.startswith(exclude))]
        if not rows:
            raise self.error('no setting starts with %r' % prefix)
        table = nodes.table(classes=['ot-settings'])
        group = nodes.tgroup(cols=4)
        table += group
        for width in (28, 14, 22, 36):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        group += head
        head += self._row([nodes.paragraph(text=title) for title in
                           ('Setting', 'Default', 'Environment variable', 'Meaning')])
        body = nodes.tbody()
        group += body
        for row in rows:
            if not (row.doc or '').strip():
                self.state.document.reporter.warning(
                    'setting %s has no description' % row.name, line=self.lineno)
            default = row.default or ''
            body += self._row([
                literal_list([row.name]),
                literal_list([default]) if default else nodes.paragraph(text='(none)'),
                literal_list(row.env) if row.env else nodes.paragraph(),
                nodes.paragraph('', '', *text_nodes(row.doc)),
            ])
        return [table]

    @staticmethod
    def _row(cells):
        row = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            entry += cell
            row += entry
        return row


def secret_rules():
    """``[(title, explanation, [items])]``, each text reStructuredText: the
    ``describe_rules()`` of the scrubber (or of the redaction module)."""
    from pyramid_opentracing.redaction import describe_rules
    return describe_rules()


class SecretRulesDirective(SphinxDirective):
    """The scrubber's rules for secret names, one item each."""

    def run(self):
        lines = []
        for title, explanation, items in secret_rules():
            lines += ['* **%s.** %s' % (title, ' '.join(explanation.split())), '']
            if items and any(len(item.split()) > 1 for item in items):
                lines += ['  - %s' % ' '.join(item.split()) for item in items] + ['']
            elif items:
                lines += ['  %s' % ', '.join(items), '']
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source='<ot-secret-rules>'),
                                self.content_offset, container)
        return container.children


def setup(app):
    app.add_directive('ot-settings', SettingsDirective)
    app.add_directive('ot-secret-rules', SecretRulesDirective)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
