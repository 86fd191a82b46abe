import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BpfError } from "@bpfsim/core";
import { openObject, parseBtf, parseBtfExt, parseElf } from "@bpfsim/loader";
import { fixtureObjects, fixturesDir, readObject } from "./load-fixture.js";

/**
 * The parsers meet untrusted bytes. Fed garbage, random mutations and
 * truncations of real objects they must return a result or throw a BpfError
 * (never a RangeError, TypeError or stack overflow) and must not hang.
 */

const objects = fixtureObjects.map((f) => readObject(fixturesDir + f));

/** Runs `fn`; passes if it returns or throws a BpfError with an errno. */
function resultOrBpfError(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof BpfError)) throw e;
    expect(e.errno).toBeGreaterThan(0);
  }
}

const mutation = fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) });

function mutate(bytes: Uint8Array, edits: { at: number; value: number }[], lo = 0, hi = bytes.length): Uint8Array {
  const out = bytes.slice();
  for (const e of edits) out[lo + (e.at % Math.max(1, hi - lo))] = e.value;
  return out;
}

describe("parsers fed bad input", () => {
  it("random bytes", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 4096 }), (b) => resultOrBpfError(() => openObject(b))));
  });

  it("a valid ELF64 identification followed by garbage", () => {
    const ident = [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 48, maxLength: 2048 }), (rest) => {
        const b = new Uint8Array([...ident, ...rest]);
        b[18] = 247; // EM_BPF, so parsing goes past the header checks
        b[19] = 0;
        resultOrBpfError(() => openObject(b));
      }),
    );
  });

  it("random byte mutations anywhere in real objects", () => {
    fc.assert(
      fc.property(fc.nat(objects.length - 1), fc.array(mutation, { minLength: 1, maxLength: 16 }), (i, edits) =>
        resultOrBpfError(() => openObject(mutate(objects[i]!, edits), { name: "fuzz" })),
      ),
      { numRuns: 300 },
    );
  });

  it("mutations aimed at the headers, section table, BTF, maps and relocations", () => {
    const targets = objects.flatMap((bytes) => {
      const elf = parseElf(bytes);
      const shoff = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(40, true));
      const ranges: [number, number][] = [[0, 64], [shoff, bytes.length]];
      for (const s of elf.sections) {
        if ([".BTF", ".BTF.ext", ".maps", "maps", "license"].includes(s.name) || s.name.startsWith(".rel") || s.name === ".symtab") {
          ranges.push([s.offset, s.offset + s.size]);
        }
      }
      return ranges.filter(([lo, hi]) => hi > lo).map((r) => ({ bytes, r }));
    });
    fc.assert(
      fc.property(fc.nat(targets.length - 1), fc.array(mutation, { minLength: 1, maxLength: 8 }), (t, edits) => {
        const { bytes, r } = targets[t]!;
        resultOrBpfError(() => openObject(mutate(bytes, edits, r[0], r[1]), { name: "fuzz" }));
      }),
      { numRuns: 500 },
    );
  });

  it("every truncation of a real object", () => {
    const b = objects[fixtureObjects.indexOf("subprogs.bpf.o")]!;
    for (let len = 0; len < b.length; len += 7) resultOrBpfError(() => openObject(b.subarray(0, len)));
  });

  it("BTF and .BTF.ext sections mutated and truncated on their own", () => {
    const secs = objects.map((bytes) => {
      const elf = parseElf(bytes);
      return { btf: elf.sectionByName(".BTF")!.data, ext: elf.sectionByName(".BTF.ext")!.data };
    });
    fc.assert(
      fc.property(fc.nat(secs.length - 1), fc.array(mutation, { maxLength: 6 }), fc.nat(), (i, edits, cut) => {
        const { btf, ext } = secs[i]!;
        const b = mutate(btf, edits).subarray(0, btf.length - (cut % 16));
        resultOrBpfError(() => {
          const parsed = parseBtf(b);
          parseBtfExt(mutate(ext, edits).subarray(0, ext.length - (cut % 16)), parsed);
        });
      }),
      { numRuns: 300 },
    );
  });

  it("rejects big-endian and non-BPF objects by name", () => {
    const b = objects[0]!.slice();
    b[5] = 2;
    expect(() => openObject(b)).toThrow(/big-endian/);
    const c = objects[0]!.slice();
    c[18] = 62; // EM_X86_64
    expect(() => openObject(c)).toThrow(/e_machine 62 is not EM_BPF/);
    try {
      openObject(c);
    } catch (e) {
      expect((e as BpfError).code).toBe("EINVAL");
    }
  });
});
