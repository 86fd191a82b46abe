/**
 * Updating a prog array from user space goes through the syscall layer's one
 * update path: the program fd in the value is resolved in the caller, the
 * frozen-map check applies (EPERM, as Linux's map_get_sys_perms), the batch
 * command answers ENOTSUPP (Linux's prog array has no batch ops), and the
 * high-level `Process.mapUpdate` works on a thread that never loaded a
 * program.
 */
import { describe, expect, it } from "vitest";
import { Worker } from "node:worker_threads";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { BpfCmd, Errno, Kernel, MapType, ProgType, progInfo } from "@bpfsim/core";
import { exit, mov, prog } from "./insns.js";

const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);
const idAt = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);

function setup() {
  const k = Kernel.create({ ncpus: 2, size: 32 << 20 });
  const p = k.createProcess();
  const arr = p.mapCreate({ mapType: MapType.ProgArray, keySize: 4, valueSize: 4, maxEntries: 4 });
  const pfd = p.bpf(BpfCmd.ProgLoad, { progType: ProgType.Xdp, insns: prog(mov(0, 2), exit()), license: "GPL" });
  expect(pfd).toBeGreaterThan(0);
  return { k, p, arr, pfd };
}

describe("prog array updates from user space", () => {
  it("BPF_MAP_UPDATE_ELEM stores the program; lookups read its id", () => {
    const { p, arr, pfd } = setup();
    expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: arr, key: u32(1), value: u32(pfd) })).toBe(0);
    p.mapUpdate(arr, u32(2), u32(pfd));
    const id = progInfo(p, pfd).id;
    expect(idAt(p.mapLookup(arr, u32(1))!)).toBe(id);
    expect(idAt(p.mapLookup(arr, u32(2))!)).toBe(id);
    expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: arr, key: u32(0), value: u32(99) })).toBe(-Errno.EBADF);
    expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: arr, key: u32(0), value: u32(arr) })).toBe(-Errno.EINVAL);
    expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: arr, key: u32(4), value: u32(pfd) })).toBe(-Errno.E2BIG);
  });

  it("a frozen prog array refuses updates with EPERM and keeps its entries", () => {
    const { p, arr, pfd } = setup();
    p.mapUpdate(arr, u32(0), u32(pfd));
    p.mapFreeze(arr);
    expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: arr, key: u32(1), value: u32(pfd) })).toBe(-Errno.EPERM);
    expect(() => p.mapUpdate(arr, u32(1), u32(pfd))).toThrow();
    expect(p.bpf(BpfCmd.MapLookupElem, { mapFd: arr, key: u32(1), value: new Uint8Array(4) })).toBe(-Errno.ENOENT);
    expect(idAt(p.mapLookup(arr, u32(0))!)).toBe(progInfo(p, pfd).id);
  });

  it("BPF_MAP_UPDATE_BATCH is ENOTSUPP and stores nothing", () => {
    const { p, arr, pfd } = setup();
    const a = { mapFd: arr, keys: u32(0), values: u32(pfd), count: 1, elemFlags: 0 };
    expect(p.bpf(BpfCmd.MapUpdateBatch, a)).toBe(-Errno.ENOTSUPP);
    expect(p.bpf(BpfCmd.MapLookupElem, { mapFd: arr, key: u32(0), value: new Uint8Array(4) })).toBe(-Errno.ENOENT);
  });
});

// Workers load the built package (they cannot import TypeScript sources).
const dist = fileURLToPath(new URL("../../packages/core/dist/index.js", import.meta.url));
const haveDist = existsSync(dist);
if (!haveDist) console.log(`prog array thread test skipped: ${dist} not built (run the build first)`);

const workerSrc = `
const { workerData, parentPort } = require("node:worker_threads");
import(workerData.coreUrl).then(({ Kernel }) => {
  const k = Kernel.attach(workerData.memory);
  const p = k.createProcess();
  const arr = p.mapGetFdById(workerData.mapId);
  const pfd = p.progGetFdById(workerData.progId);
  const u32 = (n) => new Uint8Array(new Uint32Array([n]).buffer);
  let err = "";
  try { p.mapUpdate(arr, u32(3), u32(pfd)); } catch (e) { err = String(e && e.message); }
  p.exit();
  parentPort.postMessage(err);
}).catch((e) => parentPort.postMessage("import: " + e));
`;

describe.skipIf(!haveDist)("prog array updates on another thread", () => {
  it("Process.mapUpdate on a thread that never loaded a program resolves the fd", async () => {
    const { k, p, arr, pfd } = setup();
    const coreUrl = new URL("../../packages/core/dist/index.js", import.meta.url).href;
    const w = new Worker(workerSrc, {
      eval: true,
      workerData: { coreUrl, memory: k.memory, mapId: p.mapInfo(arr).id, progId: progInfo(p, pfd).id },
    });
    const err = await new Promise<string>((resolve, reject) => {
      w.once("message", resolve);
      w.once("error", reject);
    });
    await w.terminate();
    expect(err).toBe("");
    expect(idAt(p.mapLookup(arr, u32(3))!)).toBe(progInfo(p, pfd).id);
  });
});
