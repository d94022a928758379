# Entry points; the scripts they call say what each step does.
.PHONY: setup gen web run test screenshots bench

setup:            ## install everything the tests and codegen need, from the lock files
	scripts/setup --all

gen: setup        ## regenerate the Python, Go and TypeScript clients from protos/
	scripts/gen

web:              ## build the UI into web/dist, which aiops serve's Envoy serves
	npm install --no-audit --no-fund && npm run build --workspace web

run:              ## install the server, build the UI if it is not built, run it on the defaults
	scripts/setup
	[ -f web/dist/index.html ] || $(MAKE) web
	.venv/bin/aiops serve

test: setup       ## every check and test that CI runs
	scripts/test

screenshots: setup  ## refresh docs/screenshots/ from the UI's end-to-end tests (builds the UI if stale)
	AIOPS_SCREENSHOTS=docs/screenshots .venv/bin/pytest -q -m e2e tests/e2e

bench:            ## the unary API under ghz at concurrency 100, on SQLite and PostgreSQL, against a bare grpc.aio server (minutes; PostgreSQL from make setup)
	scripts/setup
	scripts/install-tools ghz
	.venv/bin/python -m bench.unary
