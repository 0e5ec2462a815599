// SPDX-License-Identifier: GPL-2.0
/*
 * skiffctl certs: the cluster's CA and the certificates it signs, the
 * seed's cfssl. init makes the CA, issue a certificate of a profile
 * (apiserver, node NAME, ...: lib/certs.c defines them), show prints what
 * one says (as cfssl certinfo), verify checks one against the CA. Files
 * as kubeadm lays them out: DIR/ca.crt, DIR/ca.key, DIR/NAME.crt, ...
 *
 * Every refusal comes before the first write: a bad argument, a missing
 * CA or a file that exists without --force leaves DIR as it was.
 */

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "base64.h"
#include "certs.h"
#include "ctl.h"
#include "parse.h"
#include "util.h"

#define OPT_DIR 0x100
#define OPT_CN 0x101
#define OPT_DAYS 0x102
#define OPT_FORCE 0x103
#define OPT_SAN 0x104
#define OPT_ORG 0x105
#define OPT_SERVICE_CIDR 0x106
#define OPT_USAGE 0x107
#define OPT_SERVER 0x108
#define OPT_OUT 0x109
#define OPT_EMBED 0x10a

#define EXISTS_CA_FMT \
	"%s exists: a new CA would leave every certificate the old one signed untrusted; use --force to replace it"
/* cfssl certinfo's fields, and what Kubernetes makes of them (user, groups). */
#define SHOW_JSON_FMT \
	"{s:{s:s, s:o, s:s}, s:s, s:o, s:{s:s, s:s}, s:s, s:o, s:o, s:o, s:s, s:s, s:b, s:o, s:s, s:s}"
#define BAD_NAME_FMT "NAME '%s': a file name of the PKI directory (admin, node-n1, ...)"
#define EXISTS_FMT "%s exists: use --force to reissue it"

static const char usage_text[] =
	"Usage: skiffctl certs init [--dir DIR] [--cn NAME] [--days N] [--force]\n"
	"       skiffctl certs issue [--dir DIR] PROFILE [NAME] [--san DNS|IP]...\n"
	"                            [--org GROUP]... [--service-cidr CIDR] [--days N] [--force]\n"
	"       skiffctl certs show FILE [-o text|json]\n"
	"       skiffctl certs verify FILE [--dir DIR] [--usage server|client]\n"
	"       skiffctl certs kubeconfig [--dir DIR] NAME --server URL [--out FILE]\n"
	"                                 [--embed-certs]\n"
	"\n"
	"The cluster's CA and the certificates it signs, laid out as kubeadm does:\n"
	"DIR (default " SKIFF_CERTS_DEFAULT_DIR ") holds ca.crt, ca.key, NAME.crt and NAME.key;\n"
	"keys are ECDSA P-256, mode 0600. The user is the CN, the groups the O values.\n"
	"\n"
	"Profiles (files in DIR, subject, usages, SANs):\n"
	"  apiserver           apiserver.crt: CN kube-apiserver; server and client;\n"
	"                      localhost, kubernetes, kubernetes.default,\n"
	"                      kubernetes.default.svc, kubernetes.default.svc.cluster.local,\n"
	"                      127.0.0.1, the first address of --service-cidr (default\n"
	"                      " SKIFF_CERTS_DEFAULT_SERVICE_CIDR "), this machine's hostname,\n"
	"                      each --san\n"
	"  node NAME           node-NAME.crt: CN system:node:NAME, O system:nodes;\n"
	"                      server and client; NAME and each --san (the node's addresses)\n"
	"  scheduler           scheduler.crt: CN system:kube-scheduler; client\n"
	"  controller-manager  controller-manager.crt: CN system:kube-controller-manager; client\n"
	"  admin               admin.crt: CN kubernetes-admin, O system:masters; client\n"
	"  user NAME           user-NAME.crt: CN NAME, O each --org; client\n"
	"  etcd-server         etcd-server.crt: CN kube-etcd; server and client (etcd's\n"
	"                      clients and peers); localhost, 127.0.0.1, ::1, each --san\n"
	"  apiserver-etcd-client  apiserver-etcd-client.crt: CN kube-apiserver-etcd-client;\n"
	"                      client (skiff-apiserver --etcd-certfile)\n"
	"\n"
	"Options:\n"
	"  --dir DIR              the PKI directory\n"
	"  --cn NAME              init: the CA's name (default " SKIFF_CERTS_DEFAULT_CA_CN ")\n"
	"  --days N               validity, 1..36500 (default: CA 3650, others 365)\n"
	"  --force                replace what exists\n"
	"  --san DNS|IP           issue: one more subject alternative name\n"
	"  --org GROUP            issue user: one more group\n"
	"  --service-cidr CIDR    issue apiserver: the Service range(s), comma-separated\n"
	"  -o, --output json      show: JSON, as cfssl certinfo\n"
	"  --usage server|client  verify: the certificate must be for that use too\n"
	"\n"
	"kubeconfig writes a kubeconfig (0600) for DIR/NAME.crt and NAME.key (NAME:\n"
	"admin, scheduler, node-n1, user-jane, ...) that trusts DIR/ca.crt:\n"
	"  --server URL           the apiserver, https://HOST:PORT\n"
	"  --out FILE             where (default: standard output); replaced if there\n"
	"  --embed-certs          the PEM in the file (*-data), not the files' paths\n";

/* What the subcommands of certs parse. */
struct certs_opts {
	const char *dir;
	const char *cn;
	unsigned int days;
	bool force;
	const char *sans[SKIFF_CERTS_MAX_SANS];
	size_t n_sans;
	const char *orgs[SKIFF_CERTS_MAX_ORGS];
	size_t n_orgs;
	const char *service_cidr;
	const char *server;
	const char *out;
	bool embed;
	bool json;
	unsigned int usage;
	char **args;
	int n_args;
};

static int certs_help(void)
{
	fputs(usage_text, stdout);
	return SKIFF_CTL_OK;
}

static int fail_msg(const char *what, const char *fmt, const char *arg)
{
	struct skiff_error e;

	skiff_error_set(&e, -EINVAL, fmt, arg);
	return skiff_ctl_fail(what, &e);
}

/* One option of @what's table into @o; nonzero (an exit status) to stop. */
static int take_option(const char *what, int c, char **argv, struct certs_opts *o)
{
	switch (c) {
	case OPT_DIR:
		o->dir = optarg;
		return 0;
	case OPT_CN:
		o->cn = optarg;
		return 0;
	case OPT_DAYS:
		if (skiff_parse_u32(optarg, 1, SKIFF_CERTS_MAX_DAYS, &o->days))
			return skiff_ctl_usage_error(usage_text,
						     "%s: --days '%s': a number of days, 1..%d",
						     what, optarg, SKIFF_CERTS_MAX_DAYS);
		return 0;
	case OPT_FORCE:
		o->force = true;
		return 0;
	case OPT_SAN:
		if (o->n_sans == ARRAY_SIZE(o->sans))
			return skiff_ctl_usage_error(usage_text, "%s: more than %zu --san", what,
						     ARRAY_SIZE(o->sans));
		o->sans[o->n_sans++] = optarg;
		return 0;
	case OPT_ORG:
		if (o->n_orgs == ARRAY_SIZE(o->orgs))
			return skiff_ctl_usage_error(usage_text, "%s: more than %zu --org", what,
						     ARRAY_SIZE(o->orgs));
		o->orgs[o->n_orgs++] = optarg;
		return 0;
	case OPT_SERVICE_CIDR:
		o->service_cidr = optarg;
		return 0;
	case 'o':
		if (strcmp(optarg, "json") && strcmp(optarg, "text"))
			return skiff_ctl_usage_error(usage_text, "%s: -o '%s': text or json", what,
						     optarg);
		o->json = !strcmp(optarg, "json");
		return 0;
	case OPT_USAGE:
		if (!strcmp(optarg, "server"))
			o->usage = SKIFF_CERTS_SERVER_AUTH;
		else if (!strcmp(optarg, "client"))
			o->usage = SKIFF_CERTS_CLIENT_AUTH;
		else
			return skiff_ctl_usage_error(usage_text,
						     "%s: --usage '%s': server or client", what,
						     optarg);
		return 0;
	case OPT_SERVER:
		o->server = optarg;
		return 0;
	case OPT_OUT:
		o->out = optarg;
		return 0;
	case OPT_EMBED:
		o->embed = true;
		return 0;
	case SKIFF_CTL_OPT_KUBECONFIG:
		skiff_ctl_global_option(c, optarg);
		return 0;
	case 'h':
		certs_help();
		return -1;
	default:
		return skiff_ctl_option_error(usage_text, what, c, argv);
	}
}

/*
 * Parses argv (argv[0] the subcommand) with the options @allowed names
 * (plus --help and the global ones). Returns -1 after --help, an exit
 * status after an error, 0 to go on; the other arguments are in o->args.
 */
static int parse(const char *what, const char *const *allowed, int argc, char **argv,
		 struct certs_opts *o)
{
	static const struct option all[] = {
		{ "dir", required_argument, NULL, OPT_DIR },
		{ "cn", required_argument, NULL, OPT_CN },
		{ "days", required_argument, NULL, OPT_DAYS },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "san", required_argument, NULL, OPT_SAN },
		{ "org", required_argument, NULL, OPT_ORG },
		{ "service-cidr", required_argument, NULL, OPT_SERVICE_CIDR },
		{ "output", required_argument, NULL, 'o' },
		{ "usage", required_argument, NULL, OPT_USAGE },
		{ "server", required_argument, NULL, OPT_SERVER },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "embed-certs", no_argument, NULL, OPT_EMBED },
	};
	struct option table[ARRAY_SIZE(all) + 3] = {
		{ "help", no_argument, NULL, 'h' },
		SKIFF_CTL_GLOBAL_OPTIONS,
	};
	const char *shorts = ":h";
	size_t i, n = 2;
	int c, ret;

	for (; *allowed; allowed++)
		for (i = 0; i < ARRAY_SIZE(all); i++)
			if (!strcmp(*allowed, all[i].name))
				table[n++] = all[i];
	for (i = 0; i < n; i++)
		if (table[i].val == 'o')
			shorts = ":ho:";

	memset(o, 0, sizeof(*o));
	o->dir = SKIFF_CERTS_DEFAULT_DIR;
	optind = 0;
	while ((c = getopt_long(argc, argv, shorts, table, NULL)) != -1) {
		ret = take_option(what, c, argv, o);
		if (ret)
			return ret;
	}
	o->args = argv + optind;
	o->n_args = argc - optind;
	return 0;
}

/* Anything there, even what we may not read; not under a file either. */
static bool exists(const char *path)
{
	struct stat st;

	return !lstat(path, &st) || (errno != ENOENT && errno != ENOTDIR);
}

static int dir_path(char *buf, const char *dir, const char *base, const char *ext)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s%s", dir, base, ext);

	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/* mkdir -p, 0755 as /etc/kubernetes/pki: the keys in it are 0600. */
static int make_dir(const char *dir, struct skiff_error *e)
{
	char path[PATH_MAX], *p;

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return skiff_error_set(e, -ENAMETOOLONG, "%s: name too long", dir);
	for (p = path + 1;; p++) {
		if (*p && *p != '/')
			continue;
		if (*p) {
			*p = '\0';
			if (mkdir(path, 0755) && errno != EEXIST)
				break;
			*p = '/';
			continue;
		}
		if (mkdir(path, 0755) && errno != EEXIST)
			break;
		return 0;
	}
	return skiff_error_set(e, -errno, "cannot make %s: %s", path, strerror(errno));
}

static void print_saved(const char *crt, const char *key, gnutls_x509_crt_t cert)
{
	struct skiff_certs_info info;
	struct skiff_error e;
	char until[32];
	size_t i;

	printf("wrote %s and %s", crt, key);
	if (skiff_certs_describe(cert, &info, &e)) {
		putchar('\n');
		return;
	}
	printf(": CN %s", info.cn);
	for (i = 0; i < info.n_orgs; i++)
		printf("%s%s", i ? ", " : ", O ", info.orgs[i]);
	printf(", valid until %s\n",
	       skiff_certs_format_time(info.not_after, until, sizeof(until)));
	skiff_certs_info_free(&info);
}

static int certs_init(int argc, char **argv)
{
	static const char *const allowed[] = { "dir", "cn", "days", "force", NULL };
	const char *what = "certs init";
	char crt[PATH_MAX], key[PATH_MAX];
	struct skiff_certs_pair ca;
	struct skiff_error e;
	struct certs_opts o;
	int ret;

	ret = parse(what, allowed, argc, argv, &o);
	if (ret)
		return ret < 0 ? SKIFF_CTL_OK : ret;
	if (o.n_args)
		return skiff_ctl_usage_error(usage_text, "%s: unexpected argument '%s'", what,
					     o.args[0]);
	if (dir_path(crt, o.dir, "ca", ".crt") || dir_path(key, o.dir, "ca", ".key"))
		return fail_msg(what, "%s: name too long", o.dir);
	if (!o.force && exists(crt))
		return fail_msg(what, EXISTS_CA_FMT, crt);
	if (!o.force && exists(key))
		return fail_msg(what, EXISTS_CA_FMT, key);

	if (skiff_certs_make_ca(o.cn, o.days, &ca, &e))
		return skiff_ctl_fail(what, &e);
	ret = make_dir(o.dir, &e);
	if (!ret)
		ret = skiff_certs_save(&ca, crt, key, o.force, &e);
	if (!ret)
		print_saved(crt, key, ca.crt);
	skiff_certs_pair_free(&ca);
	return ret ? skiff_ctl_fail(what, &e) : SKIFF_CTL_OK;
}

static int issue(const char *what, const struct certs_opts *o,
		 const struct skiff_certs_plan *plan)
{
	char crt[PATH_MAX], key[PATH_MAX];
	struct skiff_certs_pair ca, leaf;
	struct skiff_error e;
	int err;

	if (dir_path(crt, o->dir, plan->file, ".crt") || dir_path(key, o->dir, plan->file, ".key"))
		return fail_msg(what, "%s: name too long", o->dir);
	if (skiff_certs_load_ca(o->dir, &ca, &e))
		return skiff_ctl_fail(what, &e);
	err = -EEXIST;
	if (!o->force && exists(crt))
		skiff_error_set(&e, err, EXISTS_FMT, crt);
	else if (!o->force && exists(key))
		skiff_error_set(&e, err, EXISTS_FMT, key);
	else
		err = skiff_certs_issue(&ca, &plan->req, &leaf, &e);
	skiff_certs_pair_free(&ca);
	if (err)
		return skiff_ctl_fail(what, &e);

	err = skiff_certs_save(&leaf, crt, key, o->force, &e);
	if (!err)
		print_saved(crt, key, leaf.crt);
	if (!err && gnutls_x509_crt_get_expiration_time(leaf.crt) <
	    time(NULL) + (time_t)plan->req.days * 86400 - 3600)
		fprintf(stderr, "%s: %s: note: valid only until the CA's own end, not %u days\n",
			skiff_ctl_prog, what, plan->req.days);
	skiff_certs_pair_free(&leaf);
	if (err == -EEXIST)
		snprintf(e.msg + strlen(e.msg), sizeof(e.msg) - strlen(e.msg),
			 ": use --force to reissue it");
	return err ? skiff_ctl_fail(what, &e) : SKIFF_CTL_OK;
}

static int certs_issue(int argc, char **argv)
{
	static const char *const allowed[] = {
		"dir", "days", "force", "san", "org", "service-cidr", NULL
	};
	struct skiff_certs_profile_args args = { 0 };
	const char *what = "certs issue";
	struct skiff_certs_plan plan;
	struct skiff_error e;
	struct certs_opts o;
	int ret;

	ret = parse(what, allowed, argc, argv, &o);
	if (ret)
		return ret < 0 ? SKIFF_CTL_OK : ret;
	if (!o.n_args)
		return skiff_ctl_usage_error(usage_text, "%s: PROFILE missing (one of %s)", what,
					     skiff_certs_profile_names);
	if (o.n_args > 2)
		return skiff_ctl_usage_error(usage_text, "%s: unexpected argument '%s'", what,
					     o.args[2]);
	args.name = o.n_args > 1 ? o.args[1] : NULL;
	args.sans = o.sans;
	args.n_sans = o.n_sans;
	args.orgs = o.orgs;
	args.n_orgs = o.n_orgs;
	args.service_cidr = o.service_cidr;
	args.days = o.days;
	if (skiff_certs_plan_profile(o.args[0], &args, &plan, &e))
		return skiff_ctl_fail(what, &e);
	if (plan.note[0])
		fprintf(stderr, "%s: %s: note: %s\n", skiff_ctl_prog, what, plan.note);
	ret = issue(what, &o, &plan);
	skiff_certs_plan_free(&plan);
	return ret;
}

static const char *const key_usage_names[] = {
	[0] = "digital signature", [1] = "non repudiation", [2] = "key encipherment",
	[3] = "data encipherment", [4] = "key agreement", [5] = "cert sign",
	[6] = "crl sign", [7] = "encipher only", [8] = "decipher only",
};

/* GnuTLS's GNUTLS_KEY_* bits, in the order of key_usage_names. */
static const unsigned int key_usage_bits[] = {
	GNUTLS_KEY_DIGITAL_SIGNATURE, GNUTLS_KEY_NON_REPUDIATION, GNUTLS_KEY_KEY_ENCIPHERMENT,
	GNUTLS_KEY_DATA_ENCIPHERMENT, GNUTLS_KEY_KEY_AGREEMENT, GNUTLS_KEY_KEY_CERT_SIGN,
	GNUTLS_KEY_CRL_SIGN, GNUTLS_KEY_ENCIPHER_ONLY, GNUTLS_KEY_DECIPHER_ONLY,
};

/* The usages as cfssl names them: key usages, then extended ones. */
static json_t *usages_json(const struct skiff_certs_info *info)
{
	json_t *list = json_array();
	size_t i;

	for (i = 0; list && i < ARRAY_SIZE(key_usage_bits); i++)
		if (info->key_usage & key_usage_bits[i])
			json_array_append_new(list, json_string(key_usage_names[i]));
	if (list && (info->usages & SKIFF_CERTS_SERVER_AUTH))
		json_array_append_new(list, json_string("server auth"));
	if (list && (info->usages & SKIFF_CERTS_CLIENT_AUTH))
		json_array_append_new(list, json_string("client auth"));
	return list;
}

static json_t *strings_json(char *const *s, size_t n)
{
	json_t *list = json_array();
	size_t i;

	for (i = 0; list && i < n; i++)
		json_array_append_new(list, json_string(s[i]));
	return list;
}

static json_t *sans_json(const struct skiff_certs_info *info)
{
	json_t *list = strings_json(info->dns, info->n_dns);
	json_t *ips = strings_json(info->ips, info->n_ips);

	if (list && ips)
		json_array_extend(list, ips);
	json_decref(ips);
	return list;
}

static int show_json(const struct skiff_certs_info *info)
{
	char before[32], after[32];
	json_t *obj;
	int err;

	obj = json_pack(SHOW_JSON_FMT,
			"subject", "common_name", info->cn,
			"organizations", strings_json(info->orgs, info->n_orgs),
			"dn", info->subject,
			"user", info->cn,
			"groups", strings_json(info->orgs, info->n_orgs),
			"issuer", "common_name", info->issuer_cn, "dn", info->issuer,
			"serial_number", info->serial,
			"sans", sans_json(info),
			"dns_names", strings_json(info->dns, info->n_dns),
			"ip_addresses", strings_json(info->ips, info->n_ips),
			"not_before", skiff_certs_format_time(info->not_before, before,
							      sizeof(before)),
			"not_after", skiff_certs_format_time(info->not_after, after,
							     sizeof(after)),
			"is_ca", info->is_ca,
			"usages", usages_json(info),
			"key_algorithm", info->key_algorithm,
			"sha256_fingerprint", info->sha256);
	if (!obj) {
		fprintf(stderr, "%s: certs show: out of memory\n", skiff_ctl_prog);
		return SKIFF_CTL_FAIL;
	}
	err = json_dumpf(obj, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(obj);
	putchar('\n');
	return err ? SKIFF_CTL_FAIL : SKIFF_CTL_OK;
}

static void print_list(const char *label, char *const *s, size_t n, char *const *more,
		       size_t n_more)
{
	size_t i;

	printf("%-12s", label);
	for (i = 0; i < n; i++)
		printf("%s%s", i ? ", " : "", s[i]);
	for (i = 0; i < n_more; i++)
		printf("%s%s", n + i ? ", " : "", more[i]);
	printf("%s\n", n + n_more ? "" : "(none)");
}

static void show_text(const struct skiff_certs_info *info)
{
	char before[32], after[32];
	long long left = (info->not_after - time(NULL)) / 86400;
	json_t *usages = usages_json(info), *u;
	size_t i;

	printf("%-12s%s\n", "Subject:", info->subject);
	printf("%-12s%s\n", "User:", info->cn);
	print_list("Groups:", info->orgs, info->n_orgs, NULL, 0);
	print_list("SANs:", info->dns, info->n_dns, info->ips, info->n_ips);
	printf("%-12s", "Usages:");
	json_array_foreach(usages, i, u)
		printf("%s%s", i ? ", " : "", json_string_value(u));
	printf("\n%-12s%s\n", "CA:", info->is_ca ? "yes" : "no");
	printf("%-12s%s\n", "Not before:",
	       skiff_certs_format_time(info->not_before, before, sizeof(before)));
	printf("%-12s%s ", "Not after:",
	       skiff_certs_format_time(info->not_after, after, sizeof(after)));
	if (info->not_after < time(NULL))
		printf("(expired)\n");
	else
		printf("(%lld days left)\n", left);
	printf("%-12s%s\n", "Issuer:", info->issuer);
	printf("%-12s%s\n", "Serial:", info->serial);
	printf("%-12s%s\n", "Key:", info->key_algorithm);
	printf("%-12s%s\n", "SHA-256:", info->sha256);
	json_decref(usages);
}

static int certs_show(int argc, char **argv)
{
	static const char *const allowed[] = { "output", NULL };
	const char *what = "certs show";
	struct skiff_certs_info info;
	gnutls_x509_crt_t crt;
	struct skiff_error e;
	struct certs_opts o;
	int ret;

	ret = parse(what, allowed, argc, argv, &o);
	if (ret)
		return ret < 0 ? SKIFF_CTL_OK : ret;
	if (o.n_args != 1)
		return skiff_ctl_usage_error(usage_text, o.n_args ? "%s: one FILE only" :
					     "%s: FILE missing", what);
	if (skiff_certs_load_crt(o.args[0], &crt, &e))
		return skiff_ctl_fail(what, &e);
	ret = skiff_certs_describe(crt, &info, &e);
	gnutls_x509_crt_deinit(crt);
	if (ret)
		return skiff_ctl_fail(what, &e);
	if (o.json) {
		ret = show_json(&info);
	} else {
		show_text(&info);
		ret = SKIFF_CTL_OK;
	}
	skiff_certs_info_free(&info);
	return ret;
}

/* FILE.crt's key, FILE.key, when it is there and readable: it must match. */
static int check_key(const char *crt, char *key, size_t size, struct skiff_error *e)
{
	struct skiff_certs_pair p;
	size_t len = strlen(crt);

	key[0] = '\0';
	if (len < 4 || strcmp(crt + len - 4, ".crt") || len >= size)
		return 0;
	snprintf(key, size, "%.*s.key", (int)(len - 4), crt);
	if (access(key, R_OK)) {
		key[0] = '\0';
		return 0;
	}
	if (skiff_certs_load(crt, key, &p, e))
		return e->err;
	skiff_certs_pair_free(&p);
	return 0;
}

static int certs_verify(int argc, char **argv)
{
	static const char *const allowed[] = { "dir", "usage", NULL };
	const char *what = "certs verify";
	char ca[PATH_MAX], key[PATH_MAX], until[32];
	gnutls_x509_crt_t crt;
	struct skiff_error e;
	struct certs_opts o;
	int ret;

	ret = parse(what, allowed, argc, argv, &o);
	if (ret)
		return ret < 0 ? SKIFF_CTL_OK : ret;
	if (o.n_args != 1)
		return skiff_ctl_usage_error(usage_text, o.n_args ? "%s: one FILE only" :
					     "%s: FILE missing", what);
	if (dir_path(ca, o.dir, "ca", ".crt"))
		return fail_msg(what, "%s: name too long", o.dir);
	if (skiff_certs_verify(o.args[0], ca, o.usage, &e) ||
	    check_key(o.args[0], key, sizeof(key), &e))
		return skiff_ctl_fail(what, &e);
	if (skiff_certs_load_crt(o.args[0], &crt, &e))
		return skiff_ctl_fail(what, &e);
	printf("%s: OK: signed by %s, valid until %s%s%s%s\n", o.args[0], ca,
	       skiff_certs_format_time(gnutls_x509_crt_get_expiration_time(crt), until,
				       sizeof(until)),
	       key[0] ? ", key " : "", key, key[0] ? " matches" : "");
	gnutls_x509_crt_deinit(crt);
	return SKIFF_CTL_OK;
}

/* @s as a YAML double-quoted scalar: a JSON string is one. */
static int yaml_string(FILE *f, const char *s)
{
	json_t *str = json_string(s);
	char *text = str ? json_dumps(str, JSON_ENCODE_ANY) : NULL;

	json_decref(str);
	if (!text)
		return -EINVAL;
	fputs(text, f);
	free(text);
	return 0;
}

/* "  KEY: VALUE\n" at @indent, VALUE quoted. */
static int yaml_field(FILE *f, int indent, const char *key, const char *value)
{
	fprintf(f, "%*s%s: ", indent, "", key);
	if (yaml_string(f, value))
		return -EINVAL;
	fputc('\n', f);
	return 0;
}

/* A file of the PKI: its absolute path, or its PEM in base64 (*-data). */
static int yaml_file(FILE *f, int indent, const char *key, const char *path, bool embed,
		     struct skiff_error *e)
{
	char real[PATH_MAX], field[64], *data = NULL;
	size_t len = 0;
	json_t *b64;
	int err;

	if (!embed) {
		if (!realpath(path, real))
			return skiff_error_set(e, -errno, "%s: %s", path, strerror(errno));
		return yaml_field(f, indent, key, real);
	}
	err = skiff_certs_read_file(path, &data, &len, e);
	if (err)
		return err;
	b64 = skiff_base64_json(data, len);
	memset(data, 0, len);
	free(data);
	if (!b64)
		return skiff_error_set(e, -ENOMEM, "out of memory");
	snprintf(field, sizeof(field), "%s-data", key);
	err = yaml_field(f, indent, field, json_string_value(b64));
	json_decref(b64);
	return err;
}

/*
 * The kubeconfig of one identity, as kubeadm writes them: one cluster
 * ("skiff"), one user (the certificate's CN), one context "USER@skiff".
 */
static int write_kubeconfig(FILE *f, const struct certs_opts *o, const char *ca,
			    const char *crt, const char *key, const char *user,
			    struct skiff_error *e)
{
	char context[512];
	int err;

	snprintf(context, sizeof(context), "%s@skiff", user);
	fputs("apiVersion: v1\nkind: Config\nclusters:\n- name: skiff\n  cluster:\n", f);
	err = yaml_field(f, 4, "server", o->server);
	if (!err)
		err = yaml_file(f, 4, "certificate-authority", ca, o->embed, e);
	if (err)
		return err;
	fputs("users:\n- name: ", f);
	yaml_string(f, user);
	fputs("\n  user:\n", f);
	err = yaml_file(f, 4, "client-certificate", crt, o->embed, e);
	if (!err)
		err = yaml_file(f, 4, "client-key", key, o->embed, e);
	if (err)
		return err;
	fputs("contexts:\n- name: ", f);
	yaml_string(f, context);
	fputs("\n  context:\n    cluster: skiff\n", f);
	yaml_field(f, 4, "user", user);
	fputs("current-context: ", f);
	yaml_string(f, context);
	fputc('\n', f);
	return 0;
}

static int kubeconfig_paths(const char *what, const struct certs_opts *o, const char *name,
			    char *ca, char *crt, char *key)
{
	if (strchr(name, '/') || name[0] == '.')
		return fail_msg(what, BAD_NAME_FMT, name);
	if (dir_path(ca, o->dir, "ca", ".crt") || dir_path(crt, o->dir, name, ".crt") ||
	    dir_path(key, o->dir, name, ".key"))
		return fail_msg(what, "%s: name too long", o->dir);
	return 0;
}

static int certs_kubeconfig(int argc, char **argv)
{
	static const char *const allowed[] = { "dir", "server", "out", "embed-certs", NULL };
	const char *what = "certs kubeconfig";
	char ca[PATH_MAX], crt[PATH_MAX], key[PATH_MAX];
	struct skiff_certs_info info;
	struct skiff_certs_pair pair;
	struct skiff_error e;
	struct certs_opts o;
	char *text = NULL;
	size_t size = 0;
	FILE *f;
	int ret;

	ret = parse(what, allowed, argc, argv, &o);
	if (ret)
		return ret < 0 ? SKIFF_CTL_OK : ret;
	if (o.n_args != 1)
		return skiff_ctl_usage_error(usage_text, o.n_args ? "%s: one NAME only" :
					     "%s: NAME missing", what);
	if (!o.server)
		return skiff_ctl_usage_error(usage_text, "%s: --server URL missing", what);
	if (strncmp(o.server, "https://", 8) || !o.server[8])
		return fail_msg(what, "--server '%s': an https:// URL (certificates need TLS)",
				o.server);
	ret = kubeconfig_paths(what, &o, o.args[0], ca, crt, key);
	if (ret)
		return ret;
	/* The pair must belong together and to the CA: no kubeconfig that cannot work. */
	if (skiff_certs_verify(crt, ca, SKIFF_CERTS_CLIENT_AUTH, &e) ||
	    skiff_certs_load(crt, key, &pair, &e))
		return skiff_ctl_fail(what, &e);
	ret = skiff_certs_describe(pair.crt, &info, &e);
	skiff_certs_pair_free(&pair);
	if (ret)
		return skiff_ctl_fail(what, &e);
	if (info.is_ca || !(info.usages & SKIFF_CERTS_CLIENT_AUTH)) {
		skiff_certs_info_free(&info);
		return fail_msg(what, "%s is no client certificate (a CA, or not for client auth)",
				crt);
	}

	f = open_memstream(&text, &size);
	if (!f) {
		skiff_certs_info_free(&info);
		return fail_msg(what, "%s", strerror(errno));
	}
	ret = write_kubeconfig(f, &o, ca, crt, key, info.cn, &e);
	skiff_certs_info_free(&info);
	if (fclose(f) && !ret)
		ret = skiff_error_set(&e, -ENOMEM, "out of memory");
	if (!ret && o.out)
		ret = skiff_certs_write_file(o.out, text, size, 0600, true, &e);
	else if (!ret)
		fwrite(text, 1, size, stdout);
	if (text) {
		memset(text, 0, size);
		free(text);
	}
	return ret ? skiff_ctl_fail(what, &e) : SKIFF_CTL_OK;
}

int skiff_ctl_certs(int argc, char **argv)
{
	if (argc < 2)
		return skiff_ctl_usage_error(usage_text,
					     "certs: init, issue, show, verify or kubeconfig?");
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return certs_help();
	if (!strcmp(argv[1], "init"))
		return certs_init(argc - 1, argv + 1);
	if (!strcmp(argv[1], "issue"))
		return certs_issue(argc - 1, argv + 1);
	if (!strcmp(argv[1], "show"))
		return certs_show(argc - 1, argv + 1);
	if (!strcmp(argv[1], "verify"))
		return certs_verify(argc - 1, argv + 1);
	if (!strcmp(argv[1], "kubeconfig"))
		return certs_kubeconfig(argc - 1, argv + 1);
	return skiff_ctl_usage_error(usage_text, "certs: unknown command '%s'", argv[1]);
}
