// revocation.test.mjs - the proxy's read side of revocation (DESIGN §6,
// docs/redis.md): a revoked token is refused within 100 ms (p50/p99 over 100
// revocations), revocation by principal through the admin API, Redis killed
// and restarted under traffic (kept within max_staleness, full reload after
// reconnect, 503 fail-closed after max_staleness), and key-rotation events.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';

import { DEMO_ADMIN, DEMO_APP, DEV_ACCOUNT, DEV_KEY, basicAuth, httpRequest, startAzurite, startRedis, stopAll, waitFor } from './lib/stack.mjs';
import { azureCode, redisCommand, request, revokeInRedis, sdkSas, startProxySasgw, stopProxyStacks, tokenIdOfQuery } from './lib/proxy-helpers.mjs';

let redis, azurite, sasgw;

before(async () => {
    [redis, azurite] = await Promise.all([startRedis(), startAzurite()]);
    sasgw = await startProxySasgw({ redisPort: redis.port, azuritePort: azurite.port, maxStaleness: 2 });
    const direct = new BlobServiceClient(azurite.accountUrl, new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_KEY));
    await direct.getContainerClient('photos').create();
    await direct.getContainerClient('photos').getBlockBlobClient('a.txt').upload('hello', 5);
    await direct.getContainerClient('demo').create();
    await direct.getContainerClient('demo').getBlockBlobClient('x.txt').upload('x', 1);
});
after(async () => {
    await stopProxyStacks();
    await stopAll();
});

const url = (sas) => `${sasgw.proxyUrl}/${DEV_ACCOUNT}/photos/a.txt?${sas}`;
const fresh = (i = 0) => sdkSas({ container: 'photos', blob: 'a.txt', permissions: 'r', expiresOn: new Date(Date.now() + 3600e3 + i * 1000) });
const expiryOf = (sas) => Math.floor(new Date(new URLSearchParams(sas).get('se')).getTime() / 1000);
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

test('a revoked token is refused by the proxy within 100 ms (p50/p99 over 100 revocations)', async () => {
    const lat = [];
    for (let i = 0; i < 100; i++) {
        const sas = fresh(i);
        assert.equal((await request(url(sas))).status, 200);
        const t0 = process.hrtime.bigint();
        await revokeInRedis(redis.port, tokenIdOfQuery(sas), expiryOf(sas));
        let res;
        for (;;) {
            res = await request(url(sas));
            if (res.status !== 200)
                break;
        }
        lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
        assert.equal(res.status, 403);
        assert.equal(azureCode(res.body), 'AuthenticationFailed');
        assert.match(res.body, /revoked/);
    }
    lat.sort((a, b) => a - b);
    const p50 = pct(lat, 50), p99 = pct(lat, 99);
    console.log(`revocation_enforced_ms p50=${p50.toFixed(2)} p99=${p99.toFixed(2)} max=${lat[lat.length - 1].toFixed(2)} (n=100)`);
    assert.ok(p99 < 100, `p99 ${p99} ms`);
});

test('revoke by principal through the admin API (when present)', async (t) => {
    const mint = await httpRequest(`${sasgw.issuerUrl}/v1/sas`, {
        method: 'POST', headers: { authorization: basicAuth(DEMO_APP.user, DEMO_APP.secret) },
        body: { account: DEV_ACCOUNT, container: 'demo', blob: 'x.txt', permissions: 'r', expires_in: 600 },
    });
    if (mint.status === 404) {
        t.skip('POST /v1/sas is not there yet');
        return;
    }
    assert.equal(mint.status, 201, mint.body);
    const sas = new URL(mint.json.url).search.slice(1);
    const target = `${sasgw.proxyUrl}/${DEV_ACCOUNT}/demo/x.txt?${sas}`;
    assert.equal((await request(target)).status, 200, 'valid before revocation');
    const rev = await httpRequest(`${sasgw.issuerUrl}/v1/revocations`, {
        method: 'POST', headers: { authorization: basicAuth(DEMO_ADMIN.user, DEMO_ADMIN.secret) }, body: { principal: DEMO_APP.user },
    });
    if (rev.status === 404 || rev.status === 405) {
        t.skip('POST /v1/revocations is not there yet');
        return;
    }
    assert.ok(rev.status >= 200 && rev.status < 300, `${rev.status} ${rev.body}`);
    await waitFor(async () => (await request(target)).status === 403, { what: 'principal revocation enforced', timeoutMs: 2000, intervalMs: 5 });
});

test('Redis killed and restarted under traffic: kept within max_staleness, full reload, fail closed after', async () => {
    const valid = fresh(500);
    const missed = fresh(501); /* revoked while the proxy is disconnected: the message is lost */
    assert.equal((await request(url(valid))).status, 200);
    assert.equal((await request(url(missed))).status, 200);
    const port = redis.port;
    await redis.stop();
    const down = Date.now();
    /* within max_staleness (2 s): still served from the last list */
    const res1 = await request(url(valid));
    assert.ok(Date.now() - down < 1500);
    assert.equal(res1.status, 200);
    let ready = await httpRequest(`${sasgw.issuerUrl}/readyz`);
    /* past max_staleness: fail closed */
    await new Promise((r) => setTimeout(r, 2600));
    const res2 = await request(url(valid));
    assert.equal(res2.status, 503);
    assert.equal(azureCode(res2.body), 'ServerBusy');
    ready = await httpRequest(`${sasgw.issuerUrl}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(ready.body, /revocation/);
    /* Redis returns (empty: no persistence); an admin re-writes the list and revokes `missed` without a message */
    redis = await startRedis({ port });
    await redisCommand(port, 'ZADD', 'sasgw:revoked', String(expiryOf(missed)), tokenIdOfQuery(missed));
    await waitFor(async () => (await request(url(valid))).status === 200, { what: 'proxy fresh again', timeoutMs: 10000, intervalMs: 20 });
    const res3 = await request(url(missed));
    assert.equal(res3.status, 403, 'the revocation written while disconnected is enforced after the reload');
    assert.match(res3.body, /revoked/);
    ready = await httpRequest(`${sasgw.issuerUrl}/readyz`);
    assert.equal(ready.status, 200, ready.body);
});

test('a key rotation announced on sasgw:events reaches the proxy', async () => {
    const sas = fresh(900);
    assert.equal((await request(url(sas))).status, 200);
    /* retire key1 version 1 (the only active key1): tokens it signed stop validating */
    const r = await sasgw.cli(['account', 'rotate', DEV_ACCOUNT, '--slot', 'key1']);
    assert.equal(r.code, 0, r.stderr);
    const t0 = Date.now();
    await redisCommand(redis.port, 'PUBLISH', 'sasgw:events', JSON.stringify({ type: 'keys', account: DEV_ACCOUNT }));
    await waitFor(async () => (await request(url(sas))).status === 403, { what: 'rotation enforced', timeoutMs: 3000, intervalMs: 10 });
    console.log(`key_rotation_enforced_ms=${Date.now() - t0}`);
});
