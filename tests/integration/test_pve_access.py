# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pve_role and pve_acl (issue 16, access control) through ansible-playbook against the lab.

The modules run with a least-privilege token built from their rows in docs/privileges.md, so those rows are tested.
"""

import uuid

from tests.integration.conftest import target
from tests.integration.least_privilege import least_privilege_token
from tests.lab.pytest_plugin import run_playbook


def test_role(lab):
    cluster = lab.clusters[0]
    role = 'it-' + uuid.uuid4().hex[:8]
    pve = least_privilege_token(cluster, 'pve_role')
    run = run_playbook(target('pve_role'), lab, diff=True, extra_vars={'pve': pve, 'role': role})
    assert run.ok, run.explain()
    assert role not in cluster.pve.custom_roles
    # The refused changes wrote nothing: the built-in role is as PVE::AccessControl makes it.
    from tests.lab.areas.tokens import ROLES
    assert ROLES['PVEAuditor'] >= {'VM.Audit', 'Sys.Audit', 'Datastore.Audit'}
