// The .deb for Debian and Raspberry Pi OS, built with dpkg-deb (part of dpkg, on every Debian).
// Layout, maintainer scripts and what purge removes: docs/install.md.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { launcherScript } from '../build.mjs';
import { MAINTAINER, HOMEPAGE, systemdUnit, copyrightFile, description, manPage, packagedConf, wrap } from './files.mjs';

/** Writes `text` at `root/path` with `mode`, making its folders (0755). */
function put(root, path, text, mode = 0o644) {
  const file = join(root, path);
  mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
  writeFileSync(file, text);
  chmodSync(file, mode);
}

/** Every regular file under `dir`, as paths relative to it. */
function files(dir, base = dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name), base) : [relative(base, join(dir, e.name))]));
}

// gzip -9n equivalent: no name or time in the header, so the package is reproducible.
const gz = (text) => gzipSync(Buffer.from(text), { level: 9 });

const POSTINST = `#!/bin/sh
# midge postinst: the system user, its groups, the state directory, then the service.
set -e

if [ "$1" = configure ]; then
	if [ ! -d /var/lib/midge ]; then
		mkdir -p /var/lib/midge
	fi
	if ! getent passwd midge >/dev/null; then
		adduser --system --group --home /var/lib/midge --no-create-home \\
			--gecos "Midge MQTT broker" midge >/dev/null
	fi
	# Serial ports (dialout) and GPIO (gpio, on Raspberry Pi OS), where those groups exist.
	for group in dialout gpio; do
		if getent group "$group" >/dev/null; then
			adduser midge "$group" >/dev/null
		fi
	done
	chown midge:midge /var/lib/midge
	chmod 0750 /var/lib/midge
fi

if [ "$1" = configure ] || [ "$1" = abort-upgrade ] || [ "$1" = abort-deconfigure ] || [ "$1" = abort-remove ]; then
	deb-systemd-helper unmask midge.service >/dev/null || true
	if deb-systemd-helper --quiet was-enabled midge.service; then
		deb-systemd-helper enable midge.service >/dev/null || true
	else
		deb-systemd-helper update-state midge.service >/dev/null || true
	fi
	# Only when systemd runs (not in a chroot or a container without it).
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		deb-systemd-invoke restart midge.service >/dev/null || true
	fi
fi

exit 0
`;

const PRERM = `#!/bin/sh
# midge prerm: stop the service before its files go.
set -e

if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
	deb-systemd-invoke stop midge.service >/dev/null || true
fi

exit 0
`;

const POSTRM = `#!/bin/sh
# midge postrm: on purge, remove what postinst made (service links, state, user and group).
set -e

if [ -d /run/systemd/system ]; then
	systemctl --system daemon-reload >/dev/null || true
fi

if [ "$1" = remove ]; then
	if command -v deb-systemd-helper >/dev/null; then
		deb-systemd-helper mask midge.service >/dev/null || true
	fi
fi

if [ "$1" = purge ]; then
	if command -v deb-systemd-helper >/dev/null; then
		deb-systemd-helper purge midge.service >/dev/null || true
		deb-systemd-helper unmask midge.service >/dev/null || true
	fi
	rm -rf /var/lib/midge
	if getent passwd midge >/dev/null; then
		userdel midge >/dev/null 2>&1 || true
	fi
	if getent group midge >/dev/null; then
		groupdel midge >/dev/null 2>&1 || true
	fi
fi

exit 0
`;

/** Debian's changelog for a package built straight from the upstream version. */
function changelog(version, board, profile, date) {
  return `midge (${version}) unstable; urgency=medium

  * midge-broker ${version}, profile ${profile.name} for board ${board.name}.

 -- ${MAINTAINER}  ${date}
`;
}

/**
 * Builds <name>_<version>_all.deb (name: midge-BOARD-PROFILE; the package inside is `midge`) in
 * `outDir` from a built target folder (`dir`, holding broker.min.js). Returns its path.
 */
export function buildDeb({ dir, board, profile, version, outDir, name, docs }) {
  const stage = join(outDir, '.stage', `${name}-deb`);
  execFileSync('rm', ['-rf', stage]);
  mkdirSync(stage, { recursive: true, mode: 0o755 });
  // SOURCE_DATE_EPOCH makes the package reproducible (dates in changelog and man page).
  const when = new Date(Number(process.env.SOURCE_DATE_EPOCH ?? 0) * 1000 || Date.now());
  const rfc2822 = when.toUTCString().replace(/^(\w+), (\d+) (\w+) (\d+) ([\d:]+) GMT$/, '$1, $2 $3 $4 $5 +0000');

  mkdirSync(join(stage, 'usr/lib/midge'), { recursive: true });
  copyFileSync(join(dir, 'broker.min.js'), join(stage, 'usr/lib/midge/broker.min.js'));
  // It starts with #!/usr/bin/env node, so it is executable (the launcher adds the board's flags).
  chmodSync(join(stage, 'usr/lib/midge/broker.min.js'), 0o755);
  put(stage, 'usr/bin/midge', launcherScript(board, profile, '/usr/lib/midge/broker.min.js'), 0o755);
  put(stage, 'etc/midge/midge.conf', packagedConf(profile, 'debian'));
  put(stage, 'lib/systemd/system/midge.service', systemdUnit(profile));
  put(stage, 'usr/share/man/man8/midge.8.gz', gz(manPage(version, when.toISOString().slice(0, 10))));
  put(stage, 'usr/share/doc/midge/copyright', copyrightFile(when.getUTCFullYear(), profile));
  put(stage, 'usr/share/doc/midge/changelog.gz', gz(changelog(version, board, profile, rfc2822)));
  for (const [file, text] of Object.entries(docs)) {
    // Policy 12.3: documentation over 4 kB is compressed.
    if (text.length > 4096) put(stage, `usr/share/doc/midge/${file}.gz`, gz(text));
    else put(stage, `usr/share/doc/midge/${file}`, text);
  }

  const payload = files(stage);
  const installedKB = Math.ceil(payload.reduce((n, f) => n + statSync(join(stage, f)).size, 0) / 1024);
  const [summary, ...long] = description(board, profile);
  const control = [
    'Package: midge',
    `Version: ${version}`,
    'Architecture: all',
    `Maintainer: ${MAINTAINER}`,
    `Installed-Size: ${installedKB}`,
    `Depends: nodejs (>= ${board.minNode}), adduser`,
    'Suggests: mosquitto-clients',
    'Section: net',
    'Priority: optional',
    `Homepage: ${HOMEPAGE}`,
    `Description: ${summary}`,
    ...wrap(long.join(' ')).map((l) => ` ${l}`),
  ];
  put(stage, 'DEBIAN/control', `${control.join('\n')}\n`);
  put(stage, 'DEBIAN/conffiles', '/etc/midge/midge.conf\n');
  put(stage, 'DEBIAN/md5sums', payload.filter((f) => !f.startsWith('etc/')).sort().map((f) => `${createHash('md5').update(readFileSync(join(stage, f))).digest('hex')}  ${f}\n`).join(''));
  put(stage, 'DEBIAN/postinst', POSTINST, 0o755);
  put(stage, 'DEBIAN/prerm', PRERM, 0o755);
  put(stage, 'DEBIAN/postrm', POSTRM, 0o755);
  // Folders 0755 whatever the umask.
  execFileSync('find', [stage, '-type', 'd', '-exec', 'chmod', '0755', '{}', '+']);

  const deb = join(outDir, `${name}_${version}_all.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', stage, deb], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync('rm', ['-rf', stage]);
  return deb;
}
