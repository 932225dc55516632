// SPDX-License-Identifier: GPL-2.0
/*
 * nfdsr.ko: the part of nfdsr's DSR data path that nftables cannot do.
 *
 *  - entry node: for packets nftables marked, look the service up in the
 *    module's service table, grow the IPv4 header with the DSR option
 *    (Cilium's format), pick the backend from the service's Maglev table and
 *    rewrite the destination; answer oversized UDP with an ICMP that quotes
 *    the header the client sent;
 *  - backend node: accept the option only for bound services, strip it,
 *    remember the flow, and rewrite the replies' source to the service.
 *
 * Everything is per network namespace. Hooks are registered in a namespace
 * only while it is configured, so other namespaces (and flushed ones) pay
 * nothing.
 */
#include <linux/module.h>
#include <linux/netfilter_ipv4.h>
#include <linux/slab.h>
#include <net/genetlink.h>
#include <net/netfilter/ipv4/nf_defrag_ipv4.h>

#include "nfdsr_internal.h"

unsigned int nfdsr_net_id __read_mostly;

static const struct nf_hook_ops nfdsr_hook_ops[] = {
	{
		.hook = nfdsr_entry_hook,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = NFDSR_PRIO_KMOD_ATTACH,
	},
	{
		.hook = nfdsr_backend_ingress_hook,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = NFDSR_PRIO_KMOD_INGRESS,
	},
	{
		.hook = nfdsr_backend_egress_hook,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_POST_ROUTING,
		.priority = NFDSR_PRIO_KMOD_EGRESS,
	},
};

void nfdsr_counters_read(struct nfdsr_net *nn, u64 out[NFDSR_CTR_MAX])
{
	int cpu, i;

	memset(out, 0, sizeof(u64) * NFDSR_CTR_MAX);
	for_each_possible_cpu(cpu) {
		const struct nfdsr_counters *c = per_cpu_ptr(nn->ctr, cpu);

		for (i = 0; i < NFDSR_CTR_MAX; i++)
			out[i] += READ_ONCE(c->c[i]);
	}
}

void nfdsr_config_defaults(struct nfdsr_config *cfg)
{
	cfg->entry_mark = NFDSR_DEFAULT_ENTRY_MARK;
	cfg->flow_max = NFDSR_DEFAULT_FLOW_MAX;
	cfg->tcp_timeout = NFDSR_DEFAULT_TCP_TIMEOUT;
	cfg->tcp_close_timeout = NFDSR_DEFAULT_TCP_CLOSE_TIMEOUT;
	cfg->udp_timeout = NFDSR_DEFAULT_UDP_TIMEOUT;
	cfg->route_mark_mask = 0;
}

static void nfdsr_config_free(struct nfdsr_config *cfg)
{
	nfdsr_bindings_free(&cfg->bindings);
	kfree(cfg);
}

static void nfdsr_config_free_rcu(struct rcu_head *head)
{
	nfdsr_config_free(container_of(head, struct nfdsr_config, rcu));
}

/*
 * Install a fully built and validated config (takes ownership). Allocates
 * the flow table and registers the hooks the first time; on failure the old
 * config stays and the new one is freed.
 */
int nfdsr_config_publish(struct nfdsr_net *nn, struct nfdsr_config *cfg,
			 struct netlink_ext_ack *extack)
{
	struct nfdsr_config *old;
	int err;

	lockdep_assert_held(&nn->lock);
	cfg->tcp_timeout_j = (unsigned long)cfg->tcp_timeout * HZ;
	cfg->tcp_close_timeout_j = (unsigned long)cfg->tcp_close_timeout * HZ;
	cfg->udp_timeout_j = (unsigned long)cfg->udp_timeout * HZ;

	err = nfdsr_flow_table_init(nn, cfg->flow_max);
	if (err) {
		NL_SET_ERR_MSG(extack, "nfdsr: cannot allocate the flow table");
		goto fail;
	}
	if (!nn->hooks_registered) {
		/*
		 * IPv4 reassembly before our hooks (nf_defrag_ipv4 runs at -400
		 * in prerouting and output, as for conntrack): nftables and the
		 * module then see whole datagrams, so fragments are classified,
		 * hashed and dispatched by their real ports, get the option once
		 * (the forward path refragments, copying it into every fragment:
		 * its type has the copy flag), and replies leave whole through
		 * the egress rewrite before the output path fragments them.
		 */
		err = nf_defrag_ipv4_enable(nn->net);
		if (err) {
			NL_SET_ERR_MSG(extack, "nfdsr: cannot enable IPv4 defragmentation");
			goto fail;
		}
		err = nf_register_net_hooks(nn->net, nfdsr_hook_ops, ARRAY_SIZE(nfdsr_hook_ops));
		if (err) {
			nf_defrag_ipv4_disable(nn->net);
			NL_SET_ERR_MSG(extack, "nfdsr: cannot register netfilter hooks");
			goto fail;
		}
		nn->hooks_registered = true;
	}
	old = rcu_replace_pointer(nn->cfg, cfg, lockdep_is_held(&nn->lock));
	if (old)
		call_rcu(&old->rcu, nfdsr_config_free_rcu);
	return 0;
fail:
	nfdsr_config_free(cfg);
	return err;
}

/*
 * Back to "not configured": the hooks go away (a flushed namespace pays
 * nothing, as one never configured), services and flows are dropped.
 * nf_unregister_net_hooks() waits for packets still inside them.
 */
void nfdsr_config_reset(struct nfdsr_net *nn)
{
	struct nfdsr_config *old;

	lockdep_assert_held(&nn->lock);
	if (nn->hooks_registered) {
		nf_unregister_net_hooks(nn->net, nfdsr_hook_ops, ARRAY_SIZE(nfdsr_hook_ops));
		nf_defrag_ipv4_disable(nn->net);
		nn->hooks_registered = false;
	}
	old = rcu_replace_pointer(nn->cfg, NULL, lockdep_is_held(&nn->lock));
	if (old)
		call_rcu(&old->rcu, nfdsr_config_free_rcu);
	nfdsr_svc_flush(nn);
	nfdsr_flow_table_flush(nn);
}

static int __net_init nfdsr_net_init(struct net *net)
{
	struct nfdsr_net *nn = nfdsr_pernet(net);

	nn->net = net;
	mutex_init(&nn->lock);
	RCU_INIT_POINTER(nn->cfg, NULL);
	nn->ctr = alloc_percpu(struct nfdsr_counters);
	if (!nn->ctr)
		return -ENOMEM;
	if (nfdsr_svc_table_init(nn)) {
		free_percpu(nn->ctr);
		return -ENOMEM;
	}
	return 0;
}

static void __net_exit nfdsr_net_exit(struct net *net)
{
	struct nfdsr_net *nn = nfdsr_pernet(net);
	struct nfdsr_config *cfg;

	if (nn->hooks_registered) {
		nf_unregister_net_hooks(net, nfdsr_hook_ops, ARRAY_SIZE(nfdsr_hook_ops));
		nf_defrag_ipv4_disable(net);
	}
	nn->hooks_registered = false;
	nfdsr_flow_table_destroy(nn); /* waits for a grace period */
	nfdsr_svc_table_destroy(nn);
	cfg = rcu_dereference_protected(nn->cfg, 1);
	RCU_INIT_POINTER(nn->cfg, NULL);
	if (cfg) {
		synchronize_rcu();
		nfdsr_config_free(cfg);
	}
	free_percpu(nn->ctr);
}

static struct pernet_operations nfdsr_net_ops = {
	.init = nfdsr_net_init,
	.exit = nfdsr_net_exit,
	.id = &nfdsr_net_id,
	.size = sizeof(struct nfdsr_net),
};

static int __init nfdsr_init(void)
{
	int err;

	err = nfdsr_flow_cache_init();
	if (err)
		return err;
	err = register_pernet_subsys(&nfdsr_net_ops);
	if (err)
		goto err_cache;
	err = nfdsr_genl_init();
	if (err)
		goto err_pernet;
	pr_info("nfdsr " NFDSR_VERSION " loaded\n");
	return 0;

err_pernet:
	unregister_pernet_subsys(&nfdsr_net_ops);
err_cache:
	nfdsr_flow_cache_exit();
	return err;
}

static void __exit nfdsr_exit(void)
{
	nfdsr_genl_exit();
	unregister_pernet_subsys(&nfdsr_net_ops);
	nfdsr_flow_cache_exit();
	pr_info("nfdsr unloaded\n");
}

module_init(nfdsr_init);
module_exit(nfdsr_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("nfdsr developers");
MODULE_DESCRIPTION("nfdsr: DSR load balancing data path (IPv4 option attach/strip, reply source rewrite)");
MODULE_VERSION(NFDSR_VERSION);
MODULE_ALIAS_GENL_FAMILY(NFDSR_GENL_NAME);
