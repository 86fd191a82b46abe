import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { BpfError, encodeProgram } from "@bpfsim/core";
import { validInsn } from "../../../../test/conformance/arbitraries.js";
import { assemble, assembleInsns } from "./assembler.js";
import { disassemble, disassembleToSource, formatInsn, formatListing } from "./disassembler.js";
import { parseDataFile, dataFileProgram } from "./data-file.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("assembler", () => {
  it("encodes the corpus syntax", () => {
    const b = assemble(`
      mov32 %r0, 1          # comment
      add %r0, -3
      lddw %r1, 0x1122334455667788
      ldxw %r2, [%r1+0x10]
      stxdw [%r10-8], %r2
      lock fetch add32 [%r10-8], %r1
      jsgt32 %r0, %r1, done
      call 5
      done:
      exit
    `);
    expect(hex(b)).toBe(
      [
        "b400000001000000",
        "07000000fdffffff",
        "1801000088776655" + "0000000044332211",
        "6112100000000000",
        "7b2af8ff00000000",
        "c31af8ff01000000",
        "6e10010000000000",
        "8500000005000000",
        "9500000000000000",
      ].join(""),
    );
  });

  it("resolves labels backwards and forwards, the implicit exit label and numeric offsets", () => {
    const is = assembleInsns("top:\nja +1\nja top\njeq %r1, 0, exit\nja32 top\nexit\ncall local top\nlddw %r1, func top");
    expect(is.map((i) => (i.code === 0x06 || i.code === 0x85 || i.code === 0x18 ? i.imm : i.off))).toEqual([1, -2, 1, -4, 0, -6, -7]);
  });

  it("assembles lddw pseudo forms", () => {
    const is = assembleInsns("lddw %r1, map_fd 3\nlddw %r2, map_value 4, 16\nlddw %r3, map_idx 0\nlddw %r4, map_idx_value 1, 8\nlddw %r5, btf_id 9");
    expect(is.map((i) => [i.src, i.imm, i.nextImm])).toEqual([[1, 3, 0], [2, 4, 16], [5, 0, 0], [6, 1, 8], [3, 9, 0]]);
  });

  it("reports bad input with the line number", () => {
    const bad = ["mov %r11, 1", "frob %r1", "add %r1", "jeq %r1, 0, nowhere", "add %r1, 0x100000000", "ldxw %r1, %r2", "mov %r1, 1\nmov %r1, 1\nl:\nl:"];
    for (const src of bad) {
      expect(() => assemble(src), src).toThrow(BpfError);
    }
    expect(() => assemble("exit\nfrob")).toThrow(/line 2/);
  });

  it("never throws anything but BpfError on garbage", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), fc.constantFrom("", "mov ", "lddw %r1, ", "lock ", "jeq %r1, ", "ldxw %r0, ", "r1 ", "w2 = ", "if r1 ", "*(u32 *)(r1 ", "lock *(u64 *)(", "r0 = *(", "r1 = map[", "goto ", "call pc"), (s, prefix) => {
        try {
          assemble(prefix + s);
        } catch (e) {
          expect(e).toBeInstanceOf(BpfError);
        }
      }),
    );
  });
});

describe("disassembler", () => {
  it("round trips bytes -> text -> bytes for every valid instruction", () => {
    fc.assert(
      fc.property(fc.array(validInsn, { minLength: 1, maxLength: 20 }), (is) => {
        const bytes = encodeProgram(is);
        const text = disassembleToSource(bytes);
        expect(hex(assemble(text)), text).toBe(hex(bytes));
      }),
    );
  });

  it("prints llvm-objdump syntax", () => {
    const lines = disassemble(
      assemble(
        "ldxw %r3, [%r1+0]\nsub %r2, %r3\nmov %r1, -1\nlsh %r2, 32\nlddw %r3, 0x9e3779b97f4a7c15\njeq %r1, 999, +1\nja -21\nlock add [%r0+0], %r1\nbe16 %r1\nmov32 %r1, %r2\njgt32 %r1, 5, +2\nexit",
      ),
      "llvm",
    ).map((l) => l.text);
    expect(lines).toEqual([
      "r3 = *(u32 *)(r1 + 0)",
      "r2 -= r3",
      "r1 = -1",
      "r2 <<= 32",
      "r3 = -7046029254386353131 ll",
      "if r1 == 999 goto +1",
      "goto -21",
      "lock *(u64 *)(r0 + 0) += r1",
      "r1 = be16 r1",
      "w1 = w2",
      "if w1 > 5 goto +2",
      "exit",
    ]);
  });

  it("round trips bytes -> llvm text -> bytes for every valid instruction", () => {
    fc.assert(
      fc.property(fc.array(validInsn, { minLength: 1, maxLength: 20 }), (is) => {
        const bytes = encodeProgram(is);
        const text = disassemble(bytes, "llvm").map((l) => l.text).join("\n");
        expect(hex(assemble(text)), text).toBe(hex(bytes));
        expect(hex(assemble(formatListing(disassemble(bytes, "llvm")))), text).toBe(hex(bytes));
      }),
    );
  });

  const objdump = spawnSync("llvm-objdump", ["--version"]).status === 0;
  const obj = resolve(__dirname, "../../../../../shared/bench/progs/xdp_parse.bpf.o");
  if (!objdump || !existsSync(obj)) console.log("skipping llvm-objdump comparison: llvm-objdump or the bench objects are missing");
  it.skipIf(!objdump || !existsSync(obj))("matches llvm-objdump's text and assembles its listing back to the same bytes", () => {
    const listing = spawnSync("llvm-objdump", ["-d", obj], { encoding: "utf8" }).stdout;
    const rows = listing.split("\n").map((l) => /^\s*\d+:\t((?:[0-9a-f]{2} ?)+)\t(.*)$/.exec(l)).filter((m) => m !== null);
    expect(rows.length).toBeGreaterThan(10);
    const bytes = Uint8Array.from(rows.flatMap((m) => m![1]!.trim().split(" ").map((x) => parseInt(x, 16))));
    const ours = disassemble(bytes, "llvm").map((l) => l.text);
    const theirs = rows.map((m) => m![2]!.replace(/ <[^>]*>$/, ""));
    // Pseudo lddw (map references) print differently: llvm shows the unrelocated imm.
    ours.forEach((t, k) => {
      if (!/ ll$/.test(theirs[k]!)) expect(t).toBe(theirs[k]);
    });
    expect(hex(assemble(listing))).toBe(hex(bytes));
  });

  it("marks invalid slots and keeps going", () => {
    const b = new Uint8Array(16);
    b[0] = 0xff;
    b[8] = 0x95;
    const lines = disassemble(b);
    expect(lines[0]!.text).toMatch(/^\.invalid .*unknown opcode ff/);
    expect(lines[1]!.text).toBe("exit");
    expect(formatInsn({ code: 0xdb, dst: 1, src: 2, off: -8, imm: 0xf1 })).toBe("lock cmpxchg [%r1-8], %r2");
  });
});

describe(".data files", () => {
  it("parses sections, comments, multi-line mem, raw over asm, last result line", () => {
    const f = parseDataFile(`# header
-- asm
mov %r0, 1  # not this
exit
-- mem
00 01
ff
-- raw
0x00000001000000b7
0x0000000000000095
-- result
0x5
0x2
-- no register offset
call instruction
`);
    expect(f.asm).toBe("mov %r0, 1\nexit");
    expect(Array.from(f.mem!)).toEqual([0, 1, 255]);
    expect(f.result).toBe(2n);
    expect(f.skipped).toBeUndefined();
    expect(hex(dataFileProgram(f))).toBe("b700000001000000" + "9500000000000000");
    expect(parseDataFile("-- asm\nexit\n-- weird\nx\n-- result\n0").skipped).toMatch(/weird/);
    expect(parseDataFile("-- asm\nexit\n-- result\n18446744073709551615").result).toBe((1n << 64n) - 1n);
    expect(() => parseDataFile("-- mem\nzz")).toThrow(BpfError);
  });

  const corpus = resolve(__dirname, "../../../../../shared/conformance/bpf_conformance");
  const have = existsSync(corpus);
  if (!have) console.log(`skipping corpus round trip: ${corpus} not found`);
  it.skipIf(!have)("assembles the whole corpus and round trips it through the disassembler", () => {
    const files = readdirSync(corpus).filter((f) => f.endsWith(".data"));
    expect(files.length).toBe(313);
    for (const name of files) {
      const f = parseDataFile(readFileSync(resolve(corpus, name), "utf8"));
      const bytes = dataFileProgram(f);
      if (f.raw) expect(hex(assemble(f.asm)), name).toBe(hex(bytes));
      expect(hex(assemble(disassembleToSource(bytes))), name).toBe(hex(bytes));
    }
  });
});
