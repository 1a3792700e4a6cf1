"""MOU documents go to a temporary folder in every MOU test, never into instance/."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask


@pytest.fixture(autouse=True)
def documents_dir(app: Flask, tmp_path: Path) -> Path:
    folder = tmp_path / "mou-documents"
    app.config["MOU_DOCUMENTS_DIR"] = str(folder)
    return folder
