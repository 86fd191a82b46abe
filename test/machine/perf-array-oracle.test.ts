/**
 * BPF_MAP_TYPE_PERF_EVENT_ARRAY against the kernel: the same create, update,
 * lookup and delete calls on Linux (a small C probe, needs gcc, root and
 * bpf()) and on bpfsim must give the same errno.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { BPF_ANY, BPF_F_MMAPABLE, BPF_NOEXIST, BpfCmd, Kernel, MapType, PERF_COUNT_SW_BPF_OUTPUT, PERF_SAMPLE_RAW, PERF_TYPE_SOFTWARE, perfEventOpenFd } from "@bpfsim/core";
import { skipNote } from "./helpers.js";

const probeSrc = fileURLToPath(new URL("./perf-array-probe.c", import.meta.url));

function kernelAnswers(): Map<string, number> | string {
  if (spawnSync("gcc", ["--version"]).status !== 0) return "gcc not found";
  if (process.getuid?.() !== 0) return "not root: bpf() needs CAP_BPF";
  const dir = mkdtempSync(join(tmpdir(), "bpfsim-perf-"));
  try {
    const exe = join(dir, "probe");
    const cc = spawnSync("gcc", ["-O1", "-o", exe, probeSrc], { encoding: "utf8" });
    if (cc.status !== 0) return `probe does not build: ${cc.stderr.split("\n")[0]}`;
    const out = execFileSync(exe, { encoding: "utf8" });
    const m = new Map(out.trim().split("\n").map((l) => l.split(" ")).map(([k, v]) => [k!, Number(v)] as [string, number]));
    if (m.has("perf_event_open")) return `perf_event_open failed: errno ${m.get("perf_event_open")}`;
    if (m.get("create_ok") !== 0) return `bpf(BPF_MAP_CREATE) failed here: errno ${m.get("create_ok")}`;
    return m;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const linux = kernelAnswers();

it.skipIf(skipNote(typeof linux === "string" ? linux : undefined, "perf event array kernel oracle"))("gives the kernel's errno", () => {
  const k = Kernel.create({ ncpus: 2, size: 8 << 20 });
  const p = k.createProcess({ memlockLimit: Infinity });
  const errno = (r: number) => (r < 0 ? -r : 0);
  const create = (ks: number, vs: number, max: number, flags = 0) =>
    errno(p.bpf(BpfCmd.MapCreate, { mapType: MapType.PerfEventArray, keySize: ks, valueSize: vs, maxEntries: max, mapFlags: flags }));
  const u32 = (v: number) => new Uint8Array(new Uint32Array([v]).buffer);
  const ours = new Map<string, number>();
  ours.set("create_ok", create(4, 4, 2));
  ours.set("create_max0", create(4, 4, 0));
  ours.set("create_value8", create(4, 8, 2));
  ours.set("create_key8", create(8, 4, 2));
  ours.set("create_mmapable", create(4, 4, 2, BPF_F_MMAPABLE));
  const fd = p.mapCreate({ mapType: MapType.PerfEventArray, keySize: 4, valueSize: 4, maxEntries: 2 });
  const other = p.mapCreate({ mapType: MapType.PerfEventArray, keySize: 4, valueSize: 4, maxEntries: 2 });
  const ev = perfEventOpenFd(p, { type: PERF_TYPE_SOFTWARE, config: PERF_COUNT_SW_BPF_OUTPUT, sampleType: PERF_SAMPLE_RAW }, -1, 0, 1);
  const upd = (key: number, val: number, flags: number) => errno(p.bpf(BpfCmd.MapUpdateElem, { mapFd: fd, key: u32(key), value: u32(val), flags }));
  ours.set("update_ok", upd(0, ev.fd, BPF_ANY));
  ours.set("update_noexist", upd(1, ev.fd, BPF_NOEXIST));
  ours.set("update_range", upd(2, ev.fd, BPF_ANY));
  ours.set("update_mapfd", upd(1, other, BPF_ANY));
  ours.set("lookup", errno(p.bpf(BpfCmd.MapLookupElem, { mapFd: fd, key: u32(0), value: new Uint8Array(4) })));
  ours.set("delete_ok", errno(p.bpf(BpfCmd.MapDeleteElem, { mapFd: fd, key: u32(0) })));
  ours.set("delete_empty", errno(p.bpf(BpfCmd.MapDeleteElem, { mapFd: fd, key: u32(0) })));
  ours.set("delete_range", errno(p.bpf(BpfCmd.MapDeleteElem, { mapFd: fd, key: u32(5) })));
  expect(Object.fromEntries(ours)).toEqual(Object.fromEntries(linux as Map<string, number>));
});
