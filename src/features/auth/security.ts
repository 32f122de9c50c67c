// One security scope: the whole broker, or one listener with per_listener_settings true. It owns
// the loaded password, ACL and SCRAM credentials files and decides CONNECTs. Files are read at start-up (an error
// stops it) and again by reload() (an error keeps the rules in force and is logged).
import { readFileSync } from 'node:fs';
import type { Admission } from '../../broker/access.ts';
import { log } from '../../util/log.ts';
import { ClientAccess, type AclSource } from './acl.ts';
import { parseAclFile } from './acl-file.ts';
import { parsePasswordFile, PasswordDb } from './password-file.ts';
import type { ScramDb } from './scram.ts';
import { parseScramFile } from './scram-file.ts';

export interface ScopeConfig {
  allowAnonymous: boolean;
  passwordFile?: string;
  aclFile?: string;
  scramFile?: string;
}

function read(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${what} '${path}': ${(err as Error).message}`);
  }
}

export class Security {
  passwords: PasswordDb | undefined;
  acl: AclSource | undefined;
  /** scram_credentials_file: the users of MQTT 5 enhanced authentication with SCRAM-SHA-256. */
  scram: ScramDb | undefined;

  constructor(readonly cfg: ScopeConfig) {
    this.load();
  }

  /** Reads the files; throws without changing anything if one is broken. */
  private load(): void {
    const { passwordFile, aclFile, scramFile } = this.cfg;
    const users = passwordFile ? parsePasswordFile(read(passwordFile, 'password_file'), passwordFile) : undefined;
    const acl = aclFile ? parseAclFile(read(aclFile, 'acl_file'), aclFile) : undefined;
    const scram = scramFile ? parseScramFile(read(scramFile, 'scram_credentials_file'), scramFile) : undefined;
    this.passwords = users && new PasswordDb(users);
    this.scram = scram;
    if (acl) {
      // Clients hold the same source object and recompile when gen moves.
      if (this.acl) {
        this.acl.acl = acl;
        this.acl.gen++;
      } else this.acl = { acl, gen: 0 };
    }
  }

  reload(): void {
    const files = [this.cfg.passwordFile, this.cfg.aclFile, this.cfg.scramFile].filter(Boolean);
    if (!files.length) return;
    try {
      this.load();
      log.notice(`Reloaded ${files.join(' and ')}.`);
    } catch (err) {
      log.error(`Reload failed, keeping the previous users and ACL: ${(err as Error).message}`);
    }
  }

  admit(clientId: string, username: string | undefined, password: Buffer | undefined, verified = false): Admission {
    if (username === undefined) {
      if (!this.cfg.allowAnonymous) return { ok: false, code: 5, why: `anonymous client ${clientId} (allow_anonymous false)` };
    } else if (!verified && this.passwords && !this.passwords.check(username, password)) {
      // Never log the password itself.
      return { ok: false, code: 5, why: `bad username or password for '${username}' (client ${clientId})` };
    }
    return { ok: true, access: this.acl && new ClientAccess(this.acl, clientId, username) };
  }
}
