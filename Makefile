# Entry points; the scripts they call say what each step does.
.PHONY: setup gen run test

setup:            ## install every dependency from the lock files
	scripts/setup

gen: setup        ## regenerate the Python, Go and TypeScript clients from protos/
	scripts/gen

run: setup        ## run the server on the embedded defaults
	.venv/bin/aiops serve

test: setup       ## every check and test that CI runs
	scripts/test
