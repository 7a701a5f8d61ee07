/**
 * One LDAP connection per connector, opened on first use (TLS, StartTLS, bind) and opened
 * again when it broke, and LDAP failures as ConnectorErrors.
 */
import { Client, ResultCodeError } from 'ldapts';
import type { ConnectionOptions } from 'node:tls';
import { ConnectorError } from '../errors.ts';
import { describeNetworkError } from '../network.ts';
import type { LdapSettings } from './settings.ts';

/** LDAP result codes (RFC 4511 §4.1.9) that are worth retrying. */
const RETRYABLE = new Map<number, string>([
  [3, 'timeLimitExceeded'],
  [11, 'adminLimitExceeded'],
  [51, 'busy'],
  [52, 'unavailable'],
]);

/** An LDAP or socket failure as a ConnectorError; `doing` says what was being done, for the message. */
export function ldapError(e: unknown, settings: LdapSettings, doing: string, scrub: (t: string) => string): ConnectorError {
  if (e instanceof ConnectorError) return e;
  if (e instanceof ResultCodeError) {
    const code = e.code;
    const text = scrub(e.message);
    const msg = `${doing}: ${text}`;
    if (code === 32) return new ConnectorError('permanent', 'not_found', msg, { status: code, targetMessage: text });
    if (code === 68) return new ConnectorError('permanent', 'conflict', msg, { status: code, targetMessage: text });
    if (code === 49) return new ConnectorError('permanent', 'auth_failed', `${msg} — check bindDn and bindPassword`, { status: code, targetMessage: text });
    if (code === 50) return new ConnectorError('permanent', 'forbidden', `${msg} — may ${settings.bindDn ?? 'an anonymous client'} do this?`, { status: code, targetMessage: text });
    if (code === 8 || code === 13) return new ConnectorError('permanent', 'forbidden', `${msg} — the server wants a secure connection: use ldaps:// or startTls`, { status: code, targetMessage: text });
    if (RETRYABLE.has(code)) return new ConnectorError('retryable', code === 3 ? 'timeout' : 'unavailable', msg, { status: code, targetMessage: text });
    return new ConnectorError('permanent', 'target_error', msg, { status: code, targetMessage: text });
  }
  const net = describeNetworkError(settings.url, e);
  if (net !== undefined) return new ConnectorError(net.permanent ? 'permanent' : 'retryable', 'unreachable', scrub(net.message), { cause: e });
  const text = scrub(e instanceof Error ? e.message : String(e));
  if (/timed out|timeout/i.test(text)) {
    return new ConnectorError('retryable', 'timeout', `${doing}: ${settings.url} did not answer within ${settings.timeoutMs} ms — is the server overloaded, or is timeoutMs too short?`, { cause: e });
  }
  if (/socket|connection closed|not established/i.test(text)) {
    return new ConnectorError('retryable', 'unreachable', `${doing}: the connection to ${settings.url} broke (${text.split('\n')[0]})`, { cause: e });
  }
  return new ConnectorError('retryable', 'target_error', `${doing}: ${text}`, { cause: e });
}

export interface LdapSession {
  /** Runs `f` on a connected, bound client; failures come out as ConnectorErrors. */
  run<T>(doing: string, f: (client: Client) => Promise<T>): Promise<T>;
  /** Streams what `f` yields from a connected, bound client (a paged search); failures come out as ConnectorErrors. */
  stream<T>(doing: string, f: (client: Client) => AsyncIterable<T>): AsyncGenerator<T>;
  close(): Promise<void>;
}

export function tlsOptionsOf(settings: LdapSettings): ConnectionOptions {
  const host = new URL(settings.url).hostname;
  return {
    rejectUnauthorized: settings.tlsRejectUnauthorized,
    ...(settings.tlsCaPem === undefined ? {} : { ca: settings.tlsCaPem }),
    // An IP address is not a valid SNI name; the certificate check still uses it.
    ...(/^[\d.]+$|:/.test(host) ? {} : { servername: host }),
  };
}

/** A session whose client is opened on first use and re-opened after a broken connection. */
export function createLdapSession(settings: LdapSettings, scrub: (t: string) => string): LdapSession {
  let current: Promise<Client> | undefined;

  async function open(): Promise<Client> {
    const tls = tlsOptionsOf(settings);
    // ldapts speaks TLS from the start whenever tlsOptions are given, so only ldaps:// gets them here.
    const ldaps = settings.url.startsWith('ldaps:');
    const client = new Client({ url: settings.url, timeout: settings.timeoutMs, connectTimeout: settings.connectTimeoutMs, ...(ldaps ? { tlsOptions: tls } : {}), strictDN: false });
    try {
      if (settings.startTls) await client.startTLS(tls);
      if (settings.bindDn !== undefined) await client.bind(settings.bindDn, settings.bindPassword ?? '');
    } catch (e) {
      await client.unbind().catch(() => undefined);
      throw ldapError(e, settings, settings.startTls && !client.isConnected ? 'StartTLS' : `binding as ${settings.bindDn ?? 'anonymous'}`, scrub);
    }
    return client;
  }

  // ldapts reconnects a dropped socket by itself, but without the bind or StartTLS: such a
  // client is replaced instead.
  const stale = (c: Client): boolean => (settings.bindDn !== undefined ? !c.isBound : settings.startTls && !c.isConnected);

  async function client(): Promise<Client> {
    current ??= open().catch((e: unknown) => {
      current = undefined;
      throw e;
    });
    const c = await current;
    if (!stale(c)) return c;
    current = undefined;
    await c.unbind().catch(() => undefined);
    return client();
  }

  return {
    async run(doing, f) {
      const c = await client();
      try {
        return await f(c);
      } catch (e) {
        const err = ldapError(e, settings, doing, scrub);
        if (err.code === 'unreachable' || err.code === 'timeout') {
          current = undefined;
          await c.unbind().catch(() => undefined);
        }
        throw err;
      }
    },
    async *stream(doing, f) {
      const c = await client();
      try {
        yield* f(c);
      } catch (e) {
        const err = ldapError(e, settings, doing, scrub);
        if (err.code === 'unreachable' || err.code === 'timeout') {
          current = undefined;
          await c.unbind().catch(() => undefined);
        }
        throw err;
      }
    },
    async close() {
      const c = current;
      current = undefined;
      if (c !== undefined) await (await c.catch(() => undefined))?.unbind().catch(() => undefined);
    },
  };
}
