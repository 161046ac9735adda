"""A Tracing panel for pyramid_debugtoolbar: each request's trace as a waterfall.

Include both add-ons and name the panel in the toolbar's settings::

    pyramid.includes = pyramid_debugtoolbar pyramid_opentracing
    debugtoolbar.extra_panels = pyramid_opentracing.toolbar.TracingPanel

Needs the ``debugtoolbar`` extra. Nothing here is imported, and no span is
kept, unless the toolbar loads the panel.
"""
from .panel import TracingPanel

__all__ = ['TracingPanel']
