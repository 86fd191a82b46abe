import { describe, expect, it } from "vitest";
import { Kernel } from "./kernel.js";
import { ObjKind } from "./layout.js";
import { BpfCmd, BPF_F_RDONLY, BPF_F_WRONLY, BPF_F_NUMA_NODE, BPF_F_RDONLY_PROG, MapType } from "../uapi.js";
import { Errno } from "../errno.js";
import { registerBpfCommand } from "./syscall.js";

const MiB = 1024 * 1024;
const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);
const u64 = (n: bigint): Uint8Array => new Uint8Array(new BigUint64Array([n]).buffer);
const arr = { mapType: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 4 };

function boot(ncpus = 2) {
  const k = Kernel.create({ ncpus, size: 16 * MiB });
  return { k, p: k.createProcess({ comm: "test" }) };
}

describe("processes and fds", () => {
  it("hands out the lowest free fd from 3, and close frees the map", () => {
    const { k, p } = boot();
    const before = k.arena.stats().bytesInUse;
    const a = p.mapCreate(arr);
    const b = p.mapCreate(arr);
    expect([a, b]).toEqual([3, 4]);
    p.close(a);
    expect(p.mapCreate(arr)).toBe(3);
    expect(() => p.close(99)).toThrow(/EBADF/);
    p.close(3);
    p.close(b);
    expect(k.objects.count(ObjKind.Map)).toBe(0);
    expect(k.arena.stats().bytesInUse).toBe(before);
    expect(k.arena.memlock.charged(0)).toBe(0);
  });

  it("closing stdin frees fd 0 for the next object, like Linux", () => {
    const { p } = boot();
    p.close(0);
    expect(p.mapCreate(arr)).toBe(0);
    expect(p.bpf(BpfCmd.MapLookupElem, { mapFd: 1, key: u32(0), value: new Uint8Array(8) })).toBe(-Errno.EINVAL);
  });

  it("exit closes every fd; a pinned map survives", () => {
    const { k, p } = boot();
    const fd = p.mapCreate({ ...arr, mapName: "pinned" });
    p.mapCreate(arr);
    p.objPin(fd, "/sys/fs/bpf/m");
    p.exit();
    expect(p.alive).toBe(false);
    expect(p.bpf(BpfCmd.MapFreeze, { mapFd: fd })).toBe(-Errno.ESRCH);
    expect(k.objects.count(ObjKind.Map)).toBe(1);
    const q = k.createProcess();
    const fd2 = q.objGet("/sys/fs/bpf/m");
    expect(q.mapInfo(fd2).name).toBe("pinned");
    q.unlink("/sys/fs/bpf/m");
    expect(k.objects.count(ObjKind.Map)).toBe(1);
    q.close(fd2);
    expect(k.objects.count(ObjKind.Map)).toBe(0);
  });

  it("another thread's handle (attach) sees the same process and maps", () => {
    const { k, p } = boot();
    const fd = p.mapCreate(arr);
    p.mapUpdate(fd, u32(1), u64(42n));
    const k2 = Kernel.attach(k.memory);
    const p2 = k2.process(p.pid);
    expect(p2.mapLookup(fd, u32(1))).toEqual(u64(42n));
    expect(() => k2.process(9999)).toThrow(/ESRCH/);
  });
});

describe("user buffers", () => {
  it("missing or short buffers are EFAULT, after the answers Linux gives first (probed)", () => {
    const { p } = boot();
    const fd = p.mapCreate(arr);
    expect(p.bpf(BpfCmd.MapLookupElem, { mapFd: fd, key: u32(3), value: null })).toBe(-Errno.EFAULT);
    expect(p.bpf(BpfCmd.MapLookupElem, { mapFd: fd, key: u32(9), value: null })).toBe(-Errno.ENOENT);
    expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: fd, key: u32(9), value: null })).toBe(-Errno.EFAULT);
    expect(p.bpf(BpfCmd.MapLookupElem, { mapFd: fd, key: null, value: new Uint8Array(8) })).toBe(-Errno.EFAULT);
    expect(p.bpf(BpfCmd.MapLookupElem, { mapFd: fd, key: new Uint8Array(2), value: new Uint8Array(8) })).toBe(-Errno.EFAULT);
    expect(p.bpf(BpfCmd.MapGetNextKey, { mapFd: fd, key: u32(9), nextKey: new Uint8Array(0) })).toBe(-Errno.EFAULT);
    const info = { bpfFd: fd, info: new Uint8Array(0), infoLen: 0 };
    expect(p.bpf(BpfCmd.ObjGetInfoByFd, info)).toBe(0);
    expect(info.infoLen).toBe(0);
  });
});

describe("fd fast path", () => {
  it("a reused fd number never reaches the old map or keeps the old access mode", () => {
    const { p } = boot();
    const a = p.mapCreate(arr);
    p.mapUpdate(a, u32(0), u64(1n));
    const id = p.mapInfo(a).id;
    p.objPin(a, "/sys/fs/bpf/a");
    p.close(a);
    const b = p.mapCreate({ ...arr, maxEntries: 2 });
    expect(b).toBe(a);
    expect(p.mapLookup(b, u32(0))).toEqual(u64(0n));
    expect(p.bpf(BpfCmd.MapLookupElem, { mapFd: b, key: u32(3), value: new Uint8Array(8) })).toBe(-Errno.ENOENT);
    p.close(b);
    const c = p.objGet("/sys/fs/bpf/a", BPF_F_RDONLY);
    expect(c).toBe(a);
    expect(p.mapInfo(c).id).toBe(id);
    expect(p.mapLookup(c, u32(0))).toEqual(u64(1n));
    expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: c, key: u32(0), value: u64(2n) })).toBe(-Errno.EPERM);
  });

  it("with a second handle on the process, fd lookups take the locked path and still agree", () => {
    const { k, p } = boot();
    const fd = p.mapCreate(arr);
    const p2 = k.process(p.pid);
    p2.mapUpdate(fd, u32(2), u64(5n));
    expect(p.mapLookup(fd, u32(2))).toEqual(u64(5n));
    p2.close(fd);
    expect(p.bpf(BpfCmd.MapLookupElem, { mapFd: fd, key: u32(2), value: new Uint8Array(8) })).toBe(-Errno.EBADF);
    p2.release();
  });
});

describe("ids", () => {
  it("allocates ids cyclically and never reuses a live one", () => {
    const { k, p } = boot();
    const a = p.mapCreate(arr);
    const b = p.mapCreate(arr);
    const ia = p.mapInfo(a).id;
    const ib = p.mapInfo(b).id;
    expect(ib).toBe(ia + 1);
    p.close(a);
    const c = p.mapCreate(arr);
    expect(p.mapInfo(c).id).toBe(ib + 1);
    expect(p.mapGetNextId(0)).toBe(ib);
    expect(p.mapGetNextId(ib)).toBe(ib + 1);
    expect(p.mapGetNextId(ib + 1)).toBeUndefined();
    expect(p.bpf(BpfCmd.MapGetNextId, { startId: 0x7fffffff })).toBe(-Errno.EINVAL);
    const d = p.mapGetFdById(ib, BPF_F_RDONLY);
    expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: d, key: u32(0), value: u64(1n) })).toBe(-Errno.EPERM);
    expect(p.bpf(BpfCmd.MapGetFdById, { id: ia })).toBe(-Errno.ENOENT);
    expect(p.bpf(BpfCmd.MapGetFdById, { id: ib, openFlags: BPF_F_RDONLY | BPF_F_WRONLY })).toBe(-Errno.EINVAL);
    expect(p.bpf(BpfCmd.MapGetFdById, { id: ib, openFlags: 4 })).toBe(-Errno.EINVAL);
    expect(p.progGetNextId(0)).toBeUndefined();
    expect(k.objects.refcnt(k.objects.getById(ObjKind.Map, ib))).toBe(3);
  });

  it("wraps at INT_MAX back to 1", () => {
    const { k, p } = boot();
    const first = p.mapCreate(arr);
    Atomics.store(k.arena.u32, (0x8000 >> 2) + 5, 0x7ffffffe);
    const fd = p.mapCreate(arr);
    expect(p.mapInfo(fd).id).toBe(0x7ffffffe);
    const fd2 = p.mapCreate(arr);
    expect(p.mapInfo(fd2).id).toBe(2); // 1 is still held by `first`
    expect(p.mapInfo(first).id).toBe(1);
  });
});

describe("per-thread state and module hooks", () => {
  it("extRoot gives every thread the same word per name; cached() rebuilds when a slot is reused", () => {
    const { k, p } = boot();
    const w = k.extRoot("test.root");
    expect(k.extRoot("test.root")).toBe(w);
    expect(k.extRoot("test.other")).not.toBe(w);
    expect(Kernel.attach(k.memory).extRoot("test.root")).toBe(w);
    const fd = p.mapCreate(arr);
    const slot = k.objects.list(ObjKind.Map)[0]!.slot;
    let builds = 0;
    const build = () => ++builds;
    expect(k.cached("t", slot, build)).toBe(1);
    expect(k.cached("t", slot, build)).toBe(1);
    p.close(fd);
    p.mapCreate(arr);
    expect(k.objects.list(ObjKind.Map)[0]!.slot).toBe(slot);
    expect(k.cached("t", slot, build)).toBe(2);
  });

  it("lists live objects with their references", () => {
    const { k, p } = boot();
    const a = p.mapCreate(arr);
    p.mapCreate(arr);
    p.objPin(a, "/sys/fs/bpf/x");
    expect(k.objects.list(ObjKind.Map).map((o) => [o.id, o.refcnt])).toEqual([[1, 2], [2, 1]]);
  });
});

describe("info", () => {
  it("reports bpf_map_info fields; access flags belong to the fd", () => {
    const { p } = boot();
    const fd = p.mapCreate({ ...arr, mapFlags: BPF_F_RDONLY | BPF_F_RDONLY_PROG, mapName: "my_map.1" });
    const i = p.mapInfo(fd);
    expect(i).toMatchObject({ type: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: BPF_F_RDONLY_PROG, name: "my_map.1" });
    const a = { bpfFd: fd, info: new Uint8Array(200), infoLen: 200 };
    expect(p.bpf(BpfCmd.ObjGetInfoByFd, a)).toBe(0);
    expect(a.infoLen).toBe(104);
    a.info[150] = 1;
    a.infoLen = 200;
    expect(p.bpf(BpfCmd.ObjGetInfoByFd, a)).toBe(-Errno.E2BIG);
    const short = { bpfFd: fd, info: new Uint8Array(8), infoLen: 8 };
    expect(p.bpf(BpfCmd.ObjGetInfoByFd, short)).toBe(0);
    expect(short.infoLen).toBe(8);
    expect(p.bpf(BpfCmd.ObjGetInfoByFd, { bpfFd: 50, info: new Uint8Array(88), infoLen: 88 })).toBe(-Errno.EBADFD);
    expect(p.bpf(BpfCmd.ObjGetInfoByFd, { bpfFd: 1, info: new Uint8Array(88), infoLen: 88 })).toBe(-Errno.EINVAL);
  });
});

describe("map create checks", () => {
  it("rejects bad attributes with Linux's errno and leaves nothing behind", () => {
    const { k, p } = boot();
    const inUse = () => ({ bytes: k.arena.stats().bytesInUse, blocks: k.arena.stats().blocksInUse });
    const before = inUse();
    const cases: [object, number][] = [
      [{ ...arr, mapType: 999 }, Errno.EINVAL],
      [{ ...arr, keySize: 8 }, Errno.EINVAL],
      [{ ...arr, valueSize: 0 }, Errno.EINVAL],
      [{ ...arr, maxEntries: 0 }, Errno.EINVAL],
      [{ ...arr, mapFlags: BPF_F_RDONLY | BPF_F_WRONLY }, Errno.EINVAL],
      [{ ...arr, mapFlags: 1 }, Errno.EINVAL],
      [{ ...arr, mapFlags: BPF_F_NUMA_NODE, numaNode: 3 }, Errno.EINVAL],
      [{ ...arr, mapName: "bad-name" }, Errno.EINVAL],
      [{ ...arr, mapName: "0123456789abcdef" }, Errno.EINVAL],
      [{ ...arr, mapExtra: 1n }, Errno.EINVAL],
      [{ ...arr, btfKeyTypeId: 1 }, Errno.EINVAL],
      [{ ...arr, mapIfindex: 1 }, Errno.EINVAL],
      [{ ...arr, mapType: MapType.PercpuArray, valueSize: 32 * 1024 + 1 }, Errno.E2BIG],
      [{ ...arr, maxEntries: 0x7fffffff }, Errno.EPERM],
    ];
    for (const [attr, errno] of cases) {
      expect([attr, p.bpf(BpfCmd.MapCreate, attr as never)]).toEqual([attr, -errno]);
    }
    expect(inUse()).toEqual(before);
    expect(p.openFds()).toEqual([0, 1, 2]);
  });

  it("enforces RLIMIT_MEMLOCK per user with EPERM, and ENOMEM when the arena is full", () => {
    const k = Kernel.create({ ncpus: 2, size: 16 * MiB });
    const p = k.createProcess({ uid: 1000, memlockLimit: 64 * 1024 });
    const fd = p.mapCreate({ ...arr, valueSize: 1024, maxEntries: 40 });
    expect(p.bpf(BpfCmd.MapCreate, { ...arr, valueSize: 1024, maxEntries: 40 })).toBe(-Errno.EPERM);
    p.close(fd);
    expect(k.arena.memlock.charged(1000)).toBe(0);
    const root = k.createProcess({ memlockLimit: Infinity });
    const before = k.arena.stats();
    expect(root.bpf(BpfCmd.MapCreate, { ...arr, valueSize: 1024, maxEntries: 64 * 1024 })).toBe(-Errno.ENOMEM);
    expect(k.arena.stats()).toEqual(before);
    expect(k.arena.memlock.charged(0)).toBe(0);
    // Fits the arena's size but not what is left: the values allocation fails after the header's.
    const big = root.mapCreate({ ...arr, valueSize: 1024, maxEntries: 9 * 1024 });
    const charged = k.arena.memlock.charged(0);
    const mid = k.arena.stats();
    expect(root.bpf(BpfCmd.MapCreate, { ...arr, valueSize: 1024, maxEntries: 9 * 1024 })).toBe(-Errno.ENOMEM);
    expect(k.arena.stats().bytesInUse).toBe(mid.bytesInUse);
    expect(k.arena.memlock.charged(0)).toBe(charged);
    expect(root.openFds()).toEqual([0, 1, 2, big]);
    expect(k.objects.count(ObjKind.Map)).toBe(1);
  });

  it("unknown commands are EINVAL; registered ones dispatch", () => {
    const { p } = boot();
    expect(p.bpf(BpfCmd.ProgLoad, {} as never)).toBe(-Errno.EINVAL);
    expect(p.bpf(200, {})).toBe(-Errno.EINVAL);
    registerBpfCommand(BpfCmd.ProgQuery as never, () => 7);
    expect(p.bpf(BpfCmd.ProgQuery, {})).toBe(7);
  });
});

describe("bpffs", () => {
  it("pins and gets with Linux's path errors", () => {
    const { k, p } = boot();
    const fd = p.mapCreate(arr);
    const pin = (path: string, f = fd) => p.bpf(BpfCmd.ObjPin, { bpfFd: f, pathname: path });
    const get = (path: string, fileFlags = 0) => p.bpf(BpfCmd.ObjGet, { pathname: path, fileFlags });
    expect(pin("/sys/fs/bpf/a")).toBe(0);
    expect(pin("/sys/fs/bpf/a")).toBe(-Errno.EEXIST);
    expect(pin("/sys/fs/bpf//./a")).toBe(-Errno.EEXIST);
    expect(pin("/sys/fs/bpf/nodir/a")).toBe(-Errno.ENOENT);
    expect(pin("/sys/fs/bpf/a/b")).toBe(-Errno.ENOTDIR);
    expect(pin("/tmp/a")).toBe(-Errno.EPERM);
    expect(pin("/sys/fs/bpf/t/")).toBe(-Errno.ENOENT);
    expect(pin("/sys/a")).toBe(-Errno.EPERM);
    expect(pin("/sys/fs/bpf/x", 77)).toBe(-Errno.EINVAL);
    expect(pin("/sys/fs/bpf/x", 1)).toBe(-Errno.EINVAL);
    expect(pin("/sys/fs/bpf/" + "n".repeat(256))).toBe(-Errno.ENAMETOOLONG);
    expect(p.bpf(BpfCmd.ObjPin, { bpfFd: fd, pathname: "/sys/fs/bpf/y", fileFlags: 1 })).toBe(-Errno.EINVAL);
    p.mkdir("/sys/fs/bpf/dir");
    expect(pin("/sys/fs/bpf/dir/m")).toBe(0);
    expect(get("/sys/fs/bpf/dir")).toBe(-Errno.EACCES);
    expect(get("/sys/fs/bpf")).toBe(-Errno.EACCES);
    expect(get("/sys/fs/bpf/none")).toBe(-Errno.ENOENT);
    expect(get("/sys/fs/bpf/a", BPF_F_RDONLY | BPF_F_WRONLY)).toBe(-Errno.EINVAL);
    expect(p.bpf(BpfCmd.ObjGet, { pathname: "/sys/fs/bpf/a", bpfFd: 3 })).toBe(-Errno.EINVAL);
    expect(get("/sys/fs/bpf/a/")).toBe(-Errno.ENOTDIR);
    const ro = get("/sys/fs/bpf/dir/m", BPF_F_RDONLY);
    expect(ro).toBeGreaterThan(fd);
    expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: ro, key: u32(0), value: u64(1n) })).toBe(-Errno.EPERM);
    expect(k.bpffs.unlink("/sys/fs/bpf/dir", true)).toBe(-Errno.ENOTEMPTY);
    expect(k.bpffs.unlink("/sys/fs/bpf/dir")).toBe(-Errno.EISDIR);
    expect(k.bpffs.unlink("/sys/fs/bpf/dir/m")).toBe(0);
    expect(k.bpffs.unlink("/sys/fs/bpf/dir", true)).toBe(0);
    expect(k.bpffs.list()).toEqual(["/sys/fs/bpf/a"]);
  });
});
