// SPDX-License-Identifier: MIT
/*
 * map-in-map probe: a fixed script of ARRAY_OF_MAPS / HASH_OF_MAPS creates,
 * updates, lookups and deletes on the real kernel, one "name result" line
 * each; map-in-map.test.ts runs the same script on bpfsim and compares.
 * Built by the test with gcc; needs root.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
static long sys_bpf(int cmd, union bpf_attr *a) { long r = syscall(__NR_bpf, cmd, a, sizeof(*a)); return r < 0 ? -errno : r; }
static int mk(int t, int ks, int vs, int max, int fl, int inner) {
  union bpf_attr a; memset(&a, 0, sizeof a);
  a.map_type = t; a.key_size = ks; a.value_size = vs; a.max_entries = max; a.map_flags = fl; a.inner_map_fd = inner;
  return sys_bpf(BPF_MAP_CREATE, &a);
}
static int upd(int fd, void *k, void *v, int fl) { union bpf_attr a; memset(&a,0,sizeof a); a.map_fd=fd; a.key=(long)k; a.value=(long)v; a.flags=fl; return sys_bpf(BPF_MAP_UPDATE_ELEM,&a); }
static int look(int fd, void *k, void *v) { union bpf_attr a; memset(&a,0,sizeof a); a.map_fd=fd; a.key=(long)k; a.value=(long)v; return sys_bpf(BPF_MAP_LOOKUP_ELEM,&a); }
static int del(int fd, void *k) { union bpf_attr a; memset(&a,0,sizeof a); a.map_fd=fd; a.key=(long)k; return sys_bpf(BPF_MAP_DELETE_ELEM,&a); }
static int nxt(int fd, void *k, void *n) { union bpf_attr a; memset(&a,0,sizeof a); a.map_fd=fd; a.key=(long)k; a.next_key=(long)n; return sys_bpf(BPF_MAP_GET_NEXT_KEY,&a); }
static int batch(int cmd, int fd, void *keys, void *vals, unsigned *count) { union bpf_attr a; unsigned out = 0; memset(&a,0,sizeof a); a.batch.map_fd=fd; a.batch.out_batch=(long)&out; a.batch.keys=(long)keys; a.batch.values=(long)vals; a.batch.count=*count; int r = sys_bpf(cmd,&a); *count = a.batch.count; return r; }
static int id_of(int fd) { struct bpf_map_info i; union bpf_attr a; memset(&a,0,sizeof a); memset(&i,0,sizeof i); a.info.bpf_fd=fd; a.info.info_len=sizeof i; a.info.info=(long)&i; sys_bpf(BPF_OBJ_GET_INFO_BY_FD,&a); return i.id; }
int main(void) {
  int inner = mk(2, 4, 8, 4, 0, 0);
  int hinner = mk(1, 4, 8, 4, 0, 0);
  int pa = mk(3, 4, 4, 4, 0, 0);
  printf("noinner %d\n", mk(12, 4, 4, 2, 0, 0));
  printf("badinner %d\n", mk(12, 4, 4, 2, 0, 99));
  printf("vs8 %d\n", mk(12, 4, 8, 2, 0, inner));
  printf("ks8 %d\n", mk(12, 8, 4, 2, 0, inner));
  printf("progarray_inner %d\n", mk(12, 4, 4, 2, 0, pa));
  int outer = mk(12, 4, 4, 2, 0, inner);
  printf("outer_ok %d\n", outer > 0 ? 0 : outer);
  printf("nested %d\n", mk(12, 4, 4, 2, 0, outer) );
  printf("hom_flags1 %d\n", mk(13, 4, 4, 2, 1, inner) > 0 ? 0 : -1);
  printf("aom_flags1 %d\n", mk(12, 4, 4, 2, 1, inner));
  printf("aom_inner_flag %d\n", mk(12, 4, 4, 2, BPF_F_INNER_MAP, inner));
  int k = 0, k1 = 1, k5 = 5, v, out;
  v = inner; printf("upd %d\n", upd(outer, &k, &v, 0));
  v = hinner; printf("upd_mismatch_type %d\n", upd(outer, &k1, &v, 0));
  int other = mk(2, 4, 8, 8, 0, 0);
  v = other; printf("upd_mismatch_max %d\n", upd(outer, &k1, &v, 0));
  int same = mk(2, 4, 8, 4, 0, 0);
  v = same; printf("upd_noexist %d\n", upd(outer, &k1, &v, 1));
  v = same; printf("upd_exist %d\n", upd(outer, &k1, &v, 2));
  v = same; printf("upd_oob %d\n", upd(outer, &k5, &v, 0));
  v = 99; printf("upd_badfd %d\n", upd(outer, &k1, &v, 0));
  v = pa; printf("upd_prog_array %d\n", upd(outer, &k1, &v, 0));
  out = -1; printf("look %d\n", look(outer, &k, &out)); printf("look_id %d\n", out == id_of(inner));
  printf("look_empty %d\n", look(outer, &k1, &out));
  printf("look_oob %d\n", look(outer, &k5, &out));
  printf("next %d\n", nxt(outer, NULL, &out));
  printf("next_val %d\n", out);
  printf("next_last %d\n", nxt(outer, &k1, &out));
  printf("del %d\n", del(outer, &k));
  printf("del_again %d\n", del(outer, &k));
  printf("del_oob %d\n", del(outer, &k5));
  int inner_im = mk(2, 4, 8, 4, BPF_F_INNER_MAP, 0);
  int outer2 = mk(12, 4, 4, 2, 0, inner_im);
  v = other; printf("inner_map_flag_other_max %d\n", upd(outer2, &k, &v, 0));
  int other_im = mk(2, 4, 8, 8, BPF_F_INNER_MAP, 0);
  v = other_im; printf("inner_map_flag_other_max_im %d\n", upd(outer2, &k, &v, 0));
  {
    unsigned ks[4] = {0, 1}, vs[4] = {0, 0}, n = 2;
    int r;
    vs[0] = same; vs[1] = same;
    r = batch(BPF_MAP_UPDATE_BATCH, outer, ks, vs, &n);
    printf("aom_update_batch %d %u\n", r, n);
    n = 4; memset(vs, 0, sizeof vs);
    r = batch(BPF_MAP_LOOKUP_BATCH, outer, ks, vs, &n);
    printf("aom_lookup_batch %d %u %d\n", r, n, vs[0] == (unsigned)id_of(same));
    n = 1;
    r = batch(BPF_MAP_DELETE_BATCH, outer, ks, vs, &n);
    printf("aom_delete_batch %d %u\n", r, n);
  }
  int hom = mk(13, 4, 4, 2, 0, inner);
  v = inner; printf("h_upd %d\n", upd(hom, &k5, &v, 0));
  v = same; printf("h_upd_noexist %d\n", upd(hom, &k5, &v, 1));
  v = same; printf("h_upd_exist_missing %d\n", upd(hom, &k, &v, 2));
  v = same; printf("h_upd2 %d\n", upd(hom, &k, &v, 0));
  v = same; printf("h_full %d\n", upd(hom, &k1, &v, 0));
  out = -1; printf("h_look %d\n", look(hom, &k5, &out)); printf("h_look_id %d\n", out == id_of(inner));
  printf("h_look_missing %d\n", look(hom, &k1, &out));
  printf("h_del %d\n", del(hom, &k5)); printf("h_del_again %d\n", del(hom, &k5));
  {
    unsigned ks[4] = {7}, vs[4] = {0}, n = 1;
    int r;
    vs[0] = same;
    r = batch(BPF_MAP_UPDATE_BATCH, hom, ks, vs, &n);
    printf("hom_update_batch %d %u\n", r, n);
    n = 4;
    r = batch(BPF_MAP_LOOKUP_BATCH, hom, ks, vs, &n);
    printf("hom_lookup_batch %d %u\n", r, n);
    n = 4;
    r = batch(BPF_MAP_LOOKUP_AND_DELETE_BATCH, hom, ks, vs, &n);
    printf("hom_lookup_and_delete_batch %d\n", r);
    n = 1; ks[0] = 7;
    r = batch(BPF_MAP_DELETE_BATCH, hom, ks, vs, &n);
    printf("hom_delete_batch %d %u\n", r, n);
  }
  printf("h_ks8 %d\n", mk(13, 8, 4, 2, 0, inner) > 0);
  printf("ringbuf_inner %d\n", mk(12, 4, 4, 2, 0, mk(27,0,0,4096,0,0)) > 0);
  printf("lpm_inner %d\n", mk(12, 4, 4, 2, 0, mk(11,8,4,4,1,0)) > 0);
  printf("queue_inner %d\n", mk(12, 4, 4, 2, 0, mk(22,0,4,4,0,0)) > 0);
  printf("perf_inner %d\n", mk(12, 4, 4, 2, 0, mk(4,4,4,2,0,0)) > 0);
  return 0;
}
