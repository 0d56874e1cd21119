"""A pytest fixture naming a CNN model for the dashboard tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def model_name(tmp_path_factory):
    """The committed general model's name; when models/ has none, a tiny untrained one stands in."""
    from core.cnn import get_model, recipe, store

    names = store.committed_models()
    if "general" in names:
        yield "general"
        return
    folder = tmp_path_factory.mktemp("models")
    config = recipe("general", width=8)
    card = {"name": "general", "config": config.to_dict(), "arch": "unet", "loss": "bins"}
    store.save_model(get_model(config), card, folder, "general")
    old = store.MODELS_DIR
    store.MODELS_DIR = folder
    yield "general"
    store.MODELS_DIR = old
