// SPDX-License-Identifier: MIT
/*
 * linux-run: the Linux side of the bench-program end-to-end test. Loads one
 * program of a bench object with libbpf (only that program), prefills its
 * maps the way the kernel benchmark driver does, runs BPF_PROG_TEST_RUN once
 * on the benchmark's 64-byte Ethernet/IPv4/UDP packet and prints what the
 * test compares with bpfsim:
 *
 *   retval N
 *   m MAP KEYHEX VALUEHEX      one line per element (per-CPU maps: "sum:N",
 *                              the u64 values added over the CPUs)
 *   r MAP HEX                  one line per ring buffer record, in order
 *
 * Usage: linux-run OBJECT PROGRAM RING_BYTES. Built by the test with gcc -lbpf.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static unsigned char pkt[64];

/* 10.0.0.1:12345 -> 10.1.2.3:4242, as the benchmark driver builds it */
static void build_packet(void)
{
	unsigned char *p = pkt;
	static const unsigned char dmac[6] = { 2, 0, 0, 0, 0, 2 };
	static const unsigned char smac[6] = { 2, 0, 0, 0, 0, 1 };
	uint32_t sum = 0;

	memcpy(p, dmac, 6);
	memcpy(p + 6, smac, 6);
	p[12] = 0x08, p[13] = 0x00;
	p += 14;
	p[0] = 0x45;
	p[3] = 50;
	p[4] = 0x12, p[5] = 0x34;
	p[8] = 64;
	p[9] = 17;
	p[12] = 10, p[15] = 1;
	p[16] = 10, p[17] = 1, p[18] = 2, p[19] = 3;
	for (int i = 0; i < 20; i += 2)
		sum += (p[i] << 8) | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	p[10] = sum >> 8, p[11] = sum & 0xff;
	p += 20;
	p[0] = 12345 >> 8, p[1] = 12345 & 0xff;
	p[2] = 4242 >> 8, p[3] = 4242 & 0xff;
	p[5] = 30;
	for (int i = 8; i < 30; i++)
		p[i] = 'a' + i;
}

static void hex(const void *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", ((const unsigned char *)v)[i]);
}

static void lpm_add(int fd, const char *a, uint32_t plen, uint32_t nh)
{
	struct { uint32_t plen, addr; } k = { plen, 0 };

	inet_pton(AF_INET, a, &k.addr);
	bpf_map_update_elem(fd, &k, &nh, BPF_ANY);
}

static void prefill(struct bpf_object *obj)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, "hmap");
	char a[32];

	if (m)
		for (uint32_t k = 0; k < 1024; k++) {
			uint64_t v = k;
			bpf_map_update_elem(bpf_map__fd(m), &k, &v, BPF_ANY);
		}
	m = bpf_object__find_map_by_name(obj, "routes");
	if (m) {
		int fd = bpf_map__fd(m);

		lpm_add(fd, "0.0.0.0", 0, 1);
		lpm_add(fd, "10.0.0.0", 8, 2);
		lpm_add(fd, "10.1.0.0", 16, 3);
		lpm_add(fd, "10.1.2.0", 24, 4);
		lpm_add(fd, "10.1.2.3", 32, 5);
		lpm_add(fd, "192.168.0.0", 16, 6);
		for (int i = 0; i < 256; i++) {
			snprintf(a, sizeof(a), "172.16.%d.0", i);
			lpm_add(fd, a, 24, 100 + i);
			snprintf(a, sizeof(a), "10.%d.0.0", i);
			lpm_add(fd, a, 20, 400 + i);
		}
	}
}

static const char *cur_map;

static int on_record(void *ctx, void *data, size_t size)
{
	printf("r %s ", cur_map);
	hex(data, size);
	putchar('\n');
	return 0;
}

static void dump(struct bpf_map *m)
{
	enum bpf_map_type t = bpf_map__type(m);
	int fd = bpf_map__fd(m), ncpu = libbpf_num_possible_cpus();
	unsigned ks = bpf_map__key_size(m), vs = bpf_map__value_size(m);
	int percpu = t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
	unsigned char key[512], next[512], *val = calloc(ncpu, (vs + 7) & ~7u);
	void *prev = NULL;

	if (t == BPF_MAP_TYPE_RINGBUF) {
		struct ring_buffer *rb = ring_buffer__new(fd, on_record, NULL, NULL);

		cur_map = bpf_map__name(m);
		ring_buffer__consume(rb);
		ring_buffer__free(rb);
		return;
	}
	if (t == BPF_MAP_TYPE_PERF_EVENT_ARRAY)
		return;
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, ks);
		prev = key;
		if (bpf_map_lookup_elem(fd, key, val))
			continue;
		printf("m %s ", bpf_map__name(m));
		hex(key, ks);
		if (percpu && vs == 8) {
			uint64_t s = 0;
			for (int c = 0; c < ncpu; c++)
				s += ((uint64_t *)val)[c];
			printf(" sum:%llu\n", (unsigned long long)s);
		} else {
			putchar(' ');
			hex(val, vs);
			putchar('\n');
		}
	}
	free(val);
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *m;

	if (argc != 4)
		return 2;
	build_packet();
	libbpf_set_print(NULL);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		printf("error open\n");
		return 1;
	}
	bpf_object__for_each_program(prog, obj)
		bpf_program__set_autoload(prog, strcmp(bpf_program__name(prog), argv[2]) == 0);
	bpf_object__for_each_map(m, obj)
		if (bpf_map__type(m) == BPF_MAP_TYPE_RINGBUF)
			bpf_map__set_max_entries(m, atoi(argv[3]));
	if (bpf_object__load(obj)) {
		printf("error load\n");
		return 1;
	}
	prefill(obj);
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof(pkt), .repeat = 1);
	prog = bpf_object__find_program_by_name(obj, argv[2]);
	if (bpf_prog_test_run_opts(bpf_program__fd(prog), &opts)) {
		printf("error test_run\n");
		return 1;
	}
	printf("retval %u\n", opts.retval);
	bpf_object__for_each_map(m, obj)
		dump(m);
	bpf_object__close(obj);
	return 0;
}
