/**
 * A real OpenLDAP server for tests and benchmarks: Debian's /usr/sbin/slapd on a free
 * loopback port, configured from a temporary slapd.conf (mdb backend, suffix
 * dc=example,dc=org, the core/cosine/inetorgperson/nis schemas), with ou=people and
 * ou=groups made, optionally the ppolicy overlay and LDAPS/StartTLS with a throwaway CA.
 * Install it with `apt-get install slapd ldap-utils`; `slapdAvailable()` says whether it is
 * there so tests can be skipped with that reason instead of failing.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { freePort } from './free-port.ts';

/** The slapd binary; STEWARD_SLAPD points elsewhere (or at nothing, to see the tests skip). */
export const SLAPD = process.env.STEWARD_SLAPD ?? '/usr/sbin/slapd';
const SLAPADD = '/usr/sbin/slapadd';
const SCHEMA_DIR = '/etc/ldap/schema';
const MODULE_DIR = '/usr/lib/ldap';

export const SUFFIX = 'dc=example,dc=org';
export const ROOT_DN = `cn=admin,${SUFFIX}`;
export const PEOPLE = `ou=people,${SUFFIX}`;
export const GROUPS = `ou=groups,${SUFFIX}`;

/** Why slapd cannot be used here, or null when it can. */
export function slapdUnavailableReason(): string | null {
  if (!existsSync(SLAPD)) return `${SLAPD} is not installed (DEBIAN_FRONTEND=noninteractive apt-get install -y slapd ldap-utils)`;
  for (const s of ['core', 'cosine', 'inetorgperson', 'nis']) {
    if (!existsSync(join(SCHEMA_DIR, `${s}.schema`))) return `${SCHEMA_DIR}/${s}.schema is missing`;
  }
  if (!existsSync(join(MODULE_DIR, 'back_mdb.so'))) return `${MODULE_DIR}/back_mdb.so is missing`;
  return null;
}

export const slapdAvailable = (): boolean => slapdUnavailableReason() === null;

export interface SlapdOptions {
  /** Load the ppolicy overlay (pwdAccountLockedTime). */
  ppolicy?: boolean;
  /** Also listen with LDAPS and offer StartTLS, with a certificate from a throwaway CA (needs openssl). */
  tls?: boolean;
  rootPassword?: string;
  /** Entries to load before the server starts, with slapadd (fast: tens of thousands per second); LDIF text. */
  ldif?: string;
}

export interface Slapd {
  /** ldap://127.0.0.1:port */
  url: string;
  /** ldaps://127.0.0.1:port when `tls` was asked for. */
  ldapsUrl?: string;
  /** The PEM of the CA that signed the server certificate, when `tls` was asked for. */
  caPem?: string;
  rootDn: string;
  rootPassword: string;
  suffix: string;
  /** A client bound as the root DN, for reading and seeding the directory behind the connector's back. */
  admin(): Promise<Client>;
  /** Freezes the server (SIGSTOP): connections stay open but nothing answers, as with a hung server. Resolves once it is stopped. */
  pause(): Promise<void>;
  /** Lets a paused server go on (SIGCONT). Resolves once it runs. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

function tlsFiles(dir: string): { ca: string; cert: string; key: string } {
  const run = (args: string[]): void => {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  };
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=Steward Test CA', '-keyout', 'ca.key', '-out', 'ca.pem']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr']);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'server.pem']);
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server.key') };
}

async function waitUntilAnswering(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`slapd exited with ${child.exitCode}: ${log()}`);
    const c = new Client({ url, connectTimeout: 500, timeout: 1000 });
    try {
      await c.search('', { scope: 'base', attributes: ['namingContexts'] });
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`slapd did not answer on ${url} within 15 s: ${log()}`, { cause: e });
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      await c.unbind().catch(() => undefined);
    }
  }
}

/** Waits (up to 2 s) until the process's state letter in /proc/<pid>/stat satisfies `ok`: a signal is delivered when the process is next scheduled, not when it is sent. */
async function untilState(pid: number | undefined, ok: (state: string) => boolean): Promise<void> {
  if (pid === undefined) return;
  const deadline = Date.now() + 2000;
  while (Date.now() < deadline) {
    let state: string;
    try {
      state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0] ?? '';
    } catch {
      return;
    }
    if (ok(state)) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Starts slapd on free loopback ports with a fresh, empty directory (plus ou=people and ou=groups). */
export async function startSlapd(options: SlapdOptions = {}): Promise<Slapd> {
  const reason = slapdUnavailableReason();
  if (reason !== null) throw new Error(reason);
  const dir = mkdtempSync(join(tmpdir(), 'steward-slapd-'));
  const data = join(dir, 'data');
  mkdirSync(data);
  const rootPassword = options.rootPassword ?? 'admin-secret-1234';
  const port = await freePort();
  const tlsPort = options.tls ? await freePort() : undefined;
  const tls = options.tls ? tlsFiles(dir) : undefined;
  const conf = [
    ...['core', 'cosine', 'inetorgperson', 'nis'].map((s) => `include ${SCHEMA_DIR}/${s}.schema`),
    `pidfile ${join(dir, 'slapd.pid')}`,
    `argsfile ${join(dir, 'slapd.args')}`,
    `modulepath ${MODULE_DIR}`,
    'moduleload back_mdb',
    ...(options.ppolicy ? ['moduleload ppolicy'] : []),
    ...(tls ? [`TLSCACertificateFile ${tls.ca}`, `TLSCertificateFile ${tls.cert}`, `TLSCertificateKeyFile ${tls.key}`] : []),
    'database mdb',
    'maxsize 1073741824',
    `suffix "${SUFFIX}"`,
    `rootdn "${ROOT_DN}"`,
    `rootpw ${rootPassword}`,
    `directory ${data}`,
    'index objectClass eq',
    'index uid,cn eq',
    'index member,uniqueMember eq',
    // ppolicy enforces nothing for an account no policy applies to: give every account one.
    ...(options.ppolicy ? ['overlay ppolicy', `ppolicy_default "cn=default,ou=policies,${SUFFIX}"`] : []),
    'access to attrs=userPassword by self write by anonymous auth by * none',
    'access to * by * read',
  ].join('\n');
  const confPath = join(dir, 'slapd.conf');
  writeFileSync(confPath, `${conf}\n`);
  const base = [
    `dn: ${SUFFIX}\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n`,
    `dn: ${PEOPLE}\nobjectClass: top\nobjectClass: organizationalUnit\nou: people\n`,
    `dn: ${GROUPS}\nobjectClass: top\nobjectClass: organizationalUnit\nou: groups\n`,
  ];
  if (options.ldif !== undefined) {
    const file = join(dir, 'seed.ldif');
    writeFileSync(file, `${base.join('\n')}\n${options.ldif}`);
    const r = spawnSync(SLAPADD, ['-f', confPath, '-q', '-l', file], { encoding: 'utf8' });
    if (r.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`slapadd failed: ${r.stderr}`);
    }
  }
  const urls = [`ldap://127.0.0.1:${port}/`, ...(tlsPort ? [`ldaps://127.0.0.1:${tlsPort}/`] : [])];
  let output = '';
  // -d 0 keeps slapd in the foreground, so it is our child and dies with our kill.
  const child = spawn(SLAPD, ['-f', confPath, '-h', urls.join(' '), '-d', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
  const url = `ldap://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilAnswering(url, child, () => output);
    const admin = new Client({ url });
    await admin.bind(ROOT_DN, rootPassword);
    if (options.ldif === undefined) {
      await admin.add(SUFFIX, { objectClass: ['top', 'dcObject', 'organization'], dc: 'example', o: 'Example' });
      await admin.add(PEOPLE, { objectClass: ['top', 'organizationalUnit'], ou: 'people' });
      await admin.add(GROUPS, { objectClass: ['top', 'organizationalUnit'], ou: 'groups' });
    }
    if (options.ppolicy) {
      await admin.add(`ou=policies,${SUFFIX}`, { objectClass: ['top', 'organizationalUnit'], ou: 'policies' });
      await admin.add(`cn=default,ou=policies,${SUFFIX}`, { objectClass: ['top', 'device', 'pwdPolicy'], cn: 'default', pwdAttribute: 'userPassword', pwdLockout: 'TRUE', pwdMaxFailure: '3' });
    }
    await admin.unbind();
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    url,
    ...(tlsPort ? { ldapsUrl: `ldaps://127.0.0.1:${tlsPort}` } : {}),
    ...(tls ? { caPem: readFileSync(tls.ca, 'utf8') } : {}),
    rootDn: ROOT_DN,
    rootPassword,
    suffix: SUFFIX,
    admin: async () => {
      const c = new Client({ url });
      await c.bind(ROOT_DN, rootPassword);
      return c;
    },
    pause: async () => {
      child.kill('SIGSTOP');
      await untilState(child.pid, (st) => st === 'T');
    },
    resume: async () => {
      child.kill('SIGCONT');
      await untilState(child.pid, (st) => st !== 'T');
    },
    stop,
  };
}
