/**
 * Map helpers: r1 holds the map's header offset (what PROG_LOAD resolved the
 * map-fd lddw to), keys and values are arena pointers. Lookups take no lock
 * (the map types guarantee readers see whole elements); updates and deletes
 * use the map's own fine-grained locks.
 *
 * Who may call: program on a CPU.
 */
import type { CpuContext, HelperImpl } from "../../exec/engine.js";
import { ProgramFault } from "../../exec/engine.js";
import { Errno } from "../../errno.js";
import { err, helperEnv, needMem, type OpenMap } from "../helper-env.js";

/** The map r1 points at; a pointer to no map stops the program (the verifier would have refused it). */
export function mapArg(cpu: CpuContext, r1: bigint, what: string): OpenMap {
  const m = helperEnv(cpu).mapAt(Number(BigInt.asUintN(64, r1)));
  if (!m) throw new ProgramFault(-1, `${what}: r1 is not a map`);
  return m;
}

function keyArg(cpu: CpuContext, m: OpenMap, r: bigint, what: string): number {
  return needMem(cpu.arena, r, m.view.keySize, `${what} key`);
}

export const mapLookupElem: HelperImpl = (cpu, r1, r2) => {
  const m = mapArg(cpu, r1, "bpf_map_lookup_elem");
  if (!m.impl.lookupElem) return 0n;
  return BigInt(m.impl.lookupElem(keyArg(cpu, m, r2, "bpf_map_lookup_elem"), cpu.cpu));
};

export const mapUpdateElem: HelperImpl = (cpu, r1, r2, r3, r4) => {
  const m = mapArg(cpu, r1, "bpf_map_update_elem");
  if (!m.impl.updateElem) return err(Errno.EINVAL);
  const key = keyArg(cpu, m, r2, "bpf_map_update_elem");
  const value = needMem(cpu.arena, r3, m.view.valueSize, "bpf_map_update_elem value");
  // flags is a u64 in Linux; anything above the known bits is -EINVAL there too.
  if (r4 > 0xffffffffn) return err(Errno.EINVAL);
  return BigInt.asUintN(64, BigInt(m.impl.updateElem(key, value, Number(r4), cpu.cpu)));
};

export const mapDeleteElem: HelperImpl = (cpu, r1, r2) => {
  const m = mapArg(cpu, r1, "bpf_map_delete_elem");
  if (!m.impl.deleteElem) return err(Errno.EINVAL);
  return BigInt.asUintN(64, BigInt(m.impl.deleteElem(keyArg(cpu, m, r2, "bpf_map_delete_elem"), cpu.cpu)));
};

/** bpf_map_lookup_percpu_elem(map, key, cpu): NULL for a CPU past the possible ones. */
export const mapLookupPercpuElem: HelperImpl = (cpu, r1, r2, r3) => {
  const m = mapArg(cpu, r1, "bpf_map_lookup_percpu_elem");
  const key = keyArg(cpu, m, r2, "bpf_map_lookup_percpu_elem");
  const target = BigInt.asUintN(32, r3);
  if (target >= BigInt(helperEnv(cpu).ncpus) || !m.impl.lookupPercpuElem) return 0n;
  return BigInt(m.impl.lookupPercpuElem(key, Number(target)));
};
