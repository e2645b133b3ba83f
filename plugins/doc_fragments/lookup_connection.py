# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """Connection options of the lookup plugins (one Proxmox VE cluster), with the modules' environment variables."""

    DOCUMENTATION = r'''
options:
  api_host:
    description: A node of the cluster.
    type: str
    env:
      - name: PROXMOX_HOST
  api_port:
    description: Port of the API.
    type: int
    default: 8006
    env:
      - name: PROXMOX_PORT
  api_user:
    description: User with realm, for a password login or with a bare O(api_token_id).
    type: str
    env:
      - name: PROXMOX_USER
  api_password:
    description: Password of O(api_user).
    type: str
    env:
      - name: PROXMOX_PASSWORD
  api_token_id:
    description: API token id, V(user@realm!name) or a bare name with O(api_user).
    type: str
    env:
      - name: PROXMOX_TOKEN_ID
  api_token_secret:
    description: Secret of the API token.
    type: str
    env:
      - name: PROXMOX_TOKEN_SECRET
  validate_certs:
    description: Verify the server certificate.
    type: bool
    default: true
    env:
      - name: PROXMOX_VALIDATE_CERTS
  ca_path:
    description: PEM CA bundle to verify the server certificate with.
    type: path
    env:
      - name: PROXMOX_CA_PATH
  fingerprint:
    description: SHA-256 pin of the server certificate (V(AA:BB:...)); any other certificate is refused.
    type: str
    env:
      - name: PROXMOX_FINGERPRINT
  api_timeout:
    description: Seconds per request.
    type: int
    default: 30
    env:
      - name: PROXMOX_TIMEOUT
  cluster:
    description:
      - Name of a cluster of the estate (O(estate), else O(estate_file)) to take the connection from, its entry under
        C(clusters); connection options passed to the lookup override the estate's values.
    type: str
    version_added: 0.1.0
  estate_file:
    description:
      - YAML or JSON file describing an estate (see the collection's docs/connection.md), read on the controller; it may
        be vault-encrypted, or hold vault-encrypted values.
    type: path
    env:
      - name: PROXMOX_ESTATE_FILE
    version_added: 0.1.0
  estate:
    description: The estate itself, as a dictionary, used instead of O(estate_file).
    type: dict
    version_added: 0.1.0
'''
