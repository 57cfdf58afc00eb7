// stack.mjs - the real parts an end-to-end test runs against, started and
// stopped from node's test runner.
//
// Each service (redis-server from Debian, Azurite's blob service from
// node_modules) runs as a child process that leads its own process group, on a
// free loopback port, with its data in a fresh temporary directory. start*()
// resolves only once the service answers (Redis: PING -> +PONG; Azurite: any
// HTTP response), polling instead of sleeping. stop() ends the whole process
// group (SIGTERM, then SIGKILL after a grace period) and removes the directory.
// Anything still running when the test process exits is killed by an exit
// hook, so a failing run leaves nothing behind; and each service is held so
// that it gets SIGTERM when the test process dies even of SIGKILL (ctest's
// timeout, a killed runner): Redis and Azurite through util-linux's
// `setpriv --pdeathsig`, sasgw by its own `serve --die-with-parent`.
//
// Typical use:
//
//     import { after, before, test } from 'node:test';
//     import { startAzurite, stopAll } from './lib/stack.mjs';
//     let azurite;
//     before(async () => { azurite = await startAzurite(); });
//     after(stopAll);
//
// The sasgw binary is taken from $SASGW_BINARY (set by ctest), else
// build/gateway/sasgw under the source tree.

import { spawn } from 'node:child_process';
import { createHash, createHmac, randomBytes, sign as cryptoSign } from 'node:crypto';
import { accessSync, chmodSync, constants as fsConstants, copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Azurite's well-known development account (public, documented by Microsoft). */
export const DEV_ACCOUNT = 'devstoreaccount1';
export const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** The project's source tree: $SASGW_SOURCE_DIR, else two levels above this file's directory. */
export const SOURCE_DIR = process.env.SASGW_SOURCE_DIR ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const STOP_GRACE_MS = 5000;
const START_TIMEOUT_MS = 30000;
const START_ATTEMPTS = 3;
const LOG_TAIL_BYTES = 8192;

/* Every service started and not yet stopped, in start order. */
const live = new Set();

/*
 * Data directories are named sasgw-e2e-PID-NAME-XXXXXX after the test process
 * that made them. A run killed outright (SIGKILL, e.g. by ctest's timeout,
 * which kills the whole process tree) cannot clean up; the next run removes
 * directories whose process is gone.
 */
function sweepStaleDirs() {
    for (const entry of readdirSync(os.tmpdir())) {
        const m = /^sasgw-e2e-(\d+)-/.exec(entry);
        if (!m || Number(m[1]) === process.pid)
            continue;
        try {
            process.kill(Number(m[1]), 0);
        } catch (err) {
            if (err.code === 'ESRCH')
                rmSync(path.join(os.tmpdir(), entry), { recursive: true, force: true });
        }
    }
}
sweepStaleDirs();

/**
 * Resolves to a TCP port on 127.0.0.1 that was free a moment ago. Another
 * process may take it before the caller binds it; start*() retries with a new
 * port when a service fails to come up.
 */
export function freePort() {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on('error', reject);
        srv.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
    });
}

/**
 * Calls probe() every intervalMs until it resolves to a truthy value, and
 * resolves to that value. Rejects after timeoutMs, or as soon as
 * shouldAbort() returns a message (a child that already died), naming `what`
 * and the probe's last error.
 */
export async function waitFor(probe, { what = 'condition', timeoutMs = 15000, intervalMs = 50, shouldAbort } = {}) {
    const deadline = Date.now() + timeoutMs;
    let lastError;
    for (;;) {
        const abort = shouldAbort?.();
        if (abort)
            throw new Error(`${what}: ${abort}`);
        try {
            const value = await probe();
            if (value)
                return value;
        } catch (err) {
            lastError = err;
        }
        if (Date.now() >= deadline)
            throw new Error(`${what}: not reached within ${timeoutMs} ms${lastError ? ` (last error: ${lastError.message})` : ''}`);
        await new Promise((r) => setTimeout(r, intervalMs));
    }
}

/** Resolves to true when Redis on host:port answers PING with +PONG. */
export function redisPing(port, host = '127.0.0.1') {
    return new Promise((resolve, reject) => {
        const sock = net.connect({ host, port });
        let got = '';
        sock.setTimeout(1000, () => sock.destroy(new Error('PING timed out')));
        sock.on('connect', () => sock.write('PING\r\n'));
        sock.on('data', (d) => {
            got += d.toString('latin1');
            if (got.includes('\r\n')) {
                sock.destroy();
                resolve(got.startsWith('+PONG'));
            }
        });
        sock.on('error', reject);
        sock.on('close', () => resolve(false));
    });
}

/** Resolves to the HTTP status of a GET on url (any status means the server is up; https: any certificate). */
export function httpStatus(url) {
    return new Promise((resolve, reject) => {
        const get = url.startsWith('https:') ? https.get : http.get;
        const req = get(url, { timeout: 1000, agent: false, rejectUnauthorized: false }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode));
        });
        req.on('timeout', () => req.destroy(new Error('HTTP request timed out')));
        req.on('error', reject);
    });
}

/** Resolves to true when nothing accepts connections on host:port any more. */
export function portClosed(port, host = '127.0.0.1') {
    return new Promise((resolve) => {
        const sock = net.connect({ host, port });
        sock.on('connect', () => {
            sock.destroy();
            resolve(false);
        });
        sock.on('error', () => resolve(true));
    });
}

/* True while any process of group pgid exists. */
function groupAlive(pgid) {
    try {
        process.kill(-pgid, 0);
        return true;
    } catch (err) {
        return err.code === 'EPERM';
    }
}

function signalGroup(pgid, signal) {
    try {
        process.kill(-pgid, signal);
    } catch {
        /* already gone */
    }
}

const SETPRIV = '/usr/bin/setpriv';
/*
 * Run between setpriv and the service: exits when this process ($1) is
 * already gone (it died before setpriv set the death signal, which then never
 * comes), else becomes the service. As scripts/lib-stack.sh does.
 */
const HOLD = '[ "$PPID" = "$1" ] || { echo "stack: parent $1 gone before the start" >&2; exit 129; }; shift; exec "$@"';

/* True when file names an executable file, itself (with a slash) or on $PATH. */
function runnable(file) {
    const canRun = (f) => {
        try {
            accessSync(f, fsConstants.X_OK);
            return true;
        } catch {
            return false;
        }
    };
    if (file.includes('/'))
        return canRun(file);
    return (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && canRun(path.join(dir, file)));
}

/*
 * [file, args] that runs file args held: SIGTERM when this process dies.
 * Unchanged without setpriv, or when file cannot be run (spawn then reports
 * that at once, as ENOENT, instead of a wrapper's exit code 127).
 */
function held(file, args) {
    if (!existsSync(SETPRIV) || !runnable(file))
        return [file, args];
    return [SETPRIV, ['--pdeathsig', 'TERM', '--', '/bin/sh', '-c', HOLD, 'stack-hold', String(process.pid), file, ...args]];
}

/**
 * A running service: its process group, port, working directory and the tail
 * of its output (for error messages). Created by startService().
 */
class Service {
    constructor(name, child, port, dir) {
        this.name = name;
        this.child = child;
        this.pid = child.pid;
        this.port = port;
        this.host = '127.0.0.1';
        this.dir = dir;
        this.log = '';
        this.exited = null; /* {code, signal} once the leader exited */
        this.exitedPromise = new Promise((resolve) => {
            child.on('exit', (code, signal) => {
                this.exited = { code, signal };
                resolve(this.exited);
            });
            /* A command that cannot be run never exits: count the spawn error as the end. */
            child.on('error', (error) => {
                if (child.pid === undefined) {
                    this.exited = { code: null, signal: null, error };
                    resolve(this.exited);
                }
            });
        });
        const keep = (d) => {
            this.log = (this.log + d.toString()).slice(-LOG_TAIL_BYTES);
        };
        child.stdout.on('data', keep);
        child.stderr.on('data', keep);
    }

    /**
     * Ends the service's whole process group: SIGTERM, then SIGKILL if it is
     * still there after STOP_GRACE_MS. Removes its temporary directory.
     * Idempotent.
     */
    async stop() {
        if (!live.has(this))
            return;
        if (this.pid === undefined) {
            live.delete(this);
            rmSync(this.dir, { recursive: true, force: true });
            return;
        }
        signalGroup(this.pid, 'SIGTERM');
        let timer;
        const grace = new Promise((r) => (timer = setTimeout(r, STOP_GRACE_MS, 'timeout')));
        const outcome = await Promise.race([this.exitedPromise, grace]);
        clearTimeout(timer);
        if (outcome === 'timeout' || groupAlive(this.pid)) {
            signalGroup(this.pid, 'SIGKILL');
            await this.exitedPromise;
            await waitFor(() => !groupAlive(this.pid), { what: `${this.name} process group ${this.pid} gone`, timeoutMs: 5000 });
        }
        live.delete(this);
        if (this.dir)
            rmSync(this.dir, { recursive: true, force: true });
    }

    /** The last lines the service printed, for assertion messages. */
    logTail() {
        return this.log.trim().split('\n').slice(-20).join('\n');
    }
}

/**
 * Starts one service and waits until ready(port) resolves true.
 *   name        label for messages
 *   command     (port, dir) => [file, args] — the command for a given port and directory
 *   ready       async (port) => boolean
 *   port        a fixed port (no retry), else a free one is picked per attempt
 * Tries up to START_ATTEMPTS times with a new port if the process dies while
 * starting (another process took the port). Rejects with the service's output.
 */
async function startService({ name, command, ready, port: fixedPort }) {
    let lastError;
    for (let attempt = 1; attempt <= (fixedPort ? 1 : START_ATTEMPTS); attempt++) {
        const port = fixedPort ?? (await freePort());
        const dir = mkdtempSync(path.join(os.tmpdir(), `sasgw-e2e-${process.pid}-${name}-`));
        const [file, args] = command(port, dir);
        const child = spawn(...held(file, args), {
            cwd: dir,
            detached: true, /* own process group: stop() kills it and whatever it forked */
            stdio: ['ignore', 'pipe', 'pipe'],
        });
        const svc = new Service(name, child, port, dir);
        live.add(svc);
        let spawnFailed = null;
        child.on('error', (e) => (spawnFailed = e));
        try {
            await waitFor(() => ready(port), {
                what: `${name} on 127.0.0.1:${port}`,
                timeoutMs: START_TIMEOUT_MS,
                shouldAbort: () =>
                    spawnFailed ? `cannot run ${file}: ${spawnFailed.message}`
                    : svc.exited ? `exited (code ${svc.exited.code}, signal ${svc.exited.signal}) while starting` : null,
            });
            return svc;
        } catch (err) {
            await svc.stop();
            lastError = new Error(`${err.message}\n--- ${name} output ---\n${svc.logTail()}`);
            if (spawnFailed)
                break;
        }
    }
    throw lastError;
}

/**
 * Starts redis-server (Debian's, or `binary`) on a free loopback port (or
 * `port`), without persistence, in the foreground as a child. extraArgs are
 * appended to its command line.
 * Resolves to a Service with .port.
 */
export function startRedis({ port, binary = 'redis-server', extraArgs = [] } = {}) {
    return startService({
        name: 'redis',
        port,
        command: (p, dir) => [
            binary,
            ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
             '--daemonize', 'no', '--protected-mode', 'yes', '--loglevel', 'warning', ...extraArgs],
        ],
        ready: (p) => redisPing(p),
    });
}

/**
 * Starts Azurite's blob service from node_modules on a free loopback port (or `port`),
 * data in memory, telemetry off, API version check off (the SDK speaks a newer
 * x-ms-version than Azurite knows). Resolves to a Service with .port and
 * .accountUrl = http://127.0.0.1:PORT/devstoreaccount1 (path style).
 */
export async function startAzurite({ port, extraArgs = [] } = {}) {
    const main = path.join(SOURCE_DIR, 'node_modules', 'azurite', 'dist', 'src', 'blob', 'main.js');
    if (!existsSync(main))
        throw new Error(`Azurite not installed (${main} missing): run scripts/install-deps.sh`);
    const svc = await startService({
        name: 'azurite',
        port,
        command: (p) => [
            process.execPath,
            [main, '--blobHost', '127.0.0.1', '--blobPort', String(p), '--inMemoryPersistence', '--silent',
             '--skipApiVersionCheck', '--disableTelemetry', '--disableProductStyleUrl', ...extraArgs],
        ],
        /* Any HTTP answer (403 for an unsigned listing) means it serves. */
        ready: async (p) => (await httpStatus(`http://127.0.0.1:${p}/${DEV_ACCOUNT}?comp=list`)) > 0,
    });
    svc.accountUrl = `http://127.0.0.1:${svc.port}/${DEV_ACCOUNT}`;
    return svc;
}

/** Stops every service still running, latest first. Use as after(stopAll). */
export async function stopAll() {
    for (const svc of [...live].reverse())
        await svc.stop();
}

/* Last resort when the test process ends without after() (process.exit, uncaught error, signal). */
function killAllNow() {
    for (const svc of live) {
        signalGroup(svc.pid, 'SIGKILL');
        rmSync(svc.dir, { recursive: true, force: true });
    }
    live.clear();
}
process.on('exit', killAllNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
        killAllNow();
        process.kill(process.pid, sig); /* the handler is gone: die of the signal as before */
    });
}

/** Path of the sasgw binary under test; throws when it is not built. */
export function sasgwBinary() {
    const bin = process.env.SASGW_BINARY ?? path.join(SOURCE_DIR, 'build', 'gateway', 'sasgw');
    if (!existsSync(bin))
        throw new Error(`sasgw binary not found at ${bin} (build first, or set SASGW_BINARY)`);
    return bin;
}

/**
 * Runs `sasgw args...` to completion and resolves to {code, signal, stdout,
 * stderr}. Never rejects on a non-zero exit (tests assert the code); rejects
 * if the binary cannot run or takes longer than timeoutMs (then it is killed).
 */
export function runSasgw(args, { timeoutMs = 10000, env } = {}) {
    const bin = sasgwBinary();
    return new Promise((resolve, reject) => {
        const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        const timer = setTimeout(() => {
            child.kill('SIGKILL');
            reject(new Error(`sasgw ${args.join(' ')}: no exit within ${timeoutMs} ms`));
        }, timeoutMs);
        child.on('error', (err) => {
            clearTimeout(timer);
            reject(err);
        });
        child.on('close', (code, signal) => {
            clearTimeout(timer);
            resolve({ code, signal, stdout, stderr });
        });
    });
}

/** Parses the last non-empty line of out as JSON; throws with the text when it is not JSON. */
export function lastJsonLine(out) {
    const line = out.trim().split('\n').pop() ?? '';
    try {
        return JSON.parse(line);
    } catch {
        throw new Error(`expected a JSON line, got: ${JSON.stringify(out)}`);
    }
}

/** token_id as DESIGN §3 defines it: base64url(SHA-256(base64decode(sig))[0..16]), 22 characters. */
export function tokenIdOf(sig) {
    return createHash('sha256').update(Buffer.from(sig, 'base64')).digest().subarray(0, 16).toString('base64url');
}

/** An RFC 3339 UTC time (seconds precision, as the SDKs emit) offsetSeconds from now. */
export function isoIn(offsetSeconds) {
    return new Date(Math.floor(Date.now() / 1000) * 1000 + offsetSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

/* ---- sasgw serve ---------------------------------------------------------- */

/** The demo credentials of conf/policy.yaml (public, demo only). */
export const DEMO_APP = { user: 'demo-app', secret: 'demo-secret' };
export const DEMO_ADMIN = { user: 'demo-admin', secret: 'admin-secret' };

/** "Basic base64(user:secret)" for an Authorization header. */
export function basicAuth(user, secret) {
    return `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
}

/*
 * The sasgw.yaml startSasgw() writes: every path absolute, inside dir; the
 * issuer and the proxy on their own loopback ports.
 */
function sasgwYaml({
    dir, issuerPort, proxyPort, redisPort, azuritePort, threads, maxBody, clockSkew, issuerTls, issuerYaml, proxyYaml, extraYaml,
}) {
    const tls = issuerTls ? `      tls: { certificate: ${issuerTls.certificate}, key: ${issuerTls.key} }\n` : '';
    return `# written by tests/e2e/lib/stack.mjs startSasgw()
vault:
  path: ${dir}/vault.db
  master_key_file: ${dir}/master.key
policy: ${dir}/policy.yaml
threads: ${threads}
issuer:
  listen:
    - address: 127.0.0.1
      port: ${issuerPort}
${tls}  max_body: ${maxBody}
  clock_skew: ${clockSkew}
${issuerYaml}proxy:
  listen:
    - address: 127.0.0.1
      port: ${proxyPort}
  public_base_url: http://127.0.0.1:${proxyPort}
${proxyYaml}accounts:
  ${DEV_ACCOUNT}:
    mode: passthrough
    backend: http://127.0.0.1:${azuritePort}
redis:
  host: 127.0.0.1
  port: ${redisPort}
revocation:
  max_staleness: 30
audit:
  path: ${dir}/audit.log
${extraYaml}`;
}

/** The shipped demo policy (conf/policy.yaml). */
export function demoPolicyText() {
    return readFileSync(path.join(SOURCE_DIR, 'conf', 'policy.yaml'), 'utf8');
}

/**
 * Starts `sasgw serve` in front of a running Redis and Azurite:
 *   redis, azurite   Services from startRedis()/startAzurite() (or redisPort/azuritePort numbers;
 *                    Azurite is optional for issuer-only tests: any port works then)
 *   policy           policy.yaml text (default: conf/policy.yaml); conf/demo-jwks.json and the
 *                    demo PEM files are copied beside it, so its relative key paths work
 *   threads          worker threads (default 2); maxBody, clockSkew as in sasgw.yaml
 *   issuerTls        {certificate, key}: PEM files for a TLS issuer listener (HTTP/2 by ALPN); issuerUrl is https then
 *   issuerYaml       lines added to the issuer: section (indented by two spaces, each ending in \n)
 *   proxyYaml        lines added to the proxy: section (likewise)
 *   extraYaml        appended to sasgw.yaml (top-level keys not written above)
 *   account          false: do not add devstoreaccount1 to the vault (default: added, passthrough,
 *                    key1 = Azurite's well-known key, backend = Azurite)
 *   env              extra environment for the server
 * It writes sasgw.yaml and the policy into a fresh directory with a random
 * 0600 master key, runs `sasgw vault init` and `sasgw account add`, starts
 * `sasgw serve -c`, and resolves once GET /healthz answers 200 on the issuer.
 * Resolves to a Service with, besides .stop() and .logTail():
 *   issuerUrl, proxyUrl, issuerPort, proxyPort, dir, configPath, policyPath,
 *   vaultPath, auditPath, masterKeyFile;
 *   cli(args)            runs `sasgw args... --vault ... --master-key-file ... --audit-log ...`
 *   writePolicy(text)    replaces the policy file (not reloaded yet)
 *   reload()             SIGHUP, resolves once the server logged that the reload hooks ran
 *   auditRecords()       the audit log parsed, one object per line
 */
export async function startSasgw({
    redis, azurite, redisPort, azuritePort, policy, threads = 2, maxBody = 65536, clockSkew = 300, issuerTls, issuerYaml = '',
    proxyYaml = '',
    extraYaml = '',
    account = true, env = {},
} = {}) {
    const bin = path.resolve(sasgwBinary());
    redisPort ??= redis?.port;
    azuritePort ??= azurite?.port ?? 10000;
    if (!redisPort)
        throw new Error('startSasgw: give redis (a Service) or redisPort');
    const cleanEnv = { ...process.env };
    for (const k of ['SASGW_MASTER_KEY', 'SASGW_PASSPHRASE', 'SASGW_VAULT', 'SASGW_AUDIT_LOG'])
        delete cleanEnv[k];

    let lastError;
    for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
        const issuerPort = await freePort();
        let proxyPort = await freePort();
        while (proxyPort === issuerPort)
            proxyPort = await freePort();
        const dir = mkdtempSync(path.join(os.tmpdir(), `sasgw-e2e-${process.pid}-sasgw-`));
        const files = {
            configPath: path.join(dir, 'sasgw.yaml'),
            policyPath: path.join(dir, 'policy.yaml'),
            vaultPath: path.join(dir, 'vault.db'),
            auditPath: path.join(dir, 'audit.log'),
            masterKeyFile: path.join(dir, 'master.key'),
        };
        for (const f of ['demo-jwks.json', 'demo-jwt-private.pem', 'demo-jwt-es256.pem'])
            copyFileSync(path.join(SOURCE_DIR, 'conf', f), path.join(dir, f));
        writeFileSync(files.policyPath, policy ?? demoPolicyText());
        writeFileSync(files.masterKeyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
        chmodSync(files.masterKeyFile, 0o600);
        writeFileSync(files.configPath,
            sasgwYaml({
                dir, issuerPort, proxyPort, redisPort, azuritePort, threads, maxBody, clockSkew, issuerTls, issuerYaml, proxyYaml, extraYaml,
            }));
        const vaultOpts = ['--vault', files.vaultPath, '--master-key-file', files.masterKeyFile, '--audit-log', files.auditPath];
        const cli = (args, opts = {}) => runSasgw([...args, ...vaultOpts], { ...opts, env: { ...cleanEnv, ...opts.env } });

        const init = await cli(['vault', 'init']);
        if (init.code !== 0) {
            rmSync(dir, { recursive: true, force: true });
            throw new Error(`sasgw vault init failed (${init.code}): ${init.stderr}`);
        }
        if (account) {
            const add = await cli(['account', 'add', DEV_ACCOUNT, '--key1', DEV_KEY, '--backend',
                `http://127.0.0.1:${azuritePort}`, '--mode', 'passthrough']);
            if (add.code !== 0) {
                rmSync(dir, { recursive: true, force: true });
                throw new Error(`sasgw account add failed (${add.code}): ${add.stderr}`);
            }
        }

        const child = spawn(bin, ['serve', '-c', files.configPath, '--die-with-parent'], {
            cwd: dir,
            detached: true,
            stdio: ['ignore', 'pipe', 'pipe'],
            env: { ...cleanEnv, ...env },
        });
        const svc = new Service('sasgw', child, issuerPort, dir);
        live.add(svc);
        Object.assign(svc, files, {
            issuerPort,
            proxyPort,
            issuerUrl: `${issuerTls ? 'https' : 'http'}://127.0.0.1:${issuerPort}`,
            proxyUrl: `http://127.0.0.1:${proxyPort}`,
            cli,
        });
        /* Count "reload done" lines as they arrive (the log tail may be cut). */
        let reloads = 0;
        let pending = '';
        child.stderr.on('data', (d) => {
            pending += d.toString();
            const lines = pending.split('\n');
            pending = lines.pop();
            for (const l of lines)
                if (l.includes('reload done'))
                    reloads++;
        });
        svc.writePolicy = (text) => writeFileSync(files.policyPath, text);
        svc.reload = async () => {
            const before = reloads;
            process.kill(svc.pid, 'SIGHUP');
            await waitFor(() => reloads > before, { what: 'sasgw reload', timeoutMs: 10000, intervalMs: 20 });
        };
        svc.auditRecords = () => {
            if (!existsSync(files.auditPath))
                return [];
            return readFileSync(files.auditPath, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
        };
        try {
            await waitFor(async () => (await httpStatus(`${svc.issuerUrl}/healthz`)) === 200, {
                what: `sasgw on 127.0.0.1:${issuerPort}`,
                timeoutMs: START_TIMEOUT_MS,
                shouldAbort: () => (svc.exited ? `exited (code ${svc.exited.code}, signal ${svc.exited.signal}) while starting` : null),
            });
            return svc;
        } catch (err) {
            const tail = svc.logTail();
            await svc.stop();
            lastError = new Error(`${err.message}\n--- sasgw output ---\n${tail}`);
        }
    }
    throw lastError;
}

/**
 * Sends one HTTP request and resolves to {status, headers, body (string), json (parsed or undefined)}.
 * body may be a string, a Buffer or an object (sent as JSON). A header given as an array is sent as
 * that many lines; localAddress binds the client socket (e.g. '127.0.0.2', another loopback client).
 */
export function httpRequest(url, { method = 'GET', headers = {}, body, localAddress } = {}) {
    return new Promise((resolve, reject) => {
        let payload = body;
        const h = { ...headers };
        if (payload !== undefined && typeof payload !== 'string' && !Buffer.isBuffer(payload)) {
            payload = JSON.stringify(payload);
            h['content-type'] ??= 'application/json';
        }
        if (payload !== undefined)
            h['content-length'] = Buffer.byteLength(payload);
        const req = http.request(url, { method, headers: h, agent: false, timeout: 10000, localAddress }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => {
                const text = Buffer.concat(chunks).toString('utf8');
                let json;
                try {
                    json = JSON.parse(text);
                } catch {
                    json = undefined;
                }
                resolve({ status: res.statusCode, headers: res.headers, body: text, json });
            });
        });
        req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
        req.on('error', reject);
        if (payload !== undefined)
            req.write(payload);
        req.end();
    });
}

/** POST /v1/sas (or path) on a sasgw from startSasgw() with Basic auth (auth: {user, secret} | header string | null). */
export function mintSas(sasgw, body, { auth = DEMO_APP, path: p = '/v1/sas', headers = {} } = {}) {
    const h = { ...headers };
    if (auth !== null)
        h.authorization = typeof auth === 'string' ? auth : basicAuth(auth.user, auth.secret);
    return httpRequest(`${sasgw.issuerUrl}${p}`, { method: 'POST', headers: h, body });
}

/**
 * Sends one command to Redis on 127.0.0.1:port and resolves to the reply:
 * a string, a number, null, an array, or an Error for an error reply.
 * redisCommand(port, 'ZRANGE', 'sasgw:issued:demo-app', '0', '-1', 'WITHSCORES')
 */
export function redisCommand(port, ...args) {
    return new Promise((resolve, reject) => {
        const sock = net.connect({ host: '127.0.0.1', port });
        let buf = Buffer.alloc(0);
        sock.setTimeout(5000, () => sock.destroy(new Error('redis command timed out')));
        sock.on('connect', () => {
            let out = `*${args.length}\r\n`;
            for (const a of args)
                out += `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`;
            sock.write(out);
        });
        /* Parses one reply at pos; returns [value, next] or null when incomplete. */
        const parse = (pos) => {
            const eol = buf.indexOf('\r\n', pos);
            if (eol < 0)
                return null;
            const type = String.fromCharCode(buf[pos]);
            const line = buf.toString('utf8', pos + 1, eol);
            if (type === '+')
                return [line, eol + 2];
            if (type === '-')
                return [new Error(line), eol + 2];
            if (type === ':')
                return [Number(line), eol + 2];
            if (type === '$') {
                const n = Number(line);
                if (n < 0)
                    return [null, eol + 2];
                if (buf.length < eol + 2 + n + 2)
                    return null;
                return [buf.toString('utf8', eol + 2, eol + 2 + n), eol + 2 + n + 2];
            }
            if (type === '*') {
                const n = Number(line);
                if (n < 0)
                    return [null, eol + 2];
                const items = [];
                let p = eol + 2;
                for (let i = 0; i < n; i++) {
                    const r = parse(p);
                    if (r === null)
                        return null;
                    items.push(r[0]);
                    p = r[1];
                }
                return [items, p];
            }
            throw new Error(`unexpected RESP type ${type}`);
        };
        sock.on('data', (d) => {
            buf = Buffer.concat([buf, d]);
            let r;
            try {
                r = parse(0);
            } catch (err) {
                sock.destroy();
                reject(err);
                return;
            }
            if (r !== null) {
                sock.destroy();
                resolve(r[0]);
            }
        });
        sock.on('error', reject);
    });
}

/** The demo JWT issuer of conf/policy.yaml. */
export const DEMO_JWT_ISSUER = 'https://demo.issuer.local/';

/**
 * Signs a JWT with node's crypto. alg: RS256 (conf/demo-jwt-private.pem, kid
 * demo-rs256), ES256 (conf/demo-jwt-es256.pem, kid demo-es256), HS256 (key:
 * the HMAC secret, a string or Buffer) or none (no signature). claims default
 * to iss/aud of the demo issuer, sub demo-app, exp in 5 minutes; header
 * overrides the JOSE header. Returns the compact token.
 */
export function signJwt({ alg = 'RS256', claims = {}, header = {}, key } = {}) {
    const now = Math.floor(Date.now() / 1000);
    const kid = alg === 'RS256' ? 'demo-rs256' : alg === 'ES256' ? 'demo-es256' : undefined;
    const h = { alg, typ: 'JWT', ...(kid ? { kid } : {}), ...header };
    const c = { iss: DEMO_JWT_ISSUER, aud: 'sasgw', sub: 'demo-app', iat: now, exp: now + 300, ...claims };
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const input = `${b64(h)}.${b64(c)}`;
    let sig = '';
    if (alg === 'RS256') {
        const pem = key ?? readFileSync(path.join(SOURCE_DIR, 'conf', 'demo-jwt-private.pem'));
        sig = cryptoSign('sha256', Buffer.from(input), pem).toString('base64url');
    } else if (alg === 'ES256') {
        const pem = key ?? readFileSync(path.join(SOURCE_DIR, 'conf', 'demo-jwt-es256.pem'));
        sig = cryptoSign('sha256', Buffer.from(input), { key: pem, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    } else if (alg === 'HS256') {
        sig = createHmac('sha256', key).update(input).digest('base64url');
    }
    return `${input}.${sig}`;
}
