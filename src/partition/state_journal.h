/* Durable writer of the resiliency state file (format: state_file.h).
 *
 * A partition change is acknowledged only once its record is on disk: one
 * appended record and one fdatasync. Every `compact_every` records the file
 * is rewritten as a single snapshot through an O_EXCL|O_NOFOLLOW temp file,
 * fsync, rename and a directory fsync, so it stays small and a crash at any
 * point leaves the old or the new file. The temp file's descriptor becomes
 * the append descriptor: nothing can swap the file between the rename and
 * the next append.
 *
 * When an append fails (full disk, I/O error, fdatasync error) the file is
 * cut back to its last good record so that a crash now still loads, and the
 * next write is a whole snapshot instead of an append: after a failed
 * fdatasync the kernel may have dropped the dirty pages, so nothing about
 * the tail can be trusted.
 *
 * Compaction replaces the file (a new inode at `path`): anything that must
 * keep one daemon per state file has to lock a separate, stable file, not
 * this one. */
#ifndef OPENFM_PARTITION_STATE_JOURNAL_H
#define OPENFM_PARTITION_STATE_JOURNAL_H

#include <stdbool.h>

#include "openfm/error.h"
#include "partition/state_file.h"

typedef struct ofm_pm_journal ofm_pm_journal;

/* Write `s` as a fresh snapshot at `path` and keep it open for changes.
 * Returns 0, or -1 with err naming the file and the system error. */
int ofm_pm_journal_start(const char *path, const ofm_pm_state *s, ofm_pm_journal **out,
                         ofm_error *err);
/* A journal for `path` that writes nothing yet: its first record will be a
 * whole snapshot (used by --restart, where the file just loaded must not be
 * lost if it cannot be rewritten). */
int ofm_pm_journal_new(const char *path, ofm_pm_journal **out, ofm_error *err);
/* Make a change durable: `s` is the state after the change, `changed` (by
 * partition index) the partitions it touched. Returns 0 once the record (or,
 * after an earlier failure, a whole snapshot) is on disk; -1 with err
 * otherwise, and then the file still holds the state before the change. */
int ofm_pm_journal_record(ofm_pm_journal *j, const ofm_pm_state *s, const bool *changed,
                          ofm_error *err);
/* Make a live definition (index i of s, the state after it) or its
 * deletion (s: the state after, without it) durable, like a change. */
int ofm_pm_journal_define(ofm_pm_journal *j, const ofm_pm_state *s, size_t i, ofm_error *err);
int ofm_pm_journal_undefine(ofm_pm_journal *j, const ofm_pm_state *s, unsigned id, ofm_error *err);
/* Enough records since the last snapshot that a compaction is worth it. */
bool ofm_pm_journal_compaction_due(const ofm_pm_journal *j);
/* Rewrite the file as one snapshot of `s` (the current, durable state). On
 * failure the old file and descriptor stay in use. */
int ofm_pm_journal_compact(ofm_pm_journal *j, const ofm_pm_state *s, ofm_error *err);
void ofm_pm_journal_close(ofm_pm_journal *j);

/* Records written before a compaction is due (tests lower it). */
void ofm_pm_journal_set_compact_every(ofm_pm_journal *j, unsigned n);

#endif
