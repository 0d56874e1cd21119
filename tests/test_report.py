"""The report's constants: the printed figures, and where pages read them from."""

import ast
from pathlib import Path

import pytest

from core import report
from core.ann import PRESETS

PAGES = sorted((Path(__file__).resolve().parent.parent / "pages").glob("*.py"))


def test_cnn_figures_are_the_reports():
    assert list(report.REPORT_FIGURES) == ["beach", "sunset", "forest"]
    assert report.REPORT_FIGURES == {"beach": 0.64, "sunset": 0.54, "forest": 0.57}
    assert set(report.REPORT_CNN_SCENES) == set(report.REPORT_FIGURES)
    assert report.REPORT_SIZE == 64
    assert report.TOLERANCE == 10.0


def test_cnn_setup_is_the_reports():
    assert report.REPORT_CNN_LR == 1e-4
    assert report.REPORT_CNN_BATCH == 3
    assert report.REPORT_CNN_STEPS == 8000
    assert report.REPORT_CNN_LOSS == "mse"
    assert report.REPORT_CNN_TRAIN_SHARE == pytest.approx(7 / 10)


def test_ann_figures_are_the_reports():
    assert report.REPORT_ANN == {"coffee": 0.67, "sunset": 0.83, "beach": 1.17, "sunset -> beach": None}


def test_ann_setup_matches_the_report_preset():
    c = PRESETS["report"]
    assert (c.levels, c.window, c.hidden) == (
        report.REPORT_ANN_LEVELS,
        report.REPORT_ANN_WINDOW,
        report.REPORT_ANN_HIDDEN,
    )
    assert (c.structure, c.optimizer) == ("per-channel", "sgd")
    assert report.REPORT_ANN_STEP * report.REPORT_ANN_LEVELS == 256


def test_command_line_uses_the_same_figures():
    from core import cli

    assert cli.REPORT_ANN is report.REPORT_ANN


def test_report_module_imports_nothing_heavy():
    tree = ast.parse(Path(report.__file__).read_text(encoding="utf-8"))
    imported = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    assert all(getattr(n, "module", None) == "__future__" for n in imported)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_page_imports_the_command_line(page):
    assert "core.cli" not in page.read_text(encoding="utf-8")


def test_compare_page_reads_the_figures_from_report():
    text = (PAGES[0].parent / "compare.py").read_text(encoding="utf-8")
    assert "from core.report import REPORT_ANN, REPORT_FIGURES" in text
    assert "from core.cnn import" not in text
