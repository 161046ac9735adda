"""OpenTelemetry's web SDK for the browser tests, fetched and bundled at test time.

``npm install`` takes the packages of :data:`PACKAGES` from the npm registry
into the git-ignored ``.browser_sdk/`` (once: later runs reuse it), and
esbuild, one of them, bundles ``tests/browser/document_load.js`` with them
into one script a page can load. Needs Node.js and npm (``.ci/run``
installs them where they are missing).
"""
import os
import pathlib
import shutil
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent
CACHE = ROOT / '.browser_sdk'
ENTRY = ROOT / 'tests' / 'browser' / 'document_load.js'

#: The npm packages, at versions that resolve together.
PACKAGES = (
    '@opentelemetry/sdk-trace-web@2.12.0',
    '@opentelemetry/sdk-trace-base@2.12.1',
    '@opentelemetry/resources@2.12.1',
    '@opentelemetry/exporter-trace-otlp-proto@0.223.1',
    '@opentelemetry/instrumentation@0.223.0',
    '@opentelemetry/instrumentation-document-load@0.68.0',
    'esbuild@0.28.2',
)


def missing():
    """Why the bundle cannot be built here, or None."""
    for tool in ('node', 'npm'):
        if shutil.which(tool) is None:
            return '%s is not installed (apt-get install nodejs npm)' % tool
    return None


def bundle():
    """The path of the bundled page script, built if it is missing or older
    than the entry script."""
    target = CACHE / 'document_load.bundle.js'
    if target.exists() and target.stat().st_mtime >= ENTRY.stat().st_mtime:
        return target
    CACHE.mkdir(exist_ok=True)
    if not (CACHE / 'package.json').exists():
        (CACHE / 'package.json').write_text('{"private": true}\n')
    subprocess.run(['npm', 'install', '--no-audit', '--no-fund', '--silent', *PACKAGES],
                   cwd=CACHE, check=True, timeout=600, env=dict(os.environ, CI='true'))
    subprocess.run([str(CACHE / 'node_modules' / '.bin' / 'esbuild'), str(ENTRY), '--bundle',
                    '--format=iife', '--log-level=warning', '--outfile=%s' % target],
                   cwd=CACHE, check=True, timeout=120, env=dict(os.environ, NODE_PATH=str(CACHE / 'node_modules')))
    return target
