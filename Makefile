# The README's two commands. Both run the idempotent bootstrap first.
.PHONY: bootstrap demo test test-all bench

bootstrap:
	./scripts/bootstrap.sh

demo: bootstrap
	.venv/bin/interaction-recon demo --out out/demo

test: bootstrap
	.venv/bin/python -m pytest

test-all: bootstrap
	.venv/bin/python -m pytest -m ""

bench: bootstrap
	.venv/bin/python benchmarks/body.py
