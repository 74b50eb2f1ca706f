/*
 * personalize/store.h - persistence: snapshots and the write journal.
 *
 * A snapshot is one file holding everything an engine knows: the catalogue
 * (items, feature names, popularity), every profile (history, interests,
 * attributes, consent, choices, opt-out), the rule documents loaded at run
 * time (segments, experiments, business rules), the cluster model, segment
 * popularity and the CF model, and the configuration text the engine was
 * opened with. Its format is personalize-snapshot(5): a header with a
 * magic, a format version and the hash identity, a table of sections and
 * an XXH3 checksum per section. Saving writes a temporary file in the
 * target's directory, fsyncs it, renames it over the target and fsyncs the
 * directory, so a crash leaves the old snapshot or the new one, never a
 * torn one. Saving a loaded snapshot again reproduces it byte for byte.
 *
 * The journal (config `store: {journal: PATH, fsync: always|interval|
 * never}`) records every write between snapshots: events, attributes,
 * consent, merges, erasures, items, choices, opt-outs, rule loads, cluster
 * names and trainings. Opening an engine loads the last snapshot (config
 * `store.snapshot`, or the path given to pz_engine_load()) and replays the
 * journal; a torn last record (a crash in the middle of a write) is
 * dropped. A successful save starts a new journal. With `fsync: always` a
 * write returns only once its record is on disk; with `interval` the
 * journal is synced at most every `store.fsync_interval` (a duration,
 * default 1s) when writes come; with `never`
 * the operating system decides. Whatever the policy, each record reaches
 * the kernel before the write returns, so a crash of the process alone
 * (not of the machine) loses nothing that was acknowledged.
 *
 * Thread safety: pz_engine_save() may run while other threads read and
 * write; writers wait while the state is copied (not while it is written
 * to disk). With a journal, writes are applied and recorded one at a time,
 * in the journal's order. pz_engine_load() creates a new engine.
 *
 * Snapshots and journals are little-endian; on a big-endian host these
 * functions return PZ_EFORMAT.
 */
#ifndef PERSONALIZE_STORE_H
#define PERSONALIZE_STORE_H

#include "engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Save the engine to a snapshot at path (NULL: config `store.snapshot`).
 * The file is replaced atomically; on failure the old file and the engine
 * are as they were, and no temporary file is left behind. When the save
 * is to the store's snapshot (or no `store.snapshot` is configured), the
 * journal starts again after it.
 * @return PZ_OK; PZ_EINVAL (e NULL, path NULL without store.snapshot,
 *         empty path); PZ_EIO (the directory is missing or read-only, the
 *         disk is full, fsync or rename failed; the message names the path
 *         and the system's reason); PZ_ENOMEM. Since 0.5.
 */
PZ_API int pz_engine_save(pz_engine *e, const char *path);

/**
 * Open an engine from a snapshot. opts (may be NULL) gives the allocator,
 * the clock and the configuration; with no configuration in opts, the
 * configuration stored in the snapshot is used, without its `store`
 * section (the file is loaded as it is; no journal is attached, so a copy
 * of a running service's snapshot never touches that service's journal).
 * A configuration must use
 * the snapshot's hash identity (hashing.seed and hashing.bits) and define
 * every event type and consent purpose the snapshot's profiles use. When
 * the configuration has `store.journal`, the journal is replayed after the
 * snapshot. Everything is checked before it is trusted: a truncated,
 * bit-flipped or hostile file fails cleanly and allocates no more than the
 * file's own size in proportion. On failure *out is NULL.
 * @return PZ_OK; PZ_EINVAL (out or path NULL, empty path); PZ_EIO (cannot
 *         open or read); PZ_EFORMAT (not a snapshot, wrong header);
 *         PZ_EVERSION (a newer format, or an unknown options version);
 *         PZ_ECORRUPT (truncated, checksum mismatch, inconsistent content,
 *         or a journal that does not follow the snapshot); PZ_ECONFIG (bad
 *         configuration, another hash identity, an event type or purpose
 *         the configuration lacks); PZ_ENOMEM. Since 0.5.
 */
PZ_API int pz_engine_load(pz_engine **out, const char *path,
                          const pz_engine_options *opts);

/**
 * Force the journal to disk now (fdatasync), whatever the fsync policy.
 * Without a journal it does nothing.
 * @return PZ_OK; PZ_EINVAL (e NULL); PZ_EIO. Since 0.5.
 */
PZ_API int pz_engine_sync(pz_engine *e);

#ifdef __cplusplus
}
#endif

#endif /* PERSONALIZE_STORE_H */
