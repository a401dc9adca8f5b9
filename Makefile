# Motcua: `make run` starts the service on the embedded default; `make test` runs everything.
# Both set up a fresh machine first: Debian packages, the virtualenv, the database.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export MOTCUA_DATA_DIR ?= $(CURDIR)/var

# Debian packages the suite and the service use (PostgreSQL and Redis serve the tests where
# no server runs already).
SYSTEM_PACKAGES := postgresql redis-server tesseract-ocr tesseract-ocr-vie tesseract-ocr-eng \
	poppler-utils qpdf fonts-noto-core fonts-dejavu-core fonts-liberation \
	softhsm2 libnss3-tools chromium docker-compose

.PHONY: run test test-fault lint setup system-packages bench clean

setup: system-packages $(VENV)/.installed

system-packages:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

run: setup
	$(BIN)/motcua init --demo
	@echo ""
	@echo "Tài khoản demo (mật khẩu: motcua-demo):"
	@echo "  tiepnhan   cán bộ một cửa (tiếp nhận, số hóa, trả kết quả)"
	@echo "  chuyenvien chuyên viên xử lý"
	@echo "  lanhdao    lãnh đạo ký số"
	@echo "  vanthu     văn thư giữ con dấu thứ hai"
	@echo "  quantri    quản trị hệ thống"
	@echo "  congdan    công dân Nguyễn Thị Hương (022190001234)"
	@echo "Mã PIN ký số demo (lanhdao, vanthu): motcua-demo"
	@echo ""
	$(BIN)/motcua serve --host $(HOST) --port $(PORT)

lint: setup
	$(BIN)/ruff check --no-cache records signing ocr_pipeline search api tests $(wildcard bench)
	$(BIN)/mypy

test: setup lint
	$(BIN)/python -m pytest -q

# The fault suite alone, its scripted loops at MOTCUA_FAULT_ROUNDS rounds (make test runs a
# round or two, or skips the loops); prints the counts ("100 rounds, 0 lost, 0 duplicated").
FAULT_ROUNDS ?= 100
test-fault: setup
	MOTCUA_FAULT_ROUNDS=$(FAULT_ROUNDS) $(BIN)/python -m pytest -q -m fault -rP tests/fault

# Every bench/*.py, then docs/benchmarks.md (about 10-20 minutes; BENCH_ARGS=--million adds
# the 1M-document search run, BENCH_ARGS=--quick tries the driver in a minute).
bench: setup
	$(BIN)/python bench/report.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
