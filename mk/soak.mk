# Chaos soak (issue 14): `make soak` runs seeds SOAK_FIRST .. SOAK_FIRST+SEEDS-1,
# ROUNDS rounds of jobs each (about 25 jobs a round), against $(BUILD).
# `make soak SEEDS=20` runs more; `make soak SEEDS=1 ROUNDS=20` puts ~500 jobs
# through one process (the fd/RSS check over a long life). CI runs 3 fixed
# seeds through tests/integration/soak.sh. See docs/RELIABILITY.md.
SEEDS ?= 5
SOAK_FIRST ?= 1
ROUNDS ?= 4

.PHONY: soak
soak: all
	tests/soak/run.sh -b $(BUILD) -r $(ROUNDS) $$(seq $(SOAK_FIRST) $$(($(SOAK_FIRST) + $(SEEDS) - 1)))
