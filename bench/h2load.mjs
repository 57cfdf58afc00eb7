// bench/h2load.mjs - a small HTTP/2 GET load generator (h2load is not
// installed): node's http2 client in THREADS worker threads, each with CONNS
// connections keeping STREAMS requests in flight on each, for SECONDS.
// TLS certificates are not verified (the bench's throwaway one).
//
//   node bench/h2load.mjs URL SECONDS THREADS CONNS STREAMS
//
// Prints one line: "rps=N ok=N bad=N errors=N" (bad: a status other than 200;
// rps counts only 200s).
import http2 from 'node:http2';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

if (isMainThread) {
    const [url, seconds = '10', threads = '2', conns = '8', streams = '32'] = process.argv.slice(2);
    if (!url) {
        console.error('usage: node bench/h2load.mjs URL SECONDS THREADS CONNS STREAMS');
        process.exit(2);
    }
    const results = await Promise.all(Array.from({ length: Number(threads) }, () => new Promise((resolve, reject) => {
        const w = new Worker(new URL(import.meta.url), { workerData: { url, seconds: Number(seconds), conns: Number(conns), streams: Number(streams) } });
        w.once('message', resolve);
        w.once('error', reject);
    })));
    const sum = (k) => results.reduce((n, r) => n + r[k], 0);
    const ms = Math.max(...results.map((r) => r.ms));
    console.log(`rps=${(sum('ok') / (ms / 1000)).toFixed(0)} ok=${sum('ok')} bad=${sum('bad')} errors=${sum('errors')}`);
} else {
    const { url, seconds, conns, streams } = workerData;
    const u = new URL(url);
    const target = u.pathname + u.search;
    const counts = { ok: 0, bad: 0, errors: 0 };
    const t0 = Date.now();
    const deadline = t0 + seconds * 1000;
    const one = (session) => new Promise((resolve) => {
        const s = session.request({ ':method': 'GET', ':path': target }, { endStream: true });
        let status = 0;
        s.on('response', (h) => (status = h[':status']));
        s.on('data', () => {});
        s.on('end', () => {
            if (status === 200)
                counts.ok++;
            else
                counts.bad++;
            resolve();
        });
        s.on('error', () => {
            counts.errors++;
            resolve();
        });
    });
    await Promise.all(Array.from({ length: conns }, async () => {
        const session = http2.connect(u.origin, { rejectUnauthorized: false });
        session.on('error', () => {});
        await Promise.all(Array.from({ length: streams }, async () => {
            while (Date.now() < deadline && !session.destroyed)
                await one(session);
        }));
        session.close();
    }));
    parentPort.postMessage({ ...counts, ms: Date.now() - t0 });
}
