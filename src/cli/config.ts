import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generateSecretKey, parseSecretKey } from '../store/crypto.ts';

/** Every setting Steward reads, with where it comes from. README's configuration table lists these. */
export interface Config {
  /** PostgreSQL URL (STEWARD_DATABASE_URL); unset means the embedded database in `dataDir`. */
  databaseUrl: string | undefined;
  /** Embedded data directory (--data, STEWARD_DATA_DIR; default ./data). */
  dataDir: string;
  host: string;
  port: number;
  logLevel: string;
  /** Created as an admin client at start when the database has no clients (STEWARD_BOOTSTRAP_TOKEN). */
  bootstrapToken: string | undefined;
  bodyLimit: number;
  importLimit: number;
  /** Where people reach Steward, for links in emails and Slack callbacks (STEWARD_PUBLIC_URL; default the listen address). */
  publicUrl: string | undefined;
  /** Outgoing mail: a nodemailer SMTP URL (STEWARD_SMTP_URL) and the sender (STEWARD_MAIL_FROM). */
  smtpUrl: string | undefined;
  mailFrom: string;
  /** Slack: bot token (STEWARD_SLACK_BOT_TOKEN), signing secret (STEWARD_SLACK_SIGNING_SECRET), Web API base (STEWARD_SLACK_API_URL). */
  slackBotToken: string | undefined;
  slackSigningSecret: string | undefined;
  slackApiUrl: string;
  /** ActionFlow scripts one worker process runs at once (STEWARD_WORKER_CONCURRENCY). */
  workerConcurrency: number;
  /** Seconds a script may run before its worker is taken to have died and another takes it over (STEWARD_SCRIPT_TIMEOUT_SECONDS). */
  scriptTimeoutSeconds: number;
  /** How often the queue looks for jobs whose worker died, in seconds (STEWARD_QUEUE_SUPERVISE_SECONDS). */
  queueSuperviseSeconds: number;
}

export const DEFAULTS = { host: '127.0.0.1', port: 8080, dataDir: './data', logLevel: 'info', bodyLimit: 1024 * 1024, importLimit: 512 * 1024 * 1024 };

function intFrom(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name}: '${value}' is not a whole number from ${min} to ${max}`);
  return n;
}

/** The configuration from the environment, overridden by command-line flags. */
export function loadConfig(flags: { data?: string; host?: string; port?: string | number }, env: NodeJS.ProcessEnv = process.env): Config {
  return {
    databaseUrl: env.STEWARD_DATABASE_URL || undefined,
    dataDir: resolve(flags.data ?? env.STEWARD_DATA_DIR ?? DEFAULTS.dataDir),
    host: flags.host ?? env.STEWARD_HOST ?? DEFAULTS.host,
    port: intFrom('port', flags.port === undefined ? env.STEWARD_PORT : String(flags.port), DEFAULTS.port, 0, 65535),
    logLevel: env.STEWARD_LOG_LEVEL ?? DEFAULTS.logLevel,
    bootstrapToken: env.STEWARD_BOOTSTRAP_TOKEN || undefined,
    bodyLimit: intFrom('STEWARD_BODY_LIMIT', env.STEWARD_BODY_LIMIT, DEFAULTS.bodyLimit, 1024, 1024 * 1024 * 1024),
    importLimit: intFrom('STEWARD_IMPORT_LIMIT', env.STEWARD_IMPORT_LIMIT, DEFAULTS.importLimit, 1024, 64 * 1024 * 1024 * 1024),
    publicUrl: env.STEWARD_PUBLIC_URL || undefined,
    smtpUrl: env.STEWARD_SMTP_URL || undefined,
    mailFrom: env.STEWARD_MAIL_FROM || 'Steward <steward@localhost>',
    slackBotToken: env.STEWARD_SLACK_BOT_TOKEN || undefined,
    slackSigningSecret: env.STEWARD_SLACK_SIGNING_SECRET || undefined,
    slackApiUrl: env.STEWARD_SLACK_API_URL || 'https://slack.com/api',
    workerConcurrency: intFrom('STEWARD_WORKER_CONCURRENCY', env.STEWARD_WORKER_CONCURRENCY, 8, 1, 256),
    scriptTimeoutSeconds: intFrom('STEWARD_SCRIPT_TIMEOUT_SECONDS', env.STEWARD_SCRIPT_TIMEOUT_SECONDS, 300, 1, 86_400),
    queueSuperviseSeconds: intFrom('STEWARD_QUEUE_SUPERVISE_SECONDS', env.STEWARD_QUEUE_SUPERVISE_SECONDS, 30, 1, 3_600),
  };
}

/**
 * The key that seals stored secrets: STEWARD_SECRET_KEY, or for the embedded database a
 * key generated once into the data directory. With PostgreSQL the key must be given, so
 * that every node can read what another sealed.
 */
export function loadSecretKey(config: Config, env: NodeJS.ProcessEnv = process.env): Buffer {
  if (env.STEWARD_SECRET_KEY) return parseSecretKey(env.STEWARD_SECRET_KEY, 'STEWARD_SECRET_KEY');
  if (config.databaseUrl) {
    throw new Error('STEWARD_SECRET_KEY must be set when STEWARD_DATABASE_URL is: 64 hex digits (e.g. from `openssl rand -hex 32`), the same on every node');
  }
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const file = join(config.dataDir, 'secret.key');
  if (!existsSync(file)) writeFileSync(file, generateSecretKey() + '\n', { mode: 0o600, flag: 'wx' });
  return parseSecretKey(readFileSync(file, 'utf8'), file);
}
