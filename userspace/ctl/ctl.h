/* SPDX-License-Identifier: GPL-2.0 */
/*
 * skiffctl: what its subcommands share. A subcommand is one function,
 * int skiff_ctl_NAME(int argc, char **argv), in its own file, declared here
 * and listed in main.c's table: argv[0] is its name, and it parses its own
 * options with getopt_long (optind = 0 first: the parse starts afresh).
 *
 * Exit status, as kubectl: 0 on success, 1 on any failure, a usage error
 * (unknown command or option, missing argument) included.
 */

#ifndef SKIFF_CTL_H
#define SKIFF_CTL_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "client.h"
#include "error.h"

#define SKIFF_CTL_OK 0
#define SKIFF_CTL_FAIL 1

/**
 * struct skiff_ctl_options - the options given before (or with) any command
 * @kubeconfig: --kubeconfig FILE, NULL when not given: a command that talks
 *	to the apiserver then reads $KUBECONFIG or ~/.kube/config, as kubectl
 */
struct skiff_ctl_options {
	const char *kubeconfig;
};

extern struct skiff_ctl_options skiff_ctl;
extern const char *skiff_ctl_prog;

/*
 * The global options, for a command's own getopt_long table too, so that
 * `skiffctl get pods --kubeconfig F` works as with kubectl; the command's
 * switch hands them to skiff_ctl_global_option().
 */
#define SKIFF_CTL_OPT_KUBECONFIG 0x1000
#define SKIFF_CTL_GLOBAL_OPTIONS \
	{ "kubeconfig", required_argument, NULL, SKIFF_CTL_OPT_KUBECONFIG }
void skiff_ctl_global_option(int c, const char *arg);

/**
 * struct skiff_ctl_command - one row of skiffctl's command table
 * @name: the word on the command line
 * @run: called with argv[0] == @name
 * @usage: its arguments, for help ("certs init|issue|show|verify ...")
 * @summary: what it does, one line
 */
struct skiff_ctl_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
	const char *summary;
};

int skiff_ctl_help(int argc, char **argv);
int skiff_ctl_version(int argc, char **argv);
int skiff_ctl_certs(int argc, char **argv);
int skiff_ctl_get(int argc, char **argv);	/* get.c */
int skiff_ctl_describe(int argc, char **argv);	/* get.c */
int skiff_ctl_apply(int argc, char **argv);	/* apply.c */
int skiff_ctl_delete(int argc, char **argv);	/* apply.c */
int skiff_ctl_rollout(int argc, char **argv);	/* rollout.c */
int skiff_ctl_node(int argc, char **argv);	/* node.c */
int skiff_ctl_image(int argc, char **argv);	/* image.c */
int skiff_ctl_dataplane(int argc, char **argv);	/* dataplane.c */

/*
 * Prints "skiffctl: MESSAGE" then @usage (NULL: skiffctl's own) on stderr;
 * returns SKIFF_CTL_FAIL.
 */
int skiff_ctl_usage_error(const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * getopt_long's '?' or ':' (@c) for command @cmd (NULL: skiffctl's own
 * options), in our words: the unknown option or the one missing its
 * value; returns SKIFF_CTL_FAIL.
 * Tables' option strings start with ':' so that ':' is told apart.
 */
int skiff_ctl_option_error(const char *usage, const char *cmd, int c, char **argv);

/* Prints "skiffctl: WHAT: why" (@e's message, else strerror); returns 1. */
int skiff_ctl_fail(const char *what, const struct skiff_error *e);

/* Prints "skiffctl: MESSAGE" on stderr (no usage: not a usage error); returns 1. */
int skiff_ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- common.c: what the commands that talk to the apiserver share ---- */

/**
 * struct skiff_ctl_kind - a kind and the words users call it by
 * @api: where it lives (client.h)
 * @singular: "deployment"
 * @short_name: "deploy", NULL when it has none
 * @group: "apps", "" for the core group
 */
struct skiff_ctl_kind {
	const struct skiff_kind *api;
	const char *singular;
	const char *short_name;
	const char *group;
};

/* The kinds skiffctl knows, ended by one whose @api is NULL. */
extern const struct skiff_ctl_kind skiff_ctl_kinds[];
/* Their names for a message: "pods (po), nodes (no), ...". */
extern const char skiff_ctl_kind_names[];
#define SKIFF_CTL_KIND_NAMES \
	"pods (po), nodes (no), services (svc), endpoints (ep), deployments (deploy),\n" \
	"replicasets (rs), daemonsets (ds), statefulsets (sts), jobs, namespaces (ns),\n" \
	"configmaps (cm), secrets, events (ev), leases"

/*
 * A kind by a user's word, as kubectl takes them, case-insensitive:
 * plural, singular, short name or Kind, alone or with ".GROUP"
 * ("deployments.apps"); NULL when none.
 */
const struct skiff_ctl_kind *skiff_ctl_kind_find(const char *word);
/* A kind by a manifest's apiVersion and kind; NULL when skiffctl has none. */
const struct skiff_ctl_kind *skiff_ctl_kind_of(const char *api_version, const char *kind);
/* "deployment.apps", "pod": how kubectl names a kind in its messages. */
void skiff_ctl_kind_ref(const struct skiff_ctl_kind *k, char *out, size_t size);
/*
 * "TYPE/NAME" into @type and *@name (into @arg), or "TYPE" alone (*@name
 * NULL); -EINVAL when malformed ("/x", "a/", "a/b/c").
 */
int skiff_ctl_split_ref(const char *arg, char *type, size_t size, const char **name);

/**
 * struct skiff_ctl_conn - a connection to the apiserver of the kubeconfig
 * @c: the client (synchronous calls only: no loop)
 * @ns: -n NS, else the context's namespace, else "default"
 * @ns_given: -n was given
 * @error: the last network or TLS failure, in libcurl's words
 * @errors: refusals said at the end (skiff_ctl_defer_error)
 */
struct skiff_ctl_conn {
	struct skiff_client *c;
	char *ns;
	bool ns_given;
	char error[256];
	json_t *errors;
};

/*
 * Reads the kubeconfig as kubectl: --kubeconfig, else the first file of
 * $KUBECONFIG that exists, else ~/.kube/config. @ns is -n's (NULL: not
 * given). 0, or SKIFF_CTL_FAIL after saying why.
 */
int skiff_ctl_connect(struct skiff_ctl_conn *conn, const char *ns);
/* Says the deferred errors, then closes. */
void skiff_ctl_disconnect(struct skiff_ctl_conn *conn);

/* skiff_client_call, remembering a network failure in @conn->error. */
long skiff_ctl_call(struct skiff_ctl_conn *conn, const char *method, const char *path,
		    const char *type, const json_t *body, json_t **answer);
/* GET @path as a meta.k8s.io/v1 Table (the columns kubectl shows). */
long skiff_ctl_get_table(struct skiff_ctl_conn *conn, const char *path, json_t **answer);

/*
 * A failed answer on stderr as kubectl says it: "Error from server
 * (NotFound): WHEN: message", or "Unable to connect to the server: ..."
 * (@code 0). @when may be NULL. Returns SKIFF_CTL_FAIL.
 */
int skiff_ctl_server_error(struct skiff_ctl_conn *conn, long code, const json_t *answer,
			   const char *when);

/*
 * The same, said at skiff_ctl_disconnect(): kubectl says what failed
 * after what was done. Returns SKIFF_CTL_FAIL.
 */
int skiff_ctl_defer_error(struct skiff_ctl_conn *conn, long code, const json_t *answer,
			  const char *when);

/* @s escaped for a URL's query (malloc'd), or NULL. */
char *skiff_ctl_escape(const char *s);
/*
 * The path of @k's collection in @ns (NULL: every namespace) with a label
 * and a field selector (each may be NULL), escaped; malloc'd or NULL.
 */
char *skiff_ctl_list_path(const struct skiff_ctl_kind *k, const char *ns,
			  const char *labels, const char *fields);

/*
 * Text in columns as kubectl writes it through Go's text/tabwriter: cells
 * end with a tab, lines with a newline; columns are as wide as their
 * widest cell plus @padding, at least @minwidth. get's tables use (6, 3),
 * describe (0, 2), as kubectl.
 */
struct skiff_ctl_tab;
struct skiff_ctl_tab *skiff_ctl_tab_new(int minwidth, int padding);
void skiff_ctl_tab_printf(struct skiff_ctl_tab *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Writes what was printed, aligned, to @out, and frees @t. */
void skiff_ctl_tab_flush(struct skiff_ctl_tab *t, FILE *out);

/* Kubernetes' HumanDuration (45s, 3m20s, 5h, 2d3h), kubectl's AGE. */
void skiff_ctl_human_duration(long long seconds, char *out, size_t size);
/* The age of a Kubernetes time stamp, "<unknown>" when there is none. */
void skiff_ctl_age(const char *stamp, char *out, size_t size);

/*
 * @obj on stdout as kubectl -o json (keys sorted, 4 spaces) or -o yaml;
 * SKIFF_CTL_OK or SKIFF_CTL_FAIL.
 */
int skiff_ctl_print(const json_t *obj, bool yaml);

/* Milliseconds of the monotonic clock. */
long long skiff_ctl_now_ms(void);
/* --timeout's value: 0 and *@ms, or a usage error's exit status. */
int skiff_ctl_parse_timeout(const char *usage, const char *what, const char *text,
			    long long *ms);

#endif /* SKIFF_CTL_H */
