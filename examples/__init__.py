"""Runnable examples of pyramid_opentracing; run each from the repository root.

``python -m examples.tween_app``, ``python -m examples.decorator_app`` and
``python -m examples.client_server`` each make a few requests and print the
spans they produced; ``make demo`` serves ``development.ini``.
"""
