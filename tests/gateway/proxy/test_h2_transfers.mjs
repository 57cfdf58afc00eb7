// Manual check (not run by ctest; the e2e versions are tests/e2e/h2.test.mjs, task 11b): 1 GiB h2 upload and download through sasgw, VmHWM growth.
// Run from the worktree root: MIB=1024 node tests/gateway/proxy/test_h2_transfers.mjs (CLEAR=1: h2c prior knowledge)
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { startRedis, stopAll } from '../../e2e/lib/stack.mjs';
import { sdkSas, startProxySasgw } from '../../e2e/lib/proxy-helpers.mjs';

const MiB = 1 << 20, N = Number(process.env.MIB ?? 1024);
const KEY = randomBytes(64).toString('base64');
const BASE = randomBytes(MiB);
const chunk = (i) => { const c = Buffer.from(BASE); c.writeUInt32BE(i, 0); return c; };
const hwm = (pid) => Number(/^VmHWM:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'h2big-'));
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(tmp, 'key.pem'),
    '-out', path.join(tmp, 'cert.pem'), '-days', '2', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
const origin = http.createServer((req, res) => {
    if (req.method === 'PUT') {
        const h = createHash('sha256'); let n = 0;
        req.on('data', (d) => { h.update(d); n += d.length; });
        req.on('end', () => { res.writeHead(201, { 'x-sha': h.digest('hex'), 'x-n': String(n) }); res.end(); });
        return;
    }
    res.writeHead(200, { 'content-length': String(N * MiB) });
    let i = 0;
    const pump = () => { while (i < N) { if (!res.write(chunk(i++))) return res.once('drain', pump); } res.end(); };
    pump();
});
await new Promise((r) => origin.listen(0, '127.0.0.1', r));
const redis = await startRedis();
const sasgw = await startProxySasgw({ redisPort: redis.port, tls: { certFile: path.join(tmp, 'cert.pem'), keyFile: path.join(tmp, 'key.pem') },
    http2: true, accounts: [{ name: 'originacct', key: KEY, backend: `http://127.0.0.1:${origin.address().port}`, mode: 'origin' }] });
const sas = sdkSas({ account: 'originacct', key: KEY, container: 'data', blob: 'big', permissions: 'rcwd' });
const url = process.env.CLEAR ? sasgw.proxyUrl : sasgw.tlsUrl;
const client = http2.connect(url, { rejectUnauthorized: false });
const p = `/originacct/data/big?${sas}`;
const h0 = hwm(sasgw.pid);
let t = Date.now();
const want = createHash('sha256'); for (let i = 0; i < N; i++) want.update(chunk(i));
const wantHex = want.digest('hex');
const up = await new Promise((resolve, reject) => {
    const req = client.request({ ':method': 'PUT', ':path': p, 'x-ms-blob-type': 'BlockBlob', 'content-length': String(N * MiB) });
    let i = 0;
    const pump = () => { while (i < N) { if (!req.write(chunk(i++))) return req.once('drain', pump); } req.end(); };
    pump();
    req.on('response', (h) => resolve(h)); req.on('error', reject); req.resume();
});
const upS = (Date.now() - t) / 1000;
const h1 = hwm(sasgw.pid);
console.log(`upload status=${up[':status']} sha_ok=${up['x-sha'] === wantHex} n=${up['x-n']} secs=${upS} MBps=${(N / upS).toFixed(0)} hwm_growth_MiB=${((h1 - h0) / MiB).toFixed(1)}`);
t = Date.now();
const down = await new Promise((resolve, reject) => {
    const req = client.request({ ':method': 'GET', ':path': p });
    const h = createHash('sha256'); let n = 0, st;
    req.on('response', (hd) => { st = hd[':status']; });
    req.on('data', (d) => { h.update(d); n += d.length; });
    req.on('end', () => resolve({ st, n, sha: h.digest('hex') })); req.on('error', reject);
});
const dS = (Date.now() - t) / 1000;
const h2 = hwm(sasgw.pid);
console.log(`download status=${down.st} sha_ok=${down.sha === wantHex} n=${down.n} secs=${dS} MBps=${(N / dS).toFixed(0)} hwm_growth_MiB=${((h2 - h1) / MiB).toFixed(1)} hwm_start_MiB=${(h0 / MiB).toFixed(1)}`);
client.close();
await sasgw.stop(); origin.close(); await stopAll();
