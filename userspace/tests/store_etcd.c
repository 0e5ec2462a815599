// SPDX-License-Identifier: GPL-2.0
/*
 * The etcd store (etcd:URL), against real etcd processes that this test
 * starts on loopback (free ports, data under /tmp) and kills at the end:
 * the cases every store passes (store_cases.h), then what is etcd's own:
 * bad URLs, an etcd that is not there or not etcd, two handles on one etcd
 * as two apiservers have them (the writes of each reach the other's
 * notify, their conflicts are conflicts, the compaction of one is seen by
 * the other), a list of endpoints whose first member is dead, a watch that
 * resumes after etcd restarted, and a process that stops when its watch
 * cannot resume. Skipped when etcd is not installed (Debian: etcd-server).
 */

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>

#include "free_port.h"

#define STORE_NEW_REV 1
#include "store_cases.h"

#define MAX_ETCDS 8
#define START_TIMEOUT_MS 20000
#define EVENT_TIMEOUT_MS 10000

/**
 * struct etcd - one etcd this test runs
 * @name: the store name it serves (store_url())
 * @pid: its process, 0 when it is not running
 * @client: its client port
 * @peer: its peer port
 * @dir: its data directory (and log file)
 */
struct etcd {
	char name[32];
	pid_t pid;
	int client;
	int peer;
	char *dir;
};

static struct etcd etcds[MAX_ETCDS];
static size_t nr_etcds;

static bool etcd_installed(void)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL, file[4096];
	bool found = false;

	copy = strdup(path ? path : "/usr/bin:/bin");
	if (!copy)
		abort();
	for (dir = strtok_r(copy, ":", &save); dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(file, sizeof(file), "%s/etcd", dir);
		found = !access(file, X_OK);
	}
	free(copy);
	return found;
}

static char *etcd_url(const struct etcd *e)
{
	char *url;

	if (asprintf(&url, "etcd:http://127.0.0.1:%d", e->client) < 0)
		abort();
	return url;
}

static void etcd_exec(const struct etcd *e)
{
	char client[64], peer[64], cluster[96], *log;
	int fd;

	/* Dies with this test, whatever kills it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	snprintf(client, sizeof(client), "http://127.0.0.1:%d", e->client);
	snprintf(peer, sizeof(peer), "http://127.0.0.1:%d", e->peer);
	snprintf(cluster, sizeof(cluster), "default=%s", peer);
	if (asprintf(&log, "%s.log", e->dir) < 0)
		_exit(127);
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (fd < 0)
		_exit(127);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	execlp("etcd", "etcd", "--name", "default", "--data-dir", e->dir,
	       "--listen-client-urls", client, "--advertise-client-urls",
	       client, "--listen-peer-urls", peer,
	       "--initial-advertise-peer-urls", peer, "--initial-cluster",
	       cluster, (char *)NULL);
	_exit(127);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Starts @e and polls until it answers as etcd: 0, or -1 said why. */
static int etcd_run(struct etcd *e)
{
	struct skiff_store_options opts = { 0 };
	struct skiff_store *store;
	char err[512] = "";
	int waited, status;

	fflush(stdout);
	e->pid = fork();
	if (e->pid < 0)
		abort();
	if (!e->pid)
		etcd_exec(e);
	opts.url = etcd_url(e);
	for (waited = 0; waited < START_TIMEOUT_MS; waited += 20) {
		if (!skiff_store_open(&opts, &store, err, sizeof(err))) {
			skiff_store_close(store);
			free((char *)opts.url);
			return 0;
		}
		if (waitpid(e->pid, &status, WNOHANG) == e->pid) {
			e->pid = 0;
			break;
		}
		sleep_ms(20);
	}
	tap_diag("etcd for %s did not start (%s); its log is %s.log", e->name,
		 err, e->dir);
	free((char *)opts.url);
	return -1;
}

static void etcd_kill(struct etcd *e)
{
	if (!e->pid)
		return;
	kill(e->pid, SIGKILL);
	waitpid(e->pid, NULL, 0);
	e->pid = 0;
}

/* The etcd of the store called @name, started the first time. */
static struct etcd *etcd_for(const char *name)
{
	struct etcd *e;
	size_t i;

	for (i = 0; i < nr_etcds; i++)
		if (!strcmp(etcds[i].name, name))
			return &etcds[i];
	if (nr_etcds == MAX_ETCDS)
		abort();
	e = &etcds[nr_etcds++];
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->client = free_port();
	e->peer = free_port();
	e->dir = path_in("%s/%s", name);
	etcd_run(e);
	return e;
}

static char *store_url(const char *name)
{
	return etcd_url(etcd_for(name));
}

/* etcd's own refusal of a read before @c is what the case checked. */
static void compacted_check(const char *name, int64_t r, int64_t c)
{
	(void)name;
	(void)r;
	(void)c;
}

/* Polls until @rec has @n events. */
static bool wait_events(struct recorder *rec, size_t n)
{
	int waited;
	size_t got;

	for (waited = 0; waited < EVENT_TIMEOUT_MS; waited += 10) {
		pthread_mutex_lock(&rec->lock);
		got = rec->n;
		pthread_mutex_unlock(&rec->lock);
		if (got >= n)
			return true;
		sleep_ms(10);
	}
	tap_diag("%zu events after %d ms, want %zu", got, waited, n);
	return false;
}

/* A file that is there on Debian: the TLS rules come before any reading. */
#define SYSTEM_CAS "/etc/ssl/certs/ca-certificates.crt"

static int open_tls_err(const char *url, const struct skiff_store_tls *tls, char *err,
			size_t err_len)
{
	struct skiff_store_options opts = { .url = url, .tls = tls };
	struct skiff_store *store = (void *)1;
	int ret;

	err[0] = '\0';
	ret = skiff_store_open(&opts, &store, err, err_len);
	if (!ret)
		skiff_store_close(store);
	else if (store)
		ret = -EFAULT;
	return ret;
}

static int open_err(const char *url, char *err, size_t err_len)
{
	return open_tls_err(url, NULL, err, err_len);
}

static void test_urls(void)
{
	static const char *const bad[] = {
		"etcd:", "etcd:127.0.0.1:2379", "etcd:ftp://127.0.0.1:2379",
		"etcd:http://127.0.0.1:2379/v3", "etcd:http://127.0.0.1:2379,",
		"etcd:http://:2379", "etcd:http://127.0.0.1:2379?x=1",
	};
	static const struct skiff_store_tls ca_only = { .ca_file = SYSTEM_CAS };
	static const struct skiff_store_tls cert_only = { .cert_file = SYSTEM_CAS };
	struct etcd *e = etcd_for("main");
	char err[512], url[128];
	int dead = free_port(), dead2 = free_port();
	size_t i;
	int bad_ok = 0;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		if (open_err(bad[i], err, sizeof(err)) == -EINVAL && err[0])
			bad_ok++;
		else
			tap_diag("%s: %s", bad[i], err);
	}
	tap_is_int(bad_ok, ARRAY_SIZE(bad), "malformed URLs: -EINVAL");
	snprintf(url, sizeof(url), "etcd:https://127.0.0.1:%d,http://127.0.0.1:%d", dead, dead2);
	tap_is_int(open_err(url, err, sizeof(err)), -EINVAL, "https and http mixed: -EINVAL");
	tap_ok(strstr(err, "use one scheme for all"), "saying so: %s", err);
	snprintf(url, sizeof(url), "etcd:https://127.0.0.1:%d", dead);
	tap_is_int(open_err(url, err, sizeof(err)), -ECONNREFUSED,
		   "https, nothing listening: -ECONNREFUSED");
	tap_is_int(open_tls_err(url, &cert_only, err, sizeof(err)), -EINVAL,
		   "a client certificate without its key: -EINVAL");
	tap_ok(strstr(err, "needs its key"), "saying so: %s", err);
	snprintf(url, sizeof(url), "etcd:http://127.0.0.1:%d", dead);
	tap_is_int(open_tls_err(url, &ca_only, err, sizeof(err)), -EINVAL,
		   "TLS files for http endpoints: -EINVAL");
	tap_ok(strstr(err, "use https://"), "saying so: %s", err);

	snprintf(url, sizeof(url), "etcd:http://127.0.0.1:%d", dead);
	tap_is_int(open_err(url, err, sizeof(err)), -ECONNREFUSED,
		   "nothing listening: -ECONNREFUSED");
	tap_ok(strstr(err, url + 5) && strstr(err, "refused"),
	       "naming the endpoint: %s", err);
	snprintf(url, sizeof(url),
		 "etcd:http://127.0.0.1:%d,http://127.0.0.1:%d", dead, dead2);
	tap_is_int(open_err(url, err, sizeof(err)), -ECONNREFUSED,
		   "no endpoint listening: -ECONNREFUSED");
	snprintf(url, sizeof(url), "127.0.0.1:%d", dead2);
	tap_ok(strstr(err, url), "naming each: %s", err);

	/* etcd's peer port speaks HTTP, not the client API. */
	snprintf(url, sizeof(url), "etcd:http://127.0.0.1:%d", e->peer);
	tap_is_int(open_err(url, err, sizeof(err)), -EIO,
		   "something that is not etcd's client API: -EIO");
	tap_ok(strstr(err, "not etcd") && strstr(err, "404"),
	       "saying what came: %s", err);
}

/* Two handles on one etcd, as two apiservers have them. */
static void test_two_handles(void)
{
	struct skiff_store *a, *b;
	struct recorder ra, rb;
	struct history_ctx h = { 0 };
	struct skiff_kv_list l;
	int64_t rev, r1, old;
	int i, bad = 0;
	size_t n;
	bool more, ok;

	recorder_init(&ra, STORE_NEW_REV);
	recorder_init(&rb, STORE_NEW_REV);
	if (open_store("ha", 0, &ra, &a)) {
		tap_ok(false, "open a first handle");
		goto out;
	}
	if (open_store("ha", 5, &rb, &b)) {
		tap_ok(false, "open a second handle");
		skiff_store_close(a);
		goto out;
	}
	bad += !!skiff_store_create(a, "/x", "a", 1, &r1);
	bad += !!skiff_store_update(b, "/x", "b", 1, r1, &rev);
	tap_ok(!bad && rev == r1 + 1,
	       "a write of one, updated by the other, at the next revision");
	tap_is_int(skiff_store_update(a, "/x", "stale", 5, r1, &rev), -ESTALE,
		   "a write of the first on what it read before: -ESTALE");
	tap_ok(wait_events(&ra, 2) && wait_events(&rb, 2) &&
	       ra.evs[1].type == SKIFF_STORE_UPDATE &&
	       !strcmp(ra.evs[1].kv.value, "b") &&
	       !strcmp(ra.evs[1].prev.value, "a") &&
	       event_eq(&ra.evs[0], &rb.evs[0]) &&
	       event_eq(&ra.evs[1], &rb.evs[1]),
	       "each one's notify saw both writes, the same");
	bad = !!skiff_store_delete(b, "/x", 0, NULL, &rev);
	tap_ok(!bad && wait_events(&ra, 3) &&
	       ra.evs[2].type == SKIFF_STORE_DELETE && ra.evs[2].rev == rev &&
	       !strcmp(ra.evs[2].kv.value, "b") && !ra.gaps,
	       "a delete by the second reaches the first, with no gap");
	tap_ok(history_matches(a, &rb, r1 - 1, &n) && n == 3,
	       "the first's history is what the second's notify saw");

	/* The second keeps 5 revisions: it compacts for both. */
	old = skiff_store_revision(b);
	for (i = 0; i < 20; i++)
		bad += !!skiff_store_create(b, "/y", "y", 1, &rev) ||
		       !!skiff_store_delete(b, "/y", 0, NULL, &rev);
	tap_ok(!bad && skiff_store_compacted(b) > old,
	       "40 writes of the second compact etcd (%lld)",
	       (long long)skiff_store_compacted(b));
	tap_ok(skiff_store_compacted(a) < skiff_store_compacted(b),
	       "the first does not know yet");
	tap_is_int(skiff_store_history(a, old, collect, &h), -ERANGE,
		   "its history from before: -ERANGE, as etcd says");
	history_free(&h);
	tap_is_int(skiff_store_compacted(a), skiff_store_compacted(b),
		   "and it learnt the compaction point");
	tap_is_int(list(a, "", NULL, 0, old, &l, NULL, &more), -ERANGE,
		   "a list from before: -ERANGE");
	ok = wait_events(&ra, 43) && !ra.gaps &&
	     skiff_store_revision(a) == skiff_store_revision(b);
	tap_ok(ok, "the first's notify saw them all (%zu)", ra.n);
	skiff_store_close(b);
	skiff_store_close(a);
out:
	recorder_free(&ra);
	recorder_free(&rb);
}

/* The first endpoint is dead: an apiserver goes on with the next. */
static void test_dead_member(void)
{
	struct skiff_store *store;
	struct recorder rec;
	struct skiff_kv kv;
	char *url, *live;
	int64_t rev;

	live = store_url("ha");
	if (asprintf(&url, "etcd:http://127.0.0.1:%d,%s", free_port(),
		     live + 5) < 0)
		abort();
	free(live);
	recorder_init(&rec, 0);
	if (!tap_is_int(open_url(url, 0, &rec, &store), 0,
			"open with a dead first endpoint")) {
		free(url);
		recorder_free(&rec);
		return;
	}
	rec.last = skiff_store_revision(store);
	tap_is_int(skiff_store_create(store, "/dead", "d", 1, &rev), 0,
		   "write through the live one");
	tap_ok(!skiff_store_get(store, "/dead", &kv) && kv.mod_rev == rev,
	       "read it back");
	skiff_kv_free(&kv);
	tap_ok(rec.n == 1 && rec.evs[0].rev == rev && !rec.gaps,
	       "notify watches through the live one");
	skiff_store_close(store);
	recorder_free(&rec);
	free(url);
}

/* etcd restarts under an open store: the watch resumes where it was. */
static void test_restart(void)
{
	struct etcd *e = etcd_for("restart");
	struct skiff_store *store;
	struct recorder rec;
	int64_t rev, r1 = 0, r2 = 0;
	bool ok;

	recorder_init(&rec, STORE_NEW_REV);
	if (open_store("restart", 0, &rec, &store)) {
		tap_ok(false, "open");
		recorder_free(&rec);
		return;
	}
	skiff_store_create(store, "/before", "1", 1, &r1);
	etcd_kill(e);
	tap_ok(skiff_store_create(store, "/lost", "x", 1, &rev) < 0,
	       "a write while etcd is down fails");
	tap_is_int(etcd_run(e), 0, "etcd restarted");
	tap_is_int(skiff_store_create(store, "/after", "2", 1, &r2), 0,
		   "a write once it is back");
	ok = wait_events(&rec, 2) && rec.n == 2 && !rec.gaps &&
	     rec.evs[0].rev == r1 && rec.evs[1].rev == r2 &&
	     !strcmp(rec.evs[1].kv.key, "/after");
	tap_ok(ok, "notify resumed with it, no gap, nothing twice");
	skiff_store_close(store);
	recorder_free(&rec);
}

/*
 * A process whose watch cannot resume (etcd compacted past it while the
 * process was cut off) must not go on with a gap: it says so and stops.
 */
static void test_lost_watch(void)
{
	struct etcd *e = etcd_for("lost");
	struct skiff_store *child, *store;
	struct recorder rec;
	char *errfile, *text = NULL, c = 0;
	int fds[2], fd, status = 0, i, waited, bad = 0;
	int64_t rev;
	size_t len;
	pid_t pid;
	FILE *f;

	errfile = path_in("%s/%s", "lost.stderr");
	if (pipe(fds))
		abort();
	fflush(stdout);
	pid = fork();
	if (!pid) {
		close(fds[0]);
		fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(1);
		recorder_init(&rec, STORE_NEW_REV);
		if (open_store("lost", 0, &rec, &child))
			_exit(1);
		if (write(fds[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	if (read(fds[0], &c, 1) != 1)
		c = 0;
	close(fds[0]);
	/* Cut off: stopped while etcd restarts and others write. */
	kill(pid, SIGSTOP);
	etcd_kill(e);
	bad = etcd_run(e);
	recorder_init(&rec, STORE_NEW_REV);
	if (!bad && !open_store("lost", 5, &rec, &store)) {
		for (i = 0; i < 20; i++)
			bad += !!skiff_store_update(store, "/l", "v", 1, 0,
						    &rev) &&
			       !!skiff_store_create(store, "/l", "v", 1, &rev);
		bad += skiff_store_compacted(store) < 10;
		skiff_store_close(store);
	} else {
		bad++;
	}
	recorder_free(&rec);
	kill(pid, SIGCONT);
	for (waited = 0; waited < EVENT_TIMEOUT_MS; waited += 10) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		sleep_ms(10);
	}
	if (waited >= EVENT_TIMEOUT_MS) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	tap_ok(c == 'r' && !bad && WIFSIGNALED(status) &&
	       WTERMSIG(status) == SIGTERM,
	       "a process whose watch resumes after a compaction stops with SIGTERM");
	f = fopen(errfile, "r");
	if (f) {
		len = 0;
		if (getdelim(&text, &len, '\0', f) < 0) {
			free(text);
			text = NULL;
		}
		fclose(f);
	}
	if (!tap_ok(text && strstr(text, "FATAL") &&
		    strstr(text, "cannot resume"), "saying why on stderr"))
		tap_diag("its stderr: %s", text ? text : "(nothing)");
	free(text);
	free(errfile);
}

int main(void)
{
	size_t i;

	if (!etcd_installed()) {
		printf("1..0 # SKIP etcd is not installed (Debian: apt-get install etcd-server)\n");
		return 0;
	}
	tap_plan(STORE_CASES + 35);
	strcpy(tmp, "/tmp/skiff-store-etcd-XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}

	store_cases_run();
	test_urls();
	test_two_handles();
	test_dead_member();
	test_restart();
	test_lost_watch();

	for (i = 0; i < nr_etcds; i++) {
		etcd_kill(&etcds[i]);
		free(etcds[i].dir);
	}
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
