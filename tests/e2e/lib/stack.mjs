// stack.mjs - the real parts an end-to-end test runs against, started and
// stopped from node's test runner.
//
// Each service (redis-server from Debian, Azurite's blob service from
// node_modules) runs as a child process that leads its own process group, on a
// free loopback port, with its data in a fresh temporary directory. start*()
// resolves only once the service answers (Redis: PING -> +PONG; Azurite: any
// HTTP response), polling instead of sleeping. stop() ends the whole process
// group (SIGTERM, then SIGKILL after a grace period) and removes the directory.
// Anything still running when the test process exits, however it exits short
// of SIGKILL, is killed by an exit hook, so a failing run leaves nothing behind.
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
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
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

/** Resolves to the HTTP status of a GET on url (any status means the server is up). */
export function httpStatus(url) {
    return new Promise((resolve, reject) => {
        const req = http.get(url, { timeout: 1000, agent: false }, (res) => {
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
        const child = spawn(file, args, {
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
