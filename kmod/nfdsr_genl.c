// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink control interface (family "nfdsr", see uapi/nfdsr.h).
 * Everything arriving here is validated before any state changes: strict
 * attribute policies, then range and semantic checks with an extack message
 * that names the offending attribute. A rejected SET changes nothing.
 */
#include <linux/inetdevice.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include "nfdsr_internal.h"

static struct genl_family nfdsr_genl_family;

static const struct nla_policy nfdsr_binding_policy[NFDSR_BA_MAX + 1] = {
	[NFDSR_BA_PROTO] = { .type = NLA_U8 },
	[NFDSR_BA_VIP] = { .type = NLA_BE32 },
	[NFDSR_BA_VPORT] = { .type = NLA_BE16 },
	[NFDSR_BA_BACKEND_IP] = { .type = NLA_BE32 },
	[NFDSR_BA_BACKEND_PORT] = { .type = NLA_BE16 },
};

static const struct nla_policy nfdsr_policy[NFDSR_A_MAX + 1] = {
	[NFDSR_A_ENTRY_MARK] = { .type = NLA_U32 },
	[NFDSR_A_FLOW_MAX] = { .type = NLA_U32 },
	[NFDSR_A_TCP_TIMEOUT] = { .type = NLA_U32 },
	[NFDSR_A_TCP_CLOSE_TIMEOUT] = { .type = NLA_U32 },
	[NFDSR_A_UDP_TIMEOUT] = { .type = NLA_U32 },
	[NFDSR_A_BINDINGS] = NLA_POLICY_NESTED_ARRAY(nfdsr_binding_policy),
};

static bool nfdsr_unicast_addr(__be32 a)
{
	return !ipv4_is_zeronet(a) && !ipv4_is_multicast(a) && !ipv4_is_lbcast(a);
}

static int nfdsr_parse_timeout(struct genl_info *info, int type, u32 *out)
{
	struct nlattr *a = info->attrs[type];
	u32 v;

	if (!a)
		return 0;
	v = nla_get_u32(a);
	if (v < 1 || v > NFDSR_TIMEOUT_LIMIT) {
		NL_SET_ERR_MSG_ATTR(info->extack, a, "nfdsr: timeout must be 1..604800 seconds");
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int nfdsr_parse_params(struct genl_info *info, struct nfdsr_config *cfg)
{
	struct nlattr *a;
	int err;

	a = info->attrs[NFDSR_A_ENTRY_MARK];
	if (a) {
		cfg->entry_mark = nla_get_u32(a);
		if (!cfg->entry_mark) {
			NL_SET_ERR_MSG_ATTR(info->extack, a, "nfdsr: entry mark must be non-zero");
			return -EINVAL;
		}
	}
	a = info->attrs[NFDSR_A_FLOW_MAX];
	if (a) {
		cfg->flow_max = nla_get_u32(a);
		if (cfg->flow_max < 1 || cfg->flow_max > NFDSR_FLOW_MAX_LIMIT) {
			NL_SET_ERR_MSG_ATTR(info->extack, a, "nfdsr: flow_max must be 1..16777216");
			return -EINVAL;
		}
	}
	err = nfdsr_parse_timeout(info, NFDSR_A_TCP_TIMEOUT, &cfg->tcp_timeout);
	if (!err)
		err = nfdsr_parse_timeout(info, NFDSR_A_TCP_CLOSE_TIMEOUT, &cfg->tcp_close_timeout);
	if (!err)
		err = nfdsr_parse_timeout(info, NFDSR_A_UDP_TIMEOUT, &cfg->udp_timeout);
	return err;
}

static int nfdsr_parse_binding(const struct nlattr *nest, struct nfdsr_binding *b,
			       struct netlink_ext_ack *extack)
{
	struct nlattr *tb[NFDSR_BA_MAX + 1];
	int err, i;

	err = nla_parse_nested(tb, NFDSR_BA_MAX, nest, nfdsr_binding_policy, extack);
	if (err)
		return err;
	for (i = NFDSR_BA_PROTO; i <= NFDSR_BA_MAX; i++) {
		if (!tb[i]) {
			NL_SET_ERR_MSG_ATTR(extack, nest, "nfdsr: binding lacks an attribute");
			return -EINVAL;
		}
	}
	b->proto = nla_get_u8(tb[NFDSR_BA_PROTO]);
	b->vip = nla_get_in_addr(tb[NFDSR_BA_VIP]);
	b->vport = nla_get_be16(tb[NFDSR_BA_VPORT]);
	b->backend_ip = nla_get_in_addr(tb[NFDSR_BA_BACKEND_IP]);
	b->backend_port = nla_get_be16(tb[NFDSR_BA_BACKEND_PORT]);
	if (b->proto != IPPROTO_TCP && b->proto != IPPROTO_UDP) {
		NL_SET_ERR_MSG_ATTR(extack, tb[NFDSR_BA_PROTO], "nfdsr: protocol must be TCP or UDP");
		return -EINVAL;
	}
	if (!b->vport || !b->backend_port) {
		NL_SET_ERR_MSG_ATTR(extack, nest, "nfdsr: ports must be non-zero");
		return -EINVAL;
	}
	if (!nfdsr_unicast_addr(b->vip) || !nfdsr_unicast_addr(b->backend_ip)) {
		NL_SET_ERR_MSG_ATTR(extack, nest, "nfdsr: addresses must be unicast");
		return -EINVAL;
	}
	return 0;
}

/* The new binding list: from the message, or a copy of the current one. */
static int nfdsr_collect_bindings(struct genl_info *info, const struct nfdsr_config *cur,
				  struct nfdsr_binding **out, u32 *count)
{
	struct nlattr *list = info->attrs[NFDSR_A_BINDINGS];
	struct nfdsr_binding *v;
	const struct nlattr *nest;
	u32 n = 0, i;
	int rem, lrem, err;

	if (!list) {
		if (!cur || !cur->bindings.count) {
			*out = NULL;
			*count = 0;
			return 0;
		}
		v = kvcalloc(cur->bindings.count, sizeof(*v), GFP_KERNEL);
		if (!v)
			return -ENOMEM;
		for (i = 0; i <= cur->bindings.slot_mask; i++)
			if (cur->bindings.slots[i].proto)
				v[n++] = cur->bindings.slots[i];
		*out = v;
		*count = n;
		return 0;
	}

	/* Every NFDSR_A_BINDINGS nest of the message counts (see uapi). */
	nla_for_each_attr(list, genlmsg_data(info->genlhdr), genlmsg_len(info->genlhdr), lrem) {
		if (nla_type(list) != NFDSR_A_BINDINGS)
			continue;
		nla_for_each_nested(nest, list, rem)
			n++;
	}
	if (n > NFDSR_BINDINGS_LIMIT) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[NFDSR_A_BINDINGS],
				    "nfdsr: too many bindings (limit 65536)");
		return -E2BIG;
	}
	v = kvcalloc(max_t(u32, n, 1), sizeof(*v), GFP_KERNEL);
	if (!v)
		return -ENOMEM;
	i = 0;
	nla_for_each_attr(list, genlmsg_data(info->genlhdr), genlmsg_len(info->genlhdr), lrem) {
		if (nla_type(list) != NFDSR_A_BINDINGS)
			continue;
		nla_for_each_nested(nest, list, rem) {
			if (i >= n)
				break;
			err = nfdsr_parse_binding(nest, &v[i++], info->extack);
			if (err) {
				kvfree(v);
				return err;
			}
		}
	}
	*out = v;
	*count = n;
	return 0;
}

static int nfdsr_cmd_set(struct sk_buff *skb, struct genl_info *info)
{
	struct nfdsr_net *nn = nfdsr_pernet(genl_info_net(info));
	const struct nfdsr_config *cur;
	struct nfdsr_binding *list = NULL;
	struct nfdsr_config *cfg;
	u32 count = 0;
	int err;

	cfg = kzalloc(sizeof(*cfg), GFP_KERNEL);
	if (!cfg)
		return -ENOMEM;

	mutex_lock(&nn->lock);
	cur = rcu_dereference_protected(nn->cfg, lockdep_is_held(&nn->lock));
	nfdsr_config_defaults(cfg);
	if (cur) {
		cfg->entry_mark = cur->entry_mark;
		cfg->flow_max = cur->flow_max;
		cfg->tcp_timeout = cur->tcp_timeout;
		cfg->tcp_close_timeout = cur->tcp_close_timeout;
		cfg->udp_timeout = cur->udp_timeout;
	}
	err = nfdsr_parse_params(info, cfg);
	if (!err)
		err = nfdsr_collect_bindings(info, cur, &list, &count);
	if (!err)
		err = nfdsr_bindings_build(&cfg->bindings, list, count);
	kvfree(list);
	if (err) {
		nfdsr_bindings_free(&cfg->bindings);
		kfree(cfg);
		goto out;
	}
	err = nfdsr_config_publish(nn, cfg, info->extack); /* frees cfg on error */
out:
	mutex_unlock(&nn->lock);
	return err;
}

static int nfdsr_cmd_flush(struct sk_buff *skb, struct genl_info *info)
{
	struct nfdsr_net *nn = nfdsr_pernet(genl_info_net(info));

	mutex_lock(&nn->lock);
	nfdsr_config_reset(nn);
	mutex_unlock(&nn->lock);
	return 0;
}

static int nfdsr_fill_get(struct sk_buff *msg, struct nfdsr_net *nn)
{
	const struct nfdsr_config *cfg;
	struct nfdsr_config shown;
	u64 ctr[NFDSR_CTR_MAX];
	struct nlattr *nest;
	u32 bindings = 0;
	int i;

	nfdsr_config_defaults(&shown);
	rcu_read_lock();
	cfg = rcu_dereference(nn->cfg);
	if (cfg) {
		shown.entry_mark = cfg->entry_mark;
		shown.flow_max = cfg->flow_max;
		shown.tcp_timeout = cfg->tcp_timeout;
		shown.tcp_close_timeout = cfg->tcp_close_timeout;
		shown.udp_timeout = cfg->udp_timeout;
		bindings = cfg->bindings.count;
	}
	rcu_read_unlock();
	nfdsr_counters_read(nn, ctr);

	if (nla_put_string(msg, NFDSR_A_VERSION, NFDSR_VERSION) ||
	    nla_put_u32(msg, NFDSR_A_ENTRY_MARK, shown.entry_mark) ||
	    nla_put_u32(msg, NFDSR_A_FLOW_MAX, shown.flow_max) ||
	    nla_put_u32(msg, NFDSR_A_TCP_TIMEOUT, shown.tcp_timeout) ||
	    nla_put_u32(msg, NFDSR_A_TCP_CLOSE_TIMEOUT, shown.tcp_close_timeout) ||
	    nla_put_u32(msg, NFDSR_A_UDP_TIMEOUT, shown.udp_timeout) ||
	    nla_put_u32(msg, NFDSR_A_BINDING_COUNT, bindings) ||
	    nla_put_u32(msg, NFDSR_A_FLOW_COUNT, atomic_read(&nn->flows.count)) ||
	    nla_put_u8(msg, NFDSR_A_HOOKS, READ_ONCE(nn->hooks_registered)))
		return -EMSGSIZE;
	nest = nla_nest_start(msg, NFDSR_A_COUNTERS);
	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < NFDSR_CTR_MAX; i++)
		if (nla_put_u64_64bit(msg, i + 1, ctr[i], NFDSR_CTR_ATTR_PAD))
			return -EMSGSIZE;
	nla_nest_end(msg, nest);
	return 0;
}

static int nfdsr_cmd_get(struct sk_buff *skb, struct genl_info *info)
{
	struct nfdsr_net *nn = nfdsr_pernet(genl_info_net(info));
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &nfdsr_genl_family, 0, NFDSR_CMD_GET);
	if (!hdr || nfdsr_fill_get(msg, nn)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int nfdsr_fill_flow(struct sk_buff *msg, struct netlink_callback *cb,
			   const struct nfdsr_flow *f, unsigned long now)
{
	void *hdr = genlmsg_put(msg, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
				&nfdsr_genl_family, NLM_F_MULTI, NFDSR_CMD_FLOW_DUMP);
	struct nlattr *nest;

	if (!hdr)
		return -EMSGSIZE;
	nest = nla_nest_start(msg, NFDSR_A_FLOW);
	if (!nest ||
	    nla_put_u8(msg, NFDSR_FA_PROTO, f->key.proto) ||
	    nla_put_in_addr(msg, NFDSR_FA_CLIENT_IP, f->key.client_ip) ||
	    nla_put_be16(msg, NFDSR_FA_CLIENT_PORT, f->key.client_port) ||
	    nla_put_in_addr(msg, NFDSR_FA_BACKEND_IP, f->key.backend_ip) ||
	    nla_put_be16(msg, NFDSR_FA_BACKEND_PORT, f->key.backend_port) ||
	    nla_put_in_addr(msg, NFDSR_FA_VIP, f->vip) ||
	    nla_put_be16(msg, NFDSR_FA_VPORT, f->vport) ||
	    nla_put_u32(msg, NFDSR_FA_IDLE_MS,
			jiffies_to_msecs(now - READ_ONCE(f->last_seen))) ||
	    nla_put_u8(msg, NFDSR_FA_CLOSING,
		       !!(READ_ONCE(f->state) & (NFDSR_FLOW_CLIENT_FIN | NFDSR_FLOW_BACKEND_FIN | NFDSR_FLOW_RST)))) {
		genlmsg_cancel(msg, hdr);
		return -EMSGSIZE;
	}
	nla_nest_end(msg, nest);
	genlmsg_end(msg, hdr);
	return 0;
}

/* cb->args[0]: next bucket, cb->args[1]: entries of it already sent. */
static int nfdsr_cmd_flow_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct nfdsr_net *nn = nfdsr_pernet(sock_net(skb->sk));
	struct nfdsr_flow_table *t = &nn->flows;
	unsigned long now = jiffies;
	unsigned long bucket = cb->args[0];
	unsigned long skip = cb->args[1];
	struct hlist_head *buckets;

	rcu_read_lock();
	buckets = READ_ONCE(t->buckets);
	if (!buckets)
		goto done;
	for (; bucket <= t->bucket_mask; bucket++, skip = 0) {
		const struct nfdsr_flow *f;
		unsigned long idx = 0;

		hlist_for_each_entry_rcu(f, &buckets[bucket], node) {
			if (idx++ < skip)
				continue;
			if (nfdsr_fill_flow(skb, cb, f, now)) {
				cb->args[0] = bucket;
				cb->args[1] = idx - 1;
				goto out;
			}
		}
	}
done:
	cb->args[0] = ULONG_MAX;
out:
	rcu_read_unlock();
	return skb->len;
}

static int nfdsr_fill_binding(struct sk_buff *msg, struct netlink_callback *cb,
			      const struct nfdsr_binding *b)
{
	void *hdr = genlmsg_put(msg, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
				&nfdsr_genl_family, NLM_F_MULTI, NFDSR_CMD_BINDING_DUMP);
	struct nlattr *nest;

	if (!hdr)
		return -EMSGSIZE;
	nest = nla_nest_start(msg, NFDSR_A_BINDING);
	if (!nest ||
	    nla_put_u8(msg, NFDSR_BA_PROTO, b->proto) ||
	    nla_put_in_addr(msg, NFDSR_BA_VIP, b->vip) ||
	    nla_put_be16(msg, NFDSR_BA_VPORT, b->vport) ||
	    nla_put_in_addr(msg, NFDSR_BA_BACKEND_IP, b->backend_ip) ||
	    nla_put_be16(msg, NFDSR_BA_BACKEND_PORT, b->backend_port)) {
		genlmsg_cancel(msg, hdr);
		return -EMSGSIZE;
	}
	nla_nest_end(msg, nest);
	genlmsg_end(msg, hdr);
	return 0;
}

/*
 * cb->args[0]: next slot of the binding table. A SET between two parts of
 * a dump would make it mix two tables; the manager, the only writer, does
 * not dump and set at the same time.
 */
static int nfdsr_cmd_binding_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct nfdsr_net *nn = nfdsr_pernet(sock_net(skb->sk));
	const struct nfdsr_config *cfg;
	unsigned long slot = cb->args[0];

	rcu_read_lock();
	cfg = rcu_dereference(nn->cfg);
	if (!cfg || !cfg->bindings.count)
		goto done;
	for (; slot <= cfg->bindings.slot_mask; slot++) {
		const struct nfdsr_binding *b = &cfg->bindings.slots[slot];

		if (!b->proto)
			continue;
		if (nfdsr_fill_binding(skb, cb, b)) {
			cb->args[0] = slot;
			goto out;
		}
	}
done:
	cb->args[0] = ULONG_MAX;
out:
	rcu_read_unlock();
	return skb->len;
}

static const struct genl_small_ops nfdsr_genl_ops[] = {
	{
		.cmd = NFDSR_CMD_GET,
		.doit = nfdsr_cmd_get,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = NFDSR_CMD_SET,
		.doit = nfdsr_cmd_set,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = NFDSR_CMD_FLUSH,
		.doit = nfdsr_cmd_flush,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = NFDSR_CMD_FLOW_DUMP,
		.dumpit = nfdsr_cmd_flow_dump,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = NFDSR_CMD_BINDING_DUMP,
		.dumpit = nfdsr_cmd_binding_dump,
		.flags = GENL_UNS_ADMIN_PERM,
	},
};

static struct genl_family nfdsr_genl_family __ro_after_init = {
	.name = NFDSR_GENL_NAME,
	.version = NFDSR_GENL_VERSION,
	.maxattr = NFDSR_A_MAX,
	.policy = nfdsr_policy,
	.netnsok = true,
	.module = THIS_MODULE,
	.small_ops = nfdsr_genl_ops,
	.n_small_ops = ARRAY_SIZE(nfdsr_genl_ops),
	.resv_start_op = NFDSR_CMD_MAX + 1, /* strict validation for every command */
};

int __init nfdsr_genl_init(void)
{
	return genl_register_family(&nfdsr_genl_family);
}

void nfdsr_genl_exit(void)
{
	genl_unregister_family(&nfdsr_genl_family);
}
