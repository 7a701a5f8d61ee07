import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
}

/** Prometheus metrics of one app: process defaults and HTTP requests by route and status. */
export function createMetrics(app: FastifyInstance): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'steward_' });
  const requests = new Counter({ name: 'steward_http_requests_total', help: 'HTTP requests by method, route and status', labelNames: ['method', 'route', 'status'], registers: [registry] });
  const duration = new Histogram({
    name: 'steward_http_request_duration_seconds',
    help: 'HTTP request duration by method and route',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  // The labelled series of each method, route and status, looked up once: prom-client
  // hashes a label set on every call, which a hot route would pay per request.
  const series = new Map<string, { count: () => void; time: (seconds: number) => void }>();
  // A callback hook: no promise per request.
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const key = `${req.method} ${reply.statusCode} ${route}`;
    let s = series.get(key);
    if (!s) {
      const counter = requests.labels(req.method, route, String(reply.statusCode));
      const timer = duration.labels(req.method, route);
      s = { count: () => counter.inc(), time: (seconds) => timer.observe(seconds) };
      series.set(key, s);
    }
    s.count();
    s.time(reply.elapsedTime / 1000);
    done();
  });
  return { registry };
}
