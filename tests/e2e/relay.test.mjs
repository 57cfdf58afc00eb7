// relay.test.mjs - sasgw's streaming HTTP/1.1 proxy path (gateway/proxy/relay.c) on
// the proxy listeners, observed from both ends: raw sockets and node's http
// client in front, small node origins (origin-mode accounts) or Azurite with
// the official SDK behind.
//
//   streaming      a 1 GiB PUT reaches the origin while the client is still
//                  sending; sasgw's peak RSS (VmHWM) stays flat
//   framing        chunked and Content-Length bodies forwarded as such; CL+TE,
//                  TE gzip, bad Content-Length, a 70 KiB head, absolute-form
//                  targets and unknown Expect refused (and the connection
//                  closed where the framing is broken)
//   100-continue   sasgw answers 100 itself after validation, never forwards
//                  Expect; a refused Expect gets the 403 at once and no 100
//   refusals       a refused PUT's 403 leaves before its body; the body is
//                  discarded and the connection kept (up to 4 MiB)
//   pipelining     responses in order, local refusals included
//   upstream       keep-alive pool (fewer backend connections than requests),
//                  a pooled connection the backend closed is not used, a GET
//                  that fails on a reused connection is retried once (a PUT
//                  is not), hop-by-hop headers dropped, X-Forwarded-*, SAS
//                  stripped; HEAD, chunked responses and HTTP/1.0 framed right
//   failures       502 BadGateway / 504 GatewayTimeout as Azure XML; a client
//                  leaving mid-upload aborts the upstream request at once
//   TLS / HTTP/2   the SDK over TLS (HTTP/1.1) against Azurite; curl over h2c
//                  prior knowledge and h2 (TLS) still served by h2o
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';

import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';

import {
    DEV_ACCOUNT, DEV_KEY, SOURCE_DIR, freePort, startAzurite, startRedis, stopAll, waitFor,
} from './lib/stack.mjs';
import { azureCode, sdkSas, startProxySasgw } from './lib/proxy-helpers.mjs';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const ORIGIN_KEY = randomBytes(64).toString('base64');
const ORIGIN = 'originacct'; /* origin mode -> the recording origin */
const KA = 'kaacct'; /* origin mode -> an origin whose connections the keep-alive test counts and closes */
const STALL = 'stallacct'; /* origin mode -> a raw TCP origin: never answers (or close-delimited / garbage answers) */
const DEAD = 'deadacct'; /* origin mode -> a port nothing listens on */
const UPSTREAM_TIMEOUT = 2; /* seconds */

let redis, azurite, origin, kaOrigin, stall, deadPort, sasgw, direct, tmp;

/* ---- servers ------------------------------------------------------------- */

/* 1 MiB number i of a generated stream: a fixed random MiB with i stamped at both ends. */
const BIG_BASE = randomBytes(MiB);
function bigChunk(i) {
    const c = Buffer.allocUnsafe(MiB);
    BIG_BASE.copy(c);
    c.writeUInt32BE(i, 0);
    c.writeUInt32BE(i ^ 0x5a5a5a5a, MiB - 4);
    return c;
}

/*
 * A recording origin: every request becomes a record {method, url, headers,
 * conn (connection number), bytes, sha256, firstByteAt, ended, complete,
 * aborted, closedAt}; answers 200 "origin:<url>" once the body ended. URLs
 * containing "slow" are answered after 300 ms, "chunked-resp" with a chunked
 * body, and "drop-once" the first time they arrive on a connection that
 * served an earlier request by closing that connection without an answer.
 * .connections counts accepted TCP connections.
 */
async function startRecordingOrigin() {
    const o = { requests: [], connections: 0, sockets: new Set() };
    const connInfo = new WeakMap();
    const dropped = new Set();
    const server = http.createServer((req, res) => {
        const info = connInfo.get(req.socket);
        const rec = {
            method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders, conn: info.id, bytes: 0,
            firstByteAt: null, ended: false, complete: false, aborted: false, closedAt: null, sha256: null, dropped: false,
        };
        const hash = createHash('sha256');
        o.requests.push(rec);
        if (/drop-once/.test(req.url) && info.served > 0 && !dropped.has(req.url)) {
            dropped.add(req.url);
            rec.dropped = true;
            req.socket.destroy();
            return;
        }
        info.served++;
        req.on('data', (c) => {
            rec.firstByteAt ??= Date.now();
            rec.bytes += c.length;
            hash.update(c);
        });
        req.on('aborted', () => (rec.aborted = true));
        req.on('close', () => {
            rec.closedAt = Date.now();
            rec.complete = req.complete;
        });
        req.on('end', () => {
            rec.ended = true;
            rec.sha256 = hash.digest('hex');
            setTimeout(() => {
                const body = `origin:${req.url}`;
                const big = /big-resp-(\d+)/.exec(req.url);
                if (big) {
                    /* N MiB of bigChunk(i), streamed with backpressure */
                    const n = Number(big[1]);
                    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(n * MiB) });
                    let i = 0;
                    const pump = () => {
                        while (i < n) {
                            if (!res.write(bigChunk(i++)))
                                return void res.once('drain', pump);
                        }
                        res.end();
                    };
                    pump();
                    return;
                }
                if (/chunked-resp/.test(req.url)) {
                    res.writeHead(200, { 'content-type': 'text/plain' }); /* no length: chunked */
                    res.write(body.slice(0, 5));
                    setTimeout(() => res.end(body.slice(5)), 50);
                    return;
                }
                res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
                res.end(body);
            }, /slow/.test(req.url) ? 300 : 0);
        });
    });
    server.on('connection', (s) => {
        o.connections++;
        connInfo.set(s, { id: o.connections, served: 0 });
        o.sockets.add(s);
        s.on('close', () => o.sockets.delete(s));
    });
    o.port = await freePort();
    await new Promise((resolve, reject) => server.listen({ host: '127.0.0.1', port: o.port }, resolve).on('error', reject));
    o.closeIdle = () => server.closeIdleConnections();
    o.close = () => new Promise((resolve) => {
        for (const s of o.sockets)
            s.destroy();
        server.close(() => resolve());
    });
    return o;
}

/*
 * A raw TCP origin. A request whose line contains "close-delimited" gets a
 * 200 whose body runs until the connection closes, "garbage" a response that
 * is not HTTP; anything else is read and never answered.
 */
async function startStall() {
    const sockets = new Set();
    const server = net.createServer((s) => {
        sockets.add(s);
        let head = '';
        s.on('data', (d) => {
            if (head === null)
                return;
            head += d.toString('latin1');
            if (!head.includes('\r\n\r\n'))
                return;
            const line = head.slice(0, head.indexOf('\r\n'));
            head = null;
            if (/close-delimited/.test(line)) {
                s.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nuntil-');
                setTimeout(() => s.end('close'), 50);
            } else if (/garbage/.test(line)) {
                s.end('SMTP ready\r\n\r\n');
            }
        });
        s.on('error', () => {});
        s.on('close', () => sockets.delete(s));
    });
    const port = await freePort();
    await new Promise((resolve, reject) => server.listen({ host: '127.0.0.1', port }, resolve).on('error', reject));
    return {
        port,
        close: () => new Promise((resolve) => {
            for (const s of sockets)
                s.destroy();
            server.close(() => resolve());
        }),
    };
}


/* ---- clients ------------------------------------------------------------- */

/*
 * A raw client connection: write bytes, read whole HTTP/1.x responses
 * (Content-Length, chunked, or until close; 1xx as their own response), and
 * see whether the server closed the connection.
 */
class RawConn {
    constructor(sock) {
        this.sock = sock;
        this.buf = Buffer.alloc(0);
        this.all = Buffer.alloc(0); /* every byte received */
        this.ended = false;
        this.error = null;
        this.waiters = [];
        sock.on('data', (d) => {
            this.buf = Buffer.concat([this.buf, d]);
            this.all = Buffer.concat([this.all, d]);
            this.wake();
        });
        const end = () => {
            this.ended = true;
            this.wake();
        };
        sock.on('end', end);
        sock.on('close', end);
        sock.on('error', (e) => {
            this.error = e;
            end();
        });
    }

    static open(port, { tlsOptions } = {}) {
        return new Promise((resolve, reject) => {
            const sock = tlsOptions ? tls.connect({ host: '127.0.0.1', port, ...tlsOptions }) : net.connect({ host: '127.0.0.1', port });
            const timer = setTimeout(() => sock.destroy(new Error('connect timed out')), 5000);
            sock.once(tlsOptions ? 'secureConnect' : 'connect', () => {
                clearTimeout(timer);
                resolve(new RawConn(sock));
            });
            sock.once('error', (e) => {
                clearTimeout(timer);
                reject(e);
            });
        });
    }

    wake() {
        const w = this.waiters;
        this.waiters = [];
        for (const f of w)
            f();
    }

    /* Resolves once something happened (data, close) or the deadline passed. */
    next(deadline) {
        return new Promise((resolve) => {
            const t = setTimeout(resolve, Math.max(0, deadline - Date.now()));
            this.waiters.push(() => {
                clearTimeout(t);
                resolve();
            });
        });
    }

    /* Waits until pred() returns something other than undefined; throws on timeout or (unless atEnd) close. */
    async need(pred, deadline, what) {
        for (;;) {
            const r = pred();
            if (r !== undefined)
                return r;
            if (this.ended)
                throw new Error(`${what}: connection closed (${this.error?.code ?? 'EOF'}); unparsed: ${JSON.stringify(this.buf.toString('latin1', 0, 400))}`);
            if (Date.now() >= deadline)
                throw new Error(`${what}: nothing within the time limit; unparsed: ${JSON.stringify(this.buf.toString('latin1', 0, 400))}`);
            await this.next(deadline);
        }
    }

    write(data) {
        return new Promise((resolve) => this.sock.write(data, () => resolve()));
    }

    /* The next response: {status, headers (lower-case names), body (utf8), head}. */
    async response({ timeoutMs = 5000, method = 'GET' } = {}) {
        const deadline = Date.now() + timeoutMs;
        const headEnd = await this.need(() => {
            const i = this.buf.indexOf('\r\n\r\n');
            return i >= 0 ? i : undefined;
        }, deadline, 'response head');
        const head = this.buf.toString('latin1', 0, headEnd);
        const [statusLine, ...lines] = head.split('\r\n');
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
        if (!m)
            throw new Error(`not an HTTP/1.x status line: ${JSON.stringify(statusLine)}`);
        const status = Number(m[1]);
        const headers = {};
        for (const l of lines) {
            const c = l.indexOf(':');
            const k = l.slice(0, c).trim().toLowerCase();
            const v = l.slice(c + 1).trim();
            headers[k] = headers[k] !== undefined ? `${headers[k]}, ${v}` : v;
        }
        let p = headEnd + 4;
        let body = Buffer.alloc(0);
        if ((status >= 100 && status < 200) || status === 204 || status === 304 || method === 'HEAD') {
            /* no body */
        } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
            const parts = [];
            for (;;) {
                const eol = await this.need(() => {
                    const i = this.buf.indexOf('\r\n', p);
                    return i >= 0 ? i : undefined;
                }, deadline, 'chunk size');
                const size = parseInt(this.buf.toString('latin1', p, eol), 16);
                p = eol + 2;
                if (size === 0) {
                    /* trailers, up to an empty line */
                    for (;;) {
                        const e = await this.need(() => {
                            const i = this.buf.indexOf('\r\n', p);
                            return i >= 0 ? i : undefined;
                        }, deadline, 'trailer');
                        const empty = e === p;
                        p = e + 2;
                        if (empty)
                            break;
                    }
                    break;
                }
                await this.need(() => (this.buf.length >= p + size + 2 ? true : undefined), deadline, 'chunk data');
                parts.push(this.buf.subarray(p, p + size));
                p += size + 2;
            }
            body = Buffer.concat(parts);
        } else if (headers['content-length'] !== undefined) {
            const n = Number(headers['content-length']);
            await this.need(() => (this.buf.length >= p + n ? true : undefined), deadline, `body of ${n} bytes`);
            body = this.buf.subarray(p, p + n);
            p += n;
        } else {
            while (!this.ended) {
                if (Date.now() >= deadline)
                    throw new Error('body until close: timed out');
                await this.next(deadline);
            }
            body = this.buf.subarray(p);
            p = this.buf.length;
        }
        this.buf = this.buf.subarray(p);
        return { status, headers, body: Buffer.from(body).toString('utf8'), head };
    }

    /* Resolves to true once the server closed the connection (FIN or RST), false if not within timeoutMs. */
    async closed(timeoutMs = 3000) {
        const deadline = Date.now() + timeoutMs;
        while (!this.ended && Date.now() < deadline)
            await this.next(deadline);
        return this.ended;
    }

    destroy() {
        this.sock.destroy();
    }
}

/* One request with node's http client: {status, headers, body}. */
function request(url, { method = 'GET', headers = {}, body, agent = false, timeoutMs = 15000, ca } = {}) {
    const mod = url.startsWith('https:') ? https : http;
    return new Promise((resolve, reject) => {
        const req = mod.request(url, { method, headers, agent, timeout: timeoutMs, ...(ca ? { ca } : {}) }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
            res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
        req.on('error', reject);
        if (body !== undefined)
            req.write(body);
        req.end();
    });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* A SAS for an origin-mode account (all permissions), and one with a forged signature. */
const originSas = (account, blob, container = 'data') =>
    sdkSas({ account, key: ORIGIN_KEY, container, blob, permissions: 'rcwd' });
const forged = (sas) => sas.replace(/sig=[^&]+/, `sig=${encodeURIComponent(randomBytes(32).toString('base64'))}`);
const target = (account, blob, sas, container = 'data') => `/${account}/${container}/${blob}?${sas}`;

/* A memory figure of a process from /proc/PID/status, in bytes: VmHWM (peak resident set), VmRSS. */
function procMem(pid, field = 'VmHWM') {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    assert.ok(m, `no ${field} in /proc/${pid}/status`);
    return Number(m[1]) * 1024;
}

function assertAzureError(res, status, code, what) {
    assert.equal(res.status, status, `${what}: status (body ${res.body})`);
    assert.equal(res.headers['x-ms-error-code'], code, `${what}: x-ms-error-code`);
    assert.match(res.headers['content-type'] ?? '', /application\/xml/, `${what}: content-type`);
    assert.match(res.body, /^\s*<\?xml[^>]*\?>\s*<Error>\s*<Code>[^<]+<\/Code>\s*<Message>[^<]*<\/Message>/, `${what}: XML body ${res.body}`);
    assert.equal(azureCode(res.body), code, `${what}: <Code>`);
}

/* ---- the stack ----------------------------------------------------------- */

before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), `sasgw-e2e-${process.pid}-relaytls-`));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(tmp, 'key.pem'),
        '-out', path.join(tmp, 'cert.pem'), '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
    { stdio: 'ignore' });
    [redis, azurite] = await Promise.all([startRedis(), startAzurite()]);
    origin = await startRecordingOrigin();
    kaOrigin = await startRecordingOrigin();
    stall = await startStall();
    deadPort = await freePort();
    sasgw = await startProxySasgw({
        redisPort: redis.port,
        upstreamTimeout: UPSTREAM_TIMEOUT,
        http2: true, /* the HTTP/2 tests below */
        tls: { certFile: path.join(tmp, 'cert.pem'), keyFile: path.join(tmp, 'key.pem') },
        accounts: [
            { name: DEV_ACCOUNT, key: DEV_KEY, backend: `http://127.0.0.1:${azurite.port}`, mode: 'passthrough' },
            { name: ORIGIN, key: ORIGIN_KEY, backend: `http://127.0.0.1:${origin.port}`, mode: 'origin' },
            { name: KA, key: ORIGIN_KEY, backend: `http://127.0.0.1:${kaOrigin.port}`, mode: 'origin' },
            { name: STALL, key: ORIGIN_KEY, backend: `http://127.0.0.1:${stall.port}`, mode: 'origin' },
            { name: DEAD, key: ORIGIN_KEY, backend: `http://127.0.0.1:${deadPort}`, mode: 'origin' },
        ],
    });
    direct = new BlobServiceClient(azurite.accountUrl, new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_KEY));
    await direct.getContainerClient('tlsbox').create();
});

after(async () => {
    await sasgw?.stop();
    for (const s of [origin, kaOrigin, stall])
        await s?.close();
    await stopAll();
    if (tmp)
        rmSync(tmp, { recursive: true, force: true });
});

/* ---- tests --------------------------------------------------------------- */

describe('request bodies stream', () => {
    test('a 1 GiB PUT reaches the origin while the client is still sending; peak RSS stays flat', { timeout: 90000 }, async () => {
        const blob = `big-${Date.now()}.bin`;
        const url = `${sasgw.proxyUrl}${target(ORIGIN, blob, originSas(ORIGIN, blob))}`;
        /* warm up first (a small upload on each worker's path), so one-time per-thread setup is not counted */
        for (let i = 0; i < 4; i++) {
            const w = `warmup-${i}.bin`;
            const r = await request(`${sasgw.proxyUrl}${target(ORIGIN, w, originSas(ORIGIN, w))}`, {
                method: 'PUT', headers: { 'content-length': String(MiB) }, body: randomBytes(MiB),
            });
            assert.equal(r.status, 200, `warm-up PUT: ${r.body}`);
        }
        const hwmBefore = procMem(sasgw.pid);
        const rssBefore = procMem(sasgw.pid, 'VmRSS');
        /* VmRSS every 250 ms, for the failure message: growth that plateaus vs. growth with the upload */
        const rss = [];
        const sampler = setInterval(() => {
            try {
                rss.push(Math.round((procMem(sasgw.pid, 'VmRSS') - rssBefore) / MiB));
            } catch {
                /* gone */
            }
        }, 250);
        const sent = createHash('sha256');
        const chunkAt = bigChunk;
        const req = http.request(url, {
            method: 'PUT', agent: false, headers: { 'content-length': String(GiB), 'x-ms-blob-type': 'BlockBlob' },
        });
        /* a response (even an early refusal) wins over write errors it causes */
        let early = null;
        const response = new Promise((resolve) => {
            req.on('response', (res) => {
                const chunks = [];
                res.on('data', (c) => chunks.push(c));
                const done = () => resolve((early = { status: res.statusCode, body: Buffer.concat(chunks).toString() }));
                res.on('end', done);
                res.on('close', done);
            });
            req.on('error', (err) => setTimeout(() => resolve((early ??= { status: `error ${err.code ?? err.message}`, body: '' })), 500));
        });
        try {
            const first = chunkAt(0);
            sent.update(first);
            req.write(first);
            /* the origin sees bytes while the client still holds back the other 1023 MiB */
            const rec = await waitFor(() => origin.requests.find((r) => r.url.startsWith(`/${ORIGIN}/data/${blob}`) && r.bytes > 0), {
                what: 'origin received the first bytes of the PUT before the client sent the rest', timeoutMs: 5000,
            });
            assert.equal(rec.ended, false, 'the origin cannot have the whole body yet');
            const t0 = Date.now();
            for (let i = 1; i < GiB / MiB && early === null; i++) {
                const c = chunkAt(i);
                sent.update(c);
                if (!req.write(c))
                    await Promise.race([new Promise((resolve) => req.once('drain', resolve)), response]);
            }
            req.end();
            let timer;
            const res = await Promise.race([response, new Promise((r) => (timer = setTimeout(r, 60000, { status: 'no response within 60 s', body: '' })))]);
            clearTimeout(timer);
            const ms = Date.now() - t0;
            assert.equal(res.status, 200, `response ${res.status} ${res.body}`);
            assert.equal(res.body, `origin:/${ORIGIN}/data/${blob}`);
            assert.equal(rec.bytes, GiB, 'the origin counted exactly 1 GiB');
            assert.equal(rec.sha256, sent.digest('hex'), 'SHA-256 of what arrived');
            assert.equal(rec.headers['content-length'], String(GiB), 'forwarded with Content-Length');
            assert.equal(rec.headers['transfer-encoding'], undefined);
            clearInterval(sampler);
            const growth = procMem(sasgw.pid) - hwmBefore;
            console.log(`relay upload: 1 GiB in ${ms} ms = ${(GiB / 1e6 / (ms / 1000)).toFixed(0)} MB/s; ` +
                `sasgw VmHWM +${(growth / MiB).toFixed(1)} MiB; VmRSS growth (MiB) each second: ${rss.filter((_, i) => i % 4 === 3).join(' ')}`);
            assert.ok(growth < 32 * MiB, `sasgw VmHWM grew by ${(growth / MiB).toFixed(1)} MiB during a 1 GiB upload ` +
                `(VmRSS growth in MiB, every 250 ms: ${rss.join(' ')})`);
        } finally {
            clearInterval(sampler);
            req.destroy();
        }
    });

    test('a chunked body streams and arrives intact and chunked; a Content-Length body with content-length', async () => {
        const blob = `chunked-${Date.now()}.bin`;
        const url = `${sasgw.proxyUrl}${target(ORIGIN, blob, originSas(ORIGIN, blob))}`;
        const parts = [randomBytes(1000), randomBytes(70000), randomBytes(1), randomBytes(300000)];
        const whole = Buffer.concat(parts);
        const res = await new Promise((resolve, reject) => {
            const req = http.request(url, { method: 'PUT', agent: false, timeout: 15000, headers: { 'transfer-encoding': 'chunked' } }, (r) => {
                const chunks = [];
                r.on('data', (c) => chunks.push(c));
                r.on('end', () => resolve({ status: r.statusCode, body: Buffer.concat(chunks).toString() }));
            });
            req.on('timeout', () => req.destroy(new Error('chunked PUT timed out')));
            req.on('error', reject);
            (async () => {
                req.write(parts[0]);
                /* the first chunk reaches the origin before the client sends the others */
                const seen = await waitFor(() => origin.requests.find((r) => r.url === `/${ORIGIN}/data/${blob}` && r.bytes > 0), {
                    what: 'the origin receives the first chunk while the body is still open', timeoutMs: 5000,
                }).catch((err) => err);
                if (seen instanceof Error) {
                    req.destroy(seen);
                    return;
                }
                for (const p of parts.slice(1)) {
                    req.write(p);
                    await sleep(20);
                }
                req.end();
            })();
        });
        assert.equal(res.status, 200, res.body);
        const rec = origin.requests.findLast((r) => r.url === `/${ORIGIN}/data/${blob}`);
        assert.ok(rec, 'the origin got the PUT');
        assert.equal(rec.bytes, whole.length);
        assert.equal(rec.sha256, createHash('sha256').update(whole).digest('hex'));
        assert.equal(rec.headers['transfer-encoding'], 'chunked', 'forwarded chunked');
        assert.equal(rec.headers['content-length'], undefined, 'no content-length with chunked');

        const body = randomBytes(123457);
        const r2 = await request(`${sasgw.proxyUrl}${target(ORIGIN, 'cl.bin', originSas(ORIGIN, 'cl.bin'))}`, {
            method: 'PUT', headers: { 'content-length': String(body.length) }, body,
        });
        assert.equal(r2.status, 200, r2.body);
        const rec2 = origin.requests.findLast((r) => r.url === `/${ORIGIN}/data/cl.bin`);
        assert.equal(rec2.headers['content-length'], String(body.length));
        assert.equal(rec2.headers['transfer-encoding'], undefined);
        assert.equal(rec2.sha256, createHash('sha256').update(body).digest('hex'));
    });
});

describe('Expect: 100-continue', () => {
    test('accepted: sasgw sends 100 itself, the body follows, the origin never sees Expect', async () => {
        const blob = 'expect-ok.bin';
        const body = randomBytes(100 * 1024);
        const c = await RawConn.open(sasgw.proxyPort);
        try {
            await c.write(`PUT ${target(ORIGIN, blob, originSas(ORIGIN, blob))} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
                `Content-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`);
            const cont = await c.response({ timeoutMs: 3000 });
            assert.equal(cont.status, 100, `first response: ${cont.head}`);
            assert.match(cont.head, /^HTTP\/1\.1 100 Continue$/m);
            await c.write(body);
            const res = await c.response({ timeoutMs: 10000 });
            assert.equal(res.status, 200, res.body);
            assert.equal(res.body, `origin:/${ORIGIN}/data/${blob}`);
        } finally {
            c.destroy();
        }
        const rec = origin.requests.findLast((r) => r.url === `/${ORIGIN}/data/${blob}`);
        assert.equal(rec.bytes, body.length);
        assert.equal(rec.headers.expect, undefined, 'Expect not forwarded');
        assert.equal(rec.sha256, createHash('sha256').update(body).digest('hex'));
    });

    test('refused: the 403 at once, no 100, and the connection is closed', async () => {
        const blob = 'expect-no.bin';
        const n = origin.requests.length;
        const c = await RawConn.open(sasgw.proxyPort);
        try {
            await c.write(`PUT ${target(ORIGIN, blob, forged(originSas(ORIGIN, blob)))} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
                `Content-Length: ${MiB}\r\nExpect: 100-continue\r\n\r\n`);
            const res = await c.response({ timeoutMs: 3000 });
            assert.equal(res.status, 403, `first response: ${res.head}`);
            assert.equal(res.headers['x-ms-error-code'], 'AuthenticationFailed');
            assert.equal(azureCode(res.body), 'AuthenticationFailed');
            assert.ok(await c.closed(3000), 'connection closed after the refusal');
            assert.doesNotMatch(c.all.toString('latin1'), /HTTP\/1\.[01] 100/, 'no 100 Continue was sent');
        } finally {
            c.destroy();
        }
        assert.equal(origin.requests.length, n, 'nothing reached the origin');
    });

    test('an unknown expectation -> 417', async () => {
        const blob = 'expect-odd.bin';
        const c = await RawConn.open(sasgw.proxyPort);
        try {
            await c.write(`GET ${target(ORIGIN, blob, originSas(ORIGIN, blob))} HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 200-ok\r\n\r\n`);
            const res = await c.response({ timeoutMs: 3000 });
            assert.equal(res.status, 417, res.head);
        } finally {
            c.destroy();
        }
    });
});

describe('refused requests with bodies', () => {
    test('a refused 64 KiB PUT: 403 before the body, body discarded, the connection serves the next request', async () => {
        const blob = 'refused.bin';
        const n = origin.requests.length;
        const c = await RawConn.open(sasgw.proxyPort);
        try {
            await c.write(`PUT ${target(ORIGIN, blob, forged(originSas(ORIGIN, blob)))} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
                `Content-Length: ${64 * 1024}\r\nx-ms-blob-type: BlockBlob\r\n\r\n`);
            const res = await c.response({ timeoutMs: 3000 });
            assert.equal(res.status, 403, res.head);
            assert.equal(res.headers['x-ms-error-code'], 'AuthenticationFailed');
            assert.match(res.body, /^\s*<\?xml[^>]*\?>\s*<Error>\s*<Code>AuthenticationFailed<\/Code>/);
            await c.write(randomBytes(64 * 1024));
            const ok = 'after-refusal.txt';
            await c.write(`GET ${target(ORIGIN, ok, originSas(ORIGIN, ok))} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
            const res2 = await c.response({ timeoutMs: 5000 });
            assert.equal(res2.status, 200, `second request on the same connection: ${res2.head}\n${res2.body}`);
            assert.equal(res2.body, `origin:/${ORIGIN}/data/${ok}`);
        } finally {
            c.destroy();
        }
        assert.equal(origin.requests.length, n + 1, 'only the valid GET reached the origin');
    });

    test('a refused PUT with an 8 MiB body: 403, then the connection is closed', async () => {
        const blob = 'refused-big.bin';
        const c = await RawConn.open(sasgw.proxyPort);
        try {
            await c.write(`PUT ${target(ORIGIN, blob, forged(originSas(ORIGIN, blob)))} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
                `Content-Length: ${8 * MiB}\r\n\r\n`);
            const res = await c.response({ timeoutMs: 3000 });
            assert.equal(res.status, 403, res.head);
            c.sock.on('error', () => {}); /* the server may reset while we still send */
            for (let i = 0; i < 8 && !c.ended; i++)
                c.sock.write(randomBytes(MiB));
            assert.ok(await c.closed(5000), 'connection closed after discarding at most 4 MiB');
        } finally {
            c.destroy();
        }
    });
});

describe('framing errors on a raw socket', () => {
    const cases = [
        ['Content-Length with Transfer-Encoding', 400, (t) => `PUT ${t} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
        ['Transfer-Encoding: gzip', 501, (t) => `PUT ${t} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n`],
        ['malformed Content-Length', 400, (t) => `PUT ${t} HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n`],
        ['a 70 KiB head', 431, (t) => `GET ${t} HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70 * 1024)}\r\n\r\n`],
        ['an absolute-form target', 400, (t) => `GET http://127.0.0.1:${sasgw.proxyPort}${t} HTTP/1.1\r\nHost: x\r\n\r\n`],
    ];
    for (const [what, status, make] of cases) {
        test(`${what} -> ${status}, connection closed`, async () => {
            const blob = 'framing.bin';
            const n = origin.requests.length;
            const c = await RawConn.open(sasgw.proxyPort);
            try {
                c.sock.on('error', () => {});
                await c.write(make(target(ORIGIN, blob, originSas(ORIGIN, blob))));
                const res = await c.response({ timeoutMs: 3000 });
                assert.equal(res.status, status, `${what}: ${res.head}`);
                assert.ok(await c.closed(3000), `${what}: connection closed afterwards`);
            } finally {
                c.destroy();
            }
            assert.equal(origin.requests.length, n, `${what}: nothing reached the origin`);
        });
    }
});

test('pipelined requests are answered in order (a slow one, a refused one, a fast one)', async () => {
    const slow = 'slow-1.txt';
    const bad = 'refused-2.txt';
    const fast = 'fast-3.txt';
    const c = await RawConn.open(sasgw.proxyPort);
    try {
        await c.write(
            `GET ${target(ORIGIN, slow, originSas(ORIGIN, slow))} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n` +
            `GET ${target(ORIGIN, bad, forged(originSas(ORIGIN, bad)))} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n` +
            `GET ${target(ORIGIN, fast, originSas(ORIGIN, fast))} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
        const r1 = await c.response({ timeoutMs: 5000 });
        const r2 = await c.response({ timeoutMs: 5000 });
        const r3 = await c.response({ timeoutMs: 5000 });
        assert.deepEqual([r1.status, r2.status, r3.status], [200, 403, 200]);
        assert.equal(r1.body, `origin:/${ORIGIN}/data/${slow}`);
        assert.equal(azureCode(r2.body), 'AuthenticationFailed');
        assert.equal(r3.body, `origin:/${ORIGIN}/data/${fast}`);
        /* and the connection still serves */
        const again = 'fast-4.txt';
        await c.write(`GET ${target(ORIGIN, again, originSas(ORIGIN, again))} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
        const r4 = await c.response({ timeoutMs: 5000 });
        assert.equal(r4.body, `origin:/${ORIGIN}/data/${again}`);
    } finally {
        c.destroy();
    }
});

describe('upstream connections', () => {
    test('keep-alive: 20 sequential GETs use fewer backend connections; a connection the backend closed is not reused', async () => {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        try {
            const before = kaOrigin.connections;
            const clientSockets = new Set();
            for (let i = 0; i < 20; i++) {
                const blob = `ka-${i}.txt`;
                const res = await new Promise((resolve, reject) => {
                    const req = http.get(`${sasgw.proxyUrl}${target(KA, blob, originSas(KA, blob))}`, { agent, timeout: 10000 }, (r) => {
                        clientSockets.add(r.socket);
                        let body = '';
                        r.on('data', (d) => (body += d));
                        r.on('end', () => resolve({ status: r.statusCode, body }));
                    });
                    req.on('timeout', () => req.destroy(new Error('GET timed out')));
                    req.on('error', reject);
                });
                assert.equal(res.status, 200, res.body);
                assert.equal(res.body, `origin:/${KA}/data/${blob}`);
            }
            const used = kaOrigin.connections - before;
            console.log(`keep-alive: 20 GETs over ${clientSockets.size} client connection(s) -> ${used} backend connection(s)`);
            assert.equal(clientSockets.size, 1, 'the client used one connection');
            assert.ok(used < 20, `20 sequential GETs opened ${used} backend connections`);

            /*
             * The origin closes its idle keep-alive connections (as a backend's
             * keep-alive timeout would; node's own fires only a second late):
             * the pool must notice and not send the next request into them.
             */
            const before2 = kaOrigin.connections;
            for (const [i, method] of [[0, 'GET'], [1, 'PUT'], [2, 'GET']]) {
                assert.ok(kaOrigin.sockets.size > 0, 'sasgw kept a backend connection open');
                kaOrigin.closeIdle();
                await sleep(500);
                const blob = `after-idle-${i}.txt`;
                const res = await request(`${sasgw.proxyUrl}${target(KA, blob, originSas(KA, blob))}`, {
                    agent, method, ...(method === 'PUT' ? { headers: { 'content-length': '5' }, body: 'hello' } : {}),
                });
                assert.equal(res.status, 200, `${method} after the backend closed its idle connection: ${res.status} ${res.body}`);
                assert.equal(res.body, `origin:/${KA}/data/${blob}`);
                assert.equal(kaOrigin.requests.filter((r) => r.url === `/${KA}/data/${blob}`).length, 1, `${method} reached the origin once`);
            }
            assert.equal(kaOrigin.connections - before2, 3, 'each request after the origin closed its connections needed a new one');
        } finally {
            agent.destroy();
        }
    });

    test('a bodyless request that fails on a reused connection is retried once; a PUT is not', async () => {
        const c = await RawConn.open(sasgw.proxyPort);
        try {
            const get = async (blob) => {
                await c.write(`GET ${target(ORIGIN, blob, originSas(ORIGIN, blob))} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
                return c.response({ timeoutMs: 5000 });
            };
            let r = await get('warm-1.txt'); /* leaves an idle pooled connection behind */
            assert.equal(r.status, 200);
            const blob = `drop-once-${Date.now()}.txt`;
            r = await get(blob);
            assert.equal(r.status, 200, `GET after the pooled connection was dropped: ${r.head}\n${r.body}`);
            assert.equal(r.body, `origin:/${ORIGIN}/data/${blob}`);
            const tries = origin.requests.filter((x) => x.url === `/${ORIGIN}/data/${blob}`);
            assert.equal(tries.length, 2, 'one failed attempt, one retry');
            assert.equal(tries[0].dropped, true);
            assert.notEqual(tries[1].conn, tries[0].conn, 'the retry used a new connection');

            r = await get('warm-2.txt');
            assert.equal(r.status, 200);
            const put = `drop-once-put-${Date.now()}.bin`;
            await c.write(`PUT ${target(ORIGIN, put, originSas(ORIGIN, put))} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n`);
            await c.write(randomBytes(1000));
            r = await c.response({ timeoutMs: 5000 });
            assertAzureError(r, 502, 'BadGateway', 'PUT on a connection the backend dropped');
            assert.equal(origin.requests.filter((x) => x.url === `/${ORIGIN}/data/${put}`).length, 1, 'a request with a body is not replayed');
        } finally {
            c.destroy();
        }
    });

    test('responses: HEAD without a body, a chunked response, then more requests on the same connection', async () => {
        const c = await RawConn.open(sasgw.proxyPort);
        try {
            const h = 'head.txt';
            await c.write(`HEAD ${target(ORIGIN, h, originSas(ORIGIN, h))} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
            const r1 = await c.response({ method: 'HEAD' });
            assert.equal(r1.status, 200, r1.head);
            assert.equal(r1.headers['content-length'], String(`origin:/${ORIGIN}/data/${h}`.length));
            const ch = 'chunked-resp.txt';
            await c.write(`GET ${target(ORIGIN, ch, originSas(ORIGIN, ch))} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
            const r2 = await c.response();
            assert.equal(r2.status, 200, r2.head);
            assert.equal(r2.body, `origin:/${ORIGIN}/data/${ch}`);
            const g = 'after-chunked.txt';
            await c.write(`GET ${target(ORIGIN, g, originSas(ORIGIN, g))} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
            const r3 = await c.response();
            assert.equal(r3.status, 200, r3.head);
            assert.equal(r3.body, `origin:/${ORIGIN}/data/${g}`);
            /* HTTP/1.0 without keep-alive: answered, then closed */
            await c.write(`GET ${target(ORIGIN, g, originSas(ORIGIN, g))} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n`);
            const r4 = await c.response();
            assert.equal(r4.status, 200, r4.head);
            assert.equal(r4.body, `origin:/${ORIGIN}/data/${g}`);
            assert.ok(await c.closed(3000), 'HTTP/1.0 request without keep-alive: connection closed');
        } finally {
            c.destroy();
        }
    });

    test('a 256 MiB download streams through intact; a close-delimited response is relayed', { timeout: 60000 }, async () => {
        const blob = 'big-resp-256.bin';
        const expected = createHash('sha256');
        for (let i = 0; i < 256; i++)
            expected.update(bigChunk(i));
        const got = await new Promise((resolve, reject) => {
            const req = http.get(`${sasgw.proxyUrl}${target(ORIGIN, blob, originSas(ORIGIN, blob))}`, { agent: false, timeout: 30000 }, (res) => {
                const hash = createHash('sha256');
                let n = 0;
                res.on('data', (c) => {
                    n += c.length;
                    hash.update(c);
                });
                res.on('end', () => resolve({ status: res.statusCode, length: res.headers['content-length'], n, sha256: hash.digest('hex') }));
                res.on('error', reject);
            });
            req.on('timeout', () => req.destroy(new Error('download timed out')));
            req.on('error', reject);
        });
        assert.equal(got.status, 200);
        assert.equal(got.length, String(256 * MiB));
        assert.equal(got.n, 256 * MiB);
        assert.equal(got.sha256, expected.digest('hex'));

        const c = await RawConn.open(sasgw.proxyPort);
        try {
            const b = 'close-delimited.txt';
            await c.write(`GET ${target(STALL, b, originSas(STALL, b))} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
            const r = await c.response({ timeoutMs: 5000 });
            assert.equal(r.status, 200, r.head);
            assert.equal(r.body, 'until-close');
        } finally {
            c.destroy();
        }
    });

    test('headers: Host, X-Forwarded-For/-Proto, hop-by-hop dropped, SAS and unknown parameters stripped', async () => {
        const blob = 'hdr.txt';
        const sas = originSas(ORIGIN, blob);
        const res = await request(`${sasgw.proxyUrl}/${ORIGIN}/data/${blob}?a=1&${sas}&b=2&snapshot=x&c=3`, {
            headers: {
                Connection: 'keep-alive, x-drop-me',
                'X-Drop-Me': '1',
                'Keep-Alive': 'timeout=5',
                TE: 'trailers',
                'X-Forwarded-For': '203.0.113.7',
                'X-Custom-E2E': 'kept',
                'X-Ms-Meta-Color': 'blue',
            },
        });
        assert.equal(res.status, 200, res.body);
        const rec = origin.requests.findLast((r) => r.url.startsWith(`/${ORIGIN}/data/${blob}`));
        assert.equal(rec.url, `/${ORIGIN}/data/${blob}?snapshot=x`, 'only what selects the operation is forwarded');
        assert.equal(rec.headers.host, `127.0.0.1:${origin.port}`);
        assert.match(rec.headers['x-forwarded-for'] ?? '', /(^|,\s*)127\.0\.0\.1$/, `x-forwarded-for: ${rec.headers['x-forwarded-for']}`);
        assert.equal(rec.headers['x-forwarded-proto'], 'http');
        assert.equal(rec.headers['x-custom-e2e'], 'kept');
        assert.equal(rec.headers['x-ms-meta-color'], 'blue');
        for (const h of ['x-drop-me', 'keep-alive', 'te', 'expect'])
            assert.equal(rec.headers[h], undefined, `${h} forwarded: ${JSON.stringify(rec.headers)}`);
        assert.doesNotMatch(rec.headers.connection ?? '', /x-drop-me/i, 'the client Connection header is not forwarded');

        /* over TLS (HTTP/1.1 via ALPN): X-Forwarded-Proto https */
        const c = await RawConn.open(sasgw.tlsPort, { tlsOptions: { ca: readFileSync(path.join(tmp, 'cert.pem')), ALPNProtocols: ['http/1.1'] } });
        try {
            assert.equal(c.sock.alpnProtocol, 'http/1.1');
            const b2 = 'hdr-tls.txt';
            await c.write(`GET ${target(ORIGIN, b2, originSas(ORIGIN, b2))} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
            const r2 = await c.response();
            assert.equal(r2.status, 200, r2.body);
            assert.match(r2.head, /^HTTP\/1\.1 200/);
        } finally {
            c.destroy();
        }
        const rec2 = origin.requests.findLast((r) => r.url === `/${ORIGIN}/data/hdr-tls.txt`);
        assert.equal(rec2.headers['x-forwarded-proto'], 'https');
    });
});

describe('backend failures', () => {
    test('nothing listening -> 502 BadGateway as Azure XML', async () => {
        const res = await request(`${sasgw.proxyUrl}${target(DEAD, 'x.txt', originSas(DEAD, 'x.txt'))}`);
        assertAzureError(res, 502, 'BadGateway', 'dead backend');
    });

    test('a backend that answers something other than HTTP -> 502 BadGateway', async () => {
        const res = await request(`${sasgw.proxyUrl}${target(STALL, 'garbage.txt', originSas(STALL, 'garbage.txt'))}`);
        assertAzureError(res, 502, 'BadGateway', 'garbage response');
    });

    test('a backend that never answers -> 504 GatewayTimeout after upstream_timeout', async () => {
        const t0 = Date.now();
        const res = await request(`${sasgw.proxyUrl}${target(STALL, 'x.txt', originSas(STALL, 'x.txt'))}`, { timeoutMs: 20000 });
        const ms = Date.now() - t0;
        assertAzureError(res, 504, 'GatewayTimeout', 'stalled backend');
        assert.ok(ms >= UPSTREAM_TIMEOUT * 1000 - 500 && ms < UPSTREAM_TIMEOUT * 1000 + 5000, `answered after ${ms} ms`);
    });

    test('a client that disconnects mid-upload aborts the upstream request within 2 s', async () => {
        const blob = `abort-${Date.now()}.bin`;
        const req = http.request(`${sasgw.proxyUrl}${target(ORIGIN, blob, originSas(ORIGIN, blob))}`, {
            method: 'PUT', agent: false, headers: { 'content-length': String(64 * MiB) },
        });
        req.on('error', () => {});
        try {
            req.write(randomBytes(MiB));
            const rec = await waitFor(() => origin.requests.find((r) => r.url === `/${ORIGIN}/data/${blob}` && r.bytes > 0), {
                what: 'the origin receives the start of the upload', timeoutMs: 5000,
            });
            const t0 = Date.now();
            req.destroy();
            await waitFor(() => rec.closedAt !== null, { what: 'the origin request closes after the client left', timeoutMs: 2000 });
            console.log(`client left: origin request closed after ${rec.closedAt - t0} ms (aborted: ${rec.aborted})`);
            assert.equal(rec.complete, false, 'the upstream request did not complete');
            assert.equal(rec.ended, false, 'the origin never saw the end of the body');
            assert.ok(rec.bytes < 64 * MiB);
        } finally {
            req.destroy();
        }
    });
});

/* curl with HTTP/2, for the requests node's SDK does not make (h2c, h2 over TLS) */
let curlOk = false;
try {
    curlOk = /HTTP2/.test(execFileSync('curl', ['--version'], { encoding: 'utf8' }));
} catch {
    curlOk = false;
}
const curl = (args) => new Promise((resolve) => execFile('curl', ['-sS', '--max-time', '10', ...args], { timeout: 15000 },
    (err, stdout, stderr) => resolve({ err, stdout, stderr })));

describe('TLS and HTTP/2', () => {
    test('the SDK uploads and downloads 9 MiB through the TLS listener (HTTP/1.1)', { timeout: 90000 }, async () => {
        const blob = 'tls-9mib.bin';
        const sas = sdkSas({ container: 'tlsbox', blob, permissions: 'rcwd' });
        const url = `${sasgw.tlsUrl}/${DEV_ACCOUNT}/tlsbox/${blob}?${sas}`;
        /* a child node trusts the self-signed certificate through NODE_EXTRA_CA_CERTS */
        const script = `
            import { BlockBlobClient } from '@azure/storage-blob';
            import { createHash, randomBytes } from 'node:crypto';
            const data = randomBytes(9 * 1024 * 1024);
            const client = new BlockBlobClient(process.env.RELAY_BLOB_URL);
            const out = { sha256: createHash('sha256').update(data).digest('hex') };
            await client.uploadData(data, { maxSingleShotSize: 16 * 1024 * 1024 });
            out.single = (await client.downloadToBuffer()).equals(data);
            await client.uploadData(data, { maxSingleShotSize: 1024 * 1024, blockSize: 4 * 1024 * 1024, concurrency: 2 });
            out.blocks = (await client.downloadToBuffer()).equals(data);
            out.range = (await client.downloadToBuffer(1000, 5000)).equals(data.subarray(1000, 6000));
            console.log(JSON.stringify(out));
        `;
        const { stdout, stderr, error } = await new Promise((resolve) => execFile(process.execPath, ['--input-type=module', '-e', script], {
            cwd: SOURCE_DIR, timeout: 60000, maxBuffer: 4 * MiB,
            env: { ...process.env, NODE_EXTRA_CA_CERTS: path.join(tmp, 'cert.pem'), RELAY_BLOB_URL: url },
        }, (err, so, se) => resolve({ stdout: so, stderr: se, error: err })));
        assert.equal(error, null, `SDK child failed: ${error?.message}\n${stderr}`);
        const out = JSON.parse(stdout.trim().split('\n').pop());
        assert.deepEqual({ single: out.single, blocks: out.blocks, range: out.range }, { single: true, blocks: true, range: true });
        const stored = await direct.getContainerClient('tlsbox').getBlobClient(blob).downloadToBuffer();
        assert.equal(stored.length, 9 * MiB);
        assert.equal(createHash('sha256').update(stored).digest('hex'), out.sha256, 'Azurite holds what the SDK sent');
    });

    for (const [what, base, flags] of [
        ['h2c prior knowledge', () => sasgw.proxyUrl, ['--http2-prior-knowledge']],
        ['h2 over TLS', () => sasgw.tlsUrl, ['--http2', '-k']],
    ]) {
        test(`HTTP/2 (${what}): valid SAS -> 200 with the body, forged -> 403 XML`, { skip: curlOk ? false : 'curl with HTTP/2 support not found' }, async () => {
            const bodyFile = path.join(tmp, 'curl-body');
            const blob = `h2-${flags[0].replace(/\W/g, '')}.txt`;
            let r = await curl([...flags, '-o', bodyFile, '-w', '%{http_code} %{http_version}', `${base()}${target(ORIGIN, blob, originSas(ORIGIN, blob))}`]);
            assert.equal(r.err, null, `curl: ${r.stderr}`);
            assert.equal(r.stdout, '200 2');
            assert.equal(readFileSync(bodyFile, 'utf8'), `origin:/${ORIGIN}/data/${blob}`);
            r = await curl([...flags, '-o', bodyFile, '-w', '%{http_code} %{http_version}', `${base()}${target(ORIGIN, blob, forged(originSas(ORIGIN, blob)))}`]);
            assert.equal(r.err, null, `curl: ${r.stderr}`);
            assert.equal(r.stdout, '403 2');
            const xml = readFileSync(bodyFile, 'utf8');
            assert.match(xml, /^\s*<\?xml[^>]*\?>\s*<Error>\s*<Code>AuthenticationFailed<\/Code>/, xml);
            /* a PUT with a body over HTTP/2 */
            const up = `h2-put-${flags[0].replace(/\W/g, '')}.bin`;
            writeFileSync(path.join(tmp, 'curl-upload'), randomBytes(200000));
            r = await curl([...flags, '-o', bodyFile, '-w', '%{http_code} %{http_version}', '-X', 'PUT', '--data-binary', `@${path.join(tmp, 'curl-upload')}`,
                `${base()}${target(ORIGIN, up, originSas(ORIGIN, up))}`]);
            assert.equal(r.err, null, `curl: ${r.stderr}`);
            assert.equal(r.stdout, '200 2');
            const rec = origin.requests.findLast((x) => x.url === `/${ORIGIN}/data/${up}`);
            assert.equal(rec.bytes, 200000);
        });
    }
});

describe('https backends', () => {
    /*
     * A TLS origin with the test's self-signed certificate (SAN IP:127.0.0.1).
     * sasgw trusts it only through SSL_CERT_FILE (OpenSSL's default verify
     * paths): by IP the name matches; by "localhost" (resolved through h2o's
     * asynchronous getaddrinfo) it does not, and the relay answers 502. A
     * second origin's certificate is trusted by nobody: 502 as well.
     */
    let tlsOrigin, untrusted, sasgw2, tlsConnections = 0;
    const seen = [];
    before(async () => {
        const port = await freePort();
        /* a second origin with a certificate of its own, which sasgw was not told to trust */
        execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(tmp, 'other-key.pem'),
            '-out', path.join(tmp, 'other-cert.pem'), '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
        { stdio: 'ignore' });
        untrusted = https.createServer({ key: readFileSync(path.join(tmp, 'other-key.pem')), cert: readFileSync(path.join(tmp, 'other-cert.pem')) },
            (req, res) => {
                seen.push({ url: req.url });
                res.end('untrusted');
            });
        const untrustedPort = await freePort();
        await new Promise((resolve) => untrusted.listen(untrustedPort, '127.0.0.1', resolve));
        tlsOrigin = https.createServer({ key: readFileSync(path.join(tmp, 'key.pem')), cert: readFileSync(path.join(tmp, 'cert.pem')) },
            (req, res) => {
                seen.push({ url: req.url, host: req.headers.host, proto: req.headers['x-forwarded-proto'] });
                req.resume();
                req.on('end', () => res.end(`tls-origin:${req.url.split('?')[0]}`));
            });
        tlsOrigin.on('secureConnection', () => tlsConnections++);
        await new Promise((resolve) => tlsOrigin.listen(port, '127.0.0.1', resolve));
        sasgw2 = await startProxySasgw({
            redisPort: redis.port,
            http2: true,
            extraEnv: { SSL_CERT_FILE: path.join(tmp, 'cert.pem') },
            accounts: [
                { name: 'tlsbyip', key: ORIGIN_KEY, backend: `https://127.0.0.1:${port}`, mode: 'origin' },
                { name: 'tlsbyname', key: ORIGIN_KEY, backend: `https://localhost:${port}`, mode: 'origin' },
                { name: 'tlsuntrusted', key: ORIGIN_KEY, backend: `https://127.0.0.1:${untrustedPort}`, mode: 'origin' },
            ],
        });
    });
    after(async () => {
        await sasgw2?.stop();
        await new Promise((resolve) => (tlsOrigin ? tlsOrigin.close(resolve) : resolve()));
        await new Promise((resolve) => (untrusted ? untrusted.close(resolve) : resolve()));
    });

    test('a verified https origin: GET and PUT forwarded over TLS, the SAS stripped, the connection reused', async () => {
        for (const [method, body] of [['GET', undefined], ['PUT', randomBytes(300000)], ['GET', undefined]]) {
            const r = await request(`${sasgw2.proxyUrl}${target('tlsbyip', 'x.bin', originSas('tlsbyip', 'x.bin'))}`, {
                method, body, headers: body ? { 'content-length': String(body.length) } : {},
            });
            assert.equal(r.status, 200, r.body);
            assert.equal(r.body, 'tls-origin:/tlsbyip/data/x.bin');
        }
        /* three client connections, one pool per worker thread (2): at most two TLS connections upstream */
        assert.ok(tlsConnections <= 2, `${tlsConnections} TLS connections to the origin for 3 requests`);
        const last = seen[seen.length - 1];
        assert.equal(last.url, '/tlsbyip/data/x.bin');
        assert.match(last.host, /^127\.0\.0\.1:\d+$/);
        assert.equal(last.proto, 'http');
    });

    test('an https origin whose certificate does not name the host: 502, nothing forwarded', async () => {
        const before = seen.length;
        const r = await request(`${sasgw2.proxyUrl}${target('tlsbyname', 'y.bin', originSas('tlsbyname', 'y.bin'))}`);
        assertAzureError(r, 502, 'BadGateway', 'certificate name mismatch');
        assert.equal(seen.length, before);
    });

    test('the same checks on the HTTP/2 path (h2o\'s reverse proxy with sasgw\'s TLS context)',
        { skip: curlOk ? false : 'curl with HTTP/2 support not found' }, async () => {
            const before = seen.length;
            for (const [account, want] of [['tlsbyip', '200 2'], ['tlsbyname', '502 2'], ['tlsuntrusted', '502 2']]) {
                const r = await curl(['--http2-prior-knowledge', '-o', '/dev/null', '-w', '%{http_code} %{http_version}',
                    `${sasgw2.proxyUrl}${target(account, 'h2.bin', originSas(account, 'h2.bin'))}`]);
                assert.equal(r.err, null, `curl: ${r.stderr}`);
                assert.equal(r.stdout, want, account);
            }
            assert.equal(seen.length, before + 1, 'only the verified origin was reached');
        });

    test('an https origin whose certificate no trusted CA signed: 502, nothing forwarded', async () => {
        const before = seen.length;
        const r = await request(`${sasgw2.proxyUrl}${target('tlsuntrusted', 'z.bin', originSas('tlsuntrusted', 'z.bin'))}`);
        assertAzureError(r, 502, 'BadGateway', 'untrusted certificate');
        assert.equal(seen.length, before);
    });
});
