# RestoreLab: `make run` opens the app, `make test` runs the whole suite.
PY        ?= python3
VENV      := .venv
BIN       := $(VENV)/bin
STAMP     := $(VENV)/.installed
QT_APT    := xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-image0 \
             libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 libegl1 libgl1 \
             libfontconfig1 libdbus-1-3
PYTEST    := QT_QPA_PLATFORM=offscreen PYTHONFAULTHANDLER=1 $(BIN)/python -m pytest

.PHONY: run test test-fast test-xcb sysdeps bundle bundle-cuda bench screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/restorelab

# System libraries Qt's xcb platform needs, and Xvfb; installed only when absent.
sysdeps:
	@missing=""; for p in $(QT_APT); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

test: $(STAMP) sysdeps
	$(PYTEST) -m "not xcb"
	$(MAKE) test-xcb

# The desktop tests again, in real windows on a virtual X server.
test-xcb: $(STAMP) sysdeps
	xvfb-run -a -s "-screen 0 1600x1000x24" env QT_QPA_PLATFORM=xcb $(BIN)/python -m pytest tests/desktop

test-fast: $(STAMP)
	$(PYTEST) -x -q -m "not slow and not xcb"

bench: $(STAMP)
	$(BIN)/python bench/infer.py

screenshots: $(STAMP) sysdeps
	QT_QPA_PLATFORM=offscreen $(BIN)/python packaging/screenshots.py screenshots

bundle:
	bash packaging/build.sh cpu

bundle-cuda:
	bash packaging/build.sh cuda

clean:
	rm -rf build dist .pytest_cache
