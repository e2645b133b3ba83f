# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's certificates: one CA that signs every cluster's server certificate (needs cryptography).

Clients verify against the CA bundle (`ca.pem`), or pin a server by its fingerprint: the SHA-256 of
the certificate's DER bytes as colon-separated upper-case hex, the form PVE shows.
"""

import datetime
import errno
import hashlib
import ipaddress
import os

VALID_DAYS = 30


def fingerprint(der):
    """'AA:BB:...' of DER bytes."""
    return ':'.join('{0:02X}'.format(b) for b in hashlib.sha256(der).digest())


def _write_key(path, key):
    from cryptography.hazmat.primitives import serialization
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'wb') as out:
        out.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption()))


class LabCa(object):
    """A CA made for one estate; its key stays in memory."""

    def __init__(self, directory, name='proxfleet lab CA'):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
        self.directory = directory
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name),
                               x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'proxfleet lab')])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder()
                     .subject_name(self.name).issuer_name(self.name)
                     .public_key(self.key.public_key())
                     .serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                     .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                                  key_encipherment=False, data_encipherment=False,
                                                  key_agreement=False, key_cert_sign=True, crl_sign=True,
                                                  encipher_only=False, decipher_only=False), critical=True)
                     .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
                     .sign(self.key, hashes.SHA256()))
        self.path = os.path.join(directory, 'ca.pem')
        with open(self.path, 'wb') as out:
            out.write(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, name, hosts):
        """A server certificate for hosts (addresses or names): (certfile, keyfile, fingerprint)."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
        key = ec.generate_private_key(ec.SECP256R1())
        names = []
        for host in hosts:
            try:
                entry = x509.IPAddress(ipaddress.ip_address(host))
            except ValueError:
                entry = x509.DNSName(host)
            if entry not in names:
                names.append(entry)
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name),
                                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'proxfleet lab')]))
                .issuer_name(self.name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=VALID_DAYS - 1))
                .add_extension(x509.SubjectAlternativeName(names), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                                             data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                             crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                               critical=False)
                .sign(self.key, hashes.SHA256()))
        certfile = os.path.join(self.directory, name + '.pem')
        keyfile = os.path.join(self.directory, name + '.key')
        with open(certfile, 'wb') as out:
            out.write(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(keyfile, key)
        return certfile, keyfile, fingerprint(cert.public_bytes(serialization.Encoding.DER))


async def serve_certified(server, ca, name, hosts, names=()):
    """Start a fake (a LabPve or FakePbs: `host`, `start(certfile, keyfile)`, `stop()`) on the first free address
    `hosts` yields, with a certificate from the lab CA for that address, `name`, localhost and `names`.

    Returns (fingerprint, certificate PEM). An address in use is skipped; OSError after 50 tries or when `hosts`
    runs out. The key file is removed at once: the server holds the key.
    """
    last = None
    for _attempt in range(50):
        try:
            host = next(hosts)
        except StopIteration:
            break
        certfile, keyfile, fp = ca.issue(name, [host, name, 'localhost'] + list(names))
        server.host = host
        try:
            await server.start(certfile, keyfile)
        except OSError as exc:
            await server.stop()
            if exc.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL):
                raise
            last = exc
            continue
        finally:
            os.unlink(keyfile)
        with open(certfile, encoding='ascii') as handle:
            return fp, handle.read()
    raise OSError(errno.EADDRINUSE, 'no free loopback address for {0}: {1}'.format(name, last))
