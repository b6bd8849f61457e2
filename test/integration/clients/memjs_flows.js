// memjs (binary protocol, SASL PLAIN when given a user) doing what an
// application does: each step prints "<step> <result>" so that the test can
// compare memcached and memcoro line for line.
// memjs 1.3.2 has no multi-get and no CAS call: the multi-get is many gets in
// flight on memjs's one connection, and the CAS steps send GET and SET
// requests through memjs's own perform() with the CAS field of the header set.
// (memjs 1.3.2's prepend sends APPEND: "prepend" appends, on both servers.)
// Usage: MEMJS_DIR=<npm prefix> node memjs_flows.js PORT [USER PASSWORD]
'use strict';
const path = require('path');
const memjs = require(path.join(process.env.MEMJS_DIR, 'node_modules', 'memjs'));

const [port, user, password] = process.argv.slice(2);
const quiet = {log() {}};
const client = memjs.Client.create(`127.0.0.1:${port}`, {
  username: user, password: password, retries: 0, timeout: 2, logger: quiet,
});

function show(v) {
  if (Buffer.isBuffer(v)) return JSON.stringify(v.toString('latin1'));
  if (v && typeof v === 'object' && 'value' in v) return show(v.value);
  return JSON.stringify(v);
}

async function step(name, fn) {
  try {
    console.log(`${name} ${show(await fn())}`);
  } catch (e) {
    console.log(`${name} error ${e.message}`);
  }
}

// One request with a CAS through memjs's connection: resolves to the response.
function raw(opcode, key, extras, value, cas) {
  client.incrSeq();
  const request = memjs.Utils.makeRequestBuffer(opcode, key, extras, value, client.seq);
  if (cas) cas.copy(request, 16);
  return new Promise((resolve, reject) => {
    client.perform(key, request, client.seq, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

async function main() {
  const setExtras = Buffer.from('0000000000000064', 'hex'); // flags 0, 100 s
  await step('flush', async () => Object.values(await client.flush()));
  await step('get_missing', () => client.get('js:missing'));
  await step('set', () => client.set('js:a', 'hello', {expires: 100}));
  await step('get', () => client.get('js:a'));
  await step('add_existing', () => client.add('js:a', 'x'));
  await step('add_new', () => client.add('js:b', 'b'));
  await step('replace_missing', () => client.replace('js:none', 'x'));
  await step('replace', () => client.replace('js:b', 'bb'));
  await step('append', () => client.append('js:a', ' world'));
  await step('prepend', () => client.prepend('js:a', '>'));
  await step('get_appended', () => client.get('js:a'));
  await step('append_missing', () => client.append('js:none', 'x'));
  let cas = null;
  await step('gets', async () => {
    const res = await raw(0x00, 'js:a', '', '');
    cas = res.header.cas;
    return [res.header.status, res.val.toString()];
  });
  await step('cas', async () => (await raw(0x01, 'js:a', setExtras, 'v2', cas)).header.status);
  await step('cas_stale', async () => (await raw(0x01, 'js:a', setExtras, 'v3', cas)).header.status);
  await step('cas_missing', async () => (await raw(0x01, 'js:none', setExtras, 'v', cas)).header.status);
  await step('get_after_cas', () => client.get('js:a'));
  await step('incr_create', () => client.increment('js:n', 1, {initial: 10}));
  await step('incr', () => client.increment('js:n', 5, {}));
  await step('decr', () => client.decrement('js:n', 100, {}));
  await step('incr_non_numeric', () => client.increment('js:b', 1, {}));
  await step('get_counter', () => client.get('js:n'));
  const keys = Array.from({length: 150}, (_, i) => `js:m${i}`);
  await step('set_many', async () => (await Promise.all(keys.map((k) => client.set(k, k + k)))).every(Boolean));
  await step('get_multi', async () => {
    const got = await Promise.all([...keys, 'js:missing'].map((k) => client.get(k)));
    return got.filter((r, i) => r.value && r.value.toString() === keys[i] + keys[i]).length;
  });
  await step('touch', () => client.touch('js:a', 1000));
  await step('touch_missing', () => client.touch('js:none', 1000));
  await step('delete', () => client.delete('js:a'));
  await step('delete_missing', () => client.delete('js:a'));
  await step('get_deleted', () => client.get('js:a'));
  const big = 'y'.repeat(500000);
  await step('large', async () => { await client.set('js:big', big); return (await client.get('js:big')).value.toString() === big; });
  await step('flush_all', async () => Object.values(await client.flush()));
  await step('get_flushed', () => client.get('js:b'));
  await step('stats', () => new Promise((resolve, reject) => {
    client.stats((err, server, st) => (err ? reject(err) : resolve('curr_items' in st)));
  }));
  client.close();
}

main().then(() => process.exit(0), (e) => { console.log(`fatal ${e.message}`); process.exit(1); });
