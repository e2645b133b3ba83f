# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The certificates a cluster serves: GET /nodes/{node}/certificates/info, and the fingerprint in /nodes.

PVE answers with one entry per certificate file (pve-root-ca.pem, pve-ssl.pem): its fingerprint
(SHA-256, colon-separated upper-case hex), subject and issuer in OpenSSL's one-line form, validity,
SANs, PEM and key. The lab's CA stands in for the cluster CA, and the certificate the cluster's
address serves for every node's pve-ssl.pem, so a client can pin what it actually sees.
"""

import json

from aiohttp import web
from fakepve.routing import StatefulRoutes

from ..pki import fingerprint


def certificate_info(filename, pem):
    """The certificates/info entry of a PEM certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    cert = x509.load_pem_x509_certificate(pem.encode())

    def oneline(name):
        return ''.join('/{0}={1}'.format(attr.rfc4514_attribute_name, attr.value) for attr in name)
    key = cert.public_key()
    kind = 'id-ecPublicKey' if isinstance(key, ec.EllipticCurvePublicKey) else \
        'rsaEncryption' if isinstance(key, rsa.RSAPublicKey) else 'unknown'
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        san = [str(entry.value) for entry in sans]
    except x509.ExtensionNotFound:
        san = []
    return {'filename': filename, 'fingerprint': fingerprint(cert.public_bytes(serialization.Encoding.DER)),
            'subject': oneline(cert.subject), 'issuer': oneline(cert.issuer),
            'notbefore': int(cert.not_valid_before_utc.timestamp()), 'notafter': int(cert.not_valid_after_utc.timestamp()),
            'san': san, 'pem': pem, 'public-key-type': kind, 'public-key-bits': key.key_size}


class CertificatesArea(StatefulRoutes):
    """Mixin of the lab's PVE: what the served certificate and its CA look like through the API."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # PEM of the certificate the cluster serves and of the CA that signed it (set when it starts).
        self.certificate_pem = None
        self.ca_pem = None

    def _routes_certificates(self):
        return [('GET', '/nodes/{node}/certificates/info', self._cert_info)]

    @property
    def ssl_fingerprint(self):
        """The fingerprint of the served certificate, or None before the cluster starts."""
        if not self.certificate_pem:
            return None
        return certificate_info('pve-ssl.pem', self.certificate_pem)['fingerprint']

    async def _cert_info(self, v, user):
        out = []
        if self.ca_pem:
            out.append(certificate_info('pve-root-ca.pem', self.ca_pem))
        if self.certificate_pem:
            out.append(certificate_info('pve-ssl.pem', self.certificate_pem))
        return out

    async def _nodes(self, request):
        """GET /nodes (fakepve's hand-written route), with the served certificate's fingerprint."""
        response = await super()._nodes(request)
        found = self.ssl_fingerprint
        if not found or response.status != 200:
            return response
        body = json.loads(response.text)
        for item in body.get('data') or []:
            item['ssl_fingerprint'] = found
        return web.json_response(body)
