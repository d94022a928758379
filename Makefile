# Entry points; the scripts they call say what each step does.
.PHONY: setup gen run test

setup:            ## install everything the tests and codegen need, from the lock files
	scripts/setup --all

gen: setup        ## regenerate the Python, Go and TypeScript clients from protos/
	scripts/gen

run:              ## install the server and run it on the embedded defaults
	scripts/setup
	.venv/bin/aiops serve

test: setup       ## every check and test that CI runs
	scripts/test
