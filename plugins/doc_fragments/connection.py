# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """Connection options shared by every module: PVE (default) and PBS."""

    DOCUMENTATION = r'''
options:
  api_host:
    description:
      - Host name or IP address of a node of the Proxmox VE cluster.
      - If not set, the value of the E(PROXMOX_HOST) environment variable is used.
      - Required, unless O(cluster) names a cluster of an estate.
    type: str
    version_added: 0.1.0
  api_port:
    description:
      - Port of the API. Proxmox VE listens on V(8006).
      - If not set, the value of the E(PROXMOX_PORT) environment variable is used, then V(8006).
    type: int
    version_added: 0.1.0
  api_user:
    description:
      - User to log in as, with its realm (V(root@pam), V(automation@pve)).
      - With O(api_token_id) given as a bare token name, the user the token belongs to.
      - If not set, the value of the E(PROXMOX_USER) environment variable is used.
    type: str
    version_added: 0.1.0
  api_password:
    description:
      - Password of O(api_user) for ticket authentication.
      - If not set, the value of the E(PROXMOX_PASSWORD) environment variable is used.
      - Prefer an API token for automation; a password cannot log in where two-factor authentication is on.
    type: str
    version_added: 0.1.0
  api_token_id:
    description:
      - API token id, as V(user@realm!name), or as the bare V(name) together with O(api_user).
      - If not set, the value of the E(PROXMOX_TOKEN_ID) environment variable is used.
      - Takes precedence over O(api_password).
    type: str
    version_added: 0.1.0
  api_token_secret:
    description:
      - Secret (UUID) of the API token O(api_token_id).
      - If not set, the value of the E(PROXMOX_TOKEN_SECRET) environment variable is used.
    type: str
    version_added: 0.1.0
  validate_certs:
    description:
      - Verify the server certificate against the system CAs or O(ca_path), and its host name.
      - Turning this off accepts any certificate. To trust a self-signed cluster safely, pin it with O(fingerprint) instead.
      - If not set, the value of the E(PROXMOX_VALIDATE_CERTS) environment variable is used, then V(true).
    type: bool
    default: true
    version_added: 0.1.0
  ca_path:
    description:
      - PEM file of the CA (or CA bundle) that signed the server certificate, used instead of the system CAs.
      - If not set, the value of the E(PROXMOX_CA_PATH) environment variable is used.
    type: path
    version_added: 0.1.0
  fingerprint:
    description:
      - SHA-256 fingerprint of the server certificate, as 32 colon-separated hex bytes (V(AA:BB:...:FF)),
        as the node's certificate view or C(pvenode cert info) shows it.
      - When set, the connection is accepted only if the certificate has exactly this fingerprint, and refused
        otherwise, whatever O(validate_certs) says. A matching pin is trusted without a CA chain, as Proxmox's own
        tools treat a fingerprint.
      - If not set, the value of the E(PROXMOX_FINGERPRINT) environment variable is used.
    type: str
    version_added: 0.1.0
  api_timeout:
    description:
      - Seconds to wait for one API request (connect and answer). Tasks are waited for separately.
      - If not set, the value of the E(PROXMOX_TIMEOUT) environment variable is used, then V(30).
    type: int
    default: 30
    version_added: 0.1.0
  cluster:
    description:
      - Name of the cluster in the estate (O(estate), else the file O(estate_file)) to take the connection from;
        its entry under C(clusters) gives O(api_host) and the other connection options.
      - Options given to the task (or through C(module_defaults)) override the estate's values; the E(PROXMOX_*)
        environment variables are not used for a connection named by O(cluster).
      - An unknown name fails the module, listing the names the estate holds.
      - See the collection's docs/connection.md for the estate format (the inventory plugin's C(clusters) and
        C(pbs_servers)).
    type: str
    version_added: 0.1.0
  estate_file:
    description:
      - YAML or JSON file describing an estate, read on the host that runs the module when O(cluster) is set.
      - If not set, the value of the E(PROXMOX_ESTATE_FILE) environment variable is used, which the AWX estate
        credential type sets to the file it injects.
      - A module cannot decrypt a vault-encrypted file; give such an estate with O(estate) instead.
    type: path
    version_added: 0.1.0
  estate:
    description:
      - The estate itself, as a dictionary (C(clusters), C(pbs_servers)), used instead of O(estate_file).
      - Lets a vault-encrypted estate be given from a variable, for example
        C("{{ lookup('ansible.builtin.file', 'estate.vault.yml') | from_yaml }}").
      - Its passwords and token secrets are masked in every result and message.
    type: dict
    version_added: 0.1.0
requirements:
  - proxmoxer >= 2.0.1
  - requests >= 2.32.0
notes:
  - Reads are retried on connection errors and HTTP 502, 503 and 504 with exponential backoff; writes are never
    repeated once they may have reached the server. An expired login ticket is renewed once, transparently.
  - Set the connection options once for every module of the collection with
    C(module_defaults) and the action group C(group/proxfleet.proxmox.proxmox).
'''

    PBS = r'''
options:
  api_host:
    description:
      - Host name or IP address of the Proxmox Backup Server.
      - If not set, the value of the E(PBS_HOST) environment variable is used.
      - Required, unless O(cluster) names a Backup Server of an estate.
    type: str
    version_added: 0.1.0
  api_port:
    description:
      - Port of the API. Proxmox Backup Server listens on V(8007).
      - If not set, the value of the E(PBS_PORT) environment variable is used, then V(8007).
    type: int
    version_added: 0.1.0
  api_user:
    description:
      - User to log in as, with its realm (V(root@pam), V(backup@pbs)).
      - With O(api_token_id) given as a bare token name, the user the token belongs to.
      - If not set, the value of the E(PBS_USER) environment variable is used.
    type: str
    version_added: 0.1.0
  api_password:
    description:
      - Password of O(api_user) for ticket authentication.
      - If not set, the value of the E(PBS_PASSWORD) environment variable is used.
    type: str
    version_added: 0.1.0
  api_token_id:
    description:
      - API token id, as V(user@realm!name), or as the bare V(name) together with O(api_user).
      - If not set, the value of the E(PBS_TOKEN_ID) environment variable is used.
    type: str
    version_added: 0.1.0
  api_token_secret:
    description:
      - Secret of the API token O(api_token_id).
      - If not set, the value of the E(PBS_TOKEN_SECRET) environment variable is used.
    type: str
    version_added: 0.1.0
  validate_certs:
    description:
      - Verify the server certificate against the system CAs or O(ca_path), and its host name.
      - To trust a self-signed server safely, pin it with O(fingerprint) instead of turning this off.
      - If not set, the value of the E(PBS_VALIDATE_CERTS) environment variable is used, then V(true).
    type: bool
    default: true
    version_added: 0.1.0
  ca_path:
    description:
      - PEM file of the CA that signed the server certificate.
      - If not set, the value of the E(PBS_CA_PATH) environment variable is used.
    type: path
    version_added: 0.1.0
  fingerprint:
    description:
      - SHA-256 fingerprint of the server certificate (V(AA:BB:...:FF)), as the PBS dashboard shows it.
      - When set, only a certificate with exactly this fingerprint is accepted, whatever O(validate_certs) says.
      - If not set, the value of the E(PBS_FINGERPRINT) environment variable is used.
    type: str
    version_added: 0.1.0
  api_timeout:
    description:
      - Seconds to wait for one API request.
      - If not set, the value of the E(PBS_TIMEOUT) environment variable is used, then V(30).
    type: int
    default: 30
    version_added: 0.1.0
  cluster:
    description:
      - Name of the Backup Server in the estate (O(estate), else the file O(estate_file)) to take the connection from;
        its entry under C(pbs_servers) gives O(api_host) and the other connection options.
      - Options given to the task (or through C(module_defaults)) override the estate's values; the E(PBS_*)
        environment variables are not used for a connection named by O(cluster).
      - An unknown name fails the module, listing the names the estate holds.
      - See the collection's docs/connection.md for the estate format (the inventory plugin's C(clusters) and
        C(pbs_servers)).
    type: str
    version_added: 0.1.0
  estate_file:
    description:
      - YAML or JSON file describing an estate, read on the host that runs the module when O(cluster) is set.
      - If not set, the value of the E(PROXMOX_ESTATE_FILE) environment variable is used, which the AWX estate
        credential type sets to the file it injects.
      - A module cannot decrypt a vault-encrypted file; give such an estate with O(estate) instead.
    type: path
    version_added: 0.1.0
  estate:
    description:
      - The estate itself, as a dictionary (C(clusters), C(pbs_servers)), used instead of O(estate_file).
      - Lets a vault-encrypted estate be given from a variable, for example
        C("{{ lookup('ansible.builtin.file', 'estate.vault.yml') | from_yaml }}").
      - Its passwords and token secrets are masked in every result and message.
    type: dict
    version_added: 0.1.0
requirements:
  - proxmoxer >= 2.0.1
  - requests >= 2.32.0
notes:
  - Set the connection options once with C(module_defaults) and the action group C(group/proxfleet.proxmox.proxmox).
'''
