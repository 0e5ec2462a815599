// SPDX-License-Identifier: GPL-2.0
/*
 * skiff-dp service set|del|show, skiff-dp cluster-cidr: Services.
 *
 *   service set VIP:PORT/PROTO [affinity SECONDS] [local]
 *               [backend IP:PORT[@WEIGHT]]...
 *   service del VIP:PORT/PROTO
 *   service show
 *   cluster-cidr PREFIX/LEN
 *   apply FILE     (lines "service VIP:PORT/PROTO ..." as service set takes)
 */

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_json.h"
#include "parse.h"
#include "skiff-dp.h"
#include "util.h"

/* "VIP:PORT/PROTO", VIP 0.0.0.0 for a NodePort. */
static int parse_service(const char *cmd, const char *s,
			 struct skiff_dp_service *svc)
{
	char buf[64];
	char *slash;

	memset(svc, 0, sizeof(*svc));
	if (strlen(s) >= sizeof(buf))
		return usage_error("%s: invalid service '%s'", cmd, s);
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash)
		return usage_error("%s: invalid service '%s' (VIP:PORT/tcp|udp)",
				   cmd, s);
	*slash = '\0';
	if (skiff_parse_endpoint4(buf, &svc->vip, &svc->port))
		return usage_error("%s: invalid service '%s' (VIP:PORT/tcp|udp)",
				   cmd, s);
	if (skiff_dp_proto_parse(slash + 1, &svc->proto))
		return usage_error("%s: unknown protocol '%s' (tcp or udp)", cmd,
				   slash + 1);
	return 0;
}

/* "IP:PORT[@WEIGHT]" */
static int parse_backend(const char *s, struct skiff_dp_endpoint *b)
{
	char buf[64];
	char *at;
	uint32_t weight = 1;

	memset(b, 0, sizeof(*b));
	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	at = strchr(buf, '@');
	if (at) {
		*at = '\0';
		if (skiff_parse_u32(at + 1, 1, 65535, &weight))
			return -EINVAL;
	}
	if (skiff_parse_endpoint4(buf, &b->addr, &b->port))
		return -EINVAL;
	b->weight = weight;
	return 0;
}

/*
 * Parses "VIP:PORT/PROTO [affinity SECONDS] [local] [backend
 * IP:PORT[@WEIGHT]]..." from @argv[0..@argc) into @svc and @backends (room
 * for SKIFF_DP_MAX_BACKENDS + 1). Returns 0 or EXIT_USAGE, having said why.
 */
static int parse_service_args(const char *cmd, int argc, char **argv,
			      struct skiff_dp_service *svc,
			      struct skiff_dp_endpoint *backends,
			      unsigned int *count)
{
	int i, err;

	*count = 0;
	if (argc < 1)
		return usage_error("%s: missing VIP:PORT/PROTO", cmd);
	err = parse_service(cmd, argv[0], svc);
	if (err)
		return err;
	for (i = 1; i < argc; i++) {
		const char *key = argv[i], *val;

		/* A word alone: externalTrafficPolicy Local. */
		if (!strcmp(key, "local")) {
			svc->local = true;
			continue;
		}
		if (strcmp(key, "affinity") && strcmp(key, "backend"))
			return usage_error("%s: unknown argument '%s'", cmd, key);
		if (++i >= argc)
			return usage_error("%s: '%s' needs a value", cmd, key);
		val = argv[i];
		if (!strcmp(key, "affinity")) {
			if (skiff_parse_u32(val, 0, 86400,
					    &svc->affinity_timeout))
				return usage_error("%s: %s", cmd,
						   "affinity must be 0..86400 seconds");
			continue;
		}
		if (*count > SKIFF_DP_MAX_BACKENDS)
			return usage_error("%s: at most %d backends", cmd,
					   SKIFF_DP_MAX_BACKENDS);
		if (parse_backend(val, &backends[*count]))
			return usage_error("%s: invalid backend '%s' (IP:PORT[@WEIGHT])",
					   cmd, val);
		(*count)++;
	}
	return 0;
}

static int service_set(const struct options *opts, int argc, char **argv)
{
	static struct skiff_dp_endpoint backends[SKIFF_DP_MAX_BACKENDS + 1];
	struct skiff_dp_service svc;
	unsigned int count;
	struct skiff_error e;
	struct skiff_dp *dp;
	int err;

	err = parse_service_args("service set", argc - 1, argv + 1, &svc,
				 backends, &count);
	if (err)
		return err;
	dp = open_dataplane(opts);
	if (!dp)
		return EXIT_FAILURE;
	err = skiff_dp_service_set(dp, &svc, backends, count, &e);
	skiff_dp_close(dp);
	if (err)
		return report_error("service set", &e);
	return EXIT_SUCCESS;
}

/* The services of an apply file, growing as lines are read. */
struct service_table {
	struct skiff_dp_service_spec *specs;
	unsigned int count;
	unsigned int size;
};

static void service_table_free(struct service_table *t)
{
	unsigned int i;

	for (i = 0; i < t->count; i++)
		free((void *)t->specs[i].backends);
	free(t->specs);
}

static int service_table_add(struct service_table *t,
			     const struct skiff_dp_service *svc,
			     const struct skiff_dp_endpoint *backends,
			     unsigned int count)
{
	struct skiff_dp_service_spec *spec;
	struct skiff_dp_endpoint *copy;

	if (t->count == t->size) {
		unsigned int size = t->size ? 2 * t->size : 256;

		spec = realloc(t->specs, size * sizeof(*spec));
		if (!spec)
			return -ENOMEM;
		t->specs = spec;
		t->size = size;
	}
	copy = malloc(count * sizeof(*copy) + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, backends, count * sizeof(*copy));
	spec = &t->specs[t->count++];
	spec->svc = *svc;
	spec->backends = copy;
	spec->count = count;
	return 0;
}

/* Splits @line into words in place; returns how many (at most @max). */
static int split_words(char *line, char **words, int max)
{
	int n = 0;
	char *save, *w;

	for (w = strtok_r(line, " \t\r\n", &save); w && n < max;
	     w = strtok_r(NULL, " \t\r\n", &save))
		words[n++] = w;
	return w ? max + 1 : n;
}

static int read_table(const char *path, struct service_table *t)
{
	static struct skiff_dp_endpoint backends[SKIFF_DP_MAX_BACKENDS + 1];
	static char *words[2 * SKIFF_DP_MAX_BACKENDS + 8];
	struct skiff_dp_service svc;
	char *line = NULL, where[300];
	unsigned int count, lineno = 0;
	size_t cap = 0;
	int n, err = 0;
	FILE *f;

	f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f) {
		fprintf(stderr, "%s: apply: %s: %s\n", prog, path,
			strerror(errno));
		return EXIT_FAILURE;
	}
	while (!err && getline(&line, &cap, f) >= 0) {
		lineno++;
		snprintf(where, sizeof(where), "apply: %s:%u", path, lineno);
		if (line[strspn(line, " \t")] == '#')
			continue;
		n = split_words(line, words, ARRAY_SIZE(words));
		if (n == 0)
			continue;
		if (n > (int)ARRAY_SIZE(words))
			err = usage_error("%s: line too long", where);
		else if (strcmp(words[0], "service"))
			err = usage_error("%s: expected 'service', got '%s'",
					  where, words[0]);
		else
			err = parse_service_args(where, n - 1, words + 1, &svc,
						 backends, &count);
		if (!err && service_table_add(t, &svc, backends, count))
			err = usage_error("%s: out of memory", where);
	}
	if (!err && ferror(f)) {
		fprintf(stderr, "%s: apply: %s: read error\n", prog, path);
		err = EXIT_FAILURE;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return err;
}

/* skiff-dp apply FILE: the file is the whole service table, applied at once. */
int cmd_apply(const struct options *opts, int argc, char **argv)
{
	struct service_table table = {};
	struct skiff_error e;
	struct skiff_dp *dp;
	int err;

	if (argc != 2)
		return usage_error(argc < 2 ? "apply: missing FILE" :
				   "apply: unexpected argument");
	err = read_table(argv[1], &table);
	if (err)
		goto out_free;
	dp = open_dataplane(opts);
	if (!dp) {
		err = EXIT_FAILURE;
		goto out_free;
	}
	err = skiff_dp_service_sync(dp, table.specs, table.count, &e);
	skiff_dp_close(dp);
	err = err ? report_error("apply", &e) : EXIT_SUCCESS;
out_free:
	service_table_free(&table);
	return err;
}

static int service_del(const struct options *opts, int argc, char **argv)
{
	struct skiff_dp_service svc;
	struct skiff_error e;
	struct skiff_dp *dp;
	int err;

	if (argc < 2)
		return usage_error("service del: missing VIP:PORT/PROTO");
	if (argc > 2)
		return usage_error("service del: unexpected argument '%s'",
				   argv[2]);
	err = parse_service("service del", argv[1], &svc);
	if (err)
		return err;
	dp = open_dataplane(opts);
	if (!dp)
		return EXIT_FAILURE;
	err = skiff_dp_service_del(dp, &svc, &e);
	skiff_dp_close(dp);
	if (err)
		return report_error("service del", &e);
	return EXIT_SUCCESS;
}

static int service_show_one(const struct skiff_dp_service *svc,
			    const struct skiff_dp_endpoint *backends,
			    unsigned int count, void *arg)
{
	char vip[INET_ADDRSTRLEN], addr[INET_ADDRSTRLEN];
	unsigned int i;

	(void)arg;
	inet_ntop(AF_INET, &svc->vip, vip, sizeof(vip));
	printf("%s:%u/%s", vip, svc->port, skiff_dp_proto_name(svc->proto));
	if (!svc->vip.s_addr)
		printf(" (nodeport)");
	if (svc->affinity_timeout)
		printf(" affinity %u", svc->affinity_timeout);
	if (svc->local)
		printf(" local");
	printf(" packets %" PRIu64 " bytes %" PRIu64 "\n", svc->packets,
	       svc->bytes);
	if (!count)
		printf("  no backends: connections are rejected\n");
	for (i = 0; i < count; i++) {
		inet_ntop(AF_INET, &backends[i].addr, addr, sizeof(addr));
		printf("  backend %s:%u weight %u packets %" PRIu64
		       " bytes %" PRIu64 "\n", addr, backends[i].port,
		       backends[i].weight, backends[i].packets,
		       backends[i].bytes);
	}
	return 0;
}

static int service_list(struct skiff_dp *dp, const char *name, json_t *json,
			struct skiff_error *e)
{
	(void)name;
	if (json)
		return skiff_dp_json_services(dp, json, e);
	return skiff_dp_service_list(dp, service_show_one, NULL, e);
}

static int service_show(const struct options *opts, int argc, char **argv)
{
	if (argc > 1)
		return usage_error("service show: unexpected argument '%s'",
				   argv[1]);
	return show_list(opts, "service show", service_list, NULL);
}

static const struct subcommand service_commands[] = {
	{ "set", service_set, NULL, NULL },
	{ "del", service_del, NULL, NULL },
	{ "show", service_show, NULL, NULL },
};

int cmd_service(const struct options *opts, int argc, char **argv)
{
	return run_subcommand(service_commands, ARRAY_SIZE(service_commands),
			      "service", opts, argc - 1, argv + 1);
}

int cmd_cluster_cidr(const struct options *opts, int argc, char **argv)
{
	struct in_addr prefix;
	struct skiff_error e;
	struct skiff_dp *dp;
	uint8_t len;
	int err;

	if (argc != 2)
		return usage_error(argc < 2 ? "cluster-cidr: missing PREFIX/LEN" :
				   "cluster-cidr: unexpected argument");
	if (skiff_parse_prefix4(argv[1], &prefix, &len))
		return usage_error("cluster-cidr: invalid prefix '%s'", argv[1]);
	dp = open_dataplane(opts);
	if (!dp)
		return EXIT_FAILURE;
	err = skiff_dp_set_cluster_cidr(dp, prefix, len, &e);
	skiff_dp_close(dp);
	if (err)
		return report_error("cluster-cidr", &e);
	return EXIT_SUCCESS;
}
