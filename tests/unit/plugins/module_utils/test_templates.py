# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/module_utils/templates.py: file names as PVE normalizes and checks them, checksums, and the streamed
multipart body of an upload (parametrize + hypothesis). The API calls run against the lab in
tests/integration/test_pve_template.py."""

from __future__ import annotations

import email.parser
import email.policy
import hashlib

import pytest
from hypothesis import given, strategies as st

from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.templates import (
    MultipartFile,
    check_checksum,
    check_filename,
    content_of,
    file_digest,
    filename_from_url,
    normalize_filename,
    volid,
)


@pytest.mark.parametrize('name, normalized', [
    ('netinst.iso', 'netinst.iso'),
    ('cloud image.qcow2', 'cloud_image.qcow2'),
    ('/var/tmp/a/b.iso', 'b.iso'),
    ('C:\\images\\win.iso', 'win.iso'),
    ('ümlaut+x.iso', '_mlaut_x.iso'),
    ('name.iso\n', 'name.iso'),
])
def test_normalize(name, normalized):
    assert normalize_filename(name) == normalized


@given(st.text())
def test_normalized_names_are_safe_and_stable(name):
    once = normalize_filename(name)
    assert all(c.isascii() and (c.isalnum() or c in '_.-') for c in once)
    assert normalize_filename(once) == once


@pytest.mark.parametrize('name, content', [
    ('a.iso', 'iso'), ('a.IMG', 'iso'), ('a.tar.zst', 'vztmpl'), ('a.tar', 'vztmpl'), ('a.tar.xz', 'vztmpl'),
    ('a.qcow2', 'import'), ('a.ova', 'import'), ('a.raw', 'import'), ('a.vmdk', 'import'),
    ('a.tar.lz4', None), ('a.zip', None), ('a.ovf', None), ('a', None),
])
def test_content_of(name, content):
    assert content_of(name) == content


@pytest.mark.parametrize('content, name, words', [
    ('iso', 'a.qcow2', 'must end with .iso or .img'),
    ('vztmpl', 'a.iso', 'must end with .tar'),
    ('import', 'a.iso', 'must end with .ova'),
    ('images', 'a.raw', 'cannot be downloaded or uploaded'),
    ('iso', '/', 'leaves no file name'),
])
def test_check_filename_refuses(content, name, words):
    with pytest.raises(ProxmoxConfigError, match=words):
        check_filename(content, name)


def test_check_filename_normalizes():
    assert check_filename('import', 'my disk.qcow2') == 'my_disk.qcow2'


@pytest.mark.parametrize('url, name', [
    ('https://example.com/a/b/debian.qcow2', 'debian.qcow2'),
    ('https://example.com/a/netinst.iso?token=x#frag', 'netinst.iso'),
    ('http://example.com/dir/', 'dir'),
])
def test_filename_from_url(url, name):
    assert filename_from_url(url) == name


def test_checksums():
    digest = hashlib.sha256(b'x').hexdigest()
    assert check_checksum(digest.upper(), 'sha256') == (digest, 'sha256')
    assert check_checksum(None, None) == (None, None)
    for checksum, algorithm, words in ((digest, 'md5', 'not a md5 digest'), ('xyz', 'sha1', 'not a sha1'),
                                       (digest, None, 'go together'), (None, 'sha256', 'go together'),
                                       (digest, 'crc32', 'must be one of')):
        with pytest.raises(ProxmoxConfigError, match=words):
            check_checksum(checksum, algorithm)


def test_volid():
    assert volid('local', 'iso', 'a.iso') == 'local:iso/a.iso'


@given(st.binary(max_size=3 * 1024 * 1024 + 7), st.sampled_from([1, 100, 1 << 20, -1]))
def test_multipart_body_streams_the_file_whole(tmp_path_factory, data, size):
    path = tmp_path_factory.mktemp('up') / 'some file.iso'
    path.write_bytes(data)
    body = MultipartFile([('content', 'iso'), ('checksum', 'abc')], 'some_file.iso', str(path))
    chunks = []
    while True:
        block = body.read(size)
        if not block:
            break
        chunks.append(block)
    raw = b''.join(chunks)
    assert len(raw) == len(body)
    head = 'Content-Type: {0}\r\n\r\n'.format(body.content_type).encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    parts = dict((part.get_param('name', header='content-disposition'), part) for part in message.iter_parts())
    assert parts['content'].get_payload(decode=True) == b'iso'
    assert parts['checksum'].get_payload(decode=True) == b'abc'
    assert parts['filename'].get_param('filename', header='content-disposition') == 'some_file.iso'
    assert parts['filename'].get_payload(decode=True) == data
    assert file_digest(str(path), 'sha256') == hashlib.sha256(data).hexdigest()
