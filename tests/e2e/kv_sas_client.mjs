// kv_sas_client.mjs - the @azure/keyvault-secrets side of kv-sas.test.mjs, run
// as a child node process so that NODE_EXTRA_CA_CERTS (the test's throwaway CA)
// is in force from the start. Env: KV_URL (https://kv.localhost:PORT), KV_SECRET
// (the managed secret "{account}-{sasdef}"), KV_SUB (the JWT subject),
// KV_READS (how many reads, default 1). Names under .localhost resolve to
// 127.0.0.1. Prints one JSON line: {ok: true, reads: [{value, contentType,
// expiresOn, managed, id, name}]} or {ok: false, statusCode, code, message}.
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

/* The tiny credential: a demo-issuer JWT for the audience the SDK asks a scope for. */
const credential = (sub) => ({
    async getToken(scopes) {
        const scope = Array.isArray(scopes) ? scopes[0] : scopes;
        return { token: signJwt({ claims: { sub, aud: scope.replace(/\/\.default$/, '') } }), expiresOnTimestamp: Date.now() + 240000 };
    },
});

const client = new SecretClient(process.env.KV_URL, credential(process.env.KV_SUB), { serviceVersion: '7.6' });
const reads = [];
try {
    for (let i = 0; i < Number(process.env.KV_READS ?? 1); i++) {
        const s = await client.getSecret(process.env.KV_SECRET);
        reads.push({
            value: s.value, contentType: s.properties.contentType, expiresOn: s.properties.expiresOn?.toISOString(),
            managed: s.properties.managed, id: s.properties.id, name: s.name,
        });
    }
    console.log(JSON.stringify({ ok: true, reads }));
} catch (e) {
    console.log(JSON.stringify({ ok: false, name: e.name, statusCode: e.statusCode, code: e.code, message: e.message }));
}
