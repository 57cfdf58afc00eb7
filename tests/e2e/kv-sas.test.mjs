// kv-sas.test.mjs - Key Vault managed-storage SAS definitions end to end:
// a definition is written through Key Vault's PUT /storage/{account}/sas/{name}
// (and read back through the admin API /v1/accounts/{account}/sas-definitions),
// read as the secret "{account}-{name}" with @azure/keyvault-secrets'
// SecretClient.getSecret() over TLS (a child node with NODE_EXTRA_CA_CERTS:
// fresh tokens each read, Key Vault's SAS content type, exp, managed), the
// token used with @azure/storage-blob through the proxy to Azurite, then
// revoked with POST /v1/revocations and refused. A reader whose grants do
// not cover the definition gets 403 from the SDK; a disabled definition 403;
// bad bodies 400; the admin routes guard themselves with policies.read/write.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { BlobServiceClient, ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';

import {
    DEMO_ADMIN, DEMO_APP, DEV_ACCOUNT, DEV_KEY, SOURCE_DIR, basicAuth, freePort, httpRequest, signJwt, startAzurite, startRedis,
    startSasgw, stopAll, tokenIdOf, waitFor,
} from './lib/stack.mjs';

const CONTAINER = 'demo';
const SIG = 'sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D';
let redis, azurite, sasgw, kvPort, tlsDir, ca;

/* A CA and a server certificate for kv.localhost and 127.0.0.1, valid one day. */
function makeCertificates(dir) {
    const run = (args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem',
        '-days', '1', '-subj', '/CN=sasgw kv-sas CA', '-addext', 'basicConstraints=critical,CA:TRUE',
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
const bearer = (sub) => ({ authorization: `Bearer ${signJwt({ claims: { sub, aud: resource() } })}` });
const admin = { authorization: basicAuth(DEMO_ADMIN.user, DEMO_ADMIN.secret) };
const template = (extra = '') => `${sasgw.proxyUrl}/${DEV_ACCOUNT}/${CONTAINER}?sv=2022-11-02&sr=c&sp=rl${extra}&${SIG}`;

/* One HTTPS request to the vault: {status, headers, json}. */
function kvRequest(p, { method = 'GET', headers = {}, body } = {}) {
    return new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
        const req = https.request({
            host: '127.0.0.1', port: kvPort, servername: 'kv.localhost', path: p, method, ca,
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

/* SecretClient.getSecret(secret) as sub in a child node: the client's JSON line. */
function sdkRead(secret, sub, reads = 1) {
    return new Promise((resolve) => {
        const child = spawn(process.execPath, [path.join(SOURCE_DIR, 'tests/e2e/kv_sas_client.mjs')], {
            cwd: SOURCE_DIR,
            env: { ...process.env, NODE_EXTRA_CA_CERTS: path.join(tlsDir, 'ca.pem'), KV_URL: publicUrl(), KV_SECRET: secret,
                KV_SUB: sub, KV_READS: String(reads) },
            stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '', stderr = '';
        child.stdout.on('data', (d) => { stdout += d; });
        child.stderr.on('data', (d) => { stderr += d; });
        child.on('exit', (code) => {
            try {
                resolve(JSON.parse(stdout.trim().split('\n').pop()));
            } catch {
                resolve({ ok: false, code: `exit ${code}`, message: `${stdout}\n${stderr}\n--- sasgw ---\n${sasgw.logTail()}` });
            }
        });
    });
}

const KV_ROLES = `
  kv-sas-owner:
    keyvault:
      - actions: [storage/getsas, storage/listsas, storage/setsas, storage/deletesas]
        storage: ${DEV_ACCOUNT}
      - actions: [get]
        secrets: "${DEV_ACCOUNT}-*"
  kv-sas-reader:
    keyvault:
      - actions: [get]
        secrets: "${DEV_ACCOUNT}-*"
`;

before(async () => {
    [redis, azurite] = await Promise.all([startRedis(), startAzurite()]);
    tlsDir = mkdtempSync(path.join(os.tmpdir(), `sasgw-e2e-${process.pid}-kvsas-`));
    const tls = makeCertificates(tlsDir);
    ca = readFileSync(tls.ca);
    kvPort = await freePort();
    /* demo-app owns the definitions and may mint on container demo; jwt-app may read the secrets, but its service grants
       cover users/jwt-app/ only (and it may mint account SAS rl on blob, demo-account-reader) */
    const policy = readFileSync(path.join(SOURCE_DIR, 'conf', 'policy.yaml'), 'utf8')
        .replace('roles: [demo-writer]', 'roles: [demo-writer, kv-sas-owner]')
        .replace('roles: [demo-per-user]', 'roles: [demo-per-user, kv-sas-reader, demo-account-reader]')
        .replace(/^roles:\n/m, `roles:${KV_ROLES}`);
    sasgw = await startSasgw({
        redis, azurite, policy,
        extraYaml: `keyvault:
  listen:
    - address: 127.0.0.1
      port: ${kvPort}
      tls: { certificate: ${tls.certificate}, key: ${tls.key} }
  public_url: ${publicUrl()}
`,
    });
    const svc = new BlobServiceClient(azurite.accountUrl, new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_KEY));
    const container = svc.getContainerClient(CONTAINER);
    await container.create();
    await container.getBlockBlobClient('hello.txt').upload('hello from azurite', 18);
});

after(async () => {
    await stopAll();
    if (tlsDir)
        rmSync(tlsDir, { recursive: true, force: true });
});

describe('definitions', () => {
    test('PUT /storage/{account}/sas/{name}: Key Vault\'s SasDefinitionBundle; GET, list, admin view agree', async () => {
        const put = await kvRequest(`/storage/${DEV_ACCOUNT}/sas/readonly?api-version=7.6`, {
            method: 'PUT', headers: bearer('demo-app'),
            body: { templateUri: template(), sasType: 'service', validityPeriod: 'PT10M', tags: { team: 'e2e' } },
        });
        assert.equal(put.status, 200, put.text);
        const b = put.json;
        assert.equal(b.id, `${publicUrl()}/storage/${DEV_ACCOUNT}/sas/readonly`);
        assert.equal(b.sid, `${publicUrl()}/secrets/${DEV_ACCOUNT}-readonly`);
        assert.equal(b.templateUri, template());
        assert.equal(b.sasType, 'service');
        assert.equal(b.validityPeriod, 'PT10M');
        assert.deepEqual(b.tags, { team: 'e2e' });
        assert.equal(b.attributes.enabled, true);
        assert.equal(b.attributes.recoveryLevel, 'Purgeable');
        assert.ok(Math.abs(b.attributes.created - Date.now() / 1000) < 60);

        const get = await kvRequest(`/storage/${DEV_ACCOUNT}/sas/readonly?api-version=7.6`, { headers: bearer('demo-app') });
        assert.equal(get.status, 200);
        assert.deepEqual(get.json, b);
        const list = await kvRequest(`/storage/${DEV_ACCOUNT}/sas?api-version=7.6`, { headers: bearer('demo-app') });
        assert.equal(list.status, 200);
        assert.deepEqual(list.json.value.map((x) => x.id), [b.id]);
        assert.equal(list.json.value[0].templateUri, undefined, 'the list carries no templates');

        const view = await httpRequest(`${sasgw.issuerUrl}/v1/accounts/${DEV_ACCOUNT}/sas-definitions/readonly`, { headers: admin });
        assert.equal(view.status, 200);
        assert.equal(view.json.template_uri, template());
        assert.equal(view.json.validity_period, 'PT10M');
        assert.equal(view.json.sas_type, 'service');
        assert.equal(view.headers['cache-control'], 'no-store');
    });

    test('bad bodies and names are 400 BadParameter; the storage actions are the caller\'s', async () => {
        const auth = bearer('demo-app');
        const bodies = [
            { templateUri: template(), sasType: 'service' },
            { templateUri: template(), sasType: 'blob', validityPeriod: 'PT1H' },
            { templateUri: template(), sasType: 'service', validityPeriod: 'P30D' },
            { templateUri: template(), sasType: 'service', validityPeriod: 'P1M' },
            { templateUri: template(), sasType: 'account', validityPeriod: 'PT1H' },
            { templateUri: template().replace(DEV_ACCOUNT, 'otheraccount'), sasType: 'service', validityPeriod: 'PT1H' },
            { templateUri: `${sasgw.proxyUrl}/${DEV_ACCOUNT}/${CONTAINER}?sr=c&sp=rl`, sasType: 'service', validityPeriod: 'PT1H' },
            { templateUri: template(), sasType: 'service', validityPeriod: 'PT1H', attributes: { enabled: 'yes' } },
            { templateUri: template(), sasType: 'service', validityPeriod: 'PT1H', extra: 1 },
        ];
        for (const body of bodies) {
            const r = await kvRequest(`/storage/${DEV_ACCOUNT}/sas/bad?api-version=7.6`, { method: 'PUT', headers: auth, body });
            assert.equal(r.status, 400, JSON.stringify(body));
            assert.equal(r.json.error.code, 'BadParameter');
            assert.ok(!r.text.includes('AAAAAAAAAAAA'), 'never echoes the template signature');
        }
        for (const p of [`/storage/${DEV_ACCOUNT}/sas/bad-name`, `/storage/BAD/sas/x`])
            assert.equal((await kvRequest(`${p}?api-version=7.6`, { headers: auth })).status, 400, p);
        const gone = await kvRequest(`/storage/${DEV_ACCOUNT}/sas/nothing?api-version=7.6`, { headers: auth });
        assert.equal(gone.status, 404);
        assert.equal(gone.json.error.code, 'SasDefinitionNotFound');
        /* jwt-app holds no storage action */
        const r = await kvRequest(`/storage/${DEV_ACCOUNT}/sas/readonly?api-version=7.6`, { headers: bearer('jwt-app') });
        assert.equal(r.status, 403);
        assert.equal(r.json.error.innererror.code, 'ForbiddenByRbac');
    });

    test('admin API: PUT 201/200, list without templates, DELETE 204, capabilities checked, bodies strict', async () => {
        const url = `${sasgw.issuerUrl}/v1/accounts/${DEV_ACCOUNT}/sas-definitions`;
        const body = { template_uri: template(), sas_type: 'service', validity_period: 'PT5M' };
        assert.equal((await httpRequest(`${url}/adm1`, { method: 'PUT', headers: admin, body })).status, 201);
        const again = await httpRequest(`${url}/adm1`, { method: 'PUT', headers: admin, body: { ...body, enabled: false } });
        assert.equal(again.status, 200);
        assert.equal(again.json.enabled, false);
        const list = await httpRequest(url, { headers: admin });
        assert.equal(list.status, 200);
        assert.deepEqual(list.json.sas_definitions.map((d) => d.name), ['adm1', 'readonly']);
        assert.ok(list.json.sas_definitions.every((d) => d.template_uri === undefined));
        for (const bad of [{ ...body, sas_type: 'x' }, { ...body, extra: 1 }, { ...body, validity_period: 'PT0S' },
            { ...body, template_uri: 'ftp://x' }, { sas_type: 'service', validity_period: 'PT5M' }]) {
            const r = await httpRequest(`${url}/adm2`, { method: 'PUT', headers: admin, body: bad });
            assert.equal(r.status, 400, JSON.stringify(bad));
            assert.ok(r.json.error.message.length > 0);
        }
        const app = { authorization: basicAuth(DEMO_APP.user, DEMO_APP.secret) };
        assert.equal((await httpRequest(url, { headers: app })).status, 403);
        assert.equal((await httpRequest(`${url}/adm1`, { method: 'DELETE', headers: app })).status, 403);
        assert.equal((await httpRequest(`${url}/bad-name`, { headers: admin })).status, 404);
        assert.equal((await httpRequest(`${url}/adm1`, { method: 'DELETE', headers: admin })).status, 204);
        assert.equal((await httpRequest(`${url}/adm1`, { headers: admin })).status, 404);
        assert.equal((await httpRequest(`${url}/adm1`, { method: 'DELETE', headers: admin })).status, 404);
        const ops = sasgw.auditRecords().map((r) => r.op);
        assert.ok(ops.includes('sasdef.put') && ops.includes('sasdef.delete'));
    });
});

describe('reading a definition as a secret', () => {
    test('SecretClient.getSecret() mints a fresh SAS; @azure/storage-blob uses it through the proxy; revoked, it is refused', async () => {
        const r = await sdkRead(`${DEV_ACCOUNT}-readonly`, 'demo-app', 2);
        assert.equal(r.ok, true, JSON.stringify(r));
        const [first, second] = r.reads;
        assert.equal(first.contentType, 'application/vnd.ms-sastoken-storage');
        assert.equal(first.managed, true);
        assert.equal(first.name, `${DEV_ACCOUNT}-readonly`);
        const q = new URLSearchParams(first.value);
        assert.equal(q.get('sr'), 'c');
        assert.equal(q.get('sp'), 'rl');
        assert.equal(q.get('spr'), 'https,http', 'the grant decides the protocol the template left open');
        const exp = Date.parse(first.expiresOn);
        assert.ok(Math.abs(exp - (Date.now() + 600000)) < 30000, `expiresOn ${first.expiresOn} is about now + PT10M`);
        assert.equal(Date.parse(q.get('se')), exp);
        assert.notEqual(first.value, second.value, 'every read mints a fresh token');

        /* the token works through the proxy with the official blob SDK */
        const container = new ContainerClient(`${sasgw.proxyUrl}/${DEV_ACCOUNT}/${CONTAINER}?${first.value}`);
        const names = [];
        for await (const b of container.listBlobsFlat())
            names.push(b.name);
        assert.deepEqual(names, ['hello.txt']);
        const text = (await container.getBlobClient('hello.txt').downloadToBuffer()).toString();
        assert.equal(text, 'hello from azurite');
        /* ... and only for what the template grants */
        await assert.rejects(container.getBlockBlobClient('new.txt').upload('x', 1), (e) => e.statusCode === 403);

        /* indexed and audited like any mint */
        const id = tokenIdOf(q.get('sig'));
        const issued = sasgw.auditRecords().filter((x) => x.op === 'sas.issue' && x.token_id === id);
        assert.equal(issued.length, 1);
        assert.equal(issued[0].principal, 'demo-app');
        assert.equal(issued[0].object, `${DEV_ACCOUNT}/${CONTAINER}`);
        assert.ok(!readFileSync(sasgw.auditPath, 'utf8').includes(q.get('sig')), 'the audit trail holds no signature');

        /* revoke it: refused; the second token still works */
        const rev = await httpRequest(`${sasgw.issuerUrl}/v1/revocations`, { method: 'POST', headers: admin, body: { token_id: id } });
        assert.ok(rev.status === 200 || rev.status === 201, rev.body);
        await waitFor(async () => {
            try {
                await container.getBlobClient('hello.txt').downloadToBuffer();
                return false;
            } catch (e) {
                return e.statusCode === 403;
            }
        }, { what: 'the revoked token refused', timeoutMs: 5000 });
        const other = new ContainerClient(`${sasgw.proxyUrl}/${DEV_ACCOUNT}/${CONTAINER}?${second.value}`);
        assert.equal((await other.getBlobClient('hello.txt').downloadToBuffer()).toString(), 'hello from azurite');
    });

    test('a reader whose grants do not cover the definition gets 403 from the SDK, and nothing is minted', async () => {
        const before = sasgw.auditRecords().filter((x) => x.op === 'sas.issue').length;
        const r = await sdkRead(`${DEV_ACCOUNT}-readonly`, 'jwt-app');
        assert.equal(r.ok, false);
        assert.equal(r.name, 'RestError', JSON.stringify(r));
        assert.equal(r.statusCode, 403);
        assert.equal(r.code, 'Forbidden');
        assert.equal(sasgw.auditRecords().filter((x) => x.op === 'sas.issue').length, before);
        assert.ok(sasgw.auditRecords().some((x) => x.op === 'sas.refuse' && x.principal === 'jwt-app'));
    });

    test('an account SAS definition (sasType account): the reader\'s account grants decide; the token reads through the proxy', async () => {
        const auth = bearer('demo-app');
        const tpl = `${sasgw.proxyUrl}/${DEV_ACCOUNT}?sv=2022-11-02&ss=b&srt=co&sp=rl&${SIG}`;
        const put = await kvRequest(`/storage/${DEV_ACCOUNT}/sas/acctread?api-version=7.6`, {
            method: 'PUT', headers: auth, body: { templateUri: tpl, sasType: 'account', validityPeriod: 'PT5M' },
        });
        assert.equal(put.status, 200, put.text);
        assert.equal(put.json.sasType, 'account');
        /* jwt-app holds demo-account-reader (account SAS, ss b, srt sco, rl): granted */
        const r = await sdkRead(`${DEV_ACCOUNT}-acctread`, 'jwt-app');
        assert.equal(r.ok, true, JSON.stringify(r));
        const q = new URLSearchParams(r.reads[0].value);
        assert.equal(q.get('ss'), 'b');
        assert.equal(q.get('srt'), 'co');
        assert.equal(q.get('sp'), 'rl');
        assert.equal(q.get('sr'), null);
        const blob = new ContainerClient(`${sasgw.proxyUrl}/${DEV_ACCOUNT}/${CONTAINER}?${r.reads[0].value}`).getBlobClient('hello.txt');
        assert.equal((await blob.downloadToBuffer()).toString(), 'hello from azurite');
        /* demo-app has no account SAS grant: 403 */
        const denied = await sdkRead(`${DEV_ACCOUNT}-acctread`, 'demo-app');
        assert.equal(denied.ok, false);
        assert.equal(denied.statusCode, 403, JSON.stringify(denied));
    });

    test('a disabled definition is 403; a name that is no definition is a plain secret (404); DELETE removes it', async () => {
        const auth = bearer('demo-app');
        const p = `/storage/${DEV_ACCOUNT}/sas/off?api-version=7.6`;
        const put = await kvRequest(p, { method: 'PUT', headers: auth,
            body: { templateUri: template(), sasType: 'service', validityPeriod: 'PT1H', attributes: { enabled: false } } });
        assert.equal(put.status, 200);
        assert.equal(put.json.attributes.enabled, false);
        const off = await kvRequest(`/secrets/${DEV_ACCOUNT}-off?api-version=7.6`, { headers: auth });
        assert.equal(off.status, 403);
        const none = await kvRequest(`/secrets/${DEV_ACCOUNT}-nothing?api-version=7.6`, { headers: auth });
        assert.equal(none.status, 404);
        assert.equal(none.json.error.code, 'SecretNotFound');
        const del = await kvRequest(p, { method: 'DELETE', headers: auth });
        assert.equal(del.status, 200);
        assert.equal(del.json.id, `${publicUrl()}/storage/${DEV_ACCOUNT}/sas/off`);
        assert.equal((await kvRequest(p, { headers: auth })).status, 404);
        assert.equal((await kvRequest(`/secrets/${DEV_ACCOUNT}-off?api-version=7.6`, { headers: auth })).status, 404);
    });
});
