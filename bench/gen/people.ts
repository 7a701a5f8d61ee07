// Generates an HR CSV of N people, deterministic, streamed to a file.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

const DEPARTMENTS = ['Sales', 'Marketing', 'Engineering', 'Finance', 'Operations', 'Support', 'Legal', 'People'];
const TITLES = ['Associate', 'Specialist', 'Lead', 'Manager', 'Director'];

/** Writes `n` people to `path`: every 50th person is the manager of the 49 after them. */
export async function writePeopleCsv(path: string, n: number, variant = 0): Promise<void> {
  const out = createWriteStream(path);
  const write = async (s: string) => {
    if (!out.write(s)) await once(out, 'drain');
  };
  await write('userName,externalId,givenName,familyName,email,department,title,employeeNumber,manager,kind\n');
  for (let i = 0; i < n; i++) {
    const dept = DEPARTMENTS[(i + variant) % DEPARTMENTS.length]!;
    const manager = i % 50 === 0 ? '' : `user${i - (i % 50)}`;
    await write(`user${i},X${i},Given${i},Family${i},user${i}@example.com,${dept},${TITLES[i % TITLES.length]},E${i},${manager},${i % 10 === 0 ? 'contractor' : 'employee'}\n`);
  }
  out.end();
  await once(out, 'finish');
}
