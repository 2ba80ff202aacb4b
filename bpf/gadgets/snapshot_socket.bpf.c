// snapshot_socket: every TCP and UDP socket from the tcp and udp iterators,
// and, from a task_file iterator, which processes hold each socket inode.
#include "gadget/common.h"
#include "gadget/filter.h"
#include "snapshot_task.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define S_IFMT 0170000
#define S_IFSOCK 0140000
#define TCP_TIME_WAIT 6
#define TCP_NEW_SYN_RECV 12

struct socket_entry {
	__u64 netns_id;
	__u64 ino;
	__u32 uid;
	__u16 family;
	__u16 proto;
	__u16 sport;    // host byte order
	__u16 dport;    // host byte order
	__u8 state;     // TCP state numbering (UDP: 1 connected, 7 unconnected)
	__u8 _pad[7];
	__u8 saddr[16]; // IPv4 in the first 4 bytes
	__u8 daddr[16];
};

struct socket_owner {
	struct gadget_proc proc;
	__u64 ino;
	__u32 fd;
	__u32 _pad;
};
GADGET_EVENT(struct socket_owner);

// Keeps the socket record type in the object's BTF for the Python decoder.
const struct socket_entry *unused_socket_entry __attribute__((unused));

static __always_inline void fill_common(struct socket_entry *e, struct sock_common *skc)
{
	e->family = BPF_CORE_READ(skc, skc_family);
	e->state = BPF_CORE_READ(skc, skc_state);
	e->sport = BPF_CORE_READ(skc, skc_num);
	e->dport = __builtin_bswap16(BPF_CORE_READ(skc, skc_dport));
	e->netns_id = BPF_CORE_READ(skc, skc_net.net, ns.inum);
	if (e->family == AF_INET6) {
		BPF_CORE_READ_INTO(&e->saddr, skc, skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&e->daddr, skc, skc_v6_daddr);
	} else {
		BPF_CORE_READ_INTO((__u32 *)e->saddr, skc, skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)e->daddr, skc, skc_daddr);
	}
}

SEC("iter/tcp")
int snapshot_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct socket_entry e = {};

	if (!skc)
		return 0;
	fill_common(&e, skc);
	if (e.family != AF_INET && e.family != AF_INET6)
		return 0;
	e.proto = IPPROTO_TCP;
	e.uid = ctx->uid;
	// time-wait and request socks are not full socks: no socket inode
	if (e.state != TCP_TIME_WAIT && e.state != TCP_NEW_SYN_RECV)
		e.ino = BPF_CORE_READ((struct sock *)skc, sk_socket, file, f_inode, i_ino);
	bpf_seq_write(ctx->meta->seq, &e, sizeof(e));
	return 0;
}

SEC("iter/udp")
int snapshot_udp(struct bpf_iter__udp *ctx)
{
	struct udp_sock *udp = ctx->udp_sk;
	struct socket_entry e = {};
	struct sock *sk;

	if (!udp)
		return 0;
	sk = (struct sock *)udp;
	fill_common(&e, &sk->__sk_common);
	if (e.family != AF_INET && e.family != AF_INET6)
		return 0;
	e.proto = IPPROTO_UDP;
	e.uid = ctx->uid;
	e.ino = BPF_CORE_READ(sk, sk_socket, file, f_inode, i_ino);
	bpf_seq_write(ctx->meta->seq, &e, sizeof(e));
	return 0;
}

SEC("iter/task_file")
int socket_owners(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct socket_owner o = {};
	__u16 mode;

	if (!task || !file)
		return 0;
	mode = BPF_CORE_READ(file, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return 0;
	snapshot_fill_proc(&o.proc, task);
	if (snapshot_discard(&o.proc))
		return 0;
	o.ino = BPF_CORE_READ(file, f_inode, i_ino);
	o.fd = ctx->fd;
	bpf_seq_write(ctx->meta->seq, &o, sizeof(o));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
