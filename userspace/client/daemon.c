// SPDX-License-Identifier: GPL-2.0
/*
 * Common options and the run of a control-plane daemon.
 */

#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "kubeconfig.h"
#include "util.h"

static const struct option common[] = {
	{ "server", required_argument, NULL, SKIFF_DAEMON_OPT_BASE },
	{ "leader-elect", optional_argument, NULL, SKIFF_DAEMON_OPT_BASE + 1 },
	{ "leader-elect-lease-duration", required_argument, NULL,
	  SKIFF_DAEMON_OPT_BASE + 2 },
	{ "leader-elect-renew-deadline", required_argument, NULL,
	  SKIFF_DAEMON_OPT_BASE + 3 },
	{ "leader-elect-retry-period", required_argument, NULL,
	  SKIFF_DAEMON_OPT_BASE + 4 },
	{ "leader-elect-identity", required_argument, NULL,
	  SKIFF_DAEMON_OPT_BASE + 5 },
	{ "kubeconfig", required_argument, NULL, SKIFF_DAEMON_OPT_BASE + 6 },
};

struct option *skiff_daemon_longopts(const struct option *extra)
{
	size_t n_common = ARRAY_SIZE(common), n = 0;
	struct option *all;

	while (extra[n].name)
		n++;
	all = calloc(n_common + n + 1, sizeof(*all));
	if (!all)
		return NULL;
	memcpy(all, common, sizeof(common));
	memcpy(all + n_common, extra, n * sizeof(*extra));
	return all;
}

void skiff_daemon_init(struct skiff_daemon *d, const char *prog,
		       const char *lease_name)
{
	memset(d, 0, sizeof(*d));
	d->prog = prog;
	d->server = "http://127.0.0.1:8080";
	d->leader_elect = true;
	d->leader.ns = "kube-system";
	d->leader.name = lease_name;
	d->leader.lease_ms = 15000;
	d->leader.renew_ms = 10000;
	d->leader.retry_ms = 2000;
}

static int duration(struct skiff_daemon *d, const char *flag,
		    const char *arg, int64_t *out)
{
	int64_t ms = skiff_parse_duration(arg);

	if (ms <= 0) {
		fprintf(stderr,
			"%s: --%s: not a time span: \"%s\" (say 15s, 500ms or 1m)\n",
			d->prog, flag, arg);
		return -1;
	}
	*out = ms;
	return 1;
}

int skiff_daemon_option(struct skiff_daemon *d, int opt, const char *arg)
{
	switch (opt - SKIFF_DAEMON_OPT_BASE) {
	case 0:
		if (strncmp(arg, "http://", 7) && strncmp(arg, "https://", 8)) {
			fprintf(stderr, "%s: --server: not an http(s) URL: \"%s\"\n",
				d->prog, arg);
			return -1;
		}
		d->server = arg;
		d->server_set = true;
		return 1;
	case 1:
		if (!arg || !strcmp(arg, "true")) {
			d->leader_elect = true;
		} else if (!strcmp(arg, "false")) {
			d->leader_elect = false;
		} else {
			fprintf(stderr, "%s: --leader-elect: want true or false, not \"%s\"\n",
				d->prog, arg);
			return -1;
		}
		return 1;
	case 2:
		return duration(d, "leader-elect-lease-duration", arg,
				&d->leader.lease_ms);
	case 3:
		return duration(d, "leader-elect-renew-deadline", arg,
				&d->leader.renew_ms);
	case 4:
		return duration(d, "leader-elect-retry-period", arg,
				&d->leader.retry_ms);
	case 5:
		if (!*arg) {
			fprintf(stderr, "%s: --leader-elect-identity: empty\n",
				d->prog);
			return -1;
		}
		d->leader.identity = arg;
		return 1;
	case 6:
		if (!*arg) {
			fprintf(stderr, "%s: --kubeconfig: empty\n", d->prog);
			return -1;
		}
		d->kubeconfig = arg;
		return 1;
	}
	return 0;
}

/* As kube-scheduler's --master: a --server given wins over the file's. */
static int client_from_kubeconfig(struct skiff_daemon *d)
{
	struct skiff_kubeconfig kc;
	struct skiff_error e;

	if (skiff_kubeconfig_load(&kc, d->kubeconfig, NULL, &e)) {
		fprintf(stderr, "%s: --kubeconfig: %s\n", d->prog, e.msg);
		return -1;
	}
	if (d->server_set && skiff_kubeconfig_set_server(&kc, d->server, &e)) {
		fprintf(stderr, "%s: --server: %s\n", d->prog, e.msg);
		skiff_kubeconfig_release(&kc);
		return -1;
	}
	d->c = skiff_client_new_config(d->loop, &kc);
	skiff_kubeconfig_release(&kc);
	if (!d->c) {
		fprintf(stderr, "%s: out of memory\n", d->prog);
		return -1;
	}
	d->server = skiff_client_server(d->c);
	return 0;
}

int skiff_daemon_setup(struct skiff_daemon *d)
{
	/* As client-go insists: a renewal must fit in a lease. */
	if (d->leader.renew_ms >= d->leader.lease_ms ||
	    d->leader.retry_ms >= d->leader.renew_ms) {
		fprintf(stderr,
			"%s: leader election wants retry period < renew deadline < lease duration\n",
			d->prog);
		return -1;
	}
	d->loop = skiff_loop_new();
	if (d->loop && d->kubeconfig)
		return client_from_kubeconfig(d);
	d->c = d->loop ? skiff_client_new(d->loop, d->server) : NULL;
	if (!d->c) {
		fprintf(stderr, "%s: out of memory\n", d->prog);
		return -1;
	}
	return 0;
}

int skiff_daemon_run(struct skiff_daemon *d, void (*lead)(void *arg),
		     void *arg)
{
	int err;

	fprintf(stderr, "%s: talking to %s%s\n", d->prog, d->server,
		d->leader_elect ? ", campaigning for leadership" : "");
	if (d->leader_elect) {
		d->elected = skiff_leader_start(d->c, &d->leader, lead, arg);
		if (!d->elected) {
			fprintf(stderr, "%s: out of memory\n", d->prog);
			return 1;
		}
	} else {
		lead(arg);
	}
	err = skiff_loop_run(d->loop);
	skiff_leader_release(d->elected);
	if (err) {
		fprintf(stderr, "%s: event loop failed: %s\n", d->prog,
			strerror(-err));
		return 1;
	}
	fprintf(stderr, "%s: stopped\n", d->prog);
	return 0;
}
