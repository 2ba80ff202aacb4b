/* libbpf peer for bench_readers.py: loads readers_events.bpf.o, attaches
 * emit_ringbuf or emit_perf for one tgid and consumes with ring_buffer__poll
 * or perf_buffer__poll, reading every event's fields.
 *   consume OBJ ringbuf|perf TGID SIZE
 * SIZE: ring buffer bytes, or perf pages per CPU. Prints "ready" once
 * attached; on SIGUSR1 drains and prints
 * "received lost emitted rb_dropped perf_failed checksum cpu_seconds"
 * (CPU time from "ready" on). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

struct event {
	__u64 seq;
	__u64 ts;
	__u32 pid;
	__u32 tid;
	__u32 cpu;
	__u32 magic;
	char comm[16];
	__u64 arg[2];
};

static volatile sig_atomic_t stop;
static unsigned long long received, lost, checksum;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void take(const struct event *e)
{
	received++;
	checksum += e->seq + e->pid + e->cpu + (e->magic == 0xfeedbeef) + e->arg[0] + (__u8)e->comm[0];
}

static int on_ringbuf(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)size;
	take(data);
	return 0;
}

static void on_sample(void *ctx, int cpu, void *data, __u32 size)
{
	(void)ctx;
	(void)cpu;
	(void)size;
	take(data);
}

static void on_lost(void *ctx, int cpu, __u64 count)
{
	(void)ctx;
	(void)cpu;
	lost += count;
}

int main(int argc, char **argv)
{
	struct ring_buffer *rb = NULL;
	struct perf_buffer *pb = NULL;
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_link *link;
	__u64 stats[4] = {0};
	struct rusage ru0, ru;
	__u32 key = 0, tgid;
	int use_rb, size, n;

	if (argc != 5) {
		fprintf(stderr, "usage: consume OBJ ringbuf|perf TGID SIZE\n");
		return 2;
	}
	use_rb = strcmp(argv[2], "ringbuf") == 0;
	tgid = atoi(argv[3]);
	size = atoi(argv[4]);
	signal(SIGUSR1, on_stop);

	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj)
		return 1;
	bpf_program__set_autoload(bpf_object__find_program_by_name(obj, "emit_perf"), !use_rb);
	bpf_program__set_autoload(bpf_object__find_program_by_name(obj, "emit_ringbuf"), use_rb);
	if (use_rb)
		bpf_map__set_max_entries(bpf_object__find_map_by_name(obj, "rb"), size);
	if (bpf_object__load(obj)) {
		fprintf(stderr, "load failed\n");
		return 1;
	}
	if (bpf_map__update_elem(bpf_object__find_map_by_name(obj, "targ"), &key, 4, &tgid, 4, 0))
		return 1;
	prog = bpf_object__find_program_by_name(obj, use_rb ? "emit_ringbuf" : "emit_perf");
	link = bpf_program__attach(prog);
	if (!link)
		return 1;
	if (use_rb)
		rb = ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj, "rb")),
				      on_ringbuf, NULL, NULL);
	else
		pb = perf_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj, "pb")), size,
				      on_sample, on_lost, NULL, NULL);
	if (!rb && !pb)
		return 1;
	getrusage(RUSAGE_SELF, &ru0);
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		n = use_rb ? ring_buffer__poll(rb, 100) : perf_buffer__poll(pb, 100);
		if (n < 0 && n != -EINTR)
			return 1;
	}
	/* drain what is left */
	do {
		n = use_rb ? ring_buffer__consume(rb) : perf_buffer__consume(pb);
	} while (n > 0);
	for (key = 0; key < 4; key++)
		bpf_map__lookup_elem(bpf_object__find_map_by_name(obj, "stats"), &key, 4,
				     &stats[key], 8, 0);
	getrusage(RUSAGE_SELF, &ru);
	printf("%llu %llu %llu %llu %llu %llu %.6f\n", received, lost, (unsigned long long)stats[0],
	       (unsigned long long)stats[1], (unsigned long long)stats[2], checksum,
	       (ru.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
	       (ru.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
	       (ru.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
	       (ru.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6);
	ring_buffer__free(rb);
	perf_buffer__free(pb);
	bpf_link__destroy(link);
	bpf_object__close(obj);
	return 0;
}
