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
