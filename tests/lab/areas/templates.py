# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Templates and images on storages: the appliance list (aplinfo), downloads by URL and uploads, as PVE does them.

What fakepve lacks, from pve-manager PVE/API2/Nodes.pm (aplinfo, apl_download), pve-storage
src/PVE/API2/Storage/Status.pm (upload, download_url) and pve-common PVE::Tools::download_file_from_url:

- GET /nodes/{node}/aplinfo lists the appliances of the node's aplinfo data (the pve-web-news entry left out), each
  with package, version, type, os, section, headline, description, location, infopage, maintainer, architecture,
  md5sum, sha512sum and template (the file name).
- POST /nodes/{node}/aplinfo (storage, template) refuses an unknown template ("no such template" on `template`) and a
  storage without vztmpl content ("storage 'x' does not support templates"), then runs a `download` task (id: the
  template) that downloads the appliance with its sha512sum required.
- download-url normalizes the file name (path dropped, characters outside [a-zA-Z0-9_.-] become _), checks its
  extension per content type ("wrong file extension", "invalid filename or wrong extension" for import), and runs a
  `download` task whose download refuses to override an existing file without a checksum ("refusing to override
  existing file '<path>'"), accepts an existing file whose checksum matches ("OK, got correct file already, no need to
  download"), fails on one that does not ("checksum mismatch: got 'x' != expect 'y', aborting"), and checks the
  checksum of what it downloaded ("checksum mismatch: got 'x' != expect 'y'"). `compression` applies to ISO images
  only ("decompression not supported for <content>").
- upload takes iso, vztmpl and import, normalizes and checks the file name the same way, verifies `checksum` with
  `checksum-algorithm` in its `imgcopy` task ("checksum mismatch: got 'x' != expect 'y'") and overwrites an existing
  file.

The lab has no network: `web_files` ({url: bytes}) stands in for what a URL serves. A URL it does not know fails the
download as wget does (exit code 8, a server error response). Each stored file keeps the digests of its bytes, so a
later download can compare checksums as PVE does with the file on disk.
"""

import email.parser
import email.policy
import hashlib
import re

from fakepve.model import PveError, TaskError
from fakepve.routing import StatefulRoutes, die, param_error, split_list

ALGORITHMS = ('md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512')
ISO_EXT = re.compile(r'[^/]+\.(?:iso|img)$', re.I)
VZTMPL_EXT = re.compile(r'[^/]+\.(?:tar(?!\.)|tar\.(?:gz|xz|zst|bz2))$', re.I)
IMPORT_EXT = re.compile(r'[a-zA-Z0-9\-.+=_]+\.(ova|qcow2|raw|vmdk)$')
SUBDIR = {'iso': 'template/iso', 'vztmpl': 'template/cache', 'import': 'import'}
COMPRESSIONS = ('gz', 'lzo', 'zst', 'bz2')
APLINFO_SOURCE = 'http://download.proxmox.com/images'

# A few appliances of the shape aplinfo.dat gives them (system section, lxc type).
APPLIANCES = (
    ('debian-12-standard', '12.7-1', 'debian-12', 'debian-12-standard_12.7-1_amd64.tar.zst', 'Debian 12 Bookworm (standard)'),
    ('debian-13-standard', '13.1-2', 'debian-13', 'debian-13-standard_13.1-2_amd64.tar.zst', 'Debian 13 Trixie (standard)'),
    ('ubuntu-24.04-standard', '24.04-2', 'ubuntu-24.04', 'ubuntu-24.04-standard_24.04-2_amd64.tar.zst',
     'Ubuntu 24.04 Noble (standard)'),
    ('alpine-3.22-default', '20250617', 'alpine', 'alpine-3.22-default_20250617_amd64.tar.xz', 'LXC default image for alpine 3.22'),
)


def digests(data):
    return dict((name, hashlib.new(name, data).hexdigest()) for name in ALGORITHMS)


def normalize_filename(name):
    """PVE::Storage::normalize_content_filename."""
    name = str(name).rstrip('\n')
    name = re.sub(r'^.*[/\\]', '', name)
    return re.sub(r'[^a-zA-Z0-9_.-]', '_', name)


def check_extension(content, filename, import_message):
    if content == 'iso' and not ISO_EXT.search(filename):
        raise param_error(filename='wrong file extension')
    if content == 'vztmpl' and not VZTMPL_EXT.search(filename):
        raise param_error(filename='wrong file extension')
    if content == 'import' and not IMPORT_EXT.search(filename):
        raise param_error(filename=import_message)


def appliance_bytes(template):
    """What the lab's download server serves for an appliance."""
    return 'lab appliance {0}\n'.format(template).encode()


class TemplatesArea(StatefulRoutes):
    """Mixin of the lab's PVE: aplinfo, download-url and upload as PVE behaves."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.web_files = {}
        self.appliances = {}
        for package, version, os_name, template, headline in APPLIANCES:
            location = '{0}/system/{1}'.format(APLINFO_SOURCE, template)
            data = appliance_bytes(template)
            self.web_files[location] = data
            sums = digests(data)
            self.appliances[template] = {
                'package': package, 'version': version, 'type': 'lxc', 'os': os_name, 'section': 'system',
                'headline': headline, 'description': headline, 'location': location, 'template': template,
                'infopage': 'https://pve.proxmox.com/wiki/Linux_Container#pct_supported_distributions',
                'maintainer': 'Proxmox Support Team <support@proxmox.com>', 'architecture': 'amd64',
                'md5sum': sums['md5'], 'sha512sum': sums['sha512'], 'source': APLINFO_SOURCE}

    def _routes_templates(self):
        return [('GET', '/nodes/{node}/aplinfo', self._apl_list),
                ('POST', '/nodes/{node}/aplinfo', self._apl_download)]

    # ------------------------------------------------------------------ helpers

    def _file_store(self, name, node, message):
        """storage_check_enabled, then PVE's refusal of a storage without a path."""
        store = self._check_enabled(name, node)
        if store.get('type', 'dir') not in ('dir', 'nfs', 'cifs', 'cephfs', 'glusterfs', 'btrfs'):
            raise die(message.format(store.get('type')))
        return store

    def _dest(self, sid, content, filename):
        return '{0}/{1}/{2}'.format(self._base_path(sid), SUBDIR[content], filename)

    def _store_bytes(self, sid, content, filename, data):
        self.store_file(sid, filename, len(data), content)
        volume = self.storages[sid]['volumes']['{0}/{1}'.format(content, filename)]
        volume['digests'] = digests(data)
        if content == 'import':
            volume['format'] = filename.rsplit('.', 1)[-1]

    def _existing(self, sid, content, filename):
        return self._volumes(sid).get('{0}/{1}'.format(content, filename))

    def _download(self, log, sid, content, filename, url, algorithm=None, expected=None, compression=None):
        """PVE::Tools::download_file_from_url into the storage, with its log lines and errors."""
        dest = self._dest(sid, content, filename)
        log.append('downloading {0} to {1}'.format(url, dest))
        existing = self._existing(sid, content, filename)
        if existing is not None:
            if not algorithm:
                raise TaskError("refusing to override existing file '{0}'".format(dest))
            got = (existing.get('digests') or {}).get(algorithm) or hashlib.new(algorithm, b'').hexdigest()
            if got.lower() == expected.lower():
                log.append('calculating checksum of existing file...OK, got correct file already, no need to download')
                return
            raise TaskError("checksum mismatch: got '{0}' != expect '{1}', aborting".format(got, expected))
        tmp = '{0}.tmp_dwnl.{1}'.format(dest, 4242)
        data = self.web_files.get(url)
        if data is None:
            raise TaskError("download failed: command 'wget --progress=dot:giga -O {0} {1}' failed: exit code 8".format(
                tmp, url))
        if algorithm:
            got = hashlib.new(algorithm, data).hexdigest()
            if got.lower() != expected.lower():
                raise TaskError("checksum mismatch: got '{0}' != expect '{1}'".format(got, expected))
            log.append('calculating checksum...OK, checksum verified')
        if compression:
            log.append('decompressing {0} to {1}.tmp_dcom.4242'.format(tmp, dest))
        self._store_bytes(sid, content, filename, data)
        log.append("download of '{0}' to '{1}' finished".format(url, dest))

    # ------------------------------------------------------------------ aplinfo

    async def _apl_list(self, v, user):
        return [dict(item) for _name, item in sorted(self.appliances.items())]

    async def _apl_download(self, v, user):
        node, sid, template = v['node'], v['storage'], v['template']
        appliance = self.appliances.get(template)
        if appliance is None:
            raise param_error(template='no such template')
        store = self._check_enabled(sid, node)
        if 'vztmpl' not in split_list(store.get('content')):
            raise die("storage '{0}' does not support templates".format(sid))

        async def body():
            lines = []
            self._download(lines, sid, 'vztmpl', template, appliance['location'], 'sha512', appliance['sha512sum'])
            return '\n'.join(lines)
        return await self.task(node, 'download', template, user, body)

    # ------------------------------------------------------------------ download-url

    async def _download_url(self, request):
        from fakepve.server import USER, ok, params
        node, sid = request.match_info['node'], request.match_info['storage']
        user = request[USER]
        self.require(user, '/storage/' + sid, 'Datastore.AllocateTemplate')
        if not (self.allowed(user, '/', 'Sys.Audit') and self.allowed(user, '/', 'Sys.Modify')) and \
                not self.allowed(user, '/nodes/' + node, 'Sys.AccessNetwork'):
            raise PveError(403, 'Permission check failed (/nodes/{0}, Sys.AccessNetwork)'.format(node))
        p = self._verify(request, await params(request), drop=('size',))
        for one, other in (('checksum', 'checksum-algorithm'), ('checksum-algorithm', 'checksum')):
            if p.get(one) is not None and p.get(other) is None:
                raise param_error(**{other: "parameter is missing and it is required by '{0}'".format(one)})
        store = self._file_store(sid, node, "can't upload to storage type '{0}', not a file based storage!")
        content = p['content']
        if content not in split_list(store.get('content')):
            raise die("storage '{0}' is not configured for content-type '{1}'".format(sid, content))
        filename = normalize_filename(p['filename'])
        check_extension(content, filename, 'invalid filename or wrong extension')

        async def body():
            if p.get('compression') and content != 'iso':
                raise TaskError('decompression not supported for {0}'.format(content))
            await self.pause(5)
            lines = []
            self._download(lines, sid, content, filename, p['url'], p.get('checksum-algorithm'), p.get('checksum'),
                           p.get('compression'))
            return '\n'.join(lines)
        return ok(await self.task(node, 'download', filename, user, body))

    # ------------------------------------------------------------------ upload

    async def _upload(self, request):
        from fakepve.server import USER, ok
        node, sid = request.match_info['node'], request.match_info['storage']
        user = request[USER]
        self.require(user, '/storage/' + sid, 'Datastore.AllocateTemplate')
        body = await request.read()
        if request.content_type != 'multipart/form-data' or int(request.headers.get('Content-Length', -1)) != len(body):
            raise PveError(400, 'bad upload request')
        head = 'Content-Type: {0}\r\n\r\n'.format(request.headers['Content-Type']).encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        if not message.is_multipart():
            raise PveError(400, 'bad upload request')
        fields, data = {}, None
        for part in message.iter_parts():
            name = part.get_param('name', header='content-disposition')
            payload = part.get_payload(decode=True) or b''
            if part.get_param('filename', header='content-disposition') is not None:
                data = payload
                fields.setdefault('filename', part.get_param('filename', header='content-disposition'))
            elif name:
                fields[name] = payload.decode()
        content = fields.get('content')
        if content not in ('iso', 'vztmpl', 'import'):
            raise PveError(400, 'Parameter verification failed.', {'content': 'value not allowed'})
        algorithm, checksum = fields.get('checksum-algorithm'), fields.get('checksum')
        if algorithm is not None and algorithm not in ALGORITHMS:
            raise PveError(400, 'Parameter verification failed.', {'checksum-algorithm': 'value not allowed'})
        if (algorithm is None) != (checksum is None):
            missing = 'checksum' if checksum is None else 'checksum-algorithm'
            raise param_error(**{missing: "parameter is missing and it is required by '{0}'".format(
                'checksum-algorithm' if missing == 'checksum' else 'checksum')})
        if data is None:
            raise die('missing temporary file name')
        store = self._file_store(sid, node, "can't upload to storage type '{0}'")
        filename = normalize_filename(fields.get('filename') or '')
        check_extension(content, filename, 'invalid filename or wrong extension')
        if content not in split_list(store.get('content')):
            raise die("storage '{0}' does not support '{1}' content".format(sid, content))
        self.uploaded = dict(fields, data=data)
        dest = self._dest(sid, content, filename)

        async def body_():
            lines = []
            if algorithm:
                got = hashlib.new(algorithm, data).hexdigest()
                if got.lower() != checksum.lower():
                    raise TaskError("checksum mismatch: got '{0}' != expect '{1}'".format(got, checksum))
                lines.append('calculating checksum...OK, checksum verified')
            self._store_bytes(sid, content, filename, data)
            lines += ['target node: {0}'.format(node), 'target file: {0}'.format(dest),
                      'file size is: {0}'.format(len(data)), 'finished file import successfully']
            return '\n'.join(lines)
        return ok(await self.task(node, 'imgcopy', '', user, body_,
                                  log=['starting file import from: /var/tmp/pveupload-0123456789abcdef']))
