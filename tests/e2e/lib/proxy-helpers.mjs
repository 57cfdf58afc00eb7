// proxy-helpers.mjs - what the proxy and revocation end-to-end tests need
// beyond stack.mjs: a `sasgw serve` with a full configuration of their own
// (proxy debug, upstream timeout, max_staleness, extra accounts), tiny origin
// servers, SAS minting with the official SDK, and a RESP client that revokes.
//
// Everything started here is stopped by stopProxyStacks() (use it in after()).

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { BlobSASPermissions, ContainerSASPermissions, SASProtocol, StorageSharedKeyCredential, generateBlobSASQueryParameters } from '@azure/storage-blob';

import { DEV_ACCOUNT, DEV_KEY, SOURCE_DIR, freePort, httpStatus, redisCommand, runSasgw, sasgwBinary, waitFor } from './stack.mjs';

const started = new Set(); /* sasgw processes */
const origins = new Set(); /* in-process origin servers */

function killGroup(pid, sig) {
    try {
        process.kill(-pid, sig);
    } catch {
        /* gone */
    }
}
process.on('exit', () => {
    for (const s of started)
        killGroup(s.pid, 'SIGKILL');
});

/**
 * Starts `sasgw serve` with an issuer and a proxy listener on free loopback
 * ports. accounts: [{name, key (base64), backend, mode}] added to the vault
 * (default: devstoreaccount1 in front of azuritePort, passthrough).
 * Options: redisPort, azuritePort, maxStaleness (s), failOpen, upstreamTimeout (s), expirySkew (s),
 * debug, threads, trustedProxies (array), tls ({certFile, keyFile}: a second,
 * TLS proxy listener at svc.tlsPort / svc.tlsUrl), extraEnv (added to sasgw's environment), http2 (true: the
 * proxy listeners offer HTTP/2; default false), extraProxyYaml (lines added to the proxy section, indented by
 * two spaces). Resolves once /healthz answers and
 * the revocation list is loaded (/readyz, unless waitReady is false).
 */
export async function startProxySasgw({
    redisPort, azuritePort, accounts, maxStaleness = 30, failOpen = false, upstreamTimeout = 30, expirySkew = 0, debug = false,
    threads = 2, trustedProxies = [], waitReady = true, tls = null, extraEnv = {}, http2 = false, extraProxyYaml = '',
} = {}) {
    accounts ??= [{ name: DEV_ACCOUNT, key: DEV_KEY, backend: `http://127.0.0.1:${azuritePort}`, mode: 'passthrough' }];
    const dir = mkdtempSync(path.join(os.tmpdir(), `sasgw-e2e-${process.pid}-proxy-`));
    const issuerPort = await freePort();
    let proxyPort = await freePort();
    while (proxyPort === issuerPort)
        proxyPort = await freePort();
    let tlsPort = null;
    while (tls && (tlsPort === null || tlsPort === issuerPort || tlsPort === proxyPort))
        tlsPort = await freePort();
    const tlsListener = tls ? `
    - address: 127.0.0.1
      port: ${tlsPort}
      tls: { certificate: ${tls.certFile}, key: ${tls.keyFile} }
      http2: ${http2}` : '';
    for (const f of ['policy.yaml', 'demo-jwks.json', 'demo-jwt-private.pem', 'demo-jwt-es256.pem'])
        copyFileSync(path.join(SOURCE_DIR, 'conf', f), path.join(dir, f));
    const masterKeyFile = path.join(dir, 'master.key');
    writeFileSync(masterKeyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    chmodSync(masterKeyFile, 0o600);
    const configPath = path.join(dir, 'sasgw.yaml');
    writeFileSync(configPath, `vault:
  path: ${dir}/vault.db
  master_key_file: ${masterKeyFile}
policy: ${dir}/policy.yaml
threads: ${threads}
issuer:
  listen:
    - address: 127.0.0.1
      port: ${issuerPort}
proxy:
  listen:
    - address: 127.0.0.1
      port: ${proxyPort}
      http2: ${http2}${tlsListener}
  public_base_url: http://127.0.0.1:${proxyPort}
  upstream_timeout: ${upstreamTimeout}
  expiry_skew: ${expirySkew}
  trusted_proxies: [${trustedProxies.join(', ')}]
  debug: ${debug}
${extraProxyYaml}redis:
  host: 127.0.0.1
  port: ${redisPort}
revocation:
  max_staleness: ${maxStaleness}
  fail_open: ${failOpen}
audit:
  path: ${dir}/audit.log
`);
    const vaultOpts = ['--vault', `${dir}/vault.db`, '--master-key-file', masterKeyFile, '--audit-log', `${dir}/audit.log`];
    const env = { SASGW_MASTER_KEY: '', SASGW_PASSPHRASE: '', SASGW_VAULT: '', SASGW_AUDIT_LOG: '' };
    const cli = (args) => runSasgw([...args, ...vaultOpts], { env });
    let r = await cli(['vault', 'init']);
    if (r.code !== 0)
        throw new Error(`vault init: ${r.stderr}`);
    for (const a of accounts) {
        r = await cli(['account', 'add', a.name, '--key1', a.key, '--backend', a.backend, '--mode', a.mode]);
        if (r.code !== 0)
            throw new Error(`account add ${a.name}: ${r.stderr}`);
    }
    const childEnv = { ...process.env, ...extraEnv };
    for (const k of Object.keys(env))
        delete childEnv[k];
    const child = spawn(path.resolve(sasgwBinary()), ['serve', '-c', configPath], {
        cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: childEnv,
    });
    const svc = {
        pid: child.pid, dir, cli, configPath, issuerPort, proxyPort, tlsPort,
        issuerUrl: `http://127.0.0.1:${issuerPort}`,
        proxyUrl: `http://127.0.0.1:${proxyPort}`,
        tlsUrl: tls ? `https://127.0.0.1:${tlsPort}` : null,
        log: '',
        exited: null,
    };
    child.stdout.on('data', (d) => (svc.log += d));
    child.stderr.on('data', (d) => (svc.log += d));
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve((svc.exited = { code, signal }))));
    svc.stop = async () => {
        if (!started.has(svc))
            return;
        started.delete(svc);
        killGroup(svc.pid, 'SIGTERM');
        const t = setTimeout(() => killGroup(svc.pid, 'SIGKILL'), 8000);
        await exited;
        clearTimeout(t);
        rmSync(dir, { recursive: true, force: true });
    };
    started.add(svc);
    try {
        await waitFor(async () => (await httpStatus(`${svc.issuerUrl}/healthz`)) === 200, {
            what: 'sasgw /healthz', timeoutMs: 20000, shouldAbort: () => (svc.exited ? `exited ${JSON.stringify(svc.exited)}` : null),
        });
        if (waitReady)
            await waitFor(async () => (await httpStatus(`${svc.issuerUrl}/readyz`)) === 200, { what: 'sasgw /readyz', timeoutMs: 20000 });
    } catch (err) {
        const log = svc.log;
        await svc.stop();
        throw new Error(`${err.message}\n--- sasgw output ---\n${log.slice(-4000)}`);
    }
    return svc;
}

/** Stops every sasgw started by startProxySasgw() and every origin server. */
export async function stopProxyStacks() {
    for (const s of [...started])
        await s.stop();
    for (const o of [...origins])
        await o.close();
}

/**
 * A tiny origin server on a free port: records each request {method, url,
 * headers, bodyLength} in .requests, answers 200 with `origin:<url>`.
 * stall: accept and never answer.
 */
export async function startOrigin({ stall = false, port } = {}) {
    const requests = [];
    const sockets = new Set();
    const server = http.createServer((req, res) => {
        let n = 0;
        req.on('data', (c) => (n += c.length));
        req.on('end', () => {
            requests.push({ method: req.method, url: req.url, headers: req.headers, bodyLength: n });
            if (stall)
                return;
            const body = `origin:${req.url}`;
            res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
            res.end(body);
        });
    });
    server.on('connection', (s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
    });
    port ??= await freePort();
    await new Promise((resolve, reject) => server.listen({ host: '127.0.0.1', port }, resolve).on('error', reject));
    const svc = {
        port, requests,
        close: () => new Promise((resolve) => {
            origins.delete(svc);
            for (const s of sockets)
                s.destroy();
            server.close(() => resolve());
        }),
    };
    origins.add(svc);
    return svc;
}

/**
 * A blob or container SAS made by the official SDK with Azurite's key (or key):
 * {container, blob?, permissions, expiresOn, startsOn?, ipRange?, protocol?, identifier?}
 * Resolves to the query string.
 */
export function sdkSas({ account = DEV_ACCOUNT, key = DEV_KEY, container, blob, permissions = 'r', expiresOn, startsOn, ipRange, protocol,
    identifier, version } = {}) {
    const cred = new StorageSharedKeyCredential(account, key);
    const opts = {
        containerName: container,
        blobName: blob,
        expiresOn: expiresOn ?? new Date(Date.now() + 3600 * 1000),
        startsOn,
        ipRange,
        protocol: protocol === 'https' ? SASProtocol.Https : protocol === 'https,http' ? SASProtocol.HttpsAndHttp : undefined,
        identifier,
        version,
    };
    if (permissions !== undefined)
        opts.permissions = blob ? BlobSASPermissions.parse(permissions) : ContainerSASPermissions.parse(permissions);
    return generateBlobSASQueryParameters(opts, cred).toString();
}

/** token_id of a SAS query string. */
export function tokenIdOfQuery(query) {
    const sig = new URLSearchParams(query).get('sig');
    return tokenIdOfSig(sig);
}

export function tokenIdOfSig(sig) {
    return createHash('sha256').update(Buffer.from(sig, 'base64')).digest().subarray(0, 16).toString('base64url');
}

/**
 * Revokes one token id as docs/redis.md says: MULTI, ZADD sasgw:revoked, PUBLISH
 * sasgw:revocations, EXEC (one connection). expiry: unix seconds.
 */
export function revokeInRedis(port, tokenId, expiry) {
    return redisPipeline(port, [
        ['MULTI'],
        ['ZADD', 'sasgw:revoked', String(expiry), tokenId],
        ['PUBLISH', 'sasgw:revocations', `${tokenId} ${expiry}`],
        ['EXEC'],
    ]);
}

/** Sends several commands on one connection; resolves once as many replies arrived (raw text). */
export function redisPipeline(port, commands) {
    return new Promise((resolve, reject) => {
        const sock = net.connect({ host: '127.0.0.1', port });
        let out = '';
        for (const args of commands) {
            out += `*${args.length}\r\n`;
            for (const a of args)
                out += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
        }
        let got = '';
        sock.setTimeout(5000, () => sock.destroy(new Error('redis timed out')));
        sock.on('connect', () => sock.write(out));
        sock.on('data', (d) => {
            got += d.toString();
            /* EXEC's reply is the last: an array header after the QUEUED lines */
            if (/\*\d+\r\n[\s\S]*\r\n$/.test(got) && got.split('\r\n').length > commands.length + 2) {
                sock.end();
                resolve(got);
            }
        });
        sock.on('error', reject);
        sock.on('close', () => resolve(got));
    });
}

export { redisCommand };

/** Sends an HTTP request and resolves to {status, headers, body}. */
export function request(url, { method = 'GET', headers = {}, body, timeoutMs = 15000 } = {}) {
    return new Promise((resolve, reject) => {
        const req = http.request(url, { method, headers, agent: false, timeout: timeoutMs }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        });
        req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
        req.on('error', reject);
        if (body !== undefined)
            req.write(body);
        req.end();
    });
}

/** The <Code> of an Azure error document, or undefined. */
export function azureCode(body) {
    return /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
}

/** Sends GET with this exact request target (no normalisation) on a fresh connection; resolves to {status, body}. */
export function rawRequest(port, target, { method = 'GET' } = {}) {
    return new Promise((resolve, reject) => {
        const sock = net.connect({ host: '127.0.0.1', port });
        let got = '';
        sock.setTimeout(10000, () => sock.destroy(new Error('raw request timed out')));
        sock.on('connect', () => sock.write(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
        sock.on('data', (d) => (got += d.toString('latin1')));
        sock.on('end', () => {
            const m = /^HTTP\/1\.1 (\d+)/.exec(got);
            resolve({ status: m ? Number(m[1]) : 0, body: got.slice(got.indexOf('\r\n\r\n') + 4) });
        });
        sock.on('error', reject);
    });
}
