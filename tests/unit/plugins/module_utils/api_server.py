# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Test helpers for the module_utils unit tests: a real HTTPS API server on loopback, its PKI, and a fake clock.

The server is a threaded http.server behind TLS (a certificate signed by a CA made here for 127.0.0.1). It
records every request (and every byte it read after the handshake) and answers from a per-route script, so the
client is tested on the wire: headers, bodies, status codes, reason phrases, dropped and hanging connections.
Imported by its absolute name (ansible_collections.proxfleet.proxmox.tests.unit...), never as a bare module.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import json
import os
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

API = '/api2/json'
HOST = '127.0.0.1'
# Long enough for any test, short enough that a forgotten hang never stalls the run.
HANG_LIMIT = 5.0


# ------------------------------------------------------------------------------------------------ PKI


class Pki(object):
    """A CA and a server certificate for 127.0.0.1 signed by it, as PEM files, with the server's SHA-256."""

    def __init__(self, directory):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        now = datetime.datetime.now(datetime.timezone.utc)
        start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=30)

        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'proxfleet unit test CA')])
        ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
        ca_cert = (x509.CertificateBuilder()
                   .subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                                crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
                   .add_extension(ca_ski, critical=False)
                   .sign(ca_key, hashes.SHA256()))

        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'pve1.unit.test')]))
                .issuer_name(ca_name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
                .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST)),
                                                            x509.DNSName('localhost')]), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                             crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
                .sign(ca_key, hashes.SHA256()))

        self.ca_file = os.path.join(directory, 'ca.pem')
        self.cert_file = os.path.join(directory, 'server.pem')
        self.key_file = os.path.join(directory, 'server.key')
        with open(self.ca_file, 'wb') as out:
            out.write(ca_cert.public_bytes(serialization.Encoding.PEM))
        with open(self.cert_file, 'wb') as out:
            out.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(self.key_file, 'wb') as out:
            out.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
        # 64 lowercase hex digits, and the AA:BB:... form users copy from the PVE GUI.
        self.fingerprint = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
        self.fingerprint_colons = ':'.join(self.fingerprint[i:i + 2] for i in range(0, 64, 2)).upper()

    def server_context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx


# ----------------------------------------------------------------------------------------- the server


def reply(status=200, data=None, body=None, reason=None, headers=None):
    """One scripted answer: `data` goes into PVE's {"data": ...} envelope unless a raw `body` (dict or text) is given."""
    if body is None:
        body = {'data': data}
    return {'status': status, 'body': body, 'reason': reason, 'headers': dict(headers or {})}


DROP = 'drop'   # close the connection without answering (after reading the request)
HANG = 'hang'   # read the request, then answer nothing until the test ends (a read timeout)


class Recorded(object):
    """One request as the server read it."""

    def __init__(self, method, target, headers, body):
        parts = urlsplit(target)
        self.method = method
        self.path = parts.path[len(API):] if parts.path.startswith(API) else parts.path
        self.query = dict((k, v[0]) for k, v in parse_qs(parts.query, keep_blank_values=True).items())
        self.headers = dict((k.lower(), v) for k, v in headers.items())
        self.body = body
        self.form = dict((k, v[0]) for k, v in parse_qs(body.decode('utf-8', 'replace'), keep_blank_values=True).items())

    @property
    def cookies(self):
        out = {}
        for item in self.headers.get('cookie', '').split(';'):
            name, sep, value = item.strip().partition('=')
            if sep:
                out[name] = value
        return out

    def __repr__(self):
        return '<{0} {1}>'.format(self.method, self.path)


class _Tee(object):
    """The handler's rfile, keeping a copy of every byte read."""

    def __init__(self, raw, sink):
        self._raw = raw
        self._sink = sink

    def readline(self, size=-1):
        data = self._raw.readline(size)
        self._sink.extend(data)
        return data

    def read(self, size=-1):
        data = self._raw.read(size)
        self._sink.extend(data)
        return data

    def close(self):
        self._raw.close()


class _Handler(BaseHTTPRequestHandler):
    server_version = 'pve-api-daemon/3.0'

    def setup(self):
        super().setup()
        self.rfile = _Tee(self.rfile, self.server.api.raw)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass

    def _serve(self):
        api = self.server.api
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else b''
        request = Recorded(self.command, self.path, self.headers, body)
        with api.lock:
            api.requests.append(request)
        action = api.next_action(request)
        if callable(action):
            action = action(request)
        if action == DROP:
            self.close_connection = True
            return
        if action == HANG:
            api.release.wait(HANG_LIMIT)
            self.close_connection = True
            return
        payload = action['body']
        if isinstance(payload, (dict, list)):
            raw = json.dumps(payload).encode()
            ctype = 'application/json;charset=UTF-8'
        else:
            raw = str(payload).encode()
            ctype = 'text/html'
        self.send_response(action['status'], action['reason'])
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(raw)))
        for name, value in action['headers'].items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    do_GET = do_POST = do_PUT = do_DELETE = _serve


class _TlsHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, api, address):
        self.api = api
        super().__init__(address, _Handler)

    def finish_request(self, request, client_address):
        # The handshake runs in the request's thread, so a client that hangs up mid-handshake blocks nothing.
        try:
            tls = self.api.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            self.api.handshake_failures.append(str(exc))
            return
        with self.api.lock:
            self.api.handshakes += 1
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except OSError:
            pass
        finally:
            tls.close()


class ApiServer(object):
    """A scripted HTTPS API on 127.0.0.1.

    server.on('GET', '/nodes', reply(502), reply(data=[...])): answers in order, the last one repeats. Unscripted
    routes answer 200 {"data": null}; POST /access/ticket answers a ticket unless scripted.
    """

    def __init__(self, pki, port=0):
        self.pki = pki
        self.context = pki.server_context()
        self.requests = []
        self.raw = bytearray()
        self.routes = {}
        self.handshakes = 0
        self.handshake_failures = []
        self.tickets = 0
        self.lock = threading.Lock()
        self.release = threading.Event()
        self._httpd = _TlsHttpServer(self, (HOST, port))
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={'poll_interval': 0.01}, daemon=True)
        self._thread.start()

    @property
    def url(self):
        return 'https://{0}:{1}'.format(HOST, self.port)

    def on(self, method, path, *actions):
        self.routes[(method, path)] = list(actions)

    def next_action(self, request):
        with self.lock:
            script = self.routes.get((request.method, request.path))
            if script:
                return script.pop(0) if len(script) > 1 else script[0]
            if request.method == 'POST' and request.path == '/access/ticket':
                self.tickets += 1
                return reply(data={'ticket': 'PVE:{0}:TICKET{1}'.format(request.form.get('username'), self.tickets),
                                   'CSRFPreventionToken': 'CSRF{0}'.format(self.tickets),
                                   'username': request.form.get('username')})
        return reply()

    def calls(self, method=None, path=None):
        """The recorded requests, optionally only those of one method and/or path."""
        with self.lock:
            return [r for r in self.requests if (method is None or r.method == method) and (path is None or r.path == path)]

    def stop(self):
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(HANG_LIMIT)


def free_port():
    """A loopback port nothing listens on (connections to it are refused)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((HOST, 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


# ------------------------------------------------------------------------------------------ fake time


class FakeClock(object):
    """A monotonic clock that only moves when someone sleeps on it (or a test advances it)."""

    def __init__(self, start=1000.0):
        self.now = float(start)
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        assert seconds >= 0, 'negative sleep {0!r}'.format(seconds)
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds):
        self.now += seconds
