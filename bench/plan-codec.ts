// Benchmark of the ProvisioningPlan XML codec: a plan of 10,000 AccountRequests with 5
// AttributeRequests each, read (parse + structure checks), and written back, compared with
// fast-xml-parser reading the same document alone (attributes on, as a plan needs them).
// Run: npx node bench/plan-codec.ts   Prints `figure: plan-codec.<name> = <value> <unit>`.
import { XMLParser } from 'fast-xml-parser';
import { parsePlanXml, toXml } from '../src/plan/index.ts';
import type { AccountRequest, ProvisioningPlan } from '../src/plan/index.ts';

const ACCOUNTS = 10_000;
const WARMUP = 2;
const ROUNDS = 7;

function makePlan(): ProvisioningPlan {
  const accountRequests: AccountRequest[] = [];
  for (let i = 0; i < ACCOUNTS; i++) {
    accountRequests.push({
      application: i % 3 === 0 ? 'Active Directory' : 'HR',
      nativeIdentity: `cn=user${i},ou=People,dc=example,dc=com`,
      op: i % 10 === 0 ? 'Create' : 'Modify',
      attributeRequests: [
        { name: 'groups', op: 'Add', value: `Group ${i % 97}` },
        { name: 'groups', op: 'Set', value: ['Hunters', 'Gatherers', `Team & ${i % 13}`] },
        { name: 'mailboxSize', op: 'Set', value: 100 + (i % 50) },
        { name: 'hired', op: 'Set', value: new Date(1767322245000 + i * 1000) },
        { name: 'description', op: 'Set', value: `Employee <${i}> of "Example"` },
      ],
      permissionRequests: [],
    });
  }
  return { identity: 'bench', accountRequests };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

/**
 * Runs every measured task once per round, interleaved, so that a busy machine slows all of
 * them alike and the ratios stay fair; returns each task's median over the rounds.
 */
function timeAll(tasks: Record<string, () => void>): Record<string, number> {
  const names = Object.keys(tasks);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < WARMUP + ROUNDS; round++) {
    for (const name of names) {
      const t0 = performance.now();
      tasks[name]?.();
      if (round >= WARMUP) samples[name]?.push(performance.now() - t0);
    }
  }
  return Object.fromEntries(names.map((n) => [n, median(samples[n] ?? [])]));
}

const figure = (name: string, value: number, unit: string): void => {
  console.log(`figure: plan-codec.${name} = ${value.toFixed(value < 10 ? 3 : 1)} ${unit}`);
};

const xml = toXml(makePlan());
const mb = Buffer.byteLength(xml) / 1e6;

const first = parsePlanXml(xml);
if (!first.ok || first.value.accountRequests.length !== ACCOUNTS) throw new Error('the plan did not read back whole');
const plan = first.value;
const fxp = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' });
const ms = timeAll({
  read: () => {
    if (!parsePlanXml(xml).ok) throw new Error('unreadable');
  },
  write: () => {
    toXml(plan);
  },
  cycle: () => {
    const r = parsePlanXml(xml);
    if (!r.ok) throw new Error('unreadable');
    toXml(r.value);
  },
  bare: () => {
    fxp.parse(xml);
  },
});
const readMs = ms.read ?? NaN;
const writeMs = ms.write ?? NaN;
const cycleMs = ms.cycle ?? NaN;
const bareMs = ms.bare ?? NaN;

figure('document_size', mb, 'MB');
figure('read_ms', readMs, 'ms');
figure('write_ms', writeMs, 'ms');
figure('cycle_ms', cycleMs, 'ms');
figure('plans_per_second', 1000 / cycleMs, 'plans/s');
figure('account_requests_per_second', (ACCOUNTS * 1000) / cycleMs, 'requests/s');
figure('cycle_throughput', mb / (cycleMs / 1000), 'MB/s');
figure('read_throughput', mb / (readMs / 1000), 'MB/s');
figure('write_throughput', mb / (writeMs / 1000), 'MB/s');
figure('fast_xml_parser_throughput', mb / (bareMs / 1000), 'MB/s');
figure('read_vs_fast_xml_parser', bareMs / readMs, 'ratio');
figure('cycle_vs_fast_xml_parser', bareMs / cycleMs, 'ratio');
