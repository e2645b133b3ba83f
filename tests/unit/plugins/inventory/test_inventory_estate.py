# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory plugin's clusters and pbs_servers completed from an estate: names, dicts over the estate, all."""

import pytest
from ansible.errors import AnsibleParserError
from ansible.parsing.dataloader import DataLoader

from ansible_collections.proxfleet.proxmox.plugins.inventory.proxmox import InventoryModule
from ansible_collections.proxfleet.proxmox.plugins.plugin_utils.connection import PluginEstate

ESTATE = {'clusters': {'a': {'api_host': 'pve-a', 'api_token_id': 'ro@pve!x', 'api_token_secret': 'secret-a'},
                       'b': {'api_host': ['pve-b1', 'pve-b2'], 'api_token_id': 'ro@pve!x', 'api_token_secret': 'secret-b'}},
          'pbs_servers': {'pbs1': {'api_host': 'pbs1', 'api_token_id': 'ro@pbs!x', 'api_token_secret': 'secret-p'}}}


def _plugin(**options):
    plugin = InventoryModule()
    plugin.get_option = options.get
    return plugin


def _plain(entries):
    return [dict((k, list(v) if isinstance(v, list) else v) for k, v in e.items()) for e in entries]


def test_without_clusters_every_entry_of_the_estate():
    estate = PluginEstate(DataLoader(), estate=ESTATE)
    plugin = _plugin()
    assert [e['name'] for e in plugin._estate_entries(estate)] == ['a', 'b']
    assert [e['name'] for e in plugin._estate_entries(estate, 'PBS')] == ['pbs1']
    assert plugin._estate_entries(PluginEstate(DataLoader()), 'PBS') == []


def test_names_and_dicts_over_the_estate():
    estate = PluginEstate(DataLoader(), estate=ESTATE)
    own = {'name': 'c', 'api_host': 'pve-c', 'api_token_id': 'ro@pve!x', 'api_token_secret': 'secret-c'}
    plugin = _plugin(clusters=['a', {'name': 'b', 'api_timeout': 60, 'api_host': None}, own], pbs_servers=[])
    a, b, c = _plain(plugin._estate_entries(estate))
    assert a == dict(ESTATE['clusters']['a'], api_host=['pve-a'], name='a')
    assert b == dict(ESTATE['clusters']['b'], api_timeout=60, name='b')
    assert c == own
    assert plugin._estate_entries(estate, 'PBS') == []


def test_a_name_without_an_estate_is_an_error():
    with pytest.raises(AnsibleParserError, match="clusters names 'a', which needs an estate_file"):
        _plugin(clusters=['a'])._estate_entries(PluginEstate(DataLoader()))
