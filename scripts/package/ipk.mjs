// The .ipk for OpenWrt's opkg: a gzipped tar of debian-binary, control.tar.gz and data.tar.gz
// (the layout OpenWrt's own ipkg-build writes). Layout and install steps: docs/install.md.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { launcherScript } from '../build.mjs';
import { MAINTAINER, HOMEPAGE, PROCD_INIT, description, packagedConf, wrap } from './files.mjs';

function put(root, path, text, mode = 0o644) {
  const file = join(root, path);
  mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
  writeFileSync(file, text);
  chmodSync(file, mode);
}

function bytes(dir) {
  return readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? bytes(join(dir, e.name)) : statSync(join(dir, e.name)).size), 0);
}

// Owner root, numeric ids, sorted, one fixed time: the same input gives the same archive.
const tarFlags = (mtime) => ['--format=gnu', '--numeric-owner', '--owner=0', '--group=0', '--sort=name', `--mtime=@${mtime}`];

/** Creates `out` (tar.gz) holding the entries of `dir` as ./NAME. */
function tgz(dir, out, mtime) {
  execFileSync('sh', ['-c', `tar ${tarFlags(mtime).join(' ')} -C "$1" -cf - . | gzip -9n > "$2"`, 'tgz', dir, out]);
}

const POSTINST = `#!/bin/sh
# midge postinst (OpenWrt): the midge system user (with OpenWrt's own account helpers, as
# packages with USERID do), then enable and start the service. Nothing to do in an image build.
[ -n "$IPKG_INSTROOT" ] && exit 0
# shellcheck source=/dev/null
. /lib/functions.sh
if ! user_exists midge; then
	gid=$(group_add_next midge)
	user_add midge "" "$gid" "Midge MQTT broker" /var/run/midge /bin/false
fi
if group_exists dialout; then
	group_add_user dialout midge
fi
/etc/init.d/midge enable
/etc/init.d/midge start
exit 0
`;

const PRERM = `#!/bin/sh
# midge prerm (OpenWrt): stop and disable the service.
[ -n "$IPKG_INSTROOT" ] && exit 0
/etc/init.d/midge stop
/etc/init.d/midge disable
exit 0
`;

/** Builds <name>_<version>_all.ipk in `outDir` from a built target folder. Returns its path. */
export function buildIpk({ dir, board, profile, version, outDir, name }) {
  const stage = join(outDir, '.stage', `${name}-ipk`);
  execFileSync('rm', ['-rf', stage]);
  const data = join(stage, 'data');
  const control = join(stage, 'control');
  const outer = join(stage, 'outer');
  for (const d of [data, control, outer]) mkdirSync(d, { recursive: true });
  const mtime = Number(process.env.SOURCE_DATE_EPOCH ?? Math.floor(Date.now() / 1000));

  mkdirSync(join(data, 'usr/lib/midge'), { recursive: true });
  copyFileSync(join(dir, 'broker.min.js'), join(data, 'usr/lib/midge/broker.min.js'));
  chmodSync(join(data, 'usr/lib/midge/broker.min.js'), 0o644);
  put(data, 'usr/bin/midge', launcherScript(board, profile, '/usr/lib/midge/broker.min.js'), 0o755);
  put(data, 'etc/midge/midge.conf', packagedConf(profile, 'openwrt'));
  put(data, 'etc/init.d/midge', PROCD_INIT, 0o755);
  execFileSync('find', [data, '-type', 'd', '-exec', 'chmod', '0755', '{}', '+']);

  const [summary, ...long] = description(board, profile);
  const fields = [
    'Package: midge',
    `Version: ${version}`,
    'Depends: node',
    'Source: midge-broker',
    'SourceName: midge',
    'License: EPL-2.0',
    'Section: net',
    `URL: ${HOMEPAGE}`,
    `Maintainer: ${MAINTAINER}`,
    'Architecture: all',
    `Installed-Size: ${bytes(data)}`,
    `Description: ${summary}`,
    ...wrap(long.join(' ')).map((l) => ` ${l}`),
  ];
  put(control, 'control', `${fields.join('\n')}\n`);
  put(control, 'conffiles', '/etc/midge/midge.conf\n');
  put(control, 'postinst', POSTINST, 0o755);
  put(control, 'prerm', PRERM, 0o755);

  put(outer, 'debian-binary', '2.0\n');
  tgz(data, join(outer, 'data.tar.gz'), mtime);
  tgz(control, join(outer, 'control.tar.gz'), mtime);
  const ipk = join(outDir, `${name}_${version}_all.ipk`);
  execFileSync('sh', ['-c', `tar ${tarFlags(mtime).join(' ')} -C "$1" -cf - ./debian-binary ./data.tar.gz ./control.tar.gz | gzip -9n > "$2"`, 'ipk', outer, ipk]);
  execFileSync('rm', ['-rf', stage]);
  return ipk;
}
