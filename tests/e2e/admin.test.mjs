// admin.test.mjs - the admin API of `sasgw serve` (DESIGN §4, issue 4) and the
// write side of revocation (DESIGN §6, docs/redis.md), against real Redis:
// every admin route refused without credentials (401) and to demo-app (403);
// accounts listed without key material; key regenerate and import (new
// tokens no longer verify with the old key; an event on sasgw:events);
// secrets set/get/list/delete/recover/purge; stored access policies CRUD;
// revocation by token_id, token, principal and account+issued_before landing
// in sasgw:revoked and on sasgw:revocations; `sasgw revoke`; the audit tail
// and the audit file free of secrets; policy reload; Redis down -> 503.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';

import {
    DEMO_ADMIN, DEMO_APP, DEV_ACCOUNT, DEV_KEY, basicAuth, demoPolicyText, httpRequest, mintSas, redisCommand, runSasgw,
    startRedis, startSasgw, stopAll, tokenIdOf, waitFor,
} from './lib/stack.mjs';

const CONTAINER = 'demo';
const SECRET_VALUE = 'correct-horse-battery-staple-4f1c2b';
const SECRET_VALUE_2 = 'second-version-9d8e7f6a5b';

let redis, sasgw;
let importedKey = null; /* the key1 imported by the keys test: never in a response or the audit log */

before(async () => {
    redis = await startRedis();
    /* unauthenticated refusals reach the audit trail coalesced, at the end of each audit_interval: 1 s here */
    sasgw = await startSasgw({ redis, issuerYaml: '  auth_failures: { audit_interval: 1 }\n' });
});
after(stopAll);

/* An admin API call; auth: {user, secret}, or null for none. */
function call(method, p, body, auth = DEMO_ADMIN) {
    const headers = auth ? { authorization: basicAuth(auth.user, auth.secret) } : {};
    return httpRequest(`${sasgw.issuerUrl}${p}`, { method, headers, body });
}

/*
 * A token for demo-app (or auth), 10 minutes, for a blob of its own (equal
 * signed fields make the same token). Resolves to the 201 body.
 */
let mints = 0;
async function mint(auth = DEMO_APP, blob = `blob-${++mints}.txt`) {
    const r = await mintSas(sasgw, { account: DEV_ACCOUNT, container: CONTAINER, blob, permissions: 'r', expires_in: 600 }, { auth });
    assert.equal(r.status, 201, r.body);
    return r.json;
}

/* The sig parameter of a minted URL. */
const sigOf = (url) => new URL(url).searchParams.get('sig');

/*
 * A Redis subscriber on channel: .messages collects payloads, .waitFor(pred)
 * resolves with the first message matching pred, .close() ends it.
 */
function subscribe(channel) {
    return new Promise((resolve, reject) => {
        const sock = net.connect({ host: '127.0.0.1', port: redis.port });
        const messages = [];
        let buf = Buffer.alloc(0);
        let ready = false;
        const parse = (pos) => {
            const eol = buf.indexOf('\r\n', pos);
            if (eol < 0)
                return null;
            const type = String.fromCharCode(buf[pos]);
            const line = buf.toString('utf8', pos + 1, eol);
            if (type === ':' || type === '+')
                return [line, eol + 2];
            if (type === '$') {
                const n = Number(line);
                if (buf.length < eol + 2 + n + 2)
                    return null;
                return [buf.toString('utf8', eol + 2, eol + 2 + n), eol + 4 + n];
            }
            if (type === '*') {
                const items = [];
                let p = eol + 2;
                for (let i = 0; i < Number(line); i++) {
                    const r = parse(p);
                    if (r === null)
                        return null;
                    items.push(r[0]);
                    p = r[1];
                }
                return [items, p];
            }
            throw new Error(`unexpected RESP ${type}`);
        };
        sock.on('data', (d) => {
            buf = Buffer.concat([buf, d]);
            for (;;) {
                const r = parse(0);
                if (r === null)
                    break;
                buf = buf.subarray(r[1]);
                const [kind, , payload] = r[0];
                if (kind === 'subscribe' && !ready) {
                    ready = true;
                    resolve(sub);
                } else if (kind === 'message') {
                    messages.push(payload);
                }
            }
        });
        sock.on('error', reject);
        sock.on('connect', () => sock.write(`*2\r\n$9\r\nSUBSCRIBE\r\n$${channel.length}\r\n${channel}\r\n`));
        const sub = {
            messages,
            waitFor: (pred, what = 'message') =>
                waitFor(() => messages.find(pred), { what: `${what} on ${channel}`, timeoutMs: 5000, intervalMs: 10 })
                    .then(() => messages.find(pred)),
            close: () => sock.destroy(),
        };
    });
}

describe('access control', () => {
    const routes = [
        ['GET', '/v1/accounts', 'accounts.read'],
        ['PUT', `/v1/accounts/${DEV_ACCOUNT}/keys/key2`, 'keys.import', { value: 'QUFBQUFBQUFBQUFBQUFBQQ==' }],
        ['POST', `/v1/accounts/${DEV_ACCOUNT}/keys/key2/regenerate`, 'keys.rotate'],
        ['GET', `/v1/accounts/${DEV_ACCOUNT}/containers/${CONTAINER}/policies`, 'policies.read'],
        ['GET', `/v1/accounts/${DEV_ACCOUNT}/containers/${CONTAINER}/policies/p1`, 'policies.read'],
        ['PUT', `/v1/accounts/${DEV_ACCOUNT}/containers/${CONTAINER}/policies/p1`, 'policies.write', { permissions: 'r' }],
        ['DELETE', `/v1/accounts/${DEV_ACCOUNT}/containers/${CONTAINER}/policies/p1`, 'policies.write'],
        ['POST', '/v1/revocations', 'revoke', { principal: 'demo-app' }],
        ['PUT', '/v1/secrets/s1', 'secrets.write', { value: 'x' }],
        ['GET', '/v1/secrets', 'secrets.read'],
        ['GET', '/v1/secrets/s1', 'secrets.read'],
        ['GET', '/v1/secrets/s1/versions', 'secrets.read'],
        ['DELETE', '/v1/secrets/s1', 'secrets.write'],
        ['GET', '/v1/deleted-secrets', 'secrets.read'],
        ['POST', '/v1/deleted-secrets/s1/recover', 'secrets.write'],
        ['DELETE', '/v1/deleted-secrets/s1', 'secrets.purge'],
        ['GET', '/v1/audit', 'audit.read'],
        ['POST', '/v1/admin/reload-policy', 'policy.reload'],
    ];

    test('every admin route answers 401 without credentials and 403 to demo-app, naming the capability', async () => {
        for (const [method, p, cap, body] of routes) {
            const anon = await call(method, p, body, null);
            assert.equal(anon.status, 401, `${method} ${p}: ${anon.body}`);
            assert.match(anon.headers['www-authenticate'] ?? '', /Basic/);
            const bad = await call(method, p, body, { user: 'demo-admin', secret: 'wrong' });
            assert.equal(bad.status, 401, `${method} ${p} with a wrong secret`);
            const app = await call(method, p, body, DEMO_APP);
            assert.equal(app.status, 403, `${method} ${p}: ${app.body}`);
            assert.equal(app.json.error.code, 'forbidden');
            assert.ok(app.json.error.message.includes(cap), `${method} ${p}: ${app.json.error.message} names ${cap}`);
        }
        /* The refusals are audited (queued for the audit thread: wait for them). */
        await waitFor(() => {
            const recs = sasgw.auditRecords();
            return recs.some((r) => r.principal === 'demo-app' && r.result === 'refused' && r.op === 'revoke') &&
                recs.some((r) => r.principal === 'anonymous' && r.result === 'refused');
        }, { what: 'audit records of the refusals' });
    });
});

describe('accounts and keys', () => {
    test('GET /v1/accounts lists accounts and key versions, never key material', async () => {
        const r = await call('GET', '/v1/accounts');
        assert.equal(r.status, 200, r.body);
        const acct = r.json.accounts.find((a) => a.name === DEV_ACCOUNT);
        assert.ok(acct, r.body);
        assert.equal(acct.mode, 'passthrough');
        assert.match(acct.backend, /^http:\/\/127\.0\.0\.1:\d+$/);
        assert.ok(acct.keys.some((k) => k.slot === 'key1' && k.version === 1 && k.state === 'active'));
        assert.ok(acct.keys.some((k) => k.slot === 'key2' && k.state === 'active'));
        for (const k of acct.keys)
            assert.deepEqual(Object.keys(k).sort(), ['created', 'slot', 'state', 'version']);
        /* neither the key nor any 12-character piece of its base64, nor its hex */
        const raw = Buffer.from(DEV_KEY, 'base64');
        assert.ok(!r.body.includes(DEV_KEY));
        for (let i = 0; i + 12 <= DEV_KEY.length; i += 4)
            assert.ok(!r.body.includes(DEV_KEY.slice(i, i + 12)), `fragment ${DEV_KEY.slice(i, i + 12)}`);
        assert.ok(!r.body.includes(raw.toString('hex').slice(0, 16)));
        assert.ok(!r.body.includes(raw.toString('base64url').slice(0, 16)));
    });

    test('regenerate key1: version metadata only, an event, and new tokens refused by the old key; import restores it', async () => {
        const events = await subscribe('sasgw:events');
        try {
            /* A token minted now verifies with Azurite's key. */
            const before = await mint();
            const ok = await runSasgw(['sas', 'verify', before.url, '--key', DEV_KEY]);
            assert.equal(ok.code, 0, ok.stdout + ok.stderr);

            const r = await call('POST', `/v1/accounts/${DEV_ACCOUNT}/keys/key1/regenerate`);
            assert.equal(r.status, 200, r.body);
            assert.equal(r.json.account, DEV_ACCOUNT);
            assert.equal(r.json.slot, 'key1');
            assert.equal(r.json.version, 2);
            assert.equal(r.json.state, 'active');
            assert.equal(r.json.event_published, true);
            assert.ok(!/[A-Za-z0-9+/]{40,}={0,2}/.test(r.body), `no key in ${r.body}`);
            const ev = await events.waitFor((m) => JSON.parse(m).type === 'keys', 'keys event');
            assert.deepEqual(JSON.parse(ev), { type: 'keys', account: DEV_ACCOUNT });

            /* The listing shows version 1 retired, version 2 active. */
            const list = await call('GET', '/v1/accounts');
            const keys = list.json.accounts.find((a) => a.name === DEV_ACCOUNT).keys.filter((k) => k.slot === 'key1');
            assert.deepEqual(keys.map((k) => [k.version, k.state]), [[1, 'retired'], [2, 'active']]);

            /* Tokens minted after the regenerate are signed with the new key: the old one refuses them. */
            await waitFor(async () => {
                const t = await mint();
                const v = await runSasgw(['sas', 'verify', t.url, '--key', DEV_KEY]);
                return v.code === 1 && /signature/i.test(v.stdout + v.stderr);
            }, { what: 'a token the old key refuses', timeoutMs: 10000, intervalMs: 200 });

            /* A bad import body is refused naming the field. */
            const bad = await call('PUT', `/v1/accounts/${DEV_ACCOUNT}/keys/key1`, { value: 'not base64' });
            assert.equal(bad.status, 400);
            assert.equal(bad.json.error.field, 'value');
            const unknown = await call('PUT', `/v1/accounts/${DEV_ACCOUNT}/keys/key1`, { value: DEV_KEY, note: 1 });
            assert.equal(unknown.status, 400);
            assert.equal(unknown.json.error.field, 'note');
            const ghost = await call('PUT', '/v1/accounts/ghostaccount/keys/key1', { value: DEV_KEY });
            assert.equal(ghost.status, 404, ghost.body);
            const slot = await call('POST', `/v1/accounts/${DEV_ACCOUNT}/keys/key3/regenerate`);
            assert.equal(slot.status, 404);

            /* A key the account held before is refused (a retired key never comes back). */
            const again = await call('PUT', `/v1/accounts/${DEV_ACCOUNT}/keys/key1`, { value: DEV_KEY });
            assert.equal(again.status, 409, again.body);

            /* Importing a new key makes it version 3; new tokens verify with it. */
            events.messages.length = 0;
            const fresh = randomBytes(64).toString('base64');
            const imp = await call('PUT', `/v1/accounts/${DEV_ACCOUNT}/keys/key1`, { value: fresh });
            assert.equal(imp.status, 200, imp.body);
            assert.equal(imp.json.version, 3);
            assert.ok(!imp.body.includes(fresh.slice(0, 12)));
            await events.waitFor((m) => JSON.parse(m).type === 'keys', 'keys event after import');
            await waitFor(async () => {
                const t = await mint();
                return (await runSasgw(['sas', 'verify', t.url, '--key', fresh])).code === 0;
            }, { what: 'a token the imported key verifies', timeoutMs: 10000, intervalMs: 200 });
            importedKey = fresh;
        } finally {
            events.close();
        }
    });
});

describe('secrets', () => {
    test('set, get, versions, list, delete, recover, purge', async () => {
        const set = await call('PUT', '/v1/secrets/db-password', {
            value: SECRET_VALUE, content_type: 'text/plain', tags: { env: 'test' },
        });
        assert.equal(set.status, 200, set.body);
        assert.ok(!set.body.includes(SECRET_VALUE), 'PUT does not echo the value');
        assert.match(set.json.id, /^\/v1\/secrets\/db-password\/[0-9a-f]{32}$/);
        const v1 = set.json.version;
        assert.equal(set.json.attributes.enabled, true);
        assert.equal(typeof set.json.attributes.created, 'number');

        const set2 = await call('PUT', '/v1/secrets/db-password', { value: SECRET_VALUE_2 });
        assert.equal(set2.status, 200);
        assert.notEqual(set2.json.version, v1);

        const get = await call('GET', '/v1/secrets/db-password');
        assert.equal(get.status, 200);
        assert.equal(get.json.value, SECRET_VALUE_2);
        const getv1 = await call('GET', `/v1/secrets/db-password/${v1}`);
        assert.equal(getv1.status, 200, getv1.body);
        assert.equal(getv1.json.value, SECRET_VALUE);
        assert.equal(getv1.json.contentType, 'text/plain');
        assert.deepEqual(getv1.json.tags, { env: 'test' });

        const versions = await call('GET', '/v1/secrets/db-password/versions');
        assert.equal(versions.status, 200);
        assert.equal(versions.json.value.length, 2);
        assert.ok(!versions.body.includes(SECRET_VALUE));

        const list = await call('GET', '/v1/secrets');
        assert.equal(list.status, 200);
        assert.ok(list.json.value.some((s) => s.name === 'db-password'));
        assert.ok(!list.body.includes(SECRET_VALUE) && !list.body.includes(SECRET_VALUE_2), 'lists carry no values');

        /* bad bodies and names */
        const unknown = await call('PUT', '/v1/secrets/db-password', { value: 'x', colour: 'red' });
        assert.equal(unknown.status, 400);
        assert.equal(unknown.json.error.field, 'colour');
        const badName = await call('GET', '/v1/secrets/bad_name');
        assert.equal(badName.status, 404);
        const missing = await call('GET', '/v1/secrets/no-such-secret');
        assert.equal(missing.status, 404, missing.body);
        const missingVersion = await call('GET', `/v1/secrets/db-password/${'0'.repeat(32)}`);
        assert.equal(missingVersion.status, 404, missingVersion.body);

        /* soft delete, then recover, then delete and purge */
        const del = await call('DELETE', '/v1/secrets/db-password');
        assert.equal(del.status, 200, del.body);
        assert.equal(del.json.recoveryId, '/v1/deleted-secrets/db-password');
        assert.ok(del.json.scheduledPurgeDate > del.json.deletedDate);
        assert.equal((await call('GET', '/v1/secrets/db-password')).status, 409);
        const deleted = await call('GET', '/v1/deleted-secrets');
        assert.ok(deleted.json.value.some((s) => s.name === 'db-password'));
        assert.ok(!(await call('GET', '/v1/secrets')).json.value.some((s) => s.name === 'db-password'));
        assert.equal((await call('DELETE', '/v1/secrets/db-password')).status, 409);

        const rec = await call('POST', '/v1/deleted-secrets/db-password/recover');
        assert.equal(rec.status, 200, rec.body);
        assert.equal((await call('GET', '/v1/secrets/db-password')).json.value, SECRET_VALUE_2);
        assert.equal((await call('DELETE', '/v1/deleted-secrets/db-password')).status, 409, 'purge needs a delete first');

        assert.equal((await call('DELETE', '/v1/secrets/db-password')).status, 200);
        const purge = await call('DELETE', '/v1/deleted-secrets/db-password');
        assert.equal(purge.status, 204, purge.body);
        assert.equal((await call('GET', '/v1/secrets/db-password')).status, 404);
        assert.equal((await call('POST', '/v1/deleted-secrets/db-password/recover')).status, 404);
    });
});

describe('stored access policies', () => {
    const base = `/v1/accounts/${DEV_ACCOUNT}/containers/${CONTAINER}/policies`;

    test('create, read, list, replace, delete; events on sasgw:events', async () => {
        const events = await subscribe('sasgw:events');
        try {
            const put = await call('PUT', `${base}/read-only`, { permissions: 'rl', expiry: '2030-01-01T00:00:00Z' });
            assert.equal(put.status, 201, put.body);
            assert.deepEqual(
                { id: put.json.id, permissions: put.json.permissions, expiry: put.json.expiry },
                { id: 'read-only', permissions: 'rl', expiry: '2030-01-01T00:00:00Z' });
            const ev = await events.waitFor((m) => JSON.parse(m).type === 'policies', 'policies event');
            assert.deepEqual(JSON.parse(ev), { type: 'policies', account: DEV_ACCOUNT, container: CONTAINER });

            const get = await call('GET', `${base}/read-only`);
            assert.equal(get.status, 200);
            assert.equal(get.json.permissions, 'rl');

            /* more than Azure's five */
            for (let i = 0; i < 6; i++)
                assert.equal((await call('PUT', `${base}/p${i}`, { start: 1767225600 })).status, 201);
            const list = await call('GET', base);
            assert.equal(list.status, 200);
            assert.equal(list.json.policies.length, 7);

            const replace = await call('PUT', `${base}/read-only`, { permissions: 'r' });
            assert.equal(replace.status, 200);
            assert.equal((await call('GET', `${base}/read-only`)).json.permissions, 'r');
            assert.equal((await call('GET', `${base}/read-only`)).json.expiry, undefined);

            const bad = await call('PUT', `${base}/x`, { permissions: 'rr' });
            assert.equal(bad.status, 400);
            assert.equal(bad.json.error.field, 'permissions');
            const badField = await call('PUT', `${base}/x`, { perms: 'r' });
            assert.equal(badField.status, 400);
            assert.equal(badField.json.error.field, 'perms');
            const badTimes = await call('PUT', `${base}/x`, { start: '2030-01-02', expiry: '2030-01-01' });
            assert.equal(badTimes.status, 400);
            assert.equal(badTimes.json.error.field, 'expiry');

            const del = await call('DELETE', `${base}/read-only`);
            assert.equal(del.status, 204);
            assert.equal((await call('GET', `${base}/read-only`)).status, 404);
            assert.equal((await call('DELETE', `${base}/read-only`)).status, 404);
            assert.equal((await call('PUT', `/v1/accounts/ghostaccount/containers/${CONTAINER}/policies/x`, {})).status, 404);
        } finally {
            events.close();
        }
    });
});

describe('revocations', () => {
    const revoked = async (id) => redisCommand(redis.port, 'ZSCORE', 'sasgw:revoked', id);

    test('by token_id, by token, by principal, by account and issued_before', async () => {
        const sub = await subscribe('sasgw:revocations');
        try {
            /* token_id alone: kept until the token's own end, which the issuance index recorded at mint (expiry_skew 0 here) */
            const t1 = await mint();
            const id1 = tokenIdOf(sigOf(t1.url));
            assert.equal(t1.token_id, id1);
            const se1 = Math.floor(Date.parse(new URL(t1.url).searchParams.get('se')) / 1000);
            const r1 = await call('POST', '/v1/revocations', { token_id: id1 });
            assert.equal(r1.status, 200, r1.body);
            assert.deepEqual(r1.json, { revoked: 1, token_ids: [id1], truncated: false });
            const score1 = Number(await revoked(id1));
            assert.equal(score1, se1, `score ${score1}`);
            const m1 = await sub.waitFor((m) => m.startsWith(`${id1} `));
            assert.equal(m1, `${id1} ${score1}`);

            /* token: the id and expiry (se) come from the SAS itself */
            const t2 = await mint();
            const id2 = tokenIdOf(sigOf(t2.url));
            const r2 = await call('POST', '/v1/revocations', { token: t2.url });
            assert.equal(r2.status, 200, r2.body);
            assert.deepEqual(r2.json.token_ids, [id2]);
            const se = Math.floor(Date.parse(new URL(t2.url).searchParams.get('se')) / 1000);
            assert.equal(Number(await revoked(id2)), se);
            await sub.waitFor((m) => m === `${id2} ${se}`);
            const r2q = await call('POST', '/v1/revocations', { token: t2.token });
            assert.equal(r2q.status, 200, r2q.body);
            assert.deepEqual(r2q.json.token_ids, [id2]);

            /* principal: every token of demo-admin issued so far (the index is written by the mint) */
            const a1 = await mint(DEMO_ADMIN, 'x.txt');
            const a2 = await mint(DEMO_ADMIN, 'y.txt');
            await waitFor(async () => (await redisCommand(redis.port, 'ZCARD', 'sasgw:issued:demo-admin')) >= 2,
                { what: 'the issuance index of demo-admin' });
            const r3 = await call('POST', '/v1/revocations', { principal: 'demo-admin' });
            assert.equal(r3.status, 200, r3.body);
            assert.ok(r3.json.token_ids.includes(a1.token_id) && r3.json.token_ids.includes(a2.token_id), r3.body);
            for (const t of [a1, a2]) {
                assert.ok(await revoked(t.token_id), `${t.token_id} in sasgw:revoked`);
                await sub.waitFor((m) => m.startsWith(`${t.token_id} `));
            }

            /* account + container + issued_before: tokens issued before the time, not after */
            const b1 = await mint(DEMO_APP, 'b1.txt');
            await waitFor(async () => (await redisCommand(redis.port, 'ZRANGE', `sasgw:issued-at:${DEV_ACCOUNT}/${CONTAINER}`, '0', '-1'))
                .some((m) => m.startsWith(`${b1.token_id} `)), { what: 'the issued-at index' });
            const cut = Math.floor(Date.now() / 1000) + 1;
            await new Promise((res) => setTimeout(res, 1100));
            const b2 = await mint(DEMO_APP, 'b2.txt');
            await waitFor(async () => (await redisCommand(redis.port, 'ZRANGE', `sasgw:issued-at:${DEV_ACCOUNT}/${CONTAINER}`, '0', '-1'))
                .some((m) => m.startsWith(`${b2.token_id} `)), { what: 'the issued-at index' });
            const r4 = await call('POST', '/v1/revocations', { account: DEV_ACCOUNT, container: CONTAINER, issued_before: cut });
            assert.equal(r4.status, 200, r4.body);
            assert.ok(r4.json.token_ids.includes(b1.token_id), r4.body);
            assert.ok(!r4.json.token_ids.includes(b2.token_id), r4.body);
            assert.equal(await revoked(b2.token_id), null);
            const r5 = await call('POST', '/v1/revocations', { account: DEV_ACCOUNT, issued_before: new Date((cut + 5) * 1000).toISOString() });
            assert.equal(r5.status, 200, r5.body);
            assert.ok(r5.json.token_ids.includes(b2.token_id), r5.body);

            /* expired entries are trimmed by the writer */
            await redisCommand(redis.port, 'ZADD', 'sasgw:revoked', '1000', 'expiredexpiredexpired0');
            assert.equal((await call('POST', '/v1/revocations', { token_id: id1 })).status, 200);
            assert.equal(await revoked('expiredexpiredexpired0'), null);
            /* a later revocation never shortens an entry (ZADD GT) */
            assert.ok(Number(await revoked(id1)) >= score1);

            /* refusals name the field */
            for (const [body, field] of [
                [{ token_id: 'short' }, 'token_id'],
                [{ token_id: id1, principal: 'demo-app' }, 'principal'],
                [{ token: 'sv=2026-10-06&sr=b' }, 'token'],
                [{ account: DEV_ACCOUNT }, 'issued_before'],
                [{ principal: 'demo-app', extra: true }, 'extra'],
            ]) {
                const r = await call('POST', '/v1/revocations', body);
                assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.body}`);
                assert.equal(r.json.error.field, field, r.body);
            }

            /* audit: one record per revoked id */
            const recs = sasgw.auditRecords().filter((r) => r.op === 'revoke' && r.result === 'ok');
            for (const id of [id1, id2, a1.token_id, a2.token_id, b1.token_id])
                assert.ok(recs.some((r) => r.token_id === id && r.principal === 'demo-admin'), `audit of ${id}`);
        } finally {
            sub.close();
        }
    });

    test('sasgw revoke writes the same entries, by token id, token and principal', async () => {
        const sub = await subscribe('sasgw:revocations');
        try {
            const conf = ['-c', sasgw.configPath];
            const help = await runSasgw(['revoke', '--help']);
            assert.equal(help.code, 0);
            assert.match(help.stdout, /--issued-before/);
            assert.equal((await runSasgw(['revoke'])).code, 2);
            assert.equal((await runSasgw(['revoke', '--token-id', 'x', '--principal', 'y'])).code, 2);
            assert.equal((await runSasgw(['revoke', '--token-id', 'short', ...conf])).code, 1);

            const t = await mint();
            const r = await runSasgw(['revoke', '--token', t.url, ...conf, '--json']);
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(JSON.parse(r.stdout), { revoked: 1, token_ids: [t.token_id] });
            const se = Math.floor(Date.parse(new URL(t.url).searchParams.get('se')) / 1000);
            assert.equal(Number(await revoked(t.token_id)), se);
            await sub.waitFor((m) => m === `${t.token_id} ${se}`);

            const id = 'cliRevokedTokenId_0123';
            const r2 = await runSasgw(['revoke', '--token-id', id, '--expiry', '2030-01-01T00:00:00Z', '--redis', `127.0.0.1:${redis.port}`]);
            assert.equal(r2.code, 0, r2.stderr);
            assert.equal(Number(await revoked(id)), 1893456000);

            const u = await mint();
            await waitFor(async () => (await redisCommand(redis.port, 'ZSCORE', 'sasgw:issued:demo-app', u.token_id)) !== null,
                { what: 'the issuance index of demo-app' });
            const r3 = await runSasgw(['revoke', '--principal', 'demo-app', ...conf, '--json']);
            assert.equal(r3.code, 0, r3.stderr);
            assert.ok(JSON.parse(r3.stdout).token_ids.includes(u.token_id));

            /* the CLI's records carry principal "cli" */
            assert.ok(sasgw.auditRecords().some((rec) => rec.op === 'revoke' && rec.principal === 'cli' && rec.token_id === t.token_id));

            /* Redis unreachable: exit 1 */
            const down = await runSasgw(['revoke', '--token-id', id, '--redis', '127.0.0.1:1']);
            assert.equal(down.code, 1);
        } finally {
            sub.close();
        }
    });
});

describe('audit and policy reload', () => {
    test('GET /v1/audit returns the last records; the audit file holds no secret or key', async () => {
        const r = await call('GET', '/v1/audit?limit=5');
        assert.equal(r.status, 200, r.body);
        assert.equal(r.json.length, 5);
        assert.ok(r.json.every((x) => typeof x.seq === 'number' && typeof x.op === 'string'));
        const all = await call('GET', '/v1/audit');
        assert.ok(all.json.length > 5 && all.json.length <= 100);
        assert.equal((await call('GET', '/v1/audit?limit=0')).status, 400);
        assert.equal((await call('GET', '/v1/audit?limit=1001')).status, 400);
        assert.equal((await call('GET', '/v1/audit?limit=x')).status, 400);

        const recs = sasgw.auditRecords();
        for (const op of ['account.list', 'account.rotate', 'account.import-key', 'secret.set', 'secret.get', 'secret.delete',
            'secret.recover', 'secret.purge', 'policy.put', 'policy.delete', 'revoke', 'audit.read'])
            assert.ok(recs.some((x) => x.op === op && x.result === 'ok'), `an ok record for ${op}`);
        assert.ok(recs.some((x) => x.op === 'secret.set' && x.result === 'refused'), 'a refused record for secret.set');

        const text = readFileSync(sasgw.auditPath, 'utf8');
        const needles = [SECRET_VALUE, SECRET_VALUE_2, DEV_KEY, DEV_KEY.slice(0, 16), DEV_KEY.slice(40, 56), 'admin-secret', 'demo-secret'];
        if (importedKey)
            needles.push(importedKey, importedKey.slice(0, 16));
        for (const needle of needles)
            assert.ok(!text.includes(needle), `audit log contains ${needle}`);
        assert.ok(!/sig=/.test(text), 'no signature in the audit log');
    });

    test('POST /v1/admin/reload-policy: a bad file answers 422 and the old policy stays; a good one reloads', async () => {
        sasgw.writePolicy('principals: [oops\n');
        const bad = await call('POST', '/v1/admin/reload-policy');
        assert.equal(bad.status, 422, bad.body);
        assert.match(bad.json.error.message, /policy\.yaml:\d+/);
        assert.equal((await call('GET', '/v1/accounts')).status, 200, 'the old policy is still in force');

        /* demo-app loses its role: its mints are refused after the reload */
        sasgw.writePolicy(demoPolicyText().replace('roles: [demo-writer]', 'roles: [demo-per-user]'));
        const good = await call('POST', '/v1/admin/reload-policy');
        assert.equal(good.status, 200, good.body);
        assert.equal(good.json.reloaded, true);
        const m = await mintSas(sasgw, { account: DEV_ACCOUNT, container: CONTAINER, blob: 'z.txt', permissions: 'r', expires_in: 600 });
        assert.equal(m.status, 403, m.body);
        sasgw.writePolicy(demoPolicyText());
        assert.equal((await call('POST', '/v1/admin/reload-policy')).status, 200);
        const recs = sasgw.auditRecords().filter((x) => x.op === 'policy.reload');
        assert.ok(recs.some((x) => x.result === 'refused') && recs.some((x) => x.result === 'ok'));
    });

    test('Redis down: POST /v1/revocations answers 503', async () => {
        await redis.stop();
        await waitFor(async () => {
            const r = await call('POST', '/v1/revocations', { token_id: 'AAAAAAAAAAAAAAAAAAAAAA' });
            return r.status === 503 && r.json.error.code === 'redis_unavailable';
        }, { what: '503 with Redis down', timeoutMs: 10000, intervalMs: 100 });
        assert.ok(sasgw.auditRecords().some((x) => x.op === 'revoke' && x.result === 'error'));
    });
});
