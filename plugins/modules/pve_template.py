#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_template
short_description: Container templates, ISO images and disk images on Proxmox VE storages
version_added: 0.1.0
description:
  - Puts a file on a file-based storage of a node, from one of three sources, or removes it.
  - O(template) downloads a container appliance template from the node's appliance list (C(aplinfo), what
    C(pveam available) shows); Proxmox VE checks it against the list's SHA-512 sum.
  - O(url) makes the node download an ISO image, a container template or a disk image to import (a cloud image)
    from a URL (C(download-url)), checked against O(checksum) when given.
  - O(src) uploads a file from the host the module runs on (C(upload)); the module sends its SHA-256 sum with it and
    Proxmox VE checks what arrived.
  - The file is identified by its volume id, V(storage:content/filename). A volume that exists is left alone (no
    download, no upload). With O(url) and O(checksum), the node compares the existing file with the checksum (a
    C(download) task that finds the file and downloads nothing when it matches); a mismatch fails the module with
    Proxmox VE's words and leaves the file as it is. The API gives no checksum of a stored file otherwise, so an
    existing volume cannot be compared with O(src) or O(template).
  - O(state=absent) removes the volume (named by O(filename) or O(template), with O(content)).
  - Needs C(Datastore.AllocateTemplate) on C(/storage/{storage}); O(url) also needs C(Sys.Audit) and C(Sys.Modify) on
    C(/), or C(Sys.AccessNetwork) on C(/nodes/{node}); O(state=absent) needs C(Datastore.Allocate).
author:
  - proxfleet developers (@proxfleet)
extends_documentation_fragment:
  - proxfleet.proxmox.connection
  - proxfleet.proxmox.attributes
attributes:
  check_mode:
    support: full
    details: Reads the storage's content, checks every option and reports what would be downloaded, uploaded or
      removed; writes nothing. It cannot ask the node to compare an existing file's checksum.
  diff_mode:
    support: full
    details: The volume (id, size, format) before and after.
options:
  node:
    description:
      - The node whose storage gets the file. A storage shared by several nodes needs the file once.
    type: str
    required: true
  storage:
    description:
      - A storage with a directory (C(dir), C(nfs), C(cifs), C(cephfs), ...) that holds O(content).
    type: str
    required: true
  state:
    description:
      - V(present) puts the file on the storage unless it is there; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  content:
    description:
      - V(iso) for ISO images (C(.iso), C(.img)), V(vztmpl) for container templates (C(.tar), C(.tar.gz), C(.tar.xz),
        C(.tar.zst), C(.tar.bz2)), V(import) for disk images to import (C(.qcow2), C(.raw), C(.vmdk), C(.ova)).
      - Defaults to what the file name's extension says (V(vztmpl) for O(template)).
    type: str
    choices: [iso, vztmpl, import]
  template:
    description:
      - Name of an appliance template of the node's appliance list, as C(pveam available) shows it
        (V(debian-12-standard_12.7-1_amd64.tar.zst)). It is also the file name.
      - Mutually exclusive with O(url) and O(src).
    type: str
  url:
    description:
      - URL (C(http) or C(https)) the node downloads the file from. The node needs to reach it (through the
        datacenter's HTTP proxy, if one is set).
    type: str
  src:
    description:
      - Path of a file to upload, on the host the module runs on. API modules usually run on the controller
        (a play on C(localhost), or C(delegate_to) V(localhost)); when the module runs on a managed host, the file must be
        there (copy it first with M(ansible.builtin.copy)).
      - The file is streamed, not read into memory; Proxmox VE itself keeps an upload in C(/var/tmp) of the node
        the API request reaches before it copies it to O(node)'s storage.
    type: path
  filename:
    description:
      - Name of the file on the storage. Defaults to the last part of O(url) or O(src) (and is O(template) for a
        template).
      - Proxmox VE normalizes it (any character but letters, digits, C(_), C(.) and C(-) becomes C(_)); the module
        does the same, so the volume id it returns is the stored one.
    type: str
  checksum:
    description:
      - Expected checksum of the file (hex), with O(checksum_algorithm).
      - With O(url), the node checks the download against it (and an existing file, see above).
      - With O(src), the module checks the local file against it before uploading.
    type: str
  checksum_algorithm:
    description:
      - Algorithm of O(checksum).
    type: str
    choices: [md5, sha1, sha224, sha256, sha384, sha512]
  compression:
    description:
      - With O(url), decompress the download (ISO images only) with this algorithm; O(filename) is the name after
        decompression.
    type: str
    choices: [gz, lzo, zst, bz2]
  verify_certificates:
    description:
      - With O(url), whether the node verifies the download server's TLS certificate. Left to Proxmox VE's default
        (verify) when unset.
    type: bool
  timeout:
    description:
      - Seconds to wait for the download, upload or removal task.
    type: int
    default: 1800
notes:
  - Runs where Ansible runs it; for O(src) that host must hold the file. No action plugin copies it from the
    controller.
'''

EXAMPLES = r'''
- name: Templates and images on the local storage of pve1
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: pve1.example.com
      api_token_id: automation@pve!ansible
      api_token_secret: "{{ vault_pve_token_secret }}"
  block:
    - name: The Debian 12 container template
      proxfleet.proxmox.pve_template:
        node: pve1
        storage: local
        template: debian-12-standard_12.7-1_amd64.tar.zst

    - name: A Debian cloud image to import, checked against its SHA-512 sum
      proxfleet.proxmox.pve_template:
        node: pve1
        storage: local
        content: import
        url: https://cloud.debian.org/images/cloud/trixie/latest/debian-13-genericcloud-amd64.qcow2
        checksum: "{{ debian_image_sha512 }}"
        checksum_algorithm: sha512

    - name: An ISO image from the controller
      proxfleet.proxmox.pve_template:
        node: pve1
        storage: local
        src: files/netinst.iso
      delegate_to: localhost

    - name: Remove an old ISO image
      proxfleet.proxmox.pve_template:
        node: pve1
        storage: local
        filename: old-netinst.iso
        state: absent
'''

RETURN = r'''
volume:
  description:
    - The volume after the run (in check mode, as it would be, with id, node, storage, content and filename only); null
      when it does not exist.
  returned: success
  type: dict
  contains:
    volid:
      description: The volume id.
      type: str
    node:
      description: The node.
      type: str
    storage:
      description: The storage.
      type: str
    content:
      description: V(iso), V(vztmpl) or V(import).
      type: str
    filename:
      description: The file name on the storage.
      type: str
    format:
      description: The format Proxmox VE reports (V(iso), V(tzst), V(qcow2), ...), once it exists.
      type: str
    size:
      description: Size in bytes, once it exists.
      type: int
    ctime:
      description: Creation time (epoch seconds), once it exists.
      type: int
  sample:
    volid: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
    node: pve1
    storage: local
    content: vztmpl
    filename: debian-12-standard_12.7-1_amd64.tar.zst
    format: tzst
    size: 126515062
    ctime: 1795316400
msg:
  description: What the run found, when it left an existing volume alone.
  returned: when the volume existed
  type: str
diff:
  description: The volume before and after (null when it does not exist).
  returned: when the run changed something or diff mode is on
  type: dict
  contains:
    before:
      description: Before the run.
      type: dict
    after:
      description: After the run.
      type: dict
tasks:
  description: The tasks the module waited for.
  returned: when a task ran
  type: list
  elements: dict
'''

import os

from ansible_collections.proxfleet.proxmox.plugins.module_utils import backup as b, templates as t
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule

PURPOSE = {'iso': 'ISO images', 'vztmpl': 'container templates', 'import': 'disk images to import'}


def plan(params):
    """(content, filename, source) from the options alone, or ProxmoxConfigError before any request."""
    sources = [key for key in ('template', 'url', 'src') if params.get(key)]
    if params['state'] == 'present' and len(sources) != 1:
        raise ProxmoxConfigError('state: present needs one of template, url or src')
    if params['state'] == 'absent' and (params.get('url') or params.get('src')):
        raise ProxmoxConfigError('state: absent removes the volume named by filename or template; url and src do '
                                 'not apply')
    source = sources[0] if sources else None
    if params.get('template'):
        if params.get('filename') and params['filename'] != params['template']:
            raise ProxmoxConfigError('a template keeps its own name: leave filename out')
        name = params['template']
        if params.get('content') not in (None, 'vztmpl'):
            raise ProxmoxConfigError('a template is a container template: content vztmpl')
    elif params.get('filename'):
        name = params['filename']
    elif params.get('url'):
        name = t.filename_from_url(params['url'])
    elif params.get('src'):
        name = os.path.basename(params['src'])
    else:
        raise ProxmoxConfigError('state: absent needs filename or template, the file to remove')
    content = params.get('content') or ('vztmpl' if params.get('template') else t.content_of(t.normalize_filename(name)))
    if content is None:
        raise ProxmoxConfigError('cannot tell the content type of {0!r} from its extension: give content'.format(name))
    filename = t.check_filename(content, name)
    if params.get('url') and not str(params['url']).lower().startswith(('http://', 'https://')):
        raise ProxmoxConfigError('url must be an http:// or https:// URL')
    checksum, algorithm = t.check_checksum(params.get('checksum'), params.get('checksum_algorithm'))
    if checksum and source not in ('url', 'src'):
        raise ProxmoxConfigError('checksum applies to url and src only (a template has its own)')
    for option in ('compression', 'verify_certificates'):
        if params.get(option) is not None and source != 'url':
            raise ProxmoxConfigError('{0} applies to url only'.format(option))
    if params.get('compression') and content != 'iso':
        raise ProxmoxConfigError('compression applies to ISO images only (Proxmox VE decompresses nothing else)')
    return content, filename, source, checksum, algorithm


def find_volume(client, node, storage, content, volid):
    items = client.get(client.path('nodes', node, 'storage', storage, 'content'), content=content) or []
    return next((item for item in items if isinstance(item, dict) and item.get('volid') == volid), None)


def check_source(module, client, params, content, filename, checksum, algorithm, url):
    """Checks of the source before any write: the appliance is listed, the local file is there and matches."""
    if params.get('template'):
        names = [item.get('template') for item in client.get(client.path('nodes', params['node'], 'aplinfo')) or []
                 if isinstance(item, dict)]
        if params['template'] not in names:
            raise ProxmoxConfigError('no appliance template {0!r} in the appliance list of node {1!r} (pveam '
                                     'available lists them)'.format(params['template'], params['node']), url=url)
    if params.get('src'):
        path = params['src']
        if not os.path.isfile(path):
            raise ProxmoxConfigError('src {0!r} is not a file on the host the module runs on'.format(path), url=url)
        if checksum and t.file_digest(path, algorithm) != checksum:
            raise ProxmoxConfigError('src {0!r} does not match the given {1} checksum: not uploaded'.format(
                path, algorithm), url=url)


def planned_view(node, storage, content, filename):
    return {'volid': t.volid(storage, content, filename), 'node': node, 'storage': storage, 'content': content,
            'filename': filename}


def run(module):
    params = module.params
    client, url = module.client, module.target_url
    node, storage = params['node'], params['storage']
    content, filename, source, checksum, algorithm = plan(params)
    known = b.storages(client)
    store = b.check_storage(known, storage, content, url, PURPOSE[content])
    b.check_storage_on_node(store, node, url)
    volid = t.volid(storage, content, filename)
    item = find_volume(client, node, storage, content, volid)
    before = t.volume_view(item, node) if item else None
    result = {'volume': before}

    if params['state'] == 'absent':
        if item is None:
            result.update(changed=False, diff={'before': None, 'after': None})
            return result
        diff = {'before': before, 'after': None}
        if not module.check_mode:
            answer = client.delete(client.path('nodes', node, 'storage', storage, 'content', volid))
            if answer:
                module.wait_task(answer)
        return {'changed': True, 'volume': None, 'diff': diff}

    check_source(module, client, params, content, filename, checksum, algorithm, url)
    if item is not None:
        result['msg'] = 'volume {0} exists on node {1!r}: nothing downloaded or uploaded'.format(volid, node)
        if source == 'url' and checksum and not module.check_mode:
            # The node compares the file it has with the checksum and downloads nothing when they match; a mismatch
            # fails the task with PVE's words and leaves the file alone.
            module.wait_task(download(client, params, content, filename, checksum, algorithm))
            result['msg'] = 'volume {0} exists on node {1!r} and matches the {2} checksum'.format(volid, node, algorithm)
        result.update(changed=False)
        if module._diff:
            result['diff'] = {'before': before, 'after': before}
        return result

    after = planned_view(node, storage, content, filename)
    diff = {'before': None, 'after': after}
    if module.check_mode:
        return {'changed': True, 'volume': after, 'diff': diff}
    if source == 'template':
        upid = client.post(client.path('nodes', node, 'aplinfo'), storage=storage, template=filename)
    elif source == 'url':
        upid = download(client, params, content, filename, checksum, algorithm)
    else:
        sent_algorithm = algorithm or 'sha256'
        sent = checksum or t.file_digest(params['src'], sent_algorithm)
        upid = t.upload(client, node, storage, content, filename, params['src'], sent, sent_algorithm)
    module.wait_task(upid)
    item = find_volume(client, node, storage, content, volid)
    if item is None:
        raise ProxmoxConfigError('the task ended but volume {0} is not in the content of storage {1!r} on node '
                                 '{2!r}'.format(volid, storage, node), url=url)
    diff['after'] = t.volume_view(item, node)
    return {'changed': True, 'volume': diff['after'], 'diff': diff}


def download(client, params, content, filename, checksum, algorithm):
    data = {'url': params['url'], 'content': content, 'filename': filename}
    if checksum:
        data['checksum'] = checksum
        data['checksum-algorithm'] = algorithm
    if params.get('compression'):
        data['compression'] = params['compression']
    if params.get('verify_certificates') is not None:
        data['verify-certificates'] = int(params['verify_certificates'])
    return client.post(client.path('nodes', params['node'], 'storage', params['storage'], 'download-url'), **data)


def describe_target(module):
    params = module.params
    name = params.get('template') or params.get('filename') or params.get('url') or params.get('src')
    return '{0} on storage {1!r} of node {2!r}'.format(name, params.get('storage'), params.get('node'))


def main():
    module = ProxmoxModule(
        argument_spec=dict(
            node=dict(type='str', required=True),
            storage=dict(type='str', required=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            content=dict(type='str', choices=['iso', 'vztmpl', 'import']),
            template=dict(type='str'),
            url=dict(type='str'),
            src=dict(type='path'),
            filename=dict(type='str'),
            checksum=dict(type='str'),
            checksum_algorithm=dict(type='str', choices=['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512']),
            compression=dict(type='str', choices=['gz', 'lzo', 'zst', 'bz2']),
            verify_certificates=dict(type='bool'),
            timeout=dict(type='int', default=1800),
        ),
        mutually_exclusive=[('template', 'url', 'src')],
        required_together=[('checksum', 'checksum_algorithm')],
        supports_check_mode=True,
    )
    module.run(run, target=describe_target)


if __name__ == '__main__':
    main()
