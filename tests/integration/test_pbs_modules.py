# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PBS modules and the pbs_latest_backup lookup through ansible-playbook against the lab's PBS."""

import uuid

from tests.integration.conftest import target
from tests.lab.pytest_plugin import run_playbook


def test_datastore_and_remote(lab):
    fake = lab.pbs.pbs
    ds = 'it-ds-' + uuid.uuid4().hex[:8]
    remote = 'it-remote-' + uuid.uuid4().hex[:8]
    run = run_playbook(target('pbs_datastore'), lab, extra_vars={'ds': ds, 'remote': remote}, diff=True)
    assert run.ok, run.explain()
    created = run.result('Create')
    assert created['changed'] and created['diff']['before'] == {}
    # The cleanup removed both, and the datastore's data with it.
    assert ds not in fake.datastores and remote not in fake.remotes
    assert '/mnt/datastore/' + ds not in fake.chunk_stores
