import { describe, expect, it } from "vitest";
import { BPF_F_MMAPABLE, BPF_F_RDONLY_PROG, MapType, ProgType, AttachType } from "@bpfsim/core";
import { copyCollectionSpec, CoreReloKind, findGlobal, lineInfoFor, PinType, setGlobal, type CollectionSpec, type ProgramSpec } from "@bpfsim/loader";
import { benchDir, benchObjects, fixturesDir, haveBench, openFile } from "./load-fixture.js";

/**
 * Every fixture parses into the spec libbpf would build: the map and
 * program tables below were taken from libbpf 1.1 (bpf_object__open on the
 * same objects; see libbpf-oracle.test.ts, which re-checks them live).
 */

type MapRow = [name: string, type: number, key: number, value: number, max: number, flags: number];
type ProgRow = [name: string, section: string, type: number, attach: number, insns: number];

function mapRows(spec: CollectionSpec): MapRow[] {
  return Object.values(spec.maps).map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries, m.flags]);
}
function progRows(spec: CollectionSpec): ProgRow[] {
  return Object.values(spec.programs).map((p) => [p.name, p.sectionName, p.type, p.expectedAttachType, p.instructions.length / 8]);
}

const u32 = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset).getUint32(off, true);
const imm = (p: ProgramSpec, i: number) => new DataView(p.instructions.buffer, p.instructions.byteOffset).getInt32(i * 8 + 4, true);
const src = (p: ProgramSpec, i: number) => p.instructions[i * 8 + 1]! >> 4;

describe("fixtures", () => {
  it("maps.bpf.o: one map of each kind", () => {
    const spec = openFile(`${fixturesDir}maps.bpf.o`);
    expect(mapRows(spec)).toEqual([
      ["hash_map", MapType.Hash, 4, 40, 1024, 0],
      ["array_map", MapType.Array, 4, 8, 16, BPF_F_MMAPABLE],
      ["percpu_hash", MapType.PercpuHash, 8, 24, 128, 0],
      ["percpu_array", MapType.PercpuArray, 4, 4, 4, 0],
      ["lru_hash", MapType.LruHash, 8, 8, 256, 2],
      ["lru_percpu_hash", MapType.LruPercpuHash, 4, 8, 64, 0],
      ["lpm", MapType.LpmTrie, 8, 4, 512, 1],
      ["ringbuf", MapType.Ringbuf, 0, 0, 16384, 0],
      ["events", MapType.PerfEventArray, 4, 4, 0, 0],
    ]);
    expect(progRows(spec)).toEqual([["touch_maps", "xdp", ProgType.Xdp, AttachType.Xdp, 88]]);
    expect(spec.maps.lru_hash!.pinning).toBe(PinType.ByName);
    expect(spec.maps.hash_map!.btfValueTypeId).toBeGreaterThan(0);
    const p = spec.programs.touch_maps!;
    expect(p.relocations.map((r) => r.map)).toEqual(Object.keys(spec.maps));
    for (const r of p.relocations) {
      expect(r.kind).toBe("fd");
      expect(p.instructions[r.insnIndex * 8]).toBe(0x18);
      expect(src(p, r.insnIndex)).toBe(1); // BPF_PSEUDO_MAP_FD
    }
    expect(spec.license).toBe("GPL");
  });

  it("globals.bpf.o: .data/.rodata/.bss/.data.custom as array maps named like libbpf", () => {
    const spec = openFile(`${fixturesDir}globals.bpf.o`);
    expect(Object.keys(spec.maps)).toEqual([".data", ".rodata", ".data.custom", ".bss"]);
    expect(mapRows(spec)).toEqual([
      ["globals.data", MapType.Array, 4, 24, 1, BPF_F_MMAPABLE],
      ["globals.rodata", MapType.Array, 4, 33, 1, BPF_F_RDONLY_PROG | BPF_F_MMAPABLE],
      [".data.custom", MapType.Array, 4, 4, 1, BPF_F_MMAPABLE],
      ["globals.bss", MapType.Array, 4, 24, 1, BPF_F_MMAPABLE],
    ]);
    expect(spec.maps[".rodata"]!.freeze).toBe(true);
    expect(spec.maps[".data"]!.freeze).toBe(false);
    const data = spec.maps[".data"]!.contents[0]!;
    expect(data.kind).toBe("value");
    if (data.kind !== "value") return;
    // counter = 7 lives at the offset BTF gives for it.
    const btf = spec.btf!;
    const ds = btf.types[spec.maps[".data"]!.btfValueTypeId]!;
    expect(ds.kind === 15 && ds.name === ".data").toBe(true);
    if (ds.kind !== 15) return;
    const counterVar = ds.vars.find((v) => btf.types[v.type]!.name === "counter")!;
    expect(u32(data.value, counterVar.offset)).toBe(7);
    const ro = spec.maps[".rodata"]!.contents[0]!;
    if (ro.kind === "value") expect(ro.value.some((b) => b === 42)).toBe(true);
    const bss = spec.maps[".bss"]!.contents[0]!;
    if (bss.kind === "value") expect(bss.value.every((b) => b === 0)).toBe(true);
    const p = spec.programs.use_globals!;
    expect(p.type).toBe(ProgType.SocketFilter);
    const kinds = new Set(p.relocations.map((r) => `${r.map}:${r.kind}`));
    expect(kinds).toEqual(new Set([".bss:value", ".data:value", ".data.custom:value", ".rodata:value"]));
    for (const r of p.relocations) {
      expect(src(p, r.insnIndex)).toBe(2); // BPF_PSEUDO_MAP_VALUE
      expect(imm(p, r.insnIndex + 1)).toBe(r.offset);
      expect(r.offset).toBeLessThan(spec.maps[r.map]!.valueSize);
    }
    expect(spec.version).toBe(0x060c00);
    expect(p.kernVersion).toBe(0x060c00);
  });

  it("legacy_maps.bpf.o: struct bpf_map_def in SEC(\"maps\")", () => {
    const spec = openFile(`${fixturesDir}legacy_maps.bpf.o`);
    expect(mapRows(spec)).toEqual([
      ["legacy_hash", MapType.Hash, 4, 8, 100, 0],
      ["legacy_array", MapType.Array, 4, 16, 2, 0],
    ]);
    expect(spec.programs.legacy_user!.relocations.map((r) => r.map)).toEqual(["legacy_hash", "legacy_array"]);
  });

  it("map_in_map.bpf.o: inner map templates and static slots", () => {
    const spec = openFile(`${fixturesDir}map_in_map.bpf.o`);
    expect(mapRows(spec)).toEqual([
      ["inner_a", MapType.Array, 4, 8, 8, 0],
      ["inner_b", MapType.Array, 4, 8, 8, 0],
      ["outer_array", MapType.ArrayOfMaps, 4, 4, 4, 0],
      ["outer_hash", MapType.HashOfMaps, 4, 4, 16, 0],
    ]);
    const outer = spec.maps.outer_array!;
    expect(outer.innerMap).toMatchObject({ name: "outer_array.inner", type: MapType.Array, keySize: 4, valueSize: 8, maxEntries: 8 });
    expect(outer.contents).toEqual([
      { kind: "map", index: 0, map: "inner_a" },
      { kind: "map", index: 2, map: "inner_b" },
    ]);
    expect(spec.maps.outer_hash!.innerMap).toMatchObject({ type: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 32 });
    expect(spec.maps.outer_hash!.contents).toEqual([]);
    expect(spec.programs.lookup_inner!.attachTo).toBe("syscalls/sys_enter_getpid");
  });

  it("tail_calls.bpf.o: prog array initialised with programs", () => {
    const spec = openFile(`${fixturesDir}tail_calls.bpf.o`);
    expect(mapRows(spec)).toEqual([["jmp_table", MapType.ProgArray, 4, 4, 4, 0]]);
    expect(spec.maps.jmp_table!.contents).toEqual([
      { kind: "program", index: 1, program: "stage_one" },
      { kind: "program", index: 3, program: "stage_two" },
    ]);
    expect(progRows(spec)).toEqual([
      ["stage_one", "tc", ProgType.SchedCls, 0, 6],
      ["stage_two", "tc", ProgType.SchedCls, 0, 2],
      ["entry", "classifier", ProgType.SchedCls, 0, 7],
    ]);
  });

  it("spin_lock.bpf.o: the bpf_spin_lock offset comes from the value's BTF", () => {
    const spec = openFile(`${fixturesDir}spin_lock.bpf.o`);
    expect(mapRows(spec)).toEqual([["counters", MapType.Hash, 4, 24, 64, 0]]);
    expect(spec.maps.counters!.spinLockOff).toBe(8);
  });

  it("subprogs.bpf.o: used subprograms appended once per program, calls fixed up", () => {
    const spec = openFile(`${fixturesDir}subprogs.bpf.o`);
    const a = spec.programs.calls_a!;
    const b = spec.programs.calls_b!;
    expect(a.instructions.length / 8).toBe(48);
    expect(b.instructions.length / 8).toBe(46);
    expect(a.subprograms.map((s) => s.name)).toEqual(["sum_squares", "square", "add_to_acc"]);
    expect(b.subprograms.map((s) => s.name)).toEqual(["loop_cb", "square", "add_to_acc"]);
    for (const p of [a, b]) {
      const starts = new Set([0, ...p.subprograms.map((s) => s.insnOff)]);
      // func_info has one record per function, at its new position.
      expect(p.funcInfo.map((f) => f.insnOff)).toEqual([...starts]);
      let calls = 0;
      for (let i = 0; i < p.instructions.length / 8; i++) {
        const op = p.instructions[i * 8];
        if ((op === 0x85 && src(p, i) === 1) || (op === 0x18 && src(p, i) === 4)) {
          calls++;
          expect(starts.has(i + imm(p, i) + 1)).toBe(true);
        }
        if (op === 0x18) i++;
      }
      expect(calls).toBeGreaterThanOrEqual(2);
      // Line info is sorted and starts at the first instruction.
      expect(p.lineInfo[0]!.insnOff).toBe(0);
      const offs = p.lineInfo.map((l) => l.insnOff);
      expect(offs).toEqual([...offs].sort((x, y) => x - y));
    }
    // The bpf_loop callback address is a BPF_PSEUDO_FUNC lddw.
    expect([...Array(b.instructions.length / 8).keys()].some((i) => b.instructions[i * 8] === 0x18 && src(b, i) === 4)).toBe(true);
    expect(a.lineInfo.some((l) => l.lineText.includes("sum_squares(") && l.fileName.endsWith("subprogs.bpf.c"))).toBe(true);
  });

  it("sections.bpf.o: libbpf section-name conventions", () => {
    const spec = openFile(`${fixturesDir}sections.bpf.o`);
    const got = Object.values(spec.programs).map((p) => [p.sectionName, p.type, p.expectedAttachType, p.attachTo, p.flags]);
    expect(got).toEqual([
      ["socket", ProgType.SocketFilter, 0, "", 0],
      ["kprobe/do_unlinkat", ProgType.Kprobe, 0, "do_unlinkat", 0],
      ["kretprobe/do_unlinkat", ProgType.Kprobe, 0, "do_unlinkat", 0],
      ["uprobe/usr/bin/true:main", ProgType.Kprobe, 0, "usr/bin/true:main", 0],
      ["tracepoint/syscalls/sys_enter_openat", ProgType.Tracepoint, 0, "syscalls/sys_enter_openat", 0],
      ["tp/sched/sched_switch", ProgType.Tracepoint, 0, "sched/sched_switch", 0],
      ["raw_tp/sys_enter", ProgType.RawTracepoint, 0, "sys_enter", 0],
      ["raw_tracepoint/sched_switch", ProgType.RawTracepoint, 0, "sched_switch", 0],
      ["tp_btf/sched_switch", ProgType.Tracing, AttachType.TraceRawTp, "sched_switch", 0],
      ["fentry/do_unlinkat", ProgType.Tracing, AttachType.TraceFentry, "do_unlinkat", 0],
      ["fexit/do_unlinkat", ProgType.Tracing, AttachType.TraceFexit, "do_unlinkat", 0],
      ["perf_event", ProgType.PerfEvent, 0, "", 0],
      ["tc", ProgType.SchedCls, 0, "", 0],
      ["classifier", ProgType.SchedCls, 0, "", 0],
      ["tcx/ingress", ProgType.SchedCls, AttachType.TcxIngress, "", 0],
      ["tcx/egress", ProgType.SchedCls, AttachType.TcxEgress, "", 0],
      ["xdp", ProgType.Xdp, AttachType.Xdp, "", 0],
      ["xdp.frags", ProgType.Xdp, AttachType.Xdp, "", 1 << 5],
      ["cgroup_skb/ingress", ProgType.CgroupSkb, AttachType.CgroupInetIngress, "", 0],
      ["cgroup_skb/egress", ProgType.CgroupSkb, AttachType.CgroupInetEgress, "", 0],
      ["cgroup/connect4", ProgType.CgroupSockAddr, AttachType.CgroupInet4Connect, "", 0],
      ["cgroup/sock_create", ProgType.CgroupSock, AttachType.CgroupInetSockCreate, "", 0],
      ["sk_skb/stream_verdict", ProgType.SkSkb, AttachType.SkSkbStreamVerdict, "", 0],
      ["sk_msg", ProgType.SkMsg, AttachType.SkMsgVerdict, "", 0],
      ["lsm/file_open", ProgType.Lsm, AttachType.LsmMac, "file_open", 0],
      ["syscall", ProgType.Syscall, 0, "", 1 << 4],
      ["struct_ops/my_op", ProgType.StructOps, 0, "my_op", 0],
      ["not_a_known_section", ProgType.Unspec, 0, "", 0],
    ]);
    expect(spec.license).toBe("Dual BSD/GPL");
  });

  it("core_externs.bpf.o: CO-RE records kept per program, __kconfig externs in a .kconfig map", () => {
    const spec = openFile(`${fixturesDir}core_externs.bpf.o`);
    expect(mapRows(spec)).toEqual([["core_ex.kconfig", MapType.Array, 4, 8, 1, BPF_F_RDONLY_PROG | BPF_F_MMAPABLE]]);
    expect(spec.maps[".kconfig"]!.freeze).toBe(true);
    expect(spec.externs).toEqual([
      // libbpf's layout: same alignment and size, so by name.
      { name: "LINUX_KERNEL_VERSION", section: ".kconfig", offset: 4, size: 4 },
      { name: "CONFIG_HZ", section: ".kconfig", offset: 0, size: 4 },
    ]);
    const p = spec.programs.read_task!;
    expect(p.attachTo).toBe("wake_up_new_task");
    expect(p.relocations).toEqual([
      { insnIndex: 12, map: ".kconfig", kind: "value", offset: 4 },
      { insnIndex: 20, map: ".kconfig", kind: "value", offset: 0 },
    ]);
    expect(p.externs).toEqual([]);
    const kinds = p.coreRelos.map((r) => [r.kind, r.accessStr]);
    expect(kinds).toContainEqual([CoreReloKind.FieldByteOffset, "0:1"]); // t->tgid
    expect(kinds).toContainEqual([CoreReloKind.FieldExists, "0:2"]); // t->comm
    expect(kinds).toContainEqual([CoreReloKind.TypeSize, "0"]);
    for (const r of p.coreRelos) expect(spec.btf!.types[r.typeId]!.name).toBe("task_like");
    // The values are the user's to give (bpfsim has no kernel config to read).
    setGlobal(spec, "LINUX_KERNEL_VERSION", new Uint8Array([0, 0x12, 6, 0]));
    const kc = spec.maps[".kconfig"]!.contents[0]!;
    if (kc.kind === "value") expect(u32(kc.value, 4)).toBe(0x061200);
  });

  it("a spec copy is deep: editing it leaves the original alone", () => {
    const spec = openFile(`${fixturesDir}globals.bpf.o`);
    const copy = copyCollectionSpec(spec);
    copy.maps[".data"]!.maxEntries = 9;
    const v = copy.maps[".data"]!.contents[0]!;
    if (v.kind === "value") v.value[0] = 0xff;
    copy.programs.use_globals!.instructions[0] = 0;
    delete copy.maps[".bss"];
    expect(spec.maps[".data"]!.maxEntries).toBe(1);
    const o = spec.maps[".data"]!.contents[0]!;
    if (o.kind === "value") expect(o.value[0]).not.toBe(0xff);
    expect(spec.programs.use_globals!.instructions[0]).toBe(0x18);
    expect(spec.maps[".bss"]).toBeDefined();
  });
});

describe.skipIf(!haveBench)("shared bench objects", () => {
  if (!haveBench) console.log("skipped: the shared bench objects are not next to the repository");
  it("each bench object opens with the maps and programs libbpf sees", () => {
    const rows = Object.fromEntries(benchObjects.map((f) => [f, { maps: mapRows(openFile(benchDir + f)), progs: progRows(openFile(benchDir + f)) }]));
    expect(rows["hash_lookup.bpf.o"]).toEqual({ maps: [["hmap", 1, 4, 8, 1024, 0]], progs: [["hash_lookup", "xdp", 6, 37, 27]] });
    expect(rows["lpm_route.bpf.o"]!.maps).toEqual([["routes", 11, 8, 4, 4096, 1]]);
    expect(rows["percpu_counter.bpf.o"]!.maps).toEqual([["pcpu_cnt", 6, 4, 8, 1, 0], ["shared_cnt", 2, 4, 8, 1, 0]]);
    expect(rows["perf_output.bpf.o"]!.maps).toEqual([["stats", 2, 4, 8, 2, 0], ["events", 4, 4, 4, 0, 0]]);
    expect(rows["ringbuf_output.bpf.o"]!.maps).toEqual([["rb", 27, 0, 0, 268435456, 0], ["stats", 2, 4, 8, 2, 0]]);
    expect(rows["ringbuf_output.bpf.o"]!.progs).toEqual([["ringbuf_output", "xdp", 6, 37, 51], ["ringbuf_reserve", "xdp", 6, 37, 54]]);
    expect(rows["alu_loop.bpf.o"]).toEqual({ maps: [], progs: [["alu_loop", "xdp", 6, 37, 35]] });
    expect(rows["empty.bpf.o"]).toEqual({ maps: [], progs: [["empty", "xdp", 6, 37, 2]] });
    expect(rows["xdp_parse.bpf.o"]!.maps).toEqual([["port_cnt", 1, 4, 8, 1024, 0]]);
  });
});

describe("editing globals before load", () => {
  it("finds and rewrites a const volatile in .rodata", () => {
    const spec = openFile(`${fixturesDir}globals.bpf.o`);
    expect(findGlobal(spec, "threshold")).toMatchObject({ map: ".rodata", size: 4 });
    expect(findGlobal(spec, "hits")).toMatchObject({ map: ".bss", size: 8 });
    setGlobal(spec, "threshold", new Uint8Array([100, 0, 0, 0]));
    const g = findGlobal(spec, "threshold");
    const ro = spec.maps[".rodata"]!.contents[0]!;
    if (ro.kind === "value") expect(u32(ro.value, g.offset)).toBe(100);
    expect(() => setGlobal(spec, "threshold", new Uint8Array(8))).toThrow(/EINVAL/);
    expect(() => findGlobal(spec, "nope")).toThrow(/ENOENT/);
  });

  it("maps an instruction back to its source line", () => {
    const spec = openFile(`${fixturesDir}subprogs.bpf.o`);
    const p = spec.programs.calls_a!;
    const sub = p.subprograms.find((s) => s.name === "square")!;
    const li = lineInfoFor(p, sub.insnOff + 1)!;
    expect(li.lineText).toMatch(/return x \* x;/);
    expect(lineInfoFor(p, 0)!.insnOff).toBe(0);
  });
});
