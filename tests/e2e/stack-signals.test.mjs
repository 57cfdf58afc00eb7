// stack-signals.test.mjs - issue 14 for the harness: a test process that
// starts Redis, Azurite and sasgw through lib/stack.mjs and is then killed
// (SIGTERM, SIGINT, SIGHUP or SIGKILL, to it or to its process group) at a
// random moment of start-up leaves no server process and no listening port.
//
// The child is marked by SASGW_SIGTEST_RUN in its environment, which every
// process it starts inherits; Redis rewrites that memory for its process
// title, so a process whose working directory is one of the child's data
// directories (sasgw-e2e-CHILDPID-*) counts too. Only those are looked at,
// and killed if the assertion fails. The first run is timed to ready (T);
// each try then waits a random time in [0, T + 0.5 s]. Seeded: SEED=N replays.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { portClosed, waitFor } from './lib/stack.mjs';

const TRIES = Number(process.env.TRIES ?? 6);
const CLEAN_MS = 8000;
const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGKILL'];
const STACK_URL = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), 'lib', 'stack.mjs')).href;

/* A small seeded generator (mulberry32), so a failing run can be replayed. */
const SEED = Number(process.env.SEED ?? randomBytes(4).readUInt32LE(0));
let rngState = SEED >>> 0;
function random() {
    rngState = (rngState + 0x6d2b79f5) >>> 0;
    let t = rngState;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const CHILD = `
import { startAzurite, startRedis, startSasgw } from ${JSON.stringify(STACK_URL)};
const redis = await startRedis();
console.log('port', redis.port);
const azurite = await startAzurite();
console.log('port', azurite.port);
const sasgw = await startSasgw({ redis, azurite });
console.log('port', sasgw.issuerPort);
console.log('port', sasgw.proxyPort);
console.log('ready');
setInterval(() => {}, 1 << 30);
`;

/* Starts the child in a process group of its own; resolves nothing, returns {child, token, ports, ready}. */
function startChild() {
    const token = `sigtest-${process.pid}-${randomBytes(6).toString('hex')}`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
        env: { ...process.env, SASGW_SIGTEST_RUN: token },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
    });
    const run = { child, token, ports: [], output: '', exited: false };
    run.ready = new Promise((resolve) => {
        child.stdout.on('data', (d) => {
            run.output += d;
            for (const m of run.output.matchAll(/^port (\d+)$/gm))
                if (!run.ports.includes(Number(m[1])))
                    run.ports.push(Number(m[1]));
            if (/^ready$/m.test(run.output))
                resolve(true);
        });
    });
    child.stderr.on('data', (d) => (run.output += d));
    run.exitedPromise = new Promise((resolve) => child.on('exit', () => resolve((run.exited = true))));
    return run;
}

/* The pids of the run's live processes: its mark in the environment, or a cwd in its data directories. */
function processesOf(run) {
    const dirPrefix = path.join(os.tmpdir(), `sasgw-e2e-${run.child.pid}-`);
    const found = [];
    for (const entry of readdirSync('/proc')) {
        if (!/^\d+$/.test(entry) || Number(entry) === process.pid)
            continue;
        try {
            if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(`SASGW_SIGTEST_RUN=${run.token}`)) {
                found.push(Number(entry));
                continue;
            }
            if (readlinkSync(`/proc/${entry}/cwd`).startsWith(dirPrefix))
                found.push(Number(entry));
        } catch {
            /* gone meanwhile, or not ours to read */
        }
    }
    return found;
}

function describe(pids) {
    return pids.map((p) => {
        try {
            return `${p}: ${readFileSync(`/proc/${p}/cmdline`, 'latin1').split('\0').join(' ').trim()}`;
        } catch {
            return `${p}: (gone)`;
        }
    }).join('\n');
}

/* Waits until the run left nothing; else kills what is left (it is the run's) and fails. */
async function assertNothingLeft(run, what) {
    let left = [];
    let open = [];
    try {
        await waitFor(async () => {
            left = processesOf(run);
            open = [];
            for (const p of run.ports)
                if (!(await portClosed(p)))
                    open.push(p);
            return left.length === 0 && open.length === 0;
        }, { what, timeoutMs: CLEAN_MS, intervalMs: 100 });
    } catch {
        const text = describe(left);
        for (const p of left) {
            try {
                process.kill(p, 'SIGKILL');
            } catch {
                /* gone */
            }
        }
        assert.fail(`${what} (seed ${SEED}): left ${left.length} processes${open.length ? `, ports ${open.join(' ')} listening` : ''}:\n` +
            `${text}\n--- child output ---\n${run.output.slice(-2000)}`);
    }
}

test(`a stack's servers die with the test process that started it, whatever the signal (seed ${SEED})`, async () => {
    console.log(`seed=${SEED} (replay with SEED=${SEED})`);
    /* the first run, timed to ready, then SIGTERM to the child alone */
    const t0 = Date.now();
    const first = startChild();
    await Promise.race([first.ready, first.exitedPromise.then(() => assert.fail(`the child exited:\n${first.output}`))]);
    const T = Date.now() - t0;
    console.log(`run 0: ready after ${T} ms; SIGTERM to the child`);
    first.child.kill('SIGTERM');
    await assertNothingLeft(first, 'run 0 (SIGTERM once ready)');

    const offset = Math.floor(random() * SIGNALS.length);
    for (let i = 1; i <= TRIES; i++) {
        const sig = SIGNALS[(offset + i) % SIGNALS.length]; /* every signal within four tries */
        const group = random() < 0.5;
        const delay = Math.floor(random() * (T + 500));
        const run = startChild();
        await new Promise((r) => setTimeout(r, delay));
        console.log(`run ${i}: ${sig} to the child${group ? "'s process group" : ''} after ${delay} ms (ports up: ${run.ports.length})`);
        try {
            process.kill(group ? -run.child.pid : run.child.pid, sig);
        } catch {
            /* it exited already: the check below still holds */
        }
        await run.exitedPromise;
        await assertNothingLeft(run, `run ${i} (${sig}${group ? ' to the group' : ''} after ${delay} ms)`);
    }
});
