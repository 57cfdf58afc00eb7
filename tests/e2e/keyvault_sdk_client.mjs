// keyvault_sdk_client.mjs - the @azure/keyvault-secrets side of keyvault.test.mjs,
// run as a child node process so that NODE_EXTRA_CA_CERTS (the test's throwaway CA)
// is in force from the start. Env: KV_URL (https://kv.localhost:PORT), KV_RESOURCE
// (the resource the challenge must name). Every name the test resolves under
// .localhost goes to 127.0.0.1 (the host has no resolver for it; the SDK checks
// the challenge's resource against the vault's domain, so the vault needs a
// host name with a parent domain). Prints one JSON line {steps: [...]} and
// exits 0, or prints the failure and exits 1.
import assert from 'node:assert/strict';
import dns from 'node:dns';

const lookup = dns.lookup;
dns.lookup = (host, opts, cb) => {
    if (typeof opts === 'function') {
        cb = opts;
        opts = {};
    }
    return lookup(host.endsWith('.localhost') ? '127.0.0.1' : host, opts, cb);
};

const { SecretClient } = await import('@azure/keyvault-secrets');
const { signJwt } = await import('./lib/stack.mjs');

const url = process.env.KV_URL;
const resource = process.env.KV_RESOURCE;
const steps = [];
const step = (name) => steps.push(name);

/* The tiny credential: a demo-issuer JWT for the audience the SDK asks a scope for. */
function credential(sub, seen) {
    return {
        async getToken(scopes) {
            const scope = Array.isArray(scopes) ? scopes[0] : scopes;
            seen?.push(scope);
            const aud = scope.replace(/\/\.default$/, '');
            return { token: signJwt({ claims: { sub, aud } }), expiresOnTimestamp: Date.now() + 240000 };
        },
    };
}

const scopes = [];
const client = new SecretClient(url, credential('demo-app', scopes), { serviceVersion: '7.6' });

/* set, get (latest and by version) */
const v1 = await client.setSecret('demo-a', 'first value');
assert.equal(v1.value, 'first value');
assert.equal(v1.name, 'demo-a');
assert.match(v1.properties.id, new RegExp(`^${url}/secrets/demo-a/[0-9a-f]{32}$`));
assert.deepEqual(scopes, [`${resource}/.default`], 'the challenge flow asked for the resource scope');
step('challenge');
const v2 = await client.setSecret('demo-a', 'second value', { contentType: 'text/plain', tags: { env: 'e2e' } });
assert.notEqual(v2.properties.version, v1.properties.version);
const latest = await client.getSecret('demo-a');
assert.equal(latest.value, 'second value');
assert.equal(latest.properties.contentType, 'text/plain');
assert.deepEqual(latest.properties.tags, { env: 'e2e' });
assert.equal(latest.properties.enabled, true);
assert.equal(latest.properties.recoveryLevel, 'Recoverable+Purgeable');
const old = await client.getSecret('demo-a', { version: v1.properties.version });
assert.equal(old.value, 'first value');
step('set-get');

/* list with paging: more than one page, no values */
for (let i = 0; i < 12; i++)
    await client.setSecret(`demo-p-${String(i).padStart(2, '0')}`, `value ${i}`);
let pages = 0;
const names = [];
for await (const pg of client.listPropertiesOfSecrets().byPage({ maxPageSize: 5 })) {
    pages++;
    for (const p of pg) {
        assert.equal(p.value, undefined);
        names.push(p.name);
    }
}
assert.ok(pages >= 3, `expected at least 3 pages, got ${pages}`);
for (let i = 0; i < 12; i++)
    assert.ok(names.includes(`demo-p-${String(i).padStart(2, '0')}`));
assert.ok(names.includes('demo-a'));
assert.equal(new Set(names).size, names.length, 'no secret listed twice');
const versions = [];
for await (const p of client.listPropertiesOfSecretVersions('demo-a'))
    versions.push(p.version);
assert.deepEqual(versions.sort(), [v1.properties.version, v2.properties.version].sort());
step('list-paging');

/* update properties */
const upd = await client.updateSecretProperties('demo-a', v1.properties.version, { tags: { stage: 'old' }, contentType: 'x/y' });
assert.deepEqual(upd.tags, { stage: 'old' });
assert.equal(upd.contentType, 'x/y');
assert.equal((await client.getSecret('demo-a', { version: v1.properties.version })).properties.contentType, 'x/y');
await client.updateSecretProperties('demo-a', v1.properties.version, { enabled: false });
await assert.rejects(client.getSecret('demo-a', { version: v1.properties.version }), (e) => e.statusCode === 403);
step('update');

/* backup before the delete cycle */
const backup = await client.backupSecret('demo-a');
assert.ok(backup instanceof Uint8Array && backup.length > 40);

/* delete (poller), list deleted, a set on a deleted name, recover (poller) */
const delPoller = await client.beginDeleteSecret('demo-a');
const del = await delPoller.pollUntilDone();
assert.equal(del.name, 'demo-a');
assert.ok(del.deletedOn instanceof Date);
assert.ok(del.scheduledPurgeDate > del.deletedOn);
assert.equal(del.recoveryId, `${url}/deletedsecrets/demo-a`);
await assert.rejects(client.getSecret('demo-a'), (e) => e.statusCode === 404 && e.code === 'SecretNotFound');
await assert.rejects(client.setSecret('demo-a', 'again'), (e) => e.statusCode === 409);
const deletedNames = [];
for await (const d of client.listDeletedSecrets())
    deletedNames.push(d.name);
assert.deepEqual(deletedNames, ['demo-a']);
step('delete');
const recPoller = await client.beginRecoverDeletedSecret('demo-a');
await recPoller.pollUntilDone();
assert.equal((await client.getSecret('demo-a')).value, 'second value');
step('recover');

/* purge, then restore the backup */
await (await client.beginDeleteSecret('demo-a')).pollUntilDone();
await client.purgeDeletedSecret('demo-a');
await assert.rejects(client.getDeletedSecret('demo-a'), (e) => e.statusCode === 404);
step('purge');
const restored = await client.restoreSecretBackup(backup);
assert.equal(restored.name, 'demo-a');
assert.equal((await client.getSecret('demo-a')).value, 'second value');
await assert.rejects(client.restoreSecretBackup(backup), (e) => e.statusCode === 409);
const tampered = Uint8Array.from(backup);
tampered[tampered.length - 1] ^= 1;
await client.beginDeleteSecret('demo-a').then((p) => p.pollUntilDone());
await client.purgeDeletedSecret('demo-a');
await assert.rejects(client.restoreSecretBackup(tampered), (e) => e.statusCode === 400 && e.code === 'BadParameter');
step('backup-restore');

/* a principal without secrets/get: 403 surfaced as a RestError */
await client.setSecret('demo-b', 'for the reader');
const reader = new SecretClient(url, credential('jwt-app'), { serviceVersion: '7.6' });
await assert.rejects(reader.getSecret('demo-b'), (e) => e.name === 'RestError' && e.statusCode === 403 && e.code === 'Forbidden');
const listed = [];
for await (const p of reader.listPropertiesOfSecrets())
    listed.push(p.name);
assert.ok(listed.includes('demo-b'), 'jwt-app may list');
step('forbidden');

/* an api-version outside 7.3-7.6 (the SDK's own default, 2026-04-01) */
const newer = new SecretClient(url, credential('demo-app'));
await assert.rejects(newer.getSecret('demo-b'), (e) => e.statusCode === 400 && e.code === 'BadParameter');
const older = new SecretClient(url, credential('demo-app'), { serviceVersion: '7.2' });
await assert.rejects(older.getSecret('demo-b'), (e) => e.statusCode === 400 && e.code === 'BadParameter');
step('api-version');

console.log(JSON.stringify({ steps }));
