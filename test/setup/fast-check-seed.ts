import fc from "fast-check";

/**
 * Every property test runs from one seed. CI fixes it (FC_SEED or the default
 * below) so a red run can be replayed; set FC_SEED=random to explore.
 */
const raw = process.env.FC_SEED ?? "20261206";
const seed = raw === "random" ? (Date.now() ^ (Math.random() * 2 ** 31)) | 0 : Number(raw) | 0;
fc.configureGlobal({ seed, numRuns: Number(process.env.FC_RUNS ?? 100) });

let printed = false;
if (!printed) {
  printed = true;
  // eslint-disable-next-line no-console
  console.log(`fast-check seed: ${seed} (replay with FC_SEED=${seed})`);
}
