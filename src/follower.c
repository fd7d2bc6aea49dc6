/*
 * follower.c — background workers that keep registry models current from
 * the WAL through logical decoding.
 *
 * A follower (one per followed model, a dynamic background worker) polls
 * its slot every 100 ms.  Each poll applies the changes exactly once:
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
 * When the model stops following, the worker drops the slot and exits 0.
 * With flinkml in shared_preload_libraries, a launcher restarts the
 * followers of flinkml.database after a server restart.  A session-level
 * advisory lock per model keeps a second follower of the same model out.
 */
#include "flinkml.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

PGDLLEXPORT void flinkml_follower_main(Datum main_arg);
PGDLLEXPORT void flinkml_launcher_main(Datum main_arg);

PG_FUNCTION_INFO_V1(flinkml_start_follower);

#define POLL_MS 100
#define LAUNCHER_MS 1000
/* advisory lock key space of followers: 'flkm' */
#define FOLLOWER_LOCK_CLASS 1718382445

static volatile sig_atomic_t got_sigterm = false;
static char *launcher_database = NULL;

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
 * the slot logs "starting logical decoding for slot ..." at LOG, ten times a
 * second, and LOG passes any log_min_messages below FATAL.  An error of the
 * transaction still reaches the log: the loop catches it and logs it as a
 * WARNING after the abort, which has restored the setting.
 */
static void
quiet_decoding_logs(void)
{
	(void) set_config_option("log_min_messages", "fatal", PGC_SUSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, 0, false);
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

/* Record an error for the model in a transaction of its own. */
static void
record_error(const char *model, const char *message)
{
	const char *args[2] = {model, message};

	begin_tx("flinkml: recording an error");
	run("UPDATE flinkml.streams SET last_error = $2, last_error_at = now() WHERE model = $1", 2, args);
	end_tx();
}

void
flinkml_follower_main(Datum main_arg)
{
	char		model[NAMEDATALEN];
	const char *args[2];
	char	   *got;
	MemoryContext loop_ctx;

	memcpy(model, MyBgworkerEntry->bgw_extra, NAMEDATALEN);
	model[NAMEDATALEN - 1] = '\0';
	pqsignal(SIGTERM, on_sigterm);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(main_arg), InvalidOid, 0);
	pgstat_report_appname("flinkml follower");
	loop_ctx = AllocSetContextCreate(TopMemoryContext, "flinkml follower", ALLOCSET_DEFAULT_SIZES);

	/* one follower per model */
	args[0] = model;
	begin_tx("flinkml: starting");
	got = run("SELECT pg_try_advisory_lock(" CppAsString2(FOLLOWER_LOCK_CLASS) ", hashtext($1))", 1, args);
	if (got == NULL || strcmp(got, "t") != 0)
	{
		end_tx();
		proc_exit(0);
	}
	run("UPDATE flinkml.streams SET worker_pid = pg_backend_pid() WHERE model = $1", 1, args);
	end_tx();
	elog(LOG, "flinkml follower of model \"%s\" started", model);
	/*
	 * The slot may only move past what a durable commit holds: an applying
	 * transaction lost in a crash after the slot advanced would lose changes.
	 */
	SetConfigOption("synchronous_commit", "on", PGC_USERSET, PGC_S_SESSION);

	while (!got_sigterm)
	{
		MemoryContext old = MemoryContextSwitchTo(loop_ctx);

		PG_TRY();
		{
			char	   *lsn;
			char	   *slot = NULL;

			begin_tx("flinkml: applying changes");
			quiet_decoding_logs();
			got = run("SELECT enabled FROM flinkml.streams WHERE model = $1", 1, args);
			if (got == NULL || strcmp(got, "t") != 0)
			{
				/* stopped following: drop the slot and leave */
				run("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
					"WHERE slot_name = (SELECT slot FROM flinkml.streams WHERE model = $1) AND NOT active",
					1, args);
				run("UPDATE flinkml.streams SET worker_pid = NULL WHERE model = $1", 1, args);
				end_tx();
				elog(WARNING, "flinkml follower of model \"%s\" stopped following", model);
				proc_exit(0);
			}
			lsn = run("SELECT flinkml._stream_apply($1)::text", 1, args);
			if (lsn)
				slot = run("SELECT slot FROM flinkml.streams WHERE model = $1", 1, args);
			if (lsn)
				lsn = MemoryContextStrdup(loop_ctx, lsn);
			if (slot)
				slot = MemoryContextStrdup(loop_ctx, slot);
			end_tx();

			/* only after the applying transaction committed */
			if (lsn && slot)
			{
				args[0] = slot;
				args[1] = lsn;
				begin_tx("flinkml: advancing the slot");
				quiet_decoding_logs();
				run("SELECT pg_replication_slot_advance($1, $2::pg_lsn)", 2, args);
				end_tx();
				args[0] = model;
			}
		}
		PG_CATCH();
		{
			ErrorData  *e;

			MemoryContextSwitchTo(loop_ctx);
			e = CopyErrorData();
			FlushErrorState();
			AbortCurrentTransaction();
			elog(WARNING, "flinkml follower of model \"%s\": %s; retrying in a second", model, e->message);
			args[0] = model;
			PG_TRY();
			{
				record_error(model, e->message);
			}
			PG_CATCH();
			{
				FlushErrorState();
				AbortCurrentTransaction();
			}
			PG_END_TRY();
			/*
			 * As the message says, holding the follower's lock meanwhile (the
			 * launcher would start another at once, and the postmaster
			 * restarts this one a second after it exits): without the pause
			 * a persistent error is retried, and logged, many times a second.
			 */
			ResetLatch(MyLatch);
			if (!got_sigterm)
				sleep_ms(1000);
			proc_exit(1);
		}
		PG_END_TRY();
		MemoryContextSwitchTo(old);
		MemoryContextReset(loop_ctx);

		sleep_ms(POLL_MS);
	}
	proc_exit(0);
}

static pid_t
start_follower(Oid dboid, const char *model, bool quiet)
{
	BackgroundWorker w;
	BackgroundWorkerHandle *h;
	pid_t		pid = 0;

	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = 1;
	snprintf(w.bgw_library_name, BGW_MAXLEN, "flinkml");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "flinkml_follower_main");
	snprintf(w.bgw_name, BGW_MAXLEN, "flinkml follower %s", model);
	snprintf(w.bgw_type, BGW_MAXLEN, "flinkml follower");
	w.bgw_main_arg = ObjectIdGetDatum(dboid);
	strlcpy(w.bgw_extra, model, NAMEDATALEN);
	w.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&w, &h))
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("flinkml: could not start a follower for model \"%s\"", model),
				 errhint("Raise max_worker_processes.")));
	/* a duplicate exits at once (another holds the model's lock): not an error for the launcher */
	if (WaitForBackgroundWorkerStartup(h, &pid) != BGWH_STARTED && !quiet)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("flinkml: the follower of model \"%s\" did not start", model)));
	return pid;
}

/* flinkml._start_follower(model text) → pid: start the model's follower now. */
Datum
flinkml_start_follower(PG_FUNCTION_ARGS)
{
	char	   *model = text_to_cstring(PG_GETARG_TEXT_PP(0));

	if (strlen(model) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("flinkml: model name too long")));
	PG_RETURN_INT32((int32) start_follower(MyDatabaseId, model, false));
}

/*
 * The launcher: with flinkml in shared_preload_libraries, it connects to
 * flinkml.database and, every second, starts a follower for each model
 * that is following but has none (after a restart or a crash).
 */
void
flinkml_launcher_main(Datum main_arg)
{
	pqsignal(SIGTERM, on_sigterm);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(launcher_database, NULL, 0);
	pgstat_report_appname("flinkml launcher");

	while (!got_sigterm)
	{
		begin_tx("flinkml: checking followers");
		if (run("SELECT 1 FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid "
				"WHERE n.nspname = 'flinkml' AND c.relname = 'streams'", 0, NULL) != NULL)
		{
			int			rc = SPI_execute("SELECT s.model FROM flinkml.streams s WHERE s.enabled AND NOT EXISTS ("
										 " SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory'"
										 " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
										 " AND l.classid = " CppAsString2(FOLLOWER_LOCK_CLASS) "::oid"
										 " AND l.objid = hashtext(s.model)::oid AND l.objsubid = 2)"
										 " FOR SHARE OF s SKIP LOCKED", false, 0);

			if (rc == SPI_OK_SELECT)
				for (uint64 i = 0; i < SPI_processed; i++)
				{
					char	   *model = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

					elog(LOG, "flinkml launcher: starting the follower of model \"%s\"", model);
					start_follower(MyDatabaseId, model, true);
				}
		}
		end_tx();
		sleep_ms(LAUNCHER_MS);
	}
	proc_exit(0);
}

/* Called from _PG_init when loaded by shared_preload_libraries. */
void
flinkml_register_launcher(void)
{
	BackgroundWorker w;

	DefineCustomStringVariable("flinkml.database",
							   "Database whose followed models the flinkml launcher restarts.",
							   NULL, &launcher_database, "postgres",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);
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
