# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""No gate skips silently: the programs the gates need are installed or their absence fails, loudly; a test that
skips for a reason tests/tools/allowed_skips.txt does not allow fails its pytest gate; the fleet report's rendering
test fails without Chromium. And the support-matrix gate covers what the README promises."""

import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLS = os.path.join(ROOT, 'tests', 'tools')
BASH = shutil.which('bash')


def bare_path(tmp_path, *programs, fakes=None):
    """A PATH directory holding only links to the named programs, and fake scripts {name: body}."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    for program in programs:
        (bin_dir / program).symlink_to(shutil.which(program))
    for name, body in (fakes or {}).items():
        script = bin_dir / name
        script.write_text('#!' + BASH + '\n' + body + '\n')
        script.chmod(0o755)
    return str(bin_dir)


def ensure_tools(path, *tools):
    return subprocess.run([BASH, os.path.join(TOOLS, 'ensure_tools.sh')] + list(tools), env={'PATH': path},
                          capture_output=True, text=True, check=False)


@pytest.mark.parametrize('tool, package', [('chromium', 'chromium fonts-dejavu-core'), ('shellcheck', 'shellcheck')])
def test_a_missing_tool_that_cannot_be_installed_fails_naming_it(tmp_path, tool, package):
    # No apt-get on the PATH: nothing can install it.
    run = ensure_tools(bare_path(tmp_path, 'id'), tool)
    assert run.returncode == 1, run
    assert 'missing: ' + tool in run.stderr
    assert 'apt-get install --no-install-recommends ' + package in run.stderr


def test_a_failed_install_fails_naming_the_tool(tmp_path):
    fakes = {'apt-get': 'echo "E: Unable to locate package $*" >&2; exit 100', 'id': 'echo 0'}
    run = ensure_tools(bare_path(tmp_path, 'timeout', 'mktemp', 'tail', 'rm', fakes=fakes), 'chromium')
    assert run.returncode == 1, run
    assert 'E: Unable to locate package' in run.stderr
    assert 'could not install chromium' in run.stderr


def test_a_present_tool_passes_without_installing(tmp_path):
    fakes = {'chromium': 'exit 0', 'apt-get': 'echo apt-get must not run >&2; exit 1'}
    run = ensure_tools(bare_path(tmp_path, 'id', fakes=fakes), 'chromium')
    assert (run.returncode, run.stdout, run.stderr) == (0, '', '')


def test_an_unknown_tool_is_refused(tmp_path):
    run = ensure_tools(bare_path(tmp_path, 'id'), 'netscape')
    assert run.returncode != 0 and "unknown tool 'netscape'" in run.stderr


def test_the_gates_ensure_their_tools():
    makefile = open(os.path.join(ROOT, 'Makefile'), encoding='utf-8').read()
    integration = re.search(r'^integration:.*\n((?:\t.*\n)+)', makefile, re.M).group(1)
    assert 'ensure_tools.sh chromium' in integration
    sanity = open(os.path.join(TOOLS, 'sanity.sh'), encoding='utf-8').read()
    assert re.search(r'^"\$here/ensure_tools.sh" shellcheck$', sanity, re.M)


# ---------------------------------------------------------------- skips in the pytest gates

def gate(tmp_path, test_source):
    """pytest_gate.sh on one test file, its JUnit report in tmp_path."""
    tests = tmp_path / 'suite'
    tests.mkdir(parents=True)
    (tests / 'test_it.py').write_text(textwrap.dedent(test_source))
    env = dict(os.environ, PYTEST_GATE_REPORTS=str(tmp_path / 'reports'), PYTEST_DISABLE_PLUGIN_AUTOLOAD='1',
               PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get('PATH', '')]))
    return subprocess.run([BASH, os.path.join(TOOLS, 'pytest_gate.sh'), 'skips', str(tests),
                           '-o', 'addopts=-p no:cacheprovider', '--rootdir', str(tests)],
                          env=env, capture_output=True, text=True, check=False, cwd=ROOT)


def test_a_skip_the_allow_list_does_not_allow_fails_the_gate(tmp_path):
    run = gate(tmp_path, '''
        import pytest

        def test_runs():
            pass

        def test_needs_a_browser():
            pytest.skip('chromium is not installed')
    ''')
    assert run.returncode == 1, run
    assert 'REFUSED skip' in run.stderr and 'test_needs_a_browser' in run.stderr
    assert 'chromium is not installed' in run.stderr


def test_an_allowed_skip_is_listed_and_passes(tmp_path):
    run = gate(tmp_path, '''
        import pytest

        def test_compares_with_the_schema():
            pytest.skip('the official PBS schema is not at /nowhere/pbs-api.json')
    ''')
    assert run.returncode == 0, run
    assert 'allowed skip' in run.stdout and 'test_compares_with_the_schema' in run.stdout


def test_a_failing_suite_stays_failed(tmp_path):
    run = gate(tmp_path, '''
        def test_fails():
            assert False
    ''')
    assert run.returncode == 1, run


def test_the_fleet_report_fails_without_chromium(monkeypatch):
    from tests.integration import test_fleet_report

    monkeypatch.setattr(test_fleet_report.shutil, 'which', lambda name: None)
    monkeypatch.delenv('CI', raising=False)
    with pytest.raises(pytest.fail.Exception, match='chromium is not installed'):
        test_fleet_report.chromium()


# ---------------------------------------------------------------- the support matrix

def matrix_releases():
    names = os.listdir(os.path.join(TOOLS, 'matrix'))
    return sorted(m.group(1) for m in map(re.compile(r'^requirements-(\d+\.\d+)\.txt$').match, names) if m)


def test_every_promised_release_is_tested():
    """The README's support matrix names exactly the releases the gates run: .venv's and the matrix gate's."""
    dev = open(os.path.join(ROOT, 'requirements-dev.txt'), encoding='utf-8').read()
    main = re.search(r'^ansible-core==(\d+\.\d+)\.\d+$', dev, re.M).group(1)
    tested = sorted(set(matrix_releases()) | {main})
    for page in ('README.md', os.path.join('docs', 'getting-started.md')):
        text = open(os.path.join(ROOT, page), encoding='utf-8').read()
        row = re.search(r'^\| ansible-core \|([^|]*)\|', text, re.M).group(1)
        assert sorted(set(re.findall(r'\b2\.\d+\b', row))) == tested, page
        # Python: only 3.11 runs in the tests, so no page promises the modules run on older versions.
        python_rows = re.findall(r'^\| Python(?! packages)[^|]*\|([^|]*)\|', text, re.M)
        assert python_rows and all('3.11' in cell and 'and later' not in cell for cell in python_rows), page
    promised = tested
    runtime = open(os.path.join(ROOT, 'meta', 'runtime.yml'), encoding='utf-8').read()
    assert re.search(r'^requires_ansible: ">=%s\.0"' % re.escape(promised[0]), runtime, re.M)


@pytest.mark.parametrize('release', matrix_releases())
def test_each_matrix_venv_pins_its_release(release):
    text = open(os.path.join(TOOLS, 'matrix', 'requirements-%s.txt' % release), encoding='utf-8').read()
    assert re.search(r'^ansible-core==%s\.\d+$' % re.escape(release), text, re.M)


def test_the_smoke_set_names_existing_tests():
    lines = open(os.path.join(TOOLS, 'matrix', 'smoke.txt'), encoding='utf-8').read().splitlines()
    ids = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith('#')]
    assert ids
    for node in ids:
        path, name = node.split('::', 1)
        source = open(os.path.join(ROOT, path), encoding='utf-8').read()
        assert re.search(r'^def %s\(' % re.escape(name.split('[')[0]), source, re.M), node


def test_a_module_skipped_at_collection_is_judged_by_its_reason(tmp_path):
    run = gate(tmp_path, '''
        import pytest

        pytest.importorskip('no_such_module_anywhere', reason='patch_module_args needs ansible-core 2.19+')

        def test_never_collected():
            pass
    ''')
    # The whole module skipped and nothing else collected: pytest exits 5, the gate fails for that, not for the skip.
    assert 'allowed skip' in run.stdout, run
    assert run.stdout.rstrip().endswith(': patch_module_args needs ansible-core 2.19+'), run
    refused = gate(tmp_path / 'other', '''
        import pytest

        pytest.importorskip('no_such_module_anywhere', reason='needs a module nobody installs')

        def test_never_collected():
            pass
    ''')
    assert 'REFUSED skip' in refused.stderr and 'needs a module nobody installs' in refused.stderr, refused


def test_the_mypy_gate_checks_the_engine():
    """`make test` runs mypy on module_utils and plugin_utils, with its pinned version and the config in pyproject."""
    makefile = open(os.path.join(ROOT, 'Makefile'), encoding='utf-8').read()
    gates = re.search(r'^GATES := (.*)$', makefile, re.M).group(1).split()
    assert 'mypy' in gates
    recipe = re.search(r'^mypy: (.*)\n((?:\t.*\n)+)', makefile, re.M)
    assert 'link' in recipe.group(1).split('##')[0].split() and recipe.group(2).strip() == 'mypy'
    dev = open(os.path.join(ROOT, 'requirements-dev.txt'), encoding='utf-8').read()
    direct = dev.split('# --- transitive')[0]
    assert re.search(r'^mypy==[\d.]+$', direct, re.M) and re.search(r'^types-requests==[\d.]+$', direct, re.M)
    pyproject = open(os.path.join(ROOT, 'pyproject.toml'), encoding='utf-8').read()
    config = pyproject.split('[tool.mypy]', 1)[1]
    for package in ('module_utils', 'plugin_utils'):
        assert '"ansible_collections.proxfleet.proxmox.plugins.%s"' % package in config
    assert re.search(r'^check_untyped_defs = true$', config, re.M)
    readme = open(os.path.join(ROOT, 'README.md'), encoding='utf-8').read()
    assert '| mypy | `make mypy` |' in readme


def test_every_type_ignore_says_which_error_and_why():
    """A `# type: ignore` in plugins/ names its mypy error code and gives its reason on the same line."""
    for folder, _dirs, files in os.walk(os.path.join(ROOT, 'plugins')):
        for name in files:
            if not name.endswith('.py'):
                continue
            path = os.path.join(folder, name)
            for number, line in enumerate(open(path, encoding='utf-8'), 1):
                if 'type: ignore' in line:
                    assert re.search(r'# type: ignore\[[a-z-]+(?:,[a-z-]+)*\]\s+#\s*\S', line), (path, number, line)
