// revocation-lifetime.test.mjs - issue 9 items 4 and 5 (docs/redis.md): a
// revocation lasts as long as the token (se + expiry_skew, +inf when the end
// is unknown, until DELETE /v1/revocations/{id}), and every minted token is
// revocable: a mint answers 201 only once its issuance-index entry is in
// Redis (503 index_unavailable otherwise), an account SAS is reached by
// {account, container, issued_before}, and identical requests get distinct
// tokens. Real Redis, Azurite, the official SDK and `sasgw serve`.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { BlobClient, BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';

import { DEMO_ADMIN, DEMO_APP, DEV_ACCOUNT, DEV_KEY, basicAuth, httpRequest, startAzurite, startRedis, stopAll, waitFor } from './lib/stack.mjs';
import { redisCommand, request, sdkSas, startProxySasgw, stopProxyStacks, tokenIdOfQuery } from './lib/proxy-helpers.mjs';

const SKEW = 5; /* proxy.expiry_skew: every entry ends at the token's end plus this */
let redis, azurite, sasgw, redisDir;
/* Redis with an fsync'ed append-only file, so a stop and restart keeps what was acknowledged */
const redisArgs = () => ['--dir', redisDir, '--appendonly', 'yes', '--appendfsync', 'always'];

before(async () => {
    redisDir = mkdtempSync(path.join(os.tmpdir(), `sasgw-e2e-${process.pid}-aof-`));
    [redis, azurite] = await Promise.all([startRedis({ extraArgs: redisArgs() }), startAzurite()]);
    sasgw = await startProxySasgw({ redisPort: redis.port, azuritePort: azurite.port, expirySkew: SKEW, threads: 2 });
    const direct = new BlobServiceClient(azurite.accountUrl, new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_KEY));
    await direct.getContainerClient('demo').create();
    await direct.getContainerClient('demo').getBlockBlobClient('x.txt').upload('x', 1);
});
after(async () => {
    await stopProxyStacks();
    await stopAll();
    rmSync(redisDir, { recursive: true, force: true });
});

const admin = (method, p, body) =>
    httpRequest(`${sasgw.issuerUrl}${p}`, { method, headers: { authorization: basicAuth(DEMO_ADMIN.user, DEMO_ADMIN.secret) }, body });
const mint = (body, who = DEMO_APP, p = '/v1/sas') =>
    httpRequest(`${sasgw.issuerUrl}${p}`, { method: 'POST', headers: { authorization: basicAuth(who.user, who.secret) }, body });
const blobUrl = (sas) => `${sasgw.proxyUrl}/${DEV_ACCOUNT}/demo/x.txt?${sas}`;
const seOf = (sas) => Math.floor(Date.parse(new URLSearchParams(sas).get('se')) / 1000);
const score = (id) => redisCommand(redis.port, 'ZSCORE', 'sasgw:revoked', id);
/* Reads the blob through the proxy with the official SDK: 'ok' or the HTTP status of the refusal. */
async function sdkRead(sas) {
    try {
        await new BlobClient(blobUrl(sas)).downloadToBuffer();
        return 'ok';
    } catch (err) {
        return err.statusCode ?? err.message;
    }
}

describe('a revocation lasts as long as the token', () => {
    test('a 30-day offline token: {token} scores se + skew, {token_id} +inf; both survive a full reload and the proxy trim', async () => {
        /* the issuing API stops at 7 days; an SDK with the account key mints 30 days */
        const long = sdkSas({ container: 'demo', blob: 'x.txt', permissions: 'r', expiresOn: new Date(Date.now() + 30 * 86400e3) });
        const other = sdkSas({ container: 'demo', blob: 'x.txt', permissions: 'r', expiresOn: new Date(Date.now() + 30 * 86400e3 + 1000) });
        assert.equal(await sdkRead(long), 'ok');
        assert.equal(await sdkRead(other), 'ok');

        const r1 = await admin('POST', '/v1/revocations', { token: long });
        assert.equal(r1.status, 200, r1.body);
        assert.equal(Number(await score(tokenIdOfQuery(long))), seOf(long) + SKEW, 'score = se + expiry_skew');
        /* by id alone: the index never saw this token, so its end is unknown: +inf, not "7 days" */
        const r2 = await admin('POST', '/v1/revocations', { token_id: tokenIdOfQuery(other) });
        assert.equal(r2.status, 200, r2.body);
        assert.equal(await score(tokenIdOfQuery(other)), 'inf');
        await waitFor(async () => (await sdkRead(long)) === 403 && (await sdkRead(other)) === 403, { what: 'both refused', timeoutMs: 2000, intervalMs: 10 });

        /* a full reload (the subscriber is cut: resubscribe, ZSCAN) keeps both, +inf included */
        const reloads = (sasgw.log.match(/loaded \d+ revoked id/g) ?? []).length;
        await redisCommand(redis.port, 'CLIENT', 'KILL', 'TYPE', 'pubsub');
        await waitFor(async () => (sasgw.log.match(/loaded \d+ revoked id/g) ?? []).length > reloads, { what: 'a full reload', timeoutMs: 10000 });
        assert.equal(await sdkRead(long), 403, '30-day token after the reload');
        assert.equal(await sdkRead(other), 403, '+inf token after the reload');

        /* the proxy's trim (once a minute) drops an ended entry and keeps ours */
        const ending = sdkSas({ container: 'demo', blob: 'x.txt', permissions: 'r', expiresOn: new Date(Date.now() + 2000) });
        const r3 = await admin('POST', '/v1/revocations', { token: ending });
        assert.equal(r3.status, 200, r3.body);
        await waitFor(async () => /trimmed \d+ expired id/.test(sasgw.log), { what: 'the proxy trim', timeoutMs: 75000, intervalMs: 500 });
        assert.equal(await sdkRead(long), 403, '30-day token after the trim');
        assert.equal(await sdkRead(other), 403, '+inf token after the trim');
        /* the writer's trim (every revocation) keeps them too */
        assert.equal(Number(await score(tokenIdOfQuery(long))), seOf(long) + SKEW);
        assert.equal(await score(tokenIdOfQuery(other)), 'inf');
    });

    test('{token_id} of a minted token is scored by the expiry the index recorded', async () => {
        const m = await mint({ account: DEV_ACCOUNT, container: 'demo', blob: 'x.txt', permissions: 'r', expires_in: 900 });
        assert.equal(m.status, 201, m.body);
        const r = await admin('POST', '/v1/revocations', { token_id: m.json.token_id });
        assert.equal(r.status, 200, r.body);
        assert.equal(Number(await score(m.json.token_id)), Math.floor(Date.parse(m.json.expires_on) / 1000) + SKEW);
    });

    test('an unknown id revoked is +inf until DELETE /v1/revocations/{id}: then served again within 100 ms', async () => {
        const sas = sdkSas({ container: 'demo', blob: 'x.txt', permissions: 'r', expiresOn: new Date(Date.now() + 3600e3 + 7000) });
        const id = tokenIdOfQuery(sas);
        assert.equal((await request(blobUrl(sas))).status, 200);
        assert.equal((await admin('POST', '/v1/revocations', { token_id: id })).status, 200);
        assert.equal(await score(id), 'inf');
        await waitFor(async () => (await request(blobUrl(sas))).status === 403, { what: 'revoked', timeoutMs: 2000, intervalMs: 5 });

        /* only the revoke capability may remove */
        const denied = await httpRequest(`${sasgw.issuerUrl}/v1/revocations/${id}`, {
            method: 'DELETE', headers: { authorization: basicAuth(DEMO_APP.user, DEMO_APP.secret) },
        });
        assert.equal(denied.status, 403, denied.body);
        assert.equal((await admin('DELETE', '/v1/revocations/short')).status, 400);

        const t0 = process.hrtime.bigint();
        const del = await admin('DELETE', `/v1/revocations/${id}`);
        assert.equal(del.status, 200, del.body);
        assert.deepEqual(del.json, { token_id: id, removed: true });
        let res;
        do
            res = await request(blobUrl(sas));
        while (res.status !== 200 && Number(process.hrtime.bigint() - t0) / 1e6 < 1000);
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        console.log(`revocation_removed_served_again_ms=${ms.toFixed(2)}`);
        assert.equal(res.status, 200);
        assert.ok(ms < 100, `${ms} ms`);
        assert.equal(await score(id), null);
        assert.equal((await admin('DELETE', `/v1/revocations/${id}`)).status, 404);
        const recs = (await admin('GET', '/v1/audit?limit=50')).json;
        assert.ok(recs.some((x) => x.op === 'revocation.remove' && x.result === 'ok' && x.token_id === id), 'audited');

        /* the CLI does the same */
        const conf = ['-c', sasgw.configPath];
        assert.equal((await sasgw.cli(['revoke', '--token-id', id, ...conf])).code, 0);
        await waitFor(async () => (await request(blobUrl(sas))).status === 403, { what: 'revoked by the CLI', timeoutMs: 2000, intervalMs: 5 });
        const help = await sasgw.cli(['revoke', '--help']);
        assert.match(help.stdout, /--remove ID/);
        const rm = await sasgw.cli(['revoke', '--remove', id, ...conf, '--json']);
        assert.equal(rm.code, 0, rm.stderr);
        assert.deepEqual(JSON.parse(rm.stdout), { token_id: id, removed: true });
        await waitFor(async () => (await request(blobUrl(sas))).status === 200, { what: 'served after --remove', timeoutMs: 2000, intervalMs: 5 });
        assert.equal((await sasgw.cli(['revoke', '--remove', id, ...conf])).code, 1, 'not on the list');
    });
});

describe('every minted token is revocable', () => {
    test('an account SAS is reached by {account, container, issued_before}', async () => {
        const m = await mint({ account: DEV_ACCOUNT, services: 'b', resource_types: 'sco', permissions: 'rl', expires_in: 600 }, DEMO_ADMIN,
            '/v1/sas/account');
        assert.equal(m.status, 201, m.body);
        const sas = new URL(m.json.url).search.slice(1);
        assert.equal(await sdkRead(sas), 'ok');
        const r = await admin('POST', '/v1/revocations', { account: DEV_ACCOUNT, container: 'demo', issued_before: Math.floor(Date.now() / 1000) + 1 });
        assert.equal(r.status, 200, r.body);
        assert.ok(r.json.token_ids.includes(m.json.token_id), r.body);
        await waitFor(async () => (await sdkRead(sas)) === 403, { what: 'account SAS refused', timeoutMs: 2000, intervalMs: 10 });
    });

    test('1,000 identical mints in parallel get 1,000 distinct tokens, each valid; revoking one leaves the others', async () => {
        const body = { account: DEV_ACCOUNT, container: 'demo', blob: 'x.txt', permissions: 'r', expires_in: 600 };
        const t0 = Date.now();
        const res = await Promise.all(Array.from({ length: 1000 }, () => mint(body)));
        const secs = (Date.now() - t0) / 1000;
        const ok = res.filter((r) => r.status === 201);
        assert.equal(ok.length, 1000, JSON.stringify(res.find((r) => r.status !== 201)?.body));
        const ids = new Set(ok.map((r) => r.json.token_id));
        const starts = new Set(ok.map((r) => new URL(r.json.url).searchParams.get('st')));
        console.log(`identical_mints=1000 distinct_token_ids=${ids.size} distinct_starts=${starts.size} seconds=${secs.toFixed(2)}`);
        assert.equal(ids.size, 1000);
        /* each is indexed; the most shifted ones are valid at the proxy (Azurite checks the signature again) */
        for (const r of ok.slice(0, 50))
            assert.notEqual(await redisCommand(redis.port, 'ZSCORE', 'sasgw:issued', r.json.token_id), null);
        const sorted = ok.slice().sort((a, b) => Date.parse(new URL(a.json.url).searchParams.get('st')) - Date.parse(new URL(b.json.url).searchParams.get('st')));
        const sas = (r) => new URL(r.json.url).search.slice(1);
        for (const r of [...sorted.slice(0, 3), ...sorted.slice(-3)])
            assert.equal(await sdkRead(sas(r)), 'ok');
        const first = sorted[sorted.length - 1], second = sorted[sorted.length - 2];
        assert.equal((await admin('POST', '/v1/revocations', { token: sas(first) })).status, 200);
        await waitFor(async () => (await sdkRead(sas(first))) === 403, { what: 'one revoked', timeoutMs: 2000, intervalMs: 10 });
        assert.equal(await sdkRead(sas(second)), 'ok', 'its twin stays valid');
    });

    test('a mint right after its twin was revoked is not born revoked', async () => {
        const body = { account: DEV_ACCOUNT, container: 'demo', blob: 'x.txt', permissions: 'r', expires_in: 300 };
        /* both mints within one second, so that the old signer made them the same token */
        let a, b;
        for (let i = 0; i < 5; i++) {
            const s0 = Math.floor(Date.now() / 1000);
            a = await mint(body);
            assert.equal(a.status, 201, a.body);
            assert.equal((await admin('POST', '/v1/revocations', { token_id: a.json.token_id })).status, 200);
            b = await mint(body);
            assert.equal(b.status, 201, b.body);
            if (Math.floor(Date.now() / 1000) === s0)
                break;
        }
        assert.notEqual(b.json.token_id, a.json.token_id);
        await waitFor(async () => (await sdkRead(new URL(a.json.url).search.slice(1))) === 403, { what: 'the first refused', timeoutMs: 2000, intervalMs: 10 });
        assert.equal(await sdkRead(new URL(b.json.url).search.slice(1)), 'ok', 'the twin minted after the revocation is valid');
    });

    test('a caller-fixed start: the twin ends a second earlier instead', async () => {
        const start = new Date(Math.floor(Date.now() / 1000) * 1000 - 60e3).toISOString().replace('.000Z', 'Z');
        const end = new Date(Math.floor(Date.now() / 1000) * 1000 + 600e3).toISOString().replace('.000Z', 'Z');
        const body = { account: DEV_ACCOUNT, container: 'demo', blob: 'x.txt', permissions: 'r', start, expires_on: end };
        const a = await mint(body), b = await mint(body);
        assert.equal(a.status, 201, a.body);
        assert.equal(b.status, 201, b.body);
        assert.notEqual(a.json.token_id, b.json.token_id);
        for (const m of [a, b])
            assert.equal(new URL(m.json.url).searchParams.get('st'), start);
        assert.equal(a.json.expires_on, end);
        assert.equal(Date.parse(b.json.expires_on), Date.parse(end) - 1000);
        assert.equal(await sdkRead(new URL(b.json.url).search.slice(1)), 'ok');
    });

    test('Redis stopped during a stream of mints: every 201 is indexed, the others are 503 index_unavailable', async () => {
        const body = { account: DEV_ACCOUNT, container: 'demo', blob: 'x.txt', permissions: 'r', expires_in: 600 };
        const results = [];
        let stop = false;
        const worker = async () => {
            while (!stop) {
                const r = await mint(body);
                results.push(r);
                if (r.status !== 201 && r.status !== 503)
                    await new Promise((res) => setTimeout(res, 5));
            }
        };
        const workers = Array.from({ length: 8 }, worker);
        const port = redis.port;
        try {
            await new Promise((res) => setTimeout(res, 700));
            await redis.stop();
            await new Promise((res) => setTimeout(res, 1000));
            redis = await startRedis({ port, extraArgs: redisArgs() });
            /* mints succeed again, then a little more */
            const back = results.length;
            await waitFor(async () => results.slice(back).filter((r) => r.status === 201).length >= 50, { what: 'mints after the restart', timeoutMs: 15000, intervalMs: 50 });
        } finally {
            stop = true;
            await Promise.all(workers);
        }

        const created = results.filter((r) => r.status === 201), refused = results.filter((r) => r.status === 503);
        const other = results.filter((r) => r.status !== 201 && r.status !== 503);
        let indexed = 0;
        for (const r of created)
            if ((await redisCommand(redis.port, 'ZSCORE', 'sasgw:issued:demo-app', r.json.token_id)) !== null)
                indexed++;
        console.log(`mints_during_redis_restart total=${results.length} created=${created.length} indexed=${indexed} refused_503=${refused.length} other=${other.length}`);
        assert.equal(other.length, 0, JSON.stringify(other.slice(0, 3).map((r) => [r.status, r.body])));
        assert.equal(indexed, created.length, 'every 201 is in the issuance index');
        assert.ok(refused.length > 0, 'some mints met Redis down');
        for (const r of refused) {
            assert.equal(r.json?.error?.code, 'index_unavailable', r.body);
            assert.ok(!/sig=|"token"/.test(r.body), 'no token in a 503');
        }
        /* revoke-by-principal now reaches every token handed out */
        const rev = await admin('POST', '/v1/revocations', { principal: DEMO_APP.user });
        assert.equal(rev.status, 200, rev.body);
        const revokedIds = new Set(rev.json.token_ids);
        assert.ok(rev.json.truncated || created.every((r) => revokedIds.has(r.json.token_id)), 'all reached');
        const recs = (await admin('GET', '/v1/audit?limit=1000')).json;
        assert.ok(recs.some((x) => x.op === 'sas.refuse' && x.result === 'refused' && /issuance index/.test(x.reason ?? '')), 'refusals audited');
    });
});
