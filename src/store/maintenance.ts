import { sql } from 'kysely';
import type { Db } from './db.ts';

const EVERY_MS = 6 * 60 * 60 * 1000;

/**
 * The embedded database has no autovacuum: vacuum and analyze it on a schedule, so its
 * planner keeps current statistics and deleted rows' space is reused. PostgreSQL does
 * this itself. Returns a function that stops the schedule.
 */
export function scheduleMaintenance(db: Db, log: (msg: string, err?: unknown) => void, everyMs = EVERY_MS): () => void {
  if (db.kind !== 'pglite') return () => {};
  let running = false;
  const run = async () => {
    if (running) return;
    running = true;
    try {
      await sql`vacuum (analyze)`.execute(db.k);
      log('vacuumed and analyzed the embedded database');
    } catch (e) {
      log('could not vacuum the embedded database', e);
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void run(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
