from pathlib import Path

import pytest

from tests.render.helpers import copy_glute_project


@pytest.fixture
def glute_project(tmp_path: Path) -> Path:
    return copy_glute_project(tmp_path)
