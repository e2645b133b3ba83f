# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Storage: where fakepve's storage.cfg differs from PVE's.

pve-storage's PVE::Storage::Plugin::parse_config marks every storage of a shared type (@SHARED_STORAGE: iscsi,
nfs, cifs, rbd, cephfs, iscsidirect, zfs, drbd, pbs) `shared: 1` when it reads storage.cfg, so the API shows
`shared` for them although the type has no such option and an update may not set it. fakepve leaves it out.
"""

SHARED_STORAGE = ('iscsi', 'nfs', 'cifs', 'rbd', 'cephfs', 'iscsidirect', 'zfs', 'drbd', 'pbs')


class StorageExtraArea(object):
    """Mixin of LabPve (before FakePve): `shared: 1` on every storage of a shared type, as PVE reads them."""

    def storage_config(self, name):
        cfg = super().storage_config(name)
        if cfg.get('type') in SHARED_STORAGE:
            cfg['shared'] = 1
        return cfg
