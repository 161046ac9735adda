"""Scripts that measure pyramid_opentracing: overhead (``overhead.py``) and
memory over a long run (``soak.py``). They are run by hand or by ``make
bench``, never as timed tests."""
