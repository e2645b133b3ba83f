#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_ceph_osd
short_description: Manage the Ceph OSDs of a Proxmox VE node
version_added: 0.1.0
description:
  - Creates a Ceph OSD on a device of a node, marks OSDs in or out, asks them to scrub, and destroys them, through
    the C(/nodes/{node}/ceph/osd) API. Creating and destroying run as tasks, which the module waits for.
  - Idempotent by device - a device that already holds an OSD is left unchanged, whatever its other options.
  - Destroying is only done for an OSD that is out and down - take it out with O(state=out), let Ceph move its
    data away, then destroy it with O(state=absent) and O(stop=true) (or stop it yourself first).
  - Scrubs are actions - asking for one always reports a change.
  - Privileges. Creating and destroying an OSD are C(root@pam) only in Proxmox VE (the API methods declare no
    permission), so API tokens, even root's, are refused; run those tasks with O(api_user=root@pam) and
    O(api_password). The module fails before any write, naming the requirement, when a create or destroy is due
    and it logs in otherwise (in check mode too). Taking an OSD in or out, scrubbing it and stopping its service need C(Sys.Modify) on C(/);
    reading the OSD tree needs C(Sys.Audit) (or C(Datastore.Audit)) on C(/).
author:
  - proxfleet developers (@proxfleet)
extends_documentation_fragment:
  - proxfleet.proxmox.connection
  - proxfleet.proxmox.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  node:
    description:
      - The node the OSD's device is in.
    type: str
    required: true
  dev:
    description:
      - Block device of the OSD (V(/dev/sdb)). Required to create one; otherwise it names the OSD(s) on it.
    type: str
  osdid:
    description:
      - Id of an existing OSD, instead of O(dev), for O(state=in), V(out) and V(absent).
    type: int
  state:
    description:
      - V(present) makes an OSD on O(dev) unless the device holds one already; V(in) and V(out) mark the OSD in or
        out of the data placement; V(absent) destroys an OSD that is out and down.
    type: str
    choices: [present, in, out, absent]
    default: present
  db_dev:
    description:
      - Device for the OSD's RocksDB (block.db), on creation.
    type: str
  db_dev_size:
    description:
      - Size of the block.db in GiB, on creation.
    type: float
  wal_dev:
    description:
      - Device for the OSD's write-ahead log (block.wal), on creation.
    type: str
  wal_dev_size:
    description:
      - Size of the block.wal in GiB, on creation.
    type: float
  encrypted:
    description:
      - Encrypt the OSD, on creation.
    type: bool
  crush_device_class:
    description:
      - CRUSH device class of the new OSD; Ceph detects V(hdd), V(ssd) or V(nvme) when not given.
    type: str
  osds_per_device:
    description:
      - Number of OSDs to make on the device (for fast NVMe devices), on creation.
    type: int
  scrub:
    description:
      - Ask the OSD to scrub.
    type: bool
    default: false
  deep_scrub:
    description:
      - Ask the OSD to deep-scrub.
    type: bool
    default: false
  stop:
    description:
      - With O(state=absent), stop an OSD that is out but still up before destroying it.
    type: bool
    default: false
  cleanup:
    description:
      - With O(state=absent), wipe the OSD's device (and its LVM) so that it can be used again.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Connection options set once (module_defaults); creating and destroying OSDs need root@pam's password
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: pve1.example.com
      api_user: root@pam
      api_password: "{{ vault_pve_root_password }}"
  block:
    - name: An OSD on each of two SSDs, with its DB on NVMe
      proxfleet.proxmox.pve_ceph_osd:
        node: pve1
        dev: "{{ item }}"
        db_dev: /dev/nvme0n1
        db_dev_size: 60
      loop: [/dev/sdb, /dev/sdc]

    - name: Take an OSD out before replacing its disk
      proxfleet.proxmox.pve_ceph_osd:
        node: pve1
        osdid: 3
        state: out

    - name: Destroy it once Ceph is healthy again, and wipe the disk
      proxfleet.proxmox.pve_ceph_osd:
        node: pve1
        osdid: 3
        state: absent
        stop: true
        cleanup: true
'''

RETURN = r'''
osd:
  description:
    - The OSD as the OSD tree shows it after the run (the first one, when the device has several); null when there
      is none. V(up) and V(in) are booleans; V(status) is V(up) or V(down).
  returned: success
  type: dict
  sample:
    id: 3
    name: osd.3
    host: pve1
    status: up
    up: true
    in: true
    device_class: ssd
    blfsdev: /dev/sdb
    dbdev: /dev/nvme0n1
osds:
  description: Every OSD on the device (or the one named by O(osdid)) after the run.
  returned: success
  type: list
  elements: dict
  sample:
    - id: 3
      name: osd.3
      host: pve1
      status: up
      up: true
      in: true
      device_class: ssd
diff:
  description: The OSD's device, in/out and up/down before and after.
  returned: success
  type: dict
  contains:
    before:
      description: Before the run.
      type: dict
    after:
      description: After the run.
      type: dict
'''

from ansible_collections.proxfleet.proxmox.plugins.module_utils import ceph
from ansible_collections.proxfleet.proxmox.plugins.module_utils.client import require_root_login
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule

CREATE_OPTIONS = (('db_dev', 'db_dev'), ('db_dev_size', 'db_dev_size'), ('wal_dev', 'wal_dev'),
                  ('wal_dev_size', 'wal_dev_size'), ('encrypted', 'encrypted'),
                  ('crush_device_class', 'crush-device-class'), ('osds_per_device', 'osds-per-device'))


def view(osd):
    return {'state': 'in' if osd['in'] else 'out', 'up': osd['up']}


def run(module):
    params = module.params
    client = module.client
    node = params['node']
    state = params['state']
    api = ceph.CephApi(client, node)
    api.check_node()
    if params.get('dev') is None and params.get('osdid') is None:
        raise ProxmoxConfigError('give dev (the device) or osdid (the OSD)')
    if state == 'present' and not params.get('dev'):
        raise ProxmoxConfigError('state present needs dev, the device to make the OSD on')
    check = module.check_mode

    disks = api.disks()
    osds = api.osds()
    by_id = dict((osd['id'], osd) for osd in osds)
    disk = None
    if params.get('dev'):
        disk = api.disk(params['dev'], disks)
        if disk is None:
            raise ProxmoxConfigError('node {0} has no device {1!r} (it has {2})'.format(
                node, params['dev'], ', '.join(d['devpath'] for d in disks)))
        ids = ceph.disk_osds(disk)
    else:
        ids = [params['osdid']] if params['osdid'] in by_id else []
    if params.get('osdid') is not None and params.get('dev') and params['osdid'] not in ids:
        raise ProxmoxConfigError('osd.{0} is not on {1}'.format(params['osdid'], params['dev']))
    mine = [by_id[i] for i in ids if i in by_id]
    foreign = [osd for osd in mine if osd.get('host') not in (None, node)]
    if foreign:
        # The target already names the OSD (or the device) and this node.
        raise ProxmoxConfigError('osd.{0} is on node {1}: manage it there'.format(foreign[0]['id'], foreign[0]['host']))
    changed = False
    predicted = dict((o['id'], dict(o)) for o in mine)

    if state == 'present' and not mine:
        if disk.get('used'):
            raise ProxmoxConfigError('device {0} is already in use ({1}) and holds no OSD'.format(
                params['dev'], disk['used']))
        require_root_login(client.settings, 'creating an OSD')
        body = {'dev': params['dev']}
        for option, api_name in CREATE_OPTIONS:
            if params.get(option) not in (None, False):
                body[api_name] = 1 if params[option] is True else params[option]
        changed = True
        if not check:
            module.wait_task(client.post(api.path('osd'), **body))
            disk = api.disk(params['dev'])
            osds = api.osds()
            by_id = dict((osd['id'], osd) for osd in osds)
            predicted = dict((i, by_id[i]) for i in ceph.disk_osds(disk) if i in by_id)
        else:
            predicted = {-1: {'id': None, 'name': None, 'host': node, 'up': True, 'in': True, 'status': 'up',
                              'blfsdev': params['dev'], 'device_class': params.get('crush_device_class')}}
    elif state in ('in', 'out'):
        if not mine:
            raise ProxmoxConfigError('there is no OSD {0}'.format(
                'osd.{0}'.format(params['osdid']) if params.get('osdid') is not None else 'on ' + params['dev']))
        for osd in mine:
            if osd['in'] != (state == 'in'):
                changed = True
                if not check:
                    client.post(api.path('osd', osd['id'], state))
                predicted[osd['id']]['in'] = state == 'in'
    elif state == 'absent' and mine:
        for osd in mine:
            if osd['in']:
                raise ProxmoxConfigError('osd.{0} is in: take it out first (state: out) and let Ceph move its data '
                                         'away'.format(osd['id']))
            if osd['up'] and not params['stop']:
                raise ProxmoxConfigError('osd.{0} is still up: set stop: true to stop it before it is destroyed, or '
                                         'stop it yourself'.format(osd['id']))
        require_root_login(client.settings, 'destroying an OSD')
        changed = True
        for osd in mine:
            if not check:
                if osd['up']:
                    module.wait_task(client.post(api.path('stop'), service='osd.{0}'.format(osd['id'])))
                module.wait_task(client.delete(api.path('osd', osd['id']), cleanup=1 if params['cleanup'] else 0))
        predicted = {}

    if state != 'absent':
        targets = sorted(i for i in predicted if i >= 0)
        for action, deep in (('scrub', False), ('deep_scrub', True)):
            if params[action]:
                if not targets and -1 not in predicted:
                    raise ProxmoxConfigError('there is no OSD to scrub')
                changed = True
                if not check:
                    for osdid in targets:
                        client.post(api.path('osd', osdid, 'scrub'), deep=1 if deep else 0)

    final = [predicted[i] for i in sorted(predicted)]
    if changed and not check and state != 'absent':
        by_id = dict((osd['id'], osd) for osd in api.osds())
        final = [by_id[o['id']] for o in final if o['id'] in by_id]
    return {'changed': changed, 'diff': {'before': diff_side(mine, params.get('dev')),
                                         'after': diff_side(final, params.get('dev'))},
            'osd': final[0] if final else None, 'osds': final}


def diff_side(osds, dev):
    """The device and the OSD's in/out and up/down (each OSD by name when the device has several)."""
    if not osds:
        return {}
    side = {'dev': dev} if dev else {}
    if len(osds) == 1:
        side.update(view(osds[0]))
    else:
        side['osds'] = dict(('osd.{0}'.format(o['id']), view(o)) for o in osds)
    return side


def main():
    module = ProxmoxModule(
        argument_spec=dict(
            node=dict(type='str', required=True),
            dev=dict(type='str'),
            osdid=dict(type='int'),
            state=dict(type='str', choices=['present', 'in', 'out', 'absent'], default='present'),
            db_dev=dict(type='str'),
            db_dev_size=dict(type='float'),
            wal_dev=dict(type='str'),
            wal_dev_size=dict(type='float'),
            encrypted=dict(type='bool'),
            crush_device_class=dict(type='str'),
            osds_per_device=dict(type='int'),
            scrub=dict(type='bool', default=False),
            deep_scrub=dict(type='bool', default=False),
            stop=dict(type='bool', default=False),
            cleanup=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )

    def target(m):
        what = 'osd.{0}'.format(m.params['osdid']) if m.params.get('osdid') is not None else m.params.get('dev')
        return 'Ceph OSD {0} (node {1})'.format(what, m.params['node'])
    module.run(run, target=target)


if __name__ == '__main__':
    main()
