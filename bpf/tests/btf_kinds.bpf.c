// Every BTF kind clang emits, bitfields and CO-RE relocations of several kinds:
// the BTF test object for pybpf.btf (parsing, fixups, sanitizing, BTF_LOAD).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task {
	int pid;
	int tgid;
	unsigned int flags:3;
	unsigned int more:5;
	char comm[16] __attribute__((btf_decl_tag("comm_tag")));
	struct task *parent;
} __attribute__((preserve_access_index));

enum state { RUNNING = 1, SLEEPING = 2 };
enum big { HUGE = 0x100000000ULL };
enum neg { MINUS = -5 };

struct event {
	int pid;
	unsigned long long ts;
	char comm[16];
	unsigned char flag:1;
	unsigned char level:4;
	short delta;
	int __attribute__((btf_type_tag("user"))) *uptr;
};

int out;
double ratio = 1.5;
double *ratio_ptr = &ratio;
enum big big_value = HUGE;
enum neg neg_value = MINUS;
const volatile int konst = 5;
struct event sample;

SEC("raw_tp/sys_enter")
int probe(struct task *t)
{
	out = BPF_CORE_READ(t, parent, pid) + bpf_core_field_exists(t->more)
	      + bpf_core_enum_value(enum state, SLEEPING) + bpf_core_type_size(struct task)
	      + konst + BPF_CORE_READ_BITFIELD_PROBED(t, flags);
	sample.pid = out;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
