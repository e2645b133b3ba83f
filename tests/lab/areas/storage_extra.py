# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Storage: where fakepve's storage.cfg differs from PVE's.

- pve-storage's PVE::Storage::Plugin::parse_config marks every storage of a shared type (@SHARED_STORAGE: iscsi,
  nfs, cifs, rbd, cephfs, iscsidirect, zfs, drbd, pbs; glusterfs too up to PVE 8, whose pve-storage still had it)
  `shared: 1` when it reads storage.cfg, although those types have no such option. Everything PVE reports comes
  from that parsed config: GET /storage, /nodes/{node}/storage, /cluster/resources and pool members show
  `shared: 1`, and migration, clone and restore treat the storage as shared. fakepve leaves the flag out; the lab
  keeps `pve.storages` as a `StorageCfg`, which sets it on every storage of a shared type put into it, however it
  gets there (the API, an area such as Ceph's `add_storages`, or a test writing `pve.storages[...]`).
- A PBS storage's on_add_hook (PVE/Storage/PBSPlugin.pm) takes `encryption-key` as `autogen` (a new key is made)
  or a JSON key with `data`, keeps the key outside storage.cfg and writes its fingerprint as `encryption-key`
  there; `master-pubkey` needs an encryption key and shows as `master-pubkey: 1`. The create call returns the key
  under `config`. fakepve drops both silently.
"""

import json
import secrets

from fakepve.routing import die

SHARED_STORAGE = ('iscsi', 'nfs', 'cifs', 'rbd', 'cephfs', 'iscsidirect', 'zfs', 'drbd', 'pbs')
# PVE 9's pve-storage dropped GlusterFS; PVE 8's counted it shared. A PVE 9 lab never holds one.
SHARED_TYPES = frozenset(SHARED_STORAGE + ('glusterfs',))


class StorageCfg(dict):
    """storage id -> storage, as PVE holds storage.cfg once parsed: a storage of a shared type has `shared: 1`."""

    def __init__(self, *args, **kwargs):
        super().__init__()
        self.update(*args, **kwargs)

    def __setitem__(self, sid, store):
        if isinstance(store, dict) and store.get('type') in SHARED_TYPES:
            store['shared'] = 1
        super().__setitem__(sid, store)

    def update(self, *args, **kwargs):
        for sid, store in dict(*args, **kwargs).items():
            self[sid] = store

    def setdefault(self, sid, store=None):
        if sid not in self:
            self[sid] = store
        return self[sid]


def _fingerprint():
    return ':'.join('{0:02x}'.format(b) for b in secrets.token_bytes(32))


class StorageExtraArea(object):
    """Mixin of LabPve (before FakePve): storage.cfg read and written as PVE does."""

    @property
    def storages(self):
        return self.__dict__['_lab_storage_cfg']

    @storages.setter
    def storages(self, value):
        self.__dict__['_lab_storage_cfg'] = value if isinstance(value, StorageCfg) else StorageCfg(value)

    async def _sc_create(self, v, user):
        if v.get('type') != 'pbs' or ('encryption-key' not in v and 'master-pubkey' not in v):
            return await super()._sc_create(v, user)
        fail = 'create storage failed: '
        key = v.get('encryption-key')
        if key == 'autogen':
            fingerprint = _fingerprint()
            key = json.dumps({'kdf': None, 'created': '2026-01-01T00:00:00+00:00',
                              'modified': '2026-01-01T00:00:00+00:00', 'data': secrets.token_hex(32),
                              'fingerprint': fingerprint})
        elif key is not None:
            try:
                decoded = json.loads(key)
            except ValueError:
                decoded = None
            if not isinstance(decoded, dict) or 'data' not in decoded:
                raise die(fail + 'Value does not seems like a valid, JSON formatted encryption key!')
            fingerprint = decoded.get('fingerprint') or 1
        if v.get('master-pubkey') is not None and key is None:
            raise die(fail + "'master-pubkey' can only be used together with 'encryption-key'")
        answer = await super()._sc_create(v, user)
        store = self.storages[v['storage']]
        if key is not None:
            store['encryption-key'] = fingerprint
            answer['config'] = {'encryption-key': key}
        if v.get('master-pubkey') is not None:
            store['master-pubkey'] = 1
        return answer
