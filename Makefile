# The two commands of the README's quick start, for a fresh Debian machine, run as root.
#   make up     installs what is missing, builds, and starts `berth up` with a demo
#   make test   runs the whole test suite

SHELL := /bin/bash
DEBIAN_PACKAGES := runc busybox-static
NODE_MAJOR_MIN := 20

.PHONY: up test deps build lint clean

deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@node -e 'process.exit(+process.versions.node.split(".")[0] >= $(NODE_MAJOR_MIN) ? 0 : 1)' || \
	  { echo "berth needs Node.js $(NODE_MAJOR_MIN) or newer"; exit 1; }
	@[ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci

build: deps
	npm run build

up: build
	./bin/berth.js up --demo

test: build
	npm run typecheck
	npm run lint
	npm test

lint:
	npm run lint

clean:
	rm -rf dist
