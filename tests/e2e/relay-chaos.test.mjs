// relay-chaos.test.mjs - the streaming relay (gateway/proxy/relay.c) under clients
// and a backend that misbehave at random, for a fixed time.
//
// 24 concurrent loops each pick one behaviour per iteration: valid and forged
// GETs and PUTs (Content-Length or chunked, up to 2 MiB), uploads abandoned at a
// random byte, Expect: 100-continue, pipelined requests, a head sent byte by
// byte, garbage, a connection dropped right after its head. The origin answers
// after a random delay, in Content-Length, chunked or close-delimited framing,
// and now and then drops the connection halfway through its answer.
//
// What must hold: every response that does arrive is well-formed with a status
// the behaviour allows (never a 5xx other than 502/504 from a dropped origin,
// never a 200 for a forged token); sasgw stays up; afterwards a plain GET is
// answered, sasgw's connections drain back to none on the origin side, and its
// anonymous memory has not grown by more than a few MiB. The seed is printed,
// and CHAOS_SEED=<n> replays the same choices; CHAOS_MS sets the duration.
// Against an ASan build only the memory bound fails (its quarantine keeps
// freed buffers); everything else must hold there too.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';

import { freePort, startRedis, stopAll, waitFor } from './lib/stack.mjs';
import { sdkSas, startProxySasgw, stopProxyStacks } from './lib/proxy-helpers.mjs';

const MiB = 1024 * 1024;
const DURATION_MS = Number(process.env.CHAOS_MS ?? 12000);
const LOOPS = 24;
const ACCOUNT = 'chaosacct';
const KEY = randomBytes(64).toString('base64');

/* A small deterministic PRNG (mulberry32), so a failing run can be replayed. */
const SEED = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
function prng(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

let redis, sasgw, origin;
const originSockets = new Set();

/* The origin: reads whatever comes, answers in a random framing after a random delay, sometimes breaks off. */
async function startChaosOrigin() {
    const rnd = prng(SEED ^ 0x5eed);
    const server = http.createServer((req, res) => {
        let bytes = 0;
        req.on('data', (d) => (bytes += d.length));
        req.on('error', () => {});
        req.on('end', () => {
            const body = Buffer.from(`ok ${req.method} ${bytes}\n`.repeat(1 + Math.floor(rnd() * 2000)));
            const pick = rnd();
            setTimeout(() => {
                if (res.destroyed)
                    return;
                if (pick < 0.05) { /* break off halfway through the answer */
                    res.writeHead(200, { 'content-length': String(body.length) });
                    res.write(body.subarray(0, body.length >> 1), () => res.socket?.destroy());
                } else if (pick < 0.35) {
                    res.writeHead(200); /* chunked */
                    res.write(body.subarray(0, 10));
                    res.end(body.subarray(10));
                } else if (pick < 0.45) {
                    res.writeHead(200, { connection: 'close' }); /* close-delimited */
                    res.socket.setNoDelay(true);
                    res.useChunkedEncodingByDefault = false;
                    res.end(body);
                } else {
                    res.writeHead(200, { 'content-length': String(body.length) });
                    res.end(body);
                }
            }, Math.floor(rnd() * 20));
        });
    });
    server.on('connection', (s) => {
        originSockets.add(s);
        s.on('close', () => originSockets.delete(s));
    });
    const port = await freePort();
    await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
    return { server, port };
}

const sas = (blob) => sdkSas({ account: ACCOUNT, key: KEY, container: 'c', blob, permissions: 'rcwd' });
const forged = (s) => s.replace(/sig=[^&]+/, `sig=${encodeURIComponent(randomBytes(32).toString('base64'))}`);

/*
 * One raw connection: writes the given pieces (Buffers, or numbers = pause ms),
 * optionally destroys itself after `abortAfter` bytes, and collects what comes
 * back until the server closes or `timeoutMs`. Resolves to the bytes received.
 */
function raw(pieces, { abortAfter = Infinity, timeoutMs = 8000 } = {}) {
    return new Promise((resolve) => {
        const sock = net.connect(sasgw.proxyPort, '127.0.0.1');
        const chunks = [];
        let sent = 0, done = false;
        const finish = () => {
            if (done)
                return;
            done = true;
            clearTimeout(timer);
            sock.destroy();
            resolve(Buffer.concat(chunks));
        };
        const timer = setTimeout(finish, timeoutMs);
        sock.on('data', (d) => chunks.push(d));
        sock.on('error', finish);
        sock.on('close', finish);
        sock.on('connect', async () => {
            for (const p of pieces) {
                if (done)
                    return;
                if (typeof p === 'number') {
                    await new Promise((r) => setTimeout(r, p));
                    continue;
                }
                const cut = abortAfter - sent;
                if (cut < p.length) {
                    sock.write(p.subarray(0, Math.max(cut, 0)));
                    setTimeout(finish, 5);
                    return;
                }
                sent += p.length;
                if (!sock.write(p))
                    await new Promise((r) => sock.once('drain', r));
            }
        });
    });
}

/* The status lines of every response in a byte stream (interim 100s included). */
function statuses(buf) {
    return [...buf.toString('latin1').matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

const head = (method, path, headers) =>
    Buffer.from(`${method} ${path} HTTP/1.1\r\nhost: x\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);

function chunked(body, rnd) {
    const parts = [];
    for (let off = 0; off < body.length;) {
        const n = Math.min(body.length - off, 1 + Math.floor(rnd() * 65536));
        parts.push(Buffer.from(`${n.toString(16)}\r\n`), body.subarray(off, off + n), Buffer.from('\r\n'));
        off += n;
    }
    parts.push(Buffer.from('0\r\n\r\n'));
    return Buffer.concat(parts);
}

/* One iteration; returns what it observed, or throws when a rule is broken. */
async function once(rnd, n) {
    const blob = `b${n}`;
    const good = `/${ACCOUNT}/c/${blob}?${sas(blob)}`;
    const bad = `/${ACCOUNT}/c/${blob}?${forged(sas(blob))}`;
    const size = Math.floor(rnd() * 2 * MiB);
    const body = randomBytes(size);
    const pick = Math.floor(rnd() * 11);
    const ok = (codes, got, what) => {
        for (const s of got)
            if (!codes.includes(s))
                throw new Error(`${what}: status ${s} (allowed ${codes}) seed=${SEED}`);
    };
    switch (pick) {
    case 0: { /* valid GET (+ HEAD), keep-alive */
        const r = await raw([head('GET', good, {}), head('HEAD', good, { connection: 'close' })]);
        ok([200, 502], statuses(r), 'GET+HEAD');
        return 'get';
    }
    case 1: { /* forged GET */
        ok([403], statuses(await raw([head('GET', bad, { connection: 'close' })])), 'forged GET');
        return 'forged-get';
    }
    case 2: { /* valid PUT, Content-Length */
        ok([200, 502], statuses(await raw([head('PUT', good, { 'content-length': size, connection: 'close' }), body])), 'PUT');
        return 'put';
    }
    case 3: { /* valid PUT, chunked, in random pieces */
        const r = await raw([head('PUT', good, { 'transfer-encoding': 'chunked', connection: 'close' }), chunked(body, rnd)]);
        ok([200, 502], statuses(r), 'chunked PUT');
        return 'put-chunked';
    }
    case 4: { /* forged PUT with a body */
        ok([403], statuses(await raw([head('PUT', bad, { 'content-length': size, connection: 'close' }), body])), 'forged PUT');
        return 'forged-put';
    }
    case 5: { /* upload abandoned at a random byte */
        const r = await raw([head('PUT', good, { 'content-length': size + 1 }), body], { abortAfter: Math.floor(rnd() * (size + 200)) });
        ok([200, 502], statuses(r), 'abandoned PUT');
        return 'abandoned';
    }
    case 6: { /* Expect: 100-continue, valid or forged */
        const valid = rnd() < 0.5;
        const r = await raw([head('PUT', valid ? good : bad, { 'content-length': size, expect: '100-continue', connection: 'close' }), 30,
            body]);
        ok(valid ? [100, 200, 502] : [403], statuses(r), 'expect');
        return 'expect';
    }
    case 7: { /* pipelined: valid, forged, valid */
        const r = await raw([Buffer.concat([head('GET', good, {}), head('GET', bad, {}), head('GET', good, { connection: 'close' })])]);
        const s = statuses(r);
        ok([200, 403, 502], s, 'pipelined');
        if (s.length === 3 && s[1] !== 403)
            throw new Error(`pipelined: the forged request in the middle got ${s[1]} seed=${SEED}`);
        return 'pipelined';
    }
    case 8: { /* a head sent a few bytes at a time */
        const h = head('GET', good, { connection: 'close' });
        const pieces = [];
        for (let off = 0; off < h.length; off += 97)
            pieces.push(h.subarray(off, off + 97), 1);
        ok([200, 502], statuses(await raw(pieces)), 'slow head');
        return 'slow-head';
    }
    case 9: { /* garbage */
        const r = await raw([randomBytes(1 + Math.floor(rnd() * 512)), Buffer.from('\r\n\r\n')], { timeoutMs: 3000 });
        ok([400, 431, 501, 413, 417], statuses(r), 'garbage');
        return 'garbage';
    }
    default: { /* the head, then gone */
        await raw([head('GET', good, {})], { abortAfter: 1 << 30, timeoutMs: 1 });
        return 'dropped';
    }
    }
}

function anonKiB(pid) {
    return Number(/^RssAnon:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
}

before(async () => {
    redis = await startRedis();
    origin = await startChaosOrigin();
    sasgw = await startProxySasgw({
        redisPort: redis.port, upstreamTimeout: 5,
        accounts: [{ name: ACCOUNT, key: KEY, backend: `http://127.0.0.1:${origin.port}`, mode: 'origin' }],
    });
});

after(async () => {
    await stopProxyStacks();
    origin?.server.closeAllConnections?.();
    await new Promise((r) => origin?.server.close(r) ?? r());
    await stopAll();
});

test(`the relay under random misbehaviour for ${DURATION_MS} ms (seed ${SEED})`, async () => {
    console.log(`chaos seed=${SEED}`);
    /* warm up, then take the memory baseline */
    for (let i = 0; i < 50; i++)
        await once(prng(SEED + i), i);
    const anonBefore = anonKiB(sasgw.pid);
    const counts = {};
    const deadline = Date.now() + DURATION_MS;
    let n = 1000;
    await Promise.all(Array.from({ length: LOOPS }, async (_, loop) => {
        const rnd = prng(SEED + 7919 * (loop + 1));
        while (Date.now() < deadline) {
            const what = await once(rnd, n++);
            counts[what] = (counts[what] ?? 0) + 1;
        }
    }));
    console.log(`chaos iterations: ${JSON.stringify(counts)}`);
    assert.equal(sasgw.exited, null, `sasgw exited: ${JSON.stringify(sasgw.exited)}\n${sasgw.log.slice(-4000)}`);

    /* still serving */
    const r = await raw([head('GET', `/${ACCOUNT}/c/final?${sas('final')}`, { connection: 'close' })]);
    assert.deepEqual(statuses(r), [200], r.toString('latin1').slice(0, 300));
    /* the pool drains: idle upstream connections close within the 2 s idle time */
    await waitFor(() => originSockets.size === 0, { what: 'origin connections from sasgw close', timeoutMs: 8000 });
    const grown = anonKiB(sasgw.pid) - anonBefore;
    console.log(`chaos: sasgw RssAnon +${(grown / 1024).toFixed(1)} MiB over the run`);
    assert.ok(grown < 48 * 1024, `sasgw's anonymous memory grew by ${(grown / 1024).toFixed(1)} MiB`);
});
