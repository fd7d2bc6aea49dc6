/*
 * follower.c — background workers that keep registry models current from
 * the WAL through logical decoding.
 *
 * A follower (one per followed model, a dynamic background worker) runs as
 * the model's owner, with a fixed search_path, on the slot flinkml made for
 * the model.  Every 50 ms it reads the WAL's flush position from shared
 * memory; only when that moved does it poll its slot, so an idle follower
 * runs no query and writes nothing.  Each poll applies the changes exactly
 * once:
 *
 *   1. one transaction runs flinkml._stream_apply(model): it peeks the slot
 *      up to the current WAL position X, folds the decoded transactions
 *      that commit after the model's stored LSN into one delta, and stores
 *      X as the model's last applied LSN, all in that transaction;
 *   2. after it commits, the slot is advanced to X.
 *
 * A crash between the two redelivers transactions at or below the stored
 * LSN, which step 1 skips.  pg_logical_slot_get_changes is never used: it
 * would consume changes even if the applying transaction aborted.
 *
 * Errors are logged, recorded in flinkml.streams.last_error, and the worker
 * exits with code 1 so that the postmaster restarts it a second later.
 * When the model stops following (unfollow, a schema change that made it
 * stale) or the extension is dropped, the worker drops its slot and exits
 * 0; a stream that ended while no follower ran has its slot dropped by a
 * reaper.  When the model gets a new owner, the worker exits 0 and keeps
 * the slot, from which a follower as the new owner (resume) goes on.  A
 * session-level object lock per model, which no SQL command can take,
 * keeps a second follower of the same model out.
 *
 * With flinkml in shared_preload_libraries, a launcher (connected to no
 * database) starts, after every server start or crash, one short-lived
 * starter per database, which starts the followers that database's streams
 * need.  flinkml.max_followers bounds the followers of the cluster.
 */
#include "flinkml.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/heapam.h"
#include "access/xlog.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_database.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "replication/slot.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "storage/standby.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "follower.h"

PGDLLEXPORT void flinkml_follower_main(Datum main_arg);
PGDLLEXPORT void flinkml_starter_main(Datum main_arg);
PGDLLEXPORT void flinkml_launcher_main(Datum main_arg);
PGDLLEXPORT void flinkml_reaper_main(Datum main_arg);

PG_FUNCTION_INFO_V1(flinkml_resume);
PG_FUNCTION_INFO_V1(flinkml_launcher_loaded);
PG_FUNCTION_INFO_V1(flinkml_reap_after_commit_sql);

#define CHECK_MS 50
/*
 * A Citus table's follower asks its nodes this often: their WAL is not
 * this server's, so no local write says when.  Each poll opens a
 * connection to each node (master_run_on_worker), so an idle stream asks
 * less often.
 */
#define NODES_POLL_MS 200
#define NODES_IDLE_POLL_MS 500
/* log a running-transactions record when decoding restarts further back than this */
#define RESTART_LAG_BYTES (4 * 1024 * 1024)
#define FOLLOWER_TYPE "flinkml follower"
#define MODEL_NAME_MAX 48

/* What a follower is started with (bgw_extra); bgw_main_arg is the database. */
typedef struct FollowerArgs
{
	Oid			owner;			/* it runs as this role */
	TransactionId wait_xid;		/* the transaction that started it (follow): wait for its end */
	char		model[MODEL_NAME_MAX + 1];
	char		slot[NAMEDATALEN];
} FollowerArgs;

StaticAssertDecl(sizeof(FollowerArgs) <= BGW_EXTRALEN, "FollowerArgs must fit in bgw_extra");

static int	max_followers = 4;
bool		flinkml_preloaded = false;
static volatile sig_atomic_t got_sigterm = false;
/* this follower's stream is a Citus table's (slots on the nodes) */
static bool following_nodes = false;

static void
on_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	got_sigterm = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

/*
 * For the current transaction only (SET LOCAL): every peek and advance of
 * the slot logs "starting logical decoding for slot ..." at LOG, and LOG
 * passes any log_min_messages below FATAL.  An error of the transaction
 * still reaches the log: the loop catches it and logs it as a WARNING after
 * the abort, which has restored the setting.
 */
static void
quiet_decoding_logs(void)
{
	(void) set_config_option("log_min_messages", "fatal", PGC_SUSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, 0, false);
}

/*
 * Settings a worker does not take from ALTER DATABASE / ALTER ROLE: its
 * queries are qualified, and nobody else's search_path or defaults apply.
 */
static void
fixed_settings(void)
{
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("default_transaction_read_only", "off", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("default_transaction_isolation", "read committed", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("statement_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("lock_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("idle_in_transaction_session_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
}

/* Sleep until the timeout or a signal, then take a configuration reload. */
static void
sleep_ms(long ms)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

/* The follower's own lock, released before it leaves shared memory. */
static LOCKTAG follower_tag;

static void
release_follower_lock(int code, Datum arg)
{
	/* session locks of the default lock method outlive a backend's exit otherwise */
	LockRelease(&follower_tag, ExclusiveLock, true);
}

bool
flinkml_lock_model_key(const char *model, Oid class, bool session, bool wait)
{
	text	   *t = cstring_to_text(model);
	uint32		h = DatumGetUInt32(DirectFunctionCall1Coll(hashtext, C_COLLATION_OID, PointerGetDatum(t)));
	uint64		h2 = DatumGetUInt64(DirectFunctionCall2Coll(hashtextextended, C_COLLATION_OID,
															PointerGetDatum(t), Int64GetDatum(0)));
	LOCKTAG		tag;

	/* the same key as SQL's hashtext(model), hashtextextended(model, 0) & 32767 */
	SET_LOCKTAG_OBJECT(tag, MyDatabaseId, class, h, (uint16) (h2 & 32767));
	if (LockAcquire(&tag, ExclusiveLock, session, !wait) == LOCKACQUIRE_NOT_AVAIL)
		return false;
	if (session)
	{
		follower_tag = tag;
		before_shmem_exit(release_follower_lock, (Datum) 0);
	}
	return true;
}

/* Run one statement with text arguments; returns the first column of the first row as text, or NULL. */
static char *
run(const char *sql, int nargs, const char **args)
{
	Oid			types[4] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		vals[4];
	char	   *result = NULL;
	int			rc;

	for (int i = 0; i < nargs; i++)
		vals[i] = CStringGetTextDatum(args[i]);
	rc = SPI_execute_with_args(sql, nargs, types, vals, NULL, false, 0);
	if (rc < 0)
		elog(ERROR, "flinkml follower: SPI failed (%d) on: %s", rc, sql);
	if (SPI_processed > 0 && SPI_tuptable != NULL)
		result = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	return result;
}

static void
begin_tx(const char *activity)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
}

static void
end_tx(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* Drop this follower's slot, if it is flinkml's and idle (in a transaction). */
static void
drop_own_slot(const FollowerArgs *fa)
{
	char		db[16];
	const char *args[2] = {fa->slot, db};

	snprintf(db, sizeof(db), "%u", MyDatabaseId);
	run("SELECT pg_catalog.pg_drop_replication_slot(r.slot_name) FROM pg_catalog.pg_replication_slots r "
		"WHERE r.slot_name OPERATOR(pg_catalog.=) $1::pg_catalog.name "
		"AND r.plugin OPERATOR(pg_catalog.=) 'flinkml' "
		"AND r.datoid OPERATOR(pg_catalog.=) $2::pg_catalog.oid AND NOT r.active", 2, args);
}

/* Stop for good: drop the slot (the transaction is open), commit, exit 0. */
static void
stop_following(const FollowerArgs *fa, const char *why)
{
	drop_own_slot(fa);
	/* a Citus table's stream: its slots are on the nodes */
	if (following_nodes)
	{
		const char *args[1] = {fa->model};
		MemoryContext cxt = CurrentMemoryContext;
		ResourceOwner owner = CurrentResourceOwner;

		/* best effort, in a subtransaction: an error leaves them to unfollow */
		BeginInternalSubTransaction(NULL);
		PG_TRY();
		{
			run("SELECT flinkml._release_node_slots($1)", 1, args);
			ReleaseCurrentSubTransaction();
		}
		PG_CATCH();
		{
			MemoryContextSwitchTo(cxt);
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
		}
		PG_END_TRY();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	end_tx();
	elog(LOG, "flinkml follower of model \"%s\" stopped: %s; slot %s dropped", fa->model, why, fa->slot);
	proc_exit(0);
}

/*
 * Whether this follower's stream goes on: read as the extension's owner.
 * A stale model ends it too (_stream_apply, running as the owner, marks the
 * model stale when a row it cannot apply was committed, such as a level a
 * categorical feature has not seen, without the gates' _mark_stale).
 * (Read as this follower's role, a model given to another role is gone
 * when this role may not read its table: taken for a stream that ended,
 * its slot would be dropped.)
 */
typedef enum StreamCheck
{
	STREAM_OURS,				/* enabled, this slot, this owner */
	STREAM_ENDED,				/* unfollowed, stopped (stale), or another slot */
	STREAM_NEW_OWNER			/* the same stream, now the model of another role */
} StreamCheck;

static StreamCheck
check_stream(const FollowerArgs *fa)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		values[2] = {CStringGetTextDatum(fa->model), CStringGetTextDatum(fa->slot)};
	bool		isnull;
	Oid			owner;

	if (flinkml_spi_as(flinkml_extension_owner(),
					   "SELECT m.owner::pg_catalog.oid FROM flinkml.streams s "
					   "JOIN flinkml.models m ON m.name OPERATOR(pg_catalog.=) s.model "
					   "WHERE s.model OPERATOR(pg_catalog.=) $1 AND s.enabled AND m.stale IS NULL "
					   "AND s.slot OPERATOR(pg_catalog.=) $2::pg_catalog.name",
					   2, types, values, NULL, true) != 1)
		return STREAM_ENDED;
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return owner == fa->owner ? STREAM_OURS : STREAM_NEW_OWNER;
}

/*
 * One poll (see the file's comment).  Stops the worker when the model no
 * longer follows with this slot or the extension is gone (dropping the
 * slot), or when the model has a new owner (keeping the slot: a follower
 * as the new owner goes on from it).
 */
static bool
poll_once(const FollowerArgs *fa, bool distributed)
{
	const char *args[1] = {fa->model};
	char	   *lsn;

	begin_tx("flinkml: applying changes");
	quiet_decoding_logs();
	if (!flinkml_extension(NULL, NULL, NULL))
		stop_following(fa, "the extension was dropped");
	switch (check_stream(fa))
	{
		case STREAM_OURS:
			break;
		case STREAM_ENDED:
			run("UPDATE flinkml.streams SET worker_pid = NULL WHERE model OPERATOR(pg_catalog.=) $1", 1, args);
			stop_following(fa, "the model no longer follows the WAL with this slot");
			break;
		case STREAM_NEW_OWNER:
			/*
			 * A follower runs as the model's owner, so this one may not go
			 * on; the stream and its slot are the new owner's, and stay.
			 */
			end_tx();
			ereport(LOG,
					(errmsg("flinkml follower of model \"%s\" stopped: the model has a new owner; its slot %s is kept",
							fa->model, fa->slot),
					 errhint("SELECT flinkml.resume('%s'); starts its follower as the new owner.", fa->model)));
			proc_exit(0);
	}
	lsn = run("SELECT flinkml._stream_apply($1)::pg_catalog.text", 1, args);
	if (lsn)
		lsn = MemoryContextStrdup(TopMemoryContext, lsn);
	end_tx();

	/* a Citus table's stream: the nodes' slots move at the next poll */
	if (distributed)
		return lsn != NULL;
	/* only after the applying transaction committed */
	if (lsn)
	{
		const char *adv[2] = {fa->slot, lsn};

		char	   *behind;

		begin_tx("flinkml: advancing the slot");
		quiet_decoding_logs();
		run("SELECT pg_catalog.pg_replication_slot_advance($1::pg_catalog.name, $2::pg_catalog.pg_lsn)", 2, adv);
		/* how far back decoding must restart from, in bytes */
		behind = run("SELECT pg_catalog.pg_wal_lsn_diff($2::pg_catalog.pg_lsn, r.restart_lsn)::pg_catalog.int8 "
					 "FROM pg_catalog.pg_replication_slots r WHERE r.slot_name OPERATOR(pg_catalog.=) $1::pg_catalog.name",
					 2, adv);
		end_tx();
		/*
		 * Every poll decodes again from the slot's restart point, which only
		 * moves past a running-transactions record; the background writer
		 * logs one every 15 s.  Under a steady stream that is up to 15 s of
		 * WAL decoded per poll, and the commit-to-model time grows with it:
		 * log one now when the restart point lags (a few dozen bytes of WAL,
		 * only while the stream is busy).
		 */
		if (behind && strtoll(behind, NULL, 10) > RESTART_LAG_BYTES)
			(void) LogStandbySnapshot();
		pfree(lsn);
	}
	return true;
}

/* Record an error for the model in a transaction of its own (best effort). */
static void
record_error(const FollowerArgs *fa, const char *message)
{
	const char *args[2] = {fa->model, message};

	PG_TRY();
	{
		begin_tx("flinkml: recording an error");
		if (flinkml_extension(NULL, NULL, NULL))
			run("UPDATE flinkml.streams SET last_error = $2, last_error_at = pg_catalog.now() "
				"WHERE model OPERATOR(pg_catalog.=) $1", 2, args);
		else
			stop_following(fa, "the extension was dropped");
		end_tx();
	}
	PG_CATCH();
	{
		FlushErrorState();
		AbortCurrentTransaction();
	}
	PG_END_TRY();
}

/* May the role still run a follower (LOGIN, and REPLICATION or superuser)? */
static bool
owner_may_follow(Oid owner)
{
	HeapTuple	tup;
	bool		ok = false;

	StartTransactionCommand();
	tup = SearchSysCache1(AUTHOID, ObjectIdGetDatum(owner));
	if (HeapTupleIsValid(tup))
	{
		Form_pg_authid r = (Form_pg_authid) GETSTRUCT(tup);

		ok = r->rolcanlogin && (r->rolreplication || r->rolsuper);
		ReleaseSysCache(tup);
	}
	CommitTransactionCommand();
	return ok;
}

void
flinkml_follower_main(Datum main_arg)
{
	FollowerArgs fa;
	XLogRecPtr	seen = InvalidXLogRecPtr;
	MemoryContext loop_ctx;
	bool		distributed = false;
	bool		busy = true;	/* the last poll applied something */
	TimestampTz last_poll = 0;

	memcpy(&fa, MyBgworkerEntry->bgw_extra, sizeof(fa));
	fa.model[MODEL_NAME_MAX] = '\0';
	fa.slot[NAMEDATALEN - 1] = '\0';
	pqsignal(SIGTERM, on_sigterm);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	/* as the model's owner, never as a superuser it is not */
	BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(main_arg), fa.owner, 0);
	pgstat_report_appname(FOLLOWER_TYPE);
	fixed_settings();
	/*
	 * The slot may only move past what a durable commit holds: an applying
	 * transaction lost in a crash after the slot advanced would lose changes.
	 */
	SetConfigOption("synchronous_commit", "on", PGC_SUSET, PGC_S_OVERRIDE);
	loop_ctx = AllocSetContextCreate(TopMemoryContext, "flinkml follower", ALLOCSET_DEFAULT_SIZES);

	/* follow() starts it before its transaction commits: wait for that */
	if (TransactionIdIsValid(fa.wait_xid))
	{
		StartTransactionCommand();
		XactLockTableWait(fa.wait_xid, NULL, NULL, XLTW_None);
		CommitTransactionCommand();
	}

	/* one follower per model */
	begin_tx("flinkml: starting");
	if (!flinkml_extension(NULL, NULL, NULL))
		stop_following(&fa, "the extension was dropped");
	if (!flinkml_lock_model_key(fa.model, FOLLOWER_LOCK_CLASS, true, false))
	{
		/* only another follower of the model can hold it */
		end_tx();
		proc_exit(0);
	}
	{
		const char *args[1] = {fa.model};
		char	   *d = run("SELECT s.distributed::pg_catalog.text FROM flinkml.streams s "
							"WHERE s.model OPERATOR(pg_catalog.=) $1", 1, args);

		distributed = d != NULL && strcmp(d, "true") == 0;
		following_nodes = distributed;
	}
	end_tx();
	elog(LOG, "flinkml follower of model \"%s\" started%s", fa.model,
		 distributed ? " (following the nodes of a Citus table)" : "");

	while (!got_sigterm)
	{
		MemoryContext old = MemoryContextSwitchTo(loop_ctx);
		XLogRecPtr	flush = GetFlushRecPtr(NULL);
		TimestampTz now = GetCurrentTimestamp();

		/*
		 * Nothing was written anywhere since the last poll: nothing to do
		 * (for a local table); the nodes of a Citus table: every
		 * NODES_POLL_MS.
		 */
		if (distributed ? TimestampDifferenceExceeds(last_poll, now, busy ? NODES_POLL_MS : NODES_IDLE_POLL_MS)
			: flush != seen)
		{
			last_poll = now;
			PG_TRY();
			{
				busy = poll_once(&fa, distributed);
				seen = flush;
			}
			PG_CATCH();
			{
				ErrorData  *e;

				MemoryContextSwitchTo(loop_ctx);
				e = CopyErrorData();
				FlushErrorState();
				AbortCurrentTransaction();
				/* as PostgresMain does: an error while decoding leaves the slot ours */
				if (MyReplicationSlot != NULL)
					ReplicationSlotRelease();
				/*
				 * First: if the error came from DROP EXTENSION (a poll that
				 * waited for its locks finds the registry gone), this stops
				 * the follower quietly, as the next poll would have.
				 */
				record_error(&fa, e->message);
				if (!owner_may_follow(fa.owner))
				{
					/* restarting could only fail at login, every second */
					elog(WARNING, "flinkml follower of model \"%s\": %s; stopped: its owner may no longer log in or replicate",
						 fa.model, e->message);
					proc_exit(0);
				}
				elog(WARNING, "flinkml follower of model \"%s\": %s; retrying in a second", fa.model, e->message);
				/*
				 * As the message says, holding the follower's lock meanwhile
				 * (the postmaster restarts this one a second after it exits):
				 * without the pause a persistent error is retried, and
				 * logged, many times a second.
				 */
				ResetLatch(MyLatch);
				if (!got_sigterm)
					sleep_ms(1000);
				/* a follower told to stop (SIGTERM) is not restarted */
				proc_exit(got_sigterm ? 0 : 1);
			}
			PG_END_TRY();
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(loop_ctx);
		sleep_ms(CHECK_MS);
	}
	proc_exit(0);
}

/* Followers running in the cluster, every database. */
static int
count_followers(void)
{
	int			n = 0;

	pgstat_clear_snapshot();
	for (int i = 1; i <= pgstat_fetch_stat_numbackends(); i++)
	{
		LocalPgBackendStatus *l = pgstat_fetch_stat_local_beentry(i);
		const char *type;

		if (l == NULL || l->backendStatus.st_backendType != B_BG_WORKER)
			continue;
		type = GetBackgroundWorkerTypeByPid(l->backendStatus.st_procpid);
		if (type && strcmp(type, FOLLOWER_TYPE) == 0)
			n++;
	}
	return n;
}

/*
 * Register a follower of model (as owner, on slot) in this database;
 * returns its pid, or 0 with a WARNING when it cannot start.
 */
static pid_t
start_follower(Oid owner, const char *model, const char *slot, TransactionId wait_xid)
{
	BackgroundWorker w;
	BackgroundWorkerHandle *h;
	FollowerArgs fa;
	pid_t		pid = 0;

	if (count_followers() >= max_followers)
	{
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("flinkml: the follower of model \"%s\" was not started: %d followers run, flinkml.max_followers is %d",
						model, count_followers(), max_followers),
				 errhint("Raise flinkml.max_followers (and max_worker_processes), then SELECT flinkml.resume('%s');", model)));
		return 0;
	}
	memset(&fa, 0, sizeof(fa));
	fa.owner = owner;
	fa.wait_xid = wait_xid;
	strlcpy(fa.model, model, sizeof(fa.model));
	strlcpy(fa.slot, slot, sizeof(fa.slot));
	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = 1;
	snprintf(w.bgw_library_name, BGW_MAXLEN, "flinkml");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "flinkml_follower_main");
	snprintf(w.bgw_name, BGW_MAXLEN, "flinkml follower %s", model);
	snprintf(w.bgw_type, BGW_MAXLEN, FOLLOWER_TYPE);
	w.bgw_main_arg = ObjectIdGetDatum(MyDatabaseId);
	memcpy(w.bgw_extra, &fa, sizeof(fa));
	w.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&w, &h))
	{
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("flinkml: the follower of model \"%s\" was not started: no free background worker slot", model),
				 errhint("Raise max_worker_processes, then SELECT flinkml.resume('%s');", model)));
		return 0;
	}
	if (WaitForBackgroundWorkerStartup(h, &pid) != BGWH_STARTED)
		return 0;
	return pid;
}

/* The lock every follower holds: who holds it for model, or 0. */
static int
follower_pid(const char *model)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(model)};
	bool		isnull;
	int			pid = 0;

	if (flinkml_spi_as(flinkml_extension_owner(),
					   "SELECT l.pid FROM pg_catalog.pg_locks l WHERE l.locktype OPERATOR(pg_catalog.=) 'object' "
					   "AND l.granted AND l.database OPERATOR(pg_catalog.=) (SELECT d.oid FROM pg_catalog.pg_database d "
					   "WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()) "
					   "AND l.classid OPERATOR(pg_catalog.=) " CppAsString2(FOLLOWER_LOCK_CLASS) "::pg_catalog.oid "
					   "AND l.objid OPERATOR(pg_catalog.=) pg_catalog.hashtext($1)::pg_catalog.oid "
					   "AND l.objsubid OPERATOR(pg_catalog.=) "
					   "(pg_catalog.hashtextextended($1, 0) OPERATOR(pg_catalog.&) 32767)::pg_catalog.int2",
					   1, types, values, NULL, true) > 0)
		pid = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return pid;
}

/*
 * flinkml.resume(model) → pid: start the model's follower if none runs.
 * The caller must be allowed to change the model; the follower runs as the
 * model's owner.  NULL, with a WARNING, when it cannot start now.
 */
Datum
flinkml_resume(PG_FUNCTION_ARGS)
{
	char	   *model = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		values[2];
	bool		isnull;
	Oid			owner,
				source;
	bool		enabled,
				stale;
	char	   *slot;
	TransactionId xid = GetTopTransactionIdIfAny();
	pid_t		pid;

	SPI_connect();
	values[0] = CStringGetTextDatum(model);
	if (flinkml_spi_as(flinkml_extension_owner(),
					   "SELECT m.owner::pg_catalog.oid, m.source::pg_catalog.oid, s.enabled, m.stale IS NOT NULL, "
					   "s.slot::pg_catalog.text FROM flinkml.models m JOIN flinkml.streams s ON s.model OPERATOR(pg_catalog.=) m.name "
					   "WHERE m.name OPERATOR(pg_catalog.=) $1", 1, types, values, NULL, true) != 1 ||
		!is_member_of_role(GetUserId(), DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull))))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("flinkml: model \"%s\" is not following, or permission denied to change it", model)));
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	source = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	enabled = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	stale = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull));
	slot = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5);
	if (stale || !enabled)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("flinkml: the stream of model \"%s\" was stopped%s", model,
						stale ? ": the model is stale" : ""),
				 errhint("SELECT flinkml.unfollow('%s'); SELECT flinkml.refit('%s'); SELECT flinkml.follow('%s');",
						 model, model, model)));
	flinkml_check_follower_owner(owner, source, model);

	/* one start at a time per model, and none while one runs */
	(void) flinkml_lock_model_key(model, FOLLOWER_START_LOCK_CLASS, false, true);
	pid = follower_pid(model);
	if (pid == 0)
	{
		pid = start_follower(owner, model, slot, xid);
		/* unless it waits for this transaction: until it holds its lock */
		for (int i = 0; pid != 0 && !TransactionIdIsValid(xid) && i < 200 && follower_pid(model) == 0; i++)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
	}
	SPI_finish();
	if (pid == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32((int32) pid);
}

void
flinkml_start_followers(void)
{
	uint64		n;
	SPITupleTable *tab;

	n = flinkml_spi_as(flinkml_extension_owner(),
					   "SELECT s.model, s.slot::pg_catalog.text, m.owner::pg_catalog.oid, m.source::pg_catalog.oid "
					   "FROM flinkml.streams s JOIN flinkml.models m ON m.name OPERATOR(pg_catalog.=) s.model "
					   "WHERE s.enabled AND m.stale IS NULL",
					   0, NULL, NULL, NULL, true);
	tab = SPI_tuptable;
	for (uint64 i = 0; i < n; i++)
	{
		char	   *model = SPI_getvalue(tab->vals[i], tab->tupdesc, 1);
		char	   *slot = SPI_getvalue(tab->vals[i], tab->tupdesc, 2);
		bool		isnull;
		Oid			owner = DatumGetObjectId(SPI_getbinval(tab->vals[i], tab->tupdesc, 3, &isnull));
		Oid			source = DatumGetObjectId(SPI_getbinval(tab->vals[i], tab->tupdesc, 4, &isnull));

		if (follower_pid(model) != 0)
			continue;
		PG_TRY();
		{
			flinkml_check_follower_owner(owner, source, model);
			elog(LOG, "flinkml: starting the follower of model \"%s\"", model);
			(void) start_follower(owner, model, slot, InvalidTransactionId);
		}
		PG_CATCH();
		{
			/* the reason goes to the log; stream_status says it is not running */
			EmitErrorReport();
			FlushErrorState();
		}
		PG_END_TRY();
	}
}

/*
 * Reapers: a stream that ended (unfollowed, stopped by a schema change, its
 * extension dropped) while no follower ran keeps its slot, and a slot holds
 * WAL.  A reaper, started by the transaction that ended the stream, waits
 * for that transaction; if it committed, the reaper drops the slot, unless
 * a follower runs (which drops it itself).  It runs as the bootstrap
 * superuser, never restarts, and drops only the one slot it was started
 * for: flinkml's, in its database, not in use.
 */
typedef struct ReaperArgs
{
	TransactionId wait_xid;
	char		model[MODEL_NAME_MAX + 1];
	char		slot[NAMEDATALEN];
} ReaperArgs;

StaticAssertDecl(sizeof(ReaperArgs) <= BGW_EXTRALEN, "ReaperArgs must fit in bgw_extra");

static void
start_reaper(const char *model, const char *slot, TransactionId wait_xid)
{
	BackgroundWorker w;
	ReaperArgs	ra;

	memset(&ra, 0, sizeof(ra));
	ra.wait_xid = wait_xid;
	strlcpy(ra.model, model, sizeof(ra.model));
	strlcpy(ra.slot, slot, sizeof(ra.slot));
	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(w.bgw_library_name, BGW_MAXLEN, "flinkml");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "flinkml_reaper_main");
	snprintf(w.bgw_name, BGW_MAXLEN, "flinkml reaper %s", model);
	snprintf(w.bgw_type, BGW_MAXLEN, "flinkml reaper");
	w.bgw_main_arg = ObjectIdGetDatum(MyDatabaseId);
	memcpy(w.bgw_extra, &ra, sizeof(ra));
	if (!RegisterDynamicBackgroundWorker(&w, NULL))
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("flinkml: no free background worker slot to drop the slot %s of model \"%s\"", slot, model),
				 errhint("Once the stream has ended: SELECT pg_drop_replication_slot('%s');", slot)));
}

/* A reaper for each (model, slot) row of a query's result. */
static void
reap_rows(SPITupleTable *tab, uint64 n, TransactionId wait_xid)
{
	for (uint64 i = 0; i < n; i++)
		start_reaper(SPI_getvalue(tab->vals[i], tab->tupdesc, 1),
					 SPI_getvalue(tab->vals[i], tab->tupdesc, 2), wait_xid);
}

/*
 * Start a reaper for the slot of every stream in this database (model
 * NULL) or of one model's, for after the current transaction (SPI
 * connected, as a role that may read the streams).
 */
void
flinkml_reap_after_commit(const char *model)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(model ? model : "")};
	char		nulls[1] = {model ? ' ' : 'n'};
	uint64		n;
	TransactionId xid = GetTopTransactionId();

	n = flinkml_spi_as(flinkml_extension_owner(),
					   "SELECT s.model, s.slot::pg_catalog.text FROM flinkml.streams s "
					   "WHERE ($1 IS NULL OR s.model OPERATOR(pg_catalog.=) $1) "
					   "AND EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots r "
					   "WHERE r.slot_name OPERATOR(pg_catalog.=) s.slot)",
					   1, types, values, nulls, true);
	reap_rows(SPI_tuptable, n, xid);
}

/*
 * flinkml._reap_after_commit(model): called by _mark_stale (run as the
 * extension's owner by the event triggers) when it stops a stream.
 */
Datum
flinkml_reap_after_commit_sql(PG_FUNCTION_ARGS)
{
	char	   *model = text_to_cstring(PG_GETARG_TEXT_PP(0));

	SPI_connect();
	flinkml_reap_after_commit(model);
	SPI_finish();
	PG_RETURN_VOID();
}

void
flinkml_reaper_main(Datum main_arg)
{
	ReaperArgs	ra;
	char		db[16];
	const char *args[3] = {ra.model, ra.slot, db};
	bool		ended = true;

	memcpy(&ra, MyBgworkerEntry->bgw_extra, sizeof(ra));
	ra.model[MODEL_NAME_MAX] = '\0';
	ra.slot[NAMEDATALEN - 1] = '\0';
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(main_arg), InvalidOid, 0);
	pgstat_report_appname("flinkml reaper");
	fixed_settings();
	snprintf(db, sizeof(db), "%u", MyDatabaseId);
	if (TransactionIdIsValid(ra.wait_xid))
	{
		StartTransactionCommand();
		XactLockTableWait(ra.wait_xid, NULL, NULL, XLTW_None);
		CommitTransactionCommand();
	}
	begin_tx("flinkml: dropping the slot of an ended stream");
	/* the stream goes on (the transaction rolled back) */
	if (flinkml_extension(NULL, NULL, NULL) &&
		run("SELECT 1 FROM flinkml.streams s JOIN flinkml.models m ON m.name OPERATOR(pg_catalog.=) s.model "
			"WHERE s.model OPERATOR(pg_catalog.=) $1 AND s.slot OPERATOR(pg_catalog.=) $2::pg_catalog.name "
			"AND s.enabled AND m.stale IS NULL", 2, args) != NULL)
		ended = false;
	/* a follower runs: it drops the slot itself */
	if (ended &&
		run("SELECT 1 FROM pg_catalog.pg_locks l WHERE l.locktype OPERATOR(pg_catalog.=) 'object' AND l.granted "
			"AND l.database OPERATOR(pg_catalog.=) $3::pg_catalog.oid "
			"AND l.classid OPERATOR(pg_catalog.=) " CppAsString2(FOLLOWER_LOCK_CLASS) "::pg_catalog.oid "
			"AND l.objid OPERATOR(pg_catalog.=) pg_catalog.hashtext($1)::pg_catalog.oid "
			"AND l.objsubid OPERATOR(pg_catalog.=) "
			"(pg_catalog.hashtextextended($1, 0) OPERATOR(pg_catalog.&) 32767)::pg_catalog.int2", 3, args) != NULL)
		ended = false;
	if (ended &&
		run("SELECT pg_catalog.pg_drop_replication_slot(r.slot_name) FROM pg_catalog.pg_replication_slots r "
			"WHERE r.slot_name OPERATOR(pg_catalog.=) $2::pg_catalog.name "
			"AND r.plugin OPERATOR(pg_catalog.=) 'flinkml' "
			"AND r.datoid OPERATOR(pg_catalog.=) $3::pg_catalog.oid AND NOT r.active", 3, args) != NULL)
		elog(LOG, "flinkml: slot %s of model \"%s\" dropped: its stream ended while no follower ran",
			 ra.slot, ra.model);
	end_tx();
	proc_exit(0);
}

/*
 * A starter: connects to one database (as the bootstrap superuser, fixed
 * settings), starts the followers its streams need, and exits.
 */
void
flinkml_starter_main(Datum main_arg)
{
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(main_arg), InvalidOid, 0);
	pgstat_report_appname("flinkml starter");
	fixed_settings();
	begin_tx("flinkml: starting followers");
	if (flinkml_extension(NULL, NULL, NULL))
	{
		uint64		n;

		flinkml_start_followers();
		/* streams that ended while no follower ran, whose slots remain */
		n = flinkml_spi_as(flinkml_extension_owner(),
						   "SELECT s.model, s.slot::pg_catalog.text FROM flinkml.streams s "
						   "JOIN flinkml.models m ON m.name OPERATOR(pg_catalog.=) s.model "
						   "WHERE NOT (s.enabled AND m.stale IS NULL) AND EXISTS ("
						   "SELECT 1 FROM pg_catalog.pg_replication_slots r "
						   "WHERE r.slot_name OPERATOR(pg_catalog.=) s.slot AND NOT r.active)",
						   0, NULL, NULL, NULL, true);
		reap_rows(SPI_tuptable, n, InvalidTransactionId);
	}
	end_tx();
	proc_exit(0);
}

/*
 * The launcher: after every server start (and crash), a starter for each
 * database that takes connections, one at a time; then it sleeps until
 * shutdown, costing nothing.
 */
void
flinkml_launcher_main(Datum main_arg)
{
	List	   *dbs = NIL;
	ListCell   *lc;

	pqsignal(SIGTERM, on_sigterm);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("flinkml launcher");

	StartTransactionCommand();
	{
		Relation	rel = table_open(DatabaseRelationId, AccessShareLock);
		TableScanDesc scan = table_beginscan_catalog(rel, 0, NULL);
		HeapTuple	tup;
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
		{
			Form_pg_database d = (Form_pg_database) GETSTRUCT(tup);

			if (d->datallowconn && d->datconnlimit != DATCONNLIMIT_INVALID_DB)
				dbs = lappend_oid(dbs, d->oid);
		}
		MemoryContextSwitchTo(old);
		table_endscan(scan);
		table_close(rel, AccessShareLock);
	}
	CommitTransactionCommand();

	foreach(lc, dbs)
	{
		BackgroundWorker w;
		BackgroundWorkerHandle *h;
		pid_t		pid;

		if (got_sigterm)
			break;
		memset(&w, 0, sizeof(w));
		w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
		w.bgw_start_time = BgWorkerStart_RecoveryFinished;
		w.bgw_restart_time = BGW_NEVER_RESTART;
		snprintf(w.bgw_library_name, BGW_MAXLEN, "flinkml");
		snprintf(w.bgw_function_name, BGW_MAXLEN, "flinkml_starter_main");
		snprintf(w.bgw_name, BGW_MAXLEN, "flinkml starter %u", lfirst_oid(lc));
		snprintf(w.bgw_type, BGW_MAXLEN, "flinkml starter");
		w.bgw_main_arg = ObjectIdGetDatum(lfirst_oid(lc));
		w.bgw_notify_pid = MyProcPid;
		if (!RegisterDynamicBackgroundWorker(&w, &h))
		{
			elog(WARNING, "flinkml launcher: no free background worker slot for the starter of database %u",
				 lfirst_oid(lc));
			continue;
		}
		if (WaitForBackgroundWorkerStartup(h, &pid) == BGWH_STARTED)
			(void) WaitForBackgroundWorkerShutdown(h);
	}

	while (!got_sigterm)
		sleep_ms(3600 * 1000L);
	proc_exit(0);
}

/* flinkml._launcher_loaded(): was flinkml preloaded (is there a launcher)? */
Datum
flinkml_launcher_loaded(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(flinkml_preloaded);
}

void
flinkml_define_follower_settings(void)
{
	DefineCustomIntVariable("flinkml.max_followers",
							"Most stream followers the cluster runs at once.",
							"Each is a background worker: keep max_worker_processes above this plus what parallel query needs.",
							&max_followers, 4, 0, 1000, PGC_SIGHUP, 0, NULL, NULL, NULL);
}

/* Called from _PG_init when loaded by shared_preload_libraries. */
void
flinkml_register_launcher(void)
{
	BackgroundWorker w;

	flinkml_preloaded = true;
	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = 5;
	snprintf(w.bgw_library_name, BGW_MAXLEN, "flinkml");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "flinkml_launcher_main");
	snprintf(w.bgw_name, BGW_MAXLEN, "flinkml launcher");
	snprintf(w.bgw_type, BGW_MAXLEN, "flinkml launcher");
	RegisterBackgroundWorker(&w);
}
