// trace_bind: bind() on IPv4/IPv6 sockets with the address and port (read
// from the caller's sockaddr), protocol, socket options (SO_REUSEADDR,
// SO_REUSEPORT), the bound device (SO_BINDTODEVICE) and the result.
#include "gadget/common.h"
#include "gadget/filter.h"
#include "gadget/sock.h"

#define OPT_REUSEADDR 1
#define OPT_REUSEPORT 2

const volatile bool targ_ignore_errors = false;

struct event {
	struct gadget_proc proc;
	__u64 timestamp;
	__u8 addr[16];     /* network byte order; IPv4 in the first 4 bytes */
	__s32 ret;
	__u16 port;
	__u16 family;
	__u16 protocol;
	__u16 sock_type;
	__u32 opts;        /* OPT_* */
	__s32 bound_dev_if;
};
GADGET_EVENT(struct event);

struct call {
	__s32 fd;
	__u32 pad;
	union {
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct call);
} calls SEC(".maps");

GADGET_RINGBUF(events, 1 << 20);

SEC("tracepoint/syscalls/sys_enter_bind")
int trace_bind_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct call c = {};
	__u32 len = ctx->args[2];

	if (gadget_should_discard())
		return 0;
	c.fd = ctx->args[0];
	if (len > sizeof(c.addr))
		len = sizeof(c.addr);
	if (bpf_probe_read_user(&c.addr, len & 0x3f, (void *)ctx->args[1]))
		return 0;
	if (c.addr.in.sin_family != GADGET_AF_INET && c.addr.in.sin_family != GADGET_AF_INET6)
		return 0;
	bpf_map_update_elem(&calls, &tid, &c, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_bind")
int trace_bind_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct call *c = bpf_map_lookup_elem(&calls, &tid);
	long ret = ctx->ret;
	struct event e = {};
	struct sock *sk;

	if (!c)
		return 0;
	if (targ_ignore_errors && ret < 0)
		goto out;
	gadget_fill_proc(&e.proc);
	e.timestamp = bpf_ktime_get_boot_ns();
	e.ret = ret;
	e.family = c->addr.in.sin_family;
	e.port = bpf_ntohs(c->addr.in.sin_port);
	if (e.family == GADGET_AF_INET6)
		__builtin_memcpy(e.addr, &c->addr.in6.sin6_addr, 16);
	else
		__builtin_memcpy(e.addr, &c->addr.in.sin_addr, 4);
	/* EBADF, ENOTSOCK: no socket behind the descriptor */
	if (ret != -9 && ret != -88) {
		sk = gadget_sock_from_fd(c->fd);
		if (sk) {
			e.protocol = BPF_CORE_READ(sk, sk_protocol);
			e.sock_type = BPF_CORE_READ(sk, sk_type);
			e.bound_dev_if = BPF_CORE_READ(sk, __sk_common.skc_bound_dev_if);
			if (BPF_CORE_READ_BITFIELD_PROBED(sk, __sk_common.skc_reuse))
				e.opts |= OPT_REUSEADDR;
			if (BPF_CORE_READ_BITFIELD_PROBED(sk, __sk_common.skc_reuseport))
				e.opts |= OPT_REUSEPORT;
		}
	}
	gadget_output(&events, &e, sizeof(e));
out:
	bpf_map_delete_elem(&calls, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
