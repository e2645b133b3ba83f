# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/filter/export_yaml.py: vars files whose template markers stay as they are when Ansible loads them."""

from __future__ import annotations

import pytest

from ansible_collections.proxfleet.proxmox.plugins.filter.export_yaml import FilterModule, export_yaml, plain


def test_export_yaml_keeps_template_markers_from_being_templated():
    from ansible.parsing.dataloader import DataLoader
    from ansible.parsing.yaml.loader import AnsibleLoader
    from ansible.template import Templar
    data = {'pve_backup_job': [{'id': 'a', 'notes_template': '{{guestname}} {% raw %}', 'vmid': [1, 2],
                                'enabled': True}], 'empty': []}
    text = export_yaml(data, header='line one\nline two')
    assert text.startswith('---\n# line one\n# line two\n')
    assert 'notes_template: !unsafe "{{guestname}} {% raw %}"' in text
    loaded = AnsibleLoader(text).get_single_data()
    assert loaded == data
    try:
        from ansible.template import trust_as_template
    except ImportError:  # ansible-core before 2.19 templates every string
        def trust_as_template(value):
            return value
    templar = Templar(loader=DataLoader(), variables={'loaded': loaded})
    expression = trust_as_template('{{ loaded.pve_backup_job[0].notes_template }}')
    assert templar.template(expression) == '{{guestname}} {% raw %}'


def test_plain_types_and_what_cannot_be_written():
    from ansible.errors import AnsibleFilterError

    class Text(str):
        pass
    value = plain({'a': [Text('x'), 1, 1.5, None, True]})['a'][0]
    assert isinstance(value, str) and not isinstance(value, Text)
    with pytest.raises(AnsibleFilterError, match='cannot write a value of type object'):
        plain({'a': object()})
    assert FilterModule().filters() == {'export_yaml': export_yaml}
