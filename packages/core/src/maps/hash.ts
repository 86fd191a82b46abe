/**
 * BPF_MAP_TYPE_HASH: see hashtab/htab-map.ts for the element operations
 * and their locking and reclamation rules, hashtab/layout.ts for the layout.
 */
import { makeHtabOps } from "./hashtab/htab-ops.js";

export const hashMapOps = makeHtabOps({ percpu: false, lru: false });
