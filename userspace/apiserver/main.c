// SPDX-License-Identifier: GPL-2.0
/*
 * skiff-apiserver: the cluster's only entry point. Serves the Kubernetes
 * API over HTTPS (or plain HTTP on loopback) from a store (embedded SQLite
 * by default).
 *
 *	skiff-apiserver [--listen ADDR:PORT] [--data-dir DIR]
 *			[--etcd-servers URL[,URL...]] [--history N] [--threads N]
 *			[--default-watch-cache-size N]
 *			[--etcd-cafile F] [--etcd-certfile F --etcd-keyfile F]
 *			[--tls-cert-file F --tls-private-key-file F]
 *			[--client-ca-file F] [--token-auth-file F]
 *			[--kubelet-client-certificate F --kubelet-client-key F]
 *			[--kubelet-certificate-authority F]
 */

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "auth.h"
#include "server.h"

#define PROG "skiff-apiserver"
#define DEFAULT_DATA_DIR "/var/lib/skiff/apiserver"
#define DEFAULT_WATCH_CACHE 1024
#define MAX_WATCH_CACHE 1000000
#define PLAIN_OFF_LOOPBACK \
	"%s: --listen %s: plain HTTP is only served on loopback; give --tls-cert-file\n"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: skiff-apiserver [OPTIONS]\n"
		"  --listen ADDR:PORT  where to serve (default 127.0.0.1:8080;\n"
		"                      port 0: a free one, said on stderr)\n"
		"  --tls-cert-file F, --tls-private-key-file F  serve HTTPS (TLS 1.2+);\n"
		"                      without them plain HTTP, loopback only, no checks\n"
		"  --client-ca-file F  client certificates this CA signed authenticate\n"
		"  --token-auth-file F bearer tokens: token,user,uid,\"group1,group2\"\n"
		"  --kubelet-client-certificate F, --kubelet-client-key F  HTTPS to the\n"
		"                      kubelets (pods/log) with this identity\n"
		"  --kubelet-certificate-authority F  the kubelets' serving CA\n"
		"  --data-dir DIR      the embedded store's directory (default %s)\n"
		"  --etcd-servers URL[,URL...]  store in etcd instead (several apiservers);\n"
		"                      http://HOST:PORT or https://HOST:PORT each\n"
		"  --etcd-cafile F     etcd's serving CA (https; default: the system's)\n"
		"  --etcd-certfile F, --etcd-keyfile F  the client certificate for etcd\n"
		"  --history N         revisions kept for watches (default 10000)\n"
		"  --default-watch-cache-size N  the last N writes kept decoded, which\n"
		"                      watches resuming after them start from (default %d;\n"
		"                      0: every watch with a resourceVersion asks the store)\n"
		"  --threads N         HTTP threads (default 64)\n"
		"  --service-cluster-ip-range CIDR  Service ClusterIPs (default 10.96.0.0/12)\n"
		"  --service-node-port-range A-B    node ports (default 30000-32767)\n",
		DEFAULT_DATA_DIR, DEFAULT_WATCH_CACHE);
}

static int parse_listen(const char *text, struct server_options *opts)
{
	static char address[64];
	const char *colon = strrchr(text, ':');
	char *end;
	long port;

	if (!colon || colon == text || (size_t)(colon - text) >= sizeof(address))
		return -EINVAL;
	port = strtol(colon + 1, &end, 10);
	if (*end || colon[1] == '\0' || port < 0 || port > 65535)
		return -EINVAL;
	memcpy(address, text, colon - text);
	address[colon - text] = '\0';
	opts->address = address;
	opts->port = (unsigned int)port;
	return 0;
}

static int parse_count(const char *text, long max, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(text, &end, 10);
	return errno || *end || !*text || *out < 1 || *out > max ? -EINVAL : 0;
}

/*
 * Outside 127.0.0.0/8, where plain HTTP may not be served? (An address
 * that is none at all is server_start's to refuse.)
 */
static bool off_loopback(const char *address)
{
	struct in_addr in;

	return inet_pton(AF_INET, address, &in) == 1 &&
	       (ntohl(in.s_addr) >> 24) != 127;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "etcd-servers", required_argument, NULL, 'e' },
		{ "etcd-cafile", required_argument, NULL, 'a' },
		{ "etcd-certfile", required_argument, NULL, 'r' },
		{ "etcd-keyfile", required_argument, NULL, 'y' },
		{ "history", required_argument, NULL, 'H' },
		{ "threads", required_argument, NULL, 't' },
		{ "default-watch-cache-size", required_argument, NULL, 'W' },
		{ "service-cluster-ip-range", required_argument, NULL, 'S' },
		{ "service-node-port-range", required_argument, NULL, 'N' },
		{ "tls-cert-file", required_argument, NULL, 'c' },
		{ "tls-private-key-file", required_argument, NULL, 'k' },
		{ "client-ca-file", required_argument, NULL, 'C' },
		{ "token-auth-file", required_argument, NULL, 'T' },
		{ "kubelet-client-certificate", required_argument, NULL, 'K' },
		{ "kubelet-client-key", required_argument, NULL, 'Y' },
		{ "kubelet-certificate-authority", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	/*
	 * A write holds its HTTP thread until it is durable, so the thread
	 * count bounds how many writes share one group commit: 64 make the
	 * durable write rate of make bench-apiserver; idle threads cost a
	 * stack of address space.
	 */
	struct server_options sopts = {
		.address = "127.0.0.1", .port = 8080, .threads = 64,
		.max_connections = 8192,
	};
	struct skiff_store_options store_opts = { 0 };
	struct skiff_store_tls etcd_tls = { 0 };
	struct auth_options auth_opts = { 0 };
	const char *data_dir = NULL, *etcd = NULL;
	char *url = NULL;
	const char *service_cidr = "10.96.0.0/12";
	const char *node_ports = "30000-32767";
	struct apiserver server = { 0 };
	struct rlimit files;
	char err[512];
	sigset_t sigs;
	long value;
	size_t watch_cache = DEFAULT_WATCH_CACHE;
	int opt, sig, ret;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			if (parse_listen(optarg, &sopts)) {
				fprintf(stderr, "%s: --listen: '%s' is not ADDR:PORT\n",
					PROG, optarg);
				return 2;
			}
			break;
		case 'd':
			data_dir = optarg;
			break;
		case 'e':
			etcd = optarg;
			break;
		case 'a':
			etcd_tls.ca_file = optarg;
			break;
		case 'r':
			etcd_tls.cert_file = optarg;
			break;
		case 'y':
			etcd_tls.key_file = optarg;
			break;
		case 'H':
			if (parse_count(optarg, 100000000, &value)) {
				fprintf(stderr, "%s: --history: '%s' is not a positive number\n",
					PROG, optarg);
				return 2;
			}
			store_opts.history = value;
			break;
		case 'W':
			/* 0 is allowed: no cache, as Kubernetes' flag. */
			if (!strcmp(optarg, "0")) {
				value = 0;
			} else if (parse_count(optarg, MAX_WATCH_CACHE, &value)) {
				fprintf(stderr,
					"%s: --default-watch-cache-size: '%s' is not in 0..%d\n",
					PROG, optarg, MAX_WATCH_CACHE);
				return 2;
			}
			watch_cache = (size_t)value;
			break;
		case 't':
			if (parse_count(optarg, 256, &value)) {
				fprintf(stderr, "%s: --threads: '%s' is not in 1..256\n",
					PROG, optarg);
				return 2;
			}
			sopts.threads = (unsigned int)value;
			break;
		case 'S':
			service_cidr = optarg;
			break;
		case 'N':
			node_ports = optarg;
			break;
		case 'c':
			auth_opts.tls_cert_file = optarg;
			break;
		case 'k':
			auth_opts.tls_key_file = optarg;
			break;
		case 'C':
			auth_opts.client_ca_file = optarg;
			break;
		case 'T':
			auth_opts.token_file = optarg;
			break;
		case 'K':
			auth_opts.kubelet_cert = optarg;
			break;
		case 'Y':
			auth_opts.kubelet_key = optarg;
			break;
		case 'A':
			auth_opts.kubelet_ca = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "skiff-apiserver: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return 2;
	}

	if (data_dir && etcd) {
		fprintf(stderr, "%s: --data-dir and --etcd-servers: one store or the other\n",
			PROG);
		return 2;
	}
	if (!etcd && (etcd_tls.ca_file || etcd_tls.cert_file ||
		      etcd_tls.key_file)) {
		fprintf(stderr,
			"%s: --etcd-cafile, --etcd-certfile and --etcd-keyfile need --etcd-servers\n",
			PROG);
		return 2;
	}
	if (etcd)
		store_opts.tls = &etcd_tls;
	if (!auth_opts.tls_cert_file && off_loopback(sopts.address)) {
		fprintf(stderr, PLAIN_OFF_LOOPBACK, PROG, sopts.address);
		return 2;
	}
	if (etcd ? asprintf(&url, "etcd:%s", etcd) < 0 :
		   asprintf(&url, "sqlite:%s", data_dir ?: DEFAULT_DATA_DIR) < 0)
		return 1;
	store_opts.url = url;
	if (service_ranges_parse(&server.ranges, service_cidr, node_ports,
				 err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", PROG, err);
		free(url);
		return 2;
	}
	/* Every file checked before anything is served. */
	if (auth_load(&auth_opts, &server.auth, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", PROG, err);
		free(url);
		return 2;
	}
	server.kubelet_cert = auth_opts.kubelet_cert;
	server.kubelet_key = auth_opts.kubelet_key;
	server.kubelet_ca = auth_opts.kubelet_ca;

	/*
	 * Every watch is a connection: thousands of them need more than the
	 * usual soft limit of 1024 descriptors, and the hard limit is ours to
	 * take.
	 */
	if (!getrlimit(RLIMIT_NOFILE, &files) && files.rlim_cur < files.rlim_max) {
		files.rlim_cur = files.rlim_max;
		setrlimit(RLIMIT_NOFILE, &files);
	}

	/* Signals are taken by sigwait below, not by handlers. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	server.started = (long long)time(NULL);
	ret = watch_hub_create(&server, watch_cache, &server.hub);
	if (ret) {
		fprintf(stderr, "skiff-apiserver: %s\n", strerror(-ret));
		goto free_auth;
	}
	store_opts.notify = watch_hub_notify;
	store_opts.notify_arg = server.hub;
	ret = skiff_store_open(&store_opts, &server.store, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "skiff-apiserver: store %s: %s\n",
			store_opts.url, err);
		goto destroy_hub;
	}
	watch_hub_start(server.hub, skiff_store_revision(server.store));
	ret = objects_bootstrap(&server);
	if (ret) {
		fprintf(stderr, "skiff-apiserver: creating the first namespaces: %s\n",
			strerror(-ret));
		goto close_store;
	}
	ret = services_repair(&server);
	if (ret) {
		fprintf(stderr, "%s: checking Service addresses: %s\n", PROG,
			strerror(-ret));
		goto close_store;
	}
	ret = server_start(&server, &sopts, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "skiff-apiserver: %s\n", err);
		goto close_store;
	}
	fprintf(stderr, "skiff-apiserver: serving on %s://%s:%u, store %s at revision %lld\n",
		auth_tls(server.auth) ? "https" : "http", sopts.address, server.port,
		store_opts.url,
		(long long)skiff_store_revision(server.store));

	sigwait(&sigs, &sig);
	fprintf(stderr, "skiff-apiserver: %s, stopping\n", strsignal(sig));
	server_stop(&server);
close_store:
	skiff_store_close(server.store);
destroy_hub:
	watch_hub_destroy(server.hub);
free_auth:
	auth_free(server.auth);
	free(url);
	return ret ? 1 : 0;
}
