# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: proxmox
short_description: Every VM and container of several Proxmox VE clusters, in one inventory
version_added: 0.1.0
description:
  - Lists the guests (VMs and containers) of every cluster given, querying the clusters concurrently with one
    C(/cluster/resources) read per cluster, never one read per guest; per-guest reads are made only for the addresses
    running guests report, and for configurations when O(address_order) includes V(config) or O(config_keys) is set,
    at most O(max_workers) at a time.
  - Hosts are named after the guests (a name another cluster already gave a host gets C(.<cluster>) appended; its
    C(ansible_host) still comes from the guest, never from that suffixed name); host variables describe where and what each guest is (C(proxmox_cluster),
    C(proxmox_node), C(proxmox_vmid), C(proxmox_type), C(proxmox_status), C(proxmox_tags), C(proxmox_pool),
    C(proxmox_name), C(proxmox_template), C(proxmox_config)).
  - Groups by cluster, node, type, status, tag and pool (C(proxmox_cluster_lab1), C(proxmox_node_pve1),
    C(proxmox_type_qemu), C(proxmox_status_running), C(proxmox_tag_web), C(proxmox_pool_prod)), plus O(keyed_groups),
    O(groups) and O(compose).
  - C(ansible_host) comes from, in the order O(address_order) gives, a static address in the guest's configuration
    (cloud-init C(ipconfigN), the C(ip) of a container's C(netN)), the addresses the guest agent or the container
    reports while it runs, or the guest's name.
  - Every credential may be a vault-encrypted value (C(!vault)) or a template (C({{ lookup('env', 'PVE_TOKEN') }})).
  - Data read from the API is marked unsafe, so it is never templated.
  - A cluster that cannot be read is reported as a warning and skipped, so the others still make an inventory;
    with O(strict=true) it fails the inventory instead (as O(strict) also makes O(compose) errors fatal), and the
    plugin prints its own error line first, before the warnings Ansible adds for the other plugins it tries.
  - A guest whose configuration cannot be read (its node is offline) stays a host, without C(proxmox_config) and
    without a configured address; one warning per node names the cluster, the node and the guests.
  - The file name must end with C(proxmox.yml) or C(proxmox.yaml).
author:
  - proxfleet developers (@proxfleet)
requirements:
  - proxmoxer >= 2.0.1
  - requests >= 2.32.0
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin.
    type: str
    required: true
    choices: [proxfleet.proxmox.proxmox]
  estate_file:
    description:
      - YAML or JSON file describing an estate (C(clusters) and C(pbs_servers), written as this file writes them, or as
        mappings from name to options; see the collection's docs/connection.md). It may be vault-encrypted, or hold
        vault-encrypted values.
      - With it, O(clusters) and O(pbs_servers) may name the estate's entries instead of spelling their options out,
        and when O(clusters) is not set every cluster of the estate is listed (and, when O(pbs_servers) is not set,
        every Backup Server).
      - The AWX estate credential type sets E(PROXMOX_ESTATE_FILE) to the file it injects.
    type: path
    env:
      - name: PROXMOX_ESTATE_FILE
    version_added: 0.1.0
  clusters:
    description:
      - The clusters to list. Each takes the connection options of the collection's modules.
      - An entry may also be the name of a cluster of O(estate_file), a string; an entry whose C(name) is a cluster of
        the estate takes the estate's options under its own.
      - Required unless O(estate_file) is set, in which case every cluster of the estate is listed by default.
    type: list
    elements: raw
    suboptions:
      name:
        description:
          - Name of the cluster in the inventory (groups C(proxmox_cluster_<name>), variable C(proxmox_cluster)).
        type: str
        required: true
      api_host:
        description:
          - A node of the cluster, or a list of nodes tried in order until one answers.
          - Required unless the estate has the cluster.
        type: raw
      api_port:
        description: Port of the API.
        type: int
        default: 8006
      api_user:
        description: User with realm, for a password login or with a bare O(clusters[].api_token_id).
        type: str
      api_password:
        description: Password of O(clusters[].api_user).
        type: str
      api_token_id:
        description: API token id, V(user@realm!name) or a bare name with O(clusters[].api_user).
        type: str
      api_token_secret:
        description: Secret of the API token.
        type: str
      validate_certs:
        description: Verify the server certificate.
        type: bool
        default: true
      ca_path:
        description: PEM CA bundle to verify the server certificate with.
        type: path
      fingerprint:
        description: SHA-256 pin of the server certificate (V(AA:BB:...)); any other certificate is refused.
        type: str
      api_timeout:
        description: Seconds per request.
        type: int
        default: 30
  pbs_servers:
    description:
      - Proxmox Backup Servers to add as hosts too (group C(proxmox_pbs)), each a dict with C(name), C(api_host) (a
        host or a list tried in order) and the same connection options as O(clusters); C(api_port) defaults to V(8007).
      - Their host variables are C(proxmox_type) (V(pbs)), C(proxmox_version), C(proxmox_datastores) and
        C(proxmox_datastores_incomplete), which is null, or a note when the list may be incomplete because the login
        has no C(Datastore.Audit) on C(/datastore) (Proxmox Backup Server leaves out silently the datastores it may
        not audit); the note is also given as a warning.
      - An entry may also be the name of a Backup Server of O(estate_file); when this is not set, every Backup Server of
        the estate is listed (none without an estate).
    type: list
    elements: raw
  want_nodes:
    description: Add the cluster nodes as hosts too (group C(proxmox_nodes)).
    type: bool
    default: false
  want_templates:
    description: Include templates.
    type: bool
    default: false
  address_order:
    description:
      - Where C(ansible_host) comes from, first match wins. V(config) is a static address in the guest configuration
        (cloud-init C(ipconfigN), a container's C(netN) C(ip)), V(agent) the addresses a running guest reports (guest
        agent, container interfaces), V(name) the guest's name.
      - V(config) reads every guest's configuration, one request per guest, as it is in effect now (C(current=1));
        changes still pending until the guest's next start are not used.
    type: list
    elements: str
    choices: [config, agent, name]
    default: [agent, name]
  config_keys:
    description:
      - Configuration keys to copy into C(proxmox_config) (the whole configuration is never copied). Secret values
        (C(cipassword)) are masked as C(********), whatever the API returns.
      - Setting any reads every guest's configuration, one request per guest. The values are those in effect now
        (C(current=1)), without the changes still pending until the guest's next start.
    type: list
    elements: str
    default: []
  filters:
    description:
      - Conditions (Jinja2 expressions over the host variables above) a guest must meet, all of them, to be listed.
    type: list
    elements: str
    default: []
  group_prefix:
    description: Prefix of the groups this plugin makes.
    type: str
    default: proxmox_
  max_workers:
    description: How many API requests run at once, across all clusters.
    type: int
    default: 8
'''

EXAMPLES = r'''
# inventory/prod.proxmox.yml
plugin: proxfleet.proxmox.proxmox
clusters:
  - name: prod-a
    api_host: [pve1.example.com, pve2.example.com]
    api_token_id: inventory@pve!ansible
    api_token_secret: !vault |
      $ANSIBLE_VAULT;1.1;AES256
      6231...
    ca_path: /etc/pki/proxmox/prod-a.pem
  - name: prod-b
    api_host: pve10.example.com
    api_token_id: inventory@pve!ansible
    api_token_secret: "{{ lookup('ansible.builtin.env', 'PROD_B_TOKEN') }}"
    fingerprint: "5C:9A:...:D4"
want_nodes: true
address_order: [config, agent, name]
config_keys: [ostype, cores, memory]
filters:
  - "'template' not in proxmox_tags"
keyed_groups:
  - key: proxmox_config.ostype
    prefix: os
groups:
  databases: "'db' in proxmox_tags"
compose:
  ansible_user: "'debian' if proxmox_type == 'lxc' else 'cloud-user'"
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/proxfleet-inventory

# inventory/estate.proxmox.yml: every cluster and Backup Server of the estate file the AWX estate credential
# injects (PROXMOX_ESTATE_FILE), or of a vault-encrypted file given as estate_file from the command line.
plugin: proxfleet.proxmox.proxmox
want_nodes: true

# inventory/two.proxmox.yml: two clusters of the estate, one with its own options over the estate's
plugin: proxfleet.proxmox.proxmox
estate_file: estate.vault.yml
clusters:
  - prod-a
  - name: prod-b
    api_timeout: 60
pbs_servers: []
'''

import concurrent.futures

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.display import Display
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.proxfleet.proxmox.plugins.module_utils.client import ProxmoxClient
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConnectionError, ProxmoxError, ProxmoxTLSError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import settings_from_options
from ansible_collections.proxfleet.proxmox.plugins.module_utils.pbs import list_gaps
from ansible_collections.proxfleet.proxmox.plugins.module_utils.redact import mask_guest_config
from ansible_collections.proxfleet.proxmox.plugins.plugin_utils.connection import PluginEstate
from ansible_collections.proxfleet.proxmox.plugins.plugin_utils.guests import (
    agent_addresses,
    choose_address,
    config_addresses,
    split_tags,
)

display = Display()

CONNECTION_KEYS = ('api_port', 'api_user', 'api_password', 'api_token_id', 'api_token_secret', 'validate_certs',
                   'ca_path', 'fingerprint', 'api_timeout')
DEFAULTS = {'api_port': 8006, 'validate_certs': True, 'api_timeout': 30}


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """Several Proxmox VE clusters as one inventory."""

    NAME = 'proxfleet.proxmox.proxmox'

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(('proxmox.yml', 'proxmox.yaml'))

    # ---------------------------------------------------------------- options

    def _estate_entries(self, estate, service='PVE'):
        """The entries of clusters (or pbs_servers), with those the estate has completed from it: a bare name is the
        estate's entry, a dict whose name the estate has gets the estate's options under its own."""
        where = 'clusters' if service == 'PVE' else 'pbs_servers'
        entries = self.get_option(where)
        if entries is None:
            entries = estate.names(service) if estate.given else []
        completed = []
        for entry in entries:
            if isinstance(entry, str) and entry:
                entry = {'name': entry}
                if not estate.given:
                    raise AnsibleParserError('{0} names {1!r}, which needs an estate_file (or the PROXMOX_ESTATE_FILE '
                                             'environment variable)'.format(where, entry['name']))
            if isinstance(entry, dict) and entry.get('name') and estate.given and (
                    not entry.get('api_host') or estate.has(entry['name'], service)):
                # The estate's values are data, never templates; the entry's own may be (lookups, !vault).
                completed_entry = dict(wrap_var(estate.options(entry['name'], service)), name=entry['name'])
                completed_entry.update((k, v) for k, v in entry.items() if v is not None)
                entry = completed_entry
            completed.append(entry)
        return completed

    def _cluster_options(self, entry, service='PVE'):
        """One cluster's (or PBS server's) options, templated (lookups, vaulted values) and checked before any request."""
        where = 'clusters' if service == 'PVE' else 'pbs_servers'
        if not isinstance(entry, dict) or not entry.get('name') or not entry.get('api_host'):
            raise AnsibleParserError('each entry of {0} needs a name and an api_host'.format(where))
        unknown = set(entry) - set(CONNECTION_KEYS) - {'name', 'api_host'}
        if unknown:
            raise AnsibleParserError('{0} {1}: unknown options {2}'.format(where, entry['name'], ', '.join(sorted(unknown))))
        options = dict(DEFAULTS, service=service, api_port=8006 if service == 'PVE' else 8007)
        for key, value in entry.items():
            if key == 'api_host':
                hosts = value if isinstance(value, list) else [value]
                options[key] = [self._text(h) for h in hosts]
            elif value is not None:
                options[key] = self._text(value) if key not in DEFAULTS else self.templar.template(value)
        return options

    def _read_pbs(self, options, _pool):
        """A Backup Server: its version and datastores (two requests)."""
        client = self._connect(options)
        stores = sorted(item.get('name') for item in client.get('/config/datastore') or [] if item.get('name'))
        # PBS leaves out silently the datastores the login may not audit: say so rather than report none.
        incomplete = list_gaps(client, ['datastores']).get('datastores')
        if incomplete:
            display.warning('proxfleet.proxmox.proxmox: Backup Server {0}: {1}'.format(client.settings.host, incomplete))
        # PBS answers version '4.0' and release '14': the full version is both.
        answer = client.version()
        version = '.'.join(str(part) for part in (answer.get('version'), answer.get('release')) if part)
        return {'kind': 'pbs', 'version': version, 'datastores': stores, 'datastores_incomplete': incomplete,
                'host': client.settings.host, 'url': client.settings.url}

    def _text(self, value):
        """A templated string option: lookups resolved, vaulted values decrypted."""
        return to_text(self.templar.template(value))

    # ---------------------------------------------------------------- reading

    def _connect(self, options):
        """A client for the first node that answers (failover across api_host); errors of every node kept."""
        failures = []
        for host in options['api_host']:
            settings_options = dict(options, api_host=host)
            try:
                client = ProxmoxClient(settings_from_options(settings_options, options.get('service', 'PVE')))
                client.version()
                return client
            except (ProxmoxConnectionError, ProxmoxTLSError) as error:
                failures.append(error.describe())
        what = 'cluster' if options.get('service', 'PVE') == 'PVE' else 'Backup Server'
        raise AnsibleError('{0} {1}: no node answered: {2}'.format(what, options['name'], '; '.join(failures)))

    def _read_guest(self, client, guest):
        """One guest's config and, when it runs, the addresses it reports."""
        kind, node, vmid = guest['type'], guest['node'], guest['vmid']
        base = client.path('nodes', node, kind, vmid)
        details = {'config': {}, 'interfaces': None}
        if self._need_config:
            try:
                details['config'] = mask_guest_config(client.get(base + '/config', current=1) or {})
            except ProxmoxError as error:
                # An offline node (595): the guest stays a host, without the variables its configuration gives.
                details['config_error'] = error.describe('guest {0} on node {1}'.format(vmid, node))
        if guest.get('status') != 'running' or 'agent' not in self._address_order:
            return details
        try:
            if kind == 'qemu':
                if self._need_config and str(details['config'].get('agent', '0')).split(',', maxsplit=1)[0] not in ('1', 'enabled=1'):
                    return details
                answer = client.get(base + '/agent/network-get-interfaces') or {}
                details['interfaces'] = answer.get('result') if isinstance(answer, dict) else None
            else:
                details['interfaces'] = client.get(base + '/interfaces')
        except ProxmoxError:
            # An agent that is not running or not answering is common: the next address source is used.
            details['interfaces'] = None
        return details

    def _read_cluster(self, options, pool):
        client = self._connect(options)
        resources = client.get('/cluster/resources') or []
        guests = [r for r in resources if r.get('type') in ('qemu', 'lxc')
                  and (self.get_option('want_templates') or not r.get('template'))]
        nodes = [r for r in resources if r.get('type') == 'node']
        # Per-guest reads only where they can yield something: configurations when asked for, interfaces of
        # running guests.
        wanted = [g for g in guests if self._need_config or ('agent' in self._address_order and g.get('status') == 'running')]
        futures = dict((pool.submit(self._read_guest, client, guest), guest['vmid']) for guest in wanted)
        details = {}
        for future in concurrent.futures.as_completed(futures):
            details[str(futures[future])] = future.result()
        unread = sorted(set((str(guest['node']), str(guest['vmid'])) for guest in wanted
                            if details[str(guest['vmid'])].get('config_error')))
        for node in sorted(set(n for n, _v in unread)):
            first = next(details[v]['config_error'] for n, v in unread if n == node)
            display.warning('cluster {0}: the configuration of guests {1} on node {2} could not be read ({3}); they are '
                            'hosts without proxmox_config and without a configured address'.format(
                                options['name'], ', '.join(v for n, v in unread if n == node), node, first))
        return {'guests': guests, 'nodes': nodes, 'details': details, 'url': client.settings.url}

    def _fetch(self, clusters):
        """Read every cluster concurrently: {name: data} and {name: error text} for those that failed."""
        results, failures = {}, {}
        workers = max(1, self.get_option('max_workers'))
        # Cluster reads wait on guest reads: they get their own pool so they can never starve it.
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as guest_pool, \
                concurrent.futures.ThreadPoolExecutor(max_workers=len(clusters) or 1) as cluster_pool:
            futures = dict((cluster_pool.submit(self._read_pbs if options['service'] == 'PBS' else self._read_cluster,
                                                options, guest_pool), options['name'])
                           for options in clusters)
            for future in concurrent.futures.as_completed(futures):
                name = futures[future]
                try:
                    results[name] = future.result()
                except (ProxmoxError, AnsibleError) as error:
                    failures[name] = error.describe(name) if isinstance(error, ProxmoxError) else str(error)
        return results, failures

    # ---------------------------------------------------------------- building

    def _group(self, kind, value):
        name = self._sanitize_group_name('{0}{1}_{2}'.format(self.get_option('group_prefix'), kind, value))
        return self.inventory.add_group(name)

    def _host_name(self, guest, cluster_name, taken):
        name = guest.get('name') or '{0}-{1}'.format(guest['type'], guest['vmid'])
        if name in taken and taken[name] != (cluster_name, guest['vmid']):
            name = '{0}.{1}'.format(name, cluster_name)
        taken[name] = (cluster_name, guest['vmid'])
        return name

    def _add_cluster(self, cluster_name, data, taken, strict):
        cluster_group = self._group('cluster', cluster_name)
        if self.get_option('want_nodes'):
            nodes_group = self.inventory.add_group(self._sanitize_group_name(self.get_option('group_prefix') + 'nodes'))
            for node in data['nodes']:
                host = self.inventory.add_host(node['node'], group=nodes_group)
                self.inventory.add_child(cluster_group, host)
                self.inventory.set_variable(host, 'proxmox_cluster', wrap_var(cluster_name))
                self.inventory.set_variable(host, 'proxmox_status', wrap_var(node.get('status')))
        config_keys = self.get_option('config_keys')
        for guest in sorted(data['guests'], key=lambda g: g['vmid']):
            details = data['details'].get(str(guest['vmid']), {'config': {}, 'interfaces': None})
            config = details.get('config') or {}
            tags = split_tags(guest.get('tags') or config.get('tags'))
            hostvars = {
                'proxmox_cluster': cluster_name,
                'proxmox_node': guest['node'],
                'proxmox_vmid': guest['vmid'],
                'proxmox_type': guest['type'],
                'proxmox_status': guest.get('status'),
                'proxmox_tags': tags,
                'proxmox_pool': guest.get('pool'),
                'proxmox_name': guest.get('name'),
                'proxmox_template': bool(guest.get('template')),
                'proxmox_config': dict((k, config[k]) for k in config_keys if k in config),
            }
            if not self._passes_filters(hostvars, strict):
                continue
            name = self._host_name(guest, cluster_name, taken)
            self.inventory.add_host(name, group=cluster_group)
            # The address comes from the guest (its name, not the host name a clash with another cluster suffixed).
            address = choose_address(self._address_order, guest.get('name'), config_addresses(guest['type'], config),
                                     agent_addresses(details.get('interfaces')))
            if address:
                hostvars['ansible_host'] = address
            for key, value in hostvars.items():
                self.inventory.set_variable(name, key, wrap_var(value))
            for kind, value in (('node', guest['node']), ('type', guest['type']), ('status', guest.get('status'))):
                if value:
                    self.inventory.add_child(self._group(kind, value), name)
            for tag in tags:
                self.inventory.add_child(self._group('tag', tag), name)
            if guest.get('pool'):
                self.inventory.add_child(self._group('pool', guest['pool']), name)
            variables = self.inventory.get_host(name).get_vars()
            self._set_composite_vars(self.get_option('compose'), variables, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option('groups'), variables, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option('keyed_groups'), variables, name, strict=strict)

    def _passes_filters(self, hostvars, strict):
        """True when every condition of `filters` holds for these variables (a broken one fails only with strict)."""
        for condition in self.get_option('filters'):
            try:
                held = self._compose(condition, hostvars)
                if not boolean(held, strict=False):
                    return False
            except Exception as error:  # pylint: disable=broad-except  # any template error, as constructed treats it
                if strict:
                    raise AnsibleParserError('filter {0!r} could not be evaluated: {1}'.format(condition, to_text(error))) from None
                return False
        return True

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        strict = self.get_option('strict')
        self._address_order = self.get_option('address_order')
        self._need_config = 'config' in self._address_order or bool(self.get_option('config_keys'))
        estate = PluginEstate(self.loader, estate_file=self.get_option('estate_file'))
        clusters = [self._cluster_options(entry) for entry in self._estate_entries(estate)]
        if not clusters:
            raise AnsibleParserError('{0}: clusters lists no cluster'.format(path))
        clusters += [self._cluster_options(entry, 'PBS') for entry in self._estate_entries(estate, 'PBS')]
        names = [c['name'] for c in clusters]
        if len(set(names)) != len(names):
            raise AnsibleParserError('{0}: cluster and PBS server names must be unique, got {1}'.format(path, ', '.join(names)))

        cache_key = self.get_cache_key(path)
        use_cache = self.get_option('cache') and cache
        results = None
        if use_cache:
            try:
                results = self._cache[cache_key]
            except KeyError:
                results = None
        if results is None:
            try:
                results, failures = self._fetch(clusters)
            except ProxmoxError as error:
                raise AnsibleError(error.describe()) from None
            if failures and strict:
                self._fail_strict(path, failures, len(clusters))
            for _name, text in sorted(failures.items()):
                display.warning('{0} (skipped; set strict: true to fail instead)'.format(text))
            if self.get_option('cache') and not failures:
                self._cache[cache_key] = results
        taken = {}
        for name in names:
            if name not in results:
                continue
            if results[name].get('kind') == 'pbs':
                self._add_pbs(name, results[name])
            else:
                self._add_cluster(name, results[name], taken, strict)

    @staticmethod
    def _fail_strict(path, failures, total):
        """With strict, a cluster that could not be read fails the source: our own line first, before the warnings
        Ansible prints for every plugin it then tries on the same file (yaml, ini), then the error it reports."""
        message = 'proxfleet.proxmox.proxmox inventory {0} failed (strict: true): {1} of {2} clusters could not be read: {3}'.format(
            path, len(failures), total, '; '.join(text for _name, text in sorted(failures.items())))
        display.error(message)
        raise AnsibleParserError(message)

    def _add_pbs(self, name, data):
        group = self.inventory.add_group(self._sanitize_group_name(self.get_option('group_prefix') + 'pbs'))
        self.inventory.add_host(name, group=group)
        for key, value in (('proxmox_type', 'pbs'), ('proxmox_version', data.get('version')),
                           ('proxmox_datastores', data.get('datastores') or []),
                           ('proxmox_datastores_incomplete', data.get('datastores_incomplete')),
                           ('ansible_host', data.get('host'))):
            self.inventory.set_variable(name, key, wrap_var(value))
