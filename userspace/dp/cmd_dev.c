// SPDX-License-Identifier: GPL-2.0
/*
 * skiff-dp dev add|del|show: overlay devices.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_json.h"
#include "parse.h"
#include "skiff-dp.h"
#include "util.h"

/* Parses one "KEY VALUE" of dev add into @dev. */
static int dev_add_arg(const char *key, const char *val,
		       struct skiff_dp_dev *dev)
{
	uint32_t port;
	int err;

	if (!strcmp(key, "vni"))
		return skiff_parse_u32(val, 0, 0xffffff, &dev->vni);
	if (!strcmp(key, "port")) {
		err = skiff_parse_u32(val, 1, 65535, &port);
		dev->port = port;
		return err;
	}
	if (!strcmp(key, "mtu"))
		return skiff_parse_u32(val, 68, 65485, &dev->mtu);
	if (!strcmp(key, "local"))
		return skiff_parse_ipv4(val, &dev->local4);
	if (!strcmp(key, "vtep-mac")) {
		dev->has_vtep_mac = true;
		return skiff_parse_mac(val, dev->vtep_mac);
	}
	return -ENOENT;
}

static int dev_add(const struct options *opts, int argc, char **argv)
{
	struct skiff_dp_dev dev;
	struct skiff_error e;
	struct skiff_dp *dp;
	int i, err;

	if (argc < 2)
		return usage_error("dev add: missing NAME");
	if (strlen(argv[1]) >= IF_NAMESIZE || !argv[1][0])
		return usage_error("dev add: NAME must be 1 to %d characters",
				   IF_NAMESIZE - 1);
	skiff_dp_dev_init(&dev, argv[1]);

	for (i = 2; i < argc; i += 2) {
		const char *key = argv[i], *val = argv[i + 1];

		err = val ? dev_add_arg(key, val, &dev) : 0;
		if (err == -ENOENT)
			return usage_error("dev add: unknown argument '%s'", key);
		if (!val)
			return usage_error("dev add: '%s' needs a value", key);
		if (err)
			return usage_error("dev add: invalid %s '%s'%s", key, val,
					   err == -ERANGE ? " (out of range)" : "");
	}

	dp = open_dataplane(opts);
	if (!dp)
		return EXIT_FAILURE;
	err = skiff_dp_dev_add(dp, &dev, &e);
	skiff_dp_close(dp);
	if (err)
		return report_error("dev add", &e);
	return EXIT_SUCCESS;
}

static int dev_del(const struct options *opts, int argc, char **argv)
{
	struct skiff_error e;
	struct skiff_dp *dp;
	int err;

	if (argc != 2)
		return usage_error(argc < 2 ? "dev del: missing NAME" :
				   "dev del: unexpected argument '%s'", argv[2]);
	dp = open_dataplane(opts);
	if (!dp)
		return EXIT_FAILURE;
	err = skiff_dp_dev_del(dp, argv[1], &e);
	skiff_dp_close(dp);
	if (err)
		return report_error("dev del", &e);
	return EXIT_SUCCESS;
}

static int dev_show_one(const struct skiff_dp_dev *dev, void *arg)
{
	char mac[SKIFF_MAC_STRLEN];

	(void)arg;
	printf("%s: vni %u port %u mtu %u vtep-mac %s", dev->name, dev->vni,
	       dev->port, dev->mtu, skiff_format_mac(dev->vtep_mac, mac));
	if (dev->local4.s_addr)
		printf(" local %s", inet_ntoa(dev->local4));
	printf(" peers %u\n", dev->peers);
	return 0;
}

static int dev_list(struct skiff_dp *dp, const char *name, json_t *json,
		    struct skiff_error *e)
{
	if (json)
		return skiff_dp_json_devs(dp, name, json, e);
	return skiff_dp_dev_list(dp, name, dev_show_one, NULL, e);
}

static int dev_show(const struct options *opts, int argc, char **argv)
{
	if (argc > 2)
		return usage_error("dev show: unexpected argument '%s'", argv[2]);
	return show_list(opts, "dev show", dev_list, argc == 2 ? argv[1] : NULL);
}

static const struct subcommand dev_commands[] = {
	{ "add", dev_add, NULL, NULL },
	{ "del", dev_del, NULL, NULL },
	{ "show", dev_show, NULL, NULL },
};

int cmd_dev(const struct options *opts, int argc, char **argv)
{
	return run_subcommand(dev_commands, ARRAY_SIZE(dev_commands), "dev",
			      opts, argc - 1, argv + 1);
}
