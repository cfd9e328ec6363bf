# The project's two entry points: `make test` and `make demo`. Both set up a
# virtual environment from pyproject.toml first (again whenever it changes).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# requests' own test suite runs in a venv of its own (its test tools stay out
# of the dev venv), on the dev venv's requests, urllib3 and tenacity.
COMPAT_VENV ?= .venv-compat
COMPAT_STAMP := $(COMPAT_VENV)/.installed
# What the compat venv takes from the dev venv: the versions under test.
COMPAT_PINNED := requests|urllib3|tenacity|idna|charset[-_]normalizer|certifi|curl[-_]cffi|cffi|pycparser

# The oldest requests, urllib3 and tenacity that pyproject.toml allows.
OLDEST_VENV ?= .venv-oldest
OLDEST_STAMP := $(OLDEST_VENV)/.installed
OLDEST_CONSTRAINTS := .ci/oldest.txt

# Scrapy, for the scale-out benchmark's Scrapy row, in a venv of its own:
# its dependencies (Twisted, lxml, pyOpenSSL) never enter the dev venv.
SCRAPY_VENV ?= .venv-scrapy
SCRAPY_STAMP := $(SCRAPY_VENV)/.installed

# niquests, for the comparative benchmark's niquests row, in a venv of its own:
# it installs urllib3-future over the urllib3 package, which would change every
# other client in the same venv.
NIQUESTS_VENV ?= .venv-niquests
NIQUESTS_STAMP := $(NIQUESTS_VENV)/.installed

.PHONY: test demo lint typecheck pytest clean bench bench-quick compat compat-curl test-oldest bench-scaleout scrapy-venv niquests-venv docs docs-check

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks compat

typecheck: $(STAMP)
	$(BIN)/mypy --strict src

pytest: $(STAMP)
	$(BIN)/pytest

demo: $(STAMP)
	$(BIN)/sessionpool demo

# The documentation site, from docs/ and the docstrings, into site/; a
# warning (a broken link, a docstring mkdocstrings cannot read) fails it.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# The built site/ as a reader sees it: served on a loopback port and opened in
# headless Chromium (Debian's chromium, which .ci/run installs): navigation,
# search and the API pages must render.
docs-check: docs
	SESSIONPOOL_SITE_DIR=site $(BIN)/pytest tests/test_docs_site.py

# sessionpool against requests, httpx, urllib3, niquests, pycurl & co. on a
# local nginx: writes benchmarks/results/latest.md and throughput.png. Runs
# without niquests (its row says why) if the niquests venv cannot be made.
# Every benchmark runs as a module from here (see benchmarks/README.md).
bench: $(STAMP)
	-$(MAKE) --no-print-directory niquests-venv
	$(BIN)/python -m benchmarks.peers

bench-quick: $(STAMP)
	-$(MAKE) --no-print-directory niquests-venv
	$(BIN)/python -m benchmarks.peers --quick

# A client kept in a virtual environment of its own: $(call client-venv,DIR,PACKAGE).
# pip's output is kept in install.log: when the package cannot be installed,
# the benchmark's row for it says why instead of being left out.
define client-venv
	$(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install --upgrade pip $(2) > $(1)/install.log 2>&1 \
		|| { tail -n 5 $(1)/install.log; exit 1; }
	touch $@
endef

$(NIQUESTS_STAMP):
	$(call client-venv,$(NIQUESTS_VENV),niquests)

niquests-venv: $(NIQUESTS_STAMP)

$(SCRAPY_STAMP):
	$(call client-venv,$(SCRAPY_VENV),scrapy)

scrapy-venv: $(SCRAPY_STAMP)

# sessionpool fetch in 1 process, in 2 and on a 2-worker Dask cluster, against
# a ThreadPoolExecutor script, curl --parallel and Scrapy, on 4 local nginx
# hosts: writes benchmarks/results/scaleout.md and scaleout.json. Runs
# without Scrapy (its row says why) if the Scrapy venv cannot be made.
bench-scaleout: $(STAMP)
	-$(MAKE) --no-print-directory scrapy-venv
	$(BIN)/python -m benchmarks.scaleout --scrapy-venv $(SCRAPY_VENV)

# requests' own test suite, from the source distribution of the dev venv's
# requests, run plain and with every Session lent by a pool; fails when a
# test that passes plain fails pooled and is not in compat/differences.py.
$(COMPAT_STAMP): $(STAMP) compat/requirements.txt
	$(PYTHON) -m venv $(COMPAT_VENV)
	$(COMPAT_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip freeze --exclude-editable | grep -iE '^($(COMPAT_PINNED))==' > $(COMPAT_VENV)/dev-versions.txt
	$(COMPAT_VENV)/bin/python -m pip install --quiet -c $(COMPAT_VENV)/dev-versions.txt -r compat/requirements.txt -e '.[curl]'
	touch $(COMPAT_STAMP)

compat: $(COMPAT_STAMP)
	$(COMPAT_VENV)/bin/python compat/run.py --requests-version "$$($(BIN)/python -c 'import requests; print(requests.__version__)')"

# The same, with the pooled sessions on the libcurl transport (the curl extra).
compat-curl: $(COMPAT_STAMP)
	$(COMPAT_VENV)/bin/python compat/run.py --transport curl --requests-version "$$($(BIN)/python -c 'import requests; print(requests.__version__)')"

# The test suite on the oldest supported requests, urllib3 and tenacity.
$(OLDEST_STAMP): pyproject.toml $(OLDEST_CONSTRAINTS)
	$(PYTHON) -m venv $(OLDEST_VENV)
	$(OLDEST_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(OLDEST_VENV)/bin/python -m pip install --quiet -c $(OLDEST_CONSTRAINTS) -e '.[dev]'
	$(OLDEST_VENV)/bin/python -m pip check
	touch $(OLDEST_STAMP)

test-oldest: $(OLDEST_STAMP)
	$(OLDEST_VENV)/bin/python -c 'import requests, urllib3, tenacity, importlib.metadata as m; \
	print("oldest: requests", requests.__version__, "urllib3", urllib3.__version__, "tenacity", m.version("tenacity"))'
	$(OLDEST_VENV)/bin/pytest

clean:
	rm -rf $(VENV) $(COMPAT_VENV) $(OLDEST_VENV) $(SCRAPY_VENV) $(NIQUESTS_VENV) compat/.cache build dist site .mypy_cache .pytest_cache .ruff_cache
