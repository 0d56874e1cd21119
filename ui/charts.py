"""Plotly figures for the dashboard (drawing only; the numbers come from ``core``)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from PIL import Image
from plotly.subplots import make_subplots

#: Larger fonts for projectors.
FONT = {"size": 16}
CHANNELS = ("R", "G", "B")
#: White where the prediction is right, through amber to dark red for large errors.
ERROR_SCALE = [[0.0, "#ffffff"], [0.25, "#fde68a"], [0.6, "#f97316"], [1.0, "#7f1d1d"]]


def _layout(fig: go.Figure, title: str, height: int = 360) -> go.Figure:
    fig.update_layout(title=title, height=height, margin={"l": 40, "r": 20, "t": 60, "b": 40}, font=FONT)
    return fig


def ann_curves(history: list[dict], epochs: int | None = None) -> go.Figure:
    """Loss (left axis) and train/test difference (right axis) per epoch.

    Parameters
    ----------
    history : list of dicts with keys epoch, loss, train_difference, test_difference
    epochs : planned number of epochs, fixes the x range while training
    """
    ep = [h["epoch"] for h in history]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=ep, y=[h["loss"] for h in history], name="loss", mode="lines+markers"))
    fig.add_trace(
        go.Scatter(x=ep, y=[h["train_difference"] for h in history], name="train difference", mode="lines"),
        secondary_y=True,
    )
    fig.add_trace(
        go.Scatter(x=ep, y=[h["test_difference"] for h in history], name="test difference", mode="lines"),
        secondary_y=True,
    )
    fig.update_xaxes(title_text="epoch", range=[0, max(epochs or 1, max(ep, default=1))])
    fig.update_yaxes(title_text="loss", secondary_y=False)
    fig.update_yaxes(title_text="Seed difference (levels)", secondary_y=True)
    fig.update_layout(legend={"orientation": "h", "y": -0.25})
    return _layout(fig, "Training curves")


def accuracy_curves(history: list[dict], keys=("train_accuracy", "test_accuracy"), x="step") -> go.Figure:
    """Accuracy per step or epoch (for the CNN), as lines through the steps where it was measured."""
    xs = [h.get(x, i) for i, h in enumerate(history)]
    fig = go.Figure()
    for k in keys:
        ys = [h.get(k) for h in history]
        if any(y is not None for y in ys):
            fig.add_trace(go.Scatter(x=xs, y=ys, name=k.replace("_", " "), mode="lines+markers", connectgaps=True))
    fig.update_xaxes(title_text=x)
    fig.update_yaxes(title_text="accuracy (a/b within 10)", range=[0, 1])
    return _layout(fig, "Train and test accuracy")


def _shrink(values: np.ndarray, max_side: int) -> np.ndarray:
    """Block-average a 2-D map for display so the browser gets at most ``max_side`` cells a side."""
    h, w = values.shape
    if max(h, w) <= max_side:
        return values
    scale = max_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(values.astype(np.float32), mode="F").resize(size, Image.Resampling.BOX))


def heatmap(values: np.ndarray, title: str, colorbar: str, zmax: float | None = None, max_side: int = 200) -> go.Figure:
    """A per-pixel map (e.g. the error in levels) as a heatmap in image orientation.

    Maps larger than ``max_side`` are shown block-averaged (the mean over each block).
    """
    values = _shrink(np.asarray(values, np.float64), max_side)
    fig = go.Figure(
        go.Heatmap(z=values, colorscale=ERROR_SCALE, zmin=0, zmax=zmax, colorbar={"title": {"text": colorbar}})
    )
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False)
    fig.update_xaxes(showticklabels=False)
    h, w = values.shape[:2]
    return _layout(fig, title, height=int(min(520, max(300, 460 * h / max(w, 1)))))


def confusion(conf: np.ndarray) -> go.Figure:
    """One K x K confusion matrix per channel: rows true level, columns predicted level."""
    k = conf.shape[-1]
    fig = make_subplots(rows=1, cols=conf.shape[0], subplot_titles=[f"{c} channel" for c in CHANNELS[: conf.shape[0]]])
    labels = [str(i) for i in range(k)]
    for c in range(conf.shape[0]):
        fig.add_trace(
            go.Heatmap(
                z=conf[c],
                x=labels,
                y=labels,
                colorscale="Blues",
                showscale=False,
                text=conf[c],
                texttemplate="%{text}" if k <= 8 else None,
                hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>",
            ),
            row=1,
            col=c + 1,
        )
        fig.update_xaxes(title_text="predicted level", type="category", row=1, col=c + 1)
        fig.update_yaxes(
            title_text="true level" if c == 0 else None, type="category", autorange="reversed", row=1, col=c + 1
        )
    return _layout(fig, f"Confusion matrices ({k}×{k} per channel)", height=420)


def first_layer(weights: np.ndarray, window: int, max_units: int = 16) -> go.Figure:
    """First-layer weights, one w x w tile per hidden unit and one row per network.

    Parameters
    ----------
    weights : (n_nets, w*w, hidden) float
    """
    n_nets, _, hidden = weights.shape
    units = min(hidden, max_units)
    names = ["R net", "G net", "B net"] if n_nets == 3 else ["shared trunk"] * n_nets
    fig = make_subplots(
        rows=n_nets,
        cols=units,
        subplot_titles=[
            f"{names[n]} · unit {u + 1}" if u == 0 else f"unit {u + 1}" for n in range(n_nets) for u in range(units)
        ],
        horizontal_spacing=0.01,
        vertical_spacing=0.08,
    )
    lim = float(np.abs(weights).max()) or 1.0
    for n in range(n_nets):
        for u in range(units):
            tile = weights[n, :, u].reshape(window, window)  # (w, w) weights of one unit
            fig.add_trace(
                go.Heatmap(z=tile, colorscale="RdBu", zmin=-lim, zmax=lim, showscale=(n == 0 and u == units - 1)),
                row=n + 1,
                col=u + 1,
            )
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False, autorange="reversed")
    fig.update_annotations(font_size=11)
    more = f" (first {units} of {hidden} units)" if hidden > units else ""
    return _layout(
        fig, f"First-layer weights{more}: one {window}×{window} tile per hidden unit", height=130 + 80 * n_nets
    )


def threshold_curve(thresholds: np.ndarray, curves: dict[str, np.ndarray], marker: float | None = None) -> go.Figure:
    """acc(t) curves for several predictors, with an optional vertical marker."""
    fig = go.Figure()
    for name, curve in curves.items():
        fig.add_trace(go.Scatter(x=thresholds, y=curve, name=name, mode="lines"))
    if marker is not None:
        fig.add_vline(x=marker, line_dash="dash")
    fig.update_xaxes(title_text="threshold t (ab distance)")
    fig.update_yaxes(title_text="share of pixels within t", range=[0, 1])
    return _layout(fig, "Accuracy versus threshold")


def ab_scatter(ab_pred: np.ndarray, ab_true: np.ndarray, max_points: int = 4000, seed: int = 0) -> go.Figure:
    """Predicted against true a and b for a random subset of pixels."""
    p = ab_pred.reshape(-1, 2)
    t = ab_true.reshape(-1, 2)
    idx = np.random.default_rng(seed).choice(len(p), size=min(max_points, len(p)), replace=False)
    fig = make_subplots(rows=1, cols=2, subplot_titles=["a", "b"])
    for c in range(2):
        fig.add_trace(
            go.Scattergl(
                x=t[idx, c], y=p[idx, c], mode="markers", marker={"size": 3, "opacity": 0.4}, showlegend=False
            ),
            row=1,
            col=c + 1,
        )
        fig.add_trace(
            go.Scatter(x=[-110, 110], y=[-110, 110], mode="lines", line={"dash": "dot"}, showlegend=False),
            row=1,
            col=c + 1,
        )
        fig.update_xaxes(title_text="true", range=[-110, 110], row=1, col=c + 1)
        fig.update_yaxes(title_text="predicted", range=[-110, 110], row=1, col=c + 1)
    return _layout(fig, "Predicted against true a/b", height=400)
