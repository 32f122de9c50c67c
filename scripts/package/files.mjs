// What the .deb and .ipk packages install besides the bundle: the default config, the systemd
// unit, the procd init script, the man page and the copyright file (docs/install.md describes them).

/** Who the packages name as maintainer (Debian's and OpenWrt's control files need one). */
export const MAINTAINER = 'Midge maintainers <midge@users.noreply.github.com>';
export const HOMEPAGE = 'https://www.npmjs.com/package/midge-broker';

const has = (profile, flag) => profile.flags.includes(flag);

/**
 * /etc/midge/midge.conf as packaged. No listener, so Midge listens on loopback only (127.0.0.1 and
 * ::1, port 1883) until the owner opens it up. With PERSIST, the .deb keeps retained messages and
 * persistent sessions in /var/lib/midge (as Debian's mosquitto does in /var/lib/mosquitto); on
 * OpenWrt /var is RAM, so persistence stays off until the owner picks a place on flash.
 */
export function packagedConf(profile, os) {
  const lines = [
    '# /etc/midge/midge.conf: Midge reads mosquitto.conf syntax (man midge; the options are listed in',
    "# Midge's docs/configuration.md). Changes take effect when the service restarts.",
    '#',
    '# As shipped, no listener is set, so Midge listens on loopback only (127.0.0.1 and ::1, port',
    '# 1883): nothing on the network can reach it. To accept clients from other machines, uncomment',
    '# a listener and decide about anonymous clients:',
    '#listener 1883',
    ...(has(profile, 'AUTH') ? ['#allow_anonymous false', '#password_file /etc/midge/passwd'] : ['#allow_anonymous true']),
    '#max_queued_messages 1000',
  ];
  if (has(profile, 'PERSIST')) {
    if (os === 'debian') {
      lines.push('', '# Retained messages and persistent sessions survive a restart (the service owns /var/lib/midge).', 'persistence true', 'persistence_location /var/lib/midge/');
    } else {
      lines.push(
        '',
        '# Persistence: /var is RAM on OpenWrt, so a directory there is lost at reboot. To keep retained',
        '# messages and sessions across reboots, pick a directory on flash (each snapshot is a flash',
        '# write; see persistence_sync in the docs) and create it owned by the midge user:',
        '#persistence true',
        '#persistence_location /etc/midge/data/',
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The systemd unit. Hardening that leaves serial ports and GPIO working: no PrivateDevices or
 * DevicePolicy (they hide /dev/tty* and /dev/gpiochip*), no ProtectKernelTunables (it makes /sys
 * read-only, and onoff drives GPIO through /sys/class/gpio), no MemoryDenyWriteExecute (V8's JIT
 * needs writable code pages). Groups come from the user (postinst adds it to dialout and gpio).
 * `reload` (SIGHUP: password, ACL and TLS files again) only in builds that handle SIGHUP; in the
 * others SIGHUP would end the broker.
 */
export const systemdUnit = (profile) => `[Unit]
Description=Midge MQTT broker
Documentation=man:midge(8)
After=network.target

[Service]
Type=simple
User=midge
Group=midge
ExecStart=/usr/bin/midge -c /etc/midge/midge.conf
${has(profile, 'AUTH') || has(profile, 'TLS') ? 'ExecReload=/bin/kill -HUP $MAINPID\n' : ''}Restart=on-failure
RestartSec=2
StateDirectory=midge
StateDirectoryMode=0750
RuntimeDirectory=midge
LimitNOFILE=65536
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
ProtectControlGroups=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectClock=yes
ProtectHostname=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
RestrictNamespaces=yes
LockPersonality=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
SystemCallArchitectures=native

[Install]
WantedBy=multi-user.target
`;

/**
 * OpenWrt's procd init script: respawns Midge, runs it as user midge when that user exists (the
 * postinst makes it). No uci: the config is /etc/midge/midge.conf, and `reload` restarts Midge
 * when that file changed (procd's `file` parameter).
 */
export const PROCD_INIT = `#!/bin/sh /etc/rc.common
# Midge MQTT broker under procd (OpenWrt). /etc/init.d/midge enable|disable|start|stop|restart
# shellcheck disable=SC2034
START=95
# shellcheck disable=SC2034
STOP=10
# shellcheck disable=SC2034
USE_PROCD=1

CONF=/etc/midge/midge.conf

start_service() {
	procd_open_instance
	procd_set_param command /usr/bin/midge -c "$CONF"
	# Restart after a crash: up to 5 times within an hour, 5 s apart.
	procd_set_param respawn 3600 5 5
	procd_set_param file "$CONF"
	procd_set_param stdout 1
	procd_set_param stderr 1
	if user_exists midge; then
		procd_set_param user midge
	fi
	procd_close_instance
}
`;

/** midge(8), in man(7) macros. */
export function manPage(version, date) {
  return `.TH MIDGE 8 "${date}" "midge ${version}" "System Administration"
.SH NAME
midge \\- small, fast MQTT broker for home gateways and small Linux boards
.SH SYNOPSIS
.B midge
.RB [ \\-c
.IR config_file ]
.RB [ \\-p
.IR port ]
.RB [ \\-v ]
.RB [ \\-h | \\-\\-version ]
.br
.B midge passwd
.RI [ options ]
.SH DESCRIPTION
.B midge
is an MQTT 3.1, 3.1.1 and 5.0 broker. It reads a configuration in the syntax of
.BR mosquitto.conf (5)
and runs in the foreground; the packaged service runs it as user
.B midge
with
.IR /etc/midge/midge.conf .
Without a listener in the configuration it listens on 127.0.0.1 and ::1, port 1883, only.
.SH OPTIONS
.TP
.BI \\-c " file" "\\fR, \\fP" \\-\\-config\\-file " file"
Read the configuration from
.IR file .
.TP
.BI \\-p " port" "\\fR, \\fP" \\-\\-port " port"
Listen on
.I port
instead of 1883 when the configuration defines no listener.
.TP
.BR \\-v ", " \\-\\-verbose
Log everything.
.TP
.BR \\-h ", " \\-\\-help
Print the usage and exit.
.TP
.B \\-\\-version
Print the version and exit.
.SH FILES
.TP
.I /etc/midge/midge.conf
The configuration the service reads.
.TP
.I /var/lib/midge
Persistence files (retained messages, persistent sessions).
.TP
.I /usr/lib/midge/broker.min.js
The broker: one JavaScript file run by Node.js through
.IR /usr/bin/midge .
.SH SIGNALS
SIGTERM and SIGINT stop the broker after a last persistence snapshot.
.SH SEE ALSO
.BR mosquitto.conf (5),
.BR mosquitto_pub (1),
.BR mosquitto_sub (1),
.I /usr/share/doc/midge/
`;
}

/**
 * debian/copyright in the machine-readable format (EPL-2.0 is not in /usr/share/common-licenses).
 * Builds with WS bundle the `ws` library (MIT, "Expat" in Debian's naming).
 */
export function copyrightFile(year, profile) {
  const ws = has(profile, 'WS');
  const stanzas = [
    `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: midge-broker
Source: ${HOMEPAGE}`,
    `Files: *
Copyright: ${year} The Midge authors
License: EPL-2.0`,
    ws &&
      `Files: usr/lib/midge/broker.min.js
Copyright: ${year} The Midge authors
 2011 Einar Otto Stangvik
 2013 Arnout Kazemier and contributors
 2016 Luigi Pinca and contributors
Comment: the ws library (WebSockets) is bundled into the broker
License: EPL-2.0 and Expat`,
    `License: EPL-2.0
 This program and the accompanying materials are made available under the
 terms of the Eclipse Public License 2.0, which is available at
 https://www.eclipse.org/legal/epl-2.0/
 .
 SPDX-License-Identifier: EPL-2.0`,
    ws &&
      `License: Expat
 Permission is hereby granted, free of charge, to any person obtaining a copy
 of this software and associated documentation files (the "Software"), to deal
 in the Software without restriction, including without limitation the rights
 to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
 copies of the Software, and to permit persons to whom the Software is
 furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in
 all copies or substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
 THE SOFTWARE.`,
  ];
  return `${stanzas.filter(Boolean).join('\n\n')}\n`;
}

/** The package's one-paragraph description, for both control files. */
export function description(board, profile) {
  const native = [has(profile, 'SERIAL') && 'serialport', has(profile, 'GPIO') && 'onoff'].filter(Boolean);
  return [
    'small, fast MQTT broker for home gateways and small boards',
    `Midge is an MQTT 3.1/3.1.1${has(profile, 'MQTT5') ? '/5.0' : ''} broker in one JavaScript file run by Node.js.`,
    `This is the ${profile.name} build for ${board.name}: ${profile.flags.length ? profile.flags.join(', ') : 'MQTT over TCP only'}.`,
    'As installed it listens on loopback only; edit /etc/midge/midge.conf to open it.',
    ...(native.length ? [`Serial and GPIO need the native Node add-ons ${native.join(' and ')} (not packaged).`] : []),
  ];
}

/** Words of `text` in lines of at most `width` characters (control file descriptions). */
export function wrap(text, width = 78) {
  const lines = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}
