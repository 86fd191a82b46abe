import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import "../prog/index.js"; // fd-valued map updates resolve fds through the program layer's command hook
import { Kernel } from "../kernel/kernel.js";
import type { Process } from "../kernel/process.js";
import { ObjKind } from "../kernel/layout.js";
import { BpfCmd, BPF_F_INNER_MAP, MapType } from "../uapi.js";
import { Errno } from "../errno.js";

const MiB = 1024 * 1024;
const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const n32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getUint32(0, true);

/** The probe's script on bpfsim, printed as the probe prints it. */
function simScript(p: Process): string[] {
  const out: string[] = [];
  const pr = (name: string, v: number | boolean) => out.push(`${name} ${typeof v === "boolean" ? (v ? 1 : 0) : v}`);
  const mk = (t: number, ks: number, vs: number, max: number, fl: number, inner: number) =>
    p.bpf(BpfCmd.MapCreate, { mapType: t, keySize: ks, valueSize: vs, maxEntries: max, mapFlags: fl, innerMapFd: inner });
  const upd = (fd: number, k: number, v: number, fl: number) => p.bpf(BpfCmd.MapUpdateElem, { mapFd: fd, key: u32(k), value: u32(v), flags: fl });
  const o = new Uint8Array(4);
  const look = (fd: number, k: number) => p.bpf(BpfCmd.MapLookupElem, { mapFd: fd, key: u32(k), value: o });
  const del = (fd: number, k: number) => p.bpf(BpfCmd.MapDeleteElem, { mapFd: fd, key: u32(k) });
  const nxt = (fd: number, k: number | null) => p.bpf(BpfCmd.MapGetNextKey, { mapFd: fd, key: k === null ? null : u32(k), nextKey: o });
  const idOf = (fd: number) => p.mapInfo(fd).id;
  const inner = mk(2, 4, 8, 4, 0, 0);
  const hinner = mk(1, 4, 8, 4, 0, 0);
  const pa = mk(3, 4, 4, 4, 0, 0);
  pr("noinner", mk(12, 4, 4, 2, 0, 0));
  pr("badinner", mk(12, 4, 4, 2, 0, 99));
  pr("vs8", mk(12, 4, 8, 2, 0, inner));
  pr("ks8", mk(12, 8, 4, 2, 0, inner));
  pr("progarray_inner", mk(12, 4, 4, 2, 0, pa));
  const outer = mk(12, 4, 4, 2, 0, inner);
  pr("outer_ok", outer > 0 ? 0 : outer);
  pr("nested", mk(12, 4, 4, 2, 0, outer));
  pr("hom_flags1", mk(13, 4, 4, 2, 1, inner) > 0 ? 0 : -1);
  pr("aom_flags1", mk(12, 4, 4, 2, 1, inner));
  pr("aom_inner_flag", mk(12, 4, 4, 2, BPF_F_INNER_MAP, inner));
  pr("upd", upd(outer, 0, inner, 0));
  pr("upd_mismatch_type", upd(outer, 1, hinner, 0));
  const other = mk(2, 4, 8, 8, 0, 0);
  pr("upd_mismatch_max", upd(outer, 1, other, 0));
  const same = mk(2, 4, 8, 4, 0, 0);
  pr("upd_noexist", upd(outer, 1, same, 1));
  pr("upd_exist", upd(outer, 1, same, 2));
  pr("upd_oob", upd(outer, 5, same, 0));
  pr("upd_badfd", upd(outer, 1, 99, 0));
  pr("upd_prog_array", upd(outer, 1, pa, 0));
  pr("look", look(outer, 0));
  pr("look_id", n32(o) === idOf(inner));
  pr("look_empty", look(outer, 1));
  pr("look_oob", look(outer, 5));
  pr("next", nxt(outer, null));
  pr("next_val", n32(o));
  pr("next_last", nxt(outer, 1));
  pr("del", del(outer, 0));
  pr("del_again", del(outer, 0));
  pr("del_oob", del(outer, 5));
  const innerIm = mk(2, 4, 8, 4, BPF_F_INNER_MAP, 0);
  const outer2 = mk(12, 4, 4, 2, 0, innerIm);
  pr("inner_map_flag_other_max", upd(outer2, 0, other, 0));
  const otherIm = mk(2, 4, 8, 8, BPF_F_INNER_MAP, 0);
  pr("inner_map_flag_other_max_im", upd(outer2, 0, otherIm, 0));
  const batch = (cmd: number, fd: number, keys: number[], vals: number[], count: number) => {
    const a = { mapFd: fd, keys: new Uint8Array(new Uint32Array([...keys, 0, 0, 0, 0]).buffer), values: new Uint8Array(new Uint32Array([...vals, 0, 0, 0, 0]).buffer), count, outBatch: new Uint8Array(4), inBatch: null };
    const r = p.bpf(cmd, a);
    return { r, n: a.count, v0: new DataView(a.values.buffer).getUint32(0, true) };
  };
  {
    let b = batch(BpfCmd.MapUpdateBatch, outer, [0, 1], [same, same], 2);
    out.push(`aom_update_batch ${b.r} ${b.n}`);
    b = batch(BpfCmd.MapLookupBatch, outer, [], [], 4);
    out.push(`aom_lookup_batch ${b.r} ${b.n} ${b.v0 === idOf(same) ? 1 : 0}`);
    b = batch(BpfCmd.MapDeleteBatch, outer, [0], [], 1);
    out.push(`aom_delete_batch ${b.r} ${b.n}`);
  }
  const hom = mk(13, 4, 4, 2, 0, inner);
  pr("h_upd", upd(hom, 5, inner, 0));
  pr("h_upd_noexist", upd(hom, 5, same, 1));
  pr("h_upd_exist_missing", upd(hom, 0, same, 2));
  pr("h_upd2", upd(hom, 0, same, 0));
  pr("h_full", upd(hom, 1, same, 0));
  pr("h_look", look(hom, 5));
  pr("h_look_id", n32(o) === idOf(inner));
  pr("h_look_missing", look(hom, 1));
  pr("h_del", del(hom, 5));
  pr("h_del_again", del(hom, 5));
  {
    let b = batch(BpfCmd.MapUpdateBatch, hom, [7], [same], 1);
    out.push(`hom_update_batch ${b.r} ${b.n}`);
    b = batch(BpfCmd.MapLookupBatch, hom, [], [], 4);
    out.push(`hom_lookup_batch ${b.r} ${b.n}`);
    b = batch(BpfCmd.MapLookupAndDeleteBatch, hom, [], [], 4);
    out.push(`hom_lookup_and_delete_batch ${b.r}`);
    b = batch(BpfCmd.MapDeleteBatch, hom, [7], [], 1);
    out.push(`hom_delete_batch ${b.r} ${b.n}`);
  }
  pr("h_ks8", mk(13, 8, 4, 2, 0, inner) > 0);
  pr("ringbuf_inner", mk(12, 4, 4, 2, 0, mk(27, 0, 0, 4096, 0, 0)) > 0);
  pr("lpm_inner", mk(12, 4, 4, 2, 0, mk(11, 8, 4, 4, 1, 0)) > 0);
  pr("queue_inner", mk(12, 4, 4, 2, 0, mk(22, 0, 4, 4, 0, 0)) > 0);
  pr("perf_inner", mk(12, 4, 4, 2, 0, mk(4, 4, 4, 2, 0, 0)) > 0);
  return out;
}

const boot = () => {
  const k = Kernel.create({ ncpus: 2, size: 32 * MiB });
  return { k, p: k.createProcess({ comm: "mim" }) };
};

describe("ARRAY_OF_MAPS and HASH_OF_MAPS", () => {
  it("the outer map holds its inner maps until it is freed", () => {
    const { k, p } = boot();
    const inner = p.bpf(BpfCmd.MapCreate, { mapType: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 4 });
    for (const t of [MapType.ArrayOfMaps, MapType.HashOfMaps]) {
      const outer = p.bpf(BpfCmd.MapCreate, { mapType: t, keySize: 4, valueSize: 4, maxEntries: 4, innerMapFd: inner });
      const a = p.bpf(BpfCmd.MapCreate, { mapType: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 4 });
      const b = p.bpf(BpfCmd.MapCreate, { mapType: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 4 });
      const maps = k.objects.count(ObjKind.Map);
      expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: outer, key: u32(0), value: u32(a), flags: 0 })).toBe(0);
      expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: outer, key: u32(1), value: u32(b), flags: 0 })).toBe(0);
      p.close(a);
      p.close(b);
      expect(k.objects.count(ObjKind.Map)).toBe(maps); // held by the outer map
      // Replacing entry 1 with a releases b.
      expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: outer, key: u32(1), value: u32(inner), flags: 0 })).toBe(0);
      expect(k.objects.count(ObjKind.Map)).toBe(maps - 1);
      p.close(outer); // releases a, and its reference on `inner`
      expect(k.objects.count(ObjKind.Map)).toBe(maps - 3);
    }
    p.close(inner);
    expect(k.objects.count(ObjKind.Map)).toBe(0);
  });

  it("a failed update leaves the map and the references as they were", () => {
    const { k, p } = boot();
    const inner = p.bpf(BpfCmd.MapCreate, { mapType: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 4 });
    const bad = p.bpf(BpfCmd.MapCreate, { mapType: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 5 });
    const outer = p.bpf(BpfCmd.MapCreate, { mapType: MapType.HashOfMaps, keySize: 4, valueSize: 4, maxEntries: 4, innerMapFd: inner });
    expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: outer, key: u32(0), value: u32(inner), flags: 0 })).toBe(0);
    expect(p.bpf(BpfCmd.MapUpdateElem, { mapFd: outer, key: u32(0), value: u32(inner), flags: 1 })).toBe(-Errno.EEXIST);
    p.close(outer);
    p.close(inner);
    p.close(bad);
    expect(k.objects.count(ObjKind.Map)).toBe(0);
  });
});

const probeSrc = fileURLToPath(new URL("./map-in-map-probe.c", import.meta.url));
function buildProbe(): { bin?: string; why?: string } {
  const bin = join(mkdtempSync(join(tmpdir(), "bpfsim-mim-")), "probe");
  const cc = spawnSync("gcc", ["-O1", "-o", bin, probeSrc], { encoding: "utf8" });
  if (cc.error || cc.status !== 0) return { why: `gcc unavailable or failed: ${cc.error?.message ?? cc.stderr}` };
  const run = spawnSync(bin, [], { encoding: "utf8" });
  if (!/^outer_ok 0$/m.test(run.stdout)) return { why: `the kernel refused map-in-map maps (${run.stdout.slice(0, 200) || run.stderr}); needs root` };
  return { bin };
}
const probe = buildProbe();
if (!probe.bin) console.log(`map-in-map kernel probe skipped: ${probe.why}`);

describe.skipIf(!probe.bin)("map-in-map against the kernel", () => {
  it("create, update, lookup, delete and get_next_key give the kernel's results and errno", () => {
    const real = spawnSync(probe.bin!, [], { encoding: "utf8" }).stdout.trim().split("\n");
    const { p } = boot();
    expect(simScript(p)).toEqual(real);
  });
});
