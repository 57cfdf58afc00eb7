// key-events.test.mjs - key changes made with the CLI reach a running server
// at once (issue 9, item 6): `sasgw account rotate|import-key|retire` write the
// vault file the server reads, then publish {"type":"keys","account":A} on
// sasgw:events as the admin API does. Without the event a server notices the
// new vault generation only at its next check (every 5 s), accepting tokens of
// a retired key meanwhile.
//
// The account is in origin mode in front of a tiny origin server, so the
// proxy's own decision is all a request's status says: 200 accepted, 403
// refused (the origin never checks a SAS).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';

import { freePort, startRedis, stopAll, waitFor } from './lib/stack.mjs';
import { azureCode, request, sdkSas, startOrigin, startProxySasgw, stopProxyStacks } from './lib/proxy-helpers.mjs';

const ACCOUNT = 'rotacct1';
const FIRST_KEY = randomBytes(64).toString('base64');
const ROTATIONS = 10;

let redis, origin, sasgw, events;
let key1 = FIRST_KEY; /* the active key1, as the rotations leave it */

/*
 * A subscriber on sasgw:events (redis-cli, which prints each field of a
 * message on its own line): .payloads collects the JSON payloads.
 */
function subscribeEvents(port) {
    const child = spawn('redis-cli', ['-p', String(port), 'SUBSCRIBE', 'sasgw:events'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const sub = { payloads: [], subscribed: false, close: () => child.kill('SIGKILL') };
    let pending = '';
    child.stdout.on('data', (d) => {
        pending += d.toString();
        const lines = pending.split('\n');
        pending = lines.pop();
        for (const l of lines) {
            if (l === '1')
                sub.subscribed = true;
            if (l.startsWith('{'))
                sub.payloads.push(JSON.parse(l));
        }
    });
    return sub;
}

before(async () => {
    redis = await startRedis();
    origin = await startOrigin();
    sasgw = await startProxySasgw({
        redisPort: redis.port,
        accounts: [{ name: ACCOUNT, key: FIRST_KEY, backend: `http://127.0.0.1:${origin.port}`, mode: 'origin' }],
    });
    events = subscribeEvents(redis.port);
    await waitFor(() => events.subscribed, { what: 'redis-cli subscribed', timeoutMs: 5000, intervalMs: 10 });
});
after(async () => {
    events?.close();
    await stopProxyStacks();
    await stopAll();
});

let tokens = 0;
/* A fresh token (its own expiry, so its own signature) signed with key; resolves to the proxy URL carrying it. */
function urlSignedWith(key) {
    const sas = sdkSas({ account: ACCOUNT, key, container: 'photos', blob: 'a.txt', expiresOn: new Date(Date.now() + 3600e3 + ++tokens * 1000) });
    return `${sasgw.proxyUrl}/${ACCOUNT}/photos/a.txt?${sas}`;
}

const statusOf = async (url) => (await request(url)).status;
const redisArg = () => ['--redis', `127.0.0.1:${redis.port}`];
const keyEvent = { type: 'keys', account: ACCOUNT };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

/*
 * Polls in a tight loop until the proxy accepts newUrl and refuses oldUrl (a
 * 403 in Azure's dialect); resolves to the milliseconds since t0 (hrtime).
 */
async function untilSwitched(t0, newUrl, oldUrl, timeoutMs = 10000) {
    for (;;) {
        const [now, old] = await Promise.all([request(newUrl), request(oldUrl)]);
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (now.status === 200 && old.status === 403) {
            assert.equal(azureCode(old.body), 'AuthenticationFailed', old.body);
            return ms;
        }
        assert.ok(ms < timeoutMs, `the proxy did not switch keys within ${timeoutMs} ms (new ${now.status}, old ${old.status})`);
    }
}

test(`account rotate: the new key is accepted and the retired one refused within 100 ms (median of ${ROTATIONS})`, async () => {
    const afterExit = [], afterStart = [];
    for (let i = 0; i < ROTATIONS; i++) {
        const oldUrl = urlSignedWith(key1);
        assert.equal(await statusOf(oldUrl), 200, 'the current key is accepted before the rotation');
        const seen = events.payloads.length;
        const start = process.hrtime.bigint();
        const r = await sasgw.cli(['account', 'rotate', ACCOUNT, '--slot', 'key1', '--show-key', ...redisArg()]);
        const exit = process.hrtime.bigint();
        assert.equal(r.code, 0, r.stderr);
        assert.doesNotMatch(r.stderr, /warning/, 'the event was published');
        key1 = r.stdout.trim().split('\n').pop();
        assert.equal(Buffer.from(key1, 'base64').length, 64, r.stdout);
        const ms = await untilSwitched(exit, urlSignedWith(key1), oldUrl);
        afterExit.push(ms);
        afterStart.push(ms + Number(exit - start) / 1e6);
        await waitFor(() => events.payloads.length > seen, { what: 'the event on sasgw:events', timeoutMs: 2000, intervalMs: 5 });
        assert.deepEqual(events.payloads.at(-1), keyEvent);
    }
    const p50 = median(afterExit);
    console.log(`cli_rotation_enforced_ms median=${p50.toFixed(2)} max=${Math.max(...afterExit).toFixed(2)} ` +
        `(from the CLI's exit; from its start: median=${median(afterStart).toFixed(2)}) n=${ROTATIONS}`);
    assert.ok(p50 < 100, `median ${p50} ms`);
    /* the 5 s vault check alone would put the median near 2.5 s; none may take that long */
    assert.ok(Math.max(...afterExit) < 1000, `max ${Math.max(...afterExit)} ms`);
});

test('account import-key and retire announce the change too', async () => {
    const imported = randomBytes(64).toString('base64');
    const importedUrl = urlSignedWith(imported);
    assert.equal(await statusOf(importedUrl), 403, 'an unknown key is refused');
    let seen = events.payloads.length;
    let exit;
    const imp = await sasgw.cli(['account', 'import-key', ACCOUNT, '--slot', 'key2', '--key', imported, ...redisArg()]);
    exit = process.hrtime.bigint();
    assert.equal(imp.code, 0, imp.stderr);
    assert.match(imp.stdout, /key2 version (\d+) is active/);
    const version = /key2 version (\d+) is active/.exec(imp.stdout)[1];
    await waitFor(async () => (await statusOf(importedUrl)) === 200, { what: 'imported key accepted', timeoutMs: 1000, intervalMs: 1 });
    console.log(`cli_import_enforced_ms=${(Number(process.hrtime.bigint() - exit) / 1e6).toFixed(2)}`);
    await waitFor(() => events.payloads.length > seen, { what: 'import event', timeoutMs: 2000, intervalMs: 5 });
    assert.deepEqual(events.payloads.at(-1), keyEvent);

    seen = events.payloads.length;
    const ret = await sasgw.cli(['account', 'retire', ACCOUNT, '--slot', 'key2', '--version', version, ...redisArg()]);
    exit = process.hrtime.bigint();
    assert.equal(ret.code, 0, ret.stderr);
    await waitFor(async () => (await statusOf(importedUrl)) === 403, { what: 'retired key refused', timeoutMs: 1000, intervalMs: 1 });
    console.log(`cli_retire_enforced_ms=${(Number(process.hrtime.bigint() - exit) / 1e6).toFixed(2)}`);
    await waitFor(() => events.payloads.length > seen, { what: 'retire event', timeoutMs: 2000, intervalMs: 5 });
    assert.deepEqual(events.payloads.at(-1), keyEvent);

    /* a refused change announces nothing */
    const again = await sasgw.cli(['account', 'retire', ACCOUNT, '--slot', 'key2', '--version', version, ...redisArg()]);
    assert.equal(again.code, 1);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(events.payloads.length, seen + 1);
});

test('-c names the Redis: the configuration of the running server', async () => {
    const seen = events.payloads.length;
    const r = await sasgw.cli(['account', 'rotate', ACCOUNT, '--slot', 'key2', '-c', sasgw.configPath]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /warning/);
    await waitFor(() => events.payloads.length > seen, { what: 'event via -c', timeoutMs: 2000, intervalMs: 5 });
    assert.deepEqual(events.payloads.at(-1), keyEvent);
});

test('Redis unreachable: the change is made (exit 0), a warning says so, the server still sees it at its next vault check', async () => {
    const closed = await freePort();
    const oldUrl = urlSignedWith(key1);
    assert.equal(await statusOf(oldUrl), 200);
    const r = await sasgw.cli(['account', 'rotate', ACCOUNT, '--slot', 'key1', '--show-key', '--redis', `127.0.0.1:${closed}`]);
    const exit = process.hrtime.bigint();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`warning: the vault has the change, but it was not announced on sasgw:events \\(cannot connect to Redis at 127\\.0\\.0\\.1:${closed}: .*\\); running servers see it when they next check the vault, within 5 s\\.`));
    key1 = r.stdout.trim().split('\n').pop();
    const ms = await untilSwitched(exit, urlSignedWith(key1), oldUrl, 8000);
    console.log(`cli_rotation_unannounced_enforced_ms=${ms.toFixed(0)} (the server's own vault check)`);

    /* usage errors change nothing */
    const bad = await sasgw.cli(['account', 'rotate', ACCOUNT, '--slot', 'key1', '--redis', 'no-port']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--redis must be HOST:PORT/);
    const missing = await sasgw.cli(['account', 'rotate', ACCOUNT, '--slot', 'key1', '-c', `${sasgw.dir}/nope.yaml`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope\.yaml/);
    assert.equal(await statusOf(urlSignedWith(key1)), 200, 'the failed commands left key1 as it was');
});
