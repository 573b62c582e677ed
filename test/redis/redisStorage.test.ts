import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { StaleWriteError, NEW_ITEM_ETAG } from '../../src/state/errors';
import { parseStateKeys } from '../../src/state/keys';
import { RedisStorage } from '../../src/state/redisStorage';

/** The Redis conversation storage, against the real Redis of this machine (and CI's). */
const URL = 'redis://127.0.0.1:6379';
const key = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;

describe('RedisStorage', () => {
  const client = createClient({ url: URL });
  const prefix = `tasjil-test:${randomBytes(4).toString('hex')}:`;
  const keys = parseStateKeys(key('k1'));
  const storage = new RedisStorage(client as never, keys, 60, prefix);

  beforeAll(async () => {
    await client.connect().catch((error: Error) => {
      throw new Error(`these tests need Redis on ${URL}: ${error.message}`);
    });
  });
  afterAll(async () => {
    const names = await client.keys(`${prefix}*`);
    if (names.length) await client.del(names);
    await client.quit();
  });

  it('stores, reads back with a version, and deletes', async () => {
    await storage.write({ 'whatsapp/conversations/+212600000001/': { session: { locale: 'fr' } } });
    const read = await storage.read(['whatsapp/conversations/+212600000001/', 'absent']);
    expect(read['whatsapp/conversations/+212600000001/']).toMatchObject({ session: { locale: 'fr' }, eTag: '1' });
    expect(read.absent).toBeUndefined();
    await storage.delete(['whatsapp/conversations/+212600000001/']);
    expect(await storage.read(['whatsapp/conversations/+212600000001/'])).toEqual({});
  });

  it('refuses a stale write and a second creation; tells the writer its new version', async () => {
    const change = { n: 1, eTag: NEW_ITEM_ETAG };
    await storage.write({ c1: change });
    expect(change.eTag).toBe('1');
    await expect(storage.write({ c1: { n: 2, eTag: NEW_ITEM_ETAG } })).rejects.toBeInstanceOf(StaleWriteError);
    await storage.write({ c1: { n: 2, eTag: '1' } });
    await expect(storage.write({ c1: { n: 3, eTag: '1' } })).rejects.toBeInstanceOf(StaleWriteError);
    await storage.write({ c1: { n: 4, eTag: '*' } });
    expect((await storage.read(['c1'])).c1).toMatchObject({ n: 4, eTag: '3' });
  });

  it('sets the TTL and sets it again on every write', async () => {
    await storage.write({ ttl: { a: 1 } });
    const names = await client.keys(`${prefix}state:*`);
    expect(names.length).toBeGreaterThan(0);
    for (const n of names) await client.pExpire(n, 1000);
    await storage.write({ ttl: { a: 2, eTag: '*' } });
    const ttls = await Promise.all(names.map((n) => client.pTTL(n)));
    expect(Math.max(...ttls)).toBeGreaterThan(55_000);
  });

  it('keeps no phone number, id or date in clear, in names or values', async () => {
    await storage.write({ 'sms/conversations/+212611223344/': { session: { form: { documentNumber: 'AB123456', birthDate: '1985-03-14' } } } });
    const names = await client.keys(`${prefix}*`);
    const dump = [names.join(' '), ...(await Promise.all(names.map((n) => client.hGetAll(n).then((h) => JSON.stringify(h)))))].join('\n');
    for (const secret of ['212611223344', 'AB123456', '1985-03-14', '1985']) expect(dump).not.toContain(secret);
  });

  it('cannot be read with another key, and reads old values after a key rotation', async () => {
    await storage.write({ rotated: { v: 'before' } });
    const stranger = new RedisStorage(client as never, parseStateKeys(key('k1')), 60, prefix);
    expect(await stranger.read(['rotated'])).toEqual({});
    const rotated = new RedisStorage(client as never, parseStateKeys(`${key('k2')},${[...keys.byId].map(([id, k]) => `${id}:${k.toString('base64')}`)[0]}`), 60, prefix);
    const read = await rotated.read(['rotated']);
    expect(read.rotated).toMatchObject({ v: 'before' });
    await rotated.write({ rotated: { v: 'after', eTag: read.rotated!.eTag } });
    expect((await rotated.read(['rotated'])).rotated).toMatchObject({ v: 'after' });
    // Moved under the new key: the old key alone no longer finds it.
    expect(await storage.read(['rotated'])).toEqual({});
  });

  it('during a key rotation, the version of a value still under the old key is checked in Redis: a stale write is refused', async () => {
    await storage.write({ moving: { v: 1 } });
    const both = `${key('k3')},${[...keys.byId].map(([id, k]) => `${id}:${k.toString('base64')}`)[0]}`;
    const a = new RedisStorage(client as never, parseStateKeys(both), 60, prefix);
    const b = new RedisStorage(client as never, parseStateKeys(both), 60, prefix);
    // Two turns read version 1 under the old key; the first one's write moves it.
    const [readA, readB] = [await a.read(['moving']), await b.read(['moving'])];
    await a.write({ moving: { v: 2, eTag: readA.moving!.eTag } });
    await expect(b.write({ moving: { v: 3, eTag: readB.moving!.eTag } })).rejects.toBeInstanceOf(StaleWriteError);
    expect((await b.read(['moving'])).moving).toMatchObject({ v: 2, eTag: '2' });
    // A conversation new to both keys cannot be created twice either.
    await a.write({ fresh: { n: 1, eTag: NEW_ITEM_ETAG } });
    await expect(b.write({ fresh: { n: 2, eTag: NEW_ITEM_ETAG } })).rejects.toBeInstanceOf(StaleWriteError);
  });

  it('refuses a versioned write to a conversation that is gone (erased or expired meanwhile)', async () => {
    const change = { n: 1, eTag: NEW_ITEM_ETAG };
    await storage.write({ erased: change });
    await storage.delete(['erased']);
    await expect(storage.write({ erased: { n: 2, eTag: change.eTag } })).rejects.toBeInstanceOf(StaleWriteError);
    expect(await storage.read(['erased'])).toEqual({});
  });

  it('writes after Redis forgot its scripts (restart, SCRIPT FLUSH)', async () => {
    await storage.write({ flushed: { n: 1 } });
    await client.scriptFlush();
    await storage.write({ flushed: { n: 2, eTag: '1' } });
    expect((await storage.read(['flushed'])).flushed).toMatchObject({ n: 2, eTag: '2' });
  });

  it('a value tampered with in Redis is not trusted: the conversation starts afresh', async () => {
    await storage.write({ tampered: { ok: true } });
    const names = await client.keys(`${prefix}state:*`);
    for (const name of names) {
      const data = await client.hGet(name, 'd');
      if (!data) continue;
      const parts = data.split('.');
      parts[3] = Buffer.from('{"ok":false}').toString('base64');
      await client.hSet(name, 'd', parts.join('.'));
    }
    const read = await storage.read(['tampered']);
    expect(read.tampered).not.toHaveProperty('ok');
    await storage.write({ tampered: { fresh: true, eTag: read.tampered!.eTag } });
    expect((await storage.read(['tampered'])).tampered).toMatchObject({ fresh: true });
  });
});
