"""Sphinx configuration: ``sphinx-build -W -b html docs docs/_build/html``."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '_ext'))

project = 'pyramid_opentracing'
author = 'pyramid_opentracing contributors'
copyright = '2017-2026, ' + author
try:
    from importlib.metadata import version as _version
    release = _version('pyramid_opentracing')
except Exception:  # not installed: the build still reads the source tree
    release = '2.0.0.dev0'
version = release

extensions = ['sphinx.ext.autodoc', 'reference']
exclude_patterns = ['_build']
html_theme = 'alabaster'
autodoc_member_order = 'bysource'
# Only our own docstrings: those of the base classes (requests' HTTPAdapter, the
# toolbar's DebugPanel) refer to labels of their own docs.
autodoc_inherit_docstrings = False
autodoc_default_options = {'show-inheritance': False}
# The Python objects the API pages name from other packages are not documented here.
nitpicky = False
# Texts from the code keep their quotes as written.
smartquotes = False
