// Manual check (not run by ctest; the e2e versions are tests/e2e/h2.test.mjs, task 11b): 32 parallel 16 MiB PUT streams on one h2 connection, a refused 1 GiB PUT,
// a slow reader, cancelled requests on a second connection next to a working one; VmHWM.
// (node's client drops a stream it has not sent yet, so the cancellations are no real rapid reset:
// test_h2.c's rapid_reset_ends_the_connection sends that one as raw frames.)
// Run from the worktree root: node tests/gateway/proxy/test_h2_streams.mjs
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { startRedis, stopAll } from '../../e2e/lib/stack.mjs';
import { sdkSas, startProxySasgw } from '../../e2e/lib/proxy-helpers.mjs';

const MiB = 1 << 20;
const KEY = randomBytes(64).toString('base64');
const BASE = randomBytes(MiB);
const hwm = (pid) => Number(/^VmHWM:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'h2par-'));
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(tmp, 'key.pem'),
    '-out', path.join(tmp, 'cert.pem'), '-days', '2', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
let originBytes = 0;
const origin = http.createServer((req, res) => {
    if (req.method === 'PUT') {
        const h = createHash('sha256');
        req.on('data', (d) => { h.update(d); originBytes += d.length; });
        req.on('end', () => { res.writeHead(201, { 'x-sha': h.digest('hex') }); res.end(); });
        return;
    }
    const n = Number(new URL(req.url, 'http://x').searchParams.get('mib') ?? 64);
    res.writeHead(200, { 'content-length': String(n * MiB) });
    let i = 0;
    const pump = () => { while (i < n) { i++; if (!res.write(BASE)) return res.once('drain', pump); } res.end(); };
    pump();
});
await new Promise((r) => origin.listen(0, '127.0.0.1', r));
const redis = await startRedis();
const sasgw = await startProxySasgw({ redisPort: redis.port, http2: true, tls: { certFile: path.join(tmp, 'cert.pem'), keyFile: path.join(tmp, 'key.pem') },
    accounts: [{ name: 'originacct', key: KEY, backend: `http://127.0.0.1:${origin.address().port}`, mode: 'origin' }] });
const sas = (b) => sdkSas({ account: 'originacct', key: KEY, container: 'data', blob: b, permissions: 'rcwd' });
const client = http2.connect(sasgw.tlsUrl, { rejectUnauthorized: false });
client.on('error', (e) => console.log('session error', e.code, e.message));
client.on('goaway', (c) => console.log('goaway', c));
const h0 = hwm(sasgw.pid);
// 32 parallel uploads of 16 MiB
const put = (b, mib, p = `/originacct/data/${b}?${sas(b)}`) => new Promise((resolve, reject) => {
    const req = client.request({ ':method': 'PUT', ':path': p, 'x-ms-blob-type': 'BlockBlob', 'content-length': String(mib * MiB) });
    const want = createHash('sha256'); let i = 0;
    const pump = () => { while (i < mib) { i++; want.update(BASE); if (!req.write(BASE)) return req.once('drain', pump); } req.end(); };
    pump();
    req.on('response', (h) => { resolve({ st: h[':status'], ok: h['x-sha'] === want.digest('hex') }); req.resume(); });
    req.on('error', (e) => resolve({ st: 'err', e: e.code, m: e.message }));
});
let t = Date.now();
const rs = await Promise.all(Array.from({ length: Number(process.env.PAR ?? 32) }, (_, i) => put(`b${i}`, 16)));

console.log(`parallel32 all201=${rs.every((r) => r.st === 201)} allsha=${rs.every((r) => r.ok)} secs=${(Date.now() - t) / 1000} hwm_growth_MiB=${((hwm(sasgw.pid) - h0) / MiB).toFixed(1)}`);
// refused 1 GiB upload (forged sig): answered before its body
originBytes = 0;
t = Date.now();
const forged = `/originacct/data/x?${sas('x').replace(/sig=[^&]+/, 'sig=AAAA')}`;
const ref = await new Promise((resolve) => {
    const req = client.request({ ':method': 'PUT', ':path': forged, 'content-length': String(1024 * MiB) });
    let sent = 0;
    const pump = () => { while (sent < 1024) { sent++; if (!req.write(BASE)) return req.once('drain', pump); } req.end(); };
    pump();
    req.on('response', (h) => { resolve({ st: h[':status'], sentMiB: sent, ms: Date.now() - t }); req.resume(); });
    req.on('error', (e) => resolve({ st: 'err', e: e.code }));
});
console.log(`refused1GiB status=${ref.st} client_wrote_MiB_before_answer<=${ref.sentMiB} ms=${ref.ms} origin_bytes=${originBytes}`);
// slow reader: 64 MiB download read at ~8 MiB/s, then the rest
const h1 = hwm(sasgw.pid);
t = Date.now();
const slow = await new Promise((resolve) => {
    const req = client.request({ ':method': 'GET', ':path': `/originacct/data/s?mib=64&${sas('s')}` });
    let n = 0;
    req.on('data', (d) => { n += d.length; req.pause(); setTimeout(() => req.resume(), 2); });
    req.on('end', () => resolve(n)); req.on('error', (e) => resolve(e.code));
});
console.log(`slowreader bytes=${slow} secs=${(Date.now() - t) / 1000} hwm_growth_MiB=${((hwm(sasgw.pid) - h1) / MiB).toFixed(1)}`);
// rapid reset flood on a second connection; the first keeps serving
const flood = http2.connect(sasgw.tlsUrl, { rejectUnauthorized: false });
flood.on('error', () => {});
let goaway = null;
flood.on('goaway', (code) => { goaway = code; });
for (let i = 0; i < 2000 && !flood.destroyed && !flood.closed; i++) {
    try { const r = flood.request({ ':path': `/originacct/data/r?${sas('r')}` }); r.on('error', () => {}); r.close(http2.constants.NGHTTP2_CANCEL); } catch { break; }
}
await new Promise((r) => setTimeout(r, 1000));
const after = await put('after', 1);
console.log(`rapidreset goaway_code=${goaway} other_connection_status=${after.st}`);
client.close(); flood.destroy();
await sasgw.stop(); origin.close(); await stopAll();
