/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What skiff-scheduler and skiff-controller-manager share on the command
 * line and at run time: the apiserver to talk to and leader election.
 *
 *	--kubeconfig FILE                server, TLS and credentials
 *	--server URL                     (default http://127.0.0.1:8080;
 *					  over the kubeconfig's server)
 *	--leader-elect[=true|false]      (default true)
 *	--leader-elect-lease-duration D  (default 15s)
 *	--leader-elect-renew-deadline D  (default 10s)
 *	--leader-elect-retry-period D    (default 2s)
 *	--leader-elect-identity NAME     (default hostname_pid)
 */

#ifndef SKIFF_DAEMON_H
#define SKIFF_DAEMON_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "client.h"
#include "leader.h"

#define SKIFF_DAEMON_OPT_BASE 1000

/*
 * The common long options followed by @extra (ended by a NULL name), for
 * getopt_long(); malloc'd. Their values are SKIFF_DAEMON_OPT_BASE + n.
 */
struct option *skiff_daemon_longopts(const struct option *extra);

#define SKIFF_DAEMON_USAGE						\
	"  --kubeconfig FILE   the apiserver, its CA and our credentials\n"	\
	"                      (kubeconfig format; its current-context)\n"	\
	"  --server URL        the apiserver (default http://127.0.0.1:8080);\n" \
	"                      given with --kubeconfig, it overrides its server\n" \
	"  --leader-elect[=BOOL]  one of several replicas leads (default true)\n" \
	"  --leader-elect-lease-duration D  (default 15s; D as 15s, 500ms, 1m)\n" \
	"  --leader-elect-renew-deadline D  (default 10s)\n"		\
	"  --leader-elect-retry-period D    (default 2s)\n"		\
	"  --leader-elect-identity NAME     (default hostname_pid)\n"

struct skiff_daemon {
	const char *prog;
	const char *server;
	bool server_set;	/* --server given: wins over the kubeconfig's */
	const char *kubeconfig;
	bool leader_elect;
	struct skiff_leader_config leader;
	struct skiff_loop *loop;
	struct skiff_client *c;
	struct skiff_leader *elected;
};

/* Defaults; @lease_name is the Lease in kube-system. */
void skiff_daemon_init(struct skiff_daemon *d, const char *prog,
		       const char *lease_name);

/*
 * One of SKIFF_DAEMON_LONGOPTS: 1 when @opt is one (and valid), 0 when
 * not ours, -1 when its value is bad (said on stderr).
 */
int skiff_daemon_option(struct skiff_daemon *d, int opt, const char *arg);

/* Checks the options together and makes the loop and client: 0 or -1. */
int skiff_daemon_setup(struct skiff_daemon *d);

/*
 * Runs the loop; @lead(@arg) is called when this process leads (at once
 * without --leader-elect). Returns the exit status.
 */
int skiff_daemon_run(struct skiff_daemon *d, void (*lead)(void *arg),
		     void *arg);

#endif /* SKIFF_DAEMON_H */
