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

#endif /* SKIFF_CTL_H */
