// issuer-abuse.test.mjs - nobody unauthenticated can exhaust the issuer
// (issue 9 item 7), against a real `sasgw serve` and Redis: a 1 GB body is
// refused by h2o before sasgw buffers it (its memory stays flat); a flood of
// bad passwords from one address gets 429 with Retry-After past
// issuer.auth_failures.limit while another address mints as fast as before;
// the flood leaves a handful of coalesced audit records (their counts adding
// up) and a chain that still verifies, and what is held at shutdown is
// written then; two X-Forwarded-For lines cannot pass a grant's ip; HTTP/2
// (TLS issuer listener) bodies are cut off at max_body too.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
    DEMO_ADMIN, DEMO_APP, basicAuth, demoPolicyText, httpRequest, startRedis, startSasgw, stopAll, waitFor,
} from './lib/stack.mjs';

const LIMIT = 20;
const WINDOW = 60;
const FLOOD = 300;
const BAD_SECRET = 'not-the-secret-ZQX81';
const NEAR = { user: 'near-app', secret: 'near-secret' };
const sha256hex = (s) => createHash('sha256').update(s).digest('hex');

/* The demo policy plus near-app, whose only grant is for callers in 10.0.0.0/8. */
function testPolicy() {
    return demoPolicyText()
        .replace('\nprincipals:\n', `\nprincipals:
  near-app:
    auth:
      basic: { secret_sha256: "${sha256hex(NEAR.secret)}" }
    roles: [near-only]
`)
        .replace('\nroles:\n', `\nroles:
  near-only:
    grants:
      - account: devstoreaccount1
        container: near
        permissions: r
        max_ttl: 1h
        protocol: https,http
        ip: [10.0.0.0/8]
`);
}

let redis, sasgw;

before(async () => {
    redis = await startRedis();
    sasgw = await startSasgw({
        redis,
        policy: testPolicy(),
        issuerYaml: `  auth_failures: { limit: ${LIMIT}, window: ${WINDOW}, audit_interval: 1 }\n`,
        proxyYaml: '  trusted_proxies: [127.0.0.1, 127.0.0.6]\n',
    });
});
after(stopAll);

/* One request to the issuer from localAddress; resolves to httpRequest's answer plus ms, its latency. */
async function request(path, { method = 'POST', auth, body, headers = {}, localAddress = '127.0.0.1' } = {}) {
    const h = { ...headers };
    if (auth !== undefined)
        h.authorization = basicAuth(auth.user, auth.secret);
    const started = process.hrtime.bigint();
    const r = await httpRequest(`${sasgw.issuerUrl}${path}`, { method, headers: h, body, localAddress });
    return { ...r, text: r.body, ms: Number(process.hrtime.bigint() - started) / 1e6 };
}

const mintBody = (blob) => ({ account: 'devstoreaccount1', container: 'demo', blob, permissions: 'r', expires_in: 600 });

/* VmHWM and RssAnon of sasgw, in KiB, from /proc. */
function memoryOf(pid) {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)[1]);
    return { hwm: kib('VmHWM'), rssAnon: kib('RssAnon') };
}

/* Runs a shell pipeline; resolves to {code, stdout, stderr}. */
function sh(command, timeoutMs = 60000) {
    return new Promise((resolve, reject) => {
        const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        child.on('error', reject);
        child.on('close', (code) => {
            clearTimeout(timer);
            resolve({ code, stdout, stderr });
        });
    });
}

/* The median of numbers. */
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

describe('bodies', () => {
    for (const [what, curlArgs] of [
        ['with Content-Length (curl --data-binary @-)', '--data-binary @-'],
        ['chunked (curl -T -)', '-X POST -T - -H "Content-Type: application/json"'],
    ]) {
        test(`a 1 GB unauthenticated POST ${what} gets 413 quickly, sasgw's memory flat`, async () => {
            const before = memoryOf(sasgw.pid);
            const cmd = `head -c 1000000000 /dev/zero | curl -sS -o /dev/null -w '%{http_code} %{size_upload} %{time_total}' ` +
                `--max-time 60 ${curlArgs} ${sasgw.issuerUrl}/v1/sas`;
            const started = Date.now();
            const r = await sh(cmd);
            const seconds = (Date.now() - started) / 1000;
            const afterMem = memoryOf(sasgw.pid);
            const [status, uploaded, curlTime] = r.stdout.trim().split(' ');
            console.log(`# 1 GB ${what}: HTTP ${status}, curl uploaded ${uploaded} bytes in ${curlTime} s (${seconds.toFixed(2)} s with ` +
                `reading stdin); sasgw VmHWM ${before.hwm} -> ${afterMem.hwm} KiB, RssAnon ${before.rssAnon} -> ${afterMem.rssAnon} KiB`);
            console.log(`#   command: ${cmd}`);
            /*
             * With Content-Length h2o answers 413 from the head alone. A chunked body it reads up to max_body,
             * answers 413 and closes while curl is still sending: curl may then see the reset before the answer.
             */
            if (curlArgs.includes('-T'))
                assert.ok(status === '413' || (r.code !== 0 && /reset|Send failure|Recv failure/i.test(r.stderr)), `${r.stdout} ${r.stderr}`);
            else
                assert.equal(status, '413', `${r.stdout} ${r.stderr}`);
            assert.ok(Number(uploaded) < 16 * 1024 * 1024, `curl sent ${uploaded} bytes before the answer`);
            assert.ok(afterMem.hwm - before.hwm < 32 * 1024, `VmHWM grew by ${afterMem.hwm - before.hwm} KiB`);
            assert.ok(afterMem.rssAnon - before.rssAnon < 32 * 1024, `RssAnon grew by ${afterMem.rssAnon - before.rssAnon} KiB`);
            /* the issuer still serves */
            assert.equal((await request('/v1/sas', { auth: DEMO_APP, body: mintBody('after-big-body.txt'), localAddress: '127.0.0.9' })).status, 201);
        });
    }

    test('a body just over issuer.max_body gets 413 (JSON) before authentication, one at the limit reaches the handler', async () => {
        /* no credentials: had the handler run, it would have answered 401 first */
        const over = await request('/v1/sas', { body: { pad: 'x'.repeat(65536) }, localAddress: '127.0.0.9' });
        assert.equal(over.status, 413, over.text);
        assert.match(over.headers['content-type'], /^application\/json/);
        assert.deepEqual(over.json, { error: { code: 'body_too_large', message: 'the request body is larger than 65536 bytes' } });
        const at = '{"pad":"' + 'x'.repeat(65536 - 10) + '"}';
        assert.equal(Buffer.byteLength(at), 65536);
        const r = await new Promise((resolve, reject) => {
            const req = http.request(`${sasgw.issuerUrl}/v1/sas`, {
                method: 'POST', localAddress: '127.0.0.9', agent: false,
                headers: { authorization: basicAuth(DEMO_APP.user, DEMO_APP.secret), 'content-type': 'application/json', 'content-length': 65536 },
            }, (res) => {
                let text = '';
                res.on('data', (c) => (text += c));
                res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(text) }));
            });
            req.on('error', reject);
            req.end(at);
        });
        assert.equal(r.status, 400); /* parsed and refused by the handler: the body arrived */
        assert.equal(r.json.error.code, 'invalid_request');
    });
});

describe('failed authentications', () => {
    let flood;

    test(`${FLOOD} bad passwords from 127.0.0.1: 401 up to the limit, then 429 with Retry-After; 127.0.0.2 mints as usual`, async () => {
        /* the mint latency of 127.0.0.2 alone */
        const baseline = [];
        for (let i = 0; i < 30; i++) {
            const r = await request('/v1/sas', { auth: DEMO_APP, body: mintBody(`base-${i}.txt`), localAddress: '127.0.0.2' });
            assert.equal(r.status, 201);
            baseline.push(r.ms);
        }

        /* the flood, 10 at a time, while 127.0.0.2 keeps minting */
        const statuses = [];
        let sent = 0;
        const worker = async () => {
            while (sent < FLOOD) {
                sent++;
                const r = await request('/v1/sas', { auth: { user: DEMO_APP.user, secret: BAD_SECRET }, body: mintBody('x.txt') });
                statuses.push(r);
            }
        };
        let flooding = true;
        const during = [];
        const minter = (async () => {
            for (let i = 0; flooding || i < 10; i++) {
                const r = await request('/v1/sas', { auth: DEMO_APP, body: mintBody(`during-${i}.txt`), localAddress: '127.0.0.2' });
                assert.equal(r.status, 201, r.text);
                during.push(r.ms);
            }
        })();
        const floodStart = Date.now();
        await Promise.all(Array.from({ length: 10 }, worker));
        const floodMs = Date.now() - floodStart;
        flooding = false;
        await minter;

        const count = (s) => statuses.filter((r) => r.status === s).length;
        console.log(`# flood: ${FLOOD} bad passwords in ${floodMs} ms: ${count(401)} x 401, ${count(429)} x 429; ` +
            `127.0.0.2 mint median ${median(baseline).toFixed(1)} ms alone, ${median(during).toFixed(1)} ms during the flood (${during.length} mints)`);
        assert.equal(statuses.length, FLOOD);
        assert.equal(count(401), LIMIT);
        assert.equal(count(429), FLOOD - LIMIT);
        for (const r of statuses.filter((x) => x.status === 429)) {
            const retry = Number(r.headers['retry-after']);
            assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= WINDOW, `Retry-After ${r.headers['retry-after']}`);
            assert.equal(r.json.error.code, 'too_many_auth_failures');
        }
        /* the flood's client runs in this process too, so its requests queue here as well: a loose bound */
        assert.ok(median(during) < Math.max(median(baseline) * 10, 100), `mints slowed from ${median(baseline)} to ${median(during)} ms`);
        flood = { statuses };
    });

    test('past the limit even the right password from that address is refused without being checked; others are not', async () => {
        const blocked = await request('/v1/sas', { auth: DEMO_APP, body: mintBody('blocked.txt') });
        assert.equal(blocked.status, 429);
        assert.ok(Number(blocked.headers['retry-after']) >= 1);
        /* the admin API shares the limit */
        const admin = await request('/v1/accounts', { method: 'GET', auth: DEMO_ADMIN });
        assert.equal(admin.status, 429);
        /* and has it for its own callers: bad admin passwords from 127.0.0.3 */
        const seen = [];
        for (let i = 0; i < LIMIT + 3; i++)
            seen.push((await request('/v1/accounts', { method: 'GET', auth: { user: DEMO_ADMIN.user, secret: 'wrong' }, localAddress: '127.0.0.3' })).status);
        assert.deepEqual(seen, [...Array(LIMIT).fill(401), 429, 429, 429]);
        /* 127.0.0.4 is untouched */
        assert.equal((await request('/v1/accounts', { method: 'GET', auth: DEMO_ADMIN, localAddress: '127.0.0.4' })).status, 200);
        /* a request without credentials is no failed attempt */
        for (let i = 0; i < LIMIT + 5; i++)
            assert.equal((await request('/v1/sas', { body: mintBody('anon.txt'), localAddress: '127.0.0.5' })).status, 401);
        assert.equal((await request('/v1/sas', { auth: DEMO_APP, body: mintBody('anon.txt'), localAddress: '127.0.0.5' })).status, 201);
    });

    test('the flood is a handful of coalesced audit records whose counts add up, never the password; audit verify passes', async () => {
        assert.ok(flood, 'the flood test ran');
        const fromFlood = () => sasgw.auditRecords().filter((r) => r.op === 'auth' && r.client === '127.0.0.1');
        /* 300 refusals, plus the one blocked right password and the blocked admin call of the test before */
        const want = FLOOD + 2;
        await waitFor(() => fromFlood().reduce((n, r) => n + r.count, 0) === want, { what: 'coalesced records', timeoutMs: 10000 });
        const recs = fromFlood();
        console.log(`# audit: ${recs.length} coalesced records for ${want} refusals from 127.0.0.1: ` +
            recs.map((r) => `${r.count} x "${r.reason}"`).join(', '));
        assert.ok(recs.length <= 12, `${recs.length} records`);
        for (const r of recs) {
            assert.equal(r.principal, 'anonymous');
            assert.equal(r.result, 'refused');
            assert.ok(r.count >= 1);
            assert.match(r.first, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
            assert.ok(r.last >= r.first);
        }
        const rejected = recs.filter((r) => r.reason.startsWith('credentials rejected')).reduce((n, r) => n + r.count, 0);
        const limited = recs.filter((r) => r.reason.startsWith('too many failed')).reduce((n, r) => n + r.count, 0);
        assert.equal(rejected, LIMIT);
        assert.equal(limited, want - LIMIT);
        const log = readFileSync(sasgw.auditPath, 'utf8');
        assert.ok(!log.includes(BAD_SECRET) && !log.includes(Buffer.from(`${DEMO_APP.user}:${BAD_SECRET}`).toString('base64')));
        /* a successful mint is still one record each */
        assert.ok(sasgw.auditRecords().filter((r) => r.op === 'sas.issue' && r.client === '127.0.0.2').length >= 30);
        const v = await sasgw.cli(['audit', 'verify']);
        assert.equal(v.code, 0, v.stderr);
        assert.match(v.stdout, /hash chain intact/);
    });
});

describe('X-Forwarded-For', () => {
    test('behind a trusted proxy every line counts: a second line cannot pass a grant\'s ip', async () => {
        const body = { account: 'devstoreaccount1', container: 'near', blob: 'a.txt', permissions: 'r', expires_in: 600 };
        /* the client wrote 10.1.1.1 itself; the proxy (127.0.0.6, trusted) appended the real client on a line of its own */
        const forged = await request('/v1/sas', { auth: NEAR, body, headers: { 'x-forwarded-for': ['10.1.1.1', '203.0.113.9'] }, localAddress: '127.0.0.6' });
        assert.equal(forged.status, 403, forged.text);
        const oneLine = await request('/v1/sas', { auth: NEAR, body, headers: { 'x-forwarded-for': '10.1.1.1, 203.0.113.9' }, localAddress: '127.0.0.6' });
        assert.equal(oneLine.status, 403, oneLine.text);
        /* the proxy's own hop naming a client in 10/8: granted */
        const near = await request('/v1/sas', { auth: NEAR, body, headers: { 'x-forwarded-for': ['203.0.113.9', '10.1.1.1'] }, localAddress: '127.0.0.6' });
        assert.equal(near.status, 201, near.text);
        /* the audit record names the client the walk found */
        await waitFor(() => sasgw.auditRecords().some((r) => r.op === 'sas.issue' && r.principal === 'near-app' && r.client === '10.1.1.1'),
            { what: 'the mint record naming 10.1.1.1' });
    });

    test('failures are counted per forwarded client, not per trusted proxy', async () => {
        const bad = { user: DEMO_APP.user, secret: 'wrong' };
        for (let i = 0; i < LIMIT; i++)
            assert.equal((await request('/v1/sas', { auth: bad, body: mintBody('x'), headers: { 'x-forwarded-for': '198.51.100.7' } })).status, 401);
        assert.equal((await request('/v1/sas', { auth: bad, body: mintBody('x'), headers: { 'x-forwarded-for': '198.51.100.7' } })).status, 429);
        /* the same proxy forwarding another client: fine (the peer 127.0.0.1 is itself over its limit, but is not the client) */
        assert.equal((await request('/v1/sas', { auth: DEMO_APP, body: mintBody('y.txt'), headers: { 'x-forwarded-for': '198.51.100.8' } })).status, 201);
    });
});

describe('HTTP/2 (TLS issuer listener, ALPN h2)', () => {
    let tmp, h2sasgw;

    before(async () => {
        tmp = mkdtempSync(path.join(os.tmpdir(), `sasgw-e2e-${process.pid}-issuertls-`));
        execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(tmp, 'key.pem'),
            '-out', path.join(tmp, 'cert.pem'), '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
        { stdio: 'ignore' });
        h2sasgw = await startSasgw({
            redis, issuerTls: { certificate: path.join(tmp, 'cert.pem'), key: path.join(tmp, 'key.pem') },
        });
    });
    after(async () => {
        await h2sasgw?.stop();
        rmSync(tmp, { recursive: true, force: true });
    });

    /* One HTTP/2 POST of up to total bytes of zeros; resolves to {status, error, written} once the stream ends either way. */
    function h2post(total, headers) {
        return new Promise((resolve) => {
            const session = http2.connect(h2sasgw.issuerUrl, { rejectUnauthorized: false });
            session.on('error', () => {});
            const stream = session.request({ ':method': 'POST', ':path': '/v1/sas', 'content-type': 'application/json', ...headers });
            const chunk = Buffer.alloc(1 << 20);
            let written = 0, status, error, done = false;
            const finish = () => {
                if (done)
                    return;
                done = true;
                session.close();
                resolve({ status, error, written });
            };
            stream.on('response', (h) => (status = h[':status']));
            stream.on('error', (err) => (error = err.code));
            stream.on('close', finish);
            stream.resume();
            const pump = () => {
                while (!done && !stream.destroyed && written < total) {
                    const n = Math.min(chunk.length, total - written);
                    written += n;
                    if (!stream.write(n === chunk.length ? chunk : chunk.subarray(0, n)))
                        return stream.once('drain', pump);
                }
                if (!stream.destroyed && written >= total)
                    stream.end();
            };
            pump();
        });
    }

    test('a small JSON mint works over HTTP/2', async () => {
        const r = await h2mint({ authorization: basicAuth(DEMO_APP.user, DEMO_APP.secret) });
        assert.equal(r.status, 201, r.text);
    });

    /* One HTTP/2 POST /v1/sas with these headers and a small body; resolves to {status, text}. */
    function h2mint(headers) {
        return new Promise((resolve, reject) => {
            const session = http2.connect(h2sasgw.issuerUrl, { rejectUnauthorized: false });
            const stream = session.request({ ':method': 'POST', ':path': '/v1/sas', 'content-type': 'application/json', ...headers });
            let text = '', status;
            stream.on('response', (h) => (status = h[':status']));
            stream.on('data', (c) => (text += c));
            stream.on('end', () => {
                session.close();
                resolve({ status, text });
            });
            stream.on('error', reject);
            stream.end(JSON.stringify(mintBody('h2.txt')));
        });
    }

    test('a 1 GB unauthenticated HTTP/2 body is cut off by h2o at max_body, sasgw\'s memory flat', async () => {
        const before = memoryOf(h2sasgw.pid);
        const started = Date.now();
        const r = await h2post(1e9, {});
        const seconds = (Date.now() - started) / 1000;
        const afterMem = memoryOf(h2sasgw.pid);
        console.log(`# HTTP/2 1 GB: status ${r.status ?? '-'}, stream error ${r.error ?? '-'}, ${r.written} bytes written in ${seconds.toFixed(2)} s; ` +
            `sasgw VmHWM ${before.hwm} -> ${afterMem.hwm} KiB, RssAnon ${before.rssAnon} -> ${afterMem.rssAnon} KiB`);
        /* h2o 2.2.5 resets the stream (REFUSED_STREAM) once its body would pass max_request_entity_size */
        assert.notEqual(r.status, 201);
        assert.ok(r.written < 64 * 1024 * 1024, `${r.written} bytes went out before the stream ended`);
        assert.ok(afterMem.hwm - before.hwm < 32 * 1024, `VmHWM grew by ${afterMem.hwm - before.hwm} KiB`);
    });

    test('refusals still held at shutdown (audit_interval 60 s by default) reach the audit trail; it verifies', async () => {
        for (let i = 0; i < 3; i++)
            assert.equal((await h2mint({ authorization: basicAuth(DEMO_APP.user, 'wrong') })).status, 401);
        assert.ok(!h2sasgw.auditRecords().some((r) => r.op === 'auth'), 'nothing before the interval ends');
        process.kill(h2sasgw.pid, 'SIGTERM');
        await h2sasgw.exitedPromise;
        const recs = h2sasgw.auditRecords().filter((r) => r.op === 'auth');
        assert.equal(recs.length, 1, JSON.stringify(recs));
        assert.equal(recs[0].count, 3);
        assert.equal(recs[0].client, '127.0.0.1');
        const v = await h2sasgw.cli(['audit', 'verify']);
        assert.equal(v.code, 0, v.stderr);
    });
});
