// SPDX-License-Identifier: GPL-2.0
/*
 * The Job controller: runs pods to completion. spec.completions pods must
 * succeed (none set: the first success, once nothing runs, ends the Job),
 * at most spec.parallelism at a time. A pod that fails (phase Failed, or
 * deleted before it succeeded) is a failure and is replaced after a
 * back-off of 10 s doubling per failure since the last success (at most
 * 10 min), Kubernetes' own constants; more than spec.backoffLimit failures
 * (or, with restartPolicy OnFailure, that many container restarts) fail
 * the Job, and so does running longer than spec.activeDeadlineSeconds.
 *
 * As Kubernetes 1.32 does, a finishing Job first gets the condition
 * SuccessCriteriaMet or FailureTarget (its running pods are deleted), then
 * Complete (reason CompletionsReached, with completionTime) or Failed
 * (reason BackoffLimitExceeded or DeadlineExceeded) once no pod of it
 * runs. spec.ttlSecondsAfterFinished later deletes the finished Job, in the
 * foreground, so that the garbage collector takes its pods first.
 *
 * Counting is exact, with Kubernetes' tracking finalizer: pods are made
 * with batch.kubernetes.io/job-tracking; a finished pod's uid goes into
 * status.uncountedTerminatedPods, then its finalizer is removed, then it
 * moves into status.succeeded or status.failed. A finished pod someone
 * deletes is thus counted once, never lost, even across restarts. Pods
 * the controller itself deletes as surplus lose the finalizer first: they
 * are no failure. Finalizers of pods whose Job is being deleted or gone
 * are removed, so that they can go.
 *
 * Not done: Indexed completion mode, suspend, podFailurePolicy,
 * successPolicy, podReplacementPolicy (pods are replaced once they are
 * deleted, not once they are gone).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm.h"
#include "selector.h"

#define TRACKING "batch.kubernetes.io/job-tracking"
#define BACKOFF_S 10.0
#define BACKOFF_MAX_S 600.0
#define BURST 500
#define POD_KEY "pod:"

struct job_ctl {
	struct cm *cm;
	struct skiff_informer *jobs, *pods;
	struct skiff_queue *q;
};

static struct job_ctl job_ctl;

static bool tracked(const json_t *pod)
{
	const json_t *fins = json_object_get(json_object_get(pod, "metadata"),
					     "finalizers"), *f;
	size_t i;

	json_array_foreach(fins, i, f)
		if (!strcmp(json_string_value(f) ?: "", TRACKING))
			return true;
	return false;
}

static const json_t *job_by_uid(struct job_ctl *j, const char *uid)
{
	const json_t *jobs = skiff_informer_indexed(j->jobs, CM_BY_UID, uid ?: "");
	const char *key;
	const json_t *job;

	json_object_foreach((json_t *)jobs, key, job)
		return job;
	return NULL;
}

static struct skiff_selector *job_selector(const json_t *job)
{
	struct skiff_selector *sel;
	char err[128];

	if (skiff_label_selector_from_json(json_object_get(json_object_get(job, "spec"),
							   "selector"),
					   &sel, err, sizeof(err)))
		return NULL;
	if (skiff_selector_empty(sel)) {
		skiff_selector_free(sel);
		return NULL;
	}
	return sel;
}

static void queue_pod_key(struct job_ctl *j, const json_t *pod)
{
	char *key = skiff_object_key(pod), *pkey;

	if (key && asprintf(&pkey, POD_KEY "%s", key) >= 0) {
		skiff_queue_add(j->q, pkey);
		free(pkey);
	}
	free(key);
}

/* The Job of @pod, the Jobs that may adopt it, or the pod itself (orphan). */
static void queue_for_pod(struct job_ctl *j, const json_t *pod)
{
	const char *uid = skiff_controller_uid(pod);
	const json_t *jobs, *job;
	struct skiff_selector *sel;
	const char *key;

	if (uid) {
		job = job_by_uid(j, uid);
		if (job) {
			char *jkey = skiff_object_key(job);

			if (jkey)
				skiff_queue_add(j->q, jkey);
			free(jkey);
		} else if (tracked(pod)) {
			queue_pod_key(j, pod);
		}
		return;
	}
	if (tracked(pod))
		queue_pod_key(j, pod);
	if (skiff_deleting(pod))
		return;
	jobs = skiff_informer_indexed(j->jobs, CM_BY_NAMESPACE,
				      skiff_meta(pod, "namespace") ?: "");
	json_object_foreach((json_t *)jobs, key, job) {
		sel = job_selector(job);
		if (!sel)
			continue;
		if (skiff_selector_match_labels(sel,
						json_object_get(json_object_get(pod, "metadata"),
								"labels")))
			skiff_queue_add(j->q, key);
		skiff_selector_free(sel);
	}
}

static void pod_changed(enum skiff_change change, const json_t *old,
			const json_t *pod, void *arg)
{
	struct job_ctl *j = arg;

	(void)change;
	if (old && strcmp(skiff_controller_uid(old) ?: "",
			  skiff_controller_uid(pod) ?: ""))
		queue_for_pod(j, old);
	queue_for_pod(j, pod);
}

static void job_changed(enum skiff_change change, const json_t *old,
			const json_t *job, void *arg)
{
	struct job_ctl *j = arg;
	char *key = skiff_object_key(job);
	const json_t *pods, *pod;
	const char *pkey;

	(void)old;
	if (change == SKIFF_DELETED) {
		/* Its pods are orphans now: their finalizers must go. */
		pods = skiff_informer_indexed(j->pods, CM_BY_CONTROLLER,
					      skiff_meta(job, "uid") ?: "");
		json_object_foreach((json_t *)pods, pkey, pod)
			if (tracked(pod))
				queue_pod_key(j, pod);
	} else if (key) {
		skiff_queue_add(j->q, key);
	}
	free(key);
}

/* Removes the tracking finalizer, at the pod's version (a race: look again). */
static void untrack(struct job_ctl *j, const char *key, const json_t *pod)
{
	const json_t *fins = json_object_get(json_object_get(pod, "metadata"),
					     "finalizers"), *f;
	json_t *keep = json_array(), *patch;
	size_t i;

	json_array_foreach(fins, i, f)
		if (strcmp(json_string_value(f) ?: "", TRACKING))
			json_array_append(keep, (json_t *)f);
	patch = json_pack("{s:{s:o, s:s?}}", "metadata", "finalizers", keep,
			  "resourceVersion", skiff_meta(pod, "resourceVersion"));
	cm_write(j->cm, j->q, key, j->pods, "PATCH",
		 skiff_path(&skiff_pods, skiff_meta(pod, "namespace"),
			    skiff_meta(pod, "name"), NULL),
		 "application/merge-patch+json", patch);
	json_decref(patch);
}

static void delete_pod(struct job_ctl *j, const char *key, const json_t *pod)
{
	cm_write(j->cm, j->q, key, j->pods, "DELETE",
		 skiff_path(&skiff_pods, skiff_meta(pod, "namespace"),
			    skiff_meta(pod, "name"), NULL), NULL, NULL);
}

/* A pod whose Job is gone keeps no tracking finalizer. @key: "pod:NS/NAME". */
static void reconcile_orphan(struct job_ctl *j, const char *key)
{
	const json_t *pod = json_object_get(skiff_informer_all(j->pods),
					    key + strlen(POD_KEY));
	const char *uid;

	if (!pod || !tracked(pod))
		return;
	uid = skiff_controller_uid(pod);
	if (uid && job_by_uid(j, uid))
		return;
	untrack(j, key, pod);
}

/* ---- reading pods ------------------------------------------------------ */

enum outcome { RUNNING, SUCCEEDED, FAILED };

static enum outcome pod_outcome(const json_t *pod)
{
	const char *phase = skiff_str(pod, "status.phase") ?: "";

	if (!strcmp(phase, "Succeeded"))
		return SUCCEEDED;
	if (!strcmp(phase, "Failed") || skiff_deleting(pod))
		return FAILED;
	return RUNNING;
}

/*
 * When a pod finished: its containers' end, its Ready=False, its deletion
 * (the deletionTimestamp less the grace period: when it was asked).
 */
static double finish_time(const json_t *pod, double now)
{
	const json_t *st = json_object_get(pod, "status"), *c;
	static const char *const lists[] = { "containerStatuses", "initContainerStatuses" };
	double t = -1, v;
	size_t i, k;

	for (k = 0; k < 2; k++)
		json_array_foreach(json_object_get(st, lists[k]), i, c) {
			v = skiff_time_parse(skiff_str(c, "state.terminated.finishedAt"));
			if (v > t)
				t = v;
		}
	if (t >= 0)
		return t;
	json_array_foreach(json_object_get(st, "conditions"), i, c)
		if (!strcmp(skiff_str(c, "type") ?: "", "Ready") &&
		    strcmp(skiff_str(c, "status") ?: "", "True"))
			t = skiff_time_parse(skiff_str(c, "lastTransitionTime"));
	if (t < 0 && skiff_deleting(pod)) {
		t = skiff_time_parse(skiff_meta(pod, "deletionTimestamp"));
		if (t >= 0)
			t -= (double)skiff_int(pod, "metadata.deletionGracePeriodSeconds", 0);
	}
	return t >= 0 ? t : now;
}

static int restarts(const json_t *pod)
{
	const json_t *st = json_object_get(pod, "status"), *c;
	static const char *const lists[] = { "containerStatuses", "initContainerStatuses" };
	size_t i, k;
	int n = 0;

	for (k = 0; k < 2; k++)
		json_array_foreach(json_object_get(st, lists[k]), i, c)
			n += (int)skiff_int(c, "restartCount", 0);
	return n;
}

static bool uid_in(const json_t *list, const char *uid)
{
	const json_t *v;
	size_t i;

	json_array_foreach(list, i, v)
		if (!strcmp(json_string_value(v) ?: "", uid))
			return true;
	return false;
}

static const json_t *condition(const json_t *job, const char *type)
{
	const json_t *conds = json_object_get(json_object_get(job, "status"),
					      "conditions"), *c;
	size_t i;

	json_array_foreach(conds, i, c)
		if (!strcmp(skiff_str(c, "type") ?: "", type) &&
		    !strcmp(skiff_str(c, "status") ?: "", "True"))
			return c;
	return NULL;
}

static void add_condition(json_t *status, const char *type,
			  const char *reason, const char *message,
			  const char *now)
{
	json_t *conds = json_object_get(status, "conditions");

	if (!json_is_array(conds)) {
		conds = json_array();
		json_object_set_new(status, "conditions", conds);
	}
	json_array_append_new(conds,
			      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}",
					"type", type, "status", "True",
					"reason", reason, "message", message,
					"lastProbeTime", now,
					"lastTransitionTime", now));
}

/* Higher is a better pod to delete: unscheduled, pending, not ready, newest. */
static int delete_rank(const json_t *pod)
{
	const char *phase = skiff_str(pod, "status.phase") ?: "";
	int rank = 0;

	if (!skiff_str(pod, "spec.nodeName"))
		rank += 8;
	if (!strcmp(phase, "Pending"))
		rank += 4;
	if (!skiff_pod_ready(pod, NULL))
		rank += 2;
	return rank;
}

static int surplus_order(const void *a, const void *b)
{
	const json_t *pa = *(const json_t *const *)a;
	const json_t *pb = *(const json_t *const *)b;

	return (delete_rank(pb) - delete_rank(pa)) ?:
	       strcmp(skiff_meta(pb, "creationTimestamp") ?: "",
		      skiff_meta(pa, "creationTimestamp") ?: "") ?:
	       strcmp(skiff_meta(pb, "name") ?: "", skiff_meta(pa, "name") ?: "");
}

static json_t *pod_from_template(const json_t *job)
{
	const json_t *tmpl = json_object_get(json_object_get(job, "spec"),
					     "template");
	json_t *meta = json_deep_copy(json_object_get(tmpl, "metadata"));
	char prefix[300];

	if (!json_is_object(meta)) {
		json_decref(meta);
		meta = json_object();
	}
	snprintf(prefix, sizeof(prefix), "%s-", skiff_meta(job, "name"));
	json_object_del(meta, "name");
	json_object_set_new(meta, "generateName", json_string(prefix));
	json_object_set_new(meta, "namespace",
			    json_string(skiff_meta(job, "namespace")));
	json_object_set_new(meta, "ownerReferences",
			    json_pack("[o]", cm_owner_ref(job)));
	json_object_set_new(meta, "finalizers", json_pack("[s]", TRACKING));
	return json_pack("{s:s, s:s, s:o, s:O?}", "apiVersion", "v1",
			 "kind", "Pod", "metadata", meta,
			 "spec", json_object_get(tmpl, "spec"));
}

/* ---- reconcile --------------------------------------------------------- */

/* What one look at a Job's pods found. */
struct tally {
	json_t *unc_s, *unc_f;	/* uncountedTerminatedPods after this look */
	json_int_t succeeded, failed;	/* counted */
	int active, ready, terminating, restarts;
	bool untracked_pending;	/* finished pods still hold the finalizer */
	const json_t **running;
	double last_success, last_failure;
	int failures_since_success;
};

/* Moves released uids into the counters, records newly finished pods. */
static void count(struct job_ctl *j, const char *key, const json_t *job,
		  const json_t *pods, struct tally *t, double now)
{
	const json_t *st = json_object_get(job, "status");
	const json_t *unc = json_object_get(st, "uncountedTerminatedPods");
	const json_t *old_s = json_object_get(unc, "succeeded");
	const json_t *old_f = json_object_get(unc, "failed");
	json_t *by_uid = json_object();
	const json_t *pod, *v;
	const char *pkey;
	size_t i;

	t->succeeded = skiff_int(st, "succeeded", 0);
	t->failed = skiff_int(st, "failed", 0);
	t->unc_s = json_array();
	t->unc_f = json_array();
	t->last_success = -1;
	t->last_failure = -1;
	json_object_foreach((json_t *)pods, pkey, pod)
		json_object_set(by_uid, skiff_meta(pod, "uid") ?: "", (json_t *)pod);
	/* Released (or gone): counted for good. */
	json_array_foreach(old_s, i, v) {
		pod = json_object_get(by_uid, json_string_value(v) ?: "");
		if (!pod || !tracked(pod))
			t->succeeded++;
		else
			json_array_append(t->unc_s, (json_t *)v);
	}
	json_array_foreach(old_f, i, v) {
		pod = json_object_get(by_uid, json_string_value(v) ?: "");
		if (!pod || !tracked(pod))
			t->failed++;
		else
			json_array_append(t->unc_f, (json_t *)v);
	}
	json_decref(by_uid);

	json_object_foreach((json_t *)pods, pkey, pod) {
		enum outcome o = pod_outcome(pod);
		const char *uid = skiff_meta(pod, "uid") ?: "";
		double end;

		if (skiff_deleting(pod) && !skiff_pod_finished(pod))
			t->terminating++;
		if (o == RUNNING) {
			t->running[t->active++] = pod;
			t->ready += skiff_pod_ready(pod, NULL);
			t->restarts += restarts(pod);
			continue;
		}
		end = finish_time(pod, now);
		if (o == SUCCEEDED && end > t->last_success)
			t->last_success = end;
		if (o == FAILED && end > t->last_failure)
			t->last_failure = end;
		if (!tracked(pod))
			continue;
		t->untracked_pending = true;
		if (uid_in(old_s, uid) || uid_in(old_f, uid))
			/* Recorded in the stored status: the finalizer can go. */
			untrack(j, key, pod);
		else
			json_array_append_new(o == SUCCEEDED ? t->unc_s : t->unc_f,
					      json_string(uid));
	}
	/* Failures since the last success, for the back-off. */
	json_object_foreach((json_t *)pods, pkey, pod)
		if (pod_outcome(pod) == FAILED &&
		    finish_time(pod, now) >= t->last_success)
			t->failures_since_success++;
}

static void set_int(json_t *status, const char *name, json_int_t v)
{
	json_object_set_new(status, name, json_integer(v));
}

/* Deletes a finished Job whose ttlSecondsAfterFinished passed. */
static void check_ttl(struct job_ctl *j, const char *key, const json_t *job,
		      const json_t *done, double now)
{
	json_int_t ttl = skiff_int(job, "spec.ttlSecondsAfterFinished", -1);
	double at;
	json_t *opts;

	if (ttl < 0)
		return;
	at = skiff_time_parse(skiff_str(done, "lastTransitionTime"));
	if (at < 0)
		at = now;
	if (now < at + (double)ttl) {
		skiff_queue_add_after(j->q, key,
				      (int64_t)((at + ttl - now) * 1000) + 100);
		return;
	}
	opts = json_pack("{s:s, s:s, s:s, s:{s:s}}", "apiVersion", "v1",
			 "kind", "DeleteOptions", "propagationPolicy", "Foreground",
			 "preconditions", "uid", skiff_meta(job, "uid"));
	cm_write(j->cm, j->q, key, j->jobs, "DELETE",
		 skiff_path(&skiff_jobs, skiff_meta(job, "namespace"),
			    skiff_meta(job, "name"), NULL), NULL, opts);
	json_decref(opts);
}

/* Orphans the Job's selector matches get a controller reference to it. */
static void adopt_orphans(struct job_ctl *j, const char *key, const json_t *job)
{
	struct skiff_selector *sel = job_selector(job);
	const json_t *pods, *pod;
	const char *pkey;
	json_t *refs, *patch;

	if (!sel)
		return;
	pods = skiff_informer_indexed(j->pods, CM_BY_NAMESPACE,
				      skiff_meta(job, "namespace"));
	json_object_foreach((json_t *)pods, pkey, pod) {
		if (skiff_controller_uid(pod) || skiff_deleting(pod) ||
		    !skiff_selector_match_labels(sel,
						 json_object_get(json_object_get(pod, "metadata"),
								 "labels")))
			continue;
		refs = json_deep_copy(json_object_get(json_object_get(pod, "metadata"),
						      "ownerReferences"));
		if (!refs)
			refs = json_array();
		json_array_append_new(refs, cm_owner_ref(job));
		patch = json_pack("{s:{s:o, s:s?}}", "metadata",
				  "ownerReferences", refs, "resourceVersion",
				  skiff_meta(pod, "resourceVersion"));
		cm_write(j->cm, j->q, key, j->pods, "PATCH",
			 skiff_path(&skiff_pods, skiff_meta(pod, "namespace"),
				    skiff_meta(pod, "name"), NULL),
			 "application/merge-patch+json", patch);
		json_decref(patch);
	}
	skiff_selector_free(sel);
}

/* Creates or deletes pods toward @want running; returns ms to wait, or -1. */
static int64_t scale(struct job_ctl *j, const char *key, const json_t *job,
		     struct tally *t, int want, double now)
{
	double delay, wait;
	json_t *pod;
	int i, n;

	if (t->active > want) {
		qsort(t->running, t->active, sizeof(*t->running), surplus_order);
		/*
		 * Surplus is no failure: released first, deleted at the next
		 * look (a delete racing the release could make it one).
		 */
		for (i = 0; i < t->active - want && i < BURST; i++) {
			if (tracked(t->running[i]))
				untrack(j, key, t->running[i]);
			else
				delete_pod(j, key, t->running[i]);
		}
		return -1;
	}
	if (t->active == want)
		return -1;
	if (t->failures_since_success > 0) {
		delay = BACKOFF_S;
		for (i = 1; i < t->failures_since_success && delay < BACKOFF_MAX_S; i++)
			delay *= 2;
		if (delay > BACKOFF_MAX_S)
			delay = BACKOFF_MAX_S;
		wait = t->last_failure + delay - now;
		if (wait > 0)
			return (int64_t)(wait * 1000) + 100;
	}
	pod = pod_from_template(job);
	n = want - t->active;
	for (i = 0; pod && i < n && i < BURST; i++)
		cm_write(j->cm, j->q, key, j->pods, "POST",
			 skiff_path(&skiff_pods, skiff_meta(job, "namespace"),
				    NULL, NULL), NULL, pod);
	json_decref(pod);
	return -1;
}

static void update_status(struct job_ctl *j, const char *key,
			  const json_t *job, json_t *status)
{
	json_t *patch;

	if (json_equal(status, json_object_get(job, "status")))
		return;
	patch = json_pack("{s:{s:s?}, s:O}", "metadata", "resourceVersion",
			  skiff_meta(job, "resourceVersion"), "status", status);
	cm_write(j->cm, j->q, key, j->jobs, "PATCH",
		 skiff_path(&skiff_jobs, skiff_meta(job, "namespace"),
			    skiff_meta(job, "name"), "status"),
		 "application/merge-patch+json", patch);
	json_decref(patch);
}

/*
 * Decides what a Job that is not finished does: returns ms until it must
 * be looked at again (deadline, back-off), or -1.
 */
static int64_t drive(struct job_ctl *j, const char *key, const json_t *job,
		     struct tally *t, json_t *status, double now,
		     const char *now_text)
{
	const json_t *spec = json_object_get(job, "spec");
	const json_t *completions = json_object_get(spec, "completions");
	json_int_t parallelism = skiff_int(spec, "parallelism", 1);
	json_int_t limit = skiff_int(spec, "backoffLimit", 6);
	json_int_t deadline = skiff_int(spec, "activeDeadlineSeconds", -1);
	bool on_failure = !strcmp(skiff_str(spec, "template.spec.restartPolicy") ?: "",
				  "OnFailure");
	json_int_t succeeded = t->succeeded + json_array_size(t->unc_s);
	json_int_t failed = t->failed + json_array_size(t->unc_f);
	bool success = condition(job, "SuccessCriteriaMet");
	const json_t *failure = condition(job, "FailureTarget");
	const char *reason = NULL, *message = NULL;
	double start = skiff_time_parse(skiff_str(status, "startTime"));
	int64_t again = -1, w;
	json_int_t want, left;
	int i;

	if (start < 0) {
		json_object_set_new(status, "startTime", json_string(now_text));
		start = now;
	}
	if (!success && !failure) {
		if (json_is_integer(completions) ?
		    succeeded >= json_integer_value(completions) :
		    succeeded > 0 && t->active == 0) {
			add_condition(status, "SuccessCriteriaMet",
				      "CompletionsReached",
				      "Reached expected number of succeeded pods",
				      now_text);
			success = true;
		} else if (failed > limit ||
			   (on_failure && (limit ? t->restarts >= limit : t->restarts > 0))) {
			reason = "BackoffLimitExceeded";
			message = "Job has reached the specified backoff limit";
		} else if (deadline >= 0 && now - start >= (double)deadline) {
			reason = "DeadlineExceeded";
			message = "Job was active longer than specified deadline";
		} else if (deadline >= 0) {
			again = (int64_t)((start + deadline - now) * 1000) + 100;
		}
		if (reason)
			add_condition(status, "FailureTarget", reason, message,
				      now_text);
	} else if (failure) {
		reason = skiff_str(failure, "reason");
		message = skiff_str(failure, "message");
	}
	if (success) {
		/* Done: what still runs is surplus. */
		w = scale(j, key, job, t, 0, now);
	} else if (reason) {
		for (i = 0; i < t->active && i < BURST; i++)
			delete_pod(j, key, t->running[i]);
		w = -1;
	} else {
		if (json_is_integer(completions)) {
			left = json_integer_value(completions) - succeeded;
			want = parallelism < left ? parallelism : left;
		} else {
			want = succeeded > 0 ? t->active : parallelism;
		}
		w = scale(j, key, job, t, want < 0 ? 0 : (int)want, now);
	}
	if (w >= 0 && (again < 0 || w < again))
		again = w;
	/* The end, once nothing of it runs and everything is counted. */
	if ((success || reason) && !t->active && !t->terminating &&
	    !t->untracked_pending && !json_array_size(t->unc_s) &&
	    !json_array_size(t->unc_f)) {
		if (success) {
			add_condition(status, "Complete", "CompletionsReached",
				      "Reached expected number of succeeded pods",
				      now_text);
			json_object_set_new(status, "completionTime",
					    json_string(now_text));
			skiff_client_event(j->cm->c, job, "Normal", "Completed",
					   "job-controller", "Job completed");
		} else {
			add_condition(status, "Failed", reason ?: "",
				      message ?: "", now_text);
			skiff_client_event(j->cm->c, job, "Warning", reason ?: "",
					   "job-controller", "%s", message ?: "");
		}
	}
	return again;
}

static void reconcile(const char *key, void *arg)
{
	struct job_ctl *j = arg;
	const json_t *job, *pods, *pod, *done;
	struct tally t = { 0 };
	json_t *status;
	const char *pkey;
	char now_text[40];
	double now = (double)time(NULL);
	int64_t again = -1;

	if (!strncmp(key, POD_KEY, strlen(POD_KEY))) {
		reconcile_orphan(j, key);
		return;
	}
	job = json_object_get(skiff_informer_all(j->jobs), key);
	if (!job)
		return;
	pods = skiff_informer_indexed(j->pods, CM_BY_CONTROLLER,
				      skiff_meta(job, "uid"));
	if (skiff_deleting(job)) {
		json_object_foreach((json_t *)pods, pkey, pod)
			if (tracked(pod))
				untrack(j, key, pod);
		return;
	}
	adopt_orphans(j, key, job);
	t.running = calloc(json_object_size(pods) + 1, sizeof(*t.running));
	if (!t.running) {
		skiff_queue_retry(j->q, key);
		return;
	}
	skiff_time_now(now_text, sizeof(now_text));
	count(j, key, job, pods, &t, now);
	status = json_deep_copy(json_object_get(job, "status"));
	if (!json_is_object(status)) {
		json_decref(status);
		status = json_object();
	}
	done = condition(job, "Complete") ?: condition(job, "Failed");
	if (done)
		check_ttl(j, key, job, done, now);
	else
		again = drive(j, key, job, &t, status, now, now_text);
	set_int(status, "active", t.active);
	set_int(status, "ready", t.ready);
	set_int(status, "terminating", t.terminating);
	set_int(status, "succeeded", t.succeeded);
	set_int(status, "failed", t.failed);
	json_object_set_new(status, "uncountedTerminatedPods",
			    json_pack("{s:o, s:o}", "succeeded", t.unc_s,
				      "failed", t.unc_f));
	update_status(j, key, job, status);
	json_decref(status);
	free(t.running);
	if (again >= 0)
		skiff_queue_add_after(j->q, key, again);
}

static int job_start(struct cm *cm)
{
	struct job_ctl *j = &job_ctl;

	j->cm = cm;
	j->jobs = cm_informer(cm, &skiff_jobs);
	j->pods = cm_informer(cm, &skiff_pods);
	j->q = cm_queue(cm, reconcile, j);
	if (!j->jobs || !j->pods || !j->q ||
	    skiff_informer_on_change(j->jobs, job_changed, j) ||
	    skiff_informer_on_change(j->pods, pod_changed, j))
		return -1;
	return 0;
}

CM_CONTROLLER(job, job_start)
