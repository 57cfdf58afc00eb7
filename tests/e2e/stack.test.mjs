// stack.test.mjs - the harness itself: Redis and Azurite come up on loopback
// ports of their own, answer, and leave nothing behind when stopped; a service
// that cannot start is reported with its output instead of hanging.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, test } from 'node:test';

import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';

import { DEV_ACCOUNT, DEV_KEY, httpStatus, portClosed, redisPing, startAzurite, startRedis, stopAll } from './lib/stack.mjs';

after(stopAll);

function processGone(pid) {
    try {
        process.kill(pid, 0);
        return false;
    } catch (err) {
        return err.code === 'ESRCH';
    }
}

test('redis and azurite start on distinct free loopback ports and answer', async () => {
    const [redis, azurite] = await Promise.all([startRedis(), startAzurite()]);
    assert.notEqual(redis.port, azurite.port);
    assert.equal(await redisPing(redis.port), true);

    /* Azurite refuses an unsigned listing and serves a signed one. */
    assert.equal(await httpStatus(`${azurite.accountUrl}?comp=list`), 403);
    const svc = new BlobServiceClient(azurite.accountUrl, new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_KEY));
    await svc.getContainerClient('harness').create();
    const names = [];
    for await (const c of svc.listContainers())
        names.push(c.name);
    assert.deepEqual(names, ['harness']);

    /* stop() ends the process group, closes the port and removes the data directory. */
    for (const s of [redis, azurite]) {
        await s.stop();
        assert.equal(processGone(s.pid), true, `${s.name} pid ${s.pid} still running`);
        assert.equal(await portClosed(s.port), true, `${s.name} port ${s.port} still open`);
        assert.equal(existsSync(s.dir), false, `${s.name} dir ${s.dir} left behind`);
    }
});

test('two Redis instances get separate ports and separate data', async () => {
    const [a, b] = await Promise.all([startRedis(), startRedis()]);
    assert.notEqual(a.port, b.port);
    assert.notEqual(a.dir, b.dir);
    assert.equal(await redisPing(a.port), true);
    assert.equal(await redisPing(b.port), true);
    await stopAll();
    assert.equal(await portClosed(a.port), true);
    assert.equal(await portClosed(b.port), true);
});

test('a service that dies while starting is reported with its output, not waited for', async () => {
    const t0 = Date.now();
    await assert.rejects(startRedis({ extraArgs: ['--no-such-directive', 'x'] }), (err) => {
        assert.match(err.message, /redis on 127\.0\.0\.1:\d+: exited/);
        assert.match(err.message, /no-such-directive/i);
        return true;
    });
    assert.ok(Date.now() - t0 < 15000, 'startRedis kept waiting for a dead process');
});

test('a server binary that cannot be run is reported at once', async () => {
    const t0 = Date.now();
    await assert.rejects(startRedis({ binary: '/nonexistent/redis-server' }), /cannot run \/nonexistent\/redis-server: .*ENOENT/);
    assert.ok(Date.now() - t0 < 5000, 'startRedis kept waiting for a process that never started');
});
