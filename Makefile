# flinkml — PGXS build.  `make && make install`, then `make installcheck`
# against a running server; test/run_tests.sh does all of it on a throwaway
# cluster.

EXTENSION = flinkml
MODULE_big = flinkml
DATA = sql/flinkml--0.1.sql

CORE_OBJS = src/core/lr_state.o src/core/lr_batch.o src/core/lr_solve.o src/core/lr_model.o src/core/lr_codec.o \
            src/core/lr_stats.o src/core/lr_diag.o
GLUE_OBJS = src/flinkml.o src/state_type.o src/aggregates.o src/expanded_state.o src/model_type.o src/predict.o \
            src/stats.o src/evaluate.o src/cv.o src/robust.o src/decoder.o \
            src/follower.o src/trigger.o src/planner.o src/privileged.o src/diagnostics.o src/state_text.o \
            src/score_into.o src/categorical.o
OBJS = $(CORE_OBJS) $(GLUE_OBJS)

# Debian's reference LAPACK/BLAS: single-threaded, safe in forked backends.
# R's standalone math library (r-mathlib) for the t and F distributions.
SHLIB_LINK = -llapack -lblas -lRmath -lm

# The double-double arithmetic needs exact IEEE operations: no fused
# multiply-add the code did not ask for, no excess precision.
PG_CFLAGS = -std=gnu11 -ffp-contract=off -Isrc
PG_CPPFLAGS = -Isrc

REGRESS = types aggregates solver window parallel predict bad_input nist stats evaluate ridge \
          registry triggers planner batch limits security diagnostics fdw \
          test_then_train score_into registry_window categorical
ISOLATION = trigger_writers compaction window_writers
TAP_TESTS = 1

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Every object depends on every header (a layout change must rebuild all).
$(OBJS): $(wildcard src/*.h src/core/*.h)

# The row update and the solver are the hot paths: optimise harder.
src/core/%.o: override CFLAGS += -O3
