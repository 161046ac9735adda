"""An optional package that is missing is named in the error, with the
command that installs it. Each test hides the package in a fresh process."""
import subprocess
import sys
import textwrap


def run_without(module, code):
    """Run ``code`` in a new interpreter where ``module`` cannot be imported."""
    script = 'import sys\nsys.modules[%r] = None\n' % module + textwrap.dedent(code)
    return subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                          timeout=60)


def test_outgoing_http_request_without_requests_says_to_install_it():
    result = run_without('requests', '''
        from pyramid_opentracing import outgoing
        for call in (lambda: outgoing.http_request(None, 'GET', 'http://127.0.0.1:9/'),
                     outgoing.traced_session, outgoing.TracingAdapter):
            try:
                call()
            except ImportError as exc:
                print(exc)
        ''')
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and all('pip install requests' in line for line in lines), result


def test_the_bridge_without_the_otel_extra_says_to_install_it():
    result = run_without('opentelemetry', '''
        try:
            import pyramid_opentracing.otel
        except ImportError as exc:
            print(exc)
        ''')
    assert 'pip install "pyramid_opentracing[otel]"' in result.stdout, result
    assert 'pip install -e ".[otel]"' in result.stdout


def test_naming_the_bridge_without_the_otel_extra_fails_at_start_up_saying_so():
    result = run_without('opentelemetry', '''
        from pyramid.config import Configurator
        from pyramid.exceptions import ConfigurationError
        config = Configurator(settings={
            'ot.base_tracer_func': 'pyramid_opentracing.otel.tracer_from_settings'})
        config.include('pyramid_opentracing')
        try:
            config.commit()
        except ConfigurationError as exc:
            print(exc)
        ''')
    assert "ot.base_tracer_func = 'pyramid_opentracing.otel.tracer_from_settings'" in result.stdout
    assert 'pip install "pyramid_opentracing[otel]"' in result.stdout, result
