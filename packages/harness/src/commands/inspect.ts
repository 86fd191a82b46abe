/**
 * `bpfsim inspect <object.o> [--json] [--lines] [--btf]`: what an eBPF object holds,
 * as `openObject` reads it (the same view libbpf has after opening it):
 * maps with type, key/value size, max_entries and flags; programs with
 * section, type, instruction count and attach point. `--lines` adds each
 * program's BTF line info (instruction -> file:line and the source text);
 * `--json` prints the listing as one JSON document; `--btf` prints the object's
 * BTF as `bpftool btf dump file <obj> format raw` does (after libbpf's
 * DATASEC fix-ups, so section sizes and variable offsets are filled in).
 */
import { readFileSync } from "node:fs";
import {
  attachTypeName,
  btfDumpRaw,
  mapTypeName,
  objectNameFromPath,
  openObject,
  progTypeName,
  type CollectionSpec,
  type MapSpec,
} from "@bpfsim/loader";
import { parseArgs, UsageError, type Command } from "../cli.js";

const hex = (n: number) => `0x${n.toString(16)}`;

function mapLine(key: string, m: MapSpec): string {
  const parts = [
    `${m.name}: ${mapTypeName(m.type)}`,
    `key ${m.keySize}B`,
    `value ${m.valueSize}B`,
    `max_entries ${m.maxEntries}`,
    `flags ${hex(m.flags)}`,
  ];
  if (key !== m.name) parts.push(`section ${key}`);
  if (m.spinLockOff >= 0) parts.push(`spin_lock_off ${m.spinLockOff}`);
  if (m.pinning) parts.push("pinned by name");
  if (m.freeze) parts.push("frozen");
  if (m.innerMap) parts.push(`inner ${mapTypeName(m.innerMap.type)} key ${m.innerMap.keySize}B value ${m.innerMap.valueSize}B max_entries ${m.innerMap.maxEntries}`);
  const slots = m.contents.filter((c) => c.kind !== "value").map((c) => (c.kind === "program" ? `[${c.index}]=${c.program}` : c.kind === "map" ? `[${c.index}]=${c.map}` : ""));
  if (slots.length > 0) parts.push(`init ${slots.join(" ")}`);
  return `  ${parts.join("  ")}`;
}

/** The listing as text lines. */
export function inspectLines(spec: CollectionSpec, withLines = false): string[] {
  const out: string[] = [];
  out.push(`license "${spec.license}"${spec.version ? `  version ${hex(spec.version)}` : ""}`);
  out.push(`maps: ${Object.keys(spec.maps).length}`);
  for (const [key, m] of Object.entries(spec.maps)) out.push(mapLine(key, m));
  out.push(`programs: ${Object.keys(spec.programs).length}`);
  for (const p of Object.values(spec.programs)) {
    const parts = [`${p.name}: ${progTypeName(p.type)}`, `section ${p.sectionName}`, `insns ${p.instructions.length / 8}`];
    if (p.expectedAttachType) parts.push(`expected_attach ${attachTypeName(p.expectedAttachType)}`);
    if (p.attachTo) parts.push(`attach ${p.attachTo}`);
    if (p.subprograms.length) parts.push(`calls ${p.subprograms.map((s) => s.name).join(",")}`);
    if (p.relocations.length) parts.push(`maps ${[...new Set(p.relocations.map((r) => r.map))].join(",")}`);
    out.push(`  ${parts.join("  ")}`);
    if (withLines) {
      for (const l of p.lineInfo) out.push(`    ${String(l.insnOff).padStart(5)}: ${l.fileName}:${l.line}:${l.col}  ${l.lineText.trim()}`);
    }
  }
  if (spec.externs.length) out.push(`externs: ${spec.externs.map((e) => `${e.name}${e.section ? ` (${e.section})` : ""}`).join(", ")}`);
  return out;
}

function toJson(spec: CollectionSpec): unknown {
  return {
    license: spec.license,
    version: spec.version,
    maps: Object.entries(spec.maps).map(([key, m]) => ({
      key,
      name: m.name,
      type: mapTypeName(m.type),
      keySize: m.keySize,
      valueSize: m.valueSize,
      maxEntries: m.maxEntries,
      flags: m.flags,
      spinLockOff: m.spinLockOff,
    })),
    programs: Object.values(spec.programs).map((p) => ({
      name: p.name,
      section: p.sectionName,
      type: progTypeName(p.type),
      expectedAttachType: p.expectedAttachType ? attachTypeName(p.expectedAttachType) : null,
      attachTo: p.attachTo,
      insns: p.instructions.length / 8,
      subprograms: p.subprograms.map((s) => s.name),
    })),
    externs: spec.externs,
  };
}

export const inspectCommand: Command = {
  name: "inspect",
  summary: "list the maps and programs in an eBPF object file",
  usage: "inspect <object.o> [--json] [--lines] [--btf]",
  async run(ctx) {
    const args = parseArgs(ctx.argv, [], ["--json", "--lines", "--btf"]);
    if (args.positionals.length !== 1) throw new UsageError("give exactly one object file");
    const path = args.positionals[0]!;
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(path));
    } catch (e) {
      throw new Error(`cannot read '${path}': ${(e as Error).message}`);
    }
    const spec = openObject(bytes, { name: objectNameFromPath(path) });
    if (args.options.has("--btf")) {
      if (!spec.btf) throw new Error(`'${path}' has no BTF (build with -g)`);
      for (const line of btfDumpRaw(spec.btf)) ctx.out(line);
      return 0;
    }
    if (args.options.has("--json")) ctx.out(JSON.stringify(toJson(spec), null, 2));
    else for (const line of inspectLines(spec, args.options.has("--lines"))) ctx.out(line);
    return 0;
  },
};
