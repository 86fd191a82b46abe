/*
 * Loads one eBPF program into the running kernel with raw bpf(BPF_PROG_LOAD)
 * and prints the verdict and the verifier log, so the test corpus can be
 * compared against Linux.
 *
 * usage: kernel-load <prog_type> <log_level> <prog_flags> <maps> <hex insns>
 *   maps: "-" or "type:key:value:max:flags[,...]"; a `lddw` with src_reg 1
 *   (BPF_PSEUDO_MAP_FD) or 2 (BPF_PSEUDO_MAP_VALUE) carries the map's index
 *   in imm and is patched here to the fd of the map created for it.
 * output: "OK" or "ERR <errno>", then the log.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long sys_bpf(int cmd, union bpf_attr *attr) {
  return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

/*
 * BTF for a map value with a bpf_spin_lock at offset 0:
 *   struct val { struct bpf_spin_lock lock; int pad; long long x; }  (16 bytes)
 * Type ids: 1 int, 2 struct bpf_spin_lock, 3 long long, 4 struct val.
 */
static int load_lock_btf(void) {
  static const char strs[] = "\0int\0bpf_spin_lock\0val\0long long\0lock\0pad\0x";
  enum { S_INT = 1, S_LOCK = 5, S_VAL = 19, S_LL = 23, S_LOCKM = 33, S_PAD = 38, S_X = 42 };
  unsigned types[] = {
    S_INT, 1u << 24, 4, (1u << 24) | 32,          /* int */
    S_LOCK, (4u << 24) | 1, 4, S_VAL, 1, 0,       /* struct bpf_spin_lock { int val; } */
    S_LL, 1u << 24, 8, (1u << 24) | 64,           /* long long */
    S_VAL, (4u << 24) | 3, 16, S_LOCKM, 2, 0, S_PAD, 1, 32, S_X, 3, 64, /* struct val */
  };
  static unsigned char blob[512];
  unsigned hdr[6] = {0x0001eb9f, 24, 0, sizeof(types), sizeof(types), sizeof(strs)};
  memcpy(blob, hdr, sizeof(hdr));
  memcpy(blob + 24, types, sizeof(types));
  memcpy(blob + 24 + sizeof(types), strs, sizeof(strs));
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.btf = (unsigned long)blob;
  a.btf_size = 24 + sizeof(types) + sizeof(strs);
  return (int)sys_bpf(BPF_BTF_LOAD, &a);
}

/*
 * KERNEL_LOAD_FUNC_INFO=1: BTF func_info for every subprogram (static
 * functions `f0`, `f1`, ... of type `int (void)`), which Linux requires for
 * callbacks. Fills the attr's prog_btf_fd and func_info.
 */
static unsigned func_info[2 * 64];

static int load_func_btf(const struct bpf_insn *insns, size_t cnt, unsigned *nfuncs) {
  unsigned starts[64], n = 1;
  starts[0] = 0;
  for (size_t i = 0; i < cnt && n < 64; i++) {
    int is_call = insns[i].code == (BPF_JMP | BPF_CALL) && insns[i].src_reg == 1;
    int is_func = insns[i].code == (BPF_LD | BPF_IMM | BPF_DW) && insns[i].src_reg == 4;
    if (!is_call && !is_func) continue;
    long t = (long)i + insns[i].imm + 1;
    int seen = 0;
    for (unsigned k = 0; k < n; k++) seen |= starts[k] == (unsigned)t;
    if (!seen && t > 0 && (size_t)t < cnt) starts[n++] = (unsigned)t;
  }
  for (unsigned a = 0; a < n; a++) /* sort */
    for (unsigned b = a + 1; b < n; b++)
      if (starts[b] < starts[a]) { unsigned x = starts[a]; starts[a] = starts[b]; starts[b] = x; }
  /* strings: "\0int\0f0\0f1..." ; types: 1 int, 2 proto int(void), 3.. FUNC fK */
  static char strs[1024];
  size_t sl = 1;
  strs[0] = 0;
  memcpy(strs + sl, "int", 4);
  sl += 4;
  static unsigned types[4 + 3 + 3 * 64];
  size_t tl = 0;
  types[tl++] = 1; types[tl++] = 1u << 24; types[tl++] = 4; types[tl++] = (1u << 24) | 32;
  types[tl++] = 0; types[tl++] = 13u << 24; types[tl++] = 1; /* FUNC_PROTO, 0 params, returns int */
  for (unsigned k = 0; k < n; k++) {
    unsigned name = (unsigned)sl;
    sl += (size_t)sprintf(strs + sl, "f%u", k) + 1;
    types[tl++] = name; types[tl++] = 12u << 24; types[tl++] = 2; /* FUNC, static linkage */
    func_info[2 * k] = starts[k];
    func_info[2 * k + 1] = 3 + k;
  }
  static unsigned char blob[4096];
  unsigned hdr[6] = {0x0001eb9f, 24, 0, (unsigned)(tl * 4), (unsigned)(tl * 4), (unsigned)sl};
  memcpy(blob, hdr, sizeof(hdr));
  memcpy(blob + 24, types, tl * 4);
  memcpy(blob + 24 + tl * 4, strs, sl);
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.btf = (unsigned long)blob;
  a.btf_size = (unsigned)(24 + tl * 4 + sl);
  *nfuncs = n;
  return (int)sys_bpf(BPF_BTF_LOAD, &a);
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s type level flags maps hex\n", argv[0]);
    return 2;
  }
  int fds[16];
  int nmaps = 0;
  if (strcmp(argv[4], "-") != 0) {
    char *save = NULL;
    for (char *tok = strtok_r(argv[4], ",", &save); tok && nmaps < 16; tok = strtok_r(NULL, ",", &save)) {
      unsigned t, k, v, m, f;
      if (sscanf(tok, "%u:%u:%u:%u:%u", &t, &k, &v, &m, &f) != 5) return 2;
      union bpf_attr a;
      memset(&a, 0, sizeof(a));
      a.map_type = t;
      a.key_size = k;
      a.value_size = v;
      a.max_entries = m;
      a.map_flags = f;
      if (strstr(tok, ":L")) { /* value is struct val, with its spin lock at 0 */
        int btf = load_lock_btf();
        if (btf < 0) {
          printf("MAPERR %d\n", errno);
          return 0;
        }
        a.btf_fd = (unsigned)btf;
        a.btf_key_type_id = 1;
        a.btf_value_type_id = 4;
      }
      int fd = (int)sys_bpf(BPF_MAP_CREATE, &a);
      if (fd < 0) {
        printf("MAPERR %d\n", errno);
        return 0;
      }
      fds[nmaps++] = fd;
    }
  }
  size_t hexlen = strlen(argv[5]);
  size_t n = hexlen / 2;
  if (n % 8) return 2;
  unsigned char *buf = calloc(n ? n : 8, 1);
  for (size_t i = 0; i < n; i++) {
    int hi = hexval(argv[5][2 * i]), lo = hexval(argv[5][2 * i + 1]);
    if (hi < 0 || lo < 0) return 2;
    buf[i] = (unsigned char)(hi * 16 + lo);
  }
  struct bpf_insn *insns = (struct bpf_insn *)buf;
  size_t cnt = n / 8;
  for (size_t i = 0; i + 1 < cnt; i++) {
    if (insns[i].code == (BPF_LD | BPF_IMM | BPF_DW) && (insns[i].src_reg == 1 || insns[i].src_reg == 2)) {
      int idx = insns[i].imm;
      if (idx >= 0 && idx < nmaps) insns[i].imm = fds[idx];
      i++;
    }
  }
  static char log[1 << 20];
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_type = (unsigned)atoi(argv[1]);
  a.insns = (unsigned long)insns;
  a.insn_cnt = (unsigned)cnt;
  a.license = (unsigned long)"GPL";
  a.log_level = (unsigned)atoi(argv[2]);
  a.log_buf = a.log_level ? (unsigned long)log : 0;
  a.log_size = a.log_level ? sizeof(log) : 0;
  /* KERNEL_LOAD_LOG_SIZE: a smaller buffer, to see Linux's truncation rule. */
  const char *ls = getenv("KERNEL_LOAD_LOG_SIZE");
  if (ls && a.log_level) a.log_size = (unsigned)atoi(ls);
  a.prog_flags = (unsigned)atoi(argv[3]);
  if (getenv("KERNEL_LOAD_FUNC_INFO")) {
    unsigned nf = 0;
    int btf = load_func_btf(insns, cnt, &nf);
    if (btf < 0) {
      printf("BTFERR %d\n", errno);
      return 0;
    }
    a.prog_btf_fd = (unsigned)btf;
    a.func_info = (unsigned long)func_info;
    a.func_info_rec_size = 8;
    a.func_info_cnt = nf;
  }
  int fd = (int)sys_bpf(BPF_PROG_LOAD, &a);
  if (fd < 0) printf("ERR %d\n", errno);
  else printf("OK\n");
  fputs(log, stdout);
  return 0;
}
