// keyvault.test.mjs - the Key Vault-compatible API (gateway/keyvault) against
// its real clients, over TLS with a throwaway CA made by openssl: the
// @azure/keyvault-secrets SDK (a child node process, NODE_EXTRA_CA_CERTS set
// at its start) and Debian's python3-azure azure.keyvault.secrets
// (/usr/bin/python3, api_version 7.3), each with a tiny credential object
// returning demo-issuer JWTs; plus raw HTTPS requests for the challenge, the
// api-version and the strict bodies, and the audit trail.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { basicAuth, DEMO_ADMIN, freePort, httpRequest, signJwt, SOURCE_DIR, startRedis, startSasgw, stopAll } from './lib/stack.mjs';

let redis, sasgw, kvPort, tlsDir, ca;

/* A CA and a server certificate for kv.localhost (and 127.0.0.1), valid one day. */
function makeCertificates(dir) {
    const run = (args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem',
        '-days', '1', '-subj', '/CN=sasgw e2e CA', '-addext', 'basicConstraints=critical,CA:TRUE',
        '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'kv.key', '-out', 'kv.csr',
        '-subj', '/CN=kv.localhost']);
    writeFileSync(path.join(dir, 'ext.cnf'),
        'basicConstraints=CA:FALSE\nsubjectAltName=DNS:kv.localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    run(['x509', '-req', '-in', 'kv.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'kv.pem', '-days', '1',
        '-extfile', 'ext.cnf']);
    return { ca: path.join(dir, 'ca.pem'), certificate: path.join(dir, 'kv.pem'), key: path.join(dir, 'kv.key') };
}

const publicUrl = () => `https://kv.localhost:${kvPort}`;
const resource = () => `https://localhost:${kvPort}`;
const token = (sub, aud = resource()) => signJwt({ claims: { sub, aud } });

/* One HTTPS request to the vault (on 127.0.0.1, SNI kv.localhost): {status, headers, json}. */
function kvRequest(p, { method = 'GET', headers = {}, body, localAddress } = {}) {
    return new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
        const req = https.request({
            host: '127.0.0.1', port: kvPort, servername: 'kv.localhost', path: p, method, ca, localAddress,
            headers: { ...(payload !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => {
                const text = Buffer.concat(chunks).toString();
                let json;
                try {
                    json = text ? JSON.parse(text) : undefined;
                } catch {
                    /* not JSON */
                }
                resolve({ status: res.statusCode, headers: res.headers, json, text });
            });
        });
        req.on('error', reject);
        if (payload !== undefined)
            req.write(payload);
        req.end();
    });
}

/* Runs a client process to its end: {code, stdout, stderr}. */
function runClient(cmd, args, env) {
    return new Promise((resolve) => {
        const child = spawn(cmd, args, { cwd: SOURCE_DIR, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '', stderr = '';
        child.stdout.on('data', (d) => { stdout += d; });
        child.stderr.on('data', (d) => { stderr += d; });
        child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
}

const AUTH_LIMIT = 8;
const KV_POLICY_ROLES = `
  kv-demo:
    keyvault:
      - actions: [get, list, set, delete, recover, backup, restore, purge]
        secrets: "demo-*"
  kv-lister:
    keyvault:
      - actions: [list]
`;

before(async () => {
    redis = await startRedis();
    tlsDir = mkdtempSync(path.join(os.tmpdir(), `sasgw-e2e-${process.pid}-kvtls-`));
    const tls = makeCertificates(tlsDir);
    ca = readFileSync(tls.ca);
    kvPort = await freePort();
    /* the demo policy, with Key Vault roles for demo-app (demo-* secrets) and jwt-app (list only) */
    const policy = readFileSync(path.join(SOURCE_DIR, 'conf', 'policy.yaml'), 'utf8')
        .replace('roles: [demo-writer]', 'roles: [demo-writer, kv-demo]')
        .replace('roles: [demo-per-user]', 'roles: [demo-per-user, kv-lister]')
        .replace(/^roles:\n/m, `roles:${KV_POLICY_ROLES}`);
    sasgw = await startSasgw({
        redis,
        policy,
        account: false,
        issuerYaml: `  auth_failures: { limit: ${AUTH_LIMIT}, window: 60, audit_interval: 1 }\n`,
        extraYaml: `keyvault:
  listen:
    - address: 127.0.0.1
      port: ${kvPort}
      tls: { certificate: ${tls.certificate}, key: ${tls.key} }
  public_url: ${publicUrl()}
`,
    });
});

after(async () => {
    await stopAll();
    if (tlsDir)
        rmSync(tlsDir, { recursive: true, force: true });
});

describe('the wire', () => {
    test('no token: 401 with the challenge the SDKs parse', async () => {
        const r = await kvRequest('/secrets/demo-x?api-version=7.6');
        assert.equal(r.status, 401);
        assert.equal(r.json.error.code, 'Unauthorized');
        assert.equal(r.headers['www-authenticate'],
            `Bearer authorization="https://demo.issuer.local/", resource="${resource()}"`);
    });

    test('a token for another audience, or of another scheme, is refused with the challenge', async () => {
        for (const auth of [`Bearer ${token('demo-app', 'sasgw')}`, `Bearer ${token('demo-app', publicUrl() + 'x')}`,
            'Basic ZGVtby1hcHA6ZGVtby1zZWNyZXQ=', `Bearer ${signJwt({ alg: 'HS256', key: 'k', claims: { aud: resource() } })}`]) {
            const r = await kvRequest('/secrets?api-version=7.6', { headers: { authorization: auth } });
            assert.equal(r.status, 401, auth.slice(0, 20));
            assert.match(r.headers['www-authenticate'], /^Bearer authorization="[^"]+", resource="[^"]+"$/);
        }
        /* the audience with a trailing slash is the same resource */
        const ok = await kvRequest('/secrets?api-version=7.6', { headers: { authorization: `Bearer ${token('demo-app', resource() + '/')}` } });
        assert.equal(ok.status, 200);
    });

    test('api-version: missing, outside 7.3-7.6, or given twice is 400 BadParameter', async () => {
        const auth = { authorization: `Bearer ${token('demo-app')}` };
        for (const q of ['', '?api-version=7.2', '?api-version=7.7', '?api-version=2026-04-01', '?api-version=7.6-preview',
            '?api-version=7.6&api-version=7.6', '?api-version=7.6&maxresults=0', '?api-version=7.6&maxresults=26']) {
            const r = await kvRequest(`/secrets${q}`, { headers: auth });
            assert.equal(r.status, 400, q);
            assert.equal(r.json.error.code, 'BadParameter', q);
        }
        for (const v of ['7.3', '7.4', '7.5', '7.6'])
            assert.equal((await kvRequest(`/secrets?api-version=${v}`, { headers: auth })).status, 200, v);
    });

    test('bodies are parsed strictly; names are checked', async () => {
        const auth = { authorization: `Bearer ${token('demo-app')}` };
        const bad = [
            '{"value":"x","extra":1}', '{"value":1}', '{"contentType":"x"}', '{"value":"x","tags":{"a":1}}',
            '{"value":"x","attributes":{"enabled":"yes"}}', '{"value":"x","attributes":{"created":1}}',
            '{"value":"x","value":"y"}', '[1]', 'not json', '{"value":"x","attributes":{"nbf":20,"exp":10}}',
        ];
        for (const body of bad) {
            const r = await kvRequest('/secrets/demo-strict?api-version=7.6', { method: 'PUT', headers: auth, body });
            assert.equal(r.status, 400, body);
            assert.equal(r.json.error.code, 'BadParameter', body);
        }
        for (const name of ['demo_x', 'demo%2Fx', 'a'.repeat(128)]) {
            const r = await kvRequest(`/secrets/${name}?api-version=7.6`, { headers: auth });
            assert.equal(r.status, 400, name);
        }
        const missing = await kvRequest('/secrets/demo-nothing?api-version=7.6', { headers: auth });
        assert.equal(missing.status, 404);
        assert.equal(missing.json.error.code, 'SecretNotFound');
        const token1 = await kvRequest('/secrets?api-version=7.6&$skiptoken=bm90LW91cnM', { headers: auth });
        assert.equal(token1.status, 400);
    });

    test('lifecycle answers, paging links and unknown paths, as Key Vault gives them', async () => {
        const auth = { authorization: `Bearer ${token('demo-app')}` };
        const q = '?api-version=7.6';
        const call = (method, p, body) => kvRequest(p, { method, headers: auth, body });
        for (let i = 0; i < 3; i++)
            assert.equal((await call('PUT', `/secrets/demo-life${q}`, { value: `secret-value-${i}` })).status, 200);
        /* versions, two per page: the nextLink is absolute, under public_url, with the same api-version */
        const p1 = await call('GET', `/secrets/demo-life/versions${q}&maxresults=2`);
        assert.equal(p1.status, 200);
        assert.equal(p1.json.value.length, 2);
        assert.ok(p1.json.value.every((v) => v.id.startsWith(`${publicUrl()}/secrets/demo-life/`) && !('value' in v)));
        assert.match(p1.json.nextLink, new RegExp(`^${publicUrl()}/secrets/demo-life/versions\\?api-version=7\\.6&\\$skiptoken=[A-Za-z0-9_-]+&maxresults=2$`));
        const p2 = await call('GET', p1.json.nextLink.slice(publicUrl().length));
        assert.equal(p2.json.value.length, 1);
        assert.equal(p2.json.nextLink, null);
        assert.ok(!p1.text.includes('secret-value') && !p2.text.includes('secret-value'));
        /* a live secret is not a deleted one; recover and purge need a deleted one */
        assert.equal((await call('GET', `/deletedsecrets/demo-life${q}`)).json.error.code, 'SecretNotFound');
        assert.equal((await call('POST', `/deletedsecrets/demo-life/recover${q}`)).status, 404);
        assert.equal((await call('DELETE', `/deletedsecrets/demo-life${q}`)).status, 404);
        const del = await call('DELETE', `/secrets/demo-life${q}`);
        assert.equal(del.status, 200);
        assert.equal(del.json.recoveryId, `${publicUrl()}/deletedsecrets/demo-life`);
        assert.ok(del.json.scheduledPurgeDate - del.json.deletedDate >= 7 * 86400);
        assert.equal(del.json.attributes.recoveryLevel, 'Recoverable+Purgeable');
        assert.equal((await call('DELETE', `/secrets/demo-life${q}`)).status, 404);
        assert.equal((await call('GET', `/secrets/demo-life/versions${q}`)).status, 404);
        assert.equal((await call('PATCH', `/secrets/demo-life/${q}`, { tags: {} })).status, 404);
        const put = await call('PUT', `/secrets/demo-life${q}`, { value: 'x' });
        assert.equal(put.status, 409);
        assert.equal(put.json.error.innererror.code, 'ObjectIsDeletedButRecoverable');
        assert.equal((await call('DELETE', `/deletedsecrets/demo-life${q}`)).status, 204);
        assert.equal((await call('GET', `/deletedsecrets/demo-life${q}`)).status, 404);
        /* unknown paths and methods: 404 / 405 once authenticated, 401 before (nothing is learnt without a token) */
        assert.equal((await call('GET', `/keys/k${q}`)).status, 404);
        assert.equal((await call('POST', `/secrets${q}`)).status, 405);
        assert.equal((await kvRequest(`/keys/k${q}`)).status, 401);
    });

    test('outside its scope a principal gets 403 Forbidden (ForbiddenByRbac), audited without the value', async () => {
        const auth = { authorization: `Bearer ${token('demo-app')}` };
        const r = await kvRequest('/secrets/other-x?api-version=7.6', { method: 'PUT', headers: auth, body: { value: 'very-secret-value-1' } });
        assert.equal(r.status, 403);
        assert.equal(r.json.error.code, 'Forbidden');
        assert.equal(r.json.error.innererror.code, 'ForbiddenByRbac');
        const set = await kvRequest('/secrets/demo-audited?api-version=7.6', { method: 'PUT', headers: auth, body: { value: 'very-secret-value-2' } });
        assert.equal(set.status, 200);
        assert.equal(set.json.value, 'very-secret-value-2');
        const records = sasgw.auditRecords();
        assert.ok(records.some((x) => x.op === 'keyvault.secrets/set' && x.object === 'other-x' && x.result === 'refused' &&
            x.principal === 'demo-app'));
        assert.ok(records.some((x) => x.op === 'secret.set' && x.object === 'secrets/demo-audited' && x.result === 'ok' &&
            x.principal === 'demo-app'));
        assert.ok(!readFileSync(sasgw.auditPath, 'utf8').includes('very-secret-value'));
    });
});

test('@azure/keyvault-secrets (api 7.6): every secrets operation, the challenge, 403 and 400', async () => {
    const r = await runClient(process.execPath, [path.join(SOURCE_DIR, 'tests/e2e/keyvault_sdk_client.mjs')], {
        NODE_EXTRA_CA_CERTS: path.join(tlsDir, 'ca.pem'), KV_URL: publicUrl(), KV_RESOURCE: resource(),
    });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\n--- sasgw ---\n${sasgw.logTail()}`);
    const { steps } = JSON.parse(r.stdout.trim().split('\n').pop());
    assert.deepEqual(steps, ['challenge', 'set-get', 'list-paging', 'update', 'delete', 'recover', 'purge', 'backup-restore',
        'forbidden', 'api-version']);
});

test('python3-azure azure.keyvault.secrets (api 7.3): the same operations', async () => {
    const r = await runClient('/usr/bin/python3', [path.join(SOURCE_DIR, 'tests/e2e/keyvault_py.py')], {
        KV_URL: publicUrl(), KV_RESOURCE: resource(), KV_CA: path.join(tlsDir, 'ca.pem'),
        KV_TOKEN_APP: token('demo-app'), KV_TOKEN_READER: token('jwt-app'),
    });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\n--- sasgw ---\n${sasgw.logTail()}`);
    const { steps } = JSON.parse(r.stdout.trim().split('\n').pop());
    assert.deepEqual(steps, ['set-get', 'list-paging', 'update', 'delete', 'recover', 'backup-restore', 'forbidden', 'api-version']);
});

test('failed bearer tokens count in the issuer\'s auth_failures limiter: 429 Throttled, the issuer refuses that client too', async () => {
    const bad = { authorization: `Bearer ${token('demo-app', 'https://wrong.example')}` };
    const statuses = [];
    for (let i = 0; i < AUTH_LIMIT + 3; i++)
        statuses.push(await kvRequest('/secrets?api-version=7.6', { headers: bad, localAddress: '127.0.0.2' }));
    assert.deepEqual(statuses.map((r) => r.status), [...Array(AUTH_LIMIT).fill(401), 429, 429, 429]);
    const last = statuses.at(-1);
    assert.equal(last.json.error.code, 'Throttled');
    assert.ok(Number(last.headers['retry-after']) > 0);
    /* a good token from that address is not even looked at; the issuer refuses the address too; 127.0.0.1 is unaffected */
    const good = { authorization: `Bearer ${token('demo-app')}` };
    assert.equal((await kvRequest('/secrets?api-version=7.6', { headers: good, localAddress: '127.0.0.2' })).status, 429);
    const issuer = await httpRequest(`${sasgw.issuerUrl}/v1/secrets`, { headers: { authorization: basicAuth(DEMO_ADMIN.user, DEMO_ADMIN.secret) }, localAddress: '127.0.0.2' });
    assert.equal(issuer.status, 429);
    assert.equal((await kvRequest('/secrets?api-version=7.6', { headers: good })).status, 200);
});
