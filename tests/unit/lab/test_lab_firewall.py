# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall as the lab serves it: fakepve's levels (positions, digests, moveto) and the lab's vnet level."""

import pytest
from proxmoxer.core import ResourceException

pytestmark = pytest.mark.lab(clusters=1, nodes=1, guests=2)


def fails(call, *args, **kwargs):
    with pytest.raises(ResourceException) as caught:
        call(*args, **kwargs)
    return caught.value


@pytest.fixture
def pve(lab_fn, api):
    return api(lab_fn.clusters[0])


@pytest.fixture
def vnet(pve):
    pve.cluster.sdn.zones.post(zone='fwz', type='simple')
    pve.cluster.sdn.vnets.post(vnet='fwnet', zone='fwz')
    pve.cluster.sdn.put()
    return pve.cluster.sdn.vnets('fwnet').firewall


def test_rules_positions_digest_and_moveto(pve):
    rules = pve.cluster.firewall.rules
    for port in ('22', '80', '443'):
        rules.post(type='in', action='ACCEPT', proto='tcp', dport=port, enable=1)
    listed = rules.get()
    # New rules go first; every rule carries its position and the digest of the whole list.
    assert [r['dport'] for r in listed] == ['443', '80', '22']
    assert [r['pos'] for r in listed] == [0, 1, 2]
    assert len(set(r['digest'] for r in listed)) == 1
    digest = listed[0]['digest']
    # moveto: in front of the rule now at that position, counted before the move.
    rules(0).put(moveto=3, digest=digest)
    assert [r['dport'] for r in rules.get()] == ['80', '22', '443']
    # The old digest is refused now.
    error = fails(rules(0).put, comment='x', digest=digest)
    assert error.status_code == 500 and 'detected modified configuration' in str(error)
    error = fails(rules(0).delete, digest=digest)
    assert 'detected modified configuration' in str(error)
    # A rule created without enable is disabled, as in PVE.
    rules.post(type='out', action='DROP')
    assert rules.get()[0]['enable'] == 0


def test_vnet_rules_and_options(pve, vnet):
    vnet.rules.post(type='forward', action='ACCEPT', proto='tcp', dport='22', enable=1)
    listed = vnet.rules.get()
    assert listed[0]['type'] == 'forward' and listed[0]['pos'] == 0 and listed[0]['digest']
    vnet.rules(0).put(comment='ssh', digest=listed[0]['digest'])
    assert vnet.rules(0).get()['comment'] == 'ssh'
    # Vnets take forward and group rules only, without an interface.
    error = fails(vnet.rules.post, type='in', action='ACCEPT')
    assert error.status_code == 400 and "invalid rule type 'in' for rule_env 'vnet'" in str(error.errors)
    error = fails(vnet.rules.post, type='forward', action='REJECT')
    assert 'cannot define REJECT rules on forward chain' in str(error.errors)
    vnet.rules(0).delete(digest=vnet.rules.get()[0]['digest'])
    assert vnet.rules.get() == []
    options = vnet.options.get()
    vnet.options.put(enable=1, policy_forward='DROP', digest=options['digest'])
    got = vnet.options.get()
    assert got['enable'] == 1 and got['policy_forward'] == 'DROP'
    vnet.options.put(delete='policy_forward')
    assert 'policy_forward' not in vnet.options.get()
    error = fails(vnet.options.put, enable=0, digest=options['digest'])
    assert 'detected modified configuration' in str(error)


def test_unknown_vnet(pve):
    error = fails(pve.cluster.sdn.vnets('nonet').firewall.rules.get)
    assert error.status_code == 500 and 'invalid vnet specified' in str(error)


def test_vnet_needs_sdn_privileges(lab_fn, pve, vnet, api):
    cluster = lab_fn.clusters[0]
    made = pve.access.users('root@pam').token('fwtok').post(privsep=1)
    token = api(cluster, token=(made['full-tokenid'], made['value']))
    error = fails(token.cluster.sdn.vnets('fwnet').firewall.rules.get)
    assert error.status_code == 403 and '/sdn/zones/fwz/fwnet' in str(error)
    pve.access.acl.put(path='/sdn/zones/fwz', roles='PVEAuditor', tokens=made['full-tokenid'])
    assert token.cluster.sdn.vnets('fwnet').firewall.rules.get() == []
    error = fails(token.cluster.sdn.vnets('fwnet').firewall.rules.post, type='forward', action='ACCEPT')
    assert error.status_code == 403
