/* XDP_PASS for everything: attached to the kernel peer's end of a lab veth so that frames
 * threeway answers with XDP_TX (--offload xdp) are delivered there. A veth delivers
 * XDP_TX'ed or redirected frames only to a peer with an XDP program (its NAPI); without
 * one they are dropped silently (GRO-enabled NAPI held them for seconds on Linux 6.18). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int tw_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "Dual MIT/GPL";
