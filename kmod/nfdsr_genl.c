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
#include <linux/rhashtable.h>
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

static const struct nla_policy nfdsr_svc_backend_policy[NFDSR_SBA_MAX + 1] = {
	[NFDSR_SBA_IP] = { .type = NLA_BE32 },
	[NFDSR_SBA_PORT] = { .type = NLA_BE16 },
	[NFDSR_SBA_ROUTE_MARK] = { .type = NLA_U32 },
};

static const struct nla_policy nfdsr_policy[NFDSR_A_MAX + 1] = {
	[NFDSR_A_ENTRY_MARK] = { .type = NLA_U32 },
	[NFDSR_A_FLOW_MAX] = { .type = NLA_U32 },
	[NFDSR_A_TCP_TIMEOUT] = { .type = NLA_U32 },
	[NFDSR_A_TCP_CLOSE_TIMEOUT] = { .type = NLA_U32 },
	[NFDSR_A_UDP_TIMEOUT] = { .type = NLA_U32 },
	[NFDSR_A_BINDINGS] = NLA_POLICY_NESTED_ARRAY(nfdsr_binding_policy),
	[NFDSR_A_ROUTE_MARK_MASK] = { .type = NLA_U32 },
	[NFDSR_A_SVC_PROTO] = { .type = NLA_U8 },
	[NFDSR_A_SVC_VIP] = { .type = NLA_BE32 },
	[NFDSR_A_SVC_PORT] = { .type = NLA_BE16 },
	[NFDSR_A_SVC_KIND] = { .type = NLA_U8 },
	[NFDSR_A_SVC_FLAGS] = { .type = NLA_U32 },
	[NFDSR_A_SVC_HASH_SEED] = { .type = NLA_U32 },
	[NFDSR_A_SVC_BACKEND] = NLA_POLICY_NESTED(nfdsr_svc_backend_policy),
	[NFDSR_A_SVC_TABLE_SIZE] = { .type = NLA_U32 },
	[NFDSR_A_SVC_TABLE] = { .type = NLA_BINARY, .len = NFDSR_TABLE_CHUNK * sizeof(u16) },
	[NFDSR_A_SVC_EST_TABLE_SIZE] = { .type = NLA_U32 },
	[NFDSR_A_SVC_EST_TABLE] = { .type = NLA_BINARY, .len = NFDSR_TABLE_CHUNK * sizeof(u16) },
	[NFDSR_A_LOOKUP_CLIENT_IP] = { .type = NLA_BE32 },
	[NFDSR_A_LOOKUP_CLIENT_PORT] = { .type = NLA_BE16 },
	[NFDSR_A_LOOKUP_TCP_FLAGS] = { .type = NLA_U8 },
	[NFDSR_A_SVC_DUMP_FLAGS] = { .type = NLA_U32 },
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
	a = info->attrs[NFDSR_A_ROUTE_MARK_MASK];
	if (a)
		cfg->route_mark_mask = nla_get_u32(a);
	if (cfg->route_mark_mask & cfg->entry_mark) {
		NL_SET_ERR_MSG_ATTR(info->extack, a ? a : info->attrs[NFDSR_A_ENTRY_MARK],
				    "nfdsr: route mark mask overlaps the entry mark");
		return -EINVAL;
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
		cfg->route_mark_mask = cur->route_mark_mask;
	}
	err = nfdsr_parse_params(info, cfg);
	if (!err && !nfdsr_svc_marks_within(nn, cfg->route_mark_mask)) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[NFDSR_A_ROUTE_MARK_MASK],
				    "nfdsr: route mark mask leaves out route marks of configured services");
		err = -EINVAL;
	}
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
	u32 services = nfdsr_svc_count(nn);
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
		shown.route_mark_mask = cfg->route_mark_mask;
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
	    nla_put_u32(msg, NFDSR_A_ROUTE_MARK_MASK, shown.route_mark_mask) ||
	    nla_put_u32(msg, NFDSR_A_BINDING_COUNT, bindings) ||
	    nla_put_u32(msg, NFDSR_A_SVC_COUNT, services) ||
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
			if (nfdsr_flow_is_drain(f)) /* the entry path's, not a backend flow */
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

/* ---- the service table (NFDSR_CMD_SVC_*) ---- */

static bool nfdsr_is_prime(u32 m)
{
	u32 d;

	if (m < 2)
		return false;
	for (d = 2; d <= m / d; d++)
		if (m % d == 0)
			return false;
	return true;
}

/* NFDSR_A_SVC_PROTO, _VIP, _PORT, _KIND: all required, validated. */
static int nfdsr_parse_svc_key(struct genl_info *info, struct nfdsr_svc_key *k)
{
	static const int required[] = {
		NFDSR_A_SVC_PROTO, NFDSR_A_SVC_VIP, NFDSR_A_SVC_PORT, NFDSR_A_SVC_KIND,
	};
	struct nlattr **tb = info->attrs;
	int i;

	for (i = 0; i < ARRAY_SIZE(required); i++) {
		if (!tb[required[i]]) {
			/* the missing type goes to userspace as NLMSGERR_ATTR_MISS_TYPE */
			NL_SET_ERR_ATTR_MISS(info->extack, NULL, required[i]);
			NL_SET_ERR_MSG(info->extack,
				       "nfdsr: service lacks NFDSR_A_SVC_PROTO, _VIP, _PORT or _KIND");
			return -EINVAL;
		}
	}
	memset(k, 0, sizeof(*k));
	k->proto = nla_get_u8(tb[NFDSR_A_SVC_PROTO]);
	k->vip = nla_get_in_addr(tb[NFDSR_A_SVC_VIP]);
	k->port = nla_get_be16(tb[NFDSR_A_SVC_PORT]);
	k->kind = nla_get_u8(tb[NFDSR_A_SVC_KIND]);
	if (k->proto != IPPROTO_TCP && k->proto != IPPROTO_UDP) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[NFDSR_A_SVC_PROTO],
				    "nfdsr: service protocol must be TCP or UDP");
		return -EINVAL;
	}
	if (!nfdsr_unicast_addr(k->vip)) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[NFDSR_A_SVC_VIP],
				    "nfdsr: service address must be unicast");
		return -EINVAL;
	}
	if (!k->port) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[NFDSR_A_SVC_PORT],
				    "nfdsr: service port must be non-zero");
		return -EINVAL;
	}
	if (k->kind >= __NFDSR_SVC_KIND_MAX) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[NFDSR_A_SVC_KIND], "nfdsr: unknown service kind");
		return -EINVAL;
	}
	return 0;
}

/* A Maglev table size attribute: absent = 0, else 0 or a prime <= limit. */
static int nfdsr_parse_table_size(struct genl_info *info, int type, u32 *m)
{
	struct nlattr *a = info->attrs[type];

	*m = a ? nla_get_u32(a) : 0;
	if (*m && (*m > NFDSR_MAGLEV_SIZE_LIMIT || !nfdsr_is_prime(*m))) {
		NL_SET_ERR_MSG_ATTR(info->extack, a,
				    "nfdsr: Maglev table size must be 0 or a prime <= 1048573");
		return -EINVAL;
	}
	return 0;
}

static int nfdsr_parse_svc_backend(const struct nlattr *nest, struct nfdsr_svc_backend *b,
				   u32 route_mark_mask, struct netlink_ext_ack *extack)
{
	struct nlattr *tb[NFDSR_SBA_MAX + 1];
	int err;

	err = nla_parse_nested(tb, NFDSR_SBA_MAX, nest, nfdsr_svc_backend_policy, extack);
	if (err)
		return err;
	if (!tb[NFDSR_SBA_IP] || !tb[NFDSR_SBA_PORT]) {
		NL_SET_ERR_MSG_ATTR(extack, nest, "nfdsr: backend lacks NFDSR_SBA_IP or NFDSR_SBA_PORT");
		return -EINVAL;
	}
	b->ip = nla_get_in_addr(tb[NFDSR_SBA_IP]);
	b->port = nla_get_be16(tb[NFDSR_SBA_PORT]);
	b->route_mark = tb[NFDSR_SBA_ROUTE_MARK] ? nla_get_u32(tb[NFDSR_SBA_ROUTE_MARK]) : 0;
	if (!nfdsr_unicast_addr(b->ip)) {
		NL_SET_ERR_MSG_ATTR(extack, tb[NFDSR_SBA_IP], "nfdsr: backend address must be unicast");
		return -EINVAL;
	}
	if (!b->port) {
		NL_SET_ERR_MSG_ATTR(extack, tb[NFDSR_SBA_PORT], "nfdsr: backend port must be non-zero");
		return -EINVAL;
	}
	if (b->route_mark & ~route_mark_mask) {
		NL_SET_ERR_MSG_ATTR(extack, tb[NFDSR_SBA_ROUTE_MARK],
				    "nfdsr: backend route mark outside the namespace's route mark mask");
		return -EINVAL;
	}
	return 0;
}

/*
 * Copy the chunks of one table (every top-level attribute of type `type`,
 * in order) into t[0..m): each an even number of bytes, together exactly m
 * entries, each entry < n.
 */
static int nfdsr_parse_svc_table(struct genl_info *info, int type, u16 *t, u32 m, u32 n)
{
	const struct nlattr *a, *last = NULL;
	u32 got = 0, i;
	int rem;

	nla_for_each_attr(a, genlmsg_data(info->genlhdr), genlmsg_len(info->genlhdr), rem) {
		u32 k;

		if (nla_type(a) != type)
			continue;
		last = a;
		k = nla_len(a) / sizeof(u16);
		if (nla_len(a) % sizeof(u16) || k > m - got) {
			NL_SET_ERR_MSG_ATTR(info->extack, a,
					    "nfdsr: Maglev table chunks do not add up to the table size");
			return -EINVAL;
		}
		memcpy(t + got, nla_data(a), k * sizeof(u16));
		for (i = got; i < got + k; i++) {
			if (t[i] >= n) {
				NL_SET_ERR_MSG_ATTR(info->extack, a,
						    "nfdsr: Maglev table entry names no backend");
				return -EINVAL;
			}
		}
		got += k;
	}
	if (got != m) {
		NL_SET_ERR_MSG_ATTR(info->extack, last ? last : info->attrs[type - 1],
				    "nfdsr: Maglev table chunks do not add up to the table size");
		return -EINVAL;
	}
	return 0;
}

static u32 nfdsr_count_attrs(struct genl_info *info, int type)
{
	const struct nlattr *a;
	u32 n = 0;
	int rem;

	nla_for_each_attr(a, genlmsg_data(info->genlhdr), genlmsg_len(info->genlhdr), rem)
		n += nla_type(a) == type;
	return n;
}

/* Build a service from a SVC_SET message; route marks checked against mask. */
static struct nfdsr_svc *nfdsr_parse_svc(struct genl_info *info, u32 route_mark_mask, int *errp)
{
	struct nlattr **tb = info->attrs;
	struct nfdsr_svc_key key;
	const struct nlattr *a;
	struct nfdsr_svc *s;
	u32 n, m, m_est, flags, i = 0;
	int rem, err;

	err = nfdsr_parse_svc_key(info, &key);
	if (err)
		goto fail;
	flags = tb[NFDSR_A_SVC_FLAGS] ? nla_get_u32(tb[NFDSR_A_SVC_FLAGS]) : 0;
	err = -EINVAL;
	if (flags & ~NFDSR_SVC_F_ALL) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[NFDSR_A_SVC_FLAGS], "nfdsr: unknown service flags");
		goto fail;
	}
	if ((flags & NFDSR_SVC_F_OPTION) && (flags & NFDSR_SVC_F_CLASSIC)) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[NFDSR_A_SVC_FLAGS],
				    "nfdsr: a classic service carries no option");
		goto fail;
	}
	n = nfdsr_count_attrs(info, NFDSR_A_SVC_BACKEND);
	if (n > NFDSR_SVC_BACKENDS_LIMIT) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[NFDSR_A_SVC_BACKEND],
				    "nfdsr: too many backends (limit 65535)");
		goto fail;
	}
	err = nfdsr_parse_table_size(info, NFDSR_A_SVC_TABLE_SIZE, &m);
	if (!err)
		err = nfdsr_parse_table_size(info, NFDSR_A_SVC_EST_TABLE_SIZE, &m_est);
	if (err)
		goto fail;
	err = -EINVAL;
	if ((m || m_est) && !n) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[m ? NFDSR_A_SVC_TABLE_SIZE : NFDSR_A_SVC_EST_TABLE_SIZE],
				    "nfdsr: Maglev table without backends");
		goto fail;
	}
	if (m_est && key.proto != IPPROTO_TCP) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[NFDSR_A_SVC_EST_TABLE_SIZE],
				    "nfdsr: only TCP services drain (established table)");
		goto fail;
	}
	s = nfdsr_svc_alloc(n, m, m_est);
	if (!s) {
		err = -ENOMEM;
		goto fail;
	}
	s->key = key;
	s->flags = flags;
	s->hash_seed = tb[NFDSR_A_SVC_HASH_SEED] ? nla_get_u32(tb[NFDSR_A_SVC_HASH_SEED]) : 0;
	nla_for_each_attr(a, genlmsg_data(info->genlhdr), genlmsg_len(info->genlhdr), rem) {
		if (nla_type(a) != NFDSR_A_SVC_BACKEND)
			continue;
		err = nfdsr_parse_svc_backend(a, &s->backends[i++], route_mark_mask, info->extack);
		if (err)
			goto free;
	}
	err = nfdsr_parse_svc_table(info, NFDSR_A_SVC_TABLE, s->table, m, n);
	if (!err)
		err = nfdsr_parse_svc_table(info, NFDSR_A_SVC_EST_TABLE, s->est_table, m_est, n);
	if (err)
		goto free;
	err = nfdsr_svc_has_duplicate(s);
	if (err > 0) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[NFDSR_A_SVC_BACKEND],
				    "nfdsr: a backend (address, port) is listed twice");
		err = -EINVAL;
	}
	if (err)
		goto free;
	return s;
free:
	nfdsr_svc_free(s);
fail:
	*errp = err;
	return NULL;
}

static int nfdsr_cmd_svc_set(struct sk_buff *skb, struct genl_info *info)
{
	struct nfdsr_net *nn = nfdsr_pernet(genl_info_net(info));
	const struct nfdsr_config *cfg;
	struct nfdsr_svc *s;
	int err = 0;

	mutex_lock(&nn->lock);
	cfg = rcu_dereference_protected(nn->cfg, lockdep_is_held(&nn->lock));
	if (!cfg) {
		NL_SET_ERR_MSG(info->extack, "nfdsr: SET the namespace first");
		err = -ENOTCONN;
		goto out;
	}
	s = nfdsr_parse_svc(info, cfg->route_mark_mask, &err);
	if (!s)
		goto out;
	err = nfdsr_svc_publish(nn, s); /* frees s on error */
	if (err == -ENOSPC)
		NL_SET_ERR_MSG(info->extack, "nfdsr: too many services (limit 1048576)");
	else if (err)
		NL_SET_ERR_MSG(info->extack, "nfdsr: cannot insert the service");
out:
	mutex_unlock(&nn->lock);
	return err;
}

static int nfdsr_cmd_svc_del(struct sk_buff *skb, struct genl_info *info)
{
	struct nfdsr_net *nn = nfdsr_pernet(genl_info_net(info));
	struct nfdsr_svc_key key;
	int err;

	err = nfdsr_parse_svc_key(info, &key);
	if (err)
		return err;
	mutex_lock(&nn->lock);
	err = nfdsr_svc_remove(nn, &key);
	mutex_unlock(&nn->lock);
	if (err == -ENOENT)
		NL_SET_ERR_MSG(info->extack, "nfdsr: no such service");
	return err;
}

static int nfdsr_put_svc_key(struct sk_buff *msg, const struct nfdsr_svc_key *k)
{
	return nla_put_u8(msg, NFDSR_A_SVC_PROTO, k->proto) ||
	       nla_put_in_addr(msg, NFDSR_A_SVC_VIP, k->vip) ||
	       nla_put_be16(msg, NFDSR_A_SVC_PORT, k->port) ||
	       nla_put_u8(msg, NFDSR_A_SVC_KIND, k->kind) ? -EMSGSIZE : 0;
}

/*
 * The packet tracer: the entry path's choice (nfdsr_svc_choose, the same
 * function the hook uses), without recording or refreshing drain flows.
 */
static int nfdsr_cmd_svc_lookup(struct sk_buff *skb, struct genl_info *info)
{
	struct nfdsr_net *nn = nfdsr_pernet(genl_info_net(info));
	struct nlattr **tb = info->attrs;
	const struct nfdsr_config *cfg;
	struct nfdsr_svc_choice c;
	struct nfdsr_svc_key key;
	const struct nfdsr_svc *s;
	struct sk_buff *msg;
	__be32 client;
	__be16 cport;
	u8 flags;
	void *hdr;
	int err;

	err = nfdsr_parse_svc_key(info, &key);
	if (err)
		return err;
	if (!tb[NFDSR_A_LOOKUP_CLIENT_IP] || !tb[NFDSR_A_LOOKUP_CLIENT_PORT]) {
		NL_SET_ERR_MSG(info->extack,
			       "nfdsr: lookup lacks NFDSR_A_LOOKUP_CLIENT_IP or _CLIENT_PORT");
		return -EINVAL;
	}
	client = nla_get_in_addr(tb[NFDSR_A_LOOKUP_CLIENT_IP]);
	cport = nla_get_be16(tb[NFDSR_A_LOOKUP_CLIENT_PORT]);
	flags = tb[NFDSR_A_LOOKUP_TCP_FLAGS] ? nla_get_u8(tb[NFDSR_A_LOOKUP_TCP_FLAGS]) : 0;
	if (key.proto != IPPROTO_TCP)
		flags = 0;

	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	rcu_read_lock();
	cfg = rcu_dereference(nn->cfg);
	s = cfg ? nfdsr_svc_lookup(nn, &key) : NULL;
	if (s)
		nfdsr_svc_choose(nn, cfg, s, client, cport, flags, &c);
	rcu_read_unlock();
	if (!s) {
		nlmsg_free(msg);
		NL_SET_ERR_MSG(info->extack, "nfdsr: no such service");
		return -ENOENT;
	}
	hdr = genlmsg_put_reply(msg, info, &nfdsr_genl_family, 0, NFDSR_CMD_SVC_LOOKUP);
	if (!hdr || nfdsr_put_svc_key(msg, &key) ||
	    nla_put_in_addr(msg, NFDSR_A_LOOKUP_CLIENT_IP, client) ||
	    nla_put_be16(msg, NFDSR_A_LOOKUP_CLIENT_PORT, cport) ||
	    nla_put_u8(msg, NFDSR_A_LOOKUP_TCP_FLAGS, flags) ||
	    nla_put_u32(msg, NFDSR_A_LOOKUP_BUCKET, c.bucket) ||
	    nla_put_u8(msg, NFDSR_A_LOOKUP_TABLE, c.table) ||
	    (c.backend >= 0 && nla_put_u32(msg, NFDSR_A_LOOKUP_BACKEND, c.backend))) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

/*
 * SVC_DUMP. A service can be far bigger than a dump skb (65535 backends,
 * two tables of up to 1048573 entries), so it may be sent in parts: every
 * message names the service (PROTO, VIP, PORT, KIND); the first part also
 * has FLAGS, HASH_SEED, the table sizes and NO_BACKEND, then each part
 * continues the sequence backends, table entries, established table
 * entries (chunks of at most NFDSR_TABLE_CHUNK entries) where the previous
 * one stopped. State across rounds: an rhashtable walker (it stays on the
 * service being sent) and how far that service got. A service replaced
 * between two parts is sent again from its first part; a table resize
 * during the dump restarts the walk (services may then repeat: the last
 * copy counts).
 */
struct nfdsr_svc_dump {
	struct rhashtable_iter iter;
	const struct nfdsr_svc *cur; /* compared only, never dereferenced */
	struct nfdsr_svc_key key;
	u32 next;                    /* items of cur already sent */
	bool counters_only;          /* NFDSR_SVC_DUMP_COUNTERS: no tables */
};

static int nfdsr_svc_dump_start(struct netlink_callback *cb)
{
	struct nfdsr_net *nn = nfdsr_pernet(sock_net(cb->skb->sk));
	struct nfdsr_svc_dump *d = kzalloc(sizeof(*d), GFP_KERNEL);

	const struct nlattr *flags;

	if (!d)
		return -ENOMEM;
	/* the request's attributes, read directly (the dumpit info differs
	 * between kernel versions) */
	flags = nla_find(nlmsg_attrdata(cb->nlh, GENL_HDRLEN), nlmsg_attrlen(cb->nlh, GENL_HDRLEN),
			 NFDSR_A_SVC_DUMP_FLAGS);
	if (flags && nla_len(flags) == sizeof(u32))
		d->counters_only = nla_get_u32(flags) & NFDSR_SVC_DUMP_COUNTERS;
	nfdsr_svc_walk_enter(nn, &d->iter);
	cb->args[0] = (long)d;
	return 0;
}

static int nfdsr_svc_dump_done(struct netlink_callback *cb)
{
	struct nfdsr_svc_dump *d = (struct nfdsr_svc_dump *)cb->args[0];

	if (d) {
		rhashtable_walk_exit(&d->iter);
		kfree(d);
	}
	return 0;
}

static int nfdsr_put_svc_backend(struct sk_buff *msg, const struct nfdsr_svc *s, u32 i)
{
	const struct nfdsr_svc_backend *b = &s->backends[i];
	struct nlattr *nest = nla_nest_start(msg, NFDSR_A_SVC_BACKEND);
	u64 packets, bytes;

	if (!nest)
		return -EMSGSIZE;
	nfdsr_svc_backend_totals(s, i, &packets, &bytes);
	if (nla_put_in_addr(msg, NFDSR_SBA_IP, b->ip) ||
	    nla_put_be16(msg, NFDSR_SBA_PORT, b->port) ||
	    nla_put_u32(msg, NFDSR_SBA_ROUTE_MARK, b->route_mark) ||
	    nla_put_u64_64bit(msg, NFDSR_SBA_PACKETS, packets, NFDSR_SBA_PAD) ||
	    nla_put_u64_64bit(msg, NFDSR_SBA_BYTES, bytes, NFDSR_SBA_PAD)) {
		nla_nest_cancel(msg, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(msg, nest);
	return 0;
}

/* One part of s from item *next on: 0 when s is complete, -EMSGSIZE when
 * the skb is full (*next tells how far it got). */
static int nfdsr_fill_svc(struct sk_buff *msg, struct netlink_callback *cb,
			  const struct nfdsr_svc *s, u32 *next, bool counters_only)
{
	u32 total = s->n + (counters_only ? 0 : s->m + s->m_est), done = *next;
	void *hdr;

	hdr = genlmsg_put(msg, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &nfdsr_genl_family, NLM_F_MULTI, NFDSR_CMD_SVC_DUMP);
	if (!hdr)
		return -EMSGSIZE;
	if (nfdsr_put_svc_key(msg, &s->key))
		goto cancel;
	if (!done &&
	    (nla_put_u32(msg, NFDSR_A_SVC_FLAGS, s->flags) ||
	     nla_put_u32(msg, NFDSR_A_SVC_HASH_SEED, s->hash_seed) ||
	     nla_put_u32(msg, NFDSR_A_SVC_TABLE_SIZE, s->m) ||
	     nla_put_u32(msg, NFDSR_A_SVC_EST_TABLE_SIZE, s->m_est) ||
	     nla_put_u64_64bit(msg, NFDSR_A_SVC_NO_BACKEND, nfdsr_svc_no_backend_total(s),
			       NFDSR_A_PAD)))
		goto cancel;
	for (; done < s->n; done++)
		if (nfdsr_put_svc_backend(msg, s, done))
			goto end;
	while (done < total) {
		bool est = done >= s->n + s->m;
		u32 off = done - s->n - (est ? s->m : 0);
		u32 left = (est ? s->m_est : s->m) - off;
		int room = ((int)skb_tailroom(msg) - NLA_HDRLEN - NLA_ALIGNTO) / (int)sizeof(u16);
		u32 k = min3(left, NFDSR_TABLE_CHUNK, (u32)max(room, 0));

		if (!k || nla_put(msg, est ? NFDSR_A_SVC_EST_TABLE : NFDSR_A_SVC_TABLE,
				  k * sizeof(u16), (est ? s->est_table : s->table) + off))
			break;
		done += k;
	}
end:
	if (*next && done == *next)
		goto cancel; /* nothing but the name fitted */
	genlmsg_end(msg, hdr);
	*next = done;
	return done == total ? 0 : -EMSGSIZE;
cancel:
	genlmsg_cancel(msg, hdr);
	return -EMSGSIZE;
}

static int nfdsr_cmd_svc_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct nfdsr_svc_dump *d = (struct nfdsr_svc_dump *)cb->args[0];
	struct nfdsr_svc *s;

	rhashtable_walk_start(&d->iter);
	for (;;) {
		s = rhashtable_walk_peek(&d->iter);
		if (IS_ERR(s)) {
			if (PTR_ERR(s) == -EAGAIN)
				continue; /* resized: the walk starts over */
			break;
		}
		if (!s)
			break;
		if (s != d->cur || memcmp(&s->key, &d->key, sizeof(d->key))) {
			d->cur = s;
			d->key = s->key;
			d->next = 0;
		}
		if (nfdsr_fill_svc(skb, cb, s, &d->next, d->counters_only))
			break; /* skb full: this service goes on in the next round */
		d->cur = NULL;
		rhashtable_walk_next(&d->iter);
	}
	rhashtable_walk_stop(&d->iter);
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
	{
		.cmd = NFDSR_CMD_SVC_SET,
		.doit = nfdsr_cmd_svc_set,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = NFDSR_CMD_SVC_DEL,
		.doit = nfdsr_cmd_svc_del,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = NFDSR_CMD_SVC_LOOKUP,
		.doit = nfdsr_cmd_svc_lookup,
		.flags = GENL_UNS_ADMIN_PERM,
	},
};

/* Commands that need start/done (full genl_ops). */
static const struct genl_ops nfdsr_genl_full_ops[] = {
	{
		.cmd = NFDSR_CMD_SVC_DUMP,
		.start = nfdsr_svc_dump_start,
		.dumpit = nfdsr_cmd_svc_dump,
		.done = nfdsr_svc_dump_done,
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
	.ops = nfdsr_genl_full_ops,
	.n_ops = ARRAY_SIZE(nfdsr_genl_full_ops),
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
