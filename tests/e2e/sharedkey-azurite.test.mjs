// sharedkey-azurite.test.mjs - issue 12: requests authorized by OUR Shared Key
// signer (signer/sas_sharedkey.c, through the tests/signer/sharedkey_sign
// helper) are accepted by a real Azurite, which recomputes the signature with
// the account key: container create, blob PUT with metadata and content
// headers, GET with Range and x-ms-range, list, blocks with encoded ids, odd
// blob names, delete. Changed bytes and a wrong key are refused (so Azurite
// really checks what we sign). Two cases show why the signer departs from, or
// refuses, what @azure/storage-common 12.5.0 signs: its swapped
// Content-Encoding/Content-Language lines and its dropping of empty-valued
// query parameters are both refused by Azurite. Then the other direction: the
// SDK's own requests verified by sas_sk_verify() in bench/sharedkey_origin.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { BlobServiceClient, StorageSharedKeyCredential, newPipeline } from '@azure/storage-blob';

import { DEV_ACCOUNT, DEV_KEY, SOURCE_DIR, freePort, httpStatus as httpStatusOf, startAzurite, stopAll, waitFor } from './lib/stack.mjs';

const require = createRequire(path.join(SOURCE_DIR, 'package.json'));
const { storageSharedKeyCredentialPolicy } = require('@azure/storage-common');
const { createPipelineRequest, createHttpHeaders } = require('@azure/core-rest-pipeline');

const HELPER = path.join(process.env.SASGW_BUILD_DIR ?? path.join(SOURCE_DIR, 'build'), 'tests', 'signer', 'sharedkey_sign');
const VERSION = '2025-11-05';
const CONTAINER = 'sharedkey';
const WRONG_KEY = Buffer.alloc(64, 0x5a).toString('base64');

let azurite;
let service; /* the SDK with the same key, to set up and to check independently */

/* Our signer's answer for one request: {authorization, string_to_sign} or {refused, message}. */
function ourSign({ method, path: p, query = '', headers, key = DEV_KEY }) {
    assert.ok(existsSync(HELPER), `${HELPER} not built`);
    const input = JSON.stringify({ method, path: p, query, account: DEV_ACCOUNT, key, headers }) + '\n';
    const r = spawnSync(HELPER, [], { input, encoding: 'utf8' });
    assert.equal(r.status, 0, `sharedkey_sign: ${r.stderr}`);
    return JSON.parse(r.stdout.trim());
}

/* Sends exactly these bytes (path and query as given, headers in order) and resolves to {status, headers, body}. */
function send({ method, path: p, query = '', headers, body }) {
    return new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: azurite.port, method, path: query ? `${p}?${query}` : p,
                                   headers: Object.fromEntries(headers), agent: false, timeout: 10000 }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        });
        req.on('timeout', () => req.destroy(new Error(`${method} ${p} timed out`)));
        req.on('error', reject);
        if (body !== undefined)
            req.write(body);
        req.end();
    });
}

/* Signs with our code, adds Authorization, sends. */
async function signedSend(r, { key, tamper } = {}) {
    const headers = [['x-ms-date', new Date().toUTCString()], ['x-ms-version', VERSION], ...(r.headers ?? [])];
    if (r.body !== undefined)
        headers.push(['Content-Length', String(Buffer.byteLength(r.body))]);
    const s = ourSign({ ...r, headers, key });
    assert.ok(s.authorization, `our signer refused: ${s.message}`);
    const sent = tamper ? tamper(headers) : headers;
    const res = await send({ ...r, headers: [...sent, ['Authorization', s.authorization]] });
    return { ...res, sts: s.string_to_sign };
}

const blobPath = (name) => `/${DEV_ACCOUNT}/${CONTAINER}/${name.split('/').map(encodeURIComponent).join('/')}`;

describe('Shared Key signed by sasgw, checked by Azurite', () => {
    before(async () => {
        azurite = await startAzurite();
        service = new BlobServiceClient(azurite.accountUrl, new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_KEY));
    });
    after(stopAll);

    test('create a container', async () => {
        const r = await signedSend({ method: 'PUT', path: `/${DEV_ACCOUNT}/${CONTAINER}`, query: 'restype=container', headers: [] });
        assert.equal(r.status, 201, `${r.body}\n${r.sts}`);
        assert.ok(await service.getContainerClient(CONTAINER).exists());
    });

    test('PUT a blob with metadata (case, padding, inner spaces, underscores) and content headers', async () => {
        const r = await signedSend({
            method: 'PUT', path: blobPath('meta.txt'), body: 'hello shared key',
            headers: [['x-ms-blob-type', 'BlockBlob'], ['X-Ms-Meta-Colour', '  deep   blue  '], ['x-ms-meta-a_b', 'underscore'],
                      ['x-ms-meta-ab', 'plain'], ['x-ms-meta-A9', 'digit'], ['Content-Type', 'text/plain; charset=utf-8'],
                      ['Content-MD5', createHash('md5').update('hello shared key').digest('base64')], ['x-ms-blob-cache-control', 'max-age=60']],
        });
        assert.equal(r.status, 201, `${r.body}\n${r.sts}`);
        const props = await service.getContainerClient(CONTAINER).getBlobClient('meta.txt').getProperties();
        assert.equal(props.metadata.colour, 'deep   blue');
        assert.equal(props.metadata.ab, 'plain');
        assert.equal(props.contentType, 'text/plain; charset=utf-8');
        assert.equal(props.contentLength, 16);
    });

    test('Content-Encoding and Content-Language in the service order; the SDK as it is refused', async () => {
        const req = { method: 'PUT', path: blobPath('enc.txt'), body: 'zz',
                      headers: [['x-ms-blob-type', 'BlockBlob'], ['Content-Encoding', 'identity'], ['Content-Language', 'de-CH']] };
        const ours = await signedSend(req);
        assert.equal(ours.status, 201, `${ours.body}\n${ours.sts}`);
        assert.match(ours.sts, /^PUT\nidentity\nde-CH\n2\n/);
        /* the same request through @azure/storage-common's policy, sent as it signed it */
        const policy = storageSharedKeyCredentialPolicy({ accountName: DEV_ACCOUNT, accountKey: new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_KEY).accountKey });
        const headers = createHttpHeaders();
        for (const [n, v] of [['x-ms-version', VERSION], ...req.headers, ['Content-Length', '2']])
            headers.set(n, v);
        const pr = createPipelineRequest({ url: `${azurite.accountUrl}/${CONTAINER}/enc.txt`, method: 'PUT', headers });
        await policy.sendRequest(pr, async (x) => ({ request: x, status: 200, headers: createHttpHeaders() }));
        const sdk = await send({ method: 'PUT', path: blobPath('enc.txt'), headers: [...pr.headers], body: 'zz' });
        assert.equal(sdk.status, 403, 'Azurite reads Content-Encoding first, as the service documents');
    });

    test('GET with Range and with x-ms-range', async () => {
        const a = await signedSend({ method: 'GET', path: blobPath('meta.txt'), headers: [['Range', 'bytes=6-11']] });
        assert.equal(a.status, 206, `${a.body}\n${a.sts}`);
        assert.equal(a.body.toString(), 'shared');
        const b = await signedSend({ method: 'GET', path: blobPath('meta.txt'), headers: [['x-ms-range', 'bytes=13-']] });
        assert.equal(b.status, 206, `${b.body}\n${b.sts}`);
        assert.equal(b.body.toString(), 'key');
        const h = await signedSend({ method: 'HEAD', path: blobPath('meta.txt'), headers: [['If-None-Match', '"nope"']] });
        assert.equal(h.status, 200);
    });

    test('blocks with ids holding + / = and a block list', async () => {
        const ids = ['AA+/AA==', 'AB+/AA=='];
        for (const [i, id] of ids.entries()) {
            const r = await signedSend({ method: 'PUT', path: blobPath('blocks.bin'), query: `comp=block&blockid=${encodeURIComponent(id)}`,
                                         body: `part${i}` });
            assert.equal(r.status, 201, `${r.body}\n${r.sts}`);
            assert.match(r.sts, new RegExp(`\nblockid:${id.replace(/[+/]/g, '\\$&')}\ncomp:block$`));
        }
        const list = `<?xml version="1.0" encoding="utf-8"?><BlockList>${ids.map((id) => `<Latest>${id}</Latest>`).join('')}</BlockList>`;
        const r = await signedSend({ method: 'PUT', path: blobPath('blocks.bin'), query: 'comp=blocklist',
                                     headers: [['Content-Type', 'application/xml']], body: list });
        assert.equal(r.status, 201, `${r.body}\n${r.sts}`);
        const got = await service.getContainerClient(CONTAINER).getBlobClient('blocks.bin').downloadToBuffer();
        assert.equal(got.toString(), 'part0part1');
    });

    test('odd blob names', async () => {
        for (const name of ['dir/ça va + 50% & co/é 𝄞.txt', "it's (1) ~!*.txt", 'a%2Fb', 'semi;colon=eq@at,comma']) {
            const put = await signedSend({ method: 'PUT', path: blobPath(name), body: name, headers: [['x-ms-blob-type', 'BlockBlob']] });
            assert.equal(put.status, 201, `${name}: ${put.body}\n${put.sts}`);
            const get = await signedSend({ method: 'GET', path: blobPath(name), headers: [] });
            assert.equal(get.status, 200, `${name}: ${get.body}`);
            assert.equal(get.body.toString(), name);
        }
    });

    test('list with prefix, include and a raw comma', async () => {
        const r = await signedSend({ method: 'GET', path: `/${DEV_ACCOUNT}/${CONTAINER}`,
                                     query: `restype=container&comp=list&prefix=${encodeURIComponent('dir/ça')}&include=metadata,snapshots&maxresults=10`,
                                     headers: [] });
        assert.equal(r.status, 200, `${r.body}\n${r.sts}`);
        assert.match(r.body.toString(), /<Name>dir\/ça va \+ 50% &amp; co\/é 𝄞\.txt<\/Name>/);
        assert.doesNotMatch(r.body.toString(), /meta\.txt/);
        const all = await signedSend({ method: 'GET', path: `/${DEV_ACCOUNT}`, query: 'comp=list', headers: [] });
        assert.equal(all.status, 200);
        assert.match(all.body.toString(), new RegExp(`<Name>${CONTAINER}</Name>`));
    });

    test('changed bytes and a wrong key are refused by Azurite', async () => {
        const base = { method: 'GET', path: blobPath('meta.txt'), headers: [['x-ms-meta-x', 'y'], ['Range', 'bytes=0-3']] };
        assert.equal((await signedSend(base)).status, 206);
        const bad = await signedSend(base, { key: WRONG_KEY });
        assert.equal(bad.status, 403);
        const edited = await signedSend(base, { tamper: (h) => h.map(([n, v]) => (n === 'Range' ? [n, 'bytes=0-4'] : [n, v])) });
        assert.equal(edited.status, 403);
        const dated = await signedSend(base, { tamper: (h) => h.map(([n, v]) => (n === 'x-ms-date' ? [n, new Date(Date.now() - 3600e3).toUTCString()] : [n, v])) });
        assert.equal(dated.status, 403);
    });

    test('an empty-valued parameter: refused by us, and the SDK\'s signature of it refused by Azurite', async () => {
        const q = 'restype=container&comp=list&prefix=';
        const s = ourSign({ method: 'GET', path: `/${DEV_ACCOUNT}/${CONTAINER}`, query: q, headers: [['x-ms-version', VERSION]] });
        assert.equal(s.refused, 'malformed_query');
        const policy = storageSharedKeyCredentialPolicy({ accountName: DEV_ACCOUNT, accountKey: new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_KEY).accountKey });
        const pr = createPipelineRequest({ url: `${azurite.accountUrl}/${CONTAINER}?${q}`, method: 'GET', headers: createHttpHeaders({ 'x-ms-version': VERSION }) });
        await policy.sendRequest(pr, async (x) => ({ request: x, status: 200, headers: createHttpHeaders() }));
        const sdk = await send({ method: 'GET', path: `/${DEV_ACCOUNT}/${CONTAINER}`, query: q, headers: [...pr.headers] });
        assert.equal(sdk.status, 403, 'the JS SDK drops "prefix=" from the string to sign, Azurite signs "prefix:"');
    });

    test('DELETE', async () => {
        const r = await signedSend({ method: 'DELETE', path: blobPath('meta.txt'), headers: [] });
        assert.equal(r.status, 202, `${r.body}`);
        assert.equal(await service.getContainerClient(CONTAINER).getBlobClient('meta.txt').exists(), false);
    });
});

// The other direction: the official SDK's own requests (its pipeline, its
// headers, retries off) against bench/sharedkey_origin, which accepts a
// request only when sas_sk_verify() does.
describe('the SDK\'s Shared Key checked by sas_sk_verify (bench/sharedkey_origin)', () => {
    const ORIGIN = path.join(process.env.SASGW_BUILD_DIR ?? path.join(SOURCE_DIR, 'build'), 'bench', 'sharedkey_origin');
    const SIZE = 3000;
    let origin;
    let base;
    let stderr = '';
    const client = (name, key = DEV_KEY) =>
        new BlobServiceClient(base, newPipeline(new StorageSharedKeyCredential(DEV_ACCOUNT, key), { retryOptions: { maxTries: 1 } }))
            .getContainerClient('bench').getBlockBlobClient(name);

    before(async () => {
        assert.ok(existsSync(ORIGIN), `${ORIGIN} not built`);
        const port = await freePort();
        origin = spawn(ORIGIN, ['--port', String(port), '--account', DEV_ACCOUNT, '--size', String(SIZE), '--threads', '1'],
                       { stdio: ['ignore', 'ignore', 'pipe'] });
        origin.stderr.on('data', (d) => (stderr += d));
        await waitFor(async () => (await httpStatusOf(`http://127.0.0.1:${port}/`)) === 403, { what: 'sharedkey_origin' });
        base = `http://127.0.0.1:${port}/${DEV_ACCOUNT}`;
    });
    after(async () => {
        if (origin.exitCode === null) {
            const done = new Promise((r) => origin.once('exit', r));
            origin.kill('SIGTERM');
            await done;
        }
    });

    test('download, properties, upload with metadata and headers, delete: accepted', async () => {
        const got = await client('dir/ça va + 1%.bin').download();
        const chunks = [];
        for await (const c of got.readableStreamBody)
            chunks.push(c);
        const body = Buffer.concat(chunks);
        assert.equal(body.length, SIZE);
        assert.equal(body.subarray(0, 5).toString(), 'abcde');
        assert.equal((await client('p.txt').getProperties()).contentLength, SIZE);
        await client('up.txt').upload('hello', 5, {
            metadata: { Colour: 'blue', size_XL: '  padded  ' },
            blobHTTPHeaders: { blobContentType: 'text/plain', blobContentLanguage: 'en', blobCacheControl: 'no-cache' },
            conditions: { ifNoneMatch: '*' },
        });
        await client("it's (1).txt").delete();
        await client('r.bin').download(10, 20);
    });

    test('the SDK with another key: 403', async () => {
        await assert.rejects(client('x.bin', WRONG_KEY).getProperties(), (e) => e.statusCode === 403);
        await assert.rejects(client('x.bin', WRONG_KEY).upload('x', 1), (e) => e.statusCode === 403);
    });

    test('counts: every SDK request verified, only the wrong-key ones refused', async () => {
        const done = new Promise((r) => origin.once('exit', r));
        origin.kill('SIGTERM');
        await done;
        const m = /verified=(\d+) refused=(\d+)/.exec(stderr);
        assert.ok(m, stderr);
        assert.equal(Number(m[1]), 5, stderr); /* two downloads, properties, upload, delete */
        assert.equal(Number(m[2]), 2 + 1 /* the readiness probe */, stderr);
    });
});
