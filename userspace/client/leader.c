// SPDX-License-Identifier: GPL-2.0
/*
 * The campaign is a loop of timers and requests: read the lease, then
 * create it, renew it, take it over, or wait a retry period.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "leader.h"
#include "util.h"

struct skiff_leader {
	struct skiff_client *c;
	struct skiff_leader_config cfg;
	char *identity;
	void (*lead)(void *arg);
	void *arg;
	bool leading;
	int64_t renewed_at;	/* when our last renewal was acknowledged */
	char *observed_rv;	/* the lease record as last seen */
	int64_t observed_at;
	json_t *lease;		/* the last read */
};

static void campaign(void *arg);

#define DIGITS "0123456789."

int64_t skiff_parse_duration(const char *text)
{
	static const struct {
		const char *unit;
		double ms;
	} units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
	};
	const char *p = text;
	double total = 0, v;
	size_t i, len;
	char *end;

	if (!text || !*text)
		return -1;
	/* Plain seconds: what the flags took before units. */
	len = strspn(text, DIGITS);
	if (!text[len]) {
		v = strtod(text, &end);
		return *end || v >= 1e12 ? -1 : (int64_t)(v * 1000);
	}
	/* Go's time.ParseDuration: 1h30m, 1.5s, 500ms. */
	while (*p) {
		len = strspn(p, DIGITS);
		v = strtod(p, &end);
		if (!len || end != p + len)
			return -1;
		for (i = 0; i < ARRAY_SIZE(units); i++) {
			len = strlen(units[i].unit);
			if (!strncmp(end, units[i].unit, len) &&
			    (end[len] < 'a' || end[len] > 'z'))
				break;
		}
		if (i == ARRAY_SIZE(units))
			return -1;
		total += v * units[i].ms;
		p = end + strlen(units[i].unit);
	}
	return total < 1e15 ? (int64_t)total : -1;
}

static void later(struct skiff_leader *l)
{
	skiff_loop_after(skiff_client_loop(l->c), l->cfg.retry_ms, campaign, l);
}

static void check_deadline(struct skiff_leader *l)
{
	if (l->leading &&
	    skiff_now_ms() - l->renewed_at > l->cfg.renew_ms) {
		fprintf(stderr,
			"leader election: lease %s/%s lost (not renewed for %lld ms); exiting\n",
			l->cfg.ns, l->cfg.name,
			(long long)(skiff_now_ms() - l->renewed_at));
		exit(1);
	}
}

static void written(long code, json_t *answer, void *arg)
{
	struct skiff_leader *l = arg;

	if (code == 200 || code == 201) {
		l->renewed_at = skiff_now_ms();
		json_decref(l->lease);
		l->lease = json_incref(answer);
		if (!l->leading) {
			l->leading = true;
			fprintf(stderr, "leader election: %s leads %s/%s\n",
				l->identity, l->cfg.ns, l->cfg.name);
			l->lead(l->arg);
		}
	} else {
		check_deadline(l);
	}
	later(l);
}

/* A lease record saying we hold it, on top of @base (or a new one). */
static json_t *our_lease(struct skiff_leader *l, const json_t *base,
			 bool acquire)
{
	json_t *lease = base ? json_deep_copy(base) : NULL, *spec;
	char now[40];

	if (!lease)
		lease = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{}}",
				  "apiVersion", "coordination.k8s.io/v1",
				  "kind", "Lease", "metadata", "name",
				  l->cfg.name, "namespace", l->cfg.ns,
				  "spec");
	if (!lease)
		return NULL;
	spec = json_object_get(lease, "spec");
	if (!spec) {
		spec = json_object();
		json_object_set_new(lease, "spec", spec);
	}
	skiff_microtime_now(now, sizeof(now));
	json_object_set_new(spec, "holderIdentity", json_string(l->identity));
	json_object_set_new(spec, "leaseDurationSeconds",
			    json_integer((l->cfg.lease_ms + 999) / 1000));
	json_object_set_new(spec, "renewTime", json_string(now));
	if (acquire) {
		json_object_set_new(spec, "acquireTime", json_string(now));
		json_object_set_new(spec, "leaseTransitions",
				    json_integer(skiff_int(spec, "leaseTransitions", -1) + 1));
	}
	return lease;
}

static void write_lease(struct skiff_leader *l, const json_t *base,
			bool acquire)
{
	json_t *lease = our_lease(l, base, acquire);
	int err;

	if (!lease) {
		later(l);
		return;
	}
	if (base)
		err = skiff_client_send(l->c, "PUT",
					skiff_path(&skiff_leases, l->cfg.ns,
						   l->cfg.name, NULL),
					NULL, lease, written, l);
	else
		err = skiff_client_send(l->c, "POST",
					skiff_path(&skiff_leases, l->cfg.ns,
						   NULL, NULL),
					NULL, lease, written, l);
	json_decref(lease);
	if (err)
		later(l);
}

static void read_lease(long code, json_t *answer, void *arg)
{
	struct skiff_leader *l = arg;
	const char *holder, *rv;
	int64_t now = skiff_now_ms();

	if (code == 404) {
		write_lease(l, NULL, true);
		return;
	}
	if (code != 200) {
		check_deadline(l);
		later(l);
		return;
	}
	holder = skiff_str(answer, "spec.holderIdentity");
	rv = skiff_meta(answer, "resourceVersion") ?: "";
	if (!l->observed_rv || strcmp(l->observed_rv, rv)) {
		free(l->observed_rv);
		l->observed_rv = strdup(rv);
		l->observed_at = now;
	}
	if (holder && !strcmp(holder, l->identity)) {
		write_lease(l, answer, !l->leading);
		return;
	}
	if (l->leading) {
		fprintf(stderr, "leader election: lease %s/%s taken by %s; exiting\n",
			l->cfg.ns, l->cfg.name, holder ?: "nobody");
		exit(1);
	}
	/* Free (released) or not renewed for a lease duration: take it. */
	if (!holder || !*holder ||
	    now - l->observed_at >= l->cfg.lease_ms) {
		write_lease(l, answer, true);
		return;
	}
	later(l);
}

static void campaign(void *arg)
{
	struct skiff_leader *l = arg;

	if (skiff_client_send(l->c, "GET",
			      skiff_path(&skiff_leases, l->cfg.ns, l->cfg.name,
					 NULL), NULL, NULL, read_lease, l))
		later(l);
}

struct skiff_leader *skiff_leader_start(struct skiff_client *c,
					const struct skiff_leader_config *cfg,
					void (*lead)(void *arg), void *arg)
{
	struct skiff_leader *l = calloc(1, sizeof(*l));
	char host[256];

	if (!l)
		return NULL;
	l->c = c;
	l->cfg = *cfg;
	l->lead = lead;
	l->arg = arg;
	if (cfg->identity) {
		l->identity = strdup(cfg->identity);
	} else {
		if (gethostname(host, sizeof(host)))
			strcpy(host, "localhost");
		host[sizeof(host) - 1] = '\0';
		if (asprintf(&l->identity, "%s_%d", host, (int)getpid()) < 0)
			l->identity = NULL;
	}
	if (!l->identity) {
		free(l);
		return NULL;
	}
	campaign(l);
	return l;
}

void skiff_leader_release(struct skiff_leader *l)
{
	json_t *lease, *spec;
	char *path;

	if (!l)
		return;
	path = skiff_path(&skiff_leases, l->cfg.ns, l->cfg.name, NULL);
	if (l->leading && l->lease && path) {
		lease = json_deep_copy(l->lease);
		spec = json_object_get(lease, "spec");
		/* As client-go releases: nobody holds it, for one second. */
		json_object_set_new(spec, "holderIdentity", json_string(""));
		json_object_set_new(spec, "leaseDurationSeconds", json_integer(1));
		skiff_client_call(l->c, "PUT", path, NULL, lease, NULL);
		json_decref(lease);
	}
	free(path);
	json_decref(l->lease);
	free(l->observed_rv);
	free(l->identity);
	free(l);
}
