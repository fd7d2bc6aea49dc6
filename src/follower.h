/*
 * follower.h — stream followers, their starters and the launcher
 * (follower.c), and the gates they share with privileged.c.
 */
#ifndef FLINKML_FOLLOWER_H
#define FLINKML_FOLLOWER_H

#include "postgres.h"

/*
 * Lock classes of followers ('flkm') and of starting one: object locks of a
 * class no catalog has, keyed by the model's name, so that no SQL command
 * can take them (an advisory lock anyone can take and hold).
 */
#define FOLLOWER_LOCK_CLASS 1718382445
#define FOLLOWER_START_LOCK_CLASS 1718382446

/* Take the model's lock of class; session: for the backend's life; wait: else try. */
extern bool flinkml_lock_model_key(const char *model, Oid class, bool session, bool wait);

/* The installed extension's OID, owner and schema; false when not installed. */
extern bool flinkml_extension(Oid *ext, Oid *owner, Oid *schema);
/* Its owner; an error when it is not installed. */
extern Oid	flinkml_extension_owner(void);
/* Run one fixed statement with SPI as role (SPI connected); returns SPI_processed. */
extern uint64 flinkml_spi_as(Oid role, const char *sql, int nargs, Oid *types, Datum *values,
							 const char *nulls, bool read_only);
/* Error unless the model's owner may run its follower (LOGIN, REPLICATION, reads every row). */
extern void flinkml_check_follower_owner(Oid owner, Oid source, const char *model);
/* Start a follower for every enabled, fresh stream that has none (SPI connected). */
extern void flinkml_start_followers(void);
/*
 * After the current transaction, drop the slot of every stream (model
 * NULL) or of the model's, if the transaction ended it and no follower
 * runs (SPI connected).
 */
extern void flinkml_reap_after_commit(const char *model);
/* GUC flinkml.max_followers and the launcher (shared_preload_libraries). */
extern void flinkml_define_follower_settings(void);
extern void flinkml_register_launcher(void);
extern bool flinkml_preloaded;

#endif							/* FLINKML_FOLLOWER_H */
