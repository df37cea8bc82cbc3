# The two commands of the README. Both install whatever is missing first.
.PHONY: run test release

run:
	scripts/run.sh

test:
	scripts/test.sh

# The single binary with the console inside, and its checksum (target/release/).
release:
	cargo xtask release
