"""A pytest fixture naming a CNN model for the dashboard tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def model_name(tmp_path_factory):
    """A committed model's name; when models/ has none yet, a tiny untrained one stands in."""
    from core import cnn

    names = cnn.committed_models()
    if names:
        yield names[0]
        return
    folder = tmp_path_factory.mktemp("models")
    config = cnn.CNNConfig(arch="ours", width=4)
    cnn.save_model(cnn.build_model(config), {"name": "beach", "config": config.to_dict()}, folder, "beach")
    old = cnn.MODELS_DIR
    cnn.MODELS_DIR = folder
    yield "beach"
    cnn.MODELS_DIR = old
