/*
 * Kernel oracle for test/prog: reads one request per line on stdin, answers
 * one line on stdout, using raw bpf() syscalls (no libbpf).
 *
 *   map <type> <key_size> <value_size> <max_entries>
 *       -> "<fd or -errno>"
 *   load <type> <prog_flags> <license> <log_level> <log_size> <insns hex>
 *       -> "<fd or -errno> <log_true_size> <log, newlines shown as |>"
 *       An lddw with src_reg 1 or 2 and imm k refers to the k-th map made.
 *   run <prog#> <data hex|-> <data_size_out> <repeat> <ctx hex|-> <ctx_size_out> <flags> <cpu>
 *       (data_out and ctx_out are passed only when their sizes are non-zero)
 *       -> "<0 or -errno> <retval> <data_size_out> <data hex|-> <ctx_size_out> <ctx hex|->"
 *   info <prog#>
 *       -> "<tag hex> <xlated_prog_len> <nr_map_ids>"
 *   update <map#> <key u32> <prog#>       (prog array: store a program fd)
 *       -> "<0 or -errno>"
 *   lookup <map#> <key u32>               (u64 value of an array map)
 *       -> "<value or -errno>"
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>

static int maps[256], nmaps, progs[4096], nprogs;
static unsigned char buf[1 << 20], out[1 << 16], ctxin[1 << 16], ctxout[1 << 16];
static char logbuf[1 << 20];

/* The installed UAPI header may predate log_true_size; pass a larger attr so the kernel can write it. */
static union { union bpf_attr a; unsigned char pad[256]; } big;
static long sys_bpf(int cmd, union bpf_attr *a) {
	memset(&big, 0, sizeof big);
	memcpy(&big.a, a, sizeof *a);
	long r = syscall(SYS_bpf, cmd, &big, sizeof big);
	int e = errno;
	memcpy(a, &big.a, sizeof *a);
	if (cmd == BPF_PROG_LOAD) memcpy((char *)a + offsetof(union bpf_attr, core_relo_rec_size) + 4, (char *)&big + offsetof(union bpf_attr, core_relo_rec_size) + 4, 4);
	errno = e;
	return r;
}

static int unhex(const char *s, unsigned char *dst) {
	if (!strcmp(s, "-")) return 0;
	int n = strlen(s) / 2;
	for (int i = 0; i < n; i++) sscanf(s + 2 * i, "%2hhx", &dst[i]);
	return n;
}
static void puthex(const unsigned char *p, unsigned n) {
	if (!n) { printf("-"); return; }
	for (unsigned i = 0; i < n; i++) printf("%02x", p[i]);
}

int main(void) {
	static char line[1 << 21], hex[1 << 21], hex2[1 << 18], lic[64];
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof line, stdin)) {
		union bpf_attr a;
		memset(&a, 0, sizeof a);
		if (!strncmp(line, "map ", 4)) {
			sscanf(line + 4, "%u %u %u %u", &a.map_type, &a.key_size, &a.value_size, &a.max_entries);
			long fd = sys_bpf(BPF_MAP_CREATE, &a);
			if (fd >= 0) maps[nmaps++] = fd;
			printf("%ld\n", fd < 0 ? -(long)errno : fd);
		} else if (!strncmp(line, "load ", 5)) {
			unsigned level, size;
			sscanf(line + 5, "%u %u %63s %u %u %s", &a.prog_type, &a.prog_flags, lic, &level, &size, hex);
			for (char *c = lic; *c; c++) if (*c == '_') *c = ' ';
			int n = unhex(hex, buf);
			struct bpf_insn *in = (struct bpf_insn *)buf;
			for (int i = 0; i < n / 8; i++)
				if (in[i].code == (BPF_LD | BPF_IMM | BPF_DW) && (in[i].src_reg == 1 || in[i].src_reg == 2) && in[i].imm >= 0 && in[i].imm < nmaps)
					in[i].imm = maps[in[i].imm];
			a.insns = (uintptr_t)buf;
			a.insn_cnt = n / 8;
			a.license = (uintptr_t)lic;
			a.log_level = level;
			a.log_size = size;
			logbuf[0] = 0;
			if (size) a.log_buf = (uintptr_t)logbuf;
			long fd = sys_bpf(BPF_PROG_LOAD, &a);
			int err = errno;
			if (fd >= 0) progs[nprogs++] = fd;
			for (char *c = logbuf; *c; c++) if (*c == '\n') *c = '|';
			printf("%ld %u %s\n", fd < 0 ? -(long)err : fd, *(uint32_t *)((char *)&a + offsetof(union bpf_attr, core_relo_rec_size) + 4), logbuf);
		} else if (!strncmp(line, "run ", 4)) {
			int p;
			unsigned dso, cso;
			sscanf(line + 4, "%d %s %u %u %s %u %u %u", &p, hex, &dso, &a.test.repeat, hex2, &cso, &a.test.flags, &a.test.cpu);
			a.test.prog_fd = progs[p];
			int dn = unhex(hex, buf), cn = unhex(hex2, ctxin);
			if (dn) { a.test.data_in = (uintptr_t)buf; a.test.data_size_in = dn; }
			if (dso) { a.test.data_out = (uintptr_t)out; a.test.data_size_out = dso; }
			if (cn) { a.test.ctx_in = (uintptr_t)ctxin; a.test.ctx_size_in = cn; }
			if (cso) { a.test.ctx_out = (uintptr_t)ctxout; a.test.ctx_size_out = cso; }
			memset(out, 0, sizeof out);
			long r = sys_bpf(BPF_PROG_TEST_RUN, &a);
			printf("%ld %u %u ", r < 0 ? -(long)errno : r, a.test.retval, a.test.data_size_out);
			unsigned shown = a.test.data_size_out < dso ? a.test.data_size_out : dso;
			puthex(out, shown);
			printf(" %u ", a.test.ctx_size_out);
			puthex(ctxout, cso && a.test.ctx_size_out < cso ? a.test.ctx_size_out : cso);
			printf("\n");
		} else if (!strncmp(line, "info ", 5)) {
			int p = atoi(line + 5);
			struct bpf_prog_info info;
			memset(&info, 0, sizeof info);
			a.info.bpf_fd = progs[p];
			a.info.info_len = sizeof info;
			a.info.info = (uintptr_t)&info;
			long r = sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a);
			if (r < 0) { printf("-%d\n", errno); continue; }
			puthex(info.tag, 8);
			printf(" %u %u\n", info.xlated_prog_len, info.nr_map_ids);
		} else if (!strncmp(line, "update ", 7)) {
			int m, p;
			uint32_t key, val;
			sscanf(line + 7, "%d %u %d", &m, &key, &p);
			val = progs[p];
			a.map_fd = maps[m];
			a.key = (uintptr_t)&key;
			a.value = (uintptr_t)&val;
			long r = sys_bpf(BPF_MAP_UPDATE_ELEM, &a);
			printf("%ld\n", r < 0 ? -(long)errno : r);
		} else if (!strncmp(line, "lookup ", 7)) {
			int m;
			uint32_t key;
			uint64_t val = 0;
			sscanf(line + 7, "%d %u", &m, &key);
			a.map_fd = maps[m];
			a.key = (uintptr_t)&key;
			a.value = (uintptr_t)&val;
			long r = sys_bpf(BPF_MAP_LOOKUP_ELEM, &a);
			if (r < 0) printf("-%d\n", errno); else printf("%llu\n", (unsigned long long)val);
		} else {
			printf("?\n");
		}
	}
	return 0;
}
