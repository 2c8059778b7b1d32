// The ports that tests and the dev mailbox hand to servers before those listen: never from the kernel's ephemeral range
// (which any process's outgoing connection can take in the meantime), each jest worker in its own slice, none twice,
// none that is bound.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, portSlices, sliceIndex } from '../../infra/ports';

const ephemeralLow = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);

test('when the kernel hands out ports from 32768 up, then the slices are the thousands from 10000 below it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ports-'));
  try {
    fs.writeFileSync(path.join(dir, 'range'), '32768\t60999\n');
    expect(portSlices(path.join(dir, 'range'))).toEqual([...Array(22).keys()].map((i) => 10_000 + i * 1_000));
    fs.writeFileSync(path.join(dir, 'range'), '9000 60999\n');
    expect(portSlices(path.join(dir, 'range'))).toEqual([]);
    expect(portSlices(path.join(dir, 'missing'))).toEqual([]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('when two jest workers draw ports at once, then each has its own slice; another process takes one by its pid', () => {
  expect(sliceIndex(22, { JEST_WORKER_ID: '1' }, 777)).toBe(0);
  expect(sliceIndex(22, { JEST_WORKER_ID: '2' }, 777)).toBe(1);
  expect(sliceIndex(22, {}, 777)).toBe(777 % 22);
});

test('when 200 ports are asked for, then all differ, lie in this worker\'s slice below the ephemeral range, and can be bound', async () => {
  const slices = portSlices();
  const slice = slices[sliceIndex(slices.length)];
  const ports: number[] = [];
  for (let i = 0; i < 200; i++) ports.push(await freePort());
  expect(new Set(ports).size).toBe(200);
  for (const port of ports) {
    expect(port).toBeGreaterThanOrEqual(slice);
    expect(port).toBeLessThan(Math.min(slice + 1_000, ephemeralLow));
  }
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(ports[0], '127.0.0.1', resolve));
  server.close();
});

test('when most of the slice is bound by others, then no bound port is handed out', async () => {
  const slices = portSlices();
  const slice = slices[sliceIndex(slices.length)];
  const held: net.Server[] = [];
  const heldPorts = new Set<number>();
  for (let port = slice; port < slice + 900; port++) {
    const server = net.createServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (bound) { held.push(server); heldPorts.add(port); }
  }
  try {
    const drawn: number[] = [];
    for (let i = 0; i < 20; i++) drawn.push(await freePort());
    expect(drawn.filter((port) => heldPorts.has(port))).toEqual([]);
    expect(drawn.filter((port) => port < slice || port >= slice + 1_000)).toEqual([]);
  } finally {
    await Promise.all(held.map((server) => new Promise((resolve) => server.close(resolve))));
  }
});
