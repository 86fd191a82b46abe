/**
 * `bpfsim asm <in.s|in.data> [-o out.bin]`: assembles the conformance
 * syntax (see the loader's assembler for the full syntax). With `-o`, writes
 * the raw instruction bytes; without, prints them one slot per line as the
 * corpus' `-- raw` u64 tokens.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { assemble, dataFileProgram, parseDataFile } from "@bpfsim/loader";
import { parseArgs, UsageError, type Command } from "../cli.js";

export const asmCommand: Command = {
  name: "asm",
  summary: "assemble eBPF text into instruction bytes",
  usage: "asm <in.s|in.data> [-o out.bin]",
  help: [
    "Syntax (one instruction per line, `#` comments, `name:` labels, jump targets are labels or +N/-N):",
    "  mov %r0, 1   add32 %r1, %r2   sdiv %r0, -3   movsx1664 %r0, %r1   neg %r2   be16 %r0   bswap64 %r0",
    "  ldxw %r0, [%r1+4]   ldxsb %r0, [%r1-1]   stdw [%r10-8], 7   stxw [%r10-4], %r1",
    "  lock fetch add32 [%r10-8], %r1   lock xchg [%r1], %r2   lock cmpxchg [%r1+0], %r2",
    "  ja L   ja32 L   jsgt32 %r1, -1, L   call 5   call local L   call %r2   exit",
    "  lddw %r1, 0x1122334455667788   lddw %r1, map_fd 3   lddw %r1, map_value 3, 16",
    "  lddw %r1, map_idx 0   lddw %r1, map_idx_value 0, 8   lddw %r1, btf_id 42   lddw %r1, func L",
    "llvm-objdump -d output (C-like: `r0 += 1`, `if w1 > 5 goto +2`) is accepted as well.",
  ].join("\n"),
  async run(ctx) {
    const args = parseArgs(ctx.argv, ["-o", "--output"]);
    if (args.positionals.length !== 1) throw new UsageError("give exactly one input file");
    const input = args.positionals[0]!;
    let text: string;
    try {
      text = readFileSync(input, "utf8");
    } catch (e) {
      throw new Error(`cannot read '${input}': ${(e as Error).message}`);
    }
    const bytes = input.endsWith(".data") ? dataFileProgram(parseDataFile(text)) : assemble(text);
    const outPath = (args.options.get("-o") ?? args.options.get("--output")) as string | undefined;
    if (outPath) {
      writeFileSync(outPath, bytes);
      ctx.out(`${bytes.length / 8} slots written to ${outPath}`);
      return 0;
    }
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let at = 0; at < bytes.length; at += 8) ctx.out("0x" + dv.getBigUint64(at, true).toString(16).padStart(16, "0"));
    return 0;
  },
};
