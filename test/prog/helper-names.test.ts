/** Helper ids and names against the installed UAPI header (`__BPF_FUNC_MAPPER`). */
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { HelperId, helperName, helperNames, helperProtos } from "@bpfsim/core";

const header = "/usr/include/linux/bpf.h";
const missing = existsSync(header) ? null : `${header} not installed`;
if (missing) console.log(`helper-names: header comparison skipped: ${missing}`);

describe("helper ids", () => {
  it.skipIf(!!missing)("match enum bpf_func_id in the installed header", () => {
    const text = readFileSync(header, "utf8");
    const start = text.indexOf("#define __BPF_FUNC_MAPPER(FN)");
    const block = text.slice(start, text.indexOf("\n\n", start));
    const names = [...block.matchAll(/FN\((\w+)/g)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(200);
    // The header may be older or newer than the table: compare what both have.
    const n = Math.min(names.length, helperNames.length);
    expect(helperNames.slice(0, n)).toEqual(names.slice(0, n));
  });
  it("HelperId, the name table and the prototypes agree", () => {
    for (const [name, id] of Object.entries(HelperId)) expect(helperNames[id]).toBe(name);
    for (const p of helperProtos) if (p) expect(helperName(p.id)).toBe(`bpf_${p.name}`);
    expect(helperName(100000)).toBe("#100000");
  });
});
