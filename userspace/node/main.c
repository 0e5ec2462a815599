// SPDX-License-Identifier: GPL-2.0
/*
 * skiff-node: the agent of one node (node.h says what it does).
 *
 *	skiff-node [--kubeconfig FILE] [--server URL] --node-name NAME [--node-ip IP]
 *		[--root-dir DIR] [--image-dir DIR] [--dataplane auto|kmod|nft]
 *		[--runtime runc|crun] [--service-cidr CIDR] [--cluster-cidr CIDR]
 *		[--mtu N] [--heartbeat D]
 *	skiff-node image import|build-from-host|list|rm ...
 *	skiff-node reset --root-dir DIR
 *
 * Start-up: open the data plane and the runtime, register the Node, start
 * the proxy; once the Node has a podCIDR (the controller manager's node
 * IPAM gives it) make the bridge, the address book and the overlay, then
 * run pods. One line says when the node is up.
 */

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "files.h"
#include "image.h"
#include "kubeconfig.h"
#include "leader.h"
#include "node.h"
#include "parse.h"
#include "volume.h"

#define PROG "skiff-node"

static void print_help(FILE *f)
{
	fprintf(f,
		"usage: " PROG " --node-name NAME [options]\n"
		"       " PROG " image import|build-from-host|list|rm ...\n"
		"       " PROG " reset [--root-dir DIR]\n"
		"  --kubeconfig FILE     the apiserver, its CA and this node's credentials\n"
		"                        (kubeconfig format; its current-context)\n"
		"  --server URL          the apiserver (default http://127.0.0.1:8080);\n"
		"                        given with --kubeconfig, it overrides its server\n"
		"  --node-name NAME      this node's name (DNS-1123 subdomain)\n"
		"  --node-ip IP          underlay address (default: first address of an up,\n"
		"                        non-loopback interface)\n"
		"  --root-dir DIR        state (default /var/lib/skiff/node)\n"
		"  --image-dir DIR       image store (default /var/lib/skiff/images)\n"
		"  --dataplane MODE      auto (kmod when skiff.ko is loaded), kmod or nft\n"
		"  --runtime NAME        OCI runtime: runc (default) or crun\n"
		"  --service-cidr CIDR   Service virtual IPs (default 10.96.0.0/12)\n"
		"  --cluster-cidr CIDR   every pod subnet (default 10.244.0.0/16)\n"
		"  --mtu N               pod and overlay MTU (default 1450)\n"
		"  --heartbeat D         Lease renewal period (default 10s)\n"
		"  --kubelet-port N      container logs endpoint on --node-ip (default 10250,\n"
		"                        0: none)\n");
}

static bool valid_name(const char *s)
{
	size_t i, len = strlen(s);

	if (!len || len > 253 || s[0] == '-' || s[0] == '.' ||
	    s[len - 1] == '-' || s[len - 1] == '.')
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-' || s[i] == '.'))
			return false;
	return true;
}

static int parse_cidr(const char *text, struct in_addr *addr, uint8_t *len)
{
	if (skiff_parse_prefix4(text, addr, len) || *len < 1 || *len > 30)
		return -1;
	if (*len < 32 && (ntohl(addr->s_addr) & (0xffffffffu >> *len)))
		return -1;
	return 0;
}

/* The first IPv4 address of an interface that is up and not loopback. */
static int default_node_ip(struct in_addr *out)
{
	struct ifaddrs *ifa, *i;
	int err = -ENOENT;

	if (getifaddrs(&ifa))
		return -errno;
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
		    !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK) ||
		    !strcmp(i->ifa_name, SKIFF_NODE_BRIDGE) || !strncmp(i->ifa_name, "skiff", 5))
			continue;
		*out = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
		err = 0;
		break;
	}
	freeifaddrs(ifa);
	return err;
}

static int open_dataplane(struct skiff_node *n)
{
	enum skiff_dp_backend b;
	struct skiff_error e = { 0 };

	if (!strcmp(n->dp_choice, "auto")) {
		if (!skiff_dp_open(&n->dp, SKIFF_DP_KMOD, &e)) {
			fprintf(stderr, PROG ": data plane: kmod (skiff.ko)\n");
			return 0;
		}
		fprintf(stderr, PROG ": data plane: nft (skiff.ko is not loaded: %s)\n",
			e.msg[0] ? e.msg : strerror(-e.err));
		b = SKIFF_DP_NFT;
	} else if (skiff_dp_backend_parse(n->dp_choice, &b)) {
		fprintf(stderr, PROG ": --dataplane: want auto, kmod or nft, not \"%s\"\n",
			n->dp_choice);
		return -1;
	}
	if (skiff_dp_open(&n->dp, b, &e)) {
		skiff_error_print(PROG ": data plane", &e);
		return -1;
	}
	if (strcmp(n->dp_choice, "auto"))
		fprintf(stderr, PROG ": data plane: %s\n", skiff_dp_backend_name(b));
	return 0;
}

/*
 * A pod reaching a Service whose backend sits on the same bridge gets the
 * reply bridged, not routed: conntrack must see bridged packets to undo
 * the translation (kube-proxy's br_netfilter requirement). Loaded where it
 * is a module, switched on in this namespace.
 */
static void bridge_netfilter_on(void)
{
	static const char path[] = "/proc/sys/net/bridge/bridge-nf-call-iptables";
	char *const argv[] = { "modprobe", "-q", "br_netfilter", NULL };
	int fd, status;
	pid_t pid;

	if (access(path, F_OK) &&
	    !posix_spawnp(&pid, "modprobe", NULL, NULL, argv, environ))
		waitpid(pid, &status, 0);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "1\n", 2) != 2)
		fprintf(stderr, PROG ": warning: cannot switch on %s: %s\n", path,
			"pods may not reach Services whose backends share their node");
	if (fd >= 0)
		close(fd);
}

/* The node's own network, once it has its subnet: then pods may run. */
static int network_up(struct skiff_node *n)
{
	struct skiff_overlay_config ov = {
		.node_name = n->name,
		.node_ip = n->node_ip,
		.pod_cidr = n->pod_cidr,
		.pod_len = n->pod_len,
		.vni = 1,
		.port = 8472,
		.mtu = n->mtu,
	};
	struct skiff_error e = { 0 };
	char dir[PATH_MAX], cidr[INET_ADDRSTRLEN];
	struct in_addr gw = { htonl(ntohl(n->pod_cidr.s_addr) + 1) };

	snprintf(dir, sizeof(dir), "%s/ipam", n->root_dir);
	bridge_netfilter_on();
	if (skiff_bridge_setup(SKIFF_NODE_BRIDGE, n->pod_cidr, n->pod_len, n->mtu, &e) ||
	    skiff_ipam_open(&n->ipam, dir, n->pod_cidr, n->pod_len, &e) ||
	    skiff_podnet_masquerade(n->pod_cidr, n->pod_len, n->cluster_cidr,
				    n->cluster_len, &e) ||
	    skiff_podnet_service_route(SKIFF_NODE_BRIDGE, n->service_cidr, n->service_len,
				       gw, &e) ||
	    skiff_overlay_start(&n->overlay, n->c, n->dp, n->nodes, &ov, &e)) {
		skiff_error_print(PROG ": node network", &e);
		return -1;
	}
	n->networked = true;
	skiff_logserver_set_dataplane(n->logserver, skiff_dp_backend(n->dp),
				      skiff_overlay_dev(n->overlay));
	if (skiff_kubelet_start(n, &e)) {
		skiff_error_print(PROG ": kubelet", &e);
		return -1;
	}
	skiff_node_status_tick(n);
	inet_ntop(AF_INET, &n->pod_cidr, cidr, sizeof(cidr));
	fprintf(stderr, PROG ": node %s up: pod subnet %s/%u, data plane %s, runtime %s\n",
		n->name, cidr, n->pod_len, skiff_dp_backend_name(skiff_dp_backend(n->dp)),
		n->runtime_name);
	return 0;
}

static void node_changed(enum skiff_change change, const json_t *old,
			 const json_t *obj, void *arg)
{
	struct skiff_node *n = arg;
	const char *cidr;

	(void)old;
	if (change == SKIFF_DELETED || n->networked ||
	    strcmp(skiff_meta(obj, "name") ?: "", n->name))
		return;
	cidr = skiff_str(obj, "spec.podCIDR");
	if (!cidr || !*cidr)
		return;
	if (parse_cidr(cidr, &n->pod_cidr, &n->pod_len) || n->pod_len > 28) {
		fprintf(stderr, PROG ": node %s: unusable podCIDR \"%s\"\n", n->name, cidr);
		return;
	}
	if (network_up(n))
		skiff_loop_stop(n->loop);
}

static int start(struct skiff_node *n, const struct skiff_kubeconfig *kc)
{
	struct skiff_error e = { 0 };
	char shim[PATH_MAX], dir[PATH_MAX + 8], *slash;
	ssize_t len;
	int r;

	len = readlink("/proc/self/exe", shim, sizeof(shim) - 16);
	if (len < 0)
		return -1;
	shim[len] = 0;
	slash = strrchr(shim, '/');
	strcpy(slash + 1, "skiff-shim");
	snprintf(dir, sizeof(dir), "%s/runc", n->root_dir);
	r = skiff_mkdirs(n->root_dir);
	if (r) {
		fprintf(stderr, PROG ": --root-dir %s: %s\n", n->root_dir, strerror(-r));
		return -1;
	}
	if (skiff_runtime_new(&n->rt, n->runtime_name, dir, shim, &e)) {
		skiff_error_print(PROG ": runtime", &e);
		return -1;
	}
	if (open_dataplane(n))
		return -1;
	skiff_logserver_set_dataplane(n->logserver, skiff_dp_backend(n->dp), NULL);
	n->loop = skiff_loop_new();
	n->c = n->loop ? skiff_client_new_config(n->loop, kc) : NULL;
	if (!n->c)
		return -1;
	if (skiff_node_register(n))
		return -1;
	n->nodes = skiff_informer_new(n->c, &skiff_nodes, NULL);
	n->services = skiff_informer_new(n->c, &skiff_services, NULL);
	n->endpoints = skiff_informer_new(n->c, &skiff_endpoints, NULL);
	if (!n->nodes || !n->services || !n->endpoints)
		return -1;
	skiff_informer_on_change(n->nodes, node_changed, n);
	if (skiff_proxy_start(&n->proxy, n->loop, n->dp, n->services, n->endpoints,
			      n->name, n->cluster_cidr, n->cluster_len, &e)) {
		skiff_error_print(PROG ": proxy", &e);
		return -1;
	}
	skiff_informer_start(n->nodes);
	skiff_informer_start(n->services);
	skiff_informer_start(n->endpoints);
	return 0;
}

static int kill_running(const char *id, bool running, void *arg)
{
	struct skiff_runtime *rt = arg;
	struct skiff_error e;

	if (running)
		skiff_runtime_kill(rt, id, SIGKILL, &e);
	return 0;
}

static int count_running(const char *id, bool running, void *arg)
{
	(void)id;
	*(int *)arg += running;
	return 0;
}

/* Every container of this root dir's runtime, killed and waited for. */
static void reset_containers(struct skiff_runtime *rt)
{
	struct skiff_error e;
	int tries, running;

	skiff_runtime_for_each(rt, kill_running, rt, &e);
	for (tries = 0; tries < 50; tries++) {
		running = 0;
		if (skiff_runtime_for_each(rt, count_running, &running, &e) || !running)
			break;
		usleep(100000);
	}
}

/* One pod's runs, volumes and sandbox under @pod_dir (ROOT/pods/UID). */
static void reset_pod(struct skiff_runtime *rt, const char *pod_dir, const char *uid)
{
	char path[PATH_MAX + 16], sub[PATH_MAX * 2 + 300], veth[16];
	struct skiff_error e;
	struct dirent *d;
	DIR *ctrs;

	snprintf(path, sizeof(path), "%s/containers", pod_dir);
	ctrs = opendir(path);
	while (ctrs && (d = readdir(ctrs))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s-%s", uid, d->d_name);
		if (rt)
			skiff_runtime_delete(rt, sub, &e);
		snprintf(sub, sizeof(sub), "%s/%s", path, d->d_name);
		skiff_bundle_remove(sub, &e);
	}
	if (ctrs)
		closedir(ctrs);
	skiff_volumes_teardown(pod_dir, &e);
	snprintf(path, sizeof(path), "%s/netns", pod_dir);
	skiff_sandbox_veth_name(uid, veth);
	skiff_sandbox_destroy(path, veth, &e);
}

/*
 * `skiff-node reset`: stops every container of this root directory and
 * releases every pod's mounts, namespaces and veths, then removes the
 * directory (kubeadm reset's job, for tests and `make stop`).
 */
static int cmd_reset(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root-dir", required_argument, NULL, 'r' },
		{ "runtime", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	const char *root = "/var/lib/skiff/node", *runtime = "runc";
	char dir[PATH_MAX], sub[PATH_MAX];
	struct skiff_runtime *rt = NULL;
	struct skiff_error e = { 0 };
	struct dirent *d;
	DIR *pods;
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'r') {
			root = optarg;
		} else if (opt == 'R') {
			runtime = optarg;
		} else {
			fprintf(stderr,
				"usage: " PROG " reset [--root-dir DIR] [--runtime NAME]\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG " reset: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s/runc", root);
	if (!skiff_runtime_new(&rt, runtime, dir, "/bin/false", &e))
		reset_containers(rt);
	snprintf(dir, sizeof(dir), "%s/pods", root);
	pods = opendir(dir);
	while (pods && (d = readdir(pods))) {
		if (d->d_name[0] == '.')
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", dir, d->d_name) < (int)sizeof(sub))
			reset_pod(rt, sub, d->d_name);
	}
	if (pods)
		closedir(pods);
	skiff_runtime_free(rt);
	return skiff_remove_tree(root) ? 1 : 0;
}

/* As the kubelet's --kubeconfig; a --server given wins over the file's. */
static int load_kubeconfig(struct skiff_kubeconfig *kc, const char *path,
			   const char *server)
{
	struct skiff_error e;

	if (!path) {
		if (!skiff_kubeconfig_from_server(kc, server ?: "http://127.0.0.1:8080", &e))
			return 0;
		fprintf(stderr, PROG ": --server: %s\n", e.msg);
		return -1;
	}
	if (skiff_kubeconfig_load(kc, path, NULL, &e)) {
		fprintf(stderr, PROG ": --kubeconfig: %s\n", e.msg);
		return -1;
	}
	if (server && skiff_kubeconfig_set_server(kc, server, &e)) {
		fprintf(stderr, PROG ": --server: %s\n", e.msg);
		skiff_kubeconfig_release(kc);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "kubeconfig", required_argument, NULL, 'K' },
		{ "node-name", required_argument, NULL, 'n' },
		{ "node-ip", required_argument, NULL, 'i' },
		{ "root-dir", required_argument, NULL, 'r' },
		{ "image-dir", required_argument, NULL, 'I' },
		{ "dataplane", required_argument, NULL, 'd' },
		{ "runtime", required_argument, NULL, 'R' },
		{ "service-cidr", required_argument, NULL, 'S' },
		{ "cluster-cidr", required_argument, NULL, 'C' },
		{ "mtu", required_argument, NULL, 'm' },
		{ "heartbeat", required_argument, NULL, 'H' },
		{ "kubelet-port", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct skiff_node n = {
		.root_dir = "/var/lib/skiff/node",
		.image_dir = "/var/lib/skiff/images",
		.runtime_name = "runc",
		.dp_choice = "auto",
		.mtu = 1450,
		.heartbeat_ms = 10000,
		.kubelet_port = 10250,
	};
	const char *server = NULL, *kubeconfig = NULL, *service_cidr = "10.96.0.0/12";
	const char *cluster_cidr = "10.244.0.0/16", *node_ip = NULL;
	enum skiff_dp_backend backend;
	struct skiff_kubeconfig kc;
	struct skiff_error e = { 0 };
	uint32_t mtu, port;
	int opt, r;

	if (argc > 1 && !strcmp(argv[1], "image"))
		return skiff_image_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "reset"))
		return cmd_reset(argc - 1, argv + 1);
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			server = optarg;
			break;
		case 'K':
			kubeconfig = optarg;
			break;
		case 'n':
			n.name = optarg;
			break;
		case 'i':
			node_ip = optarg;
			break;
		case 'r':
			n.root_dir = optarg;
			break;
		case 'I':
			n.image_dir = optarg;
			break;
		case 'd':
			n.dp_choice = optarg;
			break;
		case 'R':
			n.runtime_name = optarg;
			break;
		case 'S':
			service_cidr = optarg;
			break;
		case 'C':
			cluster_cidr = optarg;
			break;
		case 'm':
			if (skiff_parse_u32(optarg, 576, 9000, &mtu)) {
				fprintf(stderr, PROG ": --mtu: want 576 to 9000, not \"%s\"\n",
					optarg);
				return 2;
			}
			n.mtu = mtu;
			break;
		case 'H':
			n.heartbeat_ms = skiff_parse_duration(optarg);
			if (n.heartbeat_ms < 100 || n.heartbeat_ms > 3600000) {
				fprintf(stderr,
					PROG ": --heartbeat: want 100ms to 1h (10s), not \"%s\"\n",
					optarg);
				return 2;
			}
			break;
		case 'k':
			if (skiff_parse_u32(optarg, 0, 65535, &port)) {
				fprintf(stderr,
					PROG ": --kubelet-port: want 0 to 65535, not \"%s\"\n",
					optarg);
				return 2;
			}
			n.kubelet_port = port;
			break;
		case 'h':
			print_help(stdout);
			return 0;
		default:
			print_help(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (!n.name || !valid_name(n.name)) {
		fprintf(stderr, PROG ": --node-name: want a DNS-1123 name (a-z 0-9 - .)%s%s%s\n",
			n.name ? ", not \"" : "", n.name ?: "", n.name ? "\"" : "");
		return 2;
	}
	if (parse_cidr(service_cidr, &n.service_cidr, &n.service_len)) {
		fprintf(stderr, PROG ": --service-cidr: want A.B.C.D/N, host bits zero: \"%s\"\n",
			service_cidr);
		return 2;
	}
	if (parse_cidr(cluster_cidr, &n.cluster_cidr, &n.cluster_len)) {
		fprintf(stderr, PROG ": --cluster-cidr: want A.B.C.D/N, host bits zero: \"%s\"\n",
			cluster_cidr);
		return 2;
	}
	if (strcmp(n.dp_choice, "auto") && skiff_dp_backend_parse(n.dp_choice, &backend)) {
		fprintf(stderr, PROG ": --dataplane: want auto, kmod or nft, not \"%s\"\n",
			n.dp_choice);
		return 2;
	}
	if (strcmp(n.runtime_name, "runc") && strcmp(n.runtime_name, "crun")) {
		fprintf(stderr, PROG ": --runtime: want runc or crun, not \"%s\"\n",
			n.runtime_name);
		return 2;
	}
	if (node_ip ? skiff_parse_ipv4(node_ip, &n.node_ip) : default_node_ip(&n.node_ip)) {
		if (node_ip)
			fprintf(stderr, PROG ": --node-ip: want an IPv4 address, not \"%s\"\n",
				node_ip);
		else
			fprintf(stderr, PROG ": no IPv4 address to use: give --node-ip\n");
		return 2;
	}
	inet_ntop(AF_INET, &n.node_ip, n.node_ip_text, sizeof(n.node_ip_text));
	if (load_kubeconfig(&kc, kubeconfig, server))
		return 1;
	n.kc = &kc;
	if (skiff_logserver_start(&n, &e)) {
		skiff_error_print(PROG ": --kubelet-port", &e);
		skiff_kubeconfig_release(&kc);
		return 1;
	}
	r = start(&n, &kc);
	skiff_kubeconfig_release(&kc);
	n.kc = NULL;
	if (r)
		return 1;
	r = skiff_loop_run(n.loop);
	/* Containers keep running: the next agent adopts them. */
	skiff_logserver_stop(n.logserver);
	skiff_kubelet_free(n.kubelet);
	skiff_proxy_free(n.proxy);
	skiff_overlay_free(n.overlay);
	skiff_informer_free(n.pods);
	skiff_informer_free(n.nodes);
	skiff_informer_free(n.services);
	skiff_informer_free(n.endpoints);
	skiff_client_free(n.c);
	skiff_loop_free(n.loop);
	skiff_dp_close(n.dp);
	skiff_runtime_free(n.rt);
	json_decref(n.last_status);
	fprintf(stderr, PROG ": stopped\n");
	return r ? 1 : 0;
}
