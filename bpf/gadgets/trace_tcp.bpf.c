// trace_tcp: TCP connect, accept and close with both endpoints (v4 and v6),
// the network namespace and the error.
//
// connect/accept come from the syscalls' exits in the calling task (the
// socket is found from the descriptor); sockets seen there are remembered
// with their process so that the close, reported by tcp:tcp_destroy_sock in
// whatever context the kernel frees them, is attributed too.
// sock:inet_sock_set_state reports connections that leave SYN_SENT later
// (non-blocking connect) as established or failed.
#include "gadget/common.h"
#include "gadget/filter.h"
#include "gadget/sock.h"

#define IPPROTO_TCP 6
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_CLOSE 7

#define EV_CONNECT 1
#define EV_ACCEPT 2
#define EV_CLOSE 3
#define EV_ESTABLISHED 4   /* a non-blocking connect completed (or failed) */

struct event {
	struct gadget_proc proc;
	__u64 timestamp;
	struct gadget_endpoints ep;
	__s32 error;   /* 0 or -errno */
	__u32 type;    /* EV_* */
};
GADGET_EVENT(struct event);

struct sock_owner {
	struct gadget_proc proc;
	__u32 pending; /* connect returned EINPROGRESS */
};

/* A connect/accept in flight; connect keeps the destination the caller
 * asked for, since a failed connect leaves the socket without one. */
struct call {
	__s32 fd;
	__u32 pad;
	union {
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} dst;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);   /* tid */
	__type(value, struct call);
} calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);  /* struct sock * */
	__type(value, struct sock_owner);
} owners SEC(".maps");

GADGET_RINGBUF(events, 1 << 20);

static __always_inline int enter_call(int fd, const void *uaddr, __u32 len)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct call c = {.fd = fd};

	if (gadget_should_discard())
		return 0;
	if (uaddr) {
		if (len > sizeof(c.dst))
			len = sizeof(c.dst);
		bpf_probe_read_user(&c.dst, len & 0x3f, uaddr);
	}
	bpf_map_update_elem(&calls, &tid, &c, BPF_ANY);
	return 0;
}

static __always_inline void emit_from_sock(struct sock *sk, __u32 type, long ret,
					   struct call *c)
{
	struct sock_owner owner = {};
	struct event e = {};
	__u64 key = (__u64)sk;
	__u8 state;

	gadget_fill_proc(&e.proc);
	e.timestamp = bpf_ktime_get_boot_ns();
	e.type = type;
	e.error = ret < 0 ? ret : 0;
	gadget_sock_endpoints(sk, &e.ep);
	if (e.ep.protocol != IPPROTO_TCP)
		return;
	if (c && e.ep.dport == 0 && c->dst.in.sin_family == e.ep.family) {
		/* the failed connect cleared the destination: take the caller's */
		e.ep.dport = bpf_ntohs(c->dst.in.sin_port);
		if (e.ep.family == GADGET_AF_INET6)
			__builtin_memcpy(e.ep.daddr, &c->dst.in6.sin6_addr, 16);
		else
			__builtin_memcpy(e.ep.daddr, &c->dst.in.sin_addr, 4);
	}
	gadget_output(&events, &e, sizeof(e));
	if (ret == 0 || ret == -115 /* EINPROGRESS */ || type == EV_ACCEPT) {
		owner.proc = e.proc;
		owner.pending = ret == -115;
		if (owner.pending) {
			/* on loopback the handshake may be over already */
			state = BPF_CORE_READ(sk, __sk_common.skc_state);
			if (state == TCP_ESTABLISHED || state == TCP_CLOSE) {
				owner.pending = 0;
				e.type = EV_ESTABLISHED;
				e.error = state == TCP_CLOSE ? -BPF_CORE_READ(sk, sk_err) : 0;
				if (state == TCP_CLOSE && !e.error)
					e.error = -111; /* ECONNREFUSED */
				gadget_output(&events, &e, sizeof(e));
			}
		}
		if (!(owner.pending == 0 && ret == -115 && e.error))
			bpf_map_update_elem(&owners, &key, &owner, BPF_ANY);
	}
}

SEC("tracepoint/syscalls/sys_enter_connect")
int trace_connect_enter(struct trace_event_raw_sys_enter *ctx)
{
	return enter_call(ctx->args[0], (const void *)ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_connect")
int trace_connect_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	long ret = ctx->ret;
	struct sock *sk;
	struct call *c;

	c = bpf_map_lookup_elem(&calls, &tid);
	if (!c)
		return 0;
	/* EBADF, ENOTSOCK, EFAULT: no socket to describe */
	if (ret != -9 && ret != -88 && ret != -14) {
		sk = gadget_sock_from_fd(c->fd);
		if (sk)
			emit_from_sock(sk, EV_CONNECT, ret, c);
	}
	bpf_map_delete_elem(&calls, &tid);
	return 0;
}

static __always_inline int exit_accept(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct sock *sk;

	if (!bpf_map_lookup_elem(&calls, &tid))
		return 0;
	if (ret >= 0) {
		sk = gadget_sock_from_fd(ret);
		if (sk)
			emit_from_sock(sk, EV_ACCEPT, 0, NULL);
	}
	bpf_map_delete_elem(&calls, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_accept")
int trace_accept_enter(struct trace_event_raw_sys_enter *ctx)
{
	return enter_call(ctx->args[0], NULL, 0);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int trace_accept_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exit_accept(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_accept4")
int trace_accept4_enter(struct trace_event_raw_sys_enter *ctx)
{
	return enter_call(ctx->args[0], NULL, 0);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int trace_accept4_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exit_accept(ctx->ret);
}

static __always_inline void emit_owned(struct sock_owner *owner, const void *skaddr,
				       __u32 type, __s32 error)
{
	struct event e = {};

	e.proc = owner->proc;
	e.timestamp = bpf_ktime_get_boot_ns();
	e.type = type;
	e.error = error;
	gadget_sock_endpoints((struct sock *)skaddr, &e.ep);
	gadget_output(&events, &e, sizeof(e));
}

SEC("tracepoint/sock/inet_sock_set_state")
int trace_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	__u64 key = (__u64)ctx->skaddr;
	struct sock_owner *owner;

	if (ctx->protocol != IPPROTO_TCP || ctx->oldstate != TCP_SYN_SENT)
		return 0;
	owner = bpf_map_lookup_elem(&owners, &key);
	if (!owner || !owner->pending)
		return 0;
	owner->pending = 0;
	if (ctx->newstate == TCP_ESTABLISHED) {
		emit_owned(owner, ctx->skaddr, EV_ESTABLISHED, 0);
	} else {
		__s32 err = -BPF_CORE_READ((struct sock *)ctx->skaddr, sk_err);
		emit_owned(owner, ctx->skaddr, EV_ESTABLISHED, err ? err : -111 /* ECONNREFUSED */);
	}
	return 0;
}

/* The socket is unhashed by now (its local port reads 0): take the
 * endpoints the tracepoint recorded. */
SEC("tracepoint/tcp/tcp_destroy_sock")
int trace_destroy_sock(struct trace_event_raw_tcp_event_sk *ctx)
{
	__u64 key = (__u64)ctx->skaddr;
	struct sock_owner *owner = bpf_map_lookup_elem(&owners, &key);
	struct event e = {};

	if (!owner)
		return 0;
	e.proc = owner->proc;
	e.timestamp = bpf_ktime_get_boot_ns();
	e.type = EV_CLOSE;
	/* the tracepoint's own family field is newer than 5.10: ask the sock */
	e.ep.family = BPF_CORE_READ((struct sock *)ctx->skaddr, __sk_common.skc_family);
	e.ep.protocol = IPPROTO_TCP;
	e.ep.sport = ctx->sport;
	e.ep.dport = ctx->dport;
	e.ep.netns = BPF_CORE_READ((struct sock *)ctx->skaddr, __sk_common.skc_net.net, ns.inum);
	if (e.ep.family == GADGET_AF_INET6) {
		bpf_probe_read_kernel(e.ep.saddr, 16, ctx->saddr_v6);
		bpf_probe_read_kernel(e.ep.daddr, 16, ctx->daddr_v6);
	} else {
		bpf_probe_read_kernel(e.ep.saddr, 4, ctx->saddr);
		bpf_probe_read_kernel(e.ep.daddr, 4, ctx->daddr);
	}
	gadget_output(&events, &e, sizeof(e));
	bpf_map_delete_elem(&owners, &key);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
