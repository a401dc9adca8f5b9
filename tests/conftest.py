"""Shared fixtures. Server fixtures live in ``tests/fixtures`` as plugins."""

pytest_plugins = ["tests.fixtures.services", "tests.fixtures.s3", "tests.fixtures.demo"]

# The Debian tools `make` installs. Their absence is a broken set-up, not a reason to skip:
# the run stops at once and says what to install.
REQUIRED_TOOLS = {
    "tesseract": "tesseract-ocr tesseract-ocr-vie", "qpdf": "qpdf",
    "pdftotext": "poppler-utils", "pdfsig": "poppler-utils", "certutil": "libnss3-tools",
    "softhsm2-util": "softhsm2",
}


def pytest_sessionstart(session: object) -> None:
    import shutil

    import pytest

    missing = sorted({package for tool, package in REQUIRED_TOOLS.items()
                      if shutil.which(tool) is None})
    if missing:
        raise pytest.UsageError("missing Debian packages (make setup installs them): "
                                + ", ".join(missing))
