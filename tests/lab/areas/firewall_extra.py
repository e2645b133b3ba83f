# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vnet level of the firewall, which fakepve 0.5.0 does not serve: /cluster/sdn/vnets/{vnet}/firewall/...

Follows pve-firewall's PVE/API2/Firewall/Vnet.pm and the VnetRules package of Rules.pm (PVE 8.3 and later):
the vnet must exist in the running SDN configuration (`check_vnet_access`, else `invalid vnet specified`),
rules of a vnet are `forward` or `group` rules without an interface, options are `enable`, `policy_forward`
and `log_level_forward`. Rules, digests, `moveto` and the verification are fakepve's own, shared with the other
levels, so a vnet behaves like them.
"""

from fakepve.firewall import copy_object_with_digest, empty_conf, verify_rule
from fakepve.model import PveError
from fakepve.routing import StatefulRoutes, check_digest, die, param_error, split_list

HELPERS_PM = '/usr/share/perl5/PVE/API2/Firewall/Helpers.pm'
VNET_OPTIONS = ('enable', 'policy_forward', 'log_level_forward')
VNET_TYPES = ('forward', 'group')


class FirewallExtraArea(StatefulRoutes):
    """Mixin of the lab's PVE: the firewall of SDN vnets. `pve.vnet_firewall(vnet)` is a vnet's stored config."""

    def vnet_firewall(self, vnet):
        return self._fw().setdefault('vnets', {}).setdefault(vnet, empty_conf())

    def _routes_firewall_extra(self):
        base = '/cluster/sdn/vnets/{vnet}/firewall'

        def bind(fn):
            async def call(v, user):
                return await fn('vnet', v, user)
            return call
        return [('GET', base, self._vfw_index),
                ('GET', base + '/options', self._vfw_options_get), ('PUT', base + '/options', self._vfw_options_put),
                ('GET', base + '/rules', self._vfw_guard(bind(self._fw_rules_get), False)),
                ('POST', base + '/rules', self._vfw_guard(bind(self._fw_rule_create), True)),
                ('GET', base + '/rules/{pos}', self._vfw_guard(bind(self._fw_rule_get), False)),
                ('PUT', base + '/rules/{pos}', self._vfw_guard(bind(self._fw_rule_update), True)),
                ('DELETE', base + '/rules/{pos}', self._vfw_guard(bind(self._fw_rule_delete), True))]

    # ------------------------------------------------------------ access

    def _vfw_access(self, user, vnet, privs):
        """Helpers.pm's check_vnet_access: the vnet of the running SDN config, then SDN privileges on its zone."""
        running = (getattr(self, 'sdn_running', None) or {}).get('vnets') or {}
        section = running.get(vnet)
        if section is None:
            raise die('invalid vnet specified at {0} line 55.'.format(HELPERS_PM))
        path = '/sdn/zones/{0}/{1}'.format(section.get('zone'), vnet)
        # root@pam holds every privilege; its tokens only what the lab's ACL model gives them (privilege separation).
        if user is None or user == 'root@pam':
            return
        if not any(self.allowed(user, path, priv) for priv in privs):
            raise PveError(403, 'Permission check failed ({0}, {1})'.format(path, '|'.join(privs)))

    def _vfw_guard(self, handler, write):
        privs = ['SDN.Allocate'] if write else ['SDN.Audit', 'SDN.Allocate']

        async def call(v, user):
            self._vfw_access(user, v['vnet'], privs)
            return await handler(v, user)
        return call

    async def _vfw_index(self, v, user):
        return [{'name': 'rules'}, {'name': 'options'}]

    # ------------------------------------------------------------ rules: the vnet rule_env

    def _rules_of(self, scope, v):
        if scope == 'vnet':
            conf = self.vnet_firewall(v['vnet'])
            return conf, conf['rules']
        return super()._rules_of(scope, v)

    def _check_rule(self, scope, rule, conf):
        if scope != 'vnet':
            return super()._check_rule(scope, rule, conf)
        # verify_rule with rule_env 'vnet': forward and group rules, no interface; the rest as for the cluster.
        rtype = rule.get('type')
        if rtype and rtype not in VNET_TYPES:
            raise param_error(type="invalid rule type '{0}' for rule_env 'vnet'".format(rtype))
        if rule.get('iface'):
            raise param_error(type='parameter -i not allowed for this rule type')
        return verify_rule(rule, self.firewall_config('cluster'), conf, 'cluster')

    # ------------------------------------------------------------ options

    async def _vfw_options_get(self, v, user):
        self._vfw_access(user, v['vnet'], ['SDN.Allocate', 'SDN.Audit'])
        return copy_object_with_digest(self.vnet_firewall(v['vnet'])['options'])[0]

    async def _vfw_options_put(self, v, user):
        self._vfw_access(user, v['vnet'], ['SDN.Allocate'])
        conf = self.vnet_firewall(v['vnet'])
        check_digest(copy_object_with_digest(conf['options'])[1], v.get('digest'))
        options = dict(conf['options'])
        for name in split_list(v.get('delete')):
            if name not in VNET_OPTIONS:
                raise param_error(delete="no such option '{0}'".format(name))
            options.pop(name, None)
        for name in VNET_OPTIONS:
            value = v.get(name)
            if value is not None:
                options[name] = (1 if value else 0) if name == 'enable' else value
        conf['options'] = options
