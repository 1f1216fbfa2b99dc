# Developer entry points. The set-up itself lives in scripts/dev.sh.
PYTHON ?= .venv/bin/python

.PHONY: test package screenshots

# Lint, layering contracts, type checks and the test suite (what CI runs).
test:
	bash scripts/dev.sh test

# Standalone Linux installers in dist/ (a .tar.gz and a .deb), then the packaging test:
# install both into temporary folders and run --version and --self-test offscreen.
# About 15 minutes on 2 cores; see packaging/README.md (Windows and macOS build there).
package:
	bash scripts/dev.sh setup
	$(PYTHON) -m pip install -q --disable-pip-version-check -e ".[test,package]"
	$(PYTHON) packaging/build.py --target linux-tar --target linux-deb
	QT_QPA_PLATFORM=offscreen $(PYTHON) -m pytest tests/packaging -m packaging -p no:cacheprovider

screenshots:
	$(PYTHON) scripts/screenshots.py
