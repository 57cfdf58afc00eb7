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
//
// h2 mode: the same for HTTP/2 on a second sasgw (http2: true, TLS with ALPN h2
// and cleartext prior knowledge, chosen at random per connection), with node's
// http2 client: GET+HEAD, forged GET/PUT (403 XML), PUT with and without
// content-length, an upload reset (RST_STREAM) at a random byte, Expect:
// 100-continue, several streams at once with a forged one in the middle (in
// place of pipelining), a header block cut into CONTINUATION frames sent
// slowly, garbage frames, a session dropped after HEADERS. A response that
// arrives must have a status the behaviour allows; a stream the server resets
// is allowed only where the origin may break off. Then deterministic cases
// over h2, as the relay answers them on HTTP/1.1: a backend that dies
// mid-body (the stream is reset, never ended as if complete), a slow backend
// (other streams on the connection are served meanwhile), 504 and 502 as
// Azure XML, and upstream keep-alive (fewer origin connections than requests).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { after, before, test } from 'node:test';

import { freePort, startRedis, stopAll, waitFor } from './lib/stack.mjs';
import { azureCode, sdkSas, startProxySasgw, stopProxyStacks } from './lib/proxy-helpers.mjs';
import { FLAG, FRAME, frame, h2Connect, rawH2, requestBlock, selfSignedCert } from './lib/h2.mjs';

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

let redis, sasgw, origin, sasgwH2, tmp, stallPort, deadPort;
const originSockets = new Set();
let originConnections = 0;

/* The origin: reads whatever comes, answers in a random framing after a random delay, sometimes breaks off. */
async function startChaosOrigin() {
    const rnd = prng(SEED ^ 0x5eed);
    const server = http.createServer((req, res) => {
        let bytes = 0;
        req.on('data', (d) => (bytes += d.length));
        req.on('error', () => {});
        req.on('end', () => {
            const body = Buffer.from(`ok ${req.method} ${bytes}\n`.repeat(1 + Math.floor(rnd() * 2000)));
            let pick = rnd();
            /* the deterministic cases: always break off / answer after 1 s */
            if (req.url.includes('/break-'))
                pick = 0;
            else if (req.url.includes('/slow-'))
                pick = 1;
            else if (req.url.includes('/ka-'))
                pick = 1; /* Content-Length framing, the connection kept */
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
            }, req.url.includes('/slow-') ? 1000 : Math.floor(rnd() * 20));
        });
    });
    server.on('connection', (s) => {
        originConnections++;
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

/* A TCP origin that accepts and never answers (for 504). */
async function startStallOrigin() {
    const sockets = new Set();
    const server = net.createServer((sock) => {
        sockets.add(sock);
        sock.on('error', () => {});
        sock.on('close', () => sockets.delete(sock));
    });
    const port = await freePort();
    await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
    return { port, close: () => new Promise((r) => { for (const x of sockets) x.destroy(); server.close(r); }) };
}
let stall;

before(async () => {
    redis = await startRedis();
    origin = await startChaosOrigin();
    sasgw = await startProxySasgw({
        redisPort: redis.port, upstreamTimeout: 5,
        accounts: [{ name: ACCOUNT, key: KEY, backend: `http://127.0.0.1:${origin.port}`, mode: 'origin' }],
    });
    tmp = mkdtempSync(path.join(os.tmpdir(), `sasgw-e2e-${process.pid}-chaosh2-`));
    stall = await startStallOrigin();
    stallPort = stall.port;
    deadPort = await freePort();
    sasgwH2 = await startProxySasgw({
        redisPort: redis.port, upstreamTimeout: 2, http2: true, tls: selfSignedCert(tmp),
        accounts: [
            { name: ACCOUNT, key: KEY, backend: `http://127.0.0.1:${origin.port}`, mode: 'origin' },
            { name: 'stallacct', key: KEY, backend: `http://127.0.0.1:${stallPort}`, mode: 'origin' },
            { name: 'deadacct', key: KEY, backend: `http://127.0.0.1:${deadPort}`, mode: 'origin' },
        ],
    });
});

after(async () => {
    await stopProxyStacks();
    await stall?.close();
    origin?.server.closeAllConnections?.();
    await new Promise((r) => origin?.server.close(r) ?? r());
    await stopAll();
    if (tmp)
        rmSync(tmp, { recursive: true, force: true });
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

/* ---- h2 mode --------------------------------------------------------------- */

/*
 * One stream on a session: sends the headers and body (a Buffer, sent in
 * random pieces; or null), optionally resets the stream after `resetAfter`
 * bytes. Resolves to {status, body, reset (the server reset the stream or
 * the session went away), cont (a 100 came)}. Never rejects.
 */
function h2Stream(session, rnd, { method = 'GET', target, headers = {}, body = null, resetAfter = Infinity, expect = false, timeoutMs = 8000 }) {
    return new Promise((resolve) => {
        let stream;
        const out = { status: undefined, body: '', reset: false, cont: false };
        const chunks = [];
        let done = false;
        const finish = () => {
            if (done)
                return;
            done = true;
            clearTimeout(timer);
            out.body = Buffer.concat(chunks).toString('latin1');
            if (stream && !stream.closed)
                stream.close(http2.constants.NGHTTP2_CANCEL);
            resolve(out);
        };
        const timer = setTimeout(() => {
            out.timedOut = true;
            finish();
        }, timeoutMs);
        try {
            const h = { ':method': method, ':path': target, ...headers };
            if (expect)
                h.expect = '100-continue';
            stream = session.request(h, { endStream: body === null });
        } catch {
            out.reset = true;
            return finish();
        }
        stream.on('response', (hd) => (out.status = hd[':status']));
        stream.on('data', (c) => chunks.push(c));
        stream.on('end', finish);
        stream.on('close', () => {
            if (stream.rstCode !== undefined && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR && !done)
                out.reset = true;
            finish();
        });
        stream.on('error', () => {
            out.reset = true;
            finish();
        });
        if (body === null)
            return;
        const send = async () => {
            let sent = 0;
            for (let off = 0; off < body.length && !done;) {
                const n = Math.min(body.length - off, 1 + Math.floor(rnd() * 65536));
                const piece = body.subarray(off, off + n);
                if (sent + piece.length > resetAfter) {
                    stream.write(piece.subarray(0, Math.max(0, resetAfter - sent)));
                    setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), 5);
                    return;
                }
                sent += piece.length;
                off += n;
                if (!stream.write(piece))
                    await new Promise((r) => {
                        const go = () => {
                            stream.off('drain', go);
                            stream.off('close', go);
                            r();
                        };
                        stream.on('drain', go);
                        stream.on('close', go);
                    });
            }
            if (!done)
                stream.end();
        };
        if (expect) {
            /* as curl does: the body after the 100, or after a second without an answer */
            const go = setTimeout(send, 1000);
            stream.once('continue', () => {
                out.cont = true;
                clearTimeout(go);
                send();
            });
            stream.once('response', () => clearTimeout(go));
        } else {
            send();
        }
    });
}

const useTlsFor = (rnd) => rnd() < 0.5;
const h2Url = (rnd) => (useTlsFor(rnd) ? sasgwH2.tlsUrl : sasgwH2.proxyUrl);

/* One h2 iteration on a fresh connection; returns what it did, throws when a rule is broken. */
async function onceH2(rnd, n) {
    const blob = `h${n}`;
    const good = `/${ACCOUNT}/c/${blob}?${sas(blob)}`;
    const bad = `/${ACCOUNT}/c/${blob}?${forged(sas(blob))}`;
    const size = Math.floor(rnd() * 2 * MiB);
    const body = randomBytes(size);
    const pick = Math.floor(rnd() * 11);
    const fail = (what, r, allowed) => new Error(`h2 ${what}: status ${r.status} reset=${r.reset} timedOut=${r.timedOut ?? false} `
        + `(allowed ${allowed}) seed=${SEED} ${r.body.slice(0, 200)}`);
    /* a valid request: an allowed status, or a reset (the origin broke off) */
    const okValid = (r, what, codes = [200, 502]) => {
        if (r.timedOut || (r.status === undefined && !r.reset) || (r.status !== undefined && !codes.includes(r.status)))
            throw fail(what, r, codes);
    };
    const okForged = (r, what) => {
        if (r.status !== 403 || azureCode(r.body) !== 'AuthenticationFailed')
            throw fail(what, r, [403]);
    };
    if (pick === 8 || pick === 9) {
        const tlsConn = useTlsFor(rnd);
        const c = await rawH2(tlsConn ? sasgwH2.tlsPort : sasgwH2.proxyPort, { tls: tlsConn }).catch(() => null);
        if (!c)
            throw new Error(`h2 raw connect failed seed=${SEED}`);
        try {
            if (pick === 8) { /* a header block cut into CONTINUATION frames, sent slowly */
                const block = requestBlock('GET', good, '127.0.0.1', tlsConn ? 'https' : 'http');
                const step = Math.max(97, Math.ceil(block.length / 6)); /* a few CONTINUATIONs: servers limit their number */
                for (let off = 0; off < block.length; off += step) {
                    const piece = block.subarray(off, off + step);
                    const last = off + step >= block.length;
                    await c.write(frame(off === 0 ? FRAME.HEADERS : FRAME.CONTINUATION, (last ? FLAG.END_HEADERS : 0) | (off === 0 ? FLAG.END_STREAM : 0), 1, piece));
                    await new Promise((r) => setTimeout(r, 1));
                }
                await waitFor(() => c.headersOn.has(1) || c.rstOn.has(1) || c.closed, { what: 'answer to a slow header block', timeoutMs: 8000 })
                    .catch(() => {
                        throw new Error(`h2 slow header block: no answer in 8 s seed=${SEED}`);
                    });
                if (!c.headersOn.has(1) && !c.rstOn.has(1))
                    throw new Error(`h2 slow header block: connection closed without an answer (goaway ${JSON.stringify(c.goaway)}) seed=${SEED}`);
                return 'h2-slow-head';
            }
            /* garbage frames */
            await c.write(randomBytes(1 + Math.floor(rnd() * 512))).catch(() => {});
            await new Promise((r) => setTimeout(r, 20));
            return 'h2-garbage';
        } finally {
            c.close();
        }
    }
    const session = await h2Connect(h2Url(rnd)).catch((e) => {
        throw new Error(`h2 connect: ${e.message} seed=${SEED}`);
    });
    try {
        switch (pick) {
        case 0: { /* valid GET, then HEAD on the same connection */
            okValid(await h2Stream(session, rnd, { target: good }), 'GET');
            okValid(await h2Stream(session, rnd, { method: 'HEAD', target: good }), 'HEAD');
            return 'h2-get';
        }
        case 1:
            okForged(await h2Stream(session, rnd, { target: bad }), 'forged GET');
            return 'h2-forged-get';
        case 2:
            okValid(await h2Stream(session, rnd, { method: 'PUT', target: good, body, headers: { 'content-length': String(size) } }), 'PUT');
            return 'h2-put';
        case 3: /* no content-length: DATA frames until END_STREAM */
            okValid(await h2Stream(session, rnd, { method: 'PUT', target: good, body }), 'PUT without length');
            return 'h2-put-nolength';
        case 4:
            okForged(await h2Stream(session, rnd, { method: 'PUT', target: bad, body, headers: { 'content-length': String(size) } }), 'forged PUT');
            return 'h2-forged-put';
        case 5: { /* upload reset at a random byte: any answer that came must be allowed */
            const r = await h2Stream(session, rnd, { method: 'PUT', target: good, body, headers: { 'content-length': String(size + 1) },
                resetAfter: Math.floor(rnd() * (size + 200)) });
            if (r.status !== undefined && ![200, 502].includes(r.status))
                throw fail('reset upload', r, [200, 502]);
            return 'h2-reset-upload';
        }
        case 6: {
            const valid = rnd() < 0.5;
            const r = await h2Stream(session, rnd, { method: 'PUT', target: valid ? good : bad, body, headers: { 'content-length': String(size) }, expect: true });
            if (valid)
                okValid(r, 'expect');
            else {
                okForged(r, 'forged expect');
                if (r.cont)
                    throw new Error(`h2 forged expect: a 100 Continue came seed=${SEED}`);
            }
            return 'h2-expect';
        }
        case 7: { /* three streams at once, the forged one in the middle */
            const [a, b, c] = await Promise.all([good, bad, good].map((t) => h2Stream(session, rnd, { target: t })));
            okValid(a, 'concurrent 1');
            okForged(b, 'concurrent 2 (forged)');
            okValid(c, 'concurrent 3');
            return 'h2-concurrent';
        }
        default: { /* HEADERS of an upload, then the whole connection gone */
            const st = session.request({ ':method': 'PUT', ':path': good, 'content-length': String(size) });
            st.on('error', () => {});
            await new Promise((r) => setTimeout(r, Math.floor(rnd() * 5)));
            session.destroy();
            return 'h2-dropped';
        }
        }
    } finally {
        session.destroy();
    }
}

test(`h2 mode: the HTTP/2 path under random misbehaviour for ${DURATION_MS} ms (seed ${SEED})`, async () => {
    for (let i = 0; i < 30; i++)
        await onceH2(prng(SEED + 31 * i), 100000 + i);
    const anonBefore = anonKiB(sasgwH2.pid);
    const counts = {};
    const deadline = Date.now() + DURATION_MS;
    let n = 200000;
    await Promise.all(Array.from({ length: LOOPS }, async (_, loop) => {
        const rnd = prng(SEED + 104729 * (loop + 1));
        while (Date.now() < deadline) {
            const what = await onceH2(rnd, n++);
            counts[what] = (counts[what] ?? 0) + 1;
        }
    }));
    console.log(`chaos h2 iterations: ${JSON.stringify(counts)}`);
    assert.equal(sasgwH2.exited, null, `sasgw exited: ${JSON.stringify(sasgwH2.exited)}\n${sasgwH2.log.slice(-4000)}`);
    for (const url of [sasgwH2.tlsUrl, sasgwH2.proxyUrl]) {
        const session = await h2Connect(url);
        const r = await h2Stream(session, prng(1), { target: `/${ACCOUNT}/c/final?${sas('final')}` });
        session.destroy();
        assert.equal(r.status, 200, `final GET on ${url}: ${r.body.slice(0, 300)}`);
    }
    await waitFor(() => originSockets.size === 0, { what: 'origin connections from sasgw close', timeoutMs: 8000 });
    const grown = anonKiB(sasgwH2.pid) - anonBefore;
    console.log(`chaos h2: sasgw RssAnon +${(grown / 1024).toFixed(1)} MiB over the run`);
    assert.ok(grown < 48 * 1024, `sasgw's anonymous memory grew by ${(grown / 1024).toFixed(1)} MiB over the h2 run`);
});

const assertXml = (r, status, code, what) => {
    assert.equal(r.status, status, `${what}: status (reset=${r.reset}) ${r.body.slice(0, 300)}`);
    assert.equal(azureCode(r.body), code, `${what}: an Azure XML <Code>${code}</Code>, got: ${r.body.slice(0, 300)}`);
};
const h2Flavours = [['TLS', () => sasgwH2.tlsUrl], ['h2c', () => sasgwH2.proxyUrl]];
const h2Case = (name, fn) => {
    for (const [what, url] of h2Flavours)
        test(`h2 mode (${what}): ${name}`, async () => {
            const session = await h2Connect(url());
            try {
                await fn(session, prng(SEED), what);
            } finally {
                session.destroy();
            }
        });
};
const otherSas = (account) => sdkSas({ account, key: KEY, container: 'c', blob: 'x', permissions: 'r' });

h2Case('a backend dying mid-body: the stream is reset, never ended as if complete', async (session, rnd) => {
    const r = await h2Stream(session, rnd, { target: `/${ACCOUNT}/c/break-1?${sas('break-1')}` });
    assert.ok(r.reset || r.status === 502, `a body the origin cut off ended cleanly (status ${r.status}, ${r.body.length} bytes)`);
});

h2Case('a slow backend (1 s) does not hold up the other streams of the connection', async (session, rnd, what) => {
    const slow = h2Stream(session, rnd, { target: `/${ACCOUNT}/c/slow-1?${sas('slow-1')}` });
    const t0 = Date.now();
    const fast = await h2Stream(session, rnd, { target: `/${ACCOUNT}/c/fast-1?${sas('fast-1')}` });
    const fastMs = Date.now() - t0;
    console.log(`chaos h2 (${what}): a fast stream beside a slow one: ${fastMs} ms`);
    assert.equal(fast.status, 200, fast.body.slice(0, 200));
    assert.ok(fastMs < 800, `a fast stream waited ${fastMs} ms behind a slow one`);
    assert.equal((await slow).status, 200);
});

h2Case('an origin that never answers: 504 GatewayTimeout as Azure XML after upstream_timeout', async (session, rnd) => {
    assertXml(await h2Stream(session, rnd, { target: `/stallacct/c/x?${otherSas('stallacct')}` }), 504, 'GatewayTimeout', 'stalled origin');
});

h2Case('nothing listening at the origin: 502 BadGateway as Azure XML', async (session, rnd) => {
    assertXml(await h2Stream(session, rnd, { target: `/deadacct/c/x?${otherSas('deadacct')}` }), 502, 'BadGateway', 'dead origin');
});

h2Case('upstream keep-alive: 20 sequential GETs take far fewer origin connections', async (session, rnd, what) => {
    await waitFor(() => originSockets.size === 0, { what: 'origin idle', timeoutMs: 8000 });
    const before = originConnections;
    for (let i = 0; i < 20; i++) {
        const r = await h2Stream(session, rnd, { target: `/${ACCOUNT}/c/ka-${i}?${sas(`ka-${i}`)}` });
        assert.ok(r.status === 200 || r.reset, `keep-alive GET ${i}: ${r.status}`);
    }
    const used = originConnections - before;
    console.log(`chaos h2 (${what}): 20 GETs used ${used} origin connections`);
    assert.ok(used <= 4, `20 sequential h2 GETs opened ${used} origin connections (keep-alive not reused)`);
});
