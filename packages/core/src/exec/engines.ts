/**
 * Engine registry: engines register themselves by name, tools and the
 * kernel layer look them up (`--engine jit`). The interpreter is always
 * registered; the JIT registers itself when its module is imported.
 *
 * Module state, per thread: each worker registers what it imports.
 */
import { BpfError, Errno } from "../errno.js";
import type { ExecutionEngine } from "./engine.js";
import { interpreterEngine } from "./interpreter/interpreter.js";

const engines = new Map<string, ExecutionEngine>([[interpreterEngine.name, interpreterEngine]]);

/** Registers (or replaces) the engine under its name. */
export function registerEngine(engine: ExecutionEngine): void {
  engines.set(engine.name, engine);
}

/** The engine registered as `name`, or undefined. */
export function getEngine(name: string): ExecutionEngine | undefined {
  return engines.get(name);
}

/** The engine registered as `name`; throws ENOENT listing the known names. */
export function requireEngine(name: string): ExecutionEngine {
  const e = engines.get(name);
  if (!e) throw new BpfError(Errno.ENOENT, `no execution engine '${name}' (registered: ${listEngines().join(", ")})`);
  return e;
}

/** Names of the registered engines. */
export function listEngines(): string[] {
  return [...engines.keys()];
}
