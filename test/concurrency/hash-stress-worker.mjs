// One simulated CPU of the hash map stress test (hash-stress.test.ts). It
// attaches the shared arena, opens the maps from their headers and runs
// random operations until its budget or the deadline, checking what it
// reads as it goes. Loads the built core (dist), like CPU workers do.
import { parentPort, workerData } from "node:worker_threads";
import { Arena } from "../../packages/core/dist/memory/arena.js";
import { hashMapOps } from "../../packages/core/dist/maps/hash.js";
import { percpuHashMapOps } from "../../packages/core/dist/maps/percpu-hash.js";
import { lruHashMapOps } from "../../packages/core/dist/maps/lru-hash.js";
import { lruPercpuHashMapOps } from "../../packages/core/dist/maps/lru-percpu-hash.js";

const { memory, cpu, maps, iterations, deadline, startWord, seed } = workerData;
const arena = Arena.attach(memory);
const opsByType = { 1: hashMapOps, 5: percpuHashMapOps, 9: lruHashMapOps, 10: lruPercpuHashMapOps };
const open = (h) => opsByType[h.type].open({ ...h, arena });
const A = open(maps.locked), B = open(maps.plain), C = open(maps.counters), D = open(maps.percpu);
const E = open(maps.lru), F = open(maps.lruPercpu), G = open(maps.churn), H = open(maps.full);
const dv = arena.dv, u32 = arena.u32;

// Per-thread scratch: key, value, out.
const scratch = arena.alloc(4096, 1);
const K = scratch, V = scratch + 1024, O = scratch + 2048;

let rng = seed >>> 0 || 1;
const rand = (n) => {
  rng ^= rng << 13; rng >>>= 0; rng ^= rng >>> 17; rng ^= rng << 5; rng >>>= 0;
  return rng % n;
};
const errors = [];
const fail = (msg) => { if (errors.length < 20) errors.push(`cpu ${cpu}: ${msg}`); };
const key = (k) => (dv.setUint32(K, k, true), K);

// A value of `words` u32: word 0 = key, the rest one stamp (the lock word, if any, skipped).
function writeValue(k, words, stamp, lockWord) {
  for (let i = 0; i < words; i++) dv.setUint32(V + 4 * i, i === 0 ? k : i === lockWord ? 0 : stamp, true);
  return V;
}
function checkValue(what, k, at, words, lockWord) {
  if (dv.getUint32(at, true) !== k) return fail(`${what}: key ${k} read value of key ${dv.getUint32(at, true)}`);
  const s = dv.getUint32(at + 4 * (lockWord === 1 ? 2 : 1), true);
  for (let i = 1; i < words; i++) {
    if (i === lockWord) continue;
    if (dv.getUint32(at + 4 * i, true) !== s) return fail(`${what}: torn value for key ${k} (word ${i})`);
  }
}
function checkCount(name, m, max) {
  const n = m.count();
  if (n > max || n < 0) fail(`${name}: count ${n} outside [0, ${max}]`);
}

const WORDS = 16; // 64-byte values
const counted = new Array(maps.counterKeys).fill(0);
const percpuBumps = new Array(maps.percpuKeys).fill(0);

Atomics.add(u32, startWord, 1);
while (Atomics.load(u32, startWord) < workerData.nworkers) Atomics.wait(arena.i32, startWord, Atomics.load(u32, startWord), 5);

let ops = 0;
for (; ops < iterations && (ops & 255 || Date.now() < deadline); ops++) {
  const stamp = (cpu << 24) | (ops & 0xffffff);
  const r = rand(135);
  if (r >= 120) {
    // H: a full map made for one CPU (two spare elements) replaced by four
    // threads at once: a replacement must never fail for lack of room.
    const k = rand(maps.full.maxEntries);
    if (rand(2)) {
      const ret = H.sysUpdateElem(key(k), writeValue(k, 4, stamp, -1), 0);
      if (ret !== 0) fail(`replacing key ${k} of a full map returned ${ret}`);
    } else if (H.sysLookupElem(key(k), O, 0) !== 0) {
      fail(`full map lost key ${k}`);
    } else {
      checkValue("full lookup", k, O, 4, -1);
    }
    continue;
  }
  if (r >= 100) {
    // G: a tiny map whose elements are recycled constantly: odd CPUs replace
    // and delete, even CPUs copy 256-byte values out, racing with reuse.
    const k = rand(maps.churn.keySpace);
    if (cpu & 1) {
      if (rand(3) === 0) G.deleteElem(key(k), cpu);
      else G.sysUpdateElem(key(k), writeValue(k, 64, stamp, -1), 0);
    } else if (G.sysLookupElem(key(k), O, 0) === 0) {
      checkValue("churn lookup", k, O, 64, -1);
    }
    checkCount("churn", G, maps.churn.maxEntries);
    continue;
  }
  if (r < 15) {
    // A: BPF_F_LOCK updates and lookups mixed with plain (swapping) updates and deletes.
    const k = rand(maps.locked.keySpace);
    const op = rand(4);
    if (op === 0) A.sysUpdateElem(key(k), writeValue(k, WORDS, stamp, 1), 4 /* BPF_F_LOCK */);
    else if (op === 1) A.sysUpdateElem(key(k), writeValue(k, WORDS, stamp, 1), 0);
    else if (op === 2) { if (rand(4) === 0) A.deleteElem(key(k), cpu); }
    else if (A.sysLookupElem(key(k), O, 4) === 0) checkValue("locked lookup", k, O, WORDS, 1);
    checkCount("locked", A, maps.locked.maxEntries);
  } else if (r < 35) {
    // B: plain updates swap elements; syscall lookups must never see a torn or foreign value.
    const k = rand(maps.plain.keySpace);
    const op = rand(5);
    if (op <= 1) {
      const ret = B.sysUpdateElem(key(k), writeValue(k, WORDS, stamp, -1), 0);
      if (ret !== 0 && ret !== -7) fail(`plain update returned ${ret}`);
    } else if (op === 2) B.deleteElem(key(k), cpu);
    else if (op === 3) { if (B.sysLookupElem(key(k), O, 0) === 0) checkValue("plain lookup", k, O, WORDS, -1); }
    else if (B.sysLookupAndDeleteElem(key(k), O, 0) === 0) checkValue("plain lookup_and_delete", k, O, WORDS, -1);
    checkCount("plain", B, maps.plain.maxEntries);
  } else if (r < 55) {
    // C: atomic adds through the lookup pointer (a program's lock xadd), while other keys churn.
    if (rand(3) === 0) {
      const k = maps.counterKeys + rand(64);
      if (rand(2)) C.updateElem(key(k), writeValue(k, 2, stamp, -1), 0, cpu);
      else C.deleteElem(key(k), cpu);
    } else {
      const k = rand(maps.counterKeys);
      const p = C.lookupElem(key(k), cpu);
      if (p === 0) fail(`counter key ${k} missing`);
      else { Atomics.add(arena.i64, p >> 3, 1n); counted[k]++; }
    }
  } else if (r < 70) {
    // D: this CPU's slot, written by program updates and plain increments through the pointer.
    const k = rand(maps.percpuKeys);
    const p = D.lookupElem(key(k), cpu);
    if (p === 0) fail(`percpu key ${k} missing`);
    else {
      if (dv.getUint32(p, true) !== cpu) fail(`percpu key ${k}: slot of cpu ${cpu} holds tag ${dv.getUint32(p, true)}`);
      if (rand(4) === 0) {
        dv.setUint32(V, cpu, true);
        dv.setUint32(V + 4, dv.getUint32(p + 4, true) + 1, true);
        if (D.updateElem(key(k), V, 2 /* BPF_EXIST */, cpu) !== 0) fail("percpu update of a present key failed");
      } else {
        dv.setUint32(p + 4, dv.getUint32(p + 4, true) + 1, true);
      }
      percpuBumps[k]++;
    }
  } else {
    // E, F: LRU maps under eviction pressure; an update never fails for lack of room.
    const lru = r < 85;
    const m = lru ? E : F;
    const h = lru ? maps.lru : maps.lruPercpu;
    const k = rand(h.keySpace);
    const op = rand(4);
    if (op <= 1) {
      const ret = lru ? m.sysUpdateElem(key(k), writeValue(k, 8, stamp, -1), 0) : m.updateElem(key(k), writeValue(k, 4, stamp, -1), 0, cpu);
      if (ret !== 0) fail(`${lru ? "lru" : "lru percpu"} update returned ${ret}`);
    } else if (op === 2) m.deleteElem(key(k), cpu);
    else if (lru) { if (m.sysLookupElem(key(k), O, 0) === 0) checkValue("lru lookup", k, O, 8, -1); }
    else { const p = m.lookupElem(key(k), cpu); if (p !== 0 && dv.getUint32(p, true) !== k && dv.getUint32(p, true) !== 0) fail(`lru percpu key ${k}: own slot holds key ${dv.getUint32(p, true)}`); }
    checkCount(lru ? "lru" : "lru percpu", m, h.maxEntries);
  }
}
arena.free(scratch);
parentPort.postMessage({ cpu, ops, errors, counted, percpuBumps });
