// enforcement.test.mjs - the proxy enforces what the backend will really do
// (issue 9 items 1, 2, 3 proxy side, 8), with Azurite, Redis, the official
// SDK, raw sockets and curl:
//   copy sources    a write SAS plus x-ms-copy-source naming a blob the caller
//                   may not read is refused (403 CannotVerifyCopySource) for
//                   every operation that names a source, and nothing is
//                   written; a revoked source SAS too; with a valid read SAS on
//                   the source the copy works
//   headers         x-ms-copy-source-authorization and method overrides refused
//   target          COMP=, repeats, a raw '#', non-URI bytes: 400
//   create only     sp=c never overwrites (If-None-Match: * upstream: 409)
//   origin mode     unknown parameters dropped, rscc/rscd/rsct applied
//   HTTP/2          off unless http2: true (h2c preface and ALPN); on with it;
//                   a body over http2_max_body never reaches the backend
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import {
    AppendBlobClient, BlobClient, BlobSASPermissions, BlobServiceClient, BlockBlobClient, PageBlobClient, StorageSharedKeyCredential,
    generateBlobSASQueryParameters,
} from '@azure/storage-blob';

import { DEV_ACCOUNT, DEV_KEY, startAzurite, startRedis, stopAll, waitFor } from './lib/stack.mjs';
import {
    azureCode, rawRequest, request, revokeInRedis, sdkSas, startOrigin, startProxySasgw, stopProxyStacks, tokenIdOfQuery,
} from './lib/proxy-helpers.mjs';

const ORIGIN_ACCOUNT = 'originacct';
const ORIGIN_KEY = randomBytes(64).toString('base64');
const SECRET = 'top secret, not for demo writers';
const H2_MAX_BODY = 1024 * 1024;

let redis, azurite, origin, sasgw, sasgwH2, direct, tmp;

before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), `sasgw-e2e-${process.pid}-enforce-`));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(tmp, 'key.pem'),
        '-out', path.join(tmp, 'cert.pem'), '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
    { stdio: 'ignore' });
    [redis, azurite] = await Promise.all([startRedis(), startAzurite()]);
    origin = await startOrigin();
    const accounts = [
        { name: DEV_ACCOUNT, key: DEV_KEY, backend: `http://127.0.0.1:${azurite.port}`, mode: 'passthrough' },
        { name: ORIGIN_ACCOUNT, key: ORIGIN_KEY, backend: `http://127.0.0.1:${origin.port}`, mode: 'origin' },
    ];
    const certs = { certFile: path.join(tmp, 'cert.pem'), keyFile: path.join(tmp, 'key.pem') };
    [sasgw, sasgwH2] = await Promise.all([
        startProxySasgw({ redisPort: redis.port, accounts, tls: certs }),
        startProxySasgw({ redisPort: redis.port, accounts, tls: certs, http2: true, extraProxyYaml: `  http2_max_body: ${H2_MAX_BODY}\n` }),
    ]);
    direct = new BlobServiceClient(azurite.accountUrl, new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_KEY));
    await direct.getContainerClient('demo').create();
    await direct.getContainerClient('private').create();
    await direct.getContainerClient('private').getBlockBlobClient('secret').upload(SECRET, SECRET.length);
});
after(async () => {
    await stopProxyStacks();
    await stopAll();
    rmSync(tmp, { recursive: true, force: true });
});

const proxyBlob = (container, blob, sas, base = sasgw.proxyUrl) => `${base}/${DEV_ACCOUNT}/${container}/${blob}?${sas}`;
/* the copy source as Azurite must see it: its own host (it refuses sources on another instance) */
const sourceUrl = (sas) => `${azurite.accountUrl}/private/secret${sas ? `?${sas}` : ''}`;
const exists = (container, blob) => direct.getContainerClient(container).getBlobClient(blob).exists();

/* Resolves to the RestError an SDK call throws (fails when it does not throw). */
async function sdkError(promise) {
    try {
        await promise;
    } catch (err) {
        return err;
    }
    assert.fail('the call succeeded');
}

/* A request on a fresh socket with these exact head lines; resolves to {status, head, body}. */
function rawExchange(port, head) {
    return new Promise((resolve, reject) => {
        const sock = net.connect({ host: '127.0.0.1', port });
        let got = '';
        sock.setTimeout(10000, () => sock.destroy(new Error('raw exchange timed out')));
        sock.on('connect', () => sock.write(head));
        sock.on('data', (d) => (got += d.toString('latin1')));
        sock.on('end', () => {
            const m = /^HTTP\/1\.1 (\d+)/.exec(got);
            const at = got.indexOf('\r\n\r\n');
            resolve({ status: m ? Number(m[1]) : 0, head: got.slice(0, at), body: got.slice(at + 4) });
        });
        sock.on('error', reject);
    });
}

describe('copy sources', () => {
    test('the copy attack: a write SAS on demo/x plus x-ms-copy-source naming private/secret -> 403, nothing written', async () => {
        const sas = sdkSas({ container: 'demo', blob: 'x', permissions: 'rcw' });
        const url = proxyBlob('demo', 'x', sas);
        const attempts = [
            ['Copy Blob (beginCopyFromURL)', () => new BlobClient(url).beginCopyFromURL(sourceUrl())],
            ['Copy Blob From URL (syncCopyFromURL)', () => new BlobClient(url).syncCopyFromURL(sourceUrl())],
            ['Put Blob From URL (syncUploadFromURL)', () => new BlockBlobClient(url).syncUploadFromURL(sourceUrl())],
            ['Put Block From URL (stageBlockFromURL)', () => new BlockBlobClient(url).stageBlockFromURL(btoa('block-1'), sourceUrl())],
            ['Append Block From URL', () => new AppendBlobClient(url).appendBlockFromURL(sourceUrl(), 0, SECRET.length)],
            ['Put Page From URL', () => new PageBlobClient(url).uploadPagesFromURL(sourceUrl(), 0, 0, 512)],
        ];
        for (const [what, call] of attempts) {
            const err = await sdkError(call());
            assert.equal(err.statusCode, 403, `${what}: ${err.message}`);
            assert.equal(err.code, 'CannotVerifyCopySource', what);
            assert.equal(await exists('demo', 'x'), false, `${what} wrote demo/x`);
        }
        /* the same by hand, host style and with a SAS for another blob */
        const other = sdkSas({ container: 'private', blob: 'other', permissions: 'r' });
        for (const src of [sourceUrl(), `https://${DEV_ACCOUNT}.blob.core.windows.net/private/secret`, `${azurite.accountUrl}/private/secret?${other}`]) {
            const res = await request(url, { method: 'PUT', headers: { 'x-ms-copy-source': src, 'x-ms-version': '2021-08-06', 'content-length': '0' } });
            assert.equal(res.status, 403, `${src}: ${res.body}`);
            assert.equal(azureCode(res.body), 'CannotVerifyCopySource');
        }
        assert.equal(await exists('demo', 'x'), false);
    });

    test('a revoked source SAS -> 403 CannotVerifyCopySource', async () => {
        const dest = sdkSas({ container: 'demo', blob: 'revoked-copy', permissions: 'rcw' });
        /* its own expiry, so no other test mints the same token */
        const src = sdkSas({ container: 'private', blob: 'secret', permissions: 'r', expiresOn: new Date(Date.now() + 7000e3) });
        await revokeInRedis(redis.port, tokenIdOfQuery(src), Math.floor(Date.now() / 1000) + 7200);
        let res;
        await waitFor(async () => {
            res = await request(proxyBlob('demo', 'revoked-copy', dest), {
                method: 'PUT', headers: { 'x-ms-copy-source': sourceUrl(src), 'x-ms-version': '2021-08-06', 'content-length': '0' },
            });
            return /revoked/.test(res.body);
        }, { what: 'the revocation to reach the proxy', timeoutMs: 5000 });
        assert.equal(res.status, 403);
        assert.equal(azureCode(res.body), 'CannotVerifyCopySource');
        assert.equal(await exists('demo', 'revoked-copy'), false);
    });

    test('x-ms-copy-source-authorization -> 403, method overrides -> 400', async () => {
        const dest = sdkSas({ container: 'demo', blob: 'auth-copy', permissions: 'rcw' });
        let res = await request(proxyBlob('demo', 'auth-copy', dest), {
            method: 'PUT', headers: { 'x-ms-copy-source': sourceUrl(), 'x-ms-copy-source-authorization': 'Bearer x', 'content-length': '0' },
        });
        assert.equal(res.status, 403, res.body);
        assert.equal(azureCode(res.body), 'CannotVerifyCopySource');
        const read = sdkSas({ container: 'private', blob: 'secret', permissions: 'r' });
        for (const h of ['x-http-method', 'X-HTTP-Method-Override', 'x-method-override']) {
            res = await request(proxyBlob('private', 'secret', read), { headers: { [h]: 'DELETE' } });
            assert.equal(res.status, 400, `${h}: ${res.body}`);
            assert.equal(azureCode(res.body), 'UnsupportedHeader');
        }
        assert.equal(await exists('private', 'secret'), true);
    });

    test('with a valid read SAS on the source the copy works', async () => {
        const dest = sdkSas({ container: 'demo', blob: 'copied', permissions: 'rcw' });
        const src = sdkSas({ container: 'private', blob: 'secret', permissions: 'r' });
        const poller = await new BlobClient(proxyBlob('demo', 'copied', dest)).beginCopyFromURL(sourceUrl(src));
        await poller.pollUntilDone();
        assert.equal((await direct.getContainerClient('demo').getBlobClient('copied').downloadToBuffer()).toString(), SECRET);
        await new BlobClient(proxyBlob('demo', 'copied-sync', sdkSas({ container: 'demo', blob: 'copied-sync', permissions: 'cw' })))
            .syncCopyFromURL(sourceUrl(src));
        assert.equal((await direct.getContainerClient('demo').getBlobClient('copied-sync').downloadToBuffer()).toString(), SECRET);
    });

    test('a copy with c but not w creates only', async () => {
        await direct.getContainerClient('demo').getBlockBlobClient('copy-target').upload('mine', 4);
        const dest = sdkSas({ container: 'demo', blob: 'copy-target', permissions: 'c' });
        const src = sdkSas({ container: 'private', blob: 'secret', permissions: 'r' });
        const err = await sdkError(new BlobClient(proxyBlob('demo', 'copy-target', dest)).syncCopyFromURL(sourceUrl(src)));
        assert.ok([403, 409].includes(err.statusCode), err.message); /* Azurite refuses c on an existing blob itself */
        assert.equal((await direct.getContainerClient('demo').getBlobClient('copy-target').downloadToBuffer()).toString(), 'mine');
    });
});

describe('the request target and the operation', () => {
    test('COMP=, c%6Fmp=, repeats -> 400; a raw # or a non-URI byte -> 400', async () => {
        await direct.getContainerClient('demo').getBlockBlobClient('t.txt').upload('t', 1);
        const sas = sdkSas({ container: 'demo', blob: 't.txt', permissions: 'rwt' });
        for (const q of ['COMP=tags', 'c%6Fmp=tags', 'comp=tags&comp=tags', 'comp=tags&Comp=tags']) {
            const res = await rawRequest(sasgw.proxyPort, `/${DEV_ACCOUNT}/demo/t.txt?${q}&${sas}`);
            assert.equal(res.status, 400, `${q}: ${res.body}`);
            assert.equal(azureCode(res.body), 'InvalidQueryParameterValue', q);
        }
        /* Azure's own spelling passes */
        assert.equal((await rawRequest(sasgw.proxyPort, `/${DEV_ACCOUNT}/demo/t.txt?comp=tags&${sas}`)).status, 200);
        const hashSas = sdkSas({ container: 'demo', blob: 'a#b', permissions: 'rw' });
        for (const t of [`/${DEV_ACCOUNT}/demo/a#b?${hashSas}`, `/${DEV_ACCOUNT}/demo/t.txt?${sas}#frag`,
            `/${DEV_ACCOUNT}/demo/t"x.txt?${sas}`, `/${DEV_ACCOUNT}/demo/t{x}.txt?${sas}`, `/${DEV_ACCOUNT}/demo/t%zz.txt?${sas}`]) {
            const res = await rawRequest(sasgw.proxyPort, t);
            assert.equal(res.status, 400, `${t}: ${res.body}`);
            assert.equal(azureCode(res.body), 'InvalidUri', t);
        }
    });

    test('sp=c Put Blob creates only: If-None-Match: * upstream, a client\'s If-Match refused; content unchanged', async () => {
        /* an origin checks nothing itself: what it receives is what sasgw decided */
        const osas = generateBlobSASQueryParameters({
            containerName: 'docs', blobName: 'c.txt', permissions: BlobSASPermissions.parse('c'), expiresOn: new Date(Date.now() + 3600e3),
        }, new StorageSharedKeyCredential(ORIGIN_ACCOUNT, ORIGIN_KEY)).toString();
        const ourl = `${sasgw.proxyUrl}/${ORIGIN_ACCOUNT}/docs/c.txt?${osas}`;
        let res = await request(ourl, { method: 'PUT', headers: { 'x-ms-blob-type': 'BlockBlob', 'content-length': '1' }, body: 'c' });
        assert.equal(res.status, 200, res.body);
        assert.equal(origin.requests.at(-1).headers['if-none-match'], '*');
        const n = origin.requests.length;
        for (const h of [{ 'if-match': '*' }, { 'if-none-match': '"0x8D0"' }]) {
            res = await request(ourl, { method: 'PUT', headers: { ...h, 'x-ms-blob-type': 'BlockBlob', 'content-length': '1' }, body: 'c' });
            assert.equal(res.status, 403, res.body);
            assert.equal(azureCode(res.body), 'AuthorizationPermissionMismatch');
        }
        assert.equal(origin.requests.length, n, 'a refused create reached the origin');
        /* with Azurite: the existing blob stays (Azurite answers 403 for c on an existing blob, 409 with If-None-Match: *) */
        const blobs = direct.getContainerClient('demo');
        await blobs.getBlockBlobClient('keep.txt').upload('original', 8);
        const sas = sdkSas({ container: 'demo', blob: 'keep.txt', permissions: 'c' });
        const err = await sdkError(new BlockBlobClient(proxyBlob('demo', 'keep.txt', sas)).upload('overwritten', 11));
        assert.ok([403, 409].includes(err.statusCode), err.message);
        assert.equal((await blobs.getBlobClient('keep.txt').downloadToBuffer()).toString(), 'original');
        const fresh = sdkSas({ container: 'demo', blob: 'fresh.txt', permissions: 'c' });
        await new BlockBlobClient(proxyBlob('demo', 'fresh.txt', fresh)).upload('fresh', 5);
        assert.equal((await blobs.getBlobClient('fresh.txt').downloadToBuffer()).toString(), 'fresh');
        /* with w it overwrites */
        const rw = sdkSas({ container: 'demo', blob: 'keep.txt', permissions: 'cw' });
        await new BlockBlobClient(proxyBlob('demo', 'keep.txt', rw)).upload('replaced', 8);
        assert.equal((await blobs.getBlobClient('keep.txt').downloadToBuffer()).toString(), 'replaced');
    });
});

describe('origin mode', () => {
    const originSas = (blob, extra = {}) => generateBlobSASQueryParameters({
        containerName: 'docs', blobName: blob, permissions: BlobSASPermissions.parse('r'), expiresOn: new Date(Date.now() + 3600e3),
        ...extra,
    }, new StorageSharedKeyCredential(ORIGIN_ACCOUNT, ORIGIN_KEY)).toString();

    test('only the operation\'s parameters reach the origin; rscc, rscd, rsct replace its headers (HTTP/1.1)', async () => {
        origin.requests.length = 0;
        const sas = originSas('r.csv', { cacheControl: 'no-store', contentDisposition: 'attachment; filename="r.csv"', contentType: 'text/csv' });
        const res = await request(`${sasgw.proxyUrl}/${ORIGIN_ACCOUNT}/docs/r.csv?timeout=30&x-evil=1&${sas}&snapshot=2026-01-01T00%3A00%3A00Z`);
        assert.equal(res.status, 200, res.body);
        assert.equal(origin.requests[0].url, `/${ORIGIN_ACCOUNT}/docs/r.csv?timeout=30&snapshot=2026-01-01T00%3A00%3A00Z`);
        assert.equal(res.headers['content-type'], 'text/csv');
        assert.equal(res.headers['cache-control'], 'no-store');
        assert.equal(res.headers['content-disposition'], 'attachment; filename="r.csv"');
        /* without rsc*, the origin's own */
        const plain = await request(`${sasgw.proxyUrl}/${ORIGIN_ACCOUNT}/docs/r.csv?${originSas('r.csv')}`);
        assert.equal(plain.headers['content-type'], 'text/plain');
    });

    test('the same on the HTTP/2 path', { skip: !curlHasHttp2() && 'curl without HTTP/2' }, async () => {
        const sas = originSas('h.csv', { contentType: 'text/csv', cacheControl: 'max-age=5' });
        const r = await curl(['--http2-prior-knowledge', '-D', '-', '-o', '/dev/null', `${sasgwH2.proxyUrl}/${ORIGIN_ACCOUNT}/docs/h.csv?x=1&${sas}`]);
        assert.equal(r.err, null, r.stderr);
        assert.match(r.stdout, /^HTTP\/2 200/);
        assert.match(r.stdout, /\ncontent-type: text\/csv\r?\n/i);
        assert.match(r.stdout, /\ncache-control: max-age=5\r?\n/i);
        assert.equal(origin.requests.at(-1).url, `/${ORIGIN_ACCOUNT}/docs/h.csv`);
    });
});

function curlHasHttp2() {
    try {
        return /HTTP2/.test(execFileSync('curl', ['--version'], { encoding: 'utf8' }));
    } catch {
        return false;
    }
}
const curl = (args) => new Promise((resolve) => execFile('curl', ['-sS', '--max-time', '10', ...args], { timeout: 15000 },
    (err, stdout, stderr) => resolve({ err, stdout, stderr })));

/* The protocol a TLS listener selects when a client offers h2 and http/1.1. */
function alpnOf(port) {
    return new Promise((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port, ca: readFileSync(path.join(tmp, 'cert.pem')), ALPNProtocols: ['h2', 'http/1.1'] },
            () => {
                resolve(s.alpnProtocol);
                s.destroy();
            });
        s.on('error', reject);
    });
}

describe('HTTP/2 only where http2: true', { skip: !curlHasHttp2() && 'curl without HTTP/2' }, () => {
    test('off by default: the h2c preface gets GOAWAY HTTP_1_1_REQUIRED, ALPN selects http/1.1; HTTP/1.1 still served', async () => {
        const sas = sdkSas({ container: 'private', blob: 'secret', permissions: 'r' });
        const t0 = Date.now();
        const r = await curl(['--http2-prior-knowledge', '-o', '/dev/null', proxyBlob('private', 'secret', sas)]);
        assert.notEqual(r.err, null, 'HTTP/2 was served');
        assert.ok(Date.now() - t0 < 5000, 'a clean refusal, not a timeout');
        /* what it got: the server's SETTINGS, then GOAWAY(last stream 0, HTTP_1_1_REQUIRED), then the close */
        const frames = await new Promise((resolve, reject) => {
            const sock = net.connect({ host: '127.0.0.1', port: sasgw.proxyPort });
            const got = [];
            sock.setTimeout(5000, () => sock.destroy(new Error('no close after the refusal')));
            sock.on('connect', () => sock.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
            sock.on('data', (d) => got.push(d));
            sock.on('close', () => resolve(Buffer.concat(got)));
            sock.on('error', reject);
        });
        assert.equal(frames.toString('hex'), '000000040000000000' + '000008070000000000' + '00000000' + '0000000d');
        assert.equal(await alpnOf(sasgw.tlsPort), 'http/1.1');
        const res = await request(proxyBlob('private', 'secret', sas));
        assert.equal(res.status, 200);
        assert.equal(res.body, SECRET);
    });

    test('on with http2: true (h2c and ALPN h2); a body over http2_max_body never reaches the backend', async () => {
        const sas = sdkSas({ container: 'private', blob: 'secret', permissions: 'r', expiresOn: new Date(Date.now() + 5000e3) });
        let r = await curl(['--http2-prior-knowledge', '-o', '-', '-w', '\n%{http_version}', proxyBlob('private', 'secret', sas, sasgwH2.proxyUrl)]);
        assert.equal(r.err, null, r.stderr);
        assert.equal(r.stdout, `${SECRET}\n2`);
        assert.equal(await alpnOf(sasgwH2.tlsPort), 'h2');
        const file = path.join(tmp, 'big.bin');
        writeFileSync(file, randomBytes(H2_MAX_BODY + 64 * 1024));
        const up = sdkSas({ container: 'demo', blob: 'h2-big.bin', permissions: 'cw' });
        r = await curl(['--http2-prior-knowledge', '-X', 'PUT', '-H', 'x-ms-blob-type: BlockBlob', '--data-binary', `@${file}`,
            '-o', '/dev/null', '-w', '%{http_code}', proxyBlob('demo', 'h2-big.bin', up, sasgwH2.proxyUrl)]);
        assert.ok(r.err !== null || r.stdout === '413', `an oversized HTTP/2 body was accepted: ${r.stdout} ${r.stderr}`);
        assert.equal(await exists('demo', 'h2-big.bin'), false);
        /* under the limit it goes through */
        writeFileSync(file, randomBytes(H2_MAX_BODY - 1024));
        r = await curl(['--http2-prior-knowledge', '-X', 'PUT', '-H', 'x-ms-blob-type: BlockBlob', '--data-binary', `@${file}`,
            '-o', '/dev/null', '-w', '%{http_code}', proxyBlob('demo', 'h2-big.bin', up, sasgwH2.proxyUrl)]);
        assert.equal(r.stdout, '201', r.stderr);
    });
});
