/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The event loop of the control-plane daemons (scheduler, controller
 * manager): one thread, libcurl's multi interface for every HTTP transfer
 * (watch streams and requests alike), timers, and idle work run after each
 * round of I/O.
 *
 * One thread and no locks is a choice: every cache, queue and controller
 * is touched only from the loop, and writes to the apiserver are many
 * transfers in flight at once rather than many threads each waiting on
 * one. A callback must not block.
 */

#ifndef SKIFF_LOOP_H
#define SKIFF_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <curl/curl.h>

struct skiff_loop;
struct skiff_timer;

typedef void (*skiff_loop_fn)(void *arg);
/* A transfer ended: @result is CURLE_OK or what failed. */
typedef void (*skiff_transfer_fn)(CURL *easy, CURLcode result, void *arg);

struct skiff_loop *skiff_loop_new(void);
void skiff_loop_free(struct skiff_loop *loop);

/*
 * Runs until skiff_loop_stop() or SIGINT/SIGTERM. 0 when stopped by a
 * signal or by skiff_loop_stop(), -errno when the loop itself failed.
 */
int skiff_loop_run(struct skiff_loop *loop);
void skiff_loop_stop(struct skiff_loop *loop);

/*
 * Calls @fn(@arg) once after @ms milliseconds. The handle is valid until
 * @fn runs or skiff_timer_cancel() is called, whichever comes first.
 */
struct skiff_timer *skiff_loop_after(struct skiff_loop *loop, int64_t ms,
				     skiff_loop_fn fn, void *arg);
void skiff_timer_cancel(struct skiff_timer *timer);

/*
 * @fn runs after every round of I/O and timers, until the loop ends: where
 * work queues are drained. Returns true when it left work for the next
 * round (the loop then does not sleep).
 */
int skiff_loop_on_idle(struct skiff_loop *loop, bool (*fn)(void *arg),
		       void *arg);

/* Starts @easy; @done runs when it ends, then @easy is the caller's again. */
int skiff_loop_transfer(struct skiff_loop *loop, CURL *easy,
			skiff_transfer_fn done, void *arg);
/* Stops @easy without calling its @done. */
void skiff_loop_transfer_cancel(struct skiff_loop *loop, CURL *easy);

/*
 * Calls @fn(@arg) whenever @fd is readable (or hung up), until unwatched.
 * The handle is valid until skiff_loop_unwatch(); @fd stays the caller's.
 */
struct skiff_watch;
struct skiff_watch *skiff_loop_watch_fd(struct skiff_loop *loop, int fd,
					skiff_loop_fn fn, void *arg);
void skiff_loop_unwatch(struct skiff_loop *loop, struct skiff_watch *w);

/*
 * Calls @fn(@status, @arg) once when process @pid ends, watched through a
 * pidfd. For a child of this process @status is what waitpid() gives (and
 * the child is reaped); for any other process it is -1 (unknown).
 * NULL with errno set when @pid cannot be watched (ESRCH: already gone).
 */
typedef void (*skiff_exit_fn)(int status, void *arg);
struct skiff_watch *skiff_loop_watch_pid(struct skiff_loop *loop, pid_t pid,
					 skiff_exit_fn fn, void *arg);

/* Milliseconds on the monotonic clock. */
int64_t skiff_now_ms(void);

#endif /* SKIFF_LOOP_H */
