# The two commands a newcomer needs (see README.md). Both install what they
# need first and skip what is already there.
.PHONY: run test footprint

run:
	scripts/run.sh

test:
	scripts/test.sh

footprint:
	scripts/footprint.sh
