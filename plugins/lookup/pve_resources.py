# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: pve_resources
short_description: Guests, nodes or storage of one or several Proxmox VE clusters
version_added: 0.1.0
description:
  - Reads C(/cluster/resources) once per cluster (the clusters concurrently) and returns the guests, nodes or storage
    it lists, each with the key C(cluster) naming where it lives, optionally narrowed by O(filters) and reshaped by a
    JMESPath O(query).
  - Nodes get C(freemem) (V(maxmem) - V(mem)) and storage C(free) (V(maxdisk) - V(disk)), so a query can pick the node
    with the most free memory.
  - Use C(query) (or C(lookup(..., wantlist=true))) to keep a list of one item a list.
author:
  - proxfleet developers (@proxfleet)
requirements:
  - proxmoxer >= 2.0.1
  - requests >= 2.32.0
  - jmespath (for O(query) only)
extends_documentation_fragment:
  - proxfleet.proxmox.lookup_connection
options:
  _terms:
    description: What to list.
    type: list
    elements: str
    choices: [vm, node, storage]
    default: [vm]
  clusters:
    description:
      - Several clusters, each a dict with C(name) and the connection options (C(api_host), C(api_token_id), ...),
        or the name of a cluster of the estate (O(estate), else O(estate_file)).
      - A dict whose C(name) is a cluster of the estate takes the estate's options under its own.
      - Without it, the one cluster the connection options (or O(cluster)) name is read, and C(cluster) is its
        O(api_host) (or the O(cluster) name).
    type: list
    elements: raw
  filters:
    description:
      - Keep the items whose keys equal these values; a list value keeps items equal to any of its elements, and for
        C(tags) an item is kept when it has the tag.
    type: dict
    default: {}
  query:
    description: A JMESPath expression applied to the list (needs the jmespath Python package).
    type: str
'''

EXAMPLES = r'''
- name: The VM named web-01, wherever it is
  ansible.builtin.set_fact:
    web01: "{{ lookup('proxfleet.proxmox.pve_resources', 'vm', clusters=pve_clusters, filters={'name': 'web-01'},
                      query='[0]') }}"

- name: The online node with the most free memory of one cluster (credentials from PROXMOX_* variables)
  ansible.builtin.set_fact:
    roomiest: "{{ lookup('proxfleet.proxmox.pve_resources', 'node', filters={'status': 'online'},
                         query='max_by(@, &freemem).node') }}"

- name: Every node of two clusters of the estate PROXMOX_ESTATE_FILE names (the AWX estate credential)
  ansible.builtin.debug:
    msg: "{{ query('proxfleet.proxmox.pve_resources', 'node', clusters=['prod-a', 'prod-b']) }}"

- name: Running guests tagged prod, across the estate
  ansible.builtin.debug:
    msg: "{{ query('proxfleet.proxmox.pve_resources', 'vm', clusters=pve_clusters,
                   filters={'status': 'running', 'tags': 'prod'}) | map(attribute='name') }}"
'''

RETURN = r'''
_raw:
  description:
    - The items as C(/cluster/resources) gives them (C(vmid), C(name), C(node), C(status), C(type), C(tags), C(pool),
      C(maxmem), ...), plus C(cluster); or what O(query) makes of the list.
  type: list
  elements: raw
'''

import concurrent.futures

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxError
from ansible_collections.proxfleet.proxmox.plugins.plugin_utils.connection import (
    OPTION_NAMES,
    PluginEstate,
    client_from_options,
    lookup_connection,
)
from ansible_collections.proxfleet.proxmox.plugins.plugin_utils.guests import split_tags

try:
    import jmespath
except ImportError:
    jmespath = None

KINDS = {'vm': ('qemu', 'lxc'), 'node': ('node',), 'storage': ('storage',)}


def _enrich(item, cluster):
    item = dict(item, cluster=cluster)
    if item.get('type') == 'node' and 'maxmem' in item:
        item['freemem'] = item['maxmem'] - item.get('mem', 0)
    if item.get('type') == 'storage' and 'maxdisk' in item:
        item['free'] = item['maxdisk'] - item.get('disk', 0)
    if 'tags' in item:
        item['tags'] = split_tags(item['tags'])
    return item


def matches(item, filters):
    for key, wanted in filters.items():
        have = item.get(key)
        if key == 'tags':
            needed = wanted if isinstance(wanted, list) else [wanted]
            if not set(needed) <= set(have or []):
                return False
        elif isinstance(wanted, list):
            if have not in wanted:
                return False
        elif have != wanted and str(have) != str(wanted):
            return False
    return True


class LookupModule(LookupBase):
    def _read(self, name, options, kinds):
        client = client_from_options(options)
        try:
            resources = client.get('/cluster/resources') or []
        except ProxmoxError as error:
            raise AnsibleLookupError(error.describe('cluster ' + name)) from None
        return [_enrich(item, name) for item in resources if item.get('type') in kinds]

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        terms = terms or ['vm']
        unknown = [t for t in terms if t not in KINDS]
        if unknown:
            raise AnsibleLookupError('pve_resources lists {0}, not {1}'.format(', '.join(KINDS), ', '.join(map(str, unknown))))
        kinds = set(k for t in terms for k in KINDS[t])
        query = self.get_option('query')
        if query and jmespath is None:
            raise AnsibleLookupError('pve_resources: query needs the jmespath Python package on the controller')
        clusters = self.get_option('clusters')
        if clusters:
            estate = PluginEstate(self._loader, self.get_option('estate'), self.get_option('estate_file'))
            targets = []
            for entry in clusters:
                if isinstance(entry, str) and entry:
                    entry = {'name': entry}
                if not isinstance(entry, dict) or not entry.get('name'):
                    raise AnsibleLookupError('pve_resources: each entry of clusters needs a name')
                given = dict((k, entry.get(k)) for k in OPTION_NAMES if entry.get(k) is not None)
                if not given.get('api_host') or estate.has(entry['name']):
                    given = estate.options(entry['name'], 'PVE', given)
                if isinstance(given.get('api_host'), list):
                    given['api_host'] = given['api_host'][0]
                targets.append((entry['name'], given))
        else:
            options = lookup_connection(self, kwargs)
            targets = [(self.get_option('cluster') or options.get('api_host'), options)]
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(targets))) as pool:
            batches = list(pool.map(lambda target: self._read(target[0], target[1], kinds), targets))
        filters = self.get_option('filters') or {}
        items = [item for batch in batches for item in batch if matches(item, filters)]
        if query:
            try:
                found = jmespath.search(query, items)
            except jmespath.exceptions.JMESPathError as error:
                raise AnsibleLookupError('pve_resources: query {0!r}: {1}'.format(query, error)) from None
            return found if isinstance(found, list) else [found]
        return items
