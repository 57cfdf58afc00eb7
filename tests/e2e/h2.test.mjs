// h2.test.mjs - HTTP/2 on the proxy listeners (issue 11), over TLS (ALPN h2)
// and cleartext prior knowledge, observed from both ends: curl and node's
// http2 client (and raw frames written by hand) in front; Azurite
// (passthrough), an nginx that stores uploads in files (origin mode, fast at
// 1 GiB) and a small recording node origin behind.
//
//   basics       curl --http2 / --http2-prior-knowledge: PUT and GET with a
//                minted SAS; a forged one gets Azure's XML 403
//   streaming    1 GiB upload and 1 GiB download, SHA-256 checked end to end,
//                sasgw's peak RSS (VmHWM, reset before each) grows < 16 MiB
//   slow reader  a download read at ~1 MiB/s: sasgw's memory stays bounded and
//                other streams and clients are served meanwhile
//   refusal      a forged 1 GiB upload gets its 403 having sent at most the
//                initial windows (~1 MiB); sasgw's memory does not grow
//   parallel     32 streams on one connection: Put Block each, Put Block List,
//                the blob read back and compared
//   hygiene      rapid reset (CVE-2023-44487 shape), a CONTINUATION flood: the
//                attacking connection is closed or sent GOAWAY; a SETTINGS and
//                a PING flood from a client that reads nothing: cut off, or
//                no longer read, with sasgw's memory bounded; another client's
//                GETs are served throughout (latency printed)
//   100-continue valid: 100 then the body, forwarded; forged: 403, no 100
//   revocation   a SAS revoked in Redis is refused on an open h2 connection
//   abort        RST_STREAM mid-upload closes the upstream connection
//
// Every figure a test measures is printed (h2: ... lines) and named in its
// assertion message. ctest runs the file under --test-timeout=120000, which
// node applies to the whole file too: the waits for what a buffering server
// never does are short (5-15 s). H2_BIG_BYTES sets the large transfers' size.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';

import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';

import { DEV_ACCOUNT, DEV_KEY, freePort, startAzurite, startRedis, stopAll, waitFor } from './lib/stack.mjs';
import { azureCode, revokeInRedis, sdkSas, startProxySasgw, stopProxyStacks, tokenIdOfQuery } from './lib/proxy-helpers.mjs';
import {
    FLAG, FRAME, GiB, MiB, frame, generated, h2Connect, h2Request, hpack, peakGrowth, pingFrame, pump, rawH2, requestBlock,
    rssKiB, rstFrame, selfSignedCert, settingsFrame, startNginxStore,
} from './lib/h2.mjs';

const BIG = Number(process.env.H2_BIG_BYTES ?? GiB); /* the large transfers (H2_BIG_BYTES to try smaller) */
const PEAK_LIMIT_MIB = 16;
const STORE = 'storeacct'; /* origin mode -> nginx storing files */
const REC = 'recacct'; /* origin mode -> the recording node origin */
const DEAD = 'deadacct'; /* origin mode -> nothing listens */
const ORIGIN_KEY = randomBytes(64).toString('base64');
const BASE = randomBytes(MiB);

let tmp, certs, redis, azurite, store, rec, sasgw, direct;

const originSas = (account, blob, permissions = 'rcw', container = 'data') =>
    sdkSas({ account, key: ORIGIN_KEY, container, blob, permissions });
const azSas = (blob, permissions = 'rcw') => sdkSas({ container: 'h2box', blob, permissions });
const forged = (sas) => sas.replace(/sig=[^&]+/, `sig=${encodeURIComponent(randomBytes(32).toString('base64'))}`);
const storePath = (blob, sas = originSas(STORE, blob)) => `/${STORE}/data/${blob}?${sas}`;
const azPath = (blob, sas = azSas(blob)) => `/${DEV_ACCOUNT}/h2box/${blob}?${sas}`;

function curl(args) {
    return new Promise((resolve) => {
        execFile('curl', ['-sS', '--max-time', '60', ...args], { maxBuffer: 16 * MiB }, (err, stdout, stderr) =>
            resolve({ err, stdout, stderr }));
    });
}

function assertXml403(status, headers, body, what) {
    assert.equal(status, 403, `${what}: status (body ${String(body).slice(0, 300)})`);
    assert.match(String(headers['content-type'] ?? ''), /application\/xml/, `${what}: content-type`);
    assert.match(String(body), /^\s*<\?xml[^>]*\?>\s*<Error>\s*<Code>AuthenticationFailed<\/Code>/, `${what}: XML body ${body}`);
    assert.equal(azureCode(String(body)), 'AuthenticationFailed');
}

/*
 * The recording origin: every request {url, bytes, ended, closed, sha256};
 * GETs of /.../slow-* answer after 200 ms; everything else 200 "rec:<path>"
 * once the body ended. .connections counts TCP connections, .open those open.
 */
async function startRecordingOrigin() {
    const o = { requests: [], connections: 0, open: new Set() };
    const server = http.createServer((req, res) => {
        const r = { url: req.url.split('?')[0], headers: req.headers, bytes: 0, ended: false, closed: false, expect: req.headers.expect };
        const h = createHash('sha256');
        o.requests.push(r);
        req.on('data', (d) => {
            r.bytes += d.length;
            h.update(d);
        });
        req.on('error', () => {});
        req.socket.on('close', () => (r.closed = true));
        req.on('end', () => {
            r.ended = true;
            r.sha256 = h.digest('hex');
            const body = `rec:${r.url}`;
            setTimeout(() => res.end(body), r.url.includes('/slow-') ? 200 : 0);
        });
    });
    server.on('connection', (s) => {
        o.connections++;
        o.open.add(s);
        s.on('close', () => o.open.delete(s));
    });
    const port = await freePort();
    await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
    o.port = port;
    o.close = () => new Promise((resolve) => {
        for (const s of o.open)
            s.destroy();
        server.close(() => resolve());
    });
    o.find = (blob) => o.requests.findLast((x) => x.url.endsWith(`/${blob}`));
    return o;
}

before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), `sasgw-e2e-${process.pid}-h2-`));
    certs = selfSignedCert(tmp);
    [redis, azurite] = await Promise.all([startRedis(), startAzurite()]);
    store = await startNginxStore(path.join(tmp, 'nginx'));
    rec = await startRecordingOrigin();
    const dead = await freePort();
    sasgw = await startProxySasgw({
        redisPort: redis.port,
        upstreamTimeout: 30,
        http2: true,
        tls: certs,
        /* the most h2o's buffering HTTP/2 path accepts (its default, 64 MiB, resets a 1 GiB upload unanswered) */
        extraProxyYaml: '  http2_max_body: 1073741824\n',
        accounts: [
            { name: DEV_ACCOUNT, key: DEV_KEY, backend: `http://127.0.0.1:${azurite.port}`, mode: 'passthrough' },
            { name: STORE, key: ORIGIN_KEY, backend: `http://127.0.0.1:${store.port}`, mode: 'origin' },
            { name: REC, key: ORIGIN_KEY, backend: `http://127.0.0.1:${rec.port}`, mode: 'origin' },
            { name: DEAD, key: ORIGIN_KEY, backend: `http://127.0.0.1:${dead}`, mode: 'origin' },
        ],
    });
    direct = new BlobServiceClient(azurite.accountUrl, new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_KEY));
    await direct.getContainerClient('h2box').create();
    await direct.getContainerClient('h2box').getBlockBlobClient('small.txt').upload('small h2 blob', 13);
    mkdirSync(path.join(store.root, STORE, 'data'), { recursive: true });
    writeFileSync(path.join(store.root, STORE, 'data', 'small.bin'), 'x'.repeat(1024));
});

after(async () => {
    await stopProxyStacks();
    await store?.stop();
    await rec?.close();
    await stopAll();
    if (tmp)
        rmSync(tmp, { recursive: true, force: true });
});

const flavours = [
    ['TLS, ALPN h2', () => sasgw.tlsUrl, ['--http2', '-k']],
    ['cleartext, prior knowledge', () => sasgw.proxyUrl, ['--http2-prior-knowledge']],
];

describe('curl over HTTP/2', () => {
    for (const [what, base, flags] of flavours) {
        test(`${what}: PUT and GET with a minted SAS; a forged one gets the XML 403`, async () => {
            const blob = `curl-${flags[0].replace(/\W/g, '')}.bin`;
            const data = randomBytes(300000);
            const up = path.join(tmp, `${blob}.up`), down = path.join(tmp, `${blob}.down`);
            writeFileSync(up, data);
            let r = await curl([...flags, '-X', 'PUT', '-H', 'x-ms-blob-type: BlockBlob', '--data-binary', `@${up}`, '-o', down,
                '-w', '%{http_code} %{http_version}', `${base()}${azPath(blob)}`]);
            assert.equal(r.err, null, `curl PUT: ${r.stderr}`);
            assert.equal(r.stdout, '201 2', `PUT: ${readFileSync(down, 'utf8').slice(0, 300)}`);
            r = await curl([...flags, '-o', down, '-w', '%{http_code} %{http_version}', `${base()}${azPath(blob)}`]);
            assert.equal(r.err, null, `curl GET: ${r.stderr}`);
            assert.equal(r.stdout, '200 2');
            assert.ok(readFileSync(down).equals(data), 'GET returns what PUT stored');
            for (const [method, extra] of [['GET', []], ['PUT', ['-H', 'x-ms-blob-type: BlockBlob', '--data-binary', `@${up}`]]]) {
                r = await curl([...flags, '-X', method, ...extra, '-D', '-', '-o', down, `${base()}${azPath(blob, forged(azSas(blob)))}`]);
                assert.equal(r.err, null, `curl forged ${method}: ${r.stderr}`);
                const status = Number(/^HTTP\/2 (\d{3})/m.exec(r.stdout)?.[1]);
                const ct = /^content-type: *(.*)$/im.exec(r.stdout)?.[1] ?? '';
                assertXml403(status, { 'content-type': ct }, readFileSync(down, 'utf8'), `forged ${method} (${what})`);
            }
        });
    }
});

/* Uploads the generated bytes on one stream; resolves to {status, body, ms, bytesWritten}. */
function h2Upload(session, p, gen, headers = {}) {
    return new Promise((resolve, reject) => {
        const t0 = Date.now();
        const stream = session.request({ ':method': 'PUT', ':path': p, 'content-length': String(gen.total), ...headers });
        let head = null;
        const chunks = [];
        stream.on('response', (h) => (head = h));
        stream.on('data', (c) => chunks.push(c));
        stream.on('end', () => resolve({ status: head?.[':status'], body: Buffer.concat(chunks).toString(), ms: Date.now() - t0 }));
        /* a reset is an outcome to report (status undefined when it came without an answer) */
        stream.on('error', (err) => resolve({ status: head?.[':status'], body: Buffer.concat(chunks).toString(), ms: Date.now() - t0, err }));
        pump(gen, stream, { stop: () => head !== null && head[':status'] >= 300 }).then(() => stream.end(), () => {});
    });
}

/* Downloads on one stream, hashing; resolves to {status, bytes, sha256, ms}. */
function h2Download(session, p) {
    return new Promise((resolve, reject) => {
        const t0 = Date.now();
        const stream = session.request({ ':method': 'GET', ':path': p }, { endStream: true });
        const h = createHash('sha256');
        let head = null, bytes = 0;
        stream.on('response', (hd) => (head = hd));
        stream.on('data', (c) => {
            bytes += c.length;
            h.update(c);
        });
        stream.on('end', () => resolve({ status: head?.[':status'], bytes, sha256: h.digest('hex'), ms: Date.now() - t0 }));
        stream.on('error', reject);
    });
}

function fileSha256(file) {
    return new Promise((resolve, reject) => {
        const h = createHash('sha256');
        createReadStream(file, { highWaterMark: 4 * MiB }).on('data', (d) => h.update(d)).on('end', () => resolve(h.digest('hex'))).on('error', reject);
    });
}

const mbps = (bytes, ms) => (bytes / MiB / (ms / 1000)).toFixed(0);

describe('streaming both ways', () => {
    const gen = generated(BIG, BASE);

    test(`a ${BIG / MiB} MiB upload over h2 (TLS): SHA-256 checked at the origin, sasgw's peak RSS grows < ${PEAK_LIMIT_MIB} MiB`, async () => {
        const session = await h2Connect(sasgw.tlsUrl);
        try {
            const growth = peakGrowth(sasgw.pid);
            const r = await h2Upload(session, storePath('big-up.bin'), gen);
            const grown = growth();
            console.log(`h2: upload ${BIG / MiB} MiB status=${r.status}${r.err ? ` (${r.err.code})` : ''} in ${r.ms} ms (${mbps(BIG, r.ms)} MiB/s), sasgw peak RSS +${grown.toFixed(1)} MiB`);
            assert.ok(r.status === 201 || r.status === 204 || r.status === 200,
                `upload answered ${r.status ?? 'nothing'} after ${r.ms} ms (${r.body.slice(0, 300)}${r.err ? `, ${r.err.message}` : ''}); peak RSS +${grown.toFixed(1)} MiB`);
            assert.equal(await fileSha256(path.join(store.root, STORE, 'data', 'big-up.bin')), gen.sha256, 'the origin stored what was sent');
            assert.ok(grown < PEAK_LIMIT_MIB, `sasgw's peak RSS grew by ${grown.toFixed(1)} MiB during a ${BIG / MiB} MiB h2 upload (limit ${PEAK_LIMIT_MIB})`);
        } finally {
            session.destroy();
        }
    });

    test(`a ${BIG / MiB} MiB download over h2 (TLS): SHA-256 checked at the client, sasgw's peak RSS grows < ${PEAK_LIMIT_MIB} MiB`, async () => {
        const file = path.join(store.root, STORE, 'data', 'big-down.bin');
        const out = createWriteStream(file);
        await pump(gen, out);
        await new Promise((resolve) => out.end(resolve));
        const session = await h2Connect(sasgw.tlsUrl);
        try {
            const growth = peakGrowth(sasgw.pid);
            const r = await h2Download(session, storePath('big-down.bin'));
            const grown = growth();
            console.log(`h2: download ${BIG / MiB} MiB status=${r.status} in ${r.ms} ms (${mbps(r.bytes, r.ms)} MiB/s), sasgw peak RSS +${grown.toFixed(1)} MiB`);
            assert.equal(r.status, 200);
            assert.equal(r.bytes, BIG, 'bytes received');
            assert.equal(r.sha256, gen.sha256, 'the client received what the origin holds');
            assert.ok(grown < PEAK_LIMIT_MIB, `sasgw's peak RSS grew by ${grown.toFixed(1)} MiB during a ${BIG / MiB} MiB h2 download (limit ${PEAK_LIMIT_MIB})`);
        } finally {
            session.destroy();
        }
    });

    test('a slow reader (~1 MiB/s for 4 s): sasgw\'s memory stays bounded, other streams and clients are served meanwhile', async () => {
        const file = path.join(store.root, STORE, 'data', 'slow.bin');
        const out = createWriteStream(file);
        await pump(generated(256 * MiB, BASE), out);
        await new Promise((resolve) => out.end(resolve));
        /* a small window: what the client does not read stays with the sender */
        const session = await h2Connect(sasgw.tlsUrl, { settings: { initialWindowSize: 65535 } });
        const other = await h2Connect(sasgw.proxyUrl);
        try {
            const growth = peakGrowth(sasgw.pid);
            const rss0 = rssKiB(sasgw.pid);
            let rssMax = rss0;
            const sampler = setInterval(() => (rssMax = Math.max(rssMax, rssKiB(sasgw.pid))), 50);
            const stream = session.request({ ':method': 'GET', ':path': storePath('slow.bin') }, { endStream: true });
            stream.on('error', () => {});
            const status = await new Promise((resolve, reject) => {
                stream.once('response', (h) => resolve(h[':status']));
                stream.once('error', reject);
            });
            let got = 0;
            const served = [];
            const t0 = Date.now();
            while (Date.now() - t0 < 4000) {
                /* ~100 KiB each 100 ms */
                let quota = 100 * 1024;
                let c;
                while (quota > 0 && (c = stream.read()) !== null) {
                    got += c.length;
                    quota -= c.length;
                }
                if (served.length < 8 && (Date.now() - t0) > served.length * 450) {
                    const same = await h2Request(session, { path: storePath('small.bin'), timeoutMs: 3000 });
                    const another = await h2Request(other, { path: azPath('small.txt', azSas('small.txt', 'r')), timeoutMs: 3000 });
                    served.push([same.status, same.ms, another.status, another.ms]);
                }
                await new Promise((r) => setTimeout(r, 100));
            }
            clearInterval(sampler);
            const grown = growth();
            stream.close(http2.constants.NGHTTP2_CANCEL);
            console.log(`h2: slow reader read ${(got / MiB).toFixed(1)} MiB in 4 s; sasgw peak RSS +${grown.toFixed(1)} MiB, `
                + `RSS max +${((rssMax - rss0) / 1024).toFixed(1)} MiB; others: ${JSON.stringify(served)}`);
            assert.equal(status, 200);
            assert.ok(got < 16 * MiB, `the slow reader got ${(got / MiB).toFixed(1)} MiB: not slow (the client buffered?)`);
            assert.ok(got > 256 * 1024, `the slow reader got only ${got} bytes in 4 s`);
            assert.ok(served.length >= 4, `only ${served.length} side requests done`);
            for (const [s1, ms1, s2, ms2] of served) {
                assert.equal(s1, 200, 'another stream on the slow reader\'s connection');
                assert.equal(s2, 200, 'another client');
                assert.ok(ms1 < 2000 && ms2 < 2000, `side requests took ${ms1} / ${ms2} ms`);
            }
            assert.ok(grown < PEAK_LIMIT_MIB, `sasgw's peak RSS grew by ${grown.toFixed(1)} MiB behind a slow reader of a 256 MiB object (limit ${PEAK_LIMIT_MIB})`);
        } finally {
            session.destroy();
            other.destroy();
        }
    });

    test(`a forged ${BIG / MiB} MiB upload: the 403 arrives having sent at most the initial windows, sasgw's memory does not grow`, async () => {
        for (const [what, url] of [['TLS', sasgw.tlsUrl], ['h2c', sasgw.proxyUrl]]) {
            /* our own socket, so its byte count survives the session */
            const sock = what === 'TLS'
                ? tls.connect({ host: '127.0.0.1', port: sasgw.tlsPort, ALPNProtocols: ['h2'], rejectUnauthorized: false })
                : net.connect(sasgw.proxyPort, '127.0.0.1');
            sock.on('error', () => {});
            const session = await h2Connect(url, { createConnection: () => sock });
            try {
                const growth = peakGrowth(sasgw.pid);
                const t0 = Date.now();
                const stream = session.request({ ':method': 'PUT', ':path': storePath('refused.bin', forged(originSas(STORE, 'refused.bin'))),
                    'content-length': String(BIG) });
                stream.on('error', () => {});
                let head = null, sentAtAnswer = -1, stop = false;
                const chunks = [];
                const base = sock.bytesWritten;
                stream.on('response', (h) => {
                    head = h;
                    sentAtAnswer = sock.bytesWritten - base;
                });
                stream.on('data', (c) => chunks.push(c));
                const ended = new Promise((resolve) => {
                    stream.on('close', resolve);
                    stream.on('end', resolve);
                });
                const pumping = pump(generated(BIG, BASE), stream, { stop: () => stop });
                const timeout = new Promise((resolve) => setTimeout(resolve, 15000, 'timeout'));
                await Promise.race([ended, timeout]);
                const closedAt = Date.now();
                const rstAtEnd = stream.rstCode; /* before our own CANCEL below */
                /* keep offering the body for a while: the server must not open the window for it */
                await new Promise((r) => setTimeout(r, 1000));
                const sentTotal = sock.bytesWritten - base;
                stop = true;
                stream.close(http2.constants.NGHTTP2_CANCEL);
                await pumping;
                const grown = growth();
                console.log(`h2: forged upload (${what}) status=${head?.[':status']} after ${Date.now() - t0} ms; client had sent `
                    + `${sentAtAnswer < 0 ? 'no answer' : `${(sentAtAnswer / MiB).toFixed(2)} MiB at the answer`}, ${(sentTotal / MiB).toFixed(2)} MiB in all; sasgw peak RSS +${grown.toFixed(1)} MiB`);
                assert.ok(head, `no answer: the stream ${rstAtEnd !== undefined ? `was reset (code ${rstAtEnd})` : 'stayed open'} after `
                    + `${closedAt - t0} ms, the client having sent ${(sentTotal / MiB).toFixed(1)} MiB`);
                assertXml403(head[':status'], head, Buffer.concat(chunks).toString(), `forged upload (${what})`);
                assert.ok(sentAtAnswer <= 1.1 * MiB, `the client had sent ${(sentAtAnswer / MiB).toFixed(2)} MiB when the 403 came (at most the initial windows, ~1 MiB)`);
                assert.ok(sentTotal <= 1.1 * MiB, `the client could send ${(sentTotal / MiB).toFixed(2)} MiB of a refused body in all`);
                assert.ok(grown < 4, `sasgw's peak RSS grew by ${grown.toFixed(1)} MiB on a refused upload`);
            } finally {
                session.destroy();
            }
        }
    });
});

describe('many streams on one connection', () => {
    test('32 parallel streams of Put Block, then Put Block List: the blob holds the blocks in order', async () => {
        const session = await h2Connect(sasgw.tlsUrl);
        try {
            const blob = 'blocks.bin';
            const sas = azSas(blob);
            const blocks = Array.from({ length: 32 }, (_, i) => ({ id: Buffer.from(`block-${String(i).padStart(4, '0')}`).toString('base64'),
                data: randomBytes(256 * 1024 + i * 1000) }));
            const growth = peakGrowth(sasgw.pid);
            const t0 = Date.now();
            const results = await Promise.all(blocks.map((b) => h2Request(session, {
                method: 'PUT', path: `/${DEV_ACCOUNT}/h2box/${blob}?comp=block&blockid=${encodeURIComponent(b.id)}&${sas}`, body: b.data, timeoutMs: 60000,
            })));
            const ms = Date.now() - t0;
            const grown = growth();
            console.log(`h2: 32 parallel Put Block (${(blocks.reduce((n, b) => n + b.data.length, 0) / MiB).toFixed(1)} MiB) in ${ms} ms, sasgw peak RSS +${grown.toFixed(1)} MiB`);
            assert.deepEqual(results.map((r) => r.status), blocks.map(() => 201), results.map((r) => r.body.toString().slice(0, 200)).join('\n'));
            const list = `<?xml version="1.0" encoding="utf-8"?><BlockList>${blocks.map((b) => `<Latest>${b.id}</Latest>`).join('')}</BlockList>`;
            const commit = await h2Request(session, { method: 'PUT', path: `/${DEV_ACCOUNT}/h2box/${blob}?comp=blocklist&${sas}`, body: list });
            assert.equal(commit.status, 201, commit.body.toString());
            const got = await h2Request(session, { path: azPath(blob, azSas(blob, 'r')), timeoutMs: 30000 });
            assert.equal(got.status, 200);
            const want = Buffer.concat(blocks.map((b) => b.data));
            assert.equal(got.body.length, want.length);
            assert.equal(createHash('sha256').update(got.body).digest('hex'), createHash('sha256').update(want).digest('hex'));
        } finally {
            session.destroy();
        }
    });
});

/*
 * While attack() runs, another client GETs a small object every 100 ms on a
 * connection of its own; resolves to {latencies, statuses, attack's value}.
 */
async function underAttack(attack) {
    const victim = await h2Connect(sasgw.tlsUrl);
    const p = storePath('small.bin', originSas(STORE, 'small.bin', 'r'));
    const lat = [], statuses = [], errors = [];
    let running = true;
    const loop = (async () => {
        while (running) {
            try {
                const r = await h2Request(victim, { path: p, timeoutMs: 5000 });
                lat.push(r.ms);
                statuses.push(r.status);
            } catch (err) {
                errors.push(err.message);
                if (victim.destroyed)
                    break;
            }
            await new Promise((r) => setTimeout(r, 100));
        }
    })();
    let value;
    try {
        value = await attack();
        await new Promise((r) => setTimeout(r, 300));
    } finally {
        running = false;
        await loop;
        victim.destroy();
    }
    /* and afterwards a fresh client too */
    const fresh = await h2Connect(sasgw.proxyUrl);
    const last = await h2Request(fresh, { path: p, timeoutMs: 5000 }).finally(() => fresh.destroy());
    return { lat, statuses, errors, value, last };
}

function assertServedThroughout(r, what) {
    const sorted = [...r.lat].sort((a, b) => a - b);
    const max = sorted[sorted.length - 1];
    const p50 = sorted[Math.floor(sorted.length / 2)];
    console.log(`h2: ${what}: other client served ${r.statuses.length} GETs during the attack, p50 ${p50} ms, max ${max} ms, errors ${r.errors.length}`);
    assert.equal(sasgw.exited, null, `sasgw exited: ${JSON.stringify(sasgw.exited)}\n${sasgw.log.slice(-3000)}`);
    assert.deepEqual(r.errors, [], `${what}: the other client's requests failed`);
    assert.ok(r.statuses.length >= 3, `${what}: the other client got only ${r.statuses.length} answers during the attack`);
    assert.ok(r.statuses.every((s) => s === 200), `${what}: other client statuses ${r.statuses}`);
    assert.ok(max < 3000, `${what}: a GET took ${max} ms during the attack`);
    assert.equal(r.last.status, 200, `${what}: a fresh client after the attack`);
}

/* Resolves once the raw connection got GOAWAY or closed, or after ms. */
const closedOrGoaway = (c, ms) => waitFor(() => c.closed || c.goaway, { what: 'GOAWAY or close', timeoutMs: ms }).catch(() => false);

describe('h2 hygiene: the attacker is cut off, others are served', () => {
    for (const useTls of [true, false]) {
        test(`rapid reset: 20000 HEADERS+RST_STREAM pairs (${useTls ? 'TLS' : 'h2c'})`, async () => {
            const target = storePath('small.bin', originSas(STORE, 'small.bin', 'r'));
            const block = requestBlock('GET', target, '127.0.0.1', useTls ? 'https' : 'http');
            const r = await underAttack(async () => {
                const c = await rawH2(useTls ? sasgw.tlsPort : sasgw.proxyPort, { tls: useTls });
                let sent = 0;
                const t0 = Date.now();
                try {
                    for (let id = 1; sent < 20000 && !c.closed && !c.goaway; id += 2 * 100) {
                        const batch = [];
                        for (let k = 0; k < 100; k++, sent++)
                            batch.push(frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, id + 2 * k, block), rstFrame(id + 2 * k));
                        await c.write(Buffer.concat(batch));
                    }
                } catch {
                    /* closed by the server */
                }
                const cut = await closedOrGoaway(c, 3000);
                c.close();
                return { sent, cut: Boolean(cut), goaway: c.goaway, closed: c.closed, responses: c.headersOn.size, ms: Date.now() - t0 };
            });
            console.log(`h2: rapid reset: sent ${r.value.sent} pairs in ${r.value.ms} ms, goaway=${JSON.stringify(r.value.goaway)} closed=${r.value.closed}, `
                + `${r.value.responses} responses started`);
            assertServedThroughout(r, 'rapid reset');
            assert.ok(r.value.cut, `the rapid-reset connection was neither closed nor sent GOAWAY after ${r.value.sent} HEADERS+RST_STREAM pairs`);
        });
    }

    test('CONTINUATION flood: a header block that never ends', async () => {
        const r = await underAttack(async () => {
            const c = await rawH2(sasgw.proxyPort);
            const filler = hpack([['x-filler', 'a'.repeat(4000)]]);
            let sent = 0;
            try {
                await c.write(frame(FRAME.HEADERS, 0, 1, requestBlock('GET', storePath('small.bin'))));
                while (!c.closed && !c.goaway && sent < 64 * MiB) {
                    const batch = [];
                    for (let k = 0; k < 64; k++)
                        batch.push(frame(FRAME.CONTINUATION, 0, 1, filler));
                    const b = Buffer.concat(batch);
                    await c.write(b);
                    sent += b.length;
                }
            } catch {
                /* closed by the server */
            }
            const cut = await closedOrGoaway(c, 3000);
            c.close();
            return { sent, cut: Boolean(cut), goaway: c.goaway, closed: c.closed };
        });
        console.log(`h2: CONTINUATION flood: ${(r.value.sent / MiB).toFixed(2)} MiB of CONTINUATION sent, goaway=${JSON.stringify(r.value.goaway)} closed=${r.value.closed}`);
        assertServedThroughout(r, 'CONTINUATION flood');
        assert.ok(r.value.cut, `the CONTINUATION flood went on for ${(r.value.sent / MiB).toFixed(1)} MiB without GOAWAY or close`);
        assert.ok(r.value.sent < 4 * MiB, `the server took ${(r.value.sent / MiB).toFixed(1)} MiB of one header block before cutting it off`);
    });

    for (const [what, make] of [['SETTINGS', () => settingsFrame([[3, 100]])], ['PING', (i) => pingFrame(i)]]) {
        test(`${what} flood: up to 1,000,000 frames, the attacker reading nothing`, async () => {
            const FRAMES = 1000000, BATCH = 5000;
            const growth = peakGrowth(sasgw.pid);
            const r = await underAttack(async () => {
                const c = await rawH2(sasgw.tlsPort, { tls: true, readPaused: true });
                let sent = 0, stalled = false;
                const t0 = Date.now();
                try {
                    while (sent < FRAMES && !c.closed && Date.now() - t0 < 5000) {
                        const batch = [];
                        for (let k = 0; k < BATCH; k++)
                            batch.push(make(sent + k));
                        const wrote = c.write(Buffer.concat(batch));
                        wrote.catch(() => {});
                        const res = await Promise.race([wrote.then(() => 'ok'), new Promise((resolve) => setTimeout(resolve, 2000, 'stalled'))]);
                        if (res === 'stalled') {
                            stalled = true;
                            break;
                        }
                        sent += BATCH;
                    }
                } catch {
                    /* closed by the server */
                }
                c.sock.resume();
                const cut = await closedOrGoaway(c, 3000);
                c.close();
                return { sent, stalled, cut: Boolean(cut), goaway: c.goaway, closed: c.closed, ms: Date.now() - t0 };
            });
            const grown = growth();
            console.log(`h2: ${what} flood: ${r.value.sent} frames in ${r.value.ms} ms, server stopped reading=${r.value.stalled}, `
                + `goaway=${JSON.stringify(r.value.goaway)} closed=${r.value.closed}, sasgw peak RSS +${grown.toFixed(1)} MiB`);
            assertServedThroughout(r, `${what} flood`);
            /* cut off, or limited: the server stopped reading a client that does not read its answers */
            assert.ok(r.value.cut || r.value.stalled,
                `the ${what} flood (${r.value.sent} frames, no reads) got neither GOAWAY nor close, and the server kept reading`);
            assert.ok(grown < PEAK_LIMIT_MIB, `sasgw's peak RSS grew by ${grown.toFixed(1)} MiB under a ${what} flood`);
        });
    }
});

describe('request semantics over h2', () => {
    test('Expect: 100-continue: valid -> 100, then the body is forwarded; forged -> 403 and no 100', async () => {
        const session = await h2Connect(sasgw.tlsUrl);
        try {
            for (const valid of [true, false]) {
                const blob = `expect-${valid}.bin`;
                const sas = originSas(REC, blob);
                const body = randomBytes(100000);
                const stream = session.request({ ':method': 'PUT', ':path': `/${REC}/data/${blob}?${valid ? sas : forged(sas)}`,
                    'content-length': String(body.length), expect: '100-continue' });
                let cont = false, head = null;
                const chunks = [];
                stream.on('continue', () => {
                    cont = true;
                    stream.end(body);
                });
                stream.on('response', (h) => (head = h));
                stream.on('data', (c) => chunks.push(c));
                await new Promise((resolve, reject) => {
                    const timer = setTimeout(() => reject(new Error(`expect (valid SAS: ${valid}): no answer in 5 s (100 Continue seen: ${cont})`)), 5000);
                    stream.on('close', () => {
                        clearTimeout(timer);
                        resolve();
                    });
                    stream.on('error', (e) => (head ? resolve() : reject(e)));
                });
                if (valid) {
                    assert.ok(cont, 'a 100 Continue came before the body');
                    assert.equal(head?.[':status'], 200, Buffer.concat(chunks).toString());
                    const r = rec.find(blob);
                    assert.equal(r?.bytes, body.length, 'the origin got the body');
                    assert.equal(r.sha256, createHash('sha256').update(body).digest('hex'));
                    assert.equal(r.expect, undefined, 'Expect is not forwarded');
                } else {
                    assert.equal(cont, false, 'no 100 Continue for a forged SAS');
                    assertXml403(head?.[':status'], head ?? {}, Buffer.concat(chunks).toString(), 'forged expect');
                    assert.equal(rec.find(blob), undefined, 'nothing reached the origin');
                }
            }
        } finally {
            session.destroy();
        }
    });

    test('revocation: a SAS revoked in Redis is refused on an h2 connection already open (403 XML, "revoked")', async () => {
        const session = await h2Connect(sasgw.tlsUrl);
        try {
            const sas = originSas(STORE, 'small.bin', 'r');
            let r = await h2Request(session, { path: storePath('small.bin', sas) });
            assert.equal(r.status, 200, r.body.toString());
            const expiry = Math.floor(new Date(new URLSearchParams(sas).get('se')).getTime() / 1000);
            await revokeInRedis(redis.port, tokenIdOfQuery(sas), expiry);
            await waitFor(async () => (r = await h2Request(session, { path: storePath('small.bin', sas) })).status !== 200,
                { what: 'the revoked SAS refused', timeoutMs: 5000, intervalMs: 20 });
            assertXml403(r.status, r.headers, r.body.toString(), 'revoked SAS');
            assert.match(r.body.toString(), /revoked/);
        } finally {
            session.destroy();
        }
    });

    test('RST_STREAM mid-upload closes the upstream connection', async () => {
        const session = await h2Connect(sasgw.tlsUrl);
        try {
            const blob = 'aborted.bin';
            const stream = session.request({ ':method': 'PUT', ':path': `/${REC}/data/${blob}?${originSas(REC, blob)}`,
                'content-length': String(64 * MiB) });
            stream.on('error', () => {});
            let stop = false;
            const pumping = pump(generated(64 * MiB, BASE), stream, { stop: () => stop });
            /* the origin sees the body arrive while the client is still sending */
            const reached = await waitFor(() => (rec.find(blob)?.bytes ?? 0) >= 2 * MiB, { what: 'the upload streaming to the origin', timeoutMs: 5000 })
                .then(() => true, () => false);
            stop = true;
            const at = rec.find(blob)?.bytes ?? 0;
            stream.close(http2.constants.NGHTTP2_CANCEL);
            await pumping;
            assert.ok(reached, `the origin got ${(at / MiB).toFixed(2)} MiB of a 64 MiB h2 upload in 5 s: not streamed`);
            const t0 = Date.now();
            const closed = await waitFor(() => rec.find(blob).closed, { what: 'upstream closed', timeoutMs: 5000 }).then(() => true, () => false);
            const r = rec.find(blob);
            console.log(`h2: RST_STREAM after ${(at / MiB).toFixed(1)} MiB: upstream closed=${closed} after ${Date.now() - t0} ms, origin got ${(r.bytes / MiB).toFixed(1)} MiB, ended=${r.ended}`);
            assert.ok(closed, 'the upstream connection stayed open after the client reset its stream');
            assert.equal(r.ended, false, 'the origin must not see a complete body');
        } finally {
            session.destroy();
        }
    });
});
