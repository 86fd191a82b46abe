#!/usr/bin/env node
/**
 * `bpfsim <command> [args]`: the command-line entry. Each command lives in
 * commands/<name>.ts and is one line of COMMANDS below; adding a command is
 * one import and one table line.
 *
 * Exit codes: 0 success, 1 failure (a test failed, an error was reported),
 * 2 usage error. Errors are printed as `bpfsim: <message>`.
 * Arguments are parsed here, without a dependency (see `parseArgs`).
 */
import { pathToFileURL } from "node:url";
import { conformanceCommand } from "./commands/conformance.js";
import { asmCommand } from "./commands/asm.js";
import { disasmCommand } from "./commands/disasm.js";
import { inspectCommand } from "./commands/inspect.js";
import { testRunCommand } from "./commands/test-run.js";
import { runCommand } from "./commands/run.js";
import { verifyCommand } from "./commands/verify.js";

/** What a command gets: its arguments and its output streams. */
export interface CommandContext {
  readonly argv: readonly string[];
  out(line: string): void;
  err(line: string): void;
}

/** One CLI command. `run` resolves to the exit code; throw `UsageError` for bad arguments. */
export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Usage line, without the leading `bpfsim `. */
  readonly usage: string;
  /** Longer text printed after the usage line by `--help`. */
  readonly help?: string;
  run(ctx: CommandContext): Promise<number>;
}

/** Bad arguments: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

const COMMANDS: readonly Command[] = [
  conformanceCommand,
  asmCommand,
  disasmCommand,
  inspectCommand,
  testRunCommand,
  runCommand,
  verifyCommand,
];

/** Parsed arguments: positionals and `--flag value` / `-o value` / `--flag` options. */
export interface ParsedArgs {
  readonly positionals: string[];
  readonly options: Map<string, string | true>;
}

/**
 * Splits argv. `valued` lists the options that take a value (`--engine`,
 * `-o`); any other option is a boolean. `--name=value` also works. Unknown
 * options are a UsageError.
 */
export function parseArgs(argv: readonly string[], valued: readonly string[], flags: readonly string[] = []): ParsedArgs {
  const positionals: string[] = [];
  const options = new Map<string, string | true>();
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k]!;
    if (a === "--") {
      positionals.push(...argv.slice(k + 1));
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (valued.includes(name)) {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++k];
      if (v === undefined) throw new UsageError(`option ${name} needs a value`);
      options.set(name, v);
    } else if (flags.includes(name) && eq < 0) options.set(name, true);
    else throw new UsageError(`unknown option ${a}`);
  }
  return { positionals, options };
}

function usageText(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length));
  return ["usage: bpfsim <command> [args]", "", "commands:", ...COMMANDS.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`)].join("\n");
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: readonly string[], io: Pick<CommandContext, "out" | "err"> = defaultIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    (name === undefined ? io.err : io.out)(usageText());
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    io.err(`bpfsim: unknown command '${name}'\n${usageText()}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.out(`usage: bpfsim ${cmd.usage}${cmd.help ? `\n\n${cmd.help}` : ""}`);
    return 0;
  }
  try {
    return await cmd.run({ argv: rest, out: io.out, err: io.err });
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`bpfsim: ${e.message}\nusage: bpfsim ${cmd.usage}`);
      return 2;
    }
    io.err(`bpfsim: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

const defaultIo = {
  out: (line: string) => process.stdout.write(line + "\n"),
  err: (line: string) => process.stderr.write(line + "\n"),
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`bpfsim: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
