/**
 * Socket-level failures (refused, unknown host, untrusted certificate) as messages a person
 * can act on, shared by every kind that opens connections.
 */

/** Node hides a socket's error code under `cause` (fetch) or puts it on the error (net, tls). */
export function networkCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let depth = 0; depth < 4 && cur !== null && typeof cur === 'object'; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

const HINTS: Record<string, string> = {
  ECONNREFUSED: 'is the server running and the port right?',
  ENOTFOUND: 'is the host name right?',
  EAI_AGAIN: 'DNS lookup failed for now; is the host name right?',
  ECONNRESET: 'the server closed the connection; is it a TLS port spoken to without TLS, or the other way round?',
  EHOSTUNREACH: 'is the host up and reachable from here?',
  ETIMEDOUT: 'is a firewall in the way?',
  CERT_HAS_EXPIRED: 'the server’s TLS certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server’s TLS certificate is self-signed and not trusted here; give its CA in the settings',
  SELF_SIGNED_CERT_IN_CHAIN: 'the server’s TLS certificate chain ends in a CA not trusted here; give that CA in the settings',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the server’s TLS certificate is signed by a CA not trusted here; give that CA in the settings',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the server’s TLS certificate is signed by a CA not trusted here; give that CA in the settings',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the TLS certificate does not name this host',
};

/** Certificate problems do not go away by retrying. */
const PERMANENT = new Set(['CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'ERR_TLS_CERT_ALTNAME_INVALID', 'ENOTFOUND']);

/** The failure to reach `address`, e.g. `could not connect to ldap://127.0.0.1:3899: ECONNREFUSED — is the server running and the port right?` */
export function describeNetworkError(address: string, e: unknown): { message: string; permanent: boolean } | undefined {
  const code = networkCode(e);
  if (code === undefined) return undefined;
  const hint = HINTS[code];
  return { message: `could not connect to ${address}: ${code}${hint ? ` — ${hint}` : ''}`, permanent: PERMANENT.has(code) };
}
