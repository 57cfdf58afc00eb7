// signer-azurite.test.mjs - issue 2: sasgw's signer is byte-compatible with
// Azure Storage in both directions, checked against the real thing.
//
//   sasgw -> Azure: SAS tokens minted by `sasgw sas mint` are used by the
//   official SDK (@azure/storage-blob) against Azurite, which verifies them
//   with the same account key: blob, container and account SAS; a hostile
//   blob name; missing permission, wrong key, wrong blob and edited fields are
//   refused by Azurite (so it really checks what we sign).
//
//   Azure -> sasgw: tokens minted by the SDK (generate*SASQueryParameters) are
//   accepted by `sasgw sas verify`, with the token_id DESIGN §3 defines; edited
//   ones are refused with a reason. The same fields signed by both give the
//   same signature.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
    AccountSASPermissions,
    AccountSASResourceTypes,
    AccountSASServices,
    AnonymousCredential,
    BlobClient,
    BlobSASPermissions,
    BlobServiceClient,
    BlockBlobClient,
    ContainerClient,
    ContainerSASPermissions,
    SASProtocol,
    StorageSharedKeyCredential,
    generateAccountSASQueryParameters,
    generateBlobSASQueryParameters,
    newPipeline,
} from '@azure/storage-blob';

import { DEV_ACCOUNT, DEV_KEY, isoIn, lastJsonLine, runSasgw, startAzurite, stopAll, tokenIdOf } from './lib/stack.mjs';

/* A name that breaks naive encoders: spaces, +, &, %, non-ASCII, a character outside the BMP, and a directory. */
const HOSTILE_NAME = 'dir/ça va + 50% & co/é 𝄞.txt';
const CONTAINER = 'signer';
/* A valid key that is not the account's. */
const WRONG_KEY = Buffer.alloc(64, 0x5a).toString('base64');

const sharedKey = new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_KEY);
let azurite;
let service; /* BlobServiceClient with the shared key: sets up and checks, independently of any SAS */

/* Anonymous pipeline without retries: every request carries only the SAS in its URL. */
const sasPipeline = () => newPipeline(new AnonymousCredential(), { retryOptions: { maxTries: 1 } });

/* Path-style URL of a blob or container, each path segment percent-encoded. */
function resourceUrl(container, blob) {
    const path = [container, ...(blob === undefined ? [] : blob.split('/'))].map(encodeURIComponent).join('/');
    return `${azurite.accountUrl}/${path}`;
}

/**
 * Runs `sasgw sas mint` for the dev account with extra args; asserts exit 0
 * and resolves to the query string it printed (without a leading '?').
 */
async function mint(args, key = DEV_KEY) {
    const r = await runSasgw(['sas', 'mint', '--account', DEV_ACCOUNT, '--key', key, ...args]);
    assert.equal(r.code, 0, `sasgw sas mint ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    const query = r.stdout.trim().replace(/^\?/, '');
    assert.match(query, /(^|&)sig=[^&]+/, `no sig in mint output: ${r.stdout}`);
    assert.doesNotMatch(query, /\s/, 'mint output must be one query string');
    return query;
}

/** Runs `sasgw sas verify URL --key K [more]` and resolves to {code, json, stderr}. */
async function verify(url, more = [], key = DEV_KEY) {
    const r = await runSasgw(['sas', 'verify', url, '--key', key, ...more]);
    assert.ok(r.code === 0 || r.code === 1, `sasgw sas verify exited ${r.code} (usage?): ${r.stderr}${r.stdout}`);
    return { code: r.code, json: lastJsonLine(r.stdout), stderr: r.stderr };
}

/*
 * Asserts that a verify result is a refusal (exit 1) naming the expected
 * reason code (sas_reason_name(): signature_mismatch, permission_mismatch, ...)
 * with a sentence.
 */
function assertRefused(res, reason) {
    const text = JSON.stringify(res.json);
    assert.equal(res.code, 1, `expected refusal, got ${text}`);
    assert.equal(res.json.valid, false, text);
    assert.equal(res.json.reason, reason, text);
    assert.ok(typeof res.json.message === 'string' && res.json.message.length > 0, `refusal without a message: ${text}`);
}

/* Asserts that promise rejects with an Azure RestError of the given status (and one of codes, if given). */
async function assertRestError(promise, status, codes) {
    await assert.rejects(promise, (err) => {
        assert.equal(err.statusCode, status, `expected HTTP ${status}, got ${err.statusCode} ${err.code}: ${err.message}`);
        if (codes)
            assert.ok(codes.includes(err.code), `expected one of ${codes}, got ${err.code}`);
        return true;
    });
}

/* Replaces one parameter of a query string, keeping the others as they were encoded. */
function withParam(query, name, value) {
    const parts = query.split('&');
    const i = parts.findIndex((p) => p.startsWith(`${name}=`));
    assert.ok(i >= 0, `no ${name} in ${query}`);
    parts[i] = `${name}=${encodeURIComponent(value)}`;
    return parts.join('&');
}

function param(query, name) {
    return new URLSearchParams(query).get(name);
}

before(async () => {
    azurite = await startAzurite();
    service = new BlobServiceClient(azurite.accountUrl, sharedKey);
    await service.getContainerClient(CONTAINER).create();
});

after(stopAll);

describe('sasgw-minted SAS used by the SDK against Azurite', () => {
    test('blob SAS: upload and download a blob with a hostile name, content round-trips', async () => {
        const body = Buffer.from(`héllo from sasgw ${Date.now()} 𝄞\n`);
        const write = await mint(['--container', CONTAINER, '--blob', HOSTILE_NAME, '--permissions', 'rcw', '--expiry', isoIn(3600)]);
        const up = new BlockBlobClient(`${resourceUrl(CONTAINER, HOSTILE_NAME)}?${write}`, sasPipeline());
        assert.equal(up.name, HOSTILE_NAME);
        await up.upload(body, body.length);

        const read = await mint(['--container', CONTAINER, '--blob', HOSTILE_NAME, '--permissions', 'r', '--expiry', isoIn(3600)]);
        const down = new BlobClient(`${resourceUrl(CONTAINER, HOSTILE_NAME)}?${read}`, sasPipeline());
        assert.deepEqual(await down.downloadToBuffer(), body);

        /* Stored under exactly that name, as the shared-key view confirms. */
        const names = [];
        for await (const b of service.getContainerClient(CONTAINER).listBlobsFlat({ prefix: 'dir/' }))
            names.push(b.name);
        assert.ok(names.includes(HOSTILE_NAME), `blob names: ${JSON.stringify(names)}`);
    });

    test('older string-to-sign layouts (--sv 2018-11-09, 2019-12-12, 2020-12-06) are accepted too', async () => {
        for (const sv of ['2018-11-09', '2019-12-12', '2020-12-06']) {
            const sas = await mint(['--container', CONTAINER, '--blob', HOSTILE_NAME, '--permissions', 'r', '--expiry', isoIn(3600), '--sv', sv]);
            assert.equal(param(sas, 'sv'), sv);
            const props = await new BlobClient(`${resourceUrl(CONTAINER, HOSTILE_NAME)}?${sas}`, sasPipeline()).getProperties();
            assert.ok(props.contentLength > 0, `sv=${sv}`);
        }
    });

    test('container SAS with l lists the blobs and reads one inside', async () => {
        const body = Buffer.from('listed');
        await service.getContainerClient(CONTAINER).getBlockBlobClient('listed/one & two.txt').upload(body, body.length);

        const sas = await mint(['--container', CONTAINER, '--permissions', 'rl', '--expiry', isoIn(3600)]);
        const container = new ContainerClient(`${resourceUrl(CONTAINER)}?${sas}`, sasPipeline());
        const names = [];
        for await (const b of container.listBlobsFlat())
            names.push(b.name);
        assert.ok(names.includes('listed/one & two.txt'), `blob names: ${JSON.stringify(names)}`);
        assert.deepEqual(await container.getBlobClient('listed/one & two.txt').downloadToBuffer(), body);
    });

    test('container SAS without l cannot list (Azurite checks sp)', async () => {
        const sas = await mint(['--container', CONTAINER, '--permissions', 'r', '--expiry', isoIn(3600)]);
        const container = new ContainerClient(`${resourceUrl(CONTAINER)}?${sas}`, sasPipeline());
        await assertRestError(container.listBlobsFlat().next(), 403);
    });

    test('account SAS (ss=b, srt=sco): create a container, write, list and read', async () => {
        const sas = await mint(['--services', 'b', '--resource-types', 'sco', '--permissions', 'rwlc', '--expiry', isoIn(3600)]);
        assert.equal(param(sas, 'ss'), 'b');
        assert.equal(param(sas, 'srt'), 'sco');
        const acct = new BlobServiceClient(`${azurite.accountUrl}?${sas}`, sasPipeline());

        await acct.getContainerClient('acctsas').create();
        const containers = [];
        for await (const c of acct.listContainers())
            containers.push(c.name);
        assert.ok(containers.includes('acctsas'), `containers: ${JSON.stringify(containers)}`);

        const body = Buffer.from('through an account SAS');
        const blob = acct.getContainerClient('acctsas').getBlockBlobClient(HOSTILE_NAME);
        await blob.upload(body, body.length);
        assert.deepEqual(await blob.downloadToBuffer(), body);
    });
});

describe('Azurite refuses what the signature does not allow', () => {
    test('blob SAS without w or c: upload refused with 403', async () => {
        const sas = await mint(['--container', CONTAINER, '--blob', 'readonly.txt', '--permissions', 'r', '--expiry', isoIn(3600)]);
        const blob = new BlockBlobClient(`${resourceUrl(CONTAINER, 'readonly.txt')}?${sas}`, sasPipeline());
        await assertRestError(blob.upload('x', 1), 403, ['AuthorizationPermissionMismatch']);
        assert.equal(await service.getContainerClient(CONTAINER).getBlobClient('readonly.txt').exists(), false);
    });

    test('SAS signed with a wrong key: 403, while the same fields with the right key pass', async () => {
        const fields = ['--container', CONTAINER, '--blob', HOSTILE_NAME, '--permissions', 'r', '--expiry', isoIn(3600)];
        const good = await mint(fields);
        const bad = await mint(fields, WRONG_KEY);
        assert.notEqual(param(good, 'sig'), param(bad, 'sig'));
        await new BlobClient(`${resourceUrl(CONTAINER, HOSTILE_NAME)}?${good}`, sasPipeline()).getProperties();
        await assertRestError(new BlobClient(`${resourceUrl(CONTAINER, HOSTILE_NAME)}?${bad}`, sasPipeline()).getProperties(), 403);
    });

    test('a signed field changed after minting: 403', async () => {
        const sas = await mint(['--container', CONTAINER, '--blob', HOSTILE_NAME, '--permissions', 'r', '--expiry', isoIn(3600)]);
        const url = (q) => `${resourceUrl(CONTAINER, HOSTILE_NAME)}?${q}`;
        await new BlobClient(url(sas), sasPipeline()).getProperties();
        await assertRestError(new BlobClient(url(withParam(sas, 'se', isoIn(7200))), sasPipeline()).getProperties(), 403);
    });

    test('blob SAS used on another blob: 403', async () => {
        const sas = await mint(['--container', CONTAINER, '--blob', 'a.txt', '--permissions', 'rcw', '--expiry', isoIn(3600)]);
        const other = new BlockBlobClient(`${resourceUrl(CONTAINER, 'b.txt')}?${sas}`, sasPipeline());
        await assertRestError(other.upload('x', 1), 403);
    });
});

describe('SDK-minted SAS checked by sasgw sas verify', () => {
    const blobName = HOSTILE_NAME;

    /* An SDK service SAS for HOSTILE_NAME (or the container when blob is null). */
    function sdkServiceSas({ permissions = 'r', blob = blobName, version } = {}) {
        const perms = blob === null ? ContainerSASPermissions.parse(permissions) : BlobSASPermissions.parse(permissions);
        return generateBlobSASQueryParameters({
            containerName: CONTAINER,
            ...(blob === null ? {} : { blobName: blob }),
            permissions: perms,
            startsOn: new Date(Date.now() - 5 * 60 * 1000),
            expiresOn: new Date(Date.now() + 3600 * 1000),
            ...(version ? { version } : {}),
        }, sharedKey).toString();
    }

    test('blob SAS (default version): valid, with the token_id of DESIGN §3', async () => {
        const sas = sdkServiceSas();
        const res = await verify(`${resourceUrl(CONTAINER, blobName)}?${sas}`);
        assert.equal(res.code, 0, JSON.stringify(res.json));
        assert.equal(res.json.valid, true);
        assert.match(res.json.token_id, /^[A-Za-z0-9_-]{22}$/);
        assert.equal(res.json.token_id, tokenIdOf(param(sas, 'sig')));
        /* the percent-encoded path was decoded to the very name the SDK signed */
        assert.deepEqual(res.json.resource, { account: DEV_ACCOUNT, container: CONTAINER, blob: blobName });
    });

    test('blob SAS across string-to-sign layouts (2018-11-09, 2019-12-12, 2020-12-06)', async () => {
        for (const version of ['2018-11-09', '2019-12-12', '2020-12-06']) {
            const sas = sdkServiceSas({ version });
            assert.equal(param(sas, 'sv'), version);
            const res = await verify(`${resourceUrl(CONTAINER, blobName)}?${sas}`);
            assert.equal(res.code, 0, `sv=${version}: ${JSON.stringify(res.json)}`);
            assert.equal(res.json.token_id, tokenIdOf(param(sas, 'sig')));
        }
    });

    test('container SAS: valid for a blob inside, refused for another container', async () => {
        const sas = sdkServiceSas({ permissions: 'rl', blob: null });
        const ok = await verify(`${resourceUrl(CONTAINER, blobName)}?${sas}`);
        assert.equal(ok.code, 0, JSON.stringify(ok.json));
        assert.equal(ok.json.valid, true);
        assertRefused(await verify(`${resourceUrl('elsewhere', blobName)}?${sas}`), 'signature_mismatch');
    });

    test('account SAS: valid', async () => {
        const sas = generateAccountSASQueryParameters({
            services: AccountSASServices.parse('b').toString(),
            resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
            permissions: AccountSASPermissions.parse('rl'),
            protocol: SASProtocol.HttpsAndHttp,
            expiresOn: new Date(Date.now() + 3600 * 1000),
        }, sharedKey).toString();
        const res = await verify(`${resourceUrl(CONTAINER, blobName)}?${sas}`);
        assert.equal(res.code, 0, JSON.stringify(res.json));
        assert.equal(res.json.token_id, tokenIdOf(param(sas, 'sig')));
    });

    test('tampered tokens are refused with a reason', async () => {
        const sas = sdkServiceSas();
        const url = (q, blob = blobName) => `${resourceUrl(CONTAINER, blob)}?${q}`;

        /* permissions widened */
        assertRefused(await verify(url(withParam(sas, 'sp', 'rw'))), 'signature_mismatch');
        /* expiry pushed out */
        assertRefused(await verify(url(withParam(sas, 'se', isoIn(86400)))), 'signature_mismatch');
        /* one signature byte flipped */
        const sig = Buffer.from(param(sas, 'sig'), 'base64');
        sig[0] ^= 1;
        assertRefused(await verify(url(withParam(sas, 'sig', sig.toString('base64')))), 'signature_mismatch');
        /* another blob */
        assertRefused(await verify(url(sas, 'dir/other.txt')), 'signature_mismatch');
        /* the right token with the wrong key */
        assertRefused(await verify(url(sas), [], WRONG_KEY), 'signature_mismatch');
        /* and the untouched token still passes, so the refusals above are about the edits */
        assert.equal((await verify(url(sas))).code, 0);
    });

    test('an operation sp does not grant is refused', async () => {
        const sas = sdkServiceSas({ permissions: 'r' });
        const url = `${resourceUrl(CONTAINER, blobName)}?${sas}`;
        assert.equal((await verify(url, ['--method', 'GET'])).code, 0);
        assertRefused(await verify(url, ['--method', 'PUT']), 'permission_mismatch');
        assertRefused(await verify(url, ['--method', 'DELETE']), 'permission_mismatch');
    });
});

test('the same fields signed by sasgw and by the SDK give the same signature', async () => {
    const start = isoIn(-300);
    const expiry = isoIn(3600);
    const sdk = generateBlobSASQueryParameters({
        containerName: CONTAINER,
        blobName: HOSTILE_NAME,
        permissions: BlobSASPermissions.parse('racwd'),
        startsOn: new Date(start),
        expiresOn: new Date(expiry),
        ipRange: { start: '127.0.0.1', end: '127.0.0.255' },
        protocol: SASProtocol.HttpsAndHttp,
        contentType: 'text/plain; charset=utf-8',
        contentDisposition: 'attachment; filename="é 𝄞.txt"',
    }, sharedKey).toString();
    const ours = await mint([
        '--container', CONTAINER, '--blob', HOSTILE_NAME, '--permissions', param(sdk, 'sp'),
        '--start', start, '--expiry', expiry, '--ip', '127.0.0.1-127.0.0.255', '--protocol', 'https,http',
        '--content-type', 'text/plain; charset=utf-8', '--content-disposition', 'attachment; filename="é 𝄞.txt"',
        '--sv', param(sdk, 'sv'),
    ]);
    for (const name of ['sv', 'sr', 'sp', 'st', 'se', 'sip', 'spr', 'rsct', 'rscd'])
        assert.equal(param(ours, name), param(sdk, name), `parameter ${name}`);
    assert.equal(param(ours, 'sig'), param(sdk, 'sig'));
});
