// issuer.test.mjs - the issuing API of `sasgw serve` (DESIGN §4, issue 4)
// against real Redis and Azurite: a minted SAS works with the official SDK
// straight at Azurite; 401s, 403s per rule, 400s and 413; Basic and JWT
// (RS256, ES256) callers, bad JWTs refused; policy reload on SIGHUP (a bad
// file keeps the old policy); audit records and the Redis issuance index.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { BlobServiceClient, BlockBlobClient, StorageSharedKeyCredential } from '@azure/storage-blob';

import {
    DEMO_APP, DEV_ACCOUNT, DEV_KEY, SOURCE_DIR, basicAuth, demoPolicyText, mintSas, redisCommand, signJwt, startAzurite,
    startRedis, startSasgw, stopAll, tokenIdOf,
} from './lib/stack.mjs';

const CONTAINER = 'demo';
const STRICT = { user: 'strict-app', secret: 'strict-secret' };
const sha256hex = (s) => createHash('sha256').update(s).digest('hex');

/* The demo policy plus a principal whose grant is https-only and restricted to 10.0.0.0/8 callers. */
function testPolicy(demoWriterTtl = '1h') {
    return demoPolicyText()
        .replace('\nprincipals:\n', `\nprincipals:
  strict-app:
    auth:
      basic: { secret_sha256: "${sha256hex(STRICT.secret)}" }
    roles: [strict-https, strict-ip]
`)
        .replace('\nroles:\n', `\nroles:
  strict-https:
    grants:
      - account: devstoreaccount1
        container: https-only
        permissions: r
        max_ttl: 1h
      - account: ghostaccount
        container: ghosts
        permissions: r
        max_ttl: 1h
  strict-ip:
    grants:
      - account: devstoreaccount1
        container: far-away
        permissions: r
        max_ttl: 1h
        protocol: https,http
        ip: [10.0.0.0/8]
`)
        .replace(/(demo-writer:\n    grants:\n[\s\S]*?max_ttl: )1h/, (m, head) => head + demoWriterTtl);
}

let redis, azurite, sasgw;

before(async () => {
    [redis, azurite] = await Promise.all([startRedis(), startAzurite()]);
    sasgw = await startSasgw({ redis, azurite, policy: testPolicy() });
    const svc = new BlobServiceClient(azurite.accountUrl, new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_KEY));
    await svc.getContainerClient(CONTAINER).create();
});
after(stopAll);

const body = (extra = {}) => ({ account: DEV_ACCOUNT, container: CONTAINER, blob: 'hello.txt', permissions: 'r', expires_in: 600, ...extra });

/* The minted URL, pointed at Azurite instead of the proxy. */
const atAzurite = (url) => url.replace(sasgw.proxyUrl, `http://127.0.0.1:${azurite.port}`);

describe('minting', () => {
    test('a minted SAS lets the SDK upload and download a blob with spaces, +, & and non-ASCII in its name', async () => {
        const name = 'dir one/a b+c&d=e?f #ü€😀.txt';
        const w = await mintSas(sasgw, body({ blob: name, permissions: 'cw' }));
        assert.equal(w.status, 201, w.body);
        for (const k of ['token', 'url', 'token_id', 'expires_on', 'key'])
            assert.equal(typeof w.json[k], 'string', k);
        assert.equal(w.json.key, 'key1');
        assert.ok(w.json.url.startsWith(`${sasgw.proxyUrl}/${DEV_ACCOUNT}/${CONTAINER}/`));
        assert.ok(w.json.url.endsWith(`?${w.json.token}`));
        const sig = new URLSearchParams(w.json.token).get('sig');
        assert.equal(w.json.token_id, tokenIdOf(sig));
        assert.match(w.json.expires_on, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        assert.equal(w.headers['cache-control'], 'no-store');

        const content = 'hello from sasgw\n';
        await new BlockBlobClient(atAzurite(w.json.url)).upload(content, Buffer.byteLength(content));

        const r = await mintSas(sasgw, body({ blob: name, permissions: 'r' }));
        assert.equal(r.status, 201, r.body);
        const got = await new BlockBlobClient(atAzurite(r.json.url)).downloadToBuffer();
        assert.equal(got.toString(), content);

        /* the read token cannot write */
        await assert.rejects(new BlockBlobClient(atAzurite(r.json.url)).upload('x', 1), (e) => e.statusCode === 403);
    });

    test('permissions come back in canonical order, start defaults to now minus the skew', async () => {
        const r = await mintSas(sasgw, body({ blob: undefined, permissions: 'lwdcar' }));
        assert.equal(r.status, 201, r.body);
        const q = new URLSearchParams(r.json.token);
        assert.equal(q.get('sp'), 'racwdl');
        const st = Date.parse(q.get('st'));
        assert.ok(Math.abs(Date.now() - 300000 - st) < 5000, `st ${q.get('st')}`);
        assert.equal(q.get('se'), r.json.expires_on);
    });

    test('container SAS, expires_on, response headers, account SAS', async () => {
        const expiresOn = new Date(Date.now() + 1200 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
        const c = await mintSas(sasgw, { account: DEV_ACCOUNT, container: CONTAINER, permissions: 'rl', expires_on: expiresOn });
        assert.equal(c.status, 201, c.body);
        assert.equal(new URLSearchParams(c.json.token).get('sr'), 'c');
        assert.equal(c.json.expires_on, expiresOn);
        const list = await new BlobServiceClient(atAzurite(c.json.url).replace(`/${CONTAINER}?`, '?'))
            .getContainerClient(CONTAINER).listBlobsFlat().next();
        assert.ok(list.value !== undefined);

        const h = await mintSas(sasgw, body({ response_headers: { content_type: 'text/plain', cache_control: 'no-cache' } }));
        assert.equal(h.status, 201, h.body);
        assert.equal(new URLSearchParams(h.json.token).get('rsct'), 'text/plain');

        const a = await mintSas(sasgw, { account: DEV_ACCOUNT, services: 'b', resource_types: 'sco', permissions: 'rl', expires_in: 600 },
            { auth: { user: 'demo-admin', secret: 'admin-secret' }, path: '/v1/sas/account' });
        assert.equal(a.status, 201, a.body);
        assert.equal(new URLSearchParams(a.json.token).get('ss'), 'b');
        assert.equal(a.json.url, `${sasgw.proxyUrl}/${DEV_ACCOUNT}?${a.json.token}`);
        /* demo-app has no account SAS grant */
        const d = await mintSas(sasgw, { account: DEV_ACCOUNT, services: 'b', resource_types: 'sco', permissions: 'r', expires_in: 60 },
            { path: '/v1/sas/account' });
        assert.equal(d.status, 403, d.body);
    });

    test('an account that is not in the vault is 404, after the policy allowed it', async () => {
        /* the policy decides first: a caller without a grant learns nothing about which accounts exist */
        const denied = await mintSas(sasgw, body({ account: 'ghostaccount', container: 'ghosts' }));
        assert.equal(denied.status, 403, denied.body);
        const r = await mintSas(sasgw, body({ account: 'ghostaccount', container: 'ghosts' }), { auth: STRICT });
        assert.equal(r.status, 404, r.body);
        assert.equal(r.json.error.code, 'AccountNotFound');
        assert.equal(r.json.error.field, 'account');
    });
});

describe('authentication', () => {
    const expect401 = (r) => {
        assert.equal(r.status, 401, r.body);
        assert.equal(r.headers['www-authenticate'], 'Basic realm="sasgw", Bearer realm="sasgw"');
        assert.equal(r.json.error.code, 'unauthorized');
    };

    test('missing, wrong secret, unknown client, malformed header: 401 with WWW-Authenticate', async () => {
        expect401(await mintSas(sasgw, body(), { auth: null }));
        expect401(await mintSas(sasgw, body(), { auth: { user: 'demo-app', secret: 'wrong' } }));
        expect401(await mintSas(sasgw, body(), { auth: { user: 'nobody', secret: 'demo-secret' } }));
        expect401(await mintSas(sasgw, body(), { auth: 'Basic !!!not-base64' }));
        expect401(await mintSas(sasgw, body(), { auth: 'Digest username="demo-app"' }));
        expect401(await mintSas(sasgw, body(), { auth: 'Bearer' }));
        expect401(await mintSas(sasgw, body(), { auth: `Bearer ${'a'.repeat(9000)}` }));
    });

    test('JWT RS256 and ES256 accepted', async () => {
        for (const alg of ['RS256', 'ES256']) {
            const r = await mintSas(sasgw, body(), { auth: `Bearer ${signJwt({ alg })}` });
            assert.equal(r.status, 201, `${alg}: ${r.body}`);
        }
        /* jwt-app is limited to users/jwt-app/ */
        const own = await mintSas(sasgw, body({ blob: 'users/jwt-app/x.txt', permissions: 'w' }),
            { auth: `Bearer ${signJwt({ alg: 'ES256', claims: { sub: 'jwt-app' } })}` });
        assert.equal(own.status, 201, own.body);
        const other = await mintSas(sasgw, body({ blob: 'users/someone/x.txt', permissions: 'w' }),
            { auth: `Bearer ${signJwt({ alg: 'ES256', claims: { sub: 'jwt-app' } })}` });
        assert.equal(other.status, 403, other.body);
    });

    test('expired, wrong audience, alg none, HS256 signed with the public key: refused', async () => {
        const now = Math.floor(Date.now() / 1000);
        const jwks = JSON.parse(readFileSync(path.join(SOURCE_DIR, 'conf', 'demo-jwks.json'), 'utf8'));
        const { createPublicKey } = await import('node:crypto');
        const rsaPem = createPublicKey({ key: jwks.keys.find((k) => k.kid === 'demo-rs256'), format: 'jwk' })
            .export({ type: 'spki', format: 'pem' });
        const bad = [
            signJwt({ claims: { exp: now - 3600, iat: now - 7200 } }),
            signJwt({ claims: { aud: 'someone-else' } }),
            signJwt({ claims: { iss: 'https://evil.example/' } }),
            signJwt({ alg: 'none', header: { kid: 'demo-rs256' } }),
            signJwt({ alg: 'HS256', header: { kid: 'demo-rs256' }, key: rsaPem }),
            signJwt({ alg: 'HS256', key: rsaPem }),
            signJwt({ claims: { sub: 'nobody' } }),
        ];
        for (const [i, t] of bad.entries())
            expect401(await mintSas(sasgw, body(), { auth: `Bearer ${t}` }), `case ${i}`);
    });
});

describe('refusals', () => {
    const expect403 = (r, rule, field) => {
        assert.equal(r.status, 403, r.body);
        assert.equal(r.json.error.code, 'PolicyDenied');
        assert.equal(r.json.error.rule, rule);
        assert.ok(r.json.error.message.startsWith(`${rule}:`), r.json.error.message);
        if (field)
            assert.equal(r.json.error.field, field);
    };

    test('403 per rule: container, permission, TTL, protocol, IP', async () => {
        expect403(await mintSas(sasgw, body({ container: 'other' })), 'default', 'blob');
        expect403(await mintSas(sasgw, body({ permissions: 'rx' })), 'roles.demo-writer.grants[0]', 'permissions');
        expect403(await mintSas(sasgw, body({ expires_in: 7200 })), 'roles.demo-writer.grants[0]', 'expires_in');
        expect403(await mintSas(sasgw, body({ container: 'https-only', protocol: 'https,http' }), { auth: STRICT }),
            'roles.strict-https.grants[0]', 'protocol');
        expect403(await mintSas(sasgw, body({ container: 'far-away' }), { auth: STRICT }), 'roles.strict-ip.grants[0]');
        /* the same principal gets what its grants allow */
        assert.equal((await mintSas(sasgw, body({ container: 'https-only', protocol: 'https' }), { auth: STRICT })).status, 201);
    });

    test('400 naming the field: malformed JSON, wrong types, unknown members, bad values', async () => {
        const cases = [
            [{ ...body(), permissions: 7 }, 'permissions'],
            [{ ...body(), expires_in: '600' }, 'expires_in'],
            [{ ...body(), expires_in: 60.5 }, 'expires_in'],
            [{ ...body(), expires_in: 0 }, 'expires_in'],
            [{ ...body(), expires_in: 8 * 86400 }, 'expires_in'],
            [{ ...body(), blob: null }, 'blob'],
            [{ ...body(), colour: 'blue' }, 'colour'],
            [{ ...body(), services: 'b' }, 'services'],
            [{ ...body(), permissions: 'rr' }, 'permissions'],
            [{ ...body(), permissions: 'q' }, 'permissions'],
            [{ ...body(), expires_on: '2020-01-01T00:00:00Z', expires_in: undefined }, 'expires_on'],
            [{ ...body(), expires_on: 'tomorrow', expires_in: undefined }, 'expires_on'],
            [{ ...body(), start: 'yesterday' }, 'start'],
            [{ ...body(), ip: '300.1.1.1' }, 'ip'],
            [{ ...body(), protocol: 'http' }, 'protocol'],
            [{ ...body(), blob: 'a/../b' }, 'blob'],
            [{ ...body(), blob: 'x'.repeat(1025) }, 'blob'],
            [{ ...body(), response_headers: { content_kind: 'x' } }, 'response_headers'],
            [{ ...body(), account: 'Bad_Name' }, 'account'],
            [{ ...body(), container: undefined }, 'container'],
        ];
        for (const [b, field] of cases) {
            const r = await mintSas(sasgw, b);
            assert.equal(r.status, 400, `${JSON.stringify(b).slice(0, 120)}: ${r.body}`);
            assert.equal(r.json.error.field, field, r.body);
        }
        for (const text of ['{', '[]', '{"account":"a","account":"b"}', 'null', '']) {
            const r = await mintSas(sasgw, text, { headers: { 'content-type': 'application/json' } });
            assert.equal(r.status, 400, `${text}: ${r.body}`);
        }
    });

    test('a body over issuer.max_body is 413', async () => {
        const r = await mintSas(sasgw, { ...body(), pad: 'x'.repeat(70000) });
        assert.equal(r.status, 413, r.body);
    });
});

describe('policy reload', () => {
    test('SIGHUP with a changed policy takes effect; a bad file keeps the old policy', async () => {
        const long = body({ expires_in: 5400 });
        assert.equal((await mintSas(sasgw, long)).status, 403);

        sasgw.writePolicy(testPolicy('2h'));
        await sasgw.reload();
        assert.equal((await mintSas(sasgw, long)).status, 201);

        sasgw.writePolicy('principals: [this is: not a policy\n');
        await sasgw.reload();
        assert.match(sasgw.log, /policy reload refused/);
        assert.equal((await mintSas(sasgw, long)).status, 201, 'the old policy stays in force');

        sasgw.writePolicy(testPolicy());
        await sasgw.reload();
        assert.equal((await mintSas(sasgw, long)).status, 403);
    });
});

describe('records', () => {
    test('audit records for mints and refusals, never a signature, token or secret', async () => {
        const r = await mintSas(sasgw, body({ blob: 'audited.txt' }), { headers: { 'x-request-id': 'audit-test-1' } });
        assert.equal(r.status, 201);
        const refused = await mintSas(sasgw, body({ container: 'other' }), { headers: { 'x-request-id': 'audit-test-2' } });
        assert.equal(refused.status, 403);
        const records = sasgw.auditRecords();
        const issued = records.find((x) => x.request_id === 'audit-test-1');
        assert.ok(issued, 'mint record present (written before the response)');
        assert.equal(issued.op, 'sas.issue');
        assert.equal(issued.principal, 'demo-app');
        assert.equal(issued.result, 'ok');
        assert.equal(issued.token_id, r.json.token_id);
        assert.equal(issued.object, `${DEV_ACCOUNT}/${CONTAINER}/audited.txt`);
        assert.equal(issued.client, '127.0.0.1');
        /* the refusal is queued, not awaited: give it a moment */
        let refusal;
        for (let i = 0; i < 50 && !refusal; i++) {
            refusal = sasgw.auditRecords().find((x) => x.request_id === 'audit-test-2');
            if (!refusal)
                await new Promise((res) => setTimeout(res, 20));
        }
        assert.ok(refusal);
        assert.equal(refusal.op, 'sas.refuse');
        assert.match(refusal.reason, /no grant covers/);

        const text = readFileSync(sasgw.auditPath, 'utf8');
        const sig = new URLSearchParams(r.json.token).get('sig');
        for (const secret of [sig, encodeURIComponent(sig), r.json.token, 'demo-secret', 'admin-secret', STRICT.secret, DEV_KEY,
            basicAuth(DEMO_APP.user, DEMO_APP.secret).slice(6)])
            assert.ok(!text.includes(secret), `audit log contains ${secret.slice(0, 12)}...`);
        assert.ok(!/"sig"|sig=/.test(text));
    });

    test('the issuance index in Redis', async () => {
        const r = await mintSas(sasgw, body({ blob: 'indexed.txt' }));
        assert.equal(r.status, 201);
        const expiry = Date.parse(r.json.expires_on) / 1000;
        let score;
        for (let i = 0; i < 50 && score == null; i++) {
            score = await redisCommand(redis.port, 'ZSCORE', 'sasgw:issued:demo-app', r.json.token_id);
            if (score == null)
                await new Promise((res) => setTimeout(res, 20));
        }
        assert.equal(Number(score), expiry);
        const member = `${r.json.token_id} ${expiry}`;
        const at = await redisCommand(redis.port, 'ZSCORE', `sasgw:issued-at:${DEV_ACCOUNT}`, member);
        assert.ok(Math.abs(Number(at) - Date.now() / 1000) < 10, `issued at ${at}`);
        const atc = await redisCommand(redis.port, 'ZSCORE', `sasgw:issued-at:${DEV_ACCOUNT}/${CONTAINER}`, member);
        assert.equal(atc, at);
    });
});
