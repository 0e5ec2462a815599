/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test-only triggers: debugfs files under skiff/ that make the module
 * misbehave on purpose, so that the test harness can prove it catches kernel
 * warnings. Built only with SKIFF_TEST_TRIGGERS=y; otherwise these are no-ops.
 */

#ifndef _SKIFF_TEST_TRIGGERS_H
#define _SKIFF_TEST_TRIGGERS_H

#ifdef SKIFF_TEST_TRIGGERS
int skiff_test_triggers_init(void);
void skiff_test_triggers_exit(void);
#else
static inline int skiff_test_triggers_init(void)
{
	return 0;
}

static inline void skiff_test_triggers_exit(void)
{
}
#endif

#endif /* _SKIFF_TEST_TRIGGERS_H */
