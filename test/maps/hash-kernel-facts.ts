/**
 * What Linux 6.18 (x86-64, 2 possible CPUs) answered to scripts/maps/hash-probe.c.
 * hash-kernel.test.ts reruns the probe where it can and checks these lines
 * still hold; the unit tests check bpfsim against them everywhere.
 */
export const KERNEL_NCPUS = 2;

export const kernelFacts = `
create.max0 -22
create.key0 -22
create.value0 -22
create.key512 0
create.key513 0
create.lru.key513 0
create.hash.no_common_lru -22
create.percpu.no_common_lru -22
create.lru.no_common_lru 0
create.lru.no_prealloc -524
create.lrupcpu.no_prealloc -524
create.hash.no_prealloc 0
create.hash.zero_seed 0
create.hash.mmapable -22
create.hash.rdonly_wronly -22
create.hash.rdonly_prog_wronly_prog -22
create.hash.rdonly 0
create.hash.wronly_prog 0
create.hash.bit31 -22
create.hash.inner_map -22
create.hash.numa 0
create.percpu.numa -22
create.lru.numa_no_common -22
create.hash.max_2p27 0
create.hash.max_2p27p1 -7
create.hash.max_2p31p1 -7
create.percpu.v32768 0
create.percpu.v32769 -7
vlimit.hash 4194251
vlimit.lru 4194251
hash.full_insert -7
hash.full_replace 0
hash.noexist_existing -17
hash.exist_missing -2
hash.flags8 -22
hash.flags3 -22
hash.update_lock_nolock -22
hash.lookup_lock_nolock -22
hash.lookup_flags2 -22
hash.lookup_missing -2
hash.delete_missing -2
hash.lookup_and_delete_missing -2
hash.lookup_and_delete_flags2 -22
hash.lookup_and_delete 0
hash.lookup_after_lad -2
hash.next_missing 0 restarts_at_first=1
hash_np.full_insert -7
hash_np.full_replace 0
percpu.update 0
percpu.lookup 0 1111111122222222 3333333344444444
percpu.update_lock -22
lru.fill64 errs=0 live=8 last=0 noexist=-17
lru.update_lock -22
lru_nocommon.fill64 errs=0 live=4 last=0 noexist=0
lru_nocommon.update_lock -22
lrupcpu.fill64 errs=0 live=8 last=0 noexist=-17
lrupcpu.update_lock -22
lrupcpu_nocommon.fill64 errs=0 live=4 last=0 noexist=0
lrupcpu_nocommon.update_lock -22
lru.evict_round.max8.flags0 7
lru.evict_round.max256.flags0 193
lru.evict_round.max1024.flags0 897
lru.evict_round.max16.flags2 5
order.k5 9 6 12 11 2 13 7 5 10 3 14 15 8 1 4 0
order.k9 13 12 11 2 10 3 9 6 7 4 0 15 1 14 5 8
order.k13 2 10 9 14 8 12 6 5 3 4 13 7 0 1 15 11
order.h16 10 4 15 5 0 14 7 2 13 1 8 12 11 9 6 3
order.h16twist 10 4 15 0 14 7 2 13 1 8 12 11 9 6 3
order.h5 0 4 2 1 3
order.h100of64 33 27 48 8 63 38 9 32 61 7 13 1 34 47 52 57 4 49 19 59 26 0 14 36 54 53 35 60 37 18 58 15 42 2 43 40 3 62 44 45 29 25 51 55 50 41 21 16 17 28 39 31 24 10 30 23 20 12 11 56 6 46 22
mem.hash_1M_u32_u64 83887120 max_entries=1048576
mem.hash_1M_u32_u64_noprealloc 16778112 max_entries=1048576
mem.percpu_1k_u32_u64 99200 max_entries=1024
mem.lru_1k_u32_u64 82816 max_entries=1024
mem.lrupcpu_1k_u32_u64 99200 max_entries=1024
mem.lru_nocommon_3 1216 max_entries=4
mem.lru_nocommon_1 1056 max_entries=2
mem.hash_k13_v5_100 10304 max_entries=100
`;

/** What Linux 6.18 answered to scripts/maps/hash-lock-probe.c (BTF-described bpf_spin_lock at offset 4). */
export const kernelLockFacts = `
lock.create.hash 0
lock.create.percpu_hash -95
lock.create.lru_hash -95
lock.create.lru_percpu_hash -95
lock.update_lock_missing 0
lock.lookup_lock 0 100 0 102 103 104 105
lock.lookup_plain 0 100 0 102 103 104 105
lock.update_lock_existing 0
lock.update_lock_noexist -17
lock.update_lock_exist_missing -2
lock.update_lock_bad -22
lock.lookup_and_delete_lock 0 aaaa 0 102 103 104 105
lock.lookup_after -2
`;

/** The facts as name -> rest of the line. */
export function parseFacts(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (!t) continue;
    const sp = t.indexOf(" ");
    out.set(t.slice(0, sp), t.slice(sp + 1));
  }
  return out;
}
