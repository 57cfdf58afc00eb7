// resign.test.mjs - the `resign` backend mode (issue 12) with the official SDK
// against real Azurite: account `media` is served in resign mode over
// Azurite's devstoreaccount1 (upstream_account), its tokens signed with edge
// keys that Azurite never knows; the proxy verifies them, strips them and
// authorizes each upstream request with Shared Key and the storage key.
//
// Azurite runs with AZURITE_ACCOUNTS giving devstoreaccount1 two keys (K1,
// K2); the vault's key1 is K1. The headline: a token that works through the
// proxy is refused by Azurite itself (403), so revocation holds everywhere.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { BlobServiceClient, BlockBlobClient, ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';

import { DEMO_ADMIN, DEMO_APP, DEV_ACCOUNT, basicAuth, httpRequest, mintSas, startAzurite, startRedis, stopAll, waitFor }
    from './lib/stack.mjs';
import { azureCode, request, startProxySasgw, stopProxyStacks } from './lib/proxy-helpers.mjs';

const ACCOUNT = 'media';
const CONTAINER = 'demo';
const K1 = randomBytes(64).toString('base64');
const K2 = randomBytes(64).toString('base64');

let redis, azurite, sasgw, direct;

before(async () => {
    redis = await startRedis();
    /* Azurite's devstoreaccount1 with two keys of our own (spawned with this environment) */
    process.env.AZURITE_ACCOUNTS = `${DEV_ACCOUNT}:${K1}:${K2}`;
    try {
        azurite = await startAzurite();
    } finally {
        delete process.env.AZURITE_ACCOUNTS;
    }
    const backend = `http://127.0.0.1:${azurite.port}`;
    sasgw = await startProxySasgw({
        redisPort: redis.port,
        accounts: [{ name: ACCOUNT, key: K1, backend, mode: 'resign' }],
        http2: true, /* the cleartext listener also takes the HTTP/2 preface: resign over HTTP/2 below */
        extraProxyYaml: `accounts:\n  ${ACCOUNT}: { mode: resign, backend: "${backend}", upstream_account: ${DEV_ACCOUNT} }\n`,
    });
    direct = new BlobServiceClient(azurite.accountUrl, new StorageSharedKeyCredential(DEV_ACCOUNT, K1));
    await direct.getContainerClient(CONTAINER).create();
});
after(async () => {
    await stopProxyStacks();
    await stopAll();
});

/* An admin API call as demo-admin. */
function admin(method, p, body) {
    return httpRequest(`${sasgw.issuerUrl}${p}`, { method, headers: { authorization: basicAuth(DEMO_ADMIN.user, DEMO_ADMIN.secret) }, body });
}

/* A token from POST /v1/sas as demo-app; resolves to the 201 body ({url, token, token_id, key, ...}). */
async function mint({ blob, permissions = 'r', expiresIn = 600 } = {}) {
    const body = { account: ACCOUNT, container: CONTAINER, permissions, expires_in: expiresIn, protocol: 'https,http' };
    if (blob !== undefined)
        body.blob = blob;
    const r = await mintSas(sasgw, body, { auth: DEMO_APP });
    assert.equal(r.status, 201, r.body);
    return r.json;
}

/* The same path and token straight at Azurite: /devstoreaccount1/{container}/{blob}?{token}. */
const directUrl = (blob, token) => `${azurite.accountUrl}/${CONTAINER}/${blob}?${token}`;

describe('resign mode through the proxy with the SDK', () => {
    test('POST /v1/sas signs with an edge key and says so', async () => {
        const t = await mint({ blob: 'hello.txt' });
        assert.equal(t.key, 'edge1');
        assert.ok(t.url.startsWith(`${sasgw.proxyUrl}/${ACCOUNT}/${CONTAINER}/hello.txt?`), t.url);
    });

    test('upload (single and staged blocks), download, range, metadata, snapshot, list, delete', async () => {
        const data = randomBytes(3 * 1024 * 1024 + 17);
        for (const [name, opts] of [
            ['single.bin', { maxSingleShotSize: 8 * 1024 * 1024 }],
            ['blocks.bin', { maxSingleShotSize: 512 * 1024, blockSize: 512 * 1024, concurrency: 3 }],
        ]) {
            const t = await mint({ blob: name, permissions: 'rcwd' });
            const client = new BlockBlobClient(t.url);
            await client.uploadData(data, opts);
            /* stored at Azurite under devstoreaccount1 */
            const props = await direct.getContainerClient(CONTAINER).getBlobClient(name).getProperties();
            assert.equal(props.contentLength, data.length, `${name} stored whole`);
            assert.deepEqual(await client.downloadToBuffer(), data);
            assert.deepEqual(await client.downloadToBuffer(100, 5000), data.subarray(100, 5100));
            await client.setMetadata({ owner: 'media-test', second: 'two words' });
            const got = await client.getProperties();
            assert.deepEqual(got.metadata, { owner: 'media-test', second: 'two words' });
            if (name === 'single.bin') {
                const snap = await client.createSnapshot();
                assert.ok(snap.snapshot, 'a snapshot time');
                const snaps = [];
                for await (const b of direct.getContainerClient(CONTAINER).listBlobsFlat({ includeSnapshots: true, prefix: name }))
                    snaps.push(b.snapshot ?? '');
                assert.ok(snaps.includes(snap.snapshot), `snapshot listed: ${snaps}`);
            }
        }
        /* staged blocks by hand: stageBlock + commitBlockList */
        const t = await mint({ blob: 'staged.txt', permissions: 'rcw' });
        const staged = new BlockBlobClient(t.url);
        const ids = ['aaaa', 'bbbb'].map((s) => Buffer.from(s).toString('base64'));
        await staged.stageBlock(ids[0], Buffer.from('hello, '), 7);
        await staged.stageBlock(ids[1], Buffer.from('resign'), 6);
        await staged.commitBlockList(ids);
        assert.equal((await staged.downloadToBuffer()).toString(), 'hello, resign');

        /* list with a container token */
        const c = await mint({ permissions: 'rl' });
        const names = [];
        for await (const b of new ContainerClient(c.url).listBlobsFlat())
            names.push(b.name);
        for (const n of ['single.bin', 'blocks.bin', 'staged.txt'])
            assert.ok(names.includes(n), `${n} listed: ${names}`);

        /* delete (with its snapshots) */
        const d = await mint({ blob: 'blocks.bin', permissions: 'd' });
        await new BlockBlobClient(d.url).delete();
        assert.equal(await direct.getContainerClient(CONTAINER).getBlobClient('blocks.bin').exists(), false);
    });

    test('curl: Expect: 100-continue upload and keep-alive, each request signed anew upstream', async () => {
        const t = await mint({ blob: 'curl.bin', permissions: 'rcw' });
        const dir = mkdtempSync(path.join(os.tmpdir(), 'sasgw-e2e-resign-curl-'));
        try {
            const file = path.join(dir, 'body.bin');
            const data = randomBytes(3 * 1024 * 1024);
            writeFileSync(file, data);
            /* one curl, one connection: PUT (with Expect: 100-continue), then two GETs */
            const out = await new Promise((resolve, reject) => execFile('curl', [
                '-sS', '-H', 'Expect: 100-continue', '-H', 'x-ms-blob-type: BlockBlob', '-T', file, '-w', '%{http_code} %{num_connects}\n',
                '-o', '/dev/null', t.url, '--next', '-sS', '-o', '/dev/null', '-w', '%{http_code} %{num_connects}\n', t.url,
                '--next', '-sS', '-o', '/dev/null', '-w', '%{http_code} %{num_connects}\n', t.url,
            ], (err, stdout, stderr) => (err ? reject(new Error(`${err.message} ${stderr}`)) : resolve(stdout))));
            assert.deepEqual(out.trim().split('\n'), ['201 1', '200 0', '200 0'], out);
            const stored = await direct.getContainerClient(CONTAINER).getBlobClient('curl.bin').downloadToBuffer();
            assert.ok(stored.equals(data), 'the upload arrived whole');
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    test('HTTP/2 (curl --http2-prior-knowledge): upload and download through a resign account, signed anew upstream', async () => {
        const t = await mint({ blob: 'h2.bin', permissions: 'rcw' });
        const dir = mkdtempSync(path.join(os.tmpdir(), 'sasgw-e2e-resign-h2-'));
        try {
            const file = path.join(dir, 'body.bin'), back = path.join(dir, 'back.bin');
            const data = randomBytes(2 * 1024 * 1024 + 17);
            writeFileSync(file, data);
            /* two curls: curl 7.88 cannot reuse a prior-knowledge connection with --next (it fails the same against h2o) */
            const curl = (args) => new Promise((resolve, reject) => execFile('curl', ['-sS', '--http2-prior-knowledge', ...args],
                (err, stdout, stderr) => (err ? reject(new Error(`${err.message} ${stderr}`)) : resolve(stdout))));
            const out = (await curl(['-H', 'x-ms-blob-type: BlockBlob', '-T', file, '-w', '%{http_code} %{http_version}\n', '-o', '/dev/null', t.url]))
                + (await curl(['-o', back, '-w', '%{http_code} %{http_version}\n', t.url]));
            assert.deepEqual(out.trim().split('\n'), ['201 2', '200 2'], out);
            const stored = await direct.getContainerClient(CONTAINER).getBlobClient('h2.bin').downloadToBuffer();
            assert.ok(stored.equals(data), 'the HTTP/2 upload arrived whole at Azurite');
            assert.ok(readFileSync(back).equals(data), 'the HTTP/2 download returns it');
            /* the same token straight at Azurite is still refused */
            const r = await request(directUrl('h2.bin', t.token));
            assert.equal(r.status, 403);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    test('THE HEADLINE: the same token used directly against Azurite is refused (403)', async () => {
        const t = await mint({ blob: 'door.txt', permissions: 'rcw' });
        await new BlockBlobClient(t.url).upload('only one door', 13);
        const through = await request(t.url);
        assert.equal(through.status, 200, through.body);
        assert.equal(through.body, 'only one door');
        /* the token as it is, on Azurite's own path for the blob, GET and PUT */
        const get = await request(directUrl('door.txt', t.token));
        assert.equal(get.status, 403, get.body);
        /* Azurite's word for a SAS signature that does not match */
        assert.ok(['AuthorizationFailure', 'AuthenticationFailed'].includes(azureCode(get.body)), get.body);
        const put = await request(directUrl('door.txt', t.token), {
            method: 'PUT', headers: { 'x-ms-blob-type': 'BlockBlob', 'content-length': '3' }, body: 'bad',
        });
        assert.equal(put.status, 403, put.body);
        /* ... and with the SDK */
        await assert.rejects(new BlockBlobClient(directUrl('door.txt', t.token)).downloadToBuffer(), (e) => e.statusCode === 403);
        /* the blob is untouched */
        assert.equal((await direct.getContainerClient(CONTAINER).getBlobClient('door.txt').downloadToBuffer()).toString(), 'only one door');
    });

    test('response overrides (rsc*) from the verified token are applied', async () => {
        const t = await mint({ blob: 'door.txt', permissions: 'r' });
        /* a token with a signed Content-Disposition through the issuing API */
        const r = await mintSas(sasgw, {
            account: ACCOUNT, container: CONTAINER, blob: 'door.txt', permissions: 'r', expires_in: 600, protocol: 'https,http',
            response_headers: { content_disposition: 'attachment; filename="d.txt"', content_type: 'text/x-door' },
        }, { auth: DEMO_APP });
        assert.equal(r.status, 201, r.body);
        const got = await request(r.json.url);
        assert.equal(got.status, 200, got.body);
        assert.equal(got.headers['content-disposition'], 'attachment; filename="d.txt"');
        assert.equal(got.headers['content-type'], 'text/x-door');
        const plain = await request(t.url);
        assert.notEqual(plain.headers['content-type'], 'text/x-door');
    });

    test('a client Authorization or x-ms-date does not reach the backend; a SAS for the upstream name is not routed', async () => {
        const t = await mint({ blob: 'door.txt', permissions: 'r' });
        const r = await request(t.url, { headers: { authorization: 'SharedKey devstoreaccount1:AAAA', 'x-ms-date': 'Mon, 01 Jan 2001 00:00:00 GMT' } });
        assert.equal(r.status, 200, r.body);
        const other = await request(`${sasgw.proxyUrl}/${DEV_ACCOUNT}/${CONTAINER}/door.txt?${t.token}`);
        assert.equal(other.status, 404, other.body);
        /* a signed header twice (the service would read one of them): refused before anything goes upstream */
        const twice = await request(t.url, { headers: { range: ['bytes=0-1', 'bytes=2-3'] } });
        assert.equal(twice.status, 400, twice.body);
        assert.equal(azureCode(twice.body), 'InvalidHeaderValue');
        assert.equal((await request(t.url)).status, 200);
    });

    test('copy sources: verified with edge keys, re-authorized for the backend (Copy Blob and Copy Blob From URL)', async () => {
        const src = await mint({ blob: 'copy-src.txt', permissions: 'rcw' });
        await new BlockBlobClient(src.url).upload('copy me', 7);
        const read = await mint({ blob: 'copy-src.txt', permissions: 'r' });
        for (const [name, how] of [['copy-async.txt', 'begin'], ['copy-sync.txt', 'sync']]) {
            const dst = await mint({ blob: name, permissions: 'cw' });
            const client = new BlockBlobClient(dst.url);
            if (how === 'sync') {
                await client.syncCopyFromURL(read.url);
            } else {
                const poller = await client.beginCopyFromURL(read.url);
                await poller.pollUntilDone();
            }
            const got = await direct.getContainerClient(CONTAINER).getBlobClient(name).downloadToBuffer();
            assert.equal(got.toString(), 'copy me', `${how} copy`);
        }
        /* a source token without r, or a revoked one, is refused by the proxy */
        const noRead = await mint({ blob: 'copy-src.txt', permissions: 'w' });
        const dst = await mint({ blob: 'copy-bad.txt', permissions: 'cw' });
        await assert.rejects(new BlockBlobClient(dst.url).syncCopyFromURL(noRead.url), (e) => e.statusCode === 403);
        /* the storage account's own URL with the client's token: Azurite refuses to read it */
        await assert.rejects(new BlockBlobClient(dst.url).syncCopyFromURL(directUrl('copy-src.txt', read.token)),
            (e) => e.statusCode === 403);
        assert.equal(await direct.getContainerClient(CONTAINER).getBlobClient('copy-bad.txt').exists(), false);
    });

    test('revoke: refused at the proxy and, having no other door, everywhere', async () => {
        const t = await mint({ blob: 'door.txt', permissions: 'r' });
        assert.equal((await request(t.url)).status, 200);
        const rv = await admin('POST', '/v1/revocations', { token_id: t.token_id });
        assert.ok(rv.status === 200 || rv.status === 201, rv.body);
        await waitFor(async () => (await request(t.url)).status === 403, { what: 'revoked token refused at the proxy', timeoutMs: 5000 });
        const again = await request(t.url);
        assert.match(again.body, /revoked/);
        assert.equal((await request(directUrl('door.txt', t.token))).status, 403);
    });

    test('GET /v1/accounts shows mode, upstream_account and the edge slots, never key values', async () => {
        const r = await admin('GET', '/v1/accounts');
        assert.equal(r.status, 200, r.body);
        const a = r.json.accounts.find((x) => x.name === ACCOUNT);
        assert.ok(a, r.body);
        assert.equal(a.mode, 'resign');
        assert.equal(a.upstream_account, DEV_ACCOUNT);
        assert.equal(a.token_keys, 'edge');
        for (const slot of ['key1', 'key2', 'edge1', 'edge2'])
            assert.ok(a.keys.some((k) => k.slot === slot && k.state === 'active'), `${slot} active in ${r.body}`);
        for (const k of a.keys)
            assert.deepEqual(Object.keys(k).sort(), ['created', 'slot', 'state', 'version']);
        for (const key of [K1, K2])
            for (let i = 0; i + 12 <= key.length; i += 4)
                assert.ok(!r.body.includes(key.slice(i, i + 12)));
    });

    test('edge-key regeneration refuses old tokens at once (key event); new tokens carry the new version', async () => {
        const old = await mint({ blob: 'door.txt', permissions: 'r' });
        assert.equal((await request(old.url)).status, 200);
        const regen = await admin('POST', `/v1/accounts/${ACCOUNT}/keys/edge1/regenerate`);
        assert.equal(regen.status, 200, regen.body);
        assert.equal(regen.json.slot, 'edge1');
        assert.equal(regen.json.version, 2);
        assert.equal(regen.json.event_published, true);
        /* the event reaches the proxy well before its 5 s vault check */
        const t0 = Date.now();
        await waitFor(async () => (await request(old.url)).status === 403, { what: 'old edge1 token refused', timeoutMs: 4000, intervalMs: 20 });
        assert.ok(Date.now() - t0 < 4000);
        const fresh = await mint({ blob: 'door.txt', permissions: 'r' });
        assert.equal(fresh.key, 'edge1');
        assert.equal((await request(fresh.url)).status, 200);
        /* retire edge2 (nothing signs with it) and edge1 v2: then no token key is left, every token refused */
        const re2 = await admin('POST', `/v1/accounts/${ACCOUNT}/keys/edge2/retire`, { version: 1 });
        assert.equal(re2.status, 200, re2.body);
        assert.equal((await request(fresh.url)).status, 200);
        const bad = await admin('POST', `/v1/accounts/${ACCOUNT}/keys/edge2/retire`, { version: 'one' });
        assert.equal(bad.status, 400, bad.body);
        const denied = await httpRequest(`${sasgw.issuerUrl}/v1/accounts/${ACCOUNT}/keys/edge1/retire`, {
            method: 'POST', headers: { authorization: basicAuth(DEMO_APP.user, DEMO_APP.secret) }, body: { version: 2 },
        });
        assert.equal(denied.status, 403, denied.body);
    });

    test('storage-key rotation through the admin API is invisible to a client holding a token', async () => {
        const t = await mint({ blob: 'rotate.txt', permissions: 'rcw' });
        const client = new BlockBlobClient(t.url);
        await client.upload('v1', 2);
        /* key2 = Azurite's second key, then key1 retired: upstream now signs with key2 */
        const imp = await admin('PUT', `/v1/accounts/${ACCOUNT}/keys/key2`, { value: K2 });
        assert.equal(imp.status, 200, imp.body);
        const ret = await admin('POST', `/v1/accounts/${ACCOUNT}/keys/key1/retire`, { version: 1 });
        assert.equal(ret.status, 200, ret.body);
        assert.equal(ret.json.event_published, true);
        const list = await admin('GET', '/v1/accounts');
        const keys = list.json.accounts.find((x) => x.name === ACCOUNT).keys;
        assert.ok(keys.some((k) => k.slot === 'key1' && k.version === 1 && k.state === 'retired'), list.body);
        /* the same token keeps working, every few ms across the reload */
        for (let i = 0; i < 20; i++) {
            const r = await request(t.url);
            assert.equal(r.status, 200, `request ${i}: ${r.body}`);
            await new Promise((res) => setTimeout(res, 25));
        }
        await client.upload('v2', 2);
        assert.equal((await client.downloadToBuffer()).toString(), 'v2');
        /* proof that key2 signs upstream now: a key2 Azurite does not know makes the backend refuse */
        const junk = await admin('PUT', `/v1/accounts/${ACCOUNT}/keys/key2`, { value: randomBytes(64).toString('base64') });
        assert.equal(junk.status, 200, junk.body);
        await waitFor(async () => (await request(t.url)).status === 403, { what: 'backend refusing an unknown storage key', timeoutMs: 4000 });
    });
});
