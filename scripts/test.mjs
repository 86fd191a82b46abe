#!/usr/bin/env node
// Runs the test suite with a deadline. Vitest's per-test timeout is a timer on
// the test's own thread, so a test stuck in a synchronous loop (a spin on a
// shared-memory word, say) would never time out and would hold CI for its
// whole budget. This wrapper ends the run, says so, and fails instead.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const minutes = Number(process.env.BPFSIM_TEST_DEADLINE_MIN ?? 30);
const vitest = fileURLToPath(new URL("../node_modules/vitest/vitest.mjs", import.meta.url));
const child = spawn(process.execPath, [vitest, "run", ...process.argv.slice(2)], {
  stdio: "inherit",
  detached: true,
});
const timer = setTimeout(() => {
  console.error(`\ntest run exceeded ${minutes} min: stopping it (a test is stuck; the last files reported above ran)`);
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
  process.exitCode = 124;
}, minutes * 60_000);
child.on("exit", (code, signal) => {
  clearTimeout(timer);
  if (process.exitCode === undefined) process.exitCode = code ?? (signal ? 1 : 0);
});
