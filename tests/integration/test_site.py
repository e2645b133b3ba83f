# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/site.yml with the demo's estate (tests/demo/estate.yml), the clusters from the lab's variables
(lab_clusters) and the Backup Server given as site_pbs_servers: check mode, real, check again and real again (no
change the second time)."""

import os

import pytest

from tests.demo.__main__ import HERE as DEMO_DIR, add_templates
from tests.lab.estate import REPO_ROOT
from tests.lab.pytest_plugin import run_playbook

SITE = os.path.join(REPO_ROOT, 'playbooks', 'site.yml')


def site_vars(lab):
    """The Backup Server as site_pbs_servers (named as estate.yml names it); the clusters come from the lab's own
    variables (lab_clusters, which run_playbook passes), as with `-e @.lab/lab_vars.yml`."""
    pbs = lab.pbs
    return {'site_pbs_servers': [{'name': 'backup', 'api_host': pbs.host, 'api_port': pbs.port,
                                  'api_token_id': pbs.token_id, 'api_token_secret': pbs.token_secret,
                                  'ca_path': pbs.ca_path, 'fingerprint': pbs.fingerprint}],
            'demo_pbs_token_id': pbs.token_id, 'demo_pbs_token_secret': pbs.token_secret}


@pytest.mark.lab(clusters=2, nodes=2, guests=4)
def test_site_check_real_check_real(lab_fn):
    add_templates(lab_fn)
    one, two = lab_fn.clusters
    variables = site_vars(lab_fn)
    estate = ['-e', '@' + os.path.join(DEMO_DIR, 'estate.yml')]
    # Check mode on the fresh estate, backups included: guests, firewall, HA, and the backup role's datastore, its
    # jobs, the pbs storages and backup jobs are reported, nothing is written.
    checked = run_playbook(SITE, lab_fn, extra_vars=variables, check=True, extra_args=estate)
    assert checked.ok, checked.explain()
    assert checked.changed and one.pve.vm(500) is None and two.pve.vm(600) is None
    assert 'demo-web' not in one.pve.firewall_config('cluster')['groups']
    changed = [t['task'] for t in checked.changed]
    assert 'proxfleet.proxmox.backup : Ensure the datastores and their GC schedules' in changed, checked.explain()
    assert 'proxfleet.proxmox.backup : Ensure the pbs storages' in changed, checked.explain()
    assert 'demo' not in lab_fn.pbs.pbs.datastores

    real = run_playbook(SITE, lab_fn, extra_vars=variables, extra_args=estate)
    assert real.ok, real.explain()
    assert one.pve.vm(500).status == 'running' and one.pve.vm(501).status == 'running'
    assert two.pve.vm(600).status == 'running'
    assert one.pve.ct(502) is not None
    assert 'demo-web' in one.pve.firewall_config('cluster')['groups']
    assert len(lab_fn.pbs.pbs.datastores['demo'].snapshots) == 3

    for check in (True, False):
        again = run_playbook(SITE, lab_fn, extra_vars=variables, check=check, extra_args=estate)
        assert again.ok, again.explain()
        assert [t['task'] for t in again.changed] == [], again.explain()
