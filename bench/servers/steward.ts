// Steward's API on the embedded database or on PostgreSQL (argv[2] = a URL), with N
// people imported; prints its address, an admin token and one identity's id.
import { createReadStream, mkdtempSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../../src/api/app.ts';
import { SYSTEM_ACTOR } from '../../src/domain/actor.ts';
import { createServices } from '../../src/services/index.ts';
import { importUsers } from '../../src/services/import-users.ts';
import { createSecretBox } from '../../src/store/crypto.ts';
import { migrate, openDb } from '../../src/store/db.ts';
import { writePeopleCsv } from '../gen/people.ts';

const url = process.argv[2] || undefined;
const people = Number(process.argv[3] ?? 1000);
const work = mkdtempSync(join(tmpdir(), 'steward-bench-api-'));
const db = await openDb(url ? { url, poolSize: 10 } : { dataDir: join(work, 'data'), command: 'bench' });
await migrate(db);
const services = createServices({ db, secrets: createSecretBox(randomBytes(32)) });
await writePeopleCsv(join(work, 'people.csv'), people);
await importUsers(db, SYSTEM_ACTOR, createReadStream(join(work, 'people.csv')), { key: 'userName' });
const { token } = await services.clients.create(SYSTEM_ACTOR, { name: `bench-${randomBytes(3).toString('hex')}`, privileges: ['admin'] });
const one = await db.k.selectFrom('identities').select('id').orderBy('id').limit(1).offset(Math.floor(people / 2)).executeTakeFirstOrThrow();
const app = await buildApp({ services, logger: false });
await app.listen({ host: '127.0.0.1', port: 0 });
const a = app.server.address();
process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`, token, id: one.id }) + '\n');
process.on('SIGTERM', () => void app.close().then(() => db.close()).then(() => process.exit(0)));
