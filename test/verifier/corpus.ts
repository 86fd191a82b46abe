/** The whole verifier corpus, by category. */
import type { Case } from "./harness.js";
import { cfgCases } from "./corpus-cfg.js";
import { aluCases } from "./corpus-alu.js";
import { stackCases, mapCases, ctxCases } from "./corpus-mem.js";
import { pktCases } from "./corpus-pkt.js";
import { callCases } from "./corpus-calls.js";

export const corpus: Case[] = [...cfgCases, ...aluCases, ...stackCases, ...mapCases, ...ctxCases, ...pktCases, ...callCases];
