/**
 * A real SMTP server on loopback (the npm `smtp-server`), collecting every message with its
 * envelope and a small MIME reading of it: headers, and the text and HTML parts decoded
 * from quoted-printable or base64. Optionally requires AUTH PLAIN/LOGIN, and can refuse the
 * next recipients with a given SMTP reply (550 unknown mailbox, 451 try later).
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
  headers: Record<string, string>;
  text: string | undefined;
  html: string | undefined;
}

export interface SmtpTestServer {
  port: number;
  /** A nodemailer transport URL for this server. */
  url: string;
  mails(): ReceivedMail[];
  /** Refuses the next `count` RCPT TO commands with this reply code and text. */
  refuseNext(code: 550 | 451 | 452, message: string, count?: number): void;
  close(): Promise<void>;
}

function unfoldHeaders(block: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of block.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0) out[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
  }
  return out;
}

function decodeBody(body: string, encoding: string | undefined): string {
  switch ((encoding ?? '7bit').toLowerCase()) {
    case 'quoted-printable':
      return Buffer.from(
        body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
        'latin1',
      ).toString('utf8');
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    default:
      return body;
  }
}

/** The leaf parts of a MIME entity: content type and decoded body. */
function parts(entity: string): { type: string; headers: Record<string, string>; body: string }[] {
  const split = entity.search(/\r?\n\r?\n/);
  const headers = unfoldHeaders(split < 0 ? entity : entity.slice(0, split));
  const body = split < 0 ? '' : entity.slice(split).replace(/^\r?\n\r?\n/, '');
  const type = headers['content-type'] ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (/^multipart\//i.test(type) && boundary) {
    return body
      .split(`--${boundary}`)
      .slice(1)
      .filter((p) => !p.startsWith('--'))
      .flatMap((p) => parts(p.replace(/^\r?\n/, '')));
  }
  return [{ type: type.split(';')[0]!.trim().toLowerCase(), headers, body: decodeBody(body, headers['content-transfer-encoding']) }];
}

export async function startSmtpServer(options: { user?: string; password?: string } = {}): Promise<SmtpTestServer> {
  const mails: ReceivedMail[] = [];
  const refusals: { code: number; message: string }[] = [];
  const needAuth = options.user !== undefined;
  const server = new SMTPServer({
    secure: false,
    authOptional: !needAuth,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === options.user && auth.password === options.password) return cb(null, { user: auth.username });
      return cb(new Error('Invalid username or password'));
    },
    onRcptTo(address, _session, cb) {
      const refusal = refusals.shift();
      if (refusal) {
        const err = new Error(refusal.message) as Error & { responseCode: number };
        err.responseCode = refusal.code;
        return cb(err);
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const split = raw.search(/\r?\n\r?\n/);
        const all = parts(raw);
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          headers: unfoldHeaders(raw.slice(0, split)),
          text: all.find((p) => p.type === 'text/plain')?.body,
          html: all.find((p) => p.type === 'text/html')?.body,
        });
        cb();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  const auth = needAuth ? `${encodeURIComponent(options.user!)}:${encodeURIComponent(options.password ?? '')}@` : '';
  return {
    port,
    url: `smtp://${auth}127.0.0.1:${port}`,
    mails: () => mails,
    refuseNext(code, message, count = 1) {
      for (let i = 0; i < count; i++) refusals.push({ code, message });
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
