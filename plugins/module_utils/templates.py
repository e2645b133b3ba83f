# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""Files on storages: container templates, ISO images and disk images to import. Their names as PVE normalizes and
checks them, their volume ids, checksums, and the one streaming multipart upload the API takes
(POST /nodes/{node}/storage/{storage}/upload)."""

from __future__ import annotations

import hashlib
import os
import re
import uuid

from ansible_collections.proxfleet.proxmox.plugins.module_utils.client import _decode_error, _envelope_data
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import (
    ProxmoxApiError,
    ProxmoxConfigError,
    ProxmoxConnectionError,
)

CONTENTS = ('iso', 'vztmpl', 'import')
ALGORITHMS = {'md5': 32, 'sha1': 40, 'sha224': 56, 'sha256': 64, 'sha384': 96, 'sha512': 128}
COMPRESSIONS = ('gz', 'lzo', 'zst', 'bz2')
# PVE::Storage's ISO_EXT_RE_0, VZTMPL_EXT_RE_1 and UPLOAD_IMPORT_EXT_RE_1 (with SAFE_CHAR_CLASS_RE for import).
_EXTENSIONS = {
    'iso': re.compile(r'^[^/]+\.(?:iso|img)$', re.I),
    'vztmpl': re.compile(r'^[^/]+\.(?:tar|tar\.(?:gz|xz|zst|bz2))$', re.I),
    'import': re.compile(r'^[a-zA-Z0-9\-.+=_]+\.(?:ova|qcow2|raw|vmdk)$'),
}
_EXTENSION_HELP = {'iso': '.iso or .img', 'vztmpl': '.tar, .tar.gz, .tar.xz, .tar.zst or .tar.bz2',
                   'import': '.ova, .qcow2, .raw or .vmdk'}
CHUNK = 1024 * 1024


def normalize_filename(name):
    """PVE's normalize_content_filename: the last path segment, characters outside [a-zA-Z0-9_.-] turned into _."""
    text = str(name or '').rstrip('\n')
    text = re.sub(r'^.*[/\\]', '', text)
    return re.sub(r'[^a-zA-Z0-9_.-]', '_', text)


def content_of(filename):
    """The content type a file name implies (iso, vztmpl or import), or None."""
    for content in CONTENTS:
        if _EXTENSIONS[content].match(filename):
            return content
    return None


def check_filename(content, filename):
    """The file name as PVE stores it, or ProxmoxConfigError before any write."""
    if content not in CONTENTS:
        raise ProxmoxConfigError('content {0!r} cannot be downloaded or uploaded: one of {1}'.format(
            content, ', '.join(CONTENTS)))
    normalized = normalize_filename(filename)
    if not normalized:
        raise ProxmoxConfigError('filename {0!r} leaves no file name once normalized'.format(filename))
    if not _EXTENSIONS[content].match(normalized):
        raise ProxmoxConfigError('filename {0!r} does not fit content {1}: it must end with {2}'.format(
            normalized, content, _EXTENSION_HELP[content]))
    return normalized


def filename_from_url(url):
    """The last path segment of a URL (without query or fragment)."""
    path = re.sub(r'[?#].*$', '', str(url or ''))
    return path.rstrip('/').rsplit('/', 1)[-1]


def check_checksum(checksum, algorithm):
    """(checksum lower-cased, algorithm), or ProxmoxConfigError: a hex digest of the algorithm's length."""
    if checksum is None and algorithm is None:
        return None, None
    if checksum is None or algorithm is None:
        raise ProxmoxConfigError('checksum and checksum_algorithm go together')
    if algorithm not in ALGORITHMS:
        raise ProxmoxConfigError('checksum_algorithm must be one of {0}'.format(', '.join(ALGORITHMS)))
    text = str(checksum).strip().lower()
    if not re.match(r'^[0-9a-f]{%d}$' % ALGORITHMS[algorithm], text):
        raise ProxmoxConfigError('checksum is not a {0} digest ({1} hex digits)'.format(algorithm, ALGORITHMS[algorithm]))
    return text, algorithm


def volid(storage, content, filename):
    return '{0}:{1}/{2}'.format(storage, content, filename)


def file_digest(path, algorithm):
    digest = hashlib.new(algorithm)
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(CHUNK), b''):
            digest.update(block)
    return digest.hexdigest()


def volume_view(item, node):
    out = {'volid': item['volid'], 'node': node, 'storage': item['volid'].split(':', 1)[0],
           'content': item.get('content'), 'filename': item['volid'].split(':', 1)[1].split('/', 1)[-1]}
    for key in ('format', 'size', 'ctime'):
        if item.get(key) is not None:
            out[key] = item[key]
    return out


class MultipartFile(object):
    """A multipart/form-data body read from fields and one file, streamed (never held in memory whole), with its
    length known up front so that requests sends a Content-Length, as PVE's upload needs."""

    def __init__(self, fields, filename, path):
        self.boundary = uuid.uuid4().hex
        head = b''
        for name, value in fields:
            head += ('--{0}\r\nContent-Disposition: form-data; name="{1}"\r\n\r\n{2}\r\n'.format(
                self.boundary, name, value)).encode()
        head += ('--{0}\r\nContent-Disposition: form-data; name="filename"; filename="{1}"\r\n'
                 'Content-Type: application/octet-stream\r\n\r\n'.format(self.boundary, filename)).encode()
        tail = '\r\n--{0}--\r\n'.format(self.boundary).encode()
        self.parts = [head, None, tail]
        self.path = path
        self.length = len(head) + os.path.getsize(path) + len(tail)
        self._handle = None
        self._index = 0

    @property
    def content_type(self):
        return 'multipart/form-data; boundary={0}'.format(self.boundary)

    def __len__(self):
        return self.length

    def __iter__(self):
        while True:
            block = self.read(CHUNK)
            if not block:
                return
            yield block

    def read(self, size=-1):
        size = CHUNK if size is None or size < 0 else size
        while self._index < len(self.parts):
            part = self.parts[self._index]
            if part is None:
                if self._handle is None:
                    self._handle = open(self.path, 'rb')
                block = self._handle.read(size)
                if block:
                    return block
                self._handle.close()
            else:
                self._index += 1
                return part
            self._index += 1
        return b''


def upload(client, node, storage, content, filename, path, checksum=None, algorithm=None):
    """POST /nodes/{node}/storage/{storage}/upload with the file at `path`; returns the task id.

    The body streams from disk. Sent once: an upload is a write, and a partial one is not repeated.
    """
    fields = [('content', content)]
    if checksum:
        fields += [('checksum', checksum), ('checksum-algorithm', algorithm)]
    body = MultipartFile(fields, filename, path)
    api_path = client.path('nodes', node, 'storage', storage, 'upload')
    if not client.settings.uses_token and not client.auth.ticket:
        client.login()
    kwargs = {}
    if not client.settings.uses_token:
        kwargs['cookies'] = client.auth.get_cookies()
    import requests  # available: the client could not exist without it
    try:
        # requests' own Session.request: proxmoxer's override expects a dict of fields, and would hold a large file in
        # memory (or need requests-toolbelt) to encode it.
        resp = requests.Session.request(
            client.session, 'POST', client.settings.base_url + api_path, data=body, headers={'Content-Type': body.content_type},
            verify=client.settings.requests_verify, timeout=client.settings.timeout, allow_redirects=False, **kwargs)
    except requests.exceptions.RequestException as exc:
        raise ProxmoxConnectionError('upload of {0} failed: {1}'.format(filename, exc), url=client.settings.url,
                                     method='POST', path=api_path) from None
    finally:
        if body._handle is not None:
            body._handle.close()
    if resp.status_code >= 400:
        message, errors = _decode_error(resp)
        raise ProxmoxApiError(message, status_code=resp.status_code, errors=errors, url=client.settings.url,
                              method='POST', path=api_path)
    return _envelope_data(resp, client.settings.url, 'POST', api_path)
