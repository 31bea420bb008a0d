# The commands the README names. Everything runs in .venv, created on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Real data for models, benchmarks and the data-backed tests (tests skip when it is absent).
DATA   ?= $(if $(OCRKIT_DATA),$(OCRKIT_DATA),../shared/data)

.PHONY: install demo test fuzz bench models scores crops levers finetune-demo twins pages robustness line-model line-vs-cuts calibrate clean

install: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

# The main job on the shipped defaults, with no download: read the sample pages in images/
# with the shipped default model and score them against their .gt.txt; then the real HW5
# photos too, when ../shared/data (or $$OCRKIT_DATA) has them.
PAGES  := $(sort $(wildcard images/*.jpg))
PHOTOS := $(sort $(wildcard $(DATA)/images/*.jpg))
truths  = $(foreach i,$(1),--truth $(basename $(i)).gt.txt)

demo: install
	@mkdir -p out
	$(BIN)/ocrkit ocr $(PAGES) $(call truths,$(PAGES)) --overlay out/overlay.png
	@if [ -n "$(PHOTOS)" ]; then set -x; \
	    $(BIN)/ocrkit ocr $(PHOTOS) $(call truths,$(PHOTOS)) --overlay out/overlay.png; fi
	@echo "demo: boxes and labels drawn in out/overlay-*.png"

test: install
	OCRKIT_DATA=$(DATA) $(BIN)/python -m pytest -q

# Everything ocrkit reads from strangers, FUZZ_CASES hypothesis cases per target, each in a
# niced worker under a time and memory limit; prints crashes/hangs/over-limit counts and saves
# a reproducer of each failure class in out/fuzz/ (docs/SECURITY.md). One target:
# make fuzz FUZZ_TARGETS=page_array
FUZZ_CASES ?= 10000
FUZZ_TARGETS ?=
fuzz: install
	OCRKIT_DATA=$(DATA) nice -n 10 $(BIN)/python tests/fuzzing.py $(FUZZ_TARGETS) -n $(FUZZ_CASES)

OCRKIT := OCRKIT_DATA=$(DATA) $(BIN)/ocrkit
NIST26 := $(DATA)/nist26/nist26_valid.mat

# The shipped models (models/MODELS.md says how they were made and what they score).
# The default model (ocrkit ocr without --model): the 62-class CNN with the reject class, then
# the MLPs of the comparisons. models/default36.pkl, the 36-class default before it, is kept
# as it was trained (models/MODELS.md has its command).
CNN_ARCH := conv32-pool-conv64-pool-fc256-drop0.3
CHOICE   := $(DATA)/other/choice-dataset-v0.3

# The default model is a committee of three CNNs that differ only in their seed (weights,
# augmentation, batch order), joined by `ocrkit committee`; its temperature and page map are
# fitted afterwards (bench/calibration.py --write). models/MODELS.md has what each adds.
models: install
	@mkdir -p out
	$(OCRKIT) train emnist62 --reject 0.08 --arch $(CNN_ARCH) --optimizer adam --lr 0.001 \
	    --schedule cosine --epochs 15 --batch-size 64 --augment --seed 0 -o out/default-seed0.pkl \
	    --plots docs/img -q
	for seed in 1 2; do $(OCRKIT) train emnist62 --reject 0.08 --arch $(CNN_ARCH) --optimizer adam \
	    --lr 0.001 --schedule cosine --epochs 15 --batch-size 64 --augment --seed $$seed \
	    -o out/default-seed$$seed.pkl --plots out/plots -q || exit 1; done
	$(OCRKIT) committee out/default-seed0.pkl out/default-seed1.pkl out/default-seed2.pkl \
	    -o models/default.pkl
	OPENBLAS_NUM_THREADS=1 OCRKIT_DATA=$(DATA) $(BIN)/python bench/calibration.py --write
	$(OCRKIT) train emnist --hidden 512,256 --activation relu --optimizer adam --lr 0.001 \
	    --schedule cosine --epochs 30 --augment --seed 0 -o models/mlp.pkl --plots docs/img -q
	$(OCRKIT) train emnist --hidden 64 --activation sigmoid --optimizer sgd --schedule constant \
	    --lr 0.1 --lr 1 --lr 0.01 --epochs 50 --no-augment --seed 0 -o models/hw5.pkl --plots docs/img -q
	$(OCRKIT) train synth --size 250000 --hidden 512,256 --activation relu --optimizer adam \
	    --lr 0.001 --schedule cosine --epochs 15 --seed 0 -o models/synth-only.pkl --plots docs/img -q
	$(OCRKIT) autoencode emnist --hidden 32,32,32 --activation relu --optimizer adam --lr 0.0003 \
	    --schedule cosine --epochs 100 --batch-size 32 --seed 0 -o models/autoencoder.pkl --plots docs/img -q
	rm -f models/hw5-lr1.pkl models/hw5-lr0.01.pkl docs/img/hw5-lr1-weights-* docs/img/hw5-lr0.01-weights-*
	$(MAKE) --no-print-directory scores

# The line recognizer (CTC over whole lines, ocrkit/lines.py; models/MODELS.md): 20 epochs
# from random weights, 20 more started from them (--init) at a lower rate on fresh lines,
# then 12 more (seed 2); about 80 CPU minutes here. The shipped file's third run started from
# the 64-class model of the first two (no punctuation, no printed lines; MODELS.md). One BLAS thread: on this shared 2-core machine OpenBLAS's
# threads wait on each other and the same GEMMs took 10-500x as long.
# (the variables before nice: nice runs its first word as the command, not as VAR=value)
LINE_TRAIN := OPENBLAS_NUM_THREADS=1 OCRKIT_DATA=$(DATA) nice -n 10 $(BIN)/ocrkit train-lines
line-model: install
	@mkdir -p out
	$(LINE_TRAIN) -o out/line-first.pkl --seed 0
	$(LINE_TRAIN) --init out/line-first.pkl -o out/line-second.pkl --epochs 20 --lr 0.001 --seed 1
	$(LINE_TRAIN) --init out/line-second.pkl -o models/line.pkl --epochs 12 --lr 0.001 --seed 2

# Confidence calibration: the temperature fitted on emnist62 valid, ECE on EMNIST test and on
# the real pages, docs/img/reliability.png (bench/calibration.py; --write stores T in the model)
calibrate: install
	OPENBLAS_NUM_THREADS=1 OCRKIT_DATA=$(DATA) $(BIN)/python bench/calibration.py

# The cuts (ocrkit.Reader) beside the line recognizer on the same lines of the real pages.
line-vs-cuts: install
	OPENBLAS_NUM_THREADS=1 OCRKIT_DATA=$(DATA) $(BIN)/python bench/line_vs_cuts.py

# The model the fine-tuning demo starts from: the 36-class default whose results MODELS.md
# reports (the 62-class default knows lower case already; its demo is for a later round).
FT_BASE  := models/default36.pkl

# Fine-tuning the default model on out-of-domain real handwriting (mostly cursive): upper case
# (classes the model knows) and lower case (new classes: a new output layer), 20 samples a
# class for training, the rest for testing, against the same network trained from scratch.
finetune-demo: install
	@mkdir -p out
	$(BIN)/python bench/choice_folders.py $(CHOICE) out/choice
	$(OCRKIT) evaluate $(FT_BASE) out/choice/upper
	$(OCRKIT) finetune $(FT_BASE) out/choice/upper --train-per-class 20 --epochs 30 \
	    --compare-scratch -o out/choice-upper.pkl --plots docs/img -q
	$(OCRKIT) finetune $(FT_BASE) out/choice/lower --train-per-class 20 --epochs 30 \
	    --compare-scratch -o out/choice-lower.pkl --plots docs/img -q
	$(OCRKIT) finetune $(FT_BASE) out/choice/upper --train-per-class 20 --epochs 30 \
	    --freeze -o out/choice-upper-frozen.pkl --plots out -q
	$(OCRKIT) finetune $(FT_BASE) out/choice/lower --train-per-class 20 --epochs 30 \
	    --freeze -o out/choice-lower-frozen.pkl --plots out -q
	@echo "a user's own folder: the characters of one real photo, tested on the other"
	rm -rf out/own && set -e && for p in 01_list 02_letters; do \
	    $(OCRKIT) ocr $(DATA)/images/$$p.jpg --model $(FT_BASE) --truth $(DATA)/images/$$p.gt.txt --crops out/own/$$p -q >/dev/null; done
	$(OCRKIT) evaluate $(FT_BASE) out/own/02_letters
	$(OCRKIT) finetune $(FT_BASE) out/own/01_list --epochs 10 -o out/own.pkl --plots out -q
	$(OCRKIT) evaluate out/own.pkl out/own/02_letters

# The real-page crops dev set (not committed: made from $(DATA)): every character the page
# pipeline cuts (--recognizer cuts) on the pages of $(DATA)/pages (less nist_hsf_page, and
# only the handwritten words of the forms) and the two course photos, written to class
# folders where the truth alignment is sure (bench/crops_set.py; models/MODELS.md). Also
# $(CROPS)36, links to its digit and capital classes (what a 36-class model knows), and
# $(CROPS).tsv, each page's counts. `make crops` makes it anew; `make scores` when missing.
CROPS     := out/crops
CROPS_DEPS := bench/crops_set.py ocrkit/data/crops.py models/default.pkl \
              $(wildcard ocrkit/page/*.py) $(wildcard $(DATA)/pages/*.gt.txt)
CROPS_RUN  = OPENBLAS_NUM_THREADS=1 OCRKIT_DATA=$(DATA) nice -n 10 $(BIN)/python \
             bench/crops_set.py --data $(DATA) -o $(CROPS) --upper36 $(CROPS)36
crops: install
	$(CROPS_RUN)

$(CROPS).tsv: $(CROPS_DEPS) | install
	$(CROPS_RUN)

# Test-time augmentation and class-prior correction on the dev sets (bench/levers.py; the
# tables in models/MODELS.md, "Inference levers"). About 15 CPU minutes.
levers: install $(CROPS).tsv
	OPENBLAS_NUM_THREADS=1 OCRKIT_DATA=$(DATA) nice -n 10 $(BIN)/python bench/levers.py --crops $(CROPS)

# Scores of the shipped models on the real test sets (the numbers in models/MODELS.md).
# The crops are scored as a page reads them (--no-reject: never the reject class), then as
# they are (the reject class allowed); every model on their digits and capitals ($(CROPS)36).
scores: install $(CROPS).tsv
	@echo "models/default.pkl (62 classes + reject)"
	@$(OCRKIT) evaluate models/default.pkl emnist62 --merge-twins --merge-case | head -5
	@$(OCRKIT) evaluate models/default.pkl emnist62 --reject 0.08 | head -2
	@echo "models/default.pkl on the real-page crops ($(CROPS), make crops)"
	@$(OCRKIT) evaluate models/default.pkl $(CROPS) --no-reject --merge-twins --merge-case | head -4
	@$(OCRKIT) evaluate models/default.pkl $(CROPS) --merge-twins --merge-case | head -5
	@for m in models/default.pkl models/default36.pkl models/mlp.pkl models/synth-only.pkl models/hw5-lr0.1.pkl $(DATA)/hw5-weights/q3_weights.pickle models/autoencoder.pkl; do \
	    echo "$$m"; \
	    $(OCRKIT) evaluate $$m emnist --split test --merge-twins | head -2; \
	    $(OCRKIT) evaluate $$m $(NIST26) --merge-twins | head -2; \
	    $(OCRKIT) evaluate $$m $(NIST26) --restrict | head -1; \
	    $(OCRKIT) evaluate $$m $(CROPS)36 --no-reject --merge-twins | head -2; \
	done

# How far a single-character model gets on EMNIST's O/0, I/1, S/5 twins: a specialist CNN
# trained on those six classes alone re-decides the default model's readings among them.
twins: install
	OCRKIT_DATA=$(DATA) $(BIN)/python bench/twins.py

# Some machines set OPENBLAS_CORETYPE (with OPENBLAS_L2_SIZE) to pin old OpenBLAS builds to
# AVX2 kernels; they slow numpy's current OpenBLAS but not PyTorch's own kernels, so the bench
# unsets both for its own run (only there) and prints which BLAS kernels numpy then uses.
bench: install
	$(BIN)/python -m pip install -q torch==2.13.0 || echo "bench: torch not installable here; the PyTorch side is skipped"
	$(BIN)/python -m pip install -q threadpoolctl || echo "bench: threadpoolctl not installable; BLAS kernels not reported"
	command -v tesseract >/dev/null || apt-get install -y -q tesseract-ocr >/dev/null || \
	    echo "bench: tesseract not installable here; the Tesseract side is skipped"
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OCRKIT_DATA=$(DATA) $(BIN)/python bench/bench.py

# ocrkit beside Tesseract and RapidOCR (PP-OCRv4) on the real pages of $(DATA)/pages, per
# category, each engine a fresh process per page (docs/PAGES.md). The peers are benchmarks
# only: Tesseract from Debian, RapidOCR in its own venv .peers/rapidocr.
PEERS := .peers
pages: install
	command -v tesseract >/dev/null || apt-get install -y -q tesseract-ocr >/dev/null || \
	    echo "pages: tesseract not installable here; its column is skipped"
	test -x $(PEERS)/rapidocr/bin/python || { $(PYTHON) -m venv $(PEERS)/rapidocr && \
	    $(PEERS)/rapidocr/bin/python -m pip install -q rapidocr-onnxruntime; } || \
	    echo "pages: rapidocr not installable here; its column is skipped"
	OCRKIT_DATA=$(DATA) $(BIN)/python bench/pages.py --json out/pages.json

# the same handwritten pages halved, doubled, turned 4 degrees each way, shaded and blurred
# into a poor JPEG: a reading that holds only for the dev photos as they are is overfitted
robustness: install
	OPENBLAS_NUM_THREADS=1 OCRKIT_DATA=$(DATA) $(BIN)/python bench/robustness.py \
	    --pages $(DATA)/pages --json out/robustness.json

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache plots out
