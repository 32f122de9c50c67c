// `npm run package -- --board B [--profile P] [--format deb|ipk|tar]`: the board's native package.
//   deb: dist/midge-B-P_<version>_all.deb for Debian and Raspberry Pi OS (scripts/package/deb.mjs)
//   ipk: dist/midge-B-P_<version>_all.ipk for OpenWrt's opkg (scripts/package/ipk.mjs)
//   tar: dist/midge-B-P.tar.gz holding the bundle, its launcher, a default midge.conf, the board's
//        service file and an INSTALL text, for boards without a package manager to serve.
// The default format is the board's `package` (boards/*.json). Native add-ons (serialport, onoff)
// are never bundled; INSTALL and docs/install.md say how to add them.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildTarget, loadBoard, root } from './build.mjs';
import { buildDeb } from './package/deb.mjs';
import { buildIpk } from './package/ipk.mjs';

export const FORMATS = ['deb', 'ipk', 'tar'];

const PREFIX = '/opt/midge';

const CONF = `# midge.conf: Midge reads mosquitto.conf syntax (docs/configuration.md lists the options it implements).
# As shipped, no listener is set, so Midge listens on loopback only (127.0.0.1 and ::1, port 1883).
# To accept clients from the network, uncomment a listener and decide about anonymous clients:
#listener 1883
#allow_anonymous false
#max_queued_messages 1000
#sys_interval 10
`;

function serviceFiles(board) {
  if (board.service === 'systemd') {
    return {
      'midge.service': `[Unit]
Description=Midge MQTT broker
After=network.target

[Service]
ExecStart=${PREFIX}/midge -c /etc/midge/midge.conf
Restart=on-failure
RestartSec=2
User=midge
SupplementaryGroups=dialout gpio

[Install]
WantedBy=multi-user.target
`,
    };
  }
  if (board.service === 'procd') {
    return {
      'midge.init': `#!/bin/sh /etc/rc.common
# procd init script for OpenWrt: copy to /etc/init.d/midge, then /etc/init.d/midge enable
START=95
USE_PROCD=1

start_service() {
  procd_open_instance
  procd_set_param command ${PREFIX}/midge -c /etc/midge/midge.conf
  procd_set_param respawn
  procd_set_param stdout 1
  procd_set_param stderr 1
  procd_close_instance
}
`,
    };
  }
  return {
    'midge.sh': `#!/bin/sh
# sysvinit script: copy to /etc/init.d/midge and link it into your runlevels.
case "$1" in
  start) start-stop-daemon -S -b -m -p /var/run/midge.pid -x ${PREFIX}/midge -- -c /etc/midge/midge.conf ;;
  stop) start-stop-daemon -K -p /var/run/midge.pid ;;
  restart) "$0" stop; "$0" start ;;
  *) echo "usage: $0 start|stop|restart"; exit 1 ;;
esac
`,
  };
}

function installText(board, profile, services) {
  const native = [];
  if (profile.flags.includes('SERIAL')) native.push('serialport');
  if (profile.flags.includes('GPIO')) native.push('onoff');
  const svc = Object.keys(services)[0];
  const svcStep =
    board.service === 'systemd'
      ? `   cp ${svc} /etc/systemd/system/ && useradd -r midge; systemctl enable --now midge`
      : board.service === 'procd'
        ? `   cp ${svc} /etc/init.d/midge && chmod +x /etc/init.d/midge && /etc/init.d/midge enable && /etc/init.d/midge start`
        : `   cp ${svc} /etc/init.d/midge && chmod +x /etc/init.d/midge && /etc/init.d/midge start`;
  return `Midge ${profile.name} build for ${board.name}
${board.description}

Needs Node.js ${board.minNode} or newer on the board (${board.arch}).
Node.js for this CPU: ${board.node.summary}
Features: ${profile.flags.length ? profile.flags.join(', ') : 'MQTT over TCP only'}.

1. Unpack into ${PREFIX}:
   mkdir -p ${PREFIX} && tar -xzf midge-${board.name}-${profile.name}.tar.gz -C ${PREFIX} --strip-components=1
2. Config: mkdir -p /etc/midge && cp ${PREFIX}/midge.conf /etc/midge/
3. Service:
${svcStep}
4. Try it: ${PREFIX}/midge -c /etc/midge/midge.conf -v
${
  native.length
    ? `
Native add-ons: this profile talks to hardware through ${native.join(' and ')}, which are not in
the bundle. Install them beside it, only if you configure serial links or GPIO pins:
   cd ${PREFIX} && npm install ${native.join(' ')}
(prebuilt for x64, armv6, armv7 and arm64; other architectures build from source and need a
compiler and Python on the board).
`
    : ''
}
The launcher (${PREFIX}/midge) starts Node with: ${board.nodeFlags.join(' ') || '(no extra flags)'}
`;
}

export async function makePackage({ board: boardName, profile: profileName, format, outDir = join(root, 'dist') }) {
  const board = loadBoard(boardName);
  const fmt = format ?? board.package ?? 'tar';
  if (!FORMATS.includes(fmt)) throw new Error(`unknown format '${fmt}' (have: ${FORMATS.join(', ')})`);
  const name = `midge-${board.name}-${profileName ?? board.profile}`;
  const stage = join(outDir, '.stage', name);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  // The same build as `npm run build -- --board B --profile P`.
  const { profile } = await buildTarget({ board: board.name, profile: profileName ?? board.profile, outDir: stage });
  if (fmt !== 'tar') {
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    const options = { dir: stage, board, profile, version, outDir, name };
    const docs = { 'README.md': readFileSync(join(root, 'README.md'), 'utf8'), 'install.md': readFileSync(join(root, 'docs/install.md'), 'utf8'), 'configuration.md': readFileSync(join(root, 'docs/configuration.md'), 'utf8') };
    const out = fmt === 'deb' ? buildDeb({ ...options, docs }) : buildIpk(options);
    rmSync(stage, { recursive: true, force: true });
    return out;
  }
  const services = serviceFiles(board);
  writeFileSync(join(stage, 'midge.conf'), CONF);
  for (const [file, text] of Object.entries(services)) writeFileSync(join(stage, file), text, { mode: 0o755 });
  writeFileSync(join(stage, 'INSTALL'), installText(board, profile, services));
  const tarball = join(outDir, `${name}.tar.gz`);
  execFileSync('tar', ['-czf', tarball, '-C', join(outDir, '.stage'), name]);
  rmSync(stage, { recursive: true, force: true });
  return tarball;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { board: { type: 'string' }, profile: { type: 'string' }, format: { type: 'string' } } });
  try {
    const file = await makePackage({ board: values.board ?? 'linux-x64', profile: values.profile, format: values.format });
    console.log(`packaged ${file}`);
  } catch (err) {
    console.error(`package: ${err.message}`);
    process.exit(1);
  }
}
