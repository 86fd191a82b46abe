import { BpfError } from "@bpfsim/core";
import { BtfKind } from "../btf/btf-types.js";
import type { CollectionSpec, LineInfo, ProgramSpec } from "./spec-types.js";

/**
 * Editing a spec before load, the way skeletons are used: find a global
 * variable (`.data`, `.rodata`, `.bss`, `.data.*`...) by name through BTF and
 * rewrite its initial value, e.g. set a `const volatile` configuration knob
 * that the verifier will then see as a constant, or supply a `__kconfig`
 * extern's value (LINUX_KERNEL_VERSION, CONFIG_*), which bpfsim cannot read
 * from a kernel.
 *
 * Context: user space, any thread. Changes only the spec passed in.
 */

export interface GlobalVar {
  /** Key of the global data map in `spec.maps` (the section name). */
  map: string;
  offset: number;
  size: number;
}

/** Where global `name` lives; ENOENT if no global data section declares it. */
export function findGlobal(spec: CollectionSpec, name: string): GlobalVar {
  const btf = spec.btf;
  if (btf) {
    for (const [key, m] of Object.entries(spec.maps)) {
      if (m.origin !== "data" && m.origin !== "rodata" && m.origin !== "bss" && m.origin !== "kconfig") continue;
      const ds = btf.types[m.btfValueTypeId];
      if (ds?.kind !== BtfKind.Datasec) continue;
      for (const vi of ds.vars) {
        if (btf.types[vi.type]?.name === name) return { map: key, offset: vi.offset, size: vi.size };
      }
    }
  }
  throw new BpfError("ENOENT", `global variable '${name}' not found`);
}

/** Overwrites the initial value of global `name`; the bytes must be its exact size. */
export function setGlobal(spec: CollectionSpec, name: string, bytes: Uint8Array): void {
  const g = findGlobal(spec, name);
  if (bytes.length !== g.size) throw new BpfError("EINVAL", `global '${name}' is ${g.size} bytes, got ${bytes.length}`);
  const c = spec.maps[g.map]!.contents.find((x) => x.kind === "value");
  if (!c || c.kind !== "value" || g.offset + g.size > c.value.length) {
    throw new BpfError("EINVAL", `global '${name}': map '${g.map}' has no initial value to edit`);
  }
  c.value.set(bytes, g.offset);
}

/**
 * The source line an instruction belongs to: the last line-info record at or
 * before it (records are sorted by instruction). undefined without BTF.
 */
export function lineInfoFor(prog: ProgramSpec, insnIndex: number): LineInfo | undefined {
  let lo = 0;
  let hi = prog.lineInfo.length - 1;
  let found: LineInfo | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const li = prog.lineInfo[mid]!;
    if (li.insnOff <= insnIndex) {
      found = li;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}
