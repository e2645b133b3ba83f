# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The first playbook of docs/getting-started.md runs as written against the lab, with only its connection
values (host, token, CA file) swapped for the lab's: a guide whose example breaks fails here."""

import re
from pathlib import Path

import yaml

from tests.lab.pytest_plugin import run_playbook

GUIDE = Path(__file__).resolve().parents[2] / 'docs' / 'getting-started.md'
GROUP = 'group/proxfleet.proxmox.proxmox'


def guide_playbook():
    """The YAML block of the guide that starts with '# site.yml', parsed."""
    blocks = re.findall(r'^```yaml\n(.*?)^```', GUIDE.read_text(encoding='utf-8'), re.S | re.M)
    found = [b for b in blocks if b.startswith('# site.yml')]
    assert len(found) == 1, 'docs/getting-started.md should have one yaml block starting with "# site.yml"'
    return yaml.safe_load(found[0])


def test_guide_playbook_shape():
    play = guide_playbook()[0]
    defaults = play['module_defaults'][GROUP]
    assert set(defaults) == {'api_host', 'api_token_id', 'api_token_secret', 'ca_path'}
    assert defaults['api_token_secret'] == '{{ vault_pve_token_secret }}'
    assert [t.get('check_mode') for t in play['tasks']] == [None, None, True]


def test_getting_started_playbook_runs(lab):
    cluster = lab.clusters[0]
    play = guide_playbook()
    play[0]['module_defaults'][GROUP].update(api_host=cluster.host, api_port=cluster.port,
                                             api_token_id=cluster.token_id, ca_path=cluster.ca_path)
    jobs_before = dict(cluster.pve.backup_jobs)

    run = run_playbook(yaml.safe_dump(play), lab, extra_vars={'vault_pve_token_secret': cluster.token_secret})

    assert run.ok, run.explain()
    facts = run.result('Read the cluster\'s name, quorum, nodes and version')
    assert facts['cluster']['name'] == cluster.name
    summary = run.result('Show a summary')['msg']
    assert summary.startswith('{0}: {1} of {1} nodes online'.format(cluster.name, len(cluster.nodes)))
    check = run.result('See what a nightly backup job would be, without creating it')
    assert check['changed'] is True
    assert check['diff']['before'] == {} and check['diff']['after']['schedule'] == '02:00'
    assert 'nightly' not in cluster.pve.backup_jobs and dict(cluster.pve.backup_jobs) == jobs_before
