# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PBS modules and the pbs_latest_backup lookup through ansible-playbook against the lab's PBS."""

import uuid

from tests.integration.conftest import target
from tests.lab.pbs.model import chunk_digest
from tests.lab.pytest_plugin import run_playbook


def test_datastore_and_remote(lab):
    fake = lab.pbs.pbs
    ds = 'it-ds-' + uuid.uuid4().hex[:8]
    remote = 'it-remote-' + uuid.uuid4().hex[:8]
    run = run_playbook(target('pbs_datastore'), lab, extra_vars={'ds': ds, 'remote': remote}, diff=True)
    assert run.ok, run.explain()
    assert len(run.failed) == 4  # the expected failures, checked by the playbook
    created = run.result('Create')
    assert created['changed'] and created['diff']['before'] == {}
    # Bad input wrote nothing: the modification still found the created values.
    modified = run.result('Modify')
    assert modified['diff']['before']['gc_schedule'] == 'daily'
    # The datastore's prune job (from its keep options) went with it.
    assert not any(job.get('store') == ds for job in fake.jobs['prune'].values())
    # The cleanup removed both, and the datastore's data with it.
    assert ds not in fake.datastores and remote not in fake.remotes
    assert '/mnt/datastore/' + ds not in fake.chunk_stores


T1, T2, T3 = 1767225600, 1767312000, 1767398400


def test_jobs_run(lab):
    fake = lab.pbs.pbs
    tag = 'it-' + uuid.uuid4().hex[:8]
    src, dst = tag + '-src', tag + '-dst'

    shared = chunk_digest('shared')

    async def seed():
        fake.add_datastore(src)
        fake.add_datastore(dst)
        # Two VM snapshots share a chunk, so the store deduplicates.
        fake.add_snapshot(src, 'vm', '100', T1, chunks=[(shared, 4 * 1024 ** 2), 1024 ** 2])
        fake.add_snapshot(src, 'vm', '100', T2, chunks=[(shared, 4 * 1024 ** 2), 1024 ** 2])
        fake.add_snapshot(src, 'vm', '100', T3)
        fake.add_snapshot(src, 'ct', '101', T1, protected=True, comment='before the upgrade')
        # A garbage collection, as POST /admin/datastore/{src}/gc starts it, so pbs_info has a deduplication factor.
        fake.start_task('garbage_collection', src, 'root@pam', lambda task: fake.garbage_collect(fake.datastores[src], task))
        return round(fake.datastores[src].dedup(), 2)

    dedup = lab.call(seed())
    assert dedup > 1
    try:
        extra = {'tag': tag, 'src': src, 'dst': dst, 't1': T1, 't3': T3, 'dedup': dedup}
        run = run_playbook(target('pbs_job'), lab, extra_vars=extra, diff=True)
        assert run.ok, run.explain()
        assert len(run.failed) == 7  # the expected failures, checked by the playbook
        assert not any(job_id.startswith(tag) for kind in fake.jobs.values() for job_id in kind)
        assert len(fake.datastores[dst].snapshots) == 2
    finally:
        async def cleanup():
            for name in (src, dst):
                store = fake.datastores.pop(name, None)
                if store is not None:
                    fake.chunk_stores.pop(store.config['path'], None)
        lab.call(cleanup())
