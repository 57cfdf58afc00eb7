// proxy.test.mjs - the validating proxy (issue 5) with the official SDK:
// uploads, downloads, listing and deletes through the proxy; every refusal
// with Azure's code; origin mode strips the SAS; backend down -> 502 and
// recovery; a stalled backend -> 504; a client leaving mid-upload leaves
// nothing behind.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';

import { BlobServiceClient, BlockBlobClient, ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';

import { DEV_ACCOUNT, DEV_KEY, runSasgw, startAzurite, startRedis, stopAll, waitFor } from './lib/stack.mjs';
import { azureCode, rawRequest, request, sdkSas, startOrigin, startProxySasgw, stopProxyStacks } from './lib/proxy-helpers.mjs';

const ORIGIN_ACCOUNT = 'originacct';
const ORIGIN_KEY = randomBytes(64).toString('base64');
const STALL_ACCOUNT = 'stallacct';

let redis, azurite, origin, stall, sasgw, direct;

before(async () => {
    [redis, azurite] = await Promise.all([startRedis(), startAzurite()]);
    origin = await startOrigin();
    stall = await startOrigin({ stall: true });
    sasgw = await startProxySasgw({
        redisPort: redis.port,
        upstreamTimeout: 2,
        debug: true,
        accounts: [
            { name: DEV_ACCOUNT, key: DEV_KEY, backend: `http://127.0.0.1:${azurite.port}`, mode: 'passthrough' },
            { name: ORIGIN_ACCOUNT, key: ORIGIN_KEY, backend: `http://127.0.0.1:${origin.port}`, mode: 'origin' },
            { name: STALL_ACCOUNT, key: ORIGIN_KEY, backend: `http://127.0.0.1:${stall.port}`, mode: 'origin' },
        ],
    });
    direct = new BlobServiceClient(azurite.accountUrl, new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_KEY));
    await direct.getContainerClient('photos').create();
});
after(async () => {
    await stopProxyStacks();
    await stopAll();
});

const blobUrl = (container, blob, sas) => `${sasgw.proxyUrl}/${DEV_ACCOUNT}/${container}/${blob}?${sas}`;
const hourAgo = () => new Date(Date.now() - 3600 * 1000);

describe('through the proxy with the SDK', () => {
    test('single put and block upload of 9 MiB, range download, list, delete', async () => {
        const data = randomBytes(9 * 1024 * 1024);
        for (const [name, opts] of [
            ['single.bin', { maxSingleShotSize: 16 * 1024 * 1024 }],
            ['blocks.bin', { maxSingleShotSize: 1024 * 1024, blockSize: 1024 * 1024, concurrency: 4 }],
        ]) {
            const sas = sdkSas({ container: 'photos', blob: name, permissions: 'rcwd' });
            const client = new BlockBlobClient(blobUrl('photos', name, sas));
            await client.uploadData(data, opts);
            const props = await direct.getContainerClient('photos').getBlobClient(name).getProperties();
            assert.equal(props.contentLength, data.length, `${name} stored whole`);
            const part = await client.downloadToBuffer(1000, 4096);
            assert.deepEqual(part, data.subarray(1000, 1000 + 4096));
        }
        const listSas = sdkSas({ container: 'photos', permissions: 'l' });
        const container = new ContainerClient(`${sasgw.proxyUrl}/${DEV_ACCOUNT}/photos?${listSas}`);
        const names = [];
        for await (const b of container.listBlobsFlat())
            names.push(b.name);
        assert.ok(names.includes('single.bin') && names.includes('blocks.bin'), names.join(','));
        for (const name of ['single.bin', 'blocks.bin']) {
            const sas = sdkSas({ container: 'photos', blob: name, permissions: 'd' });
            await new BlockBlobClient(blobUrl('photos', name, sas)).delete();
            assert.equal(await direct.getContainerClient('photos').getBlobClient(name).exists(), false);
        }
    });

    test('a SAS minted by sasgw (CLI) is accepted, and the SDK sees 403 codes', async () => {
        const r = await runSasgw(['sas', 'mint', '--account', DEV_ACCOUNT, '--key', DEV_KEY, '--container', 'photos', '--blob', 'cli.txt',
            '--permissions', 'rcw', '--expiry', new Date(Date.now() + 3600e3).toISOString().replace(/\.\d+Z$/, 'Z')]);
        assert.equal(r.code, 0, r.stderr);
        const client = new BlockBlobClient(blobUrl('photos', 'cli.txt', r.stdout.trim()));
        await client.upload('hello', 5);
        assert.equal((await client.downloadToBuffer()).toString(), 'hello');
        await assert.rejects(client.delete(), (err) => err.statusCode === 403 && err.code === 'AuthorizationPermissionMismatch');
    });
});

describe('refusals', () => {
    let seeded;
    before(async () => {
        seeded = direct.getContainerClient('photos').getBlockBlobClient('seed.txt');
        await seeded.upload('seed', 4);
    });

    test('each missing permission -> 403 AuthorizationPermissionMismatch', async () => {
        const cases = [
            ['GET', 'seed.txt', 'cwd', ''],
            ['HEAD', 'seed.txt', 'w', ''],
            ['PUT', 'new.txt', 'rd', ''],
            ['DELETE', 'seed.txt', 'rcw', ''],
            ['PUT', 'seed.txt', 'r', '&comp=metadata'],
            ['GET', 'seed.txt', 'r', '&comp=tags'],
        ];
        for (const [method, blob, perms, extra] of cases) {
            const sas = sdkSas({ container: 'photos', blob, permissions: perms });
            const res = await request(blobUrl('photos', blob, sas) + extra, {
                method, headers: method === 'PUT' ? { 'x-ms-blob-type': 'BlockBlob', 'content-length': '0' } : {},
            });
            assert.equal(res.status, 403, `${method} ${blob} sp=${perms}${extra}`);
            assert.equal(res.headers['x-ms-error-code'], 'AuthorizationPermissionMismatch', `${method} sp=${perms}`);
            if (method !== 'HEAD') {
                assert.equal(azureCode(res.body), 'AuthorizationPermissionMismatch');
                assert.match(res.headers['content-type'], /application\/xml/);
            }
        }
        /* listing needs l, and a container SAS */
        const noList = sdkSas({ container: 'photos', permissions: 'r' });
        const res = await request(`${sasgw.proxyUrl}/${DEV_ACCOUNT}/photos?restype=container&comp=list&${noList}`);
        assert.equal(res.status, 403);
        assert.equal(azureCode(res.body), 'AuthorizationPermissionMismatch');
    });

    test('expired, not yet valid, wrong IP, http on https-only, tampered', async () => {
        const cases = [
            ['expired', sdkSas({ container: 'photos', blob: 'seed.txt', startsOn: new Date(Date.now() - 7200e3), expiresOn: hourAgo() }),
                'AuthenticationFailed', /expired/],
            ['not yet valid', sdkSas({ container: 'photos', blob: 'seed.txt', startsOn: new Date(Date.now() + 3600e3),
                expiresOn: new Date(Date.now() + 7200e3) }), 'AuthenticationFailed', /not valid before|not yet valid/],
            ['wrong ip', sdkSas({ container: 'photos', blob: 'seed.txt', ipRange: { start: '10.0.0.1', end: '10.0.0.9' } }),
                'AuthorizationSourceIPMismatch', /10\.0\.0\.1/],
            ['https only', sdkSas({ container: 'photos', blob: 'seed.txt', protocol: 'https' }), 'AuthorizationProtocolMismatch', /https/],
        ];
        const good = sdkSas({ container: 'photos', blob: 'seed.txt', permissions: 'r' });
        const q = new URLSearchParams(good);
        q.set('sp', 'rw'); /* tampered: more permissions than signed */
        cases.push(['tampered sp', q.toString(), 'AuthenticationFailed', /signature/]);
        const q2 = new URLSearchParams(good);
        q2.set('se', new Date(Date.now() + 864000e3).toISOString().replace(/\.\d+Z$/, 'Z'));
        cases.push(['tampered se', q2.toString(), 'AuthenticationFailed', /signature/]);
        for (const [what, sas, code, detail] of cases) {
            const res = await request(blobUrl('photos', 'seed.txt', sas));
            assert.equal(res.status, 403, what);
            assert.equal(azureCode(res.body), code, `${what}: ${res.body}`);
            assert.match(res.body, /<AuthenticationErrorDetail>/, what);
            assert.match(res.body, detail, `${what}: ${res.body}`);
            assert.doesNotMatch(res.body, new RegExp(DEV_KEY.slice(0, 20).replace(/[+/]/g, '.')), 'no key material');
        }
        /* the SDK surfaces the code */
        const ipSas = cases[2][1];
        await assert.rejects(new BlockBlobClient(blobUrl('photos', 'seed.txt', ipSas)).download(),
            (err) => err.statusCode === 403 && (err.code ?? err.details?.errorCode) === 'AuthorizationSourceIPMismatch');
    });

    test('a request without a SAS, an unknown account, dot segments, encoded slashes and huge queries are refused cleanly', async () => {
        const sas = sdkSas({ container: 'photos', blob: 'seed.txt', permissions: 'r' });
        let res = await request(`${sasgw.proxyUrl}/${DEV_ACCOUNT}/photos/seed.txt`);
        assert.equal(res.status, 403);
        res = await request(`${sasgw.proxyUrl}/nosuchaccount/photos/seed.txt?${sas}`);
        assert.equal(res.status, 404);
        assert.equal(azureCode(res.body), 'ResourceNotFound');
        /* raw request targets (URL objects would normalise them) */
        for (const p of [`/photos/x/../seed.txt`, `/photos/./seed.txt`, `/photos/x/%2e%2e/seed.txt`, `/photos%2Fseed.txt`,
            `/photos/x%2F..%2Fseed.txt`, `/photos/x%5C..%5Cseed.txt`]) {
            res = await rawRequest(sasgw.proxyPort, `/${DEV_ACCOUNT}${p}?${sas}`);
            assert.ok([400, 403].includes(res.status), `${p}: ${res.status} ${res.body}`);
        }
        res = await request(`${sasgw.proxyUrl}/${DEV_ACCOUNT}/photos/seed.txt?${sas}&pad=${'x'.repeat(6000)}`);
        assert.equal(res.status, 403);
        res = await request(`${sasgw.proxyUrl}/${DEV_ACCOUNT}/photos/seed.txt?${sas}&sp=r`);
        assert.equal(res.status, 400, 'repeated sp');
        assert.equal(azureCode(res.body), 'InvalidQueryParameterValue');
        assert.match(res.body, /twice|duplicate|more than once/i);
        /* and the proxy still serves */
        res = await request(blobUrl('photos', 'seed.txt', sas));
        assert.equal(res.status, 200);
        assert.equal(res.body, 'seed');
    });
});

describe('origin mode', () => {
    test('SAS parameters are stripped, operation parameters kept, unknown ones dropped', async () => {
        const sas = sdkSas({ account: ORIGIN_ACCOUNT, key: ORIGIN_KEY, container: 'docs', blob: 'a b.txt', permissions: 'rw' });
        origin.requests.length = 0;
        let res = await request(`${sasgw.proxyUrl}/${ORIGIN_ACCOUNT}/docs/a%20b.txt?${sas}`);
        assert.equal(res.status, 200, res.body);
        assert.equal(origin.requests[0].url, `/${ORIGIN_ACCOUNT}/docs/a%20b.txt`);
        res = await request(`${sasgw.proxyUrl}/${ORIGIN_ACCOUNT}/docs/a%20b.txt?comp=metadata&${sas}&x-custom=1`, {
            method: 'PUT', headers: { 'content-length': '0' },
        });
        assert.equal(res.status, 200, res.body);
        assert.equal(origin.requests[1].url, `/${ORIGIN_ACCOUNT}/docs/a%20b.txt?comp=metadata`);
        for (const r of origin.requests)
            assert.doesNotMatch(r.url, /sig=|sv=|sp=|se=|sr=/);
        /* a wrong signature never reaches the origin */
        const n = origin.requests.length;
        res = await request(`${sasgw.proxyUrl}/${ORIGIN_ACCOUNT}/docs/a%20b.txt?${sas.replace(/sig=[^&]+/, 'sig=' + encodeURIComponent(randomBytes(32).toString('base64')))}`);
        assert.equal(res.status, 403);
        assert.equal(origin.requests.length, n);
    });
});

describe('backend failures', () => {
    test('a stalled backend -> 504 after upstream_timeout, never a hang', async () => {
        const sas = sdkSas({ account: STALL_ACCOUNT, key: ORIGIN_KEY, container: 'c', blob: 'b', permissions: 'r' });
        const t0 = Date.now();
        const res = await request(`${sasgw.proxyUrl}/${STALL_ACCOUNT}/c/b?${sas}`, { timeoutMs: 20000 });
        const ms = Date.now() - t0;
        assert.equal(res.status, 504, res.body);
        assert.ok(ms >= 1500 && ms < 10000, `answered after ${ms} ms`);
    });

    test('Azurite killed -> 502; back on the same port -> served again', async () => {
        const sas = sdkSas({ container: 'photos', blob: 'seed.txt', permissions: 'r' });
        const port = azurite.port;
        await azurite.stop();
        const res = await request(blobUrl('photos', 'seed.txt', sas));
        assert.equal(res.status, 502);
        azurite = await startAzurite({ port });
        direct = new BlobServiceClient(azurite.accountUrl, new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_KEY));
        await direct.getContainerClient('photos').create();
        await direct.getContainerClient('photos').getBlockBlobClient('seed.txt').upload('back', 4);
        const again = await waitFor(async () => {
            const r = await request(blobUrl('photos', 'seed.txt', sas));
            return r.status === 200 ? r : null;
        }, { what: 'proxy serves again', timeoutMs: 10000 });
        assert.equal(again.body, 'back');
    });

    test('a client that disconnects mid-upload leaves nothing behind', async () => {
        const sas = sdkSas({ container: 'photos', blob: 'partial.bin', permissions: 'cw' });
        await new Promise((resolve) => {
            const req = http.request(blobUrl('photos', 'partial.bin', sas), {
                method: 'PUT', agent: false,
                headers: { 'x-ms-blob-type': 'BlockBlob', 'content-length': String(8 * 1024 * 1024) },
            });
            req.on('error', () => resolve());
            req.write(randomBytes(1024 * 1024), () => setTimeout(() => {
                req.destroy();
                resolve();
            }, 200));
        });
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(await direct.getContainerClient('photos').getBlobClient('partial.bin').exists(), false);
        const ok = sdkSas({ container: 'photos', blob: 'seed.txt', permissions: 'r' });
        assert.equal((await request(blobUrl('photos', 'seed.txt', ok))).status, 200, 'proxy still healthy');
    });
});
