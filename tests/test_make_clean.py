"""``make clean`` removes everything git ignores: what the virtualenvs, the
tests and the benchmarks fetch or leave behind, and nothing else."""
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent

#: Files of the checkout, which make clean keeps.
KEPT = ['setup.py', 'tests/test_it.py', 'benchmarks/overhead.py', 'pyramid_opentracing/x.py']


def ignored_paths():
    """A path matching each pattern of the checkout's ``.gitignore`` files,
    at the top of the directory of its ``.gitignore``."""
    paths = []
    for ignore in [ROOT / '.gitignore'] + sorted(ROOT.glob('[!.]*/.gitignore')):
        base = ignore.parent.relative_to(ROOT)
        for line in ignore.read_text().splitlines():
            pattern = line.strip()
            if pattern and not pattern.startswith('#'):
                path = base / pattern.rstrip('/').replace('*', 'x')
                paths.append(str(path / 'x') if pattern.endswith('/') else str(path))
    return paths


@pytest.mark.skipif(shutil.which('make') is None, reason='make is not installed')
def test_make_clean_leaves_nothing_git_ignores(tmp_path):
    shutil.copy(ROOT / 'Makefile', tmp_path)
    left = ignored_paths() + ['tests/__pycache__/x.pyc', '.venv/pyramid2/ready']
    assert '.otel_pyramid_suite/x' in left and 'benchmarks/.original/x' in left
    for name in left + KEPT:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text('')
    subprocess.run(['make', '-s', 'clean'], cwd=str(tmp_path), check=True)
    remaining = sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob('*')
                       if path.is_file())
    assert remaining == sorted(KEPT + ['Makefile'])
