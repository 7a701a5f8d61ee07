// Uploads a CSV file to Steward's import route and prints the JSON answer: the client side
// of bench/import-stall.ts, in a process of its own so that only the server's work is on
// the event loop being measured (as when an HR system sends the file).
// Run: npx node bench/servers/upload-csv.ts URL TOKEN FILE
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';

const [url, token, file] = process.argv.slice(2);
if (!url || !token || !file) throw new Error('usage: upload-csv.ts URL TOKEN FILE');
const res = await fetch(url, {
  method: 'POST',
  headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' },
  body: Readable.toWeb(createReadStream(file)) as ReadableStream,
  duplex: 'half',
});
process.stdout.write((await res.text()) + '\n');
