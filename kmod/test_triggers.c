// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only triggers, built with SKIFF_TEST_TRIGGERS=y and never by default.
 *
 * /sys/kernel/debug/skiff/trigger_warn: writing anything fires a WARN(), the
 * kind of report the VM harness must turn into a failed run.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>

#include "test_triggers.h"

static struct dentry *skiff_debugfs_dir;

static ssize_t trigger_warn_write(struct file *file, const char __user *buf,
				  size_t len, loff_t *ppos)
{
	WARN(1, "skiff: test trigger: warning requested through debugfs\n");
	return len;
}

static const struct file_operations trigger_warn_fops = {
	.owner = THIS_MODULE,
	.write = trigger_warn_write,
	.llseek = noop_llseek,
};

int __init skiff_test_triggers_init(void)
{
	pr_warn("built with test triggers: not for production use\n");
	skiff_debugfs_dir = debugfs_create_dir("skiff", NULL);
	debugfs_create_file("trigger_warn", 0200, skiff_debugfs_dir, NULL,
			    &trigger_warn_fops);
	return 0;
}

void skiff_test_triggers_exit(void)
{
	debugfs_remove_recursive(skiff_debugfs_dir);
}
