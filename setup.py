from setuptools import find_packages, setup

with open('README.rst', encoding='utf-8') as readme:
    long_description = readme.read()

otel = [
    'opentelemetry-api>=1.20',
    'opentelemetry-sdk>=1.20',
    'opentelemetry-opentracing-shim>=0.41b0',
    'opentelemetry-exporter-otlp-proto-http>=1.20',
    'opentelemetry-propagator-b3>=1.20',
    'opentelemetry-propagator-jaeger>=1.20',
]

sphinx = ['sphinx>=7']

setup(
    name='pyramid_opentracing',
    version='2.0.0.dev0',
    description='Distributed tracing for Pyramid applications through OpenTracing',
    long_description=long_description,
    long_description_content_type='text/x-rst',
    license='Apache-2.0',
    packages=find_packages(include=['pyramid_opentracing', 'pyramid_opentracing.*']),
    package_data={
        'pyramid_opentracing': ['py.typed'],
        'pyramid_opentracing.toolbar': ['templates/*.dbtmako', 'static/*'],
    },
    python_requires='>=3.11',
    install_requires=[
        'pyramid>=1.10,<3',
        'opentracing>=2.1,<3',
        'webob',
    ],
    extras_require={
        'otel': otel,
        'zipkin': otel + ['opentelemetry-exporter-zipkin-json>=1.20'],
        'debugtoolbar': ['pyramid_debugtoolbar>=4.10'],
        # the Sphinx pages in docs/ (their API pages import the otel and toolbar parts)
        'docs': sphinx + otel + ['pyramid_debugtoolbar>=4.10'],
        'testing': [
            'pytest',
            'pytest-cov',
            'webtest',
            'waitress',
            'gunicorn',  # the exit tests: a server with SIGTERM handling of its own
            'hypothesis',
            'basictracer',
            'jaeger-client',
            'requests',
            'pyramid_tm',
            'pyramid_retry',
            # the OTel bridge's end-to-end and side-by-side tests
            'opentelemetry-proto>=1.20',
            'opentelemetry-instrumentation-pyramid>=0.41b0',
            # one trace with OpenTelemetry's own instrumentations, Zipkin
            # export, and OpenTelemetry's Pyramid test suite run on the bridge
            'opentelemetry-instrumentation-sqlalchemy>=0.41b0',
            'opentelemetry-instrumentation-requests>=0.41b0',
            'opentelemetry-distro>=0.41b0',
            'opentelemetry-test-utils>=0.41b0',
            'opentelemetry-exporter-zipkin-json>=1.20',
            'werkzeug',  # OpenTelemetry's Pyramid tests call the app through its test client
            'sqlalchemy<2.1',  # the range opentelemetry-instrumentation-sqlalchemy 0.66b1 instruments
            # the Tracing panel, driven in headless Chromium
            'pyramid_debugtoolbar>=4.10',
            'selenium>=4.11',
            # the template helper in each template language
            'pyramid_jinja2',
            'pyramid_chameleon',
            'pyramid_mako',
        ] + otel + sphinx,
        # benchmarks/overhead.py compares against OpenTelemetry's own
        # Pyramid instrumentation (and fetches the original 1.0.0 itself).
        # what opentelemetry-instrument checks before loading our instrumentor
        'instruments': ['pyramid>=1.10,<3'],
        'bench': ['opentelemetry-instrumentation-pyramid>=0.41b0'] + otel,
    },
    classifiers=[
        'Framework :: Pyramid',
        'Programming Language :: Python :: 3',
        'Programming Language :: Python :: 3 :: Only',
        'Programming Language :: Python :: 3.11',
        'Programming Language :: Python :: 3.12',
        'Programming Language :: Python :: 3.13',
    ],
    entry_points={
        # opentelemetry-instrument: every Pyramid application traced by this package
        'opentelemetry_instrumentor': [
            'pyramid_opentracing = pyramid_opentracing.instrumentation:PyramidOpenTracingInstrumentor',
        ],
        # after every instrumentor is loaded: OpenTelemetry's Pyramid one is turned off
        'opentelemetry_post_instrument': [
            'pyramid_opentracing = pyramid_opentracing.instrumentation:turn_off_opentelemetry_pyramid',
        ],
    },
    zip_safe=False,
)
