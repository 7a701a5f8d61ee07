// A bare Fastify hello-world route: the baseline the API benchmarks are a ratio to.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/hello', async () => ({ hello: 'world' }));
await app.listen({ host: '127.0.0.1', port: 0 });
const a = app.server.address();
process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}` }) + '\n');
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
