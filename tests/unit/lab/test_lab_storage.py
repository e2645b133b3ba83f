# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""/storage: where the lab corrects fakepve to read storage.cfg as PVE does."""

import json

import pytest


def test_shared_types_read_back_shared(lab, api):
    client = api(lab.clusters[0])
    client.storage.post(storage='lab-nfs-shared', type='nfs', server='192.0.2.1', export='/x', content='backup')
    client.storage.post(storage='lab-dir-local', type='dir', path='/srv/lab-dir-local', content='iso')
    try:
        # PVE::Storage::Plugin::parse_config marks every storage of a shared type shared ...
        assert client.storage('lab-nfs-shared').get()['shared'] == 1
        listed = dict((s['storage'], s) for s in client.storage.get())
        assert listed['lab-nfs-shared']['shared'] == 1
        # ... and only those: a dir storage is shared only when its config says so.
        assert 'shared' not in client.storage('lab-dir-local').get()
    finally:
        client.storage('lab-nfs-shared').delete()
        client.storage('lab-dir-local').delete()


def test_pbs_encryption_key(lab, api):
    client = api(lab.clusters[0])
    base = dict(type='pbs', server='pbs.example.com', datastore='main', content='backup')
    try:
        answer = client.storage.post(storage='lab-pbs-enc', **{'encryption-key': 'autogen'}, **base)
        # The new key comes back once, in the create call's answer; storage.cfg keeps its fingerprint.
        key = json.loads(answer['config']['encryption-key'])
        assert client.storage('lab-pbs-enc').get()['encryption-key'] == key['fingerprint']
        with pytest.raises(Exception) as caught:
            client.storage.post(storage='lab-pbs-pub', **{'master-pubkey': 'eA=='}, **base)
        assert "'master-pubkey' can only be used together with 'encryption-key'" in str(caught.value)
    finally:
        client.storage('lab-pbs-enc').delete()
